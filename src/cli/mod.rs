//! Pure argv → command structs. No side effects: nothing here touches the
//! system, so every rule is unit-tested.
//!
//! Rules (docker's): options before the image; parsing stops at the first
//! positional of `run` (everything after goes to the container untouched)
//! and at `--`; short clusters (`-it`, `-dit`); `--flag=v` and `--flag v`;
//! `-m64m`. The book's single-dash long spellings (`-mem`, `-cpushare`,
//! `-cpuset`, `-name`, `-net`) are aliases; the book's `-ti` is the cluster `-t -i`.

pub mod args;
pub mod cmds;
pub mod images;
pub mod inspect;
pub mod network;
pub mod out;
pub mod runc;
#[allow(dead_code)]
pub mod usage;
pub mod verbs;

use crate::engine::config::*;
use crate::engine::util::{parse_u64, Error, Res};
use alloc::vec::Vec;
use args::{at_usage, o, parse, with_usage, HELP};

// Built once per process and moved, never copied: boxing the large
// variant would only add allocator code.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
pub enum Cmd<'a> {
    Help(u8),
    Run(RunOpts),
    Exec(ExecOpts),
    Simple(Verb, Args<'a>),
}

/// The parsed command line (it borrows from argv); `--root` goes to
/// `root`. (The command is returned as parse_command made it: wrapping it
/// in a struct with the root copied all of run's options once more.)
pub fn parse_global<'a>(args: &'a [Vec<u8>], host_env: &[Vec<u8>], root: &mut Option<&'a [u8]>) -> Res<Cmd<'a>> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_slice();
        let k = crate::engine::util::word_index(b"--root,-h,--help,-v,--version", a);
        if k == Some(0) {
            let Some(v) = args.get(i + 1) else { return Err(Error::text(m!("--root: flag needs an argument"))) };
            *root = Some(v.as_slice());
            i += 2;
        } else if let Some(v) = a.strip_prefix(b"--root=") {
            *root = Some(v);
            i += 1;
        } else if let Some(k) = k {
            // `-h`/`--help`, `-v`/`--version`: the commands' own paths
            return parse_command(if k < 3 { b"help" } else { b"version" }, &[], host_env);
        } else if a.first() == Some(&b'-') {
            return Err(at_usage(a, m!("unknown flag"), usage::MAIN));
        } else {
            break;
        }
    }
    let Some(name) = args.get(i) else {
        return Err(with_usage(Error::text(m!("no command given: see 'mydocker --help'")), usage::MAIN));
    };
    parse_command(name, &args[i + 1..], host_env)
}

/// The commands that take only flags and positionals, parsed by one table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verb {
    Ps,
    Logs,
    Stop,
    Start,
    Restart,
    Rm,
    Images,
    Rmi,
    Import,
    Commit,
    Export,
    Inspect,
    Info,
    Version,
    NetCreate,
    NetLs,
    NetRm,
    NetInspect,
    Load,
    Save,
    Tag,
    History,
}

/// Parsed flags (a bit per option id, HELP's among them), values and
/// positionals.
#[derive(Debug, Default, PartialEq)]
pub struct Args<'a> {
    pub flags: u32,
    pub vals: Vec<(u8, &'a [u8])>,
    pub pos: Vec<&'a [u8]>,
}

impl Args<'_> {
    pub fn has(&self, id: u8) -> bool {
        self.flags & (1 << id) != 0
    }
    #[inline(never)]
    pub fn val(&self, id: u8) -> Option<&[u8]> {
        self.vals.iter().rev().find(|v| v.0 == id).map(|v| v.1)
    }
}

/// A table-parsed command; its name is at the same index in VERB_NAMES.
/// (Names in one string and option tables by index: 8 bytes an entry
/// instead of 40.)
struct VerbSpec {
    verb: Verb,
    /// index into OPTS
    opts: u8,
    /// positionals: at least `min`, at most `max`
    min: u8,
    max: u8,
    usage: u8,
}

// `network SUB` is looked up as "network SUB".
const VERB_NAMES: &[u8] = b"ps,logs,stop,start,restart,rm,images,rmi,import,commit,export,inspect,info,version,\
network create,network ls,network list,network rm,network remove,network inspect,load,save,tag,history,\
image ls,image list,image rm,image remove,image inspect,image load,image save,image tag,image history,image import";

/// The option tables, packed end to end (`opts`).
const GROUPS: [&[args::Opt]; 14] = [
    &[],
    &[o(1, "all", b'a', false), o(2, "quiet", b'q', false), o(3, "no-trunc", 0, false)],
    &[o(1, "follow", b'f', false), o(2, "tail", b'n', true), o(3, "timestamps", b't', false)],
    &[o(1, "time", b't', true)],
    &[o(1, "attach", b'a', false)],
    &[o(1, "force", b'f', false)],
    &[o(1, "quiet", b'q', false)],
    &[o(1, "output", b'o', true)],
    &[o(1, "subnet", 0, true), o(2, "gateway", 0, true), o(3, "driver", b'd', true)],
    &[o(1, "input", b'i', true), o(2, "quiet", b'q', false)],
    &[o(1, "change", b'c', true)],
    &[o(1, "no-trunc", 0, false), o(2, "quiet", b'q', false)],
    EXEC_OPTS,
    RUN_ONLY,
];
static ALL_OPTS: [u8; args::glen(&GROUPS)] = args::gtable(&GROUPS);
const OFF: [u16; 15] = args::goffs(&GROUPS);

/// Table `i` of GROUPS; with `span` 2, it and the next as one.
fn opts(i: usize, span: usize) -> &'static [u8] {
    &ALL_OPTS[OFF[i] as usize..OFF[i + span] as usize]
}

const fn v(verb: Verb, opts: u8, min: u8, max: u8, usage: u8) -> VerbSpec {
    VerbSpec { verb, opts, min, max, usage }
}

const VERBS: [VerbSpec; 34] = [
    v(Verb::Ps, 1, 0, 0, usage::PS),
    v(Verb::Logs, 2, 1, 1, usage::LOGS),
    v(Verb::Stop, 3, 1, 255, usage::STOP),
    v(Verb::Start, 4, 1, 255, usage::START),
    v(Verb::Restart, 3, 1, 255, usage::RESTART),
    v(Verb::Rm, 5, 1, 255, usage::RM),
    v(Verb::Images, 6, 0, 0, usage::IMAGES),
    v(Verb::Rmi, 0, 1, 255, usage::RMI),
    v(Verb::Import, 10, 1, 2, usage::IMPORT),
    v(Verb::Commit, 0, 1, 2, usage::COMMIT),
    v(Verb::Export, 7, 1, 1, usage::EXPORT),
    v(Verb::Inspect, 0, 1, 255, usage::INSPECT),
    v(Verb::Info, 0, 0, 0, usage::INFO),
    v(Verb::Version, 0, 0, 0, usage::VERSION),
    v(Verb::NetCreate, 8, 1, 1, usage::NETWORK),
    v(Verb::NetLs, 6, 0, 0, usage::NETWORK),
    v(Verb::NetLs, 6, 0, 0, usage::NETWORK),
    v(Verb::NetRm, 0, 1, 255, usage::NETWORK),
    v(Verb::NetRm, 0, 1, 255, usage::NETWORK),
    v(Verb::NetInspect, 0, 1, 255, usage::NETWORK),
    v(Verb::Load, 9, 0, 0, usage::LOAD),
    v(Verb::Save, 7, 1, 255, usage::SAVE),
    v(Verb::Tag, 0, 2, 2, usage::TAG),
    v(Verb::History, 11, 1, 1, usage::HISTORY),
    v(Verb::Images, 6, 0, 0, usage::IMAGES),
    v(Verb::Images, 6, 0, 0, usage::IMAGES),
    v(Verb::Rmi, 0, 1, 255, usage::RMI),
    v(Verb::Rmi, 0, 1, 255, usage::RMI),
    v(Verb::Inspect, 0, 1, 255, usage::INSPECT),
    v(Verb::Load, 9, 0, 0, usage::LOAD),
    v(Verb::Save, 7, 1, 255, usage::SAVE),
    v(Verb::Tag, 0, 2, 2, usage::TAG),
    v(Verb::History, 11, 1, 1, usage::HISTORY),
    v(Verb::Import, 10, 1, 2, usage::IMPORT),
];

#[inline(never)]
pub fn parse_command<'a>(name: &[u8], rest: &'a [Vec<u8>], host_env: &[Vec<u8>]) -> Res<Cmd<'a>> {
    // One lookup instead of a byte-compare chain per name.
    match crate::engine::util::word_index(b"run,exec,network,image,help", name) {
        Some(k @ 0..=1) => return parse_run(rest, host_env, k == 1),
        Some(k @ 2..=3) => {
            // "network SUB ARGS": the table has "network SUB" entries
            let sub = rest.first().map_or(&b"--help"[..], |s| s.as_slice());
            if crate::engine::util::word_index(b"--help,-h", sub).is_some() {
                return Ok(Cmd::Help(if k == 3 { usage::MAIN } else { usage::NETWORK }));
            }
            let mut full = name.to_vec();
            full.push(b' ');
            full.extend_from_slice(sub);
            return parse_verb(&full, &rest[1..]);
        }
        Some(_) => return Ok(Cmd::Help(usage::MAIN)),
        None => {}
    }
    parse_verb(name, rest)
}

fn parse_verb<'a>(name: &[u8], rest: &'a [Vec<u8>]) -> Res<Cmd<'a>> {
    let Some(spec) = crate::engine::util::word_index(VERB_NAMES, name).and_then(|i| VERBS.get(i)) else {
        return Err(at_usage(name, m!("unknown command"), if name.starts_with(b"network ") { usage::NETWORK } else { usage::MAIN }));
    };
    let a = parse(rest, opts(spec.opts as usize, 1), false, spec.usage)?;
    if a.has(HELP) {
        return Ok(Cmd::Help(spec.usage));
    }
    let n = a.pos.len();
    // max 255 means no limit (rm, stop, rmi, inspect take any number)
    if n < spec.min as usize || (spec.max != 255 && n > spec.max as usize) {
        // (min == max: 0, 1 or 2)
        let k = if spec.min == spec.max { spec.min } else { 3 };
        let why = match k {
            0 => m!("accepts no arguments"),
            1 => m!("requires exactly 1 argument"),
            2 => m!("requires exactly 2 arguments"),
            _ => m!("requires at least 1 argument"),
        };
        return Err(at_usage(name, why, spec.usage));
    }
    Ok(Cmd::Simple(spec.verb, a))
}

const R_I: u8 = 1;
const R_T: u8 = 2;
const R_D: u8 = 3;
const R_RM: u8 = 4;
const R_NAME: u8 = 5;
const R_ENV: u8 = 6;
const R_WD: u8 = 7;
const R_HOST: u8 = 8;
const R_VOL: u8 = 9;
const R_INIT: u8 = 10;
const R_MEM: u8 = 11;
const R_CPUS: u8 = 12;
const R_SHARES: u8 = 13;
const R_CPUSET: u8 = 14;
const R_PIDS: u8 = 15;
const R_NET: u8 = 17;
const R_PORT: u8 = 18;
const R_PRIV: u8 = 19;
const R_CAPADD: u8 = 20;
const R_CAPDROP: u8 = 21;
const R_SECOPT: u8 = 22;
const R_USER: u8 = 23;
const R_DEVICE: u8 = 24;
const R_RO: u8 = 25;
const R_TMPFS: u8 = 26;

const R_ENTRY: u8 = 27;

/// exec's options (GROUPS 12), then run's others (13): run's table is
/// both, exec's the first (run's ids, so that one loop parses both).
const EXEC_OPTS: &[args::Opt] = &[
    o(R_I, "interactive", b'i', false),
    o(R_T, "tty", b't', false),
    o(R_D, "detach", b'd', false),
    o(R_ENV, "env", b'e', true),
    o(R_WD, "workdir", b'w', true),
    o(R_USER, "user", b'u', true),
    o(R_PRIV, "privileged", 0, false),
];
const RUN_ONLY: &[args::Opt] = &[
    o(R_NET, "network -net", 0, true),
    o(R_NET, "net", 0, true),
    o(R_PORT, "publish", b'p', true),
    o(R_RM, "rm", 0, false),
    o(R_NAME, "name -name", 0, true),
    o(R_HOST, "hostname", b'h', true),
    o(R_VOL, "volume", b'v', true),
    o(R_INIT, "init", 0, false),
    o(R_MEM, "memory -mem", b'm', true),
    o(R_CPUS, "cpus", 0, true),
    o(R_SHARES, "cpu-shares -cpushare", b'c', true),
    o(R_CPUSET, "cpuset-cpus -cpuset", 0, true),
    o(R_PIDS, "pids-limit", 0, true),
    o(R_CAPADD, "cap-add", 0, true),
    o(R_CAPDROP, "cap-drop", 0, true),
    o(R_SECOPT, "security-opt", 0, true),
    o(R_DEVICE, "device", 0, true),
    o(R_RO, "read-only", 0, false),
    o(R_TMPFS, "tmpfs", 0, true),
    o(R_ENTRY, "entrypoint", 0, true),
];

/// `run`, and `exec` (its options are a subset of run's and mean the same).
#[inline(never)]
fn parse_run<'a>(rest: &'a [Vec<u8>], host_env: &[Vec<u8>], exec: bool) -> Res<Cmd<'a>> {
    let (table, usage) = if exec { (opts(12, 1), usage::EXEC) } else { (opts(12, 2), usage::RUN) };
    let a = parse(rest, table, true, usage)?;
    let pos = &a.pos;
    if a.has(HELP) {
        return Ok(Cmd::Help(usage));
    }
    if exec && pos.len() < 2 {
        return Err(with_usage(Error::text(m!("exec: requires a container and a command")), usage::EXEC));
    }
    let mut r = RunOpts::default();
    // [added, dropped] capabilities
    let mut caps = [0u64; 2];
    for &(id, v) in &a.vals {
        apply(&mut r, &mut caps, id, v, host_env)?;
    }
    let on = |id: u8| a.has(id);
    r.interactive = on(R_I);
    r.tty = on(R_T);
    r.detach = on(R_D);
    r.rm = on(R_RM);
    r.init = on(R_INIT);
    r.security.privileged = on(R_PRIV);
    r.security.read_only = on(R_RO);
    let Some(&head) = pos.first() else {
        return Err(with_usage(Error::text(m!("run: requires at least 1 argument (the image)")), usage::RUN));
    };
    // the image or the container, and the command: one copy for both verbs
    let (head, cmd) = (head.to_vec(), owned(&pos[1..]));
    if exec {
        let s = r.security;
        return Ok(Cmd::Exec(ExecOpts {
            interactive: r.interactive,
            keep_stdio: false,
            tty: r.tty,
            detach: r.detach,
            env: r.env,
            workdir: r.workdir,
            user: if s.user.is_empty() { None } else { Some(s.user) },
            privileged: s.privileged,
            container: head,
            cmd,
        }));
    }
    // docker's rules: --cap-drop ALL keeps only what is added, --cap-add
    // ALL gives all but what is dropped.
    let s = &mut r.security;
    let [add, drop] = caps;
    s.caps = if drop == ALL_CAPS {
        add
    } else if add == ALL_CAPS || s.privileged {
        ALL_CAPS & !drop
    } else {
        (s.caps | add) & !drop
    };
    if head.is_empty() || head.len() > 255 {
        return Err(Error::at(&head, m!("invalid image name")));
    }
    r.image = head;
    r.cmd = cmd;
    Ok(Cmd::Run(r))
}

/// One valued option of `run`/`exec` into `r`: out of line, so that its
/// temporaries sit in a small frame of their own instead of parse_run's.
#[inline(never)]
fn apply(r: &mut RunOpts, caps: &mut [u64; 2], id: u8, v: &[u8], host_env: &[Vec<u8>]) -> Res<()> {
    match id {
        // a name, a network's ("none" and "host" are not names), a host name
        R_NAME | R_NET | R_HOST => {
            if id == R_HOST {
                validate_hostname(v)?;
            } else if id == R_NAME || crate::engine::util::word_index(b"none,host", v).is_none() {
                validate_name(v)?;
            }
            set(
                match id {
                    R_NET => &mut r.network,
                    R_HOST => &mut r.hostname,
                    _ => &mut r.name,
                },
                v,
            )
        }
        R_ENV => push_env(&mut r.env, v, host_env)?,
        R_WD => {
            if v.first() != Some(&b'/') {
                return Err(Error::text(m!("--workdir: must be an absolute path")));
            }
            set(&mut r.workdir, v)
        }
        R_VOL => push_volume(&mut r.volumes, v)?,
        R_PORT => r.ports.push(parse_port(v)?),
        R_MEM => r.limits.memory = Some(parse_bytes(v).ok_or_else(|| Error::text(m!("--memory: invalid size (e.g. 64m, 1g)")))?),
        R_CPUS => r.limits.cpu_quota = Some(parse_cpus(v).ok_or_else(|| Error::text(m!("--cpus: invalid number (e.g. 0.5 or 2)")))?),
        R_SHARES => {
            let n = parse_u64(v).filter(|n| (2..=262144).contains(n));
            r.limits.cpu_shares = Some(n.ok_or_else(|| Error::text(m!("--cpu-shares: must be a number from 2 to 262144")))?)
        }
        R_CPUSET => {
            if v.is_empty() || !v.iter().all(|c| c.is_ascii_digit() || *c == b',' || *c == b'-') {
                return Err(Error::text(m!("--cpuset-cpus: invalid CPU list (e.g. 0-1,3)")));
            }
            set(&mut r.limits.cpuset_cpus, v)
        }
        R_PIDS => match crate::engine::util::parse_i64(v) {
            Some(n) if n > 0 => r.limits.pids = Some(n as u64),
            Some(0 | -1) => r.limits.pids = None, // unlimited, as docker
            _ => return Err(Error::text(m!("--pids-limit: not a number (0 or -1: unlimited)"))),
        },
        // [added, dropped]: one call for both
        R_CAPADD | R_CAPDROP => caps[(id - R_CAPADD) as usize & 1] |= cap_bits(v)?,
        R_SECOPT => r.security.opt(v)?,
        R_USER => {
            user_spec(v)?;
            r.security.user = v.to_vec()
        }
        R_ENTRY => set(&mut r.entrypoint, v),
        R_DEVICE => push_device(&mut r.security.devices, v)?,
        R_TMPFS => {
            if v.first() != Some(&b'/') || v.starts_with(b"/:") || v == b"/" {
                return Err(Error::quoted(m!("invalid --tmpfs"), v, m!("expected an absolute PATH[:OPTIONS], not /")));
            }
            push_copy(&mut r.security.tmpfs, v)
        }
        _ => {}
    }
    Ok(())
}

/// `*slot = Some(v.to_vec())`, once for run's six string options.
#[inline(never)]
fn set(slot: &mut Option<Vec<u8>>, v: &[u8]) {
    *slot = Some(v.to_vec());
}

/// `-u NAME|UID[:GROUP|GID]`: checked for shape here, looked up in the
/// image's /etc/passwd and /etc/group when the container starts.
fn user_spec(v: &[u8]) -> Res<()> {
    // one or two non-empty parts around a ':' (no split: one pass)
    let mut colons = 0;
    for &c in v {
        if c == b':' {
            colons += 1;
        } else if c == b'/' || c == b'\n' || c == 0 {
            colons = 2;
        }
    }
    if colons > 1 || v.first().is_none_or(|&c| c == b':') || v.last() == Some(&b':') {
        return Err(Error::quoted(m!("invalid --user"), v, m!("expected NAME|UID[:GROUP|GID]")));
    }
    Ok(())
}

/// `v.push(s.to_vec())` out of line: one copy for its callers.
#[inline(never)]
pub(crate) fn push_copy(v: &mut Vec<Vec<u8>>, s: &[u8]) {
    v.push(s.to_vec());
}

/// Owned copies of borrowed arguments (what the engine keeps).
fn owned(v: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut o = Vec::new();
    for x in v {
        push_copy(&mut o, x);
    }
    o
}

#[inline(never)]
/// `-e K=V`, or `-e K` taking K from the caller's environment if set.
fn push_env(env: &mut Vec<Vec<u8>>, v: &[u8], host_env: &[Vec<u8>]) -> Res<()> {
    if v.is_empty() || v[0] == b'=' {
        return Err(Error::text(m!("--env: invalid variable: empty name")));
    }
    let mut e = v.to_vec();
    if !v.contains(&b'=') {
        let Some(val) = crate::engine::util::env_get(host_env, v) else { return Ok(()) };
        e.push(b'=');
        e.extend_from_slice(val);
    }
    env.push(e);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn a(s: &[&str]) -> Vec<Vec<u8>> {
        s.iter().map(|x| x.as_bytes().to_vec()).collect()
    }
    /// `parse_global` with the root dropped (most tests check the command).
    fn parse_global<'a>(args: &'a [Vec<u8>], env: &[Vec<u8>]) -> Res<G<'a>> {
        let mut root = None;
        let cmd = super::parse_global(args, env, &mut root)?;
        Ok(G { root, cmd })
    }
    #[derive(Debug)]
    struct G<'a> {
        root: Option<&'a [u8]>,
        cmd: Cmd<'a>,
    }
    fn run(s: &[&str]) -> RunOpts {
        match parse_global(&a(s), &[b"HOME=/root".to_vec()]).unwrap().cmd {
            Cmd::Run(r) => r,
            _ => panic!("not run"),
        }
    }

    #[test]
    fn confinement_options() {
        let r = run(&["run", "busybox"]);
        assert_eq!(r.security, Security::default());
        assert_eq!(r.security.caps, 0xa80425fb);
        let r = run(&["run", "--cap-drop", "ALL", "--cap-add", "net_raw", "--cap-add=CAP_SYS_ADMIN", "busybox"]);
        assert_eq!(r.security.caps, 1 << 13 | 1 << 21);
        let r = run(&["run", "--cap-add", "all", "--cap-drop", "MKNOD", "busybox"]);
        assert_eq!(r.security.caps, ALL_CAPS & !(1 << 27));
        let r = run(&["run", "--cap-drop", "chown", "busybox"]);
        assert_eq!(r.security.caps, 0xa80425fb & !1);
        let r = run(&["run", "--privileged", "--security-opt", "no-new-privileges", "--security-opt=seccomp=unconfined", "-u", "1000:100", "busybox"]);
        let s = &r.security;
        assert!(s.privileged && s.no_new_privs && !s.seccomp && s.caps == ALL_CAPS && s.user == b"1000:100");
        let r = run(&["run", "--read-only", "--tmpfs", "/run:size=1m", "--device", "/dev/ttyUSB0", "--device", "/dev/null:/dev/n:r", "busybox"]);
        assert!(r.security.read_only);
        assert_eq!(r.security.tmpfs, a(&["/run:size=1m"]));
        assert_eq!(r.security.devices[0], Device { host: b"/dev/ttyUSB0".to_vec(), ctr: b"/dev/ttyUSB0".to_vec(), perms: b"rwm".to_vec() });
        assert_eq!(r.security.devices[1], Device { host: b"/dev/null".to_vec(), ctr: b"/dev/n".to_vec(), perms: b"r".to_vec() });
        assert_eq!(parse_device(b"/dev/a:rw").unwrap().ctr, b"/dev/a");
        for bad in [
            &["run", "--cap-add", "NOPE", "busybox"][..],
            &["run", "--security-opt", "apparmor=x", "busybox"],
            &["run", "-u", "a:b:c", "busybox"],
            &["run", "-u", "", "busybox"],
            &["run", "-u", "a:", "busybox"],
            &["run", "-u", ":a", "busybox"],
            &["run", "-u", "a::b", "busybox"],
            &["run", "-u", "a/b", "busybox"],
            &["run", "-u", "a:b\n", "busybox"],
            &["run", "--device", "dev/null", "busybox"],
            &["run", "--device", "/dev/null:/x:rwz", "busybox"],
            &["run", "--tmpfs", "/", "busybox"],
            &["run", "--tmpfs", "run", "busybox"],
        ] {
            assert!(parse_global(&a(bad), &[]).is_err(), "{bad:?}");
        }
        for ok in ["root", "1000:100", "u:g"] {
            assert_eq!(run(&["run", "-u", ok, "busybox"]).security.user, ok.as_bytes());
        }
        match parse_global(&a(&["exec", "-u", "1000", "--privileged", "c", "id"]), &[]).unwrap().cmd {
            Cmd::Exec(x) => assert!(x.privileged && x.user.as_deref() == Some(&b"1000"[..])),
            _ => panic!("not exec"),
        }
    }

    #[test]
    fn stops_at_the_image() {
        let r = run(&["run", "-it", "busybox", "ls", "-l", "--rm", "-m", "1"]);
        assert!(r.tty && r.interactive && !r.rm);
        assert_eq!(r.image, b"busybox");
        assert_eq!(r.cmd, a(&["ls", "-l", "--rm", "-m", "1"]));
    }

    #[test]
    fn exec_stops_at_the_container() {
        match parse_global(&a(&["exec", "-it", "-e", "A=1", "web", "ls", "-l", "-e"]), &[]).unwrap().cmd {
            Cmd::Exec(x) => {
                assert!(x.interactive && x.tty && !x.detach);
                assert_eq!(x.container, b"web");
                assert_eq!(x.cmd, a(&["ls", "-l", "-e"]));
                assert_eq!(x.env, a(&["A=1"]));
            }
            _ => panic!(),
        }
        assert!(parse_global(&a(&["exec", "web"]), &[]).is_err());
    }

    #[test]
    fn ports_and_networks() {
        assert_eq!(parse_port(b"8080:80").unwrap(), Port { host_ip: 0, host_port: 8080, ctr_port: 80, udp: false });
        assert_eq!(parse_port(b"127.0.0.1:53:53/udp").unwrap(), Port { host_ip: 0x7f000001, host_port: 53, ctr_port: 53, udp: true });
        assert_eq!(parse_port(b"1:2").unwrap().text(), b"0.0.0.0:1->2/tcp");
        for bad in ["80", "0:80", "70000:1", "a:b", "1:2/sctp", "1.2.3:4:5", "1:2:3:4"] {
            assert!(parse_port(bad.as_bytes()).is_err(), "{bad}");
        }
        let r = run(&["run", "-net", "n1", "-p", "1:2", "-p8:9/udp", "img"]);
        assert_eq!(r.network.as_deref(), Some(&b"n1"[..]));
        assert_eq!(r.ports.len(), 2);
        assert_eq!(run(&["run", "--net=host", "img"]).network.as_deref(), Some(&b"host"[..]));
        match parse_global(&a(&["network", "create", "--subnet", "10.1.0.0/16", "n1"]), &[]).unwrap().cmd {
            Cmd::Simple(Verb::NetCreate, x) => assert!(x.val(1) == Some(&b"10.1.0.0/16"[..]) && x.pos == a(&["n1"])),
            c => panic!("{c:?}"),
        }
        assert!(matches!(parse_global(&a(&["network", "list"]), &[]).unwrap().cmd, Cmd::Simple(Verb::NetLs, _)));
        match parse_global(&a(&["network", "remove", "a", "b"]), &[]).unwrap().cmd {
            Cmd::Simple(Verb::NetRm, x) => assert_eq!(x.pos, a(&["a", "b"])),
            c => panic!("{c:?}"),
        }
        assert!(matches!(parse_global(&a(&["network", "inspect", "a"]), &[]).unwrap().cmd, Cmd::Simple(Verb::NetInspect, _)));
        assert!(parse_global(&a(&["network", "frob"]), &[]).is_err());
        assert!(parse_global(&a(&["network", "rm"]), &[]).is_err());
    }

    #[test]
    fn verb_names_match_the_table() {
        let names: Vec<&[u8]> = VERB_NAMES.split(|&c| c == b',').collect();
        assert_eq!(names.len(), VERBS.len());
        for (n, spec) in names.iter().zip(VERBS.iter()) {
            assert!(n.starts_with(b"network ") == (spec.usage == usage::NETWORK), "{:?}", String::from_utf8_lossy(n));
            assert!((spec.opts as usize) < 12);
        }
    }

    #[test]
    fn double_dash_ends_options() {
        let r = run(&["run", "--rm", "--", "img", "-d"]);
        assert!(r.rm && !r.detach);
        assert_eq!(r.cmd, a(&["-d"]));
    }

    #[test]
    fn clusters_and_values() {
        let r = run(&["run", "-dit", "-m64m", "-e", "A=1", "--env=B=2", "--name", "x1", "img"]);
        assert!(r.detach && r.interactive && r.tty);
        assert_eq!(r.limits.memory, Some(64 << 20));
        assert_eq!(r.env, a(&["A=1", "B=2"]));
        assert_eq!(r.name.as_deref(), Some(&b"x1"[..]));
        let r = run(&["run", "-ti", "img"]);
        assert!(r.tty && r.interactive);
        // a flag's "=true"/"=false"; a value is refused
        assert!(run(&["run", "--rm=true", "--init=false", "img"]).rm);
        assert!(run(&["run", "--rm", "--rm=false", "img"]).rm);
        assert!(!run(&["run", "--rm=false", "img"]).rm);
        assert!(parse_global(&a(&["run", "--rm=x", "img"]), &[]).is_err());
        match parse_global(&a(&["ps", "--all=false", "-q"]), &[]).unwrap().cmd {
            Cmd::Simple(Verb::Ps, x) => assert!(!x.has(1) && x.has(2) && x.vals.is_empty()),
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn book_aliases() {
        let r = run(&["run", "-ti", "-mem", "100m", "-cpushare", "512", "-cpuset", "0", "-name", "bk", "img", "sh"]);
        assert_eq!(r.limits.memory, Some(100 << 20));
        assert_eq!(r.limits.cpu_shares, Some(512));
        assert_eq!(r.limits.cpuset_cpus.as_deref(), Some(&b"0"[..]));
        assert_eq!(r.name.as_deref(), Some(&b"bk"[..]));
    }

    #[test]
    fn env_from_host_and_missing() {
        let r = run(&["run", "-e", "HOME", "-e", "NOPE", "img"]);
        assert_eq!(r.env, a(&["HOME=/root"]));
    }

    #[test]
    fn help_everywhere() {
        for c in [
            "run", "exec", "ps", "logs", "stop", "start", "restart", "rm", "images", "rmi", "import", "commit", "export", "inspect", "network", "info",
            "version",
        ] {
            let args = a(&[c, "--help"]);
            let g = parse_global(&args, &[]).unwrap();
            assert!(matches!(g.cmd, Cmd::Help(_)), "{c}");
        }
        assert!(matches!(parse_global(&a(&["-h"]), &[]).unwrap().cmd, Cmd::Help(usage::MAIN)));
        assert!(matches!(parse_global(&a(&["--root", "/x", "--help", "ps"]), &[]).unwrap().cmd, Cmd::Help(usage::MAIN)));
        for v in ["-v", "--version"] {
            assert_eq!(parse_global(&a(&[v, "ps"]), &[]).unwrap().cmd, Cmd::Simple(Verb::Version, Args::default()));
        }
        assert!(matches!(parse_global(&a(&["ps", "-h"]), &[]).unwrap().cmd, Cmd::Help(_)));
        // -h is the host name for run, help only when bare
        assert_eq!(run(&["run", "-h", "box", "img"]).hostname.as_deref(), Some(&b"box"[..]));
        assert!(matches!(parse_global(&a(&["run", "-h"]), &[]).unwrap().cmd, Cmd::Help(_)));
    }

    #[test]
    fn unknown_flags_fail_with_usage() {
        let e = parse_global(&a(&["run", "--bogus", "img"]), &[]).unwrap_err();
        assert_eq!(e.exit_code(), 125);
        assert!(e.msg().starts_with(b"--bogus: unknown flag\nUsage: mydocker run"));
        assert!(parse_global(&a(&["run", "-Z", "img"]), &[]).is_err());
        assert!(parse_global(&a(&["ps", "-x"]), &[]).is_err());
        assert!(parse_global(&a(&["--nope", "ps"]), &[]).is_err());
        assert!(parse_global(&a(&["frobnicate"]), &[]).is_err());
        assert!(parse_global(&a(&["run", "--name"]), &[]).is_err());
    }

    #[test]
    fn global_root() {
        let args = a(&["--root", "/x", "ps", "-a"]);
        let g = parse_global(&args, &[]).unwrap();
        assert_eq!(g.root.as_deref(), Some(&b"/x"[..]));
        match g.cmd {
            Cmd::Simple(Verb::Ps, x) => assert!(x.has(1) && !x.has(2) && !x.has(3)),
            c => panic!("{c:?}"),
        }
        let args = a(&["--root=/y", "rm", "a", "-f", "b"]);
        let g = parse_global(&args, &[]).unwrap();
        assert_eq!(g.root.as_deref(), Some(&b"/y"[..]));
        match g.cmd {
            Cmd::Simple(Verb::Rm, x) => assert!(x.has(1) && x.pos == a(&["a", "b"])),
            c => panic!("{c:?}"),
        }
        // values, and positional counts checked per command
        match parse_global(&a(&["logs", "-n", "5", "-ft", "web"]), &[]).unwrap().cmd {
            Cmd::Simple(Verb::Logs, x) => assert!(x.has(1) && x.has(3) && x.val(2) == Some(&b"5"[..]) && x.pos == a(&["web"])),
            c => panic!("{c:?}"),
        }
        let many: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
        let mut rm = vec!["rm"];
        rm.extend(many.iter().map(|s| s.as_str()));
        match parse_global(&a(&rm), &[]).unwrap().cmd {
            Cmd::Simple(Verb::Rm, x) => assert_eq!(x.pos.len(), 300),
            c => panic!("{c:?}"),
        }
        for bad in [&["logs"][..], &["logs", "a", "b"], &["ps", "x"], &["import"], &["stop"]] {
            let e = parse_global(&a(bad), &[]).unwrap_err();
            assert_eq!(e.exit_code(), 125, "{bad:?}");
        }
    }

    #[test]
    fn volumes() {
        assert_eq!(parse_volume(b"/h:/c").unwrap(), Volume { host: b"/h".to_vec(), ctr: b"/c".to_vec(), ro: false });
        assert!(parse_volume(b"/h:/c:ro").unwrap().ro);
        assert!(!parse_volume(b"/h:/c:rw").unwrap().ro);
        for bad in ["/h", "h:/c", "/h:c", "/h:/c:xx", "/h:/../etc", "/h:/", "/a:/b:ro:x", ""] {
            assert!(parse_volume(bad.as_bytes()).is_err(), "{bad}");
        }
        let r = run(&["run", "-v", "/a:/b", "-v", "/c:/d:ro", "img"]);
        assert_eq!(r.volumes.len(), 2);
    }

    #[test]
    fn sizes_and_cpus() {
        assert_eq!(parse_bytes(b"64m"), Some(64 << 20));
        assert_eq!(parse_bytes(b"64MB"), Some(64 << 20));
        assert_eq!(parse_bytes(b"1g"), Some(1 << 30));
        assert_eq!(parse_bytes(b"512k"), Some(512 << 10));
        assert_eq!(parse_bytes(b"100"), Some(100));
        assert_eq!(parse_bytes(b"100b"), Some(100));
        for bad in ["", "m", "12x", "0", "-1m", "1.5g"] {
            assert_eq!(parse_bytes(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_cpus(b"1.5"), Some(150_000));
        assert_eq!(parse_cpus(b"0.5"), Some(50_000));
        assert_eq!(parse_cpus(b"2"), Some(200_000));
        assert_eq!(parse_cpus(b".25"), Some(25_000));
        assert_eq!(parse_cpus(b"0"), None);
        assert_eq!(parse_cpus(b"abc"), None);
    }

    #[test]
    fn names() {
        assert!(validate_name(b"web-1.a_b").is_ok());
        for bad in ["", "-x", ".x", "a/b", "a b", "../x"] {
            assert!(validate_name(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_global(&a(&["run", "--name", "../x", "img"]), &[]).is_err());
        let _ = vec![0u8];
    }

    #[test]
    fn limits_validation() {
        assert!(parse_global(&a(&["run", "-c", "1", "img"]), &[]).is_err());
        assert!(parse_global(&a(&["run", "--cpuset-cpus", "a", "img"]), &[]).is_err());
        assert!(parse_global(&a(&["run", "-w", "rel", "img"]), &[]).is_err());
        assert_eq!(run(&["run", "--pids-limit", "-1", "img"]).limits.pids, None);
        assert_eq!(run(&["run", "--pids-limit=20", "img"]).limits.pids, Some(20));
        assert_eq!(run(&["run", "--pids-limit", "0", "img"]).limits.pids, None);
        for bad in ["-5", "-2", "x", ""] {
            let e = parse_global(&a(&["run", "--pids-limit", bad, "img"]), &[]).map(|_| ()).unwrap_err();
            assert_eq!(e.exit_code(), 125, "{bad}");
        }
    }
}

//! mydocker as an OCI runtime with runc's command line (issue 11), driven
//! the way conmon and containerd-shim-runc-v2 drive it: `--root DIR` before
//! the subcommand, `create --bundle B --pid-file P ID` from a bundle with a
//! config.json, and this test process as the child subreaper that adopts
//! the container's init when `create` exits and collects its status.
//!
//! The runtime under test:
//! - MYDOCKER_RUNC set (e.g. /usr/sbin/runc): that binary, called directly.
//!   This reference run proves the tests test runc 1.1's contract.
//! - else MYDOCKER_BIN (default out/mydocker-x86_64) through a symlink named
//!   `runc` in a temp dir (mydocker is multi-call); one test goes through a
//!   `mydocker-runc` symlink, one through `mydocker runc ARGS`.
//!
//! MYDOCKER_TEST_TAR is the busybox rootfs tar. Outside CI, a machine
//! without root or without the binaries skips; with CI=true nothing skips.
//! Run one at a time (`--test-threads=1`): the tests reap orphans.
//!
//!   CI=true MYDOCKER_RUNC=/usr/sbin/runc MYDOCKER_TEST_TAR=$PWD/out/busybox.tar \
//!     cargo test --locked --test runc -- --test-threads=1      # the reference
//!   CI=true MYDOCKER_BIN=$PWD/out/mydocker-x86_64 MYDOCKER_TEST_TAR=... \
//!     cargo test --locked --test runc -- --test-threads=1      # mydocker
//!
//! runc 1.1.5 (Debian 12) passes every test here; nothing is skipped for it.

// (the shared harness's `t!` is not used here; the two lints are in
// existing helpers clippy flags in every test that includes them)
#[allow(unused_macros, clippy::double_ended_iterator_last, clippy::unnecessary_map_or)]
mod common;
use common::{host_lock, tarball, Out};
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// A tiny JSON reader/writer (serde is not available): enough to check that
// what the runtime prints is valid JSON and to edit `spec`'s config.json.

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(s: &str) -> Result<Json, String> {
        let b = s.as_bytes();
        let mut i = 0;
        let v = parse_value(b, &mut i)?;
        skip_ws(b, &mut i);
        if i != b.len() {
            return Err(format!("trailing bytes at {i} in {s:?}"));
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Obj(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn num(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Json::Num(n)) => Some(*n),
            _ => None,
        }
    }

    fn write(&self, o: &mut String) {
        match self {
            Json::Null => o.push_str("null"),
            Json::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => o.push_str(&format!("{n}")),
            Json::Str(s) => o.push_str(&js(s)),
            Json::Arr(a) => {
                o.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    v.write(o);
                }
                o.push(']');
            }
            Json::Obj(m) => {
                o.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        o.push(',');
                    }
                    o.push_str(&js(k));
                    o.push(':');
                    v.write(o);
                }
                o.push('}');
            }
        }
    }
}

fn skip_ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && b" \t\r\n".contains(&b[*i]) {
        *i += 1;
    }
}

fn parse_value(b: &[u8], i: &mut usize) -> Result<Json, String> {
    skip_ws(b, i);
    let Some(&c) = b.get(*i) else { return Err("unexpected end".into()) };
    match c {
        b'{' => {
            *i += 1;
            let mut m = Vec::new();
            skip_ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(Json::Obj(m));
            }
            loop {
                skip_ws(b, i);
                let Json::Str(k) = parse_value(b, i)? else { return Err(format!("key expected at {i}")) };
                skip_ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return Err(format!("':' expected at {i}"));
                }
                *i += 1;
                let v = parse_value(b, i)?;
                m.push((k, v));
                skip_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(Json::Obj(m));
                    }
                    _ => return Err(format!("',' or '}}' expected at {i}")),
                }
            }
        }
        b'[' => {
            *i += 1;
            let mut a = Vec::new();
            skip_ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(Json::Arr(a));
            }
            loop {
                a.push(parse_value(b, i)?);
                skip_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(Json::Arr(a));
                    }
                    _ => return Err(format!("',' or ']' expected at {i}")),
                }
            }
        }
        b'"' => {
            *i += 1;
            let mut s = Vec::new();
            loop {
                let Some(&c) = b.get(*i) else { return Err("unterminated string".into()) };
                *i += 1;
                match c {
                    b'"' => return String::from_utf8(s).map(Json::Str).map_err(|e| e.to_string()),
                    b'\\' => {
                        let Some(&e) = b.get(*i) else { return Err("bad escape".into()) };
                        *i += 1;
                        match e {
                            b'n' => s.push(b'\n'),
                            b't' => s.push(b'\t'),
                            b'r' => s.push(b'\r'),
                            b'b' => s.push(8),
                            b'f' => s.push(12),
                            b'u' => {
                                let h = std::str::from_utf8(b.get(*i..*i + 4).ok_or("bad \\u")?).map_err(|e| e.to_string())?;
                                let n = u32::from_str_radix(h, 16).map_err(|e| e.to_string())?;
                                *i += 4;
                                let ch = char::from_u32(n).unwrap_or('\u{fffd}');
                                s.extend_from_slice(ch.to_string().as_bytes());
                            }
                            b'"' | b'\\' | b'/' => s.push(e),
                            _ => return Err(format!("bad escape \\{}", e as char)),
                        }
                    }
                    c if c < 0x20 => return Err("control character in string".into()),
                    c => s.push(c),
                }
            }
        }
        b't' if b[*i..].starts_with(b"true") => {
            *i += 4;
            Ok(Json::Bool(true))
        }
        b'f' if b[*i..].starts_with(b"false") => {
            *i += 5;
            Ok(Json::Bool(false))
        }
        b'n' if b[*i..].starts_with(b"null") => {
            *i += 4;
            Ok(Json::Null)
        }
        b'-' | b'0'..=b'9' => {
            let st = *i;
            while *i < b.len() && b"+-.eE0123456789".contains(&b[*i]) {
                *i += 1;
            }
            let t = std::str::from_utf8(&b[st..*i]).unwrap();
            t.parse().map(Json::Num).map_err(|_| format!("bad number {t:?}"))
        }
        c => Err(format!("unexpected {:?} at {}", c as char, *i)),
    }
}

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn js_list<S: AsRef<str>>(v: &[S]) -> String {
    let items: Vec<String> = v.iter().map(|s| js(s.as_ref())).collect();
    format!("[{}]", items.join(","))
}

fn parse_json(what: &str, s: &str) -> Json {
    Json::parse(s.trim_end()).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {s:?}"))
}

// ---------------------------------------------------------------------------
// config.json

/// The podman/containerd default capability set (oci-engines.md §7).
const DEFAULT_CAPS: &[&str] = &[
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Bit numbers (linux/capability.h) of the capabilities used here.
fn cap_bit(name: &str) -> u32 {
    match name {
        "CAP_CHOWN" => 0,
        "CAP_DAC_OVERRIDE" => 1,
        "CAP_FOWNER" => 3,
        "CAP_FSETID" => 4,
        "CAP_KILL" => 5,
        "CAP_SETGID" => 6,
        "CAP_SETUID" => 7,
        "CAP_SETPCAP" => 8,
        "CAP_NET_BIND_SERVICE" => 10,
        "CAP_NET_RAW" => 13,
        "CAP_SYS_CHROOT" => 18,
        "CAP_MKNOD" => 27,
        "CAP_AUDIT_WRITE" => 29,
        "CAP_SETFCAP" => 31,
        _ => panic!("unknown capability {name}"),
    }
}

/// The mounts `runc spec` writes (proc, /dev tmpfs, devpts, shm, mqueue,
/// sysfs ro, cgroup ro).
const SPEC_MOUNTS: &str = r#"{"destination":"/proc","type":"proc","source":"proc"},
 {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
 {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
 {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},
 {"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},
 {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
 {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}"#;

/// What a test changes in the config.json it writes; the rest is what
/// `runc spec` writes, with `terminal:false`.
struct Cfg {
    args: Vec<String>,
    /// root.path as written: "rootfs" (containerd's relative way) or absolute
    root_path: String,
    readonly: bool,
    env: Vec<String>,
    cwd: String,
    uid: u32,
    gid: u32,
    gids: Vec<u32>,
    caps: Vec<String>,
    nnp: bool,
    hostname: Option<String>,
    /// raw JSON objects appended to the default mounts
    mounts: Vec<String>,
    /// raw JSON objects: the namespaces
    namespaces: Vec<String>,
    /// raw JSON members added to linux.resources (after "devices")
    resources: String,
    cgroups_path: String,
    masked: Vec<String>,
    readonly_paths: Vec<String>,
    /// raw JSON members appended to "linux" (each starting with a comma)
    linux_extra: String,
}

const CG_PARENT: &str = "mydocker-rt";

impl Cfg {
    fn new(id: &str, args: &[&str]) -> Cfg {
        Cfg {
            args: args.iter().map(|s| s.to_string()).collect(),
            root_path: "rootfs".into(),
            readonly: false,
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(), "TERM=xterm".into()],
            cwd: "/".into(),
            uid: 0,
            gid: 0,
            gids: Vec::new(),
            caps: DEFAULT_CAPS.iter().map(|s| s.to_string()).collect(),
            nnp: true,
            hostname: Some("runc".into()),
            mounts: Vec::new(),
            namespaces: ["pid", "network", "ipc", "uts", "mount"].iter().map(|n| format!(r#"{{"type":"{n}"}}"#)).collect(),
            resources: String::new(),
            cgroups_path: format!("/{CG_PARENT}/{id}"),
            masked: [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            readonly_paths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"].iter().map(|s| s.to_string()).collect(),
            linux_extra: String::new(),
        }
    }

    /// Drops the namespace of this type (the container shares the host's).
    fn without_ns(mut self, ty: &str) -> Cfg {
        let t = format!(r#""type":"{ty}""#);
        self.namespaces.retain(|n| !n.contains(&t));
        self
    }

    fn json(&self) -> String {
        let caps = js_list(&self.caps);
        let gids: Vec<String> = self.gids.iter().map(|g| g.to_string()).collect();
        let hostname = self.hostname.as_ref().map(|h| format!("\"hostname\": {},\n", js(h))).unwrap_or_default();
        let mut mounts = String::from(SPEC_MOUNTS);
        for m in &self.mounts {
            mounts.push_str(",\n ");
            mounts.push_str(m);
        }
        let resources = if self.resources.is_empty() { String::new() } else { format!(",{}", self.resources) };
        format!(
            r#"{{
"ociVersion": "1.0.2-dev",
"process": {{
 "terminal": false,
 "user": {{"uid": {uid}, "gid": {gid}, "additionalGids": [{gids}]}},
 "args": {args},
 "env": {env},
 "cwd": {cwd},
 "capabilities": {{"bounding": {caps}, "effective": {caps}, "permitted": {caps}}},
 "rlimits": [{{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}}],
 "noNewPrivileges": {nnp}
}},
"root": {{"path": {root}, "readonly": {ro}}},
{hostname}"mounts": [
 {mounts}
],
"linux": {{
 "resources": {{"devices": [{{"allow": false, "access": "rwm"}}]{resources}}},
 "cgroupsPath": {cgp},
 "namespaces": [{ns}],
 "maskedPaths": {masked},
 "readonlyPaths": {rop}{extra}
}}
}}
"#,
            uid = self.uid,
            gid = self.gid,
            gids = gids.join(","),
            args = js_list(&self.args),
            env = js_list(&self.env),
            cwd = js(&self.cwd),
            nnp = self.nnp,
            root = js(&self.root_path),
            ro = self.readonly,
            ns = self.namespaces.join(","),
            cgp = js(&self.cgroups_path),
            masked = js_list(&self.masked),
            rop = js_list(&self.readonly_paths),
            extra = self.linux_extra,
        )
    }
}

// ---------------------------------------------------------------------------
// The runtime under test and one test's private world.

/// How the runtime is invoked (irrelevant in the reference run).
#[derive(Clone, Copy, PartialEq)]
enum Via {
    /// a symlink named `runc` to mydocker
    Runc,
    /// a symlink named `mydocker-runc`
    MydockerRunc,
    /// `mydocker runc ARGS`
    Sub,
}

fn reference() -> Option<PathBuf> {
    std::env::var_os("MYDOCKER_RUNC").map(PathBuf::from)
}

fn mydocker_bin() -> PathBuf {
    common::bin()
}

fn ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// Makes this process adopt orphans, as conmon and the shim do: the
/// container's init is reparented to it when `create` exits.
fn subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes an integer flag and
        // touches no memory of ours.
        let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) };
        assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER: {}", std::io::Error::last_os_error());
    });
}

/// The host-side cgroup mount points, v1 hierarchies and the v2 one.
fn cgroup_mounts() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for l in fs::read_to_string("/proc/self/mountinfo").unwrap().lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else { continue };
        if f[dash + 1] == "cgroup" || f[dash + 1] == "cgroup2" {
            v.push(PathBuf::from(f[4]));
        }
    }
    v
}

/// The host directories of the cgroups a process is in (but the roots),
/// from /proc/PID/cgroup: whatever cgroupsPath became, it must go with
/// the container.
/// Each with its controllers as /proc/PID/cgroup names them ("" for v2).
fn cgroups_of(pid: i32) -> Vec<(String, PathBuf)> {
    let mut v = Vec::new();
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default().lines() {
        let mut it = l.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (it.next(), it.next(), it.next()) else { continue };
        if path == "/" {
            continue;
        }
        for m in mi.lines() {
            let f: Vec<&str> = m.split(' ').collect();
            let Some(dash) = f.iter().position(|x| *x == "-") else { continue };
            let supers: Vec<&str> = f.get(dash + 3).map(|o| o.split(',').collect()).unwrap_or_default();
            let hit = match f[dash + 1] {
                "cgroup2" => ctrls.is_empty(),
                "cgroup" => !ctrls.is_empty() && ctrls.split(',').all(|c| supers.contains(&c)),
                _ => false,
            };
            if hit {
                v.push((ctrls.to_string(), Path::new(f[4]).join(path.trim_start_matches('/'))));
                break;
            }
        }
    }
    v
}

/// Where the container's memory limit is visible on the host: v1
/// `memory.limit_in_bytes` or v2 `memory.max` under cgroupsPath.
fn memory_limit_file(cgroups_path: &str) -> Option<PathBuf> {
    let rel = cgroups_path.trim_start_matches('/');
    for l in fs::read_to_string("/proc/self/mountinfo").unwrap().lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else { continue };
        let mnt = Path::new(f[4]);
        match f[dash + 1] {
            "cgroup" if f.get(dash + 3).is_some_and(|o| o.split(',').any(|c| c == "memory")) => {
                return Some(mnt.join(rel).join("memory.limit_in_bytes"));
            }
            "cgroup2" if fs::read_to_string(mnt.join("cgroup.controllers")).unwrap_or_default().split_whitespace().any(|c| c == "memory") => {
                return Some(mnt.join(rel).join("memory.max"));
            }
            _ => {}
        }
    }
    None
}

fn out_of(o: std::process::ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Out {
    let code = o.code().unwrap_or_else(|| 128 + o.signal().unwrap_or(0));
    Out { code, out: stdout, err: String::from_utf8_lossy(&stderr).into_owned() }
}

/// Waits for a child process with a deadline; kills it when it is over.
fn wait_child(c: &mut std::process::Child, what: &str, ms: u64) -> std::process::ExitStatus {
    let end = Instant::now() + Duration::from_millis(ms);
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > end {
            let _ = c.kill();
            let _ = c.wait();
            panic!("{what}: still running after {ms} ms");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How a process ended, as waitpid reports it.
#[derive(Debug, PartialEq)]
enum End {
    Exited(i32),
    Signaled(i32),
}

fn is_zombie_or_gone(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z') || r.starts_with('X')),
        Err(_) => true,
    }
}

/// waitpid(pid) with a deadline. The pid must be this process's child: the
/// container's init left behind by `create`, adopted as subreaper.
fn wait_pid(pid: i32, ms: u64) -> End {
    let end = Instant::now() + Duration::from_millis(ms);
    loop {
        let mut st = 0;
        // SAFETY: waitpid writes the status into a local integer.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            if libc::WIFEXITED(st) {
                return End::Exited(libc::WEXITSTATUS(st));
            }
            if libc::WIFSIGNALED(st) {
                return End::Signaled(libc::WTERMSIG(st));
            }
            continue;
        }
        assert_eq!(
            r,
            0,
            "waitpid({pid}): {} (the container's init must be left as create's child, so the subreaper adopts it)",
            std::io::Error::last_os_error()
        );
        if Instant::now() > end {
            // SAFETY: kill takes integers only.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let mut st = 0;
            // SAFETY: as above.
            unsafe { libc::waitpid(pid, &mut st, 0) };
            panic!("pid {pid} did not end within {ms} ms (killed it)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reaps every exited child (orphans adopted as subreaper), without blocking.
fn reap_all() {
    loop {
        let mut st = 0;
        // SAFETY: waitpid writes the status into a local integer.
        let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
        if r <= 0 {
            break;
        }
    }
}

/// One test's private world: a temp dir with the runtime's `--root`
/// (`state/`), the bundles, and the symlinks naming mydocker. Holds the
/// host lock until it is dropped.
struct Rt {
    base: PathBuf,
    root: PathBuf,
    via: Via,
    /// `--log FILE --log-format json` on every call, as the shim passes them
    log: Option<PathBuf>,
    ids: Vec<String>,
    pids: Vec<i32>,
    /// the host cgroup directories the containers' inits were in
    cgroups: Vec<PathBuf>,
    _host: fs::File,
}

/// A container created by `Rt::create`: its init's pid and the files that
/// are its stdout and stderr (create's own output goes there too).
struct Created {
    pid: i32,
    out: PathBuf,
    err: PathBuf,
}

impl Created {
    fn stdout(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }
    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Rt {
    /// None = skip (only allowed outside CI).
    fn new(via: Via) -> Option<Rt> {
        // SAFETY: geteuid has no preconditions.
        let root_user = unsafe { libc::geteuid() } == 0;
        let bin = reference().unwrap_or_else(mydocker_bin);
        if !root_user || !bin.exists() || !tarball().exists() {
            assert!(!ci(), "integration tests must not skip in CI: root={root_user} runtime={bin:?} tar={:?}", tarball());
            eprintln!("skipping: needs root, {bin:?} and {:?}", tarball());
            return None;
        }
        subreaper();
        let host = host_lock();
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!("mydocker-rt-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("bin")).unwrap();
        if reference().is_none() {
            // a copy would do too; a symlink is what the README tells users
            std::os::unix::fs::symlink(&bin, base.join("bin/runc")).unwrap();
            std::os::unix::fs::symlink(&bin, base.join("bin/mydocker-runc")).unwrap();
        }
        // the state dir is left for the runtime to make, as containerd does
        let root = base.join("state");
        Some(Rt { base, root, via, log: None, ids: Vec::new(), pids: Vec::new(), cgroups: Vec::new(), _host: host })
    }

    /// A unique container id for this test.
    fn id(&mut self, name: &str) -> String {
        let id = format!("rt-{name}-{}-{}", std::process::id(), self.ids.len());
        self.ids.push(id.clone());
        id
    }

    /// The runtime's command line up to and including `--root DIR`.
    fn cmd(&self) -> Command {
        let mut c = match (reference(), self.via) {
            (Some(r), _) => Command::new(r),
            (None, Via::Runc) => Command::new(self.base.join("bin/runc")),
            (None, Via::MydockerRunc) => Command::new(self.base.join("bin/mydocker-runc")),
            (None, Via::Sub) => {
                let mut c = Command::new(mydocker_bin());
                c.arg("runc");
                c
            }
        };
        c.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").arg("--root").arg(&self.root);
        if let Some(l) = &self.log {
            c.arg("--log").arg(l).args(["--log-format", "json"]);
        }
        c.stdin(Stdio::null());
        c
    }

    /// Runs a runtime command to its end (10 s at most). Its stdout and
    /// stderr are files, not pipes: a runtime that leaves a process holding
    /// them fails the test instead of hanging it.
    fn rt_with(&self, mut c: Command, args: &[&str]) -> Out {
        static K: AtomicUsize = AtomicUsize::new(0);
        let k = K.fetch_add(1, Ordering::SeqCst);
        let (o, e) = (self.base.join(format!("cmd{k}.out")), self.base.join(format!("cmd{k}.err")));
        c.args(args).stdout(fs::File::create(&o).unwrap()).stderr(fs::File::create(&e).unwrap());
        let mut ch = c.spawn().unwrap();
        let st = wait_child(&mut ch, &format!("runtime {args:?}"), 10_000);
        out_of(st, fs::read(&o).unwrap(), fs::read(&e).unwrap())
    }

    fn rt(&self, args: &[&str]) -> Out {
        self.rt_with(self.cmd(), args)
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.rt(args);
        assert_eq!(o.code, 0, "runtime {args:?} failed: {}", o.err);
        o.stdout()
    }

    /// `state ID`, parsed.
    fn state(&self, id: &str) -> Json {
        parse_json("state", &self.ok(&["state", id]))
    }

    fn status(&self, id: &str) -> String {
        self.state(id).str("status").unwrap_or_else(|| panic!("state {id} without a status")).to_string()
    }

    /// A bundle: `rootfs/` (busybox), the config from `cfg`. With an
    /// absolute root path when `cfg.root_path` is not "rootfs".
    fn bundle(&self, name: &str, cfg: &Cfg) -> PathBuf {
        let b = self.base.join(format!("bundle-{name}"));
        extract(&b.join("rootfs"));
        fs::write(b.join("config.json"), cfg.json()).unwrap();
        b
    }

    /// `create --bundle B --pid-file P ID`, spawned with its stdout and
    /// stderr as files (which the container inherits), waited for (it must
    /// exit while the container lives on). Returns the pid from the pid file.
    fn create_with(&mut self, c: Command, id: &str, bundle: &Path, extra: &[&str]) -> Created {
        let r = self.try_create(c, id, bundle, extra);
        assert_eq!(r.0.code, 0, "create {id} failed: {}{}", r.0.err, r.1.stderr());
        r.1
    }

    fn create(&mut self, id: &str, bundle: &Path) -> Created {
        self.create_with(self.cmd(), id, bundle, &[])
    }

    /// Like `create` but the outcome is the caller's to check. `Created.pid`
    /// is 0 when no pid file was written. `extra`: create's flags after
    /// --pid-file (conmon's order), e.g. `--console-socket S`.
    fn try_create(&mut self, mut c: Command, id: &str, bundle: &Path, extra: &[&str]) -> (Out, Created) {
        let out = self.base.join(format!("{id}.out"));
        let err = self.base.join(format!("{id}.err"));
        let pidf = self.base.join(format!("{id}.pid"));
        let b = bundle.to_str().unwrap();
        c.args(["create", "--bundle", b, "--pid-file", pidf.to_str().unwrap()]).args(extra).arg(id);
        c.stdout(fs::File::create(&out).unwrap()).stderr(fs::File::create(&err).unwrap());
        let mut ch = c.spawn().unwrap();
        let st = wait_child(&mut ch, &format!("create {id}"), 10_000);
        let o = out_of(st, Vec::new(), fs::read(&err).unwrap());
        let pid = if pidf.exists() { read_pid(&pidf) } else { 0 };
        if pid > 0 {
            self.adopt(pid);
        }
        (o, Created { pid, out, err })
    }

    /// Records a process of the test (an init, an exec) and its cgroups, for
    /// the leak check.
    fn adopt(&mut self, pid: i32) {
        self.pids.push(pid);
        // only the container's own: a runtime may share one cgroup among
        // containers (mydocker keeps one devices cgroup per device policy)
        for (_, c) in cgroups_of(pid) {
            let own = self.ids.iter().any(|id| c.to_string_lossy().contains(id.as_str()));
            if own && !self.cgroups.contains(&c) {
                self.cgroups.push(c);
            }
        }
    }

    /// No trace of the test's containers is left: no state entry under
    /// --root, no live process (their init pids and anything whose root is
    /// under this test's dir), no mount under it, no cgroup named after an
    /// id or at its cgroupsPath.
    fn assert_clean(&self) {
        reap_all();
        for id in &self.ids {
            assert!(!self.root.join(id).exists(), "state of {id} left in {:?}", self.root);
        }
        if let Ok(d) = fs::read_dir(&self.root) {
            let left: Vec<String> = d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| self.ids.contains(n)).collect();
            assert_eq!(left, Vec::<String>::new(), "state entries left in --root");
        }
        for &pid in &self.pids {
            assert!(is_zombie_or_gone(pid), "process {pid} of the test still runs");
        }
        for p in fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(r) = fs::read_link(p.path().join("root")) {
                assert!(!r.starts_with(&self.base), "process {:?} still runs in {r:?}", p.file_name());
            }
        }
        let base = self.base.to_str().unwrap();
        let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let left: Vec<&str> = mi.lines().filter(|l| l.contains(base)).collect();
        assert!(left.is_empty(), "mounts left under {base}: {left:?}");
        for d in &self.cgroups {
            assert!(!d.exists(), "cgroup left: {d:?}");
        }
        for m in cgroup_mounts() {
            for id in &self.ids {
                for d in [m.join(CG_PARENT).join(id), m.join(id)] {
                    assert!(!d.exists(), "cgroup left: {d:?}");
                }
            }
        }
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        // best effort after a failure: force-delete, kill what is left
        for id in &self.ids {
            let _ = self.rt(&["delete", "--force", id]);
        }
        for &pid in &self.pids {
            if !is_zombie_or_gone(pid) {
                // SAFETY: kill takes integers only.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        reap_all();
        // the parent cgroup the runtime made for cgroupsPath /mydocker-rt/ID
        // (runc removes only the leaf); rmdir fails while a child is left
        for m in cgroup_mounts() {
            let _ = fs::remove_dir(m.join(CG_PARENT));
        }
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// Extracts the busybox rootfs tar into `dir`.
fn extract(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    let st = Command::new("tar").arg("-xf").arg(tarball()).arg("-C").arg(dir).status().unwrap();
    assert!(st.success(), "tar -xf {:?}", tarball());
}

/// The harness for a test, or `return` (skip) outside CI when it cannot run.
macro_rules! rt {
    ($via:expr) => {
        match Rt::new($via) {
            Some(t) => t,
            None => return,
        }
    };
}

fn wait_file(p: &Path, ms: u64) -> String {
    assert!(common::wait_until(ms, || p.exists()), "{p:?} did not appear within {ms} ms");
    // (written by a shell redirection: give it the moment to finish)
    std::thread::sleep(Duration::from_millis(20));
    fs::read_to_string(p).unwrap()
}

/// The pid in a --pid-file (decimal, a newline or not).
fn read_pid(p: &Path) -> i32 {
    let s = fs::read_to_string(p).unwrap_or_else(|e| panic!("no pid file {p:?}: {e}"));
    s.trim().parse().unwrap_or_else(|_| panic!("pid file {p:?}: {s:?}"))
}

fn ns_link(pid: i32, ns: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap().to_string_lossy().into_owned()
}

fn assert_time(t: &str) {
    // RFC 3339, as runc writes it: 2026-12-01T03:35:37Z (or with fractions)
    let b = t.as_bytes();
    assert!(
        b.len() >= 20 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':' && (t.ends_with('Z') || b[b.len() - 6] == b'+'),
        "time {t:?}"
    );
}

// ---------------------------------------------------------------------------
// 1. The lifecycle: create, state, start, kill, delete.

#[test]
fn lifecycle_create_start_kill_delete() {
    let mut t = rt!(Via::Runc);
    let id = t.id("life");
    // every call with --log, as the shim makes them: nothing is logged
    // until something fails (no info lines: podman reads one JSON object)
    let log = t.base.join("log.json");
    t.log = Some(log.clone());
    // pid 1 of a pid namespace ignores SIGTERM without a handler: the trap
    // makes `kill ID 15` observable as exit status 143; /ready says the
    // trap is set
    let cfg = Cfg::new(&id, &["sh", "-c", "trap 'exit 143' TERM; echo hi > /ready; sleep 30 & wait"]);
    let b = t.bundle("life", &cfg);
    // `--bundle .` from inside the bundle (containerd's cwd is the bundle):
    // state must show the absolute path
    let mut c = t.cmd();
    c.current_dir(&b);
    let pidf = t.base.join("life.pid");
    let o = t.rt_with(c, &["create", "--bundle", ".", "--pid-file", pidf.to_str().unwrap(), &id]);
    assert_eq!(o.code, 0, "create: {}", o.err);
    let pid: i32 = read_pid(&pidf);
    t.adopt(pid);
    assert!(pid > 1 && !is_zombie_or_gone(pid), "init {pid} is not alive after create");
    assert!(!b.join("rootfs/ready").exists(), "the process ran before start");
    // linux.cgroupsPath is where it is, in the hierarchies the engines read
    // (metrics: memory, cpu, pids; pause: freezer; v2); runc puts it there
    // in all of them
    let cgs = cgroups_of(pid);
    let wanted: Vec<&PathBuf> =
        cgs.iter().filter(|(ctl, _)| ctl.is_empty() || ctl.split(',').any(|c| ["memory", "cpu", "pids", "freezer"].contains(&c))).map(|(_, d)| d).collect();
    assert!(!wanted.is_empty(), "init {pid} is in no memory/cpu/pids/freezer/v2 cgroup: {cgs:?}");
    for c in wanted {
        assert!(c.ends_with(format!("{CG_PARENT}/{id}")), "cgroup {c:?} is not at cgroupsPath /{CG_PARENT}/{id}");
    }

    let s = t.state(&id);
    assert_eq!(s.str("id"), Some(id.as_str()), "{s:?}");
    assert_eq!(s.num("pid"), Some(pid as f64), "{s:?}");
    assert_eq!(s.str("status"), Some("created"), "{s:?}");
    assert_eq!(s.str("bundle"), Some(b.to_str().unwrap()), "{s:?}");
    assert_eq!(s.str("rootfs"), Some(b.join("rootfs").to_str().unwrap()), "{s:?}");
    assert_eq!(s.str("ociVersion"), Some("1.0.2-dev"), "{s:?}");
    assert_time(s.str("created").unwrap_or_else(|| panic!("no created: {s:?}")));

    let t0 = Instant::now();
    t.ok(&["start", &id]);
    assert!(t0.elapsed() < Duration::from_secs(2), "start did not return at once");
    assert_eq!(t.status(&id), "running");
    assert_eq!(wait_file(&b.join("rootfs/ready"), 5000), "hi\n");
    assert_eq!(t.state(&id).num("pid"), Some(pid as f64));

    t.ok(&["kill", &id, "15"]);
    assert_eq!(wait_pid(pid, 5000), End::Exited(143));
    assert_eq!(t.status(&id), "stopped");
    t.ok(&["delete", &id]);
    let o = t.rt(&["state", &id]);
    assert_ne!(o.code, 0, "state after delete: {}", o.stdout());
    assert!(o.err.contains("does not exist"), "stderr: {}", o.err);
    // that failure is the one line in the log
    let text = fs::read_to_string(&log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "--log: one line for the one failure: {text:?}");
    let j = parse_json("--log line", lines[0]);
    assert_eq!(j.str("level"), Some("error"), "{text}");
    assert!(j.str("msg").is_some_and(|m| m.contains("does not exist")), "{text}");
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 2. stdio: create's stdin, stdout and stderr are the container's (conmon
// -i: three pipes).

#[test]
fn stdio_passes_through_pipes() {
    use std::io::{Read, Write};
    let mut t = rt!(Via::Runc);
    let id = t.id("stdio");
    let b = t.bundle("stdio", &Cfg::new(&id, &["sh", "-c", "read l; echo out $l; echo err >&2; exit 7"]));
    let pidf = t.base.join("stdio.pid");
    let mut c = t.cmd();
    c.args(["create", "--bundle", b.to_str().unwrap(), "--pid-file", pidf.to_str().unwrap(), &id]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut ch = c.spawn().unwrap();
    let (mut si, mut so, mut se) = (ch.stdin.take().unwrap(), ch.stdout.take().unwrap(), ch.stderr.take().unwrap());
    // create must exit while the container still holds the pipes
    let st = wait_child(&mut ch, "create with pipes", 10_000);
    assert!(st.success(), "create: {st:?}");
    let pid: i32 = read_pid(&pidf);
    t.adopt(pid);
    // (written after create: create must not have read it)
    si.write_all(b"hello\n").unwrap();
    drop(si);
    let o = t.rt(&["start", &id]);
    if o.code != 0 {
        // SAFETY: kill takes integers only.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("start: {}", o.err);
    }
    let (mut a, mut e) = (String::new(), String::new());
    so.read_to_string(&mut a).unwrap();
    se.read_to_string(&mut e).unwrap();
    assert_eq!(a, "out hello\n");
    assert_eq!(e, "err\n");
    assert_eq!(wait_pid(pid, 5000), End::Exited(7));
    assert_eq!(t.status(&id), "stopped");
    t.ok(&["delete", &id]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 3. No inherited descriptor but 0, 1, 2 reaches the container.

#[test]
fn inherited_fds_are_closed() {
    let mut t = rt!(Via::Runc);
    let id = t.id("fds");
    // ls's own directory descriptor is the lowest free one: 3 when nothing
    // leaked, and a leaked 3 would push it to 4
    let b = t.bundle("fds", &Cfg::new(&id, &["ls", "/proc/self/fd"]));
    let mut p = [0; 2];
    // SAFETY: pipe writes two descriptors into a local array; no CLOEXEC,
    // as the shim's leaked socket.
    assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
    let mut c = t.cmd();
    // SAFETY: the closure runs in the forked child before exec and only
    // calls dup2 (async-signal-safe); the new fds 3 and 9 have no CLOEXEC.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(p[1], 3) < 0 || libc::dup2(p[0], 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let cr = t.create_with(c, &id, &b, &[]);
    // SAFETY: closes the two descriptors this test made.
    unsafe {
        libc::close(p[0]);
        libc::close(p[1]);
    }
    t.ok(&["start", &id]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Exited(0), "stderr: {}", cr.stderr());
    assert_eq!(cr.stdout(), "0\n1\n2\n3\n", "descriptors seen inside (a leaked fd shows as an extra number)");
    t.ok(&["delete", &id]);
    t.assert_clean();
}

/// `create --preserve-fds 1` (the shims' option): the caller's fd 3 is the
/// container's fd 3, and fd 9 (beyond the range) is still closed. The
/// process writes through fd 3 into the pipe the test reads.
#[test]
fn preserve_fds_hands_on_the_range() {
    let mut t = rt!(Via::Runc);
    let id = t.id("keepfd");
    let b = t.bundle("keepfd", &Cfg::new(&id, &["sh", "-c", "echo through-3 >&3; ls /proc/self/fd"]));
    let mut p = [0; 2];
    // SAFETY: pipe writes two descriptors into a local array.
    assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
    let mut c = t.cmd();
    // SAFETY: the closure runs in the forked child before exec and only
    // calls dup2 (async-signal-safe); the new fds 3 and 9 have no CLOEXEC.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(p[1], 3) < 0 || libc::dup2(p[1], 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let cr = t.create_with(c, &id, &b, &["--preserve-fds", "1"]);
    // SAFETY: closes the write end this test made (the container has its own).
    unsafe { libc::close(p[1]) };
    t.ok(&["start", &id]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Exited(0), "stderr: {}", cr.stderr());
    // ls's own directory descriptor is 4 (3 is taken), 9 is not there
    assert_eq!(cr.stdout(), "0\n1\n2\n3\n4\n", "descriptors seen inside");
    let mut buf = [0u8; 64];
    // SAFETY: reads into a local buffer from the pipe's read end, then closes it.
    let n = unsafe { libc::read(p[0], buf.as_mut_ptr().cast(), buf.len()) };
    unsafe { libc::close(p[0]) };
    assert_eq!(&buf[..n.max(0) as usize], b"through-3\n");
    t.ok(&["delete", &id]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 4. A missing executable: one JSON error line in --log, the message on
// stderr, and `delete --force` cleans up.

#[test]
fn missing_executable_fails_with_one_log_line() {
    let mut t = rt!(Via::Runc);
    let id = t.id("noexec");
    let b = t.bundle("noexec", &Cfg::new(&id, &["/nonexistent"]));
    let log = t.base.join("log.json");
    t.log = Some(log.clone());
    let (o, cr) = t.try_create(t.cmd(), &id, &b, &[]);
    // runc fails at create (it looks the binary up first); a runtime may
    // also fail at start: either way one of them fails with the message
    let err = if o.code != 0 {
        o.err.clone()
    } else {
        let s = t.rt(&["start", &id]);
        assert_ne!(s.code, 0, "start of /nonexistent succeeded: {}", s.stdout());
        s.err
    };
    assert!(err.contains("no such file or directory"), "stderr: {err}");
    let text = fs::read_to_string(&log).unwrap_or_else(|e| panic!("no --log file: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "--log must hold exactly one line: {text:?}");
    let j = parse_json("--log line", lines[0]);
    assert_eq!(j.str("level"), Some("error"), "{text}");
    assert!(j.str("msg").is_some_and(|m| m.contains("no such file or directory")), "{text}");
    assert_time(j.str("time").unwrap_or_else(|| panic!("no time: {text}")));

    t.log = None;
    let o = t.rt(&["delete", "--force", &id]);
    assert_eq!(o.code, 0, "delete --force: {}", o.err);
    if cr.pid > 0 {
        // an init the runtime left must be gone (reaped here, as subreaper)
        let _ = wait_pid(cr.pid, 5000);
    }
    let o = t.rt(&["state", &id]);
    assert!(o.code != 0 && o.err.contains("does not exist"), "state after delete --force: {} {}", o.code, o.err);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 5. Deleting an unknown id: --force succeeds (containerd deletes twice).

#[test]
fn delete_unknown_id() {
    let mut t = rt!(Via::Sub);
    let id = t.id("ghost");
    let o = t.rt(&["delete", "--force", &id]);
    assert_eq!(o.code, 0, "delete --force of an unknown id: {}", o.err);
    let o = t.rt(&["delete", &id]);
    assert_ne!(o.code, 0, "delete of an unknown id succeeded");
    assert!(o.err.contains("does not exist"), "stderr: {}", o.err);
    let o = t.rt(&["state", &id]);
    assert!(o.code != 0 && o.err.contains("does not exist"), "state of an unknown id: {} {}", o.code, o.err);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 6. `delete --force` of a running container kills it. Through the
// `mydocker-runc` name, with an absolute root.path (podman's way).

#[test]
fn delete_force_kills_running() {
    let mut t = rt!(Via::MydockerRunc);
    let id = t.id("force");
    let mut cfg = Cfg::new(&id, &["sleep", "30"]);
    cfg.root_path = t.base.join("bundle-force/rootfs").to_str().unwrap().to_string();
    let b = t.bundle("force", &cfg);
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    assert_eq!(t.status(&id), "running");
    // a plain delete refuses a running container
    let o = t.rt(&["delete", &id]);
    assert_ne!(o.code, 0, "delete of a running container succeeded");
    assert!(!is_zombie_or_gone(cr.pid), "plain delete killed the container");
    let o = t.rt(&["delete", "--force", &id]);
    assert_eq!(o.code, 0, "delete --force: {}", o.err);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    let o = t.rt(&["state", &id]);
    assert!(o.code != 0 && o.err.contains("does not exist"), "state after delete --force: {} {}", o.code, o.err);

    // and of one created but never started (a failed start's cleanup)
    let id = t.id("forcecreated");
    let b = t.bundle("forcecreated", &Cfg::new(&id, &["sleep", "30"]));
    let cr = t.create(&id, &b);
    assert_eq!(t.status(&id), "created");
    let o = t.rt(&["delete", "--force", &id]);
    assert_eq!(o.code, 0, "delete --force of a created container: {}", o.err);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    let o = t.rt(&["state", &id]);
    assert!(o.code != 0 && o.err.contains("does not exist"), "state after delete --force: {} {}", o.code, o.err);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 7. kill: --all, signal names. Through `mydocker runc ARGS`.

#[test]
fn kill_all_and_signal_names() {
    let mut t = rt!(Via::Sub);
    // --all: in the host pid namespace the background sleep is not killed
    // with init; only --all reaches it (it is ours to reap: subreaper)
    let a = t.id("killall");
    let cfg = Cfg::new(&a, &["sh", "-c", "sleep 31 & echo $! > /bg; exec sleep 30"]).without_ns("pid");
    let ba = t.bundle("killall", &cfg);
    let ca = t.create(&a, &ba);
    t.ok(&["start", &a]);
    let bg: i32 = wait_file(&ba.join("rootfs/bg"), 5000).trim().parse().unwrap();
    t.adopt(bg);
    // the exec has happened once init is `sleep`
    assert!(common::wait_until(5000, || fs::read_to_string(format!("/proc/{}/comm", ca.pid)).is_ok_and(|c| c == "sleep\n")));
    t.ok(&["kill", "--all", &a, "9"]);
    assert_eq!(wait_pid(ca.pid, 5000), End::Signaled(9));
    assert_eq!(wait_pid(bg, 5000), End::Signaled(9), "kill --all did not reach the second process");
    assert_eq!(t.status(&a), "stopped");
    t.ok(&["delete", &a]);

    // names, with and without SIG; TERM reaches `sleep` outside a pid
    // namespace (pid 1 of one would ignore it)
    for (name, sig, host_pid) in [("KILL", 9, false), ("SIGKILL", 9, false), ("TERM", 15, true), ("SIGTERM", 15, true)] {
        let id = t.id(&format!("kill{}", name.to_lowercase()));
        let mut cfg = Cfg::new(&id, &["sleep", "30"]);
        if host_pid {
            cfg = cfg.without_ns("pid");
        }
        let b = t.bundle(&id, &cfg);
        let c = t.create(&id, &b);
        t.ok(&["start", &id]);
        assert!(common::wait_until(5000, || fs::read_to_string(format!("/proc/{}/comm", c.pid)).is_ok_and(|c| c == "sleep\n")));
        t.ok(&["kill", &id, name]);
        assert_eq!(wait_pid(c.pid, 5000), End::Signaled(sig), "kill {name}");
        assert_eq!(t.status(&id), "stopped");
        t.ok(&["delete", &id]);
    }
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 8. The config is honoured.

#[test]
fn config_process_fields() {
    let mut t = rt!(Via::Runc);
    let id = t.id("proc");
    let script = "hostname; echo $FOO; pwd; id -u; id -g; id -G; grep -E '^(CapBnd|NoNewPrivs):' /proc/self/status";
    let mut cfg = Cfg::new(&id, &["sh", "-c", script]);
    cfg.hostname = Some("box-42".into());
    cfg.env.push("FOO=bar baz".into());
    cfg.cwd = "/tmp".into();
    cfg.uid = 1000;
    cfg.gid = 1000;
    cfg.gids = vec![10, 20];
    cfg.caps.retain(|c| c != "CAP_NET_RAW");
    let b = t.bundle("proc", &cfg);
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Exited(0), "stderr: {}", cr.stderr());
    let mask: u64 = cfg.caps.iter().map(|c| 1u64 << cap_bit(c)).sum();
    assert_eq!(mask, 0xa80405fb, "docker's default 0xa80425fb without NET_RAW (bit 13)");
    let want = format!("box-42\nbar baz\n/tmp\n1000\n1000\n1000 10 20\nCapBnd:\t{mask:016x}\nNoNewPrivs:\t1\n");
    assert_eq!(cr.stdout(), want, "stderr: {}", cr.stderr());
    t.ok(&["delete", &id]);
    t.assert_clean();
}

#[test]
fn config_mounts_paths_memory() {
    let mut t = rt!(Via::Runc);
    let id = t.id("mnt");
    let host = t.base.join("hostdir");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("file"), "from the host\n").unwrap();
    // the root is writable here, so /ro is read-only by readonlyPaths alone
    let script = "\
        touch /rootfile && echo root-rw; \
        cat /data/file; \
        touch /data/new 2>/dev/null && echo bind-rw || echo bind-ro; \
        echo t > /scratch/f && cat /scratch/f; \
        grep -q ' /scratch tmpfs ' /proc/mounts && echo scratch-tmpfs; \
        echo kcore=$(head -c 16 /proc/kcore | wc -c); \
        echo secret=$(cat /secret); \
        touch /ro/x 2>/dev/null && echo ro-rw || echo ro-ro; \
        sleep 30";
    let mut cfg = Cfg::new(&id, &["sh", "-c", script]);
    cfg.mounts.push(format!(r#"{{"destination":"/data","type":"bind","source":{},"options":["rbind","ro"]}}"#, js(host.to_str().unwrap())));
    cfg.mounts.push(r#"{"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["nosuid","nodev","size=1m"]}"#.into());
    cfg.masked.push("/secret".into());
    cfg.readonly_paths.push("/ro".into());
    cfg.resources = r#""memory":{"limit":33554432}"#.into();
    let b = t.bundle("mnt", &cfg);
    fs::write(b.join("rootfs/secret"), "hidden\n").unwrap();
    fs::create_dir_all(b.join("rootfs/ro")).unwrap();
    let cr = t.create(&id, &b);
    // the limit is set by create, at linux.cgroupsPath (v1 memory on this host)
    let lim = memory_limit_file(&cfg.cgroups_path).expect("no memory controller on this host");
    assert_eq!(fs::read_to_string(&lim).unwrap_or_else(|e| panic!("{lim:?}: {e}")), "33554432\n", "{lim:?}");
    t.ok(&["start", &id]);
    let want = "root-rw\nfrom the host\nbind-ro\nt\nscratch-tmpfs\nkcore=0\nsecret=\nro-ro\n";
    assert!(common::wait_until(5000, || cr.stdout() == want), "stdout: {:?} stderr: {}", cr.stdout(), cr.stderr());
    assert!(!host.join("new").exists(), "the ro bind wrote to the host");
    assert_eq!(fs::read_to_string(b.join("rootfs/secret")).unwrap(), "hidden\n");
    t.ok(&["kill", &id, "9"]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    t.ok(&["delete", &id]);
    assert!(!lim.exists(), "cgroup left: {lim:?}");
    t.assert_clean();
}

#[test]
fn config_readonly_root() {
    let mut t = rt!(Via::Runc);
    let id = t.id("roroot");
    let script = "touch /x 2>/dev/null && echo root-rw || echo root-ro; echo t > /scratch/f && cat /scratch/f";
    let mut cfg = Cfg::new(&id, &["sh", "-c", script]);
    cfg.readonly = true;
    // a tmpfs stays writable in a read-only root (its mount point is made
    // by the runtime: it is not in the image)
    cfg.mounts.push(r#"{"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["size=1m"]}"#.into());
    let b = t.bundle("roroot", &cfg);
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Exited(0), "stderr: {}", cr.stderr());
    assert_eq!(cr.stdout(), "root-ro\nt\n", "stderr: {}", cr.stderr());
    assert!(!b.join("rootfs/x").exists());
    t.ok(&["delete", &id]);
    t.assert_clean();
}

/// linux.seccomp: the config's own profile, compiled (not a built-in one):
/// an ERRNO rule by name, one on an argument's value (kill with SIGUSR1
/// only), a name this architecture lacks (skipped), ALLOW by default.
#[test]
fn seccomp_profile_from_config() {
    let mut t = rt!(Via::Runc);
    let id = t.id("seccomp");
    let script = "mkdir /tmp/d 2>/dev/null && echo mkdir-ok || echo mkdir-denied; sleep 5 & kill -USR1 $! 2>/dev/null; \
        echo usr1=$?; kill -TERM $!; echo term=$?; grep Seccomp: /proc/self/status";
    let mut cfg = Cfg::new(&id, &["sh", "-c", script]);
    cfg.linux_extra = r#","seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}]},
        {"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}]}"#
        .into();
    let b = t.bundle("seccomp", &cfg);
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Exited(0), "stderr: {}", cr.stderr());
    assert_eq!(cr.stdout(), "mkdir-denied\nusr1=1\nterm=0\nSeccomp:\t2\n", "stderr: {}", cr.stderr());
    t.ok(&["delete", &id]);
    t.assert_clean();
}

/// `tmpcopyup` (podman --read-only): a writable tmpfs over an image
/// directory, holding a copy of what the image has there; the image keeps
/// its own files untouched.
#[test]
fn tmpfs_copyup() {
    let mut t = rt!(Via::Runc);
    let id = t.id("copyup");
    let script = "cat /srv/data/a /srv/data/sub/b; readlink /srv/data/link; echo new > /srv/data/a && cat /srv/data/a; \
        grep -q ' /srv/data tmpfs ' /proc/mounts && echo tmpfs";
    let mut cfg = Cfg::new(&id, &["sh", "-c", script]);
    cfg.readonly = true;
    cfg.mounts.push(r#"{"destination":"/srv/data","type":"tmpfs","source":"tmpfs","options":["rw","rprivate","nosuid","nodev","tmpcopyup"]}"#.into());
    let b = t.bundle("copyup", &cfg);
    fs::create_dir_all(b.join("rootfs/srv/data/sub")).unwrap();
    fs::write(b.join("rootfs/srv/data/a"), "from the image\n").unwrap();
    fs::write(b.join("rootfs/srv/data/sub/b"), "deeper\n").unwrap();
    std::os::unix::fs::symlink("sub/b", b.join("rootfs/srv/data/link")).unwrap();
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Exited(0), "stderr: {}", cr.stderr());
    assert_eq!(cr.stdout(), "from the image\ndeeper\nsub/b\nnew\ntmpfs\n", "stderr: {}", cr.stderr());
    assert_eq!(fs::read_to_string(b.join("rootfs/srv/data/a")).unwrap(), "from the image\n");
    t.ok(&["delete", &id]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 9. Namespaces joined by path (the Kubernetes pod case).

#[test]
fn namespaces_joined_by_path() {
    let mut t = rt!(Via::Runc);
    let a = t.id("pod");
    let mut cfg = Cfg::new(&a, &["sleep", "30"]);
    cfg.hostname = Some("pod-a".into());
    let ba = t.bundle("pod", &cfg);
    let ca = t.create(&a, &ba);
    t.ok(&["start", &a]);

    let b = t.id("app");
    let mut cfg = Cfg::new(&b, &["sh", "-c", "for n in net ipc uts; do readlink /proc/self/ns/$n; done; hostname"]);
    cfg.hostname = None;
    cfg.namespaces = vec![
        r#"{"type":"pid"}"#.into(),
        format!(r#"{{"type":"network","path":"/proc/{}/ns/net"}}"#, ca.pid),
        format!(r#"{{"type":"ipc","path":"/proc/{}/ns/ipc"}}"#, ca.pid),
        format!(r#"{{"type":"uts","path":"/proc/{}/ns/uts"}}"#, ca.pid),
        r#"{"type":"mount"}"#.into(),
    ];
    let bb = t.bundle("app", &cfg);
    let cb = t.create(&b, &bb);
    t.ok(&["start", &b]);
    assert_eq!(wait_pid(cb.pid, 5000), End::Exited(0), "stderr: {}", cb.stderr());
    let want = format!("{}\n{}\n{}\npod-a\n", ns_link(ca.pid, "net"), ns_link(ca.pid, "ipc"), ns_link(ca.pid, "uts"));
    assert_ne!(ns_link(ca.pid, "net"), ns_link(std::process::id() as i32, "net"), "A has no network namespace of its own");
    assert_eq!(cb.stdout(), want);
    t.ok(&["delete", &b]);
    t.ok(&["kill", &a, "KILL"]);
    assert_eq!(wait_pid(ca.pid, 5000), End::Signaled(9));
    t.ok(&["delete", &a]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 10. `spec` writes a config.json a container runs from.

#[test]
fn spec_then_cycle() {
    let mut t = rt!(Via::Runc);
    let id = t.id("spec");
    let dir = t.base.join("specdir");
    fs::create_dir_all(&dir).unwrap();
    let mut c = t.cmd();
    c.current_dir(&dir);
    let o = t.rt_with(c, &["spec"]);
    assert_eq!(o.code, 0, "spec: {}", o.err);
    let text = fs::read_to_string(dir.join("config.json")).expect("spec wrote no config.json");
    let mut j = parse_json("config.json", &text);
    for k in ["ociVersion", "process", "root"] {
        assert!(j.get(k).is_some(), "config.json without {k}: {text}");
    }
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "spec wrote more than config.json");
    let mut c = t.cmd();
    c.current_dir(&dir);
    let o = t.rt_with(c, &["spec"]);
    assert_ne!(o.code, 0, "a second spec overwrote config.json");
    assert_eq!(fs::read_to_string(dir.join("config.json")).unwrap(), text, "the second spec changed config.json");

    // busybox elsewhere, root.path absolute; no terminal (no console socket)
    let rootfs = t.base.join("busybox");
    extract(&rootfs);
    *j.get_mut("root").and_then(|r| r.get_mut("path")).expect("root.path") = Json::Str(rootfs.to_str().unwrap().into());
    let p = j.get_mut("process").unwrap();
    *p.get_mut("args").expect("process.args") = Json::Arr(vec![Json::Str("sleep".into()), Json::Str("30".into())]);
    if let Some(term) = p.get_mut("terminal") {
        *term = Json::Bool(false);
    }
    let mut s = String::new();
    j.write(&mut s);
    fs::write(dir.join("config.json"), s).unwrap();
    let cr = t.create(&id, &dir);
    assert_eq!(t.status(&id), "created");
    t.ok(&["start", &id]);
    assert_eq!(t.status(&id), "running");
    t.ok(&["kill", &id, "9"]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    assert_eq!(t.status(&id), "stopped");
    t.ok(&["delete", &id]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 11. list, ps, pause, resume.

#[test]
fn list_ps_pause_resume() {
    let mut t = rt!(Via::Runc);
    let id = t.id("pause");
    let b = t.bundle("pause", &Cfg::new(&id, &["sh", "-c", "while :; do echo x >> /ticks; sleep 0.1; done"]));
    let cr = t.create(&id, &b);
    let row = |t: &Rt| -> Vec<String> {
        let l = t.ok(&["list"]);
        let row = l.lines().find(|r| r.split_whitespace().next() == Some(id.as_str())).unwrap_or_else(|| panic!("{id} not in list: {l}"));
        row.split_whitespace().take(3).map(|s| s.to_string()).collect()
    };
    assert_eq!(row(&t), [id.clone(), cr.pid.to_string(), "created".into()]);
    t.ok(&["start", &id]);
    assert_eq!(row(&t), [id.clone(), cr.pid.to_string(), "running".into()]);
    let ps = parse_json("ps --format json", &t.ok(&["ps", "--format", "json", &id]));
    let Json::Arr(pids) = &ps else { panic!("ps: not an array: {ps:?}") };
    assert!(pids.contains(&Json::Num(cr.pid as f64)), "ps: {ps:?} without init {}", cr.pid);

    let ticks = b.join("rootfs/ticks");
    let size = || fs::metadata(&ticks).map(|m| m.len()).unwrap_or(0);
    assert!(common::wait_until(5000, || size() > 0), "the loop does not run");
    t.ok(&["pause", &id]);
    assert_eq!(t.status(&id), "paused");
    assert_eq!(row(&t)[2], "paused");
    let n = size();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(size(), n, "the container runs while paused");
    t.ok(&["resume", &id]);
    assert_eq!(t.status(&id), "running");
    assert!(common::wait_until(5000, || size() > n), "the container does not run after resume");

    t.ok(&["kill", &id, "9"]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    t.ok(&["delete", &id]);
    let l = t.ok(&["list"]);
    assert!(!l.lines().any(|r| r.split_whitespace().next() == Some(id.as_str())), "deleted {id} still listed: {l}");
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 12. features: runc 1.1.5 has it; it prints (among others)
// "ociVersionMin":"1.0.0","ociVersionMax":"1.0.2-dev".

#[test]
fn features_json() {
    let t = rt!(Via::Runc);
    let o = t.rt(&["features"]);
    assert_eq!(o.code, 0, "features: {}", o.err);
    let j = parse_json("features", &o.stdout());
    assert_eq!(j.str("ociVersionMin"), Some("1.0.0"), "{j:?}");
    assert_eq!(j.str("ociVersionMax"), Some("1.0.2-dev"), "{j:?}");
    // the namespaces it knows, as a list of names
    let ns = j.get("linux").and_then(|l| l.get("namespaces"));
    let Some(Json::Arr(ns)) = ns else { panic!("no linux.namespaces: {j:?}") };
    for n in ["mount", "network", "pid", "ipc", "uts"] {
        assert!(ns.contains(&Json::Str(n.into())), "features: namespace {n} missing: {ns:?}");
    }
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 13. exec --process FILE (conmon's and the shim's way), detached and not.

/// A process.json for `exec --process`, as containerd writes it.
fn process_json(args: &[&str], env: &[&str], cwd: &str, uid: u32, gid: u32, terminal: bool) -> String {
    let caps = js_list(DEFAULT_CAPS);
    format!(
        r#"{{"terminal":{terminal},"user":{{"uid":{uid},"gid":{gid},"additionalGids":[{gid}]}},"args":{},"env":{},"cwd":{},"capabilities":{{"bounding":{caps},"effective":{caps},"permitted":{caps}}},"rlimits":[{{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}}],"noNewPrivileges":true}}"#,
        js_list(args),
        js_list(env),
        js(cwd)
    )
}

#[test]
fn exec_process_file() {
    let mut t = rt!(Via::Runc);
    let id = t.id("exec");
    let b = t.bundle("exec", &Cfg::new(&id, &["sleep", "30"]));
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    let script = "echo $X; pwd; id -u; id -g; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; exit 5";
    let pf = t.base.join("process.json");
    fs::write(&pf, process_json(&["sh", "-c", script], &["PATH=/bin:/usr/bin", "X=from exec"], "/tmp", 1000, 1000, false)).unwrap();
    let want = format!("from exec\n/tmp\n1000\n1000\n{}\n{}\n", ns_link(cr.pid, "pid"), ns_link(cr.pid, "mnt"));

    // detached: the pid file holds the process, ours to reap (subreaper)
    let epid = t.base.join("exec.pid");
    let out = t.base.join("exec.out");
    let mut c = t.cmd();
    c.args(["exec", "--process", pf.to_str().unwrap(), "--detach", "--pid-file", epid.to_str().unwrap(), &id]);
    c.stdout(fs::File::create(&out).unwrap()).stderr(fs::File::create(t.base.join("exec.err")).unwrap());
    let mut ch = c.spawn().unwrap();
    let st = wait_child(&mut ch, "exec --detach", 10_000);
    assert!(st.success(), "exec --detach: {st:?} {}", fs::read_to_string(t.base.join("exec.err")).unwrap());
    let pid: i32 = read_pid(&epid);
    t.adopt(pid);
    assert_ne!(pid, cr.pid);
    assert_eq!(wait_pid(pid, 5000), End::Exited(5));
    assert_eq!(fs::read_to_string(&out).unwrap(), want);

    // in the foreground: the runtime exits with the process's status
    let o = t.rt(&["exec", "--process", pf.to_str().unwrap(), &id]);
    assert_eq!(o.code, 5, "exec: {}", o.err);
    assert_eq!(o.stdout(), want);
    assert_eq!(t.status(&id), "running", "exec changed the container's state");

    t.ok(&["kill", &id, "9"]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    // no exec into a stopped container
    let o = t.rt(&["exec", "--process", pf.to_str().unwrap(), &id]);
    assert_ne!(o.code, 0, "exec into a stopped container succeeded");
    t.ok(&["delete", &id]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 14. --console-socket: the pty master arrives over the unix socket
// (SCM_RIGHTS); the container's stdio is the slave, its controlling tty.

/// Receives one descriptor sent with SCM_RIGHTS on a connected socket.
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() };
    let mut cbuf = [0u64; 16];
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    // SAFETY: msg points at live local buffers of the sizes it states.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the CMSG macros walk the control buffer recvmsg filled in.
    unsafe {
        let cm = libc::CMSG_FIRSTHDR(&msg);
        assert!(!cm.is_null(), "no control message on the console socket");
        assert_eq!(((*cm).cmsg_level, (*cm).cmsg_type), (libc::SOL_SOCKET, libc::SCM_RIGHTS), "not SCM_RIGHTS");
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cm) as *const libc::c_int);
        std::os::fd::OwnedFd::from_raw_fd(fd)
    }
}

/// Reads a pty master until the slave side is gone (EIO) or 5 s pass.
fn read_master(m: &std::os::fd::OwnedFd) -> String {
    use std::os::fd::AsRawFd;
    let end = Instant::now() + Duration::from_secs(5);
    let mut v = Vec::new();
    while Instant::now() < end {
        let mut p = libc::pollfd { fd: m.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd, a local.
        if unsafe { libc::poll(&mut p, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 1024];
        // SAFETY: reads into a local buffer of the stated size.
        let n = unsafe { libc::read(m.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        v.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&v).into_owned()
}

#[test]
fn console_socket_create_and_exec() {
    use std::os::unix::net::UnixListener;
    let mut t = rt!(Via::Runc);
    let id = t.id("tty");
    let b = t.bundle("tty", &Cfg::new(&id, &["sh", "-c", "tty; test -t 0 && test -t 1 && test -t 2 && echo isatty; sleep 30"]));
    let s = fs::read_to_string(b.join("config.json")).unwrap().replace("\"terminal\": false", "\"terminal\": true");
    fs::write(b.join("config.json"), s).unwrap();
    let sock = t.base.join("console.sock");
    let l = UnixListener::bind(&sock).unwrap();
    // create connects and sends the master before it exits (the listen
    // backlog holds the connection until this accepts it)
    let cr = t.create_with(t.cmd(), &id, &b, &["--console-socket", sock.to_str().unwrap()]);
    let (conn, _) = l.accept().unwrap();
    let master = recv_fd(&conn);
    t.ok(&["start", &id]);
    // the output arrives through the pty (onlcr: CR LF)
    let mut got = String::new();
    assert!(
        common::wait_until(5000, || {
            got.push_str(&read_some(&master));
            got == "/dev/pts/0\r\nisatty\r\n"
        }),
        "through the pty: {got:?}"
    );

    // exec --tty --detach --console-socket: a second pty, the same way
    let pf = t.base.join("process.json");
    fs::write(&pf, process_json(&["sh", "-c", "tty; test -t 0 && echo isatty; exit 4"], &["PATH=/bin"], "/", 0, 0, true)).unwrap();
    let epid = t.base.join("exec.pid");
    let o = t.rt(&[
        "exec",
        "--process",
        pf.to_str().unwrap(),
        "--detach",
        "--tty",
        "--console-socket",
        sock.to_str().unwrap(),
        "--pid-file",
        epid.to_str().unwrap(),
        &id,
    ]);
    assert_eq!(o.code, 0, "exec --tty: {}", o.err);
    let (conn2, _) = l.accept().unwrap();
    let m2 = recv_fd(&conn2);
    let pid: i32 = read_pid(&epid);
    t.adopt(pid);
    assert_eq!(wait_pid(pid, 5000), End::Exited(4));
    assert_eq!(read_master(&m2), "/dev/pts/1\r\nisatty\r\n");

    t.ok(&["kill", &id, "9"]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    t.ok(&["delete", &id]);
    t.assert_clean();
}

/// What a pty master has to read now (waits up to 100 ms for something).
fn read_some(m: &std::os::fd::OwnedFd) -> String {
    use std::os::fd::AsRawFd;
    let mut p = libc::pollfd { fd: m.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd, a local.
    if unsafe { libc::poll(&mut p, 1, 100) } <= 0 || p.revents & libc::POLLIN == 0 {
        return String::new();
    }
    let mut buf = [0u8; 1024];
    // SAFETY: reads into a local buffer of the stated size.
    let n = unsafe { libc::read(m.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned()
}

// ---------------------------------------------------------------------------
// 15. update --resources FILE (podman) and `-` on stdin (containerd's CRI).

#[test]
fn update_resources() {
    let mut t = rt!(Via::Runc);
    let id = t.id("update");
    let mut cfg = Cfg::new(&id, &["sleep", "30"]);
    cfg.resources = r#""memory":{"limit":33554432}"#.into();
    let b = t.bundle("update", &cfg);
    let cr = t.create(&id, &b);
    t.ok(&["start", &id]);
    let lim = memory_limit_file(&cfg.cgroups_path).expect("no memory controller on this host");
    let read = || fs::read_to_string(&lim).unwrap_or_else(|e| panic!("{lim:?}: {e}"));
    assert_eq!(read(), "33554432\n");
    // podman's file: limit and swap (2x)
    let f = t.base.join("resources.json");
    fs::write(&f, r#"{"memory":{"limit":67108864,"swap":134217728}}"#).unwrap();
    t.ok(&["update", &format!("--resources={}", f.to_str().unwrap()), &id]);
    assert_eq!(read(), "67108864\n");
    // the shim's: JSON on stdin
    fs::write(&f, r#"{"memory":{"limit":50331648,"swap":100663296}}"#).unwrap();
    let mut c = t.cmd();
    c.stdin(fs::File::open(&f).unwrap());
    let o = t.rt_with(c, &["update", "--resources", "-", &id]);
    assert_eq!(o.code, 0, "update --resources -: {}", o.err);
    assert_eq!(read(), "50331648\n");
    assert_eq!(t.status(&id), "running");
    t.ok(&["kill", &id, "9"]);
    assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
    t.ok(&["delete", &id]);
    t.assert_clean();
}

// ---------------------------------------------------------------------------
// 16. --systemd-cgroup (containerd's SystemdCgroup, cgroupsPath
// slice:prefix:name). Issue 11 allows either: map it to cgroupfs, or, with
// no systemd (this host), fail saying so. runc 1.1.5 fails: "systemd not
// running on this host, cannot use systemd cgroups manager".

#[test]
fn systemd_cgroup_flag() {
    let mut t = rt!(Via::Runc);
    let id = t.id("systemd");
    let mut cfg = Cfg::new(&id, &["sleep", "30"]);
    cfg.cgroups_path = format!("system.slice:{CG_PARENT}:{id}");
    let b = t.bundle("systemd", &cfg);
    // the slice's directories a runtime makes on cgroupfs, removed if this
    // test made them (runc keeps the parents of cgroupsPath, as it does)
    let fresh: Vec<PathBuf> = cgroup_mounts().into_iter().map(|m| m.join("system.slice")).filter(|d| !d.exists()).collect();
    let mut c = t.cmd();
    c.arg("--systemd-cgroup");
    let (o, cr) = t.try_create(c, &id, &b, &[]);
    if o.code != 0 {
        assert!(o.err.contains("systemd"), "the failure does not say why: {}", o.err);
        t.ok(&["delete", "--force", &id]);
    } else {
        // mapped to cgroupfs: the container is in a cgroup of its own
        assert!(!t.cgroups.is_empty(), "init {} is in no cgroup of its own", cr.pid);
        t.ok(&["start", &id]);
        assert_eq!(t.status(&id), "running");
        t.ok(&["kill", &id, "9"]);
        assert_eq!(wait_pid(cr.pid, 5000), End::Signaled(9));
        t.ok(&["delete", &id]);
    }
    for m in cgroup_mounts() {
        assert!(!m.join("system.slice").join(format!("{CG_PARENT}-{id}.scope")).exists());
    }
    t.assert_clean();
    for d in fresh {
        let _ = fs::remove_dir(d);
    }
}

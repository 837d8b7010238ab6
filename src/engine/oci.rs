//! The OCI runtime (runc's command line, issue 11) on the engine: a
//! bundle's config.json becomes the record and spec that `run` builds from
//! an image (the same init, confinement and cgroups), with the bundle's
//! root used in place. `create` leaves the container's first process
//! waiting on an exec fifo and exits; the engine that called it (conmon,
//! containerd's shim) adopts that process and collects its exit status.
//! `start` opens the fifo, which releases it.
//!
//! State, under `--root`: `containers/ID/` with the record (`config`), the
//! fifo (`exec.fifo`, there until the container is started) and `oci`, the
//! fixed members of the OCI state (bundle, rootfs, created, annotations).

use crate::engine::cgroup::{Cgroup, Kind, Layout};
use crate::engine::config::{self, Device, Volume};
use crate::engine::devices;
use crate::engine::init::Stdio;
use crate::engine::json::{self, J};
use crate::engine::spec::Node;
use crate::engine::spec::Spec;
use crate::engine::state::{self, Record, Root, Status};
use crate::engine::util::{self, fields, join, Buf, Ctx, Error, Msg, Res};
use crate::sys;
use alloc::vec::Vec;

/// What `create` takes from a bundle: the record and spec, and more.
#[derive(Default)]
struct Bundle {
    rec: Record,
    spec: Spec,
    /// The cgroups' path under each hierarchy.
    rel: Vec<u8>,
    /// The members of the state that never change, as JSON text.
    fixed: Vec<u8>,
    oom: Option<i64>,
}

/// The namespaces, in the order of their CLONE_NEW* bits: type k is
/// `1 << (25 + k)` (but mount's). user (3) and time: not supported.
const NS_TYPES: Msg = m!("cgroup,uts,ipc,user,pid,network,mount");
const _: () = assert!(
    sys::CLONE_NEWCGROUP == 1 << 25
        && sys::CLONE_NEWUTS == 1 << 26
        && sys::CLONE_NEWIPC == 1 << 27
        && sys::CLONE_NEWPID == 1 << 29
        && sys::CLONE_NEWNET == 1 << 30
);
const RLIMITS: Msg = m!("CPU,FSIZE,DATA,STACK,CORE,RSS,NPROC,NOFILE,MEMLOCK,AS,LOCKS,SIGPENDING,MSGQUEUE,NICE,RTPRIO,RTTIME");

/// The member names of config.json (and process.json, update's file)
/// that are looked up, in one list: a lookup passes a member's index in it
/// (`k!`), one byte, not a pointer and a length. Names read in a loop
/// (capability sets, paths, mappings, device numbers, limits) are next to
/// each other.
const KEYS: &[u8] = b"bounding,effective,ambient,permitted,inheritable,maskedPaths,readonlyPaths,uidMappings,gidMappings,major,minor,soft,hard,\
args,env,cwd,terminal,user,uid,gid,additionalGids,umask,capabilities,rlimits,type,noNewPrivileges,oomScoreAdj,\
process,root,path,readonly,hostname,mounts,destination,options,source,linux,namespaces,resources,cgroupsPath,seccomp,sysctl,devices,\
allow,access,annotations,memory,limit,cpu,quota,period,shares,cpus,pids,\
defaultErrnoRet,defaultAction,syscalls,action,errnoRet,index,value,valueTwo,op,names";
/// KEYS, kept with the message texts: the table `key` reads at compile
/// time is not in the binary.
const KEYS_M: Msg = m!("bounding,effective,ambient,permitted,inheritable,maskedPaths,readonlyPaths,uidMappings,gidMappings,major,minor,soft,hard,args,env,cwd,terminal,user,uid,gid,additionalGids,umask,capabilities,rlimits,type,noNewPrivileges,oomScoreAdj,process,root,path,readonly,hostname,mounts,destination,options,source,linux,namespaces,resources,cgroupsPath,seccomp,sysctl,devices,allow,access,annotations,memory,limit,cpu,quota,period,shares,cpus,pids,defaultErrnoRet,defaultAction,syscalls,action,errnoRet,index,value,valueTwo,op,names");
const K_CAPS: u8 = 0;
const K_PATHS: u8 = 5;
const K_MAPPINGS: u8 = 7;
const K_MAJOR: u8 = 9;
const K_SOFT: u8 = 11;

/// The index of `name` in KEYS (at compile time: a name missing from it
/// fails the build).
const fn key(name: &str) -> u8 {
    let (n, mut i, mut w) = (name.as_bytes(), 0, 0);
    while i < KEYS.len() {
        let mut j = 0;
        while j < n.len() && i + j < KEYS.len() && KEYS[i + j] == n[j] {
            j += 1;
        }
        if j == n.len() && (i + j == KEYS.len() || KEYS[i + j] == b',') {
            return w;
        }
        while i < KEYS.len() && KEYS[i] != b',' {
            i += 1;
        }
        i += 1;
        w += 1;
    }
    panic!("oci: a member name missing from KEYS")
}
macro_rules! k {
    ($n:literal) => {
        const { key($n) }
    };
}

/// The member `key` (an index in KEYS) of `j`, null when absent (one
/// out-of-line copy of the walk for all the lookups here).
#[inline(never)]
fn at(j: J, key: u8) -> J {
    j.get(util::nth_word(util::msg_text(KEYS_M), key as usize)).unwrap_or(J::NULL)
}

/// The string `j`; empty when not a string.
#[inline(never)]
fn string(j: J) -> Vec<u8> {
    j.str().unwrap_or_default()
}

/// The string member `key` of `j`; empty when absent or not a string.
#[inline(never)]
fn s(j: J, key: u8) -> Vec<u8> {
    string(at(j, key))
}

/// The string-array member `key` of `j`; empty when absent or not one.
#[inline(never)]
fn ss(j: J, key: u8) -> Vec<Vec<u8>> {
    at(j, key).strs().unwrap_or_default()
}

/// A number member, `dflt` when absent or not an integer (u64 range).
#[inline(never)]
fn unum(j: J, key: u8, dflt: u64) -> u64 {
    util::parse_u64(at(j, key).raw()).unwrap_or(dflt)
}

/// A number member above 0 (else None).
fn positive(j: J, key: u8) -> Option<u64> {
    Some(unum(j, key, 0)).filter(|&n| n > 0)
}

fn is_true(j: J, key: u8) -> bool {
    at(j, key).raw() == b"true"
}

fn absolute(p: &[u8]) -> bool {
    p.first() == Some(&b'/')
}

/// A path of the config: relative ones are in the bundle.
fn in_bundle(bundle: &[u8], p: Vec<u8>) -> Vec<u8> {
    if absolute(&p) {
        p
    } else {
        join(bundle, &p)
    }
}

/// The JSON document in the file `f` (`-`: stdin), read into `text`.
#[inline(never)]
fn read_json<'a>(f: &[u8], text: &'a mut Vec<u8>) -> Res<J<'a>> {
    let r = if f == b"-" { sys::read_to_end(0, text) } else { util::read_file(f).map(|t| *text = t) };
    r.ctx(m!("read"), f)?;
    json::parse(text).ok_or_else(|| Error::at(f, m!("not valid JSON")))
}

const CAPS_UNSUPPORTED: Msg =
    m!("process.capabilities: supported: root with the bounding set effective and permitted (and ambient, or none); another user without ambient ones");

/// A process (config.json's, or exec's process.json) onto `rec` and
/// `spec`: args, env, cwd, terminal, user, capabilities, rlimits,
/// noNewPrivileges; returns its oomScoreAdj.
#[inline(never)]
#[allow(clippy::needless_range_loop)] // (enumerate: more code)
fn process(p: J, rec: &mut Record, spec: &mut Spec) -> Res<Option<i64>> {
    let sec = &mut spec.security;
    rec.argv = ss(p, k!("args"));
    if rec.argv.is_empty() {
        return Err(Error::text(m!("process.args: must be a non-empty array of strings")));
    }
    rec.env = ss(p, k!("env"));
    rec.workdir = s(p, k!("cwd"));
    if rec.workdir.is_empty() {
        rec.workdir.push(b'/');
    }
    if !absolute(&rec.workdir) {
        return Err(Error::text(m!("process.cwd: must be an absolute path")));
    }
    spec.tty = is_true(p, k!("terminal"));
    let u = at(p, k!("user"));
    let (uid, gid) = (unum(u, k!("uid"), 0), unum(u, k!("gid"), 0));
    let mut user = Buf::new();
    user.n(uid).b(b":").n(gid);
    sec.user = user.0;
    // exactly additionalGids (the gid is not added, as runc)
    let mut groups = Vec::new();
    for g in at(u, k!("additionalGids")).items() {
        groups.push(g.num().unwrap_or(0) as u32);
    }
    spec.groups = Some(groups);
    if unum(u, k!("umask"), 0o022) != 0o022 {
        return Err(Error::text(m!("process.user.umask: only 0022 is supported")));
    }
    // The capability sets as masks (absent: none).
    let c = at(p, k!("capabilities"));
    let mut m = [0u64; 5];
    for i in 0..5 {
        for n in at(c, K_CAPS + i as u8).items() {
            m[i] |= config::cap_bits(&string(n))?;
        }
    }
    let [b, e, a, pm, inh] = m;
    // What the engine gives: root has the bounding set (ambient and
    // inheritable add nothing for root); another user has none after its
    // exec, which is also what runc's effective and permitted sets come
    // to without ambient ones.
    sec.caps = b;
    let ok = if uid == 0 { e == b && (a == 0 || a == e) } else { a == 0 };
    if !ok || e != pm || inh & !b != 0 {
        return Err(Error::text(CAPS_UNSUPPORTED));
    }
    for r in at(p, k!("rlimits")).items() {
        let t = s(r, k!("type"));
        let k = t
            .strip_prefix(b"RLIMIT_")
            .and_then(|n| util::msg_index(RLIMITS, n))
            .ok_or_else(|| Error::quoted(m!("process.rlimits"), &t, m!("unknown limit")))?;
        spec.rlimits.push([k as u64, unum(r, K_SOFT, 0), unum(r, K_SOFT + 1, 0)]);
    }
    sec.no_new_privs = is_true(p, k!("noNewPrivileges"));
    Ok(at(p, k!("oomScoreAdj")).num())
}

/// config.json onto the engine. Every field the engines send is honoured
/// or refused with a message; unknown fields are ignored.
#[inline(never)]
fn load_bundle(b: &mut Bundle, bundle: &[u8], id: &[u8], systemd: bool) -> Res<()> {
    let mut text = Vec::new();
    let j = read_json(&join(bundle, b"config.json"), &mut text)?;
    // (filled in place: a record and spec moved into a returned bundle
    // were copied whole)
    let (rec, spec) = (&mut b.rec, &mut b.spec);
    // No cgroup namespace or cgroupfs unless the config has one of them.
    spec.share = sys::CLONE_NEWCGROUP;
    b.oom = process(at(j, k!("process")), rec, spec)?;
    let sec = &mut spec.security;

    let r = at(j, k!("root"));
    let rootfs = s(r, k!("path"));
    if rootfs.is_empty() {
        return Err(Error::text(m!("root.path: missing")));
    }
    let rootfs = in_bundle(bundle, rootfs);
    sec.read_only = is_true(r, k!("readonly"));
    rec.hostname = s(j, k!("hostname"));

    for m in at(j, k!("mounts")).items() {
        let dest = s(m, k!("destination"));
        if !absolute(&dest) {
            return Err(Error::quoted(m!("mounts"), &dest, m!("the destination must be an absolute path")));
        }
        // The options: bind, rbind, ro and tmpcopyup as bits; a tmpfs
        // gets the others but for atime and propagation words (the
        // engine's mounts are private).
        let mut t = dest.clone();
        t.push(b':');
        let mut bits = 0;
        for o in ss(m, k!("options")) {
            let k = util::msg_index(m!("bind,rbind,ro,tmpcopyup,strictatime,relatime,noatime,rprivate,private,rslave,slave"), &o);
            if let Some(k) = k {
                bits |= 1 << k;
            }
            if k.unwrap_or(0) < 3 {
                t.extend_from_slice(&o);
                t.push(b',');
            }
        }
        let mut key = s(m, k!("type"));
        if key == b"bind" || bits & 3 != 0 {
            rec.volumes.push(Volume { host: in_bundle(bundle, s(m, k!("source"))), ctr: dest, ro: bits & 4 != 0 });
            continue;
        }
        // The filesystems the engine mounts itself, its own way.
        key.push(b' ');
        key.extend_from_slice(&dest);
        match util::msg_index(m!("proc /proc,sysfs /sys,tmpfs /dev,devpts /dev/pts,cgroup /sys/fs/cgroup,cgroup2 /sys/fs/cgroup,mqueue /dev/mqueue"), &key) {
            Some(6) => spec.mqueue = true,
            // sysfs without "ro" (podman --privileged): read-write
            Some(1) => spec.sys_rw = bits & 4 == 0,
            // (a cgroup filesystem: the engine's, in a cgroup namespace)
            Some(4 | 5) => spec.share &= !sys::CLONE_NEWCGROUP,
            Some(_) => {}
            None if key.starts_with(b"tmpfs ") => {
                if bits & 8 != 0 {
                    spec.copyup.push(dest);
                }
                sec.tmpfs.push(t);
            }
            None => return Err(Error::quoted(m!("mounts"), &key, m!("this type is not supported"))),
        }
    }

    let l = at(j, k!("linux"));
    let mut have = 0u32;
    let mut net: &[u8] = b"host";
    for n in at(l, k!("namespaces")).items() {
        let t = s(n, k!("type"));
        let k = util::msg_index(NS_TYPES, &t).filter(|&k| k != 3).ok_or_else(|| Error::quoted(m!("linux.namespaces"), &t, m!("not supported")))?;
        have |= 1 << k;
        if k == 0 {
            spec.share &= !sys::CLONE_NEWCGROUP;
        }
        let p = s(n, k!("path"));
        if p.is_empty() {
            if k == 5 {
                net = b"none";
            }
        } else if matches!(k, 1 | 2 | 5) {
            // uts, ipc, network
            spec.joins.push((1 << (25 + k), p));
        } else {
            return Err(Error::quoted(m!("linux.namespaces"), &t, m!("joining one by path is not supported")));
        }
    }
    spec.net = net.to_vec();
    // A mount namespace always; pid, ipc and uts may be the host's.
    if have & 1 << 6 == 0 || have & 2 == 0 && !rec.hostname.is_empty() {
        return Err(Error::text(m!("linux.namespaces: a mount namespace is required, and a uts one for a hostname")));
    }
    // (the missing ones of uts, ipc and pid: their CLONE_NEW* bits)
    spec.share |= ((!have & 0b1_0110) << 25) as i32;
    resources(at(l, k!("resources")), &mut rec.limits);
    // systemd's `slice:prefix:name`, as cgroupfs paths: slice/prefix-name.scope
    let p = s(l, k!("cgroupsPath"));
    b.rel = if p.is_empty() {
        join(b"mydocker", id)
    } else if systemd && p.contains(&b':') {
        let (mut v, mut n) = (Vec::new(), 0);
        for &c in &p {
            if c == b':' {
                n += 1;
                if n > 2 {
                    break;
                }
                v.push(if n == 1 { b'/' } else { b'-' });
            } else {
                v.push(c);
            }
        }
        if n == 1 {
            v.push(b'-');
        }
        v.extend_from_slice(b".scope");
        v
    } else {
        p.strip_prefix(b"/").unwrap_or(&p).to_vec()
    };
    // Masked, then read-only paths; none given: none applied.
    let mut paths = Vec::new();
    for k in K_PATHS..K_PATHS + 2 {
        for x in ss(l, k) {
            if !absolute(&x) || x.contains(&b' ') {
                return Err(Error::quoted(m!("linux.maskedPaths/readonlyPaths"), &x, m!("must be absolute, without spaces")));
            }
            paths.extend_from_slice(&x);
            paths.push(b' ');
        }
        if k == K_PATHS {
            // (after maskedPaths)
            paths.extend_from_slice(b"| ");
        }
    }
    sec.paths = paths;
    // The config's own profile, compiled; none: no filter (as runc).
    sec.seccomp = false;
    let sc = at(l, k!("seccomp"));
    if !sc.is_null() {
        sec.filter = filter(sc)?;
    }
    // The namespaced sysctls (as runc allows them), written in the
    // container's namespaces by its init.
    for (k, v) in at(l, k!("sysctl")).members() {
        let mut ok = false;
        for p in fields(util::msg_text(m!("net.,kernel.shm,kernel.msg,kernel.sem,fs.mqueue.,kernel.domainname,kernel.hostname")), b',') {
            ok |= k.starts_with(p);
        }
        if !ok || k.contains(&b'/') {
            return Err(Error::quoted(m!("linux.sysctl"), &k, m!("not a namespaced sysctl")));
        }
        spec.sysctl.push((k, string(v)));
    }
    // linux.devices: nodes made in /dev (a device's rule comes from
    // resources.devices, as the engines send them: runc's way).
    for d in at(l, k!("devices")).items() {
        let path = s(d, k!("path"));
        let t = s(d, k!("type"));
        let kind = match t.as_slice() {
            b"c" | b"u" => sys::S_IFCHR,
            b"b" => sys::S_IFBLK,
            _ => return Err(Error::quoted(m!("linux.devices"), &path, m!("only c and b devices are supported"))),
        };
        if path.first() != Some(&b'/') {
            return Err(Error::quoted(m!("linux.devices"), &path, m!("must be absolute, without spaces")));
        }
        let n = |k| unum(d, k, 0) as u32;
        spec.nodes.push(Node { kind, major: n(K_MAJOR), minor: n(K_MAJOR + 1) });
        spec.security.devices.push(Device { host: Vec::new(), ctr: path, perms: Vec::new() });
    }
    // resources.devices: the allow rules over the engine's deny-all base
    // (which allows docker's default nodes, as runc allows its own);
    // allow-all without a type or numbers: every device.
    for r in at(at(l, k!("resources")), k!("devices")).items() {
        if !is_true(r, k!("allow")) {
            continue;
        }
        let mut t = s(r, k!("type"));
        if t.is_empty() {
            t.push(b'a');
        }
        let (maj, min) = (at(r, k!("major")), at(r, k!("minor")));
        // (an absent number is null, not a number: -1, any)
        let access = devices::parse_access(&s(r, k!("access"))).filter(|&a| a != 0).unwrap_or(devices::RWM);
        let d = &mut rec.limits.devices;
        if t == b"a" && maj.is_null() && min.is_null() {
            d.privileged = true;
        } else {
            d.extra.push(devices::Rule { kind: t.first().copied().unwrap_or(b'a'), major: maj.num().unwrap_or(-1), minor: min.num().unwrap_or(-1), access });
        }
    }
    for k in K_MAPPINGS..K_MAPPINGS + 2 {
        let v = at(l, k);
        if !v.is_null() && v.raw().len() > 2 {
            return Err(Error::at(util::nth_word(util::msg_text(KEYS_M), k as usize), m!("not supported yet")));
        }
    }

    let mut f = Buf::new();
    json::tpl_m(&mut f, m!("\"bundle\":\x07,\"rootfs\":\x07,\"created\":\"\x02\""), 0, &[bundle, &rootfs, &util::rfc3339(sys::now().0)], &[], &[]);
    let a = at(j, k!("annotations"));
    if !a.is_null() {
        f.b(b",\"annotations\":").b(a.raw());
    }
    b.fixed = f.0;
    spec.lower = rootfs.clone();
    spec.upper = rootfs;
    rec.image = bundle.to_vec();
    Ok(())
}

/// `data` written to the file `path` (atomically: a new file renamed).
#[inline(never)]
pub fn put(path: &[u8], data: &[u8]) -> Res<()> {
    util::write_atomic(path, data).ctx(m!("write"), path)
}

/// The state directory of the container `id`.
fn dir_of(root: &Root, id: &[u8]) -> Vec<u8> {
    join(&root.containers_in(false), id)
}

/// Its exec fifo, there until the container is started.
#[inline(never)]
fn fifo_of(root: &Root, id: &[u8]) -> Vec<u8> {
    join(&dir_of(root, id), b"exec.fifo")
}

/// `create --bundle DIR [--pid-file FILE] ID`: everything made, the first
/// process waiting for `start`.
#[inline(never)]
pub fn create(root: &Root, id: &[u8], bundle: &[u8], pid_file: Option<&[u8]>, console: Option<&[u8]>, preserve: i32, systemd: bool) -> Res<()> {
    config::validate_name(id)?;
    let dir = dir_of(root, id);
    let c = root.containers_in(false);
    util::mkdir_all(&c, 0o711).ctx(m!("create"), &c)?;
    match sys::mkdir(&dir, 0o711) {
        Err(sys::EEXIST) => return Err(container_err(id, m!("already exists"))),
        r => r.ctx(m!("create"), &dir)?,
    }
    let mut b = Bundle::default();
    let r = (|| {
        load_bundle(&mut b, bundle, id, systemd)?;
        let rec = &mut b.rec;
        rec.id = id.to_vec();
        rec.created = sys::now().0;
        if b.spec.tty {
            // (the pty is made in the container: init's first stdio is not one)
            b.spec.console = console.ok_or_else(|| Error::text(m!("process.terminal: needs --console-socket")))?.to_vec();
            b.spec.tty = false;
        }
        let fifo = fifo_of(root, id);
        // Writable by the container's user, whoever that is (as runc's).
        sys::umask(0);
        sys::mkfifo(&fifo, 0o622).ctx(m!("create"), &fifo)?;
        b.spec.gate = fifo;
        b.spec.preserve = preserve;
        let layout = Layout::current_or_mount();
        let mut cg = Cgroup::plan(&layout, &b.rel, &rec.limits)?;
        cg.everywhere(&layout, &b.rel);
        if cg.devices == Some(crate::engine::devices::Mechanism::NoCgroup) {
            b.spec.security.caps &= !(1 << config::CAP_MKNOD);
        }
        rec.cgroups = cg.dirs();
        put(&join(&dir, b"oci"), &b.fixed)?;
        rec.save(root)?;
        cg.make(Kind::V2, &rec.limits)?;
        if let Some(o) = b.oom {
            // Ours, inherited by the container's first process (create
            // exits once it is made).
            const ADJ: &[u8] = b"/proc/self/oom_score_adj";
            util::write_file(ADJ, &Buf::new().i(o).0).ctx(m!("write"), ADJ)?;
        }
        let pid = crate::engine::container::launch(rec, &b.spec, &cg, &Stdio { stdin: 0, stdout: 1, stderr: 2 }, None)?;
        let done = (|| {
            rec.pid_start = state::proc_start_time(pid).unwrap_or(0);
            rec.append(root, 0, &[pid as i64, rec.pid_start as i64], Status::Created)?;
            match pid_file {
                Some(f) => put(f, &util::num(pid as u64)),
                None => Ok(()),
            }
        })();
        if done.is_err() {
            let _ = sys::kill(pid, sys::SIGKILL);
            let _ = sys::waitpid(pid, 0);
        }
        done
    })();
    if r.is_err() {
        util::keep_error(|| {
            // (the cgroups are recorded before any is made)
            Cgroup::from_dirs(&b.rec.cgroups).remove();
            let _ = util::remove_tree(&dir);
        });
    }
    r
}

/// "container ID: why".
#[inline(never)]
fn container_err(id: &[u8], why: Msg) -> Error {
    Error::quoted(m!("container"), id, why)
}

/// The container `id`'s record, or runc's "does not exist".
/// (boxed: callers' frames hold a pointer, not a record with far offsets)
pub fn find(root: &Root, id: &[u8]) -> Res<alloc::boxed::Box<Record>> {
    state::load(root, id).map(alloc::boxed::Box::new).ok_or_else(|| container_err(id, m!("does not exist")).of(util::Kind::NoSuch))
}

/// The name of state `st`, as `status` numbers them.
fn state_name(st: usize) -> &'static [u8] {
    util::nth_word(util::msg_text(m!("created,running,paused,stopped")), st)
}
const CREATED: usize = 0;
const STOPPED: usize = 3;

/// created (waiting on its fifo), running, paused, or stopped: 0..=3
/// (see state_name).
#[inline(never)]
fn status(root: &Root, r: &Record) -> usize {
    if !r.alive() {
        STOPPED
    } else if sys::lstat(&fifo_of(root, &r.id)).is_ok() {
        CREATED
    } else if freezer(r).is_some_and(|(k, w)| reads(&k, util::nth_word(w, 0))) {
        2
    } else {
        1
    }
}

/// The pid shown for a container in state `st`: 0 once stopped.
fn shown_pid(r: &Record, st: usize) -> u64 {
    if st == STOPPED {
        0
    } else {
        r.pid as u64
    }
}

/// Refuses a container that is not running.
fn running(r: &Record) -> Res<()> {
    if r.alive() {
        Ok(())
    } else {
        Err(container_err(&r.id, m!("is not running")))
    }
}

/// The container's freezer: the v1 one's `freezer.state`, or the v2
/// `cgroup.freeze`; with the words that freeze and thaw it.
fn freezer(r: &Record) -> Option<(Vec<u8>, &'static [u8])> {
    let mut v2 = None;
    for d in &r.cgroups {
        if d.windows(9).any(|w| w == b"/freezer/") {
            return Some((join(d, b"freezer.state"), b"FROZEN,THAWED"));
        }
        let f = join(d, b"cgroup.freeze");
        if sys::lstat(&f).is_ok() {
            v2 = Some((f, &b"1,0"[..]));
        }
    }
    v2
}

/// Whether the freezer's file `knob` reads `w` (FROZEN, 1...).
#[inline(never)]
fn reads(knob: &[u8], w: &[u8]) -> bool {
    util::read_file(knob).is_ok_and(|v| v.starts_with(w))
}

/// `pause ID` (`on`) and `resume ID`.
pub fn pause(r: &Record, on: bool) -> Res<()> {
    running(r)?;
    let (knob, words) = freezer(r).ok_or_else(|| container_err(&r.id, m!("has no freezer cgroup")))?;
    let w = util::nth_word(words, !on as usize);
    util::write_file(&knob, w).ctx(m!("write"), &knob)?;
    // v1 freezes in the background: wait until it is done.
    for _ in 0..500 {
        if reads(&knob, w) {
            break;
        }
        sys::sleep_ms(2);
    }
    Ok(())
}

/// `update --resources FILE ID` (`-`: stdin): the limits of
/// linux.resources' shape.
pub fn update(r: &Record, f: &[u8]) -> Res<()> {
    let mut text = Vec::new();
    let j = read_json(f, &mut text)?;
    let mut l = config::Limits::default();
    resources(j, &mut l);
    Cgroup::update(&r.cgroups, &l)
}

/// linux.resources (and `update`'s file) onto limits.
fn resources(res: J, lim: &mut config::Limits) {
    lim.memory = positive(at(res, k!("memory")), k!("limit"));
    let cpu = at(res, k!("cpu"));
    if let (Some(q), Some(per)) = (positive(cpu, k!("quota")), positive(cpu, k!("period"))) {
        lim.cpu_quota = Some(q * 100_000 / per);
    }
    lim.cpu_shares = positive(cpu, k!("shares"));
    lim.cpuset_cpus = Some(s(cpu, k!("cpus"))).filter(|c| !c.is_empty());
    lim.pids = positive(at(res, k!("pids")), k!("limit"));
}

/// `start ID`: opens the fifo (the waiting process's open for writing
/// then returns), reads its byte, and removes the fifo.
#[inline(never)]
pub fn start(root: &Root, r: &Record) -> Res<()> {
    let st = status(root, r);
    if st != CREATED {
        return Err(container_err(&r.id, m!("cannot be started: it is not created (")).append(state_name(st)).more(m!(")")));
    }
    let fifo = fifo_of(root, &r.id);
    let fd = sys::open(&fifo, sys::O_RDONLY | sys::O_NONBLOCK, 0).ctx(m!("open"), &fifo)?;
    let mut p = [sys::pollfd(fd.raw(), libc::POLLIN)];
    let mut b = [0u8; 1];
    let _ = sys::poll(&mut p, 10_000);
    if sys::read(fd.raw(), &mut b) != Ok(1) {
        return Err(container_err(&r.id, m!("exited before it could start")));
    }
    let _ = sys::unlinkat(sys::AT_FDCWD, &fifo, 0);
    r.append(root, 3, &[sys::now().0], Status::Running)
}

/// `state ID`: runc's JSON, and a newline.
pub fn state(root: &Root, r: &Record) -> Vec<u8> {
    let st = status(root, r);
    let mut b = Buf::new();
    let fixed = util::read_file(&join(&dir_of(root, &r.id), b"oci")).unwrap_or_default();
    let t = m!("{\"ociVersion\":\"1.0.2-dev\",\"id\":\x07,\"pid\":\x03,\"status\":\"\x02\",\x02,\"owner\":\"\"}\n");
    json::tpl_m(&mut b, t, 0, &[&r.id, state_name(st), &fixed], &[shown_pid(r, st) as i64], &[]);
    b.0
}

/// The pids in the container's cgroups.
#[allow(clippy::manual_contains)] // (slice::contains: an unrolled search, 80 bytes more)
fn pids(r: &Record) -> Vec<i32> {
    let mut v = Vec::new();
    for d in &r.cgroups {
        for l in fields(&util::read_file(&join(d, b"cgroup.procs")).unwrap_or_default(), b'\n') {
            if let Some(n) = util::parse_u64(l) {
                if !v.iter().any(|&p| p == n as i32) {
                    v.push(n as i32);
                }
            }
        }
    }
    v
}

/// `ps --format json ID`: the pids, as a JSON array.
pub fn ps(r: &Record) -> Vec<u8> {
    let mut b = Buf::new();
    b.b(b"[");
    for p in pids(r) {
        b.n(p as u64).b(b",");
    }
    if b.0.len() > 1 {
        b.0.pop();
    }
    b.b(b"]\n");
    b.0
}

const SIGNALS: Msg =
    m!("HUP,INT,QUIT,ILL,TRAP,ABRT,BUS,FPE,KILL,USR1,SEGV,USR2,PIPE,ALRM,TERM,STKFLT,CHLD,CONT,STOP,TSTP,TTIN,TTOU,URG,XCPU,XFSZ,VTALRM,PROF,WINCH,IO,PWR,SYS");

/// A signal by number or name (`KILL`, `SIGKILL`, any case).
pub fn signal(s: &[u8]) -> Res<i32> {
    if let Some(n) = util::parse_u64(s).filter(|&n| (1..65).contains(&n)) {
        return Ok(n as i32);
    }
    let up = s.to_ascii_uppercase();
    match util::msg_index(SIGNALS, up.strip_prefix(b"SIG").unwrap_or(&up)) {
        Some(i) => Ok(i as i32 + 1),
        None => Err(Error::quoted(m!("signal"), s, m!("unknown"))),
    }
}

/// `kill [--all] ID [SIGNAL]`.
pub fn kill(r: &Record, sig: i32, all: bool) -> Res<()> {
    running(r)?;
    let targets = if all { pids(r) } else { alloc::vec![r.pid] };
    for p in targets {
        // (--all: a process gone meanwhile is no error; SIGKILL to the
        // container's init takes the others with it)
        match sys::kill(p, sig) {
            Err(libc::ESRCH) if all => {}
            k => k.ctx(m!("kill"), &r.id)?,
        }
    }
    Ok(())
}

/// `delete [--force] ID`: a created container is killed; a running one
/// only with `force`. With `force`, an unknown id is no error (containerd
/// deletes twice).
pub fn delete(root: &Root, id: &[u8], force: bool) -> Res<()> {
    let r = match find(root, id) {
        Err(_) if force => return Ok(()),
        r => r?,
    };
    if r.alive() {
        if !force && status(root, &r) == 1 {
            return Err(container_err(id, m!("is running: stop it first, or use --force")));
        }
        let _ = sys::kill(r.pid, sys::SIGKILL);
        for _ in 0..500 {
            if !r.alive() {
                break;
            }
            sys::sleep_ms(2);
        }
    }
    Cgroup::from_dirs(&r.cgroups).remove();
    let d = dir_of(root, id);
    util::remove_tree(&d).ctx(m!("remove"), &d)
}

/// `list [-q]`: runc's table, or the ids.
#[inline(never)]
pub fn list(root: &Root, quiet: bool) -> Vec<u8> {
    let mut b = Buf::new();
    if !quiet {
        // (the columns below: at 20, 30 and 42)
        util::push_msg(&mut b.0, m!("ID                  PID       STATUS      BUNDLE\n"));
    }
    for (id, _) in sys::list_dir(&root.containers_in(false)).unwrap_or_default() {
        let Ok(r) = find(root, &id) else { continue };
        b.b(&id);
        if !quiet {
            let st = status(root, &r);
            b.col(20, 3).n(shown_pid(&r, st)).col(30, 3).b(state_name(st)).col(42, 3).b(&r.image);
        }
        b.b(b"\n");
    }
    b.0
}

/// `exec --process FILE [--detach] [--pid-file F] [--console-socket S] ID`:
/// the process runs in the container's namespaces, root and cgroups, with
/// the container's seccomp filter and masks, and its own user,
/// capabilities, rlimits and no_new_privs.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn exec(r: &mut Record, file: &[u8], detach: bool, pid_file: Option<&[u8]>, console: Option<&[u8]>, me: &[Vec<u8>], my_env: &[Vec<u8>]) -> Res<i32> {
    let mut text = Vec::new();
    let j = read_json(file, &mut text)?;
    // (the process's args, env and cwd in place of the container's: what
    // enter takes from the record)
    let mut spec = Spec::default();
    process(j, r, &mut spec)?;
    let c = match console {
        Some(c) if spec.tty => sys::connect_unix(c).ctx(m!("connect to"), c)?,
        None if spec.tty => return Err(Error::text(m!("terminal: needs --console-socket"))),
        _ => sys::fd::Owned::none(),
    };
    let pf = match pid_file {
        Some(f) => sys::open(f, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644).ctx(m!("write"), f)?,
        None => sys::fd::Owned::none(),
    };
    let id = r.id.clone();
    let (fds, cgns) = crate::engine::exec::namespaces(r, &id)?;
    // (ours, inherited by the process; before the capabilities go)
    for l in &spec.rlimits {
        sys::setrlimit(l[0] as i32, l[1], l[2]).ctx(m!("set rlimit"), b"")?;
    }
    let (sec, mine) = (&mut r.security, spec.security);
    let privileged = sec.privileged;
    (sec.caps, sec.no_new_privs, sec.user) = (mine.caps, mine.no_new_privs, mine.user);
    let o = config::ExecOpts { detach, keep_stdio: true, container: id, cmd: core::mem::take(&mut r.argv), ..Default::default() };
    crate::engine::exec::enter(r, fds, cgns, &o, privileged, me, my_env, c, pf.raw())
}

/// The return value of a seccomp action (`errno`: its errnoRet).
fn action(a: &[u8], errno: u32) -> Res<u32> {
    const ACTS: Msg = m!("SCMP_ACT_ALLOW,SCMP_ACT_ERRNO,SCMP_ACT_KILL,SCMP_ACT_KILL_THREAD,SCMP_ACT_KILL_PROCESS,SCMP_ACT_TRAP,SCMP_ACT_LOG,SCMP_ACT_TRACE");
    // (their high halves; `& 7`: no bounds check, ACTS has 8 words)
    const RETS: [u16; 8] = [0x7fff, 0x0005, 0, 0, 0x8000, 0x0003, 0x7ffc, 0x7ff0];
    let i = util::msg_index(ACTS, a).ok_or_else(|| Error::quoted(m!("linux.seccomp"), a, m!("action not supported")))?;
    Ok((RETS[i & 7] as u32) << 16 | if i == 1 || i == 7 { errno & 0xffff } else { 0 })
}

/// One classic-BPF instruction, as `sys::seccomp::install_raw` takes it.
const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> u64 {
    code as u64 | (jt as u64) << 16 | (jf as u64) << 24 | (k as u64) << 32
}

/// One instruction appended.
#[inline(never)]
fn emit(p: &mut Vec<u64>, code: u16, jt: u8, jf: u8, k: u32) {
    p.push(insn(code, jt, jf, k));
}

/// A filter's head (see `filter`), the default action or'ed into its RETs
/// (2 and 5): load arch; not ours -> RET; load nr; x32 (JSET bit 30, the
/// last two: x86_64 only) -> RET.
const HEAD: [u64; 6] =
    [insn(LD, 0, 0, 4), insn(JEQ, 1, 0, sys::seccomp::AUDIT_ARCH), insn(RET, 0, 0, 0), insn(LD, 0, 0, 0), insn(0x45, 0, 1, 0x4000_0000), insn(RET, 0, 0, 0)];

const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RET: u16 = 0x06; // BPF_RET | BPF_K

/// One 32-bit half (`hi`: the high one) of the check `k` (EQ, NE,
/// MASKED_EQ) of argument `i` against `v` (MASKED_EQ: `v` is the mask,
/// `v2` the value), appended backwards to `c`, a rule's tail built last
/// instruction first: `c[0]` is where a failure jumps, so a failure's
/// offset is the length of `c` before its jump.
fn half(c: &mut Vec<u64>, i: u32, hi: u32, k: usize, v: u64, v2: u64) {
    let sh = 32 * hi;
    let fail = c.len() as u8 - 1;
    let want = (if k == 2 { v2 } else { v } >> sh) as u32;
    match (k, hi) {
        // NE: a different high word passes (over the low check), the same low word fails
        (1, 1) => emit(c, JEQ, 0, 2, want),
        (1, _) => emit(c, JEQ, fail, 0, want),
        // EQ: another value fails
        _ => emit(c, JEQ, 0, fail, want),
    }
    if k == 2 {
        emit(c, AND, 0, 0, (v >> sh) as u32);
    }
    emit(c, LD, 0, 0, 16 + 8 * i + 4 * hi);
}

/// linux.seccomp as a classic-BPF program for this architecture:
///   load arch; not ours -> the default action (i386 and arm32 calls, and
///     on x86_64 x32 ones (bit 30 of nr): mydocker filters native calls)
///   load nr; then per rule, per syscall it names (names this
///   architecture lacks are skipped, as libseccomp does):
///     nr != N -> the next entry
///     the argument checks (EQ, NE, MASKED_EQ on 64-bit values, high word
///       then low, the last argument first; a failed one jumps to a reload
///       of nr, then the next entry)
///     return the rule's action
///   return the default action.
/// Rules are tried in order: the first whose checks pass decides.
fn filter(sc: J) -> Res<Vec<u64>> {
    let de = unum(sc, k!("defaultErrnoRet"), 1) as u32;
    let dflt = action(&s(sc, k!("defaultAction")), de)?;
    let mut h = HEAD;
    h[2] |= (dflt as u64) << 32;
    h[5] |= (dflt as u64) << 32;
    let mut p = h[..if cfg!(target_arch = "x86_64") { 6 } else { 4 }].to_vec();
    for r in at(sc, k!("syscalls")).items() {
        let act = action(&s(r, k!("action")), unum(r, k!("errnoRet"), de as u64) as u32)?;
        // The rule's tail, backwards (copied last instruction first): the
        // reload of nr (kept only after checks), the return, the checks.
        let mut c = Vec::new();
        emit(&mut c, LD, 0, 0, 0);
        emit(&mut c, RET, 0, 0, act);
        for a in at(r, k!("args")).items() {
            let (i, v, v2) = (unum(a, k!("index"), 6) as u32, unum(a, k!("value"), 0), unum(a, k!("valueTwo"), 0));
            let op = s(a, k!("op"));
            let k = util::msg_index(m!("SCMP_CMP_EQ,SCMP_CMP_NE,SCMP_CMP_MASKED_EQ"), &op)
                .filter(|_| i < 6)
                .ok_or_else(|| Error::quoted(m!("linux.seccomp"), &op, m!("argument check not supported")))?;
            // (a jump over the tail must fit in 8 bits)
            if c.len() > 249 {
                return Err(Error::text(m!("linux.seccomp: a rule with too many argument checks")));
            }
            for hi in 0..2 {
                half(&mut c, i, hi, k, v, v2);
            }
        }
        if c.len() == 2 {
            c.remove(0);
        }
        for name in at(r, k!("names")).items() {
            let Some(nr) = sys::seccomp::sysno(&string(name)) else { continue };
            emit(&mut p, JEQ, 0, c.len() as u8, nr);
            for &x in c.iter().rev() {
                p.push(x);
            }
        }
    }
    p.push(h[2]);
    if p.len() > 4096 {
        return Err(Error::text(m!("linux.seccomp: the profile needs more than 4096 BPF instructions")));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    /// The member names read at run time are the ones `k!` numbered.
    #[test]
    fn keys_kept_with_the_messages_are_the_table() {
        assert_eq!(crate::engine::util::msg_text(super::KEYS_M), super::KEYS);
    }
}

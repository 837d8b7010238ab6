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
use crate::engine::util::{self, fields, join, word_index, Buf, Ctx, Error, Res};
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

/// `Error::new(field, why)`, out of line: one call per refusal.
#[inline(never)]
fn refuse(field: &[u8], why: crate::engine::util::Msg) -> Error {
    Error::at(field, why)
}

const NS_TYPES: &[u8] = b"pid,network,mount,ipc,uts,cgroup,user,time";
const RLIMITS: &[u8] = b"CPU,FSIZE,DATA,STACK,CORE,RSS,NPROC,NOFILE,MEMLOCK,AS,LOCKS,SIGPENDING,MSGQUEUE,NICE,RTPRIO,RTTIME";

/// The capability set named `set` of `c`, as a mask (absent: none).
fn caps(c: J, set: &[u8]) -> Res<u64> {
    let mut m = 0;
    for n in at(c, set).items() {
        m |= config::cap_bits(&n.str().unwrap_or_default())?;
    }
    Ok(m)
}

/// The member `key` of `j`, null when absent (one out-of-line copy of
/// the walk for all the lookups here).
#[inline(never)]
fn at<'a>(j: J<'a>, key: &[u8]) -> J<'a> {
    j.get(key).unwrap_or(J::NULL)
}

/// A number member (absent or not an integer: None); u64 range.
fn unum(j: J, key: &[u8]) -> Option<u64> {
    util::parse_u64(at(j, key).raw())
}

fn is_true(j: J, key: &[u8]) -> bool {
    at(j, key).raw() == b"true"
}

/// A process (config.json's, or exec's process.json) onto `rec` and
/// `spec`: args, env, cwd, terminal, user, capabilities, rlimits,
/// noNewPrivileges; returns its oomScoreAdj.
#[inline(never)]
fn process(p: J, rec: &mut Record, spec: &mut Spec) -> Res<Option<i64>> {
    let sec = &mut spec.security;
    rec.argv = p.strs_at(b"args").filter(|a| !a.is_empty()).ok_or_else(|| refuse(b"process.args", m!("must be a non-empty array of strings")))?;
    rec.env = p.strs_at(b"env").unwrap_or_default();
    rec.workdir = p.str_at(b"cwd").unwrap_or_else(|| b"/".to_vec());
    if rec.workdir.first() != Some(&b'/') {
        return Err(refuse(b"process.cwd", m!("must be an absolute path")));
    }
    spec.tty = is_true(p, b"terminal");
    let u = at(p, b"user");
    let (uid, gid) = (unum(u, b"uid").unwrap_or(0), unum(u, b"gid").unwrap_or(0));
    sec.user = Buf::new().n(uid).b(b":").n(gid).0.clone();
    // exactly additionalGids (the gid is not added, as runc)
    let mut groups = Vec::new();
    for g in at(u, b"additionalGids").items() {
        groups.push(g.num().unwrap_or(0) as u32);
    }
    spec.groups = Some(groups);
    if unum(u, b"umask").is_some_and(|m| m != 0o022) {
        return Err(refuse(b"process.user.umask", m!("only 0022 is supported")));
    }
    let c = at(p, b"capabilities");
    // What the engine gives: root has the bounding set (ambient and
    // inheritable add nothing for root); another user has none after its
    // exec, which is also what runc's effective and permitted sets come
    // to without ambient ones.
    sec.caps = caps(c, b"bounding")?;
    let e = caps(c, b"effective")?;
    let a = caps(c, b"ambient")?;
    let ok = if uid == 0 { e == sec.caps && (a == 0 || a == e) } else { a == 0 };
    if !ok || e != caps(c, b"permitted")? || caps(c, b"inheritable")? & !sec.caps != 0 {
        return Err(refuse(
            b"process.capabilities",
            m!("supported: root with the bounding set effective and permitted (and ambient, or none); another user without ambient ones"),
        ));
    }
    for r in at(p, b"rlimits").items() {
        let t = r.str_at(b"type").unwrap_or_default();
        let k = t.strip_prefix(b"RLIMIT_").and_then(|n| word_index(RLIMITS, n)).ok_or_else(|| Error::quoted(m!("process.rlimits"), &t, m!("unknown limit")))?;
        spec.rlimits.push([k as u64, unum(r, b"soft").unwrap_or(0), unum(r, b"hard").unwrap_or(0)]);
    }
    sec.no_new_privs = is_true(p, b"noNewPrivileges");
    Ok(at(p, b"oomScoreAdj").num())
}

/// config.json onto the engine. Every field the engines send is honoured
/// or refused with a message; unknown fields are ignored.
#[inline(never)]
fn load_bundle(b: &mut Bundle, bundle: &[u8], id: &[u8], systemd: bool) -> Res<()> {
    let path = join(bundle, b"config.json");
    let text = util::read_file(&path).ctx(m!("read"), &path)?;
    let j = json::parse(&text).ok_or_else(|| Error::at(&path, m!("not valid JSON")))?;
    // (filled in place: a record and spec moved into a returned bundle
    // were copied whole)
    let (rec, spec) = (&mut b.rec, &mut b.spec);
    // No cgroup namespace or cgroupfs unless the config has one of them.
    spec.share = sys::CLONE_NEWCGROUP;
    b.oom = process(at(j, b"process"), rec, spec)?;
    let sec = &mut spec.security;

    let r = at(j, b"root");
    let mut rootfs = r.str_at(b"path").ok_or_else(|| refuse(b"root.path", m!("missing")))?;
    if rootfs.first() != Some(&b'/') {
        rootfs = join(bundle, &rootfs);
    }
    sec.read_only = is_true(r, b"readonly");
    rec.hostname = j.str_at(b"hostname").unwrap_or_default();

    for m in at(j, b"mounts").items() {
        let dest = m.str_at(b"destination").unwrap_or_default();
        let typ = m.str_at(b"type").unwrap_or_default();
        let opts = m.strs_at(b"options").unwrap_or_default();
        let has = |w: &[u8]| opts.iter().any(|o| o.as_slice() == w);
        if dest.first() != Some(&b'/') {
            return Err(Error::quoted(m!("mounts"), &dest, m!("the destination must be an absolute path")));
        }
        if typ == b"bind" || has(b"bind") || has(b"rbind") {
            let mut host = m.str_at(b"source").unwrap_or_default();
            if host.first() != Some(&b'/') {
                host = join(bundle, &host);
            }
            rec.volumes.push(Volume { host, ctr: dest, ro: has(b"ro") });
            continue;
        }
        // The filesystems the engine mounts itself, its own way.
        let mut key = typ.clone();
        key.push(b' ');
        key.extend_from_slice(&dest);
        match word_index(b"proc /proc,sysfs /sys,tmpfs /dev,devpts /dev/pts,cgroup /sys/fs/cgroup,cgroup2 /sys/fs/cgroup,mqueue /dev/mqueue", &key) {
            Some(6) => spec.mqueue = true,
            // sysfs without "ro" (podman --privileged): read-write
            Some(1) => spec.sys_rw = !has(b"ro"),
            // (a cgroup filesystem: the engine's, in a cgroup namespace)
            Some(4 | 5) => spec.share &= !sys::CLONE_NEWCGROUP,
            Some(_) => {}
            None if typ == b"tmpfs" => {
                if has(b"tmpcopyup") {
                    spec.copyup.push(dest.clone());
                }
                let mut t = dest;
                t.push(b':');
                for o in &opts {
                    // (atime and propagation words: the engine's mounts are private)
                    if word_index(b"strictatime,relatime,noatime,rprivate,private,rslave,slave,tmpcopyup", o).is_none() {
                        t.extend_from_slice(o);
                        t.push(b',');
                    }
                }
                sec.tmpfs.push(t);
            }
            None => return Err(Error::quoted(m!("mounts"), &key, m!("this type is not supported"))),
        }
    }

    let l = at(j, b"linux");
    let mut have = 0u32;
    spec.net = b"host".to_vec();
    for n in at(l, b"namespaces").items() {
        let t = n.str_at(b"type").unwrap_or_default();
        let k = word_index(NS_TYPES, &t).filter(|&k| k < 6).ok_or_else(|| Error::quoted(m!("linux.namespaces"), &t, m!("not supported")))?;
        have |= 1 << k;
        if k == 5 {
            spec.share &= !sys::CLONE_NEWCGROUP;
        }
        match (n.str_at(b"path"), k) {
            (None, 1) => spec.net = b"none".to_vec(),
            (None, _) => {}
            (Some(p), 1 | 3 | 4) => spec.joins.push(([sys::CLONE_NEWNET, 0, 0, sys::CLONE_NEWIPC, sys::CLONE_NEWUTS][k], p)),
            (Some(_), _) => return Err(Error::quoted(m!("linux.namespaces"), &t, m!("joining one by path is not supported"))),
        }
    }
    // A mount namespace always; pid, ipc and uts may be the host's.
    if have & 4 == 0 || have & 16 == 0 && !rec.hostname.is_empty() {
        return Err(refuse(b"linux.namespaces", m!("a mount namespace is required, and a uts one for a hostname")));
    }
    for (bit, flag) in [(1, sys::CLONE_NEWPID), (8, sys::CLONE_NEWIPC), (16, sys::CLONE_NEWUTS)] {
        if have & bit == 0 {
            spec.share |= flag;
        }
    }
    resources(at(l, b"resources"), &mut rec.limits);
    b.rel = match l.str_at(b"cgroupsPath") {
        // systemd's `slice:prefix:name`, as cgroupfs paths: slice/prefix-name.scope
        Some(p) if systemd && p.contains(&b':') => {
            let f: Vec<&[u8]> = fields(&p, b':').collect();
            let mut v = f[0].to_vec();
            v.push(b'/');
            Buf(v).b(f[1]).b(b"-").b(f.get(2).copied().unwrap_or_default()).b(b".scope").0.clone()
        }
        Some(p) if !p.is_empty() => p.strip_prefix(b"/").unwrap_or(&p).to_vec(),
        _ => join(b"mydocker", id),
    };
    // Masked, then read-only paths; none given: none applied.
    let mut paths = Vec::new();
    for (k, sep) in [(&b"maskedPaths"[..], &b"| "[..]), (&b"readonlyPaths"[..], &b""[..])] {
        for x in l.strs_at(k).unwrap_or_default() {
            if x.first() != Some(&b'/') || x.contains(&b' ') {
                return Err(Error::quoted(m!("linux.maskedPaths/readonlyPaths"), &x, m!("must be absolute, without spaces")));
            }
            paths.extend_from_slice(&x);
            paths.push(b' ');
        }
        paths.extend_from_slice(sep);
    }
    sec.paths = paths;
    // The config's own profile, compiled; none: no filter (as runc).
    sec.seccomp = false;
    let sc = at(l, b"seccomp");
    if !sc.is_null() {
        sec.filter = filter(sc)?;
    }
    // The namespaced sysctls (as runc allows them), written in the
    // container's namespaces by its init.
    for (k, v) in at(l, b"sysctl").members() {
        let ok = [&b"net."[..], b"kernel.shm", b"kernel.msg", b"kernel.sem", b"fs.mqueue.", b"kernel.domainname", b"kernel.hostname"]
            .iter()
            .any(|p| k.starts_with(p));
        if !ok || k.contains(&b'/') {
            return Err(Error::quoted(m!("linux.sysctl"), &k, m!("not a namespaced sysctl")));
        }
        spec.sysctl.push((k, v.str().unwrap_or_default()));
    }
    // linux.devices: nodes made in /dev (a device's rule comes from
    // resources.devices, as the engines send them: runc's way).
    for d in at(l, b"devices").items() {
        let path = d.str_at(b"path").unwrap_or_default();
        let t = d.str_at(b"type").unwrap_or_default();
        let kind = match t.as_slice() {
            b"c" | b"u" => sys::S_IFCHR,
            b"b" => sys::S_IFBLK,
            _ => return Err(Error::quoted(m!("linux.devices"), &path, m!("only c and b devices are supported"))),
        };
        if path.first() != Some(&b'/') {
            return Err(Error::quoted(m!("linux.devices"), &path, m!("must be absolute, without spaces")));
        }
        let n = |k: &[u8]| unum(d, k).unwrap_or(0) as u32;
        spec.nodes.push(Node { kind, major: n(b"major"), minor: n(b"minor") });
        spec.security.devices.push(Device { host: Vec::new(), ctr: path, perms: Vec::new() });
    }
    // resources.devices: the allow rules over the engine's deny-all base
    // (which allows docker's default nodes, as runc allows its own);
    // allow-all without a type or numbers: every device.
    for r in at(at(l, b"resources"), b"devices").items() {
        if !is_true(r, b"allow") {
            continue;
        }
        let t = r.str_at(b"type").unwrap_or_else(|| b"a".to_vec());
        let (maj, min) = (at(r, b"major"), at(r, b"minor"));
        let num = |j: J| if j.is_null() { -1 } else { j.num().unwrap_or(-1) };
        let access = devices::parse_access(&r.str_at(b"access").unwrap_or_else(|| b"rwm".to_vec())).unwrap_or(devices::RWM);
        let d = &mut rec.limits.devices;
        if t == b"a" && maj.is_null() && min.is_null() {
            d.privileged = true;
        } else {
            d.extra.push(devices::Rule { kind: t.first().copied().unwrap_or(b'a'), major: num(maj), minor: num(min), access });
        }
    }
    for k in [&b"uidMappings"[..], b"gidMappings"] {
        let v = at(l, k);
        if !v.is_null() && v.raw().len() > 2 {
            return Err(refuse(k, m!("not supported yet")));
        }
    }

    let fixed = &mut b.fixed;
    fixed.extend_from_slice(b"\"bundle\":");
    json::str(fixed, bundle);
    fixed.extend_from_slice(b",\"rootfs\":");
    json::str(fixed, &rootfs);
    fixed.extend_from_slice(b",\"created\":\"");
    fixed.extend_from_slice(&util::rfc3339(sys::now().0));
    let a = at(j, b"annotations");
    if !a.is_null() {
        fixed.extend_from_slice(b"\",\"annotations\":");
        fixed.extend_from_slice(a.raw());
    } else {
        fixed.push(b'"');
    }
    spec.lower = rootfs.clone();
    spec.upper = rootfs;
    rec.image = bundle.to_vec();
    Ok(())
}

/// The state directory of the container `id`.
fn dir_of(root: &Root, id: &[u8]) -> Vec<u8> {
    join(&root.containers_in(false), id)
}

/// `create --bundle DIR [--pid-file FILE] ID`: everything made, the first
/// process waiting for `start`.
#[inline(never)]
pub fn create(root: &Root, id: &[u8], bundle: &[u8], pid_file: Option<&[u8]>, console: Option<&[u8]>, systemd: bool) -> Res<()> {
    config::validate_name(id)?;
    let dir = dir_of(root, id);
    let c = root.containers_in(false);
    util::mkdir_all(&c, 0o711).ctx(m!("create"), &c)?;
    match sys::mkdir(&dir, 0o711) {
        Err(sys::EEXIST) => return Err(Error::quoted(m!("container"), id, m!("already exists"))),
        r => r.ctx(m!("create"), &dir)?,
    }
    let mut made: Option<Cgroup> = None;
    let mut b = Bundle::default();
    let r = (|| {
        load_bundle(&mut b, bundle, id, systemd)?;
        let rec = &mut b.rec;
        rec.id = id.to_vec();
        rec.created = sys::now().0;
        if b.spec.tty {
            // (the pty is made in the container: init's first stdio is not one)
            b.spec.console = console.ok_or_else(|| refuse(b"process.terminal", m!("needs --console-socket")))?.to_vec();
            b.spec.tty = false;
        }
        let fifo = join(&dir, b"exec.fifo");
        // Writable by the container's user, whoever that is (as runc's).
        sys::umask(0);
        sys::mkfifo(&fifo, 0o622).ctx(m!("create"), &fifo)?;
        b.spec.gate = fifo;
        let layout = Layout::current_or_mount();
        let cg = made.insert(Cgroup::plan(&layout, &b.rel, &rec.limits)?);
        cg.everywhere(&layout, &b.rel);
        if cg.devices == Some(crate::engine::devices::Mechanism::NoCgroup) {
            b.spec.security.caps &= !(1 << config::CAP_MKNOD);
        }
        rec.cgroups = cg.dirs();
        util::write_atomic(&join(&dir, b"oci"), &b.fixed).ctx(m!("write"), &dir)?;
        rec.save(root)?;
        cg.make(Kind::V2, &rec.limits)?;
        let pid = crate::engine::container::launch(rec, &b.spec, cg, &Stdio { stdin: 0, stdout: 1, stderr: 2 }, None)?;
        let done = (|| {
            if let Some(o) = b.oom {
                let p = Buf::new().b(b"/proc/").n(pid as u64).b(b"/oom_score_adj").0.clone();
                util::write_file(&p, &Buf::new().i(o).0).ctx(m!("write"), &p)?;
            }
            rec.pid_start = state::proc_start_time(pid).unwrap_or(0);
            rec.append(root, 0, &[pid as i64, rec.pid_start as i64], Status::Created)?;
            match pid_file {
                Some(f) => util::write_atomic(f, &util::num(pid as u64)).ctx(m!("write"), f),
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
            if let Some(cg) = &made {
                cg.remove();
            }
            let _ = util::remove_tree(&dir);
        });
    }
    r
}

/// The container `id`'s record, or runc's "does not exist".
fn find(root: &Root, id: &[u8]) -> Res<Record> {
    state::load(root, id).ok_or_else(|| Error::quoted(m!("container"), id, m!("does not exist")).of(util::Kind::NoSuch))
}

/// created (waiting on its fifo), running, paused, or stopped.
fn status(root: &Root, r: &Record) -> &'static [u8] {
    if !r.alive() {
        b"stopped"
    } else if sys::lstat(&join(&dir_of(root, &r.id), b"exec.fifo")).is_ok() {
        b"created"
    } else if freezer(r).is_some_and(|(k, _)| util::read_file(&k).is_ok_and(|v| v.starts_with(b"FROZEN") || v.starts_with(b"1"))) {
        b"paused"
    } else {
        b"running"
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
        if sys::lstat(&join(d, b"cgroup.freeze")).is_ok() {
            v2 = Some((join(d, b"cgroup.freeze"), &b"1,0"[..]));
        }
    }
    v2
}

/// `pause ID` (`on`) and `resume ID`.
#[inline(never)]
pub fn pause(root: &Root, id: &[u8], on: bool) -> Res<()> {
    let r = find(root, id)?;
    if !r.alive() {
        return Err(Error::quoted(m!("container"), id, m!("is not running")));
    }
    let (knob, words) = freezer(&r).ok_or_else(|| Error::quoted(m!("container"), id, m!("has no freezer cgroup")))?;
    let w = fields(words, b',').nth(!on as usize).unwrap_or_default();
    util::write_file(&knob, w).ctx(m!("write"), &knob)?;
    // v1 freezes in the background: wait until it is done.
    for _ in 0..500 {
        if util::read_file(&knob).is_ok_and(|v| v.starts_with(w)) {
            break;
        }
        sys::sleep_ms(2);
    }
    Ok(())
}

/// `update --resources FILE ID`: the limits of linux.resources' shape.
#[inline(never)]
pub fn update(root: &Root, id: &[u8], text: &[u8]) -> Res<()> {
    let r = find(root, id)?;
    let j = json::parse(text).ok_or_else(|| refuse(b"--resources", m!("not valid JSON")))?;
    let mut l = config::Limits::default();
    resources(j, &mut l);
    Cgroup::update(&r.cgroups, &l)
}

/// linux.resources (and `update`'s file) onto limits.
fn resources(res: J, lim: &mut config::Limits) {
    let mem = at(res, b"memory");
    lim.memory = unum(mem, b"limit").filter(|&m| m > 0);
    let cpu = at(res, b"cpu");
    if let (Some(q), Some(per)) = (unum(cpu, b"quota").filter(|&q| q > 0), unum(cpu, b"period").filter(|&p| p > 0)) {
        lim.cpu_quota = Some(q * 100_000 / per);
    }
    lim.cpu_shares = unum(cpu, b"shares").filter(|&s| s > 0);
    lim.cpuset_cpus = cpu.str_at(b"cpus").filter(|c| !c.is_empty());
    lim.pids = unum(at(res, b"pids"), b"limit").filter(|&p| p > 0);
}

/// `start ID`: opens the fifo (the waiting process's open for writing
/// then returns), reads its byte, and removes the fifo.
#[inline(never)]
pub fn start(root: &Root, id: &[u8]) -> Res<()> {
    let r = find(root, id)?;
    let st = status(root, &r);
    if st != b"created" {
        return Err(Error::quoted(m!("container"), id, m!("cannot be started: it is not created (")).append(st).more(m!(")")));
    }
    let fifo = join(&dir_of(root, id), b"exec.fifo");
    let fd = sys::open(&fifo, sys::O_RDONLY | sys::O_NONBLOCK, 0).ctx(m!("open"), &fifo)?;
    let mut p = [sys::pollfd(fd.raw(), libc::POLLIN)];
    let mut b = [0u8; 1];
    let _ = sys::poll(&mut p, 10_000);
    if sys::read(fd.raw(), &mut b) != Ok(1) {
        return Err(Error::quoted(m!("container"), id, m!("exited before it could start")));
    }
    let _ = sys::unlinkat(sys::AT_FDCWD, &fifo, 0);
    r.append(root, 3, &[sys::now().0], Status::Running)
}

/// `state ID`: runc's JSON.
#[inline(never)]
pub fn state(root: &Root, id: &[u8]) -> Res<Vec<u8>> {
    let r = find(root, id)?;
    let st = status(root, &r);
    let mut b = Buf::new();
    b.b(b"{\"ociVersion\":\"1.0.2-dev\",\"id\":");
    json::str(&mut b.0, id);
    b.b(b",\"pid\":").n(if st == b"stopped" { 0 } else { r.pid as u64 }).b(b",\"status\":\"").b(st).b(b"\",");
    b.b(&util::read_file(&join(&dir_of(root, id), b"oci")).unwrap_or_default()).b(b",\"owner\":\"\"}");
    Ok(b.0)
}

/// The pids in the container's cgroups.
fn pids(r: &Record) -> Vec<i32> {
    let mut v = Vec::new();
    for d in &r.cgroups {
        for l in fields(&util::read_file(&join(d, b"cgroup.procs")).unwrap_or_default(), b'\n') {
            if let Some(n) = util::parse_u64(l) {
                if !v.contains(&(n as i32)) {
                    v.push(n as i32);
                }
            }
        }
    }
    v
}

/// `ps --format json ID`: the pids, as a JSON array.
pub fn ps(root: &Root, id: &[u8]) -> Res<Vec<u8>> {
    let r = find(root, id)?;
    let mut b = Buf::new();
    b.b(b"[");
    for (i, p) in pids(&r).iter().enumerate() {
        if i > 0 {
            b.b(b",");
        }
        b.n(*p as u64);
    }
    b.b(b"]\n");
    Ok(b.0)
}

const SIGNALS: &[u8] =
    b"HUP,INT,QUIT,ILL,TRAP,ABRT,BUS,FPE,KILL,USR1,SEGV,USR2,PIPE,ALRM,TERM,STKFLT,CHLD,CONT,STOP,TSTP,TTIN,TTOU,URG,XCPU,XFSZ,VTALRM,PROF,WINCH,IO,PWR,SYS";

/// A signal by number or name (`KILL`, `SIGKILL`, any case).
pub fn signal(s: &[u8]) -> Res<i32> {
    if let Some(n) = util::parse_u64(s).filter(|&n| (1..65).contains(&n)) {
        return Ok(n as i32);
    }
    let up = s.to_ascii_uppercase();
    match word_index(SIGNALS, up.strip_prefix(b"SIG").unwrap_or(&up)) {
        Some(i) => Ok(i as i32 + 1),
        None => Err(Error::quoted(m!("signal"), s, m!("unknown"))),
    }
}

/// `kill [--all] ID [SIGNAL]`.
#[inline(never)]
pub fn kill(root: &Root, id: &[u8], sig: i32, all: bool) -> Res<()> {
    let r = find(root, id)?;
    if !r.alive() {
        return Err(Error::quoted(m!("container"), id, m!("is not running")));
    }
    let targets = if all { pids(&r) } else { alloc::vec![r.pid] };
    for p in targets {
        sys::kill(p, sig).ctx(m!("kill"), id)?;
    }
    Ok(())
}

/// `delete [--force] ID`: a created container is killed; a running one
/// only with `force`. With `force`, an unknown id is no error (containerd
/// deletes twice).
#[inline(never)]
pub fn delete(root: &Root, id: &[u8], force: bool) -> Res<()> {
    let r = match find(root, id) {
        Err(_) if force => return Ok(()),
        r => r?,
    };
    if r.alive() {
        if !force && status(root, &r) == b"running" {
            return Err(Error::quoted(m!("container"), id, m!("is running: stop it first, or use --force")));
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
pub fn list(root: &Root, quiet: bool) -> Vec<u8> {
    let mut b = Buf::new();
    if !quiet {
        b.b(b"ID").col(20, 3).b(b"PID").col(30, 3).b(b"STATUS").col(42, 3).b(b"BUNDLE\n");
    }
    for (id, _) in sys::list_dir(&root.containers_in(false)).unwrap_or_default() {
        let Ok(r) = find(root, &id) else { continue };
        b.b(&id);
        if !quiet {
            let st = status(root, &r);
            b.col(20, 3).n(if st == b"stopped" { 0 } else { r.pid as u64 }).col(30, 3).b(st).col(42, 3).b(&r.image);
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
pub fn exec(
    root: &Root,
    id: &[u8],
    file: &[u8],
    detach: bool,
    pid_file: Option<&[u8]>,
    console: Option<&[u8]>,
    me: &[Vec<u8>],
    my_env: &[Vec<u8>],
) -> Res<i32> {
    let mut r = find(root, id)?;
    let text = util::read_file(file).ctx(m!("read"), file)?;
    let j = json::parse(&text).ok_or_else(|| Error::at(file, m!("not valid JSON")))?;
    let (mut rec, mut spec) = (Record::default(), Spec::default());
    process(j, &mut rec, &mut spec)?;
    let c = match console {
        Some(c) if spec.tty => sys::connect_unix(c).ctx(m!("connect to"), c)?,
        None if spec.tty => return Err(refuse(b"terminal", m!("needs --console-socket"))),
        _ => sys::fd::Owned::none(),
    };
    let pf = match pid_file {
        Some(f) => sys::open(f, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644).ctx(m!("write"), f)?,
        None => sys::fd::Owned::none(),
    };
    let (fds, cgns) = crate::engine::exec::namespaces(&r, id)?;
    // (ours, inherited by the process; before the capabilities go)
    for l in &spec.rlimits {
        sys::setrlimit(l[0] as i32, l[1], l[2]).ctx(m!("set rlimit"), b"")?;
    }
    r.env = rec.env;
    let (sec, mine) = (&mut r.security, &spec.security);
    let privileged = sec.privileged;
    (sec.caps, sec.no_new_privs) = (mine.caps, mine.no_new_privs);
    sec.user.clone_from(&mine.user);
    let o = config::ExecOpts { detach, keep_stdio: true, workdir: Some(rec.workdir), container: id.to_vec(), cmd: rec.argv, ..Default::default() };
    crate::engine::exec::enter(&mut r, fds, cgns, &o, privileged, me, my_env, c, pf.raw())
}

/// The return value of a seccomp action (`errno`: its errnoRet).
fn action(a: &[u8], errno: u32) -> Res<u32> {
    const ACTS: &[u8] = b"SCMP_ACT_ALLOW,SCMP_ACT_ERRNO,SCMP_ACT_KILL,SCMP_ACT_KILL_THREAD,SCMP_ACT_KILL_PROCESS,SCMP_ACT_TRAP,SCMP_ACT_LOG,SCMP_ACT_TRACE";
    const RETS: [u32; 8] = [0x7fff_0000, 0x0005_0000, 0, 0, 0x8000_0000, 0x0003_0000, 0x7ffc_0000, 0x7ff0_0000];
    let i = word_index(ACTS, a).ok_or_else(|| Error::quoted(m!("linux.seccomp"), a, m!("action not supported")))?;
    Ok(RETS[i] | if i == 1 || i == 7 { errno & 0xffff } else { 0 })
}

/// One classic-BPF instruction, as `sys::seccomp::install_raw` takes it.
fn insn(code: u16, jt: u8, jf: u8, k: u32) -> u64 {
    code as u64 | (jt as u64) << 16 | (jf as u64) << 24 | (k as u64) << 32
}

const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RET: u16 = 0x06; // BPF_RET | BPF_K

/// linux.seccomp as a classic-BPF program for this architecture:
///   load arch; not ours -> the default action (i386 and arm32 calls, and
///     on x86_64 x32 ones (bit 30 of nr): mydocker filters native calls)
///   load nr; then per rule, per syscall it names (names this
///   architecture lacks are skipped, as libseccomp does):
///     nr != N -> the next entry
///     the argument checks (EQ, NE, MASKED_EQ on 64-bit values, high word
///       then low; a failed one jumps to a reload of nr, then the next entry)
///     return the rule's action
///   return the default action.
/// Rules are tried in order: the first whose checks pass decides.
fn filter(s: J) -> Res<Vec<u64>> {
    let de = unum(s, b"defaultErrnoRet").unwrap_or(1) as u32;
    let dflt = action(&s.str_at(b"defaultAction").unwrap_or_default(), de)?;
    let mut p = alloc::vec![insn(LD, 0, 0, 4), insn(JEQ, 1, 0, sys::seccomp::AUDIT_ARCH), insn(RET, 0, 0, dflt), insn(LD, 0, 0, 0)];
    if cfg!(target_arch = "x86_64") {
        p.push(insn(0x45, 0, 1, 0x4000_0000)); // JSET: x32 -> the next, else over it
        p.push(insn(RET, 0, 0, dflt));
    }
    for r in at(s, b"syscalls").items() {
        let act = action(&r.str_at(b"action").unwrap_or_default(), unum(r, b"errnoRet").map_or(de, |e| e as u32))?;
        // The checks, with every failure's jump patched below.
        let mut c: Vec<u64> = Vec::new();
        let mut fails = Vec::new();
        for a in at(r, b"args").items() {
            let (i, v, v2) = (unum(a, b"index").unwrap_or(6) as u32, unum(a, b"value").unwrap_or(0), unum(a, b"valueTwo").unwrap_or(0));
            let op = a.str_at(b"op").unwrap_or_default();
            let k = word_index(b"SCMP_CMP_EQ,SCMP_CMP_NE,SCMP_CMP_MASKED_EQ", &op)
                .filter(|_| i < 6)
                .ok_or_else(|| Error::quoted(m!("linux.seccomp"), &op, m!("argument check not supported")))?;
            for half in [1u32, 0] {
                let sh = 32 * half;
                c.push(insn(LD, 0, 0, 16 + 8 * i + 4 * half));
                let want = if k == 2 {
                    c.push(insn(AND, 0, 0, (v >> sh) as u32));
                    (v2 >> sh) as u32
                } else {
                    (v >> sh) as u32
                };
                if k == 1 && half == 1 {
                    // NE: a different high word passes (over the low check)
                    c.push(insn(JEQ, 0, 2, want));
                } else {
                    // EQ: the other value fails; NE's low word: the same fails
                    fails.push((c.len(), k == 1));
                    c.push(insn(JEQ, 0, 0, want));
                }
            }
        }
        let n = c.len();
        for (at, ne) in fails {
            // (to the reload after the return)
            let off = ((n - at) as u64) << if ne { 16 } else { 24 };
            c[at] |= off;
        }
        for name in at(r, b"names").items() {
            let Some(nr) = sys::seccomp::sysno(&name.str().unwrap_or_default()) else { continue };
            let skip = n + 1 + (n > 0) as usize;
            if skip > 255 {
                return Err(refuse(b"linux.seccomp", m!("a rule with too many argument checks")));
            }
            p.push(insn(JEQ, 0, skip as u8, nr));
            p.extend_from_slice(&c);
            p.push(insn(RET, 0, 0, act));
            if n > 0 {
                p.push(insn(LD, 0, 0, 0));
            }
        }
    }
    p.push(insn(RET, 0, 0, dflt));
    if p.len() > 4096 {
        return Err(refuse(b"linux.seccomp", m!("the profile needs more than 4096 BPF instructions")));
    }
    Ok(p)
}

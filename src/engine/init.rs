//! The container side: runs as PID 1 of the new namespaces, from clone()
//! until execve(). Its steps with the parent are numbered as in
//! `channel.rs`, which holds both ends of each.
//!
//! The v1 cgroups' `tasks` files are opened after sync 2 and joined as the
//! last step before exec, so no code of the image runs before the limits
//! are in place (and the kernel objects of its setup are not charged one by
//! one to a fresh memory cgroup: -0.2 ms). After sync 2b the child
//! detaches the old root (an RCU grace period, slow while another CPU is
//! in the namespace setup) and mounts /sys. (The parent brought the
//! namespace's loopback up.)

use crate::engine::cgroup::{Cgroup, Kind};
use crate::engine::channel::Child;
use crate::engine::confine;
use crate::engine::spec::Spec;
use crate::engine::state::Record;
use crate::engine::util::{fields, join, mkdir_all, Ctx, Error, Res, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;

/// The container's standard input, output and error.
pub struct Stdio {
    pub stdin: Fd,
    pub stdout: Fd,
    pub stderr: Fd,
}

/// The container's first process, from sync 2 to exec.
/// `rec` and `spec` are the parent's, in the copy of its memory that
/// clone made.
/// Never returns: it execs, or reports why not and exits (`Child::fail`)
/// right where a step failed, so no error path drops what is open (the
/// exit closes it): one call per step, no unwinding of the frame.
/// Descriptors of the container's own (its pty, a directory of its
/// image) are forgotten, not closed by hand: close-on-exec (`stdio` marks
/// all from 3 on), the exec closes them. What reaches the host (its /dev,
/// cgroup files, namespaces) is closed at once: nothing of the host stays
/// open while `runc create`'s container waits for its start.
pub fn setup(rec: &Record, spec: &Spec, cg: &Cgroup, ch: &mut Child, io: &Stdio) -> ! {
    macro_rules! t {
        ($r:expr) => {
            match $r {
                Ok(v) => v,
                Err(e) => ch.fail(e),
            }
        };
    }
    sys::umask(0);
    t!(ch.await_release()); // sync 2
                            // The v1 cgroups are made here (the v2 one was made before the clone,
                            // and we were born in it), and joined last, before anything of the
                            // image runs: their `tasks` files are opened now, while the host's
                            // paths are visible.
    t!(cg.make(Kind::V1, &rec.limits));
    let tasks = t!(cg.v1_tasks());

    t!(stdio(io.stdin, io.stdout, io.stderr, spec.tty));
    for fd in 3..3 + spec.preserve {
        sys::keep_fd(fd);
    }

    // The OCI runtime's namespaces to join (a pod's network, ipc, uts),
    // through host paths: before anything else.
    for (t, p) in &spec.joins {
        let fd = t!(sys::open(p, sys::O_RDONLY, 0).ctx(m!("open namespace"), p));
        t!(sys::setns(fd.raw(), *t).ctx(m!("enter namespace"), p));
    }
    // Nothing we mount from here on may propagate back to the host.
    t!(sys::mount(b"", b"/", b"", (sys::MS_REC | sys::MS_PRIVATE) as _, b"").ctx(m!("make / private"), b""));
    if !rec.hostname.is_empty() {
        t!(sys::sethostname(&rec.hostname).ctx(m!("set hostname"), &rec.hostname));
    }

    // The layers are named relative to the store (image::lowerdir): a
    // stack past the page of mount data, or past overlay's 500 layers, is
    // flattened instead.
    let mut data = b"lowerdir=".to_vec();
    data.extend_from_slice(&crate::engine::image::lowerdir(b"", &spec.layers));
    if spec.store.is_empty() {
        // An OCI bundle's root, used in place: bound onto itself, so
        // that it is a mount point to pivot into.
        t!(sys::mount(&spec.lower, &spec.lower, b"", (sys::MS_BIND | sys::MS_REC) as _, b"").ctx(m!("bind mount"), &spec.lower));
    } else if spec.overlay && !spec.layers.is_empty() && spec.layers.len() <= 500 && data.len() + spec.upper.len() + spec.work.len() < 4000 {
        t!(chdir(&spec.store));
        data.extend_from_slice(b",upperdir=");
        opt_escape(&mut data, &spec.upper);
        data.extend_from_slice(b",workdir=");
        opt_escape(&mut data, &spec.work);
        if let Err(e) = sys::mount(b"overlay", &spec.lower, b"overlay", nodev(spec), &data) {
            // No overlayfs, or an upper dir it refuses (ramfs, nested
            // overlay): the write layer becomes a private full copy of the
            // image, made once, so the image itself stays untouched.
            if let Err(c) = copy_fallback(spec) {
                let m = c.msg();
                ch.fail(Error::text(m!("set up the root filesystem: overlay refused (")).errno(e).more(m!(") and the copy fallback failed: ")).append(&m));
            }
        }
    } else {
        t!(copy_fallback(spec));
    }

    // Volume sources are opened now, while host paths are visible, and
    // mounted after the root switch through /proc/self/fd, so targets are
    // resolved inside the container (an image symlink can't point a mount
    // at the host).
    let mut vols: Vec<Owned> = Vec::new();
    for v in &rec.volumes {
        vols.push(t!(sys::open(&v.host, sys::O_PATH, 0).ctx(m!("open volume"), &v.host)));
    }

    let sec = &spec.security;
    // --init: the sealed copy of ourselves that PID 1 will run, and with
    // --privileged the host's /dev, whose nodes the container gets.
    // (Owned::none() where there is none: cheaper than an Option<Owned>)
    let init = if rec.init { t!(confine::sealed_self()) } else { Owned::none() };
    let host_dev = if sec.privileged { sys::open(b"/dev", sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap_or(Owned::none()) } else { Owned::none() };

    // `runc create`'s exec fifo, reached through /proc/self/fd once the
    // host's paths are gone.
    let gate = if spec.gate.is_empty() { Owned::none() } else { t!(sys::open(&spec.gate, sys::O_PATH, 0).ctx(m!("open"), &spec.gate)) };
    let console = if spec.console.is_empty() { Owned::none() } else { t!(sys::connect_unix(&spec.console).ctx(m!("connect to"), &spec.console)) };
    let pivoted = t!(enter_root(&spec.lower));

    t!(confine::own_dir(b"/proc"));
    t!(confine::mount_fs(b"proc", b"/proc", sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC, b""));

    t!(bind_volumes(rec, vols));
    // The old root is still stacked on "/" (our cwd) after a pivot, but
    // paths from our root resolve in the new one.
    t!(setup_dev());
    if host_dev.raw() >= 0 {
        host_nodes(host_dev.raw());
    }
    drop(host_dev);
    t!(confine::device_nodes(&spec.security.devices, &spec.nodes));
    if console.raw() >= 0 {
        let (m, s) = t!(sys::openpty().ctx(m!("open a pty /dev/ptmx"), b""));
        t!(sys::send_fd(console.raw(), m.raw()).ctx(m!("send the console"), b""));
        t!(stdio(s.raw(), s.raw(), s.raw(), true));
        core::mem::forget((m, s));
    }
    let bridge = spec.net.as_slice() == b"bridge";
    if bridge {
        t!(mkdir_all(b"/etc", 0o755).ctx(m!("create /etc"), b""));
        for i in 0..2 {
            // (by index, not an array of pairs built in this frame)
            let (f, data) = if i == 0 { (&b"/etc/hosts"[..], &spec.hosts) } else { (&b"/etc/resolv.conf"[..], &spec.resolv) };
            // never through a symlink of the image's
            let _ = sys::unlinkat(sys::AT_FDCWD, f, 0);
            let fd = sys::open(f, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC | sys::O_NOFOLLOW, 0o644);
            t!(fd.and_then(|fd| sys::write_all(fd.raw(), data)).ctx(m!("write"), f));
        }
    }
    // While the parent still makes the network namespace: the /proc
    // masks, --tmpfs, the user's lookup in the image's files (before the
    // workdir is entered as that user) and the bounding set (which takes
    // nothing from what this process may do).
    if !sec.privileged {
        t!(confine::mask(b"/proc", &sec.paths));
    }
    for t in &sec.tmpfs {
        let path = &t[..t.iter().position(|&c| c == b':').unwrap_or(t.len())];
        // tmpcopyup: what the image has there, copied in (as a tar stream
        // through a memfd), the directory read before the tmpfs hides it
        let below = if spec.copyup.iter().any(|c| c == path) { sys::open(path, sys::O_RDONLY | sys::O_DIRECTORY, 0).ok() } else { None };
        t!(confine::tmpfs(t));
        if let Some(d) = &below {
            t!(copy_up(d.raw(), path));
        }
        core::mem::forget(below);
    }
    if spec.mqueue {
        t!(confine::own_dir(b"/dev/mqueue"));
        t!(confine::mount_fs(b"mqueue", b"/dev/mqueue", sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC, b""));
    }
    // (used in place in the result, not copied out of it)
    let mut user = crate::engine::user::lookup(&sec.user);
    let user = match &mut user {
        Ok(u) => u,
        Err(e) => ch.fail(*e),
    };
    if let Some(g) = &spec.groups {
        user.groups = g.to_vec();
    }
    let env = with_home(&rec.env, &user.home);
    t!(confine::bound(sec));
    let ns = t!(ch.recv_netns());
    if ns.raw() >= 0 {
        // sync 2b: the network namespace the parent made meanwhile.
        t!(sys::setns(ns.raw(), sys::CLONE_NEWNET).ctx(m!("enter namespace net"), b""));
    }
    if !spec.sysctl.is_empty() {
        t!(sysctls(&spec.sysctl));
    }
    if pivoted {
        // Detach the old root. Its umount waits for an RCU grace period,
        // which is quick only once the parent's namespace setup (long RCU
        // read sections on the other CPU) is over: hence after sync 2b.
        t!(sys::umount2(b".", sys::MNT_DETACH).ctx(m!("detach the old root"), b""));
    }
    t!(chdir(b"/"));
    if bridge {
        t!(eth0(spec));
    }
    t!(confine::own_dir(b"/sys"));
    let ro = if sec.privileged || spec.sys_rw { 0 } else { sys::MS_RDONLY };
    t!(confine::mount_fs(b"sysfs", b"/sys", sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC | ro, b""));
    if !sec.privileged {
        t!(confine::mask(b"/sys", &sec.paths));
        t!(confine::mask(b"", &sec.paths));
    }
    t!(mkdir_all(&rec.workdir, 0o755).ctx(m!("create working directory"), &rec.workdir));
    if sec.read_only {
        t!(confine::read_only_root());
    }
    sys::umask(0o022);
    for (fd, d) in &tasks {
        t!(sys::write(fd.raw(), b"0").ctx(m!("join cgroup"), d));
    }
    drop(tasks); // (closed now, before exec did)
    if spec.share & sys::CLONE_NEWCGROUP == 0 {
        t!(cgroup_ns(cg, sec.privileged));
    }
    for r in &spec.rlimits {
        t!(sys::setrlimit(r[0] as i32, r[1], r[2]).ctx(m!("set rlimit"), b""));
    }
    t!(confine::drop_privileges(sec, user));
    t!(chdir(&rec.workdir));
    sys::reset_signals();
    if gate.raw() >= 0 {
        t!(hold(ch, gate.raw(), rec.argv.first().map_or(&b""[..], |p| p), &env));
    }
    if rec.init {
        // PID 1 from the sealed copy: every descriptor of ours closes at
        // this exec (the report pipe's EOF tells the parent it started).
        ch.fail(exec_init(init.raw(), &rec.argv, &env));
    }
    ch.fail(exec(&rec.argv, &env))
}

/// confine::cgroup_ns, out of `setup`'s frame.
#[inline(never)]
fn cgroup_ns(cg: &Cgroup, privileged: bool) -> Res<()> {
    confine::cgroup_ns(cg, privileged)
}

/// `runc create`: the program is looked up now (a missing one fails
/// `create`, as runc's does), `create` is told the container is ready
/// (the report pipe closes), and the exec waits until `start` opens the
/// fifo for reading (our open for writing blocks until then).
#[inline(never)]
fn hold(ch: &mut crate::engine::channel::Child, gate: Fd, prog: &[u8], env: &[Vec<u8>]) -> Res<()> {
    if let Some(e) = search(prog, env, &sys::access_x) {
        return Err(e);
    }
    ch.ready();
    let mut p = b"/proc/self/fd/".to_vec();
    crate::engine::util::push_num(&mut p, gate as u64);
    let w = sys::open(&p, sys::O_WRONLY, 0).ctx(m!("open the exec fifo"), b"")?;
    sys::write_all(w.raw(), b"0").ctx(m!("write the exec fifo"), b"")
}

/// OCI linux.sysctl, in the container's namespaces (the network one
/// entered): /proc/sys, read-only by now, is writable for the writes.
#[inline(never)]
fn sysctls(l: &[(Vec<u8>, Vec<u8>)]) -> Res<()> {
    const AT: &[u8] = b"/proc/sys";
    // (a read-only path of the config's, or not a mount of its own)
    let ro = confine::remount(AT, 0, m!("make read-only")).is_ok();
    for (k, v) in l {
        let mut p = join(AT, k);
        for c in &mut p[AT.len()..] {
            if *c == b'.' {
                *c = b'/';
            }
        }
        crate::engine::util::write_file(&p, v).ctx(m!("write"), &p)?;
    }
    if ro {
        confine::remount(AT, sys::MS_RDONLY, m!("make read-only"))?;
    }
    Ok(())
}

/// The tree under `src` copied into the directory `to`: written as a tar
/// stream to a memfd, then extracted (the engine's own tar code).
#[inline(never)]
fn copy_up(src: Fd, to: &[u8]) -> Res<()> {
    use crate::engine::tar;
    let m = sys::memfd().ctx(m!("copy up"), to)?;
    let mut w = tar::Writer::new(m.raw());
    w.tree(src, b"", sys::fstat(src).map_or(0, |s| s.dev), &|_| false)?;
    w.finish()?;
    sys::lseek(m.raw(), 0, sys::SEEK_SET).ctx(m!("copy up"), to)?;
    let dst = sys::open(to, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("open"), to)?;
    let mut s = crate::engine::stream::FdSource(m.raw());
    tar::extract(&mut tar::Reader::new(&mut s), dst.raw(), tar::Whiteouts::Apply).map(drop)
}

/// Runs the sealed copy of mydocker open at `fd` as `--init`'s PID 1.
#[inline(never)]
fn exec_init(fd: Fd, argv: &[Vec<u8>], env: &[Vec<u8>]) -> Error {
    let mut a = Vec::new();
    a.push(INIT_ARGV0.to_vec());
    a.extend_from_slice(argv);
    let e = sys::fexecve(fd, &a, env);
    Error::sys(m!("exec"), b"the init", e)
}

/// eth0 (created in our namespace by the parent, a veth peer): its
/// address, up, and the default route. (Out of line: in `setup`'s big
/// frame its error paths were 75 bytes more.)
#[inline(never)]
fn eth0(spec: &Spec) -> Res<()> {
    // (one error exit for the steps that name eth0)
    let (what, e) = 'failed: {
        let idx = match sys::ifindex(b"eth0") {
            Ok(i) => i,
            Err(e) => break 'failed (m!("find"), e),
        };
        if let Err(e) = crate::sys::netlink::addr_add(idx, spec.ip, spec.prefix) {
            break 'failed (m!("set the address of"), e);
        }
        match crate::sys::netlink::link_up(idx) {
            Ok(()) => (m!(""), 0),
            Err(e) => (m!("bring up"), e),
        }
    };
    if e != 0 {
        return Err(Error::sys(what, b"eth0", e));
    }
    if let Err(e) = crate::sys::netlink::default_route(spec.gateway) {
        // (the address spelled out only for the message)
        return Err(Error::sys(m!("add the default route via"), &crate::engine::config::fmt_ip(spec.gateway), e));
    }
    Ok(())
}

/// Binds the volumes (`vols`: their sources, open, in `rec.volumes`'
/// order). (Out of line: the source's Stat was in `setup`'s frame.)
#[inline(never)]
fn bind_volumes(rec: &Record, vols: Vec<Owned>) -> Res<()> {
    // Volumes are bound while the old root is still attached: a source
    // reached through a detached mount cannot be bind-mounted (EINVAL).
    for (v, fd) in rec.volumes.iter().zip(&vols) {
        // (the source's kind, through its descriptor: the same inode)
        let made = if sys::fstat(fd.raw()).map(|s| s.is_dir()).unwrap_or(true) {
            mkdir_all(&v.ctr, 0o755)
        } else {
            confine::mkdir_parent(&v.ctr);
            sys::open(&v.ctr, sys::O_WRONLY | sys::O_CREAT, 0o644).map(drop)
        };
        made.ctx(m!("create volume target"), &v.ctr)?;
        let mut src = b"/proc/self/fd/".to_vec();
        crate::engine::util::push_num(&mut src, fd.raw() as u64);
        sys::mount(&src, &v.ctr, b"", (sys::MS_BIND | sys::MS_REC) as _, b"").ctx(m!("mount volume on"), &v.ctr)?;
        if v.ro {
            confine::remount(&v.ctr, sys::MS_RDONLY, m!("make volume read-only"))?;
        }
    }
    drop(vols);
    Ok(())
}

/// argv[0] of `--init`'s PID 1, which `cli::verbs::main` recognises.
pub const INIT_ARGV0: &[u8] = b"mydocker-init";

/// The environment with HOME set from the user's passwd entry, unless the
/// container's environment has one (docker's rule).
pub fn with_home(env: &[Vec<u8>], home: &[u8]) -> Vec<Vec<u8>> {
    let mut v = env.to_vec();
    if crate::engine::util::env_get(env, b"HOME").is_none() {
        let mut h = b"HOME=".to_vec();
        h.extend_from_slice(if home.is_empty() { b"/" } else { home });
        v.push(h);
    }
    v
}

/// --privileged: the host's device nodes (its /dev, one level) on the
/// container's /dev, as docker gives them; what is there already stays.
fn host_nodes(dir: sys::Fd) {
    let Ok(list) = sys::read_dir(dir) else { return };
    for (name, _) in &list {
        let Ok(st) = sys::statat(dir, name, false) else { continue };
        if st.kind() == sys::S_IFCHR || st.kind() == sys::S_IFBLK {
            let (ma, mi) = st.dev_numbers();
            let _ = sys::mknodat(sys::AT_FDCWD, &join(b"/dev", name), st.mode, ma, mi);
        }
    }
}

/// The copy-mode root: `upper` holds the image's layers flattened (made on
/// first start; `<container>/copied` marks it done), bound over the mount
/// point in our private mount namespace.
fn copy_fallback(spec: &Spec) -> Res<()> {
    let cdir = &spec.upper[..spec.upper.iter().rposition(|&c| c == b'/').unwrap_or(0)];
    let marker = join(cdir, b"copied");
    if sys::lstat(&marker).is_err() {
        let d = sys::open(&spec.upper, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("open"), &spec.upper)?;
        crate::engine::image::flatten(&spec.store, &spec.layers, d.raw())?;
        drop(d);
        drop(sys::open(&marker, sys::O_WRONLY | sys::O_CREAT, 0o644).ctx(m!("create"), &marker)?);
    }
    sys::mount(&spec.upper, &spec.lower, b"", (sys::MS_BIND | sys::MS_REC) as _, b"").ctx(m!("bind mount"), &spec.upper)?;
    if nodev(spec) != 0 {
        sys::mount(b"", &spec.lower, b"", (sys::MS_BIND | sys::MS_REMOUNT | sys::MS_NODEV) as _, b"").ctx(m!("remount nodev"), &spec.upper)?;
    }
    Ok(())
}

/// A container that may not make device nodes (no CAP_MKNOD: dropped, or
/// a board without a devices cgroup) cannot use one its image carries.
fn nodev(spec: &Spec) -> libc::c_ulong {
    if spec.security.privileged || spec.security.caps & 1 << crate::engine::config::CAP_MKNOD != 0 {
        0
    } else {
        sys::MS_NODEV as _
    }
}

/// A new session with the given stdin/stdout/stderr (a pty slave becomes
/// the controlling terminal); only 0, 1 and 2 survive exec (the error pipe
/// closes itself on success).
pub fn stdio(i: Fd, o: Fd, e: Fd, tty: bool) -> Res<()> {
    sys::setsid();
    for (to, from) in [i, o, e].into_iter().enumerate() {
        sys::dup2(from, to as Fd).ctx(m!("set up stdio"), b"")?;
    }
    if tty {
        sys::set_ctty(0).ctx(m!("set the controlling terminal"), b"")?;
    }
    sys::cloexec_from(3);
    Ok(())
}

/// Blocks the signals a waiting process takes over and returns a signalfd
/// for `wanted` (blocked before any fork, so none is lost).
pub fn signals(wanted: &[i32]) -> Res<Owned> {
    sys::block(&sys::FORWARDED).ctx(m!("block signals"), b"")?;
    sys::signalfd(wanted).ctx(m!("signalfd"), b"")
}

/// overlayfs options split on ',' and ':'; a backslash escapes them.
pub fn opt_escape(v: &mut Vec<u8>, s: &[u8]) {
    for &c in s {
        if c == b',' || c == b':' || c == b'\\' {
            v.push(b'\\');
        }
        v.push(c);
    }
}

/// chdir, its error naming the directory (one copy of the sequence).
#[inline(never)]
pub fn chdir(dir: &[u8]) -> Res<()> {
    sys::chdir(dir).ctx(m!("chdir to"), dir)
}

/// Makes `new` the root: pivot_root where it works, else (initramfs `/`,
/// where pivot_root fails with EINVAL) move the mount over `/` and chroot.
/// Returns true after a pivot: the old root is then still stacked on the
/// cwd, for the caller to detach once the volumes are bound.
fn enter_root(new: &[u8]) -> Res<bool> {
    chdir(new)?;
    match sys::pivot_root(b".", b".") {
        Ok(()) => Ok(true),
        Err(sys::EINVAL) => {
            sys::mount(new, b"/", b"", sys::MS_MOVE as _, b"").ctx(m!("move the root mount"), new)?;
            sys::chroot(b".").ctx(m!("chroot to"), new)?;
            Ok(false)
        }
        Err(e) => Err(Error::sys(m!("pivot_root to"), new, e)),
    }
}

/// A minimal /dev: the usual nodes on a tmpfs (nosuid, noexec, 64 MiB),
/// a private devpts, and /dev/shm as a sticky world-writable directory of
/// that tmpfs (docker mounts a second 64 MiB tmpfs there; one mount fewer
/// to make and to tear down per container).
fn setup_dev() -> Res<()> {
    confine::own_dir(b"/dev")?;
    confine::mount_fs(b"tmpfs", b"/dev", sys::MS_NOSUID | sys::MS_NOEXEC, b"mode=755,size=65536k")?;
    let dir = sys::open(b"/dev", sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("open /dev"), b"")?;
    let d = dir.raw();
    // (one error exit for the three loops: each `.ctx` call was code)
    let (name, e) = 'failed: {
        // (space-separated names walked with their numbers: tables of
        // slices were 16 bytes of pointer and length per name)
        static NUMS: [(u8, u8); 6] = [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)];
        for (name, &(maj, min)) in fields(b"null zero full random urandom tty", b' ').zip(&NUMS) {
            if let Err(e) = sys::mknodat(d, name, sys::S_IFCHR | 0o666, maj as u32, min as u32) {
                break 'failed (name, e);
            }
        }
        // Name, target, name, target...
        let mut l = fields(b"fd /proc/self/fd stdin /proc/self/fd/0 stdout /proc/self/fd/1 stderr /proc/self/fd/2 ptmx pts/ptmx core /proc/kcore", b' ');
        while let (Some(name), Some(target)) = (l.next(), l.next()) {
            if let Err(e) = sys::symlinkat(target, d, name) {
                break 'failed (name, e);
            }
        }
        for (i, mode) in [0o755, 0o1777].into_iter().enumerate() {
            let name = &b"ptsshm"[i * 3..i * 3 + 3];
            if let Err(e) = sys::mkdirat(d, name, mode) {
                break 'failed (name, e);
            }
        }
        drop(dir);
        return confine::mount_fs(b"devpts", b"/dev/pts", sys::MS_NOSUID | sys::MS_NOEXEC, b"newinstance,ptmxmode=0666,mode=0620,gid=5");
    };
    Err(Error::sys(m!("create /dev/"), name, e))
}

/// Looks the program up in the container's PATH (or the default) and execs
/// it. Returns only on failure: 127 if nothing was found, 126 if something
/// was found but cannot be run.
pub fn exec(argv: &[Vec<u8>], env: &[Vec<u8>]) -> Error {
    let prog = &argv[0];
    // (execve returns only on failure: never None)
    search(prog, env, &|p| sys::execve(p, argv, env)).unwrap_or_else(|| exec_error(prog, 0))
}

/// The program's lookup, one shape for `exec` and `hold`: `prog` itself
/// if it names a path, else each directory of the environment's PATH (or
/// the default) in turn, `try_it` on each candidate (an execve, which
/// returns only on failure, or an access check: 0, it would run). None
/// once one works; else the first error that is not a missing file, or
/// "not found" if all were missing.
pub(crate) fn search(prog: &[u8], env: &[Vec<u8>], try_it: &dyn Fn(&[u8]) -> sys::Errno) -> Option<Error> {
    let mut seen = 0;
    if prog.contains(&b'/') {
        seen = try_it(prog);
    } else {
        let path = crate::engine::util::env_get(env, b"PATH").unwrap_or(crate::engine::config::DEFAULT_PATH);
        for dir in crate::engine::util::fields(path, b':') {
            match try_it(&join(if dir.is_empty() { b"." } else { dir }, prog)) {
                0 => return None,
                sys::ENOENT | sys::ENOTDIR => {}
                e => {
                    if seen == 0 {
                        seen = e;
                    }
                }
            }
        }
        if seen == 0 {
            return Some(Error::quoted(m!("exec"), prog, m!("executable file not found in $PATH")).code(EXIT_NOT_FOUND));
        }
    }
    if seen == 0 {
        return None;
    }
    // (one call for both: a path, or the first candidate found not runnable)
    Some(exec_error(prog, seen))
}

/// `exec "prog": <why>`.
fn exec_error(prog: &[u8], e: sys::Errno) -> Error {
    let code = if e == sys::ENOENT || e == sys::ENOTDIR { EXIT_NOT_FOUND } else { EXIT_CANNOT_INVOKE };
    let why = match e {
        sys::ENOENT => m!("no such file or directory"),
        sys::EACCES => m!("permission denied"),
        sys::ENOEXEC => m!("exec format error"),
        _ => return Error::quoted_b(m!("exec"), prog, b"").errno(e).code(code),
    };
    Error::quoted(m!("exec"), prog, why).code(code)
}

/// `--init`'s PID 1 (run from a sealed copy of mydocker, see `setup`):
/// run the program as PID 2, forward every signal to it, reap every
/// orphan, and exit with the program's status.
pub fn mini_init(argv: &[Vec<u8>], env: &[Vec<u8>]) -> ! {
    let Ok(sfd) = signals(&sys::FORWARDED) else { sys::exit(EXIT_CANNOT_INVOKE) };
    let Ok(child) = sys::fork() else { sys::exit(EXIT_CANNOT_INVOKE) };
    if child == 0 {
        drop(sfd);
        sys::reset_signals();
        let e = exec(argv, env);
        crate::engine::util::eprint(&e);
        sys::exit(e.exit_code());
    }
    let mut code = None;
    loop {
        if let Ok(sig) = sys::read_signal(sfd.raw()) {
            if sig != sys::SIGCHLD {
                let _ = sys::kill(child, sig);
                continue;
            }
        }
        while let Ok((pid, st)) = sys::waitpid(-1, sys::WNOHANG) {
            if pid <= 0 {
                break;
            }
            if pid == child {
                code = Some(sys::status_code(st));
            }
        }
        if let Some(c) = code {
            sys::exit(c);
        }
    }
}

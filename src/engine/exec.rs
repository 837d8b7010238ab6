//! `mydocker exec`: run a program inside a running container: its pid,
//! mount, network, ipc and uts namespaces, its root, its cgroups and its
//! environment (plus `-e`). Exit status follows `run`'s rules.
//!
//! The CLI opens the namespaces of the container's init through /proc,
//! then checks the pid's start time again: if the container died and the
//! pid was reused in between, nothing is entered and nothing runs.
//! The process gets the container's confinement (capabilities, seccomp,
//! user), with `-u` and `--privileged` as docker's exec takes them.

use crate::engine::cgroup::{Cgroup, Layout, SHARED};
use crate::engine::channel::{self, Never};
use crate::engine::config::{ExecOpts, CAP_SYS_PTRACE};
use crate::engine::confine;
use crate::engine::container;
use crate::engine::devices::Mechanism;
use crate::engine::init;
use crate::engine::init::Stdio;
use crate::engine::state::{self, Root};
use crate::engine::util::{self, join, Ctx, Error, Kind, Res, EXIT_CANNOT_INVOKE};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;
use core::mem::ManuallyDrop;

/// What the CLI opens in /proc/PID/ns: the four namespaces it enters
/// first (the first 15 bytes), then the pid namespace and the root.
const NS: &[u8] = b"ipc uts net mnt pid ../root";

/// `container NAME: is not running ...` (written in place: no Vec made).
fn not_running(name: &[u8]) -> Error {
    Error::text(m!("container ")).append(name).more(m!(": is not running (start it first)"))
}

#[inline(never)]
/// `me`, `my_env`: this process's argv and environment, for running again
/// from a sealed copy (see below).
pub fn exec(root: &Root, o: ExecOpts, me: &[Vec<u8>], my_env: &[Vec<u8>]) -> Res<i32> {
    if sys::geteuid() != 0 {
        return util::err(b"exec", m!("mydocker must run as root"));
    }
    // (used in place, through a reference: moved out of the result, the
    // record was copied whole into a second slot of a 1.8 KB frame)
    let mut found = state::find(root, &o.container);
    let r = match &mut found {
        Ok(r) => r,
        Err(_) => return found.map(|_| 0),
    };
    let (fds, cgns) = namespaces(r, &o.container)?;
    // (changed in place in the record, neither cloned (Security::clone was
    // 365 bytes) nor moved out (a copy in the frame))
    let privileged = r.security.privileged;
    let sec = &mut r.security;
    sec.privileged |= o.privileged;
    if let Some(u) = &o.user {
        sec.user = u.to_vec();
    }
    for e in &o.env {
        util::env_set(&mut r.env, e);
    }
    enter(r, fds, cgns, &o, privileged, me, my_env, Owned::none(), -1)
}

/// The namespaces (NS) and cgroup namespace (none before Linux 4.6) of
/// `r`'s init, open; an error if it is not running (then, or by the time
/// they are open).
pub fn namespaces(r: &state::Record, name: &[u8]) -> Res<(Vec<Owned>, Owned)> {
    if !r.alive() {
        return Err(not_running(name));
    }
    // The namespaces of NS: the four entered first, the pid one, the root.
    let mut ns = b"/proc/".to_vec();
    util::push_num(&mut ns, r.pid as u64);
    ns.extend_from_slice(b"/ns");
    // (a loop: the iterator chain collected into an Option was 500 bytes)
    let mut fds = Vec::new();
    let mut missing = false;
    for n in util::fields(NS, b' ') {
        match sys::open(&join(&ns, n), sys::O_RDONLY, 0) {
            Ok(f) => fds.push(f),
            Err(_) => missing = true,
        }
    }
    // (none before Linux 4.6, and none to enter then)
    let cgns = sys::open(&join(&ns, b"cgroup"), sys::O_RDONLY, 0).unwrap_or(Owned::none());
    // Same pid, same start time: these are the container's namespaces.
    if missing || !r.alive() {
        return Err(not_running(name));
    }

    Ok((fds, cgns))
}

/// The common part of docker's `exec` and the OCI runtime's: `r` with the
/// process's settings, `fds` its namespaces and root (NS), `privileged`
/// the container's own. `console`: a unix socket that gets the master of
/// a pty made in the container (`exec --tty --console-socket`);
/// `pid_file`: where its host pid goes (open: the host's paths are gone by then).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn enter(
    r: &mut state::Record,
    fds: Vec<Owned>,
    cgns: Owned,
    o: &ExecOpts,
    privileged: bool,
    me: &[Vec<u8>],
    my_env: &[Vec<u8>],
    console: Owned,
    pid_file: Fd,
) -> Res<i32> {
    // What is open is held in ManuallyDrop and closed by hand where the
    // program's start needs it closed: an error ends this process (the
    // CLI reports it and exits), which closes the rest, so no error path
    // carries drop code for whatever is open at that point.
    let (fds, cgns, console) = (ManuallyDrop::new(fds), ManuallyDrop::new(cgns), ManuallyDrop::new(console));
    let sec = &mut r.security;
    // Between its fork and its execve, the program is a copy of this
    // process, visible in the container. Undumpable, it is out of reach of
    // a container without CAP_SYS_PTRACE; one with it (or privileged)
    // could open its /proc/PID/exe: then this process first runs again
    // from a sealed in-memory copy of mydocker (CVE-2019-5736, as runc),
    // so what can be reached is that copy, never the host's binary.
    if (sec.privileged || sec.caps & 1 << CAP_SYS_PTRACE != 0) && !sys::readlinkat(sys::AT_FDCWD, b"/proc/self/exe").is_ok_and(|p| p.starts_with(b"/memfd:")) {
        let copy = confine::sealed_self()?;
        let e = sys::fexecve(copy.raw(), me, my_env);
        return Err(Error::sys(m!("exec"), b"a sealed copy of mydocker", e));
    }
    let env = &r.env;
    let workdir: &[u8] = o.workdir.as_deref().unwrap_or(&r.workdir);
    let tty = o.tty && !o.detach && sys::isatty(0);
    let sfd = ManuallyDrop::new(init::signals(&sys::FORWARDED)?);
    let null = ManuallyDrop::new(sys::open(b"/dev/null", sys::O_RDWR, 0).ctx(m!("open /dev/null"), b"")?);
    let (mut io, pty) = if tty {
        let (m, s) = sys::openpty().ctx(m!("open a pty /dev/ptmx"), b"")?;
        sys::copy_winsize(0, m.raw());
        (Stdio { stdin: s.raw(), stdout: s.raw(), stderr: s.raw() }, ManuallyDrop::new((m, s)))
    } else if o.detach && !o.keep_stdio {
        (Stdio { stdin: null.raw(), stdout: null.raw(), stderr: null.raw() }, ManuallyDrop::new((Owned::none(), Owned::none())))
    } else {
        (Stdio { stdin: if o.interactive || o.keep_stdio { 0 } else { null.raw() }, stdout: 1, stderr: 2 }, ManuallyDrop::new((Owned::none(), Owned::none())))
    };
    // The container's cgroups, open while their host paths are visible.
    let cg = Cgroup::from_dirs(&r.cgroups);
    let mut joins = ManuallyDrop::new(Vec::new());
    for (d, f) in cg.v2.iter().map(|d| (d, &b"cgroup.procs"[..])).chain(cg.v1.iter().map(|d| (d, &b"tasks"[..]))) {
        joins.push(sys::open(&join(d, f), sys::O_WRONLY, 0).map_err(|_| not_running(&o.container))?);
    }
    // A confined container with no devices cgroup of its own (v1) is in
    // the shared one, which its record does not name; a host without any
    // devices cgroup takes CAP_MKNOD from it, as `run` and `start` do.
    // (the container's limits: its devices hierarchy is found as with
    // none, and no default Limits is built in this frame)
    let layout = Layout::for_limits(&r.limits);
    if !privileged && layout.devices() == Mechanism::NoCgroup {
        sec.caps &= !(1 << crate::engine::config::CAP_MKNOD);
    }
    if let Some(h) = layout.find(b"devices").filter(|_| !privileged) {
        // (its own devices cgroup, if it has one, is among its cgroups)
        let own = join(&h.mount, b"");
        if !r.cgroups.iter().any(|c| c.starts_with(&own)) {
            let d = join(&h.mount, SHARED);
            joins.push(sys::open(&join(&d, b"tasks"), sys::O_WRONLY, 0).ctx(m!("join cgroup"), &d)?);
        }
    }

    // This process enters the container now, whole: its cgroups, every
    // namespace but the pid one, its root, and the confinement of its
    // processes (bounding set, seccomp, user, capabilities). Only then does
    // it fork the program, which is born in the pid namespace with nothing
    // more than the container's own processes have: no window in which a
    // container process (even one granted CAP_SYS_PTRACE) could take over
    // a privileged mydocker. This process stays invisible to the container
    // (outside its pid namespace), relays and waits, undumpable throughout.
    sys::undumpable();
    for j in joins.iter() {
        sys::write(j.raw(), b"0").ctx(m!("join cgroup"), b"")?;
    }
    drop(ManuallyDrop::into_inner(joins)); // (through a reference, then closed: no IntoIter drop glue)

    // (the names as one string: a table of slices was 16 bytes a name; by
    // index, NS's names 3 bytes each, 4 apart: no iterator state in this frame)
    for (i, flag) in [sys::CLONE_NEWIPC, sys::CLONE_NEWUTS, sys::CLONE_NEWNET, sys::CLONE_NEWNS].into_iter().enumerate() {
        sys::setns(fds[i].raw(), flag).ctx(m!("enter namespace"), &NS[i * 4..i * 4 + 3])?;
    }
    if cgns.raw() >= 0 {
        sys::setns(cgns.raw(), sys::CLONE_NEWCGROUP).ctx(m!("enter namespace cgroup"), b"")?;
    }
    // The container's root (after setns the root is the namespace's, which
    // is not the container's on the MS_MOVE + chroot path).
    sys::fchdir(fds[5].raw()).and_then(|_| sys::chroot(b".")).ctx(m!("enter the container root"), b"")?;
    // `--console-socket`: a pty of the container's devpts (its /dev/ptmx).
    let mut ours = ManuallyDrop::new(Owned::none());
    if console.raw() >= 0 {
        let (m, s) = sys::openpty().ctx(m!("open a pty /dev/ptmx"), b"")?;
        sys::send_fd(console.raw(), m.raw()).ctx(m!("send the console"), b"")?;
        io = Stdio { stdin: s.raw(), stdout: s.raw(), stderr: s.raw() };
        *ours = s;
    }
    // (used in place in the result, not copied out of it)
    let user = crate::engine::user::lookup(&sec.user);
    let user = match &user {
        Ok(u) => u,
        Err(e) => return Err(e.code(EXIT_CANNOT_INVOKE)),
    };
    let env = init::with_home(env, &user.home);
    // Children of ours are born in the container's pid namespace.
    sys::setns(fds[4].raw(), sys::CLONE_NEWPID).map_err(|_| not_running(&o.container))?;
    drop((ManuallyDrop::into_inner(fds), ManuallyDrop::into_inner(cgns)));
    confine::bound(sec)?;
    confine::drop_privileges(sec, user)?;
    let ends = channel::open(false, false)?;
    // sync 1 (there is no spec and no namespace to hand over: sync 3 next).
    let spawned = channel::spawn_in(-1, 0, ends, &|_| child(workdir, &io, tty || ours.raw() >= 0, &o.cmd, &env));
    drop((ManuallyDrop::into_inner(null), ManuallyDrop::into_inner(ours)));
    // A pid namespace whose init is gone takes no new process.
    let (pid, parent) = match spawned {
        Ok(p) => p,
        Err(e) if e.kind() == Kind::Spawn => return Err(not_running(&o.container)),
        Err(e) => return Err(e),
    };
    parent.await_exec(pid)?; // sync 3
    if pid_file >= 0 {
        sys::write_all(pid_file, &util::num(pid as u64)).ctx(m!("write the pid file"), b"")?;
    }
    if o.detach {
        return Ok(0); // the process is reparented (to a subreaper, or init)
    }
    // The pty's slave end is the program's now: we keep the master.
    let (master, _) = ManuallyDrop::into_inner(pty);
    // (the terminal raw while a pty relays: see wait_loop)
    Ok(container::wait_loop(pid, sfd.raw(), master, if o.interactive { 0 } else { -1 }, 1, true, None, None))
}

fn child(workdir: &[u8], io: &Stdio, tty: bool, argv: &[Vec<u8>], env: &[Vec<u8>]) -> Res<Never> {
    init::stdio(io.stdin, io.stdout, io.stderr, tty)?;
    init::chdir(workdir).map_err(|e| e.code(EXIT_CANNOT_INVOKE))?;
    sys::umask(0o022);
    sys::reset_signals();
    Err(init::exec(argv, env))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_four_namespaces_entered_first() {
        assert_eq!(&super::NS[..15], b"ipc uts net mnt");
    }
}

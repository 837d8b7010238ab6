//! The start protocol, both ends side by side. A container's first process
//! (`run`, `start`) and an `exec`'ed one are released in numbered steps;
//! the parent's call and the child's call of each step stand together
//! below, under the same number:
//!
//!   sync 1  parent: clone() into every namespace but the network one;
//!           the child, which has the spec already (clone copied the
//!           parent's memory, so every byte arrives exactly as given),
//!           blocks on the start pipe (run) or goes straight on (exec).
//!   sync 2  parent: writes one byte and closes its end; EOF releases the
//!           child. (Nothing: the parent gave up before starting it and
//!           reports why itself; the child exits quietly.)
//!   sync 2b parent: makes the network namespace meanwhile (the slowest
//!           step) and sends it over a socket pair (SCM_RIGHTS); the child
//!           enters it once its root is built. Not with --network host.
//!   sync 3  child: execs. The report pipe is close-on-exec, so EOF tells
//!           the parent the program runs; otherwise the child writes one
//!           error record and exits, and the parent reaps it.
//!
//! A `create` that stops short of `start` (runc's verbs) adds one step
//! between 2b and 3: the child, set up and joined to its cgroups, blocks on
//! a start pipe of its own until `start` opens it.
//!
//! Every descriptor is owned (`sys::fd::Owned`) by the end that uses it,
//! and an end drops the other side's descriptors right after clone.
//!
//! An error record is one byte of exit class (125/126/127) and the message.

use crate::engine::cgroup::Cgroup;
use crate::engine::util::{self, Ctx, Error, Kind, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;
use core::mem::ManuallyDrop;

/// The parent's ends.
/// (Owned::none() for an end there is not: cheaper than Option<Owned>.)
pub struct Parent {
    spec: Owned,
    netns: Owned,
    report: Owned,
}

/// The child's ends.
pub struct Child {
    spec: Owned,
    netns: Owned,
    report: Owned,
}

/// The end, leaving none in its place.
fn take(o: &mut Owned) -> Owned {
    core::mem::replace(o, Owned::none())
}

/// The descriptors of one start: a start pipe (`spec`), a socket pair for
/// the network namespace (`netns`), and the report pipe (always).
pub fn open(spec: bool, netns: bool) -> Res<(Parent, Child)> {
    // (made straight into their places; a failure leaves what was made
    // to the process's end, close-on-exec: no drop code on its path)
    let none = || (Owned::none(), Owned::none());
    let (spec_r, spec_w) = if spec { sys::pipe().ctx(m!("pipe"), b"")? } else { none() };
    let (spec_r, spec_w) = (ManuallyDrop::new(spec_r), ManuallyDrop::new(spec_w));
    let (ns_p, ns_c) = if netns { sys::socketpair().ctx(m!("socketpair"), b"")? } else { none() };
    let (ns_p, ns_c) = (ManuallyDrop::new(ns_p), ManuallyDrop::new(ns_c));
    let (rep_r, rep_w) = sys::pipe().ctx(m!("pipe"), b"")?;
    let i = ManuallyDrop::into_inner;
    Ok((Parent { spec: i(spec_w), netns: i(ns_p), report: rep_r }, Child { spec: i(spec_r), netns: i(ns_c), report: rep_w }))
}

/// Never returns: a child that got to the end of its setup has exec'ed.
pub enum Never {}

/// sync 1: clones the child into `cg` (v2: born there by clone3's
/// CLONE_INTO_CGROUP where the kernel has it, 5.7+; else it moves itself)
/// with the namespaces of `flags`, and runs `child` in it with its ends;
/// the parent's ends are closed there first. Returns the child's pid and
/// the parent's ends. A failed clone is an error of kind `Spawn`.
#[inline(never)]
pub fn spawn(cg: &Cgroup, flags: i32, ends: (Parent, Child), child: &dyn Fn(&mut Child) -> Res<Never>) -> Res<(i32, Parent)> {
    // A cgroup that is not there (removed by a concurrent rm) fails here.
    let mut fd = Owned::none();
    if let Some(d) = &cg.v2 {
        fd = sys::open(d, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("join cgroup"), d)?;
    }
    spawn_in(fd.raw(), flags, ends, child)
}

/// `spawn` into the v2 cgroup open at `cg` (-1: none; a descriptor works
/// in any mount namespace: `exec` has entered the container's before it
/// clones).
pub fn spawn_in(cg: Fd, flags: i32, ends: (Parent, Child), child: &dyn Fn(&mut Child) -> Res<Never>) -> Res<(i32, Parent)> {
    let (parent, mut mine) = ends;
    let (pid, born_in) = match if cg >= 0 { sys::clone_into_cgroup(flags, cg) } else { Err(sys::ENOSYS) } {
        Ok(p) => (p, true),
        Err(_) => (sys::clone(flags).map_err(|e| Error::sys(m!("clone"), b"new namespaces", e).of(Kind::Spawn))?, false),
    };
    if pid != 0 {
        return Ok((pid, parent));
    }
    drop(parent);
    if cg >= 0 && !born_in {
        if let Err(e) = sys::openat(cg, b"cgroup.procs", sys::O_WRONLY, 0).and_then(|f| sys::write(f.raw(), b"0")).ctx(m!("join cgroup"), b"") {
            mine.fail(e)
        }
    }
    let e = match child(&mut mine) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    mine.fail(e)
}

// ---------------------------------------------------------------- sync 2

impl Parent {
    /// sync 2: one byte, then EOF, which releases the child.
    pub fn release(&mut self) {
        let w = take(&mut self.spec);
        if w.raw() >= 0 {
            let _ = sys::write_all(w.raw(), b"1");
        }
    }
}

impl Child {
    /// sync 2: waits for the start pipe's byte and EOF. Nothing: the
    /// parent gave up and reports why itself.
    pub fn await_release(&mut self) -> Res<()> {
        // (no start pipe, never the case: a read error, EBADF)
        let r = take(&mut self.spec);
        let mut buf = Vec::new();
        sys::read_to_end(r.raw(), &mut buf).ctx(m!("read the start pipe"), b"")?;
        if buf.is_empty() {
            sys::exit(util::EXIT_MYDOCKER);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- sync 2b

impl Parent {
    /// Whether the child waits for a network namespace (not --network host).
    pub fn wants_netns(&self) -> bool {
        self.netns.raw() >= 0
    }
    /// sync 2b: the network namespace `ns`.
    pub fn send_netns(&mut self, ns: Fd) -> Res<()> {
        // (none, never the case: `wants_netns` said so; a send error, EBADF)
        let s = take(&mut self.netns);
        sys::send_fd(s.raw(), ns).ctx(m!("send the network namespace"), b"")
    }
}

impl Child {
    /// sync 2b: the network namespace, if one is coming (else none).
    pub fn recv_netns(&mut self) -> Res<Owned> {
        let s = take(&mut self.netns);
        if s.raw() < 0 {
            return Ok(Owned::none());
        }
        sys::recv_fd(s.raw()).ctx(m!("receive the network namespace"), b"")
    }
}

// ---------------------------------------------------------------- sync 3

impl Parent {
    /// sync 3: EOF on the close-on-exec report pipe means the program was
    /// exec'ed; an error record means it was not (the child is reaped).
    pub fn await_exec(self, pid: i32) -> Res<()> {
        drop((self.spec, self.netns));
        let mut rep = Vec::new();
        let _ = sys::read_to_end(self.report.raw(), &mut rep);
        if rep.is_empty() {
            return Ok(());
        }
        let _ = sys::waitpid(pid, 0);
        Err(decode(&rep))
    }
}

impl Child {
    /// Ready without an exec yet (`runc create`): the report pipe closes
    /// here, and a later failure is the container's own exit.
    pub fn ready(&mut self) {
        drop(take(&mut self.report));
    }
    /// sync 3, failed: one error record to the parent, and exit.
    pub fn fail(&mut self, e: Error) -> ! {
        if self.report.raw() < 0 {
            // after `ready`: the container's own stderr
            util::eprint(&e);
        }
        let _ = sys::write_all(self.report.raw(), &encode(&e));
        sys::exit(e.exit_code())
    }
}

// ---------------------------------------------------------------- monitor

/// A detached container's monitor tells the CLI once whether the start
/// worked: one byte 0, or an error record; nothing (it died) is an error.
pub struct Report(Owned);
pub struct Reporter(Owned);

pub fn report_pipe() -> Res<(Report, Reporter)> {
    let (r, w) = sys::pipe().ctx(m!("pipe"), b"")?;
    Ok((Report(r), Reporter(w)))
}

impl Reporter {
    pub fn send(self, r: &Res<()>) {
        let rec = match r {
            Ok(()) => [0].to_vec(),
            Err(e) => encode(e),
        };
        let _ = sys::write_all(self.0.raw(), &rec);
    }
}

impl Report {
    pub fn wait(self) -> Res<()> {
        let mut rep = Vec::new();
        let _ = sys::read_to_end(self.0.raw(), &mut rep);
        match rep.first() {
            Some(0) => Ok(()),
            None => Err(Error::text(m!("monitor: exited without a report")).of(Kind::Lost)),
            Some(_) => Err(decode(&rep)),
        }
    }
}

fn encode(e: &Error) -> Vec<u8> {
    let mut v = Vec::new();
    v.push(e.exit_code() as u8);
    v.extend_from_slice(&e.msg());
    v
}

fn decode(b: &[u8]) -> Error {
    Error::raw(b[0] as i32, &b[1..])
}

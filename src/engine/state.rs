//! On-disk state. Layout under the root (default /var/lib/mydocker):
//!
//!   lock                       flock(2) taken for name/id allocation
//!   images/<name>/rootfs/      an image: read-only lower layer
//!   images/<name>/meta         created time, size
//!   containers/<id>/config     the record: a length-prefixed blob of what
//!                              never changes, then key=value lines
//!   containers/<id>/upper,work the write layer, overlay's work dir
//!   containers/<id>/log        stdout+stderr of a detached container
//!
//! The run-time directory also holds `names/<name>`, a symlink to the id
//! that holds the name (see `claim_name`).
//!
//! A `--rm` container keeps the same layout under the run-time directory
//! instead (/run/mydocker, or <root>/run with --root): everything of it
//! goes when it exits, so it lives on a tmpfs, which mydocker mounts there
//! when that directory is not one already. Its write layer is then memory.
//!
//! A record is written whole atomically (tmp + rename) once, when the
//! container is created; later changes (pid, status, exit code) are
//! appended as key=value lines in one write(2) each, and the last value of
//! a key wins. A torn append (no final newline) is ignored by readers. On
//! this kind of disk each file created or renamed costs 100-200 µs, so
//! `run` pays for one. A record's status is only a hint: `alive()` checks
//! the pid *and* its start time, so a recycled pid is never taken for the
//! container.

use crate::engine::config::{Limits, Volume};
use crate::engine::util::{join, mkdir_all, parse_i64, parse_u64, read_file, write_atomic, Ctx, Error, Res};
use crate::sys::{self, fd::Owned};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI32, Ordering::Relaxed};

pub const DEFAULT_ROOT: &[u8] = b"/var/lib/mydocker";

pub struct Root {
    pub dir: Vec<u8>,
    /// Run-time state: the records and write layers of `--rm` containers.
    pub run: Vec<u8>,
    /// false with MYDOCKER_OVERLAY=0: use the copy fallback even where
    /// overlayfs works (for tests, and for boards with a broken overlay).
    pub overlay: bool,
}

/// An flock(2) held until dropped (its descriptor closes after this
/// runs); `Owned::none()`: a nested take of the state lock. (Not an
/// Option<Owned>: +560 bytes of moves and drop checks on x86_64.)
pub struct Lock(Owned);
impl Lock {
    /// No lock: its drop releases nothing.
    pub fn none() -> Lock {
        Lock(Owned::none())
    }
}
impl Drop for Lock {
    fn drop(&mut self) {
        // A load and a store, not compare_exchange (one thread): on
        // aarch64 a CAS is a call into the outline-atomics helpers, which
        // bring a CPU-feature probe run at start-up (1 KB).
        if HELD.load(Relaxed) == self.0.raw() {
            HELD.store(-1, Relaxed);
        }
    }
}

/// The state lock's descriptor while this process holds it: taking it
/// again (a dead `--rm` container reaped during a name check releases its
/// lease) nests, where a second open file would wait for itself forever.
static HELD: AtomicI32 = AtomicI32::new(-1);

/// Locks a file or directory; `wait` false: fails if someone holds it.
pub fn lock_path(p: &[u8], wait: bool) -> sys::R<Lock> {
    let l = Lock(sys::open(p, sys::O_RDONLY, 0)?);
    sys::flock(l.0.raw(), wait).map(|_| l)
}

/// A directory of the state (mode 711), made with its parents where
/// missing. (One copy of the call and its error for `lock` and `runtime`.)
#[inline(never)]
pub fn state_dir(d: &[u8]) -> Res<()> {
    mkdir_all(d, 0o711).ctx(m!("create"), d)
}

impl Root {
    #[inline(never)]
    pub fn new(opt: Option<&[u8]>, env: &[Vec<u8>]) -> Root {
        let (dir, run) = match opt.or_else(|| crate::engine::util::env_get(env, b"MYDOCKER_ROOT").filter(|v| !v.is_empty())) {
            Some(d) => (d, join(d, b"run")),
            None => (DEFAULT_ROOT, b"/run/mydocker".to_vec()),
        };
        Root { dir: dir.to_vec(), run, overlay: crate::engine::util::env_get(env, b"MYDOCKER_OVERLAY") != Some(b"0") }
    }
    /// Where the container directories live: persistent, or run-time.
    pub fn containers_in(&self, run: bool) -> Vec<u8> {
        join(if run { &self.run } else { &self.dir }, b"containers")
    }
    pub fn images(&self) -> Vec<u8> {
        join(&self.dir, b"images")
    }
    pub fn image(&self, name: &[u8]) -> Vec<u8> {
        join(&self.images(), name)
    }
    /// Creates the skeleton if needed and takes the global state lock.
    pub fn lock(&self) -> Res<Lock> {
        let c = self.containers_in(false);
        state_dir(&c)?;
        let i = self.images();
        state_dir(&i)?;
        if HELD.load(Relaxed) >= 0 {
            return Ok(Lock(Owned::none()));
        }
        let p = join(&self.dir, b"lock");
        let l = Lock(sys::open(&p, sys::O_RDWR | sys::O_CREAT, 0o600).ctx(m!("open"), &p)?);
        sys::flock(l.0.raw(), true).ctx(m!("lock"), &p)?;
        HELD.store(l.0.raw(), Relaxed);
        Ok(l)
    }
    /// The run-time directory, on a tmpfs: mounted by us where the host
    /// has none there (under the state lock, so only once).
    pub fn runtime(&self) -> Res<()> {
        let d = self.containers_in(true);
        state_dir(&d)?;
        if sys::fs_magic(&self.run) != Ok(sys::TMPFS_MAGIC) {
            sys::mount(b"tmpfs", &self.run, b"tmpfs", (sys::MS_NOSUID | sys::MS_NODEV) as _, b"mode=711").ctx(m!("mount tmpfs on"), &self.run)?;
            state_dir(&d)?;
        }
        Ok(())
    }
}

/// Serialises every change of one container's life: run's and start's
/// launch, stop, rm, and the bookkeeping once it has exited (see
/// container.rs). flock(2) on its directory: it belongs to the open file,
/// so a forked monitor shares it (and keeps it if the CLI is killed) until
/// it closes its copy. `key`: what the user called it, for the error.
pub fn lock_container(root: &Root, r: &Record, key: &[u8]) -> Res<Lock> {
    lock_path(&r.dir(root), true).map_err(|_| Error::at(key, m!("no such container")))
}

#[derive(Debug, Default, PartialEq)]
#[cfg_attr(test, derive(Clone))]
/// (repr(C), in this order: the fields most used first, within the
/// 128 bytes a one-byte displacement reaches from a pointer to it.)
#[repr(C)]
pub struct Record {
    pub id: Vec<u8>,
    pub name: Vec<u8>,
    /// "" or "none", "host", or a bridge network's name.
    pub network: Vec<u8>,
    /// As last written; `alive()` says whether the process still runs.
    pub status: Status,
    pub init: bool,
    pub tty: bool,
    pub interactive: bool,
    pub detach: bool,
    pub auto_remove: bool,
    pub overlay: bool,
    pub pid: i32,
    pub monitor: i32,
    pub ip: u32,
    pub exit_code: Option<i32>,
    pub pid_start: u64,
    pub created: i64,
    pub started: i64,
    pub finished: i64,
    pub workdir: Vec<u8>,
    pub hostname: Vec<u8>,
    pub image: Vec<u8>,
    /// The image's ID (hex): what `start` mounts and `rmi` checks, whatever
    /// its tags become.
    pub image_id: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub cgroups: Vec<Vec<u8>>,
    pub volumes: Vec<Volume>,
    pub ports: Vec<crate::engine::config::Port>,
    pub limits: Limits,
    pub security: crate::engine::config::Security,
}

/// A container's status as its record last wrote it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Made, never started (or a start that failed before exec).
    #[default]
    Created,
    Running,
    Exited,
    /// A directory without a readable record: died half made.
    Dead,
}

impl Status {
    /// The words, in the order of the variants (one string: a table of
    /// slices was 16 bytes a word).
    const WORDS: &'static [u8] = b"created,running,exited,dead";
    pub fn word(self) -> &'static [u8] {
        crate::engine::util::nth_word(Status::WORDS, self as usize)
    }
    fn parse(w: &[u8]) -> Option<Status> {
        const ALL: [Status; 4] = [Status::Created, Status::Running, Status::Exited, Status::Dead];
        // The shared out-of-line lookup: the slice loop here was its own copy.
        crate::engine::util::word_index(Status::WORDS, w).map(|i| ALL[i])
    }
}

/// The `status=WORD` line that ends a record and every append.
#[inline(never)]
fn status_line(v: &mut Vec<u8>, s: Status) {
    v.extend_from_slice(b"status=");
    v.extend_from_slice(s.word());
    v.push(b'\n');
}

fn kn(v: &mut Vec<u8>, k: &[u8], n: i64) {
    v.extend_from_slice(k);
    v.push(b'=');
    if n < 0 {
        v.push(b'-');
    }
    crate::engine::util::push_num(v, n.unsigned_abs());
    v.push(b'\n');
}

/// The changing part: `key=value` lines, the last value of a key wins.
const LIVE: &[u8] = b"pid,pid_start,monitor,started,exit_code,finished,status";

/// The lines of `vals`, keyed from LIVE's key number `first` on, then the
/// status: the end of a record and every append (one copy of the loop).
#[inline(never)]
fn live(v: &mut Vec<u8>, first: usize, vals: &[i64], s: Status) {
    // (the shared word lookup: a skip iterator was 64 bytes more)
    let mut k = first;
    #[allow(clippy::explicit_counter_loop)]
    for &n in vals {
        kn(v, crate::engine::util::nth_word(LIVE, k), n);
        k += 1;
    }
    status_line(v, s);
}

impl Record {
    /// The fixed part (a length-prefixed blob, as the spec's encoding: exact
    /// bytes, no escaping), then the changing part as text lines.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = crate::engine::spec::W(Vec::new());
        for b in [&self.id, &self.name, &self.image, &self.hostname, &self.workdir, &self.network] {
            w.bytes(b);
        }
        w.list(&self.argv);
        w.list(&self.env);
        w.list(&self.cgroups);
        let l = &self.limits;
        for n in [
            self.created,
            self.ip as i64,
            l.memory.map_or(-1, |x| x as i64),
            l.cpu_quota.map_or(-1, |x| x as i64),
            l.cpu_shares.map_or(-1, |x| x as i64),
            l.pids.map_or(-1, |x| x as i64),
        ] {
            w.num(n);
        }
        w.bytes(l.cpuset_cpus.as_deref().unwrap_or(b"\0"));
        for f in [self.init, self.tty, self.interactive, self.detach, self.auto_remove, self.overlay] {
            w.flag(f);
        }
        // Lists written in place (as W::list would write them, built first).
        w.count(self.volumes.len() * 3);
        for v in &self.volumes {
            w.bytes(&v.host);
            w.bytes(&v.ctr);
            w.bytes(if v.ro { b"ro" } else { b"" });
        }
        w.count(self.ports.len());
        for p in &self.ports {
            w.bytes(&p.spec());
        }
        self.security.encode(&mut w);
        w.bytes(&self.image_id);
        let mut v = (w.0.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(&w.0);
        v.push(b'\n');
        let nums = [self.pid as i64, self.pid_start as i64, self.monitor as i64, self.started, self.exit_code.map_or(-1, |c| c as i64), self.finished];
        live(&mut v, 0, &nums, self.status);
        v
    }

    pub fn decode(b: &[u8]) -> Option<Record> {
        let mut rd = crate::engine::spec::Rd(b);
        let len = rd.u32()?;
        let (blob, rest) = rd.0.split_at_checked(len)?;
        // The latching reader: one exit for the whole blob, checked once
        // below (an early return per field was its own exit path).
        let mut d = crate::engine::spec::Lr { r: crate::engine::spec::Rd(blob), ok: true };
        let mut r = Record::default();
        for f in [&mut r.id, &mut r.name, &mut r.image, &mut r.hostname, &mut r.workdir, &mut r.network] {
            *f = d.bytes();
        }
        for f in [&mut r.argv, &mut r.env, &mut r.cgroups] {
            *f = d.list();
        }
        // Read in a loop, then placed: six inlined calls were 80 bytes more.
        let mut n = [0i64; 6];
        for x in &mut n {
            *x = d.num();
        }
        (r.created, r.ip) = (n[0], n[1] as u32);
        let l = &mut r.limits;
        let mut i = 2;
        // A counter, not zip: 16 bytes less.
        #[allow(clippy::explicit_counter_loop)]
        for f in [&mut l.memory, &mut l.cpu_quota, &mut l.cpu_shares, &mut l.pids] {
            *f = if n[i] < 0 { None } else { Some(n[i] as u64) };
            i += 1;
        }
        r.limits.cpuset_cpus = Some(d.bytes()).filter(|c| c.as_slice() != b"\0");
        for f in [&mut r.init, &mut r.tty, &mut r.interactive, &mut r.detach, &mut r.auto_remove, &mut r.overlay] {
            *f = d.flag();
        }
        // Whole triples, else no record. (Copied out by index: moving
        // them out of an iterator was 150 bytes of Option moves.)
        let vl = d.list();
        d.ok &= vl.len().is_multiple_of(3);
        for t in vl.chunks_exact(3) {
            r.volumes.push(Volume { host: t[0].clone(), ctr: t[1].clone(), ro: !t[2].is_empty() });
        }
        for p in &d.list() {
            match crate::engine::config::parse_port(p) {
                Ok(x) => r.ports.push(x),
                Err(_) => d.ok = false,
            }
        }
        // Records written before confinement existed have none: docker's defaults.
        if !d.r.0.is_empty() {
            r.security = crate::engine::config::Security::read(&mut d);
        }
        if !d.r.0.is_empty() {
            r.image_id = d.bytes();
        }
        // Only complete lines: a torn final append is not there yet.
        let rest = &rest[..rest.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1)];
        for line in crate::engine::util::fields(rest, b'\n') {
            let Some(eq) = line.iter().position(|&c| c == b'=') else { continue };
            let (k, val) = (&line[..eq], &line[eq + 1..]);
            let Some(i) = crate::engine::util::word_index(LIVE, k) else { continue };
            if i == 6 {
                match Status::parse(val) {
                    Some(x) => r.status = x,
                    None => d.ok = false,
                }
                continue;
            }
            let Some(n) = parse_i64(val) else {
                d.ok = false;
                continue;
            };
            match i {
                0 => r.pid = n as i32,
                1 => r.pid_start = n as u64,
                2 => r.monitor = n as i32,
                3 => r.started = n,
                4 => r.exit_code = if n < 0 { None } else { Some(n as i32) },
                _ => r.finished = n,
            }
        }
        if !d.ok || r.id.is_empty() {
            None
        } else {
            Some(r)
        }
    }

    pub fn dir(&self, root: &Root) -> Vec<u8> {
        container_dir(root, self.auto_remove, &self.id)
    }

    /// The record's file (one copy of the join for save, append, reload).
    #[inline(never)]
    fn config(&self, root: &Root) -> Vec<u8> {
        join(&self.dir(root), b"config")
    }

    // Out of line: inlined into container::instantiate (its one caller), the
    // encoding's loads and spills sat in a 3 KB frame.
    #[inline(never)]
    pub fn save(&self, root: &Root) -> Res<()> {
        let p = self.config(root);
        write_atomic(&p, &self.encode()).ctx(m!("write"), &p)
    }

    /// Appends `key=value` updates in one write (see the module comment):
    /// `vals` for the keys of LIVE from number `first` on (pid 0,
    /// pid_start 1, monitor 2, started 3, exit_code 4, finished 5).
    pub fn append(&self, root: &Root, first: usize, vals: &[i64], status: Status) -> Res<()> {
        let mut v = Vec::new();
        live(&mut v, first, vals, status);
        let p = self.config(root);
        let fd = sys::open(&p, sys::O_WRONLY | sys::O_APPEND, 0).ctx(m!("open"), &p)?;
        match sys::write(fd.raw(), &v).ctx(m!("write"), &p)? {
            n if n == v.len() => Ok(()),
            _ => Err(Error::at(&p, m!("short write"))),
        }
    }

    /// The record as it is on disk now.
    pub fn reload(&self, root: &Root) -> Option<Record> {
        Record::decode(&read_file(&self.config(root)).ok()?)
    }

    /// `alive` of the record as it is on disk now (false if it is gone):
    /// the reloaded record lives in this frame, not in the caller's.
    #[inline(never)]
    pub fn alive_now(&self, root: &Root) -> bool {
        self.reload(root).is_some_and(|c| c.alive())
    }

    /// The container's init is running: same pid, same start time, and not
    /// a zombie waiting for its parent.
    pub fn alive(&self) -> bool {
        live_pid(self.pid, Some(self.pid_start))
    }

    pub fn short_id(&self) -> &[u8] {
        &self.id[..core::cmp::min(12, self.id.len())]
    }
}

/// /proc/PID/stat. Polled every 10 ms by stop, rm and the waits: the
/// callers free what it returns (dropping does not, see sys::Malloc).
fn proc_stat(pid: i32) -> Option<Vec<u8>> {
    let mut p = b"/proc/".to_vec();
    crate::engine::util::push_num(&mut p, pid as u64);
    p.extend_from_slice(b"/stat");
    let r = read_file(&p).ok();
    sys::free(p);
    r
}

/// Process `pid` exists and is not a zombie.
pub fn running(pid: i32) -> bool {
    live_pid(pid, None)
}

/// Process `pid` exists, is not a zombie, and (if `start` says) started
/// then: one copy of the check for `running` and `Record::alive`.
#[inline(never)]
fn live_pid(pid: i32, start: Option<u64>) -> bool {
    if pid <= 0 {
        return false;
    }
    let Some(st) = proc_stat(pid) else { return false };
    let live = start.is_none_or(|s| parse_start_time(&st) == Some(s)) && proc_state(&st) != Some(b'Z');
    sys::free(st);
    live
}

/// Field 22 of /proc/PID/stat: start time in clock ticks since boot.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    parse_start_time(&proc_stat(pid)?)
}

/// Field 3 of /proc/PID/stat: R, S, D, Z, ...
pub fn proc_state(stat: &[u8]) -> Option<u8> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    stat[close + 1..].iter().copied().find(|&c| c != b' ')
}

pub fn parse_start_time(stat: &[u8]) -> Option<u64> {
    // "pid (comm) S ppid ..." and comm may itself contain ") ".
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = &stat[close + 1..];
    // After ')' come fields 3.. ; starttime is field 22 → index 19 here.
    let mut n = 0;
    for w in crate::engine::util::fields(rest, b' ') {
        if w.is_empty() {
            continue;
        }
        if n == 19 {
            return parse_u64(w);
        }
        n += 1;
    }
    None
}

/// The container directories (id, whether in the run-time directory).
fn ids(root: &Root) -> Vec<(Vec<u8>, bool)> {
    let mut v = Vec::new();
    for run in [false, true] {
        for (n, _) in &sys::list_dir(&root.containers_in(run)).unwrap_or_default() {
            if n.len() == 64 && n.iter().all(|c| c.is_ascii_hexdigit()) {
                v.push((n.clone(), run));
            }
        }
    }
    v
}

/// The record in container directory `id`. A directory without a readable
/// record is a container that died half made (a crash between mkdir and
/// the record): "dead", so `ps -a` shows it and `rm -f` can clean it up.
fn at(root: &Root, id: Vec<u8>, run: bool) -> Record {
    // Fields set one by one: `..Record::default()` copied the default
    // field by field (250 bytes of moves).
    let mut r = Record::default();
    (r.id, r.status, r.auto_remove) = (id, Status::Dead, run);
    r.reload(root).unwrap_or(r)
}

/// Every record under the root and the run-time directory, oldest first.
pub fn all(root: &Root) -> Vec<Record> {
    let mut v = Vec::new();
    for (id, run) in ids(root) {
        v.push(at(root, id, run));
    }
    crate::engine::util::sort_by(&mut v, |a, b| (a.created, &a.id) < (b.created, &b.id));
    v
}

/// Where container `id`'s directory is: Some(whether in the run-time
/// directory), None if nowhere. (One copy for `load` and the reclaiming
/// of stale address leases.)
#[inline(never)]
pub fn where_is(root: &Root, id: &[u8]) -> Option<bool> {
    let run = sys::lstat(&container_dir(root, false, id)).is_err();
    sys::lstat(&container_dir(root, run, id)).ok().map(|_| run)
}

/// Container `id`'s directory, persistent or run-time.
#[inline(never)]
fn container_dir(root: &Root, run: bool, id: &[u8]) -> Vec<u8> {
    join(&root.containers_in(run), id)
}

/// The container `id`'s record, wherever it lives.
pub fn load(root: &Root, id: &[u8]) -> Option<Record> {
    where_is(root, id).map(|run| at(root, id.to_vec(), run))
}

// ---------------------------------------------------------------- names
//
// Names are looked up in an index, not by reading every record (that made
// `run` O(containers): 2x slower at 200, and the decoded records stayed in
// the monitor's heap). `<run>/names/<name>` is a symlink to the id; it
// lives on the run-time tmpfs, so a claim writes nothing to disk. It is
// changed only under the state lock, and made whole from the records (as
// `names.new`, renamed into place) whenever it is missing: on first use,
// and after a reboot emptied the tmpfs. A link whose container directory
// is gone (a run killed before it wrote its record) names nobody.

fn names(root: &Root) -> Vec<u8> {
    join(&root.run, b"names")
}

/// The index's link for `name` (one copy of the join for its three users).
#[inline(never)]
fn name_link(root: &Root, name: &[u8]) -> Vec<u8> {
    join(&names(root), name)
}

/// Under the state lock, with the run-time directory mounted: makes the
/// index if it is missing.
pub fn index_names(root: &Root) -> Res<()> {
    let d = names(root);
    if sys::lstat(&d).is_err() {
        let tmp = join(&root.run, b"names.new");
        let _ = crate::engine::util::remove_tree(&tmp);
        sys::mkdir(&tmp, 0o700).ctx(m!("create"), &tmp)?;
        // (walked by reference: no moves of the records out of the Vec)
        for r in &all(root) {
            if r.name.is_empty() {
                continue;
            }
            sys::symlinkat(&r.id, sys::AT_FDCWD, &join(&tmp, &r.name)).ctx(m!("index"), &r.name)?;
        }
        sys::rename(&tmp, &d).ctx(m!("create"), &d)?;
    }
    Ok(())
}

/// The container that holds `name`, by the index; None without an index.
/// (The record loaded once: the id's check was a second load of it.)
pub fn name_holder(root: &Root, name: &[u8]) -> Option<Record> {
    let id = sys::readlinkat(sys::AT_FDCWD, &name_link(root, name)).ok()?;
    load(root, &id)
}

/// Records `name` as `id`'s (under the state lock, once `name_holder`
/// found it free): a stale link is replaced.
pub fn claim_name(root: &Root, name: &[u8], id: &[u8]) -> Res<()> {
    let p = name_link(root, name);
    let _ = sys::unlinkat(sys::AT_FDCWD, &p, 0);
    sys::symlinkat(id, sys::AT_FDCWD, &p).ctx(m!("claim the name"), name)
}

/// Gives `name` up if `id` holds it (takes the state lock).
pub fn release_name(root: &Root, name: &[u8], id: &[u8]) {
    let Ok(_l) = root.lock() else { return };
    let p = name_link(root, name);
    if sys::readlinkat(sys::AT_FDCWD, &p).is_ok_and(|t| t == id) {
        let _ = sys::unlinkat(sys::AT_FDCWD, &p, 0);
    }
}

/// By exact name, full id, or unique id prefix. Reads one record where
/// the names index or the id answers; every record only for a name when
/// there is no index (before the first `run` after a reboot).
pub fn find(root: &Root, key: &[u8]) -> Res<Record> {
    // (each found record returned from where it was found: one copy fewer)
    match sys::lstat(&names(root)) {
        Ok(_) => {
            if let Some(r) = name_holder(root, key) {
                return Ok(r);
            }
        }
        Err(_) => {
            // Found by reference, then the one record moved out.
            let mut v = all(root);
            if let Some(i) = v.iter().position(|r| r.name == key) {
                return Ok(v.swap_remove(i));
            }
        }
    }
    let mut m = Vec::new();
    for x in ids(root) {
        if !key.is_empty() && x.0.starts_with(key) {
            m.push(x);
        }
    }
    match m.len() {
        1 => {
            let (id, run) = m.swap_remove(0);
            Ok(at(root, id, run))
        }
        0 => Err(Error::at(key, m!("no such container")).of(crate::engine::util::Kind::NoSuch)),
        _ => Err(Error::at(key, m!("is ambiguous"))),
    }
}

// Sixteen of each, one string apiece: an array of 32 &str was 512 bytes
// of pointers and lengths.
const ADJ: &[u8] = b"admiring,bold,brave,calm,clever,eager,gentle,happy,jolly,keen,lucid,nifty,quirky,serene,vivid,zen";
const NOUN: &[u8] = b"babbage,curie,darwin,euler,fermat,gauss,hopper,kepler,lovelace,newton,noether,pascal,ritchie,shannon,tesla,turing";

/// Word `i` (0..16) of a comma list (the shared lookup).
fn word(list: &'static [u8], i: u8) -> &'static [u8] {
    crate::engine::util::nth_word(list, (i & 15) as usize)
}

/// A docker-style name from the id's random bytes, unique among `taken`.
pub fn generate_name(rand: &[u8], taken: &dyn Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut base = word(ADJ, rand[0]).to_vec();
    base.push(b'_');
    base.extend_from_slice(word(NOUN, rand[1]));
    let mut n = base.clone();
    let mut i = 1u64;
    while taken(&n) {
        i += 1;
        n = base.clone();
        crate::engine::util::push_num(&mut n, i);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn record_round_trip() {
        let r = Record {
            id: b"0123456789abcdef".to_vec(),
            name: b"web".to_vec(),
            image: b"busybox".to_vec(),
            image_id: b"ab12".to_vec(),
            created: 1700000000,
            started: 1700000001,
            status: Status::Running,
            pid: 42,
            pid_start: 123456,
            monitor: 41,
            exit_code: Some(137),
            finished: 1700000100,
            argv: vec![b"sh".to_vec(), b"-c".to_vec(), b"echo a=b: %20\n".to_vec(), Vec::new()],
            env: vec![b"A=1".to_vec()],
            hostname: b"h".to_vec(),
            workdir: b"/".to_vec(),
            volumes: vec![Volume { host: b"/a:b".to_vec(), ctr: b"/c d".to_vec(), ro: true }],
            limits: Limits {
                memory: Some(1 << 20),
                cpu_quota: Some(50000),
                cpu_shares: Some(512),
                cpuset_cpus: Some(b"0-1".to_vec()),
                pids: Some(5),
                ..Limits::default()
            },
            init: true,
            tty: false,
            interactive: true,
            detach: true,
            auto_remove: false,
            overlay: true,
            cgroups: vec![b"/sys/fs/cgroup/mydocker/x".to_vec()],
            network: b"net1".to_vec(),
            ip: 0xac120002,
            ports: vec![crate::engine::config::Port { host_ip: 0x7f000001, host_port: 8080, ctr_port: 80, udp: true }],
            security: crate::engine::config::Security {
                caps: 1 << 13,
                no_new_privs: true,
                user: b"1000:100".to_vec(),
                devices: vec![crate::engine::config::Device { host: b"/dev/ttyUSB0".to_vec(), ctr: b"/dev/tty0".to_vec(), perms: b"rw".to_vec() }],
                tmpfs: vec![b"/run:size=1m".to_vec()],
                ..Default::default()
            },
        };
        assert_eq!(Record::decode(&r.encode()), Some(r));
    }

    #[test]
    fn appended_updates_win_and_torn_lines_are_ignored() {
        let r = Record { id: b"abc".to_vec(), status: Status::Created, argv: vec![b"sh".to_vec()], ..Record::default() };
        let mut b = r.encode();
        assert_eq!(Record::decode(&b), Some(r.clone()));
        b.extend_from_slice(b"pid=42\nstatus=running\n");
        let d = Record::decode(&b).unwrap();
        assert_eq!((d.pid, d.status, d.argv.len()), (42, Status::Running, 1));
        b.extend_from_slice(b"status=exi");
        assert_eq!(Record::decode(&b).unwrap().status, Status::Running);
        b.extend_from_slice(b"ted\nexit_code=3\n");
        let d = Record::decode(&b).unwrap();
        assert_eq!((d.status, d.exit_code), (Status::Exited, Some(3)));
    }

    #[test]
    fn a_cut_blob_is_no_record() {
        let r = Record {
            id: b"abc".to_vec(),
            argv: vec![b"sh".to_vec()],
            volumes: vec![Volume { host: b"/a".to_vec(), ctr: b"/b".to_vec(), ro: true }],
            ports: vec![crate::engine::config::Port { host_ip: 0, host_port: 8080, ctr_port: 80, udp: false }],
            image_id: b"ff".to_vec(),
            ..Record::default()
        };
        let b = r.encode();
        let len = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
        let blob = &b[4..4 + len];
        let mut w = crate::engine::spec::W(Vec::new());
        r.security.encode(&mut w);
        for bad in [&b"pid=x\n"[..], b"status=gone\n", b"exit_code=\nstatus=running\n"] {
            let mut c = b.clone();
            c.extend_from_slice(bad);
            assert_eq!(Record::decode(&c), None);
        }
        // Without the image ID, and without the confinement too: older records.
        let (no_id, no_sec) = (len - 6, len - 6 - w.0.len());
        for k in 0..len {
            let mut c = (k as u32).to_le_bytes().to_vec();
            c.extend_from_slice(&blob[..k]);
            c.extend_from_slice(b"\nstatus=running\n");
            let d = Record::decode(&c);
            if k == no_id || k == no_sec {
                let d = d.unwrap();
                assert_eq!((d.volumes.len(), d.ports.len(), d.status), (1, 1, Status::Running));
                assert!(d.image_id.is_empty());
            } else {
                assert_eq!(d, None, "cut at {k}");
            }
        }
        // A volume list that is not whole triples, a port that does not parse
        // (the two count-prefixed lists before the confinement), and whole.
        let mut x = r;
        (x.volumes, x.ports) = (Vec::new(), Vec::new());
        let whole = x.encode();
        let lx = u32::from_le_bytes(whole[..4].try_into().unwrap()) as usize;
        let at = 4 + lx - 6 - w.0.len() - 8;
        let bad: [&[u8]; 3] = [b"\x02\0\0\0\x01\0\0\0a\x01\0\0\0b\0\0\0\0", b"\0\0\0\0\x01\0\0\0\x01\0\0\0z", b"\0\0\0\0\0\0\0\0"];
        for (i, tail) in bad.iter().enumerate() {
            let mut c = whole[4..at].to_vec();
            c.extend_from_slice(tail);
            let mut y = (c.len() as u32).to_le_bytes().to_vec();
            y.extend_from_slice(&c);
            y.push(b'\n');
            assert_eq!(Record::decode(&y).is_some(), i == 2);
        }
    }

    #[test]
    fn status_words() {
        let all = [Status::Created, Status::Running, Status::Exited, Status::Dead];
        let w: Vec<&[u8]> = all.iter().map(|s| s.word()).collect();
        assert_eq!(w, [&b"created"[..], b"running", b"exited", b"dead"]);
        for s in all {
            assert_eq!(Status::parse(s.word()), Some(s));
        }
    }

    #[test]
    fn start_time_parsing() {
        let s = b"1234 (my) weird) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100";
        assert_eq!(parse_start_time(s), Some(987654));
        assert_eq!(parse_start_time(b"garbage"), None);
        assert_eq!(proc_state(s), Some(b'S'));
    }

    #[test]
    fn names_are_unique() {
        let taken = |n: &[u8]| n == b"admiring_babbage" || n == b"admiring_babbage2";
        assert_eq!(generate_name(&[0, 0], &taken), b"admiring_babbage3");
        assert_eq!(generate_name(&[1, 2], &taken), b"bold_darwin");
    }
}

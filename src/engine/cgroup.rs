//! cgroups v1, v2 and hybrid, detected at run time from mountinfo.
//!
//! Each controller is taken from where the kernel has it: the v2 hierarchy
//! if its `cgroup.controllers` lists it, otherwise the v1 hierarchy that
//! carries it. A container gets one cgroup `mydocker/<id>` in each hierarchy
//! that holds one of its limits; without limits, one in the v2 (or hybrid
//! "unified") hierarchy when there is one, so a container always has a
//! cgroup that tracks its processes where the host allows one.
//! Unless privileged, a container's device access is confined too (see
//! `devices`): in the v1 devices hierarchy where there is one (a cgroup
//! of its own only for `--device` extras; else the one `SHARED` that all
//! such containers join), else by BPF programs on the v2 `mydocker`
//! parent or its own v2 cgroup; so on such hosts it always has that one.
//! The writers take directory paths, so they are tested on a temp tree.

use crate::engine::config::Limits;
use crate::engine::devices::{self, Mechanism};
use crate::engine::mounts::Mount;
use crate::engine::util::{join, mkdir_all, nth_word as nth, num, read_file, write_file, Ctx, Error, Res};
use crate::sys;
use alloc::vec::Vec;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    V1,
    V2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hier {
    pub kind: Kind,
    pub mount: Vec<u8>,
    pub controllers: Vec<Vec<u8>>,
}

impl Hier {
    /// The hierarchy carries controller `c` (one out-of-line copy for every caller).
    #[inline(never)]
    fn has(&self, c: &[u8]) -> bool {
        for x in &self.controllers {
            if x == c {
                return true;
            }
        }
        false
    }
}

#[derive(Debug, Default)]
pub struct Layout {
    pub hiers: Vec<Hier>,
}

const KNOWN: &[u8] = b"cpu,cpuset,memory,pids,cpuacct,devices,freezer,blkio,net_cls,net_prio,perf_event,hugetlb,rdma,misc";

/// The words of `s`, split at newlines and `sep`. Split at ',' they are a
/// v1 mount's options: only the controllers in KNOWN are kept (here, not
/// by a `retain` after: 100 bytes less).
fn words(s: &[u8], sep: u8) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for line in crate::engine::util::fields(s, b'\n') {
        for w in crate::engine::util::fields(line, sep) {
            // (a named hierarchy, name=systemd, is kept by its name: the
            // OCI runtime's containers are placed in it too)
            if !w.is_empty() && (sep != b',' || crate::engine::util::word_index(KNOWN, w).is_some() || w.starts_with(b"name=")) {
                v.push(w.to_vec());
            }
        }
    }
    v
}

/// `<mount>/cgroup.controllers` of a v2 hierarchy ("" if unreadable).
#[inline(never)]
fn controllers(mount: &[u8]) -> Vec<u8> {
    read_at(mount, b"cgroup.controllers").unwrap_or_default()
}

/// The v1 hierarchy at `mount` holding controller `c`.
#[inline(never)]
fn v1_hier(mount: Vec<u8>, c: &[u8]) -> Hier {
    Hier { kind: Kind::V1, mount, controllers: alloc::vec![c.to_vec()] }
}

impl Layout {
    /// `v2_controllers` reads `<mount>/cgroup.controllers` (injected for tests).
    pub fn detect(mounts: &[Mount], v2_controllers: &dyn Fn(&[u8]) -> Vec<u8>) -> Layout {
        let mut hiers: Vec<Hier> = Vec::new();
        for m in mounts {
            // (The shared lookup: a `match` compared byte by byte.)
            let kind = match crate::engine::util::word_index(b"cgroup,cgroup2", &m.fstype) {
                Some(1) => Kind::V2,
                Some(_) => Kind::V1,
                None => continue,
            };
            let controllers = match kind {
                Kind::V2 => words(&v2_controllers(&m.point), b' '),
                Kind::V1 => words(&m.super_opts, b','),
            };
            if kind == Kind::V1 && controllers.is_empty() {
                continue; // named hierarchies such as name=systemd
            }
            // The same hierarchy bind-mounted twice: keep the first.
            if hiers.iter().any(|h| h.kind == kind && h.controllers == controllers) {
                continue;
            }
            hiers.push(Hier { kind, mount: m.point.clone(), controllers });
        }
        Layout { hiers }
    }

    pub fn current() -> Layout {
        Layout::detect(&crate::engine::mounts::current(), &controllers)
    }

    /// The layout for a container with limits `l`. The usual layouts are
    /// recognised with a few statfs calls instead of reading mountinfo
    /// (~50 us of a 2 ms start): cgroup2 on /sys/fs/cgroup; or a tmpfs
    /// there with "unified" (hybrid) and a v1 hierarchy named after each
    /// controller the limits need, and "devices" if there is one.
    /// Anything else goes to mountinfo.
    pub fn for_limits(l: &Limits) -> Layout {
        const ROOT: &[u8] = b"/sys/fs/cgroup";
        const V1: u64 = 0x27e0eb;
        const V2: u64 = 0x6367_7270;
        let v2 = |p: &[u8]| Hier { kind: Kind::V2, mount: p.to_vec(), controllers: words(&controllers(p), b' ') };
        // (0: unknown)
        let magic = |p: &[u8]| sys::fs_magic(p).unwrap_or(0);
        let standard = || -> Option<Layout> {
            let mut hiers = Vec::new();
            match magic(ROOT) {
                V2 => hiers.push(v2(ROOT)),
                sys::TMPFS_MAGIC => {
                    let u = join(ROOT, b"unified");
                    if magic(&u) == V2 {
                        hiers.push(v2(&u));
                    }
                    let mut need = needed(l);
                    while need != 0 {
                        let i = need.trailing_zeros() as usize;
                        need &= need - 1;
                        let c = nth(CTRLS, i);
                        let d = join(ROOT, c);
                        if hiers.iter().any(|h: &Hier| h.has(c)) {
                            continue;
                        }
                        if magic(&d) != V1 {
                            return None;
                        }
                        hiers.push(v1_hier(d, c));
                    }
                    let d = join(ROOT, b"devices");
                    if !l.devices.privileged && magic(&d) == V1 {
                        hiers.push(v1_hier(d, b"devices"));
                    }
                }
                _ => return None,
            }
            (!hiers.is_empty()).then_some(Layout { hiers })
        };
        standard().unwrap_or_else(Layout::current_or_mount)
    }

    /// On a host with no cgroupfs at all (a bare initramfs), mount cgroup2
    /// at /sys/fs/cgroup, the way systemd would have.
    pub fn current_or_mount() -> Layout {
        let l = Layout::current();
        if !l.hiers.is_empty() {
            return l;
        }
        let _ = mkdir_all(b"/sys/fs/cgroup", 0o755);
        if sys::mount(b"cgroup2", b"/sys/fs/cgroup", b"cgroup2", (sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC) as _, b"").is_ok() {
            return Layout::current();
        }
        l
    }

    pub fn v2(&self) -> Option<&Hier> {
        self.hiers.iter().find(|h| h.kind == Kind::V2)
    }

    /// The hierarchy that carries `ctrl`, v2 first.
    pub fn find(&self, ctrl: &[u8]) -> Option<&Hier> {
        let mut first = None;
        for h in &self.hiers {
            if h.has(ctrl) {
                if h.kind == Kind::V2 {
                    return Some(h);
                }
                first = first.or(Some(h));
            }
        }
        first
    }

    /// How device access is confined here (`devices`): v1 devices first,
    /// as on hybrid hosts the kernel checks both and v1 needs no BPF.
    pub fn devices(&self) -> Mechanism {
        match (self.find(b"devices").is_some(), self.v2().is_some()) {
            (true, _) => Mechanism::V1,
            (false, true) => Mechanism::V2Bpf,
            _ => Mechanism::NoCgroup,
        }
    }

    pub fn describe(&self) -> crate::engine::util::Msg {
        let v1 = self.hiers.iter().any(|h| h.kind == Kind::V1);
        match (v1, self.v2().is_some()) {
            (true, true) => m!("hybrid (v1 + v2 unified)"),
            (true, false) => m!("v1"),
            (false, true) => m!("v2"),
            (false, false) => m!("none"),
        }
    }
}

/// The controllers of the limits (memory, cpus, cpu-shares, cpuset-cpus,
/// pids), and the flags that set them.
const CTRLS: &[u8] = b"memory,cpu,cpu,cpuset,pids";
const FLAGS: &[u8] = b"--memory,--cpus,--cpu-shares,--cpuset-cpus,--pids-limit";

/// The controllers a set of limits needs: bit i for the i-th of CTRLS
/// (and FLAGS, the flag that asked for it). A mask, not an iterator: its
/// adapters were a `next` of their own and a copy per caller.
#[inline(never)]
fn needed(l: &Limits) -> u32 {
    l.memory.is_some() as u32
        | (l.cpu_quota.is_some() as u32) << 1
        | (l.cpu_shares.is_some() as u32) << 2
        | (l.cpuset_cpus.is_some() as u32) << 3
        | (l.pids.is_some() as u32) << 4
}

/// docker/crun's mapping of cpu.shares [2, 262144] onto cpu.weight [1, 10000].
pub fn shares_to_weight(s: u64) -> u64 {
    1 + ((s.clamp(2, 262144) - 2) * 9999) / 262142
}

/// A container's cgroups: one directory per hierarchy used. `v2` (if any)
/// is joined at birth with CLONE_INTO_CGROUP; the `v1` ones by the child
/// itself writing 0 to `tasks`: a thread moving itself skips the global
/// threadgroup lock that makes a `cgroup.procs` write by another process
/// wait ~15 ms for an RCU grace period.
#[derive(Debug, Default, Clone)]
pub struct Cgroup {
    pub v2: Option<Vec<u8>>,
    pub v1: Vec<Vec<u8>>,
    /// How the container's devices are confined; None when privileged (not
    /// at all). With NoCgroup the caller drops CAP_MKNOD, mounts root nodev.
    pub devices: Option<Mechanism>,
    /// What `make` still has to create: each directory with its hierarchy
    /// (the limits to write are the record's: `make` borrows them).
    pub todo: Vec<(Hier, Vec<u8>)>,
    /// Privileged: its v2 cgroup may need a program that allows all
    /// (`devices::unconfine_v2`); always where BPF confines (Some(true)).
    allow_all: Option<bool>,
    /// v1 devices, no `--device` extras: the shared cgroup with docker's
    /// rules, and the temporary name it is made under if missing (see
    /// `shared_tasks`). Not among `dirs`: no run removes it.
    pub shared: Option<(Vec<u8>, Vec<u8>)>,
}

/// The v1 devices cgroup every confined container without `--device`
/// extras joins, at the top of the devices hierarchy (outside `mydocker/`:
/// no container's, never removed), holding `devices::DEFAULT`. Its own
/// cgroup would cost a run ~0.1 ms (mkdir, 12 rule writes, an rmdir after
/// the exit) and, on a hybrid host, the unified cgroup that tracks a plain
/// container. The suffix names the rules: change it with DEFAULT (a unit
/// test holds the two together), so a group with older rules is never
/// taken for this one.
pub const SHARED: &[u8] = b"mydocker-default.1";

fn write_knob(dir: &[u8], knob: &[u8], val: &[u8], flag: &[u8]) -> Res<()> {
    // (the message written straight into the error buffer: no Vecs)
    write_at(dir, knob, val).map_err(|e| Error::bytes(flag).more(m!(" ")).append(val).more(m!(": the kernel refused ")).append(knob).more(m!(": ")).errno(e))
}

/// `dir/knob`'s contents (one copy of the join and read).
#[inline(never)]
fn read_at(dir: &[u8], knob: &[u8]) -> sys::R<Vec<u8>> {
    read_file(&join(dir, knob))
}

/// Writes `val` to `dir/knob` (one copy of the join and write).
#[inline(never)]
fn write_at(dir: &[u8], knob: &[u8], val: &[u8]) -> sys::R<()> {
    write_file(&join(dir, knob), val)
}

/// Writes one file if it exists; a missing optional knob is fine.
fn write_optional(dir: &[u8], knob: &[u8], val: &[u8]) -> sys::R<()> {
    match write_at(dir, knob, val) {
        Err(sys::ENOENT) => Ok(()),
        r => r,
    }
}

/// Applies the limits that live in hierarchy `h` to the cgroup `dir`: a
/// loop over comma lists (controller, flag, knob), in the order docker
/// writes them; a call per knob was 300 bytes more.
#[inline(never)]
pub fn apply(h: &Hier, dir: &[u8], l: &Limits) -> Res<()> {
    let v2 = h.kind == Kind::V2;
    let vals = [l.memory, l.cpu_quota, l.cpu_shares.map(|s| if v2 { shares_to_weight(s) } else { s }), None, l.pids];
    for (i, &val) in vals.iter().enumerate() {
        let mut n = match (val, &l.cpuset_cpus) {
            (Some(x), _) => num(x),
            (None, Some(c)) if i == 3 => c.clone(),
            _ => continue,
        };
        if !h.has(nth(CTRLS, i)) {
            continue;
        }
        let flag = nth(FLAGS, i);
        if i == 1 {
            if v2 {
                n.extend_from_slice(b" 100000");
            } else {
                write_knob(dir, b"cpu.cfs_period_us", b"100000", flag)?;
            }
        }
        let knobs: &'static [u8] =
            if v2 { b"memory.max,cpu.max,cpu.weight,cpuset.cpus,pids.max" } else { b"memory.limit_in_bytes,cpu.cfs_quota_us,cpu.shares,cpuset.cpus,pids.max" };
        write_knob(dir, nth(knobs, i), &n, flag)?;
        if i == 0 {
            // No swap beyond the limit, so the limit means what it says.
            let _ = if v2 { write_optional(dir, b"memory.swap.max", b"0") } else { write_optional(dir, b"memory.memsw.limit_in_bytes", &n) };
        }
    }
    Ok(())
}

/// v1 cpuset cgroups start with empty cpus/mems, and a task cannot join
/// one (ENOSPC) until both are set: copy them from the parent when empty.
/// The error names `dir` (one error path for both callers).
fn cpuset_inherit(parent: &[u8], dir: &[u8]) -> Res<()> {
    let r = (|| {
        for k in 0..2 {
            let knob = nth(b"cpuset.cpus,cpuset.mems", k);
            let at = join(dir, knob);
            let cur = read_file(&at)?;
            if cur.iter().all(|c| c.is_ascii_whitespace()) {
                // (trimmed: a cpu or node list has no blanks inside)
                write_file(&at, read_at(parent, knob)?.trim_ascii())?;
            }
        }
        Ok(())
    })();
    r.ctx(m!("initialise cpuset"), dir)
}

/// The shared devices cgroup `dir`, made whole or not at all: made as
/// `tmp` (this container's own name), given the rules, then renamed into
/// place, so no one can join it before it confines. Of two runs doing this
/// at once, the second's rename fails (kernfs never replaces): it removes
/// its own, and joins the first's. A group of that name that someone else
/// made is trusted: only root can make one there.
fn make_shared(dir: &[u8], tmp: &[u8]) -> Res<()> {
    let r = mkdir_cg(tmp).and_then(|_| devices::confine(Mechanism::V1, tmp, &[]));
    let r = r.and_then(|_| match sys::rename(tmp, dir) {
        Ok(()) => Ok(()),
        Err(_) if sys::lstat(dir).is_ok() => Ok(()), // (lost the race)
        Err(e) => Err(Error::sys(m!("create cgroup"), dir, e)),
    });
    let _ = sys::rmdir(tmp); // (gone once renamed)
    r
}

/// Makes sure `ctrl` is enabled for the children of `dir` (v2).
#[inline(never)]
fn enable(dir: &[u8], ctrl: &[u8]) -> Res<()> {
    let at = join(dir, b"cgroup.subtree_control");
    let r = read_file(&at).and_then(|cur| {
        if words(&cur, b' ').iter().any(|w| w == ctrl) {
            return Ok(());
        }
        let mut v = b"+".to_vec();
        v.extend_from_slice(ctrl);
        write_file(&at, &v)
    });
    r.map_err(|e| Error::text(m!("enable the ")).append(ctrl).more(m!(" controller in ")).append(dir).more(m!(": ")).errno(e))
}

/// mkdir, where an existing one is fine; the error names the cgroup.
#[inline(never)]
fn mkdir_cg(path: &[u8]) -> Res<()> {
    match sys::mkdir(path, 0o755) {
        Ok(()) | Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(Error::sys(m!("create cgroup"), path, e)),
    }
}

impl Cgroup {
    /// Plans the container's cgroups: a limit whose controller is missing
    /// is an error. Creates nothing: `make` creates the v2 one (with its
    /// limits) before the clone, and the v1 ones in the child. A refused
    /// value is an error too, and on any error nothing of the container's
    /// cgroups is left behind.
    #[inline(never)]
    /// `rel`: the cgroups' path under each hierarchy (`mydocker/ID`, or an
    /// OCI bundle's `cgroupsPath`).
    pub fn plan(layout: &Layout, rel: &[u8], l: &Limits) -> Res<Cgroup> {
        let id = &rel[rel.iter().rposition(|&c| c == b'/').map_or(0, |p| p + 1)..];
        // The device rules' home: the v1 devices hierarchy, or the v2 one.
        // Without a limit there, the v2 hierarchy still tracks the
        // container, unless (hybrid) a v1 cgroup already does.
        let all = layout.devices();
        let mech = (!l.devices.privileged).then_some(all);
        let mut home = if mech == Some(Mechanism::V1) { layout.find(b"devices") } else { None };
        let mut shared = None;
        if let (Some(h), true) = (home, l.devices.extra.is_empty()) {
            let dir = join(&h.mount, SHARED);
            let mut tmp = dir.clone();
            tmp.push(b'-');
            tmp.extend_from_slice(&id[..id.len().min(12)]);
            shared = Some((dir, tmp));
            home = None;
        }
        let allow_all = mech.is_none().then_some(all == Mechanism::V2Bpf);
        // (planned as found: no Vec of the hierarchies first)
        let mut cg = Cgroup { devices: mech, allow_all, shared, ..Cgroup::default() };
        let mut need = needed(l);
        while need != 0 {
            let i = need.trailing_zeros() as usize;
            need &= need - 1;
            let (ctrl, flag) = (nth(CTRLS, i), nth(FLAGS, i));
            let Some(h) = layout.find(ctrl) else {
                // (written straight into the error buffer: no Vec)
                return Err(Error::bytes(flag)
                    .more(m!(": the "))
                    .append(ctrl)
                    .more(m!(" cgroup controller is not available ("))
                    .more(if layout.hiers.is_empty() { m!("no cgroup filesystem is mounted)") } else { m!("enable it in the kernel or drop the flag)") }));
            };
            cg.add(h, rel); // (a hierarchy met again is skipped)
        }
        let v2 = layout.v2().filter(|_| mech == Some(Mechanism::V2Bpf) || cg.todo.is_empty() && home.is_none());
        #[allow(clippy::manual_flatten)] // (`.flatten()` or two `extend`s: 40-60 bytes more)
        for h in [home, v2] {
            if let Some(h) = h {
                cg.add(h, rel);
            }
        }
        Ok(cg)
    }

    /// The cgroup at `rel` in hierarchy `h`, unless it is planned already.
    fn add(&mut self, h: &Hier, rel: &[u8]) {
        if self.todo.iter().any(|x| x.0.mount == h.mount) {
            return;
        }
        let dir = join(&h.mount, rel);
        let d = dir.clone();
        match h.kind {
            Kind::V2 => self.v2 = Some(d),
            Kind::V1 => self.v1.push(d),
        }
        self.todo.push((h.clone(), dir));
    }

    /// Every hierarchy of `layout`, not only those the limits need: the
    /// OCI runtime's containers are in all of them, as runc's are (the
    /// engines read metrics there, and freeze), their device rules in
    /// their own devices cgroup.
    pub fn everywhere(&mut self, layout: &Layout, rel: &[u8]) {
        for h in &layout.hiers {
            self.add(h, rel);
        }
        self.shared = None;
    }

    /// New limits for a running container (`update`): written to each of
    /// its cgroups whose hierarchy carries them.
    pub fn update(dirs: &[Vec<u8>], l: &Limits) -> Res<()> {
        let layout = Layout::current();
        for d in dirs {
            if let Some(h) = layout.hiers.iter().find(|h| d.starts_with(&h.mount) && d.get(h.mount.len()) == Some(&b'/')) {
                // v1 keeps memory <= memory+swap: the old pair is lifted
                // first, so a raise does not fail half way.
                if h.kind == Kind::V1 && l.memory.is_some() {
                    let _ = write_at(d, b"memory.memsw.limit_in_bytes", b"-1");
                }
                apply(h, d, l)?;
            }
        }
        Ok(())
    }

    /// Creates the cgroups of hierarchies of `kind` and writes the limits
    /// `l` (those it was planned with) there. The v1 ones are made by the container's first process while
    /// the parent makes its network namespace (see init.rs, sync 2b). On
    /// error, every cgroup of the container is removed.
    pub fn make(&self, kind: Kind, l: &Limits) -> Res<()> {
        let r = (|| -> Res<()> {
            for (h, dir) in self.todo.iter().filter(|x| x.0.kind == kind) {
                let parent = &dir[..dir.iter().rposition(|&c| c == b'/').unwrap_or(0)];
                mkdir_cg(parent)?;
                let cpuset = h.kind == Kind::V1 && h.has(b"cpuset");
                if h.kind == Kind::V2 {
                    let mut need = needed(l);
                    while need != 0 {
                        let c = nth(CTRLS, need.trailing_zeros() as usize);
                        need &= need - 1;
                        if !h.has(c) {
                            continue;
                        }
                        enable(&h.mount, c)?;
                        enable(parent, c)?;
                    }
                } else if cpuset {
                    cpuset_inherit(&h.mount, parent)?;
                }
                mkdir_cg(dir)?;
                if cpuset {
                    if let Some(c) = &l.cpuset_cpus {
                        write_knob(dir, b"cpuset.cpus", c, b"--cpuset-cpus")?;
                    }
                    cpuset_inherit(parent, dir)?;
                }
                apply(h, dir, l)?;
                // The device rules, if this is their home.
                let m = match h.kind {
                    Kind::V2 => Mechanism::V2Bpf,
                    _ if h.has(b"devices") => Mechanism::V1,
                    _ => Mechanism::NoCgroup, // (whose confine does nothing)
                };
                if self.devices == Some(m) {
                    devices::confine(m, dir, &l.devices.extra)?;
                } else if let (Some(always), Kind::V2) = (self.allow_all, h.kind) {
                    devices::unconfine_v2(dir, always)?;
                }
            }
            Ok(())
        })();
        if r.is_err() {
            self.remove();
        }
        r
    }

    /// The `tasks` files of the v1 cgroups, the shared devices one last,
    /// open for the child to join them (made first if missing).
    pub fn v1_tasks(&self) -> Res<Vec<(sys::fd::Owned, &[u8])>> {
        let mut v = Vec::new();
        for d in &self.v1 {
            v.push((sys::open(&join(d, b"tasks"), sys::O_WRONLY, 0).ctx(m!("join cgroup"), d)?, &d[..]));
        }
        if let Some((d, tmp)) = &self.shared {
            let tasks = join(d, b"tasks");
            let fd = match sys::open(&tasks, sys::O_WRONLY, 0) {
                Err(sys::ENOENT) => {
                    make_shared(d, tmp)?;
                    sys::open(&tasks, sys::O_WRONLY, 0)
                }
                r => r,
            };
            v.push((fd.ctx(m!("join cgroup"), d)?, &d[..]));
        }
        Ok(v)
    }

    pub fn dirs(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        v.extend_from_slice(self.v2.as_slice());
        v.extend_from_slice(&self.v1);
        v
    }

    /// Rebuilds the split from recorded directories (a v1 one has `tasks`).
    pub fn from_dirs(dirs: &[Vec<u8>]) -> Cgroup {
        let mut cg = Cgroup::default();
        for d in dirs {
            if sys::lstat(&join(d, b"tasks")).is_ok() {
                cg.v1.push(d.clone());
            } else {
                cg.v2 = Some(d.clone());
            }
        }
        cg
    }

    /// Removes the cgroups; processes still exiting get a short grace.
    pub fn remove(&self) {
        for d in &self.dirs() {
            for i in 0..200 {
                match sys::rmdir(d) {
                    Ok(()) | Err(sys::ENOENT) => break,
                    Err(sys::EBUSY) if i < 199 => {
                        // Kill stragglers (v2 has cgroup.kill since 5.14).
                        let _ = write_at(d, b"cgroup.kill", b"1");
                        sys::sleep_ms(5)
                    }
                    Err(_) => break,
                }
            }
        }
    }

    /// Whether any process is still in the container's cgroups.
    pub fn populated(&self) -> bool {
        self.dirs().iter().any(|d| read_at(d, b"cgroup.procs").map(|v| v.iter().any(|c| c.is_ascii_digit())).unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::devices::{Devices, Rule};
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    fn tmp(tag: &str) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = std::env::temp_dir().join(format!("mydocker-cg-{}-{}-{}", std::process::id(), tag, n));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }
    fn b(p: &std::path::Path) -> Vec<u8> {
        p.as_os_str().as_bytes().to_vec()
    }
    fn mnt(point: &str, fstype: &str, opts: &str) -> Mount {
        Mount { point: point.into(), fstype: fstype.into(), super_opts: opts.into() }
    }

    #[test]
    fn detects_hybrid_v1_and_v2() {
        let hybrid = [
            mnt("/sys/fs/cgroup/memory", "cgroup", "rw,memory"),
            mnt("/sys/fs/cgroup/cpu", "cgroup", "rw,cpu"),
            mnt("/sys/fs/cgroup/systemd", "cgroup", "rw,name=systemd"),
            mnt("/sys/fs/cgroup/unified", "cgroup2", "rw"),
        ];
        let l = Layout::detect(&hybrid, &|_| Vec::new());
        assert_eq!(crate::engine::util::msg_text(l.describe()), "hybrid (v1 + v2 unified)".as_bytes());
        assert_eq!(l.find(b"memory").unwrap().mount, b"/sys/fs/cgroup/memory");
        assert_eq!(l.find(b"cpu").unwrap().kind, Kind::V1);
        assert!(l.find(b"pids").is_none());
        assert_eq!(l.v2().unwrap().mount, b"/sys/fs/cgroup/unified");

        let v2 = [mnt("/sys/fs/cgroup", "cgroup2", "rw")];
        let l = Layout::detect(&v2, &|_| b"cpuset cpu io memory pids\n".to_vec());
        assert_eq!(crate::engine::util::msg_text(l.describe()), "v2".as_bytes());
        assert_eq!(l.find(b"pids").unwrap().kind, Kind::V2);

        let l = Layout::detect(&[], &|_| Vec::new());
        assert_eq!(crate::engine::util::msg_text(l.describe()), "none".as_bytes());
    }

    #[test]
    fn weight_conversion() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
    }

    fn touch(dir: &std::path::Path, files: &[(&str, &str)]) {
        fs::create_dir_all(dir).unwrap();
        for (f, v) in files {
            fs::write(dir.join(f), v).unwrap();
        }
    }

    #[test]
    fn v2_writes_limits_and_enables_controllers() {
        let root = tmp("v2");
        touch(&root, &[("cgroup.subtree_control", ""), ("cgroup.controllers", "cpu cpuset memory pids")]);
        touch(&root.join("mydocker"), &[("cgroup.subtree_control", "")]);
        let ctr = root.join("mydocker/abc");
        touch(&ctr, &[("memory.max", ""), ("memory.swap.max", ""), ("cpu.max", ""), ("cpu.weight", ""), ("cpuset.cpus", ""), ("pids.max", "")]);
        let l = Layout::detect(&[mnt(root.to_str().unwrap(), "cgroup2", "rw")], &|p| {
            fs::read(std::path::Path::new(std::ffi::OsStr::from_bytes(p)).join("cgroup.controllers")).unwrap()
        });
        let lim = Limits {
            memory: Some(64 << 20),
            cpu_quota: Some(50_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some(b"0".to_vec()),
            pids: Some(10),
            ..Limits::default()
        };
        // (the device filter of a v2 cgroup needs a real one: devices.rs)
        let lim = Limits { devices: Devices { privileged: true, extra: vec![] }, ..lim };
        let mut cg = Cgroup::plan(&l, b"mydocker/abc", &lim).unwrap();
        // privileged, where BPF confines: the cgroup gets an allow-all
        // program (which needs a real cgroup: devices.rs tests it)
        assert_eq!(cg.allow_all, Some(true));
        cg.allow_all = None;
        cg.make(Kind::V2, &lim).unwrap();
        assert_eq!(cg.v2, Some(b(&ctr)));
        assert!(cg.v1.is_empty());
        let r = |f: &str| fs::read_to_string(ctr.join(f)).unwrap();
        assert_eq!(r("memory.max"), "67108864");
        assert_eq!(r("memory.swap.max"), "0");
        assert_eq!(r("cpu.max"), "50000 100000");
        assert_eq!(r("cpu.weight"), "20");
        assert_eq!(r("cpuset.cpus"), "0");
        assert_eq!(r("pids.max"), "10");
        // the fake subtree_control keeps only the last write, like a file
        assert!(fs::read_to_string(root.join("cgroup.subtree_control")).unwrap().starts_with('+'));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn v1_memory_and_cpuset_inherit() {
        let root = tmp("v1");
        let mem = root.join("memory");
        let cs = root.join("cpuset");
        touch(&mem, &[]);
        touch(&mem.join("mydocker/id1"), &[("memory.limit_in_bytes", ""), ("memory.memsw.limit_in_bytes", "")]);
        touch(&cs, &[("cpuset.cpus", "0-3\n"), ("cpuset.mems", "0\n")]);
        touch(&cs.join("mydocker"), &[("cpuset.cpus", "\n"), ("cpuset.mems", "\n")]);
        touch(&cs.join("mydocker/id1"), &[("cpuset.cpus", ""), ("cpuset.mems", "")]);
        let l = Layout::detect(&[mnt(mem.to_str().unwrap(), "cgroup", "rw,memory"), mnt(cs.to_str().unwrap(), "cgroup", "rw,cpuset")], &|_| Vec::new());
        let lim = Limits { memory: Some(1 << 20), cpuset_cpus: Some(b"1".to_vec()), ..Limits::default() };
        let cg = Cgroup::plan(&l, b"mydocker/id1", &lim).unwrap();
        // v1 cgroups are planned by plan and made by make (in the child)
        assert!(!mem.join("mydocker/id1/memory.limit_in_bytes").metadata().map(|m| m.len() > 0).unwrap_or(false));
        cg.make(Kind::V1, &lim).unwrap();
        assert_eq!(cg.v1.len(), 2);
        assert!(cg.v2.is_none());
        assert_eq!(fs::read_to_string(mem.join("mydocker/id1/memory.limit_in_bytes")).unwrap(), "1048576");
        assert_eq!(fs::read_to_string(mem.join("mydocker/id1/memory.memsw.limit_in_bytes")).unwrap(), "1048576");
        assert_eq!(fs::read_to_string(cs.join("mydocker/cpuset.cpus")).unwrap(), "0-3");
        assert_eq!(fs::read_to_string(cs.join("mydocker/cpuset.mems")).unwrap(), "0");
        assert_eq!(fs::read_to_string(cs.join("mydocker/id1/cpuset.cpus")).unwrap(), "1");
        assert_eq!(fs::read_to_string(cs.join("mydocker/id1/cpuset.mems")).unwrap(), "0");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn hybrid_tracks_in_v1_when_limited_and_in_unified_otherwise() {
        let root = tmp("hy");
        let mem = root.join("memory");
        let uni = root.join("unified");
        touch(&mem.join("mydocker/h1"), &[("memory.limit_in_bytes", "")]);
        touch(&uni, &[("cgroup.controllers", "")]);
        let l = Layout::detect(&[mnt(mem.to_str().unwrap(), "cgroup", "rw,memory"), mnt(uni.to_str().unwrap(), "cgroup2", "rw")], &|_| Vec::new());
        let privileged = Devices { privileged: true, extra: vec![] };
        let lim = Limits { memory: Some(1 << 20), devices: privileged.clone(), ..Limits::default() };
        let cg = Cgroup::plan(&l, b"mydocker/h1", &lim).unwrap();
        assert_eq!((cg.v1.clone(), cg.v2.clone(), cg.devices), (vec![b(&mem.join("mydocker/h1"))], None, None));
        assert!(!uni.join("mydocker/h1").exists());
        let cg = Cgroup::plan(&l, b"mydocker/h2", &Limits { devices: privileged, ..Limits::default() }).unwrap();
        assert_eq!((cg.v1.len(), cg.v2, cg.allow_all), (0, Some(b(&uni.join("mydocker/h2"))), Some(true)));
        // Confined, with no v1 devices hierarchy: the device filter needs
        // the unified cgroup even when a v1 one tracks.
        let lim = Limits { memory: Some(1 << 20), ..Limits::default() };
        let cg = Cgroup::plan(&l, b"mydocker/h3", &lim).unwrap();
        assert_eq!((cg.v1.len(), cg.v2.clone(), cg.devices), (1, Some(b(&uni.join("mydocker/h3"))), Some(Mechanism::V2Bpf)));
        // whose v1 memory cgroup gets no BPF program (that would fail)
        touch(&mem.join("mydocker/h3"), &[("memory.limit_in_bytes", "")]);
        cg.make(Kind::V1, &lim).unwrap();
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn missing_controller_is_an_error_and_leaves_nothing() {
        let root = tmp("missing");
        let mem = root.join("memory");
        touch(&mem, &[]);
        let l = Layout::detect(&[mnt(mem.to_str().unwrap(), "cgroup", "rw,memory")], &|_| Vec::new());
        let e = Cgroup::plan(&l, b"mydocker/x", &Limits { pids: Some(5), ..Limits::default() }).unwrap_err();
        assert!(std::str::from_utf8(&e.msg()).unwrap().starts_with("--pids-limit: the pids cgroup controller is not available"));
        assert!(!mem.join("mydocker/x").exists());
        // a value the "kernel" refuses (knob file missing) cleans up too
        let lim = Limits { memory: Some(1), ..Limits::default() };
        let cg = Cgroup::plan(&l, b"mydocker/y", &lim).unwrap();
        let e = cg.make(Kind::V1, &lim).unwrap_err();
        assert!(std::str::from_utf8(&e.msg()).unwrap().contains("refused memory.limit_in_bytes"));
        assert!(!mem.join("mydocker/y").exists());
        fs::remove_dir_all(&root).unwrap();
    }
    #[test]
    fn the_shared_devices_cgroup_is_named_after_its_rules() {
        // Changed DEFAULT? Then change SHARED's suffix too: a host keeps
        // the group an older mydocker made, with the older rules.
        let text: Vec<Vec<u8>> = devices::DEFAULT.iter().map(|r| r.text()).collect();
        assert_eq!(text.join(&b","[..]), b"c *:* m,b *:* m,c 1:3 rwm,c 1:5 rwm,c 1:7 rwm,c 1:8 rwm,c 1:9 rwm,c 5:0 rwm,c 5:1 rwm,c 5:2 rwm,c 136:* rwm");
        assert_eq!(SHARED, b"mydocker-default.1");
    }

    #[test]
    fn devices_v1_always_has_a_cgroup_with_the_rules() {
        let root = tmp("dev");
        let dev = root.join("devices");
        let uni = root.join("unified");
        touch(&dev.join("mydocker/d1"), &[("devices.deny", ""), ("devices.allow", "")]);
        touch(&uni, &[("cgroup.controllers", "")]);
        let l = Layout::detect(&[mnt(dev.to_str().unwrap(), "cgroup", "rw,devices"), mnt(uni.to_str().unwrap(), "cgroup2", "rw")], &|_| Vec::new());
        assert_eq!(l.devices(), Mechanism::V1);
        // No limits: the devices cgroup is the one (v1: made by the child).
        let extra = Rule { kind: b'c', major: 188, minor: 0, access: 3 };
        let d1 = Limits { devices: Devices { privileged: false, extra: vec![extra] }, ..Limits::default() };
        let cg = Cgroup::plan(&l, b"mydocker/d1", &d1).unwrap();
        assert_eq!((cg.v1.clone(), cg.v2.clone(), cg.devices), (vec![b(&dev.join("mydocker/d1"))], None, Some(Mechanism::V1)));
        cg.make(Kind::V2, &d1).unwrap();
        assert_eq!(fs::read_to_string(dev.join("mydocker/d1/devices.deny")).unwrap(), "");
        cg.make(Kind::V1, &d1).unwrap();
        assert_eq!(fs::read_to_string(dev.join("mydocker/d1/devices.deny")).unwrap(), "a");
        let allow = fs::read_to_string(dev.join("mydocker/d1/devices.allow")).unwrap();
        assert!(allow.starts_with("c *:* m\nb *:* m\nc 1:3 rwm\n") && allow.ends_with("c 136:* rwm\nc 188:0 rw\n"), "{allow}");
        // Privileged: no devices cgroup, the unified one tracks as before.
        let cg = Cgroup::plan(&l, b"mydocker/d2", &Limits { devices: Devices { privileged: true, extra: vec![] }, ..Limits::default() }).unwrap();
        // (and, as v1 confines here, its unified one gets an allow-all BPF
        // program only if its parent has programs)
        assert_eq!((cg.v1.len(), cg.v2, cg.devices, cg.allow_all), (0, Some(b(&uni.join("mydocker/d2"))), None, Some(false)));
        // No --device: the shared devices cgroup (no record names it), and
        // the unified one tracks. Made, under a name of the container's,
        // with the rules, then renamed into place; then joined as is.
        let cg = Cgroup::plan(&l, b"mydocker/d3", &Limits::default()).unwrap();
        assert_eq!((cg.v1.len(), cg.v2.clone(), cg.devices), (0, Some(b(&uni.join("mydocker/d3"))), Some(Mechanism::V1)));
        assert_eq!(cg.dirs(), vec![b(&uni.join("mydocker/d3"))]);
        let tmp = dev.join("mydocker-default.1-d3");
        assert_eq!(cg.shared, Some((b(&dev.join("mydocker-default.1")), b(&tmp))));
        touch(&tmp, &[("devices.deny", ""), ("devices.allow", ""), ("tasks", "")]);
        assert_eq!(cg.v1_tasks().unwrap().len(), 1);
        assert!(!tmp.exists());
        assert_eq!(fs::read_to_string(dev.join("mydocker-default.1/devices.deny")).unwrap(), "a");
        fs::write(dev.join("mydocker-default.1/devices.deny"), "kept").unwrap();
        assert_eq!(cg.v1_tasks().unwrap().len(), 1);
        assert_eq!(fs::read_to_string(dev.join("mydocker-default.1/devices.deny")).unwrap(), "kept");
        // A rule the kernel refuses (here: no devices.allow) fails the run.
        fs::remove_file(dev.join("mydocker/d1/devices.allow")).unwrap();
        let cg = Cgroup::plan(&l, b"mydocker/d1", &d1).unwrap();
        let e = cg.make(Kind::V1, &d1).unwrap_err();
        assert!(std::str::from_utf8(&e.msg()).unwrap().contains("devices.allow: No such file"), "{:?}", std::str::from_utf8(&e.msg()));
        // Nothing at all: no cgroup, the caller's fallback.
        assert_eq!(Layout::default().devices(), Mechanism::NoCgroup);
        fs::remove_dir_all(&root).unwrap();
    }
}

//! What keeps a container from the host, as docker's defaults do: masked
//! and read-only kernel files, a read-only /sys, the cgroup namespace with
//! a read-only view of the container's own cgroups, `--device` nodes,
//! `--tmpfs`, `--read-only`, and, last before exec, capabilities, seccomp,
//! the user and no_new_privs (`drop`).
//!
//! Every mount target here lies inside a filesystem mydocker mounted
//! itself (proc, sysfs, the /dev tmpfs) on a directory `own_dir` made sure
//! of: an image cannot plant a symlink that moves one of them, and the
//! mask source is mydocker's own /dev/null, made on its own /dev tmpfs
//! before any code of the image ran.

use crate::engine::cgroup::{Cgroup, Kind};
use crate::engine::config::{Device, Security};
use crate::engine::spec::Node;
use crate::engine::util::{join, mkdir_all, Ctx, Msg, Res};
use crate::sys;
use alloc::vec::Vec;

/// docker's masked paths (files get /dev/null, directories an empty
/// read-only tmpfs), then after the `|` docker's read-only paths. Those
/// this kernel lacks are skipped. (One literal: two tables of slices were
/// 16 bytes an entry.)
const PATHS: &[u8] = b"/proc/acpi /proc/asound /proc/interrupts /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list \
    /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware /sys/devices/virtual/powercap \
    | /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger";

const NOSUID_NODEV_NOEXEC: libc::c_ulong = sys::MS_NOSUID | sys::MS_NODEV | sys::MS_NOEXEC;

/// A mount point of mydocker's: a real directory. Whatever the image put
/// there instead (a symlink, a file) is removed first.
pub fn own_dir(path: &[u8]) -> Res<()> {
    match sys::lstat(path) {
        Ok(st) if st.is_dir() => return Ok(()),
        Ok(_) => sys::unlinkat(sys::AT_FDCWD, path, 0).ctx(m!("replace"), path)?,
        Err(_) => {}
    }
    mkdir_all(path, 0o755).ctx(m!("create"), path)
}

/// A filesystem of type `fstype` (its source named alike) mounted on `at`.
/// Out of line with its error: one call per mount in `setup`.
#[inline(never)]
pub fn mount_fs(fstype: &[u8], at: &[u8], flags: libc::c_ulong, data: &[u8]) -> Res<()> {
    sys::mount(fstype, at, fstype, flags, data).ctx(m!("mount"), at)
}

/// The bind mount at `at` remounted with `flags` (read-only, nodev) added.
#[inline(never)]
pub fn remount(at: &[u8], flags: libc::c_ulong, what: Msg) -> Res<()> {
    sys::mount(b"", at, b"", sys::MS_BIND | sys::MS_REMOUNT | flags, b"").ctx(what, at)
}

/// The masked and read-only paths under `under` (/proc, or /sys once it
/// is mounted); none with --privileged. A path is looked up once: what
/// this kernel lacks costs one failed lstat.
pub fn mask(under: &[u8], own: &[u8]) -> Res<()> {
    let mut ro = false;
    for p in crate::engine::util::fields(if own.is_empty() { PATHS } else { own }, b' ') {
        ro |= p == b"|";
        // `under` empty: the paths outside /proc and /sys (an OCI config's)
        let here = if under.is_empty() { p.first() == Some(&b'/') && !p.starts_with(b"/proc/") && !p.starts_with(b"/sys/") } else { p.starts_with(under) };
        if here {
            mask_one(p, ro)?;
        }
    }
    Ok(())
}

/// One of `mask`'s paths: read-only (`ro`) or masked; skipped if absent.
fn mask_one(p: &[u8], ro: bool) -> Res<()> {
    let Ok(st) = sys::lstat(p) else { return Ok(()) };
    // One mount call for the three kinds (a read-only path is then
    // remounted).
    let (src, fstype, flags, data, what): (&[u8], &[u8], libc::c_ulong, &[u8], Msg) = if ro {
        (p, b"", sys::MS_BIND | sys::MS_REC, b"", m!("bind"))
    } else if st.is_dir() {
        (b"tmpfs", b"tmpfs", sys::MS_RDONLY | NOSUID_NODEV_NOEXEC, b"size=0", m!("mask"))
    } else {
        (b"/dev/null", b"", sys::MS_BIND, b"", m!("mask"))
    };
    sys::mount(src, p, fstype, flags, data).ctx(what, p)?;
    if ro {
        return remount(p, sys::MS_RDONLY, m!("make read-only"));
    }
    Ok(())
}

/// The cgroup namespace, entered once the container is in all its cgroups
/// (they become its root), and /sys/fs/cgroup showing only those,
/// read-only (read-write with --privileged). A kernel without cgroup
/// namespaces (before 4.6) gets no cgroup filesystem at all: without the
/// namespace it would show the host's.
pub fn cgroup_ns(cg: &Cgroup, privileged: bool) -> Res<()> {
    // Entered even with no cgroup of its own (a v1 board without the
    // controllers it would need): /proc/self/cgroup then names no host path.
    if sys::unshare(sys::CLONE_NEWCGROUP).is_err() || cg.todo.is_empty() {
        return Ok(());
    }
    const AT: &[u8] = b"/sys/fs/cgroup";
    let ro = if privileged { 0 } else { sys::MS_RDONLY };
    let flags = (ro | NOSUID_NODEV_NOEXEC) as _;
    if let (Some(_), 1) = (&cg.v2, cg.todo.len()) {
        return mount_fs(b"cgroup2", AT, flags, b"");
    }
    // v1 or hybrid: a tmpfs with one directory per hierarchy, as docker.
    mount_fs(b"tmpfs", AT, NOSUID_NODEV_NOEXEC, b"mode=755,size=64k")?;
    for (h, _) in &cg.todo {
        // Named by controllers ("memory", "cpu,cpuacct"), as on a host.
        // (a loop, not [..].join: 200 bytes less)
        let mut name = Vec::new();
        let (fstype, data): (&[u8], &[u8]) = if h.kind == Kind::V1 {
            for c in &h.controllers {
                if !name.is_empty() {
                    name.push(b',');
                }
                name.extend_from_slice(c);
            }
            (b"cgroup", &name)
        } else {
            name.extend_from_slice(b"unified");
            (b"cgroup2", b"")
        };
        let dir = join(AT, &name);
        sys::mkdir(&dir, 0o755).ctx(m!("create"), &dir)?;
        mount_fs(fstype, &dir, flags, data)?;
    }
    sys::mount(b"", AT, b"", (sys::MS_REMOUNT | ro | NOSUID_NODEV_NOEXEC) as _, b"mode=755").ctx(m!("make read-only"), AT)
}

/// The directories above `path`, made where missing (failure is left to
/// what is made in them next). Out of line: `setup` has two uses.
#[inline(never)]
pub fn mkdir_parent(path: &[u8]) {
    if let Some(p) = path.iter().rposition(|&c| c == b'/') {
        let _ = mkdir_all(&path[..p], 0o755);
    }
}

/// `--device` nodes: made on the container's /dev tmpfs (or wherever asked).
pub fn device_nodes(devs: &[Device], nodes: &[Node]) -> Res<()> {
    for (d, n) in devs.iter().zip(nodes) {
        let path = &d.ctr;
        mkdir_parent(path);
        let _ = sys::unlinkat(sys::AT_FDCWD, path, 0);
        sys::mknodat(sys::AT_FDCWD, path, n.kind | 0o666, n.major, n.minor).ctx(m!("create device"), path)?;
    }
    Ok(())
}

/// `--tmpfs PATH[:OPTIONS]`: docker's defaults (nosuid, nodev, noexec),
/// the flag words among the options as flags, the rest as tmpfs data.
#[inline(never)]
pub fn tmpfs(spec: &[u8]) -> Res<()> {
    let (path, opts) = match spec.iter().position(|&c| c == b':') {
        Some(i) => (&spec[..i], &spec[i + 1..]),
        None => (spec, &b""[..]),
    };
    let mut flags = NOSUID_NODEV_NOEXEC;
    let mut data = Vec::new();
    // The flag words in pairs: the first sets its flag, the second clears it.
    const BITS: [libc::c_ulong; 4] = [sys::MS_RDONLY, sys::MS_NOSUID, sys::MS_NODEV, sys::MS_NOEXEC];
    for o in crate::engine::util::fields(opts, b',') {
        if o.is_empty() {
            continue;
        }
        match crate::engine::util::word_index(b"ro,rw,nosuid,suid,nodev,dev,noexec,exec", o) {
            Some(i) if i % 2 == 0 => flags |= BITS[i / 2],
            Some(i) => flags &= !BITS[i / 2],
            None => {
                if !data.is_empty() {
                    data.push(b',');
                }
                data.extend_from_slice(o);
            }
        }
    }
    own_dir(path)?;
    sys::mount(b"tmpfs", path, b"tmpfs", flags as _, &data).ctx(m!("mount tmpfs on"), path)
}

/// `--read-only`: the root mount itself (not the mounts on it).
pub fn read_only_root() -> Res<()> {
    remount(b"/", sys::MS_RDONLY, m!("make read-only"))
}

/// The bounding set (needs CAP_SETPCAP; takes nothing from this process,
/// only from what it execs): before `drop_privileges`.
pub fn bound(sec: &Security) -> Res<()> {
    if sec.privileged {
        return Ok(());
    }
    sys::bound_caps(sec.caps).ctx(m!("drop capabilities"), b"")
}

/// The last steps before exec, after `bound`, in the order that needs no
/// privilege it has dropped: the seccomp filter
/// (CAP_SYS_ADMIN, so no no_new_privs is needed for it), the user (what
/// `lookup` found; setuid to a non-root user clears the permitted and
/// effective sets, as exec would for docker), the capability sets of a
/// root user, and no_new_privs if asked.
pub fn drop_privileges(sec: &Security, user: &crate::engine::user::User) -> Res<()> {
    // (one error exit for the three steps)
    let (what, e) = 'failed: {
        if !sec.privileged && (sec.seccomp || !sec.filter.is_empty()) {
            let r = if sec.filter.is_empty() { sys::seccomp::install(sec.caps) } else { sys::seccomp::install_raw(&sec.filter) };
            if let Err(e) = r {
                break 'failed (m!("install the seccomp filter"), e);
            }
        }
        crate::engine::user::apply(user)?;
        if !sec.privileged && user.uid == 0 {
            if let Err(e) = sys::set_caps(sec.caps) {
                break 'failed (m!("set capabilities"), e);
            }
        }
        if sec.no_new_privs {
            if let Err(e) = sys::no_new_privs() {
                break 'failed (m!("set no_new_privs"), e);
            }
        }
        return Ok(());
    };
    Err(e).ctx(what, b"")
}

/// `--init`: PID 1 runs from a sealed in-memory copy of mydocker, so the
/// container's /proc/1/exe leads to that copy, never to the host's binary
/// (CVE-2019-5736). It then does what `mini_init` does.
pub fn sealed_self() -> Res<sys::fd::Owned> {
    let me = sys::open(b"/proc/self/exe", sys::O_RDONLY, 0).ctx(m!("open /proc/self/exe"), b"")?;
    sys::sealed_copy(me.raw()).ctx(m!("copy /proc/self/exe"), b"")
}

//! The small verbs: ps, logs, stop, rm, info, version.

use super::out::{self, each};
use crate::engine::cgroup::Layout;
use crate::engine::container;
use crate::engine::state::{self, Record, Root, Status};
use crate::engine::util::{self, join, read_file, remove_tree, Buf, Msg};
use crate::sys;
use alloc::vec::Vec;

/// "Up 3 minutes", "Exited (0) 5 seconds ago", "Created".
pub fn status_text(r: &Record, now: i64) -> (bool, Vec<u8>) {
    let mut b = Buf::new();
    if r.status == Status::Dead {
        b.s("Dead");
        return (false, b.0);
    }
    let up = r.alive();
    if !up && r.pid == 0 {
        b.s("Created");
        return (false, b.0);
    }
    // one duration: since the start when up, since the exit when not
    let mut since = r.started;
    if up {
        b.s("Up ");
    } else {
        // one literal: "Exited (" and ") " are slices of it
        let e = "Exited (unknown) ";
        match r.exit_code {
            Some(c) => b.s(&e[..8]).i(c as i64).s(&e[15..]),
            None => b.s(e),
        };
        since = if r.finished > 0 { r.finished } else { now };
    }
    out::human_duration(&mut b.0, now - since);
    if !up {
        b.s(" ago");
    }
    (up, b.0)
}

fn quote_cmd(argv: &[Vec<u8>], trunc: bool) -> Vec<u8> {
    // quoted; truncated to 19 characters and "…" past 20
    let mut c = b"\"".to_vec();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            c.push(b' ');
        }
        for &x in a {
            c.push(if x < b' ' { b' ' } else { x });
        }
    }
    if trunc && c.len() > 21 {
        c.truncate(20);
        c.extend_from_slice("…".as_bytes());
    }
    c.push(b'"');
    c
}

#[inline(never)]
pub fn ps(root: &Root, all: bool, quiet: bool, no_trunc: bool) -> i32 {
    let now = sys::now().0;
    let mut b = Buf::new();
    let recs = state::all(root);
    // The table's cells row by row, seven to a row, the header first.
    let mut cells: Vec<Vec<u8>> = Vec::new();
    for h in util::fields(b"CONTAINER ID,IMAGE,COMMAND,CREATED,STATUS,PORTS,NAMES", b',') {
        super::push_copy(&mut cells, h);
    }
    for r in recs.iter().rev() {
        let (up, st) = status_text(r, now);
        if container::reap(root, r) || !all && !up {
            continue;
        }
        let id = if no_trunc { &r.id[..] } else { r.short_id() };
        if quiet {
            b.b(id).s("\n");
            continue;
        }
        let mut created = Vec::new();
        if r.created > 0 {
            out::human_duration(&mut created, now - r.created);
            created.extend_from_slice(b" ago");
        }
        let mut ports = Vec::new();
        for (i, p) in r.ports.iter().enumerate() {
            if i > 0 {
                ports.extend_from_slice(b", ");
            }
            ports.extend_from_slice(&p.text());
        }
        super::push_copy(&mut cells, id);
        super::push_copy(&mut cells, &r.image);
        cells.push(quote_cmd(&r.argv, !no_trunc));
        cells.push(created);
        cells.push(st);
        cells.push(ports);
        super::push_copy(&mut cells, &r.name);
    }
    if quiet {
        out::out(&b.0);
        return 0;
    }
    // Column widths from the content, docker-style (3 spaces apart).
    // k: the column (the cells are seven to a row, so k is 0 again after
    // the first pass)
    let mut w = [0usize; 7];
    let mut k = 0;
    for c in &cells {
        w[k] = core::cmp::max(w[k], out::width(c));
        k = if k == 6 { 0 } else { k + 1 };
    }
    let mut o = Buf::new();
    for c in &cells {
        o.b(c);
        if k == 6 {
            o.s("\n");
            k = 0;
            continue;
        }
        for _ in out::width(c)..w[k] + 3 {
            o.0.push(b' ');
        }
        k += 1;
    }
    out::out(&o.0);
    0
}

#[inline(never)]
pub fn stop(root: &Root, names: &[&[u8]], secs: u64, echo: bool) -> i32 {
    each(names, echo, &mut |n| container::stop(root, n, secs))
}

pub fn rm(root: &Root, names: &[&[u8]], force: bool) -> i32 {
    each(names, true, &mut |n| container::rm(root, n, force))
}

/// `version`'s line, one literal: every part is known at build time
/// (info shows slices of it: the version and the target).
const VERSION: &str = concat!("mydocker version ", env!("CARGO_PKG_VERSION"), " (git ", env!("MYDOCKER_GIT"), ", ", env!("MYDOCKER_TARGET"), ")\n");
const V_END: usize = 17 + env!("CARGO_PKG_VERSION").len();
const T_START: usize = VERSION.len() - 2 - env!("MYDOCKER_TARGET").len();

pub fn version() -> i32 {
    out::out(VERSION.as_bytes());
    0
}

/// Mounts a throwaway overlay under the root to see if this kernel and the
/// root's filesystem accept it.
fn probe_overlay(root: &Root) -> Result<(), sys::Errno> {
    let _ = util::mkdir_all(&root.dir, 0o711);
    let mut rnd = [0u8; 4];
    sys::random(&mut rnd);
    let mut base = join(&root.dir, util::msg_text(m!(".probe-")));
    base.extend_from_slice(&util::hex(&rnd));
    let r = (|| {
        sys::mkdir(&base, 0o700)?;
        for d in util::fields(util::msg_text(m!("l,u,w,m")), b',') {
            sys::mkdir(&join(&base, d), 0o755)?;
        }
        // base never ends in '/': the parts are base + "/l" and so on
        let mut data = Buf::new();
        crate::engine::json::tpl_m(&mut data, m!("lowerdir=\x02/l,upperdir=\x02/u,workdir=\x02/w"), 0, &[&base, &base, &base], &[], &[]);
        let m = join(&base, b"m");
        sys::mount(b"overlay", &m, b"overlay", 0, &data.0)?;
        sys::umount2(&m, sys::MNT_DETACH)
    })();
    let _ = remove_tree(&base);
    r
}

/// Appends template `t` to `b`, each byte 2..=8 in it replaced by
/// `parts[byte - 2]`: one call per block of text instead of one per piece.
fn fill(b: &mut Buf, t: &[u8], parts: &[&[u8]]) {
    for &c in t {
        if c > 8 {
            b.0.push(c);
        } else if let Some(p) = parts.get((c as usize).wrapping_sub(2)) {
            b.b(p);
        }
    }
}

/// `fill` with the template kept with the message texts (\x01 is the
/// blob's own marker, so the parts start at \x02).
#[inline(never)]
fn fill_m(b: &mut Buf, t: Msg, parts: &[&[u8]]) {
    fill(b, util::msg_text(t), parts);
}

#[inline(never)]
pub fn info(root: &Root, env: &[Vec<u8>]) -> i32 {
    let mut b = Buf::new();
    let kver = read_file(util::msg_text(m!("/proc/sys/kernel/osrelease"))).unwrap_or_default();
    let l = Layout::current();
    fill_m(
        &mut b,
        m!("Version: \x02 (\x03)\nKernel: \x04\nRoot dir: \x05\nRun-time dir: \x06 (tmpfs)\nCgroup version: \x07\n"),
        &[
            &VERSION.as_bytes()[17..V_END],
            &VERSION.as_bytes()[T_START..VERSION.len() - 2],
            kver.strip_suffix(b"\n").unwrap_or(&kver),
            &root.dir,
            &root.run,
            util::msg_text(l.describe()),
        ],
    );
    for c in util::fields(util::msg_text(m!("memory,cpu,cpuset,pids")), b',') {
        let (t, m): (Msg, &[u8]) = match l.find(c) {
            Some(h) if h.kind == crate::engine::cgroup::Kind::V2 => (m!("  \x02: usable (v2, \x03)\n"), &h.mount),
            Some(h) => (m!("  \x02: usable (v1, \x03)\n"), &h.mount),
            None => (m!("  \x02: not available (its limits are refused)\n"), b""),
        };
        fill_m(&mut b, t, &[c, m]);
    }
    // What confines a default container here (docker's defaults).
    let mut n = Vec::new();
    util::push_num(&mut n, crate::sys::seccomp::PROFILE_LEN as u64);
    // two whole templates: the second is a back-reference in the blob
    let t = if sys::lstat(util::msg_text(m!("/proc/self/ns/cgroup"))).is_ok() {
        m!("Security: capabilities (docker's 14), seccomp (docker's profile, \x02 BPF instructions), masked /proc paths, read-only /sys\nCgroup namespace: yes\nDevices: \x03\n")
    } else {
        m!("Security: capabilities (docker's 14), seccomp (docker's profile, \x02 BPF instructions), masked /proc paths, read-only /sys\nCgroup namespace: no (kernel < 4.6)\nDevices: \x03\n")
    };
    fill_m(&mut b, t, &[&n, util::msg_text(l.devices().describe())]);
    let (t, why): (Msg, Vec<u8>) = match probe_overlay(root) {
        Ok(()) if !root.overlay => (m!("Overlay: supported, but MYDOCKER_OVERLAY=0: each container gets a flattened copy of its image\n"), Vec::new()),
        Ok(()) => (m!("Overlay: supported (image layers shared; flattened past ~55)\n"), Vec::new()),
        Err(_) if !crate::engine::image::overlay_listed() => {
            (m!("Overlay: not supported by this kernel: each container gets a flattened copy of its image\n"), Vec::new())
        }
        Err(e) => (m!("Overlay: refused under \x02 (\x03): each container gets a flattened copy of its image\n"), util::strerror(e)),
    };
    fill_m(&mut b, t, &[&root.dir, &why]);
    let mounts = crate::engine::mounts::current();
    let t = if crate::engine::mounts::pivot_root_works(&mounts) {
        m!("Root filesystem: \x02\npivot_root: yes\n")
    } else {
        m!("Root filesystem: \x02\npivot_root: no (initramfs): MS_MOVE + chroot instead\n")
    };
    fill_m(&mut b, t, &[&crate::engine::mounts::root_fstype(&mounts)]);
    for tool in util::fields(util::msg_text(m!("iptables,nft")), b',') {
        let p = crate::engine::network::which(tool, env);
        let t = if p.is_some() { m!("\x02: \x03\n") } else { m!("\x02: not found\n") };
        fill_m(&mut b, t, &[tool, p.as_deref().unwrap_or_default()]);
    }
    let t = if crate::engine::network::nat_path(env) == b"iptables" {
        m!("NAT for new networks: iptables\nPublished ports: TCP and UDP forwarded by the container's monitor\n")
    } else {
        m!("NAT for new networks: nf_tables over netlink\nPublished ports: TCP and UDP forwarded by the container's monitor\n")
    };
    fill_m(&mut b, t, &[]);
    out::out(&b.0);
    0
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    #[test]
    fn fill_replaces_the_numbered_bytes() {
        let mut b = crate::engine::util::Buf::new();
        super::fill(&mut b, b"a: \x02\nb \x03 (\x02)\x04.", &[b"x", b"", b"zz"]);
        assert_eq!(b.0, b"a: x\nb  (x)zz.");
    }

    #[test]
    fn command_cells() {
        let v = |s: &[&str]| s.iter().map(|x| x.as_bytes().to_vec()).collect::<alloc::vec::Vec<_>>();
        assert_eq!(super::quote_cmd(&v(&["sh", "-c", "a\tb"]), true), "\"sh -c a b\"".as_bytes());
        // 20 characters stay, 21 are cut to 19 and an ellipsis
        assert_eq!(super::quote_cmd(&v(&["12345678901234567890"]), true), "\"12345678901234567890\"".as_bytes());
        assert_eq!(super::quote_cmd(&v(&["123456789012345678901"]), true), "\"1234567890123456789…\"".as_bytes());
        assert_eq!(super::quote_cmd(&v(&["123456789012345678901"]), false), "\"123456789012345678901\"".as_bytes());
        assert_eq!(super::quote_cmd(&vec![], true), b"\"\"");
    }
}

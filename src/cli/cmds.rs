//! The small verbs: ps, logs, stop, rm, info, version.

use super::out::{self, each};
use crate::engine::cgroup::Layout;
use crate::engine::container;
use crate::engine::state::{self, Record, Root, Status};
use crate::engine::util::{self, join, read_file, remove_tree, Buf};
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
        match r.exit_code {
            Some(c) => b.s("Exited (").i(c as i64).s(") "),
            None => b.s("Exited (unknown) "),
        };
        since = if r.finished > 0 { r.finished } else { now };
    }
    b.b(&out::human_duration(now - since));
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
        let id = if no_trunc { &r.id[..] } else { r.short_id() }.to_vec();
        if quiet {
            b.b(&id).s("\n");
            continue;
        }
        let mut created = Vec::new();
        if r.created > 0 {
            created = out::human_duration(now - r.created);
            created.extend_from_slice(b" ago");
        }
        let mut ports = Vec::new();
        for (i, p) in r.ports.iter().enumerate() {
            if i > 0 {
                ports.extend_from_slice(b", ");
            }
            ports.extend_from_slice(&p.text());
        }
        cells.push(id);
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
    let mut w = [0usize; 7];
    for (i, c) in cells.iter().enumerate() {
        w[i % 7] = core::cmp::max(w[i % 7], out::width(c));
    }
    let mut o = Buf::new();
    for (i, c) in cells.iter().enumerate() {
        o.b(c);
        if i % 7 == 6 {
            o.s("\n");
            continue;
        }
        for _ in out::width(c)..w[i % 7] + 3 {
            o.0.push(b' ');
        }
    }
    out::out(&o.0);
    0
}

#[inline(never)]
pub fn stop(root: &Root, names: &[&[u8]], secs: u64, echo: bool) -> i32 {
    each(names, echo, &mut |n| container::stop(root, n, secs))
}

#[inline(never)]
pub fn rm(root: &Root, names: &[&[u8]], force: bool) -> i32 {
    each(names, true, &mut |n| container::rm(root, n, force))
}

#[inline(never)]
pub fn version() -> i32 {
    // One literal: every part is known at build time.
    out::out(concat!("mydocker version ", env!("CARGO_PKG_VERSION"), " (git ", env!("MYDOCKER_GIT"), ", ", env!("MYDOCKER_TARGET"), ")\n").as_bytes());
    0
}

/// Mounts a throwaway overlay under the root to see if this kernel and the
/// root's filesystem accept it.
fn probe_overlay(root: &Root) -> Result<(), sys::Errno> {
    let _ = util::mkdir_all(&root.dir, 0o711);
    let mut rnd = [0u8; 4];
    sys::random(&mut rnd);
    let mut base = join(&root.dir, b".probe-");
    base.extend_from_slice(&util::hex(&rnd));
    let r = (|| {
        sys::mkdir(&base, 0o700)?;
        for d in util::fields(b"l,u,w,m", b',') {
            sys::mkdir(&join(&base, d), 0o755)?;
        }
        // base never ends in '/': the parts are base + "/l" and so on
        let mut data = Buf::new();
        data.s("lowerdir=").b(&base).s("/l,upperdir=").b(&base).s("/u,workdir=").b(&base).s("/w");
        let m = join(&base, b"m");
        sys::mount(b"overlay", &m, b"overlay", 0, &data.0)?;
        sys::umount2(&m, sys::MNT_DETACH)
    })();
    let _ = remove_tree(&base);
    r
}

#[inline(never)]
pub fn info(root: &Root, env: &[Vec<u8>]) -> i32 {
    // Each line's end and the next one's label are one literal: a call
    // less per line.
    let mut b = Buf::new();
    let kver = read_file(b"/proc/sys/kernel/osrelease").unwrap_or_default();
    b.s(concat!("Version: ", env!("CARGO_PKG_VERSION"), " (", env!("MYDOCKER_TARGET"), ")\nKernel: "))
        .b(kver.strip_suffix(b"\n").unwrap_or(&kver))
        .s("\nRoot dir: ")
        .b(&root.dir)
        .s("\nRun-time dir: ")
        .b(&root.run)
        .s(" (tmpfs)\nCgroup version: ");
    let l = Layout::current();
    b.s(l.describe()).s("\n");
    for c in util::fields(b"memory,cpu,cpuset,pids", b',') {
        b.s("  ").b(c);
        match l.find(c) {
            Some(h) => b.s(if h.kind == crate::engine::cgroup::Kind::V2 { ": usable (v2, " } else { ": usable (v1, " }).b(&h.mount).s(")\n"),
            None => b.s(": not available (its limits are refused)\n"),
        };
    }
    // What confines a default container here (docker's defaults).
    b.s("Security: capabilities (docker's 14), seccomp (docker's profile, ")
        .n(crate::sys::seccomp::PROFILE_LEN as u64)
        .s(" BPF instructions), masked /proc paths, read-only /sys\nCgroup namespace: ")
        .s(if sys::lstat(b"/proc/self/ns/cgroup").is_ok() { "yes\nDevices: " } else { "no (kernel < 4.6)\nDevices: " })
        .s(l.devices().describe())
        .s("\n");
    const COPY: &str = "each container gets a flattened copy of its image\n";
    match probe_overlay(root) {
        Ok(()) if !root.overlay => b.s("Overlay: supported, but MYDOCKER_OVERLAY=0: ").s(COPY),
        Ok(()) => b.s("Overlay: supported (image layers shared; flattened past ~55)\n"),
        Err(_) if !crate::engine::image::overlay_listed() => b.s("Overlay: not supported by this kernel: ").s(COPY),
        Err(e) => b.s("Overlay: refused under ").b(&root.dir).s(" (").b(sys::strerror(e)).s("): ").s(COPY),
    };
    let mounts = crate::engine::mounts::current();
    b.s("Root filesystem: ").b(&crate::engine::mounts::root_fstype(&mounts)).s(if crate::engine::mounts::pivot_root_works(&mounts) {
        "\npivot_root: yes\n"
    } else {
        "\npivot_root: no (initramfs): MS_MOVE + chroot instead\n"
    });
    for tool in util::fields(b"iptables,nft", b',') {
        let p = crate::engine::network::which(tool, env).unwrap_or_else(|| b"not found".to_vec());
        b.b(tool).s(": ").b(&p).s("\n");
    }
    b.s(if crate::engine::network::nat_path(env) == b"iptables" {
        "NAT for new networks: iptables\n"
    } else {
        "NAT for new networks: nf_tables over netlink\n"
    })
    .s("Published ports: TCP and UDP forwarded by the container's monitor\n");
    out::out(&b.0);
    0
}

#[cfg(test)]
mod tests {
    use alloc::vec;

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

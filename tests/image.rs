//! Images through the CLI: import (including hostile archives), images, rmi.

#[macro_use]
mod common;
use common::*;
use std::fs;

/// A one-entry-at-a-time ustar writer (GNU tar would refuse to write these).
fn entry(out: &mut Vec<u8>, name: &str, ty: u8, data: &[u8], link: &str) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let mut oct = |at: usize, len: usize, v: u64| {
        let s = format!("{:0w$o}", v, w = len - 1);
        h[at..at + len - 1].copy_from_slice(s.as_bytes());
    };
    oct(100, 8, 0o644);
    oct(108, 8, 0);
    oct(116, 8, 0);
    oct(124, 12, data.len() as u64);
    oct(136, 12, 0);
    h[156] = ty;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&c| c as u32).sum();
    h[148..156].copy_from_slice(format!("{:06o}\0 ", sum).as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

#[test]
fn import_list_run_and_remove() {
    let t = t!();
    let o = t.md(&["images"]);
    assert!(o.stdout().starts_with("IMAGE") && o.stdout().contains("busybox"), "{}", o.stdout());
    // From stdin too.
    let mut c = t.cmd();
    c.args(["import", "-", "bb2"]).stdin(fs::File::open(tarball()).unwrap());
    assert!(c.output().unwrap().status.success());
    assert_eq!(t.md(&["images", "-q"]).stdout(), "bb2\nbusybox\n");
    assert_eq!(t.run(&["bb2", "true"]).code, 0);
    // Same name twice is refused; a bad name is refused.
    assert_eq!(t.md(&["import", tarball().to_str().unwrap(), "bb2"]).code, 125);
    assert_eq!(t.md(&["import", tarball().to_str().unwrap(), "../x"]).code, 125);
    let o = t.md(&["rmi", "bb2"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(t.md(&["images", "-q"]).stdout(), "busybox\n");
    assert_ne!(t.md(&["rmi", "bb2"]).code, 0);
    t.assert_clean();
}

#[test]
fn rmi_refuses_an_image_in_use() {
    let mut t = t!();
    t.detach(&["busybox", "sleep", "30"]);
    let o = t.md(&["rmi", "busybox"]);
    assert_ne!(o.code, 0);
    assert!(o.err.contains("in use by container"), "{}", o.err);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn hostile_archives_leave_nothing() {
    let t = t!();
    let outside = t.root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let o_path = outside.to_str().unwrap().to_string();
    let cases: Vec<Vec<u8>> = vec![
        {
            let mut a = Vec::new();
            entry(&mut a, "../../pwned", b'0', b"x", "");
            a
        },
        {
            let mut a = Vec::new();
            entry(&mut a, "esc", b'2', b"", &o_path);
            entry(&mut a, "esc/pwned", b'0', b"x", "");
            a
        },
        {
            let mut a = Vec::new();
            entry(&mut a, "h", b'1', b"", "../../../etc/passwd");
            a
        },
        b"this is not a tar archive at all, not even close".repeat(20),
    ];
    for (i, a) in cases.iter().enumerate() {
        let f = t.root.join(format!("evil{i}.tar"));
        fs::write(&f, a).unwrap();
        let o = t.md(&["import", f.to_str().unwrap(), "evil"]);
        assert_eq!(o.code, 125, "case {i}");
        assert_eq!(o.err.lines().count(), 1, "case {i}: {}", o.err);
        assert!(o.err.starts_with("mydocker: "), "{}", o.err);
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "case {i} wrote outside");
        let imgs: Vec<_> = fs::read_dir(t.root.join("images")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(imgs, vec![std::ffi::OsString::from("busybox")], "case {i} left {imgs:?}");
    }
    // Device nodes in an archive are skipped, not created.
    let mut a = Vec::new();
    entry(&mut a, "dev/sda", b'4', b"", "");
    entry(&mut a, "ok", b'0', b"fine", "");
    let f = t.root.join("dev.tar");
    fs::write(&f, &a).unwrap();
    assert_eq!(t.md(&["import", f.to_str().unwrap(), "devs"]).code, 0);
    assert!(!t.root.join("images/devs/rootfs/dev/sda").exists());
    assert_eq!(fs::read(t.root.join("images/devs/rootfs/ok")).unwrap(), b"fine");
    t.assert_clean();
}

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
    assert!(o.stdout().starts_with("REPOSITORY") && o.stdout().contains("busybox"), "{}", o.stdout());
    // From stdin too; docker's answer is the new image's ID. (A change
    // makes it another image: the same tar imported in the same second is
    // the same configuration, so the same ID, as docker's would be.)
    let mut c = t.cmd();
    c.args(["import", "-c", "ENV WHO=bb2", "-", "bb2"]).stdin(fs::File::open(tarball()).unwrap());
    let o = c.output().unwrap();
    assert!(o.status.success());
    let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let names = |t: &T| t.md(&["images"]).stdout().lines().skip(1).map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(":")).collect::<Vec<_>>();
    let mut n = names(&t);
    n.sort();
    assert_eq!(n, ["bb2:latest", "busybox:latest"]);
    assert_eq!(t.run(&["bb2", "true"]).code, 0);
    // The same layer is stored once.
    let layers = || fs::read_dir(t.root.join("layers")).unwrap().flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count();
    assert_eq!(layers(), 1);
    // Importing to a taken name moves the tag (docker's): the first image
    // is left untagged; a bad name is refused.
    assert_eq!(t.md(&["import", "-c", "ENV WHO=bb2b", tarball().to_str().unwrap(), "bb2"]).code, 0);
    let mut n = names(&t);
    n.sort();
    assert_eq!(n, ["<none>:<none>", "bb2:latest", "busybox:latest"]);
    let o = t.md(&["rmi", &id[7..19]]);
    assert_eq!(o.stdout(), format!("Deleted: {id}\n"), "{}", o.err);
    let o = t.md(&["import", tarball().to_str().unwrap(), "../x"]);
    assert_eq!((o.code, o.err.lines().count()), (1, 1), "{}", o.err);
    let o = t.md(&["rmi", "bb2"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o.stdout().starts_with("Untagged: bb2:latest\nDeleted: sha256:"), "{}", o.stdout());
    assert_eq!(names(&t), ["busybox:latest"]);
    assert_eq!(layers(), 1, "the layer busybox uses stays");
    assert_eq!(t.md(&["rmi", "bb2"]).code, 1);
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
        assert_eq!(o.code, 1, "case {i}");
        assert_eq!(o.err.lines().count(), 1, "case {i}: {}", o.err);
        assert!(o.err.starts_with("mydocker: "), "{}", o.err);
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "case {i} wrote outside");
        let imgs: Vec<_> = fs::read_dir(t.root.join("images")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(imgs.len(), 1, "case {i} left {imgs:?}");
        let layers: Vec<_> = fs::read_dir(t.root.join("layers")).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(layers.len(), 1, "case {i} left {layers:?}");
    }
    // Device nodes in an archive are skipped, not created.
    let mut a = Vec::new();
    entry(&mut a, "dev/sda", b'4', b"", "");
    entry(&mut a, "ok", b'0', b"fine", "");
    let f = t.root.join("dev.tar");
    fs::write(&f, &a).unwrap();
    assert_eq!(t.md(&["import", f.to_str().unwrap(), "devs"]).code, 0);
    let layer = fs::read_dir(t.root.join("layers")).unwrap().flatten().map(|e| e.path()).find(|p| p.join("root/ok").exists()).expect("the layer");
    assert!(!layer.join("root/dev/sda").exists());
    assert_eq!(fs::read(layer.join("root/ok")).unwrap(), b"fine");
    t.assert_clean();
}

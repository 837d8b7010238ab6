//! Real images (issue 10): `load` of archives made by buildah/podman/skopeo
//! (tests/fixtures/mkimages.sh), compared entry by entry with podman's own
//! load of the same docker-archive; the image config at `run`; zstd
//! refusal; hostile archives (tests/fixtures/hostile.py) that must fail or
//! stay inside the store.
//!
//! The fixtures are built once per checkout into CARGO_TARGET_TMPDIR (keyed
//! on the scripts' and the busybox tar's hashes; ~6 s). Needs buildah,
//! podman, skopeo, setcap and python3 (scripts/setup.sh): outside CI a
//! machine without them skips, with CI=true nothing skips.

#[macro_use]
mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

const VICTIM: &str = "/tmp/mydocker-h3-victim";

// ---- fixtures ---------------------------------------------------------

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().map(|o| o.status.success()).unwrap_or(false)
}

/// `(fixtures, hostile)` dirs, built on first use; None = skip (not in CI:
/// no root, no busybox tar or a tool missing).
fn fixtures() -> Option<&'static (PathBuf, PathBuf)> {
    static F: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    F.get_or_init(|| {
        let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
        let mut missing: Vec<&str> = ["buildah", "podman", "skopeo", "setcap", "python3"].into_iter().filter(|t| !have(t)).collect();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            missing.push("root");
        }
        if !tarball().exists() {
            missing.push("MYDOCKER_TEST_TAR");
        }
        if !missing.is_empty() {
            assert!(!ci, "image tests must not skip in CI: missing {missing:?}");
            eprintln!("skipping: missing {missing:?} (scripts/setup.sh)");
            return None;
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-fixtures");
        fs::create_dir_all(&base).unwrap();
        // One builder per checkout at a time (cargo may run test binaries
        // of this checkout side by side).
        let lock = fs::OpenOptions::new().create(true).truncate(false).write(true).open(base.join("lock")).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this function owns.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let t0 = Instant::now();
        let fix = base.join("fixtures");
        let o = Command::new(src.join("mkimages.sh")).arg(&fix).arg(tarball()).output().unwrap();
        assert!(o.status.success(), "mkimages.sh failed:\n{}", String::from_utf8_lossy(&o.stderr));
        eprint!("{}", String::from_utf8_lossy(&o.stderr));
        // hostile.py is cheap (~0.1 s) but keyed too, like mkimages.sh.
        let hostile = base.join("hostile");
        let script = fs::read(src.join("hostile.py")).unwrap();
        let key = sha256_hex(&[&script[..], VICTIM.as_bytes()].concat());
        if fs::read_to_string(hostile.join("key")).ok().as_deref() != Some(key.as_str()) {
            let o = Command::new("python3").arg(src.join("hostile.py")).arg(&hostile).arg(VICTIM).output().unwrap();
            assert!(o.status.success(), "hostile.py failed:\n{}", String::from_utf8_lossy(&o.stderr));
            fs::write(hostile.join("key"), &key).unwrap();
        }
        eprintln!("image fixtures ready in {:.1} s", t0.elapsed().as_secs_f64());
        Some((fix, hostile))
    })
    .as_ref()
}

/// Harness plus fixtures, or `return` (skip).
macro_rules! tf {
    () => {{
        let t = t!();
        match fixtures() {
            Some(f) => (t, &f.0, &f.1),
            None => return,
        }
    }};
}

// ---- SHA-256 (tests have no crates) -----------------------------------

fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
        0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut m = data.to_vec();
    m.push(0x80);
    while m.len() % 64 != 56 {
        m.push(0);
    }
    m.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for c in m.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7].wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), v[0], v[1], v[2], v[3].wrapping_add(t1), v[4], v[5], v[6]];
        }
        for i in 0..8 {
            h[i] = h[i].wrapping_add(v[i]);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[test]
fn sha256_known_answers() {
    assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(sha256_hex(&[b'a'; 1000]), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

/// sha256 of files, in order, by one sha256sum(1).
fn sha256_files<'a>(paths: impl Iterator<Item = &'a Path>) -> Vec<String> {
    let paths: Vec<&Path> = paths.collect();
    let mut v = Vec::new();
    // (a few thousand bytes of paths per call: chunks keep argv small)
    for chunk in paths.chunks(200) {
        let o = Command::new("sha256sum").arg("--zero").arg("--").args(chunk).output().unwrap();
        assert!(o.status.success(), "sha256sum: {}", String::from_utf8_lossy(&o.stderr));
        v.extend(o.stdout.split(|&b| b == 0).filter(|l| !l.is_empty()).map(|l| String::from_utf8_lossy(&l[..64]).into_owned()));
    }
    assert_eq!(v.len(), paths.len());
    v
}

// ---- the tree lister --------------------------------------------------

/// Paths the runtime provides (mounts, generated files) or that differ by
/// design: left out of both views, with everything below them.
const RUNTIME: &[&str] = &["/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv"];

fn xattrs(p: &Path) -> Vec<String> {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 4096];
    // SAFETY: buffer and length match; c is NUL-terminated.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Vec::new();
    }
    let mut v = Vec::new();
    for name in names[..n as usize].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let s = String::from_utf8_lossy(name).into_owned();
        // overlayfs's own and SELinux labels are not image content
        if s.starts_with("trusted.overlay.") || s == "security.selinux" {
            continue;
        }
        let cn = CString::new(name).unwrap();
        let mut val = vec![0u8; 65536];
        // SAFETY: as above.
        let l = unsafe { libc::lgetxattr(c.as_ptr(), cn.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
        let hex: String = val[..l.max(0) as usize].iter().map(|b| format!("{b:02x}")).collect();
        v.push(format!("{s}={hex}"));
    }
    v.sort();
    v
}

/// A tree, entry by entry: `path -> "type mode uid:gid [size sha256] [-> target] [xattrs] [links=...]"`.
/// `skipped` gets the mount points (another st_dev than the root) left out.
fn list(root: &Path, skipped: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    let mut files = Vec::new();
    let dev = fs::metadata(root).unwrap().dev(); // (follows /proc/PID/root)
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut ents: Vec<_> = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")).flatten().collect();
        ents.sort_by_key(|e| e.file_name());
        for e in ents {
            let name = format!("{rel}/{}", String::from_utf8_lossy(e.file_name().as_bytes()));
            if RUNTIME.contains(&name.as_str()) {
                continue;
            }
            let p = e.path();
            let md = fs::symlink_metadata(&p).unwrap();
            if md.dev() != dev {
                skipped.push(name);
                continue;
            }
            let ft = md.file_type();
            let ty = if ft.is_dir() {
                "d"
            } else if ft.is_symlink() {
                "l"
            } else if ft.is_file() {
                "f"
            } else if ft.is_char_device() {
                "c"
            } else if ft.is_block_device() {
                "b"
            } else if ft.is_fifo() {
                "p"
            } else {
                "s"
            };
            let mut d = format!("{ty} {:04o} {}:{}", md.mode() & 0o7777, md.uid(), md.gid());
            if ft.is_file() {
                d += &format!(" {} @SHA256@", md.len()); // filled in below
                files.push((name.clone(), p.clone()));
                inodes.entry((md.dev(), md.ino())).or_default().push(name.clone());
            }
            if ft.is_symlink() {
                d += &format!(" -> {}", String::from_utf8_lossy(fs::read_link(&p).unwrap().as_os_str().as_bytes()));
            }
            if ft.is_char_device() || ft.is_block_device() {
                d += &format!(" rdev={:x}", md.rdev());
            }
            for x in xattrs(&p) {
                d += &format!(" {x}");
            }
            if ft.is_dir() {
                stack.push((p, name.clone()));
            }
            out.insert(name, d);
        }
    }
    // The content hashes: sha256sum is much faster than a debug build.
    for ((name, _), h) in files.iter().zip(sha256_files(files.iter().map(|f| f.1.as_path()))) {
        let d = out.get_mut(name).unwrap();
        *d = d.replacen("@SHA256@", &h, 1);
    }
    // Hardlink groups from the visible names (not st_nlink: a hidden lower
    // name may still count).
    for names in inodes.values().filter(|v| v.len() > 1) {
        let mut names = names.clone();
        names.sort();
        let g = names.join(",");
        for n in &names {
            *out.get_mut(n).unwrap() += &format!(" links={g}");
        }
    }
    out
}

/// Equal views, or a panic with a readable diff.
fn assert_same(what: &str, want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) {
    let mut diff = Vec::new();
    let keys: BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for k in keys {
        match (want.get(k), got.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => diff.push(format!("  {k}\n    podman:   {a}\n    mydocker: {b}")),
            (Some(a), None) => diff.push(format!("- {k}  {a}")),
            (None, Some(b)) => diff.push(format!("+ {k}  {b}")),
            (None, None) => unreachable!(),
        }
    }
    assert!(diff.is_empty(), "{what}: {} differences (- only podman, + only mydocker):\n{}", diff.len(), diff.join("\n"));
}

// ---- podman's view ----------------------------------------------------

/// podman's runroot for the reference store: under 50 bytes (podman's
/// limit) and the same on every run (its database records it).
fn runroot(fix: &Path) -> PathBuf {
    std::env::temp_dir().join(format!("mydocker-h3-rr-{}", &sha256_hex(fix.as_os_str().as_bytes())[..12]))
}

/// `podman ARGS` on the reference store; its stdout.
fn podman(fix: &Path, rr: &Path, args: &[&str]) -> String {
    podman_at(&fix.join("podman/root"), rr, args)
}

/// `podman ARGS` on the vfs store at `root`; its stdout.
fn podman_at(root: &Path, rr: &Path, args: &[&str]) -> String {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("image-fixtures/podtmp");
    let o = Command::new("podman")
        .arg("--root")
        .arg(root)
        .arg("--runroot")
        .arg(rr)
        .args(["--storage-driver", "vfs", "--events-backend", "none", "--tmpdir"])
        .arg(&tmp)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// podman's load of fixture-docker.tar (made by mkimages.sh), listed.
fn podman_view(fix: &Path) -> &'static BTreeMap<String, String> {
    static V: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    V.get_or_init(|| {
        let rr = runroot(fix);
        let pod = |args: &[&str]| podman(fix, &rr, args);
        let m = pod(&["image", "mount", "localhost/fixture:latest"]);
        let mut skipped = Vec::new();
        let v = list(Path::new(&m), &mut skipped);
        pod(&["image", "unmount", "localhost/fixture:latest"]);
        assert!(skipped.is_empty(), "podman's image mount has mounts inside: {skipped:?}");
        v
    })
}

#[test]
fn podman_view_has_every_trap() {
    let Some((fix, _)) = fixtures() else { return };
    let v = podman_view(fix);
    let get = |p: &str| v.get(p).map(|s| s.as_str()).unwrap_or_else(|| panic!("{p} missing from podman's view"));
    for gone in ["/data/del-file", "/data/deldir", "/data/redir/old1", "/data/opq/o1", "/data/opq/o2"] {
        assert!(!v.contains_key(gone), "{gone} should be deleted");
    }
    assert!(v.contains_key("/data/redir/new1") && v.contains_key("/data/opq/n1") && v.contains_key("/data/keep"));
    assert!(get("/data/suid").starts_with("f 4755 0:0"), "{}", get("/data/suid"));
    assert!(get("/data/sgid").starts_with("f 2755 0:0"), "{}", get("/data/sgid"));
    assert!(get("/data/sgid-dir").starts_with("d 2775"), "{}", get("/data/sgid-dir"));
    assert!(get("/data/owned").starts_with("f 0600 1000:1000"), "{}", get("/data/owned"));
    assert!(get("/home/app").starts_with("d 0755 1000:1000"));
    assert!(get("/data/cap").contains("security.capability=0100000200200000"), "{}", get("/data/cap"));
    assert!(get("/data/h2").contains("links=/data/h1,/data/h2,/data/sub/h3"), "{}", get("/data/h2"));
    assert!(get("/data/hl-upper").contains("links=/data/hl-lower,/data/hl-upper"), "{}", get("/data/hl-upper"));
    assert!(get("/data/big.bin").starts_with("f 0640 0:0 1048576 "));
    assert!(get("/data/deep/a/b/esc-link").ends_with("-> ../../../../../../etc/passwd"));
    assert!(get("/data/abs-link").ends_with("-> /etc/passwd"));
    assert!(v.keys().any(|k| k.len() > 100 && k.ends_with("/file-past-100-bytes.txt")));
    assert!(v.contains_key("/data/grüße-日本.txt"));
    assert!(!v.keys().any(|k| k.contains(".wh.")), "whiteouts visible");
    assert!(!v.contains_key("/srv"), "WorkingDir must be in no layer");
    // A rewrite in a later layer broke the lower pair hb1/hb2.
    assert!(!get("/data/hb1").contains("links=") && !get("/data/hb2").contains("links="), "{}", get("/data/hb1"));
    assert!(get("/data/hb2").starts_with(&format!("f 0644 0:0 10 {}", sha256_hex(b"rewritten\n"))), "{}", get("/data/hb2"));
    assert!(get("/data/hb1").starts_with(&format!("f 0644 0:0 7 {}", sha256_hex(b"shared\n"))), "{}", get("/data/hb1"));
    assert!(get("/data/f2d").starts_with("d ") && v.contains_key("/data/f2d/in"));
    assert!(get("/data/d2f").starts_with("f ") && !v.contains_key("/data/d2f/x"));
    assert!(get("/data/sub").starts_with("d 0700 0:0"), "{}", get("/data/sub"));
    assert!(get("/data/keep").starts_with("f 0644 1000:1000"), "{}", get("/data/keep"));
    assert!(get("/data/noperm").starts_with("f 0000 0:0 3 "), "{}", get("/data/noperm"));
    assert!(get("/data/empty").starts_with(&format!("f 0644 0:0 0 {}", sha256_hex(b""))), "{}", get("/data/empty"));
}

// ---- mydocker's view --------------------------------------------------

/// A field of `inspect` JSON output, via python3: `expr` indexes `d`, the
/// first array element; the result is printed as JSON.
fn json(doc: &str, expr: &str) -> String {
    let mut c = Command::new("python3");
    c.args(["-c", &format!("import json,sys; d=json.load(sys.stdin)[0]; print(json.dumps({expr}, ensure_ascii=False))")]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut ch = c.spawn().unwrap();
    use std::io::Write;
    ch.stdin.take().unwrap().write_all(doc.as_bytes()).unwrap();
    let o = ch.wait_with_output().unwrap();
    assert!(o.status.success(), "{expr} of {doc}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn load(t: &T, path: &Path) -> Out {
    t.md(&["load", "-q", "-i", path.to_str().unwrap()])
}

/// The tree of a container of localhost/fixture seen from the host.
fn container_view(t: &T, env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut v = view_of(t, &["--entrypoint", "/bin/sleep", "localhost/fixture", "1000"], env);
    // WorkingDir /srv/app is in no layer: the runtime makes it.
    for d in ["/srv", "/srv/app"] {
        let e = v.remove(d).unwrap_or_else(|| panic!("WorkingDir part {d} was not created"));
        assert!(e.starts_with("d "), "{d}: {e}");
    }
    v
}

/// The tree of a container `run -d ARGS` (which must keep it running),
/// listed from `/proc/PID/root`.
fn view_of(t: &T, args: &[&str], env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut c = t.cmd();
    c.envs(env.iter().copied()).args(["run", "-d", "--name", "c"]).args(args);
    let o = c.output().unwrap();
    assert!(o.status.success(), "run -d: {}", String::from_utf8_lossy(&o.stderr));
    let i = t.md(&["inspect", "c"]);
    assert_eq!(i.code, 0, "inspect: {}", i.err);
    let pid = json(&i.stdout(), "d['State']['Pid']");
    let mut skipped = Vec::new();
    let v = list(Path::new(&format!("/proc/{pid}/root")), &mut skipped);
    let o = t.md(&["rm", "-f", "c"]);
    assert_eq!(o.code, 0, "rm -f: {}", o.err);
    eprintln!("mount points left out of mydocker's view: {skipped:?}");
    v
}

/// Loads one saved form into a fresh store and compares what a container
/// sees, with overlayfs and with the flattening fallback, to podman's view.
fn matches_podman(file: &str) {
    let (t, fix, _) = tf!();
    let want = podman_view(fix);
    let o = t.md(&["load", "-i", fix.join(file).to_str().unwrap()]);
    assert_eq!(o.code, 0, "load {file}: {}", o.err);
    // An OCI layout from `skopeo copy … oci:DIR:latest` names only a tag:
    // how that becomes a name is the loader's choice (podman makes
    // localhost/<dir path>:latest), so go by what load printed.
    let out = o.stdout();
    let name = out.trim().rsplit(": ").next().unwrap_or_default();
    assert!(out.trim().lines().count() == 1 && out.starts_with("Loaded image"), "load {file} printed {out:?}");
    if name != "localhost/fixture:latest" {
        let o = t.md(&["tag", name, "localhost/fixture:latest"]);
        assert_eq!(o.code, 0, "tag {name}: {}", o.err);
    }
    assert_same(&format!("{file}, overlay"), want, &container_view(&t, &[]));
    assert_same(&format!("{file}, MYDOCKER_OVERLAY=0"), want, &container_view(&t, &[("MYDOCKER_OVERLAY", "0")]));
    t.assert_clean();
}

/// The lister and the comparison themselves, on what works today: podman's
/// merged tree, tarred by GNU tar (PAX, xattrs) and `import`ed, must list
/// the same from inside a container (overlay and flattened).
#[test]
fn import_of_podmans_tree_matches_podman() {
    let (t, fix, _) = tf!();
    let want = podman_view(fix);
    let tar = t.root.join("flat.tar");
    let rr = runroot(fix);
    let m = podman(fix, &rr, &["image", "mount", "localhost/fixture:latest"]);
    let o = Command::new("tar")
        .args(["--xattrs", "--xattrs-include=security.capability", "--numeric-owner", "--format=posix", "-C", &m, "-cf"])
        .arg(&tar)
        .arg(".")
        .output()
        .unwrap();
    podman(fix, &rr, &["image", "unmount", "localhost/fixture:latest"]);
    assert!(o.status.success(), "tar: {}", String::from_utf8_lossy(&o.stderr));
    let o = t.md(&["import", tar.to_str().unwrap(), "flat"]);
    assert_eq!(o.code, 0, "import: {}", o.err);
    assert_same("import, overlay", want, &view_of(&t, &["flat", "sleep", "1000"], &[]));
    assert_same("import, MYDOCKER_OVERLAY=0", want, &view_of(&t, &["flat", "sleep", "1000"], &[("MYDOCKER_OVERLAY", "0")]));
    t.assert_clean();
}

#[test]
fn docker_archive_matches_podman() {
    matches_podman("fixture-docker.tar");
}

#[test]
fn gzipped_docker_archive_matches_podman() {
    matches_podman("fixture-docker.tar.gz");
}

#[test]
fn oci_archive_matches_podman() {
    matches_podman("fixture-oci.tar");
}

#[test]
fn oci_layout_gzip_matches_podman() {
    matches_podman("fixture-oci-gz");
}

#[test]
fn oci_layout_uncompressed_matches_podman() {
    matches_podman("fixture-oci-raw");
}

#[test]
fn hybrid_archive_matches_podman() {
    matches_podman("fixture-hybrid.tar");
}

#[test]
fn multi_image_archive_loads_both_and_shares_the_base() {
    let (t, fix, _) = tf!();
    let file = fix.join("multi-docker.tar");
    let man = Command::new("tar").arg("xOf").arg(&file).arg("manifest.json").output().unwrap();
    let man = String::from_utf8_lossy(&man.stdout).into_owned();
    // 4 + 2 layers, the busybox base shared: 5 distinct diff_ids.
    let hexes: BTreeSet<String> = ["0", "1"]
        .iter()
        .flat_map(|i| {
            json(&format!("[{man}]"), &format!("[l[:64] for l in d[{i}]['Layers']]"))
                .trim_matches(['[', ']'])
                .split(", ")
                .map(|s| s.trim_matches('"').to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(hexes.len(), 5, "{man}");
    let layers = |t: &T| fs::read_dir(t.root.join("layers")).map(|d| d.count()).unwrap_or(0);
    let had = hexes.iter().filter(|h| t.root.join("layers").join(h).exists()).count();
    let n0 = layers(&t);
    let o = t.md(&["load", "-i", file.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.err);
    let mut lines: Vec<&str> = o.out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| std::str::from_utf8(l).unwrap()).collect();
    lines.sort();
    assert_eq!(lines, ["Loaded image: localhost/fixture2:latest", "Loaded image: localhost/fixture:latest"]);
    for h in &hexes {
        assert!(t.root.join("layers").join(h).join("root").is_dir(), "layer {h} missing");
    }
    assert_eq!(layers(&t), n0 + 5 - had, "the shared base must be stored once");
    assert_eq!(t.md(&["run", "--rm", "localhost/fixture2"]).stdout(), "two\n");
    assert_same("multi-docker.tar, fixture", podman_view(fix), &container_view(&t, &[]));
    // Removing one image frees its own layer, keeps the shared ones.
    let o = t.md(&["rmi", "localhost/fixture2"]);
    assert_eq!(o.code, 0, "{}", o.err);
    let cfg2 = json(&format!("[{man}]"), "d[1]['Config'][:64]");
    assert_eq!(o.stdout(), format!("Untagged: localhost/fixture2:latest\nDeleted: sha256:{}\n", cfg2.trim_matches('"')));
    assert_eq!(layers(&t), n0 + 4 - had);
    assert_same("after rmi fixture2", podman_view(fix), &container_view(&t, &[]));
    t.assert_clean();
}

#[test]
fn config_drives_run() {
    let (t, fix, _) = tf!();
    let o = load(&t, &fix.join("fixture-docker.tar"));
    assert_eq!(o.code, 0, "{}", o.err);
    // argv = Entrypoint ++ Cmd; args replace Cmd; --entrypoint clears Cmd.
    let r = t.md(&["run", "--rm", "localhost/fixture"]);
    assert_eq!((r.code, r.stdout().as_str()), (0, "entry hello world two  spaces\n"), "{}", r.err);
    assert_eq!(t.md(&["run", "--rm", "localhost/fixture", "a", "b c"]).stdout(), "entry a b c\n");
    assert_eq!(t.md(&["run", "--rm", "--entrypoint", "/bin/pwd", "localhost/fixture"]).stdout(), "/srv/app\n");
    // User from the image (a name from its /etc/passwd), unless -u.
    let o = t.md(&["run", "--rm", "--entrypoint", "/bin/sh", "localhost/fixture", "-c", "id -u; id -g"]);
    assert_eq!(o.stdout(), "1000\n1000\n", "{}", o.err);
    assert_eq!(t.md(&["run", "--rm", "-u", "0", "--entrypoint", "/bin/id", "localhost/fixture", "-u"]).stdout(), "0\n");
    // Env from the image, then -e.
    let env = t.md(&["run", "--rm", "-e", "KEY=over", "--entrypoint", "/bin/env", "localhost/fixture"]).stdout();
    assert!(env.lines().any(|l| l == "KEY=over") && env.lines().any(|l| l == "SPACED=a b  c"), "{env}");
    assert!(!env.lines().any(|l| l == "KEY=value"), "{env}");
    // The setuid bit and the capability survive into the container.
    let o = t.md(&["run", "--rm", "--entrypoint", "/bin/stat", "localhost/fixture", "-c", "%a %u:%g", "/data/suid", "/data/owned"]);
    assert_eq!(o.stdout(), "4755 0:0\n600 1000:1000\n", "{}", o.err);
    // inspect: docker's shape.
    let i = t.md(&["image", "inspect", "localhost/fixture"]).stdout();
    assert_eq!(json(&i, "d['Config']['Entrypoint']"), r#"["/bin/echo", "entry"]"#);
    assert_eq!(json(&i, "d['Config']['Cmd']"), r#"["hello world", "two  spaces"]"#);
    assert_eq!(json(&i, "d['Config']['WorkingDir']"), r#""/srv/app""#);
    assert_eq!(json(&i, "d['Config']['User']"), r#""app""#);
    assert_eq!(json(&i, "sorted(d['Config']['ExposedPorts'])"), r#"["53/udp", "80/tcp"]"#);
    assert_eq!(json(&i, "[e for e in d['Config']['Env'] if e.startswith(('KEY','SPACED'))]"), r#"["KEY=value", "SPACED=a b  c"]"#);
    assert_eq!(json(&i, "d['Config']['Labels']['org.example.fixture']"), r#""yes""#);
    assert_eq!(json(&i, "d['RepoTags']"), r#"["localhost/fixture:latest"]"#);
    assert_eq!(json(&i, "(d['Os'], d['Architecture'], d['RootFS']['Type'], len(d['RootFS']['Layers']))"), r#"["linux", "amd64", "layers", 4]"#);
    // Id = sha256 of the config file in the archive: the same as podman's.
    let man = Command::new("tar").arg("xOf").arg(fix.join("fixture-docker.tar")).arg("manifest.json").output().unwrap();
    let cfg_name = json(&String::from_utf8_lossy(&man.stdout), "d['Config']");
    assert_eq!(json(&i, "d['Id']"), format!("\"sha256:{}\"", &cfg_name[1..65]));
    t.assert_clean();
}

#[test]
fn load_from_stdin_again_adds_nothing() {
    let (t, fix, _) = tf!();
    let layers = |t: &T| fs::read_dir(t.root.join("layers")).map(|d| d.count()).unwrap_or(0);
    let mut n = None;
    // gzip as a whole first, then the plain archive: the same image.
    for f in ["fixture-docker.tar.gz", "fixture-docker.tar"] {
        let mut c = t.cmd();
        c.arg("load").stdin(fs::File::open(fix.join(f)).unwrap());
        let o = c.output().unwrap();
        assert!(o.status.success(), "load < {f}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "Loaded image: localhost/fixture:latest\n");
        assert_eq!(*n.get_or_insert(layers(&t)), layers(&t), "{f} loaded again added layers");
    }
    let imgs = images(&t);
    assert_eq!(imgs.iter().filter(|l| l.starts_with("localhost/fixture ")).count(), 1, "{imgs:?}");
    t.assert_clean();
}

/// A member of a tar file, via tar(1).
fn member(tar: &Path, name: &str) -> Vec<u8> {
    let o = Command::new("tar").arg("xOf").arg(tar).arg(name).output().unwrap();
    assert!(o.status.success(), "{name} of {tar:?}: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

/// `save` writes what podman wrote (config and layer tars byte for byte,
/// so every digest holds), and podman's loader reads it back to the same
/// tree.
#[test]
fn save_matches_podman_and_podman_loads_it() {
    let (t, fix, _) = tf!();
    // (oci-archive: gzip layers, so save must rebuild the plain tars)
    assert_eq!(load(&t, &fix.join("fixture-oci.tar")).code, 0);
    let ours = t.root.join("saved.tar");
    let o = t.md(&["save", "-o", ours.to_str().unwrap(), "localhost/fixture"]);
    assert_eq!(o.code, 0, "save: {}", o.err);
    let theirs = fix.join("fixture-docker.tar");
    let man = String::from_utf8(member(&theirs, "manifest.json")).unwrap();
    let ours_man = String::from_utf8(member(&ours, "manifest.json")).unwrap();
    for e in ["d['Config']", "d['RepoTags']", "d['Layers']"] {
        assert_eq!(json(&ours_man, e), json(&man, e), "manifest.json {e}");
    }
    let cfg = json(&man, "d['Config']");
    let mut names = vec![cfg.trim_matches('"').to_string()];
    names.extend(json(&man, "d['Layers']").trim_matches(['[', ']']).split(", ").map(|s| s.trim_matches('"').to_string()));
    for n in &names {
        let a = member(&ours, n);
        assert_eq!(sha256_hex(&a), n[..64], "{n}: its digest");
        assert!(a == member(&theirs, n), "{n} differs from podman's");
    }
    // podman's loader reads our archive to the same tree.
    let store = t.root.join("podman-store");
    let rr = std::env::temp_dir().join(format!("mydocker-h3-rs-{}", std::process::id()));
    let o = Command::new("skopeo")
        .arg("copy")
        .arg("--quiet")
        .arg(format!("docker-archive:{}", ours.display()))
        .arg(format!("containers-storage:[vfs@{}+{}]localhost/fixture:latest", store.display(), rr.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&o.stderr));
    let m = podman_at(&store, &rr, &["image", "mount", "localhost/fixture:latest"]);
    let mut skipped = Vec::new();
    let got = list(Path::new(&m), &mut skipped);
    podman_at(&store, &rr, &["image", "unmount", "localhost/fixture:latest"]);
    let _ = fs::remove_dir_all(&rr);
    assert_same("podman's load of our save", podman_view(fix), &got);
    t.assert_clean();
}

/// Every file and dir under `root` with its size (a before/after snapshot).
fn snapshot(root: &Path) -> BTreeSet<String> {
    let mut v = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let md = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel == "run" || rel.starts_with("run/") {
                continue; // the run-time tmpfs: container state only
            }
            v.insert(format!("{rel} {:o} {} {}", md.mode(), md.nlink(), if md.is_file() { md.len() } else { 0 }));
            if md.is_dir() {
                stack.push(p);
            }
        }
    }
    v
}

#[test]
fn zstd_layers_are_refused_and_leave_nothing() {
    let (t, fix, _) = tf!();
    let before = (snapshot(&t.root), images(&t));
    let o = load(&t, &fix.join("fixture-oci-zstd"));
    assert_eq!(o.code, 1, "{}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    assert!(o.err.starts_with("mydocker: ") && o.err.contains("zstd"), "{}", o.err);
    assert_eq!((snapshot(&t.root), images(&t)), before);
    t.assert_clean();
}

/// `images`, REPOSITORY TAG IMAGE ID only (CREATED moves with the clock).
fn images(t: &T) -> Vec<String> {
    let o = t.md(&["images"]);
    assert_eq!(o.code, 0, "images: {}", o.err);
    o.stdout().lines().map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).collect()
}

/// The victim dir: made fresh, and what it must still be afterwards.
fn victim() -> BTreeSet<String> {
    let _ = fs::remove_dir_all(VICTIM);
    fs::create_dir_all(format!("{VICTIM}/sub")).unwrap();
    fs::write(format!("{VICTIM}/secret"), "secret\n").unwrap();
    fs::write(format!("{VICTIM}/sub/keep"), "keep\n").unwrap();
    snapshot(Path::new(VICTIM))
}

#[test]
fn hostile_archives_fail_or_stay_inside() {
    let (t, fix, hostile) = tf!();
    struct Gone;
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(VICTIM);
        }
    }
    let _gone = Gone;
    // A store in use (layers/, images/, tags exist): a failed load must
    // leave it exactly as it was.
    assert_eq!(load(&t, &fix.join("fixture-docker.tar")).code, 0);
    let cases = fs::read_to_string(hostile.join("cases.txt")).unwrap();
    let mut loaded = Vec::new();
    for line in cases.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (name, expect, path) = (f[0], f[1], Path::new(f[2]));
        let v = victim();
        let before = snapshot(&t.root);
        let imgs = images(&t);
        let o = load(&t, path);
        assert_eq!(snapshot(Path::new(VICTIM)), v, "{name}: the victim dir changed");
        for top in ["/", "/tmp", t.root.parent().unwrap().to_str().unwrap()] {
            let bad: Vec<_> = fs::read_dir(top).unwrap().flatten().filter(|e| e.file_name().as_bytes().starts_with(b"h3pwned")).map(|e| e.path()).collect();
            assert!(bad.is_empty(), "{name}: wrote {bad:?}");
        }
        let after = snapshot(&t.root);
        if expect == "ok" {
            assert_eq!(o.code, 0, "{name}: a valid control archive must load: {}", o.err);
        }
        if o.code != 0 || expect == "fail" {
            assert_eq!(o.code, 1, "{name}: must fail with 1; stderr {}", o.err);
            assert_eq!(o.err.lines().count(), 1, "{name}: {}", o.err);
            assert!(o.err.starts_with("mydocker: "), "{name}: {}", o.err);
            let added: Vec<_> = after.difference(&before).collect();
            let gone: Vec<_> = before.difference(&after).collect();
            assert!(added.is_empty() && gone.is_empty(), "{name}: store changed: +{added:?} -{gone:?}");
            assert_eq!(images(&t), imgs, "{name}: images changed");
        } else {
            // Loaded: every new path is store content, and anything an
            // attack named lies inside a layer's root.
            for p in after.difference(&before) {
                // (the store's own dirs change link counts; the tag file)
                let ok = ["layers/", "images/", "layers ", "images ", "repositories "].iter().any(|s| p.starts_with(s));
                assert!(ok, "{name}: load made {p}");
                if p.contains("h3pwned") {
                    let parts: Vec<&str> = p.split('/').collect();
                    assert!(parts[0] == "layers" && parts.get(2) == Some(&"root"), "{name}: {p} outside a layer root");
                }
            }
            let o = t.md(&["rmi", "localhost/hostile"]);
            assert_eq!(o.code, 0, "{name}: rmi: {}", o.err);
            if expect != "ok" {
                loaded.push(name);
            }
        }
    }
    eprintln!("hostile cases that loaded (contained): {loaded:?}");
    t.assert_clean();
}

/// What a container sees survives `export` (then `import`), `commit` and
/// `save` (then `load` into another store): setuid bits, owners, hard
/// links and `security.capability`, entry by entry as podman shows them.
#[test]
fn export_commit_and_save_keep_every_bit() {
    let (t, fix, _) = tf!();
    let want = podman_view(fix);
    let o = load(&t, &fix.join("fixture-docker.tar"));
    assert_eq!(o.code, 0, "load: {}", o.err);
    let o = t.md(&["run", "-d", "--name", "src", "--entrypoint", "/bin/sleep", "localhost/fixture", "1000"]);
    assert_eq!(o.code, 0, "run: {}", o.err);
    // export of the running container, imported as a one-layer image
    let tar = t.root.join("exp.tar");
    let o = t.md(&["export", "-o", tar.to_str().unwrap(), "src"]);
    assert_eq!(o.code, 0, "export: {}", o.err);
    let o = t.md(&["import", tar.to_str().unwrap(), "exported"]);
    assert_eq!(o.code, 0, "import: {}", o.err);
    let strip = |mut v: BTreeMap<String, String>| {
        for d in ["/srv", "/srv/app"] {
            assert!(v.remove(d).is_some_and(|e| e.starts_with("d ")), "{d} missing");
        }
        v
    };
    assert_same("export | import", want, &strip(view_of(&t, &["exported", "sleep", "1000"], &[])));
    // commit: the image's layers plus one
    let o = t.md(&["commit", "src", "committed"]);
    assert_eq!(o.code, 0, "commit: {}", o.err);
    assert_same("commit", want, &strip(view_of(&t, &["--entrypoint", "/bin/sleep", "committed", "1000"], &[])));
    // save, and load into another store
    let saved = t.root.join("saved.tar");
    let o = t.md(&["save", "-o", saved.to_str().unwrap(), "committed"]);
    assert_eq!(o.code, 0, "save: {}", o.err);
    assert_eq!(t.md(&["rm", "-f", "src"]).code, 0);
    // a store with only the harness's busybox (one test may hold only one
    // host lock, so not another store)
    for i in ["committed", "exported", "localhost/fixture"] {
        let o = t.md(&["rmi", i]);
        assert_eq!(o.code, 0, "rmi {i}: {}", o.err);
    }
    let left: Vec<_> = fs::read_dir(t.root.join("layers")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 1, "layers left: {left:?}, images: {}", t.md(&["images"]).stdout());
    let o = load(&t, &saved);
    assert_eq!(o.code, 0, "load of the saved image: {}", o.err);
    assert_same("save | load", want, &strip(view_of(&t, &["--entrypoint", "/bin/sleep", "committed", "1000"], &[])));
    t.assert_clean();
}

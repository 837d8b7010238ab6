//! The image commands of issue 10 through the CLI (load, save, tag, images,
//! history, image inspect, rmi, import --change, commit) and `run` from an
//! image's config, against the archives tests/fixtures/mkconfig.py writes
//! (see that file for what each image holds).
//!
//! Contract: exit 1 and one stderr line `mydocker: <what>: <why>` for a
//! failing non-run command; run's own errors are 125.

#[macro_use]
mod common;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

// ---- fixtures ----------------------------------------------------------------------------

struct Fx {
    dir: PathBuf,
    /// This machine's platform as OCI spells it (amd64, arm64).
    arch: String,
    base: String,
    a: String,
    a_layers: Vec<String>,
    b: String,
    b_layers: Vec<String>,
    plat: String,
}

impl Fx {
    fn p(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }
}

/// The fixtures, made once per test process (callers hold the host lock
/// through their harness, so two processes never write them at once).
fn fx() -> &'static Fx {
    static FX: OnceLock<Fx> = OnceLock::new();
    FX.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("imagecli-fixtures");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mkconfig.py");
        let o = Command::new("python3").arg(&script).arg(&dir).arg(tarball()).output().expect("python3");
        assert!(o.status.success(), "mkconfig.py: {}", String::from_utf8_lossy(&o.stderr));
        let d = fs::read_to_string(dir.join("digests")).unwrap();
        let get = |k: &str| d.lines().find_map(|l| l.strip_prefix(&format!("{k} "))).unwrap_or_else(|| panic!("digests: no {k}")).to_string();
        let list = |k: &str| get(k).split(',').map(|s| s.to_string()).collect::<Vec<_>>();
        let arch = get("arch");
        Fx {
            plat: get(&format!("{arch}.config")),
            arch,
            base: get("base"),
            a: get("A.config"),
            a_layers: list("A.diffids"),
            b: get("B.config"),
            b_layers: list("B.diffids"),
            dir,
        }
    })
}

// ---- a small JSON reader -----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

static NULL: J = J::Null;

impl J {
    fn parse(s: &str) -> J {
        let b = s.as_bytes();
        let mut i = 0;
        let v = J::value(b, &mut i);
        J::ws(b, &mut i);
        assert_eq!(i, b.len(), "trailing bytes after JSON: {s:?}");
        v
    }
    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn value(b: &[u8], i: &mut usize) -> J {
        J::ws(b, i);
        let c = *b.get(*i).expect("JSON ends early");
        let lit = |i: &mut usize, w: &str, v: J| {
            assert!(b[*i..].starts_with(w.as_bytes()), "bad JSON at {}", *i);
            *i += w.len();
            v
        };
        match c {
            b'{' => {
                *i += 1;
                let mut v = Vec::new();
                loop {
                    J::ws(b, i);
                    if b[*i] == b'}' {
                        *i += 1;
                        return J::Obj(v);
                    }
                    let J::Str(k) = J::value(b, i) else { panic!("JSON key at {}", *i) };
                    J::ws(b, i);
                    assert_eq!(b[*i], b':', "JSON ':' at {}", *i);
                    *i += 1;
                    v.push((k, J::value(b, i)));
                    J::ws(b, i);
                    if b[*i] == b',' {
                        *i += 1;
                    }
                }
            }
            b'[' => {
                *i += 1;
                let mut v = Vec::new();
                loop {
                    J::ws(b, i);
                    if b[*i] == b']' {
                        *i += 1;
                        return J::Arr(v);
                    }
                    v.push(J::value(b, i));
                    J::ws(b, i);
                    if b[*i] == b',' {
                        *i += 1;
                    }
                }
            }
            b'"' => {
                *i += 1;
                let mut s: Vec<u8> = Vec::new();
                loop {
                    let c = b[*i];
                    *i += 1;
                    match c {
                        b'"' => return J::Str(String::from_utf8(s).expect("JSON string not UTF-8")),
                        b'\\' => {
                            let e = b[*i];
                            *i += 1;
                            match e {
                                b'n' => s.push(b'\n'),
                                b't' => s.push(b'\t'),
                                b'r' => s.push(b'\r'),
                                b'b' => s.push(8),
                                b'f' => s.push(12),
                                b'u' => {
                                    let hex = |i: &mut usize| {
                                        let v = u32::from_str_radix(std::str::from_utf8(&b[*i..*i + 4]).unwrap(), 16).unwrap();
                                        *i += 4;
                                        v
                                    };
                                    let mut u = hex(i);
                                    if (0xd800..0xdc00).contains(&u) && b[*i..].starts_with(b"\\u") {
                                        *i += 2;
                                        u = 0x10000 + ((u - 0xd800) << 10) + (hex(i) - 0xdc00);
                                    }
                                    let ch = char::from_u32(u).unwrap_or('\u{fffd}');
                                    s.extend_from_slice(ch.to_string().as_bytes());
                                }
                                other => s.push(other),
                            }
                        }
                        _ => s.push(c),
                    }
                }
            }
            b't' => lit(i, "true", J::Bool(true)),
            b'f' => lit(i, "false", J::Bool(false)),
            b'n' => lit(i, "null", J::Null),
            _ => {
                let st = *i;
                while *i < b.len() && matches!(b[*i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    *i += 1;
                }
                J::Num(std::str::from_utf8(&b[st..*i]).unwrap().parse().unwrap_or_else(|_| panic!("JSON number at {st}")))
            }
        }
    }
    /// A member of an object (Null when absent or not an object).
    fn get(&self, k: &str) -> &J {
        match self {
            J::Obj(v) => v.iter().find(|(n, _)| n == k).map(|(_, v)| v).unwrap_or(&NULL),
            _ => &NULL,
        }
    }
    fn str(&self) -> &str {
        match self {
            J::Str(s) => s,
            other => panic!("not a JSON string: {other:?}"),
        }
    }
    fn arr(&self) -> &[J] {
        match self {
            J::Arr(v) => v,
            other => panic!("not a JSON array: {other:?}"),
        }
    }
    /// An array of strings.
    fn strs(&self) -> Vec<String> {
        self.arr().iter().map(|x| x.str().to_string()).collect()
    }
    fn keys(&self) -> Vec<String> {
        match self {
            J::Obj(v) => v.iter().map(|(k, _)| k.clone()).collect(),
            other => panic!("not a JSON object: {other:?}"),
        }
    }
    /// Null, absent, [] and {} alike: "nothing set".
    fn empty(&self) -> bool {
        match self {
            J::Null => true,
            J::Arr(v) => v.is_empty(),
            J::Obj(v) => v.is_empty(),
            _ => false,
        }
    }
}

// ---- small helpers -----------------------------------------------------------------------

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Asserts a failing non-run command: exit 1, one line `mydocker: ...`.
fn fails(o: &Out, what: &str) {
    assert_eq!(o.code, 1, "{what}: exit {} (stderr {:?})", o.code, o.err);
    assert_eq!(o.err.lines().count(), 1, "{what}: {:?}", o.err);
    assert!(o.err.starts_with("mydocker: "), "{what}: {:?}", o.err);
}

fn ok(o: &Out, what: &str) {
    assert_eq!(o.code, 0, "{what}: exit {}: {}", o.code, o.err);
}

/// `load` with FILE on stdin.
fn load_stdin(t: &T, file: &str, extra: &[&str]) -> Out {
    let mut c = t.cmd();
    c.arg("load").args(extra).stdin(fs::File::open(file).unwrap());
    out_of(c)
}

fn out_of(mut c: Command) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let o = c.output().unwrap();
    let code = o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0));
    Out { code, out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned() }
}

/// mydocker against another state root (a fresh store under the test's root).
fn md_in(root: &Path, args: &[&str]) -> Out {
    let mut c = Command::new(bin());
    c.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").arg("--root").arg(root).args(args).stdin(Stdio::null());
    out_of(c)
}

fn load_ok(t: &T, file: &str) -> String {
    let o = t.md(&["load", "-i", file]);
    ok(&o, &format!("load -i {file}"));
    o.stdout()
}

/// `image inspect IMAGE` → its one object.
fn inspect_in(root: &Path, img: &str) -> J {
    let o = md_in(root, &["image", "inspect", img]);
    ok(&o, &format!("image inspect {img}"));
    let j = J::parse(&o.stdout());
    assert_eq!(j.arr().len(), 1, "image inspect {img}: {}", o.stdout());
    j.arr()[0].clone()
}

fn inspect(t: &T, img: &str) -> J {
    inspect_in(&t.root, img)
}

/// Table rows, columns split on runs of 2+ spaces (docker's tabwriter).
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split("  ").map(|c| c.trim()).filter(|c| !c.is_empty()).map(|c| c.to_string()).collect()).collect()
}

/// The entries of DIR (none if it is missing).
fn listing(dir: &Path) -> BTreeSet<String> {
    match fs::read_dir(dir) {
        Ok(d) => d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// The stored layers: `layers/<diffid hex>` (other names there, e.g. a
/// lock, are not layers; `snapshot` still sees them).
fn layer_dirs(root: &Path) -> BTreeSet<String> {
    listing(&root.join("layers")).into_iter().filter(|n| n.len() == 64 && n.bytes().all(|c| c.is_ascii_hexdigit())).collect()
}

fn hex(diffid: &str) -> &str {
    diffid.strip_prefix("sha256:").unwrap_or(diffid)
}

/// The store as the errors test compares it: `images` without its CREATED
/// column (it ages), everything under layers/ and images/ (leftover
/// temporary dirs included), and the tags file.
fn snapshot(t: &T) -> (Vec<Vec<String>>, BTreeSet<String>, BTreeSet<String>, Vec<u8>) {
    let mut imgs = rows(&t.md(&["images"]).stdout());
    for r in imgs.iter_mut() {
        if r.len() >= 5 {
            r.remove(3);
        }
    }
    (imgs, listing(&t.root.join("layers")), listing(&t.root.join("images")), fs::read(t.root.join("repositories")).unwrap_or_default())
}

/// Removes the harness's own `busybox` image so that the layer store starts
/// empty (an imported tar may well share the fixtures' base layer).
fn drop_busybox(t: &T) {
    ok(&t.md(&["rmi", "busybox"]), "rmi busybox");
    assert_eq!(layer_dirs(&t.root), BTreeSet::new(), "layers left after rmi of the only image");
}

/// `run --rm OPTS --entrypoint /bin/sh IMAGE -c SCRIPT` → stdout.
fn sh(t: &T, opts: &[&str], img: &str, script: &str) -> String {
    let mut a: Vec<&str> = opts.to_vec();
    a.extend_from_slice(&["--entrypoint", "/bin/sh", img, "-c", script]);
    let o = t.run(&a);
    assert_eq!(o.code, 0, "run {a:?}: {}", o.err);
    o.stdout()
}

fn set_of(s: &str) -> Vec<u32> {
    let mut v: Vec<u32> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    v.sort();
    v.dedup();
    v
}

/// (name, data offset, size) of each entry of a plain tar.
fn tar_entries(b: &[u8]) -> Vec<(String, usize, usize)> {
    let mut v = Vec::new();
    let mut at = 0;
    while at + 512 <= b.len() && b[at] != 0 {
        let h = &b[at..at + 512];
        let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(&h[r]).trim_end_matches('\0').to_string();
        let mut name = field(0..100);
        if &h[257..262] == b"ustar" && h[345] != 0 {
            name = format!("{}/{}", field(345..500), name);
        }
        let size = usize::from_str_radix(field(124..136).trim(), 8).unwrap_or(0);
        v.push((name, at + 512, size));
        at += 512 + size.div_ceil(512) * 512;
    }
    v
}

fn tar_file<'a>(b: &'a [u8], name: &str) -> Option<&'a [u8]> {
    tar_entries(b).into_iter().find(|(n, _, _)| n == name || n.strip_prefix("./") == Some(name)).map(|(_, o, n)| &b[o..o + n])
}

/// Bytes used under DIR (allocated blocks, each inode once), as `du`.
fn du(dir: &Path, seen: &mut BTreeSet<(u64, u64)>) -> u64 {
    let mut n = 0;
    let Ok(d) = fs::read_dir(dir) else { return 0 };
    for e in d.flatten() {
        let m = fs::symlink_metadata(e.path()).unwrap();
        if seen.insert((m.dev(), m.ino())) {
            n += m.blocks() * 512;
        }
        if m.is_dir() {
            n += du(&e.path(), seen);
        }
    }
    n
}

fn tool(name: &str) -> bool {
    let found = Command::new(name).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    assert!(found || !ci, "{name} is needed by this test (apt-get install {name})");
    if !found {
        eprintln!("skipping the {name} checks: {name} not installed");
    }
    found
}

/// podman against a private store under ROOT.
fn podman(root: &Path, args: &[&str]) -> Out {
    let mut c = Command::new("podman");
    c.arg("--root")
        .arg(root.join("podman"))
        .arg("--runroot")
        .arg(root.join("podman-run"))
        .args(["--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs"])
        .args(args)
        .stdin(Stdio::null());
    out_of(c)
}

fn skopeo_inspect(reference: &str) -> J {
    let o = out_of({
        let mut c = Command::new("skopeo");
        c.args(["inspect", reference]);
        c
    });
    ok(&o, &format!("skopeo inspect {reference}"));
    J::parse(&o.stdout())
}

// ---- load --------------------------------------------------------------------------------

#[test]
fn load_from_file_stdin_dir_oci_archive_and_gzip() {
    let t = t!();
    let f = fx();
    drop_busybox(&t);
    // -i FILE: docker-archive; twice is fine and changes nothing
    assert_eq!(load_ok(&t, &f.p("app.tar")), "Loaded image: localhost/app:latest\n");
    let layers = layer_dirs(&t.root);
    assert_eq!(layers, f.a_layers.iter().map(|d| hex(d).to_string()).collect(), "one dir per diff_id, named by it");
    let o = t.md(&["load", "-i", &f.p("app.tar")]);
    ok(&o, "second load");
    assert_eq!(o.stdout(), "Loaded image: localhost/app:latest\n");
    assert_eq!(layer_dirs(&t.root), layers);
    // -q hides progress only: docker's loader writes "Loaded image" whether
    // or not it is quiet (moby image/tarexport/load.go), and docker's CLI
    // itself asks for quiet whenever stdout is not a terminal
    let o = t.md(&["load", "-q", "-i", &f.p("app.tar")]);
    ok(&o, "load -q");
    assert_eq!(o.stdout(), "Loaded image: localhost/app:latest\n");
    assert_eq!(o.err, "");
    // the whole archive gzip'd, from stdin
    let o = load_stdin(&t, &f.p("app.tar.gz"), &[]);
    ok(&o, "load < app.tar.gz");
    assert_eq!(o.stdout(), "Loaded image: localhost/app:latest\n");
    // an OCI layout dir with gzip layers: ref.name as a full name; same config = same image
    assert_eq!(load_ok(&t, &f.p("oci-dir")), "Loaded image: localhost/ociapp:latest\n");
    assert_eq!(inspect(&t, "localhost/ociapp:latest").get("Id").str(), format!("sha256:{}", f.a));
    assert_eq!(layer_dirs(&t.root), layers, "gzip'd and plain copies of a layer are one diff_id, one dir");
    // an oci-archive on stdin
    let o = load_stdin(&t, &f.p("oci-app.tar"), &[]);
    ok(&o, "load < oci-app.tar");
    assert_eq!(o.stdout(), "Loaded image: localhost/ociapp:latest\n");
    // a bare tag as ref.name (skopeo's oci:DIR:TAG): loaded, one line
    assert!(!t.md(&["images"]).stdout().contains(&f.b[..12]));
    let o = load_ok(&t, &f.p("oci-bare"));
    assert_eq!(o.lines().count(), 1, "{o}");
    assert!(o.starts_with("Loaded image"), "{o}");
    assert!(t.md(&["images"]).stdout().contains(&f.b[..12]), "oci-bare's image is not listed");
    // a multi-image archive on stdin: one line per tag
    let o = load_stdin(&t, &f.p("multi.tar"), &[]);
    ok(&o, "load < multi.tar");
    let mut got: Vec<String> = o.stdout().lines().map(|l| l.to_string()).collect();
    got.sort();
    assert_eq!(got, s(&["Loaded image: localhost/app:latest", "Loaded image: localhost/app:v1", "Loaded image: localhost/other:latest"]));
    let mut tags = inspect(&t, "localhost/app:latest").get("RepoTags").strs();
    tags.sort();
    assert_eq!(tags, s(&["localhost/app:latest", "localhost/app:v1", "localhost/ociapp:latest"]));
    let want: BTreeSet<String> = f.a_layers.iter().chain(&f.b_layers).map(|d| hex(d).to_string()).collect();
    assert_eq!(layer_dirs(&t.root), want, "the base layer is stored once");
    // an untagged image (RepoTags null): its ID
    let o = load_ok(&t, &f.p("untagged.tar"));
    assert_eq!(o, format!("Loaded image ID: sha256:{}\n", f.b));
    assert_eq!(layer_dirs(&t.root), want);
    t.assert_clean();
}

#[test]
fn platform_of_this_machine_from_a_nested_multi_platform_index() {
    let t = t!();
    let f = fx();
    assert_eq!(load_ok(&t, &f.p("multiarch")), "Loaded image: localhost/multi:latest\n");
    let j = inspect(&t, "localhost/multi:latest");
    assert_eq!(j.get("Id").str(), format!("sha256:{}", f.plat));
    assert_eq!(j.get("Architecture").str(), f.arch);
    assert_eq!(j.get("Os").str(), "linux");
    assert_eq!(j.get("Config").get("Labels").get("org.example.platform").str(), f.arch);
    let o = t.run(&["localhost/multi"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.stdout(), format!("{}\n", f.arch), "the other platform's layer was applied");
    let n = rows(&t.md(&["images"]).stdout()).iter().filter(|r| r[0] == "localhost/multi").count();
    assert_eq!(n, 1, "one image per index entry, not one per platform");
    t.assert_clean();
}

// ---- run from the image's config ---------------------------------------------------------

#[test]
fn run_takes_entrypoint_cmd_env_workdir_and_user_from_the_image() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("multi.tar"));
    let run = |a: &[&str]| {
        let o = t.run(a);
        assert_eq!(o.code, 0, "run {a:?}: {}", o.err);
        o.stdout()
    };
    // argv = Entrypoint ++ Cmd; arguments replace Cmd only (spaces kept)
    assert_eq!(run(&["localhost/app:latest"]), "[first][arg with space][x]\n");
    assert_eq!(run(&["app"]), "[first][arg with space][x]\n", "short name");
    assert_eq!(run(&["app", "a", "b c"]), "[first][a][b c]\n");
    // --entrypoint replaces Entrypoint and clears Cmd
    assert_eq!(run(&["--entrypoint", "/usr/local/bin/args", "app"]), "\n");
    assert_eq!(run(&["--entrypoint", "/usr/local/bin/args", "app", "y"]), "[y]\n");
    assert_eq!(run(&["--entrypoint=/usr/local/bin/args", "app", "y z"]), "[y z]\n");
    // --entrypoint "" (docker): no entrypoint, the arguments are the command;
    // without arguments there is no command at all (Cmd is not restored)
    assert_eq!(run(&["--entrypoint", "", "app", "/usr/local/bin/args", "z"]), "[z]\n");
    let o = t.run(&["--entrypoint", "", "app"]);
    assert_eq!(o.code, 125, "--entrypoint \"\" without a command: {}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    // Cmd alone (no Entrypoint)
    assert_eq!(run(&["localhost/other"]), "other\n");
    assert_eq!(run(&["other", "/bin/echo", "replaced"]), "replaced\n");
    // User by name via the image's passwd and group (+ supplementary groups),
    // HOME from passwd, WorkingDir created, Env from the image
    let o = sh(&t, &[], "app", "id -u; id -g; id -G; pwd; echo \"$GREETING|$KEEP|$HOME\"; cat /etc/flavour; echo $PATH");
    let l: Vec<&str> = o.lines().collect();
    assert_eq!(l.len(), 7, "{o}");
    assert_eq!((l[0], l[1]), ("1001", "1002"), "User appuser: {o}");
    assert_eq!(set_of(l[2]), vec![1002, 1003], "groups of appuser: {o}");
    assert_eq!(l[3], "/srv/app", "WorkingDir: {o}");
    assert_eq!(l[4], "hello world|image|/home/appuser", "Env and HOME: {o}");
    assert_eq!(l[5], "app");
    assert_eq!(l[6], "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "the image's PATH: {o}");
    // -e after the image's Env; -u and -w over the image's
    let o = sh(&t, &["-e", "KEEP=cli", "-e", "NEW=1"], "app", "echo \"$GREETING|$KEEP|$NEW\"");
    assert_eq!(o, "hello world|cli|1\n");
    let o = sh(&t, &["-u", "0"], "app", "id -u; id -g; echo $HOME; pwd");
    assert_eq!(o, "0\n0\n/root\n/srv/app\n", "-u 0 over User appuser");
    let o = sh(&t, &["-u", "1001:1003"], "app", "id -u; id -g");
    assert_eq!(o, "1001\n1003\n");
    assert_eq!(sh(&t, &["-w", "/tmp"], "app", "pwd"), "/tmp\n");
    // the numeric uid:gid of an image (in no passwd): HOME /, cwd /
    let o = sh(&t, &[], "other", "id -u; id -g; echo \"$HOME|$FLAVOUR\"; pwd");
    assert_eq!(o, "1234\n5678\n/|other\n/\n", "User 1234:5678");
    t.assert_clean();
}

// ---- images, tag, short names ------------------------------------------------------------

#[test]
fn images_lists_one_row_per_tag() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("multi.tar"));
    let o = t.md(&["images"]);
    ok(&o, "images");
    let r = rows(&o.stdout());
    assert_eq!(r[0], s(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]), "{}", o.stdout());
    for row in &r[1..] {
        assert!(row.len() >= 5, "row {row:?}");
        assert!(row[2].len() == 12 && row[2].bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "IMAGE ID {row:?}");
    }
    let mut mine: Vec<(String, String, String)> =
        r[1..].iter().filter(|x| x[0] == "localhost/app" || x[0] == "localhost/other").map(|x| (x[0].clone(), x[1].clone(), x[2].clone())).collect();
    mine.sort();
    let want = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c[..12].to_string());
    assert_eq!(mine, vec![want("localhost/app", "latest", &f.a), want("localhost/app", "v1", &f.a), want("localhost/other", "latest", &f.b)], "{}", o.stdout());
    t.assert_clean();
}

#[test]
fn tag_and_short_name_resolution() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("app.tar"));
    let o = t.md(&["tag", "localhost/app:latest", "localhost/app:extra"]);
    ok(&o, "tag");
    assert!(rows(&t.md(&["images"]).stdout()).iter().any(|r| r[0] == "localhost/app" && r[1] == "extra" && r[2] == f.a[..12]));
    assert_eq!(inspect(&t, "localhost/app:extra").get("Id").str(), format!("sha256:{}", f.a));
    // short names: NAME → NAME:latest → localhost/NAME:latest
    assert_eq!(inspect(&t, "app").get("Id").str(), format!("sha256:{}", f.a));
    assert_eq!(inspect(&t, "app:extra").get("Id").str(), format!("sha256:{}", f.a));
    ok(&t.md(&["tag", "app", "localhost/copy:v2"]), "tag from a short name");
    assert_eq!(inspect(&t, "localhost/copy:v2").get("Id").str(), format!("sha256:{}", f.a));
    // both localhost/app and docker.io/library/app: `app` is ambiguous
    ok(&t.md(&["tag", "localhost/app:latest", "docker.io/library/app:latest"]), "tag docker.io");
    fails(&t.md(&["image", "inspect", "app"]), "image inspect of an ambiguous short name");
    let o = t.run(&["app", "true"]);
    assert_eq!(o.code, 125, "run of an ambiguous short name: {}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    // the full names still work
    assert_eq!(inspect(&t, "docker.io/library/app:latest").get("Id").str(), format!("sha256:{}", f.a));
    assert_eq!(inspect(&t, "localhost/app").get("Id").str(), format!("sha256:{}", f.a));
    t.assert_clean();
}

// ---- rmi and shared layers ---------------------------------------------------------------

#[test]
fn rmi_untags_then_deletes_and_frees_unused_layers() {
    let t = t!();
    let f = fx();
    drop_busybox(&t);
    load_ok(&t, &f.p("multi.tar"));
    assert_eq!(layer_dirs(&t.root).len(), 3);
    let o = t.md(&["rmi", "localhost/app:latest"]);
    ok(&o, "rmi app:latest");
    assert_eq!(o.stdout(), "Untagged: localhost/app:latest\n", "another tag is left: untag only");
    assert_eq!(layer_dirs(&t.root).len(), 3);
    assert!(t.root.join("images").join(&f.a).exists());
    let o = t.md(&["rmi", "localhost/app:v1"]);
    ok(&o, "rmi app:v1");
    let l: Vec<String> = o.stdout().lines().map(|x| x.to_string()).collect();
    assert_eq!(l[0], "Untagged: localhost/app:v1", "{}", o.stdout());
    assert!(l.contains(&format!("Deleted: sha256:{}", f.a)), "{}", o.stdout());
    assert!(!t.root.join("images").join(&f.a).exists(), "image dir left");
    let want: BTreeSet<String> = f.b_layers.iter().map(|d| hex(d).to_string()).collect();
    assert_eq!(layer_dirs(&t.root), want, "A's own layer is freed, the shared base stays for B");
    assert_eq!(t.run(&["localhost/other:latest"]).stdout(), "other\n");
    let o = t.md(&["rmi", "other"]);
    ok(&o, "rmi other");
    assert!(o.stdout().contains("Untagged: localhost/other:latest") && o.stdout().contains(&format!("Deleted: sha256:{}", f.b)), "{}", o.stdout());
    assert_eq!(layer_dirs(&t.root), BTreeSet::new());
    fails(&t.md(&["rmi", "localhost/other:latest"]), "rmi of a removed image");
    t.assert_clean();
}

#[test]
fn rmi_refuses_an_image_a_container_uses() {
    let mut t = t!();
    let f = fx();
    drop_busybox(&t);
    load_ok(&t, &f.p("multi.tar"));
    t.detach(&["--entrypoint", "/bin/sleep", "localhost/other:latest", "60"]);
    let before = snapshot(&t);
    fails(&t.md(&["rmi", "localhost/other:latest"]), "rmi of an image in use");
    assert_eq!(snapshot(&t), before, "a refused rmi changed the store");
    // a stopped container still uses it
    t.md(&["stop", "-t", "0", &t.ids[0]]);
    fails(&t.md(&["rmi", "localhost/other"]), "rmi of an image a stopped container uses");
    assert_eq!(snapshot(&t), before);
    t.rm_all();
    ok(&t.md(&["rmi", "localhost/other"]), "rmi once the container is gone");
    assert_eq!(layer_dirs(&t.root).len(), 2, "A's two layers stay");
    t.assert_clean();
}

#[test]
fn two_images_share_their_base_layer_on_disk() {
    let t = t!();
    let f = fx();
    drop_busybox(&t);
    load_ok(&t, &f.p("multi.tar"));
    let dirs = layer_dirs(&t.root);
    assert_eq!(dirs.len(), 3, "base + one layer each: {dirs:?}");
    assert!(dirs.contains(&f.base), "layers/<diffid hex>: {dirs:?}");
    assert!(t.root.join("layers").join(&f.base).join("root/bin/busybox").is_file(), "layers/<hex>/root holds the files");
    // One flattened copy of either image holds at least the base's files;
    // two such copies would need twice that. The store holds the base once.
    let tar = fs::read(tarball()).unwrap();
    let flat: u64 = tar_entries(&tar).iter().map(|e| e.2 as u64).sum();
    let used = du(&t.root.join("layers"), &mut BTreeSet::new());
    assert!(used * 2 < flat * 3, "layers use {used} bytes; one flattened image is {flat}: not shared");
    // both run from it
    assert_eq!(t.run(&["localhost/other"]).stdout(), "other\n");
    assert_eq!(t.run(&["localhost/app"]).stdout(), "[first][arg with space][x]\n");
    t.assert_clean();
}

// ---- history, inspect --------------------------------------------------------------------

#[test]
fn history_has_every_entry_newest_first() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("multi.tar"));
    let o = t.md(&["history", "localhost/app:latest"]);
    ok(&o, "history");
    let text = o.stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(rows(lines[0]).remove(0), s(&["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]), "{text}");
    assert_eq!(lines.len(), 5, "4 history entries, 2 of them empty_layer: {text}");
    for (l, want) in lines[1..].iter().zip(["ENTRYPOINT args first", "RUN adduser appuser", "ENV GREETING=hello world", "ADD busybox.tar /"]) {
        assert!(l.contains(want), "{want:?} not in {l:?}\n{text}");
    }
    assert!(lines[2].contains("app layer") && lines[4].contains("base layer"), "COMMENT: {text}");
    let o = t.md(&["history", "other"]);
    ok(&o, "history other");
    assert_eq!(o.stdout().lines().count(), 3, "{}", o.stdout());
    fails(&t.md(&["history", "localhost/nosuch"]), "history of an unknown image");
    t.assert_clean();
}

#[test]
fn image_inspect_shows_config_and_layers() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("multi.tar"));
    let j = inspect(&t, "localhost/app:latest");
    assert_eq!(j.get("Id").str(), format!("sha256:{}", f.a));
    let mut tags = j.get("RepoTags").strs();
    tags.sort();
    assert_eq!(tags, s(&["localhost/app:latest", "localhost/app:v1"]));
    assert!(j.get("Created").str().starts_with("2024-01-02T03:04:05"), "{:?}", j.get("Created"));
    assert_eq!(j.get("Architecture").str(), f.arch);
    assert_eq!(j.get("Os").str(), "linux");
    assert!(matches!(j.get("Size"), J::Num(n) if *n > 1e6), "Size {:?}", j.get("Size"));
    let c = j.get("Config");
    assert_eq!(c.get("Entrypoint").strs(), s(&["/usr/local/bin/args", "first"]));
    assert_eq!(c.get("Cmd").strs(), s(&["arg with space", "x"]));
    assert_eq!(c.get("Env").strs(), s(&["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello world", "KEEP=image"]));
    assert_eq!(c.get("WorkingDir").str(), "/srv/app");
    assert_eq!(c.get("User").str(), "appuser");
    let mut ports = c.get("ExposedPorts").keys();
    ports.sort();
    assert_eq!(ports, s(&["53/udp", "80/tcp"]));
    assert_eq!(c.get("Labels").get("org.example.flavour").str(), "app");
    assert_eq!(c.get("Labels").get("org.example.spaced").str(), "a b c");
    assert_eq!(j.get("RootFS").get("Type").str(), "layers");
    assert_eq!(j.get("RootFS").get("Layers").strs(), f.a_layers);
    // `inspect IMAGE` is the same document
    let o = t.md(&["inspect", "localhost/app:latest"]);
    ok(&o, "inspect IMAGE");
    assert_eq!(J::parse(&o.stdout()), J::Arr(vec![j.clone()]));
    // an unknown name before a known one: exit 1, one error line, and
    // still a JSON array of what was found (as docker prints it)
    let o = t.md(&["inspect", "localhost/nosuch", "localhost/app:latest"]);
    assert_eq!(o.code, 1, "inspect with an unknown name: {}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    assert_eq!(J::parse(&o.stdout()), J::Arr(vec![j]), "{}", o.stdout());
    // B: no Entrypoint, numeric User, no ports
    let j = inspect(&t, "other");
    assert_eq!(j.get("Id").str(), format!("sha256:{}", f.b));
    assert!(j.get("Config").get("Entrypoint").empty(), "{:?}", j.get("Config"));
    assert_eq!(j.get("Config").get("Cmd").strs(), s(&["/bin/cat", "/etc/flavour"]));
    assert_eq!(j.get("Config").get("User").str(), "1234:5678");
    assert!(j.get("Config").get("ExposedPorts").empty());
    assert_eq!(j.get("RootFS").get("Layers").strs(), f.b_layers);
    fails(&t.md(&["image", "inspect", "localhost/nosuch"]), "image inspect of an unknown image");
    t.assert_clean();
}

// ---- save --------------------------------------------------------------------------------

/// Checks a docker-archive `save` wrote: podman's file names, manifest.json
/// naming exactly them. Returns the manifest.
fn check_archive(file: &Path, want: &[(&str, &[String], &[&str])]) -> J {
    let b = fs::read(file).unwrap();
    let names: BTreeSet<String> = tar_entries(&b).into_iter().map(|e| e.0.trim_start_matches("./").to_string()).collect();
    let m = J::parse(std::str::from_utf8(tar_file(&b, "manifest.json").expect("no manifest.json")).unwrap());
    assert_eq!(m.arr().len(), want.len(), "manifest.json: {m:?}");
    let mut layer_files = BTreeSet::new();
    for (cfg, layers, tags) in want {
        let e = m.arr().iter().find(|e| e.get("Config").str() == format!("{cfg}.json")).unwrap_or_else(|| panic!("no element for {cfg}: {m:?}"));
        let mut got = e.get("RepoTags").strs();
        got.sort();
        assert_eq!(got, s(tags));
        let files: Vec<String> = layers.iter().map(|d| format!("{}.tar", hex(d))).collect();
        assert_eq!(e.get("Layers").strs(), files);
        assert!(names.contains(&format!("{cfg}.json")), "{names:?}");
        for l in files {
            assert!(names.contains(&l), "{l} not in {names:?}");
            layer_files.insert(l);
        }
    }
    let tars = names.iter().filter(|n| n.ends_with(".tar") && !n.contains('/')).count();
    assert_eq!(tars, layer_files.len(), "each layer once at the top level: {names:?}");
    m
}

/// podman loads FILE into a private store and sees the image ID.
fn podman_loads(root: &Path, file: &Path, tag: &str, id: &str) {
    let o = podman(root, &["load", "-i", file.to_str().unwrap()]);
    ok(&o, "podman load");
    assert!(o.stdout().contains(&format!("Loaded image: {tag}")), "{}", o.stdout());
    let o = podman(root, &["image", "inspect", "--format", "{{.ID}}", tag]);
    ok(&o, "podman image inspect");
    assert_eq!(o.stdout().trim(), id);
}

#[test]
fn save_writes_what_podman_skopeo_and_load_read() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("multi.tar"));
    let fresh = t.root.join("fresh");
    // -o FILE
    let a = t.root.join("a.tar");
    let o = t.md(&["save", "-o", a.to_str().unwrap(), "localhost/app:latest"]);
    ok(&o, "save -o");
    assert_eq!(o.out, b"");
    check_archive(&a, &[(&f.a, &f.a_layers, &["localhost/app:latest"])]);
    let o = md_in(&fresh, &["load", "-i", a.to_str().unwrap()]);
    ok(&o, "load in a fresh root");
    assert_eq!(o.stdout(), "Loaded image: localhost/app:latest\n");
    let j = inspect_in(&fresh, "localhost/app:latest");
    assert_eq!(j.get("Id").str(), format!("sha256:{}", f.a), "same image ID after save/load");
    assert_eq!(j.get("RootFS").get("Layers").strs(), f.a_layers);
    if tool("skopeo") {
        let j = skopeo_inspect(&format!("docker-archive:{}", a.display()));
        assert_eq!(j.get("Layers").strs(), f.a_layers);
        assert_eq!(j.get("Env").strs(), s(&["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello world", "KEEP=image"]));
    }
    if tool("podman") {
        podman_loads(&t.root, &a, "localhost/app:latest", &f.a);
    }
    // to stdout (a file, a pipe)
    let b = t.root.join("b.tar");
    let mut c = t.cmd();
    c.args(["save", "other"]).stdout(fs::File::create(&b).unwrap());
    let o = out_of(c);
    ok(&o, "save > file");
    check_archive(&b, &[(&f.b, &f.b_layers, &["localhost/other:latest"])]);
    let o = md_in(&fresh, &["load", "-i", b.to_str().unwrap()]);
    assert_eq!(o.stdout(), "Loaded image: localhost/other:latest\n", "{}", o.err);
    assert_eq!(inspect_in(&fresh, "localhost/other:latest").get("Id").str(), format!("sha256:{}", f.b));
    // several images in one archive; the shared base once
    let m = t.root.join("m.tar");
    ok(&t.md(&["save", "-o", m.to_str().unwrap(), "localhost/app:latest", "localhost/other:latest"]), "save of two images");
    check_archive(&m, &[(&f.a, &f.a_layers, &["localhost/app:latest"]), (&f.b, &f.b_layers, &["localhost/other:latest"])]);
    let fresh2 = t.root.join("fresh2");
    let o = md_in(&fresh2, &["load", "-i", m.to_str().unwrap()]);
    ok(&o, "load of a multi-image save");
    let mut got: Vec<String> = o.stdout().lines().map(|l| l.to_string()).collect();
    got.sort();
    assert_eq!(got, s(&["Loaded image: localhost/app:latest", "Loaded image: localhost/other:latest"]));
    assert_eq!(layer_dirs(&fresh2).len(), 3);
    if tool("skopeo") {
        let j = skopeo_inspect(&format!("docker-archive:{}:localhost/other:latest", m.display()));
        assert_eq!(j.get("Layers").strs(), f.b_layers);
    }
    // never to a terminal
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors this test then owns.
    assert_eq!(unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) }, 0);
    // SAFETY: both descriptors were just opened and are owned here only.
    let (master, slave) = unsafe {
        use std::os::fd::FromRawFd;
        (std::os::fd::OwnedFd::from_raw_fd(master), std::os::fd::OwnedFd::from_raw_fd(slave))
    };
    let mut c = t.cmd();
    c.args(["save", "localhost/app:latest"]).stdout(Stdio::from(slave));
    fails(&out_of(c), "save to a terminal");
    drop(master);
    t.assert_clean();
}

// ---- commit ------------------------------------------------------------------------------

#[test]
fn commit_adds_one_layer_and_round_trips_through_save() {
    let t = t!();
    let f = fx();
    load_ok(&t, &f.p("app.tar"));
    let script = "echo new > /newfile && rm /etc/flavour && rm -r /var/www && cp /bin/busybox /usr/local/bin/suid \
                  && chmod 4755 /usr/local/bin/suid && chown 1001:1002 /usr/local/bin/suid && chmod 4755 /usr/local/bin/suid && mkdir -p /d/e";
    let o = t.md(&["run", "--name", "snapc", "-u", "0", "--entrypoint", "/bin/sh", "localhost/app:latest", "-c", script]);
    assert_eq!(o.code, 0, "{}", o.err);
    ok(&t.md(&["commit", "snapc", "localhost/snap:latest"]), "commit");
    let j = inspect(&t, "localhost/snap:latest");
    let layers = j.get("RootFS").get("Layers").strs();
    assert_eq!(layers.len(), 3, "parent's layers + 1: {layers:?}");
    assert_eq!(&layers[..2], &f.a_layers[..]);
    let id = j.get("Id").str().to_string();
    assert_ne!(id, format!("sha256:{}", f.a));
    let check = "cat /newfile; test -e /etc/flavour && echo flavour; test -e /var/www && echo www; \
                 stat -c '%a %u:%g' /usr/local/bin/suid; test -d /d/e && echo de; grep -c appuser /etc/passwd";
    let want = "new\n4755 1001:1002\nde\n1\n";
    assert_eq!(sh(&t, &["-u", "0"], "localhost/snap:latest", check), want, "the committed changes");
    // save, load in a fresh root, same ID, same files
    let file = t.root.join("snap.tar");
    ok(&t.md(&["save", "-o", file.to_str().unwrap(), "localhost/snap:latest"]), "save snap");
    let fresh = t.root.join("fresh");
    let o = md_in(&fresh, &["load", "-i", file.to_str().unwrap()]);
    assert_eq!(o.stdout(), "Loaded image: localhost/snap:latest\n", "{}", o.err);
    let j2 = inspect_in(&fresh, "localhost/snap:latest");
    assert_eq!(j2.get("Id").str(), id);
    assert_eq!(j2.get("RootFS").get("Layers").strs(), layers);
    let o = md_in(&fresh, &["run", "--rm", "-u", "0", "--entrypoint", "/bin/sh", "localhost/snap:latest", "-c", check]);
    let _ = Command::new("umount").arg(fresh.join("run")).stderr(Stdio::null()).status();
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.stdout(), want, "the committed layer after save/load");
    if tool("skopeo") {
        assert_eq!(skopeo_inspect(&format!("docker-archive:{}", file.display())).get("Layers").strs(), layers);
    }
    if tool("podman") {
        podman_loads(&t.root, &file, "localhost/snap:latest", hex(&id));
    }
    t.rm_all();
    t.assert_clean();
}

// ---- import --change ---------------------------------------------------------------------

#[test]
fn import_with_changes() {
    let t = t!();
    let tar = tarball();
    let tar = tar.to_str().unwrap();
    // JSON form; options before the arguments (docker's usage line)
    ok(&t.md(&["import", "--change", "CMD [\"echo\",\"hi there\"]", tar, "localhost/imp:one"]), "import --change CMD");
    let j = inspect(&t, "localhost/imp:one");
    assert_eq!(j.get("Config").get("Cmd").strs(), s(&["echo", "hi there"]));
    assert_eq!(j.get("RootFS").get("Layers").arr().len(), 1);
    assert_eq!(t.run(&["localhost/imp:one"]).stdout(), "hi there\n");
    // shell form; options after the arguments (docker takes both)
    ok(&t.md(&["import", tar, "localhost/imp:two", "-c", "CMD echo hi"]), "import -c 'CMD echo hi'");
    assert_eq!(inspect(&t, "localhost/imp:two").get("Config").get("Cmd").strs(), s(&["/bin/sh", "-c", "echo hi"]));
    assert_eq!(t.run(&["localhost/imp:two"]).stdout(), "hi\n");
    // ENTRYPOINT, CMD, ENV, WORKDIR, USER together
    let o = t.md(&[
        "import",
        "-c",
        "ENTRYPOINT [\"/bin/echo\",\"ep\"]",
        "-c",
        "CMD [\"x\"]",
        "-c",
        "ENV A=b",
        "-c",
        "WORKDIR /w",
        "--change",
        "USER 1000",
        tar,
        "localhost/imp:three",
    ]);
    ok(&o, "import with five changes");
    let c = inspect(&t, "localhost/imp:three").get("Config").clone();
    assert_eq!(c.get("Entrypoint").strs(), s(&["/bin/echo", "ep"]));
    assert_eq!(c.get("Cmd").strs(), s(&["x"]));
    assert!(c.get("Env").strs().contains(&"A=b".to_string()), "{c:?}");
    assert_eq!(c.get("WorkingDir").str(), "/w");
    assert_eq!(c.get("User").str(), "1000");
    assert_eq!(t.run(&["localhost/imp:three"]).stdout(), "ep x\n");
    assert_eq!(t.run(&["localhost/imp:three", "y"]).stdout(), "ep y\n");
    assert_eq!(sh(&t, &[], "localhost/imp:three", "echo $A; pwd; id -u"), "b\n/w\n1000\n");
    // `ENV K=V WORD`: a word without = is refused (docker's "can't find
    // ="), one line and exit 1, not a crash; nothing is stored
    let o = t.md(&["import", "-c", "ENV A=1 B", tar, "localhost/imp:bad"]);
    fails(&o, "import -c 'ENV A=1 B'");
    assert!(o.err.contains("ENV A=1 B"), "{}", o.err);
    assert_eq!(t.md(&["images", "-q", "localhost/imp:bad"]).stdout(), "", "a refused import stored an image");
    // no changes: runs with an explicit command; without one there is none
    ok(&t.md(&["import", tar, "localhost/imp:plain"]), "import");
    assert_eq!(t.run(&["localhost/imp:plain", "echo", "ok"]).stdout(), "ok\n");
    let o = t.run(&["localhost/imp:plain"]);
    assert_eq!(o.code, 125, "no command: {}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    t.assert_clean();
}

// ---- errors ------------------------------------------------------------------------------

#[test]
fn errors_leave_the_store_unchanged() {
    let t = t!();
    let f = fx();
    // zstd layers are refused (one line, exit 1), and the base layer the
    // load had already taken (gzip, first) is gone again
    drop_busybox(&t);
    let empty = snapshot(&t);
    fails(&t.md(&["load", "-i", &f.p("oci-zstd")]), "load of a zstd layer");
    assert_eq!(snapshot(&t), empty, "a refused zstd load left something");
    load_ok(&t, &f.p("app.tar"));
    let before = snapshot(&t);
    let same = |what: &str| assert_eq!(snapshot(&t), before, "{what} changed the store");
    let garbage = t.root.join("garbage.tar");
    fs::write(&garbage, b"this is not an image archive, not even a tar\n".repeat(50)).unwrap();
    fails(&t.md(&["load", "-i", garbage.to_str().unwrap()]), "load -i garbage");
    same("load of garbage");
    fails(&load_stdin(&t, garbage.to_str().unwrap(), &[]), "load < garbage");
    same("load of garbage from stdin");
    fails(&t.md(&["load", "-i", t.root.join("nosuch.tar").to_str().unwrap()]), "load -i missing file");
    same("load of a missing file");
    // a truncated archive: inside B's own layer, and just before manifest.json
    let multi = fs::read(f.p("multi.tar")).unwrap();
    let ents = tar_entries(&multi);
    let l3 = ents.iter().find(|e| e.0 == format!("{}.tar", hex(&f.b_layers[1]))).unwrap();
    let man = ents.iter().find(|e| e.0 == "manifest.json").unwrap();
    for (i, cut) in [l3.1 + 700, man.1 - 512].into_iter().enumerate() {
        let p = t.root.join(format!("cut{i}.tar"));
        fs::write(&p, &multi[..cut]).unwrap();
        fails(&t.md(&["load", "-i", p.to_str().unwrap()]), &format!("load of a truncated archive ({cut} bytes)"));
        same("load of a truncated archive");
    }
    // a truncated gzip stream
    let gz = fs::read(f.p("app.tar.gz")).unwrap();
    let p = t.root.join("cut.tar.gz");
    fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    fails(&t.md(&["load", "-i", p.to_str().unwrap()]), "load of a truncated gzip");
    same("load of a truncated gzip");
    fails(&t.md(&["rmi", "localhost/nosuch:latest"]), "rmi of an unknown image");
    same("rmi of an unknown image");
    fails(&t.md(&["tag", "localhost/nosuch:latest", "localhost/x:y"]), "tag of an unknown image");
    same("tag of an unknown image");
    let out = t.root.join("unknown-save.tar");
    fails(&t.md(&["save", "-o", out.to_str().unwrap(), "localhost/nosuch:latest"]), "save of an unknown image");
    assert!(!out.exists(), "save of an unknown image left {out:?}");
    same("save of an unknown image");
    fails(&t.md(&["history", "localhost/nosuch"]), "history of an unknown image");
    fails(&t.md(&["image", "inspect", "localhost/nosuch"]), "image inspect of an unknown image");
    same("history / inspect");
    t.assert_clean();
}

// ---- the fixtures themselves -------------------------------------------------------------

/// The fixtures are what podman and skopeo read, with the IDs the other
/// tests expect; and podman's own `save` has the shape `check_archive`
/// asks of mydocker's.
#[test]
fn fixtures_are_what_podman_and_skopeo_read() {
    let t = t!();
    let f = fx();
    if !tool("podman") || !tool("skopeo") {
        return;
    }
    let id = |r: &str| {
        let o = podman(&t.root, &["image", "inspect", "--format", "{{.ID}}", r]);
        ok(&o, &format!("podman image inspect {r}"));
        o.stdout().trim().to_string()
    };
    podman_loads(&t.root, &f.dir.join("multi.tar"), "localhost/app:latest", &f.a);
    assert_eq!(id("localhost/app:v1"), f.a);
    assert_eq!(id("localhost/other:latest"), f.b);
    // (before the zstd image joins B: podman then refuses to save B as docker-archive)
    let m = t.root.join("m.tar");
    ok(&podman(&t.root, &["save", "-m", "-o", m.to_str().unwrap(), "localhost/app:latest", "localhost/other:latest"]), "podman save -m");
    check_archive(&m, &[(&f.a, &f.a_layers, &["localhost/app:latest"]), (&f.b, &f.b_layers, &["localhost/other:latest"])]);
    podman_loads(&t.root, &f.dir.join("oci-app.tar"), "localhost/ociapp:latest", &f.a);
    let o = podman(&t.root, &["load", "-i", &f.p("untagged.tar")]);
    assert_eq!(o.stdout().trim(), format!("Loaded image: sha256:{}", f.b), "{}", o.err);
    for (dir, want) in [("oci-dir", &f.a), ("oci-bare", &f.b), ("oci-zstd", &f.b), ("multiarch", &f.plat)] {
        let o = podman(&t.root, &["load", "-i", &f.p(dir)]);
        ok(&o, &format!("podman load {dir}"));
        let name = o.stdout().trim().strip_prefix("Loaded image: ").unwrap_or_default().to_string();
        assert_eq!(&id(&name), want, "{dir}");
    }
    for (r, want) in [
        (format!("docker-archive:{}", f.p("app.tar")), &f.a_layers),
        (format!("docker-archive:{}:localhost/other:latest", f.p("multi.tar")), &f.b_layers),
        (format!("oci:{}:latest", f.p("oci-bare")), &f.b_layers),
    ] {
        let j = skopeo_inspect(&r);
        if r.starts_with("docker-archive") {
            assert_eq!(&j.get("Layers").strs(), want, "{r}");
        } else {
            assert_eq!(j.get("Layers").arr().len(), want.len(), "{r}");
        }
    }
    for a in ["amd64", "arm64"] {
        let o = out_of({
            let mut c = Command::new("skopeo");
            c.args(["inspect", "--override-arch", a, &format!("oci:{}:localhost/multi:latest", f.p("multiarch"))]);
            c
        });
        ok(&o, "skopeo inspect multiarch");
        let j = J::parse(&o.stdout());
        assert_eq!(j.get("Architecture").str(), a);
        assert_eq!(j.get("Labels").get("org.example.platform").str(), a);
    }
    let multi = fs::read(f.p("multi.tar")).unwrap();
    assert_eq!(tar_entries(&multi).last().unwrap().0, "repositories");
    assert_eq!(J::parse("[1, -2.5e3, \"a\\u00e9\\n\\\"\", {\"k\": [true, false, null]}, {}]").arr()[2], J::Str("a\u{e9}\n\"".into()));
    t.assert_clean();
}

/// An image of more layers than fit one page of overlay's mount options
/// (~55 of mydocker's) is flattened for its containers, whiteouts applied,
/// and `inspect` says so.
#[test]
fn an_image_past_overlays_layer_limit_is_flattened() {
    let t = t!();
    let arch = t.root.join("deep.tar");
    let script = r#"
import hashlib, io, json, sys, tarfile
base = open(sys.argv[1], 'rb').read()
layers = [base]
for i in range(1, 60):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.PAX_FORMAT) as tf:
        data = str(i).encode()
        ti = tarfile.TarInfo('stack/f%d' % i); ti.size = len(data); ti.mode = 0o644
        tf.addfile(ti, io.BytesIO(data))
        if i == 30:
            wh = tarfile.TarInfo('stack/.wh.f10'); wh.size = 0
            tf.addfile(wh, io.BytesIO(b''))
    layers.append(b.getvalue())
diffs = ['sha256:' + hashlib.sha256(l).hexdigest() for l in layers]
cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {'Cmd': ['/bin/sh', '-c', 'ls /stack | wc -l; cat /stack/f59; echo; test -e /stack/f10 || echo gone']},
                  'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode()
ch = hashlib.sha256(cfg).hexdigest()
names = [d[7:] + '.tar' for d in diffs]
man = json.dumps([{'Config': ch + '.json', 'RepoTags': ['localhost/deep:latest'], 'Layers': names}]).encode()
with tarfile.open(sys.argv[2], 'w') as out:
    for n, d in list(zip(names, layers)) + [(ch + '.json', cfg), ('manifest.json', man)]:
        ti = tarfile.TarInfo(n); ti.size = len(d); out.addfile(ti, io.BytesIO(d))
"#;
    let o = Command::new("python3").args(["-c", script]).arg(tarball()).arg(&arch).output().unwrap();
    assert!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
    let o = t.md(&["load", "-i", arch.to_str().unwrap()]);
    assert_eq!((o.code, o.stdout()), (0, "Loaded image: localhost/deep:latest\n".to_string()), "{}", o.err);
    // 58 files (f1..f59 but f10), the top one's content, f10 deleted
    let o = t.md(&["run", "--name", "deep", "localhost/deep"]);
    assert_eq!((o.code, o.stdout()), (0, "58\n59\ngone\n".to_string()), "{}", o.err);
    let i = t.md(&["inspect", "deep"]);
    assert!(i.stdout().contains("\"GraphDriver\":{\"Name\":\"copy\""), "{}", i.stdout());
    assert_eq!(t.md(&["rm", "deep"]).code, 0);
    t.assert_clean();
}

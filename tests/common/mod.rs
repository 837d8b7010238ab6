//! Shared harness for the integration tests: each test gets its own state
//! root with the busybox image imported, runs the real static binary, and
//! ends with a leak check (mounts, cgroups, processes, state).
//!
//! MYDOCKER_BIN (default out/mydocker-x86_64) and MYDOCKER_TEST_TAR
//! (default out/busybox.tar) are made by scripts/test.sh. Outside CI a
//! machine without root or without them skips; with CI=true nothing skips.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    std::env::var_os("MYDOCKER_BIN").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("out/mydocker-x86_64"))
}

pub fn tarball() -> PathBuf {
    std::env::var_os("MYDOCKER_TEST_TAR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("out/busybox.tar"))
}

/// The harness for a test, or `return` (skip) outside CI when it cannot run.
macro_rules! t {
    () => {
        match T::new() {
            Some(t) => t,
            None => return,
        }
    };
}

pub struct T {
    pub root: PathBuf,
    pub ids: Vec<String>,
    /// The host is one shared resource (cgroups, links, the leak checks
    /// look at all of it): one test harness at a time, across processes
    /// and checkouts. Held until the harness's cleanup is done.
    _host: fs::File,
}

/// Waits for the host-wide test lock (see `T::_host`).
pub fn host_lock() -> fs::File {
    use std::os::fd::AsRawFd;
    let f = fs::OpenOptions::new().create(true).truncate(false).write(true).open("/tmp/mydocker-host.lock").unwrap();
    // SAFETY: flock on a descriptor this function owns.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    f
}

pub struct Out {
    pub code: i32,
    pub out: Vec<u8>,
    pub err: String,
}

impl Out {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out).into_owned()
    }
}

fn from(o: Output) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let code = o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0));
    Out { code, out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned() }
}

impl T {
    /// None = skip (only allowed outside CI).
    pub fn new() -> Option<T> {
        let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
        // SAFETY: geteuid has no preconditions.
        let root_user = unsafe { libc::geteuid() } == 0;
        if !root_user || !bin().exists() || !tarball().exists() {
            assert!(!ci, "integration tests must not skip in CI: root={root_user} bin={:?} tar={:?}", bin(), tarball());
            eprintln!("skipping: needs root, {:?} and {:?} (run scripts/test.sh)", bin(), tarball());
            return None;
        }
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!("mydocker-it-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&root);
        let t = T { root, ids: Vec::new(), _host: host_lock() };
        let o = t.md(&["import", tarball().to_str().unwrap(), "busybox"]);
        assert_eq!(o.code, 0, "import failed: {}", o.err);
        Some(t)
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").arg("--root").arg(&self.root);
        c.stdin(Stdio::null());
        c
    }

    pub fn md<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        from(self.cmd().args(args).output().unwrap())
    }

    /// `run --rm busybox ARGS...`
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Out {
        let mut c = self.cmd();
        c.args(["run", "--rm"]);
        c.args(args);
        from(c.output().unwrap())
    }

    /// `run -d ... ` → id
    pub fn detach<S: AsRef<OsStr>>(&mut self, args: &[S]) -> String {
        let mut c = self.cmd();
        c.args(["run", "-d"]).args(args);
        let o = from(c.output().unwrap());
        assert_eq!(o.code, 0, "run -d failed: {}", o.err);
        let id = o.stdout().trim().to_string();
        assert_eq!(id.len(), 64, "id: {id:?}");
        self.ids.push(id.clone());
        id
    }

    /// The container's directory: persistent, or run-time for `--rm`.
    pub fn dir(&self, id: &str) -> PathBuf {
        let d = self.root.join("containers").join(id);
        if d.exists() {
            d
        } else {
            self.root.join("run/containers").join(id)
        }
    }

    pub fn record(&self, id: &str) -> String {
        String::from_utf8_lossy(&fs::read(self.dir(id).join("config")).unwrap_or_default()).into_owned()
    }

    pub fn field(&self, id: &str, key: &str) -> Option<String> {
        self.record(id).lines().filter_map(|l| l.strip_prefix(&format!("{key}=")).map(|v| v.to_string())).last()
    }

    /// Container directories, persistent and run-time (`--rm`) ones.
    pub fn containers(&self) -> Vec<String> {
        let mut v = Vec::new();
        for d in ["containers", "run/containers"] {
            if let Ok(d) = fs::read_dir(self.root.join(d)) {
                v.extend(d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()));
            }
        }
        v
    }

    /// Asserts nothing of this test is left: no container state, no mount
    /// under the root but the run-time tmpfs, no cgroup named after one of
    /// its containers, no process whose root is inside the state root.
    pub fn assert_clean(&self) {
        assert_eq!(self.containers(), Vec::<String>::new(), "container state left behind");
        let root = self.root.to_str().unwrap();
        let runtime = format!(" {root}/run ");
        let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let left: Vec<&str> = mi.lines().filter(|l| l.contains(root) && !(l.contains(&runtime) && l.contains(" - tmpfs "))).collect();
        assert!(left.is_empty(), "mount left under {root}: {left:?}");
        let ours: Vec<String> = leftover_cgroups().into_iter().filter(|c| !self.foreign(c)).collect();
        assert_eq!(ours, Vec::<String>::new(), "cgroups left behind");
        for p in fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(r) = fs::read_link(p.path().join("root")) {
                assert!(!r.starts_with(&self.root), "process {:?} still runs in {r:?}", p.file_name());
            }
        }
    }

    /// A cgroup of somebody else's running container (another state root on
    /// this host): it has processes, and none of them lives in our root. An
    /// empty mydocker cgroup is always counted as a leak.
    fn foreign(&self, cg: &str) -> bool {
        let procs = fs::read_to_string(Path::new(cg).join("cgroup.procs")).unwrap_or_default();
        let mut any = false;
        for pid in procs.split_whitespace() {
            // (a process that exited meanwhile tells nothing)
            if let Ok(r) = fs::read_link(format!("/proc/{pid}/root")) {
                if r.starts_with(&self.root) {
                    return false;
                }
                any = true;
            }
        }
        any
    }

    /// Removes every container of this root (for tests that keep some).
    pub fn rm_all(&self) {
        for id in self.containers() {
            let o = self.md(&["rm", "-f", &id]);
            assert_eq!(o.code, 0, "rm -f {id}: {}", o.err);
        }
    }
}

impl Drop for T {
    fn drop(&mut self) {
        for id in self.containers() {
            let _ = self.md(&["rm", "-f", &id]);
        }
        // networks too: a bridge and its NAT rule outlive the state dir
        if let Ok(d) = fs::read_dir(self.root.join("networks")) {
            for n in d.flatten() {
                let _ = self.md(&["network", "rm", &n.file_name().to_string_lossy()]);
            }
        }
        // the run-time tmpfs mydocker mounted for --rm containers. On a
        // loaded host, eight roots were left with it still mounted (busy
        // at drop time, cause not found): retry until mountinfo no longer
        // lists it (a stacked mount too), detaching it the last time
        let run = self.root.join("run");
        let mounted = || fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.contains(&format!(" {} ", run.display())));
        for i in 0..20 {
            if !mounted() {
                break;
            }
            let lazy: &[&str] = if i == 19 { &["-l"] } else { &[] };
            let _ = Command::new("umount").args(lazy).arg(&run).stderr(Stdio::null()).status();
            if mounted() {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// Container cgroups (`mydocker/<64 hex>`) in any hierarchy.
pub fn leftover_cgroups() -> Vec<String> {
    let mut v = Vec::new();
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in mi.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else { continue };
        if !f[dash + 1].starts_with("cgroup") {
            continue;
        }
        if let Ok(d) = fs::read_dir(Path::new(f[4]).join("mydocker")) {
            for e in d.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.len() == 64 && e.path().is_dir() {
                    v.push(format!("{}/{}", f[4], n));
                }
            }
        }
    }
    v
}

pub fn wait_until(ms: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

pub fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

/// The cgroup directory of a container for a controller (v2 first).
pub fn cgroup_dir(id: &str, controller: &str) -> Option<PathBuf> {
    let mi = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut v1 = None;
    for l in mi.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else { continue };
        let d = Path::new(f[4]).join("mydocker").join(id);
        match f[dash + 1] {
            "cgroup2" => {
                let ctl = fs::read_to_string(Path::new(f[4]).join("cgroup.controllers")).unwrap_or_default();
                if ctl.split_whitespace().any(|c| c == controller) && d.exists() {
                    return Some(d);
                }
            }
            "cgroup" if f.get(dash + 3).map_or(false, |o| o.split(',').any(|c| c == controller)) && d.exists() => v1 = Some(d),
            _ => {}
        }
    }
    v1
}

//! mydocker as the OCI runtime of real engines (issue 11): podman 4.3 (through
//! conmon) and containerd 1.6 (through containerd-shim-runc-v2) start, exec,
//! signal, pause and delete busybox containers with mydocker's runc mode.
//!
//! Everything is private: podman gets its own storage (--root/--runroot/
//! --tmpdir under a temp dir) and a containers.conf (CONTAINERS_CONF) with
//! rlimits this host allows; containerd runs from its own config, root,
//! state and socket under a temp dir, and is stopped at the end. The image
//! is out/busybox.tar (a rootfs tar) imported into podman; containerd gets
//! it as the docker-archive podman saves.
//!
//! The runtime is MYDOCKER_BIN reached through a symlink named `runc` or
//! `mydocker-runc` (podman passes `--log-format json --log FILE` only to a
//! `runc`/`crun`); MYDOCKER_RUNC=/usr/sbin/runc runs the same tests against
//! runc as the reference. After each container: no state left in the
//! runtime's root (/run/mydocker-runc for mydocker, /run/runc for runc
//! under podman; /run/containerd/runc/<ns> under containerd).
//!
//! Latency (report only): `cargo test --test engines -- --ignored latency
//! --nocapture` times podman `run --rm IMG true` and `ctr run --rm IMG cX
//! true`, mydocker and runc interleaved, and prints the medians.
//!
//! Outside CI a machine without root, podman, conmon, containerd or the
//! binaries skips; with CI=true nothing skips.

// The shared harness trips lints of newer clippy than it was written for.
#[allow(unused_macros, clippy::all)]
mod common;

use common::{bin, host_lock, tarball, wait_until};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The runtime under test: mydocker, or MYDOCKER_RUNC (e.g. /usr/sbin/runc).
fn target() -> PathBuf {
    std::env::var_os("MYDOCKER_RUNC").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(bin)
}

fn is_mydocker(t: &Path) -> bool {
    t == bin()
}

/// Where the runtime keeps its state when the engine gives no --root
/// (podman never does).
fn default_state(t: &Path) -> PathBuf {
    PathBuf::from(if is_mydocker(t) { "/run/mydocker-runc" } else { "/run/runc" })
}

/// Is there anything left of container `id` in a runtime's state root?
/// runc keeps `ROOT/ID`, mydocker `ROOT/containers/ID`.
fn state_left(root: &Path, id: &str) -> bool {
    root.join(id).exists() || root.join("containers").join(id).exists()
}

/// Is `tool` an executable on PATH (or /usr/sbin, runc's home here)?
fn have(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var("PATH").unwrap_or_default() + ":/usr/sbin:/sbin";
    path.split(':').any(|d| fs::metadata(Path::new(d).join(tool)).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

/// Whether the tests can run here; panics instead of skipping with CI=true.
fn ready(tools: &[&str]) -> bool {
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    let ok = root && target().exists() && tarball().exists() && missing.is_empty();
    if !ok {
        assert!(!ci, "engine tests must not skip in CI: root={root} runtime={:?} tar={:?} missing={missing:?}", target(), tarball());
        eprintln!("skipping: needs root, {:?}, {:?} and {missing:?}", target(), tarball());
    }
    ok
}

pub struct Out {
    pub code: i32,
    pub out: String,
    pub err: String,
}

fn out(o: Output) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let code = o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0));
    Out { code, out: String::from_utf8_lossy(&o.stdout).into_owned(), err: String::from_utf8_lossy(&o.stderr).into_owned() }
}

fn run(c: &mut Command) -> Out {
    out(c.stdin(Stdio::null()).output().unwrap())
}

/// A private temp dir with symlinks `runc` and `mydocker-runc` to the
/// runtime; removed (after unmounting anything left under it) on drop.
struct Dir {
    path: PathBuf,
}

impl Dir {
    fn new(kind: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!("mydocker-eng-{kind}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = fs::remove_dir_all(&path);
        for name in ["runc", "mydocker-runc"] {
            fs::create_dir_all(path.join(name)).unwrap();
            std::os::unix::fs::symlink(target(), path.join(name).join(name)).unwrap();
        }
        Dir { path }
    }

    /// The runtime as `NAME` (a symlink to the binary under test).
    fn rt(&self, name: &str) -> PathBuf {
        self.path.join(name).join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let p = self.path.to_string_lossy().into_owned();
        let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&p))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in &mounts {
            let c = std::ffi::CString::new(m.as_str()).unwrap();
            // SAFETY: umount2 on a NUL-terminated path this test made.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = fs::remove_dir_all(&self.path);
    }
}

const IMG: &str = "localhost/bb:latest";

/// Private podman storage with the busybox image imported as `IMG`.
struct Podman {
    dir: Dir,
    /// What the runtime's state root held before (other users' containers).
    before: Vec<String>,
}

impl Podman {
    fn new() -> Podman {
        let dir = Dir::new("podman");
        fs::write(
            dir.path.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        let p = Podman { dir, before: state_entries(&default_state(&target())) };
        let o = run(p.cmd(None).args(["import", tarball().to_str().unwrap(), IMG]));
        assert_eq!(o.code, 0, "podman import: {}", o.err);
        p
    }

    /// `podman` with the private storage and, given a name, the runtime
    /// through that name.
    fn cmd(&self, rt: Option<&str>) -> Command {
        let d = &self.dir.path;
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", d.join("containers.conf"));
        c.arg("--root").arg(d.join("storage")).arg("--runroot").arg(d.join("run")).arg("--tmpdir").arg(d.join("tmp"));
        c.args(["--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]);
        if let Some(name) = rt {
            c.arg("--runtime").arg(self.dir.rt(name));
        }
        c
    }

    fn pm(&self, rt: &str, args: &[&str]) -> Out {
        run(self.cmd(Some(rt)).args(args))
    }

    /// `run --rm --network none IMG ARGS...`
    fn run_rm(&self, rt: &str, opts: &[&str], args: &[&str]) -> Out {
        let mut c = self.cmd(Some(rt));
        c.args(["run", "--rm", "--network", "none"]).args(opts).arg(IMG).args(args);
        run(&mut c)
    }

    /// `podman ps -a` lists no container, and the runtime kept no state
    /// for the ids it was given.
    fn assert_clean(&self, ids: &[String]) {
        let o = run(self.cmd(None).args(["ps", "-aq"]));
        assert_eq!(o.code, 0, "podman ps: {}", o.err);
        assert_eq!(o.out.trim(), "", "podman ps -a not empty");
        let st = default_state(&target());
        for id in ids {
            assert!(!state_left(&st, id), "runtime state left in {st:?} for {id}");
        }
        self.assert_no_runtime_state();
    }

    /// No container left in the runtime's state root that was not there
    /// when this podman was made: an `--rm` run's id is never printed.
    fn assert_no_runtime_state(&self) {
        let st = default_state(&target());
        let left: Vec<String> = state_entries(&st).into_iter().filter(|n| !self.before.contains(n)).collect();
        assert!(left.is_empty(), "runtime state left in {st:?}: {left:?}");
    }
}

/// The container ids (64 hex) in a runtime's state root.
fn state_entries(st: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for d in [st.to_path_buf(), st.join("containers")] {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.len() == 64 {
                v.push(n);
            }
        }
    }
    v
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = run(self.cmd(Some("runc")).args(["rm", "-af", "-t", "0"]));
        let _ = run(self.cmd(None).args(["rmi", "-af"]));
    }
}

const NAMES: [&str; 2] = ["runc", "mydocker-runc"];

#[test]
fn podman_run_echo_and_exit_codes() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.run_rm(rt, &[], &["echo", "hi"]);
        assert_eq!((o.code, o.out.as_str()), (0, "hi\n"), "{rt}: echo hi: {}", o.err);
        p.assert_clean(&[]);
        let o = p.run_rm(rt, &[], &["sh", "-c", "exit 7"]);
        assert_eq!(o.code, 7, "{rt}: exit 7: {}", o.err);
        p.assert_clean(&[]);
        let o = p.run_rm(rt, &[], &["/nonexistent"]);
        assert_eq!(o.code, 127, "{rt}: /nonexistent: {}", o.err);
        assert!(o.err.contains("no such file or directory"), "{rt}: /nonexistent: {}", o.err);
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_detach_exec_stop_rm() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.pm(rt, &["run", "-d", "--network", "none", IMG, "sleep", "60"]);
        assert_eq!(o.code, 0, "{rt}: run -d: {}", o.err);
        let id = o.out.trim().to_string();
        assert_eq!(id.len(), 64, "{rt}: id {id:?}");
        let st = default_state(&target());
        assert!(state_left(&st, &id), "{rt}: no runtime state in {st:?} for a running container");
        let o = p.pm(rt, &["exec", &id, "echo", "hi"]);
        assert_eq!((o.code, o.out.as_str()), (0, "hi\n"), "{rt}: exec: {}", o.err);
        let o = p.pm(rt, &["exec", &id, "sh", "-c", "exit 5"]);
        assert_eq!(o.code, 5, "{rt}: exec exit 5: {}", o.err);
        let o = p.pm(rt, &["stop", "-t", "1", &id]);
        assert_eq!(o.code, 0, "{rt}: stop: {}", o.err);
        let o = p.pm(rt, &["inspect", "-f", "{{.State.Status}}", &id]);
        assert_eq!(o.out.trim(), "exited", "{rt}: after stop: {}", o.err);
        let o = p.pm(rt, &["rm", &id]);
        assert_eq!(o.code, 0, "{rt}: rm: {}", o.err);
        p.assert_clean(&[id]);
    }
}

/// Runs `cmd` on a terminal through `script -qec`, up to 5 times until its
/// output contains `want` (an engine may lose the output of a process that
/// ends before it attaches: seen with runc too); each try must exit 0.
fn on_tty(cmd: &Command, want: &str, what: &str) {
    let mut line: Vec<String> = vec![cmd.get_program().to_string_lossy().into_owned()];
    line.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let mut sc = Command::new("script");
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            sc.env(k, v);
        }
    }
    sc.args(["-qec", &line.join(" "), "/dev/null"]);
    let mut seen = String::new();
    for i in 0..5 {
        if i > 0 {
            eprintln!("{what}: try {} after {seen:?}", i + 1);
        }
        let o = run(&mut sc);
        assert_eq!(o.code, 0, "{what}: {} {}", o.out, o.err);
        seen = o.out;
        if seen.contains(want) {
            return;
        }
    }
    panic!("{what}: printed {seen:?}, not {want:?}");
}

#[test]
fn podman_tty() {
    if !ready(&["podman", "conmon", "script"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let mut c = p.cmd(Some(rt));
        // podman loses the output of a process that writes before it has
        // attached (1 in 4 with runc and with mydocker): wait a little.
        c.args(["run", "-it", "--rm", "--network", "none", IMG, "sh", "-c", "'sleep 0.2; tty'"]);
        on_tty(&c, "/dev/pts/0", &format!("{rt}: run -it"));
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_exec_tty_detach_update() {
    if !ready(&["podman", "conmon", "script"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.pm(rt, &["run", "-d", "--network", "none", IMG, "sleep", "60"]);
        assert_eq!(o.code, 0, "{rt}: run -d: {}", o.err);
        let id = o.out.trim().to_string();
        let mut c = p.cmd(Some(rt));
        c.args(["exec", "-it", &id, "tty"]);
        on_tty(&c, "/dev/pts/", &format!("{rt}: exec -it"));
        let o = p.pm(rt, &["exec", "-d", &id, "sh", "-c", "echo bg > /tmp/bg"]);
        assert_eq!(o.code, 0, "{rt}: exec -d: {}", o.err);
        let done = wait_until(5_000, || p.pm(rt, &["exec", &id, "cat", "/tmp/bg"]).out == "bg\n");
        assert!(done, "{rt}: exec -d did not run");
        let o = p.pm(rt, &["update", "--memory", "32m", &id]);
        assert_eq!(o.code, 0, "{rt}: update --memory 32m: {}", o.err);
        let o = p.pm(rt, &["exec", &id, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]);
        assert_eq!(o.out.trim(), "33554432", "{rt}: limit after update: {}", o.err);
        let o = p.pm(rt, &["rm", "-f", "-t", "0", &id]);
        assert_eq!(o.code, 0, "{rt}: rm -f: {}", o.err);
        p.assert_clean(&[id]);
    }
}

#[test]
fn podman_read_only() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        // /tmp, /run, /var/tmp: tmpfs with tmpcopyup; the rest read-only.
        let o = p.run_rm(rt, &["--read-only"], &["sh", "-c", "touch /tmp/x /run/x /var/tmp/x && echo ok; touch /x 2>/dev/null || echo ro"]);
        assert_eq!((o.code, o.out.as_str()), (0, "ok\nro\n"), "{rt}: --read-only: {}", o.err);
        p.assert_clean(&[]);
    }
}

/// A `--tmpfs` mount: podman sends it with `tmpcopyup` too.
#[test]
fn podman_tmpfs() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.run_rm(rt, &["--tmpfs", "/scratch:size=1m"], &["sh", "-c", "grep -c '^tmpfs /scratch tmpfs .*size=1024k' /proc/mounts"]);
        assert_eq!((o.code, o.out.as_str()), (0, "1\n"), "{rt}: --tmpfs: {}", o.err);
        p.assert_clean(&[]);
    }
}

/// `--privileged` and `--device` send linux.devices (and device cgroup
/// allows for them).
#[test]
fn podman_privileged_and_device() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    let bnd =
        fs::read_to_string("/proc/self/status").unwrap().lines().find(|l| l.starts_with("CapBnd:")).unwrap().split_whitespace().nth(1).unwrap().to_string();
    for rt in NAMES {
        let o = p.run_rm(rt, &["--privileged"], &["sh", "-c", "grep CapEff /proc/self/status; test -c /dev/fuse && echo fuse"]);
        assert_eq!((o.code, o.out.as_str()), (0, format!("CapEff:\t{bnd}\nfuse\n").as_str()), "{rt}: --privileged: {}", o.err);
        p.assert_clean(&[]);
        let o = p.run_rm(rt, &["--device", "/dev/fuse"], &["sh", "-c", "test -c /dev/fuse && echo fuse"]);
        assert_eq!((o.code, o.out.as_str()), (0, "fuse\n"), "{rt}: --device /dev/fuse: {}", o.err);
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_sysctl() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.run_rm(rt, &["--sysctl", "net.ipv4.ip_forward=1"], &["cat", "/proc/sys/net/ipv4/ip_forward"]);
        assert_eq!((o.code, o.out.as_str()), (0, "1\n"), "{rt}: --sysctl: {}", o.err);
        p.assert_clean(&[]);
    }
}

/// process.user.additionalGids are the supplementary groups, all of them
/// and only them (the gid is not added).
#[test]
fn podman_group_add() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.run_rm(rt, &["--group-add", "10"], &["grep", "^Groups:", "/proc/self/status"]);
        assert_eq!((o.code, o.out.split_whitespace().collect::<Vec<_>>()), (0, vec!["Groups:", "10"]), "{rt}: --group-add 10: {}", o.err);
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_pause_unpause() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.pm(rt, &["run", "-d", "--network", "none", IMG, "sleep", "60"]);
        assert_eq!(o.code, 0, "{rt}: run -d: {}", o.err);
        let id = o.out.trim().to_string();
        let status = || p.pm(rt, &["inspect", "-f", "{{.State.Status}}", &id]).out.trim().to_string();
        let o = p.pm(rt, &["pause", &id]);
        assert_eq!(o.code, 0, "{rt}: pause: {}", o.err);
        assert_eq!(status(), "paused", "{rt}");
        let o = p.pm(rt, &["unpause", &id]);
        assert_eq!(o.code, 0, "{rt}: unpause: {}", o.err);
        assert_eq!(status(), "running", "{rt}");
        let o = p.pm(rt, &["exec", &id, "echo", "awake"]);
        assert_eq!((o.code, o.out.as_str()), (0, "awake\n"), "{rt}: exec after unpause: {}", o.err);
        let o = p.pm(rt, &["rm", "-f", "-t", "0", &id]);
        assert_eq!(o.code, 0, "{rt}: rm -f: {}", o.err);
        p.assert_clean(&[id]);
    }
}

#[test]
fn podman_memory_limit() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    // cgroup v1 memory controller here (hybrid); v2 hosts have memory.max.
    let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max";
    for rt in NAMES {
        let o = p.run_rm(rt, &["--memory", "64m"], &["sh", "-c", script]);
        assert_eq!((o.code, o.out.trim()), (0, "67108864"), "{rt}: --memory 64m: {}", o.err);
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_user() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.run_rm(rt, &["--user", "1000:1000"], &["sh", "-c", "id -u; id -g"]);
        assert_eq!((o.code, o.out.as_str()), (0, "1000\n1000\n"), "{rt}: --user 1000:1000: {}", o.err);
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_cap_drop_all() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    for rt in NAMES {
        let o = p.run_rm(rt, &["--cap-drop", "ALL"], &["grep", "^Cap", "/proc/self/status"]);
        assert_eq!(o.code, 0, "{rt}: --cap-drop ALL: {}", o.err);
        for set in ["CapBnd", "CapEff", "CapPrm"] {
            assert!(o.out.contains(&format!("{set}:\t0000000000000000")), "{rt}: {set} not 0: {}", o.out);
        }
        p.assert_clean(&[]);
    }
}

#[test]
fn podman_volume() {
    if !ready(&["podman", "conmon"]) {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    let vol = p.dir.path.join("vol");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("in"), "from host\n").unwrap();
    for rt in NAMES {
        let _ = fs::remove_file(vol.join("out"));
        let v = format!("{}:/data", vol.display());
        let o = p.run_rm(rt, &["-v", &v], &["sh", "-c", "cat /data/in && echo from $0 > /data/out", rt]);
        assert_eq!((o.code, o.out.as_str()), (0, "from host\n"), "{rt}: volume: {}", o.err);
        assert_eq!(fs::read_to_string(vol.join("out")).unwrap_or_default(), format!("from {rt}\n"), "{rt}: volume write");
        p.assert_clean(&[]);
    }
}

/// A private containerd with the busybox image imported in namespace NS.
struct Containerd {
    dir: Dir,
    child: Child,
}

const NS: &str = "test";

impl Containerd {
    fn new() -> Containerd {
        let dir = Dir::new("ctd");
        let d = dir.path.display();
        fs::write(
            dir.path.join("config.toml"),
            format!(
                "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/c.sock.ttrpc\"\n\
                 [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n"
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.path.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.path.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Containerd { dir, child };
        let up = wait_until(10_000, || run(c.ctr().args(["version"])).code == 0);
        assert!(up, "containerd did not come up: {}", fs::read_to_string(c.dir.path.join("containerd.log")).unwrap_or_default());
        // The image: the rootfs tar through podman (private storage) as a docker-archive.
        let p = Podman::new();
        let archive = c.dir.path.join("bb.tar");
        let o = run(p.cmd(None).args(["save", "--format", "docker-archive", "-o", archive.to_str().unwrap(), IMG]));
        assert_eq!(o.code, 0, "podman save: {}", o.err);
        drop(p);
        let o = run(c.ctr().args(["images", "import", archive.to_str().unwrap()]));
        assert_eq!(o.code, 0, "ctr images import: {}", o.err);
        c
    }

    fn ctr(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address").arg(self.dir.path.join("c.sock")).args(["-n", NS]);
        c
    }

    fn ct(&self, args: &[&str]) -> Out {
        run(self.ctr().args(args))
    }

    /// `ctr run RUNOPTS... IMG ID ARGS...` with the runtime as `runc`.
    fn run(&self, opts: &[&str], id: &str, args: &[&str]) -> Out {
        let mut c = self.ctr();
        c.args(["run", "--runtime", "io.containerd.runc.v2", "--runc-binary"]).arg(self.dir.rt("runc"));
        c.args(opts).arg(IMG).arg(id).args(args);
        run(&mut c)
    }

    /// The pid of a task, from `ctr task ls`.
    fn pid(&self, id: &str) -> Option<u32> {
        let o = self.ct(&["task", "ls"]);
        o.out.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first() == Some(&id) {
                f.get(1).and_then(|p| p.parse().ok())
            } else {
                None
            }
        })
    }

    /// No task, no container and no runtime state left for the ids.
    fn assert_clean(&self, ids: &[&str]) {
        let tasks = self.ct(&["task", "ls", "-q"]);
        let ctrs = self.ct(&["containers", "ls", "-q"]);
        let st = Path::new("/run/containerd/runc").join(NS);
        for id in ids {
            assert!(!tasks.out.lines().any(|l| l.trim() == *id), "task {id} left: {}", tasks.out);
            assert!(!ctrs.out.lines().any(|l| l.trim() == *id), "container {id} left: {}", ctrs.out);
            assert!(!state_left(&st, id), "runtime state left in {st:?} for {id}");
        }
    }

    /// kill -9 the task, delete it and its container.
    fn remove(&self, id: &str) {
        let _ = self.ct(&["task", "kill", "-s", "SIGKILL", id]);
        wait_until(5_000, || self.ct(&["task", "ls"]).out.lines().any(|l| l.starts_with(id) && l.contains("STOPPED")));
        let _ = self.ct(&["task", "delete", id]);
        let _ = self.ct(&["containers", "rm", id]);
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        for id in self.ct(&["task", "ls", "-q"]).out.lines() {
            let _ = self.ct(&["task", "delete", "-f", id.trim()]);
        }
        for id in self.ct(&["containers", "ls", "-q"]).out.lines() {
            let _ = self.ct(&["containers", "rm", id.trim()]);
        }
        // SAFETY: SIGTERM to the containerd this test spawned.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if t.elapsed() > Duration::from_secs(5) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn containerd_run_and_exit_code() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let o = c.run(&["--rm"], "c1", &["echo", "hi"]);
    assert_eq!((o.code, o.out.as_str()), (0, "hi\n"), "ctr run echo hi: {}", o.err);
    c.assert_clean(&["c1"]);
    let o = c.run(&["--rm"], "c1", &["sh", "-c", "exit 3"]);
    assert_eq!(o.code, 3, "ctr run exit 3: {}", o.err);
    c.assert_clean(&["c1"]);
}

#[test]
fn containerd_exec_ps_kill_delete() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let o = c.run(&["-d"], "c2", &["sleep", "60"]);
    assert_eq!(o.code, 0, "ctr run -d: {}", o.err);
    let pid = c.pid("c2").expect("c2 has a pid in ctr task ls");
    assert!(state_left(&Path::new("/run/containerd/runc").join(NS), "c2"), "no runtime state for a running c2");
    // ctr (seen with runc) may lose the output of an exec that ends at
    // once: a few tries, each must exit 0.
    for i in 1..=3 {
        let o = c.ct(&["task", "exec", "--exec-id", &format!("e1{i}"), "c2", "echo", "hi"]);
        assert_eq!(o.code, 0, "ctr task exec: {}", o.err);
        if o.out == "hi\n" || i == 3 {
            assert_eq!(o.out, "hi\n", "ctr task exec echo hi, 3 tries");
            break;
        }
        eprintln!("ctr task exec: try {} after {:?}", i + 1, o.out);
    }
    let o = c.ct(&["task", "exec", "--exec-id", "e2", "c2", "sh", "-c", "exit 5"]);
    assert_eq!(o.code, 5, "ctr task exec exit 5: {}", o.err);
    let o = c.ct(&["task", "ps", "c2"]);
    assert_eq!(o.code, 0, "ctr task ps: {}", o.err);
    let pids: Vec<u32> = o.out.lines().skip(1).filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect();
    assert!(pids.contains(&pid), "ctr task ps lists {pids:?}, not the init pid {pid}: {}", o.out);
    let o = c.ct(&["task", "kill", "-s", "SIGKILL", "c2"]);
    assert_eq!(o.code, 0, "ctr task kill: {}", o.err);
    let stopped = wait_until(5_000, || c.ct(&["task", "ls"]).out.lines().any(|l| l.starts_with("c2") && l.contains("STOPPED")));
    assert!(stopped, "c2 not STOPPED after SIGKILL: {}", c.ct(&["task", "ls"]).out);
    let o = c.ct(&["task", "delete", "c2"]);
    assert_eq!(o.code, 0, "ctr task delete: {}", o.err);
    let o = c.ct(&["containers", "rm", "c2"]);
    assert_eq!(o.code, 0, "ctr c rm: {}", o.err);
    c.assert_clean(&["c2"]);
}

#[test]
fn containerd_join_network_namespace() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let o = c.run(&["-d"], "pod", &["sleep", "60"]);
    assert_eq!(o.code, 0, "ctr run -d: {}", o.err);
    let pid = c.pid("pod").expect("pod has a pid");
    let ns = fs::read_link(format!("/proc/{pid}/ns/net")).unwrap().to_string_lossy().into_owned();
    let mine = fs::read_link("/proc/self/ns/net").unwrap().to_string_lossy().into_owned();
    assert_ne!(ns, mine, "the pod container has a network namespace of its own");
    let with = format!("network:/proc/{pid}/ns/net");
    let o = c.run(&["--rm", "--with-ns", &with], "app", &["readlink", "/proc/self/ns/net"]);
    assert_eq!((o.code, o.out.trim()), (0, ns.as_str()), "ctr run --with-ns {with}: {}", o.err);
    c.assert_clean(&["app"]);
    c.remove("pod");
    c.assert_clean(&["pod"]);
}

#[test]
fn containerd_tty() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman", "script"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let mut cmd = c.ctr();
    cmd.args(["run", "--rm", "-t", "--runtime", "io.containerd.runc.v2", "--runc-binary"]).arg(c.dir.rt("runc")).args([
        IMG,
        "c5",
        "sh",
        "-c",
        "'sleep 0.2; tty'",
    ]);
    on_tty(&cmd, "/dev/pts/0", "ctr run -t");
    c.assert_clean(&["c5"]);
    let o = c.run(&["-d"], "c6", &["sleep", "60"]);
    assert_eq!(o.code, 0, "ctr run -d: {}", o.err);
    let mut cmd = c.ctr();
    cmd.args(["task", "exec", "-t", "--exec-id", "e2", "c6", "tty"]);
    on_tty(&cmd, "/dev/pts/", "ctr task exec -t");
    c.remove("c6");
    c.assert_clean(&["c6"]);
}

#[test]
fn containerd_pause_kill_all_force_delete() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let status = |id: &str| {
        c.ct(&["task", "ls"]).out.lines().find(|l| l.split_whitespace().next() == Some(id)).and_then(|l| l.split_whitespace().nth(2)).unwrap_or("").to_string()
    };
    let o = c.run(&["-d"], "c6", &["sleep", "60"]);
    assert_eq!(o.code, 0, "ctr run -d: {}", o.err);
    let o = c.ct(&["task", "pause", "c6"]);
    assert_eq!(o.code, 0, "ctr task pause: {}", o.err);
    assert_eq!(status("c6"), "PAUSED");
    let o = c.ct(&["task", "resume", "c6"]);
    assert_eq!(o.code, 0, "ctr task resume: {}", o.err);
    assert_eq!(status("c6"), "RUNNING");
    // A second process, then kill --all: both gone, the task stopped.
    let o = c.ct(&["task", "exec", "-d", "--exec-id", "e3", "c6", "sleep", "60"]);
    assert_eq!(o.code, 0, "ctr task exec -d: {}", o.err);
    let o = c.ct(&["task", "ps", "c6"]);
    assert_eq!(o.out.lines().count(), 3, "ctr task ps after exec -d: {}", o.out);
    let o = c.ct(&["task", "kill", "-a", "-s", "SIGKILL", "c6"]);
    assert_eq!(o.code, 0, "ctr task kill -a: {}", o.err);
    assert!(wait_until(5_000, || status("c6") == "STOPPED"), "c6 not STOPPED after kill -a");
    let o = c.ct(&["task", "delete", "c6"]);
    assert_eq!(o.code, 0, "ctr task delete: {}", o.err);
    let _ = c.ct(&["containers", "rm", "c6"]);
    c.assert_clean(&["c6"]);
    // delete -f of a running task kills it (kill --all, delete, delete --force).
    let o = c.run(&["-d"], "c7", &["sleep", "60"]);
    assert_eq!(o.code, 0, "ctr run -d: {}", o.err);
    let o = c.ct(&["task", "delete", "-f", "c7"]);
    assert_eq!(o.code, 0, "ctr task delete -f: {}", o.err);
    let o = c.ct(&["containers", "rm", "c7"]);
    assert_eq!(o.code, 0, "ctr c rm: {}", o.err);
    c.assert_clean(&["c7"]);
}

/// What ctr's config asks for, seen from inside: additionalGids [0] with
/// gid 0 is one group, noNewPrivileges, only fds 0-2 (the shim leaks its
/// socket as fd 3 into `create`; 3 below is ls's own directory).
#[test]
fn containerd_process_matches_config() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let o = c.run(&["--rm"], "c9", &["sh", "-c", "grep -E '^(Groups|NoNewPrivs)' /proc/self/status; ls /proc/self/fd"]);
    assert_eq!(o.code, 0, "ctr run: {}", o.err);
    let words: Vec<Vec<&str>> = o.out.lines().map(|l| l.split_whitespace().collect()).collect();
    let want: Vec<Vec<&str>> = vec![vec!["Groups:", "0"], vec!["NoNewPrivs:", "1"], vec!["0"], vec!["1"], vec!["2"], vec!["3"]];
    assert_eq!(words, want, "groups, no_new_privs, fds: {}", o.out);
    c.assert_clean(&["c9"]);
}

/// ctr's config has no cgroup namespace and cgroupsPath /<ns>/<id>: the
/// container's processes are in that cgroup in every hierarchy (runc joins
/// them all; the shim reads freezer, blkio and memory stats there) and share
/// the host's cgroup namespace.
#[test]
fn containerd_cgroups_at_cgroups_path() {
    if !ready(&["containerd", "ctr", "containerd-shim-runc-v2", "podman"]) {
        return;
    }
    let _l = host_lock();
    let c = Containerd::new();
    let o = c.run(&["-d"], "c10", &["sleep", "60"]);
    assert_eq!(o.code, 0, "ctr run -d: {}", o.err);
    let pid = c.pid("c10").expect("c10 has a pid");
    let ns = fs::read_link(format!("/proc/{pid}/ns/cgroup")).unwrap();
    let host = fs::read_link("/proc/self/ns/cgroup").unwrap();
    let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    c.remove("c10");
    c.assert_clean(&["c10"]);
    assert_eq!(ns, host, "a cgroup namespace nobody asked for");
    let want = format!(":/{NS}/c10");
    let off: Vec<&str> = cg.lines().filter(|l| !l.ends_with(&want)).collect();
    assert!(off.is_empty(), "hierarchies not at cgroupsPath /{NS}/c10: {off:?}");
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark, report only: --ignored latency --nocapture"]
fn latency() {
    if !ready(&["podman", "conmon", "containerd", "ctr", "containerd-shim-runc-v2"]) || !Path::new("/usr/sbin/runc").exists() {
        return;
    }
    let _l = host_lock();
    let p = Podman::new();
    let c = Containerd::new();
    let runc = p.dir.path.join("real").join("runc");
    fs::create_dir_all(runc.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/usr/sbin/runc", &runc).unwrap();
    let rts = [p.dir.rt("runc"), runc];
    let mut times = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    let timed = |cmd: &mut Command| {
        let t = Instant::now();
        let o = run(cmd);
        let d = t.elapsed();
        assert_eq!(o.code, 0, "{cmd:?}: {}", o.err);
        d
    };
    for i in 0..10 {
        for (r, rt) in rts.iter().enumerate() {
            let mut pc = p.cmd(None);
            pc.arg("--runtime").arg(rt).args(["run", "--rm", "--network", "none", IMG, "true"]);
            times[0][r].push(timed(&mut pc));
            let mut cc = c.ctr();
            cc.args(["run", "--rm", "--runtime", "io.containerd.runc.v2", "--runc-binary"]).arg(rt);
            cc.arg(IMG).arg(format!("l{i}{r}")).arg("true");
            times[1][r].push(timed(&mut cc));
        }
    }
    println!("runtime under test: {:?}", target());
    for (e, engine) in ["podman run --rm IMG true", "ctr run --rm IMG cX true"].iter().enumerate() {
        let a = median(&mut times[e][0]);
        let b = median(&mut times[e][1]);
        println!("{engine}: median of 10, under test {:.1} ms, runc {:.1} ms", a.as_secs_f64() * 1e3, b.as_secs_f64() * 1e3);
    }
}

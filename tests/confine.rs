//! The attacker's battery (issue 9): a default container must be as confined
//! as a default `docker run` container, and each relaxation (--privileged,
//! --cap-add, --security-opt, --device, -u, --read-only, --tmpfs) must do
//! exactly what it says. Every check runs tests/helpers/probe.rs inside the
//! container: one raw syscall, the kernel's verdict printed as one word.
//!
//! MYDOCKER_PROBE is the static probe (scripts/test.sh builds it); outside
//! CI a missing probe skips, with CI=true it fails.

#[macro_use]
mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
/// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DOCKER_CAPS: &str = "00000000a80425fb";
const ZERO: &str = "0000000000000000";

fn probe_path() -> Option<PathBuf> {
    let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
    let p = std::env::var_os("MYDOCKER_PROBE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/x86_64-unknown-linux-musl/release/examples/probe"));
    if std::env::var_os("MYDOCKER_PROBE").is_none() && ci {
        panic!("MYDOCKER_PROBE must be set in CI (cargo build --release --example probe --target x86_64-unknown-linux-musl)");
    }
    if !p.exists() {
        assert!(!ci, "probe {p:?} missing in CI");
        eprintln!("skipping: no probe at {p:?} (cargo build --release --example probe --target x86_64-unknown-linux-musl)");
        return None;
    }
    Some(p)
}

/// The harness and the `-v PROBE:/probe:ro` argument, or skip.
macro_rules! tp {
    () => {{
        let Some(p) = probe_path() else { return };
        let t = t!();
        (t, format!("{}:/probe:ro", p.display()))
    }};
}

/// `run --rm -v PROBE OPTS busybox sh -c SCRIPT`: stdout, or a line that
/// says how the run failed (so an assertion shows it).
fn sh(t: &T, vol: &str, opts: &[&str], script: &str) -> String {
    sh_img(t, vol, opts, "busybox", script)
}

fn sh_img(t: &T, vol: &str, opts: &[&str], image: &str, script: &str) -> String {
    let mut a: Vec<&str> = vec!["-v", vol];
    a.extend_from_slice(opts);
    a.extend_from_slice(&[image, "sh", "-c", script]);
    let o = t.run(&a);
    if o.code != 0 {
        return format!("RUN FAILED (exit {}) {opts:?}: {}{}", o.code, o.stdout(), o.err);
    }
    o.stdout().trim_end().to_string()
}

/// `exec OPTS ID sh -c SCRIPT`, like `sh`.
fn xsh(t: &T, id: &str, opts: &[&str], script: &str) -> String {
    let mut a: Vec<&str> = vec!["exec"];
    a.extend_from_slice(opts);
    a.extend_from_slice(&[id, "sh", "-c", script]);
    let o = t.md(&a);
    if o.code != 0 {
        return format!("EXEC FAILED (exit {}) {opts:?}: {}{}", o.code, o.stdout(), o.err);
    }
    o.stdout().trim_end().to_string()
}

/// Every capability this kernel has that the caller's bounding set holds
/// (a --privileged container cannot get more than its creator).
fn all_caps() -> String {
    let last: u32 = fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap().trim().parse().unwrap();
    let st = fs::read_to_string("/proc/self/status").unwrap();
    let bnd = st.lines().find_map(|l| l.strip_prefix("CapBnd:")).unwrap().trim();
    let bnd = u64::from_str_radix(bnd, 16).unwrap();
    format!("{:016x}", ((1u64 << (last + 1)) - 1) & bnd)
}

/// The probe's verdict on the host itself.
fn host_probe(args: &[&str]) -> String {
    let o = Command::new(probe_path().unwrap()).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

fn caps_line(eff: &str) -> String {
    format!("{ZERO} {eff} {eff} {eff} {ZERO}")
}

/// What one probe must print.
enum Want {
    Is(&'static str),
    OneOf(&'static [&'static str]),
    Not(&'static str),
    Owned(String),
    Test(fn(&str) -> bool),
    Any,
}

impl Want {
    fn ok(&self, got: &str) -> bool {
        match self {
            Want::Is(w) => got == *w,
            Want::OneOf(v) => v.contains(&got),
            Want::Not(w) => got != *w,
            Want::Owned(w) => got == w,
            Want::Test(f) => f(got),
            Want::Any => true,
        }
    }
    fn show(&self) -> String {
        match self {
            Want::Is(w) => format!("{w:?}"),
            Want::OneOf(v) => format!("one of {v:?}"),
            Want::Not(w) => format!("anything but {w:?}"),
            Want::Owned(w) => format!("{w:?}"),
            Want::Test(_) => "see the test's predicate".into(),
            Want::Any => "anything".into(),
        }
    }
}

/// (probe arguments, expectation)
type Check = (String, Want);

fn ck(args: &str, w: Want) -> Check {
    (args.to_string(), w)
}

/// Runs a list of probes in ONE container (through `exec_script`), one
/// output line each, and returns the mismatches as readable lines.
fn battery(checks: &[Check], exec_script: impl Fn(&str) -> String) -> Vec<String> {
    let mut script = String::new();
    for (args, _) in checks {
        script.push_str(&format!("echo \"$(/probe {args} 2>&1 | tr '\\n' ' ' | sed 's/ $//')\"; "));
    }
    let out = exec_script(&script);
    let lines: Vec<&str> = out.lines().collect();
    if lines.len() != checks.len() {
        return vec![format!("{} outputs for {} probes: {out}", lines.len(), checks.len())];
    }
    let mut bad = Vec::new();
    for ((args, want), got) in checks.iter().zip(lines) {
        if !want.ok(got) {
            bad.push(format!("probe {args}: got {got:?}, want {}", want.show()));
        }
    }
    bad
}

fn assert_battery(what: &str, bad: Vec<String>) {
    assert!(bad.is_empty(), "{what}: {} failed:\n  {}", bad.len(), bad.join("\n  "));
}

const REFUSED: Want = Want::Is("EPERM");
const DEV_REFUSED: Want = Want::OneOf(&["EPERM", "EACCES"]);

/// Syscalls docker's default profile refuses (EPERM). (The keyring calls:
/// what they could leak is also tested by host_keys_stay_out_of_reach.)
const SECCOMP_DENIED: &[&str] = &[
    "keyctl",
    "add_key",
    "x32-unshare-user",
    "vsock",
    "bpf",
    "perf",
    "userfaultfd",
    "syslog",
    "kexec",
    "init_module",
    "reboot",
    "settime",
    "unshare user",
    "clone-newuser",
    "personality 0x1234",
    "i386",
];

/// /proc entries mounted read-only by default.
const PROC_RO: &[&str] = &["/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"];
/// Masked files (read as empty) and directories (no entries).
const MASKED_FILES: &[&str] = &["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"];
const MASKED_DIRS: &[&str] = &["/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"];

/// Items 1-4 of the issue as seen by a default container's process.
fn default_checks() -> Vec<Check> {
    let mut v = vec![ck("caps", Want::Owned(caps_line(DOCKER_CAPS))), ck("seccomp", Want::Is("2 0"))];
    for s in SECCOMP_DENIED {
        v.push(ck(s, REFUSED));
    }
    for m in ["mount-tmpfs /tmp", "mount-proc /tmp", "mount-cgroup1 /tmp", "mount-cgroup2 /tmp", "remount-ro-rw /sys", "unshare mount", "unshare net"] {
        v.push(ck(m, REFUSED));
    }
    v.push(ck("access /sys w", Want::Is("EROFS")));
    for p in PROC_RO.iter().filter(|p| Path::new(p).exists()) {
        v.push(ck(&format!("access {p} w"), Want::Is("EROFS")));
    }
    for p in MASKED_FILES.iter().filter(|p| Path::new(p).exists()) {
        v.push(ck(&format!("read {p}"), Want::Is("0")));
        // docker masks with /dev/null: a write may succeed, and vanishes
        v.push(ck(&format!("open {p} w,trunc,write"), Want::Any));
        v.push(ck(&format!("read {p}"), Want::Is("0")));
    }
    for p in MASKED_DIRS.iter().filter(|p| Path::new(p).exists()) {
        v.push(ck(&format!("ls {p}"), Want::Is("")));
        v.push(ck(&format!("open {p}/x w,creat"), Want::Not("ok")));
    }
    // the shocker attack: a handle can be made, never opened
    v.push(ck("open_by_handle /probe", Want::Test(no_handle_opens)));
    v
}

/// open_by_handle: the second and third words (the opens) are refused.
fn no_handle_opens(got: &str) -> bool {
    let w: Vec<&str> = got.split(' ').collect();
    w.len() == 3 && w[1] == "EPERM" && w[2] == "EPERM"
}

fn dflt(t: &T, vol: &str, script: &str) -> String {
    sh(t, vol, &[], script)
}

// ---- 1. capabilities ----------------------------------------------------

#[test]
fn capabilities_are_dockers_fourteen() {
    let (t, vol) = tp!();
    let caps = |opts: &[&str]| sh(&t, &vol, opts, "/probe caps");
    assert_eq!(caps(&[]), caps_line(DOCKER_CAPS), "default");
    assert_eq!(caps(&["--privileged"]), caps_line(&all_caps()), "--privileged: every capability");
    assert_eq!(caps(&["--cap-drop", "ALL", "--cap-add", "NET_RAW"]), caps_line("0000000000002000"), "only NET_RAW (bit 13)");
    assert_eq!(caps(&["--cap-add", "CAP_SYS_ADMIN"]), caps_line("00000000a82425fb"), "+SYS_ADMIN (bit 21)");
    assert_eq!(caps(&["--cap-add", "sys_admin"]), caps_line("00000000a82425fb"), "lower case, no CAP_ prefix");
    assert_eq!(caps(&["--cap-drop", "CHOWN"]), caps_line("00000000a80425fa"), "-CHOWN (bit 0)");
    assert_eq!(caps(&["--cap-add", "ALL"]), caps_line(&all_caps()), "--cap-add ALL");
    assert_eq!(
        caps(&["--cap-add", "ALL", "--cap-drop", "SYS_ADMIN"]),
        caps_line(&format!("{:016x}", u64::from_str_radix(&all_caps(), 16).unwrap() & !(1 << 21))),
        "--cap-add ALL --cap-drop SYS_ADMIN"
    );
    // PID 1 itself (no shell in between) has them too
    let o = t.run(&["-v", &vol, "busybox", "/probe", "caps"]);
    assert_eq!(o.stdout().trim_end(), caps_line(DOCKER_CAPS), "{}", o.err);
    // the capabilities are enforced, not just reported
    let f = vec![ck("rawsock", Want::Is("ok")), ck("chown /tmp", Want::Is("ok")), ck("mknod /tmp/n c 1 3", Want::Is("ok"))];
    assert_battery("default", battery(&f, |s| dflt(&t, &vol, s)));
    let f = vec![ck("rawsock", REFUSED), ck("chown /tmp", REFUSED), ck("mknod /tmp/n c 1 3", REFUSED)];
    assert_battery(
        "--cap-drop NET_RAW,CHOWN,MKNOD",
        battery(&f, |s| sh(&t, &vol, &["--cap-drop", "NET_RAW", "--cap-drop", "chown", "--cap-drop", "CAP_MKNOD"], s)),
    );
    for bad in [&["--cap-add", "NOPE"][..], &["--cap-drop", "CAP_NOPE"]] {
        let mut a = vec!["run"];
        a.extend_from_slice(bad);
        a.extend_from_slice(&["busybox", "true"]);
        let o = t.md(&a);
        assert_eq!(o.code, 125, "{bad:?}: {}", o.err);
        assert_eq!(o.err.lines().count(), 1, "{bad:?}: {}", o.err);
        assert!(o.err.starts_with("mydocker: "), "{bad:?}: {}", o.err);
        t.assert_clean();
    }
    t.assert_clean();
}

// ---- 2. seccomp ---------------------------------------------------------

#[test]
fn seccomp_filter_and_no_new_privs() {
    let (t, vol) = tp!();
    let st = |opts: &[&str]| sh(&t, &vol, opts, "/probe seccomp");
    assert_eq!(st(&[]), "2 0", "default: filtered, NoNewPrivs 0");
    assert_eq!(st(&["--privileged"]), "0 0", "--privileged: no filter");
    assert_eq!(st(&["--security-opt", "seccomp=unconfined"]), "0 0", "seccomp=unconfined");
    assert_eq!(st(&["--security-opt", "no-new-privileges"]), "2 1", "no-new-privileges");
    assert_eq!(st(&["--cap-add", "ALL"]), "2 0", "--cap-add ALL keeps the filter");
    // exec'ed processes get the container's settings
    let mut t = t;
    for (opts, want) in [
        (&[][..], "2 0"),
        (&["--security-opt", "no-new-privileges"][..], "2 1"),
        (&["--security-opt", "seccomp=unconfined"][..], "0 0"),
        (&["--privileged"][..], "0 0"),
    ] {
        let mut a: Vec<&str> = opts.to_vec();
        a.extend_from_slice(&["-v", &vol, "busybox", "sleep", "60"]);
        let id = t.detach(&a);
        assert_eq!(xsh(&t, &id, &[], "/probe seccomp"), want, "exec into a {opts:?} container");
        t.rm_all();
    }
    let o = t.run(&["--security-opt", "seccomp=nosuchprofile.json", "busybox", "true"]);
    assert_eq!(o.code, 125, "a profile that does not exist: {}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    t.assert_clean();
}

#[test]
fn seccomp_refuses_dangerous_syscalls() {
    let (t, vol) = tp!();
    let checks: Vec<Check> = SECCOMP_DENIED.iter().map(|s| ck(s, REFUSED)).collect();
    assert_battery("default", battery(&checks, |s| dflt(&t, &vol, s)));
    // --privileged lifts all of it: each call gets past the filter and the
    // capability checks (kexec/init_module may be ENOSYS here, reboot in a
    // PID namespace EINVAL: anything but EPERM)
    let lifted: Vec<Check> = SECCOMP_DENIED.iter().filter(|s| !s.starts_with("x32")).map(|s| ck(s, Want::Not("EPERM"))).collect();
    assert_battery("--privileged", battery(&lifted, |s| sh(&t, &vol, &["--privileged"], s)));
    // The profile lifts mount with CAP_SYS_ADMIN, never kexec.
    let sa =
        vec![ck("mount-tmpfs /tmp", Want::Is("ok")), ck("kexec", REFUSED), ck("init_module", REFUSED), ck("caps", Want::Owned(caps_line("00000000a82425fb")))];
    assert_battery("--cap-add SYS_ADMIN", battery(&sa, |s| sh(&t, &vol, &["--cap-add", "SYS_ADMIN"], s)));
    // unconfined but not privileged: personality and keyctl need no capability
    let mut un = vec![ck("personality 0x1234", Want::Is("ok")), ck("mount-tmpfs /tmp", REFUSED)];
    if host_probe(&["i386"]) == "ok" {
        un.push(ck("i386", Want::Is("ok")));
    }
    assert_battery("seccomp=unconfined", battery(&un, |s| sh(&t, &vol, &["--security-opt", "seccomp=unconfined"], s)));
    t.assert_clean();
}

// ---- 3. mounts and read-only kernel files --------------------------------

#[test]
fn mounts_are_refused_and_kernel_files_are_read_only() {
    let (t, vol) = tp!();
    let mut d = vec![];
    for m in ["mount-tmpfs /tmp", "mount-proc /tmp", "mount-cgroup1 /tmp", "mount-cgroup2 /tmp", "remount-ro-rw /sys"] {
        d.push(ck(m, REFUSED));
    }
    d.push(ck("access /sys w", Want::Is("EROFS")));
    d.push(ck("access /sys/kernel w", Want::Is("EROFS")));
    let proc_ro: Vec<&str> = PROC_RO.iter().copied().filter(|p| Path::new(p).exists()).collect();
    assert!(proc_ro.contains(&"/proc/sys/kernel/core_pattern"), "host lacks /proc/sys/kernel/core_pattern?");
    for p in &proc_ro {
        d.push(ck(&format!("access {p} w"), Want::Is("EROFS")));
    }
    // the rest of /proc stays usable
    d.push(ck("access /proc/self/attr w", Want::Not("EROFS")));
    assert_battery("default", battery(&d, |s| dflt(&t, &vol, s)));
    let mut p = vec![ck("mount-tmpfs /tmp", Want::Is("ok")), ck("access /sys w", Want::Is("ok"))];
    for x in &proc_ro {
        p.push(ck(&format!("access {x} w"), Want::Is("ok")));
    }
    assert_battery("--privileged", battery(&p, |s| sh(&t, &vol, &["--privileged"], s)));
    t.assert_clean();
}

// ---- 4. masked paths ------------------------------------------------------

#[test]
fn masked_paths_show_nothing() {
    let (t, vol) = tp!();
    let files: Vec<&str> = MASKED_FILES.iter().copied().filter(|p| Path::new(p).exists()).collect();
    let dirs: Vec<&str> = MASKED_DIRS.iter().copied().filter(|p| Path::new(p).exists()).collect();
    assert!(files.contains(&"/proc/timer_list"), "host: {files:?}");
    let mut d = vec![];
    for p in &files {
        d.push(ck(&format!("read {p}"), Want::Is("0")));
        // docker masks with /dev/null: a write may succeed, and vanishes
        d.push(ck(&format!("open {p} w,trunc,write"), Want::Any));
        d.push(ck(&format!("read {p}"), Want::Is("0")));
    }
    for p in &dirs {
        d.push(ck(&format!("ls {p}"), Want::Is("")));
        d.push(ck(&format!("open {p}/x w,creat"), Want::Not("ok")));
        d.push(ck(&format!("mknod {p}/x c 1 3"), Want::Not("ok")));
    }
    assert_battery("default", battery(&d, |s| dflt(&t, &vol, s)));
    // --privileged: nothing masked
    let o = sh(&t, &vol, &["--privileged"], "/probe read /proc/timer_list; /probe ls /sys/firmware; stat -c %s /proc/kcore 2>/dev/null || echo none");
    let l: Vec<&str> = o.lines().collect();
    assert_eq!(l.len(), 3, "{o}");
    assert!(l[0].parse::<u64>().unwrap_or(0) > 0, "--privileged: /proc/timer_list empty: {o}");
    let host_fw = fs::read_dir("/sys/firmware").map(|d| d.count()).unwrap_or(0);
    assert!(host_fw == 0 || !l[1].is_empty(), "--privileged: /sys/firmware empty: {o}");
    if Path::new("/proc/kcore").exists() {
        assert_ne!(l[2], "0", "--privileged: /proc/kcore size: {o}");
        // and by default, stat sees the mask (an empty file)
        assert_eq!(dflt(&t, &vol, "stat -c %s /proc/kcore"), "0");
    }
    t.assert_clean();
}

// ---- 1-4 again through exec ----------------------------------------------

#[test]
fn exec_gets_the_same_confinement() {
    let (mut t, vol) = tp!();
    let id = t.detach(&["-v", &vol, "busybox", "sleep", "60"]);
    assert_battery("exec into a default container", battery(&default_checks(), |s| xsh(&t, &id, &[], s)));
    // and the container's own PID 1
    let pid1 = xsh(&t, &id, &[], "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|Seccomp|NoNewPrivs):' /proc/1/status | tr -s '\\t' ' '");
    let want = format!("CapInh: {ZERO}\nCapPrm: {DOCKER_CAPS}\nCapEff: {DOCKER_CAPS}\nCapBnd: {DOCKER_CAPS}\nCapAmb: {ZERO}\nNoNewPrivs: 0\nSeccomp: 2");
    assert_eq!(pid1, want, "PID 1 of a default container");
    // exec --privileged lifts the capabilities
    assert_eq!(xsh(&t, &id, &["--privileged"], "/probe caps"), caps_line(&all_caps()), "exec --privileged");
    // and does not widen the next plain exec
    assert_eq!(xsh(&t, &id, &[], "/probe caps"), caps_line(DOCKER_CAPS));
    t.rm_all();
    t.assert_clean();
}

#[test]
fn run_default_battery() {
    let (t, vol) = tp!();
    assert_battery("run: default container", battery(&default_checks(), |s| dflt(&t, &vol, s)));
    t.assert_clean();
}

// ---- hostile images --------------------------------------------------------

/// Unpacks out/busybox.tar, lets `edit` change the tree, imports it as NAME.
fn image_from(t: &T, name: &str, edit: impl FnOnce(&Path)) {
    let dir = t.root.join(format!("build-{name}"));
    fs::create_dir_all(&dir).unwrap();
    let st = Command::new("tar").arg("-xf").arg(tarball()).arg("-C").arg(&dir).status().unwrap();
    assert!(st.success());
    edit(&dir);
    let tar = t.root.join(format!("{name}.tar"));
    let st = Command::new("tar").args(["--numeric-owner", "--owner=0", "--group=0", "-C"]).arg(&dir).arg("-cf").arg(&tar).arg(".").status().unwrap();
    assert!(st.success());
    fs::remove_dir_all(&dir).unwrap();
    let o = t.md(&["import", tar.to_str().unwrap(), name]);
    assert_eq!(o.code, 0, "import {name}: {}", o.err);
}

fn mountpoints() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo").unwrap().lines().map(|l| l.split(' ').nth(4).unwrap_or("").to_string()).collect()
}

#[test]
fn hostile_images_cannot_redirect_the_kernel_mounts() {
    let (t, vol) = tp!();
    let etc_before: Vec<String> = {
        let mut v: Vec<String> = fs::read_dir("/etc").unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    let mounts_before = mountpoints();
    let swap = |d: &Path, what: &str, to: &str| {
        let p = d.join(what);
        let _ = fs::remove_dir_all(&p);
        let _ = fs::remove_file(&p);
        std::os::unix::fs::symlink(to, &p).unwrap();
    };
    image_from(&t, "procln", |d| swap(d, "proc", "/etc"));
    image_from(&t, "sysln", |d| swap(d, "sys", "/etc"));
    image_from(&t, "devln", |d| swap(d, "dev", "/etc"));
    image_from(&t, "fwfile", |d| {
        fs::create_dir_all(d.join("sys")).unwrap();
        fs::write(d.join("sys/firmware"), "planted").unwrap();
        fs::create_dir_all(d.join("proc")).unwrap();
        fs::write(d.join("proc/kcore"), "planted").unwrap();
    });
    let checks = vec![
        ck("readlink /proc", Want::Is("EINVAL")),
        ck("readlink /sys", Want::Is("EINVAL")),
        ck("readlink /dev", Want::Is("EINVAL")),
        ck("access /proc/self/status r", Want::Is("ok")),
        ck("read /proc/timer_list", Want::Is("0")),
        ck("ls /sys/firmware", Want::Is("")),
        ck("access /sys w", Want::Is("EROFS")),
        ck("access /proc/sys/kernel/core_pattern w", Want::Is("EROFS")),
        ck("open /dev/null rw", Want::Is("ok")),
        ck("caps", Want::Owned(caps_line(DOCKER_CAPS))),
        ck("seccomp", Want::Is("2 0")),
        // the image's /etc is still its own
        ck("read /etc/passwd", Want::Is("30")),
    ];
    for img in ["procln", "sysln", "devln", "fwfile"] {
        assert_battery(img, battery(&checks, |s| sh_img(&t, &vol, &[], img, s)));
        let mut etc: Vec<String> = fs::read_dir("/etc").unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        etc.sort();
        assert_eq!(etc, etc_before, "{img}: the host's /etc changed");
        let new: Vec<String> = mountpoints().into_iter().filter(|m| !mounts_before.contains(m)).filter(|m| !m.starts_with(t.root.to_str().unwrap())).collect();
        assert_eq!(new, Vec::<String>::new(), "{img}: mounts appeared on the host");
    }
    t.assert_clean();
}

// ---- 5. devices ------------------------------------------------------------

#[test]
fn devices_are_dockers_allow_list() {
    let (t, vol) = tp!();
    let d = vec![
        ck("mknod /tmp/sda b 8 0", Want::Is("ok")),
        ck("open /tmp/sda r", DEV_REFUSED),
        ck("mknod /tmp/loop b 7 0", Want::Is("ok")),
        ck("open /tmp/loop r", DEV_REFUSED),
        ck("mknod /tmp/mem c 1 1", Want::Is("ok")),
        ck("open /tmp/mem r", DEV_REFUSED),
        ck("mknod /tmp/kmsg c 1 11", Want::Is("ok")),
        ck("open /tmp/kmsg r", DEV_REFUSED),
        ck("mknod /tmp/full2 c 1 7", Want::Is("ok")),
        ck("open /tmp/full2 rw", Want::Is("ok")),
        ck("open /dev/null rw", Want::Is("ok")),
        ck("open /dev/zero r", Want::Is("ok")),
        ck("open /dev/full rw", Want::Is("ok")),
        ck("open /dev/random r", Want::Is("ok")),
        ck("open /dev/urandom r", Want::Is("ok")),
        ck("open /dev/tty rw", Want::OneOf(&["ok", "ENXIO"])),
        ck("open /dev/pts/ptmx rw", Want::Is("ok")),
        ck("open /dev/ptmx rw", Want::Is("ok")),
        ck("access /dev/mem f", Want::Is("ENOENT")),
        ck("access /dev/kmsg f", Want::Is("ENOENT")),
        ck("access /dev/loop0 f", Want::Is("ENOENT")),
    ];
    assert_battery("default", battery(&d, |s| dflt(&t, &vol, s)));
    // --device: read-write by default, :r read only
    let dv = vec![ck("open /dev/mynull w", Want::Is("ok")), ck("open /dev/mynull r", Want::Is("ok"))];
    assert_battery("--device /dev/null:/dev/mynull", battery(&dv, |s| sh(&t, &vol, &["--device", "/dev/null:/dev/mynull"], s)));
    // :r on a device outside docker's default list (/dev/null's 1:3 is
    // in it, rwm, so a read-only /dev/null alias stays writable as in docker)
    if Path::new("/dev/loop0").exists() {
        let dr = vec![
            ck("open /dev/myloop r", Want::Is("ok")),
            ck("open /dev/myloop w", REFUSED),
            ck("mknod /tmp/l0 b 7 0", Want::Is("ok")),
            ck("open /tmp/l0 r", Want::Is("ok")),
            ck("open /tmp/l0 w", REFUSED),
            ck("mknod /tmp/l1 b 7 1", Want::Is("ok")),
            ck("open /tmp/l1 r", DEV_REFUSED),
        ];
        assert_battery("--device /dev/loop0:/dev/myloop:r", battery(&dr, |s| sh(&t, &vol, &["--device", "/dev/loop0:/dev/myloop:r"], s)));
        let drw = vec![ck("open /dev/myloop r", Want::Is("ok")), ck("open /dev/myloop rw", Want::Is("ok"))];
        assert_battery("--device /dev/loop0:/dev/myloop", battery(&drw, |s| sh(&t, &vol, &["--device", "/dev/loop0:/dev/myloop"], s)));
    }
    // --privileged: the device cgroup is lifted (open only, nothing read)
    let mut p = vec![ck("mknod /tmp/full2 c 1 7", Want::Is("ok")), ck("open /tmp/full2 rw", Want::Is("ok"))];
    if Path::new("/dev/loop0").exists() {
        let o = sh(&t, &vol, &["--privileged"], "/probe mknod /tmp/l0 b 7 0; /probe open /tmp/l0 r; /probe open /dev/loop0 r");
        let l: Vec<&str> = o.lines().collect();
        assert!(l.len() == 3 && l[0] == "ok" && (l[1] == "ok" || l[2] == "ok"), "--privileged: a loop device stays closed: {o}");
    }
    p.push(ck("caps", Want::Owned(caps_line(&all_caps()))));
    assert_battery("--privileged", battery(&p, |s| sh(&t, &vol, &["--privileged"], s)));
    // a device that does not exist on the host
    let o = t.run(&["--device", "/dev/nosuchdevice", "busybox", "true"]);
    assert_eq!(o.code, 125, "{}", o.err);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    t.assert_clean();
}

// ---- 6. cgroup namespace ----------------------------------------------------

#[test]
fn the_cgroup_tree_is_the_containers_own() {
    let (t, vol) = tp!();
    let host = fs::read_to_string("/proc/self/cgroup").unwrap();
    // none of the host's cgroup names shows: ours, mydocker's, systemd's
    let mut hostnames: Vec<String> = vec!["mydocker".into(), "system.slice".into(), "init.scope".into(), "user.slice".into()];
    for l in host.lines() {
        for c in l.splitn(3, ':').nth(2).unwrap_or("").split('/') {
            if !c.is_empty() {
                hostnames.push(c.to_string());
            }
        }
    }
    // without limits (only a tracking cgroup) and with one (-m: on a v1
    // host, the memory hierarchy shows too)
    for opts in [&[][..], &["-m", "64m"][..]] {
        let cg = sh(&t, &vol, opts, "cat /proc/self/cgroup");
        if host.trim() == "0::/" || host.lines().count() == 1 {
            assert_eq!(cg, "0::/", "{opts:?}: cgroup v2: the container sees itself at the root");
        } else {
            assert!(!cg.is_empty() && cg.lines().all(|l| l.ends_with(":/")), "{opts:?}: every hierarchy at its root:\n{cg}");
        }
        let ls = sh(&t, &vol, opts, "for d in /sys/fs/cgroup /sys/fs/cgroup/*; do [ -d $d ] && /probe ls $d; done; true");
        assert!(ls.contains("cgroup.procs") || ls.contains("memory"), "{opts:?}: no cgroup filesystem in the container:\n{ls}");
        for n in ls.split_whitespace() {
            assert!(!hostnames.iter().any(|h| h == n), "{opts:?}: host cgroup {n:?} visible in the container:\n{ls}");
            assert!(!(n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit())), "{opts:?}: a container id visible: {n}");
        }
        let mut w = vec![
            ck("access /sys/fs/cgroup w", Want::Is("EROFS")),
            ck("mount-cgroup2 /sys/fs/cgroup", REFUSED),
            ck("open /sys/fs/cgroup/cgroup.procs w", Want::OneOf(&["EROFS", "ENOENT"])),
        ];
        // every hierarchy shown is read-only too (release_agent, cgroup.procs)
        let subs = sh(&t, &vol, opts, "for d in /sys/fs/cgroup/*; do [ -d $d ] && echo ${d##*/}; done; true");
        for d in subs.lines() {
            w.push(ck(&format!("access /sys/fs/cgroup/{d} w"), Want::Is("EROFS")));
            w.push(ck(&format!("open /sys/fs/cgroup/{d}/cgroup.procs w"), Want::OneOf(&["EROFS", "ENOENT"])));
            w.push(ck(&format!("open /sys/fs/cgroup/{d}/release_agent w"), Want::OneOf(&["EROFS", "ENOENT"])));
            w.push(ck(&format!("open /sys/fs/cgroup/{d}/notify_on_release w"), Want::OneOf(&["EROFS", "ENOENT"])));
        }
        assert_battery(&format!("cgroupfs {opts:?}"), battery(&w, |s| sh(&t, &vol, opts, s)));
    }
    t.assert_clean();
}

// ---- 7. ptrace ----------------------------------------------------------------

#[test]
fn root_cannot_ptrace_another_users_process() {
    let (mut t, vol) = tp!();
    for (opts, want) in [(&[][..], "EPERM"), (&["--privileged"][..], "ok")] {
        let mut a: Vec<&str> = vec!["-v", &vol];
        a.extend_from_slice(opts);
        a.extend_from_slice(&["busybox", "sleep", "60"]);
        let id = t.detach(&a);
        let o = t.md(&["exec", "-d", "-u", "1000", &id, "sleep", "100"]);
        assert_eq!(o.code, 0, "exec -d -u 1000: {}", o.err);
        let find = "for p in /proc/[0-9]*; do [ \"$(stat -c %u $p)\" = 1000 ] && echo ${p#/proc/}; done; true";
        let mut pid = String::new();
        assert!(wait_until(3000, || {
            pid = xsh(&t, &id, &[], find);
            !pid.is_empty()
        }));
        let pid = pid.lines().next().unwrap().to_string();
        assert_eq!(xsh(&t, &id, &[], &format!("/probe ptrace {pid}")), want, "{opts:?}: root's ptrace of uid 1000's pid {pid}");
        t.rm_all();
    }
    t.assert_clean();
}

// ---- 8. exec never shows the host ------------------------------------------------

#[test]
fn exec_shows_no_host_process_or_path() {
    let (mut t, vol) = tp!();
    let marker = format!("mydocker-host-only-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos());
    let mpath = Path::new("/tmp").join(&marker);
    fs::write(&mpath, "host").unwrap();
    let id = t.detach(&["-v", &vol, "busybox", "sleep", "60"]);
    // a long exec, and a storm of short ones while the scanner looks
    let mut long = t.cmd();
    long.args(["exec", &id, "sleep", "5"]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut long = long.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let storm: Vec<std::process::Child> = (0..10)
        .map(|_| {
            let mut c = t.cmd();
            c.args(["exec", &id, "sh", "-c", "sleep 0.05"]).stdout(Stdio::null()).stderr(Stdio::null());
            c.spawn().unwrap()
        })
        .collect();
    let scan = xsh(&t, &id, &[], &format!("/probe procs {marker} 60"));
    for mut c in storm {
        let _ = c.wait();
    }
    let _ = long.kill();
    let _ = long.wait();
    let _ = fs::remove_file(&mpath);
    let host_bin = fs::canonicalize(bin()).unwrap();
    let host_bin = host_bin.to_str().unwrap();
    let mut saw_busybox = false;
    for l in scan.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 3, "scan line {l:?} in:\n{scan}");
        let (pid, exe, mark) = (f[0], f[1], f[2]);
        assert_ne!(mark, "ok", "pid {pid}: /proc/{pid}/root is the host's root (the marker shows):\n{scan}");
        let base = exe.rsplit('/').next().unwrap_or("");
        assert!(exe != host_bin && (!base.starts_with("mydocker") || exe.starts_with("/memfd:")), "pid {pid}: exe is the host binary {exe}:\n{scan}");
        assert!(!exe.starts_with(t.root.to_str().unwrap()) && !exe.starts_with("/work/"), "pid {pid}: a host path {exe}:\n{scan}");
        saw_busybox |= exe == "/bin/busybox";
    }
    assert!(saw_busybox, "the scan saw no container process:\n{scan}");
    assert_eq!(xsh(&t, &id, &[], "/probe caps; /probe seccomp"), format!("{}\n2 0", caps_line(DOCKER_CAPS)));
    t.rm_all();
    t.assert_clean();
}

// ---- 9. --init --------------------------------------------------------------------

/// Runs mydocker with a deadline; None if it was still running (killed).
fn md_within(t: &T, args: &[&str], ms: u64) -> Option<Out> {
    let mut c = t.cmd();
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut ch = c.spawn().unwrap();
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        if ch.try_wait().unwrap().is_some() {
            let o = ch.wait_with_output().unwrap();
            return Some(Out { code: o.status.code().unwrap_or(-1), out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned() });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = ch.kill();
    let _ = ch.wait();
    None
}

/// SIGKILLs every process of this test's root (in it, or naming it on its
/// command line), so that a hung CLI cannot hang the cleanup too.
fn kill_everything_of(t: &T) {
    let root = t.root.to_str().unwrap().to_string();
    for p in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else { continue };
        let inside = fs::read_link(p.path().join("root")).map_or(false, |r| r.starts_with(&t.root));
        let cmd = fs::read(p.path().join("cmdline")).unwrap_or_default();
        let names = String::from_utf8_lossy(&cmd).contains(&root);
        if (inside || names) && pid != std::process::id() as i32 {
            // SAFETY: kill of a process of this test.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn init_is_not_the_host_binary() {
    let (mut t, vol) = tp!();
    let before = fs::read(bin()).unwrap();
    let host_bin = fs::canonicalize(bin()).unwrap().to_str().unwrap().to_string();
    let o = md_within(&t, &["run", "-d", "--init", "-v", &vol, "busybox", "sleep", "300"], 5000);
    let Some(o) = o else {
        kill_everything_of(&t);
        panic!("run -d --init did not return within 5 s");
    };
    assert_eq!(o.code, 0, "{}", o.err);
    let id = o.stdout().trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    t.ids.push(id.clone());
    let w = xsh(&t, &id, &[], "/probe exe-write /proc/1/exe");
    let f: Vec<&str> = w.split(' ').collect();
    assert!(f.len() == 2 && f[0] != "ok" && f[1] != "ok", "PID 1's exe opened for writing: {w}");
    let l = xsh(&t, &id, &[], "/probe readlink /proc/1/exe");
    assert_ne!(l, host_bin, "/proc/1/exe names the host binary");
    assert!(!l.starts_with("/work/") && !l.starts_with(t.root.to_str().unwrap()), "/proc/1/exe is a host path: {l}");
    // the same from inside a --rm --init run (PID 2 is the shell)
    let w = sh(&t, &vol, &["--init"], "/probe exe-write /proc/1/exe; /probe readlink /proc/1/exe");
    let l: Vec<&str> = w.lines().collect();
    assert_eq!(l.len(), 2, "{w}");
    assert!(!l[0].split(' ').any(|x| x == "ok"), "--rm --init: {w}");
    assert_ne!(l[1], host_bin, "{w}");
    t.rm_all();
    assert!(fs::read(bin()).unwrap() == before, "the host binary changed");
    t.assert_clean();
}

// ---- 10. logs -------------------------------------------------------------------------

#[test]
fn logs_cannot_be_rewritten_from_inside() {
    let (mut t, vol) = tp!();
    let id = t.detach(&[
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo first; readlink /proc/self/fd/1; /probe open /proc/self/fd/1 w,trunc,write; /probe open /proc/self/fd/2 w,trunc,write; echo done; sleep 30",
    ]);
    assert!(wait_until(3000, || t.md(&["logs", &id]).stdout().contains("done")), "logs: {:?}", t.md(&["logs", &id]).stdout());
    let logs = t.md(&["logs", &id]).stdout();
    let l: Vec<&str> = logs.lines().collect();
    assert_eq!(l.first(), Some(&"first"), "the history was rewritten:\n{logs}");
    assert!(l.get(1).map_or(false, |x| x.starts_with("pipe:[")), "stdout of a -d container is a path, not a pipe:\n{logs}");
    t.rm_all();
    t.assert_clean();
}

// ---- 11. users ------------------------------------------------------------------------

fn users_image(t: &T) {
    image_from(t, "users", |d| {
        fs::write(
            d.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000:alice:/home/alice:/bin/sh\n",
        )
        .unwrap();
        fs::write(d.join("etc/group"), "root:x:0:\nwheel:x:10:alice\naudio:x:29:bob,alice\nalice:x:1000:\nnogroup:x:65534:\n").unwrap();
    });
}

fn set_of(s: &str) -> Vec<u32> {
    let mut v: Vec<u32> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn users_and_groups() {
    let (mut t, vol) = tp!();
    users_image(&t);
    let id = |opts: &[&str], img: &str| sh_img(&t, &vol, opts, img, "id -u; id -g; id -G; echo $HOME; /probe caps");
    // numeric, not in passwd: gid 0
    let o = id(&["-u", "1000"], "busybox");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 5 && l[0] == "1000" && l[1] == "0" && set_of(l[2]) == vec![0], "-u 1000: {o}");
    assert_eq!(l[4], format!("{ZERO} {ZERO} {ZERO} {DOCKER_CAPS} {ZERO}"), "a non-root user has no effective capability: {o}");
    let o = id(&["-u", "1000:1000"], "busybox");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 5 && l[0] == "1000" && l[1] == "1000" && set_of(l[2]) == vec![1000], "-u 1000:1000: {o}");
    // by name, from the image's passwd and group
    let o = id(&["-u", "alice"], "users");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 5 && l[0] == "1000" && l[1] == "1000", "-u alice: {o}");
    assert_eq!(set_of(l[2]), vec![10, 29, 1000], "-u alice: supplementary groups: {o}");
    assert_eq!(l[3], "/home/alice", "-u alice: HOME: {o}");
    let o = id(&["-u", "nobody"], "users");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 5 && l[0] == "65534" && l[1] == "65534" && l[3] == "/nonexistent", "-u nobody: {o}");
    let o = id(&["-u", "alice:audio"], "users");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 5 && l[0] == "1000" && l[1] == "29", "-u alice:audio: {o}");
    // root by default, with no supplementary group from the caller
    let mut c = t.cmd();
    c.args(["run", "--rm", "-v", &vol, "busybox", "sh", "-c", "id -u; id -G"]);
    // SAFETY: setgroups in the forked child before exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(|| {
            let g: [libc::gid_t; 2] = [0, 4242];
            libc::setgroups(2, g.as_ptr());
            Ok(())
        });
    }
    let o = c.output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    let l: Vec<&str> = s.lines().collect();
    assert!(l.len() == 2 && l[0] == "0" && set_of(l[1]) == vec![0], "the caller's groups leak in: {s} {}", String::from_utf8_lossy(&o.stderr));
    // errors
    for (u, img) in [("nosuch", "busybox"), ("alice:nosuchgroup", "users"), ("nosuch", "users")] {
        let o = t.run(&["-u", u, img, "true"]);
        assert_eq!(o.code, 125, "-u {u}: {}", o.err);
        assert_eq!(o.err.lines().count(), 1, "-u {u}: {}", o.err);
        assert!(o.err.starts_with("mydocker: "), "-u {u}: {}", o.err);
        t.assert_clean();
    }
    let o = t.run(&["-u", "nosuch", "busybox", "true"]);
    assert!(o.err.contains("unable to find user nosuch"), "{}", o.err);
    // exec -u
    let cid = t.detach(&["-v", &vol, "users", "sleep", "60"]);
    assert_eq!(xsh(&t, &cid, &["-u", "1000"], "id -u; /probe caps"), format!("1000\n{ZERO} {ZERO} {ZERO} {DOCKER_CAPS} {ZERO}"));
    let o = xsh(&t, &cid, &["-u", "alice"], "id -u; id -g; id -G");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 3 && l[0] == "1000" && l[1] == "1000" && set_of(l[2]) == vec![10, 29, 1000], "exec -u alice: {o}");
    assert_eq!(xsh(&t, &cid, &[], "id -u"), "0", "exec defaults to the container's user");
    t.rm_all();
    t.assert_clean();
}

/// docker looks a numeric user up in passwd too: its group and HOME apply.
#[test]
fn a_numeric_user_found_in_passwd_gets_its_group() {
    let (t, vol) = tp!();
    users_image(&t);
    let o = sh_img(&t, &vol, &["-u", "1000"], "users", "id -u; id -g; id -G; echo $HOME");
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 4 && l[0] == "1000" && l[1] == "1000" && set_of(l[2]) == vec![10, 29, 1000] && l[3] == "/home/alice", "-u 1000 (alice): {o}");
    t.assert_clean();
}

// ---- 12. --read-only and --tmpfs --------------------------------------------------------

#[test]
fn read_only_root_and_tmpfs() {
    let (t, vol) = tp!();
    let ro = vec![
        ck("access / w", Want::Is("EROFS")),
        ck("access /tmp w", Want::Is("EROFS")),
        ck("open /newfile w,creat", Want::Is("EROFS")),
        ck("access /dev/shm w", Want::Is("ok")),
        ck("open /dev/null w", Want::Is("ok")),
    ];
    assert_battery("--read-only", battery(&ro, |s| sh(&t, &vol, &["--read-only"], s)));
    let rt = vec![ck("access / w", Want::Is("EROFS")), ck("access /tmp w", Want::Is("ok")), ck("open /tmp/f w,creat", Want::Is("ok"))];
    assert_battery("--read-only --tmpfs /tmp", battery(&rt, |s| sh(&t, &vol, &["--read-only", "--tmpfs", "/tmp"], s)));
    // the default root is writable (so the checks above can fail)
    assert_eq!(dflt(&t, &vol, "/probe access / w"), "ok");
    let o = sh(&t, &vol, &["--tmpfs", "/run:size=1m,mode=1777"], "grep ' /run ' /proc/mounts; /probe access /run w; stat -c %a /run");
    let l: Vec<&str> = o.lines().collect();
    assert_eq!(l.len(), 3, "{o}");
    let opts = l[0].split(' ').nth(3).unwrap_or("");
    assert!(l[0].starts_with("tmpfs /run tmpfs ") && opts.split(',').any(|x| x == "size=1024k"), "--tmpfs /run:size=1m,mode=1777: {o}");
    assert!(opts.split(',').any(|x| x == "nosuid") && opts.split(',').any(|x| x == "nodev"), "a --tmpfs is nosuid,nodev like docker's: {o}");
    assert_eq!(&l[1..], ["ok", "1777"], "{o}");
    assert_eq!(sh(&t, &vol, &["--tmpfs", "/run:mode=700"], "stat -c %a /run"), "700");
    let o = t.run(&["--tmpfs", "relative", "busybox", "true"]);
    assert_eq!(o.code, 125, "{}", o.err);
    t.assert_clean();
}

// ---- 13. volumes ---------------------------------------------------------------------------

#[test]
fn volumes_keep_their_mode() {
    let (t, vol) = tp!();
    let host = t.root.join("vol");
    fs::create_dir_all(&host).unwrap();
    let rw = format!("{}:/data", host.display());
    let ro = format!("{}:/data:ro", host.display());
    assert_eq!(sh(&t, &vol, &["-v", &rw], "/probe access /data w; /probe open /data/f w,creat,write"), "ok\nok");
    assert_eq!(fs::read_to_string(host.join("f")).unwrap(), "evil\n");
    assert_eq!(sh(&t, &vol, &["-v", &ro], "/probe access /data w; /probe open /data/g w,creat; /probe read /data/f"), "EROFS\nEROFS\n5");
    assert!(!host.join("g").exists());
    // the probe itself was mounted :ro
    assert_eq!(dflt(&t, &vol, "/probe access /probe w"), "EROFS");
    // also under --read-only
    assert_eq!(sh(&t, &vol, &["--read-only", "-v", &rw], "/probe access /data w; /probe access / w"), "ok\nEROFS");
    t.assert_clean();
}

// ---- the shocker attack on a volume's filesystem -----------------------------------------

#[test]
fn shocker_cannot_open_by_handle() {
    let (t, vol) = tp!();
    let host = t.root.join("vol");
    fs::create_dir_all(&host).unwrap();
    let v = format!("{}:/vol", host.display());
    let o = sh(&t, &vol, &["-v", &v], "/probe open_by_handle /vol");
    assert!(no_handle_opens(&o), "default: a handle was opened: {o}");
    // --privileged: the volume's own handle opens (the probe works)
    let o = sh(&t, &vol, &["--privileged", "-v", &v], "/probe open_by_handle /vol");
    let w: Vec<&str> = o.split(' ').collect();
    assert!(w.len() == 3 && w[0] == "ok" && w[1] == "ok", "--privileged: {o}");
    t.assert_clean();
}

// ---- the kernel keyring of the host's root -------------------------------------------------

fn keyctl(op: i64, a: i64) -> i64 {
    // SAFETY: keyctl with integer arguments.
    unsafe { libc::syscall(libc::SYS_keyctl, op, a, 0, 0, 0) }
}

/// Containers share the host's user namespace, so uid 0's user keyring is
/// the host root's: a key the host keeps there must stay out of reach.
#[test]
fn host_keys_stay_out_of_reach() {
    let (t, vol) = tp!();
    let desc = format!("mydocker-confine-{}", std::process::id());
    let (ty, d, secret) = (std::ffi::CString::new("user").unwrap(), std::ffi::CString::new(desc.clone()).unwrap(), b"HOST-SECRET");
    // SAFETY: add_key with live buffers; KEY_SPEC_USER_KEYRING = -4.
    let id = unsafe { libc::syscall(libc::SYS_add_key, ty.as_ptr(), d.as_ptr(), secret.as_ptr(), secret.len(), -4i64) };
    assert!(id > 0, "add_key on the host: {}", std::io::Error::last_os_error());
    let got = dflt(&t, &vol, &format!("/probe key-search {desc}"));
    let via_exec = {
        let mut t2 = t;
        let cid = t2.detach(&["-v", &vol, "busybox", "sleep", "60"]);
        let o = xsh(&t2, &cid, &[], &format!("/probe key-search {desc}"));
        t2.rm_all();
        t2.assert_clean();
        o
    };
    // KEYCTL_INVALIDATE (21)
    keyctl(21, id);
    assert_ne!(got, "HOST-SECRET", "a default container read the host root's key");
    assert_ne!(via_exec, "HOST-SECRET", "exec read the host root's key");
}

// ---- setuid binaries and no-new-privileges ------------------------------------------------------

#[test]
fn setuid_binaries_obey_no_new_privileges() {
    let Some(p) = probe_path() else { return };
    let (t, vol) = tp!();
    image_from(&t, "suid", |d| {
        use std::os::unix::fs::PermissionsExt;
        fs::copy(&p, d.join("sprobe")).unwrap();
        fs::set_permissions(d.join("sprobe"), fs::Permissions::from_mode(0o4755)).unwrap();
    });
    let run = |opts: &[&str]| sh_img(&t, &vol, opts, "suid", "/sprobe id; /sprobe caps");
    let o = run(&["-u", "1000"]);
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 2 && l[0].starts_with("1000 0"), "-u 1000, setuid root: euid 0 (docker does): {o}");
    assert_eq!(l[1], caps_line(DOCKER_CAPS), "setuid root gets the bounding set, no more: {o}");
    let o = run(&["-u", "1000", "--security-opt", "no-new-privileges"]);
    let l: Vec<&str> = o.lines().collect();
    assert!(l.len() == 2 && l[0].starts_with("1000 1000"), "no-new-privileges: the setuid bit is ignored: {o}");
    assert_eq!(l[1], format!("{ZERO} {ZERO} {ZERO} {DOCKER_CAPS} {ZERO}"), "no-new-privileges: no capability: {o}");
    t.assert_clean();
}

// ---- CVE-2019-5736 through exec -------------------------------------------------------------------

/// While `mydocker exec` starts a process in a container, a container
/// process hunts for a process whose exe is the host's mydocker, holds an
/// O_PATH descriptor to it and reopens it for writing. Neither a default
/// container nor one that may ptrace (--cap-add SYS_PTRACE, common for
/// debuggers; runc's exec shows it only a sealed memfd copy) may ever get
/// hold of the host binary: ETXTBSY alone must not be what protects it.
#[test]
fn exec_never_hands_out_the_host_binary() {
    use std::os::unix::fs::MetadataExt;
    let (mut t, vol) = tp!();
    let before = fs::read(bin()).unwrap();
    let m = fs::metadata(bin()).unwrap();
    for opts in [&[][..], &["--cap-add", "SYS_PTRACE"][..], &["--cap-add", "ALL"][..], &["--privileged"][..]] {
        let mut a: Vec<&str> = opts.to_vec();
        a.extend_from_slice(&["-v", &vol, "busybox", "sleep", "60"]);
        let id = t.detach(&a);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let storm = {
            let stop = stop.clone();
            let (b, root, id) = (bin(), t.root.clone(), id.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 200 {
                    let _ = Command::new(&b)
                        .arg("--root")
                        .arg(&root)
                        .args(["exec", &id, "true"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                    n += 1;
                }
                n
            })
        };
        let got = xsh(&t, &id, &[], &format!("/probe hunt {} {} 3000", m.dev(), m.ino()));
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let n = storm.join().unwrap();
        // (a traced exec stops at its execve until the hunter is gone: few
        // execs then, and the verdict below says why)
        assert!(n > 5 || got != "none", "only {n} execs ran during the hunt");
        assert_eq!(got, "none", "{opts:?}: a container process got hold of the host binary through an exec'ing process (\"seen PID WRITE TRACE CAPEFF\": WRITE is its exe reopened for writing, TRACE its PTRACE_SEIZE, CAPEFF the most capabilities seen on it)");
        t.rm_all();
    }
    assert!(fs::read(bin()).unwrap() == before, "the host binary changed");
    t.assert_clean();
}

// ---- hostile images: volumes, --tmpfs, --device and -u lookups -------------------------------------

/// An image plants absolute symlinks where the caller's mounts and the
/// user lookup go; all of it must resolve inside the container's root.
#[test]
fn hostile_images_cannot_redirect_volumes_tmpfs_or_user_lookup() {
    let (t, vol) = tp!();
    let pw = std::env::temp_dir().join(format!("mydocker-hostpw-{}", std::process::id()));
    fs::write(&pw, "hostonly:x:4242:4242:host:/hostonly:/bin/sh\n").unwrap();
    let target = t.root.join("target");
    fs::create_dir_all(&target).unwrap();
    let pw_s = pw.to_str().unwrap().to_string();
    let target_s = target.to_str().unwrap().to_string();
    image_from(&t, "links", |d| {
        let ln = |to: &str, at: &str| {
            let p = d.join(at);
            let _ = fs::remove_dir_all(&p);
            let _ = fs::remove_file(&p);
            std::os::unix::fs::symlink(to, p).unwrap();
        };
        ln(&pw_s, "etc/passwd");
        ln(&target_s, "data");
        ln(&target_s, "run");
        fs::create_dir_all(d.join("dev2")).unwrap();
        ln(&target_s, "dev2/mynull");
    });
    let mounts_before = mountpoints();
    let host = t.root.join("vol");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("inside"), "x").unwrap();
    let v = format!("{}:/data", host.display());
    // -u: the image's /etc/passwd is a dangling link inside the container
    let o = t.run(&["-u", "hostonly", "links", "id", "-u"]);
    let _ = fs::remove_file(&pw);
    assert!(o.code == 125 && o.err.contains("unable to find user hostonly"), "-u hostonly resolved through the host: {} {}", o.stdout(), o.err);
    // a volume, a tmpfs and a device node on planted links: each either
    // lands inside the container (as runc's resolution in the root does) or
    // is refused with one line; never on the host
    for (opts, script, dest) in [
        (vec!["-v", v.as_str()], "/probe ls /data", "/data"),
        (vec!["--tmpfs", "/run"], "/probe access /run w", "/run"),
        (vec!["--device", "/dev/null:/dev2/mynull"], "/probe open /dev2/mynull w", "/dev2/mynull"),
    ] {
        let mut a = vec!["-v", vol.as_str()];
        a.extend_from_slice(&opts);
        a.extend_from_slice(&["links", "sh", "-c", script]);
        let o = t.run(&a);
        if o.code == 125 {
            assert_eq!(o.err.lines().count(), 1, "{opts:?}: {}", o.err);
            assert!(o.err.starts_with("mydocker: ") && o.err.contains(dest), "{opts:?}: {}", o.err);
        } else {
            let want = if opts[0] == "-v" { "inside" } else { "ok" };
            assert_eq!((o.code, o.stdout().trim_end()), (0, want), "{opts:?}: {}", o.err);
        }
        t.assert_clean();
    }
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0, "something was made in the host directory the image pointed at");
    let root_s = t.root.to_str().unwrap().to_string();
    let new: Vec<String> = mountpoints().into_iter().filter(|m| !mounts_before.contains(m) && *m != format!("{root_s}/run")).collect();
    assert_eq!(new, Vec::<String>::new(), "mounts appeared on the host");
    t.assert_clean();
}

// ---- descriptors ---------------------------------------------------------------------------------------

/// No process in a container holds a descriptor of a host directory or
/// file (an openat(fd, "..") away from the host's root), whether it was
/// started by run, run -d, --init or exec.
#[test]
fn no_host_descriptor_reaches_the_container() {
    let (mut t, vol) = tp!();
    assert_eq!(sh(&t, &vol, &[], "/probe fds"), "none", "run --rm");
    assert_eq!(sh(&t, &vol, &["--init"], "/probe fds"), "none", "run --rm --init");
    assert_eq!(sh(&t, &vol, &["-i"], "/probe fds"), "none", "run --rm -i");
    for opts in [&[][..], &["--init"][..], &["--rm"][..]] {
        let mut a: Vec<&str> = opts.to_vec();
        a.extend_from_slice(&["-v", &vol, "busybox", "sleep", "60"]);
        let id = t.detach(&a);
        if opts.is_empty() {
            // (an exec -d process makes rm -f take 1-2 s: once is enough)
            assert_eq!(t.md(&["exec", "-d", &id, "sleep", "30"]).code, 0);
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(xsh(&t, &id, &[], "/probe fds"), "none", "run -d {opts:?}, exec, exec -d");
        t.rm_all();
        assert!(wait_until(5000, || t.containers().is_empty()));
    }
    t.assert_clean();
}

// ---- namespaces, ptys, shared memory ------------------------------------------------------------------

/// Every namespace docker makes private is private (user and time are
/// shared, as with docker), through run and exec alike.
#[test]
fn namespaces_are_the_containers_own() {
    let (mut t, vol) = tp!();
    let kinds = ["ipc", "mnt", "net", "pid", "uts", "cgroup"];
    let script: String = kinds.iter().map(|k| format!("/probe readlink /proc/self/ns/{k}; ")).collect();
    let host: Vec<String> = kinds.iter().map(|k| fs::read_link(format!("/proc/self/ns/{k}")).unwrap().to_string_lossy().into_owned()).collect();
    let check = |what: &str, got: String| {
        let l: Vec<&str> = got.lines().collect();
        assert_eq!(l.len(), kinds.len(), "{what}: {got}");
        for ((k, h), g) in kinds.iter().zip(&host).zip(&l) {
            assert!(g.starts_with(&format!("{k}:[")), "{what}: {k}: {g}");
            assert_ne!(g, h, "{what}: the {k} namespace is the host's");
        }
    };
    check("run", sh(&t, &vol, &[], &script));
    let id = t.detach(&["-v", &vol, "busybox", "sleep", "60"]);
    check("exec", xsh(&t, &id, &[], &script));
    t.rm_all();
    t.assert_clean();
}

/// The host's terminals and shared memory are out of reach: /dev/pts is the
/// container's own devpts instance, /dev/shm its own.
#[test]
fn host_ptys_and_shm_are_out_of_reach() {
    let (t, vol) = tp!();
    // a pty on the host, so that one exists to find
    // SAFETY: posix_openpt/grantpt/unlockpt/ptsname on our own descriptor.
    let (m, n) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0);
        libc::grantpt(m);
        libc::unlockpt(m);
        let p = std::ffi::CStr::from_ptr(libc::ptsname(m)).to_string_lossy().into_owned();
        (m, p.rsplit('/').next().unwrap().to_string())
    };
    let marker = format!("mydocker-shm-{}", std::process::id());
    fs::write(Path::new("/dev/shm").join(&marker), "host").unwrap();
    let o = sh(&t, &vol, &[], &format!("/probe ls /dev/pts; /probe open /dev/pts/{n} rw; /probe access /dev/shm/{marker} f; /probe access /dev/shm w"));
    let _ = fs::remove_file(Path::new("/dev/shm").join(&marker));
    // SAFETY: closes our own descriptor.
    unsafe { libc::close(m) };
    let l: Vec<&str> = o.lines().collect();
    assert_eq!(l.len(), 4, "{o}");
    assert!(!l[0].split(' ').any(|x| x == n), "the host's pty {n} is listed in the container's /dev/pts: {o}");
    assert_ne!(l[1], "ok", "the host's pty {n} opened from the container: {o}");
    assert_eq!(l[2], "ENOENT", "the host's /dev/shm is the container's: {o}");
    assert_eq!(l[3], "ok", "/dev/shm is writable: {o}");
    t.assert_clean();
}

/// The container controls its /etc/passwd and /etc/group: an endless file
/// or a FIFO there must not hang or bloat the `exec -u` lookup (which the
/// host side may run) nor `run -u`.
#[test]
fn user_lookup_survives_hostile_files() {
    let (mut t, _vol) = tp!();
    let id = t.detach(&["busybox", "sleep", "60"]);
    for setup in [
        "rm -f /etc/passwd /etc/group; ln -s /dev/zero /etc/passwd; ln -s /dev/urandom /etc/group",
        "rm -f /etc/passwd /etc/group; mkfifo /etc/passwd /etc/group",
    ] {
        assert_eq!(xsh(&t, &id, &[], &format!("{setup}; echo ready")), "ready");
        for u in ["nobody", "1000:nogroup"] {
            let o = md_within(&t, &["exec", "-u", u, &id, "true"], 5000);
            let Some(o) = o else {
                kill_everything_of(&t);
                panic!("exec -u {u} hung on a hostile passwd/group ({setup})");
            };
            assert_eq!(o.code, 126, "exec -u {u} ({setup}): {}", o.err);
            assert_eq!(o.err.lines().count(), 1, "{}", o.err);
        }
    }
    t.rm_all();
    t.assert_clean();
}

/// The same hunt, carried through: a container allowed to ptrace seizes
/// the process `mydocker exec` starts while it still runs the host binary
/// with the host's capabilities and no filter, and makes it mount a tmpfs
/// (which the container itself may not). It must never get to.
#[test]
fn exec_cannot_be_hijacked_before_it_drops_privileges() {
    use std::os::unix::fs::MetadataExt;
    let (mut t, vol) = tp!();
    let m = fs::metadata(bin()).unwrap();
    let id = t.detach(&["--cap-add", "SYS_PTRACE", "-v", &vol, "busybox", "sleep", "60"]);
    let storm = {
        let (b, root, id) = (bin(), t.root.clone(), id.clone());
        std::thread::spawn(move || {
            for _ in 0..60 {
                let mut c = Command::new(&b);
                c.arg("--root").arg(&root).args(["exec", &id, "true"]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
                let mut ch = c.spawn().unwrap();
                // a hijacked exec may be left stopped: never wait forever
                let end = Instant::now() + Duration::from_secs(3);
                while ch.try_wait().unwrap().is_none() && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let _ = ch.kill();
                let _ = ch.wait();
            }
        })
    };
    let got = xsh(&t, &id, &[], &format!("/probe hijack {} {} 3000 /hij", m.dev(), m.ino()));
    storm.join().unwrap();
    let mounted = xsh(&t, &id, &[], "grep -c ' /hij ' /proc/mounts; true");
    assert_eq!(xsh(&t, &id, &[], "/probe mount-tmpfs /hij2"), "EPERM", "the container itself may not mount");
    assert!(
        got != "hijacked ok" && mounted == "0",
        "the container made the exec'ing process mount a tmpfs with the host's capabilities: {got}, /hij mounted: {mounted}"
    );
    t.rm_all();
    t.assert_clean();
}

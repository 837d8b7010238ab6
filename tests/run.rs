//! `mydocker run` as root against the busybox image: every bullet of the
//! core issue, each test ending with a leak check.

#[macro_use]
mod common;
use common::*;
use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Stdio;

#[test]
fn exit_codes_follow_docker() {
    let t = t!();
    assert_eq!(t.run(&["busybox", "true"]).code, 0);
    assert_eq!(t.run(&["busybox", "sh", "-c", "exit 3"]).code, 3);
    // A signal death is 128+N. (PID 1 ignores its own signals, as under
    // docker, so the dying program runs under --init.)
    assert_eq!(t.run(&["--init", "busybox", "sh", "-c", "kill -TERM $$"]).code, 143);
    assert_eq!(t.run(&["--init", "busybox", "sh", "-c", "kill -KILL $$"]).code, 137);
    let o = t.run(&["busybox", "no-such-program"]);
    assert_eq!(o.code, 127, "{}", o.err);
    assert_eq!(o.err, "mydocker: exec \"no-such-program\": executable file not found in $PATH\n");
    let o = t.run(&["busybox", "/no/such/path"]);
    assert_eq!(o.code, 127, "{}", o.err);
    let o = t.run(&["busybox", "/etc/passwd"]);
    assert_eq!(o.code, 126, "{}", o.err);
    assert!(o.err.contains("permission denied"), "{}", o.err);
    let o = t.run(&["busybox", "/etc"]);
    assert_eq!(o.code, 126, "{}", o.err);
    // 125: mydocker's own errors, one line, nothing left behind
    let o = t.run(&["nosuchimage", "true"]);
    assert_eq!(o.code, 125);
    assert_eq!(o.err.lines().count(), 1, "{}", o.err);
    assert!(o.err.starts_with("mydocker: image \"nosuchimage\": no such image"), "{}", o.err);
    let o = t.md(&["run", "--bogus", "busybox", "true"]);
    assert_eq!(o.code, 125);
    assert!(o.err.starts_with("mydocker: --bogus: unknown flag\nUsage: mydocker run"), "{}", o.err);
    t.assert_clean();
}

#[test]
fn lookup_uses_the_containers_path() {
    let t = t!();
    // `ls` lives in /bin inside the image; with a PATH that lacks it, it is not found.
    assert_eq!(t.run(&["-e", "PATH=/nowhere", "busybox", "ls"]).code, 127);
    assert_eq!(t.run(&["-e", "PATH=/nowhere:/bin", "busybox", "ls", "/"]).code, 0);
    t.assert_clean();
}

#[test]
fn arguments_arrive_as_exact_bytes() {
    let t = t!();
    let weird: Vec<&[u8]> = vec![b"a b", b"'q' \"dq\"", b"line1\nline2", b"", b"\xff\xfe\x80", b"$HOME `x` *", b"--rm", b"-d"];
    let mut c = t.cmd();
    c.args(["run", "--rm", "busybox", "sh", "-c", "for a in \"$@\"; do printf '[%s]' \"$a\"; done", "sh"]);
    for w in &weird {
        c.arg(os(w));
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut want = Vec::new();
    for w in &weird {
        want.push(b'[');
        want.extend_from_slice(w);
        want.push(b']');
    }
    assert_eq!(o.stdout, want);
    t.assert_clean();
}

#[test]
fn far_more_than_a_pipe_buffer() {
    let t = t!();
    // 3 x 100 KiB of arguments and a 100 KiB variable: the spec is ~400 KiB,
    // six times the 64 KiB pipe buffer.
    let big = "x".repeat(100 * 1024);
    let env = format!("BIG={}", "y".repeat(100 * 1024));
    let o = t.run(&["-e", env.as_str(), "busybox", "sh", "-c", "echo $# ${#1} ${#BIG}", "sh", &big, &big, &big]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.stdout(), "3 102400 102400\n");
    t.assert_clean();
}

#[test]
fn only_stdio_reaches_the_container() {
    let t = t!();
    // A descriptor open in the caller without close-on-exec (fd 7).
    let f = fs::File::open("/etc/hostname").or_else(|_| fs::File::open("/etc/passwd")).unwrap();
    use std::os::fd::AsRawFd;
    let raw = f.as_raw_fd();
    let mut c = t.cmd();
    c.args(["run", "--rm", "busybox", "sh", "-c", "ls /proc/self/fd/ | sort | tr '\\n' ' '; test -e /proc/1/fd/7 && echo LEAK; true"]);
    // SAFETY: dup2 is async-signal-safe; fd 7 is then inherited by mydocker.
    unsafe {
        c.pre_exec(move || {
            libc::dup2(raw, 7);
            Ok(())
        });
    }
    let o = c.output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!s.contains("LEAK"), "{s}");
    // ls's own directory descriptor is 3; nothing else.
    assert_eq!(s.trim(), "0 1 2 3", "{s}");
    t.assert_clean();
}

#[test]
fn the_host_is_out_of_sight() {
    let t = t!();
    let root = t.root.to_str().unwrap().to_string();
    let o = t.run(&["busybox", "sh", "-c", &format!("test -e '{root}' && echo SEEN; readlink /proc/1/root; pwd; cat /proc/1/cgroup >/dev/null; ls /")]);
    assert_eq!(o.code, 0, "{}", o.err);
    let s = o.stdout();
    assert!(!s.contains("SEEN"));
    assert!(s.starts_with("/\n/\n"), "{s}");
    t.assert_clean();
}

#[test]
fn stdin_only_with_i() {
    let t = t!();
    let mut c = t.cmd();
    c.args(["run", "--rm", "busybox", "cat"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut ch = c.spawn().unwrap();
    ch.stdin.take().unwrap().write_all(b"secret").unwrap();
    let o = ch.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(o.stdout, b"", "without -i the container's stdin is empty");

    let mut c = t.cmd();
    c.args(["run", "--rm", "-i", "busybox", "cat"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut ch = c.spawn().unwrap();
    ch.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = ch.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(o.stdout, b"hello\n");
    t.assert_clean();
}

#[test]
fn tty_when_stdin_is_a_terminal() {
    let t = t!();
    // Not a terminal: -t is ignored, output is plain.
    let o = t.run(&["-t", "busybox", "sh", "-c", "test -t 0 && echo TTY || echo NOTTY"]);
    assert_eq!(o.stdout(), "NOTTY\n");
    // Under `script`, stdin is a pty: the container gets its own.
    let cmd = format!("{} --root {} run --rm -it busybox sh -c 'test -t 0 && test -t 1 && echo TTY; echo $TERM'", bin().display(), t.root.display());
    let o = std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]).stdin(Stdio::null()).output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("TTY") && s.contains("xterm"), "{s}");
    t.assert_clean();
}

#[test]
fn filesystems_hostname_and_devices() {
    let t = t!();
    let script = "hostname; for d in null zero full random urandom tty pts/ptmx ptmx shm fd stdin stdout stderr; do test -e /dev/$d || echo MISSING $d; done; test -k /dev/shm || echo SHM-NOT-STICKY; \
                  echo x > /dev/null && head -c 4 /dev/zero | wc -c; touch /sys/x 2>/dev/null && echo SYSRW; grep -q ' /sys sysfs ro,' /proc/self/mounts || grep ' /sys ' /proc/self/mounts; test -e /proc/self/status && echo PROC";
    let o = t.md(&["run", "--rm", "busybox", "sh", "-c", script]);
    assert_eq!(o.code, 0, "{}", o.err);
    let s = o.stdout();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0].len(), 12, "hostname defaults to the short id: {s}");
    assert_eq!(&lines[1..], ["4", "PROC"], "{s}");
    let o = t.run(&["-h", "box1", "busybox", "hostname"]);
    assert_eq!(o.stdout(), "box1\n");
    t.assert_clean();
}

#[test]
fn environment_is_exact_and_isolated() {
    let t = t!();
    let mut c = t.cmd();
    c.env("LEAKME", "1").env("FROMHOST", "hv");
    c.args(["run", "--rm", "-e", "A=1", "-e", "FROMHOST", "-e", "UNSET", "-e", "EMPTY=", "-e", "A=2", "busybox", "env"]);
    let o = c.output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<&str> = s.lines().collect();
    for want in ["A=2", "EMPTY=", "FROMHOST=hv", "HOME=/root", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] {
        assert!(got.contains(&want), "missing {want} in {s}");
    }
    assert!(got.iter().any(|l| l.starts_with("HOSTNAME=") && l.len() == 9 + 12), "{s}");
    assert!(!s.contains("LEAKME") && !s.contains("UNSET"), "{s}");
    assert!(s.contains("A=2\n") && !s.contains("A=1\n"), "a later -e wins: {s}");
    t.assert_clean();
}

#[test]
fn workdir_is_created_and_used() {
    let t = t!();
    let o = t.run(&["-w", "/work/dir", "busybox", "pwd"]);
    assert_eq!(o.stdout(), "/work/dir\n");
    t.assert_clean();
}

#[test]
fn volumes_rw_ro_and_bad_specs() {
    let t = t!();
    let host = t.root.join("vol");
    let ro = t.root.join("ro");
    fs::create_dir_all(&ro).unwrap();
    fs::write(ro.join("f"), "r").unwrap();
    let o = t.run(&[
        "-v",
        &format!("{}:/data", host.display()),
        "-v",
        &format!("{}:/ro:ro", ro.display()),
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/out; cat /ro/f; echo x > /ro/g && echo WROTE",
    ]);
    assert_eq!(o.code, 1, "{} {}", o.stdout(), o.err);
    assert_eq!(o.stdout(), "r");
    assert_eq!(fs::read_to_string(host.join("out")).unwrap(), "hi\n", "host dir created and written");
    assert!(!ro.join("g").exists());
    for bad in ["relative:/x", "/a", "/a:/b:rx", "/a:relative", "/a:/b/../c"] {
        let o = t.run(&["-v", bad, "busybox", "true"]);
        assert_eq!(o.code, 125, "{bad}");
        assert!(o.err.starts_with("mydocker: invalid volume"), "{}", o.err);
    }
    // The volume outlives the container; the write layer does not hold it.
    assert!(host.join("out").exists());
    t.assert_clean();
}

#[test]
fn image_stays_unchanged_and_layers_are_private() {
    let t = t!();
    for overlay in ["1", "0"] {
        let mut c = t.cmd();
        c.env("MYDOCKER_OVERLAY", overlay);
        let o = c.args(["run", "--rm", "busybox", "sh", "-c", "echo new > /bin/added; rm /etc/passwd; echo ok"]).output().unwrap();
        assert!(o.status.success(), "overlay={overlay}: {}", String::from_utf8_lossy(&o.stderr));
        // the image's one layer
        let img = fs::read_dir(t.root.join("layers"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .unwrap()
            .join("root");
        assert!(img.join("etc/passwd").exists(), "overlay={overlay}");
        assert!(!img.join("bin/added").exists());
        let o = t.run(&["busybox", "sh", "-c", "test -e /bin/added && echo SEEN; cat /etc/passwd"]);
        assert_eq!(o.stdout(), "root:x:0:0:root:/root:/bin/sh\n");
    }
    t.assert_clean();
}

#[test]
fn init_reaps_and_forwards() {
    let t = t!();
    // PID 1 is mydocker's init; the orphan is reaped (no zombie), status kept.
    let o = t.run(&["--init", "busybox", "sh", "-c", "sh -c 'sleep 0.2 &'; sleep 0.5; ps -o stat,comm | grep -c '^Z'; cat /proc/1/comm; exit 4"]);
    assert_eq!(o.code, 4, "{}", o.err);
    let s = o.stdout();
    assert_eq!(s.lines().next(), Some("0"), "{s}");
    // SIGTERM to the CLI reaches a program that never installed a handler.
    let mut c = t.cmd();
    c.args(["run", "--rm", "--init", "busybox", "sleep", "30"]);
    let ch = c.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(ch.id() as i32, libc::SIGTERM) };
    let st = ch.wait_with_output().unwrap();
    assert_eq!(st.status.code(), Some(143));
    t.assert_clean();
}

/// The program starts with no signal blocked or ignored, even when the
/// caller ignores some (mydocker itself ignores SIGPIPE), with and
/// without --init.
#[test]
fn signals_start_at_their_defaults() {
    let t = t!();
    for init in [false, true] {
        let mut c = t.cmd();
        c.args(["run", "--rm"]);
        if init {
            c.arg("--init");
        }
        c.args(["busybox", "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]);
        // SAFETY: signal() in the forked child before exec: async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
        let o = c.output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", "init={init}: {}", String::from_utf8_lossy(&o.stderr));
    }
    t.assert_clean();
}

#[test]
fn sigint_and_sigterm_are_forwarded() {
    let t = t!();
    for (sig, want) in [(libc::SIGTERM, 7), (libc::SIGINT, 8)] {
        let mut c = t.cmd();
        c.args(["run", "--rm", "busybox", "sh", "-c", "trap 'exit 7' TERM; trap 'exit 8' INT; echo ready; while true; do sleep 0.05; done"]);
        c.stdout(Stdio::piped());
        let mut ch = c.spawn().unwrap();
        let mut buf = [0u8; 6];
        use std::io::Read;
        ch.stdout.as_mut().unwrap().read_exact(&mut buf).unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(ch.id() as i32, sig) };
        assert_eq!(ch.wait().unwrap().code(), Some(want));
    }
    t.assert_clean();
}

#[test]
fn memory_limit_kills_a_hog_with_137() {
    let t = t!();
    let o = t.run(&["-m", "64m", "busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]);
    assert_eq!(o.code, 137, "{}", o.err);
    // The same program fits without the limit.
    assert_eq!(t.run(&["busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]).code, 0);
    // The program is in its memory cgroup from its first instruction: the
    // exec'ed cat itself (PID 1, no shell before it) reads its cgroups.
    // Its cgroup namespace makes that cgroup its root ("/"), and the
    // cgroupfs it sees there carries the 64 MiB limit (v1 or v2 name).
    let o = t.run(&["-m", "64m", "busybox", "cat", "/proc/self/cgroup", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"]);
    assert!(in_limited_root(&o.stdout(), "67108864"), "not in its memory cgroup: {}", o.stdout());
    t.assert_clean();
}

/// The usual cgroup layouts are recognised without mountinfo; anything
/// else must still work through it. In a private mount namespace the
/// memory hierarchy (v1) or the whole cgroup2 tree (v2) is moved to a path
/// of its own, and -m must still be enforced there.
#[test]
fn a_cgroup_hierarchy_elsewhere_is_found() {
    let t = t!();
    let alt = t.root.join("cg-elsewhere");
    let script = format!(
        "mkdir -p {alt} && if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then \
           umount /sys/fs/cgroup/memory && mount -t cgroup -o memory cgroup {alt}; \
         else mount --move /sys/fs/cgroup {alt}; fi && \
         {bin} --root {root} run --rm -m 32m busybox dd if=/dev/zero of=/dev/null bs=100M count=1; echo rc=$?; \
         {bin} --root {root} run --rm -m 32m busybox cat /proc/self/cgroup /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max",
        alt = alt.display(),
        bin = common::bin().display(),
        root = t.root.display()
    );
    let o = std::process::Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("rc=137"), "{out} {}", String::from_utf8_lossy(&o.stderr));
    assert!(in_limited_root(&out, "33554432"), "{out}");
    t.assert_clean();
}

/// `cat /proc/self/cgroup` plus the container's memory limit file: the
/// memory cgroup (v1 line, or the v2 one) is the namespace's root, and
/// that root carries `limit`.
pub fn in_limited_root(out: &str, limit: &str) -> bool {
    let mem = out.lines().find(|l| l.contains(":memory:")).or_else(|| out.lines().find(|l| l.starts_with("0::")));
    mem.is_some_and(|l| l.ends_with(":/")) && out.lines().any(|l| l.trim() == limit)
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let t = t!();
    // busybox sh gives up at the first failed fork, so the fork loop runs
    // in an inner shell; PID 1 then counts what runs with a builtin glob.
    let script = "sh -c 'i=0; while [ $i -lt 30 ]; do sleep 3 & i=$((i+1)); done' 2>/dev/null; set -- /proc/[0-9]*; echo $#";
    let o = t.run(&["--pids-limit", "8", "busybox", "sh", "-c", script]);
    let n: u32 = o.stdout().trim().parse().unwrap_or(0);
    assert!((2..=8).contains(&n), "{n} processes under --pids-limit 8 ({})", o.err);
    let o = t.run(&["busybox", "sh", "-c", script]);
    assert_eq!(o.stdout().trim(), "31", "without the limit all 30 run");
    t.assert_clean();
}

#[test]
fn cpuset_shows_in_proc_status() {
    let t = t!();
    let o = t.run(&["--cpuset-cpus", "0", "busybox", "grep", "Cpus_allowed_list", "/proc/self/status"]);
    assert_eq!(o.stdout().split_whitespace().last(), Some("0"), "{}", o.err);
    let o = t.run(&["--cpuset-cpus", "4095", "busybox", "true"]);
    assert_eq!(o.code, 125);
    assert!(o.err.starts_with("mydocker: --cpuset-cpus 4095: the kernel refused cpuset.cpus"), "{}", o.err);
    t.assert_clean();
}

/// mydocker moves the starting container to another CPU while it makes the
/// network namespace; the program must still get the caller's affinity.
#[test]
fn the_program_gets_the_callers_cpu_affinity() {
    let t = t!();
    let mine = std::fs::read_to_string("/proc/self/status").unwrap();
    let mine = mine.lines().find(|l| l.starts_with("Cpus_allowed_list")).unwrap().split_whitespace().last().unwrap().to_string();
    for _ in 0..5 {
        let o = t.run(&["busybox", "grep", "Cpus_allowed_list", "/proc/self/status"]);
        assert_eq!(o.stdout().split_whitespace().last(), Some(mine.as_str()), "{}", o.err);
    }
    // A caller pinned to one CPU: nothing to move to, and the pin stays.
    let mut c = std::process::Command::new("taskset");
    c.args(["-c", "0"]).arg(common::bin()).arg("--root").arg(&t.root).args(["run", "--rm", "busybox", "grep", "Cpus_allowed_list", "/proc/self/status"]);
    let o = c.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).split_whitespace().last(), Some("0"), "{}", String::from_utf8_lossy(&o.stderr));
    t.assert_clean();
}

#[test]
fn cpu_quota_and_shares_are_written() {
    let mut t = t!();
    let id = t.detach(&["--cpus", "0.5", "-c", "512", "busybox", "sleep", "30"]);
    let d = cgroup_dir(&id, "cpu").expect("cpu cgroup");
    let read = |f: &str| fs::read_to_string(d.join(f)).unwrap_or_default().trim().to_string();
    if d.join("cpu.max").exists() {
        assert_eq!(read("cpu.max"), "50000 100000");
        assert_eq!(read("cpu.weight"), "20");
    } else {
        assert_eq!(read("cpu.cfs_quota_us"), "50000");
        assert_eq!(read("cpu.shares"), "512");
    }
    t.rm_all();
    t.assert_clean();
}

#[test]
fn detached_outlives_the_cli_and_its_monitor() {
    let mut t = t!();
    let start = std::time::Instant::now();
    let id = t.detach(&["--name", "bg", "busybox", "sh", "-c", "echo out; echo err >&2; exec sleep 60"]);
    assert!(start.elapsed().as_secs() < 5);
    let pid: i32 = t.field(&id, "pid").unwrap().parse().unwrap();
    let mon: i32 = t.field(&id, "monitor").unwrap().parse().unwrap();
    assert!(pid > 0 && mon > 0);
    let o = t.md(&["ps"]);
    assert!(o.stdout().contains(&id[..12]) && o.stdout().contains("Up"), "{}", o.stdout());
    assert!(wait_until(3000, || t.md(&["logs", "bg"]).out == b"out\nerr\n"), "logs: {:?}", t.md(&["logs", "bg"]).stdout());
    // Killing the monitor leaves the container running.
    // SAFETY: plain kill of a process we started.
    unsafe { libc::kill(mon, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(t.md(&["ps"]).stdout().contains("bg"));
    let o = t.md(&["stop", "-t", "1", "bg"]);
    assert_eq!(o.code, 0, "{}", o.err);
    let o = t.md(&["ps", "-a"]);
    assert!(o.stdout().contains("Exited (137)"), "{}", o.stdout());
    assert_eq!(t.md(&["rm", "bg"]).code, 0);
    t.assert_clean();
}

#[test]
fn detached_rm_cleans_up_on_exit() {
    let mut t = t!();
    let id = t.detach(&["--rm", "busybox", "true"]);
    assert!(wait_until(5000, || t.containers().is_empty()), "--rm container {id} not removed");
    t.assert_clean();
}

/// A --rm container's record and write layer live on the run-time tmpfs
/// (one mydocker mounted under the root); other containers stay on disk.
/// Both kinds are listed, stopped and removed alike.
#[test]
fn rm_containers_live_on_the_runtime_tmpfs() {
    let mut t = t!();
    let tmp = t.detach(&["--rm", "--name", "tmp", "busybox", "sh", "-c", "echo x > /written; sleep 30"]);
    let keep = t.detach(&["--name", "keep", "busybox", "sleep", "30"]);
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let runtime = format!(" {}/run ", t.root.display());
    assert!(mi.lines().any(|l| l.contains(&runtime) && l.contains(" - tmpfs ")), "no run-time tmpfs: {mi}");
    let tdir = t.root.join("run/containers").join(&tmp);
    assert!(tdir.join("config").exists() && !t.root.join("containers").join(&tmp).exists());
    assert!(wait_until(3000, || tdir.join("upper/written").exists()), "write layer not on the tmpfs");
    assert!(t.root.join("containers").join(&keep).join("config").exists());
    let ps = t.md(&["ps"]).stdout();
    assert!(ps.contains("tmp") && ps.contains("keep"), "{ps}");
    // The name is taken across both places.
    let o = t.md(&["run", "--rm", "--name", "keep", "busybox", "true"]);
    assert_eq!(o.code, 125, "{}", o.err);
    let o = t.md(&["stop", "-t", "1", "tmp", "keep"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(wait_until(5000, || !tdir.exists()), "--rm container not removed after stop");
    assert_eq!(t.md(&["rm", "keep"]).code, 0);
    t.assert_clean();
}

#[test]
fn failures_part_way_leave_nothing() {
    let t = t!();
    for args in [
        vec!["nosuch", "true"],
        vec!["--cpuset-cpus", "4095", "busybox", "true"],
        vec!["busybox", "/no/such/binary"],
        vec!["-v", "/proc/nonexistent/x:/x", "busybox", "true"],
        vec!["-d", "busybox", "/no/such/binary"],
        vec!["-d", "--cpuset-cpus", "4095", "busybox", "true"],
    ] {
        let mut c = t.cmd();
        c.arg("run").args(&args);
        let o = c.output().unwrap();
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("mydocker: "), "{err}");
        t.assert_clean();
    }
}

#[test]
fn names_are_unique() {
    let mut t = t!();
    t.detach(&["--name", "one", "busybox", "sleep", "30"]);
    let o = t.md(&["run", "--name", "one", "busybox", "true"]);
    assert_eq!(o.code, 125);
    assert!(o.err.contains("already in use"), "{}", o.err);
    let o = t.md(&["run", "--name", "../etc", "busybox", "true"]);
    assert_eq!(o.code, 125);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn info_and_version() {
    let t = t!();
    let o = t.md(&["version"]);
    assert!(o.stdout().starts_with("mydocker version "), "{}", o.stdout());
    let o = t.md(&["info"]);
    let s = o.stdout();
    for k in ["Cgroup version: ", "  memory: usable", "Overlay: supported", "pivot_root: yes", "iptables: "] {
        assert!(s.contains(k), "missing {k:?} in\n{s}");
    }
    t.assert_clean();
}

#[test]
fn help_for_every_command() {
    let t = t!();
    for c in ["run", "ps", "logs", "stop", "rm", "images", "rmi", "import", "info", "version"] {
        let o = t.md(&[c, "--help"]);
        assert_eq!(o.code, 0, "{c}");
        assert!(o.stdout().starts_with(&format!("Usage: mydocker {c}")), "{c}: {}", o.stdout());
    }
    let o = t.md(&["--help"]);
    assert!(o.stdout().starts_with("Usage: mydocker"));
    let o = t.md(&["frob"]);
    assert_eq!(o.code, 125);
    t.assert_clean();
}

//! The container lifecycle as root: names and ids, ps, logs, exec, stop,
//! start, restart, rm, commit, export, inspect; each test ends clean.

#[macro_use]
mod common;
use common::*;
use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn wait_exited(t: &T, name: &str) {
    assert!(
        wait_until(10_000, || t.md(&["ps", "-a"]).stdout().lines().any(|l| l.ends_with(name) && l.contains("Exited"))),
        "{name} did not exit: {}",
        t.md(&["ps", "-a"]).stdout()
    );
}

#[test]
fn logs_are_ordered_and_complete() {
    let mut t = t!();
    let script = "i=1; while [ $i -le 300 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done";
    t.detach(&["--name", "chatty", "busybox", "sh", "-c", script]);
    wait_exited(&t, "chatty");
    let mut want = String::new();
    for i in 1..=300 {
        want.push_str(&format!("out{i}\nerr{i}\n"));
    }
    assert_eq!(t.md(&["logs", "chatty"]).stdout(), want);
    assert_eq!(t.md(&["logs", "-n", "2", "chatty"]).stdout(), "out300\nerr300\n");
    let ts = t.md(&["logs", "-t", "-n", "1", "chatty"]).stdout();
    assert!(ts.len() > 31 && ts.as_bytes()[4] == b'-' && ts.as_bytes()[10] == b'T' && ts.ends_with("Z err300\n"), "{ts}");
    // -f on an exited container prints everything and returns
    assert_eq!(t.md(&["logs", "-f", "chatty"]).stdout(), want);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn logs_follow_until_exit() {
    let mut t = t!();
    t.detach(&["--name", "slow", "busybox", "sh", "-c", "echo a; sleep 1; echo b"]);
    let start = Instant::now();
    let o = t.md(&["logs", "-f", "slow"]);
    assert_eq!(o.stdout(), "a\nb\n");
    assert!(start.elapsed() >= Duration::from_millis(500), "followed until the exit");
    t.rm_all();
    t.assert_clean();
}

#[test]
fn exec_codes_env_and_argv() {
    let mut t = t!();
    t.detach(&["--name", "box", "-e", "FROMRUN=1", "-w", "/tmp", "busybox", "sleep", "60"]);
    let o = t.md(&["exec", "-e", "EXTRA=2", "box", "sh", "-c", "echo $FROMRUN$EXTRA; pwd; cat /proc/1/cmdline | tr '\\0' ' '"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(o.stdout(), "12\n/tmp\nsleep 60 ");
    assert_eq!(t.md(&["exec", "box", "sh", "-c", "exit 3"]).code, 3);
    assert_eq!(t.md(&["exec", "box", "nope"]).code, 127);
    assert_eq!(t.md(&["exec", "box", "/etc/passwd"]).code, 126);
    assert_eq!(t.md(&["exec", "-w", "/nonexistent", "box", "true"]).code, 126);
    // argv untouched; no /bin/sh involved
    let o = t.md(&["exec", "box", "printf", "[%s]", "a b", "", "--rm", "$x"]);
    assert_eq!(o.stdout(), "[a b][][--rm][$x]");
    // exec -d returns at once; the process runs in the container
    assert_eq!(t.md(&["exec", "-d", "box", "sh", "-c", "sleep 0.3; touch /tmp/detached"]).code, 0);
    assert!(wait_until(3000, || t.md(&["exec", "box", "test", "-e", "/tmp/detached"]).code == 0));
    // stdin with -i
    let mut c = t.cmd();
    c.args(["exec", "-i", "box", "cat"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut ch = c.spawn().unwrap();
    use std::io::Write;
    ch.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    assert_eq!(ch.wait_with_output().unwrap().stdout, b"piped\n");
    t.rm_all();
    t.assert_clean();
}

#[test]
fn exec_joins_the_containers_cgroup() {
    let mut t = t!();
    let id = t.detach(&["-m", "64m", "busybox", "sleep", "60"]);
    // In the container's cgroup namespace, at its root: the cgroup that
    // holds the 64 MiB limit (a process outside it would see "/.." paths).
    let o = t.md(&["exec", &id[..12], "cat", "/proc/self/cgroup", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"]);
    let cg = o.stdout();
    let mem = cg.lines().find(|l| l.contains(":memory:")).or_else(|| cg.lines().find(|l| l.starts_with("0::")));
    assert!(mem.is_some_and(|l| l.ends_with(":/")) && cg.lines().any(|l| l == "67108864"), "{cg}");
    // and its limit applies
    assert_eq!(t.md(&["exec", &id[..12], "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]).code, 137);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn exec_into_a_stopped_container_is_refused() {
    let mut t = t!();
    t.detach(&["--name", "gone", "busybox", "true"]);
    wait_exited(&t, "gone");
    let marker = t.root.join("host-marker");
    let o = t.md(&["exec", "gone", "touch", marker.to_str().unwrap()]);
    assert_eq!(o.code, 125);
    assert_eq!(o.err, "mydocker: container gone: is not running (start it first)\n");
    assert!(!marker.exists(), "nothing may run on the host");
    t.rm_all();
    t.assert_clean();
}

#[test]
fn stop_kills_a_pid1_that_ignores_sigterm() {
    let mut t = t!();
    t.detach(&["--name", "stubborn", "busybox", "sh", "-c", "trap '' TERM; while true; do sleep 1; done"]);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let o = t.md(&["stop", "-t", "1", "stubborn"]);
    let took = start.elapsed();
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "took {took:?}");
    let ps = t.md(&["ps", "-a"]).stdout();
    assert!(ps.contains("Exited (137)"), "{ps}");
    // a cooperative one stops at once with 143
    t.detach(&["--name", "polite", "busybox", "sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done"]);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    assert_eq!(t.md(&["stop", "polite"]).code, 0);
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(t.md(&["ps", "-a"]).stdout().contains("Exited (143)"));
    t.rm_all();
    t.assert_clean();
}

#[test]
fn start_and_restart_keep_the_write_layer() {
    let mut t = t!();
    t.detach(&["--name", "keep", "busybox", "sh", "-c", "echo run >> /state; sleep 60"]);
    assert!(wait_until(3000, || t.md(&["exec", "keep", "cat", "/state"]).stdout() == "run\n"));
    assert_eq!(t.md(&["stop", "-t", "0", "keep"]).code, 0);
    let o = t.md(&["start", "keep"]);
    assert_eq!((o.code, o.stdout()), (0, "keep\n".to_string()), "{}", o.err);
    assert!(wait_until(3000, || t.md(&["exec", "keep", "cat", "/state"]).stdout() == "run\nrun\n"));
    assert_eq!(t.md(&["restart", "-t", "0", "keep"]).code, 0);
    assert!(wait_until(3000, || t.md(&["exec", "keep", "cat", "/state"]).stdout() == "run\nrun\nrun\n"));
    // start of a running container is a no-op
    assert_eq!(t.md(&["start", "keep"]).code, 0);
    assert_eq!(t.md(&["ps", "-q"]).stdout().lines().count(), 1);
    // start -a waits and returns the status
    assert_eq!(t.md(&["stop", "-t", "0", "keep"]).code, 0);
    t.detach(&["--name", "once", "busybox", "sh", "-c", "echo hi; exit 6"]);
    wait_exited(&t, "once");
    let o = t.md(&["start", "-a", "once"]);
    assert_eq!((o.code, o.stdout()), (6, "hi\n".to_string()));
    t.rm_all();
    t.assert_clean();
}

#[test]
fn ps_tells_the_truth() {
    let mut t = t!();
    let id = t.detach(&["--name", "quick", "busybox", "sh", "-c", "exit 3"]);
    wait_exited(&t, "quick");
    let ps = t.md(&["ps", "-a"]).stdout();
    let line = ps.lines().find(|l| l.ends_with("quick")).unwrap();
    assert!(line.starts_with(&id[..12]) && line.contains("Exited (3)") && line.contains("\"sh -c exit 3\""), "{line}");
    assert!(ps.starts_with("CONTAINER ID   IMAGE"), "{ps}");
    assert_eq!(t.md(&["ps"]).stdout().lines().count(), 1, "header only");
    assert_eq!(t.md(&["ps", "-aq"]).stdout(), format!("{}\n", &id[..12]));
    assert_eq!(t.md(&["ps", "-aq", "--no-trunc"]).stdout(), format!("{id}\n"));
    // the container dies behind the monitor's back: still the truth
    let id2 = t.detach(&["--name", "victim", "busybox", "sleep", "60"]);
    let mon: i32 = t.field(&id2, "monitor").unwrap().parse().unwrap();
    let pid: i32 = t.field(&id2, "pid").unwrap().parse().unwrap();
    // SAFETY: signalling processes this test started.
    unsafe {
        libc::kill(mon, libc::SIGKILL);
        libc::kill(pid, libc::SIGKILL);
    }
    assert!(wait_until(3000, || t.md(&["ps", "-a"]).stdout().lines().any(|l| l.ends_with("victim") && l.contains("Exited"))));
    assert!(!t.md(&["ps"]).stdout().contains("victim"));
    t.rm_all();
    t.assert_clean();
}

#[test]
fn names_ids_and_prefixes() {
    let mut t = t!();
    let mut ids = Vec::new();
    // until two ids share a first character (16 possible: soon)
    let shared = loop {
        ids.push(t.detach(&["busybox", "true"]));
        let firsts: Vec<char> = ids.iter().map(|i| i.chars().next().unwrap()).collect();
        if let Some(c) = firsts.iter().find(|c| firsts.iter().filter(|d| d == c).count() > 1) {
            break *c;
        }
        assert!(ids.len() < 40);
    };
    let o = t.md(&["inspect", &shared.to_string()]);
    assert_ne!(o.code, 0);
    assert!(t.md(&["rm", &shared.to_string()]).err.contains("ambiguous"), "ambiguous prefix refused");
    // full id, 12-char prefix and generated name all resolve
    let id = &ids[0];
    let js = t.md(&["inspect", id]).stdout();
    let name = js.split("\"Name\":\"/").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    assert!(name.contains('_'), "generated docker-style name: {name}");
    for key in [id.as_str(), &id[..12], &name] {
        assert_eq!(t.md(&["inspect", key]).code, 0, "{key}");
    }
    assert_eq!(t.md(&["rm", "nonexistent"]).code, 1);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn concurrent_runs_with_one_name() {
    let t = t!();
    let kids: Vec<_> = (0..6)
        .map(|_| {
            let mut c = t.cmd();
            c.args(["run", "-d", "--name", "same", "busybox", "sleep", "30"]).stdout(Stdio::piped()).stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outs: Vec<_> = kids.into_iter().map(|k| k.wait_with_output().unwrap()).collect();
    let won = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(won, 1, "exactly one wins");
    for o in outs.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(125));
        assert!(String::from_utf8_lossy(&o.stderr).contains("already in use"));
    }
    assert_eq!(t.containers().len(), 1);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn rm_f_after_the_monitor_was_killed() {
    let mut t = t!();
    let id = t.detach(&["--name", "orphan", "-m", "64m", "busybox", "sleep", "60"]);
    let mon: i32 = t.field(&id, "monitor").unwrap().parse().unwrap();
    // SAFETY: signalling a process this test started.
    unsafe { libc::kill(mon, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(200));
    let o = t.md(&["rm", "orphan"]);
    assert_eq!(o.code, 1, "still running: refused without -f");
    assert!(o.err.contains("is running"), "{}", o.err);
    assert_eq!(t.md(&["rm", "-f", "orphan"]).code, 0);
    t.assert_clean();
}

#[test]
fn rm_never_deletes_volume_contents() {
    let t = t!();
    let vol = t.root.join("keepme");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("precious"), "data").unwrap();
    let o = t.md(&["run", "--name", "v", "-v", &format!("{}:/v", vol.display()), "busybox", "sh", "-c", "echo more > /v/new"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_eq!(t.md(&["rm", "v"]).code, 0);
    assert_eq!(fs::read_to_string(vol.join("precious")).unwrap(), "data");
    assert_eq!(fs::read_to_string(vol.join("new")).unwrap(), "more\n");
    t.assert_clean();
}

#[test]
fn commit_run_round_trip_and_export() {
    let t = t!();
    let vol = t.root.join("vol");
    let o = t.md(&[
        "run",
        "--name",
        "src",
        "-v",
        &format!("{}:/data", vol.display()),
        "busybox",
        "sh",
        "-c",
        "echo committed > /etc/new; rm /bin/vi; echo secret > /data/s",
    ]);
    assert_eq!(o.code, 0, "{}", o.err);
    let o = t.md(&["commit", "src", "snap"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(o.stdout().starts_with("sha256:") && o.stdout().len() == 72, "{}", o.stdout());
    let o = t.run(&["snap", "sh", "-c", "cat /etc/new; test -e /bin/vi && echo VI; ls /data"]);
    assert_eq!(o.stdout(), "committed\n", "{}", o.err);
    // the committed image keeps the command as its default
    let o = t.md(&["run", "--rm", "snap"]);
    assert_eq!(o.code, 0, "{}", o.err);
    // export: the same tree as a tar on stdout, importable elsewhere
    let tarf = t.root.join("exp.tar");
    let o = t.cmd().args(["export", "src"]).stdout(fs::File::create(&tarf).unwrap()).output().unwrap();
    assert!(o.status.success());
    let list = String::from_utf8_lossy(&std::process::Command::new("tar").arg("-tf").arg(&tarf).output().unwrap().stdout).into_owned();
    assert!(list.lines().any(|l| l == "etc/new") && !list.lines().any(|l| l == "bin/vi") && !list.contains("data/s"), "{list}");
    assert_eq!(t.md(&["import", tarf.to_str().unwrap(), "reimported"]).code, 0);
    assert_eq!(t.run(&["reimported", "cat", "/etc/new"]).stdout(), "committed\n");
    // export of a running container: its /proc is not in the archive
    let mut t2 = t;
    t2.detach(&["--name", "live", "busybox", "sleep", "60"]);
    let o = t2.cmd().args(["export", "live"]).output().unwrap();
    let tarf2 = t2.root.join("live.tar");
    fs::write(&tarf2, &o.stdout).unwrap();
    let list = String::from_utf8_lossy(&std::process::Command::new("tar").arg("-tf").arg(&tarf2).output().unwrap().stdout).into_owned();
    assert!(list.lines().any(|l| l == "proc/") && !list.lines().any(|l| l.starts_with("proc/1")), "{}", &list[..list.len().min(500)]);
    t2.rm_all();
    for i in ["snap", "reimported"] {
        assert_eq!(t2.md(&["rmi", i]).code, 0);
    }
    t2.assert_clean();
}

#[test]
fn inspect_gives_what_scripts_need() {
    let mut t = t!();
    let vol = t.root.join("v");
    let id = t.detach(&["--name", "ins", "-m", "64m", "--pids-limit", "20", "-v", &format!("{}:/v:ro", vol.display()), "busybox", "sleep", "60"]);
    let o = t.md(&["inspect", "ins"]);
    let py = "import json,sys; d=json.load(sys.stdin)[0]; s=d['State']; print(d['Id'], s['Status'], s['Running'], s['Pid'] > 0, d['HostConfig']['Memory'], d['HostConfig']['PidsLimit'], d['Mounts'][0]['Destination'], d['Mounts'][0]['RW'])";
    let out = std::process::Command::new("python3")
        .args(["-c", py])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&o.out)?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{id} running True True 67108864 20 /v False"));
    assert_eq!(t.md(&["stop", "-t", "0", "ins"]).code, 0);
    let o = t.md(&["inspect", "ins"]);
    assert!(o.stdout().contains("\"Status\":\"exited\"") && o.stdout().contains("\"ExitCode\":137"), "{}", o.stdout());
    let o = t.md(&["inspect", "busybox"]);
    assert!(o.stdout().contains("\"RootFS\""));
    assert_eq!(t.md(&["inspect", "nothing-here"]).code, 1);
    t.rm_all();
    t.assert_clean();
}

/// What a detached container's monitor holds once it waits: /dev/null on
/// 0-2 and its own descriptors, each once (the program's ends of its stdio
/// are the program's: a copy kept here would hold a pty or pipe open).
/// Descriptors the test itself passes down (inheritable ones of ours, by
/// number) are left out.
#[test]
fn a_monitor_holds_only_its_own_descriptors() {
    let mut t = t!();
    let ours: Vec<String> = fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.parse::<u32>().unwrap() > 2)
        .filter(|n| {
            // flags are octal in fdinfo; O_CLOEXEC is 02000000
            let info = fs::read_to_string(format!("/proc/self/fdinfo/{n}")).unwrap_or_default();
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).map(|f| u32::from_str_radix(f.trim(), 8).unwrap()).unwrap_or(0o2000000);
            flags & 0o2000000 == 0
        })
        .collect();
    // Besides its own: the container's output pipe (or a pty's master),
    // and with -i the writer of the container's stdin.
    for (name, extra, want) in [("plain", None, &["pipe"][..]), ("tty", Some("-t"), &["/dev/ptmx"]), ("stdin", Some("-i"), &["pipe", "pipe"])] {
        let mut args = vec!["--name", name];
        args.extend(extra);
        args.extend(["busybox", "sleep", "60"]);
        let id = t.detach(&args);
        let mon: i32 = t.field(&id, "monitor").unwrap().parse().unwrap();
        let dir = t.dir(&id).display().to_string();
        let list = || {
            let mut v: Vec<String> = fs::read_dir(format!("/proc/{mon}/fd"))
                .map(|d| d.flatten().filter(|e| !ours.contains(&e.file_name().to_string_lossy().into_owned())).collect::<Vec<_>>())
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let l = fs::read_link(e.path()).map(|p| p.display().to_string()).unwrap_or_default().replace(&dir, "CTR");
                    let l = if l.starts_with("pipe:") { "pipe".to_string() } else { l };
                    if n.len() == 1 && n.as_str() < "3" {
                        format!("{n} {l}")
                    } else {
                        l
                    }
                })
                .collect();
            v.sort();
            v
        };
        let mut expect: Vec<String> = ["0 /dev/null", "1 /dev/null", "2 /dev/null", "anon_inode:[signalfd]", "CTR/log", "CTR/log.idx"]
            .iter()
            .chain(want)
            .map(|s| s.to_string())
            .collect();
        expect.sort();
        assert!(wait_until(3000, || list() == expect), "{name}: monitor {mon} holds {:?}, expected {:?}", list(), expect);
    }
    t.rm_all();
    t.assert_clean();
}

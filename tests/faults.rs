//! Races and kills: any interleaving of start/stop/restart/rm on one
//! container, and `kill -9` of a mydocker command at a random moment, end
//! in a state `ps` explains, keep the write layer unless `rm` was asked
//! for, and leave nothing behind once the containers are removed (no
//! lease, temporary file, cgroup, mount, link or process). Every command's
//! output is checked: an error printed means a non-zero exit.
//! The random moments come from a seed printed with every failure
//! (MYDOCKER_SEED=N replays one).

#[macro_use]
mod common;
use common::*;
use std::fs;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        let s = std::env::var("MYDOCKER_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
        eprintln!("seed: MYDOCKER_SEED={s}");
        Rng(s)
    }
    /// Uniform-ish in 0..n (xorshift64).
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// An error printed implies a non-zero exit, for every command we run.
fn checked(o: Out, what: &str) -> Out {
    assert!(o.err.is_empty() || o.code != 0, "{what}: printed an error but exited 0: {}", o.err);
    o
}

fn md(t: &T, args: &[&str]) -> Out {
    checked(t.md(args), &args.join(" "))
}

fn spawn(t: &T, args: &[&str]) -> Child {
    t.cmd().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn wait(c: Child, what: &str) -> Out {
    use std::os::unix::process::ExitStatusExt;
    let o = c.wait_with_output().unwrap();
    let code = o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0));
    let o = Out { code, out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned() };
    checked(o, what)
}

/// Runs every command at once; returns their outputs in order.
fn storm(t: &T, cmds: &[Vec<&str>]) -> Vec<Out> {
    let kids: Vec<Child> = cmds.iter().map(|c| spawn(t, c)).collect();
    kids.into_iter().zip(cmds).map(|(k, c)| wait(k, &c.join(" "))).collect()
}

/// `args` killed with SIGKILL after `us` microseconds (or once it is done).
/// Its output is not read: a container may hold the pipes open.
fn killed_after(t: &T, args: &[&str], us: u64) {
    let c = t.cmd().args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_micros(us));
    kill(c);
}

fn kill(mut c: Child) {
    // SAFETY: signalling a child of ours that is not reaped yet.
    unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
    c.wait().unwrap();
}

/// How long a command takes when left alone, in microseconds.
fn timed(t: &T, args: &[&str]) -> (u64, Out) {
    let s = Instant::now();
    let o = md(t, args);
    (s.elapsed().as_micros() as u64, o)
}

/// The STATUS cell of `name` in `ps -a` ("" when it is not listed). Cells
/// are 3+ spaces apart; PORTS is empty here.
fn status(t: &T, name: &str) -> String {
    let ps = md(t, &["ps", "-a"]).stdout();
    let cells = |l: &str| l.split("   ").map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect::<Vec<_>>();
    ps.lines().skip(1).map(cells).find(|c| c.last().is_some_and(|n| n == name)).map(|c| c[4].clone()).unwrap_or_default()
}

/// Processes in the cgroups of this test's containers.
fn container_procs(t: &T) -> usize {
    let ids: Vec<String> = t.containers().iter().map(|id| format!("/mydocker/{id}\n")).collect();
    let inside = |p: &fs::DirEntry| fs::read_to_string(p.path().join("cgroup")).is_ok_and(|c| ids.iter().any(|id| c.contains(id.as_str())));
    fs::read_dir("/proc").unwrap().flatten().filter(|p| p.file_name().to_string_lossy().parse::<u32>().is_ok() && inside(p)).count()
}

fn tmps(t: &T) -> Vec<String> {
    let Ok(d) = fs::read_dir(t.root.join("layers")) else { return Vec::new() };
    d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(".tmp")).collect()
}

/// A container `x` with something in its write layer.
fn with_data(t: &mut T, cmd: &str) {
    t.detach(&["--name", "x", "busybox", "sh", "-c", cmd]);
    assert!(wait_until(3000, || t.md(&["exec", "x", "true"]).code == 0));
    assert_eq!(md(t, &["exec", "x", "sh", "-c", "echo kept > /kept"]).code, 0);
}

fn runs(t: &T) -> usize {
    md(t, &["exec", "x", "cat", "/state"]).stdout().lines().count()
}

#[test]
fn concurrent_restarts_keep_the_container_and_its_data() {
    let mut t = t!();
    with_data(&mut t, "echo run >> /state; exec sleep 60");
    for trial in 0..4 {
        let before = runs(&t);
        for (i, o) in storm(&t, &vec![vec!["restart", "-t", "0", "x"]; 10]).iter().enumerate() {
            assert_eq!((o.code, o.stdout()), (0, "x\n".to_string()), "trial {trial}, restart {i}: {}", o.err);
        }
        assert!(status(&t, "x").starts_with("Up"), "trial {trial}: {}", md(&t, &["ps", "-a"]).stdout());
        assert!(wait_until(3000, || runs(&t) > before), "trial {trial}: restarted");
        assert_eq!(md(&t, &["exec", "x", "cat", "/kept"]).stdout(), "kept\n", "trial {trial}: the write layer");
        assert_eq!(container_procs(&t), 1, "trial {trial}: one container process");
    }
    t.rm_all();
    t.assert_clean();
}

#[test]
fn stop_start_restart_storm_ends_in_a_state_ps_explains() {
    let mut t = t!();
    with_data(&mut t, "echo run >> /state; exec sleep 60");
    let mut rng = Rng::new();
    for trial in 0..2 {
        let verbs: [&[&str]; 3] = [&["stop", "-t", "0", "x"], &["start", "x"], &["restart", "-t", "0", "x"]];
        let cmds: Vec<Vec<&str>> = (0..20).map(|_| verbs[rng.below(3) as usize].to_vec()).collect();
        for (o, c) in storm(&t, &cmds).iter().zip(&cmds) {
            assert_eq!((o.code, o.stdout()), (0, "x\n".to_string()), "trial {trial}, {c:?}: {}", o.err);
        }
        let st = status(&t, "x");
        let up = st.starts_with("Up");
        assert!(up || st.starts_with("Exited (137)") || st.starts_with("Exited (143)"), "trial {trial}: {st:?}");
        assert_eq!(container_procs(&t), up as usize, "trial {trial}: {st}");
        assert_eq!(md(&t, &["start", "x"]).code, 0);
        assert_eq!(md(&t, &["exec", "x", "cat", "/kept"]).stdout(), "kept\n", "trial {trial}: the write layer");
    }
    assert_eq!(md(&t, &["ps", "-aq"]).stdout().lines().count(), 1);
    t.rm_all();
    t.assert_clean();
}

#[test]
fn stop_and_rm_killed_at_random_moments() {
    let mut t = t!();
    let mut rng = Rng::new();
    for i in 0..4 {
        with_data(&mut t, "trap '' TERM; while true; do sleep 0.1; done");
        // stop -t 1 takes a second (SIGTERM is ignored): killed anywhere in it
        let us = rng.below(1_200_000);
        killed_after(&t, &["stop", "-t", "1", "x"], us);
        assert!(
            wait_until(3000, || {
                let st = status(&t, "x");
                st.starts_with("Up") || st.starts_with("Exited (137)")
            }),
            "round {i}, stop killed after {us} us: {:?}",
            status(&t, "x")
        );
        // "Up" may still be the moment before a SIGKILL the killed stop
        // had sent lands: then the container dies after `start` saw it
        // alive. Start again until it stays up; its write layer is kept.
        assert!(
            wait_until(5000, || md(&t, &["start", "x"]).code == 0 && md(&t, &["exec", "x", "cat", "/kept"]).stdout() == "kept\n"),
            "round {i}: the write layer after a killed stop: {:?}",
            status(&t, "x")
        );
        let us = rng.below(60_000);
        killed_after(&t, &["rm", "-f", "x"], us);
        let st = status(&t, "x");
        assert!(st.is_empty() || st.starts_with("Up") || st.starts_with("Exited (") || st == "Dead", "round {i}, rm killed after {us} us: {st:?}");
        for id in md(&t, &["ps", "-aq", "--no-trunc"]).stdout().lines() {
            let o = md(&t, &["rm", "-f", id]);
            assert_eq!(o.code, 0, "round {i}: rm -f {id}: {}", o.err);
        }
        assert_eq!(t.containers(), Vec::<String>::new(), "round {i}: rm -f after rm -f killed after {us} us");
        t.ids.clear();
    }
    t.assert_clean();
}

#[test]
fn killed_run_with_a_network_leaves_no_lease() {
    let t = t!();
    assert_eq!(md(&t, &["network", "create", "--subnet", "10.231.0.0/24", "kn"]).code, 0);
    let ipam = t.root.join("networks/kn/ipam");
    let leases = || fs::read_to_string(&ipam).unwrap_or_default();
    // a lease whose container is gone (a run-time directory lost with a
    // reboot) is reclaimed by the next allocation
    fs::write(&ipam, format!("10.231.0.2 {}\n", "ab".repeat(32))).unwrap();
    let (took, o) = timed(&t, &["run", "-d", "--network", "kn", "busybox", "sleep", "60"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert!(!leases().contains(&"ab".repeat(32)), "stale lease kept: {}", leases());
    assert_eq!(md(&t, &["rm", "-f", o.stdout().trim()]).code, 0);
    assert_eq!(leases(), "");
    let mut rng = Rng::new();
    for i in 0..12 {
        let us = rng.below(took * 5 / 4);
        killed_after(&t, &["run", "-d", "--network", "kn", "busybox", "sleep", "60"], us);
        let ps = md(&t, &["ps", "-a"]);
        assert_eq!(ps.code, 0, "{}", ps.err);
        for l in ps.stdout().lines().skip(1) {
            assert!(["Up ", "Created", "Exited (", "Dead"].iter().any(|s| l.contains(s)), "round {i}, killed after {us} us: {l}");
        }
    }
    for id in md(&t, &["ps", "-aq", "--no-trunc"]).stdout().lines() {
        let o = md(&t, &["rm", "-f", id]);
        assert_eq!(o.code, 0, "rm -f {id}: {}", o.err);
    }
    assert_eq!(t.containers(), Vec::<String>::new());
    assert_eq!(leases(), "", "leases left after rm -f");
    // the monitor killed as soon as it is forked: a run that fails leaves nothing
    let mut failed = 0;
    for i in 0..5 {
        let c = spawn(&t, &["run", "-d", "--network", "kn", "busybox", "sleep", "60"]);
        let children = format!("/proc/{0}/task/{0}/children", c.id());
        let mut mon = String::new();
        let end = Instant::now() + Duration::from_secs(3);
        while mon.is_empty() && Instant::now() < end {
            mon = fs::read_to_string(&children).unwrap_or_default().trim().to_string();
        }
        if let Ok(m) = mon.parse::<i32>() {
            // SAFETY: the monitor is a process our test started (via the CLI).
            unsafe { libc::kill(m, libc::SIGKILL) };
        }
        let o = wait(c, "run -d");
        if o.code != 0 {
            failed += 1;
            assert_eq!(t.containers(), Vec::<String>::new(), "round {i}: a failed run left its container: {}", o.err);
            assert_eq!(leases(), "", "round {i}: a failed run left its lease");
        }
        for id in md(&t, &["ps", "-aq", "--no-trunc"]).stdout().lines() {
            assert_eq!(md(&t, &["rm", "-f", id]).code, 0);
        }
    }
    assert!(failed > 0, "no monitor was killed before it reported");
    assert_eq!(leases(), "", "leases left after rm -f");
    assert!(md(&t, &["network", "inspect", "kn"]).stdout().contains("\"Containers\":{}"));
    assert_eq!(md(&t, &["network", "rm", "kn"]).code, 0);
    let links = || String::from_utf8_lossy(&std::process::Command::new("ip").args(["-o", "link"]).output().unwrap().stdout).into_owned();
    assert!(wait_until(5000, || !links().lines().any(|l| l.contains(": br-") || l.contains(": ve"))), "links left:\n{}", links());
    let rules = std::process::Command::new("iptables").args(["-t", "nat", "-S", "POSTROUTING"]).output().map(|o| o.stdout).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&rules).contains("10.231.0.0"), "NAT rule left");
    t.assert_clean();
}

#[test]
fn killed_import_and_commit_leave_no_temporary() {
    let mut t = t!();
    // import stalled mid-archive (its stdin is ours), then killed
    let tar = fs::read(tarball()).unwrap();
    let mut c = t.cmd().args(["import", "-", "half"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    let mut stdin = c.stdin.take().unwrap();
    stdin.write_all(&tar[..tar.len() / 2]).unwrap();
    assert!(wait_until(3000, || !tmps(&t).is_empty()), "import made no temporary");
    kill(c);
    drop(stdin);
    assert!(!tmps(&t).is_empty());
    assert_eq!(md(&t, &["images"]).code, 0);
    assert_eq!(tmps(&t), Vec::<String>::new(), "images reclaims a dead import's temporary");
    // a live import's temporary is not taken for a dead one
    let mut c = t.cmd().args(["import", "-", "slow"]).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = c.stdin.take().unwrap();
    stdin.write_all(&tar[..tar.len() / 2]).unwrap();
    assert!(wait_until(3000, || !tmps(&t).is_empty()));
    assert_eq!(md(&t, &["images"]).code, 0);
    assert_eq!(tmps(&t).len(), 1, "a live import's temporary is kept");
    stdin.write_all(&tar[tar.len() / 2..]).unwrap();
    drop(stdin);
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(md(&t, &["images"]).stdout().lines().any(|l| l.starts_with("slow ")));
    // import and commit killed at random moments
    t.detach(&["--name", "big", "busybox", "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=48 2>/dev/null; sleep 60"]);
    assert!(wait_until(5000, || md(&t, &["exec", "big", "sh", "-c", "[ $(wc -c < /big) = 50331648 ]"]).code == 0));
    assert_eq!(md(&t, &["stop", "-t", "0", "big"]).code, 0);
    let (commit_us, o) = timed(&t, &["commit", "big", "c0"]);
    assert_eq!(o.code, 0, "{}", o.err);
    let (import_us, o) = timed(&t, &["import", tarball().to_str().unwrap(), "i0"]);
    assert_eq!(o.code, 0, "{}", o.err);
    let mut rng = Rng::new();
    let mut seen = 0;
    let tb = tarball();
    let tb = tb.to_str().unwrap();
    for i in 0..8 {
        let (args, us) = if i % 2 == 0 { (vec!["commit", "big", "c1"], rng.below(commit_us)) } else { (vec!["import", tb, "i1"], rng.below(import_us)) };
        killed_after(&t, &args, us);
        seen += !tmps(&t).is_empty() as usize;
        // the next import/commit/images reclaims it
        let nexts = [vec!["images"], vec!["commit", "big", "c2"], vec!["import", tb, "i2"]];
        let next = &nexts[i % 3];
        assert_eq!(md(&t, next).code, 0, "{next:?}");
        assert_eq!(tmps(&t), Vec::<String>::new(), "{args:?} killed after {us} us, then {next:?}");
        for img in ["c1", "i1", "c2", "i2"] {
            let _ = t.md(&["rmi", img]);
        }
    }
    assert!(seen > 0, "no kill landed while a temporary existed");
    t.rm_all();
    t.assert_clean();
}

#[test]
fn run_rm_is_honoured_when_its_cli_is_killed() {
    let t = t!();
    // killed while the container runs: removed once it exits
    let c = spawn(&t, &["run", "--rm", "--name", "r", "busybox", "sleep", "1"]);
    assert!(wait_until(3000, || status(&t, "r").starts_with("Up")));
    kill(c);
    assert!(status(&t, "r").starts_with("Up"), "the container outlives its CLI");
    assert!(wait_until(5000, || status(&t, "r").is_empty()), "{}", md(&t, &["ps", "-a"]).stdout());
    assert_eq!(t.containers(), Vec::<String>::new());
    assert_eq!(leftover_cgroups(), Vec::<String>::new());
    // the same, and the next run of the name is the command that notices
    let c = spawn(&t, &["run", "--rm", "--name", "r", "busybox", "sleep", "0.3"]);
    assert!(wait_until(3000, || t.containers().len() == 1 && container_procs(&t) == 1));
    kill(c);
    assert!(wait_until(3000, || container_procs(&t) == 0));
    let o = md(&t, &["run", "--rm", "--name", "r", "busybox", "true"]);
    assert_eq!(o.code, 0, "{}", o.err);
    // killed at random moments of its start
    let (took, _) = timed(&t, &["run", "--rm", "busybox", "true"]);
    let mut rng = Rng::new();
    for i in 0..10 {
        let us = rng.below(took * 3 / 2);
        killed_after(&t, &["run", "--rm", "busybox", "sleep", "0.2"], us);
        assert!(wait_until(3000, || container_procs(&t) == 0), "round {i}");
        assert_eq!(md(&t, &["ps", "-aq"]).stdout(), "", "round {i}, killed after {us} us");
        assert_eq!(t.containers(), Vec::<String>::new(), "round {i}, killed after {us} us");
    }
    t.assert_clean();
}

#[test]
fn refused_values_exit_non_zero() {
    let t = t!();
    let o = md(&t, &["run", "--rm", "--pids-limit", "-5", "busybox", "true"]);
    assert_eq!(o.code, 125, "{}", o.err);
    assert!(o.err.starts_with("mydocker: --pids-limit: "), "{}", o.err);
    for unlimited in ["0", "-1"] {
        let o = md(&t, &["run", "--rm", "--pids-limit", unlimited, "busybox", "true"]);
        assert_eq!(o.code, 0, "{}", o.err);
    }
    for args in [&["start", "nope"][..], &["stop", "nope"], &["restart", "nope"], &["rm", "nope"], &["rm", "-f", "nope"]] {
        let o = md(&t, args);
        assert_ne!(o.code, 0, "{args:?}");
        assert!(o.err.starts_with("mydocker: "), "{args:?}: {}", o.err);
    }
    t.assert_clean();
}

//! Memory of the long-lived processes. mydocker's allocator gives nothing
//! back when a value is dropped (sys::Malloc): code that runs for long
//! must not allocate per round, or free what it does. These tests put work
//! through a monitor (log lines, proxied connections), `logs -f -t` and a
//! long `stop`, and check that the resident memory of each does not grow
//! with the work.

#[macro_use]
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

/// Resident KiB of `pid` (VmRSS).
fn rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// Grows by less than this many KiB between two samples: a leak of even
/// 64 bytes per round is 125 KiB over the 2000 rounds below.
const SLACK_KIB: u64 = 40;

fn get(port: u16) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut r = String::new();
    let _ = s.read_to_string(&mut r);
    r
}

#[test]
fn a_monitor_does_not_grow_with_log_lines_and_connections() {
    let mut t = t!();
    assert_eq!(t.md(&["network", "create", "--subnet", "10.213.0.0/24", "memnet"]).code, 0);
    let port = 18931;
    let id = t.detach(&[
        "--name",
        "m",
        "--network",
        "memnet",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www; echo up > /www/index.html; httpd -p 80 -h /www; while true; do seq 1 500; sleep 1; done",
    ]);
    let mon: u32 = t.field(&id, "monitor").unwrap().parse().unwrap();
    assert!(wait_until(15000, || get(port).ends_with("up\n")), "the published port does not answer");
    // Warm up: the buffers of the steady state exist after this.
    for _ in 0..200 {
        assert!(get(port).ends_with("up\n"));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = rss(mon);
    for _ in 0..2000 {
        assert!(get(port).ends_with("up\n"));
    }
    std::thread::sleep(Duration::from_secs(3)); // and 1500 more log lines indexed
    let after = rss(mon);
    assert!(before > 0 && after < before + SLACK_KIB, "monitor RSS {before} KiB -> {after} KiB after 2000 connections and 1500 log lines");
    t.rm_all();
    assert_eq!(t.md(&["network", "rm", "memnet"]).code, 0);
    t.assert_clean();
}

#[test]
fn logs_follow_and_a_long_stop_do_not_grow() {
    let mut t = t!();
    // Output every 10 ms; SIGTERM ignored, so `stop -t` waits its full time.
    let id = t.detach(&["--name", "chatty", "busybox", "sh", "-c", "trap '' TERM; while true; do seq 1 20; usleep 10000; done"]);
    let mut logs = t.cmd().args(["logs", "-f", "-t", "chatty"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = logs.stdout.take().unwrap();
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        let mut n = 0usize;
        while let Ok(k) = out.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k;
        }
        n
    });
    std::thread::sleep(Duration::from_secs(2));
    let before = rss(logs.id());
    std::thread::sleep(Duration::from_secs(4)); // ~400 polls of the record, ~8000 stamped lines
    let after = rss(logs.id());
    assert!(before > 0 && after < before + SLACK_KIB, "logs -f RSS {before} KiB -> {after} KiB");

    let mut stop = t.cmd().args(["stop", "-t", "6", &id]).stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let before = rss(stop.id());
    std::thread::sleep(Duration::from_secs(4)); // ~400 looks at /proc/PID/stat
    let after = rss(stop.id());
    assert!(stop.wait().unwrap().success());
    assert!(before > 0 && after < before + SLACK_KIB, "stop RSS {before} KiB -> {after} KiB");
    assert!(logs.wait().unwrap().success());
    assert!(drain.join().unwrap() > 0);
    t.rm_all();
    t.assert_clean();
}

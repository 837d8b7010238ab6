//! `inspect CONTAINER|IMAGE`: JSON for scripts, in docker's shape where it
//! has one (an array of objects with Id, Name, State, Config, Mounts, ...).

use super::out;
use crate::engine::cgroup::Cgroup;
use crate::engine::state::{self, Record, Root};
use crate::engine::util::{self, join, Buf, Error, Res};
use crate::sys;
use alloc::vec::Vec;

/// A JSON string: UTF-8 passes through, quotes and controls are escaped,
/// bytes that are not UTF-8 become \u00XX (so the output is always valid).
pub fn jstr(b: &mut Buf, s: &[u8]) {
    const H: &[u8; 16] = b"0123456789abcdef";
    b.s("\"");
    let mut rest = s;
    while !rest.is_empty() {
        let ok = utf8_prefix(rest);
        let bad = ok < rest.len();
        for &c in &rest[..ok] {
            match c {
                b'"' => b.s("\\\""),
                b'\\' => b.s("\\\\"),
                b'\n' => b.s("\\n"),
                b'\t' => b.s("\\t"),
                c if c < 0x20 || c == 0x7f => b.s("\\u00").b(&[H[(c >> 4) as usize], H[(c & 15) as usize]]),
                c => b.b(&[c]),
            };
        }
        if bad {
            let c = rest[ok];
            b.s("\\u00").b(&[H[(c >> 4) as usize], H[(c & 15) as usize]]);
            rest = &rest[ok + 1..];
        } else {
            rest = &[];
        }
    }
    b.s("\"");
}

/// The length of the valid UTF-8 prefix of `s`, as from_utf8's
/// `valid_up_to` (no overlongs, surrogates or code points past U+10FFFF),
/// without core's word-at-a-time validator (0.3 KB).
fn utf8_prefix(s: &[u8]) -> usize {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let (n, min) = match c {
            0..=0x7f => {
                i += 1;
                continue;
            }
            0xc2..=0xdf => (1, 0x80),
            0xe0..=0xef => (2, 0x800),
            0xf0..=0xf4 => (3, 0x10000),
            _ => return i,
        };
        let mut cp = (c & (0x7f >> (n + 1))) as u32;
        for k in 1..=n {
            match s.get(i + k) {
                Some(&b) if b & 0xc0 == 0x80 => cp = cp << 6 | (b & 0x3f) as u32,
                _ => return i,
            }
        }
        if cp < min || cp > 0x10ffff || (0xd800..0xe000).contains(&cp) {
            return i;
        }
        i += n + 1;
    }
    i
}

fn key(b: &mut Buf, k: &str) {
    b.s("\"").s(k).s("\":");
}

fn kstr(b: &mut Buf, k: &str, v: &[u8]) {
    key(b, k);
    jstr(b, v);
    b.s(",");
}

fn knum(b: &mut Buf, k: &str, v: i64) {
    key(b, k);
    b.i(v).s(",");
}

fn kbool(b: &mut Buf, k: &str, v: bool) {
    key(b, k);
    b.s(if v { "true," } else { "false," });
}

fn list(b: &mut Buf, k: &str, v: &[Vec<u8>]) {
    key(b, k);
    b.s("[");
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            b.s(",");
        }
        jstr(b, x);
    }
    b.s("],");
}

/// Closes an object or array whose last member left a trailing comma.
fn close(b: &mut Buf, c: &str) {
    if b.0.last() == Some(&b',') {
        b.0.pop();
    }
    b.s(c);
}

fn time(b: &mut Buf, k: &str, secs: i64) {
    key(b, k);
    b.s("\"").b(&if secs > 0 { util::rfc3339(secs) } else { b"0001-01-01T00:00:00Z".to_vec() }).s("\",");
}

#[inline(never)]
fn container(b: &mut Buf, root: &Root, r: &Record) {
    let alive = r.alive();
    b.s("{");
    kstr(b, "Id", &r.id);
    let mut n = b"/".to_vec();
    n.extend_from_slice(&r.name);
    kstr(b, "Name", &n);
    kstr(b, "Image", &r.image);
    time(b, "Created", r.created);
    list(b, "Args", &r.argv);
    key(b, "State");
    b.s("{");
    kstr(
        b,
        "Status",
        if alive {
            b"running"
        } else if r.pid == 0 && r.exit_code.is_none() {
            b"created"
        } else {
            b"exited"
        },
    );
    kbool(b, "Running", alive);
    knum(b, "Pid", if alive { r.pid as i64 } else { 0 });
    knum(b, "MonitorPid", if alive { r.monitor as i64 } else { 0 });
    knum(b, "ExitCode", if alive { 0 } else { r.exit_code.unwrap_or(0) as i64 });
    kbool(b, "ExitCodeKnown", alive || r.exit_code.is_some());
    time(b, "StartedAt", r.started);
    time(b, "FinishedAt", if alive { 0 } else { r.finished });
    close(b, "},");
    key(b, "Config");
    b.s("{");
    kstr(b, "Hostname", &r.hostname);
    list(b, "Env", &r.env);
    list(b, "Cmd", &r.argv);
    kstr(b, "Image", &r.image);
    kstr(b, "WorkingDir", &r.workdir);
    kbool(b, "Tty", r.tty);
    kbool(b, "OpenStdin", r.interactive);
    close(b, "},");
    key(b, "HostConfig");
    b.s("{");
    let l = &r.limits;
    knum(b, "Memory", l.memory.unwrap_or(0) as i64);
    knum(b, "NanoCpus", l.cpu_quota.unwrap_or(0) as i64 * 10_000);
    knum(b, "CpuShares", l.cpu_shares.unwrap_or(0) as i64);
    kstr(b, "CpusetCpus", l.cpuset_cpus.as_deref().unwrap_or_default());
    knum(b, "PidsLimit", l.pids.unwrap_or(0) as i64);
    kbool(b, "AutoRemove", r.auto_remove);
    kbool(b, "Init", r.init);
    key(b, "Cgroups");
    b.s("[");
    for (i, d) in Cgroup::from_dirs(&r.cgroups).dirs().iter().enumerate() {
        if i > 0 {
            b.s(",");
        }
        jstr(b, d);
    }
    close(b, "]},");
    key(b, "Mounts");
    b.s("[");
    for (i, v) in r.volumes.iter().enumerate() {
        if i > 0 {
            b.s(",");
        }
        b.s("{\"Type\":\"bind\",");
        kstr(b, "Source", &v.host);
        kstr(b, "Destination", &v.ctr);
        kbool(b, "RW", !v.ro);
        close(b, "}");
    }
    b.s("],");
    let dir = r.dir(root);
    key(b, "GraphDriver");
    b.s("{");
    let copied = sys::lstat(&join(&dir, b"copied")).is_ok();
    kstr(b, "Name", if copied { b"copy" } else { b"overlay" });
    kstr(b, "LowerDir", &join(&root.image(&r.image), b"rootfs"));
    kstr(b, "UpperDir", &join(&dir, b"upper"));
    close(b, "},");
    kstr(b, "LogPath", &join(&dir, b"log"));
    key(b, "NetworkSettings");
    b.s("{");
    kstr(b, "NetworkMode", if r.network.is_empty() { b"none" } else { &r.network });
    kstr(b, "IPAddress", &if r.ip != 0 { crate::engine::network::fmt_ip(r.ip) } else { Vec::new() });
    key(b, "Ports");
    b.s("[");
    for (i, p) in r.ports.iter().enumerate() {
        if i > 0 {
            b.s(",");
        }
        jstr(b, &p.text());
    }
    b.s("]}");
    b.s("}");
}

#[inline(never)]
pub fn inspect(root: &Root, names: &[&[u8]]) -> Res<i32> {
    let mut b = Buf::new();
    b.s("[");
    let mut code = 0;
    for (i, n) in names.iter().enumerate() {
        let before = b.0.len();
        if i > 0 {
            b.s(",");
        }
        match state::find(root, n) {
            Ok(r) => container(&mut b, root, &r),
            Err(e) => {
                let img = root.image(n);
                if crate::engine::config::validate_name(n).is_ok() && sys::lstat(&join(&img, b"rootfs")).is_ok() {
                    let m = crate::engine::image::read_meta(&img);
                    b.s("{");
                    kstr(&mut b, "Id", n);
                    time(&mut b, "Created", m.created);
                    knum(&mut b, "Size", m.size as i64);
                    key(&mut b, "Config");
                    b.s("{");
                    list(&mut b, "Cmd", &m.cmd);
                    close(&mut b, "},");
                    kstr(&mut b, "RootFS", &join(&img, b"rootfs"));
                    close(&mut b, "}");
                } else {
                    b.0.truncate(before);
                    let mut w = b"no such container or image: ".to_vec();
                    w.extend_from_slice(n);
                    Error::new(b"inspect", &w).print();
                    let _ = e;
                    code = 1;
                }
            }
        }
    }
    b.s("]\n");
    out::out(&b.0);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_prefix_is_from_utf8s() {
        let cases: [&[u8]; 12] = [
            b"plain",
            "é€😀".as_bytes(),
            b"a\xff",
            b"\xc0\x80",
            b"\xe0\x80\x80",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xf0\x9f\x98",
            b"ok\xe2\x82",
            b"\xc3",
            b"\x80x",
            b"\xef\xbf\xbfz",
        ];
        for c in cases {
            let want = match core::str::from_utf8(c) {
                Ok(_) => c.len(),
                Err(e) => e.valid_up_to(),
            };
            assert_eq!(utf8_prefix(c), want, "{c:?}");
        }
    }

    #[test]
    fn json_strings_are_always_valid() {
        let mut b = Buf::new();
        jstr(&mut b, b"a\"b\\c\nd\x01\xff\xc3\xa9");
        assert_eq!(b.0, "\"a\\\"b\\\\c\\nd\\u0001\\u00ffé\"".as_bytes());
    }

    #[test]
    fn a_record_renders_as_json_that_parses() {
        let r = Record { id: b"abc".to_vec(), name: b"n\"x".to_vec(), argv: alloc::vec![b"sh".to_vec(), b"\xff".to_vec()], ..Record::default() };
        let mut b = Buf::new();
        b.s("[");
        container(&mut b, &Root { dir: b"/nonexistent".to_vec(), run: Vec::new(), overlay: true }, &r);
        b.s("]");
        // python's json module is the referee
        let out = std::process::Command::new("python3")
            .args(["-c", "import json,sys; d=json.load(sys.stdin)[0]; print(d['Name'], d['State']['Status'], d['Args'][1])"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&b.0)?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/n\"x created \u{ff}");
    }
}

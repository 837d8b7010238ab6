//! Output: stdout and stderr, the one place an error is printed, and the
//! human forms of sizes and durations that docker prints.

use crate::engine::util::{push_num, Error, Res};
use crate::sys;
use alloc::vec::Vec;

/// Prints `mydocker: <what>: <why>` for an error; returns its exit code.
#[inline(never)]
pub fn report(e: Error) -> i32 {
    line_to(2, b"mydocker: ", &e.msg());
    e.exit_code()
}

/// Writes `pre`, `s` and a newline to `fd`, in one write.
#[inline(never)]
pub fn line_to(fd: sys::Fd, pre: &[u8], s: &[u8]) {
    let mut o = pre.to_vec();
    o.extend_from_slice(s);
    o.push(b'\n');
    let _ = sys::write_all(fd, &o);
}

pub fn out(b: &[u8]) {
    let _ = sys::write_all(1, b);
}

/// Runs `f` for each name: prints the name when it succeeds, the error when
/// it fails, and returns 1 if any failed (docker's rm/stop/rmi style).
/// (`dyn`: one copy of the loop for its four callers.)
#[inline(never)]
pub fn each(names: &[&[u8]], echo: bool, f: &mut dyn FnMut(&[u8]) -> Res<()>) -> i32 {
    let mut code = 0;
    for n in names {
        match f(n) {
            Ok(()) if echo => line_to(1, b"", n),
            Ok(()) => {}
            Err(e) => {
                report(e);
                code = 1;
            }
        }
    }
    code
}

/// Human size the docker way: "1.23MB" (decimal units, 3 significant
/// digits), appended to `v` (no Vec of its own to copy).
pub fn human_size(v: &mut Vec<u8>, n: u64) {
    let mut u = 0;
    let mut scaled = n * 100; // hundredths
    while scaled >= 100_000 && u < 4 {
        scaled /= 1000;
        u += 1;
    }
    push_num(v, scaled / 100);
    let frac = scaled % 100;
    if u > 0 && frac != 0 && scaled < 10_000 {
        v.push(b'.');
        v.push(b'0' + (frac / 10) as u8);
        if !frac.is_multiple_of(10) {
            v.push(b'0' + (frac % 10) as u8);
        }
    }
    // B, kB, MB, GB, TB
    if u > 0 {
        v.push(b"kMGT"[u - 1]);
    }
    v.push(b'B');
}

/// "3 minutes", "About an hour", "2 days": docker's HumanDuration,
/// appended to `v`.
pub fn human_duration(v: &mut Vec<u8>, secs: i64) {
    // Below `.0` seconds it is a count of `.1`-second units (0: the name
    // as it is). A table, not nine branches: 200 bytes less.
    const STEPS: [(u32, u32); 9] = [
        (1, 0),
        (60, 1),
        (47 * 60, 60),
        (90 * 60, 0),
        (48 * 3600, 3600),
        (14 * 86400, 86400),
        (60 * 86400, 7 * 86400),
        (730 * 86400, 30 * 86400),
        (u32::MAX, 365 * 86400),
    ];
    const NAMES: &[u8] = b"Less than a second,second,minute,About an hour,hour,day,week,month,year";
    let s = if secs < 0 { 0 } else { secs as u64 };
    let mut i = 0;
    while i < 8 && s >= STEPS[i].0 as u64 {
        i += 1;
    }
    let name = crate::engine::util::fields(NAMES, b',').nth(i).unwrap_or_default();
    if STEPS[i].1 != 0 {
        let n = s / STEPS[i].1 as u64;
        push_num(v, n);
        v.push(b' ');
        v.extend_from_slice(name);
        if n != 1 {
            v.push(b's');
        }
    } else {
        v.extend_from_slice(name);
    }
}

/// Insertion sort: one small instantiation instead of core's stable sort
/// (6 KB of code); the lists sorted here are container and image lists.
/// Display width of UTF-8 text: code points (continuation bytes skipped).
pub fn width(s: &[u8]) -> usize {
    s.iter().filter(|&&c| c & 0xc0 != 0x80).count()
}

#[cfg(test)]
mod tests {
    fn human_size(n: u64) -> Vec<u8> {
        let mut v = Vec::new();
        super::human_size(&mut v, n);
        v
    }
    fn human_duration(s: i64) -> Vec<u8> {
        let mut v = Vec::new();
        super::human_duration(&mut v, s);
        v
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(human_size(0), b"0B");
        assert_eq!(human_size(999), b"999B");
        assert_eq!(human_size(1_230_000), b"1.23MB");
        assert_eq!(human_size(12_300_000), b"12.3MB");
        assert_eq!(human_size(2_000_000_000), b"2GB");
        assert_eq!(human_size(1500), b"1.5kB");
        assert_eq!(human_size(3_000_000_000_000), b"3TB");
        assert_eq!(human_duration(0), b"Less than a second");
        assert_eq!(human_duration(1), b"1 second");
        assert_eq!(human_duration(180), b"3 minutes");
        assert_eq!(human_duration(3600), b"About an hour");
        assert_eq!(human_duration(3 * 86400), b"3 days");
    }
}

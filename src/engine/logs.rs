//! Container logs. A detached container's stdout and stderr are one pipe
//! (the two streams stay in order) whose other end its monitor holds: the
//! container cannot reopen, truncate or rewrite its log through
//! /proc/self/fd, as it could a file. The monitor appends what comes to
//! `<container>/log`, and for every new line its offset and the time it
//! came to `log.idx` (16 bytes a line), which `logs -t` reads. (A killed
//! monitor leaves the container writing to a pipe nobody reads: its next
//! write raises SIGPIPE.)

use crate::engine::state::{self, Root};
use crate::engine::util::{self, join, Buf, Ctx, Error, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;

pub struct Log {
    input: Owned,
    log: Owned,
    idx: Owned,
    offset: u64,
    line_start: bool,
}

impl Log {
    /// Appends to `dir/log` what comes from `input` (Owned::none(): only
    /// what `write` is given, a pty's output).
    pub fn open(dir: &[u8], input: Owned) -> Res<Log> {
        let log = append_to(dir, b"log")?;
        let offset = sys::lseek(log.raw(), 0, sys::SEEK_END).unwrap_or(0) as u64;
        let idx = append_to(dir, b"log.idx")?;
        Ok(Log { input, log, idx, offset, line_start: true })
    }

    /// The pipe to poll (-1 once it is at EOF, or for a pty).
    pub fn input_fd(&self) -> Fd {
        self.input.raw()
    }

    /// Reads what the pipe has and logs it; at EOF the pipe is closed.
    pub fn pump(&mut self) {
        let mut buf = [0u8; 8192];
        match sys::read(self.input.raw(), &mut buf) {
            Ok(n) if n > 0 => self.write(&buf[..n]),
            Err(libc::EINTR) => {}
            _ => self.input = Owned::none(),
        }
    }

    /// Once the container is gone: what is still in the pipe (its last
    /// writers are being killed with the pid namespace: a bounded wait).
    pub fn drain(&mut self) {
        while self.input.raw() >= 0 {
            let mut one = [sys::pollfd(self.input.raw(), sys::POLLIN)];
            if sys::poll(&mut one, 1000).is_err() || one[0].revents == 0 {
                break;
            }
            self.pump();
        }
    }

    /// Appends `data` to the log and indexes its new lines.
    pub fn write(&mut self, data: &[u8]) {
        let (s, ns) = sys::now();
        let t = (s as u64) * 1_000_000_000 + ns as u64;
        let mut out = Vec::new();
        for &c in data {
            if self.line_start {
                out.extend_from_slice(&(self.offset as u128 | (t as u128) << 64).to_le_bytes());
                self.line_start = false;
            }
            self.line_start = c == b'\n';
            self.offset += 1;
        }
        let _ = sys::write_all(self.log.raw(), data);
        if !out.is_empty() {
            let _ = sys::write_all(self.idx.raw(), &out);
        }
        sys::free(out); // once per burst of output, for the container's life
    }
}

/// `dir/name` opened to append to, made if missing (one copy of the open
/// and its error for the log and its index).
#[inline(never)]
fn append_to(dir: &[u8], name: &[u8]) -> Res<Owned> {
    let p = join(dir, name);
    sys::open(&p, sys::O_WRONLY | sys::O_CREAT | sys::O_APPEND, 0o640).ctx(m!("open"), &p)
}

/// "2024-01-02T03:04:05.123456789Z "
/// (Once per line of `logs -f -t`: what it allocates it frees, see sys::Malloc.)
fn stamp(b: &mut Buf, t_ns: u64) {
    let mut s = util::rfc3339((t_ns / 1_000_000_000) as i64);
    s.pop(); // Z
    b.b(&s).s(".");
    let frac = util::num(1_000_000_000 + t_ns % 1_000_000_000);
    b.b(&frac[1..]).s("Z ");
    sys::free(s);
    sys::free(frac);
}

/// Prints `data` (which starts at file offset `base`) line by line, each
/// with its time from the index (or `fallback`).
fn print_stamped(data: &[u8], base: u64, idx: &[u8], fallback: u64, out: &mut dyn FnMut(&[u8])) {
    let mut b = Buf::new();
    let mut e = 0; // next index entry
    let mut off = base;
    for line in data.split_inclusive(|&c| c == b'\n') {
        // Past the entries before this line; the one at it, if any, has its time.
        let mut t = fallback;
        while let Some(x) = idx.get(e..e + 16) {
            let (o, at) = x.split_at(8);
            let o = u64::from_le_bytes(o.try_into().unwrap());
            if o >= off {
                if o == off {
                    t = u64::from_le_bytes(at.try_into().unwrap());
                }
                break;
            }
            e += 16;
        }
        stamp(&mut b, t);
        b.b(line);
        off += line.len() as u64;
    }
    out(&b.0);
    sys::free(b.0);
}

/// Offset in `data` where its last `n` lines begin.
pub fn tail_start(data: &[u8], n: u64) -> usize {
    if n == 0 {
        return data.len();
    }
    let body = if data.last() == Some(&b'\n') { &data[..data.len() - 1] } else { data };
    let (mut seen, mut i) = (0, body.len());
    while i > 0 {
        i -= 1;
        if body[i] == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    0
}

#[inline(never)]
/// Hands the container's log to `out`, as `logs` shows it.
pub fn logs(root: &Root, name: &[u8], follow: bool, tail: Option<u64>, timestamps: bool, out: &mut dyn FnMut(&[u8])) -> Res<i32> {
    // (used in place in the result: moved out, the record was copied)
    let mut found = state::find(root, name);
    let r = found.as_mut().map_err(|e| *e)?;
    let dir = r.dir(root);
    let p = join(&dir, b"log");
    let file = match sys::open(&p, sys::O_RDONLY, 0) {
        Ok(fd) => fd,
        Err(sys::ENOENT) if !r.detach => return Err(Error::at(name, m!("only detached (-d) containers keep logs"))),
        Err(sys::ENOENT) => return Ok(0),
        Err(e) => return Err(Error::sys(m!("open"), &p, e)),
    };
    let fd = file.raw();
    let mut data = Vec::new();
    let _ = sys::read_to_end(fd, &mut data);
    let start = tail.map_or(0, |n| tail_start(&data, n));
    let mtime = sys::fstat(fd).map(|s| s.mtime as u64 * 1_000_000_000).unwrap_or(0);
    if timestamps {
        let idx = util::read_file(&join(&dir, b"log.idx")).unwrap_or_default();
        print_stamped(&data[start..], start as u64, &idx, mtime, out);
    } else {
        out(&data[start..]);
    }
    if follow {
        let mut off = data.len() as u64;
        let mut buf = alloc::vec![0u8; 65536];
        // The record is read again only when it changed (records only grow
        // by appends, or are replaced whole): this loop may run for days,
        // and what a reload allocates is not freed (see sys::Malloc).
        let cfg = join(&dir, b"config");
        let (mut seen, mut alive) = ((0, u64::MAX), false);
        loop {
            let now = sys::stat(&cfg).map_or((0, 0), |s| (s.ino, s.size));
            if now != seen {
                (seen, alive) = (now, r.alive_now(root));
            }
            while let Ok(n) = sys::read(fd, &mut buf) {
                if n == 0 {
                    break;
                }
                if timestamps {
                    let (s, ns) = sys::now();
                    print_stamped(&buf[..n], off, &[], s as u64 * 1_000_000_000 + ns as u64, out);
                } else {
                    out(&buf[..n]);
                }
                off += n as u64;
            }
            if !alive {
                break;
            }
            sys::sleep_ms(100);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails() {
        assert_eq!(tail_start(b"a\nb\nc\n", 2), 2);
        assert_eq!(tail_start(b"a\nb\nc", 1), 4);
        assert_eq!(tail_start(b"a\nb\n", 5), 0);
        assert_eq!(tail_start(b"a\n", 0), 2);
    }

    #[test]
    fn stamps() {
        let mut b = Buf::new();
        stamp(&mut b, 1_000_000_000 * 86400 + 42);
        assert_eq!(b.0, b"1970-01-02T00:00:00.000000042Z ");
    }
}

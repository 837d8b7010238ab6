//! Small helpers shared by every module: the error type, byte-string
//! output without `core::fmt` (which would cost ~20 KB), number parsing
//! and formatting, and path joining.

use crate::engine::stream::Source;
use crate::sys::{self, Errno, Fd};
pub use crate::sys::{parse_u64, push_num};
use alloc::vec::Vec;

/// Exit classes, docker's convention.
pub const EXIT_MYDOCKER: i32 = 125;
pub const EXIT_CANNOT_INVOKE: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

/// An error as the user sees it: `mydocker: <what>: <why>` and an exit
/// code. Only the code travels in results; the text is kept in the one
/// last-error buffer (`sys::with_errmsg`), set when the error is made and
/// printed once at the top. Code that cleans up after an error and might
/// make errors of its own runs inside `keep_error`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Error {
    /// The exit status (125, 126 or 127) in the low byte, the `Kind` in the
    /// next: one word, as the error was before it had a kind (a second
    /// field grew the code of every `?` in the binary by 1.2 KB).
    bits: i32,
}

/// What went wrong, for a caller that acts on it (never the text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Other = 0,
    /// No container (or image, or network) by that name.
    NoSuch = 1,
    /// clone() failed: e.g. the pid namespace of an `exec` has no init.
    Spawn = 2,
    /// The other end of a report died without a word (killed).
    Lost = 3,
}

pub type Res<T> = Result<T, Error>;

impl Error {
    /// `<what>: <why>`, `why` a message literal.
    #[inline(never)]
    pub fn at(what: &[u8], why: Msg) -> Error {
        begin(what);
        Error::finish_m(why)
    }
    /// `: <why>` after what `begin` and `more` wrote: the error, code 125.
    #[inline(never)]
    fn finish(why: &[u8]) -> Error {
        more(b": ");
        more(why);
        Error { bits: EXIT_MYDOCKER }
    }
    #[inline(never)]
    fn finish_m(why: Msg) -> Error {
        more(b": ");
        sys::with_errmsg(|m| push_msg(m, why));
        Error { bits: EXIT_MYDOCKER }
    }
    /// `<what>: <why>` written as one literal: an argument less at each
    /// call than `new` with two.
    #[inline(never)]
    pub fn text(msg: Msg) -> Error {
        begin_m(msg);
        Error { bits: EXIT_MYDOCKER }
    }
    /// `text` of bytes made at run time.
    #[inline(never)]
    pub fn bytes(msg: &[u8]) -> Error {
        Error::raw(EXIT_MYDOCKER, msg)
    }
    /// `<what "name">: <why>` (written straight into the message buffer:
    /// no Vec built per error).
    #[inline(never)]
    pub fn quoted(what: Msg, name: &[u8], why: Msg) -> Error {
        Error::name(what, name);
        Error::finish_m(why)
    }
    /// `quoted` with a `why` made at run time.
    #[inline(never)]
    pub fn quoted_b(what: Msg, name: &[u8], why: &[u8]) -> Error {
        Error::name(what, name);
        Error::finish(why)
    }
    /// `<what> "name"` begun.
    fn name(what: Msg, name: &[u8]) {
        begin_m(what);
        more(b" \"");
        more(name);
        more(b"\"");
    }
    /// `<op> <obj>: <strerror(errno)>`.
    #[inline(never)]
    pub fn sys(op: Msg, obj: &[u8], e: Errno) -> Error {
        begin_m(op);
        if !obj.is_empty() {
            more(b" ");
            more(obj);
        }
        more(b": ");
        sys::with_errmsg(|m| push_errno(m, e));
        Error { bits: EXIT_MYDOCKER }
    }
    pub fn of(mut self, k: Kind) -> Error {
        self.bits = (self.bits & 0xff) | (k as i32) << 8;
        self
    }
    pub fn code(mut self, c: i32) -> Error {
        self.bits = (self.bits & !0xff) | (c & 0xff);
        self
    }
    /// The exit status that reports this error.
    pub fn exit_code(&self) -> i32 {
        self.bits & 0xff
    }
    pub fn kind(&self) -> Kind {
        match self.bits >> 8 {
            1 => Kind::NoSuch,
            2 => Kind::Spawn,
            3 => Kind::Lost,
            _ => Kind::Other,
        }
    }
    /// An error whose whole message is `msg` (a record from the child).
    pub fn raw(code: i32, msg: &[u8]) -> Error {
        begin(msg);
        Error { bits: code & 0xff }
    }
    /// Appends to the message (a usage text after an unknown flag).
    pub fn append(self, s: &[u8]) -> Error {
        more(s);
        self
    }
    /// Appends strerror(e).
    #[inline(never)]
    pub fn errno(self, e: Errno) -> Error {
        sys::with_errmsg(|m| push_errno(m, e));
        self
    }
    /// `append` of a message literal.
    #[inline(never)]
    pub fn more(self, s: Msg) -> Error {
        sys::with_errmsg(|m| push_msg(m, s));
        self
    }
    pub fn msg(&self) -> Vec<u8> {
        sys::with_errmsg(|m| m.clone())
    }
}

/// A new message: `s`.
#[inline(never)]
fn begin(s: &[u8]) {
    sys::with_errmsg(|m| {
        m.clear();
        m.extend_from_slice(s);
    });
}

/// A new message: the text of `m`.
#[inline(never)]
fn begin_m(m: Msg) {
    sys::with_errmsg(|v| {
        v.clear();
        push_msg(v, m);
    });
}

/// `s` appended to the message.
#[inline(never)]
fn more(s: &[u8]) {
    sys::with_errmsg(|m| m.extend_from_slice(s));
}

/// Runs cleanup after an error without letting its own errors replace the
/// message of the one being reported.
pub fn keep_error<T>(f: impl FnOnce() -> T) -> T {
    let saved = sys::with_errmsg(|m| m.clone());
    let r = f();
    sys::with_errmsg(|m| *m = saved);
    r
}

/// `Result<T, Errno>` → `Res<T>` with an operation and object named.
pub trait Ctx<T> {
    fn ctx(self, op: Msg, obj: &[u8]) -> Res<T>;
}
impl<T> Ctx<T> for sys::R<T> {
    fn ctx(self, op: Msg, obj: &[u8]) -> Res<T> {
        self.map_err(|e| Error::sys(op, obj, e))
    }
}

/// `mydocker: <message>` on stderr, where no front end prints it (the
/// container's side, after its start was reported).
#[inline(never)]
pub fn eprint(e: &Error) {
    let mut m = b"mydocker: ".to_vec();
    m.extend_from_slice(&e.msg());
    m.push(b'\n');
    let _ = sys::write_all(2, &m);
}

pub fn err<T>(what: &[u8], why: Msg) -> Res<T> {
    Err(Error::at(what, why))
}

/// An error-message literal, by its id: `m!("text")` (build.rs `msgs`
/// gives the ids and compresses the texts into one blob).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Msg(pub u16);

/// The help texts (cli/usage.rs), then the message literals, NUL-separated
/// in id order, then strerror's texts: gzip-compressed by build.rs `msgs`.
pub static MSGS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/msgs.gz"));

/// The text of `id` (the blob is decoded once per process, on the first
/// text asked for: 18 KB kept, 0.1 ms).
#[inline(never)]
pub fn msg_text(id: Msg) -> &'static [u8] {
    let b = sys::msgs(unblob);
    let mut i = 0;
    let mut n = id.0;
    while n > 0 {
        if b[i] == 0 {
            n -= 1;
        }
        i += 1;
    }
    upto(&b[i..], 0)
}

/// Appends the text of `id` to `o`.
#[inline(never)]
pub fn push_msg(o: &mut Vec<u8>, id: Msg) {
    o.extend_from_slice(msg_text(id));
}

/// The index of `w` in a word list kept with the texts (`word_index`).
pub fn msg_index(list: Msg, w: &[u8]) -> Option<usize> {
    word_index(msg_text(list), w)
}

/// strerror(3) appended to `o`, for the errnos of engine/errtext.rs (in
/// the messages' blob after the last one, each as \x01, errno, text);
/// any other reads "errno N".
#[inline(never)]
pub fn push_errno(o: &mut Vec<u8>, e: Errno) {
    let b = sys::msgs(unblob);
    if (1..0x80).contains(&e) {
        if let Some(k) = b.windows(2).position(|w| w == [1, e as u8]) {
            return o.extend_from_slice(upto(&b[k + 2..], 1));
        }
    }
    o.extend_from_slice(b"errno ");
    push_num(o, e as u64);
}

/// `from` up to its first `stop` byte (or all of it).
fn upto(from: &[u8], stop: u8) -> &[u8] {
    &from[..from.iter().position(|&c| c == stop).unwrap_or(from.len())]
}

/// strerror(3) as bytes (`push_errno`).
pub fn strerror(e: Errno) -> Vec<u8> {
    let mut v = Vec::new();
    push_errno(&mut v, e);
    v
}

/// A byte slice read as a stream (what remains of it).
impl Source for &[u8] {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        let n = buf.len().min(self.len());
        buf[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// The messages' blob, decoded after what `o` holds (by the gunzip that
/// reads image layers; its buffers are given back): `sys::msgs` keeps it.
pub fn unblob(o: &mut Vec<u8>) {
    let mut z = MSGS_GZ;
    let mut g = crate::engine::gzip::Gunzip::new(&mut z);
    let start = o.len();
    // One spare byte: the read that returns 0 checks the CRC and length.
    o.resize(start + crate::MSGS_LEN + 1, 0);
    let mut at = start;
    while let Ok(k @ 1..) = g.read(&mut o[at..]) {
        at += k;
    }
    o.truncate(at);
    g.free();
}

// ---------------------------------------------------------------- output

/// A byte buffer with chainable appenders, flushed with `out`/`eout`.
#[derive(Default)]
pub struct Buf(pub Vec<u8>);

impl Buf {
    pub fn new() -> Buf {
        Buf(Vec::new())
    }
    pub fn s(&mut self, s: &str) -> &mut Buf {
        self.b(s.as_bytes())
    }
    #[inline(never)]
    pub fn b(&mut self, b: &[u8]) -> &mut Buf {
        self.0.extend_from_slice(b);
        self
    }
    pub fn n(&mut self, n: u64) -> &mut Buf {
        push_num(&mut self.0, n);
        self
    }
    pub fn i(&mut self, n: i64) -> &mut Buf {
        if n < 0 {
            self.0.push(b'-');
        }
        push_num(&mut self.0, n.unsigned_abs());
        self
    }
    /// Pads the current line to `col` bytes from the last newline, with at
    /// least `min` spaces.
    pub fn col(&mut self, col: usize, min: usize) -> &mut Buf {
        let start = self.0.iter().rposition(|&c| c == b'\n').map(|p| p + 1).unwrap_or(0);
        let len = self.0.len() - start;
        let pad = if len + min > col { min } else { col - len };
        for _ in 0..pad {
            self.0.push(b' ');
        }
        self
    }
}

/// `s.split(|&c| c == sep)` as one type: every closure passed to split
/// is a type of its own, with its own copy of the iterator's code.
pub fn fields(s: &[u8], sep: u8) -> Fields<'_> {
    Fields { rest: Some(s), sep }
}

/// The index of `w` in the comma-separated `list` (a table lookup that is
/// one shared loop, where a `match` on byte strings compiles to a compare
/// per arm).
#[inline(never)]
#[allow(clippy::explicit_counter_loop)] // (enumerate: 16 bytes more)
pub fn word_index(list: &[u8], w: &[u8]) -> Option<usize> {
    let mut i = 0;
    for f in fields(list, b',') {
        if f == w {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Word `i` of the comma-separated `list`, "" past its end (one copy for
/// the tables of words: statuses, cgroup knobs, name parts).
#[inline(never)]
pub fn nth_word(list: &[u8], i: usize) -> &[u8] {
    fields(list, b',').nth(i).unwrap_or_default()
}

/// All of `fields(s, sep)` in a Vec (a loop: `collect` was 240 bytes).
pub fn split(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut v = Vec::new();
    for f in fields(s, sep) {
        v.push(f);
    }
    v
}

pub struct Fields<'a> {
    rest: Option<&'a [u8]>,
    sep: u8,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let s = self.rest?;
        match s.iter().position(|&c| c == self.sep) {
            Some(i) => {
                self.rest = Some(&s[i + 1..]);
                Some(&s[..i])
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

pub fn num(n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    push_num(&mut v, n);
    v
}

pub fn parse_i64(s: &[u8]) -> Option<i64> {
    match s.first() {
        Some(b'-') => parse_u64(&s[1..]).map(|n| -(n as i64)),
        _ => parse_u64(s).map(|n| n as i64),
    }
}

pub fn hex(bytes: &[u8]) -> Vec<u8> {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut v = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        v.push(H[(b >> 4) as usize]);
        v.push(H[(b & 15) as usize]);
    }
    v
}

// ---------------------------------------------------------------- paths and files

/// `a/b`, inserting exactly one slash.
pub fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut v = a.to_vec();
    if !v.ends_with(b"/") {
        v.push(b'/');
    }
    let b = if b.first() == Some(&b'/') { &b[1..] } else { b };
    v.extend_from_slice(b);
    v
}

pub fn read_file(path: &[u8]) -> sys::R<Vec<u8>> {
    let fd = sys::open(path, sys::O_RDONLY, 0)?;
    let mut v = Vec::new();
    sys::read_to_end(fd.raw(), &mut v).map(|_| v)
}

/// Writes `data` to an existing file (cgroup knobs, /proc files): one write.
pub fn write_file(path: &[u8], data: &[u8]) -> sys::R<()> {
    let fd = sys::open(path, sys::O_WRONLY, 0)?;
    sys::write(fd.raw(), data).map(|_| ())
}

/// Atomically replaces `path` with `data`: temporary file, then rename.
pub fn write_atomic(path: &[u8], data: &[u8]) -> sys::R<()> {
    let mut tmp = path.to_vec();
    tmp.extend_from_slice(b".tmp");
    let fd = sys::open(&tmp, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644)?;
    sys::write_all(fd.raw(), data)?;
    drop(fd); // closed before the rename
    sys::rename(&tmp, path)
}

/// mkdir -p.
pub fn mkdir_all(path: &[u8], mode: u32) -> sys::R<()> {
    match sys::mkdir(path, mode) {
        Ok(()) | Err(sys::EEXIST) => return Ok(()),
        Err(sys::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if let Some(p) = path.iter().rposition(|&c| c == b'/') {
        if p > 0 {
            mkdir_all(&path[..p], mode)?;
        }
    }
    match sys::mkdir(path, mode) {
        Ok(()) | Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// rm -rf that never follows a symlink: walks by directory descriptors.
pub fn remove_tree(path: &[u8]) -> sys::R<()> {
    match sys::lstat(path) {
        Err(sys::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
        Ok(st) if !st.is_dir() => return sys::unlinkat(sys::AT_FDCWD, path, 0),
        Ok(_) => {}
    }
    let fd = sys::open(path, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0)?;
    remove_children(fd.raw())?;
    drop(fd);
    sys::rmdir(path)
}

pub fn remove_children(dir: Fd) -> sys::R<()> {
    let ents = sys::read_dir(dir)?;
    for (name, ty) in &ents {
        let is_dir = if *ty == 0 { sys::statat(dir, name, false).map(|s| s.is_dir()).unwrap_or(false) } else { *ty == sys::DT_DIR };
        if is_dir {
            let sub = sys::openat(dir, name, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0)?;
            remove_children(sub.raw())?;
            drop(sub); // one descriptor per level of the walk, not per entry
            sys::unlinkat(dir, name, sys::AT_REMOVEDIR)?;
        } else {
            sys::unlinkat(dir, name, 0)?;
        }
    }
    sys::free_names(ents); // a big tree must not cost memory per entry (sys::Malloc)
    Ok(())
}

pub fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let ix = sorted_order(v.len(), &|a, b| less(&v[a], &v[b]));
    // Apply it in place: position i takes the element first at ix[i],
    // which earlier swaps may have moved along its cycle.
    for i in 0..ix.len() {
        let mut j = ix[i];
        while j < i {
            j = ix[j];
        }
        // Two distinct elements (j > i), swapped without the overlap
        // check of `slice::swap`, whose large-element path is memmove
        // (300 bytes of musl's on aarch64).
        if j > i {
            let (a, b) = v.split_at_mut(j);
            core::mem::swap(&mut a[i], &mut b[0]);
        }
    }
}

/// The order of 0..n under `less`, by heapsort: O(n log n), and one copy
/// in the binary for every element type. (Insertion sort made O(n²) swaps
/// of 440-byte records on directory listings in hash order: 1.1 ms of
/// every `ps` or name check at 200 containers.) Not stable; every caller
/// sorts by a unique key.
pub fn sorted_order(n: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut ix: Vec<usize> = Vec::with_capacity(n);
    for i in 0..n {
        ix.push(i);
    }
    // Both phases in one loop around one sift: heapify from n/2 down to
    // 0, then move the top to the end and sift the new top.
    let (mut start, mut end) = (n / 2, n);
    while end > 1 {
        if start > 0 {
            start -= 1;
        } else {
            end -= 1;
            ix.swap(0, end);
        }
        let mut i = start;
        loop {
            let mut c = 2 * i + 1;
            if c >= end {
                break;
            }
            if c + 1 < end && less(ix[c], ix[c + 1]) {
                c += 1;
            }
            if !less(ix[i], ix[c]) {
                break;
            }
            ix.swap(i, c);
            i = c;
        }
    }
    ix
}

/// "2024-01-02T03:04:05Z" for seconds since the epoch (UTC).
pub fn rfc3339(secs: i64) -> Vec<u8> {
    // days-from-civil inverse (H. Hinnant's algorithm)
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400) as u64;
    let z = days + 719468;
    let era = z.div_euclid(146097);
    // From here on every value is >= 0: unsigned division is shorter.
    let doe = (z - era * 146097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe as i64 + era * 400 + (m <= 2) as i64;
    let mut v = Vec::new();
    push_num(&mut v, y as u64);
    // Two digits after each separator, filled into a template and
    // appended once (a push per byte was 16 capacity checks).
    let two = [m, d, rem / 3600, rem / 60 % 60, rem % 60];
    let mut t = *b"-00-00T00:00:00Z";
    for (i, n) in two.iter().enumerate() {
        t[3 * i + 1] = b'0' + (n / 10) as u8;
        t[3 * i + 2] = b'0' + (n % 10) as u8;
    }
    v.extend_from_slice(&t);
    v
}

/// Sets `K=V` in an environment list: a later entry replaces the key.
pub fn env_set(env: &mut Vec<Vec<u8>>, e: &[u8]) {
    let k = &e[..e.iter().position(|&c| c == b'=').unwrap_or(e.len()) + 1];
    // A plain loop: `retain` brought its two-phase shuffle and drop guard.
    let mut i = 0;
    while i < env.len() {
        if env[i].starts_with(k) {
            env.remove(i);
        } else {
            i += 1;
        }
    }
    env.push(e.to_vec());
}

/// The value of `KEY` in a `KEY=VALUE` list.
pub fn env_get<'a>(env: &'a [Vec<u8>], key: &[u8]) -> Option<&'a [u8]> {
    for e in env {
        if let Some([b'=', v @ ..]) = e.strip_prefix(key) {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(0), b"0");
        assert_eq!(num(1234567890123), b"1234567890123");
        assert_eq!(parse_u64(b"42"), Some(42));
        assert_eq!(parse_u64(b"4x"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_i64(b"-7"), Some(-7));
    }

    #[test]
    fn messages() {
        assert_eq!(Error::text(m!("a: b")).msg(), b"a: b");
        assert_eq!(Error::quoted(m!("no such image"), b"x:1", m!("why")).msg(), b"no such image \"x:1\": why");
        assert_eq!(Error::sys(m!("open"), b"/p", sys::ENOENT).msg(), b"open /p: No such file or directory");
        assert_eq!(Error::sys(m!("fork"), b"", sys::EINVAL).msg(), b"fork: Invalid argument");
        let e = Error::text(m!("t: u")).more(m!(" v"));
        assert_eq!((e.msg(), e.exit_code()), (b"t: u v".to_vec(), EXIT_MYDOCKER));
        assert_eq!(Error::at(b"x", m!("y")).msg(), b"x: y");
        assert_eq!(strerror(sys::ENOENT), b"No such file or directory");
        assert_eq!(strerror(1), b"Operation not permitted");
        assert_eq!(strerror(122), b"Quota exceeded");
        assert_eq!(strerror(libc::EADDRINUSE), b"Address in use");
        assert_eq!(strerror(libc::ECONNREFUSED), b"Connection refused");
        assert_eq!(strerror(33), b"errno 33");
        assert_eq!(strerror(200), b"errno 200");
        assert_eq!(strerror(0), b"errno 0");
        for &(e, t) in crate::engine::errtext::ERRTEXT {
            let mut v = b"x".to_vec();
            push_errno(&mut v, e as Errno);
            assert_eq!(&v[1..], t.as_bytes(), "errno {e}");
        }
        let e = Error::quoted_b(m!("exec"), b"p", b"").errno(sys::EACCES);
        assert_eq!(e.msg(), b"exec \"p\": Permission denied");
        // Every m!() literal decodes to its text, after what the buffer holds.
        assert!(crate::MSGS_ALL.len() > 200);
        for &(text, id) in crate::MSGS_ALL {
            let mut v = b"x".to_vec();
            push_msg(&mut v, Msg(id));
            assert_eq!(&v[1..], text.as_bytes(), "Msg({id})");
            assert_eq!(v[0], b'x');
        }
    }

    #[test]
    fn sorts() {
        for n in 0..40u64 {
            // a scrambled permutation of 0..n, sorted back
            let mut v: alloc::vec::Vec<u64> = (0..n).map(|i| (i * 17 + 5) % n.max(1)).collect();
            if n > 0 && 17 % n == 0 {
                v = (0..n).rev().collect();
            }
            sort_by(&mut v, |a, b| a < b);
            assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
            assert_eq!(v.len() as u64, n);
        }
        let mut names = alloc::vec![b"b".to_vec(), b"c".to_vec(), b"a".to_vec()];
        sort_by(&mut names, |a, b| a < b);
        assert_eq!(names, [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), b"1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951782400), b"2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1795392000 + 3723), b"2026-11-23T01:02:03Z");
    }

    #[test]
    fn fields_split_as_split_does() {
        for (s, sep) in [(&b"a:b::c:"[..], b':'), (b"", b':'), (b":", b':'), (b"abc", b','), (b" x  y ", b' ')] {
            let want: Vec<&[u8]> = s.split(|&c| c == sep).collect();
            assert_eq!(fields(s, sep).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn join_and_env() {
        assert_eq!(join(b"/a", b"b"), b"/a/b");
        assert_eq!(join(b"/a/", b"/b"), b"/a/b");
        let env = alloc::vec![b"PATH=/bin".to_vec(), b"P=1".to_vec()];
        assert_eq!(env_get(&env, b"P"), Some(&b"1"[..]));
        assert_eq!(env_get(&env, b"PATH"), Some(&b"/bin"[..]));
        assert_eq!(env_get(&env, b"X"), None);
    }
}

//! The layer tar engine: a streaming reader (ustar, GNU `L`/`K`, PAX `x`
//! with xattrs, base-256 numbers), extraction of image layers, a compact
//! recording of everything but file data (so a layer's exact tar can be
//! rebuilt from its extracted tree: `Replay`), and a writer.
//!
//! Extraction is hostile-archive safe: every path is split into components,
//! `..` is refused, and each parent directory is opened relative to the
//! previous one with O_NOFOLLOW, so no entry can be written through a
//! symlink (or a hard link be made to a file) outside the destination.
//! Symlinks are stored verbatim and never followed by mydocker; device
//! nodes are skipped.

#![allow(dead_code)] // Replay, EntrySource, Writer::layer: wired in by the image store

use crate::engine::stream::Source;
use crate::engine::util::{self, parse_u64, Ctx, Error, Msg, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;
use core::cmp::min;

/// One archive member, as `Reader::next` returns it. `ty` is the typeflag
/// with `\0` and `7` read as `0` (a `\0` entry named `x/` as `5`); `mode`
/// is the permission bits only. The owner frees it with `free`.
pub struct Entry {
    pub path: Vec<u8>,
    pub link: Vec<u8>,
    pub ty: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub size: u64,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    /// Gives the entry's memory back (see sys::Malloc).
    #[inline(never)]
    pub fn free(self) {
        let Entry { path, link, mut xattrs, .. } = self;
        for (k, v) in xattrs.iter_mut() {
            sys::free(core::mem::take(k));
            sys::free(core::mem::take(v));
        }
        sys::free(xattrs);
        sys::free(path);
        sys::free(link);
    }
}

/// PAX numbers that replace header fields: keys and the fields they
/// replace (then the PAX keys for the path and the link target).
const PAX_NUM: &[u8] = b"size,uid,gid,mtime,path,linkpath";
/// (The fifth field, the mode, has no PAX key.)
/// (Bytes: 10 of .rodata where usize pairs took 80.)
const FIELD: [(u8, u8); 5] = [(124, 136), (108, 116), (116, 124), (136, 148), (100, 108)];

#[derive(Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    num: [Option<u64>; 4],
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The recording: every byte but file data, as ops (LEB128 numbers):
/// `0 N` N zeros, `1 N BYTES` literal, `2 N LEN PATH` N bytes of the file
/// at PATH. Buffered; written out at 32 KiB and at the end.
/// A write error does not stop the reader: the first one is kept (`err`)
/// and reported when the recording stops (`Reader::record`, the end).
struct Enc {
    fd: Fd,
    out: Vec<u8>,
    lit: Vec<u8>,
    zeros: u64,
    err: sys::Errno,
}

fn varint(v: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        v.push(n as u8 | 0x80);
        n >>= 7;
    }
    v.push(n as u8);
}

impl Enc {
    fn note(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == 0 {
                self.zeros += 1;
                continue;
            }
            if self.zeros > 0 {
                if self.zeros < 4 {
                    self.lit.resize(self.lit.len() + self.zeros as usize, 0);
                } else {
                    self.op(0, self.zeros);
                }
                self.zeros = 0;
            }
            self.lit.push(b);
            if self.lit.len() >= 32768 {
                self.op(1, 0);
            }
        }
    }
    /// Writes out the pending literal, then op `tag` N (tag 1: nothing more).
    fn op(&mut self, tag: u8, n: u64) {
        if !self.lit.is_empty() {
            self.out.push(1);
            varint(&mut self.out, self.lit.len() as u64);
            self.out.extend_from_slice(&self.lit);
            self.lit.clear();
        }
        if tag != 1 {
            self.out.push(tag);
            varint(&mut self.out, n);
        }
        if self.out.len() >= 32768 {
            self.flush();
        }
    }
    /// The pending literal and zeros as ops.
    fn settle(&mut self) {
        let z = core::mem::take(&mut self.zeros);
        self.op(if z > 0 { 0 } else { 1 }, z)
    }
    fn flush(&mut self) {
        if let Err(e) = sys::write_all(self.fd, &self.out) {
            if self.err == 0 {
                self.err = e;
            }
        }
        self.out.clear();
    }
}

/// A streaming tar reader over a `Source`, with one 64 KiB buffer.
/// (In this order: the fields most code uses within a short
/// displacement of the reader's address.)
#[repr(C)]
pub struct Reader<'a> {
    src: &'a mut dyn Source,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Data bytes of the current entry not read yet, and the padding after.
    left: u64,
    pad: usize,
    /// The data being read is a regular file's (not recorded).
    file: bool,
    /// 0 before the first byte, 1 in the archive, 2 past its end.
    state: u8,
    rec: Enc,
    pending: Pending,
}

/// An `archive: <why>` error (one out-of-line constructor for them all).
#[cold]
#[inline(never)]
fn bad(why: Msg) -> Error {
    Error::at(b"archive", why)
}

fn truncated<T>() -> Res<T> {
    Err(bad(m!("truncated")))
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a mut dyn Source) -> Reader<'a> {
        Reader {
            src,
            buf: alloc::vec![0u8; 65536],
            pos: 0,
            len: 0,
            left: 0,
            pad: 0,
            file: false,
            state: 0,
            rec: Enc { fd: -1, out: Vec::new(), lit: Vec::new(), zeros: 0, err: 0 },
            pending: Pending::default(),
        }
    }

    /// Starts (`Some(fd)`) or stops recording to `fd` (see `Replay`); a
    /// recording stops by itself at the end of the archive.
    pub fn record(&mut self, out: Option<Fd>) -> Res<()> {
        if self.rec.fd >= 0 {
            self.rec.settle();
            self.rec.flush();
        }
        self.rec.fd = out.unwrap_or(-1);
        match core::mem::take(&mut self.rec.err) {
            0 => Ok(()),
            e => Err(Error::sys(m!("write layer recording"), b"", e)),
        }
    }

    /// Bytes buffered, reading more when none are; 0 at the end.
    fn fill(&mut self) -> Res<usize> {
        if self.pos == self.len {
            self.len = self.src.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(self.len - self.pos)
    }

    /// Consumes `n` buffered bytes, recording them unless file data.
    fn eat(&mut self, n: usize) {
        if self.rec.fd >= 0 && !self.file {
            self.rec.note(&self.buf[self.pos..self.pos + n]);
        }
        self.pos += n;
    }

    /// Whether the input starts with `magic` (gzip, zstd), consuming nothing.
    pub fn starts_with(&mut self, magic: &[u8]) -> Res<bool> {
        self.fill()?;
        Ok(self.buf[self.pos..self.len].starts_with(magic))
    }

    /// How much of the current entry's data is buffered (reading more).
    fn chunk(&mut self) -> Res<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        match self.fill()? {
            0 => truncated(),
            k => Ok(min(k as u64, self.left) as usize),
        }
    }

    fn take(&mut self, n: usize) {
        self.left -= n as u64;
        self.eat(n)
    }

    /// The next buffered piece (at most `max` bytes) of the current
    /// entry's data, consumed; empty at its end.
    #[inline(never)]
    fn piece(&mut self, max: usize) -> Res<&[u8]> {
        let n = min(self.chunk()?, max);
        let at = self.pos;
        self.take(n);
        Ok(&self.buf[at..at + n])
    }

    /// Streams the rest of the current entry's data to `sink`.
    #[cfg(test)]
    pub fn data(&mut self, sink: &mut dyn FnMut(&[u8]) -> Res<()>) -> Res<()> {
        loop {
            let s = self.piece(usize::MAX)?;
            if s.is_empty() {
                return Ok(());
            }
            sink(s)?;
        }
    }

    /// The current entry's data as a `Source` (bounded by its size).
    pub fn source(&mut self) -> EntrySource<'_, 'a> {
        EntrySource(self)
    }

    /// Skips what is left of the current entry: data, then padding.
    fn skip(&mut self) -> Res<()> {
        while self.left > 0 || self.pad > 0 {
            let k = self.fill()?;
            if k == 0 {
                return truncated();
            }
            if self.left > 0 {
                let n = min(k as u64, self.left) as usize;
                self.take(n);
            } else {
                self.file = false;
                let n = min(k, self.pad);
                self.pad -= n;
                self.eat(n);
            }
        }
        self.file = false;
        Ok(())
    }

    /// One 512-byte block; false at a clean end before its first byte.
    fn block(&mut self, h: &mut [u8; 512]) -> Res<bool> {
        let mut done = 0;
        while done < 512 {
            let k = self.fill()?;
            if k == 0 {
                return if done == 0 { Ok(false) } else { truncated() };
            }
            let n = min(k, 512 - done);
            h[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.eat(n);
            done += n;
        }
        Ok(true)
    }

    /// The next entry (after skipping what was not read of this one), or
    /// None at the end: a zero block (everything after it, to EOF, is
    /// read and recorded) or a clean EOF between entries.
    #[inline(never)]
    pub fn next(&mut self) -> Res<Option<Entry>> {
        if self.state == 2 {
            return Ok(None);
        }
        self.skip()?;
        let mut h = [0u8; 512];
        loop {
            if !self.block(&mut h)? {
                if self.state == 0 {
                    return Err(bad(m!("empty")));
                }
                return self.end();
            }
            if h.iter().all(|&c| c == 0) {
                while self.fill()? > 0 {
                    self.eat(self.len - self.pos);
                }
                return self.end();
            }
            if !checksum_ok(&h) {
                return Err(bad(if self.state == 0 { m!("not a tar archive (bad checksum)") } else { m!("corrupt header (bad checksum)") }));
            }
            self.state = 1;
            let mut ty = h[156];
            let meta = matches!(ty, b'L' | b'K' | b'x' | b'g');
            let p = &mut self.pending;
            let mut num = [0u64; 5];
            for i in 0..5 {
                let (a, b) = (FIELD[i].0 as usize, FIELD[i].1 as usize);
                let mut v = num_field(&h[a..b]);
                if !meta && i < 4 && p.num[i].is_some() {
                    v = p.num[i].take();
                }
                num[i] = match v {
                    Some(v) => v,
                    None if i == 0 => return Err(bad(m!("bad size field"))),
                    None => 0,
                };
            }
            let size = num[0];
            self.left = size;
            self.pad = ((512 - size % 512) % 512) as usize;
            if meta {
                if size > 1 << 20 {
                    return Err(bad(m!("oversized metadata entry")));
                }
                let mut d = Vec::new();
                loop {
                    let s = self.piece(usize::MAX)?;
                    if s.is_empty() {
                        break;
                    }
                    d.extend_from_slice(s);
                }
                let p = &mut self.pending;
                if ty == b'x' {
                    pax(&d, p);
                }
                if ty == b'L' || ty == b'K' {
                    d.truncate(cstr(&d).len());
                    *if ty == b'L' { &mut p.path } else { &mut p.link } = Some(d);
                } else {
                    sys::free(d);
                }
                self.skip()?;
                continue;
            }
            let path = match p.path.take() {
                Some(v) => v,
                None => {
                    let name = cstr(&h[0..100]);
                    let prefix = cstr(&h[345..500]);
                    let mut v = Vec::new();
                    if h[257..263] == USTAR[..6] && !prefix.is_empty() {
                        v.extend_from_slice(prefix);
                        v.push(b'/');
                    }
                    v.extend_from_slice(name);
                    v
                }
            };
            let link = p.link.take().unwrap_or_else(|| cstr(&h[157..257]).to_vec());
            if ty == 0 && path.last() == Some(&b'/') {
                ty = b'5';
            } else if ty == 0 || ty == b'7' {
                ty = b'0';
            }
            self.file = ty == b'0' && size > 0;
            if self.file && self.rec.fd >= 0 {
                self.rec.settle();
                self.rec.op(2, size);
                let o = &mut self.rec.out;
                varint(o, path.len() as u64);
                o.extend_from_slice(&path);
            }
            return Ok(Some(Entry {
                path,
                link,
                ty,
                mode: (num[4] & 0o7777) as u32,
                uid: num[1] as u32,
                gid: num[2] as u32,
                mtime: num[3] as i64,
                size,
                xattrs: core::mem::take(&mut self.pending.xattrs),
            }));
        }
    }

    /// Gives the buffers back (see sys::Malloc; no Drop: its glue on every
    /// error path costs more code): for loops that make a reader per layer.
    pub fn free(self) {
        sys::free(self.buf);
        sys::free(self.rec.out);
        sys::free(self.rec.lit);
    }

    fn end(&mut self) -> Res<Option<Entry>> {
        self.state = 2;
        self.record(None)?;
        Ok(None)
    }
}

/// The current entry's data as a `Source` (`Reader::source`).
pub struct EntrySource<'r, 'a>(pub &'r mut Reader<'a>);

impl Source for EntrySource<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        let s = self.0.piece(buf.len())?;
        // (`get_mut`: no bounds-check panic path; `piece` gives at most that)
        if let Some(d) = buf.get_mut(..s.len()) {
            d.copy_from_slice(s);
        }
        Ok(s.len())
    }
}

/// An octal (or GNU base-256) numeric header field.
pub fn num_field(f: &[u8]) -> Option<u64> {
    if f.first().is_some_and(|&c| c & 0x80 != 0) {
        let mut n: u64 = (f[0] & 0x3f) as u64;
        for &c in &f[1..] {
            n = n.checked_mul(256)?.checked_add(c as u64)?;
        }
        return Some(n);
    }
    let mut n: u64 = 0;
    let mut seen = false;
    for &c in f {
        match c {
            b'0'..=b'7' => {
                n = n.checked_mul(8)?.checked_add((c - b'0') as u64)?;
                seen = true;
            }
            b' ' | 0 if !seen => continue,
            b' ' | 0 => break,
            _ => return None,
        }
    }
    Some(n)
}

fn cstr(f: &[u8]) -> &[u8] {
    &f[..f.iter().position(|&c| c == 0).unwrap_or(f.len())]
}

/// The checksum as POSIX sums it (unsigned bytes), or as old tars did (signed).
fn checksum_ok(h: &[u8; 512]) -> bool {
    let Some(want) = num_field(&h[148..156]) else { return false };
    let (u, s) = sums(h);
    want as i64 == u || want as i64 == s
}

/// A header's byte sums, its checksum field counted as 8 spaces: unsigned
/// (POSIX) and signed. The writer's checksum too.
#[inline(never)]
fn sums(h: &[u8; 512]) -> (i64, i64) {
    let (mut u, mut s) = (0i64, 0i64);
    for (i, &c) in h.iter().enumerate() {
        let c = if i.wrapping_sub(148) < 8 { b' ' } else { c };
        u += c as i64;
        s += c as i8 as i64;
    }
    (u, s)
}

fn pax(data: &[u8], p: &mut Pending) {
    let mut rest = data;
    while let Some(sp) = rest.iter().position(|&c| c == b' ') {
        let Some(len) = parse_u64(&rest[..sp]) else { break };
        let len = len as usize;
        if len <= sp + 1 || len > rest.len() {
            break;
        }
        let rec = &rest[sp + 1..len - 1]; // strip the trailing newline
        if let Some(eq) = rec.iter().position(|&c| c == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            let i = crate::engine::util::word_index(PAX_NUM, k).unwrap_or(6);
            if i < 4 {
                // (mtime may carry a fraction)
                p.num[i] = parse_u64(&v[..v.iter().position(|&c| c == b'.').unwrap_or(v.len())]);
            } else if i < 6 {
                *if i == 4 { &mut p.path } else { &mut p.link } = Some(v.to_vec());
            } else if let Some(x) = k.strip_prefix(&CAP_KEY[..13]) {
                p.xattrs.push((x.to_vec(), v.to_vec()));
            }
        }
        rest = &rest[len..];
    }
}

/// Splits an archive path into safe components: leading `/` and `.` are
/// dropped; `..` anywhere is refused.
pub fn components(p: &[u8]) -> Result<Vec<&[u8]>, ()> {
    let mut v = Vec::new();
    for c in util::fields(p, b'/') {
        match c {
            b"" | b"." => continue,
            b".." => return Err(()),
            _ => v.push(c),
        }
    }
    Ok(v)
}

const DIR: i32 = sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW;

/// Opens the directory holding the last of `comps` (non-empty) under
/// `root`, one component at a time, never following a symlink; missing
/// ones are created when `create`.
fn walk(root: Fd, comps: &[&[u8]], create: bool) -> sys::R<Owned> {
    let mut cur = sys::openat(root, b".", DIR, 0)?;
    for c in &comps[..comps.len() - 1] {
        let mut r = sys::openat(cur.raw(), c, DIR, 0);
        if create && matches!(r, Err(sys::ENOENT)) {
            let _ = sys::mkdirat(cur.raw(), c, 0o755);
            r = sys::openat(cur.raw(), c, DIR, 0);
        }
        cur = r?; // (the assignment drops, and closes, the parent)
    }
    Ok(cur)
}

/// The directory holding `path`'s last component inside `root` (which
/// must exist, reached through no symlink) and that component; None for
/// the root itself or a path with `..`.
fn locate(root: Fd, path: &[u8]) -> Option<(Owned, &[u8])> {
    let c = components(path).ok()?;
    let last = *c.last()?;
    let d = walk(root, &c, false).ok()?;
    sys::free(c);
    Some((d, last))
}

fn hostile(path: &[u8], why: Msg) -> Error {
    Error::quoted(m!("archive entry"), path, why)
}

const PARENT: Msg = m!("a parent is not a directory (refused)");

/// Removes `name` (a whole tree if a directory), never following symlinks.
fn remove(dir: Fd, name: &[u8], is_dir: bool) -> sys::R<()> {
    if is_dir {
        let d = sys::openat(dir, name, DIR, 0)?;
        util::remove_children(d.raw())?;
        drop(d);
        return sys::unlinkat(dir, name, sys::AT_REMOVEDIR);
    }
    sys::unlinkat(dir, name, 0)
}

/// How `extract` treats whiteouts (`D/.wh.NAME`, `D/.wh..wh..opq`).
#[derive(Clone, Copy, PartialEq)]
pub enum Whiteouts {
    /// Flattening layers into one tree: delete NAME; empty D of what lower
    /// layers put there (this layer's entries stay, whatever the order).
    Apply,
    /// A layer directory for overlayfs: NAME becomes a 0:0 char device, D
    /// gets `trusted.overlay.opaque=y`.
    Overlay,
}

/// What `extract` did. `exact_replay`: nothing the archive wrote was
/// replaced or lost (no duplicates, no data outside a regular file), so
/// its recording replays the exact archive from the tree. (In `Apply`
/// mode any replacement, of lower layers' files too, clears it.)
/// `entries` and `exact_replay` are for the tests: the binary uses
/// `bytes` only (save checks a rebuilt layer by its digest).
pub struct Stats {
    #[cfg(test)]
    pub entries: u64,
    pub bytes: u64,
    #[cfg(test)]
    pub exact_replay: bool,
}

impl Stats {
    /// Clears `exact_replay` (a test's concern only).
    #[inline(always)]
    fn inexact(&mut self) {
        #[cfg(test)]
        {
            self.exact_replay = false;
        }
    }
}

struct X {
    root: Fd,
    how: Whiteouts,
    /// Apply: the inodes this layer made or touched (an opaque dir keeps
    /// them). Searched linearly, unsorted: only an opaque directory of the
    /// flattening fallback looks, and util::sort_by's u64 copy cost 115 B.
    mine: Vec<u64>,
    /// Directories' (mode, mtime, path), set at the end.
    dirs: Vec<(u32, i64, Vec<u8>)>,
    st: Stats,
}

/// Literals that others are slices of (each byte of .rodata once):
/// `trusted.`, `security.capability`, `SCHILY.xattr.`, `.wh.`, `.opq`,
/// `ustar\0`.
const OPAQUE: &[u8] = b"trusted.overlay.opaque";
const CAP_KEY: &[u8] = b"SCHILY.xattr.security.capability";
const WH_OPQ: &[u8] = b".wh..wh..opq";
const USTAR: &[u8] = b"ustar\x0000";

impl X {
    /// Removes whatever is at `name` unless it is a directory and we want one.
    fn clear(&mut self, dir: Fd, name: &[u8], want_dir: bool) -> Res<()> {
        let sr = sys::statat(dir, name, false);
        let Ok(st) = &sr else { return Ok(()) };
        if st.is_dir() && want_dir {
            return Ok(());
        }
        self.st.inexact();
        remove(dir, name, st.is_dir()).ctx(m!("replace"), name)
    }

    /// Apply: empties `dir` of what this layer did not make, keeping the
    /// directories that hold something it made.
    fn prune(&self, dir: Fd) -> sys::R<()> {
        let ents = sys::read_dir(dir)?;
        for (name, _) in &ents {
            let sr = sys::statat(dir, name, false);
            let st = sr.as_ref().map_err(|e| *e)?;
            // (a loop: `contains` on u64s is core's 8-wide unrolled search)
            let mut mine = false;
            for &i in &self.mine {
                mine |= i == st.ino;
            }
            if st.is_dir() {
                let d = sys::openat(dir, name, DIR, 0)?;
                self.prune(d.raw())?;
                drop(d);
                if !mine {
                    let _ = sys::unlinkat(dir, name, sys::AT_REMOVEDIR); // kept if not empty
                }
            } else if !mine {
                sys::unlinkat(dir, name, 0)?;
            }
        }
        sys::free_names(ents);
        Ok(())
    }

    /// `D/.wh.NAME` or `D/.wh..wh..opq` (`wh` = NAME, or "" for opaque).
    fn whiteout(&mut self, e: &Entry, comps: &[&[u8]], wh: &[u8]) -> Res<()> {
        if e.size > 0 {
            self.st.inexact();
        }
        let overlay = self.how == Whiteouts::Overlay;
        let opaque = wh.is_empty();
        let dir = match walk(self.root, comps, overlay || opaque) {
            Ok(d) => d,
            Err(sys::ENOENT) => return Ok(()), // nothing to delete
            Err(_) => return Err(hostile(&e.path, PARENT)),
        };
        let d = dir.raw();
        let mut op = m!("remove");
        let mut r = Ok(());
        if opaque {
            if overlay {
                op = m!("mark opaque");
                r = sys::fsetxattr(d, OPAQUE, b"y");
            } else {
                op = m!("empty opaque directory");
                r = self.prune(d);
            }
        } else {
            if let Ok(st) = &sys::statat(d, wh, false) {
                if overlay {
                    self.st.inexact();
                }
                r = remove(d, wh, st.is_dir());
            }
            if overlay && r.is_ok() {
                op = m!("create whiteout");
                r = sys::mknodat(d, wh, sys::S_IFCHR, 0, 0);
            }
        }
        r.ctx(op, &e.path)
    }

    #[inline(never)]
    fn entry(&mut self, r: &mut Reader, e: &Entry, comps: &[&[u8]]) -> Res<()> {
        let last = comps[comps.len() - 1];
        if let Some(wh) = last.strip_prefix(&WH_OPQ[..4]) {
            if let Some(x) = wh.strip_prefix(&WH_OPQ[..4]) {
                if x == &WH_OPQ[8..] {
                    return self.whiteout(e, comps, b"");
                }
                return Ok(()); // aufs metadata (.wh..wh.plnk ...): not content
            }
            if wh.len() < 3 && wh.iter().all(|&c| c == b'.') {
                // "", "." or ".."
                return Err(hostile(&e.path, m!("bad whiteout (refused)")));
            }
            return self.whiteout(e, comps, wh);
        }
        let dir = walk(self.root, comps, true).map_err(|_| hostile(&e.path, PARENT))?;
        let (d, name, path) = (dir.raw(), last, &e.path[..]);
        let mut f = Owned::none();
        let mut op = m!("create");
        let res = match e.ty {
            b'0' | b'2' | b'5' | b'6' => {
                self.clear(d, name, e.ty == b'5')?;
                match e.ty {
                    b'0' => sys::openat(d, name, sys::O_WRONLY | sys::O_CREAT | sys::O_EXCL | sys::O_NOFOLLOW, 0o600).map(|o| f = o),
                    b'5' => {
                        // (listed before it exists: a failure returns, and the list goes with `self`)
                        self.dirs.push((e.mode, e.mtime, path.to_vec()));
                        match sys::mkdirat(d, name, 0o700) {
                            Ok(()) | Err(sys::EEXIST) => {
                                op = m!("open");
                                sys::openat(d, name, DIR, 0).map(|o| f = o)
                            }
                            x => x,
                        }
                    }
                    b'2' => {
                        op = m!("create symlink");
                        sys::symlinkat(&e.link, d, name)
                    }
                    _ => {
                        op = m!("create fifo");
                        sys::mknodat(d, name, sys::S_IFIFO | e.mode, 0, 0)
                    }
                }
            }
            b'1' => {
                // inside the layer, through no symlink, and not the root
                let Some((t, tl)) = locate(self.root, &e.link) else {
                    return Err(hostile(path, m!("hard link target not in the layer (refused)")));
                };
                self.clear(d, name, false)?;
                op = m!("create hard link");
                sys::linkat(t.raw(), tl, d, name)
            }
            // Character and block devices are never created from an
            // image; other types (sparse, volume labels) are skipped.
            _ => return Ok(()),
        };
        res.ctx(op, path)?;
        if let b'0' = e.ty {
            loop {
                let s = r.piece(usize::MAX)?;
                if s.is_empty() {
                    break;
                }
                sys::write_all(f.raw(), s).ctx(m!("write"), path)?;
            }
            self.st.bytes += e.size;
        }

        // chown clears S_ISUID/S_ISGID and security.capability: it goes first.
        if e.ty != b'1' {
            let _ = sys::fchownat_nofollow(d, name, e.uid, e.gid);
        }
        if e.ty == b'0' {
            let _ = sys::fchmod(f.raw(), e.mode);
        }
        if f.raw() >= 0 {
            for (k, v) in &e.xattrs {
                if k.starts_with(&OPAQUE[..8]) || k == b"security.selinux" {
                    continue;
                }
                match sys::fsetxattr(f.raw(), k, v) {
                    Ok(()) | Err(sys::ENOTSUP) => {}
                    Err(x) => return Err(Error::sys(m!("set xattr on"), path, x)),
                }
            }
        }
        drop(f); // closed before the mtime is set
        if self.how == Whiteouts::Apply {
            if let Ok(st) = &sys::statat(d, name, false) {
                self.mine.push(st.ino);
            }
        }
        if matches!(e.ty, b'0' | b'2') {
            let _ = sys::set_mtime(d, name, e.mtime);
        }
        Ok(())
    }
}

/// Extracts the archive `r` reads into the directory `root`, whiteouts as
/// `how` says. Regular files' bytes are counted (an image's size, counted
/// while writing instead of walked afterwards).
#[inline(never)]
pub fn extract(r: &mut Reader, root: Fd, how: Whiteouts) -> Res<Stats> {
    let mut x = X {
        root,
        how,
        mine: Vec::new(),
        dirs: Vec::new(),
        st: Stats {
            #[cfg(test)]
            entries: 0,
            bytes: 0,
            #[cfg(test)]
            exact_replay: true,
        },
    };
    loop {
        // (the entry is used inside next's result, not copied out of it)
        let mut n = r.next();
        let e = match &mut n {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => return Err(*e),
        };
        let comps = components(&e.path).map_err(|_| hostile(&e.path, m!("path contains \"..\" (refused)")))?;
        if comps.is_empty() {
            // "./" itself: the root keeps its mode; data (if any) skipped.
            if e.size > 0 {
                x.st.inexact();
            }
        } else {
            x.entry(r, e, &comps)?;
            #[cfg(test)]
            {
                x.st.entries += 1;
            }
        }
        // Freed per entry (see sys::Malloc): an archive of any length
        // costs the same memory (but for `mine` and `dirs`).
        sys::free(comps);
        if let Ok(Some(e)) = n {
            e.free();
        }
    }
    // Directory modes and mtimes, now that their children are written.
    for (mode, mtime, path) in x.dirs.iter_mut() {
        if let Some((p, last)) = locate(root, path) {
            if let Ok(f) = sys::openat(p.raw(), last, DIR, 0) {
                let _ = sys::fchmod(f.raw(), *mode);
                drop(f);
                let _ = sys::set_mtime(p.raw(), last, *mtime);
            }
        }
        sys::free(core::mem::take(path));
    }
    sys::free(x.dirs);
    sys::free(x.mine);
    Ok(x.st)
}

// ---------------------------------------------------------------- replay

/// Rebuilds a layer's exact tar from its recording (see `Reader::record`)
/// and its extracted tree: file data is read from the tree, resolved
/// inside `root` without following symlinks; a file that is not what the
/// recording says (type, size) is an error.
pub struct Replay {
    rec: Fd,
    root: Fd,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    tag: u8,
    left: u64,
    file: Owned,
}

#[cold]
#[inline(never)]
fn corrupt() -> Error {
    Error::text(m!("layer recording: corrupt"))
}

fn bad_recording<T>() -> Res<T> {
    Err(corrupt())
}

impl Replay {
    pub fn new(rec: Fd, root: Fd) -> Replay {
        Replay { rec, root, buf: alloc::vec![0u8; 65536], pos: 0, len: 0, tag: 0, left: 0, file: Owned::none() }
    }

    /// Gives the buffer back (see `Reader::free`).
    pub fn free(self) {
        sys::free(self.buf);
    }

    fn fill(&mut self) -> Res<usize> {
        if self.pos == self.len {
            self.len = sys::read(self.rec, &mut self.buf).ctx(m!("read layer recording"), b"")?;
            self.pos = 0;
        }
        Ok(self.len - self.pos)
    }

    /// The next byte; the recording ending here is corrupt.
    fn byte(&mut self) -> Res<u8> {
        if self.fill()? == 0 {
            return bad_recording();
        }
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    fn varint(&mut self) -> Res<u64> {
        let mut n = 0u64;
        let mut shift = 0;
        while shift < 64 {
            let b = self.byte()?;
            n |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
            shift += 7;
        }
        bad_recording()
    }

    /// The file at `path` in the tree, which must be regular, of `size` bytes.
    #[inline(never)]
    fn open(&self, path: &[u8], size: u64) -> Res<Owned> {
        if let Some((d, last)) = locate(self.root, path) {
            if let Ok(f) = sys::openat(d.raw(), last, sys::O_RDONLY | sys::O_NOFOLLOW | sys::O_NONBLOCK, 0) {
                if sys::fstat(f.raw()).as_ref().is_ok_and(|st| st.kind() == sys::S_IFREG && st.size == size) {
                    return Ok(f);
                }
            }
        }
        Err(Error::quoted(m!("layer file"), path, m!("does not match the layer's recording")))
    }
}

impl Source for Replay {
    fn read(&mut self, out: &mut [u8]) -> Res<usize> {
        while self.left == 0 {
            self.file = Owned::none(); // (closes the last one)
            if self.fill()? == 0 {
                return Ok(0); // the end, between ops
            }
            let t = self.byte()?;
            self.tag = t;
            self.left = self.varint()?;
            if t == 2 {
                let n = self.varint()?;
                if n > 1 << 20 {
                    return bad_recording();
                }
                let mut p = Vec::new();
                for _ in 0..n {
                    p.push(self.byte()?);
                }
                self.file = self.open(&p, self.left)?;
                sys::free(p);
            } else if t > 2 {
                return bad_recording();
            }
        }
        // (`out` cut to what is left once: no bounds checks after)
        let k = min(out.len() as u64, self.left) as usize;
        let out = &mut out[..k];
        let mut n = out.len();
        match self.tag {
            0 => out.fill(0),
            1 => {
                n = min(n, self.fill()?);
                if n == 0 {
                    return bad_recording();
                }
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
            }
            _ => {
                n = sys::read(self.file.raw(), out).ctx(m!("read layer file"), b"")?;
                if n == 0 {
                    return Err(Error::text(m!("layer file: shorter than its recording")));
                }
            }
        }
        self.left -= n as u64;
        Ok(n)
    }
}

// ---------------------------------------------------------------- writer

/// Writes a tree as a ustar archive (GNU long-name entries past 100 bytes),
/// as `docker export` does: directories, files, symlinks, hard links (by
/// inode), fifos, in name order; files' `security.capability` as PAX
/// `SCHILY.xattr`; device nodes and sockets are left out. `layer`: the
/// tree is an overlayfs upper dir, whose whiteouts (0:0 char devices) and
/// opaque dirs are written as `.wh.NAME` and `D/.wh..wh..opq` entries.
pub struct Writer {
    out: Fd,
    pub layer: bool,
    links: Vec<(u64, Vec<u8>)>,
    /// File data passes through here (allocated once): BUF bytes, then
    /// 1 KiB of zeros for padding and the end of the archive.
    buf: Vec<u8>,
}

const BUF: usize = 65536;

/// A file being archived, as a `Source` (read errors name it).
struct FileSrc<'p>(Fd, &'p [u8]);

impl Source for FileSrc<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        sys::read(self.0, buf).ctx(m!("read"), self.1)
    }
}

#[inline(never)]
fn put(out: Fd, d: &[u8]) -> Res<()> {
    sys::write_all(out, d).ctx(m!("write archive"), b"")
}

fn put_oct(h: &mut [u8], v: u64) {
    // right-aligned octal, NUL-terminated; base-256 when it does not fit
    // (`split_last_mut`: no bounds-check panic paths)
    let Some((last, digits)) = h.split_last_mut() else { return };
    let mut x = v;
    if v >= 1u64 << (3 * digits.len()) {
        *last = x as u8;
        for d in digits.iter_mut().rev() {
            x >>= 8;
            *d = x as u8;
        }
        if let Some(d) = digits.first_mut() {
            *d = 0x80;
        }
        return;
    }
    for d in digits.iter_mut().rev() {
        *d = b'0' + (x & 7) as u8;
        x >>= 3;
    }
    *last = 0;
}

impl Writer {
    #[inline(never)]
    pub fn new(out: Fd) -> Writer {
        Writer { out, layer: false, links: Vec::new(), buf: alloc::vec![0u8; BUF + 1024] }
    }

    /// One header block; the size is `st.size`.
    fn raw(&self, name: &[u8], st: &sys::Stat, ty: u8, link: &[u8]) -> Res<()> {
        let mut h = [0u8; 512];
        h[..min(100, name.len())].copy_from_slice(&name[..min(100, name.len())]);
        let v = [st.size, st.uid as u64, st.gid as u64, st.mtime.max(0) as u64, (st.mode & 0o7777) as u64];
        for i in 0..5 {
            put_oct(&mut h[FIELD[i].0 as usize..FIELD[i].1 as usize], v[i]);
        }
        h[156] = ty;
        h[157..157 + min(100, link.len())].copy_from_slice(&link[..min(100, link.len())]);
        h[257..265].copy_from_slice(USTAR);
        let sum = sums(&h).0;
        put_oct(&mut h[148..155], sum as u64);
        h[155] = b' ';
        self.put(&h)
    }

    /// A plain file entry (mode 0444, root's, time 0, as podman writes
    /// an archive's members) of exactly `size` bytes from `src`.
    pub fn file(&mut self, name: &[u8], size: u64, src: &mut dyn Source) -> Res<()> {
        self.plain(name, size, 0o444, b'0')?;
        self.body(size, src, name)
    }

    /// Such a member of the bytes `d`.
    pub fn mem(&mut self, name: &[u8], d: &[u8]) -> Res<()> {
        self.plain(name, d.len() as u64, 0o444, b'0')?;
        self.data(d)
    }

    /// The header of a member owned by root, of time 0 and no link.
    #[inline(never)]
    fn plain(&self, name: &[u8], size: u64, mode: u32, ty: u8) -> Res<()> {
        let st = sys::Stat { mode, size, ..sys::Stat::default() };
        self.header(name, &st, ty, b"")
    }

    /// `size` bytes of data from `src`, then the padding. A source that
    /// ends early is an error for a member named `short`; without a name
    /// (a file that shrank while it was read) the rest is zeros.
    #[inline(never)]
    fn body(&mut self, size: u64, src: &mut dyn Source, short: &[u8]) -> Res<()> {
        let buf = &mut self.buf[..BUF]; // one for the whole archive
        let mut left = size;
        while left > 0 {
            let k = min(left, buf.len() as u64) as usize;
            let mut n = src.read(&mut buf[..k])?;
            if n == 0 {
                if !short.is_empty() {
                    return Err(Error::quoted(m!("archive member"), short, m!("is shorter than its size")));
                }
                buf[..k].fill(0);
                n = k;
            }
            put(self.out, &buf[..n])?;
            left -= n as u64;
        }
        self.pad(size)
    }

    fn long(&self, ty: u8, v: &[u8]) -> Res<()> {
        let mut d = v.to_vec();
        d.push(0);
        self.meta(b"././@LongLink", ty, d)
    }

    /// A metadata entry (GNU long name, PAX) of data `d`, which it frees.
    #[inline(never)]
    fn meta(&self, name: &[u8], ty: u8, d: Vec<u8>) -> Res<()> {
        let r = self.plain(name, d.len() as u64, 0, ty).and_then(|_| self.data(&d));
        sys::free(d);
        r
    }

    /// A PAX `x` entry with one record, the capability xattr `v` (at most
    /// 255 bytes: `fgetxattr`), as "LEN key=v\n", LEN counting itself.
    fn pax_cap(&self, v: &[u8]) -> Res<()> {
        let key = CAP_KEY;
        let body = key.len() + v.len() + 3; // 35..=290: LEN has 2 or 3 digits
        let mut d = util::num((body + if body < 98 { 2 } else { 3 }) as u64);
        d.push(b' ');
        d.extend_from_slice(key);
        d.push(b'=');
        d.extend_from_slice(v);
        d.push(b'\n');
        self.meta(b"PaxHeader", b'x', d)
    }

    fn data(&self, d: &[u8]) -> Res<()> {
        self.put(d)?;
        self.pad(d.len() as u64)
    }

    fn put(&self, d: &[u8]) -> Res<()> {
        put(self.out, d)
    }

    /// Zeros up to the next 512-byte boundary after `n` bytes of data.
    fn pad(&self, n: u64) -> Res<()> {
        self.zeros((512 - (n % 512) as usize) % 512)
    }

    /// `n` (at most 1024) zero bytes: the buffer's last KiB, never written.
    fn zeros(&self, n: usize) -> Res<()> {
        self.put(&self.buf[BUF..BUF + n])
    }

    fn header(&self, name: &[u8], st: &sys::Stat, ty: u8, link: &[u8]) -> Res<()> {
        if name.len() > 100 {
            self.long(b'L', name)?;
        }
        if link.len() > 100 {
            self.long(b'K', link)?;
        }
        self.raw(name, st, ty, link)
    }

    /// Adds the children of `dir` under the prefix `rel` ("" for the root).
    /// `skip(rel)` leaves a directory's contents out (volumes); a directory
    /// on another device than `dev` (another mount) is added empty.
    /// What it allocates per entry it frees (see sys::Malloc): a tree of
    /// any size costs the same memory.
    pub fn tree(&mut self, dir: Fd, rel: &[u8], dev: u64, skip: &dyn Fn(&[u8]) -> bool) -> Res<()> {
        let ents = sys::read_dir(dir).ctx(m!("read directory"), rel)?;
        // in name order, through the indices (no permutation code)
        let ix = crate::engine::util::sorted_order(ents.len(), &|a, b| ents[a].0 < ents[b].0);
        for &i in &ix {
            let name = &ents[i].0;
            let mut path = rel.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            let mut sr = sys::statat(dir, name, false);
            let Ok(st) = &mut sr else { continue };
            // the header's name is `path` (changed in place), its link
            // target `own` (a copy of a recorded hard link's); sizes but a
            // file's are 0
            let plen = path.len();
            let mut own = Vec::new();
            let mut file = Owned::none();
            let size = st.size;
            st.size = 0;
            let ty = match st.kind() {
                sys::S_IFDIR => {
                    path.push(b'/');
                    b'5'
                }
                sys::S_IFCHR if self.layer && st.rdev == 0 => {
                    path.truncate(plen - name.len());
                    path.extend_from_slice(&WH_OPQ[..4]);
                    path.extend_from_slice(name);
                    (st.mode, st.uid, st.gid) = (0, 0, 0);
                    b'0'
                }
                sys::S_IFREG => {
                    let mut i = if st.nlink > 1 { 0 } else { self.links.len() };
                    while i < self.links.len() && self.links[i].0 != st.ino {
                        i += 1;
                    }
                    if i < self.links.len() {
                        own = self.links[i].1.clone();
                        b'1'
                    } else {
                        if st.nlink > 1 {
                            self.links.push((st.ino, path.clone()));
                        }
                        file = sys::openat(dir, name, sys::O_RDONLY | sys::O_NOFOLLOW, 0).ctx(m!("open"), &path)?;
                        if let Ok(cap) = sys::fgetxattr(file.raw(), &CAP_KEY[13..]) {
                            self.pax_cap(&cap)?;
                            sys::free(cap);
                        }
                        st.size = size;
                        b'0'
                    }
                }
                sys::S_IFLNK => {
                    own = sys::readlinkat(dir, name).ctx(m!("read link"), &path)?;
                    b'2'
                }
                sys::S_IFIFO => b'6',
                _ => 0, // sockets, devices: left out
            };
            if ty != 0 {
                self.header(&path, st, ty, &own)?;
            }
            if ty == b'5' {
                let sub = sys::openat(dir, name, DIR, 0).ctx(m!("open"), &path)?;
                if self.layer && sys::fgetxattr(sub.raw(), OPAQUE).is_ok_and(|v| v == b"y") {
                    path.extend_from_slice(WH_OPQ);
                    st.mode = 0o755;
                    self.header(&path, st, b'0', b"")?;
                }
                path.truncate(plen);
                if st.dev == dev && !skip(&path) {
                    self.tree(sub.raw(), &path, dev, skip)?;
                }
                drop(sub); // one descriptor per level, not per entry
            } else if file.raw() >= 0 {
                self.body(st.size, &mut FileSrc(file.raw(), &path), b"")?;
            }
            drop(file);
            sys::free(own);
            sys::free(path);
        }
        sys::free(ix);
        sys::free_names(ents);
        Ok(())
    }

    pub fn finish(&mut self) -> Res<()> {
        self.zeros(1024)
    }
}

// ---------------------------------------------------------------- tests

#[cfg(test)]
pub mod tests {
    use super::*;

    const CAP: &[u8] = b"security.capability";

    #[test]
    fn octal_fields() {
        for (len, v) in [(12, 0o777u64), (12, 1 << 40), (8, 0o7777777), (8, 1 << 21), (12, 0)] {
            let mut f = vec![0xffu8; len];
            put_oct(&mut f, v);
            assert_eq!(num_field(&f), Some(v), "{len} {v}");
        }
        let mut f = [0u8; 8];
        put_oct(&mut f, 0o644);
        assert_eq!(&f, b"0000644\0");
        put_oct(&mut f, 1 << 30);
        assert_eq!(f, [0x80, 0, 0, 0, 0x40, 0, 0, 0]);
    }

    #[test]
    fn literal_slices() {
        assert_eq!(&CAP_KEY[13..], CAP);
        assert_eq!(&CAP_KEY[..13], b"SCHILY.xattr.");
        assert_eq!(&OPAQUE[..8], b"trusted.");
        assert_eq!(&WH_OPQ[..4], b".wh.");
        assert_eq!(&WH_OPQ[8..], b".opq");
        assert_eq!(&USTAR[..6], b"ustar\0");
    }
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};

    /// A minimal ustar writer for building test archives (incl. hostile ones).
    pub fn header(name: &str, ty: u8, size: usize, link: &str, mode: u32) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let oct = |h: &mut [u8; 512], at: usize, len: usize, v: u64| {
            let s = format!("{:0w$o}", v, w = len - 1);
            h[at..at + len - 1].copy_from_slice(s.as_bytes());
        };
        oct(&mut h, 100, 8, mode as u64);
        oct(&mut h, 108, 8, 0);
        oct(&mut h, 116, 8, 0);
        oct(&mut h, 124, 12, size as u64);
        oct(&mut h, 136, 12, 1_600_000_000);
        h[156] = ty;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        sum(&mut h);
        h
    }

    fn sum(h: &mut [u8; 512]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&c| c as u32).sum();
        let s = format!("{:06o}\0 ", sum);
        h[148..156].copy_from_slice(s.as_bytes());
    }

    pub fn entry(out: &mut Vec<u8>, name: &str, ty: u8, data: &[u8], link: &str, mode: u32) {
        raw_entry(out, &header(name, ty, data.len(), link, mode), data);
    }

    fn raw_entry(out: &mut Vec<u8>, h: &[u8; 512], data: &[u8]) {
        out.extend_from_slice(h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    /// One PAX record, "LEN key=value\n".
    fn pax_rec(k: &str, v: &[u8]) -> Vec<u8> {
        let body = k.len() + v.len() + 3;
        let mut n = body;
        while body + n.to_string().len() != n {
            n = body + n.to_string().len();
        }
        let mut r = format!("{n} {k}=").into_bytes();
        r.extend_from_slice(v);
        r.push(b'\n');
        assert_eq!(r.len(), n);
        r
    }

    /// An archive in memory, read in odd-sized pieces (headers straddle reads).
    struct Mem<'a>(&'a [u8]);
    impl Source for Mem<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
            let n = self.0.len().min(buf.len()).min(7001);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn read_all(s: &mut dyn Source) -> Res<Vec<u8>> {
        let mut v = Vec::new();
        let mut b = [0u8; 3000];
        loop {
            let n = s.read(&mut b)?;
            if n == 0 {
                return Ok(v);
            }
            v.extend_from_slice(&b[..n]);
        }
    }

    /// base/{img, outside/sentinel}
    fn tmp(tag: &str) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = std::env::temp_dir().join(format!("mydocker-tar-{}-{}-{}", std::process::id(), tag, n));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("img")).unwrap();
        fs::create_dir_all(d.join("outside")).unwrap();
        fs::write(d.join("outside/sentinel"), b"secret").unwrap();
        d
    }

    fn dirfd(p: &Path) -> Owned {
        sys::open(p.as_os_str().as_bytes(), sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap()
    }

    fn into(archive: &[u8], root: &Path, how: Whiteouts) -> Res<Stats> {
        let mut m = Mem(archive);
        let mut r = Reader::new(&mut m);
        let st = extract(&mut r, dirfd(root).raw(), how);
        r.free();
        st
    }

    fn run(archive: &[u8], base: &Path) -> Res<Stats> {
        into(archive, &base.join("img"), Whiteouts::Apply)
    }

    fn untouched(base: &Path) {
        let o: Vec<_> = fs::read_dir(base.join("outside")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(o.len(), 1, "nothing new outside: {o:?}");
        assert_eq!(fs::read(base.join("outside/sentinel")).unwrap(), b"secret");
        let b: Vec<_> = fs::read_dir(base).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(b.len() <= 3, "nothing new beside the root: {b:?}");
    }

    fn xattr(p: &Path, k: &[u8]) -> Option<Vec<u8>> {
        let f = sys::open(p.as_os_str().as_bytes(), sys::O_RDONLY | sys::O_NOFOLLOW, 0).unwrap();
        sys::fgetxattr(f.raw(), k).ok()
    }

    /// Whether the filesystem under `dir` takes user.* xattrs (tmpfs
    /// before Linux 6.6 does not: extract ignores that, ENOTSUP).
    fn user_xattrs(dir: &Path) -> bool {
        let p = dir.join("probe");
        fs::write(&p, b"").unwrap();
        let f = sys::open(p.as_os_str().as_bytes(), sys::O_RDONLY, 0).unwrap();
        let ok = sys::fsetxattr(f.raw(), b"user.probe", b"1").is_ok();
        fs::remove_file(&p).unwrap();
        ok
    }

    fn is_whiteout(p: &Path) -> bool {
        let m = fs::symlink_metadata(p).unwrap();
        m.file_type().is_char_device() && m.rdev() == 0
    }

    /// Runs a python3 snippet that writes a tar to `out` (a str variable).
    fn python(code: &str, out: &Path) -> Vec<u8> {
        let script = format!("import tarfile, io\nout = {:?}\n{}", out.to_str().unwrap(), code);
        let r = std::process::Command::new("python3").arg("-c").arg(&script).output().unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        fs::read(out).unwrap()
    }

    /// Extracts `a` (Overlay) into a fresh root while recording, checks the
    /// replay rebuilds `a` byte for byte, and returns the base dir.
    fn replays(a: &[u8], tag: &str) -> PathBuf {
        let base = tmp(tag);
        let recp = base.join("rec");
        let rec = sys::open(recp.as_os_str().as_bytes(), sys::O_RDWR | sys::O_CREAT | sys::O_TRUNC, 0o600).unwrap();
        let img = dirfd(&base.join("img"));
        let mut m = Mem(a);
        let mut r = Reader::new(&mut m);
        r.record(Some(rec.raw())).unwrap();
        let st = extract(&mut r, img.raw(), Whiteouts::Overlay).unwrap();
        assert!(st.exact_replay);
        drop(rec);
        let rec = sys::open(recp.as_os_str().as_bytes(), sys::O_RDONLY, 0).unwrap();
        let mut rp = Replay::new(rec.raw(), img.raw());
        let got = read_all(&mut rp).unwrap();
        rp.free();
        assert!(got == a, "replay differs ({} vs {} bytes)", got.len(), a.len());
        let reclen = fs::metadata(&recp).unwrap().len();
        assert!(reclen < 200 * (st.entries + 2) + 100, "recording compact: {reclen} bytes for {} entries", st.entries);
        base
    }

    #[test]
    fn extracts_files_dirs_links() {
        let base = tmp("ok");
        let mut a = Vec::new();
        entry(&mut a, "./", b'5', b"", "", 0o700);
        entry(&mut a, "./bin/", b'5', b"", "", 0o711);
        entry(&mut a, "./bin/busybox", b'0', &vec![7u8; 1500], "", 0o4755);
        entry(&mut a, "./bin/sh", b'2', b"", "/bin/busybox", 0o777);
        entry(&mut a, "./bin/ls", b'1', b"", "./bin/busybox", 0o755);
        entry(&mut a, "etc/deep/file", b'0', b"hi\n", "", 0o600);
        entry(&mut a, "dev/null", b'3', b"", "", 0o666);
        entry(&mut a, "fifo", b'6', b"", "", 0o600);
        a.extend_from_slice(&[0u8; 1024]);
        let st = run(&a, &base).unwrap();
        assert_eq!((st.entries, st.bytes), (7, 1503), "./ itself is not counted; bytes of regular files");
        let img = base.join("img");
        assert_eq!(fs::metadata(&img).unwrap().permissions().mode() & 0o7777, 0o755, "./ leaves the root's mode");
        assert_eq!(fs::metadata(img.join("bin")).unwrap().permissions().mode() & 0o7777, 0o711);
        assert_eq!(fs::metadata(img.join("bin")).unwrap().mtime(), 1_600_000_000, "dir mtime set after its children");
        assert_eq!(fs::read(img.join("bin/busybox")).unwrap(), vec![7u8; 1500]);
        assert_eq!(fs::metadata(img.join("bin/busybox")).unwrap().permissions().mode() & 0o7777, 0o4755);
        assert_eq!(fs::read_link(img.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
        assert_eq!(fs::metadata(img.join("bin/ls")).unwrap().ino(), fs::metadata(img.join("bin/busybox")).unwrap().ino());
        assert_eq!(fs::read(img.join("etc/deep/file")).unwrap(), b"hi\n");
        assert!(fs::symlink_metadata(img.join("fifo")).unwrap().file_type().is_fifo());
        assert!(!img.join("dev/null").exists(), "device nodes must not be created");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn long_names_pax_gnu_prefix_base256() {
        let base = tmp("long");
        let long = format!("d/{}", "x".repeat(150));
        let mut a = Vec::new();
        let mut name = long.clone().into_bytes();
        name.push(0);
        entry(&mut a, "././@LongLink", b'L', &name, "", 0o644);
        entry(&mut a, "short", b'0', b"gnu", "", 0o644);
        let pax_long = format!("p/{}", "y".repeat(120));
        entry(&mut a, "PaxHeader", b'x', &pax_rec("path", pax_long.as_bytes()), "", 0o644);
        entry(&mut a, "short2", b'0', b"pax", "", 0o644);
        // non-ASCII path: the ustar name is a lossy substitute
        entry(&mut a, "PaxHeader", b'x', &pax_rec("path", "u/ünï-名前".as_bytes()), "", 0o644);
        entry(&mut a, "u/_n_-__", b'0', b"utf8", "", 0o644);
        // long link names: PAX linkpath and GNU K
        let target = format!("/{}", "t".repeat(200));
        entry(&mut a, "PaxHeader", b'x', &pax_rec("linkpath", target.as_bytes()), "", 0o644);
        entry(&mut a, "l1", b'2', b"", "stale", 0o777);
        let mut k = target.clone().into_bytes();
        k.push(0);
        entry(&mut a, "././@LongLink", b'K', &k, "", 0o644);
        entry(&mut a, "l2", b'2', b"", "", 0o777);
        // POSIX prefix
        let mut h = header("file", b'0', 3, "", 0o644);
        h[345..345 + 10].copy_from_slice(b"pre/fix/ed");
        sum(&mut h);
        raw_entry(&mut a, &h, b"pfx");
        // base-256 uid and size; PAX global header ignored
        entry(&mut a, "GlobalHead", b'g', &pax_rec("path", b"ignored"), "", 0o644);
        let mut h = header("big", b'0', 0, "", 0o644);
        h[108..116].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0x03, 0xe8]);
        h[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00]);
        sum(&mut h);
        raw_entry(&mut a, &h, &[9u8; 512]);
        a.extend_from_slice(&[0u8; 1024]);
        run(&a, &base).unwrap();
        let img = base.join("img");
        assert_eq!(fs::read(img.join(&long)).unwrap(), b"gnu");
        assert_eq!(fs::read(img.join(&pax_long)).unwrap(), b"pax");
        assert_eq!(fs::read(img.join("u/ünï-名前")).unwrap(), b"utf8");
        assert!(!img.join("u/_n_-__").exists());
        assert_eq!(fs::read_link(img.join("l1")).unwrap(), Path::new(&target));
        assert_eq!(fs::read_link(img.join("l2")).unwrap(), Path::new(&target));
        assert_eq!(fs::read(img.join("pre/fix/ed/file")).unwrap(), b"pfx");
        assert_eq!(fs::read(img.join("big")).unwrap(), vec![9u8; 512]);
        assert_eq!(fs::metadata(img.join("big")).unwrap().uid(), 1000);
        assert!(!img.join("ignored").exists());
        fs::remove_dir_all(&base).unwrap();
    }

    /// security.capability v2: cap_net_raw permitted + effective.
    const NET_RAW: [u8; 20] = [1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn xattrs_owners_setuid() {
        let base = tmp("xattr");
        let mut a = Vec::new();
        let mut x = pax_rec("SCHILY.xattr.security.capability", &NET_RAW);
        x.extend(pax_rec("SCHILY.xattr.user.note", b"a\nb=c"));
        x.extend(pax_rec("SCHILY.xattr.trusted.skip", b"1"));
        x.extend(pax_rec("uid", b"1000"));
        x.extend(pax_rec("gid", b"1001"));
        x.extend(pax_rec("mtime", b"1234567890.5"));
        entry(&mut a, "PaxHeader", b'x', &x, "", 0o644);
        entry(&mut a, "bin/ping", b'0', b"ELF", "", 0o4755);
        entry(&mut a, "PaxHeader", b'x', &pax_rec("SCHILY.xattr.user.d", b"dir"), "", 0o644);
        entry(&mut a, "sgid/", b'5', b"", "", 0o2775);
        a.extend_from_slice(&[0u8; 1024]);
        // the reader sees them
        let mut m = Mem(&a);
        let mut r = Reader::new(&mut m);
        let e = r.next().unwrap().unwrap();
        assert_eq!((e.uid, e.gid, e.mtime, e.mode, e.ty), (1000, 1001, 1234567890, 0o4755, b'0'));
        assert_eq!(e.xattrs.len(), 3);
        assert_eq!(e.xattrs[0], (b"security.capability".to_vec(), NET_RAW.to_vec()));
        assert_eq!(e.xattrs[1], (b"user.note".to_vec(), b"a\nb=c".to_vec()));
        // extract applies them after chown and chmod
        run(&a, &base).unwrap();
        let p = base.join("img/bin/ping");
        let md = fs::metadata(&p).unwrap();
        assert_eq!((md.uid(), md.gid(), md.mode() & 0o7777, md.mtime()), (1000, 1001, 0o4755, 1234567890));
        assert_eq!(xattr(&p, b"security.capability").as_deref(), Some(&NET_RAW[..]));
        let user = user_xattrs(&base);
        assert!(!user || xattr(&p, b"user.note").as_deref() == Some(&b"a\nb=c"[..]));
        assert_eq!(xattr(&p, b"trusted.skip"), None);
        let d = base.join("img/sgid");
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o7777, 0o2775);
        assert!(!user || xattr(&d, b"user.d").as_deref() == Some(&b"dir"[..]));
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn entry_source_and_data_for_outer_archives() {
        let mut a = Vec::new();
        entry(&mut a, "manifest.json", b'0', b"[{}]", "", 0o444);
        entry(&mut a, "abc.tar", b'0', &vec![5u8; 70000], "", 0o444);
        entry(&mut a, "skipped", b'0', &vec![6u8; 3000], "", 0o444);
        entry(&mut a, "v1/layer.tar", b'2', b"", "../abc.tar", 0o777);
        a.extend_from_slice(&[0u8; 1024]);
        let mut m = Mem(&a);
        let mut r = Reader::new(&mut m);
        let e = r.next().unwrap().unwrap();
        assert_eq!(e.path, b"manifest.json");
        let mut got = Vec::new();
        r.data(&mut |b| {
            got.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, b"[{}]");
        let e = r.next().unwrap().unwrap();
        assert_eq!((e.path.as_slice(), e.size), (&b"abc.tar"[..], 70000));
        // read part of it through the Source, the rest is skipped by next()
        let mut b = [0u8; 100];
        assert_eq!(r.source().read(&mut b).unwrap(), 100);
        let e = r.next().unwrap().unwrap();
        assert_eq!(e.path, b"skipped");
        let e = r.next().unwrap().unwrap();
        assert_eq!((e.ty, e.link.as_slice()), (b'2', &b"../abc.tar"[..]));
        assert_eq!(read_all(&mut r.source()).unwrap(), b"");
        assert!(r.next().unwrap().is_none());
        assert!(r.next().unwrap().is_none());
        // a whole entry through the Source
        let mut m = Mem(&a);
        let mut r = Reader::new(&mut m);
        r.next().unwrap();
        r.next().unwrap();
        assert_eq!(read_all(&mut r.source()).unwrap(), vec![5u8; 70000]);
    }

    #[test]
    fn whiteouts_overlay() {
        let base = tmp("ovl");
        let mut a = Vec::new();
        entry(&mut a, "d/", b'5', b"", "", 0o755);
        entry(&mut a, "d/.wh..wh..opq", b'0', b"", "", 0o755);
        entry(&mut a, "d/new", b'0', b"n", "", 0o644);
        entry(&mut a, ".wh.gone", b'0', b"", "stale-link", 0);
        entry(&mut a, "e/.wh.x", b'0', b"", "stale-link", 0);
        entry(&mut a, "f/sub/", b'5', b"", "", 0o755);
        entry(&mut a, "f/.wh..wh..opq", b'0', b"", "", 0o755);
        a.extend_from_slice(&[0u8; 1024]);
        let st = into(&a, &base.join("img"), Whiteouts::Overlay).unwrap();
        assert!(st.exact_replay);
        let img = base.join("img");
        assert!(is_whiteout(&img.join("gone")));
        assert!(is_whiteout(&img.join("e/x")));
        assert_eq!(xattr(&img.join("d"), OPAQUE).as_deref(), Some(&b"y"[..]));
        assert_eq!(xattr(&img.join("f"), OPAQUE).as_deref(), Some(&b"y"[..]));
        assert!(img.join("f/sub").is_dir(), "opaque after entries keeps them");
        assert_eq!(fs::read(img.join("d/new")).unwrap(), b"n");
        for p in ["d/.wh..wh..opq", ".wh.gone", "e/.wh.x", "f/.wh..wh..opq"] {
            assert!(fs::symlink_metadata(img.join(p)).is_err(), "{p}");
        }
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn whiteouts_apply() {
        let base = tmp("apply");
        let img = base.join("img");
        // the lower layers
        for d in ["d/sub", "f/old", "g/keep", "gone/deep", "h"] {
            fs::create_dir_all(img.join(d)).unwrap();
        }
        for f in ["d/old", "d/sub/old2", "f/old/x", "g/keep/y", "g/z", "gone/deep/file", "h/file", "top"] {
            fs::write(img.join(f), b"lower").unwrap();
        }
        std::os::unix::fs::symlink("/", img.join("d/escape")).unwrap();
        let mut a = Vec::new();
        // opaque after this layer's entries for d
        entry(&mut a, "d/", b'5', b"", "", 0o755);
        entry(&mut a, "d/new", b'0', b"n", "", 0o644);
        entry(&mut a, "d/sub/", b'5', b"", "", 0o755);
        entry(&mut a, "d/sub/n2", b'0', b"n2", "", 0o644);
        entry(&mut a, "d/implicit/n3", b'0', b"n3", "", 0o644);
        entry(&mut a, "d/.wh..wh..opq", b'0', b"", "", 0o755);
        // opaque before them for f
        entry(&mut a, "f/", b'5', b"", "", 0o755);
        entry(&mut a, "f/.wh..wh..opq", b'0', b"", "", 0o755);
        entry(&mut a, "f/old/", b'5', b"", "", 0o755);
        entry(&mut a, "f/new", b'0', b"n", "", 0o644);
        // whiteouts: a whole tree, a file in a dir whose others stay
        entry(&mut a, ".wh.gone", b'0', b"", "stale", 0);
        entry(&mut a, "g/.wh.z", b'0', b"", "stale", 0);
        entry(&mut a, "h/.wh.absent", b'0', b"", "", 0);
        entry(&mut a, "nodir/.wh.absent", b'0', b"", "", 0);
        a.extend_from_slice(&[0u8; 1024]);
        run(&a, &base).unwrap();
        let names = |d: &str| {
            let mut v: Vec<String> = fs::read_dir(img.join(d)).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            v.sort();
            v
        };
        assert_eq!(names("d"), ["implicit", "new", "sub"]);
        assert_eq!(names("d/sub"), ["n2"]);
        assert_eq!(names("d/implicit"), ["n3"]);
        assert_eq!(names("f"), ["new", "old"]);
        assert_eq!(names("f/old"), Vec::<String>::new());
        assert_eq!(names("g"), ["keep"]);
        assert_eq!(names("g/keep"), ["y"]);
        assert_eq!(names("h"), ["file"]);
        assert!(!img.join("gone").exists() && img.join("top").exists() && !img.join("nodir").exists());
        untouched(&base);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn dir_over_file_and_file_over_dir() {
        let base = tmp("over");
        let img = base.join("img");
        fs::create_dir_all(img.join("wasdir/sub")).unwrap();
        fs::write(img.join("wasdir/sub/f"), b"x").unwrap();
        fs::write(img.join("wasfile"), b"x").unwrap();
        fs::create_dir_all(img.join("keep")).unwrap();
        fs::write(img.join("keep/child"), b"x").unwrap();
        let mut a = Vec::new();
        entry(&mut a, "wasdir", b'0', b"now a file", "", 0o644);
        entry(&mut a, "wasfile/", b'5', b"", "", 0o750);
        entry(&mut a, "wasfile/in", b'0', b"in", "", 0o644);
        entry(&mut a, "keep/", b'5', b"", "", 0o700);
        a.extend_from_slice(&[0u8; 1024]);
        let st = run(&a, &base).unwrap();
        assert!(!st.exact_replay, "replacements are reported");
        assert_eq!(fs::read(img.join("wasdir")).unwrap(), b"now a file");
        assert_eq!(fs::read(img.join("wasfile/in")).unwrap(), b"in");
        assert_eq!(fs::metadata(img.join("wasfile")).unwrap().mode() & 0o7777, 0o750);
        assert_eq!(fs::read(img.join("keep/child")).unwrap(), b"x", "dir over dir keeps the children");
        assert_eq!(fs::metadata(img.join("keep")).unwrap().mode() & 0o7777, 0o700, "and takes the new metadata");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn hostile_archives_cannot_escape() {
        let base = tmp("evil");
        let outside = base.join("outside");
        let o = outside.to_str().unwrap();
        let probe = format!("mydocker-tar-probe-{}", std::process::id());
        let cases: Vec<Vec<(&str, u8, &str)>> = vec![
            vec![("../outside/pwned", b'0', "")],
            vec![("a/../../outside/pwned", b'0', "")],
            vec![("/../outside/pwned", b'0', "")],
            vec![("root", b'2', "/"), ("root/PROBE", b'0', "")],
            vec![("link", b'2', o), ("link/pwned", b'0', "")],
            vec![("up", b'2', "../outside"), ("up/pwned", b'0', "")],
            vec![("hl", b'1', "../../etc/passwd")],
            vec![("hl", b'1', "../outside/sentinel")],
            vec![("s", b'2', o), ("hl", b'1', "s/sentinel")],
            vec![(".wh...", b'0', "")],
            vec![("x/.wh..", b'0', "")],
            vec![("x", b'2', o), ("x/.wh.sentinel", b'0', "")],
            vec![("x", b'2', o), ("x/.wh..wh..opq", b'0', "")],
            vec![("hl", b'1', "")],
        ];
        for how in [Whiteouts::Apply, Whiteouts::Overlay] {
            for c in &cases {
                let _ = fs::remove_dir_all(base.join("img"));
                fs::create_dir_all(base.join("img")).unwrap();
                let mut a = Vec::new();
                for (n, t, l) in c {
                    let n = n.replace("PROBE", &probe);
                    entry(&mut a, &n, *t, if *t == b'0' && !n.contains(".wh.") { b"x" } else { b"" }, l, 0o644);
                }
                a.extend_from_slice(&[0u8; 1024]);
                assert!(into(&a, &base.join("img"), how).is_err(), "{c:?} must be refused");
                untouched(&base);
                assert!(!Path::new("/").join(&probe).exists());
            }
        }
        // a symlink replaced by a file must not write through it
        let mut a = Vec::new();
        entry(&mut a, "t", b'2', b"", &format!("{o}/sentinel"), 0o777);
        entry(&mut a, "t", b'0', b"overwritten", "", 0o644);
        // a hard link to a symlink links the symlink, not its target
        entry(&mut a, "s", b'2', b"", &format!("{o}/sentinel"), 0o777);
        entry(&mut a, "h", b'1', b"", "s", 0o644);
        run(&a, &base).unwrap();
        assert!(fs::symlink_metadata(base.join("img/h")).unwrap().file_type().is_symlink());
        untouched(&base);
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn garbage_and_truncation() {
        let base = tmp("bad");
        assert!(run(&[1u8; 1024], &base).is_err());
        assert!(run(&[], &base).is_err());
        let mut a = Vec::new();
        entry(&mut a, "f", b'0', &[1u8; 2000], "", 0o644);
        let mut t = a.clone();
        t.truncate(1024);
        assert!(run(&t, &base).is_err(), "in data");
        let mut t = a.clone();
        t.truncate(2100);
        assert!(run(&t, &base).is_err(), "in padding");
        let mut t = a.clone();
        t.extend_from_slice(&[0u8; 100]);
        assert!(run(&t, &base).is_err(), "in a header");
        let mut t = a.clone();
        entry(&mut t, "g", b'0', b"", "", 0o644);
        let n = t.len();
        t[n - 512] ^= 1;
        assert!(run(&t, &base).is_err(), "bad checksum");
        assert!(run(&a, &base).is_ok(), "EOF between entries without end blocks");
        fs::remove_dir_all(&base).unwrap();
    }

    // ------------------------------------------------------------ replay

    #[test]
    fn replay_gnu_tar() {
        let src = tmp("gnusrc");
        let t = src.join("img");
        fs::create_dir_all(t.join("usr/bin")).unwrap();
        fs::create_dir_all(t.join(format!("deep/{}", "n".repeat(120)))).unwrap();
        fs::write(t.join("usr/bin/busybox"), (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>()).unwrap();
        fs::set_permissions(t.join("usr/bin/busybox"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::hard_link(t.join("usr/bin/busybox"), t.join("usr/bin/ls")).unwrap();
        std::os::unix::fs::symlink("busybox", t.join("usr/bin/sh")).unwrap();
        std::os::unix::fs::symlink(format!("/{}", "l".repeat(150)), t.join("longlink")).unwrap();
        fs::write(t.join(format!("deep/{}/f", "n".repeat(120))), b"deep").unwrap();
        fs::write(t.join("empty"), b"").unwrap();
        fs::write(t.join("five12"), [1u8; 512]).unwrap();
        fs::set_permissions(&t, fs::Permissions::from_mode(0o700)).unwrap();
        let out = src.join("gnu.tar");
        let r = std::process::Command::new("tar").args(["--format=gnu", "-C"]).arg(&t).arg("-cf").arg(&out).arg(".").status().unwrap();
        assert!(r.success());
        let a = fs::read(&out).unwrap();
        assert_eq!(a.len() % 10240, 0, "GNU tar pads to its record");
        let base = replays(&a, "gnu");
        assert_eq!(fs::metadata(base.join("img/usr/bin/busybox")).unwrap().mode() & 0o7777, 0o4755);
        fs::remove_dir_all(&base).unwrap();
        fs::remove_dir_all(&src).unwrap();
    }

    #[test]
    fn replay_go_style_pax() {
        let base = tmp("paxsrc");
        let a = python(
            r#"
t = tarfile.open(out, 'w', format=tarfile.PAX_FORMAT)
def add(name, type=tarfile.REGTYPE, data=b'', mode=0o644, link='', pax=None):
    i = tarfile.TarInfo(name); i.type = type; i.mode = mode; i.linkname = link
    i.mtime = 1700000000; i.size = len(data)
    if pax: i.pax_headers = pax
    t.addfile(i, io.BytesIO(data) if data else None)
add('bin/', tarfile.DIRTYPE, mode=0o755)
add('bin/app', data=b'A' * 1234, mode=0o755, pax={'SCHILY.xattr.user.k': 'v'})
add('dir/ünïcode-名前', data=b'utf8')
add('p/' + 'q' * 140, data=b'long')
add('lnk', tarfile.SYMTYPE, link='/' + 'z' * 130, mode=0o777)
add('hard', tarfile.LNKTYPE, link='bin/app')
add('zero', data=b'')
t.close()
"#,
            &base.join("pax.tar"),
        );
        let b = replays(&a, "pax");
        assert!(!user_xattrs(&b) || xattr(&b.join("img/bin/app"), b"user.k").as_deref() == Some(&b"v"[..]));
        assert_eq!(fs::read(b.join("img/dir/ünïcode-名前")).unwrap(), b"utf8");
        fs::remove_dir_all(&b).unwrap();
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn replay_layer_with_whiteouts_and_trailing_bytes() {
        let mut a = Vec::new();
        entry(&mut a, "etc/", b'5', b"", "", 0o755);
        entry(&mut a, "etc/.wh.passwd", b'0', b"", "stale", 0);
        entry(&mut a, "usr/", b'5', b"", "", 0o755);
        entry(&mut a, "usr/.wh..wh..opq", b'0', b"", "", 0o755);
        entry(&mut a, "usr/bin/", b'5', b"", "", 0o755);
        entry(&mut a, "usr/bin/x", b'0', &[3u8; 1000], "", 0o755);
        a.extend_from_slice(&[0u8; 1024]);
        let b = replays(&a, "wh");
        assert!(is_whiteout(&b.join("img/etc/passwd")));
        fs::remove_dir_all(&b).unwrap();
        // garbage in padding and after the end are recorded too
        let mut a = Vec::new();
        entry(&mut a, "f", b'0', b"abc", "", 0o644);
        a[515] = 0xee;
        a.extend_from_slice(&[0u8; 1024]);
        a.extend_from_slice(b"trailing garbage");
        a.extend_from_slice(&[0u8; 5000]);
        let b = replays(&a, "trail");
        fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn replay_refuses_a_tree_that_does_not_match() {
        let mut a = Vec::new();
        entry(&mut a, "d/f", b'0', b"data", "", 0o644);
        entry(&mut a, "g", b'0', b"more", "", 0o644);
        a.extend_from_slice(&[0u8; 1024]);
        let b = replays(&a, "tamper");
        let img = b.join("img");
        let replay = || {
            let rec = sys::open(b.join("rec").as_os_str().as_bytes(), sys::O_RDONLY, 0).unwrap();
            read_all(&mut Replay::new(rec.raw(), dirfd(&img).raw()))
        };
        fs::write(img.join("g"), b"longer now").unwrap();
        assert!(replay().is_err(), "size changed");
        fs::write(img.join("g"), b"more").unwrap();
        fs::remove_dir_all(img.join("d")).unwrap();
        std::os::unix::fs::symlink(b.join("outside"), img.join("d")).unwrap();
        fs::write(b.join("outside/f"), b"DATA").unwrap();
        assert!(replay().is_err(), "never read through a symlink");
        fs::remove_dir_all(&b).unwrap();
        // duplicates: the last wins, no exact replay
        for dup in [&["f", "f"][..], &["d/x", "d"][..], &["x", ".wh.x"][..]] {
            let base = tmp("dup");
            let mut a = Vec::new();
            for n in dup {
                entry(&mut a, n, b'0', if n.contains(".wh.") { b"" } else { b"data" }, "", 0o644);
            }
            a.extend_from_slice(&[0u8; 1024]);
            assert!(!into(&a, &base.join("img"), Whiteouts::Overlay).unwrap().exact_replay, "{dup:?}");
            fs::remove_dir_all(&base).unwrap();
        }
    }

    /// Real layers (e.g. from `podman save`), when MYDOCKER_TEST_LAYERS
    /// names them (colon-separated, base first): each replays byte for
    /// byte from its overlay-form tree, and all flatten in order.
    #[test]
    fn replay_real_layers() {
        let Ok(list) = std::env::var("MYDOCKER_TEST_LAYERS") else { return };
        let flat = tmp("flat");
        for l in list.split(':') {
            let a = fs::read(l).unwrap();
            let b = replays(&a, "real");
            fs::remove_dir_all(&b).unwrap();
            into(&a, &flat.join("img"), Whiteouts::Apply).unwrap();
        }
        eprintln!("flattened into {}", flat.display());
    }

    // ------------------------------------------------------------ writer

    fn write_tree(src: &Path, out: &Path, layer: bool, skip: &dyn Fn(&[u8]) -> bool) {
        let fd = sys::open(out.as_os_str().as_bytes(), sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644).unwrap();
        let d = dirfd(src);
        let dev = sys::fstat(d.raw()).unwrap().dev;
        let mut w = Writer::new(fd.raw());
        w.layer = layer;
        w.tree(d.raw(), b"", dev, skip).unwrap();
        w.finish().unwrap();
    }

    #[test]
    fn writer_round_trips_through_the_reader() {
        let base = tmp("w");
        let src = base.join("src");
        fs::create_dir_all(src.join("d/e")).unwrap();
        fs::write(src.join("d/e/f"), vec![3u8; 70000]).unwrap();
        fs::write(src.join("small"), b"x").unwrap();
        fs::hard_link(src.join("small"), src.join("hard")).unwrap();
        std::os::unix::fs::symlink("/abs/target", src.join("sl")).unwrap();
        let long = "n".repeat(130);
        fs::write(src.join(&long), b"long").unwrap();
        fs::create_dir_all(src.join("vol/inner")).unwrap();
        fs::write(src.join("vol/secret"), b"s").unwrap();
        let out = base.join("o.tar");
        write_tree(&src, &out, false, &|p| p == b"vol");
        // GNU tar agrees with what we wrote
        let list = std::process::Command::new("tar").arg("-tvf").arg(&out).output().unwrap();
        assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
        let l = String::from_utf8_lossy(&list.stdout);
        assert!(l.contains("small link to hard"), "{l}");
        // and our reader restores it
        let a = fs::read(&out).unwrap();
        run(&a, &base).unwrap();
        let img = base.join("img");
        assert_eq!(fs::read(img.join("d/e/f")).unwrap(), vec![3u8; 70000]);
        assert_eq!(fs::read(img.join(&long)).unwrap(), b"long");
        assert_eq!(fs::read_link(img.join("sl")).unwrap(), Path::new("/abs/target"));
        assert_eq!(fs::metadata(img.join("hard")).unwrap().ino(), fs::metadata(img.join("small")).unwrap().ino());
        assert!(img.join("vol").is_dir() && !img.join("vol/secret").exists(), "skipped contents");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn writer_layer_mode_and_capabilities() {
        let base = tmp("wl");
        let up = base.join("upper");
        fs::create_dir_all(up.join("opq/kept")).unwrap();
        fs::create_dir_all(up.join("plain")).unwrap();
        fs::write(up.join("ping"), b"ELF").unwrap();
        fs::set_permissions(up.join("ping"), fs::Permissions::from_mode(0o4755)).unwrap();
        let upfd = dirfd(&up);
        sys::mknodat(upfd.raw(), b"gone", sys::S_IFCHR, 0, 0).unwrap();
        sys::mknodat(dirfd(&up.join("plain")).raw(), b"x", sys::S_IFCHR, 0, 0).unwrap();
        sys::fsetxattr(dirfd(&up.join("opq")).raw(), OPAQUE, b"y").unwrap();
        let f = sys::open(up.join("ping").as_os_str().as_bytes(), sys::O_RDONLY, 0).unwrap();
        sys::fsetxattr(f.raw(), CAP, &NET_RAW).unwrap();
        drop(f);
        let out = base.join("layer.tar");
        write_tree(&up, &out, true, &|_| false);
        let a = fs::read(&out).unwrap();
        let mut names = Vec::new();
        let mut m = Mem(&a);
        let mut r = Reader::new(&mut m);
        while let Some(e) = r.next().unwrap() {
            if e.path == b"ping" {
                assert_eq!(e.xattrs, vec![(CAP.to_vec(), NET_RAW.to_vec())]);
                assert_eq!(e.mode, 0o4755);
            }
            names.push(String::from_utf8(e.path).unwrap());
        }
        assert_eq!(names, [".wh.gone", "opq/", "opq/.wh..wh..opq", "opq/kept/", "ping", "plain/", "plain/.wh.x"]);
        // the same tar written twice is the same bytes
        write_tree(&up, &base.join("again.tar"), true, &|_| false);
        assert_eq!(fs::read(base.join("again.tar")).unwrap(), a);
        // back to overlay form
        into(&a, &base.join("img"), Whiteouts::Overlay).unwrap();
        let img = base.join("img");
        assert!(is_whiteout(&img.join("gone")) && is_whiteout(&img.join("plain/x")));
        assert_eq!(xattr(&img.join("opq"), OPAQUE).as_deref(), Some(&b"y"[..]));
        assert_eq!(xattr(&img.join("ping"), CAP).as_deref(), Some(&NET_RAW[..]));
        // export mode leaves whiteouts out
        write_tree(&up, &out, false, &|_| false);
        let l = std::process::Command::new("tar").arg("-tf").arg(&out).output().unwrap();
        let l = String::from_utf8_lossy(&l.stdout);
        assert!(!l.contains(".wh.") && !l.contains("gone"), "{l}");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(num_field(b"0000644\0"), Some(0o644));
        assert_eq!(num_field(b"  755 \0"), Some(0o755));
        assert_eq!(num_field(&[0x80, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(num_field(b"12x"), None);
    }
}

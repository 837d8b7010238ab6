//! gunzip as a pull stream: RFC 1952 members (concatenated members and
//! trailing zero padding accepted) around RFC 1951 inflate (stored, fixed
//! and dynamic Huffman blocks), each member's CRC-32 and length checked.
//!
//! Everything is allocated in `new`: a 64 KiB circular window (32 KiB of
//! history plus up to 32 KiB decoded but not yet handed out), the input
//! buffer and the code tables; `read` allocates nothing. Codes decode
//! through a 10-bit lookup table; the rare longer codes are walked
//! canonically (as zlib's puff does).
#![allow(dead_code)]

use crate::engine::stream::Source;
use crate::engine::util::{Error, Msg, Res};
use alloc::vec;
use alloc::vec::Vec;

/// What a blob's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Gzip,
    Zstd,
    Plain,
}

pub fn magic(first: &[u8]) -> Kind {
    if first.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if first.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Zstd
    } else {
        Kind::Plain
    }
}

const WIN: usize = 1 << 16;
const M: usize = WIN - 1;
/// Decode while fewer than this many bytes wait in the window: a match
/// (≤ 258) then never overwrites what is undelivered or 32 KiB of history.
const FULL: usize = WIN / 2 - 258;
/// Fast-table index bits.
const FB: u32 = 10;

/// The order of the code-length code lengths in a dynamic block header.
const ORD: [u8; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

#[cold]
#[inline(never)]
fn bad(why: Msg) -> Error {
    Error::at(b"gzip", why)
}

/// What the decoder returns: a problem with the data is its message;
/// the `Error` is made (the message set) only on the way out.
type R<T> = Result<T, Msg>;

/// One Huffman code: `fast[bits]` = symbol << 4 | length for codes of up
/// to FB bits (0: longer, or no such code); `count`/`sym` for the
/// canonical walk.
struct Huff {
    fast: [u16; 1 << FB],
    count: [u16; 16],
    /// (512, indexes masked to it: no bounds-check panic paths)
    sym: [u16; 512],
}

impl Huff {
    fn new() -> Huff {
        Huff { fast: [0; 1 << FB], count: [0; 16], sym: [0; 512] }
    }

    /// Builds the code of `lens` (each ≤ 15). Over-subscribed sets are
    /// refused; incomplete ones are kept (a missing code fails on use).
    fn build(&mut self, lens: &[u8]) -> R<()> {
        self.count = [0; 16];
        // (each ≤ 15: the mask only drops the bounds checks)
        for &l in lens {
            self.count[l as usize & 15] += 1;
        }
        self.count[0] = 0;
        // offs: where each length's symbols start in `sym`; next: the
        // next canonical code of each length
        // (one spare entry each: no test for the last length)
        let mut offs = [0u16; 17];
        let mut next = [0u32; 17];
        let mut left: i32 = 1;
        for i in 1..16 {
            left = (left << 1) - self.count[i] as i32;
            if left < 0 {
                return Err(m!("invalid deflate data"));
            }
            offs[i + 1] = offs[i] + self.count[i];
            next[i + 1] = (next[i] + self.count[i] as u32) << 1;
        }
        self.fast = [0; 1 << FB];
        for (s, &l) in lens.iter().enumerate() {
            let l = l as usize & 15;
            if l == 0 {
                continue;
            }
            self.sym[offs[l] as usize & 511] = s as u16;
            offs[l] += 1;
            if l <= FB as usize {
                let code = next[l];
                next[l] += 1;
                let mut rev = 0;
                for b in 0..l {
                    rev |= (code >> b & 1) << (l - 1 - b);
                }
                while rev < 1 << FB {
                    self.fast[rev as usize] = (s as u16) << 4 | l as u16;
                    rev += 1 << l;
                }
            }
        }
        Ok(())
    }
}

/// The compressed input: a buffer refilled from the source and a bit
/// accumulator (LSB first). Bits above `bc` are either zero or the
/// stream's next bits, so refills may OR them in again.
/// Reading past the end, an invalid code or the source's error do not
/// stop a read here: the first is kept (`why`; `io` for the source's)
/// and the bits read as zeros; `Gunzip::read` reports it after the step,
/// so the decoding paths carry no error returns.
#[repr(C)]
struct In<'a> {
    bb: u64,
    bc: u32,
    pos: usize,
    len: usize,
    buf: Vec<u8>,
    src: &'a mut dyn Source,
    eof: bool,
    why: Option<Msg>,
    io: Option<Error>,
}

impl In<'_> {
    /// Tops the accumulator up to ≥ 56 bits, fewer only at the end.
    fn fill(&mut self) {
        loop {
            // (`get`: no bounds panic; `len` is within the buffer)
            if let Some(b) = self.buf.get(self.pos..self.pos + 8).filter(|_| self.pos + 8 <= self.len) {
                let w = u64::from_le_bytes(b.try_into().unwrap());
                self.bb |= w << self.bc;
                self.pos += (63 - self.bc as usize) >> 3;
                self.bc |= 56;
                return;
            }
            if self.bc >= 56 {
                return;
            }
            if self.pos < self.len {
                self.bb |= (self.buf[self.pos] as u64) << self.bc;
                self.pos += 1;
                self.bc += 8;
                continue;
            }
            if self.eof {
                return;
            }
            let n = match self.src.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    if self.why.is_none() {
                        self.io = Some(e);
                    }
                    self.fail(m!(""));
                    0
                }
            };
            self.eof = n == 0;
            self.pos = 0;
            self.len = n;
        }
    }

    /// To the next byte boundary.
    fn align(&mut self) {
        let n = self.bc & 7;
        self.bb >>= n;
        self.bc -= n;
    }

    /// Keeps the first problem met.
    fn fail(&mut self, why: Msg) {
        if self.why.is_none() {
            self.why = Some(why);
        }
    }

    fn drop(&mut self, mut n: u32) {
        if n > self.bc {
            self.fail(m!("unexpected end of data"));
            n = self.bc;
        }
        self.bb >>= n;
        self.bc -= n;
    }

    fn bits(&mut self, n: u32) -> u32 {
        if self.bc < n {
            self.fill();
        }
        let v = (self.bb & ((1u64 << n) - 1)) as u32;
        self.drop(n);
        v
    }

    fn skip(&mut self, mut n: u32) {
        while n > 0 {
            self.bits(8);
            n -= 1;
        }
    }

    /// One symbol of `h`.
    fn sym(&mut self, h: &Huff) -> u32 {
        if self.bc < 48 {
            self.fill();
        }
        let e = h.fast[(self.bb & ((1 << FB) - 1)) as usize] as u32;
        if e != 0 {
            self.drop(e & 15);
            return e >> 4;
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= (self.bb >> (len - 1) & 1) as i32;
            let c = h.count[len] as i32;
            if code - c < first {
                self.drop(len as u32);
                return h.sym[(index + code - first) as usize & 511] as u32;
            }
            index += c;
            first = (first + c) << 1;
            code <<= 1;
        }
        self.fail(m!("invalid deflate data"));
        0
    }
}

#[derive(Clone, Copy, PartialEq)]
enum St {
    /// Before a member's header (`members` says whether one was read).
    Head,
    Block,
    Stored(u32),
    Codes,
    Trailer,
    Done,
}

/// A gzip stream's decompressed bytes. Each member's CRC-32 and length
/// are checked when its end is reached, so a reader must read until 0
/// (not stop at the tar's end-of-archive blocks) to have them checked.
/// After an error, stop reading: the stream is not resumable.
#[repr(C)]
pub struct Gunzip<'a> {
    inp: In<'a>,
    /// Bytes produced and bytes handed out, both counting from the start
    /// (positions in `win` are these masked).
    wp: usize,
    rp: usize,
    /// History available to matches in this member (≤ 32 KiB).
    hist: usize,
    crc: u32,
    size: u32,
    members: u32,
    st: St,
    last: bool,
    win: alloc::boxed::Box<[u8; WIN]>,
    /// The code tables (6.7 KB) on the heap: a `Gunzip` is small enough
    /// to live in its caller's frame.
    t: alloc::boxed::Box<Tables>,
}

struct Tables {
    lit: Huff,
    dist: Huff,
    lens: [u8; 320],
    crct: [u32; 256],
}

impl<'a> Gunzip<'a> {
    pub fn new(src: &'a mut dyn Source) -> Gunzip<'a> {
        let mut t = alloc::boxed::Box::new(Tables { lit: Huff::new(), dist: Huff::new(), lens: [0; 320], crct: [0; 256] });
        for (i, t) in t.crct.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb88320 ^ c >> 1 } else { c >> 1 };
            }
            *t = c;
        }
        Gunzip {
            inp: In { src, buf: vec![0; 32768], pos: 0, len: 0, eof: false, bb: 0, bc: 0, why: None, io: None },
            win: alloc::boxed::Box::new([0; WIN]),
            wp: 0,
            rp: 0,
            hist: 0,
            st: St::Head,
            last: false,
            members: 0,
            crc: !0,
            size: 0,
            t,
        }
    }

    /// Gives the window, input buffer and tables back (see `sys::free`).
    pub fn free(self) {
        crate::sys::free(self.inp.buf);
        crate::sys::free_box(self.win);
        crate::sys::free_box(self.t);
    }

    /// Decodes some more output into the window (called only when all
    /// output so far was handed out). False at the end of the stream.
    fn step(&mut self) -> R<bool> {
        let inp = &mut self.inp;
        match self.st {
            St::Done => return Ok(false),
            St::Head => {
                inp.fill();
                if inp.bc == 0 && self.members > 0 {
                    self.st = St::Done;
                    return Ok(false);
                }
                let mut b = inp.bits(8);
                if b == 0 && self.members > 0 {
                    // zero padding to the end
                    loop {
                        inp.fill();
                        if inp.bc == 0 {
                            self.st = St::Done;
                            return Ok(false);
                        }
                        b = inp.bits(8);
                        if b != 0 {
                            break;
                        }
                    }
                }
                // ID1, then ID2, CM (deflate) and FLG (no reserved bits)
                let x = if b == 0x1f { inp.bits(24) } else { 0 };
                let flg = x >> 16;
                if x & 0xffff != 0x088b || flg & 0xe0 != 0 {
                    return Err(m!("not in gzip format"));
                }
                inp.skip(6);
                if flg & 4 != 0 {
                    let n = inp.bits(16);
                    inp.skip(n);
                }
                // FNAME (8), FCOMMENT (16): zero-terminated
                let mut f = 8;
                while f <= 16 {
                    if flg & f != 0 {
                        while inp.bits(8) != 0 {}
                    }
                    f <<= 1;
                }
                if flg & 2 != 0 {
                    inp.skip(2);
                }
                self.members += 1;
                self.hist = 0;
                self.crc = !0;
                self.size = 0;
                self.st = St::Block;
            }
            St::Block => {
                let h = inp.bits(3);
                self.last = h & 1 != 0;
                let t = &mut *self.t;
                let l = &mut t.lens;
                // the literal/length code is l[..nlit], the distance code l[nlit..n]
                let (nlit, n) = match h >> 1 {
                    0 => {
                        inp.align();
                        let x = inp.bits(32);
                        let n = x & 0xffff;
                        if n ^ x >> 16 != 0xffff {
                            return Err(m!("invalid deflate data"));
                        }
                        self.st = St::Stored(n);
                        return Ok(true);
                    }
                    1 => {
                        // (lengths 8, 9, 7, 8, then the 30 distance codes' 5)
                        let mut i = 0;
                        while i < 288 + 30 {
                            l[i] = b"\x08\x09\x07\x08\x05"[(i >= 144) as usize + (i >= 256) as usize + (i >= 280) as usize + (i >= 288) as usize];
                            i += 1;
                        }
                        (288, 318)
                    }
                    2 => {
                        // (masked: 14 bits, which `ORD[..ncl]` then knows)
                        let x = inp.bits(14) as usize & 0x3fff;
                        let nlit = (x & 31) + 257;
                        let ndist = (x >> 5 & 31) + 1;
                        let ncl = (x >> 10) + 4;
                        if nlit > 286 || ndist > 30 {
                            return Err(m!("invalid deflate data"));
                        }
                        *l = [0; 320];
                        for &o in &ORD[..ncl] {
                            l[o as usize] = inp.bits(3) as u8;
                        }
                        t.dist.build(&l[..19])?;
                        let n = nlit + ndist;
                        let mut i = 0;
                        while i < n {
                            let s = inp.sym(&t.dist);
                            if s < 16 {
                                l[i] = s as u8;
                                i += 1;
                                continue;
                            }
                            let (v, r) = match s {
                                16 if i > 0 => (l[i - 1], 3 + inp.bits(2)),
                                17 => (0, 3 + inp.bits(3)),
                                18 => (0, 11 + inp.bits(7)),
                                _ => return Err(m!("invalid deflate data")),
                            };
                            let end = i + r as usize;
                            if end > n {
                                return Err(m!("invalid deflate data"));
                            }
                            while i < end {
                                l[i] = v;
                                i += 1;
                            }
                        }
                        (nlit, n)
                    }
                    _ => return Err(m!("invalid deflate data")),
                };
                t.lit.build(&l[..nlit])?;
                // (`get`: nlit <= n, without a panic path)
                t.dist.build(l.get(nlit..n).unwrap_or_default())?;
                self.st = St::Codes;
            }
            St::Stored(n) => {
                let w = &mut *self.win;
                let k = (n as usize).min(FULL);
                for _ in 0..k {
                    w[self.wp & M] = inp.bits(8) as u8;
                    self.wp += 1;
                }
                self.hist = (self.hist + k).min(WIN / 2);
                self.st = if k as u32 == n { self.end() } else { St::Stored(n - k as u32) };
            }
            St::Codes => {
                let w = &mut *self.win;
                let t = &*self.t;
                let mut wp = self.wp;
                let lim = wp + FULL;
                // history reachable: this member's output before `wp`
                let hist = self.hist.wrapping_sub(wp);
                let st = loop {
                    if wp >= lim {
                        break St::Codes;
                    }
                    let s = inp.sym(&t.lit);
                    if s < 256 {
                        w[wp & M] = s as u8;
                        wp += 1;
                        continue;
                    }
                    if s == 256 {
                        break St::Trailer;
                    }
                    // (RFC 1951 3.2.5's tables as arithmetic: a length
                    // code's extra bits grow by one every 4 codes from
                    // the 9th (258 has none), a distance's every 2 from
                    // the 5th; each base follows the last one's range)
                    let s = s - 257;
                    if s >= 29 {
                        return Err(m!("invalid deflate data"));
                    }
                    let len = if s < 8 {
                        s + 3
                    } else if s == 28 {
                        258
                    } else {
                        let e = (s - 4) / 4;
                        ((4 | s & 3) << e) + 3 + inp.bits(e)
                    } as usize;
                    let d = inp.sym(&t.dist);
                    if d >= 30 {
                        return Err(m!("invalid deflate data"));
                    }
                    let dist = if d < 2 {
                        d + 1
                    } else {
                        let e = (d - 2) / 2;
                        ((2 | d & 1) << e) + 1 + inp.bits(e)
                    } as usize;
                    if dist > hist.wrapping_add(wp) {
                        return Err(m!("invalid deflate data"));
                    }
                    for _ in 0..len {
                        w[wp & M] = w[(wp - dist) & M];
                        wp += 1;
                    }
                };
                self.hist = self.hist.wrapping_add(wp - self.wp).min(WIN / 2);
                self.wp = wp;
                self.st = if st == St::Trailer { self.end() } else { st };
            }
            St::Trailer => {
                inp.align();
                if inp.bits(32) != !self.crc {
                    return Err(m!("CRC mismatch"));
                }
                if inp.bits(32) != self.size {
                    return Err(m!("length mismatch"));
                }
                self.st = St::Head;
            }
        }
        Ok(true)
    }

    /// The state after a block.
    fn end(&self) -> St {
        if self.last {
            St::Trailer
        } else {
            St::Block
        }
    }
}

impl Source for Gunzip<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.rp == self.wp {
            let r = self.step();
            if let Some(why) = self.inp.why {
                return Err(self.inp.io.unwrap_or_else(|| bad(why)));
            }
            match r {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(why) => return Err(bad(why)),
            }
        }
        let at = self.rp & M;
        let n = (self.wp - self.rp).min(WIN - at).min(buf.len());
        let out = &mut buf[..n];
        out.copy_from_slice(&self.win[at..at + n]);
        let t = &self.t;
        let mut c = self.crc;
        for &b in out.iter() {
            c = t.crct[(c as u8 ^ b) as usize] ^ c >> 8;
        }
        self.crc = c;
        self.size = self.size.wrapping_add(n as u32);
        self.rp += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// The system gzip's output for `data`.
    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut c = Command::new("gzip").arg(format!("-{level}")).arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("gzip");
        let mut i = c.stdin.take().unwrap();
        let d = data.to_vec();
        let t = std::thread::spawn(move || i.write_all(&d).unwrap());
        let o = c.wait_with_output().unwrap();
        t.join().unwrap();
        assert!(o.status.success());
        o.stdout
    }

    /// A source that hands out at most `chunk` bytes per read.
    struct Chunks<'a>(&'a [u8], usize);
    impl Source for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Gunzips `z` fed `inc` bytes at a time into `outc`-byte reads. A
    /// stream that keeps returning data beyond any plausible size is a
    /// loop, and fails the test.
    fn gunzip(z: &[u8], inc: usize, outc: usize, cap: usize) -> Res<Vec<u8>> {
        let mut src = Chunks(z, inc);
        let mut g = Gunzip::new(&mut src);
        let mut out = Vec::new();
        let mut b = vec![0u8; outc];
        loop {
            let n = g.read(&mut b)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&b[..n]);
            assert!(out.len() <= cap, "runaway output");
        }
    }

    fn ok(z: &[u8]) -> Vec<u8> {
        gunzip(z, 1 << 20, 1 << 16, 1 << 30).unwrap()
    }

    fn msg(r: Res<Vec<u8>>) -> String {
        String::from_utf8(r.unwrap_err().msg()).unwrap()
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn random(n: usize, seed: u64) -> Vec<u8> {
        let mut r = Rng(seed);
        (0..n).map(|_| r.next() as u8).collect()
    }

    /// Compressible, varied data: text, binaries, runs and noise.
    fn mixed() -> Vec<u8> {
        let mut d = Vec::new();
        for f in ["src/engine/gzip.rs", "src/engine/tar.rs", "/bin/sh"] {
            d.extend_from_slice(&std::fs::read(f).unwrap());
        }
        d.extend_from_slice(&[0u8; 70000]);
        d.extend_from_slice(&random(5000, 7));
        d.extend(std::iter::repeat_n(b"abcabcabd".iter().copied(), 5000).flatten());
        d
    }

    #[test]
    fn levels_and_shapes() {
        let m = mixed();
        let inputs: [&[u8]; 6] = [b"", b"a", b"hello hello hello hello\n", &m, &random(300_000, 3), &[0u8; 1 << 20]];
        for d in inputs {
            for level in [1, 6, 9] {
                let z = gz(d, level);
                assert_eq!(ok(&z), d, "level {level} len {}", d.len());
            }
        }
    }

    #[test]
    fn tiny_reads_and_chunks() {
        let d = mixed();
        let z = gz(&d[..200_000], 6);
        assert_eq!(gunzip(&z, 1 << 20, 1, 1 << 30).unwrap(), &d[..200_000]);
        assert_eq!(gunzip(&z, 1, 4096, 1 << 30).unwrap(), &d[..200_000]);
        assert_eq!(gunzip(&z, 7, 13, 1 << 30).unwrap(), &d[..200_000]);
        let r = random(100_000, 9);
        assert_eq!(gunzip(&gz(&r, 6), 3, 1, 1 << 30).unwrap(), r);
    }

    #[test]
    fn members_padding_and_header_fields() {
        let (a, b) = (mixed(), random(1000, 5));
        let mut z = gz(&a, 6);
        z.extend_from_slice(&gz(b"", 1));
        z.extend_from_slice(&gz(&b, 9));
        let mut want = a.clone();
        want.extend_from_slice(&b);
        assert_eq!(ok(&z), want);
        z.extend_from_slice(&[0u8; 1000]);
        assert_eq!(ok(&z), want);
        z.push(1);
        assert_eq!(msg(gunzip(&z, 1 << 20, 1 << 16, 1 << 30)), "gzip: not in gzip format");

        // FEXTRA, FNAME, FCOMMENT and FHCRC, all skipped.
        let z = gz(b"fields", 6);
        let mut h = vec![0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3, 5, 0, 1, 2, 3, 4, 5];
        h.extend_from_slice(b"name\0comment\0\x12\x34");
        h.extend_from_slice(&z[10..]);
        assert_eq!(ok(&h), b"fields");
    }

    #[test]
    fn refused() {
        let e = |z: &[u8]| msg(gunzip(z, 1 << 20, 1 << 16, 1 << 30));
        assert_eq!(e(b""), "gzip: unexpected end of data");
        assert_eq!(e(b"hello world"), "gzip: not in gzip format");
        assert_eq!(e(&[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0]), "gzip: not in gzip format");
        let d = mixed();
        let z = gz(&d, 6);
        let n = z.len();
        let mut c = z.clone();
        c[n - 8] ^= 1;
        assert_eq!(e(&c), "gzip: CRC mismatch");
        let mut c = z.clone();
        c[n - 1] ^= 1;
        assert_eq!(e(&c), "gzip: length mismatch");
        // block type 3
        let mut c = gz(b"x", 6);
        c[10] |= 6;
        assert_eq!(e(&c), "gzip: invalid deflate data");
        // a distance before the start: fixed block, match at the start
        // (bits: BFINAL 1, BTYPE 01, length code 257 = 0000001, dist 0)
        let c = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(e(&c), "gzip: invalid deflate data");
        // a stored block whose NLEN is not LEN's complement
        let c = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 1, 0, 0xfe, 0xfe, b'x', 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(e(&c), "gzip: invalid deflate data");
        // truncated at many offsets: always an error, never data as if whole
        for cut in (0..n).step_by(n / 97 + 1).chain(n - 8..n) {
            assert!(gunzip(&z[..cut], 1 << 20, 1 << 16, 1 << 30).is_err(), "cut {cut}");
            assert!(gunzip(&z[..cut], 5, 3, 1 << 30).is_err(), "cut {cut}");
        }
    }

    /// Random bit flips, byte changes and cuts: Ok or Err, never a panic
    /// or a hang.
    #[test]
    fn fuzz() {
        let d = mixed();
        let mut bases = vec![gz(&d[..20_000], 6), gz(&d[..3000], 1), gz(&random(2000, 1), 9), gz(b"short text", 9)];
        let mut two = gz(&d[30_000..36_000], 9);
        two.extend_from_slice(&gz(&d[..500], 6));
        bases.push(two);
        let mut r = Rng(0x9e3779b97f4a7c15);
        for i in 0..4000 {
            let mut z = bases[i % bases.len()].clone();
            for _ in 0..1 + r.next() % 4 {
                let at = (r.next() as usize) % z.len();
                match r.next() % 4 {
                    0 => z[at] = r.next() as u8,
                    1 => z.truncate(at.max(1)),
                    _ => z[at] ^= 1 << (r.next() % 8),
                }
            }
            let _ = gunzip(&z, 1 + (r.next() % 5000) as usize, 1 + (r.next() % 70000) as usize, 1 << 22);
        }
    }

    #[test]
    fn magic_kinds() {
        assert_eq!(magic(&[0x1f, 0x8b, 8]), Kind::Gzip);
        assert_eq!(magic(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Kind::Zstd);
        assert_eq!(magic(b"ustar"), Kind::Plain);
        assert_eq!(magic(&[0x1f]), Kind::Plain);
    }

    /// Throughput: `cargo test --release --bins gzip::tests::speed -- --ignored --nocapture`
    /// with MYDOCKER_GZ=FILE.gz (default: gzip -6 of a few copies of /usr/bin).
    #[test]
    #[ignore]
    fn speed() {
        let z = match std::env::var("MYDOCKER_GZ") {
            Ok(f) => std::fs::read(f).unwrap(),
            Err(_) => {
                let mut d = Vec::new();
                for e in std::fs::read_dir("/usr/bin").unwrap() {
                    let p = e.unwrap().path();
                    if let Ok(b) = std::fs::read(&p) {
                        d.extend_from_slice(&b);
                    }
                    if d.len() > 50 << 20 {
                        break;
                    }
                }
                gz(&d, 6)
            }
        };
        // CPU time of this thread (the host may be busy with other work)
        let cpu = || -> f64 {
            let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
            s.split(' ').next().unwrap().parse::<f64>().unwrap() / 1e9
        };
        let t = cpu();
        let mut src = Chunks(&z, 1 << 16);
        let mut g = Gunzip::new(&mut src);
        let mut b = vec![0u8; 1 << 16];
        let mut n = 0;
        loop {
            let k = g.read(&mut b).unwrap();
            if k == 0 {
                break;
            }
            n += k;
        }
        let s = cpu() - t;
        let t = cpu();
        let mut h = crate::engine::sha256::Sha256::new();
        for c in z.chunks(1 << 16) {
            h.update(c);
        }
        let _ = h.finish();
        let hs = cpu() - t;
        println!("gunzip: {} -> {} bytes in {:.3}s CPU = {:.1} MB/s out; sha256: {:.1} MB/s", z.len(), n, s, n as f64 / s / 1e6, z.len() as f64 / hs / 1e6);
    }
}

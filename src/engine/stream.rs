//! Pull streams: one small trait that every stage of an image load or
//! save implements (a descriptor, an archive entry, gunzip, a hash tap, a
//! replayed layer), so stages chain without copying whole blobs.

use crate::engine::util::{Ctx, Res};
use crate::sys::{self, Fd};

/// A byte source. `read` fills some of `buf` and returns how much; 0 is
/// the end of the stream. Errors carry their own message.
pub trait Source {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize>;
}

/// A descriptor as a source (a file, a pipe, stdin).
pub struct FdSource(pub Fd);

impl Source for FdSource {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        sys::read(self.0, buf).ctx(m!("read archive"), b"")
    }
}

/// A source whose first bytes can be looked at before they are read (to
/// tell gzip, zstd, JSON and tar apart by their magic).
pub struct Peek<'a> {
    src: &'a mut dyn Source,
    head: [u8; 8],
    len: usize,
    pos: usize,
}

impl<'a> Peek<'a> {
    pub fn new(src: &'a mut dyn Source) -> Res<Peek<'a>> {
        let mut p = Peek { src, head: [0; 8], len: 0, pos: 0 };
        while p.len < 8 {
            let n = p.src.read(&mut p.head[p.len..])?;
            if n == 0 {
                break;
            }
            p.len += n;
        }
        Ok(p)
    }
    pub fn head(&self) -> &[u8] {
        // (`min`: no bounds-check panic path; `len` is at most 8)
        &self.head[..self.len.min(8)]
    }
}

impl Source for Peek<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Res<usize> {
        // (what is left of the head: no bounds-check panic path)
        let rest = self.head.get(self.pos..self.len).unwrap_or_default();
        if !rest.is_empty() {
            let n = core::cmp::min(buf.len(), rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            return Ok(n);
        }
        self.src.read(buf)
    }
}

/// Reads a source to its end, refusing more than `cap` bytes.
pub fn read_all(src: &mut dyn Source, cap: usize, what: &[u8]) -> Res<alloc::vec::Vec<u8>> {
    let mut v = alloc::vec![0u8; 65536];
    let mut len = 0;
    loop {
        if len == v.len() {
            if len >= cap {
                return Err(crate::engine::util::Error::at(what, m!("too large")));
            }
            v.resize(len * 2, 0);
        }
        let n = src.read(&mut v[len..])?;
        if n == 0 {
            v.truncate(len);
            return Ok(v);
        }
        len += n;
    }
}

/// Reads and drops the rest of a source.
pub fn drain(src: &mut dyn Source) -> Res<()> {
    let mut b = [0u8; 2048]; // (under a page: no stack probe)
    while src.read(&mut b)? != 0 {}
    Ok(())
}

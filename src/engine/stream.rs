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
        sys::read(self.0, buf).ctx("read", b"archive")
    }
}

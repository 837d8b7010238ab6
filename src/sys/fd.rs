//! An owned descriptor: closed when its owner drops it, so no path (early
//! return, `?`, a forked child that does not need it) writes `close`.
//! The calls that open one (`open`, `pipe`, `accept`, ...) return it; only
//! the kernel layer makes one from a number.

use super::Fd;

pub struct Owned(Fd);

impl Owned {
    /// Takes ownership of `fd` (from a call that just returned it).
    pub(super) fn new(fd: Fd) -> Owned {
        Owned(fd)
    }
    /// No descriptor (-1): its drop closes nothing. Cheaper than an
    /// Option<Owned>, whose moves and checks cost code where it is held.
    pub fn none() -> Owned {
        Owned(-1)
    }
    /// The number, for a call; the descriptor stays ours.
    pub fn raw(&self) -> Fd {
        self.0
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        super::close(self.0);
    }
}

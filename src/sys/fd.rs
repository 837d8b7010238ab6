//! An owned descriptor: closed when its owner drops it, so no path (early
//! return, `?`, a forked child that does not need it) writes `close`.

use super::Fd;

pub struct Owned(Fd);

impl Owned {
    /// Takes ownership of `fd` (from a call that just returned it); -1 is
    /// "none", whose drop closes nothing (cheaper than Option<Owned>).
    pub fn new(fd: Fd) -> Owned {
        Owned(fd)
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

//! The one audited module with `unsafe`: thin, safe wrappers over the
//! syscalls mydocker makes, the global allocator, and the panic handler.
//!
//! Syscalls go through rustix where it has them (its linux_raw backend:
//! inline syscalls, typed flags, owned descriptors); libc stays for what
//! rustix does not offer (clone3, exec, signalfd and signal masks, the
//! allocator), each such block with its `SAFETY:` line.
//!
//! Every wrapper takes byte-string paths (`&[u8]`, no NUL inside; the CLI
//! rejects NULs long before we get here, and argv cannot carry them; one
//! that does is EINVAL) and returns `R<T>` = `Result<T, Errno>`. Nothing
//! here decides policy.
//! Man pages: https://man7.org/linux/man-pages/man2/<name>.2.html

use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void, CStr};
use rustix::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags};

pub type Errno = i32;
pub type R<T> = Result<T, Errno>;
pub type Fd = c_int;

pub use libc::{
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, EACCES, EBUSY, EEXIST, EFBIG, EINVAL, ENOENT, ENOEXEC, ENOSYS,
    ENOTDIR, MNT_DETACH, MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL,
    O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SIGCHLD, SIGKILL, SIGTERM, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK,
    S_IFMT, S_IFREG, WNOHANG,
};

fn errno() -> Errno {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

fn chkl(r: libc::c_long) -> R<libc::c_long> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// rustix's result as ours: the errno number.
fn ok<T>(r: rustix::io::Result<T>) -> R<T> {
    r.map_err(|e| e.raw_os_error())
}

/// A borrowed view of a descriptor the engine passes by number: calls
/// that open return an `fd::Owned`, and calls that use one take its
/// `.raw()` number (or stdio's 0, 1, 2), which costs less code than a
/// `BorrowedFd` with its lifetime at every call site. -1 (which only
/// `close` and `poll` accept, and BorrowedFd cannot hold) becomes -2, which
/// the kernel refuses with EBADF as it would -1: no panic path per call
/// (rustix asserts fd != -1), 100 bytes.
fn bfd<'a>(fd: Fd) -> BorrowedFd<'a> {
    // SAFETY: every Fd the engine passes is borrowed from an `fd::Owned`
    // that outlives the call, or is stdio; the borrow lives only for the
    // call it is made for (AT_FDCWD too: rustix's own `CWD` is this very
    // borrow).
    unsafe { BorrowedFd::borrow_raw(if fd == -1 { -2 } else { fd }) }
}

/// `s` as the C string rustix takes: `cs(0, path)?`, slot n for a call's
/// n-th path. One shared copy routine: rustix's own `&[u8]` path argument
/// inlines a 256-byte stack copy and a PATH_MAX slow path into every call
/// site (+3.2 KB on x86_64 for the file calls alone); and not `CString`,
/// whose precompiled code needs an unwinder in the (non-LTO) debug build.
/// A NUL inside is EINVAL.
///
/// The copy is made in scratch buffer `slot` (see `scratch`), which the
/// next `cs` with that slot reuses: each wrapper passes its strings
/// straight to its one syscall and calls no other wrapper meanwhile. No
/// copy to drop and free per path: 800 bytes less than owned copies, and
/// a long-lived process's loop allocates nothing here after its first
/// round (dropping a Vec does not free, see `Malloc`).
#[inline(always)]
fn cs(slot: usize, s: &[u8]) -> R<&'static CStr> {
    cz(slot, s).ok_or(EINVAL)
}

/// `cs`'s out-of-line body: None for a NUL inside. (An Option of the
/// reference comes back in two registers; a Result through memory.)
#[inline(never)]
fn cz(slot: usize, s: &[u8]) -> Option<&'static CStr> {
    // A NUL inside the name would cut it short: refused. (core's
    // from_bytes_with_nul was 220 bytes, this is a third of that.)
    for &b in s {
        if b == 0 {
            return None;
        }
    }
    let v = scratch(slot);
    v.clear();
    v.extend_from_slice(s);
    v.push(0);
    // SAFETY: the only NUL is the last byte.
    Some(unsafe { CStr::from_bytes_with_nul_unchecked(v) })
}

/// The scratch buffers of `cs`: at most four strings in one call (mount).
#[cfg(not(test))]
static mut PATHS: [Vec<u8>; 4] = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];

#[cfg(not(test))]
fn scratch(slot: usize) -> &'static mut Vec<u8> {
    // SAFETY: single-threaded program (clone and fork copy the memory, no
    // CLONE_VM); `cs` is the only user, and a string it returned is dead
    // before the next `cs` with the same slot (see there).
    unsafe { &mut (*core::ptr::addr_of_mut!(PATHS))[slot] }
}

/// Unit tests run threads: each string gets a buffer of its own (leaked).
#[cfg(test)]
fn scratch(_: usize) -> &'static mut Vec<u8> {
    alloc::boxed::Box::leak(alloc::boxed::Box::new(Vec::new()))
}

/// rustix's owned descriptor as ours (one owned type for the crate:
/// `fd::Owned`, whose drop is `close` below).
fn own(fd: OwnedFd) -> fd::Owned {
    fd::Owned::new(fd.into_raw_fd())
}

fn cz_vec(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s);
    v.push(0);
    v
}

// ---------------------------------------------------------------- memory

/// Global allocator: power-of-two size classes with free lists, carved
/// from 64 KiB mmap'ed arenas; blocks over 32 KiB get their own mapping.
/// mydocker is single-threaded (fork copies the state with the memory), so
/// no locking. Smaller than musl's malloc by ~8 KB of code.
///
/// Dropping a value gives nothing back: `dealloc` is empty, so under LTO
/// every drop of a Vec, String or Box compiles to nothing (19 KB of drop
/// calls and clean-up paths on x86_64). Memory comes back only through
/// `free` (and `realloc`, which recycles the block it moves from). That
/// suits a CLI that runs for milliseconds. Code that runs for long or over
/// unbounded input keeps its steady state allocation-free or frees what
/// it allocates per round with `free`: the wait loop (poll), the port
/// proxy (buffers of closed connections), the log indexer and `logs -f`,
/// the stop/rm polls (/proc/PID/stat), and the tree walks (tar import and
/// export, the copy fallback, rm -rf). tests/memory.rs checks that a
/// monitor's RSS does not grow with forwarded connections and log lines.
#[cfg(not(test))]
pub struct Malloc;

#[cfg(not(test))]
const CLASSES: usize = 12; // 16 B .. 32 KiB
#[cfg(not(test))]
static mut FREE: [*mut u8; CLASSES] = [core::ptr::null_mut(); CLASSES];
#[cfg(not(test))]
static mut BUMP: (usize, usize) = (0, 0); // (next, end)

#[cfg(not(test))]
fn class(size: usize, align: usize) -> usize {
    let n = core::cmp::max(core::cmp::max(size, align), 16);
    (usize::BITS - (n - 1).leading_zeros()) as usize - 4
}

#[cfg(not(test))]
fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping; failure is MAP_FAILED.
    let p = unsafe { libc::syscall(libc::SYS_mmap, 0usize, len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0usize) };
    if p == -1 {
        core::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

/// Puts a block back: onto its class's free list, or unmapped.
///
/// # Safety
/// `ptr` came from `Malloc` with layout `l` and is used no more.
#[cfg(not(test))]
unsafe fn give_back(ptr: *mut u8, l: core::alloc::Layout) {
    let c = class(l.size(), l.align());
    if c >= CLASSES {
        libc::syscall(libc::SYS_munmap, ptr, l.size());
        return;
    }
    *(ptr as *mut *mut u8) = FREE[c];
    FREE[c] = ptr;
}

#[cfg(not(test))]
// SAFETY: single-threaded program: FREE and BUMP are never accessed
// concurrently. Every block of class c is 16 << c bytes and aligned to
// min(16 << c, 4 KiB) (arenas are page-aligned), so any layout with
// align <= size class is satisfied.
unsafe impl core::alloc::GlobalAlloc for Malloc {
    unsafe fn alloc(&self, l: core::alloc::Layout) -> *mut u8 {
        let c = class(l.size(), l.align());
        if c >= CLASSES {
            return map(l.size());
        }
        let head = FREE[c];
        if !head.is_null() {
            FREE[c] = *(head as *mut *mut u8);
            return head;
        }
        let size = 16usize << c;
        let (mut next, mut end) = BUMP;
        next = (next + size - 1) & !(size - 1);
        if next + size > end {
            let arena = map(65536);
            if arena.is_null() {
                return arena;
            }
            next = arena as usize;
            end = next + 65536;
        }
        BUMP = (next + size, end);
        next as *mut u8
    }
    /// Nothing: see `Malloc`.
    unsafe fn dealloc(&self, _: *mut u8, _: core::alloc::Layout) {}
    /// In place while the block's size class holds `new` (a Vec that grows
    /// by doubling moves once per class) or it shrinks; a mapping grows by
    /// mremap; otherwise a new block, and the old one is recycled.
    unsafe fn realloc(&self, ptr: *mut u8, l: core::alloc::Layout, new: usize) -> *mut u8 {
        let c = class(l.size(), l.align());
        if new <= l.size() || (c < CLASSES && class(new, l.align()) == c) {
            return ptr;
        }
        if c >= CLASSES {
            let p = libc::syscall(libc::SYS_mremap, ptr, l.size(), new, libc::MREMAP_MAYMOVE);
            return if p == -1 { core::ptr::null_mut() } else { p as *mut u8 };
        }
        let n = self.alloc(core::alloc::Layout::from_size_align_unchecked(new, l.align()));
        if !n.is_null() {
            core::ptr::copy_nonoverlapping(ptr, n, l.size());
            give_back(ptr, l);
        }
        n
    }
}

/// Gives `v`'s buffer back for reuse (see `Malloc`: dropping does not).
/// What the elements own is not freed.
#[cfg(not(test))]
#[inline(never)]
pub fn free<T>(v: Vec<T>) {
    let mut v = core::mem::ManuallyDrop::new(v);
    free_raw(v.as_mut_ptr() as *mut u8, v.capacity() * core::mem::size_of::<T>(), core::mem::align_of::<T>());
}

/// Gives a box's memory back (see `free`).
#[cfg(not(test))]
pub fn free_box<T>(b: alloc::boxed::Box<T>) {
    free_raw(alloc::boxed::Box::into_raw(b) as *mut u8, core::mem::size_of::<T>(), core::mem::align_of::<T>());
}

/// `free`'s one out-of-line body: (buffer, bytes of capacity, alignment).
#[cfg(not(test))]
#[inline(never)]
fn free_raw(ptr: *mut u8, size: usize, align: usize) {
    if size != 0 {
        // SAFETY: `free` passes a buffer of the global allocator (Malloc)
        // with the layout it was allocated with (a Vec's capacity bytes and
        // its element alignment), and the Vec is forgotten: nothing uses it.
        unsafe { give_back(ptr, core::alloc::Layout::from_size_align_unchecked(size, align)) };
    }
}

/// Unit tests run on std's allocator, where dropping frees.
#[cfg(test)]
pub fn free<T>(v: Vec<T>) {
    drop(v);
}

#[cfg(test)]
pub fn free_box<T>(b: alloc::boxed::Box<T>) {
    drop(b);
}

// ---------------------------------------------------------------- message texts

/// The decoded message texts, made by `fill` on the first call and kept for
/// the life of the process (engine::util::push_msg).
#[cfg(not(test))]
static mut MSGS: Vec<u8> = Vec::new();

#[cfg(not(test))]
pub fn msgs(fill: fn(&mut Vec<u8>)) -> &'static [u8] {
    // SAFETY: mydocker is single-threaded, and MSGS is written only here,
    // while it is empty, before any shared borrow of it is handed out: the
    // borrows returned stay valid (it never changes again).
    unsafe {
        let m = &mut *core::ptr::addr_of_mut!(MSGS);
        if m.is_empty() {
            fill(m);
        }
        &*core::ptr::addr_of!(MSGS)
    }
}

/// Unit tests run threads: each decodes once and leaks it.
#[cfg(test)]
pub fn msgs(fill: fn(&mut Vec<u8>)) -> &'static [u8] {
    static M: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let mut v = Vec::new();
        fill(&mut v);
        v
    })
}

// ---------------------------------------------------------------- last error message

// The text of the error being returned, like errno's message: `Error` is a
// plain exit code, so results stay small and `?` paths drop nothing.
// mydocker is single-threaded; unit tests run threads, so they get a
// thread-local one.
#[cfg(not(test))]
static mut ERRMSG: Vec<u8> = Vec::new();

#[cfg(not(test))]
pub fn with_errmsg<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    // SAFETY: single-threaded program; no reference to ERRMSG outlives `f`.
    f(unsafe { &mut *core::ptr::addr_of_mut!(ERRMSG) })
}

#[cfg(test)]
std::thread_local! {
    static ERRMSG: core::cell::RefCell<Vec<u8>> = const { core::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
pub fn with_errmsg<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    ERRMSG.with(|m| f(&mut m.borrow_mut()))
}

// ---------------------------------------------------------------- process entry

/// Copies the C `argv`/`envp` arrays into owned byte strings.
///
/// # Safety
/// `argv` must hold `argc` valid C strings; `envp` must be NULL-terminated.
#[cfg_attr(test, allow(dead_code))]
pub unsafe fn c_args(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    // One loop for both: argv[argc] is NULL too (C11 5.1.2.2.1).
    let _ = argc;
    let list = |p: *const *const c_char| {
        let mut v = Vec::new();
        let mut i = 0;
        // SAFETY: both arrays are NULL-terminated, each entry a C string.
        while !p.is_null() && !(*p.add(i)).is_null() {
            v.push(core::ffi::CStr::from_ptr(*p.add(i)).to_bytes().to_vec());
            i += 1;
        }
        v
    };
    (list(argv), list(envp))
}

/// The C entry point: with `#![no_main]` on musl, std's `env::args()` is
/// empty, so argv and envp are taken here.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    // SAFETY: the C runtime passes argc valid strings and a NULL-terminated envp.
    let (a, e) = unsafe { c_args(argc, argv, envp) };
    crate::entry(&a, &e)
}

pub fn exit(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

// ---------------------------------------------------------------- files

pub fn open(path: &[u8], flags: c_int, mode: u32) -> R<fd::Owned> {
    openat(AT_FDCWD, path, flags, mode)
}

pub fn openat(dir: Fd, name: &[u8], flags: c_int, mode: u32) -> R<fd::Owned> {
    ok(rustix::fs::openat(bfd(dir), cs(0, name)?, OFlags::from_bits_retain(flags as u32) | OFlags::CLOEXEC, Mode::from_raw_mode(mode))).map(own)
}

/// Closes a descriptor (-1, "none", is skipped): only `fd::Owned`'s drop
/// calls it.
fn close(fd: Fd) {
    if fd >= 0 {
        // SAFETY: the caller owns fd and uses it no more: the OwnedFd takes
        // it over, and dropping it closes it.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

pub fn read(fd: Fd, buf: &mut [u8]) -> R<usize> {
    ok(rustix::io::retry_on_intr(|| rustix::io::read(bfd(fd), &mut *buf)))
}

pub fn write(fd: Fd, buf: &[u8]) -> R<usize> {
    ok(rustix::io::retry_on_intr(|| rustix::io::write(bfd(fd), buf)))
}

pub fn write_all(fd: Fd, mut buf: &[u8]) -> R<()> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        buf = &buf[n..];
    }
    Ok(())
}

pub fn read_to_end(fd: Fd, out: &mut Vec<u8>) -> R<()> {
    // Uninitialized: no 8 KB memset per call.
    let mut chunk = [core::mem::MaybeUninit::<u8>::uninit(); 8192];
    loop {
        match rustix::io::read(bfd(fd), &mut chunk) {
            Ok(([], _)) => return Ok(()),
            Ok((got, _)) => out.extend_from_slice(got),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.raw_os_error()),
        }
    }
}

pub fn pipe() -> R<(fd::Owned, fd::Owned)> {
    let (r, w) = ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC))?;
    Ok((own(r), own(w)))
}

/// dup2 onto stdin, stdout or stderr (the only targets mydocker has); the
/// copy is not close-on-exec. `a == b` keeps the descriptor as it is, as
/// dup2(2) does (aarch64 has only dup3, which refuses equal numbers).
pub fn dup2(a: Fd, b: Fd) -> R<()> {
    if a == b {
        return ok(rustix::io::fcntl_getfd(bfd(a))).map(|_| ());
    }
    if !(0..=2).contains(&b) {
        return Err(EINVAL);
    }
    // One call for the three targets (rustix's dup2_stdin/stdout/stderr
    // are this, each inlined with its own syscall).
    // SAFETY: `b` is 0, 1 or 2, which the process has (or dup2 opens);
    // the ManuallyDrop never closes it: the OwnedFd only names the target.
    let mut t = core::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(b) });
    ok(rustix::io::dup2(bfd(a), &mut t))
}

pub fn set_cloexec(fd: Fd, on: bool) -> R<()> {
    use rustix::io::FdFlags;
    ok(rustix::io::fcntl_setfd(bfd(fd), if on { FdFlags::CLOEXEC } else { FdFlags::empty() }))
}

/// Clears close-on-exec on `fd` (a descriptor the caller hands on).
pub fn keep_fd(fd: Fd) {
    let _ = rustix::io::fcntl_setfd(bfd(fd), rustix::io::FdFlags::empty());
}

/// Marks every descriptor >= `from` close-on-exec, so nothing of the
/// caller's or of mydocker's leaks into the container.
pub fn cloexec_from(from: Fd) {
    // rustix 1.x has no close_range.
    // SAFETY: with CLOSE_RANGE_CLOEXEC it only sets flags and closes
    // nothing (Linux 5.11+).
    if unsafe {
        libc::syscall(libc::SYS_close_range, from as u32, !0u32, 4u32 /* CLOSE_RANGE_CLOEXEC */)
    } == 0
    {
        return;
    }
    // Older kernels: walk /proc/self/fd (mounted on every host we support),
    // falling back to a fixed range.
    let mut fds = Vec::new();
    match list_dir(b"/proc/self/fd") {
        Ok(ents) => {
            for (name, _) in ents {
                if let Some(n) = parse_u64(&name) {
                    fds.push(n as Fd);
                }
            }
        }
        Err(_) => fds.extend(from..1024),
    }
    for fd in fds {
        if fd >= from {
            let _ = set_cloexec(fd, true);
        }
    }
}

pub fn mkdir(path: &[u8], mode: u32) -> R<()> {
    mkdirat(AT_FDCWD, path, mode)
}

pub fn mkdirat(dir: Fd, name: &[u8], mode: u32) -> R<()> {
    ok(rustix::fs::mkdirat(bfd(dir), cs(0, name)?, Mode::from_raw_mode(mode)))
}

pub fn rmdir(path: &[u8]) -> R<()> {
    unlinkat(AT_FDCWD, path, AT_REMOVEDIR)
}

pub fn unlinkat(dir: Fd, name: &[u8], flags: c_int) -> R<()> {
    ok(rustix::fs::unlinkat(bfd(dir), cs(0, name)?, AtFlags::from_bits_retain(flags as u32)))
}
pub const AT_REMOVEDIR: c_int = libc::AT_REMOVEDIR;
pub const AT_FDCWD: c_int = libc::AT_FDCWD;

pub fn rename(a: &[u8], b: &[u8]) -> R<()> {
    ok(rustix::fs::renameat(rustix::fs::CWD, cs(0, a)?, rustix::fs::CWD, cs(1, b)?))
}

pub fn symlinkat(target: &[u8], dir: Fd, name: &[u8]) -> R<()> {
    ok(rustix::fs::symlinkat(cs(0, target)?, bfd(dir), cs(1, name)?))
}

/// Hard link without following a final symlink (the link names the symlink itself).
pub fn linkat(odir: Fd, oname: &[u8], ndir: Fd, nname: &[u8]) -> R<()> {
    ok(rustix::fs::linkat(bfd(odir), cs(0, oname)?, bfd(ndir), cs(1, nname)?, AtFlags::empty()))
}

pub fn mknodat(dir: Fd, name: &[u8], mode: u32, major: u32, minor: u32) -> R<()> {
    use rustix::fs::{makedev, FileType};
    ok(rustix::fs::mknodat(bfd(dir), cs(0, name)?, FileType::from_raw_mode(mode), Mode::from_raw_mode(mode), makedev(major, minor)))
}

pub fn fchownat_nofollow(dir: Fd, name: &[u8], uid: u32, gid: u32) -> R<()> {
    use rustix::fs::{Gid, Uid};
    ok(rustix::fs::chownat(bfd(dir), cs(0, name)?, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)), AtFlags::SYMLINK_NOFOLLOW))
}

pub fn fchmod(fd: Fd, mode: u32) -> R<()> {
    ok(rustix::fs::fchmod(bfd(fd), Mode::from_raw_mode(mode)))
}

/// Sets atime and mtime of `name` (not following symlinks).
pub fn set_mtime(dir: Fd, name: &[u8], secs: i64) -> R<()> {
    let t = rustix::fs::Timespec { tv_sec: secs, tv_nsec: 0 };
    ok(rustix::fs::utimensat(bfd(dir), cs(0, name)?, &rustix::fs::Timestamps { last_access: t, last_modification: t }, AtFlags::SYMLINK_NOFOLLOW))
}

pub fn readlinkat(dir: Fd, name: &[u8]) -> R<Vec<u8>> {
    // On the stack: no buffer to allocate and free per symlink of a tree walk.
    let mut buf = [core::mem::MaybeUninit::<u8>::uninit(); 4096];
    ok(rustix::fs::readlinkat_raw(bfd(dir), cs(0, name)?, &mut buf)).map(|(l, _)| l.to_vec())
}

/// Sets the extended attribute `name` of the open file `fd`.
pub fn fsetxattr(fd: Fd, name: &[u8], val: &[u8]) -> R<()> {
    ok(rustix::fs::fsetxattr(bfd(fd), cs(0, name)?, val, rustix::fs::XattrFlags::empty()))
}

/// The value of the extended attribute `name` of the open file `fd`
/// (values over 255 bytes are ERANGE: mydocker reads only short ones).
pub fn fgetxattr(fd: Fd, name: &[u8]) -> R<Vec<u8>> {
    let mut b = [core::mem::MaybeUninit::<u8>::uninit(); 255];
    ok(rustix::fs::fgetxattr(bfd(fd), cs(0, name)?, &mut b)).map(|(v, _)| v.to_vec())
}
pub const ENOTSUP: Errno = libc::EOPNOTSUPP;

#[derive(Clone, Copy, Default, Debug)]
pub struct Stat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub ino: u64,
    pub nlink: u64,
    pub dev: u64,
    pub rdev: u64,
}

impl Stat {
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == S_IFDIR
    }
    /// A device node's (major, minor).
    pub fn dev_numbers(&self) -> (u32, u32) {
        (rustix::fs::major(self.rdev as _), rustix::fs::minor(self.rdev as _))
    }
}

/// fstatat without following a final symlink (`follow` = false) or with it.
// st_nlink and st_dev are u64 on x86_64 and c_ulong/u32 on aarch64: one cast serves both.
#[allow(clippy::unnecessary_cast)]
pub fn statat(dir: Fd, name: &[u8], follow: bool) -> R<Stat> {
    let fl = if follow { AtFlags::empty() } else { AtFlags::SYMLINK_NOFOLLOW } | if name.is_empty() { AtFlags::EMPTY_PATH } else { AtFlags::empty() };
    let s = ok(rustix::fs::statat(bfd(dir), cs(0, name)?, fl))?;
    Ok(Stat {
        mode: s.st_mode as u32,
        uid: s.st_uid,
        gid: s.st_gid,
        size: s.st_size as u64,
        mtime: s.st_mtime as i64,
        ino: s.st_ino as u64,
        nlink: s.st_nlink as u64,
        dev: s.st_dev as u64,
        rdev: s.st_rdev as u64,
    })
}

pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// The filesystem type (statfs f_type) of the one holding `path`.
pub fn fs_magic(path: &[u8]) -> R<u64> {
    ok(rustix::fs::statfs(cs(0, path)?)).map(|s| s.f_type as u64)
}

pub fn stat(path: &[u8]) -> R<Stat> {
    statat(AT_FDCWD, path, true)
}

pub fn lstat(path: &[u8]) -> R<Stat> {
    statat(AT_FDCWD, path, false)
}

pub fn fstat(fd: Fd) -> R<Stat> {
    statat(fd, b"", true)
}

/// All entries of a directory but `.` and `..`, as (name, d_type).
/// Tree walks hand the list to `free_names` when done with it.
pub fn read_dir(fd: Fd) -> R<Vec<(Vec<u8>, u8)>> {
    use rustix::fs::FileType;
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(16384);
    let mut d = rustix::fs::RawDir::new(bfd(fd), buf.spare_capacity_mut());
    while let Some(e) = d.next() {
        // (an error leaves `buf` to the never-freeing allocator: rare)
        let e = ok(e)?;
        let name = e.file_name().to_bytes();
        if name != b"." && name != b".." {
            // d_type is S_IFMT >> 12 (IFTODT); unknown stays DT_UNKNOWN (0).
            // (FileType's discriminants are the S_IF* values.)
            let ty = match e.file_type() {
                FileType::Unknown => 0,
                t => (t as u32 >> 12) as u8,
            };
            out.push((name.to_vec(), ty));
        }
    }
    free(buf); // once per directory of a tree walk
    Ok(out)
}
pub const DT_DIR: u8 = libc::DT_DIR;

/// `read_dir` of the directory at `path`, opened and closed here.
pub fn list_dir(path: &[u8]) -> R<Vec<(Vec<u8>, u8)>> {
    read_dir(open(path, O_RDONLY | O_DIRECTORY, 0)?.raw())
}

/// Frees a `read_dir` list, names and all (see `Malloc`).
pub fn free_names(v: Vec<(Vec<u8>, u8)>) {
    let mut v = v;
    for (n, _) in v.iter_mut() {
        free(core::mem::take(n));
    }
    free(v);
}

/// An exclusive flock(2); with `wait` false, EWOULDBLOCK if someone has it.
pub fn flock(fd: Fd, wait: bool) -> R<()> {
    use rustix::fs::FlockOperation::{LockExclusive, NonBlockingLockExclusive};
    ok(rustix::io::retry_on_intr(|| rustix::fs::flock(bfd(fd), if wait { LockExclusive } else { NonBlockingLockExclusive })))
}

/// Seeks to `off` from the start (SEEK_SET; a negative `off` is EINVAL,
/// as lseek(2) says) or from the end (SEEK_END); any other whence is EINVAL.
pub fn lseek(fd: Fd, off: i64, whence: c_int) -> R<i64> {
    use rustix::fs::SeekFrom;
    let to = match whence {
        SEEK_SET if off >= 0 => SeekFrom::Start(off as u64),
        SEEK_END => SeekFrom::End(off),
        _ => return Err(EINVAL),
    };
    ok(rustix::fs::seek(bfd(fd), to)).map(|n| n as i64)
}
pub const SEEK_SET: c_int = libc::SEEK_SET;
pub const SEEK_END: c_int = libc::SEEK_END;

pub fn umask(m: u32) {
    rustix::process::umask(Mode::from_raw_mode(m));
}

// ---------------------------------------------------------------- mounts and roots

/// mount(2) with the raw MS_* flags. An empty `data` is NULL. An empty
/// `src` or `fstype` goes to the kernel as "" (rustix's `mount` always
/// passes both), which binds, moves, remounts and propagation changes
/// ignore, as they ignore NULL; new mounts always name both.
pub fn mount(src: &[u8], target: &[u8], fstype: &[u8], flags: libc::c_ulong, data: &[u8]) -> R<()> {
    let data = if data.is_empty() { None } else { Some(cs(3, data)?) };
    let flags = rustix::mount::MountFlags::from_bits_retain(flags as u32);
    ok(rustix::mount::mount(cs(0, src)?, cs(1, target)?, cs(2, fstype)?, flags, data))
}

pub fn umount2(target: &[u8], flags: c_int) -> R<()> {
    ok(rustix::mount::unmount(cs(0, target)?, rustix::mount::UnmountFlags::from_bits_retain(flags as u32)))
}

pub fn pivot_root(new: &[u8], old: &[u8]) -> R<()> {
    ok(rustix::process::pivot_root(cs(0, new)?, cs(1, old)?))
}

pub fn chroot(path: &[u8]) -> R<()> {
    ok(rustix::process::chroot(cs(0, path)?))
}

pub fn chdir(path: &[u8]) -> R<()> {
    ok(rustix::process::chdir(cs(0, path)?))
}

/// 0 if `path` may be executed by us (access(2), X_OK), else the errno.
pub fn access_x(path: &[u8]) -> Errno {
    match cs(0, path).and_then(|p| ok(rustix::fs::access(p, rustix::fs::Access::EXEC_OK))) {
        Ok(()) => 0,
        Err(e) => e,
    }
}

/// setrlimit(2) of resource `res` (RLIMIT_*), u64::MAX: unlimited.
pub fn setrlimit(res: i32, soft: u64, hard: u64) -> R<()> {
    let l = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `l` is a valid rlimit for the call's duration, the old value
    // is not asked for. (The raw prlimit64 of this thread: musl's
    // setrlimit brings its all-threads machinery, 3 KB.)
    chkl(unsafe { libc::syscall(libc::SYS_prlimit64, 0, res, &l as *const libc::rlimit, core::ptr::null_mut::<libc::rlimit>()) }).map(|_| ())
}

/// A FIFO at `path` (mknod(2), S_IFIFO).
pub fn mkfifo(path: &[u8], mode: u32) -> R<()> {
    mknodat(AT_FDCWD, path, S_IFIFO | mode, 0, 0)
}

pub fn sethostname(name: &[u8]) -> R<()> {
    ok(rustix::system::sethostname(name))
}

/// setns(2); `nstype` is a CLONE_NEW* flag (0: any).
pub fn setns(fd: Fd, nstype: c_int) -> R<()> {
    use rustix::thread::{move_into_thread_name_spaces, ThreadNameSpaceType};
    ok(move_into_thread_name_spaces(bfd(fd), ThreadNameSpaceType::from_bits_retain(nstype as u32)))
}

/// unshare(2) of namespaces (CLONE_NEW* flags).
pub fn unshare(flags: c_int) -> R<()> {
    use rustix::thread::{unshare_unsafe, UnshareFlags};
    // SAFETY: rustix marks unshare unsafe for CLONE_FILES/CLONE_FS, which
    // split a descriptor table or cwd other threads share; mydocker is
    // single-threaded and unshares namespaces only.
    ok(unsafe { unshare_unsafe(UnshareFlags::from_bits_retain(flags as u32)) })
}

pub fn fchdir(fd: Fd) -> R<()> {
    ok(rustix::process::fchdir(bfd(fd)))
}

// ---------------------------------------------------------------- processes

/// clone(2) without CLONE_VM and without a new stack: fork semantics, plus
/// namespace flags. Returns 0 in the child. The argument order of the raw
/// syscall differs between arches, but every argument after flags is 0.
pub fn clone(flags: c_int) -> R<i32> {
    // SAFETY: with no CLONE_VM the child gets a copy of our address space,
    // exactly as with fork(); we are single-threaded so no lock is held.
    chkl(unsafe { libc::syscall(libc::SYS_clone, (flags | SIGCHLD) as libc::c_ulong, 0usize, 0usize, 0usize, 0usize) }).map(|r| r as i32)
}

/// clone3(2) with CLONE_INTO_CGROUP: the child starts life inside the v2
/// cgroup `cgroup_fd`, so no migration (and no wait for an RCU grace period
/// on the global threadgroup lock) is needed. Linux 5.7+; callers fall back
/// to `clone` on error. Fork semantics as in `clone`.
pub fn clone_into_cgroup(flags: c_int, cgroup_fd: Fd) -> R<i32> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    // struct clone_args (CLONE_ARGS_SIZE_VER2 = 88 bytes): flags, pidfd,
    // child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
    // set_tid_size, cgroup.
    let mut args = [0u64; 11];
    args[0] = flags as u32 as u64 | CLONE_INTO_CGROUP;
    args[4] = SIGCHLD as u64;
    args[10] = cgroup_fd as u64;
    // SAFETY: args is a valid clone_args of the size passed; no CLONE_VM and
    // no stack, so the child continues on a copy of our memory as in fork().
    chkl(unsafe { libc::syscall(libc::SYS_clone3, args.as_mut_ptr(), core::mem::size_of_val(&args)) }).map(|r| r as i32)
}

/// A positive pid as rustix's `Pid`; 0 (and anything below) is None.
fn pid_of(pid: i32) -> Option<rustix::process::Pid> {
    if pid > 0 {
        rustix::process::Pid::from_raw(pid)
    } else {
        None
    }
}

/// fork(2), as a raw clone: musl's fork() adds atfork and lock handling
/// a single-threaded program without threads has no use for.
pub fn fork() -> R<i32> {
    clone(0)
}

/// execve(2). Returns only on failure, with the errno.
pub fn execve(path: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>]) -> Errno {
    exec_at(-1, path, argv, env)
}

/// execveat(fd, "", AT_EMPTY_PATH): runs the program `fd` holds (a sealed
/// memfd), whatever the mount namespace. Returns only on failure.
pub fn fexecve(fd: Fd, argv: &[Vec<u8>], env: &[Vec<u8>]) -> Errno {
    exec_at(fd, b"", argv, env)
}

fn exec_at(fd: Fd, path: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>]) -> Errno {
    // Every string NUL-terminated in one buffer, and one array of their
    // offsets: argv, 0, env, 0 (offset 0 is `path`, never an argument, so
    // 0 stays the NULL), made pointers once the buffer has stopped moving.
    let mut buf = cz_vec(path);
    let mut ptrs: Vec<usize> = Vec::new();
    for list in [argv, env] {
        for s in list {
            ptrs.push(buf.len());
            buf.extend_from_slice(s);
            buf.push(0);
        }
        ptrs.push(0);
    }
    let base = buf.as_ptr() as *const c_char;
    for p in ptrs.iter_mut() {
        if *p != 0 {
            *p = base.wrapping_add(*p) as usize;
        }
    }
    let a = ptrs.as_ptr() as *const *const c_char;
    let e = a.wrapping_add(argv.len() + 1);
    if fd < 0 {
        // SAFETY: every non-zero entry of `ptrs` (a usize is a pointer's
        // size) is the address of a NUL-terminated string in `buf`, which
        // no longer moves; argv's array ends at its 0 (NULL), env's follows it.
        unsafe { libc::syscall(libc::SYS_execve, base, a, e) };
    } else {
        // SAFETY: as above; `base` is "" (NUL-terminated) and fd is ours.
        unsafe { libc::syscall(libc::SYS_execveat, fd, base, a, e, libc::AT_EMPTY_PATH) };
    }
    errno()
}

/// waitpid(2) for `pid` (-1: any child); returns (pid, raw status). pid 0
/// with WNOHANG = still running.
pub fn waitpid(pid: i32, flags: c_int) -> R<(i32, i32)> {
    let opts = rustix::process::WaitOptions::from_bits_retain(flags as u32);
    if pid == 0 || pid < -1 {
        return Err(EINVAL); // process groups: mydocker waits for processes only
    }
    match ok(rustix::io::retry_on_intr(|| rustix::process::waitpid(pid_of(pid), opts)))? {
        Some((p, st)) => Ok((p.as_raw_nonzero().get(), st.as_raw())),
        None => Ok((0, 0)),
    }
}

/// Exit status the docker way: the code, or 128+signal.
pub fn status_code(st: i32) -> i32 {
    if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else if libc::WIFSIGNALED(st) {
        128 + libc::WTERMSIG(st)
    } else {
        125
    }
}

/// kill(2) of one process (pid > 0) with a named signal. pid 0 or -1
/// (our group, everyone) is EINVAL: a record whose pid is unset must not
/// turn `stop` into killing the caller's own process group.
pub fn kill(pid: i32, sig: c_int) -> R<()> {
    let (Some(p), Some(s)) = (pid_of(pid), rustix::process::Signal::from_named_raw(sig)) else { return Err(EINVAL) };
    ok(rustix::process::kill_process(p, s))
}

pub fn getpid() -> i32 {
    rustix::process::getpid().as_raw_nonzero().get()
}

pub fn geteuid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// setgroups(2), setgid(2), setuid(2) of the calling thread: the raw
/// syscalls (the kernel keeps ids per thread; libc's versions signal every
/// thread to change them all, needless in single-threaded mydocker).
pub fn setgroups(groups: &[u32]) -> R<()> {
    // SAFETY: Gid is a repr(transparent) u32 (any value: the kernel
    // refuses one it cannot map), so the slice is a slice of Gids.
    let g = unsafe { core::slice::from_raw_parts(groups.as_ptr().cast::<rustix::process::Gid>(), groups.len()) };
    ok(rustix::thread::set_thread_groups(g))
}

pub fn setgid(gid: u32) -> R<()> {
    ok(rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid)))
}

pub fn setuid(uid: u32) -> R<()> {
    ok(rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid)))
}

pub fn setsid() {
    // Failing (already a leader) is harmless.
    let _ = rustix::process::setsid();
}

/// isatty(3) as musl does it (TIOCGWINSZ succeeds), as a raw call.
pub fn isatty(fd: Fd) -> bool {
    rustix::termios::isatty(bfd(fd))
}

// ---------------------------------------------------------------- signals

/// A signal set as the raw calls below pass it to the kernel (8 bytes,
/// bit N-1 for signal N): no sigemptyset/sigaddset from musl.
fn sigset(sigs: &[c_int]) -> u64 {
    sigs.iter().fold(0, |m, &g| m | 1 << (g - 1))
}

/// The signals the waiting parent and the mini-init take over by signalfd.
pub const FORWARDED: [c_int; 9] =
    [libc::SIGCHLD, libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH, libc::SIGCONT];

pub fn block(sigs: &[c_int]) -> R<()> {
    let s = sigset(sigs);
    // SAFETY: s is an 8-byte kernel signal set, the size passed.
    chkl(unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &s as *const u64, 0usize, 8usize) }).map(|_| ())
}

/// rt_sigaction with SIG_DFL or SIG_IGN: the kernel's struct sigaction is
/// {handler, flags, restorer, mask} on x86_64 and aarch64, and neither
/// disposition needs a restorer (musl's sigaction adds locking and
/// bookkeeping for handlers we never install).
fn set_disposition(sig: c_int, handler: libc::sighandler_t) {
    let act: [usize; 4] = [handler, 0, 0, 0];
    // SAFETY: act is a valid kernel sigaction for a non-handler disposition.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, act.as_ptr(), 0usize, 8usize) };
}

/// Empties the signal mask and resets every disposition to default, as a
/// freshly exec'ed program expects.
pub fn reset_signals() {
    let s = sigset(&[]);
    // SAFETY: s is an 8-byte kernel signal set, the size passed.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &s as *const u64, 0usize, 8usize) };
    // Real-time signals too (up to 64): a caller may have ignored them, and
    // musl's sigaction refuses 32-34, its own; the kernel does not.
    for g in 1..65 {
        if g != libc::SIGKILL && g != libc::SIGSTOP {
            set_disposition(g, libc::SIG_DFL);
        }
    }
}

pub fn ignore_sigpipe() {
    set_disposition(libc::SIGPIPE, libc::SIG_IGN);
}

pub fn signalfd(sigs: &[c_int]) -> R<fd::Owned> {
    let s = sigset(sigs);
    // SAFETY: s is an 8-byte kernel signal set, the size passed.
    chkl(unsafe { libc::syscall(libc::SYS_signalfd4, -1, &s as *const u64, 8usize, libc::SFD_CLOEXEC) }).map(|r| fd::Owned::new(r as Fd))
}

/// Reads one signal number from a signalfd.
pub fn read_signal(fd: Fd) -> R<c_int> {
    let mut b = [0u8; 128]; // sizeof(struct signalfd_siginfo)
    let n = read(fd, &mut b)?;
    if n < 4 {
        return Err(EINVAL);
    }
    Ok(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as c_int)
}

pub const POLLIN: i16 = libc::POLLIN;
pub const POLLOUT: i16 = libc::POLLOUT;

// In place and allocation-free (it runs once per event of a monitor; see
// `Malloc`), with -1 entries skipped as poll(2) does: rustix's PollFd
// holds a BorrowedFd, which cannot be -1, so this one stays hand-written.
pub use libc::pollfd as PollFd;

pub fn pollfd(fd: Fd, events: i16) -> PollFd {
    PollFd { fd, events, revents: 0 }
}

/// poll(2), in place: each entry's `revents` is set.
pub fn poll(fds: &mut [PollFd], timeout: c_int) -> R<()> {
    loop {
        // SAFETY: fds is a valid array of pollfd of the given length.
        // x86_64 has the poll syscall, which musl's poll() wraps (with its
        // cancellation-point glue, 70 bytes); aarch64 has only ppoll.
        #[cfg(target_arch = "x86_64")]
        let r = chkl(unsafe { libc::syscall(libc::SYS_poll, fds.as_mut_ptr(), fds.len(), timeout) });
        // SAFETY: as above.
        #[cfg(not(target_arch = "x86_64"))]
        let r = chkl(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, timeout) } as libc::c_long);
        match r {
            Err(libc::EINTR) => continue,
            r => return r.map(|_| ()),
        }
    }
}

// ---------------------------------------------------------------- terminals

/// Opens a new pty pair on the host's devpts: (master, slave).
pub fn openpty() -> R<(fd::Owned, fd::Owned)> {
    use rustix::fd::AsRawFd;
    use rustix::pty::{openpt, unlockpt, OpenptFlags};
    // Owned until it is handed over: every error path below closes it.
    let m = ok(openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC))?;
    ok(unlockpt(&m))?;
    let mut n: libc::c_uint = 0;
    // TIOCGPTN by hand: rustix's ptsname needs its alloc feature, and its
    // TIOCGPTPEER would need Linux 4.13.
    // SAFETY: TIOCGPTN writes one unsigned int through the pointer.
    chkl(unsafe { libc::syscall(libc::SYS_ioctl, m.as_raw_fd(), libc::TIOCGPTN, &mut n as *mut libc::c_uint) })?;
    let mut path = b"/dev/pts/".to_vec();
    push_num(&mut path, n as u64);
    let s = open(&path, O_RDWR | O_NOCTTY, 0)?;
    Ok((own(m), s))
}

/// Makes the terminal `fd` our controlling terminal (TIOCSCTTY).
pub fn set_ctty(fd: Fd) -> R<()> {
    ok(rustix::process::ioctl_tiocsctty(bfd(fd)))
}

/// Copies the window size of terminal `from` to `to`; failures are
/// ignored (not a tty).
pub fn copy_winsize(from: Fd, to: Fd) {
    if let Ok(ws) = rustix::termios::tcgetwinsize(bfd(from)) {
        let _ = rustix::termios::tcsetwinsize(bfd(to), ws);
    }
}

// make_raw/restore_term stay on libc's raw ioctls: rustix's tcgetattr/tcsetattr
// (termios2 with its speed fields and fallbacks) and Termios::make_raw
// cost +728 bytes on x86_64 and +624 on aarch64 over musl's three calls.

/// Saved terminal settings, restored by `restore_term`.
pub struct Termios(libc::termios);

pub fn make_raw(fd: Fd) -> R<Termios> {
    // SAFETY: termios is plain data filled by TCGETS before use (musl's
    // struct holds the kernel's as its head, and tcgetattr is this ioctl).
    unsafe {
        let mut t: libc::termios = core::mem::zeroed();
        chkl(libc::syscall(libc::SYS_ioctl, fd, libc::TCGETS, &mut t as *mut libc::termios))?;
        let saved = Termios(t);
        // cfmakeraw(3), as musl does it (its call was 44 bytes more).
        use libc::*;
        t.c_iflag &= !(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
        t.c_oflag &= !OPOST;
        t.c_lflag &= !(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        t.c_cflag = t.c_cflag & !(CSIZE | PARENB) | CS8;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        set_term(fd, &t)?;
        Ok(saved)
    }
}

/// tcsetattr(fd, TCSANOW, t) as musl does it: the TCSETS ioctl, raw
/// (musl's ioctl, tcgetattr and tcsetattr together were 140 bytes).
fn set_term(fd: Fd, t: &libc::termios) -> R<libc::c_long> {
    // SAFETY: the kernel reads a struct termios (the head of musl's) from t.
    chkl(unsafe { libc::syscall(libc::SYS_ioctl, fd, libc::TCSETS, t as *const libc::termios) })
}

pub fn restore_term(fd: Fd, t: &Termios) {
    let _ = set_term(fd, &t.0);
}

// ---------------------------------------------------------------- inotify

// ---------------------------------------------------------------- bpf

/// bpf(2) attach flags: the one program of a cgroup, which a descendant's
/// own program replaces for its subtree; or one of several that all run.
pub const BPF_F_ALLOW_OVERRIDE: u32 = 1;
pub const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_CGROUP_DEVICE: u32 = 6;

fn bpf(cmd: c_int, attr: &mut [u32]) -> R<libc::c_long> {
    // SAFETY: `attr` is a valid bpf_attr head of the size passed (the
    // kernel takes a shorter one as zero-filled), whose pointers the
    // callers keep alive for the call; the kernel writes back only into
    // a BPF_PROG_QUERY attr, up to its 64 bytes, which is what
    // bpf_device_query passes, and attr is exclusively borrowed.
    chkl(unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), core::mem::size_of_val(attr)) })
}

/// Loads `insns` (struct bpf_insn, 8 bytes each, as u64s in the native
/// little-endian layout: code, dst|src<<4, off:16, imm:32) as a
/// BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the v2 cgroup
/// `cgroup` (an O_DIRECTORY descriptor) as BPF_CGROUP_DEVICE with `flags`
/// (see `bpf_device_query` for what they mean). The program's descriptor
/// is closed on return: the attachment holds it, and it goes with the
/// cgroup. bpf(2) is not in rustix: raw syscalls.
pub fn bpf_attach_device_filter(cgroup: Fd, insns: &[u64], flags: u32) -> R<()> {
    const BPF_PROG_LOAD: c_int = 5;
    const BPF_PROG_ATTACH: c_int = 8;
    const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
    // No helper is called, so no GPL-only one: any license string will do.
    let license = b"MIT\0";
    let (i, l) = (insns.as_ptr() as u64, license.as_ptr() as u64);
    // The head of union bpf_attr for BPF_PROG_LOAD: prog_type, insn_cnt,
    // insns, license (log_level and the rest zero).
    let mut load = [BPF_PROG_TYPE_CGROUP_DEVICE, insns.len() as u32, i as u32, (i >> 32) as u32, l as u32, (l >> 32) as u32];
    let prog = fd::Owned::new(bpf(BPF_PROG_LOAD, &mut load)? as Fd);
    // target_fd, attach_bpf_fd, attach_type, attach_flags.
    bpf(BPF_PROG_ATTACH, &mut [cgroup as u32, prog.raw() as u32, BPF_CGROUP_DEVICE, flags]).map(|_| ())
}

/// The attach flags and the number of the BPF_CGROUP_DEVICE programs
/// attached to the v2 cgroup `cgroup` itself (BPF_PROG_QUERY). The kernel
/// (kernel/bpf/cgroup.c) runs for a cgroup its own programs, then each
/// ancestor's that were attached with BPF_F_ALLOW_MULTI, and the first
/// ancestor's with programs, if the cgroup has none yet: a program
/// attached with BPF_F_ALLOW_OVERRIDE is replaced, for a subtree, by any
/// its root attaches.
pub fn bpf_device_query(cgroup: Fd) -> R<(u32, u32)> {
    const BPF_PROG_QUERY: c_int = 16;
    // target_fd, attach_type, query_flags, attach_flags (out), prog_ids
    // (none), prog_cnt (out); up to `revision` (kernel 6.x writes it).
    let mut q = [0u32; 16];
    (q[0], q[1]) = (cgroup as u32, BPF_CGROUP_DEVICE);
    bpf(BPF_PROG_QUERY, &mut q)?;
    Ok((q[3], q[6]))
}

// ---------------------------------------------------------------- netlink

/// A netlink socket of protocol `proto` (NETLINK_ROUTE is 0), owned: only
/// sys/netlink.rs uses it, and dropping it closes it.
pub fn netlink_socket(proto: c_int) -> R<OwnedFd> {
    use rustix::net::{AddressFamily, Protocol, SocketFlags, SocketType};
    let proto = core::num::NonZeroU32::new(proto as u32).map(Protocol::from_raw);
    ok(rustix::net::socket_with(AddressFamily::NETLINK, SocketType::RAW, SocketFlags::CLOEXEC, proto))
}

/// The index of network interface `name` (SIOCGIFINDEX, as if_nametoindex).
pub fn ifindex(name: &[u8]) -> R<i32> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    // Interface names here are ones mydocker made (br-<hex>, veth, eth0):
    // ASCII. core's UTF-8 validator inlined here was 350 bytes.
    // (A byte loop: core's word-at-a-time is_ascii was 150 bytes.)
    for &c in name {
        if c >= 0x80 {
            return Err(libc::ENODEV);
        }
    }
    // SAFETY: ASCII bytes are valid UTF-8.
    let name = unsafe { core::str::from_utf8_unchecked(name) };
    let fd = ok(rustix::net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC, None))?;
    ok(rustix::net::netdevice::name_to_index(&fd, name)).map(|i| i as i32)
}

// ---------------------------------------------------------------- passing descriptors

/// A connected pair of unix seqpacket sockets (close-on-exec): messages,
/// and unlike datagrams an EOF when the other end dies, so a reader is
/// never left waiting for a killed sender.
/// A stream socket connected to the unix socket at `path`.
pub fn connect_unix(path: &[u8]) -> R<fd::Owned> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let fd = ok(rustix::net::socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None))?;
    ok(rustix::net::connect(&fd, &ok(SocketAddrUnix::new(cs(0, path)?))?))?;
    Ok(own(fd))
}

pub fn socketpair() -> R<(fd::Owned, fd::Owned)> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let (a, b) = ok(rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None))?;
    Ok((own(a), own(b)))
}

// send_fd/recv_fd stay hand-written: rustix's ancillary-message buffers
// (SendAncillaryBuffer::push, RecvAncillaryBuffer::drain/clear and their
// iterators) cost +1208 bytes on x86_64 and +1312 on aarch64 for these
// two calls, against +240 for every other socket call together.

/// The control message buffer for one SCM_RIGHTS descriptor, aligned for cmsghdr.
#[repr(C, align(8))]
struct Cmsg([u8; 24]);

fn msg_for(iov: &mut libc::iovec, c: &mut Cmsg) -> libc::msghdr {
    // SAFETY: an all-zero msghdr is valid; the fields are set below.
    let mut m: libc::msghdr = unsafe { core::mem::zeroed() };
    m.msg_iov = iov;
    m.msg_iovlen = 1;
    m.msg_control = c.0.as_mut_ptr() as *mut c_void;
    m.msg_controllen = c.0.len() as _;
    m
}

/// Sends descriptor `fd` over the unix socket `sock` (one byte of data).
pub fn send_fd(sock: Fd, fd: Fd) -> R<()> {
    let mut byte = 0u8;
    let mut iov = libc::iovec { iov_base: &mut byte as *mut u8 as *mut c_void, iov_len: 1 };
    let mut c = Cmsg([0; 24]);
    let m = msg_for(&mut iov, &mut c);
    // SAFETY: m's control buffer holds one cmsghdr plus an int (24 bytes,
    // CMSG_SPACE(4) on 64- and 32-bit); CMSG_FIRSTHDR points into it.
    unsafe {
        let h = libc::CMSG_FIRSTHDR(&m);
        (*h).cmsg_level = libc::SOL_SOCKET;
        (*h).cmsg_type = libc::SCM_RIGHTS;
        (*h).cmsg_len = libc::CMSG_LEN(4) as _;
        core::ptr::write_unaligned(libc::CMSG_DATA(h) as *mut c_int, fd);
    }
    // SAFETY: m and everything it points to are valid for the call.
    chkl(unsafe { libc::syscall(libc::SYS_sendmsg, sock, &m as *const libc::msghdr, libc::MSG_NOSIGNAL) }).map(|_| ())
}

/// Receives one descriptor sent by `send_fd` (close-on-exec); EOF or a
/// message without one is EBADMSG.
pub fn recv_fd(sock: Fd) -> R<fd::Owned> {
    let mut byte = 0u8;
    let mut iov = libc::iovec { iov_base: &mut byte as *mut u8 as *mut c_void, iov_len: 1 };
    let mut c = Cmsg([0; 24]);
    let mut m = msg_for(&mut iov, &mut c);
    // SAFETY: m and its buffers are valid and writable for the call.
    chkl(unsafe { libc::syscall(libc::SYS_recvmsg, sock, &mut m as *mut libc::msghdr, libc::MSG_CMSG_CLOEXEC) })?;
    // SAFETY: the kernel filled the control buffer; a present SCM_RIGHTS
    // header is followed by its descriptor.
    unsafe {
        let h = libc::CMSG_FIRSTHDR(&m);
        if h.is_null() || (*h).cmsg_type != libc::SCM_RIGHTS {
            return Err(libc::EBADMSG);
        }
        Ok(fd::Owned::new(core::ptr::read_unaligned(libc::CMSG_DATA(h) as *const c_int)))
    }
}

// ---------------------------------------------------------------- IPv4 sockets

fn sin(ip: u32, port: u16) -> rustix::net::SocketAddrV4 {
    rustix::net::SocketAddrV4::new(rustix::net::Ipv4Addr::from(ip), port)
}

/// A non-blocking, close-on-exec TCP (`udp` false) or UDP socket.
fn inet_socket(udp: bool) -> R<OwnedFd> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let ty = if udp { SocketType::DGRAM } else { SocketType::STREAM };
    ok(rustix::net::socket_with(AddressFamily::INET, ty, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None))
}

/// A non-blocking TCP (`udp` false) or UDP socket bound to ip:port; TCP ones listen.
pub fn bind_inet(ip: u32, port: u16, udp: bool) -> R<fd::Owned> {
    let fd = inet_socket(udp)?;
    let _ = rustix::net::sockopt::set_socket_reuseaddr(&fd, true);
    ok(rustix::net::bind(&fd, &sin(ip, port)))?;
    if !udp {
        ok(rustix::net::listen(&fd, 128))?;
    }
    Ok(own(fd))
}

/// A non-blocking TCP or UDP socket connecting to ip:port. A TCP connect
/// may still be in progress: wait for POLLOUT, then ask `sock_error`.
pub fn connect_inet(ip: u32, port: u16, udp: bool) -> R<fd::Owned> {
    let fd = inet_socket(udp)?;
    match rustix::net::connect(&fd, &sin(ip, port)) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(own(fd)),
        Err(e) => Err(e.raw_os_error()),
    }
}

/// SO_ERROR: the outcome of a non-blocking connect (0 = connected).
pub fn sock_error(fd: Fd) -> Errno {
    match rustix::net::sockopt::socket_error(bfd(fd)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) | Err(e) => e.raw_os_error(),
    }
}

pub fn accept(fd: Fd) -> R<fd::Owned> {
    use rustix::net::SocketFlags;
    ok(rustix::net::accept_with(bfd(fd), SocketFlags::CLOEXEC | SocketFlags::NONBLOCK)).map(own)
}

/// recvfrom: (bytes, peer ip, peer port).
pub fn recv_from(fd: Fd, buf: &mut [u8]) -> R<(usize, u32, u16)> {
    let (n, _, a) = ok(rustix::net::recvfrom(bfd(fd), buf, rustix::net::RecvFlags::empty()))?;
    let a = a.map(rustix::net::SocketAddrV4::try_from).ok_or(EINVAL)?.map_err(|e| e.raw_os_error())?;
    Ok((n, u32::from(*a.ip()), a.port()))
}

pub fn send_to(fd: Fd, buf: &[u8], ip: u32, port: u16) -> R<usize> {
    ok(rustix::net::sendto(bfd(fd), buf, rustix::net::SendFlags::empty(), &sin(ip, port)))
}

pub fn shutdown_write(fd: Fd) {
    let _ = rustix::net::shutdown(bfd(fd), rustix::net::Shutdown::Write);
}

/// send(2) on a connected socket (an unbound netlink socket's default
/// peer is the kernel).
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> R<usize> {
    ok(rustix::net::send(fd, buf, rustix::net::SendFlags::empty()))
}

pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> R<usize> {
    ok(rustix::net::recv(fd, buf, rustix::net::RecvFlags::empty())).map(|(n, _)| n)
}

// ---------------------------------------------------------------- memory of a long-lived process

/// Lets a long-lived, mostly idle process (the per-container monitor)
/// give back the stack the CLI used before the fork: the pages below the
/// current frame are dead frames. (The code pages are not worth it: the
/// kernel's fault-around maps them back 64 KB at a time.)
pub fn shed_stack() {
    const PAGE: usize = 4096;
    let here = 0u8;
    let sp = &here as *const u8 as usize & !(PAGE - 1);
    // SAFETY: the range lies below every live frame (two pages of slack for
    // the call into madvise itself); madvise on a partly unmapped range
    // only affects the mapped part, and dropped stack pages refault as
    // zeroes, which nothing reads before writing.
    unsafe { libc::syscall(libc::SYS_madvise, sp - 64 * PAGE, 62 * PAGE, libc::MADV_DONTNEED) };
}

// ---------------------------------------------------------------- time, randomness
// The clocks are raw syscalls, not rustix::time::clock_gettime: rustix
// goes through the vDSO, whose first use reads the aux vector (a prctl,
// or /proc/self/auxv) and parses the vDSO's ELF (~2.6 KB), to save
// ~100 ns on the few clock reads a command makes.

/// Wall clock as (seconds, nanoseconds) since the epoch.
pub fn now() -> (i64, u32) {
    // SAFETY: ts is a valid out-pointer.
    unsafe {
        let mut ts: libc::timespec = core::mem::zeroed();
        libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_REALTIME, &mut ts as *mut libc::timespec);
        (ts.tv_sec as i64, ts.tv_nsec as u32)
    }
}

/// Monotonic milliseconds.
pub fn mono_ms() -> u64 {
    // SAFETY: ts is a valid out-pointer.
    unsafe {
        let mut ts: libc::timespec = core::mem::zeroed();
        libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts as *mut libc::timespec);
        ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
    }
}

/// Sleeps `ms`; an early wake-up (a signal) is harmless for our callers.
pub fn sleep_ms(ms: u64) {
    let _ = rustix::thread::nanosleep(&rustix::thread::Timespec { tv_sec: (ms / 1000) as _, tv_nsec: ((ms % 1000) * 1_000_000) as _ });
}

pub fn random(buf: &mut [u8]) {
    if rustix::rand::getrandom(&mut *buf, rustix::rand::GetRandomFlags::empty()) != Ok(buf.len()) {
        // Pre-3.17 kernels: fall back to the clock and pid, good enough for ids.
        let (s, n) = now();
        let mut x = (s as u64) ^ ((n as u64) << 20) ^ ((getpid() as u64) << 40);
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
}
pub mod fd;
pub mod netlink;
pub mod seccomp;

// ---------------------------------------------------------------- numbers
// Decimal text as /proc and /dev/pts spell it (no core::fmt: ~20 KB).

pub fn push_num(v: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    v.extend_from_slice(&tmp[i..]);
}

pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u64;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn read_dir_types() {
        extern crate std;
        use super::*;
        let d = std::format!("/tmp/mydocker-unit-rd-{}", std::process::id());
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(std::format!("{d}/sub")).unwrap();
        std::fs::write(std::format!("{d}/f"), b"x").unwrap();
        std::os::unix::fs::symlink("f", std::format!("{d}/l")).unwrap();
        let dir = open(d.as_bytes(), O_RDONLY | O_DIRECTORY, 0).unwrap();
        assert_eq!(readlinkat(dir.raw(), b"l"), Ok(b"f".to_vec()));
        assert_eq!(readlinkat(dir.raw(), b"f"), Err(EINVAL));
        drop(dir);
        let mut got = list_dir(d.as_bytes()).unwrap();
        got.sort();
        std::fs::remove_dir_all(&d).unwrap();
        let want: [(&[u8], u8); 3] = [(b"f", libc::DT_REG), (b"l", libc::DT_LNK), (b"sub", DT_DIR)];
        assert_eq!(got, want.map(|(n, t)| (n.to_vec(), t)));
    }

    #[test]
    fn interface_indexes() {
        use super::*;
        assert_eq!(ifindex(b"lo"), Ok(1));
        assert_eq!(ifindex(b"l\xefo"), Err(libc::ENODEV));
        assert_eq!(ifindex(b"no-such-if0"), Err(libc::ENODEV));
    }

    #[test]
    fn seeks() {
        use super::*;
        let f = open(b"/proc/self/exe", O_RDONLY, 0).unwrap();
        assert_eq!(lseek(f.raw(), 0, SEEK_END), Ok(fstat(f.raw()).unwrap().size as i64));
        assert_eq!(lseek(f.raw(), 4, SEEK_SET), Ok(4));
        let mut b = [0u8; 2];
        assert_eq!(read(f.raw(), &mut b), Ok(2));
        assert_eq!(b, [2, 1], "ELF class and data bytes follow offset 4");
        assert_eq!(lseek(f.raw(), -1, SEEK_SET), Err(EINVAL));
        assert_eq!(lseek(f.raw(), 0, libc::SEEK_CUR), Err(EINVAL));
    }

    #[test]
    fn signal_sets() {
        assert_eq!(super::sigset(&[]), 0);
        assert_eq!(super::sigset(&[libc::SIGHUP, libc::SIGCHLD]), 1 | 1 << 16);
        assert_eq!(super::sigset(&[64]), 1 << 63);
    }
}

// ---------------------------------------------------------------- privileges

/// Keeps only `keep` in the bounding set (every capability the kernel
/// knows, up to its last one: EINVAL past it).
pub fn bound_caps(keep: u64) -> R<()> {
    for n in 0..64 {
        if keep & 1 << n == 0 {
            match ok(rustix::thread::remove_capability_from_bounding_set(rustix::thread::CapabilitySet::from_bits_retain(1 << n))) {
                Err(EINVAL) => break,
                r => r?,
            }
        }
    }
    Ok(())
}

/// The effective and permitted sets become `caps` (within what we have),
/// inheritable and ambient empty.
pub fn set_caps(caps: u64) -> R<()> {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet, CapabilitySets};
    let have = ok(capabilities(None))?.permitted.bits();
    let c = CapabilitySet::from_bits_retain(caps & have);
    ok(set_capabilities(None, CapabilitySets { effective: c, permitted: c, inheritable: CapabilitySet::empty() }))?;
    let _ = rustix::thread::clear_ambient_capability_set(); // (EINVAL before 4.3: none to clear)
    Ok(())
}

pub fn no_new_privs() -> R<()> {
    ok(rustix::thread::set_no_new_privs(true))
}

/// Not dumpable: /proc/PID of this process (exe, root, fd, mem) is closed
/// to anyone without CAP_SYS_PTRACE, until it execs.
pub fn undumpable() {
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

/// An anonymous in-memory file (memfd_create), a scratch buffer.
pub fn memfd() -> R<fd::Owned> {
    let m = ok(rustix::fs::memfd_create(c"mydocker", rustix::fs::MemfdFlags::CLOEXEC))?;
    Ok(fd::Owned::new(m.into_raw_fd()))
}

/// A sealed in-memory copy of the program in `src` (the running binary):
/// nothing that reaches it can change it, or the file it came from.
pub fn sealed_copy(src: Fd) -> R<fd::Owned> {
    use rustix::fs::{fcntl_add_seals, memfd_create, MemfdFlags, SealFlags};
    let m = ok(memfd_create(c"mydocker", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING))?;
    let size = fstat(src)?.size;
    let mut off = 0u64;
    while off < size {
        let left = (size - off) as usize;
        if ok(rustix::fs::sendfile(&m, bfd(src), Some(&mut off), left))? == 0 {
            return Err(EINVAL); // shorter than fstat said
        }
    }
    ok(fcntl_add_seals(&m, SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE))?;
    Ok(fd::Owned::new(m.into_raw_fd()))
}

//! The one audited module with `unsafe`: thin, safe wrappers over the
//! syscalls mydocker makes, the global allocator, and the panic handler.
//!
//! Every wrapper takes byte-string paths (`&[u8]`, no NUL inside; the CLI
//! rejects NULs long before we get here, and argv cannot carry them) and
//! returns `R<T>` = `Result<T, Errno>`. Nothing here decides policy.
//! Man pages: https://man7.org/linux/man-pages/man2/<name>.2.html

use alloc::vec::Vec;
use core::ffi::{c_char, c_int, c_void};

pub type Errno = i32;
pub type R<T> = Result<T, Errno>;
pub type Fd = c_int;

pub use libc::{
    CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, EACCES, EBUSY, EEXIST, EINTR, EINVAL, ENOENT, ENOEXEC, ENOSYS, ENOTDIR, MNT_DETACH,
    MS_BIND, MS_MOVE, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_NOCTTY,
    O_NOFOLLOW, O_PATH, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SIGCHLD, SIGKILL, SIGTERM, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, WNOHANG,
};

fn errno() -> Errno {
    // SAFETY: __errno_location always returns a valid thread-local pointer.
    unsafe { *libc::__errno_location() }
}

fn chk(r: c_int) -> R<c_int> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

fn chkl(r: libc::c_long) -> R<libc::c_long> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

fn chks(r: isize) -> R<usize> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as usize)
    }
}

/// A NUL-terminated copy of `s` for the kernel, freed when it goes out
/// of scope: the path wrappers run in loops of long-lived processes, and
/// dropping a Vec does not free (see `Malloc`). (On the stack instead,
/// 4 KB frames with stack probes cost 1.3 KB more code.)
struct Cz(Vec<u8>);

impl Drop for Cz {
    fn drop(&mut self) {
        free(core::mem::take(&mut self.0));
    }
}

fn cz(s: &[u8]) -> Cz {
    Cz(cz_vec(s))
}

fn cz_vec(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s);
    v.push(0);
    v
}

fn p(c: &Cz) -> *const c_char {
    c.0.as_ptr() as *const c_char
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
    let mut a = Vec::new();
    for i in 0..argc as usize {
        // SAFETY: caller guarantees argc valid entries.
        a.push(core::ffi::CStr::from_ptr(*argv.add(i)).to_bytes().to_vec());
    }
    let mut e = Vec::new();
    let mut i = 0;
    while !envp.is_null() && !(*envp.add(i)).is_null() {
        // SAFETY: envp is NULL-terminated, each entry a C string.
        e.push(core::ffi::CStr::from_ptr(*envp.add(i)).to_bytes().to_vec());
        i += 1;
    }
    (a, e)
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

/// musl's texts for the errnos that the calls here can meet (files,
/// mounts, namespaces, processes, sockets, netlink); any other errno reads
/// "errno N". Each text follows one byte 0x80 | errno (texts are ASCII).
/// musl's strerror table holds all 133 texts and an index: 2.2 KB.
const ERRTEXT: &[u8] = b"\
    \x81Operation not permitted\x82No such file or directory\x83No such process\x84Interrupted system call\x85I/O error\
    \x86No such device or address\x87Argument list too long\x88Exec format error\x89Bad file descriptor\x8aNo child process\
    \x8bResource temporarily unavailable\x8cOut of memory\x8dPermission denied\x8eBad address\x8fBlock device required\
    \x90Resource busy\x91File exists\x92Cross-device link\x93No such device\x94Not a directory\x95Is a directory\
    \x96Invalid argument\x97Too many open files in system\x98No file descriptors available\x99Not a tty\x9aText file busy\
    \x9bFile too large\x9cNo space left on device\x9eRead-only file system\x9fToo many links\xa0Broken pipe\
    \xa2Result not representable\xa3Resource deadlock would occur\xa4Filename too long\xa5No locks available\
    \xa6Function not implemented\xa7Directory not empty\xa8Symbolic link loop\xbdNo data available\xc7Protocol error\
    \xcaBad message\xcbValue too large for data type\xdaMessage too large\xddProtocol not supported\xdfNot supported\
    \xe1Address family not supported by protocol\xe2Address in use\xe3Address not available\xe4Network is down\
    \xe5Network unreachable\xe7Connection aborted\xe8Connection reset by peer\xe9No buffer space available\
    \xeeOperation timed out\xefConnection refused\xf1Host is unreachable\xf4Stale file handle\xfaQuota exceeded";

/// strerror(3), for the errnos in ERRTEXT.
pub fn strerror(e: Errno) -> &'static [u8] {
    if (1..128).contains(&e) {
        if let Some(i) = ERRTEXT.iter().position(|&c| c == 0x80 | e as u8) {
            let t = &ERRTEXT[i + 1..];
            return &t[..t.iter().position(|&c| c >= 0x80).unwrap_or(t.len())];
        }
    }
    // Unknown here: the number, in a string leaked on this error path
    // (the process reports it and exits).
    let mut v = b"errno ".to_vec();
    push_num(&mut v, e as u64);
    v.leak()
}

// ---------------------------------------------------------------- files

pub fn open(path: &[u8], flags: c_int, mode: u32) -> R<Fd> {
    let c = cz(path);
    // SAFETY: c is NUL-terminated and outlives the call.
    chkl(unsafe { libc::syscall(libc::SYS_openat, AT_FDCWD, p(&c), flags | O_CLOEXEC, mode) }).map(|r| r as Fd)
}

pub fn openat(dir: Fd, name: &[u8], flags: c_int, mode: u32) -> R<Fd> {
    let c = cz(name);
    // SAFETY: as open.
    chkl(unsafe { libc::syscall(libc::SYS_openat, dir, p(&c), flags | O_CLOEXEC, mode) }).map(|r| r as Fd)
}

pub fn close(fd: Fd) {
    // SAFETY: closing a descriptor we own; errors are irrelevant here.
    unsafe { libc::close(fd) };
}

pub fn read(fd: Fd, buf: &mut [u8]) -> R<usize> {
    loop {
        // SAFETY: buf is a valid writable region of buf.len() bytes.
        match chks(unsafe { libc::read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) }) {
            Err(EINTR) => continue,
            r => return r,
        }
    }
}

pub fn write(fd: Fd, buf: &[u8]) -> R<usize> {
    loop {
        // SAFETY: buf is a valid readable region of buf.len() bytes.
        match chks(unsafe { libc::write(fd, buf.as_ptr() as *const c_void, buf.len()) }) {
            Err(EINTR) => continue,
            r => return r,
        }
    }
}

pub fn write_all(fd: Fd, mut buf: &[u8]) -> R<()> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        buf = &buf[n..];
    }
    Ok(())
}

pub fn read_to_end(fd: Fd, out: &mut Vec<u8>) -> R<()> {
    let mut chunk = [0u8; 8192];
    loop {
        let n = read(fd, &mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

pub fn pipe() -> R<(Fd, Fd)> {
    let mut f = [0 as c_int; 2];
    // SAFETY: f has room for two descriptors.
    chkl(unsafe { libc::syscall(libc::SYS_pipe2, f.as_mut_ptr(), O_CLOEXEC) })?;
    Ok((f[0], f[1]))
}

pub fn dup2(a: Fd, b: Fd) -> R<()> {
    // SAFETY: plain descriptor call; dup2 clears FD_CLOEXEC on b.
    chk(unsafe { libc::dup2(a, b) }).map(|_| ())
}

pub fn set_cloexec(fd: Fd, on: bool) -> R<()> {
    // SAFETY: plain descriptor call.
    chkl(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_SETFD, if on { libc::FD_CLOEXEC } else { 0 }) }).map(|_| ())
}

/// Marks every descriptor >= `from` close-on-exec, so nothing of the
/// caller's or of mydocker's leaks into the container.
pub fn cloexec_from(from: Fd) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags (Linux 5.11+).
    let r = unsafe {
        libc::syscall(libc::SYS_close_range, from as u32, !0u32, 4u32 /* CLOSE_RANGE_CLOEXEC */)
    };
    if r == 0 {
        return;
    }
    // Older kernels: walk /proc/self/fd (mounted on every host we support),
    // falling back to a fixed range.
    let mut fds = Vec::new();
    if let Ok(d) = open(b"/proc/self/fd", O_RDONLY | O_DIRECTORY, 0) {
        if let Ok(ents) = read_dir(d) {
            for (name, _) in ents {
                if let Some(n) = parse_u64(&name) {
                    fds.push(n as Fd);
                }
            }
        }
        close(d);
    } else {
        fds.extend(from..1024);
    }
    for fd in fds {
        if fd >= from {
            let _ = set_cloexec(fd, true);
        }
    }
}

pub fn mkdir(path: &[u8], mode: u32) -> R<()> {
    let c = cz(path);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::mkdir(p(&c), mode) }).map(|_| ())
}

pub fn mkdirat(dir: Fd, name: &[u8], mode: u32) -> R<()> {
    let c = cz(name);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::mkdirat(dir, p(&c), mode) }).map(|_| ())
}

pub fn rmdir(path: &[u8]) -> R<()> {
    let c = cz(path);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::rmdir(p(&c)) }).map(|_| ())
}

pub fn unlinkat(dir: Fd, name: &[u8], flags: c_int) -> R<()> {
    let c = cz(name);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::unlinkat(dir, p(&c), flags) }).map(|_| ())
}
pub const AT_REMOVEDIR: c_int = libc::AT_REMOVEDIR;
pub const AT_FDCWD: c_int = libc::AT_FDCWD;

pub fn rename(a: &[u8], b: &[u8]) -> R<()> {
    let (ca, cb) = (cz(a), cz(b));
    // SAFETY: both NUL-terminated.
    chk(unsafe { libc::rename(p(&ca), p(&cb)) }).map(|_| ())
}

pub fn symlinkat(target: &[u8], dir: Fd, name: &[u8]) -> R<()> {
    let (ct, cn) = (cz(target), cz(name));
    // SAFETY: both NUL-terminated.
    chk(unsafe { libc::symlinkat(p(&ct), dir, p(&cn)) }).map(|_| ())
}

/// Hard link without following a final symlink (the link names the symlink itself).
pub fn linkat(odir: Fd, oname: &[u8], ndir: Fd, nname: &[u8]) -> R<()> {
    let (a, b) = (cz(oname), cz(nname));
    // SAFETY: both NUL-terminated; flags 0 = do not follow.
    chk(unsafe { libc::linkat(odir, p(&a), ndir, p(&b), 0) }).map(|_| ())
}

pub fn mknodat(dir: Fd, name: &[u8], mode: u32, major: u32, minor: u32) -> R<()> {
    let c = cz(name);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::mknodat(dir, p(&c), mode, libc::makedev(major, minor)) }).map(|_| ())
}

pub fn fchownat_nofollow(dir: Fd, name: &[u8], uid: u32, gid: u32) -> R<()> {
    let c = cz(name);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::fchownat(dir, p(&c), uid, gid, libc::AT_SYMLINK_NOFOLLOW) }).map(|_| ())
}

pub fn fchmod(fd: Fd, mode: u32) -> R<()> {
    // SAFETY: plain descriptor call.
    chkl(unsafe { libc::syscall(libc::SYS_fchmod, fd, mode) }).map(|_| ())
}

/// Sets atime and mtime of `name` (not following symlinks).
pub fn set_mtime(dir: Fd, name: &[u8], secs: i64) -> R<()> {
    let c = cz(name);
    let t = libc::timespec { tv_sec: secs as _, tv_nsec: 0 };
    let ts = [t, t];
    // SAFETY: c is NUL-terminated; ts holds two timespecs.
    chkl(unsafe { libc::syscall(libc::SYS_utimensat, dir, p(&c), ts.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(|_| ())
}

pub fn readlinkat(dir: Fd, name: &[u8]) -> R<Vec<u8>> {
    let c = cz(name);
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: buf is writable for its length; c NUL-terminated.
    let r = chks(unsafe { libc::readlinkat(dir, p(&c), buf.as_mut_ptr() as *mut c_char, buf.len()) }).map(|n| buf[..n].to_vec());
    free(buf); // once per symlink of a tree walk
    r
}

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
}

impl Stat {
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
    pub fn is_dir(&self) -> bool {
        self.kind() == S_IFDIR
    }
}

// st_nlink is u64 on x86_64 and u32 on aarch64: one cast serves both.
#[allow(clippy::unnecessary_cast)]
fn to_stat(s: &libc::stat) -> Stat {
    Stat { mode: s.st_mode, uid: s.st_uid, gid: s.st_gid, size: s.st_size as u64, mtime: s.st_mtime, ino: s.st_ino, nlink: s.st_nlink as u64, dev: s.st_dev }
}

/// fstatat without following a final symlink (`follow` = false) or with it.
pub fn statat(dir: Fd, name: &[u8], follow: bool) -> R<Stat> {
    let c = cz(name);
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut s: libc::stat = unsafe { core::mem::zeroed() };
    let fl = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW } | if name.is_empty() { libc::AT_EMPTY_PATH } else { 0 };
    // SAFETY: c NUL-terminated; s writable.
    chkl(unsafe { libc::syscall(libc::SYS_newfstatat, dir, p(&c), &mut s as *mut libc::stat, fl) })?;
    Ok(to_stat(&s))
}

pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// The filesystem type (statfs f_type) of the one holding `path`.
pub fn fs_magic(path: &[u8]) -> R<u64> {
    let c = cz(path);
    // SAFETY: an all-zero statfs is a valid value to be overwritten.
    let mut s: libc::statfs = unsafe { core::mem::zeroed() };
    // SAFETY: c NUL-terminated; s writable.
    chk(unsafe { libc::statfs(p(&c), &mut s) })?;
    Ok(s.f_type as u64)
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
    let mut out = Vec::new();
    let mut buf = alloc::vec![0u8; 16384];
    loop {
        // SAFETY: buf is writable for its length; getdents64 fills whole records.
        let n = match chkl(unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) }) {
            Ok(n) => n as usize,
            Err(e) => {
                free(buf);
                return Err(e);
            }
        };
        if n == 0 {
            free(buf); // once per directory of a tree walk
            return Ok(out);
        }
        let mut off = 0;
        while off + 19 <= n {
            // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let ty = buf[off + 18];
            let name = &buf[off + 19..off + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                out.push((name.to_vec(), ty));
            }
            off += reclen;
        }
    }
}
pub const DT_DIR: u8 = libc::DT_DIR;

/// Frees a `read_dir` list, names and all (see `Malloc`).
pub fn free_names(v: Vec<(Vec<u8>, u8)>) {
    let mut v = v;
    for (n, _) in v.iter_mut() {
        free(core::mem::take(n));
    }
    free(v);
}

pub fn flock(fd: Fd, exclusive: bool) -> R<()> {
    loop {
        // SAFETY: plain descriptor call.
        match chk(unsafe { libc::flock(fd, if exclusive { libc::LOCK_EX } else { libc::LOCK_SH }) }) {
            Err(EINTR) => continue,
            r => return r.map(|_| ()),
        }
    }
}

pub fn lseek(fd: Fd, off: i64, whence: c_int) -> R<i64> {
    // SAFETY: plain descriptor call.
    let r = unsafe { libc::lseek(fd, off as _, whence) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as i64)
    }
}
pub const SEEK_END: c_int = libc::SEEK_END;

pub fn umask(m: u32) {
    // SAFETY: plain syscall.
    unsafe { libc::umask(m) };
}

// ---------------------------------------------------------------- mounts and roots

pub fn mount(src: &[u8], target: &[u8], fstype: &[u8], flags: libc::c_ulong, data: &[u8]) -> R<()> {
    let (s, t, f, d) = (cz(src), cz(target), cz(fstype), cz(data));
    // SAFETY: all four are NUL-terminated and outlive the call; an empty
    // fstype/data is passed as NULL, which mount(2) expects for binds/moves.
    chk(unsafe {
        libc::mount(
            if src.is_empty() { core::ptr::null() } else { p(&s) },
            p(&t),
            if fstype.is_empty() { core::ptr::null() } else { p(&f) },
            flags,
            if data.is_empty() { core::ptr::null() } else { p(&d) as *const c_void },
        )
    })
    .map(|_| ())
}

pub fn umount2(target: &[u8], flags: c_int) -> R<()> {
    let c = cz(target);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::umount2(p(&c), flags) }).map(|_| ())
}

pub fn pivot_root(new: &[u8], old: &[u8]) -> R<()> {
    let (a, b) = (cz(new), cz(old));
    // SAFETY: both NUL-terminated (pivot_root has no libc wrapper).
    chkl(unsafe { libc::syscall(libc::SYS_pivot_root, p(&a), p(&b)) }).map(|_| ())
}

pub fn chroot(path: &[u8]) -> R<()> {
    let c = cz(path);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::chroot(p(&c)) }).map(|_| ())
}

pub fn chdir(path: &[u8]) -> R<()> {
    let c = cz(path);
    // SAFETY: c is NUL-terminated.
    chk(unsafe { libc::chdir(p(&c)) }).map(|_| ())
}

pub fn sethostname(name: &[u8]) -> R<()> {
    // SAFETY: name is valid for its length.
    chk(unsafe { libc::sethostname(name.as_ptr() as *const c_char, name.len()) }).map(|_| ())
}

pub fn setns(fd: Fd, nstype: c_int) -> R<()> {
    // SAFETY: plain syscall on a descriptor.
    chk(unsafe { libc::setns(fd, nstype) }).map(|_| ())
}

pub fn unshare(flags: c_int) -> R<()> {
    // SAFETY: plain syscall; we are single-threaded.
    chk(unsafe { libc::unshare(flags) }).map(|_| ())
}

pub fn fchdir(fd: Fd) -> R<()> {
    // SAFETY: plain syscall on a descriptor.
    chkl(unsafe { libc::syscall(libc::SYS_fchdir, fd) }).map(|_| ())
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

/// A CPU affinity mask (1024 CPUs).
pub type CpuMask = [u64; 16];

pub fn cpu_mask() -> CpuMask {
    let mut m = [u64::MAX; 16];
    // SAFETY: m is writable for its size; on failure it stays all-ones.
    unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, core::mem::size_of_val(&m), m.as_mut_ptr()) };
    m
}

/// sched_setaffinity for `pid` (0: ourselves); errors are ignored (an
/// empty intersection with a cpuset just leaves the mask as it was).
pub fn set_cpu_mask(pid: i32, m: &CpuMask) {
    // SAFETY: m is readable for its size.
    unsafe { libc::syscall(libc::SYS_sched_setaffinity, pid, core::mem::size_of_val(m), m.as_ptr()) };
}

/// The CPU we are running on now.
pub fn current_cpu() -> usize {
    let mut cpu = 0u32;
    // SAFETY: getcpu writes one u32; the node and cache arguments may be null.
    unsafe { libc::syscall(libc::SYS_getcpu, &mut cpu as *mut u32, 0usize, 0usize) };
    cpu as usize
}

/// fork(2), as a raw clone: musl's fork() adds atfork and lock handling
/// a single-threaded program without threads has no use for.
pub fn fork() -> R<i32> {
    clone(0)
}

/// execve(2). Returns only on failure, with the errno.
pub fn execve(path: &[u8], argv: &[Vec<u8>], env: &[Vec<u8>]) -> Errno {
    // Every string NUL-terminated in one buffer, then one array of
    // pointers: argv, NULL, env, NULL (one loop instead of four collects).
    let mut buf = cz_vec(path);
    let mut offs = Vec::new();
    for s in argv.iter().chain(env) {
        offs.push(buf.len());
        buf.extend_from_slice(s);
        buf.push(0);
    }
    let base = buf.as_ptr() as *const c_char;
    let mut ptrs: Vec<*const c_char> = Vec::new();
    for (i, &o) in offs.iter().enumerate() {
        if i == argv.len() {
            ptrs.push(core::ptr::null());
        }
        ptrs.push(base.wrapping_add(o));
    }
    if env.is_empty() {
        ptrs.push(core::ptr::null());
    }
    ptrs.push(core::ptr::null());
    // SAFETY: every pointer points into `buf` at the start of a
    // NUL-terminated string; argv's array ends at its NULL, env's follows it.
    unsafe { libc::execve(base, ptrs.as_ptr(), ptrs.as_ptr().add(argv.len() + 1)) };
    errno()
}

/// waitpid(2); returns (pid, raw status). pid 0 with WNOHANG = still running.
pub fn waitpid(pid: i32, flags: c_int) -> R<(i32, i32)> {
    let mut st = 0;
    loop {
        // SAFETY: st is a valid out-pointer.
        match chk(unsafe { libc::waitpid(pid, &mut st, flags) }) {
            Err(EINTR) => continue,
            Err(e) => return Err(e),
            Ok(r) => return Ok((r, st)),
        }
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

pub fn kill(pid: i32, sig: c_int) -> R<()> {
    // SAFETY: plain syscall.
    chk(unsafe { libc::kill(pid, sig) }).map(|_| ())
}

pub fn getpid() -> i32 {
    // SAFETY: cannot fail.
    unsafe { libc::getpid() }
}

pub fn geteuid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

pub fn setsid() {
    // SAFETY: plain syscall; failing (already a leader) is harmless.
    unsafe { libc::setsid() };
}

/// isatty(3) as musl does it (TIOCGWINSZ succeeds), as a raw call.
pub fn isatty(fd: Fd) -> bool {
    // SAFETY: ws is a writable winsize for TIOCGWINSZ.
    unsafe {
        let mut ws: libc::winsize = core::mem::zeroed();
        libc::syscall(libc::SYS_ioctl, fd, libc::TIOCGWINSZ, &mut ws as *mut libc::winsize) == 0
    }
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

pub fn signalfd(sigs: &[c_int]) -> R<Fd> {
    let s = sigset(sigs);
    // SAFETY: s is an 8-byte kernel signal set, the size passed.
    chkl(unsafe { libc::syscall(libc::SYS_signalfd4, -1, &s as *const u64, 8usize, libc::SFD_CLOEXEC) }).map(|r| r as Fd)
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

pub use libc::pollfd as PollFd;

pub fn pollfd(fd: Fd, events: i16) -> PollFd {
    PollFd { fd, events, revents: 0 }
}

/// poll(2), in place: each entry's `revents` is set. Allocates nothing
/// (it runs once per event of a monitor; see `Malloc`).
pub fn poll(fds: &mut [PollFd], timeout: c_int) -> R<()> {
    loop {
        // SAFETY: fds is a valid array of pollfd of the given length.
        match chk(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, timeout) }) {
            Err(EINTR) => continue,
            r => return r.map(|_| ()),
        }
    }
}

// ---------------------------------------------------------------- terminals

/// Opens a new pty pair on the host's devpts: (master, slave).
pub fn openpty() -> R<(Fd, Fd)> {
    let m = open(b"/dev/ptmx", O_RDWR | O_NOCTTY, 0)?;
    let mut n: c_int = 0;
    let mut unlock: c_int = 0;
    // SAFETY: TIOCSPTLCK takes an int*, TIOCGPTN an unsigned int*.
    let r = unsafe {
        if libc::ioctl(m, libc::TIOCSPTLCK, &mut unlock) < 0 || libc::ioctl(m, libc::TIOCGPTN, &mut n) < 0 {
            Err(errno())
        } else {
            Ok(())
        }
    };
    if let Err(e) = r {
        close(m);
        return Err(e);
    }
    let mut path = b"/dev/pts/".to_vec();
    push_num(&mut path, n as u64);
    match open(&path, O_RDWR | O_NOCTTY, 0) {
        Ok(s) => Ok((m, s)),
        Err(e) => {
            close(m);
            Err(e)
        }
    }
}

pub fn set_ctty(fd: Fd) -> R<()> {
    // SAFETY: TIOCSCTTY takes an int argument.
    chk(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(|_| ())
}

pub fn copy_winsize(from: Fd, to: Fd) {
    // SAFETY: winsize is plain data; failures are ignored (not a tty).
    unsafe {
        let mut ws: libc::winsize = core::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Saved terminal settings, restored by `restore_term`.
pub struct Termios(libc::termios);

pub fn make_raw(fd: Fd) -> R<Termios> {
    // SAFETY: termios is plain data filled by tcgetattr before use.
    unsafe {
        let mut t: libc::termios = core::mem::zeroed();
        chk(libc::tcgetattr(fd, &mut t))?;
        let saved = Termios(t);
        libc::cfmakeraw(&mut t);
        chk(libc::tcsetattr(fd, libc::TCSANOW, &t))?;
        Ok(saved)
    }
}

pub fn restore_term(fd: Fd, t: &Termios) {
    // SAFETY: t came from tcgetattr.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t.0) };
}

// ---------------------------------------------------------------- inotify

/// An inotify descriptor watching `path` for writes (IN_MODIFY).
pub fn watch_modify(path: &[u8]) -> R<Fd> {
    // SAFETY: plain syscalls; c is NUL-terminated.
    let fd = chk(unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) })?;
    let c = cz(path);
    if let Err(e) = chk(unsafe { libc::inotify_add_watch(fd, p(&c), libc::IN_MODIFY) }) {
        close(fd);
        return Err(e);
    }
    Ok(fd)
}

// ---------------------------------------------------------------- netlink

/// socket(2) as the raw call (musl's wrapper carries a fallback for
/// kernels older than 2.6.27).
pub fn socket(domain: c_int, ty: c_int, proto: c_int) -> R<Fd> {
    // SAFETY: plain syscall with integer arguments.
    chkl(unsafe { libc::syscall(libc::SYS_socket, domain, ty, proto) }).map(|r| r as Fd)
}

pub fn netlink_socket(proto: c_int) -> R<Fd> {
    socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto)
}

/// The index of network interface `name` (SIOCGIFINDEX, as if_nametoindex).
pub fn ifindex(name: &[u8]) -> R<i32> {
    if name.len() >= 16 {
        return Err(libc::ENODEV);
    }
    // struct ifreq: the name (IFNAMSIZ 16), then a union holding the index.
    let mut req = [0u8; 40];
    req[..name.len()].copy_from_slice(name);
    let fd = socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)?;
    // SAFETY: req is a valid struct ifreq for SIOCGIFINDEX, writable.
    let r = chkl(unsafe { libc::syscall(libc::SYS_ioctl, fd, libc::SIOCGIFINDEX, req.as_mut_ptr()) });
    close(fd);
    r?;
    Ok(i32::from_ne_bytes([req[16], req[17], req[18], req[19]]))
}

// ---------------------------------------------------------------- passing descriptors

/// A connected pair of unix datagram sockets (close-on-exec).
pub fn socketpair() -> R<(Fd, Fd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: fds has room for the two descriptors.
    chkl(unsafe { libc::syscall(libc::SYS_socketpair, libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) })?;
    Ok((fds[0], fds[1]))
}

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
pub fn recv_fd(sock: Fd) -> R<Fd> {
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
        Ok(core::ptr::read_unaligned(libc::CMSG_DATA(h) as *const c_int))
    }
}

// ---------------------------------------------------------------- IPv4 sockets

fn sin(ip: u32, port: u16) -> libc::sockaddr_in {
    // SAFETY: an all-zero sockaddr_in is valid; fields set below.
    let mut a: libc::sockaddr_in = unsafe { core::mem::zeroed() };
    a.sin_family = libc::AF_INET as _;
    a.sin_port = port.to_be();
    a.sin_addr.s_addr = ip.to_be();
    a
}

const SIN_LEN: libc::socklen_t = core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

/// A non-blocking TCP (`udp` false) or UDP socket bound to ip:port; TCP ones listen.
pub fn bind_inet(ip: u32, port: u16, udp: bool) -> R<Fd> {
    let ty = if udp { libc::SOCK_DGRAM } else { libc::SOCK_STREAM };
    // SAFETY: plain syscalls on a socket we own; the address outlives bind.
    unsafe {
        let fd = socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0)?;
        let one: c_int = 1;
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one as *const c_int as *const c_void, 4);
        let a = sin(ip, port);
        let r = chk(libc::bind(fd, &a as *const libc::sockaddr_in as *const libc::sockaddr, SIN_LEN)).and_then(|_| {
            if udp {
                Ok(0)
            } else {
                chk(libc::listen(fd, 128))
            }
        });
        if let Err(e) = r {
            close(fd);
            return Err(e);
        }
        Ok(fd)
    }
}

/// A non-blocking TCP or UDP socket connecting to ip:port. A TCP connect
/// may still be in progress: wait for POLLOUT, then ask `sock_error`.
pub fn connect_inet(ip: u32, port: u16, udp: bool) -> R<Fd> {
    let ty = if udp { libc::SOCK_DGRAM } else { libc::SOCK_STREAM };
    // SAFETY: plain syscalls on a socket we own.
    unsafe {
        let fd = socket(libc::AF_INET, ty | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0)?;
        let a = sin(ip, port);
        match chk(libc::connect(fd, &a as *const libc::sockaddr_in as *const libc::sockaddr, SIN_LEN)) {
            Ok(_) | Err(libc::EINPROGRESS) => Ok(fd),
            Err(e) => {
                close(fd);
                Err(e)
            }
        }
    }
}

/// SO_ERROR: the outcome of a non-blocking connect (0 = connected).
pub fn sock_error(fd: Fd) -> Errno {
    let mut e: c_int = 0;
    let mut l = 4 as libc::socklen_t;
    // SAFETY: e and l are valid out-pointers of the right size.
    if unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, &mut e as *mut c_int as *mut c_void, &mut l) } < 0 {
        return errno();
    }
    e
}

pub fn accept(fd: Fd) -> R<Fd> {
    // SAFETY: NULL address pointers are allowed.
    chkl(unsafe { libc::syscall(libc::SYS_accept4, fd, 0usize, 0usize, libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) }).map(|r| r as Fd)
}

/// recvfrom: (bytes, peer ip, peer port).
pub fn recv_from(fd: Fd, buf: &mut [u8]) -> R<(usize, u32, u16)> {
    let mut a = sin(0, 0);
    let mut l = SIN_LEN;
    // SAFETY: buf and a are valid for their sizes.
    let n =
        chks(unsafe { libc::recvfrom(fd, buf.as_mut_ptr() as *mut c_void, buf.len(), 0, &mut a as *mut libc::sockaddr_in as *mut libc::sockaddr, &mut l) })?;
    Ok((n, u32::from_be(a.sin_addr.s_addr), u16::from_be(a.sin_port)))
}

pub fn send_to(fd: Fd, buf: &[u8], ip: u32, port: u16) -> R<usize> {
    let a = sin(ip, port);
    // SAFETY: buf and a are valid for their sizes.
    chks(unsafe { libc::sendto(fd, buf.as_ptr() as *const c_void, buf.len(), 0, &a as *const libc::sockaddr_in as *const libc::sockaddr, SIN_LEN) })
}

pub fn shutdown_write(fd: Fd) {
    // SAFETY: plain syscall.
    unsafe { libc::shutdown(fd, libc::SHUT_WR) };
}

pub fn send(fd: Fd, buf: &[u8]) -> R<usize> {
    // SAFETY: buf readable for its length; the kernel is the default peer of
    // an unbound netlink socket.
    chks(unsafe { libc::send(fd, buf.as_ptr() as *const c_void, buf.len(), 0) })
}

pub fn recv(fd: Fd, buf: &mut [u8]) -> R<usize> {
    // SAFETY: buf writable for its length.
    chks(unsafe { libc::recv(fd, buf.as_mut_ptr() as *mut c_void, buf.len(), 0) })
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
    unsafe { libc::madvise((sp - 64 * PAGE) as *mut c_void, 62 * PAGE, libc::MADV_DONTNEED) };
}

// ---------------------------------------------------------------- time, randomness

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

pub fn sleep_ms(ms: u64) {
    let ts = libc::timespec { tv_sec: (ms / 1000) as _, tv_nsec: ((ms % 1000) * 1_000_000) as _ };
    // SAFETY: ts valid; an early wake-up is harmless for our callers.
    unsafe { libc::syscall(libc::SYS_nanosleep, &ts as *const libc::timespec, 0usize) };
}

pub fn random(buf: &mut [u8]) {
    // SAFETY: buf writable for its length.
    let r = unsafe { libc::syscall(libc::SYS_getrandom, buf.as_mut_ptr(), buf.len(), 0) };
    if r != buf.len() as libc::c_long {
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
pub mod netlink;

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
    fn strerror_texts() {
        assert_eq!(super::strerror(super::ENOENT), b"No such file or directory");
        assert_eq!(super::strerror(1), b"Operation not permitted");
        assert_eq!(super::strerror(122), b"Quota exceeded");
        assert_eq!(super::strerror(libc::EADDRINUSE), b"Address in use");
        assert_eq!(super::strerror(libc::ECONNREFUSED), b"Connection refused");
        assert_eq!(super::strerror(33), b"errno 33");
        assert_eq!(super::strerror(200), b"errno 200");
    }

    #[test]
    fn signal_sets() {
        assert_eq!(super::sigset(&[]), 0);
        assert_eq!(super::sigset(&[libc::SIGHUP, libc::SIGCHLD]), 1 | 1 << 16);
        assert_eq!(super::sigset(&[64]), 1 << 63);
    }
}

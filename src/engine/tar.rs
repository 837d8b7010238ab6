//! A tar reader for image import (ustar, GNU long names, pax path/size).
//!
//! Extraction is hostile-archive safe: every path is split into components,
//! `..` is refused, and each parent directory is opened relative to the
//! previous one with O_NOFOLLOW, so no entry can be written through a
//! symlink (or a hard link be made to a file) outside the destination.
//! Symlinks are stored verbatim and never followed by mydocker; device
//! nodes are skipped.

use crate::engine::util::{parse_u64, Ctx, Error, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;

/// Buffered reading of whole blocks from a descriptor.
pub struct Input {
    fd: Fd,
    buf: Vec<u8>,
    pos: usize,
}

impl Input {
    pub fn new(fd: Fd) -> Input {
        Input { fd, buf: Vec::new(), pos: 0 }
    }
    /// Fills `out` completely; false at a clean EOF before any byte.
    fn exact(&mut self, out: &mut [u8]) -> Res<bool> {
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.buf.len() {
                self.buf.resize(65536, 0);
                let n = sys::read(self.fd, &mut self.buf).ctx("read", b"archive")?;
                self.buf.truncate(n);
                self.pos = 0;
                if n == 0 {
                    if done == 0 {
                        return Ok(false);
                    }
                    return Err(Error::new(b"archive", b"truncated"));
                }
            }
            let n = core::cmp::min(out.len() - done, self.buf.len() - self.pos);
            out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            done += n;
        }
        Ok(true)
    }
    /// Whether the input starts with `magic` (gzip detection), consuming nothing.
    pub fn starts_with(&mut self, magic: &[u8]) -> Res<bool> {
        if self.pos == self.buf.len() {
            self.buf.resize(65536, 0);
            let k = sys::read(self.fd, &mut self.buf).ctx("read", b"archive")?;
            self.buf.truncate(k);
            self.pos = 0;
        }
        Ok(self.buf[self.pos..].starts_with(magic))
    }
    /// Streams `size` bytes (+ padding to 512) to `sink`.
    fn data(&mut self, size: u64, sink: &mut dyn FnMut(&[u8]) -> Res<()>) -> Res<()> {
        let mut left = size;
        let mut chunk = [0u8; 512];
        while left > 0 {
            if !self.exact(&mut chunk)? {
                return Err(Error::new(b"archive", b"truncated"));
            }
            let n = core::cmp::min(left, 512) as usize;
            sink(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
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

fn checksum_ok(h: &[u8; 512]) -> bool {
    let want = match num_field(&h[148..156]) {
        Some(w) => w,
        None => return false,
    };
    let sum: u64 = h.iter().enumerate().map(|(i, &c)| if (148..156).contains(&i) { b' ' as u64 } else { c as u64 }).sum();
    sum == want
}

/// Splits an archive path into safe components: leading `/` and `.` are
/// dropped; `..` anywhere is refused.
pub fn components(p: &[u8]) -> Result<Vec<&[u8]>, ()> {
    let mut v = Vec::new();
    for c in crate::engine::util::fields(p, b'/') {
        match c {
            b"" | b"." => continue,
            b".." => return Err(()),
            _ => v.push(c),
        }
    }
    Ok(v)
}

/// Opens the directory holding the last component, creating missing
/// parents, never following a symlink. Returns (dirfd, last name).
fn open_parent<'a>(root: Fd, comps: &[&'a [u8]], path: &[u8]) -> Res<(Owned, &'a [u8])> {
    let mut cur = sys::openat(root, b".", sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx("open", b"image directory")?;
    for c in &comps[..comps.len() - 1] {
        let mut r = sys::openat(cur.raw(), c, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0);
        if let Err(sys::ENOENT) = r {
            let _ = sys::mkdirat(cur.raw(), c, 0o755);
            r = sys::openat(cur.raw(), c, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0);
        }
        // (the assignment drops, and closes, the parent)
        cur = r.map_err(|_| Error::quoted("archive entry", path, b"a parent is a symlink or not a directory (refused)"))?;
    }
    Ok((cur, comps[comps.len() - 1]))
}

fn hostile(path: &[u8], why: &[u8]) -> Error {
    Error::quoted("archive entry", path, why)
}

/// Removes whatever is at `name` unless it is a directory and we want one.
fn clear(dir: Fd, name: &[u8], want_dir: bool) -> Res<()> {
    match sys::statat(dir, name, false) {
        Err(_) => Ok(()),
        Ok(st) if st.is_dir() && want_dir => Ok(()),
        Ok(st) if st.is_dir() => sys::unlinkat(dir, name, sys::AT_REMOVEDIR).ctx("replace directory", name),
        Ok(_) => sys::unlinkat(dir, name, 0).ctx("replace", name),
    }
}

#[derive(Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

fn pax(data: &[u8], p: &mut Pending) {
    let mut rest = data;
    while !rest.is_empty() {
        let Some(sp) = rest.iter().position(|&c| c == b' ') else { break };
        let Some(len) = parse_u64(&rest[..sp]) else { break };
        let len = len as usize;
        if len <= sp + 1 || len > rest.len() {
            break;
        }
        let rec = &rest[sp + 1..len - 1]; // strip the trailing newline
        if let Some(eq) = rec.iter().position(|&c| c == b'=') {
            let (k, v) = (&rec[..eq], &rec[eq + 1..]);
            match k {
                b"path" => p.path = Some(v.to_vec()),
                b"linkpath" => p.link = Some(v.to_vec()),
                b"size" => p.size = parse_u64(v),
                _ => {}
            }
        }
        rest = &rest[len..];
    }
}

/// Extracts the archive on `input` into the directory `root` (a descriptor).
/// Returns the number of entries written and the bytes of regular files
/// (an image's size, counted while writing instead of walked afterwards).
pub fn extract(input: &mut Input, root: Fd) -> Res<(u64, u64)> {
    let mut h = [0u8; 512];
    let mut pending = Pending::default();
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut first = true;
    loop {
        if !input.exact(&mut h)? {
            if first {
                return Err(Error::new(b"archive", b"empty"));
            }
            return Ok((count, bytes)); // EOF without the two zero blocks: accept
        }
        if h.iter().all(|&c| c == 0) {
            return Ok((count, bytes));
        }
        if !checksum_ok(&h) {
            return Err(Error::new(b"archive", if first { &b"not a tar archive (bad header checksum)"[..] } else { b"corrupt header (bad checksum)" }));
        }
        first = false;
        let ty = h[156];
        let size = pending.size.take().unwrap_or(num_field(&h[124..136]).ok_or_else(|| Error::new(b"archive", b"bad size field"))?);
        // Meta entries describing the next one.
        if matches!(ty, b'L' | b'K' | b'x' | b'g') {
            if size > 1 << 20 {
                return Err(Error::new(b"archive", b"oversized metadata entry"));
            }
            let mut data = Vec::new();
            input.data(size, &mut |b| {
                data.extend_from_slice(b);
                Ok(())
            })?;
            match ty {
                b'L' => pending.path = Some(cstr(&data).to_vec()),
                b'K' => pending.link = Some(cstr(&data).to_vec()),
                b'x' => pax(&data, &mut pending),
                _ => {}
            }
            sys::free(data);
            continue;
        }
        let path = match pending.path.take() {
            Some(p) => p,
            None => {
                let name = cstr(&h[0..100]);
                let prefix = cstr(&h[345..500]);
                if &h[257..263] == b"ustar\0" && !prefix.is_empty() {
                    let mut p = prefix.to_vec();
                    p.push(b'/');
                    p.extend_from_slice(name);
                    p
                } else {
                    name.to_vec()
                }
            }
        };
        let link = pending.link.take().unwrap_or_else(|| cstr(&h[157..257]).to_vec());
        let mode = (num_field(&h[100..108]).unwrap_or(0o644) & 0o7777) as u32;
        let uid = num_field(&h[108..116]).unwrap_or(0) as u32;
        let gid = num_field(&h[116..124]).unwrap_or(0) as u32;
        let mtime = num_field(&h[136..148]).unwrap_or(0) as i64;

        let comps = components(&path).map_err(|_| hostile(&path, b"path contains \"..\" (refused)"))?;
        if comps.is_empty() {
            // "./" itself: nothing to create, skip any data.
            input.data(size, &mut |_| Ok(()))?;
            sys::free(path);
            continue;
        }
        let (owned_dir, name) = open_parent(root, &comps, &path)?;
        let dir = owned_dir.raw();
        let r = (|| -> Res<()> {
            match ty {
                b'0' | 0 | b'7' => {
                    clear(dir, name, false)?;
                    let f = sys::openat(dir, name, sys::O_WRONLY | sys::O_CREAT | sys::O_EXCL | sys::O_NOFOLLOW, 0o600).ctx("create", &path)?;
                    let w = input.data(size, &mut |b| sys::write_all(f.raw(), b).ctx("write", &path));
                    let _ = sys::fchownat_nofollow(dir, name, uid, gid);
                    let _ = sys::fchmod(f.raw(), mode);
                    drop(f); // closed before the mtime is set
                    w?;
                    bytes += size;
                    let _ = sys::set_mtime(dir, name, mtime);
                }
                b'5' => {
                    clear(dir, name, true)?;
                    match sys::mkdirat(dir, name, 0o755) {
                        Ok(()) | Err(sys::EEXIST) => {}
                        Err(e) => return Err(Error::sys("create", &path, e)),
                    }
                    let _ = sys::fchownat_nofollow(dir, name, uid, gid);
                    let d = sys::openat(dir, name, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0).ctx("open", &path)?;
                    let _ = sys::fchmod(d.raw(), mode);
                    drop(d);
                    input.data(size, &mut |_| Ok(()))?;
                }
                b'2' => {
                    clear(dir, name, false)?;
                    sys::symlinkat(&link, dir, name).ctx("create symlink", &path)?;
                    let _ = sys::fchownat_nofollow(dir, name, uid, gid);
                    input.data(size, &mut |_| Ok(()))?;
                }
                b'1' => {
                    let tc = components(&link).map_err(|_| hostile(&path, b"hard link target contains \"..\" (refused)"))?;
                    if tc.is_empty() {
                        return Err(hostile(&path, b"hard link to the image root (refused)"));
                    }
                    let parent = open_parent(root, &tc, &link);
                    sys::free(tc);
                    let (tdir, tname) = parent?;
                    clear(dir, name, false).and_then(|_| sys::linkat(tdir.raw(), tname, dir, name).ctx("create hard link", &path))?;
                    drop(tdir);
                    input.data(size, &mut |_| Ok(()))?;
                }
                b'6' => {
                    clear(dir, name, false)?;
                    sys::mknodat(dir, name, sys::S_IFIFO | mode, 0, 0).ctx("create fifo", &path)?;
                    input.data(size, &mut |_| Ok(()))?;
                }
                // Character and block devices are never created from an
                // image; other types (sparse, volume labels) are skipped.
                _ => input.data(size, &mut |_| Ok(()))?,
            }
            Ok(())
        })();
        drop(owned_dir);
        r?;
        count += 1;
        // Freed per entry (see sys::Malloc): an archive of any length
        // costs the same memory.
        sys::free(comps);
        sys::free(path);
        sys::free(link);
    }
}

// ---------------------------------------------------------------- writer

/// Writes a tree as a ustar archive (GNU long-name entries past 100 bytes),
/// as `docker export` does: directories, files, symlinks, hard links (by
/// inode), fifos; device nodes and sockets are left out.
pub struct Writer {
    out: Fd,
    links: Vec<(u64, Vec<u8>)>,
    /// File data passes through here (allocated once).
    buf: Vec<u8>,
}

fn put_oct(h: &mut [u8], v: u64) {
    // right-aligned octal, NUL-terminated; base-256 when it does not fit
    let n = h.len() - 1;
    if v >= 1u64 << (3 * n) {
        let mut x = v;
        for i in (1..h.len()).rev() {
            h[i] = x as u8;
            x >>= 8;
        }
        h[0] = 0x80;
        return;
    }
    let mut x = v;
    for i in (0..n).rev() {
        h[i] = b'0' + (x & 7) as u8;
        x >>= 3;
    }
    h[n] = 0;
}

impl Writer {
    pub fn new(out: Fd) -> Writer {
        Writer { out, links: Vec::new(), buf: Vec::new() }
    }

    fn raw(&mut self, name: &[u8], st: &sys::Stat, ty: u8, size: u64, link: &[u8]) -> Res<()> {
        let mut h = [0u8; 512];
        h[..core::cmp::min(100, name.len())].copy_from_slice(&name[..core::cmp::min(100, name.len())]);
        put_oct(&mut h[100..108], (st.mode & 0o7777) as u64);
        put_oct(&mut h[108..116], st.uid as u64);
        put_oct(&mut h[116..124], st.gid as u64);
        put_oct(&mut h[124..136], size);
        put_oct(&mut h[136..148], st.mtime.max(0) as u64);
        h[156] = ty;
        h[157..157 + core::cmp::min(100, link.len())].copy_from_slice(&link[..core::cmp::min(100, link.len())]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|&c| c as u64).sum();
        put_oct(&mut h[148..155], sum);
        h[155] = b' ';
        sys::write_all(self.out, &h).ctx("write", b"archive")
    }

    fn long(&mut self, ty: u8, v: &[u8]) -> Res<()> {
        let mut d = v.to_vec();
        d.push(0);
        let r = self.raw(b"././@LongLink", &sys::Stat::default(), ty, d.len() as u64, b"").and_then(|_| self.data(&d));
        sys::free(d);
        r
    }

    fn data(&mut self, d: &[u8]) -> Res<()> {
        sys::write_all(self.out, d).ctx("write", b"archive")?;
        self.pad(d.len() as u64)
    }

    /// Zeros up to the next 512-byte boundary after `n` bytes of data.
    fn pad(&mut self, n: u64) -> Res<()> {
        self.zeros((512 - (n % 512) as usize) % 512)
    }

    /// `n` zero bytes from one zeroed stack block: a `[0; 1024]` constant
    /// for the end-of-archive marker cost 1 KB of .rodata.
    fn zeros(&mut self, mut n: usize) -> Res<()> {
        let z = [0u8; 512];
        while n > 0 {
            let k = core::cmp::min(n, 512);
            sys::write_all(self.out, &z[..k]).ctx("write", b"archive")?;
            n -= k;
        }
        Ok(())
    }

    fn header(&mut self, name: &[u8], st: &sys::Stat, ty: u8, size: u64, link: &[u8]) -> Res<()> {
        if name.len() > 100 {
            self.long(b'L', name)?;
        }
        if link.len() > 100 {
            self.long(b'K', link)?;
        }
        self.raw(name, st, ty, size, link)
    }

    /// Adds the children of `dir` under the prefix `rel` ("" for the root).
    /// `skip(rel)` leaves a directory's contents out (volumes); a directory
    /// on another device than `dev` (another mount) is added empty.
    /// What it allocates per entry it frees (see sys::Malloc): a tree of
    /// any size costs the same memory.
    pub fn tree(&mut self, dir: Fd, rel: &[u8], dev: u64, skip: &dyn Fn(&[u8]) -> bool) -> Res<()> {
        let mut ents = sys::read_dir(dir).ctx("read directory", rel)?;
        crate::engine::util::sort_by(&mut ents, |a, b| a.0 < b.0);
        for (name, _) in &ents {
            let mut path = rel.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            let Ok(st) = sys::statat(dir, name, false) else { continue };
            match st.kind() {
                sys::S_IFDIR => {
                    let mut p = path.clone();
                    p.push(b'/');
                    self.header(&p, &st, b'5', 0, b"")?;
                    sys::free(p);
                    if st.dev == dev && !skip(&path) {
                        let sub = sys::openat(dir, name, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0).ctx("open", &path)?;
                        self.tree(sub.raw(), &path, dev, skip)?;
                        drop(sub); // one descriptor per level, not per entry
                    }
                }
                sys::S_IFREG => {
                    if st.nlink > 1 {
                        if let Some((_, first)) = self.links.iter().find(|(i, _)| *i == st.ino) {
                            let first = first.clone();
                            self.header(&path, &st, b'1', 0, &first)?;
                            sys::free(first);
                            sys::free(path);
                            continue;
                        }
                        self.links.push((st.ino, path.clone()));
                    }
                    let file = sys::openat(dir, name, sys::O_RDONLY | sys::O_NOFOLLOW, 0).ctx("open", &path)?;
                    let f = file.raw();
                    let r = (|| {
                        self.header(&path, &st, b'0', st.size, b"")?;
                        let buf = &mut self.buf; // one for the whole archive
                        buf.resize(65536, 0);
                        let mut left = st.size;
                        while left > 0 {
                            let n = sys::read(f, buf).ctx("read", &path)?;
                            if n == 0 {
                                // shrank while we read: pad with zeros to the size announced
                                buf.iter_mut().for_each(|b| *b = 0);
                            }
                            let n = core::cmp::min(if n == 0 { buf.len() } else { n } as u64, left) as usize;
                            sys::write_all(self.out, &buf[..n]).ctx("write", b"archive")?;
                            left -= n as u64;
                        }
                        self.pad(st.size)
                    })();
                    r?;
                }
                sys::S_IFLNK => {
                    let t = sys::readlinkat(dir, name).ctx("read link", &path)?;
                    self.header(&path, &st, b'2', 0, &t)?;
                    sys::free(t);
                }
                sys::S_IFIFO => self.header(&path, &st, b'6', 0, b"")?,
                _ => {}
            }
            sys::free(path);
        }
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
    use std::fs;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
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
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&c| c as u32).sum();
        let s = format!("{:06o}\0 ", sum);
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    pub fn entry(out: &mut Vec<u8>, name: &str, ty: u8, data: &[u8], link: &str, mode: u32) {
        out.extend_from_slice(&header(name, ty, data.len(), link, mode));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn tmp(tag: &str) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let d = std::env::temp_dir().join(format!("mydocker-tar-{}-{}-{}", std::process::id(), tag, n));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("img")).unwrap();
        d
    }

    fn run(archive: &[u8], base: &Path) -> Res<(u64, u64)> {
        let f = base.join("a.tar");
        fs::write(&f, archive).unwrap();
        let fd = sys::open(f.as_os_str().as_bytes(), sys::O_RDONLY, 0).unwrap();
        let root = sys::open(base.join("img").as_os_str().as_bytes(), sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap();
        extract(&mut Input::new(fd.raw()), root.raw())
    }

    #[test]
    fn extracts_files_dirs_links() {
        let base = tmp("ok");
        let mut a = Vec::new();
        entry(&mut a, "./", b'5', b"", "", 0o755);
        entry(&mut a, "./bin/", b'5', b"", "", 0o755);
        entry(&mut a, "./bin/busybox", b'0', &vec![7u8; 1500], "", 0o4755);
        entry(&mut a, "./bin/sh", b'2', b"", "/bin/busybox", 0o777);
        entry(&mut a, "./bin/ls", b'1', b"", "./bin/busybox", 0o755);
        entry(&mut a, "etc/deep/file", b'0', b"hi\n", "", 0o600);
        entry(&mut a, "dev/null", b'3', b"", "", 0o666);
        a.extend_from_slice(&[0u8; 1024]);
        assert_eq!(run(&a, &base).unwrap(), (6, 1503), "./ itself is not counted; bytes of regular files");
        let img = base.join("img");
        assert_eq!(fs::read(img.join("bin/busybox")).unwrap(), vec![7u8; 1500]);
        assert_eq!(fs::metadata(img.join("bin/busybox")).unwrap().permissions().mode() & 0o7777, 0o4755);
        assert_eq!(fs::read_link(img.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
        assert_eq!(fs::metadata(img.join("bin/ls")).unwrap().ino(), fs::metadata(img.join("bin/busybox")).unwrap().ino());
        assert_eq!(fs::read(img.join("etc/deep/file")).unwrap(), b"hi\n");
        assert!(!img.join("dev/null").exists(), "device nodes must not be created");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn long_names_gnu_and_pax() {
        let base = tmp("long");
        let long = format!("d/{}", "x".repeat(150));
        let mut a = Vec::new();
        let mut name = long.clone().into_bytes();
        name.push(0);
        entry(&mut a, "././@LongLink", b'L', &name, "", 0o644);
        entry(&mut a, "short", b'0', b"gnu", "", 0o644);
        let pax_long = format!("p/{}", "y".repeat(120));
        let rec = format!(" path={}\n", pax_long);
        let rec = format!("{}{}", rec.len() + (rec.len() + 3).to_string().len(), rec);
        entry(&mut a, "PaxHeader", b'x', rec.as_bytes(), "", 0o644);
        entry(&mut a, "short2", b'0', b"pax", "", 0o644);
        a.extend_from_slice(&[0u8; 1024]);
        run(&a, &base).unwrap();
        assert_eq!(fs::read(base.join("img").join(&long)).unwrap(), b"gnu");
        assert_eq!(fs::read(base.join("img").join(&pax_long)).unwrap(), b"pax");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn hostile_archives_cannot_escape() {
        let base = tmp("evil");
        let outside = base.join("outside");
        fs::create_dir_all(&outside).unwrap();
        let o = outside.to_str().unwrap();
        // 1. ".." in a path
        let mut a = Vec::new();
        entry(&mut a, "../outside/pwned", b'0', b"x", "", 0o644);
        assert!(run(&a, &base).is_err());
        // 2. a symlink to the outside, then a file through it
        let mut a = Vec::new();
        entry(&mut a, "link", b'2', b"", o, 0o777);
        entry(&mut a, "link/pwned", b'0', b"x", "", 0o644);
        assert!(run(&a, &base).is_err());
        // 3. a relative symlink climbing out, then a file through it
        let mut a = Vec::new();
        entry(&mut a, "up", b'2', b"", "../outside", 0o777);
        entry(&mut a, "up/pwned", b'0', b"x", "", 0o644);
        assert!(run(&a, &base).is_err());
        // 4. a hard link to a file outside
        let mut a = Vec::new();
        entry(&mut a, "hl", b'1', b"", "../outside/target", 0o644);
        assert!(run(&a, &base).is_err());
        // 5. a hard link through a symlink to the outside
        fs::write(outside.join("target"), b"secret").unwrap();
        let mut a = Vec::new();
        entry(&mut a, "s", b'2', b"", o, 0o777);
        entry(&mut a, "hl", b'1', b"", "s/target", 0o644);
        assert!(run(&a, &base).is_err());
        // 6. a symlink replaced by a file must not write through it
        let mut a = Vec::new();
        entry(&mut a, "t", b'2', b"", &format!("{o}/target"), 0o777);
        entry(&mut a, "t", b'0', b"overwritten", "", 0o644);
        run(&a, &base).unwrap();
        assert_eq!(fs::read(outside.join("target")).unwrap(), b"secret");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1, "nothing new outside");
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn garbage_and_truncation() {
        let base = tmp("bad");
        assert!(run(&[1u8; 1024], &base).is_err());
        assert!(run(&[], &base).is_err());
        let mut a = Vec::new();
        entry(&mut a, "f", b'0', &[1u8; 2000], "", 0o644);
        a.truncate(1024);
        assert!(run(&a, &base).is_err());
        fs::remove_dir_all(&base).unwrap();
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
        let fd = sys::open(out.as_os_str().as_bytes(), sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644).unwrap();
        let d = sys::open(src.as_os_str().as_bytes(), sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap();
        let dev = sys::fstat(d.raw()).unwrap().dev;
        let mut w = Writer::new(fd.raw());
        w.tree(d.raw(), b"", dev, &|p| p == b"vol").unwrap();
        w.finish().unwrap();
        drop((fd, d));
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
    fn numeric_fields() {
        assert_eq!(num_field(b"0000644\0"), Some(0o644));
        assert_eq!(num_field(b"  755 \0"), Some(0o755));
        assert_eq!(num_field(&[0x80, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(num_field(b"12x"), None);
    }
}

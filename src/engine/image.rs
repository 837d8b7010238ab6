//! Images: `import`, `images`, `rmi`, and the copy used when overlayfs is
//! unavailable. An image is `images/<name>/rootfs` plus a `meta` file
//! (created, size, and an optional default command as `cmd=` lines).

use crate::engine::state::{self, Root};
use crate::engine::tar;
use crate::engine::util::{self, join, read_file, remove_tree, write_atomic, Ctx, Error, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;

pub struct Meta {
    pub created: i64,
    pub size: u64,
    pub cmd: Vec<Vec<u8>>,
}

pub fn read_meta(img: &[u8]) -> Meta {
    let b = read_file(&join(img, b"meta")).unwrap_or_default();
    let mut r = crate::engine::spec::Rd(&b);
    let mut m = Meta { created: 0, size: 0, cmd: Vec::new() };
    if let (Some(c), Some(s), Some(cmd)) = (r.num(), r.num(), r.list()) {
        (m.created, m.size, m.cmd) = (c, s as u64, cmd);
    }
    m
}

pub fn write_meta(img: &[u8], m: &Meta) -> Res<()> {
    let mut w = crate::engine::spec::W(Vec::new());
    w.num(m.created);
    w.num(m.size as i64);
    w.list(&m.cmd);
    let p = join(img, b"meta");
    write_atomic(&p, &w.0).ctx("write", &p)
}

pub fn default_cmd(img: &[u8]) -> Vec<Vec<u8>> {
    read_meta(img).cmd
}

fn image_name(name: &[u8]) -> Vec<u8> {
    let mut w = b"image \"".to_vec();
    w.extend_from_slice(name);
    w.push(b'"');
    w
}

/// `import FILE|- NAME`: extracts into a temporary directory, then renames
/// it into place, so a failed import leaves nothing behind.
#[inline(never)]
pub fn import(root: &Root, file: &[u8], name: &[u8]) -> Res<()> {
    crate::engine::config::validate_name(name)?;
    // stdin ("-") is the caller's own: nothing to close.
    let f = if file == b"-" { None } else { Some(sys::open(file, sys::O_RDONLY, 0).ctx("open", file)?) };
    import_fd(root, f.as_ref().map_or(0, Owned::raw), name, &[])
}

pub fn import_fd(root: &Root, fd: Fd, name: &[u8], cmd: &[Vec<u8>]) -> Res<()> {
    crate::engine::config::validate_name(name)?;
    let dest = root.image(name);
    let tmp = temp_name(root);
    let _held = {
        let _l = root.lock()?;
        reclaim(root);
        if sys::lstat(&dest).is_ok() {
            return Err(Error::new(&image_name(name), b"already exists (remove it first with 'mydocker rmi')"));
        }
        sys::mkdir(&tmp, 0o700).ctx("create", &tmp)?;
        state::lock_path(&tmp, false).ctx("lock", &tmp)?
    };
    let r = (|| {
        let rootfs = join(&tmp, b"rootfs");
        sys::mkdir(&rootfs, 0o755).ctx("create", &rootfs)?;
        let rfd = sys::open(&rootfs, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx("open", &rootfs)?;
        let mut src = crate::engine::stream::FdSource(fd);
        let mut input = tar::Reader::new(&mut src);
        if input.starts_with(&[0x1f, 0x8b])? {
            return Err(Error::new(b"import", b"the archive is gzip-compressed; decompress it first (gunzip -c FILE | mydocker import - NAME)"));
        }
        let size = tar::extract(&mut input, rfd.raw(), tar::Whiteouts::Apply)?.bytes;
        drop(rfd);
        write_meta(&tmp, &Meta { created: sys::now().0, size, cmd: cmd.to_vec() })?;
        let _l = root.lock()?;
        if sys::lstat(&dest).is_ok() {
            return Err(Error::new(&image_name(name), b"already exists"));
        }
        sys::rename(&tmp, &dest).ctx("rename into", &dest)
    })();
    if r.is_err() {
        let _ = remove_tree(&tmp);
    }
    r
}

/// `images/.tmp-<random>`: where an import extracts, or a commit writes
/// its archive. The writer holds an flock on it from its creation (under
/// the state lock) until it is renamed into place or removed.
pub fn temp_name(root: &Root) -> Vec<u8> {
    let mut rnd = [0u8; 6];
    sys::random(&mut rnd);
    let mut n = b".tmp-".to_vec();
    n.extend_from_slice(&util::hex(&rnd));
    root.image(&n)
}

/// Removes the temporaries of writers that died (an import or commit
/// killed): those nobody holds locked. Call under the state lock.
pub fn reclaim(root: &Root) {
    for (n, _) in sys::list_dir(&root.images()).unwrap_or_default() {
        if n.starts_with(b".tmp-") {
            let p = root.image(&n);
            if state::lock_path(&p, false).is_ok() {
                let _ = remove_tree(&p);
            }
        }
    }
}

/// The names of the images, sorted (dead writers' temporaries go first).
pub fn list(root: &Root) -> Vec<Vec<u8>> {
    if sys::lstat(&root.images()).is_ok() {
        if let Ok(_l) = root.lock() {
            reclaim(root);
        }
    }
    let mut names = Vec::new();
    for (n, _) in sys::list_dir(&root.images()).unwrap_or_default() {
        if n.first() != Some(&b'.') {
            names.push(n);
        }
    }
    util::sort_by(&mut names, |a, b| a < b);
    names
}

/// Removes an image that no container uses.
pub fn remove(root: &Root, n: &[u8]) -> Res<()> {
    {
        let _l = root.lock()?;
        let dir = root.image(n);
        if crate::engine::config::validate_name(n).is_err() || sys::lstat(&join(&dir, b"rootfs")).is_err() {
            return Err(Error::new(&image_name(n), b"no such image"));
        }
        if let Some(c) = state::all(root).iter().find(|r| r.image == n) {
            let mut why = b"in use by container ".to_vec();
            why.extend_from_slice(c.short_id());
            why.extend_from_slice(b" (remove it first)");
            return Err(Error::new(&image_name(n), &why));
        }
        remove_tree(&dir).ctx("remove", &dir)
    }
}

/// Copies a tree without following symlinks: directories, files, symlinks,
/// fifos; modes, owners and mtimes kept. Used when overlayfs is refused.
/// What it allocates per entry it frees (see sys::Malloc).
pub fn copy_tree(src: Fd, dst: Fd) -> sys::R<()> {
    let ents = sys::read_dir(src)?;
    for (name, _) in &ents {
        let st = sys::statat(src, name, false)?;
        match st.kind() {
            sys::S_IFDIR => {
                match sys::mkdirat(dst, name, 0o700) {
                    Ok(()) | Err(sys::EEXIST) => {}
                    Err(e) => return Err(e),
                }
                let s = sys::openat(src, name, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0)?;
                let d = sys::openat(dst, name, sys::O_RDONLY | sys::O_DIRECTORY | sys::O_NOFOLLOW, 0)?;
                let r = copy_tree(s.raw(), d.raw());
                let _ = sys::fchownat_nofollow(dst, name, st.uid, st.gid);
                let _ = sys::fchmod(d.raw(), st.mode & 0o7777);
                drop((s, d)); // one pair per level of the walk
                r?;
            }
            sys::S_IFREG => {
                let so = sys::openat(src, name, sys::O_RDONLY | sys::O_NOFOLLOW, 0)?;
                let dof = sys::openat(dst, name, sys::O_WRONLY | sys::O_CREAT | sys::O_EXCL | sys::O_NOFOLLOW, 0o600)?;
                let (s, d) = (so.raw(), dof.raw());
                let mut buf = alloc::vec![0u8; 65536];
                let r = loop {
                    match sys::read(s, &mut buf) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            if let Err(e) = sys::write_all(d, &buf[..n]) {
                                break Err(e);
                            }
                        }
                        Err(e) => break Err(e),
                    }
                };
                sys::free(buf);
                let _ = sys::fchownat_nofollow(dst, name, st.uid, st.gid);
                let _ = sys::fchmod(d, st.mode & 0o7777);
                drop((so, dof)); // closed before the mtime is set
                r?;
                let _ = sys::set_mtime(dst, name, st.mtime);
            }
            sys::S_IFLNK => {
                let t = sys::readlinkat(src, name)?;
                let r = sys::symlinkat(&t, dst, name);
                sys::free(t);
                r?;
                let _ = sys::fchownat_nofollow(dst, name, st.uid, st.gid);
            }
            sys::S_IFIFO => sys::mknodat(dst, name, sys::S_IFIFO | (st.mode & 0o7777), 0, 0)?,
            _ => {} // sockets and device nodes are not part of an image
        }
    }
    sys::free_names(ents);
    Ok(())
}

/// Whether this kernel lists overlayfs (it may still refuse an upper dir on
/// a filesystem without xattr/whiteout support; `run` then falls back).
pub fn overlay_listed() -> bool {
    read_file(b"/proc/filesystems").map(|f| util::fields(&f, b'\n').any(|l| l.ends_with(b"\toverlay"))).unwrap_or(false)
}

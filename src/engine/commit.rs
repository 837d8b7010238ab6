//! `commit` and `export`: a container's filesystem as a tar archive, written
//! by mydocker's own tar writer. Volume contents are left out.
//!
//! A running container is read through /proc/PID/root, without descending
//! into other mounts (its /proc, /sys, /dev and volumes). A stopped one is
//! read through a read-only overlay of its write layer over its image,
//! mounted in a private mount namespace that dies with this process.

use crate::engine::state::{self, Record, Root};
use crate::engine::tar::Writer;
use crate::engine::util::{self, join, Ctx, Error, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;

fn rootfs_fd(root: &Root, rec: &Record) -> Res<Owned> {
    if rec.alive() {
        let mut p = b"/proc/".to_vec();
        util::push_num(&mut p, rec.pid as u64);
        p.extend_from_slice(b"/root");
        let fd = sys::open(&p, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx("open", &p)?;
        if rec.alive() {
            return Ok(fd);
        }
        drop(fd); // exited meanwhile: read it stopped
    }
    let dir = rec.dir(root);
    let upper = join(&dir, b"upper");
    if sys::lstat(&join(&dir, b"copied")).is_ok() {
        return sys::open(&upper, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx("open", &upper);
    }
    let lower = join(&root.image(&rec.image), b"rootfs");
    sys::unshare(sys::CLONE_NEWNS).ctx("unshare", b"mount namespace")?;
    sys::mount(b"", b"/", b"", (sys::MS_REC | sys::MS_PRIVATE) as _, b"").ctx("make / private", b"")?;
    let mut data = b"lowerdir=".to_vec();
    crate::engine::init::opt_escape(&mut data, &upper);
    data.push(b':');
    crate::engine::init::opt_escape(&mut data, &lower);
    sys::mount(b"overlay", &lower, b"overlay", sys::MS_RDONLY as _, &data).ctx("mount overlay on", &lower)?;
    sys::open(&lower, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx("open", &lower)
}

fn write_rootfs(root: &Root, rec: &Record, out: Fd) -> Res<()> {
    let owned = rootfs_fd(root, rec)?;
    let d = owned.raw();
    let dev = sys::fstat(d).ctx("stat", b"container root")?.dev;
    let mut vols: Vec<&[u8]> = Vec::new();
    for v in &rec.volumes {
        let mut c = &v.ctr[..];
        while let [b'/', rest @ ..] = c {
            c = rest;
        }
        while let [rest @ .., b'/'] = c {
            c = rest;
        }
        vols.push(c);
    }
    let mut w = Writer::new(out);
    w.tree(d, b"", dev, &|p| vols.contains(&p)).and_then(|_| w.finish())
}

#[inline(never)]
pub fn export(root: &Root, name: &[u8], output: Option<&[u8]>) -> Res<i32> {
    let rec = state::find(root, name)?;
    // stdout is the caller's own: nothing to close.
    let file = match output {
        Some(f) => Some(sys::open(f, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644).ctx("create", f)?),
        None if sys::isatty(1) => return util::err(b"export", b"refusing to write an archive to a terminal (redirect stdout or use -o FILE)"),
        None => None,
    };
    let r = write_rootfs(root, &rec, file.as_ref().map_or(1, Owned::raw));
    if let Some(f) = file {
        drop(f);
        if r.is_err() {
            let _ = sys::unlinkat(sys::AT_FDCWD, output.unwrap_or_default(), 0);
        }
    }
    r.map(|_| 0)
}

/// A new image from the container's filesystem; its command becomes the
/// image's default command.
#[inline(never)]
pub fn commit(root: &Root, name: &[u8], image: &[u8]) -> Res<i32> {
    crate::engine::config::validate_name(image)?;
    let rec = state::find(root, name)?;
    if sys::lstat(&root.image(image)).is_ok() {
        return Err(Error::quoted("image", image, b"already exists (remove it first with 'mydocker rmi')"));
    }
    let tmp = crate::engine::image::temp_name(root);
    // Locked while we write it (see image::temp_name): a kill leaves it to
    // the next import, commit or images to reclaim.
    let fd = {
        let _l = root.lock()?;
        crate::engine::image::reclaim(root);
        let fd = sys::open(&tmp, sys::O_RDWR | sys::O_CREAT | sys::O_EXCL, 0o600).ctx("create", &tmp)?;
        let _ = sys::flock(fd.raw(), false);
        fd
    };
    let r = write_rootfs(root, &rec, fd.raw()).and_then(|_| {
        let rd = sys::open(&tmp, sys::O_RDONLY, 0).ctx("open", &tmp)?;
        crate::engine::image::import_fd(root, rd.raw(), image, &rec.argv)
    });
    drop(fd); // (and its lock) before the file goes
    let _ = sys::unlinkat(sys::AT_FDCWD, &tmp, 0);
    r.map(|_| 0)
}

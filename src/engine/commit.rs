//! `commit` and `export`: a container's filesystem as a tar archive, written
//! by mydocker's own tar writer. Volume contents are left out.
//!
//! A running container is read through /proc/PID/root, without descending
//! into other mounts (its /proc, /sys, /dev and volumes). A stopped one is
//! read through a read-only overlay of its write layer over its image,
//! mounted in a private mount namespace that dies with this process.

use crate::engine::state::{self, Record, Root};
use crate::engine::tar::Writer;
use crate::engine::util::{self, join, Ctx, Res};
use crate::sys::{self, fd::Owned, Fd};
use alloc::vec::Vec;

/// A directory opened for reading ("open" and the path on failure).
#[inline(never)]
pub fn open_dir(p: &[u8]) -> Res<Owned> {
    sys::open(p, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("open"), p)
}

fn rootfs_fd(root: &Root, rec: &Record) -> Res<Owned> {
    if rec.alive() {
        let mut p = b"/proc/".to_vec();
        util::push_num(&mut p, rec.pid as u64);
        p.extend_from_slice(b"/root");
        let fd = open_dir(&p)?;
        if rec.alive() {
            return Ok(fd);
        }
        drop(fd); // exited meanwhile: read it stopped
    }
    let dir = rec.dir(root);
    let upper = join(&dir, b"upper");
    if sys::lstat(&join(&dir, b"copied")).is_ok() {
        return open_dir(&upper);
    }
    let m = crate::engine::store::meta(root, &rec.image_id);
    let m = m.as_ref().map_err(|e| *e)?;
    sys::unshare(sys::CLONE_NEWNS).ctx(m!("unshare mount namespace"), b"")?;
    sys::mount(b"", b"/", b"", (sys::MS_REC | sys::MS_PRIVATE) as _, b"").ctx(m!("make / private"), b"")?;
    let mut data = b"lowerdir=".to_vec();
    crate::engine::init::opt_escape(&mut data, &upper);
    if !m.layers.is_empty() {
        data.push(b':');
        data.extend_from_slice(&crate::engine::image::lowerdir_in(root, &m.layers));
    }
    sys::mount(b"overlay", &dir, b"overlay", sys::MS_RDONLY as _, &data).ctx(m!("mount overlay on"), &dir)?;
    open_dir(&dir)
}

/// Writes the tree at `d` (named `what` in errors) as a tar to `out`, a
/// layer's whiteouts as such when `layer`, without what `skip` says:
/// `export` and `commit`.
#[inline(never)]
fn write_tree(out: Fd, d: Fd, what: &[u8], layer: bool, skip: &dyn Fn(&[u8]) -> bool) -> Res<()> {
    let dev = sys::fstat(d).map(|st| st.dev).ctx(m!("stat"), what)?;
    let mut w = Writer::new(out);
    w.layer = layer;
    w.tree(d, b"", dev, skip).and_then(|_| w.finish())
}

fn write_rootfs(root: &Root, rec: &Record, out: Fd) -> Res<()> {
    let owned = rootfs_fd(root, rec)?;
    // a volume's path, without its slashes, is left out
    write_tree(out, owned.raw(), b"container root", false, &|p| {
        for v in &rec.volumes {
            let mut c = &v.ctr[..];
            while let [b'/', rest @ ..] = c {
                c = rest;
            }
            while let [rest @ .., b'/'] = c {
                c = rest;
            }
            if c == p {
                return true;
            }
        }
        false
    })
}

#[inline]
pub fn export(root: &Root, name: &[u8], output: Option<&[u8]>) -> Res<i32> {
    let rec = state::find(root, name);
    let rec = rec.as_ref().map_err(|e| *e)?;
    to_output(output, b"export", &mut |fd| write_rootfs(root, rec, fd))
}

/// Runs `write` on the file `output` (created) or on stdout, which must
/// not be a terminal (`what` names the command); a failed write removes
/// the file. `export` and `save`.
#[inline(never)]
pub fn to_output(output: Option<&[u8]>, what: &[u8], write: &mut dyn FnMut(Fd) -> Res<()>) -> Res<i32> {
    // stdout is the caller's own: nothing to close.
    let file = match output {
        Some(f) => Some(sys::open(f, sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC, 0o644).ctx(m!("create"), f)?),
        None if sys::isatty(1) => return util::err(what, m!("refusing to write to a terminal (use -o FILE)")),
        None => None,
    };
    let r = write(file.as_ref().map_or(1, Owned::raw));
    if let Some(f) = file {
        drop(f);
        if r.is_err() {
            let _ = sys::unlinkat(sys::AT_FDCWD, output.unwrap_or_default(), 0);
        }
    }
    r.map(|_| 0)
}

/// `commit CONTAINER [REF]`: a new image, the container's image plus one
/// layer of its changes (overlay's upper directory, its whiteouts turned
/// into the tar form). A container on the copy fallback has no such
/// layer: its whole tree becomes the image's one layer. The image keeps
/// the parent's configuration, with the container's command, environment,
/// working directory and user. Returns the new ID.
#[inline(never)]
pub fn commit(root: &Root, name: &[u8], r: Option<&[u8]>) -> Res<Vec<u8>> {
    use crate::engine::image;
    use crate::engine::store;
    let tag = image::new_ref(r)?;
    // (used where they are, not moved out of their results: no copies of
    // the record in the frame)
    let mut rec = state::find(root, name);
    let rec = rec.as_mut().map_err(|e| *e)?;
    let mut img = store::image(root, &rec.image_id);
    let (parent, pconf) = img.as_mut().map_err(|e| *e)?;
    let (tmp, _held) = crate::engine::load::temp(root)?;
    let res = layer_image(root, &tmp, rec, parent, pconf, tag);
    let _ = util::remove_tree(&tmp);
    res
}

/// `commit`'s new layer and image: `m`, the parent's metadata, becomes the
/// new image's (the record's lists are moved into it).
fn layer_image(root: &Root, tmp: &[u8], rec: &mut Record, m: &mut crate::engine::store::Meta, pconf: &[u8], tag: Option<Vec<u8>>) -> Res<Vec<u8>> {
    use crate::engine::image;
    use core::mem::take;
    let dir = rec.dir(root);
    let copied = sys::lstat(&join(&dir, b"copied")).is_ok();
    let tarp = join(tmp, b"layer.tar");
    let out = sys::open(&tarp, sys::O_RDWR | sys::O_CREAT | sys::O_EXCL, 0o600).ctx(m!("create"), &tarp)?;
    let upper = join(&dir, b"upper");
    let u = open_dir(&upper)?;
    write_tree(out.raw(), u.raw(), &upper, !copied, &|_| false)?;
    drop((out, u));
    let inp = sys::open(&tarp, sys::O_RDONLY, 0).ctx(m!("open"), &tarp)?;
    let mut by = b"mydocker commit ".to_vec();
    by.extend_from_slice(rec.short_id());
    m.created = sys::now().0;
    if copied {
        // the whole tree is the one layer
        m.layers.clear();
    }
    // The command: the image's entrypoint stays if the container's
    // argv begins with it; the rest is Cmd.
    let mut argv = take(&mut rec.argv);
    if !m.entrypoint.is_empty() && argv.starts_with(&m.entrypoint) {
        m.cmd = argv.split_off(m.entrypoint.len());
    } else {
        m.entrypoint.clear();
        m.cmd = argv;
    }
    m.env.clear();
    for e in take(&mut rec.env) {
        if !e.starts_with(b"HOSTNAME=") {
            m.env.push(e);
        }
    }
    m.workdir = take(&mut rec.workdir);
    if !rec.security.user.is_empty() {
        m.user = take(&mut rec.security.user);
    }
    // (the tar in tmp goes with tmp)
    image::add_layer(root, tmp, inp.raw(), m, pconf, !copied, &by, tag)
}

//! `save`: images as a docker-archive, in podman's layout (`docker load`
//! and `podman load` read it): each layer as `<diffid>.tar`, rebuilt byte
//! for byte from its files and its recorded headers (so image IDs survive
//! `save | load`), each configuration as `<id>.json`, and `manifest.json`.

use crate::engine::json;
use crate::engine::load::MANIFEST;
use crate::engine::sha256::Hashing;
use crate::engine::state::Root;
use crate::engine::store;
use crate::engine::tar::{self, Writer};
use crate::engine::util::{Buf, Error, Res};
use crate::sys::Fd;
use alloc::vec::Vec;

/// A manifest.json item (`load` reads its keys as slices of it).
pub const MANIFEST_TPL: &[u8] = b",{\"Config\":\"\x02\",\"RepoTags\":\x06,\"Layers\":\x05}";

/// Writes the archive of `refs` to `fd`.
#[inline]
pub fn save(root: &Root, refs: &[&[u8]], fd: Fd) -> Res<()> {
    // (id, tags) in the order asked; an ID brings all its tags.
    let mut imgs: Vec<(Vec<u8>, Vec<Vec<u8>>)> = Vec::new();
    for r in refs {
        let (id, tag) = store::resolve(root, r)?;
        let tags = match tag {
            Some(t) => alloc::vec![t],
            None => store::tags_of(root, &id),
        };
        let k = imgs.iter().position(|(i, _)| *i == id).unwrap_or(imgs.len());
        if k == imgs.len() {
            imgs.push((id, Vec::new()));
        }
        let ts = &mut imgs[k].1;
        for t in tags {
            if !ts.contains(&t) {
                ts.push(t);
            }
        }
    }
    let mut o = Writer::new(fd);
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut manifest = Buf::new();
    manifest.s("[");
    for (k, (id, tags)) in imgs.iter().enumerate() {
        let mut img = store::image(root, id);
        let (m, conf) = img.as_mut().map_err(|e| *e)?;
        // member names `<diffid>.tar` (made in place), each layer written once
        for l in &mut m.layers {
            l.extend_from_slice(b".tar");
            if !done.contains(l) {
                layer(root, &l[..l.len() - 4], l, &mut o)?;
                done.push(l.clone());
            }
        }
        let mut cname = id.clone();
        cname.extend_from_slice(&MANIFEST[14..]);
        o.mem(&cname, conf)?;
        // IDs and diff IDs are hex: written raw
        json::tpl(&mut manifest, &MANIFEST_TPL[(k == 0) as usize..], &[&cname], &[], &[tags, &m.layers]);
    }
    manifest.s("]");
    let manifest = manifest.0;
    o.mem(&MANIFEST[6..], &manifest)?;
    o.finish()
}

/// One layer entry: its tar rebuilt and checked against its diff ID.
#[inline(never)]
fn layer(root: &Root, hex: &[u8], name: &[u8], o: &mut Writer) -> Res<()> {
    let dir = store::layer(root, hex);
    let (size, _) = store::layer_size(root, hex);
    let (rec, files) = crate::engine::image::layer_fds(&dir)?;
    let mut rp = tar::Replay::new(rec.raw(), files.raw());
    let mut h = Hashing::new(&mut rp);
    o.file(name, size, &mut h)?;
    if h.n != size || crate::engine::load::digest(&mut h) != hex {
        return Err(Error::quoted(m!("save: layer"), &hex[..hex.len().min(12)], m!("cannot be rebuilt (files changed or duplicate tar entries)")));
    }
    Ok(())
}

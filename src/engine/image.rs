//! New images made here: `import` (one layer from a rootfs tar) and the
//! configuration JSON that `import` and `commit` write; and a layer's
//! extraction, shared with `load`.

use crate::engine::json;
use crate::engine::load::{self, extract_layer, ARCH};
use crate::engine::sha256;
use crate::engine::state::Root;
use crate::engine::store::{self, Meta};
use crate::engine::stream::FdSource;
use crate::engine::tar;
use crate::engine::util::{self, join, read_file, Ctx, Error, Res};
use crate::sys::{self, fd::Owned};
use alloc::vec::Vec;

/// One `--change` of `import` (docker's Dockerfile subset): CMD,
/// ENTRYPOINT (JSON array or shell form), ENV, WORKDIR, USER.
#[inline(never)]
pub fn change(m: &mut Meta, c: &[u8]) -> Res<()> {
    let c = c.trim_ascii();
    let sp = c.iter().position(|&x| x == b' ' || x == b'\t').unwrap_or(c.len());
    let (word, rest) = (&c[..sp], c[sp..].trim_ascii());
    let k = util::msg_index(m!("CMD,ENTRYPOINT,WORKDIR,USER,ENV"), &word.to_ascii_uppercase()).unwrap_or(5);
    // (one error exit: `why` the reason)
    let why = 'bad: {
        match k {
            // CMD, ENTRYPOINT: one argv, made in one place
            0 | 1 => {
                let v = if rest.first() == Some(&b'[') {
                    match json::parse(rest).and_then(|j| j.strs()) {
                        Some(v) => v,
                        None => break 'bad m!("is not a JSON array of strings"),
                    }
                } else {
                    alloc::vec![b"/bin/sh".to_vec(), b"-c".to_vec(), rest.to_vec()]
                };
                *if k == 0 { &mut m.cmd } else { &mut m.entrypoint } = v;
            }
            2 if rest.first() == Some(&b'/') => m.workdir = rest.to_vec(),
            3 if !rest.is_empty() => m.user = rest.to_vec(),
            4 if !rest.is_empty() => {
                // `ENV K=V K2=V2` or `ENV K V`
                if rest.iter().position(|&x| x == b'=').is_some_and(|e| !rest[..e].contains(&b' ')) {
                    for kv in util::fields(rest, b' ') {
                        if kv.is_empty() {
                            continue;
                        }
                        // (docker: "can't find = in B")
                        if !kv.contains(&b'=') {
                            break 'bad m!("every word of ENV K=V ... needs a =");
                        }
                        util::env_set(&mut m.env, kv);
                    }
                } else {
                    let k = rest.iter().position(|&x| x == b' ').unwrap_or(rest.len());
                    let mut kv = rest[..k].to_vec();
                    kv.push(b'=');
                    kv.extend_from_slice(rest[k..].trim_ascii());
                    util::env_set(&mut m.env, &kv);
                }
            }
            _ => break 'bad m!("is not CMD, ENTRYPOINT, ENV, WORKDIR or USER"),
        }
        return Ok(());
    };
    Err(Error::quoted(m!("--change"), c, why))
}

/// The keys that `Meta::of` and `load` read (`run` reads them: not in
/// the blob, where `config_json`'s template is).
pub const KEYS: &[u8] = b"diff_idsEntrypointWorkingDirUserCmdEnvarchitecture";

/// A configuration JSON: `m`'s fields; `keep`: raw `,"Key":value` members
/// kept from a parent's `config`; `history`: the parent's raw history
/// items, each followed by a comma, to which one entry for this step is
/// added.
pub fn config_json(m: &Meta, keep: &[u8], history: &[u8], created_by: &[u8]) -> Vec<u8> {
    let now = util::rfc3339(m.created);
    let mut b = util::Buf::new();
    json::tpl_m(&mut b, m!("{\"architecture\":\"\x02\",\"os\":\"linux\",\"created\":\x07,\"config\":{\"Env\":\x05,\"Entrypoint\":\x06,\"Cmd\":\x06,\"WorkingDir\":\x07,\"User\":\x07\x02},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["), 0, &[ARCH, &now, &m.workdir, &m.user, keep], &[], &[&m.env, &m.entrypoint, &m.cmd]);
    json::digests(&mut b, &m.layers);
    json::tpl_m(&mut b, m!("]},\"history\":[\x02{\"created\":\x07,\"created_by\":\x07}]}"), 0, &[history, &now, created_by], &[], &[]);
    b.0
}

/// Stores a new image made of `m.layers` (the last one extracted into
/// `tmp/0` by the caller), tagged `tag`. Returns its ID.
pub fn store_new(root: &Root, tmp: &[u8], m: &Meta, config: &[u8], tag: Option<Vec<u8>>) -> Res<Vec<u8>> {
    let mut s = sha256::Sha256::new();
    s.update(config);
    let id = util::hex(&s.finish());
    let _l = root.lock()?;
    for hex in &m.layers[..m.layers.len().saturating_sub(1)] {
        if sys::lstat(&store::layer(root, hex)).is_err() {
            return Err(Error::text(m!("commit: an image layer is gone")));
        }
    }
    // only the new (last) layer comes from tmp; the others are stored
    load::install(root, tmp, config, &id, &m.layers, &[0], tag.as_slice())?;
    Ok(id)
}

/// A reference given by the user, checked and normalized.
pub fn new_ref(r: Option<&[u8]>) -> Res<Option<Vec<u8>>> {
    match r {
        None => Ok(None),
        Some(r) => {
            let n = store::normalize(r);
            if !store::valid_ref(&n) {
                return Err(Error::quoted(m!("invalid reference"), r, m!("use NAME[:TAG] in lower case")));
            }
            Ok(Some(n))
        }
    }
}

/// `import FILE|- [REF]`: a one-layer image. Returns its ID.
pub fn import(root: &Root, file: &[u8], name: Option<&[u8]>, changes: &[&[u8]]) -> Res<Vec<u8>> {
    let tag = new_ref(name)?;
    let mut m = Meta::at(sys::now().0);
    let mut p = b"PATH=".to_vec();
    p.extend_from_slice(crate::engine::config::DEFAULT_PATH);
    m.env.push(p);
    for c in changes {
        change(&mut m, c)?;
    }
    // stdin ("-") is the caller's own: nothing to close.
    let f = if file == b"-" { None } else { Some(sys::open(file, sys::O_RDONLY, 0).ctx(m!("open"), file)?) };
    let mut by = b"mydocker import ".to_vec();
    by.extend_from_slice(file);
    let (tmp, _held) = load::temp(root)?;
    let r = add_layer(root, &tmp, f.as_ref().map_or(0, Owned::raw), &mut m, b"", false, &by, tag);
    let _ = util::remove_tree(&tmp);
    r
}

/// The new image of `import` and `commit`: the layer tar read from `src`,
/// extracted into `tmp/0`, goes on top of `m`'s layers; the configuration
/// (see `config_json`, with what `kept` takes of the `parent`'s, its
/// history when `hist`) and the image are stored, tagged `tag`. Returns the ID.
#[allow(clippy::too_many_arguments)]
pub fn add_layer(root: &Root, tmp: &[u8], src: sys::Fd, m: &mut Meta, parent: &[u8], hist: bool, by: &[u8], tag: Option<Vec<u8>>) -> Res<Vec<u8>> {
    let l = extract_layer(&join(tmp, b"0"), &mut FdSource(src))?;
    m.layers.push(l);
    let (keep, history) = kept(parent, hist);
    let config = config_json(m, &keep, &history, by);
    store_new(root, tmp, m, &config, tag)
}

/// Members of a parent configuration's `config` kept by `commit`, and
/// (if `hist`) its history's items (each followed by a comma).
#[inline(never)]
pub fn kept(config: &[u8], hist: bool) -> (Vec<u8>, Vec<u8>) {
    let mut keep = util::Buf::new();
    let mut items = util::Buf::new();
    if let Some(c) = json::parse(config) {
        let cc = c.get(b"config").unwrap_or(json::J::NULL);
        for k in util::fields(util::msg_text(m!("ExposedPorts,Labels,StopSignal,Volumes")), b',') {
            if let Some(v) = cc.get(k).filter(|v| !v.is_null()) {
                json::tpl(&mut keep, b",\"\x02\":\x02", &[k, v.raw()], &[], &[]);
            }
        }
        for h in c.get(b"history").filter(|_| hist).unwrap_or(json::J::NULL).items() {
            items.b(h.raw());
            items.0.push(b',');
        }
    }
    (keep.0, items.0)
}

/// Whether this kernel lists overlayfs (it may still refuse an upper dir on
/// a filesystem without xattr/whiteout support; `run` then falls back).
pub fn overlay_listed() -> bool {
    for l in util::fields(&read_file(b"/proc/filesystems").unwrap_or_default(), b'\n') {
        if l.ends_with(b"\toverlay") {
            return true;
        }
    }
    false
}

/// The overlayfs `lowerdir` of layers (base first), topmost first, each
/// `<base><hex>/root`. `base` empty: relative to the layers directory (the
/// mounting process chdirs there: 70 bytes a layer, so ~55 fit the page
/// of mount data).
pub fn lowerdir(base: &[u8], layers: &[Vec<u8>]) -> Vec<u8> {
    let mut d = Vec::new();
    for (i, l) in layers.iter().rev().enumerate() {
        if i > 0 {
            d.push(b':');
        }
        crate::engine::init::opt_escape(&mut d, base);
        d.extend_from_slice(l);
        d.extend_from_slice(b"/root");
    }
    d
}

/// `lowerdir` of `layers` by their absolute paths in the store.
#[inline(never)]
pub fn lowerdir_in(root: &Root, layers: &[Vec<u8>]) -> Vec<u8> {
    let mut base = store::layers_dir(root);
    base.push(b'/');
    lowerdir(&base, layers)
}

/// A stored layer's recorded headers and its files, for `tar::Replay`.
#[inline(never)]
pub fn layer_fds(dir: &[u8]) -> Res<(Owned, Owned)> {
    let rec = sys::open(&join(dir, b"tar"), sys::O_RDONLY, 0).ctx(m!("open"), dir)?;
    let files = sys::open(&join(dir, b"root"), sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("open"), dir)?;
    Ok((rec, files))
}

/// Applies layers (base first), as recorded, onto `dst`: the flattened
/// root of a container where overlayfs cannot be used. Whiteouts delete,
/// opaque directories empty what lower layers put there.
pub fn flatten(store_dir: &[u8], layers: &[Vec<u8>], dst: sys::Fd) -> Res<()> {
    for l in layers {
        let (rec, files) = layer_fds(&join(store_dir, l))?;
        let mut rp = tar::Replay::new(rec.raw(), files.raw());
        let mut r = tar::Reader::new(&mut rp);
        tar::extract(&mut r, dst, tar::Whiteouts::Apply)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes() {
        let mut m = Meta::default();
        change(&mut m, b" cmd echo hi").unwrap();
        assert_eq!(m.cmd, vec![b"/bin/sh".to_vec(), b"-c".to_vec(), b"echo hi".to_vec()]);
        change(&mut m, b"Entrypoint [\"/e\"]").unwrap();
        change(&mut m, b"workdir /w").unwrap();
        change(&mut m, b"USER\t1:2").unwrap();
        change(&mut m, b"env A=1 B=2").unwrap();
        change(&mut m, b"ENV C 3 4").unwrap();
        assert_eq!((m.entrypoint, m.workdir, m.user), (vec![b"/e".to_vec()], b"/w".to_vec(), b"1:2".to_vec()));
        assert_eq!(m.env, vec![b"A=1".to_vec(), b"B=2".to_vec(), b"C=3 4".to_vec()]);
        for bad in [&b"CMD,ENV x"[..], b"EXPOSE 80", b"WORKDIR rel", b"USER", b"ENV A=1 B", b"CMD [1]"] {
            assert!(change(&mut Meta::default(), bad).is_err(), "{bad:?}");
        }
    }
}

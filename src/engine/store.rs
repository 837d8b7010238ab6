//! The image store: layers kept once by the digest of their content and
//! shared by every image that uses them, images by the digest of their
//! configuration (docker's image ID), and tags.
//!
//!   layers/<diffid-hex>/root/  the layer's files, in overlayfs's form
//!                              (whiteouts are 0:0 character devices,
//!                              opaque directories carry an xattr)
//!   layers/<diffid-hex>/tar    the layer's recorded tar headers: with the
//!                              files they rebuild the exact layer tar
//!                              (`save`, and the flattening fallback)
//!   layers/<diffid-hex>/size   "<tar bytes> <file bytes>"
//!   images/<id-hex>/config     the configuration JSON as loaded
//!   repositories               one "REF ID" line per tag
//!
//! Everything that adds or removes an image, a tag or a layer does it
//! under the state lock; new layers and images are made in temporaries
//! and renamed into place.

use crate::engine::json::{self, J};
use crate::engine::state::Root;
use crate::engine::util::{self, join, read_file, remove_tree, write_atomic, Ctx, Error, Kind, Res};
use crate::sys;
use alloc::vec::Vec;

/// `localhost/`, where short names live (and `localhost`, a slice of it).
pub const LOCALHOST: &[u8] = b"localhost/";

/// An image's configuration as `run`, `images` and `history` use it,
/// read from its JSON each time (no second, pre-parsed copy to keep).
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Meta {
    pub created: i64,
    pub entrypoint: Vec<Vec<u8>>,
    pub cmd: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub workdir: Vec<u8>,
    pub user: Vec<u8>,
    /// Diff IDs (hex), base layer first (empty for one without `sha256:`).
    pub layers: Vec<Vec<u8>>,
}

impl Meta {
    /// An empty one made at `created` (one site left: import; inlined).
    pub fn at(created: i64) -> Meta {
        Meta { created, ..Meta::default() }
    }

    /// What a configuration (JSON text) says; None if it is not JSON.
    #[inline(never)]
    pub fn of(conf: &[u8]) -> Option<Meta> {
        let c = json::parse(conf)?;
        let cc = c.get(b"config").unwrap_or(J::NULL);
        // (keys: slices of one literal)
        let t = crate::engine::image::KEYS;
        let mut layers = c.get(b"rootfs").unwrap_or(J::NULL).strs_at(&t[0..8]);
        for d in &mut layers {
            *d = d.strip_prefix(b"sha256:").unwrap_or_default().to_vec();
        }
        // (a literal: no drop of the fields it replaces)
        Some(Meta {
            created: parse_time(&c.str_at(b"created")),
            entrypoint: cc.strs_at(&t[8..18]),
            cmd: cc.strs_at(&t[32..35]),
            env: cc.strs_at(&t[35..38]),
            workdir: cc.str_at(&t[18..28]),
            user: cc.str_at(&t[28..32]),
            layers,
        })
    }
}

pub fn layers_dir(root: &Root) -> Vec<u8> {
    join(&root.dir, b"layers")
}

pub fn layer(root: &Root, hex: &[u8]) -> Vec<u8> {
    join(&layers_dir(root), hex)
}

pub fn meta(root: &Root, id: &[u8]) -> Res<Meta> {
    Ok(image(root, id)?.0)
}

/// An image's metadata and configuration JSON.
#[inline(never)]
pub fn image(root: &Root, id: &[u8]) -> Res<(Meta, Vec<u8>)> {
    let c = read_file(&join(&root.image(id), b"config")).unwrap_or_default();
    match Meta::of(&c) {
        Some(m) => Ok((m, c)),
        None => Err(no_such(&id[..id.len().min(12)])),
    }
}

/// Bytes of the files of `layers`: an image's size.
#[inline(never)]
pub fn size(root: &Root, layers: &[Vec<u8>]) -> u64 {
    let mut n = 0;
    for l in layers {
        n += layer_size(root, l).1;
    }
    n
}

/// `<tar bytes, file bytes>` of a layer.
pub fn layer_size(root: &Root, hex: &[u8]) -> (u64, u64) {
    let b = read_file(&join(&layer(root, hex), b"size")).unwrap_or_default();
    let mut f = util::fields(&b, b' ');
    let t = f.next().and_then(util::parse_u64).unwrap_or(0);
    (t, f.next().and_then(util::parse_u64).unwrap_or(0))
}

// ------------------------------------------------------------ references

/// Where the last component of a path (or the name part of a reference)
/// begins: after its last `/`, or 0.
#[inline(never)]
pub fn after_slash(p: &[u8]) -> usize {
    p.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1)
}

/// `NAME[:TAG]` with `latest` by default (a `:` after the last `/` is a tag).
pub fn normalize(r: &[u8]) -> Vec<u8> {
    let mut v = r.to_vec();
    let slash = after_slash(r);
    if !r[slash..].contains(&b':') {
        v.extend_from_slice(b":latest");
    }
    v
}

/// A reference docker would accept: lower-case path components of
/// `[a-z0-9._-]` (a registry host may carry a port), a tag of
/// `[A-Za-z0-9_.-]`, at most 128 characters of tag.
/// A tag's characters: letters, digits and `._-`.
fn word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._-".contains(&c)
}

pub fn valid_ref(r: &[u8]) -> bool {
    let (name, tag) = split_ref(r);
    // components: non-empty, starting alphanumeric; the first of several
    // (a registry host) may have upper case and a port
    let mut host = name.contains(&b'/');
    let mut start = true;
    for &x in name {
        if x == b'/' {
            if start {
                return false;
            }
            (start, host) = (true, false);
            continue;
        }
        // a tag's characters, upper case only in the host, which may have `:`
        if (start && !x.is_ascii_alphanumeric()) || !(word(x) && (host || !x.is_ascii_uppercase()) || host && x == b':') {
            return false;
        }
        start = false;
    }
    for &c in tag {
        if !word(c) {
            return false;
        }
    }
    !start && r.len() <= 255 && !tag.is_empty() && tag.len() <= 128
}

/// The tags file: (ref, id) pairs in the order they were made.
pub fn tags(root: &Root) -> Vec<(Vec<u8>, Vec<u8>)> {
    let b = read_file(&join(&root.dir, b"repositories")).unwrap_or_default();
    let mut v = Vec::new();
    for line in util::fields(&b, b'\n') {
        if let Some(sp) = line.iter().position(|&c| c == b' ') {
            v.push((line[..sp].to_vec(), line[sp + 1..].to_vec()));
        }
    }
    v
}

/// The tags of image `id`, in the order they were made.
#[inline(never)]
pub fn tags_of(root: &Root, id: &[u8]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (t, i) in tags(root) {
        if i == id {
            v.push(t);
        }
    }
    v
}

/// One "REF ID" line of the tags file, appended to `b`.
#[inline(never)]
fn tag_line(b: &mut Vec<u8>, r: &[u8], id: &[u8]) {
    b.extend_from_slice(r);
    b.push(b' ');
    b.extend_from_slice(id);
    b.push(b'\n');
}

/// Replaces the tags file with `b` (its lines by `tag_line`).
fn write_tags(root: &Root, b: &[u8]) -> Res<()> {
    let p = join(&root.dir, b"repositories");
    write_atomic(&p, b).ctx(m!("write"), &p)
}

/// The IDs of every stored image.
pub fn ids(root: &Root) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (n, _) in sys::list_dir(&root.images()).unwrap_or_default() {
        if n.len() == 64 && sys::lstat(&join(&root.image(&n), b"config")).is_ok() {
            v.push(n);
        }
    }
    v
}

/// What a reference names. `Ok((id, Some(tag)))` for a tag, `(id, None)`
/// for an ID (`sha256:HEX`, or a unique prefix of at least 4 hex digits).
/// A short name (`app`) finds `localhost/app:latest` or
/// `docker.io/library/app:latest` when exactly one of them exists.
pub fn resolve(root: &Root, r: &[u8]) -> Res<(Vec<u8>, Option<Vec<u8>>)> {
    let t = tags(root);
    let full = normalize(r);
    let find = |w: &[u8]| t.iter().find(|(x, _)| x == w);
    let mut found = find(&full);
    let first = &r[..r.iter().position(|&c| c == b'/').unwrap_or(0)];
    if found.is_none() && !(first.contains(&b'.') || first.contains(&b':') || first == &LOCALHOST[..9]) {
        // bare names live in docker.io/library/, user/name in docker.io/
        let hub: &[u8] = if first.is_empty() { b"docker.io/library/" } else { &b"docker.io/library/"[..10] };
        for k in 0..2 {
            let mut want = if k == 0 { LOCALHOST } else { hub }.to_vec();
            want.extend_from_slice(&full);
            if let Some(e) = find(&want) {
                if found.is_some() {
                    return Err(ambiguous(r));
                }
                found = Some(e);
            }
        }
    }
    if let Some((tag, id)) = found {
        return Ok((id.clone(), Some(tag.clone())));
    }
    let hex = r.strip_prefix(b"sha256:").unwrap_or(r);
    let mut lower_hex = hex.len() >= 4;
    for c in hex {
        lower_hex &= c.is_ascii_digit() || (b'a'..=b'f').contains(c);
    }
    if lower_hex {
        let mut m: Option<Vec<u8>> = None;
        for i in ids(root) {
            if i.starts_with(hex) {
                if m.is_some() {
                    return Err(ambiguous(r));
                }
                m = Some(i);
            }
        }
        if let Some(i) = m {
            return Ok((i, None));
        }
    }
    Err(no_such(r))
}

#[cold]
#[inline(never)]
fn no_such(r: &[u8]) -> Error {
    Error::quoted(m!("image"), r, m!("no such image")).of(Kind::NoSuch)
}

#[cold]
#[inline(never)]
fn ambiguous(r: &[u8]) -> Error {
    Error::quoted(m!("image"), r, m!("is ambiguous"))
}

/// Points `r` (normalized) at `id`, moving it from another image if it
/// had one. Call under the state lock.
pub fn set_tag(root: &Root, r: &[u8], id: &[u8]) -> Res<()> {
    let mut b = Vec::new();
    for (x, i) in tags(root) {
        if x != r {
            tag_line(&mut b, &x, &i);
        }
    }
    tag_line(&mut b, r, id);
    write_tags(root, &b)
}

/// `tag SOURCE TARGET`.
#[inline(never)]
pub fn tag(root: &Root, src: &[u8], target: &[u8]) -> Res<()> {
    let full = normalize(target);
    if !valid_ref(&full) {
        return Err(Error::quoted(m!("invalid reference"), target, m!("use NAME[:TAG] in lower case")));
    }
    let _l = root.lock()?;
    let r = resolve(root, src);
    let (id, _) = r.as_ref().map_err(|e| *e)?;
    set_tag(root, &full, id)
}

/// The containers whose image is `id`.
fn users(root: &Root, id: &[u8]) -> Option<Vec<u8>> {
    let all = crate::engine::state::all(root);
    for c in &all {
        if c.image_id == id {
            return Some(c.short_id().to_vec());
        }
    }
    None
}

/// `rmi REF`: untags; an image left without tags that no container uses
/// goes, with every layer no other image uses. Lines for the user go to
/// `say` ("Untagged: REF", "Deleted: sha256:ID").
#[inline]
pub fn remove(root: &Root, r: &[u8], say: &mut dyn FnMut(&[u8], &[u8])) -> Res<()> {
    let _l = root.lock()?;
    let (id, tag) = resolve(root, r)?;
    // what goes is the tag, or every tag of an ID; `mine`: those left
    let (mut b, mut gone, mut mine) = (Vec::new(), Vec::new(), 0);
    for (x, i) in tags(root) {
        if tag.as_ref().map_or(i == id, |g| x == *g) {
            gone.push(x);
        } else {
            mine += (i == id) as usize;
            tag_line(&mut b, &x, &i);
        }
    }
    if mine == 0 {
        if let Some(c) = users(root, &id) {
            return Err(Error::quoted(m!("image"), r, m!("in use by container ")).append(&c).more(m!(" (remove it first)")));
        }
    }
    for x in &gone {
        say(b"Untagged: ", x);
    }
    if !gone.is_empty() {
        write_tags(root, &b)?;
    }
    if mine == 0 {
        let mut m = meta(root, &id);
        let m = m.as_mut().map_err(|e| *e)?;
        let p = root.image(&id);
        remove_tree(&p).ctx(m!("remove"), &p)?;
        say(b"Deleted: sha256:", &id);
        free_layers(root, &m.layers);
    }
    Ok(())
}

/// Removes each of `layers` that no stored image uses. Under the lock.
#[inline(never)]
pub fn free_layers(root: &Root, layers: &[Vec<u8>]) {
    let mut used: Vec<Vec<u8>> = Vec::new();
    for id in ids(root) {
        if let Ok(m) = &mut meta(root, &id) {
            used.extend(core::mem::take(&mut m.layers));
        }
    }
    for l in layers {
        if !used.contains(l) {
            let _ = remove_tree(&layer(root, l));
        }
    }
}

/// Docker's `<none>` parts of a row: (repository, tag) of a ref.
#[inline(never)]
pub fn split_ref(r: &[u8]) -> (&[u8], &[u8]) {
    let slash = after_slash(r);
    match r[slash..].iter().position(|&c| c == b':') {
        Some(p) => (&r[..slash + p], &r[slash + p + 1..]),
        None => (r, &b":latest"[1..]),
    }
}

/// Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05.123Z",
/// or with a +hh:mm offset); 0 if it isn't one.
pub fn parse_time(t: &[u8]) -> i64 {
    let d = |i: usize, n: usize| t.get(i..i + n).and_then(util::parse_u64).map_or(-1, |v| v as i64);
    // year (4 digits at 0), then month, day, hour, minute, second (2 at 5, 8, ..)
    let mut f = [0i64; 6];
    for (k, v) in f.iter_mut().enumerate() {
        *v = if k == 0 { d(0, 4) } else { d(2 + 3 * k, 2) };
        if *v < 0 {
            return 0;
        }
    }
    let [y, m, dd, h, mi, s] = f;
    // days from civil (H. Hinnant), the inverse of util::rfc3339: years
    // from March, shifted by one 400-year era (146097 days) so that they
    // are never negative and plain division floors
    let y2 = if m <= 2 { y + 399 } else { y + 400 };
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let days = y2 * 365 + y2 / 4 - y2 / 100 + y2 / 400 + doy - 719468 - 146097;
    let mut secs = days * 86400 + h * 3600 + mi * 60 + s;
    // an offset after the fraction: local = UTC + offset
    let mut i = 19;
    while t.get(i).is_some_and(|c| *c == b'.' || c.is_ascii_digit()) {
        i += 1;
    }
    if let Some(&sign @ (b'+' | b'-')) = t.get(i) {
        let off = d(i + 1, 2) * 3600 + d(i + 4, 2) * 60;
        if off >= 0 {
            secs += if sign == b'+' { -off } else { off };
        }
    }
    secs
}

/// Removes a temporary that nobody holds (see image::reclaim).
pub fn reclaim(root: &Root) {
    for (n, _) in sys::list_dir(&layers_dir(root)).unwrap_or_default() {
        if n.starts_with(b".tmp-") {
            let p = layer(root, &n);
            if crate::engine::state::lock_path(&p, false).is_ok() {
                let _ = remove_tree(&p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        assert_eq!(normalize(b"app"), b"app:latest");
        assert_eq!(normalize(b"localhost:5000/app"), b"localhost:5000/app:latest");
        assert_eq!(normalize(b"a/b:v1"), b"a/b:v1");
        assert!(valid_ref(b"localhost/app:latest"));
        assert!(valid_ref(b"localhost:5000/a/b:v1.2"));
        assert!(valid_ref(b"busybox:latest"));
        assert!(!valid_ref(b"Busybox:latest"));
        assert!(!valid_ref(b"a/../b:latest"));
        assert!(!valid_ref(b":latest"));
        assert!(!valid_ref(b"a:"));
        assert!(!valid_ref(b"a b:latest"));
        assert_eq!(split_ref(b"localhost:5000/app:v1"), (&b"localhost:5000/app"[..], &b"v1"[..]));
    }

    #[test]
    fn template_keys() {
        let t = crate::engine::image::KEYS;
        let k: [&[u8]; 7] = [&t[0..8], &t[8..18], &t[32..35], &t[35..38], &t[18..28], &t[28..32], &t[38..50]];
        assert_eq!(k, [&b"diff_ids"[..], b"Entrypoint", b"Cmd", b"Env", b"WorkingDir", b"User", b"architecture"]);
        let m = crate::engine::save::MANIFEST_TPL;
        assert_eq!([&m[3..9], &m[16..24], &m[29..35]], [&b"Config"[..], b"RepoTags", b"Layers"]);
    }

    #[test]
    fn times() {
        for s in [0i64, 1_700_000_000, 951_782_400, 4_102_444_799] {
            assert_eq!(parse_time(&util::rfc3339(s)), s);
        }
        assert_eq!(parse_time(b"2024-01-02T03:04:05.123456789Z"), parse_time(b"2024-01-02T03:04:05Z"));
        assert_eq!(parse_time(b"2024-01-02T05:04:05+02:00"), parse_time(b"2024-01-02T03:04:05Z"));
        assert_eq!(parse_time(b"garbage"), 0);
        // Go's zero time (year 1, before an era boundary)
        assert_eq!(parse_time(b"0001-01-01T00:00:00Z"), -62135596800);
        assert_eq!(parse_time(b"1969-12-31T23:59:59Z"), -1);
    }

    #[test]
    fn meta_round_trip() {
        // what import and commit write is what run reads back
        let m = Meta {
            created: 1_700_000_005,
            entrypoint: vec![b"/e".to_vec()],
            cmd: vec![b"a b".to_vec(), b"".to_vec()],
            env: vec![b"K=V".to_vec()],
            workdir: b"/w".to_vec(),
            user: b"1:2".to_vec(),
            layers: vec![b"ab".to_vec(), b"cd".to_vec()],
        };
        let c = crate::engine::image::config_json(&m, b"", b"", b"x");
        assert_eq!(Meta::of(&c), Some(m));
        assert_eq!(Meta::of(b"{\"created\":"), None);
        let m = Meta::of(br#"{"rootfs":{"diff_ids":["sha256:ab","cd"]},"config":{"Cmd":null}}"#).unwrap();
        assert_eq!((m.created, m.layers, m.cmd), (0, vec![b"ab".to_vec(), vec![]], vec![]));
    }
}

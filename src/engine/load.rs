//! `load`: images from what `docker save`, `podman save` and `skopeo copy`
//! write (docker-archive, the newer hybrid archive, oci-archive, an OCI
//! layout directory), as one stream that is never held whole.
//!
//! Archive entries arrive in any order, and the JSON that says which blob
//! is which may come last. So each entry is handled as it passes: small
//! JSON documents are kept; everything else is taken for a layer, hashed
//! as stored, decompressed by its magic, hashed again (the diff ID) and
//! extracted, hostile-safe, into a temporary directory of its own. Then
//! the manifests pick the images, every digest, size and diff ID is
//! checked, and the layers, configurations and tags are renamed into the
//! store under the state lock, a layer the store already has being
//! dropped. Any error removes the temporary directory: nothing is left.

use crate::engine::gzip::{self, Gunzip};
use crate::engine::json::{self, J};
use crate::engine::save::MANIFEST_TPL;
use crate::engine::sha256::Hashing;
use crate::engine::state::{lock_path, Root};
use crate::engine::store::{self, Meta};
use crate::engine::stream::{self, FdSource, Peek, Source};
use crate::engine::tar;
use crate::engine::util::{self, join, mkdir_all, remove_tree, write_atomic, Ctx, Error, Msg, Res};
use crate::sys::{self, fd::Owned};
use alloc::vec::Vec;

/// Literals that others are slices of (each byte of .rodata once):
/// `blobs/sha256`, `does not match its digest`, `load: manifest`,
/// `manifest.json`, `.json`, `index.json`.
const BLOBS: &[u8] = b"blobs/sha256/";
pub const MANIFEST: &[u8] = b"load: manifest.json";
const INDEX: &[u8] = b"load: index.json";
const LAYER: &str = "load: layer";

/// The largest JSON document taken (manifests, configs, indexes).
const DOC_MAX: usize = 4 << 20;

#[cfg(target_arch = "aarch64")]
pub const ARCH: &[u8] = b"arm64";
#[cfg(not(target_arch = "aarch64"))]
pub const ARCH: &[u8] = b"amd64";

/// A stored file of the archive: a JSON document (kept), or a blob taken
/// for a layer, extracted into `tmp/<n>` (`n` its index).
struct Blob {
    name: Vec<u8>,
    doc: bool,
    /// sha256 and size of the bytes as stored (maybe compressed)
    stored: Vec<u8>,
    stored_size: u64,
    /// a document's text; a layer's diff ID (sha256 of the uncompressed tar)
    body: Vec<u8>,
    zstd: bool,
}

struct Loader<'t> {
    tmp: &'t [u8],
    blobs: Vec<Blob>,
    /// in-archive symlinks (docker-archive's `<v1id>/layer.tar`)
    links: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One image found: its configuration, what `run` needs of it, layers
/// (indexes into `blobs`, base first) and tags.
struct Found<'a> {
    /// the configuration (its body and digest, the image ID)
    conf: &'a Blob,
    /// its diff IDs (hex), base first
    diffs: Vec<Vec<u8>>,
    layers: Vec<usize>,
    refs: Vec<Vec<u8>>,
}

/// A `load: <why>` error (one out-of-line constructor for them all).
#[cold]
#[inline(never)]
fn bad(why: Msg) -> Error {
    Error::at(&MANIFEST[..4], why)
}

/// Whether `s` is a sha256 in hex.
#[inline(never)]
fn hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|c| c.is_ascii_hexdigit())
}

/// `p` without empty and `.` components; a `..` takes one off (or, when
/// `refuse`, is an error: an archive's own names).
#[inline(never)]
fn clean(p: &[u8], refuse: bool) -> Res<Vec<u8>> {
    let mut n = Vec::new();
    for c in util::fields(p, b'/') {
        match c {
            b"" | b"." => {}
            b".." if refuse => return Err(bad(m!("path contains \"..\" (refused)"))),
            b".." => n.truncate(n.iter().rposition(|&x| x == b'/').unwrap_or(0)),
            _ => {
                if !n.is_empty() {
                    n.push(b'/');
                }
                n.extend_from_slice(c);
            }
        }
    }
    Ok(n)
}

impl Loader<'_> {
    /// One stored file of the archive (or of the layout directory).
    fn entry(&mut self, name: Vec<u8>, src: &mut dyn Source) -> Res<()> {
        let mut stored = Hashing::new(src);
        let mut p = Peek::new(&mut stored);
        let p = p.as_mut().map_err(|e| *e)?;
        let head = p.head();
        // (JSON by name: what may not start with `{` or `[`; `oci-layout`
        // always does)
        let json_name = name.ends_with(&MANIFEST[14..]) || name.ends_with(b"/json") || name.ends_with(b"/VERSION") || name == b"repositories";
        let zstd = matches!(gzip::magic(head), gzip::Kind::Zstd);
        let doc = json_name || head.first().is_some_and(|&c| c == b'{' || c == b'[');
        let body = if doc {
            stream::read_all(p, DOC_MAX, &name)?
        } else if !zstd {
            extract_layer(&tmp_dir(self.tmp, self.blobs.len()), p)?
        } else {
            Vec::new()
        };
        // (a zstd blob is refused only if an image uses it: drained here,
        // hashed, noted)
        stream::drain(&mut stored)?;
        let stored_size = stored.n;
        self.blobs.push(Blob { name, doc, stored: digest(&mut stored), stored_size, body, zstd });
        Ok(())
    }

    /// An OCI layout directory (`fd`, at `p`): its index (or manifest)
    /// and blobs/sha256/*. (Its `oci-layout` says nothing we use.)
    #[inline(never)]
    fn layout(&mut self, fd: sys::Fd, p: &[u8]) -> Res<()> {
        for k in 0..2 {
            let n: &[u8] = if k == 0 { &INDEX[6..] } else { &MANIFEST[6..] };
            if let Ok(f) = sys::openat(fd, n, sys::O_RDONLY | sys::O_NOFOLLOW, 0) {
                self.entry(n.to_vec(), &mut FdSource(f.raw()))?;
            }
        }
        let bdir = join(p, &BLOBS[..12]);
        for (n, _) in sys::list_dir(&bdir).unwrap_or_default() {
            let bn = join(&BLOBS[..12], &n);
            let f = sys::openat(fd, &bn, sys::O_RDONLY | sys::O_NOFOLLOW, 0).ctx(m!("open"), &n)?;
            if sys::fstat(f.raw()).is_ok_and(|s| s.kind() == sys::S_IFREG) {
                self.entry(bn, &mut FdSource(f.raw()))?;
            }
        }
        Ok(())
    }

    /// An archive stream (maybe gzip-compressed as a whole) on `fd`.
    #[inline(never)]
    fn archive(&mut self, fd: sys::Fd) -> Res<()> {
        let mut src = FdSource(fd);
        let mut p = Peek::new(&mut src)?;
        if p.head().is_empty() {
            return Err(bad(m!("no input (use -i FILE or stdin)")));
        }
        let mut gz = None;
        let outer = unzip(&mut p, &mut gz);
        let mut r = tar::Reader::new(outer);
        loop {
            // (the entry is used inside next's result, not copied out of it)
            let mut n = r.next();
            let e = match &mut n {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return Err(*e),
            };
            let name = clean(&e.path, true)?;
            match e.ty {
                b'0' | 0 | b'7' => {
                    let mut es = r.source();
                    self.entry(name, &mut es)?;
                }
                b'2' => self.links.push((name, core::mem::take(&mut e.link))),
                _ => {}
            }
        }
        Ok(())
    }

    /// The document or layer blob `name` (through in-archive links).
    #[inline(never)]
    fn find(&self, name: &[u8], doc: bool) -> Option<usize> {
        let name = self.follow(name)?;
        self.blobs.iter().position(|b| b.name == name && b.doc == doc)
    }

    fn doc(&self, name: &[u8]) -> Option<&Blob> {
        self.find(name, true).map(|i| &self.blobs[i])
    }

    /// An in-archive symlink's target (relative to its directory).
    fn follow(&self, name: &[u8]) -> Option<Vec<u8>> {
        let mut n = name.to_vec();
        for _ in 0..8 {
            let Some((_, t)) = self.links.iter().find(|(l, _)| *l == n) else { break };
            n.truncate(store::after_slash(&n));
            n.extend_from_slice(t);
            // `..` against the link's directory, then made safe
            n = clean(&n, false).ok()?;
        }
        Some(n)
    }

    /// The document or layer blob `ln` (`what` in errors), checked against
    /// the digest its name holds (a layer's `blobs/sha256/<hex>`, a
    /// document's `[...]/<hex>[.json]`) and, from an OCI descriptor, its size.
    #[inline(never)]
    fn blob(&self, ln: &[u8], what: Msg, doc: bool, size: Option<u64>) -> Res<usize> {
        let base = &ln[store::after_slash(ln)..];
        let stem = base.strip_suffix(&MANIFEST[14..]).unwrap_or(base);
        let named = if doc { Some(stem).filter(|s| hex64(s)) } else { ln.strip_prefix(BLOBS) };
        let why = match self.find(ln, doc) {
            None => m!("is missing from the archive"),
            Some(i) => {
                let l = &self.blobs[i];
                if !(named.is_some_and(|h| h != l.stored) || size.is_some_and(|s| s != l.stored_size)) {
                    return Ok(i);
                }
                if size.is_some() {
                    m!("does not match its digest or size")
                } else {
                    m!("does not match its digest")
                }
            }
        };
        Err(Error::quoted(what, ln, why))
    }

    /// The blob an OCI descriptor names (`blobs/sha256/<hex>`), checked.
    #[inline(never)]
    fn desc(&self, d: &J, doc: bool) -> Res<usize> {
        let dg = d.str_at(b"digest");
        let hex = dg.strip_prefix(b"sha256:").filter(|h| hex64(h)).ok_or_else(|| bad(m!("a descriptor has no sha256 digest")))?;
        let size = d.get(b"size").and_then(|x| x.num()).unwrap_or(-1);
        let what = if doc { m!("load: blob") } else { m!("load: layer") };
        self.blob(&join(&BLOBS[..12], hex), what, doc, Some(size as u64))
    }

    #[inline(always)]
    fn desc_doc(&self, d: &J) -> Res<&Blob> {
        Ok(&self.blobs[self.desc(d, true)?])
    }

    /// The images of a docker-archive (and the hybrid one).
    fn docker<'a>(&'a self, m: &J, out: &mut Vec<Found<'a>>) -> Res<()> {
        for e in m.items() {
            let cname = e.get(&MANIFEST_TPL[3..9]).and_then(|x| x.str()).ok_or_else(|| Error::at(MANIFEST, m!("an image has no Config")))?;
            let cname = clean(&cname, true)?;
            // `<hex>.json` and `blobs/sha256/<hex>` name their own digest.
            let conf = &self.blobs[self.blob(&cname, m!("load: config"), true, None)?];
            let mut layers = Vec::new();
            for l in e.strs_at(&MANIFEST_TPL[29..35]) {
                let ln = clean(&l, true)?;
                layers.push(self.blob(&ln, m!("load: layer"), false, None)?);
            }
            let mut refs = e.strs_at(&MANIFEST_TPL[16..24]);
            for t in &mut refs {
                *t = store::normalize(t);
            }
            self.found(out, conf, layers, refs)?;
        }
        Ok(())
    }

    /// The images of an OCI layout: each manifest of index.json, an index
    /// in it resolved to this machine's platform.
    #[inline(never)]
    fn oci<'a>(&'a self, idx: &J, base: &[u8], out: &mut Vec<Found<'a>>) -> Res<()> {
        for d in idx.get(b"manifests").unwrap_or(J::NULL).items() {
            let ann = d.get(b"annotations").unwrap_or(J::NULL);
            let mut n = ann.str_at(b"io.containerd.image.name");
            if n.is_empty() {
                n = ann.str_at(b"org.opencontainers.image.ref.name");
            }
            let mut refs = Vec::new();
            if !n.is_empty() {
                if n.contains(&b'/') || n.contains(&b':') {
                    refs.push(store::normalize(&n));
                } else if !base.is_empty() {
                    // a bare tag (skopeo's oci:DIR:TAG): the directory's name
                    let mut r = join(&store::LOCALHOST[..9], base);
                    r.push(b':');
                    r.extend_from_slice(&n);
                    refs.push(r);
                }
            }
            let mut doc = self.desc_doc(&d)?;
            let mut depth = 0;
            loop {
                let m = json::parse(&doc.body).ok_or_else(|| Error::at(&MANIFEST[..14], m!("is not valid JSON")))?;
                if let Some(ms) = m.get(b"manifests") {
                    // an index: this machine's platform
                    depth += 1;
                    let mut pick = None;
                    for x in ms.items() {
                        let p = x.get(b"platform").unwrap_or(J::NULL);
                        // (absent or empty: any)
                        let (arch, os) = (p.str_at(&crate::engine::image::KEYS[38..50]), p.str_at(b"os"));
                        if (arch.is_empty() || arch == ARCH) && (os.is_empty() || os == b"linux") {
                            pick = Some(x);
                            break;
                        }
                    }
                    match pick {
                        Some(x) if depth < 4 => doc = self.desc_doc(&x)?,
                        _ => return Err(bad(m!("no manifest for linux/")).append(ARCH)),
                    }
                    continue;
                }
                let cd = m.get(b"config").ok_or_else(|| Error::at(&MANIFEST[..14], m!("has no config")))?;
                let conf = self.desc_doc(&cd)?;
                let mut layers = Vec::new();
                for ld in m.get(b"layers").unwrap_or(J::NULL).items() {
                    layers.push(self.desc(&ld, false)?);
                }
                self.found(out, conf, layers, refs)?;
                break;
            }
        }
        Ok(())
    }
    /// An image: its configuration, checked against its layers.
    #[inline(never)]
    fn found<'a>(&self, out: &mut Vec<Found<'a>>, conf: &'a Blob, layers: Vec<usize>, refs: Vec<Vec<u8>>) -> Res<()> {
        let meta = Meta::of(&conf.body).ok_or_else(|| Error::text(m!("load: config: is not valid JSON")))?;
        if meta.layers.len() != layers.len() {
            return Err(Error::text(m!("load: config: lists a different number of layers than the manifest")));
        }
        for (d, &i) in meta.layers.iter().zip(&layers) {
            let l = &self.blobs[i];
            // (a zstd layer has no diff ID: its reason first)
            let why = if l.zstd {
                m!("is zstd-compressed, which mydocker does not read (save it with gzip or uncompressed layers)")
            } else if *d != l.body {
                m!("does not match its diff ID in the image configuration")
            } else {
                continue;
            };
            return Err(Error::quoted(m!("load: layer"), &l.name, why));
        }
        out.push(Found { conf, diffs: meta.layers, layers, refs });
        Ok(())
    }
}

/// The hex sha256 of what went through `h` (which is used up).
#[inline(never)]
pub fn digest(h: &mut Hashing) -> Vec<u8> {
    util::hex(&h.sha.finish())
}

/// `p` as it is, or through gunzip (kept in `gz`) if it starts like gzip.
/// Boxed: a Gunzip is 4 KB, which in the callers' frames put every other
/// local out of a short stack displacement.
#[inline(never)]
fn unzip<'a>(p: &'a mut Peek<'_>, gz: &'a mut Option<alloc::boxed::Box<Gunzip<'a>>>) -> &'a mut dyn Source {
    if let gzip::Kind::Gzip = gzip::magic(p.head()) {
        &mut **gz.insert(alloc::boxed::Box::new(Gunzip::new(p)))
    } else {
        p
    }
}

/// `tmp/<n>`: where blob `n` is extracted.
#[inline(never)]
fn tmp_dir(tmp: &[u8], n: usize) -> Vec<u8> {
    join(tmp, &util::num(n as u64))
}

/// Extracts a layer tar (plain or gzip; zstd refused) into `dir/root`,
/// recording its headers in `dir/tar` and its sizes in `dir/size` (tar
/// bytes, file bytes). Returns its diff ID (hex).
pub fn extract_layer(dir: &[u8], src: &mut dyn Source) -> Res<Vec<u8>> {
    let mut p = Peek::new(src);
    let p = p.as_mut().map_err(|e| *e)?;
    let kind = gzip::magic(p.head());
    if let gzip::Kind::Zstd = kind {
        return Err(Error::at(&LAYER.as_bytes()[6..], m!("is zstd-compressed (not supported)")));
    }
    let rootp = join(dir, b"root");
    mkdir_all(&rootp, 0o755).ctx(m!("create"), &rootp)?;
    let rec_p = join(dir, b"tar");
    let rec = sys::open(&rec_p, sys::O_WRONLY | sys::O_CREAT | sys::O_EXCL, 0o600).ctx(m!("create"), &rec_p)?;
    let rfd = crate::engine::commit::open_dir(&rootp)?;
    let mut gz = None;
    let plain = unzip(p, &mut gz);
    let mut diff = Hashing::new(plain);
    let st = {
        let mut r = tar::Reader::new(&mut diff);
        r.record(Some(rec.raw()))?;
        tar::extract(&mut r, rfd.raw(), tar::Whiteouts::Overlay)?
    };
    stream::drain(&mut diff)?;
    drop((rec, rfd));
    let mut s = util::num(diff.n);
    s.push(b' ');
    util::push_num(&mut s, st.bytes);
    let sp = join(dir, b"size");
    write_atomic(&sp, &s).ctx(m!("write"), &sp)?;
    Ok(digest(&mut diff))
}

/// Puts one image's layers, configuration and tags into the store. Under
/// the state lock. `dirs`: the temporary directories (`tmp/<n>`, as
/// `extract_layer` made them) of the last `dirs.len()` layers (those
/// before are in the store already).
pub fn install(root: &Root, tmp: &[u8], config: &[u8], id: &[u8], layers: &[Vec<u8>], dirs: &[usize], refs: &[Vec<u8>]) -> Res<()> {
    // (`layers/` exists: `tmp` is in it)
    for (l, &n) in layers[layers.len() - dirs.len()..].iter().zip(dirs) {
        let dest = store::layer(root, l);
        let dir = tmp_dir(tmp, n);
        // a layer the store has (not empty: ENOTEMPTY), or one an image
        // before this one moved (ENOENT), stays
        match sys::rename(&dir, &dest) {
            Err(sys::ENOENT | libc::ENOTEMPTY | libc::EEXIST) => {}
            r => r.ctx(m!("rename into"), &dest)?,
        }
    }
    let img = root.image(id);
    if sys::lstat(&join(&img, b"config")).is_err() {
        let t = join(tmp, b"image");
        let _ = remove_tree(&t);
        sys::mkdir(&t, 0o700).ctx(m!("create"), &t)?;
        write_atomic(&join(&t, b"config"), config).ctx(m!("write"), &t)?;
        let _ = remove_tree(&img);
        sys::rename(&t, &img).ctx(m!("rename into"), &img)?;
    }
    for r in refs {
        store::set_tag(root, r, id)?;
    }
    Ok(())
}

/// A temporary directory under `layers/`, locked while we use it (a
/// killed load leaves it to the next one to reclaim).
pub fn temp(root: &Root) -> Res<(Vec<u8>, crate::engine::state::Lock)> {
    let _l = root.lock()?;
    let ld = store::layers_dir(root);
    mkdir_all(&ld, 0o700).ctx(m!("create"), &ld)?;
    store::reclaim(root);
    let mut rnd = [0u8; 6];
    sys::random(&mut rnd);
    let mut tmp = join(&ld, b".tmp-");
    tmp.extend_from_slice(&util::hex(&rnd));
    sys::mkdir(&tmp, 0o700).ctx(m!("create"), &tmp)?;
    let lock = lock_path(&tmp, false).ctx(m!("lock"), &tmp)?;
    Ok((tmp, lock))
}

/// `load [-i PATH]`: `say` gets each "Loaded image: REF" line's REF (or
/// `sha256:ID` for an image without tags, with `id` true). Its errors
/// take exit code 1 from its only caller (cli::verbs).
#[inline]
pub fn load(root: &Root, input: Option<&[u8]>, say: &mut dyn FnMut(&[u8], bool)) -> Res<()> {
    if sys::geteuid() != 0 {
        return Err(bad(m!("mydocker must run as root")));
    }
    let (tmp, _held) = temp(root)?;
    let r = load_into(root, &tmp, input, say);
    let _ = remove_tree(&tmp);
    r
}

#[inline(never)]
fn load_into(root: &Root, tmp: &[u8], input: Option<&[u8]>, say: &mut dyn FnMut(&[u8], bool)) -> Res<()> {
    // (boxed: reached through a register, not a long stack displacement)
    let mut ld = alloc::boxed::Box::new(Loader { tmp, blobs: Vec::new(), links: Vec::new() });
    let mut base: &[u8] = b"";
    let file: Option<Owned> = match input {
        Some(p) => {
            let f = sys::open(p, sys::O_RDONLY, 0).ctx(m!("open"), p)?;
            let mut b = p;
            while let [rest @ .., b'/'] = b {
                b = rest;
            }
            b = &b[store::after_slash(b)..];
            b = b.strip_suffix(b".tar").unwrap_or(b);
            if store::valid_ref(&store::normalize(b)) {
                base = b;
            }
            Some(f)
        }
        None => None,
    };
    let fd = file.as_ref().map_or(0, Owned::raw);
    if sys::fstat(fd).is_ok_and(|s| s.is_dir()) {
        ld.layout(fd, input.unwrap_or_default())?;
    } else {
        ld.archive(fd)?;
    }
    let mut found = Vec::new();
    // docker's manifest.json first, else an OCI index.json
    let m = ld.doc(&MANIFEST[6..]);
    let (d, what) = match m.or_else(|| ld.doc(&INDEX[6..])) {
        Some(d) => (d, if m.is_some() { MANIFEST } else { INDEX }),
        None => return Err(bad(m!("no manifest.json or index.json"))),
    };
    let j = json::parse(&d.body).ok_or_else(|| Error::at(what, m!("is not valid JSON")))?;
    if m.is_some() {
        ld.docker(&j, &mut found)?
    } else {
        ld.oci(&j, base, &mut found)?
    }
    if found.is_empty() {
        return Err(bad(m!("the archive holds no image")));
    }
    let _l = root.lock()?;
    for f in &found {
        install(root, tmp, &f.conf.body, &f.conf.stored, &f.diffs, &f.layers, &f.refs)?;
    }
    for f in &found {
        if f.refs.is_empty() {
            let mut s = b"sha256:".to_vec();
            s.extend_from_slice(&f.conf.stored);
            say(&s, true);
        }
        for r in &f.refs {
            say(r, false);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_slices() {
        assert_eq!(&BLOBS[..12], b"blobs/sha256");
        assert_eq!(&MANIFEST[..14], b"load: manifest");
        assert_eq!(&MANIFEST[6..], b"manifest.json");
        assert_eq!(&MANIFEST[14..], b".json");
        assert_eq!(&INDEX[6..], b"index.json");
        assert_eq!(&LAYER.as_bytes()[6..], b"layer");
        assert_eq!(&MANIFEST[..4], b"load");
        assert_eq!(&store::LOCALHOST[..9], b"localhost");
    }
}

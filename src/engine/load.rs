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
use crate::engine::sha256::{self, Hashing};
use crate::engine::state::{lock_path, Root};
use crate::engine::store::{self, Meta};
use crate::engine::stream::{self, FdSource, Peek, Source};
use crate::engine::tar;
use crate::engine::util::{self, join, mkdir_all, remove_tree, write_atomic, Ctx, Error, Res};
use crate::sys::{self, fd::Owned};
use alloc::vec::Vec;

/// The largest JSON document taken (manifests, configs, indexes).
const DOC_MAX: usize = 4 << 20;

#[cfg(target_arch = "aarch64")]
pub const ARCH: &[u8] = b"arm64";
#[cfg(not(target_arch = "aarch64"))]
pub const ARCH: &[u8] = b"amd64";

/// A blob taken for a layer, extracted into `tmp/<n>`.
struct Blob {
    name: Vec<u8>,
    /// sha256 and size of the bytes as stored (maybe compressed)
    stored: [u8; 64],
    stored_size: u64,
    /// sha256 and size of the uncompressed tar
    diff: [u8; 64],
    tar_size: u64,
    /// bytes of its regular files
    bytes: u64,
    zstd: bool,
}

struct Doc {
    name: Vec<u8>,
    sha: [u8; 64],
    body: Vec<u8>,
}

struct Loader {
    tmp: Vec<u8>,
    docs: Vec<Doc>,
    layers: Vec<Blob>,
    /// in-archive symlinks (docker-archive's `<v1id>/layer.tar`)
    links: Vec<(Vec<u8>, Vec<u8>)>,
}

/// One image found: its configuration, layers (indexes into `layers`,
/// base first) and tags.
struct Found<'a> {
    config: &'a [u8],
    id: [u8; 64],
    layers: Vec<usize>,
    refs: Vec<Vec<u8>>,
}

#[inline(never)]
fn bad(what: &[u8], why: &[u8]) -> Error {
    Error::new(what, why).code(1)
}

fn name_of(p: &[u8]) -> Res<Vec<u8>> {
    let comps = tar::components(p).map_err(|_| bad(b"load", b"path contains \"..\" (refused)"))?;
    let mut n = Vec::new();
    for (i, c) in comps.iter().enumerate() {
        if i > 0 {
            n.push(b'/');
        }
        n.extend_from_slice(c);
    }
    Ok(n)
}

impl Loader {
    /// One stored file of the archive (or of the layout directory).
    fn entry(&mut self, name: Vec<u8>, src: &mut dyn Source) -> Res<()> {
        let mut stored = Hashing::new(src);
        let mut p = Peek::new(&mut stored)?;
        let head = p.head();
        let json_name = name.ends_with(b".json") || name.ends_with(b"/json") || name == b"oci-layout" || name == b"repositories" || name.ends_with(b"/VERSION");
        if json_name || head.first().is_some_and(|&c| c == b'{' || c == b'[') {
            let body = stream::read_all(&mut p, DOC_MAX, &name)?;
            let sha = sha256::hex(&stored.sha.clone().finish());
            self.docs.push(Doc { name, sha, body });
            return Ok(());
        }
        let zstd = matches!(gzip::magic(head), gzip::Kind::Zstd);
        let n = self.layers.len();
        let mut l = Blob { name, stored: [0; 64], stored_size: 0, diff: [0; 64], tar_size: 0, bytes: 0, zstd };
        if zstd {
            // Refused only if an image uses it: drained, hashed, noted.
            stream::drain(&mut p)?;
        } else {
            let mut num = Vec::new();
            util::push_num(&mut num, n as u64);
            let x = extract_layer(&join(&self.tmp, &num), &mut p)?;
            (l.diff, l.tar_size, l.bytes) = (x.diff, x.tar_size, x.bytes);
        }
        stream::drain(&mut stored)?;
        l.stored = sha256::hex(&stored.sha.clone().finish());
        l.stored_size = stored.n;
        self.layers.push(l);
        Ok(())
    }

    fn doc(&self, name: &[u8]) -> Option<&Doc> {
        let name = self.follow(name);
        self.docs.iter().find(|d| d.name == name)
    }

    /// An in-archive symlink's target (relative to its directory).
    fn follow(&self, name: &[u8]) -> Vec<u8> {
        let mut n = name.to_vec();
        for _ in 0..8 {
            let Some((_, t)) = self.links.iter().find(|(l, _)| *l == n) else { break };
            let dir = &n[..store::after_slash(&n)];
            let mut j = dir.to_vec();
            j.extend_from_slice(t);
            // `..` against the link's directory, then made safe
            n = Vec::new();
            for c in util::fields(&j, b'/') {
                match c {
                    b"" | b"." => {}
                    b".." => n.truncate(n.iter().rposition(|&x| x == b'/').unwrap_or(0)),
                    _ => {
                        if !n.is_empty() {
                            n.push(b'/');
                        }
                        n.extend_from_slice(c);
                    }
                }
            }
        }
        n
    }

    fn layer(&self, name: &[u8]) -> Option<usize> {
        let name = self.follow(name);
        self.layers.iter().position(|l| l.name == name)
    }

    /// A blob named by an OCI descriptor, checked against its digest and size.
    fn blob_name(d: &J) -> Res<(Vec<u8>, [u8; 64], u64)> {
        let dg = d.str_at(b"digest").unwrap_or_default();
        let hex = dg
            .strip_prefix(b"sha256:")
            .filter(|h| h.len() == 64 && h.iter().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| bad(b"load", b"a descriptor has no sha256 digest"))?;
        let mut h = [0u8; 64];
        h.copy_from_slice(hex);
        let size = d.get(b"size").and_then(|x| x.num()).unwrap_or(-1);
        Ok((join(b"blobs/sha256", hex), h, size as u64))
    }

    fn desc_doc(&self, d: &J) -> Res<&Doc> {
        let (name, h, size) = Self::blob_name(d)?;
        let doc = self.doc(&name).ok_or_else(|| Error::quoted("load: blob", &name, b"is missing from the archive").code(1))?;
        if doc.sha != h || doc.body.len() as u64 != size {
            return Err(Error::quoted("load: blob", &name, b"does not match its digest").code(1));
        }
        Ok(doc)
    }

    /// The images of a docker-archive (and the hybrid one).
    #[inline(never)]
    fn docker(&self, m: &J) -> Res<Vec<Found<'_>>> {
        let mut out = Vec::new();
        for e in m.items() {
            let cname = e.str_at(b"Config").ok_or_else(|| bad(b"load: manifest.json", b"an image has no Config"))?;
            let cname = name_of(&cname)?;
            let conf = self.doc(&cname).ok_or_else(|| Error::quoted("load: config", &cname, b"is missing from the archive").code(1))?;
            // `<hex>.json` and `blobs/sha256/<hex>` name their own digest.
            let base = &cname[store::after_slash(&cname)..];
            let stem = base.strip_suffix(b".json").unwrap_or(base);
            if stem.len() == 64 && stem.iter().all(|c| c.is_ascii_hexdigit()) && stem != conf.sha {
                return Err(Error::quoted("load: config", &cname, b"does not match its digest").code(1));
            }
            let mut layers = Vec::new();
            for l in e.strs_at(b"Layers").unwrap_or_default() {
                let ln = name_of(&l)?;
                let i = self.layer(&ln).ok_or_else(|| Error::quoted("load: layer", &ln, b"is missing from the archive").code(1))?;
                let lb = &ln[store::after_slash(&ln)..];
                if ln.starts_with(b"blobs/sha256/") && lb != self.layers[i].stored {
                    return Err(Error::quoted("load: layer", &ln, b"does not match its digest").code(1));
                }
                layers.push(i);
            }
            let mut refs = Vec::new();
            for t in e.strs_at(b"RepoTags").unwrap_or_default() {
                refs.push(store::normalize(&t));
            }
            out.push(Found { config: &conf.body, id: conf.sha, layers, refs });
        }
        Ok(out)
    }

    /// The images of an OCI layout: each manifest of index.json, an index
    /// in it resolved to this machine's platform.
    #[inline(never)]
    fn oci(&self, idx: &J, base: &[u8]) -> Res<Vec<Found<'_>>> {
        let mut out = Vec::new();
        for d in idx.get(b"manifests").unwrap_or(J::NULL).items() {
            let ann = d.get(b"annotations");
            let name = ann.and_then(|a| a.get(b"io.containerd.image.name").or_else(|| a.get(b"org.opencontainers.image.ref.name"))).and_then(|x| x.str());
            let mut refs = Vec::new();
            if let Some(n) = name {
                if n.contains(&b'/') || n.contains(&b':') {
                    refs.push(store::normalize(&n));
                } else if !base.is_empty() {
                    // a bare tag (skopeo's oci:DIR:TAG): the directory's name
                    let mut r = b"localhost/".to_vec();
                    r.extend_from_slice(base);
                    r.push(b':');
                    r.extend_from_slice(&n);
                    refs.push(r);
                }
            }
            let mut doc = self.desc_doc(&d)?;
            let mut depth = 0;
            loop {
                let m = json::parse(&doc.body).ok_or_else(|| bad(b"load: manifest", b"is not valid JSON"))?;
                if let Some(ms) = m.get(b"manifests") {
                    // an index: this machine's platform
                    depth += 1;
                    let mut pick = None;
                    for x in ms.items() {
                        let p = x.get(b"platform").unwrap_or(J::NULL);
                        let (arch, os) = (p.str_at(b"architecture"), p.str_at(b"os"));
                        if arch.as_deref().is_none_or(|a| a == ARCH) && os.as_deref().is_none_or(|o| o == b"linux") {
                            pick = Some(x);
                            break;
                        }
                    }
                    match pick {
                        Some(x) if depth < 4 => doc = self.desc_doc(&x)?,
                        _ => return Err(Error::new(b"load", b"no manifest for linux/").code(1).append(ARCH)),
                    }
                    continue;
                }
                let cd = m.get(b"config").ok_or_else(|| bad(b"load: manifest", b"has no config"))?;
                let conf = self.desc_doc(&cd)?;
                let mut layers = Vec::new();
                for ld in m.get(b"layers").unwrap_or(J::NULL).items() {
                    let (ln, h, size) = Self::blob_name(&ld)?;
                    let i = self.layer(&ln).ok_or_else(|| Error::quoted("load: layer", &ln, b"is missing from the archive").code(1))?;
                    let l = &self.layers[i];
                    if l.stored != h || l.stored_size != size {
                        return Err(Error::quoted("load: layer", &ln, b"does not match its digest").code(1));
                    }
                    layers.push(i);
                }
                out.push(Found { config: &conf.body, id: conf.sha, layers, refs });
                break;
            }
        }
        Ok(out)
    }
}

/// `p` as it is, or through gunzip (kept in `gz`) if it starts like gzip.
#[inline(never)]
fn unzip<'a>(p: &'a mut Peek<'_>, gz: &'a mut Option<Gunzip<'a>>) -> &'a mut dyn Source {
    if let gzip::Kind::Gzip = gzip::magic(p.head()) {
        gz.insert(Gunzip::new(p))
    } else {
        p
    }
}

/// A layer as extracted: its diff ID (hex), tar bytes and file bytes.
pub struct Layer {
    pub diff: [u8; 64],
    pub tar_size: u64,
    pub bytes: u64,
}

/// Extracts a layer tar (plain or gzip; zstd refused) into `dir/root`,
/// recording its headers in `dir/tar`.
pub fn extract_layer(dir: &[u8], src: &mut dyn Source) -> Res<Layer> {
    let mut p = Peek::new(src)?;
    let kind = gzip::magic(p.head());
    if let gzip::Kind::Zstd = kind {
        return Err(Error::new(b"layer", b"is zstd-compressed (not supported)"));
    }
    let rootp = join(dir, b"root");
    mkdir_all(&rootp, 0o755).ctx("create", &rootp)?;
    let rec_p = join(dir, b"tar");
    let rec = sys::open(&rec_p, sys::O_WRONLY | sys::O_CREAT | sys::O_EXCL, 0o600).ctx("create", &rec_p)?;
    let rfd = sys::open(&rootp, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx("open", &rootp)?;
    let mut gz = None;
    let plain = unzip(&mut p, &mut gz);
    let mut diff = Hashing::new(plain);
    let st = {
        let mut r = tar::Reader::new(&mut diff);
        r.record(Some(rec.raw()))?;
        tar::extract(&mut r, rfd.raw(), tar::Whiteouts::Overlay)?
    };
    stream::drain(&mut diff)?;
    drop((rec, rfd));
    Ok(Layer { diff: sha256::hex(&diff.sha.clone().finish()), tar_size: diff.n, bytes: st.bytes })
}

/// Checks a configuration against its layers; what `run` needs from it.
#[inline(never)]
fn meta_of(f: &Found, layers: &[Blob]) -> Res<Meta> {
    let c = json::parse(f.config).ok_or_else(|| bad(b"load: config", b"is not valid JSON"))?;
    let diffs = c.get(b"rootfs").unwrap_or(J::NULL).strs_at(b"diff_ids").unwrap_or_default();
    if diffs.len() != f.layers.len() {
        return Err(bad(b"load: config", b"layer count differs from the manifest"));
    }
    let mut m = Meta::at(c.str_at(b"created").map_or(0, |t| store::parse_time(&t)));
    for (d, &i) in diffs.iter().zip(&f.layers) {
        let l = &layers[i];
        if l.zstd {
            return Err(Error::quoted("load: layer", &l.name, b"is zstd-compressed (not supported)").code(1));
        }
        if d.strip_prefix(b"sha256:") != Some(&l.diff[..]) {
            return Err(Error::quoted("load: layer", &l.name, b"does not match its diff ID").code(1));
        }
        m.size += l.bytes;
        m.layers.push(l.diff.to_vec());
    }
    if let Some(cc) = c.get(b"config") {
        m.entrypoint = cc.strs_at(b"Entrypoint").unwrap_or_default();
        m.cmd = cc.strs_at(b"Cmd").unwrap_or_default();
        m.env = cc.strs_at(b"Env").unwrap_or_default();
        m.workdir = cc.str_at(b"WorkingDir").unwrap_or_default();
        m.user = cc.str_at(b"User").unwrap_or_default();
    }
    Ok(m)
}

/// Puts one image's layers, configuration and tags into the store. Under
/// the state lock. `layer_dirs`: the temporary directory, tar and file
/// bytes of each of the last `layer_dirs.len()` layers (those before are
/// in the store already).
pub fn install(root: &Root, tmp: &[u8], config: &[u8], id: &[u8], m: &Meta, layer_dirs: &[(Vec<u8>, u64, u64)], refs: &[Vec<u8>]) -> Res<()> {
    let ld = store::layers_dir(root);
    mkdir_all(&ld, 0o700).ctx("create", &ld)?;
    let skip = m.layers.len() - layer_dirs.len();
    for (i, (dir, tar_size, bytes)) in layer_dirs.iter().enumerate() {
        let dest = store::layer(root, &m.layers[skip + i]);
        if sys::lstat(&dest).is_err() && sys::lstat(dir).is_ok() {
            let mut s = util::num(*tar_size);
            s.push(b' ');
            util::push_num(&mut s, *bytes);
            let sp = join(dir, b"size");
            write_atomic(&sp, &s).ctx("write", &sp)?;
            sys::rename(dir, &dest).ctx("rename into", &dest)?;
        }
    }
    let img = root.image(id);
    if sys::lstat(&join(&img, b"meta")).is_err() {
        let t = join(tmp, b"image");
        let _ = remove_tree(&t);
        sys::mkdir(&t, 0o700).ctx("create", &t)?;
        write_atomic(&join(&t, b"config"), config).ctx("write", &t)?;
        write_atomic(&join(&t, b"meta"), &m.encode()).ctx("write", &t)?;
        let _ = remove_tree(&img);
        sys::rename(&t, &img).ctx("rename into", &img)?;
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
    mkdir_all(&ld, 0o700).ctx("create", &ld)?;
    store::reclaim(root);
    let mut rnd = [0u8; 6];
    sys::random(&mut rnd);
    let mut n = b".tmp-".to_vec();
    n.extend_from_slice(&util::hex(&rnd));
    let tmp = join(&ld, &n);
    sys::mkdir(&tmp, 0o700).ctx("create", &tmp)?;
    let lock = lock_path(&tmp, false).ctx("lock", &tmp)?;
    Ok((tmp, lock))
}

/// `load [-i PATH]`: `say` gets each "Loaded image: REF" line's REF (or
/// `sha256:ID` for an image without tags, with `id` true).
#[inline(never)]
pub fn load(root: &Root, input: Option<&[u8]>, say: &mut dyn FnMut(&[u8], bool)) -> Res<()> {
    if sys::geteuid() != 0 {
        return Err(bad(b"load", b"mydocker must run as root"));
    }
    let (tmp, _held) = temp(root)?;
    let r = load_into(root, &tmp, input, say);
    let _ = remove_tree(&tmp);
    r
}

#[inline(never)]
fn load_into(root: &Root, tmp: &[u8], input: Option<&[u8]>, say: &mut dyn FnMut(&[u8], bool)) -> Res<()> {
    let mut ld = Loader { tmp: tmp.to_vec(), docs: Vec::new(), layers: Vec::new(), links: Vec::new() };
    let mut base: Vec<u8> = Vec::new();
    let file: Option<Owned> = match input {
        Some(p) => {
            let f = sys::open(p, sys::O_RDONLY, 0).map_err(|e| Error::sys("open", p, e).code(1))?;
            let mut b = p;
            while let [rest @ .., b'/'] = b {
                b = rest;
            }
            b = &b[store::after_slash(b)..];
            b = b.strip_suffix(b".tar").unwrap_or(b);
            if store::valid_ref(&store::normalize(b)) {
                base = b.to_vec();
            }
            Some(f)
        }
        None => None,
    };
    let fd = file.as_ref().map_or(0, Owned::raw);
    if sys::fstat(fd).is_ok_and(|s| s.is_dir()) {
        // An OCI layout directory: its top files and blobs/sha256/*.
        let p = input.unwrap_or_default();
        for n in [&b"oci-layout"[..], b"index.json", b"manifest.json"] {
            if let Ok(f) = sys::openat(fd, n, sys::O_RDONLY | sys::O_NOFOLLOW, 0) {
                ld.entry(n.to_vec(), &mut FdSource(f.raw()))?;
            }
        }
        let bdir = join(p, b"blobs/sha256");
        for (n, _) in sys::list_dir(&bdir).unwrap_or_default() {
            let f = sys::openat(fd, &join(b"blobs/sha256", &n), sys::O_RDONLY | sys::O_NOFOLLOW, 0).map_err(|e| Error::sys("open", &n, e).code(1))?;
            if sys::fstat(f.raw()).is_ok_and(|s| s.kind() == sys::S_IFREG) {
                ld.entry(join(b"blobs/sha256", &n), &mut FdSource(f.raw()))?;
            }
        }
    } else {
        let mut src = FdSource(fd);
        let mut p = Peek::new(&mut src)?;
        if p.head().is_empty() {
            return Err(bad(b"load", b"no input (use -i FILE or stdin)"));
        }
        let mut gz = None;
        let outer = unzip(&mut p, &mut gz);
        let mut r = tar::Reader::new(outer);
        while let Some(e) = r.next()? {
            let name = name_of(&e.path)?;
            match e.ty {
                b'0' | 0 | b'7' => {
                    let mut es = r.source();
                    ld.entry(name, &mut es)?;
                }
                b'2' => ld.links.push((name, e.link.clone())),
                _ => {}
            }
        }
    }
    let found = if let Some(m) = ld.doc(b"manifest.json") {
        let j = json::parse(&m.body).ok_or_else(|| bad(b"load: manifest.json", b"is not valid JSON"))?;
        ld.docker(&j)?
    } else if let Some(i) = ld.doc(b"index.json") {
        let j = json::parse(&i.body).ok_or_else(|| bad(b"load: index.json", b"is not valid JSON"))?;
        ld.oci(&j, &base)?
    } else {
        return Err(bad(b"load", b"no manifest.json or index.json"));
    };
    if found.is_empty() {
        return Err(bad(b"load", b"the archive holds no image"));
    }
    let mut metas = Vec::new();
    for f in &found {
        metas.push(meta_of(f, &ld.layers)?);
    }
    let _l = root.lock()?;
    for (f, m) in found.iter().zip(&metas) {
        let mut dirs = Vec::new();
        for &i in &f.layers {
            let mut num = Vec::new();
            util::push_num(&mut num, i as u64);
            dirs.push((join(tmp, &num), ld.layers[i].tar_size, ld.layers[i].bytes));
        }
        install(root, tmp, f.config, &f.id, m, &dirs, &f.refs)?;
    }
    for f in &found {
        if f.refs.is_empty() {
            let mut s = b"sha256:".to_vec();
            s.extend_from_slice(&f.id);
            say(&s, true);
        }
        for r in &f.refs {
            say(r, false);
        }
    }
    Ok(())
}

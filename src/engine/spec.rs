//! What the container's init needs, as plain data, and its byte encoding for
//! the start pipe (seed 3.3): every field is a little-endian u32 length
//! followed by exactly that many bytes, so arguments with spaces, quotes,
//! newlines, no bytes at all or invalid UTF-8 arrive exactly as given.

use crate::engine::config::{Device, Security, Volume};
use alloc::vec::Vec;

#[derive(Debug, Default, PartialEq, Clone)]
pub struct Spec {
    pub hostname: Vec<u8>,
    /// Image layer (read-only), and the container's own directories. The
    /// root is mounted over `lower` itself, inside the container's private
    /// mount namespace (the host never sees it), so no mount-point
    /// directory has to be made and removed per run.
    pub lower: Vec<u8>,
    pub upper: Vec<u8>,
    pub work: Vec<u8>,
    /// The image's layers (diff ID hex, base first) in `store`, the layers
    /// directory: overlay's lower directories, or flattened into `upper`.
    pub layers: Vec<Vec<u8>>,
    pub store: Vec<u8>,
    /// true: overlayfs; false: `upper` holds a private copy of the image.
    pub overlay: bool,
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub workdir: Vec<u8>,
    pub volumes: Vec<Volume>,
    /// Run mydocker's mini-init as PID 1.
    pub init: bool,
    /// stdin/stdout/stderr are a pty slave: become its session leader.
    /// (no field order matters for `Default`)
    pub tty: bool,
    /// "none" (own namespace, loopback), "host", or "bridge": then eth0
    /// gets `ip/prefix`, a default route via `gateway`, and /etc/hosts and
    /// /etc/resolv.conf are written from `hosts` and `resolv`.
    pub net: Vec<u8>,
    pub ip: u32,
    pub prefix: u8,
    pub gateway: u32,
    pub hosts: Vec<u8>,
    pub resolv: Vec<u8>,
    pub security: Security,
    /// `--device` nodes to create: container path, and the host node's
    /// type (S_IFCHR/S_IFBLK), major and minor, read by the parent.
    pub nodes: Vec<Node>,
}

#[derive(Debug, Default, PartialEq, Clone)]
pub struct Node {
    pub path: Vec<u8>,
    pub kind: u32,
    pub major: u32,
    pub minor: u32,
    /// "r", "w", "m" as given.
    pub perms: Vec<u8>,
}

/// Length-prefixed writer, shared with the container record.
pub struct W(pub Vec<u8>);
impl W {
    pub fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
    }
    pub fn list(&mut self, l: &[Vec<u8>]) {
        self.count(l.len());
        for b in l {
            self.bytes(b);
        }
    }
    /// A list's length; its items follow as `bytes`.
    pub fn count(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }
    pub fn flag(&mut self, f: bool) {
        self.bytes(if f { b"1" } else { b"" });
    }
    pub fn num(&mut self, n: i64) {
        self.bytes(&n.to_le_bytes());
    }
}

/// Its reader: every call is None once the input is short.
pub struct Rd<'a>(pub &'a [u8]);
impl<'a> Rd<'a> {
    pub fn u32(&mut self) -> Option<usize> {
        if self.0.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize;
        self.0 = &self.0[4..];
        Some(n)
    }
    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()?;
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a.to_vec())
    }
    pub fn list(&mut self) -> Option<Vec<Vec<u8>>> {
        let n = self.u32()?;
        if n > self.0.len() / 4 {
            return None; // each entry needs at least its length
        }
        // A loop, not collect::<Option<Vec<_>>>(): no GenericShunt code.
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(self.bytes()?);
        }
        Some(v)
    }
    pub fn flag(&mut self) -> Option<bool> {
        Some(!self.bytes()?.is_empty())
    }
    pub fn num(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.bytes()?.try_into().ok()?))
    }
}

/// The confinement travels in the record and the spec as one field.
impl Security {
    /// One length-prefixed field of the record and of the spec.
    pub fn encode(&self, w: &mut W) {
        let mut s = W(Vec::new());
        s.num(self.caps as i64);
        for f in [self.privileged, self.seccomp, self.no_new_privs, self.read_only] {
            s.flag(f);
        }
        s.bytes(&self.user);
        s.count(self.devices.len() * 3);
        for d in &self.devices {
            for b in [&d.host, &d.ctr, &d.perms] {
                s.bytes(b);
            }
        }
        s.list(&self.tmpfs);
        w.bytes(&s.0);
    }

    pub fn decode(r: &mut Rd) -> Option<Security> {
        let b = r.bytes()?;
        let mut d = Rd(&b);
        let mut s = Security { caps: d.num()? as u64, ..Security::default() };
        for f in [&mut s.privileged, &mut s.seccomp, &mut s.no_new_privs, &mut s.read_only] {
            *f = d.flag()?;
        }
        s.user = d.bytes()?;
        for x in d.list()?.chunks(3) {
            s.devices.push(Device { host: x.first()?.clone(), ctr: x.get(1)?.clone(), perms: x.get(2)?.clone() });
        }
        s.tmpfs = d.list()?;
        Some(s)
    }
}

/// A copy through the encoding above (a run or an exec makes one): the
/// derived field-by-field clone was 365 bytes of code of its own.
impl Clone for Security {
    fn clone(&self) -> Security {
        let mut w = W(Vec::new());
        self.encode(&mut w);
        Security::decode(&mut Rd(&w.0)).unwrap_or_default()
    }
}

impl Spec {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = W(Vec::new());
        w.bytes(&self.hostname);
        w.bytes(&self.lower);
        w.bytes(&self.upper);
        w.bytes(&self.work);
        w.list(&self.layers);
        w.bytes(&self.store);
        w.flag(self.overlay);
        w.list(&self.argv);
        w.list(&self.env);
        w.bytes(&self.workdir);
        w.0.extend_from_slice(&(self.volumes.len() as u32).to_le_bytes());
        for v in &self.volumes {
            w.bytes(&v.host);
            w.bytes(&v.ctr);
            w.flag(v.ro);
        }
        w.flag(self.init);
        w.flag(self.tty);
        w.bytes(&self.net);
        w.bytes(&self.ip.to_le_bytes());
        w.bytes(&[self.prefix]);
        w.bytes(&self.gateway.to_le_bytes());
        w.bytes(&self.hosts);
        w.bytes(&self.resolv);
        self.security.encode(&mut w);
        w.count(self.nodes.len());
        for n in &self.nodes {
            w.bytes(&n.path);
            w.num(((n.kind as i64) << 40) | ((n.major as i64) << 20) | n.minor as i64);
            w.bytes(&n.perms);
        }
        w.0
    }

    /// None if the bytes are truncated or have trailing garbage.
    pub fn decode(b: &[u8]) -> Option<Spec> {
        let mut r = Rd(b);
        let mut s = Spec {
            hostname: r.bytes()?,
            lower: r.bytes()?,
            upper: r.bytes()?,
            work: r.bytes()?,
            layers: r.list()?,
            store: r.bytes()?,
            overlay: r.flag()?,
            argv: r.list()?,
            env: r.list()?,
            workdir: r.bytes()?,
            ..Spec::default()
        };
        let n = r.u32()?;
        for _ in 0..n {
            s.volumes.push(Volume { host: r.bytes()?, ctr: r.bytes()?, ro: r.flag()? });
        }
        s.init = r.flag()?;
        s.tty = r.flag()?;
        s.net = r.bytes()?;
        s.ip = u32::from_le_bytes(r.bytes()?.try_into().ok()?);
        s.prefix = *r.bytes()?.first()?;
        s.gateway = u32::from_le_bytes(r.bytes()?.try_into().ok()?);
        s.hosts = r.bytes()?;
        s.resolv = r.bytes()?;
        s.security = Security::decode(&mut r)?;
        for _ in 0..r.u32()? {
            let path = r.bytes()?;
            let n = r.num()?;
            s.nodes.push(Node { path, kind: (n >> 40) as u32, major: (n >> 20) as u32 & 0xfffff, minor: n as u32 & 0xfffff, perms: r.bytes()? });
        }
        if r.0.is_empty() {
            Some(s)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Spec {
        Spec {
            hostname: b"abc".to_vec(),
            lower: b"/l".to_vec(),
            upper: b"/u".to_vec(),
            work: b"/w".to_vec(),
            layers: vec![b"ab".to_vec(), b"cd".to_vec()],
            store: b"/s".to_vec(),
            overlay: true,
            argv: vec![b"sh".to_vec(), b"-c".to_vec(), b"echo 'a b'\n\"q\"".to_vec(), Vec::new(), vec![0xff, 0xfe, 0x80]],
            env: vec![b"A=1".to_vec(), b"EMPTY=".to_vec()],
            workdir: b"/".to_vec(),
            volumes: vec![Volume { host: b"/h".to_vec(), ctr: b"/c".to_vec(), ro: true }],
            init: true,
            tty: false,
            net: b"bridge".to_vec(),
            ip: 0x0a000002,
            prefix: 24,
            gateway: 0x0a000001,
            hosts: b"127.0.0.1 localhost\n".to_vec(),
            resolv: b"nameserver 1.1.1.1\n".to_vec(),
            security: Security { caps: 5, read_only: true, user: b"1000:10".to_vec(), tmpfs: vec![b"/run:size=1m".to_vec()], ..Security::default() },
            nodes: vec![Node { path: b"/dev/x".to_vec(), kind: 0o020000, major: 188, minor: 3, perms: b"rw".to_vec() }],
        }
    }

    #[test]
    fn round_trip_exact_bytes() {
        let s = sample();
        assert_eq!(Spec::decode(&s.encode()), Some(s));
    }

    #[test]
    fn large_fields_round_trip() {
        let mut s = sample();
        s.argv.push(vec![b'x'; 200_000]);
        s.env.push(vec![b'y'; 100_000]);
        assert_eq!(Spec::decode(&s.encode()), Some(s));
    }

    #[test]
    fn truncated_or_padded_is_rejected() {
        let e = sample().encode();
        for cut in [0, 1, 4, e.len() / 2, e.len() - 1] {
            assert_eq!(Spec::decode(&e[..cut]), None, "cut at {cut}");
        }
        let mut long = e.clone();
        long.push(0);
        assert_eq!(Spec::decode(&long), None);
        // a huge list count must not allocate or loop
        let mut bad = Vec::new();
        for _ in 0..6 {
            bad.extend_from_slice(&0u32.to_le_bytes());
        }
        bad.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Spec::decode(&bad), None);
    }
}

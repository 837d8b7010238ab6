//! What the container's init needs beyond its record (argv, env,
//! hostname, workdir, volumes, --init come from there), as plain data. It is not encoded: the
//! child gets it in the copy of the parent's memory that clone() makes, so
//! arguments with spaces, quotes, newlines, no bytes at all or invalid
//! UTF-8 arrive exactly as given. The length-prefixed byte encoding here
//! (every field a little-endian u32 length, then exactly that many bytes)
//! is the container record's and the stores'.

use crate::engine::config::{Device, Security};
use alloc::vec::Vec;

/// In declaration order (repr(C)): the paths setup uses most, the
/// numbers and flags, then the confinement, all within a one-byte
/// displacement on x86_64 (rustc put the flags last, past 500 bytes).
#[derive(Debug, Default, PartialEq, Clone)]
#[repr(C)]
pub struct Spec {
    /// Image layer (read-only), and the container's own directories. The
    /// root is mounted over `lower` itself, inside the container's private
    /// mount namespace (the host never sees it), so no mount-point
    /// directory has to be made and removed per run.
    pub lower: Vec<u8>,
    pub upper: Vec<u8>,
    /// "none" (own namespace, loopback), "host", or "bridge": then eth0
    /// gets `ip/prefix`, a default route via `gateway`, and /etc/hosts and
    /// /etc/resolv.conf are written from `hosts` and `resolv`.
    pub ip: u32,
    pub gateway: u32,
    /// The namespaces (CLONE_NEWPID, _NEWIPC, _NEWUTS) not made: the
    /// host's are shared (an OCI config without them).
    pub share: i32,
    pub prefix: u8,
    /// true: overlayfs; false: `upper` holds a private copy of the image.
    pub overlay: bool,
    /// stdin/stdout/stderr are a pty slave: become its session leader.
    pub tty: bool,
    /// A mqueue filesystem on /dev/mqueue (the OCI runtime's).
    pub mqueue: bool,
    /// /sys read-write (an OCI sysfs mount without "ro").
    pub sys_rw: bool,
    /// `runc create --preserve-fds N`: the caller's descriptors 3..3+N
    /// stay open in the container.
    pub preserve: i32,
    pub security: Security,
    pub work: Vec<u8>,
    /// The image's layers (diff ID hex, base first) in `store`, the layers
    /// directory: overlay's lower directories, or flattened into `upper`.
    pub layers: Vec<Vec<u8>>,
    pub store: Vec<u8>,
    pub net: Vec<u8>,
    pub hosts: Vec<u8>,
    pub resolv: Vec<u8>,
    /// `--device` nodes to create, one per `security.devices` entry (its
    /// container path): the host node's type (S_IFCHR/S_IFBLK), major and
    /// minor, read by the parent.
    pub nodes: Vec<Node>,
    /// The OCI runtime's (`runc create`): the exec fifo that holds the
    /// program back until `start` (empty: exec at once), the namespaces to
    /// join (setns type, path), rlimits (resource, soft, hard), and the
    /// exact supplementary groups.
    pub gate: Vec<u8>,
    pub joins: Vec<(i32, Vec<u8>)>,
    pub rlimits: Vec<[u64; 3]>,
    pub groups: Option<Vec<u32>>,
    /// `--console-socket`: the unix socket that gets the master of a pty
    /// made in the container's devpts, whose slave is its stdio.
    pub console: Vec<u8>,
    /// tmpfs mounts (their paths, as in `security.tmpfs`) that get a copy
    /// of what the image has there (OCI `tmpcopyup`).
    pub copyup: Vec<Vec<u8>>,
    /// OCI linux.sysctl: (key, value), written under /proc/sys.
    pub sysctl: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Default, PartialEq, Clone)]
pub struct Node {
    pub kind: u32,
    pub major: u32,
    pub minor: u32,
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
}

/// A reader that latches its first failure instead of returning it: each
/// call then gives an empty value, and the caller checks `ok` once at the
/// end. Straight-line decoders with no early return per field (each `?`
/// was its own exit path: a decoder of many fields doubled in size).
pub struct Lr<'a> {
    pub r: Rd<'a>,
    pub ok: bool,
}
impl Lr<'_> {
    #[inline(never)]
    pub fn bytes(&mut self) -> Vec<u8> {
        match self.r.bytes() {
            Some(v) if self.ok => v,
            _ => {
                self.ok = false;
                Vec::new()
            }
        }
    }
    /// A count of entries, each at least 4 bytes long: 0 once failed.
    #[inline(never)]
    pub fn count(&mut self) -> usize {
        match self.r.u32() {
            Some(n) if self.ok && n <= self.r.0.len() / 4 => n,
            _ => {
                self.ok = false;
                0
            }
        }
    }
    #[inline(never)]
    pub fn list(&mut self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        for _ in 0..self.count() {
            v.push(self.bytes());
        }
        v
    }
    pub fn flag(&mut self) -> bool {
        !self.bytes().is_empty()
    }
    /// A little-endian number of exactly `n` bytes, 0 if not.
    #[inline(never)]
    pub fn fixed(&mut self, n: usize) -> u64 {
        let b = self.bytes();
        if b.len() != n {
            self.ok = false;
        }
        let mut v = 0;
        for &c in b.iter().rev() {
            v = v << 8 | c as u64;
        }
        v
    }
    pub fn num(&mut self) -> i64 {
        self.fixed(8) as i64
    }
}

/// A copy through the encoding below (a run or an exec makes one): the
/// derived field-by-field clone was 365 bytes of code of its own.
impl Clone for Security {
    fn clone(&self) -> Security {
        let mut w = W(Vec::new());
        self.encode(&mut w);
        Security::decode(&mut Rd(&w.0)).unwrap_or_default()
    }
}

/// The confinement travels in the record and the spec as one field.
impl Security {
    /// One length-prefixed field of the record and of the spec (out of
    /// line: one copy for the record, the spec and the clone).
    #[inline(never)]
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
        let mut l = Lr { r: Rd(r.0), ok: true };
        let s = Security::read(&mut l);
        r.0 = l.r.0;
        l.ok.then_some(s)
    }

    /// `decode` from a latching reader (a failure leaves `l.ok` false).
    #[inline(never)]
    pub fn read(l: &mut Lr) -> Security {
        let b = l.bytes();
        let mut d = Lr { r: Rd(&b), ok: l.ok };
        let mut s = Security {
            caps: d.num() as u64,
            privileged: d.flag(),
            seccomp: d.flag(),
            no_new_privs: d.flag(),
            read_only: d.flag(),
            user: d.bytes(),
            devices: Vec::new(),
            tmpfs: Vec::new(),
            paths: Vec::new(),
            filter: Vec::new(),
        };
        // host, container path, permissions: three items a device, read
        // in place (no list of them to copy from)
        let n = d.count();
        if !n.is_multiple_of(3) {
            d.ok = false;
        }
        for _ in 0..n / 3 {
            s.devices.push(Device { host: d.bytes(), ctr: d.bytes(), perms: d.bytes() });
        }
        s.tmpfs = d.list();
        l.ok = d.ok;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Security {
        Security {
            caps: 5,
            read_only: true,
            user: b"1000:10".to_vec(),
            devices: vec![Device { host: b"/dev/x".to_vec(), ctr: b"/dev/y".to_vec(), perms: b"rw".to_vec() }],
            tmpfs: vec![b"/run:size=1m".to_vec(), Vec::new(), vec![0xff, 0xfe]],
            ..Security::default()
        }
    }

    #[test]
    fn security_round_trip_exact_bytes() {
        let s = sample();
        let mut w = W(Vec::new());
        s.encode(&mut w);
        w.bytes(b"next");
        let mut r = Rd(&w.0);
        assert_eq!(Security::decode(&mut r), Some(s));
        assert_eq!(r.bytes(), Some(b"next".to_vec()));
    }

    #[test]
    fn truncated_or_padded_is_rejected() {
        let mut w = W(Vec::new());
        sample().encode(&mut w);
        let e = w.0;
        for cut in [0, 1, 4, e.len() / 2, e.len() - 1] {
            assert_eq!(Security::decode(&mut Rd(&e[..cut])), None, "cut at {cut}");
        }
        // a huge list count is refused (no allocation, no loop)
        let mut bad = W(Vec::new());
        bad.num(0);
        for _ in 0..4 {
            bad.flag(false);
        }
        bad.bytes(b"");
        bad.count(u32::MAX as usize);
        let mut w = W(Vec::new());
        w.bytes(&bad.0);
        assert_eq!(Security::decode(&mut Rd(&w.0)), None);
    }
}

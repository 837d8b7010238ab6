//! Bridge networks: `network create/ls/rm/inspect`, IPAM, and the NAT of a
//! network's outbound traffic. Everything is done over netlink by mydocker
//! itself; masquerading uses iptables when the binary exists, else
//! nf_tables programmed over netlink (boards often have neither tool).
//!
//! State: `networks/<name>/config` (key=value lines) and
//! `networks/<name>/ipam`, one "a.b.c.d <container id>" line per address
//! handed out, changed only under the state lock.

use crate::engine::state::{self, Root};
use crate::engine::util::{self, join, read_file, remove_tree, write_atomic, Buf, Ctx, Error, Res};
use crate::sys;
use crate::sys::netlink;
use alloc::vec::Vec;

pub use crate::engine::config::{fmt_ip, mask, parse_cidr, parse_ip};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Network {
    pub name: Vec<u8>,
    pub id: Vec<u8>,
    pub subnet: u32,
    pub prefix: u8,
    pub gateway: u32,
    pub bridge: Vec<u8>,
    /// "iptables" or "nftables"
    pub nat: Vec<u8>,
    pub created: i64,
}

impl Network {
    pub fn broadcast(&self) -> u32 {
        self.subnet | !mask(self.prefix)
    }
    pub fn cidr(&self) -> Vec<u8> {
        let mut v = fmt_ip(self.subnet);
        v.push(b'/');
        util::push_num(&mut v, self.prefix as u64);
        v
    }
    fn chain(&self) -> Vec<u8> {
        let mut c = b"post-".to_vec();
        c.extend_from_slice(&self.bridge);
        c
    }
    fn encode(&self) -> Vec<u8> {
        let mut w = crate::engine::spec::W(Vec::new());
        for b in [&self.name, &self.id, &self.bridge, &self.nat] {
            w.bytes(b);
        }
        for n in [self.subnet as i64, self.prefix as i64, self.gateway as i64, self.created] {
            w.num(n);
        }
        w.0
    }
    #[cfg(test)]
    fn decode(b: &[u8]) -> Option<Network> {
        let mut n = Network::default();
        n.decode_into(b).map(|_| n)
    }
    /// Decodes into `self` (a default one): returning the network by value
    /// was a copy more on every load.
    fn decode_into(&mut self, b: &[u8]) -> Option<()> {
        // (the latching reader: one exit, checked once at the end)
        let mut r = crate::engine::spec::Lr { r: crate::engine::spec::Rd(b), ok: true };
        for f in [&mut self.name, &mut self.id, &mut self.bridge, &mut self.nat] {
            *f = r.bytes();
        }
        // (read in a loop, then placed: four inlined calls were more)
        let mut n = [0i64; 4];
        for x in &mut n {
            *x = r.num();
        }
        (self.subnet, self.prefix, self.gateway, self.created) = (n[0] as u32, n[1] as u8, n[2] as u32, n[3]);
        r.ok.then_some(())
    }
}

/// `network "NAME": <why>` (one copy of the call's first word).
#[inline(never)]
fn net_err(name: &[u8], why: util::Msg) -> Error {
    Error::quoted(m!("network"), name, why)
}

fn dir(root: &Root, name: &[u8]) -> Vec<u8> {
    join(&join(&root.dir, b"networks"), name)
}

pub fn load(root: &Root, name: &[u8]) -> Res<Network> {
    if crate::engine::config::validate_name(name).is_ok() {
        let mut n = Network::default();
        if read_file(&join(&dir(root, name), b"config")).ok().and_then(|b| n.decode_into(&b)).is_some() {
            return Ok(n);
        }
    }
    Err(net_err(name, m!("no such network")))
}

pub fn all(root: &Root) -> Vec<Network> {
    let d = join(&root.dir, b"networks");
    let names = sys::list_dir(&d).unwrap_or_default();
    let mut v = Vec::new();
    for (n, _) in &names {
        // (extend, not `if let Ok(x) .. push(x)`: that push was a memmove,
        // the only one left in the binary: 300 bytes of musl's on aarch64)
        v.extend(load(root, n).ok());
    }
    util::sort_by(&mut v, |a, b| a.name < b.name);
    v
}

/// The first PATH entry holding an executable `name` (init's lookup,
/// with an access check that keeps the path it accepts).
pub fn which(name: &[u8], env: &[Vec<u8>]) -> Option<Vec<u8>> {
    let found = core::cell::Cell::new(None);
    let _ = crate::engine::init::search(name, env, &|p| match sys::access_x(p) {
        0 => {
            found.set(Some(p.to_vec()));
            0
        }
        e => e,
    });
    found.into_inner()
}

/// Runs iptables to add or delete (`add`) the rule that masquerades `n`'s
/// traffic, and waits; its output goes to /dev/null. The argv is made
/// from one template (\x01..\x03: the verb, the subnet, the bridge): an
/// array of eleven slices copied into Vecs was 150 bytes more.
fn iptables_rule(ipt: &[u8], add: bool, n: &Network) -> sys::R<()> {
    let cidr = n.cidr();
    let mut argv = alloc::vec![ipt.to_vec()];
    for w in util::fields(b"-t nat \x01 POSTROUTING -s \x02 ! -o \x03 -j MASQUERADE", b' ') {
        argv.push(match w[0] {
            1 if add => b"-A".to_vec(),
            1 => b"-D".to_vec(),
            2 => cidr.clone(),
            3 => n.bridge.clone(),
            _ => w.to_vec(),
        });
    }
    let pid = sys::fork()?;
    if pid == 0 {
        crate::engine::container::null_stdio();
        sys::reset_signals();
        sys::execve(ipt, &argv, &[util::msg_text(m!("PATH=/usr/sbin:/usr/bin:/sbin:/bin")).to_vec()]);
        sys::exit(127);
    }
    match sys::waitpid(pid, 0).map(|(_, st)| sys::status_code(st))? {
        0 => Ok(()),
        _ => Err(sys::EINVAL),
    }
}

/// Adds (`add`) or deletes the masquerading of `n`'s traffic, the way its
/// record says (one function for both: two copies of the dispatch and
/// of the "iptables" compare were 100 bytes more).
#[inline(never)]
fn nat(n: &Network, env: &[Vec<u8>], add: bool) -> sys::R<()> {
    if n.nat == b"iptables" {
        let ipt = which(b"iptables", env).ok_or(sys::ENOENT)?;
        return iptables_rule(&ipt, add, n);
    }
    netlink::masq(&n.chain(), n.subnet, n.prefix, &n.bridge, add)
}

fn nat_add(n: &Network, env: &[Vec<u8>]) -> Res<()> {
    // (written straight into the error buffer: no Vec)
    nat(n, env, true).map_err(|e| Error::text(m!("set up masquerade ")).append(&n.cidr()).more(m!(" via ")).append(&n.nat).more(m!(": ")).errno(e))
}

fn nat_del(n: &Network, env: &[Vec<u8>]) {
    let _ = nat(n, env, false);
}

/// Which NAT path a new network gets: iptables if the binary is there.
pub fn nat_path(env: &[Vec<u8>]) -> &'static [u8] {
    if which(b"iptables", env).is_some() {
        b"iptables"
    } else {
        b"nftables"
    }
}

#[inline(never)]
/// Makes a bridge network; returns its id.
pub fn create(root: &Root, name: &[u8], subnet: &[u8], gateway: Option<&[u8]>, env: &[Vec<u8>]) -> Res<Vec<u8>> {
    crate::engine::config::validate_name(name)?;
    if util::word_index(b"none,host,bridge", name).is_some() {
        return Err(net_err(name, m!("is a reserved name")));
    }
    let (net, prefix) = parse_cidr(subnet).ok_or_else(|| Error::text(m!("--subnet: expected a.b.c.d/8 to /30")))?;
    let mut n = Network::default();
    (n.name, n.subnet, n.prefix, n.gateway, n.created) = (name.to_vec(), net, prefix, net + 1, sys::now().0);
    if let Some(g) = gateway {
        n.gateway = parse_ip(g).ok_or_else(|| Error::text(m!("--gateway: not an IPv4 address")))?;
        if n.gateway & mask(prefix) != net || n.gateway == net || n.gateway == n.broadcast() {
            return Err(Error::text(m!("--gateway: not a host address in the subnet")));
        }
    }
    let _lock = root.lock()?;
    let d = dir(root, name);
    if sys::lstat(&d).is_ok() {
        return Err(net_err(name, m!("already exists")));
    }
    for o in &all(root) {
        let m = mask(core::cmp::min(o.prefix, prefix));
        if o.subnet & m == net & m {
            return Err(Error::at(subnet, m!("overlaps network ")).append(&o.name).more(m!(" (")).append(&o.cidr()).more(m!(")")));
        }
    }
    let mut rnd = [0u8; 6];
    sys::random(&mut rnd);
    n.id = util::hex(&rnd);
    n.bridge = b"br-".to_vec();
    n.bridge.extend_from_slice(&n.id);
    n.nat = nat_path(env).to_vec();
    // Bridge, gateway address, up; forwarding; NAT. Undone on failure.
    netlink::bridge_add(&n.bridge).ctx(m!("create bridge"), &n.bridge)?;
    let r = (|| {
        let idx = sys::ifindex(&n.bridge).ctx(m!("find"), &n.bridge)?;
        netlink::addr_add(idx, n.gateway, prefix).ctx(m!("add the gateway address to"), &n.bridge)?;
        netlink::link_up(idx).ctx(m!("bring up"), &n.bridge)?;
        util::write_file(b"/proc/sys/net/ipv4/ip_forward", b"1").ctx(m!("enable /proc/sys/net/ipv4/ip_forward"), b"")?;
        nat_add(&n, env)?;
        let r = util::mkdir_all(&d, 0o755).ctx(m!("create"), &d).and_then(|_| write_atomic(&join(&d, b"config"), &n.encode()).ctx(m!("write"), &d));
        if r.is_err() {
            nat_del(&n, env);
            let _ = remove_tree(&d);
        }
        r
    })();
    if let Err(e) = r {
        let _ = netlink::link_del(&n.bridge);
        return Err(e);
    }
    Ok(n.id)
}

pub fn remove(root: &Root, name: &[u8], env: &[Vec<u8>]) -> Res<()> {
    {
        let _lock = root.lock()?;
        // (looked at where it was returned: no copy)
        let n = load(root, name);
        let n = match &n {
            Ok(n) => n,
            Err(e) => return Err(*e),
        };
        if let Some(c) = state::all(root).iter().find(|r| r.network == name) {
            return Err(net_err(name, m!("in use by container ")).append(c.short_id()).more(m!(" (remove it first)")));
        }
        nat_del(n, env);
        // No container uses the network any more, so a port still on the
        // bridge is the veth of a dead one whose namespace the kernel has
        // not finished tearing down (that is asynchronous, and slow under
        // emulation): delete it now, then the bridge.
        let brif = join(&join(b"/sys/class/net", &n.bridge), b"brif");
        for (port, _) in &sys::list_dir(&brif).unwrap_or_default() {
            let _ = netlink::link_del(port);
        }
        let _ = netlink::link_del(&n.bridge);
        let d = dir(root, name);
        remove_tree(&d).ctx(m!("remove"), &d)
    }
}

// ---------------------------------------------------------------- IPAM

/// The addresses leased on a network, with the container ids holding them.
pub fn leases(root: &Root, net: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let f = read_file(&join(&dir(root, net), b"ipam")).unwrap_or_default();
    let mut v = Vec::new();
    for l in util::fields(&f, b'\n') {
        if let Some(sp) = l.iter().position(|&c| c == b' ') {
            if let Some(ip) = parse_ip(&l[..sp]) {
                v.push((ip, l[sp + 1..].to_vec()));
            }
        }
    }
    v
}

fn write_leases(root: &Root, net: &[u8], v: &[(u32, Vec<u8>)]) -> Res<()> {
    let mut b = Buf::new();
    for (ip, id) in v {
        b.b(&fmt_ip(*ip)).s(" ").b(id).s("\n");
    }
    let p = join(&dir(root, net), b"ipam");
    write_atomic(&p, &b.0).ctx(m!("write"), &p)
}

/// The lowest free host address of `n` for container `id`; never the
/// network, gateway or broadcast address. Call under the state lock, with
/// the container's directory made. A lease whose container directory is
/// gone is reclaimed here (its `run` was killed before it could undo, or
/// the run-time directory of `--rm` ones went with a reboot).
pub fn allocate(root: &Root, n: &Network, id: &[u8]) -> Res<u32> {
    let mut l = leases(root, &n.name);
    keep(&mut l, &|i| state::where_is(root, i).is_some());
    if let Some((ip, _)) = l.iter().find(|(_, i)| i == id) {
        return Ok(*ip); // a restarted container keeps its address
    }
    // The lowest address past the network's that neither the gateway nor a
    // lease holds (a scan per step: a handful of leases, no sorted copy).
    let mut cand = n.subnet + 1;
    while cand == n.gateway || l.iter().any(|x| x.0 == cand) {
        cand += 1;
    }
    if cand >= n.broadcast() {
        return Err(net_err(&n.name, m!("no free addresses in the subnet")));
    }
    l.push((cand, id.to_vec()));
    write_leases(root, &n.name, &l)?;
    Ok(cand)
}

/// Keeps the leases whose id `f` accepts, in order; whether any went (one
/// loop for both callers: two `retain`s were two copies of it).
#[inline(never)]
fn keep(l: &mut Vec<(u32, Vec<u8>)>, f: &dyn Fn(&[u8]) -> bool) -> bool {
    let mut w = 0;
    for r in 0..l.len() {
        if f(&l[r].1) {
            l.swap(w, r);
            w += 1;
        }
    }
    let gone = w != l.len();
    l.truncate(w);
    gone
}

/// Releases container `id`'s address (takes the state lock); on every
/// network when `net` is unknown ("": a record that was never written).
pub fn release(root: &Root, net: &[u8], id: &[u8]) {
    if util::word_index(b"none,host", net).is_some() {
        return;
    }
    if let Ok(_lock) = root.lock() {
        if net.is_empty() {
            for n in &all(root) {
                release(root, &n.name, id); // the state lock nests
            }
            return;
        }
        let mut l = leases(root, net);
        if keep(&mut l, &|i| i != id) {
            let _ = write_leases(root, net, &l);
        }
    }
}

/// /etc/hosts and /etc/resolv.conf for a container on a bridge network:
/// the host's resolvers, unless they are loopback ones the container
/// cannot reach; then public resolvers, as docker does.
pub fn etc_files(ip: u32, hostname: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut hosts = Buf::new();
    hosts.s("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n").b(&fmt_ip(ip)).s("\t").b(hostname).s("\n");
    let host = read_file(b"/etc/resolv.conf").unwrap_or_default();
    let mut resolv = Vec::new();
    // (whether a resolver was kept noted as it is: no scan of the text)
    let mut ns_kept = false;
    for l in util::fields(&host, b'\n') {
        let ns = l.strip_prefix(b"nameserver").map(|r| r.trim_ascii());
        match ns {
            Some(a) if a.starts_with(b"127.") || a == b"::1" => continue,
            Some(_) => ns_kept = true,
            None if l.starts_with(b"search") || l.starts_with(b"options") => {}
            None => continue,
        }
        resolv.extend_from_slice(l);
        resolv.push(b'\n');
    }
    if !ns_kept {
        resolv.extend_from_slice(b"nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    (hosts.0, resolv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn addresses() {
        assert_eq!(parse_ip(b"172.18.0.1"), Some(0xac120001));
        assert_eq!(parse_ip(b"256.1.1.1"), None);
        assert_eq!(parse_ip(b"1.2.3"), None);
        assert_eq!(fmt_ip(0xac120001), b"172.18.0.1");
        assert_eq!(parse_cidr(b"10.1.2.3/16"), Some((0x0a010000, 16)));
        assert_eq!(parse_cidr(b"10.0.0.0/31"), None);
        assert_eq!(parse_cidr(b"10.0.0.0/7"), None);
        assert_eq!(parse_cidr(b"10.0.0.0"), None);
    }

    fn root_with(net: &Network) -> (Root, std::path::PathBuf) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!("mydocker-ipam-{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
        std::fs::create_dir_all(d.join("networks").join(std::ffi::OsStr::from_bytes(&net.name))).unwrap();
        (Root { dir: d.as_os_str().as_bytes().to_vec(), run: Vec::new(), overlay: true }, d)
    }

    #[test]
    fn ipam_skips_network_gateway_broadcast_and_releases() {
        for (cidr, hosts) in [(&b"10.9.0.0/30"[..], 1usize), (b"10.9.0.0/29", 5), (b"10.8.0.0/16", 65533)] {
            let (subnet, prefix) = parse_cidr(cidr).unwrap();
            let n = Network { name: b"n".to_vec(), subnet, prefix, gateway: subnet + 1, ..Network::default() };
            let (root, d) = root_with(&n);
            let take = core::cmp::min(hosts, 40);
            let mut got = Vec::new();
            for c in (0..take).map(|i| format!("c{i}")).chain(["one-too-many".into(), "new".into()]) {
                std::fs::create_dir_all(d.join("containers").join(c)).unwrap();
            }
            for i in 0..take {
                let ip = allocate(&root, &n, format!("c{i}").as_bytes()).unwrap();
                assert!(ip != n.subnet && ip != n.gateway && ip != n.broadcast() && ip & mask(prefix) == subnet);
                assert!(!got.contains(&ip));
                got.push(ip);
            }
            if hosts == take {
                assert!(allocate(&root, &n, b"one-too-many").is_err(), "{cidr:?} is full");
            }
            // the same container asking again keeps its address
            assert_eq!(allocate(&root, &n, b"c0").unwrap(), got[0]);
            release(&root, b"n", b"c0");
            assert_eq!(allocate(&root, &n, b"new").unwrap(), got[0], "released addresses are reused");
            // a lease whose container directory is gone is stale
            std::fs::remove_dir(d.join("containers/new")).unwrap();
            assert_eq!(allocate(&root, &n, b"c0").unwrap(), got[0], "stale leases are reclaimed");
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn network_records_round_trip() {
        let n = Network {
            name: b"net1".to_vec(),
            id: b"abc".to_vec(),
            subnet: 0x0a000000,
            prefix: 8,
            gateway: 0x0a000001,
            bridge: b"br-abc".to_vec(),
            nat: b"nftables".to_vec(),
            created: 5,
        };
        assert_eq!(Network::decode(&n.encode()), Some(n));
    }
}

//! Netlink, built by hand: rtnetlink(7) for links, addresses and routes
//! (no `ip` binary), and nf_tables (no `nft`/`iptables` binary) for the
//! masquerade rule of a network. Messages are byte buffers: nlmsghdr, a
//! fixed family header, then attributes (nested ones patched in place).
//! Layouts and numbers are the kernel ABI (linux/rtnetlink.h, if_link.h,
//! netfilter/nf_tables.h); integers are host order unless noted.

use crate::sys;
use alloc::vec::Vec;
use rustix::fd::{AsFd, BorrowedFd};

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_NEWROUTE: u16 = 24;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
pub const IFF_UP: u32 = 1;

pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MASTER: u16 = 10;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_NET_NS_FD: u16 = 28;
pub const IFLA_INFO_KIND: u16 = 1;
pub const IFLA_INFO_DATA: u16 = 2;
pub const VETH_INFO_PEER: u16 = 1;

/// One netlink message under construction.
pub struct Msg {
    pub buf: Vec<u8>,
    nests: Vec<usize>,
    /// Where the message being built starts (a batch holds several).
    start: usize,
}

impl Msg {
    /// nlmsghdr (length patched by `done`) followed by `hdr`.
    pub fn new(ty: u16, flags: u16, hdr: &[u8]) -> Msg {
        let mut m = Msg { buf: Vec::new(), nests: Vec::new(), start: 0 };
        m.head(ty, flags, hdr);
        m
    }
    /// Starts the next message of a batch at the end of the buffer.
    fn head(&mut self, ty: u16, flags: u16, hdr: &[u8]) {
        self.start = self.buf.len();
        let (t, f) = (ty.to_ne_bytes(), (flags | NLM_F_REQUEST).to_ne_bytes());
        // length (patched by `close`), type, flags, seq, pid
        self.buf.extend_from_slice(&[0, 0, 0, 0, t[0], t[1], f[0], f[1], 0, 0, 0, 0, 0, 0, 0, 0]);
        self.buf.extend_from_slice(hdr);
    }
    /// Patches the length of the message being built.
    fn close(&mut self) {
        let at = self.start;
        let len = (self.buf.len() - at) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_ne_bytes());
    }
    pub fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Msg {
        self.put(ty, data, 0)
    }
    /// An attribute holding `data` and `nul` (0 or 1) NUL bytes.
    #[inline(never)]
    fn put(&mut self, ty: u16, data: &[u8], nul: usize) -> &mut Msg {
        let (l, t) = (((4 + data.len() + nul) as u16).to_ne_bytes(), ty.to_ne_bytes());
        self.buf.extend_from_slice(&[l[0], l[1], t[0], t[1]]);
        self.buf.extend_from_slice(data);
        // the NUL, then padding to 4 bytes
        self.buf.resize((self.buf.len() + nul + 3) & !3, 0);
        self
    }
    /// A NUL-terminated string attribute.
    pub fn str(&mut self, ty: u16, s: &[u8]) -> &mut Msg {
        self.put(ty, s, 1)
    }
    pub fn u32(&mut self, ty: u16, v: u32) -> &mut Msg {
        self.attr(ty, &v.to_ne_bytes())
    }
    /// Big-endian u32 (nf_tables attributes).
    pub fn be32(&mut self, ty: u16, v: u32) -> &mut Msg {
        self.attr(ty, &v.to_be_bytes())
    }
    pub fn nest(&mut self, ty: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.attr(ty | NLA_F_NESTED, &[])
    }
    /// Raw bytes inside the current nest (veth's peer ifinfomsg).
    pub fn raw(&mut self, b: &[u8]) -> &mut Msg {
        self.buf.extend_from_slice(b);
        self
    }
    pub fn end(&mut self) -> &mut Msg {
        let at = self.nests.pop().unwrap_or(0);
        let len = (self.buf.len() - at) as u16;
        // (Always there: the nest's header. get_mut: no panic path, 16 B.)
        if let Some(d) = self.buf.get_mut(at..at + 2) {
            d.copy_from_slice(&len.to_ne_bytes());
        }
        self
    }
    pub fn done(&mut self) -> Vec<u8> {
        self.close();
        core::mem::take(&mut self.buf)
    }
}

/// struct ifinfomsg for `index`, setting `flags` within `change`.
/// (Four native-order words: slice copies into a byte array were 188 B.)
pub fn ifinfo(index: i32, flags: u32, change: u32) -> [[u8; 4]; 4] {
    [0, index as u32, flags, change].map(u32::to_ne_bytes)
}

/// The errno carried by an NLMSG_ERROR reply (0 = ACK), if `b` is one.
pub fn ack_errno(b: &[u8]) -> Option<i32> {
    if b.len() < 20 || u16::from_ne_bytes([b[4], b[5]]) != NLMSG_ERROR {
        return None;
    }
    Some(-i32::from_ne_bytes([b[16], b[17], b[18], b[19]]))
}

/// Sends `msgs` (one or more messages, every one asking for an ACK, or a
/// batch of which `acks` do) in one datagram and waits for `acks` replies.
/// Returns the first error.
pub fn talk(proto: i32, msgs: &[u8], acks: usize) -> sys::R<()> {
    let fd = sys::netlink_socket(proto)?; // closed when dropped, on every path
    exchange(fd.as_fd(), msgs, acks)
}

fn exchange(fd: BorrowedFd<'_>, msgs: &[u8], acks: usize) -> sys::R<()> {
    sys::send(fd, msgs)?;
    let mut first = Ok(());
    let mut seen = 0;
    let mut buf = [0u8; 4096];
    while seen < acks {
        let n = sys::recv(fd, &mut buf)?;
        let mut off = 0;
        while off + 16 <= n {
            let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
            if len < 16 || off + len > n {
                break;
            }
            if let Some(e) = ack_errno(&buf[off..off + len]) {
                seen += 1;
                if e != 0 && first.is_ok() {
                    first = Err(e);
                }
            }
            off += (len + 3) & !3;
        }
    }
    first
}

pub fn rtnl(msg: &mut Msg) -> sys::R<()> {
    talk(libc::NETLINK_ROUTE, &msg.done(), 1)
}

/// Brings interface `index` up (1 is always `lo` in a new network namespace).
pub fn link_up(index: i32) -> sys::R<()> {
    rtnl(&mut named(RTM_NEWLINK, 0, index, b"", IFF_UP))
}

/// A link message about the link named `name` (ifinfomsg setting `up`
/// in the flags it changes), asking for an ACK. (One copy of the start
/// that every by-name message shares.)
/// (`name` empty: the link is `index`, and none is named.)
#[inline(never)]
fn named(ty: u16, flags: u16, index: i32, name: &[u8], up: u32) -> Msg {
    let mut m = Msg::new(ty, NLM_F_ACK | flags, ifinfo(index, up, up).as_flattened());
    if !name.is_empty() {
        m.str(IFLA_IFNAME, name);
    }
    m
}

/// A new link `name` of `kind`, its IFLA_LINKINFO nest left open.
fn new_link(name: &[u8], kind: &[u8]) -> Msg {
    let mut m = named(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name, 0);
    m.nest(IFLA_LINKINFO).str(IFLA_INFO_KIND, kind);
    m
}

/// Sets a link up (and optionally its master) by name.
pub fn link_set(name: &[u8], master: Option<i32>) -> sys::R<()> {
    let mut m = named(RTM_NEWLINK, 0, 0, name, IFF_UP);
    if let Some(i) = master {
        m.u32(IFLA_MASTER, i as u32);
    }
    rtnl(&mut m)
}

pub fn link_del(name: &[u8]) -> sys::R<()> {
    rtnl(&mut named(RTM_DELLINK, 0, 0, name, 0))
}

/// A bridge device named `name`.
pub fn bridge_add(name: &[u8]) -> sys::R<()> {
    rtnl(new_link(name, b"bridge").end())
}

/// A veth pair: `host` here, its peer created as `peer` directly inside
/// the network namespace `netns` (a descriptor of it).
pub fn veth_add(host: &[u8], peer: &[u8], netns: sys::Fd) -> sys::R<()> {
    let mut m = new_link(host, b"veth");
    m.nest(IFLA_INFO_DATA).nest(VETH_INFO_PEER);
    m.raw(ifinfo(0, 0, 0).as_flattened()).str(IFLA_IFNAME, peer).u32(IFLA_NET_NS_FD, netns as u32);
    m.end().end().end();
    rtnl(&mut m)
}

/// Adds `ip/prefix` to interface `index` (IFA_LOCAL + IFA_ADDRESS + broadcast).
pub fn addr_add(index: i32, ip: u32, prefix: u8) -> sys::R<()> {
    let mut h = [0u8; 8];
    h[0] = libc::AF_INET as u8;
    h[1] = prefix;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    let bcast = ip | (u32::MAX >> prefix);
    let mut m = Msg::new(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &h);
    m.attr(2, &ip.to_be_bytes()).attr(1, &ip.to_be_bytes()).attr(4, &bcast.to_be_bytes());
    rtnl(&mut m)
}

/// The default route via `gw`.
pub fn default_route(gw: u32) -> sys::R<()> {
    // struct rtmsg: family, dst_len, src_len, tos, table=MAIN, protocol=BOOT,
    // scope=UNIVERSE, type=UNICAST, flags
    let h = [libc::AF_INET as u8, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
    let mut m = Msg::new(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &h);
    m.attr(5, &gw.to_be_bytes());
    rtnl(&mut m)
}

// ---------------------------------------------------------------- nf_tables

const NFNL_SUBSYS_NFTABLES: u16 = 10;

/// struct nfgenmsg: family NFPROTO_IPV4, version 0, res_id 0.
const NFGEN: &[u8] = &[libc::AF_INET as u8, 0, 0, 0];
/// NFNL_MSG_BATCH_BEGIN/END carry nfgenmsg with res_id = NFNL_SUBSYS_NFTABLES (big endian).
const EDGE: &[u8] = &[0, 0, 0, NFNL_SUBSYS_NFTABLES as u8];

/// The nf_tables messages as a little program (a table, not ~35 calls
/// with their arguments: ~340 bytes less). One byte an op, high nibble
/// the op, low nibble the attribute type:
/// 0x6T lo hi: a new message of type T with flags lo | hi << 8;
/// 0x1T: open nest T; 0x20: close it; 0x3T v: big-endian u32 attribute v;
/// 0x4T n <n bytes>: string attribute (NUL added); 0x5T k: attribute
/// holding `vals[k]`; 0x7T: string attribute holding `chain`.
/// The result is the whole batch, in one buffer: BATCH_BEGIN, the
/// messages, BATCH_END.
fn nft(prog: &[u8], chain: &[u8], vals: &[&[u8]]) -> Vec<u8> {
    let mut m = Msg::new(16, 0, EDGE);
    let mut i = 0;
    while i < prog.len() {
        let (op, t) = (prog[i] >> 4, (prog[i] & 15) as u16);
        let a = *prog.get(i + 1).unwrap_or(&0);
        i += 1;
        match op {
            1 => {
                m.nest(t);
            }
            2 => {
                m.end();
            }
            3 => {
                m.be32(t, a as u32);
                i += 1;
            }
            4 => {
                m.str(t, &prog[i + 1..i + 1 + a as usize]);
                i += 1 + a as usize;
            }
            5 => {
                m.attr(t, vals[a as usize]);
                i += 1;
            }
            6 => {
                m.close();
                m.head((NFNL_SUBSYS_NFTABLES << 8) | t, u16::from_le_bytes([a, prog[i + 1]]), NFGEN);
                i += 2;
            }
            _ => {
                m.str(t, chain);
            }
        }
    }
    m.close();
    m.head(17, 0, EDGE);
    m.done()
}

/// `ip saddr SUBNET oifname != BRIDGE masquerade` in chain `chain` of
/// table `mydocker`, hooked at postrouting (srcnat): NEWTABLE, NEWCHAIN
/// (hook 4, priority 100, type nat), NEWRULE (append) with the
/// expressions payload (network header offset 12, 4 bytes: saddr -> reg
/// 1), bitwise (reg1 = (reg1 & mask) ^ 0), cmp eq subnet, meta oifname ->
/// reg 1, cmp neq bridge, masq. Create | ack, as 0x404.
const MASQ: &[u8] = b"\x60\x04\x04\x41\x08mydocker\
    \x63\x04\x04\x41\x08mydocker\x73\x14\x31\x04\x32\x64\x20\x47\x03nat\
    \x66\x04\x0c\x41\x08mydocker\x72\x14\
    \x11\x41\x07payload\x12\x31\x01\x32\x01\x33\x0c\x34\x04\x20\x20\
    \x11\x41\x07bitwise\x12\x31\x01\x32\x01\x33\x04\x14\x51\x00\x20\x15\x51\x01\x20\x20\x20\
    \x11\x41\x03cmp\x12\x31\x01\x32\x00\x13\x51\x02\x20\x20\x20\
    \x11\x41\x04meta\x12\x31\x01\x32\x07\x20\x20\
    \x11\x41\x03cmp\x12\x31\x01\x32\x01\x13\x51\x03\x20\x20\x20\
    \x11\x41\x04masq\x12\x20\x20\x20";

/// DELRULE (flush) and DELCHAIN of the chain, ack only.
const UNMASQ: &[u8] = b"\x68\x04\x00\x41\x08mydocker\x72\x65\x04\x00\x41\x08mydocker\x73";

/// The messages of `prog` (MASQ or UNMASQ) for the chain of a network
/// (UNMASQ uses none of its numbers).
fn masq_prog(prog: &[u8], chain: &[u8], net: u32, prefix: u8, bridge: &[u8]) -> Vec<u8> {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    let mut ifname = [0u8; 16];
    ifname[..bridge.len()].copy_from_slice(bridge);
    nft(prog, chain, &[&mask.to_be_bytes(), &[0; 4], &(net & mask).to_be_bytes(), &ifname])
}

/// The messages that add the masquerade rule (see MASQ).
#[cfg(test)]
pub fn masq_msgs(chain: &[u8], net: u32, prefix: u8, bridge: &[u8]) -> Vec<u8> {
    masq_prog(MASQ, chain, net, prefix, bridge)
}

/// Adds (`add`) the masquerade rule of a network, or flushes and deletes
/// its chain. (One call of the program and the exchange for both.)
pub fn masq(chain: &[u8], net: u32, prefix: u8, bridge: &[u8], add: bool) -> sys::R<()> {
    let (prog, acks) = if add { (MASQ, 3) } else { (UNMASQ, 2) };
    talk(libc::NETLINK_NETFILTER, &masq_prog(prog, chain, net, prefix, bridge), acks)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference builders' numbers (MASQ and UNMASQ carry them).
    const NFT_MSG_NEWTABLE: u16 = 0;
    const NFT_MSG_NEWCHAIN: u16 = 3;
    const NFT_MSG_DELCHAIN: u16 = 5;
    const NFT_MSG_NEWRULE: u16 = 6;
    const NFT_MSG_DELRULE: u16 = 8;
    const TABLE: &[u8] = b"mydocker";

    fn nfmsg(ty: u16, flags: u16) -> Msg {
        Msg::new((NFNL_SUBSYS_NFTABLES << 8) | ty, flags, NFGEN)
    }

    /// The reference batch: BEGIN, the messages, END, each built alone.
    fn batch(msgs: &[Vec<u8>]) -> Vec<u8> {
        let edge = |ty: u16| Msg::new(ty, 0, &[0, 0, 0, NFNL_SUBSYS_NFTABLES as u8]).done();
        let mut v = edge(16);
        for m in msgs {
            v.extend_from_slice(m);
        }
        v.extend_from_slice(&edge(17));
        v
    }

    /// A batch cut back into its messages.
    fn split(mut b: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while !b.is_empty() {
            let n = u32::from_ne_bytes(b[0..4].try_into().unwrap()) as usize;
            v.push(b[..n].to_vec());
            b = &b[n..];
        }
        v
    }

    #[test]
    fn link_up_layout() {
        let m = Msg::new(RTM_NEWLINK, NLM_F_ACK, ifinfo(1, IFF_UP, IFF_UP).as_flattened()).done();
        assert_eq!(m.len(), 32);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 32);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 16);
        assert_eq!(u16::from_ne_bytes(m[6..8].try_into().unwrap()), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 1);
        assert_eq!(u32::from_ne_bytes(m[24..28].try_into().unwrap()), 1);
    }

    #[test]
    fn nested_attributes_are_patched() {
        let mut m = Msg::new(RTM_NEWLINK, 0, &[]);
        m.str(IFLA_IFNAME, b"br0").nest(IFLA_LINKINFO).str(IFLA_INFO_KIND, b"bridge").end();
        let b = m.done();
        // ifname: len 8 ("br0\0" + 4), then nest of 4 + kind attr (4 + "bridge\0" = 11 -> padded 12)
        assert_eq!(&b[16..24], &[8, 0, 3, 0, b'b', b'r', b'0', 0]);
        assert_eq!(u16::from_ne_bytes(b[24..26].try_into().unwrap()), 4 + 12, "a nest covers its padded contents");
        assert_eq!(u16::from_ne_bytes(b[26..28].try_into().unwrap()), IFLA_LINKINFO | NLA_F_NESTED);
        assert_eq!(b.len(), 24 + 4 + 12);
    }

    #[test]
    fn acks() {
        let mut r = alloc::vec![0u8; 36];
        r[4..6].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(ack_errno(&r), Some(0));
        r[16..20].copy_from_slice(&(-17i32).to_ne_bytes());
        assert_eq!(ack_errno(&r), Some(17));
        r[4..6].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(ack_errno(&r), None);
    }

    /// One expression of a rule: its name, then its data: big-endian u32
    /// attributes, then nests holding one value each (NFTA_DATA_VALUE). As
    /// tables: a closure per expression was 100-150 bytes of code each.
    fn ref_expr(m: &mut Msg, name: &[u8], nums: &[(u16, u32)], vals: &[(u16, &[u8])]) {
        m.nest(1).str(1, name).nest(2); // NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA }
        for &(t, v) in nums {
            m.be32(t, v);
        }
        for &(t, v) in vals {
            m.nest(t).attr(1, v).end();
        }
        m.end().end();
    }

    /// The messages that add `ip saddr SUBNET oifname != BRIDGE masquerade` in
    /// its own chain of table `mydocker`, hooked at postrouting (srcnat).
    fn ref_masq_msgs(chain: &[u8], net: u32, prefix: u8, bridge: &[u8]) -> Vec<Vec<u8>> {
        let f = NLM_F_ACK | NLM_F_CREATE;
        let mut t = nfmsg(NFT_MSG_NEWTABLE, f);
        t.str(1, TABLE);
        let mut c = nfmsg(NFT_MSG_NEWCHAIN, f);
        c.str(1, TABLE).str(3, chain).nest(4).be32(1, 4).be32(2, 100).end().str(7, b"nat");
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        let mut ifname = [0u8; 16];
        ifname[..bridge.len()].copy_from_slice(bridge);
        let mut r = nfmsg(NFT_MSG_NEWRULE, f | 0x800 /* NLM_F_APPEND */);
        r.str(1, TABLE).str(2, chain).nest(4);
        // payload: network header offset 12, 4 bytes (saddr) -> reg 1
        ref_expr(&mut r, b"payload", &[(1, 1), (2, 1), (3, 12), (4, 4)], &[]);
        // bitwise: reg1 = (reg1 & mask) ^ 0
        ref_expr(&mut r, b"bitwise", &[(1, 1), (2, 1), (3, 4)], &[(4, &mask.to_be_bytes()), (5, &[0; 4])]);
        // cmp eq subnet
        ref_expr(&mut r, b"cmp", &[(1, 1), (2, 0)], &[(3, &(net & mask).to_be_bytes())]);
        // meta oifname -> reg 1; cmp neq bridge
        ref_expr(&mut r, b"meta", &[(1, 1), (2, 7)], &[]);
        ref_expr(&mut r, b"cmp", &[(1, 1), (2, 1)], &[(3, &ifname)]);
        ref_expr(&mut r, b"masq", &[], &[]);
        r.end();
        alloc::vec![t.done(), c.done(), r.done()]
    }

    fn ref_masq_del(chain: &[u8]) -> Vec<Vec<u8>> {
        let mut r = nfmsg(NFT_MSG_DELRULE, NLM_F_ACK);
        r.str(1, TABLE).str(2, chain);
        let mut c = nfmsg(NFT_MSG_DELCHAIN, NLM_F_ACK);
        c.str(1, TABLE).str(3, chain);
        alloc::vec![r.done(), c.done()]
    }

    #[test]
    fn programs_match_the_reference_builders() {
        for (chain, net, prefix, bridge) in
            [(&b"post-br-0123456789ab"[..], 0xac140000u32, 16u8, &b"br-0123456789ab"[..]), (b"p", 0x0a000000, 8, b"br0"), (b"post-x", 0xc0a80100, 30, b"")]
        {
            assert_eq!(masq_msgs(chain, net, prefix, bridge), batch(&ref_masq_msgs(chain, net, prefix, bridge)));
            assert_eq!(nft(UNMASQ, chain, &[]), batch(&ref_masq_del(chain)));
        }
    }

    #[test]
    fn masquerade_batch_shape() {
        let all = split(&masq_msgs(b"post-br0", 0xac140000, 16, b"br0"));
        assert_eq!(all.len(), 5);
        assert_eq!((u16::from_ne_bytes([all[0][4], all[0][5]]), u16::from_ne_bytes([all[4][4], all[4][5]])), (16, 17));
        let msgs = &all[1..4];
        for m in msgs {
            assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize, m.len());
            assert_eq!(m[4 + 1], NFNL_SUBSYS_NFTABLES as u8, "subsystem in the high byte of the type");
        }
        let rule = &msgs[2];
        for needle in [&b"payload"[..], b"bitwise", b"cmp", b"meta", b"masq", &[0xffu8, 0xff, 0, 0], &[0xac, 0x14, 0, 0]] {
            assert!(rule.windows(needle.len()).any(|w| w == needle), "{needle:?}");
        }
    }
}

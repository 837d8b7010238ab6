//! `network create|ls|rm|inspect`: the engine's networks, printed as
//! docker prints them.

use super::out::{each, line_to, out, report};
use crate::engine::json::tpl_m;
use crate::engine::network;
use crate::engine::state::Root;
use crate::engine::util::{self, Buf, Res};
use alloc::vec::Vec;

pub fn create(root: &Root, name: &[u8], subnet: &[u8], gateway: Option<&[u8]>, env: &[Vec<u8>]) -> Res<i32> {
    let id = network::create(root, name, subnet, gateway, env)?;
    line_to(1, b"", &id);
    Ok(0)
}

pub fn rm(root: &Root, names: &[&[u8]], env: &[Vec<u8>]) -> i32 {
    crate::engine::container::reap_dead(root);
    each(names, true, &mut |n| network::remove(root, n, env))
}

pub fn ls(root: &Root, quiet: bool) -> i32 {
    let mut b = Buf::new();
    let nets = network::all(root);
    if quiet {
        for n in &nets {
            b.b(&n.name).s("\n");
        }
    } else {
        // The header padded as the rows are (col 36, 73): a literal.
        crate::engine::util::push_msg(&mut b.0, m!("NETWORK ID     NAME                 DRIVER    SUBNET                     GATEWAY\n"));
        for n in &nets {
            b.b(&n.id).s("   ").b(&n.name).col(36, 3).s("bridge    ").b(&n.cidr()).col(73, 3).b(&network::fmt_ip(n.gateway)).s("\n");
        }
        // The two built-in networks, as docker lists them.
        crate::engine::util::push_msg(&mut b.0, m!("host           host                 host\nnone           none                 null\n"));
    }
    out(&b.0);
    0
}

pub fn inspect(root: &Root, names: &[&[u8]]) -> i32 {
    let mut b = Buf::new();
    b.s("[");
    let mut code = 0;
    for name in names {
        let r = network::load(root, name);
        let n = match &r {
            Ok(n) => n,
            Err(e) => {
                report(*e);
                code = 1;
                continue;
            }
        };
        // past the "[", an object before this one
        if b.0.len() > 1 {
            b.s(",");
        }
        json(&mut b, root, n);
    }
    b.s("]\n");
    out(&b.0);
    code
}

/// One network in `network inspect`'s array. (Out of line: read through
/// the reference, where the loop moved every field of the loaded network
/// into a stack slot and back.)
#[inline(never)]
fn json(b: &mut Buf, root: &Root, n: &network::Network) {
    let t = m!("{\"Name\":\x07,\"Id\":\"\x02\",\"Created\":\"\x02\",\"Driver\":\"bridge\",\"Bridge\":\"\x02\",\"NAT\":\"\x02\",\"IPAM\":{\"Config\":[{\"Subnet\":\"\x02\",\"Gateway\":\"\x02\"}]},\"Containers\":{");
    tpl_m(b, t, 0, &[&n.name, &n.id, &util::rfc3339(n.created), &n.bridge, &n.nat, &n.cidr(), &network::fmt_ip(n.gateway)], &[], &[]);
    for (i, (ip, id)) in network::leases(root, &n.name).iter().enumerate() {
        tpl_m(b, m!(",\"\x02\":{\"IPv4Address\":\"\x02/\x03\"}"), (i == 0) as usize, &[id, &network::fmt_ip(*ip)], &[n.prefix as i64], &[]);
    }
    b.s("}}");
}

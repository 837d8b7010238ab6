//! Minimal rtnetlink (rtnetlink(7)): enough to bring an interface up
//! without an `ip` binary. Messages are built as bytes; the layout of
//! nlmsghdr and ifinfomsg is fixed by the kernel ABI (host byte order).

use crate::sys;
use alloc::vec::Vec;

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const IFF_UP: u32 = 1;

/// nlmsghdr + ifinfomsg asking to set IFF_UP on interface `index`.
pub fn link_up_msg(index: i32, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel
    m.push(0); // ifi_family AF_UNSPEC
    m.push(0); // pad
    m.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    m.extend_from_slice(&index.to_ne_bytes());
    m.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_flags
    m.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_change
    m
}

/// The errno carried by an NLMSG_ERROR reply (0 = ACK), if `b` is one.
pub fn ack_errno(b: &[u8]) -> Option<i32> {
    if b.len() < 20 || u16::from_ne_bytes([b[4], b[5]]) != NLMSG_ERROR {
        return None;
    }
    Some(-i32::from_ne_bytes([b[16], b[17], b[18], b[19]]))
}

/// Brings interface `index` up (1 is always `lo` in a new network namespace).
pub fn link_up(index: i32) -> sys::R<()> {
    let fd = sys::netlink_socket()?;
    let r = (|| {
        sys::send(fd, &link_up_msg(index, 1))?;
        let mut buf = [0u8; 256];
        let n = sys::recv(fd, &mut buf)?;
        match ack_errno(&buf[..n]) {
            Some(0) => Ok(()),
            Some(e) => Err(e),
            None => Err(sys::EINVAL),
        }
    })();
    sys::close(fd);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let m = link_up_msg(1, 7);
        assert_eq!(m.len(), 32);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 32);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), 16);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 1);
        assert_eq!(u32::from_ne_bytes(m[24..28].try_into().unwrap()), 1);
    }

    #[test]
    fn acks() {
        let mut r = alloc::vec![0u8; 36];
        r[4..6].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(ack_errno(&r), Some(0));
        r[16..20].copy_from_slice(&(-1i32).to_ne_bytes());
        assert_eq!(ack_errno(&r), Some(1));
        r[4..6].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(ack_errno(&r), None);
    }
}

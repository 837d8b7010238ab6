//! Test helper: a static UDP echo server, bind-mounted into containers by
//! tests/network.rs (the busybox image has no UDP server of its own).
//! Usage: udp_echo PORT
use std::net::UdpSocket;

fn main() {
    let port = std::env::args().nth(1).unwrap_or_else(|| "5353".into());
    let s = UdpSocket::bind(format!("0.0.0.0:{port}")).expect("bind");
    let mut b = [0u8; 2048];
    loop {
        if let Ok((n, peer)) = s.recv_from(&mut b) {
            let _ = s.send_to(&b[..n], peer);
        }
    }
}

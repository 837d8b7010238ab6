//! Published ports (`-p [IP:]HOST:CTR[/tcp|udp]`), forwarded in user space
//! by the process that waits for the container (its monitor, or the CLI in
//! the foreground). This works with no iptables or nft at all, reaches the
//! container from other hosts and from the host's own 127.0.0.1 alike, and
//! the listening sockets are bound before anything is created, so a port
//! already published elsewhere is an error at `run`.
//!
//! TCP: one non-blocking pair of sockets per connection, each direction
//! copied through a buffer only while the other side cannot take the data
//! (backpressure: a side is not read while its data waits), with half-close
//! passed on. UDP: a connected socket towards the container per client,
//! forgotten after a minute of silence.

use crate::engine::config::Port;
use crate::engine::util::{Error, Res};
use crate::sys::{self, fd::Owned, Fd, POLLIN, POLLOUT};
use alloc::vec::Vec;

/// Binds every published port now: an address in use is reported before
/// the container exists. (On an error, those bound so far are dropped.)
pub fn bind_all(ports: &[Port]) -> Res<Vec<Owned>> {
    let mut fds = Vec::new();
    for p in ports {
        match sys::bind_inet(p.host_ip, p.host_port, p.udp) {
            Ok(fd) => fds.push(fd),
            Err(e) => {
                let what = p.text();
                return Err(if e == libc::EADDRINUSE { Error::at(&what, m!("port is already allocated")) } else { Error::sys(m!("bind"), &what, e) });
            }
        }
    }
    Ok(fds)
}

struct Side {
    fd: Owned,
    /// Data read from the other side, not yet written to this one.
    pending: Vec<u8>,
    /// The other side reached EOF; shut this one's write side when flushed.
    eof_in: bool,
    shut: bool,
}

struct Conn {
    s: [Side; 2], // [client, container]
    /// The connect to the container is still in progress: nothing is read
    /// from the client until it completes. A slow connect stalls no one.
    connecting: bool,
}

struct Flow {
    listener: Fd,
    ip: u32,
    port: u16,
    sock: Owned,
    last: u64,
}

/// The listeners are borrowed (their owner is the caller's `port_fds`,
/// which outlives the proxy); connections and flows own their sockets,
/// closed as they are dropped from `conns` and `flows`.
pub struct Proxy {
    target: u32,
    listeners: Vec<(Port, Fd)>,
    conns: Vec<Conn>,
    flows: Vec<Flow>,
    /// One datagram or chunk of a stream. On the heap, not in the waiting
    /// loop's frame: stack probes would make every monitor touch it.
    buf: Vec<u8>,
}

impl Proxy {
    pub fn new(target: u32, ports: &[Port], fds: &[Owned]) -> Proxy {
        Proxy {
            target,
            listeners: {
                // (a loop, not a zip/map/collect chain of its own)
                let mut v = Vec::new();
                // (a zip: no bounds checks; there is a socket per port)
                for (p, fd) in ports.iter().zip(fds) {
                    v.push((p.clone(), fd.raw()));
                }
                v
            },
            conns: Vec::new(),
            flows: Vec::new(),
            buf: alloc::vec![0u8; 65536],
        }
    }

    pub fn fds(&self, out: &mut Vec<sys::PollFd>) {
        for (_, fd) in &self.listeners {
            out.push(sys::pollfd(*fd, POLLIN));
        }
        for c in &self.conns {
            if c.connecting {
                out.push(sys::pollfd(c.s[1].fd.raw(), POLLOUT));
                continue;
            }
            for i in 0..2 {
                let (me, other) = (&c.s[i], &c.s[1 - i]);
                // read from me only when the other side has nothing waiting
                let mut ev = if other.pending.is_empty() && !other.eof_in { POLLIN } else { 0 };
                if !me.pending.is_empty() {
                    ev |= POLLOUT;
                }
                out.push(sys::pollfd(me.fd.raw(), ev));
            }
        }
        for f in &self.flows {
            out.push(sys::pollfd(f.sock.raw(), POLLIN));
        }
    }

    /// Works through what poll found on the descriptors `fds` gave.
    pub fn ready(&mut self, rev: &[sys::PollFd]) {
        let now = sys::mono_ms();
        let mut i = 0;
        // (get: no bounds check, no panic path)
        while let Some(l) = self.listeners.get(i) {
            let (udp, port, fd) = (l.0.udp, l.0.ctr_port, l.1);
            i += 1;
            if hit(rev, fd) == 0 {
                continue;
            }
            if udp {
                self.udp_in(fd, port, now);
            } else {
                while let Ok(a) = sys::accept(fd) {
                    // (`a` is dropped, and closed, if the container refuses)
                    if let Ok(b) = sys::connect_inet(self.target, port, false) {
                        self.conns.push(Conn { s: [side(a), side(b)], connecting: true });
                    }
                }
            }
        }
        let mut buf = core::mem::take(&mut self.buf);
        // By hand, not `retain`s: each was two copies of its loop. (The
        // order of the connections and flows is not used.)
        let mut i = 0;
        while let Some(c) = self.conns.get_mut(i) {
            if conn_ready(c, rev, &mut buf) {
                i += 1;
            } else {
                // Its sockets close as it is dropped.
                self.conns.swap_remove(i);
            }
        }
        // UDP replies from the container back to each client; a flow
        // silent for a minute is dropped (and its socket closed).
        let mut i = 0;
        while let Some(f) = self.flows.get_mut(i) {
            if hit(rev, f.sock.raw()) & POLLIN != 0 {
                while let Ok(n) = sys::read(f.sock.raw(), &mut buf) {
                    let _ = sys::send_to(f.listener, &buf[..n], f.ip, f.port);
                    f.last = now;
                }
            }
            if now - f.last < 60_000 {
                i += 1;
            } else {
                self.flows.swap_remove(i);
            }
        }
        self.buf = buf;
    }

    fn udp_in(&mut self, lfd: Fd, ctr_port: u16, now: u64) {
        let mut buf = core::mem::take(&mut self.buf);
        while let Ok((n, ip, port)) = sys::recv_from(lfd, &mut buf) {
            let mut sock = -1;
            for f in self.flows.iter_mut() {
                if f.listener == lfd && f.ip == ip && f.port == port {
                    f.last = now;
                    sock = f.sock.raw();
                }
            }
            if sock < 0 {
                let Ok(s) = sys::connect_inet(self.target, ctr_port, true) else { continue };
                sock = s.raw();
                self.flows.push(Flow { listener: lfd, ip, port, sock: s, last: now });
            }
            let _ = sys::write(sock, &buf[..n]);
        }
        self.buf = buf;
    }
}

/// Moves what poll found ready on connection `c`; false once it is done
/// with (broken, or both ways shut), its buffers given back.
#[inline(never)]
fn conn_ready(c: &mut Conn, rev: &[sys::PollFd], buf: &mut [u8]) -> bool {
    let mut dead = false;
    if c.connecting {
        if hit(rev, c.s[1].fd.raw()) == 0 {
            return true;
        }
        c.connecting = false;
        dead = sys::sock_error(c.s[1].fd.raw()) != 0;
    }
    for i in 0..2 {
        if dead {
            break;
        }
        let ev = hit(rev, c.s[i].fd.raw());
        if ev & POLLOUT != 0 || (ev != 0 && !c.s[i].pending.is_empty()) {
            dead |= flush(&mut c.s[i]);
        }
        if ev & (POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && c.s[1 - i].pending.is_empty() && !c.s[1 - i].eof_in {
            match sys::read(c.s[i].fd.raw(), buf) {
                Ok(0) => c.s[1 - i].eof_in = true,
                Ok(n) => c.s[1 - i].pending.extend_from_slice(&buf[..n]),
                Err(libc::EAGAIN) => {}
                Err(_) => dead = true,
            }
            dead |= flush(&mut c.s[1 - i]);
        }
    }
    let done = c.s[0].shut && c.s[1].shut;
    if dead || done {
        // Its buffers go back (dropping frees nothing, see sys::Malloc).
        for s in c.s.iter_mut() {
            sys::free(core::mem::take(&mut s.pending));
        }
    }
    !(dead || done)
}

/// The events poll found on `fd` (0: none, or not polled).
#[inline(never)]
fn hit(rev: &[sys::PollFd], fd: Fd) -> i16 {
    for p in rev {
        if p.fd == fd {
            return p.revents;
        }
    }
    0
}

fn side(fd: Owned) -> Side {
    Side { fd, pending: Vec::new(), eof_in: false, shut: false }
}

/// Writes what is pending; passes EOF on once drained. true = broken.
fn flush(s: &mut Side) -> bool {
    while !s.pending.is_empty() {
        match sys::write(s.fd.raw(), &s.pending) {
            Ok(n) => {
                // The unwritten rest to the front, by hand: `drain` is a
                // memmove (300 bytes of musl's on aarch64).
                let p = &mut s.pending;
                for k in n..p.len() {
                    p[k - n] = p[k];
                }
                p.truncate(p.len() - n);
            }
            Err(libc::EAGAIN) => return false,
            Err(_) => return true,
        }
    }
    if s.eof_in && !s.shut {
        sys::shutdown_write(s.fd.raw());
        s.shut = true;
    }
    false
}

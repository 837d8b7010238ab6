//! Bridge networks as root. A network namespace joined to this host by a
//! veth pair plays "another host" (10.210.0.2, the host is 10.210.0.1).
//! Every NAT test runs twice: with iptables on PATH, and hidden from it
//! (mydocker then programs nf_tables over netlink itself).

#[macro_use]
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

const NO_IPTABLES: &str = "/usr/bin:/bin"; // iptables lives in /usr/sbin (and /sbin)

fn sh(cmd: &str) -> (bool, String) {
    let o = Command::new("sh").args(["-c", cmd]).output().unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
}

/// The other host: namespace `ns`, reachable as 10.210.N.2, serving HTTP on 8000.
struct Other {
    ns: String,
    host_if: String,
}

impl Other {
    fn new(tag: &str, n: u8) -> Other {
        let ns = format!("mdt-{tag}");
        let host_if = format!("mdh-{tag}");
        let _ = sh(&format!("ip netns del {ns} 2>/dev/null; ip link del {host_if} 2>/dev/null"));
        let www = format!("/tmp/mdt-www-{tag}");
        let script = format!(
            "set -e; ip netns add {ns}; ip link add {host_if} type veth peer name eth0 netns {ns}; \
             ip addr add 10.210.{n}.1/24 dev {host_if}; ip link set {host_if} up; \
             ip netns exec {ns} ip addr add 10.210.{n}.2/24 dev eth0; ip netns exec {ns} ip link set eth0 up; ip netns exec {ns} ip link set lo up; \
             mkdir -p {www}; echo other-host > {www}/index.html; ip netns exec {ns} busybox httpd -p 8000 -h {www}"
        );
        let (ok, out) = sh(&script);
        assert!(ok, "{out}");
        Other { ns, host_if }
    }
    fn exec(&self, cmd: &str) -> (bool, String) {
        sh(&format!("ip netns exec {} {cmd}", self.ns))
    }
}

impl Drop for Other {
    fn drop(&mut self) {
        let _ = sh(&format!("ip netns pids {ns} | xargs -r kill; ip netns del {ns}; ip link del {} 2>/dev/null", self.host_if, ns = self.ns));
    }
}

fn md_path(t: &T, path: &str, args: &[&str]) -> Out {
    let o = t.cmd().env("PATH", path).args(args).output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    Out { code: o.status.code().unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)), out: o.stdout, err: String::from_utf8_lossy(&o.stderr).into_owned() }
}

fn ip_of(t: &T, name: &str) -> String {
    let js = t.md(&["inspect", name]).stdout();
    js.split("\"IPAddress\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default().to_string()
}

/// No bridge, veth or rule of ours is left for `subnet`.
fn assert_net_gone(subnet: &str) {
    let (_, links) = sh("ip -o link");
    assert!(!links.lines().any(|l| l.contains(": br-") || l.contains(": ve")), "links left:\n{links}");
    let (_, addrs) = sh("ip -o addr");
    let prefix = subnet.rsplitn(2, '.').nth(1).unwrap();
    assert!(!addrs.contains(prefix), "address left:\n{addrs}");
    let (_, ipt) = sh("iptables -t nat -S POSTROUTING");
    assert!(!ipt.contains(subnet), "iptables rule left:\n{ipt}");
    let (_, nft) = sh("nft list ruleset 2>/dev/null");
    assert!(!nft.contains(subnet.split('/').next().unwrap()), "nf_tables rule left:\n{nft}");
}

fn nat_and_ports(path: &str, tag: &str, n: u8) {
    let mut t = t!();
    let other = Other::new(tag, n);
    let subnet = format!("172.{}.0.0/16", 20 + n);
    let o = md_path(&t, path, &["network", "create", "--subnet", &subnet, "net1"]);
    assert_eq!(o.code, 0, "{}", o.err);
    let info = md_path(&t, path, &["info"]).stdout();
    let want = if path == NO_IPTABLES { "nf_tables over netlink" } else { "iptables" };
    assert!(info.contains(&format!("NAT for new networks: {want}")), "{info}");

    // Two containers on the network reach each other by address.
    t.detach(&["--name", "a", "--network", "net1", "busybox", "sleep", "60"]);
    let a_ip = ip_of(&t, "a");
    assert!(a_ip.starts_with(&format!("172.{}.", 20 + n)), "{a_ip}");
    let o = t.run(&["--network", "net1", "busybox", "ping", "-c", "1", "-W", "3", &a_ip]);
    assert_eq!(o.code, 0, "ping {a_ip}: {} {}", o.stdout(), o.err);
    let o = t.run(&["--network", "net1", "busybox", "sh", "-c", "grep -c . /etc/hosts; grep nameserver /etc/resolv.conf | head -1; ip route | grep default"]);
    assert!(o.stdout().contains("default via") && o.stdout().contains("nameserver"), "{}", o.stdout());

    // Out through the host's NAT: the other host has no route back to the
    // container's subnet, so this only works masqueraded.
    // (busybox 1.35's `wget -T` segfaults, on the host too: `timeout` instead;
    // busybox timeout execs the program and kills it from a child, so with
    // --init: a PID 1 of the container would ignore its SIGTERM and hang)
    // (30 s: the first SYNs are often lost on this path, and the retries
    // come after 1, 2, 4 and 8 s; a 10 s limit failed now and then)
    let o = t.run(&["--network", "net1", "--init", "busybox", "timeout", "30", "wget", "-qO-", &format!("http://10.210.{n}.2:8000/")]);
    assert_eq!(o.stdout(), "other-host\n", "{}", o.err);

    // Published ports, TCP and UDP: from the host's loopback and from the other host.
    let tcp = 18000 + n as u16;
    let udp = 19000 + n as u16;
    // the UDP echo helper is bind-mounted as a single-file volume
    let echo = std::env::var("MYDOCKER_UDP_ECHO")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target/x86_64-unknown-linux-musl/release/examples/udp_echo").into());
    assert!(std::path::Path::new(&echo).exists(), "build it: cargo build --release --example udp_echo --target x86_64-unknown-linux-musl");
    let vol = format!("{echo}:/udp_echo:ro");
    let id = t.detach(&[
        "--name",
        "srv",
        "--network",
        "net1",
        "-v",
        &vol,
        "-p",
        &format!("{tcp}:80"),
        "-p",
        &format!("{udp}:5353/udp"),
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www; echo published > /www/index.html; /udp_echo 5353 & exec httpd -f -p 80 -h /www",
    ]);
    assert!(t.md(&["ps"]).stdout().contains(&format!("0.0.0.0:{tcp}->80/tcp")));
    let get = || -> String {
        let mut s = match TcpStream::connect(("127.0.0.1", tcp)) {
            Ok(s) => s,
            Err(_) => return String::new(),
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
        let mut r = String::new();
        let _ = s.read_to_string(&mut r);
        r
    };
    assert!(wait_until(15000, || get().ends_with("published\n")), "loopback: {:?}", get());
    let (ok, out) = other.exec(&format!("busybox timeout 10 busybox wget -qO- http://10.210.{n}.1:{tcp}/"));
    assert!(ok && out == "published\n", "from the other host: {out}");
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 64];
    let got = (0..10).find_map(|_| {
        u.send_to(b"ping\n", ("127.0.0.1", udp)).unwrap();
        u.recv(&mut buf).ok()
    });
    assert_eq!(got.map(|k| &buf[..k]), Some(&b"ping\n"[..]), "udp echo through the published port");
    let (ok, out) = other.exec(&format!("sh -c 'echo hello | busybox timeout 3 busybox nc -u 10.210.{n}.1 {udp} 2>&1 | head -c 6'"));
    let _ = (ok, out); // busybox nc has no UDP; the other host's UDP check is below
    let (ok, out) = other
        .exec(&format!("python3 -c \"import socket;s=socket.socket(2,2);s.settimeout(3);s.sendto(b'far',('10.210.{n}.1',{udp}));print(s.recv(9).decode())\""));
    assert!(ok && out.trim() == "far", "udp from the other host: {out}");
    // a port already published is refused before anything is created
    let before = t.containers().len();
    let o = t.md(&["run", "-d", "--network", "net1", "-p", &format!("{tcp}:80"), "busybox", "true"]);
    assert_eq!(o.code, 125);
    assert!(o.err.contains("already allocated"), "{}", o.err);
    assert_eq!(t.containers().len(), before);

    // network rm is refused while containers use it; then everything goes.
    assert_ne!(md_path(&t, path, &["network", "rm", "net1"]).code, 0);
    assert_eq!(t.md(&["rm", "-f", "a", &id]).code, 0);
    let o = md_path(&t, path, &["network", "rm", "net1"]);
    assert_eq!(o.code, 0, "{}", o.err);
    assert_net_gone(&subnet);
    t.assert_clean();
}

#[test]
fn nat_ports_and_cleanup_with_iptables() {
    nat_and_ports("/usr/sbin:/usr/bin:/sbin:/bin", "ipt", 1);
}

#[test]
fn nat_ports_and_cleanup_without_iptables() {
    nat_and_ports(NO_IPTABLES, "nft", 2);
}

#[test]
fn ipam_slash_16_and_slash_30() {
    let mut t = t!();
    assert_eq!(t.md(&["network", "create", "--subnet", "10.220.0.0/30", "tiny"]).code, 0);
    assert_eq!(t.md(&["network", "create", "--subnet", "10.221.0.0/16", "--gateway", "10.221.7.7", "big"]).code, 0);
    // a /30 has two host addresses: the gateway and one container
    t.detach(&["--name", "only", "--network", "tiny", "busybox", "sleep", "60"]);
    assert_eq!(ip_of(&t, "only"), "10.220.0.2");
    let o = t.md(&["run", "--rm", "--network", "tiny", "busybox", "true"]);
    assert_eq!(o.code, 125);
    assert!(o.err.contains("no free addresses"), "{}", o.err);
    assert_eq!(t.md(&["rm", "-f", "only"]).code, 0);
    assert_eq!(t.run(&["--network", "tiny", "busybox", "true"]).code, 0, "the address came back on rm");
    // a /16 with its gateway in the middle: never handed out
    t.detach(&["--name", "b1", "--network", "big", "busybox", "sleep", "60"]);
    assert_eq!(ip_of(&t, "b1"), "10.221.0.1");
    let o = t.run(&["--network", "big", "busybox", "sh", "-c", "ip route | grep default"]);
    assert!(o.stdout().contains("via 10.221.7.7"), "{}", o.stdout());
    // bad input is one line and exit 125
    for args in [
        &["network", "create", "--subnet", "10.0.0.0/31", "x"][..],
        &["network", "create", "--subnet", "10.221.5.0/24", "overlap"],
        &["network", "create", "--subnet", "10.1.0.0/16", "--gateway", "10.2.0.1", "g"],
        &["network", "create", "--subnet", "10.3.0.0/16", "none"],
        &["run", "--network", "nosuch", "busybox", "true"],
    ] {
        let o = t.md(args);
        assert_eq!(o.code, 125, "{args:?}");
        assert_eq!(o.err.lines().count(), 1, "{args:?}: {}", o.err);
    }
    t.rm_all();
    assert_eq!(t.md(&["network", "rm", "tiny", "big"]).code, 0);
    assert_net_gone("10.220.0.0/30");
    t.assert_clean();
}

#[test]
fn fifty_concurrent_runs_fifty_addresses() {
    let t = t!();
    assert_eq!(t.md(&["network", "create", "--subnet", "10.230.0.0/24", "crowd"]).code, 0);
    let kids: Vec<_> = (0..50)
        .map(|_| {
            let mut c = t.cmd();
            c.args(["run", "-d", "--network", "crowd", "busybox", "sleep", "60"]).stdout(Stdio::piped()).stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let ids: Vec<String> = kids
        .into_iter()
        .map(|k| {
            let o = k.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8_lossy(&o.stdout).trim().to_string()
        })
        .collect();
    let mut ips: Vec<String> = ids.iter().map(|id| ip_of(&t, id)).collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 50, "distinct addresses: {ips:?}");
    assert!(!ips.contains(&"10.230.0.1".to_string()) && !ips.contains(&"10.230.0.255".to_string()));
    t.rm_all();
    assert_eq!(t.md(&["network", "rm", "crowd"]).code, 0);
    assert_net_gone("10.230.0.0/24");
    t.assert_clean();
}

#[test]
fn host_and_none_networks() {
    let t = t!();
    let (_, host_links) = sh("ls /sys/class/net | sort | tr '\\n' ' '");
    let o = t.run(&["--network", "host", "busybox", "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"]);
    assert_eq!(o.stdout(), host_links, "--network host shares the host's interfaces");
    let o = t.run(&["busybox", "sh", "-c", "ls /sys/class/net"]);
    assert_eq!(o.stdout(), "lo\n", "default: loopback only");
    let o = t.run(&["-net", "none", "busybox", "ping", "-c", "1", "-W", "1", "127.0.0.1"]);
    assert_eq!(o.code, 0, "loopback is up");
    let o = t.md(&["run", "-p", "1:2", "busybox", "true"]);
    assert_eq!(o.code, 125, "publishing needs a bridge network");
    t.assert_clean();
}

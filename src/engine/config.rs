//! The container's configuration as the engine takes it: limits, volumes,
//! ports, names. Both front ends build it; parsing a value checks it.

use crate::engine::util::{parse_u64, Error, Msg, Res};
use alloc::vec::Vec;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    pub host: Vec<u8>,
    pub ctr: Vec<u8>,
    pub ro: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// bytes
    pub memory: Option<u64>,
    /// CFS quota in µs per 100 ms period
    pub cpu_quota: Option<u64>,
    /// v1 cpu.shares (converted to cpu.weight on v2)
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<Vec<u8>>,
    pub pids: Option<u64>,
    /// The device nodes it may use (cgroup device rules).
    pub devices: crate::engine::devices::Devices,
}

/// A published port: `[IP:]HOST:CTR[/tcp|udp]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Port {
    pub host_ip: u32,
    pub host_port: u16,
    pub ctr_port: u16,
    pub udp: bool,
}

impl Port {
    /// "0.0.0.0:8080->80/tcp", as `ps` shows it.
    pub fn text(&self) -> Vec<u8> {
        self.fmt(b"->")
    }
    /// "0.0.0.0:8080:80/tcp", as `-p` takes it (and records keep it).
    pub fn spec(&self) -> Vec<u8> {
        self.fmt(b":")
    }
    fn fmt(&self, sep: &[u8]) -> Vec<u8> {
        let mut v = fmt_ip(self.host_ip);
        v.push(b':');
        crate::engine::util::push_num(&mut v, self.host_port as u64);
        v.extend_from_slice(sep);
        crate::engine::util::push_num(&mut v, self.ctr_port as u64);
        v.extend_from_slice(if self.udp { b"/udp" } else { b"/tcp" });
        v
    }
}

pub fn parse_port(v: &[u8]) -> Res<Port> {
    // One error for every way it can be wrong: built in one place.
    port(v).ok_or_else(|| Error::quoted(m!("invalid port"), v, m!("expected [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]")))
}

fn port(v: &[u8]) -> Option<Port> {
    let (spec, proto) = match v.iter().rposition(|&c| c == b'/') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b"tcp"[..]),
    };
    let udp = crate::engine::util::word_index(b"tcp,udp", proto)? == 1;
    let parts = crate::engine::util::split(spec, b':');
    let k = parts.len();
    if !(2..=3).contains(&k) {
        return None;
    }
    let ip = if k == 3 { parse_ip(parts[0])? } else { 0 };
    // HOSTPORT and CONTAINERPORT, the last two parts: one check in a loop.
    let mut p = [0u16; 2];
    for (x, s) in p.iter_mut().zip(&parts[k - 2..]) {
        *x = parse_u64(s).filter(|n| (1..=65535).contains(n))? as u16;
    }
    Some(Port { host_ip: ip, host_port: p[0], ctr_port: p[1], udp })
}

#[derive(Debug, Default, PartialEq)]
pub struct RunOpts {
    /// "none" (default), "host", or a bridge network's name.
    pub network: Option<Vec<u8>>,
    pub ports: Vec<Port>,
    pub interactive: bool,
    pub tty: bool,
    pub detach: bool,
    pub rm: bool,
    pub init: bool,
    pub name: Option<Vec<u8>>,
    /// Final `K=V` entries, in order (a later one with the same key wins).
    pub env: Vec<Vec<u8>>,
    pub workdir: Option<Vec<u8>>,
    pub hostname: Option<Vec<u8>>,
    pub volumes: Vec<Volume>,
    pub limits: Limits,
    pub security: Security,
    pub image: Vec<u8>,
    pub cmd: Vec<Vec<u8>>,
    /// `--entrypoint` (empty: none), replacing the image's and its Cmd.
    pub entrypoint: Option<Vec<u8>>,
}

#[derive(Debug, Default, PartialEq)]
pub struct ExecOpts {
    pub interactive: bool,
    /// The caller's stdio is the process's, even detached (the OCI runtime).
    pub keep_stdio: bool,
    pub tty: bool,
    pub detach: bool,
    pub env: Vec<Vec<u8>>,
    pub workdir: Option<Vec<u8>>,
    /// `-u` (else the container's own user)
    pub user: Option<Vec<u8>>,
    pub privileged: bool,
    pub container: Vec<u8>,
    pub cmd: Vec<Vec<u8>>,
}

/// Container and image names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 128 bytes.
pub fn validate_name(n: &[u8]) -> Res<()> {
    let ok =
        !n.is_empty() && n.len() <= 128 && n[0].is_ascii_alphanumeric() && n.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::quoted(m!("invalid name"), n, m!("only [a-zA-Z0-9][a-zA-Z0-9_.-]* are allowed")))
    }
}

pub fn validate_hostname(n: &[u8]) -> Res<()> {
    if n.is_empty() || n.len() > 64 || !n.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_') {
        return Err(Error::text(m!("--hostname: invalid (1 to 64 of [a-zA-Z0-9_.-])")));
    }
    Ok(())
}

#[cfg(test)]
pub fn parse_volume(v: &[u8]) -> Res<Volume> {
    let mut o = Vec::new();
    push_volume(&mut o, v)?;
    Ok(o.remove(0))
}

/// `HOST:CTR[:ro|:rw]`, both absolute, no `..` in the container path;
/// pushed onto `out` (no copy of the Volume through a Result).
pub fn push_volume(out: &mut Vec<Volume>, v: &[u8]) -> Res<()> {
    let bad = |why: Msg| Error::quoted(m!("invalid volume"), v, why);
    let parts = crate::engine::util::split(v, b':');
    let ro = match parts.len() {
        2 => false,
        3 => match parts[2] {
            b"ro" => true,
            b"rw" => false,
            _ => return Err(bad(m!("mode must be ro or rw"))),
        },
        _ => return Err(bad(m!("expected HOST:CONTAINER[:ro]"))),
    };
    let (host, ctr) = (parts[0], parts[1]);
    if let Some(why) = path_fault(host, ctr, true) {
        return Err(bad(why));
    }
    if ctr.iter().all(|&c| c == b'/') {
        return Err(bad(m!("cannot mount over the container's /")));
    }
    out.push(Volume { host: host.to_vec(), ctr: ctr.to_vec(), ro });
    Ok(())
}

/// Why `--volume`/`--device` paths are refused: not both absolute, or a
/// `..` in the container path (and in the host path with `host_dots`).
/// One copy for both parsers.
#[inline(never)]
fn path_fault(host: &[u8], ctr: &[u8], host_dots: bool) -> Option<Msg> {
    if host.first() != Some(&b'/') || ctr.first() != Some(&b'/') {
        return Some(m!("both paths must be absolute"));
    }
    for (p, check) in [(ctr, true), (host, host_dots)] {
        for c in crate::engine::util::fields(p, b'/') {
            if check && c == b".." {
                return Some(m!("path contains \"..\" (refused)"));
            }
        }
    }
    None
}

/// "64m", "1g", "512k", "100", "64MB" → bytes.
pub fn parse_bytes(v: &[u8]) -> Option<u64> {
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let n = parse_u64(&v[..digits])?;
    // Letters compared with 0x20 set (what lowercasing does to A-Z; no
    // other byte becomes b, k, m or g): no lowercased copy.
    let mut unit = &v[digits..];
    if unit.len() == 2 && unit[1] | 0x20 == b'b' && unit[0] | 0x20 != b'b' {
        unit = &unit[..1];
    }
    let shift = match unit {
        [] => 0,
        [c] => match c | 0x20 {
            b'b' => 0,
            b'k' => 10,
            b'm' => 20,
            b'g' => 30,
            _ => return None,
        },
        _ => return None,
    };
    n.checked_mul(1 << shift).filter(|&b| b > 0)
}

/// "1.5" → 150000 (µs of CPU per 100 ms).
pub fn parse_cpus(v: &[u8]) -> Option<u64> {
    let (int, frac) = match v.iter().position(|&c| c == b'.') {
        Some(p) => (&v[..p], &v[p + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 5 || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let i = if int.is_empty() { 0 } else { parse_u64(int)? };
    let mut f = 0u64;
    for k in 0..5 {
        let d = match frac.get(k) {
            Some(c) if c.is_ascii_digit() => (c - b'0') as u64,
            Some(_) => return None,
            None => 0,
        };
        f = f * 10 + d;
    }
    let q = i.checked_mul(100_000)? + f;
    if q < 1000 {
        None // below 0.01 CPU the kernel refuses the quota
    } else {
        Some(q)
    }
}

/// The `PATH` of a container whose image sets none (docker's).
pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// ---------------------------------------------------------------- IPv4

pub fn parse_ip(s: &[u8]) -> Option<u32> {
    let parts = crate::engine::util::split(s, b'.');
    if parts.len() != 4 {
        return None;
    }
    let mut ip = 0u32;
    for p in parts {
        let n = parse_u64(p).filter(|&n| n <= 255 && p.len() <= 3)?;
        ip = ip << 8 | n as u32;
    }
    Some(ip)
}

pub fn fmt_ip(ip: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for k in [24, 16, 8, 0] {
        crate::engine::util::push_num(&mut v, (ip >> k & 255) as u64);
        if k > 0 {
            v.push(b'.');
        }
    }
    v
}

/// "a.b.c.d/p" with p from 8 to 30 → (network address, prefix).
pub fn parse_cidr(s: &[u8]) -> Option<(u32, u8)> {
    let slash = s.iter().position(|&c| c == b'/')?;
    let ip = parse_ip(&s[..slash])?;
    let p = parse_u64(&s[slash + 1..]).filter(|p| (8..=30).contains(p))? as u8;
    Some((ip & mask(p), p))
}

pub fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

// ---------------------------------------------------------------- confinement

/// The capability names, by number (capability(7)), without `CAP_`; then
/// `ALL`.
const CAP_NAMES: Msg = m!("CHOWN,DAC_OVERRIDE,DAC_READ_SEARCH,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,LINUX_IMMUTABLE,NET_BIND_SERVICE,NET_BROADCAST,NET_ADMIN,NET_RAW,IPC_LOCK,IPC_OWNER,SYS_MODULE,SYS_RAWIO,SYS_CHROOT,SYS_PTRACE,SYS_PACCT,SYS_ADMIN,SYS_BOOT,SYS_NICE,SYS_RESOURCE,SYS_TIME,SYS_TTY_CONFIG,MKNOD,LEASE,AUDIT_WRITE,AUDIT_CONTROL,SETFCAP,MAC_OVERRIDE,MAC_ADMIN,SYSLOG,WAKE_ALARM,BLOCK_SUSPEND,AUDIT_READ,PERFMON,BPF,CHECKPOINT_RESTORE,ALL");

/// Every capability this table names.
pub const ALL_CAPS: u64 = (1 << 41) - 1;

/// docker's 14: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID,
/// SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
pub const DEFAULT_CAPS: u64 = 0xa804_25fb;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_SYS_PTRACE: u32 = 19;

/// `--cap-add`/`--cap-drop` NAME: with or without `CAP_`, any case; `ALL`.
pub fn cap_bits(v: &[u8]) -> Res<u64> {
    let up = v.to_ascii_uppercase();
    let name = up.strip_prefix(b"CAP_").unwrap_or(&up);
    // "ALL" is the table's last word (41): every capability.
    match crate::engine::util::msg_index(CAP_NAMES, name) {
        Some(41) => Ok(ALL_CAPS),
        Some(i) => Ok(1 << i),
        None => Err(Error::quoted(m!("invalid capability"), v, m!("unknown name (see capabilities(7))"))),
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`: the node, where it appears,
/// and what the container may do with it (r, w, m).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Device {
    pub host: Vec<u8>,
    pub ctr: Vec<u8>,
    pub perms: Vec<u8>,
}

#[cfg(test)]
pub fn parse_device(v: &[u8]) -> Res<Device> {
    let mut o = Vec::new();
    push_device(&mut o, v)?;
    Ok(o.remove(0))
}

/// Parsed and pushed onto `out` (no copy of the Device through a Result).
pub fn push_device(out: &mut Vec<Device>, v: &[u8]) -> Res<()> {
    let bad = |why: Msg| Error::quoted(m!("invalid device"), v, why);
    let parts = crate::engine::util::split(v, b':');
    // (parse_access: some of r, w, m and nothing else)
    let perm_ok = |p: &[u8]| p.len() <= 3 && crate::engine::devices::parse_access(p).is_some();
    let (host, mut ctr, mut perms) = (parts[0], parts[0], &b"rwm"[..]);
    // The last of two or three parts may be the permissions; what is
    // left is HOST or HOST:CONTAINER.
    let mut n = parts.len();
    if n > 1 && perm_ok(parts[n - 1]) {
        n -= 1;
        perms = parts[n];
    }
    if n > 2 {
        return Err(bad(m!("expected HOST[:CONTAINER][:rwm]")));
    }
    if n == 2 {
        ctr = parts[1];
    }
    if let Some(why) = path_fault(host, ctr, false) {
        return Err(bad(why));
    }
    out.push(Device { host: host.to_vec(), ctr: ctr.to_vec(), perms: perms.to_vec() });
    Ok(())
}

/// How a container is confined: docker's defaults unless asked otherwise.
/// (Clone: through its encoding, in spec.rs.) In declaration order
/// (repr(C)): the flags first, within a one-byte displacement on x86_64.
#[derive(Debug, PartialEq)]
#[repr(C)]
pub struct Security {
    /// The bounding, permitted and effective sets (bit n: capability n).
    pub caps: u64,
    /// All capabilities and devices, no masked paths, no seccomp, /sys rw.
    pub privileged: bool,
    /// The default seccomp filter (false: `seccomp=unconfined`).
    pub seccomp: bool,
    pub no_new_privs: bool,
    /// The root filesystem is mounted read-only.
    pub read_only: bool,
    /// `-u` as given ("": root).
    pub user: Vec<u8>,
    pub devices: Vec<Device>,
    /// `--tmpfs PATH[:OPTIONS]`, as given.
    pub tmpfs: Vec<Vec<u8>>,
    /// Masked, then `|`, then read-only paths, space-separated (the OCI
    /// runtime's, from config.json; empty: docker's). Not recorded.
    pub paths: Vec<u8>,
    /// An OCI config's own seccomp program (see `oci::filter`), installed
    /// instead of the default one. Not recorded.
    pub filter: Vec<u64>,
}

impl Default for Security {
    #[inline(never)]
    fn default() -> Security {
        Security {
            caps: DEFAULT_CAPS,
            privileged: false,
            seccomp: true,
            no_new_privs: false,
            read_only: false,
            user: Vec::new(),
            devices: Vec::new(),
            tmpfs: Vec::new(),
            paths: Vec::new(),
            filter: Vec::new(),
        }
    }
}

impl Security {
    /// `--security-opt VALUE`: no-new-privileges[:true|false], seccomp=unconfined.
    pub fn opt(&mut self, v: &[u8]) -> Res<()> {
        const OPTS: Msg = m!("no-new-privileges,no-new-privileges:true,no-new-privileges=true,no-new-privileges:false,no-new-privileges=false,seccomp=unconfined,seccomp:unconfined");
        match crate::engine::util::msg_index(OPTS, v) {
            Some(0..=2) => self.no_new_privs = true,
            Some(3 | 4) => self.no_new_privs = false,
            Some(_) => self.seccomp = false,
            None => return Err(Error::quoted(m!("invalid --security-opt"), v, m!("supported: no-new-privileges, seccomp=unconfined"))),
        }
        Ok(())
    }
}

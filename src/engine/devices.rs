//! Which device nodes a container may open or create, as docker confines
//! them: everything is denied but docker's default list (null, zero, full,
//! random, urandom, tty, console, ptmx, the pts), mknod of any node (which
//! is harmless if opening it is denied), and the `--device` extras.
//!
//! The kernel checks a device access against the cgroups of the process:
//! on cgroup v1 the `devices` controller's lists, written as text
//! (`devices.deny`, `devices.allow`); on cgroup v2 an eBPF program of type
//! BPF_PROG_TYPE_CGROUP_DEVICE, generated here from the same rules: the
//! default one attached once to the parent of the container cgroups, a
//! container's own one only for `--device` extras (see `confine_v2`). Without either (no cgroupfs on a board), the caller
//! drops CAP_MKNOD and mounts the root nodev instead: the only nodes
//! reachable are then the ones it made in the container's /dev.
//!
//! A leaf module (config and cgroup use it): the mechanism of a host is
//! picked by `cgroup::Layout::devices`.

use crate::engine::util::{join, push_num, Ctx, Error, Res};
use crate::sys;
use alloc::vec::Vec;

/// One allow rule: `kind` b'c', b'b' or b'a' (both), `major`/`minor` -1
/// for any, `access` a set of R, W, M.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub kind: u8,
    pub major: i64,
    pub minor: i64,
    pub access: u8,
}

pub const R: u8 = 1;
pub const W: u8 = 2;
pub const M: u8 = 4;
pub const RWM: u8 = R | W | M;

const fn chr(major: i64, minor: i64) -> Rule {
    Rule { kind: b'c', major, minor, access: RWM }
}

/// docker's default list (runc's AllowedDevices, without the tun device
/// it dropped): mknod of anything, and the usual character devices.
pub const DEFAULT: &[Rule] = &[
    Rule { kind: b'c', major: -1, minor: -1, access: M },
    Rule { kind: b'b', major: -1, minor: -1, access: M },
    chr(1, 3),    // null
    chr(1, 5),    // zero
    chr(1, 7),    // full
    chr(1, 8),    // random
    chr(1, 9),    // urandom
    chr(5, 0),    // tty
    chr(5, 1),    // console
    chr(5, 2),    // ptmx
    chr(136, -1), // pts/*
];

/// What a container may reach: DEFAULT plus `extra` (`--device`), or
/// everything (`privileged`: no confinement at all). The default confines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Devices {
    pub privileged: bool,
    pub extra: Vec<Rule>,
}

/// How the host lets us confine devices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mechanism {
    /// A v1 `devices` hierarchy (v1 or hybrid hosts).
    V1,
    /// An eBPF program on the container's v2 cgroup.
    V2Bpf,
    /// No cgroup to hold the rules: the caller drops CAP_MKNOD and mounts
    /// the container's root nodev.
    NoCgroup,
}

impl Mechanism {
    /// For `mydocker info` (a message: kept in the blob, info is cold).
    pub fn describe(self) -> crate::engine::util::Msg {
        match self {
            Mechanism::V1 => m!("cgroup v1 devices"),
            Mechanism::V2Bpf => m!("cgroup v2 BPF"),
            Mechanism::NoCgroup => m!("none: CAP_MKNOD dropped, root nodev"),
        }
    }
}

/// "rwm", "rw", "m"... as `--device` takes it: a set of R, W, M.
pub fn parse_access(s: &[u8]) -> Option<u8> {
    let mut a = 0;
    for &c in s {
        let bit = match c {
            b'r' => R,
            b'w' => W,
            b'm' => M,
            _ => return None,
        };
        a |= bit;
    }
    (a != 0).then_some(a)
}

impl Rule {
    /// The v1 text: "c 1:3 rwm", "c *:* m", "a *:* rwm".
    pub fn text(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        v.push(self.kind);
        for (sep, n) in [(b' ', self.major), (b':', self.minor)] {
            v.push(sep);
            if n < 0 {
                v.push(b'*');
            } else {
                push_num(&mut v, n as u64);
            }
        }
        v.push(b' ');
        // R, W, M are bits 0, 1, 2: the letters at those indexes
        for (k, &c) in b"rwm".iter().enumerate() {
            if self.access >> k & 1 != 0 {
                v.push(c);
            }
        }
        v
    }
}

/// Applies DEFAULT + `extra` to the container's cgroup `dir` of the
/// hierarchy `m` names (v1: its devices cgroup; v2: its cgroup). A failure
/// is an error: a container is never left unconfined by accident.
pub fn confine(m: Mechanism, dir: &[u8], extra: &[Rule]) -> Res<()> {
    match m {
        Mechanism::V1 => confine_v1(dir, extra),
        Mechanism::V2Bpf => confine_v2(dir, extra),
        Mechanism::NoCgroup => Ok(()),
    }
}

/// v2: loading a program costs ~190 us (mostly the verifier; measured in
/// runs on a 6.18 kernel), too much for each run. So DEFAULT's program is attached once,
/// BPF_F_ALLOW_OVERRIDE, to the parent of the container cgroups (`dir`'s,
/// `<v2>/mydocker`), and the kernel runs it for every cgroup below that
/// has none of its own (see `sys::bpf_device_query`): a run only checks
/// that it is there, one bpf(2) call. A parent without it (a fresh one,
/// or one an older mydocker made) gets it then; two runs doing that at
/// once both attach, the second replacing the first (one ALLOW_OVERRIDE
/// program per cgroup). A container with `--device` extras gets its own
/// program of DEFAULT and the extras, which replaces the parent's for it;
/// so does one whose parent will not take ours (other programs attached
/// there, or above it without a flag that lets us): never unconfined.
/// Its own program is attached ALLOW_MULTI: under a parent of ours it
/// replaces the parent's all the same, and under anything else it adds to
/// what is there, as the host means it to.
fn confine_v2(dir: &[u8], extra: &[Rule]) -> Res<()> {
    if let Some((p, q)) = if extra.is_empty() { parent(dir) } else { None } {
        match q {
            (sys::BPF_F_ALLOW_OVERRIDE, 1) => return Ok(()),
            (_, 0) if sys::bpf_attach_device_filter(p.raw(), &program(&[]), sys::BPF_F_ALLOW_OVERRIDE).is_ok() => return Ok(()),
            _ => {}
        }
    }
    attach(dir, &program(extra))
}

/// The parent of the v2 cgroup `dir`, open, with the attach flags and
/// number of its device programs.
fn parent(dir: &[u8]) -> Option<(sys::fd::Owned, (u32, u32))> {
    let p = sys::open(&dir[..dir.iter().rposition(|&c| c == b'/')?], sys::O_RDONLY | sys::O_DIRECTORY, 0).ok()?;
    let q = sys::bpf_device_query(p.raw()).ok()?;
    Some((p, q))
}

/// Attaches `prog` to the v2 cgroup `dir`, BPF_F_ALLOW_MULTI.
fn attach(dir: &[u8], prog: &[u64]) -> Res<()> {
    let fd = sys::open(dir, sys::O_RDONLY | sys::O_DIRECTORY, 0).ctx(m!("open cgroup"), dir)?;
    // (ENOSYS, EINVAL: a kernel without CONFIG_CGROUP_BPF)
    sys::bpf_attach_device_filter(fd.raw(), prog, sys::BPF_F_ALLOW_MULTI).ctx(m!("attach a device filter to"), dir)
}

/// A privileged container's v2 cgroup `dir`: no confinement, so not the
/// program its parent passes down either. A program of its own that
/// allows everything replaces that one (two instructions, but ~100 us to
/// load and attach in a run all the same: a load's cost besides the
/// verifier). Where BPF confines (`always`) it gets one, as the parent's
/// may be attached while the container runs; elsewhere (v1 confines) only
/// if the parent has programs (which a run that saw no v1 devices left).
pub fn unconfine_v2(dir: &[u8], always: bool) -> Res<()> {
    if always || parent(dir).is_some_and(|(_, q)| q.1 > 0) {
        return attach(dir, &ALLOW_ALL);
    }
    Ok(())
}

/// r0 = 1; exit.
const ALLOW_ALL: [u64; 2] = [ins(ALU64_MOV_K, 0, 0, 0, 1), ins(EXIT, 0, 0, 0, 0)];

/// v1: "a" to devices.deny (which empties the list the cgroup inherited),
/// then one rule per write to devices.allow, through one descriptor.
fn confine_v1(dir: &[u8], extra: &[Rule]) -> Res<()> {
    let deny = join(dir, b"devices.deny");
    crate::engine::util::write_file(&deny, b"a").ctx(m!("write"), &deny)?;
    let allow = join(dir, b"devices.allow");
    let fd = sys::open(&allow, sys::O_WRONLY, 0).ctx(m!("open"), &allow)?;
    for r in DEFAULT.iter().chain(extra) {
        let mut t = r.text();
        t.push(b'\n');
        if let Err(e) = sys::write(fd.raw(), &t) {
            t.pop();
            return Err(Error::sys(m!("allow devices"), &t, e));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- eBPF

// The opcodes used (linux/bpf.h, bpf_common.h): class | op | source.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const LDX_MEM_H: u8 = 0x69; // BPF_LDX | BPF_MEM | BPF_H
const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JA: u8 = 0x05; // BPF_JMP | BPF_JA
const JSET_K: u8 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// One struct bpf_insn, little-endian (x86_64 and aarch64): code,
/// dst_reg in the low nibble and src_reg in the high one, off, imm.
const fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    code as u64 | ((dst | src << 4) as u64) << 8 | (off as u16 as u64) << 16 | (imm as u32 as u64) << 32
}

/// Our access bits (R 1, W 2, M 4) as the kernel's BPF_DEVCG_ACC_* (MKNOD
/// 1, READ 2, WRITE 4).
fn bpf_access(a: u8) -> i32 {
    (((a & (R | W)) << 1) | (a & M) >> 2) as i32
}

/// The device filter for DEFAULT + `extra`, generated at run time. The
/// context is struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 |
/// type: BPF_DEVCG_DEV_BLOCK 1, CHAR 2); u32 major; u32 minor; }; the
/// program returns 1 to allow, 0 to deny. A request matches a rule when
/// all the access it asks for is in the rule's (JSET: a bit outside it
/// fails), as the v1 controller decides.
///
/// The kernel's verifier walks every branch, at ~1 us an instruction on
/// the (6.18) kernel measured, so the program is kept short: adjacent rules of
/// the same kind, access and major share one block, which tests those
/// (on a mismatch: on to the next block) and then jumps to "allow" on any
/// of its minors. After the blocks, "deny"; last, "allow" (so `rules`
/// must not be empty: the verifier refuses unreachable code). Each block
/// loads afresh the fields it tests (r3 = type, the u16 at 0, and r2 =
/// access, the u16 at 2, on little-endian; r4 = major; r5 = minor once), so the verifier never knows a value from an earlier test,
/// and the paths into a block are one state it checks once (65
/// instructions verified for DEFAULT instead of 84, ~30% less time).
pub fn program(extra: &[Rule]) -> Vec<u64> {
    build(DEFAULT, extra)
}

/// The program for the rules `head` then `tail` (no joined copy of them).
fn build(head: &[Rule], tail: &[Rule]) -> Vec<u64> {
    let mut p = alloc::vec![ins(LDX_MEM_W, 5, 1, 8, 0)];
    // A number past i32 is no device's: that test never matches.
    let imm = |v: i64| if v > i32::MAX as i64 { -1 } else { v as i32 };
    let (mut block, mut wild, mut prev) = (0, false, None);
    for i in 0..=head.len() + tail.len() {
        let r = if i < head.len() { head.get(i) } else { tail.get(i - head.len()) };
        let key = r.map(|r| (r.kind, r.access, r.major));
        if i == 0 || key != prev {
            // The open block's tests jump here on a mismatch.
            let here = p.len();
            patch(&mut p, block, JNE_K, JSET_K);
            (block, wild, prev) = (here, false, key);
            let Some(r) = r else { break };
            // Each test loads its field afresh (see above).
            if r.kind != b'a' {
                put2(&mut p, ins(LDX_MEM_H, 3, 1, 0, 0), ins(JNE_K, 3, 0, 0, if r.kind == b'b' { 1 } else { 2 }));
            }
            if r.access & RWM != RWM {
                put2(&mut p, ins(LDX_MEM_H, 2, 1, 2, 0), ins(JSET_K, 2, 0, 0, !bpf_access(r.access) & 7));
            }
            if r.major >= 0 {
                put2(&mut p, ins(LDX_MEM_W, 4, 1, 4, 0), ins(JNE_K, 4, 0, 0, imm(r.major)));
            }
        }
        // Then to "allow": on this minor, or always (a wildcard: the
        // block's last instruction, as the verifier refuses dead code).
        if let (Some(r), false) = (r, wild) {
            wild = r.minor < 0;
            p.push(if wild { ins(JA, 0, 0, 0, 0) } else { ins(JEQ_K, 5, 0, 0, imm(r.minor)) });
        }
    }
    put2(&mut p, ins(ALU64_MOV_K, 0, 0, 0, 0), ins(EXIT, 0, 0, 0, 0));
    patch(&mut p, 0, JEQ_K, JA);
    put2(&mut p, ins(ALU64_MOV_K, 0, 0, 0, 1), ins(EXIT, 0, 0, 0, 0));
    p
}

/// Appends two instructions (one call, not an inlined extend per site).
#[inline(never)]
fn put2(p: &mut Vec<u64>, a: u64, b: u64) {
    p.push(a);
    p.push(b);
}

/// Points the jumps with opcode `a` or `b` from `from` on at the end of `p`
/// (the `off` field, relative to the next instruction).
#[inline(never)]
fn patch(p: &mut [u64], from: usize, a: u8, b: u8) {
    let to = p.len();
    let mut k = from;
    while k < to {
        let c = p[k] as u8;
        if c == a || c == b {
            p[k] |= ((to - k - 1) as u16 as u64) << 16;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a device filter the way the kernel would, over the few
    /// instructions `program` emits: returns r0.
    fn run(p: &[u64], kind: u8, major: u32, minor: u32, access: u8) -> u64 {
        let ty = if kind == b'b' { 1 } else { 2 };
        let mut ctx = Vec::new();
        for w in [(bpf_access(access) as u32) << 16 | ty, major, minor] {
            ctx.extend_from_slice(&w.to_le_bytes());
        }
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (code, dst, src) = (i as u8, (i >> 8 & 15) as usize, (i >> 12 & 15) as usize);
            let (off, imm) = ((i >> 16) as u16 as i16, (i >> 32) as u32 as i32);
            pc += 1;
            let jump = |pc: &mut usize, c: bool| {
                if c {
                    *pc = (*pc as isize + off as isize) as usize
                }
            };
            match code {
                LDX_MEM_W | LDX_MEM_H => {
                    assert_eq!(src, 1);
                    let o = off as usize;
                    let b = |k: usize| ctx[o + k] as u64;
                    r[dst] = if code == LDX_MEM_H { b(0) | b(1) << 8 } else { b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24 }
                }
                ALU64_MOV_K => r[dst] = imm as i64 as u64,
                JNE_K => jump(&mut pc, r[dst] != imm as i64 as u64),
                JSET_K => jump(&mut pc, r[dst] & imm as i64 as u64 != 0),
                JEQ_K => jump(&mut pc, r[dst] == imm as i64 as u64),
                JA => jump(&mut pc, true),
                EXIT => return r[0],
                _ => panic!("unexpected opcode {code:#x}"),
            }
        }
    }

    const RW: u8 = R | W;

    #[test]
    fn default_program() {
        let p = program(&[]);
        let ok = |k, maj, min, a| run(&p, k, maj, min, a) == 1;
        assert!(ok(b'c', 1, 3, RW)); // null
        assert!(ok(b'c', 1, 9, R)); // urandom
        assert!(ok(b'c', 5, 2, RW)); // ptmx
        assert!(ok(b'c', 136, 5, RW)); // pts/5
        assert!(ok(b'c', 136, 0, M));
        assert!(!ok(b'b', 8, 0, R)); // /dev/sda
        assert!(!ok(b'b', 8, 0, W));
        assert!(ok(b'b', 8, 0, M)); // mknod anything
        assert!(ok(b'c', 1, 1, M)); // mknod /dev/mem
        assert!(!ok(b'c', 1, 1, R)); // but not open it
        assert!(!ok(b'c', 1, 11, W)); // kmsg
        assert!(!ok(b'c', 188, 0, RW));
        assert!(!ok(b'c', 10, 200, RW)); // tun: no longer a default
        assert!(ok(b'c', 1, 3, RWM));
        assert!(!ok(b'b', 1, 3, R)); // type matters
    }

    #[test]
    fn extra_rules_and_wildcards() {
        let tty_usb = Rule { kind: b'c', major: 188, minor: 0, access: RW };
        let p = program(&[tty_usb]);
        let ok = |k, maj, min, a| run(&p, k, maj, min, a) == 1;
        assert!(ok(b'c', 188, 0, RW));
        assert!(ok(b'c', 188, 0, R));
        assert!(ok(b'c', 188, 0, M)); // mknod: from "c *:* m"
        assert!(!ok(b'c', 188, 0, RWM)); // which no one rule has with rw
        assert!(!ok(b'c', 189, 0, R));
        // by itself, the rule gives no mknod
        let alone = build(&[tty_usb], &[]);
        assert_eq!((run(&alone, b'c', 188, 0, RW), run(&alone, b'c', 188, 0, M)), (1, 0));
        assert!(!ok(b'c', 188, 1, R));
        assert!(!ok(b'b', 188, 0, R));
        // a read-only rule refuses a write, and a read+write request
        let p = program(&[Rule { kind: b'c', major: 188, minor: 0, access: R }]);
        assert!(run(&p, b'c', 188, 0, R) == 1);
        assert!(run(&p, b'c', 188, 0, W) == 0);
        assert!(run(&p, b'c', 188, 0, RW) == 0);
        // wildcards: all block devices of major 8; any minor
        let p = program(&[Rule { kind: b'b', major: 8, minor: -1, access: RWM }]);
        assert!(run(&p, b'b', 8, 0, RW) == 1 && run(&p, b'b', 8, 17, R) == 1);
        assert!(run(&p, b'b', 9, 0, R) == 0 && run(&p, b'c', 8, 0, R) == 0);
        // any major, one minor; and "a": both kinds
        let p = program(&[Rule { kind: b'a', major: -1, minor: 7, access: W }]);
        assert!(run(&p, b'b', 3, 7, W) == 1 && run(&p, b'c', 99, 7, W) == 1);
        assert!(run(&p, b'c', 99, 7, R) == 0 && run(&p, b'c', 99, 8, W) == 0);
        let p = program(&[Rule { kind: b'a', major: -1, minor: -1, access: RWM }]);
        assert!(run(&p, b'b', 8, 0, RWM) == 1);
        // adjacent rules of one major share a block; a wildcard among them wins
        let usb = |minor, access| Rule { kind: b'c', major: 188, minor, access };
        let p = program(&[usb(0, RW), usb(1, RW), usb(3, R)]);
        assert_eq!([0, 1, 2].map(|m| run(&p, b'c', 188, m, RW)), [1, 1, 0]);
        assert_eq!((run(&p, b'c', 188, 3, R), run(&p, b'c', 188, 3, W)), (1, 0));
        let p = program(&[usb(0, RW), usb(-1, RW)]);
        assert_eq!([0, 1, 99].map(|m| run(&p, b'c', 188, m, RW)), [1, 1, 1]);
    }

    #[test]
    fn program_shape() {
        // default rules in 5 blocks: 1 + 5 + 5 + 9 + 7 + 5 + 4 instructions
        let p = program(&[]);
        assert_eq!(p.len(), 36);
        for (k, &i) in p.iter().enumerate() {
            let code = i as u8;
            if code & 7 == 5 && code != EXIT {
                let to = k as i64 + 1 + (i >> 16) as u16 as i16 as i64;
                assert!(to > k as i64 && (to as usize) < p.len(), "jump {k}");
            }
        }
        assert_eq!(p[p.len() - 1] as u8, EXIT);
        // a number past i32 never matches
        let p = program(&[Rule { kind: b'c', major: 1 << 40, minor: -1, access: RWM }]);
        assert_eq!(run(&p, b'c', u32::MAX, 0, R), 0);
    }

    #[test]
    fn a_request_needs_one_rule_for_all_its_access() {
        // m from "c *:* m" and rw from an extra: a mknod+read request
        // (not one the kernel makes, but the rule) is met by neither alone.
        let p = program(&[Rule { kind: b'c', major: 4, minor: 64, access: RW }]);
        assert_eq!(run(&p, b'c', 4, 64, RW), 1);
        assert_eq!(run(&p, b'c', 4, 64, M), 1);
        assert_eq!(run(&p, b'c', 4, 64, R | M), 0);
    }

    #[test]
    fn access_bits_map_to_the_kernels() {
        assert_eq!(bpf_access(R), 2);
        assert_eq!(bpf_access(W), 4);
        assert_eq!(bpf_access(M), 1);
        assert_eq!(bpf_access(RWM), 7);
        assert_eq!(parse_access(b"rwm"), Some(RWM));
        assert_eq!(parse_access(b"mr"), Some(R | M));
        assert_eq!(parse_access(b""), None);
        assert_eq!(parse_access(b"rx"), None);
    }

    #[test]
    fn v1_text() {
        let t: Vec<Vec<u8>> = DEFAULT.iter().map(|r| r.text()).collect();
        assert_eq!(t[0], b"c *:* m");
        assert_eq!(t[1], b"b *:* m");
        assert_eq!(t[2], b"c 1:3 rwm");
        assert_eq!(t[10], b"c 136:* rwm");
        assert_eq!(Rule { kind: b'a', major: -1, minor: -1, access: RWM }.text(), b"a *:* rwm");
        assert_eq!(Rule { kind: b'b', major: 8, minor: 16, access: R | W }.text(), b"b 8:16 rw");
    }

    #[test]
    fn v1_writes_deny_all_then_the_rules() {
        let d = std::env::temp_dir().join(format!("mydocker-dev-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("devices.deny"), "").unwrap();
        std::fs::write(d.join("devices.allow"), "").unwrap();
        let dir = std::os::unix::ffi::OsStrExt::as_bytes(d.as_os_str()).to_vec();
        confine(Mechanism::V1, &dir, &[Rule { kind: b'c', major: 188, minor: 0, access: R | W }]).unwrap();
        assert_eq!(std::fs::read_to_string(d.join("devices.deny")).unwrap(), "a");
        let allow = std::fs::read_to_string(d.join("devices.allow")).unwrap();
        assert!(allow.starts_with("c *:* m\nb *:* m\nc 1:3 rwm\n"), "{allow}");
        assert!(allow.ends_with("c 136:* rwm\nc 188:0 rw\n"), "{allow}");
        assert_eq!(allow.lines().count(), DEFAULT.len() + 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
    /// The mount point of the first cgroup hierarchy of `fstype` whose
    /// options contain `opt`, from mountinfo.
    fn hierarchy(fstype: &str, opt: &str) -> Option<std::path::PathBuf> {
        let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        for l in mi.lines() {
            let (a, b) = l.split_once(" - ")?;
            let mut f = b.split(' ');
            if f.next() == Some(fstype) && b.split(' ').nth(2).is_some_and(|o| o.split(',').any(|x| x == opt)) {
                return Some(a.split(' ').nth(4)?.into());
            }
        }
        None
    }

    /// The device nodes a probe opens, made under a fresh temp dir.
    fn nodes(tag: &str) -> std::path::PathBuf {
        let nodes = std::env::temp_dir().join(format!("mydocker-devnodes-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&nodes);
        std::fs::create_dir_all(&nodes).unwrap();
        for (n, t, maj, min) in [("mem", "c", "1", "1"), ("loop", "b", "7", "0"), ("kmsg", "c", "1", "11")] {
            assert!(std::process::Command::new("mknod").arg(nodes.join(n)).args([t, maj, min]).status().unwrap().success());
        }
        nodes
    }

    /// A shell moved into the cgroup `cg` tries to open and create nodes:
    /// one line per try, "ok" or strerror.
    fn probe(nodes: &std::path::Path, cg: &std::path::Path) -> String {
        // Each open in a subshell (a child, in the cgroup too); its error
        // text ends in strerror. ENXIO (no /dev/mem in the kernel, no
        // loop0) is "", past the cgroup's check. mknod makes new names.
        let script = r#"
            echo $$ > "$1/cgroup.procs" || exit 99
            try() { if r=$( (eval "$2") 2>&1 ); then echo "$1 ok"; else r=${r##*: }; echo "$1 ${r%No such device or address}"; fi; }
            try null 'exec 3</dev/null 4>/dev/null'
            try mem 'exec 3<"$0/mem"'
            try loop 'exec 3<"$0/loop"'
            try kmsg-r 'exec 3<"$0/kmsg"'
            try kmsg-w 'exec 3>"$0/kmsg"'
            try mknod-c 'mknod "$0/mem$$" c 1 1'
            try mknod-b 'mknod "$0/sda$$" b 8 0'
        "#;
        let out = std::process::Command::new("sh").args(["-c", script]).arg(nodes).arg(cg).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn rmdir_cg(cg: &std::path::Path) {
        for _ in 0..100 {
            if std::fs::remove_dir(cg).is_ok() || !cg.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("cannot remove {cg:?}");
    }

    fn bytes(p: &std::path::Path) -> Vec<u8> {
        std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()).to_vec()
    }

    /// On this host, for real: a cgroup confined by `m`, a shell moved into
    /// it, and what it may open and create. Needs root (CI runs as root).
    fn live(m: Mechanism, mount: Option<std::path::PathBuf>) {
        let Some(mount) = mount.filter(|_| is_root()) else {
            eprintln!("skipped: not root, or no such cgroup hierarchy");
            return;
        };
        let cg = mount.join(format!("mydocker-devtest-{}-{m:?}", std::process::id()));
        let nodes = nodes(&format!("{m:?}"));
        std::fs::create_dir(&cg).unwrap();
        let kmsg_read = Rule { kind: b'c', major: 1, minor: 11, access: R };
        let t = std::time::Instant::now();
        confine(m, &bytes(&cg), &[kmsg_read]).unwrap();
        eprintln!("{m:?}: confine took {:?}", t.elapsed());
        let out = probe(&nodes, &cg);
        let _ = std::fs::remove_dir_all(&nodes);
        rmdir_cg(&cg);
        let want = "null ok\nmem Operation not permitted\nloop Operation not permitted\nkmsg-r ok\nkmsg-w Operation not permitted\nmknod-c ok\nmknod-b ok\n";
        assert_eq!(out, want);
    }

    const DEFAULT_ONLY: &str = "null ok\nmem Operation not permitted\nloop Operation not permitted\nkmsg-r Operation not permitted\nkmsg-w Operation not permitted\nmknod-c ok\nmknod-b ok\n";

    /// v2, for real: the default program once on the parent (ALLOW_OVERRIDE)
    /// for the children without a program of their own; a child's own
    /// program (extras) instead of the parent's; a privileged child's
    /// allow-all one; a second attach to the parent replaces the first;
    /// and a parent with someone else's programs: each child its own.
    #[test]
    fn live_v2_parent_program_and_overrides() {
        use std::path::PathBuf;
        let Some(mount) = hierarchy("cgroup2", "rw").filter(|_| is_root()) else {
            eprintln!("skipped: not root, or no cgroup2");
            return;
        };
        let parent = mount.join(format!("mydocker-devparent-{}", std::process::id()));
        let nodes = nodes("parent");
        std::fs::create_dir(&parent).unwrap();
        let query = |d: &PathBuf| {
            let fd = sys::open(&bytes(d), sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap();
            sys::bpf_device_query(fd.raw()).unwrap()
        };
        let child = |n: &str| {
            let c = parent.join(n);
            std::fs::create_dir(&c).unwrap();
            c
        };
        let plain = child("plain");
        assert_eq!(query(&parent), (0, 0));
        // privileged where v1 confines: a bare parent, nothing to undo
        let early = child("early");
        unconfine_v2(&bytes(&early), false).unwrap();
        assert_eq!(query(&early), (0, 0));
        rmdir_cg(&early);
        // the first confined run attaches the default program to the parent
        confine(Mechanism::V2Bpf, &bytes(&plain), &[]).unwrap();
        assert_eq!((query(&parent), query(&plain)), ((sys::BPF_F_ALLOW_OVERRIDE, 1), (0, 0)));
        // the next ones find it there (a child made after it inherits it too)
        let plain2 = child("plain2");
        confine(Mechanism::V2Bpf, &bytes(&plain2), &[]).unwrap();
        assert_eq!((query(&parent), query(&plain2)), ((sys::BPF_F_ALLOW_OVERRIDE, 1), (0, 0)));
        // two runs racing: the second attach replaces the first
        let pfd = sys::open(&bytes(&parent), sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap();
        sys::bpf_attach_device_filter(pfd.raw(), &program(&[]), sys::BPF_F_ALLOW_OVERRIDE).unwrap();
        assert_eq!(query(&parent), (sys::BPF_F_ALLOW_OVERRIDE, 1));
        // --device c 1:1 r: its own program, with the default rules in it
        let mem_read = Rule { kind: b'c', major: 1, minor: 1, access: R };
        let extra = child("extra");
        confine(Mechanism::V2Bpf, &bytes(&extra), &[mem_read]).unwrap();
        assert_eq!(query(&extra), (sys::BPF_F_ALLOW_MULTI, 1));
        // privileged: allow-all in place of the parent's
        let privileged = child("privileged");
        unconfine_v2(&bytes(&privileged), false).unwrap();
        let outs = [&plain, &plain2, &extra, &privileged].map(|c| probe(&nodes, c));
        // someone else's (allow-all, MULTI) program on another parent: no
        // override there, each child gets the default program of its own
        let other = mount.join(format!("mydocker-devother-{}", std::process::id()));
        std::fs::create_dir(&other).unwrap();
        let ofd = sys::open(&bytes(&other), sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap();
        sys::bpf_attach_device_filter(ofd.raw(), &ALLOW_ALL, sys::BPF_F_ALLOW_MULTI).unwrap();
        let under_other = other.join("c");
        std::fs::create_dir(&under_other).unwrap();
        confine(Mechanism::V2Bpf, &bytes(&under_other), &[]).unwrap();
        let q = (query(&other), query(&under_other));
        let out_other = probe(&nodes, &under_other);
        let _ = std::fs::remove_dir_all(&nodes);
        for c in [&plain, &plain2, &extra, &privileged, &parent, &under_other, &other] {
            rmdir_cg(c);
        }
        assert_eq!(outs[0], DEFAULT_ONLY);
        assert_eq!(outs[1], DEFAULT_ONLY);
        let mem_ok = |o: &str| o.replace("mem \n", "mem ok\n");
        assert_eq!(mem_ok(&outs[2]), DEFAULT_ONLY.replacen("mem Operation not permitted", "mem ok", 1));
        let all = "null ok\nmem ok\nloop ok\nkmsg-r ok\nkmsg-w ok\nmknod-c ok\nmknod-b ok\n";
        assert_eq!(mem_ok(&outs[3]).replace("loop \n", "loop ok\n"), all);
        assert_eq!(q, ((sys::BPF_F_ALLOW_MULTI, 1), (sys::BPF_F_ALLOW_MULTI, 1)));
        assert_eq!(out_other, DEFAULT_ONLY);
    }

    /// The programs the v2 paths attach: the parent's default, an
    /// override's, and the privileged one that allows all.
    #[test]
    fn allow_all_program() {
        for (k, maj, min, a) in [(b'c', 1, 1, RWM), (b'b', 8, 0, RW), (b'c', 1, 3, R)] {
            assert_eq!(run(&ALLOW_ALL, k, maj, min, a), 1);
        }
        // an override carries the default rules along with its extras
        let p = program(&[Rule { kind: b'c', major: 1, minor: 1, access: R }]);
        assert_eq!([run(&p, b'c', 1, 1, R), run(&p, b'c', 1, 1, W), run(&p, b'c', 1, 3, RW), run(&p, b'c', 1, 11, R)], [1, 0, 1, 0]);
    }

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status").unwrap().lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
    }

    #[test]
    fn live_v2_bpf_filter() {
        live(Mechanism::V2Bpf, hierarchy("cgroup2", "rw"));
    }

    #[test]
    fn live_v1_devices_cgroup() {
        live(Mechanism::V1, hierarchy("cgroup", "devices"));
    }

    /// What confining costs per container cgroup: `cargo test --bins cost
    /// -- --ignored --nocapture`. v2: a program of its own (today's extras
    /// and fallback path), the check of the parent's (the common case), and
    /// a privileged one's allow-all.
    #[test]
    #[ignore]
    fn cost_of_confinement() {
        use std::os::unix::ffi::OsStrExt;
        let n = 200;
        let pid = std::process::id();
        let cases: [(&str, Option<std::path::PathBuf>); 5] = [
            ("v2 default program of its own (the old path)", hierarchy("cgroup2", "rw")),
            ("v2 own program with an extra", hierarchy("cgroup2", "rw")),
            ("v2 parent's program", hierarchy("cgroup2", "rw")),
            ("v2 allow-all", hierarchy("cgroup2", "rw")),
            ("v1", hierarchy("cgroup", "devices")),
        ];
        for (k, (what, mount)) in cases.into_iter().enumerate() {
            let Some(mount) = mount.filter(|_| is_root()) else { continue };
            let parent = mount.join(format!("mydocker-devcost-{pid}-{k}"));
            std::fs::create_dir(&parent).unwrap();
            let mut dirs = Vec::new();
            for i in 0..n {
                let d = parent.join(format!("{i}"));
                std::fs::create_dir(&d).unwrap();
                dirs.push(bytes(&d));
            }
            let kmsg = [Rule { kind: b'c', major: 1, minor: 11, access: R }];
            let t = std::time::Instant::now();
            for d in &dirs {
                match k {
                    0 => attach(d, &program(&[])).unwrap(),
                    1 => confine(Mechanism::V2Bpf, d, &kmsg).unwrap(),
                    2 => confine(Mechanism::V2Bpf, d, &[]).unwrap(),
                    3 => unconfine_v2(d, true).unwrap(),
                    _ => confine(Mechanism::V1, d, &[]).unwrap(),
                }
            }
            eprintln!("{what}: {:?} per cgroup", t.elapsed() / n);
            for d in &dirs {
                std::fs::remove_dir(std::ffi::OsStr::from_bytes(d)).unwrap();
            }
            std::fs::remove_dir(&parent).unwrap();
        }
    }
}

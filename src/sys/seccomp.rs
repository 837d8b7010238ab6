//! The container's default seccomp filter: docker's default profile
//! (moby/profiles seccomp/default.json), compiled by build.rs into a
//! static classic-BPF program for the architecture we are built for (the
//! data is src/sys/seccomp_tables.rs; the program's layout is described
//! in build.rs). What it does, per syscall:
//! - another architecture (i386 through `int 0x80` on x86_64, arm32 on
//!   aarch64) or an x32 syscall: EPERM (docker would run them under the
//!   same rules; a container of native binaries never makes them);
//! - a number past the newest syscall the profile knows (466,
//!   removexattrat): ENOSYS, as runc does, so libc's fallbacks work;
//! - what docker allows: ALLOW; everything else (numbers no syscall has
//!   too) EPERM, except that a
//!   capability lifts its group (CAP_SYS_ADMIN: mount, umount2, the new
//!   mount API, unshare, setns, sethostname, clone with namespace flags,
//!   clone3...; CAP_SYS_TIME: settimeofday, clock_settime; and so on,
//!   see `GATED` in the tables);
//! - clone with a CLONE_NEW* flag: EPERM without CAP_SYS_ADMIN; clone3:
//!   ENOSYS without it (the flags are in memory, out of the filter's
//!   sight: libc falls back to clone, whose flags it sees);
//! - personality: only the personas docker allows; socket: not AF_VSOCK.
//!
//! The capability groups are patch points: each group's return is
//! `RET ERRNO(EPERM)` in the static program, and `install` turns the
//! returns of the groups whose capability the container holds into
//! `RET ALLOW` in a copy on the stack.
// Until engine/init.rs calls `install` (wired by the lead), nothing in the
// binary uses this module. Remove the allow once it does.

use super::Errno;

/// One classic-BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy)]
#[cfg_attr(test, derive(Debug, PartialEq, Eq))]
pub struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

impl Insn {
    const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }
}

const RET_ALLOW: u32 = 0x7fff_0000;

#[cfg(target_arch = "x86_64")]
include!(concat!(env!("OUT_DIR"), "/seccomp_x86_64.rs"));
#[cfg(target_arch = "aarch64")]
include!(concat!(env!("OUT_DIR"), "/seccomp_aarch64.rs"));

/// The filter's length in instructions (8 bytes each).
pub const PROFILE_LEN: usize = PROG.len();

/// The opcodes and the high halves of `k` that the programs use.
const OPS: [u16; 6] = [0x20, 0x15, 0x35, 0x45, 0x54, 0x06];
const HIS: [u16; 8] = [0, 0x4000, 0x5, 0x7e02, 0x7fff, 0xc000, 0xfffd, 0xffff];

/// The index of `v` in `t` (at compile time: a value missing fails the build).
const fn index_of(t: &[u16], v: u16) -> u8 {
    let mut i = 0;
    while i < t.len() {
        if t[i] == v {
            return i as u8;
        }
        i += 1;
    }
    panic!("seccomp: an opcode or high half of k missing from OPS/HIS")
}

/// `PROG` in 4 bytes an instruction, not 8 (packed at compile time, so
/// only this is in the binary), as one little-endian u32: the opcode's
/// index in OPS and k's high half's index in HIS (3 bits each), jt and jf
/// (7 bits each), and k's low half in 12 bits, sign-extended: a syscall
/// number, an errno, a flag (under 0x800), or a mask 0xfXXX (0xf800 and
/// up). A value that does not fit fails the build.
static PACKED: [[u8; 4]; PROFILE_LEN] = {
    let mut o = [[0u8; 4]; PROFILE_LEN];
    let mut i = 0;
    while i < PROFILE_LEN {
        let x = PROG[i];
        let lo = x.k & 0xffff;
        assert!(x.jt < 128 && x.jf < 128 && (lo < 0x800 || lo >= 0xf800), "seccomp: an instruction PACKED cannot hold");
        let w =
            index_of(&OPS, x.code) as u32 | (index_of(&HIS, (x.k >> 16) as u16) as u32) << 3 | (x.jt as u32) << 6 | (x.jf as u32) << 13 | (lo & 0xfff) << 20;
        o[i] = w.to_le_bytes();
        i += 1;
    }
    o
};

/// An instruction as the kernel reads it: `code | jt << 16 | jf << 24 |
/// k << 32` (struct sock_filter, little-endian), as `install_raw` takes it.
const fn word(code: u16, jt: u8, jf: u8, k: u32) -> u64 {
    code as u64 | (jt as u64) << 16 | (jf as u64) << 24 | (k as u64) << 32
}

/// `PROG` again, from `PACKED`, as words.
fn unpacked() -> [u64; PROFILE_LEN] {
    let mut p = [0; PROFILE_LEN];
    for (x, e) in p.iter_mut().zip(&PACKED) {
        let w = u32::from_le_bytes(*e);
        // (12 bits, sign-extended: 0xfff7 came as 0xff7)
        let lo = ((w as i32) >> 20) as u32 & 0xffff;
        *x = word(OPS[(w & 7) as usize], (w >> 6) as u8 & 127, (w >> 13) as u8 & 127, (HIS[(w >> 3 & 7) as usize] as u32) << 16 | lo);
    }
    p
}

/// `prog` with the return of every group whose capability `caps` holds
/// (bit n: capability n) turned into ALLOW.
fn patched<const N: usize>(prog: &[u64; N], patch: &[(u8, u8)], caps: u64) -> [u64; N] {
    let mut p = *prog;
    for &(cap, at) in patch {
        if caps >> cap & 1 != 0 {
            let x = &mut p[at as usize];
            *x = *x as u32 as u64 | (RET_ALLOW as u64) << 32;
        }
    }
    p
}

/// Installs the default filter on the calling thread, with the groups of
/// the capabilities in `caps` (bit n: capability n is granted) allowed.
/// Everything the process execs inherits it; it cannot be removed.
///
/// The kernel installs a filter only for a caller with CAP_SYS_ADMIN (in
/// its user namespace) or with no_new_privs set: the caller orders this
/// against `PR_SET_NO_NEW_PRIVS` and the capability drop. Allocates
/// nothing: the program is copied to the stack (under 1 KB).
pub fn install(caps: u64) -> Result<(), Errno> {
    let mut prog = patched(&unpacked(), &PATCH, caps);
    load(prog.as_mut_ptr(), PROFILE_LEN)
}

/// Installs a program built at run time (an OCI config's profile): each
/// u64 is one instruction, `code | jt << 16 | jf << 24 | k << 32` (the
/// little-endian layout of struct sock_filter).
pub fn install_raw(prog: &[u64]) -> Result<(), Errno> {
    load(prog.as_ptr() as *mut u64, prog.len())
}

/// The syscall number called `name` on this architecture (by 24 bits of the hash of
/// its name, see build.rs `names`).
pub fn sysno(name: &[u8]) -> Option<u32> {
    let h = name.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193));
    let k = [h as u8, (h >> 8) as u8, (h >> 16) as u8];
    let n = NAMES.iter().position(|&x| x == k)?;
    Some((n + if n >= GAP.0 { GAP.1 } else { 0 }) as u32)
}

/// AUDIT_ARCH_X86_64 or AUDIT_ARCH_AARCH64: `seccomp_data.arch` here.
#[cfg(target_arch = "x86_64")]
pub const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
pub const AUDIT_ARCH: u32 = 0xc000_00b7;

/// seccomp(2) (or prctl before 3.17) with the `len` instructions at `p`.
fn load(p: *mut u64, len: usize) -> Result<(), Errno> {
    let fprog = libc::sock_fprog { len: len as u16, filter: p.cast() };
    let at = &fprog as *const libc::sock_fprog;
    // SAFETY: seccomp(2) reads `fprog` and the `len` instructions it
    // points to (8 bytes each, laid out as struct sock_filter), both
    // alive for the call; the kernel copies the program.
    let r = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, at) };
    if r == 0 {
        return Ok(());
    }
    if super::errno() != libc::ENOSYS {
        return Err(super::errno());
    }
    // Before Linux 3.17 there is no seccomp(2): prctl installs the same.
    // SAFETY: as above; prctl(2) reads the same live `fprog`.
    // (The raw syscall: musl's variadic prctl() is 91 bytes more.)
    let r = unsafe { libc::syscall(libc::SYS_prctl, libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, at) };
    if r == 0 {
        Ok(())
    } else {
        Err(super::errno())
    }
}

#[cfg(test)]
mod tests {
    //! The programs of both architectures, run by a small classic-BPF
    //! interpreter over `seccomp_data` inputs; the tables checked against
    //! libc and the kernel headers; and the native filter installed for
    //! real in a forked child.
    use super::{patched, Insn, RET_ALLOW};
    use std::collections::HashMap;

    #[allow(dead_code)]
    mod t {
        include!("seccomp_tables.rs");
    }
    mod x86_64 {
        use super::super::Insn;
        include!(concat!(env!("OUT_DIR"), "/seccomp_x86_64.rs"));
    }
    mod aarch64 {
        use super::super::Insn;
        include!(concat!(env!("OUT_DIR"), "/seccomp_aarch64.rs"));
    }

    const EPERM: u32 = 0x0005_0001;
    const ENOSYS: u32 = 0x0005_0026;
    const ALLOW: u32 = RET_ALLOW;
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
    const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

    /// docker's default capabilities: CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
    /// KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW,
    /// SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP.
    const DEFAULT_CAPS: u64 = 1 << 0 | 1 << 1 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 13 | 1 << 18 | 1 << 27 | 1 << 29 | 1 << 31;
    const ALL_CAPS: u64 = (1 << 41) - 1;

    /// One architecture's program and what it needs to be run.
    struct Arch {
        x86: bool,
        audit: u32,
        prog: &'static [Insn],
        patch: &'static [(u8, u8)],
        nrs: HashMap<&'static str, u32>,
    }

    fn arches() -> [Arch; 2] {
        let nrs =
            |x86: bool| t::SYSCALLS.iter().filter(|s| (if x86 { s.1 } else { s.2 }) != t::NO).map(|s| (s.0, u32::from(if x86 { s.1 } else { s.2 }))).collect();
        [
            Arch { x86: true, audit: AUDIT_ARCH_X86_64, prog: &x86_64::PROG, patch: &x86_64::PATCH, nrs: nrs(true) },
            Arch { x86: false, audit: AUDIT_ARCH_AARCH64, prog: &aarch64::PROG, patch: &aarch64::PATCH, nrs: nrs(false) },
        ]
    }

    impl Arch {
        fn name(&self) -> &'static str {
            if self.x86 {
                "x86_64"
            } else {
                "aarch64"
            }
        }

        /// The program with the groups of `caps` allowed, as `install`
        /// builds it.
        fn prog(&self, caps: u64) -> Vec<Insn> {
            let mut p = self.prog.to_vec();
            for &(cap, at) in self.patch {
                if caps >> cap & 1 != 0 {
                    p[at as usize].k = RET_ALLOW;
                }
            }
            p
        }

        /// The filter's verdict on syscall `name` with argument 0 `arg0`.
        fn call(&self, caps: u64, name: &str, arg0: u64) -> u32 {
            let nr = *self.nrs.get(name).unwrap_or_else(|| panic!("{}: no syscall {name}", self.name()));
            run(&self.prog(caps), nr, self.audit, arg0)
        }
    }

    /// Classic BPF as the kernel runs a seccomp filter, over a
    /// `struct seccomp_data` { nr, arch, instruction_pointer, args[6] }
    /// (little-endian). Only what a seccomp filter may use is accepted.
    fn run(prog: &[Insn], nr: u32, arch: u32, arg0: u64) -> u32 {
        let mut data = [0u32; 16];
        data[0] = nr;
        data[1] = arch;
        data[2] = 0x1000; // instruction_pointer
        data[4] = arg0 as u32;
        data[5] = (arg0 >> 32) as u32;
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            let (jt, jf) = (i.jt as usize, i.jf as usize);
            pc += 1;
            match i.code {
                0x20 => {
                    assert!(i.k.is_multiple_of(4) && i.k < 64, "load out of seccomp_data at {}", pc - 1);
                    a = data[i.k as usize / 4];
                }
                0x15 => pc += if a == i.k { jt } else { jf },
                0x35 => pc += if a >= i.k { jt } else { jf },
                0x25 => pc += if a > i.k { jt } else { jf },
                0x45 => pc += if a & i.k != 0 { jt } else { jf },
                0x54 => a &= i.k,
                0x05 => pc += i.k as usize,
                0x06 => return i.k,
                c => panic!("opcode {c:#x} at {}", pc - 1),
            }
        }
    }

    /// What the kernel's checker (bpf_check_classic, seccomp_check_filter)
    /// would refuse: a jump out of the program, a fall off its end, a load
    /// outside seccomp_data, an opcode seccomp does not allow.
    #[test]
    fn programs_are_valid() {
        for a in arches() {
            let p = a.prog;
            assert!(!p.is_empty() && p.len() <= 4096);
            assert_eq!(p.last().unwrap().code, 0x06, "{}: must end with a return", a.name());
            for (i, x) in p.iter().enumerate() {
                match x.code {
                    0x20 => assert!(x.k.is_multiple_of(4) && x.k < 64),
                    0x15 | 0x35 | 0x25 | 0x45 => assert!(i + 1 + (x.jt.max(x.jf) as usize) < p.len(), "{}: jump out at {i}", a.name()),
                    0x06 => assert!(x.k == ALLOW || x.k == EPERM || x.k == ENOSYS),
                    0x54 => {}
                    c => panic!("{}: opcode {c:#x} at {i}", a.name()),
                }
            }
            for &(cap, at) in a.patch {
                assert!(cap < 41 && p[at as usize].code == 0x06 && p[at as usize].k != ALLOW);
            }
        }
        assert_eq!(super::PROFILE_LEN, super::PROG.len());
    }

    #[test]
    fn allowed_syscalls() {
        for a in arches() {
            let mut names = vec![
                "read",
                "write",
                "openat",
                "close",
                "execve",
                "execveat",
                "exit",
                "exit_group",
                "wait4",
                "kill",
                "setuid",
                "setgid",
                "setgroups",
                "capget",
                "capset",
                "prctl",
                "mmap",
                "mprotect",
                "munmap",
                "brk",
                "futex",
                "rt_sigaction",
                "rt_sigreturn",
                "getpid",
                "gettid",
                "ioctl",
                "fcntl",
                "pipe2",
                "dup3",
                "mknodat",
                "fchownat",
                "socketpair",
                "connect",
                "bind",
                "seccomp",
                "statx",
                "clock_nanosleep",
                "getrandom",
                "rseq",
                "landlock_create_ruleset",
                "mseal",
                "removexattrat",
                "fchmodat2",
                "cachestat",
                "statmount",
                "listmount",
                "map_shadow_stack",
                "futex_waitv",
                "pidfd_open",
                // docker's current profile: ptrace and process_vm_* on
                // kernels >= 4.8 obey the ptrace checks.
                "ptrace",
                "process_vm_readv",
                "process_vm_writev",
                // chroot: CAP_SYS_CHROOT is a default capability.
                "chroot",
            ];
            if a.x86 {
                names.extend(["open", "stat", "fork", "vfork", "arch_prctl", "modify_ldt", "uretprobe", "time", "epoll_wait_old", "set_thread_area"]);
            }
            for n in names {
                assert_eq!(a.call(DEFAULT_CAPS, n, 0), ALLOW, "{}: {n}", a.name());
            }
        }
    }

    /// Denied with docker's default capabilities.
    fn denied(x86: bool) -> Vec<&'static str> {
        let mut v = vec![
            // Refused here though moby's latest profile allows them (see
            // seccomp_tables::ALLOW).
            "keyctl",
            "add_key",
            "request_key",
            "name_to_handle_at",
            "adjtimex",
            "clock_adjtime",
            "mount",
            "umount2",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "pivot_root",
            "unshare",
            "setns",
            "sethostname",
            "setdomainname",
            "bpf",
            "perf_event_open",
            "userfaultfd",
            "open_by_handle_at",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "reboot",
            "swapon",
            "swapoff",
            "settimeofday",
            "clock_settime",
            "syslog",
            "acct",
            "quotactl",
            "quotactl_fd",
            "lookup_dcookie",
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "fanotify_init",
            "vhangup",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "get_mempolicy",
            "set_mempolicy",
            "mbind",
            "set_mempolicy_home_node",
            "migrate_pages",
            "move_pages",
            "lsm_get_self_attr",
            "lsm_set_self_attr",
            "lsm_list_modules",
            "nfsservctl",
        ];
        if x86 {
            v.extend([
                "iopl",
                "ioperm",
                "uselib",
                "_sysctl",
                "create_module",
                "get_kernel_syms",
                "query_module",
                "ustat",
                "sysfs",
                "afs_syscall",
                "tuxcall",
                "security",
                "vserver",
                "getpmsg",
                "putpmsg",
            ]);
        }
        v
    }

    #[test]
    fn denied_syscalls() {
        for a in arches() {
            for n in denied(a.x86) {
                assert_eq!(a.call(DEFAULT_CAPS, n, 0), EPERM, "{}: {n}", a.name());
                assert_eq!(a.call(0, n, 0), EPERM, "{}: {n} without capabilities", a.name());
            }
            assert_eq!(a.call(0, "chroot", 0), EPERM, "{}: chroot without CAP_SYS_CHROOT", a.name());
        }
    }

    #[test]
    fn clone_clone3_personality_socket() {
        const CLONE_NEWNS: u64 = 0x20000;
        const CLONE_NEWUSER: u64 = 0x1000_0000;
        const CLONE_NEWNET: u64 = 0x4000_0000;
        const CLONE_NEWCGROUP: u64 = 0x0200_0000;
        // musl's pthread_create and fork.
        const THREAD: u64 = 0x7d0f00;
        const FORK: u64 = 17; // SIGCHLD
        for a in arches() {
            let n = a.name();
            for caps in [0, DEFAULT_CAPS] {
                assert_eq!(a.call(caps, "clone", FORK), ALLOW, "{n}");
                assert_eq!(a.call(caps, "clone", THREAD), ALLOW, "{n}");
                assert_eq!(a.call(caps, "clone", 0xffff_ffff_0000_0000 | FORK), ALLOW, "{n}: the kernel reads the low 32 bits only");
                for f in [CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWCGROUP, 0x0400_0000, 0x0800_0000, 0x2000_0000] {
                    assert_eq!(a.call(caps, "clone", f | FORK), EPERM, "{n}: clone {f:#x}");
                }
                assert_eq!(a.call(caps, "clone3", 0), ENOSYS, "{n}");
                for p in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
                    assert_eq!(a.call(caps, "personality", p), ALLOW, "{n}: personality {p:#x}");
                }
                for p in [0x1234, 1, 0x0040_0000, 0x0800_0000, 0xffff_fffe, 0x8000_0008, 0x28, 0x0002_0009] {
                    assert_eq!(a.call(caps, "personality", p), EPERM, "{n}: personality {p:#x}");
                }
                for d in [1, 2, 10, 16, 17] {
                    assert_eq!(a.call(caps, "socket", d), ALLOW, "{n}: socket {d}");
                }
                assert_eq!(a.call(caps, "socket", 40), EPERM, "{n}: AF_VSOCK");
            }
            let admin = DEFAULT_CAPS | 1 << t::CAP_SYS_ADMIN;
            assert_eq!(a.call(admin, "clone", CLONE_NEWUSER | CLONE_NEWNS | FORK), ALLOW, "{n}");
            assert_eq!(a.call(admin, "clone3", 0), ALLOW, "{n}");
            // No capability lifts these.
            assert_eq!(a.call(ALL_CAPS, "personality", 0x1234), EPERM, "{n}");
            assert_eq!(a.call(ALL_CAPS, "socket", 40), EPERM, "{n}");
        }
    }

    #[test]
    fn capabilities_lift_their_groups() {
        for a in arches() {
            let n = a.name();
            let with = |cap: u8, name: &str| a.call(DEFAULT_CAPS | 1 << cap, name, 0);
            for s in ["mount", "umount2", "unshare", "setns", "fsopen", "move_mount", "sethostname", "bpf", "perf_event_open", "syslog", "quotactl"] {
                assert_eq!(with(t::CAP_SYS_ADMIN, s), ALLOW, "{n}: {s} with CAP_SYS_ADMIN");
            }
            for s in ["kexec_load", "init_module", "reboot", "settimeofday", "acct", "kcmp", "userfaultfd", "io_uring_setup", "swapon", "pivot_root"] {
                assert_eq!(with(t::CAP_SYS_ADMIN, s), EPERM, "{n}: {s} with CAP_SYS_ADMIN");
            }
            assert_eq!(with(t::CAP_SYS_TIME, "settimeofday"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_TIME, "clock_settime"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_TIME, "mount"), EPERM, "{n}");
            assert_eq!(with(t::CAP_SYS_MODULE, "finit_module"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_MODULE, "delete_module"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_BOOT, "reboot"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_PACCT, "acct"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_PTRACE, "kcmp"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_PTRACE, "pidfd_getfd"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYSLOG, "syslog"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_BPF, "bpf"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_BPF, "perf_event_open"), EPERM, "{n}");
            assert_eq!(with(t::CAP_PERFMON, "perf_event_open"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_NICE, "mbind"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_SYS_TTY_CONFIG, "vhangup"), ALLOW, "{n}");
            assert_eq!(with(t::CAP_DAC_READ_SEARCH, "open_by_handle_at"), ALLOW, "{n}");
            if a.x86 {
                assert_eq!(with(t::CAP_SYS_RAWIO, "iopl"), ALLOW, "{n}");
                assert_eq!(with(t::CAP_SYS_RAWIO, "ioperm"), ALLOW, "{n}");
            }
            // Every capability at once still leaves docker's plain denials.
            for s in ["kexec_load", "kexec_file_load", "userfaultfd", "io_uring_setup", "swapon", "pivot_root", "migrate_pages"] {
                assert_eq!(a.call(ALL_CAPS, s, 0), EPERM, "{n}: {s} with every capability");
            }
        }
    }

    #[test]
    fn foreign_architectures_and_numbers_past_the_table() {
        for a in arches() {
            let n = a.name();
            let p = a.prog(DEFAULT_CAPS);
            for foreign in [AUDIT_ARCH_I386, AUDIT_ARCH_ARM, 0, if a.x86 { AUDIT_ARCH_AARCH64 } else { AUDIT_ARCH_X86_64 }] {
                for nr in [0, 20, 39, 172, 500] {
                    assert_eq!(run(&p, nr, foreign, 0), EPERM, "{n}: arch {foreign:#x} nr {nr}");
                }
            }
            for nr in [t::LAST + 1, 468, 469, 512, 1000, 0x3fff_ffff] {
                assert_eq!(run(&p, nr, a.audit, 0), ENOSYS, "{n}: nr {nr}");
            }
            let x32 = 0x4000_0000;
            for nr in [x32, x32 | 39, x32 | 512, x32 | 547, u32::MAX] {
                assert_eq!(run(&p, nr, a.audit, 0), if a.x86 { EPERM } else { ENOSYS }, "{n}: nr {nr:#x}");
            }
        }
    }

    /// Every number up to the table's end, under several capability sets,
    /// against the profile read directly from the tables.
    #[test]
    fn every_syscall_matches_the_profile() {
        for a in arches() {
            let mut caps_sets = vec![0, DEFAULT_CAPS, ALL_CAPS];
            caps_sets.extend((0..41).map(|c| 1u64 << c));
            for caps in caps_sets {
                let p = a.prog(caps);
                for (&name, &nr) in &a.nrs {
                    if ["clone", "personality", "socket"].contains(&name) {
                        continue; // they look at argument 0: tested above
                    }
                    let lifted = t::GATED.iter().any(|&(cap, names)| caps >> cap & 1 != 0 && names.contains(&name));
                    let want = if t::ALLOW.contains(&name) || (a.x86 && t::ALLOW_X86_64.contains(&name)) || lifted {
                        ALLOW
                    } else if name == "clone3" {
                        ENOSYS
                    } else {
                        EPERM
                    };
                    assert_eq!(run(&p, nr, a.audit, 0), want, "{}: {name} ({nr}) caps {caps:#x}", a.name());
                }
                // Numbers no syscall has (yet): EPERM, as in docker's profile.
                for nr in 0..=t::LAST {
                    if !a.nrs.values().any(|&n| n == nr) {
                        assert_eq!(run(&p, nr, a.audit, 0), EPERM, "{}: hole {nr} caps {caps:#x}", a.name());
                    }
                }
            }
        }
    }

    #[test]
    fn unpacked_is_the_program() {
        assert_eq!(super::unpacked().to_vec(), super::PROG.iter().map(words).collect::<Vec<_>>());
    }

    fn words(i: &Insn) -> u64 {
        super::word(i.code, i.jt, i.jf, i.k)
    }

    #[test]
    fn sysno_finds_every_native_name() {
        for s in t::SYSCALLS {
            let nr = if cfg!(target_arch = "x86_64") { s.1 } else { s.2 };
            let want = if nr == t::NO { None } else { Some(nr as u32) };
            assert_eq!(super::sysno(s.0.as_bytes()), want, "{}", s.0);
        }
        for n in ["socketcall", "_llseek", "mmap2", "", "no_such_call"] {
            assert_eq!(super::sysno(n.as_bytes()), None, "{n}");
        }
    }

    #[test]
    fn patching_is_what_install_does() {
        let x = arches();
        let a = &x[0];
        let mut prog = [0u64; x86_64::PROG.len()];
        for (w, i) in prog.iter_mut().zip(a.prog) {
            *w = words(i);
        }
        for caps in [0, DEFAULT_CAPS, 1 << t::CAP_SYS_ADMIN, ALL_CAPS] {
            assert_eq!(patched(&prog, a.patch, caps).to_vec(), a.prog(caps).iter().map(words).collect::<Vec<_>>());
        }
    }

    /// Every name the profile mentions is a syscall of one of the two
    /// architectures or one docker lists for others (32-bit, other arches).
    #[test]
    fn profile_names_are_known() {
        let ours: Vec<&str> = t::SYSCALLS.iter().map(|s| s.0).collect();
        let elsewhere = t::OTHER;
        let all = t::ALLOW.iter().chain(t::ALLOW_X86_64).chain(t::GATED.iter().flat_map(|g| g.1.iter()));
        for n in all {
            assert!(ours.contains(n) || elsewhere.contains(n), "{n}: in the profile, in no table");
        }
        // And the tables themselves: one entry per name, one name per number.
        let mut names = ours.clone();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ours.len());
        for a in arches() {
            let mut nrs: Vec<u32> = a.nrs.values().copied().collect();
            nrs.sort();
            assert!(nrs.windows(2).all(|w| w[0] != w[1]), "{}: a number twice", a.name());
            assert_eq!(*nrs.last().unwrap(), t::LAST);
        }
    }

    /// The x86_64 table against the libc crate's SYS_* constants (which
    /// come from the kernel's syscall_64.tbl), for every name libc has;
    /// the ones it lacks are listed.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_numbers_match_libc() {
        macro_rules! sys {
            ($($n:ident)*) => { [$((stringify!($n), libc::$n as u32)),*] };
        }
        #[rustfmt::skip]
        let libc = sys!(SYS_read SYS_write SYS_open SYS_close SYS_stat SYS_fstat SYS_lstat SYS_poll SYS_lseek SYS_mmap SYS_mprotect SYS_munmap SYS_brk
            SYS_rt_sigaction SYS_rt_sigprocmask SYS_rt_sigreturn SYS_ioctl SYS_pread64 SYS_pwrite64 SYS_readv SYS_writev SYS_access SYS_pipe SYS_select
            SYS_sched_yield SYS_mremap SYS_msync SYS_mincore SYS_madvise SYS_shmget SYS_shmat SYS_shmctl SYS_dup SYS_dup2 SYS_pause SYS_nanosleep
            SYS_getitimer SYS_alarm SYS_setitimer SYS_getpid SYS_sendfile SYS_socket SYS_connect SYS_accept SYS_sendto SYS_recvfrom SYS_sendmsg SYS_recvmsg
            SYS_shutdown SYS_bind SYS_listen SYS_getsockname SYS_getpeername SYS_socketpair SYS_setsockopt SYS_getsockopt SYS_clone SYS_fork SYS_vfork
            SYS_execve SYS_exit SYS_wait4 SYS_kill SYS_uname SYS_semget SYS_semop SYS_semctl SYS_shmdt SYS_msgget SYS_msgsnd SYS_msgrcv SYS_msgctl SYS_fcntl
            SYS_flock SYS_fsync SYS_fdatasync SYS_truncate SYS_ftruncate SYS_getdents SYS_getcwd SYS_chdir SYS_fchdir SYS_rename SYS_mkdir SYS_rmdir
            SYS_creat SYS_link SYS_unlink SYS_symlink SYS_readlink SYS_chmod SYS_fchmod SYS_chown SYS_fchown SYS_lchown SYS_umask SYS_gettimeofday
            SYS_getrlimit SYS_getrusage SYS_sysinfo SYS_times SYS_ptrace SYS_getuid SYS_syslog SYS_getgid SYS_setuid SYS_setgid SYS_geteuid SYS_getegid
            SYS_setpgid SYS_getppid SYS_getpgrp SYS_setsid SYS_setreuid SYS_setregid SYS_getgroups SYS_setgroups SYS_setresuid SYS_getresuid SYS_setresgid
            SYS_getresgid SYS_getpgid SYS_setfsuid SYS_setfsgid SYS_getsid SYS_capget SYS_capset SYS_rt_sigpending SYS_rt_sigtimedwait SYS_rt_sigqueueinfo
            SYS_rt_sigsuspend SYS_sigaltstack SYS_utime SYS_mknod SYS_uselib SYS_personality SYS_ustat SYS_statfs SYS_fstatfs SYS_sysfs SYS_getpriority
            SYS_setpriority SYS_sched_setparam SYS_sched_getparam SYS_sched_setscheduler SYS_sched_getscheduler SYS_sched_get_priority_max
            SYS_sched_get_priority_min SYS_sched_rr_get_interval SYS_mlock SYS_munlock SYS_mlockall SYS_munlockall SYS_vhangup SYS_modify_ldt
            SYS_pivot_root SYS__sysctl SYS_prctl SYS_arch_prctl SYS_adjtimex SYS_setrlimit SYS_chroot SYS_sync SYS_acct SYS_settimeofday SYS_mount
            SYS_umount2 SYS_swapon SYS_swapoff SYS_reboot SYS_sethostname SYS_setdomainname SYS_iopl SYS_ioperm SYS_init_module SYS_delete_module
            SYS_quotactl SYS_nfsservctl SYS_getpmsg SYS_putpmsg SYS_afs_syscall SYS_tuxcall SYS_security SYS_gettid SYS_readahead SYS_setxattr
            SYS_lsetxattr SYS_fsetxattr SYS_getxattr SYS_lgetxattr SYS_fgetxattr SYS_listxattr SYS_llistxattr SYS_flistxattr SYS_removexattr
            SYS_lremovexattr SYS_fremovexattr SYS_tkill SYS_time SYS_futex SYS_sched_setaffinity SYS_sched_getaffinity SYS_set_thread_area SYS_io_setup
            SYS_io_destroy SYS_io_getevents SYS_io_submit SYS_io_cancel SYS_get_thread_area SYS_lookup_dcookie SYS_epoll_create SYS_epoll_ctl_old
            SYS_epoll_wait_old SYS_remap_file_pages SYS_getdents64 SYS_set_tid_address SYS_restart_syscall SYS_semtimedop SYS_fadvise64 SYS_timer_create
            SYS_timer_settime SYS_timer_gettime SYS_timer_getoverrun SYS_timer_delete SYS_clock_settime SYS_clock_gettime SYS_clock_getres
            SYS_clock_nanosleep SYS_exit_group SYS_epoll_wait SYS_epoll_ctl SYS_tgkill SYS_utimes SYS_vserver SYS_mbind SYS_set_mempolicy SYS_get_mempolicy
            SYS_mq_open SYS_mq_unlink SYS_mq_timedsend SYS_mq_timedreceive SYS_mq_notify SYS_mq_getsetattr SYS_kexec_load SYS_waitid SYS_add_key
            SYS_request_key SYS_keyctl SYS_ioprio_set SYS_ioprio_get SYS_inotify_init SYS_inotify_add_watch SYS_inotify_rm_watch SYS_migrate_pages
            SYS_openat SYS_mkdirat SYS_mknodat SYS_fchownat SYS_futimesat SYS_newfstatat SYS_unlinkat SYS_renameat SYS_linkat SYS_symlinkat SYS_readlinkat
            SYS_fchmodat SYS_faccessat SYS_pselect6 SYS_ppoll SYS_unshare SYS_set_robust_list SYS_get_robust_list SYS_splice SYS_tee SYS_sync_file_range
            SYS_vmsplice SYS_move_pages SYS_utimensat SYS_epoll_pwait SYS_signalfd SYS_timerfd_create SYS_eventfd SYS_fallocate SYS_timerfd_settime
            SYS_timerfd_gettime SYS_accept4 SYS_signalfd4 SYS_eventfd2 SYS_epoll_create1 SYS_dup3 SYS_pipe2 SYS_inotify_init1 SYS_preadv SYS_pwritev
            SYS_rt_tgsigqueueinfo SYS_perf_event_open SYS_recvmmsg SYS_fanotify_init SYS_fanotify_mark SYS_prlimit64 SYS_name_to_handle_at
            SYS_open_by_handle_at SYS_clock_adjtime SYS_syncfs SYS_sendmmsg SYS_setns SYS_getcpu SYS_process_vm_readv SYS_process_vm_writev SYS_kcmp
            SYS_finit_module SYS_sched_setattr SYS_sched_getattr SYS_renameat2 SYS_seccomp SYS_getrandom SYS_memfd_create SYS_kexec_file_load SYS_bpf
            SYS_execveat SYS_userfaultfd SYS_membarrier SYS_mlock2 SYS_copy_file_range SYS_preadv2 SYS_pwritev2 SYS_pkey_mprotect SYS_pkey_alloc
            SYS_pkey_free SYS_statx SYS_rseq SYS_pidfd_send_signal SYS_io_uring_setup SYS_io_uring_enter SYS_io_uring_register
            SYS_open_tree SYS_move_mount SYS_fsopen SYS_fsconfig SYS_fsmount SYS_fspick SYS_pidfd_open SYS_clone3 SYS_close_range SYS_openat2
            SYS_pidfd_getfd SYS_faccessat2 SYS_process_madvise SYS_epoll_pwait2 SYS_mount_setattr SYS_quotactl_fd SYS_landlock_create_ruleset
            SYS_landlock_add_rule SYS_landlock_restrict_self SYS_memfd_secret SYS_process_mrelease SYS_futex_waitv SYS_set_mempolicy_home_node
            SYS_fchmodat2 SYS_mseal);
        // Not in libc 0.2 (numbers from arch/x86/entry/syscalls/syscall_64.tbl).
        let not_in_libc = [
            ("create_module", 174),
            ("get_kernel_syms", 177),
            ("query_module", 178),
            ("io_pgetevents", 333),
            ("uretprobe", 335),
            ("cachestat", 451),
            ("map_shadow_stack", 453),
            ("futex_wake", 454),
            ("futex_wait", 455),
            ("futex_requeue", 456),
            ("statmount", 457),
            ("listmount", 458),
            ("lsm_get_self_attr", 459),
            ("lsm_set_self_attr", 460),
            ("lsm_list_modules", 461),
            ("setxattrat", 463),
            ("getxattrat", 464),
            ("listxattrat", 465),
            ("removexattrat", 466),
        ];
        let mut want: HashMap<&str, u32> = libc.iter().map(|&(n, nr)| (&n[4..], nr)).collect();
        want.extend(not_in_libc);
        let x = arches();
        assert_eq!(x[0].nrs, want);
    }

    /// The aarch64 table against the kernel's generic table: numbers
    /// hand-copied from include/uapi/asm-generic/unistd.h (torvalds/linux)
    /// for everything the filter denies or checks, plus, where the host has
    /// it, the header itself.
    #[test]
    fn aarch64_numbers_match_asm_generic() {
        let x = arches();
        let a = &x[1];
        let generic = [
            ("lookup_dcookie", 18),
            ("umount2", 39),
            ("mount", 40),
            ("pivot_root", 41),
            ("nfsservctl", 42),
            ("chroot", 51),
            ("vhangup", 58),
            ("quotactl", 60),
            ("acct", 89),
            ("personality", 92),
            ("unshare", 97),
            ("kexec_load", 104),
            ("init_module", 105),
            ("delete_module", 106),
            ("clock_settime", 112),
            ("syslog", 116),
            ("ptrace", 117),
            ("reboot", 142),
            ("sethostname", 161),
            ("setdomainname", 162),
            ("settimeofday", 170),
            ("socket", 198),
            ("clone", 220),
            ("swapon", 224),
            ("swapoff", 225),
            ("mbind", 235),
            ("get_mempolicy", 236),
            ("set_mempolicy", 237),
            ("migrate_pages", 238),
            ("move_pages", 239),
            ("perf_event_open", 241),
            ("fanotify_init", 262),
            ("name_to_handle_at", 264),
            ("open_by_handle_at", 265),
            ("setns", 268),
            ("process_vm_readv", 270),
            ("process_vm_writev", 271),
            ("kcmp", 272),
            ("finit_module", 273),
            ("bpf", 280),
            ("userfaultfd", 282),
            ("kexec_file_load", 294),
            ("io_uring_setup", 425),
            ("io_uring_enter", 426),
            ("io_uring_register", 427),
            ("open_tree", 428),
            ("move_mount", 429),
            ("fsopen", 430),
            ("fsconfig", 431),
            ("fsmount", 432),
            ("fspick", 433),
            ("clone3", 435),
            ("pidfd_getfd", 438),
            ("process_madvise", 440),
            ("mount_setattr", 442),
            ("quotactl_fd", 443),
            ("set_mempolicy_home_node", 450),
            ("lsm_get_self_attr", 459),
            ("lsm_set_self_attr", 460),
            ("lsm_list_modules", 461),
            ("removexattrat", 466),
        ];
        for (n, nr) in generic {
            assert_eq!(a.nrs.get(n), Some(&nr), "aarch64 {n}");
        }
        // The generic table has no legacy calls.
        for n in ["open", "stat", "fork", "vfork", "pipe", "dup2", "poll", "select", "iopl", "ioperm", "arch_prctl", "uselib", "_sysctl", "time", "umount"] {
            assert!(!a.nrs.contains_key(n), "aarch64 has no {n}");
        }
        // The header, if this host has it: every 64-bit name up to what
        // it knows must agree (names for 32-bit or for arches other than
        // arm64 are skipped).
        let Ok(h) = std::fs::read_to_string("/usr/include/asm-generic/unistd.h") else { return };
        let mut defs: HashMap<String, String> = HashMap::new();
        for l in h.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() == 3 && w[0] == "#define" && w[1].starts_with("__NR") {
                defs.entry(w[1].to_string()).or_insert(w[2].to_string());
            }
        }
        fn value<'a>(defs: &'a HashMap<String, String>, mut v: &'a str) -> Option<u32> {
            while let Some(x) = defs.get(v) {
                v = x;
            }
            v.parse().ok()
        }
        let skip = ["syscalls", "arch_specific_syscall", "sync_file_range2", "fcntl64", "statfs64", "fstatfs64", "truncate64", "ftruncate64", "llseek"];
        let skip32 = ["sendfile64", "fstatat64", "fstat64", "mmap2", "fadvise64_64"];
        let mut max = 0;
        let mut checked = 0;
        for name in defs.keys() {
            let Some(n) = name.strip_prefix("__NR_") else { continue };
            let Some(nr) = value(&defs, name) else { continue };
            // 403..=423: the 32-bit architectures' time64 calls.
            if skip.contains(&n) || skip32.contains(&n) || (403..=423).contains(&nr) {
                continue;
            }
            assert_eq!(a.nrs.get(n), Some(&nr), "aarch64 {n}: the host's asm-generic/unistd.h says {nr}");
            max = max.max(nr);
            checked += 1;
        }
        for (&n, &nr) in &a.nrs {
            if nr <= max {
                assert!(defs.contains_key(&format!("__NR_{n}")), "aarch64 {n} ({nr}): not in the host's asm-generic/unistd.h");
            }
        }
        assert!(checked > 250, "only {checked} names read from the header");
    }

    /// The native filter, installed for real in a forked child with docker's
    /// default capabilities: the child reports the first check that failed
    /// as its exit status.
    #[test]
    fn live_filter_in_a_child() {
        // SAFETY (test): the child makes raw syscalls only, then _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = live_checks();
            // SAFETY (test): leaves the forked child at once.
            unsafe { libc::_exit(code) }
        }
        let mut status = 0;
        // SAFETY (test): waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "live check {} failed", libc::WEXITSTATUS(status));
    }

    /// Runs in the forked child: 0 if all went as expected, else the
    /// number of the check that did not.
    fn live_checks() -> i32 {
        fn err(r: libc::c_long) -> i32 {
            // SAFETY (test): errno of this thread.
            if r == -1 {
                unsafe { *libc::__errno_location() }
            } else {
                0
            }
        }
        // SAFETY (test): raw syscalls with harmless or invalid arguments;
        // the filter refuses most before the kernel looks at them.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return 1;
            }
            if super::install(DEFAULT_CAPS).is_err() {
                return 2;
            }
            // (the errno wanted, the errno got: read right after each call)
            let checks: [(i32, i32); 13] = [
                (libc::EPERM, err(libc::syscall(libc::SYS_unshare, libc::CLONE_NEWUSER))),
                (libc::EPERM, err(libc::syscall(libc::SYS_unshare, libc::CLONE_NEWNS))),
                (libc::EPERM, err(libc::syscall(libc::SYS_mount, c"none".as_ptr(), c"/".as_ptr(), c"tmpfs".as_ptr(), 0, 0))),
                (libc::EPERM, err(libc::syscall(libc::SYS_personality, 0x1234))),
                (libc::EPERM, err(libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0))),
                (libc::EPERM, err(libc::syscall(libc::SYS_socket, libc::AF_VSOCK, libc::SOCK_STREAM, 0))),
                (libc::EPERM, err(libc::syscall(libc::SYS_io_uring_setup, 1, 0))),
                (libc::EPERM, err(libc::syscall(libc::SYS_clone, libc::CLONE_NEWUSER | libc::SIGCHLD, 0, 0, 0, 0))),
                (libc::ENOSYS, err(libc::syscall(libc::SYS_clone3, 0, 0))),
                // file_getattr (Linux 6.17): past the profile's table.
                (libc::ENOSYS, err(libc::syscall(468, 0, 0, 0, 0, 0))),
                // x32: the same getpid with bit 30.
                (libc::EPERM, err(libc::syscall(0x4000_0000 | libc::SYS_getpid))),
                (0, err(libc::syscall(libc::SYS_personality, 0xffff_ffffu32 as libc::c_long))),
                (0, err(libc::syscall(libc::SYS_personality, 0))),
            ];
            for (i, &(want, got)) in checks.iter().enumerate() {
                if got != want {
                    return 10 + i as i32;
                }
            }
            if libc::syscall(libc::SYS_getpid) != libc::getpid() as libc::c_long || libc::getpid() <= 0 {
                return 30;
            }
            // i386's getpid (20) through int 0x80: another architecture.
            // In a grandchild (forked through the filter: clone without
            // namespace flags), which a kernel without IA32 emulation kills
            // with SIGSEGV: then there is nothing to check.
            #[cfg(target_arch = "x86_64")]
            {
                let pid = libc::fork();
                if pid == 0 {
                    let mut r: i64 = 20;
                    core::arch::asm!("int 0x80", inout("rax") r, options(nostack));
                    libc::_exit(if r == -(libc::EPERM as i64) { 0 } else { 1 });
                }
                let mut status = 0;
                if pid < 0 || libc::waitpid(pid, &mut status, 0) != pid {
                    return 31;
                }
                if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 0 {
                    return 32;
                }
            }
            0
        }
    }
}

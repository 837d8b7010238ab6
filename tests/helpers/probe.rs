//! Test helper: the attacker's probe, bind-mounted into containers by
//! tests/confine.rs. Each subcommand tries ONE thing with a raw syscall and
//! prints the kernel's verdict as one word: `ok` or the errno's name
//! (EPERM, EACCES, EROFS, ...). A few print several words or lines (said
//! below). Nothing here is destructive: reboot asks for CAD_OFF, settime
//! sets the time it just read, kexec/init_module get arguments that fail
//! after the permission check.
//!
//!   access PATH r|w|x|f          faccessat(AT_FDCWD, PATH, mode, 0)
//!   open PATH MODE               MODE: r|w|rw plus ,trunc ,creat ,write
//!                                (write: then write "evil\n" through it)
//!   read PATH                    bytes read to EOF (a number) or errno
//!   mknod PATH b|c MAJ MIN       mknodat(PATH, S_IFBLK|S_IFCHR 0600)
//!   mount-tmpfs DIR | mount-proc DIR | mount-cgroup1 DIR | mount-cgroup2 DIR
//!   remount-ro-rw PATH           MS_REMOUNT without MS_RDONLY (also with MS_BIND)
//!   unshare user|mount|net|cgroup|pid|ipc|uts
//!   clone-newuser                clone(CLONE_NEWUSER); the child exits
//!   vsock | clone3-newuser       socket(AF_VSOCK); clone3(CLONE_NEWUSER)
//!   keyctl | add_key | bpf | perf | userfaultfd | syslog | kexec |
//!   init_module | reboot | settime
//!   ptrace PID                   PTRACE_SEIZE (no stop; detached at exit)
//!   personality HEX
//!   caps                         CapInh CapPrm CapEff CapBnd CapAmb (5 words)
//!   seccomp                      Seccomp NoNewPrivs (2 words)
//!   exe-write PATH               2 words: open(O_WRONLY), then O_PATH and
//!                                a reopen of /proc/self/fd/N O_WRONLY
//!   open_by_handle DIR           3 words: name_to_handle_at(DIR),
//!                                open_by_handle_at(DIR's handle), and the
//!                                "shocker" brute force: inode 2's handle
//!   readlink PATH                the target (or errno)
//!   i386                         getpid through int 0x80 (x86_64 only)
//!   key-search DESC              a "user" key of this uid's user keyring:
//!                                its payload (or errno)
//!   rawsock                      socket(AF_INET, SOCK_RAW, ICMP)
//!   chown PATH                   fchownat(PATH, 1000, 1000)
//!   ls PATH                      names, sorted, on one line (or errno)
//!   procs MARKER ROUNDS          scans /proc ROUNDS times; prints one line
//!                                "PID EXE MARK" per process seen (MARK:
//!                                faccessat of /proc/PID/root/tmp/MARKER)
//!   x32-unshare-user             unshare(CLONE_NEWUSER) as an x32 syscall
//!   hunt DEV INO ROUNDS          "none", or "seen PID WRITE TRACE": a
//!                                process whose exe is DEV:INO was found;
//!                                WRITE: its exe reopened for writing,
//!                                TRACE: PTRACE_SEIZE of it, then the
//!                                most capabilities (CapEff) seen on one
//!   hijack DEV INO ROUNDS DIR    like hunt; a process running DEV:INO with
//!                                CAP_SYS_ADMIN and no filter is seized and
//!                                made to mount a tmpfs on DIR: "none",
//!                                "missed" or "hijacked VERDICT"
//!   fds [PID]                    "none", or the "PID/FD TARGET" descriptors
//!                                of every process (or PID) that lead to a
//!                                directory or file outside the container
//!   id                           uid euid groups... (getuid/geteuid/getgroups)
use std::ffi::CString;
use std::io::Write;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn name(e: i32) -> String {
    let n = match e {
        0 => "ok",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::ENOKEY => "ENOKEY",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ESTALE => "ESTALE",
        libc::EUSERS => "EUSERS",
        libc::EKEYREJECTED => "EKEYREJECTED",
        _ => return format!("E{e}"),
    };
    n.to_string()
}

/// A raw syscall's result as a word: ok for >= 0, else the errno's name.
fn word(r: i64) -> String {
    if r >= 0 {
        "ok".into()
    } else {
        name(errno())
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn arg(a: &[String], i: usize) -> &str {
    a.get(i).map(|s| s.as_str()).unwrap_or_else(|| {
        eprintln!("probe: missing argument {i}");
        std::process::exit(2)
    })
}

fn sys(n: i64, a: [i64; 6]) -> i64 {
    // SAFETY: the callers pass arguments the syscall reads or writes within
    // live buffers of the right size (or plain integers).
    unsafe { libc::syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

fn status_field(k: &str) -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_string())).unwrap_or_else(|| "none".into())
}

fn open_flags(mode: &str) -> (i32, bool) {
    let mut fl = libc::O_CLOEXEC;
    let mut write = false;
    for m in mode.split(',') {
        match m {
            "r" => fl |= libc::O_RDONLY,
            "w" => fl |= libc::O_WRONLY,
            "rw" => fl |= libc::O_RDWR,
            "trunc" => fl |= libc::O_TRUNC,
            "creat" => fl |= libc::O_CREAT,
            "write" => write = true,
            _ => {
                eprintln!("probe: bad open mode {m}");
                std::process::exit(2)
            }
        }
    }
    (fl, write)
}

fn mount(src: &str, dst: &str, ty: &str, flags: u64, data: &str) -> String {
    let (s, d, t, o) = (c(src), c(dst), c(ty), c(data));
    word(sys(libc::SYS_mount, [s.as_ptr() as i64, d.as_ptr() as i64, t.as_ptr() as i64, flags as i64, o.as_ptr() as i64, 0]))
}

fn ls(p: &str) -> String {
    match std::fs::read_dir(p) {
        Ok(d) => {
            let mut v: Vec<String> = d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v.join(" ")
        }
        Err(e) => name(e.raw_os_error().unwrap_or(0)),
    }
}

fn readlink(p: &str) -> String {
    match std::fs::read_link(p) {
        Ok(t) => t.to_string_lossy().into_owned(),
        Err(e) => name(e.raw_os_error().unwrap_or(0)),
    }
}

#[cfg(target_arch = "x86_64")]
fn i386() -> String {
    let mut ax: i64 = 20; // __NR_getpid on i386
                          // SAFETY: a 32-bit getpid through the compat entry point; it reads no
                          // memory. r8-r15 are declared clobbered for kernels that zero them.
    unsafe {
        core::arch::asm!("int 0x80", inlateout("rax") ax, out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                         out("r12") _, out("r13") _, out("r14") _, out("r15") _, options(nostack));
    }
    let ax = ax as i32;
    if ax > 0 {
        "ok".into()
    } else {
        name(-ax)
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn i386() -> String {
    "ENOSYS".into()
}

fn handle_words(dir: &str) -> String {
    // struct file_handle { u32 handle_bytes; i32 handle_type; u8 f_handle[] }
    let mut h = [0u32; 34];
    h[0] = 128;
    let mut mnt: i32 = 0;
    let d = c(dir);
    let r1 = sys(libc::SYS_name_to_handle_at, [libc::AT_FDCWD as i64, d.as_ptr() as i64, h.as_mut_ptr() as i64, &mut mnt as *mut i32 as i64, 0, 0]);
    let w1 = word(r1);
    // SAFETY: open of a NUL-terminated path.
    let mfd = unsafe { libc::open(d.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if mfd < 0 {
        let e = name(errno());
        return format!("{w1} {e} {e}");
    }
    // tried even when no handle was made: the permission check comes first
    let w2 = word(sys(libc::SYS_open_by_handle_at, [mfd as i64, h.as_mut_ptr() as i64, (libc::O_RDONLY | libc::O_CLOEXEC) as i64, 0, 0, 0]));
    // shocker: FILEID_INO32_GEN (1), 8 bytes: inode 2 (an ext* root), generation 0
    let mut s = [0u32; 4];
    s[0] = 8;
    s[1] = 1;
    s[2] = 2;
    s[3] = 0;
    let w3 = word(sys(libc::SYS_open_by_handle_at, [mfd as i64, s.as_mut_ptr() as i64, (libc::O_RDONLY | libc::O_CLOEXEC) as i64, 0, 0, 0]));
    format!("{w1} {w2} {w3}")
}

fn procs(marker: &str, rounds: usize) -> String {
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..rounds {
        let Ok(d) = std::fs::read_dir("/proc") else { break };
        for e in d.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !n.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let exe = readlink(&format!("/proc/{n}/exe"));
            let m = c(&format!("/proc/{n}/root/tmp/{marker}"));
            // SAFETY: faccessat of a NUL-terminated path.
            let mark = if unsafe { libc::faccessat(libc::AT_FDCWD, m.as_ptr(), libc::F_OK, 0) } == 0 { "ok".to_string() } else { name(errno()) };
            let line = format!("{n} {exe} {mark}");
            seen.insert(line, ());
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let v: Vec<String> = seen.into_keys().collect();
    v.join("\n")
}

/// The pids in /proc other than `me` (None if /proc cannot be read).
fn other_pids(me: &str) -> Option<Vec<String>> {
    let d = std::fs::read_dir("/proc").ok()?;
    Some(d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && n != me).collect())
}

/// Scans /proc for ROUNDS rounds for a process whose exe is the file
/// DEV:INO (the host's mydocker), holding an O_PATH descriptor to each one
/// found; at the end reopens those for writing (CVE-2019-5736).
fn hunt(dev: u64, ino: u64, rounds: usize) -> String {
    let me = std::process::id().to_string();
    let mut held: Vec<(String, i64)> = Vec::new();
    let mut traced = String::new();
    let mut caps = 0u64;
    for _ in 0..rounds {
        let Some(pids) = other_pids(&me) else { break };
        for n in pids {
            let p = c(&format!("/proc/{n}/exe"));
            let fd = sys(libc::SYS_openat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, (libc::O_PATH | libc::O_CLOEXEC) as i64, 0, 0, 0]);
            if fd < 0 {
                continue;
            }
            // SAFETY: fstat into a local.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: as above; fd is ours.
            let r = unsafe { libc::fstat(fd as i32, &mut st) };
            if r == 0 && st.st_dev == dev && st.st_ino == ino && held.len() < 64 {
                // a process running the host's binary: can we trace it
                // (PTRACE_SEIZE: no stop; detached when we exit)?
                let pid: i64 = n.parse().unwrap_or(0);
                let st = std::fs::read_to_string(format!("/proc/{n}/status")).unwrap_or_default();
                if let Some(c) = st.lines().find_map(|l| l.strip_prefix("CapEff:")) {
                    let c = u64::from_str_radix(c.trim(), 16).unwrap_or(0);
                    if c > caps {
                        caps = c;
                    }
                }
                let t = word(sys(libc::SYS_ptrace, [0x4206, pid, 0, 0, 0, 0]));
                if traced.is_empty() || t == "ok" {
                    traced = t;
                }
                held.push((n, fd));
            } else {
                // SAFETY: closes our own descriptor.
                unsafe { libc::close(fd as i32) };
            }
        }
    }
    if held.is_empty() {
        return "none".into();
    }
    let mut worst = String::new();
    for (_, fd) in &held {
        let q = c(&format!("/proc/self/fd/{fd}"));
        let w = word(sys(libc::SYS_openat, [libc::AT_FDCWD as i64, q.as_ptr() as i64, (libc::O_WRONLY | libc::O_CLOEXEC) as i64, 0, 0, 0]));
        if worst.is_empty() || w == "ok" {
            worst = w;
        }
    }
    format!("seen {} {worst} {traced} {caps:016x}", held[0].0)
}

/// The open descriptors of every process in sight (or of PID) that lead
/// outside the container: a directory or regular file whose path, looked
/// up here, is not that same file. Prints "none" or "PID/FD TARGET" lines.
fn foreign_fds(only: Option<&str>) -> String {
    let mut bad = Vec::new();
    let Ok(d) = std::fs::read_dir("/proc") else { return name(errno()) };
    for e in d.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if !n.bytes().all(|b| b.is_ascii_digit()) || only.is_some_and(|o| o != n) || n == std::process::id().to_string() {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{n}/fd")) else { continue };
        for f in fds.flatten() {
            let fd = f.file_name().to_string_lossy().into_owned();
            let link = format!("/proc/{n}/fd/{fd}");
            let target = readlink(&link);
            // SAFETY: stat/lstat into locals of NUL-terminated paths.
            let (mut a, mut b): (libc::stat, libc::stat) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
            let l = c(&link);
            // SAFETY: as above.
            if unsafe { libc::stat(l.as_ptr(), &mut a) } != 0 {
                continue;
            }
            let kind = a.st_mode & libc::S_IFMT;
            if kind != libc::S_IFDIR && kind != libc::S_IFREG {
                continue;
            }
            let tp = c(target.trim_end_matches(" (deleted)"));
            // SAFETY: as above.
            let same = target.starts_with('/') && unsafe { libc::stat(tp.as_ptr(), &mut b) } == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
            if !same && !target.starts_with("/memfd:") {
                bad.push(format!("{n}/{fd} {target}"));
            }
        }
    }
    if bad.is_empty() {
        "none".into()
    } else {
        bad.join("\n")
    }
}

/// Like `hunt`, but on finding a process that runs the host binary with
/// CAP_SYS_ADMIN, seizes it, stops it and makes it execute one syscall:
/// mount("tmpfs", DIR, "tmpfs", 0, 0), then puts it back as it was.
/// Prints "none", "missed" (seen, never caught privileged), or
/// "hijacked VERDICT" with the injected mount's verdict.
#[cfg(target_arch = "x86_64")]
fn hijack(dev: u64, ino: u64, rounds: usize, dir: &str) -> String {
    let me = std::process::id().to_string();
    let mut seen = false;
    let _ = std::fs::create_dir_all(dir);
    for _ in 0..rounds {
        let Some(pids) = other_pids(&me) else { break };
        for n in pids {
            let Ok(m) = std::fs::metadata(format!("/proc/{n}/exe")) else { continue };
            use std::os::unix::fs::MetadataExt;
            if m.dev() != dev || m.ino() != ino {
                continue;
            }
            seen = true;
            let pid: i64 = n.parse().unwrap_or(0);
            if let Some(v) = inject_mount(pid, &n, dir) {
                return format!("hijacked {v}");
            }
        }
    }
    if seen {
        "missed".into()
    } else {
        "none".into()
    }
}

#[cfg(target_arch = "x86_64")]
fn privileged(n: &str) -> bool {
    let st = std::fs::read_to_string(format!("/proc/{n}/status")).unwrap_or_default();
    let eff = st.lines().find_map(|l| l.strip_prefix("CapEff:")).map(|c| u64::from_str_radix(c.trim(), 16).unwrap_or(0)).unwrap_or(0);
    let filtered = st.lines().any(|l| l.starts_with("Seccomp:") && !l.ends_with('0'));
    eff & (1 << 21) != 0 && !filtered
}

/// The injection itself; None when the process got away unprivileged.
#[cfg(target_arch = "x86_64")]
fn inject_mount(pid: i64, n: &str, dir: &str) -> Option<String> {
    const SEIZE: i64 = 0x4206;
    const INTERRUPT: i64 = 0x4207;
    const DETACH: i64 = 17;
    const GETREGS: i64 = 12;
    const SETREGS: i64 = 13;
    const PEEKTEXT: i64 = 1;
    const POKEDATA: i64 = 5;
    const SINGLESTEP: i64 = 9;
    if sys(libc::SYS_ptrace, [SEIZE, pid, 0, 0, 0, 0]) < 0 {
        return None;
    }
    let detach = || sys(libc::SYS_ptrace, [DETACH, pid, 0, 0, 0, 0]);
    sys(libc::SYS_ptrace, [INTERRUPT, pid, 0, 0, 0, 0]);
    let mut st = 0i32;
    // SAFETY: waits for our tracee.
    if unsafe { libc::waitpid(pid as i32, &mut st, libc::__WALL) } != pid as i32 || !privileged(n) {
        detach();
        return None;
    }
    // SAFETY: user_regs_struct is plain data.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    sys(libc::SYS_ptrace, [GETREGS, pid, 0, &mut regs as *mut _ as i64, 0, 0]);
    let saved = regs;
    // a `syscall` instruction (0f 05) just before rip: it was in a syscall
    // SAFETY: PEEKTEXT returns the word; errno tells errors apart.
    let word_at = unsafe { libc::ptrace(PEEKTEXT as _, pid as i32, (regs.rip - 2) as *mut libc::c_void, 0) };
    if word_at & 0xffff != 0x050f {
        detach();
        return Some("no-syscall-site".into());
    }
    // the strings, well below the stack pointer (past the red zone)
    let base = (regs.rsp - 4096) & !7;
    let put = |at: u64, s: &[u8]| {
        let mut b = s.to_vec();
        b.push(0);
        b.resize(b.len().div_ceil(8) * 8, 0);
        for (i, ch) in b.chunks(8).enumerate() {
            let w = u64::from_le_bytes(ch.try_into().unwrap());
            sys(libc::SYS_ptrace, [POKEDATA, pid, (at + 8 * i as u64) as i64, w as i64, 0, 0]);
        }
    };
    put(base, b"tmpfs");
    put(base + 64, dir.as_bytes());
    regs.rip -= 2;
    regs.orig_rax = u64::MAX;
    regs.rax = libc::SYS_mount as u64;
    regs.rdi = base;
    regs.rsi = base + 64;
    regs.rdx = base;
    regs.r10 = 0;
    regs.r8 = 0;
    sys(libc::SYS_ptrace, [SETREGS, pid, 0, &regs as *const _ as i64, 0, 0]);
    sys(libc::SYS_ptrace, [SINGLESTEP, pid, 0, 0, 0, 0]);
    // SAFETY: waits for our tracee.
    unsafe { libc::waitpid(pid as i32, &mut st, libc::__WALL) };
    sys(libc::SYS_ptrace, [GETREGS, pid, 0, &mut regs as *mut _ as i64, 0, 0]);
    let r = regs.rax as i64;
    sys(libc::SYS_ptrace, [SETREGS, pid, 0, &saved as *const _ as i64, 0, 0]);
    detach();
    Some(if r >= 0 { "ok".into() } else { name(-r as i32) })
}

#[cfg(not(target_arch = "x86_64"))]
fn hijack(_: u64, _: u64, _: usize, _: &str) -> String {
    "ENOSYS".into()
}

fn run(a: &[String]) -> String {
    let cmd = arg(a, 1);
    match cmd {
        "access" => {
            let p = c(arg(a, 2));
            let m = match arg(a, 3) {
                "r" => libc::R_OK,
                "w" => libc::W_OK,
                "x" => libc::X_OK,
                _ => libc::F_OK,
            };
            word(sys(libc::SYS_faccessat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, m as i64, 0, 0, 0]))
        }
        "open" => {
            let p = c(arg(a, 2));
            let (fl, write) = open_flags(arg(a, 3));
            let fd = sys(libc::SYS_openat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, fl as i64, 0o644, 0, 0]);
            if fd < 0 || !write {
                return word(fd);
            }
            let b = b"evil\n";
            word(sys(libc::SYS_write, [fd, b.as_ptr() as i64, b.len() as i64, 0, 0, 0]))
        }
        "read" => {
            let p = c(arg(a, 2));
            let fd = sys(libc::SYS_openat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, (libc::O_RDONLY | libc::O_CLOEXEC) as i64, 0, 0, 0]);
            if fd < 0 {
                return word(fd);
            }
            let mut total = 0i64;
            let mut b = vec![0u8; 65536];
            loop {
                let n = sys(libc::SYS_read, [fd, b.as_mut_ptr() as i64, b.len() as i64, 0, 0, 0]);
                if n < 0 {
                    return word(n);
                }
                if n == 0 || total > 1 << 20 {
                    return total.to_string();
                }
                total += n;
            }
        }
        "mknod" => {
            let p = c(arg(a, 2));
            let ty = if arg(a, 3) == "b" { libc::S_IFBLK } else { libc::S_IFCHR };
            let maj: u32 = arg(a, 4).parse().unwrap();
            let min: u32 = arg(a, 5).parse().unwrap();
            let dev = libc::makedev(maj, min);
            word(sys(libc::SYS_mknodat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, (ty | 0o600) as i64, dev as i64, 0, 0]))
        }
        "mount-tmpfs" => mount("tmpfs", arg(a, 2), "tmpfs", 0, ""),
        "mount-proc" => mount("proc", arg(a, 2), "proc", 0, ""),
        "mount-cgroup1" => mount("cgroup", arg(a, 2), "cgroup", 0, "memory"),
        "mount-cgroup2" => mount("cgroup2", arg(a, 2), "cgroup2", 0, ""),
        "remount-ro-rw" => {
            let p = arg(a, 2);
            let w = mount("", p, "", libc::MS_REMOUNT, "");
            if w == "ok" {
                return w;
            }
            let w2 = mount("", p, "", libc::MS_REMOUNT | libc::MS_BIND, "");
            if w2 == "ok" {
                w2
            } else {
                w
            }
        }
        "unshare" => {
            let f = match arg(a, 2) {
                "user" => libc::CLONE_NEWUSER,
                "mount" => libc::CLONE_NEWNS,
                "net" => libc::CLONE_NEWNET,
                "cgroup" => libc::CLONE_NEWCGROUP,
                "pid" => libc::CLONE_NEWPID,
                "ipc" => libc::CLONE_NEWIPC,
                "uts" => libc::CLONE_NEWUTS,
                x => panic!("unshare {x}"),
            };
            word(sys(libc::SYS_unshare, [f as i64, 0, 0, 0, 0, 0]))
        }
        "clone-newuser" => {
            let r = sys(libc::SYS_clone, [(libc::CLONE_NEWUSER | libc::SIGCHLD) as i64, 0, 0, 0, 0, 0]);
            if r == 0 {
                // SAFETY: the child leaves at once.
                unsafe { libc::_exit(0) };
            }
            if r > 0 {
                // SAFETY: reaps the child just made.
                unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
            }
            word(r)
        }
        // socket(AF_VSOCK): docker's profile refuses family 40
        "vsock" => word(sys(libc::SYS_socket, [40, libc::SOCK_STREAM as i64, 0, 0, 0, 0])),
        // clone3 with CLONE_NEWUSER (the filter cannot see clone3's flags,
        // so docker's profile answers ENOSYS without CAP_SYS_ADMIN)
        "clone3-newuser" => {
            let mut args = [0u64; 11];
            args[0] = libc::CLONE_NEWUSER as u64;
            args[4] = libc::SIGCHLD as u64;
            let r = sys(libc::SYS_clone3, [args.as_mut_ptr() as i64, 88, 0, 0, 0, 0]);
            if r == 0 {
                // SAFETY: the child leaves at once.
                unsafe { libc::_exit(0) };
            }
            if r > 0 {
                // SAFETY: reaps the child just made.
                unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
            }
            word(r)
        }
        "keyctl" => {
            // KEYCTL_GET_KEYRING_ID (0) of the session keyring (-3), create
            word(sys(libc::SYS_keyctl, [0, -3, 1, 0, 0, 0]))
        }
        "add_key" => {
            let (t, d, p) = (c("user"), c("probe"), b"x");
            // KEY_SPEC_PROCESS_KEYRING = -2
            word(sys(libc::SYS_add_key, [t.as_ptr() as i64, d.as_ptr() as i64, p.as_ptr() as i64, 1, -2, 0]))
        }
        "bpf" => {
            // BPF_MAP_CREATE (0): array, key 4, value 4, 1 entry
            let mut attr = [0u32; 16];
            attr[0] = 2;
            attr[1] = 4;
            attr[2] = 4;
            attr[3] = 1;
            word(sys(libc::SYS_bpf, [0, attr.as_mut_ptr() as i64, 64, 0, 0, 0]))
        }
        "perf" => {
            // perf_event_attr: PERF_TYPE_SOFTWARE (1), size, PERF_COUNT_SW_CPU_CLOCK (0),
            // flags at byte 40: disabled | exclude_kernel | exclude_hv
            let mut attr = [0u64; 16];
            attr[0] = 1 | (128u64 << 32);
            attr[5] = 1 | (1 << 5) | (1 << 6);
            word(sys(libc::SYS_perf_event_open, [attr.as_mut_ptr() as i64, 0, -1, -1, 0, 0]))
        }
        "userfaultfd" => word(sys(libc::SYS_userfaultfd, [libc::O_CLOEXEC as i64, 0, 0, 0, 0, 0])),
        "syslog" => {
            let mut b = vec![0u8; 1 << 16];
            // SYSLOG_ACTION_READ_ALL (3)
            word(sys(libc::SYS_syslog, [3, b.as_mut_ptr() as i64, b.len() as i64, 0, 0, 0]))
        }
        // kexec_file_load with no file: EBADF once permitted, never loads.
        "kexec" => word(sys(libc::SYS_kexec_file_load, [-1, -1, 0, 0, 0, 0])),
        // init_module of an empty image: ENOEXEC/EINVAL once permitted.
        "init_module" => {
            let p = c("");
            word(sys(libc::SYS_init_module, [p.as_ptr() as i64, 0, p.as_ptr() as i64, 0, 0, 0]))
        }
        // LINUX_REBOOT_CMD_CAD_OFF: Ctrl-Alt-Del sends SIGINT to init (harmless)
        "reboot" => word(sys(libc::SYS_reboot, [0xfee1dead_u32 as i64, 672274793, 0, 0, 0, 0])),
        "settime" => {
            let mut tv = libc::timeval { tv_sec: 0, tv_usec: 0 };
            // SAFETY: gettimeofday into a local.
            unsafe { libc::gettimeofday(&mut tv, std::ptr::null_mut()) };
            word(sys(libc::SYS_settimeofday, [&tv as *const libc::timeval as i64, 0, 0, 0, 0, 0]))
        }
        "ptrace" => {
            let pid: i64 = arg(a, 2).parse().unwrap();
            word(sys(libc::SYS_ptrace, [0x4206, pid, 0, 0, 0, 0]))
        }
        "personality" => {
            let p = i64::from_str_radix(arg(a, 2).trim_start_matches("0x"), 16).unwrap();
            word(sys(libc::SYS_personality, [p, 0, 0, 0, 0, 0]))
        }
        "caps" => ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(status_field).join(" "),
        "seccomp" => ["Seccomp", "NoNewPrivs"].map(status_field).join(" "),
        "exe-write" => {
            let p = c(arg(a, 2));
            let w1 = word(sys(libc::SYS_openat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, (libc::O_WRONLY | libc::O_CLOEXEC) as i64, 0, 0, 0]));
            let pfd = sys(libc::SYS_openat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, (libc::O_PATH | libc::O_CLOEXEC) as i64, 0, 0, 0]);
            let w2 = if pfd < 0 {
                word(pfd)
            } else {
                let q = c(&format!("/proc/self/fd/{pfd}"));
                word(sys(libc::SYS_openat, [libc::AT_FDCWD as i64, q.as_ptr() as i64, (libc::O_WRONLY | libc::O_CLOEXEC) as i64, 0, 0, 0]))
            };
            format!("{w1} {w2}")
        }
        "open_by_handle" => handle_words(arg(a, 2)),
        // find a "user" key by description from the user keyring of this
        // uid (KEYCTL_SEARCH), then read its payload (KEYCTL_READ)
        "key-search" => {
            let (t, d) = (c("user"), c(arg(a, 2)));
            let id = sys(libc::SYS_keyctl, [10, -4, t.as_ptr() as i64, d.as_ptr() as i64, 0, 0]);
            if id < 0 {
                return word(id);
            }
            let mut b = [0u8; 256];
            let n = sys(libc::SYS_keyctl, [11, id, b.as_mut_ptr() as i64, b.len() as i64, 0, 0]);
            if n < 0 {
                return word(n);
            }
            String::from_utf8_lossy(&b[..(n as usize).min(256)]).into_owned()
        }
        // a raw ICMP socket: needs CAP_NET_RAW
        "rawsock" => word(sys(libc::SYS_socket, [libc::AF_INET as i64, libc::SOCK_RAW as i64, libc::IPPROTO_ICMP as i64, 0, 0, 0])),
        // chown of PATH to 1000:1000: needs CAP_CHOWN
        "chown" => {
            let p = c(arg(a, 2));
            word(sys(libc::SYS_fchownat, [libc::AT_FDCWD as i64, p.as_ptr() as i64, 1000, 1000, 0, 0]))
        }
        "readlink" => readlink(arg(a, 2)),
        "i386" => i386(),
        "ls" => ls(arg(a, 2)),
        "hunt" => hunt(arg(a, 2).parse().unwrap(), arg(a, 3).parse().unwrap(), arg(a, 4).parse().unwrap()),
        "hijack" => hijack(arg(a, 2).parse().unwrap(), arg(a, 3).parse().unwrap(), arg(a, 4).parse().unwrap(), arg(a, 5)),
        "fds" => foreign_fds(a.get(2).map(|s| s.as_str())),
        "procs" => procs(arg(a, 2), arg(a, 3).parse().unwrap()),
        // unshare(CLONE_NEWUSER) through the x32 ABI (syscall number with
        // bit 30): a filter that forgets the bit would let it through
        "x32-unshare-user" => word(sys(0x4000_0000 | libc::SYS_unshare, [libc::CLONE_NEWUSER as i64, 0, 0, 0, 0, 0])),
        "id" => {
            // SAFETY: plain getters; getgroups into a buffer of its size.
            let (u, g) = unsafe { (libc::getuid(), libc::geteuid()) };
            let mut gs = [0 as libc::gid_t; 256];
            // SAFETY: as above.
            let n = unsafe { libc::getgroups(256, gs.as_mut_ptr()) };
            let mut s = format!("{u} {g}");
            for x in &gs[..n.max(0) as usize] {
                s.push_str(&format!(" {x}"));
            }
            s
        }
        x => {
            eprintln!("probe: unknown command {x}");
            std::process::exit(2)
        }
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let out = run(&a);
    let mut o = std::io::stdout();
    let _ = writeln!(o, "{out}");
}

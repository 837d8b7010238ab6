//! `-u, --user NAME|UID[:GROUP|GID]`: the ids a container's process runs
//! as, resolved against the image's /etc/passwd and /etc/group the way
//! docker does (moby's `getUser` over moby/sys's `GetExecUser`, which is
//! runc's libcontainer/user):
//!
//! - the spec splits at its first `:`; an empty part is the default;
//! - a part that reads as a number (Go's Atoi: an optional sign, digits)
//!   is an id, never a name, and must be in 0..=2^31-1; anything else is
//!   a name;
//! - no user: uid 0, looked up by uid; a name must be in passwd; a uid
//!   need not be (then gid 0 and home "/"); a found entry gives its gid
//!   and home;
//! - a group name must be in /etc/group; a gid need not be;
//! - setgroups gets the primary gid (moby puts it first since its fix
//!   for CVE-2022-36109) and, only when no group was given and the user
//!   was found in passwd, every group that lists the user's name as a
//!   member (without repeats).
//!
//! Where this differs from Go's parser: a blank line or a `#` comment is
//! skipped in both files (moby/sys skips comments in group only), and so
//! is a line whose id fields are not ids (Go reads a garbled id as 0:
//! root); an entry with an empty home gets "/", not "".

// Not called yet: init.rs (the lead) wires `lookup` and `apply` in.

use super::util::{fields, num, parse_u64, Ctx, Error, Msg, Res};
use crate::sys;
use alloc::vec::Vec;

#[derive(Debug, PartialEq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// The groups for setgroups: the primary gid first.
    pub groups: Vec<u32>,
    pub home: Vec<u8>,
}

/// The largest id runc accepts (MaxInt32, for 32-bit systems).
const MAX_ID: u64 = 0x7fff_ffff;

/// How much of /etc/passwd or /etc/group is read (moby/sys: 10 MiB).
pub const MAX_FILE: usize = 1 << 20;

/// `s` as Go's Atoi reads it: `None` if not a number (a name), else the
/// number: over MAX_ID if out of range (negative, or too big).
fn numeric(s: &[u8]) -> Option<u64> {
    let (neg, d) = match s {
        [b'-', d @ ..] => (true, d),
        [b'+', d @ ..] => (false, d),
        d => (false, d),
    };
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // More than 19 digits (None) is out of range too.
    Some(match parse_u64(d) {
        Some(n) if n == 0 || !neg => n,
        _ => u64::MAX,
    })
}

/// A spec part: `Some(id)` for a number, `None` for a name or nothing.
fn arg(s: &[u8]) -> Res<Option<u32>> {
    match numeric(s) {
        Some(n) if n > MAX_ID => Err(Error::text(m!("uids and gids must be in range 0-2147483647"))),
        n => Ok(n.map(|n| n as u32)),
    }
}

/// The entry of a passwd (`nid` = 2: uid, gid) or group (`nid` = 1: gid)
/// file at or after byte `at` (moved past it): its name, its home (field
/// 5 of passwd) or member list (field 3 of group), and its ids. Blank
/// lines, comments and lines whose id fields are not ids in range are not
/// entries; missing fields after the ids are empty.
fn next_entry<'a>(file: &'a [u8], nid: usize, at: &mut usize) -> Option<([&'a [u8]; 2], [u32; 2])> {
    while *at < file.len() {
        let rest = &file[*at..];
        let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        *at += end + 1;
        let l = rest[..end].trim_ascii();
        if l.first().is_none_or(|&c| c == b'#') {
            continue;
        }
        let mut f = [&b""[..]; 6];
        let mut i = 0;
        // (a counter and get_mut: take(6).enumerate() was 10-30 bytes more)
        #[allow(clippy::explicit_counter_loop)]
        for x in fields(l, b':') {
            if let Some(s) = f.get_mut(i) {
                *s = x;
            }
            i += 1;
        }
        let (u, g) = (numeric(f[2]).unwrap_or(u64::MAX), numeric(f[3]).unwrap_or(u64::MAX));
        if u.max(if nid == 2 { g } else { 0 }) <= MAX_ID {
            return Some(([f[0], f[1 + 2 * nid]], [u as u32, g as u32]));
        }
    }
    None
}

/// The first entry whose (first) id is `id` or, with none given, whose
/// name is `name`.
fn find<'a>(file: &'a [u8], nid: usize, id: Option<u32>, name: &[u8]) -> Option<([&'a [u8]; 2], [u32; 2])> {
    let mut at = 0;
    while let Some((f, ids)) = next_entry(file, nid, &mut at) {
        if id.map_or(f[0] == name, |n| n == ids[0]) {
            return Some((f, ids));
        }
    }
    None
}

/// `unable to find user NAME: no matching entries in passwd file`, or
/// the same for a group: docker's words.
fn missing(what: Msg, name: &[u8], why: Msg) -> Error {
    // (written straight into the error buffer: no Vec)
    Error::text(what).append(name).more(why)
}

/// Resolves a `--user` spec against the contents of /etc/passwd and
/// /etc/group (either may be empty: a missing file).
pub fn resolve(spec: &[u8], passwd: &[u8], group: &[u8]) -> Res<User> {
    let (us, gs) = match spec.iter().position(|&c| c == b':') {
        Some(i) => (&spec[..i], &spec[i + 1..]),
        None => (spec, &b""[..]),
    };
    // No user part: root, looked up by uid.
    let uid = if us.is_empty() { Some(0) } else { arg(us)? };
    let gid = arg(gs)?;
    let mut u = User { uid: 0, gid: 0, groups: Vec::new(), home: Vec::new() };
    let mut name = &b""[..];
    match find(passwd, 2, uid, us) {
        Some((f, ids)) => {
            (u.uid, u.gid, name) = (ids[0], ids[1], f[0]);
            u.home = f[1].to_vec();
        }
        // A uid stands by itself, a name is an error.
        None => u.uid = uid.ok_or_else(|| missing(m!("unable to find user "), us, m!(": no matching entries in passwd file")))?,
    }
    if u.home.is_empty() {
        u.home.push(b'/');
    }
    if !gs.is_empty() {
        u.gid = match find(group, 1, gid, gs) {
            Some((_, ids)) => ids[0],
            None => gid.ok_or_else(|| missing(m!("unable to find group "), gs, m!(": no matching entries in group file")))?,
        };
    }
    u.groups.push(u.gid);
    if gs.is_empty() && !name.is_empty() {
        let mut at = 0;
        while let Some((f, ids)) = next_entry(group, 1, &mut at) {
            if super::util::word_index(f[1], name).is_some() && !u.groups.iter().any(|&g| g == ids[0]) {
                u.groups.push(ids[0]);
            }
        }
    }
    Ok(u)
}

/// Appends a user database file to `v`: at most MAX_FILE bytes (more is
/// EFBIG). As runc has it, a file that cannot be opened or is not a
/// regular file reads as empty: opened non-blocking, so that a FIFO
/// planted by the image cannot hang the start, and checked with fstat
/// before anything is read (a device reads as empty; /proc/kcore,
/// "regular" and huge, as EFBIG). Symlinks are followed: this runs after
/// pivot_root, inside the image.
pub fn read_bounded(path: &[u8], v: &mut Vec<u8>) -> Res<()> {
    let Ok(fd) = sys::open(path, sys::O_RDONLY | sys::O_NONBLOCK | sys::O_NOCTTY, 0) else { return Ok(()) };
    let max = v.len() + MAX_FILE;
    (|| {
        if sys::fstat(fd.raw())?.kind() == sys::S_IFREG {
            // read straight into `v` (no chunk buffer to copy from)
            loop {
                let at = v.len();
                v.resize(at + 4096, 0);
                let n = sys::read(fd.raw(), &mut v[at..])?;
                v.truncate(at + n);
                if n == 0 {
                    break;
                }
                if at + n > max {
                    return Err(sys::EFBIG);
                }
            }
        }
        Ok(())
    })()
    .ctx(m!("read"), path)
}

/// Resolves `spec` against /etc/passwd and /etc/group of the current root
/// (the container's, after pivot_root).
pub fn lookup(spec: &[u8]) -> Res<User> {
    let mut v = Vec::new();
    read_bounded(b"/etc/passwd", &mut v)?;
    let n = v.len();
    read_bounded(b"/etc/group", &mut v)?;
    resolve(spec, &v[..n], &v[n..])
}

/// Becomes `u`: setgroups, setgid, setuid, in that order (each needs the
/// privilege the next gives up). The calls change the calling thread only
/// (the raw syscalls, not libc's all-threads versions): right for
/// mydocker, which is single-threaded.
///
/// Capabilities: when setuid leaves uid 0 for a non-zero uid, the kernel
/// clears the effective set, and the permitted set too unless
/// PR_SET_KEEPCAPS is on; a non-root process keeps capabilities across
/// execve only through the ambient set. The caller sets them up after.
pub fn apply(u: &User) -> Res<()> {
    let r = (|| {
        sys::setgroups(&u.groups)?;
        sys::setgid(u.gid)?;
        sys::setuid(u.uid)
    })();
    r.ctx(m!("switch to user"), &num(u.uid as u64))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::vec;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
        # a comment:x:0:0::/evil:\n\
        \n\
        garbage line\n\
        bad:x:abc:0::/bad:\n\
        huge:x:4294967296:0::/huge:\n\
        neg:x:-5:0::/neg:\n\
        alice:x:1000:1000:Alice:/home/alice:/bin/sh\r\n\
        \x20 bob:x:1001:100::/home/bob:/bin/sh  \n\
        nohome:x:1002:1002:::/bin/sh\n\
        short:x:1003\n\
        four:x:1004:1004\n\
        alice:x:2000:2000::/second:\n\
        7:x:1007:1007::/seven:\n\
        dup:x:1000:9::/dup:";

    const GROUP: &[u8] = b"root:x:0:root\n\
        daemon:x:1:root,daemon\n\
        users:x:100:alice,bob\n\
        #wheel:x:10:alice\n\
        wheel:x:10: alice,bob\n\
        video:x:27:bob,alice\n\
        broken:x:zz:alice\n\
        alice:x:1000:\n\
        staff:x:50:carol\n\
        users2:x:100:alice\n\
        empty:x:60:";

    fn r(spec: &str) -> Res<User> {
        resolve(spec.as_bytes(), PASSWD, GROUP)
    }

    fn u(uid: u32, gid: u32, groups: &[u32], home: &str) -> User {
        User { uid, gid, groups: groups.to_vec(), home: home.as_bytes().to_vec() }
    }

    fn err_text(r: Res<User>) -> std::string::String {
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 125);
        std::string::String::from_utf8(e.msg()).unwrap()
    }

    #[test]
    fn default_is_root() {
        assert_eq!(r("").unwrap(), u(0, 0, &[0, 1], "/root"));
        assert_eq!(r(":").unwrap(), u(0, 0, &[0, 1], "/root"));
        // No files at all: root with "/" for home.
        assert_eq!(resolve(b"", b"", b"").unwrap(), u(0, 0, &[0], "/"));
        assert_eq!(resolve(b"", b"x:x:1:1::/x:\n", b"g:x:5:root\n").unwrap(), u(0, 0, &[0], "/"));
    }

    #[test]
    fn names() {
        // Supplementary groups by membership, primary gid first, no duplicates.
        assert_eq!(r("alice").unwrap(), u(1000, 1000, &[1000, 100, 27], "/home/alice"));
        assert_eq!(r("root").unwrap(), u(0, 0, &[0, 1], "/root"));
        // Leading and trailing blanks of a line are trimmed; " alice" in
        // a member list is not alice (as in runc).
        assert_eq!(r("bob").unwrap(), u(1001, 100, &[100, 10, 27], "/home/bob"));
        assert_eq!(r("daemon").unwrap(), u(1, 1, &[1], "/usr/sbin"));
        // An empty home field: "/".
        assert_eq!(r("nohome").unwrap(), u(1002, 1002, &[1002], "/"));
        // Four fields are enough; too few for the gid: skipped.
        assert_eq!(r("four").unwrap(), u(1004, 1004, &[1004], "/"));
        assert_eq!(err_text(r("short")), "unable to find user short: no matching entries in passwd file");
        assert_eq!(err_text(r("nobody")), "unable to find user nobody: no matching entries in passwd file");
        // A name that looks almost numeric is a name.
        assert_eq!(err_text(r("1x")), "unable to find user 1x: no matching entries in passwd file");
        assert_eq!(err_text(r("-x")), "unable to find user -x: no matching entries in passwd file");
        // Malformed lines are not entries.
        for bad in ["bad", "huge", "neg", "garbage line", "# a comment", "a comment"] {
            assert!(r(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        // In passwd: its gid, home and groups by its name (first match wins).
        assert_eq!(r("1000").unwrap(), u(1000, 1000, &[1000, 100, 27], "/home/alice"));
        assert_eq!(r("+1001").unwrap(), u(1001, 100, &[100, 10, 27], "/home/bob"));
        // Not in passwd: gid 0, home "/", no lookup by name.
        assert_eq!(r("4242").unwrap(), u(4242, 0, &[0], "/"));
        // A numeric spec is never a name ("7" is a user called 7, uid 1007).
        assert_eq!(r("7").unwrap(), u(7, 0, &[0], "/"));
        assert_eq!(r("0").unwrap(), u(0, 0, &[0, 1], "/root"));
        assert_eq!(r("-0").unwrap(), u(0, 0, &[0, 1], "/root"));
        assert_eq!(r("2147483647").unwrap(), u(2147483647, 0, &[0], "/"));
        for bad in ["2147483648", "4294967295", "99999999999999999999999", "-1", "1:-1", "0:2147483648"] {
            assert_eq!(err_text(r(bad)), "uids and gids must be in range 0-2147483647", "{bad}");
        }
    }

    #[test]
    fn groups() {
        // name:group, uid:gid, uid:groupname, name:gid: no supplementary groups.
        assert_eq!(r("alice:video").unwrap(), u(1000, 27, &[27], "/home/alice"));
        assert_eq!(r("alice:0").unwrap(), u(1000, 0, &[0], "/home/alice"));
        assert_eq!(r("1000:5000").unwrap(), u(1000, 5000, &[5000], "/home/alice"));
        assert_eq!(r("4242:4343").unwrap(), u(4242, 4343, &[4343], "/"));
        assert_eq!(r("4242:staff").unwrap(), u(4242, 50, &[50], "/"));
        // The first group of a name or gid wins.
        assert_eq!(r("4242:100").unwrap(), u(4242, 100, &[100], "/"));
        // Just a group: root's entry, the given gid.
        assert_eq!(r(":users").unwrap(), u(0, 100, &[100], "/root"));
        // "user:" is the implicit form.
        assert_eq!(r("alice:").unwrap(), r("alice").unwrap());
        assert_eq!(err_text(r("alice:nogroup")), "unable to find group nogroup: no matching entries in group file");
        // A second colon is part of the group name.
        assert_eq!(err_text(r("alice:video:x")), "unable to find group video:x: no matching entries in group file");
        // Comments and groups with a garbled gid are not groups.
        assert!(r("alice:#wheel").is_err());
        assert!(r("alice:broken").is_err());
        assert_eq!(err_text(r("nobody:video")), "unable to find user nobody: no matching entries in passwd file");
        // No group file: names fail, numbers stand.
        assert_eq!(resolve(b"alice:27", PASSWD, b"").unwrap(), u(1000, 27, &[27], "/home/alice"));
        assert_eq!(resolve(b"alice", PASSWD, b"").unwrap(), u(1000, 1000, &[1000], "/home/alice"));
        assert!(resolve(b"alice:video", PASSWD, b"").is_err());
    }

    #[test]
    fn nameless_entry_gets_no_groups() {
        let p = b"::1500:1500::/x:\n";
        let g = b"g:x:7:\n";
        assert_eq!(resolve(b"1500", p, g).unwrap(), u(1500, 1500, &[1500], "/x"));
    }

    /// lookup() and apply() in a copy of this test binary (run again for
    /// just the test below), chrooted to a root made here, so that this
    /// process keeps its root and ids. Root only.
    #[test]
    fn applies_ids() {
        if sys::geteuid() != 0 {
            return;
        }
        let root = tmp("apply", "root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/passwd"), b"root:x:0:0::/root:\nal:x:1234:2345::/home/al:\n").unwrap();
        std::fs::write(root.join("etc/group"), b"a:x:77:al\nb:x:5:x,al\n").unwrap();
        let st = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "engine::user::tests::apply_in_child", "--nocapture"])
            .env("MYDOCKER_TEST_APPLY", &root)
            .output()
            .unwrap();
        std::fs::remove_dir_all(root.parent().unwrap()).unwrap();
        let out = std::string::String::from_utf8_lossy(&st.stdout);
        let err = std::string::String::from_utf8_lossy(&st.stderr);
        assert!(st.status.success() && out.contains("1 passed"), "{out}{err}");
    }

    #[test]
    fn apply_in_child() {
        let Some(root) = std::env::var_os("MYDOCKER_TEST_APPLY") else { return };
        // This thread's ids are read after the chroot through a
        // descriptor opened before it.
        let me = sys::open(b"/proc/thread-self", sys::O_RDONLY | sys::O_DIRECTORY, 0).unwrap();
        std::os::unix::fs::chroot(root).unwrap();
        let user = lookup(b"al").unwrap();
        assert_eq!(user, u(1234, 2345, &[2345, 77, 5], "/home/al"));
        std::fs::remove_file("/etc/passwd").unwrap();
        assert_eq!(lookup(b"1:2").unwrap(), u(1, 2, &[2], "/"));
        assert_eq!(err_text(lookup(b"al")), "unable to find user al: no matching entries in passwd file");
        apply(&user).unwrap();
        let fd = sys::openat(me.raw(), b"status", sys::O_RDONLY, 0).unwrap();
        let mut st = Vec::new();
        sys::read_to_end(fd.raw(), &mut st).unwrap();
        let st = std::string::String::from_utf8(st).unwrap();
        assert!(st.contains("\nUid:\t1234\t1234\t1234\t1234\n"), "{st}");
        assert!(st.contains("\nGid:\t2345\t2345\t2345\t2345\n"), "{st}");
        assert!(st.contains("\nGroups:\t5 77 2345 \n"), "{st}");
        // No way back: uid 1234 may not become root again.
        assert_eq!(sys::setuid(0), Err(libc::EPERM));
    }

    /// A path in this test's own temporary folder (tests run in parallel).
    fn tmp(test: &str, name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(std::format!("mydocker-user-test-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    fn rb(p: &std::path::Path) -> Res<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        let mut v = b"x".to_vec(); // appended to: the bound is per file
        read_bounded(p.as_os_str().as_bytes(), &mut v).map(|_| v[1..].to_vec())
    }

    #[test]
    fn reads_bounded() {
        let f = tmp("read", "passwd");
        std::fs::write(&f, b"root:x:0:0::/root:\n").unwrap();
        assert_eq!(rb(&f).unwrap(), b"root:x:0:0::/root:\n");
        // Missing: empty.
        assert_eq!(rb(&tmp("read", "none")).unwrap(), b"");
        // Exactly the cap is fine; one byte more is EFBIG.
        std::fs::write(&f, vec![b'x'; MAX_FILE]).unwrap();
        assert_eq!(rb(&f).unwrap().len(), MAX_FILE);
        std::fs::write(&f, vec![b'x'; MAX_FILE + 1]).unwrap();
        let e = rb(&f).unwrap_err();
        assert!(e.msg().starts_with(b"read /") && e.msg().ends_with(b"/passwd: File too large"));
        // A FIFO with no writer: empty, at once (a blocking open would hang).
        let fifo = tmp("read", "fifo");
        sys::mknodat(sys::AT_FDCWD, fifo.as_os_str().as_encoded_bytes(), sys::S_IFIFO | 0o600, 0, 0).unwrap();
        assert_eq!(rb(&fifo).unwrap(), b"");
        // A directory, a device: empty.
        assert_eq!(rb(&std::env::temp_dir()).unwrap(), b"");
        assert_eq!(rb(std::path::Path::new("/dev/zero")).unwrap(), b"");
        // A symlink is followed.
        let l = tmp("read", "link");
        std::fs::write(&f, b"a\n").unwrap();
        std::os::unix::fs::symlink(&f, &l).unwrap();
        assert_eq!(rb(&l).unwrap(), b"a\n");
        std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
    }
}

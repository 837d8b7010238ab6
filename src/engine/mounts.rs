//! /proc/self/mountinfo parsing (proc(5)): where things are mounted, which
//! filesystem `/` is, and where the cgroup hierarchies live.

use alloc::vec::Vec;

#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    /// Path of the mount point (octal escapes decoded).
    pub point: Vec<u8>,
    pub fstype: Vec<u8>,
    // (no `source`: nothing reads a mount's source, 60 bytes of parsing)
    /// Per-superblock options, e.g. "rw,memory" for a cgroup v1 hierarchy.
    pub super_opts: Vec<u8>,
}

fn unoctal(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 4 <= s.len() && s[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            v.push((s[i + 1] - b'0') * 64 + (s[i + 2] - b'0') * 8 + (s[i + 3] - b'0'));
            i += 4;
        } else {
            v.push(s[i]);
            i += 1;
        }
    }
    v
}

pub fn parse(text: &[u8]) -> Vec<Mount> {
    let mut out = Vec::new();
    for line in crate::engine::util::fields(text, b'\n') {
        let f = crate::engine::util::split(line, b' ');
        let Some(dash) = f.iter().position(|x| *x == b"-") else { continue };
        if f.len() < 5 || dash + 1 >= f.len() {
            continue;
        }
        // A missing field reads as empty (unoctal and to_vec of "" are
        // empty too): one lookup, not an Option per field.
        let g = |i: usize| f.get(i).copied().unwrap_or_default();
        out.push(Mount { point: unoctal(f[4]), fstype: f[dash + 1].to_vec(), super_opts: g(dash + 3).to_vec() });
    }
    out
}

pub fn current() -> Vec<Mount> {
    parse(&crate::engine::util::read_file(b"/proc/self/mountinfo").unwrap_or_default())
}

/// The filesystem type of `/` as seen by this process (the last mount on
/// `/` wins, as later mounts hide earlier ones).
pub fn root_fstype(m: &[Mount]) -> Vec<u8> {
    for x in m.iter().rev() {
        if x.point == b"/" {
            return x.fstype.clone();
        }
    }
    Vec::new()
}

/// pivot_root(2) cannot move the initramfs `rootfs` away (EINVAL).
pub fn pivot_root_works(m: &[Mount]) -> bool {
    root_fstype(m) != b"rootfs"
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"22 1 0:20 / / rw,relatime - rootfs rootfs rw,size=1000k
25 22 0:22 / /sys rw,nosuid - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
40 22 8:1 / /mnt/with\\040space rw - ext4 /dev/sda1 rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 7);
        assert_eq!(m[0].point, b"/");
        assert_eq!(m[0].fstype, b"rootfs");
        assert_eq!(m[3].super_opts, b"rw,memory");
        assert_eq!(m[4].point, b"/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(m[6].point, b"/mnt/with space");
    }

    #[test]
    fn pivot_root_detection() {
        let m = parse(SAMPLE);
        assert!(!pivot_root_works(&m));
        let mut m2 = m.clone();
        m2.push(Mount { point: b"/".to_vec(), fstype: b"tmpfs".to_vec(), super_opts: b"rw".to_vec() });
        assert!(pivot_root_works(&m2));
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse(b"nonsense\n\n1 2 3\n").is_empty());
    }
}

// Build script: stamps the version string with the git revision and the
// target triple, so `mydocker version` on a board says exactly what it is.
use std::process::Command;

// The help texts, compressed into OUT_DIR/msgs.gz, first (see `msgs`).
#[allow(dead_code)]
mod usage {
    include!("src/cli/usage.rs");
}

/// gzip (RFC 1952) for the help and message texts, decoded by the engine's
/// own gunzip (`engine::gzip`, there for image layers): one member holding
/// one dynamic-Huffman deflate block. Over the byte-aligned LZ77 it
/// replaces (and its decoder), the Huffman codes save 900 bytes: ASCII
/// text has about 4.5 bits of entropy per character. The parse is the
/// cheapest one under the codes of the previous pass (dynamic programming
/// from the end over literals and every match length; four passes), so
/// the output is a little smaller than gzip -9's.
fn gzip(d: &[u8]) -> Vec<u8> {
    const LBASE: [usize; 29] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
    const LEXT: [u32; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
    const DBASE: [usize; 30] =
        [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
    const DEXT: [u32; 30] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
    const ORD: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
    let lcode = |l: usize| (0..29).rev().find(|&k| LBASE[k] <= l).unwrap();
    let dcode = |x: usize| (0..30).rev().find(|&k| DBASE[k] <= x).unwrap();
    let n = d.len();
    // Matches at each position: (length, distance) with the lengths rising
    // and each distance the nearest that reaches its length (hash chains
    // over 3 bytes, a 32 KiB window).
    let mut prev = vec![usize::MAX; n];
    let mut last = std::collections::HashMap::new();
    for i in 0..n.saturating_sub(2) {
        if let Some(j) = last.insert(&d[i..i + 3], i) {
            prev[i] = j;
        }
    }
    let mut cands: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, c) in cands.iter_mut().enumerate() {
        let (mut best, mut j) = (2, prev[i]);
        while j != usize::MAX && i - j <= 32768 && best < 258 {
            let mut l = 0;
            while l < 258 && i + l < n && d[j + l] == d[i + l] {
                l += 1;
            }
            if l > best {
                c.push((l, i - j));
                best = l;
            }
            j = prev[j];
        }
    }
    // Code lengths: a Huffman code, frequencies halved until it fits `max`
    // bits (at least two codes, so that every code is complete).
    let lengths = |f: &[u32], max: u32| -> Vec<u32> {
        let mut f: Vec<u64> = f.iter().map(|&x| x as u64).collect();
        for k in 0..2 {
            if f.iter().filter(|&&x| x > 0).count() < 2 {
                let z = f.iter().position(|&x| x == 0).unwrap();
                f[z] = 1 + k;
            }
        }
        loop {
            let mut heap = std::collections::BinaryHeap::new();
            let mut parent = vec![usize::MAX; f.len()];
            for (s, &x) in f.iter().enumerate() {
                if x > 0 {
                    heap.push(std::cmp::Reverse((x, s)));
                }
            }
            while heap.len() > 1 {
                let std::cmp::Reverse((a, i)) = heap.pop().unwrap();
                let std::cmp::Reverse((b, j)) = heap.pop().unwrap();
                parent.push(usize::MAX);
                let p = parent.len() - 1;
                parent[i] = p;
                parent[j] = p;
                heap.push(std::cmp::Reverse((a + b, p)));
            }
            let depth = |mut s: usize| {
                let mut k = 0;
                while parent[s] != usize::MAX {
                    s = parent[s];
                    k += 1;
                }
                k
            };
            let l: Vec<u32> = (0..f.len()).map(|s| if f[s] > 0 { depth(s) } else { 0 }).collect();
            if l.iter().all(|&x| x <= max) {
                return l;
            }
            for x in f.iter_mut().filter(|x| **x > 0) {
                *x = x.div_ceil(2);
            }
        }
    };
    // Canonical codes, bit-reversed for an LSB-first writer.
    let codes = |l: &[u32]| -> Vec<u32> {
        let mut next = [0u32; 17];
        let mut code = 0;
        for b in 1..16 {
            code = (code + l.iter().filter(|&&x| x == b).count() as u32) << 1;
            next[b as usize + 1] = code;
        }
        l.iter()
            .map(|&x| {
                let c = next[x as usize];
                next[x as usize] += 1;
                (0..x).fold(0, |r, k| r | (c >> k & 1) << (x - 1 - k))
            })
            .collect()
    };
    // Parse under the previous pass's code lengths (a first guess: 8-bit
    // literals, 7-bit length and 5-bit distance codes).
    let (mut ll, mut dl) = (vec![8u32; 286], vec![5u32; 30]);
    for x in &mut ll[257..] {
        *x = 7;
    }
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let mut cost = vec![0u32; n + 1];
        let mut step = vec![(0usize, 0usize); n];
        for i in (0..n).rev() {
            cost[i] = cost[i + 1] + ll[d[i] as usize];
            let mut lo = 3;
            for &(l, dist) in &cands[i] {
                let dc = dl[dcode(dist)] + DEXT[dcode(dist)];
                for k in lo..=l {
                    let c = cost[i + k] + ll[257 + lcode(k)] + LEXT[lcode(k)] + dc;
                    if c < cost[i] {
                        cost[i] = c;
                        step[i] = (k, dist);
                    }
                }
                lo = l + 1;
            }
        }
        tokens.clear();
        let (mut lf, mut df) = (vec![0u32; 286], vec![0u32; 30]);
        let mut i = 0;
        while i < n {
            let (l, dist) = step[i];
            tokens.push((l, dist, d[i]));
            if l == 0 {
                lf[d[i] as usize] += 1;
            } else {
                lf[257 + lcode(l)] += 1;
                df[dcode(dist)] += 1;
            }
            i += l.max(1);
        }
        lf[256] += 1;
        // Unused symbols keep a cost (15 bits) in case the next parse wants them.
        ll = lengths(&lf, 15).iter().map(|&x| if x == 0 { 15 } else { x }).collect();
        dl = lengths(&df, 15).iter().map(|&x| if x == 0 { 15 } else { x }).collect();
    }
    // The final codes, from the last parse's frequencies.
    let (mut lf, mut df) = (vec![0u32; 286], vec![0u32; 30]);
    for &(l, dist, c) in &tokens {
        if l == 0 {
            lf[c as usize] += 1;
        } else {
            lf[257 + lcode(l)] += 1;
            df[dcode(dist)] += 1;
        }
    }
    lf[256] += 1;
    let (ll, dl) = (lengths(&lf, 15), lengths(&df, 15));
    let (lc, dc) = (codes(&ll), codes(&dl));
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let (mut acc, mut nb) = (0u64, 0u32);
    let mut put = |out: &mut Vec<u8>, v: u32, k: u32| {
        acc |= (v as u64) << nb;
        nb += k;
        while nb >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            nb -= 8;
        }
    };
    // The header: the code lengths, run-length coded (16: repeat the
    // previous 3-6 times, 17: 3-10 zeros, 18: 11-138 zeros).
    let hlit = 257.max(ll.iter().rposition(|&x| x > 0).unwrap() + 1);
    let hdist = 1.max(dl.iter().rposition(|&x| x > 0).unwrap() + 1);
    let all: Vec<u32> = ll[..hlit].iter().chain(&dl[..hdist]).copied().collect();
    let mut rle: Vec<(u32, u32, u32)> = Vec::new(); // (symbol, extra value, extra bits)
    let mut i = 0;
    while i < all.len() {
        let v = all[i];
        let run = all[i..].iter().take_while(|&&x| x == v).count();
        if v == 0 && run >= 11 {
            let r = run.min(138);
            rle.push((18, r as u32 - 11, 7));
            i += r;
        } else if v == 0 && run >= 3 {
            rle.push((17, run as u32 - 3, 3));
            i += run;
        } else if v != 0 && run >= 4 {
            rle.push((v, 0, 0));
            let r = (run - 1).min(6);
            rle.push((16, r as u32 - 3, 2));
            i += 1 + r;
        } else {
            rle.push((v, 0, 0));
            i += 1;
        }
    }
    let mut cf = vec![0u32; 19];
    for &(s, _, _) in &rle {
        cf[s as usize] += 1;
    }
    let cl = lengths(&cf, 7);
    let cc = codes(&cl);
    let hclen = 4.max(ORD.iter().rposition(|&s| cl[s] > 0).unwrap() + 1);
    put(&mut out, 1, 1); // the last block
    put(&mut out, 2, 2); // dynamic Huffman codes
    put(&mut out, hlit as u32 - 257, 5);
    put(&mut out, hdist as u32 - 1, 5);
    put(&mut out, hclen as u32 - 4, 4);
    for &s in &ORD[..hclen] {
        put(&mut out, cl[s], 3);
    }
    for &(s, v, k) in &rle {
        put(&mut out, cc[s as usize], cl[s as usize]);
        put(&mut out, v, k);
    }
    for &(l, dist, c) in &tokens {
        if l == 0 {
            put(&mut out, lc[c as usize], ll[c as usize]);
        } else {
            let (a, b) = (lcode(l), dcode(dist));
            put(&mut out, lc[257 + a], ll[257 + a]);
            put(&mut out, (l - LBASE[a]) as u32, LEXT[a]);
            put(&mut out, dc[b], dl[b]);
            put(&mut out, (dist - DBASE[b]) as u32, DEXT[b]);
        }
    }
    put(&mut out, lc[256], ll[256]);
    put(&mut out, 0, 7); // flush the last byte
                         // The trailer: CRC-32 and length of the data.
    let mut crc = !0u32;
    for &b in d {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { 0xedb88320 ^ crc >> 1 } else { crc >> 1 };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out
}

/// The error-message literals: every `m!("...")` in src/ (outside src/sys,
/// which cannot reach the engine's `Msg`), deduplicated, compressed with
/// `gzip` into OUT_DIR/msgs.gz (NUL-separated, in id order) and given ids by
/// OUT_DIR/msgs.rs, the `m!` macro: one arm per literal, its source
/// spelling (macro_rules matches literal tokens as written), expanding to
/// `Msg(id)`. A call site then passes one small integer instead of a
/// pointer and a length, and the text is decoded only when an error is
/// made (`util::push_msg`). An `m!` whose argument is not a plain string
/// literal fails the build here (the scan could not give it an id).
/// /work/tools/msgs-rewrite.py (outside the repo) wraps the literals.
mod msgs {
    use std::path::Path;

    /// The value of a Rust string literal's body (the escapes the sources use).
    fn unescape(s: &str, at: &str) -> String {
        let mut o = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                o.push(c);
                continue;
            }
            match it.next() {
                Some('n') => o.push('\n'),
                Some('t') => o.push('\t'),
                Some('r') => o.push('\r'),
                Some('0') => o.push('\0'),
                Some('\\') => o.push('\\'),
                Some('"') => o.push('"'),
                Some('\'') => o.push('\''),
                Some('x') => {
                    let h: String = it.by_ref().take(2).collect();
                    o.push(u8::from_str_radix(&h, 16).unwrap_or_else(|_| panic!("{at}: bad \\x escape")) as char);
                }
                x => panic!("{at}: m!(\"...\") with an escape build.rs does not know: {x:?}"),
            }
        }
        assert!(o.bytes().all(|c| c != 0 && c < 0x80), "{at}: m!() text must be ASCII without NUL");
        o
    }

    fn scan(dir: &Path, found: &mut Vec<(String, String)>) {
        let mut es: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        es.sort();
        for p in es {
            if p.is_dir() {
                if !p.ends_with("sys") {
                    scan(&p, found);
                }
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let src = std::fs::read_to_string(&p).unwrap();
            let b = src.as_bytes();
            let mut i = 0;
            while let Some(k) = src[i..].find("m!(") {
                let at = i + k;
                i = at + 3;
                // `m!(` as a whole token (not `xm!(`).
                if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
                    continue;
                }
                // (not in a comment: a `//` earlier on its line, outside
                // any string there)
                let bol = src[..at].rfind('\n').map_or(0, |n| n + 1);
                if let Some(c) = src[bol..at].find("//") {
                    let pre = &b[bol..bol + c];
                    let quotes = (0..pre.len()).filter(|&k| pre[k] == b'"' && (k == 0 || pre[k - 1] != b'\\')).count();
                    if quotes % 2 == 0 {
                        continue;
                    }
                }
                let line = src[..at].matches('\n').count() + 1;
                let w = format!("{}:{line}", p.display());
                // A plain literal: `"` body `"` then `)`, nothing else.
                let mut j = i;
                assert!(b.get(j) == Some(&b'"'), "{w}: m!(...) takes exactly one plain string literal");
                j += 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                assert!(b.get(j + 1) == Some(&b')'), "{w}: m!(...) takes exactly one plain string literal");
                let lit = &src[i + 1..j];
                assert!(!lit.contains('\n'), "{w}: m!() literal spans lines");
                found.push((lit.to_string(), unescape(lit, &w)));
                i = j + 2;
            }
        }
    }

    /// Writes msgs.rs and msgs.gz into `out`.
    pub fn build(out: &Path) {
        let mut found = Vec::new();
        scan(Path::new("src"), &mut found);
        // Ids by text (two spellings of one text share it), the texts
        // sorted (ordered by length, the blob was 50 bytes smaller but the
        // code 100 bytes bigger on x86_64: the ids are immediates).
        let mut texts: Vec<String> = found.iter().map(|f| f.1.clone()).collect();
        texts.sort();
        texts.dedup();
        let id: std::collections::HashMap<&String, usize> = texts.iter().enumerate().map(|(i, t)| (t, i)).collect();
        let mut rs = String::from(
            "/// `m!(\"literal\")`: the id of an error-message literal (generated by build.rs `msgs`).\n\
             macro_rules! m {\n",
        );
        // The help texts come first in the blob (one window: 112 bytes
        // less than two blobs), their ids those of cli/usage.rs.
        let base = super::usage::ALL.len();
        let mut arms: Vec<(String, usize)> = found.iter().map(|(lit, t)| (lit.clone(), base + id[t])).collect();
        arms.sort();
        arms.dedup();
        for (lit, id) in &arms {
            rs.push_str(&format!("    (\"{lit}\") => {{ $crate::engine::util::Msg({id}) }};\n"));
        }
        rs.push_str("    ($($t:tt)*) => { compile_error!(\"m!: a literal build.rs did not scan (m! is for src/ outside src/sys, not after a // on its line; see build.rs `msgs`)\") };\n}\n");
        // For the unit test that decodes every id: each literal as rustc
        // reads it, beside its id.
        rs.push_str("#[cfg(test)]\npub static MSGS_ALL: &[(&str, u16)] = &[\n");
        for (lit, id) in &arms {
            rs.push_str(&format!("    (\"{lit}\", {id}),\n"));
        }
        rs.push_str("];\n");
        assert!(texts.len() < 1 << 16);
        // Then strerror's texts (util::push_errno), after one more NUL:
        // each as \x01, the errno, the text (no message holds a \x01).
        assert!(texts.iter().map(|t| t.as_str()).chain(super::usage::ALL.iter().copied()).all(|t| !t.contains('\x01')));
        let mut blob = super::usage::ALL.join("\0").into_bytes();
        blob.push(0);
        blob.extend_from_slice(texts.join("\0").as_bytes());
        blob.push(0);
        for &(e, t) in super::errtext::ERRTEXT {
            assert!((1..0x80).contains(&e));
            blob.extend_from_slice(&[1, e]);
            blob.extend_from_slice(t.as_bytes());
        }
        // The decoded size, for the buffer `util::push_msg` decodes into.
        rs.push_str(&format!("pub const MSGS_LEN: usize = {};\n", blob.len()));
        std::fs::write(out.join("msgs.rs"), rs).unwrap();
        std::fs::write(out.join("msgs.gz"), super::gzip(&blob)).unwrap();
    }
}

// strerror's texts, compressed with the messages (see `msgs`).
mod errtext {
    include!("src/engine/errtext.rs");
}

// The default seccomp filter (docker's default profile), compiled here into
// a static classic-BPF program per architecture: see `seccomp` below.
#[allow(dead_code)]
mod tables {
    include!("src/sys/seccomp_tables.rs");
}

/// Compiles `tables` (docker's default seccomp profile) into one classic-BPF
/// program per architecture, written to OUT_DIR/seccomp_<arch>.rs as
/// `PROG` (the instructions) and `PATCH` (capability, instruction index):
/// the returns that become ALLOW when the container holds the capability.
/// src/sys/seccomp.rs includes the native one; its tests run both.
///
/// Layout (every jump is forward, at most 255 instructions: checked):
///   load arch; not ours -> EPERM
///   load nr; nr > LAST -> HIGH
///   a binary search over the syscall numbers: the numbers 0..=LAST fall
///     into runs of one action each (numbers no syscall has: EPERM), one
///     JGE per run boundary, the leaves jump straight to the action; a
///     single number between two runs of the same action is a JEQ in the
///     merged run instead
///   the argument checks (clone, personality, socket)
///   HIGH (x86_64): x32 (nr has bit 30) -> EPERM, else ENOSYS; on aarch64
///     HIGH is the ENOSYS return itself
///   the returns: ENOSYS, ALLOW, EPERM, then one EPERM per capability
///     group and clone3's ENOSYS: the patch points
/// Nothing but nr and arch is loaded on the way to an action that does not
/// look at arguments, so the kernel's constant-action cache (5.11+) marks
/// every allowed syscall and skips the filter for it.
mod seccomp {
    use super::tables as t;

    /// FNV-1a, 32 bits: `sys::seccomp::sysno`'s hash of a syscall name.
    fn fnv(name: &str) -> u32 {
        name.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
    }

    /// `NAMES`: for each syscall number of the architecture, the low 24
    /// bits of the FNV-1a hash of its name (0: no syscall), 3 bytes each,
    /// so that an OCI config's seccomp rules can name syscalls without the
    /// names in the binary. The longest run of numbers with no syscall
    /// (x86_64 335..423, aarch64's) is left out: `GAP` = (first, length).
    /// Checked: no two names of either architecture (the whole table) nor
    /// any name in `tables::OTHER` share a key with a syscall of this one; any
    /// other string matches one of the ~380 keys with probability
    /// ~380 / 2^24 = 2.3e-5.
    pub fn names(x86: bool) -> String {
        let nr = |s: &(&str, u16, u16)| if x86 { s.1 } else { s.2 };
        let key = |n: &str| fnv(n) & 0xff_ffff;
        let last = t::SYSCALLS.iter().map(nr).filter(|&n| n != t::NO).max().unwrap() as usize;
        let mut h = vec![0u32; last + 1];
        for s in t::SYSCALLS.iter().filter(|s| nr(s) != t::NO) {
            h[nr(s) as usize] = key(s.0);
        }
        for n in t::SYSCALLS.iter().map(|s| s.0).chain(t::OTHER.iter().copied()) {
            let k = key(n);
            let hits = h.iter().filter(|&&x| x == k).count();
            let own = t::SYSCALLS.iter().any(|s| s.0 == n && nr(s) != t::NO);
            assert!(k != 0 && hits == own as usize, "seccomp: the key of {n} is taken");
        }
        // The longest run of zeros.
        let (mut at, mut len, mut i) = (0, 0, 0);
        while i < h.len() {
            let mut j = i;
            while j < h.len() && h[j] == 0 {
                j += 1;
            }
            if j - i > len {
                (at, len) = (i, j - i);
            }
            i = j + 1;
        }
        h.drain(at..at + len);
        let bytes: Vec<[u8; 3]> = h.iter().map(|&x| [x as u8, (x >> 8) as u8, (x >> 16) as u8]).collect();
        format!(
            "/// FNV-1a hashes (low 24 bits) of the syscall names, by number, without GAP.\npub static NAMES: [[u8; 3]; {}] = {:?};\npub const GAP: (usize, usize) = ({at}, {len});\n",
            bytes.len(),
            bytes
        )
    }
    use std::collections::BTreeMap;
    use std::fmt::Write;

    const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const JSET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
    const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const EPERM: u32 = 1;
    const ENOSYS: u32 = 38;
    // struct seccomp_data: nr, arch, instruction_pointer, args[6]; the low
    // word of args[0] (both architectures are little-endian).
    const OFF_NR: u32 = 0;
    const OFF_ARCH: u32 = 4;
    const OFF_ARG0: u32 = 16;
    const X32_BIT: u32 = 0x4000_0000;

    /// What a syscall number does.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    enum Act {
        Allow,
        /// EPERM unless the container holds one of these capabilities
        /// (a bit mask; 0: always EPERM).
        Deny(u64),
        Clone,
        Clone3,
        Personality,
        Socket,
    }

    /// A jump target, resolved once the layout is known.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
    enum To {
        Next,
        Act(Act),
        Enosys,
        High,
        /// An instruction index (the upper half of a search node).
        At(usize),
    }

    struct Op {
        code: u16,
        k: u32,
        jt: To,
        jf: To,
        what: String,
    }

    fn op(code: u16, k: u32, jt: To, jf: To, what: String) -> Op {
        Op { code, k, jt, jf, what }
    }

    fn mask(caps: &[u8]) -> u64 {
        caps.iter().fold(0, |m, &c| m | 1 << c)
    }

    /// The action of every syscall number 0..=LAST (None: no syscall).
    fn actions(x86: bool) -> Vec<Option<Act>> {
        let mut acts = vec![None; t::LAST as usize + 1];
        for &(name, nx, na) in t::SYSCALLS {
            let nr = if x86 { nx } else { na };
            if nr == t::NO {
                continue;
            }
            assert!(u32::from(nr) <= t::LAST, "{name}: {nr} > LAST");
            let mut caps = 0;
            for &(cap, names) in t::GATED {
                if names.contains(&name) {
                    caps |= mask(&[cap]);
                }
            }
            let allowed = t::ALLOW.contains(&name) || (x86 && t::ALLOW_X86_64.contains(&name));
            acts[nr as usize] = Some(match name {
                "clone" => Act::Clone,
                "clone3" => Act::Clone3,
                "personality" => Act::Personality,
                "socket" => Act::Socket,
                _ if allowed => Act::Allow,
                _ => Act::Deny(caps),
            });
        }
        acts
    }

    /// The program for one architecture, as Rust source.
    pub fn program(x86: bool) -> String {
        let acts = actions(x86);
        let used = |a: Act| acts.contains(&Some(a));
        // Runs of one action. A hole (a number no syscall has) is EPERM, as
        // in docker's profile: a later kernel may give it a syscall.
        let mut runs: Vec<Run> = Vec::new();
        for (nr, a) in acts.iter().enumerate() {
            let act = a.unwrap_or(Act::Deny(0));
            if runs.last().map(|r| r.act) != Some(act) {
                runs.push(Run { first: nr as u32, act, except: Vec::new() });
            }
        }
        // A run of one number between two runs of the same action becomes
        // an exception of the merged run: one JEQ instead of two JGEs.
        let mut i = 1;
        while i + 1 < runs.len() {
            if runs[i + 1].first == runs[i].first + 1 && runs[i].except.is_empty() && runs[i - 1].act == runs[i + 1].act {
                let next = runs.remove(i + 1);
                let one = runs.remove(i);
                let r = &mut runs[i - 1];
                r.except.push((one.first, one.act));
                r.except.extend(next.except);
            } else {
                i += 1;
            }
        }

        let sys_admin = mask(&[t::CAP_SYS_ADMIN]);
        let mut ops = Vec::new();
        let arch = if x86 { 0xc000_003e } else { 0xc000_00b7 }; // AUDIT_ARCH_X86_64, _AARCH64
        ops.push(op(LD_ABS, OFF_ARCH, To::Next, To::Next, "A = arch".into()));
        ops.push(op(JEQ, arch, To::Next, To::Act(Act::Deny(0)), "native architecture?".into()));
        ops.push(op(LD_ABS, OFF_NR, To::Next, To::Next, "A = nr".into()));
        ops.push(op(JGE, t::LAST + 1, To::High, To::Next, "past the table?".into()));
        let root = tree(&runs, &mut ops);
        ops[3].jf = root;

        // The argument checks.
        let mut blocks: BTreeMap<Act, usize> = BTreeMap::new();
        let mut block = |a: Act, ops: &mut Vec<Op>, body: &mut dyn FnMut(&mut Vec<Op>)| {
            if used(a) {
                blocks.insert(a, ops.len());
                body(ops);
            }
        };
        block(Act::Clone, &mut ops, &mut |ops| {
            ops.push(op(LD_ABS, OFF_ARG0, To::Next, To::Next, "clone: A = flags".into()));
            ops.push(op(JSET, t::CLONE_NS_FLAGS, To::Act(Act::Deny(sys_admin)), To::Act(Act::Allow), "a new namespace?".into()));
        });
        block(Act::Personality, &mut ops, &mut |ops| {
            // The personas are 0xffffffff (the query) and every combination
            // of a few flags: two tests.
            let flags = t::PERSONAS.iter().fold(0, |m, &p| if p == u32::MAX { m } else { m | p });
            let mut all: Vec<u32> = (0..=flags).filter(|p| p & !flags == 0).chain([u32::MAX]).collect();
            let mut want = t::PERSONAS.to_vec();
            all.sort();
            want.sort();
            assert_eq!(all, want, "PERSONAS: not the query and all combinations of flags");
            ops.push(op(LD_ABS, OFF_ARG0, To::Next, To::Next, "personality: A = persona".into()));
            ops.push(op(JEQ, u32::MAX, To::Act(Act::Allow), To::Next, "the query?".into()));
            ops.push(op(AND, !flags, To::Next, To::Next, format!("A &= !{flags:#x}")));
            ops.push(op(JEQ, 0, To::Act(Act::Allow), To::Act(Act::Deny(0)), "no other flag?".into()));
        });
        block(Act::Socket, &mut ops, &mut |ops| {
            ops.push(op(LD_ABS, OFF_ARG0, To::Next, To::Next, "socket: A = domain".into()));
            ops.push(op(JEQ, t::SOCKET_DENIED_DOMAIN, To::Act(Act::Deny(0)), To::Act(Act::Allow), "AF_VSOCK?".into()));
        });

        // The returns, patch points last.
        let mut rets: BTreeMap<To, usize> = BTreeMap::new();
        let mut patch = Vec::new();
        let mut groups: Vec<Act> = acts.iter().flatten().copied().filter(|a| matches!(a, Act::Deny(m) if *m != 0)).collect();
        groups.push(Act::Deny(sys_admin)); // clone's, if no syscall is in it
        groups.sort();
        groups.dedup();
        if x86 {
            rets.insert(To::High, ops.len());
            ops.push(op(JGE, X32_BIT, To::Act(Act::Deny(0)), To::Enosys, "x32 syscall?".into()));
        } else {
            rets.insert(To::High, ops.len()); // HIGH is ENOSYS
        }
        for (to, k, what) in
            [(To::Enosys, RET_ERRNO | ENOSYS, "ENOSYS"), (To::Act(Act::Allow), RET_ALLOW, "ALLOW"), (To::Act(Act::Deny(0)), RET_ERRNO | EPERM, "EPERM")]
        {
            rets.insert(to, ops.len());
            ops.push(op(RET, k, To::Next, To::Next, what.into()));
        }
        for g in groups {
            let Act::Deny(m) = g else { unreachable!() };
            rets.insert(To::Act(g), ops.len());
            let caps: Vec<u8> = (0..64).filter(|c| m >> c & 1 != 0).collect();
            for &c in &caps {
                patch.push((c, ops.len()));
            }
            ops.push(op(RET, RET_ERRNO | EPERM, To::Next, To::Next, format!("EPERM, ALLOW with any of caps {caps:?}")));
        }
        if used(Act::Clone3) {
            rets.insert(To::Act(Act::Clone3), ops.len());
            patch.push((t::CAP_SYS_ADMIN, ops.len()));
            ops.push(op(RET, RET_ERRNO | t::CLONE3_ERRNO, To::Next, To::Next, "clone3: ENOSYS, ALLOW with CAP_SYS_ADMIN".into()));
        }
        for (a, at) in blocks {
            rets.insert(To::Act(a), at);
        }

        // Resolve and print.
        let name = if x86 { "x86_64" } else { "aarch64" };
        let mut out =
            format!("// Generated by build.rs from src/sys/seccomp_tables.rs: docker's default\n// seccomp profile for {name}, {} instructions.\n", ops.len());
        writeln!(out, "pub static PROG: [Insn; {}] = [", ops.len()).unwrap();
        for (i, o) in ops.iter().enumerate() {
            let off = |to: To| -> u8 {
                let at = match to {
                    To::Next => i + 1,
                    To::At(at) => at,
                    _ => rets[&to],
                };
                assert!(at > i && at - i - 1 <= 255 && at < ops.len(), "{name}: jump from {i} to {at}");
                (at - i - 1) as u8
            };
            let (jt, jf) = if matches!(o.code, LD_ABS | RET | AND) { (0, 0) } else { (off(o.jt), off(o.jf)) };
            writeln!(out, "    Insn::new({:#06x}, {jt}, {jf}, {:#x}), // {i}: {}", o.code, o.k, o.what).unwrap();
        }
        assert!(ops.len() <= 256, "{name}: PATCH holds u8 indices");
        writeln!(out, "];\npub static PATCH: [(u8, u8); {}] = {:?};", patch.len(), patch).unwrap();
        out
    }

    /// Numbers from `first` to the next run's first, one action.
    struct Run {
        first: u32,
        act: Act,
        /// Single numbers inside it with another action.
        except: Vec<(u32, Act)>,
    }

    /// A binary search over `runs` (sorted by first number): one JGE per
    /// boundary, in preorder (the lower half follows each node), a run's
    /// exceptions as a chain of JEQs. Returns where to jump to decide
    /// among `runs`: nothing is emitted for a single plain run, whose
    /// action is the answer.
    fn tree(runs: &[Run], ops: &mut Vec<Op>) -> To {
        let at = ops.len();
        if let [r] = runs {
            if r.except.is_empty() {
                return To::Act(r.act);
            }
            for (i, &(nr, a)) in r.except.iter().enumerate() {
                let jf = if i + 1 == r.except.len() { To::Act(r.act) } else { To::Next };
                ops.push(op(JEQ, nr, To::Act(a), jf, format!("nr == {nr}?")));
            }
            return To::At(at);
        }
        let (lo, hi) = runs.split_at(runs.len() / 2);
        ops.push(op(JGE, hi[0].first, To::Next, To::Next, format!("nr >= {}?", hi[0].first)));
        ops[at].jf = tree(lo, ops);
        ops[at].jt = tree(hi, ops);
        To::At(at)
    }
}

fn main() {
    let out_dir = std::env::var("OUT_DIR").unwrap();
    println!("cargo:rerun-if-changed=src/cli/usage.rs");
    msgs::build(std::path::Path::new(&out_dir));
    println!("cargo:rerun-if-changed=src");
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=MYDOCKER_GIT={rev}");
    for (arch, x86) in [("x86_64", true), ("aarch64", false)] {
        let text = seccomp::program(x86) + &seccomp::names(x86);
        std::fs::write(std::path::Path::new(&out_dir).join(format!("seccomp_{arch}.rs")), text).unwrap();
    }
    println!("cargo:rerun-if-changed=src/sys/seccomp_tables.rs");
    println!("cargo:rustc-env=MYDOCKER_TARGET={target}");
    // The binary is no_std: nothing pulls libc in for us, so ask for it
    // (statically on musl, where the toolchain ships a self-contained libc.a).
    if target.contains("musl") {
        println!("cargo:rustc-link-lib=static=c");
        // Drop the unwind tables at link time: the binary is panic=abort and
        // never unwinds, yet under LTO every function gets an .eh_frame
        // entry (std's bitcode brings debug line tables and uwtable
        // functions, so the module's CFI goes to .eh_frame; 25 KB here).
        // INSERT keeps lld's default layout; only the discard is added.
        // .comment (compiler and linker version strings, never loaded) goes
        // too: `strip` keeps it.
        let out = std::env::var("OUT_DIR").unwrap();
        let script = std::path::Path::new(&out).join("no-unwind.ld");
        std::fs::write(&script, "SECTIONS {\n  /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.comment) }\n} INSERT AFTER .text;\n").unwrap();
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    } else {
        println!("cargo:rustc-link-lib=c");
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(r) = head.strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed=.git/{}", r.trim());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

// Build script: stamps the version string with the git revision and the
// target triple, so `mydocker version` on a board says exactly what it is.
use std::process::Command;

// The help texts, compressed into OUT_DIR/usage.lz (see `lz`).
#[allow(dead_code)]
mod usage {
    include!("src/cli/usage.rs");
}

/// LZ77 for the help texts, decoded by `cli::args::unlz`: ASCII bytes
/// stand for themselves; a match is two bytes, `1LLLLDDD DDDDDDDD`, for
/// L+3 bytes (3..18) copied from D+1 (1..2048) bytes back. The parse is
/// the shortest one (dynamic programming from the end over literals and
/// every match length up to the longest): 8 bytes less than lazy matching,
/// with the same decoder.
fn lz(d: &[u8]) -> Vec<u8> {
    assert!(d.iter().all(|&c| c < 0x80), "help texts must be ASCII");
    let longest = |i: usize| -> (usize, usize) {
        let mut best = (0, 0);
        for j in i.saturating_sub(2048)..i {
            let mut l = 0;
            while l < 18 && i + l < d.len() && d[j + l] == d[i + l] {
                l += 1;
            }
            if l >= best.0 {
                best = (l, i - j);
            }
        }
        best
    };
    // cost[i]: the fewest bytes that encode d[i..]; step[i]: the match
    // (length, distance) that starts it, or a literal (0, 0).
    let n = d.len();
    let mut cost = vec![0usize; n + 1];
    let mut step = vec![(0usize, 0usize); n];
    for i in (0..n).rev() {
        cost[i] = cost[i + 1] + 1;
        let (l, dist) = longest(i);
        for k in 3..=l {
            if cost[i + k] + 2 < cost[i] {
                cost[i] = cost[i + k] + 2;
                step[i] = (k, dist);
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        match step[i] {
            (0, _) => {
                out.push(d[i]);
                i += 1;
            }
            (l, dist) => {
                let x = 0x8000 | (l - 3) << 11 | (dist - 1);
                out.extend_from_slice(&[(x >> 8) as u8, x as u8]);
                i += l;
            }
        }
    }
    out
}

fn main() {
    let texts = usage::ALL.join("\0");
    let out_dir = std::env::var("OUT_DIR").unwrap();
    std::fs::write(std::path::Path::new(&out_dir).join("usage.lz"), lz(texts.as_bytes())).unwrap();
    println!("cargo:rerun-if-changed=src/cli/usage.rs");
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=MYDOCKER_GIT={rev}");
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

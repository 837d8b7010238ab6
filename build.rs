// Build script: stamps the version string with the git revision and the
// target triple, so `mydocker version` on a board says exactly what it is.
use std::process::Command;

fn main() {
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

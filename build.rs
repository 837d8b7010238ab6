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

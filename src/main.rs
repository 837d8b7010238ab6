//! mydocker: a daemon-less, Docker-like container runtime in one static
//! binary. `no_std` + `alloc` on musl: no std runtime, no unwinder, no
//! formatting machinery, so the whole runtime fits in an initramfs.
//!
//! Entry: `sys::main` (the C `main(argc, argv, envp)`) → `entry` → parse →
//! dispatch → exit code. Errors are printed in exactly one place per path.
//!
//! Size conventions (the binary must fit small boards): each command's
//! top-level function is `#[inline(never)]`: called once, cold, and kept
//! out of the dispatcher, whose register pressure otherwise grows with
//! every command inlined into it (1.6 KB measured on x86_64).
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

// `m!("...")`: error-message literals by id (build.rs `msgs`).
include!(concat!(env!("OUT_DIR"), "/msgs.rs"));

mod cli;
mod engine;
mod sys;

use alloc::vec::Vec;

#[cfg(not(test))]
#[global_allocator]
static ALLOC: sys::Malloc = sys::Malloc;

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    let _ = sys::write_all(2, b"mydocker: internal error\n");
    sys::exit(engine::util::EXIT_MYDOCKER)
}

/// Without LTO (the debug build cargo makes for `cargo test`), the
/// precompiled liballoc still references this symbol, and a no_std binary
/// has no std to provide it. It is never called: the panic handler above
/// exits without unwinding. Release builds drop it.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// argv[0] is skipped; `env` is the caller's environment (only `-e K` and
/// MYDOCKER_ROOT read it; it never reaches a container).
pub fn entry(args: &[Vec<u8>], env: &[Vec<u8>]) -> i32 {
    cli::verbs::main(args, env)
}

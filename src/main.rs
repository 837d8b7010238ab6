//! mydocker: a daemon-less, Docker-like container runtime in one static
//! binary. `no_std` + `alloc` on musl: no std runtime, no unwinder, no
//! formatting machinery, so the whole runtime fits in an initramfs.
//!
//! Entry: `sys::main` (the C `main(argc, argv, envp)`) → `entry` → parse →
//! dispatch → exit code. Errors are printed in exactly one place per path.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

mod cgroup;
mod cli;
mod cmds;
mod commit;
mod exec;
mod image;
mod init;
mod logs;
mod inspect;
mod mounts;
mod netlink;
mod network;
mod proxy;
mod run;
mod spec;
mod state;
mod sys;
mod tar;
mod util;

use alloc::vec::Vec;
use cli::Cmd;

#[cfg(not(test))]
#[global_allocator]
static ALLOC: sys::Malloc = sys::Malloc;

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    util::eout(b"mydocker: internal error\n");
    sys::exit(util::EXIT_MYDOCKER)
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
    let g = match cli::parse_global(args.get(1..).unwrap_or(&[]), env) {
        Ok(g) => g,
        Err(e) => {
            e.print();
            return e.code;
        }
    };
    let root = state::Root::new(g.root, env);
    let r: util::Res<i32> = match g.cmd {
        Cmd::Help(text) => {
            util::out(text.as_bytes());
            Ok(0)
        }
        Cmd::Version => Ok(cmds::version()),
        Cmd::Info => Ok(cmds::info(&root, env)),
        Cmd::Run(o) => {
            sys::ignore_sigpipe();
            Ok(run::run(&root, o))
        }
        Cmd::Network(n) => Ok(match n {
            cli::NetCmd::Create { name, subnet, gateway } => return report(network::create(&root, &name, &subnet, gateway.as_deref(), env)),
            cli::NetCmd::Ls { quiet } => network::ls(&root, quiet),
            cli::NetCmd::Rm { names } => network::rm(&root, &names, env),
            cli::NetCmd::Inspect { names } => network::inspect(&root, &names),
        }),
        Cmd::Exec(o) => {
            sys::ignore_sigpipe();
            Ok(exec::exec(&root, o))
        }
        Cmd::Ps { all, quiet, no_trunc } => Ok(cmds::ps(&root, all, quiet, no_trunc)),
        Cmd::Logs { follow, tail, timestamps, name } => logs::logs(&root, &name, follow, tail, timestamps),
        Cmd::Stop { secs, names } => Ok(cmds::stop(&root, &names, secs, true)),
        Cmd::Start { attach, names } => {
            sys::ignore_sigpipe();
            Ok(run::start(&root, &names, attach))
        }
        Cmd::Restart { secs, names } => {
            sys::ignore_sigpipe();
            let c = cmds::stop(&root, &names, secs, false);
            if c != 0 {
                return c;
            }
            Ok(run::start(&root, &names, false))
        }
        Cmd::Rm { force, names } => Ok(cmds::rm(&root, &names, force)),
        Cmd::Commit { container, image } => commit::commit(&root, &container, &image),
        Cmd::Export { container, output } => commit::export(&root, &container, output.as_deref()),
        Cmd::Inspect { names } => inspect::inspect(&root, &names),
        Cmd::Images { quiet } => image::images(&root, quiet).map(|_| 0),
        Cmd::Rmi { names } => Ok(image::rmi(&root, &names)),
        Cmd::Import { file, name } => image::import(&root, &file, &name).map(|_| {
            let mut o = name.clone();
            o.push(b'\n');
            util::out(&o);
            0
        }),
    };
    report(r)
}

fn report(r: util::Res<i32>) -> i32 {
    match r {
        Ok(c) => c,
        Err(e) => {
            e.print();
            e.code
        }
    }
}

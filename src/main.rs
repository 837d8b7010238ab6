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

mod cli;
mod engine;
mod sys;

use alloc::vec::Vec;
use cli::Cmd;
use cli::{cmds, inspect};
use engine::{commit, container as run, exec, image, logs, network, state, util};

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
        Cmd::Run(o) => {
            sys::ignore_sigpipe();
            Ok(run::run(&root, o))
        }
        Cmd::Exec(o) => {
            sys::ignore_sigpipe();
            Ok(exec::exec(&root, o))
        }
        Cmd::Simple(verb, a) => simple(&root, verb, a, env),
    };
    report(r)
}

/// The table-parsed commands: values are interpreted here.
#[inline(never)]
fn simple(root: &state::Root, verb: cli::Verb, a: cli::Args, env: &[Vec<u8>]) -> util::Res<i32> {
    use cli::Verb::*;
    let secs = |a: &cli::Args| -> util::Res<u64> {
        a.val(1).map_or(Ok(10), |v| util::parse_u64(v).ok_or_else(|| util::Error::new(b"--time", b"not a number of seconds")))
    };
    let pos = &a.pos;
    match verb {
        Version => Ok(cmds::version()),
        Info => Ok(cmds::info(root, env)),
        Ps => Ok(cmds::ps(root, a.has(1), a.has(2), a.has(3))),
        Logs => {
            let tail = match a.val(2) {
                None | Some(b"all") => None,
                Some(t) => Some(util::parse_u64(t).ok_or_else(|| util::Error::new(b"--tail", b"not a number"))?),
            };
            logs::logs(root, &pos[0], a.has(1), tail, a.has(3))
        }
        Stop => Ok(cmds::stop(root, pos, secs(&a)?, true)),
        Start => {
            sys::ignore_sigpipe();
            Ok(run::start(root, pos, a.has(1)))
        }
        Restart => {
            sys::ignore_sigpipe();
            match cmds::stop(root, pos, secs(&a)?, false) {
                0 => Ok(run::start(root, pos, false)),
                c => Ok(c),
            }
        }
        Rm => Ok(cmds::rm(root, pos, a.has(1))),
        Images => image::images(root, a.has(1)).map(|_| 0),
        Rmi => Ok(image::rmi(root, pos)),
        Import => image::import(root, &pos[0], &pos[1]).map(|_| {
            let mut o = pos[1].clone();
            o.push(b'\n');
            util::out(&o);
            0
        }),
        Commit => commit::commit(root, &pos[0], &pos[1]),
        Export => commit::export(root, &pos[0], a.val(1)),
        Inspect => inspect::inspect(root, pos),
        NetCreate => {
            if a.val(3).is_some_and(|d| d != b"bridge") {
                return util::err(b"--driver", b"only the bridge driver is supported");
            }
            let subnet = a.val(1).ok_or_else(|| util::Error::new(b"network create", b"--subnet is required"))?;
            network::create(root, &pos[0], subnet, a.val(2), env)
        }
        NetLs => Ok(network::ls(root, a.has(1))),
        NetRm => Ok(network::rm(root, pos, env)),
        NetInspect => Ok(network::inspect(root, pos)),
    }
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

//! The docker front end's dispatch: a parsed command to the engine's
//! calls, and their results to text. Errors are printed here, once.

use super::cmds;
use super::out::{line_to, out, report};
use super::{images, inspect, network as net};
use crate::cli::{self, Cmd};
use crate::engine::container::{self as run, Outcome};
use crate::engine::{commit, exec, image, load, logs, state, store, util};
use crate::sys;
use alloc::vec::Vec;

/// argv[0] is skipped; `env` is the caller's environment (only `-e K` and
/// MYDOCKER_ROOT read it; it never reaches a container).
pub fn main(args: &[Vec<u8>], env: &[Vec<u8>]) -> i32 {
    if args.len() > 1 && args[0] == crate::engine::init::INIT_ARGV0 {
        crate::engine::init::mini_init(&args[1..], env); // `--init`'s PID 1
    }
    // The OCI runtime: as `runc` or `mydocker-runc` (a symlink), or `mydocker runc`.
    let a0 = args.first().map_or(&[][..], |a| a.as_slice());
    if util::word_index(b"runc,mydocker-runc", &a0[a0.iter().rposition(|&c| c == b'/').map_or(0, |p| p + 1)..]).is_some() {
        return super::runc::main(&args[1..], args, env);
    }
    if args.get(1).is_some_and(|a| a == b"runc") {
        return super::runc::main(&args[2..], args, env);
    }
    let mut root = None;
    let r = match cli::parse_global(args.get(1..).unwrap_or(&[]), env, &mut root) {
        Ok(cmd) => dispatch(&state::Root::new(root, env), cmd, args, env),
        Err(e) => Err(e),
    };
    finish(r)
}

/// A parsed command run: out of line, so that the command is handed over
/// where parse_global left it instead of being copied around main's frame.
#[inline(never)]
fn dispatch(root: &state::Root, cmd: Cmd, args: &[Vec<u8>], env: &[Vec<u8>]) -> util::Res<i32> {
    match cmd {
        Cmd::Help(id) => {
            out(&cli::args::usage_text(id));
            Ok(0)
        }
        Cmd::Run(o) => {
            sys::ignore_sigpipe();
            run::run(root, o).map(shown)
        }
        Cmd::Exec(o) => {
            sys::ignore_sigpipe();
            exec::exec(root, o, args, env)
        }
        Cmd::Simple(verb, a) => simple(root, verb, a, env),
    }
}

/// The table-parsed commands: values are interpreted here.
#[inline(never)]
fn simple(root: &state::Root, verb: cli::Verb, a: cli::Args, env: &[Vec<u8>]) -> util::Res<i32> {
    use cli::Verb::*;
    let pos = &a.pos;
    // The first two positionals, indexed once (each pos[i] was a call).
    let (p0, p1) = (pos.first().copied().unwrap_or_default(), pos.get(1).copied().unwrap_or_default());
    // the image verbs' errors exit 1 (docker's): one map_err for them all
    let r = match verb {
        Version => return Ok(cmds::version()),
        Info => return Ok(cmds::info(root, env)),
        Ps => return Ok(cmds::ps(root, a.has(1), a.has(2), a.has(3))),
        Logs => {
            let tail = match a.val(2) {
                None | Some(b"all") => None,
                Some(t) => Some(util::parse_u64(t).ok_or_else(|| util::Error::text(m!("--tail: not a number")))?),
            };
            return logs::logs(root, p0, a.has(1), tail, a.has(3), &mut |b| out(b));
        }
        Stop | Restart => {
            // -t, read once for both
            let secs = match a.val(1) {
                None => 10,
                Some(v) => util::parse_u64(v).ok_or_else(|| util::Error::text(m!("--time: not a number of seconds")))?,
            };
            if verb == Stop {
                return Ok(cmds::stop(root, pos, secs, true));
            }
            sys::ignore_sigpipe();
            return match cmds::stop(root, pos, secs, false) {
                0 => Ok(start(root, pos, false)),
                c => Ok(c),
            };
        }
        Start => {
            sys::ignore_sigpipe();
            return Ok(start(root, pos, a.has(1)));
        }
        Rm => return Ok(cmds::rm(root, pos, a.has(1))),
        Images => return images::images(root, a.has(1)).map(|_| 0),
        Rmi => return Ok(images::rmi(root, pos)),
        Import => {
            let mut changes: Vec<&[u8]> = Vec::new();
            for v in &a.vals {
                if v.0 == 1 {
                    changes.push(v.1);
                }
            }
            image::import(root, p0, pos.get(1).copied(), &changes).map(id_line)
        }
        Commit => commit::commit(root, p0, pos.get(1).copied()).map(id_line),
        // -q: docker's only hides progress, which mydocker never shows
        Load => {
            load::load(root, a.val(1), &mut |r, id| line_to(1, util::msg_text(if id { m!("Loaded image ID: ") } else { m!("Loaded image: ") }), r)).map(|_| 0)
        }
        Save => commit::to_output(a.val(1), b"save", &mut |fd| crate::engine::save::save(root, pos, fd)),
        Tag => store::tag(root, p0, p1).map(|_| 0),
        History => images::history(root, p0, a.has(1), a.has(2)).map(|_| 0),
        Export => return commit::export(root, p0, a.val(1)),
        Inspect => return inspect::inspect(root, pos),
        NetCreate => {
            if a.val(3).is_some_and(|d| util::word_index(b"bridge", d).is_none()) {
                return Err(util::Error::text(m!("--driver: only bridge is supported")));
            }
            let subnet = a.val(1).ok_or_else(|| util::Error::text(m!("network create: --subnet is required")))?;
            return net::create(root, p0, subnet, a.val(2), env);
        }
        NetLs => return Ok(net::ls(root, a.has(1))),
        NetRm => return Ok(net::rm(root, pos, env)),
        NetInspect => return Ok(net::inspect(root, pos)),
    };
    r.map_err(|e| e.code(1))
}

/// docker's line for a new image: `sha256:ID`.
fn id_line(id: Vec<u8>) -> i32 {
    line_to(1, b"sha256:", &id);
    0
}

fn finish(r: util::Res<i32>) -> i32 {
    r.unwrap_or_else(report)
}

/// A foreground container's exit code; a detached one's id (or the name
/// `start` was given), printed as docker prints it.
fn shown(x: Outcome) -> i32 {
    match x {
        Outcome::Exited(c) => c,
        Outcome::Detached(id) => {
            line_to(1, b"", &id);
            0
        }
    }
}

/// `start [-a] NAME...`: the last error's code, or with `-a` the program's
/// (an error printed is never followed by exit 0).
fn start(root: &state::Root, names: &[&[u8]], attach: bool) -> i32 {
    let (mut code, mut failed) = (0, 0);
    for n in names {
        match run::start(root, n, attach) {
            Ok(Outcome::Exited(c)) => code = c,
            Ok(x) => {
                shown(x);
            }
            Err(e) => failed = report(e),
        }
    }
    if failed != 0 {
        failed
    } else {
        code
    }
}

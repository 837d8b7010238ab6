//! The OCI runtime's front end: runc's command line (as podman's conmon
//! and containerd's shim call it, see docs in README), on `engine::oci`.
//! mydocker speaks it when invoked as `runc` or `mydocker-runc`, or as
//! `mydocker runc ...`.
//!
//! An error is printed on stderr and, with `--log FILE`, appended to FILE
//! as exactly one line: with `--log-format json`, runc's
//! `{"level":"error","msg":...,"time":...}` (podman reads the whole file
//! as one JSON object, containerd the last error line). Exit code 1.

use super::args::{self, opts, parse};
use super::out::{out, report};
use super::usage;
use crate::engine::oci;
use crate::engine::state::Root;
use crate::engine::util::{self, Buf, Error, Res};
use crate::sys;
use alloc::vec::Vec;

const G_ROOT: u8 = 1;
const G_LOG: u8 = 2;
const G_FMT: u8 = 3;
const G_SYSTEMD: u8 = 4;
const G_DEBUG: u8 = 5;
const G_OTHER: u8 = 6;

/// The global options (runc's; `--debug`, `--rootless`, `--criu` accepted).
static GLOBAL: &[u8] = opts![
    args::o(G_ROOT, "root", 0, true),
    args::o(G_LOG, "log", 0, true),
    args::o(G_FMT, "log-format", 0, true),
    args::o(G_SYSTEMD, "systemd-cgroup", 0, false),
    args::o(G_DEBUG, "debug", 0, false),
    args::o(G_OTHER, "rootless", 0, true),
    args::o(G_OTHER, "criu", 0, true),
];

const C_BUNDLE: u8 = 1;
const C_PIDFILE: u8 = 2;
const C_CONSOLE: u8 = 3;
const C_NOPIVOT: u8 = 4;
const C_NOKEY: u8 = 5;
const C_PRESERVE: u8 = 6;
const C_ALL: u8 = 7;
const C_FORCE: u8 = 8;
const C_FORMAT: u8 = 9;
const C_QUIET: u8 = 10;
const C_RES: u8 = 11;
const C_PROCESS: u8 = 12;
const C_DETACH: u8 = 13;
const C_TTY: u8 = 14;

/// Every command's options, in one table.
static CMD: &[u8] = opts![
    args::o(C_BUNDLE, "bundle", b'b', true),
    args::o(C_PIDFILE, "pid-file", 0, true),
    args::o(C_CONSOLE, "console-socket", 0, true),
    args::o(C_NOPIVOT, "no-pivot", 0, false),
    args::o(C_NOKEY, "no-new-keyring", 0, false),
    args::o(C_PRESERVE, "preserve-fds", 0, true),
    args::o(C_ALL, "all", b'a', false),
    args::o(C_FORCE, "force", b'f', false),
    args::o(C_FORMAT, "format", 0, true),
    args::o(C_QUIET, "quiet", b'q', false),
    args::o(C_RES, "resources", b'r', true),
    args::o(C_PROCESS, "process", b'p', true),
    args::o(C_DETACH, "detach", b'd', false),
    args::o(C_TTY, "tty", b't', false),
];

/// `args`: what follows `runc` (argv[0], or `mydocker runc`).
#[inline(never)]
/// `me`, `env`: mydocker's own argv and environment (exec may run again
/// from a sealed copy of itself).
pub fn main(args: &[Vec<u8>], me: &[Vec<u8>], env: &[Vec<u8>]) -> i32 {
    let g = match parse(args, GLOBAL, true, usage::RUNC) {
        Ok(g) => g,
        Err(e) => return report(e.code(1)),
    };
    let r = run(args, &g, me, env);
    match r {
        Ok(()) => 0,
        Err(e) => {
            if let Some(f) = g.val(G_LOG) {
                log(f, g.val(G_FMT) == Some(b"json"), &e.msg());
            }
            report(e.code(1))
        }
    }
}

/// One line appended to the log file: the error, as JSON or text.
fn log(file: &[u8], json: bool, msg: &[u8]) {
    let mut b = Buf::new();
    let t = util::rfc3339(sys::now().0);
    let (f, a) =
        if json { (m!("{\"level\":\"error\",\"msg\":\x07,\"time\":\"\x02\"}\n"), [msg, &t]) } else { (m!("time=\"\x02\" level=error msg=\x07\n"), [&t, msg]) };
    crate::engine::json::tpl_m(&mut b, f, 0, &a, &[], &[]);
    if let Ok(fd) = sys::open(file, sys::O_WRONLY | sys::O_APPEND | sys::O_CREAT, 0o644) {
        let _ = sys::write_all(fd.raw(), &b.0);
    }
}

const VERBS: util::Msg = m!("create,start,state,kill,delete,list,ps,spec,features,help,pause,resume,update,exec");

fn run(args: &[Vec<u8>], g: &super::Args, me: &[Vec<u8>], env: &[Vec<u8>]) -> Res<()> {
    // (its run-time directory and overlay setting go unused here)
    let root = Root::new(Some(g.val(G_ROOT).unwrap_or(util::msg_text(m!("/run/mydocker-runc")))), &[]);
    let Some(&verb) = g.pos.first() else {
        out(&args::usage_text(usage::RUNC));
        return Ok(());
    };
    let v = util::msg_index(VERBS, verb).ok_or_else(|| Error::quoted(m!("command"), verb, m!("not supported (see mydocker runc help)")))?;
    // (the verb and what follows it are the tail of `args`: parsed from there, uncopied)
    let a = parse(&args[args.len() - g.pos.len() + 1..], CMD, false, usage::RUNC)?;
    let id = a.pos.first().copied().unwrap_or_default();
    if id.is_empty() && matches!(v, 0..=4 | 6 | 10..) {
        return Err(Error::text(m!("missing the container id")));
    }
    // The verbs that need no container first.
    match v {
        0 | 7 => {
            let b = bundle(a.val(C_BUNDLE))?;
            if v == 7 {
                let p = util::join(&b, b"config.json");
                if sys::lstat(&p).is_ok() {
                    return Err(Error::at(&p, m!("exists: remove it first")));
                }
                return oci::put(&p, &args::usage_text(usage::SPEC));
            }
            let n = match a.val(C_PRESERVE) {
                None => 0,
                Some(v) => util::parse_u64(v).filter(|&n| n < 1 << 20).ok_or_else(|| Error::quoted(m!("--preserve-fds"), v, m!("not a number")))? as i32,
            };
            return oci::create(&root, id, &b, a.val(C_PIDFILE), a.val(C_CONSOLE), n, g.has(G_SYSTEMD));
        }
        4 => return oci::delete(&root, id, a.has(C_FORCE)),
        5 => {
            out(&oci::list(&root, a.has(C_QUIET)));
            return Ok(());
        }
        8 => {
            out(util::msg_text(m!("{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.0.2-dev\",\"linux\":{\"namespaces\":[\"pid\",\"network\",\"mount\",\"ipc\",\"uts\",\"cgroup\"]}}\n")));
            return Ok(());
        }
        9 => {
            out(&args::usage_text(usage::RUNC));
            return Ok(());
        }
        _ => {}
    }
    let mut r = oci::find(&root, id)?;
    match v {
        1 => oci::start(&root, &r),
        2 => {
            out(&oci::state(&root, &r));
            Ok(())
        }
        3 => oci::kill(&r, oci::signal(a.pos.get(1).copied().unwrap_or(b"TERM"))?, a.has(C_ALL)),
        6 => {
            out(&oci::ps(&r));
            Ok(())
        }
        10 | 11 => oci::pause(&r, v == 10),
        12 => oci::update(&r, a.val(C_RES).unwrap_or(b"-")),
        _ => {
            let p = a.val(C_PROCESS).ok_or_else(|| Error::text(m!("exec: --process FILE is required")))?;
            let code = oci::exec(&mut r, p, a.has(C_DETACH), a.val(C_PIDFILE), a.val(C_CONSOLE), me, env)?;
            if code != 0 {
                sys::exit(code);
            }
            Ok(())
        }
    }
}

/// The bundle directory, absolute (default: the working directory).
fn bundle(b: Option<&[u8]>) -> Res<Vec<u8>> {
    let b = b.unwrap_or(b".");
    if b.first() == Some(&b'/') {
        return Ok(b.to_vec());
    }
    let cwd = sys::readlinkat(sys::AT_FDCWD, b"/proc/self/cwd").map_err(|e| Error::sys(m!("find"), b"the working directory", e))?;
    Ok(if b == b"." { cwd } else { util::join(&cwd, b) })
}

//! `mydocker run`: the parent role. Prepares state and cgroups, starts the
//! container (see init.rs for the numbered handshake), then either waits in
//! the foreground, forwarding signals and relaying a pty, or hands the
//! container to a per-container monitor process (`-d`) and returns.

use crate::engine::cgroup::{Cgroup, Kind, Layout};
use crate::engine::channel::{self, Parent, Reporter};
use crate::engine::config::RunOpts;
use crate::engine::devices;
use crate::engine::init::{self, Stdio};
use crate::engine::network;
use crate::engine::spec::Spec;
use crate::engine::state::{self, Record, Root, Status};
use crate::engine::util::{self, join, remove_tree, Ctx, Error, Res};
use crate::sys::{self, fd::Owned, netlink, Fd};
use alloc::vec::Vec;
use core::mem::ManuallyDrop;

/// The namespaces clone makes; the network one is made beside it (sync 2b).
const NS_FLAGS: i32 = sys::CLONE_NEWPID | sys::CLONE_NEWNS | sys::CLONE_NEWUTS | sys::CLONE_NEWIPC;

/// How a started container left its caller: it ran in the foreground and
/// exited with a code, or it was detached (its monitor owns it now) and
/// the front end shows the id or name it was known by.
pub enum Outcome {
    Exited(i32),
    Detached(Vec<u8>),
}

/// A created container: what `start` needs, and what must be undone. In
/// declaration order (repr(C)): the small members first, then the record
/// (its most-used fields first), within a one-byte displacement on x86_64.
#[repr(C)]
pub struct Prepared {
    /// The container's lock, held until it runs (or the start failed).
    pub lock: state::Lock,
    /// What a failed start takes back.
    made: Made,
    pub rec: Record,
    pub spec: Spec,
    pub cg: Cgroup,
    /// Host volume directories we created, undone if the start fails.
    pub made_dirs: Vec<Vec<u8>>,
    /// What `-d` prints once started: the id for run, the name for start.
    pub echo: Vec<u8>,
    /// The bridge network, if any, and the bound published-port sockets.
    pub net: Option<network::Network>,
    pub port_fds: Vec<Owned>,
}

/// How a container comes to `instantiate`: `run` makes a new one (the name
/// given, or generated from the id's random bytes); `start` brings back
/// one whose lock the caller holds.
enum Birth<'a> {
    New { name: Option<&'a [u8]>, rnd: &'a [u8] },
    Again(state::Lock),
}

/// What `instantiate` made that a failed start must take back.
#[derive(Clone, Copy, PartialEq)]
enum Made {
    /// `start` of an existing container: keep it, record the failure.
    Existing,
    /// `run` before its directory: only cgroups and volume directories.
    Nothing,
    /// `run` with its directory (and name, write layer, address): all of it.
    Container,
}

#[inline(never)]
pub fn run(root: &Root, o: RunOpts) -> Res<Outcome> {
    if sys::geteuid() != 0 {
        return util::err(b"run", m!("mydocker must run as root"));
    }
    // (the options' flags read back from the record: fewer live values)
    // (used where it was returned: no move of the prepared container)
    let mut r = prepare(root, o);
    let fg = r.as_ref().is_ok_and(|p| !p.rec.detach);
    go(root, &mut r, fg)
}

/// A prepared container started: in the foreground (`fg`) or detached.
/// (One copy of the tail for `run` and `start`.)
#[inline(never)]
fn go(root: &Root, r: &mut Res<Prepared>, fg: bool) -> Res<Outcome> {
    match r {
        Ok(p) if fg => foreground(root, p),
        Ok(p) => detach(root, p),
        Err(e) => Err(*e),
    }
}

/// The environment: docker's PATH, the image's Env, HOSTNAME (and TERM
/// with a tty), then `-e` entries (a later key wins).
pub fn build_env(hostname: &[u8], tty: bool, image: &[Vec<u8>], user: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut env: Vec<Vec<u8>> = Vec::new();
    let mut path = b"PATH=".to_vec();
    path.extend_from_slice(crate::engine::config::DEFAULT_PATH);
    env.push(path);
    for e in image {
        util::env_set(&mut env, e);
    }
    let mut h = b"HOSTNAME=".to_vec();
    h.extend_from_slice(hostname);
    env.push(h);
    if tty {
        env.push(b"TERM=xterm".to_vec());
    }
    for e in user {
        util::env_set(&mut env, e);
    }
    env
}

/// `run`: a new record from the options and the image's configuration
/// (docker's rules: argv = Entrypoint ++ Cmd, arguments replace Cmd,
/// `--entrypoint` replaces Entrypoint and clears Cmd), then the common path.
#[allow(clippy::field_reassign_with_default)] // smaller, see below
fn prepare(root: &Root, mut o: RunOpts) -> Res<Prepared> {
    let (image_id, _) = crate::engine::store::resolve(root, &o.image)?;
    let m = crate::engine::store::meta(root, &image_id)?;
    let (mut argv, cmd) = match o.entrypoint.take() {
        Some(e) if e.is_empty() => (Vec::new(), o.cmd),
        Some(e) => (alloc::vec![e], o.cmd),
        None if o.cmd.is_empty() => (m.entrypoint, m.cmd),
        None => (m.entrypoint, o.cmd),
    };
    argv.extend(cmd);
    if argv.is_empty() {
        return util::err(b"run", m!("no command (the image has no default)"));
    }
    if o.security.user.is_empty() {
        o.security.user = m.user;
    }
    let workdir = match o.workdir {
        Some(w) => w,
        None if !m.workdir.is_empty() => m.workdir,
        None => b"/".to_vec(),
    };
    let network = o.network.unwrap_or_else(|| b"none".to_vec());
    if !o.ports.is_empty() && util::word_index(b"none,host", &network).is_some() {
        return util::err(b"--publish", m!("needs a bridge network (--network NAME)"));
    }
    let mut rnd = [0u8; 32];
    sys::random(&mut rnd);
    let id = util::hex(&rnd);
    let hostname = o.hostname.unwrap_or_else(|| id[..12].to_vec());
    // Set one by one: a `..Record::default()` literal built the default,
    // then copied the whole record over (500 bytes of moves).
    let mut rec = Record::default();
    rec.env = build_env(&hostname, o.tty, &m.env, &o.env);
    rec.image = o.image;
    rec.image_id = image_id;
    rec.created = sys::now().0;
    rec.argv = argv;
    rec.hostname = hostname;
    rec.workdir = workdir;
    rec.volumes = o.volumes;
    rec.limits = o.limits;
    (rec.init, rec.tty, rec.interactive, rec.detach, rec.auto_remove, rec.overlay) = (o.init, o.tty, o.interactive, o.detach, o.rm, root.overlay);
    rec.network = network;
    rec.ports = o.ports;
    rec.security = o.security;
    rec.id = id.clone();
    instantiate(root, rec, id, Birth::New { name: o.name.as_deref(), rnd: &rnd })
}

/// From a record to a container ready to launch, for `run` (a new one: the
/// name and directories are claimed here) and `start` alike: image check,
/// network, published ports bound (an address in use fails before anything
/// exists), cgroups, the IP address, volume directories, the record written
/// once. Name, directories and address are taken under the state lock, so
/// concurrent runs never share a name or an address. On failure nothing
/// made here is left behind. The cgroups are made last, once the record
/// names them: a `run` killed anywhere leaves a directory that `ps` lists
/// and `rm -f` removes with all it holds, never an orphan cgroup or lease.
fn instantiate(root: &Root, mut rec: Record, echo: Vec<u8>, birth: Birth) -> Res<Prepared> {
    let (new, lock, made) = match birth {
        Birth::New { name, rnd } => (Some((name, rnd)), state::Lock::none(), Made::Nothing),
        Birth::Again(l) => (None, l, Made::Existing),
    };
    let layers = crate::engine::store::meta(root, &rec.image_id).map_err(|_| Error::quoted(m!("image"), &rec.image, m!("no such image")))?.layers;
    let store = crate::engine::store::layers_dir(root);
    // (no network, none or host: a table, not a compare per word)
    let net = match util::word_index(b",none,host", &rec.network) {
        Some(_) => None,
        None => Some(network::load(root, &rec.network)?),
    };
    // The device rules: docker's, and each --device node's, as it is now.
    let (mut nodes, mut extra) = (Vec::new(), Vec::new());
    device_nodes(&rec.security.devices, &mut nodes, &mut extra)?;
    let port_fds = crate::engine::proxy::bind_all(&rec.ports)?;
    rec.limits.devices = devices::Devices { privileged: rec.security.privileged, extra };
    let cg = Cgroup::plan(&Layout::for_limits(&rec.limits), &join(b"mydocker", &rec.id), &rec.limits)?; // (an error drops, and closes, the sockets)
    rec.cgroups = cg.dirs();
    rec.status = Status::Created;
    (rec.pid, rec.pid_start, rec.monitor, rec.exit_code, rec.finished) = (0, 0, 0, None, 0);
    let dir = rec.dir(root);
    let upper = join(&dir, b"upper");
    // A container whose write layer is a full copy stays one (a new
    // one has no layer yet: no lookup on run's path).
    let overlay = rec.overlay && (new.is_some() || sys::lstat(&join(&dir, b"copied")).is_err());
    // (one copy of whichever name)
    let net_kind = if net.is_some() {
        &b"bridge"[..]
    } else if rec.network.is_empty() {
        &b"none"[..]
    } else {
        &rec.network
    }
    .to_vec();
    // The spec from its (out-of-line) default, then what differs, set in
    // place: a literal of every field was a store per field here.
    let mut p = Prepared { spec: Spec::default(), rec, cg, made_dirs: Vec::new(), lock, made, echo, net, port_fds };
    let spec = &mut p.spec;
    // the mount point: the top layer's directory (an image without
    // layers gets its empty write layer bound there)
    spec.lower = match layers.last() {
        Some(l) => join(&join(&store, l), b"root"),
        None => upper.clone(),
    };
    (spec.layers, spec.store, spec.upper, spec.work) = (layers, store, upper, join(&dir, b"work"));
    // (the security field: the record's, once it is written, below)
    (spec.overlay, spec.nodes, spec.net) = (overlay, nodes, net_kind);
    let r = (|| {
        for v in &p.rec.volumes {
            mkdir_recording(&v.host, &mut p.made_dirs)?;
        }
        let _lock = root.lock()?;
        if let Some((name, rnd)) = new {
            index_names(root)?;
            p.rec.name = match name {
                Some(n) => {
                    // (a dead `--rm` one is removed now, as it would have been)
                    if let Some(other) = state::name_holder(root, n).filter(|r| !reap(root, r)) {
                        return Err(Error::quoted(m!("name"), n, m!("already in use by container "))
                            .append(other.short_id())
                            .more(m!(" (remove it or choose another name)")));
                    }
                    n.to_vec()
                }
                None => state::generate_name(rnd, &|n| state::name_holder(root, n).is_some()),
            };
            sys::mkdir(&dir, 0o700).ctx(m!("create"), &dir)?;
            p.made = Made::Container;
            state::claim_name(root, &p.rec.name, &p.rec.id)?;
            // Ours until it runs: rm, stop and start of it wait, a reaper skips it.
            // (the none it replaces forgotten: no drop call)
            core::mem::forget(core::mem::replace(&mut p.lock, state::lock_container(root, &p.rec, &dir)?));
            for sub in [&p.spec.upper, &p.spec.work] {
                sys::mkdir(sub, 0o755).ctx(m!("create"), sub)?;
            }
        }
        if let Some(n) = &p.net {
            p.rec.ip = network::allocate(root, n, &p.rec.id)?;
            set_net(&mut p.spec, n, p.rec.ip, &p.rec.hostname);
        }
        // Written whole: for a restart, the appended history of the last run goes.
        save(root, &p.rec)?;
        // The spec's confinement: the record's, moved (not cloned: nothing
        // reads it from the record once it is written).
        let sec = &mut p.spec.security;
        *sec = core::mem::take(&mut p.rec.security);
        if p.cg.devices == Some(devices::Mechanism::NoCgroup) {
            // No devices cgroup here: a node the container makes, or its image
            // carries, could be any of the host's devices. So it may make
            // none (exec decides the same from the host's layout), and the
            // root is mounted nodev (init.rs). The record keeps what was asked.
            sec.caps &= !(1 << crate::engine::config::CAP_MKNOD);
        }
        Ok(())
    })()
    .and_then(|_| p.cg.make(Kind::V2, &p.rec.limits));
    if let Err(e) = r {
        undo(root, &mut p);
        return Err(e);
    }
    Ok(p)
}

/// The names index, made if missing (it lives in the run-time
/// directory); out of `instantiate`'s frame.
#[inline(never)]
fn index_names(root: &Root) -> Res<()> {
    root.runtime()?;
    state::index_names(root)
}

/// The record written whole, kept out of `instantiate` (its encoder
/// inlined there grew that frame).
#[inline(never)]
fn save(root: &Root, rec: &Record) -> Res<()> {
    rec.save(root)
}

/// `--device`: each host node's type and numbers, read at every start (a
/// board's USB serial port may come back with other numbers), and its
/// device rule.
fn device_nodes(devs: &[crate::engine::config::Device], nodes: &mut Vec<crate::engine::spec::Node>, rules: &mut Vec<devices::Rule>) -> Res<()> {
    for d in devs {
        let st = sys::stat(&d.host).ctx(m!("--device"), &d.host)?;
        let kind = st.kind();
        if kind != sys::S_IFCHR && kind != sys::S_IFBLK {
            return Err(Error::at(&d.host, m!("not a device node")));
        }
        let (major, minor) = st.dev_numbers();
        nodes.push(crate::engine::spec::Node { kind, major, minor });
        let kind = if kind == sys::S_IFBLK { b'b' } else { b'c' };
        rules.push(devices::Rule { kind, major: major as i64, minor: minor as i64, access: devices::parse_access(&d.perms).unwrap_or(devices::RWM) });
    }
    Ok(())
}

/// `start [-a]` of one container: runs a stopped container again with its
/// recorded settings and its write layer; a running one is left alone.
#[inline(never)]
pub fn start(root: &Root, n: &[u8], attach: bool) -> Res<Outcome> {
    // (looked at where it was returned: no copy of the record)
    let found = state::find(root, n);
    let rec = match &found {
        Ok(r) => r,
        Err(e) => return Err(*e),
    };
    let lock = state::lock_container(root, rec, n)?;
    // (matched, not let-else'd out of the Option: no copy of the record)
    let mut r = match rec.reload(root) {
        None => return Err(Error::at(n, m!("no such container"))),
        Some(rec) if rec.alive() => return Ok(Outcome::Detached(n.to_vec())),
        Some(rec) => prepare_again(root, rec, lock, n),
    };
    go(root, &mut r, attach)
}

fn prepare_again(root: &Root, rec: Record, lock: state::Lock, echo: &[u8]) -> Res<Prepared> {
    instantiate(root, rec, echo.to_vec(), Birth::Again(lock))
}

fn set_net(spec: &mut Spec, n: &network::Network, ip: u32, hostname: &[u8]) {
    spec.ip = ip;
    spec.prefix = n.prefix;
    spec.gateway = n.gateway;
    (spec.hosts, spec.resolv) = network::etc_files(ip, hostname);
}

/// mkdir -p that remembers which directories it created.
fn mkdir_recording(path: &[u8], made: &mut Vec<Vec<u8>>) -> Res<()> {
    if sys::stat(path).is_ok() {
        return Ok(());
    }
    if let Some(i) = path.iter().rposition(|&c| c == b'/') {
        if i > 0 {
            mkdir_recording(&path[..i], made)?;
        }
    }
    match sys::mkdir(path, 0o755) {
        Ok(()) => {
            made.push(path.to_vec());
            Ok(())
        }
        Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(Error::sys(m!("create volume directory"), path, e)),
    }
}

/// Removes everything a failed start created.
fn undo(root: &Root, p: &mut Prepared) {
    util::keep_error(|| undo_inner(root, p))
}

fn undo_inner(root: &Root, p: &mut Prepared) {
    p.cg.remove();
    p.port_fds.clear(); // closed
    if p.made == Made::Existing {
        record_exit(root, &p.rec, 125);
    } else if p.made == Made::Container {
        if p.rec.ip != 0 {
            network::release(root, &p.rec.network, &p.rec.id);
        }
        let _ = remove_tree(&p.rec.dir(root));
    }
    for d in p.made_dirs.iter().rev() {
        let _ = sys::rmdir(d);
    }
}

/// Once the run `rec` describes is over, under the container's lock: drop
/// its cgroups, and with --rm everything; otherwise record how it ended.
/// Only while the record still names that run: an `rm` may have removed
/// it, or a `start` begun the next run, whose cgroups these are now.
pub fn finish(root: &Root, rec: &Record, cg: &Cgroup, code: i32) {
    let Ok(_l) = state::lock_container(root, rec, b"") else { return };
    if rec.reload(root).is_some_and(|c| (c.pid, c.pid_start) == (rec.pid, rec.pid_start)) {
        ended(root, rec, cg, code);
    }
}

/// `finish` without the checks; `code` -1: unknown.
fn ended(root: &Root, rec: &Record, cg: &Cgroup, code: i32) {
    cg.remove();
    if rec.auto_remove {
        network::release(root, &rec.network, &rec.id);
        remove_run_dir(&rec.dir(root));
    } else {
        record_exit(root, rec, code);
    }
}

/// Appends how the run ended (`code` -1: unknown) to the record.
#[inline(never)]
fn record_exit(root: &Root, rec: &Record, code: i32) {
    let _ = rec.append(root, 4, &[code as i64, sys::now().0], Status::Exited);
}

/// Removes a `--rm` container's directory. As a run leaves it (its record,
/// an empty write layer, overlay's work/work) that is five unlinks, not
/// the walk's ~20 calls (-25 us); anything else there (files in the layer,
/// a log, a copied root) makes one fail, and the walk removes what is left.
fn remove_run_dir(dir: &[u8]) {
    // (one string: the record, then directories down to the container's
    // own, the last, empty name; a table of slices was 120 bytes)
    let mut flags = 0;
    for p in util::fields(b"config work/work work upper ", b' ') {
        let r = sys::unlinkat(sys::AT_FDCWD, &join(dir, p), flags);
        flags = sys::AT_REMOVEDIR;
        if r.is_err() {
            let _ = remove_tree(dir);
            return;
        }
    }
}

/// Every dead `--rm` container `reap`ed: before `rmi` and `network rm`
/// judge whether a container still uses what they remove.
pub fn reap_dead(root: &Root) {
    // (by reference: no record moved out per round)
    for r in &state::all(root) {
        reap(root, r);
    }
}

/// Removes a `--rm` container whose owner (its monitor, or the CLI of a
/// foreground run) was killed, once nothing of it runs: the next command
/// that sees it (`ps`, a `run` that wants its name, `network rm`, `rmi`)
/// does what the owner would have done. Costs nothing on run's path.
/// Returns whether it is gone.
pub fn reap(root: &Root, r: &Record) -> bool {
    if !r.auto_remove || r.alive() || state::running(r.monitor) {
        return false;
    }
    // Locked: its run or a stop or rm is at work on it.
    let Ok(_l) = state::lock_path(&r.dir(root), false) else { return false };
    let cur = r.reload(root);
    let r = cur.as_ref().unwrap_or(r); // none: a dead one, never written
    if r.alive() || state::running(r.monitor) || Cgroup::from_dirs(&r.cgroups).populated() {
        return false; // started meanwhile, or processes of it still run
    }
    remove(root, r).is_ok()
}

/// `launch` of a prepared container; the host end of its veth pair (with
/// a bridge network) is "ve" + 10 hex digits of its id.
fn launch_prepared(p: &Prepared, io: &Stdio) -> Res<i32> {
    let mut veth = *b"ve0123456789";
    for (d, s) in veth[2..].iter_mut().zip(&p.rec.id) {
        *d = *s;
    }
    launch(&p.rec, &p.spec, &p.cg, io, p.net.as_ref().map(|n| (n.bridge.as_slice(), &veth[..])))
}

/// `wait_loop` for a started container, forwarding its published ports,
/// then `finish`. Returns the exit code.
#[allow(clippy::too_many_arguments)]
fn serve(root: &Root, p: &Prepared, pid: i32, sfd: Fd, pty: Owned, input: Fd, output: Fd, forward: bool, log: Option<&mut crate::engine::logs::Log>) -> i32 {
    let mut proxy = (!p.port_fds.is_empty()).then(|| crate::engine::proxy::Proxy::new(p.rec.ip, &p.rec.ports, &p.port_fds));
    let code = wait_loop(pid, sfd, pty, input, output, forward, log, proxy.as_mut());
    finish(root, &p.rec, &p.cg, code);
    code
}

/// Clones the container and runs the handshake; returns its pid once the
/// program is exec'ed. On error the child is already reaped.
/// `net`: the bridge to plug the container into, with the host end's name.
pub fn launch(rec: &Record, spec: &Spec, cg: &Cgroup, io: &Stdio, net: Option<(&[u8], &[u8])>) -> Res<i32> {
    let own_net = spec.net.as_slice() != b"host";
    let ends = channel::open(true, own_net)?;
    // sync 1: every namespace but the network one, which the parent makes
    // meanwhile (sync 2b).
    let (pid, mut parent) = channel::spawn(cg, NS_FLAGS & !spec.share, ends, &|ch| init::setup(rec, spec, cg, ch, io))?;
    parent.release(); // sync 2
    if parent.wants_netns() {
        if let Err(er) = netns_for(&mut parent, net) {
            let _ = parent.await_exec(pid); // it fails for want of the namespace
            return Err(er);
        }
    }
    parent.await_exec(pid).map(|_| pid) // sync 3
}

/// sync 2b: makes the container's network namespace while the child builds
/// its root filesystem (on another CPU, where the scheduler gives it one: a
/// namespace's setup is the slowest step of a start, ~0.6 ms), brings its
/// loopback up from inside
/// (~0.1 ms that the child, the usual critical path, no longer spends after
/// sync 2b), plugs the veth pair's eth0 end into it for a bridge network,
/// and sends it to the child, which enters it.
fn netns_for(parent: &mut Parent, net: Option<(&[u8], &[u8])>) -> Res<()> {
    const NS: &[u8] = b"/proc/self/ns/net";
    let host = sys::open(NS, sys::O_RDONLY, 0).ctx(m!("open"), NS)?;
    let made = sys::unshare(sys::CLONE_NEWNET)
        .ctx(m!("create the network namespace"), b"")
        .and_then(|_| netlink::link_up(1).ctx(m!("bring up loopback"), b""))
        .map(|_| sys::open(NS, sys::O_RDONLY, 0).ctx(m!("open"), NS));
    // Back to the host's namespace, whatever happened.
    let back = sys::setns(host.raw(), sys::CLONE_NEWNET).ctx(m!("return to the host's network namespace"), b"");
    let ns = made??;
    back?;
    if let Some((bridge, veth)) = net {
        let r = netlink::veth_add(veth, b"eth0", ns.raw()).and_then(|_| sys::ifindex(bridge)).and_then(|b| netlink::link_set(veth, Some(b)));
        if let Err(er) = r {
            let _ = netlink::link_del(veth);
            return Err(Error::sys(m!("connect the container to"), bridge, er));
        }
    }
    parent.send_netns(ns.raw())
}

fn mark_running(root: &Root, rec: &mut Record, pid: i32, monitor: i32) {
    rec.pid = pid;
    rec.pid_start = state::proc_start_time(pid).unwrap_or(0);
    rec.monitor = monitor;
    rec.status = Status::Running;
    rec.started = sys::now().0;
    let _ = rec.append(root, 0, &[pid as i64, rec.pid_start as i64, monitor as i64, rec.started], Status::Running);
}

#[inline(never)]
fn foreground(root: &Root, p: &mut Prepared) -> Res<Outcome> {
    let tty = p.rec.tty && sys::isatty(0);
    // Blocked before clone so no signal is lost; the child unblocks them.
    // The program's end (a pty's slave, or /dev/null for stdin) is closed
    // once it runs; a pty's master stays ours.
    // (held in ManuallyDrop, the program's end closed by hand: the error
    // path carries no drop code. What it leaves open, the signalfd and a
    // pty's master, is close-on-exec and goes when the CLI exits.)
    let (mut theirs, mut master) = (ManuallyDrop::new(Owned::none()), ManuallyDrop::new(Owned::none()));
    let r = (|| {
        let sfd = ManuallyDrop::new(init::signals(&sys::FORWARDED)?);
        let io = if tty {
            let (m, s) = sys::openpty().ctx(m!("open a pty /dev/ptmx"), b"")?;
            sys::copy_winsize(0, m.raw());
            (*theirs, *master) = (s, m);
            p.spec.tty = true;
            let s = theirs.raw();
            Stdio { stdin: s, stdout: s, stderr: s }
        } else {
            if !p.rec.interactive {
                *theirs = sys::open(b"/dev/null", sys::O_RDONLY, 0).ctx(m!("open /dev/null"), b"")?;
            }
            Stdio { stdin: theirs.raw().max(0), stdout: 1, stderr: 2 }
        };
        launch_prepared(p, &io).map(|pid| (pid, sfd))
    })();
    drop(ManuallyDrop::into_inner(theirs));
    let (pid, sfd) = match r {
        Ok(x) => x,
        Err(e) => {
            undo(root, p);
            return Err(e);
        }
    };
    let master = ManuallyDrop::into_inner(master);
    mark_running(root, &mut p.rec, pid, sys::getpid());
    p.lock = state::Lock::none();
    Ok(Outcome::Exited(serve(root, p, pid, sfd.raw(), master, if p.rec.interactive { 0 } else { -1 }, 1, true, None)))
}

/// Waits for `pid`, forwarding signals to it (`forward`), relaying a pty
/// (`input` → master → `output`, or the log), logging the container's
/// output pipe (`log`) and forwarding published ports (`proxy`). Returns the
/// docker-style exit code. The pty's master is closed once drained.
/// In the foreground (`forward`), the caller's terminal is raw while a
/// pty relays (one copy of that for `run`, `start -a` and `exec`).
#[allow(clippy::too_many_arguments)]
pub fn wait_loop(
    pid: i32,
    sfd: Fd,
    pty: Owned,
    mut input: Fd,
    output: Fd,
    forward: bool,
    mut log: Option<&mut crate::engine::logs::Log>,
    mut proxy: Option<&mut crate::engine::proxy::Proxy>,
) -> i32 {
    // -1 once the relay ends (EIO: every slave is closed), or if there is
    // none; `pty` owns it. (`input` -1: none, or ended.)
    let mut master = pty.raw();
    let mut buf = [0u8; 8192];
    let status;
    // (kept a Result: an Option of the termios was one more copy of it)
    let saved = if forward && master >= 0 { sys::make_raw(0) } else { Err(0) };
    // Reused every round: the loop allocates nothing (see sys::Malloc).
    let mut fds: Vec<sys::PollFd> = Vec::new();
    loop {
        // [signals, master, input, index, proxy...]; -1 entries are ignored by poll
        fds.clear();
        for fd in [sfd, master, if master >= 0 { input } else { -1 }, log.as_deref().map_or(-1, |l| l.input_fd())] {
            fds.push(sys::pollfd(fd, sys::POLLIN));
        }
        if let Some(p) = proxy.as_deref() {
            p.fds(&mut fds);
        }
        if sys::poll(&mut fds, -1).is_err() {
            continue;
        }
        // (a slice pattern: one length check, no panic path per index)
        let [s0, s1, s2, s3, rest @ ..] = fds.as_slice() else { continue };
        if s0.revents != 0 {
            let sig = sys::read_signal(sfd).unwrap_or(sys::SIGCHLD);
            if sig == sys::SIGCHLD {
                if let Ok((p, st)) = sys::waitpid(pid, sys::WNOHANG) {
                    if p == pid {
                        status = st;
                        break;
                    }
                }
            } else if sig == libc::SIGWINCH {
                if master >= 0 {
                    sys::copy_winsize(0, master);
                }
            } else if forward {
                let _ = sys::kill(pid, sig);
            }
        }
        let m = master;
        if m >= 0 {
            if s1.revents != 0 {
                match read_some(m, &mut buf) {
                    Some(b) => emit(&mut log, output, b),
                    None => master = -1, // EIO: every slave is closed
                }
            }
            if input >= 0 && s2.revents != 0 {
                match read_some(input, &mut buf) {
                    Some(b) => {
                        let _ = sys::write_all(m, b);
                    }
                    None => {
                        let _ = sys::write_all(m, &[4]); // EOF: ^D to the line discipline
                        input = -1;
                    }
                }
            }
        }
        if s3.revents != 0 {
            if let Some(l) = log.as_deref_mut() {
                l.pump();
            }
        }
        if let Some(p) = proxy.as_deref_mut() {
            if rest.iter().any(|f| f.revents != 0) {
                proxy_ready(p, rest);
            }
        }
    }
    // Drain what the program wrote just before it exited.
    if master >= 0 {
        let mut one = [sys::pollfd(master, sys::POLLIN)];
        while sys::poll(&mut one, 0).is_ok() && one[0].revents & sys::POLLIN != 0 {
            match read_some(master, &mut buf) {
                Some(b) => emit(&mut log, output, b),
                None => break,
            }
        }
    }
    drop(pty);
    if let Some(l) = log {
        l.drain();
    }
    if let Ok(t) = &saved {
        sys::restore_term(0, t);
    }
    sys::status_code(status)
}

/// `Proxy::ready` kept out of `wait_loop` (its connection juggling
/// widened the loop's frame).
#[inline(never)]
fn proxy_ready(p: &mut crate::engine::proxy::Proxy, rest: &[sys::PollFd]) {
    p.ready(rest)
}

/// What one read of `fd` got; none at its end or on an error.
#[inline(never)]
fn read_some(fd: Fd, buf: &mut [u8]) -> Option<&[u8]> {
    match sys::read(fd, buf) {
        Ok(n) if n > 0 => buf.get(..n),
        _ => None,
    }
}

/// A pty's output: to the log if there is one, else to `output`.
fn emit(log: &mut Option<&mut crate::engine::logs::Log>, output: Fd, b: &[u8]) {
    match log {
        Some(l) => l.write(b),
        None => {
            let _ = sys::write_all(output, b);
        }
    }
}

/// `-d`: fork a monitor that owns the container. The CLI waits only for the
/// monitor's one report (started, or why not), prints the id and returns.
#[inline(never)]
fn detach(root: &Root, p: &mut Prepared) -> Res<Outcome> {
    let started = channel::report_pipe().and_then(|(report, reporter)| match sys::fork() {
        Ok(m) => Ok((report, reporter, m)),
        Err(e) => Err(Error::sys(m!("fork"), b"monitor", e)),
    });
    let (report, reporter, m) = match started {
        Ok(x) => x,
        Err(e) => {
            undo(root, p);
            return Err(e);
        }
    };
    if m == 0 {
        drop(report);
        monitor(root, p, reporter);
    }
    drop(reporter);
    p.port_fds.clear(); // closed: the monitor owns them now
    match report.wait() {
        Ok(()) => Ok(Outcome::Detached(p.echo.clone())),
        Err(e) => {
            // The monitor cleaned up before reporting; reap it. One that died
            // without a report (killed) did not: we still hold the lock.
            let _ = sys::waitpid(m, 0);
            if e.kind() == util::Kind::Lost {
                undo(root, p);
            }
            Err(e)
        }
    }
}

/// The per-container monitor: its own session, stdio on /dev/null, the
/// container's output (a pipe, or a pty) to the log. Killing it leaves
/// the container running, its output going nowhere.
#[inline(never)]
fn monitor(root: &Root, p: &mut Prepared, reporter: Reporter) -> ! {
    sys::setsid();
    let _ = sys::chdir(b"/");
    // On an error: undo, report and exit, straight from where it happened
    // (what is open closes with the process: no drop at every `?`).
    macro_rules! or_die {
        ($r:expr) => {
            match $r {
                Ok(v) => v,
                Err(e) => die(root, p, reporter, e),
            }
        };
    }
    // What the monitor keeps: the signalfd, a pty's master, the log, and
    // for -i a pipe's writer. The program's ends (a pty's slave, a pipe's
    // reader, /dev/null) are closed once it runs.
    let sfd = or_die!(init::signals(&[sys::SIGCHLD]));
    let null = or_die!(sys::open(b"/dev/null", sys::O_RDWR, 0).ctx(m!("open /dev/null"), b""));
    let (mut theirs, mut master, mut writer) = (Owned::none(), Owned::none(), Owned::none());
    // The container's stdout and stderr: one pipe, ours to read.
    let (out_r, out_w) = if p.rec.tty { (Owned::none(), Owned::none()) } else { or_die!(sys::pipe().ctx(m!("pipe"), b"")) };
    let mut log = or_die!(crate::engine::logs::Log::open(&p.rec.dir(root), out_r));
    let io = if p.rec.tty {
        let (m, s) = or_die!(sys::openpty().ctx(m!("open a pty /dev/ptmx"), b""));
        master = m;
        theirs = s;
        let s = theirs.raw();
        p.spec.tty = true;
        Stdio { stdin: s, stdout: s, stderr: s }
    } else if p.rec.interactive {
        // stdin stays open (a pipe whose writer we hold), as docker -di.
        let (r, w) = or_die!(sys::pipe().ctx(m!("pipe"), b""));
        writer = w; // held open for the container's lifetime
        theirs = r;
        Stdio { stdin: theirs.raw(), stdout: out_w.raw(), stderr: out_w.raw() }
    } else {
        Stdio { stdin: null.raw(), stdout: out_w.raw(), stderr: out_w.raw() }
    };
    let pid = or_die!(launch_prepared(p, &io));
    drop((theirs, null, out_w));
    // (`writer` lives on until sys::exit, which drops nothing)
    let _writer = writer;
    mark_running(root, &mut p.rec, pid, sys::getpid());
    reporter.send(&Ok(()));
    // Our copy of the container lock, kept until now so a killed
    // CLI does not release it mid-start (its own goes as it returns).
    p.lock = state::Lock::none();
    // Release the caller's terminal or pipe: `$(mydocker run -d)` returns.
    null_stdio();
    sys::shed_stack();
    // The monitor only reads SIGCHLD: signals meant for it are not
    // the container's business.
    serve(root, p, pid, sfd.raw(), master, -1, -1, false, Some(&mut log));
    sys::exit(0)
}

/// Points fds 0..3 at /dev/null (the monitor, and iptables' child).
#[inline(never)]
pub(super) fn null_stdio() {
    if let Ok(null) = sys::open(b"/dev/null", sys::O_RDWR, 0) {
        for f in 0..3 {
            let _ = sys::dup2(null.raw(), f);
        }
    }
}

/// The monitor's end when a start fails: undo, report why, exit.
fn die(root: &Root, p: &mut Prepared, reporter: Reporter, e: Error) -> ! {
    undo(root, p);
    reporter.send(&Err(e));
    sys::exit(e.exit_code());
}

// ---------------------------------------------------------------- stop, rm

/// Waits up to `ms` for the container's init to be gone.
fn wait_gone(r: &Record, ms: u64) -> bool {
    let end = sys::mono_ms() + ms;
    loop {
        if !r.alive() {
            return true;
        }
        if sys::mono_ms() >= end {
            return false;
        }
        sys::sleep_ms(10);
    }
}

/// `stop`: SIGTERM, up to `secs`, then SIGKILL; returns once the container
/// is gone and its end recorded. Under its lock, so no start begins a run
/// that this stop would then kill or clean up after.
pub fn stop(root: &Root, key: &[u8], secs: u64) -> Res<()> {
    // (looked at where it was returned: no copy of the record)
    let found = state::find(root, key);
    let found = match &found {
        Ok(r) => r,
        Err(e) => return Err(*e),
    };
    // (only these two outlive the lock: no Record moved out of the block)
    let (pid, monitor) = {
        let _l = state::lock_container(root, found, key)?;
        // (looked at in the Option it came in: no copy)
        let cur = found.reload(root);
        let Some(r) = &cur else { return Err(Error::at(key, m!("no such container"))) };
        let mut code = -1;
        if r.alive() {
            let _ = sys::kill(r.pid, sys::SIGTERM);
            code = 143;
            if !wait_gone(r, secs * 1000) {
                let _ = sys::kill(r.pid, sys::SIGKILL);
                code = 137;
                if !wait_gone(r, 10_000) {
                    return Err(Error::at(key, m!("did not die after SIGKILL")));
                }
            }
        }
        if r.status == Status::Running && !state::running(r.monitor) {
            ended(root, r, &Cgroup::from_dirs(&r.cgroups), code); // its monitor was killed
        }
        (r.pid, r.monitor)
    };
    // A live monitor records the end once it has the lock: wait for that,
    // so what follows `stop` (ps, start) sees the container stopped.
    let end = sys::mono_ms() + 2000;
    // (`found` names the same directory as the reloaded record)
    while state::running(monitor) && sys::mono_ms() < end && found.reload(root).is_some_and(|c| c.pid == pid && c.status == Status::Running) {
        sys::sleep_ms(5);
    }
    Ok(())
}

/// Removes a container that is not running: cgroups, record, write layer,
/// log. Never touches volume contents (they are only ever bind-mounted).
pub fn remove(root: &Root, r: &Record) -> Res<()> {
    // The recorded cgroups, and any named after the id (a dead record).
    let mut dirs = r.cgroups.clone();
    for h in Layout::current().hiers {
        let d = join(&join(&h.mount, b"mydocker"), &r.id);
        if !dirs.contains(&d) && sys::lstat(&d).is_ok() {
            dirs.push(d);
        }
    }
    Cgroup::from_dirs(&dirs).remove();
    crate::engine::network::release(root, &r.network, &r.id);
    state::release_name(root, &r.name, &r.id);
    let dir = r.dir(root);
    let mut res = Ok(());
    for _ in 0..50 {
        res = remove_tree(&dir);
        if res.is_ok() {
            break;
        }
        sys::sleep_ms(10); // a monitor may be writing its last record
    }
    res.map_err(|e| Error::sys(m!("remove"), &dir, e))
}

/// `rm [-f]` of one container. A monitor still at work on it finds the
/// record gone once it has the lock, and stops there.
pub fn rm(root: &Root, n: &[u8], force: bool) -> Res<()> {
    // (the records looked at where they were returned: no copies)
    let found = state::find(root, n);
    let found = match &found {
        Ok(r) => r,
        Err(e) => return Err(*e),
    };
    let _lock = state::lock_container(root, found, n)?;
    let cur = found.reload(root);
    let r = match &cur {
        Some(c) => c,
        None if sys::lstat(&found.dir(root)).is_ok() => found,     // dead: no record
        None => return Err(Error::at(n, m!("no such container"))), // removed meanwhile
    };
    if r.alive() {
        if !force {
            return Err(Error::text(m!("cannot remove: container ")).append(r.short_id()).more(m!(" is running (stop it or use rm -f)")));
        }
        let _ = sys::kill(r.pid, sys::SIGKILL);
        if !wait_gone(r, 10_000) {
            return Err(Error::at(n, m!("did not die after SIGKILL")));
        }
    }
    remove(root, r)
}

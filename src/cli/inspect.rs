//! `inspect CONTAINER|IMAGE`: JSON for scripts, in docker's shape where it
//! has one (an array of objects with Id, Name, State, Config, Mounts, ...).

use super::out;
use crate::engine::cgroup::Cgroup;
use crate::engine::json::tpl_m;
use crate::engine::state::{self, Record, Root};
use crate::engine::util::{self, join, Buf, Error, Res};
use crate::sys;
use alloc::vec::Vec;

/// An RFC 3339 time, docker's zero time for none.
fn time(secs: i64) -> Vec<u8> {
    if secs > 0 {
        util::rfc3339(secs)
    } else {
        b"0001-01-01T00:00:00Z".to_vec()
    }
}

#[inline(never)]
fn container(b: &mut Buf, root: &Root, r: &Record) {
    let alive = r.alive();
    // names never start with '/' (validate_name)
    let name = join(b"/", &r.name);
    let status: &[u8] = if alive {
        b"running"
    } else if r.pid == 0 && r.exit_code.is_none() {
        b"created"
    } else {
        b"exited"
    };
    let l = &r.limits;
    let dirs = Cgroup::from_dirs(&r.cgroups).dirs();
    tpl_m(
        b,
        m!("{\"Id\":\x07,\"Name\":\x07,\"Image\":\x07,\"Created\":\"\x02\",\"Args\":\x05,\"State\":{\"Status\":\x07,\"Running\":\x04,\"Pid\":\x03,\"MonitorPid\":\x03,\"ExitCode\":\x03,\"ExitCodeKnown\":\x04,\"StartedAt\":\"\x02\",\"FinishedAt\":\"\x02\"},\"Config\":{\"Hostname\":\x07,\"Env\":\x05,\"Cmd\":\x05,\"Image\":\x07,\"WorkingDir\":\x07,\"Tty\":\x04,\"OpenStdin\":\x04},\"HostConfig\":{\"Memory\":\x03,\"NanoCpus\":\x03,\"CpuShares\":\x03,\"CpusetCpus\":\x07,\"PidsLimit\":\x03,\"AutoRemove\":\x04,\"Init\":\x04,\"Cgroups\":\x05},\"Mounts\":["),
        0,
        &[
            &r.id,
            &name,
            &r.image,
            &time(r.created),
            status,
            &time(r.started),
            &time(if alive { 0 } else { r.finished }),
            &r.hostname,
            &r.image,
            &r.workdir,
            l.cpuset_cpus.as_deref().unwrap_or_default(),
        ],
        &[
            alive as i64,
            if alive { r.pid as i64 } else { 0 },
            if alive { r.monitor as i64 } else { 0 },
            if alive { 0 } else { r.exit_code.unwrap_or(0) as i64 },
            (alive || r.exit_code.is_some()) as i64,
            r.tty as i64,
            r.interactive as i64,
            l.memory.unwrap_or(0) as i64,
            l.cpu_quota.unwrap_or(0) as i64 * 10_000,
            l.cpu_shares.unwrap_or(0) as i64,
            l.pids.unwrap_or(0) as i64,
            r.auto_remove as i64,
            r.init as i64,
        ],
        &[&r.argv, &r.env, &r.argv, &dirs],
    );
    for (i, v) in r.volumes.iter().enumerate() {
        tpl_m(b, m!(",{\"Type\":\"bind\",\"Source\":\x07,\"Destination\":\x07,\"RW\":\x04}"), (i == 0) as usize, &[&v.host, &v.ctr], &[!v.ro as i64], &[]);
    }
    let dir = r.dir(root);
    let copied = sys::lstat(&join(&dir, b"copied")).is_ok();
    let m = crate::engine::store::meta(root, &r.image_id);
    let lower = crate::engine::image::lowerdir_in(root, m.as_ref().map_or(&[][..], |m| &m.layers));
    let mut ports = Vec::new();
    for p in &r.ports {
        ports.push(p.text());
    }
    tpl_m(
        b,
        m!("],\"GraphDriver\":{\"Name\":\x07,\"LowerDir\":\x07,\"UpperDir\":\x07},\"LogPath\":\x07,\"NetworkSettings\":{\"NetworkMode\":\x07,\"IPAddress\":\x07,\"Ports\":\x05}}"),
        0,
        &[
            if copied { b"copy" } else { b"overlay" },
            &lower,
            &join(&dir, b"upper"),
            &join(&dir, b"log"),
            if r.network.is_empty() { b"none" } else { &r.network },
            &if r.ip != 0 { crate::engine::network::fmt_ip(r.ip) } else { Vec::new() },
        ],
        &[],
        &[&ports],
    );
}

/// An image in docker's shape: its configuration's parts verbatim. None
/// if it cannot be read (the caller says "no such container or image").
#[inline(never)]
fn image(b: &mut Buf, root: &Root, id: &[u8]) -> Option<()> {
    use crate::engine::{json, store};
    let img = store::image(root, id);
    let (m, conf) = img.as_ref().ok()?;
    let c = json::parse(conf)?;
    // created, architecture, os, config: verbatim, or null / {}
    let mut v: [&[u8]; 5] = [b"null"; 5];
    (v[0], v[4]) = (id, b"{}");
    let mut i = 1;
    #[allow(clippy::explicit_counter_loop)] // ((1..).zip: 9 bytes more)
    for k in util::fields(util::msg_text(m!("created,architecture,os,config")), b',') {
        if let Some(x) = c.get(k) {
            v[i] = x.raw();
        }
        i += 1;
    }
    let tags = store::tags_of(root, id);
    tpl_m(
        b,
        m!("{\"Id\":\"sha256:\x02\",\"RepoTags\":\x05,\"Created\":\x02,\"Size\":\x03,\"Architecture\":\x02,\"Os\":\x02,\"Config\":\x02,\"RootFS\":{\"Type\":\"layers\",\"Layers\":["),
        0,
        &v,
        &[store::size(root, &m.layers) as i64],
        &[&tags],
    );
    json::digests(b, &m.layers);
    b.s("]}}");
    Some(())
}

pub fn inspect(root: &Root, names: &[&[u8]]) -> Res<i32> {
    let mut b = Buf::new();
    b.s("[");
    let mut code = 0;
    for n in names {
        let before = b.0.len();
        // a comma only after an object: a name not found before it
        // must not leave `[,{...}]`
        if before > 1 {
            b.s(",");
        }
        match state::find(root, n) {
            Ok(r) => container(&mut b, root, &r),
            Err(e) => match crate::engine::store::resolve(root, n) {
                Ok((id, _)) if image(&mut b, root, &id).is_some() => {}
                _ => {
                    b.0.truncate(before);
                    super::out::report(Error::text(m!("inspect: no such container or image: ")).append(n));
                    let _ = e;
                    code = 1;
                }
            },
        }
    }
    b.s("]\n");
    out::out(&b.0);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_renders_as_json_that_parses() {
        let r = Record { id: b"abc".to_vec(), name: b"n\"x".to_vec(), argv: alloc::vec![b"sh".to_vec(), b"\xff".to_vec()], ..Record::default() };
        let mut b = Buf::new();
        b.s("[");
        container(&mut b, &Root { dir: b"/nonexistent".to_vec(), run: Vec::new(), overlay: true }, &r);
        b.s("]");
        // python's json module is the referee
        let out = std::process::Command::new("python3")
            .args(["-c", "import json,sys; d=json.load(sys.stdin)[0]; print(d['Name'], d['State']['Status'], d['Args'][1])"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&b.0)?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/n\"x created \u{ff}");
    }
}

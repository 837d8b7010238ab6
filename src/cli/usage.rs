// The help texts. They are not in the binary as written: build.rs
// includes this file, joins `ALL` with NUL separators and compresses it
// (gzip, build.rs `gzip`); the CLI holds the ids below and decodes
// a text when it prints one. The texts here are read by build.rs and the
// unit tests only. (Plain `//` comments: build.rs `include!`s this file,
// where inner doc comments are not allowed.)

pub const USAGE: &str = "Usage: mydocker [--root DIR] COMMAND [OPTIONS]

A daemon-less container runtime in one static binary.

Commands:
  run       Run a command in a new container
  ps        List containers
  exec      Run a command in a running container
  logs      Show the output of a detached container
  stop      Stop running containers
  start     Start stopped containers
  restart   Stop and start containers
  rm        Remove containers
  images    List images
  load      Load images from a docker-archive or OCI archive or layout
  save      Write images as a docker-archive
  tag       Give an image another name
  history   Show an image's history
  import    Create an image from a rootfs tarball
  rmi       Remove images
  inspect   Show a container or image as JSON
  commit    Create an image from a container's filesystem
  export    Write a container's filesystem as a tar archive
  network   Manage bridge networks (create, ls, rm, inspect)
  info      Show what this host supports
  version   Show the version

Global options:
      --root DIR   State and images directory (default /var/lib/mydocker, or $MYDOCKER_ROOT)
  -h, --help       Show help; `mydocker COMMAND --help` for a command
";

pub const RUN_USAGE: &str = "Usage: mydocker run [OPTIONS] IMAGE [COMMAND [ARG...]]

Options:
  -i, --interactive         Keep stdin open
  -t, --tty                 Allocate a pseudo-terminal (when stdin is one)
  -d, --detach              Run in the background and print the container id
      --rm                  Remove the container when it exits
      --name NAME           Name the container (also -name)
  -e, --env K=V|K           Set an environment variable (repeatable)
  -w, --workdir DIR         Working directory inside the container
      --entrypoint CMD      Replace the image's entrypoint (and clear its Cmd)
  -h, --hostname NAME       Container host name (default: the short id)
  -v, --volume HOST:CTR[:ro]  Bind mount a host directory (repeatable)
      --init                Run a tiny init as PID 1 that reaps and forwards signals
  -m, --memory SIZE         Memory limit, e.g. 64m (b, k, m, g; also -mem)
      --cpus N              CPU quota, e.g. 0.5
  -c, --cpu-shares N        Relative CPU weight (also -cpushare)
      --cpuset-cpus LIST    CPUs allowed, e.g. 0-1 (also -cpuset)
      --pids-limit N        Maximum number of processes
      --network NAME        none (default: loopback only), host, or a bridge network
                            (also --net, -net)
  -p, --publish [IP:]H:C[/udp]  Publish a container port on the host (repeatable)
      --privileged          All capabilities and devices; no seccomp, no masked paths
      --cap-add CAP         Add a capability (CAP_ optional; ALL)
      --cap-drop CAP        Drop a capability (CAP_ optional; ALL)
      --security-opt OPT    no-new-privileges, or seccomp=unconfined
  -u, --user U[:G]          User (name or uid) and group, from the image's /etc files
      --device H[:C][:rwm]  Give the container a host device node (repeatable)
      --read-only           Mount the root filesystem read-only
      --tmpfs PATH[:OPTS]   Mount a tmpfs (repeatable), e.g. /run:size=8m
";

pub const EXEC_USAGE: &str = "Usage: mydocker exec [OPTIONS] CONTAINER COMMAND [ARG...]

Options:
  -i, --interactive   Keep stdin open
  -t, --tty           Allocate a pseudo-terminal (when stdin is one)
  -d, --detach        Run in the background
  -e, --env K=V|K     Set an environment variable (repeatable)
  -w, --workdir DIR   Working directory inside the container
  -u, --user U[:G]    User (name or uid) and group, from the image's /etc files
      --privileged    All capabilities; no seccomp (the container's other limits stay)
";

pub const NETWORK_USAGE: &str = "Usage: mydocker network COMMAND

Commands:
  create [--driver bridge] --subnet CIDR [--gateway IP] NAME
  ls [-q]                 (alias: list)
  rm NAME...              (alias: remove)
  inspect NAME...
";

pub const PS_USAGE: &str = "Usage: mydocker ps [-a] [-q] [--no-trunc]

Options:
  -a, --all        Show all containers (default: running only)
  -q, --quiet      Only ids
      --no-trunc   Full ids and commands
";
pub const LOGS_USAGE: &str = "Usage: mydocker logs [-f] [-n N] [-t] CONTAINER

Options:
  -f, --follow       Follow until the container exits
  -n, --tail N       Only the last N lines
  -t, --timestamps   Prefix each line with the time it was written
";
pub const STOP_USAGE: &str = "Usage: mydocker stop [-t SECS] CONTAINER...

Options:
  -t, --time SECS   Seconds to wait after SIGTERM before SIGKILL (default 10)
";
pub const START_USAGE: &str = "Usage: mydocker start [-a] CONTAINER...

Runs stopped containers again with their recorded settings and write layer.

Options:
  -a, --attach   Stay attached: wait, with the container's output on ours
";
pub const RESTART_USAGE: &str = "Usage: mydocker restart [-t SECS] CONTAINER...

Options:
  -t, --time SECS   Seconds to wait after SIGTERM before SIGKILL (default 10)
";
pub const RM_USAGE: &str = "Usage: mydocker rm [-f] CONTAINER...

Options:
  -f, --force   Stop a running container first
";
pub const IMAGES_USAGE: &str = "Usage: mydocker images [-q]

Options:
  -q, --quiet   Only image IDs
";
pub const RMI_USAGE: &str = "Usage: mydocker rmi IMAGE...

Untags each image; one left without tags (or given by ID) is removed
with the layers no other image uses, unless a container uses it.
";
pub const IMPORT_USAGE: &str = "Usage: mydocker import [OPTIONS] FILE|- [REPOSITORY[:TAG]]

Creates a one-layer image from a rootfs tar archive (plain or gzip, as
written by `docker export` or `tar -C rootfs -c .`).

Options:
  -c, --change INSTR   CMD, ENTRYPOINT (JSON array or shell form), ENV,
                       WORKDIR or USER, as in a Dockerfile
";
pub const COMMIT_USAGE: &str = "Usage: mydocker commit CONTAINER [REPOSITORY[:TAG]]

Creates an image of the container's image plus one layer of its changes
(volume contents excluded); its command becomes the image's default.
";
pub const LOAD_USAGE: &str = "Usage: mydocker load [-i FILE|DIR] [-q]

Loads images from a docker-archive (docker save, podman save), an OCI
archive or an OCI layout directory, from stdin without -i. Layers may be
plain or gzip; each is stored once, by its digest.

Options:
  -i, --input PATH   Read PATH instead of stdin
  -q, --quiet        Print nothing
";
pub const SAVE_USAGE: &str = "Usage: mydocker save [-o FILE] IMAGE...

Writes the images as a docker-archive (docker load and podman load read it).

Options:
  -o, --output FILE   Write to FILE instead of stdout
";
pub const TAG_USAGE: &str = "Usage: mydocker tag SOURCE_IMAGE TARGET_IMAGE[:TAG]\n";
pub const HISTORY_USAGE: &str = "Usage: mydocker history [--no-trunc] [-q] IMAGE\n";
pub const EXPORT_USAGE: &str = "Usage: mydocker export [-o FILE] CONTAINER

Writes the container's filesystem (volume contents excluded) as a tar
archive to stdout or FILE.

Options:
  -o, --output FILE   Write to FILE instead of stdout
";
pub const INSPECT_USAGE: &str = "Usage: mydocker inspect CONTAINER|IMAGE...\n";
pub const INFO_USAGE: &str = "Usage: mydocker info\n";
pub const VERSION_USAGE: &str = "Usage: mydocker version\n";

pub const MAIN: u8 = 0;
pub const RUN: u8 = 1;
pub const EXEC: u8 = 2;
pub const NETWORK: u8 = 3;
pub const PS: u8 = 4;
pub const LOGS: u8 = 5;
pub const STOP: u8 = 6;
pub const START: u8 = 7;
pub const RESTART: u8 = 8;
pub const RM: u8 = 9;
pub const IMAGES: u8 = 10;
pub const RMI: u8 = 11;
pub const IMPORT: u8 = 12;
pub const COMMIT: u8 = 13;
pub const EXPORT: u8 = 14;
pub const INSPECT: u8 = 15;
pub const INFO: u8 = 16;
pub const VERSION: u8 = 17;
pub const LOAD: u8 = 18;
pub const SAVE: u8 = 19;
pub const TAG: u8 = 20;
pub const HISTORY: u8 = 21;
pub const RUNC: u8 = 22;
pub const SPEC: u8 = 23;

pub const RUNC_USAGE: &str = "Usage: mydocker runc [GLOBAL OPTIONS] COMMAND [OPTIONS] ID
An OCI runtime with runc's command line (also as runc or mydocker-runc).

Commands: create --bundle DIR [--pid-file FILE] ID, start ID, state ID,
  kill [--all] ID [SIGNAL], delete [--force] ID, list [-q], ps ID,
  pause ID, resume ID, update -r FILE ID, exec -p FILE ID, spec [-b DIR]

Global options: --root DIR (/run/mydocker-runc), --log FILE,
  --log-format text|json, --systemd-cgroup (cgroupsPath slice:prefix:name)
";

/// What `mydocker runc spec` writes (runc's starting config, a busybox shell).
pub const SPEC_JSON: &str = r#"{"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},"args": ["sh"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},"root":{"path": "rootfs","readonly":true},"hostname":"mydocker","mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}],"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}
"#;

/// In id order: `ALL[id]` is the text of id.
pub const ALL: [&str; 24] = [
    USAGE,
    RUN_USAGE,
    EXEC_USAGE,
    NETWORK_USAGE,
    PS_USAGE,
    LOGS_USAGE,
    STOP_USAGE,
    START_USAGE,
    RESTART_USAGE,
    RM_USAGE,
    IMAGES_USAGE,
    RMI_USAGE,
    IMPORT_USAGE,
    COMMIT_USAGE,
    EXPORT_USAGE,
    INSPECT_USAGE,
    INFO_USAGE,
    VERSION_USAGE,
    LOAD_USAGE,
    SAVE_USAGE,
    TAG_USAGE,
    HISTORY_USAGE,
    RUNC_USAGE,
    SPEC_JSON,
];

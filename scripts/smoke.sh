#!/usr/bin/env bash
# smoke.sh - boot a real Linux kernel in QEMU with a tiny busybox initramfs
# that contains BINARY as /bin/mydocker, run shell commands in the guest as
# root, and report whether they succeeded.
#
#   usage: smoke.sh ARCH BINARY [COMMANDS_FILE]
#
#     ARCH           aarch64 (alias arm64) or x86_64 (alias amd64)
#     BINARY         static executable for ARCH; installed as /bin/mydocker
#     COMMANDS_FILE  shell script run in the guest with `sh -ex` (busybox sh)
#                    after /proc, /sys, /dev, cgroup2 etc. are mounted and the
#                    kernel modules are loaded. Default: just run `mydocker`.
#
#   exit status: 0 = guest printed the PASS marker (commands exited 0)
#                1 = commands failed, guest crashed, or timeout
#                2 = usage / setup error (missing tool, download failed, ...)
#
# The guest's serial console is streamed to stdout (so it lands in the CI
# log) and also written to a log file (SMOKE_LOG, if set, gets a copy).
#
# Where the kernel and busybox come from: Debian bookworm .deb packages,
# downloaded with apt-get into a private apt state under the cache dir and
# unpacked with dpkg-deb -x. Nothing is installed and the host's apt/dpkg
# configuration is not touched, so this works without root. Once the cache
# is populated no network access is needed.
#
# Environment knobs (all optional):
#   SMOKE_CACHE       cache dir   (default ${XDG_CACHE_HOME:-~/.cache}/mydocker-smoke)
#   SMOKE_FLAVOUR     Debian kernel flavour: "cloud" (default, small and fast)
#                     or "generic" (linux-image-<arch>, the one real boards use)
#   SMOKE_REFRESH     1 = re-resolve the flavour's metapackage (picks up a new
#                     kernel ABI after a Debian security update)
#   SMOKE_KERNEL_PKG  exact kernel package to use instead of the flavour's
#                     metapackage, e.g. linux-image-6.1.0-56-cloud-arm64, or
#                     from backports: linux-image-6.12.95+deb12-cloud-arm64
#   SMOKE_SUITE       Debian suite (default bookworm)
#   SMOKE_MIRROR      Debian archive URI (default: the first one in the host's
#                     own apt sources)
#   SMOKE_SECURITY_MIRROR  security archive URI (default: likewise, from the
#                     host's apt sources)
#   SMOKE_TIMEOUT     seconds before QEMU is killed (default 180)
#   SMOKE_MEM         guest RAM in MiB (default 512)
#   SMOKE_SMP         guest CPUs (default 2)
#   SMOKE_ACCEL       auto (default) | kvm | tcg   (see pick_accel below)
#   SMOKE_CPU         QEMU -cpu model (default: cortex-a57 / max under TCG, host under KVM)
#   SMOKE_MODULES     kernel modules to load in the guest (dependencies are
#                     added automatically); default: see DEFAULT_MODULES
#   SMOKE_ROOT        rootfs (default): run straight from the initramfs, like a
#                     board whose busybox /init never switches root. NB:
#                     pivot_root(2) fails with EINVAL there.
#                     tmpfs: /init first copies itself into a tmpfs and
#                     switch_roots into it, so pivot_root(2) works.
#   SMOKE_CGROUP      v2 (default): the guest mounts cgroup2 only.
#                     v1: the guest mounts the v1 hierarchies (cpu, cpuacct,
#                     cpuset, memory, pids, ...) on a tmpfs, as old boards do.
#                     v1-nodevices: v1 without the devices hierarchy, so
#                     mydocker falls back to dropping CAP_MKNOD and a nodev root.
#   SMOKE_EXTRA_DIR   host dir whose contents are copied into the guest's /
#                     (e.g. a container rootfs, test fixtures)
#   SMOKE_IMAGE       an image archive to put at the guest's /img.tar, or
#                     "oci": make one with tests/fixtures/mkoci.sh from the
#                     guest's busybox (needs root, buildah and podman; cached
#                     in SMOKE_CACHE). smoke-commands.sh loads and runs it.
#   SMOKE_DISK        a raw disk image on the host, attached as a virtio disk
#                     (/dev/vda in the guest; virtio_pci and virtio_blk are
#                     loaded): a board's persistent storage, kept across boots
#                     (scripts/smoke-reboot.sh boots twice with one disk)
#   SMOKE_PHASE       a word passed to the guest as $SMOKE_PHASE (which boot)
#   SMOKE_APPEND      extra kernel command line (e.g. "loglevel=7")
#   SMOKE_LOG         also copy the console log to this path
#   SMOKE_KEEP        1 = keep the temporary work dir (initramfs, log)
#   SMOKE_DEBUG_SHELL 1 = interactive: no timeout, console on your terminal,
#                     and a root shell in the guest after the commands
#                     (exit the shell to power off). Not for CI.
#
# Host requirements: bash, apt-get/apt-cache/dpkg-deb (Debian or derivative,
# with /usr/share/keyrings/debian-archive-keyring.gpg), qemu-system-aarch64
# and/or qemu-system-x86_64, coreutils (timeout, od), util-linux (flock),
# find, sed, gzip; xz only if the kernel ships .ko.xz modules (bookworm's 6.1
# kernels do not; the 6.12 backports kernels do).

set -euo pipefail

# Modules needed by a container runtime that Debian builds as =m (namespaces
# and cgroup v2 controllers are built in). Dependencies (nf_nat, x_tables,
# llc, stp, ...) are resolved automatically.
DEFAULT_MODULES="overlay veth bridge br_netfilter
  iptable_nat iptable_filter xt_MASQUERADE xt_conntrack xt_addrtype
  nf_tables nft_chain_nat nft_masq nft_ct nft_compat"

die()  { echo "smoke: error: $*" >&2; exit 2; }
note() { echo "smoke: $*" >&2; }

# ---------------------------------------------------------------- arguments
[[ $# -ge 2 && $# -le 3 ]] || { sed -n '2,20p' "$0" >&2; exit 2; }
ARCH=$1
BINARY=$2
COMMANDS_FILE=${3:-}

case $ARCH in
  aarch64|arm64)
    ARCH=aarch64 DEB_ARCH=arm64 ELF_MACHINE=183
    # gic-version=max: KVM on GICv3-only arm64 hosts cannot do the default GICv2
    QEMU=qemu-system-aarch64 MACHINE=virt,gic-version=max CONSOLE=ttyAMA0 TCG_CPU=cortex-a57 ;;
  x86_64|amd64)
    ARCH=x86_64 DEB_ARCH=amd64 ELF_MACHINE=62
    QEMU=qemu-system-x86_64 MACHINE=pc CONSOLE=ttyS0 TCG_CPU=max ;;
  *) die "unknown ARCH '$ARCH' (use aarch64 or x86_64)" ;;
esac

[[ -f $BINARY ]] || die "BINARY '$BINARY' not found"
[[ -z $COMMANDS_FILE || -f $COMMANDS_FILE ]] || die "COMMANDS_FILE '$COMMANDS_FILE' not found"

# Catch "wrong target" early instead of getting ENOEXEC inside the guest:
# e_machine is the 16-bit little-endian field at offset 18 of the ELF header.
machine=$(od -An -tu2 -j18 -N2 "$BINARY" | tr -d ' ')
[[ $machine == "$ELF_MACHINE" ]] ||
  die "$BINARY is not an $ARCH ELF executable (e_machine=$machine, want $ELF_MACHINE)"
# The guest has no shared libraries: a dynamically linked binary would fail
# there with a confusing "not found". Checked only if binutils is installed.
if command -v readelf > /dev/null && readelf -l "$BINARY" | grep 'program interpreter' > /dev/null; then
  die "$BINARY is dynamically linked; build it static (e.g. *-linux-musl with linker rust-lld)"
fi

SMOKE_CACHE=${SMOKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mydocker-smoke}
SMOKE_FLAVOUR=${SMOKE_FLAVOUR:-cloud}
SMOKE_SUITE=${SMOKE_SUITE:-bookworm}
# host_apt_uri PATTERN - the first archive URI in the host's apt sources whose
# path matches PATTERN (deb822 "URIs:" lines and one-line "deb" entries alike).
host_apt_uri() {
  local f uris=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    uris+=$(sed -n -e 's/^URIs:[[:space:]]*//p' \
      -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' "$f")$'\n'
  done
  tr ' ' '\n' <<< "$uris" | grep -E -m1 "$1" || true
}
SMOKE_MIRROR=${SMOKE_MIRROR:-$(host_apt_uri '/debian/?$')}
SMOKE_SECURITY_MIRROR=${SMOKE_SECURITY_MIRROR:-$(host_apt_uri '/debian-security/?$')}
[[ -n $SMOKE_MIRROR && -n $SMOKE_SECURITY_MIRROR ]] ||
  { echo "smoke: error: set SMOKE_MIRROR and SMOKE_SECURITY_MIRROR (no Debian archive in the host's apt sources)" >&2; exit 2; }
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-180}
SMOKE_MEM=${SMOKE_MEM:-512}
SMOKE_SMP=${SMOKE_SMP:-2}
SMOKE_ACCEL=${SMOKE_ACCEL:-auto}
SMOKE_MODULES=${SMOKE_MODULES-$DEFAULT_MODULES}
if [[ -n ${SMOKE_DISK:-} ]]; then
  [[ -f $SMOKE_DISK ]] || die "SMOKE_DISK '$SMOKE_DISK' not found"
  SMOKE_MODULES+=" virtio_pci virtio_blk"
fi
SMOKE_ROOT=${SMOKE_ROOT:-rootfs}
SMOKE_CGROUP=${SMOKE_CGROUP:-v2}
SMOKE_DEBUG_SHELL=${SMOKE_DEBUG_SHELL:-0}

case $SMOKE_FLAVOUR in
  cloud)   KERNEL_META=linux-image-cloud-$DEB_ARCH ;;
  generic) KERNEL_META=linux-image-$DEB_ARCH ;;
  *) die "SMOKE_FLAVOUR must be 'cloud' or 'generic'" ;;
esac
case $SMOKE_ROOT in rootfs|tmpfs) ;; *) die "SMOKE_ROOT must be 'rootfs' or 'tmpfs'" ;; esac
case $SMOKE_CGROUP in v1|v1-nodevices|v2) ;; *) die "SMOKE_CGROUP must be 'v1', 'v1-nodevices' or 'v2'" ;; esac

command -v "$QEMU" >/dev/null || die "$QEMU not installed (apt-get install qemu-system-arm / qemu-system-x86)"
HOST_DEB_ARCH=$(dpkg --print-architecture)

# ------------------------------------------------------- package download
# apt runs with a private configuration (APT_CONFIG) and private state under
# $SMOKE_CACHE/apt: its own sources.list, package lists and cache, and none
# of the host's /etc/apt/apt.conf.d hooks. That lets us download packages of
# a foreign architecture without root and without `dpkg --add-architecture`.
# (Proxies: apt honours the usual http_proxy environment variable.)
APT_DIR=$SMOKE_CACHE/apt
APT_UPDATED=0
apt_run() { APT_CONFIG=$APT_DIR/apt.conf "$@"; }

apt_update() {
  [[ $APT_UPDATED == 1 ]] && return
  mkdir -p "$APT_DIR"/{lists/partial,cache/archives/partial,apt.conf.d,sources.list.d,preferences.d}
  touch "$APT_DIR/status"                   # an empty dpkg status: nothing "installed"
  cat > "$APT_DIR/apt.conf" <<EOF
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$APT_DIR/apt.conf.d";
Dir::Etc::SourceList "$APT_DIR/sources.list";
Dir::Etc::SourceParts "$APT_DIR/sources.list.d";
Dir::Etc::Preferences "$APT_DIR/preferences";
Dir::Etc::PreferencesParts "$APT_DIR/preferences.d";
Dir::State::Lists "$APT_DIR/lists";
Dir::State::status "$APT_DIR/status";
Dir::Cache "$APT_DIR/cache";
APT::Architecture "$HOST_DEB_ARCH";
APT::Architectures { "$HOST_DEB_ARCH"; "$DEB_ARCH"; };
APT::Sandbox::User "$(id -un)";
Acquire::Languages "none";
Debug::NoLocking "true";
EOF
  local opts="arch=$HOST_DEB_ARCH,$DEB_ARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg"
  cat > "$APT_DIR/sources.list" <<EOF
deb [$opts] $SMOKE_MIRROR $SMOKE_SUITE main
deb [$opts] $SMOKE_MIRROR $SMOKE_SUITE-updates main
deb [$opts] $SMOKE_MIRROR $SMOKE_SUITE-backports main
deb [$opts] $SMOKE_SECURITY_MIRROR $SMOKE_SUITE-security main
EOF
  note "updating private apt lists in $APT_DIR"
  apt_run apt-get -q update >&2 || die "apt-get update failed"
  APT_UPDATED=1
}

# fetch_deb PKG:ARCH DEST_DIR - download one package and unpack it into
# DEST_DIR. DEST_DIR/PACKAGE records name+version and marks it complete.
fetch_deb() {
  local pkg=$1 dest=$2
  [[ -f $dest/PACKAGE ]] && return
  apt_update
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && apt_run apt-get -q download "$pkg" >&2) || die "cannot download $pkg"
  rm -rf "$dest" && mkdir -p "$dest"
  dpkg-deb -x "$tmp"/*.deb "$dest"
  dpkg-deb -f "$tmp"/*.deb Package Version Architecture > "$dest/PACKAGE"
  rm -rf "$tmp"
  note "unpacked $(tr '\n' ' ' < "$dest/PACKAGE")-> $dest"
}

# The kernel: the flavour's metapackage (e.g. linux-image-cloud-arm64) only
# depends on the current ABI package (e.g. linux-image-6.1.0-56-cloud-arm64),
# which holds /boot/vmlinuz-*, /boot/config-* and /lib/modules. Resolve it
# once and remember the answer, so a warm cache needs no network.
mkdir -p "$SMOKE_CACHE"
exec 9> "$SMOKE_CACHE/.lock"      # serialise downloads between concurrent runs
flock 9
KERNEL_PKG=${SMOKE_KERNEL_PKG:-}
resolved=$SMOKE_CACHE/$KERNEL_META.resolved
if [[ -z $KERNEL_PKG && -f $resolved && ${SMOKE_REFRESH:-0} != 1 ]]; then
  KERNEL_PKG=$(cat "$resolved")
elif [[ -z $KERNEL_PKG ]]; then
  apt_update
  KERNEL_PKG=$(apt_run apt-cache show --no-all-versions "$KERNEL_META:$DEB_ARCH" |
               sed -n 's/^Depends: \([^ ,]*\).*/\1/p')
  [[ -n $KERNEL_PKG ]] || die "cannot resolve $KERNEL_META:$DEB_ARCH"
  echo "$KERNEL_PKG" > "$resolved"
fi

KERNEL_DIR=$SMOKE_CACHE/$KERNEL_PKG
BUSYBOX_DIR=$SMOKE_CACHE/busybox-static-$DEB_ARCH
HOST_BUSYBOX_DIR=$SMOKE_CACHE/busybox-static-$HOST_DEB_ARCH
fetch_deb "$KERNEL_PKG:$DEB_ARCH" "$KERNEL_DIR"
fetch_deb "busybox-static:$DEB_ARCH" "$BUSYBOX_DIR"
# A busybox for the *host* provides `cpio -o -H newc`, so GNU cpio is not needed.
fetch_deb "busybox-static:$HOST_DEB_ARCH" "$HOST_BUSYBOX_DIR"
HOST_BUSYBOX=$HOST_BUSYBOX_DIR/bin/busybox
flock -u 9

VMLINUZ=$(echo "$KERNEL_DIR"/boot/vmlinuz-*)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KERNEL_DIR/lib/modules/$KVER
[[ -f $VMLINUZ && -d $MODDIR ]] || die "unexpected layout in $KERNEL_DIR"

# ------------------------------------------------------------- initramfs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smoke-$ARCH.XXXXXX")
if [[ ${SMOKE_KEEP:-0} == 1 ]]; then note "keeping work dir $WORK"
else trap 'rm -rf "$WORK"' EXIT; fi
ROOT=$WORK/root
LOG=$WORK/console.log
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,smoke}
cp "$BUSYBOX_DIR/bin/busybox" "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"        # the rest of the applet links are made by /init
cp "$BINARY" "$ROOT/bin/mydocker" && chmod 0755 "$ROOT/bin/mydocker"
if [[ -n $COMMANDS_FILE ]]; then cp "$COMMANDS_FILE" "$ROOT/smoke/commands.sh"
else echo "mydocker" > "$ROOT/smoke/commands.sh"; fi
echo "root:x:0:0:root:/root:/bin/sh" > "$ROOT/etc/passwd"
echo "root:x:0:" > "$ROOT/etc/group"

# --- kernel modules: copy each requested module plus its dependencies.
# A module's dependencies are in its .modinfo section as "depends=a,b", a
# NUL-terminated string, so `tr '\0' '\n' | sed` reads them without kmod.
declare -A KO_PATH=() SEEN=()
while IFS= read -r ko; do
  name=${ko##*/}; name=${name%%.ko*}; KO_PATH[${name//-/_}]=$ko
done < <(find "$MODDIR/kernel" -name '*.ko' -o -name '*.ko.xz')

ko_cat() {                        # print a module file, decompressing .ko.xz
  case $1 in
    *.xz) command -v xz > /dev/null || die "xz is needed for ${1##*/}"; xz -dc "$1" ;;
    *)    cat "$1" ;;
  esac
}

LOAD_ORDER=()
add_module() {                     # depth-first: dependencies first
  local name=${1//-/_} ko dep
  [[ -n ${SEEN[$name]:-} ]] && return
  SEEN[$name]=1
  ko=${KO_PATH[$name]:-}
  if [[ -z $ko ]]; then
    # Built into this kernel flavour? Then there is nothing to load.
    grep -q "/$name\.ko$" <(tr - _ < "$MODDIR/modules.builtin") && return
    die "kernel module '$name' not found in $KERNEL_PKG"
  fi
  for dep in $(ko_cat "$ko" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr , ' '); do
    add_module "$dep"
  done
  local rel=${ko#"$KERNEL_DIR"/}; rel=${rel%.xz}      # e.g. lib/modules/<kver>/kernel/fs/overlayfs/overlay.ko
  mkdir -p "$ROOT/${rel%/*}"
  ko_cat "$ko" > "$ROOT/$rel"                          # busybox insmod wants plain .ko
  LOAD_ORDER+=("/$rel")
}
for m in $SMOKE_MODULES; do add_module "$m"; done
mkdir -p "$ROOT/lib/modules/$KVER" && cp "$MODDIR/modules.builtin" "$ROOT/lib/modules/$KVER/"

# Settings for /init, computed on the host.
{
  echo "SMOKE_ROOT=$SMOKE_ROOT"
  echo "SMOKE_CGROUP=$SMOKE_CGROUP"
  echo "SMOKE_DEBUG_SHELL=$SMOKE_DEBUG_SHELL"
  echo "SMOKE_PHASE=${SMOKE_PHASE:-}"
  echo "SMOKE_LOAD_ORDER='${LOAD_ORDER[*]}'"
} > "$ROOT/smoke/config"

# --- /init: PID 1 in the guest. Written with a quoted heredoc, so nothing
# in it is expanded on the host.
cat > "$ROOT/init" <<'EOF'
#!/bin/sh
# PID 1 of the smoke-test guest (generated by smoke.sh).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=vt100
/bin/busybox --install -s          # create /bin/mount, /sbin/poweroff, ...
. /smoke/config

# SMOKE_ROOT=tmpfs: the initramfs "rootfs" can never be pivot_root'ed away,
# so copy everything into a real tmpfs mount and restart /init from there.
if [ "$SMOKE_ROOT" = tmpfs ] && [ ! -e /smoke/on-tmpfs ]; then
    mkdir /newroot
    mount -t tmpfs -o mode=0755 tmpfs /newroot
    for entry in /*; do [ "$entry" = /newroot ] || cp -a "$entry" /newroot/; done
    touch /newroot/smoke/on-tmpfs
    exec switch_root /newroot /init
fi

# Standard mounts. Debian kernels have CONFIG_DEVTMPFS_MOUNT off, so /dev
# must be mounted by hand.
mount -t proc     proc     /proc
mount -t sysfs    sysfs    /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts   -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs    -o mode=1777 tmpfs /dev/shm
mount -t tmpfs    tmpfs    /tmp
mount -t tmpfs    tmpfs    /run
if [ "$SMOKE_CGROUP" != v2 ]; then
    # cgroup v1 the old way: one hierarchy per controller on a tmpfs.
    mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
    devices=devices
    [ "$SMOKE_CGROUP" = v1-nodevices ] && devices=
    for c in cpu cpuacct cpuset memory pids $devices freezer blkio; do
        mkdir -p /sys/fs/cgroup/$c
        mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c || echo "smoke: WARNING: no v1 $c"
    done
else
    mount -t cgroup2  cgroup2  /sys/fs/cgroup    # cgroup v2 only, no v1 hierarchies
fi
hostname smoke
ip link set lo up

echo "SMOKE_BOOTED kernel=$(uname -r) arch=$(uname -m) uptime=$(cut -d' ' -f1 /proc/uptime)s root=$SMOKE_ROOT cgroup=$SMOKE_CGROUP"
[ "$SMOKE_CGROUP" = v2 ] && echo "smoke: cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

# Kernel modules, in dependency order (computed on the host). depmod makes
# `modprobe NAME` and the kernel's own auto-loading (/sbin/modprobe) work
# for these modules too.
for ko in $SMOKE_LOAD_ORDER; do
    insmod "$ko" || echo "smoke: WARNING: insmod $ko failed"
done
depmod 2>/dev/null
echo "smoke: modules loaded: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"

# The test itself: -e stops at the first failing command, -x traces each one.
echo "smoke: ---- running /smoke/commands.sh ----"
cd /root
SMOKE_PHASE=$SMOKE_PHASE sh -ex /smoke/commands.sh
rc=$?
echo "smoke: ---- commands exited with status $rc ----"
if [ $rc -eq 0 ]; then result=PASS; else result=FAIL; fi
echo "SMOKE_RESULT=$result"

if [ "$SMOKE_DEBUG_SHELL" = 1 ]; then
    echo "smoke: debug shell; exit it to power off"
    setsid cttyhack sh -l
fi
poweroff -f
# Should poweroff ever fail, PID 1 exiting panics the kernel; with panic=-1
# and QEMU's -no-reboot that still ends the VM.
EOF
chmod 0755 "$ROOT/init"

# An image archive for `mydocker load`: made once per arch, busybox version
# and mkoci.sh, then reused from the cache.
if [[ ${SMOKE_IMAGE:-} == oci ]]; then
  mkoci=$(dirname "$0")/../tests/fixtures/mkoci.sh
  key=$(cat "$mkoci" "$BUSYBOX_DIR/PACKAGE" | cksum | cut -d' ' -f1)
  img=$SMOKE_CACHE/smoke-oci-$DEB_ARCH-$key.tar
  if [[ ! -f $img ]]; then
    flock 9
    "$mkoci" "$img.tmp" "$ARCH" "$BUSYBOX_DIR/bin/busybox" || die "cannot make the OCI image (mkoci.sh)"
    mv "$img.tmp" "$img"
    flock -u 9
  fi
  cp "$img" "$ROOT/img.tar"
elif [[ -n ${SMOKE_IMAGE:-} ]]; then
  [[ -f $SMOKE_IMAGE ]] || die "SMOKE_IMAGE '$SMOKE_IMAGE' not found"
  cp "$SMOKE_IMAGE" "$ROOT/img.tar"
fi

if [[ -n ${SMOKE_EXTRA_DIR:-} ]]; then
  [[ -d $SMOKE_EXTRA_DIR ]] || die "SMOKE_EXTRA_DIR '$SMOKE_EXTRA_DIR' is not a directory"
  cp -a "$SMOKE_EXTRA_DIR"/. "$ROOT"/
fi

# newc cpio, every file owned by root:root (-R 0:0) even when we are not
# root. No device nodes are needed: the kernel's built-in initramfs already
# provides /dev/console, and /init mounts devtmpfs.
INITRAMFS=$WORK/initramfs.cpio.gz
(cd "$ROOT" && find . | LC_ALL=C sort | "$HOST_BUSYBOX" cpio -o -H newc -R 0:0 2>/dev/null) |
  gzip -6 > "$INITRAMFS"
note "initramfs $(du -h "$INITRAMFS" | cut -f1) ($KERNEL_PKG $KVER, busybox $(sed -n 's/^Version: //p' "$BUSYBOX_DIR/PACKAGE"))"

# ----------------------------------------------------------------- boot
# KVM only helps when guest arch == host arch and the CPU really offers
# hardware virtualisation (vmx/svm on x86). /dev/kvm alone is not enough:
# nested setups such as kvm_pvm expose /dev/kvm but cannot run a stock
# kernel (QEMU aborts on an MSR write or hangs in the BIOS).
pick_accel() {
  [[ $SMOKE_ACCEL != auto ]] && { echo "$SMOKE_ACCEL"; return; }
  local host_arch; host_arch=$(uname -m)
  if [[ $host_arch == "$ARCH" && -r /dev/kvm && -w /dev/kvm ]]; then
    if [[ $ARCH != x86_64 ]] || grep -qwE 'vmx|svm' /proc/cpuinfo; then echo kvm; return; fi
  fi
  echo tcg
}
ACCEL=$(pick_accel)
if [[ $ACCEL == kvm ]]; then CPU=${SMOKE_CPU:-host}; else CPU=${SMOKE_CPU:-$TCG_CPU}; fi

QEMU_ARGS=(
  -M "$MACHINE" -accel "$ACCEL" -cpu "$CPU" -smp "$SMOKE_SMP" -m "$SMOKE_MEM"
  -nodefaults -no-user-config -display none -no-reboot
  -kernel "$VMLINUZ" -initrd "$INITRAMFS"
  -append "console=$CONSOLE rdinit=/init panic=-1 quiet ${SMOKE_APPEND:-}"
)
if [[ -n ${SMOKE_DISK:-} ]]; then
  QEMU_ARGS+=(-drive "file=$SMOKE_DISK,format=raw,if=none,id=disk0" -device "virtio-blk-pci,drive=disk0")
fi

note "booting $KVER on $QEMU ($ACCEL, -cpu $CPU, ${SMOKE_MEM}M, timeout ${SMOKE_TIMEOUT}s)"
start=$SECONDS
qemu_rc=0
if [[ $SMOKE_DEBUG_SHELL == 1 ]]; then
  # Interactive: serial console on the terminal (Ctrl-A X quits QEMU).
  "$QEMU" "${QEMU_ARGS[@]}" -chardev "stdio,id=con,mux=on,logfile=$LOG" \
          -serial chardev:con -mon chardev=con || qemu_rc=$?
else
  # CI: the console goes to stdout and to $LOG; stdin is /dev/null so QEMU
  # never touches a terminal; `timeout` bounds the whole run.
  timeout --kill-after=10 "$SMOKE_TIMEOUT" \
    "$QEMU" "${QEMU_ARGS[@]}" -chardev "stdio,id=con,signal=off,logfile=$LOG" \
            -serial chardev:con -monitor none < /dev/null || qemu_rc=$?
fi
elapsed=$((SECONDS - start))
[[ -n ${SMOKE_LOG:-} ]] && cp "$LOG" "$SMOKE_LOG"

# --------------------------------------------------------------- verdict
# Markers are matched as whole lines; the serial console adds \r. (grep
# without -q reads all input, so pipefail never sees a SIGPIPE'd tr.)
has_line() { tr -d '\r' < "$LOG" | grep -x "$1" > /dev/null; }
if has_line 'SMOKE_RESULT=PASS'; then
  note "PASS ($ARCH, ${elapsed}s)"
  exit 0
elif has_line 'SMOKE_RESULT=FAIL'; then
  note "FAIL: guest commands failed ($ARCH, ${elapsed}s)"
elif [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
  note "FAIL: timed out after ${SMOKE_TIMEOUT}s without a result marker"
elif ! tr -d '\r' < "$LOG" | grep '^SMOKE_BOOTED' > /dev/null; then
  note "FAIL: guest never reached /init (qemu exit $qemu_rc): QEMU error, early kernel panic or bad initramfs - see output above"
else
  note "FAIL: guest stopped without a result marker (qemu exit $qemu_rc) - crash or panic?"
fi
exit 1

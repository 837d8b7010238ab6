# shellcheck shell=sh
# Guest-side smoke test (busybox sh -ex, as root, in the QEMU guest).
# The guest has no tar of mydocker's, no ip, no iptables: everything below
# is mydocker itself plus busybox. Builds the image from the guest's own
# busybox, then walks the demo and the book's chapter 5: run -d top, ps,
# logs, exec, stop, start, restart, commit, rm; exit statuses; limits;
# then issue 9's confinement core (caps, seccomp, mount refused, masked and
# read-only paths, devices) and what --privileged lifts.
#
# busybox sh -e does not stop at a failing `! cmd`: negated checks are
# written `must_fail cmd` (or `if cmd; then fail ...; fi`).

fail() { echo "smoke: FAIL: $*"; exit 1; }
must_fail() { if "$@"; then fail "should have failed: $*"; fi; }
# status: "CapPrm CapEff CapBnd NoNewPrivs Seccomp" of the /proc/PID/status on stdin
status() { awk '$1 ~ /^(CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):$/ { printf "%s%s", s, $2; s = " " }'; }

mydocker version
mydocker info
mkdir -p /img/bin /img/etc /img/root /img/tmp
cp /bin/busybox /img/bin/busybox
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "/img/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > /img/etc/passwd
mkdir -p /img/www && echo "hello from a published port" > /img/www/index.html
(cd /img && tar -cf /tmp/busybox.tar .)
mydocker import /tmp/busybox.tar busybox
mydocker images

# ---- issue 10: a real image. /img.tar (smoke.sh SMOKE_IMAGE=oci) is an
# oci-archive with gzip layers made on the host by tests/fixtures/mkoci.sh:
# localhost/smoke:latest, a busybox base layer plus a layer that whites out
# /etc/gone and adds /etc/layer2; Entrypoint sh -c 'echo "$MSG" "$@" in
# $(pwd)', Cmd "from cmd", Env MSG=hello, WorkingDir /srv/app (in no layer).
if [ ! -f /img.tar ]; then
    echo "smoke: SKIP image checks: no /img.tar (SMOKE_IMAGE unset)"
elif ! mydocker --help | grep -q '^  load '; then
    echo "smoke: SKIP image checks: this mydocker has no load command"
else
    t0=$(cut -d' ' -f1 /proc/uptime)
    mydocker load -i /img.tar > /tmp/load.out
    t1=$(cut -d' ' -f1 /proc/uptime)
    cat /tmp/load.out
    grep -qx 'Loaded image: localhost/smoke:latest' /tmp/load.out
    [ "$(mydocker run --rm smoke)" = "hello from cmd in /srv/app" ]
    [ "$(mydocker run --rm localhost/smoke:latest to you)" = "hello to you in /srv/app" ]
    mydocker run --rm --entrypoint ls smoke -a /etc > /tmp/etc.ls
    grep -qx keep /tmp/etc.ls
    grep -qx layer2 /tmp/etc.ls
    if grep -x gone /tmp/etc.ls; then fail "the whited-out /etc/gone is visible"; fi
    if grep '^\.wh\.' /tmp/etc.ls; then fail "a whiteout file is visible"; fi
    [ "$(mydocker run --rm --entrypoint cat smoke /etc/layer2 /etc/keep)" = "layer2
keep" ]
    mydocker images | grep -Eq '^localhost/smoke +latest +[0-9a-f]{12} '
    mydocker rmi smoke
    if mydocker images | grep '^localhost/smoke '; then fail "rmi left the image listed"; fi
    echo "smoke: image load took $(awk -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.2f", t1 - t0 }')s, load+run checks $(awk -v t0="$t0" '{ printf "%.2f", $1 - t0 }' /proc/uptime)s"
fi

# ---- issue 9: confinement (docker's defaults), busybox tools only ----
mydocker info > /tmp/info
grep -q "^Security: capabilities (docker's 14), seccomp" /tmp/info
grep -q '^Cgroup namespace: yes$' /tmp/info
# docker's 14 capabilities; without any devices cgroup CAP_MKNOD (bit 27)
# is dropped too: a80425fb & ~0x08000000.
case $(grep '^Devices: ' /tmp/info) in
  *"Devices: none: CAP_MKNOD dropped"*) nodevcg=1 caps=00000000a00425fb ;;
  *"Devices: cgroup v1 devices"* | *"Devices: cgroup v2 BPF"*) nodevcg=0 caps=00000000a80425fb ;;
  *) fail "no Devices line in mydocker info" ;;
esac
[ "$(mydocker run --rm busybox cat /proc/self/status | status)" = "$caps $caps $caps 0 2" ]
[ "$(mydocker run --rm --security-opt no-new-privileges busybox cat /proc/self/status | status)" = "$caps $caps $caps 1 2" ]
# seccomp refuses what the capabilities would allow: adjtimex(2) that
# only reads (busybox adjtimex without options; modes 0 needs no
# capability) and syslog(2) once the host lets anyone read the log. Both
# work on the host, in a --privileged container, and with seccomp=unconfined.
sysctl -w kernel.dmesg_restrict=0
adjtimex > /dev/null
dmesg > /dev/null
must_fail mydocker run --rm busybox adjtimex
must_fail mydocker run --rm busybox dmesg
mydocker run --rm busybox adjtimex 2>&1 | grep -q 'Operation not permitted'
# a user namespace needs no capability: refused inside (by seccomp; in an
# initramfs guest by the chroot too, see the --privileged part below)
must_fail mydocker run --rm busybox unshare -U true
st=$(mydocker run --rm --security-opt seccomp=unconfined busybox sh -c 'adjtimex > /dev/null && dmesg > /dev/null && cat /proc/self/status' | status)
[ "$st" = "$caps $caps $caps 0 0" ]
# mount: refused (no CAP_SYS_ADMIN, and seccomp), even without seccomp
must_fail mydocker run --rm busybox mount -t tmpfs t /tmp
must_fail mydocker run --rm --security-opt seccomp=unconfined busybox mount -t tmpfs t /tmp
# masked paths read as empty; /proc/sys and /sys are read-only (touch as
# root gets the kernel's EROFS: `test -w` says yes to root regardless)
[ "$(wc -c < /proc/timer_list)" -gt 0 ]
[ -e /proc/keys ]
[ "$(mydocker run --rm busybox sh -c 'wc -c < /proc/timer_list')" = 0 ]
[ "$(mydocker run --rm busybox sh -c 'cat /proc/keys | wc -c')" = 0 ]
# both are mydocker's own /dev/null (c 1:3) bind-mounted
[ "$(mydocker run --rm busybox stat -c '%F %t:%T' /proc/timer_list /proc/keys | uniq)" = "character special file 1:3" ]
for d in /proc/acpi /proc/scsi /sys/firmware; do
    [ -d $d ] || continue
    out=$(mydocker run --rm busybox ls -A $d)
    [ -z "$out" ]
done
mydocker run --rm busybox touch /proc/sys/kernel/core_pattern 2>&1 | grep -q 'Read-only file system'
mydocker run --rm busybox touch /sys/kernel/uevent_seqnum 2>&1 | grep -q 'Read-only file system'
# the cgroup namespace: the container's own cgroups are its roots, and
# /sys/fs/cgroup shows them, read-only. (--pids-limit: a cgroup of its own
# for sure; v1 without a devices hierarchy gives a plain container none,
# and then no cgroupfs at all.)
[ "$(mydocker run --rm --pids-limit 42 busybox sh -c 'cat /sys/fs/cgroup/pids.max 2> /dev/null || cat /sys/fs/cgroup/pids/pids.max')" = 42 ]
cg=$(mydocker run --rm --pids-limit 42 busybox cat /proc/self/cgroup)
[ -n "$cg" ]
if echo "$cg" | grep -v ':/$'; then fail "cgroup paths outside the namespace"; fi
mydocker run --rm --pids-limit 42 busybox mkdir /sys/fs/cgroup/x 2>&1 | grep -q 'Read-only file system'
# devices: /dev/mem (c 1:1) stays closed; the usual nodes work
must_fail mydocker run --rm busybox sh -c 'mknod /tmp/m c 1 1 && head -c1 /tmp/m'
if [ $nodevcg = 1 ]; then
    must_fail mydocker run --rm busybox mknod /tmp/m c 1 1
else
    # mknod is allowed (docker's "c *:* m"), opening is not
    mydocker run --rm busybox sh -c 'mknod /tmp/m c 1 1; head -c1 /tmp/m' 2>&1 | grep -q 'Operation not permitted'
fi
[ "$(mydocker run --rm busybox sh -c 'echo x > /dev/null; head -c 4 /dev/zero | wc -c')" = 4 ]
[ "$(mydocker run --rm --device /dev/zero:/dev/z busybox sh -c 'head -c 4 /dev/z | wc -c')" = 4 ]
# a node outside the default list (kmsg, c 1:11): closed, open with --device
# (on v2 that one container's program replaces the default one), and open
# when privileged (which must not inherit the default program either)
must_fail mydocker run --rm busybox sh -c 'mknod /tmp/k c 1 11 && : > /tmp/k'
mydocker run --rm --device /dev/kmsg busybox sh -c ': > /dev/kmsg'
mydocker run --rm busybox sh -c 'echo x > /dev/null'
mydocker run --rm --privileged busybox sh -c 'mknod /tmp/k c 1 11 && : > /tmp/k'
# --privileged lifts all of it (never read the c 1:1 node there!)
full=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
st=$(mydocker run --rm --privileged busybox sh -c 'adjtimex > /dev/null && dmesg > /dev/null && cat /proc/self/status' | status)
[ "$st" = "$full $full $full 0 0" ]
mydocker run --rm --privileged busybox sh -c 'mount -t tmpfs t /tmp && grep -q "^t /tmp tmpfs" /proc/mounts'
[ "$(mydocker run --rm --privileged busybox sh -c 'wc -c < /proc/timer_list')" -gt 0 ]
mydocker run --rm --privileged busybox touch /proc/sys/kernel/core_pattern
# a user namespace: with pivot_root; after MS_MOVE + chroot (initramfs
# rootfs) the kernel refuses it to a chrooted caller, privileged or not
unshare -U true
if grep -q '^pivot_root: yes' /tmp/info; then mydocker run --rm --privileged busybox unshare -U true; fi
sysctl -w kernel.dmesg_restrict=1

# -d: the CLI returns, the container keeps running.
id=$(mydocker run -d --name top busybox top -b)
[ ${#id} = 64 ]
sleep 3
mydocker ps
mydocker ps | grep -q 'Up .* top$'
pid=$(sed -n 's/^pid=//p' "/var/lib/mydocker/containers/$id/config" | tail -n 1)
[ -d "/proc/$pid" ]
mydocker logs top | grep -q 'Mem:'

# run --rm returns the program's status; a signal death is 128+N.
rc=0; mydocker run --rm busybox sh -c 'exit 7' || rc=$?
[ $rc = 7 ]
rc=0; mydocker run --rm --init busybox sh -c 'kill -TERM $$' || rc=$?
[ $rc = 143 ]
rc=0; mydocker run --rm busybox no-such-cmd || rc=$?
[ $rc = 127 ]
# a --rm container lives on the run-time tmpfs, and is gone after
rid=$(mydocker run -d --rm busybox sleep 2)
[ -f "/run/mydocker/containers/$rid/config" ]
[ "$(stat -f -c %T /run/mydocker)" = tmpfs ]
sleep 3
[ ! -e "/run/mydocker/containers/$rid" ]
# the rootfs is really the image, the hostname the short id
mydocker run --rm -h smokebox busybox sh -c 'hostname; test -e /bin/mydocker && exit 1; cat /etc/passwd'

# -m is enforced: the hog is OOM-killed.
rc=0; mydocker run --rm -m 32m busybox dd if=/dev/zero of=/dev/null bs=100M count=1 || rc=$?
[ $rc = 137 ]
# pids limit and cpuset
mydocker run --rm --pids-limit 10 --cpuset-cpus 0 busybox grep Cpus_allowed_list /proc/self/status | grep -q '0$'

# chapter 5: exec, stop, start (write layer kept), restart, commit, rm
[ "$(mydocker exec top cat /proc/1/comm)" = top ]
mydocker exec top sh -c 'echo written > /kept'
rc=0; mydocker exec top sh -c 'exit 9' || rc=$?
[ $rc = 9 ]
mydocker stop top
mydocker ps -a | grep -q 'Exited'
rc=0; mydocker exec top true || rc=$?
[ $rc = 125 ]
mydocker start top
sleep 1
mydocker ps | grep -q 'Up .* top$'
[ "$(mydocker exec top cat /kept)" = written ]
mydocker restart -t 1 top
[ "$(mydocker exec top cat /kept)" = written ]
mydocker commit top snap
[ "$(mydocker run --rm snap cat /kept)" = written ]
mydocker inspect top | grep -q '"Running":true'
mydocker rm -f top
mydocker rmi snap
# chapter 6 without ip/iptables/nft: bridge network, IPAM, NAT over
# netlink, a published port reached from the guest itself.
if command -v iptables; then fail "iptables found: this test wants the netlink NAT path"; fi
mydocker network create --subnet 172.31.0.0/24 n
mydocker network ls | grep -q '172.31.0.0/24'
mydocker run -d --name web -p 8080:80 --network n busybox httpd -f -p 80 -h /www
sleep 1
wget -qO- http://127.0.0.1:8080/ | grep -q 'hello from a published port'
mydocker ps | grep -q '0.0.0.0:8080->80/tcp'
mydocker run --rm --network n busybox ping -c 1 -W 3 172.31.0.2
mydocker run --rm --network n busybox wget -qO- http://172.31.0.2/ | grep -q published
rc=0; mydocker network rm n || rc=$?
[ $rc != 0 ]
mydocker rm -f web
mydocker network rm n
# no bridge or veth left: an unmatched glob stays literal and does not exist
for n in /sys/class/net/br-* /sys/class/net/ve*; do [ ! -e "$n" ]; done
# ---- issue 11: the OCI runtime (runc's command line, under the name
# runc), one create/start/state/kill/delete cycle from a bundle whose
# config.json `mydocker runc spec` wrote; its root is the image directory.
mkdir -p /oci
mydocker runc spec --bundle /oci
sed -i -e 's|"path": "rootfs"|"path": "/img"|' -e 's|"args": \["sh"\]|"args": ["sh", "-c", "echo from-oci; exec sleep 30"]|' /oci/config.json
ln -sf "$(command -v mydocker)" /tmp/runc
rt() { /tmp/runc --root /run/oci "$@"; }
rt create --bundle /oci --pid-file /tmp/oci.pid c1 > /tmp/oci.out
rt state c1 | grep -q '"status":"created"'
[ ! -s /tmp/oci.out ]
rt start c1
sleep 1
grep -qx from-oci /tmp/oci.out
rt state c1 | grep -q "\"pid\":$(cat /tmp/oci.pid),\"status\":\"running\""
rt kill c1 KILL
sleep 1
rt state c1 | grep -q '"status":"stopped"'
rt delete c1
must_fail rt state c1
[ -z "$(ls /run/oci/containers)" ]
echo "smoke: OCI runtime cycle passed"

[ -z "$(mydocker ps -aq)" ]
[ -z "$(ls /var/lib/mydocker/containers)" ]
if grep mydocker /proc/self/mountinfo; then fail "mounts left behind"; fi
echo "smoke: all mydocker checks passed"

# shellcheck shell=sh
# Guest-side reboot test (busybox sh -ex, as root), run by smoke-reboot.sh in
# two boots of one guest that share a persistent disk (/dev/vda, ext4): a
# board's flash. The state root lives on it; the run-time tmpfs
# (<root>/run) does not survive the reboot, and nothing of mydocker runs
# after it. Phase "one" starts a detached container that writes to a volume
# and powers off hard (no stop: a power cut). Phase "two" finds the
# container's record, not taken for running (the pid recorded before the
# reboot may belong to anything now), starts it again with its data, and
# cleans up. (Issue 12's boot line, `start --all --filter
# restart-policy=...`, goes here once restart policies exist.)

fail() { echo "smoke: FAIL: $*"; exit 1; }
must_fail() { if "$@"; then fail "should have failed: $*"; fi; }

mkdir -p /data
mount -t ext4 /dev/vda /data
R=/data/mydocker
case $SMOKE_PHASE in
one)
    mkdir -p /img/bin /img/etc /img/root /img/tmp
    cp /bin/busybox /img/bin/busybox
    for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "/img/bin/$a"; done
    (cd /img && tar -cf /tmp/busybox.tar .)
    mydocker --root $R import /tmp/busybox.tar busybox
    mkdir -p /data/vol
    # A service: counts its starts in the volume, then serves forever.
    mydocker --root $R run -d --name svc -v /data/vol:/vol busybox \
        sh -c 'echo start >> /vol/starts; echo written-before > /root/mark; exec sleep 1000'
    i=0
    until [ -s /data/vol/starts ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "svc never started"; sleep 0.1; done
    mydocker --root $R ps | grep -q ' svc$'
    mydocker --root $R exec svc cat /root/mark | grep -qx written-before
    # The pid recorded now: after the reboot something else may have it.
    mydocker --root $R inspect svc | grep -o '"Pid": *[0-9]*' > /data/pid.before
    # (no stop and no umount: the container still runs when the power goes)
    sync
    echo "smoke: phase one done: svc running, power cut next"
    ;;
two)
    [ "$(cat /data/vol/starts)" = start ] || fail "the volume lost its data"
    # Nothing of mydocker runs, and the run-time tmpfs is empty: the record
    # must not be taken for a running container.
    must_fail mydocker --root $R exec svc true
    mydocker --root $R ps -a > /tmp/ps
    cat /tmp/ps
    grep ' svc$' /tmp/ps > /tmp/svc
    if grep -q ' Up ' /tmp/svc; then fail "a container from before the reboot is shown running"; fi
    if mydocker --root $R ps | grep -q ' svc$'; then fail "ps lists svc as running after the reboot"; fi
    mydocker --root $R start svc
    i=0
    until [ "$(wc -l < /data/vol/starts)" -ge 2 ]; do i=$((i + 1)); [ $i -lt 100 ] || fail "svc did not start again"; sleep 0.1; done
    mydocker --root $R ps | grep -q ' svc$'
    # Its write layer survived the reboot too.
    mydocker --root $R exec svc cat /root/mark | grep -qx written-before
    mydocker --root $R stop -t 1 svc
    mydocker --root $R rm svc
    mydocker --root $R rmi busybox
    umount /data
    echo "smoke: phase two done: the record read back, started again with its data"
    ;;
*) fail "SMOKE_PHASE must be one or two" ;;
esac

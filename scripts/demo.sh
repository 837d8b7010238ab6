#!/bin/sh
# The main job: build the static binary and a busybox image, then walk a
# detached container through run -d, ps, logs, stop and rm. As root.
# State goes to a throwaway root (MYDOCKER_ROOT) unless one is given.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh x86_64
./scripts/mkimage-busybox.sh out/busybox.tar
if [ -z "${MYDOCKER_ROOT:-}" ]; then
    # A throwaway root, removed at the end with the run-time tmpfs that
    # mydocker mounts in it (<root>/run: the names index, --rm containers).
    MYDOCKER_ROOT=$(mktemp -d /tmp/mydocker-demo.XXXXXX)
    trap 'umount "$MYDOCKER_ROOT/run" 2>/dev/null; rm -rf "$MYDOCKER_ROOT"' EXIT
fi
export MYDOCKER_ROOT
md() { echo "+ mydocker $*" >&2; out/mydocker-x86_64 "$@"; }
md import out/busybox.tar busybox
md images
id=$(md run -d --name demo -m 64m busybox top -b -d 1)
echo "$id"
sleep 2
md ps
md logs -n 4 demo
md stop demo
md ps -a
md rm demo
md rmi busybox
echo "demo: done"

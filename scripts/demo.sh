#!/bin/sh
# The main job: build the static binary and a busybox image, then walk a
# detached container through run -d, ps, logs, stop and rm. As root.
# State goes to a throwaway root (MYDOCKER_ROOT) unless one is given.
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh x86_64
./scripts/mkimage-busybox.sh out/busybox.tar
export MYDOCKER_ROOT="${MYDOCKER_ROOT:-$(mktemp -d /tmp/mydocker-demo.XXXXXX)}"
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
rm -rf "$MYDOCKER_ROOT"
echo "demo: done"

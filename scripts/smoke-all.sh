#!/bin/sh
# The QEMU smoke matrix: both arches x both root modes on cgroup v2, and per
# arch a cgroup v1 guest and one without a devices hierarchy (mydocker's
# devices fallback: CAP_MKNOD dropped, root nodev). Builds the binaries first.
# Each guest also loads and runs a two-layer gzip OCI archive made on the
# host by tests/fixtures/mkoci.sh (SMOKE_IMAGE=oci: needs root, buildah, podman).
# Then per arch a reboot: one guest booted twice with a persistent disk
# (scripts/smoke-reboot.sh).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f out/mydocker-x86_64 ] || [ ! -f out/mydocker-aarch64 ]; then
    ./scripts/build.sh
fi
image=oci
if [ "$(id -u)" != 0 ] || ! command -v buildah > /dev/null || ! command -v podman > /dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "smoke: FAILED: CI needs root, buildah and podman for the guests' image checks" >&2
        exit 1
    fi
    echo "smoke: WARNING: no OCI image without root, buildah and podman: the guests skip the load checks"
    image=
fi
run() {
    echo "== smoke: $1 root=$2 cgroup=$3"
    SMOKE_IMAGE=$image SMOKE_ROOT=$2 SMOKE_CGROUP=$3 ./scripts/smoke.sh "$1" "out/mydocker-$1" scripts/smoke-commands.sh > "out/smoke-$1-$2-$3.log" 2>&1 ||
        { tail -n 60 "out/smoke-$1-$2-$3.log"; echo "smoke: FAILED $1 $2 $3"; exit 1; }
    grep -E '^smoke: (PASS|all mydocker|image|SKIP)|SMOKE_BOOTED' "out/smoke-$1-$2-$3.log" | tr -d '\r'
}
for arch in x86_64 aarch64; do
    run "$arch" rootfs v2
    run "$arch" tmpfs v2
    run "$arch" rootfs v1
    run "$arch" tmpfs v1-nodevices
    ./scripts/smoke-reboot.sh "$arch"
done
echo "smoke: 10 passed, 0 failed"

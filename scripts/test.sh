#!/bin/sh
# Every test: the lint gates (scripts/lint.sh), unit tests, the size check,
# integration tests as root with the real static binary on a busybox image
# (the runc-compatible OCI runtime mode's among them, alone and under podman
# and containerd),
# and the QEMU smoke tests (both arches, both root modes, cgroup v2 and v1).
#   SKIP_SMOKE=1 scripts/test.sh   skips the QEMU part (quick local runs)
set -eu
cd "$(dirname "$0")/.."
echo "== lint"
./scripts/lint.sh
echo "== unit tests"
cargo test --locked --bins
echo "== size check"
./scripts/size-check.sh
echo "== busybox image"
./scripts/mkimage-busybox.sh out/busybox.tar
echo "== integration tests (root, real binary)"
cargo build --quiet --locked --release --example udp_echo --example probe --target x86_64-unknown-linux-musl
MYDOCKER_UDP_ECHO=$PWD/target/x86_64-unknown-linux-musl/release/examples/udp_echo \
MYDOCKER_PROBE=$PWD/target/x86_64-unknown-linux-musl/release/examples/probe \
MYDOCKER_BIN=$PWD/out/mydocker-x86_64 MYDOCKER_TEST_TAR=$PWD/out/busybox.tar \
    cargo test --locked --test run --test image --test images --test imagecli --test lifecycle --test network --test faults --test memory --test confine --test runc --test engines -- --test-threads=1
if [ "${SKIP_SMOKE:-0}" != 1 ]; then
    echo "== QEMU smoke tests"
    ./scripts/smoke-all.sh
fi

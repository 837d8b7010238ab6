#!/bin/sh
# Install everything mydocker's build, tests, smoke tests and benchmarks need
# on a fresh Debian 12 machine (as root). Idempotent: safe to run again.
#   - rustup targets for the two static musl builds
#   - busybox-static: the demo/test image is made from it
#   - QEMU (from bookworm-backports, matching the qemu-utils these machines
#     carry) for the full-system smoke tests
#   - crun, runc, bubblewrap, hyperfine: the latency anchors of scripts/bench.sh
#   - iproute2/iptables: only used by tests to build "other hosts"
#   - python3: a unit test, integration tests and the benchmark reports use it
#   - shellcheck, and the rustfmt/clippy components: scripts/lint.sh
#   - strace: scripts/scale.sh counts a `run` CLI's syscalls with it
#   - podman, buildah, skopeo, libcap2-bin (setcap): tests/fixtures/mkimages.sh
#     builds the image fixtures of tests/images.rs and podman's reference view
#   - containerd (with ctr and containerd-shim-runc-v2), podman, conmon, runc:
#     tests/engines.rs runs mydocker as their OCI runtime; `script`
#     (bsdutils) drives podman's -it
set -eu
export DEBIAN_FRONTEND=noninteractive

# bookworm-backports, with the archive URI this machine already uses.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    uri=$(sed -n -e 's/^URIs:[[:space:]]*//p' \
        -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
        tr ' ' '\n' | grep -E -m1 '/debian/?$' || true)
    [ -n "$uri" ] || uri=http://deb.debian.org/debian
    echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/mydocker-backports.list
fi
apt-get update -q
apt-get install -y -q --no-install-recommends \
    busybox-static file binutils hyperfine crun runc bubblewrap iproute2 iptables nftables wrk \
    procps util-linux cpio gzip xz-utils ca-certificates python3 shellcheck strace \
    podman buildah skopeo libcap2-bin containerd conmon bsdutils e2fsprogs
apt-get install -y -q --no-install-recommends -t bookworm-backports \
    qemu-system-x86 qemu-system-arm
rustup target add x86_64-unknown-linux-musl aarch64-unknown-linux-musl
rustup component add rustfmt clippy

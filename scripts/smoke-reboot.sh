#!/bin/sh
# A reboot on a board, in QEMU: boots one guest twice with one persistent
# disk (a raw ext4 image, the board's flash; scripts/smoke.sh SMOKE_DISK).
# Boot one starts a detached container and powers off hard; boot two finds
# its state and starts it again with its data (scripts/smoke-reboot-commands.sh).
#   scripts/smoke-reboot.sh ARCH [BINARY]    (default out/mydocker-ARCH)
set -eu
cd "$(dirname "$0")/.."
arch=$1
bin=${2:-out/mydocker-$arch}
command -v mkfs.ext4 > /dev/null || { echo "smoke: mkfs.ext4 missing (e2fsprogs)" >&2; exit 2; }
disk=$(mktemp /tmp/mydocker-smoke-disk.XXXXXX)
trap 'rm -f "$disk"' EXIT
truncate -s 64M "$disk"
mkfs.ext4 -q -F "$disk"
for phase in one two; do
    echo "== smoke: $arch reboot, boot $phase"
    SMOKE_DISK=$disk SMOKE_PHASE=$phase ./scripts/smoke.sh "$arch" "$bin" scripts/smoke-reboot-commands.sh > "out/smoke-$arch-reboot-$phase.log" 2>&1 ||
        { tail -n 60 "out/smoke-$arch-reboot-$phase.log"; echo "smoke: FAILED $arch reboot, boot $phase"; exit 1; }
    grep -E '^smoke: (PASS|phase)|SMOKE_BOOTED' "out/smoke-$arch-reboot-$phase.log" | tr -d '\r'
done

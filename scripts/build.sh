#!/bin/sh
# Build the release binaries for both targets into out/:
#   out/mydocker-x86_64, out/mydocker-aarch64
# Usage: scripts/build.sh [x86_64|aarch64 ...]   (default: both)
#
# The copy in out/ also loses its section headers and their names (what
# `sstrip` does): `strip` leaves them, the kernel never reads them (it
# loads by the program headers), and nothing is left for a debugger to
# use them for. The file ends where the last segment ends: 936 bytes on
# x86_64. (scripts/size-report.sh builds its own unstripped copy.)
set -eu
cd "$(dirname "$0")/.."
arches=${*:-x86_64 aarch64}
mkdir -p out
# rd FILE OFFSET BYTES: an unsigned little-endian field of the ELF64 file
rd() { od -An -t "u$3" -j "$2" -N "$3" "$1" | tr -d ' '; }
for a in $arches; do
    cargo build --quiet --release --locked --target "$a-unknown-linux-musl"
    f=out/mydocker-$a
    cp "target/$a-unknown-linux-musl/release/mydocker" "$f"
    phoff=$(rd "$f" 32 8) phnum=$(rd "$f" 56 2) end=0 i=0
    while [ "$i" -lt "$phnum" ]; do
        h=$((phoff + i * 56))
        e=$(($(rd "$f" $((h + 8)) 8) + $(rd "$f" $((h + 32)) 8)))
        [ "$e" -le "$end" ] || end=$e
        i=$((i + 1))
    done
    # e_shoff = 0, then e_shentsize, e_shnum, e_shstrndx = 0
    dd if=/dev/zero of="$f" bs=1 seek=40 count=8 conv=notrunc 2>/dev/null
    dd if=/dev/zero of="$f" bs=1 seek=58 count=6 conv=notrunc 2>/dev/null
    truncate -s "$end" "$f"
done

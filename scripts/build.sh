#!/bin/sh
# Build the release binaries for both targets into out/:
#   out/mydocker-x86_64, out/mydocker-aarch64
# Usage: scripts/build.sh [x86_64|aarch64 ...]   (default: both)
set -eu
cd "$(dirname "$0")/.."
arches=${*:-x86_64 aarch64}
mkdir -p out
for a in $arches; do
    cargo build --quiet --release --locked --target "$a-unknown-linux-musl"
    cp "target/$a-unknown-linux-musl/release/mydocker" "out/mydocker-$a"
done

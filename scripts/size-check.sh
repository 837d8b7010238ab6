#!/bin/sh
# Size check: builds both targets (scripts/build.sh) and fails if either
# stripped binary is over the limit (default 176 KiB since issue 10, which
# lifted it from 160 KiB for real images; the project aims
# for <= 128 KiB with every feature). Prints the sizes for the CI log.
set -eu
cd "$(dirname "$0")/.."
limit=${SIZE_LIMIT:-180224}
./scripts/build.sh
fail=0
for a in x86_64 aarch64; do
    f=out/mydocker-$a
    n=$(stat -c %s "$f")
    kind=$(file -b "$f")
    echo "size: mydocker-$a $n bytes ($((n / 1024)) KiB, limit $((limit / 1024)) KiB): $kind"
    case $kind in *"statically linked"*) ;; *) echo "size: $f is not statically linked" >&2; fail=1 ;; esac
    [ "$n" -le "$limit" ] || { echo "size: $f is over the limit" >&2; fail=1; }
done
exit $fail

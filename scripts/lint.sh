#!/bin/sh
# The lint gates, run first by scripts/test.sh. Stops at the first one that
# fails and says which:
#   1. cargo fmt --check
#   2. clippy on the release target, warnings denied (the binary is
#      #![no_main] no_std: the static musl release build is what ships)
#   3. shellcheck over scripts/*.sh, tests/fixtures/*.sh and .ci/run
#   4. the `unsafe` keyword only in the kernel layer, src/sys/ (src/sys.rs
#      before it became a folder); lines that are // comments don't count
# Tools: scripts/setup.sh installs shellcheck and the rustfmt/clippy
# components.
set -eu
cd "$(dirname "$0")/.."
fail() { echo "lint: FAILED: $*" >&2; exit 1; }
for t in cargo shellcheck grep; do
    command -v "$t" >/dev/null || fail "$t missing (scripts/setup.sh)"
done

echo "lint: cargo fmt --check"
cargo fmt --check || fail "cargo fmt --check: code not formatted (the diff is above; 'cargo fmt' fixes it)"

echo "lint: cargo clippy --release (x86_64-unknown-linux-musl)"
cargo clippy --locked --release --target x86_64-unknown-linux-musl -- -D warnings ||
    fail "cargo clippy: warnings or errors (above)"

echo "lint: shellcheck scripts/*.sh tests/fixtures/*.sh .ci/run"
shellcheck scripts/*.sh tests/fixtures/*.sh .ci/run || fail "shellcheck: problems in the scripts (above)"

echo "lint: unsafe only under src/sys/"
[ -d src ] || fail "no src/ folder"
# grep -n prints FILE:LINE:TEXT; drop comment lines, then the kernel layer.
# (grep exits 1 when nothing is left, which is the good case.)
found=$(grep -rwn --include='*.rs' unsafe src) || [ $? -eq 1 ] || fail "grep over src/ failed"
outside=$(printf '%s\n' "$found" |
    grep -Ev '^[^:]*:[0-9]+:[[:space:]]*//' |
    grep -Ev '^src/sys(\.rs|/)') || true
[ -z "$outside" ] || {
    printf '%s\n' "$outside" >&2
    fail "unsafe outside src/sys/ (above): raw syscalls and pointers belong in the kernel layer"
}
echo "lint: all passed"

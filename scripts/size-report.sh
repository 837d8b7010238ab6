#!/bin/sh
# Per-module size of the x86_64 release binary.
#
# Method: the same release build (same profile, flags and LTO) but not
# stripped, into its own target dir (target/size-report), then
# `nm -S --size-sort` over its functions and data. Each function is
# charged to the source module its (demangled) name belongs to:
# mydocker::engine::tar::Writer::tree -> engine/tar,
# mydocker::cli::parse_run -> cli/mod. Under LTO a function that was
# inlined has no symbol of its own: its bytes count for the function it
# was inlined into (so a helper that is inlined everywhere shows up in
# its callers' modules). What is not ours is grouped:
#   rust: drop glue      core::ptr::drop_in_place<..> kept out of line
#   rust: core/alloc     generic library code kept out of line (Vec::push, ...)
#   outlined sequences   LLVM's machine outliner (shared instruction runs)
#   musl libc            C start-up, syscall wrappers, memcpy, ...
#   main                 the C entry point (sys::main with argv copying,
#                        cli::verbs::main and the dispatch inlined into it)
#   .rodata              string literals and constant tables, not attributed
# Functions that the linker folded into one (--icf=all) share an address:
# each address is counted once. The total is .text + .rodata + .data of
# this build, which matches the stripped binary's loaded size.
#   scripts/size-report.sh         build, then print the table
#   scripts/size-report.sh FILE    report on an unstripped FILE instead
set -eu
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
    f=$1
else
    t=target/size-report
    CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=$t \
        cargo build --quiet --release --locked --target x86_64-unknown-linux-musl
    f=$t/x86_64-unknown-linux-musl/release/mydocker
fi
[ -f "$f" ] || { echo "size-report: no binary $f" >&2; exit 1; }
nm -C -S -t d "$f" >/dev/null 2>&1 || { echo "size-report: $f has no symbols (stripped?)" >&2; exit 1; }
mods=$(cd src && find . -name '*.rs' | sed 's|^\./||; s|\.rs$||' | tr '\n' ' ')

{
    # Sizes of the sections that are loaded, for the unattributed rows.
    size -A -d "$f" | awk '$1 == ".rodata" || $1 == ".data" || $1 == ".bss" { print "SECTION", $1, $2 }'
    nm -C -S -t d "$f" | awk 'NF >= 4 && ($3 == "t" || $3 == "T") { print }'
} | awk -v mods="$mods" '
BEGIN {
    n = split(mods, m, " ")
    for (i = 1; i <= n; i++) known[m[i]] = 1
}
$1 == "SECTION" { sect[$2] = $3; next }
{
    addr = $1; size = $2 + 0
    if (addr in seen) next
    seen[addr] = 1
    name = $4
    for (i = 5; i <= NF; i++) name = name " " $i
    sub(/^</, "", name)
    if (name ~ /^core::ptr::drop_in_place/) mod = "rust: drop glue"
    else if (name ~ /^mydocker::/) {
        k = split(name, p, "::")
        # p[2] is cli, engine or sys; p[3] a module of it or a function
        mod = p[2] "/" p[3]
        sub(/[<{ (].*/, "", mod)
        if (!(mod in known)) mod = p[2] "/mod"
    } else if (name ~ /^(core|alloc)::/ || name ~ /^__rustc::/) mod = "rust: core/alloc"
    else if (name ~ /^OUTLINED_FUNCTION/) mod = "outlined sequences"
    else if (name == "main") mod = "main"
    else mod = "musl libc"
    tot[mod] += size
    text += size
}
END {
    for (k in tot) printf "%8d  %s\n", tot[k], k
    printf "%8d  %s\n", sect[".rodata"], ".rodata (strings, tables)"
    printf "%8d  %s\n", sect[".data"], ".data"
}' | sort -rn

size -A -d "$f" | awk '
$1 == ".text" || $1 == ".rodata" || $1 == ".data" || $1 == ".init" || $1 == ".fini" { s += $2 }
END { printf "%8d  total loaded bytes (.text .rodata .data .init .fini)\n", s }'

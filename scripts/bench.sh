#!/bin/sh
# Run latency of `mydocker run --rm IMAGE true` (with and without -m) beside
# crun, runc, bwrap and unshare+chroot on the same busybox rootfs, in ONE
# hyperfine run (these machines are noisy: compare within a run only),
# plus the peak RSS of `run` and the RSS of an idle detached container's
# monitor. As root. Results: out/bench.md and out/bench.json.
#
# Every runtime gets the same five namespaces (mount, pid, net, ipc, uts)
# and runs the same program, /bin/true, by its path (crun's and runc's
# bundles name it so; a bare `true` would send mydocker alone through a
# PATH search: five failed lookups on the overlay before /bin).
# mydocker's numbers include its overlay mount, cgroup and state files
# (a --rm container's state lives on the run-time tmpfs, <root>/run).
# crun 1.8 refuses this host's hybrid cgroup layout unless it cannot see
# the v2 controller list, so the whole hyperfine run happens in a private
# mount namespace where that file is hidden (every contestant runs there).
# BENCH_BASE=/path/to/an/older/mydocker-x86_64 adds that binary's `run`
# (with and without -m) to the same run, for a before/after comparison on
# the same minutes of this noisy machine (same state root and image).
# A second, shorter pass starts each run 0.3 s after the last (mydocker and
# crun only; BENCH_SPACED_RUNS, default 40): back to back, each start
# overlaps the kernel's teardown of the last run's namespaces, and a board
# starts its containers one at a time.
set -eu
cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-200}
# The runs are split into rounds (all commands, in turn, per round) and
# pooled: this machine's speed drifts over minutes, and one long batch per
# command would compare different minutes.
rounds=${BENCH_ROUNDS:-5}
per=$(( (runs + rounds - 1) / rounds ))
# Runs per command in the spaced pass (below).
spaced=${BENCH_SPACED_RUNS:-40}
[ -f out/mydocker-x86_64 ] || ./scripts/build.sh x86_64
[ -f out/busybox.tar ] || ./scripts/mkimage-busybox.sh out/busybox.tar
for t in hyperfine crun runc bwrap unshare python3; do
    command -v $t >/dev/null || { echo "bench: $t missing (scripts/setup.sh)" >&2; exit 2; }
done
B=$PWD/out/mydocker-x86_64
W=$(mktemp -d /tmp/mydocker-bench.XXXXXX)
export MYDOCKER_ROOT="$W/state"
$B import out/busybox.tar busybox >/dev/null
trap 'umount "$MYDOCKER_ROOT/run" 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/rootfs" && tar -C "$W/rootfs" -xf out/busybox.tar

# OCI bundles for crun/runc: the runtime's default spec, running `true`
# without a terminal; a second one with a 64 MiB memory limit.
for rt in crun runc; do
    for lim in none 64m; do
        d=$W/bundle-$rt-$lim; mkdir -p "$d"
        (cd "$d" && crun spec >/dev/null 2>&1)
        python3 - "$d/config.json" "$W/rootfs" "$lim" <<'PY'
import json, sys
p, rootfs, lim = sys.argv[1:]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"] = {"path": rootfs, "readonly": True}
c["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
if lim == "64m":
    c["linux"].setdefault("resources", {})["memory"] = {"limit": 64 << 20}
json.dump(c, open(p, "w"))
PY
    done
done

base=${BENCH_BASE:-}
if [ -n "$base" ]; then
    base=$(realpath "$base")
    base_cmds="-n 'base: mydocker run --rm busybox /bin/true' '$base run --rm busybox /bin/true' -n 'base: mydocker run --rm -m 64m busybox /bin/true' '$base run --rm -m 64m busybox /bin/true'"
else
    base_cmds=
fi

cat > "$W/in-ns.sh" <<NS
set -e
# hide the v2 controller list from crun on hybrid hosts
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then
    mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers
fi
for r in \$(seq $rounds); do
# This build and the base take turns at going first: the first command of a
# round runs while the last round's namespaces are still being torn down.
if [ \$((r % 2)) = 1 ]; then
  set -- -n 'mydocker run --rm busybox /bin/true' "$B run --rm busybox /bin/true" \
    -n 'mydocker run --rm -m 64m busybox /bin/true' "$B run --rm -m 64m busybox /bin/true" $base_cmds
else
  set -- $base_cmds -n 'mydocker run --rm busybox /bin/true' "$B run --rm busybox /bin/true" \
    -n 'mydocker run --rm -m 64m busybox /bin/true' "$B run --rm -m 64m busybox /bin/true"
fi
hyperfine -N --style none --warmup 5 --runs $per --export-json $W/round-\$r.json "\$@" \
  -n 'crun run (5 ns)' "crun run --bundle $W/bundle-crun-none bench-crun" \
  -n 'crun run -m 64m' "crun run --bundle $W/bundle-crun-64m bench-crun-m" \
  -n 'runc run (5 ns)' "runc run --bundle $W/bundle-runc-none bench-runc" \
  -n 'bwrap (5 ns)' "bwrap --bind $W/rootfs / --proc /proc --dev /dev --unshare-pid --unshare-net --unshare-ipc --unshare-uts /bin/true" \
  -n 'unshare+chroot (5 ns)' "unshare -m -u -i -n -p -f chroot $W/rootfs /bin/true" >/dev/null
done
# Spaced: each start 0.3 s after the last one ended (hyperfine's --prepare
# is not timed), as containers start on a board, not back to back: the
# previous container's namespaces are gone, and nothing is warm.
hyperfine -N --style none --warmup 3 --prepare 'sleep 0.3' --runs $spaced --export-json $W/spaced.json \
  -n 'mydocker run --rm busybox /bin/true' "$B run --rm busybox /bin/true" \
  -n 'mydocker run --rm -m 64m busybox /bin/true' "$B run --rm -m 64m busybox /bin/true" \
  -n 'crun run (5 ns)' "crun run --bundle $W/bundle-crun-none bench-crun" \
  -n 'crun run -m 64m' "crun run --bundle $W/bundle-crun-64m bench-crun-m" >/dev/null
NS
# crun and runc are called directly, with a fixed container name: `run`
# deletes the container when it exits, so the runs can reuse it. (A shell
# shim making a fresh name per run added ~1.5 ms to their times.)
unshare -m sh "$W/in-ns.sh"
mkdir -p out

# Pooled medians, and the ratios against the anchors, from the same run.
python3 - "$W" "$rounds" <<'PY' | tee out/bench.md
import json, statistics, sys
w, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for i in range(1, rounds + 1):
    for x in json.load(open(f"{w}/round-{i}.json"))["results"]:
        times.setdefault(x["command"], []).extend(t * 1000 for t in x["times"])
json.dump({k: v for k, v in times.items()}, open("out/bench.json", "w"))
med = {k: statistics.median(v) for k, v in times.items()}
m, mm = med["mydocker run --rm busybox /bin/true"], med["mydocker run --rm -m 64m busybox /bin/true"]
print(f"| command ({len(next(iter(times.values())))} runs in {rounds} rounds) | median | p25 | p75 |")
print("|---|---|---|---|")
for k, v in times.items():
    q = statistics.quantiles(v, n=4)
    print(f"| {k} | {med[k]:.2f} ms | {q[0]:.2f} | {q[2]:.2f} |")
print()
for k, v in med.items():
    print(f"- {k}: median {v:.2f} ms")
print(f"- crun -m 64m / mydocker -m 64m: {med['crun run -m 64m'] / mm:.1f}x (target >= 4x)")
print(f"- unshare+chroot / mydocker: {med['unshare+chroot (5 ns)'] / m:.2f}x (target > 1)")
print(f"- runc / mydocker: {med['runc run (5 ns)'] / m:.1f}x, bwrap / mydocker: {med['bwrap (5 ns)'] / m:.2f}x")
spaced = json.load(open(f"{w}/spaced.json"))["results"]
sp = {x["command"]: statistics.median(t * 1000 for t in x["times"]) for x in spaced}
n = len(spaced[0]["times"])
print(f"- spaced 0.3 s apart ({n} runs each), medians: " + ", ".join(f"{k} {v:.2f} ms" for k, v in sp.items()))
print(f"- spaced: crun -m 64m / mydocker -m 64m: {sp['crun run -m 64m'] / sp['mydocker run --rm -m 64m busybox /bin/true']:.1f}x, crun / mydocker: {sp['crun run (5 ns)'] / sp['mydocker run --rm busybox /bin/true']:.1f}x")
if "base: mydocker run --rm busybox /bin/true" in med:
    b, bm = med["base: mydocker run --rm busybox /bin/true"], med["base: mydocker run --rm -m 64m busybox /bin/true"]
    print(f"- this build vs base: run {m:.2f} vs {b:.2f} ms ({(m / b - 1) * 100:+.1f}%), -m 64m {mm:.2f} vs {bm:.2f} ms ({(mm / bm - 1) * 100:+.1f}%)")
PY

# Peak RSS of `run` itself: the CLI's VmHWM while its container runs
# (getrusage of a child would count the forking parent's pages too).
$B run --rm busybox sleep 1 &
cli=$!
sleep 0.5
echo "- peak RSS (VmHWM) of \`mydocker run\`: $(awk '/VmHWM/{print $2}' /proc/$cli/status) KiB (target <= 1024)" | tee -a out/bench.md
wait $cli
id=$($B run -d busybox sleep 300)
sleep 0.5
mon=$(sed -n 's/^monitor=//p' "$MYDOCKER_ROOT/containers/$id/config" | tail -n1)
echo "- idle monitor RSS: $(awk '/VmRSS/{print $2}' "/proc/$mon/status") KiB (target <= 256)" | tee -a out/bench.md
$B rm -f "$id" >/dev/null

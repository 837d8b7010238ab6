#!/bin/sh
# How `run -d` and an idle monitor scale with the number of containers.
# A measurement, not a test: it prints numbers and judges nothing. As root.
# Results: stdout and out/scale.md.
#
# Targets measured:
#  (a) `mydocker run -d busybox sleep 1000` of the 200th container within
#      1.2x of the first. Containers 1..N are made one after the other in a
#      private state root; each `run -d` is timed alone (a new container
#      per run, so no hyperfine: python3, perf_counter_ns around one
#      subprocess). Printed: the median of the first SCALE_GROUP runs and
#      of the last SCALE_GROUP, their ratio, and the median of every group
#      in between (the shape of the growth). Beside it, because this
#      machine's speed drifts by 2x within minutes (other work shares its
#      two CPUs):
#      - the timing loop's own cost (the same call of /bin/true);
#      - a control: right after each run of the two groups, a timed
#        `run -d` in a second private root that holds no container (its
#        container is removed at once, untimed). The control does the same
#        work at both ends except what depends on this root's size, so
#        run/control, paired run by run, gives a drift-corrected ratio;
#      - the CLI's own CPU time (user+sys from wait4; the monitor is not
#        its reaped child), which waiting for a CPU does not inflate;
#      - the syscalls of one `run -d` CLI (strace -c, without -f) with no
#        container and with N: counts the machine's speed cannot blur.
#  (b) an idle monitor's private memory the same with 1 or 200 containers,
#      its RSS <= 256 KiB. From /proc/PID/smaps_rollup of monitors, found
#      through the record (`monitor=PID`, appended by run.rs:mark_running
#      to containers/<id>/config): monitor #1 when it is the only
#      container, then monitor #1 and monitor #N when N exist, plus the
#      spread over all N monitors and, for #1 and #N, where their
#      Private_Dirty lives (per mapping, from /proc/PID/smaps).
#
# Reading smaps: Rss counts every page mapped in the process, including
# pages of mydocker's own text (the static binary, mapped from the file).
# A monitor is forked from the CLI, but fork does not copy the page tables
# of file mappings that were never written: the monitor faults its text in
# again as it runs, and each fault maps the whole 64 KiB fault-around
# window of the page cache around it, code it will never run included.
# For a ~160 KB binary that is nearly all of it: ~136 KiB of text and
# ~24 KiB of read-only data, 160 of a monitor's ~224 KiB Rss. Those pages
# are clean and shared with every process that maps them: while a monitor
# is the only process with the binary mapped (1 container, the CLI gone)
# they show up as Private_Clean; with 200 monitors mapping the same pages
# they are Shared_Clean, and Pss divides them by the number of mappers.
# So Rss can stay the same while Private_Clean drops to ~0 as containers
# are added. What a monitor really costs is its Private_Dirty: its heap
# arenas, stack and .data/.bss copies. Pages it inherited from the CLI
# through fork (copy-on-write) count there too once the CLI has exited:
# they then have one mapper left.
#
# Cleanup (on exit, error or interrupt): `rm -f` of every container of the
# private root, the run-time tmpfs under it unmounted if one was mounted,
# the temporary directory removed, the cgroup parents that this run made
# removed; what is left (process, mount, cgroup) is reported.
#
# Environment: SCALE_N (200) containers, SCALE_GROUP (10) runs per group.
set -eu
cd "$(dirname "$0")/.."
n=${SCALE_N:-200}
g=${SCALE_GROUP:-10}
[ "$n" -ge $((2 * g)) ] || { echo "scale: SCALE_N must be at least 2*SCALE_GROUP" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "scale: run as root" >&2; exit 2; }
command -v python3 >/dev/null || { echo "scale: python3 missing" >&2; exit 2; }
[ -f out/mydocker-x86_64 ] || ./scripts/build.sh x86_64
[ -f out/busybox.tar ] || ./scripts/mkimage-busybox.sh out/busybox.tar
B=$PWD/out/mydocker-x86_64
W=$(mktemp -d /tmp/mydocker-scale.XXXXXX)
export MYDOCKER_ROOT="$W/state"
ids=$W/ids        # one full id per line, written as each run returns
times=$W/times    # "index wall-ns cpu-ns" per timed run
ctl_times=$W/ctl-times # the same for the control root's runs
CTL_ROOT=$W/control # a second private root, kept empty: see run_timed

# The cgroup parents (<hierarchy>/mydocker) that exist before this run: only
# those made by it are removed at the end.
cg_before=$W/cg-before
for d in /sys/fs/cgroup/mydocker /sys/fs/cgroup/*/mydocker; do
    [ -d "$d" ] && echo "$d"
done > "$cg_before" || true

cleanup() {
    set +e
    trap - EXIT INT TERM HUP
    # Every container of the private root, by the ids we were given and by
    # what the root lists (a run interrupted before printing its id).
    if [ -d "$MYDOCKER_ROOT" ]; then
        { cat "$ids" 2>/dev/null; "$B" ps -a -q --no-trunc 2>/dev/null; } |
            sort -u | xargs -r -n 50 "$B" rm -f >/dev/null
    fi
    if [ -d "$CTL_ROOT" ]; then
        MYDOCKER_ROOT=$CTL_ROOT "$B" ps -a -q --no-trunc 2>/dev/null |
            MYDOCKER_ROOT=$CTL_ROOT xargs -r -n 50 "$B" rm -f >/dev/null
    fi
    for r in "$MYDOCKER_ROOT" "$CTL_ROOT"; do
        if grep -qs " $r/run " /proc/self/mountinfo; then
            umount "$r/run"
        fi
    done
    left=""
    touch "$W/monitors" "$W/inits" "$ids"
    while read -r p; do
        # the pid may have been reused: only a mydocker counts
        if [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$B" ]; then
            left="$left process:$p"
        fi
    done < "$W/monitors"
    while read -r p; do
        if [ -r "/proc/$p/cmdline" ] && [ "$(tr '\0' ' ' < "/proc/$p/cmdline")" = "sleep 1000 " ]; then
            left="$left process:$p"
        fi
    done < "$W/inits"
    while read -r id; do
        for d in /sys/fs/cgroup/mydocker/"$id" /sys/fs/cgroup/*/mydocker/"$id"; do
            [ -d "$d" ] && left="$left cgroup:$d"
        done
    done < "$ids"
    touch "$ids-ctl"
    while read -r id; do
        for d in /sys/fs/cgroup/mydocker/"$id" /sys/fs/cgroup/*/mydocker/"$id"; do
            [ -d "$d" ] && left="$left cgroup:$d"
        done
    done < "$ids-ctl"
    if grep -qs " $W/" /proc/self/mountinfo; then
        left="$left mount:$(grep " $W/" /proc/self/mountinfo | awk '{print $5}' | tr '\n' ' ')"
    fi
    for d in /sys/fs/cgroup/mydocker /sys/fs/cgroup/*/mydocker; do
        if [ -d "$d" ] && ! grep -qx "$d" "$cg_before"; then
            rmdir "$d" 2>/dev/null || left="$left cgroup:$d"
        fi
    done
    if [ -z "$left" ]; then
        rm -rf --one-file-system "$W"
        echo "cleanup: every container removed, nothing left" >&2
    else
        echo "cleanup: LEFT BEHIND:$left (kept $W)" >&2
        exit 1
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

"$B" import out/busybox.tar busybox >/dev/null
MYDOCKER_ROOT=$CTL_ROOT "$B" import out/busybox.tar busybox >/dev/null

# Times `run -d busybox sleep 1000` for containers FROM..TO of the private
# root, appending "index wall-ns cpu-ns" to $times and the id to $ids. With "ctl" as
# the 3rd argument, each is followed by a timed `run -d` in the control
# root (which holds no container: its container is removed, untimed,
# right away) into $ctl_times; "ctl-only" times the control alone. A
# failed run stops the script (after cleanup).
run_timed() {
    python3 - "$B" "$1" "$2" "${3:-}" "$times" "$ids" "$ctl_times" "$CTL_ROOT" <<'PY'
import os, subprocess, sys, time
b, lo, hi, mode, times, ids, ctl_times, ctl_root = sys.argv[1:]
run = [b, "run", "-d", "busybox", "sleep", "1000"]
ctl_env = dict(os.environ, MYDOCKER_ROOT=ctl_root)
def timed(env):
    # wall time around the whole call, and the CLI's own CPU time (user +
    # sys from wait4: the monitor is not its reaped child), which other
    # work on the machine inflates much less than the wall time
    t0 = time.perf_counter_ns()
    p = subprocess.Popen(run, stdout=subprocess.PIPE, env=env)
    out = p.stdout.read()
    _, st, ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter_ns()
    p.returncode = os.waitstatus_to_exitcode(st)
    p.stdout.close()
    if p.returncode != 0:
        sys.exit(f"scale: run -d failed ({p.returncode})")
    return f"{t1 - t0} {round((ru.ru_utime + ru.ru_stime) * 1e9)}", out.decode().strip()
with open(times, "a") as tf, open(ids, "a") as idf, open(ctl_times, "a") as cf:
    for i in range(int(lo), int(hi) + 1):
        if mode != "ctl-only":
            ns, cid = timed(None)
            idf.write(cid + "\n"); idf.flush()
            tf.write(f"{i} {ns}\n"); tf.flush()
        if mode:
            ns, cid = timed(ctl_env)
            with open(ids + "-ctl", "a") as f:
                f.write(cid + "\n")
            subprocess.run([b, "rm", "-f", cid], stdout=subprocess.DEVNULL, env=ctl_env, check=True)
            cf.write(f"{i} {ns}\n"); cf.flush()
PY
}

# The timing loop's own cost: the same subprocess call of /bin/true.
overhead() {
    python3 - <<'PY'
import statistics, subprocess, time
v = []
for _ in range(50):
    t0 = time.perf_counter_ns()
    subprocess.run(["/bin/true"], stdout=subprocess.PIPE)
    v.append(time.perf_counter_ns() - t0)
print(statistics.median(v))
PY
}

# A key of the record of the container on line $2 of $ids: monitor, pid.
field_of() {
    id=$(sed -n "${2}p" "$ids")
    sed -n "s/^$1=//p" "$MYDOCKER_ROOT/containers/$id/config" | tail -n 1
}
monitor_of() { field_of monitor "$1"; }

# One table row: label, then the smaps_rollup fields of pid $2 in KiB.
FIELDS="Rss Pss Private_Clean Private_Dirty Shared_Clean Shared_Dirty Anonymous"
mem_row() {
    awk -v label="$1" -v fields="$FIELDS" '
        { v[substr($1, 1, length($1) - 1)] = $2 }
        END { n = split(fields, f, " "); s = "| " label
              for (i = 1; i <= n; i++) s = s " | " v[f[i]]
              print s " |" }' "/proc/$2/smaps_rollup"
}

# Where a monitor's private dirty pages are: per kind of mapping, in KiB.
dirty_by_mapping() {
    awk -v bin="$B" '
        /^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "") ? "anonymous" : ($6 == bin) ? "binary (.data/.bss)" : $6; next }
        /^Size:/ && name == "anonymous" { mapped += $2 }
        /^Private_Dirty:/ { d[name] += $2 }
        END { for (k in d) if (d[k] > 0) printf "%s %d, ", k, d[k]
              printf "KiB (anonymous = the allocator arenas, %d KiB mapped)\n", mapped }' "/proc/$1/smaps"
}

out=$W/scale.md
ovh=$(overhead)
{
    echo "# mydocker scale: $n containers in one private root"
    echo
    echo "$("$B" version) on $(uname -r), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
} > "$out"

# CPU ticks (busy, all) of the whole machine: other work during the runs
# shows up in the wall times, so it is reported beside them.
ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
load0=$(cut -d' ' -f1 /proc/loadavg)
ticks0=$(ticks)

# Container 1, then (b) with one container, then the rest.
run_timed 1 1
monitor_of 1 > "$W/monitors"
field_of pid 1 > "$W/inits"
sleep 1 # idle: the CLI has exited, the monitor waits in poll
m1=$(monitor_of 1)
row_1_at_1=$(mem_row "monitor #1, 1 container" "$m1")
where_1_at_1=$(dirty_by_mapping "$m1")
run_timed 1 1 ctl-only
run_timed 2 "$g" ctl
run_timed $((g + 1)) $((n - g))
run_timed $((n - g + 1)) "$n" ctl
ticks1=$(ticks)
load1=$(cut -d' ' -f1 /proc/loadavg)
i=1
while [ "$i" -le "$n" ]; do monitor_of "$i"; i=$((i + 1)); done > "$W/monitors"
i=1
while [ "$i" -le "$n" ]; do field_of pid "$i"; i=$((i + 1)); done > "$W/inits"
sleep 1
mn=$(monitor_of "$n")

{
    echo "## (a) \`run -d busybox sleep 1000\`: container $((n - g + 1))..$n against 1..$g"
    echo
    echo "$ticks0 $ticks1" | awk -v ncpu="$(nproc)" -v l0="$load0" -v l1="$load1" '{
        busy = ($3 - $1) / ($4 - $2) * ncpu
        printf "- machine while timing: %.2f of %d CPUs busy on average (these runs keep about 1 busy), load average %s -> %s\n", busy, ncpu, l0, l1
        if (busy > 1.2) print "- **other work ran during the timing: its wall times say little; see the control and the CPU times**" }'
    python3 - "$times" "$ctl_times" "$n" "$g" "$ovh" <<'PY'
import statistics, sys
n, g, ovh = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]) / 1e6
def load(path):
    t, u = {}, {}
    for line in open(path):
        i, ns, cpu = line.split()
        t[int(i)], u[int(i)] = int(ns) / 1e6, int(cpu) / 1e6
    return t, u
(t, u), (c, cu) = load(sys.argv[1]), load(sys.argv[2])
lo, hi = range(1, g + 1), range(n - g + 1, n + 1)
med = lambda d, r: statistics.median(d[i] for i in r)
first, last = med(t, lo), med(t, hi)
print(f"- first {g} (containers 1..{g}): median {first:.2f} ms (min {min(t[i] for i in lo):.2f})")
print(f"- last {g} (containers {n - g + 1}..{n}): median {last:.2f} ms (min {min(t[i] for i in hi):.2f})")
print(f"- **ratio last/first: {last / first:.2f}x** (target <= 1.2x)")
print(f"- timing loop's own cost (subprocess of /bin/true): {ovh:.2f} ms; "
      f"without it: {first - ovh:.2f} -> {last - ovh:.2f} ms, {(last - ovh) / (first - ovh):.2f}x")
# The control: the first container of an empty root, run right after each
# run of the two groups. What changes in it between the groups is the
# machine (its speed drifts; other work on it), not this root's size.
cf, cl = med(c, lo), med(c, hi)
pf = statistics.median(t[i] / c[i] for i in lo)
pl = statistics.median(t[i] / c[i] for i in hi)
print(f"- control (run -d in an empty second root, right after each run of the two groups): "
      f"median {cf:.2f} ms beside the first, {cl:.2f} ms beside the last ({cl / cf:.2f}x: the machine's drift)")
print(f"- paired ratio run/control: {pf:.2f} for the first {g}, {pl:.2f} for the last {g}; "
      f"**drift-corrected last/first: {pl / pf:.2f}x**")
uf, ul = med(u, lo), med(u, hi)
qf = statistics.median(u[i] / cu[i] for i in lo)
ql = statistics.median(u[i] / cu[i] for i in hi)
print(f"- CPU time of the `run -d` CLI itself (user+sys, from wait4): median {uf:.2f} -> {ul:.2f} ms, "
      f"{ul / uf:.2f}x; the control's: {med(cu, lo):.2f} -> {med(cu, hi):.2f} ms; "
      f"drift-corrected (paired with the control) {ql / qf:.2f}x")
xs = sorted(t)
slope = statistics.linear_regression(xs, [t[i] for i in xs]).slope
uslope = statistics.linear_regression(xs, [u[i] for i in xs]).slope
print(f"- least-squares slope over all {n} runs: {slope * 1000:.2f} us wall, "
      f"{uslope * 1000:.2f} us CPU per existing container")
print()
print("| containers | wall median ms | min | max | CLI CPU median ms |")
print("|---|---|---|---|---|")
for lo in range(1, n + 1, g):
    r = range(lo, min(lo + g, n + 1))
    v = [t[i] for i in r]
    print(f"| {lo}..{r[-1]} | {statistics.median(v):.2f} | {min(v):.2f} | {max(v):.2f} | {med(u, r):.2f} |")
PY
    echo
    echo "## (b) an idle monitor's memory (KiB, /proc/PID/smaps_rollup)"
    echo
    printf '| monitor |'; for f in $FIELDS; do printf ' %s |' "$f"; done; echo
    printf '|---|'; for f in $FIELDS; do printf -- '---|'; done; echo
    echo "$row_1_at_1"
    mem_row "monitor #1, $n containers" "$m1"
    mem_row "monitor #$n, $n containers" "$mn"
    echo
    # shellcheck disable=SC2046 # one pid per word
    awk 'FNR == 1 { k++ } /^Rss:/ { r[k] = $2 } /^Pss:/ { pss += $2 } /^Private_Dirty:/ { d[k] = $2 } /^Private_Clean:/ { c[k] = $2 }
         END { printf "- over all %d monitors: Rss %d..%d, Private_Dirty %d..%d, Private_Clean %d..%d KiB; their Pss adds up to %d KiB\n", k, mn(r), mx(r), mn(d), mx(d), mn(c), mx(c), pss
               for (i = 1; i <= k; i++) { sx += i; sy += d[i]; sxx += i * i; sxy += i * d[i] }
               printf "- Private_Dirty against the number of containers that existed when the monitor was forked: %.2f KiB per container (least squares)\n", (k * sxy - sx * sy) / (k * sxx - sx * sx) }
         function mn(a,  i, m) { m = a[1]; for (i in a) if (a[i] < m) m = a[i]; return m }
         function mx(a,  i, m) { m = a[1]; for (i in a) if (a[i] > m) m = a[i]; return m }' \
        $(sed 's|.*|/proc/&/smaps_rollup|' "$W/monitors")
    echo "- Private_Dirty of monitor #1 with 1 container: $where_1_at_1"
    echo "- Private_Dirty of monitor #1 with $n containers: $(dirty_by_mapping "$m1")"
    echo "- Private_Dirty of monitor #$n with $n containers: $(dirty_by_mapping "$mn")"
    echo "- target: private memory the same at 1 and $n, Rss <= 256 KiB"
} >> "$out"

# What `run -d` does more with N containers, in counts that the machine's
# speed does not blur: the syscalls of the CLI alone (strace without -f
# does not follow the monitor), once in the empty control root and once
# here (container N+1). Done last: it adds a container.
syscalls() {
    awk '$NF == "total" { t = $4 } $1 ~ /^[0-9.]+$/ && $NF != "total" { c[$NF] = $4 }
         END { printf "%d (", t; s = ""
               split("openat read close getdents64 mmap mkdir", k, " ")
               for (i = 1; i <= 6; i++) { printf "%s%s %d", s, k[i], c[k[i]]; s = ", " }
               printf ")" }' "$1"
}
if command -v strace >/dev/null; then
    MYDOCKER_ROOT=$CTL_ROOT strace -c -o "$W/st0" "$B" run -d busybox sleep 1000 >> "$ids-ctl"
    strace -c -o "$W/stn" "$B" run -d busybox sleep 1000 >> "$ids"
    {
        echo
        echo "## syscalls of one \`run -d\` CLI (strace -c, the monitor not followed)"
        echo
        echo "- no other container: $(syscalls "$W/st0")"
        echo "- $n other containers: $(syscalls "$W/stn")"
    } >> "$out"
fi

mkdir -p out
cp "$out" out/scale.md
cat "$out"

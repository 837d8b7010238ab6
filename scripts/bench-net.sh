#!/bin/sh
# Networking costs, measured side by side (as root):
#  1. added latency of `run --rm` on a bridge network over --network none,
#     in one hyperfine run;
#  2. published ports: mydocker's user-space forwarding beside kernel NAT
#     (an iptables DNAT rule to the same container), both reached from
#     another network namespace: a 64 MiB transfer (throughput) and wrk
#     with Connection: close (connections per second).
# Results: out/bench-net.md
set -eu
cd "$(dirname "$0")/.."
[ -f out/mydocker-x86_64 ] || ./scripts/build.sh x86_64
[ -f out/busybox.tar ] || ./scripts/mkimage-busybox.sh out/busybox.tar
for t in hyperfine wrk iptables ip python3; do
    command -v $t >/dev/null || { echo "bench-net: $t missing (scripts/setup.sh)" >&2; exit 2; }
done
B=$PWD/out/mydocker-x86_64
W=$(mktemp -d /tmp/mydocker-bench-net.XXXXXX)
export MYDOCKER_ROOT="$W/state"
NS=mdbench-peer
cleanup() {
    $B rm -f bench >/dev/null 2>&1 || true
    $B network rm benchnet >/dev/null 2>&1 || true
    iptables -t nat -D PREROUTING -p tcp --dport 18201 -j DNAT --to-destination "${CIP:-0}:80" 2>/dev/null || true
    ip netns pids $NS 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del $NS 2>/dev/null || true
    ip link del mdbench-h 2>/dev/null || true
    umount "$MYDOCKER_ROOT/run" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
$B import out/busybox.tar busybox >/dev/null
$B network create --subnet 10.251.0.0/24 benchnet >/dev/null

hyperfine -N --warmup 10 --runs "${BENCH_RUNS:-100}" --export-json "$W/lat.json" \
  -n 'run --rm --network none busybox true' "$B run --rm busybox true" \
  -n 'run --rm --network benchnet busybox true' "$B run --rm --network benchnet busybox true" >/dev/null

# The peer host and the server: a 64 MiB file behind both paths.
ip netns add $NS
ip link add mdbench-h type veth peer name eth0 netns $NS
ip addr add 10.250.0.1/24 dev mdbench-h && ip link set mdbench-h up
ip netns exec $NS ip addr add 10.250.0.2/24 dev eth0
ip netns exec $NS ip link set eth0 up && ip netns exec $NS ip link set lo up
$B run -d --name bench --network benchnet -p 18200:80 busybox sh -c \
  'mkdir -p /www && echo ok > /www/index.html && dd if=/dev/zero of=/www/big bs=1M count=64 2>/dev/null && exec httpd -f -p 80 -h /www' >/dev/null
CIP=$($B inspect bench | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])')
iptables -t nat -A PREROUTING -p tcp --dport 18201 -j DNAT --to-destination "$CIP:80"
sleep 1

python3 - "$W/lat.json" "$NS" <<'PY' | tee out/bench-net.md
import json, subprocess, sys, time, re, statistics
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
none, br = r["run --rm --network none busybox true"], r["run --rm --network benchnet busybox true"]
print("## mydocker networking (one run, this machine)\n")
print(f"- run --rm busybox true: none {none:.2f} ms, bridge network {br:.2f} ms: +{br - none:.2f} ms")
ns = sys.argv[2]
def fetch(port):
    t = time.time()
    subprocess.run(["ip", "netns", "exec", ns, "busybox", "wget", "-qO", "/dev/null", f"http://10.250.0.1:{port}/big"], check=True)
    return 64 / (time.time() - t)
def conns(port):
    o = subprocess.run(["ip", "netns", "exec", ns, "wrk", "-t1", "-c8", "-d4s", "-H", "Connection: close", f"http://10.250.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))
for name, port in [("user-space forwarding (mydocker -p)", 18200), ("kernel NAT (iptables DNAT)", 18201)]:
    mbps = statistics.median(fetch(port) for _ in range(3))
    cps = conns(port)
    print(f"- {name}: {mbps:.0f} MiB/s (median of 3 x 64 MiB), {cps:.0f} connections/s")
PY

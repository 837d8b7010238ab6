#!/usr/bin/env bash
# bench-images.sh - how fast mydocker loads a real image archive, next to
# `podman load` and `skopeo copy`, and how much disk its shared-layer store
# takes next to one flattened copy per image. Run only when asked (not part
# of test.sh). Needs root, buildah, podman and skopeo; no network.
#
#   usage: bench-images.sh [-n RUNS] [-w WORKDIR] [DIR...]
#
#     -n RUNS     timed runs per row (default 5); the median is reported
#     -w WORKDIR  keep the archives there and reuse them on the next run
#                 (default: a temp dir under /var/tmp, removed at the end)
#     DIR...      host dirs packed, at the same paths, as the big layer on top
#                 of a busybox layer (default: /usr/lib/python3.11
#                 /usr/lib/gcc /usr/share/perl, ~200 MB in many small and
#                 some large files)
#
#   environment: MYDOCKER_BIN (default out/mydocker-$(uname -m)),
#                BENCH_DRIVERS  containers-storage drivers (default "vfs overlay")
#
# Archives (made with buildah from local files; podman save):
#   big.oci.tar     oci-archive, gzip layers   big.docker.tar  docker-archive
#   a.oci.tar, b.oci.tar  big + one small layer each (two images, one base)
#   a.flat.tar, b.flat.tar  the same two flattened into one rootfs tar
# MB/s is of the archive; content/s of the image unpacked (big.docker.tar).
# Times are wall clock from a warm page cache (the archive is read once
# before), with `sync` before each run; each run gets a fresh store.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=5 WORK='' KEEP=0
while getopts n:w:h opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    w) WORK=$OPTARG KEEP=1 ;;
    *) sed -n '2,27p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench-images: -n wants a positive number" >&2; exit 2; }
DIRS=("$@")
[[ ${#DIRS[@]} -gt 0 ]] || DIRS=(/usr/lib/python3.11 /usr/lib/gcc /usr/share/perl)
MD=${MYDOCKER_BIN:-$PWD/out/mydocker-$(uname -m)}
DRIVERS=${BENCH_DRIVERS:-vfs overlay}
[[ $(id -u) == 0 ]] || { echo "bench-images: run as root" >&2; exit 2; }
for t in buildah podman skopeo busybox; do
  command -v $t > /dev/null || { echo "bench-images: $t not found" >&2; exit 2; }
done
for d in "${DIRS[@]}"; do [[ -d $d ]] || { echo "bench-images: $d is not a directory" >&2; exit 2; }; done

if [[ -z $WORK ]]; then WORK=$(mktemp -d /var/tmp/bench-images.XXXXXX); fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
BST="--root $WORK/build/root --runroot $WORK/build/run --storage-driver overlay"

# drop_store DIR: unmount what is mounted under DIR (containers/storage's
# overlay driver bind-mounts ROOT/overlay on itself and skopeo leaves it so),
# deepest first, then remove DIR.
drop_store() {
  local d=$1 m
  [[ -e $d ]] || return 0
  while read -r m; do umount "$m"; done < <(awk -v d="$d/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf "$d"
}
cleanup() {
  drop_store "$WORK/store"
  drop_store "$WORK/build/root"
  rm -rf "$WORK/build"
  [[ $KEEP == 1 ]] || rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "bench-images: $*" >&2; }

# The test harness's host-wide lock (other people run containers on this
# host), held around the mydocker parts only. A caller that already holds it
# (`flock /tmp/mydocker-host.lock bench-images.sh`) passes its descriptor
# down: taking it again on a new descriptor would wait for ourselves forever.
LOCK=/tmp/mydocker-host.lock
CALLER_LOCKED=0
for f in "/proc/$$/fd/"*; do
  [[ $(readlink "$f") == "$LOCK" ]] && CALLER_LOCKED=1
done
lk=
lock() {
  [[ $CALLER_LOCKED == 1 ]] && return
  exec {lk}> "$LOCK"
  flock "$lk"
}
unlock() {
  [[ $CALLER_LOCKED == 1 ]] && return
  exec {lk}>&-
}

# ------------------------------------------------------------ the archives
make_archives() {
  local r=$WORK/build/busybox c m
  rm -rf "$WORK/build"
  mkdir -p "$r"/{bin,etc,root,tmp}
  cp "$(command -v busybox)" "$r/bin/busybox"
  for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"; done
  echo "root:x:0:0:root:/root:/bin/sh" > "$r/etc/passwd"
  echo "root:x:0:" > "$r/etc/group"
  # shellcheck disable=SC2086
  {
    c=$(buildah $BST from scratch)
    buildah $BST copy -q "$c" "$r/" / > /dev/null
    buildah $BST commit -q --timestamp 0 --rm "$c" localhost/bench-base > /dev/null
    c=$(buildah $BST from localhost/bench-base)
    for d in "${DIRS[@]}"; do buildah $BST copy -q "$c" "$d" "$d" > /dev/null; done
    buildah $BST config --cmd '["/bin/sh"]' "$c"
    buildah $BST commit -q --timestamp 0 --rm "$c" localhost/bench-big > /dev/null
    for x in a b; do
      c=$(buildah $BST from localhost/bench-big)
      m=$(buildah $BST mount "$c")
      echo "image $x" > "$m/$x"
      tar --numeric-owner -C "$m" -cf "$WORK/$x.flat.tar.tmp" .
      buildah $BST umount "$c" > /dev/null
      buildah $BST commit -q --timestamp 0 --rm "$c" "localhost/bench-$x" > /dev/null
      podman $BST save -q --format oci-archive -o "$WORK/$x.oci.tar.tmp" "localhost/bench-$x"
    done
    podman $BST save -q --format oci-archive -o "$WORK/big.oci.tar.tmp" localhost/bench-big
    podman $BST save -q --format docker-archive -o "$WORK/big.docker.tar.tmp" localhost/bench-big
  }
  for f in big.oci big.docker a.oci b.oci a.flat b.flat; do mv "$WORK/$f.tar.tmp" "$WORK/$f.tar"; done
  drop_store "$WORK/build/root"
  rm -rf "$WORK/build"
}
if [[ ! -f $WORK/b.flat.tar ]]; then
  log "making archives from ${DIRS[*]} in $WORK"
  make_archives
fi
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1e6 }'; }
log "archives: big.oci.tar $(mb "$WORK/big.oci.tar") MB (gzip), big.docker.tar $(mb "$WORK/big.docker.tar") MB, a/b.oci.tar $(mb "$WORK/a.oci.tar")/$(mb "$WORK/b.oci.tar") MB"

HAVE_LOAD=0
if [[ -x $MD ]] && "$MD" --help 2>&1 | grep -q '^  load '; then HAVE_LOAD=1
else log "$MD has no load command: its rows are skipped"; fi

# ------------------------------------------------------------ load speed
STORE=$WORK/store
now() { date +%s%N; }
# bench LABEL ARCHIVE CMD...: RUNS timed runs of CMD (with $STORE fresh and
# empty each time); prints one table row: median seconds and archive MB/s.
bench() {
  local label=$1 archive=$2 i t0 t1 times=()
  shift 2
  cat "$archive" > /dev/null
  for ((i = 0; i < RUNS; i++)); do
    drop_store "$STORE"
    mkdir -p "$STORE"
    sync
    t0=$(now)
    "$@" > "$WORK/cmd.out" 2>&1 || { cat "$WORK/cmd.out" >&2; log "FAILED: $*"; return 1; }
    t1=$(now)
    times+=("$((t1 - t0))")
  done
  drop_store "$STORE"
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" -v bytes="$(stat -c %s "$archive")" -v content="$CONTENT" '
    { t[NR] = $1 / 1e9 }
    END { m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
          printf "%-56s %7.3f %7.1f %7.1f %9.1f\n", label, m, bytes / 1e6, bytes / 1e6 / m, content / 1e6 / m }'
}
# the image's uncompressed size: the docker-archive's (layer tars + small files)
CONTENT=$(stat -c %s "$WORK/big.docker.tar")
cs() { echo "containers-storage:[$1@$STORE/root+$STORE/run]localhost/bench-big:latest"; }

printf '%-56s %7s %7s %7s %9s\n' "load (median of $RUNS runs)" "sec" "MB" "MB/s" "content/s"
for f in oci docker; do
  a=$WORK/big.$f.tar
  if [[ $HAVE_LOAD == 1 ]]; then
    lock
    bench "mydocker load ($f)" "$a" "$MD" --root "$STORE" load -q -i "$a"
    unlock
  fi
  for drv in $DRIVERS; do
    bench "podman load ($f, $drv)" "$a" \
      podman --root "$STORE/root" --runroot "$STORE/run" --storage-driver "$drv" load -q -i "$a"
  done
  for drv in $DRIVERS; do
    bench "skopeo copy $f-archive: containers-storage ($drv)" "$a" \
      skopeo copy -q "$f-archive:$a" "$(cs "$drv")"
  done
done
if [[ -x $MD ]]; then
  # the old way in: one flattened rootfs tar per image
  lock
  bench "mydocker import (flattened rootfs tar)" "$WORK/a.flat.tar" "$MD" --root "$STORE" import "$WORK/a.flat.tar" a
  unlock
fi
bench "skopeo copy oci-archive: oci:DIR" "$WORK/big.oci.tar" \
  skopeo copy -q "oci-archive:$WORK/big.oci.tar" "oci:$STORE/oci:latest"

# ------------------------------------------------------------ disk use
# two images sharing the big base: the layer store against one flattened
# copy per image (the old store), as apparent bytes and allocated disk.
du_row() {
  printf '%-56s %12s %12s\n' "$1" "$(du -sb "$2" | cut -f1)" "$(($(du -sk "$2" | cut -f1) * 1024))"
}
echo
printf '%-56s %12s %12s\n' "disk: images a + b (shared base)" "du -sb" "du -s (B)"
drop_store "$STORE"
if [[ $HAVE_LOAD == 1 ]]; then
  lock
  "$MD" --root "$STORE/md" load -q -i "$WORK/a.oci.tar" > /dev/null
  "$MD" --root "$STORE/md" load -q -i "$WORK/b.oci.tar" > /dev/null
  du_row "mydocker load a, b (layers shared)" "$STORE/md"
  "$MD" --root "$STORE/mdflat" import "$WORK/a.flat.tar" a > /dev/null
  "$MD" --root "$STORE/mdflat" import "$WORK/b.flat.tar" b > /dev/null
  du_row "mydocker import a, b (flattened each)" "$STORE/mdflat"
  unlock
elif [[ -x $MD ]]; then
  lock
  "$MD" --root "$STORE/mdflat" import "$WORK/a.flat.tar" a > /dev/null
  "$MD" --root "$STORE/mdflat" import "$WORK/b.flat.tar" b > /dev/null
  du_row "mydocker import a, b (flattened each)" "$STORE/mdflat"
  unlock
fi
mkdir -p "$STORE/flat/a" "$STORE/flat/b"
tar -C "$STORE/flat/a" -xf "$WORK/a.flat.tar"
tar -C "$STORE/flat/b" -xf "$WORK/b.flat.tar"
du_row "plain rootfs dirs a, b (tar -x)" "$STORE/flat"
for drv in $DRIVERS; do
  for x in a b; do
    podman --root "$STORE/p-$drv" --runroot "$STORE/run-$drv" --storage-driver "$drv" load -q -i "$WORK/$x.oci.tar" > /dev/null
  done
  du_row "podman load a, b ($drv)" "$STORE/p-$drv"
  drop_store "$STORE/p-$drv"
done
drop_store "$STORE"

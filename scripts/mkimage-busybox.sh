#!/bin/sh
# Build a minimal busybox rootfs tarball for the demo and the tests.
#   usage: mkimage-busybox.sh OUT.tar [BUSYBOX]
# BUSYBOX defaults to Debian's busybox-static (/bin/busybox). The applet
# links are made from `busybox --list` of a busybox that runs here; a
# foreign-arch busybox gets the host's list (both come from the same
# Debian version).
set -eu
out=$1
bb=${2:-/bin/busybox}
[ -x "$bb" ] || { echo "mkimage-busybox: $bb not found (apt-get install busybox-static)" >&2; exit 2; }
lister=$bb
"$bb" true 2>/dev/null || lister=/bin/busybox
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/rootfs
mkdir -p "$r/bin" "$r/etc" "$r/root" "$r/tmp" "$r/proc" "$r/sys" "$r/dev" "$r/usr/bin" "$r/usr/sbin" "$r/sbin" "$r/var/www"
chmod 1777 "$r/tmp"
cp "$bb" "$r/bin/busybox"
chmod 0755 "$r/bin/busybox"
for app in $("$lister" --list); do
    [ "$app" = busybox ] || ln -sf busybox "$r/bin/$app"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$r/etc/passwd"
echo "root:x:0:" > "$r/etc/group"
echo "hello from mydocker" > "$r/var/www/index.html"
tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$out" .

# shellcheck shell=sh
# Guest-side smoke test (busybox sh -ex, as root, in the QEMU guest).
# The guest has no tar of mydocker's, no ip, no iptables: everything below
# is mydocker itself plus busybox. Builds the image from the guest's own
# busybox, then walks the demo and the book's chapter 5: run -d top, ps,
# logs, exec, stop, start, restart, commit, rm; exit statuses; limits.
mydocker version
mydocker info
mkdir -p /img/bin /img/etc /img/root /img/tmp
cp /bin/busybox /img/bin/busybox
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "/img/bin/$a"; done
echo "root:x:0:0:root:/root:/bin/sh" > /img/etc/passwd
mkdir -p /img/www && echo "hello from a published port" > /img/www/index.html
(cd /img && tar -cf /tmp/busybox.tar .)
mydocker import /tmp/busybox.tar busybox
mydocker images

# -d: the CLI returns, the container keeps running.
id=$(mydocker run -d --name top busybox top -b)
[ ${#id} = 64 ]
sleep 3
mydocker ps
mydocker ps | grep -q 'Up .* top$'
pid=$(sed -n 's/^pid=//p' "/var/lib/mydocker/containers/$id/config" | tail -n 1)
[ -d "/proc/$pid" ]
mydocker logs top | grep -q 'Mem:'

# run --rm returns the program's status; a signal death is 128+N.
rc=0; mydocker run --rm busybox sh -c 'exit 7' || rc=$?
[ $rc = 7 ]
rc=0; mydocker run --rm --init busybox sh -c 'kill -TERM $$' || rc=$?
[ $rc = 143 ]
rc=0; mydocker run --rm busybox no-such-cmd || rc=$?
[ $rc = 127 ]
# a --rm container lives on the run-time tmpfs, and is gone after
rid=$(mydocker run -d --rm busybox sleep 2)
[ -f "/run/mydocker/containers/$rid/config" ]
[ "$(stat -f -c %T /run/mydocker)" = tmpfs ]
sleep 3
[ ! -e "/run/mydocker/containers/$rid" ]
# the rootfs is really the image, the hostname the short id
mydocker run --rm -h smokebox busybox sh -c 'hostname; test -e /bin/mydocker && exit 1; cat /etc/passwd'

# -m is enforced: the hog is OOM-killed.
rc=0; mydocker run --rm -m 32m busybox dd if=/dev/zero of=/dev/null bs=100M count=1 || rc=$?
[ $rc = 137 ]
# pids limit and cpuset
mydocker run --rm --pids-limit 10 --cpuset-cpus 0 busybox grep Cpus_allowed_list /proc/self/status | grep -q '0$'

# chapter 5: exec, stop, start (write layer kept), restart, commit, rm
[ "$(mydocker exec top cat /proc/1/comm)" = top ]
mydocker exec top sh -c 'echo written > /kept'
rc=0; mydocker exec top sh -c 'exit 9' || rc=$?
[ $rc = 9 ]
mydocker stop top
mydocker ps -a | grep -q 'Exited'
rc=0; mydocker exec top true || rc=$?
[ $rc = 125 ]
mydocker start top
sleep 1
mydocker ps | grep -q 'Up .* top$'
[ "$(mydocker exec top cat /kept)" = written ]
mydocker restart -t 1 top
[ "$(mydocker exec top cat /kept)" = written ]
mydocker commit top snap
[ "$(mydocker run --rm snap cat /kept)" = written ]
mydocker inspect top | grep -q '"Running":true'
mydocker rm -f top
mydocker rmi snap
# chapter 6 without ip/iptables/nft: bridge network, IPAM, NAT over
# netlink, a published port reached from the guest itself.
! command -v iptables
mydocker network create --subnet 172.31.0.0/24 n
mydocker network ls | grep -q '172.31.0.0/24'
mydocker run -d --name web -p 8080:80 --network n busybox httpd -f -p 80 -h /www
sleep 1
wget -qO- http://127.0.0.1:8080/ | grep -q 'hello from a published port'
mydocker ps | grep -q '0.0.0.0:8080->80/tcp'
mydocker run --rm --network n busybox ping -c 1 -W 3 172.31.0.2
mydocker run --rm --network n busybox wget -qO- http://172.31.0.2/ | grep -q published
rc=0; mydocker network rm n || rc=$?
[ $rc != 0 ]
mydocker rm -f web
mydocker network rm n
# no bridge or veth left: an unmatched glob stays literal and does not exist
for n in /sys/class/net/br-* /sys/class/net/ve*; do [ ! -e "$n" ]; done
[ -z "$(mydocker ps -aq)" ]
[ -z "$(ls /var/lib/mydocker/containers)" ]
! grep -q mydocker /proc/self/mountinfo
echo "smoke: all mydocker checks passed"

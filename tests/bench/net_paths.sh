#!/bin/bash
# Benchmark (not a test): TCP throughput guest->host and host->guest over
# virtio-net for the userspace data path vs vhost-net, 1 vs 2 queue pairs,
# offloads on vs off, plus kvmlab's host CPU time per GB moved.
#
#   KVMLAB=build/kvmlab GUESTS=build/guests bash tests/bench/net_paths.sh
# as root on a host with /dev/kvm, or on any machine through the emulated
# host:
#   tests/nested/run --cpus 2 --memory 3G -- env KVMLAB=build/kvmlab \
#       GUESTS=build/guests bash tests/bench/net_paths.sh
#
# What it measures: for each configuration one guest boots (2 vCPUs,
# 384 MiB), then runs `kvmlab-guest net stream` for $SECONDS_EACH seconds
# with $STREAMS TCP streams, first sending (guest->host), then receiving,
# against a `kvmlab-guest net server` in a network namespace on the host
# side of the tap.  Throughput is the guest tool's figure (bytes moved /
# wall time).  CPU is utime + stime of every kvmlab thread (from
# /proc/PID/stat at exit, via --stats not needed) divided by the bytes moved;
# vhost's kernel threads are not kvmlab's and are not counted, which is
# the point of vhost but worth keeping in mind.  In the emulated host every
# figure is slowed by software emulation: compare rows, not absolutes.
set -u
: "${KVMLAB:?}" "${GUESTS:?}"
SECONDS_EACH=${SECONDS_EACH:-5}
STREAMS=${STREAMS:-4}
REPEAT=${REPEAT:-1}
GB=$GUESTS/kvmlab-guest
NS=kvmlab-bench-$$
HOST=10.78.0.1
GUESTIP=10.78.0.2
TMP=$(mktemp -d)
modprobe -a tun vhost_net 2>/dev/null
ip netns add "$NS" || { echo "cannot create a network namespace (needs root)" >&2; exit 2; }
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx "$GB" net server --port 5201 >/dev/null 2>&1 &
srv=$!
hz=$(getconf CLK_TCK)
if [ -e /dev/kvm ] && ! grep -qw hypervisor /proc/cpuinfo; then where=hardware; else where=virtualized; fi

# run NAME QUEUES NETOPTS -> one line per direction
run() {
	local name=$1 queues=$2 opts=$3 tap=kvb$$ rep
	for ((rep = 1; rep <= REPEAT; rep++)); do
		nsx ip tuntap add dev "$tap" mode tap vnet_hdr $([ "$queues" -gt 1 ] && echo multi_queue)
		nsx ip addr add "$HOST/24" dev "$tap"
		nsx ip link set "$tap" up
		nsx "$KVMLAB" run --cpus 2 --memory 384M --net "tap=$tap,queues=$queues,$opts" -- sh -c "
ip addr add $GUESTIP/24 dev eth0 && ip link set eth0 up && ping -c 1 -W 5 $HOST >/dev/null
kvmlab-guest net stream --to $HOST --streams $STREAMS --seconds $SECONDS_EACH --direction send
kvmlab-guest net stream --to $HOST --streams $STREAMS --seconds $SECONDS_EACH --direction recv
" >"$TMP/out" 2>"$TMP/err" </dev/null &
		local pid=$! ticks=0
		# CPU of kvmlab's threads, sampled until it exits
		while kill -0 "$pid" 2>/dev/null; do
			local t
			t=$(awk '{print $14 + $15}' /proc/"$(pgrep -P "$pid" -x kvmlab || echo "$pid")"/stat 2>/dev/null)
			[ -n "$t" ] && ticks=$t
			sleep 0.5
		done
		wait "$pid"
		nsx ip link del "$tap"
		local bytes_total
		bytes_total=$(grep -o '"bytes":[0-9]*' "$TMP/out" | cut -d: -f2 | paste -sd+ | bc)
		for dir in send recv; do
			local line mbps
			line=$(grep "\"mode\":\"stream\",\"direction\":\"$dir\"" "$TMP/out")
			mbps=$(echo "$line" | grep -o '"mbps":[0-9.]*' | cut -d: -f2)
			printf "%-22s %-11s %8s Mbit/s   kvmlab CPU %6.2f s/GB (whole run)\n" \
				"$name" "$([ $dir = send ] && echo guest-host || echo host-guest)" \
				"${mbps:-FAIL}" \
				"$(echo "scale=3; $ticks / $hz / (${bytes_total:-1} / 1000000000)" | bc)"
		done
	done
}

echo "# virtio-net data paths, $STREAMS TCP streams, ${SECONDS_EACH}s each way, $where host, kernel $(uname -r)"
echo "# relative figures: compare rows of one run"
run "userspace 1q"          1 "vhost=off"
run "vhost 1q"              1 "vhost=on"
run "userspace 2q"          2 "vhost=off,iothreads=2"
run "vhost 2q"              2 "vhost=on"
run "userspace 1q nooff"    1 "vhost=off,offloads=off"
run "vhost 1q nooff"        1 "vhost=on,offloads=off"

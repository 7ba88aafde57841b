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
# wall time).  CPU is utime + stime - guest_time of all kvmlab threads
# (/proc/PID/stat: what kvmlab itself burnt, not the guest's own work),
# sampled when the guest announces each phase, divided by the bytes moved;
# vhost's kernel threads are not kvmlab's and are not counted, which is
# the point of vhost but worth keeping in mind.  In the emulated host every
# figure is slowed by software emulation: compare rows, not absolutes.
set -u
: "${KVMLAB:?}" "${GUESTS:?}"
SECONDS_EACH=${SECONDS_EACH:-5}
STREAMS=${STREAMS:-4}
REPEAT=${REPEAT:-2}
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

# kvmlab's CPU ticks so far (all threads) outside the guest: utime + stime
# minus guest_time (a vCPU thread's time in the guest counts as its utime)
ticks() { awk '{print $14 + $15 - $43}' /proc/"$1"/stat 2>/dev/null; }

# run NAME QUEUES NETOPTS -> one line per direction and repeat
run() {
	local name=$1 queues=$2 opts=$3 tap=kvb$$ rep dir
	for ((rep = 1; rep <= REPEAT; rep++)); do
		nsx ip tuntap add dev "$tap" mode tap vnet_hdr $([ "$queues" -gt 1 ] && echo multi_queue)
		nsx ip addr add "$HOST/24" dev "$tap"
		nsx ip link set "$tap" up
		: >"$TMP/out"
		# the guest announces each phase; kvmlab's CPU is sampled there
		ip netns exec "$NS" "$KVMLAB" run --cpus 2 --memory 384M \
			--net "tap=$tap,queues=$queues,$opts" -- sh -c "
ip addr add $GUESTIP/24 dev eth0 && ip link set eth0 up && ping -c 1 -W 5 $HOST >/dev/null
for d in send recv; do echo PHASE-\$d
kvmlab-guest net stream --to $HOST --streams $STREAMS --seconds $SECONDS_EACH --direction \$d; done
echo PHASE-end; sleep 2" >"$TMP/out" 2>"$TMP/err" </dev/null &
		local pid=$! t_send='' t_recv='' t_end='' i phase
		# cheap polling (every fork costs in an emulated host): one grep
		# per half second; the guest lingers 2 s after its last phase
		for ((i = 0; i < 1200; i++)); do
			phase=$(grep -o '^PHASE-[a-z]*' "$TMP/out" | tail -n 1)
			case $phase in
			PHASE-send) [ -z "$t_send" ] && t_send=$(ticks "$pid") ;;
			PHASE-recv) [ -z "$t_recv" ] && t_recv=$(ticks "$pid") ;;
			PHASE-end) t_end=$(ticks "$pid"); break ;;
			esac
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		wait "$pid"
		nsx ip link del "$tap"
		for dir in send recv; do
			local line mbps bytes t0 t1
			line=$(grep "\"mode\":\"stream\",\"direction\":\"$dir\"" "$TMP/out")
			mbps=$(echo "$line" | grep -o '"mbps":[0-9.]*' | cut -d: -f2)
			bytes=$(echo "$line" | grep -o '"bytes":[0-9]*' | cut -d: -f2)
			if [ $dir = send ]; then t0=$t_send t1=$t_recv; else t0=$t_recv t1=$t_end; fi
			if [ -z "$mbps" ] || [ -z "$t0" ] || [ -z "$t1" ] || [ "${bytes:-0}" -eq 0 ]; then
				printf "%-20s %-11s FAILED (see below)\n" "$name" "$dir"
				tail -n 5 "$TMP/err" "$TMP/out" >&2
				continue
			fi
			printf "%-20s %-11s %9.1f Mbit/s   kvmlab CPU outside the guest %7.2f s/GB\n" \
				"$name" "$([ $dir = send ] && echo guest-host || echo host-guest)" "$mbps" \
				"$(echo "scale=4; ($t1 - $t0) / $hz / ($bytes / 1000000000)" | bc)"
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

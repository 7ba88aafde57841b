# Shared by the virtio-net tests (sourced after lib.sh): a network
# namespace made for the test (nothing leaves the emulated host), taps in
# it with the host address, a kvmlab-guest net server, and netrun, which
# boots a guest that pings the host and moves 64 MiB each way with
# checksums.
GB=$GUESTS/kvmlab-guest
NS=kvmlab-net-$$
HOST=10.77.0.1
GUESTIP=10.77.0.2

modprobe -a tun 2>/dev/null
ip netns add "$NS" || { bad "cannot create network namespace $NS (needs root)"; finish; }
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up

# tap NAME QUEUES MTU: a persistent tap in the namespace with the host address
tap() {
	nsx ip tuntap add dev "$1" mode tap vnet_hdr $([ "$2" -gt 1 ] && echo multi_queue)
	nsx ip link set "$1" mtu "$3"
	nsx ip addr add "$HOST/24" dev "$1"
	nsx ip link set "$1" up
}
untap() { nsx ip link del "$1"; }

# ip netns exec directly, not through nsx: $! must be the server itself
# (ip execs it), or the kill in cleanup hits a subshell and the server
# outlives the test
ip netns exec "$NS" "$GB" net server --port 5201 >"$TMP/server.out" 2>&1 &
srv=$!

# the guest side: address, ping, then 64 MiB each way, checked with a seed
guest_cmd() {
	echo "ip addr add $GUESTIP/24 dev eth0 && ip link set eth0 up &&
ping -c 3 -W 5 $HOST >/dev/null && echo PING-OK;
kvmlab-guest net send-file --to $HOST --bytes 64M --seed 21;
kvmlab-guest net recv-file --from $HOST --bytes 64M --seed 22;
echo mtu=\$(cat /sys/class/net/eth0/mtu);
echo queues=\$(ls /sys/class/net/eth0/queues | tr '\n' ' ');
$1"
}

# netrun NAME TAP QUEUES MTU NETOPTS [EXTRA-GUEST-CMD]; $NETRUN_CMDLINE, if
# set, replaces the guest kernel command line
netrun() {
	local name=$1
	tap "$2" "$3" "$4"
	status=0
	# (a bound well inside the test's 600 s, so a stalled case fails with its
	# own stats and the other cases still run)
	timeout 300 ip netns exec "$NS" "$KVMLAB" run --cpus 2 --memory 384M --stats \
		${NETRUN_CMDLINE:+--cmdline "$NETRUN_CMDLINE"} \
		--net "tap=$2,$5" -- sh -c "$(guest_cmd "${6:-}")" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null || status=$?
	expect_status "$name" 0
	expect_grep "$name" out '^PING-OK'
	# guest -> host, checked by the server (its verdict comes back)
	expect_grep "$name" out '"mode":"verify".*"direction":"send".*"bytes":67108864.*"ok":true'
	# host -> guest, checked in the guest
	expect_grep "$name" out '"mode":"verify".*"direction":"recv".*"bytes":67108864.*"ok":true'
	untap "$2"
}


#!/bin/bash
# virtio-net over tap, inside a network namespace this test creates (nothing
# leaves the emulated host): ping both ways, a 64 MiB TCP transfer in each
# direction with a checksum, 2 queue pairs, offloads off, MTU 9000, and a
# tap kvmlab creates and removes itself.
. "$(dirname "$0")/lib.sh"
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

nsx "$GB" net server --port 5201 >"$TMP/server.out" 2>&1 &
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

# netrun NAME TAP QUEUES MTU NETOPTS [EXTRA-GUEST-CMD]
netrun() {
	local name=$1
	tap "$2" "$3" "$4"
	status=0
	timeout 600 ip netns exec "$NS" "$KVMLAB" run --cpus 2 --memory 384M --stats \
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

netrun basic kvt0 1 1500 "queues=1"
expect_grep basic err 'virtio-net eth0 .*tap=kvt0'
expect_grep basic err 'virtio-net eth0 q0 \(rx0\): packets=[1-9]'
expect_grep basic err 'virtio-net eth0 q1 \(tx0\): packets=[1-9]'

# 16 flows each way: the tap and the guest spread them over both pairs
netrun mq kvt1 2 1500 "queues=2,iothreads=2" \
	"kvmlab-guest net stream --to $HOST --streams 16 --seconds 3 --direction recv >/dev/null;
kvmlab-guest net stream --to $HOST --streams 16 --seconds 3 --direction send >/dev/null"
expect_grep mq out '^queues=rx-0 rx-1 tx-0 tx-1'
for q in 'q0 \(rx0\)' 'q1 \(tx0\)' 'q2 \(rx1\)' 'q3 \(tx1\)'; do
	expect_grep mq err "virtio-net eth0 $q: packets=[1-9]"
done
netrun nooff kvt2 1 1500 "offloads=off"
netrun jumbo kvt3 1 9000 "mtu=9000"
expect_grep jumbo out '^mtu=9000'

# a missing tap is created for the run and gone afterwards
status=0
timeout 300 ip netns exec "$NS" "$KVMLAB" run --memory 64M --kernel "$GUESTS/hello" \
	--net tap=kvnew0 >"$TMP/new.out" 2>"$TMP/new.err" </dev/null || status=$?
expect_status new 0
if nsx test -e /sys/class/net/kvnew0; then
	bad "the tap kvmlab created is still there after exit"
else
	ok "the tap kvmlab created is gone after exit"
fi
# bad values: exit 2, one line
run_vm badmac run --net tap=x,mac=zz -- true
expect_status badmac 2
expect_grep badmac err "^kvmlab: --net: mac='zz'"

finish

#!/bin/bash
# virtio-net over tap, inside a network namespace this test creates (nothing
# leaves the emulated host): ping both ways, a 64 MiB TCP transfer in each
# direction with a checksum, 2 queue pairs, offloads off, MTU 9000, and a
# tap kvmlab creates and removes itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netlib.sh"

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

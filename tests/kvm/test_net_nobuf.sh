#!/bin/bash
# virtio-net receive with no buffers posted: the netnobuf guest sets up
# queues 0 and 1 but posts no rx buffer until a byte comes on its UART
# (kvmlab's stdin, a fifo here), halting meanwhile.  While it waits, ~3 s
# of UDP datagrams go from the namespace out of the tap toward the guest (a static
# neighbour entry for the guest's address, so no ARP is needed): kvmlab
# must not spin (its CPU time over that stretch stays well under a
# second) and must count the back-pressure.  Then the guest posts 8
# buffers and must receive the frames that waited in the tap.
. "$(dirname "$0")/lib.sh"
NS=kvmlab-nobuf-$$
TAP=kvnb0
HOST=10.78.0.1
GUESTIP=10.78.0.2
GUESTMAC=02:4b:4c:00:00:01 # kvmlab's default MAC for the first --net
CPU_MAX=0.5		   # CPU seconds kvmlab may use while they are sent

modprobe -a tun 2>/dev/null
ip netns add "$NS" || { bad "cannot create network namespace $NS (needs root)"; finish; }
cleanup() {
	[ -n "${vm:-}" ] && kill "$vm" 2>/dev/null
	[ -n "${guard:-}" ] && pkill -P "$guard" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev "$TAP" mode tap vnet_hdr
nsx sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null # only our frames
nsx ip addr add "$HOST/24" dev "$TAP"
nsx ip link set "$TAP" up
nsx ip neigh replace "$GUESTIP" lladdr "$GUESTMAC" dev "$TAP" nud permanent

# cpu_ticks PID: utime + stime of the whole process, in clock ticks
cpu_ticks() {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# kvmlab's stdin: a fifo this shell holds open for reading and writing (so
# neither open blocks and kvmlab never sees end of input early)
mkfifo "$TMP/stdin"
exec 3<>"$TMP/stdin"
name=nobuf
ip netns exec "$NS" "$KVMLAB" run --kernel "$GUESTS/netnobuf" --net "tap=$TAP" --stats \
	--memory 64M <"$TMP/stdin" >"$TMP/$name.out" 2>"$TMP/$name.err" 3>&- &
vm=$! # ip netns exec execs kvmlab: the same process
(sleep 300 && kill "$vm") >/dev/null 2>&1 </dev/null & # a hang guard
guard=$!

if ! wait_for "$TMP/$name.out" '^netnobuf: ready, no rx buffers' 60; then
	bad "$name: the guest did not get ready"
	sed 's/^/  out: /' "$TMP/$name.out" >&2
	sed 's/^/  err: /' "$TMP/$name.err" >&2
	finish
fi
ok "$name: guest ready with no rx buffers ($(grep -m1 '^netnobuf: features' "$TMP/$name.out" | tr -d '\r'))"
comm=$(cat "/proc/$vm/comm" 2>/dev/null)
[ "$comm" = kvmlab ] || bad "$name: pid $vm is '$comm', not kvmlab"

# ~3 s of UDP datagrams out of the tap toward the guest, which has no
# buffers (bash's /dev/udp: the emulated host has no ping or netcat).
# send_udp FIFO: one datagram every 10 ms for 3 s (no fork per datagram:
# the pause is a read timing out on a fifo nobody writes); prints the count
send_udp() {
	local n=0 payload end
	payload=$(printf 'kvmlab-nobuf-%050d' 0) # 63 bytes + newline
	exec 9<>"$1"
	end=$((${EPOCHREALTIME/./} + 3000000))
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		echo "$payload" >"/dev/udp/$GUESTIP/9" && n=$((n + 1))
		read -r -t 0.01 -u 9
	done
	echo "$n"
}
mkfifo "$TMP/pause"
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks "$vm")
w0=$(date +%s.%N)
sent=$(nsx bash -c "GUESTIP=$GUESTIP; $(declare -f send_udp); send_udp $TMP/pause" 2>"$TMP/send.err")
t1=$(cpu_ticks "$vm")
w1=$(date +%s.%N)
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
wall=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')
echo "info: $name: ${sent:-?} datagrams sent in ${wall} s; kvmlab used ${cpu} CPU-s meanwhile"
if [ "${sent:-0}" -ge 100 ]; then
	ok "$name: $sent datagrams sent toward the guest"
else
	bad "$name: only '${sent:-}' datagrams sent"
	sed 's/^/  send: /' "$TMP/send.err" >&2
fi
if awk -v c="$cpu" -v m="$CPU_MAX" 'BEGIN { exit !(c < m) }'; then
	ok "$name: kvmlab used $cpu CPU-s (< $CPU_MAX) while the guest had no rx buffers"
else
	bad "$name: kvmlab used $cpu CPU-s (>= $CPU_MAX) in ${wall} s while the guest had no rx buffers: spinning"
fi
if kill -0 "$vm" 2>/dev/null && ! grep -q '^netnobuf: posting' "$TMP/$name.out"; then
	ok "$name: the guest is still waiting"
else
	bad "$name: the guest stopped waiting before it was told to"
fi

# let the guest post its buffers: the frames that waited in the tap arrive
echo go >&3
status=0
wait "$vm" || status=$?
vm=
pkill -P "$guard" 2>/dev/null # its sleep; the subshell then ends
guard=
exec 3>&-
expect_status "$name" 0
expect_grep "$name" out '^netnobuf: received [1-9][0-9]* frames, first len [0-9]+'
line=$(grep -m1 'virtio-net eth0 q0 (rx0):' "$TMP/$name.err")
echo "info: $name: $(grep -m1 '^netnobuf: received' "$TMP/$name.out" | tr -d '\r')"
echo "info: $name: ${line:-no rx0 stats line}"
expect_grep "$name" err 'virtio-net eth0 q0 \(rx0\): packets=[1-9][0-9]* .*drops=[0-9]+ .*backpressure=[1-9]'
pkts=$(sed -n 's/.* packets=\([0-9]*\) .*/\1/p' <<<"$line")
drops=$(sed -n 's/.* drops=\([0-9]*\) .*/\1/p' <<<"$line")
if [ -n "$pkts" ] && [ -n "$drops" ] && [ $((pkts + drops)) -ge 1 ]; then
	ok "$name: rx0 packets=$pkts + drops=$drops >= 1"
else
	bad "$name: rx0 counters missing or zero: '$line'"
fi

finish

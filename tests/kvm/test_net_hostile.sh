#!/bin/bash
# Hostile virtio-net driver (guests/nethostile.c): malformed transmit
# chains, receive buffers that cannot take a frame, control-queue garbage
# and broken rings, then the tap deleted under the running VM.  Meanwhile
# 1000-byte datagrams come from the namespace toward the guest, larger than
# any receive buffer it posts.  Here: kvmlab survives (exit 0, seccomp on),
# counts one NEEDS_RESET per attack meant to cause one, for the cause aimed
# at, drops the too-large frames and counts them, counts the malformed
# chains, and neither spins nor stalls once the tap is gone.
. "$(dirname "$0")/lib.sh"
NS=kvmlab-nhost-$$
TAP=kvnh0
HOST=10.79.0.1
GUESTIP=10.79.0.2
GUESTMAC=02:4b:4c:00:00:01 # kvmlab's default MAC for the first --net
CPU_MAX=0.5		   # CPU seconds kvmlab may use in the 2 s after the tap goes

modprobe -a tun 2>/dev/null
ip netns add "$NS" || { bad "cannot create network namespace $NS (needs root)"; finish; }
cleanup() {
	[ -n "${sender:-}" ] && kill "$sender" 2>/dev/null
	[ -n "${vm:-}" ] && kill "$vm" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx ip tuntap add dev "$TAP" mode tap vnet_hdr
nsx sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null
nsx ip addr add "$HOST/24" dev "$TAP"
nsx ip link set "$TAP" up
nsx ip neigh replace "$GUESTIP" lladdr "$GUESTMAC" dev "$TAP" nud permanent

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

mkfifo "$TMP/stdin"
exec 3<>"$TMP/stdin"
ip netns exec "$NS" "$KVMLAB" run --kernel "$GUESTS/nethostile" --net "tap=$TAP" --stats \
	--memory 64M <"$TMP/stdin" >"$TMP/nh.out" 2>"$TMP/nh.err" 3>&- &
vm=$!

# 1000-byte datagrams every 10 ms until stopped (bash's /dev/udp; the pause
# is a read timing out on a fifo nobody writes)
mkfifo "$TMP/pause"
nsx bash -c "exec 9<>$TMP/pause; p=\$(printf '%01000d' 0)
	while :; do echo \"\$p\" >/dev/udp/$GUESTIP/9; read -r -t 0.01 -u 9; done" \
	>/dev/null 2>&1 </dev/null &
sender=$!

if wait_for "$TMP/nh.out" 'tap phase ready' 400; then
	kill "$sender" 2>/dev/null
	wait "$sender" 2>/dev/null
	sender=
	nsx ip link del "$TAP" && ok "tap deleted under the running VM" || bad "cannot delete $TAP"
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "$vm")
	sleep 2
	t1=$(cpu_ticks "$vm")
	cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
	if awk -v c="$cpu" -v m="$CPU_MAX" 'BEGIN { exit !(c < m) }'; then
		ok "kvmlab used $cpu CPU-s (< $CPU_MAX) in the 2 s after the tap went"
	else
		bad "kvmlab used $cpu CPU-s (>= $CPU_MAX) in 2 s without its tap: spinning"
	fi
	echo go >&3
else
	bad "the guest never reached the tap phase"
fi
status=0
timeout 300 tail --pid="$vm" -f /dev/null || kill -KILL "$vm"
wait "$vm" || status=$?
vm=
exec 3>&-
tr -d '\r' <"$TMP/nh.out" >"$TMP/nh.tmp" && mv "$TMP/nh.tmp" "$TMP/nh.out"
expect_status nh 0
expect_grep nh out '^nethostile: all ok$'
expect_no_grep nh out 'FAIL'
expect_no_grep nh err 'seccomp'

summary=$(grep -E '^nethostile: [0-9]+ attacks, [0-9]+ expected NEEDS_RESET, 0 failed$' "$TMP/nh.out" || true)
n=$(echo "$summary" | awk '{print $2}')
resets=$(echo "$summary" | awk '{print $4}')
oks=$(grep -cE '^attack [a-z0-9-]+: ok(, NEEDS_RESET for [a-z-]+)?$' "$TMP/nh.out" || true)
if [ -n "$summary" ] && [ "$oks" -eq "$n" ]; then
	ok "$n attacks, each held"
else
	bad "summary '$summary', $oks ok lines"
	grep -E '^attack' "$TMP/nh.out" | grep -v ': ok' | sed 's/^/  /' >&2
fi
expect_grep nh err "virtio-net eth0 00:[0-9a-f]{2}\\.0: .* needs_reset=$resets\$"
want=$(sed -n 's/^attack [a-z0-9-]*: ok, NEEDS_RESET for //p' "$TMP/nh.out" | sort | uniq -c |
	awk '{print $2 "=" $1}' | sort | tr '\n' ' ')
got=$(sed -n 's/^kvmlab: virtio-net eth0 needs_reset causes: //p' "$TMP/nh.err" | tr ' ' '\n' |
	sort | tr '\n' ' ')
[ -n "$want" ] && [ "$want" = "$got" ] && ok "NEEDS_RESET causes as aimed: $got" ||
	bad "NEEDS_RESET causes: kvmlab counted '$got', the attacks aimed at '$want'"

# num KEY QUEUE-LABEL: a counter from a queue's stats line
num() { sed -n "s/.*virtio-net eth0 q[0-9]* ($2): .* $1=\\([0-9]*\\) .*/\\1/p" "$TMP/nh.err"; }
rxdrops=$(num drops rx0)
rxbad=$(num malformed rx0)
txbad=$(num malformed tx0)
txdrops=$(num drops tx0)
ctrlbad=$(num malformed ctrl)
echo "info: rx0 drops=$rxdrops malformed=$rxbad; tx0 drops=$txdrops malformed=$txbad; ctrl malformed=$ctrlbad"
[ "${rxdrops:-0}" -ge 1 ] && ok "rx0: frames too large for every buffer dropped and counted ($rxdrops)" ||
	bad "rx0: no drop counted"
[ "${rxbad:-0}" -ge 2 ] && ok "rx0: the readable and the tiny buffer counted malformed ($rxbad)" ||
	bad "rx0: malformed=$rxbad, expected >= 2"
[ "${txbad:-0}" -ge 3 ] && ok "tx0: short, writable and oversized chains counted malformed ($txbad)" ||
	bad "tx0: malformed=$txbad, expected >= 3"
# the 4 frames sent after the tap was deleted cannot go out
[ "${txdrops:-0}" -ge 4 ] && ok "tx0: frames without a tap dropped and counted ($txdrops)" ||
	bad "tx0: drops=$txdrops, expected >= 4"
[ "${ctrlbad:-0}" -ge 5 ] && ok "ctrl: bad commands counted ($ctrlbad)" || bad "ctrl: malformed=$ctrlbad, expected >= 5"
finish

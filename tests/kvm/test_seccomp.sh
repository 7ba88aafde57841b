#!/bin/bash
# --seccomp: with the default (on) every kvmlab thread (main, vcpuN, the IO
# threads of each device, api) runs under exactly one seccomp filter of its
# own (Seccomp: 2, Seccomp_filters: 1 in /proc/PID/task/TID/status: the
# lists are per thread, not stacked), the guest works through every device,
# and no violation is reported; log mode installs the same filters; off
# installs none; a bad value is exit 2 with one line.  (The whole kvm suite
# runs with the default, so a call missing from a list fails some test; the
# trap report itself is unit-tested in tests/unit/test_seccomp.c.)
. "$(dirname "$0")/lib.sh"

img=$TMP/img
dd if=/dev/zero of="$img" bs=1M count=16 status=none
SOCK=$TMP/api.sock

# check NAME MODE WANT_SECCOMP: boot with disk, rng, balloon and the API,
# read every thread's seccomp state while the guest runs
check() {
	local name=$1 mode=$2 want=$3 pid t comm sc nf kinds=
	"$KVMLAB" run --seccomp "$mode" --memory 256M --rng --balloon stats=on \
		--disk "path=$img,engine=io_uring,iothreads=2,queues=2" --api-socket "$SOCK" --stats -- \
		sh -c 'dd if=/dev/urandom of=/dev/vda bs=64k count=16 oflag=direct 2>/dev/null && sync &&
			head -c 4096 /dev/hwrng | wc -c && echo READY && sleep 600' \
		>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
	pid=$!
	# bounded wait for the guest (a hang guard, not a timing check)
	for ((i = 0; i < 1200; i++)); do
		grep -q READY "$TMP/$name.out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	"$KVMLAB" ctl "$SOCK" stats >"$TMP/$name.stats" 2>&1 || bad "$name: ctl stats failed"
	for t in /proc/"$pid"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		sc=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$t/status")
		nf=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' "$t/status")
		echo "$comm $sc $nf" >>"$TMP/$name.threads"
		if [ "$want" = 2 ] && { [ "$sc" != 2 ] || [ "$nf" != 1 ]; }; then
			bad "$name: thread $comm: Seccomp=$sc Seccomp_filters=$nf, expected 2 and 1"
		elif [ "$want" = 0 ] && [ "$sc" != 0 ]; then
			bad "$name: thread $comm: Seccomp=$sc, expected 0 (off)"
		fi
		case $comm in
		kvmlab) kinds="$kinds main" ;;
		vcpu0) kinds="$kinds vcpu" ;;
		io-vda-1) kinds="$kinds io-blk" ;;
		io-rng-0) kinds="$kinds io-rng" ;;
		io-balloon-0) kinds="$kinds io-balloon" ;;
		api) kinds="$kinds api" ;;
		esac
	done
	if [ "$(echo $kinds | tr ' ' '\n' | sort | tr '\n' ' ')" = "api io-balloon io-blk io-rng main vcpu " ]; then
		ok "$name: every thread kind seen with Seccomp=$want"
	else
		bad "$name: thread kinds seen: '$kinds'"
		sed 's/^/  thread: /' "$TMP/$name.threads" >&2
	fi
	"$KVMLAB" ctl "$SOCK" shutdown >/dev/null 2>&1 || bad "$name: ctl shutdown failed"
	status=0
	wait "$pid" || status=$?
	expect_status "$name" 0
	expect_grep "$name" out '^4096'
	expect_grep "$name" stats '"exits"'
	expect_no_grep "$name" err 'seccomp'
	expect_grep "$name" err 'io-vda-1'
}

check on on 2
check log log 2
check off off 0

run_vm bogus run --seccomp maybe --kernel "$GUESTS/hello"
expect_status bogus 2
expect_grep bogus err "^kvmlab: --seccomp: unknown value 'maybe' \(use on, off or log\)$"
[ "$(wc -l <"$TMP/bogus.err")" = 1 ] && ok "bogus: one line" || bad "bogus: $(wc -l <"$TMP/bogus.err") lines"

# a freestanding guest that ends in a triple fault: the error path runs
# under the filters too and says nothing about seccomp
run_vm fault run --kernel "$GUESTS/fault" --stats
expect_status fault 1
expect_no_grep fault err 'seccomp'
expect_grep fault err 'vcpu0'
finish

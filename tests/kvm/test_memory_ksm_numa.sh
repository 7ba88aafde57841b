#!/bin/bash
# KSM merging and NUMA binding of guest RAM, seen from the host.  Needs the
# emulated host started with --numa-nodes 2 (test.sh does that).
. "$(dirname "$0")/lib.sh"

ksm=/sys/kernel/mm/ksm

# KSM: two guests booted from the same kernel and initramfs have many
# identical pages.  With merge=off ksmd has nothing to scan; with merge=on it
# merges them (pages_sharing > 0) within a bounded wait.
echo 1 >"$ksm/run"
echo 5000 >"$ksm/pages_to_scan"
echo 20 >"$ksm/sleep_millisecs"
for merge in off on; do
	echo 2 >"$ksm/run" # unmerge everything, reset counters
	echo 1 >"$ksm/run"
	pids=()
	for g in a b; do
		"$KVMLAB" run --memory "size=256M,merge=$merge" --stats -- sh -c 'echo guest-up; sleep 600' \
			>"$TMP/ksm$merge$g.out" 2>"$TMP/ksm$merge$g.err" </dev/null &
		pids+=($!)
	done
	sharing=0
	if wait_for "$TMP/ksm${merge}a.out" guest-up 300 && wait_for "$TMP/ksm${merge}b.out" guest-up 300; then
		for _ in $(seq 1 60); do # up to ~30 s of ksmd scanning
			sharing=$(cat "$ksm/pages_sharing")
			[ "$sharing" -gt 0 ] && break
			sleep 0.5
		done
	else
		bad "merge=$merge: guests did not come up"
	fi
	if [ "$merge" = on ] && [ "$sharing" -gt 0 ]; then
		ok "merge=on: pages_sharing=$sharing across two guests"
	elif [ "$merge" = off ] && [ "$sharing" -eq 0 ]; then
		ok "merge=off: pages_sharing=0"
	else
		bad "merge=$merge: pages_sharing=$sharing"
	fi
	stop_vm "${pids[0]}" "ksm${merge}a"
	stop_vm "${pids[1]}" "ksm${merge}b"
	expect_grep "ksm${merge}a" err "merge=$merge rss=[0-9]+ MiB"
	expect_grep "ksm${merge}a" err '^kvmlab: ksm: pages_shared=[0-9]+ pages_sharing=[0-9]+$'
done
echo 2 >"$ksm/run"

# NUMA: policy=bind,host-nodes=1 puts the guest mapping on node 1 only.
if [ ! -d /sys/devices/system/node/node1 ]; then
	bad "the host has no NUMA node 1; run through tests/nested/run --numa-nodes 2"
	finish
fi
"$KVMLAB" run --memory size=256M,host-nodes=1,policy=bind -- sh -c 'echo guest-up; sleep 600' \
	>"$TMP/numa.out" 2>"$TMP/numa.err" </dev/null &
pid=$!
if wait_for "$TMP/numa.out" guest-up 240; then
	line=$(grep ' bind:1 ' "/proc/$pid/numa_maps" | head -n 1)
	case "$line" in
	*" N1="*) ok "numa: guest mapping bound to node 1 with pages there: $line" ;;
	*) bad "numa: no mapping bound to node 1 with pages on it: '$line'" ;;
	esac
	case "$line" in
	*" N0="*) bad "numa: pages of the bound mapping on node 0: $line" ;;
	*) ok "numa: no page of the bound mapping on node 0" ;;
	esac
else
	bad "numa: guest did not come up"
fi
stop_vm "$pid" numa

# A node that does not exist is an error at start.
run_vm nonode run --memory size=256M,host-nodes=7,policy=bind -- true
expect_status nonode 2
expect_grep nonode err '^kvmlab: --memory: .*7'
finish

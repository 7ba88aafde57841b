#!/bin/bash
# --cpus: vCPU threads pinned by affinity= (checked in /proc and in the
# --stats thread lines), the guest's view of topology= (sysfs and
# /proc/cpuinfo), halt-poll-ns= taken by KVM, and refusals (status 2, one
# line naming --cpus).  Needs at least 2 host CPUs for the pinning part.
. "$(dirname "$0")/lib.sh"

# tid_of PID NAME: the TID of PID's thread called NAME (empty if none).
tid_of() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			echo "${t##*/}"
			return
		fi
	done
}

# run_guest NAME ARGS...: run_vm, then drop the '\r' the serial console
# adds to the guest's lines.
run_guest() {
	run_vm "$@"
	tr -d '\r' <"$TMP/$1.out" >"$TMP/$1.tmp" && mv "$TMP/$1.tmp" "$TMP/$1.out"
}

# allowed_of PID [TID]: Cpus_allowed_list of the process or one thread.
allowed_of() {
	local f=/proc/$1/status
	[ -n "${2:-}" ] && f=/proc/$1/task/$2/status
	sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$f" 2>/dev/null
}

# (a) affinity: each vCPU thread runs on its own CPU list
ncpu=$(nproc --all)
if [ "$ncpu" -lt 2 ]; then
	bad "this host has $ncpu CPU(s); the affinity checks need 2 (tests/nested/run --cpus 2)"
	finish
fi
proc_cpus=$(allowed_of $$)

"$KVMLAB" run --cpus boot=2,affinity=0@0:1@1 --stats --memory 256M -- sh -c 'sleep 2; echo slept' \
	>"$TMP/aff.out" 2>"$TMP/aff.err" </dev/null &
pid=$!
tid0= tid1=
# bounded wait for both threads (a hang guard, not a timing check)
for ((i = 0; i < 300; i++)); do
	tid0=$(tid_of "$pid" vcpu0)
	tid1=$(tid_of "$pid" vcpu1)
	[ -n "$tid0" ] && [ -n "$tid1" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -n "$tid0" ] && [ -n "$tid1" ]; then
	a0=$(allowed_of "$pid" "$tid0")
	a1=$(allowed_of "$pid" "$tid1")
	if [ "$a0" = 0 ] && [ "$a1" = 1 ]; then
		ok "aff: vcpu0 (tid $tid0) on CPU 0, vcpu1 (tid $tid1) on CPU 1"
	else
		bad "aff: Cpus_allowed_list vcpu0='$a0' vcpu1='$a1', expected 0 and 1"
	fi
	# the main thread keeps the process's CPUs
	am=$(allowed_of "$pid")
	if [ "$am" = "$proc_cpus" ]; then
		ok "aff: main thread keeps CPUs $am"
	else
		bad "aff: main thread on '$am', expected the caller's '$proc_cpus'"
	fi
else
	bad "aff: no vcpu0/vcpu1 threads found in /proc/$pid/task"
fi
status=0
wait "$pid" || status=$?
expect_status aff 0
expect_grep aff out '^slept'
expect_grep aff err "^kvmlab: thread vcpu0 tid=${tid0:-x} cpus=0 "
expect_grep aff err "^kvmlab: thread vcpu1 tid=${tid1:-x} cpus=1 "

# a vCPU without an entry keeps kvmlab's CPUs: vcpu0 here, vcpu1 pinned to 1
run_vm aff1 run --cpus boot=2,affinity=1@1 --stats --memory 256M -- true
expect_status aff1 0
expect_grep aff1 err "^kvmlab: thread vcpu0 tid=[0-9]+ cpus=${proc_cpus} "
expect_grep aff1 err '^kvmlab: thread vcpu1 tid=[0-9]+ cpus=1 '

# (b) topology: what the guest's kernel makes of it
TOPO_CMD='dmesg -n 1
for c in /sys/devices/system/cpu/cpu[0-9]*; do
	t=$c/topology
	echo "topo ${c##*/cpu} pkg=$(cat $t/physical_package_id) core=$(cat $t/core_id) threads=$(cat $t/thread_siblings_list) core_cpus=$(cat $t/core_cpus_list)"
done
echo "online=$(cat /sys/devices/system/cpu/online)"
grep -E "^(apicid|siblings|cpu cores)" /proc/cpuinfo | tr -d "\t" | sort | uniq -c | sed "s/^ */cpuinfo /"'

# check_topo NAME SOCKETS CORES THREADS: from the guest's "topo" lines, count
# packages, cores per package and threads per core (as lscpu does) and
# check every CPU's thread siblings are its core's CPUs.
check_topo() {
	local name=$1 s=$2 c=$3 t=$4 n=$(($2 * $3 * $4)) got
	got=$(awk -v n="$n" '
		/^topo / {
			split($3, p, "="); split($4, k, "="); split($5, th, "="); split($6, cc, "=")
			cpus++; pkg[p[2]] = 1; core[p[2] "/" k[2]]++
			if (th[2] != cc[2]) mismatch++
			# members of the sibling list ("0-1", "2,5", "3")
			m = 0; nl = split(th[2], parts, ",")
			for (i = 1; i <= nl; i++) {
				if (split(parts[i], r, "-") == 2) m += r[2] - r[1] + 1; else m++
			}
			if (m != tpc_seen && tpc_seen) uneven++
			tpc_seen = m
		}
		END {
			np = 0; for (x in pkg) np++
			nc = 0; for (x in core) { nc++; if (core[x] != tpc_seen) uneven++ }
			printf "cpus=%d sockets=%d cores_per_socket=%d threads_per_core=%d uneven=%d mismatch=%d\n",
				cpus, np, np ? nc / np : 0, tpc_seen, uneven, mismatch
		}' "$TMP/$name.out")
	local want="cpus=$n sockets=$s cores_per_socket=$c threads_per_core=$t uneven=0 mismatch=0"
	if [ "$got" = "$want" ]; then
		ok "$name: $got"
	else
		bad "$name: guest shows '$got', expected '$want'"
		sed "s/^/  out: /" "$TMP/$name.out" >&2
	fi
}

# run_topo NAME ARGS...: run_guest for a topology case, with Linux's own boot
# messages on the console (no 'quiet', earlyprintk) so that a failure shows
# where the guest was.  Linux 6.1 gives an AP 10 s of guest time to show
# life; the emulated host (TCG) has been seen to stall that long under load,
# and the AP then triple-faults in its half-finished bring-up.  Only that
# case (a triple fault) gets one more run, with a notice; anything else, or
# the same again, fails.
TOPO_CMDLINE="console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 io_delay=none pci=noearly"
run_topo() {
	local name=$1
	shift
	run_guest "$name" run --cmdline "$TOPO_CMDLINE" "$@"
	if [ "$status" -ne 0 ] && grep -q 'triple fault' "$TMP/$name.err"; then
		echo "notice: $name: a vCPU triple-faulted during boot; the console ended with:"
		tail -n 15 "$TMP/$name.out" | sed 's/^/  out: /'
		echo "notice: $name: once more"
		run_guest "$name" run --cmdline "$TOPO_CMDLINE" "$@"
	fi
}

run_topo topo122 --cpus boot=4,topology=1:2:2 --memory 256M -- sh -c "$TOPO_CMD"
expect_status topo122 0
check_topo topo122 1 2 2
# core 0 = CPUs 0-1, core 1 = CPUs 2-3; /proc/cpuinfo agrees
expect_grep topo122 out '^topo 0 pkg=0 core=0 threads=0-1 core_cpus=0-1'
expect_grep topo122 out '^topo 3 pkg=0 core=1 threads=2-3 core_cpus=2-3'
expect_grep topo122 out '^cpuinfo 4 cpu cores: 2$'
expect_grep topo122 out '^cpuinfo 4 siblings: 4$'
expect_grep topo122 out '^online=0-3'

run_topo topo221 --cpus boot=4,topology=2:2:1 --memory 256M -- sh -c "$TOPO_CMD"
expect_status topo221 0
check_topo topo221 2 2 1
expect_grep topo221 out '^topo 2 pkg=1 core=0 threads=2 core_cpus=2'

# 3 cores per socket: APIC IDs 0, 1, 2, 4, 5, 6 (a gap at 3)
run_topo topo231 --cpus boot=6,topology=2:3:1 --memory 256M -- sh -c "$TOPO_CMD"
expect_status topo231 0
check_topo topo231 2 3 1
expect_grep topo231 out '^online=0-5'
for id in 0 1 2 4 5 6; do
	expect_grep topo231 out "^cpuinfo 1 apicid: $id\$"
done
expect_no_grep topo231 out '^cpuinfo 1 apicid: 3$'

# halt-poll-ns: KVM takes it (the 6.1 host has KVM_CAP_HALT_POLL), so no warning
run_vm hpoll run --cpus boot=1,halt-poll-ns=0 --memory 256M -- true
expect_status hpoll 0
expect_no_grep hpoll err 'halt-poll-ns'

# (c) refusals: status 2, exactly one line, naming --cpus and the key
refuse() {
	local name=$1 key=$2
	shift 2
	run_vm "$name" run --memory 256M "$@" -- true
	expect_status "$name" 2
	expect_grep "$name" err "^kvmlab: --cpus: .*$key"
	if [ "$(wc -l <"$TMP/$name.err")" -eq 1 ]; then
		ok "$name: one line"
	else
		bad "$name: $(wc -l <"$TMP/$name.err") lines on stderr"
	fi
}
refuse bad_n0 "'0'" --cpus 0
refuse bad_n255 "'255'" --cpus 255
refuse bad_boot boot --cpus boot=300
refuse bad_key "unknown key 'sockets'" --cpus boot=2,sockets=2
refuse bad_aff_vcpu affinity --cpus boot=2,affinity=2@0
refuse bad_aff_twice affinity --cpus boot=2,affinity=0@0:0@1
refuse bad_aff_empty affinity --cpus boot=2,affinity=0@:1@1
refuse bad_aff_list affinity --cpus boot=2,affinity=0@0-x
refuse bad_aff_host "affinity: vCPU 0: CPU $ncpu is not one kvmlab may run on" \
	--cpus "boot=1,affinity=0@$ncpu"
refuse bad_topo_mul topology --cpus boot=2,topology=1:2:2
refuse bad_topo_zero topology --cpus boot=2,topology=1:0:2
refuse bad_topo_form topology --cpus boot=2,topology=2
refuse bad_topo_apic topology --cpus boot=195,topology=3:65:1
refuse bad_hpoll halt-poll-ns --cpus boot=1,halt-poll-ns=soon

finish

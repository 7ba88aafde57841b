#!/bin/bash
# kvmlab bench, a short smoke run of each suite (tiny matrix, one or two
# repeats) with QEMU as the peer where the suite has one: the CSV and JSON
# exist and hold rows for every point and system, the figures that must be
# positive are, every row names its exact command, the plots were drawn,
# and in the emulated host the results say so.  The net suite's tap and
# server live in a network namespace bench makes and are gone after it.
# Bad --set values exit 2 before anything runs.
. "$(dirname "$0")/lib.sh"
scratch_fs 400 # the blk suite's image with cache=none needs O_DIRECT

# csv_rows FILE SYSTEM METRIC: rows of SYSTEM's METRIC with a value > 0
csv_rows() {
	awk -F, -v s="$2" -v m="$3" '$1 == s && $6 == m && $8 + 0 > 0' "$1" | wc -l
}

# check_suite NAME DIR POINTS REPEATS PEER METRIC...: the files of one run
check_suite() {
	local name=$1 dir=$2 points=$3 reps=$4 peer=$5
	shift 5
	local csv=$dir/results.csv json=$dir/results.json m n want
	[ -s "$csv" ] && [ -s "$json" ] || { bad "$name: results.csv or results.json missing"; return; }
	head -n 1 "$csv" | grep -q '^system,suite,point,repeat,label,metric,unit,value,command,' &&
		ok "$name: CSV header" || bad "$name: CSV header: $(head -n 1 "$csv")"
	grep -q '^{"kvmlab_version":"[^"]*","host_kernel":"[^"]*","emulated_host":\(true\|false\),"rows":\[{' "$json" &&
		tail -c 3 "$json" | grep -q ']}' && ok "$name: JSON layout" || bad "$name: JSON layout"
	want=$((points * reps))
	for m in "$@"; do
		n=$(csv_rows "$csv" kvmlab "$m")
		[ "$n" -eq "$want" ] && ok "$name: kvmlab $m > 0 in all $n runs" ||
			bad "$name: kvmlab $m > 0 in $n of $want runs"
		if [ "$peer" = yes ]; then
			n=$(csv_rows "$csv" qemu wall_ms)
			[ "$n" -eq "$want" ] && ok "$name: qemu wall_ms in all $n runs" ||
				bad "$name: qemu wall_ms in $n of $want runs"
		fi
		[ -s "$dir/$m.svg" ] && grep -q '<svg' "$dir/$m.svg" && ok "$name: plot $m.svg" ||
			bad "$name: no plot $m.svg"
	done
	# every row's command is the kvmlab or qemu command line
	n=$(awk -F, 'NR > 1 && $9 !~ /(kvmlab run|qemu-system-x86_64 -accel kvm) /' "$csv" | wc -l)
	[ "$n" -eq 0 ] && ok "$name: every row names its command" || bad "$name: $n rows without a command"
	if [ -n "${KVMLAB_EMULATED_HOST:-}" ]; then
		grep -q '"emulated_host":true' "$json" && grep -q ',yes$' "$csv" &&
			ok "$name: marked as run in the emulated host" || bad "$name: not marked emulated"
	fi
}

run_vm boot bench boot --set cpus.boot=2 --repeat 1 --with-peers --out "$SCRATCH/boot"
expect_status boot 0
check_suite boot "$SCRATCH/boot" 1 1 yes wall_ms first_kvm_run_ms guest_init_ms guest_cmd_ms vmm_rss_overhead_mib
expect_grep boot err 'kvmlab: bench: run 2/2: qemu cpus.boot=2, repeat 1/1'
grep -q 'qemu-system-x86_64 .* -smp 2 ' "$SCRATCH/boot/results.csv" && ok "boot: the peer had 2 vCPUs too" ||
	bad "boot: no qemu row with -smp 2"

run_vm blk bench blk --set disk.cache=none --set disk.engine=io_uring --repeat 1 --seconds 1 \
	--with-peers --out "$SCRATCH/blk"
expect_status blk 0
check_suite blk "$SCRATCH/blk" 1 1 yes randread_4k_qd1_iops randwrite_4k_qd32_iops \
	read_128k_qd8_mbps randread_4k_qd1_p99_us exits_per_request
n=$(awk -F, '$1 == "qemu" && $6 == "randread_4k_qd32_iops" && $8 + 0 > 0' "$SCRATCH/blk/results.csv" | wc -l)
[ "$n" -eq 1 ] && ok "blk: qemu's guest-side figures too" || bad "blk: qemu randread_4k_qd32_iops in $n of 1 run"
grep -q 'qemu-system-x86_64 .*cache=none,aio=io_uring' "$SCRATCH/blk/results.csv" &&
	ok "blk: the peer ran with the equivalent cache mode" || bad "blk: no qemu row with cache=none"

run_vm exits bench exits --set ioeventfd=on,off --repeat 1 --out "$SCRATCH/exits"
expect_status exits 0
check_suite exits "$SCRATCH/exits" 2 1 no pio_exit_us mmio_exit_us kick_us rng_round_trip_us \
	rng_irq_round_trip_us
# counts, not times: a kick through ioeventfd never reaches kvmlab, one
# without it is exactly one exit; so is each round trip's kick
exits_at() {
	awk -F, -v l="$1" -v m="$2" '$1 == "kvmlab" && $5 == l && $6 == m { print $8 + 0 }' \
		"$SCRATCH/exits/results.csv"
}
k_on=$(exits_at ioeventfd=on kick_userspace_exits)
k_off=$(exits_at ioeventfd=off kick_userspace_exits)
r_off=$(exits_at ioeventfd=off rr_userspace_exits)
i_on=$(exits_at ioeventfd=on irq_userspace_exits)
i_off=$(exits_at ioeventfd=off irq_userspace_exits)
m_on=$(exits_at ioeventfd=on irq_missed)
m_off=$(exits_at ioeventfd=off irq_missed)
# (an interrupt now and then goes missing in the emulated host: test_exits.sh)
[ -n "$m_on" ] && [ -n "$m_off" ] && [ "$m_on" -le 20 ] && [ "$m_off" -le 20 ] &&
	ok "exits: interrupts missed out of 2000: $m_on, $m_off" ||
	bad "exits: interrupts missed out of 2000: on='$m_on' off='$m_off'"
[ "$k_on" = 0 ] && [ "$k_off" = 1 ] && [ "$r_off" = 1 ] && [ "$i_on" = 0 ] && [ "$i_off" = 1 ] &&
	ok "exits: userspace exits per kick: $k_on with ioeventfd, $k_off without; $r_off per round trip;" \
		"$i_on/$i_off per interrupt-driven round trip" ||
	bad "exits: userspace exits per kick on='$k_on' off='$k_off', per round trip off='$r_off'," \
		"per interrupt-driven round trip on='$i_on' off='$i_off'"

run_vm memory bench memory --set memory.size=256M --set memory.prealloc=off,on --repeat 1 \
	--with-peers --out "$SCRATCH/memory"
expect_status memory 0
check_suite memory "$SCRATCH/memory" 2 1 yes first_touch_ms second_pass_ms host_minor_faults \
	guest_init_ms guest_rss_mib
# label_value LABEL METRIC: kvmlab's value of METRIC at the point LABEL
label_value() {
	awk -F, -v l="$1" -v m="$2" '$1 == "kvmlab" && $5 == l && $6 == m { print $8 + 0 }' \
		"$SCRATCH/memory/results.csv"
}
on=$(label_value "memory.size=256M memory.prealloc=on" prealloc_ms)
off=$(label_value "memory.size=256M memory.prealloc=off" prealloc_ms)
awk -v a="$on" -v b="$off" 'BEGIN { exit !(a > 0 && b == 0) }' &&
	ok "memory: prealloc took time only with prealloc=on ($on ms, $off ms)" ||
	bad "memory: prealloc_ms on='$on' off='$off'"
# the RSS of guest RAM at exit: some, and never more than the RAM (it is
# read after the guest ran, so not necessarily all of it even with prealloc:
# 196 of 256 MiB was seen in the emulated host)
rss=$(label_value "memory.size=256M memory.prealloc=on" guest_rss_mib)
[ "${rss:-0}" -gt 0 ] && [ "${rss:-0}" -le 256 ] && ok "memory: prealloc=on: guest RSS $rss MiB of 256" ||
	bad "memory: prealloc=on: guest RSS '$rss' MiB, expected 1-256"
n=$(awk -F, '$1 == "qemu" && $6 == "first_touch_ms" && $8 + 0 > 0' "$SCRATCH/memory/results.csv" | wc -l)
[ "$n" -eq 2 ] && ok "memory: qemu's guest-side figures too" || bad "memory: qemu first_touch_ms in $n of 2 runs"
grep -q 'qemu-system-x86_64 .*-object memory-backend-ram,id=m0,size=256M,prealloc=on -machine memory-backend=m0' \
	"$SCRATCH/memory/results.csv" && ok "memory: the peer preallocated too" ||
	bad "memory: no qemu row with a preallocated memory backend"

# net: in a network namespace bench makes for itself, so its tap, its
# addresses and its host-side server are gone when it ends
modprobe -a tun 2>/dev/null
servers_before=$(pgrep -f 'kvmlab-guest net server --port 5201' | sort | tr '\n' ' ')
run_vm net bench net --set net.queues=1 --repeat 1 --seconds 1 --with-peers --out "$SCRATCH/net"
expect_status net 0
check_suite net "$SCRATCH/net" 1 1 yes tx_mbps rx_mbps rr_tps rr_p99_us vmm_cpu_s_per_gb
n=$(awk -F, '$1 == "qemu" && ($6 == "tx_mbps" || $6 == "rx_mbps" || $6 == "rr_tps") && $8 + 0 > 0' \
	"$SCRATCH/net/results.csv" | wc -l)
[ "$n" -eq 3 ] && ok "net: qemu's guest-side figures too" || bad "net: qemu tx/rx/rr figures in $n of 3"
grep -q 'qemu-system-x86_64 .*-netdev tap,id=n0,ifname=kvb-q1,script=no,downscript=no,vhost=off' \
	"$SCRATCH/net/results.csv" && ok "net: the peer used the same tap" || bad "net: no qemu row on tap kvb-q1"
grep -q 'kvmlab run .*--net tap=kvb-q1,queues=1 ' "$SCRATCH/net/results.csv" &&
	ok "net: kvmlab's row names its tap" || bad "net: no kvmlab row with --net tap=kvb-q1"
# (the taps live only in bench's namespace, which goes with the last
# process in it: so no server, kvmlab run or QEMU on them may be left)
# (servers other tests left are not bench's: only new ones count)
servers_after=$(pgrep -f 'kvmlab-guest net server --port 5201' | sort | tr '\n' ' ')
[ "$servers_after" = "$servers_before" ] && ok "net: the host-side server is gone" ||
	bad "net: a kvmlab-guest net server outlived bench (before: '$servers_before', after: '$servers_after')"
! pgrep -f 'tap=kvb-q|ifname=kvb-q' >/dev/null && ok "net: no run on bench's taps is left" ||
	bad "net: a kvmlab or QEMU on a kvb-q tap outlived bench"

# ksm: two identical guests at once, each holding 128 MiB filled alike;
# ksmd (made fast for the test, as in test_memory_ksm_numa) merges the
# copies across them, in kvmlab's guests and in QEMU's (how much is
# docs/tuning.md's business; test_memory_ksm_numa checks merge=off)
ksm=/sys/kernel/mm/ksm
echo 1 >"$ksm/run"
echo 5000 >"$ksm/pages_to_scan"
echo 20 >"$ksm/sleep_millisecs"
RUN_TIMEOUT=900 run_vm ksm bench ksm --set guest.count=2 --repeat 1 --seconds 12 --with-peers --out "$SCRATCH/ksm"
expect_status ksm 0
check_suite ksm "$SCRATCH/ksm" 1 1 yes ksm_saved_mib ksm_merged_mib pss_mib_per_guest ksm_window_s
for sys in kvmlab qemu; do
	saved=$(awk -F, -v s=$sys '$1 == s && $6 == "ksm_saved_mib" { printf "%d", $8 }' "$SCRATCH/ksm/results.csv")
	# (how much within the window depends on ksmd's share of the
	# emulated CPU: 28 to 222 MiB seen; only that it merged is asserted)
	[ "${saved:-0}" -ge 1 ] && ok "ksm: $sys: KSM saved $saved MiB across the two guests" ||
		bad "ksm: $sys: saved '${saved}' MiB, expected some of the 128 alike"
done
n=$(ls "$SCRATCH"/ksm/raw/kvmlab-p0-r1-g[12].out 2>/dev/null | wc -l)
[ "$n" -eq 2 ] && ok "ksm: each guest has its own output" || bad "ksm: $n guest outputs"
n=$(grep -c '^{"t":' "$SCRATCH/ksm/raw/kvmlab-p0-r1.samples" 2>/dev/null || echo 0)
[ "$n" -ge 12 ] && ok "ksm: $n samples over the run" || bad "ksm: $n samples"
grep -q '<svg' "$SCRATCH/ksm/timeline-saved_mib.svg" 2>/dev/null && ok "ksm: the savings plotted over time" ||
	bad "ksm: no timeline-saved_mib.svg"
grep -q 'kvmlab run --memory size=256M,merge=on .*kvmlab-guest hold 128M 12' "$SCRATCH/ksm/results.csv" &&
	grep -q 'memory-backend-ram,id=m0,size=256M,merge=on' "$SCRATCH/ksm/results.csv" &&
	ok "ksm: both systems merge the same guests" || bad "ksm: the commands differ from what was asked"
echo 2 >"$ksm/run"

# balloon: a 512 MiB guest dirties and frees 256 MiB; the balloon takes it
# back (kvmlab through its control socket, QEMU through QMP) and returns it
socks_before=$(ls /tmp/kvmlab-bench-*.sock 2>/dev/null | tr '\n' ' ')
RUN_TIMEOUT=900 run_vm balloon bench balloon --set memory.size=512M --repeat 1 --with-peers --out "$SCRATCH/balloon"
expect_status balloon 0
check_suite balloon "$SCRATCH/balloon" 1 1 yes rss_filled_mib rss_inflated_mib reclaimed_mib inflate_s
for sys in kvmlab qemu; do
	got=$(awk -F, -v s=$sys '$1 == s && $6 == "reclaimed_mib" { printf "%d", $8 }' "$SCRATCH/balloon/results.csv")
	[ "${got:-0}" -ge 150 ] && ok "balloon: $sys: the balloon took back $got MiB" ||
		bad "balloon: $sys: reclaimed '${got}' MiB, expected at least 150 of 256"
done
grep -q '<svg' "$SCRATCH/balloon/timeline-rss_mib.svg" 2>/dev/null && ok "balloon: RSS plotted over time" ||
	bad "balloon: no timeline-rss_mib.svg"
[ "$(ls /tmp/kvmlab-bench-*.sock 2>/dev/null | tr '\n' ' ')" = "$socks_before" ] &&
	ok "balloon: no control socket left" ||
	bad "balloon: a control socket is left in /tmp"

run_vm bad bench blk --set disk.cache=sometimes --out "$SCRATCH/bad"
expect_status bad 2
expect_grep bad err "^kvmlab: bench: point 'disk.cache=sometimes': --disk"
run_vm badcount bench ksm --set guest.count=0,2 --out "$SCRATCH/bad"
expect_status badcount 2
expect_grep badcount err "^kvmlab: bench: point 'guest.count=0': guest.count: expected 1-16 guests"
[ ! -e "$SCRATCH/bad" ] && ok "bad: nothing made" || bad "bad: $SCRATCH/bad was created"
finish

#!/bin/bash
# scripts/tuning-tables.sh OUT: the measurements behind docs/tuning.md.
# Runs the kvmlab bench matrices below (each into OUT/NAME) and prints one
# markdown table per matrix: the median over the repeats of each figure,
# per system and point.  Needs a /dev/kvm that boots Linux, so on most
# machines it runs through the emulated host:
#
#   tests/nested/run --memory 6G --hugepages 300 --hugepages-1g 1 --numa-nodes 2 -- \
#       scripts/tuning-tables.sh /tmp/tuning
#
# (OUT must be on a filesystem with O_DIRECT for cache=none: not tmpfs.)
# About 75 minutes in the emulated host.  ONLY=NAME[,NAME] runs just those.
# The ksm matrices set ksmd's pace (and stop it after); they need root.
# LOGDIR=DIR keeps a live copy of each matrix's progress log in DIR (say,
# in the repository, which the emulated host writes through): an emulator
# that freezes takes OUT with it, not that copy.
# The net matrices need root (bench net makes its own network namespace)
# and the tun and vhost_net modules.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/tuning-tables.sh OUT}
KVMLAB=${KVMLAB:-build/kvmlab}
mkdir -p "$out"
modprobe -a tun vhost_net 2>/dev/null || true

# summary DIR METRIC...: a markdown table of the medians in DIR/results.csv
summary() {
	local dir=$1
	shift
	awk -F, -v metrics="$*" '
		BEGIN { nm = split(metrics, want, " ") }
		NR == 1 { next }
		{
			key = $1 SUBSEP $5
			if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
			v[key, $6, ++cnt[key, $6]] = $8 + 0
		}
		function median(k, m,   n, i, j, t, a) {
			n = cnt[k, m]
			if (!n) return "-"
			for (i = 1; i <= n; i++) a[i] = v[k, m, i]
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END {
			printf "| system | point |"
			for (i = 1; i <= nm; i++) printf " %s |", want[i]
			printf "\n|---|---|"
			for (i = 1; i <= nm; i++) printf "---:|"
			printf "\n"
			for (o = 1; o <= nk; o++) {
				split(order[o], kp, SUBSEP)
				printf "| %s | %s |", kp[1], kp[2] == "" ? "(defaults)" : kp[2]
				for (i = 1; i <= nm; i++) {
					x = median(order[o], want[i])
					printf(x == "-" ? " %s |" : " %.4g |", x)
				}
				printf "\n"
			}
		}' "$dir/results.csv"
}

# bench NAME METRICS -- BENCH-ARGS...: one matrix and its table
bench() {
	local name=$1 metrics=$2
	shift 3
	if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$name,"* ]]; then
		return 0
	fi
	echo "### $name"
	echo
	echo '```'
	echo "kvmlab bench $* --out DIR"
	echo '```'
	echo
	rm -rf "${out:?}/$name"
	local copy=/dev/null
	[ -n "${LOGDIR:-}" ] && copy=$LOGDIR/$name.log
	if "$KVMLAB" bench "$@" --out "$out/$name" 2>&1 | tee "$out/$name.log" >"$copy"; then
		summary "$out/$name" $metrics
	else
		echo "(failed, status $?: see $out/$name.log)"
		tail -n 5 "$out/$name.log" | sed 's/^/    /'
	fi
	rm -f "$out/$name/disk.img" # the blk suite's 256 MiB image
	echo
}

{
	echo "Measured $(date -u +%Y-%m-%d) with $("$KVMLAB" --version 2>/dev/null || echo kvmlab)," \
		"host kernel $(uname -r)${KVMLAB_EMULATED_HOST:+, in the emulated host (relative figures only)}."
	echo
	bench exits "pio_exit_us mmio_exit_us kick_us kick_userspace_exits rng_round_trip_us rng_irq_round_trip_us irq_userspace_exits" -- \
		exits --set ioeventfd=on,off --set irqfd=on,off --repeat 3
	bench boot "first_kvm_run_ms guest_init_ms wall_ms vmm_rss_overhead_mib" -- \
		boot --set cpus.boot=1,2 --repeat 3 --with-peers
	bench blk-cache "randread_4k_qd1_iops randread_4k_qd32_iops randwrite_4k_qd32_iops read_128k_qd8_mbps write_128k_qd8_mbps randwrite_4k_qd1_p99_us exits_per_request" -- \
		blk --set disk.cache=none,writeback --set disk.engine=sync,io_uring --repeat 3 --with-peers
	bench blk-writethrough "randwrite_4k_qd1_iops randwrite_4k_qd32_iops write_128k_qd8_mbps randwrite_4k_qd1_p99_us" -- \
		blk --set disk.cache=writethrough,directsync,unsafe --set disk.engine=io_uring --repeat 2 --seconds 2
	bench blk-sched "randread_4k_qd1_iops randread_4k_qd32_iops randwrite_4k_qd32_iops read_128k_qd8_mbps randread_4k_qd1_p50_us" -- \
		blk --set disk.cache=none --set guest.scheduler=none,mq-deadline --repeat 2 --seconds 2
	bench blk-queues "randread_4k_qd32_iops randwrite_4k_qd32_iops read_128k_qd8_mbps exits_per_request vmm_cpu_s_per_gb" -- \
		blk --set disk.cache=none --set disk.queues=1,2 --set disk.iothreads=1 --repeat 2 --seconds 2
	bench blk-iothreads "randread_4k_qd32_iops randwrite_4k_qd32_iops read_128k_qd8_mbps exits_per_request vmm_cpu_s_per_gb" -- \
		blk --set disk.cache=none --set disk.queues=2 --set disk.iothreads=1,2 --repeat 2 --seconds 2
	bench blk-notify "randread_4k_qd1_iops randread_4k_qd32_iops randread_4k_qd1_p50_us exits_per_request" -- \
		blk --set disk.cache=none --set ioeventfd=on,off --set irqfd=on,off --repeat 2 --seconds 2
	# pinning means something only with CPUs to choose from (tests/nested/run --cpus 2)
	if [ "$(nproc)" -ge 2 ]; then
		bench blk-pinning "randread_4k_qd1_iops randread_4k_qd32_iops randwrite_4k_qd32_iops randread_4k_qd1_p50_us vmm_cpu_s_per_gb" -- \
			blk --set disk.cache=none --set cpus.affinity=0@0,0@0-1 --set disk.iothread-affinity=0,1 \
			--repeat 2 --seconds 2
	elif [ -n "${ONLY:-}" ] && [[ ",$ONLY," == *",blk-pinning,"* ]]; then
		echo "### blk-pinning: needs 2 CPUs (here: $(nproc))"
	fi
	bench memory-thp "first_touch_ms second_pass_ms host_minor_faults prealloc_ms guest_init_ms anon_huge_mib" -- \
		memory --set memory.size=512M --set memory.prealloc=off,on --set memory.thp=on,off --repeat 2 --with-peers
	bench memory-huge2m "first_touch_ms second_pass_ms host_minor_faults prealloc_ms guest_init_ms hugepages" -- \
		memory --set memory.size=512M --set memory.backend=memfd --set memory.hugepage-size=2M \
		--set memory.prealloc=off,on --repeat 2 --with-peers
	bench memory-huge1g "first_touch_ms second_pass_ms host_minor_faults prealloc_ms guest_init_ms hugepages" -- \
		memory --set memory.size=1G --set memory.backend=memfd --set memory.hugepage-size=1G \
		--repeat 2 --with-peers
	bench memory-numa "first_touch_ms second_pass_ms host_minor_faults guest_init_ms" -- \
		memory --set memory.size=512M --set memory.policy=bind --set memory.host-nodes=0,1 \
		--repeat 2 --with-peers
	# KSM: ksmd scans 1000 pages every 20 ms (the kernel default is 100)
	echo 1 >/sys/kernel/mm/ksm/run 2>/dev/null || true
	echo 1000 >/sys/kernel/mm/ksm/pages_to_scan 2>/dev/null || true
	echo 20 >/sys/kernel/mm/ksm/sleep_millisecs 2>/dev/null || true
	bench ksm-guests "ksm_saved_mib ksm_saved_mib_per_guest pss_mib_per_guest ksm_t50_s ksm_t90_s ksmd_cpu_s fill_ms" -- \
		ksm --set guest.count=1,2,4 --repeat 2 --seconds 60 --with-peers
	bench ksm-merge "ksm_saved_mib ksm_merged_mib pss_mib_per_guest ksmd_cpu_s" -- \
		ksm --set guest.count=2 --set memory.merge=on,off --repeat 1 --seconds 30
	# overcommit: 4 guests of 2 GiB (8 GiB) on a host with less; each touches 1 GiB
	bench overcommit "pss_mib_per_guest ksm_saved_mib_per_guest fill_ms wall_ms" -- \
		ksm --set memory.size=2G --set guest.count=4 --set memory.merge=off,on --repeat 1 --seconds 30 --with-peers
	echo 2 >/sys/kernel/mm/ksm/run 2>/dev/null || true
	bench balloon "rss_filled_mib rss_freed_mib rss_inflated_mib reclaimed_mib reported_mib inflate_s inflate_mib_per_s deflate_s" -- \
		balloon --set balloon.free-page-reporting=off,on --repeat 2 --with-peers
	bench net-paths "tx_mbps rx_mbps rr_tps rr_p99_us vmm_cpu_s_per_gb exits_per_mb" -- \
		net --set cpus.boot=2 --set net.queues=1,2 --set net.vhost=off,on --repeat 2 --seconds 3 --with-peers
	bench net-offloads "tx_mbps rx_mbps rr_tps rr_p99_us vmm_cpu_s_per_gb exits_per_mb" -- \
		net --set cpus.boot=2 --set net.offloads=on,off --repeat 2 --seconds 3 --with-peers
} | tee "$out/tables.md"

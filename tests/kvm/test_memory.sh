#!/bin/bash
# Guest memory backends as the host sees them: hugepages taken while the
# guest runs and given back after, refusal when too few, THP on/off, and RAM
# above the 3-4 GiB hole.  Needs the emulated host started with
# --hugepages 300 --hugepages-1g 1 and >= 6G (test.sh does that).
. "$(dirname "$0")/lib.sh"

hp() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }

total=$(hp HugePages_Total)
if [ "${total:-0}" -lt 256 ]; then
	bad "the host has ${total:-0} 2M hugepages; run through tests/nested/run --hugepages 300"
	finish
fi

# 512 MiB of 2M hugepages, prealloc: HugePages_Free drops by exactly 256
# while the guest runs, and comes back after.
for backing in "backend=memfd,hugepage-size=2M" "backend=hugetlbfs,path=/dev/hugepages"; do
	name=${backing%%,*}
	free0=$(hp HugePages_Free)
	"$KVMLAB" run --memory "size=512M,$backing,prealloc=on" --stats -- \
		sh -c 'echo guest-up; sleep 600' >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
	pid=$!
	if wait_for "$TMP/$name.out" guest-up 240; then
		free1=$(hp HugePages_Free)
		if [ $((free0 - free1)) -eq 256 ]; then
			ok "$name: HugePages_Free $free0 -> $free1 while the guest runs"
		else
			bad "$name: HugePages_Free $free0 -> $free1, expected a drop of 256"
		fi
	else
		bad "$name: guest did not come up"
	fi
	stop_vm "$pid" "$name"
	expect_grep "$name" err "memory region 0: gpa=0x0 size=512 MiB backing=${name#backend=} page=2048 KiB prealloc=on"
	expect_grep "$name" err "memory region 0: .* hugepages=256"
	free2=$(hp HugePages_Free)
	[ "$free2" -eq "$free0" ] && ok "$name: all hugepages back ($free2)" ||
		bad "$name: HugePages_Free $free2 after exit, expected $free0"
done

# 1G pages (the emulated host is given one with --hugepages-1g 1)
g1=/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages
if [ "$(cat "$g1" 2>/dev/null || echo 0)" -lt 1 ]; then
	bad "the host has no free 1G hugepage; run through tests/nested/run --hugepages-1g 1"
else
	"$KVMLAB" run --memory size=1G,backend=memfd,hugepage-size=1G,prealloc=on --stats -- \
		sh -c 'echo guest-up; sleep 600' >"$TMP/g1.out" 2>"$TMP/g1.err" </dev/null &
	pid=$!
	if wait_for "$TMP/g1.out" guest-up 240; then
		[ "$(cat "$g1")" -eq 0 ] && ok "1G: the free 1G page is in use" ||
			bad "1G: free 1G pages $(cat "$g1") while the guest runs"
	else
		bad "1G: guest did not come up"
	fi
	stop_vm "$pid" g1
	expect_grep g1 err 'backing=memfd page=1048576 KiB prealloc=on'
	[ "$(cat "$g1")" -eq 1 ] && ok "1G: page given back" || bad "1G: page not given back"
fi

# Too few hugepages: exit 2, a message saying how many are needed, none taken.
free0=$(hp HugePages_Free)
rsvd0=$(hp HugePages_Rsvd)
run_vm few run --memory size=1G,backend=memfd,hugepage-size=2M --stats -- true
expect_status few 2
expect_grep few err '^kvmlab: --memory: needs 512 free 2M hugepages, only [0-9]+ free \(reserve them with: .*nr_hugepages\)$'
expect_no_grep few err 'exits: total'
[ "$(hp HugePages_Free)" -eq "$free0" ] && [ "$(hp HugePages_Rsvd)" -eq "$rsvd0" ] &&
	ok "few: no hugepage taken or reserved" || bad "few: hugepage counts changed"

# THP: with thp=on the guest's touched memory is backed by huge pages on the
# host (AnonHugePages of the guest RAM mapping in kvmlab's smaps: the one
# VMA of exactly 1 GiB); with thp=off it is not.  Only that mapping counts:
# under THP "always" a thread stack may get a huge page too, which is the
# host's policy, not the knob.
for thp in on off; do
	"$KVMLAB" run --memory "size=1G,thp=$thp" -- \
		sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=256 2>/dev/null; echo touched; sleep 600' \
		>"$TMP/thp$thp.out" 2>"$TMP/thp$thp.err" </dev/null &
	pid=$!
	if wait_for "$TMP/thp$thp.out" touched 240; then
		ahp=$(awk 'function hex(x,   i, n) {
				for (i = 1; i <= length(x); i++)
					n = n * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
				return n
			}
			/^[0-9a-f]+-[0-9a-f]+ / {
				split($1, r, "-")
				ram = hex(r[2]) - hex(r[1]) == 1073741824
			}
			ram && /^AnonHugePages:/ {s += $2} END {print s + 0}' "/proc/$pid/smaps")
		if [ "$thp" = on ] && [ "$ahp" -gt 0 ]; then
			ok "thp=on: AnonHugePages ${ahp} kB"
		elif [ "$thp" = off ] && [ "$ahp" -eq 0 ]; then
			ok "thp=off: no AnonHugePages"
		else
			bad "thp=$thp: AnonHugePages ${ahp} kB"
		fi
	else
		bad "thp=$thp: guest did not come up"
	fi
	stop_vm "$pid" "thp$thp"
done

# 5 GiB: RAM continues above 4 GiB; the guest sees (almost) all of it.
run_vm big run --memory 5G --stats -- sh -c 'grep MemTotal /proc/meminfo'
expect_status big 0
expect_grep big err 'memory region 1: gpa=0x100000000 size=2048 MiB'
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/big.out" | tr -d '\r')
if [ -n "$mem" ] && [ "$mem" -gt $((4800 * 1024)) ] && [ "$mem" -le $((5 * 1024 * 1024)) ]; then
	ok "big: MemTotal $mem kB for 5 GiB"
else
	bad "big: MemTotal '$mem' kB for 5 GiB"
fi
finish

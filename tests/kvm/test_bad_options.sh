#!/bin/bash
# Bad input from users: every option given a bad value exits 2 with exactly
# one line naming the option (or the file), and nothing is left behind.
# Late failures (an API socket path that cannot be bound is the last thing
# kvmlab sets up) must release what was already taken: the tap kvmlab
# created, the disk image lock, the hugepages.
. "$(dirname "$0")/lib.sh"
modprobe -a tun loop 2>/dev/null

IMG=$TMP/disk.img
truncate -s 16M "$IMG"

# refuse NAME PATTERN ARGS...: exit 2, one line on stderr matching PATTERN
refuse() {
	local name=$1 pat=$2
	shift 2
	run_vm "$name" run "$@" -- true
	expect_status "$name" 2
	expect_grep "$name" err "^kvmlab: $pat"
	if [ "$(wc -l <"$TMP/$name.err")" -eq 1 ]; then ok "$name: one line"; else
		bad "$name: $(wc -l <"$TMP/$name.err") lines on stderr"
	fi
}

refuse kernel '.*/nonexistent/vmlinuz' --kernel /nonexistent/vmlinuz
refuse initrd '.*/nonexistent/initrd' --initrd /nonexistent/initrd
refuse serial '--serial' --serial file=/nonexistent/dir/log
refuse mem_size '--memory' --memory size=lots
refuse mem_backend '--memory.*backend' --memory size=256M,backend=magic
refuse mem_hpsize '--memory.*hugepage-size' --memory size=256M,backend=hugetlbfs,hugepage-size=3M
refuse mem_prealloc '--memory.*prealloc' --memory size=256M,prealloc=maybe
refuse mem_nodes '--memory.*host-nodes' --memory size=256M,host-nodes=63,policy=bind
refuse disk_path '--disk.*/nonexistent' --disk path=/nonexistent/disk.img
refuse disk_cache '--disk.*cache' --disk "path=$IMG,cache=sometimes"
refuse disk_engine '--disk.*engine' --disk "path=$IMG,engine=magic"
refuse disk_queues '--disk.*queues' --disk "path=$IMG,queues=0"
refuse net_mac '--net.*mac' --net tap=kvbad0,mac=zz
refuse net_queues '--net.*queues' --net tap=kvbad0,queues=99
refuse net_mtu '--net.*mtu' --net tap=kvbad0,mtu=10
refuse net_vhost '--net.*vhost' --net tap=kvbad0,vhost=maybe
refuse net_name '--net.*tap' --net tap=this-name-is-far-too-long-for-linux
refuse rng '--rng.*ioeventfd' --rng ioeventfd=maybe
refuse balloon '--balloon.*stats' --balloon stats=maybe
refuse api_dir '--api-socket.*nonexistent' --api-socket /nonexistent/dir/api.sock
refuse unknown '--frobnicate' --frobnicate
refuse trace '--trace' --trace everything

# late failure: tap created, disk locked, hugepages mapped, then the API
# socket cannot be made; all of it must be released
hp_free() { awk '/^HugePages_Free/ {print $2}' /proc/meminfo; }
free0=$(hp_free)
hp=()
[ "${free0:-0}" -ge 64 ] && hp=(--memory size=128M,backend=hugetlbfs,hugepage-size=2M)
refuse late '--api-socket' "${hp[@]}" --disk "path=$IMG" --net tap=kvlate0 \
	--api-socket /nonexistent/dir/api.sock
if [ -e /sys/class/net/kvlate0 ]; then bad "late: the tap kvmlab created is still there"; else
	ok "late: no tap left"
fi
run_vm relock run --kernel "$GUESTS/hello" --disk "path=$IMG"
expect_status relock 0
if [ ${#hp[@]} -gt 0 ]; then
	[ "$(hp_free)" = "$free0" ] && ok "late: hugepages free again ($free0)" ||
		bad "late: HugePages_Free $(hp_free), was $free0"
else
	bad "late: no free 2M hugepages to check (run through tests/nested/run --hugepages N)"
fi
finish

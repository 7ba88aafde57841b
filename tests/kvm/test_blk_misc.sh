#!/bin/bash
# virtio-blk: multiqueue, O_DIRECT, discard, serial, readonly, image locks,
# and bad --disk values.
. "$(dirname "$0")/lib.sh"
scratch_fs 200

rw=$SCRATCH/rw.img
ro=$SCRATCH/ro.img
# rw: 32 MiB of allocated non-zero data, so a discard can free blocks
dd if=/dev/urandom of="$rw" bs=1M count=32 status=none
dd if=/dev/urandom of="$ro" bs=1M count=8 status=none
ro_sum=$(md5sum <"$ro")
blocks_before=$(stat -c %b "$rw")

# 1. one guest, two disks: vda rw with 4 queues over 2 IO threads,
# cache=none; vdb readonly.
GUEST='echo "mq=$(ls /sys/block/vda/mq | wc -l)"
echo "serial=$(cat /sys/block/vda/serial)"
echo "lbs=$(cat /sys/block/vda/queue/logical_block_size)"
echo "vdb_ro=$(cat /sys/block/vdb/ro)"
echo "vda_ro=$(cat /sys/block/vda/ro)"
blkdiscard -o 0 -l 16777216 /dev/vda; echo "discard_rc=$?"
dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>/dev/null; echo "vdb_write_rc=$?"
kvmlab-guest blk /dev/vda --mode randread --bs 4096 --iodepth 8 --jobs 4 --runtime 2 --offset 16M --size 16M
echo READY; sleep 600'
"$KVMLAB" run --cpus 4 --memory 256M --stats \
	--disk "path=$rw,cache=none,queues=4,iothreads=2,serial=KVMLAB-SN-1" \
	--disk "path=$ro,readonly=on" -- sh -c "$GUEST" \
	>"$TMP/mq.out" 2>"$TMP/mq.err" </dev/null &
pid=$!
if wait_for "$TMP/mq.out" '^READY' 300; then
	expect_grep mq out '^mq=4'
	expect_grep mq out '^serial=KVMLAB-SN-1'
	expect_grep mq out '^vdb_ro=1'
	expect_grep mq out '^vda_ro=0'
	expect_grep mq out '^discard_rc=0'
	expect_grep mq out '^vdb_write_rc=[1-9]'
	expect_grep mq out '"errors":0'
	# the image is open with O_DIRECT (octal 040000 in fdinfo flags)
	direct=no
	for fd in /proc/$pid/fd/*; do
		if [ "$(readlink "$fd")" = "$rw" ]; then
			flags=$(sed -n 's/^flags:\t*//p' "/proc/$pid/fdinfo/${fd##*/}")
			(((8#$flags & 8#040000) != 0)) && direct=yes
		fi
	done
	[ "$direct" = yes ] && ok "cache=none: image fd has O_DIRECT" ||
		bad "cache=none: no O_DIRECT image fd in /proc/$pid/fdinfo"
	# IO threads: named io-vda-0 and io-vda-1
	names=$(cat /proc/$pid/task/*/comm | grep -c '^io-vda-[01]$')
	[ "$names" -eq 2 ] && ok "two IO threads io-vda-0/1" || bad "IO threads: $(cat /proc/$pid/task/*/comm | tr '\n' ' ')"
	blocks_after=$(stat -c %b "$rw")
	if [ "$blocks_after" -lt "$blocks_before" ]; then
		ok "discard freed blocks on the host ($blocks_before -> $blocks_after)"
	else
		bad "discard did not free blocks ($blocks_before -> $blocks_after)"
	fi
	# a second kvmlab cannot take the images
	run_vm lock run --memory 64M --kernel "$GUESTS/hello" --disk "path=$rw"
	expect_status lock 2
	expect_grep lock err "^kvmlab: --disk path=$rw: image is in use by another process \(locked\)$"
	run_vm lock_ro run --memory 64M --kernel "$GUESTS/hello" --disk "path=$rw,readonly=on"
	expect_status lock_ro 2
	# readers share
	run_vm share_ro run --memory 64M --kernel "$GUESTS/hello" --disk "path=$ro,readonly=on"
	expect_status share_ro 0
	stop_vm "$pid" mq
	expect_grep mq err 'virtio-blk vda .*cache=none engine=sync queues=4 iothreads=2'
	expect_grep mq err 'virtio-blk vda q3: in=[1-9]'
	expect_grep mq err 'virtio-blk vda q.*discard=[1-9]'
else
	kill -KILL "$pid"
	wait "$pid"
	bad "the multiqueue guest never got ready"
	sed 's/^/  out: /' "$TMP/mq.out" >&2
	sed 's/^/  err: /' "$TMP/mq.err" >&2
fi
if [ "$(md5sum <"$ro")" = "$ro_sum" ]; then
	ok "readonly image unchanged"
else
	bad "readonly image changed"
fi

# 2. bad --disk values: exit 2, one line naming the option and file.
run_vm nofile run --disk path=$SCRATCH/missing.img -- true
expect_status nofile 2
expect_grep nofile err "^kvmlab: --disk path=$SCRATCH/missing.img: No such file or directory$"
run_vm badcache run --disk "path=$rw,cache=fast" -- true
expect_status badcache 2
expect_grep badcache err "^kvmlab: --disk: cache='fast'"
run_vm badqs run --disk "path=$rw,queue-size=100" -- true
expect_status badqs 2
expect_grep badqs err "queue-size=100 is not a power of two"
run_vm toomany run --disk "path=$rw,queues=2,iothreads=3" -- true
expect_status toomany 2
run_vm tmpfs run --disk "path=/dev/shm/kvmlab-$$.img,cache=none" -- true
expect_status tmpfs 2
# no lock is left behind by the failed runs: a normal run takes the image
run_vm after run --memory 64M --kernel "$GUESTS/hello" --disk "path=$rw"
expect_status after 0

finish

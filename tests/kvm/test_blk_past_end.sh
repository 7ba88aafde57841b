#!/bin/bash
# virtio-blk requests at and past the end of the disk: the blkpast guest
# drives queue 0 itself (guests/lib/virtio.c) and sends reads and a write
# beyond the capacity, each must fail with IOERR and leave the device
# running; then a read of sector 0 and a write + flush of sector 1 work.
# On the host: the write landed in sector 1 and the image did not grow.
. "$(dirname "$0")/lib.sh"

img=$TMP/img
marker0=KVMLAB-BLK-SECTOR0         # the guest expects this at offset 0
marker1=KVMLAB-BLK-SECTOR1-WRITTEN # and writes this to sector 1
dd if=/dev/zero of="$img" bs=1M count=1 status=none
printf '%s' "$marker0" | dd of="$img" conv=notrunc status=none
size_before=$(stat -c %s "$img")

run_vm past run --memory 64M --kernel "$GUESTS/blkpast" --disk "path=$img" --stats
expect_status past 0
expect_grep past out '^blkpast: BAR0 now at 0xc0000000'
expect_grep past out '^blkpast: capacity 2048 sectors'
expect_grep past out '^step a: status 1 ok'
expect_grep past out '^step b: status 1 ok'
expect_grep past out '^step c: status 1 ok'
expect_grep past out '^step d: status 1 ok'
expect_grep past out '^step e: status 0 ok'
expect_grep past out '^step f: status 0 ok'
expect_grep past out '^blkpast: device status 0x[0-9a-f]+ ok'
expect_grep past out '^blkpast: all steps ok'
expect_no_grep past out 'FAIL'

# 4 refused requests (a-d), 4 reads (a, b, c, e), 2 writes (d, f), 1 flush
expect_grep past err 'virtio-blk vda q0: in=4 out=2 flush=1 .* errors=4 '
expect_grep past err 'virtio-blk vda 00:[0-9a-f]{2}\.0: .* needs_reset=0$'

got=$(dd if="$img" bs=512 skip=1 count=1 status=none | head -c ${#marker1})
if [ "$got" = "$marker1" ]; then
	ok "sector 1 holds the guest's write"
else
	bad "sector 1 starts with '$got', expected '$marker1'"
fi
got=$(head -c ${#marker0} "$img")
if [ "$got" = "$marker0" ]; then
	ok "sector 0 unchanged"
else
	bad "sector 0 starts with '$got', expected '$marker0'"
fi
size_after=$(stat -c %s "$img")
if [ "$size_after" -eq "$size_before" ] && [ "$size_after" -eq 1048576 ]; then
	ok "image size unchanged ($size_after bytes): nothing written past the end"
else
	bad "image size $size_before -> $size_after bytes"
fi
finish

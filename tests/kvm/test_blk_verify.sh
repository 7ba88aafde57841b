#!/bin/bash
# virtio-blk data integrity, for every cache mode with one engine ($1:
# sync or io_uring): the guest writes a seeded 64 MiB pattern and syncs; the
# host checks the image bytes (and that nothing past the pattern changed);
# a second boot reads the pattern back through the device.
. "$(dirname "$0")/lib.sh"
ENGINE=${1:?usage: test_blk_verify.sh sync|io_uring}
GB=$GUESTS/kvmlab-guest
scratch_fs 400

seed=11
for cache in none writeback writethrough directsync unsafe; do
	seed=$((seed + 1))
	img=$SCRATCH/$cache.img
	truncate -s 72M "$img"
	disk="path=$img,cache=$cache,engine=$ENGINE"
	run_vm "w-$cache" run --memory 256M --stats --disk "$disk" -- \
		kvmlab-guest blk /dev/vda --mode verify-write --size 64M --seed "$seed"
	expect_status "w-$cache" 0
	expect_grep "w-$cache" err "virtio-blk vda .*cache=$cache engine=$ENGINE"
	# the host reads the image file itself
	if "$GB" blk "$img" --mode verify-read --size 64M --seed "$seed" >"$TMP/h-$cache.out"; then
		ok "$cache/$ENGINE: the image holds the guest's pattern"
	else
		bad "$cache/$ENGINE: host verify of the image failed: $(tail -1 "$TMP/h-$cache.out")"
	fi
	tail_bytes=$(dd if="$img" bs=1M skip=64 2>/dev/null | tr -d '\0' | wc -c)
	if [ "$tail_bytes" -eq 0 ]; then
		ok "$cache/$ENGINE: the 8 MiB past the pattern are untouched"
	else
		bad "$cache/$ENGINE: $tail_bytes non-zero bytes past the written range"
	fi
	run_vm "r-$cache" run --memory 256M --disk "$disk" -- \
		kvmlab-guest blk /dev/vda --mode verify-read --size 64M --seed "$seed"
	expect_status "r-$cache" 0
	expect_grep "r-$cache" out '^verify: ok'
	rm -f "$img"
done

finish

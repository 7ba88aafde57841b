#!/bin/bash
# virtio-blk while the host breaks things under it (guests/blkfault.c holds
# the guest's side; the image's sector 0 is how the host says "go on"):
#   1. the image on a full tmpfs: the guest's write into a hole fails with
#      IOERR, kvmlab stays up; once the host frees space the same write
#      succeeds and lands in the image;
#   2. the image truncated while the VM runs: a read past the new end gets
#      IOERR, a write there works and lands;
#   3. SIGSTOP / SIGCONT while the guest streams reads: it goes on.
# The device never goes NEEDS_RESET, kvmlab exits 0 with the two refused
# requests counted as errors.  Run once per IO engine (argument 1).
. "$(dirname "$0")/lib.sh"
engine=${1:-sync} # the IO engine under test: sync or io_uring

fs=$TMP/tmpfs
mkdir -p "$fs"
if ! mount -t tmpfs -o size=4m kvmlab-faults "$fs"; then
	bad "cannot mount a 4 MiB tmpfs (needs root)"
	finish
fi
trap 'umount "$fs" 2>/dev/null; rm -rf "$TMP"' EXIT
img=$fs/img
truncate -s 32M "$img" # sparse: the guest's far sector is a hole
printf 'BLKFAULT-START' | dd of="$img" conv=notrunc status=none
# fill the rest of the filesystem
dd if=/dev/zero of="$fs/filler" bs=64k status=none 2>/dev/null || true
avail=$(df -k --output=avail "$fs" | tail -n 1 | tr -d ' ')
[ "$avail" -eq 0 ] && ok "tmpfs full (0 KiB available)" || bad "tmpfs has $avail KiB left"

# go N: tell the guest to go on with phase N (sector 0 is allocated, so
# this write needs no space)
go() { printf 'GO-%s' "$1" | dd of="$img" conv=notrunc status=none; }

"$KVMLAB" run --memory 64M --kernel "$GUESTS/blkfault" --disk "path=$img,engine=$engine" --stats \
	>"$TMP/f.out" 2>"$TMP/f.err" </dev/null &
pid=$!

if wait_for "$TMP/f.out" 'phase 1 ready' 120; then
	kill -0 "$pid" 2>/dev/null && ok "kvmlab up after the refused write" || bad "kvmlab gone after ENOSPC"
	rm -f "$fs/filler"
	go 1
else
	bad "phase 1 never came"
fi
if wait_for "$TMP/f.out" 'phase 2 ready' 120; then
	truncate -s 1M "$img"
	go 2
else
	bad "phase 2 never came"
fi
if wait_for "$TMP/f.out" 'phase 3 ready' 120; then
	kill -STOP "$pid"
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status")
	[ "$state" = T ] && ok "kvmlab stopped (state $state)" || bad "kvmlab state '$state' after SIGSTOP"
	sleep 2
	kill -CONT "$pid"
	go 3
else
	bad "phase 3 never came"
fi
status=0
timeout 120 tail --pid="$pid" -f /dev/null || kill -KILL "$pid"
wait "$pid" || status=$?
tr -d '\r' <"$TMP/f.out" >"$TMP/f.tmp" && mv "$TMP/f.tmp" "$TMP/f.out"
expect_status f 0
expect_grep f out '^blkfault: all ok$'
expect_no_grep f out 'FAIL'
for n in 1 2 3 4 5 6 7 8 9 10 11; do
	expect_grep f out "^blkfault: check $n .*: ok$"
done
expect_grep f err "virtio-blk vda 00:[0-9a-f]{2}\\.0: .* engine=$engine .* needs_reset=0\$"
# the full-disk write and the read past the truncated end
expect_grep f err 'virtio-blk vda q0: .* errors=2 '

# the image: phase 2's write at 16 MiB, the file regrown to just past it
size=$(stat -c %s "$img")
[ "$size" -eq $((16 * 1048576 + 512)) ] && ok "image regrown to $size bytes" ||
	bad "image is $size bytes, expected $((16 * 1048576 + 512))"
got=$(dd if="$img" bs=512 skip=32768 count=1 status=none | od -An -tx1 | tr -s ' \n' ' ' | sort -u)
want=$(head -c 512 /dev/zero | tr '\0' '\262' | od -An -tx1 | tr -s ' \n' ' ' | sort -u)
[ "$got" = "$want" ] && ok "sector 32768 holds the guest's write (0xb2)" || bad "sector 32768 holds '$got'"
finish

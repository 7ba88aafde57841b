#!/bin/bash
# kvmlab's exit paths free everything: valgrind's memcheck, with every leak
# kind an error (definite, indirect, possible and still reachable), over a
# normal run, a guest-chosen exit status, a guest that crashes, the hostile
# guest's 55 attacks on virtio-blk (sync and io_uring engines, several
# queues and IO threads) with virtio-rng, a refused option, and a Linux
# guest using a disk and the rng.  Memory errors (invalid reads/writes,
# uninitialised values) count too.  Seccomp is off here: valgrind runs
# kvmlab's system calls itself and has its own, which a filter would stop.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null || { bad "valgrind is not installed (scripts/setup.sh installs it)"; finish; }
VG_RC=99

# vg NAME WANT ARGS...: kvmlab ARGS under memcheck; its status must be
# WANT, and memcheck must have found nothing.
vg() {
	local name=$1 want=$2
	shift 2
	status=0
	timeout 900 valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
		--error-exitcode=$VG_RC --log-file="$TMP/$name.vg" \
		"$KVMLAB" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null || status=$?
	if [ "$status" -eq "$want" ] && ! [ -s "$TMP/$name.vg" ]; then
		ok "$name: status $want, memcheck clean"
	else
		bad "$name: status $status (want $want; $VG_RC = memcheck errors)"
		sed 's/^/  vg: /' "$TMP/$name.vg" | head -n 60 >&2
		sed 's/^/  stderr: /' "$TMP/$name.err" | tail -n 5 >&2
	fi
}

scratch_fs 16 # cache=none needs O_DIRECT, which tmpfs refuses
img=$SCRATCH/img
head -c 1048576 /dev/urandom >"$img"

vg hello 0 run --seccomp off --memory 64M --kernel "$GUESTS/hello"
expect_grep hello out 'Hello from the kvmlab hello guest'
vg exitcode 7 run --seccomp off --memory 64M --kernel "$GUESTS/exitcode" --cmdline 7
vg fault 1 run --seccomp off --memory 64M --kernel "$GUESTS/fault"
vg hostile_sync 0 run --seccomp off --memory 64M --kernel "$GUESTS/hostile" --cmdline ram_mib=64 \
	--disk "path=$img" --rng --stats
expect_grep hostile_sync out '^hostile: [0-9]+ attacks, [0-9]+ expected NEEDS_RESET, 0 failed'
vg hostile_uring 0 run --seccomp off --memory 64M --kernel "$GUESTS/hostile" --cmdline ram_mib=64 \
	--disk "path=$img,engine=io_uring,cache=none,queues=2,iothreads=2" --rng --stats
expect_grep hostile_uring out '^hostile: [0-9]+ attacks, [0-9]+ expected NEEDS_RESET, 0 failed'
vg bad_disk 2 run --seccomp off --memory 64M --kernel "$GUESTS/hello" --disk "path=$TMP/none"
expect_grep bad_disk err "^kvmlab: --disk"
vg linux 0 run --seccomp off --memory 256M --disk "path=$img" --rng --stats -- \
	sh -c 'dd if=/dev/vda of=/dev/null bs=64k 2>/dev/null && echo disk-read; head -c 4096 /dev/hwrng | wc -c'
expect_grep linux out '^disk-read'
expect_grep linux out '^4096'
finish

#!/bin/bash
# Bad kernels and too little memory: status 2, a message naming the problem,
# no vCPU started (no exit statistics printed).
. "$(dirname "$0")/lib.sh"

kernel=$(ls -v /boot/vmlinuz-* | tail -n 1)

head -c 200000 "$kernel" >"$TMP/truncated"
run_vm trunc run --kernel "$TMP/truncated" --stats
expect_status trunc 2
expect_grep trunc err "^kvmlab: --kernel $TMP/truncated: "
expect_no_grep trunc err 'exits: total'

# protocol 2.05: patch the version field at 0x206
cp "$kernel" "$TMP/old"
printf '\x05\x02' | dd of="$TMP/old" bs=1 seek=$((0x206)) conv=notrunc status=none
run_vm old run --kernel "$TMP/old" --stats
expect_status old 2
expect_grep old err "^kvmlab: --kernel $TMP/old: .*protocol"
expect_no_grep old err 'exits: total'

run_vm small run --memory 8M --stats -- true
expect_status small 2
expect_grep small err '^kvmlab: --memory'
expect_no_grep small err 'exits: total'
for f in trunc old small; do
	[ "$(wc -l <"$TMP/$f.err")" -eq 1 ] || bad "$f: stderr is not one line"
done
finish

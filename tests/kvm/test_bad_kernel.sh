#!/bin/bash
# A missing, garbage or truncated --kernel is refused with status 2 and a
# one-line message naming the file; no vCPU starts.
. "$(dirname "$0")/lib.sh"

run_vm missing run --kernel "$TMP/no-such-kernel"
expect_status missing 2
expect_grep missing err "^kvmlab: --kernel $TMP/no-such-kernel: No such file or directory$"

head -c 4096 /dev/urandom >"$TMP/garbage"
run_vm garbage run --kernel "$TMP/garbage" --stats
expect_status garbage 2
expect_grep garbage err "^kvmlab: --kernel $TMP/garbage: not an ELF64 or bzImage kernel$"
expect_no_grep garbage err 'vcpu0 exits'

head -c 100 "$GUESTS/hello" >"$TMP/truncated"
run_vm truncated run --kernel "$TMP/truncated"
expect_status truncated 2
expect_grep truncated err "^kvmlab: --kernel $TMP/truncated: "

run_vm badopt run --kernel "$GUESTS/hello" --memory lots
expect_status badopt 2
expect_grep badopt err "^kvmlab: --memory: .*'lots' is not a size"
for f in missing garbage truncated badopt; do
	if [ "$(wc -l <"$TMP/$f.err")" -ne 1 ]; then
		bad "$f: stderr is not exactly one line"
	fi
done
finish

#!/bin/bash
# A byte V written to the debug-exit port 0xf4 becomes kvmlab's exit status.
. "$(dirname "$0")/lib.sh"

for v in 0 7 42 255; do
	run_vm "exit$v" run --kernel "$GUESTS/exitcode" --cmdline "$v"
	expect_status "exit$v" "$v"
done
finish

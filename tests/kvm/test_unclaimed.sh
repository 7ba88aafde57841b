#!/bin/bash
# Reads nobody claims return all ones (the probe guest checks a port and an
# MMIO address) and are counted in the exit statistics.
. "$(dirname "$0")/lib.sh"

run_vm probe run --kernel "$GUESTS/probe" --stats --trace exits
expect_status probe 0
expect_grep probe out 'port read 4294967295, mmio read 4294967295'
expect_grep probe err 'mmio=1 '
expect_grep probe err 'unclaimed_reads=2 '
expect_grep probe err '^vcpu0 mmio read  addr=0xd0000000 size=4 value=0xffffffff -> unclaimed$'
finish

#!/bin/bash
# A triple fault gives a clear message with the registers and status 1.
. "$(dirname "$0")/lib.sh"

run_vm fault run --kernel "$GUESTS/fault"
expect_status fault 1
expect_grep fault out 'fault: loading an empty IDT'
expect_grep fault err 'vcpu0: guest triple fault'
expect_grep fault err 'rip=[0-9a-f]{16} rsp=[0-9a-f]{16}'
expect_grep fault err 'cr0=[0-9a-f]{16}'
finish

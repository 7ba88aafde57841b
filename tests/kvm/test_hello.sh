#!/bin/bash
# The hello guest prints its greeting on the UART and exits 0 through 0xf4.
. "$(dirname "$0")/lib.sh"

run_vm hello run --kernel "$GUESTS/hello" --stats
expect_status hello 0
expect_grep hello out '^Hello from the kvmlab hello guest!'
expect_grep hello err 'vcpu0 exits: total=[0-9]+ io=[0-9]+'

# --serial file=PATH: the greeting goes to the file, not stdout
run_vm hellofile run --kernel "$GUESTS/hello" --serial "file=$TMP/serial.txt"
expect_status hellofile 0
expect_no_grep hellofile out 'Hello'
if grep -q 'Hello from the kvmlab hello guest!' "$TMP/serial.txt"; then
	ok "serial file holds the greeting"
else
	bad "serial file lacks the greeting"
fi

# --serial off: nothing printed, same status
run_vm hellooff run --kernel "$GUESTS/hello" --serial off
expect_status hellooff 0
expect_no_grep hellooff out 'Hello'

# --trace exits names the UART and the debug-exit port
run_vm hellotrace run --kernel "$GUESTS/hello" --trace exits
expect_status hellotrace 0
expect_grep hellotrace err '^vcpu0 io   write port=0x3f8 size=1 value=0x48 -> uart$'
expect_grep hellotrace err '^vcpu0 io   write port=0xf4 size=1 value=0x0 -> debug-exit$'

# --trace boot: VM created, first KVM_RUN, and the guest's marker 1
run_vm helloboot run --kernel "$GUESTS/hello" --trace boot
expect_status helloboot 0
expect_grep helloboot err 'boot +[0-9.]+ ms  VM created'
expect_grep helloboot err 'boot +[0-9.]+ ms  first KVM_RUN'
expect_grep helloboot err 'boot +[0-9.]+ ms  marker 1$'
finish

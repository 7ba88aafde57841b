#!/bin/bash
# The default guest: the host's Debian kernel + kvmlab's initramfs.  Checks
# what the guest sees (CPUs, memory, cmdline) and what the host sees (exit
# status, threads, signals).
. "$(dirname "$0")/lib.sh"

# 1 vCPU: memory, exact cmdline, and the command's status becomes kvmlab's.
CMDLINE="console=ttyS0 quiet panic=-1 kvmlab.test=xyz"
run_vm l1 run --cpus 1 --memory 256M --cmdline "$CMDLINE" --trace boot -- \
	sh -c 'echo cpus=$(grep -c ^processor /proc/cpuinfo); grep MemTotal /proc/meminfo; echo "cmdline=$(cat /proc/cmdline)"; echo "kvmclock=$(dmesg | grep -c "kvm-clock: Using msrs")"; echo "pitcal=$(dmesg | grep -c "TSC calibration using PIT")"; echo "hv=$(grep -c "^flags.* hypervisor" /proc/cpuinfo)"; exit 7'
expect_status l1 7
expect_grep l1 out '^cpus=1'
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/l1.out" | tr -d '\r')
# the kernel keeps some for itself, never more than it was given
if [ -n "$mem" ] && [ "$mem" -gt $((200 * 1024)) ] && [ "$mem" -le $((256 * 1024)) ]; then
	ok "MemTotal $mem kB for 256 MiB"
else
	bad "MemTotal '$mem' kB for a 256 MiB guest"
fi
# /proc/cmdline = what we gave, plus the encoded command kvmlab appends
expect_grep l1 out "^cmdline=$CMDLINE kvmlab.cmd=[0-9a-f]+"
expect_grep l1 err 'boot +[0-9.]+ ms  marker 2$'
# PV features from the hypervisor leaves: kvm-clock gives the TSC frequency,
# so the guest does not calibrate it against the PIT
expect_grep l1 out '^kvmclock=1'
expect_grep l1 out '^pitcal=0'
expect_grep l1 out '^hv=1'

# SMP: every vCPU comes online
for n in 2 4; do
	run_vm "smp$n" run --cpus "$n" --memory 256M -- \
		sh -c 'echo online=$(cat /sys/devices/system/cpu/online); echo cpus=$(grep -c ^processor /proc/cpuinfo)'
	expect_status "smp$n" 0
	expect_grep "smp$n" out "^cpus=$n"
	expect_grep "smp$n" out "^online=0-$((n - 1))"
done

# reboot -f and poweroff -f end kvmlab with status 0
run_vm reboot run --memory 256M -- reboot -f
expect_status reboot 0
run_vm poweroff run --memory 256M -- poweroff -f
expect_status poweroff 0
# without -f: busybox signals init, which reboots / powers off
run_vm reboot_init run --memory 256M -- reboot
expect_status reboot_init 0
run_vm poweroff_init run --memory 256M -- poweroff
expect_status poweroff_init 0
# a guest kernel panic with panic=-1 (the default cmdline) reboots: status 0
run_vm panic run --memory 256M -- sh -c 'echo c >/proc/sysrq-trigger; sleep 60; exit 9'
expect_status panic 0

finish

#!/bin/bash
# virtio over PCI, end to end with virtio-rng: the default guest binds
# virtio_pci + virtio_rng, reads 1 MiB from /dev/hwrng, and we check what
# the guest saw (device id, MSI-X or INTx interrupts) and what the host
# counted (requests, kicks by path, interrupts by path).  With ioeventfd on,
# the stream costs no notify exits on the vCPU threads; with it off, every
# kick is one.
. "$(dirname "$0")/lib.sh"

GUEST='for d in /sys/bus/virtio/devices/*; do echo "virtio $(basename $d) device=$(cat $d/device)"; done
echo "rng_current=$(cat /sys/class/misc/hw_random/rng_current)"
echo "hwrng_bytes=$(dd if=/dev/hwrng bs=4096 count=256 2>/dev/null | wc -c)"
grep virtio /proc/interrupts | sed "s/^ *[0-9]*: *[0-9 ]*/irq /"
echo "pci=$(ls /sys/bus/pci/devices | tr "\n" " ")"'

# rngstat NAME KEY: a number from the host's virtio-rng stats line
rngstat() {
	sed -n "s/^kvmlab: virtio-rng .* $2=\\([0-9a-fx]*\\).*/\\1/p" "$TMP/$1.err" | head -1
}

# expect_cmp NAME WHAT VALUE OP LIMIT (OP: -eq -gt -ge ...)
expect_cmp() {
	if [ -n "$3" ] && [ "$3" "$4" "$5" ]; then
		ok "$1: $2=$3 ($4 $5)"
	else
		bad "$1: $2='$3', expected $4 $5"
		sed 's/^/  stderr: /' "$TMP/$1.err" >&2
	fi
}

# notify_exits NAME: traced MMIO writes that landed in the notify area
notify_exits() {
	local bar n=0 a
	bar=$(($(rngstat "$1" bar)))
	sed -n 's/.* mmio write addr=\(0x[0-9a-f]*\) .*-> virtio-pci$/\1/p' "$TMP/$1.err" >"$TMP/$1.notify"
	while read -r a; do
		a=$((a))
		if [ "$a" -ge $((bar + 0x3000)) ] && [ "$a" -lt $((bar + 0x4000)) ]; then
			n=$((n + 1))
		fi
	done <"$TMP/$1.notify"
	echo "$n"
}

# 1. the normal path: MSI-X, ioeventfd + irqfd.
run_vm fast run --memory 256M --rng --stats --trace exits -- sh -c "$GUEST"
expect_status fast 0
expect_grep fast out '^virtio virtio0 device=0x0004'
expect_grep fast out '^rng_current=virtio_rng'
expect_grep fast out '^hwrng_bytes=1048576'
expect_grep fast out '^irq .*PCI-MSI.*virtio0-input'
expect_grep fast out '^pci=0000:00:00.0 0000:00:01.0 '
expect_cmp fast bytes "$(rngstat fast bytes)" -ge 1048576
expect_cmp fast mmio_kicks "$(rngstat fast mmio_kicks)" -eq 0
expect_cmp fast kicks "$(rngstat fast kicks)" -gt 0
expect_cmp fast irqfd "$(rngstat fast irqfd)" -gt 0
expect_cmp fast msi "$(rngstat fast msi)" -eq 0
expect_cmp fast intx "$(rngstat fast intx)" -eq 0
expect_grep fast err 'kick_path=ioeventfd irq_path=irqfd'
expect_cmp fast needs_reset "$(rngstat fast needs_reset)" -eq 0
expect_cmp fast traced_notify_exits "$(notify_exits fast)" -eq 0
echo "fast: requests=$(rngstat fast requests) kicks=$(rngstat fast kicks) irqfd=$(rngstat fast irqfd)"

# 2. both knobs off: kicks arrive as MMIO exits, interrupts via KVM_SIGNAL_MSI.
run_vm slow run --memory 256M --rng ioeventfd=off,irqfd=off --stats --trace exits -- sh -c "$GUEST"
expect_status slow 0
expect_grep slow out '^virtio virtio0 device=0x0004'
expect_grep slow out '^hwrng_bytes=1048576'
expect_grep slow out '^irq .*PCI-MSI.*virtio0-input'
expect_grep slow err 'kick_path=exit irq_path=signal-msi'
expect_cmp slow mmio_kicks "$(rngstat slow mmio_kicks)" -gt 0
expect_cmp slow irqfd "$(rngstat slow irqfd)" -eq 0
expect_cmp slow msi "$(rngstat slow msi)" -gt 0
slow_exits=$(notify_exits slow)
expect_cmp slow traced_notify_exits "$slow_exits" -eq "$(rngstat slow mmio_kicks)"
echo "slow: requests=$(rngstat slow requests) mmio_kicks=$(rngstat slow mmio_kicks) msi=$(rngstat slow msi)"

# 3. pci=nomsi: the INTx fallback through the _PRT route and the I/O APIC.
run_vm intx run --memory 256M --rng --stats \
	--cmdline "console=ttyS0 quiet panic=-1 io_delay=none pci=noearly pci=nomsi" -- sh -c "$GUEST"
expect_status intx 0
expect_grep intx out '^virtio virtio0 device=0x0004'
expect_grep intx out '^hwrng_bytes=1048576'
expect_grep intx out '^irq .*IO-APIC.*virtio0'
expect_no_grep intx out 'PCI-MSI'
expect_cmp intx intx "$(rngstat intx intx)" -gt 0
expect_cmp intx irqfd "$(rngstat intx irqfd)" -eq 0

# 4. no --rng: only the host bridge, and the guest's PCI probing is served
# by it instead of ending as unclaimed port accesses.
run_vm none run --memory 256M --stats -- sh -c 'echo "pci=$(ls /sys/bus/pci/devices | tr "\n" " ")"; cat /sys/bus/pci/devices/0000:00:00.0/class'
expect_status none 0
expect_grep none out '^pci=0000:00:00.0 '
expect_no_grep none out '^pci=.*0000:00:01'
expect_grep none out '^0x060000'
unclaimed=$(sed -n 's/.*unclaimed_reads=\([0-9]*\).*/\1/p' "$TMP/none.err" | awk '{s+=$1} END {print s+0}')
expect_cmp none unclaimed_reads "$unclaimed" -lt 1000

finish

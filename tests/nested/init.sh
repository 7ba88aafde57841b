#!/bin/busybox sh
# shellcheck shell=dash
# /init of the emulated x86 host booted by tests/nested/run (see README.md).
#
# It runs from a tiny initramfs (static busybox + a few modules in /modules)
# and talks to the runner only through the "ctl" 9p share:
#   config       read here: variables set by the runner (see write_config in run)
#   cmd.sh       the command to run, executed by bash inside the chroot
#   stdout       CMD's stdout (appended; streamed by the runner)
#   stderr       CMD's stderr, plus this script's "nested:" messages
#   heartbeat    rewritten every few seconds while this host is alive
#   status       CMD's exit status, written last (atomically via status.tmp)
# Everything else this script or the kernel prints goes to the serial console,
# which the runner keeps in a log file and shows only when something breaks.

PATH=/bin:/sbin
export PATH

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s

CTL=/ctl
NEWROOT=/newroot

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Message for the person running the test: into CMD's stderr stream once the
# ctl share is up, and onto the console in any case.
say() {
	echo "nested: $*" >/dev/console
	[ -d "$CTL/." ] && [ -f "$CTL/stderr" ] && echo "nested: $*" >>"$CTL/stderr"
}

# A setup step failed: report it with the runner's "environment" status 125
# and power off. (Exiting /init would panic the kernel; that also ends QEMU
# thanks to panic=-1 + -no-reboot, but without a status file.)
fail() {
	say "$*"
	if [ -f "$CTL/stderr" ]; then
		echo 125 >"$CTL/status.tmp" && mv "$CTL/status.tmp" "$CTL/status"
	fi
	poweroff -f
	sleep 60
}

load() { # load /modules/NAME.ko
	insmod "/modules/$1.ko" || fail "cannot load module $1"
}

# --- the 9p shares ---------------------------------------------------------
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
	9pnet 9pnet_virtio netfs fscache 9p overlay; do
	load "$m"
done

mkdir -p "$CTL"
# No cache on ctl: every write reaches the runner's file at once.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 ctl "$CTL" ||
	fail "cannot mount the ctl share"
[ -f "$CTL/config" ] || fail "no config in the ctl share"
# shellcheck source=/dev/null
. "$CTL/config"

# Heartbeat: the runner compares the file's mtime (set by the runner-side
# filesystem) with its own clock when its time limit is hit.
(
	while :; do
		date +%s >"$CTL/heartbeat"
		sleep "${HEARTBEAT_INTERVAL:-2}"
	done
) &

# --- the root filesystem: this machine's /, read-only, plus a tmpfs overlay --
mkdir -p /lower /rw "$NEWROOT"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /lower ||
	fail "cannot mount the hostroot share"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay "$NEWROOT" ||
	fail "cannot mount the overlay root"

# /dev extras, set up once in our own /dev and then rbind-mounted into the chroot.
mkdir -p /dev/pts /dev/shm /dev/hugepages
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm

# Hugepages: 2 MiB pages on request; 1 GiB pages were reserved by the kernel
# command line (hugepagesz=1G hugepages=N) because they need early allocation.
if [ "${HUGEPAGES:-0}" -gt 0 ]; then
	echo "$HUGEPAGES" >/proc/sys/vm/nr_hugepages
	got=$(cat /proc/sys/vm/nr_hugepages)
	[ "$got" = "$HUGEPAGES" ] || say "warning: asked for $HUGEPAGES 2M hugepages, got $got"
fi
mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages
if [ "${HUGEPAGES_1G:-0}" -gt 0 ]; then
	got=$(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo 0)
	[ "$got" = "$HUGEPAGES_1G" ] || say "warning: asked for $HUGEPAGES_1G 1G hugepages, got $got"
	mkdir -p /dev/hugepages1G
	mount -t hugetlbfs -o pagesize=1G hugetlbfs /dev/hugepages1G
fi

mount -o rbind /dev "$NEWROOT/dev"
mount -o bind /proc "$NEWROOT/proc"
mount -o bind /sys "$NEWROOT/sys"

# The repository, read-write, at its own path. cache=mmap so that programs
# may mmap files there (shared writable mmap needs it); plain writes still go
# straight through to the runner's machine.
mkdir -p "$NEWROOT$REPO"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=mmap work "$NEWROOT$REPO" ||
	fail "cannot mount the repository share at $REPO"

# The ctl share inside the chroot, at the runner's temp dir path (cmd.sh lives there).
mkdir -p "$NEWROOT$CTL_PATH"
mount -o bind "$CTL" "$NEWROOT$CTL_PATH"

ip link set lo up 2>/dev/null

# --- KVM ------------------------------------------------------------------
for m in irqbypass kvm ccp kvm-amd; do
	insmod "/modules/$m.ko" || fail "cannot load module $m, so no /dev/kvm (see the console log)"
done
i=0
while [ ! -c /dev/kvm ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -c /dev/kvm ] || fail "/dev/kvm did not appear after loading kvm_amd (does the emulated CPU have svm? $(grep -c svm /proc/cpuinfo) cpuinfo lines with svm)"

# --- the command ------------------------------------------------------------
chroot "$NEWROOT" /usr/bin/env -i /bin/bash --noprofile --norc "$CTL_PATH/cmd.sh" \
	</dev/null >>"$CTL/stdout" 2>>"$CTL/stderr"
rc=$?

echo "$rc" >"$CTL/status.tmp"
mv "$CTL/status.tmp" "$CTL/status"
sync
poweroff -f
sleep 60

#!/usr/bin/env bash
# check-qemu.sh: boot the default guest's initramfs under QEMU (TCG, no KVM
# needed) with the host's kernel and check what /init does.  About 10 s per
# boot; not part of the test suites.
#
#   guests/initramfs/check-qemu.sh [INITRAMFS]   (default build/guests/initramfs.cpio.gz)
#
# QEMU's isa-debug-exit turns a write of V to port 0xf4 into exit status
# (V << 1) | 1; an ACPI power-off exits 0.  Exit status: 0 if every check
# passed, 1 otherwise.
set -uo pipefail
export LC_ALL=C

HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
INITRD=${1:-$HERE/../../build/guests/initramfs.cpio.gz}
[[ -r $INITRD ]] || {
	echo "check-qemu: $INITRD: not readable (build it: ninja -C build)" >&2
	exit 1
}
kver=
while read -r v; do
	[[ -d /lib/modules/$v && -r /boot/vmlinuz-$v ]] && kver=$v && break
done < <(for f in /boot/vmlinuz-*; do [[ -e $f ]] && echo "${f#/boot/vmlinuz-}"; done | sort -rV)
[[ -n $kver ]] || {
	echo "check-qemu: no /boot/vmlinuz-VER with /lib/modules/VER" >&2
	exit 1
}
command -v qemu-system-x86_64 >/dev/null || {
	echo "check-qemu: qemu-system-x86_64 missing (package qemu-system-x86)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
fails=0
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
qemu() { # LOG CMDLINE-EXTRA [QEMU ARGS...]; stdin passed through
	local log=$1 extra=$2
	shift 2
	timeout 180 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
		-kernel "/boot/vmlinuz-$kver" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 io_delay=none $extra" \
		-device isa-debug-exit,iobase=0xf4,iosize=1 "$@" >"$tmp/$log" 2>&1
}
check() { # NAME GOT-STATUS WANT-STATUS LOG [REGEX...]
	local name=$1 got=$2 want=$3 log=$4 re ok=1
	shift 4
	[[ $got == "$want" ]] || ok=0
	for re; do grep -Eq -- "$re" "$tmp/$log" || ok=0; done
	if ((ok)); then
		echo "ok   $name"
	else
		echo "FAIL $name (status $got, expected $want; console below)"
		sed -n '/Booting from ROM/,$p' "$tmp/$log" | tail -n 30 | sed 's/^/    /'
		fails=$((fails + 1))
	fi
}

qemu a "kvmlab.cmd=$(hex 'echo hi; exit 3')" </dev/null
check "kvmlab.cmd: output and status 3" $? 7 a '(^|J)hi'

truncate -s 8M "$tmp/disk.img"
qemu b "kvmlab.cmd=$(hex 'lsmod; ls /sys/bus/virtio/drivers/*/; hostname')" \
	-drive "file=$tmp/disk.img,format=raw,if=virtio" -netdev user,id=n0 \
	-device virtio-net-pci,netdev=n0 -device virtio-rng-pci -device virtio-balloon-pci </dev/null
check "modules loaded, virtio drivers bound" $? 1 b '^virtio_pci ' '^virtio_net ' \
	'^virtio_blk ' '^virtio_rng ' '^virtio_balloon ' 'virtio_blk/:' 'virtio_net/:' '^kvmlab'

# shellcheck disable=SC2016 # (expanded by the guest's shell)
{
	sleep 8
	printf 'echo interactive-$((6 * 7)); tty\n'
	sleep 1
	printf 'exit 5\n'
} | qemu c ""
check "interactive shell on ttyS0, its exit status" $? 11 c '^interactive-42' '^/dev/ttyS0'

qemu d "kvmlab.cmd=6g" </dev/null
check "malformed kvmlab.cmd: status 125" $? 251 d 'malformed kvmlab.cmd'

# shellcheck disable=SC2016
{
	sleep 7
	printf 'hello world\n'
} | qemu e "kvmlab.cmd=$(hex 'read x; echo "got:$x"')"
check "the command's stdin is the console" $? 1 e '^got:hello world'

((fails == 0)) && echo "check-qemu: all passed ($INITRD, kernel $kver)" ||
	echo "check-qemu: $fails failed"
((fails == 0))

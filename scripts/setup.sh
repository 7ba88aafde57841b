#!/bin/bash
# Install what kvmlab needs (Debian 12, as root), then configure and build it
# in build/.  Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(meson ninja-build gcc libc6-dev pkg-config libcmocka-dev qemu-system-x86
	linux-image-amd64 busybox-static cpio clang libclang-rt-14-dev e2fsprogs
	iproute2 kmod procps valgrind gnuplot-nox)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q "${missing[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi

if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null

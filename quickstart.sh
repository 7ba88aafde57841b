#!/bin/bash
# Quick start, step 1: install, build, and boot the default guest (the host's
# Debian kernel + kvmlab's initramfs) with 2 vCPUs; the guest reports its
# kernel, CPUs and memory, and kvmlab prints the boot timeline.  Works on a
# machine without /dev/kvm by running kvmlab inside an emulated x86 host
# (tests/nested/run).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
echo "quickstart: booting the default guest (2 vCPUs, 512M)" >&2
exec tests/nested/run --timeout 300 -- build/kvmlab run --cpus 2 --memory 512M --trace boot -- \
	sh -c 'echo "guest kernel: $(uname -r)"; echo "guest cpus:   $(grep -c ^processor /proc/cpuinfo)"; grep MemTotal /proc/meminfo'

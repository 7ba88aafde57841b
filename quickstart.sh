#!/bin/bash
# Quick start, step 1: install, build, and boot the default guest.  Works on a
# machine without /dev/kvm by running kvmlab inside an emulated x86 host
# (tests/nested/run).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
echo "quickstart: booting the hello guest (build/guests/hello)" >&2
exec tests/nested/run -- build/kvmlab run --kernel build/guests/hello --stats --trace boot

#!/bin/bash
# Quick start, step 2: the whole test suite.  Unit tests run here; the kvm
# suite runs in ONE emulated host through tests/nested/run (or directly where
# /dev/kvm works).  Never skipped: if KVM cannot be had, this fails.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh

status=0
echo "== unit suite" >&2
meson test -C build --suite unit --print-errorlogs || status=1

echo "== kvm suite (through tests/nested/run)" >&2
tests/nested/run --timeout 2400 --memory 6G --hugepages 300 --hugepages-1g 1 --numa-nodes 2 -- \
	meson test -C build --suite kvm --no-rebuild --print-errorlogs --num-processes 1 ||
	status=1

if [ "$status" -ne 0 ]; then
	echo "test.sh: FAILED" >&2
else
	echo "test.sh: all suites passed" >&2
fi
exit "$status"

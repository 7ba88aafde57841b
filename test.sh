#!/bin/bash
# Quick start, step 2: the whole test suite.  Unit tests (plain and under
# ASan+UBSan) and fuzz targets run here; the kvm suite runs in two emulated
# hosts through tests/nested/run (its half kvm-a alongside the unit and
# fuzz stages, then kvm-b), and the vCPU-placement test (suite kvm-smp) in
# a third one with 2 CPUs (or all directly where /dev/kvm boots Linux).
# Never skipped: if KVM cannot be had, this fails.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh

status=0
# stage NAME: a header with the time since the start, so that a slow CI run
# shows where its time went.
stage() { printf '== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# in_host SUITE NESTED-OPTIONS...: one suite in its own emulated host (or
# directly where /dev/kvm boots Linux).  An emulated host has been seen to
# freeze now and then (TCG, or this machine stalling); the runner's watchdog
# stops a frozen one with status 123.  One with 2 emulated CPUs has also been
# seen to reset itself mid-suite with no kernel panic (status 122).  Either
# way the suite gets one more try in a fresh host.  Any other failure counts
# at once, and so does the same fault twice.
in_host() {
	local suite=$1 rc try
	shift
	for try in 1 2; do
		rc=0
		tests/nested/run "$@" -- \
			meson test -C build --suite "$suite" --no-rebuild --print-errorlogs --num-processes 1 \
			--logbase "$suite" ||
			rc=$?
		if [ "$try" -eq 1 ] && { [ "$rc" -eq 123 ] || [ "$rc" -eq 122 ]; }; then
			stage "emulator fault (status $rc); $suite once more"
			continue
		fi
		break
	done
	return "$rc"
}

# The kvm suite in its two halves (tests/kvm/meson.build), one emulated
# host each, so that a freeze costs at most one half again.  kvm-a runs in
# the background while the unit, sanitizer and fuzz stages (which need no
# KVM) run here, niced; its output follows theirs.
KVM_HOST=(--timeout 2400 --memory 6G --hugepages 300 --hugepages-1g 1 --numa-nodes 2)
kvm_a_log=build/kvm-a.log
stage "kvm-a: half of the kvm suite (through tests/nested/run, in the background)"
in_host kvm-a "${KVM_HOST[@]}" >"$kvm_a_log" 2>&1 &
kvm_a_pid=$!
# (an early exit takes kvm-a's runner along; the runner stops its emulator)
trap 'pkill -TERM -P "$kvm_a_pid" 2>/dev/null || true; kill "$kvm_a_pid" 2>/dev/null || true' EXIT
# what runs here from now on yields to kvm-a's emulator (ninja and meson
# test use every core)
renice -n 10 $$ >/dev/null 2>&1 || true
stage "unit suite"
meson test -C build --suite unit --print-errorlogs || status=1

# The unit suite again under AddressSanitizer + UndefinedBehaviorSanitizer:
# a leak, an overflow or UB in any tested path fails the run.
stage "unit suite under ASan+UBSan"
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
if ninja -C build-asan >/dev/null; then
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-asan --suite unit --print-errorlogs || status=1
else
	echo "test.sh: the sanitizer build failed" >&2
	status=1
fi

# Fuzz targets (libFuzzer, ASan+UBSan): a clang build of its own, each target
# for a bounded time; a crash fails the run.
stage "fuzz targets (${FUZZ_SECONDS:-20} s each)"
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz >/dev/null
fi
if ninja -C build-fuzz >/dev/null; then
	tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-20}" || status=1
else
	echo "test.sh: the clang fuzz build failed" >&2
	status=1
fi

stage "kvm-a: waiting for it"
kvm_a=0
wait "$kvm_a_pid" || kvm_a=$?
trap - EXIT
cat "$kvm_a_log"
if [ "$kvm_a" -ne 0 ]; then
	echo "test.sh: kvm-a failed (status $kvm_a)" >&2
	status=1
fi
stage "kvm-b: half of the kvm suite (through tests/nested/run)"
in_host kvm-b "${KVM_HOST[@]}" || status=1
stage "kvm-smp suite (an emulated host with 2 CPUs: vCPU pinning, topology)"
in_host kvm-smp --timeout 900 --cpus 2 --memory 3G || status=1

stage "done"
if [ "$status" -ne 0 ]; then
	echo "test.sh: FAILED" >&2
else
	echo "test.sh: all suites passed" >&2
fi
exit "$status"

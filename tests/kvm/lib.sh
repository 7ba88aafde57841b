# Helpers for kvm-suite tests (sourced).  Each test runs real guests under
# /dev/kvm; without a usable /dev/kvm the test FAILS (it is never skipped):
# run the suite through tests/nested/run on machines without KVM.
set -u

: "${KVMLAB:?KVMLAB must point at the kvmlab binary}"
: "${GUESTS:?GUESTS must point at the built test guests}"

fails=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvmlab-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "FAIL: no usable /dev/kvm here; run the kvm suite through tests/nested/run" >&2
	exit 1
fi

# run_vm NAME ARGS...: run kvmlab, leaving stdout in $TMP/NAME.out, stderr in
# $TMP/NAME.err and the exit status in $status, killed after RUN_TIMEOUT
# seconds (default 300).
run_vm() {
	local name=$1
	shift
	status=0
	timeout "${RUN_TIMEOUT:-300}" "$KVMLAB" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null || status=$?
}

ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# expect_status NAME WANT
expect_status() {
	if [ "$status" -eq "$2" ]; then
		ok "$1: exit status $2"
	else
		bad "$1: exit status $status, expected $2"
		sed 's/^/  stderr: /' "$TMP/$1.err" >&2
	fi
}

# expect_grep NAME FILE(out|err) PATTERN (extended regex)
expect_grep() {
	if grep -Eq -- "$3" "$TMP/$1.$2"; then
		ok "$1: $2 matches '$3'"
	else
		bad "$1: $2 does not match '$3'"
		sed "s/^/  $2: /" "$TMP/$1.$2" >&2
	fi
}

# expect_no_grep NAME FILE PATTERN
expect_no_grep() {
	if grep -Eq -- "$3" "$TMP/$1.$2"; then
		bad "$1: $2 unexpectedly matches '$3'"
	else
		ok "$1: $2 has no '$3'"
	fi
}

# wait_for FILE REGEX SECONDS: poll until FILE matches; returns 1 after the
# bound (a guard against hangs, not a timing assertion).
wait_for() {
	local i
	for ((i = 0; i < $3 * 5; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# stop_vm PID NAME: SIGTERM a background kvmlab and expect status 143.
stop_vm() {
	kill -TERM "$1"
	status=0
	wait "$1" || status=$?
	expect_status "$2" 143
}

# scratch_fs MIB: an ext4 filesystem of MIB MiB on a loop device, mounted
# at $SCRATCH (unlike tmpfs it takes O_DIRECT, which cache=none needs).
# Unmounted when the test ends.  Needs root and the loop driver: the kvm
# suite runs as root inside the emulated host.
scratch_fs() {
	SCRATCH=$TMP/fs
	mkdir -p "$SCRATCH"
	truncate -s "${1}M" "$TMP/fs.img"
	modprobe -a loop ext4 2>/dev/null # modules in the emulated host's kernel
	if ! mkfs.ext4 -q -F "$TMP/fs.img" || ! mount -o loop "$TMP/fs.img" "$SCRATCH"; then
		bad "cannot make a scratch ext4 filesystem (needs root, mkfs.ext4, loop)"
		finish
	fi
	trap 'umount "$SCRATCH" 2>/dev/null; rm -rf "$TMP"' EXIT
}

finish() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed" >&2
		exit 1
	fi
	exit 0
}

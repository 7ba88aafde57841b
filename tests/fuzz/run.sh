#!/bin/bash
# Run every libFuzzer target of a build for a while.
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
# Each fuzz_<name> binary found under BUILD_DIR starts from a scratch copy
# of tests/fuzz/corpus/<name>/ (the committed corpus is never modified).
# Crashing inputs are kept in BUILD_DIR/fuzz-artifacts/<name>/.  Prints the
# executions per target; fails if any target crashed (or none was found).
set -euo pipefail

if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]]; then
	echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
secs=$2
here=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/kvmlab-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

mapfile -t bins < <(find "$build" -name '*.p' -prune -o -type f -name 'fuzz_*' -perm -u+x -print |
	sort)
if [ ${#bins[@]} -eq 0 ]; then
	echo "run.sh: no fuzz_* binaries under $build (configure with CC=clang)" >&2
	exit 1
fi

status=0
for bin in "${bins[@]}"; do
	name=$(basename "$bin")
	target=${name#fuzz_}
	corpus=$work/corpus/$target
	artifacts=$build/fuzz-artifacts/$target
	log=$work/$target.log
	mkdir -p "$corpus" "$artifacts"
	if [ -d "$here/corpus/$target" ]; then
		cp -R "$here/corpus/$target/." "$corpus/"
	fi
	rc=0
	"$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" >"$log" 2>&1 || rc=$?
	execs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "$target: FAILED (exit $rc), log tail:" >&2
		tail -n 40 "$log" >&2
		status=1
	fi
	echo "$target: ${execs:-?} executions in ${secs}s"
done
exit "$status"

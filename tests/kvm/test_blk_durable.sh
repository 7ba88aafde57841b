#!/bin/bash
# Durability: what the guest has written and fdatasync'd is in the image
# even when kvmlab is SIGKILLed right after (for the modes that promise it:
# none, writethrough, directsync, and writeback once flushed).
. "$(dirname "$0")/lib.sh"
GB=$GUESTS/kvmlab-guest
scratch_fs 200

seed=40
for cache in none writethrough directsync writeback; do
	seed=$((seed + 1))
	img=$SCRATCH/$cache.img
	truncate -s 40M "$img"
	"$KVMLAB" run --memory 256M --disk "path=$img,cache=$cache" -- \
		sh -c "kvmlab-guest blk /dev/vda --mode verify-write --size 32M --seed $seed && echo GUEST-SYNCED; sleep 600" \
		>"$TMP/$cache.out" 2>"$TMP/$cache.err" </dev/null &
	pid=$!
	if wait_for "$TMP/$cache.out" '^GUEST-SYNCED' 300; then
		kill -KILL "$pid"
		status=0
		{ wait "$pid"; } 2>/dev/null || status=$?
		expect_status "$cache" 137
		if "$GB" blk "$img" --mode verify-read --size 32M --seed "$seed" >"$TMP/h-$cache.out"; then
			ok "$cache: every synced byte survived SIGKILL"
		else
			bad "$cache: after SIGKILL: $(tail -1 "$TMP/h-$cache.out")"
		fi
	else
		kill -KILL "$pid"
		wait "$pid"
		bad "$cache: the guest never reported its write synced"
		sed 's/^/  out: /' "$TMP/$cache.out" >&2
		sed 's/^/  err: /' "$TMP/$cache.err" >&2
	fi
	rm -f "$img"
done

finish

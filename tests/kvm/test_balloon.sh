#!/bin/bash
# virtio-balloon through the control socket.  A 1 GiB guest dirties 760 MiB
# and frees it again (host RSS stays up); inflating the balloon by 256 MiB
# drops kvmlab's RSS by at least 200 MiB and the guest's MemTotal by the
# same amount; deflating gives it back.  With free page reporting, freeing
# a large allocation in the guest lowers RSS by itself.
. "$(dirname "$0")/lib.sh"
SOCK=$TMP/api.sock
ctl() { "$KVMLAB" ctl "$SOCK" "$@" --raw; }
rss_mib() { echo $(($(awk '/^VmRSS/ {print $2}' /proc/"$1"/status) / 1024)); }
last_mem() { grep -o '^MEM [0-9]*' "$TMP/$1.out" | tail -n 1 | cut -d' ' -f2; }
# jget FILE KEY: a number from a JSON reply
jget() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

GUEST='mkdir -p /mnt/fill && mount -t tmpfs -o size=800m fill /mnt/fill &&
dd if=/dev/zero of=/mnt/fill/x bs=1M count=760 2>/dev/null && rm /mnt/fill/x && umount /mnt/fill &&
echo DIRTIED
while true; do echo MEM $(awk "/^MemTotal/ {print \$2}" /proc/meminfo); sleep 1; done'

# start NAME BALLOON-OPTS: a guest with the balloon, waiting until dirtied
start() {
	rm -f "$SOCK"
	"$KVMLAB" run --memory 1G --balloon "$2" --api-socket "$SOCK" --stats -- sh -c "$GUEST" \
		>"$TMP/$1.out" 2>"$TMP/$1.err" </dev/null &
	pid=$!
	wait_for "$TMP/$1.out" '^MEM ' 240 || { bad "$1: the guest did not start"; cat "$TMP/$1.err" >&2; }
	expect_grep "$1" out '^DIRTIED'
}

# --- inflate / deflate ---------------------------------------------------
start inflate stats=on
mem0=$(last_mem inflate)
sleep 2
rss0=$(rss_mib "$pid")
ctl balloon mib=256 >"$TMP/b1.json"
expect_grep b1 json '"ok":true.*"target_mib":256'
for ((i = 0; i < 120; i++)); do
	ctl balloon >"$TMP/b2.json"
	[ "$(jget "$TMP/b2.json" actual_mib)" -ge 256 ] && break
	sleep 1
done
sleep 2
rss1=$(rss_mib "$pid")
mem1=$(last_mem inflate)
echo "inflate: RSS ${rss0} -> ${rss1} MiB, guest MemTotal ${mem0} -> ${mem1} KiB"
[ "$(jget "$TMP/b2.json" actual_mib)" -ge 256 ] && ok "inflate: the guest gave 256 MiB" ||
	bad "inflate: actual $(jget "$TMP/b2.json" actual_mib) MiB"
[ $((rss0 - rss1)) -ge 200 ] && ok "inflate: RSS fell by $((rss0 - rss1)) MiB" ||
	bad "inflate: RSS fell by only $((rss0 - rss1)) MiB"
[ $((mem0 - mem1)) -ge $((250 * 1024)) ] && ok "inflate: guest MemTotal fell by $(((mem0 - mem1) / 1024)) MiB" ||
	bad "inflate: guest MemTotal fell by $(((mem0 - mem1) / 1024)) MiB"
ctl stats >"$TMP/stats.json"
expect_grep stats json '"balloon":\{"target_bytes":268435456,"actual_bytes":268435456'
ctl balloon mib=0 >/dev/null
for ((i = 0; i < 120; i++)); do
	ctl balloon >"$TMP/b3.json"
	[ "$(jget "$TMP/b3.json" actual_mib)" -eq 0 ] && break
	sleep 1
done
sleep 2
mem2=$(last_mem inflate)
[ "$(jget "$TMP/b3.json" actual_mib)" -eq 0 ] && ok "deflate: the guest took it all back" ||
	bad "deflate: actual still $(jget "$TMP/b3.json" actual_mib) MiB"
[ "$mem2" -eq "$mem0" ] && ok "deflate: MemTotal back to $mem0 KiB" || bad "deflate: MemTotal $mem2, was $mem0"
# a target the guest cannot give: refused, the VM goes on
ctl balloon mib=4096 >"$TMP/b4.json"
expect_grep b4 json '"ok":false'
ctl shutdown >/dev/null
status=0
wait "$pid" || status=$?
expect_status inflate 0
expect_grep inflate err 'virtio-balloon 00:..\.0: target=0 MiB actual=0 MiB .*inflated=6553[6-9].*deflated=6553[6-9].*malformed=0'

# --- free page reporting ----------------------------------------------------
start report free-page-reporting=on
# the same guest without reporting kept rss0 MiB resident after freeing
limit=$((rss0 - 300))
rssr=0
for ((i = 0; i < 90; i++)); do
	rssr=$(rss_mib "$pid")
	[ "$rssr" -lt "$limit" ] && break
	sleep 1
done
ctl stats >"$TMP/rstats.json"
echo "reporting: RSS now ${rssr} MiB"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["balloon"]; print("reported", b["reported_bytes"]>>20, "MiB in", b["reports"], "reports")' "$TMP/rstats.json"
[ "$rssr" -lt "$limit" ] &&
	ok "reporting: RSS fell to ${rssr} MiB, >= 300 MiB below the ${rss0} MiB a guest without reporting kept" ||
	bad "reporting: RSS still ${rssr} MiB (a guest without reporting kept ${rss0} MiB)"
expect_grep rstats json '"reported_bytes":[1-9][0-9]{8,}'
ctl shutdown >/dev/null
status=0
wait "$pid" || status=$?
expect_status report 0

# bad values: exit 2, one line
run_vm badopt run --kernel "$GUESTS/hello" --balloon stats=maybe
expect_status badopt 2
expect_grep badopt err "^kvmlab: --balloon: stats='maybe'"
finish

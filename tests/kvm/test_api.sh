#!/bin/bash
# The control socket (--api-socket) of a running VM: mode 0600; status,
# stats and metrics parse and carry non-zero exit counts; pause stops a
# guest counter and resume restarts it; malformed, unknown, oversize and
# silent clients get errors or are dropped while the VM and other clients
# go on; shutdown ends kvmlab with status 0 and removes the socket.  A
# path that is not a socket is refused with exit 2 and left alone.
. "$(dirname "$0")/lib.sh"
SOCK=$TMP/api.sock
ctl() { "$KVMLAB" ctl "$SOCK" "$@" --raw; }
# last counter value the guest printed
last_tick() { grep -o '^TICK [0-9]*' "$TMP/vm.out" | tail -n 1 | cut -d' ' -f2; }

"$KVMLAB" run --cpus 2 --memory 256M --api-socket "$SOCK" -- \
	sh -c 'i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); echo TICK $i; sleep 0.2; done' \
	>"$TMP/vm.out" 2>"$TMP/vm.err" </dev/null &
pid=$!
if ! wait_for "$TMP/vm.out" '^TICK 3[^0-9]' 180; then
	bad "the guest never started counting"
	kill "$pid"
	cat "$TMP/vm.err" >&2
	finish
fi

mode=$(stat -c %a "$SOCK")
[ "$mode" = 600 ] && ok "socket mode 0600" || bad "socket mode $mode"

# check NAME PYTHON-EXPRESSION-ON-r FILE: the reply parses and satisfies it
check() {
	if python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
		"$3" 2>"$TMP/py.err"; then
		ok "$1"
	else
		bad "$1: $(head -c 600 "$3") $(cat "$TMP/py.err")"
	fi
}
ctl status >"$TMP/status.json"
check "status: running, 2 vCPUs, 256 MiB, exits" \
	'r["ok"] and r["state"]=="running" and r["vcpus"]==2 and r["memory_mib"]==256 and r["exits"]>0' \
	"$TMP/status.json"
ctl stats >"$TMP/stats.json"
check "stats: per-vCPU exits by reason, guest time, threads, memory" \
	'r["ok"] and len(r["vcpus"])==2 and r["vcpus"][0]["exits_io"]>0 and sum(v["exits_hlt"] for v in r["vcpus"])>=0
	 and r["vcpus"][0]["guest_seconds"]>0 and r["vcpus"][1]["tid"]>0
	 and {"vcpu0","vcpu1","api"} <= {t["thread"] for t in r["threads"]}
	 and r["memory"]["guest_ram_bytes"]==256<<20 and r["memory"]["guest_resident_bytes"]>0
	 and r["memory"]["vmm_rss_bytes"]>0 and r["vm"]["uptime_seconds"]>0' \
	"$TMP/stats.json"
ctl metrics >"$TMP/metrics.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"], end="")' \
	"$TMP/metrics.json" >"$TMP/metrics.txt" 2>/dev/null
expect_grep metrics txt '^# TYPE kvmlab_vcpu_exits_total counter$'
expect_grep metrics txt '^kvmlab_vcpu_exits_total\{vcpu="0",reason="io"\} [1-9][0-9]*$'
expect_grep metrics txt '^kvmlab_memory_guest_ram_bytes 268435456$'
# every line is a comment or a well-formed sample
if grep -Ev '^# (HELP|TYPE) |^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [-+0-9.eEIinfNa]+$' \
	"$TMP/metrics.txt" | head -3 | grep -q .; then
	bad "metrics: malformed lines: $(grep -Ev '^# |^[a-z_]' "$TMP/metrics.txt" | head -3)"
else
	ok "metrics: every line well-formed ($(wc -l <"$TMP/metrics.txt") lines)"
fi

# pause: the guest's counter stops; resume: it goes on
ctl pause >"$TMP/pause.json"
check "pause replies paused" 'r["ok"] and r["state"]=="paused"' "$TMP/pause.json"
sleep 1
t1=$(last_tick)
sleep 4
t2=$(last_tick)
[ "$t1" = "$t2" ] && ok "paused: counter stayed at $t1 for 4 s" ||
	bad "paused: counter moved from $t1 to $t2"
ctl status >"$TMP/status2.json"
check "status says paused" 'r["state"]=="paused"' "$TMP/status2.json"
ctl resume >"$TMP/resume.json"
check "resume replies running" 'r["ok"] and r["state"]=="running"' "$TMP/resume.json"
if wait_for "$TMP/vm.out" "^TICK $((t2 + 3))[^0-9]" 60; then ok "resumed: counter passed $((t2 + 3))"; else
	bad "resumed: counter stuck at $(last_tick)"
fi

# hostile clients: the VM and other clients are unaffected
cat >"$TMP/hostile.py" <<'PY'
import json, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(path); return s
def lines(s, n):
    buf = b""
    while buf.count(b"\n") < n:
        d = s.recv(65536)
        if not d: break
        buf += d
    return [json.loads(l) for l in buf.split(b"\n")[:n] if l]
silent = conn()                       # connects and never sends
s = conn()
s.sendall(b'not json\n{"cmd":"nope"}\n{"cmd":42}\n{"cmd":"balloon","mib":1}\n{"cmd":"status"}\n')
r = lines(s, 5)
assert [x["ok"] for x in r] == [False, False, False, False, True], r
assert "nope" in r[1]["error"], r[1]
print("ERRORS-OK", r[0]["error"], "|", r[3]["error"])
big = conn()
big.sendall(b'{"cmd":"status","pad":"' + b"x" * 70000 + b'"}\n')
r = lines(big, 1)
assert r and not r[0]["ok"], r
print("OVERSIZE-OK", r[0]["error"])
others = [conn() for _ in range(8)]   # several clients at once
for o in others: o.sendall(b'{"cmd":"status"}\n')
assert all(lines(o, 1)[0]["ok"] for o in others)
print("MANY-OK")
silent.settimeout(60)                 # the server drops it (idle timeout)
while silent.recv(4096):
    pass
print("SILENT-CLOSED")
PY
timeout 120 python3 "$TMP/hostile.py" "$SOCK" >"$TMP/hostile.out" 2>&1 || cat "$TMP/hostile.out" >&2
for w in ERRORS-OK OVERSIZE-OK MANY-OK SILENT-CLOSED; do expect_grep hostile out "^$w"; done
t3=$(last_tick)
wait_for "$TMP/vm.out" "^TICK $((t3 + 2))[^0-9]" 60 && ok "the guest ran on through it all" ||
	bad "the guest stopped counting after the hostile clients"

# shutdown: status 0, socket gone
ctl shutdown >"$TMP/shutdown.json"
check "shutdown replies" 'r["ok"]' "$TMP/shutdown.json"
status=0
timeout 60 tail --pid="$pid" -f /dev/null
wait "$pid" || status=$?
expect_status vm 0
[ -e "$SOCK" ] && bad "socket still there after exit" || ok "socket removed at exit"

# a path that is not a socket: exit 2, one line, the file untouched
echo keep >"$TMP/file"
run_vm notsock run --kernel "$GUESTS/hello" --api-socket "$TMP/file"
expect_status notsock 2
expect_grep notsock err '^kvmlab: --api-socket: .*file'
[ "$(cat "$TMP/file")" = keep ] && ok "notsock: file untouched" || bad "notsock: file changed"
# ctl against nothing: exit 2 naming the path
status=0
"$KVMLAB" ctl "$TMP/none.sock" status >"$TMP/ctlnone.out" 2>"$TMP/ctlnone.err" || status=$?
expect_status ctlnone 2
expect_grep ctlnone err "none.sock"
finish

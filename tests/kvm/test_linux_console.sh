#!/bin/bash
# Interactive console, signals and threads of a running Linux guest.
. "$(dirname "$0")/lib.sh"


# An interactive session fed through stdin answers a command.
mkfifo "$TMP/in"
"$KVMLAB" run --memory 256M <"$TMP/in" >"$TMP/inter.out" 2>"$TMP/inter.err" &
pid=$!
exec 3>"$TMP/in"
if wait_for "$TMP/inter.out" 'kvmlab:[^ ]*# ' 240; then
	ok "interactive: shell prompt seen"
else
	bad "interactive: no shell prompt"
fi
printf 'echo answer-$((6 * 7))\n' >&3
if wait_for "$TMP/inter.out" 'answer-42' 60; then
	ok "interactive: the shell answered"
else
	bad "interactive: no answer"
	sed 's/^/  out: /' "$TMP/inter.out" >&2
fi
printf 'poweroff -f\n' >&3
status=0
wait "$pid" || status=$?
exec 3>&-
expect_status inter 0

# SIGTERM while the guest runs: status 143, every thread gone.  While it
# runs, one thread per vCPU is named vcpuN.
"$KVMLAB" run --cpus 2 --memory 256M -- sleep 600 >"$TMP/term.out" 2>"$TMP/term.err" </dev/null &
pid=$!
for _ in $(seq 1 100); do
	[ "$(cat /proc/$pid/task/*/comm 2>/dev/null | grep -c '^vcpu[01]$')" -eq 2 ] && break
	sleep 0.1
done
names=$(cat /proc/$pid/task/*/comm 2>/dev/null | sort | tr '\n' ' ')
case "$names" in
*"vcpu0 vcpu1 "*) ok "threads named vcpu0 and vcpu1 ($names)" ;;
*) bad "vCPU threads not named vcpuN: '$names'" ;;
esac
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
expect_status term 143
expect_grep term err 'stopped by signal 15'
if [ -d "/proc/$pid" ]; then
	bad "kvmlab process $pid still exists"
else
	ok "no kvmlab process or thread left"
fi
finish

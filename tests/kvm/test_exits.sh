#!/bin/bash
# The exits guest performs exactly N port-I/O exits between stopwatch start
# and stop; kvmlab must count exactly N, for several N.
. "$(dirname "$0")/lib.sh"

for n in 1 1000 3000 5000; do
	run_vm "exits$n" run --kernel "$GUESTS/exits" --cmdline "$n" --stats
	expect_status "exits$n" 0
	expect_grep "exits$n" err "stopwatch: $n exits in [0-9.]+ ms: [0-9.]+ us per exit"
	# total io exits = N plus the guest's fixed overhead (banner, stopwatch, exit)
	base=$(sed -n 's/.*vcpu0 exits: total=[0-9]* io=\([0-9]*\).*/\1/p' "$TMP/exits$n.err")
	eval "io_$n=\${base:-0}"
done
# The overhead is the same for N of equal digit count (the banner prints N),
# so the io counts differ by exactly the difference in N.
if [ $((io_5000 - io_3000)) -eq 2000 ] && [ $((io_3000 - io_1000)) -eq 2000 ]; then
	ok "io exit counts grow by exactly N ($io_1000, $io_3000, $io_5000)"
else
	bad "io exit counts $io_1000, $io_3000, $io_5000 do not grow by exactly N"
fi
finish

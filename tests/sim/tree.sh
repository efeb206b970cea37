#!/bin/bash
# tree.sh - checks amesh-sim's "tree" line (tests/sim/sim.c, eager_reach):
# after the burst it counts the peers the withdrawing origin's bodies reach
# over eager links and names the others, each exactly once; flooding
# (--graft-ms 0) has no tree to report. Usage: tree.sh path/to/amesh-sim
set -u
sim=$1
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for args in "--peers 12 --burst 300 --shape random --seed 7" "--peers 16 --burst 300 --shape hubs --origins 2 --seed 3"; do
	# shellcheck disable=SC2086
	out=$("$sim" $args) || bad "$args: exited $?"
	line=$(grep '^  tree ' <<<"$out")
	[ "$(grep -c . <<<"$line")" = 1 ] || { bad "$args: expected one tree line: $out"; continue; }
	n=$(sed -n 's/.*reach \([0-9]*\) of \([0-9]*\) peers.*/\1 \2/p' <<<"$line")
	read -r reached peers <<<"$n"
	[ -n "${peers:-}" ] && [ "$reached" -ge 1 ] && [ "$reached" -le "$peers" ] || { bad "$args: bad counts: $line"; continue; }
	[ "$peers" = "$(awk '{print $2}' <<<"$args")" ] || bad "$args: tree line counts $peers peers: $line"
	names=$(sed -n 's/.*first):\(.*\)/\1/p' <<<"$line" | tr ' ' '\n' | grep . | sort)
	[ "$(grep -c . <<<"$names")" = $((peers - reached)) ] || bad "$args: $((peers - reached)) peers not reached, named: $names"
	[ "$(sort -u <<<"$names" | grep -c .)" = "$(grep -c . <<<"$names")" ] || bad "$args: a peer named twice: $names"
	echo "ok: $args: $line"
done
out=$("$sim" --peers 12 --burst 100 --shape random --seed 7 --graft-ms 0) || bad "flooding: exited $?"
grep -q '^  tree ' <<<"$out" && bad "flooding printed a tree line: $out"
exit $fail

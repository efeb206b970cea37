#!/bin/bash
# seeds.sh - checks amesh-sim --seeds (tests/sim/sim.c): a range runs every
# seed as if it ran alone (nothing carries over from one run to the next),
# prints one line per seed, and its summary's median and range are those
# of the lines. Usage: seeds.sh path/to/amesh-sim
set -u
sim=$1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
args=(--peers 10 --burst 200 --shape hubs)

range=$("$sim" --seeds 7-9 "${args[@]}") || bad "--seeds 7-9 exited $?"
alone=$("$sim" --seed 8 "${args[@]}") || bad "--seed 8 exited $?"

[ "$(grep -c '^seed ' <<<"$range")" = 3 ] || bad "expected 3 seed lines: $range"
for s in 7 8 9; do
	grep -q "^seed $s: .* converged; digest [0-9a-f]\{16\}$" <<<"$range" || bad "no converged line for seed $s"
done
# seed 8 inside the range is seed 8 alone: same trace digest
d_range=$(sed -n 's/^seed 8: .*digest \([0-9a-f]*\)$/\1/p' <<<"$range")
d_alone=$(sed -n 's/.*trace digest \([0-9a-f]*\)$/\1/p' <<<"$alone")
[ -n "$d_range" ] && [ "${d_alone#"$d_range"}" != "$d_alone" ] ||
	bad "seed 8 in a range (digest $d_range) differs from seed 8 alone ($d_alone)"
# ... and every seed differs from the others
[ "$(sed -n 's/.*digest \([0-9a-f]*\)$/\1/p' <<<"$range" | sort -u | wc -l)" = 3 ] || bad "two seeds gave one trace"
# the summary: bodies per indicator, median and range of the three lines
vals=$(sed -n 's/^seed [0-9]*: .*, bodies \([0-9.]*\),.*/\1/p' <<<"$range" | sort -n | tr '\n' ' ')
read -r lo mid hi <<<"$vals"
want="bodies per indicator $mid ($lo-$hi)"
got=$(grep '^  bodies per indicator' <<<"$range" | tr -s ' ' | sed 's/^ //')
[ "$got" = "$want" ] || bad "summary says '$got', the lines say '$want'"
grep -q '^summary, hubs, 10 peers, seeds 7-9 (3 runs, 3 converged)' <<<"$range" || bad "summary header: $range"

# bad ranges are refused with the input quoted, exit 2
for r in 9-7 x 3- 1-2000; do
	out=$("$sim" --seeds "$r" "${args[@]}" 2>&1)
	rc=$?
	[ $rc = 2 ] || bad "--seeds $r exited $rc, expected 2"
	grep -q -- "--seeds \"$r\"" <<<"$out" || bad "--seeds $r: the error does not quote the input: $out"
done
[ $fail = 0 ] && echo "seeds: range = runs alone, summary = lines, bad ranges refused"
exit $fail

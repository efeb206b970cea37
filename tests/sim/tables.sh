#!/bin/bash
# tables.sh - the simulation tables of docs/scale.md (issue 13): for each shape and
# size, amesh-sim over a range of seeds with the broadcast tree and again
# flooding (--graft-ms 0), in one session; prints one markdown row per shape
# and size, each figure as median (min-max) over the seeds, flooding's
# median in parentheses. Every run's output is kept in OUT; an output
# already there with its summary is used again, not rerun.
#
#   tests/sim/tables.sh SIM OUT SEEDS BURST "SIZES" [more amesh-sim options]
#   tests/sim/tables.sh build/tests/amesh-sim /tmp/simruns 1-3 10000 "20 50 100 200"
#
# A burst of 10,000 (the issue's) verifies (N - 1) x 10,000 signatures a
# run for real: the whole matrix above, seeds 1-3, is ~44 million, about
# an hour of both cores of a 2-core machine. Two shells each running one
# shape (SHAPES="random" / SHAPES="hubs", same OUT) use both cores.
set -u
sim=$1 out=$2 seeds=$3 burst=$4 sizes=$5
shift 5
mkdir -p "$out"
# "name median (lo-hi)" from a summary block -> "median (lo–hi)"
fig() { sed -n "s/^  $2 *\([0-9.]*\)[^(]*(\([0-9.]*\)-\([0-9.]*\)).*/\1 (\2–\3)/p" "$1"; }
med() { sed -n "s/^  $2 *\([0-9.]*\).*/\1/p" "$1"; }
# "A-B (n of m converged)" from the summary header
seeds() { sed -n 's/^summary, .* seeds \([0-9-]*\) (\([0-9]*\) runs, \([0-9]*\) converged).*/\1 (\3 of \2 converged)/p' "$1" | sed 's/-/–/'; }
# a figure older outputs lack prints as a dash
or_dash() { [ -n "$1" ] && echo "$1" || echo "–"; }
echo "| shape | peers | seeds | links | burst converged, s (flooding) | held by all p50, s (flooding) | bodies per indicator (flooding; needed) | ids per indicator | graft answers per indicator | duplicates, % | wire per indicator, KiB (flooding) | per link direction per indicator, mean; busiest, B (flooding) | durable commits per indicator (flooding) | busiest peer: bodies per indicator (flooding) | busiest peer: modelled µs per indicator, CPU and commits (flooding) | withdrawal converged, ms (flooding) | withdrawal bodies / ids / graft answers (flooding: bodies) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for shape in ${SHAPES:-random hubs}; do
	for n in $sizes; do
		t=$out/$shape-$n-tree.txt f=$out/$shape-$n-flood.txt
		# a finished output (it has its summary) is kept: a long session can resume
		grep -q '^summary' "$t" 2>/dev/null ||
			"$sim" --shape "$shape" --peers "$n" --burst "$burst" --seeds "$seeds" "$@" >"$t" || echo "WARNING: $t failed" >&2
		grep -q '^summary' "$f" 2>/dev/null ||
			"$sim" --shape "$shape" --peers "$n" --burst "$burst" --seeds "$seeds" --graft-ms 0 "$@" >"$f" || echo "WARNING: $f failed" >&2
		echo "| $shape | $n | $(seeds "$t") | $(fig "$t" 'links') | $(fig "$t" 'burst converged') ($(med "$f" 'burst converged')) |" \
			"$(fig "$t" 'held by all p50') ($(med "$f" 'held by all p50')) |" \
			"**$(fig "$t" 'bodies per indicator')** ($(med "$f" 'bodies per indicator'); $((n - 1))) |" \
			"$(fig "$t" 'ids per indicator') | $(fig "$t" 'graft answers per indicator') | $(fig "$t" 'duplicates') |" \
			"$(fig "$t" 'wire per indicator') ($(med "$f" 'wire per indicator')) |" \
			"$(or_dash "$(fig "$t" 'per link per indicator, mean')"); $(or_dash "$(fig "$t" 'per link per indicator, busiest')")" \
			"($(or_dash "$(med "$f" 'per link per indicator, mean')"); $(or_dash "$(med "$f" 'per link per indicator, busiest')")) |" \
			"$(fig "$t" 'durable commits per indicator') ($(med "$f" 'durable commits per indicator')) |" \
			"$(fig "$t" "busiest peer's bodies per indicator") ($(med "$f" "busiest peer's bodies per indicator")) |" \
			"$(fig "$t" "busiest peer's CPU per indicator") ($(med "$f" "busiest peer's CPU per indicator")) |" \
			"$(fig "$t" 'withdrawal converged') ($(med "$f" 'withdrawal converged')) |" \
			"$(med "$t" 'withdrawal bodies') / $(med "$t" 'withdrawal ids') / $(med "$t" 'withdrawal graft answers') ($(med "$f" 'withdrawal bodies')) |"
	done
done

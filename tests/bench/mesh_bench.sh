#!/usr/bin/env bash
# mesh_bench.sh - propagation figures of real ameshd processes on loopback
# (issue 13's benchmark; prints figures, never fails on timing; not a ctest).
#
#   bash tests/bench/mesh_bench.sh AMESHD AMESH [PEERS=20] [ROUNDS=20]
#
# PEERS peers in a ring with chords (every peer has 3 links: links =
# 3 x PEERS / 2), open policies. Each round submits one indicator at a
# different peer; arrival at every peer is timed by `amesh watch --json`
# running on that peer (each line stamped as it is read), not by polling
# the peers. Then each indicator is withdrawn, timed the same way.
# AMESH_TREE=off in the environment runs the daemons without the broadcast
# tree (flooding), for comparison. The first round builds the tree.
# AMESH_TREE_SHORTER=N sets the hops a path must save for a peer to move
# its tree onto it (peer/mesh_tree.h; 0 = never), for comparisons.
# Reports: submit -> held by all peers p50/max (over rounds), per-peer
# arrival p50/max, bodies sent and received per indicator across the mesh
# (`amesh peers --json`: out_sent, in_accepted, in_duplicate), and the
# resident memory of an idle peer.
set -u
AMESHD=$(readlink -f "$1")
AMESH=$(readlink -f "$2")
N=${3:-20}
ROUNDS=${4:-20}
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"

if [ $((N % 2)) -ne 0 ] || [ "$N" -lt 4 ]; then echo "PEERS must be even and >= 4" >&2; exit 2; fi
peer() { printf 'b%02d' "$1"; }

for i in $(seq 0 $((N - 1))); do mk_peer "$(peer "$i")" "$i"; done
# ring + diameters: degree 3 everywhere; the lower index dials
LINKS=0
for i in $(seq 0 $((N - 1))); do
	j=$(((i + 1) % N))
	if [ "$i" -lt "$j" ]; then link "$(peer "$i")" "$(peer "$j")" "$j"; else link "$(peer "$j")" "$(peer "$i")" "$i"; fi
	LINKS=$((LINKS + 1))
done
for i in $(seq 0 $((N / 2 - 1))); do
	j=$((i + N / 2))
	link "$(peer "$i")" "$(peer "$j")" "$j"
	LINKS=$((LINKS + 1))
done
# every peer accepts indicators of every other (origins beyond its neighbours)
declare -A NB
for i in $(seq 0 $((N - 1))); do
	NB["$i,$(((i + 1) % N))"]=1; NB["$(((i + 1) % N)),$i"]=1
	NB["$i,$(((i + N / 2) % N))"]=1; NB["$(((i + N / 2) % N)),$i"]=1
done
for i in $(seq 0 $((N - 1))); do
	for j in $(seq 0 $((N - 1))); do
		[ "$i" -ne "$j" ] && [ -z "${NB["$i,$j"]:-}" ] && trust "$(peer "$i")" "$(peer "$j")" origin
	done
done
for i in $(seq 0 $((N - 1))); do start "$(peer "$i")" || exit 1; done

links_up() {
	local i up=0
	for i in $(seq 0 $((N - 1))); do
		up=$((up + $(amp "$(peer "$i")" --json peers | grep -c '"state":"up"')))
	done
	[ "$up" -eq $((2 * LINKS)) ]
}
wait_until 60 links_up || { echo "links did not come up" >&2; exit 1; }

# one watcher per peer: every line stamped with the time it was read
for i in $(seq 0 $((N - 1))); do
	p=$(peer "$i")
	( "$AMESH" -s "$T_ROOT/$p/run/amesh.sock" --json watch |
		while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done ) >"$T_ROOT/$p.watch" 2>/dev/null &
done
sleep 1

# sum of a counter over every neighbour of every peer
counter() {
	local i total=0 v
	for i in $(seq 0 $((N - 1))); do
		for v in $(amp "$(peer "$i")" --json peers | grep -o "\"$1\":[0-9]*" | cut -d: -f2); do
			total=$((total + v))
		done
	done
	echo "$total"
}

# all_have DOMAIN EVENT: every watch file has the event for the domain
all_have() {
	local i
	for i in $(seq 0 $((N - 1))); do
		grep -q "\"event\":\"$2\".*\"domain\":\"$1\"" "$T_ROOT/$(peer "$i").watch" || return 1
	done
}

# phase EVENT: one operation per round, timed; appends to $T_ROOT/EVENT.held
# (held by all, ms) and $T_ROOT/EVENT.each (per peer, ms)
phase() {
	local ev=$1 r o p d t0 i line ts
	: >"$T_ROOT/$ev.held"; : >"$T_ROOT/$ev.each"
	for r in $(seq 1 "$ROUNDS"); do
		o=$(peer $(((r * 7) % N)))
		d="bench-r$r-$$.example.com"
		t0=$EPOCHREALTIME
		if [ "$ev" = new ]; then
			amp "$o" submit "$d" --category phishing --confidence 80 --ttl 1d >/dev/null || { echo "submit failed" >&2; exit 1; }
		else
			amp "$o" withdraw "$d" --category phishing >/dev/null || { echo "withdraw failed" >&2; exit 1; }
		fi
		wait_until 60 all_have "$d" "$ev" || { fail "round $r: $ev of $d did not reach every peer"; exit 1; }
		# t1: when the origin's own watch saw it (the CLI and the origin's
		# commit behind; what is left is propagation)
		line=$(grep -m1 "\"event\":\"$ev\".*\"domain\":\"$d\"" "$T_ROOT/$o.watch")
		t1=${line%% *}
		for i in $(seq 0 $((N - 1))); do
			line=$(grep -m1 "\"event\":\"$ev\".*\"domain\":\"$d\"" "$T_ROOT/$(peer "$i").watch")
			ts=${line%% *}
			awk -v a="$ts" -v b="$t0" -v c="$t1" 'BEGIN { printf "%.3f %.3f\n", (a - b) * 1000, (a - c) * 1000 }'
		done >"$T_ROOT/round"
		cut -d' ' -f1 "$T_ROOT/round" >>"$T_ROOT/$ev.each"
		cut -d' ' -f1 "$T_ROOT/round" | sort -n | tail -1 >>"$T_ROOT/$ev.held"
		cut -d' ' -f2 "$T_ROOT/round" | sort -n | tail -1 >>"$T_ROOT/$ev.prop"
	done
}

# p50 and max of a file of numbers
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "p50 %7.1f ms  max %7.1f ms", v[int((NR + 1) / 2)], v[NR] }'; }

s0=$(counter out_sent); a0=$(counter in_accepted); d0=$(counter in_duplicate); i0=$(counter ids_out); g0=$(counter grafts_out); q0=$(counter prunes_out)
phase new
sleep 1 # the last ids and prunes of the round
s1=$(counter out_sent); a1=$(counter in_accepted); d1=$(counter in_duplicate); i1=$(counter ids_out); g1=$(counter grafts_out); q1=$(counter prunes_out)
phase withdrawn
sleep 1
s2=$(counter out_sent); a2=$(counter in_accepted); d2=$(counter in_duplicate); i2=$(counter ids_out); g2=$(counter grafts_out); q2=$(counter prunes_out)
sleep 3
rss=()
for i in $(seq 0 $((N - 1))); do
	rss+=("$(awk '/VmRSS/ { print $2 }' "/proc/$(cat "$T_ROOT/$(peer "$i")/pid")/status")")
done
rss_med=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')

echo "mesh_bench $(date -u +%Y-%m-%dT%H:%MZ): $N ameshd on loopback, $LINKS links (degree 3), $ROUNDS rounds, $(nproc) cores, broadcast tree ${AMESH_TREE:-on}, shorter paths ${AMESH_TREE_SHORTER:-default}"
printf '  submission  held by all %s   per peer %s\n' "$(stats "$T_ROOT/new.held")" "$(stats "$T_ROOT/new.each")"
printf '  withdrawal  held by all %s   per peer %s\n' "$(stats "$T_ROOT/withdrawn.held")" "$(stats "$T_ROOT/withdrawn.each")"
printf '  from the origin holding it (no CLI): submission held by all %s, withdrawal %s\n' \
	"$(stats "$T_ROOT/new.prop")" "$(stats "$T_ROOT/withdrawn.prop")"
awk -v s="$((s1 - s0))" -v a="$((a1 - a0))" -v d="$((d1 - d0))" -v i="$((i1 - i0))" -v g="$((g1 - g0))" -v q="$((q1 - q0))" -v r="$ROUNDS" -v n="$N" -v l="$LINKS" 'BEGIN {
	printf "  per indicator: bodies sent %.1f (flooding predicts 2 x links - (peers - 1) = %d; needed %d), accepted %.1f, duplicates %.1f; ids %.1f, grafts %.1f, prunes %.1f\n",
		s / r, 2 * l - (n - 1), n - 1, a / r, d / r, i / r, g / r, q / r }'
awk -v s="$((s2 - s1))" -v a="$((a2 - a1))" -v d="$((d2 - d1))" -v i="$((i2 - i1))" -v g="$((g2 - g1))" -v q="$((q2 - q1))" -v r="$ROUNDS" 'BEGIN {
	printf "  per withdrawal: bodies sent %.1f, accepted %.1f, duplicates %.1f; ids %.1f, grafts %.1f, prunes %.1f\n", s / r, a / r, d / r, i / r, g / r, q / r }'
echo "  idle peer RSS: median ${rss_med} kB (b00: ${rss[0]} kB)"

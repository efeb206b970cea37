#!/usr/bin/env bash
# mesh_tree_declined.sh - a graft the announcer cannot answer with a body is
# an answer all the same (issue 13, peer/mesh_tree.h: Tree.declined), with
# real ameshd processes on loopback.
#
# A triangle a - b - r, r dials a and b, a dials b. r takes a's first
# indicator from b while it has no link to a yet; then the link r - a is
# added (a reload), a's initial sync brings it again - a duplicate - and r
# prunes a: a sends r ids only, b stays r's eager source. Then b is killed:
# the bodies' eager route is lost, r hears of a's changes by id only and
# grafts them from a after AMESH_TREE_GRAFT_MS.
#
#  1. a submits an indicator and withdraws it half a graft timer later,
#     before r's graft: at a the indicator's record is superseded by the
#     withdrawal. r grafts the indicator; a answers with what superseded
#     it, the withdrawal, and says the indicator itself is gone
#     (declined). Before, that graft went unanswered: the withdrawal came
#     only by its own graft, a whole graft timer after r heard of it, and
#     r asked again for the indicator 8 times, 500 ms apart, gave it up
#     (grafts_abandoned) and moved its cursor over a's log back to before
#     it, so a's log came again as bodies - about 4 s of repair after the
#     withdrawal. Measured: withdrawal arrival and the end of the repair
#     (r's last graft to a), from the withdrawal.
#  2. (a second triangle c - d - s, as fresh) c submits a botnet indicator,
#     which s's import policy for c refuses:
#     s grafts it, c sends the body, s refuses it - an answer: not grafted
#     again, not given up.
set -uo pipefail
AMESHD=$1 AMESH=$2 JSONCHECK=$3
. "$(dirname "$0")/lib.sh"

# Case 1 needs a's withdrawal between r hearing of the indicator and r's
# graft of it: a graft timer later. What lies between is this script's own
# work (a `peers --json` poll, the withdraw CLI), which took 2.2 s at load
# ~12 on a 2-core VM: with a 1 s timer r had grafted - and got - the
# indicator before it was withdrawn, and the case tested nothing it meant
# to. The withdrawal comes half a timer after r heard of it, so the script
# has 3 s for its part and the graft answer 3 s to beat the withdrawal's
# own timer.
GRAFT_MS=6000
export AMESH_TREE_GRAFT_MS=$GRAFT_MS

# field PEER NB PATH: that field of PEER's neighbour NB (`amesh peers --json`)
field() {
	local out
	out=$(amp "$1" --json peers) || return 1
	paste <("$JSONCHECK" name <<<"$out") <("$JSONCHECK" "$3" <<<"$out") | awk -v n="$2" '$1 == n { print $2 }'
}
is() { [ "$(field "$1" "$2" "$3")" = "$4" ]; }
ms() { date +%s%3N; }
tombstones() { amp "$1" --json status | "$JSONCHECK" tombstones; }
pruned() { [ "$(field "$1" "$2" tree.prunes_out)" -ge 1 ]; }

# triangle A B R N: the triangle above on ports N..N+2 (a fresh one per
# case: a graft leaves the link eager), up to b's kill; R's import from A
# takes phishing and malware only
triangle() {
	local a=$1 b=$2 r=$3 n=$4
	mk_peer "$a" "$n"; mk_peer "$b" $((n + 1)); mk_peer "$r" $((n + 2))
	link "$a" "$b" $((n + 1))
	link "$r" "$b" $((n + 1))
	trust "$r" "$a"; trust "$a" "$r"
	neighbour "$a" "$r" <<<"$OPEN_POLICY"
	start "$a" || exit 1
	start "$b" || exit 1
	start "$r" || exit 1
	check "$r - $b up" wait_until 20 is "$r" "$b" state up
	check "$a - $b up" wait_until 20 is "$a" "$b" state up
	amp "$a" submit "v.$a.example.org" --category phishing --confidence 80 --ttl 1d >/dev/null
	check "$a's indicator reaches $r through $b" wait_until 20 has "$r" "v.$a.example.org"
	neighbour "$r" "$a" "tcp://127.0.0.1:$(port_of "$n")" <<'EOF'
export.categories = malware
export.origins = all
import.categories = phishing, malware
EOF
	signal "$r" HUP
	check "$a - $r up" wait_until 20 is "$r" "$a" state up
	check "$a's sync brings $r a duplicate, and $r prunes $a (ids only from $a)" wait_until 30 pruned "$r" "$a"
	check "$b still sends $r bodies" is "$r" "$b" tree.mode_in eager
	stop "$b" -KILL
}

triangle a b r 1
# 1. an indicator superseded at its announcer before r's graft
ids0=$(field r a tree.ids_in)
grafts0=$(field r a tree.grafts_out)
amp a submit x.example.org --category phishing --confidence 80 --ttl 1d >/dev/null
ids_grew() { [ "$(field r a tree.ids_in)" -ge $((ids0 + $1)) ]; }
check "r hears of the indicator from a by id" wait_until 5 ids_grew 1
sleep $((GRAFT_MS / 2000)) # the withdrawal half a graft timer later: r grafts the indicator first
tomb0=$(tombstones r)
t0=$(ms)
amp a withdraw x.example.org --category phishing >/dev/null
check "and of its withdrawal" wait_until 5 ids_grew 2
check "r does not hold the indicator (its body's route is down)" not has r x.example.org
arrived=""
last=$t0 prev="$grafts0 0"
# every 50 ms for GRAFT_MS + 5 s: when the withdrawal's record arrives,
# and when r last grafted from a (or gave up) - the end of the repair
end=$((t0 + GRAFT_MS + 5000))
while [ "$(ms)" -lt "$end" ]; do
	now=$(ms)
	[ -z "$arrived" ] && [ "$(tombstones r)" -gt "$tomb0" ] && arrived=$((now - t0))
	cur="$(field r a tree.grafts_out) $(field r a tree.grafts_abandoned)"
	[ "$cur" != "$prev" ] && last=$now prev=$cur
	sleep 0.05
done
repair=$((last - t0))
echo "# withdrawal at r after ${arrived:-never} ms; repair ended ${repair} ms after the withdrawal (graft timer ${GRAFT_MS} ms)"
check "the withdrawal arrived" test -n "$arrived"
check "as the answer to r's graft of the indicator, before its own graft timer (${arrived:-never} ms)" \
	test "${arrived:-99999}" -lt "$GRAFT_MS"
check "a declined r's graft of the superseded indicator" test "$(field r a tree.declined_in)" -ge 1
check "and said so (a's count)" test "$(field a r tree.declined_out)" -ge 1
check "r gave nothing up" is r a tree.grafts_abandoned 0
check "r grafted the indicator once, and the withdrawal not at all (got $(($(field r a tree.grafts_out) - grafts0)))" \
	test "$(($(field r a tree.grafts_out) - grafts0))" -eq 1
check "the repair ended within the graft timer and a second (${repair} ms)" test "$repair" -lt $((GRAFT_MS + 1000))

# 2. a graft's answer that the grafter's import policy refuses
triangle c d s 4
grafts1=$(field s c tree.grafts_out)
ids1=$(field s c tree.ids_in)
rej0=$(reject_count s c category); rej0=${rej0:-0}
amp c submit y.example.org --category botnet --confidence 80 --ttl 1d >/dev/null
ids_grew_s() { [ "$(field s c tree.ids_in)" -gt "$ids1" ]; }
check "s hears of c's botnet indicator by id" wait_until 5 ids_grew_s
refused() { [ "$(reject_count s c category)" -gt "$rej0" ]; }
check "s grafts it and refuses the body (import policy)" wait_until $((GRAFT_MS / 1000 + 5)) refused
# The refusal ends the wait: no graft after it. Before it, an answer slower
# than the retry (500 ms; seen at load ~18 in 5 of 20 runs) is retried by
# design - so what is counted is the grafts after the refusal was seen,
# which every graft sent before that answer precedes.
grafts2=$(field s c tree.grafts_out)
sleep 5 # PLUMTREE_TRIES x 500 ms: the retries, had it stayed missing
check "grafted at least once, and not again after the refusal (got $((grafts2 - grafts1)), then $(($(field s c tree.grafts_out) - grafts2)))" \
	test "$grafts2" -gt "$grafts1" -a "$(field s c tree.grafts_out)" -eq "$grafts2"
check "nothing given up" is s c tree.grafts_abandoned 0
check "s does not hold it" not has s y.example.org
finish

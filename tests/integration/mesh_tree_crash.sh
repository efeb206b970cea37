#!/usr/bin/env bash
# mesh_tree_crash.sh - an id announced over a lazy link survives a crash
# (kill -9) of the peer that waits to graft it (issue 13, peer/mesh_tree.h:
# mesh_tree_durable), with real ameshd processes on loopback.
#
# A triangle a - b - r, r dials a and b, a dials b; r's export to a lets
# only malware through. r takes b's and a's first indicators from b while
# it has no link to a yet; then the link r - a is added (a reload), a's
# initial sync brings both again - duplicates - and r prunes a: a sends r
# ids only (all of them with one shared tree; those of origins a and b
# with a tree per origin), b stays r's eager source. Then b is killed
# (the body's eager route is gone), a submits an indicator and withdraws
# the older one: r hears of both by id only, and waits 10 s to graft them
# (AMESH_TREE_GRAFT_MS). Before that, a files a dispute (disputes always go
# as bodies), so r commits its cursor over a's log past both ids. r is
# killed with SIGKILL - its missing-id table is memory - and started again:
# the indicator and the withdrawal must still arrive from a. Before the
# fix, r's stored cursor claimed both ids and nothing sent them again.
set -uo pipefail
AMESHD=$1 AMESH=$2 JSONCHECK=$3
. "$(dirname "$0")/lib.sh"

# long enough that no graft fires before the kill (the test checks it)
export AMESH_TREE_GRAFT_MS=10000
mk_peer a 1; mk_peer b 2; mk_peer r 3
link a b 2
link r b 2
trust r a; trust a r
neighbour a r <<<"$OPEN_POLICY"

# field PEER NB PATH: that field of PEER's neighbour NB (`amesh peers --json`)
field() {
	local out
	out=$(amp "$1" --json peers) || return 1
	paste <("$JSONCHECK" name <<<"$out") <("$JSONCHECK" "$3" <<<"$out") | awk -v n="$2" '$1 == n { print $2 }'
}
is() { [ "$(field "$1" "$2" "$3")" = "$4" ]; }
open_dispute() { amp "$1" --json disputes | grep "\"domain\":\"$2\"" | grep -q '"state":"open"'; }

start a || exit 1
start b || exit 1
start r || exit 1
check "r - b up" wait_until 20 is r b state up
check "a - b up" wait_until 20 is a b state up
amp b submit w.example.org --category phishing --confidence 80 --ttl 1d >/dev/null
check "b's indicator reaches a" wait_until 20 has a w.example.org
amp a submit v.example.org --category phishing --confidence 80 --ttl 1d >/dev/null
check "a's indicator reaches r through b" wait_until 20 has r v.example.org
check "b's reaches r" has r w.example.org
# r's link to a: a reload adds it
neighbour r a "tcp://127.0.0.1:$(port_of 1)" <<'EOF'
export.categories = malware
export.origins = all
import.categories = all
EOF
signal r HUP
check "a - r up" wait_until 20 is r a state up
pruned() { [ "$(field r a tree.prunes_out)" -ge 1 ]; }
check "a's sync brings r duplicates, and r prunes a (ids only from a)" wait_until 30 pruned
check "b still sends r bodies" is r b tree.mode_in eager

stop b -KILL
ids0=$(field r a tree.ids_in)
amp a submit x.example.org --category phishing --confidence 80 --ttl 1d >/dev/null
amp a withdraw v.example.org --category phishing >/dev/null
t0=$(date +%s)
ids_grew() { [ "$(field r a tree.ids_in)" -ge $((ids0 + 2)) ]; }
check "r hears of both from a by id" wait_until 5 ids_grew
amp a dispute w.example.org --category phishing --reason "a crash test: a body over the lazy link" >/dev/null
check "a's dispute reaches r as a body (a commit of r's cursor over a's log)" wait_until 5 open_dispute r w.example.org
# no graft answered yet: the ids are still missing at r
check "r does not hold the new indicator yet" not has r x.example.org
check "r does not have the withdrawal yet" has r v.example.org
waited=$(($(date +%s) - t0))
check "all before r's graft timer (${waited}s of 10)" test "$waited" -lt 9

stop r -KILL
start r || exit 1
check "after the crash, the indicator arrives" wait_until 30 has r x.example.org
check "and the withdrawal" wait_until 30 not has r v.example.org
finish

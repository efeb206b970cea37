#!/usr/bin/env bash
# mesh_initial_sync.sh - a neighbour joins late and pulls thousands of
# indicators: many batches, the puller's next pull on its way while one is
# verified and committed (issue 13). Every indicator arrives exactly once,
# the stores agree, and the cursor committed with each batch holds across
# a restart: nothing is pulled again.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

N=3000
mk_peer a 1; mk_peer b 2
link b a 1 # b dials a: b's puller pulls a's log
start a || exit 1
seq 1 "$N" | sed 's/^/i/; s/$/.initial-sync.example/' >"$T_ROOT/names.txt"
amp a import "$T_ROOT/names.txt" --format plain --category spam --confidence 60 --ttl 1d >/dev/null ||
	fail "a imports $N"
# and a withdrawal among them: order within the log matters
amp a withdraw i17.initial-sync.example --category spam >/dev/null || fail "a withdraws one"
start b || exit 1
field() { amp b --json peers | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }
# a's log holds the latest of each: N entries, one of them the withdrawal
accepted_all() { [ "$(field in_accepted)" -ge "$N" ]; }
check "b accepts all $N (one a withdrawal)" wait_until 120 accepted_all
check "b accepted each exactly once" test "$(field in_accepted)" -eq "$N"
check "nothing arrived twice" test "$(field in_duplicate)" -eq 0
refused() { amp b --json peers | grep -o '"rejects":{[^}]*}' | grep -q ':[1-9]'; }
check "nothing was refused" not refused
check "the stores agree" test "$(digests a)" = "$(digests b)"
check "b holds one from the last batch" has b "i$N.initial-sync.example"
check "b holds the withdrawal, not the indicator" not has b i17.initial-sync.example
# the cursor was committed with the batches: a restarted b asks for nothing old
stop b
start b || exit 1
check "b is linked again" wait_until 20 sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"
amp a submit after-restart.initial-sync.example --category spam --confidence 60 --ttl 1d >/dev/null || fail "a submits"
check "b gets the new one" wait_until 20 has b after-restart.initial-sync.example
check "and only that: no batch pulled again" test "$(field in_accepted)" -eq 1
check "no duplicates after the restart" test "$(field in_duplicate)" -eq 0
finish

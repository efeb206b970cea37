#!/usr/bin/env bash
# mesh_relay.sh - a line A - B - C of real peers. A and C dial B (C as if
# behind a firewall: it only dials out, yet must receive too). Checks relay
# across two hops, sub-second delivery, withdrawal reaching C, and catch-up
# after B restarts in the middle.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
link c b 2
trust c a origin; trust a c origin   # origins reached through b
for p in a b c; do check "--check $p" "$AMESHD" -c "$T_ROOT/$p/amesh.conf" --check; done
start a || exit 1; start b || exit 1; start c || exit 1
check "a links to b" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"
check "c links to b" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/c/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"

t0=$(date +%s%N)
amp a submit relay-one.example.com --category phishing --confidence 80 --ttl 1d >/dev/null
check "b receives a's indicator" wait_until 5 has b relay-one.example.com
t1=$(date +%s%N)
check "c receives it across two hops" wait_until 5 has c relay-one.example.com
t2=$(date +%s%N)
# a figure, not an assertion: timing checks flake on a busy machine
echo "# latency a->b $(( (t1 - t0) / 1000000 )) ms, a->c $(( (t2 - t0) / 1000000 )) ms (incl. CLI start-up and polling)"

# the dialling side sends too: c -> b -> a
amp c submit from-c.example.org --category malware --confidence 50 --ttl 1d >/dev/null
check "c's indicator reaches a through b" wait_until 5 has a from-c.example.org
out=$(amp a --json query from-c.example.org)
check "origin survives the relay (c's key id)" grep -q "\"origin_key_id\":\"$(amp c --json status | sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p')\"" <<<"$out"

# recourse: the withdrawal travels the same way
amp a withdraw relay-one.example.com --category phishing >/dev/null
check "withdrawal reaches b" wait_until 5 not has b relay-one.example.com
check "withdrawal reaches c" wait_until 5 not has c relay-one.example.com

# b goes down in the middle; a keeps working; c catches up when b returns
stop b -KILL
for i in 1 2 3 4 5; do amp a submit "while-down-$i.example.net" --category spam --confidence 30 --ttl 1d >/dev/null; done
amp a withdraw from-c.example.org --category malware >/dev/null 2>&1 # not a's: must fail, changes nothing
sleep 1
check "c has nothing new while b is down" not has c while-down-1.example.net
start b || exit 1
for i in 1 2 3 4 5; do
	check "c catches up on while-down-$i after b restarts" wait_until 15 has c "while-down-$i.example.net"
done
settle a b c
check "a and c agree on every origin's digest" test "$(digests a)" = "$(digests c)"

# a restart of c itself resumes from its persisted cursor (no re-fetch storm)
stop c
start c || exit 1
amp a submit after-restart.example.net --category botnet --confidence 90 --ttl 1d >/dev/null
check "restarted c receives new indicators" wait_until 15 has c after-restart.example.net
# the origin's signed hop limit is honoured by the relay
amp a submit one-hop.example.com --category phishing --confidence 80 --ttl 1d --hop-limit 1 >/dev/null
check "hop limit 1: b (one link away) receives it" wait_until 5 has b one-hop.example.com
settle a b c
check "hop limit 1: b does not relay it to c" not has c one-hop.example.com
check "b counts the hop limit it honoured" grep -q '"name":"c".*"held":{[^}]*"hops":[1-9]' <<<"$(amp b --json peers)"

finish

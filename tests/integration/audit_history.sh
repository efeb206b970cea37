#!/usr/bin/env bash
# audit_history.sh - a name's history (`amesh audit NAME') says why its
# flag stopped counting, and counts again, when a trust change hid or
# showed its origin's indicators.
#
# Found by a CERT operator: after `keys distrust' of an origin, `amesh
# query' found nothing on a name it had blocked, and `amesh audit NAME'
# ended at "accepted" - the trust_removed record had no origin key and no
# name, so nothing tied it to the name, and no record said the origin's
# indicators no longer counted.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
trust b c; trust c b; trust c a origin
neighbour c b "tcp://127.0.0.1:$(port_of 2)" <<<"$OPEN_POLICY"
neighbour b c <<<"$OPEN_POLICY"
for p in a b c; do start "$p" || exit 1; done
amp a submit c2-panel.example.com --category malware --confidence 90 --ttl 1d >/dev/null || fail "a submits"
amp a submit other.example.org --category malware --confidence 90 --ttl 1d >/dev/null || fail "a submits"
check "c gets a's flag through b" wait_until 10 has c c2-panel.example.com
amp c submit own.example.net --category phishing --confidence 90 --ttl 1d >/dev/null || fail "c submits"

"$AMESH" -c "$T_ROOT/c/amesh.conf" keys distrust a >/dev/null || fail "c distrusts a"
check "c no longer answers for a's flag" not has c c2-panel.example.com
h=$(amp c audit c2-panel.example.com)
check "c's history of the name says a's indicators no longer count, naming a and its key" \
	grep -q "every indicator of origin a no longer counts: no longer trusted here (key [0-9a-f]\{16\})" <<<"$h"
j=$(amp c --json audit c2-panel.example.com --event origin_hidden)
check "... in --json with the origin's key id" grep -q '"event":"origin_hidden".*"origin_key_id":"[0-9a-f]\{16\}"' <<<"$j"
check "... and not in the history of a name a never flagged" not grep -q "every indicator of origin a " <<<"$(amp c audit own.example.net)"

"$AMESH" -c "$T_ROOT/c/amesh.conf" keys trust "$T_ROOT/a/amesh.key.pub" --name a --as origin >/dev/null || fail "c trusts a again"
check "c answers for a's flag again" wait_until 5 has c c2-panel.example.com
check "c's history of the name says they count again" \
	grep -q "every indicator of origin a counts again: trusted here" <<<"$(amp c audit c2-panel.example.com)"
check "the trail still verifies" amp c audit --verify

finish

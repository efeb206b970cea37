#!/usr/bin/env bash
# disputes.sh - recourse through the mesh (issue 14), over real ameshd on
# loopback: a line A - B - C (A and C dial B). A dispute filed at the far
# peer C reaches the origin A through B and every holder; A's `withdraw'
# answer takes the name off all three and out of C's response policy zone;
# an `uphold' closes the dispute and keeps the indicator; an amber
# indicator's dispute stops where the indicator stopped, a red one's never
# leaves, and one signed `green' on the amber indicator is shared as amber
# (the level in a dispute is its filer's word); a flood beyond B's
# import.disputes_per_hour is refused and counted; only the origin
# answers; a dispute of an indicator a peer does not hold (a name nobody
# flagged) goes no further; every step is in the audit trail.
set -uo pipefail
AMESHD=$1 AMESH=$2 TESTPEER=$3
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
link c b 2
trust c a origin; trust a c origin
# b takes at most 6 disputes an hour from c; a and b relay amber between them
sed -i 's/^\[neighbour c\]$/[neighbour c]\nimport.disputes_per_hour = 6/' "$T_ROOT/b/amesh.conf"
# and 1 an hour from a: a's first answer to each dispute must pass all the same
sed -i 's/^\[neighbour a\]$/[neighbour a]\nimport.disputes_per_hour = 1/' "$T_ROOT/b/amesh.conf"
# amber: a sends it to b (its direct neighbour); nobody relays it further
sed -i 's/^\[neighbour b\]$/[neighbour b]\nexport.max_tlp = amber/' "$T_ROOT/a/amesh.conf"
# mallory: a pinned neighbour of b who will forge an origin's answer
"$AMESH" keys generate -o "$T_ROOT/mallory.key" >/dev/null
"$AMESH" -c "$T_ROOT/b/amesh.conf" keys trust "$T_ROOT/mallory.key.pub" --name mallory >/dev/null
neighbour b mallory <<<"$OPEN_POLICY"
# c calls an open dispute overdue after 3 s (a and b keep the 72 h default)
sed -i 's/^\[peer\]$/[peer]\ndispute_deadline = 3s/' "$T_ROOT/c/amesh.conf"
ZONE=abuse.amesh.test
cat >>"$T_ROOT/c/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing, malware
allow_transfer = 127.0.0.1
disputed = omit
CONF
for p in a b c; do check "--check $p" "$AMESHD" -c "$T_ROOT/$p/amesh.conf" --check; done
start a || exit 1; start b || exit 1; start c || exit 1
check "a links to b" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"
check "c links to b" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/c/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"

expect_exit 0 "an empty disputes listing is no failure" amp a disputes
check "... and says there are none" grep -qx "no disputes held here" <<<"$T_OUT"
expect_exit 0 "... nor with --open --mine" amp a disputes --open --mine
check "... which it names" grep -qx "no disputes held here that --open --mine keep (open or overdue, about this peer's own indicators)" <<<"$T_OUT"
check "... and --json stays silent (no object is none)" test -z "$(amp a --json disputes --open)"

zone_has() { amp c export rpz --zone abuse | grep -q "^$1 "; }
disputes_json() { amp "$1" --json disputes; }
# has_dispute PEER STATE DOMAIN
has_dispute() { disputes_json "$1" | grep "\"domain\":\"$3\"" | grep -q "\"state\":\"$2\""; }

# --- filed at C, reaches the origin A through B, answered withdraw ---
amp a submit wrongly.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "c holds a's indicator" wait_until 10 has c wrongly.example.com
check "it is in c's zone" wait_until 10 zone_has wrongly.example.com
expect_exit 0 "c files a dispute" amp c dispute wrongly.example.com --category phishing \
	--reason "registrant shows the site is a bank's own login page" --evidence https://evidence.example/1 \
	--on-behalf-of "Example Registrar Ltd"
check "c lists it as open" has_dispute c open wrongly.example.com
check "the dispute reaches b" wait_until 10 has_dispute b open wrongly.example.com
check "the dispute reaches the origin a" wait_until 10 has_dispute a open wrongly.example.com
check "c's query marks the verdict disputed, with the latest reason" sh -c "'$AMESH' -s '$T_ROOT/c/run/amesh.sock' query wrongly.example.com | grep -q 'DISPUTED (1 open, latest: \"registrant shows the site'"
q=$(amp b --json query wrongly.example.com)
check "b's query --json: the signal carries the dispute" grep -q '"disputes":\[{"id":"[0-9a-f]\{64\}"' <<<"$q"
check "b's query --json: the verdict says disputed" grep -q '"disputed":1' <<<"$q"
check "disputed = omit: c's zone drops the disputed name" wait_until 10 not zone_has wrongly.example.com
sub=$(amp c --json query www.wrongly.example.com)
check "c's query --json of a name below it: the zone's why is the dispute" grep -q '"rpz":\[{[^]]*"why":"disputed"' <<<"$sub"
check "... with no score or category (no signal is behind it)" not grep -q '"rpz":\[{[^]]*"score"\|"rpz":\[{[^]]*"category"' <<<"$sub"
id=$(disputes_json a | grep '"domain":"wrongly.example.com"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
check "a knows the dispute id" test ${#id} -eq 64
expect_exit 2 "b (not the origin) cannot answer" amp b dispute answer "$id" withdraw --reason "not mine"
check "... and is told only the origin answers" grep -q "only its origin answers" <<<"$T_ERR"
check "... in one line that names the command once" not grep -q "dispute answer: dispute answer:" <<<"$T_ERR"
expect_exit 2 "an answer needs --reason" amp a dispute answer "$id" withdraw
expect_exit 2 "an answer is uphold or withdraw" amp a dispute answer "$id" delete --reason x
check "... and says so" grep -q "expected uphold" <<<"$T_ERR"
expect_exit 2 "a dispute id that is no id" amp a dispute answer zz12 withdraw --reason x
expect_exit 2 "an unknown dispute id" amp a dispute answer 00000000 withdraw --reason x
check "... named as not held" grep -q "no dispute" <<<"$T_ERR"
check "... with the command named once" grep -q "^amesh dispute answer: no dispute" <<<"$T_ERR"
# query and disputes print dispute ids: one given where the indicator's
# belongs said only "no live indicator with id ..."
expect_exit 2 "a dispute's id given as the indicator to dispute" amp a dispute "${id:0:16}" --reason x
check "... is named a dispute's id, with its indicator's id to give" \
	grep -q "${id:0:16}... is the id of a dispute (on wrongly.example.com/phishing), not of an indicator: to dispute that indicator, give its id (amesh dispute [0-9a-f]\{16\} " <<<"$T_ERR"
# a message quoting a long name keeps its why: control errors were cut at 255 bytes
long=$(printf 'a%.0s' $(seq 60)).$(printf 'b%.0s' $(seq 60)).$(printf 'c%.0s' $(seq 60)).$(printf 'd%.0s' $(seq 60)).example
expect_exit 2 "a dispute on a long name not held here" amp c dispute "$long" --category phishing --reason x
check "... says why, to the end" grep -qF "\`$long' here (a dispute names an indicator this peer holds; amesh query shows them)" <<<"$T_ERR"
expect_exit 0 "a answers withdraw" amp a dispute answer "${id:0:12}" withdraw --reason "confirmed false positive"
check "the name leaves a" wait_until 10 not has a wrongly.example.com
check "the name leaves b" wait_until 10 not has b wrongly.example.com
check "the name leaves c" wait_until 10 not has c wrongly.example.com
check "c records the answer" wait_until 10 has_dispute c withdrawn wrongly.example.com
check "b records the answer" wait_until 10 has_dispute b withdrawn wrongly.example.com
check "the name stays out of c's zone" not zone_has wrongly.example.com
audit_a=$(amp a audit wrongly.example.com)
check "a's audit: disputed by c on behalf of the registrar, the id first" grep -q "disputed phishing on wrongly.example.com: dispute $id of indicator [0-9a-f]\{64\} filed by [0-9a-f]* (c) on behalf of Example Registrar Ltd: registrant shows" <<<"$audit_a"
check "a's audit: received from b" grep -q '"event":"disputed".*"neighbour":"b","rule":"received"' <<<"$(amp a --json audit wrongly.example.com)"
check "a's audit: the answer, with the id" grep -q "dispute_answered phishing on wrongly.example.com: dispute $id withdrawn by origin" <<<"$audit_a"
check "a's audit: the withdrawal's note names the dispute and the answer's reason" grep -q "^ *note: withdrawn after dispute $id: confirmed false positive$" <<<"$audit_a"
audit_b=$(amp b audit wrongly.example.com)
check "b's audit: the dispute forwarded to a" grep -q "dispute_relayed.*forwarded to a" <<<"$audit_b"
check "b's audit: the answer forwarded to c" grep -q "dispute_relayed.*withdraw answer of dispute.*forwarded to c" <<<"$audit_b"
check "c's audit: filed here" grep -q '"event":"disputed".*"neighbour":"","rule":"filed"' <<<"$(amp c --json audit wrongly.example.com)"
check "c's audit: withdrawn by origin a" grep -q "dispute_answered.*dispute $id withdrawn by origin [0-9a-f]* (a)" <<<"$(amp c audit wrongly.example.com)"
check "audit chains verify" amp b audit --verify

# --- bad input to `amesh dispute' ---
amp a submit second.example.net --category malware --confidence 70 --ttl 1d >/dev/null
check "c holds second.example.net" wait_until 10 has c second.example.net
expect_exit 2 "no --reason" amp c dispute second.example.net --category malware
check "... says --reason is mandatory" grep -q -- "--reason is mandatory" <<<"$T_ERR"
expect_exit 2 "no --category with a domain" amp c dispute second.example.net --reason x
check "... says --category is needed" grep -q -- "--category is needed" <<<"$T_ERR"
expect_exit 2 "a name nobody flagged" amp c dispute clean.example.org --category malware --reason x
check "... says no live indicator, once called a dispute" grep -q "^amesh dispute: no live malware indicator on .clean.example.org." <<<"$T_ERR"
expect_exit 2 "the wrong category" amp c dispute second.example.net --category spam --reason x
# the owner of a name disputes it while only names below it are flagged:
# told which, as the owner of a child is told the flagged parent
amp a submit login.bakery.example.org --category malware --confidence 70 --ttl 1d >/dev/null
amp a submit cdn.login.bakery.example.org --category malware --confidence 70 --ttl 1d >/dev/null
check "c holds both names below bakery.example.org" wait_until 10 has_own c cdn.login.bakery.example.org
expect_exit 2 "disputing the unflagged parent bakery.example.org" amp c dispute bakery.example.org --category malware --reason x
check "... names the flagged names below it" grep -q "no live malware indicator on .bakery.example.org. here; a name below it is flagged - dispute that name (amesh dispute NAME --category malware ...): .*login.bakery.example.org" <<<"$T_ERR"
check "... both of them" grep -q "cdn.login.bakery.example.org" <<<"$T_ERR"
expect_exit 2 "... but not under another category" amp c dispute bakery.example.org --category spam --reason x
check "... which has no hint" not grep -q "below it" <<<"$T_ERR"
for i in 1 2 3 4 5 6; do amp a submit "h$i.many.example.org" --category malware --confidence 70 --ttl 1d >/dev/null; done
check "c holds six names below many.example.org" wait_until 10 has_own c h6.many.example.org
expect_exit 2 "disputing many.example.org" amp c dispute many.example.org --category malware --reason x
check "... names five and counts the rest" grep -q "h[1-6].many.example.org. and 1 more$" <<<"$T_ERR"
expect_exit 2 "evidence that is no URL" amp c dispute second.example.net --category malware --reason x --evidence "see the mail"
check "... says it wants a URL, quoting it" grep -q "evidence .see the mail.: a URL" <<<"$T_ERR"
expect_exit 2 "a reason over 200 bytes" amp c dispute second.example.net --category malware --reason "$(printf 'x%.0s' $(seq 1 201))"
check "... names the field and says at most 200" grep -q -- "--reason is 201 bytes: at most 200" <<<"$T_ERR"
# over what a request carries (1,024) each text is named with its own cap too
x1100=$(printf 'x%.0s' $(seq 1 1100))
expect_exit 2 "a reason of 1,100 bytes" amp c dispute second.example.net --category malware --reason "$x1100"
check "... says --reason, at most 200 (not 1,024)" grep -q -- "--reason is 1100 bytes: at most 200" <<<"$T_ERR"
expect_exit 2 "evidence of 1,100 bytes" amp c dispute second.example.net --category malware --reason x \
	--evidence "https://e.example/$x1100"
check "... says --evidence, at most 200" grep -q -- "--evidence is 1118 bytes: at most 200" <<<"$T_ERR"
expect_exit 2 "evidence of 201 bytes" amp c dispute second.example.net --category malware --reason x \
	--evidence "https://e.example/$(printf 'x%.0s' $(seq 1 183))"
check "... says --evidence, at most 200" grep -q -- "--evidence is 201 bytes: at most 200" <<<"$T_ERR"
expect_exit 2 "on-behalf-of of 101 bytes" amp c dispute second.example.net --category malware --reason x \
	--on-behalf-of "$(printf 'x%.0s' $(seq 1 101))"
check "... says --on-behalf-of, at most 100" grep -q -- "--on-behalf-of is 101 bytes: at most 100" <<<"$T_ERR"
expect_exit 2 "an answer's reason of 1,100 bytes" amp a dispute answer 00000000 uphold --reason "$x1100"
check "... says --reason, at most 200" grep -q -- "--reason is 1100 bytes: at most 200" <<<"$T_ERR"
expect_exit 2 "a reason with a control character" amp c dispute second.example.net --category malware --reason "$(printf 'a\033[2Jb')"
check "... says printable" grep -q "only printable" <<<"$T_ERR"
expect_exit 2 "a bad domain" amp c dispute "-bad-.example" --category malware --reason x
expect_exit 0 "by indicator id" amp c dispute "$(amp c --json query second.example.net | sed -n 's/.*"signals":\[{"id":"\([0-9a-f]*\)".*/\1/p')" --reason "wrong category, it is spam"
# by the id `amesh query' prints: its first 16 hex digits
amp a submit by-prefix.example.com --category malware --confidence 70 --ttl 1d >/dev/null
check "b holds by-prefix.example.com" wait_until 10 has b by-prefix.example.com
short=$(amp b query by-prefix.example.com | sed -n 's/.* id=\([0-9a-f]*\)$/\1/p')
check "query prints a short id" test "${#short}" = 16
expect_exit 0 "by the short id query prints" amp b dispute "$short" --reason "cleaned, see the host's ticket"
check "... the dispute names that indicator" grep -q "open  by-prefix.example.com  malware" <<<"$T_OUT"
expect_exit 2 "a short id nothing held starts with" amp b dispute 0123456789abcdef --reason x
check "... says no live indicator has it (not a public suffix)" grep -q "no live indicator with id 0123456789abcdef" <<<"$T_ERR"
# texts at their caps, multi-byte: the audit record keeps the dispute's id
amp a submit long-texts.example.com --category malware --confidence 70 --ttl 1d >/dev/null
check "c holds long-texts.example.com" wait_until 10 has c long-texts.example.com
e_acute=$(printf '\303\251')
expect_exit 0 "a dispute with every text at its cap" amp c dispute long-texts.example.com --category malware \
	--reason "$(printf "$e_acute%.0s" $(seq 1 100))" --on-behalf-of "$(printf "$e_acute%.0s" $(seq 1 50))" \
	--evidence "https://e.example/$(printf 'x%.0s' $(seq 1 182))"
lid=$(disputes_json c | grep '"domain":"long-texts.example.com"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
check "c knows its id" test ${#lid} -eq 64
check "c's audit record of it keeps the id" grep -q "dispute $lid of indicator [0-9a-f]\{64\} filed by" <<<"$(amp c audit long-texts.example.com)"
expect_exit 2 "twice on the same indicator" amp c dispute second.example.net --category malware --reason again
check "... says already open" grep -q "^amesh dispute: this peer already has an open dispute" <<<"$T_ERR"

# --- uphold: the dispute is closed, the indicator stays ---
amp a submit upheld.example.org --category phishing --confidence 90 --ttl 1d >/dev/null
check "c holds upheld.example.org" wait_until 10 has c upheld.example.org
check "... in its zone" wait_until 10 zone_has upheld.example.org
expect_exit 0 "c disputes it" amp c dispute upheld.example.org --category phishing --reason "we think it is fine"
check "a receives it" wait_until 10 has_dispute a open upheld.example.org
check "while open, c's zone omits it" wait_until 10 not zone_has upheld.example.org
uid=$(disputes_json a | grep '"domain":"upheld.example.org"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 0 "a upholds" amp a dispute answer "$uid" uphold --reason "still serving a kit, see case 123"
check "c sees it upheld" wait_until 10 has_dispute c upheld upheld.example.org
check "the indicator stays at c" has c upheld.example.org
check "the indicator stays at a" has a upheld.example.org
check "upheld: back in c's zone" wait_until 10 zone_has upheld.example.org
q=$(amp c --json query upheld.example.org)
check "query --json shows the answer" grep -q '"state":"upheld","answer":"uphold","answer_reason":"still serving a kit, see case 123"' <<<"$q"
check "an upheld dispute no longer marks the verdict" not grep -q '"disputed":' <<<"$q"
expect_exit 2 "upholding twice is refused" amp a dispute answer "$uid" uphold --reason again

# --- the origin amends its flag after a dispute: an auditor at c (a relay
# away from the origin) reads the name's whole life from the audit trail ---
amp a submit amended.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "c holds amended.example.com" wait_until 10 has c amended.example.com
expect_exit 0 "c disputes it for the site's owner" amp c dispute amended.example.com --category phishing \
	--reason "cleaned on 1 Dec, see the host's report" --on-behalf-of "Bakery Ltd"
check "a receives it" wait_until 10 has_dispute a open amended.example.com
amid=$(disputes_json a | grep '"domain":"amended.example.com"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
first=$(disputes_json a | grep '"domain":"amended.example.com"' | sed -n 's/.*"indicator_id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 0 "a lowers the confidence and shortens the expiry" amp a submit amended.example.com --category phishing \
	--confidence 30 --ttl 2h
second=$(amp a --json query amended.example.com | sed -n 's/.*"signals":\[{"id":"\([0-9a-f]*\)".*/\1/p')
check "the amendment is another version" test "${#second}" = 64 -a "$second" != "$first"
amended_at_c() { amp c --json query amended.example.com | grep -q "\"id\":\"$second\".*\"confidence\":30"; }
check "the amendment reaches c" wait_until 10 amended_at_c
expect_exit 0 "a upholds, saying what changed" amp a dispute answer "$amid" uphold --reason "confidence lowered to 30, expires in 2h"
check "c sees the answer" wait_until 10 has_dispute c upheld amended.example.com
life=$(amp c --json audit amended.example.com)
check "c's audit --json: one JSON object a line" python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin.read().splitlines()]' <<<"$life"
check "c's audit: the disputed version, accepted from b, by id and terms" grep -q \
	"\"event\":\"accepted\",.*\"neighbour\":\"b\",\"rule\":\"\",\"detail\":\"indicator $first, confidence 90, tlp green, expires " <<<"$life"
check "c's audit: the amendment, accepted from b, by id and terms" grep -q \
	"\"event\":\"accepted\",.*\"neighbour\":\"b\",\"rule\":\"\",\"detail\":\"indicator $second, confidence 30, tlp green, expires " <<<"$life"
check "c's audit: the dispute names the version it disputes" grep -q "\"event\":\"disputed\",.*\"detail\":\"dispute $amid of indicator $first filed by " <<<"$life"
check "c's audit: in that order, the dispute between them, then the answer" python3 -c '
import json, sys
first, second, did = sys.argv[1:4]
ev = [json.loads(l) for l in sys.stdin.read().splitlines()]
at = lambda f: next(i for i, e in enumerate(ev) if f(e))
a = at(lambda e: e["event"] == "accepted" and first in e["detail"])
d = at(lambda e: e["event"] == "disputed" and did in e["detail"])
b = at(lambda e: e["event"] == "accepted" and second in e["detail"])
u = at(lambda e: e["event"] == "dispute_answered" and did in e["detail"] and "upheld" in e["detail"])
assert a < d < b < u, (a, d, b, u)' "$first" "$second" "$amid" <<<"$life"
check "a's audit: both versions originated, by id" sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json audit amended.example.com | grep '\"event\":\"originated\"' | grep -c 'indicator $first, confidence 90\\|indicator $second, confidence 30' | grep -qx 2"
# the auditor narrows the trail to what was taken and passed on (b relays to c)
took=$(amp b --json audit amended.example.com --event accepted,relayed)
check "b's audit --event accepted,relayed: only those events, both kinds" python3 -c '
import json, sys
first, second = sys.argv[1:3]
ev = [json.loads(l) for l in sys.stdin.read().splitlines()]
assert {e["event"] for e in ev} == {"accepted", "relayed"}, ev
assert any(first in e["detail"] for e in ev) and any(second in e["detail"] for e in ev), ev' "$first" "$second" <<<"$took"
all_b=$(amp b --json audit amended.example.com)
check "... each record the shape of an unfiltered one" python3 -c '
import json, sys
a, b = (sys.argv[1].splitlines(), sys.argv[2].splitlines())
keys = {tuple(json.loads(l).keys()) for l in a} | {tuple(json.loads(l).keys()) for l in b}
assert len(keys) == 1, keys' "$took" "$all_b"
check "... the rest left out (b's trail has disputes on it too)" grep -q '"event":"dispute_relayed"' <<<"$all_b"
check "--event twice is both lists" test "$(amp b --json audit amended.example.com --event accepted --event relayed)" = "$took"
one=$(amp b --json audit amended.example.com --event accepted --limit 1 2>/dev/null)
check "--limit counts the records the filter keeps: one line" test "$(grep -c . <<<"$one")" = 1
check "... the newest accepted, the amendment" grep -q "\"event\":\"accepted\".*indicator $second" <<<"$one"
expect_exit 0 "--limit 1 with older records matching" amp b audit amended.example.com --event accepted --limit 1
check "... the footer: one record, as --limit asked, nothing already used suggested" \
	grep -qx "amesh audit: showing the newest 1 record, as --limit asked; older ones match too" <<<"$T_ERR"
check "--event reads names without regard to case" \
	test "$(amp b --json audit amended.example.com --event ACCEPTED,Relayed)" = "$took"
check "--category phishing keeps them" test "$(amp b --json audit amended.example.com --category phishing)" = "$all_b"
expect_exit 1 "--category spam: none of them" amp b audit amended.example.com --category spam
check "... says no records the filters keep" grep -q "no records for amended.example.com that the filters keep" <<<"$T_OUT"
expect_exit 2 "an unknown --event is refused" amp b audit --event accepted,relay
check "... quoting it and naming the known events" grep -q "unknown audit event .relay.: the events are received, accepted, rejected, relayed,.* set_aside" <<<"$T_ERR"
expect_exit 2 "--event with --verify is refused" amp b audit --verify --event accepted
check "c's audit in words: the terms under the line" grep -q "^ *indicator $second, confidence 30, tlp green, expires " <<<"$(amp c audit amended.example.com)"

# --- an amber indicator's dispute stops where the indicator stopped ---
amp a submit amber.example.com --category malware --confidence 80 --ttl 1d --tlp amber >/dev/null
check "b (a's direct neighbour) holds the amber indicator" wait_until 10 has b amber.example.com
expect_exit 0 "b disputes it" amp b dispute amber.example.com --category malware --reason "amber but wrong"
check "the origin a receives it" wait_until 10 has_dispute a open amber.example.com
settle a b c
check "c, which never held it, never sees the dispute" not has_dispute c open amber.example.com
check "b counts it held back from c (tlp_amber)" grep -q '"name":"c".*"held":{[^}]*"tlp_amber":[1-9]' <<<"$(amp b --json peers)"
# the level in a dispute is its filer's word: mallory signs `green' on a's
# amber indicator; b holds the indicator and shares the dispute as amber
# (toward the origin only), never as green to c, which never held the flag
expect_exit 0 "mallory pushes a dispute of the amber indicator signed green" "$TESTPEER" "$T_ROOT/mallory.key" \
	"$T_ROOT/b/amesh.key.pub" "tcp://127.0.0.1:$(port_of 2)" green-dispute amber.example.com "$T_ROOT/a/amesh.key.pub"
green_at() { disputes_json "$1" | grep '"domain":"amber.example.com"' | grep -q 'green, says the filer'; }
check "b takes it (it holds the indicator)" wait_until 10 green_at b
check "it reaches the origin a (recourse)" wait_until 10 green_at a
settle a b c
check "c never sees it: bounded by the indicator's amber" not green_at c
gid=$(disputes_json a | grep 'green, says the filer' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
check "b's audit: that dispute held back from c, by id, under the indicator's level" grep -q \
	"\"event\":\"held_back\",\"domain\":\"amber.example.com\".*\"neighbour\":\"c\",\"rule\":\"tlp_amber\",\"detail\":\"dispute $gid (signed tlp green; the indicator held here is amber)\"" \
	<<<"$(amp b --json audit amber.example.com)"
check "... in words" grep -q "kept dispute $gid (signed tlp green; the indicator held here is amber) of malware on amber.example.com (origin [0-9a-f]*) from c: rule .tlp_amber." <<<"$(amp b audit amber.example.com)"

# A dispute of a name nobody flagged, of an origin nobody trusts: b, which
# holds no such indicator, keeps what mallory pushed to itself. Every peer
# passed such disputes on to all its neighbours - open in every `amesh
# disputes' of the mesh, and spending each link's import.disputes_per_hour,
# past which genuine disputes are refused for good.
"$AMESH" keys generate -o "$T_ROOT/stranger.key" >/dev/null
cp "$T_ROOT/a/amesh.key.pub" "$T_ROOT/a.key.pub"
for o in a stranger; do
	expect_exit 0 "mallory pushes a dispute of never-$o.example.com (origin $o, never flagged)" "$TESTPEER" \
		"$T_ROOT/mallory.key" "$T_ROOT/b/amesh.key.pub" "tcp://127.0.0.1:$(port_of 2)" green-dispute \
		"never-$o.example.com" "$T_ROOT/$o.key.pub"
	check "b takes it (shown there, where it was filed)" wait_until 10 has_dispute b open "never-$o.example.com"
	for p in a c; do
		check "b keeps it from $p: rule not_held" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' \
			--json audit never-$o.example.com --event held_back | grep -q '\"neighbour\":\"$p\",\"rule\":\"not_held\"'"
		check "... and $p never sees it" not has_dispute "$p" open "never-$o.example.com"
	done
done
check "b counts them held back from c (not_held)" grep -q '"name":"c".*"held":{[^}]*"not_held":2' <<<"$(amp b --json peers)"
# ... and one naming b itself as the origin of a flag b never issued: b
# knows what it signed, and refuses it (it stood open in b's own queue)
expect_exit 0 "mallory pushes a dispute of never-b.example.com naming b as its origin" "$TESTPEER" \
	"$T_ROOT/mallory.key" "$T_ROOT/b/amesh.key.pub" "tcp://127.0.0.1:$(port_of 2)" green-dispute \
	never-b.example.com "$T_ROOT/b/amesh.key.pub"
check "b refuses it: dispute_unknown" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json audit \
	never-b.example.com | grep -q '\"event\":\"rejected\".*\"neighbour\":\"mallory\",\"rule\":\"dispute_unknown\"'"
check "... not in b's queue" not has_dispute b open never-b.example.com

# --- a red indicator's dispute never leaves the origin ---
amp a submit red.example.com --category phishing --confidence 80 --ttl 1d --tlp red >/dev/null
expect_exit 2 "b cannot dispute what it never received" amp b dispute red.example.com --category phishing --reason x
expect_exit 0 "a files one for the registrant (on its own indicator)" amp a dispute red.example.com \
	--category phishing --reason "registrant called us" --on-behalf-of "Red Registrant"
amp a submit after-red.example.com --category phishing --confidence 80 --ttl 1d >/dev/null
amp a dispute after-red.example.com --category phishing --reason "a green one, to show the link works" >/dev/null
check "the green dispute filed after it reaches b" wait_until 10 has_dispute b open after-red.example.com
check "the red dispute does not" not has_dispute b open red.example.com
check "b never throttled a's answers (1 an hour from a, 2 answers and 1 dispute taken)" test "$(reject_count b a dispute_rate)" = ""
check "a counts it held back (tlp_red)" grep -q '"name":"b".*"held":{[^}]*"tlp_red":[1-9]' <<<"$(amp a --json peers)"

# --- only the origin answers: a forged answer through the mesh is refused ---
# rejects_are PEER NEIGHBOUR RULE N: counted again on each try of wait_until
# (a "$(...)" in wait_until's arguments is counted once, before it starts)
rejects_are() { test "$(reject_count "$1" "$2" "$3")" = "$4"; }
expect_exit 0 "mallory pushes a forged withdraw answer" "$TESTPEER" "$T_ROOT/mallory.key" "$T_ROOT/b/amesh.key.pub" \
	"tcp://127.0.0.1:$(port_of 2)" forged-answer second.example.net \
	"$(disputes_json b | grep '"domain":"second.example.net"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')"
check "b refuses it as not the origin's" wait_until 5 rejects_are b mallory dispute_not_origin 1
check "the dispute stays open at b" has_dispute b open second.example.net
check "the indicator stays at b" has b second.example.net
expect_exit 0 "mallory answers a dispute b does not hold" "$TESTPEER" "$T_ROOT/mallory.key" "$T_ROOT/b/amesh.key.pub" \
	"tcp://127.0.0.1:$(port_of 2)" forged-answer second.example.net "$(printf '7%.0s' $(seq 1 64))"
check "b refuses it as unknown (the second: never-b.example.com above was the first)" wait_until 5 rejects_are b mallory dispute_unknown 2
check "b's audit names the neighbour and the rule" grep -q '"event":"rejected".*"neighbour":"mallory","rule":"dispute_not_origin"' <<<"$(amp b --json audit second.example.net)"

# --- whose to answer: a dispute a files on c's flag is not a's to answer ---
amp c submit c-own.example.net --category spam --confidence 60 --ttl 1d >/dev/null
check "a holds c's flag" wait_until 10 has a c-own.example.net
expect_exit 0 "a disputes c's flag" amp a dispute c-own.example.net --category spam --reason "a's customer, not spam"
check "a's disputes --open lists it" grep -q "c-own.example.net" <<<"$(amp a --json disputes --open)"
mine_a=$(amp a --json disputes --open --mine)
check "a's disputes --open --mine leaves it out (c answers it)" not grep -q "c-own.example.net" <<<"$mine_a"
check "... and keeps those on a's own flags (second.example.net)" grep -q '"domain":"second.example.net"' <<<"$mine_a"
check "... every one naming a as origin" test "$(grep -c . <<<"$mine_a")" = "$(grep -c "\"origin_key_id\":\"$(amp a --json status | sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p')\"" <<<"$mine_a")"
check "b, which only relays, has none of its own" test -z "$(amp b --json disputes --mine)"
check "... and says so, naming --mine" grep -qx "no disputes held here that --mine keeps (about this peer's own indicators)" <<<"$(amp b disputes --mine)"
check "... though its disputes --open has some" grep -q '"state":"open"' <<<"$(amp b --json disputes --open)"
check "disputes --help says --mine" grep -q -- "--mine" <<<"$(amp a disputes --help)"

# --- overdue: c's deadline is 3 s ---
check "c shows the open dispute on second.example.net overdue" wait_until 10 has_dispute c overdue second.example.net
check "b (72 h) still shows it open" has_dispute b open second.example.net

# --- a dispute flood beyond b's import.disputes_per_hour (6) is refused and counted ---
before=$(disputes_json b | grep -c '"from":"c"')
for i in 1 2 3 4 5 6; do amp a submit "flood-$i.example.com" --category spam --confidence 50 --ttl 1d >/dev/null; done
check "c holds the six" wait_until 10 has c flood-6.example.com
for i in 1 2 3 4 5 6; do amp c dispute "flood-$i.example.com" --category spam --reason "flood $i" >/dev/null; done
settle a b c
after=$(disputes_json b | grep -c '"from":"c"')
check "b took 6 disputes from c in all (had $before, now $after)" test "$after" = 6
refused=$(reject_count b c dispute_rate)
check "b refused the rest and counted them ($refused)" test "${refused:-0}" = $((before + 6 - 6))
check "the refused ones never reach a" test "$(disputes_json a | grep -c 'flood-')" = $((6 - before))

# --- lapsed: the flag a dispute names expires unanswered ---
# nothing is left to answer, so c calls it neither open nor overdue (it
# fell overdue at c's 3 s deadline, blaming the origin)
amp a submit brief.example.com --category phishing --confidence 60 --ttl 5s >/dev/null
check "c holds the short-lived flag" wait_until 5 has c brief.example.com
# c's bucket at b is spent (the flood): b files one too, for the origin to see
expect_exit 0 "b disputes it" amp b dispute brief.example.com --category phishing --reason "gone soon, says b"
check "b's dispute reaches the origin a" wait_until 5 has_dispute a open brief.example.com
expect_exit 0 "c disputes it" amp c dispute brief.example.com --category phishing --reason "gone soon"
check "c shows it open while the flag lives" has_dispute c open brief.example.com
check "c shows it lapsed once the flag expired" wait_until 15 has_dispute c lapsed brief.example.com
check "... never overdue after that" not has_dispute c overdue brief.example.com
check "c's disputes --open leaves it out" not grep -q brief.example.com <<<"$(amp c --json disputes --open)"
check "c's text listing says lapsed" grep -q "lapsed  brief.example.com" <<<"$(amp c disputes)"
# the origin's answer to a lapsed dispute: nothing is left to uphold or
# withdraw, and it must not say "the indicator stays" or "is withdrawn"
check "a shows b's dispute lapsed too" wait_until 10 has_dispute a lapsed brief.example.com
bid=$(disputes_json a | grep '"domain":"brief.example.com"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 2 "a's uphold of the lapsed dispute is refused" amp a dispute answer "$bid" uphold --reason "still bad"
check "... saying the flag expired unanswered, nothing recorded" grep -q "brief.example.com/phishing expired here at [-0-9T:]*Z unanswered (the dispute lapsed); nothing is left to uphold or withdraw, so no answer is recorded or sent" <<<"$T_ERR"
check "... and not that the indicator stays" not grep -q "indicator stays" <<<"$T_OUT$T_ERR"
expect_exit 2 "a's withdraw of it is refused as well" amp a dispute answer "$bid" withdraw --reason "fine after all"
check "... not claiming a withdrawal" not grep -q "indicator is withdrawn" <<<"$T_OUT$T_ERR"
check "the dispute stays lapsed at a, unanswered" has_dispute a lapsed brief.example.com
check "a's audit has no answer to it" not grep -q "dispute_answered.*brief.example.com" <<<"$(amp a --json audit brief.example.com)"
check "c's report counts it lapsed" grep -q '"disputes":{[^}]*"lapsed":[1-9]' <<<"$(amp c report --format json)"

# --- the report's figures ---
rep=$(amp a report --format json)
check "a's report: one withdrawn, two upheld" grep -q '"disputes":{[^}]*"upheld":2,"withdrawn":1' <<<"$rep"
check "a's report: the shares of answers (67 and 33 %%)" grep -q '"upheld_pct":67,"withdrawn_pct":33' <<<"$rep"
check "a's report: the median time to answer" grep -q '"median_answer_seconds":[0-9]' <<<"$rep"
check "a's report: disputes by origin and category" grep -q '"disputes_by_origin":{[^}]*"self phishing":[1-9]' <<<"$rep"
check "c's report counts its overdue disputes" grep -q '"disputes":{[^}]*"overdue":[1-9]' <<<"$(amp c report --format json)"
check "the text report has the disputes" grep -q "upheld_pct" <<<"$(amp a report)"

finish

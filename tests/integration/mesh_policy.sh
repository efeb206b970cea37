#!/usr/bin/env bash
# mesh_policy.sh - the policy-leak suite, modelled on leak reports from
# other sharing platforms: nothing may reach a neighbour that a policy or
# the origin's sharing level keeps from it, directly or through a relay.
#
#   a (origin) dials b, d, e;  c dials b.
#   a->b: phishing only, confidence >= 50, own, up to amber+strict
#   a->d: no export policy at all (must receive nothing)
#   a->e: everything, but only names under .asia
#   b->c: everything, all origins, up to amber+strict (amber must still
#         never be relayed: that rule is the origin's, not b's)
# A dispute goes only where the indicator it names could go, or went.
set -uo pipefail
AMESHD=$1 AMESH=$2 TESTPEER=$3
. "$(dirname "$0")/lib.sh"

for p in a b c d e; do :; done
mk_peer a 1; mk_peer b 2; mk_peer c 3; mk_peer d 4; mk_peer e 5
trust a b; trust b a; trust a d; trust d a; trust a e; trust e a; trust b c; trust c b
trust c a origin
neighbour a b "tcp://127.0.0.1:$(port_of 2)" <<'P'
export.categories = phishing
export.min_confidence = 50
export.origins = own
export.max_tlp = amber+strict
import.categories = all
P
neighbour a d "tcp://127.0.0.1:$(port_of 4)" <<'P'
import.categories = all
P
neighbour a e "tcp://127.0.0.1:$(port_of 5)" <<'P'
export.categories = all
export.domains = asia
import.categories = all
P
neighbour b a <<<"$OPEN_POLICY"
neighbour d a <<<"$OPEN_POLICY"
neighbour e a <<<"$OPEN_POLICY"
neighbour b c <<'P'
export.categories = all
export.origins = all
export.max_tlp = amber+strict
import.categories = all
P
neighbour c b "tcp://127.0.0.1:$(port_of 2)" <<<"$OPEN_POLICY"
for p in a b c d e; do start "$p" || exit 1; done
check "a's links are up" wait_until 10 sh -c "[ \$('$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json peers | grep -c '\"state\":\"up\"') -eq 3 ]"

sub() { amp a submit "$@" >/dev/null || fail "submit $*"; }
sub ok.example.com --category phishing --confidence 80 --ttl 1d --tlp green
sub mal.example.com --category malware --confidence 90 --ttl 1d --tlp green
sub low.example.com --category phishing --confidence 30 --ttl 1d --tlp green
sub amber.example.com --category phishing --confidence 80 --ttl 1d --tlp amber
sub strict.example.com --category phishing --confidence 80 --ttl 1d --tlp amber+strict
sub red.example.com --category phishing --confidence 80 --ttl 1d --tlp red
sub shop.asia --category spam --confidence 10 --ttl 1d --tlp clear
sub marker.example.com --category phishing --confidence 99 --ttl 1d --tlp green
check "b gets the allowed indicator" wait_until 10 has b marker.example.com
check "c gets it through b" wait_until 10 has c marker.example.com
check "e gets the .asia name" wait_until 10 has e shop.asia
settle a b c d e

check "empty policy: d receives nothing at all" test "$(amp d --json list | wc -l)" -eq 0
check "category filter: b has no malware" not has b mal.example.com
check "category filter not bypassed by relay: c has no malware" not has c mal.example.com
check "confidence filter: b lacks the low-confidence one" not has b low.example.com
check "confidence filter not bypassed: c lacks it too" not has c low.example.com
check "amber reaches the origin's direct neighbour b" has b amber.example.com
check "amber is never relayed: c lacks it" not has c amber.example.com
check "amber+strict reaches b" has b strict.example.com
check "amber+strict is never relayed" not has c strict.example.com
check "red never leaves the origin (b)" not has b red.example.com
check "red never leaves the origin (e)" not has e red.example.com
check "scope: e gets only .asia" not has e ok.example.com
check "e has exactly one indicator" test "$(amp e --json list | wc -l)" -eq 1

held=$(amp a --json peers)
check "a counts what it held back from d (not configured)" grep -q '"name":"d".*"held":{[^}]*"not_configured":[1-9]' <<<"$held"
check "a counts the category it held back from b" grep -q '"name":"b".*"held":{[^}]*"category":[1-9]' <<<"$held"
check "a counts the red it held back" grep -q '"name":"b".*"held":{[^}]*"tlp_red":[1-9]' <<<"$held"
check "b counts amber it would not relay to c" grep -q '"name":"c".*"held":{[^}]*"tlp_amber":[1-9]' <<<"$(amp b --json peers)"
# ... and the audit trail says what was kept from whom, by which rule
audit_a=$(amp a audit mal.example.com)
check "a's audit: malware kept from b by rule category" grep -q "kept malware on mal.example.com (origin [0-9a-f]*) from b: rule \`category'" <<<"$audit_a"
check "a's audit: kept from d, no policy" grep -q "kept malware on mal.example.com .* from d: rule \`not_configured'" <<<"$audit_a"
check "a's audit: kept from e by scope (not under .asia)" grep -q "from e: rule \`scope'" <<<"$audit_a"
check "a's audit: nothing says malware was shared with b" not grep -q "shared malware on mal.example.com .* with b" <<<"$audit_a"
check "a's audit (JSON): red kept from b by tlp_red" grep -q '"event":"held_back".*"neighbour":"b","rule":"tlp_red"' <<<"$(amp a --json audit red.example.com)"
check "b's audit: amber kept from c by tlp_amber" grep -q "kept phishing on amber.example.com .* from c: rule \`tlp_amber'" <<<"$(amp b audit amber.example.com)"
check "a's trail still verifies" amp a audit --verify
check "a's report: held back from b by tlp_red, counted" grep -Eq '"held_back":\{[^}]*"b tlp_red":[1-9]' <<<"$(amp a report --format json)"
check "a's report (text): the held-back heading" grep -q "Held back from each neighbour, by rule" <<<"$(amp a report)"

# A dispute names the domain, category and origin of what it disputes: it
# goes only where that indicator could go. It went to every neighbour whose
# max_tlp admitted its level, the rest of the policy unread: c's dispute of
# ok.example.com reached d (no export policy at all) and e (scope .asia).
has_dispute() { amp "$1" --json disputes | grep -q "\"domain\":\"$2\""; }
expect_exit 0 "c disputes ok.example.com (held through b)" amp c dispute ok.example.com --category phishing \
	--reason "registrant: a bakery"
check "the dispute reaches the origin a" wait_until 10 has_dispute a ok.example.com
audit_ok() { amp a --json audit ok.example.com --event held_back; }
check "a keeps the dispute from d: rule not_configured" wait_until 10 sh -c \
	"'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json audit ok.example.com --event held_back | grep -q '\"neighbour\":\"d\",\"rule\":\"not_configured\".*dispute '"
check "a keeps the dispute from e: rule scope" grep -q '"neighbour":"e","rule":"scope".*dispute ' <<<"$(audit_ok)"
sub after-dispute.asia --category spam --confidence 10 --ttl 1d --tlp clear
check "e takes a's next .asia name (its cursor is past the dispute)" wait_until 10 has e after-dispute.asia
check "e never hears of the dispute" not has_dispute e ok.example.com
check "d never hears of the dispute" not has_dispute d ok.example.com
check "d still holds nothing" test "$(amp d --json list | wc -l)" -eq 0
check "b, the way back, holds it" has_dispute b ok.example.com

# narrowing a policy stops further sharing at once (SIGHUP, no restart)
sed -i 's/^export.categories = phishing$/export.categories = malware/' "$T_ROOT/a/amesh.conf"
reloads=$(grep -c "SIGHUP: reloaded" "$T_ROOT/a/ameshd.log" || true)
signal a HUP
# the reload is done when the daemon says so; a fixed pause was not enough
# on two loaded cores, and the phishing submission below got out first
check "a reloaded" wait_until 10 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/a/ameshd.log') -gt $reloads ]"
sub after-narrow.example.com --category phishing --confidence 90 --ttl 1d
sub mal2.example.com --category malware --confidence 90 --ttl 1d
check "after narrowing, malware flows to b" wait_until 10 has b mal2.example.com
settle a b
check "after narrowing, phishing no longer flows to b" not has b after-narrow.example.com
check "the link to b survived the reload" grep -q '"name":"b".*"state":"up"' <<<"$(amp a --json peers)"

# A dispute, and its answer, reach a holder that got the indicator under
# a policy a reload replaced, as its withdrawal does: a narrows e to clear
# after e got a green flag, then files a dispute on it for the registrant.
# Only export.max_tlp in force was read, and e never heard of either.
sub phish.asia --category phishing --confidence 80 --ttl 1d --tlp green
check "e holds phish.asia (green)" wait_until 10 has e phish.asia
sed -i 's/^\[neighbour e\]$/[neighbour e]\nexport.max_tlp = clear/' "$T_ROOT/a/amesh.conf"
expect_exit 0 "a reloads, sharing only clear with e" amp a reload
expect_exit 0 "a files a dispute on its phish.asia for the registrant" amp a dispute phish.asia --category phishing \
	--reason "the registrant called: a shop" --on-behalf-of "Registrant"
check "e, which holds the flag, hears of the dispute" wait_until 10 has_dispute e phish.asia
pid=$(amp a --json disputes | grep '"domain":"phish.asia"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 0 "a answers it withdraw" amp a dispute answer "$pid" withdraw --reason "confirmed a shop"
check "the withdrawal reaches e" wait_until 10 not has e phish.asia
check "... and so does the answer" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/e/run/amesh.sock' --json disputes | grep '\"domain\":\"phish.asia\"' | grep -q '\"state\":\"withdrawn\"'"
sub after-phish.asia --category spam --confidence 10 --ttl 1d --tlp clear
check "e still gets only what clear allows" wait_until 10 has e after-phish.asia

# a key that is not pinned gets nothing, not even a count
"$AMESH" keys generate -o "$T_ROOT/stranger.key" >/dev/null
expect_exit 3 "unpinned key: handshake refused" "$TESTPEER" "$T_ROOT/stranger.key" "$T_ROOT/a/amesh.key.pub" "tcp://127.0.0.1:$(port_of 1)" pull
check "unpinned key: no data in the answer" not grep -q pulled <<<"$T_OUT"
check "unpinned key: the refusal carries no detail" grep -q "refused: peer refused the handshake: refused$" <<<"$T_OUT"
check "a counts the unknown handshake" grep -q "unknown keys: [1-9]" <<<"$(amp a peers)"
check "a logged the attempt with its address" grep -q "refused handshake from 127.0.0.1:" "$T_ROOT/a/ameshd.log"
finish

#!/usr/bin/env bash
# recourse.sh - a name rule tightened after a flag went out never blocks
# its withdrawal or a dispute of it (README "Special-use names"), over real
# ameshd on loopback: A and B linked; both stores hold A's flags on
# printer.local and co.uk as a version before those rules stored them
# (oldflag). A withdraws printer.local and the withdrawal reaches B
# (not refused there as special_use); B disputes co.uk and the dispute
# reaches A; a name not held is still refused with the rule's words; a new
# flag on such a name is still refused. A plain withdrawal answers the
# disputes on what it withdraws, open and upheld, and the answers reach B.
# An answer reaches the filer B though A narrowed what it shares with B
# after the filing. An amendment B's import policy refuses (A lowers its
# confidence after a dispute) sets B's older version aside, and a copy of
# that older version from another neighbour (C, to which A never sent the
# amendment) never brings it back while the newer version is known.
set -uo pipefail
AMESHD=$1 AMESH=$2 OLDFLAG=$3
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
# c dials a and b; b takes only spam from c (widened later), a sends c
# nothing under confidence 50
link c a 1
link c b 2
# last_line FILE FROM TO: FROM's last line in FILE becomes TO (b's [neighbour c], appended last)
last_line() { tac "$1" | sed "0,/^$2\$/s//$3/" | tac >"$1.new" && mv "$1.new" "$1"; }
last_line "$T_ROOT/b/amesh.conf" "import.categories = all" "import.categories = spam"
sed -i 's/^\[neighbour c\]$/[neighbour c]\nexport.min_confidence = 50/' "$T_ROOT/a/amesh.conf"
# b takes nothing under confidence 50 from a
sed -i 's/^\[neighbour a\]$/[neighbour a]\nimport.min_confidence = 50/' "$T_ROOT/b/amesh.conf"
for p in a b c; do check "--check $p" "$AMESHD" -c "$T_ROOT/$p/amesh.conf" --check; done
check "old flag on printer.local in both stores" "$OLDFLAG" "$T_ROOT/a/amesh.key" printer.local phishing 86400 \
	"$T_ROOT/a/data" "$T_ROOT/b/data"
check "old flag on co.uk in both stores" "$OLDFLAG" "$T_ROOT/a/amesh.key" co.uk spam 86400 \
	"$T_ROOT/a/data" "$T_ROOT/b/data"
start a || exit 1; start b || exit 1; start c || exit 1
check "a links to b" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"
check "b holds a's old flag on printer.local" has b printer.local

# the origin withdraws it, typed as an operator would
expect_exit 0 "a withdraws its own flag on printer.local" amp a withdraw Printer.Local --category phishing
check "the answer names the stored name" grep -q "^withdrawn printer.local phishing" <<<"$T_OUT"
check "... and answered no dispute (none filed)" test "$(grep -c '^answered' <<<"$T_OUT")" = 0
check "a holds it no longer" not has a printer.local
check "the withdrawal reaches b" wait_until 10 not has b printer.local
check "b refused nothing as special_use" test "$(reject_count b a special_use)" = ""
check "a's audit trail says why it went out all the same" sh -c \
	"'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json audit printer.local | grep -q 'name rules now refuse it'"
check "... and amesh audit prints that note" grep -q "note: withdrawn though the name rules now refuse it" <<<"$(amp a audit printer.local)"

# not held, or a category not held: the rule's own words, exit 2
expect_exit 2 "withdrawing nas.lan (never flagged) is refused" amp a withdraw nas.lan --category phishing
check "with the rule's words" grep -q "special-use name" <<<"$T_ERR"
expect_exit 2 "withdrawing printer.local again is refused" amp a withdraw printer.local --category phishing
expect_exit 2 "a new flag on printer.local is refused" amp a submit printer.local --category phishing \
	--confidence 50 --ttl 1d

# a dispute of a held flag on a public suffix, from the holder to the origin
# its hits are asked for as audit asks for its history: a lookup, no flag
expect_exit 1 "amesh sightings co.uk: a lookup, not refused as a public suffix" amp b sightings co.uk
check "... says there are none" grep -q "^no sightings on co.uk" <<<"$T_OUT"
expect_exit 1 "... nor a special-use name, as typed (Printer.Local.)" amp b sightings Printer.Local.
expect_exit 0 "b disputes a's old flag on co.uk" amp b dispute co.uk --category spam --reason "a whole suffix"
check "the dispute reaches a" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json disputes | grep -q '\"domain\":\"co.uk\"'"
expect_exit 2 "a dispute of org.uk (not held) is refused" amp b dispute org.uk --category spam --reason x
check "with the rule's words" grep -q "public suffix" <<<"$T_ERR"
# and the origin's answer withdraws it everywhere
id=$(amp a --json disputes | grep '"domain":"co.uk"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1)
expect_exit 0 "a answers withdraw" amp a dispute answer "$id" withdraw --reason "flagged before the rule"
check "the withdrawal of co.uk reaches b" wait_until 10 sh -c "! '$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json list | grep -q '\"domain\":\"co.uk\"'"

# a plain withdrawal answers every dispute on the indicator: open and upheld
disputes_of() { amp "$1" --json disputes | grep -c "\"domain\":\"$2\".*\"state\":\"$3\""; }
# n_disputes PEER DOMAIN STATE N: asked again on each try of wait_until
n_disputes() { test "$(disputes_of "$1" "$2" "$3")" = "$4"; }
amp a submit contested.example.org --category phishing --confidence 80 --ttl 1d >/dev/null
check "b holds contested.example.org" wait_until 10 has b contested.example.org
expect_exit 0 "b disputes it" amp b dispute contested.example.org --category phishing --reason "a bakery"
check "the dispute reaches a" wait_until 10 n_disputes a contested.example.org open 1
id=$(amp a --json disputes | grep '"domain":"contested.example.org"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 0 "a upholds it" amp a dispute answer "$id" uphold --reason "still a kit"
check "b sees it upheld" wait_until 10 n_disputes b contested.example.org upheld 1
expect_exit 0 "b disputes it again" amp b dispute contested.example.org --category phishing --reason "cleaned since"
check "the second reaches a" wait_until 10 n_disputes a contested.example.org open 1
expect_exit 0 "a withdraws it, plainly" amp a withdraw contested.example.org --category phishing
check "the reply says it answered both" grep -q "^answered 2 disputes on it: withdraw" <<<"$T_OUT"
check "a answered both withdraw" test "$(disputes_of a contested.example.org withdrawn)" = 2
check "... none left open or upheld" test "$(disputes_of a contested.example.org 'open\|upheld\|overdue')" = 0
check "both answers reach b" wait_until 10 n_disputes b contested.example.org withdrawn 2
check "a's audit: the answers, signed by the origin" grep -q "dispute_answered.*withdrawn by origin [0-9a-f]* (self): withdrawn by its origin" <<<"$(amp a audit contested.example.org)"

# the origin lowers its confidence after a dispute, under b's
# import.min_confidence: b refuses the amendment, and must not go on
# blocking at the confidence its origin no longer says
amp a submit lowered.example.org --category phishing --confidence 90 --ttl 1d >/dev/null
check "b holds lowered.example.org" wait_until 10 has b lowered.example.org
expect_exit 0 "b disputes it" amp b dispute lowered.example.org --category phishing --reason "cleaned, see the ticket"
check "the dispute reaches a" wait_until 10 n_disputes a lowered.example.org open 1
expect_exit 0 "a lowers its confidence to 30" amp a submit lowered.example.org --category phishing --confidence 30 --ttl 1d
confidence_refused() { test "$(reject_count b a confidence)" = 1; }
check "b refuses the amendment (import.min_confidence 50)" wait_until 10 confidence_refused
check "... and no longer holds the 90 live" wait_until 10 not has b lowered.example.org
check "b's audit: the 90 set aside, superseded, by the rule" grep -q \
	'"event":"set_aside","domain":"lowered.example.org".*"neighbour":"a","rule":"confidence","detail":"superseded by its origin.s version of [-0-9T:Z]* (confidence 30, tlp green), which the import policy for a refuses' \
	<<<"$(amp b --json audit lowered.example.org)"
check "... in words" grep -q "note: superseded by its origin's version" <<<"$(amp b audit lowered.example.org)"
check "b still shows the dispute open, for the origin to answer" n_disputes b lowered.example.org open 1
expect_exit 0 "a raises it to 85 again" amp a submit lowered.example.org --category phishing --confidence 85 --ttl 1d
at85() { amp b --json query lowered.example.org | grep -q '"confidence":85'; }
check "b takes it: live again, at 85" wait_until 10 at85

# the answer goes back the way its dispute came, whatever the sharing
# policy says since: a narrows what it shares with b to clear after b got
# the green flag and disputed it; a's answer must still reach the filer
amp a submit narrowed.example.org --category phishing --confidence 80 --ttl 1d >/dev/null
check "b holds narrowed.example.org" wait_until 10 has b narrowed.example.org
expect_exit 0 "b disputes it for the owner" amp b dispute narrowed.example.org --category phishing \
	--reason "site cleaned, see the host's ticket" --on-behalf-of "Shop owner"
check "the dispute reaches a" wait_until 10 n_disputes a narrowed.example.org open 1
sed -i 's/^\[neighbour b\]$/[neighbour b]\nexport.max_tlp = clear/' "$T_ROOT/a/amesh.conf"
n=$(grep -c "SIGHUP: reloaded" "$T_ROOT/a/ameshd.log")
signal a HUP
check "a reloads with b narrowed to clear" wait_until 10 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/a/ameshd.log') -gt $n ]"
nid=$(amp a --json disputes | grep '"domain":"narrowed.example.org"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 0 "a upholds it" amp a dispute answer "$nid" uphold --reason "still serving a kit, case 9"
check "the uphold reaches the filer b" wait_until 10 n_disputes b narrowed.example.org upheld 1
expect_exit 0 "a answers withdraw after all" amp a dispute answer "$nid" withdraw --reason "confirmed cleaned"
check "the withdraw answer reaches b" wait_until 10 n_disputes b narrowed.example.org withdrawn 1
check "... and so does the withdrawal" wait_until 10 not has b narrowed.example.org

# the 90 set aside at b must not come back from c's log (clear: a shares only
# that with b since the narrowing above): a amends 90 -> 30,
# b refuses the 30 and sets its 90 (held through a) aside; c still holds
# the 90 (a holds the 30 back from c). A reload at b that widens c makes b
# read c's log again, which offers that 90.
amp a submit revived.example.org --category phishing --confidence 90 --ttl 1d --tlp clear >/dev/null
check "b holds revived.example.org" wait_until 10 has b revived.example.org
check "c holds it" wait_until 10 has c revived.example.org
expect_exit 0 "a lowers it to 30" amp a submit revived.example.org --category phishing --confidence 30 --ttl 1d --tlp clear
check "b sets its 90 aside" wait_until 10 not has b revived.example.org
c90() { amp c --json query revived.example.org | grep -q '"confidence":90'; }
check "c still holds the 90 (a held the 30 back from it)" c90
amp c submit c-phish.example.org --category phishing --confidence 70 --ttl 1d >/dev/null
settle b c
check "b refuses c's phishing (import.categories spam)" not has b c-phish.example.org
last_line "$T_ROOT/b/amesh.conf" "import.categories = spam" "import.categories = all"
n=$(grep -c "SIGHUP: reloaded" "$T_ROOT/b/ameshd.log")
signal b HUP
check "b reloads with c widened" wait_until 10 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/b/ameshd.log') -gt $n ]"
check "b reads c's log again: c's phishing is taken" wait_until 10 has b c-phish.example.org
settle b c
check "... but not the 90 its origin superseded" not has b revived.example.org
check "b's audit: no second accepted 90 (from c)" not grep -q '"event":"accepted","domain":"revived.example.org".*"neighbour":"c"' <<<"$(amp b --json audit revived.example.org)"
expect_exit 0 "a raises it to 85" amp a submit revived.example.org --category phishing --confidence 85 --ttl 1d --tlp clear
at85r() { amp b --json query revived.example.org | grep -q '"confidence":85'; }
check "b takes the 85: a newer version still replaces it" wait_until 10 at85r
finish

#!/usr/bin/env bash
# sightings.sh - RPZ hits measured and reported (issue 14). Three peers in a
# line, a (origin) - b - c: a's indicators reach c, whose zone real Unbound
# 1.17 and BIND 9.18 resolvers take; they block names for a client and log
# it; `amesh sightings import' at c turns their logs (and a log written for
# the test, with malformed lines) into counts per indicator and UTC day,
# signed by c. The report travels toward a through b only where
# export.sightings allows it, and no client address from the logs reaches
# any peer's store, audit trail or log.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resolvers.sh"

DNS=$(port_of 5) ROOT=$(port_of 6) UB=$(port_of 7) BIND=$(port_of 8)
ZONE=rpz.amesh.test
CLIENT=127.45.67.89 # the client address the resolvers log: it must go nowhere
setup() { "$@" || { fail "setup: $*"; finish; exit 1; }; }

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2; link c b 2
trust a c origin; trust c a origin
# c sends its reports on to b; b does not pass them to a (yet)
sed -i "/^\[neighbour b\]/a export.sightings = yes" "$T_ROOT/c/amesh.conf"
sed -i "s|^# dns_listen = .*|dns_listen = 127.0.0.1:$DNS|" "$T_ROOT/c/amesh.conf"
cat >>"$T_ROOT/c/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing, malware
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$UB, 127.0.0.1:$BIND
CONF
check "export.sightings is a known option" sh -c "'$AMESHD' -c '$T_ROOT/c/amesh.conf' --check >/dev/null"
setup start a; setup start b; setup start c
setup start_root "$T_ROOT/root" "$ROOT"
# Unbound with rpz-log-name and log-local-actions (unbound-sightings.conf.in)
mkdir -p "$T_ROOT/unbound"
render unbound-sightings.conf.in "$T_ROOT/unbound/unbound.conf" DIR="$T_ROOT/unbound" PORT="$UB" AUTH="$ROOT" PRIMARY="$DNS" ZONE="$ZONE"
setup unbound-checkconf "$T_ROOT/unbound/unbound.conf" >/dev/null
start_bg unbound "$T_ROOT/unbound" unbound -d -c "$T_ROOT/unbound/unbound.conf"
# BIND as in rpz_resolvers.sh, answering any loopback client
mkdir -p "$T_ROOT/bind"
render named-resolver.conf.in "$T_ROOT/bind/named.conf" DIR="$T_ROOT/bind" PORT="$BIND" AUTH="$ROOT" PRIMARY="$DNS" \
	ZONE="$ZONE" ZONE2=unused.amesh.test KEYNAME=k SECRET="$(head -c 32 /dev/urandom | base64)"
sed -i 's|allow-query { 127.0.0.1; };|allow-query { 127.0.0.0/8; };|' "$T_ROOT/bind/named.conf"
setup named-checkconf "$T_ROOT/bind/named.conf"
start_bg named "$T_ROOT/bind" named -g -c "$T_ROOT/bind/named.conf"

amp a submit evil.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
amp a submit local-block.example --category malware --confidence 90 --ttl 1d >/dev/null
check "a's indicators reach c through b" wait_until 20 has c local-block.example
both() { answers "$UB" "$1" "$2" && answers "$BIND" "$1" "$2"; }
check "c's zone reached both resolvers" wait_until 20 both evil.example.com NXDOMAIN
# hits from a distinct client address, at both resolvers, on the name and a
# subdomain, and a local-zone block at Unbound
ask() { dig +short +time=2 +tries=1 -b "$CLIENT" @127.0.0.1 -p "$1" "$2" A >/dev/null; }
for _ in 1 2 3; do ask "$UB" evil.example.com; done
for _ in 1 2; do ask "$BIND" evil.example.com; done
ask "$UB" www.evil.example.com; ask "$BIND" www.evil.example.com
ask "$UB" x.local-block.example
ask "$UB" clean.example.org # resolved, no hit
check "unbound logged its rpz hits for the client" wait_until 5 sh -c "[ \$(grep -c 'rpz: applied \[abuse\] .* $CLIENT@' '$T_ROOT/unbound/unbound.log') -ge 4 ]"
check "... and the local-zone block" wait_until 5 grep -q "local-block.example. always_nxdomain $CLIENT@" "$T_ROOT/unbound/unbound.log"
check "bind logged its rpz hits for the client" wait_until 5 sh -c "[ \$(grep -c '$CLIENT#.*rpz QNAME NXDOMAIN rewrite' '$T_ROOT/bind/named.log') -ge 3 ]"
cp "$T_ROOT/unbound/unbound.log" "$T_ROOT/ub.log"; cp "$T_ROOT/bind/named.log" "$T_ROOT/bind.log"

# what the resolvers logged (the probes above hit too) is what must be counted
n_ub=$(grep -c "rpz: applied" "$T_ROOT/ub.log"); n_local=$(grep -c "always_nxdomain" "$T_ROOT/ub.log")
n_bind=$(grep -c "rpz QNAME NXDOMAIN rewrite" "$T_ROOT/bind.log")
expect_exit 0 "import the unbound log at c" amp c sightings import --format unbound "$T_ROOT/ub.log"
check "... $n_ub rpz + $n_local local hits read" grep -q "$((n_ub + n_local)) hits, 0 malformed" <<<"$T_OUT"
expect_exit 0 "import the bind log from a pipe" sh -c "cat '$T_ROOT/bind.log' | '$AMESH' -s '$T_ROOT/c/run/amesh.sock' sightings import -"
check "... $n_bind hits read" grep -q "$n_bind hits, 0 malformed" <<<"$T_OUT"
# hits P NAME [REPORTER]: the count P holds for NAME (by REPORTER)
hits() {
	amp "$1" --json sightings "$2" | tr '{' '\n' | grep "\"reporter_name\":\"${3:-c}\"" |
		grep -o '"count":[0-9]*' | head -1 | cut -d: -f2
}
want=$((n_ub + n_bind))
check "c: every exact and wildcard hit of both resolvers, $want, today" [ "$(hits c evil.example.com)" = "$want" ]
check "c: local-block.example: 1 (a local-zone action)" [ "$(hits c local-block.example)" = 1 ]
out=$(amp c sightings)
check "the text view says the day, name, category, count and origin" \
	grep -q "^$(date -u +%F)  evil.example.com  phishing  hits=$want  origin=a  reporter=c (this peer)" <<<"$out"
expect_exit 1 "a name without sightings exits 1" amp c sightings clean.example.org

# a log written for the test: real-format lines, some malformed
now=$(date +%s) stamp=$(date +%d-%b-%Y\ %H:%M:%S)
{
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-nxdomain 192.0.2.201@4242 evil.example.com. A IN"
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-bogus 192.0.2.202@4242 evil.example.com. A IN"
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-passthru 192.0.2.203@4242 evil.example.com. A IN"
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-nxdomain 192.0.2.204 evil.example.com. A IN"
	echo "$stamp.001 client @0x1 192.0.2.205#53 (a.evil.example.com): rpz QNAME NXDOMAIN rewrite a.evil.example.com/A/IN via a.evil.example.com.$ZONE"
	echo "$stamp.001 client @0x1 192.0.2.206#53 (x): rpz QNAME NXDOMAIN rewrite x/A/IN"
	head -c 5000 /dev/zero | tr '\0' 'x'; echo
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] nothing.example.net. rpz-nxdomain 192.0.2.207@1 nothing.example.net. A IN"
} >"$T_ROOT/fixture.log"
expect_exit 0 "import a log with malformed lines" amp c sightings import "$T_ROOT/fixture.log"
check "... each malformed line with file:line and why (2)" grep -q "fixture.log:2: unknown rpz action: \`rpz-bogus'" <<<"$T_ERR"
check "... (4)" grep -q "fixture.log:4: expected the client as ADDRESS@PORT" <<<"$T_ERR"
check "... (6)" grep -q "fixture.log:6: no \` via NAME'" <<<"$T_ERR"
check "... (7) a line over the cap" grep -q "fixture.log:7: line over 4096 bytes" <<<"$T_ERR"
check "... the summary counts them" grep -q "8 lines: 3 hits, 4 malformed, 1 other" <<<"$T_OUT"
check "... a hit on no live indicator is named" grep -q "no live indicator: nothing.example.net" <<<"$T_OUT"
want=$((want + 2))
check "the fixture's 2 hits were added ($want)" [ "$(hits c evil.example.com)" = "$want" ]
expect_exit 2 "a missing file" amp c sightings import "$T_ROOT/nosuch.log"
check "... says which" grep -q "cannot open .*nosuch.log" <<<"$T_ERR"
expect_exit 2 "an unknown --format" amp c sightings import --format knot "$T_ROOT/ub.log"

# a log pipe that stays open: counts are handed over while it runs
mkfifo "$T_ROOT/pipe"
"$AMESH" -s "$T_ROOT/c/run/amesh.sock" sightings import --flush-every 1 - <"$T_ROOT/pipe" >"$T_ROOT/pipe.out" 2>&1 &
pipe_pid=$!
exec 7>"$T_ROOT/pipe"
line="[$(date +%s)] unbound[1:0] info: rpz: applied [abuse] local-block.example. rpz-nxdomain 192.0.2.208@1 local-block.example. A IN"
echo "$line" >&7; sleep 1.2; echo "$line" >&7
local3() { [ "$(hits c local-block.example)" = 3 ]; }
check "from a pipe still open, the counts are handed over (1 + 2)" wait_until 5 local3
exec 7>&-
wait "$pipe_pid"
check "... and the pipe's end says what it read" grep -q "<stdin>: 2 lines: 2 hits" "$T_ROOT/pipe.out"

# the mesh: c's signed report reaches b (c -> b: export.sightings = yes) ...
amp_b() { [ "$(hits b evil.example.com)" = "$want" ]; }
check "b holds c's report with c's count" wait_until 10 amp_b
check "... and says it came from c" sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' sightings evil.example.com | grep -q 'reporter=c via c'"
# ... but not a: b's policy toward a says no
settle a b c
expect_exit 1 "a has no sightings while b's export.sightings = no" amp a sightings evil.example.com
# b's operator lets them through: a reload is enough
sed -i "/^\[neighbour a\]/a export.sightings = yes" "$T_ROOT/b/amesh.conf"
signal b HUP
amp_a() { [ "$(hits a evil.example.com)" = "$1" ]; }
check "after b allows it: a (the origin) has c's count, $want" wait_until 15 amp_a "$want"
out=$(amp a sightings evil.example.com)
check "a sees who reported it and through whom" grep -q "hits=$want  origin=a  reporter=c via b" <<<"$out"
check "a sees the local-zone hit too" wait_until 5 sh -c "[ \"\$('$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json sightings local-block.example | grep -o '\"count\":[0-9]*')\" = '\"count\":3' ]"
# a new total at c replaces the old one all the way (never counted twice)
amp c sightings import "$T_ROOT/fixture.log" >/dev/null 2>&1
want=$((want + 2))
check "a new import at c: a has the new total, $want" wait_until 15 amp_a "$want"
# ameshd follows a hit log itself ([peer] sightings_log): from its end, across rotation
stop c
sed -i "s|^# sightings_log = .*|sightings_log = $T_ROOT/follow.log|" "$T_ROOT/c/amesh.conf"
echo "[$(date +%s)] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-nxdomain 192.0.2.209@1 evil.example.com. A IN" >"$T_ROOT/follow.log"
setup start c
sleep 1.2 # the follower has opened it, at its end: the line above is history
grep "rpz: applied" "$T_ROOT/ub.log" >>"$T_ROOT/follow.log"
want=$((want + n_ub))
c_has() { [ "$(hits c evil.example.com)" = "$1" ]; }
check "c's daemon counted the lines added to its sightings_log ($n_ub), not the older one" wait_until 15 c_has "$want"
mv "$T_ROOT/follow.log" "$T_ROOT/follow.log.1"
grep "rpz: applied" "$T_ROOT/ub.log" | head -2 >"$T_ROOT/follow.log"
want=$((want + 2))
check "after rotation, the new file from its start (2)" wait_until 15 c_has "$want"
check "... and on to a" wait_until 15 amp_a "$want"
amp a submit quiet.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
rep=$(amp a --json report)
check "a's report: the hits in the period, all reported by c ($want + 3)" grep -q "\"sightings\":{[^}]*\"hits\":$((want + 3))" <<<"$rep"
check "... none seen here" grep -q '"hits_here":0' <<<"$rep"
check "... by origin and category" grep -q "\"sightings_by_origin\":{[^}]*\"self phishing\":$want" <<<"$rep"
check "... and the one indicator of a's never hit" grep -q '"own_live_never_hit":1' <<<"$rep"
check "the text report has the section" sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' report | grep -qi 'sightings'"
check "a refused no report" [ -z "$(amp a --json peers | grep -o '"sighting_[a-z]*":[1-9]')" ]

# `amesh query' shows each signal's hits: c's resolvers saw them (here), a was told (reported)
# qhits P NAME: "HERE REPORTED" of the first signal in P's --json query of NAME
qhits() {
	amp "$1" --json query "$2" | python3 -c 'import json,sys; s=json.loads(sys.stdin.read())["signals"][0]; print(s["hits_here"], s["hits_reported"])'
}
check "query at c (the reporter), --json: $want here, 0 reported" [ "$(qhits c evil.example.com)" = "$want 0" ]
check "... text: a hits line under the signal" grep -q "^    hits: $want here, 0 reported (30 days)$" <<<"$(amp c query evil.example.com)"
check "query at a (the origin), --json: 0 here, $want reported" [ "$(qhits a evil.example.com)" = "0 $want" ]
check "... text" grep -q "^    hits: 0 here, $want reported (30 days)$" <<<"$(amp a query evil.example.com)"
check "a subdomain's query shows its parent signal's hits" [ "$(qhits a www.evil.example.com)" = "0 $want" ]
check "both names in one request: each signal its own hits" sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' query evil.example.com local-block.example | grep -c '^    hits: 0 here, [1-9][0-9]* reported' | grep -qx 2"
check "a name never hit: 0 and 0 in --json" [ "$(qhits a quiet.example.com)" = "0 0" ]
out=$(amp a query quiet.example.com)
check "... a signal but no hits line in text" sh -c "grep -q 'quiet.example.com  phishing' && ! grep -q 'hits:'" <<<"$out"

# a reload that changes a zone's categories attributes the next hits by
# the new ones, at once: imports and the daemon's own follower read the
# start config's zones until this was found
sed -i "s|^categories = phishing, malware|categories = malware|" "$T_ROOT/c/amesh.conf"
expect_exit 0 "c reloads [rpz abuse] as malware only" amp c reload
line() { echo "[$(date +%s)] unbound[1:0] info: rpz: applied [abuse] $1. rpz-nxdomain 192.0.2.20$2@1 $1. A IN"; }
line evil.example.com 1 >"$T_ROOT/malware-only.log"
expect_exit 0 "import a hit on evil.example.com (phishing) in the zone now malware only" \
	amp c sightings import "$T_ROOT/malware-only.log"
check "... is on no live indicator of the zone's categories" grep -q "no live indicator: evil.example.com" <<<"$T_OUT"
check "... and not counted ($want)" [ "$(hits c evil.example.com)" = "$want" ]
n_local=$(hits c local-block.example)
{ line evil.example.com 2; line local-block.example 3; } >>"$T_ROOT/follow.log"
local_more() { [ "$(hits c local-block.example)" = "$((n_local + 1))" ]; }
check "the follower counts the malware hit" wait_until 15 local_more
check "... but not the phishing one read with it ($want)" [ "$(hits c evil.example.com)" = "$want" ]

# no client address anywhere any peer writes: stores, audit trails, logs
for p in a b c; do
	check "the resolvers' client address is nowhere in $p's directory" not grep -rqa "$CLIENT" "$T_ROOT/$p"
	check "nor the fixture's, in $p's" not grep -rqaE "192\.0\.2\.20[0-9]" "$T_ROOT/$p"
done
check "a's store holds c's signed report" grep -rqa "AMESH-SIGHTING\|@sight:" "$T_ROOT/a"

finish

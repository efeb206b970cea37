#!/usr/bin/env bash
# sightings.sh - RPZ hits measured (issue 14): real Unbound 1.17 and BIND
# 9.18 resolvers block names from peer a's zone and log it; `amesh
# sightings import' turns their logs (and a log written for the test, with
# malformed lines) into counts per indicator and UTC day, and no client
# address from the logs reaches the store, the audit trail or the daemon's
# log.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resolvers.sh"

DNS=$(port_of 5) ROOT=$(port_of 6) UB=$(port_of 7) BIND=$(port_of 8)
ZONE=rpz.amesh.test
CLIENT=127.45.67.89 # the client address the resolvers log: it must go nowhere
setup() { "$@" || { fail "setup: $*"; finish; exit 1; }; }

mk_peer a 1
sed -i "s|^# dns_listen = .*|dns_listen = 127.0.0.1:$DNS|" "$T_ROOT/a/amesh.conf"
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing, malware
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$UB, 127.0.0.1:$BIND
CONF
setup start a
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
both() { answers "$UB" "$1" "$2" && answers "$BIND" "$1" "$2"; }
check "the zone reached both resolvers" wait_until 20 both evil.example.com NXDOMAIN
# hits from a distinct client address: 3 at Unbound and 2 at BIND on the
# name, 1 + 1 on a subdomain, and a local-zone block at Unbound
ask() { dig +short +time=2 +tries=1 -b "$CLIENT" @127.0.0.1 -p "$1" "$2" A >/dev/null; }
for _ in 1 2 3; do ask "$UB" evil.example.com; done
for _ in 1 2; do ask "$BIND" evil.example.com; done
ask "$UB" www.evil.example.com; ask "$BIND" www.evil.example.com
ask "$UB" x.local-block.example
ask "$UB" clean.example.org # resolved, no hit
ub_lines() { grep -c "rpz: applied" "$T_ROOT/unbound/unbound.log"; }
bind_lines() { grep -c "rpz QNAME" "$T_ROOT/bind/named.log"; }
check "unbound logged its 4 rpz hits" wait_until 5 sh -c "[ \$(grep -c 'rpz: applied \[abuse\]' '$T_ROOT/unbound/unbound.log') -ge 4 ]"
check "... and the local-zone block" grep -q "local-block.example. always_nxdomain $CLIENT@" "$T_ROOT/unbound/unbound.log"
check "bind logged its 3 rpz hits" wait_until 5 sh -c "[ \$(grep -c 'rpz QNAME NXDOMAIN rewrite' '$T_ROOT/bind/named.log') -ge 3 ]"
check "the logs do carry the client address" grep -q "$CLIENT" "$T_ROOT/unbound/unbound.log"
cp "$T_ROOT/unbound/unbound.log" "$T_ROOT/ub.log"; cp "$T_ROOT/bind/named.log" "$T_ROOT/bind.log"

# what the resolvers logged (the probes above hit too) is what must be counted
n_ub=$(grep -c "rpz: applied" "$T_ROOT/ub.log"); n_local=$(grep -c "always_nxdomain" "$T_ROOT/ub.log")
n_bind=$(grep -c "rpz QNAME NXDOMAIN rewrite" "$T_ROOT/bind.log")
expect_exit 0 "import the unbound log" amp a sightings import --format unbound "$T_ROOT/ub.log"
check "... $n_ub rpz + $n_local local hits read" grep -q "$((n_ub + n_local)) hits, 0 malformed" <<<"$T_OUT"
expect_exit 0 "import the bind log from a pipe" sh -c "cat '$T_ROOT/bind.log' | '$AMESH' -s '$T_ROOT/a/run/amesh.sock' sightings import -"
check "... $n_bind hits read" grep -q "$n_bind hits, 0 malformed" <<<"$T_OUT"
hits() { amp a --json sightings "$1" | grep -o '"count":[0-9]*' | head -1 | cut -d: -f2; }
want=$((n_ub + n_bind))
check "evil.example.com: every exact and wildcard hit of both, $want, today" [ "$(hits evil.example.com)" = "$want" ]
check "local-block.example: 1 (a local-zone action)" [ "$(hits local-block.example)" = 1 ]
out=$(amp a sightings)
check "the text view says the day, name, category and count" grep -q "^$(date -u +%F)  evil.example.com  phishing  hits=$want  origin=a  reporter=a (this peer)" <<<"$out"
expect_exit 1 "a name without sightings exits 1" amp a sightings clean.example.org

# a log written for the test: real-format lines, some malformed
now=$(date +%s)
{
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-nxdomain 192.0.2.201@4242 evil.example.com. A IN"
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-bogus 192.0.2.202@4242 evil.example.com. A IN"
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-passthru 192.0.2.203@4242 evil.example.com. A IN"
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] evil.example.com. rpz-nxdomain 192.0.2.204 evil.example.com. A IN"
	echo "$(date -u +%d-%b-%Y\ %H:%M:%S).001 client @0x1 192.0.2.205#53 (a.evil.example.com): rpz QNAME NXDOMAIN rewrite a.evil.example.com/A/IN via a.evil.example.com.$ZONE"
	echo "$(date -u +%d-%b-%Y\ %H:%M:%S).001 client @0x1 192.0.2.206#53 (x): rpz QNAME NXDOMAIN rewrite x/A/IN"
	head -c 5000 /dev/zero | tr '\0' 'x'; echo
	echo "[$now] unbound[1:0] info: rpz: applied [abuse] nothing.example.net. rpz-nxdomain 192.0.2.207@1 nothing.example.net. A IN"
} >"$T_ROOT/fixture.log"
expect_exit 0 "import a log with malformed lines" amp a sightings import "$T_ROOT/fixture.log"
check "... each malformed line with file:line and why (2)" grep -q "fixture.log:2: unknown rpz action: \`rpz-bogus'" <<<"$T_ERR"
check "... (4)" grep -q "fixture.log:4: expected the client as ADDRESS@PORT" <<<"$T_ERR"
check "... (6)" grep -q "fixture.log:6: no \` via NAME'" <<<"$T_ERR"
check "... (7) a line over the cap" grep -q "fixture.log:7: line over 4096 bytes" <<<"$T_ERR"
check "... the summary counts them" grep -q "8 lines: 3 hits, 4 malformed, 1 other" <<<"$T_OUT"
check "... a hit on no live indicator is named" grep -q "no live indicator: nothing.example.net" <<<"$T_OUT"
check "the fixture's 2 hits were added" [ "$(hits evil.example.com)" = $((want + 2)) ]
out=$(amp a --json sightings import "$T_ROOT/fixture.log" 2>/dev/null)
check "--json import summary" grep -q '"hits":3,"malformed":4' <<<"$out"
expect_exit 2 "a missing file" amp a sightings import "$T_ROOT/nosuch.log"
check "... says which" grep -q "cannot open .*nosuch.log" <<<"$T_ERR"
expect_exit 2 "an unknown --format" amp a sightings import --format knot "$T_ROOT/ub.log"

# no client address anywhere the peer writes: store, audit trail, logs, config
check "the resolvers' client address is nowhere in a's directory" not grep -rqa "$CLIENT" "$T_ROOT/a"
check "nor the fixture's" not grep -rqaE "192\.0\.2\.20[1-7]" "$T_ROOT/a"
check "the store holds a's signed report" grep -rqa "@sight:" "$T_ROOT/a"

finish

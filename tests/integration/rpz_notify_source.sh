#!/usr/bin/env bash
# rpz_notify_source.sh - NOTIFYs from a peer whose dns_listen is a wildcard
# (0.0.0.0) reach real BIND 9.18 and Unbound 1.17 that have the peer's
# specific address (127.0.0.3) as their primary: they take a NOTIFY from
# that address alone. The kernel picks 127.0.0.1 for a loopback target, so
# every NOTIFY was REFUSED and the zone followed only at the secondaries'
# refresh timers (BIND: 300 s at least). Now a NOTIFY leaves from the zone's
# notify_source, else from the address the secondary last transferred from
# us through; --check and the log warn when neither can be known.
set -uo pipefail
AMESHD=$1 AMESH=$2
R_PRIMARY_ADDR=127.0.0.3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resolvers.sh"

DNS=$(port_of 5) ROOT=$(port_of 6) UB=$(port_of 7) BIND=$(port_of 8)
ZONE=rpz.amesh.test ZONE2=signed.amesh.test KEY=amesh-xfr
SECRET=$(head -c 32 /dev/urandom | base64)
BOUND=8 # seconds; the secondaries' own timers are an hour (BIND: 300 s floor)

mk_peer a 1
sed -i "s|^# dns_listen = .*|dns_listen = 0.0.0.0:$DNS|" "$T_ROOT/a/amesh.conf"
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$UB, 127.0.0.1:$BIND
refresh = 3600
retry = 3600

[rpz signed]
zone = $ZONE2
categories = malware
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$BIND
notify_source = 127.0.0.3
tsig = $KEY hmac-sha256 $SECRET
refresh = 3600
retry = 3600
CONF
chmod 600 "$T_ROOT/a/amesh.conf"

# bad input: each a clear error, quoting it
bad_source() {
	local v=$1 want=$2
	sed "s|^notify_source = .*|notify_source = $v|" "$T_ROOT/a/amesh.conf" >"$T_ROOT/a/bad.conf"
	chmod 600 "$T_ROOT/a/bad.conf"
	expect_exit 1 "--check: notify_source = $v is refused" "$AMESHD" -c "$T_ROOT/a/bad.conf" --check
	check "... saying why ($want)" grep -q -- "$want" <<<"$T_ERR"
}
bad_source "127.0.0.3:53" "notify_source: \`127.0.0.3:53' has a port"
bad_source "localhost" "notify_source: \`localhost' is not an IPv4 or IPv6 address"
bad_source "127.0.0.3, 127.0.0.4" "one address per family (127.0.0.3 is already the IPv4 source)"
bad_source "0.0.0.0" "\`0.0.0.0': a NOTIFY needs one address of this host"
bad_source "::1" "notify_source \`::1': no dns_listen address is IPv6"
sed "s|^dns_listen = .*|dns_listen = 127.0.0.4:$DNS|" "$T_ROOT/a/amesh.conf" >"$T_ROOT/a/bad.conf"
chmod 600 "$T_ROOT/a/bad.conf"
expect_exit 1 "--check: a notify_source that is not a specific dns_listen address is refused" \
	"$AMESHD" -c "$T_ROOT/a/bad.conf" --check
check "... naming both" grep -q "notify_source \`127.0.0.3' is none of dns_listen's addresses (\`127.0.0.4:$DNS')" <<<"$T_ERR"
sed "s|^notify_source = .*|notify_source = 192.0.2.53|" "$T_ROOT/a/amesh.conf" >"$T_ROOT/a/bad.conf"
chmod 600 "$T_ROOT/a/bad.conf"
mkdir -p "$T_ROOT/bad"
sed -i "s|^\[peer\]\$|[peer]\ndata_dir = $T_ROOT/bad|" "$T_ROOT/a/bad.conf"
expect_exit 1 "an address not of this host: the start fails" timeout 10 "$AMESHD" -c "$T_ROOT/a/bad.conf"
check "... saying so" grep -q "notify_source \`192.0.2.53': no NOTIFY can leave from it" <<<"$T_ERR$T_OUT"
rm -f "$T_ROOT/a/bad.conf"
sed "s|^notify = 127.0.0.1:$BIND\$|notify = 127.0.0.9:$BIND|" "$T_ROOT/a/amesh.conf" >"$T_ROOT/a/bad.conf"
chmod 600 "$T_ROOT/a/bad.conf"
expect_exit 0 "--check: a notify target outside allow_transfer: valid" "$AMESHD" -c "$T_ROOT/a/bad.conf" --check
check "... with a warning that it will be refused" \
	grep -q "warning: \[rpz signed\] notify target \`127.0.0.9:$BIND' is outside its allow_transfer: it is told of each change and refused" <<<"$T_ERR"
rm -f "$T_ROOT/a/bad.conf"
expect_exit 0 "--check of the wildcard config: valid" "$AMESHD" -c "$T_ROOT/a/amesh.conf" --check
check "... with a warning: [rpz abuse] has no notify_source for the wildcard" \
	grep -q "warning: \[rpz abuse\] notifies 127.0.0.1:$UB, but dns_listen \`0.0.0.0:$DNS' is a wildcard.*set notify_source" <<<"$T_ERR"

setup() { "$@" || { fail "setup: $*"; finish; exit 1; }; }
setup start a
amp a submit bad.example.net --category malware --confidence 90 --ttl 1d >/dev/null
setup start_root "$T_ROOT/root" "$ROOT"
setup start_unbound "$T_ROOT/unbound" "$UB" "$ROOT" "$DNS" "$ZONE"
mkdir -p "$T_ROOT/bind"
render named-resolver.conf.in "$T_ROOT/bind/named.conf" DIR="$T_ROOT/bind" PORT="$BIND" AUTH="$ROOT" PRIMARY="$DNS" \
	ZONE="$ZONE" ZONE2="$ZONE2" KEYNAME="$KEY" SECRET="$SECRET"
sed -i '/min-refresh-time\|min-retry-time/d' "$T_ROOT/bind/named.conf"
setup named-checkconf "$T_ROOT/bind/named.conf"
start_bg named "$T_ROOT/bind" named -g -c "$T_ROOT/bind/named.conf"

row() { amp a --json rpz | grep "\"zone\":\"$1\"" | grep -o "{[^{}]*\"address\":\"$2\"[^{}]*}" | head -1; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
serial() { amp a --json rpz | grep "\"zone\":\"$1\"" | head -1 | field serial; }
both() { answers "$UB" "$1" "$2" && answers "$BIND" "$1" "$2"; }
# both transferred the abuse zone from 127.0.0.3 (they connect from 127.0.0.1)
two_axfrs() { [ "$(row $ZONE 127.0.0.1 | field axfrs)" -ge 2 ] 2>/dev/null; }
check "both secondaries transferred the zone through 127.0.0.3" wait_until 15 two_axfrs
check "bind has the signed zone" wait_until 10 answers "$BIND" bad.example.net NXDOMAIN

# 1. learned: NOTIFYs leave from where the secondaries transferred from
t=$(date +%s%N)
amp a submit evil.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "a change -> NXDOMAIN at both within ${BOUND}s (NOTIFY from 127.0.0.3, taken)" wait_until $BOUND both evil.example.com NXDOMAIN
echo "# submit -> NXDOMAIN at both: $(( ($(date +%s%N) - t) / 1000000 )) ms"
answered() { local r; r=$(row "$1" "$2"); [ "$(field notify_serial <<<"$r")" = "$(serial "$1")" ] && [ "$(field notify_rcode <<<"$r")" = 0 ]; }
both_answered() { answered $ZONE "127.0.0.1:$UB" && answered $ZONE "127.0.0.1:$BIND"; }
check "... both NOTIFYs answered NOERROR" wait_until 5 both_answered
check "... bind logged the NOTIFY from 127.0.0.3" grep -q "notify from 127.0.0.3#.*serial $(serial $ZONE)" "$T_ROOT/bind/named.log"
check "... amesh rpz --json names the source (learned)" [ "$(row $ZONE "127.0.0.1:$BIND" | field notify_from)" = 127.0.0.3 ]

# 2. notify_source: a restart forgets what it learned; the signed zone's
# NOTIFY still leaves from 127.0.0.3, the abuse zone's from the kernel's
# pick (127.0.0.1), REFUSED, as the start's warning said
stop a
setup start a
check "the start warns of the zone without notify_source" grep -q "warning: \[rpz abuse\] notifies .* is a wildcard" "$T_ROOT/a/ameshd.log"
check "after a restart: the signed zone's announcement answered NOERROR (notify_source)" wait_until 10 answered $ZONE2 "127.0.0.1:$BIND"
refused_notify() { [ "$(row $ZONE "127.0.0.1:$BIND" | field notify_rcode)" = 5 ]; }
check "... the abuse zone's REFUSED by bind (from the kernel's pick, nothing learned yet)" wait_until 10 refused_notify
check "... bind says why" grep -q "refused notify from non-primary: 127.0.0.1#" "$T_ROOT/bind/named.log"
check "... amesh rpz says it left from the kernel's choice" \
	sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' rpz | grep -A6 '^  127.0.0.1:$BIND\$' | grep -q \"NOTIFY from     the kernel's choice (no notify_source)\""
check "... the signed zone's from its notify_source" [ "$(row $ZONE2 "127.0.0.1:$BIND" | field notify_from)" = 127.0.0.3 ]
t=$(date +%s%N)
amp a submit evil2.example.net --category malware --confidence 90 --ttl 1d >/dev/null
check "a change in the signed zone -> NXDOMAIN at bind within ${BOUND}s" wait_until $BOUND answers "$BIND" evil2.example.net NXDOMAIN
echo "# submit -> NXDOMAIN at bind (notify_source): $(( ($(date +%s%N) - t) / 1000000 )) ms"

# 3. the fix by reload: notify_source for the abuse zone -> the current
# serial announced again at once, from it, and taken
sed -i "/^zone = $ZONE\$/a notify_source = 127.0.0.3" "$T_ROOT/a/amesh.conf"
signal a HUP
both_answered() { answered $ZONE "127.0.0.1:$UB" && answered $ZONE "127.0.0.1:$BIND"; }
check "a reload setting notify_source: both told the current serial again, answered NOERROR" wait_until 5 both_answered
t=$(date +%s%N)
amp a submit evil3.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "... and a change -> NXDOMAIN at both within ${BOUND}s" wait_until $BOUND both evil3.example.com NXDOMAIN
echo "# submit -> NXDOMAIN at both: $(( ($(date +%s%N) - t) / 1000000 )) ms"

amp a --json rpz | sed 's/^/# /'
finish

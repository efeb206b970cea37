#!/usr/bin/env bash
# rpz_reload.sh - a reload (SIGHUP) that changes what a secondary may do is
# in force at the secondaries at once, with real Unbound 1.17 and BIND 9.18
# at their default refresh floors (BIND: min-refresh-time 300 s,
# min-retry-time 500 s) and a zone refresh/retry of an hour: only a NOTIFY
# makes them transfer within seconds.
#
# A changed tsig key or allow_transfer made no new serial and sent no
# NOTIFY: a secondary the fix let in (a wrong secret corrected, its address
# added) stayed empty until its own retry, and one a change shut out (a key
# it lacks) went on unaware, so the mistake surfaced hours later at the
# next change of the rules. Now such a change is a new serial with an
# empty IXFR step, announced at once.
set -uo pipefail
AMESHD=$1 AMESH=$2
P=127.0.0.3 R_PRIMARY_ADDR=127.0.0.3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resolvers.sh"

DNS=$(port_of 5) ROOT=$(port_of 6) UB=$(port_of 7) BIND=$(port_of 8)
ZONE=rpz.amesh.test ZONE2=signed.amesh.test KEY=amesh-xfr
SECRET=$(head -c 32 /dev/urandom | base64) WRONG=$(head -c 32 /dev/urandom | base64)
# BOUND: seconds a secondary may take after the reload (its own timers are
# an hour, BIND's floors 300/500 s)
BOUND=8

mk_peer a 1
sed -i "s|^# dns_listen = .*|dns_listen = $P:$DNS|" "$T_ROOT/a/amesh.conf"
# Unbound queries from 127.0.0.2 (outgoing-interface), BIND from 127.0.0.1:
# a row each in `amesh rpz'. Both are shut out at first: Unbound's address
# is not in allow_transfer, and BIND's key for the signed zone is not ours.
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
tsig = $KEY hmac-sha256 $WRONG
refresh = 3600
retry = 3600
CONF
chmod 600 "$T_ROOT/a/amesh.conf"
setup() { "$@" || { fail "setup: $*"; finish; exit 1; }; }
setup start a
amp a submit evil.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
amp a submit bad.example.net --category malware --confidence 90 --ttl 1d >/dev/null
setup start_root "$T_ROOT/root" "$ROOT"
mkdir -p "$T_ROOT/unbound" "$T_ROOT/bind"
render unbound.conf.in "$T_ROOT/unbound/unbound.conf" DIR="$T_ROOT/unbound" PORT="$UB" AUTH="$ROOT" PRIMARY="$DNS" ZONE="$ZONE"
sed -i "s|^\tinterface: 127.0.0.1\$|\tinterface: 127.0.0.1\n\toutgoing-interface: 127.0.0.2|; s|^\tverbosity: 1|\tverbosity: 2|" \
	"$T_ROOT/unbound/unbound.conf"
setup unbound-checkconf "$T_ROOT/unbound/unbound.conf"
start_bg unbound "$T_ROOT/unbound" unbound -d -c "$T_ROOT/unbound/unbound.conf"
render named-resolver.conf.in "$T_ROOT/bind/named.conf" DIR="$T_ROOT/bind" PORT="$BIND" AUTH="$ROOT" PRIMARY="$DNS" \
	ZONE="$ZONE" ZONE2="$ZONE2" KEYNAME="$KEY" SECRET="$SECRET"
# BIND's own floors, as in production: no transfer but by NOTIFY within the test
sed -i '/min-refresh-time\|min-retry-time/d' "$T_ROOT/bind/named.conf"
setup named-checkconf "$T_ROOT/bind/named.conf"
start_bg named "$T_ROOT/bind" named -g -c "$T_ROOT/bind/named.conf"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# row ZONE ADDRESS: the `amesh rpz --json' row of one secondary
row() { amp a --json rpz | grep "\"zone\":\"$1\"" | grep -o "{[^{}]*\"address\":\"$2\"[^{}]*}" | head -1; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
refused() { row "$1" "$2" | field refused; }
serial() { amp a --json rpz | grep "\"zone\":\"$1\"" | head -1 | field serial; }
was_refused() { [ "$(refused "$1" "$2")" -gt 0 ] 2>/dev/null; }
check "unbound's SOA probe is refused (127.0.0.2 is outside allow_transfer)" wait_until 10 was_refused $ZONE 127.0.0.2
check "bind's signed transfer is refused (the peer holds the wrong secret)" wait_until 10 was_refused $ZONE2 127.0.0.1
check "bind has the unsigned zone" wait_until 10 answers "$BIND" evil.example.com NXDOMAIN
check "unbound has no zone: answers normally" answers "$UB" evil.example.com 192.0.2.1
check "bind has no signed zone: answers normally" answers "$BIND" bad.example.net 192.0.2.1
amp a --json rpz | sed 's/^/# /'

# 1. the fix: Unbound's address added, the right secret; one reload
s_abuse=$(serial $ZONE) s_signed=$(serial $ZONE2) ix_abuse=$(row $ZONE 127.0.0.1 | field ixfrs)
sed -i "s|^allow_transfer = 127.0.0.1\$|allow_transfer = 127.0.0.1, 127.0.0.2|; s|^tsig = .*|tsig = $KEY hmac-sha256 $SECRET|" \
	"$T_ROOT/a/amesh.conf"
t=$(date +%s%N)
signal a HUP
check "reload letting unbound in -> it transfers and blocks within ${BOUND}s" wait_until $BOUND answers "$UB" evil.example.com NXDOMAIN
echo "# reload -> unbound blocks: $(ms "$t") ms"
check "reload fixing the secret -> bind transfers the signed zone within ${BOUND}s" wait_until $BOUND answers "$BIND" bad.example.net NXDOMAIN
echo "# reload -> bind blocks from the signed zone: $(ms "$t") ms"
check "... a new serial for each zone, said in the log" grep -q "rpz signed: tsig or allow_transfer changed: new serial" "$T_ROOT/a/ameshd.log"
check "... the abuse zone's serial grew ($s_abuse -> $(serial $ZONE))" [ "$(serial $ZONE)" -gt "$s_abuse" ]
check "... the signed zone's serial grew ($s_signed -> $(serial $ZONE2))" [ "$(serial $ZONE2)" -gt "$s_signed" ]
# bind held the abuse zone already: the access change reached it as an
# IXFR of no records (a secondary up to date transfers nothing else)
ixfr_at() { local r; r=$(row "$1" "$2"); [ "$(field transfer_serial <<<"$r")" = "$(serial "$1")" ] && [ "$(field transfer <<<"$r")" = IXFR ]; }
# Unbound, let in by the same reload, transfers from 127.0.0.1 too, by
# AXFR (it had no zone): the row's last kind is whichever came last (it
# read AXFR in 1 run of 3 under load), so BIND's step is counted instead
ixfr_step() { local r; r=$(row $ZONE 127.0.0.1); [ "$(field ixfrs <<<"$r")" -gt "${ix_abuse:-0}" ] &&
	[ "$(field transfer_serial <<<"$r")" = "$(serial $ZONE)" ]; }
check "... bind took the abuse zone's new serial by IXFR (an empty step)" wait_until $BOUND ixfr_step
check "... and still blocks from it" answers "$BIND" evil.example.com NXDOMAIN

# 2. a key rotated at the peer, not (yet) at BIND: the refusal shows now,
# not at the next change of the rules hours later
r0=$(refused $ZONE2 127.0.0.1)
NEW=$(head -c 32 /dev/urandom | base64)
sed -i "s|^tsig = .*|tsig = $KEY hmac-sha256 $NEW|" "$T_ROOT/a/amesh.conf"
t=$(date +%s%N)
signal a HUP
more_refused() { [ "$(refused $ZONE2 127.0.0.1)" -gt "$r0" ]; }
check "a key bind lacks -> its refresh is refused within ${BOUND}s, seen in amesh rpz" wait_until $BOUND more_refused
echo "# reload -> bind's refusal in amesh rpz: $(ms "$t") ms ($(row $ZONE2 127.0.0.1 | field refused_why))"
check "... bind keeps serving the zone it has" answers "$BIND" bad.example.net NXDOMAIN
# ... the key removed at the peer while BIND still signs: said as such.
# BIND queues a NOTIFY that arrives while its failed refresh is still in
# progress ("refresh check queued") and runs it only at its retry timer:
# let that refresh end first (two reloads within 100 ms lost the second)
sleep 2
r0=$(refused $ZONE2 127.0.0.1)
sed -i "s|^tsig = .*|tsig =|" "$T_ROOT/a/amesh.conf"
signal a HUP
no_tsig_seen() { more_refused && [ "$(row $ZONE2 127.0.0.1 | field refused_why)" = "TSIG BADKEY: the zone has no tsig" ]; }
check "the key removed, bind still signing -> refused within ${BOUND}s, 'the zone has no tsig'" wait_until $BOUND no_tsig_seen
# ... and back: bind transfers the newest serial by IXFR (once its failed
# refresh has ended, as above)
sleep 2
sed -i "s|^tsig =\$|tsig = $KEY hmac-sha256 $SECRET|" "$T_ROOT/a/amesh.conf"
signal a HUP
check "the key back -> bind is at the newest serial, by IXFR, within ${BOUND}s" wait_until $BOUND ixfr_at $ZONE2 127.0.0.1

# 3. Unbound takes an empty IXFR step too, without falling back to AXFR.
# It probes the SOA from 127.0.0.2 (UDP) but transfers from 127.0.0.1
# (TCP), as BIND does: the 127.0.0.1 row counts both.
s=$(serial $ZONE) r=$(row $ZONE 127.0.0.1)
ax=$(field axfrs <<<"$r") ix=$(field ixfrs <<<"$r")
sed -i "s|^allow_transfer = 127.0.0.1, 127.0.0.2\$|allow_transfer = 127.0.0.1, 127.0.0.2, 127.0.0.8|" "$T_ROOT/a/amesh.conf"
signal a HUP
grew() { [ "$(serial $ZONE)" -gt "$s" ]; }
check "an address added to allow_transfer -> a new serial" wait_until 5 grew
two_ixfrs() { [ "$(row $ZONE 127.0.0.1 | field ixfrs)" -ge $((ix + 2)) ]; }
check "... unbound and bind take it by IXFR within ${BOUND}s" wait_until $BOUND two_ixfrs
check "... at the new serial" ixfr_at $ZONE 127.0.0.1
check "... neither falls back to AXFR" [ "$(row $ZONE 127.0.0.1 | field axfrs)" = "$ax" ]
check "... unbound still blocks" answers "$UB" evil.example.com NXDOMAIN

# 4. no change, or the same set in another order: no new serial
sleep 1
s1=$(serial $ZONE) s2=$(serial $ZONE2) n=$(grep -c "tsig or allow_transfer changed" "$T_ROOT/a/ameshd.log")
signal a HUP
sed -i "s|^allow_transfer = 127.0.0.1, 127.0.0.2, 127.0.0.8\$|allow_transfer = 127.0.0.8/32 127.0.0.2, 127.0.0.1|" "$T_ROOT/a/amesh.conf"
signal a HUP
check "... two reloads applied" wait_until 5 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/a/ameshd.log') -ge 6 ]"
sleep 1
check "a reload with no change, and one reordering allow_transfer: no new serial" \
	[ "$(serial $ZONE) $(serial $ZONE2)" = "$s1 $s2" ]
check "... nothing logged as changed" [ "$(grep -c "tsig or allow_transfer changed" "$T_ROOT/a/ameshd.log")" = "$n" ]

# 5. what the zone answers changed: nxdomain -> nodata, at both at once
sed -i "/^zone = $ZONE\$/a action = nodata" "$T_ROOT/a/amesh.conf"
t=$(date +%s%N)
signal a HUP
both_nodata() { answers "$UB" evil.example.com "?status: NOERROR" && answers "$BIND" evil.example.com "?status: NOERROR"; }
check "action nxdomain -> nodata by reload: NODATA at both within ${BOUND}s" wait_until $BOUND both_nodata
echo "# reload -> nodata at both: $(ms "$t") ms"

amp a --json rpz | sed 's/^/# /'
finish

#!/usr/bin/env bash
# rpz_large.sh - zones of thousands of names served to real BIND 9.18 (with
# TSIG) and Unbound 1.17: the AXFR spans many messages, each verified by
# dig and kdig and by BIND; then a run of separate changes, each its own
# serial, reaches both by IXFR (no fallback to AXFR), and an IXFR from an
# old serial asked by kdig carries every step, signed.
set -uo pipefail
AMESHD=$1 AMESH=$2
P=127.0.0.3 R_PRIMARY_ADDR=127.0.0.3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resolvers.sh"

DNS=$(port_of 5) ROOT=$(port_of 6) UB=$(port_of 7) BIND=$(port_of 8)
ZONE=rpz.amesh.test ZONE2=signed.amesh.test KEY=amesh-xfr
SECRET=$(head -c 32 /dev/urandom | base64)
N=3000 # names per zone
CHANGES=60

mk_peer a 1
sed -i "s|^# dns_listen = .*|dns_listen = $P:$DNS|" "$T_ROOT/a/amesh.conf"
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$UB, 127.0.0.1:$BIND

[rpz signed]
zone = $ZONE2
categories = malware
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$BIND
tsig = $KEY hmac-sha256 $SECRET
CONF
chmod 600 "$T_ROOT/a/amesh.conf"
setup() { "$@" || { fail "setup: $*"; finish; exit 1; }; }
setup start a
seq 1 $N | sed 's/^/p/; s/$/.big-phish.example/' >"$T_ROOT/phish.txt"
seq 1 $N | sed 's/^/m/; s/$/.big-malware.example/' >"$T_ROOT/malware.txt"
setup amp a import "$T_ROOT/phish.txt" --format plain --category phishing --confidence 90 --ttl 1d
setup amp a import "$T_ROOT/malware.txt" --format plain --category malware --confidence 90 --ttl 1d
rules() { amp a --json rpz | grep "\"zone\":\"$1\"" | head -1 | sed -n 's/.*"rules":\([0-9]*\).*/\1/p'; }
built() { [ "$(rules $ZONE)" = $N ] && [ "$(rules $ZONE2)" = $N ]; }
check "both zones hold $N names" wait_until 30 built

# the whole signed zone by AXFR: many messages, every one verified
out=$(dig +time=10 @$P -p "$DNS" -y "hmac-sha256:$KEY:$SECRET" "$ZONE2" AXFR 2>&1)
records=$(grep -c "^[^;].*IN[[:space:]]" <<<"$out")
check "dig AXFR of the signed zone: 2 x $N rules + SOA + NS + SOA + TSIG records ($records)" \
	[ "$records" -ge $((2 * N + 3)) ]
msgs=$(sed -n 's/.*XFR size: [0-9]* records (messages \([0-9]*\).*/\1/p' <<<"$out")
check "... in several messages ($msgs)" [ "${msgs:-0}" -gt 1 ]
check "... dig verified every signature" not grep -qi "tsig verify failure\|BADSIG\|expected a TSIG\|failed" <<<"$out"
out=$(kdig +time=10 @$P -p "$DNS" -y "hmac-sha256:$KEY:$SECRET" "$ZONE2" AXFR 2>&1 | tee "$T_ROOT/kdig-axfr.out")
kmsgs=$(sed -n 's/^;; Received [0-9]* B (\([0-9]*\) messages, \([0-9]*\) records).*/\1/p' <<<"$out")
check "kdig AXFR of the signed zone: accepted, $kmsgs messages" [ "${kmsgs:-0}" -gt 1 ]
check "... each message signed (a TSIG record per message)" [ "$(grep -c "^$KEY\.[[:space:]].*TSIG" <<<"$out")" = "$kmsgs" ]
check "... no TSIG complaint" not grep -qi "failed\|BADSIG\|BADKEY\|BADTIME\|WARNING" <<<"$out"
grep "^;; Received" <<<"$out" | sed 's/^/# /'

setup start_root "$T_ROOT/root" "$ROOT"
setup start_unbound "$T_ROOT/unbound" "$UB" "$ROOT" "$DNS" "$ZONE"
setup start_bind "$T_ROOT/bind" "$BIND" "$ROOT" "$DNS" "$ZONE" "$ZONE2" "$KEY" "$SECRET"
both() { answers "$UB" "$1" "$2" && answers "$BIND" "$1" "$2"; }
check "the last name of the zone blocks at both" wait_until 30 both p$N.big-phish.example NXDOMAIN
check "bind took the signed zone ($N names, TSIG on a multi-message AXFR)" wait_until 30 answers "$BIND" "m$N.big-malware.example" NXDOMAIN
check "... bind logged no TSIG failure" not grep -qi "tsig.*\(fail\|error\)\|expected a TSIG" "$T_ROOT/bind/named.log"

# a run of separate changes, each its own serial
row() { amp a --json rpz | grep "\"zone\":\"$1\"" | grep -o "{[^{}]*\"address\":\"$2\"[^{}]*}" | head -1; }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }
serial() { amp a --json rpz | grep "\"zone\":\"$1\"" | head -1 | field serial; }
s0=$(serial $ZONE2)
ax=$(row $ZONE 127.0.0.1 | field axfrs) ax2=$(row $ZONE2 127.0.0.1 | field axfrs)
for i in $(seq 1 $CHANGES); do
	amp a withdraw "p$i.big-phish.example" --category phishing >/dev/null
	amp a withdraw "m$i.big-malware.example" --category malware >/dev/null
done
check "$CHANGES withdrawals -> the last answers again at both" wait_until 20 both "p$CHANGES.big-phish.example" 192.0.2.1
check "... and at bind from the signed zone" wait_until 20 answers "$BIND" "m$CHANGES.big-malware.example" 192.0.2.1
check "... the first too" both p1.big-phish.example 192.0.2.1
check "... a name not withdrawn still blocks" both "p$((CHANGES + 1)).big-phish.example" NXDOMAIN
settled() { local r; r=$(row $ZONE 127.0.0.1); [ "$(field transfer_serial <<<"$r")" = "$(serial $ZONE)" ]; }
check "the secondaries caught up with the abuse zone" wait_until 20 settled
check "... by IXFR only (no AXFR since they held the zone)" [ "$(row $ZONE 127.0.0.1 | field axfrs)" = "$ax" ]
check "... the signed zone too" [ "$(row $ZONE2 127.0.0.1 | field axfrs)" = "$ax2" ]
# an IXFR from before the run, as a secondary that was away asks it
s1=$(serial $ZONE2)
out=$(kdig +time=10 @$P -p "$DNS" -y "hmac-sha256:$KEY:$SECRET" "$ZONE2" IXFR=$s0 2>&1 | tee "$T_ROOT/kdig-ixfr.out")
soas=$(grep -c "[[:space:]]SOA[[:space:]]" <<<"$out")
steps=$(( (soas - 2) / 2 ))
echo "# IXFR from $s0 to $s1: $soas SOA records ($steps steps)"
check "kdig IXFR from $s0: every step from $s0 to $s1, as SOA pairs" [ "$steps" -ge 1 ]
check "... each removed name once: $CHANGES names, 2 records each" \
	[ "$(grep -c "^m[0-9]*\.big-malware\.example\.$ZONE2\.\|^\*\.m[0-9]*\.big-malware\.example\.$ZONE2\." <<<"$out")" = $((2 * CHANGES)) ]
ends=$(grep "[[:space:]]SOA[[:space:]]" <<<"$out" | sed -n '1p;$p' | awk '{ print $7 }' | paste -sd' ')
check "... opened and closed by the current SOA ($ends)" [ "$ends" = "$s1 $s1" ]
check "... the first step leaves $s0" [ "$(grep "[[:space:]]SOA[[:space:]]" <<<"$out" | sed -n 2p | awk '{ print $7 }')" = "$s0" ]
check "... signed, verified" not grep -qi "failed\|BADSIG\|BADKEY\|BADTIME\|WARNING" <<<"$out"
out=$(dig +time=10 @$P -p "$DNS" -y "hmac-sha256:$KEY:$SECRET" "$ZONE2" IXFR=$s1 2>&1)
check "IXFR at the current serial: one SOA" [ "$(grep -c "[[:space:]]SOA[[:space:]]" <<<"$out")" = 1 ]

# a reload that changes what every rule says: by the time the log says
# "reloaded", the zone serves it (the rebuild of $N names ran after it)
reloads() { grep -c "SIGHUP: reloaded" "$T_ROOT/a/ameshd.log"; }
n=$(reloads) s=$(serial $ZONE)
sed -i "/^zone = $ZONE\$/a action = nodata" "$T_ROOT/a/amesh.conf"
signal a HUP
reloaded() { [ "$(reloads)" -gt "$n" ]; }
check "a reload to action = nodata over $N names: reloaded" wait_until 20 reloaded
out=$(dig +norec +time=2 @$P -p "$DNS" "p$N.big-phish.example.$ZONE" CNAME 2>&1)
check "... at that word the zone already says CNAME *. (nodata)" \
	grep -q "^p$N.big-phish.example.$ZONE.[[:space:]].*CNAME[[:space:]]*\*\.\$" <<<"$out"
check "... under a new serial ($s -> $(serial $ZONE))" [ "$(serial $ZONE)" -gt "$s" ]
grep "SIGHUP: reloaded\|full rebuild" "$T_ROOT/a/ameshd.log" | tail -3 | sed 's/^/# /'

finish

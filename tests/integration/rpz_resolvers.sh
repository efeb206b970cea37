#!/usr/bin/env bash
# rpz_resolvers.sh - the peer as an RPZ primary for real Unbound 1.17 and
# BIND 9.18 resolvers on loopback, over a fake root: submissions become
# NXDOMAIN at both, withdrawals undo it, allowlisted names pass through,
# an indicator from two hops away arrives, a restart keeps them on IXFR,
# a name under an RPZ trigger label (0.0.0.0.0.rpz-ip) never reaches them,
# and transfers are refused outside allow_transfer or without the key.
# The peer listens on 127.0.0.3, not 127.0.0.1: the resolvers take NOTIFY
# from their primary's address only, so one sent from elsewhere (the
# kernel's pick, 127.0.0.1) is REFUSED and the zone no longer follows.
set -uo pipefail
AMESHD=$1 AMESH=$2
P=127.0.0.3 R_PRIMARY_ADDR=127.0.0.3
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/resolvers.sh"

DNS=$(port_of 5) ROOT=$(port_of 6) UB=$(port_of 7) BIND=$(port_of 8) LATE=$(port_of 9)
ZONE=rpz.amesh.test ZONE2=signed.amesh.test KEY=amesh-xfr
SECRET=$(head -c 32 /dev/urandom | base64)

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2; link c b 2
trust a c origin; trust c a origin
# LONG: 242 octets, a name, but *.LONG.rpz.amesh.test would pass 255
L60=$(printf 'a%.0s' $(seq 60)) L40=$(printf 'b%.0s' $(seq 40))
LONG=$L60.$L60.$L60.$L40.blocked-parent.org
printf 'ok.blocked-parent.org\nshop.blocked-parent.org\n%s\n' "$LONG" >"$T_ROOT/a/allow.txt"
sed -i "s|^# allowlist = .*|allowlist = allow.txt|; s|^# dns_listen = .*|dns_listen = $P:$DNS|; s|^# sweep_interval = .*|sweep_interval = 1s|" "$T_ROOT/a/amesh.conf"
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing, malware
min_score = 50
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$UB, 127.0.0.1:$BIND

[rpz signed]
zone = $ZONE2
categories = botnet
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$BIND
tsig = $KEY hmac-sha256 $SECRET
CONF
chmod 640 "$T_ROOT/a/amesh.conf"
expect_exit 0 "--check of a group-readable config with a TSIG secret: valid" "$AMESHD" -c "$T_ROOT/a/amesh.conf" --check
check "... with a warning naming the zone and the fix" grep -q "holds the TSIG secret of \[rpz signed\].*mode 0640.*chmod 600" <<<"$T_ERR"
check "... never the secret" not grep -qF "$SECRET" <<<"$T_ERR"
chmod 600 "$T_ROOT/a/amesh.conf"
# a listener clash --check used to call valid: the daemon then died at start
sed "s/^\[peer\]\$/[peer]\nmetrics_listen = $P:$DNS/" "$T_ROOT/a/amesh.conf" >"$T_ROOT/a/clash.conf"
expect_exit 1 "--check: metrics_listen on the dns_listen port is a problem" "$AMESHD" -c "$T_ROOT/a/clash.conf" --check
check "... naming both and why" grep -q "dns_listen: \`$P:$DNS' collides with metrics_listen.*Address already in use" <<<"$T_ERR"
sed "s/^zone = $ZONE\$/zone = com/" "$T_ROOT/a/amesh.conf" >"$T_ROOT/a/clash.conf"
expect_exit 1 "--check: a zone named like a public suffix (com) is a problem" "$AMESHD" -c "$T_ROOT/a/clash.conf" --check
check "... saying a resolver would answer for every name under it" grep -q "zone: \`com' is a public suffix.*every name under it" <<<"$T_ERR"
rm -f "$T_ROOT/a/clash.conf"
expect_exit 0 "--check at 0600: no warning" "$AMESHD" -c "$T_ROOT/a/amesh.conf" --check
check "... none" not grep -q "TSIG secret" <<<"$T_ERR"
for p in a b c; do check "--check $p" "$AMESHD" -c "$T_ROOT/$p/amesh.conf" --check; done
# a setup failure keeps the directory and says which server did not start
setup() { "$@" || { fail "setup: $*"; finish; exit 1; }; }
setup start a; setup start b; setup start c
setup start_root "$T_ROOT/root" "$ROOT"
setup start_unbound "$T_ROOT/unbound" "$UB" "$ROOT" "$DNS" "$ZONE"
setup start_bind "$T_ROOT/bind" "$BIND" "$ROOT" "$DNS" "$ZONE" "$ZONE2" "$KEY" "$SECRET"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
both() { answers "$UB" "$1" "$2" && answers "$BIND" "$1" "$2"; }
# the zone reached both (an empty zone still has a serial)
check "unbound resolves through the fake root" wait_until 10 answers "$UB" evil.example.com 192.0.2.1
check "bind resolves through the fake root" wait_until 10 answers "$BIND" evil.example.com 192.0.2.1
# both resolvers are 127.0.0.1: transfers add up in one row
xfrs() { amp a --json rpz | head -1 | sed -n 's/.*"axfrs":\([0-9]*\),"ixfrs":\([0-9]*\).*/\1 \2/p' | awk '{ print $1 + $2 }'; }
two_xfrs() { [ "$(xfrs)" -ge 2 ] 2>/dev/null; }
check "both secondaries transferred the zone" wait_until 10 two_xfrs

t=$(date +%s%N)
amp a submit evil.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "submit -> NXDOMAIN at unbound and bind" wait_until 10 both evil.example.com NXDOMAIN
echo "# submit -> NXDOMAIN at both resolvers: $(ms "$t") ms"
check "a subdomain too (the *. rule)" both www.evil.example.com NXDOMAIN
check "the parent is untouched" both example.com 192.0.2.1
amp a submit weak.example.com --category phishing --confidence 30 --ttl 1d >/dev/null
amp a submit spam-only.example.com --category spam --confidence 90 --ttl 1d >/dev/null
sleep 0.5
check "below min_score: not listed" both weak.example.com 192.0.2.1
check "a category outside the zone: not listed" both spam-only.example.com 192.0.2.1

t=$(date +%s%N)
amp a withdraw evil.example.com --category phishing >/dev/null
check "withdraw -> answers again at both" wait_until 10 both evil.example.com 192.0.2.1
echo "# withdraw -> answer at both resolvers: $(ms "$t") ms"
check "the subdomain answers again" both www.evil.example.com 192.0.2.1

# two hops: c -> b -> a -> resolvers; the allowlist at a makes a passthru
t=$(date +%s%N)
amp c submit blocked-parent.org --category malware --confidence 95 --ttl 1d >/dev/null
amp c submit ok.blocked-parent.org --category malware --confidence 95 --ttl 1d >/dev/null
check "an indicator from two hops away -> NXDOMAIN" wait_until 10 both x.blocked-parent.org NXDOMAIN
echo "# submit at c -> NXDOMAIN at a's resolvers: $(ms "$t") ms"
check "allowlisted here -> passthru despite the blocked parent" wait_until 5 both ok.blocked-parent.org 192.0.2.1
check "... and its subdomains (the entry covers them)" both www.ok.blocked-parent.org 192.0.2.1
# no signal of its own: only the allowlist says it must pass, and the
# parent's *. rule must not catch it (amesh query says allowlisted)
check "allowlisted here, no signal of its own, under the blocked parent -> passthru" \
	both shop.blocked-parent.org 192.0.2.1
check "... and its subdomains" both www.shop.blocked-parent.org 192.0.2.1
check "... while its sibling stays blocked" both other.blocked-parent.org NXDOMAIN
check "an allowlisted name too long for a passthru under the zone: logged as skipped, named" grep -q \
	"rpz abuse: 1 allowlisted name skipped, too long for a passthru rule under $ZONE.*blocks it at the resolver: \`$LONG'" \
	"$T_ROOT/a/ameshd.log"
# a public suffix below a blocked name: pro.typeform.com (PSL private
# section) under typeform.com. `amesh query' of a tenant there finds no
# flag (the walk stops at the suffix), so the resolvers must not block it
# through typeform.com's *. rule; a tenant's own flag still blocks
amp a submit typeform.com --category phishing --confidence 90 --ttl 1d >/dev/null
amp a submit evil-form.pro.typeform.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "a flagged platform name -> NXDOMAIN, and its own subdomains" wait_until 10 both www.typeform.com NXDOMAIN
check "... not a tenant under the public suffix pro.typeform.com below it" both acme.pro.typeform.com 192.0.2.1
check "... nor the suffix itself" both pro.typeform.com 192.0.2.1
check "... a tenant flagged on its own -> NXDOMAIN" wait_until 10 both evil-form.pro.typeform.com NXDOMAIN
check "... amesh query agrees: no signal on the tenant" sh -c "! '$AMESH' -s '$T_ROOT/a/run/amesh.sock' query acme.pro.typeform.com >/dev/null"
# a name under an RPZ trigger label is no name to the resolvers: the
# rule 0.0.0.0.0.rpz-ip.ZONE (0.0.0.0/0) made both answer NXDOMAIN for
# every name with an IPv4 address, and c's flag two hops away did too
expect_exit 2 "submit 0.0.0.0.0.rpz-ip is refused (an RPZ trigger label)" \
	amp a submit 0.0.0.0.0.rpz-ip --category phishing --confidence 90 --ttl 1d
expect_exit 2 "... at c too, two hops away" amp c submit 0.0.0.0.0.rpz-ip --category malware --confidence 90 --ttl 1d
amp a submit trigger-probe.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "... a change after it reached both" wait_until 10 both trigger-probe.example.com NXDOMAIN
check "... and both still answer a name nobody flagged" both unflagged.example.org 192.0.2.1
check "... whose zone holds no trigger" not sh -c "dig @$P -p $DNS $ZONE AXFR | grep -q 'rpz-ip'"

# NAME.rpz.amesh.test is 253 octets, *.NAME.rpz.amesh.test would pass:
# the name is listed alone (it was skipped, and resolved at both while
# `amesh query' called it blocked)
EDGE=$L60.$L60.$L60.$(printf 'c%.0s' $(seq 43)).example.com
amp a submit "$EDGE" --category phishing --confidence 90 --ttl 1d >/dev/null
check "a name with room for NAME.ZONE only (${#EDGE} octets) -> NXDOMAIN at both" wait_until 10 both "$EDGE" NXDOMAIN
check "... and the log says its subdomains are not covered" grep -q \
	"rpz abuse: 1 name listed without the \*. rule for subdomains under $ZONE.*: \`$EDGE'" "$T_ROOT/a/ameshd.log"

# `amesh query' answers what the resolvers do, zone by zone, from the code
# that builds the zone: it said "warn" for a score of 60 that the zone
# (min_score 50) blocks, and the same verdict for names the zone leaves
# out (below min_score, a category it does not carry, too long, a
# passthru), while the resolvers answered them normally.
JSONCHECK=$(dirname "$3")/jsoncheck
# zq NAME: "rpz listed action rule wildcard why" of the first zone (abuse)
zq() { amp a --json query -- "$1" 2>/dev/null | "$JSONCHECK" rpz.0.rpz rpz.0.listed rpz.0.action rpz.0.rule \
	rpz.0.wildcard rpz.0.why | paste -sd' '; }
# agrees NAME: dig at both resolvers sees what `amesh query --json' says
agrees() {
	local z want
	z=$(zq "$1")
	case "$z" in
	"abuse true nxdomain "*) want=NXDOMAIN ;;
	"abuse false "* | "abuse true passthru "*) want=192.0.2.1 ;;
	*) echo "# zq $1: $z"; return 1 ;;
	esac
	both "$1" "$want" || { echo "# $1: amesh query says $z, resolvers: $(answer "$UB" "$1") $(answer "$BIND" "$1")"; return 1; }
}
amp a submit sixty.example.com --category phishing --confidence 60 --ttl 1d >/dev/null
check "score 60 (warn to the verdict) -> NXDOMAIN at both (min_score 50)" wait_until 10 both sixty.example.com NXDOMAIN
check "... query --json: listed, nxdomain, by its own rule" [ "$(zq sixty.example.com)" = "abuse true nxdomain sixty.example.com false listed" ]
check "... agrees with dig" agrees sixty.example.com
check "... a subdomain: listed by the *. rule" [ "$(zq www.sixty.example.com)" = "abuse true nxdomain sixty.example.com true listed" ]
check "... agrees with dig" agrees www.sixty.example.com
# names on stdin are a bulk lookup: the zones' answers only with --zones
check "... query - leaves the zones out (a bulk lookup)" \
	[ "$(echo sixty.example.com | amp a --json query - 2>/dev/null | "$JSONCHECK" signals.0.domain rpz.0.rpz | paste -sd' ')" = "sixty.example.com (missing)" ]
check "... query - --zones gives them" \
	[ "$(echo sixty.example.com | amp a --json query --zones - 2>/dev/null | "$JSONCHECK" rpz.0.rpz rpz.0.listed | paste -sd' ')" = "abuse true" ]
out=$(amp a query sixty.example.com)
check "... the text says the resolvers block it" grep -q "^  rpz abuse ($ZONE): BLOCKED, NXDOMAIN (CNAME .) by the rule sixty.example.com (phishing score 60.0 >= min_score 50)" <<<"$out"
check "... and the warn verdict does not read as 'let through'" grep -q "verdict phishing  *warn .*(resolvers block it: rpz above)" <<<"$out"
check "below min_score: query --json says so" [ "$(zq weak.example.com)" = "abuse false (missing) (missing) (missing) min-score" ]
check "... agrees with dig" agrees weak.example.com
check "a name below it with no signal: the parent's score says why" \
	[ "$(amp a --json query www.weak.example.com | "$JSONCHECK" rpz.0.why rpz.0.on | paste -sd' ')" = "min-score weak.example.com" ]
check "... agrees with dig" agrees www.weak.example.com
check "... and the text names it" grep -q "^  rpz abuse ($ZONE): not listed, resolvers answer normally: on weak.example.com, phishing score 30.0 below min_score 50" <<<"$(amp a query www.weak.example.com)"
out=$(amp a query spam-only.example.com)
check "a block verdict the zones leave out says the resolvers answer it" grep -q "verdict spam  *block .*(resolvers answer it: rpz above)" <<<"$out"
check "a category not in the zone: query --json says so" [ "$(zq spam-only.example.com)" = "abuse false (missing) (missing) (missing) category" ]
check "... agrees with dig" agrees spam-only.example.com
# 239 octets: NAME.rpz.amesh.test passes 253
TOOLONG=$L60.$L60.$L60.$(printf 'd%.0s' $(seq 44)).example.com
amp a submit "$TOOLONG" --category phishing --confidence 90 --ttl 1d >/dev/null
check "a name too long for the zone (${#TOOLONG} octets): skipped, logged" wait_until 10 grep -q \
	"rpz abuse: 1 name too long to list under $ZONE: \`$TOOLONG'" "$T_ROOT/a/ameshd.log"
check "... query --json: not listed, too long" [ "$(zq "$TOOLONG")" = "abuse false (missing) (missing) (missing) too-long" ]
check "... agrees with dig" agrees "$TOOLONG"
check "a tenant under a public suffix below a blocked name: passthru by the suffix's *. rule" \
	[ "$(zq acme.pro.typeform.com)" = "abuse true passthru pro.typeform.com true public-suffix" ]
check "... agrees with dig" agrees acme.pro.typeform.com
check "an allowlisted name under a blocked parent: its own passthru" \
	[ "$(zq shop.blocked-parent.org)" = "abuse true passthru shop.blocked-parent.org false allowlisted" ]
check "... agrees with dig" agrees shop.blocked-parent.org
# LONG is allowlisted, but no passthru fits under the zone: the parent's
# *. rule catches it at the resolvers, and query must not say otherwise
check "an allowlisted name too long for its passthru: blocked by the parent's *. rule" \
	[ "$(zq "$LONG")" = "abuse true nxdomain blocked-parent.org true listed" ]
check "... agrees with dig" agrees "$LONG"
check "the room-for-NAME.ZONE-only name: listed by its own rule" \
	[ "$(zq "$EDGE")" = "abuse true nxdomain $EDGE false listed" ]
check "... agrees with dig" agrees "$EDGE"
# zs NAME: "why score category" of the first zone: a score only where a
# verdict is behind the answer (a SIEM read "score":0.0 for a passthru)
zs() { amp a --json query -- "$1" 2>/dev/null | "$JSONCHECK" rpz.0.why rpz.0.score rpz.0.category | paste -sd' '; }
check "the zone's answer carries the score that listed it" [ "$(zs sixty.example.com)" = "listed 60.0 phishing" ]
check "... and the parent's that left a name out" [ "$(zs www.weak.example.com)" = "min-score 30.0 phishing" ]
check "a public suffix's passthru: no score, no category" [ "$(zs acme.pro.typeform.com)" = "public-suffix (missing) (missing)" ]
check "a signal-less allowlisted name's passthru: none either" \
	[ "$(zs shop.blocked-parent.org)" = "allowlisted (missing) (missing)" ]
check "a name too long for the zone: none (the zone never judged it)" [ "$(zs "$TOOLONG")" = "too-long (missing) (missing)" ]
check "a name with no signal: none" [ "$(zs nothing-here.example.org)" = "no-signal (missing) (missing)" ]
amp a export rpz --zone abuse -o "$T_ROOT/abuse.zone"
check "export holds the suffix's passthru" grep -qx '\*.pro.typeform.com CNAME rpz-passthru.' "$T_ROOT/abuse.zone"
check "export names the passthru" grep -qx "ok.blocked-parent.org CNAME rpz-passthru." "$T_ROOT/abuse.zone"
check "... and the signal-less allowlisted name's" grep -qx "shop.blocked-parent.org CNAME rpz-passthru." "$T_ROOT/abuse.zone"
check "named-checkzone loads the export with no warning" sh -c \
	"named-checkzone $ZONE '$T_ROOT/abuse.zone' >'$T_ROOT/checkzone.out' 2>&1 && [ \$(wc -l <'$T_ROOT/checkzone.out') -eq 2 ]"
cat "$T_ROOT/checkzone.out"

# TSIG: the signed zone (botnet only) reaches BIND, which has the key
amp a submit bot.example.net --category botnet --confidence 90 --ttl 1d >/dev/null
check "bind transferred the signed zone with the key" wait_until 10 answers "$BIND" bot.example.net NXDOMAIN
check "unbound has no key and no signed zone" answers "$UB" bot.example.net 192.0.2.1
check "AXFR without the key -> REFUSED" sh -c "dig @$P -p $DNS $ZONE2 AXFR | grep -q 'Transfer failed'"
out=$(dig @$P -p "$DNS" -y "hmac-sha256:$KEY:$(head -c 32 /dev/urandom | base64)" "$ZONE2" AXFR 2>&1)
check "AXFR with a wrong key -> refused (BADSIG)" grep -qi "BADSIG\|tsig verify failure\|NOTAUTH" <<<"$out"
out=$(dig @$P -p "$DNS" -y "hmac-sha256:other-key:$SECRET" "$ZONE2" AXFR 2>&1)
check "AXFR under another key name -> refused (BADKEY)" grep -qi "BADKEY\|tsig verify failure\|NOTAUTH" <<<"$out"
out=$(dig @$P -p "$DNS" -y "hmac-sha256:$KEY:$SECRET" "$ZONE2" AXFR 2>&1)
check "AXFR with the key -> the zone, signed" grep -q "^bot.example.net.$ZONE2" <<<"$out"
out=$(dig @$P -p "$DNS" -y "hmac-sha256:$KEY:$SECRET" "$ZONE" SOA 2>&1)
check "a signed query for the zone without tsig -> NOTAUTH, BADKEY (not an unsigned answer)" \
	grep -q "status: NOTAUTH" <<<"$out"
echo "$out" | grep -i 'tsig\|status' | sed 's/^/# /'
# the apex as the zone holds it: NS (was NODATA though every AXFR has it), ANY
check "apex NS -> the zone's NS" sh -c "dig @$P -p $DNS $ZONE NS +norec | grep -q '^$ZONE.[[:space:]].*IN[[:space:]]*NS[[:space:]]*localhost.'"
out=$(dig @$P -p "$DNS" "$ZONE" ANY +norec 2>&1)
check "apex ANY -> the SOA" grep -q "^$ZONE.[[:space:]].*IN[[:space:]]*SOA" <<<"$out"
check "... and the NS" grep -q "^$ZONE.[[:space:]].*IN[[:space:]]*NS[[:space:]]*localhost." <<<"$out"
# a name below the apex, as an operator debugs RPZ with dig: the zone's
# own answer, authoritative (it was REFUSED as if outside every zone)
digq() { dig +norec +time=2 +tries=1 @$P -p "$DNS" "$@" 2>&1; }
out=$(digq "blocked-parent.org.$ZONE" CNAME)
check "dig NAME.ZONE CNAME -> the rule, NOERROR and aa" grep -q "status: NOERROR" <<<"$out"
check "... aa set" grep -q "flags: qr aa" <<<"$out"
check "... the CNAME ." grep -q "^blocked-parent.org.$ZONE.[[:space:]].*IN[[:space:]]*CNAME[[:space:]]*\.$" <<<"$out"
out=$(digq "x.blocked-parent.org.$ZONE" A)
check "dig SUB.NAME.ZONE A -> the wildcard's CNAME ., synthesised" \
	grep -q "^x.blocked-parent.org.$ZONE.[[:space:]].*IN[[:space:]]*CNAME[[:space:]]*\.$" <<<"$out"
out=$(digq "ok.blocked-parent.org.$ZONE" TXT +tcp)
check "dig of an allowlisted name (TCP) -> CNAME rpz-passthru." \
	grep -q "^ok.blocked-parent.org.$ZONE.[[:space:]].*IN[[:space:]]*CNAME[[:space:]]*rpz-passthru.$" <<<"$out"
out=$(digq "not-listed.example.$ZONE" CNAME)
check "dig of a name not in the zone -> NXDOMAIN" grep -q "status: NXDOMAIN" <<<"$out"
check "... aa" grep -q "flags: qr aa" <<<"$out"
check "... with the zone's SOA in authority" grep -q "ANSWER: 0, AUTHORITY: 1," <<<"$out"
check "... the SOA owned by the apex" grep -q "^$ZONE.[[:space:]].*IN[[:space:]]*SOA" <<<"$out"
out=$(digq "org.$ZONE" A)
check "dig of a name with only names below it -> NODATA: NOERROR" grep -q "status: NOERROR" <<<"$out"
check "... no answer, the SOA in authority" grep -q "ANSWER: 0, AUTHORITY: 1," <<<"$out"
out=$(dig -b 127.0.0.2 +norec @$P -p "$DNS" "blocked-parent.org.$ZONE" CNAME 2>&1)
check "dig of a name from outside allow_transfer -> REFUSED" grep -q "status: REFUSED" <<<"$out"
out=$(digq "bot.example.net.$ZONE2" CNAME -y "hmac-sha256:$KEY:$SECRET")
check "dig of a name in the signed zone, signed -> the rule" grep -q "^bot.example.net.$ZONE2.[[:space:]].*CNAME" <<<"$out"
check "... the answer signed" grep -q "^$KEY.[[:space:]].*TSIG.*NOERROR" <<<"$out"
check "... and dig verified it" not grep -qi "failure\|BADSIG" <<<"$out"
out=$(digq "bot.example.net.$ZONE2" CNAME)
check "... unsigned -> REFUSED: with tsig set the zone's names are the key holder's, as its transfers" \
	grep -q "status: REFUSED" <<<"$out"
check "outside allow_transfer -> REFUSED (SOA)" sh -c "dig -b 127.0.0.2 @$P -p $DNS $ZONE SOA | grep -q 'status: REFUSED'"
out=$(dig -b 127.0.0.2 @$P -p "$DNS" "$ZONE" AXFR 2>&1)
check "outside allow_transfer -> no AXFR (closed at accept)" not grep -q "SOA" <<<"$out"
check "... and dig says the transfer failed" grep -qi "failed\|end of file\|reset" <<<"$out"

# the sweep and a revocation change the zone through the same apply path
t=$(date +%s%N)
amp a submit short-lived.example.com --category phishing --confidence 90 --ttl 3s >/dev/null
check "a short-lived indicator -> NXDOMAIN" wait_until 10 both short-lived.example.com NXDOMAIN
check "expired and swept -> answers again" wait_until 15 both short-lived.example.com 192.0.2.1
echo "# submit with ttl 3s -> expired, swept, answered again: $(ms "$t") ms (sweep_interval 1s)"
"$AMESH" -c "$T_ROOT/a/amesh.conf" keys revoke c --reason "test: origin compromised" >/dev/null
check "origin c revoked at a -> its names leave a's zone" wait_until 10 both x.blocked-parent.org 192.0.2.1

# restart: the serial keeps growing and the secondaries stay on IXFR
serial() { amp a --json rpz | head -1 | sed -n 's/.*"serial":\([0-9]*\).*/\1/p'; }
s1=$(serial)
stop a; setup start a
# NSD and BIND announce a zone they load: a secondary that missed
# changes while the primary was down must not wait for its refresh
restart_notified() {
	local st s
	st=$(amp a --json rpz | head -1)
	s=$(sed -n 's/.*"serial":\([0-9]*\).*/\1/p' <<<"$st")
	[ "$(grep -o "\"notify_serial\":$s,\"notify_rcode\":0" <<<"$st" | wc -l)" -eq 2 ]
}
check "a restart sends both secondaries a NOTIFY for the current serial, answered" wait_until 10 restart_notified
t=$(date +%s%N)
amp a submit after-restart.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "after a restart -> NXDOMAIN at both" wait_until 10 both after-restart.example.com NXDOMAIN
echo "# after restart: submit -> NXDOMAIN at both: $(ms "$t") ms"
s2=$(serial)
check "serial increased across the restart ($s1 -> $s2)" [ "$s2" -gt "$s1" ]
status=$(amp a --json rpz | head -1)
echo "# $status"
check "no AXFR since the restart (IXFR only)" not grep -q '"axfrs":[1-9]' <<<"$status"
check "IXFRs served since the restart" grep -q '"ixfrs":[1-9]' <<<"$status"
check "both notify targets answered" [ "$(grep -o '"notify_rcode":0' <<<"$status" | wc -l)" -eq 2 ]

# a reload (SIGHUP) adds a zone: served, shown and exported at once; a
# second dns_listen address needs a restart, and the log says so
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz extra]
zone = extra.amesh.test
categories = phishing
allow_transfer = 127.0.0.1
CONF
sed -i "s|^dns_listen = .*|dns_listen = $P:$DNS, 127.0.0.4:$DNS|" "$T_ROOT/a/amesh.conf"
# ... and a notify target for a zone that does not change on this reload:
# told the current serial at once, not at a next change that may not come
sed -i "s|^notify = 127.0.0.1:$BIND\$|notify = 127.0.0.1:$BIND, 127.0.0.1:$LATE|" "$T_ROOT/a/amesh.conf"
check "... (the config now has the late target)" grep -q "^notify = 127.0.0.1:$BIND, 127.0.0.1:$LATE\$" "$T_ROOT/a/amesh.conf"
signed_serial() { amp a --json rpz | sed -n '2p' | sed -n 's/.*"serial":\([0-9]*\).*/\1/p'; }
s_signed=$(signed_serial)
# ... and a new ttl for the records: a new serial, or no secondary asks
sed -i "s|^min_score = 50\$|min_score = 50\nttl = 120|" "$T_ROOT/a/amesh.conf"
s3=$(serial)
signal a HUP
check "after SIGHUP: a new ttl is a new serial, the journal cleared" wait_until 10 grep -q \
	"rpz abuse: ttl or SOA timers changed (ttl 120,.*journal cleared" "$T_ROOT/a/ameshd.log"
s4=$(serial)
check "... the serial grew ($s3 -> $s4)" [ "$s4" -gt "$s3" ]
check "... and the zone's SOA says ttl 120" sh -c "dig @$P -p $DNS $ZONE SOA | grep -q '^$ZONE.[[:space:]]*120[[:space:]]*IN[[:space:]]*SOA'"
late_told() { amp a rpz | sed -n '/^zone signed/,/^zone /p' | grep -A4 "^  127.0.0.1:$LATE\$" | grep -q "last NOTIFY     serial $s_signed sent"; }
check "after SIGHUP: a notify target added to an unchanged zone is sent its serial ($s_signed) at once" wait_until 5 late_told
check "after SIGHUP: a changed dns_listen is named, with the restart it needs" wait_until 5 grep -q \
	"SIGHUP: dns_listen changed from \`$P:$DNS' to \`$P:$DNS', \`127.0.0.4:$DNS'.*still listening on \`$P:$DNS'.*until ameshd is restarted" \
	"$T_ROOT/a/ameshd.log"
check "after SIGHUP: the new zone answers its SOA" wait_until 10 sh -c \
	"dig @$P -p $DNS extra.amesh.test SOA | grep -q 'status: NOERROR'"
check "after SIGHUP: amesh rpz shows it" wait_until 5 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' rpz | grep -q 'zone extra (extra.amesh.test)'"
text=$(amp a rpz)
check "amesh rpz: a secondary that only probed the SOA has 'last transfer never'" \
	grep -q "^    last transfer   never (0 refused)" <<<"$(sed -n '/^zone extra/,$p' <<<"$text")"
check "amesh rpz: a NOTIFY answer names its RCODE" grep -q "answered .* with NOERROR" <<<"$text"
check "amesh rpz: no 'none never' placeholder" not grep -q "none never" <<<"$text"
check "after SIGHUP: it exports, with the live rules" sh -c \
	"'$AMESH' -s '$T_ROOT/a/run/amesh.sock' export rpz --zone extra | grep -qx 'after-restart.example.com CNAME .'"
expect_exit 2 "export of an unknown zone" amp a export rpz --zone nosuch
check "... says which" grep -q "no zone \[rpz nosuch\]" <<<"$T_ERR"
check "... and lists the zones there are" grep -q "give a section's NAME or its zone: abuse ($ZONE), signed ($ZONE2), extra (extra.amesh.test)" <<<"$T_ERR"
# the zone as dig and the resolver's config name it: it was "no zone [rpz
# extra.amesh.test] is configured" for a zone that was
expect_exit 0 "export by the zone's name, upper case and with the root's dot" amp a export rpz --zone EXTRA.amesh.test.
check "... is the section's zone" grep -q "^\$ORIGIN extra.amesh.test.$" <<<"$T_OUT"
# the secondaries still hear NOTIFYs after the reload
t=$(date +%s%N)
amp a submit after-reload.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
check "after SIGHUP: submit -> NXDOMAIN at both (NOTIFY still sent)" wait_until 10 both after-reload.example.com NXDOMAIN
echo "# after SIGHUP: submit -> NXDOMAIN at both: $(ms "$t") ms"

# a peer started without [rpz]: the first one added by a reload needs a
# restart (nothing builds or serves it), and the log says so
cat >>"$T_ROOT/b/amesh.conf" <<CONF

[rpz first]
zone = first.amesh.test
categories = phishing
CONF
signal b HUP
check "SIGHUP adding the first [rpz] to a peer without: named, with the restart it needs" wait_until 5 grep -q \
	"SIGHUP: \[rpz first\] added, but this peer started without response policy zones.*until ameshd is restarted" \
	"$T_ROOT/b/ameshd.log"

finish

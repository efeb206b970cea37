#!/usr/bin/env bash
# mesh_import_narrow.sh - an import policy narrowed by SIGHUP (or while
# ameshd was stopped) is in force for what was already accepted, not only
# for what comes next. Before, "a narrowing changes nothing": an operator
# who took phishing out of a neighbour's import.categories and reloaded
# kept answering, and serving in the RPZ, every phishing name that
# neighbour had sent - due process said the policy was in force the moment
# it changed, and it was not.
#
#   a, the origin; c relays a's malware (only) to b; b dials a and c; d
#   dials b and gets from b what b accepted. b serves an RPZ. b exports
#   nothing to c: c's copies come from a, never from b (a copy c took
#   from b would never be offered back to b - the log export sends no
#   record back where it came from - and the test would race on which
#   of a and b reached c first).
set -uo pipefail
AMESHD=$1 AMESH=$2 TESTPEER=$3
. "$(dirname "$0")/lib.sh"
DIG=$(command -v dig) || { echo "dig missing (Debian package bind9-dnsutils; deploy/install-deps.sh installs it)"; exit 1; }

mk_peer a 1; mk_peer b 2; mk_peer c 3; mk_peer d 4
trust a b; trust b a; trust a c; trust c a; trust b c; trust c b; trust b d; trust d b; trust d a origin
DNS=$(port_of 7) ZONE=rpz.amesh.test
sed -i "s|^# dns_listen = .*|dns_listen = 127.0.0.1:$DNS|" "$T_ROOT/b/amesh.conf"
cat >>"$T_ROOT/b/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing, malware, spam
allow_transfer = 127.0.0.1
CONF
cp "$T_ROOT/b/amesh.conf" "$T_ROOT/b/base.conf"
# write_b IMPORT-FROM-A [MAX_LIFETIME]: b's neighbours, its import from a as given
write_b() {
	{ cat "$T_ROOT/b/base.conf"
	  echo; echo "[neighbour a]"; echo "endpoint = tcp://127.0.0.1:$(port_of 1)"
	  echo "export.categories = all"; echo "export.origins = all"; echo "$1"
	  echo; echo "[neighbour c]"; echo "endpoint = tcp://127.0.0.1:$(port_of 3)"; echo "import.categories = all"
	  echo; echo "[neighbour d]"; echo "$OPEN_POLICY"; } >"$T_ROOT/b/amesh.conf.new"
	[ -n "${2:-}" ] && sed -i "s/^# max_lifetime = .*/max_lifetime = $2/" "$T_ROOT/b/amesh.conf.new"
	mv "$T_ROOT/b/amesh.conf.new" "$T_ROOT/b/amesh.conf"
}
write_b "import.categories = all"
neighbour a b <<<"$OPEN_POLICY"
neighbour a c <<<"$OPEN_POLICY"
neighbour c a "tcp://127.0.0.1:$(port_of 1)" <<<"$OPEN_POLICY"
neighbour c b <<'P'
export.categories = malware
export.origins = all
import.categories = all
P
neighbour d b "tcp://127.0.0.1:$(port_of 2)" <<<"$OPEN_POLICY"
for p in a b c d; do start "$p" || exit 1; done
check "b's links are up" wait_until 10 sh -c "[ \$('$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json peers | grep -c '\"state\":\"up\"') -eq 3 ]"

sub() { amp a submit "$1" --category "$2" --confidence 80 --ttl "${3:-1d}" >/dev/null || fail "a submits $1"; }
sub only-a.example phishing      # reaches b only through a (c exports malware)
sub both.example malware         # through a and through c
sub keep.example spam            # the narrowed policy still takes it
sub long.example spam 20d        # valid for longer than a shorter max_lifetime
amp b submit own.example --category phishing --confidence 80 --ttl 1d >/dev/null || fail "b submits its own"
for n in only-a both keep long; do check "b holds $n.example" wait_until 10 has b $n.example; done
check "c holds both.example" wait_until 10 has c both.example
check "d got only-a.example from b" wait_until 10 has d only-a.example

# in_zone NAME: the zone b serves to its resolvers (AXFR) blocks NAME
in_zone() { "$DIG" +tcp +time=2 +tries=1 @127.0.0.1 -p "$DNS" "$ZONE" AXFR | grep -q "^$1\.$ZONE\."; }
check "b's RPZ blocks only-a.example" wait_until 10 in_zone only-a.example
check "b's RPZ blocks both.example" wait_until 10 in_zone both.example

# live_is_list P [SET_ASIDE]: P's status counts live what its list shows
# (a set-aside record is stored, not live), and SET_ASIDE set aside
live_is_list() {
	local st live aside n
	st=$(amp "$1" --json status) && n=$(amp "$1" list | grep -c .)
	live=$(sed -n 's/.*"live":\([0-9]*\).*/\1/p' <<<"$st") aside=$(sed -n 's/.*"set_aside":\([0-9]*\).*/\1/p' <<<"$st")
	[ "$live" = "$n" ] && [ -z "${2:-}" -o "$aside" = "${2:-}" ] && return 0
	echo "    $1: status live ${live:-?}, set_aside ${aside:-?}; list shows $n${2:+, wanted $2 set aside}"
	return 1
}

reload() {
	local n; n=$(grep -c "SIGHUP: reloaded" "$T_ROOT/$1/ameshd.log")
	signal "$1" HUP
	wait_until 10 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/$1/ameshd.log') -gt $n ]" || fail "$1 acknowledged the reload"
}

# narrow: phishing and malware out of what b takes from a
write_b "import.categories = spam"; reload b
check "narrowed: only-a.example no longer counts at b (query)" not has b only-a.example
check "narrowed: b's RPZ drops only-a.example" wait_until 10 not in_zone only-a.example
check "narrowed: the spam a sent still counts" has b keep.example
check "narrowed: b's own phishing still counts" has b own.example
check "narrowed: both.example, offered by c too, counts (through c)" wait_until 10 has b both.example
check "narrowed: b's RPZ still blocks both.example" wait_until 10 in_zone both.example
check "narrowed: b's status counts live what its list shows, only-a.example set aside" wait_until 10 live_is_list b 1
check "narrowed: b's status text says so" sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' status | grep -q '^indicators  4 live, 0 withdrawn (tombstones), 0 kept past expiry, 1 set aside\$'"
check "b's log counts what was set aside" grep -q "mesh: a: [0-9]* indicators\? accepted from it before no longer count" "$T_ROOT/b/ameshd.log"
audit_b=$(amp b audit only-a.example)
check "b's audit: set aside, from a, by rule category" \
	grep -q "phishing on only-a.example (origin [0-9a-f]*), accepted from a, no longer counts: its import policy now refuses it, rule \`category'" <<<"$audit_b"
check "b's audit (json) names the neighbour and the rule" \
	sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json audit only-a.example | grep '\"event\":\"set_aside\"' | grep '\"neighbour\":\"a\"' | grep -q '\"rule\":\"category\"'"
check "b's report counts it set aside, from a by rule category" grep -Eq '"set_aside":\{[^}]*"a category":[1-9]' <<<"$(amp b report --format json)"
check "b's report: set aside among the period's changes" grep -Eq '"period":\{[^}]*"set_aside":[1-9]' <<<"$(amp b report --format json)"
check "b's audit: both.example accepted again from c" \
	sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' audit both.example | grep -q 'from c (origin [0-9a-f]*): accepted'"
check "b reads c's log again: what it set aside may come from c too" \
	grep -q "mesh: c: what a narrowed import set aside may come from it too; its log is read again" "$T_ROOT/b/ameshd.log"
sub later.example phishing
check "a holds later.example" wait_until 10 has a later.example
# the refusal is audited: wait for that, then look (a sleep then `not has'
# passed whatever b did, if a's batch had not come yet)
check "b's audit: later.example refused from a by category" wait_until 10 sh -c "[ \$('$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json audit later.example | grep -c '\"event\":\"rejected\"') -ge 1 ]"
check "and what a sends next is refused as before" not has b later.example
# refused_from_a NAME RULE: b's audit records of NAME refused from a by RULE
refused_from_a() { amp b --json audit "$1" | grep '"event":"rejected"' | grep '"neighbour":"a"' | grep -c "\"rule\":\"$2\""; }
# a widening that still refuses phishing reads a's log again from the
# start: a refusal for the same rule as before is no news for the trail
write_b "import.categories = spam, malware"; reload b
check "widened (malware): b reads a's log again" \
	grep -q "mesh: a: this peer may accept more from it now; its log is read again" "$T_ROOT/b/ameshd.log"
sub after-widen.example phishing # after everything else in a's log: refused once the re-read is through
check "  the re-read is through (a's newest phishing refused)" wait_until 10 sh -c "[ \$('$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json audit after-widen.example | grep -c '\"event\":\"rejected\"') -ge 1 ]"
check "  later.example's refusal by category is audited once, not again" test "$(refused_from_a later.example category)" -eq 1
check "  only-a.example, set aside by category, is not audited refused for it too" test "$(refused_from_a only-a.example category)" -eq 0
check "  and the refusals are still counted (b's rejects from a)" sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json peers | grep -q '\"category\":[3-9]'"

# widen back: what was set aside is taken again from a's log
write_b "import.categories = all"; reload b
check "widened: only-a.example counts again at b" wait_until 10 has b only-a.example
check "widened: b's RPZ blocks it again" wait_until 10 in_zone only-a.example
check "widened: later.example, refused before, arrives too" wait_until 10 has b later.example

# narrowed while stopped: the start judges again (DATA_DIR/import-state)
stop b
write_b "import.categories = spam"
start b || exit 1
check "narrowed while stopped: only-a.example does not count after the start" not has b only-a.example
check "narrowed while stopped: keep.example counts" has b keep.example
check "narrowed while stopped: both.example comes back through c" wait_until 10 has b both.example
check "narrowed while stopped: the RPZ leaves only-a.example out" wait_until 10 not in_zone only-a.example

# recourse: the origin withdraws what b set aside; the withdrawal still
# reaches d, which got the indicator from b before the narrowing
check "d still holds only-a.example (b cannot take back what it relayed)" has d only-a.example
amp a withdraw only-a.example --category phishing >/dev/null || fail "a withdraws"
check "the withdrawal reaches d through b" wait_until 10 not has d only-a.example

# a shorter max_lifetime: what expires beyond it from now no longer counts
write_b "import.categories = spam" 7d; reload b
check "max_lifetime 7d: long.example (valid 20 days) no longer counts" not has b long.example
check "max_lifetime 7d: keep.example (1 day) still counts" has b keep.example
check "b's audit: long.example set aside by rule lifetime" \
	sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' audit long.example | grep -q \"rule \\\`lifetime'\""
write_b "import.categories = spam"; reload b
check "max_lifetime back to 90d: long.example counts again" wait_until 10 has b long.example

# the neighbour's section removed: nothing held only through it counts
write_b "import.categories = all"; reload b
check "widened again: keep.example counts" wait_until 10 has b keep.example
{ cat "$T_ROOT/b/base.conf"; echo; echo "[neighbour c]"; echo "endpoint = tcp://127.0.0.1:$(port_of 3)"
  echo "import.categories = all"; echo; echo "[neighbour d]"; echo "$OPEN_POLICY"; } >"$T_ROOT/b/amesh.conf"
reload b
check "a removed: keep.example (only through a) no longer counts" not has b keep.example
check "a removed: b's audit says not_configured" \
	sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' audit keep.example | grep -q \"rule \\\`not_configured'\""
check "a removed: both.example, through c, still counts" wait_until 10 has b both.example
check "a removed: b's own phishing still counts" has b own.example
check "a removed: b's status counts live what its list shows" wait_until 10 live_is_list b

# distrusting an origin (not revoking it) hides its indicators at once,
# held through any neighbour; trusting it again shows them again
"$AMESH" -c "$T_ROOT/b/amesh.conf" keys distrust a >/dev/null 2>&1 || fail "b distrusts a"
check "a distrusted: both.example (origin a, through c) no longer counts" wait_until 10 not has b both.example
check "a distrusted: b's RPZ drops both.example" wait_until 10 not in_zone both.example
trust b a origin
check "a trusted again: both.example counts again" wait_until 10 has b both.example
# distrusting a neighbour drops its link, and what it relayed no longer
# counts (no import policy in force for it any more)
"$AMESH" -c "$T_ROOT/b/amesh.conf" keys distrust c >/dev/null 2>&1 || fail "b distrusts c"
check "c distrusted: both.example (relayed by c) no longer counts" wait_until 10 not has b both.example
check "c distrusted: b's audit says so, by rule not_configured" \
	sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json audit both.example | grep '\"event\":\"set_aside\"' | grep '\"neighbour\":\"c\"' | grep -q '\"rule\":\"not_configured\"'"
check "c distrusted: b's RPZ drops both.example" wait_until 10 not in_zone both.example
check "c distrusted: b's own phishing still counts" has b own.example
finish

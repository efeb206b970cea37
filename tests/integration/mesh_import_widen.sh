#!/usr/bin/env bash
# mesh_import_widen.sh - an import policy widened by SIGHUP takes what the
# neighbour already holds, not only what it sends from then on. The
# receiver owns the cursor over the neighbour's log, and before, a reload
# that widened import.categories (or trusted a new origin) left it where it
# was: what had been refused under the old policy was never asked for
# again, so the peer went on answering "0 signals" for a name its
# neighbour held and would send - until the neighbour's epoch or export
# policy happened to change. Found on a 3-peer mesh: a CERT that widened
# its import from `malware' to `all' never got the phishing its RIR held.
#
#   b dials a: b receives a's log by pulling;
#   a dials c: c receives a's log through a's pusher.
set -uo pipefail
AMESHD=$1 AMESH=$2 TESTPEER=$3
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3; mk_peer d 4
trust a b; trust b a; trust a c; trust c a; trust a d; trust d a
cp "$T_ROOT/b/amesh.conf" "$T_ROOT/b/base.conf"
cp "$T_ROOT/c/amesh.conf" "$T_ROOT/c/base.conf"
# write PEER IMPORT_CATEGORIES [ENDPOINT]: PEER's one neighbour, a
write() {
	cp "$T_ROOT/$1/base.conf" "$T_ROOT/$1/amesh.conf.new"
	{ echo; echo "[neighbour a]"; [ -n "${3:-}" ] && echo "endpoint = $3"
	  echo "export.categories = all"; echo "import.categories = $2"; } >>"$T_ROOT/$1/amesh.conf.new"
	mv "$T_ROOT/$1/amesh.conf.new" "$T_ROOT/$1/amesh.conf"
}
write b malware "tcp://127.0.0.1:$(port_of 1)"
write c malware
neighbour a b <<<"$OPEN_POLICY"
neighbour a c "tcp://127.0.0.1:$(port_of 3)" <<<"$OPEN_POLICY"
neighbour a d <<<"$OPEN_POLICY"
neighbour d a "tcp://127.0.0.1:$(port_of 1)" <<<"$OPEN_POLICY"
for p in a b c d; do start "$p" || exit 1; done
check "a's links are up" wait_until 10 sh -c "[ \$('$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json peers | grep -c '\"state\":\"up\"') -eq 3 ]"

sub() { amp a submit "$@" --confidence 80 --ttl 1d >/dev/null || fail "submit $*"; }
sub phish.example.com --category phishing
sub mal.example.com --category malware
check "b gets malware" wait_until 10 has b mal.example.com
check "c gets malware" wait_until 10 has c mal.example.com
check "b refused the phishing (category)" wait_until 10 sh -c "[ \"\$(amp() { '$AMESH' -s '$T_ROOT/b/run/amesh.sock' \"\$@\"; }; amp --json peers | grep -o '\"category\":[0-9]*' | head -1)\" = '\"category\":1' ]"
check "b does not hold the phishing" not has b phish.example.com
check "c does not hold the phishing" not has c phish.example.com

# widen, reload, and the phishing they refused arrives, both directions
reload() {
	local n; n=$(grep -c "SIGHUP: reloaded" "$T_ROOT/$1/ameshd.log")
	signal "$1" HUP
	wait_until 10 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/$1/ameshd.log') -gt $n ]" || fail "$1 acknowledged the reload"
}
write b all "tcp://127.0.0.1:$(port_of 1)"; reload b
write c all; reload c
check "after widening its import, b (pulling) gets what a held" wait_until 10 has b phish.example.com
check "after widening its import, c (pushed to) gets what a held" wait_until 10 has c phish.example.com

# a new origin trusted: what a relayed from it before, refused as
# untrusted_origin, arrives too. d is a's neighbour; b does not trust it.
# a refusal is counted: wait for the count, not a sleep (a sleep then
# `not has' passed whatever b did, if a's batch had not come yet)
rejected_more() { local n; n=$(reject_count "$1" "$2" "$3"); [ "${n:-0}" -gt "${4:-0}" ]; }
u0=$(reject_count b a untrusted_origin)
amp d submit from-d.example.com --category phishing --confidence 80 --ttl 1d >/dev/null || fail "d submits"
check "a gets d's indicator" wait_until 10 has a from-d.example.com
check "b has d's indicator from a and refuses it" wait_until 10 rejected_more b a untrusted_origin "$u0"
check "b refused d's indicator (untrusted origin)" not has b from-d.example.com
"$AMESH" -c "$T_ROOT/b/amesh.conf" keys trust "$T_ROOT/d/amesh.key.pub" --name d --as origin >/dev/null || fail "b trusts d"
check "after trusting d, b gets what a relayed from d before" wait_until 10 has b from-d.example.com
# widened while stopped: the start compares what decides acceptance with
# what DATA_DIR/import-state kept, and reads the log again (the cursor
# alone never went back: a restart after editing the policy was where an
# operator lost it most quietly)
write b malware "tcp://127.0.0.1:$(port_of 1)"; reload b
write c malware; reload c
b0=$(reject_count b a category); c0=$(reject_count c a category)
sub phish2.example.com --category phishing
check "b has the second phishing and refuses it" wait_until 10 rejected_more b a category "$b0"
check "c has the second phishing and refuses it" wait_until 10 rejected_more c a category "$c0"
check "b (narrowed again) refused the second phishing" not has b phish2.example.com
check "c (narrowed again) refused the second phishing" not has c phish2.example.com
stop b; stop c
check "import-state is 0600, like the data directory's other files" test "$(stat -c %a "$T_ROOT/b/data/import-state")" = 600
write b all "tcp://127.0.0.1:$(port_of 1)"
write c all
start b || exit 1; start c || exit 1
check "b, widened while stopped, gets it after the start" wait_until 15 has b phish2.example.com
check "c, widened while stopped, gets it after the start" wait_until 15 has c phish2.example.com
check "b's log says why" grep -q "mesh: a: what this peer accepts from it changed while ameshd was stopped" "$T_ROOT/b/ameshd.log"
# a restart with nothing changed keeps the cursor
stop b; start b || exit 1
check "an unchanged restart does not read the log again" test "$(grep -c "changed while ameshd was stopped" "$T_ROOT/b/ameshd.log")" -eq 1
finish

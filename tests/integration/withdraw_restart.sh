#!/usr/bin/env bash
# withdraw_restart.sh - a withdrawal reaches a neighbour that holds the
# original across a restart of the relay: the export policies a reload
# replaced are kept in DATA_DIR/export-history, and so is the policy in
# force when ameshd stopped, so a narrowing made before a restart (or while
# stopped) no longer keeps the withdrawal from whoever got the flag.
#
# Found by a CERT operator on a 3-peer mesh (registry a, RIR b, CERT c):
# b narrowed its export to c to malware, restarted, and the registry's
# withdrawal of a phishing flag c held stayed at b (`kept withdrawal ...
# from c: rule category'); c went on blocking the name for its lifetime.
#
#   a (origin) dials b (relay); c dials b.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
trust b c; trust c b; trust c a origin
neighbour c b "tcp://127.0.0.1:$(port_of 2)" <<<"$OPEN_POLICY"
WIDE='export.categories = phishing, malware
export.origins = all
import.categories = all'
NARROW='export.categories = malware
export.origins = all
import.categories = all'
cp "$T_ROOT/b/amesh.conf" "$T_ROOT/b/base.conf"
write_b() { # write_b POLICY_TO_C
	cp "$T_ROOT/b/base.conf" "$T_ROOT/b/amesh.conf.new"
	{ echo; echo "[neighbour c]"; echo "$1"; } >>"$T_ROOT/b/amesh.conf.new"
	mv "$T_ROOT/b/amesh.conf.new" "$T_ROOT/b/amesh.conf"
}
reload_b() {
	local n
	n=$(grep -c "SIGHUP: reloaded" "$T_ROOT/b/ameshd.log")
	signal b HUP
	wait_until 10 sh -c "[ \$(grep -c 'SIGHUP: reloaded' '$T_ROOT/b/ameshd.log') -gt $n ]" || fail "b acknowledged the reload"
}
restart_b() { stop b; start b || fail "b starts again"; }
sub() { amp a submit "$1" --category "$2" --confidence 80 --ttl 1d >/dev/null || fail "a submits $1"; }
write_b "$WIDE"
for p in a b c; do start "$p" || exit 1; done

# 1. narrowed by a reload, then restarted
sub one.example.com phishing
check "c gets phishing under the wide policy" wait_until 10 has c one.example.com
write_b "$NARROW"
reload_b
restart_b
sub stays-home.example.com phishing
amp a withdraw one.example.com --category phishing >/dev/null || fail "a withdraws one.example.com"
check "c gets the withdrawal of what it got before the narrowing and the restart" wait_until 15 not has c one.example.com
check "... while a new phishing flag stays home after the restart" not has c stays-home.example.com
check "b's audit shares the withdrawal with c" grep -q "shared phishing on one.example.com (origin [0-9a-f]*) with c (a withdrawal)" <<<"$(amp b audit one.example.com)"
# the narrowing restarted c's sync over b's log: the flag c got before is
# kept now, and the trail says c may hold it (it read "kept ... from c"
# right after "shared ... with c", as if c never got it)
check "b's audit says the flag kept since the narrowing went out before" \
	grep -q "kept phishing on one.example.com (origin [0-9a-f]*) from c: rule \`category' - not sent again: the policy in force since a reload keeps it; one it replaced let it out, so the neighbour may hold it" <<<"$(amp b audit one.example.com)"

# 2. narrowed while b was stopped
write_b "$WIDE"
reload_b
sub two.example.com phishing
check "c gets two.example.com under the wide policy again" wait_until 10 has c two.example.com
stop b
write_b "$NARROW"
start b || fail "b starts with the narrowed policy"
amp a withdraw two.example.com --category phishing >/dev/null || fail "a withdraws two.example.com"
check "c gets the withdrawal of what it got before a narrowing made while b was stopped" wait_until 15 not has c two.example.com

# 3. the history outlives a second restart, and a restart with the same
#    policy keeps it (it is not a new policy replacing the kept one)
write_b "$WIDE"
reload_b
sub three.example.com phishing
check "c gets three.example.com" wait_until 10 has c three.example.com
write_b "$NARROW"
reload_b
restart_b
restart_b
amp a withdraw three.example.com --category phishing >/dev/null || fail "a withdraws three.example.com"
check "c gets the withdrawal after two restarts under the narrowed policy" wait_until 15 not has c three.example.com
check "export-history is 0600" test "$(stat -c %a "$T_ROOT/b/data/export-history")" = 600

# 4. a withdrawal goes back the way a dispute of it came, whatever the
#    policy (and its history) says: c filed a dispute, b lost the history
#    that sent c the flag (a data directory from before export-history),
#    and the origin's withdraw answer reached c while the withdrawal stayed
#    at b - c read "withdrawn" in `amesh disputes' and kept blocking
write_b "$WIDE"
reload_b
sub four.example.com phishing
check "c gets four.example.com" wait_until 10 has c four.example.com
amp c dispute four.example.com --category phishing --reason "our shop" >/dev/null || fail "c files a dispute"
check "the dispute reaches the origin" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' disputes --open | grep -q four.example.com"
stop b
rm -f "$T_ROOT/b/data/export-history"
write_b "$NARROW"
start b || fail "b starts narrowed, with no history"
did=$(amp a --json disputes --open | grep four.example.com | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
amp a dispute answer "${did:-none}" withdraw --reason "confirmed false positive" >/dev/null || fail "a answers withdraw"
check "c gets the answer" wait_until 15 sh -c "'$AMESH' -s '$T_ROOT/c/run/amesh.sock' disputes | grep four.example.com | grep -q withdrawn"
check "... and the withdrawal: the name leaves c" wait_until 15 not has c four.example.com
check "b's audit shares the withdrawal with c" grep -q "shared phishing on four.example.com (origin [0-9a-f]*) with c (a withdrawal)" <<<"$(amp b audit four.example.com)"
sub five.example.com phishing
check "b holds five.example.com back from c by its category rule" wait_until 10 grep -q "held_back five.example.com phishing [0-9a-f]* c category" "$T_ROOT/b/data/audit.log"
check "... while a new phishing flag still stays home" not has c five.example.com

finish

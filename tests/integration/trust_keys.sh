#!/usr/bin/env bash
# trust_keys.sh - what an admin does with keys, against running daemons:
# trust, distrust and revoke take effect without a restart; a revoked
# origin's indicators vanish from queries on every peer that applies the
# revocation (local, and self-revocation through the mesh); a rotation is
# held for approval or accepted automatically; a broken trust store stops
# start-up.
#
#   a dials b; c dials b. c knows a only as an origin. b takes c's key
#   rotations automatically and holds a's for approval.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
link c b 2
trust c a origin; trust a c origin
echo "rotation = auto" >>"$T_ROOT/b/amesh.conf" # the last section is b's [neighbour c]
for p in a b c; do start "$p" || exit 1; done
k() { local p=$1; shift; "$AMESH" -c "$T_ROOT/$p/amesh.conf" keys "$@"; }
kj() { local p=$1; shift; "$AMESH" -c "$T_ROOT/$p/amesh.conf" --json keys "$@"; }

amp a submit from-a.example.com --category phishing --confidence 80 --ttl 1d >/dev/null
amp c submit from-c.example.com --category malware --confidence 70 --ttl 1d >/dev/null
check "b has a's indicator" wait_until 10 has b from-a.example.com
check "c has a's indicator through b" wait_until 10 has c from-a.example.com

# --- distrust and re-trust through the running daemon ---
expect_exit 0 "distrust c on running b" k b distrust c
check "the CLI says the daemon applied it" grep -q "applied" <<<"$T_OUT"
check "... and warns the config still names [neighbour c], which the next start refuses" grep -q "warning: $T_ROOT/b/amesh.conf:[0-9]* still has \[neighbour c\]: ameshd has dropped the link, but will refuse to start.*remove the section before the next restart, or trust its key again (amesh -c $T_ROOT/b/amesh.conf keys trust PUBKEY --name c)" <<<"$T_ERR"
amp c submit after-distrust.example.com --category spam --confidence 10 --ttl 1d >/dev/null
# "not held" means something only once c has tried to deliver it: wait for
# b to refuse a handshake c attempted after it originated the indicator
c_refused_after_submit() {
	awk '/originated after-distrust.example.com/ { seen = 1 } seen && /handshake with b .* refused/ { found = 1 } END { exit !found }' "$T_ROOT/c/ameshd.log"
}
check "c tried b again after the submit and b refused it" wait_until 10 c_refused_after_submit
check "distrusted c can no longer deliver to b" not has b after-distrust.example.com
check "b logged the trust change" grep -q "trust store reloaded" "$T_ROOT/b/ameshd.log"
# once: the dry run of the new trust store (reload_locked's probe) logged it too
check "b logged the dropped link once" test "$(grep -c "neighbour c is no longer in the trust store: its link is dropped" "$T_ROOT/b/ameshd.log")" -eq 1
expect_exit 0 "trust c again on running b" k b trust "$T_ROOT/c/amesh.key.pub" --name c --as neighbour
check "c delivers again without any restart" wait_until 15 has b after-distrust.example.com

# --- local revocation: a's indicators vanish from c's answers at once ---
expect_exit 0 "revoke a on running c" k c revoke a --reason "key reported stolen"
check "... no note: a is c's origin, not its neighbour" not grep -q "still has" <<<"$T_ERR"
check "a's indicator no longer answered on c" not has c from-a.example.com
check "c's list no longer shows a's indicator" not grep -q from-a.example.com <<<"$(amp c list)"
check "re-trusting a revoked key needs --force" not k c trust "$T_ROOT/a/amesh.key.pub" --name a2 --as origin
expect_exit 0 "re-trust with --force" k c trust "$T_ROOT/a/amesh.key.pub" --name a --as origin --force
check "a's indicator answered again on c" wait_until 5 has c from-a.example.com

# --- rotation held for approval (b holds a's) ---
expect_exit 0 "a rotates its key (published through its daemon)" k a rotate
check "the old key is kept aside" ls "$T_ROOT"/a/amesh.key.retired-* >/dev/null
check "b holds a's rotation for approval" wait_until 15 sh -c "'$AMESH' -c '$T_ROOT/b/amesh.conf' keys pending | grep -q '^a '"
check "b's audit trail records the pending rotation" wait_until 5 grep -q "rotation_pending" "$T_ROOT/b/data/audit.log"
stop a; start a || exit 1   # a now signs with its new key
amp a submit new-key.example.com --category botnet --confidence 60 --ttl 1d >/dev/null
check "during the overlap b accepts a's new key" wait_until 15 has b new-key.example.com
expect_exit 0 "b's admin approves the rotation" k b approve a
check "after approval the old key is retired, the new current" grep -q '"retired"' <<<"$(kj b show a)"
check "a's old indicator stays attributable on b" has b from-a.example.com
amp a submit after-approve.example.com --category botnet --confidence 60 --ttl 1d >/dev/null
check "a (new key) still delivers to b after approval" wait_until 15 has b after-approve.example.com

# --- rotation accepted automatically (b auto-accepts c's) ---
current_key() { kj "$1" show "$2" | grep -o '"key_id":"[0-9a-f]*"' | head -1; }
old_c=$(current_key b c)
c_rotated() { [ -n "$old_c" ] && [ "$(current_key b c)" != "$old_c" ]; }
expect_exit 0 "c rotates its key" k c rotate
check "b accepted c's rotation automatically" wait_until 15 c_rotated
check "c's old key is now retired on b" grep -q "\"retired\":\[{$old_c" <<<"$(kj b show c)"
check "nothing pending for c on b" not grep -q "^c " <<<"$(k b pending)"
stop c; start c || exit 1
amp c submit c-new-key.example.com --category spam --confidence 20 --ttl 1d >/dev/null
check "c's new key links and delivers to b" wait_until 15 has b c-new-key.example.com
check "c's old indicator stays on b" has b from-c.example.com
# one origin under two keys: list --origin NAME shows both, a key id one
check "b lists c's signals by name, under its old key and its new" test "$(amp b list --origin c | grep -c 'from-c.example.com\|c-new-key.example.com')" = 2
check "... and no other origin's" not grep -q "from-a.example.com" <<<"$(amp b list --origin c)"
# c's own indicator signed with its retired key is still c's after the
# restart: it answered for it no more (an origin it did not trust), and
# 'amesh withdraw' said it was another origin's - recourse lost to a
# rotation. Now c shows it, withdraws it signed with the old key, and b
# (which retired that key) takes the withdrawal.
check "c still answers for its own pre-rotation indicator" has c from-c.example.com
check "... as its own (self)" grep -q "from-c.example.com" <<<"$(amp c list)"
# ... and answers a dispute on it, signed with the key that signed it (it
# was refused as another origin's indicator)
disputes_json() { amp "$1" --json disputes; }
has_dispute() { disputes_json "$1" | grep "\"domain\":\"$3\"" | grep -q "\"state\":\"$2\""; }
expect_exit 0 "b files a dispute on c's pre-rotation indicator" amp b dispute from-c.example.com --category malware --reason "the site was cleaned"
check "the dispute reaches c" wait_until 15 has_dispute c open from-c.example.com
did=$(disputes_json c | grep '"domain":"from-c.example.com"' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_exit 0 "c answers it (signed with the retired key)" amp c dispute answer "$did" uphold --reason "still serving malware"
check "b records c's answer" wait_until 15 has_dispute b upheld from-c.example.com
check "... and the indicator stays" has b from-c.example.com
expect_exit 0 "c withdraws its pre-rotation indicator" amp c withdraw from-c.example.com --category malware
check "... and the withdrawal, signed with the retired key, reaches b" wait_until 15 not has b from-c.example.com
check "b's audit trail says its origin withdrew it" wait_until 5 grep -q "withdrawn.*from-c.example.com" "$T_ROOT/b/data/audit.log"
check "the withdrawal answered the upheld dispute withdraw, at c" has_dispute c withdrawn from-c.example.com
check "... signed with the retired key, so b takes that answer too" wait_until 15 has_dispute b withdrawn from-c.example.com

# --- self-revocation travels through the mesh ---
# c is offline until b has applied the revocation: b must still relay a
# statement whose key it no longer trusts
stop c
expect_exit 0 "a revokes its own key" k a revoke --self --reason "laptop stolen"
a_revoked_on() { kj "$1" show a | grep -q '"revoked":true'; }
check "b applies a's self-revocation" wait_until 15 a_revoked_on b
start c || exit 1
check "c applies it after b applied it (still relayed)" wait_until 15 a_revoked_on c
check "a's indicators vanish from b's answers" wait_until 5 not has b after-approve.example.com
check "c applies it too (relayed by b)" wait_until 15 not has c after-approve.example.com
check "b's audit trail records the revocation" grep -q "trust_revoked" "$T_ROOT/b/data/audit.log"

# A revoked neighbour: the daemon runs with its link down, so --check
# (systemd's ExecStartPre) must pass it with a warning - it failed, and a
# revocation took the whole peer down at its next restart.
expect_exit 0 "--check passes b with neighbour a's key revoked" "$AMESHD" -c "$T_ROOT/b/amesh.conf" --check
check "... warning that a's link stays down" grep -q "amesh.conf:[0-9]*: warning: neighbour \`a' has a revoked key in .*: its link stays down" <<<"$T_ERR"
stop b
check "b restarts with neighbour a revoked" start b
# A distrusted neighbour still in the config: the start refuses it, as
# the CLI said at the time, naming the line and both ways out.
expect_exit 0 "b distrusts c" k b distrust c
stop b
expect_exit 1 "b's restart refuses the distrusted neighbour still configured" "$AMESHD" -c "$T_ROOT/b/amesh.conf"
check "... naming the file, it, its line, the trust store and both ways out, with the command" grep -q "^ameshd: $T_ROOT/b/amesh.conf: neighbour \`c' (config line [0-9]*) is not in the trust store $T_ROOT/b/trust.conf (distrusted, or never trusted): remove its \[neighbour c\] section, or trust its key under that name: amesh -c $T_ROOT/b/amesh.conf keys trust PUBKEY --name c\$" <<<"$T_ERR"
expect_exit 1 "--check says the same config is not valid" "$AMESHD" -c "$T_ROOT/b/amesh.conf" --check
check "... for neighbour c, at its line, with the same ways out" grep -q "^$T_ROOT/b/amesh.conf:[0-9]*: neighbour \`c' is not in the trust store $T_ROOT/b/trust.conf (distrusted, or never trusted): remove its \[neighbour c\] section, or trust its key under that name: amesh -c $T_ROOT/b/amesh.conf keys trust PUBKEY --name c\$" <<<"$T_ERR"

# --- a trust store that cannot be read stops start-up (fail closed) ---
stop c
printf '[broken\nkey = nonsense\n' >>"$T_ROOT/c/trust.conf"
expect_exit 1 "a malformed trust store stops ameshd" "$AMESHD" -c "$T_ROOT/c/amesh.conf"
check "the refusal names the trust store and line" grep -q "trust.conf:[0-9]" <<<"$T_ERR"
finish

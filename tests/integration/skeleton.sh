#!/usr/bin/env bash
# skeleton.sh - one real peer, driven through the real amesh binary:
# submit, query, withdraw, kill -9, restart, and every acknowledged
# indicator is still there. Plus the operator-facing error paths.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

P=$T_ROOT/apnic
S=$P/run/amesh.sock
am() { "$AMESH" -s "$S" "$@"; }

expect_exit 0 "init creates a peer" "$AMESH" init "$P" --name apnic
check "secret key is mode 0600" test "$(stat -c %a "$P/amesh.key")" = 600
check "data dir is private" test "$(stat -c %a "$P/data")" = 700
expect_exit 2 "init refuses to overwrite a peer" "$AMESH" init "$P" --name other
expect_exit 0 "the written config validates" "$AMESHD" -c "$P/amesh.conf" --check

# the CLI without a daemon: one line, exit 2
expect_exit 2 "no daemon: clear error" am status
check "no daemon: says so in one line" test "$(printf '%s\n' "$T_ERR" | wc -l)" -eq 1
check "no daemon: names the socket" grep -q "$S" <<<"$T_ERR"

start_peer "$P" || exit 1
check "socket is 0660" test "$(stat -c %a "$S")" = 660
check "socket directory is closed to others" test "$(( 0$(stat -c %a "$P/run") & 07 ))" -eq 0

# submit a batch and remember every acknowledged id
: >"$T_ROOT/acked"
for i in $(seq 1 40); do
	cat=$( case $((i % 5)) in 0) echo phishing;; 1) echo malware;; 2) echo botnet;; 3) echo pharming;; 4) echo spam;; esac )
	if out=$(am --json submit "host$i.Example-$i.ORG." --category "$cat" --confidence $((i * 2)) --ttl 7d); then
		id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' <<<"$out")
		echo "host$i.example-$i.org $id" >>"$T_ROOT/acked"
	fi
done
check "40 submissions acknowledged" test "$(wc -l <"$T_ROOT/acked")" -eq 40
expect_exit 0 "submit prints normalised domain and id" am submit "MÜNCHEN-test.de" --category spam --confidence 10 --ttl 1d
check "IDN submitted in A-label form" grep -q '^stored xn--mnchen-test-thb.de spam' <<<"$T_OUT"
check "submit prints a 64-hex id" grep -Eq '^id [0-9a-f]{64}$' <<<"$T_OUT"

expect_exit 0 "query matches a parent domain" am query deep.sub.host7.example-7.org
check "parent match reports the stored name" grep -q 'host7.example-7.org  botnet' <<<"$T_OUT"
expect_exit 1 "query with no match exits 1" am query clean.example.net
expect_exit 0 "query - reads stdin" am query - < <(printf 'clean.example.net\nhost3.example-3.org\n')
expect_exit 1 "query of a public suffix matches nothing (issue 9)" am query co.uk
check "... and says nothing on stderr" test -z "$T_ERR"

# withdraw one, and it stays withdrawn across the crash
expect_exit 0 "withdraw own indicator" am withdraw host5.example-5.org --category phishing
expect_exit 1 "withdrawn indicator no longer matches" am query host5.example-5.org
expect_exit 2 "withdrawing again is a clear error" am withdraw host5.example-5.org --category phishing

# operator errors: each one line, exit 2, nothing stored
before=$(am --json status | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
expect_exit 2 "unknown category" am submit bad.example.com --category scam --confidence 5 --ttl 1d
check "unknown category error names it" grep -q "scam" <<<"$T_ERR"
expect_exit 2 "confidence over 100" am submit bad.example.com --category spam --confidence 101 --ttl 1d
expect_exit 2 "expiry is mandatory" am submit bad.example.com --category spam --confidence 5
expect_exit 2 "expiry in the past" am submit bad.example.com --category spam --confidence 5 --expires 2001-01-01T00:00:00Z
check "... quotes the time as given" grep -q "\`2001-01-01T00:00:00Z' is not in the future" <<<"$T_ERR"
check "... not as seconds" not grep -q "978307200" <<<"$T_ERR"
expect_exit 2 "expiry beyond max lifetime" am submit bad.example.com --category spam --confidence 5 --ttl 365d
# now + ttl wrapped past 2^64: the error quoted a time before now
expect_exit 2 "a --ttl past 2^64 seconds from now" am submit bad.example.com --category spam --confidence 5 \
	--ttl 18446744073709551615s
check "... quotes the --ttl, not a wrapped expiry" grep -q "\`18446744073709551615s' reaches past any time" <<<"$T_ERR"
expect_exit 2 "public suffix refused" am submit blogspot.com --category spam --confidence 5 --ttl 1d
check "public suffix error says which rule" grep -q "public suffix" <<<"$T_ERR"
expect_exit 2 "IP address refused" am submit 192.0.2.1 --category spam --confidence 5 --ttl 1d
expect_exit 2 "wildcard refused" am submit '*.evil.example.com' --category spam --confidence 5 --ttl 1d
after=$(am --json status | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
check "rejected submissions changed nothing" test "$before" = "$after"

# crash: kill -9 and restart; every acknowledged indicator must still be there
pid=$(cat "$P/pid"); kill -9 "$pid"; wait_gone "$pid"
sleep 0.2
start_peer "$P" || exit 1
missing=0
while read -r dom id; do
	[ "$dom" = host5.example-5.org ] && continue
	out=$(am --json query "$dom") || true
	grep -q "\"id\":\"$id\"" <<<"$out" || { missing=$((missing + 1)); echo "missing after kill -9: $dom $id"; }
done <"$T_ROOT/acked"
check "every acknowledged indicator survived kill -9" test "$missing" -eq 0
expect_exit 1 "withdrawal survived kill -9" am query host5.example-5.org
expect_exit 0 "list after restart" am --json list --limit 100
check "list shows 40 live signals" test "$(wc -l <<<"$T_OUT")" -eq 40

# kill -9 in the middle of a bulk submission: the CLI says how far it got
# and that a rerun is safe (it said only "no answer from ameshd"), and
# every name it counted as stored is there after the restart
live_before=$(am --json status | sed -n 's/.*"live":\([0-9]*\).*/\1/p')
seq 1 200000 | sed 's/^/bulk/; s/$/.example.net/' >"$T_ROOT/bulk.txt"
am submit - --category spam --confidence 10 --ttl 1d <"$T_ROOT/bulk.txt" >"$T_ROOT/bulk.out" 2>"$T_ROOT/bulk.err" &
bulk=$!
wait_until 60 sh -c "[ \$('$AMESH' -s '$S' --json status | sed -n 's/.*\"live\":\([0-9]*\).*/\1/p') -gt $((live_before + 2000)) ]"
pid=$(cat "$P/pid"); kill -9 "$pid"; wait_gone "$pid"
wait "$bulk"; brc=$?
check "the interrupted bulk submission exits 2" test "$brc" -eq 2
check "... and says how far it got and that a rerun is safe" grep -q "stopped after [0-9]* of the names read: [0-9]* acknowledged by the daemon ([0-9]* stored, 0 unchanged, 0 refused); the other [0-9]* may or may not be stored - submitting the same input again is safe" "$T_ROOT/bulk.err"
acked=$(sed -n 's/.*acknowledged by the daemon (\([0-9]*\) stored.*/\1/p' "$T_ROOT/bulk.err")
start_peer "$P" || exit 1
live_after=$(am --json status | sed -n 's/.*"live":\([0-9]*\).*/\1/p')
check "every name it counted as stored survived (${acked:-?} acknowledged, $((live_after - live_before)) live)" test "$((live_after - live_before))" -ge "${acked:-999999999}"
expect_exit 0 "the rerun of the same input completes" am submit - --category spam --confidence 10 --ttl 1d <"$T_ROOT/bulk.txt"
check "... storing only what was missing" grep -q "200000 names submitted: $((200000 - (live_after - live_before))) stored, $((live_after - live_before)) unchanged" <<<"$T_OUT"

# A second ameshd on the running peer's data_dir (a systemd start beside
# a manual one, a copied config) is refused before it opens anything: it
# used to open the store and append to the audit trail beside the first,
# which then read "chain broken" and refused its next start.
cp "$P/amesh.conf" "$T_ROOT/twin.conf"
sed -i "s|^# data_dir = .*|data_dir = $P/data|; s|^# key = .*|key = $P/amesh.key|; s|^# trust = .*|trust = $P/trust.conf|; s|^# control = .*|control = $T_ROOT/twin.sock|" "$T_ROOT/twin.conf"
expect_exit 1 "a second ameshd on the same data_dir is refused" timeout 10 "$AMESHD" -c "$T_ROOT/twin.conf"
check "... saying the data_dir is in use, by which pid" grep -q "data_dir \`$P/data' is in use by another ameshd (pid $(cat "$P/pid"))" <<<"$T_ERR"
check "... and the twin's control socket was never made" test ! -e "$T_ROOT/twin.sock"
am submit twin.example.com --category spam --confidence 5 --ttl 1d >/dev/null
expect_exit 0 "the first peer's audit trail is intact" am audit --verify
# A second start of the same peer fails on its control socket; it used to
# unlink the running daemon's socket on the way out, leaving it unreachable.
sed -i "s|^data_dir = .*|data_dir = $T_ROOT/twin-data|; s|^control = .*|control = $S|" "$T_ROOT/twin.conf"
expect_exit 1 "a second daemon on the same control socket is refused" timeout 10 "$AMESHD" -c "$T_ROOT/twin.conf"
check "... naming the socket" grep -q "$S" <<<"$T_ERR"
check "... and the running peer still answers on it" am status
# the same with both the config and everything in it the first's
expect_exit 1 "ameshd started twice on one config is refused" timeout 10 "$AMESHD" -c "$P/amesh.conf"
check "... and the running peer still answers" am status

# a secret key others can read stops the daemon from starting
Q=$T_ROOT/cert
"$AMESH" init "$Q" --name cert >/dev/null
chmod 0644 "$Q/amesh.key"
expect_exit 1 "world-readable secret key refused" "$AMESHD" -c "$Q/amesh.conf"
check "refusal says how to fix it" grep -q "chmod 600" <<<"$T_ERR"
# --check (systemd's ExecStartPre) finds what the start would stop at; it
# said "configuration is valid" for a peer that could not start
expect_exit 1 "--check refuses the world-readable key too" "$AMESHD" -c "$Q/amesh.conf" --check
check "... naming it the default key, with the fix" grep -q "amesh.conf: key (the default): $Q/amesh.key: .*chmod 600" <<<"$T_ERR"
chmod 0600 "$Q/amesh.key"
cp "$Q/amesh.conf" "$Q/missing.conf"
sed -i "s|^# key = .*|key = ops.key|; s|^# data_dir = .*|data_dir = gone/data|" "$Q/missing.conf"
kline=$(grep -n '^key = ops.key' "$Q/missing.conf" | cut -d: -f1)
dline=$(grep -n '^data_dir = gone/data' "$Q/missing.conf" | cut -d: -f1)
expect_exit 1 "--check: a missing key file and a data_dir that cannot be made" "$AMESHD" -c "$Q/missing.conf" --check
check "... the key with the line that names it" grep -q "missing.conf:$kline: key: $Q/ops.key: cannot open secret key: No such file or directory" <<<"$T_ERR"
check "... the data_dir with its line" grep -q "missing.conf:$dline: data_dir: \`$Q/gone/data' cannot be made" <<<"$T_ERR"
check "... and no 'valid'" not grep -q "configuration is valid" <<<"$T_OUT"
expect_exit 1 "the daemon stops at the same key" "$AMESHD" -c "$Q/missing.conf"
check "... and says the same line" grep -q "missing.conf:$kline: key: " <<<"$T_ERR"
expect_exit 0 "--check passes the fixed peer" "$AMESHD" -c "$Q/amesh.conf" --check
# a weight for a name the trust store does not hold applies to no origin:
# --check said "valid" and the misspelt origin kept default_weight
sed 's/^# origin_weights = .*/origin_weights = apnic:0.9, cert-xx:0.7/' "$Q/amesh.conf" >"$Q/weights.conf"
expect_exit 0 "--check passes origin_weights naming untrusted origins" "$AMESHD" -c "$Q/weights.conf" --check
wline=$(grep -n '^origin_weights' "$Q/weights.conf" | cut -d: -f1)
check "... warning for each, with its line" test "$(grep -c "weights.conf:$wline: warning: origin_weights: \`\(apnic\|cert-xx\)' is not in the trust store" <<<"$T_ERR")" -eq 2
# a [neighbour] section with neither categories line exchanges nothing
# (fail closed) while its link is up: --check called it "valid" in silence
"$AMESH" -c "$Q/amesh.conf" keys trust "$P/amesh.key.pub" --name peer-b >/dev/null || fail "cert trusts peer-b"
{ cat "$Q/amesh.conf"; echo; echo "[neighbour peer-b]"; echo "endpoint = tcp://127.0.0.1:7400"; } >"$Q/empty-nb.conf"
nline=$(grep -n '^\[neighbour peer-b\]' "$Q/empty-nb.conf" | cut -d: -f1)
expect_exit 0 "--check passes a neighbour with no policy (it fails closed)" "$AMESHD" -c "$Q/empty-nb.conf" --check
check "... and warns that nothing is exchanged, with its line" grep -q "empty-nb.conf:$nline: warning: \[neighbour peer-b\] sets neither export.categories nor import.categories: nothing is sent to it or accepted from it" <<<"$T_ERR"
{ cat "$Q/empty-nb.conf"; echo "export.categories = none"; } >"$Q/none-nb.conf"
expect_exit 0 "--check passes a neighbour given \`none'" "$AMESHD" -c "$Q/none-nb.conf" --check
check "... without that warning" not grep -q "sets neither" <<<"$T_ERR"

# a passphrase-protected key: refused without it, wrong one refused, and an
# unattended start reads it from a descriptor (never from argv)
L=$T_ROOT/locked
"$AMESH" init "$L" --name locked >/dev/null
rm -f "$L/amesh.key" "$L/amesh.key.pub"
expect_exit 0 "generate a passphrase-protected key" "$AMESH" keys generate -o "$L/amesh.key" --passphrase-fd 3 3<<<"correct horse"
check "the secret file is sealed with Argon2id (kdf tag Ar)" test "$(sed -n 2p "$L/amesh.key" | base64 -d 2>/dev/null | head -c 4 | tail -c 2)" = Ar
check "an unprotected key carries the no-kdf tag" test "$(sed -n 2p "$P/amesh.key" | base64 -d 2>/dev/null | head -c 4 | tail -c 2)" = -- 
expect_exit 1 "no passphrase given: ameshd refuses" "$AMESHD" -c "$L/amesh.conf"
check "and says the key is passphrase-protected" grep -qi "passphrase" <<<"$T_ERR"
expect_exit 1 "wrong passphrase: ameshd refuses" "$AMESHD" -c "$L/amesh.conf" --passphrase-fd 3 3<<<"wrong horse"
"$AMESHD" -c "$L/amesh.conf" --passphrase-fd 3 3<<<"correct horse" >>"$L/ameshd.log" 2>&1 &
lp=$!; disown $lp; T_PIDS+=("$lp")
check "right passphrase from a descriptor: the peer starts" wait_until 10 "$AMESH" -s "$L/run/amesh.sock" status
expect_exit 0 "and signs with the unlocked key" "$AMESH" -s "$L/run/amesh.sock" submit locked.example.com --category spam --confidence 5 --ttl 1d

# a broken config is reported with line numbers
printf '[peer]\nname = x\nmax_lifetime = 90days\nbogus = 1\n' >"$T_ROOT/bad.conf"
expect_exit 1 "--check rejects a bad config" "$AMESHD" -c "$T_ROOT/bad.conf" --check
check "--check gives the line of the bad duration" grep -q "bad.conf:3:" <<<"$T_ERR"
check "--check gives the line of the unknown option" grep -q "bad.conf:4:" <<<"$T_ERR"

finish

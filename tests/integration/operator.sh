#!/usr/bin/env bash
# operator.sh - the operator's interface on real daemons: verdicts combining
# weighted origins, allowlists (plain and MISP warninglist), a 100k-name bulk
# query with exactly the expected matches, the live watch (in order; a
# stalled watcher is dropped without hurting ingest), the audit trail (and a
# one-byte edit detected), and the transparency report's numbers.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2
link b a 1
cat >"$T_ROOT/a/allow.txt" <<'L'
# our own infrastructure
ns1.operator.example
L
cat >"$T_ROOT/a/google.json" <<'J'
{"description": "known google domains", "list": ["google.com", "googlevideo.com"],
 "matching_attributes": ["hostname", "domain"], "name": "List of known google domains",
 "type": "hostname", "version": 20260101}
J
sed -i "s|^\[peer\]|[peer]\nallowlist = allow.txt, google.json\norigin_weights = b:0.5\nwatch_buffer = 64|" "$T_ROOT/a/amesh.conf"
check "a's config with allowlists and weights validates" "$AMESHD" -c "$T_ROOT/a/amesh.conf" --check
# a stamps its control requests (AMESH_TRACE, peer/trace.c): the watch
# tests below wait on them for a freed watcher slot instead of a sleep
mkdir -p "$T_ROOT/tr.a"
AMESH_TRACE="$T_ROOT/tr.a" start a || exit 1; start b || exit 1

# watch_bg DIR ARGS...: `amesh ARGS' in the background, stamping into DIR;
# watch_in DIR: it has its first answer, so it follows every later change
# (a watch's first request fixes its cursor at the feed's head, at once)
watch_bg() { local d=$1; shift; mkdir -p "$d"; AMESH_TRACE=$d "$@" & }
watch_in() { grep -qs ' cli_reply ' "$1"/trace.*; }
# ctl_idle: no control request in a's hands - every watcher's long-poll
# (and so its slot) is over. A killed watcher's poll runs on to its end
# (5 s, or the next change), so this is when its slot is free again.
ctl_idle() {
	local f; f="$T_ROOT/tr.a/trace.$(cat "$T_ROOT/a/pid")"
	[ "$(grep -c ' ctl_claimed ' "$f")" -eq "$(grep -c ' ctl_handled ' "$f")" ]
}

# --- verdicts: a's own 80 (weight 1) and b's 60 (weight 0.5) ---
amp a submit evil.example.com --category phishing --confidence 80 --ttl 1d >/dev/null
amp b submit evil.example.com --category phishing --confidence 60 --ttl 1d >/dev/null
amp b submit www.evil.example.com --category phishing --confidence 90 --ttl 1d >/dev/null
# all three signals: counted by a key only a signal has - origin_key_id is
# in the verdict's contributions too, so its count reached 4 with a's and
# b's on evil alone, and the verdict below was 86, b's www not yet there
check "b's reports reach a" wait_until 10 sh -c "[ \$('$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json query www.evil.example.com | grep -o '\"local_confidence\"' | wc -l) -ge 3 ]"
out=$(amp a --json query www.evil.example.com)
# b counts once, on the most specific name (90 x 0.5 = 0.45): 1 - 0.2 x 0.55 = 0.89
check "verdict combines a (80) and b (90 x 0.5) to 89" grep -q '"category":"phishing","score":89.0,"level":"block"' <<<"$out"
check "b counts once, on the most specific name" test "$(grep -o '"contributions":\[[^]]*\]' <<<"$out" | grep -o '"p":' | wc -l)" -eq 2
check "the contributions explain the weight" grep -Eq '"weight":0.5[,}]' <<<"$out"
out=$(amp a query evil.example.com)
# b's 90 is on a child name, so here: 1 - 0.2 x (1 - 0.6 x 0.5) = 0.86
check "text verdict names level and score" grep -q "verdict phishing  block .*score  86.0" <<<"$out"

# --- withdrawing what this peer did not submit: say whose it is and what
# to do instead (it said only "this peer has no live indicator to withdraw")
expect_exit 2 "a withdraws b's indicator" amp a withdraw www.evil.example.com --category phishing
check "... says the one held is origin b's" grep -q "www.evil.example.com/phishing: the indicator held here is origin [0-9a-f]\\{16\\} (b)'s, not this peer's: only its origin withdraws it" <<<"$T_ERR"
check "... and points at a dispute" grep -q "to contest it: amesh dispute www.evil.example.com --category phishing --reason TEXT" <<<"$T_ERR"
expect_exit 2 "a withdraws a name nobody flagged" amp a withdraw nothing.example.com --category phishing
check "... says there is nothing" grep -q "nothing.example.com/phishing: this peer has no live indicator to withdraw" <<<"$T_ERR"
amp a submit twice.example.com --category spam --confidence 10 --ttl 1d >/dev/null
amp a withdraw twice.example.com --category spam >/dev/null
expect_exit 2 "a withdraws its own indicator twice" amp a withdraw twice.example.com --category spam
check "... says it withdrew it already, and when" grep -q "twice.example.com/spam: this peer withdrew its indicator already, at 20[0-9-]*T" <<<"$T_ERR"

# --- allowlist: still stored, verdict says why ---
amp b submit mail.google.com --category phishing --confidence 95 --ttl 1d >/dev/null
# issue 9: a peer does not flag what it has itself declared good...
expect_exit 2 "a's own allowlisted name is refused at submission" amp a submit ns1.operator.example --category malware --confidence 99 --ttl 1d
check "... naming the entry and the list" grep -q "allowlisted by \`ns1.operator.example' in allow.txt" <<<"$T_ERR"
# ...unless the operator insists
amp a submit ns1.operator.example --category malware --confidence 99 --ttl 1d --force >/dev/null
check "the allowlisted name still arrives (stored and relayed)" wait_until 10 has a mail.google.com
out=$(amp a --json query mail.google.com)
check "warninglist entry makes the verdict allowlisted" grep -q '"level":"allowlisted","reason":"allowlisted by `google.com'"'"' in List of known google domains"' <<<"$out"
check "plain allowlist works for subdomains" grep -q '"level":"allowlisted"' <<<"$(amp a --json query www.ns1.operator.example)"

# --- paper cuts (issue 8, item 9) ---
expect_exit 0 "init makes the missing parent directories" "$AMESH" init "$T_ROOT/new/deep/peer" --name deep
check "... and the peer it makes validates" "$AMESHD" -c "$T_ROOT/new/deep/peer/amesh.conf" --check
expect_exit 0 "--json rpz with no [rpz] zones" amp a --json rpz
check "... still prints a JSON document, an empty zone list" test "$T_OUT" = '{"zones":[]}'
expect_exit 2 "-s naming a socket that does not exist" "$AMESH" -s "$T_ROOT/nonexist.sock" status
check "... says it does not exist, quoting the path" grep -q "at \`$T_ROOT/nonexist.sock': the control socket does not exist" <<<"$T_ERR"
check "... and why that may be" grep -q "ameshd is not running, or the path is wrong" <<<"$T_ERR"
check "... not 'Connection refused'" not grep -qi "connection refused" <<<"$T_ERR"
# AMESH_SOCKET at something that is no socket: a wrong path, said so
# (it said "Connection refused ... is ameshd running?")
AMESH_SOCKET=/etc/passwd expect_exit 2 "AMESH_SOCKET naming a regular file" "$AMESH" status
check "... says it is a regular file, not a socket" grep -q "at \`/etc/passwd': it is a regular file, not a socket" <<<"$T_ERR"
AMESH_SOCKET=$T_ROOT expect_exit 2 "AMESH_SOCKET naming a directory" "$AMESH" status
check "... says it is a directory" grep -q "it is a directory, not a socket" <<<"$T_ERR"
# -s or -c with its value missing (it said "unknown option `-s'" before
# the command and "unexpected argument `-s'" after it)
expect_exit 2 "-s with no value before the command" "$AMESH" -s
check "... says -s needs a value" grep -q "amesh: -s needs a value: the control socket" <<<"$T_ERR"
expect_exit 2 "-s with no value after the command" "$AMESH" status -s
check "... the same words" grep -q "amesh: -s needs a value" <<<"$T_ERR"
expect_exit 2 "-c with no value after a query's names" "$AMESH" query evil.example.com -c
check "... says -c needs the config file" grep -q "amesh: -c needs a value: the peer's config file" <<<"$T_ERR"
expect_exit 1 "a name -s after -- is a name" amp a query -- -s
# a refused argument leaves nothing behind, so the corrected retry works
expect_exit 2 "init refuses a bad --name" "$AMESH" init "$T_ROOT/badname" --name 'bad name!'
check "... quoting it" grep -q "bad name!" <<<"$T_ERR"
check "... and creates nothing" test ! -e "$T_ROOT/badname"
expect_exit 2 "init refuses a bad --listen" "$AMESH" init "$T_ROOT/badlisten" --name ok --listen http://x
check "... naming the option" grep -q -- "--listen" <<<"$T_ERR"
check "... and creates nothing" test ! -e "$T_ROOT/badlisten"
mkdir "$T_ROOT/existing"
expect_exit 2 "init into an existing DIR with a bad --name" "$AMESH" init "$T_ROOT/existing" --name 'x y'
check "... leaves no key behind" test ! -e "$T_ROOT/existing/amesh.key"
expect_exit 0 "the corrected retry succeeds" "$AMESH" init "$T_ROOT/existing" --name xy
expect_exit 0 "-c after the subcommand: keys list -c CONF" "$AMESH" keys list -c "$T_ROOT/a/amesh.conf"
check "... lists a's neighbour b" grep -q "b" <<<"$T_OUT"
expect_exit 0 "-s and --json after the subcommand: status -s SOCK --json" "$AMESH" status -s "$T_ROOT/a/run/amesh.sock" --json
check "... answers in JSON" grep -q '"name":"a"' <<<"$T_OUT"
expect_exit 0 "-c after a query's names" "$AMESH" query evil.example.com -c "$T_ROOT/a/amesh.conf"
check "... finds the name" grep -q "evil.example.com" <<<"$T_OUT"
expect_exit 2 "a word after an option taking a value is that value, not -c" "$AMESH" -s "$T_ROOT/a/run/amesh.sock" list --category -c "$T_ROOT/a/amesh.conf"
check "... and says which category it did not know" grep -q "unknown category \`-c'" <<<"$T_ERR"
# the README's neighbour example, pasted with its comments (apnic trusted
# first, so that --check has nothing else to say)
"$AMESH" keys generate -o "$T_ROOT/apnic.key" >/dev/null
"$AMESH" keys trust "$T_ROOT/apnic.key.pub" --name apnic --as neighbour -c "$T_ROOT/b/amesh.conf" >/dev/null
cp "$T_ROOT/b/amesh.conf" "$T_ROOT/b.conf.bak"
cat >>"$T_ROOT/b/amesh.conf" <<'C'
[neighbour apnic]                 # in dotasia's amesh.conf
endpoint = tcp://mesh.apnic.example:7400   # we dial; omit when they dial us
export.categories = all           # missing = share nothing (fail closed)
export.max_tlp = amber            # clear|green|amber|amber+strict
C
expect_exit 0 "a pasted config with inline # comments validates" "$AMESHD" -c "$T_ROOT/b/amesh.conf" --check
cp "$T_ROOT/b.conf.bak" "$T_ROOT/b/amesh.conf"

# --- bulk: 100k names, exactly the expected matches ---
for i in $(seq 1 50); do echo "host$i.bulk.example"; done | while read -r d; do
	amp a submit "$d" --category spam --confidence 40 --ttl 1d >/dev/null
done
awk 'BEGIN { for (i = 1; i <= 100000; i++) {
	if (i % 2000 == 0) printf "x%d.host%d.bulk.example\n", i, i / 2000;
	else printf "clean%d.resolver.example.net\n", i } }' >"$T_ROOT/names.txt"
"$AMESH" -s "$T_ROOT/a/run/amesh.sock" --json query - <"$T_ROOT/names.txt" >"$T_ROOT/bulk.out"
check "bulk query answers every one of 100000 names" test "$(wc -l <"$T_ROOT/bulk.out")" -eq 100000
check "exactly the 50 expected names match" test "$(grep -c '"signals":\[{' "$T_ROOT/bulk.out")" -eq 50
check "and they are the right ones" test "$(grep '"signals":\[{' "$T_ROOT/bulk.out" | grep -c '"name":"x[0-9]*000.host[0-9]*.bulk.example"')" -eq 50

# --- huge stdin: a line with no end (a binary piped in by mistake) ---
# query read each line whole: 100 MB without a newline was 100 MB of the
# CLI's memory before it was refused, and the refusal named no line
{ echo host1.bulk.example; head -c 100000000 /dev/zero | tr '\0' a; printf '\nhost2.bulk.example\n'; } >"$T_ROOT/huge.txt"
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M' -o "$T_ROOT/huge.rss" "$AMESH" -s "$T_ROOT/a/run/amesh.sock" query - <"$T_ROOT/huge.txt" >"$T_ROOT/huge.out" 2>"$T_ROOT/huge.err"
	check "a 100 MB line costs the CLI no 100 MB (peak $(cat "$T_ROOT/huge.rss") KB)" test "$(cat "$T_ROOT/huge.rss")" -lt 80000
else
	"$AMESH" -s "$T_ROOT/a/run/amesh.sock" query - <"$T_ROOT/huge.txt" >"$T_ROOT/huge.out" 2>"$T_ROOT/huge.err"
fi
check "... the line is refused with its number and length" grep -q "amesh query: stdin line 2: a line of 100000000 bytes is not a domain name (at most 1024); skipped" "$T_ROOT/huge.err"
check "... and the names around it are answered" test "$(grep -c '1 signal' "$T_ROOT/huge.out")" -eq 2
printf 'host3.bulk.example\r\n\n# comment\n   \nhost4.bulk.example' | "$AMESH" -s "$T_ROOT/a/run/amesh.sock" query - >"$T_ROOT/crlf.out" 2>&1
check "CRLF, blank, comment and an unterminated last line read as before" test "$(grep -c '1 signal' "$T_ROOT/crlf.out")" -eq 2

# --- watch: every change, in order ---
watch_bg "$T_ROOT/tr.W" "$AMESH" -s "$T_ROOT/a/run/amesh.sock" --json watch >"$T_ROOT/watch.out" 2>"$T_ROOT/watch.err"
W=$!; disown $W
check "the watch is in" wait_until 10 watch_in "$T_ROOT/tr.W"
for i in 1 2 3 4 5; do amp a submit "w$i.watch.example" --category botnet --confidence 50 --ttl 1d >/dev/null; done
amp a submit w1.watch.example --category botnet --confidence 70 --ttl 1d >/dev/null
amp a withdraw w2.watch.example --category botnet >/dev/null
check "watch saw all 7 changes" wait_until 5 sh -c "[ \$(wc -l <'$T_ROOT/watch.out') -ge 7 ]"
check "in order: new x5, updated, withdrawn" test "$(grep -o '"event":"[a-z]*"' "$T_ROOT/watch.out" | cut -d'"' -f4 | head -7 | tr '\n' ' ')" = "new new new new new updated withdrawn "
check "with increasing sequence numbers" test "$(grep -o '"seq":[0-9]*' "$T_ROOT/watch.out" | cut -d: -f2 | sort -n -c 2>&1 && echo ok)" = ok
kill $W

# --- watchers cannot take the whole socket: the ninth is refused ---
# W's last long-poll holds its slot until it ends (5 s): a newcomer
# refused at its first poll ends, so the eight start after it
check "W's slot is free again" wait_until 20 ctl_idle
WS=()
for i in $(seq 1 8); do
	watch_bg "$T_ROOT/tr.ws$i" "$AMESH" -s "$T_ROOT/a/run/amesh.sock" watch >/dev/null 2>&1
	WS+=($!); disown $!
done
# each past its first poll: from then on it waits for a slot, never ends
eight_in() { local i; for i in $(seq 1 8); do watch_in "$T_ROOT/tr.ws$i" || return 1; done; }
check "the eight are in" wait_until 20 eight_in
# The eight take their slots on their own time, and a slot is held per
# long-poll: ask until a ninth is refused, for 30 s at most (a ninth let
# in during a gap follows until timeout ends it; the eight, refused in
# turn meanwhile, wait for a slot and go on)
ninth_refused() {
	local rc=0 until=$((SECONDS + 30))
	while [ $SECONDS -lt $until ]; do
		rc=0
		timeout 3 "$AMESH" -s "$T_ROOT/a/run/amesh.sock" watch >/dev/null 2>"$T_ROOT/ninth.err" || rc=$?
		[ "$rc" -eq 2 ] && grep -q "watchers already follow" "$T_ROOT/ninth.err" && return 0
	done
	return 1
}
check "a ninth concurrent watcher is refused, with a reason" ninth_refused
check "... and the eight still follow" test "$(for p in "${WS[@]}"; do kill -0 "$p" 2>/dev/null && echo up; done | wc -l)" -eq 8
expect_exit 0 "queries are still answered with eight watchers parked" amp a query evil.example.com
kill "${WS[@]}" 2>/dev/null
check "their slots are free again" wait_until 20 ctl_idle

# --- a stalled watcher is dropped; ingest does not wait for it ---
watch_bg "$T_ROOT/tr.S" "$AMESH" -s "$T_ROOT/a/run/amesh.sock" --json watch >"$T_ROOT/stall.out" 2>"$T_ROOT/stall.err"
S=$!; disown $S
check "the stalled-to-be watch is in" wait_until 10 watch_in "$T_ROOT/tr.S"
kill -STOP $S
ok=0
for i in $(seq 1 100); do amp a submit "s$i.stall.example" --category spam --confidence 10 --ttl 1d >/dev/null && ok=$((ok + 1)); done
check "all 100 submissions completed while the watcher was stalled" test "$ok" -eq 100
kill -CONT $S
check "the stalled watcher is dropped with a message" wait_until 30 grep -q "fell .*behind" "$T_ROOT/stall.err"
check "and exits" wait_until 5 not kill -0 $S

# --- transparency report ---
out=$(amp a report --format json)
check "report: live phishing count" grep -q '"phishing":4' <<<"$out"
check "report: withdrawn in period" grep -Eq '"withdrawn":[1-9]' <<<"$out"
check "report: per-neighbour volume in from b" grep -Eq '"neighbour_in":\{"b":[1-9]' <<<"$out"
check "report: csv has a header (RFC 4180: CRLF)" test "$(amp a report --format csv | head -1 | tr -d '\r')" = "section,key,value"
check "report: text has a title" grep -q "transparency report" <<<"$(amp a report)"
# --- a watch across a daemon restart follows the new run from its start ---
watch_bg "$T_ROOT/tr.r" "$AMESH" -s "$T_ROOT/a/run/amesh.sock" watch >"$T_ROOT/restart.out" 2>"$T_ROOT/restart.err"
w=$!
check "the watch to outlive a restart is in" wait_until 10 watch_in "$T_ROOT/tr.r"
stop a
start a || exit 1
amp a submit after-restart.watch.example --category botnet --confidence 50 --ttl 1d >/dev/null
check "the watch outlives a restart and shows the next change" \
	wait_until 15 grep -q "after-restart.watch.example" "$T_ROOT/restart.out"
check "and says the daemon restarted" grep -q "ameshd restarted" "$T_ROOT/restart.err"
kill "$w" 2>/dev/null; wait "$w" 2>/dev/null
# --- audit trail ---
out=$(amp a audit www.evil.example.com)
check "audit shows a's own report" grep -q "this peer reported phishing on evil.example.com" <<<"$out"
check "audit shows what came from b" grep -q "received phishing on www.evil.example.com from b .*: accepted" <<<"$out"
check "audit shows what was shared with b" grep -q "shared phishing on evil.example.com .* with b" <<<"$out"
expect_exit 0 "audit chain verifies" amp a audit --verify
check "verify reports the records" grep -q "hash chain intact" <<<"$T_OUT"
# --since takes a duration back from now, as report and export do (it
# took only RFC 3339: `amesh audit --since 1h' was a usage error)
expect_exit 0 "audit --since 1h" amp a audit www.evil.example.com --since 1h
check "... shows the last hour's records" grep -q "received phishing on www.evil.example.com from b" <<<"$T_OUT"
expect_exit 1 "audit --since 1s after a pause: nothing that recent" sh -c "sleep 2; '$AMESH' -s '$T_ROOT/a/run/amesh.sock' audit www.evil.example.com --since 1s"
expect_exit 2 "audit --since a word" amp a audit --since yesterday
check "... says it is neither a time nor a duration" grep -q "\`yesterday' is neither an RFC 3339 time nor a duration such as 7d" <<<"$T_ERR"
# ... and a date alone, as the README's `report [--since DATE|7d]' says:
# midnight UTC of that day (it was "neither an RFC 3339 time nor a duration")
expect_exit 0 "report --since a date" amp a report --since "$(date -u +%F)"
expect_exit 0 "audit --since a date" amp a audit www.evil.example.com --since "$(date -u +%F)"
expect_exit 2 "report --since a date that is not one" amp a report --since 2026-13-01
# a duration reaching back before 1970 means everything, not an error or a
# wrap to the far future
all=$(amp a audit)
expect_exit 0 "audit --since 100y" amp a audit --since 100y
check "... shows every record, as no --since does" test "$(wc -l <<<"$T_OUT")" -ge "$(wc -l <<<"$all")"
check "... from the first" test "$(head -1 <<<"$T_OUT")" = "$(head -1 <<<"$all")"
expect_exit 0 "audit --since 3000w (57 years: before 1970)" amp a audit www.evil.example.com --since 3000w
check "... shows what came from b" grep -q "received phishing on www.evil.example.com from b" <<<"$T_OUT"
expect_exit 0 "report --since 100y" amp a report --since 100y
check "... covers everything" grep -q "Period: from the start of the audit trail" <<<"$T_OUT"
cp "$T_ROOT/a/data/audit.log" "$T_ROOT/audit.bak"
# flip one byte in the middle of line 3 (the daemon keeps appending at the end)
off=$(head -2 "$T_ROOT/a/data/audit.log" | wc -c); off=$((off + 10))
printf 'X' | dd of="$T_ROOT/a/data/audit.log" bs=1 seek="$off" conv=notrunc 2>/dev/null
expect_exit 2 "a one-byte edit is detected" amp a audit --verify
check "the error names the line" grep -q "line 3" <<<"$T_ERR"
# --- a watch whose daemon stops says so and exits, rather than wait ---
watch_bg "$T_ROOT/tr.g" timeout 15 "$AMESH" -s "$T_ROOT/a/run/amesh.sock" watch >/dev/null 2>"$T_ROOT/gone.err"
gone=$! # a watch that hung would end at 15 s with status 124
check "the watch to lose its daemon is in" wait_until 10 watch_in "$T_ROOT/tr.g"
stop a
check "the watch says ameshd closed the connection" wait_until 10 grep -q "ameshd closed the connection" "$T_ROOT/gone.err"
wait "$gone"; rc=$?
check "and exits 2 (rc $rc)" test "$rc" -eq 2
expect_exit 1 "ameshd refuses to continue an altered trail" "$AMESHD" -c "$T_ROOT/a/amesh.conf"
check "and says how to go on" grep -q "move it aside" <<<"$T_ERR"
check "... naming the trail's path once" test "$(grep -o "$T_ROOT/a/data/audit.log: line 3" <<<"$T_ERR" | wc -l)" -eq 1 -a "$(grep -c "audit.log: $T_ROOT" <<<"$T_ERR")" -eq 0
# --check (systemd's ExecStartPre) called this peer valid, and the start failed
expect_exit 1 "ameshd --check finds the altered trail the start refuses" "$AMESHD" -c "$T_ROOT/a/amesh.conf" --check
check "... naming the trail, its line and the way on" grep -q "data_dir (the default): the audit trail $T_ROOT/a/data/audit.log: line 3: .*the start refuses to continue a trail altered or damaged; .*move it aside" <<<"$T_ERR"

finish

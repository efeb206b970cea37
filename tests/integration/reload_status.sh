#!/usr/bin/env bash
# reload_status.sh - what became of a reload (SIGHUP) is in `amesh status'
# (text and --json) and on the metrics endpoint, not only in the log: an
# operator who edited the config and sent SIGHUP sees when, applied or
# refused, why (file:line), and that the configuration in force is the
# older one. The refused file's file:line lines are log lines like every
# other (timestamp, level), not bare text on stderr.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1
MPORT=$(port_of 5)
CONF=$T_ROOT/a/amesh.conf LOG=$T_ROOT/a/ameshd.log
sed -i "s/^\[peer\]\$/[peer]\nmetrics_listen = 127.0.0.1:$MPORT/" "$CONF"
cp "$CONF" "$T_ROOT/good.conf"
start a || exit 1

# scrape: the metrics body on stdout
scrape() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$MPORT" || return 1
	printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd"
	timeout 10 cat <&"$fd" | sed '1,/^\r$/d'
	exec {fd}>&-
}
val() { scrape | awk -v s="$1" '$1 == s { print $2; exit }'; }
# hup: SIGHUP, then wait until the metrics count one more reload
reloads() { echo "$(val 'amesh_config_reloads_total{result="applied"}') $(val 'amesh_config_reloads_total{result="refused"}')"; }
hup() {
	local n; n=$(reloads)
	signal a HUP || return 1
	for _ in $(seq 1 200); do
		[ "$(reloads)" != "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- before any reload ---
out=$(amp a status)
check "status says no reload since start" grep -q '^reload      none since start$' <<<"$out"
check "... and the config in force since start" grep -q "^config      $CONF, in force since .* (start)\$" <<<"$out"
json=$(amp a --json status)
check "--json: reload is null" grep -q '"reload":null' <<<"$json"
check "--json: the config's path" grep -q "\"config\":{\"path\":\"$CONF\"" <<<"$json"
check "metrics: last reload successful (none refused)" test "$(val amesh_config_last_reload_successful)" = 1
check "metrics: no reload yet" test "$(val amesh_config_last_reload_timestamp_seconds)" = 0
check "metrics: the config in force was read at start" test "$(val amesh_config_last_reload_success_timestamp_seconds)" = "$(val amesh_start_time_seconds)"

# --- a refused reload: two problems, each with its line ---
sleep 1.1 # the edit is later than the start, to the second
sed -i "s/^\[peer\]\$/[peer]\nmax_lifetime = 90days\nsweep_interval = often/" "$CONF"
l1=$(grep -n '^max_lifetime = 90days' "$CONF" | cut -d: -f1)
l2=$(grep -n '^sweep_interval = often' "$CONF" | cut -d: -f1)
check "SIGHUP with a broken file" hup
out=$(amp a status)
check "status says the reload was refused and the older config stays" grep -q '^reload      REFUSED at .*: the configuration read at .* stays in force$' <<<"$out"
check "... with the first reason, file:line" grep -q "^            $CONF:$l1: max_lifetime: " <<<"$out"
check "... and the second" grep -q "^            $CONF:$l2: sweep_interval: " <<<"$out"
check "... and that the file's changes are not in force" grep -q 'the file changed at .*: its changes are not in force (the reload was refused)' <<<"$out"
check "... the config in force is still the start's" grep -q "^config      $CONF, in force since .* (start)\$" <<<"$out"
json=$(amp a --json status)
check "--json: result refused, with the reasons" grep -q "\"reload\":{\"at\":\"[^\"]*\",\"result\":\"refused\",\"messages\":\[\"$CONF:$l1: max_lifetime: [^\"]*\",\"$CONF:$l2: sweep_interval: " <<<"$json"
check "--json: the file changed since the config in force was read" grep -q '"changed_since_loaded":true' <<<"$json"
check "metrics: last reload not successful" test "$(val amesh_config_last_reload_successful)" = 0
check "metrics: one refused" test "$(val 'amesh_config_reloads_total{result="refused"}')" = 1
check "metrics: the reload's time is set" test "$(val amesh_config_last_reload_timestamp_seconds)" -gt 0
check "metrics: the config in force is still the start's" test "$(val amesh_config_last_reload_success_timestamp_seconds)" = "$(val amesh_start_time_seconds)"
# the log: each file:line reason is a stamped error line, none is bare
stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z error SIGHUP: '
check "the log's reason lines carry timestamp and level" grep -Eq "${stamp}$CONF:$l1: max_lifetime: " "$LOG"
check "... the second too" grep -Eq "${stamp}$CONF:$l2: sweep_interval: " "$LOG"
check "... and no line of the log starts with the file" not grep -q "^$CONF" "$LOG"
check "the log still says the running config is kept" grep -q "SIGHUP: $CONF has 2 problems; keeping the running configuration" "$LOG"

# --- fixed: applied, and the reasons are gone ---
cp "$T_ROOT/good.conf" "$CONF"
check "SIGHUP with the file fixed" hup
out=$(amp a status)
check "status says applied" grep -q '^reload      applied at ' <<<"$out"
check "... no reason left from the refused one" not grep -q 'max_lifetime' <<<"$out"
check "... the config in force is the reload's" grep -q "^config      $CONF, in force since .* (a reload)\$" <<<"$out"
check "... and the file is not newer than it" not grep -q 'the file changed at' <<<"$out"
json=$(amp a --json status)
check "--json: applied, no messages" grep -q '"result":"applied","messages":\[\]' <<<"$json"
check "metrics: successful again" test "$(val amesh_config_last_reload_successful)" = 1
check "metrics: one applied" test "$(val 'amesh_config_reloads_total{result="applied"}')" = 1
check "metrics: the config in force was read at the reload" test "$(val amesh_config_last_reload_success_timestamp_seconds)" = "$(val amesh_config_last_reload_timestamp_seconds)"

# --- applied, but part of it waits for a restart: said in status too ---
sed -i "s/^\[peer\]\$/[peer]\ndata_dir = data2/" "$CONF"
check "SIGHUP with a new data_dir" hup
out=$(amp a status)
check "status says applied, and that data_dir waits for a restart" grep -q "^            \`data_dir' changed from \`$T_ROOT/a/data' to \`$T_ROOT/a/data2'; it is read at start only" <<<"$out"

# --- applied with an allowlist that has bad entries: in force without them, said so ---
printf 'good.example\n-bad.example\nbad..example\n' >"$T_ROOT/a/allow.txt"
sed -i "s/^\[peer\]\$/[peer]\nallowlist = allow.txt/" "$CONF"
check "SIGHUP with an allowlist holding two bad entries" hup
out=$(amp a status)
check "status says applied, and that two entries were skipped" grep -q "^            allowlist: 2 bad entries skipped (named in the log; ameshd --check lists them)" <<<"$out"

# --- refused by the mesh (a new neighbour nobody trusted): the reason names it ---
cp "$T_ROOT/good.conf" "$CONF"
printf '\n[neighbour ghost]\nendpoint = tcp://127.0.0.1:%s\nexport.categories = none\nimport.categories = none\n' "$(port_of 9)" >>"$CONF"
gl=$(grep -n '^\[neighbour ghost\]' "$CONF" | cut -d: -f1)
check "SIGHUP with an untrusted neighbour" hup
out=$(amp a status)
check "status says refused, naming the neighbour and its line" grep -q "^            $CONF: neighbour \`ghost' (config line $gl) is not in the trust store" <<<"$out"
check "... the config in force is still the last applied reload's" grep -q "^config      $CONF, in force since .* (a reload)\$" <<<"$out"
check "metrics: two refused" test "$(val 'amesh_config_reloads_total{result="refused"}')" = 2

# --- a file gone (moved away mid-edit): refused, and said why ---
mv "$CONF" "$CONF.moved"
check "SIGHUP with the file gone" hup
out=$(amp a status)
check "status says refused, and the file cannot be read" grep -q "^            $CONF: .*No such file or directory" <<<"$out"
mv "$CONF.moved" "$CONF"

stop a
finish

#!/usr/bin/env bash
# metrics.sh - the Prometheus endpoint of two live, linked peers, scraped
# while the test acts: every family present, counters that move when they
# should, promtool clean, and hostile or malformed requests answered
# without harm to the daemon or to the next scrape.
#
#   a dials b; both serve metrics on loopback; b imports only confidence
#   >= 50 from a, so a weak indicator is rejected (by reason) at b; a
#   serves a response policy zone, transferred with dig while scraping.
set -uo pipefail
AMESHD=$1 AMESH=$2 TESTPEER=$3
. "$(dirname "$0")/lib.sh"

PROMTOOL=$(command -v promtool) || { echo "promtool missing (Debian package prometheus; deploy/install-deps.sh installs it)"; exit 1; }

mk_peer a 1; mk_peer b 2
mport() { case $1 in a) port_of 5 ;; b) port_of 6 ;; esac; }
for p in a b; do sed -i "s/^\[peer\]\$/[peer]\nmetrics_listen = 127.0.0.1:$(mport $p)/" "$T_ROOT/$p/amesh.conf"; done
DNS=$(port_of 7) ZONE=rpz.amesh.test
sed -i "s|^# dns_listen = .*|dns_listen = 127.0.0.1:$DNS|" "$T_ROOT/a/amesh.conf"
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz abuse]
zone = $ZONE
categories = phishing
allow_transfer = 127.0.0.1
CONF
trust a b; trust b a
neighbour a b "tcp://127.0.0.1:$(port_of 2)" <<<"$OPEN_POLICY"
neighbour b a <<'P'
export.categories = all
export.origins = all
import.categories = all
import.min_confidence = 50
P
start a || exit 1; start b || exit 1

# http PEER REQUEST-BYTES: the raw answer (headers and body) on stdout
http() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$(mport "$1")" || return 1
	printf '%b' "$2" >&"$fd" 2>/dev/null
	timeout 10 cat <&"$fd"
	exec {fd}>&-
}
# scrape PEER FILE: GET /metrics into FILE (body only); fails unless 200
scrape() {
	http "$1" 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Prometheus/2.42.0\r\n\r\n' >"$2.raw" || return 1
	head -1 "$2.raw" | grep -q '^HTTP/1.1 200 OK' || return 1
	sed '1,/^\r$/d' "$2.raw" >"$2"
}
# val FILE SERIES: the value of one series, exactly as rendered ("" if absent)
val() { awk -v s="$2" '$1 == s { print $2; exit }' "$1"; }
# more FILE1 FILE2 SERIES [BY]: the series grew by at least BY (default 1);
# absent in FILE1 counts as 0 (a histogram appears with its first observation)
more() {
	local x y; x=$(val "$1" "$3"); y=$(val "$2" "$3")
	x=${x:-0}
	[ -n "$x" ] && [ -n "$y" ] && awk -v x="$x" -v y="$y" -v by="${4:-1}" 'BEGIN { exit !(y - x >= by) }' ||
		{ echo "    $3: $x -> $y (wanted +${4:-1})"; return 1; }
}
S=$T_ROOT/scrape

check "a's link to b comes up" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' --json peers | grep -q '\"state\":\"up\"'"
check "scrape a" scrape a "$S.a0"
check "scrape b" scrape b "$S.b0"
check "promtool: a's page is clean" "$PROMTOOL" check metrics <"$S.a0"
check "promtool: b's page is clean" "$PROMTOOL" check metrics <"$S.b0"
check "answer carries the text format's content type" grep -q '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$S.a0.raw"

FAMILIES="amesh_build_info amesh_start_time_seconds amesh_indicators amesh_indicators_scan_duration_seconds
amesh_store_records amesh_store_tombstones amesh_store_changelog_seq amesh_store_bytes amesh_store_map_size_bytes
amesh_store_map_used_ratio amesh_neighbour_up amesh_neighbour_state amesh_neighbour_lag
amesh_neighbour_last_sync_timestamp_seconds amesh_neighbour_indicators_received_total
amesh_neighbour_indicators_rejected_total amesh_neighbour_indicators_sent_total
amesh_neighbour_indicators_held_total amesh_neighbour_handshakes_total amesh_handshakes_unknown_total
amesh_neighbour_received_bytes_total amesh_neighbour_sent_bytes_total amesh_sync_duration_seconds
amesh_changes_total amesh_trust_changes_total amesh_origin_visibility_changes_total
amesh_control_requests_total amesh_control_request_duration_seconds amesh_metrics_http_responses_total
amesh_metrics_http_dropped_total amesh_rpz_serial amesh_rpz_rules amesh_rpz_journal_entries
amesh_rpz_transfers_total amesh_rpz_transfers_refused_total amesh_rpz_secondary_serial
amesh_rpz_last_transfer_timestamp_seconds amesh_rpz_notify_pending amesh_rpz_notify_last_rcode"
missing=""
for f in $FAMILIES; do grep -q "^# TYPE $f " "$S.a0" || missing="$missing $f"; done
check "every family present (missing:${missing:- none})" test -z "$missing"
check "every family follows the conventions (amesh_ prefix, counters end in _total)" \
	sh -c "! grep '^# TYPE ' '$S.a0' | grep -v '^# TYPE amesh_' && ! grep '^# TYPE .* counter\$' '$S.a0' | grep -v '_total counter\$'"
check "a reports b up" grep -qx 'amesh_neighbour_up{neighbour="b"} 1' "$S.a0"
check "b reports a up" grep -qx 'amesh_neighbour_up{neighbour="a"} 1' "$S.b0"
check "a's handshake with b counted" test "$(val "$S.a0" 'amesh_neighbour_handshakes_total{neighbour="b",result="ok"}')" -ge 1

# --- act, then scrape again: the counters follow ---
for i in 1 2 3; do amp a submit "m$i.example.com" --category phishing --confidence 80 --ttl 1d >/dev/null || fail "submit m$i"; done
amp a submit weak.example.com --category spam --confidence 20 --ttl 1d >/dev/null || fail "submit weak"
amp a submit co.uk --category spam --confidence 90 --ttl 1d >/dev/null 2>&1 && fail "co.uk accepted"
amp a submit gone.example.com --category malware --confidence 70 --ttl 1d >/dev/null || fail "submit gone"
check "b gets the one to withdraw" wait_until 10 has b gone.example.com
amp a withdraw gone.example.com --category malware >/dev/null || fail "withdraw gone"
check "the withdrawal reaches b" wait_until 10 not has b gone.example.com
# a zone transfer, as a resolver takes it
rules3() { [ "$(dig +short @127.0.0.1 -p "$DNS" "$ZONE" AXFR | grep -c 'CNAME\|^\.$')" -ge 3 ]; }
check "the zone carries the phishing names" wait_until 10 rules3
SOA_SERIAL=$(dig +short @127.0.0.1 -p "$DNS" "$ZONE" SOA | awk '{print $3}')
# a trust change on a running daemon (an origin added with `amesh keys trust')
"$AMESH" keys generate -o "$T_ROOT/x.key" >/dev/null
check "a trusts a new origin at run time" sh -c "'$AMESH' -c '$T_ROOT/a/amesh.conf' keys trust '$T_ROOT/x.key.pub' --name x --as origin >/dev/null"
check "b gets the indicators" wait_until 10 has b m3.example.com
weak_rejected() { [ "$(reject_count b a confidence)" = 1 ]; }
check "b has rejected the weak one" wait_until 10 weak_rejected
check "scrape a again" scrape a "$S.a1"
check "scrape b again" scrape b "$S.b1"
check "promtool: a clean after acting" "$PROMTOOL" check metrics <"$S.a1"
check "promtool: b clean after acting" "$PROMTOOL" check metrics <"$S.b1"

SELF_PH=$(grep -o '^amesh_indicators{category="phishing",origin="[0-9a-f]*",origin_name="self"}' "$S.a1")
check "a: live phishing of its own +3" test "$(val "$S.a1" "$SELF_PH")" = 3
check "a: submit requests counted" more "$S.a0" "$S.a1" 'amesh_control_requests_total{op="submit",result="ok"}' 5
check "a: the refused submission counted as an error" more "$S.a0" "$S.a1" 'amesh_control_requests_total{op="submit",result="error"}' 1
check "a: submit latency observed" more "$S.a0" "$S.a1" 'amesh_control_request_duration_seconds_count{op="submit"}' 6
check "a: withdraw counted" more "$S.a0" "$S.a1" 'amesh_control_requests_total{op="withdraw",result="ok"}' 1
check "a: indicators sent to b" more "$S.a0" "$S.a1" 'amesh_neighbour_indicators_sent_total{neighbour="b"}' 6
check "a: store grew" more "$S.a0" "$S.a1" 'amesh_store_changelog_seq' 4
check "a: local changes: new" more "$S.a0" "$S.a1" 'amesh_changes_total{cause="local",kind="new"}' 5
check "a: local changes: withdrawn" more "$S.a0" "$S.a1" 'amesh_changes_total{cause="local",kind="withdrawn"}' 1
check "a: trust change counted" more "$S.a0" "$S.a1" 'amesh_trust_changes_total{cause="trust"}' 1
check "a: bytes sent to b" more "$S.a0" "$S.a1" 'amesh_neighbour_sent_bytes_total{neighbour="b"}' 1000
check "a: bytes received from b" more "$S.a0" "$S.a1" 'amesh_neighbour_received_bytes_total{neighbour="b"}' 100
check "a: pushes to b timed (sync out)" more "$S.a0" "$S.a1" 'amesh_sync_duration_seconds_count{neighbour="b",direction="out"}' 1
check "b: mesh changes: new" more "$S.b0" "$S.b1" 'amesh_changes_total{cause="mesh",kind="new"}' 4
check "b: mesh changes: withdrawn" more "$S.b0" "$S.b1" 'amesh_changes_total{cause="mesh",kind="withdrawn"}' 1
check "b: batches from a timed (sync in)" more "$S.b0" "$S.b1" 'amesh_sync_duration_seconds_count{neighbour="a",direction="in"}' 1
check "a: the AXFRs counted" more "$S.a0" "$S.a1" 'amesh_rpz_transfers_total{zone="abuse",secondary="127.0.0.1",type="axfr"}' 1
check "a: zone serial as served ($SOA_SERIAL)" test "$(val "$S.a1" 'amesh_rpz_serial{zone="abuse"}')" = "$SOA_SERIAL"
check "a: zone rules grew" more "$S.a0" "$S.a1" 'amesh_rpz_rules{zone="abuse"}' 3
check "a: the secondary's serial is the zone's" test "$(val "$S.a1" 'amesh_rpz_secondary_serial{zone="abuse",secondary="127.0.0.1"}')" = "$SOA_SERIAL"
check "b: bytes received from a" more "$S.b0" "$S.b1" 'amesh_neighbour_received_bytes_total{neighbour="a"}' 1000
check "b: accepted from a" more "$S.b0" "$S.b1" 'amesh_neighbour_indicators_received_total{neighbour="a",result="accepted"}' 3
check "b: the weak one rejected by reason confidence" more "$S.b0" "$S.b1" 'amesh_neighbour_indicators_rejected_total{neighbour="a",reason="confidence"}' 1
# "ok" is no reason to refuse: a rejected series labelled so read as refusals of good indicators
check "b: no rejected series with reason ok" not grep -q 'amesh_neighbour_indicators_rejected_total{[^}]*reason="ok"' "$S.b1"
check "a: no held series with reason ok" not grep -q 'amesh_neighbour_indicators_held_total{[^}]*reason="ok"' "$S.a1"
A_PH=$(grep -o '^amesh_indicators{category="phishing",origin="[0-9a-f]*",origin_name="a"}' "$S.b1")
check "b: live phishing from origin a = 3" test "$(val "$S.b1" "$A_PH")" = 3
check "b: last sync with a is recent" test "$(val "$S.b1" 'amesh_neighbour_last_sync_timestamp_seconds{neighbour="a"}')" -ge "$(($(date +%s) - 60))"
check "no domain name on either page (nor the zone's)" sh -c "! grep -q 'example\|amesh.test' '$S.a1' '$S.b1'"

# --- hostile and malformed requests: answered, counted, harmless ---
status_of() { http a "$1" | head -1 | tr -d '\r'; }
check "%XX URI (crashes NNG 1.5.2's server): 404" test "$(status_of 'GET /%6detrics%zz%00 HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 404 Not Found"
check "other path: 404" test "$(status_of 'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 404 Not Found"
check "POST: 405" test "$(status_of 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc')" = "HTTP/1.1 405 Method Not Allowed"
check "garbage: 400" test "$(status_of '\x16\x03\x01\x00\xff\xfe\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
check "HTTP/2 preface: 400" test "$(status_of 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')" = "HTTP/1.1 400 Bad Request"
big=$(head -c 40000 /dev/zero | tr '\0' a)
check "40 KB header: 431" test "$(status_of "GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nX-Fill: $big\\r\\n\\r\\n")" = "HTTP/1.1 431 Request Header Fields Too Large"
check "8 KB target: 414" test "$(status_of "GET /${big:0:8000} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")" = "HTTP/1.1 414 URI Too Long"
# a client that opens a request and goes silent, and a burst of connections
# dropped at once: neither stops the next scrape
exec {slow}<>"/dev/tcp/127.0.0.1/$(mport a)"; printf 'GET /metr' >&"$slow"
for _ in $(seq 1 100); do exec {fd}<>"/dev/tcp/127.0.0.1/$(mport a)" && exec {fd}>&-; done
check "scrape served while a slow client holds a slot" scrape a "$S.a2"
exec {slow}>&-
check "the hostile requests were counted" sh -c "[ \"$(val "$S.a2" 'amesh_metrics_http_responses_total{code="404"}')\" -ge 2 ] && [ \"$(val "$S.a2" 'amesh_metrics_http_responses_total{code="431"}')\" -ge 1 ]"
check "promtool: clean after the abuse" "$PROMTOOL" check metrics <"$S.a2"
check "a still answers its operator" sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' status >/dev/null"
check "a still relays: a new indicator reaches b" sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' submit after.example.com --category malware --confidence 90 --ttl 1d >/dev/null"
check "b gets it" wait_until 10 has b after.example.com

# --- a reload's zones are the page's: the collector walked the start
# configuration's zones, so an added zone never appeared and a removed
# one stayed with its last figures ---
sed -i '/^\[rpz abuse\]$/,/^allow_transfer = /d' "$T_ROOT/a/amesh.conf"
cat >>"$T_ROOT/a/amesh.conf" <<CONF

[rpz extra]
zone = extra.$ZONE
categories = malware
allow_transfer = 127.0.0.1
CONF
expect_exit 0 "a reloads with [rpz abuse] replaced by [rpz extra]" amp a reload
check "scrape after the reload" scrape a "$S.a3"
check "the added zone's serial is on the page" test -n "$(val "$S.a3" 'amesh_rpz_serial{zone="extra"}')"
check "... with its rules (after.example.com is malware)" test "$(val "$S.a3" 'amesh_rpz_rules{zone="extra"}')" = 1
check "the removed zone is off the page" not grep -q 'zone="abuse"' "$S.a3"
check "promtool: clean after the reload" "$PROMTOOL" check metrics <"$S.a3"

# --- configuration ---
cp "$T_ROOT/a/amesh.conf" "$T_ROOT/a/bad.conf"
sed -i 's/^metrics_listen = .*/metrics_listen = localhost:99999/' "$T_ROOT/a/bad.conf"
expect_exit 1 "a bad metrics_listen is refused by --check" "$AMESHD" -c "$T_ROOT/a/bad.conf" --check
check "with its line and the value quoted" grep -q "bad.conf:[0-9]*: metrics_listen: \`localhost:99999' is not" "$T_ROOT/err"
# a second daemon on a's metrics port: a clear error, not a silent second page
mk_peer c 3
sed -i "s/^\[peer\]\$/[peer]\nmetrics_listen = $(mport a)/" "$T_ROOT/c/amesh.conf"
expect_exit 1 "a taken metrics port stops ameshd at start" "$AMESHD" -c "$T_ROOT/c/amesh.conf"
check "saying which address and why" grep -q "metrics: cannot listen on $(mport a): Address already in use" "$T_ROOT/err"

finish

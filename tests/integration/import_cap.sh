#!/usr/bin/env bash
# import_cap.sh - import.confidence_cap (and the [peer] settings requests
# judge by) changed by a reload is in force for
# what was accepted before: `amesh query', `list' and the response policy
# zone count a neighbour's flags under the cap in force when the reload
# returns, lowered or raised.
#
# Found by a CERT operator: lowering the cap for a neighbour to 40 (its
# flags to warn, not block) and reloading changed nothing for what it had
# sent: `query' still said "confidence=90 (80 here)", verdict block, and
# the zone kept the rule - the cap was applied once, on arrival.
#
#   b dials a; a submits, b imports with a cap.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2
trust a b; trust b a
neighbour a b <<<"$OPEN_POLICY"
sed -i "s#^\[peer\]\$#[peer]\ndns_listen = 127.0.0.1:$(port_of 3)#" "$T_ROOT/b/amesh.conf"
cp "$T_ROOT/b/amesh.conf" "$T_ROOT/b/base.conf"
write_b() { # write_b CAP
	cp "$T_ROOT/b/base.conf" "$T_ROOT/b/amesh.conf.new"
	printf '\n[neighbour a]\nendpoint = tcp://127.0.0.1:%s\n%s\nimport.confidence_cap = %s\n' "$(port_of 1)" "$OPEN_POLICY" "$1" >>"$T_ROOT/b/amesh.conf.new"
	printf '\n[rpz abuse]\nzone = rpz.abuse.example\ncategories = all\nmin_score = 50\nallow_transfer = 127.0.0.1\n' >>"$T_ROOT/b/amesh.conf.new"
	mv "$T_ROOT/b/amesh.conf.new" "$T_ROOT/b/amesh.conf"
}
write_b 80
start a || exit 1; start b || exit 1
amp a submit c2.example.com --category malware --confidence 90 --ttl 1d >/dev/null || fail "a submits"
check "b gets it" wait_until 10 has b c2.example.com
check "b counts it at the cap, 80" grep -q "confidence=90 (80 here)" <<<"$(amp b query c2.example.com)"
zone() { dig +short +tries=1 +time=2 @127.0.0.1 -p "$(port_of 3)" c2.example.com.rpz.abuse.example CNAME; }
have_dig=false; command -v dig >/dev/null && have_dig=true
$have_dig && check "b's zone lists it" wait_until 10 sh -c "[ \"\$(dig +short +tries=1 +time=2 @127.0.0.1 -p $(port_of 3) c2.example.com.rpz.abuse.example CNAME)\" = . ]"

write_b 40
expect_exit 0 "b lowers the cap to 40" amp b reload
q=$(amp b query c2.example.com)
check "query counts it at the new cap at once (90, 40 here)" grep -q "confidence=90 (40 here)" <<<"$q"
check "... and its verdict is no longer block" not grep -q "block" <<<"$q"
check "list says so too" grep -q '"local_confidence":40' <<<"$(amp b --json list)"
if $have_dig; then
	got=$(zone)
	check "the zone no longer lists it when the reload returns (got \`$got')" test -z "$got"
fi

write_b 100
expect_exit 0 "b raises the cap to 100" amp b reload
check "query counts it at its signed confidence again" grep -q "malware.*block" <<<"$(amp b query c2.example.com)"
$have_dig && check "the zone lists it again when the reload returns" test "$(zone)" = "."

# The same for the [peer] settings `amesh query' and `submit' judge by:
# query kept the origin_weights, thresholds and max_lifetime ameshd started
# with while the zones took the reloaded ones - the zone said "score 9.0,
# not listed" and the verdict beside it "block 90.0, weight 1.00"
sed -i "s#^\[peer\]\$#[peer]\norigin_weights = a:0.5\nmax_lifetime = 2d#" "$T_ROOT/b/base.conf"
write_b 100
expect_exit 0 "b reloads origin_weights a:0.5 and max_lifetime 2d" amp b reload
q=$(amp b query c2.example.com)
check "query weighs a's flag by the new weight" grep -q "weight 0.50" <<<"$q"
check "... so its score is 45, as the zone judges it" grep -q "malware .*score *45.0" <<<"$q"
expect_exit 2 "b's own submission past the new max_lifetime is refused" amp b submit own.example.com --category malware --confidence 90 --ttl 7d
check "... naming max_lifetime" grep -q "past max_lifetime (2d from now" <<<"$T_ERR"
sed -i "s#^\[peer\]\$#[peer]\nwarn_threshold = 30\nblock_threshold = 40#" "$T_ROOT/b/base.conf"
write_b 100
expect_exit 0 "b reloads warn_threshold 30, block_threshold 40" amp b reload
check "query's verdict is block at 45 now" grep -q "malware *block *score *45.0" <<<"$(amp b query c2.example.com)"

# sweep_interval and audit_retention are the reloaded ones too (the sweep
# kept the start's, a reload said nothing); map_size and watch_buffer are
# read at start only, and a reload changing them says so
sed -i "s#^\[peer\]\$#[peer]\nsweep_interval = 1s\nmap_size = 2G\nwatch_buffer = 1000#" "$T_ROOT/b/base.conf"
write_b 100
expect_exit 0 "b reloads sweep_interval 1s, map_size 2G, watch_buffer 1000" amp b reload
check "... saying map_size stays until a restart" grep -q "SIGHUP: \`map_size' changed from 1024.0 MiB to 2048.0 MiB; it is read at start only" "$T_ROOT/b/ameshd.log"
check "... and watch_buffer" grep -q "SIGHUP: \`watch_buffer' changed from 65536 to 1000; it is read at start only" "$T_ROOT/b/ameshd.log"
amp b submit short.example.com --category spam --confidence 50 --ttl 2s >/dev/null || fail "b submits with a 2 s ttl"
check "the sweep runs every second now: short.example.com expired and was removed within 6 s" \
	wait_until 6 sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' audit short.example.com | grep -q 'expired and was removed'"

finish

#!/usr/bin/env bash
# mesh_listener_watch.sh - only the dialer of a link sees it fail; the
# listener marks a neighbour that dials it down once it has sent no request
# for MESH_SERVER_SILENCE_MS (the long-poll, 3 s, plus a call's slack,
# 10 s: peer/mesh_server.h), and up again on its next request.
#
#   b dials a (a has no endpoint for b: a is listener only).
#   - b alive and idle (long-polls only) stays up on a past the bound;
#   - kill -9 b: a shows b down in `amesh peers --json` and /metrics within
#     the bound (plus the test's slack), not at once;
#   - b started again: a shows it up.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

SILENCE_S=13 # MESH_LONGPOLL_MS + CALL_SLACK_MS, in seconds
mk_peer a 1; mk_peer b 2
MPORT=$(port_of 5)
sed -i "s/^\[peer\]\$/[peer]\nmetrics_listen = 127.0.0.1:$MPORT/" "$T_ROOT/a/amesh.conf"
link b a 1
start a || exit 1; start b || exit 1

# state_of PEER NEIGHBOUR: its link state as PEER shows it
state_of() { amp "$1" --json peers | grep -o "\"name\":\"$2\"[^}]*" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p' | head -1; }
is_state() { [ "$(state_of "$1" "$2")" = "$3" ]; }
# up_metric: a's amesh_neighbour_up{neighbour="b"} from /metrics
up_metric() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$MPORT" || return 1
	printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd" 2>/dev/null
	timeout 10 cat <&"$fd" | awk '$1 == "amesh_neighbour_up{neighbour=\"b\"}" { print $2; exit }'
	exec {fd}>&-
}

check "a shows b up once b dials" wait_until 10 is_state a b up
check "/metrics says so" test "$(up_metric)" = 1

# an idle but live dialer long-polls every 3 s: never silent past the bound
ok=1
for _ in $(seq 1 $((SILENCE_S + 4))); do
	is_state a b up || { ok=0; echo "    a showed b $(state_of a b) while b was alive"; break; }
	sleep 1
done
check "a live, idle b stays up past the bound ($((SILENCE_S + 4)) s)" test "$ok" = 1

stop b -KILL
t0=$(date +%s%N)
check "a shows b down within the bound after kill -9" wait_until $((SILENCE_S + 7)) is_state a b down
el=$((($(date +%s%N) - t0) / 1000000))
echo "    down after $el ms (bound $((SILENCE_S * 1000)) ms after b's last request)"
# b's last request was at most a long-poll (3 s) before the kill
check "not at once (a dialer that long-polls is silent up to 3 s anyway)" test "$el" -ge 5000
check "/metrics shows it down too" test "$(up_metric)" = 0
check "a logged why" grep -q "b has sent no request for [0-9]* ms (it dials us): down" "$T_ROOT/a/ameshd.log"

start b || exit 1
check "b back: a shows it up again" wait_until 10 is_state a b up
check "/metrics up again" test "$(up_metric)" = 1
check "a logged it" grep -q "b is sending requests again: up" "$T_ROOT/a/ameshd.log"
finish

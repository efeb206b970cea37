#!/usr/bin/env bash
# harness.sh - lib.sh signals only processes this test started.
#
# A pid is a number the kernel hands out again once its process is gone:
# on the shared test machine the counter wraps about once a minute, so a
# pid kept from a peer that was stopped (or killed and restarted) names,
# by the time the test ends, whatever started next with that number. The
# cleanup killed every pid ever started with kill -9, and other tests'
# peers died in the middle of their runs with no word in their logs
# (integration_store_full: peer a gone a second after its start line,
# never linked, its import refused; integration_listeners: peer b gone).
#
# The kernel cannot be made to reuse a pid on demand, so the reuse is
# played: a stranger - an ameshd of "another test", outside this test's
# directory - gets its pid into this test's list and a peer's pid file,
# just as a reused number would. Then the cleanup, stop and signal must
# leave it running, and still end this test's own peers.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

# the stranger: "another test's" peer, in a directory of its own
S_ROOT=$(mktemp -d /tmp/amesh-stranger.XXXXXX)
spid=
stranger_alive() { "$AMESH" -s "$S_ROOT/s/run/amesh.sock" status >/dev/null 2>&1; }
stranger_end() {
	# the stranger is this script's own child, still running or a zombie
	# until waited for: its pid cannot have been reused
	[ -n "$spid" ] && { kill -9 "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }
	rm -rf "$S_ROOT"
}
trap 'stranger_end; cleanup' EXIT
"$AMESH" init "$S_ROOT/s" --name s --listen "tcp://127.0.0.1:$(port_of 9)" >/dev/null
"$AMESHD" -c "$S_ROOT/s/amesh.conf" >>"$S_ROOT/s/ameshd.log" 2>&1 &
spid=$!
check "the stranger is up" wait_until 10 stranger_alive
check "the stranger is not ours" not ours "$spid"

mk_peer a 1; mk_peer b 2
start a || exit 1
apid=$(cat "$T_ROOT/a/pid")
check "a running peer is ours" ours "$apid"
stop a
check "a stopped peer is no longer ours" not ours "$apid"

# a's number comes back as the stranger's
T_PIDS+=("$spid")
echo "$spid" >"$T_ROOT/a/pid"
expect_exit 1 "signal a HUP: a is not running, nothing is signalled" signal a HUP
check "the stranger did not reload" not grep -q "SIGHUP" "$S_ROOT/s/ameshd.log"
stop a
stop a -9
check "stop a (its pid now the stranger's) leaves the stranger running" stranger_alive

start b || exit 1
bpid=$(cat "$T_ROOT/b/pid")
expect_exit 0 "signal b HUP reaches b, which reloads" signal b HUP
check "b logs the reload" wait_until 10 grep -q "SIGHUP: reloaded" "$T_ROOT/b/ameshd.log"
# the cleanup's kill, in a subshell (the real one runs at exit)
(reap)
check "the cleanup ends this test's peer b" wait_until 10 not ours "$bpid"
check "the cleanup leaves the stranger running" stranger_alive
check "the stranger logged no shutdown (it was never signalled)" not grep -q "shutting down" "$S_ROOT/s/ameshd.log"
finish

# lib.sh - helpers for integration tests that drive real ameshd processes.
# Sourced; expects AMESHD and AMESH set to the binaries.

T_FAILS=0
T_PASSES=0
T_PIDS=()
# AMESH_TEST_TMP: where the test's peers live (default /tmp). The latency
# bench points it at a tmpfs to see what the hops cost without a disk's fsync.
T_ROOT=$(mktemp -d "${AMESH_TEST_TMP:-/tmp}/amesh-it.XXXXXX")

# ours PID: PID is still a process this test started - its command line
# names a path in $T_ROOT (every daemon here runs on a config or directory
# there; no other test's does). A pid is only a number: once its process is
# gone, Linux hands the number out again when the counter wraps - on the
# shared test machine (pid_max 32768, some 450 new processes a second with
# parallel suites) about once a minute. Signalling a pid kept from an
# earlier start (a peer stopped and restarted, a cycle of starts) killed
# whatever held it by then: another test's ameshd, which died in the middle
# of its test with no word in its log (integration_store_full: a peer gone
# a second after its start line; integration_listeners: a peer gone
# mid-run). So every signal below goes to a pid only while it is ours.
ours() {
	local cmd
	[ -n "${1:-}" ] && cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") && [[ $cmd == *"$T_ROOT/"* ]]
}
# reap: kills what is left of this test's processes, and only those
reap() {
	local pid
	for pid in "${T_PIDS[@]}"; do ours "$pid" && kill -9 "$pid" 2>/dev/null; done
	for pid in "${T_PIDS[@]}"; do wait_gone "$pid"; done
}

cleanup() {
	reap
	if [ "$T_FAILS" -eq 0 ]; then rm -rf "$T_ROOT"; else echo "kept $T_ROOT for inspection"; fi
	rmdir "$T_PORT_LOCKS/$T_PORT_SLOT" 2>/dev/null || true
}
trap cleanup EXIT

pass() { T_PASSES=$((T_PASSES + 1)); echo "ok   - $*"; }
fail() { T_FAILS=$((T_FAILS + 1)); echo "FAIL - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }

# expect_exit CODE DESCRIPTION COMMAND...: runs the command, stderr kept in $T_ERR
expect_exit() {
	local want=$1 d=$2; shift 2
	local got=0
	"$@" >"$T_ROOT/out" 2>"$T_ROOT/err" || got=$?
	T_OUT=$(cat "$T_ROOT/out"); T_ERR=$(cat "$T_ROOT/err")
	if [ "$got" -eq "$want" ]; then pass "$d (exit $got)"; else fail "$d: exit $got, wanted $want; stderr: $T_ERR"; fi
}

# wait_gone PID: waits (up to 10 s) for a disowned process of ours to exit
# and be reaped (an exiting process and a zombie have no command line); at
# once when PID is not ours (gone before, and maybe someone else's now)
wait_gone() {
	local _ cmd
	for _ in $(seq 1 200); do
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 0
		[ -z "$cmd" ] || [[ $cmd == *"$T_ROOT/"* ]] || return 0
		sleep 0.05
	done
}

# start_peer DIR: starts ameshd on DIR/amesh.conf, waits for its socket
start_peer() {
	local dir=$1
	"$AMESHD" -c "$dir/amesh.conf" >>"$dir/ameshd.log" 2>&1 &
	local pid=$!
	disown "$pid" # no job-control chatter when tests kill it
	T_PIDS+=("$pid")
	echo "$pid" >"$dir/pid"
	for _ in $(seq 1 100); do
		if "$AMESH" -s "$dir/run/amesh.sock" status >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then echo "ameshd died:"; cat "$dir/ameshd.log"; return 1; fi
		sleep 0.05
	done
	echo "ameshd did not come up"; cat "$dir/ameshd.log"; return 1
}

finish() {
	# a daemon that exited during the test (SIGTERM, a crash) left its
	# sanitizer report in its log: under ASan+UBSan that is a failure too
	local bad
	bad=$(grep -l -E "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$T_ROOT"/*/ameshd.log 2>/dev/null)
	[ -z "$bad" ] || fail "sanitizer reports in $(echo $bad)"
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}

# --- mesh helpers ---
# Ports from the pid so parallel ctest runs do not collide.
# Below Linux's ephemeral range (32768-60999 by default): a port in it can
# be taken at any moment as the local end of some outgoing connection (a
# dialer's reconnect, another test's), and ameshd then fails with "Address
# in use" - seen under parallel ctest. 20000-32759 leaves 1276 slots of 10.
# The pid only picks where to start looking: two tests whose pids agree
# modulo 1276 (or a test beside a benchmark) would share a slot, so each slot
# is reserved by an atomic mkdir and released on exit.
T_PORT_LOCKS=/tmp/amesh-test-ports
mkdir -p "$T_PORT_LOCKS" 2>/dev/null
find "$T_PORT_LOCKS" -mindepth 1 -maxdepth 1 -mmin +720 -exec rm -rf {} + 2>/dev/null # crashed runs
T_PORT_SLOT=$(($$ % 1276))
for _ in $(seq 1 1276); do
	mkdir "$T_PORT_LOCKS/$T_PORT_SLOT" 2>/dev/null && break
	T_PORT_SLOT=$(((T_PORT_SLOT + 1) % 1276))
done
T_PORT_BASE=$((20000 + T_PORT_SLOT * 10))
port_of() { echo $((T_PORT_BASE + $1)); }

# mk_peer NAME INDEX: a peer listening on 127.0.0.1:port_of(INDEX)
mk_peer() { "$AMESH" init "$T_ROOT/$1" --name "$1" --listen "tcp://127.0.0.1:$(port_of "$2")" >/dev/null; }
# trust A B [ROLE]: A pins B's key under the name B
trust() { "$AMESH" -c "$T_ROOT/$1/amesh.conf" keys trust "$T_ROOT/$2/amesh.key.pub" --name "$2" --as "${3:-neighbour}" >/dev/null; }
# neighbour A B [ENDPOINT]: appends [neighbour B] to A's config; policy lines on stdin
neighbour() {
	local a=$1 b=$2 ep=${3:-}
	{ echo; echo "[neighbour $b]"; [ -n "$ep" ] && echo "endpoint = $ep"; cat; } >>"$T_ROOT/$a/amesh.conf"
}
OPEN_POLICY='export.categories = all
export.origins = all
import.categories = all'
# link A B: A dials B, both trust each other, open policies both ways
link() {
	trust "$1" "$2"; trust "$2" "$1"
	neighbour "$1" "$2" "tcp://127.0.0.1:$(port_of "$3")" <<<"$OPEN_POLICY"
	neighbour "$2" "$1" <<<"$OPEN_POLICY"
}
start() { start_peer "$T_ROOT/$1"; }
# stop PEER [SIGNAL]: SIGTERM (or SIGNAL) and wait until it is gone
stop() { local pid; pid=$(cat "$T_ROOT/$1/pid"); ours "$pid" && kill "${2:--TERM}" "$pid" 2>/dev/null; wait_gone "$pid"; }
# signal PEER SIGNAL: e.g. HUP for a reload; fails when the peer is not running
signal() { local pid; pid=$(cat "$T_ROOT/$1/pid"); ours "$pid" && kill "-$2" "$pid"; }
amp() { local p=$1; shift; "$AMESH" -s "$T_ROOT/$p/run/amesh.sock" "$@"; }
# has PEER NAME: PEER holds a live signal on NAME
has() { amp "$1" query "$2" >/dev/null 2>&1; }
# has_own PEER NAME: a signal on NAME itself (has also matches a parent's,
# so waiting with it for a child of a name held ends at once)
has_own() { amp "$1" --json query -- "$2" 2>/dev/null | grep -q "\"domain\":\"$2\""; }
# wait_until SECONDS CMD...: polls every 50 ms
wait_until() { local t=$1; shift; local i; for i in $(seq 1 $((t * 20))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
not() { ! "$@"; }
# settle PEER...: waits until every listed peer's change log stops moving
settle() {
	local prev="" cur p
	for _ in $(seq 1 60); do
		cur=""
		for p in "$@"; do cur="$cur $(amp "$p" --json status | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')"; done
		[ "$cur" = "$prev" ] && return 0
		prev=$cur; sleep 0.5
	done
}
# reject_count PEER NEIGHBOUR REASON: from `amesh peers --json`
reject_count() {
	amp "$1" --json peers | grep "\"name\":\"$2\"" | sed -n "s/.*\"rejects\":{[^}]*\"$3\":\([0-9]*\).*/\1/p" | head -1
}
digests() { amp "$1" --json status | sed -n 's/.*"digests":\(\[[^]]*\]\).*/\1/p'; }

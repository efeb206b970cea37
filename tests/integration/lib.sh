# lib.sh - helpers for integration tests that drive real ameshd processes.
# Sourced; expects AMESHD and AMESH set to the binaries.

T_FAILS=0
T_PASSES=0
T_PIDS=()
T_ROOT=$(mktemp -d /tmp/amesh-it.XXXXXX)

cleanup() {
	for pid in "${T_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$T_FAILS" -eq 0 ]; then rm -rf "$T_ROOT"; else echo "kept $T_ROOT for inspection"; fi
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

# start_peer DIR: starts ameshd on DIR/amesh.conf, waits for its socket
start_peer() {
	local dir=$1
	"$AMESHD" -c "$dir/amesh.conf" >>"$dir/ameshd.log" 2>&1 &
	local pid=$!
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
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ]
}

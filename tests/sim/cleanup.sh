#!/bin/bash
# cleanup.sh - amesh-sim (tests/sim/sim.c) leaves nothing behind on any way
# out: a run that ends, one that dies (a store it cannot open) and one
# stopped by SIGTERM or SIGINT; and in a --dir that already existed it
# removes only the stores it opened there, never what was there before.
# Usage: cleanup.sh path/to/amesh-sim
set -u
sim=$1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
shm=/tmp
[ -w /dev/shm ] && shm=/dev/shm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. a run that ends: its default directory, <shm>/amesh-sim.PID, is gone
"$sim" --peers 4 --burst 5 >"$work/out1" 2>&1 &
pid=$!
wait $pid || bad "a small run exited $?: $(cat "$work/out1")"
[ -e "$shm/amesh-sim.$pid" ] && bad "a run that ended left $shm/amesh-sim.$pid"

# 2. a run that dies: p002 in a --dir that existed is a file, so the third
# store cannot open. The stores it opened (p000, p001) go; the directory
# and the file, which it did not make, stay.
mkdir "$work/given"
echo "not a store" >"$work/given/p002"
"$sim" --peers 6 --burst 5 --dir "$work/given" >"$work/out2" 2>&1
rc=$?
[ $rc = 2 ] || bad "a store that cannot open: exit $rc, expected 2: $(cat "$work/out2")"
grep -q "amesh-sim: store" "$work/out2" || bad "no store error: $(cat "$work/out2")"
[ -e "$work/given/p000" ] || [ -e "$work/given/p001" ] && bad "the dead run left its stores: $(ls "$work/given")"
[ "$(cat "$work/given/p002" 2>/dev/null)" = "not a store" ] || bad "the dead run removed a file it did not make"

# 3. a run stopped by a signal, in its default directory and in a --dir it made
stopped() { # SIGNAL DIR|"" - start a long run, signal it once a store is open
	local sig=$1 dir=$2 args=(--peers 300 --burst 2000 --shape hubs)
	[ -n "$dir" ] && args+=(--dir "$dir")
	"$sim" "${args[@]}" >"$work/out3" 2>&1 &
	local pid=$! d=${dir:-$shm/amesh-sim.$!}
	for _ in $(seq 1 600); do
		[ -e "$d/p001" ] && break
		sleep 0.1
	done
	[ -e "$d/p001" ] || bad "SIG$sig: the run made no store in $d within 60 s"
	kill -"$sig" $pid
	wait $pid
	local rc=$? want=$((128 + $(kill -l "$sig")))
	[ $rc = $want ] || bad "SIG$sig: exit $rc, expected $want (dies of the signal): $(cat "$work/out3")"
	grep -q "stopped by signal" "$work/out3" || bad "SIG$sig: no word on stopping: $(cat "$work/out3")"
	[ -e "$d" ] && bad "SIG$sig left $d: $(ls "$d" | head -3)"
}
stopped TERM ""
stopped INT "$work/made"

[ $fail = 0 ] && echo "cleanup: nothing left after an end, a death or a signal; a given directory keeps what was there"
exit $fail

#!/usr/bin/env bash
# sync_bench.sh - initial sync between two real ameshd processes on
# loopback, as a ratio to the all-core Ed25519 verify rate measured just
# before and just after it (issue 13's first figure; prints figures, never
# fails on timing; not a ctest).
#
#   bash tests/bench/sync_bench.sh AMESHD AMESH AMESH_BENCH [N=100000]
#
# Peer a holds N indicators of its own (imported through its socket, signed
# and committed durably); then b starts and dials a, and its puller pulls
# everything (sealed pulls over TCP, export under policy, mesh_ingest's
# checks with the verify pool, one durable commit per batch and cursor).
# Timed from b's start until b has accepted N from a (`amesh peers --json`,
# polled every 50 ms), so the figure includes b's start and handshake.
# Both daemons share this machine's cores: a serves while b verifies.
set -u
AMESHD=$(readlink -f "$1")
AMESH=$(readlink -f "$2")
BENCH=$(readlink -f "$3")
N=${4:-100000}
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"

verify_rate() {
	AMESH_BENCH_ONLY=verify "$BENCH" | sed -n 's/^raw Ed25519 verify ([0-9]* threads, all cores) *\([0-9]*\) .*/\1/p'
}

mk_peer a 0; mk_peer b 1
link b a 0
start a || exit 1
seq 1 "$N" | sed 's/$/.sync-bench.example/' >"$T_ROOT/names.txt"
t0=$EPOCHREALTIME
amp a import "$T_ROOT/names.txt" --format plain --category spam --confidence 60 --ttl 1d >/dev/null ||
	{ echo "a: import failed" >&2; exit 1; }
t1=$EPOCHREALTIME
accepted() { amp b --json peers | grep -o '"in_accepted":[0-9]*' | cut -d: -f2 | head -1; }
v0=$(verify_rate)
s0=$EPOCHREALTIME
start b || exit 1
while :; do
	n=$(accepted); n=${n:-0}
	[ "$n" -ge "$N" ] && break
	if awk "BEGIN{exit !($EPOCHREALTIME - $s0 > 600)}"; then echo "b holds only $n of $N after 600 s" >&2; exit 1; fi
	sleep 0.05
done
s1=$EPOCHREALTIME
v1=$(verify_rate)
awk -v n="$N" -v i0="$t0" -v i1="$t1" -v s0="$s0" -v s1="$s1" -v v0="$v0" -v v1="$v1" 'BEGIN {
	rate = n / (s1 - s0); v = (v0 + v1) / 2
	printf "%-52s %10.0f /s\n", "a: import " n " (sign + durable commit)", n / (i1 - i0)
	printf "%-52s %10.0f /s\n", "raw Ed25519 verify, all cores (before, after)", v
	printf "%-52s %10.0f /s  (%.2f x all-core verify)\n", "initial sync of " n ", two ameshd on loopback", rate, rate / v
}'
finish

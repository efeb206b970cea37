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
# Timed from b's start until b has accepted N from a, so the figure
# includes b's start and handshake. Both daemons share this machine's
# cores: a serves while b verifies.
#
# The observer must not eat the cores it measures. It used to run `amesh
# --json peers | grep | cut | head` and an awk every 50 ms: ~13 ms of CPU a
# round (measured with perf stat), ~15 rounds a second - about a tenth of
# this 2-core machine taken from the sync while the verify rate it is set
# against was measured without it, and up to 50 ms late. Now the end is
# read from b's own log: ingest writes "mesh: accepted K from a" (with a
# millisecond UTC stamp) right after each batch's durable commit, where it
# counts in_accepted; bash sums those lines with builtins only, and sleeps
# 0.2 s between reads. The end is the stamp of the line that brings the sum
# to N; `amesh peers` then confirms b counts N. SYNC_BENCH_OBSERVER=cli
# runs the old observer instead, to compare.
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
# stamp_secs 2026-11-30T20:01:02.345Z -> seconds since the epoch (UTC)
stamp_secs() { date -u -d "${1%Z}" +%s.%N; }
mkdir -p "$T_ROOT/b" && : >>"$T_ROOT/b/ameshd.log"
exec 3<"$T_ROOT/b/ameshd.log"
while read -r -u 3 _; do :; done # b's log so far (none yet): not counted
v0=$(verify_rate)
s0=$EPOCHREALTIME
start b || exit 1
if [ "${SYNC_BENCH_OBSERVER:-log}" = cli ]; then
	while :; do
		n=$(accepted); n=${n:-0}
		[ "$n" -ge "$N" ] && break
		if awk "BEGIN{exit !($EPOCHREALTIME - $s0 > 600)}"; then echo "b holds only $n of $N after 600 s" >&2; exit 1; fi
		sleep 0.05
	done
	s1=$EPOCHREALTIME
else
	sum=0 end= part= torn=
	re='^([0-9T:.-]+Z) info mesh: accepted ([0-9]+) from a$'
	while [ -z "$end" ]; do
		# a line still being written reads as a torn part: kept for the next read
		while [ -z "$end" ] && IFS= read -r -u 3 part; do
			line=$torn$part torn=
			[[ $line =~ $re ]] || continue
			sum=$((sum + BASH_REMATCH[2]))
			[ "$sum" -ge "$N" ] && end=${BASH_REMATCH[1]}
		done
		torn+=$part part=
		[ -n "$end" ] && break
		if ((${EPOCHREALTIME%.*} - ${s0%.*} > 600)); then echo "b accepted only $sum of $N after 600 s" >&2; exit 1; fi
		sleep 0.2
	done
	s1=$(stamp_secs "$end")
	n=$(accepted)
	[ "${n:-0}" -ge "$N" ] || { echo "b's log says $sum accepted, but b counts ${n:-0}" >&2; exit 1; }
fi
exec 3<&-
v1=$(verify_rate)
awk -v n="$N" -v i0="$t0" -v i1="$t1" -v s0="$s0" -v s1="$s1" -v v0="$v0" -v v1="$v1" 'BEGIN {
	rate = n / (s1 - s0); v = (v0 + v1) / 2
	printf "%-52s %10.0f /s\n", "a: import " n " (sign + durable commit)", n / (i1 - i0)
	printf "%-52s %10.0f /s\n", "raw Ed25519 verify, all cores (before, after)", v
	printf "%-52s %10.0f /s  (%.2f x all-core verify)\n", "initial sync of " n ", two ameshd on loopback", rate, rate / v
}'
finish

#!/usr/bin/env bash
# mesh_bench.sh - propagation figures of real ameshd processes on loopback
# (issue 13's benchmark; prints figures, never fails on timing; not a ctest).
#
#   bash tests/bench/mesh_bench.sh AMESHD AMESH [PEERS=20] [ROUNDS=20]
#
# PEERS peers in a ring with chords (every peer has 3 links: links =
# 3 x PEERS / 2), open policies. First a warm-up, not timed into the
# figures: one indicator submitted at each peer in turn (each origin's
# first, which builds its broadcast tree); its bodies, ids and times per
# indicator are printed on lines of their own. Then each round submits one
# indicator at a different peer, and each is withdrawn, in ROUNDS more.
# AMESH_TREE=off in the environment runs the daemons without the broadcast
# tree (flooding), for comparison. AMESH_TREE_SHORTER=N sets the hops a
# path must save for a peer to move its tree onto it (peer/mesh_tree.h;
# 0 = never), for comparisons.
#
# "Held" is when a peer's durable commit put the change in its watch feed:
# `amesh watch --json` on every peer writes straight to a file, and each
# event's "at" is the daemon's own stamp of that moment (CLOCK_REALTIME in
# microseconds, peer/events.h). A round's t0 is $EPOCHREALTIME just before
# the submit CLI starts (the same clock: one machine). submit -> held by
# all is t0 to the last peer's stamp; "from the origin holding it" is the
# origin's stamp to the last peer's (no CLI in it). The round loop reads
# the watch files with bash builtins only (a descriptor per file, from where
# it left off), first 30 ms after the submit returned and then every
# 10 ms, and sleeps without forking: it only decides when the next round
# may start, never what is measured, and keeps off the cores the wave runs
# on. Nothing the daemons do depends on it.
#
# The observer used to compete with what it measured: each watcher was
# `amesh watch --json | while read l; do printf "$EPOCHREALTIME $l"; done`
# (20 bash loops reading a pipe byte by byte, each woken on every event),
# and the round loop grepped all 20 files every 50 ms during the wave. A
# `perf record -a` of a run put bash at 18 %, grep 9 % and awk 2 % of the
# samples beside ~12 % for the daemons. MESH_BENCH_OBSERVER=shell runs that
# observer (stamps as read by the loops) to compare, and prints beside its
# figures the same rounds by the daemons' stamps. The first line says which
# observer ran.
#
# Reports: submit -> held by all peers p50/max (over rounds), per-peer
# held p50/max, the same from the origin holding it, bodies sent and
# received per indicator across the mesh (`amesh peers --json`: out_sent,
# in_accepted, in_duplicate; ids, grafts, prunes), the warm-up's, and the
# resident memory of an idle peer. And the CPU one submission costs: the
# 20 daemons (less their idle rate), the watchers and the submitting CLI,
# summed and divided by the cores - the shortest a wave can be on this
# machine if all of that work has to run inside it - and the daemons' part
# split by thread name, with its context switches. MESH_BENCH_PERF=FILE
# also records the daemons with `perf record -g` over the submissions.
set -u
AMESHD=$(readlink -f "$1")
AMESH=$(readlink -f "$2")
N=${3:-20}
ROUNDS=${4:-20}
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"

if [ $((N % 2)) -ne 0 ] || [ "$N" -lt 4 ]; then echo "PEERS must be even and >= 4" >&2; exit 2; fi
peer() { printf 'b%02d' "$1"; }

for i in $(seq 0 $((N - 1))); do mk_peer "$(peer "$i")" "$i"; done
# ring + diameters: degree 3 everywhere; the lower index dials
LINKS=0
for i in $(seq 0 $((N - 1))); do
	j=$(((i + 1) % N))
	if [ "$i" -lt "$j" ]; then link "$(peer "$i")" "$(peer "$j")" "$j"; else link "$(peer "$j")" "$(peer "$i")" "$i"; fi
	LINKS=$((LINKS + 1))
done
for i in $(seq 0 $((N / 2 - 1))); do
	j=$((i + N / 2))
	link "$(peer "$i")" "$(peer "$j")" "$j"
	LINKS=$((LINKS + 1))
done
# every peer accepts indicators of every other (origins beyond its neighbours)
declare -A NB
for i in $(seq 0 $((N - 1))); do
	NB["$i,$(((i + 1) % N))"]=1; NB["$(((i + 1) % N)),$i"]=1
	NB["$i,$(((i + N / 2) % N))"]=1; NB["$(((i + N / 2) % N)),$i"]=1
done
for i in $(seq 0 $((N - 1))); do
	for j in $(seq 0 $((N - 1))); do
		[ "$i" -ne "$j" ] && [ -z "${NB["$i,$j"]:-}" ] && trust "$(peer "$i")" "$(peer "$j")" origin
	done
done
for i in $(seq 0 $((N - 1))); do start "$(peer "$i")" || exit 1; done

links_up() {
	local i up=0
	for i in $(seq 0 $((N - 1))); do
		up=$((up + $(amp "$(peer "$i")" --json peers | grep -c '"state":"up"')))
	done
	[ "$up" -eq $((2 * LINKS)) ]
}
wait_until 60 links_up || { echo "links did not come up" >&2; exit 1; }

OBSERVER=${MESH_BENCH_OBSERVER:-daemon}
WPIDS=()
case $OBSERVER in daemon | shell) ;; *) echo "MESH_BENCH_OBSERVER must be daemon or shell" >&2; exit 2 ;; esac
# one watcher per peer, writing straight to its file; with the shell
# observer, every line stamped by a bash loop with the time it read it
for i in $(seq 0 $((N - 1))); do
	p=$(peer "$i")
	if [ "$OBSERVER" = shell ]; then
		( "$AMESH" -s "$T_ROOT/$p/run/amesh.sock" --json watch |
			while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done ) >"$T_ROOT/$p.watch" 2>/dev/null &
	else
		"$AMESH" -s "$T_ROOT/$p/run/amesh.sock" --json watch >"$T_ROOT/$p.watch" 2>/dev/null &
	fi
	WPIDS+=("$!")
	T_PIDS+=("$!") # reaped at exit with the daemons (lib.sh)
	disown "$!"    # without a "Killed" line each
done
sleep 1
# the round loop reads every watch file through its own descriptor, with
# bash builtins only, from where it left off
FD=() TORN=()
for i in $(seq 0 $((N - 1))); do
	exec {fd}<"$T_ROOT/$(peer "$i").watch"
	FD[i]=$fd TORN[i]=
done
# nap SECONDS: sleeps without a fork (a read that times out on a fifo
# nobody writes)
mkfifo "$T_ROOT/nap"
exec {NAPFD}<>"$T_ROOT/nap"
nap() { read -r -t "$1" -u "$NAPFD" _; }

# sum of a counter over every neighbour of every peer
counter() {
	local i total=0 v
	for i in $(seq 0 $((N - 1))); do
		for v in $(amp "$(peer "$i")" --json peers | grep -o "\"$1\":[0-9]*" | cut -d: -f2); do
			total=$((total + v))
		done
	done
	echo "$total"
}

# all_have DOMAIN EVENT: every watch file has the event for the domain
# (the shell observer's test, a grep per peer every 50 ms)
all_have() {
	local i
	for i in $(seq 0 $((N - 1))); do
		grep -q "\"event\":\"$2\".*\"domain\":\"$1\"" "$T_ROOT/$(peer "$i").watch" || return 1
	done
}

# stamp_us LINE: µs since the epoch of a watch line in US: the daemon's
# stamp, the event's "at" (RFC 3339 UTC with microseconds, peer/events.h),
# also in DUS - or with the shell observer the bash loop's $EPOCHREALTIME
# before the line (DUS keeps the daemon's). Builtins only.
AT_RE='"at":"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z"'
stamp_us() {
	[[ $1 =~ $AT_RE ]] || { US= DUS=; return 1; }
	local y=$((10#${BASH_REMATCH[1]})) m=$((10#${BASH_REMATCH[2]})) d=$((10#${BASH_REMATCH[3]}))
	# days from 1970-01-01 to y-m-d (civil calendar; Howard Hinnant's days_from_civil)
	y=$((y - (m <= 2)))
	local era=$((y / 400)) yoe doy doe
	yoe=$((y - era * 400))
	doy=$(((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1))
	doe=$((yoe * 365 + yoe / 4 - yoe / 100 + doy))
	DUS=$((((era * 146097 + doe - 719468) * 86400 + 10#${BASH_REMATCH[4]} * 3600 + 10#${BASH_REMATCH[5]} * 60 +
		10#${BASH_REMATCH[6]}) * 1000000 + 10#${BASH_REMATCH[7]}))
	US=$DUS
	if [ "$OBSERVER" = shell ]; then
		local t=${1%% *}
		US=$((10#${t%.*} * 1000000 + 10#${t#*.}))
	fi
}

# collect DOMAIN EVENT: reads what each peer's watcher wrote since the last
# call, and puts in AT[i] the stamp (µs) of peer i's event for the domain
# (DAT[i]: the daemon's, the same with the daemon observer).
# Returns 0 once every peer has it. Lines of earlier rounds are passed over;
# a line still being written reads as a torn part, kept for the next call.
collect() {
	local i part line all=0
	for ((i = 0; i < N; i++)); do
		[ -n "${AT[i]:-}" ] && continue
		while IFS= read -r -u "${FD[i]}" part; do
			line=${TORN[i]}$part TORN[i]=
			if [[ $line == *"\"event\":\"$2\""*"\"domain\":\"$1\""* ]]; then
				stamp_us "$line" || { echo "peer $i: no time in: $line" >&2; exit 1; }
				AT[i]=$US DAT[i]=$DUS
				break
			fi
		done
		[ -n "${AT[i]:-}" ] && continue
		TORN[i]+=$part
		all=1
	done
	return "$all"
}

# phase EVENT: one operation per round at origin (r * 7) mod N, timed;
# appends µs to $T_ROOT/EVENT.held (submit -> held by all), .each (per
# peer) and .prop (the origin holding it -> held by all). The round's t0 is
# taken just before the CLI starts; every other time is a daemon's stamp.
# warm: one submission at each peer instead (for the warm-up).
phase() {
	local ev=$1 kind=$1 r o oi d t0 i last dlast rounds=$ROUNDS
	[ "$ev" = warm ] && rounds=$N kind=new
	: >"$T_ROOT/$ev.held"; : >"$T_ROOT/$ev.each"; : >"$T_ROOT/$ev.prop"; : >"$T_ROOT/$ev.dheld"; : >"$T_ROOT/$ev.dprop"
	for r in $(seq 1 "$rounds"); do
		if [ "$ev" = warm ]; then oi=$((r - 1)); d="bench-w$r-$$.example.com"; else oi=$(((r * 7) % N)); d="bench-r$r-$$.example.com"; fi
		o=$(peer $oi)
		AT=() DAT=()
		t0=$EPOCHREALTIME
		if [ "$ev" = withdrawn ]; then
			amp "$o" withdraw "$d" --category phishing >/dev/null || { echo "withdraw failed" >&2; exit 1; }
		elif [ "$ev" = warm ]; then
			# untraced CLI: trace_hops.py's rounds are the traced submits
			AMESH_TRACE= amp "$o" submit "$d" --category phishing --confidence 80 --ttl 1d >/dev/null ||
				{ echo "submit failed" >&2; exit 1; }
		else
			amp "$o" submit "$d" --category phishing --confidence 80 --ttl 1d >/dev/null || { echo "submit failed" >&2; exit 1; }
		fi
		if [ "$OBSERVER" = shell ]; then
			wait_until 60 all_have "$d" "$kind" || { fail "round $r: $kind of $d did not reach every peer"; exit 1; }
			collect "$d" "$kind" || { echo "round $r: a watch file lost $d" >&2; exit 1; }
		else
			# out of the wave's way: the first look after 30 ms, then every 10 ms
			nap 0.03
			while ! collect "$d" "$kind"; do
				if ((${EPOCHREALTIME%.*} - ${t0%.*} > 60)); then fail "round $r: $kind of $d did not reach every peer"; exit 1; fi
				nap 0.01
			done
		fi
		t0=$((10#${t0%.*} * 1000000 + 10#${t0#*.}))
		last=0 dlast=0
		for ((i = 0; i < N; i++)); do
			echo $((AT[i] - t0)) >>"$T_ROOT/$ev.each"
			((AT[i] > last)) && last=${AT[i]}
			((DAT[i] > dlast)) && dlast=${DAT[i]}
		done
		echo $((last - t0)) >>"$T_ROOT/$ev.held"
		echo $((last - AT[oi])) >>"$T_ROOT/$ev.prop"
		echo $((dlast - t0)) >>"$T_ROOT/$ev.dheld"
		echo $((dlast - DAT[oi])) >>"$T_ROOT/$ev.dprop"
	done
}

# cpu_us PID...: CPU time (µs) every thread of these processes has used
# so far, from the scheduler's own ns account (/proc/PID/task/*/schedstat)
cpu_us() {
	local p t a total=0
	for p in "$@"; do
		for t in /proc/"$p"/task/*/schedstat; do
			read -r a _ <"$t" 2>/dev/null || continue
			total=$((total + a))
		done
	done
	echo $((total / 1000))
}
# children_us VAR: sets VAR to the CPU (µs) of this shell's finished
# children (bash times, 10 ms ticks); not in a $( ) subshell, which has
# children of its own
children_us() {
	local u s
	times >"$T_ROOT/times"
	{ read -r _; read -r u s; } <"$T_ROOT/times"
	u=${u#*m}; s=${s#*m}; u=${u%s}; s=${s%s}
	printf -v "$1" '%d' "$((10#${u%.*} * 1000000 + 10#${u#*.} * 1000 + 10#${s%.*} * 1000000 + 10#${s#*.} * 1000))"
}

# thread_snap FILE: one line per daemon thread - pid/tid, name (the
# daemon names its threads: README, "Which part is busy"), CPU ns, times
# it was scheduled onto a CPU (/proc/.../schedstat)
thread_snap() {
	local p t a n c
	for p in "${DPIDS[@]}"; do
		for t in /proc/"$p"/task/*; do
			read -r a _ n <"$t/schedstat" 2>/dev/null || continue
			read -r c <"$t/comm"
			echo "$p/${t##*/} $c $a $n"
		done
	done >"$1"
}

# p50 and max of a file of µs
stats() { sort -n "$1" | awk '{ v[NR] = $1 / 1000 } END { printf "p50 %7.1f ms  max %7.1f ms", v[int((NR + 1) / 2)], v[NR] }'; }

# warm-up: each origin's first indicator (which builds its broadcast tree)
# outside the figures; its own counts are printed apart
w0s=$(counter out_sent); w0a=$(counter in_accepted); w0d=$(counter in_duplicate); w0i=$(counter ids_out); w0g=$(counter grafts_out); w0q=$(counter prunes_out)
phase warm
sleep 1 # the last ids and prunes of the warm-up
s0=$(counter out_sent); a0=$(counter in_accepted); d0=$(counter in_duplicate); i0=$(counter ids_out); g0=$(counter grafts_out); q0=$(counter prunes_out)
DPIDS=()
for i in $(seq 0 $((N - 1))); do DPIDS+=("$(cat "$T_ROOT/$(peer "$i")/pid")"); done
sleep 1 # an idle second first: its CPU is the peers' floor, taken off below
ci0=$(cpu_us "${DPIDS[@]}"); sleep 1; ci1=$(cpu_us "${DPIDS[@]}")
thread_snap "$T_ROOT/threads0"
if [ -n "${MESH_BENCH_PERF:-}" ]; then
	perf record -g -o "$MESH_BENCH_PERF" -p "$(IFS=,; echo "${DPIDS[*]}")" >/dev/null 2>&1 &
	PERFPID=$!
	sleep 0.5
fi
c0=$(cpu_us "${DPIDS[@]}"); w0=$(cpu_us "${WPIDS[@]}"); children_us k0; ct0=$EPOCHREALTIME
phase new
[ -n "${PERFPID:-}" ] && { kill -INT "$PERFPID"; wait "$PERFPID"; }
thread_snap "$T_ROOT/threads1"
c1=$(cpu_us "${DPIDS[@]}"); w1=$(cpu_us "${WPIDS[@]}"); children_us k1; ct1=$EPOCHREALTIME
sleep 1 # the last ids and prunes of the round
s1=$(counter out_sent); a1=$(counter in_accepted); d1=$(counter in_duplicate); i1=$(counter ids_out); g1=$(counter grafts_out); q1=$(counter prunes_out)
phase withdrawn
sleep 1
s2=$(counter out_sent); a2=$(counter in_accepted); d2=$(counter in_duplicate); i2=$(counter ids_out); g2=$(counter grafts_out); q2=$(counter prunes_out)
sleep 3
rss=()
for i in $(seq 0 $((N - 1))); do
	rss+=("$(awk '/VmRSS/ { print $2 }' "/proc/$(cat "$T_ROOT/$(peer "$i")/pid")/status")")
done
rss_med=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')

echo "mesh_bench $(date -u +%Y-%m-%dT%H:%MZ): $N ameshd on loopback, $LINKS links (degree 3), $ROUNDS rounds after a warm-up of $N, $(nproc) cores, broadcast tree ${AMESH_TREE:-on}, shorter paths ${AMESH_TREE_SHORTER:-default}, observer $OBSERVER ($([ "$OBSERVER" = shell ] && echo "a bash loop stamps each watch line as it reads it" || echo "the daemons' own stamps: each watch event's at"))"
printf '  submission  held by all %s   per peer %s\n' "$(stats "$T_ROOT/new.held")" "$(stats "$T_ROOT/new.each")"
printf '  withdrawal  held by all %s   per peer %s\n' "$(stats "$T_ROOT/withdrawn.held")" "$(stats "$T_ROOT/withdrawn.each")"
printf '  from the origin holding it (no CLI): submission held by all %s, withdrawal %s\n' \
	"$(stats "$T_ROOT/new.prop")" "$(stats "$T_ROOT/withdrawn.prop")"
[ "$OBSERVER" = shell ] && printf '  the same runs by the daemons'"'"' stamps: submission held by all %s, from the origin %s; withdrawal %s, from the origin %s\n' \
	"$(stats "$T_ROOT/new.dheld")" "$(stats "$T_ROOT/new.dprop")" "$(stats "$T_ROOT/withdrawn.dheld")" "$(stats "$T_ROOT/withdrawn.dprop")"
awk -v s="$((s1 - s0))" -v a="$((a1 - a0))" -v d="$((d1 - d0))" -v i="$((i1 - i0))" -v g="$((g1 - g0))" -v q="$((q1 - q0))" -v r="$ROUNDS" -v n="$N" -v l="$LINKS" 'BEGIN {
	printf "  per indicator: bodies sent %.1f (flooding predicts 2 x links - (peers - 1) = %d; needed %d), accepted %.1f, duplicates %.1f; ids %.1f, grafts %.1f, prunes %.1f\n",
		s / r, 2 * l - (n - 1), n - 1, a / r, d / r, i / r, g / r, q / r }'
# CPU per submission round: the 20 daemons (less their idle rate over the
# phase), the watchers, the submitting CLI; divided by the cores it is the
# shortest a wave could be on this machine if all that work had to run in it
awk -v c="$((c1 - c0))" -v idle="$((ci1 - ci0))" -v el="$(awk -v a="$ct0" -v b="$ct1" 'BEGIN { print b - a }')" \
	-v w="$((w1 - w0))" -v k="$((k1 - k0))" -v r="$ROUNDS" -v n="$(nproc)" 'BEGIN {
	d = (c - idle * el) / r / 1000; ww = w / r / 1000; kk = k / r / 1000
	printf "  CPU per submission: daemons %.1f ms (idle rate taken off: %.1f ms/s), watchers %.1f ms, submit CLI %.1f ms; all / %d cores = %.1f ms\n",
		d, idle / 1000, ww, kk, n, (d + ww + kk) / n }'
# the same split by thread name: where the daemons' CPU and context
# switches go (a thread that exited in between is not counted)
join <(sort "$T_ROOT/threads0") <(sort "$T_ROOT/threads1") | awk -v r="$ROUNDS" '
	{ ns[$2] += $6 - $3; sw[$2] += $7 - $4 }
	END { for (c in ns) if (ns[c] / r >= 50000) printf "%.2f %s %.1f\n", ns[c] / r / 1e6, c, sw[c] / r }' |
	sort -rn | awk '{ l = l sprintf("%s%s %.1f ms (%d switches)", NR > 1 ? ", " : "", $2, $1, $3) } END { print "  by daemon thread, per submission: " l }'
awk -v s="$((s2 - s1))" -v a="$((a2 - a1))" -v d="$((d2 - d1))" -v i="$((i2 - i1))" -v g="$((g2 - g1))" -v q="$((q2 - q1))" -v r="$ROUNDS" 'BEGIN {
	printf "  per withdrawal: bodies sent %.1f, accepted %.1f, duplicates %.1f; ids %.1f, grafts %.1f, prunes %.1f\n", s / r, a / r, d / r, i / r, g / r, q / r }'
awk -v s="$((s0 - w0s))" -v a="$((a0 - w0a))" -v d="$((d0 - w0d))" -v i="$((i0 - w0i))" -v g="$((g0 - w0g))" -v q="$((q0 - w0q))" -v r="$N" 'BEGIN {
	printf "  warm-up (not in the figures above; one indicator at each peer, the first of each origin): per indicator: bodies sent %.1f, accepted %.1f, duplicates %.1f; ids %.1f, grafts %.1f, prunes %.1f\n", s / r, a / r, d / r, i / r, g / r, q / r }'
printf '  warm-up held by all %s, from the origin %s\n' "$(stats "$T_ROOT/warm.held")" "$(stats "$T_ROOT/warm.prop")"
echo "  idle peer RSS: median ${rss_med} kB (b00: ${rss[0]} kB)"

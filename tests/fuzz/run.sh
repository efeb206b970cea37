#!/usr/bin/env bash
# run.sh - libFuzzer over every fuzz target, one at a time.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]     (default: every target built)
#
# Builds build-fuzz/ with Debian's clang (libFuzzer + ASan + UBSan) if it is
# missing, then runs each target for SECONDS at nice 19. Each target starts
# from its built-in seeds (written fresh by the binary, so they match the
# current format), the committed corpus tests/fuzz/corpus/<target>/ and what
# earlier runs found (build-fuzz/fuzz/work/<target>/, never committed).
# A crash, leak, timeout or out-of-memory leaves its input in
# build-fuzz/fuzz/artifacts/<target>/ and makes the script exit 1: copy the
# input into tests/fuzz/corpus/<target>/ (the ctest driver replays that
# directory on every run) and fix the bug.
#
# One line per target goes to stdout and to build-fuzz/fuzz/summary.txt:
# target, seconds, executions, exec/s, coverage (edges), features, corpus
# size, result. Full logs: build-fuzz/fuzz/logs/<target>.log.
# AMESH_FUZZ_BUILD overrides the build directory; AMESH_FUZZ_JOBS the make -j.
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$PWD

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
	echo "usage: tests/fuzz/run.sh SECONDS [TARGET...]" >&2
	exit 2
fi
secs=$1; shift
build=${AMESH_FUZZ_BUILD:-$src/build-fuzz}

bash "$src/deploy/install-deps.sh" --fuzz || exit 2
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DAMESH_LIBFUZZER=ON \
		-DAMESH_SANITIZE=address,undefined >/dev/null || exit 2
fi
nice -n 19 cmake --build "$build" -j "${AMESH_FUZZ_JOBS:-2}" >/dev/null || {
	echo "run.sh: build failed in $build" >&2
	exit 2
}

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$build"/tests/fuzz_*; do
		[ -x "$f" ] && targets+=("${f##*/fuzz_}")
	done
fi
if [ ${#targets[@]} -eq 0 ]; then
	echo "run.sh: no fuzz targets in $build/tests" >&2
	exit 2
fi

out=$build/fuzz
mkdir -p "$out/logs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "run.sh: no target $t ($bin)" >&2
		failed=1
		continue
	fi
	work=$out/work/$t seeds=$out/seeds/$t art=$out/artifacts/$t log=$out/logs/$t.log
	mkdir -p "$work" "$seeds" "$art"
	AMESH_FUZZ_WRITE_SEEDS=$seeds "$bin" >/dev/null || {
		echo "run.sh: $t could not write its seeds" >&2
		failed=1
		continue
	}
	dirs=("$work" "$seeds")
	[ -d "$src/tests/fuzz/corpus/$t" ] && dirs+=("$src/tests/fuzz/corpus/$t")
	# -timeout: a single input running 10 s is a hang (the kind of bug a
	# malicious neighbour uses); -rss_limit_mb: a parser that allocates
	# what an input claims is a finding too.
	nice -n 19 "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -max_len=16384 -artifact_prefix="$art/" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
	if [ $rc -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc; input in $art/, log $log)"
		failed=1
	fi
	line=$(printf '%-10s %5ss  execs %-10s %6s/s  cov %-5s ft %-6s corpus %-10s %s' \
		"$t" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")
	echo "$line"
	echo "$(date -u +%FT%TZ) $line" >>"$out/summary.txt"
done
exit $failed

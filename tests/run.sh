#!/usr/bin/env bash
# run.sh - the whole test suite, twice: a normal build, then one under
# AddressSanitizer + UndefinedBehaviorSanitizer. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
	local dir=$1; shift
	echo "=== $dir: configure and build $*"
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j "$jobs" >/dev/null
	echo "=== $dir: ctest"
	(cd "$dir" && ctest --output-on-failure -j "$jobs")
}

run_suite build
# LeakSanitizer too: every allocation has one owner and is freed.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DAMESH_SANITIZE=address,undefined
echo "=== all suites passed"

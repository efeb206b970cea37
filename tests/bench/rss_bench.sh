#!/usr/bin/env bash
# rss_bench.sh - resident memory of a real ameshd, idle and empty, then
# holding N (default 1,000,000) indicators of its own (issue 13's
# benchmark: "RSS of an idle peer and one holding 1,000,000 indicators").
# Prints figures, never fails on timing; not a ctest.
#
#   bash tests/bench/rss_bench.sh AMESHD AMESH [N=1000000]
#
# The indicators go in through the socket as an operator's would (`amesh
# import`: normalised, versioned, signed, committed durably in batches), so
# the store is what the daemon itself wrote. RSS is read from
# /proc/PID/status after the peer has been idle for 2 s, split into
# anonymous memory (the daemon's own) and file pages (LMDB's map: page
# cache the kernel may reclaim, shared with any reader of data.mdb).
set -u
AMESHD=$(readlink -f "$1")
AMESH=$(readlink -f "$2")
N=${3:-1000000}
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"

rss() {
	awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } /^RssFile/ { f = $2 }
	     END { printf "%.1f MB (anonymous %.1f MB, LMDB map and other file pages %.1f MB)", r / 1024, a / 1024, f / 1024 }' \
		"/proc/$(cat "$T_ROOT/a/pid")/status"
}

mk_peer a 0
# 1,000,000 records fill ~0.5 GB of map; leave room for LMDB's free pages
sed -i 's/^\[peer\]$/[peer]\nmap_size = 4G/' "$T_ROOT/a/amesh.conf"
start a || exit 1
sleep 2
printf '%-52s %s\n' "ameshd idle, empty store: RSS" "$(rss)"
seq 1 "$N" | sed 's/$/.rss-bench.example/' >"$T_ROOT/names.txt"
t0=$EPOCHREALTIME
amp a import "$T_ROOT/names.txt" --format plain --category spam --confidence 60 --ttl 1d >/dev/null ||
	{ echo "a: import failed" >&2; exit 1; }
t1=$EPOCHREALTIME
sleep 2
held=$(amp a --json status | grep -o '"live":[0-9]*' | cut -d: -f2)
bytes=$(amp a --json status | grep -o '"store_bytes":[0-9]*' | cut -d: -f2)
awk -v n="$N" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%-52s %10.0f /s\n", "import " n " (sign + durable commit)", n / (t1 - t0) }'
printf '%-52s %s\n' "ameshd idle, holding ${held:-?} indicators: RSS" "$(rss)"
awk -v b="${bytes:-0}" -v n="${held:-1}" 'BEGIN { printf "%-52s %10.1f MB  (%.1f B per indicator)\n", "  its store (LMDB pages in use)", b / 1048576, b / n }'
finish

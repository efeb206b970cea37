#!/usr/bin/env bash
# rpz_bench.sh - how fast a submission reaches a resolver, beside BIND as
# the primary in the same run, then zone build, AXFR and IXFR at size.
# Usage: rpz_bench.sh BUILD_DIR [RULES]   (RULES default 1000000)
# Prints figures and ratios; asserts nothing (timings are not tests).
set -uo pipefail
B=$(cd "${1:?usage: rpz_bench.sh BUILD_DIR [RULES]}" && pwd)
RULES=${2:-1000000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
AMESH=$B/amesh AMESHD=$B/ameshd BENCH=$B/tests/rpz-bench
W=$(mktemp -d /tmp/rpz-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$W"' EXIT
BASE=$((10000 + ($$ % 200) * 10)) # below the integration tests' ports and the ephemeral range
DNS=$BASE ROOT=$((BASE + 1)) UB=$((BASE + 2)) BINDP=$((BASE + 3)) SCALE=$((BASE + 4))

render() { local in=$1 out=$2 kv; shift 2; cp "$in" "$out"; for kv in "$@"; do sed -i "s|@${kv%%=*}@|${kv#*=}|g" "$out"; done; }
bg() { local log=$1; shift; "$@" >"$log" 2>&1 & PIDS+=($!); }
answer() { dig +time=1 +tries=1 @127.0.0.1 -p "$UB" "$1" A | grep -q "status: $2"; }
until_ok() { for _ in $(seq 1 200); do "$@" && return 0; sleep 0.05; done; echo "timed out: $*" >&2; return 1; }

# the peer, serving rpz.amesh.test and notifying Unbound
"$AMESH" init "$W/peer" --name bench >/dev/null
sed -i "s|^# dns_listen = .*|dns_listen = 127.0.0.1:$DNS|" "$W/peer/amesh.conf"
printf '\n[rpz abuse]\nzone = rpz.amesh.test\ncategories = all\nallow_transfer = 127.0.0.1\nnotify = 127.0.0.1:%s\n' "$UB" >>"$W/peer/amesh.conf"
bg "$W/peer.log" "$AMESHD" -c "$W/peer/amesh.conf"
# BIND as a primary of rpz.bind.test, notifying the same Unbound
mkdir -p "$W/root" "$W/bind" "$W/unbound"
printf '$TTL 300\n@ SOA localhost. hostmaster.localhost. 1 300 60 259200 60\n@ NS localhost.\n' >"$W/bind/rpz.bind.test.db"
render "$SRC/bench/named-primary.conf.in" "$W/bind/named.conf" DIR="$W/bind" PORT="$BINDP" NOTIFY="$UB"
render "$SRC/resolvers/named-auth.conf.in" "$W/root/named.conf" DIR="$W/root" PORT="$ROOT" SRC="$SRC/resolvers"
render "$SRC/bench/unbound-bench.conf.in" "$W/unbound/unbound.conf" DIR="$W/unbound" PORT="$UB" AUTH="$ROOT" \
	AMESH="$DNS" BIND="$BINDP"
bg "$W/root.log" named -g -c "$W/root/named.conf"
bg "$W/bind.log" named -g -c "$W/bind/named.conf"
bg "$W/unbound.log" unbound -d -c "$W/unbound/unbound.conf"
until_ok answer probe.example NOERROR || { cat "$W"/*.log; exit 1; }
until_ok sh -c "'$AMESH' -s '$W/peer/run/amesh.sock' --json rpz | grep -q '\"transfer\":\"AXFR\"'" || exit 1
sleep 1 # Unbound's first transfer of the BIND zone

N=20
echo "# submit returns -> NXDOMAIN at Unbound, $N names each, one run"
amesh_us=() bind_us=()
for i in $(seq 1 $N); do
	amesh_us+=("$("$BENCH" race "$UB" "a$i.bench.example" "$AMESH" -s "$W/peer/run/amesh.sock" \
		submit "a$i.bench.example" --category phishing --confidence 90 --ttl 1d)")
	printf 'server 127.0.0.1 %s\nupdate add b%s.bench.example.rpz.bind.test 300 CNAME .\nsend\n' "$BINDP" "$i" >"$W/nsupdate"
	bind_us+=("$("$BENCH" race "$UB" "b$i.bench.example" sh -c "nsupdate '$W/nsupdate'")")
done
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d", v[int((NR + 1) / 2)], v[NR] }'; }
read -r a50 amax <<<"$(stats "${amesh_us[@]}")"
read -r b50 bmax <<<"$(stats "${bind_us[@]}")"
awk -v a50="$a50" -v amax="$amax" -v b50="$b50" -v bmax="$bmax" 'BEGIN {
	printf "%-44s p50 %8.2f ms   max %8.2f ms\n", "amesh submit -> IXFR -> NXDOMAIN", a50 / 1000, amax / 1000
	printf "%-44s p50 %8.2f ms   max %8.2f ms\n", "BIND nsupdate -> NOTIFY -> IXFR -> NXDOMAIN", b50 / 1000, bmax / 1000
	printf "%-44s p50 %8.1fx      max %8.1fx\n", "ratio amesh / BIND", a50 / (b50 > 0 ? b50 : 1), amax / (bmax > 0 ? bmax : 1)
}'
echo "# raw (us): amesh ${amesh_us[*]}"
echo "# raw (us): bind  ${bind_us[*]}"
"$AMESH" -s "$W/peer/run/amesh.sock" rpz | head -4

echo
echo "# at size (in-process: store, zone build, AXFR and IXFR over TCP)"
"$BENCH" scale "$RULES" "$SCALE" 2>/dev/null

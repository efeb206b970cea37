#!/usr/bin/env bash
# demo.sh - the README's main command: builds Abuse Mesh and starts a small
# local mesh of three operators on loopback - a registry (.Asia), an RIR
# (APNIC) and a national CERT behind a firewall - with the policies of
# deploy/example/. Submits indicators, shows who received what and what
# policy held back, withdraws one and shows the withdrawal arriving. Ends
# at a resolver: the CERT's Unbound takes the CERT peer's response policy
# zone and answers NXDOMAIN for a name .Asia reported, then answers again
# after .Asia withdraws it, with the time each took.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target ameshd amesh >/dev/null

AMESH=$PWD/build/amesh
AMESHD=$PWD/build/ameshd
DEMO=$(mktemp -d /tmp/amesh-demo.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DEMO"' EXIT
BASE=$((17400 + $$ % 500 * 3))

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "${*#$PWD/build/}"; "$@" || echo "(exit status $?)"; }
am() { local p=$1; shift; "$AMESH" -s "$DEMO/$p/run/amesh.sock" "$@"; }

say "Three operators create their peers"
"$AMESH" init "$DEMO/dotasia" --name dotasia --listen "tcp://127.0.0.1:$BASE" >/dev/null
"$AMESH" init "$DEMO/apnic" --name apnic --listen "tcp://127.0.0.1:$((BASE + 1))" >/dev/null
"$AMESH" init "$DEMO/cert-xx" --name cert-xx >/dev/null
for p in dotasia apnic cert-xx; do echo "$p: $(cat "$DEMO/$p/amesh.key.pub")"; done

say "They pin each other's keys (after checking fingerprints by phone)"
pin() { "$AMESH" -c "$DEMO/$1/amesh.conf" keys trust "$DEMO/$2/amesh.key.pub" --name "$2" --as "$3"; }
pin dotasia apnic neighbour; pin apnic dotasia neighbour
pin apnic cert-xx neighbour; pin cert-xx apnic neighbour
pin cert-xx dotasia origin; pin dotasia cert-xx origin

# The CERT also serves a response policy zone to its own resolver (an
# Unbound on loopback, below), with a fake root so nothing leaves the box.
DNS=$((BASE + 2)) ROOTP=$((BASE + 3)) UBP=$((BASE + 4))
sed -i "s|^# dns_listen = .*|dns_listen = 127.0.0.1:$DNS|" "$DEMO/cert-xx/amesh.conf"
cat >>"$DEMO/cert-xx/amesh.conf" <<CONF

[rpz abuse]
zone = rpz.cert-xx.example
categories = phishing, malware
min_score = 50
action = nxdomain
allow_transfer = 127.0.0.1
notify = 127.0.0.1:$UBP
CONF

say "Each appends its neighbour policies (deploy/example/*.conf, local ports)"
for p in dotasia apnic cert-xx; do
	sed -n '/^\[neighbour/,$p' "deploy/example/$p.conf" |
		sed "s|tcp://mesh.apnic.example:7400|tcp://127.0.0.1:$((BASE + 1))|" >>"$DEMO/$p/amesh.conf"
	run "$AMESHD" -c "$DEMO/$p/amesh.conf" --check
done
for p in dotasia apnic cert-xx; do
	"$AMESHD" -c "$DEMO/$p/amesh.conf" 2>"$DEMO/$p.log" &
	PIDS+=($!)
done
for p in dotasia apnic cert-xx; do
	for _ in $(seq 1 100); do am "$p" status >/dev/null 2>&1 && break; sleep 0.05; done
done
sleep 1

# The CERT's resolver runs from the start, as a real one would: started only
# before the timed step, it missed the NOTIFYs of the changes before it, and
# the first timed change waited ~400 ms behind their unanswered retry
# (DNS_NOTIFY_COALESCE_MS), which is not what a submission costs.
render() { local in=$1 out=$2 kv; shift 2; cp "tests/resolvers/$in" "$out"; for kv in "$@"; do sed -i "s|@${kv%%=*}@|${kv#*=}|g" "$out"; done; }
mkdir -p "$DEMO/root" "$DEMO/unbound"
render named-auth.conf.in "$DEMO/root/named.conf" DIR="$DEMO/root" PORT="$ROOTP" SRC="$PWD/tests/resolvers"
render unbound.conf.in "$DEMO/unbound/unbound.conf" DIR="$DEMO/unbound" PORT="$UBP" AUTH="$ROOTP" \
	PRIMARY="$DNS" PRIMARY_ADDR=127.0.0.1 ZONE=rpz.cert-xx.example
named -g -c "$DEMO/root/named.conf" >"$DEMO/root.log" 2>&1 &
PIDS+=($!)
unbound -d -c "$DEMO/unbound/unbound.conf" >"$DEMO/unbound.log" 2>&1 &
PIDS+=($!)
answer() {
	local out; out=$(dig +time=1 +tries=1 @127.0.0.1 -p "$UBP" "$1" A 2>&1)
	if grep -q "status: NXDOMAIN" <<<"$out"; then echo NXDOMAIN; else grep -v '^;' <<<"$out" | awk '$4 == "A" { print $5; exit }'; fi
}
wait_answer() { for _ in $(seq 1 500); do [ "$(answer "$1")" = "$2" ] && return 0; sleep 0.02; done; return 1; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
NAME=pay.secure-bank.asia
# the resolver is where the demo ends: a step that fails there fails the demo
resolver_failed() { echo "demo: $1; Unbound's log:" >&2; tail -20 "$DEMO/unbound.log" >&2; exit 1; }
wait_answer "$NAME" 192.0.2.1 || resolver_failed "the resolver did not come up"

say ".Asia reports three names; the CERT reports one"
run am dotasia submit Login.Secure-Bank.ASIA. --category phishing --confidence 90 --ttl 7d --tlp green
run am dotasia submit dropper.kids --category malware --confidence 85 --ttl 7d --tlp amber
run am dotasia submit cheap-meds.asia --category pharming --confidence 30 --ttl 7d
run am cert-xx submit c2.evil-example.net --category malware --confidence 95 --ttl 2d
sleep 2

say "Who holds what"
for p in dotasia apnic cert-xx; do
	printf '\033[1m%s\033[0m\n' "$p"
	am "$p" list | sed 's/^/  /'
done
cat <<'TXT'
  - login.secure-bank.asia (green) went .Asia -> APNIC -> CERT: relayed, signature intact.
  - dropper.kids is amber: APNIC (direct neighbour) has it, the CERT does not.
  - cheap-meds.asia (confidence 30) stayed home: .Asia exports only >= 50.
  - the CERT's c2.evil-example.net reached APNIC but not .Asia: APNIC sends
    .Asia only names under asia/kids.
TXT

say "The CERT's resolver asks about a subdomain: the parent matches"
run am cert-xx query www.login.secure-bank.asia mail.example.org

say "What APNIC's policies did, per neighbour"
run am apnic peers

say ".Asia withdraws its phishing indicator (recourse)"
run am dotasia withdraw login.secure-bank.asia --category phishing
sleep 1
run am cert-xx query www.login.secure-bank.asia
say "The CERT's link to APNIC, and its audit trail for that name"
run am cert-xx peers
run am cert-xx audit login.secure-bank.asia
run am cert-xx audit --verify

say "The CERT's resolver: Unbound takes the CERT peer's RPZ (AXFR/IXFR + NOTIFY)"
for _ in $(seq 1 100); do am cert-xx --json rpz | grep -q '"transfer":"[AI]XFR"' && break; sleep 0.05; done
printf '$ dig @127.0.0.1 -p %s %s   -> %s (before)\n' "$UBP" "$NAME" "$(answer "$NAME")"
t=$(date +%s%N)
run am dotasia submit "$NAME" --category phishing --confidence 90 --ttl 7d --tlp green
if wait_answer "$NAME" NXDOMAIN; then
	printf '\033[1m.Asia submit -> APNIC -> CERT peer -> RPZ IXFR -> Unbound NXDOMAIN: %s ms\033[0m\n' "$(ms "$t")"
else
	resolver_failed "Unbound did not answer NXDOMAIN within 10 s"
fi
printf '$ dig @127.0.0.1 -p %s www.%s   -> %s (the *. rule)\n' "$UBP" "$NAME" "$(answer "www.$NAME")"
t=$(date +%s%N)
run am dotasia withdraw "$NAME" --category phishing
if wait_answer "$NAME" 192.0.2.1; then
	printf '\033[1m.Asia withdraw -> ... -> Unbound answers again: %s ms\033[0m\n' "$(ms "$t")"
else
	resolver_failed "Unbound did not answer again within 10 s"
fi
run am cert-xx rpz

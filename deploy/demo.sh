#!/usr/bin/env bash
# demo.sh - the README's main command: build Abuse Mesh, start one peer in a
# temporary directory, submit indicators, query them, withdraw one, and show
# what the operator sees at each step. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target ameshd amesh >/dev/null

AMESH=$PWD/build/amesh
AMESHD=$PWD/build/ameshd
DEMO=$(mktemp -d /tmp/amesh-demo.XXXXXX)
trap 'kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DEMO"' EXIT

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "$*"; "$@" || echo "(exit status $?)"; }

run "$AMESH" init "$DEMO/apnic" --name apnic
"$AMESHD" -c "$DEMO/apnic/amesh.conf" 2>"$DEMO/ameshd.log" &
PID=$!
export AMESH_SOCKET=$DEMO/apnic/run/amesh.sock
for _ in $(seq 1 100); do "$AMESH" status >/dev/null 2>&1 && break; sleep 0.05; done

run "$AMESH" submit Login.Bank-Secure.Example. --category phishing --confidence 85 --ttl 7d --tlp green
run "$AMESH" submit c2.botnet.example.net --category botnet --confidence 70 --ttl 2d
run "$AMESH" submit münchen-pharma.example.org --category pharming --confidence 40 --ttl 1d
step "a public suffix is never flagged:"
run "$AMESH" submit co.uk --category spam --confidence 10 --ttl 1d
run "$AMESH" query www.login.bank-secure.example c2.botnet.example.net clean.example.com
run "$AMESH" --json query shop.MÜNCHEN-pharma.example.org
run "$AMESH" withdraw c2.botnet.example.net --category botnet
run "$AMESH" query c2.botnet.example.net
run "$AMESH" list
run "$AMESH" status
step "daemon log:"
cat "$DEMO/ameshd.log"

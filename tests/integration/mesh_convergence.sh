#!/usr/bin/env bash
# mesh_convergence.sh - five peers in a ring with chords; indicators and
# withdrawals submitted at random peers in random order; afterwards every
# peer's per-origin digest must agree.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

N=5
for i in $(seq 1 $N); do mk_peer "p$i" "$i"; done
edges="1-2 2-3 3-4 4-5 5-1 1-3 2-4"
for e in $edges; do link "p${e%-*}" "p${e#*-}" "${e#*-}"; done
# every other peer is an origin we accept through relays
for i in $(seq 1 $N); do for j in $(seq 1 $N); do
	[ "$i" = "$j" ] && continue
	"$AMESH" -c "$T_ROOT/p$i/amesh.conf" keys list 2>/dev/null | grep -q "^p$j " || trust "p$i" "p$j" origin
done; done
for i in $(seq 1 $N); do start "p$i" || exit 1; done

RANDOM=20261123
cats=(phishing malware botnet pharming spam)
subs=() withdrawn=0 submitted=0
for k in $(seq 1 80); do
	if [ ${#subs[@]} -gt 0 ] && [ $(( RANDOM % 4 )) -eq 0 ]; then
		# withdraw something submitted earlier (possibly already withdrawn: then it fails)
		s=${subs[$(( RANDOM % ${#subs[@]} ))]}
		amp "${s%% *}" withdraw "$(cut -d' ' -f2 <<<"$s")" --category "${s##* }" >/dev/null 2>&1 &&
			withdrawn=$((withdrawn + 1))
	else
		p="p$(( RANDOM % N + 1 ))"; d="d$(( RANDOM % 12 )).example.org"; c=${cats[$(( RANDOM % 5 ))]}
		amp "$p" submit "$d" --category "$c" --confidence $(( RANDOM % 101 )) --ttl 1d >/dev/null &&
			submitted=$((submitted + 1)) && subs+=("$p $d $c")
	fi
done
echo "# $submitted submissions, $withdrawn withdrawals, at random peers"
check "the scenario withdrew something" test "$withdrawn" -gt 5
agree() {
	local ref; ref=$(digests p1)
	[ -n "$ref" ] && [ "$ref" != "[]" ] || return 1
	for i in $(seq 2 $N); do [ "$(digests "p$i")" = "$ref" ] || return 1; done
}
check "all five peers converge to the same digests" wait_until 30 agree
for i in $(seq 1 $N); do echo "# p$i $(amp "p$i" --json status | sed -n 's/.*"live":\([0-9]*\).*"tombstones":\([0-9]*\).*/live \1 tombstones \2/p')"; done
finish

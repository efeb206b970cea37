#!/usr/bin/env bash
# mesh_lifetime.sh - max_lifetime holds on ingest too (issue 8, item 8): a
# neighbour with a longer max_lifetime, or a malicious one, cannot make this
# peer hold an indicator for years. Refusals have their own reason,
# counted and audited like the others; a little clock skew is forgiven.
#
#   a (max_lifetime 365 days) dials b (default: 90 days); mallory is pinned at b.
set -uo pipefail
AMESHD=$1 AMESH=$2 TESTPEER=$3
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2
link a b 2
sed -i 's/^# max_lifetime = .*/max_lifetime = 365d/' "$T_ROOT/a/amesh.conf"
grep -q '^max_lifetime = 365d' "$T_ROOT/a/amesh.conf" || fail "a's config takes max_lifetime"
"$AMESH" keys generate -o "$T_ROOT/mallory.key" >/dev/null
"$AMESH" -c "$T_ROOT/b/amesh.conf" keys trust "$T_ROOT/mallory.key.pub" --name mallory >/dev/null
neighbour b mallory <<<"$OPEN_POLICY"
start a || exit 1; start b || exit 1
check "a -> b is up" wait_until 10 sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' --json peers | grep -q '\"name\":\"a\".*\"state\":\"up\"'"

amp a submit years.example.com --category malware --confidence 80 --ttl 200d >/dev/null || fail "a takes a 200-day indicator"
amp a submit month.example.com --category malware --confidence 80 --ttl 30d >/dev/null || fail "a takes a month-long one"
check "b takes what is within its max_lifetime" wait_until 10 has b month.example.com
settle a b
check "b refuses what expires beyond its max_lifetime" not has b years.example.com
check "... counted under its own reason" test "$(reject_count b a lifetime)" = 1
check "... and audited with that rule" sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' audit years.example.com | grep -q 'rejected.*lifetime'"

B="tcp://127.0.0.1:$(port_of 2)"
tp() { "$TESTPEER" "$T_ROOT/mallory.key" "$T_ROOT/b/amesh.key.pub" "$B" "$@"; }
expect_exit 0 "mallory pushes an indicator expiring in 5 years" tp longlived long.example.com
expect_exit 0 "mallory pushes one at the limit, a minute of clock skew over" tp lifetime-edge edge.example.com
check "the skewed one is accepted" wait_until 5 has b edge.example.com
check "the 5-year one is not" not has b long.example.com
check "mallory's refusal counted" test "$(reject_count b mallory lifetime)" = 1
check "the reason is shown by name in amesh peers" sh -c "'$AMESH' -s '$T_ROOT/b/run/amesh.sock' peers | grep -q 'lifetime'"
finish

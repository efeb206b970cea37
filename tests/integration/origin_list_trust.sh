#!/usr/bin/env bash
# origin_list_trust.sh - a policy's origin list (import.origins,
# export.origins) names origins by trust-store name. A name that resolves to
# no trusted key (revoked, distrusted, misspelt) matches no origin; it must
# never keep a trust change from applying or a peer from starting.
#
# Found on a 3-peer mesh: c's [neighbour b] said `import.origins = a, b';
# `amesh keys revoke a' on c was saved but "the running ameshd did not apply
# it: import.origins: `a' is not a trusted key in the trust store; the
# running trust store stays in force" - a's signals kept blocking on c - and
# c then refused to start; `ameshd --check' had called the config valid.
#
#   a dials b; c dials b. c knows a only as an origin.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
trust c b; trust b c
neighbour c b "tcp://127.0.0.1:$(port_of 2)" <<'EOF'
export.categories = all
import.categories = all
import.origins = a, b
EOF
neighbour b c <<<"$OPEN_POLICY"
trust c a origin
for p in a b c; do start "$p" || exit 1; done
k() { local p=$1; shift; "$AMESH" -c "$T_ROOT/$p/amesh.conf" keys "$@"; }

amp a submit listed-origin.example.com --category phishing --confidence 80 --ttl 1d >/dev/null
check "c takes a's indicator through b (a is in import.origins)" wait_until 15 has c listed-origin.example.com

expect_exit 0 "revoke a, an origin c's policy lists, on running c" k c revoke a --reason "key reported stolen"
check "the CLI says the daemon applied it" grep -q "applied" <<<"$T_OUT"
check "... and no 'did not apply'" not grep -q "did not apply" <<<"$T_ERR"
check "a's indicator is no longer answered on c" not has c listed-origin.example.com
check "c's log names the policy's name that matches no origin now, with the neighbour and its line" \
	wait_until 5 grep -q "mesh: neighbour b (config line [0-9]*): import.origins: \`a' is not a trusted key in the trust store: it matches no origin" "$T_ROOT/c/ameshd.log"

expect_exit 0 "--check passes c, whose policy lists the revoked origin" "$AMESHD" -c "$T_ROOT/c/amesh.conf" --check
check "... warning, with the line of [neighbour b]" grep -q "amesh.conf:[0-9]*: warning: \[neighbour b\] import.origins: \`a' is not a trusted key in the trust store: it matches no origin" <<<"$T_ERR"
stop c
check "c restarts with the revoked origin still listed" start c
check "... and a's indicator stays refused" not has c listed-origin.example.com
amp b submit from-b.example.com --category spam --confidence 40 --ttl 1d >/dev/null
check "... while b, also listed, still delivers" wait_until 15 has c from-b.example.com

# a misspelt name: the same warning, the same start
sed -i 's/^import.origins = a, b$/import.origins = a, bb/' "$T_ROOT/c/amesh.conf"
expect_exit 0 "--check passes a misspelt name in import.origins" "$AMESHD" -c "$T_ROOT/c/amesh.conf" --check
check "... naming both names that match no origin" grep -q "import.origins: \`a' is not a trusted key in the trust store (nor 1 other name)" <<<"$T_ERR"
expect_exit 0 "a SIGHUP with it is applied" signal c HUP
check "... and logged" wait_until 5 grep -q "SIGHUP: reloaded" "$T_ROOT/c/ameshd.log"
# c's refusal is counted: wait for that (a sleep then `not has' passed
# whatever c did, if b's batch had not come yet)
o0=$(reject_count c b origin)
origin_refused() { [ "$(reject_count c b origin)" -gt "${o0:-0}" ]; }
amp b submit after-typo.example.com --category spam --confidence 40 --ttl 1d >/dev/null
check "c has b's new indicator and refuses it for its origin" wait_until 15 origin_refused
check "b's new indicator is refused: no name of the list matches it (fail closed)" not has c after-typo.example.com

finish

#!/usr/bin/env bash
# feed_revoke.sh - an upstream's withdrawal becomes ours: amesh import
# --withdraw-revoked, over real ameshd on loopback. a imports a STIX
# bundle and b (its neighbour) holds the names; c, another origin, flags
# one of the same names and one more, which a holds too. The bundle's
# next version revokes three indicators: imported without the option,
# nothing is withdrawn (and the summary says how); with --dry-run, what
# would be is said and nothing is; with the option, a's own flag on a
# revoked name is withdrawn (b drops it) and audited with where the feed
# revoked it, c's flags on the same name and on the other are left alone
# (and said so), and a name another object of the feed still flags stays.
# The same for a MISP event whose next version deletes an attribute.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2; mk_peer c 3
link a b 2
link c a 1
for p in a b c; do start "$p" || exit 1; done
up() { amp "$1" --json peers | grep -q '"state":"up"'; }
check "a links to b" wait_until 10 up b
check "c links to a" wait_until 10 up c

# has_from PEER NAME ORIGIN: PEER holds ORIGIN's (a peer name) live flag on NAME
key_of() { amp "$1" --json status | sed -n 's/.*"key_id":"\([0-9a-f]*\)".*/\1/p'; }
A_KEY=$(key_of a); C_KEY=$(key_of c)
check "a's and c's key ids read" test "${#A_KEY}" -ge 16 -a "${#C_KEY}" -ge 16 -a "$A_KEY" != "$C_KEY"
has_from() { amp "$1" --json query -- "$2" 2>/dev/null | tr '{' '\n' | grep "\"domain\":\"$2\"" | grep -q "$3"; }

T1=$(date -u -d '-2 days' +%FT%TZ); T2=$(date -u -d '-1 day' +%FT%TZ); UNTIL=$(date -u -d '+7 days' +%FT%TZ)
# ind N MODIFIED NAME [REVOKED]: one indicator, on one line of its own
ind() {
	printf '{"type": "indicator", "spec_version": "2.1", "id": "indicator--e1000000-0000-4000-8000-00000000000%s", ' "$1"
	printf '"created": "%s", "modified": "%s", "labels": ["malware"], "confidence": 80, ' "$T1" "$2"
	printf '"pattern": "[domain-name:value = '"'"'%s'"'"']", "pattern_type": "stix", ' "$3"
	printf '"valid_from": "%s", "valid_until": "%s"%s}' "$T1" "$UNTIL" "${4:+, \"revoked\": true}"
}
bundle() { # bundle FILE INDICATOR...: one object a line, line 1 the bundle's
	local out=$1; shift
	{ echo '{"type": "bundle", "id": "bundle--e1000000-0000-4000-8000-000000000000", "objects": ['
	  local first=1 o; for o in "$@"; do [ $first = 1 ] || echo ','; first=0; printf '%s' "$o"; done
	  echo; echo ']}'; } >"$out"
}
V1=$T_ROOT/feed-v1.json V2=$T_ROOT/feed-v2.json
bundle "$V1" "$(ind 1 "$T1" revoked-later.example)" "$(ind 2 "$T1" kept.example)" "$(ind 3 "$T1" shared.example)"
# v2: 1 and 3 revoked (newer modified), 2 as before, 4 revokes a name a
# holds only from c, 5 revokes kept.example as another object while 2
# still flags it
bundle "$V2" "$(ind 1 "$T2" revoked-later.example r)" "$(ind 2 "$T1" kept.example)" \
	"$(ind 3 "$T2" shared.example r)" "$(ind 4 "$T2" other-only.example r)" "$(ind 5 "$T2" kept.example r)"

expect_exit 0 "a imports the bundle" amp a import "$V1"
check "  3 stored" grep -q "^3 names submitted: 3 stored" <<<"$T_OUT"
amp c submit shared.example --category malware --confidence 60 --ttl 7d >/dev/null || fail "c flags shared.example"
amp c submit other-only.example --category malware --confidence 60 --ttl 7d >/dev/null || fail "c flags other-only.example"
check "b holds revoked-later.example (a's)" wait_until 10 has_from b revoked-later.example "$A_KEY"
check "b holds kept.example" wait_until 10 has b kept.example
check "a holds c's flag on shared.example" wait_until 10 has_from a shared.example "$C_KEY"
check "a holds c's flag on other-only.example" wait_until 10 has_from a other-only.example "$C_KEY"
check "b holds a's flag on shared.example" wait_until 10 has_from b shared.example "$A_KEY"

# without the option: skipped as revoked, as before; nothing withdrawn
expect_exit 0 "a imports v2 without --withdraw-revoked" amp a import "$V2"
check "  the revoked ones are skipped" test "$(grep -c ': revoked: ' <<<"$T_ERR")" = 4
check "  the summary names the option" grep -q "^4 revoked entries skipped: --withdraw-revoked withdraws this peer's own live flags" <<<"$T_OUT"
check "  a still holds its flag on revoked-later.example" has_from a revoked-later.example "$A_KEY"
settle a b
check "  b still holds it" has_from b revoked-later.example "$A_KEY"

# --dry-run: said, nothing withdrawn
expect_exit 0 "a: --withdraw-revoked --dry-run" amp a import "$V2" --withdraw-revoked --dry-run
check "  would withdraw revoked-later.example, saying where" grep -qx "would withdraw: revoked-later.example malware (revoked in $V2 line 2)" <<<"$T_OUT"
check "  and shared.example (a's own flag)" grep -qx "would withdraw: shared.example malware (revoked in $V2 line 4)" <<<"$T_OUT"
check "  not other-only.example: c's, left alone" grep -q "^not withdrawn: other-only.example malware (revoked in $V2 line 5): another origin's flag, left alone: the indicator held here is origin ${C_KEY:0:16} (c)'s, not this peer's" <<<"$T_ERR"
check "  not kept.example: the feed still flags it" grep -q "feed-v2.json:6: objects\[4\]: revoked: .*kept.example.* (not withdrawn: line 3 flags \`kept.example' malware, live - the feed still flags it)" <<<"$T_ERR"
check "  the summary counts them" grep -q "^dry run: 2 names the feed revoked would be withdrawn (this peer's own live flags), 1 not (each said above); nothing was withdrawn" <<<"$T_OUT"
check "  a still holds revoked-later.example" has_from a revoked-later.example "$A_KEY"
check "  ... and shared.example" has_from a shared.example "$A_KEY"

# the real thing
expect_exit 0 "a imports v2 with --withdraw-revoked" amp a import "$V2" --withdraw-revoked
check "  withdrawn: revoked-later.example, saying where" grep -qx "withdrawn: revoked-later.example malware (revoked in $V2 line 2)" <<<"$T_OUT"
check "  withdrawn: a's own flag on shared.example" grep -qx "withdrawn: shared.example malware (revoked in $V2 line 4)" <<<"$T_OUT"
check "  not withdrawn: other-only.example, c's" grep -q "^not withdrawn: other-only.example malware (revoked in $V2 line 5): another origin's flag, left alone" <<<"$T_ERR"
check "  the summary" grep -q "^2 names the feed revoked withdrawn (this peer's own live flags), 1 not (each said above)" <<<"$T_OUT"
check "  a holds its flag on revoked-later.example no longer" not has_from a revoked-later.example "$A_KEY"
check "  the withdrawal reaches b" wait_until 10 not has b revoked-later.example
check "  b drops a's flag on shared.example" wait_until 10 not has_from b shared.example "$A_KEY"
check "  c's flag on shared.example stays at a" has_from a shared.example "$C_KEY"
check "  c's flag on other-only.example stays at a" has_from a other-only.example "$C_KEY"
check "  c's own flags are untouched at c" has_from c shared.example "$C_KEY"
check "  kept.example stays at a and b" has b kept.example
check "  a's audit: withdrawn, and why" grep -q "note: revoked by its feed: $V2 line 2, \`indicator--e1000000-0000-4000-8000-000000000001' (amesh import --withdraw-revoked)" <<<"$(amp a audit revoked-later.example)"
check "  as a withdrawal by this peer" grep -q '"event":"withdrawn","domain":"revoked-later.example","category":"malware","origin_key_id":"'"${A_KEY:0:16}" <<<"$(amp a --json audit revoked-later.example)"
expect_exit 0 "the same again: nothing left to withdraw" amp a import "$V2" --withdraw-revoked
check "  said so" grep -q "^not withdrawn: revoked-later.example malware (revoked in $V2 line 2): this peer withdrew its indicator already" <<<"$T_ERR"
expect_exit 0 "--json: one object per withdrawal" amp a --json import "$V2" --withdraw-revoked
check "  not_withdrawn, with the origin held" grep -q '"event":"not_withdrawn","domain":"other-only.example","category":"malware",.*"held_by":"'"${C_KEY:0:16}"'"' <<<"$T_OUT"
check "  the summary counts" grep -q '"event":"summary".*"withdrawn":0,"not_withdrawn":3' <<<"$T_OUT"

# MISP: the event's next version deletes an attribute
misp() { # misp FILE TIMESTAMP DELETED
	printf '{"Event": {"uuid": "7a2e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6c", "timestamp": "%s", "info": "kit",\n' "$2" >"$1"
	printf ' "Attribute": [\n  {"uuid": "ab000001-0000-4000-8000-000000000001", "type": "domain", "to_ids": true, "value": "misp-gone.example", "deleted": %s},\n' "$3" >>"$1"
	printf '  {"uuid": "ab000001-0000-4000-8000-000000000002", "type": "domain", "to_ids": true, "value": "misp-kept.example"}]}}\n' >>"$1"
}
misp "$T_ROOT/m1.json" 1764300000 false; misp "$T_ROOT/m2.json" 1764400000 true
expect_exit 0 "a imports a MISP event" amp a import "$T_ROOT/m1.json" --category phishing --confidence 70 --ttl 7d
check "b holds misp-gone.example" wait_until 10 has b misp-gone.example
expect_exit 0 "a imports its next version with --withdraw-revoked" amp a import "$T_ROOT/m2.json" --category phishing \
	--confidence 70 --ttl 7d --withdraw-revoked
check "  withdrawn: misp-gone.example" grep -qx "withdrawn: misp-gone.example phishing (revoked in $T_ROOT/m2.json line 3)" <<<"$T_OUT"
check "  the withdrawal reaches b" wait_until 10 not has b misp-gone.example
check "  misp-kept.example stays" has b misp-kept.example

expect_exit 2 "--withdraw-revoked is for feed files" amp a submit - --withdraw-revoked --category spam --confidence 1 --ttl 1d </dev/null
finish

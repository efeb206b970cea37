#!/usr/bin/env bash
# allowlists.sh - allowlists with real-shaped MISP warninglists and plain
# lists (fixtures in warninglists/, written for this project) on a real
# daemon (issue 9): lists with bad entries load, each bad entry named with
# its file and index by the log and by --check; public-suffix entries cover
# only themselves, a parent's entry no name past a public suffix below it
# (amazonaws.com, not a bucket under s3.amazonaws.com), "string" entries the exact name, "hostname" entries the
# name and its subdomains, a leading dot the subdomains only - checked
# through verdicts; the origin refuses to flag what it allowlists unless
# --force, which the audit trail records; `amesh allowlist' shows what
# covers a name and what each entry is shielding.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"
FIX=$(dirname "$0")/warninglists

"$AMESH" init "$T_ROOT/p" --name p >/dev/null
cp "$FIX"/*.json "$FIX"/corp.txt "$T_ROOT/p/"
conf="$T_ROOT/p/amesh.conf"
sed -i "s|^\[peer\]|[peer]\nallowlist = top-sites.json, tlds.json, exact-hosts.json, corp.txt, many-bad.json|" "$conf"
am() { "$AMESH" -s "$T_ROOT/p/run/amesh.sock" "$@"; }

# --- --check loads the lists it validates ---
expect_exit 0 "a config whose lists have bad entries is valid" "$AMESHD" -c "$conf" --check
check "... and says how many names and bad entries" grep -q "24 allowlisted names from 5 files, 39 bad entries skipped" <<<"$T_OUT"
check "--check names a bad entry with file and index" grep -q "top-sites.json:list\[5\]: skipped: \`-container.supertms.com': label \`-container' has a leading hyphen" <<<"$T_ERR"
check "... a space" grep -q "top-sites.json:list\[8\]: skipped: \`corona helden': a space" <<<"$T_ERR"
check "... empty labels" grep -q "top-sites.json:list\[9\]: skipped: \`marketingplatform.google....'" <<<"$T_ERR"
check "... a non-string entry" grep -q "top-sites.json:list\[13\]: skipped: \`42': a number, not a name" <<<"$T_ERR"
check "... a subdomains-only public suffix" grep -q "top-sites.json:list\[15\]: skipped: \`.github.io': \`github.io' is a public suffix" <<<"$T_ERR"
check "--check warns of a public suffix kept as itself only, with file and index" grep -q "top-sites.json:list\[2\]: warning: \`github.io': \`github.io' is a public suffix: this entry covers that name only, never the names below it" <<<"$T_ERR"
check "... each one" grep -q "top-sites.json:list\[3\]: warning: \`duckdns.org'" <<<"$T_ERR"
check "... a plain list's line" grep -q "corp.txt:4: skipped: \`-bad.example-corp.net'" <<<"$T_ERR"
check "the leading hyphen is not called 'a character other than'" not grep -q "character other than" <<<"$T_ERR"
check "a list with 30 bad entries: 20 named" test "$(grep -c 'many-bad.json:list' <<<"$T_ERR")" -eq 20
check "... then counted" grep -q "many-bad.json: ... and 10 more bad entries skipped" <<<"$T_ERR"

cp "$conf" "$T_ROOT/p/cidr.conf"
sed -i "s|^allowlist = .*|allowlist = resolvers-cidr.json|" "$T_ROOT/p/cidr.conf"
expect_exit 1 "--check refuses a cidr warninglist" "$AMESHD" -c "$T_ROOT/p/cidr.conf" --check
check "... saying it is not a list of names" grep -q "resolvers-cidr.json: warninglist type \`cidr' is not a list of names" <<<"$T_ERR"

# --- the daemon starts with the same lists and logs the same ---
start_peer "$T_ROOT/p" || exit 1
log="$T_ROOT/p/ameshd.log"
check "the log names a skipped entry with file and index" grep -q "allowlist: .*top-sites.json:list\[14\]: skipped: \`-250.starlink.ru': label \`-250' has a leading hyphen" "$log"
check "the log counts per file" grep -q "top-sites.json: 11 entries, 7 bad entries skipped, [0-9]* public-suffix entries covering the name only" "$log"
check "the log warns of a public-suffix entry with file and index" grep -q "allowlist: .*top-sites.json:list\[3\]: warning: \`duckdns.org': \`duckdns.org' is a public suffix" "$log"

# --- the origin does not flag what it allowlists ---
sub() { am submit "$@" --category phishing --confidence 90 --ttl 1d; }
expect_exit 2 "a hostname entry covers the name: refused" sub google.com
check "... naming the entry and the list" grep -q "allowlisted by \`google.com' in Top sites (test fixture)" <<<"$T_ERR"
expect_exit 2 "... and its subdomains: refused" sub mail.google.com
expect_exit 2 "a string entry covers the exact name: refused" sub yahoo.com
check "... naming the string list" grep -q "allowlisted by \`yahoo.com' in Exact hosts (test fixture)" <<<"$T_ERR"
expect_exit 0 "... but not its subdomains" sub login.yahoo.com
expect_exit 0 "a platform entry (public suffix) does not cover its tenants: github.io" sub phish.github.io
expect_exit 0 "... duckdns.org" sub bank-login.duckdns.org
expect_exit 0 "... pages.dev" sub login-secure.pages.dev
expect_exit 0 "... workers.dev" sub a.b.workers.dev
expect_exit 0 "... web.app" sub secure.web.app
# a parent entry reaches no further than a flag on it: amazonaws.com is no
# public suffix, but s3.amazonaws.com and *.compute.amazonaws.com below it
# are, and their tenants are others (was: refused, allowlisted by amazonaws.com)
expect_exit 2 "a parent entry covers its own subdomains: www.amazonaws.com refused" sub www.amazonaws.com
expect_exit 0 "... not a bucket under the suffix s3.amazonaws.com" sub phish-bucket.s3.amazonaws.com
expect_exit 0 "... nor a host under *.compute.amazonaws.com" sub ec2-198-51-100-7.eu-west-1.compute.amazonaws.com
expect_exit 0 "tlds' COM covers no .com name" sub evil-shop.com
expect_exit 0 "a leading-dot entry does not cover the name itself" sub cdn.example-corp.net
expect_exit 2 "... it covers the names below" sub img.cdn.example-corp.net
expect_exit 0 "a plain list's \`*.x' does not cover x itself (as README says)" sub static.example-corp.net
expect_exit 2 "... it covers the names below x" sub img.static.example-corp.net
expect_exit 0 "a string list's leading dot: not the name" sub static.example-bank.com
expect_exit 2 "... the names below" sub js.static.example-bank.com
expect_exit 0 "--force overrides" sub mail.google.com --force
expect_exit 0 "--force on a string entry" sub yahoo.com --force
expect_exit 0 "an emoji entry is loaded (well-formed A-label)" am allowlist xn--ls8h.la
# a batch: one refusal among accepted names changes nothing; all refused is exit 2
printf 'yahoo.com\nbatch-ok.example.com\n' >"$T_ROOT/mixed.txt"
expect_exit 0 "submit -: one name refused among accepted ones: exit 0" \
	am submit - --category phishing --confidence 90 --ttl 1d <"$T_ROOT/mixed.txt"
check "... the refused one named with its entry" grep -q "yahoo.com.*allowlisted by \`yahoo.com' in Exact hosts" <<<"$T_ERR"
printf 'google.com\nmail.google.com\n' >"$T_ROOT/allrefused2.txt"
expect_exit 2 "submit -: every name refused by the allowlist: exit 2" \
	am submit - --category phishing --confidence 90 --ttl 1d <"$T_ROOT/allrefused2.txt"
check "... saying the daemon refused all 2" grep -q "refused every one of the 2 names submitted" <<<"$T_ERR"
printf 'google.com\n' >"$T_ROOT/allrefused.txt"
expect_exit 2 "import FILE: every name refused: exit 2" \
	am import "$T_ROOT/allrefused.txt" --format plain --category phishing --confidence 90 --ttl 1d

# --- verdicts ---
verdict() { am --json query "$1" | grep -o '"level":"[a-z]*"' | head -1; }
check "tenant of github.io: block" test "$(verdict phish.github.io)" = '"level":"block"'
check "tenant of duckdns.org: block" test "$(verdict www.bank-login.duckdns.org)" = '"level":"block"'
check "tenant of pages.dev: block" test "$(verdict login-secure.pages.dev)" = '"level":"block"'
check "a .com name under tlds' COM: block" test "$(verdict evil-shop.com)" = '"level":"block"'
check "under a string entry: block" test "$(verdict login.yahoo.com)" = '"level":"block"'
check "the string entry itself (forced signal): allowlisted" test "$(verdict yahoo.com)" = '"level":"allowlisted"'
check "under a hostname entry (forced signal): allowlisted" test "$(verdict www.mail.google.com)" = '"level":"allowlisted"'
check "... with the entry and list as the reason" grep -q '"reason":"allowlisted by `google.com'"'"' in Top sites (test fixture)"' <<<"$(am --json query mail.google.com)"
check "a leading-dot entry's own name: block" test "$(verdict cdn.example-corp.net)" = '"level":"block"'
check "a bucket under s3.amazonaws.com (entry amazonaws.com): block" \
	test "$(verdict www.phish-bucket.s3.amazonaws.com)" = '"level":"block"'

# --- exports are blocklists: an allowlisted name stays out, as in the RPZ ---
holds_allowlisted() { tr "\"', \r" '\n\n\n\n\n' <"$1" | grep -qxE 'mail\.google\.com|yahoo\.com'; }
for fmt in hosts csv stix; do
	am export "$fmt" -o "$T_ROOT/allow.$fmt" 2>"$T_ROOT/allow.err"
	check "export $fmt: no allowlisted name (the forced signals on mail.google.com, yahoo.com)" \
		not holds_allowlisted "$T_ROOT/allow.$fmt"
	check "export $fmt: a blocked name is there" grep -q "login\.yahoo\.com" "$T_ROOT/allow.$fmt"
	check "export $fmt: says what it left out" grep -q "left out 2 signals on names allowlisted here" "$T_ROOT/allow.err"
done
am export hosts --include-allowlisted -o "$T_ROOT/allow.all" 2>/dev/null
check "export --include-allowlisted keeps them" grep -qx "0.0.0.0 yahoo.com" "$T_ROOT/allow.all"

# --- transparency ---
expect_exit 0 "amesh allowlist NAME: covered" am allowlist www.mail.google.com
check "... by which entry, list and coverage" grep -q "covered by \`google.com' (name and subdomains) in Top sites (test fixture), shielding 1 live signal" <<<"$T_OUT"
expect_exit 1 "amesh allowlist NAME: not covered" am allowlist phish.github.io
check "... says so" grep -q "^phish.github.io: not allowlisted" <<<"$T_OUT"
expect_exit 1 "amesh allowlist: a bucket is not covered by amazonaws.com" am allowlist phish-bucket.s3.amazonaws.com
expect_exit 0 "... amazonaws.com's own host is" am allowlist console.amazonaws.com
expect_exit 2 "amesh allowlist '': an empty NAME is a usage error, not the overview" am allowlist ''
check "... saying so" grep -q "NAME is empty" <<<"$T_ERR"
expect_exit 0 "amesh allowlist NAME takes a query form: blanks and an ideographic full stop" \
	am allowlist $' www.mail.google\xe3\x80\x82com '
expect_exit 0 "a public suffix entry covers only itself" am allowlist github.io
check "... said in words" grep -q "covered by \`github.io' (name) in Top sites" <<<"$T_OUT"
expect_exit 0 "a leading-dot entry" am allowlist x.cdn.example-corp.net
check "... covers subdomains" grep -q "covered by \`cdn.example-corp.net' (subdomains) in corp.txt" <<<"$T_OUT"
expect_exit 0 "the overview" am allowlist
check "... lists each list with its bad entries" grep -q "list Top sites (test fixture) (hostname): 11 entries, 7 bad entries skipped" <<<"$T_OUT"
check "... the entries shielding live signals" grep -q "entry \`google.com' (name and subdomains) in Top sites (test fixture), shielding 1 live signal" <<<"$T_OUT"
out=$(am --json allowlist mail.google.com)
check "--json: covered_by with shielding" grep -q '"covered_by": \?{[^}]*"entry": \?"google.com"' <<<"$out"
check "--json parses" python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert d["covered"] and d["covered_by"]["shielding"]==1' <<<"$out"

# --- the audit trail records the override ---
expect_exit 0 "audit of yahoo.com" am audit yahoo.com
check "... says it was forced over the allowlist" grep -q "submitted with --force over the allowlist: allowlisted by \`yahoo.com' in Exact hosts (test fixture)" <<<"$T_OUT"

finish

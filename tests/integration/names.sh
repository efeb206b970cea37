#!/usr/bin/env bash
# names.sh - names as the DNS has them (issue 9) on a real daemon through
# the real CLI: a lookup never fails on a name a resolver can see and always
# finds a flagged parent ("-cdn.evil-parent.com" after flagging
# evil-parent.com), `--' ends options, public suffixes and single labels
# match nothing without a word on stderr, batch exit statuses 0/1/2, and
# emoji names are flaggable (well-formed A-labels, U-labels via UTS #46),
# and a name `amesh submit' flags, `amesh query' finds as typed: both judge
# its length as converted, and both read a final `。' as the root's dot;
# a name under an RPZ trigger label (rpz-ip, ...) is refused.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

"$AMESH" init "$T_ROOT/p" --name p >/dev/null
start_peer "$T_ROOT/p" || exit 1
am() { "$AMESH" -s "$T_ROOT/p/run/amesh.sock" "$@"; }

expect_exit 0 "submit evil-parent.com" am submit evil-parent.com --category phishing --confidence 80 --ttl 1d

# --- the bypass: labels under a flagged name are the attacker's to choose ---
expect_exit 0 "a leading-hyphen label finds its flagged parent" am query -- -cdn.evil-parent.com
check "... and names the parent's signal" grep -q "evil-parent.com  phishing" <<<"$T_OUT"
expect_exit 0 "an escaped label (My\\032Printer) finds its parent" am query 'My\032Printer.evil-parent.com'
check "... in lower case query form" grep -q '^my\\032printer.evil-parent.com: 1 signal' <<<"$T_OUT"
expect_exit 0 "a label with a space finds its parent" am query 'corona helden.evil-parent.com'
expect_exit 0 "a trailing hyphen, underscore and '*' label too" am query 'x-._y.*.evil-parent.com'
expect_exit 0 "upper case and the root's dot" am query 'CDN.EVIL-PARENT.COM.'
long=$(printf 'a%.0s' $(seq 1 63))
expect_exit 0 "a 63-octet label under the parent" am query "$long.evil-parent.com"
expect_exit 2 "a 64-octet label is no DNS name" am query "${long}a.evil-parent.com"
check "... and the message says which rule" grep -q "longer than 63" <<<"$T_ERR"

# --- `--' ends options, and the CLI says so ---
expect_exit 2 "a name read as an option is a usage error" am query -cdn.evil-parent.com
check "... whose message points at \`--'" grep -q "amesh query -- -cdn.evil-parent.com" <<<"$T_ERR"
expect_exit 0 "--help documents \`--'" am --help
check "... in the query line" grep -q "\`--' ends options" <<<"$T_OUT"
# a command's --help, where every usage error of it points, printed the
# whole 61-line table of commands
for c in query submit withdraw dispute status; do
	expect_exit 0 "amesh $c --help" am "$c" --help
	check "... shows $c's usage" grep -q "^usage: amesh .*\] $c" <<<"$T_OUT"
	check "... and no other command's" test "$(grep -cE '^  (init|submit|list|peers) ' <<<"$T_OUT")" -eq 0
done
expect_exit 0 "amesh dispute answer --help, where its usage errors point" am dispute answer --help
check "... shows dispute's usage alone" test "$(grep -c '^usage: amesh .*\] dispute .*answer ID uphold' <<<"$T_OUT")" -eq 1 -a "$(grep -c '^  submit ' <<<"$T_OUT")" -eq 0
expect_exit 0 "amesh sightings --help" am sightings --help
check "... names --flush-every, as amesh --help does" grep -q -- "--flush-every S" <<<"$T_OUT"
expect_exit 0 "--json after \`--' is a name, not an option" am query -- evil-parent.com --json
check "... so the output stays text" grep -q "^evil-parent.com: 1 signal" <<<"$T_OUT"

# --- proportionate: suffixes and single labels match nothing, quietly ---
for n in github.io co.uk com wpad localhost .; do
	expect_exit 1 "query $n matches nothing" am query "$n"
	check "... without a word on stderr" test -z "$T_ERR"
done
expect_exit 2 "a submission of a suffix is still refused" am submit github.io --category phishing --confidence 50 --ttl 1d
check "... as disproportionate" grep -q "proportionate" <<<"$T_ERR"
expect_exit 2 "a submission with a leading hyphen is refused" am submit --category phishing --confidence 50 --ttl 1d -- -cdn.evil-parent.com
check "... saying leading hyphen" grep -q "leading hyphen" <<<"$T_ERR"

# --- RPZ trigger labels: a name there is a rule on addresses in a zone ---
# `0.0.0.0.0.rpz-ip' was stored, and its zone rule 0.0.0.0.0.rpz-ip.ZONE
# made BIND and Unbound answer NXDOMAIN for every name with an A record
for n in 0.0.0.0.0.rpz-ip 32.1.2.0.192.rpz-nsip com.rpz-nsdname 32.1.0.0.127.rpz-client-ip; do
	expect_exit 2 "submit $n is refused" am submit "$n" --category phishing --confidence 90 --ttl 1d
	check "... naming the trigger label and what it would do" grep -q "\`$n': a special-use name.*(\.${n##*.}: a trigger label of response policy zones" <<<"$T_ERR"
done
check "... the rpz-ip one says it would apply to addresses in answers" \
	grep -q "a rule NAME.rpz-ip.ZONE there applies to the addresses in answers, not to a name" <<<"$(am submit 0.0.0.0.0.rpz-ip --category phishing --confidence 90 --ttl 1d 2>&1)"
printf '0.0.0.0.0.rpz-ip\nfine-name.example.com\n' >"$T_ROOT/trigger.txt"
expect_exit 0 "an import holding one skips it, and takes the rest" am import "$T_ROOT/trigger.txt" --format plain --category malware --confidence 80 --ttl 1d
check "... as special_use, on its line" grep -q "trigger.txt:1: special_use: \`0.0.0.0.0.rpz-ip'" <<<"$T_ERR"
check "... the other name stored" grep -q "1 stored" <<<"$T_OUT"
expect_exit 0 "x.rpz-passthru is a name (rpz-passthru is a CNAME target, no trigger)" \
	am submit x.rpz-passthru --category phishing --confidence 90 --ttl 1d

# --- batches: 0 if any matched, 1 if none, 2 only if every name was refused ---
batch="$T_ROOT/batch.txt"
{ for i in $(seq 1 3000); do echo "host$i.clean.example"; done; echo github.io; echo 'a..b'; echo wpad; } >"$batch"
expect_exit 1 "a resolver batch with a suffix and a broken name, no match" am query - <"$batch"
check "... the broken name is reported per name" grep -q "a..b" <<<"$T_ERR"
check "... and nothing is said about github.io" not grep -q "github.io" <<<"$T_ERR"
echo "www.evil-parent.com" >>"$batch"
expect_exit 0 "the same batch with one flagged name" am query - <"$batch"
check "... whose answer is there" grep -q "^www.evil-parent.com: 1 signal" <<<"$T_OUT"
# an empty file or one of comments asked nothing: exit 1 alone read as
# "none of my resolver's names is flagged", with not a word on stderr
expect_exit 1 "an empty stdin matches nothing" am query - </dev/null
check "... and says no name was read" grep -q "stdin held no names (0 lines, empty): nothing was looked up" <<<"$T_ERR"
printf '# names\n\n' >"$T_ROOT/comments.txt"
expect_exit 1 "a stdin of comments and blank lines matches nothing" am query - <"$T_ROOT/comments.txt"
check "... and says so" grep -q "stdin held no names (2 lines, blank or # comments)" <<<"$T_ERR"
expect_exit 0 "a name argument beside an empty stdin is still looked up" am query evil-parent.com - </dev/null
check "... and the empty stdin is named" grep -q "stdin held no names" <<<"$T_ERR"
printf 'a..b\n.x\n' >"$T_ROOT/bad.txt"
expect_exit 2 "a batch of only refused names" am query - <"$T_ROOT/bad.txt"
expect_exit 1 "arguments: a suffix and a clean name" am query co.uk clean.example
expect_exit 0 "arguments: a refused name and a match" am query 'a..b' evil-parent.com
out=$(am --json query - <"$T_ROOT/bad.txt" 2>/dev/null)
check "--json keeps per-name errors in the output" test "$(grep -c '"error"' <<<"$out")" -eq 2
# a NUL byte ended the name at it: `www.evil-parent.com<NUL>junk' was
# answered as a match for www.evil-parent.com, and `nul<NUL>x' as
# "`': domain is empty", with no line number
printf 'www.evil-parent.com\0junk\nnul\0x.example\n' >"$T_ROOT/nul.txt"
expect_exit 2 "a batch whose lines hold NUL bytes: every line refused" am query - <"$T_ROOT/nul.txt"
check "... no answer from the text before a NUL" not grep -q "signal" <<<"$T_OUT"
check "... the line and the NUL named" grep -q "stdin line 2: a NUL byte at offset 3" <<<"$T_ERR"

# --- a resolver log's padding and a pasted U-label's full stops find the parent ---
printf '  www.evil-parent.com \t\n   \n\t# a comment\nclean.example\n' >"$T_ROOT/padded.txt"
expect_exit 0 "a batch line with blanks around the name finds its parent" am query - <"$T_ROOT/padded.txt"
check "... as www.evil-parent.com" grep -q "^www.evil-parent.com: 1 signal" <<<"$T_OUT"
check "... a blank line and an indented comment are no names" test "$(grep -c ': [0-9]* signal' <<<"$T_OUT")" -eq 2
expect_exit 0 "ideographic full stops separate labels (login。evil-parent．com)" am query $'login\xe3\x80\x82evil-parent\xef\xbc\x8ecom'
check "... read as login.evil-parent.com" grep -q "^login.evil-parent.com: 1 signal" <<<"$T_OUT"
# a full stop UTS #46 reads as a dot ends a name as the root's dot does, in
# a submission as in a query (submit refused it as an empty label)
expect_exit 0 "submit: an ideographic full stop at the end is the root's dot" \
	am submit $'rootdot-evil.com\xe3\x80\x82' --category phishing --confidence 70 --ttl 1d
check "... stored as rootdot-evil.com" grep -q "^stored rootdot-evil.com phishing" <<<"$T_OUT"
expect_exit 0 "... and a query of the same text finds it" am query $'www.rootdot-evil.com\xef\xbd\xa1'
check "... as its parent" grep -q "rootdot-evil.com  phishing" <<<"$T_OUT"
expect_exit 2 "... one root dot only: .com. and a full stop is an empty label" \
	am submit $'rootdot-evil.com.\xe3\x80\x82' --category phishing --confidence 70 --ttl 1d

# --- a URL pasted where a name goes: said so, with its host ---
# submit refused it for its `:' ("character `:' is not allowed in a host
# name"), and query answered "0 signals" (exit 1) for a URL on a flagged
# host, as if the host were clean
expect_exit 2 "submit of a URL is refused" am submit 'http://u@evil2.example:8080/login.php' --category phishing --confidence 80 --ttl 1d
check "... as a URL, naming its host" grep -q "a URL, not a domain name: its host is \`evil2.example'" <<<"$T_ERR"
expect_exit 1 "query of a URL on a flagged host matches nothing as a DNS name" am query 'http://www.evil-parent.com/login'
check "... and stderr says it is a URL and which host to query" grep -q "is a URL: .*query its host: amesh query www.evil-parent.com" <<<"$T_ERR"
# defanged, as reports carry it: the hint named evil-parent[.]com, a second miss
expect_exit 1 "query of a defanged URL matches nothing as a DNS name" am query 'hxxps://www.evil-parent[.]com/login'
check "... and the host to query is refanged" grep -q "is a URL: .*query its host: amesh query www.evil-parent.com$" <<<"$T_ERR"
expect_exit 1 "query of a defanged name matches nothing as written" am query 'www.evil-parent[.]com'
check "... and stderr names it refanged" grep -q "is defanged: .*query the name: amesh query www.evil-parent.com$" <<<"$T_ERR"
expect_exit 0 "a question name with a URL's first label under a flagged name still finds it" am query 'http://www.evil-parent.com'
check "... without a word on stderr" test -z "$T_ERR"

# --- emoji names: real phishing, valid in the DNS ---
expect_exit 0 "an emoji A-label IDNA2008 refuses is flaggable" am submit XN--57H.ws --category phishing --confidence 70 --ttl 1d
check "... kept as its A-label" grep -q "stored xn--57h.ws phishing" <<<"$T_OUT"
expect_exit 0 "another (xn--238h.to)" am submit xn--238h.to --category phishing --confidence 70 --ttl 1d
expect_exit 0 "an emoji U-label maps to its A-label, as browsers do" am submit '😀.com' --category malware --confidence 70 --ttl 1d
check "... xn--e28h.com" grep -q "stored xn--e28h.com malware" <<<"$T_OUT"
expect_exit 0 "a query by the U-label finds it" am query 'www.😀.com'
expect_exit 2 "malformed Punycode is still refused" am submit xn--zz.de --category phishing --confidence 70 --ttl 1d
expect_exit 0 "a U-label query finds a U-label submission" am submit 'bücher-login.de' --category phishing --confidence 60 --ttl 1d
expect_exit 0 "... www.BÜCHER-login.de" am query 'www.BÜCHER-login.de'
out=$(am --json query 'www.bücher-login.de')
check "--json echoes the name as typed (UTF-8)" grep -q '"name":"www.bücher-login.de"' <<<"$out"

# --- one verdict on a name's length: the DNS's limits bind its A-label ---
# form (RFC 1035 on the wire, RFC 5891), so what `amesh submit' flags,
# `amesh query' finds, however long it was typed
bold=$(printf '\xf0\x9d\x99\x80') # U+1D640, four bytes, `e' after UTS #46
l62=$(printf 'a%.0s' $(seq 1 62))
expect_exit 0 "a 66-byte label that is 63 octets converted is flaggable" \
	am submit "$bold$l62.bold-label.com" --category phishing --confidence 60 --ttl 1d
check "... as e+62 letters" grep -q "^stored e$l62.bold-label.com phishing" <<<"$T_OUT"
expect_exit 0 "... and a query as typed finds it" am query "$bold$l62.bold-label.com"
check "... under the same name" grep -q "^e$l62.bold-label.com: 1 signal" <<<"$T_OUT"
expect_exit 0 "... also with the root's dot and a fullwidth full stop" \
	am query "www.$bold$l62$(printf '\xef\xbc\x8e')bold-label.com."
check "... as its parent" grep -q "e$l62.bold-label.com  phishing" <<<"$T_OUT"
cjk=$(printf '\xe4\xbe\x8b%.0s' $(seq 1 8))$(printf 'a%.0s' $(seq 1 46))
expect_exit 0 "a 70-byte U-label whose A-label is 63 octets is flaggable" \
	am submit "$cjk.cjk-label.com" --category phishing --confidence 60 --ttl 1d
expect_exit 0 "... and a query as typed finds it" am query "$cjk.cjk-label.com"
check "... by its A-label" grep -q "^xn--a\{46\}-zm09eaaaaaaa.cjk-label.com: 1 signal" <<<"$T_OUT"
expect_exit 2 "one letter more (a 64-octet A-label) is refused by submit" \
	am submit "${cjk}a.cjk-label.com" --category phishing --confidence 60 --ttl 1d
expect_exit 2 "... and by query" am query "${cjk}a.cjk-label.com"
check "... which says which rule" grep -q "longer than 63" <<<"$T_ERR"
e15=$(printf "$bold%.0s" $(seq 1 15))
expect_exit 0 "a 304-byte name that is 79 octets converted is flaggable" \
	am submit "$e15.$e15.$e15.$e15.$e15.com" --category malware --confidence 60 --ttl 1d
expect_exit 0 "... and a query as typed finds it" am query "$e15.$e15.$e15.$e15.$e15.com"

# --- refused, never cut: a name longer than any is said so, whole ---
heart=$(printf '\xe2\x9d\xa4'); vs=$(printf '\xef\xb8\x8f%.0s' $(seq 1 333))
expect_exit 0 "a 1,013-byte name (a heart and 333 variation selectors) is taken whole" \
	am submit "evil.$heart$vs.co.uk" --category malware --confidence 10 --ttl 1d
check "... as evil.xn--qei.co.uk, not the evil.xn--qei.co.u its first 1,012 bytes make" \
	grep -q "^stored evil.xn--qei.co.uk malware" <<<"$T_OUT"
expect_exit 0 "... and its dry run says the same name" \
	am submit "evil.$heart$vs.co.uk" --category malware --confidence 10 --ttl 1d --dry-run
check "... unchanged, already held" grep -q "unchanged (already held) evil.xn--qei.co.uk" <<<"$T_OUT"
expect_exit 0 "... and a query as typed finds it (a 1,002-byte label, 8 octets converted)" \
	am query "evil.$heart$vs.co.uk"
check "... under evil.xn--qei.co.uk" grep -q "^evil.xn--qei.co.uk: 1 signal" <<<"$T_OUT"
over=$(printf 'a%.0s' $(seq 1 1100))
expect_exit 2 "audit of a 1,100-byte name: refused, not cut to 1,024" am audit "$over.example.com"
check "... saying how long it may be" grep -q "longer than 1024 bytes" <<<"$T_ERR"

finish

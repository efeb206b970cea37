#!/usr/bin/env bash
# reload_command.sh - `amesh reload' returns once a policy change is in
# force, or fails naming why the daemon refused it (the running
# configuration staying); the systemd unit's ExecReload runs it.
#
# Found by a CERT operator: SIGHUP (and `systemctl reload', which sent it)
# returned at once whatever happened, so a narrowing could not be known to
# be in force before the next submission, and a reload ameshd refused
# ("keeping the running configuration", in its log only) looked like a
# success: the operator believed a neighbour narrowed that was not.
#
#   b dials a; a's export to b is what is narrowed.
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

mk_peer a 1; mk_peer b 2
trust a b; trust b a
WIDE='export.categories = phishing, malware
import.categories = all'
NARROW='export.categories = phishing
import.categories = all'
cp "$T_ROOT/a/amesh.conf" "$T_ROOT/a/base.conf"
write_a() {
	cp "$T_ROOT/a/base.conf" "$T_ROOT/a/amesh.conf.new"
	{ echo; echo "[neighbour b]"; echo "$1"; } >>"$T_ROOT/a/amesh.conf.new"
	mv "$T_ROOT/a/amesh.conf.new" "$T_ROOT/a/amesh.conf"
}
write_a "$WIDE"
neighbour b a "tcp://127.0.0.1:$(port_of 1)" <<<"$OPEN_POLICY"
start a || exit 1; start b || exit 1
sub() { amp a submit "$1" --category "$2" --confidence 80 --ttl 1d >/dev/null || fail "a submits $1"; }
sub wide.example.com malware
check "b gets malware under the wide policy" wait_until 10 has b wide.example.com

# in force when it returns: no waiting for a log line
for r in 1 2 3; do
	write_a "$NARROW"
	expect_exit 0 "round $r: amesh reload of the narrowed policy" amp a reload
	check "round $r: ... says it is in force" grep -q "reloaded: the config and trust store are in force" <<<"$T_OUT"
	sub "leak$r.example.com" malware
	sub "fine$r.example.com" phishing
	check "round $r: b gets what the narrowed policy allows" wait_until 10 has b "fine$r.example.com"
	check "round $r: b never got what it forbids, submitted right after the reload returned" not has b "leak$r.example.com"
	write_a "$WIDE"
	expect_exit 0 "round $r: amesh reload of the wide policy again" amp a reload
done

# refused: exit 2, the first problem with its line, the running policy stays
write_a "$NARROW
export.min_confidence = 500"
expect_exit 2 "a reload of a file with a bad value is refused" amp a reload
check "... naming the file, the line and the problem" grep -q "amesh.conf:[0-9]*: export.min_confidence: \`500' is not a number from 0 to 100" <<<"$T_ERR"
check "... and that the running configuration stays" grep -q "keeping the running configuration" <<<"$T_ERR"
sub still-wide.example.com malware
check "... and it does: the wide policy is still in force" wait_until 10 has b still-wide.example.com
write_a "$WIDE
[neighbour nosuch]
import.categories = all"
expect_exit 2 "a reload naming a neighbour not in the trust store is refused" amp a reload
check "... saying so, with the section's line" grep -q "neighbour \`nosuch' (config line [0-9]*) is not in the trust store" <<<"$T_ERR"
write_a "$NARROW
export.min_confidence = 500"
expect_exit 2 "amesh -c with a file that does not parse sends nothing" "$AMESH" -c "$T_ROOT/a/amesh.conf" reload
check "... and names the problem" grep -q "cannot use config: .*amesh.conf:[0-9]*: export.min_confidence: \`500'.*nothing was sent to the daemon" <<<"$T_ERR"
write_a "$WIDE"
expect_exit 0 "amesh -c CONFIG reload, as the systemd unit runs it" "$AMESH" -c "$T_ROOT/a/amesh.conf" reload
expect_exit 0 "--json" amp a --json reload
check "... says reloaded" grep -q '^{"reloaded":true}$' <<<"$T_OUT"
expect_exit 2 "an argument is refused" amp a reload now

# in force means in the response policy zone too: an allowlist entry an
# operator adds to unblock a wrongly flagged name is passthru in the zone
# the moment `amesh reload' returns (it was NXDOMAIN there some 200 ms
# longer with 30,000 names: the zone's rebuild ran after the answer)
# `trust' is read at start only, as name, key and data_dir: a reload that
# names another trust store says so and keeps the one in force. It loaded
# the new file into the mesh while `reload-trust', the key-statement
# worker and --origin lookups went on reading the old one.
: >"$T_ROOT/a/other-trust.conf"
chmod 600 "$T_ROOT/a/other-trust.conf"
sed -i "s#^\[peer\]\$#[peer]\ntrust = $T_ROOT/a/other-trust.conf#" "$T_ROOT/a/base.conf"
write_a "$WIDE"
expect_exit 0 "a reload naming another (empty) trust store is applied" amp a reload
check "... saying trust is read at start only" grep -q "\`trust' changed from \`$T_ROOT/a/trust.conf' to \`$T_ROOT/a/other-trust.conf'; it is read at start only" "$T_ROOT/a/ameshd.log"
sub still-trusted.example.com malware
check "... and b, trusted in the store in force, still gets a's flags" wait_until 10 has b still-trusted.example.com
sed -i "\#^trust = $T_ROOT/a/other-trust.conf\$#d" "$T_ROOT/a/base.conf" # the next start reads it
write_a "$WIDE"
expect_exit 0 "the trust store named back" amp a reload

if command -v dig >/dev/null; then
	stop a
	sed -i "s#^\[peer\]\$#[peer]\ndns_listen = 127.0.0.1:$(port_of 3)\nallowlist = allow.txt#" "$T_ROOT/a/base.conf"
	: >"$T_ROOT/a/allow.txt"
	write_a "$WIDE
[rpz abuse]
zone = rpz.abuse.example
categories = all
allow_transfer = 127.0.0.1"
	start a || exit 1
	seq 1 30000 | sed 's/^/bad/; s/$/.phish-kit.example/' >"$T_ROOT/names.txt"
	amp a import "$T_ROOT/names.txt" --category phishing --confidence 90 --ttl 1d >/dev/null || fail "a imports 30,000 names"
	rule() { dig +short +tries=1 +time=2 @127.0.0.1 -p "$(port_of 3)" "$1.rpz.abuse.example" CNAME; }
	check "the zone blocks bad7.phish-kit.example" wait_until 20 sh -c "[ \"\$(dig +short +tries=1 +time=2 @127.0.0.1 -p $(port_of 3) bad7.phish-kit.example.rpz.abuse.example CNAME)\" = . ]"
	echo bad7.phish-kit.example >>"$T_ROOT/a/allow.txt"
	expect_exit 0 "amesh reload of the allowlist" amp a reload
	got=$(rule bad7.phish-kit.example)
	check "the zone passes bad7.phish-kit.example through when the reload returns (got \`$got')" test "$got" = "rpz-passthru."
	mv "$T_ROOT/a/allow.txt" "$T_ROOT/a/allow.txt.away"
	expect_exit 2 "a reload whose allowlist cannot be read is refused" amp a reload
	check "... naming the file and why" grep -q "allowlist: .*allow.txt: cannot open: No such file or directory; keeping the running configuration" <<<"$T_ERR"
	mv "$T_ROOT/a/allow.txt.away" "$T_ROOT/a/allow.txt"

	# the same for a trust change: `keys distrust' says "ameshd applied
	# the change" once the origin's flags have left the zone
	stop b
	sed -i "s#^\[peer\]\$#[peer]\ndns_listen = 127.0.0.1:$(port_of 4)#" "$T_ROOT/b/amesh.conf"
	printf '\n[rpz abuse]\nzone = rpz.abuse.example\ncategories = all\nallow_transfer = 127.0.0.1\n' >>"$T_ROOT/b/amesh.conf"
	start b || exit 1
	at_b() { dig +short +tries=1 +time=2 @127.0.0.1 -p "$(port_of 4)" "$1.rpz.abuse.example" CNAME; }
	check "b's zone blocks a's bad8.phish-kit.example" wait_until 60 sh -c "[ \"\$(dig +short +tries=1 +time=2 @127.0.0.1 -p $(port_of 4) bad8.phish-kit.example.rpz.abuse.example CNAME)\" = . ]"
	expect_exit 0 "b distrusts a" "$AMESH" -c "$T_ROOT/b/amesh.conf" keys distrust a
	got=$(at_b bad8.phish-kit.example)
	check "a's flag has left b's zone when keys distrust returns (got \`$got')" test -z "$got"
else
	echo "# dig missing (Debian package bind9-dnsutils): the zone is not checked"
fi

finish

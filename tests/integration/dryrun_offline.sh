#!/usr/bin/env bash
# dryrun_offline.sh - `--dry-run' with no daemon answering (README "Dry
# runs ask the daemon"): an operator validating a feed file offline gets
# every line's verdict on the checks the CLI can make alone (the name
# rules, category, confidence, expiry and TTL syntax), the same skip report
# as with a daemon, and one line saying the daemon was not reached, so its
# max_lifetime, its allowlist and what it already holds were not checked.
# A real import still needs the daemon. No ameshd runs in this test.
set -uo pipefail
AMESH=$1 FIX=$2
AMESHD=/bin/false # lib.sh's start_peer is not used here
. "$(dirname "$0")/lib.sh"

NOSOCK="$T_ROOT/nothing-here.sock"
am() { "$AMESH" -s "$NOSOCK" "$@"; }
NOTICE="the daemon was not reached at \`$NOSOCK': checked here alone, so its max_lifetime, its allowlist and what it already holds were not checked"

expect_exit 0 "import --dry-run of a plain list without a daemon" \
	am import "$FIX/plain.txt" --category phishing --confidence 70 --ttl 7d --dry-run
check "one line says the daemon was not reached and what was not checked" \
	test "$(grep -cF "amesh import: $NOTICE" <<<"$T_ERR")" -eq 1
check "it comes before the per-line report" grep -q "not reached" <<<"$(head -1 <<<"$T_ERR")"
check "an IP line is reported with file:line, as with a daemon" grep -qF "plain.txt:6: ip_address: \`192.0.2.44'" <<<"$T_ERR"
check "a public suffix is reported" grep -qF "plain.txt:7: public_suffix: \`co.uk'" <<<"$T_ERR"
check "a duplicate names its first line" grep -qF "plain.txt:12: duplicate: \`login-paypa1.example.com' (the same name and category as line 4)" <<<"$T_ERR"
check "the summary says the names were checked here" \
	grep -q "^dry run: 6 names checked here, without the daemon: 6 would pass these checks, 0 refused" <<<"$T_OUT"
check "the summary counts skips by reason" grep -q "lines skipped: .*ip_address 1, public_suffix 1" <<<"$T_OUT"
check "no 'cannot connect'" not grep -q "cannot connect" <<<"$T_ERR"

expect_exit 0 "import --dry-run --json without a daemon" \
	am --json import "$FIX/plain.txt" --category phishing --confidence 70 --ttl 7d --dry-run
check "--json: the summary says the daemon did not check" \
	grep -q '"event":"summary".*"dry_run":true,"daemon_checked":false,"submitted":6,"stored":6' <<<"$T_OUT"
check "--json: skipped lines as with a daemon" grep -q '"event":"skipped","file":"[^"]*plain.txt","line":6' <<<"$T_OUT"

# a socket file nobody listens on (a daemon that died) is no daemon either
if command -v python3 >/dev/null; then
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T_ROOT/stale.sock"
	expect_exit 0 "a stale socket: the dry run falls back as well" "$AMESH" -s "$T_ROOT/stale.sock" \
		import "$FIX/hosts.txt" --category spam --confidence 60 --ttl 7d --dry-run
	check "... and says so" grep -q "the daemon was not reached" <<<"$T_ERR"
	check "... hosts: localhost is a local_name skip" grep -qF "hosts.txt:2: local_name: \`localhost'" <<<"$T_ERR"
fi

expect_exit 0 "submit - --dry-run without a daemon" sh -c \
	"printf 'a-dry.example\nprinter.local\nb-dry.example\n' | '$AMESH' -s '$NOSOCK' submit - --category spam --confidence 60 --ttl 7d --dry-run"
check "submit -: the names checked here" grep -q "^dry run: 2 names checked here" <<<"$T_OUT"
check "submit -: the special-use line reported by line" grep -qF -- "-:2: special_use: \`printer.local'" <<<"$T_ERR"
check "submit -: the notice once" test "$(grep -c "not reached" <<<"$T_ERR")" -eq 1

expect_exit 0 "submit NAME --dry-run without a daemon" am submit Evil-Dry.Example --category spam --confidence 60 --ttl 7d --dry-run
check "submit NAME: the normalised name passes the checks made here" \
	grep -q "^dry run: evil-dry.example spam passes the checks made here, without the daemon" <<<"$T_OUT"
check "submit NAME: and says what was not checked" grep -qF "amesh submit: $NOTICE" <<<"$T_ERR"
expect_exit 2 "submit NAME --dry-run: a special-use name is refused, as the daemon would" \
	am submit nas.lan --category spam --confidence 60 --ttl 7d --dry-run
check "... with the rule's words" grep -q "special-use name" <<<"$T_ERR"
expect_exit 2 "a bad --ttl is a usage error here too" am import "$FIX/plain.txt" --category spam --confidence 60 --ttl 7x --dry-run

# exit statuses as with a daemon: a file whose every line is skipped is 0,
# a file that cannot be read is 2
expect_exit 0 "a file of special-use names only" sh -c \
	"printf 'nas.lan\nprinter.local\n' >'$T_ROOT/lan.txt' && '$AMESH' -s '$NOSOCK' import '$T_ROOT/lan.txt' --category spam --confidence 60 --ttl 7d --dry-run"
expect_exit 2 "a missing file" am import "$T_ROOT/no-such-file.txt" --category spam --confidence 60 --ttl 7d --dry-run

# the real thing needs the daemon: it is not faked
expect_exit 2 "import without --dry-run still needs the daemon" \
	am import "$FIX/plain.txt" --category phishing --confidence 70 --ttl 7d
check "... and says it cannot connect" grep -q "cannot connect to ameshd" <<<"$T_ERR"
check "... without the dry run's notice" not grep -q "not reached" <<<"$T_ERR"
finish

#!/usr/bin/env bash
# operator_files.sh - the files and the socket a new admin handles, as they
# come from editors and other systems: a byte-order mark and CRLF line ends
# read the same in every file the peer reads (config, key files, trust
# store, allowlist, category map, names on stdin); a malformed key file is
# refused naming file and line; and a refusal to use the control socket or
# the config says what, where and why (who may, and the command that fixes it).
set -uo pipefail
AMESHD=$1 AMESH=$2
. "$(dirname "$0")/lib.sh"

BOM=$'\xef\xbb\xbf'
# windows FILE: the file as Notepad saves it, BOM and CRLF
windows() { { printf '%s' "$BOM"; sed 's/$/\r/' "$1"; } >"$1.win" && cat "$1.win" >"$1" && rm "$1.win"; }

mk_peer a 1
"$AMESH" keys generate -o "$T_ROOT/b.key" --comment "b ops" >/dev/null
"$AMESH" keys generate -o "$T_ROOT/c.key" --comment "c ops" >/dev/null
k() { "$AMESH" -c "$T_ROOT/a/amesh.conf" keys "$@"; }

# --- key files ---
cp "$T_ROOT/b.key.pub" "$T_ROOT/b-win.pub"; windows "$T_ROOT/b-win.pub"
expect_exit 0 "keys trust takes a .pub saved with a BOM and CRLF" k trust "$T_ROOT/b-win.pub" --name b
check "... as the key it holds" sh -c "'$AMESH' -c '$T_ROOT/a/amesh.conf' keys show b | grep -q '$(cut -d' ' -f2 "$T_ROOT/b.key.pub")'"
cat "$T_ROOT/b.key.pub" "$T_ROOT/c.key.pub" >"$T_ROOT/two.pub"
expect_exit 2 "keys trust refuses a .pub of two keys" k trust "$T_ROOT/two.pub" --name two
check "... naming the file and the second key's line" grep -q "$T_ROOT/two.pub:2: unexpected text after the key on line 1: \`amesh-ed25519 " <<<"$T_ERR"
{ cat "$T_ROOT/c.key.pub"; printf 'ssh-ed25519 AAAA junk\n'; } >"$T_ROOT/junk.pub"
expect_exit 2 "keys trust refuses a .pub with a junk second line" k trust "$T_ROOT/junk.pub" --name junk
check "... naming file, line and the text" grep -q "$T_ROOT/junk.pub:2: unexpected text after the key on line 1: \`ssh-ed25519 AAAA junk'" <<<"$T_ERR"
check "... and trusts neither" not sh -c "'$AMESH' -c '$T_ROOT/a/amesh.conf' keys list | grep -q -e '^two' -e '^junk'"
printf '\xe2\x80\x8b%s' "$(cat "$T_ROOT/c.key.pub")" >"$T_ROOT/zw.pub"
expect_exit 2 "keys trust refuses a key behind a zero-width space" k trust "$T_ROOT/zw.pub" --name zw
check "... and shows it as bytes, not as nothing" grep -q "zw.pub:1: not an amesh public key: .*got \`\\\\xe2\\\\x80\\\\x8bamesh-ed25519" <<<"$T_ERR"
# the peer's own secret key, re-saved by a Windows editor: still its key
windows "$T_ROOT/a/amesh.key"
chmod 600 "$T_ROOT/a/amesh.key"

# --- config, trust store, allowlist: BOM and CRLF ---
printf 'good.example\n# ours\nns.good.example\n' >"$T_ROOT/a/allow.txt"
windows "$T_ROOT/a/allow.txt"
sed -i 's/^\[peer\]$/[peer]\nallowlist = allow.txt/' "$T_ROOT/a/amesh.conf"
windows "$T_ROOT/a/amesh.conf"
windows "$T_ROOT/a/trust.conf"
expect_exit 0 "--check passes a config, key, trust store and allowlist saved with a BOM and CRLF" "$AMESHD" -c "$T_ROOT/a/amesh.conf" --check
check "... with the allowlist's two names" grep -q "2 allowlisted names from 1 file, 0 bad entries skipped" <<<"$T_OUT"
start a || exit 1
check "the peer starts from them" sh -c "'$AMESH' -s '$T_ROOT/a/run/amesh.sock' status >/dev/null"
expect_exit 2 "the allowlist's first name is in force" amp a submit good.example --category phishing --confidence 80 --ttl 1d
check "... refused as allowlisted" grep -qi "allowlist" <<<"$T_ERR"

# --- names on stdin and a category map, with a BOM ---
amp a submit evil.example --category phishing --confidence 80 --ttl 1d >/dev/null
printf '%s# from the resolver\r\nevil.example\r\nother.example\r\n' "$BOM" >"$T_ROOT/names.txt"
expect_exit 0 "query - reads a list with a BOM and a comment on its first line" amp a query - <"$T_ROOT/names.txt"
check "... finds the name" grep -q "evil.example" <<<"$T_OUT"
check "... and takes the comment for none (two names asked, not three)" not grep -qi "resolver\|xef\|invalid\|refused" <<<"$T_OUT$T_ERR"
printf '%sphish = phishing\r\n' "$BOM" >"$T_ROOT/catmap.txt"
printf 'domain,threat_type\nmapped.example,phish\n' >"$T_ROOT/catmap.csv"
expect_exit 0 "--category-map-file reads a map with a BOM" amp a import "$T_ROOT/catmap.csv" --category-map-file "$T_ROOT/catmap.txt" --confidence 60 --ttl 7d --dry-run
check "... its first word maps the row" not grep -q "unknown_category" <<<"$T_OUT$T_ERR"

# --- who may use the socket and the config: say why not ---
# as another user: root, and a T_ROOT whose parent that user may pass
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null &&
	runuser -u nobody -- test -x "$(dirname "$T_ROOT")" 2>/dev/null; then
	chmod 755 "$T_ROOT" # the test's own directory; mode 0700 from mktemp
	as_nobody() { runuser -u nobody -- "$AMESH" "$@"; }
	expect_exit 2 "a user outside the peer's directory cannot use the socket" as_nobody -s "$T_ROOT/a/run/amesh.sock" status
	check "... told which directory is closed, with its owner and mode" grep -q "Permission denied: the directory \`$T_ROOT/a' on its path is closed to this user (owner root, group root, mode 0750)" <<<"$T_ERR"
	chmod o+x "$T_ROOT/a" "$T_ROOT/a/run"
	expect_exit 2 "a user outside the socket's group cannot use it" as_nobody -s "$T_ROOT/a/run/amesh.sock" status
	check "... told the socket's owner, group and mode, and the usermod that fixes it" grep -q "the control socket is owner root, group root, mode 0660 and this user (nobody) may not write to it: .*usermod -aG root nobody" <<<"$T_ERR"
	expect_exit 2 "amesh -c with a config the user cannot read" as_nobody -c "$T_ROOT/a/amesh.conf" status
	check "... says why" grep -q "cannot use config: $T_ROOT/a/amesh.conf: cannot open: Permission denied" <<<"$T_ERR"
	chmod o-x "$T_ROOT/a" "$T_ROOT/a/run"
	chmod 700 "$T_ROOT"
else
	echo "skip - socket and config permissions need root, runuser and a T_ROOT user nobody can reach"
fi
# a second peer given the first one's socket (a config copied from it)
"$AMESH" init "$T_ROOT/b" --name b >/dev/null
printf '\n[peer]\ncontrol = %s\n' "$T_ROOT/a/run/amesh.sock" >>"$T_ROOT/b/amesh.conf"
bline=$(grep -n "^control = $T_ROOT/a/run/amesh.sock" "$T_ROOT/b/amesh.conf" | cut -d: -f1)
expect_exit 1 "a second peer on the first one's control socket does not start" "$AMESHD" -c "$T_ROOT/b/amesh.conf"
check "... naming the config line, what answers there and the way out" grep -q "^ameshd: $T_ROOT/b/amesh.conf:$bline: control: cannot listen on \`ipc://$T_ROOT/a/run/amesh.sock': Address in use: another ameshd answers on it (amesh -s $T_ROOT/a/run/amesh.sock status names its peer); give each peer its own \`control' socket" <<<"$T_ERR"
check "... and the first one still answers" wait_until 2 amp a status
printf '[peer]\nname = x\nname = y\n' >"$T_ROOT/broken.conf"
expect_exit 2 "amesh -c with a broken config" "$AMESH" -c "$T_ROOT/broken.conf" status
check "... names the file, the line and the problem" grep -q "cannot use config: $T_ROOT/broken.conf:3: name is set twice (first on line 2)" <<<"$T_ERR"

# the control socket's directory removed while the daemon runs (a cleanup
# script, an `rm -rf' of the run directory): the guard makes it again,
# closed to others, and the socket answers; it re-created nothing before
# ("Entry not found" every second until a restart, with a warning of an
# empty reason). A directory it cannot make is logged once, not each try.
rm -rf "$T_ROOT/a/run"
check "the socket answers again after its directory was removed" wait_until 15 amp a status
check "... in the directory made again, mode 0750" test "$(stat -c %a "$T_ROOT/a/run")" = 750
check "... and the log says so" grep -q "control socket: its directory $T_ROOT/a/run was removed; made it again (mode 0750)" "$T_ROOT/a/ameshd.log"
rm -rf "$T_ROOT/a/run" && : >"$T_ROOT/a/run"
check "a directory it cannot make is logged" wait_until 15 grep -q "control socket: cannot re-create the listener: socket directory \`$T_ROOT/a/run' is not a directory; trying again" "$T_ROOT/a/ameshd.log"
sleep 4
check "... once, not at every try" test "$(grep -c 'control socket: cannot re-create the listener' "$T_ROOT/a/ameshd.log")" -eq 1
check "... nor the lost socket warned of again" test "$(grep -c 'control socket stopped accepting connections' "$T_ROOT/a/ameshd.log")" -eq 2
rm -f "$T_ROOT/a/run"
check "once it can, the socket answers again" wait_until 15 amp a status
check "... and the log counts the tries" grep -q "control socket: listener re-created after [0-9]* failed tries; accepting again" "$T_ROOT/a/ameshd.log"

stop a
finish

#!/bin/bash
# completion.sh - checks deploy/amesh.bash-completion without a terminal:
# sources it, sets COMP_WORDS/COMP_CWORD as bash would, calls _amesh and
# compares COMPREPLY with what is expected.
#
# usage: completion.sh [PROGRAM...]
# Any argument whose file name is `amesh' is taken as the real CLI: trust
# store names are then also completed from a real peer made with
# `amesh init' (no daemon needed). Other arguments are ignored, so the
# test can be registered with the same arguments as the other integration
# tests. Prints "N passed, M failed"; exits 1 if any check failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
completion=$here/../../deploy/amesh.bash-completion
real_amesh=
for a in "$@"; do
    [[ $(basename -- "$a") == amesh && -x $a ]] && real_amesh=$a
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/amesh-completion.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0

# check DESCRIPTION EXPECTED WORD... : the last WORD is the one being
# completed; EXPECTED is the sorted candidates joined by spaces.
check() {
    local desc=$1 expected=$2 got
    shift 2
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _amesh "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}" 2>/dev/null
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | LC_ALL=C sort | tr '\n' ' ')
    got=${got% }
    if [[ $got == "$expected" ]]; then
        passed=$((passed + 1))
        echo "ok   $desc"
    else
        failed=$((failed + 1))
        echo "FAIL $desc"
        echo "     words:    $*"
        echo "     expected: [$expected]"
        echo "     got:      [$got]"
    fi
}

# ok DESCRIPTION COMMAND...: a plain assertion.
ok() {
    local desc=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $desc"
    else
        failed=$((failed + 1))
        echo "FAIL $desc"
    fi
}

# shellcheck source=SCRIPTDIR/../../deploy/amesh.bash-completion
source "$completion" || { echo "cannot source $completion"; echo "0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC2016 # $1 is for the inner shell
ok "the completion registers _amesh for amesh" \
    bash -c 'source "$1" && complete -p amesh | grep -q -- "-F _amesh"' _ "$completion"

# --- commands and global options ---
check "all commands" \
    "allowlist audit dispute disputes export help import init keys list peers query reload report rpz sightings status submit watch withdraw" amesh ''
check "export what" "csv hosts misp rpz stix" amesh export ''
check "export options" "--help --output --zone -o" amesh export rpz -
check "command prefix" "submit" amesh su
check "global options" "--help --json -c -s" amesh -
check "command after global options" "sightings status submit" amesh -s /tmp/x.sock --json s

# --- option values ---
check "--category values" "botnet malware pharming phishing spam" amesh submit x.example --category ''
check "--category prefix" "pharming phishing" amesh list --category ph
check "--category=VALUE (split at =)" "malware" amesh watch --category = m
check "--category= with nothing yet" "botnet malware pharming phishing spam" amesh watch --category =
check "--tlp values" "amber amber+strict" amesh submit x.example --tlp am
check "report --format" "csv json text" amesh report --format ''
check "keys trust --as" "neighbour origin" amesh keys trust k.pub --as ''
check "free-text value offers nothing" "" amesh submit x.example --confidence ''
check "--limit's value offers nothing (a line's last word in the value list)" "" amesh list --limit ''
check "--zone's value offers nothing" "" amesh export rpz --zone ''
check "after --limit N, the options again" "--category --help --limit --origin" amesh list --limit 5 --
check "--zone's value is no positional: export's format still comes" "csv hosts misp rpz stix" amesh export --zone abuse ''
check "--zone's value is not completed as a format (it was: csv)" "" amesh export --zone c

# --- per-command options ---
check "submit options" "--category --confidence --dry-run --expires --force --help --hop-limit --tlp --ttl" amesh submit x.example --
check "allowlist options" "--help --limit" amesh allowlist --
check "import --format" "hosts" amesh import f.txt --format h
check "import options" "--dry-run" amesh import f.txt --dr
check "import --include- options" "--include-offline --include-unverified" amesh import f.txt --include-
check "import --withdraw-revoked" "--withdraw-revoked" amesh import f.txt --with
check "import --category-map options" "--category-map --category-map-file" amesh import f.txt --category-m
check "--category-map WORD=: our categories" "botnet malware pharming phishing spam" amesh import f.txt --category-map cc_skimming =
check "--category-map WORD=phi" "phishing" amesh import f.txt --category-map cc_skimming = phi
check "--category-map WORD=phi, '=' no word break" "cc_skimming=phishing" amesh import f.txt --category-map cc_skimming=phi
check "export formats" "csv" amesh export c
check "export feed options" "--min-score" amesh export stix --mi
check "list options after --json" "--category --help --limit --origin" amesh --json list --
check "watch options" "--category --help --min-confidence" amesh watch --
check "audit options" "--category --event --help --limit --since --verify" amesh audit -
check "audit --event names" "dispute_answered dispute_relayed disputed" amesh audit --event dis
check "audit --event, after a comma" "accepted,received accepted,rejected accepted,relayed" amesh audit --event accepted,re
check "disputes options" "--help --mine --open" amesh disputes --
check "report options" "--format --help --since" amesh report --
check "sightings: its import" "import" amesh sightings ''
check "sightings import options" "--flush-every --format" amesh sightings import --f
check "sightings options" "--help --limit" amesh sightings --
check "options after an --opt=value" "--category --help --limit --origin" amesh list --category = spam --
check "query: - reads stdin, --zones" "- --help --zones" amesh query -
check "no domain guessing" "" amesh query ''

# --- keys ---
check "keys subcommands" \
    "approve distrust fingerprint generate help list pending public publish revoke rotate show trust" amesh keys ''
check "keys subcommand prefix" "pending public publish" amesh keys p
check "keys generate options" "--comment --help --output --passphrase --passphrase-fd -o" amesh keys generate -
check "keys revoke options" "--help --passphrase --passphrase-fd --reason --self" amesh keys revoke --
check "keys rotate options" "--help --passphrase --passphrase-fd" amesh keys rotate --
check "keys rotate takes no argument" "" amesh keys rotate ''
check "keys revoke --self --passphrase-fd: a number" "" amesh keys revoke --self --passphrase-fd ''
check "keys pending options" "--help" amesh keys pending -

# --- files ---
mkdir -p "$tmp/peer/sub"
: >"$tmp/peer/amesh.conf"
: >"$tmp/peer/rotation.stmt"
check "-c completes files" "$tmp/peer/amesh.conf" amesh -c "$tmp/peer/am"
check "keys generate -o completes files" "$tmp/peer/rotation.stmt" amesh keys generate -o "$tmp/peer/ro"
check "keys publish completes files" "$tmp/peer/rotation.stmt" amesh keys publish "$tmp/peer/r"
check "init completes directories only" "$tmp/peer/sub" amesh init "$tmp/peer/"

# --- trust store names, from a stand-in amesh that logs how it was run and
#     prints hostile lines next to good ones ---
mkdir -p "$tmp/bin"
cat >"$tmp/bin/amesh" <<EOF
#!/bin/bash
printf '%s\n' "\$*" >>"$tmp/stub.log"
cat <<'LINES'
{"name":"apnic","role":"neighbour","key_id":"0123456789abcdef","note":""}
{"action":"trusted","name":"cert-xx","role":"origin"}
{"name":"dotasia","role":"neighbour","note":"\"name\":\"injected\""}
{"name":"\$(touch $tmp/pwned)","role":"origin"}
{"name":"\`touch $tmp/pwned\`","role":"origin"}
{"name":"two words","role":"origin"}
{"role":"origin","name":"not-first"}
\$(touch $tmp/pwned)
LINES
EOF
chmod +x "$tmp/bin/amesh"
PATH=$tmp/bin:$PATH

check "keys show: no -c, no names" "" amesh keys show ''
ok "keys show: no -c, amesh not run" test ! -e "$tmp/stub.log"
check "keys show: names from keys list" "apnic cert-xx dotasia" amesh -c "$tmp/peer/amesh.conf" keys show ''
ok "amesh run as: -c CONFIG --json keys list" \
    grep -qxF -- "-c $tmp/peer/amesh.conf --json keys list" "$tmp/stub.log"
ok "hostile output not evaluated" test ! -e "$tmp/pwned"
check "keys approve: name prefix" "apnic" amesh -c "$tmp/peer/amesh.conf" keys approve ap
check "keys distrust: names" "apnic cert-xx dotasia" amesh -c "$tmp/peer/amesh.conf" keys distrust ''
check "keys revoke: names" "cert-xx" amesh -c "$tmp/peer/amesh.conf" keys revoke c
check "keys revoke --self: no names" "" amesh -c "$tmp/peer/amesh.conf" keys revoke --self ''
check "keys revoke NAME --reason: free text" "" amesh -c "$tmp/peer/amesh.conf" keys revoke apnic --reason ''
check "keys show: one NAME only" "" amesh -c "$tmp/peer/amesh.conf" keys show apnic ''
check "-c with a missing file: no names" "" amesh -c "$tmp/nonexistent.conf" keys show ''
check "the program as typed, by path" "apnic cert-xx dotasia" "$tmp/bin/amesh" -c "$tmp/peer/amesh.conf" keys show ''
check "quoted -c path" "apnic cert-xx dotasia" amesh -c "'$tmp/peer/amesh.conf'" keys show ''
ok "hostile output still not evaluated" test ! -e "$tmp/pwned"

# --- the same from a real trust store, when the real amesh is given ---
if [[ -n $real_amesh ]]; then
    if "$real_amesh" init "$tmp/real" --name completion-test >/dev/null &&
        "$real_amesh" keys generate -o "$tmp/n.key" --comment n >/dev/null &&
        "$real_amesh" -c "$tmp/real/amesh.conf" keys trust "$tmp/n.key.pub" --name apnic-2 \
            --as neighbour >/dev/null; then
        check "real trust store: names" "apnic-2" "$real_amesh" -c "$tmp/real/amesh.conf" keys show ''
    else
        failed=$((failed + 1))
        echo "FAIL could not set up a real peer with $real_amesh"
    fi
else
    echo "skip real trust store (give the amesh binary as an argument)"
fi

echo "$passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# feeds.sh - import and export through real daemons and the real CLI:
# every fixture format, skipped lines by file:line, idempotence (no new
# versions), --dry-run, submit -, the STIX round trip into a fresh peer,
# the export formats' shapes, and --json of every command parsed back.
set -uo pipefail
AMESHD=$1 AMESH=$2 JSONCHECK=$3 FIX=$4
. "$(dirname "$0")/lib.sh"

mk() { "$AMESH" init "$T_ROOT/$1" --name "$1" >/dev/null; }
jc() { "$JSONCHECK" "$@"; }
seq_of() { amp "$1" --json status | jc last_seq; }
live_of() { amp "$1" --json status | jc live; }

mk a; mk b
start a || exit 1
start b || exit 1

# --- every format from its fixture, skips named by file:line ---
expect_exit 0 "plain list imports" amp a import "$FIX/plain.txt" --category phishing --confidence 70 --ttl 7d
check "summary counts what was stored" grep -q "^6 names submitted: 6 stored, 0 unchanged" <<<"$T_OUT"
check "a wildcard line *.wild.example flags wild.example" has a wild.example
check "an IP line is reported with file:line and the input quoted" grep -qF "plain.txt:6: ip_address: \`192.0.2.44'" <<<"$T_ERR"
check "a public suffix is reported" grep -qF "plain.txt:7: public_suffix: \`co.uk'" <<<"$T_ERR"
check "a duplicate names its first line" grep -qF "plain.txt:12: duplicate: \`login-paypa1.example.com' (the same name and category as line 4)" <<<"$T_ERR"
check "the summary counts skips by reason" grep -q "lines skipped: .*ip_address 1, public_suffix 1" <<<"$T_OUT"
check "the U-label line was stored as its A-label" has a xn--mnchen-login-dlb.example
check "an emoji A-label the DNS serves is accepted" has a xn--57h.ws

# resolver configuration as published blocklists write it, detected
printf 'address=/dnsmasq-block.example/0.0.0.0\nserver=/dnsmasq-fwd.example/10.0.0.53\naddress=/tf.example/phish\n' >"$T_ROOT/block.dnsmasq"
expect_exit 0 "a dnsmasq blocklist imports (format detected)" amp a import "$T_ROOT/block.dnsmasq" --category spam --confidence 60 --ttl 7d
check "  address=/NAME/0.0.0.0 is held" has a dnsmasq-block.example
check "  server=/NAME/IP is forwarding, reported" grep -qF "block.dnsmasq:2: unsupported_pattern: \`server=/dnsmasq-fwd.example/10.0.0.53' (forwarded to 10.0.0.53" <<<"$T_ERR"
printf 'server:\n  local-zone: "unbound-block.example." always_nxdomain\n  local-zone: "unbound-ok.example." transparent\n' >"$T_ROOT/block.conf"
expect_exit 0 "an Unbound blocklist imports (format detected)" amp a import "$T_ROOT/block.conf" --category spam --confidence 60 --ttl 7d
check "  an always_nxdomain zone is held" has a unbound-block.example
check "  a transparent zone is reported, not held" grep -qF "block.conf:3: unsupported_pattern:" <<<"$T_ERR"
printf 'domain,threat_type\nknown-cat.example,botnet_cc\nunknown-cat.example,phish\n' >"$T_ROOT/cats.csv"
expect_exit 0 "a CSV with an unknown category word imports the rest" amp a import "$T_ROOT/cats.csv" --category spam --confidence 60 --ttl 7d
check "  the unknown word refuses its row, quoted" grep -qF "cats.csv:3: unknown_category: \`unknown-cat.example,phish' (the \`threat_type' column names the category \`phish'" <<<"$T_ERR"
check "  the summary counts it" grep -q "skipped: .*unknown_category 1" <<<"$T_OUT"
check "  and the message names the cure" grep -qF "if it means one of ours, say which: --category-map phish=CATEGORY)" <<<"$T_ERR"
# an Excel export's `sep=;' first line names the separator: found by --format auto, rows read by it
printf 'sep=;\r\nDomain;Category;Confidence\r\nexcel-sep.example;malware;70\r\n' >"$T_ROOT/excel.csv"
expect_exit 0 "a CSV with Excel's sep=; line imports (format detected)" amp a import "$T_ROOT/excel.csv" --category spam --confidence 60 --ttl 7d
check "  its row is held with the file's category" grep -q '"category": *"malware"' <<<"$(amp a --json query excel-sep.example)"
check "  and nothing is skipped" grep -q "^0 lines skipped" <<<"$T_OUT"
# a name column beside a URL names the URL's host; a brand the phishing page imitates is no flag
printf 'url,domain,target\nhttps://brand-kit.example/login,brand-victim.example,Bank\nhttps://www.brand-kit2.example/x,brand-kit2.example,Bank\n' >"$T_ROOT/brand.csv"
expect_exit 0 "a CSV whose domain is not its URL's host imports the rest" amp a import "$T_ROOT/brand.csv" --category phishing --confidence 60 --ttl 7d
check "  the row is refused, naming both" grep -qF "brand.csv:2: bad_value: \`https://brand-kit.example/login,brand-victim.example,Bank' (the name \`brand-victim.example' is neither the host of the URL beside it (\`brand-kit.example')" <<<"$T_ERR"
check "  the victim is not flagged" not has a brand-victim.example
check "  the row whose domain is its URL's parent is" has a brand-kit2.example
# an import that submitted nothing because nothing could be read, or the command lacked what
# the entries need, is a failure a script must see (it exited 0 with "0 names submitted")
printf 'nocat-a.example\nnocat-b.example\n' >"$T_ROOT/nocat.txt"
expect_exit 2 "an import that submits nothing for want of --category fails" amp a import "$T_ROOT/nocat.txt" --confidence 60 --ttl 7d
check "  saying so after each line's reason" grep -qF "amesh import: nothing was imported: 2 entries could not be read or lack what the command line must give" <<<"$T_ERR"
printf 'domain,threat\nx.example,botnet_cc\n' >"$T_ROOT/wrongfmt.csv"
expect_exit 2 "  so does one whose every entry is unreadable as the format given" amp a import "$T_ROOT/wrongfmt.csv" --format hosts --category spam --confidence 60 --ttl 7d
printf '0.0.0.0 localhost\n127.0.0.1 broadcasthost\n' >"$T_ROOT/onlylocal.hosts"
expect_exit 0 "  but not one whose entries the feed itself says are no flag" amp a import "$T_ROOT/onlylocal.hosts" --category spam --confidence 60 --ttl 7d
# the operator says what a feed's word means: never a guess of ours
printf 'domain,threat_type\nskim-map.example,cc_skimming\nphish-map.example,Phish\nnone-map.example,scam\n' >"$T_ROOT/catmap.csv"
printf '# ThreatFox words\n\nphish = phishing\n' >"$T_ROOT/catmap.txt"
expect_exit 0 "--category-map and --category-map-file read a feed's words" amp a import "$T_ROOT/catmap.csv" \
	--category-map cc_skimming=phishing --category-map-file "$T_ROOT/catmap.txt" --category spam --confidence 60 --ttl 7d
check "  cc_skimming (option) is held as phishing" grep -q '"category": *"phishing"' <<<"$(amp a --json query skim-map.example)"
check "  Phish (file, case aside) is held as phishing" grep -q '"category": *"phishing"' <<<"$(amp a --json query phish-map.example)"
check "  an unmapped word still refuses its row" grep -qF "catmap.csv:4: unknown_category: \`none-map.example,scam'" <<<"$T_ERR"
check "  and is not held" not has a none-map.example
expect_exit 2 "a word mapped to two categories is a usage error" amp a import "$T_ROOT/catmap.csv" \
	--category-map cc_skimming=phishing --category-map CC_SKIMMING=malware --confidence 60 --ttl 7d
check "  saying so" grep -qF "\`cc_skimming' is already mapped to phishing" <<<"$T_ERR"
printf 'cc_skimming=fraud\n' >"$T_ROOT/catmap-bad.txt"
expect_exit 2 "a map file's bad line is a usage error naming FILE:LINE" amp a import "$T_ROOT/catmap.csv" \
	--category-map-file "$T_ROOT/catmap-bad.txt" --confidence 60 --ttl 7d
check "  saying where and why" grep -qF "catmap-bad.txt:1: \`cc_skimming=fraud': the category after \`=' must be one of ours" <<<"$T_ERR"

for f in hosts.txt:7:ads.tracker.example urls.txt:3:phish.example.net adblock.txt:5:tracker.example.net \
         rpz.zone:11:dropped.example threatfox.csv:8:payload.example urlhaus.csv:6:malware-site.example \
         misp-event.json:16:pair.example; do
	IFS=: read -r file line name <<<"$f"
	expect_exit 0 "$file imports (format detected)" amp a import "$FIX/$file" --category spam --confidence 60 --ttl 7d
	check "$file: $name from line $line is held" has a "$name"
done
# URLhaus: an offline URL's payload is gone; its (often cleaned) host is not flagged unless asked
expect_exit 0 "urlhaus: offline rows are skipped by default" amp a import "$FIX/urlhaus.csv" --confidence 60 --ttl 7d
check "  named by file:line and why" grep -qF "urlhaus.csv:11: offline: \`\"6\",\"2026-11-29 09:05:00\",\"http://cleaned-site.example/wp-content/x.exe\"" <<<"$T_ERR"
check "  counted in the summary, with the option that takes them" grep -q "skipped: .*offline 2" <<<"$T_OUT"
check "  and the summary names --include-offline" grep -qF "2 rows marked offline (the payload gone) not imported: --include-offline takes them" <<<"$T_OUT"
check "  the cleaned host is not flagged" not has a cleaned-site.example
check "  an unknown status is read" has a unknown-status.example
expect_exit 0 "urlhaus: --include-offline imports them" amp a import "$FIX/urlhaus.csv" --confidence 60 --ttl 7d --include-offline
check "  the offline host is flagged then" has a cleaned-site.example
expect_exit 2 "submit -: --include-offline is for feed files" amp a submit - --include-offline --category spam --confidence 60 --ttl 7d </dev/null
# PhishTank: a submission nobody verified is a report, not a confirmed phish; not flagged unless asked
printf '%s\n' 'phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target' \
	'3,http://pt-unverified.example.com/x,x,2026-12-03T10:00:00+00:00,no,,yes,Other' >"$T_ROOT/pt.csv"
expect_exit 0 "phishtank: unverified rows are skipped by default" amp a import "$T_ROOT/pt.csv" --category phishing --confidence 70 --ttl 2d --dry-run
check "  named by file:line and why" grep -qF "pt.csv:2: unverified: \`3,http://pt-unverified.example.com/x" <<<"$T_ERR"
check "  nothing would be stored" grep -q "^dry run: 0 names checked" <<<"$T_OUT"
check "  counted in the summary, with the option that takes them" grep -qF "1 row not verified (a PhishTank submission nobody confirmed) not imported: --include-unverified takes them" <<<"$T_OUT"
expect_exit 0 "phishtank: --include-unverified imports them" amp a import "$T_ROOT/pt.csv" --category phishing --confidence 70 --ttl 2d --include-unverified
check "  the unverified host is flagged then" has a pt-unverified.example.com
expect_exit 2 "submit -: --include-unverified is for feed files" amp a submit - --include-unverified --category spam --confidence 60 --ttl 7d </dev/null
# PhishTank's JSON dump: its CSV's records, recognised by their keys (it was refused as untyped STIX)
expect_exit 0 "phishtank: the JSON dump is recognised and read by the CSV's rules" amp a import "$FIX/phishtank.json" --category phishing --confidence 70 --ttl 2d
check "  a verified, online phish is flagged" has a secure-login.pt-bank-verify.example
check "  an uppercase host with verified/online as JSON true is flagged, lower-cased" has a pt-caps.example
check "  an unverified record is skipped, named by its index" grep -qF "phishtank.json: [2]: unverified: " <<<"$T_ERR"
check "  verified false is unverified too" grep -qF "phishtank.json: [6]: unverified: " <<<"$T_ERR"
check "  an offline record is skipped" grep -qF "phishtank.json: [1]: offline: " <<<"$T_ERR"
check "  and neither is flagged" not has a pt-unconfirmed.example
check "  (nor the offline one)" not has a pt-gone.example
check "  the summary counts records, not lines" grep -q "^5 records skipped: ip_address 1, url_on_shared_host 1, offline 1, unverified 2$" <<<"$T_OUT"
check "  and names the offline and unverified ones as records" grep -qF "1 record marked offline (the payload gone) not imported" <<<"$T_OUT"
check "  (unverified)" grep -qF "2 records not verified (a PhishTank submission nobody confirmed) not imported" <<<"$T_OUT"
check "  each skip says records to its option" grep -qF "(online \`no': the page is gone, the site may be cleaned; --include-offline imports such records)" <<<"$T_ERR"
out=$(amp a --json import "$FIX/phishtank.json" --category phishing --confidence 70 --ttl 2d --dry-run)
check "  --json: the summary's skipped_unit is records" test "$(tail -1 <<<"$out" | jc skipped_unit)" = records
check "  --json: a skip names its record by index" test "$(grep '"reason":"unverified"' <<<"$out" | head -1 | jc where)" = "[2]"
check "hosts: localhost lines are local_name skips" grep -qF "hosts.txt:2: local_name: \`localhost'" <<<"$(amp a import "$FIX/hosts.txt" --category spam --confidence 60 --ttl 7d --dry-run 2>&1)"
# a hosts line mapping a name to a real address pins it, it does not block it
expect_exit 0 "hosts: a file of pins and blocks imports" amp a import "$FIX/hosts-pins.txt" --category spam --confidence 60 --ttl 7d
check "hosts: a pinned name is skipped, naming its address" grep -qF "hosts-pins.txt:3: unsupported_pattern: \`example.com' (mapped to 93.184.216.34, which pins the name to a host rather than blocking it" <<<"$T_ERR"
check "  and neither it nor its www is flagged" not has a www.example.com
check "  nor a LAN pin" not has a router.example
check "  while the same file's 0.0.0.0 line is" has a blocked.example
# special-use names (RFC 6761 and kin): a hosts file's LAN names are
# skipped, naming what reserves them; the file's blocks are imported
expect_exit 0 "hosts: a home network's file imports" amp a import "$FIX/hosts-lan.txt" --category spam --confidence 60 --ttl 7d
check "  its blocks are held" has a malware-cdn.example.org
check "  a .lan name is a special_use skip" grep -qF "hosts-lan.txt:7: special_use: \`nas.lan' (\`nas.lan': a special-use name, never a public site (.lan: " <<<"$T_ERR"
check "  a .local name names RFC 6762" grep -qF "hosts-lan.txt:7: special_use: \`printer.local' (\`printer.local': a special-use name, never a public site (.local: RFC 6762 " <<<"$T_ERR"
check "  the summary counts them" grep -q "lines skipped: .*special_use 8" <<<"$T_OUT"
check "  and none is flagged" not has a printer.local
expect_exit 2 "submit: a special-use name is refused" amp a submit git.internal --category spam --confidence 60 --ttl 7d
check "  naming it and what reserves it" grep -qF "\`git.internal': a special-use name, never a public site (.internal: ICANN reserved it for private use in 2024" <<<"$T_ERR"
# files that are no feed: refused whole, nothing stored, exit 2
gzip -c "$FIX/plain.txt" >"$T_ROOT/plain.txt.gz"
printf '{"name":"Top sites","type":"hostname","version":1,"list":["google.com","lan-good.example"]}' >"$T_ROOT/wl.json"
before=$(seq_of a)
expect_exit 2 "a gzip file is refused whole" amp a import "$T_ROOT/plain.txt.gz" --category spam --confidence 60 --ttl 7d
check "  saying what it is and how to read it" grep -qF "plain.txt.gz (read as plain): gzip-compressed data, not a text feed: decompress it first (zcat" <<<"$T_ERR"
expect_exit 2 "a MISP warninglist is refused whole" amp a import "$T_ROOT/wl.json" --confidence 60 --ttl 7d --category spam
check "  saying it lists names known good, for allowlist =" grep -qF "a MISP warninglist (\`Top sites', type \`hostname'): names known to be good" <<<"$T_ERR"
printf '["evil-array.example", "bad-array.example"]\n' >"$T_ROOT/names.json"
expect_exit 2 "a JSON array of bare names is refused whole" amp a import "$T_ROOT/names.json" --category spam --confidence 60 --ttl 7d
check "  in one error saying what it is and what to do" grep -qF "names.json (read as stix): a JSON array of 2 strings (\`evil-array.example', \`bad-array.example'), not STIX or MISP: import bare names one a line (jq -r '.[]' FILE | amesh import - --format plain ...)" <<<"$T_ERR"
check "  and only that one" test "$(grep -c . <<<"$T_ERR")" -le 2
check "  nothing of it flagged" not has a evil-array.example
printf '<!DOCTYPE html>\n<html><title>502 Bad Gateway</title>\n<body>\nfeeds.example.org\n</body></html>\n' >"$T_ROOT/feed.html"
expect_exit 2 "a web server's error page saved as the feed is refused whole" amp a import "$T_ROOT/feed.html" --category spam --confidence 60 --ttl 7d
check "  saying it is an HTML page" grep -qF "feed.html (read as plain): an HTML page, not a feed" <<<"$T_ERR"
check "  and the host named in its text is not flagged" not has a feeds.example.org
check "  and nothing of those three was stored" test "$(seq_of a)" = "$before"
check "  (not the warninglist's names)" not has a lan-good.example
: >"$T_ROOT/empty.txt"
expect_exit 0 "an empty file is no error" amp a import "$T_ROOT/empty.txt" --category spam --confidence 60 --ttl 7d
check "  but is said to be empty (a failed download looks so)" grep -qF "empty.txt is empty (0 bytes): nothing in it to import" <<<"$T_ERR"
check "  (and said once)" test "$(grep -c "empty.txt" <<<"$T_ERR")" -eq 1
# so is one that parses but holds nothing, each named among others that hold names
printf '{"Event":{"info":"nothing yet","Attribute":[],"Object":[]}}\n' >"$T_ROOT/empty-event.json"
printf '{"type":"bundle","id":"bundle--11111111-1111-4111-8111-111111111111","objects":[]}\n' >"$T_ROOT/empty-bundle.json"
printf '# comments only\n\n' >"$T_ROOT/comments.txt"
printf 'holds-one.example\n' >"$T_ROOT/one.txt"
expect_exit 0 "files that hold no entries are no error" amp a import "$T_ROOT/empty-event.json" "$T_ROOT/one.txt" "$T_ROOT/empty-bundle.json" "$T_ROOT/comments.txt" --category spam --confidence 60 --ttl 7d
for f in empty-event.json empty-bundle.json comments.txt; do
	check "  $f is said to hold nothing" grep -qF "$f holds no entries (no names, nothing skipped): nothing in it to import" <<<"$T_ERR"
done
check "  the file with a name is not" not grep -q "one.txt holds no entries" <<<"$T_ERR"
check "  and its name is stored" has a holds-one.example
out=$(amp a import "$FIX/urls.txt" --category spam --confidence 60 --ttl 7d --dry-run 2>&1)
check "urls: a file on drive.google.com is not a flag on it" grep -qF "urls.txt:5: url_on_shared_host: \`https://drive.google.com/file/d/1AbCdEf/view'" <<<"$out"
check "urls: a URL on a public suffix is a shared host" grep -qF "urls.txt:8: url_on_shared_host: \`https://blogspot.com/x'" <<<"$out"
check "no flag on drive.google.com or blogspot.com" not has a drive.google.com
out=$(amp a import "$FIX/threatfox.csv" --category spam --confidence 60 --ttl 7d --dry-run 2>&1)
check "threatfox: a short row is a bad_csv_row" grep -q "threatfox.csv:10: bad_csv_row: " <<<"$out"
check "threatfox: an ip:port row is not a domain" grep -q "threatfox.csv:7: not_a_domain: " <<<"$out"
check "threatfox: the file's threat type and confidence win" grep -q '"category":"botnet","confidence":75' <<<"$(amp a --json query c2.botnet.example)"
out=$(amp a import "$FIX/stix.json" --category spam --confidence 60 --ttl 7d 2>&1)
check "stix: a revoked indicator is skipped on the line of its id" grep -q "stix.json:41: objects\[[0-9]*\]: revoked: " <<<"$out"
check "stix: a url pattern names its host" has a stix-url.example
check "stix: an expiry past max_lifetime is refused by the daemon, quoted" grep -q "stix.json:17: objects\[[0-9]*\]: refused: .*expiry 2099-01-01T00:00:00Z is past max_lifetime" <<<"$out"
# a fault in one attribute costs that attribute, named by its index (into b: a red one
# must not disturb the export counts of a below)
expect_exit 0 "misp: an event with broken attributes still imports the good ones" amp b import "$FIX/misp-faults-event.json" --confidence 50 --ttl 7d
check "misp: a numeric value is 'not a string', quoted, by index" grep -qF "misp-faults-event.json:8: Attribute[1]: malformed: \`12345' (the value is not a string)" <<<"$T_ERR"
check "misp: a \\u0000 in one value skips that attribute" grep -qF "misp-faults-event.json:9: Attribute[2]: malformed: \`nul\\x00.example' (a NUL character (\\u0000) in the value)" <<<"$T_ERR"
check "misp: ...and the attributes after it are imported" has b after.example
check "misp: a defanged url attribute is refanged" has b defanged.example
check "misp: an attribute in an object, by its path" grep -qF "Object[0].Attribute[1]: malformed: " <<<"$T_ERR"
# what the feed itself says is no flag: MISP's warninglist hit, OpenCTI's detection false
cat >"$T_ROOT/wl-hits.json" <<'EOF_WL'
{"response": {"Attribute": [
 {"uuid": "a0000000-0000-4000-8000-00000000e101", "type": "domain", "to_ids": true, "value": "wl-hit.example",
  "warnings": [{"value": "wl-hit.example", "warninglist_id": "12", "warninglist_name": "List of known CDN domains",
                "warninglist_category": "false_positive"}]},
 {"uuid": "a0000000-0000-4000-8000-00000000e102", "type": "domain", "to_ids": true, "value": "wl-miss.example"}]}}
EOF_WL
expect_exit 0 "misp: an attribute search with a warninglist hit imports" amp b import "$T_ROOT/wl-hits.json" --category phishing --confidence 50 --ttl 7d
check "  the hit is skipped, naming the list" grep -qF "wl-hits.json:2: response.Attribute[0]: warninglisted: \`wl-hit.example' (MISP matched it against the warninglist \`List of known CDN domains' (\`false_positive')" <<<"$T_ERR"
check "  and not flagged" not has b wl-hit.example
check "  the attribute beside it is" has b wl-miss.example
printf '%s\n' '{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-00000000e200", "objects": [' \
	'{"type": "indicator", "id": "indicator--00000000-0000-4000-8000-00000000e201", "pattern": "[domain-name:value = '"'"'octi-context.example'"'"']", "x_opencti_detection": false},' \
	'{"type": "indicator", "id": "indicator--00000000-0000-4000-8000-00000000e202", "pattern": "[url:value = '"'"'https://octi-url.example/login'"'"'] OR [url:value = '"'"'https://contoso-my.sharepoint.com/:b:/g/personal/x'"'"']"}]}' >"$T_ROOT/octi.json"
expect_exit 0 "stix: an OpenCTI bundle imports" amp b import "$T_ROOT/octi.json" --category phishing --confidence 50 --ttl 7d
check "  detection false is not_to_ids" grep -qF "octi.json:2: objects[0]: not_to_ids: " <<<"$T_ERR"
check "  and not flagged" not has b octi-context.example
check "  a url:value flags its host" has b octi-url.example
check "  but not a SharePoint tenant's (a shared file host)" grep -qF "url_on_shared_host: " <<<"$T_ERR"
check "  which is not flagged" not has b contoso-my.sharepoint.com
# OpenCTI (and MISP's STIX export) OR a name with an address or a hash in one pattern: the names are
# taken, each other comparison reported by file:line, object and indicator id; under AND none is
expect_exit 0 "stix: an OpenCTI bundle ORing names with addresses imports" amp b import "$FIX/opencti-mixed.json" --confidence 50 --ttl 7d
check "  the name ORed with an address is held" has b octi-mixed1.example
check "  the url:value ORed with an address and a hash names its host" has b octi-mixed2.example
q=$(amp b --json query octi-mixed1.example)
check "  held as the label's category" grep -q '"category": *"phishing"' <<<"$q"
check "  at the marking's TLP" grep -q '"tlp": *"green"' <<<"$q"
check "  the address beside it is reported, with file:line, object, id and place" grep -qF "opencti-mixed.json:28: objects[2]: ip_address: \`ipv4-addr:value = '198.51.100.7'' (indicator--8e2e2d2b-17d4-4cbb-93cf-87ad1c5a1e01: comparison 2 of 2, at byte 47: an IP address, not a domain name; the names ORed with it are taken)" <<<"$T_ERR"
check "  so is the hash" grep -qF "opencti-mixed.json:59: objects[3]: unsupported_pattern: \`file:hashes.'SHA-256' = " <<<"$T_ERR"
check "  a name under AND is not taken, naming AND and where" grep -qF "opencti-mixed.json:78: objects[4]: unsupported_pattern: \`domain-name:value = 'octi-and.example'' (indicator--8e2e2d2b-17d4-4cbb-93cf-87ad1c5a1e03: comparison 1 of 2, at byte 2: under AND at byte 41: the pattern matches only when what is ANDed with it matches too, so this name alone is not what it flags)" <<<"$T_ERR"
check "  and is not held" not has b octi-and.example
# [a] OR ([ip] AND [hash]) matches whenever a is seen: a is taken, the AND's operands reported
check "  a name that is a disjunct of the top-level OR beside an AND is held" has b octi-or-and.example
check "  the address under the AND is reported as such" grep -qF "objects[5]: ip_address: \`ipv4-addr:value = '198.51.100.23'' (indicator--8e2e2d2b-17d4-4cbb-93cf-87ad1c5a1e04: comparison 2 of 3, at byte 50: an IP address, not a domain name; the names that alone match are taken)" <<<"$T_ERR"
check "  inside one observation too: the name ORed with an AND group is held" has b octi-inner.example
check "  the name inside the AND group is not" not has b octi-inner-and.example
check "  and is reported with the AND's byte" grep -qF "objects[6]: unsupported_pattern: \`domain-name:value = 'octi-inner-and.example'' (indicator--8e2e2d2b-17d4-4cbb-93cf-87ad1c5a1e05: comparison 2 of 3, at byte 47: under AND at byte 92:" <<<"$T_ERR"
check "  the summary counts the skips by reason, as entries (comparisons), not lines" grep -q "^9 entries skipped: ip_address 3, unsupported_pattern 6" <<<"$T_OUT"
# a name repeated in one pattern: the quoted pattern does not say which, the report does
cat >"$T_ROOT/stix-dup.json" <<'EOF'
{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000900", "objects": [
{"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000000901", "spec_version": "2.1",
 "pattern_type": "stix", "labels": ["phishing"],
 "pattern": "[domain-name:value IN ('in-a.example.net','IN-B.example.net') OR domain-name:value = 'in-a.example.net']"}
]}
EOF
expect_exit 0 "stix: a name repeated in one pattern imports once" amp b import "$T_ROOT/stix-dup.json" --confidence 50 --ttl 7d --dry-run
check "  the duplicate quotes the pattern" grep -qF "duplicate: \`[domain-name:value IN" <<<"$T_ERR"
check "  ... and names the repeated name and its object" grep -qF "(\`in-a.example.net': the same name and category as objects[0] (line 2))" <<<"$T_ERR"
check "  the summary counts one entry skipped" grep -q "^1 entry skipped: duplicate 1" <<<"$T_OUT"
out=$(amp b --json import "$FIX/stix-faults.json" --confidence 50 --ttl 7d)
check "stix --json: a NUL in a pattern skips that object, by index" test "$(grep '"reason":"malformed"' <<<"$out" | head -1 | jc where)" = "objects[1]"
check "stix: the objects after it are imported" has b stix-after.example
expect_exit 0 "defanged URLs import (format detected)" amp b import "$FIX/defanged-urls.txt" --category phishing --confidence 50 --ttl 7d
check "hxxps[:]// and [.] refanged" has b bracket-colon.example
check "a percent-encoded host decoded" has b percent.example
check "userinfo and port dropped" has b userinfo.example
check "an IPv6 host is skipped as an address" grep -qF "defanged-urls.txt:10: ip_address: \`http://[2001:db8::7]/x'" <<<"$T_ERR"
expect_exit 0 "a MISP feed directory imports" amp a import "$FIX/misp-feed" --confidence 50 --ttl 7d
check "misp: the hostile manifest entry is refused, never opened" grep -qF "manifest.json: malformed: \`../../etc/passwd'" <<<"$T_ERR"
expect_exit 0 "a MISP feed with a missing and a broken event file still imports" amp a import "$FIX/misp-feed-partial" --category spam --confidence 50 --ttl 7d
check "  the good event after them" has a after-broken-events.example
check "  the missing one reported by its file and uuid" grep -qF "7a000000-0000-4aaa-8bbb-000000000001.json: malformed: \`7a000000-0000-4aaa-8bbb-000000000001' (the event listed in manifest.json: cannot open" <<<"$T_ERR"
expect_exit 2 "an unreadable file is an error" amp a import "$T_ROOT/nope.txt" --category spam --confidence 1 --ttl 1d
check "  naming the file" grep -q "nope.txt" <<<"$T_ERR"
printf 'before-bad-file.example\n' >"$T_ROOT/good1.txt"; printf 'after-bad-file.example\n' >"$T_ROOT/good2.txt"
expect_exit 2 "a file that cannot be read among others exits 2" amp a import "$T_ROOT/good1.txt" "$T_ROOT/nope.txt" "$T_ROOT/good2.txt" --category spam --confidence 50 --ttl 1d
check "  the names read before it are still sent (they were dropped)" has a before-bad-file.example
check "  the files after it are still read" has a after-bad-file.example
check "  and it says how many files were not read" grep -qF "1 of 3 files could not be read (said above); the others were imported" <<<"$T_ERR"
# a STIX indicator's own times: not live yet, valid at no time, or over
expect_exit 0 "stix: a bundle with indicators of every validity imports" amp a import "$FIX/stix-times.json" --category spam --confidence 60 --ttl 7d
check "  a live one is held (valid_from past, the expiry --ttl's)" has a skewed-clock.example
check "  one whose valid_from is to come is skipped, naming its id and the times" grep -qF "stix-times.json:14: objects[1]: not_yet_valid: \`[domain-name:value = 'later.example']' (indicator--a1000000-0000-4000-8000-000000000002: valid_from 2098-01-01T00:00:00Z is in the future (it is now " <<<"$T_ERR"
check "  and is not flagged" not has a later.example
check "  valid_until before valid_from is a bad_value" grep -qF "stix-times.json:28: objects[3]: bad_value: \`[domain-name:value = 'backwards.example']' (indicator--a1000000-0000-4000-8000-000000000004: valid_until 2026-11-20T00:00:00Z is not after valid_from 2026-12-01T00:00:00Z: valid at no time)" <<<"$T_ERR"
check "  a valid_until already past is expired, naming its id" grep -qF "stix-times.json:42: objects[5]: expired: \`[domain-name:value = 'over.example']' (indicator--a1000000-0000-4000-8000-000000000006: its own expiry 2026-11-01T00:00:00Z is already past (it is now " <<<"$T_ERR"
check "  a valid_until without a zone is a bad_value, naming the id and quoting it" grep -qF "objects[7]: bad_value: \`[domain-name:value = 'no-zone.example']' (indicator--a1000000-0000-4000-8000-000000000008: valid_until \`2027-02-01T00:00:00' is not a STIX timestamp" <<<"$T_ERR"
check "  none of those is flagged" sh -c "! '$AMESH' -s '$T_ROOT/a/run/amesh.sock' query backwards.example instant.example over.example sloppy.example no-zone.example >/dev/null 2>&1"
mkdir -p "$T_ROOT/not-a-feed-dir"
expect_exit 2 "a directory that is no MISP feed is an error" amp a import "$T_ROOT/not-a-feed-dir" --category spam --confidence 1 --ttl 1d
check "  saying why, not only that manifest.json is missing" grep -qF "not-a-feed-dir is a directory without a manifest.json: only a MISP feed is read from a directory" <<<"$T_ERR"
expect_exit 2 "broken JSON is an error with line and column" amp a import --format stix "$FIX/plain.txt" --category spam --confidence 1 --ttl 1d
check "  saying where" grep -q "plain.txt (read as stix): line 1, column" <<<"$T_ERR"

# --- idempotence: the same files again change nothing ---
before=$(seq_of a)
for f in hosts.txt threatfox.csv rpz.zone urlhaus.csv; do
	amp a import "$FIX/$f" --category spam --confidence 60 --ttl 7d >/dev/null 2>&1
done
amp a import "$FIX/plain.txt" --category phishing --confidence 70 --ttl 7d >"$T_ROOT/again" 2>/dev/null
check "importing again stores nothing" grep -q "^6 names submitted: 0 stored, 6 unchanged" "$T_ROOT/again"
check "and issues no version (change log did not move: nothing to relay)" test "$(seq_of a)" = "$before"
# a different confidence is news
amp a import "$FIX/plain.txt" --category phishing --confidence 71 --ttl 7d >"$T_ROOT/again" 2>/dev/null
check "a changed confidence is stored" grep -q "^6 names submitted: 6 stored" "$T_ROOT/again"

# --- dry run ---
live=$(live_of b)
expect_exit 0 "dry run" amp b import "$FIX/hosts.txt" --category spam --confidence 60 --ttl 7d --dry-run
check "dry run says what the daemon would do" grep -q "dry run: 4 names checked by the daemon: 4 would be stored, 0 unchanged (already held), 0 refused; nothing was stored" <<<"$T_OUT"
check "dry run stores nothing" test "$(live_of b)" = "$live"
# the daemon's max_lifetime (90 days) is the daemon's to know: a dry run asks it
expect_exit 2 "dry run: a TTL past max_lifetime is refused, as the import would be" amp b import "$FIX/hosts.txt" --category spam --confidence 60 --ttl 100d --dry-run
check "  each name reported refused with the daemon's words" grep -qE "hosts.txt:7: refused: \`ads.tracker.example' \(expiry 20[0-9-]{8}T[0-9:]{8}Z is past max_lifetime \(90d from now: 20[0-9-]{8}T[0-9:]{8}Z at the latest\)\)" <<<"$T_ERR"
check "  and the summary says so" grep -q "dry run: 4 names checked by the daemon: 0 would be stored, 0 unchanged (already held), 4 refused; nothing was stored" <<<"$T_OUT"
check "  nothing stored" test "$(live_of b)" = "$live"
expect_exit 2 "submit --dry-run: a TTL past max_lifetime is refused" amp b submit dry.example --category spam --confidence 60 --ttl 100d --dry-run
check "  with the daemon's words" grep -qE "expiry 20[0-9-]{8}T[0-9:]{8}Z is past max_lifetime \(90d from now" <<<"$T_ERR"
expect_exit 0 "submit --dry-run: a good one would be stored" amp b submit dry.example --category spam --confidence 60 --ttl 7d --dry-run
check "  says so" grep -qF "dry run: would store dry.example spam; nothing was stored" <<<"$T_OUT"
check "  and is not stored" not has b dry.example
expect_exit 2 "submit --dry-run: a special-use name is refused" amp b submit nas.lan --category spam --confidence 60 --ttl 7d --dry-run
check "  with the rule's words" grep -qF "\`nas.lan': a special-use name" <<<"$T_ERR"
check "submit - --dry-run: checked by the daemon too" sh -c "printf 'a-dry.example\nb-dry.example\n' | '$AMESH' -s '$T_ROOT/b/run/amesh.sock' submit - --category spam --confidence 60 --ttl 7d --dry-run | grep -q 'dry run: 2 names checked by the daemon: 2 would be stored'"
check "  nothing stored" test "$(live_of b)" = "$live"

# --- submit - ---
awk 'BEGIN { for (i = 1; i <= 2500; i++) printf "n%d.stdin.example\n", i; print "192.0.2.1"; print "n7.stdin.example" }' >"$T_ROOT/names"
expect_exit 0 "submit - reads names from stdin" amp b submit - --category malware --confidence 40 --ttl 1d <"$T_ROOT/names"
check "all 2500 stored in batches" grep -q "^2500 names submitted: 2500 stored" <<<"$T_OUT"
check "stdin skips are named by line" grep -qF -- "-:2501: ip_address: \`192.0.2.1'" <<<"$T_ERR"
check "and duplicates too" grep -qF -- "-:2502: duplicate: " <<<"$T_ERR"
expect_exit 2 "submit - still needs a category" amp b submit - --confidence 40 --ttl 1d </dev/null
# one idempotence rule for `submit NAME' and `submit -'
id1=$(amp b --json submit single.example --category malware --confidence 40 --ttl 1d | jc signal.id)
seq1=$(seq_of b)
out=$(amp b --json submit single.example --category malware --confidence 40 --ttl 1d)
check "submit NAME again: unchanged" test "$(jc changed <<<"$out")" = false
check "  the same id, no new version" test "$(jc signal.id <<<"$out")" = "$id1"
check "  the change log did not move (nothing to relay)" test "$(seq_of b)" = "$seq1"
check "  the text form says unchanged" grep -q "^unchanged single.example" <<<"$(amp b submit single.example --category malware --confidence 40 --ttl 1d)"
check "submit NAME with a new confidence: changed" test "$(amp b --json submit single.example --category malware --confidence 41 --ttl 1d | jc changed)" = true

# --- export shapes ---
amp a export csv >"$T_ROOT/a.csv"
check "csv: the documented header, CRLF" test "$(head -1 "$T_ROOT/a.csv")" = $'domain,include_subdomains,category,confidence,first_seen,expires,origin,id,tlp\r'
check "csv: one row per live signal" test "$(($(wc -l <"$T_ROOT/a.csv") - 1))" -eq "$(live_of a)"
check "csv: times are UTC ISO 8601" grep -Eq '^[^,]+,true,[a-z]+,[0-9]+,[0-9-]{10}T[0-9:]{8}Z,[0-9-]{10}T[0-9:]{8}Z,[0-9a-f]{64},[0-9a-f]{64},(clear|green|amber|amber\+strict|red)'$'\r''$' "$T_ROOT/a.csv"
amp a export hosts -o "$T_ROOT/a.hosts" 2>/dev/null
check "hosts: 0.0.0.0 lines" grep -qx "0.0.0.0 evil.example" "$T_ROOT/a.hosts"
# -o FILE is replaced whole or not at all: a write that fails (here the
# file-size limit, as a full disk would) leaves yesterday's list in place
cp "$T_ROOT/a.hosts" "$T_ROOT/a.hosts.before"
( ulimit -f 1; trap '' XFSZ; amp a export csv -o "$T_ROOT/a.hosts" ) >/dev/null 2>"$T_ROOT/xfsz.err"
check "export -o: a failed write exits 2, saying so" grep -q "cannot write $T_ROOT/a.hosts" "$T_ROOT/xfsz.err"
check "  and the previous file is untouched" cmp -s "$T_ROOT/a.hosts" "$T_ROOT/a.hosts.before"
check "  and no temporary file is left" test -z "$(ls "$T_ROOT" | grep '^a\.hosts\.')" -o "$(ls "$T_ROOT" | grep '^a\.hosts\.')" = a.hosts.before
cp "$T_ROOT/a.hosts" "$T_ROOT/b.hosts"; ln -s b.hosts "$T_ROOT/link.hosts"
amp a export csv -o "$T_ROOT/link.hosts" 2>/dev/null
check "export -o through a symbolic link replaces the file it names, the link stays" \
	test -L "$T_ROOT/link.hosts" -a "$(head -c 7 "$T_ROOT/b.hosts")" = "domain,"
expect_exit 0 "misp: a feed directory" amp a export misp -o "$T_ROOT/misp"
check "misp: manifest.json parses" sh -c "tr -d '\n' <'$T_ROOT/misp/manifest.json' | '$JSONCHECK' >/dev/null"
ev=$(ls "$T_ROOT/misp" | grep -v -e manifest.json -e hashes.csv | head -1)
check "misp: an event file per origin and day" test -n "$ev"
check "misp: the event parses" sh -c "tr -d '\n' <'$T_ROOT/misp/$ev' | '$JSONCHECK' Event.uuid >/dev/null"
check "misp: hashes.csv has one line per attribute" test "$(wc -l <"$T_ROOT/misp/hashes.csv")" -eq "$(live_of a)"
check "misp: hashes.csv is md5,event-uuid" grep -Eq '^[0-9a-f]{32},[0-9a-f-]{36}$' "$T_ROOT/misp/hashes.csv"
check "misp: no file is left half-written beside them" test -z "$(ls "$T_ROOT/misp" | grep '\.tmp$')"
expect_exit 0 "misp: our own feed imports back (dry run)" amp b import "$T_ROOT/misp" --dry-run
check "  every attribute" grep -q "^dry run: $(live_of a) names checked by the daemon" <<<"$T_OUT"

# --- export filters ---
check "--category keeps one category" test "$(amp a export csv --category botnet | tail -n +2 | grep -vc ',botnet,')" -eq 0
check "--category: something is left" test "$(amp a export csv --category botnet | tail -n +2 | wc -l)" -ge 1
check "--origin by this peer's own name" test "$(amp a export csv --origin a | tail -n +2 | wc -l)" -eq "$(live_of a)"
expect_exit 2 "--origin by an unknown name is an error, not an empty feed" amp a export csv --origin nobody
check "  saying what and why" grep -qF "amesh export: --origin name \`nobody': no such origin in this peer's trust store" <<<"$T_ERR"
check "  and nothing on stdout (not even the header)" test -z "$T_OUT"
expect_exit 2 "--origin by an unknown key id too" amp a export stix --origin 0123456789abcdef
check "  quoting the key id" grep -qF "key id 0123456789abcdef: no such origin" <<<"$T_ERR"
trust a b origin
expect_exit 0 "--origin naming a trusted origin with no signals here: an empty feed" amp a export csv --origin b
check "  just the header" test "$(wc -l <<<"$T_OUT")" -eq 1
"$AMESH" -c "$T_ROOT/a/amesh.conf" keys revoke b --reason "test: key lost" >/dev/null
expect_exit 2 "--origin naming a revoked origin says why nothing can come" amp a export csv --origin b
check "  when and why it was revoked" grep -q "name \`b': \`b' was revoked at [0-9TZ:-]* (test: key lost): this peer keeps none of its signals" <<<"$T_ERR"
expect_exit 2 "list --origin with an unknown key id: the same error" amp a list --origin 0123456789abcdef
check "  quoting the key id" grep -qF "amesh list: --origin key id 0123456789abcdef: no such origin" <<<"$T_ERR"
check "--origin self" test "$(amp a export csv --origin self | tail -n +2 | wc -l)" -eq "$(live_of a)"
check "--origin by key id" test "$(amp a export csv --origin "$(amp a --json status | jc key_id)" | tail -n +2 | wc -l)" -eq "$(live_of a)"
expect_exit 2 "--since in the future is an error, not an empty feed" amp a export csv --since 2099-01-01T00:00:00Z
check "  saying so" grep -qF "amesh export: --since \`2099-01-01T00:00:00Z' is in the future" <<<"$T_ERR"
expect_exit 2 "report --since in the future: the same rule (one option reader, cliopt)" amp a report --since 2099-01-01T00:00:00Z
check "  saying so" grep -qF "amesh report: --since \`2099-01-01T00:00:00Z' is in the future" <<<"$T_ERR"
expect_exit 2 "list --origin by an unknown name: the same error as export's" amp a list --origin nobody
check "  quoting it" grep -qF "amesh list: --origin name \`nobody': no such origin in this peer's trust store" <<<"$T_ERR"
check "list --origin by this peer's own name, as export takes it" test "$(amp a list --origin a --limit 10000 | grep -c '^[a-z0-9]')" -eq "$(amp a list --limit 10000 | grep -c '^[a-z0-9]')"
check "  and something is listed" test "$(amp a list --origin self --limit 10000 | wc -l)" -ge 1
check "--since 1h: everything (all issued just now)" test "$(amp a export csv --since 1h | tail -n +2 | wc -l)" -eq "$(live_of a)"
# a's own signals score their confidence (weight 1): 60 passes 60, not 61
n60=$(amp a export csv --min-score 60 | tail -n +2 | wc -l)
n61=$(amp a export csv --min-score 61 | tail -n +2 | wc -l)
check "--min-score keeps what reaches it ($n60 >= 60, $n61 >= 61)" test "$n60" -gt "$n61"
check "--min-score 61 drops the confidence-60 spam" test "$(amp a export csv --min-score 61 | grep -c ',spam,60,')" -eq 0
expect_exit 2 "an unknown export format" amp a export yaml
check "  naming every format there is, rpz too (amesh.c takes it)" \
	grep -qF "unknown export format \`yaml': expected stix, csv, misp, hosts, or rpz --zone NAME" <<<"$T_ERR"
expect_exit 2 "misp needs a directory" amp a export misp

# --- STIX round trip: a's export into a fresh peer c ---
mk c; start c || exit 1
expect_exit 0 "export stix" amp a export stix -o "$T_ROOT/a.stix.json"
expect_exit 0 "import it into a fresh peer (no --category, --confidence or --ttl)" amp c import "$T_ROOT/a.stix.json"
tuple() { amp "$1" export csv | tail -n +2 | tr -d '\r' | awk -F, '{ print $1, $3, $4, $6 }' | sort; }
check "round trip: the same (domain, category, confidence, expiry) set" diff <(tuple a) <(tuple c)
check "round trip: not empty" test "$(tuple c | wc -l)" -gt 20
# and through a MISP feed directory, and a hosts file (names only: it carries no more)
mk rtm; start rtm || exit 1
expect_exit 0 "export misp" amp a export misp -o "$T_ROOT/a.misp"
expect_exit 0 "import the MISP feed into a fresh peer (no --category, --confidence or --ttl)" amp rtm import "$T_ROOT/a.misp"
check "misp round trip: the same (domain, category, confidence, expiry) set" diff <(tuple a) <(tuple rtm)
mk rth; start rth || exit 1
amp a export hosts -o "$T_ROOT/a.hosts.txt" 2>/dev/null
expect_exit 0 "import the hosts export into a fresh peer" amp rth import "$T_ROOT/a.hosts.txt" --category spam --confidence 50 --ttl 1d
check "hosts round trip: the same names, no line skipped" \
	diff <(tuple a | cut -d' ' -f1 | sort -u) <(tuple rth | cut -d' ' -f1 | sort -u)
check "  (none skipped)" grep -q "^0 lines skipped" <<<"$T_OUT"

# --- TLP: an export never publishes above --max-tlp (default green); csv carries the level ---
expect_exit 0 "submit --tlp RED (any case)" amp a submit red.tlp.example --category phishing --confidence 90 --ttl 1d --tlp RED
expect_exit 0 "submit --tlp TLP:AMBER" amp a submit amber.tlp.example --category phishing --confidence 90 --ttl 1d --tlp TLP:AMBER
for fmt in csv hosts stix; do
	amp a export "$fmt" -o "$T_ROOT/tlp.$fmt" 2>"$T_ROOT/tlp.err"
	check "export $fmt: red and amber left out by default" not grep -qE "(red|amber)\.tlp\.example" "$T_ROOT/tlp.$fmt"
	check "export $fmt: says so" grep -q "left out 2 signals above --max-tlp green (1 red, 1 amber)" "$T_ROOT/tlp.err"
done
check "export csv --max-tlp amber: the amber row, its level in the tlp column" grep -q $'^amber\\.tlp\\.example,.*,amber\r$' <<<"$(amp a export csv --max-tlp amber 2>/dev/null)"
check "export csv --max-tlp amber: still no red" not grep -q "red\.tlp\.example" <<<"$(amp a export csv --max-tlp amber 2>/dev/null)"
expect_exit 2 "export --max-tlp purple is refused" amp a export csv --max-tlp purple
amp a export csv --max-tlp red -o "$T_ROOT/red.csv" 2>/dev/null
expect_exit 0 "csv with a tlp column imports" amp c import "$T_ROOT/red.csv"
check "csv round trip keeps TLP:RED (not the default green)" grep -q '"tlp":"red"' <<<"$(amp c --json query red.tlp.example)"
check "csv round trip keeps TLP:AMBER" grep -q '"tlp":"amber"' <<<"$(amp c --json query amber.tlp.example)"

# --- sharing restrictions a feed states in other ways never relax (into c) ---
expect_exit 0 "stix: granular markings" amp c import "$FIX/stix-granular.json" --category spam --confidence 50 --ttl 1d
check "  a red granular marking makes the name red" grep -q '"tlp":"red"' <<<"$(amp c --json query granular-red.example)"
check "  a bundle inside the bundle is reported by its line and id" grep -qF "stix-granular.json:46: objects[4]: unsupported_pattern: \`bundle--0f6c6a0e-3333-4c2e-9a3e-000000000002'" <<<"$T_ERR"
expect_exit 0 "misp: an event for this organisation only (distribution 0, no tlp: tag)" amp c import "$FIX/misp-org-only-event.json" --category spam --confidence 50 --ttl 1d
check "  is red" grep -q '"tlp":"red"' <<<"$(amp c --json query org-only.example)"
expect_exit 0 "a feed given as red whose objects say green (--tlp red)" amp c import "$FIX/stix-tlp.json" --category spam --confidence 50 --ttl 1d --tlp red
check "  stays red: --tlp is a floor" grep -q '"tlp":"red"' <<<"$(amp c --json query plain-green.example)"
amp c export stix -o "$T_ROOT/c-green.stix.json" 2>/dev/null
check "  and none of them is exported at the default --max-tlp" not grep -qE "(granular-red|org-only|plain-green)\.example" "$T_ROOT/c-green.stix.json"
expect_exit 0 "adblock: options that do not block" amp c import "$FIX/adblock-options.txt" --category spam --confidence 50 --ttl 1d
check "  \$badfilter is not a flag" not has c cancelled.example
check "  reported with its line and the option" grep -qF "adblock-options.txt:3: unsupported_pattern: \`||cancelled.example^\$badfilter' (the option \`\$badfilter' makes it other than a block of the host)" <<<"$T_ERR"
check "  \$denyallow is not a flag of the host and all below it" not has c except.example
check "  nor \$domain=SITE, a rule for one site's pages" grep -qF "adblock-options.txt:9: unsupported_pattern: \`||popup.example^\$popup,domain=news.example' (the option \`\$domain' limits the rule to requests from the pages of the sites it names" <<<"$T_ERR"
check "  while \$domain=~SITE, every page but some, is" has c everywhere-but.example
expect_exit 0 "csv: a stray quote" amp c import "$FIX/csv-unclosed.csv" --category spam --confidence 50 --ttl 1d
check "  costs its own row only" has c last-row.example
printf '\xff\xfe0\0.\0000\0.\0000\0.\0000\0 \0x\0.\0e\0x\0\n\0' >"$T_ROOT/utf16.txt"
expect_exit 2 "a UTF-16 file is refused whole" amp c import "$T_ROOT/utf16.txt" --category spam --confidence 50 --ttl 1d
check "  saying what it is and how to convert it" grep -qF "utf16.txt (read as plain): UTF-16 text (it starts with the byte-order mark FF FE): convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)" <<<"$T_ERR"

# withdrawal: the same STIX object, revoked, with a newer modified
id_before=$(tr -d '\n' <"$T_ROOT/a.stix.json" | jc objects | tr '}' '\n' | grep -o '"id":"indicator--[^"]*","created_by_ref":"[^"]*","created":"[^"]*","modified":"[^"]*","name":"spam: evil.example"' | head -1)
amp a withdraw evil.example --category spam >/dev/null
amp a export stix -o "$T_ROOT/a2.stix.json" 2>/dev/null
obj=$(tr -d '\n' <"$T_ROOT/a2.stix.json" | jc objects | tr '}' '\n' | grep '"name":"spam: evil.example"' | head -1)
check "withdrawal: same indicator id" grep -qF "$(grep -o '"id":"indicator--[^"]*"' <<<"$id_before")" <<<"$obj"
check "withdrawal: revoked" grep -q '"revoked":true' <<<"$(tr -d '\n ' <"$T_ROOT/a2.stix.json" | grep -o '"name":"spam:evil.example"[^}]*')"
m1=$(grep -o '"modified":"[^"]*"' <<<"$id_before"); m2=$(grep -o '"modified":"[^"]*"' <<<"$obj")
check "withdrawal: a newer modified ($m1 < $m2)" test "$m1" \< "$m2"
c1=$(grep -o '"created":"[^"]*"' <<<"$id_before"); c2=$(grep -o '"created":"[^"]*"' <<<"$obj")
check "withdrawal: the same created ($c1 = $c2): the first version's issue time, kept by the store" test -n "$c1" -a "$c1" = "$c2"
check "withdrawal: created before modified" test "$c2" \< "${m2/modified/created}"
check "stix: millisecond UTC timestamps" grep -Eq '"valid_until": "[0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z"' "$T_ROOT/a2.stix.json"
check "stix: TLP:GREEN by its official id" grep -q '"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"' "$T_ROOT/a2.stix.json"
expect_exit 0 "re-importing the revoked bundle into c" amp c import "$T_ROOT/a2.stix.json"
check "  skips the revoked one" grep -q "a2.stix.json:[0-9]*: objects\[[0-9]*\]: revoked: .*evil.example" <<<"$T_ERR"

# --- --json of every command, parsed back ---
pj() { local d=$1; shift; if "$@" >"$T_ROOT/j" 2>/dev/null && { [ ! -s "$T_ROOT/j" ] && [[ $d == *"no lines"* ]] || jc <"$T_ROOT/j" >/dev/null; }; then pass "json: $d"; else fail "json: $d: $(head -c 300 "$T_ROOT/j")"; fi; }
pj "submit" amp a --json submit json.example --category phishing --confidence 33 --ttl 1d
check "submit: local_confidence is the peer's own confidence" test "$(jc signal.local_confidence <"$T_ROOT/j")" = 33
pj "withdraw" amp a --json withdraw json.example --category phishing
pj "query" amp a --json query www.evil.example ads.tracker.example
pj "list" amp a --json list --limit 5
pj "status" amp a --json status
pj "peers (none configured: no lines)" amp a --json peers
pj "audit" amp a --json audit ads.tracker.example
pj "audit --verify" amp a --json audit --verify
pj "report" amp a report --format json
pj "import" amp a --json import "$FIX/adblock.txt" --category spam --confidence 60 --ttl 7d
check "import --json: skips and a summary" test "$(jc event <"$T_ROOT/j" | sort -u | tr '\n' ' ')" = "skipped summary "
check "import --json: the summary counts" test "$(tail -1 "$T_ROOT/j" | jc skipped_by_reason.unsupported_pattern)" = 7
pj "init" "$AMESH" --json init "$T_ROOT/d" --name d
# keys: every subcommand's --json through jansson; a U-label, a quote and a
# backslash in the comment and note come back as typed
ka() { "$AMESH" -c "$T_ROOT/a/amesh.conf" --json keys "$@"; }
pj "keys generate" ka generate -o "$T_ROOT/k1.key" --comment 'bücher "k1" \ test'
check "keys generate: the comment as typed" test "$(jc comment <"$T_ROOT/j")" = 'bücher "k1" \ test'
check "keys generate: public_file named" test "$(jc public_file <"$T_ROOT/j")" = "$T_ROOT/k1.key.pub"
pj "keys public" ka public "$T_ROOT/k1.key.pub"
check "keys public: the key line carries the comment" grep -qF 'bücher' <<<"$(jc public_key <"$T_ROOT/j")"
pj "keys fingerprint" ka fingerprint "$T_ROOT/k1.key.pub"
pj "keys trust" ka trust "$T_ROOT/k1.key.pub" --name k1 --as origin --note 'Grüße "note"'
check "keys trust: action and note" test "$(jc action note <"$T_ROOT/j" | tr '\n' '|')" = 'trusted|Grüße "note"|'
pj "keys list" ka list
check "keys list: one object per entry, each parsed" test "$(jc name <"$T_ROOT/j" | tr '\n' ' ')" = "b k1 "
pj "keys show" ka show k1
check "keys show: no pending, no retired keys" test "$(jc pending retired <"$T_ROOT/j" | tr '\n' ' ')" = "null [] "
pj "keys pending (none: no lines)" ka pending
pj "keys revoke" ka revoke k1 --reason 'lost "laptop"'
check "keys revoke: when and why" test "$(jc revoked revoke_reason <"$T_ROOT/j" | tr '\n' '|')" = 'true|lost "laptop"|'
pj "keys distrust" ka distrust k1
"$AMESH" -s "$T_ROOT/a/run/amesh.sock" --json watch >"$T_ROOT/watch.json" 2>/dev/null &
wpid=$!
sleep 0.5
amp a submit watched.example --category spam --confidence 12 --ttl 1d >/dev/null
wait_until 5 grep -q watched.example "$T_ROOT/watch.json"
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
check "json: watch" sh -c "'$JSONCHECK' <'$T_ROOT/watch.json' >/dev/null"
check "watch: the event carries the signal" test "$(grep watched "$T_ROOT/watch.json" | jc event signal.domain | tr '\n' ' ')" = "new watched.example "
check "watch: local_confidence as query says (12, not 0)" test "$(grep watched "$T_ROOT/watch.json" | jc signal.local_confidence)" = 12
a_label=$(amp a --json submit 'bücher-login.de' --category phishing --confidence 50 --ttl 1d | jc signal.domain)
check "a U-label submits as its A-label" grep -q '^xn--' <<<"$a_label"
pj "query of a U-label" amp a --json query 'www.bücher-login.de'
check "the U-label comes back as typed, not as escaped bytes" test "$(jc name <"$T_ROOT/j")" = 'www.bücher-login.de'
check "and its normal form" test "$(jc normalised <"$T_ROOT/j")" = "www.$a_label"
check "it matched on the parent" test "$(jc signals.0.domain <"$T_ROOT/j")" = "$a_label"
check "no bytes escaped as code points" not grep -q 'u00c3' "$T_ROOT/j"

finish

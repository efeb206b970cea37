/* feed.c - feed formats and skip reasons by name, format detection, the line reader the parsers share. */
#include "feed.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain.h"
#include "feed_adblock.h"
#include "feed_csv.h"
#include "feed_hosts.h"
#include "feed_misp.h"
#include "feed_plain.h"
#include "feed_resolver.h"
#include "feed_rpz.h"
#include "feed_stix.h"
#include "feed_urls.h"
#include "text.h"

static const char *const format_names[FEED_FORMAT_COUNT] = {
	[FEED_AUTO] = "auto",       [FEED_PLAIN] = "plain", [FEED_HOSTS] = "hosts",
	[FEED_URLS] = "urls",       [FEED_ADBLOCK] = "adblock", [FEED_RPZ] = "rpz",
	[FEED_CSV] = "csv",         [FEED_STIX] = "stix",   [FEED_MISP] = "misp",
	[FEED_DNSMASQ] = "dnsmasq", [FEED_UNBOUND] = "unbound",
};

int feed_format_parse(const char *s, enum feed_format *out)
{
	for (int i = 0; i < FEED_FORMAT_COUNT; i++)
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum feed_format)i;
			return 0;
		}
	return AM_EINVAL;
}

const char *feed_format_name(enum feed_format f)
{
	return (unsigned)f < FEED_FORMAT_COUNT ? format_names[f] : "?";
}

static const char *const skip_names[FEED_SKIP_COUNT] = {
	[FEED_SKIP_NONE] = "none",
	[FEED_SKIP_IP_ADDRESS] = "ip_address",
	[FEED_SKIP_PUBLIC_SUFFIX] = "public_suffix",
	[FEED_SKIP_URL_ON_SHARED_HOST] = "url_on_shared_host",
	[FEED_SKIP_BAD_NAME] = "bad_name",
	[FEED_SKIP_UNSUPPORTED] = "unsupported_pattern",
	[FEED_SKIP_MALFORMED] = "malformed",
	[FEED_SKIP_BAD_CSV_ROW] = "bad_csv_row",
	[FEED_SKIP_BAD_VALUE] = "bad_value",
	[FEED_SKIP_NOT_A_DOMAIN] = "not_a_domain",
	[FEED_SKIP_LOCAL_NAME] = "local_name",
	[FEED_SKIP_SPECIAL_USE] = "special_use",
	[FEED_SKIP_DUPLICATE] = "duplicate",
	[FEED_SKIP_REVOKED] = "revoked",
	[FEED_SKIP_EXPIRED] = "expired",
	[FEED_SKIP_NOT_YET_VALID] = "not_yet_valid",
	[FEED_SKIP_NOT_TO_IDS] = "not_to_ids",
	[FEED_SKIP_NO_CATEGORY] = "no_category",
	[FEED_SKIP_NO_CONFIDENCE] = "no_confidence",
	[FEED_SKIP_NO_EXPIRY] = "no_expiry",
	[FEED_SKIP_LINE_TOO_LONG] = "line_too_long",
	[FEED_SKIP_REFUSED] = "refused",
	[FEED_SKIP_WARNINGLISTED] = "warninglisted",
	[FEED_SKIP_UNKNOWN_CATEGORY] = "unknown_category",
	[FEED_SKIP_FALSE_POSITIVE] = "false_positive",
	[FEED_SKIP_OFFLINE] = "offline",
	[FEED_SKIP_UNVERIFIED] = "unverified",
};

const char *feed_skip_name(enum feed_skip r)
{
	return (unsigned)r < FEED_SKIP_COUNT ? skip_names[r] : "?";
}

int feed_lines(const char *buf, size_t len, const struct feed_sink *sink, feed_line_fn fn, void *arg)
{
	size_t line = 0, pos = 0;
	int rv;

	/* a UTF-8 byte-order mark is not part of the first line */
	if (text_bom_len(buf, len))
		pos = 3;
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		/* and not of any other line: files joined by cat(1) each bring
		 * their own (`cat a.txt b.txt | amesh import -'); U+FEFF is no
		 * part of any name or address */
		if (text_bom_len(s, n)) {
			s += 3;
			n -= 3;
		}
		if (n > FEED_LINE_MAX) {
			sink->skip(sink->arg, line, FEED_SKIP_LINE_TOO_LONG, s, n, FEED_LINE_MAX_WHY);
			continue;
		}
		if (memchr(s, '\0', n)) {
			sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, s, n, "NUL byte in the line");
			continue;
		}
		if ((rv = fn(arg, line, s, n)) != 0)
			return rv;
	}
	return 0;
}

size_t feed_unicode_space(const char *s, size_t n, bool end)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 2) {
		const unsigned char *c = end ? u + n - 2 : u;
		if (c[0] == 0xc2 && c[1] == 0xa0)
			return 2;
	}
	if (n < 3)
		return 0;
	const unsigned char *c = end ? u + n - 3 : u;
	if ((c[0] == 0xe2 && c[1] == 0x80 && (c[2] <= 0x8a || c[2] == 0xaf)) || (c[0] == 0xe3 && c[1] == 0x80 && c[2] == 0x80))
		return 3;
	return 0;
}

size_t feed_wildcard(const char *s, size_t n)
{
	if (n > 2 && s[0] == '*' && s[1] == '.' && s[2] != '.')
		return 2;
	if (n > 1 && s[0] == '.' && s[1] != '.')
		return 1;
	return 0;
}

void feed_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

void feed_skip_long_name(const struct feed_sink *sink, size_t line, const char *input, size_t input_len, size_t n)
{
	char why[128];

	snprintf(why, sizeof why, "%zu bytes, longer than any domain name (at most %d are read, %d after conversion)", n,
	         DOMAIN_INPUT_MAX, AM_DOMAIN_MAX);
	sink->skip(sink->arg, line, FEED_SKIP_BAD_NAME, input, input_len, why);
}

int feed_emit(const struct feed_sink *sink, const struct feed_entry *tmpl, const char *name, size_t n)
{
	char copy[DOMAIN_INPUT_MAX + 1];
	struct feed_entry e = *tmpl;

	if (n > DOMAIN_INPUT_MAX) {
		/* refused, never cut: what is left of a name cut short can be
		 * another name (README "Names") */
		feed_skip_long_name(sink, tmpl->line, name, n, n);
		return 0;
	}
	memcpy(copy, name, n);
	copy[n] = '\0';
	e.name = copy;
	if (!e.input) {
		e.input = name;
		e.input_len = n;
	}
	return sink->entry(sink->arg, &e);
}

int feed_flag_word(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0)
		return 1;
	if (strcmp(s, "0") == 0 || strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0)
		return 0;
	return -1;
}

bool feed_is_ip(const char *s, size_t n)
{
	char tmp[64];
	unsigned char addr[16];

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* a zone index (fe80::1%eth0) is still an address */
	char *pct = strchr(tmp, '%');
	if (pct)
		*pct = '\0';
	return inet_pton(AF_INET, tmp, addr) == 1 || inet_pton(AF_INET6, tmp, addr) == 1;
}

/* --- detection --- */

enum { V_PLAIN, V_HOSTS, V_URLS, V_ADBLOCK, V_RPZ, V_DNSMASQ, V_UNBOUND, V_COUNT };

static bool has_token(const char *s, size_t n, const char *tok)
{
	size_t t = strlen(tok);
	for (size_t i = 0; i + t <= n; i++) {
		if ((i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t') && strncasecmp(s + i, tok, t) == 0 &&
		    (i + t == n || s[i + t] == ' ' || s[i + t] == '\t'))
			return true;
	}
	return false;
}

static int classify(const char *s, size_t n)
{
	if (text_bom_len(s, n)) { /* as feed_lines reads it */
		s += 3;
		n -= 3;
	}
	feed_trim(&s, &n);
	if (n == 0)
		return -1;
	if (s[0] == '!' || (s[0] == '[' && n > 8 && strncasecmp(s, "[adblock", 8) == 0))
		return V_ADBLOCK;
	if (s[0] == ';' || s[0] == '$')
		return V_RPZ;
	if (s[0] == '#')
		return -1;
	/* resolver configuration: its option names say so (before the RPZ
	 * test: `local-data: "x NS y"' holds an NS) */
	if (feed_dnsmasq_line(s, n))
		return V_DNSMASQ;
	if (feed_unbound_line(s, n))
		return V_UNBOUND;
	if ((n > 2 && (memcmp(s, "||", 2) == 0 || memcmp(s, "@@", 2) == 0)) || memmem(s, n, "##", 2))
		return V_ADBLOCK;
	if (has_token(s, n, "CNAME") || has_token(s, n, "SOA") || has_token(s, n, "NS"))
		return V_RPZ;
	if (memmem(s, n, "://", 3) || memmem(s, n, ":]//", 4) || memmem(s, n, ":)//", 4) ||
	    feed_url_web_authority(s, n))
		return V_URLS; /* defanged too: hxxps[:]//, http(:)//; http:\\host */
	/* a scheme-relative URL (`//evil.example/x', a page's href), which
	 * the urls reader takes; `// comment' is none */
	if (n > 2 && s[0] == '/' && s[1] == '/' && (isalnum((unsigned char)s[2]) || s[2] == '[' || (unsigned char)s[2] >= 0x80))
		return V_URLS;
	size_t t = 0;
	while (t < n && s[t] != ' ' && s[t] != '\t' && !feed_unicode_space(s + t, n - t, false))
		t++;
	if (t < n && feed_is_ip(s, t))
		return V_HOSTS;
	return V_PLAIN;
}

enum feed_format feed_detect(const char *buf, size_t len)
{
	static const enum feed_format map[V_COUNT] = {FEED_PLAIN, FEED_HOSTS, FEED_URLS, FEED_ADBLOCK, FEED_RPZ,
	                                              FEED_DNSMASQ, FEED_UNBOUND};
	size_t votes[V_COUNT] = {0}, seen = 0, pos = 0, head = len < 65536 ? len : 65536;

	if (text_bom_len(buf, len))
		pos = 3;
	while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t' || buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	/* JSON: `{', or `[' opening an array of values - not `[Adblock Plus 2.0]' */
	size_t q = pos + 1;
	while (q < len && (buf[q] == ' ' || buf[q] == '\t' || buf[q] == '\r' || buf[q] == '\n'))
		q++;
	if (pos < len && (buf[pos] == '{' || (buf[pos] == '[' && (q >= len || buf[q] == '{' || buf[q] == '"' || buf[q] == ']')))) {
		/* MISP events and manifests name their parts; STIX has its own words */
		if (memmem(buf, head, "\"Event\"", 7) || memmem(buf, head, "\"Orgc\"", 6) ||
		    memmem(buf, head, "\"Attribute\"", 11))
			return FEED_MISP;
		/* ThreatFox's and URLhaus's JSON: their CSVs' records, read as
		 * those (URLhaus's dump and API answer name `url_status'), and
		 * PhishTank's (online-valid.json: phish_id, url, verified,
		 * online, ... - its CSV's columns as keys); read as STIX it was
		 * refused as an array of untyped objects */
		if ((memmem(buf, head, "\"ioc_value\"", 11) || memmem(buf, head, "\"url_status\"", 12) ||
		     memmem(buf, head, "\"phish_id\"", 10) || memmem(buf, head, "\"phish_detail_url\"", 18)) &&
		    !memmem(buf, head, "\"pattern\"", 9))
			return FEED_CSV;
		return FEED_STIX;
	}
	if (feed_csv_sniff(buf, len))
		return FEED_CSV;
	while (pos < len && seen < 200) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		if (n > FEED_LINE_MAX)
			continue;
		int v = classify(s, n);
		if (v >= 0) {
			votes[v]++;
			seen++;
		}
	}
	int best = V_PLAIN;
	for (int v = 1; v < V_COUNT; v++)
		if (votes[v] > votes[best])
			best = v;
	return map[best];
}

/* Whether buf is no feed: an archive or compressed file (by its magic
 * number), an HTML page or XML (by their first tag), or bytes with a NUL
 * in their first 8000 (git's and grep's test for binary data; no text
 * feed has one so early). */
static bool binary(const char *buf, size_t len, char *err, size_t errlen)
{
	static const struct {
		const char *magic;
		size_t n;
		const char *what, *cure;
	} kinds[] = {
		{"\x1f\x8b", 2, "gzip-compressed data", "decompress it first (zcat FILE | amesh import - ...)"},
		{"BZh", 3, "bzip2-compressed data", "decompress it first (bzcat FILE | amesh import - ...)"},
		{"\xfd" "7zXZ\0", 6, "xz-compressed data", "decompress it first (xzcat FILE | amesh import - ...)"},
		{"\x28\xb5\x2f\xfd", 4, "zstd-compressed data", "decompress it first (zstdcat FILE | amesh import - ...)"},
		{"PK\x03\x04", 4, "a zip archive", "extract it first (unzip) and import its files"},
		{"7z\xbc\xaf\x27\x1c", 6, "a 7-Zip archive", "extract it first (7z x) and import its files"},
		{"%PDF-", 5, "a PDF document", "import the feed itself"},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (len >= kinds[i].n && memcmp(buf, kinds[i].magic, kinds[i].n) == 0 &&
		    (kinds[i].magic[0] != 'B' || (len > 3 && buf[3] >= '1' && buf[3] <= '9'))) {
			snprintf(err, errlen, "%s, not a text feed: %s", kinds[i].what, kinds[i].cure);
			return true;
		}
	/* a web page where a feed was expected: a server's error or login
	 * page (curl without -f) whose text could hold a name - the feed
	 * host's own - that a line reader would flag; and XML, which no
	 * format here is (STIX 1.x was XML; TAXII 1 served it) */
	size_t p = text_bom_len(buf, len);
	while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\r' || buf[p] == '\n'))
		p++;
	static const char *const html[] = {"<!doctype html", "<html", "<head", "<body", "<!--"};
	for (size_t i = 0; i < sizeof html / sizeof *html; i++)
		if (len - p >= strlen(html[i]) && strncasecmp(buf + p, html[i], strlen(html[i])) == 0) {
			snprintf(err, errlen, "an HTML page, not a feed (most often a web server's error or login page "
			         "saved in its place: fetch with curl -f)");
			return true;
		}
	if (len - p >= 5 && memcmp(buf + p, "<?xml", 5) == 0) {
		snprintf(err, errlen, "XML, not a feed read here (STIX 1.x is XML: only STIX 2.1 JSON is read)");
		return true;
	}
	const char *nul = memchr(buf, '\0', len < 8000 ? len : 8000);
	if (nul) {
		snprintf(err, errlen, "binary data, not a text feed (a NUL byte at offset %zu; UTF-16 text without "
		         "a byte-order mark looks so too: iconv -f UTF-16 -t UTF-8)", (size_t)(nul - buf));
		return true;
	}
	return false;
}

int feed_parse(enum feed_format fmt, const char *buf, size_t len, const struct feed_sink *sink,
               char *err, size_t errlen)
{
	if (len > FEED_INPUT_MAX) {
		snprintf(err, errlen, "%zu bytes: larger than the %u-byte limit for one feed file", len,
		         FEED_INPUT_MAX);
		return AM_ETOOBIG;
	}
	/* Windows editors save "Unicode" text as UTF-16: every line would be
	 * refused for its NUL bytes, one by one, and nothing imported. Said
	 * once, with the cure, for the whole file. */
	if (len >= 2 && ((memcmp(buf, "\xff\xfe", 2) == 0 || memcmp(buf, "\xfe\xff", 2) == 0))) {
		snprintf(err, errlen, "UTF-16 text (it starts with the byte-order mark %02X %02X): convert it to UTF-8 "
		         "first (iconv -f UTF-16 -t UTF-8)", (unsigned char)buf[0], (unsigned char)buf[1]);
		return AM_EDECODE;
	}
	/* A compressed or binary file read as lines would be refused line by
	 * line as names of garbage: said once, with the cure. */
	if (binary(buf, len, err, errlen))
		return AM_EDECODE;
	if (fmt == FEED_AUTO)
		fmt = feed_detect(buf, len);
	switch (fmt) {
	case FEED_PLAIN: return feed_plain_parse(buf, len, sink);
	case FEED_HOSTS: return feed_hosts_parse(buf, len, sink);
	case FEED_URLS: return feed_urls_parse(buf, len, sink);
	case FEED_ADBLOCK: return feed_adblock_parse(buf, len, sink);
	case FEED_RPZ: return feed_rpz_parse(buf, len, sink);
	case FEED_CSV: return feed_csv_parse_any(buf, len, sink, err, errlen);
	case FEED_STIX: return feed_stix_parse(buf, len, sink, err, errlen);
	case FEED_MISP: return feed_misp_parse(buf, len, sink, err, errlen);
	case FEED_DNSMASQ: return feed_dnsmasq_parse(buf, len, sink);
	case FEED_UNBOUND: return feed_unbound_parse(buf, len, sink);
	default:
		snprintf(err, errlen, "unknown feed format %d", (int)fmt);
		return AM_EINVAL;
	}
}

void feed_where(const struct feed_sink *sink, const char *w)
{
	if (sink->where)
		sink->where(sink->arg, w);
}

int feed_json_load(const char *buf, size_t len, json_t **root, char *err, size_t errlen)
{
	json_error_t je;

	*root = NULL;
	if (!feed_json_depth_ok(buf, len, FEED_JSON_DEPTH)) {
		snprintf(err, errlen, "JSON nested deeper than %d levels", FEED_JSON_DEPTH);
		return AM_EDECODE;
	}
	if ((*root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je)) == NULL) {
		snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
		return AM_EDECODE;
	}
	return 0;
}

bool feed_json_warninglist(const json_t *root, char *err, size_t errlen)
{
	const char *name = feed_json_str(json_object_get(root, "name"));
	const char *type = feed_json_str(json_object_get(root, "type"));

	if (!json_is_object(root) || !json_is_array(json_object_get(root, "list")) || !name || !type ||
	    json_object_get(root, "Event") || json_object_get(root, "objects"))
		return false;
	snprintf(err, errlen, "a MISP warninglist (`%.60s', type `%.20s'): names known to be good, not abusive "
	         "ones - name it in the config's `allowlist =', never import it", name, type);
	return true;
}

bool feed_json_name_list(const json_t *root, char *err, size_t errlen)
{
	size_t i, n = json_array_size(root);
	json_t *v;
	char first[2][TEXT_QUOTE_LEN(24)] = {"", ""};

	if (!json_is_array(root) || n == 0)
		return false;
	json_array_foreach(root, i, v) {
		if (!json_is_string(v))
			return false;
		if (i < 2)
			text_quote(first[i], sizeof first[i], json_string_value(v), json_string_length(v), 24);
	}
	/* short: the importer puts the path before it in one AM_ERRLEN line */
	snprintf(err, errlen,
	         "a JSON array of %zu string%s (%s%s%s%s), not STIX or MISP: import bare names one a line "
	         "(jq -r '.[]' FILE | amesh import - --format plain ...)",
	         n, n == 1 ? "" : "s", first[0], n > 1 ? ", " : "", first[1], n > 2 ? ", ..." : "");
	return true;
}

const char *feed_json_str(const json_t *v)
{
	const char *s = json_string_value(v);
	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

const char *feed_json_quote(const json_t *v, char *buf, size_t cap, size_t *len)
{
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	/* compact, cut at cap: a quote, not the whole value */
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	*len = 0;
	if (text) {
		*len = strlen(text) < cap ? strlen(text) : cap;
		memcpy(buf, text, *len);
		free(text);
	}
	return buf;
}

/* Whether the string at buf[off] is the value of "key": `"key"', blanks,
 * `:', blanks before it. */
static bool value_of_key(const char *buf, size_t off, const char *key)
{
	size_t kl = strlen(key), i = off;
	while (i > 0 && strchr(" \t\r\n", buf[i - 1]))
		i--;
	if (i == 0 || buf[--i] != ':')
		return false;
	while (i > 0 && strchr(" \t\r\n", buf[i - 1]))
		i--;
	return i >= kl + 2 && buf[i - 1] == '"' && buf[i - kl - 2] == '"' && memcmp(buf + i - kl - 1, key, kl) == 0;
}

/* The first occurrence of needle in buf[from, to) that is key's value
 * (any, when key is NULL), or NULL. */
static const char *find_value(const char *buf, size_t from, size_t to, const char *needle, size_t n, const char *key)
{
	while (from < to) {
		const char *hit = memmem(buf + from, to - from, needle, n);
		if (!hit || !key || value_of_key(buf, (size_t)(hit - buf), key))
			return hit;
		from = (size_t)(hit - buf) + 1;
	}
	return NULL;
}

size_t feed_json_line_of(struct feed_json_lines *l, const char *key, const char *value)
{
	char needle[160];
	int n = snprintf(needle, sizeof needle, "\"%s\"", value ? value : "");
	const char *hit = NULL;

	if (!value || n <= 2 || (size_t)n >= sizeof needle)
		return 0;
	if (l->last_off < l->len)
		hit = find_value(l->buf, l->last_off, l->len, needle, (size_t)n, key);
	if (!hit)
		hit = find_value(l->buf, 0, l->len, needle, (size_t)n, key);
	if (!hit)
		return 0;
	l->last_off = (size_t)(hit - l->buf);
	return feed_line_at(l->buf, l->last_off, &l->scan_off, &l->scan_line);
}

void feed_tlp_raise(enum am_tlp *cur, enum am_tlp x)
{
	if (x <= AM_TLP_NONE || x >= AM_TLP_COUNT)
		x = AM_TLP_RED;
	if (x > *cur)
		*cur = x;
}

bool feed_json_depth_ok(const char *buf, size_t len, int max)
{
	int depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				return false;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return true;
}

size_t feed_line_at(const char *buf, size_t off, size_t *from_off, size_t *from_line)
{
	if (off < *from_off) {
		*from_off = 0;
		*from_line = 1;
	}
	for (size_t i = *from_off; i < off; i++)
		*from_line += buf[i] == '\n';
	*from_off = off;
	return *from_line;
}

int feed_catmap_add(struct feed_catmap *m, const char *spec, char *err, size_t errlen)
{
	char q[TEXT_QUOTE_LEN(80)];
	const char *eq = strrchr(spec, '='); /* the last: a category has none, a word may */
	enum am_category cat;

	text_quote(q, sizeof q, spec, strlen(spec), 80);
	if (!eq) {
		snprintf(err, errlen, "%s is not WORD=CATEGORY (a feed's word, `=', one of ours: phishing, malware, "
		         "botnet, pharming, spam)", q);
		return AM_EINVAL;
	}
	const char *w = spec, *c = eq + 1;
	size_t wn = (size_t)(eq - spec), cn = strlen(c);
	feed_trim(&w, &wn);
	feed_trim(&c, &cn);
	char cat_s[16];
	if (cn == 0 || cn >= sizeof cat_s || (snprintf(cat_s, sizeof cat_s, "%.*s", (int)cn, c), am_category_parse(cat_s, &cat) != 0)) {
		snprintf(err, errlen, "%s: the category after `=' must be one of ours (phishing, malware, botnet, "
		         "pharming, spam)", q);
		return AM_EINVAL;
	}
	if (wn == 0 || wn > FEED_CATWORD_MAX) {
		snprintf(err, errlen, "%s: the feed's word before `=' must be 1 to %d bytes", q, FEED_CATWORD_MAX);
		return AM_EINVAL;
	}
	for (size_t i = 0; i < wn; i++)
		if ((unsigned char)w[i] < 0x20 || w[i] == 0x7f) {
			snprintf(err, errlen, "%s: a control character in the feed's word", q);
			return AM_EINVAL;
		}
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->map[i].word) == wn && strncasecmp(m->map[i].word, w, wn) == 0) {
			if (m->map[i].category == cat)
				return 0;
			snprintf(err, errlen, "%s: `%s' is already mapped to %s", q, m->map[i].word,
			         am_category_name(m->map[i].category));
			return AM_EINVAL;
		}
	if (m->n == FEED_CATMAP_MAX) {
		snprintf(err, errlen, "%s: more than %d category words mapped", q, FEED_CATMAP_MAX);
		return AM_EINVAL;
	}
	snprintf(m->map[m->n].word, sizeof m->map[m->n].word, "%.*s", (int)wn, w);
	m->map[m->n++].category = cat;
	return 0;
}

enum am_category feed_category_of(const struct feed_sink *sink, const char *s)
{
	const struct feed_catmap *m = sink ? sink->catmap : NULL;
	for (size_t i = 0; s && m && i < m->n; i++)
		if (strcasecmp(s, m->map[i].word) == 0)
			return m->map[i].category;
	for (int k = AM_CAT_NONE + 1; s && k < AM_CAT_COUNT; k++)
		if (strcasecmp(s, am_category_name((enum am_category)k)) == 0)
			return (enum am_category)k;
	if (s && strcasecmp(s, "botnet_cc") == 0)
		return AM_CAT_BOTNET;
	if (s && (strcasecmp(s, "payload_delivery") == 0 || strcasecmp(s, "malware_download") == 0))
		return AM_CAT_MALWARE;
	return AM_CAT_NONE;
}

bool feed_category_neutral(const char *s)
{
	static const char *const words[] = {
		/* MISP's attribute categories */
		"Internal reference", "Targeting data", "Antivirus detection", "Payload delivery",
		"Artifacts dropped", "Payload installation", "Persistence mechanism", "Network activity",
		"Payload type", "Attribution", "External analysis", "Financial fraud", "Support Tool",
		"Social network", "Person", "Other",
		/* STIX indicator-type-ov (STIX 2.0 put them in labels) */
		"anomalous-activity", "anonymization", "benign", "compromised", "malicious-activity",
		"unknown",
	};
	if (!s)
		return false;
	if (strncasecmp(s, "tlp:", 4) == 0)
		return true;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	return false;
}

void feed_skip_unknown_category(const struct feed_sink *sink, size_t line, const char *input, size_t input_len,
                                const char *where, const char *word)
{
	char q[TEXT_QUOTE_LEN(40)], why[2 * TEXT_QUOTE_LEN(40) + 320];

	text_quote(q, sizeof q, word, strlen(word), 40);
	/* the cure, ready to paste when the word needs no shell quoting */
	bool plain = strlen(word) <= 40;
	for (const char *p = word; plain && *p; p++)
		plain = isalnum((unsigned char)*p) || strchr("_-.:/+", *p);
	snprintf(why, sizeof why,
	         "%s names the category %s, none of ours (phishing, malware, botnet, pharming, spam; abuse.ch's "
	         "botnet_cc, payload_delivery, malware_download): not taken as the command line's; if it means "
	         "one of ours, say which: --category-map %s%s=CATEGORY%s",
	         where, q, plain ? "" : "'", plain ? word : "WORD", plain ? "" : "' (the word as written)");
	sink->skip(sink->arg, line, FEED_SKIP_UNKNOWN_CATEGORY, input, input_len, why);
}

bool feed_cr_lines(char *buf, size_t len)
{
	if (len == 0 || memchr(buf, '\n', len) || !memchr(buf, '\r', len))
		return false;
	for (char *p = buf; (p = memchr(p, '\r', len - (size_t)(p - buf))) != NULL;)
		*p++ = '\n';
	return true;
}

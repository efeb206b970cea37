/* feed_csv.c - CSV feeds: columns by header name in, RFC 4180 out. */
#include "feed_csv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feed_urls.h"
#include "text.h"
#include "timefmt.h"

#define RECORD_MAX (4 * FEED_LINE_MAX) /* 32768: the skip report says so */

enum col { COL_NAME, COL_URL, COL_IOC, COL_TYPE, COL_CATEGORY, COL_THREAT, COL_CONFIDENCE, COL_EXPIRES, COL_TLP,
           COL_TO_IDS, COL_OBJECT_NAME, COL_STATUS, COL_ONLINE, COL_VERIFIED, COL_SUBDOMAINS,
           COL_COUNT };

static const struct {
	const char *name;
	enum col col;
} known[] = {
	{"domain", COL_NAME},           {"hostname", COL_NAME},   {"host", COL_NAME},
	{"fqdn", COL_NAME},             {"name", COL_NAME},       {"url", COL_URL},
	{"domain_name", COL_NAME},
	{"ioc_value", COL_IOC},         {"ioc", COL_IOC},         {"indicator", COL_IOC},
	{"value", COL_IOC},             {"ioc_type", COL_TYPE},   {"type", COL_TYPE},
	{"indicator_type", COL_TYPE},   {"category", COL_CATEGORY}, {"threat_type", COL_THREAT},
	{"threat", COL_THREAT},         {"confidence", COL_CONFIDENCE}, {"confidence_level", COL_CONFIDENCE},
	{"expires", COL_EXPIRES},       {"expires_at", COL_EXPIRES}, {"valid_until", COL_EXPIRES},
	{"tlp", COL_TLP},               {"tlp_level", COL_TLP},
	{"to_ids", COL_TO_IDS},         {"object_name", COL_OBJECT_NAME},
	{"url_status", COL_STATUS},     {"online", COL_ONLINE},
	{"verified", COL_VERIFIED},     {"include_subdomains", COL_SUBDOMAINS},
};

struct record {
	char *buf;                       /* unescaped field text, NUL-separated */
	size_t used;
	size_t off[FEED_CSV_FIELDS_MAX];
	size_t n;
	size_t first_line_len;           /* bytes of the first line, to quote */
};

/* Parses one record at *pos (may span lines inside quotes). Returns 0, or
 * -1 with *why set; *pos and *line move past the record either way. */
static int parse_record(const char *s, size_t len, size_t *pos, size_t *line, struct record *r, const char **why,
                        char sep)
{
	size_t i = *pos, line0 = *line;
	int rv = 0;

	r->used = 0;
	r->n = 0;
	{
		const char *nl = memchr(s + i, '\n', len - i);
		r->first_line_len = (nl ? (size_t)(nl - s) : len) - i;
		if (r->first_line_len && s[i + r->first_line_len - 1] == '\r')
			r->first_line_len--;
	}
	for (;;) {
		while (i < len && (s[i] == ' ' || (s[i] == '\t' && sep != '\t')))
			i++;
		if (r->n == FEED_CSV_FIELDS_MAX) {
			*why = "more fields than this reader takes";
			rv = -1;
			goto resync;
		}
		r->off[r->n++] = r->used;
		if (i < len && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len) {
					/* Read to the end for a closing quote that never came:
					 * the stray quote costs its own line, not every line
					 * after it. Go on from the next line. */
					*why = "a quoted field never closed (the lines after it are read on their own)";
					rv = -1;
					*line = line0;
					const char *nl = memchr(s + *pos, '\n', len - *pos);
					i = nl ? (size_t)(nl - s) : len;
					goto out;
				}
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						r->buf[r->used++] = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				if (s[i] == '\n')
					(*line)++;
				if (r->used + 2 >= RECORD_MAX) {
					*why = "a record longer than this reader takes";
					rv = -1;
					goto resync;
				}
				r->buf[r->used++] = s[i++];
			}
			while (i < len && (s[i] == ' ' || (s[i] == '\t' && sep != '\t')))
				i++;
			if (i < len && s[i] != sep && s[i] != '\r' && s[i] != '\n') {
				*why = *line == line0 ? "text after a closing quote"
				                      : "a quote closed on a later line with text after it: a stray quote (the "
				                        "lines after it are read on their own)";
				rv = -1;
				goto resync;
			}
		} else {
			while (i < len && s[i] != sep && s[i] != '\r' && s[i] != '\n') {
				if (r->used + 2 >= RECORD_MAX) {
					*why = "a record longer than this reader takes";
					rv = -1;
					goto resync;
				}
				r->buf[r->used++] = s[i++];
			}
		}
		r->buf[r->used++] = '\0';
		if (i < len && s[i] == sep) {
			i++;
			continue;
		}
		break;
	}
resync:
	/* A record that went bad after a quoted field took in a line break
	 * (a stray quote closed by the next row's first quote, then `text
	 * after a closing quote') ends with its first line, as one whose
	 * quote never closed does: the lines it took in are read on their
	 * own, each kept or reported, never swallowed unnamed with it. */
	if (rv != 0 && *line != line0) {
		*line = line0;
		const char *nl = memchr(s + *pos, '\n', len - *pos);
		i = nl ? (size_t)(nl - s) : len;
		goto out;
	}
	/* to the end of the (current) line */
	while (i < len && s[i] != '\n')
		i++;
out:
	if (i < len && s[i] == '\n') {
		i++;
		(*line)++;
	}
	*pos = i;
	return rv;
}

static const char *field(const struct record *r, size_t k)
{
	return r->buf + r->off[k];
}

/* A header field names a column however it is spelt: case, and ` ' or
 * `-' for `_' (OTX's "Indicator type", a spreadsheet's "Domain Name"). */
static bool header_is(const char *f, size_t fl, const char *name)
{
	if (strlen(name) != fl)
		return false;
	for (size_t i = 0; i < fl; i++) {
		char c = (char)tolower((unsigned char)f[i]);
		if (c == ' ' || c == '-')
			c = '_';
		if (c != name[i])
			return false;
	}
	return true;
}

/* A header field's name: without the blanks and `#' before it and the
 * blanks after it; *fl its length. */
static const char *header_name(const char *f, size_t *fl)
{
	while (*f == ' ' || *f == '#')
		f++;
	size_t n = strlen(f);
	while (n && f[n - 1] == ' ')
		n--;
	*fl = n;
	return f;
}

/* Whether the header field f names a column this reader takes (as
 * map_header reads it). */
static bool known_column(const char *f)
{
	size_t fl;
	f = header_name(f, &fl);
	for (size_t j = 0; j < sizeof known / sizeof *known; j++)
		if (header_is(f, fl, known[j].name))
			return true;
	return false;
}

/* Maps header fields to columns; returns true if a value column is there. */
static bool map_header(const struct record *r, int cols[COL_COUNT])
{
	for (int c = 0; c < COL_COUNT; c++)
		cols[c] = -1;
	for (size_t k = 0; k < r->n; k++) {
		size_t fl;
		const char *f = header_name(field(r, k), &fl);
		for (size_t j = 0; j < sizeof known / sizeof *known; j++)
			if (header_is(f, fl, known[j].name) && cols[known[j].col] < 0)
				cols[known[j].col] = (int)k;
	}
	return cols[COL_NAME] >= 0 || cols[COL_URL] >= 0 || cols[COL_IOC] >= 0;
}

/* Length of column c's value, trimmed; 0 when absent. */
static size_t value_len(const struct record *r, const int cols[COL_COUNT], enum col c)
{
	if (cols[c] < 0 || (size_t)cols[c] >= r->n)
		return 0;
	const char *f = field(r, (size_t)cols[c]);
	size_t n = strlen(f);
	feed_trim(&f, &n);
	return n;
}

/* The header name a column was found by, for messages. */
static const char *col_name(enum col c)
{
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (known[i].col == c)
			return known[i].name;
	return "?";
}

/* Trimmed value of column c, "" when absent, empty or `None'. The caller
 * has checked that it fits (value_len < cap): a value is never cut. */
static const char *value(const struct record *r, const int cols[COL_COUNT], enum col c, char *tmp, size_t cap)
{
	if (cols[c] < 0 || (size_t)cols[c] >= r->n)
		return "";
	const char *f = field(r, (size_t)cols[c]);
	size_t n = strlen(f);
	feed_trim(&f, &n);
	if (n >= cap)
		return "";
	memcpy(tmp, f, n);
	tmp[n] = '\0';
	return strcmp(tmp, "None") == 0 ? "" : tmp;
}

/* RFC 3339, or the same without a zone (then UTC): "2026-12-01 10:00:00". */
static int parse_time(const char *s, uint64_t *out)
{
	char tmp[64];
	if (timefmt_parse_rfc3339(s, out) == 0)
		return 0;
	if (strlen(s) + 2 > sizeof tmp)
		return -1;
	snprintf(tmp, sizeof tmp, "%sZ", s);
	return timefmt_parse_rfc3339(tmp, out) == 0 ? 0 : -1;
}

/* Whether the indicator type t is one of words (lower case, without
 * separators), read as a header is: case, and ` ', `-' or `_', do not
 * matter. Each tool spells the type its own way - MISP and OTX `domain',
 * OpenCTI `Domain-Name', Microsoft's TI `DomainName', Recorded Future
 * `InternetDomainName', ThreatConnect `Host' - and those rows were
 * refused as of a type that is no domain. */
static bool type_is(const char *t, const char *const *words)
{
	char w[40];
	size_t n = 0;
	for (; *t; t++) {
		if (*t == ' ' || *t == '-' || *t == '_')
			continue;
		if (n + 1 == sizeof w)
			return false;
		w[n++] = (char)tolower((unsigned char)*t);
	}
	w[n] = '\0';
	for (; *words; words++)
		if (strcmp(w, *words) == 0)
			return true;
	return false;
}

static const char *const name_types[] = {"domain", "hostname", "fqdn", "domainname", "internetdomainname", "host",
                                         NULL};
static const char *const url_types[] = {"url", NULL};

/* One row, or one JSON record (json): whose fields are keys, not columns,
 * and which is a record, not a row, in what is said of it. */
static int data_row(const struct feed_sink *sink, const struct record *r, const int cols[COL_COUNT],
                    size_t header_n, size_t line, const char *input, size_t input_len, bool json)
{
	const char *field_word = json ? "key" : "column", *rows = json ? "records" : "rows";
	char v[FEED_LINE_MAX], u[FEED_LINE_MAX], tv[64], cv[64], host[FEED_HOST_MAX + 1];
	struct feed_entry e = {.line = line, .confidence = -1, .input = input, .input_len = input_len};
	bool url = false, url_part = false;

	if (r->n != header_n) {
		char why[96];
		snprintf(why, sizeof why, "%zu field%s where the header has %zu", r->n, r->n == 1 ? "" : "s", header_n);
		sink->skip(sink->arg, line, FEED_SKIP_BAD_CSV_ROW, input, input_len, why);
		return 0;
	}
	/* Refused, never cut: a value cut to its buffer can read as another
	 * (a name, a time, a level). The value columns (name, url, ioc) go
	 * to v, the others to tv and cv. */
	for (int c = 0; c < COL_COUNT; c++) {
		size_t cap = c == COL_NAME || c == COL_URL || c == COL_IOC ? sizeof v : sizeof tv, n = value_len(r, cols, c);
		if (n >= cap) {
			char why[128];
			snprintf(why, sizeof why, "the `%s' %s holds %zu bytes, over the %zu this reader takes",
			         col_name((enum col)c), field_word, n, cap - 1);
			sink->skip(sink->arg, line, FEED_SKIP_BAD_VALUE, input, input_len, why);
			return 0;
		}
	}
	/* the name, by the best column there is */
	if (cols[COL_NAME] >= 0 && *value(r, cols, COL_NAME, v, sizeof v)) {
		/* a name column; beside a URL (URLhaus's API gives its `host',
		 * OpenPhish's its `host') it is that URL's host, judged as one
		 * (a file on github.com flags no github.com) */
		if (value_len(r, cols, COL_URL) > 0) {
			url_part = true;
			/* and it must be: a `domain' beside a phishing URL may
			 * name the brand it imitates (the victim), never what
			 * the URL says is abusive (the importer checks) */
			e.beside_url = value(r, cols, COL_URL, u, sizeof u);
		}
	} else if (cols[COL_URL] >= 0 && *value(r, cols, COL_URL, v, sizeof v)) {
		url = true;
	} else if (cols[COL_IOC] >= 0 && *value(r, cols, COL_IOC, v, sizeof v)) {
		const char *type = value(r, cols, COL_TYPE, tv, sizeof tv);
		/* an untyped indicator column (`indicator,description') mixes
		 * names and URLs: one with a scheme is a URL, its host the name
		 * (it was refused for its `:' as a bad name) */
		if (type_is(type, url_types) ||
		    (!*type && (strstr(v, "://") || strstr(v, ":]//") || strstr(v, ":)//") || /* hxxps[:]// too */
		                feed_url_web_authority(v, strlen(v)))))
			url = true;
		else if (strcasecmp(type, "domain|ip") == 0 || strcasecmp(type, "hostname|port") == 0) {
			/* MISP's CSV export of its composite types: the name comes
			 * first, as a MISP event's attribute of the type gives it */
			char *bar = strchr(v, '|');
			if (bar)
				*bar = '\0';
		} else if (*type && !type_is(type, name_types)) {
			char why[96];
			snprintf(why, sizeof why, "an indicator of type `%.40s'", type);
			sink->skip(sink->arg, line, FEED_SKIP_NOT_A_DOMAIN, input, input_len, why);
			return 0;
		}
	} else {
		if (json)
			sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, input, input_len,
			           "its domain, hostname, url or ioc_value key is empty");
		else
			sink->skip(sink->arg, line, FEED_SKIP_BAD_CSV_ROW, input, input_len, "the value column is empty");
		return 0;
	}
	/* MISP's CSV export says which values are meant for detection, as its
	 * events do: one that is not is context (a victim's site, a sandbox's
	 * resolver), never a flag - read alike in both forms */
	const char *ids = value(r, cols, COL_TO_IDS, cv, sizeof cv);
	if (*ids) {
		int flag = feed_flag_word(ids);
		if (flag == 0) {
			sink->skip(sink->arg, line, FEED_SKIP_NOT_TO_IDS, input, input_len, NULL);
			return 0;
		}
		if (flag < 0) {
			char why[160];
			snprintf(why, sizeof why, "to_ids `%.40s' is neither true nor false (1/0, true/false, yes/no)", ids);
			sink->skip(sink->arg, line, FEED_SKIP_BAD_VALUE, input, input_len, why);
			return 0;
		}
	}
	/* Our own export's column: a flag here always covers the name's
	 * subdomains (RPZ NAME and *.NAME), so a row that says "the name
	 * alone" cannot be taken as written, and taking it wider would block
	 * names its source never flagged */
	const char *subs = value(r, cols, COL_SUBDOMAINS, cv, sizeof cv);
	if (*subs) {
		int flag = feed_flag_word(subs);
		if (flag <= 0) {
			char why[200];
			if (flag == 0)
				snprintf(why, sizeof why, "include_subdomains `%.40s': a flag here always covers the "
				         "name's subdomains too, so a name meant alone is not flagged", subs);
			else
				snprintf(why, sizeof why, "include_subdomains `%.40s' is neither true nor false "
				         "(1/0, true/false, yes/no)", subs);
			sink->skip(sink->arg, line, flag == 0 ? FEED_SKIP_UNSUPPORTED : FEED_SKIP_BAD_VALUE, input,
			           input_len, why);
			return 0;
		}
	}
	/* URLhaus marks a URL `offline' once its payload is gone: the host
	 * was often a compromised site, cleaned since, and a flag on it for
	 * the indicator's lifetime would outlast the abuse it reports.
	 * Skipped, counted and named, unless the operator asks for them;
	 * `online' and `unknown' are read as before. PhishTank says the same
	 * of a phishing page in its `online' column (`no'). */
	const char *status = value(r, cols, COL_STATUS, cv, sizeof cv);
	if (!sink->include_offline && strcasecmp(status, "offline") == 0) {
		char why[160];
		snprintf(why, sizeof why, "url_status `%s': the payload is gone, the site may be cleaned; "
		         "--include-offline imports such %s", status, rows);
		sink->skip(sink->arg, line, FEED_SKIP_OFFLINE, input, input_len, why);
		return 0;
	}
	const char *online = value(r, cols, COL_ONLINE, cv, sizeof cv);
	if (!sink->include_offline && feed_flag_word(online) == 0) {
		char why[160];
		snprintf(why, sizeof why, "online `%s': the page is gone, the site may be cleaned; --include-offline "
		         "imports such %s", online, rows);
		sink->skip(sink->arg, line, FEED_SKIP_OFFLINE, input, input_len, why);
		return 0;
	}
	/* PhishTank takes anyone's submission and says `verified' `no' until
	 * its community has voted on it: a report nobody confirmed, which at
	 * the operator's --confidence would weigh as one that was. Skipped,
	 * counted and named, unless the operator asks for them. Only its
	 * `no' (false, 0: a JSON record's boolean reads as 0): another word
	 * (`yes', empty) is read as before. */
	const char *verified = value(r, cols, COL_VERIFIED, cv, sizeof cv);
	if (!sink->include_unverified && feed_flag_word(verified) == 0) {
		char why[160];
		snprintf(why, sizeof why, "verified `%s': a PhishTank submission nobody has confirmed; "
		         "--include-unverified imports such %s", verified, rows);
		sink->skip(sink->arg, line, FEED_SKIP_UNVERIFIED, input, input_len, why);
		return 0;
	}
	/* MISP's CSV export names each value's object: the host and domain
	 * of a `url' object are parts of its URL, judged as its host is (a
	 * form on docs.google.com flags neither docs.google.com nor
	 * google.com), as in a MISP event */
	if (strcmp(value(r, cols, COL_OBJECT_NAME, cv, sizeof cv), "url") == 0)
		url_part = true;
	enum col cat_col = COL_CATEGORY;
	const char *cat = value(r, cols, COL_CATEGORY, cv, sizeof cv);
	if (!*cat)
		cat = value(r, cols, cat_col = COL_THREAT, cv, sizeof cv);
	e.category = *cat ? feed_category_of(sink, cat) : AM_CAT_NONE;
	/* A word we cannot read (`phish', ThreatFox's `cc_skimming') is the
	 * feed's statement of a category: the command line's in its place
	 * would put the name in a zone the feed never meant. MISP's own data
	 * categories (`Network activity') say no abuse kind at all. */
	if (*cat && e.category == AM_CAT_NONE && !feed_category_neutral(cat)) {
		char where[64];
		snprintf(where, sizeof where, "the `%s' %s", col_name(cat_col), field_word);
		feed_skip_unknown_category(sink, line, input, input_len, where, cat);
		return 0;
	}
	const char *conf = value(r, cols, COL_CONFIDENCE, cv, sizeof cv);
	if (*conf) {
		char *end;
		long c = strtol(conf, &end, 10);
		if (*end || c < 0 || c > 100 || !isdigit((unsigned char)conf[0])) {
			sink->skip(sink->arg, line, FEED_SKIP_BAD_VALUE, input, input_len,
			           "confidence is not an integer from 0 to 100");
			return 0;
		}
		e.confidence = (int)c;
	}
	const char *exp = value(r, cols, COL_EXPIRES, tv, sizeof tv);
	if (*exp && parse_time(exp, &e.expires_at) != 0) {
		sink->skip(sink->arg, line, FEED_SKIP_BAD_VALUE, input, input_len, "the expiry is not an RFC 3339 time");
		return 0;
	}
	/* The sharing level: our own export writes it; a level we cannot read
	 * is taken as red, never as the command line's (less restrictive) one. */
	const char *tlp = value(r, cols, COL_TLP, tv, sizeof tv);
	if (*tlp && am_tlp_parse(tlp, &e.tlp) != 0)
		e.tlp = AM_TLP_RED;
	if (url) {
		bool path;
		const char *why;
		if (feed_url_host(v, strlen(v), host, &path, &why) != 0) {
			sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, input, input_len, why);
			return 0;
		}
		e.from_url = true;
		return feed_emit(sink, &e, host, strlen(host));
	}
	e.from_url = url_part;
	return feed_emit(sink, &e, v, strlen(v));
}

struct csv_state {
	struct record rec;
	int cols[COL_COUNT];
	size_t header_n;
	bool have_header;
	char sep; /* `,', or the `;' of a European spreadsheet or a TSV's tab (see try_header) */
	char forced; /* the separator a `sep=X' first line names, or 0 (see excel_sep) */
};

/* Excel's separator hint: a first line `sep=;' (or `sep=,', `sep=|', a tab)
 * names the separator of the rows below, and Excel reads past it; CSV
 * exports meant for Excel (SIEMs, PHP and PowerShell scripts) write it.
 * Read as the header, it hid the real one on the next line: the file was
 * taken for a plain list and every row refused as a bad name. Returns
 * the separator, or 0; *n is the line's length with its line end. */
static char excel_sep(const char *s, size_t len, size_t *n)
{
	const char *nl = memchr(s, '\n', len);
	size_t ll = nl ? (size_t)(nl - s) : len;
	*n = nl ? ll + 1 : ll;
	if (ll && s[ll - 1] == '\r')
		ll--;
	if (ll != 5 || strncasecmp(s, "sep=", 4) != 0 || s[4] == '"' || s[4] == ' ' ||
	    (!isprint((unsigned char)s[4]) && s[4] != '\t'))
		return 0;
	return s[4];
}

/* Reads the record at *pos (len: where it must end) as a header: split at
 * `,'; or, in a line with no comma, at `;' or tabs - at least two fields,
 * the first neither empty (`; domain' is a zone file's comment) nor an
 * address (a hosts line `0.0.0.0<TAB>host' is no header).
 * On success the state takes its columns and separator and *pos, *line
 * move past it; otherwise they move past the comma reading, whose *bad
 * and *why the caller reports. */
static bool try_header(const char *s, size_t len, size_t *pos, size_t *line, struct csv_state *st, int *bad,
                       const char **why)
{
	static const char seps[] = {';', '\t', ','};
	const char *nl = memchr(s + *pos, '\n', len - *pos);
	size_t p0 = *pos, l0 = *line, ll = (nl ? (size_t)(nl - s) : len) - p0;
	int cols[COL_COUNT];

	for (size_t k = st->forced ? sizeof seps - 1 : 0; k < sizeof seps; k++) {
		/* with a `sep=' line, its separator and no other */
		char sep = st->forced ? st->forced : seps[k];
		if (!st->forced && sep != ',' && (memchr(s + p0, ',', ll) || !memchr(s + p0, sep, ll)))
			continue;
		*pos = p0;
		*line = l0;
		*bad = parse_record(s, len, pos, line, &st->rec, why, sep);
		if (*bad || !map_header(&st->rec, cols))
			continue;
		if (!st->forced && sep != ',' && (st->rec.n < 2 || !*field(&st->rec, 0) ||
		                   feed_is_ip(field(&st->rec, 0), strlen(field(&st->rec, 0)))))
			continue;
		memcpy(st->cols, cols, sizeof cols);
		st->header_n = st->rec.n;
		st->have_header = true;
		st->sep = sep;
		return true;
	}
	return false; /* the comma reading, last, is what *pos, *bad and *why say */
}

/* Reads the buffer; with sink NULL only looks for a header (sniffing). */
static int run(const char *s, size_t len, const struct feed_sink *sink, bool *found)
{
	struct csv_state st = {.have_header = false, .sep = ','};
	size_t pos = 0, line = 1, data_rows = 0;
	bool sniff_match = false;
	int rv = 0;

	if ((st.rec.buf = malloc(RECORD_MAX)) == NULL)
		return AM_ENOMEM;
	if (text_bom_len(s, len))
		pos = 3;
	size_t hint;
	if ((st.forced = excel_sep(s + pos, len - pos, &hint)) != 0) {
		pos += hint;
		line++;
	}
	while (pos < len && rv == 0) {
		size_t start = pos, start_line = line, k = pos;
		const char *why;
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t ll = (nl ? (size_t)(nl - s) : len) - pos;
		while (k < len && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k >= len || s[k] == '\n' || s[k] == '\r' || s[k] == '#') {
			bool comment = k < len && s[k] == '#';
			pos = nl ? (size_t)(nl - s) + 1 : len;
			line++;
			if (comment && data_rows == 0 && ll <= FEED_LINE_MAX) {
				/* a header in a comment: parse what follows the `#' */
				size_t p2 = k + 1, l2 = 0;
				int cbad;
				struct csv_state try = st;
				if (try_header(s, (size_t)(nl ? (size_t)(nl - s) : len), &p2, &l2, &try, &cbad, &why) &&
				    try.rec.n >= 2)
					st = try;
			}
			continue;
		}
		if (ll > RECORD_MAX) {
			if (sink)
				sink->skip(sink->arg, start_line, FEED_SKIP_LINE_TOO_LONG, s + start, ll,
				           "longer than the 32768-byte limit for one CSV record");
			pos = nl ? (size_t)(nl - s) + 1 : len;
			line++;
			continue;
		}
		int bad;
		if (!st.have_header) {
			if (try_header(s, len, &pos, &line, &st, &bad, &why))
				continue;
			if (!sink)
				break;
			/* a European spreadsheet's `;' or a TSV's tab: say so, or the
			 * operator looks for a missing header that is there */
			const char *fl = s + start;
			size_t fn = st.rec.first_line_len;
			bool semi = memchr(fl, ';', fn) != NULL, tab = memchr(fl, '\t', fn) != NULL;
			sink->skip(sink->arg, start_line, FEED_SKIP_BAD_CSV_ROW, fl, fn,
			           !memchr(fl, ',', fn) && (semi || tab)
			               ? (semi ? "no header row before it (split at `;' here) names a domain, hostname, url or "
			                         "ioc_value column"
			                       : "no header row before it (split at tabs here) names a domain, hostname, url or "
			                         "ioc_value column")
			               : "no header row before it names a domain, hostname, url or ioc_value column");
			continue;
		}
		bad = parse_record(s, len, &pos, &line, &st.rec, &why, st.sep);
		if (!sink) {
			/* a header none of the first rows match (`# domain,added'
			 * above a list of bare names) is a comment, not a CSV header:
			 * read as CSV, every line would be a bad row */
			if (!bad && st.rec.n == st.header_n) {
				sniff_match = true;
				break;
			}
			if (++data_rows == 5)
				break;
			continue;
		}
		data_rows++;
		if (bad) {
			sink->skip(sink->arg, start_line, FEED_SKIP_BAD_CSV_ROW, s + start, st.rec.first_line_len, why);
			continue;
		}
		rv = data_row(sink, &st.rec, st.cols, st.header_n, start_line, s + start, st.rec.first_line_len, false);
	}
	if (found)
		*found = st.have_header && (sniff_match || data_rows == 0);
	free(st.rec.buf);
	return rv;
}

/* --- the same records as JSON: ThreatFox's JSON export --- */

/* Appends one field to r. Returns 0, or -1 when it does not fit. */
static int put_field(struct record *r, const char *s, size_t n)
{
	if (r->n == FEED_CSV_FIELDS_MAX || r->used + n + 1 > RECORD_MAX)
		return -1;
	r->off[r->n++] = r->used;
	memcpy(r->buf + r->used, s, n);
	r->used += n;
	r->buf[r->used++] = '\0';
	return 0;
}

/* One JSON object read as a CSV row whose header is its keys: strings as
 * they are, numbers and true/false as written, null as empty; an array
 * or object value (an API's `tags' list) is no column. */
static int json_record(const struct feed_sink *sink, json_t *o, struct record *h, struct record *r,
                       struct feed_json_lines *jl, const char *line_key, const char *where)
{
	char qbuf[FEED_QUOTE_MAX + 1], num[64];
	size_t qn;
	const char *q = feed_json_quote(o, qbuf, sizeof qbuf - 1, &qn), *key;
	json_t *v;
	int cols[COL_COUNT];

	feed_where(sink, where);
	/* the line: by the record's key in the export, else by a value */
	size_t line = line_key ? feed_json_line_of(jl, NULL, line_key) : 0;
	if (!json_is_object(o)) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, q, qn, "not a JSON object (a record is one)");
		return 0;
	}
	if (!line) {
		static const char *const ids[] = {"id", "ioc_value", "ioc", "url", "domain", "hostname"};
		for (size_t i = 0; !line && i < sizeof ids / sizeof *ids; i++)
			line = feed_json_line_of(jl, ids[i], feed_json_str(json_object_get(o, ids[i])));
	}
	/* The cap on untrusted input: a record's keys are walked and the
	 * known ones copied; jansson has read them all already, so this
	 * bounds the work per record, not the memory. */
	if (json_object_size(o) > FEED_JSON_RECORD_KEYS_MAX) {
		char why[96];
		snprintf(why, sizeof why, "%zu keys, over the %d one record may have", json_object_size(o),
		         FEED_JSON_RECORD_KEYS_MAX);
		sink->skip(sink->arg, line, FEED_SKIP_BAD_VALUE, q, qn, why);
		return 0;
	}
	h->n = h->used = r->n = r->used = 0;
	json_object_foreach(o, key, v) {
		const char *t = NULL;
		size_t tn = 0;
		/* only the columns read: a record's other keys (an API's
		 * `urlhaus_link', a producer's own x_ properties, a long
		 * description) are no row field, so their number and size
		 * cost nothing (a record with more than FEED_CSV_FIELDS_MAX
		 * keys was refused whole) */
		if (!known_column(key))
			continue;
		if (json_is_string(v)) {
			if ((t = feed_json_str(v)) == NULL) {
				sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, q, qn, "a NUL character (\\u0000) in a value");
				return 0;
			}
			tn = strlen(t);
		} else if (json_is_integer(v)) {
			tn = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			t = num;
		} else if (json_is_real(v)) {
			tn = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(v));
			t = num;
		} else if (json_is_boolean(v)) {
			/* as written, so a message quotes what the record says */
			t = json_is_true(v) ? "true" : "false";
			tn = strlen(t);
		} else if (json_is_null(v)) {
			t = "";
		} else {
			continue;
		}
		if (put_field(h, key, strlen(key)) != 0 || put_field(r, t, tn) != 0) {
			char why[TEXT_QUOTE_LEN(40) + 128], kq[TEXT_QUOTE_LEN(40)];
			snprintf(why, sizeof why, "more than %d keys naming columns (%s again in another spelling?) "
			         "or %d bytes of their values", FEED_CSV_FIELDS_MAX,
			         text_quote(kq, sizeof kq, key, strlen(key), 40), RECORD_MAX);
			sink->skip(sink->arg, line, FEED_SKIP_BAD_VALUE, q, qn, why);
			return 0;
		}
	}
	if (!map_header(h, cols)) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, q, qn,
		           "no domain, hostname, url or ioc_value key with a value to read");
		return 0;
	}
	return data_row(sink, r, cols, h->n, line, q, qn, true);
}

/* ThreatFox's JSON export ({"ID": [{record}], ...}), its API's answer
 * ({"query_status": "ok", "data": [{record}, ...]}), or an array of
 * records: each record read as a CSV row whose header is its keys. */
static int json_records(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen)
{
	struct record h = {0}, r = {0};
	struct feed_json_lines jl = {.buf = buf, .len = len, .scan_line = 1};
	json_t *root, *data, *v, *x;
	const char *key;
	char where[96];
	size_t i;
	int rv;

	if ((rv = feed_json_load(buf, len, &root, err, errlen)) != 0)
		return rv;
	if ((h.buf = malloc(RECORD_MAX)) == NULL || (r.buf = malloc(RECORD_MAX)) == NULL) {
		rv = AM_ENOMEM;
		goto out;
	}
	const char *status = feed_json_str(json_object_get(root, "query_status"));
	if (json_is_array(root)) {
		json_array_foreach(root, i, x) {
			snprintf(where, sizeof where, "[%zu]", i);
			if ((rv = json_record(sink, x, &h, &r, &jl, NULL, where)) != 0)
				break;
		}
	} else if (status || json_object_get(root, "data")) {
		/* ThreatFox's API lists its records in `data', URLhaus's in `urls' */
		const char *list = json_is_array(json_object_get(root, "urls")) ? "urls" : "data";
		data = json_object_get(root, list);
		if (!json_is_array(data)) {
			char q[TEXT_QUOTE_LEN(40)];
			snprintf(err, errlen, "an API answer (query_status %s) without a list of records in `data' or `urls'",
			         text_quote(q, sizeof q, status ? status : "none", status ? strlen(status) : 4, 40));
			rv = AM_EDECODE;
			goto out;
		}
		json_array_foreach(data, i, x) {
			snprintf(where, sizeof where, "%s[%zu]", list, i);
			if ((rv = json_record(sink, x, &h, &r, &jl, NULL, where)) != 0)
				break;
		}
	} else if (json_is_object(root)) {
		json_object_foreach(root, key, v) {
			/* the export: each IOC id holds a list of one record */
			if (!json_is_array(v)) {
				feed_where(sink, NULL);
				char qbuf[FEED_QUOTE_MAX + 1];
				size_t qn;
				const char *q = feed_json_quote(v, qbuf, sizeof qbuf - 1, &qn);
				sink->skip(sink->arg, feed_json_line_of(&jl, NULL, key), FEED_SKIP_MALFORMED, q, qn,
				           "not a list of records under its id");
				continue;
			}
			json_array_foreach(v, i, x) {
				char kq[TEXT_QUOTE_LEN(40)];
				bool plain = strlen(key) <= 40;
				for (const char *p = key; plain && *p; p++)
					plain = isalnum((unsigned char)*p) || *p == '-' || *p == '_';
				snprintf(where, sizeof where, "%s[%zu]",
				         plain ? key : text_quote(kq, sizeof kq, key, strlen(key), 40), i);
				if ((rv = json_record(sink, x, &h, &r, &jl, key, where)) != 0)
					goto out;
			}
		}
	}
out:
	feed_where(sink, NULL);
	free(h.buf);
	free(r.buf);
	json_decref(root);
	return rv;
}

bool feed_csv_json(const char *buf, size_t len)
{
	size_t p = text_bom_len(buf, len);
	while (p < len && (buf[p] == ' ' || buf[p] == '\t' || buf[p] == '\r' || buf[p] == '\n'))
		p++;
	return p < len && (buf[p] == '{' || buf[p] == '[');
}

int feed_csv_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return run(buf, len, sink, NULL);
}

int feed_csv_parse_any(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen)
{
	return feed_csv_json(buf, len) ? json_records(buf, len, sink, err, errlen) : run(buf, len, sink, NULL);
}

bool feed_csv_sniff(const char *buf, size_t len)
{
	bool found = false;
	/* the header is near the top: look at the first 64 KiB only */
	size_t n = len < 65536 ? len : 65536;
	/* no separator at all: still a CSV of one column when its first line
	 * is a header naming it (`"domain"' over `"evil.example"' rows, as a
	 * SIEM or pandas quotes every field); read as a plain list, every
	 * quoted name was refused for its quotes. run() stops at the first
	 * line that is no header, so a plain list costs one line here. */
	if (run(buf, n, NULL, &found) != 0)
		return false;
	return found;
}

void feed_csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

int feed_csv_write(FILE *out, const struct feed_export *x)
{
	fputs(FEED_CSV_HEADER "\r\n", out);
	for (size_t i = 0; i < x->n; i++) {
		const struct feed_signal *s = &x->items[i];
		char first[TIMEFMT_LEN], exp[TIMEFMT_LEN], origin[2 * AM_KEY_BYTES + 1], id[2 * AM_ID_BYTES + 1];
		if (s->ind.withdrawn)
			continue;
		timefmt_rfc3339(feed_export_created(s), first);
		timefmt_rfc3339(s->ind.expires_at, exp);
		am_hex(s->ind.origin, AM_KEY_BYTES, origin);
		am_hex(s->id, AM_ID_BYTES, id);
		feed_csv_field(out, s->ind.domain);
		fprintf(out, ",true,%s,%u,%s,%s,%s,%s,%s\r\n", am_category_name(s->ind.category), s->ind.confidence,
		        first, exp, origin, id,
		        s->ind.tlp > AM_TLP_NONE && s->ind.tlp < AM_TLP_COUNT ? am_tlp_name(s->ind.tlp) : "red");
	}
	return fflush(out) != 0 || ferror(out) ? AM_EIO : 0;
}

/* config.c - the peer's INI configuration: defaults, parsing, checks, the commented template. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "metrics_http.h"
#include "config_rpz.h"
#include <sodium.h>
#include "timefmt.h"
#include "text.h"

/*
 * Facts about Debian's inih 55 (built with its INI_RUNTIME_OPTIONS patch)
 * that shape this file:
 * - The line buffer is ini_max_line bytes (default 200), a runtime global.
 *   A longer line is handed over in pieces, each parsed as a line of its
 *   own: values are cut silently and line numbers drift. We raise the
 *   global to fit CONFIG_LINE_MAX, and our reader still measures every
 *   line against the buffer size inih actually passes, reporting and
 *   blanking lines that do not fit rather than letting inih split them.
 * - The handler gets no line number (INI_HANDLER_LINENO is 0), so our
 *   reader hands out exactly one source line per call and counts them.
 * - ini_parse_stream returns only the first syntax error (a line without
 *   '=' or ':', a '[' without ']'). To report them all, parse_all() re-runs
 *   the parse with each error found so far blanked; blanking a bad line
 *   cannot change inih's state, since inih ignored it too.
 * - An indented line after a key is taken as a continuation of that key's
 *   value (Python configparser style), which would turn an indented
 *   option into a confusing duplicate. The reader strips leading blanks,
 *   so indentation is allowed and continuation lines cannot happen.
 * - Section names are cut to 49 bytes (MAX_SECTION 50 inside inih), and
 *   the handler hears of a section only through its options. A neighbour
 *   section is an object of its own (an empty one still declares a
 *   neighbour), and its name must not be cut silently, so the reader
 *   mirrors inih's reading of "[...]" lines (track_section) and the
 *   handler checks that both agree on every option.
 */
#define INIH_LINE_BUF (CONFIG_LINE_MAX + 3) /* line + "\r\n" + NUL, per ini.h */
#define INIH_SECTION_MAX 49                 /* bytes of a section name inih keeps */
#define NEIGHBOUR_PREFIX "neighbour"
#define DIAG_MAX 50                         /* then one "too many" notice */
#define MSG_MAX 512
#define QUOTE_MAX 80                        /* bytes of input quoted in a message */

/* sockaddr_un.sun_path, less the NUL: NNG's ipc:// transport binds there. */
#define CONTROL_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

#define MAX_LIFETIME_MIN 3600u
#define MAX_LIFETIME_MAX (365u * 86400)
#define SWEEP_MIN 1u
#define SWEEP_MAX 86400u
#define MAP_SIZE_MIN (1ull << 20)
#define MAP_SIZE_MAX (1ull << 40)
#define QUOTA_MAX 1000000000ull

/* Quotes NUL-terminated untrusted text for a message (text.h). */
static const char *quote(char *out, size_t outlen, const char *s)
{
	return text_quote(out, outlen, s, strlen(s), QUOTE_MAX);
}
#define QUOTE_LEN (QUOTE_MAX * 4 + 8)

/* Joins dir and a relative path; an absolute path is taken as it is.
 * Returns -1 when the result does not fit PATH_MAX. */
static int resolve(char out[PATH_MAX], const char *dir, const char *path)
{
	int n;

	if (path[0] == '/')
		n = snprintf(out, PATH_MAX, "%s", path);
	else if (strcmp(dir, "/") == 0)
		n = snprintf(out, PATH_MAX, "/%s", path);
	else
		n = snprintf(out, PATH_MAX, "%s/%s", dir, path);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* Option setters: 0, or -1 with the reason (quoting the value) in why. */
typedef int (*set_fn)(struct config *cfg, const char *value, char *why, size_t whylen);

static int set_name(struct config *cfg, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	size_t n = strlen(v);

	if (n == 0 || n >= CONFIG_NAME_MAX) {
		snprintf(why, whylen, "%s must be 1 to %d characters", quote(q, sizeof q, v),
		         CONFIG_NAME_MAX - 1);
		return -1;
	}
	/* The name appears in logs, metrics labels and other peers' views, so
	 * it stays inside a set no consumer needs to escape. */
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '_' && v[i] != '.') {
			snprintf(why, whylen, "%s may only hold letters, digits, '-', '_' and '.'",
			         quote(q, sizeof q, v));
			return -1;
		}
	memcpy(cfg->name, v, n + 1);
	return 0;
}

static int set_path(char out[PATH_MAX], const char *dir, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (v[0] == '\0') {
		snprintf(why, whylen, "a path is required");
		return -1;
	}
	/* the shell expands `~', a config file does not: read as a relative
	 * path it became CONFIG_DIR/~/..., a directory nobody meant */
	if (v[0] == '~') {
		snprintf(why, whylen, "%s starts with `~', which only a shell expands: write the whole path",
		         quote(q, sizeof q, v));
		return -1;
	}
	if (resolve(out, dir, v) != 0) {
		snprintf(why, whylen, "%s is longer than %d bytes once resolved", quote(q, sizeof q, v),
		         PATH_MAX - 1);
		return -1;
	}
	return 0;
}

static int set_key(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_path(cfg->key_file, cfg->dir, v, why, whylen);
}

static int set_trust(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_path(cfg->trust_file, cfg->dir, v, why, whylen);
}

static int set_data_dir(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_path(cfg->data_dir, cfg->dir, v, why, whylen);
}

/* The sun_path limit is checked after the whole file, in check_all(): the
 * resolved length depends on where the config file lives, and the default
 * must pass the same test as a value from the file. */
static int set_control(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_path(cfg->control, cfg->dir, v, why, whylen);
}

/* tcp://HOST:PORT, HOST possibly empty ("all addresses", as NNG reads it)
 * or a bracketed IPv6 address; `dial' (an address to connect to) also
 * refuses an empty or "*" HOST. NNG would refuse a bad URL only at
 * start-up, long after `ameshd --check` said the file was fine. */
static int check_tcp_url(const char *v, size_t cap, bool dial, char *why, size_t whylen)
{
	static const char prefix[] = "tcp://";
	char q[QUOTE_LEN];
	const char *host, *colon, *p;
	unsigned long port = 0;

	if (strlen(v) >= cap) {
		snprintf(why, whylen, "%s is longer than %zu bytes", quote(q, sizeof q, v), cap - 1);
		return -1;
	}
	if (strncmp(v, prefix, sizeof prefix - 1) != 0)
		goto bad;
	host = v + sizeof prefix - 1;
	for (p = host; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			goto bad;
	colon = strrchr(host, ':');
	if (colon == NULL || colon[1] == '\0')
		goto bad;
	if (host[0] == '[' && (colon == host || colon[-1] != ']'))
		goto bad;
	/* tcp://::1:7400 passed, and NNG refused it at start as "Address
	 * invalid", which said nothing of the brackets it needs */
	if (host[0] != '[' && memchr(host, ':', (size_t)(colon - host)) != NULL) {
		snprintf(why, whylen, "%s: an IPv6 address goes in brackets, as in tcp://[::1]:%s",
		         quote(q, sizeof q, v), colon + 1);
		return -1;
	}
	if (dial && (colon == host || (colon == host + 1 && host[0] == '*') ||
	             (colon == host + 2 && host[0] == '[')))
		goto bad;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - colon > 5)
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "%s is not tcp://HOST:PORT (%sport 1 to 65535)", quote(q, sizeof q, v),
	         dial ? "a host to connect to, " : "");
	return -1;
}

static int set_listen(struct config *cfg, const char *v, char *why, size_t whylen)
{
	if (v[0] == '\0') {
		cfg->listen[0] = '\0';
		return 0;
	}
	if (check_tcp_url(v, sizeof cfg->listen, false, why, whylen) != 0)
		return -1;
	memcpy(cfg->listen, v, strlen(v) + 1);
	return 0;
}

/* The metrics responder's own syntax (metrics_http.h): HOST:PORT with a
 * numeric HOST, or a bare PORT meaning loopback. */
static int set_metrics_listen(struct config *cfg, const char *v, char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (v[0] == '\0') {
		cfg->metrics_listen[0] = '\0';
		return 0;
	}
	if (strlen(v) >= sizeof cfg->metrics_listen) {
		char q[QUOTE_LEN];
		snprintf(why, whylen, "%s is longer than %zu bytes", quote(q, sizeof q, v),
		         sizeof cfg->metrics_listen - 1);
		return -1;
	}
	if (metrics_http_addr_parse(v, &ss, &len, why, whylen) != 0)
		return -1;
	memcpy(cfg->metrics_listen, v, strlen(v) + 1);
	return 0;
}

static int set_duration(uint64_t *out, const char *v, uint64_t min, uint64_t max,
                        char *why, size_t whylen)
{
	char q[QUOTE_LEN], lo[TIMEFMT_LEN], hi[TIMEFMT_LEN];
	uint64_t secs;

	if (timefmt_parse_duration(v, &secs) != 0) {
		snprintf(why, whylen, "cannot parse duration %s (expected a number and a unit: "
		         "s, m, h, d or w, as in 90d or 1d12h)", quote(q, sizeof q, v));
		return -1;
	}
	if (secs < min || secs > max) {
		timefmt_duration(min, lo);
		timefmt_duration(max, hi);
		snprintf(why, whylen, "%s is out of range (%s to %s)", quote(q, sizeof q, v), lo, hi);
		return -1;
	}
	*out = secs;
	return 0;
}

static int set_max_lifetime(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_duration(&cfg->max_lifetime, v, MAX_LIFETIME_MIN, MAX_LIFETIME_MAX, why, whylen);
}

static int set_dispute_deadline(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_duration(&cfg->dispute_deadline, v, 1, 365ull * 86400, why, whylen);
}

static int set_sweep_interval(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_duration(&cfg->sweep_interval, v, SWEEP_MIN, SWEEP_MAX, why, whylen);
}

static int set_map_size(struct config *cfg, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	uint64_t bytes;

	if (timefmt_parse_size(v, &bytes) != 0) {
		snprintf(why, whylen, "cannot parse size %s (expected bytes with an optional "
		         "K, M, G or T suffix, as in 1G)", quote(q, sizeof q, v));
		return -1;
	}
	if (bytes < MAP_SIZE_MIN || bytes > MAP_SIZE_MAX) {
		snprintf(why, whylen, "%s is out of range (1M to 1T)", quote(q, sizeof q, v));
		return -1;
	}
	cfg->map_size = bytes;
	return 0;
}

static int set_default_tlp(struct config *cfg, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (am_tlp_parse(v, &cfg->default_tlp) != 0) {
		snprintf(why, whylen, "%s: %s", quote(q, sizeof q, v), am_strerror(AM_ETLP));
		return -1;
	}
	return 0;
}

static int set_dns_listen(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return config_dns_listen_set(cfg, v, why, whylen);
}

/* Neighbour option setters: same contract, on one [neighbour NAME]. */
typedef int (*nb_set_fn)(struct config_neighbour *nb, const char *value, char *why, size_t whylen);

static int set_endpoint(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	if (v[0] == '\0') {
		nb->endpoint[0] = '\0';
		return 0;
	}
	if (check_tcp_url(v, sizeof nb->endpoint, true, why, whylen) != 0)
		return -1;
	memcpy(nb->endpoint, v, strlen(v) + 1);
	return 0;
}

/* 0..max, decimal digits only: "50%" or "-1" are mistakes worth seeing. */
static int parse_number(const char *v, uint64_t min, uint64_t max, uint64_t *out, char *why,
                        size_t whylen)
{
	char q[QUOTE_LEN];
	uint64_t n = 0;

	if (v[0] == '\0')
		goto bad;
	for (const char *p = v; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > max)
			goto bad;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (n < min || n > max)
		goto bad;
	*out = n;
	return 0;
bad:
	snprintf(why, whylen, "%s is not a number from %llu to %llu", quote(q, sizeof q, v),
	         (unsigned long long)min, (unsigned long long)max);
	return -1;
}

static int set_percent(uint8_t *out, const char *v, char *why, size_t whylen)
{
	uint64_t n;

	if (parse_number(v, 0, 100, &n, why, whylen) != 0)
		return -1;
	*out = (uint8_t)n;
	return 0;
}

static int set_watch_buffer(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return parse_number(v, 16, 10000000, &cfg->watch_buffer, why, whylen);
}

static int set_allowlist(struct config *cfg, const char *v, char *why, size_t whylen)
{
	char buf[CONFIG_LINE_MAX + 1], q[QUOTE_LEN], *save = NULL;

	cfg->n_allowlist = 0;
	snprintf(buf, sizeof buf, "%s", v);
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (cfg->n_allowlist == sizeof cfg->allowlist / sizeof cfg->allowlist[0]) {
			snprintf(why, whylen, "%s: at most 8 allowlist files", quote(q, sizeof q, v));
			return -1;
		}
		if (set_path(cfg->allowlist[cfg->n_allowlist], cfg->dir, tok, why, whylen) != 0)
			return -1;
		cfg->n_allowlist++;
	}
	return 0;
}

static int set_sightings_log(struct config *cfg, const char *v, char *why, size_t whylen)
{
	if (!v[0]) {
		cfg->sightings_log[0] = '\0';
		return 0;
	}
	return set_path(cfg->sightings_log, cfg->dir, v, why, whylen);
}

static int set_audit_retention(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_duration(&cfg->audit_retention, v, 86400, 3650ull * 86400, why, whylen);
}

static int set_verdict_decay(struct config *cfg, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		cfg->verdict_decay = v[0] == 'y';
		return 0;
	}
	snprintf(why, whylen, "%s: expected yes or no", quote(q, sizeof q, v));
	return -1;
}

static int set_warn_threshold(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_percent(&cfg->warn_threshold, v, why, whylen);
}

static int set_block_threshold(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return set_percent(&cfg->block_threshold, v, why, whylen);
}

/* A weight is a decimal from 0 to 1 with at most three decimals: enough to
 * say how much one origin is trusted, and no locale-dependent strtod. */
static int parse_weight(const char *v, double *out, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	unsigned whole = 0, frac = 0, digits = 0;
	const char *p = v;

	if (*p < '0' || *p > '9')
		goto bad;
	whole = (unsigned)(*p++ - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
			frac = frac * 10 + (unsigned)(*p - '0');
		if (digits == 0)
			goto bad;
	}
	if (*p != '\0' || whole > 1 || (whole == 1 && frac != 0))
		goto bad;
	while (digits++ < 3)
		frac *= 10;
	*out = whole + frac / 1000.0;
	return 0;
bad:
	snprintf(why, whylen, "%s is not a weight from 0 to 1 (e.g. 0.8)", quote(q, sizeof q, v));
	return -1;
}

static int set_default_weight(struct config *cfg, const char *v, char *why, size_t whylen)
{
	return parse_weight(v, &cfg->default_weight, why, whylen);
}

static int set_origin_weights(struct config *cfg, const char *v, char *why, size_t whylen)
{
	char buf[CONFIG_LINE_MAX + 1], q[QUOTE_LEN], *save = NULL;

	cfg->n_weights = 0;
	snprintf(buf, sizeof buf, "%s", v);
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		char *colon = strchr(tok, ':');
		if (!colon || colon == tok || colon - tok >= CONFIG_NAME_MAX) {
			snprintf(why, whylen, "%s: expected NAME:WEIGHT, e.g. apnic:0.9", quote(q, sizeof q, tok));
			return -1;
		}
		if (cfg->n_weights == sizeof cfg->weights / sizeof cfg->weights[0]) {
			snprintf(why, whylen, "at most 64 origin weights");
			return -1;
		}
		*colon = '\0';
		struct config_weight *w = &cfg->weights[cfg->n_weights];
		snprintf(w->name, sizeof w->name, "%s", tok);
		if (parse_weight(colon + 1, &w->weight, why, whylen) != 0)
			return -1;
		cfg->n_weights++;
	}
	return 0;
}

/* policy.c's messages already quote the value; only the status differs. */
static int policy_status(int rv)
{
	return rv == 0 ? 0 : -1;
}

static int set_export_categories(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	if (policy_parse_categories(v, &nb->exp.categories, why, whylen) != 0)
		return -1;
	/* the key's presence is what turns the export on (policy.h) */
	nb->exp.configured = true;
	return 0;
}

static int set_export_min_confidence(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return set_percent(&nb->exp.min_confidence, v, why, whylen);
}

static int set_export_origins(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return policy_status(policy_parse_origins(v, false, &nb->exp.origins, &nb->exp.origin_list,
	                                          why, whylen));
}

static int set_export_domains(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return policy_status(policy_parse_suffixes(v, &nb->exp, why, whylen));
}

static int set_export_max_tlp(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	enum am_tlp t;

	if (am_tlp_parse(v, &t) != 0) {
		snprintf(why, whylen, "%s: expected clear, green, amber or amber+strict",
		         quote(q, sizeof q, v));
		return -1;
	}
	/* Allowing it would read as a promise the TLP rules never keep. */
	if (t == AM_TLP_RED) {
		snprintf(why, whylen, "%s: red never leaves its origin; the highest level a "
		         "neighbour can get is amber+strict", quote(q, sizeof q, v));
		return -1;
	}
	nb->exp.max_tlp = t;
	return 0;
}

static int set_export_sightings(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		nb->exp.sightings = v[0] == 'y';
		return 0;
	}
	snprintf(why, whylen, "%s: expected yes or no", quote(q, sizeof q, v));
	return -1;
}

static int set_import_categories(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	if (policy_parse_categories(v, &nb->imp.categories, why, whylen) != 0)
		return -1;
	nb->imp.configured = true;
	return 0;
}

static int set_import_min_confidence(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return set_percent(&nb->imp.min_confidence, v, why, whylen);
}

static int set_import_confidence_cap(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return set_percent(&nb->imp.confidence_cap, v, why, whylen);
}

static int set_import_origins(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return policy_status(policy_parse_origins(v, true, &nb->imp.origins, &nb->imp.origin_list,
	                                          why, whylen));
}

static int set_rotation(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	if (strcmp(v, "hold") == 0 || strcmp(v, "auto") == 0) {
		nb->rotation_auto = v[0] == 'a';
		return 0;
	}
	snprintf(why, whylen, "%s: expected hold or auto", quote(q, sizeof q, v));
	return -1;
}

static int set_import_quota(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return parse_number(v, 1, QUOTA_MAX, &nb->imp.quota, why, whylen);
}

static int set_import_disputes(struct config_neighbour *nb, const char *v, char *why, size_t whylen)
{
	return parse_number(v, 1, 100000, &nb->imp.disputes_per_hour, why, whylen);
}

/*
 * Every option is one row: where it lives, its default (parsed by the same
 * setter as file input, so a default can never be invalid unnoticed), and
 * the text config_write_default() puts above it, which is the operator's
 * manual for the file. def NULL = required; example = what a commented-out
 * line shows when the default is empty.
 *
 * Sections are matched by section_known(), except [neighbour NAME]: its
 * rows (section "neighbour", setter nset) apply to the neighbour the
 * current section declared, and a def of "" means "left unset".
 */
static const struct option {
	const char *section;
	const char *key;
	const char *def;
	const char *example;
	set_fn set;
	const char *doc;
	nb_set_fn nset;
} options[] = {
#define PEER(key, def, example, fn, doc) { "peer", key, def, example, fn, doc, NULL }
	PEER("name", NULL, NULL, set_name,
	     "This peer's name: 1 to 63 letters, digits, '-', '_' or '.'. It appears\n"
	     "in logs and in what other peers see. Required."),
	PEER("key", "amesh.key", NULL, set_key,
	     "This peer's secret signing key (made by `amesh init' or\n"
	     "`amesh keys generate'); its public half is the same name plus .pub.\n"
	     "Relative paths here and below resolve against the directory holding\n"
	     "this file."),
	PEER("trust", "trust.conf", NULL, set_trust,
	     "The trust store: the neighbours and origins this peer trusts, each by\n"
	     "name and pinned key. Managed with `amesh' commands; it must exist."),
	PEER("data_dir", "data", NULL, set_data_dir,
	     "Directory of the indicator store (an LMDB environment)."),
	PEER("control", "run/amesh.sock", NULL, set_control,
	     "Control socket used by the `amesh' command. Its directory should not be\n"
	     "world-accessible. The resolved path must fit in 107 bytes (the limit of\n"
	     "a Unix socket address), so keep the peer directory short or use an\n"
	     "absolute path."),
	PEER("listen", "", "tcp://0.0.0.0:7000", set_listen,
	     "Where to accept connections from other peers, as tcp://HOST:PORT\n"
	     "(tcp://[::]:PORT for IPv6; an empty HOST means every address). Left\n"
	     "out, this peer does not listen and only reaches out to others."),
	PEER("metrics_listen", "", "127.0.0.1:9464", set_metrics_listen,
	     "Where to serve Prometheus metrics (GET /metrics, text format), as\n"
	     "HOST:PORT with a numeric address, [IPV6]:PORT, or a bare PORT, which\n"
	     "means 127.0.0.1. Left out, no metrics are served. The page names\n"
	     "neighbours, origins and counts, never domains; keep it on loopback or\n"
	     "behind a firewall all the same. Changing it needs a restart."),
	PEER("max_lifetime", "90d", NULL, set_max_lifetime,
	     "Longest lifetime accepted for an indicator: one expiring further in the\n"
	     "future is refused. Durations take a unit: s, m, h, d, w, combinable as\n"
	     "in 1d12h. From 1h to 365d."),
	PEER("dispute_deadline", "72h", NULL, set_dispute_deadline,
	     "An unanswered dispute older than this is overdue. 1s to 365d."),
	PEER("sweep_interval", "60s", NULL, set_sweep_interval,
	     "How often expired indicators are removed from the store. From 1s to 1d."),
	PEER("map_size", "1G", NULL, set_map_size,
	     "Largest size the store may grow to: bytes with an optional K, M, G or T\n"
	     "suffix (powers of 1024). Disk space is used only as data arrives; raise\n"
	     "this when the daemon reports that the store is full. From 1M to 1T."),
	PEER("default_tlp", "green", NULL, set_default_tlp,
	     "Sharing level (TLP 2.0) given to reports that do not name one: clear,\n"
	     "green, amber, amber+strict or red."),
	PEER("watch_buffer", "65536", NULL, set_watch_buffer,
	     "Changes kept for `amesh watch', 16 to 10000000. A watcher that falls\n"
	     "further behind is dropped with a message instead of slowing the peer."),
	PEER("allowlist", "", "allowlist.txt, google-domains.json", set_allowlist,
	     "Names never flagged here (own infrastructure, big platforms): up to 8\n"
	     "files, one name per line or MISP warninglist JSON. Signals on them are\n"
	     "still stored and relayed; the verdict says \"allowlisted\" and why."),
	PEER("sightings_log", "", "/var/log/unbound/unbound.log", set_sightings_log,
	     "A resolver's RPZ hit log to count, as `amesh sightings import' does,\n"
	     "followed from its end. A change needs a restart."),
	PEER("audit_retention", "90d", NULL, set_audit_retention,
	     "How long the audit trail keeps its records, 1d to 3650d."),
	PEER("verdict_decay", "no", NULL, set_verdict_decay,
	     "yes: a signal's weight in the verdict falls linearly toward its expiry."),
	PEER("warn_threshold", "50", NULL, set_warn_threshold,
	     "Verdict score (0 to 100) from which a category is reported as warn."),
	PEER("block_threshold", "80", NULL, set_block_threshold,
	     "Verdict score (0 to 100) from which a category is reported as block."),
	PEER("default_weight", "1.0", NULL, set_default_weight,
	     "Trust in an origin's confidence, 0 to 1, where origin_weights says\n"
	     "nothing. This peer's own reports always weigh 1."),
	PEER("origin_weights", "", "apnic:0.9, cert-xx:0.7", set_origin_weights,
	     "Per-origin trust weights, NAME:WEIGHT separated by commas; names are\n"
	     "trust-store names."),
	PEER("dns_listen", "", "127.0.0.1:5353, [::1]:5353", set_dns_listen,
	     "Where to serve the [rpz] zones to resolvers: ADDRESS:PORT or\n"
	     "[IPV6]:PORT, separated by commas, each over UDP and TCP (SOA queries,\n"
	     "AXFR, IXFR). Left out, there is no DNS service."),
#define NB(key, def, example, fn, doc) { NEIGHBOUR_PREFIX, key, def, example, NULL, doc, fn }
	NB("endpoint", "", "tcp://peer-b.example:7000", set_endpoint,
	   "Where to reach this neighbour, as tcp://HOST:PORT. Left out, this peer\n"
	   "does not dial it: the neighbour connects to this peer's listen address."),
	NB("export.categories", "", "phishing, malware", set_export_categories,
	   "What this peer sends the neighbour: categories (phishing, malware,\n"
	   "botnet, pharming, spam) separated by commas, or all, or none. Left out,\n"
	   "nothing is sent, whatever the other export options say."),
	NB("export.min_confidence", "0", NULL, set_export_min_confidence,
	   "Send only indicators of at least this confidence, 0 to 100."),
	NB("export.origins", "own", NULL, set_export_origins,
	   "Whose indicators to send: own (this peer's reports), all (this peer's\n"
	   "and every origin it trusts) or names of origins in the trust store,\n"
	   "separated by commas; a list sends only the origins it names."),
	NB("export.domains", "", "asia, example.org", set_export_domains,
	   "Send only names equal to or under these suffixes (\"asia\" takes x.asia,\n"
	   "not xasia). Left out, names under any suffix are sent."),
	NB("export.max_tlp", "green", NULL, set_export_max_tlp,
	   "Highest sharing level (TLP) sent: clear, green, amber or amber+strict.\n"
	   "Whatever this says, red never leaves its origin and amber goes only from\n"
	   "its origin to direct neighbours, never further."),
	NB("export.sightings", "no", NULL, set_export_sightings,
	   "yes: send this neighbour sighting reports (RPZ hit counts per day)\n"
	   "when it is on the way to the indicator's origin."),
	NB("import.categories", "", "all", set_import_categories,
	   "What this peer accepts from the neighbour, as in export.categories. Left\n"
	   "out, nothing is accepted, whatever the other import options say."),
	NB("import.min_confidence", "0", NULL, set_import_min_confidence,
	   "Accept only indicators signed with at least this confidence, 0 to 100."),
	NB("import.confidence_cap", "100", NULL, set_import_confidence_cap,
	   "Record accepted indicators with at most this confidence, 0 to 100. The\n"
	   "cap is local: the signed indicator is relayed unchanged."),
	NB("import.origins", "all", NULL, set_import_origins,
	   "Whose indicators to accept: all (every origin this peer trusts),\n"
	   "neighbour (the neighbour's own reports) or names of origins in the trust\n"
	   "store, separated by commas."),
	NB("import.quota", "100000", NULL, set_import_quota,
	   "At most this many indicators of one origin are accepted via this\n"
	   "neighbour, 1 to 1000000000."),
	NB("import.disputes_per_hour", "60", NULL, set_import_disputes,
	   "Disputes taken from it per hour; more are refused (dispute_rate)."),
	NB("rotation", "hold", NULL, set_rotation,
	   "When this neighbour's key announces its successor (a rotation signed by\n"
	   "both keys): hold it for an admin (`amesh keys pending', `approve') or\n"
	   "auto-accept it. Until accepted, both keys are trusted."),
#undef NB
#undef PEER
};

/* Above the neighbour rows in the template: the section as a whole. */
static const char neighbour_doc[] =
	"Neighbours: one [neighbour NAME] section per peer this one exchanges\n"
	"indicators with. NAME (1 to 39 letters, digits, '-', '_' or '.') is the\n"
	"neighbour's name in the trust store, which pins its key; it must differ\n"
	"from this peer's name. Policies fail closed: a neighbour without\n"
	"export.categories is sent nothing, one without import.categories has\n"
	"nothing accepted. An example, all commented out: remove the '#' from\n"
	"the header and from the options to set.";
static const char neighbour_example[] = "peer-b";
#define OPTION_COUNT (sizeof options / sizeof options[0])

/* "[neighbour ...]" and a bare "[neighbour]": the name is checked when
 * the header is read (open_neighbour). */
static bool is_neighbour_section(const char *section)
{
	size_t n = sizeof NEIGHBOUR_PREFIX - 1;

	return strncmp(section, NEIGHBOUR_PREFIX, n) == 0 &&
	       (section[n] == '\0' || section[n] == ' ' || section[n] == '\t');
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (strcmp(options[i].section, section) == 0)
			return true;
	return false;
}

/* Parse state shared by the reader and the handler. */
struct load {
	struct config *cfg;
	const char *path;             /* for messages */
	const char *buf;
	size_t len, pos;
	unsigned line;                /* the line the reader handed out last */
	bool discovering;             /* a pass that only looks for syntax errors */
	unsigned bad[DIAG_MAX];       /* syntax error lines found so far, ascending */
	size_t nbad, bad_next;
	unsigned set_on[OPTION_COUNT];/* line each option was set on, 0 = not set */
	char unknown_section[64];     /* last unknown section reported */
	char section[INIH_SECTION_MAX + 1]; /* the section as inih sees it (track_section) */
	bool header_refused;          /* the last [header] line had no `]' (its options are skipped) */
	long nb_cur;                  /* its neighbour in cfg->neighbours, -1 = none */
	long rpz_cur;                 /* its zone in cfg->rpz, -1 = none */
	unsigned rpz_set_on[CONFIG_RPZ_MAX][CONFIG_RPZ_OPTIONS];
	unsigned rpz_bad[CONFIG_RPZ_MAX]; /* bit i: option i's value was refused */
	size_t nb_cap;                /* allocated entries of cfg->neighbours */
	unsigned errors;
	config_diag_fn diag;
	void *arg;
};

__attribute__((format(printf, 3, 4)))
static void report(struct load *ld, unsigned line, const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;

	ld->errors++;
	if (ld->diag == NULL || ld->errors > DIAG_MAX + 1)
		return;
	if (ld->errors == DIAG_MAX + 1) {
		ld->diag(ld->arg, ld->path, 0, "too many errors; not reporting the rest");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ld->diag(ld->arg, ld->path, line, msg);
}

static bool valid_neighbour_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.';
}

/* Applies the neighbour rows' defaults through their own setters. */
static void neighbour_defaults(struct load *ld, struct config_neighbour *nb)
{
	char why[MSG_MAX / 2];

	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (options[i].nset != NULL && options[i].def[0] != '\0' &&
		    options[i].nset(nb, options[i].def, why, sizeof why) != 0)
			report(ld, nb->line, "default %s: %s", options[i].key, why);
}

/* A "[neighbour ...]" header on the current line: declares the neighbour,
 * or reports why not (its options are then ignored without more noise).
 * `name' is the whole text between the brackets, not inih's cut copy. */
static void open_neighbour(struct load *ld, const char *text, size_t len)
{
	struct config *cfg = ld->cfg;
	struct config_neighbour *nb;
	char q[QUOTE_LEN], shown[QUOTE_MAX + 2];
	const char *name = text + sizeof NEIGHBOUR_PREFIX - 1;
	size_t n = len - (sizeof NEIGHBOUR_PREFIX - 1), t;

	ld->nb_cur = -1;
	/* inih keeps blanks inside brackets; a name never has any */
	while (n > 0 && (*name == ' ' || *name == '\t')) {
		name++;
		n--;
	}
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	t = n < QUOTE_MAX + 1 ? n : QUOTE_MAX + 1;
	memcpy(shown, name, t);
	shown[t] = '\0';
	if (n == 0) {
		report(ld, ld->line, "[neighbour] needs the neighbour's name, as in [neighbour %s]",
		       neighbour_example);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!valid_neighbour_char(name[i])) {
			report(ld, ld->line, "neighbour name %s may only hold letters, digits, '-', '_' "
			       "and '.'", quote(q, sizeof q, shown));
			return;
		}
	if (n > CONFIG_NEIGHBOUR_NAME_MAX) {
		report(ld, ld->line, "neighbour name %s is %zu characters; at most %d fit in a "
		       "section header", quote(q, sizeof q, shown), n, CONFIG_NEIGHBOUR_NAME_MAX);
		return;
	}
	for (size_t i = 0; i < cfg->n_neighbours; i++)
		if (strlen(cfg->neighbours[i].name) == n && memcmp(cfg->neighbours[i].name, name, n) == 0) {
			report(ld, ld->line, "neighbour %s is declared twice (first on line %u)",
			       quote(q, sizeof q, shown), cfg->neighbours[i].line);
			return;
		}
	if (cfg->n_neighbours == CONFIG_NEIGHBOURS_MAX) {
		report(ld, ld->line, "more than %d neighbours", CONFIG_NEIGHBOURS_MAX);
		return;
	}
	if (cfg->n_neighbours == ld->nb_cap) {
		size_t cap = ld->nb_cap ? 2 * ld->nb_cap : 4;
		void *grown = realloc(cfg->neighbours, cap * sizeof *cfg->neighbours);
		if (grown == NULL) {
			report(ld, ld->line, "out of memory");
			return;
		}
		cfg->neighbours = grown;
		ld->nb_cap = cap;
	}
	nb = &cfg->neighbours[cfg->n_neighbours];
	memset(nb, 0, sizeof *nb);
	memcpy(nb->name, name, n);
	nb->line = ld->line;
	ld->nb_cur = (long)cfg->n_neighbours++;
	neighbour_defaults(ld, nb);
	/* "set twice" is per neighbour */
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (options[i].nset != NULL)
			ld->set_on[i] = 0;
}

/* "[rpz ...]" and a bare "[rpz]"; config_rpz.c knows what the options mean. */
static bool is_rpz_section(const char *section)
{
	return strncmp(section, "rpz", 3) == 0 &&
	       (section[3] == '\0' || section[3] == ' ' || section[3] == '\t');
}

/* A "[rpz ...]" header on the current line: declares the zone or says why not. */
static void open_rpz(struct load *ld, const char *text, size_t len)
{
	struct config *cfg = ld->cfg;
	char q[QUOTE_LEN], shown[QUOTE_MAX + 2];
	const char *name = text + 3;
	size_t n = len - 3, t;

	while (n > 0 && (*name == ' ' || *name == '\t')) {
		name++;
		n--;
	}
	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	t = n < QUOTE_MAX + 1 ? n : QUOTE_MAX + 1;
	memcpy(shown, name, t);
	shown[t] = '\0';
	if (!config_rpz_name_ok(name, n)) {
		report(ld, ld->line, "[rpz %s]: the zone's name must be 1 to %d letters, digits, '-', "
		       "'_' or '.'", quote(q, sizeof q, shown), CONFIG_RPZ_NAME_MAX);
		return;
	}
	for (size_t i = 0; i < cfg->n_rpz; i++)
		if (strlen(cfg->rpz[i].name) == n && memcmp(cfg->rpz[i].name, name, n) == 0) {
			report(ld, ld->line, "[rpz %s] is declared twice (first on line %u)",
			       quote(q, sizeof q, shown), cfg->rpz[i].line);
			return;
		}
	if (cfg->n_rpz == CONFIG_RPZ_MAX) {
		report(ld, ld->line, "more than %d [rpz] zones", CONFIG_RPZ_MAX);
		return;
	}
	if (cfg->rpz == NULL && (cfg->rpz = calloc(CONFIG_RPZ_MAX, sizeof *cfg->rpz)) == NULL) {
		report(ld, ld->line, "out of memory");
		return;
	}
	struct config_rpz *z = &cfg->rpz[cfg->n_rpz];
	memset(z, 0, sizeof *z);
	memcpy(z->name, name, n);
	z->line = ld->line;
	config_rpz_defaults(z);
	memset(ld->rpz_set_on[cfg->n_rpz], 0, sizeof ld->rpz_set_on[0]);
	ld->rpz_bad[cfg->n_rpz] = 0;
	ld->rpz_cur = (long)cfg->n_rpz++;
}

/* An option inside [rpz NAME]. */
static int rpz_option(struct load *ld, const char *key, const char *value)
{
	char q[QUOTE_LEN], why[MSG_MAX / 2];
	int i;

	ld->unknown_section[0] = '\0';
	if (ld->rpz_cur < 0)
		return 1; /* a refused header was reported once */
	struct config_rpz *z = &ld->cfg->rpz[ld->rpz_cur];
	unsigned *set_on = ld->rpz_set_on[ld->rpz_cur];
	if ((i = config_rpz_option_index(key)) < 0) {
		report(ld, ld->line, "unknown option %s in [rpz %s]", quote(q, sizeof q, key), z->name);
		return 1;
	}
	if (set_on[i] != 0) {
		report(ld, ld->line, "%s is set twice (first on line %u)", key, set_on[i]);
		return 1;
	}
	set_on[i] = ld->line;
	if (config_rpz_set(z, i, value, why, sizeof why) != 0) {
		report(ld, ld->line, "%s: %s", key, why);
		ld->rpz_bad[ld->rpz_cur] |= 1u << i;
	}
	return 1;
}

static void rpz_problem(void *arg, unsigned line, const char *msg)
{
	report(arg, line, "%s", msg);
}

/* Per zone: required options; across zones: one origin, one zone. */
static void check_rpz(struct load *ld)
{
	struct config *cfg = ld->cfg;

	for (size_t i = 0; i < cfg->n_rpz; i++) {
		config_rpz_check(&cfg->rpz[i], ld->rpz_set_on[i], ld->rpz_bad[i], rpz_problem, ld);
		int ns = config_rpz_notify_source_index();
		if (!(ld->rpz_bad[i] & 1u << ns))
			config_rpz_check_sources(cfg, &cfg->rpz[i], ld->rpz_set_on[i][ns], rpz_problem, ld);
		for (size_t j = 0; j < i; j++)
			if (cfg->rpz[i].zone[0] != '\0' && strcmp(cfg->rpz[i].zone, cfg->rpz[j].zone) == 0)
				report(ld, cfg->rpz[i].line, "[rpz %s] serves zone %s, as [rpz %s] does (line %u)",
				       cfg->rpz[i].name, cfg->rpz[i].zone, cfg->rpz[j].name, cfg->rpz[j].line);
	}
}

/*
 * inih's reading of a line that starts with '[' (find_chars_or_comment in
 * ini.c): the section name runs to the first ']', and the line is no
 * header at all if a ';' after a blank (an inline comment) comes first.
 * inih then keeps the first INIH_SECTION_MAX bytes as the section. The
 * UTF-8 BOM inih skips on line 1 is skipped here too.
 */
static void track_section(struct load *ld, const char *s, size_t n)
{
	bool was_space = false;
	size_t end;

	if (ld->line == 1 && text_bom_len(s, n)) {
		s += 3;
		n -= 3;
		while (n > 0 && isspace((unsigned char)*s)) {
			s++;
			n--;
		}
	}
	if (n == 0 || s[0] != '[')
		return;
	for (end = 1; end < n && s[end] != ']'; end++) {
		if (was_space && s[end] == ';')
			return;
		was_space = isspace((unsigned char)s[end]);
	}
	if (end == n)
		return;
	ld->header_refused = false;
	s++;
	end--;
	n = end < INIH_SECTION_MAX ? end : INIH_SECTION_MAX;
	memcpy(ld->section, s, n);
	ld->section[n] = '\0';
	ld->nb_cur = -1;
	ld->rpz_cur = -1;
	if (is_neighbour_section(ld->section))
		open_neighbour(ld, s, end);
	else if (is_rpz_section(ld->section))
		open_rpz(ld, s, end);
}

/*
 * An inline comment: `#' at the start or after a blank runs to the end of
 * the line, as in wg-quick and most INI readers, so the README's
 * `endpoint = tcp://host:7400   # we dial' pastes as it reads (issue 8,
 * item 9). inih itself only knows `;' after a blank. Returns the length of
 * what is left, trailing blanks dropped. A `#' inside a value (`a#b') stays.
 */
size_t config_strip_comment(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			n = i;
			break;
		}
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* Hands inih one source line per call (an fgets stand-in over the buffer),
 * so inih's line count and ours agree. Lines inih would mangle (too long,
 * holding a NUL) or has already refused are handed over blank, and
 * reported on the final pass. */
static char *reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	const char *start, *nl;
	size_t n, limit;
	char q[QUOTE_LEN], text[QUOTE_MAX + 2];

	if (ld->pos >= ld->len || num < 2)
		return NULL;
	start = ld->buf + ld->pos;
	nl = memchr(start, '\n', ld->len - ld->pos);
	n = nl ? (size_t)(nl - start) : ld->len - ld->pos;
	ld->pos += n + (nl != NULL);
	ld->line++;

	/* A CRLF file's '\r' is not part of the line (inih strips it anyway). */
	if (n > 0 && start[n - 1] == '\r')
		n--;
	/* inih's buffer must also hold our '\n' and the NUL. */
	limit = (size_t)num - 2 < CONFIG_LINE_MAX ? (size_t)num - 2 : CONFIG_LINE_MAX;
	if (n > limit) {
		if (!ld->discovering)
			report(ld, ld->line, "line is longer than %zu bytes", limit);
		goto blank;
	}
	if (memchr(start, '\0', n) != NULL) {
		if (!ld->discovering)
			report(ld, ld->line, "line holds a NUL byte (not a text file?)");
		goto blank;
	}
	while (n > 0 && isspace((unsigned char)*start)) {
		start++;
		n--;
	}
	n = config_strip_comment(start, n);
	if (ld->bad_next < ld->nbad && ld->bad[ld->bad_next] == ld->line) {
		ld->bad_next++;
		if (!ld->discovering) {
			/* one byte more than quote() shows, so it adds "..." */
			size_t t = n < QUOTE_MAX + 1 ? n : QUOTE_MAX + 1;
			memcpy(text, start, t);
			text[t] = '\0';
			if (n > 0 && start[0] == '[') {
				report(ld, ld->line, "section header %s has no closing `]'",
				       quote(q, sizeof q, text));
				/* inih stays in the section before it: the options
				 * below were meant for another, so checking them
				 * there only gave false "set twice" errors */
				ld->header_refused = true;
			} else
				report(ld, ld->line, "expected `option = value', got %s",
				       quote(q, sizeof q, text));
		}
		goto blank;
	}
	if (!ld->discovering)
		track_section(ld, start, n);
	memcpy(str, start, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
blank:
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

/* An option inside [neighbour NAME]. */
static int neighbour_option(struct load *ld, const char *key, const char *value)
{
	struct config_neighbour *nb;
	char q[QUOTE_LEN], why[MSG_MAX / 2];
	size_t i;

	ld->unknown_section[0] = '\0';
	/* a refused header was reported once; its options add nothing */
	if (ld->nb_cur < 0)
		return 1;
	nb = &ld->cfg->neighbours[ld->nb_cur];
	for (i = 0; i < OPTION_COUNT; i++)
		if (options[i].nset != NULL && strcmp(options[i].key, key) == 0)
			break;
	if (i == OPTION_COUNT) {
		report(ld, ld->line, "unknown option %s in [neighbour %s]", quote(q, sizeof q, key),
		       nb->name);
		return 1;
	}
	if (ld->set_on[i] != 0) {
		report(ld, ld->line, "%s is set twice (first on line %u)", key, ld->set_on[i]);
		return 1;
	}
	ld->set_on[i] = ld->line;
	if (options[i].nset(nb, value, why, sizeof why) != 0)
		report(ld, ld->line, "%s: %s", key, why);
	return 1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct load *ld = user;
	char q[QUOTE_LEN], why[MSG_MAX / 2], bracketed[64];
	size_t i;

	/* Returning 1 always: errors are ours to report, and a 0 would make
	 * inih's return value point at this line instead of a syntax error. */
	if (ld->discovering)
		return 1;
	/* Never expected; if the mirror in track_section ever drifts from
	 * inih, say so rather than file an option under the wrong neighbour. */
	if (strcmp(section, ld->section) != 0) {
		report(ld, ld->line, "internal error: cannot tell which section option %s is in",
		       quote(q, sizeof q, key));
		return 1;
	}
	/* reported once, at the header */
	if (ld->header_refused)
		return 1;
	if (section[0] == '\0') {
		report(ld, ld->line, "option %s comes before any [section]",
		       quote(q, sizeof q, key));
		return 1;
	}
	if (is_neighbour_section(section))
		return neighbour_option(ld, key, value);
	if (is_rpz_section(section))
		return rpz_option(ld, key, value);
	if (!section_known(section)) {
		/* Once per unknown section, not once per option in it. */
		if (strcmp(ld->unknown_section, section) != 0) {
			snprintf(ld->unknown_section, sizeof ld->unknown_section, "%s", section);
			snprintf(bracketed, sizeof bracketed, "[%s]", section);
			report(ld, ld->line, "unknown section %s%s", quote(q, sizeof q, bracketed),
			       strncmp(section, "neighbor", 8) == 0 ? " (spelt [neighbour NAME])" : "");
		}
		return 1;
	}
	ld->unknown_section[0] = '\0';
	for (i = 0; i < OPTION_COUNT; i++)
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].key, key) == 0)
			break;
	if (i == OPTION_COUNT) {
		report(ld, ld->line, "unknown option %s in [%s]", quote(q, sizeof q, key), section);
		return 1;
	}
	if (ld->set_on[i] != 0) {
		report(ld, ld->line, "%s is set twice (first on line %u)", key, ld->set_on[i]);
		return 1;
	}
	ld->set_on[i] = ld->line;
	if (options[i].set(ld->cfg, value, why, sizeof why) != 0)
		report(ld, ld->line, "%s: %s", key, why);
	return 1;
}

/* Runs inih until every syntax error is known (each pass finds the next
 * one), then once more for real with those lines blanked and reported in
 * line order alongside everything else. */
static void parse_all(struct load *ld)
{
	int rv;

	/* Debian's inih reads this global for its line buffer; see the top. */
	if (ini_max_line < INIH_LINE_BUF)
		ini_max_line = INIH_LINE_BUF;

	ld->discovering = true;
	for (;;) {
		ld->pos = 0;
		ld->line = 0;
		ld->bad_next = 0;
		rv = ini_parse_stream(reader, ld, handler, ld);
		if (rv <= 0 || ld->nbad == DIAG_MAX ||
		    (ld->nbad > 0 && (unsigned)rv <= ld->bad[ld->nbad - 1]))
			break;
		ld->bad[ld->nbad++] = (unsigned)rv;
	}
	if (rv < 0) {
		report(ld, 0, "out of memory while parsing");
		return;
	}
	ld->discovering = false;
	ld->pos = 0;
	ld->line = 0;
	ld->bad_next = 0;
	ld->section[0] = '\0';
	ld->nb_cur = -1;
	ld->rpz_cur = -1;
	if (ini_parse_stream(reader, ld, handler, ld) > 0) {
		/* Syntax errors past the discovery cap: say so rather than stop
		 * quietly at DIAG_MAX. */
		if (ld->errors < DIAG_MAX)
			ld->errors = DIAG_MAX;
		report(ld, 0, "too many errors");
	}
}

/* Checks that span options or need the whole file read first. */
/* One TCP or UDP endpoint this peer will bind, for the clash check. */
struct endpoint {
	struct sockaddr_storage sa;
	const char *option, *text;
	unsigned line;
	bool tcp, udp;
	bool v6only; /* an IPv6 socket bound with IPV6_V6ONLY: no IPv4 address is taken */
};

static bool unspecified(const struct sockaddr_storage *sa)
{
	static const uint8_t zero[16];
	if (sa->ss_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
	return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, zero, 16) == 0;
}

static uint16_t port_of(const struct sockaddr_storage *sa)
{
	return sa->ss_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
	                                : ((const struct sockaddr_in6 *)sa)->sin6_port;
}

/* Whether two binds on one port collide: the same address, or either is a
 * wildcard (0.0.0.0, or :: which Linux binds for IPv4 too). */
static bool same_bind(const struct endpoint *x, const struct endpoint *y)
{
	const struct sockaddr_storage *a = &x->sa, *b = &y->sa;
	if (port_of(a) != port_of(b))
		return false;
	/* across families only a dual-stack [::] takes IPv4 addresses too;
	 * dns_listen and metrics_listen bind IPv6 with IPV6_V6ONLY, so
	 * dns_listen = 0.0.0.0:53, [::]:53 (the usual dual-stack server) was
	 * refused as a collision it is not */
	if (a->ss_family != b->ss_family) {
		const struct endpoint *v6 = a->ss_family == AF_INET6 ? x : y;
		return !v6->v6only && unspecified(&v6->sa);
	}
	if (unspecified(a) || unspecified(b))
		return true;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static unsigned line_of(const struct load *ld, int (*set)(struct config *, const char *, char *, size_t))
{
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (options[i].set == set)
			return ld->set_on[i];
	return 0;
}

/*
 * The mesh listen, metrics_listen and dns_listen addresses must not
 * collide: each parses alone, so --check said "valid" while the second
 * bind stopped the daemon at start with "Address already in use" - the
 * kind of promise --check must keep (issue 9). Only numeric tcp:// mesh
 * URLs are compared (a name resolves at bind time).
 */
static void check_listen_clash(struct load *ld)
{
	struct config *cfg = ld->cfg;
	struct endpoint ep[CONFIG_DNS_LISTEN_MAX + 2];
	size_t n = 0;
	char why[256];

	if (strncmp(cfg->listen, "tcp://", 6) == 0) {
		struct config_addr a;
		if (config_addr_parse(cfg->listen + 6, 0, &a, why, sizeof why) == 0)
			ep[n++] = (struct endpoint){.sa = a.sa, .option = "listen", .text = cfg->listen,
			                            .line = line_of(ld, set_listen), .tcp = true};
	}
	if (cfg->metrics_listen[0]) {
		socklen_t len;
		ep[n] = (struct endpoint){.option = "metrics_listen", .text = cfg->metrics_listen,
		                          .line = line_of(ld, set_metrics_listen), .tcp = true, .v6only = true};
		if (metrics_http_addr_parse(cfg->metrics_listen, &ep[n].sa, &len, why, sizeof why) == 0)
			n++;
	}
	for (size_t i = 0; i < cfg->n_dns_listen; i++)
		ep[n++] = (struct endpoint){.sa = cfg->dns_listen[i].sa, .option = "dns_listen",
		                            .text = cfg->dns_listen[i].text, .line = line_of(ld, set_dns_listen),
		                            .tcp = true, .udp = true, .v6only = true};
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (((ep[i].tcp && ep[j].tcp) || (ep[i].udp && ep[j].udp)) && same_bind(&ep[i], &ep[j])) {
				bool twice = strcmp(ep[i].option, ep[j].option) == 0;
				report(ld, ep[i].line, "%s: `%s' collides with %s%s`%s'%s: the second bind would stop "
				       "ameshd at start with \"Address already in use\"",
				       ep[i].option, ep[i].text, twice ? "" : ep[j].option, twice ? "" : " ", ep[j].text,
				       twice ? " in the same list" : "");
				break;
			}
}

static void check_all(struct load *ld)
{
	struct config *cfg = ld->cfg;
	char q[QUOTE_LEN];

	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (options[i].def == NULL && ld->set_on[i] == 0)
			report(ld, 0, "[%s] %s is required", options[i].section, options[i].key);
	if (strlen(cfg->control) > CONTROL_PATH_MAX) {
		unsigned line = 0;
		for (size_t i = 0; i < OPTION_COUNT; i++)
			if (options[i].set == set_control)
				line = ld->set_on[i];
		report(ld, line, "control: socket path %s is %zu bytes, over the %zu a Unix "
		       "socket address holds; use a shorter or absolute path",
		       quote(q, sizeof q, cfg->control), strlen(cfg->control), CONTROL_PATH_MAX);
	}
	/* Here, not at the header: [peer] may come after the neighbours. */
	for (size_t i = 0; i < cfg->n_neighbours; i++)
		if (cfg->name[0] != '\0' && strcmp(cfg->neighbours[i].name, cfg->name) == 0)
			report(ld, cfg->neighbours[i].line, "neighbour %s has this peer's own name",
			       quote(q, sizeof q, cfg->name));
	/* each threshold parses alone; swapped, no verdict is ever `warn' */
	if (cfg->warn_threshold > cfg->block_threshold) {
		unsigned wl = line_of(ld, set_warn_threshold), bl = line_of(ld, set_block_threshold);
		char wat[32] = " (the default)", bat[32] = " (the default)";
		if (wl)
			snprintf(wat, sizeof wat, " (line %u)", wl);
		if (bl)
			snprintf(bat, sizeof bat, " (line %u)", bl);
		report(ld, wl > bl ? wl : bl, "warn_threshold %u%s is above block_threshold %u%s: every score from %u "
		       "blocks and no verdict is ever `warn'; warn_threshold must not exceed block_threshold",
		       cfg->warn_threshold, wat, cfg->block_threshold, bat, cfg->block_threshold);
	}
	check_rpz(ld);
	check_listen_clash(ld);
	/* where the files the daemon opens were named, for config_files.h */
	cfg->key_line = line_of(ld, set_key);
	cfg->data_dir_line = line_of(ld, set_data_dir);
	cfg->control_line = line_of(ld, set_control);
	cfg->listen_line = line_of(ld, set_listen);
	cfg->dns_listen_line = line_of(ld, set_dns_listen);
	cfg->metrics_listen_line = line_of(ld, set_metrics_listen);
	cfg->weights_line = line_of(ld, set_origin_weights);
}

int config_load_buffer(struct config *cfg, const char *path_for_messages, const char *dir,
                       const char *buf, size_t len, config_diag_fn diag, void *arg)
{
	struct load ld;
	char why[MSG_MAX / 2];

	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->path, sizeof cfg->path, "%s", path_for_messages);
	snprintf(cfg->dir, sizeof cfg->dir, "%s", dir);
	memset(&ld, 0, sizeof ld);
	ld.cfg = cfg;
	ld.path = path_for_messages;
	ld.buf = buf;
	ld.len = len;
	ld.diag = diag;
	ld.arg = arg;

	ld.nb_cur = -1;
	ld.rpz_cur = -1;

	/* Only a peer directory too deep for PATH_MAX makes a default fail. */
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (options[i].set != NULL && options[i].def != NULL &&
		    options[i].set(cfg, options[i].def, why, sizeof why) != 0)
			report(&ld, 0, "default %s: %s", options[i].key, why);
	if (len > CONFIG_FILE_MAX) {
		report(&ld, 0, "file is larger than %u bytes; refusing to parse it", CONFIG_FILE_MAX);
		return AM_ECONFIG;
	}
	parse_all(&ld);
	check_all(&ld);
	if (ld.errors == 0)
		return 0;
	/* A refused file leaves nothing to free, so a caller that gives up
	 * on the error cannot leak. */
	config_free(cfg);
	return AM_ECONFIG;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_neighbours; i++) {
		policy_export_free(&cfg->neighbours[i].exp);
		policy_import_free(&cfg->neighbours[i].imp);
	}
	free(cfg->neighbours);
	cfg->neighbours = NULL;
	cfg->n_neighbours = 0;
	if (cfg->rpz != NULL)
		sodium_memzero(cfg->rpz, CONFIG_RPZ_MAX * sizeof *cfg->rpz); /* TSIG secrets */
	free(cfg->rpz);
	cfg->rpz = NULL;
	cfg->n_rpz = 0;
}

/* Reads at most max + 1 bytes, so the caller can tell "too big" apart. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t cap = CONFIG_FILE_MAX + 1, len = 0;
	char *buf = NULL;
	int fd = -1, rv = AM_EIO;

	*out = NULL;
	/* The config: read-only, not followed into a terminal's control. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		goto fail;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		rv = AM_ENOMEM;
		snprintf(err, errlen, "%s", am_strerror(rv));
		goto fail;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rv;
}

/* Fills cfg with defaults only, for the paths where no file was parsed. */
static void defaults_only(struct config *cfg, const char *path, const char *dir)
{
	config_load_buffer(cfg, path, dir, "", 0, NULL, NULL);
}

int config_load(struct config *cfg, const char *path, config_diag_fn diag, void *arg)
{
	char copy[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], err[AM_ERRLEN];
	char *buf = NULL;
	size_t len = 0;
	int rv;

	if (strlen(path) >= sizeof copy) {
		snprintf(err, sizeof err, "path is longer than %d bytes", PATH_MAX - 1);
		rv = AM_EIO;
		goto fail_early;
	}
	/* dirname and basename may modify their argument: each gets a copy. */
	memcpy(copy, path, strlen(path) + 1);
	if (realpath(dirname(copy), dir) == NULL) {
		snprintf(err, sizeof err, "cannot resolve its directory: %s", strerror(errno));
		rv = AM_EIO;
		goto fail_early;
	}
	memcpy(copy, path, strlen(path) + 1);
	snprintf(base, sizeof base, "%s", basename(copy));

	rv = read_file(path, &buf, &len, err, sizeof err);
	if (rv != 0) {
		defaults_only(cfg, path, dir);
		goto fail;
	}
	rv = config_load_buffer(cfg, path, dir, buf, len, diag, arg);
	free(buf);
	if (resolve(cfg->path, dir, base) != 0) {
		/* dir and base each fit; together they may not. */
		if (diag)
			diag(arg, path, 0, "absolute path of the file is too long");
		config_free(cfg);
		rv = AM_ECONFIG;
	}
	return rv;
fail_early:
	defaults_only(cfg, path, "");
fail:
	if (diag)
		diag(arg, path, 0, err);
	return rv;
}

/* Writes all of buf, retrying short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}


/* Each line of doc as a "# " comment. */
static void append_comment(char **text, size_t *len, const char *doc)
{
	for (const char *p = doc; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		text_append(text, len, "# %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* The template, generated from the option table so the manual in the file
 * can never disagree with the parser about names or defaults. */
static char *template_text(const char *name, const char *listen, size_t *len)
{
	const char *section = "";
	char *text = calloc(1, 1);

	*len = 0;
	text_append(&text, len,
	       "# Abuse Mesh peer configuration.\n"
	       "#\n"
	       "# Lines are `option = value'. Lines starting with '#' or ';' are\n"
	       "# comments, and so is the rest of a line after a blank and '#' or ';'\n"
	       "# (`endpoint = tcp://host:7400   # we dial'). A commented-out option\n"
	       "# shows its default: remove the '#' to change it. Check the file with\n"
	       "# `ameshd --check' after editing.\n");
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		const struct option *o = &options[i];
		const char *value = NULL;

		if (strcmp(o->section, section) != 0) {
			section = o->section;
			if (o->nset != NULL) {
				/* no neighbour is known yet: a commented-out example */
				text_append(&text, len, "\n");
				append_comment(&text, len, neighbour_doc);
				text_append(&text, len, "\n# [%s %s]\n", section, neighbour_example);
			} else {
				text_append(&text, len, "\n[%s]\n", section);
			}
		}
		text_append(&text, len, "\n");
		append_comment(&text, len, o->doc);
		if (o->set == set_name)
			value = name;
		else if (o->set == set_listen && listen != NULL && listen[0] != '\0')
			value = listen;
		if (value != NULL)
			text_append(&text, len, "%s = %s\n", o->key, value);
		else
			text_append(&text, len, "# %s = %s\n", o->key,
			       o->def[0] != '\0' ? o->def : o->example);
	}
	config_rpz_template(&text, len);
	return text;
}

int config_check_init_args(const char *name, const char *listen, char *err, size_t errlen)
{
	struct config scratch;
	char why[MSG_MAX / 2];
	int rv = 0;

	memset(&scratch, 0, sizeof scratch);
	if (set_name(&scratch, name != NULL ? name : "", why, sizeof why) != 0) {
		snprintf(err, errlen, "--name: %s", why);
		rv = AM_EINVAL;
	} else if (listen != NULL && set_listen(&scratch, listen, why, sizeof why) != 0) {
		snprintf(err, errlen, "--listen: %s", why);
		rv = AM_EINVAL;
	}
	config_free(&scratch);
	return rv;
}

int config_write_default(const char *path, const char *name, const char *listen,
                         char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	int fd = -1, rv;

	/* Refuse to write a file that would not load. */
	rv = config_check_init_args(name, listen, err, errlen);
	if (rv != 0)
		return rv;
	text = template_text(name, listen, &len);
	if (text == NULL) {
		snprintf(err, errlen, "%s", am_strerror(AM_ENOMEM));
		return AM_ENOMEM;
	}
	/* The new config: never overwrite an operator's file, never follow a
	 * planted symlink; 0640 since it names paths but holds no secret. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		rv = errno == EEXIST ? AM_EEXIST : AM_EIO;
		snprintf(err, errlen, "%s: %s", path,
		         rv == AM_EEXIST ? "already exists; not overwriting it" : strerror(errno));
		goto fail;
	}
	if (write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		goto fail_unlink;
	}
	rv = close(fd);
	fd = -1;
	if (rv != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		goto fail_unlink;
	}
	free(text);
	return 0;
fail_unlink:
	/* A half-written config would fail to load later, far from the cause. */
	unlink(path);
	rv = AM_EIO;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return rv;
}

void config_untrusted_neighbour(const struct config *cfg, const char *name, char *out, size_t outlen)
{
	/* a distrusted neighbour left in the file stopped the next start,
	 * weeks later at a reboot; the way out must be on the line */
	snprintf(out, outlen, "is not in the trust store %s (distrusted, or never trusted): remove its [neighbour %s] "
	         "section, or trust its key under that name: amesh -c %s keys trust PUBKEY --name %s", cfg->trust_file,
	         name, cfg->path, name);
}

void config_diag_first(void *arg, const char *path, unsigned line, const char *msg)
{
	char *first = arg;

	if (first[0] != '\0')
		return;
	if (line != 0)
		snprintf(first, AM_ERRLEN, "%s:%u: %s", path, line, msg);
	else
		snprintf(first, AM_ERRLEN, "%s: %s", path, msg);
}

/* cliopt.c - option values, usage errors and daemon calls shared by every amesh subcommand. */
#include "cliopt.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "timefmt.h"

const char *cliopt_command = "amesh";

void cliopt_verror(const char *fmt, va_list ap)
{
	fprintf(stderr, "amesh %s: ", cliopt_command);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cliopt_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cliopt_verror(fmt, ap);
	va_end(ap);
}

void cliopt_vusage_error(const char *fmt, va_list ap)
{
	fprintf(stderr, "amesh %s: ", cliopt_command);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see `amesh %s --help')\n", cliopt_command);
	exit(CLIOPT_EXIT_ERR);
}

void cliopt_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cliopt_vusage_error(fmt, ap);
}

long cliopt_int(const char *opt, const char *v, long min, long max, const char *what)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (*v == '\0' || *end || errno || n < min || n > max)
		cliopt_usage_error("%s `%s' must be %s", opt, v, what);
	return n;
}

enum am_category cliopt_category(const char *v)
{
	enum am_category c;
	if (am_category_parse(v, &c) != 0)
		cliopt_usage_error("unknown category `%s' (expected phishing, malware, botnet, pharming or spam)", v);
	return c;
}

enum am_tlp cliopt_tlp(const char *opt, const char *v)
{
	enum am_tlp t;
	if (am_tlp_parse(v, &t) != 0)
		cliopt_usage_error("%s `%s' is not a sharing level (expected clear, green, amber, amber+strict or red)",
		                   opt, v);
	return t;
}

uint64_t cliopt_expires(const char *v)
{
	uint64_t t;
	if (timefmt_parse_rfc3339(v, &t) != 0)
		cliopt_usage_error("--expires `%s' is not an RFC 3339 time such as 2026-12-01T00:00:00Z", v);
	return t;
}

uint64_t cliopt_ttl(const char *v)
{
	uint64_t d;
	if (timefmt_parse_duration(v, &d) != 0 || d == 0)
		cliopt_usage_error("--ttl `%s' is not a duration such as 90s, 12h, 7d or 2w", v);
	/* the caller adds it to now: past 2^64 the expiry wrapped to a time
	 * before now, and the error quoted that time, not the --ttl given */
	if (d > UINT64_MAX - timefmt_now())
		cliopt_usage_error("--ttl `%s' reaches past any time an expiry can name", v);
	return d;
}

uint64_t cliopt_since(const char *opt, const char *v)
{
	uint64_t t, d, now = timefmt_now();
	char nowtext[TIMEFMT_LEN];

	/* a date alone (RFC 3339's full-date, `report --since 2026-11-01'):
	 * midnight UTC of that day */
	char midnight[32];
	if (strlen(v) == 10 && v[4] == '-' && v[7] == '-')
		snprintf(midnight, sizeof midnight, "%sT00:00:00Z", v);
	else
		snprintf(midnight, sizeof midnight, "-");
	if (timefmt_parse_rfc3339(v, &t) == 0 || timefmt_parse_rfc3339(midnight, &t) == 0) {
		if (t > now) {
			timefmt_rfc3339(now, nowtext);
			cliopt_usage_error("%s `%s' is in the future (it is now %s): nothing happened after it", opt, v,
			                   nowtext);
		}
		return t;
	}
	/* a duration reaching back before 1970 reaches back before anything
	 * held: everything (0), never an error or a wrapped time */
	if (timefmt_parse_duration(v, &d) == 0)
		return d < now ? now - d : 0;
	cliopt_usage_error("%s `%s' is neither an RFC 3339 time nor a duration such as 7d", opt, v);
}

void cliopt_origin(const char *opt, const char *v, struct wire_request *req, bool names)
{
	size_t len = strlen(v), bin_len;
	uint8_t pk[AM_KEY_BYTES];

	if ((len == 2 * AM_KEYID_BYTES || len == 2 * AM_KEY_BYTES) &&
	    sodium_hex2bin(req->origin, sizeof req->origin, v, len, NULL, &bin_len, NULL) == 0 && bin_len == len / 2) {
		req->origin_len = bin_len;
		return;
	}
	if (keyfile_parse_public(v, pk, NULL, 0, NULL, 0) == 0) {
		memcpy(req->origin, pk, AM_KEY_BYTES);
		req->origin_len = AM_KEY_BYTES;
		return;
	}
	if (names && len > 0 && len < sizeof req->origin_name) {
		snprintf(req->origin_name, sizeof req->origin_name, "%s", v);
		return;
	}
	cliopt_usage_error("%s `%s' is not %sa key id (16 hex digits), a key (64) or a public-key line", opt, v,
	                   names ? "a trust-store name, " : "");
}

int cliopt_call(struct client *cl, struct wire_request *req, struct wire_response *resp)
{
	char err[AM_ERRLEN];

	if (client_call(cl, req, resp, err, sizeof err) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	if (resp->status != 0) {
		cliopt_error("%s", resp->error[0] ? resp->error : am_strerror(resp->status));
		wire_response_clear(resp);
		return CLIOPT_EXIT_ERR;
	}
	return 0;
}

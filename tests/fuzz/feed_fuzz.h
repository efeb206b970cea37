/*
 * feed_fuzz.h - the body every feed-parser fuzz target shares: a format,
 * its seeds, and a sink that checks what the parser reports.
 *
 * A target defines FEED_FORMAT and the seeds array, then includes this.
 * Inputs are capped at FEED_FUZZ_MAX (a feed file may be 256 MiB; what
 * matters to the parser is structure, and the cap keeps each run fast).
 * Invariants checked: every entry's name is NUL-terminated, not longer
 * than DOMAIN_INPUT_MAX and from a line that exists, and revoked only
 * when the sink asked for revocations (read both ways); every skip has a
 * known reason and a line in range; the parser returns 0 or an am_err; and
 * feed_detect never says "auto".
 */
#ifndef AMESH_FEED_FUZZ_H
#define AMESH_FEED_FUZZ_H

#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "feed.h"
#include "fuzz.h"

#define FEED_FUZZ_MAX 65536

struct check {
	size_t lines; /* lines in the input, +1 for a last line without '\n' */
	bool withdraw; /* the sink's withdraw_revoked */
};

static int check_entry(void *arg, const struct feed_entry *e)
{
	const struct check *c = arg;
	if (e->name == NULL || strlen(e->name) > DOMAIN_INPUT_MAX || e->line > c->lines)
		abort();
	if (e->confidence < -1 || e->confidence > 100 || (unsigned)e->category >= AM_CAT_COUNT ||
	    (unsigned)e->tlp >= AM_TLP_COUNT)
		abort();
	if ((e->input_len && e->input == NULL) || (e->revoked && !c->withdraw))
		abort();
	return 0;
}

static void check_skip(void *arg, size_t line, enum feed_skip reason, const char *input, size_t len,
                       const char *detail)
{
	const struct check *c = arg;
	if (reason <= FEED_SKIP_NONE || reason >= FEED_SKIP_COUNT || line > c->lines || (len && input == NULL))
		abort();
	if (detail && strlen(detail) > 4096)
		abort();
}

/* A JSON parser names the object it is in: short, and always cleared. */
static void check_where(void *arg, const char *where)
{
	(void)arg;
	if (where && strlen(where) > 200)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[AM_ERRLEN];
	struct check c = {.lines = 1};
	struct feed_sink sink = {.entry = check_entry, .skip = check_skip, .where = check_where, .arg = &c};

	if (size > FEED_FUZZ_MAX)
		size = FEED_FUZZ_MAX;
	for (size_t i = 0; i < size; i++)
		c.lines += data[i] == '\n';
	int rv = feed_parse(FEED_FORMAT, (const char *)data, size, &sink, err, sizeof err);
	if (rv > 0 || rv < AM_ERR_MIN)
		abort();
	/* and with what the feed revoked read as names to withdraw */
	c.withdraw = sink.withdraw_revoked = true;
	rv = feed_parse(FEED_FORMAT, (const char *)data, size, &sink, err, sizeof err);
	if (rv > 0 || rv < AM_ERR_MIN)
		abort();
	c.withdraw = sink.withdraw_revoked = false;
	/* feed_parse refuses a file with a NUL in its first 8000 bytes as
	 * binary: the parser behind that check gets the same bytes with each
	 * NUL made 0x01, so mutations that add one still reach it */
	if (rv == AM_EDECODE && memchr(data, 0, size < 8000 ? size : 8000)) {
		static char copy[FEED_FUZZ_MAX];
		for (size_t i = 0; i < size; i++)
			copy[i] = data[i] ? (char)data[i] : '\x01';
		rv = feed_parse(FEED_FORMAT, copy, size, &sink, err, sizeof err);
		if (rv > 0 || rv < AM_ERR_MIN)
			abort();
	}
	/* the importer makes a lone-CR file's CRs LFs first (feed_cr_lines):
	 * the parsers get those bytes too */
	static char crl[FEED_FUZZ_MAX];
	memcpy(crl, data, size);
	if (feed_cr_lines(crl, size)) {
		struct check c2 = {.lines = 1};
		for (size_t i = 0; i < size; i++)
			c2.lines += crl[i] == '\n';
		sink.arg = &c2;
		rv = feed_parse(FEED_FORMAT, crl, size, &sink, err, sizeof err);
		if (rv > 0 || rv < AM_ERR_MIN)
			abort();
		if (memchr(crl, '\r', size))
			abort();
	}
	if (feed_detect((const char *)data, size) == FEED_AUTO)
		abort();
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	if (i >= sizeof seeds / sizeof seeds[0])
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}

#endif

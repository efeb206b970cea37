/* fuzz_stix_pattern.c - fuzz target for stix_pattern_parse() and stix_pattern_value(), the bytes of a STIX pattern. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "stix_pattern.h"

static const char *const seeds[] = {
	"[domain-name:value = 'evil.example' OR ipv4-addr:value = '198.51.100.7']",
	"[url:value = 'http://a.example/x'] OR [ipv4-addr:value = '203.0.113.9']",
	"([domain-name:value = 'a'] AND [b:c[*].'d e' IN ('x', 1, -2.5, true, h'ff', b'AA==')]) FOLLOWEDBY "
	"[url:value NOT LIKE 'y%'] WITHIN 300 SECONDS REPEATS 2 TIMES START t'2016-06-01T00:00:00Z' STOP "
	"t'2016-07-01T00:00:00Z'",
	"[(domain-name:value = 'it\\'s' OR (domain-name:value = 'b\\\\s')) OR EXISTS x:y] OR ([domain-name:value IN ()])",
	"[domain-name:value = 'a\\x'",
	/* a disjunct beside AND groups and qualifiers, at both levels */
	"[domain-name:value = 'a.example'] OR ([ipv4-addr:value = '1.2.3.4'] AND [file:hashes.MD5 = 'ab']) OR "
	"[domain-name:value = 'q.example'] REPEATS 3 TIMES OR [domain-name:value = 'a' OR (domain-name:value = 'b' "
	"AND network-traffic:dst_port = 443)] FOLLOWEDBY [url:value = 'http://c/'] WITHIN 5 SECONDS",
};

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	if (i >= sizeof seeds / sizeof *seeds)
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stix_pattern pat;
	const char *p = (const char *)data;
	char err[256], v[64];

	int rv = stix_pattern_parse(p, size, &pat, err, sizeof err);
	if (rv != 0) {
		/* one line of printable text, saying where */
		if ((rv != AM_EDECODE && rv != AM_ETOOBIG) || (strncmp(err, "at byte ", 8) != 0 && strncmp(err, "a pattern of ", 13) != 0))
			abort();
		for (const char *e = err; *e; e++)
			if ((unsigned char)*e < 0x20 || (unsigned char)*e >= 0x7f)
				abort();
		return 0;
	}
	if (pat.ncmp > STIX_PATTERN_CMP_MAX || pat.nvalues > STIX_PATTERN_VALUE_MAX)
		abort();
	size_t values = 0;
	for (size_t k = 0; k < pat.ncmp; k++) {
		const struct stix_cmp *c = &pat.cmp[k];
		if (c->text.off + c->text.len > size || c->text.len == 0)
			abort();
		/* what binds it is that keyword, at that byte, outside the
		 * comparison */
		if (c->bound && (c->bound_at + strlen(c->bound) > size ||
		                 memcmp(p + c->bound_at, c->bound, strlen(c->bound)) != 0 ||
		                 (c->bound_at >= c->text.off && c->bound_at < c->text.off + c->text.len)))
			abort();
		if (c->use == STIX_CMP_SKIP) {
			if (!c->why)
				abort();
			continue;
		}
		/* a value is inside its comparison, and named in order */
		if (c->why || c->n == 0 || c->first != values)
			abort();
		for (size_t j = 0; j < c->n; j++) {
			struct stix_span s = pat.values[c->first + j];
			if (s.off < c->text.off || s.off + s.len > c->text.off + c->text.len || s.len == 0)
				abort();
			size_t n = stix_pattern_value(p, s, v, sizeof v);
			if (n == 0 || n > s.len || strlen(v) != (n < sizeof v ? n : sizeof v - 1))
				abort();
		}
		values += c->n;
	}
	if (values != pat.nvalues)
		abort();
	return 0;
}

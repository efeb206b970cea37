/* fuzz_sighting_log.c - resolver log lines and whole logs, as `amesh sightings import' reads them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sighting_log.h"

static int on_hit(void *arg, const struct sighting_hit *h)
{
	(void)arg;
	/* what a hit holds is bounded and a name */
	if (!h->qname[0] || strlen(h->qname) > AM_QNAME_MAX || strlen(h->zone) > AM_DOMAIN_MAX || h->at == 0)
		abort();
	return 0;
}

static int on_bad(void *arg, uint64_t line, const char *why)
{
	(void)arg;
	if (line == 0 || !why[0])
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sighting_hit h;
	char why[AM_ERRLEN];

	for (int f = SIGHTING_AUTO; f <= SIGHTING_BIND; f++) {
		int rv = sighting_log_line((const char *)data, size, (enum sighting_format)f, 1796048455, &h, why,
		                           sizeof why);
		if (rv == SIGHTING_LOG_HIT)
			on_hit(NULL, &h);
		else if (rv == SIGHTING_LOG_BAD && !why[0])
			abort(); /* every refusal says why */
		else if (rv != SIGHTING_LOG_BAD && rv != SIGHTING_LOG_SKIP && rv != SIGHTING_LOG_HIT)
			abort();
	}
	/* the same bytes as a whole log, through the bounded line reader */
	FILE *fp = fmemopen((void *)data, size ? size : 1, "r");
	if (fp) {
		struct sighting_log_scan s = {.format = SIGHTING_AUTO, .now = 1796048455, .on_hit = on_hit,
		                              .on_bad = on_bad};
		if (size)
			(void)sighting_log_scan(fp, &s);
		fclose(fp);
	}
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		"[1796048455] unbound[28923:0] info: rpz: applied evil.example.com. rpz-nxdomain 127.0.0.1@50614 "
		"evil.example.com. A IN\n",
		"[1796048455] unbound[28923:0] info: rpz: applied [abuse] *.evil.example.com. rpz-nxdomain "
		"127.0.0.1@45355 www.evil.example.com. A IN\n",
		"[1796048455] unbound[28923:0] info: local.example.net. always_nxdomain 192.0.2.77@38335 "
		"x.local.example.net. A IN\n",
		"30-Nov-2026 14:20:55.617 client @0x7f43294f1098 127.0.0.1#48533 (evil.example.com): rpz QNAME NXDOMAIN "
		"rewrite evil.example.com/A/IN via evil.example.com.rpz.amesh.test\n",
		"Nov 30 14:20:55 ns1 named[812]: client @0x7f 10.0.0.1#5353 (a.evil.example.com): rpz QNAME CNAME "
		"rewrite a.evil.example.com/A/IN via a.evil.example.com.rpz.amesh.test (CNAME to: w.example)\n",
		"<30>1 2026-11-30T14:20:55.100+01:00 rpz QNAME NODATA rewrite b/AAAA/IN via b.z\n",
	};
	if (i >= sizeof seeds / sizeof *seeds)
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}

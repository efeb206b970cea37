/* fuzz_httpreq.c - HTTP request heads from anyone who can reach metrics_listen. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq r;
	const char *buf = (const char *)data;
	int rv = httpreq_parse(buf, size, &r);

	switch (rv) {
	case HTTPREQ_MORE:
		if (size >= HTTPREQ_HEAD_MAX)
			abort(); /* an unbounded wait for more */
		break;
	case HTTPREQ_OK:
		if (r.head_len == 0 || r.head_len > size || r.head_len > HTTPREQ_HEAD_MAX)
			abort();
		if (r.target[0] != '/' || strlen(r.target) > HTTPREQ_TARGET_MAX)
			abort();
		for (const char *p = r.target; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				abort();
		if (r.minor != 0 && r.minor != 1)
			abort();
		/* the answer depends on the head alone, and no prefix of a good head
		 * is an error: the responder never refuses a request still arriving */
		struct httpreq again;
		if (httpreq_parse(buf, r.head_len, &again) != HTTPREQ_OK || strcmp(again.target, r.target) != 0)
			abort();
		for (size_t cut = 0; cut < r.head_len; cut += 1 + r.head_len / 8)
			if (httpreq_parse(buf, cut, &again) != HTTPREQ_MORE)
				abort();
		(void)httpreq_target_is(&r, "/metrics");
		break;
	case 400:
	case 414:
	case 431:
	case 501:
	case 505:
		break;
	default:
		abort();
	}
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.42.0\r\n"
		"Accept: text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n\r\n",
		"HEAD /metrics?x=%41%zz HTTP/1.0\n\n",
		"POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		"GET /%2e%2e/%00 HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET /metrics HTTP/2.0\r\n\r\n",
	};
	if (i >= sizeof seeds / sizeof *seeds)
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		abort();
	memcpy(buf, seeds[i], n);
	return n;
}

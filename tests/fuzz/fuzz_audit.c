/* fuzz_audit.c - audit_verify, audit_read and audit_open over arbitrary audit.log contents. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "fuzz.h"

#define T0 1700000000ull

/* One fixed file per process: the parsers read files, not buffers, and a
 * pid in the name keeps parallel runs (ctest -j) apart. */
static const char *input_path(void)
{
	static char path[64];

	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/fuzz_audit.%ld.log", (long)getpid());
	return path;
}

static void put_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (size > 0) {
		ssize_t w = write(fd, data, size);
		if (w <= 0)
			abort();
		data += w;
		size -= (size_t)w;
	}
	close(fd);
}

struct seen {
	uint64_t n, last_seq;
};

/* Whatever the file, a delivered record is one the writer could have made. */
static int check_record(void *arg, const struct audit_record *r)
{
	struct seen *s = arg;
	size_t o = strlen(r->origin);

	if (r->event[0] == '\0' || (o != 0 && o != 16) || r->category < AM_CAT_NONE ||
	    r->category >= AM_CAT_COUNT || (s->n > 0 && r->seq != s->last_seq + 1) ||
	    strlen(r->detail) > AUDIT_DETAIL_MAX || strlen(r->domain) > AM_DOMAIN_MAX)
		abort();
	s->n++;
	s->last_seq = r->seq;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = input_path();
	char err[AM_ERRLEN], err2[AM_ERRLEN];
	uint64_t records = 0, bad = 0, after = 0;
	struct seen s = { 0, 0 };
	struct audit *a = NULL;
	int vrv, rrv, orv;

	put_file(path, data, size);
	vrv = audit_verify(path, &records, &bad, err, sizeof err);
	if (vrv != 0 && (vrv != AM_EDECODE || bad == 0 || err[0] == '\0'))
		abort();
	rrv = audit_read(path, NULL, 0, check_record, &s, err2, sizeof err2);
	/* read checks the same chain, and tolerates only a torn last line */
	if (vrv == 0 && (rrv != 0 || s.n != records))
		abort();
	if (rrv != 0 && rrv != AM_EDECODE)
		abort();

	/* A file audit_open accepts is one it can go on writing: after one
	 * more record the whole file must verify. */
	orv = audit_open(&a, path, err, sizeof err);
	if (vrv == 0 && orv != 0)
		abort();
	if (orv == 0) {
		struct audit_event e = { .event = "accepted", .domain = "fuzz.example", .detail = "x y" };
		if (audit_append(a, T0, &e) != 0)
			abort();
		if (audit_verify(path, &after, &bad, err, sizeof err) != 0)
			abort();
		if (vrv == 0 && after != records + 1)
			abort();
		/* and so is one it prunes (now and then: a prune fsyncs) */
		if (size % 16 == 0) {
			uint64_t now = T0 + (size > 0 ? data[0] : 0) * 86400ull;
			if (audit_prune(a, now, 86400, err, sizeof err) != 0 ||
			    audit_verify(path, &after, &bad, err, sizeof err) != 0)
				abort();
		}
		audit_close(a);
	} else if (orv != AM_EDECODE && orv != AM_EIO) {
		abort();
	}
	unlink(path);
	return 0;
}

/* ---- seeds: real files, written by audit_append ---------------------- */

static size_t take_file(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd >= 0) {
		ssize_t r = read(fd, buf, cap);
		n = r > 0 ? (size_t)r : 0;
		close(fd);
	}
	unlink(path);
	return n;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char torn[] = "4 2023-11-14T22:13:23Z accepted exa";
	char path[64], tmp[80], err[AM_ERRLEN];
	uint8_t pk[AM_KEY_BYTES];
	struct audit *a = NULL;
	size_t n;

	if (i > 4)
		return 0;
	snprintf(path, sizeof path, "/tmp/fuzz_audit_seed.%ld.log", (long)getpid());
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(path);
	if (audit_open(&a, path, err, sizeof err) != 0)
		abort();
	memset(pk, 0x5a, sizeof pk);
	struct audit_event plain[] = {
		{ "received", "phish.example", AM_CAT_PHISHING, pk, "apnic", NULL, "hop 2" },
		{ "accepted", "phish.example", AM_CAT_PHISHING, pk, "apnic", "min-confidence", NULL },
		{ "relayed", "phish.example", AM_CAT_PHISHING, pk, "cert-xy", "export", "-" },
	};
	struct audit_event hostile = { "rejected", "a b\n%c-\xc3\xa9.example", AM_CAT_SPAM, NULL, "-",
	                               "%2D", "100% \"odd\"\r\n\t\x7f\xff -" };
	struct audit_event bare = { "trust_added", NULL, AM_CAT_NONE, NULL, NULL, NULL, NULL };

	switch (i) {
	case 0:
	case 3:
		for (size_t k = 0; k < 3; k++)
			if (audit_append(a, T0 + k, &plain[k]) != 0)
				abort();
		break;
	case 1:
		if (audit_append(a, T0, &hostile) != 0 || audit_append(a, T0 + 1, &plain[0]) != 0)
			abort();
		break;
	case 2: /* pruned: an anchor, then the kept records */
		for (size_t k = 0; k < 3; k++)
			if (audit_append(a, T0 + 100 * k, &plain[k]) != 0)
				abort();
		if (audit_prune(a, T0 + 250, 100, err, sizeof err) != 0)
			abort();
		break;
	default:
		if (audit_append(a, T0, &bare) != 0 || audit_append(a, T0 + 1, &bare) != 0)
			abort();
	}
	audit_close(a);
	n = take_file(path, buf, cap);
	unlink(tmp);
	if (i == 3 && n + sizeof torn - 1 <= cap) {
		/* a crash while writing the fourth record */
		memcpy(buf + n, torn, sizeof torn - 1);
		n += sizeof torn - 1;
	}
	return n;
}

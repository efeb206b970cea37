/* test_audit.c - unit tests for audit.c: the chain, tamper evidence, torn lines, held records, encoding, filters,
 * pruning, threads. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define T0 1700000000ull
#define FILE_MAX (1u << 20)
#define RECS_MAX 1200

/* ---- fixtures --------------------------------------------------------- */

struct fx {
	char dir[64];
	char path[96];
	char copy[96];
	struct audit *a;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[AM_ERRLEN];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_audit.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/audit.log", f->dir);
	snprintf(f->copy, sizeof(f->copy), "%s/copy.log", f->dir);
	int rc = audit_open(&f->a, f->path, err, sizeof(err));
	if (rc != 0)
		fail_msg("audit_open: %s: %s", am_strerror(rc), err);
	assert_string_equal(err, "");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char tmp[128];

	audit_close(f->a);
	unlink(f->path);
	unlink(f->copy);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fx *f, char *err)
{
	audit_close(f->a);
	f->a = NULL;
	int rc = audit_open(&f->a, f->path, err, AM_ERRLEN);
	if (rc != 0)
		fail_msg("audit_open: %s: %s", am_strerror(rc), err);
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap, fp);
	assert_true(n < cap);
	fclose(fp);
	return n;
}

static void spit(const char *path, const char *buf, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void add(struct fx *f, uint64_t t, const char *event, const char *domain, const char *detail)
{
	struct audit_event e = { .event = event, .domain = domain, .category = AM_CAT_PHISHING,
	                         .neighbour = "apnic", .rule = "min-confidence", .detail = detail };
	int rc = audit_append(f->a, t, &e);
	if (rc != 0)
		fail_msg("audit_append: %s", am_strerror(rc));
}

/* Records read back, copied out. */
struct got {
	size_t n;
	struct audit_record r[RECS_MAX];
};

static int collect(void *arg, const struct audit_record *r)
{
	struct got *g = arg;

	assert_true(g->n < RECS_MAX);
	g->r[g->n++] = *r;
	return 0;
}

static struct got *read_all(const char *path, const char *domain, uint64_t since)
{
	struct got *g = calloc(1, sizeof(*g));
	char err[AM_ERRLEN];

	assert_non_null(g);
	int rc = audit_read(path, domain, since, collect, g, err, sizeof(err));
	if (rc != 0)
		fail_msg("audit_read: %s: %s", am_strerror(rc), err);
	return g;
}

static void assert_verifies(const char *path, uint64_t want)
{
	uint64_t records = 99, bad = 99;
	char err[AM_ERRLEN];

	int rc = audit_verify(path, &records, &bad, err, sizeof(err));
	if (rc != 0)
		fail_msg("audit_verify: %s: %s", am_strerror(rc), err);
	assert_int_equal(records, want);
	assert_int_equal(bad, 0);
	assert_string_equal(err, "");
}

/* Verify must fail; returns the bad line, err in err (AM_ERRLEN). */
static uint64_t assert_broken(const char *path, char *err)
{
	uint64_t records = 99, bad = 0;

	int rc = audit_verify(path, &records, &bad, err, AM_ERRLEN);
	if (rc != AM_EDECODE)
		fail_msg("audit_verify accepted a damaged file (rc %d)", rc);
	assert_true(bad >= 1);
	assert_int_equal(records, 0);
	assert_string_not_equal(err, "");
	return bad;
}

/* Offsets of the starts of each line in buf; returns the count. */
static size_t line_starts(const char *buf, size_t n, size_t *starts, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < cap; i++)
		if (i == 0 || buf[i - 1] == '\n')
			starts[k++] = i;
	return k;
}

/* ---- chain ------------------------------------------------------------ */

static void test_append_then_verify(void **state)
{
	struct fx *f = *state;
	struct stat st;

	for (int i = 0; i < 5; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "ok");
	assert_int_equal(audit_flush(f->a), 0);
	assert_verifies(f->path, 5);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 5);
	for (size_t i = 0; i < g->n; i++) {
		assert_int_equal(g->r[i].seq, i + 1);
		assert_int_equal(g->r[i].time, T0 + i);
		assert_string_equal(g->r[i].event, "accepted");
		assert_int_equal(g->r[i].category, AM_CAT_PHISHING);
		assert_string_equal(g->r[i].origin, "");
	}
	free(g);
}

static void test_empty_file_verifies(void **state)
{
	struct fx *f = *state;

	assert_verifies(f->path, 0);
}

static void test_line_format(void **state)
{
	struct fx *f = *state;
	uint8_t pk[AM_KEY_BYTES];
	char id[2 * AM_KEYID_BYTES + 1], buf[4096], want[512];
	struct audit_event e = { .event = "rejected", .domain = "bad.example", .category = AM_CAT_MALWARE,
	                         .origin = pk, .neighbour = NULL, .rule = NULL, .detail = NULL };

	memset(pk, 7, sizeof(pk));
	am_keyid_hex(pk, id);
	assert_int_equal(audit_append(f->a, T0, &e), 0);
	size_t n = slurp(f->path, buf, sizeof(buf));
	snprintf(want, sizeof(want), "1 2023-11-14T22:13:20Z rejected bad.example malware %s - - - ", id);
	assert_true(n == strlen(want) + 64 + 1);
	assert_memory_equal(buf, want, strlen(want));
	assert_int_equal(buf[n - 1], '\n');
}

static void test_reopen_continues_chain(void **state)
{
	struct fx *f = *state;
	char err[AM_ERRLEN];

	for (int i = 0; i < 3; i++)
		add(f, T0 + (uint64_t)i, "received", "example.com", "first run");
	reopen(f, err);
	assert_string_equal(err, "");
	for (int i = 0; i < 2; i++)
		add(f, T0 + 10 + (uint64_t)i, "relayed", "example.com", "second run");
	reopen(f, err);
	add(f, T0 + 20, "expired", "example.com", NULL);
	assert_verifies(f->path, 6);
	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(g->r[i].seq, i + 1);
	assert_string_equal(g->r[3].event, "relayed");
	assert_string_equal(g->r[5].detail, "");
	free(g);
}

/* ---- tamper evidence -------------------------------------------------- */

static void test_every_bit_flip_is_detected(void **state)
{
	struct fx *f = *state;
	static char buf[8192], mut[8192];
	char err[AM_ERRLEN];
	uint8_t pk[AM_KEY_BYTES];
	struct audit_event e = { .event = "originated", .domain = "x.example", .origin = pk,
	                         .category = AM_CAT_BOTNET, .detail = "a b%" };

	memset(pk, 1, sizeof(pk));
	add(f, T0, "received", "example.com", "one");
	assert_int_equal(audit_append(f->a, T0 + 1, &e), 0);
	add(f, T0 + 2, "withdrawn", NULL, "-");
	size_t n = slurp(f->path, buf, sizeof(buf));
	assert_verifies(f->path, 3);

	for (size_t off = 0; off < n; off++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(mut, buf, n);
			mut[off] ^= (char)(1 << bit);
			spit(f->copy, mut, n);
			uint64_t records, bad = 0;
			int rc = audit_verify(f->copy, &records, &bad, err, sizeof(err));
			if (rc != AM_EDECODE)
				fail_msg("flipping bit %d of byte %zu (0x%02x) went unnoticed (rc %d)", bit,
				         off, (unsigned char)buf[off], rc);
			assert_true(bad >= 1 && bad <= 3);
		}
}

static void test_removed_swapped_forged_lines_are_detected(void **state)
{
	struct fx *f = *state;
	static char buf[8192], mut[8192];
	char err[AM_ERRLEN];
	size_t st[8];

	for (int i = 0; i < 4; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "x");
	size_t n = slurp(f->path, buf, sizeof(buf));
	assert_int_equal(line_starts(buf, n, st, 8), 4);
	size_t len1 = st[2] - st[1], len2 = st[3] - st[2];

	/* line 2 removed */
	memcpy(mut, buf, st[1]);
	memcpy(mut + st[1], buf + st[2], n - st[2]);
	spit(f->copy, mut, n - len1);
	assert_int_equal(assert_broken(f->copy, err), 2);
	assert_non_null(strstr(err, "sequence number 3 where 2 was expected"));

	/* first line removed */
	spit(f->copy, buf + st[1], n - st[1]);
	assert_int_equal(assert_broken(f->copy, err), 1);

	/* lines 2 and 3 swapped */
	memcpy(mut, buf, st[1]);
	memcpy(mut + st[1], buf + st[2], len2);
	memcpy(mut + st[1] + len2, buf + st[1], len1);
	memcpy(mut + st[3], buf + st[3], n - st[3]);
	spit(f->copy, mut, n);
	assert_int_equal(assert_broken(f->copy, err), 2);

	/* last line duplicated */
	memcpy(mut, buf, n);
	memcpy(mut + n, buf + st[3], n - st[3]);
	spit(f->copy, mut, n + (n - st[3]));
	assert_int_equal(assert_broken(f->copy, err), 5);

	/* a forged fifth record: right sequence number, a hash that is not */
	memcpy(mut, buf, n);
	size_t m = n + (size_t)snprintf(mut + n, sizeof(mut) - n,
	                                "5 2023-11-14T22:13:24Z accepted example.com phishing - - - forged %064d\n", 0);
	spit(f->copy, mut, m);
	assert_int_equal(assert_broken(f->copy, err), 5);
	assert_string_equal(err, "line 5: hash does not match (record altered, or a record before it was removed)");

	/* the forgery with line 4's own hash pasted on */
	memcpy(mut + n, buf + st[3], n - st[3]);
	mut[n] = '5';
	spit(f->copy, mut, n + (n - st[3]));
	assert_int_equal(assert_broken(f->copy, err), 5);
	assert_non_null(strstr(err, "hash does not match"));

	/* and the real file still verifies */
	assert_verifies(f->path, 4);
}

static void test_open_refuses_broken_chain(void **state)
{
	struct fx *f = *state;
	static char buf[8192];
	char err[AM_ERRLEN];
	struct audit *b = NULL;

	for (int i = 0; i < 3; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "x");
	size_t n = slurp(f->path, buf, sizeof(buf));
	char *p = strstr(buf, "example.com");
	p = strstr(p + 1, "example.com"); /* in line 2 */
	p[0] = 'E';
	spit(f->copy, buf, n);
	assert_int_equal(audit_open(&b, f->copy, err, sizeof(err)), AM_EDECODE);
	assert_null(b);
	assert_non_null(strstr(err, "line 2: hash does not match"));

	/* a line longer than AUDIT_LINE_MAX is corruption, not a record */
	memset(buf, 'a', 3000);
	buf[3000] = '\n';
	spit(f->copy, buf, 3001);
	assert_int_equal(audit_open(&b, f->copy, err, sizeof(err)), AM_EDECODE);
	assert_non_null(strstr(err, "line 1: longer than"));
	uint64_t bad = 0;
	assert_int_equal(audit_verify(f->copy, NULL, &bad, err, sizeof(err)), AM_EDECODE);
	assert_int_equal(bad, 1);
}

static void test_open_refuses_symlink(void **state)
{
	struct fx *f = *state;
	char err[AM_ERRLEN];
	struct audit *b = NULL;

	assert_int_equal(symlink(f->path, f->copy), 0);
	assert_int_equal(audit_open(&b, f->copy, err, sizeof(err)), AM_EIO);
	assert_null(b);
}

static void test_torn_last_line_is_cut_and_chain_continues(void **state)
{
	struct fx *f = *state;
	static char buf[8192];
	char err[AM_ERRLEN];

	for (int i = 0; i < 3; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "x");
	size_t n = slurp(f->path, buf, sizeof(buf));
	audit_close(f->a);
	f->a = NULL;
	/* a crash in the middle of writing record 4 */
	static const char torn[] = "4 2023-11-14T22:13:23Z accepted exam";
	int fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, torn, strlen(torn)), (ssize_t)strlen(torn));
	close(fd);

	/* verify says so, and where; read skips it with a warning */
	assert_int_equal(assert_broken(f->path, err), 4);
	assert_non_null(strstr(err, "incomplete"));
	struct got *g = calloc(1, sizeof(*g));
	assert_non_null(g);
	assert_int_equal(audit_read(f->path, NULL, 0, collect, g, err, sizeof(err)), 0);
	assert_int_equal(g->n, 3);
	assert_non_null(strstr(err, "warning"));
	free(g);

	int rc = audit_open(&f->a, f->path, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(err, "warning"));
	assert_non_null(strstr(err, "line 4"));
	assert_int_equal(slurp(f->path, buf + n, sizeof(buf) - n), n);
	add(f, T0 + 3, "relayed", "example.com", "after the crash");
	assert_verifies(f->path, 4);
	g = read_all(f->path, NULL, 0);
	assert_int_equal(g->r[3].seq, 4);
	assert_string_equal(g->r[3].detail, "after the crash");
	free(g);
}

/* RLIMIT_FSIZE makes write(2) stop part way, the way a full disk does. */
static void test_short_write_is_rolled_back(void **state)
{
	struct fx *f = *state;
	struct rlimit old, lim;
	struct stat st;

	add(f, T0, "accepted", "example.com", "before");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 40;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	struct audit_event e = { .event = "accepted", .domain = "example.com", .detail = "cut short" };
	int rc = audit_append(f->a, T0 + 1, &e);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, AM_EIO);

	struct stat after;
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(after.st_size, st.st_size);
	assert_verifies(f->path, 1);
	add(f, T0 + 2, "accepted", "example.com", "after");
	/* the dropped record is said, in the chain, before the next one */
	assert_verifies(f->path, 3);
	struct got *g = read_all(f->path, NULL, 0);
	assert_string_equal(g->r[1].event, "audit_gap");
	assert_non_null(strstr(g->r[1].detail, "1 record from 2023-11-14T22:13:21Z to 2023-11-14T22:13:21Z"));
	assert_non_null(strstr(g->r[1].detail, "could not be written (disk full or I/O error)"));
	assert_string_equal(g->r[2].detail, "after");
	free(g);
	/* and to a query for a name: what is missing may have been about it */
	g = read_all(f->path, "other.example", 0);
	assert_int_equal(g->n, 1);
	assert_string_equal(g->r[0].event, "audit_gap");
	free(g);
	/* said once */
	add(f, T0 + 3, "accepted", "example.com", "later");
	assert_verifies(f->path, 4);
}

/* ---- held records (audit_hold) ---------------------------------------- */

static void hold(struct fx *f, uint64_t t, const char *event, const char *domain, const char *detail)
{
	struct audit_event e = { .event = event, .domain = domain, .category = AM_CAT_PHISHING,
	                         .neighbour = "apnic", .rule = "min-confidence", .detail = detail };
	int rc = audit_hold(f->a, t, &e);
	if (rc != 0)
		fail_msg("audit_hold: %s", am_strerror(rc));
}

/* Held and released, the file is byte for byte what appends would write. */
static void test_held_records_are_the_appended_ones(void **state)
{
	struct fx *f = *state;
	static char a[8192], b[8192];
	char err[AM_ERRLEN];
	struct stat st;

	for (int i = 0; i < 5; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "one by one");
	size_t na = slurp(f->path, a, sizeof a);
	unlink(f->path);
	reopen(f, err); /* a new, empty file */
	for (int i = 0; i < 5; i++)
		hold(f, T0 + (uint64_t)i, "accepted", "example.com", "one by one");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, 0); /* nothing written before the release */
	assert_int_equal(audit_release(f->a), 0);
	assert_int_equal(audit_release(f->a), 0); /* nothing held: nothing to do */
	size_t nb = slurp(f->path, b, sizeof b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_verifies(f->path, 5);
}

/* Held records keep their place before any later record, whichever call
 * writes them; closing writes what is still held. */
static void test_held_records_keep_their_order(void **state)
{
	struct fx *f = *state;
	char err[AM_ERRLEN];

	add(f, T0, "accepted", "a.example", "1");
	hold(f, T0 + 1, "relayed", "b.example", "2");
	hold(f, T0 + 2, "relayed", "c.example", "3");
	add(f, T0 + 3, "rejected", "d.example", "4"); /* writes 2 and 3 first */
	hold(f, T0 + 4, "accepted", "e.example", "5");
	assert_int_equal(audit_flush(f->a), 0); /* writes 5 */
	hold(f, T0 + 5, "accepted", "f.example", "6");
	reopen(f, err);                         /* closing writes 6 */
	add(f, T0 + 6, "accepted", "g.example", "7");
	assert_verifies(f->path, 7);
	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 7);
	for (size_t i = 0; i < g->n; i++) {
		char want[24];
		snprintf(want, sizeof want, "%zu", i + 1);
		assert_int_equal(g->r[i].seq, i + 1);
		assert_string_equal(g->r[i].detail, want);
	}
	free(g);
}

/* A long batch goes down in pieces of whole records, never one past the bound. */
static void test_held_records_are_written_past_the_bound(void **state)
{
	struct fx *f = *state;
	char detail[401];
	struct stat st;
	int i;

	memset(detail, 'x', sizeof detail - 1);
	detail[sizeof detail - 1] = '\0';
	for (i = 0; i < 1000; i++) {
		hold(f, T0, "relayed", "example.com", detail);
		assert_int_equal(stat(f->path, &st), 0);
		if (st.st_size > 0)
			break;
	}
	assert_true(i < 1000);
	assert_true(st.st_size >= AUDIT_HOLD_MAX);
	assert_true(st.st_size < AUDIT_HOLD_MAX + AUDIT_LINE_MAX);
	assert_verifies(f->path, (uint64_t)i + 1);
	hold(f, T0, "relayed", "example.com", "last");
	assert_int_equal(audit_release(f->a), 0);
	assert_verifies(f->path, (uint64_t)i + 2);
}

/* A release that cannot write drops the held records whole and the chain
 * continues from the file's last record. */
static void test_failed_release_drops_held_records(void **state)
{
	struct fx *f = *state;
	struct rlimit old, lim;
	struct stat st, after;

	add(f, T0, "accepted", "example.com", "before");
	for (int i = 0; i < 10; i++)
		hold(f, T0 + 1, "accepted", "example.com", "held, then lost");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 300; /* room for a record or two: a torn batch */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = audit_release(f->a);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, AM_EIO);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(after.st_size, st.st_size);
	assert_verifies(f->path, 1);
	assert_int_equal(audit_release(f->a), 0); /* nothing left held */
	add(f, T0 + 2, "accepted", "example.com", "after");
	assert_verifies(f->path, 3);
	struct got *g = read_all(f->path, NULL, 0);
	assert_string_equal(g->r[1].event, "audit_gap");
	assert_non_null(strstr(g->r[1].detail, "10 records from 2023-11-14T22:13:21Z to 2023-11-14T22:13:21Z"));
	assert_string_equal(g->r[2].event, "accepted");
	free(g);
}

/* ---- encoding --------------------------------------------------------- */

static void test_hostile_fields_round_trip(void **state)
{
	struct fx *f = *state;
	static const char domain[] = "a b\nc%d\x01-\xc3\xa9.example";
	static const char neighbour[] = "-";
	static const char rule[] = "%2D %41 \x7f";
	static const char detail[] = "spaces  and\ttabs\r\nnew line, 100% \"quoted\" - \xe2\x9c\x93 \xff\xfe end ";
	static const char *const details[] = { "-", "--", "%", "%%", " ", "\n", "%2D", "-%", "" };
	uint8_t pk[AM_KEY_BYTES];
	char id[17];
	struct audit_event e = { .event = "rejected", .domain = domain, .category = AM_CAT_SPAM,
	                         .origin = pk, .neighbour = neighbour, .rule = rule, .detail = detail };

	memset(pk, 0xab, sizeof(pk));
	am_keyid_hex(pk, id);
	assert_int_equal(audit_append(f->a, T0, &e), 0);
	for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		struct audit_event d = { .event = "accepted", .domain = details[i], .neighbour = details[i],
		                         .rule = details[i], .detail = details[i] };
		assert_int_equal(audit_append(f->a, T0 + 1 + i, &d), 0);
	}
	assert_verifies(f->path, 1 + sizeof(details) / sizeof(details[0]));

	/* nothing raw in the file: one line per record, ten fields each */
	static char buf[8192];
	size_t n = slurp(f->path, buf, sizeof(buf)), lines = 0, spaces = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		assert_true(c == '\n' || (c >= 0x20 && c < 0x7f));
		lines += c == '\n';
		spaces += c == ' ';
	}
	assert_int_equal(lines, 10);
	assert_int_equal(spaces, 9 * 10);

	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 10);
	assert_string_equal(g->r[0].domain, domain);
	assert_string_equal(g->r[0].neighbour, neighbour);
	assert_string_equal(g->r[0].rule, rule);
	assert_string_equal(g->r[0].detail, detail);
	assert_string_equal(g->r[0].origin, id);
	assert_int_equal(g->r[0].category, AM_CAT_SPAM);
	for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		assert_string_equal(g->r[1 + i].detail, details[i]);
		assert_string_equal(g->r[1 + i].domain, details[i]);
		assert_string_equal(g->r[1 + i].neighbour, details[i]);
		assert_string_equal(g->r[1 + i].rule, details[i]);
		assert_int_equal(g->r[1 + i].category, AM_CAT_NONE);
	}
	free(g);
}

static void test_long_detail_is_cut_and_documented(void **state)
{
	struct fx *f = *state;
	static char big[4097], buf[16384];

	/* plain text: cut at AUDIT_DETAIL_MAX */
	memset(big, 'x', 4096);
	big[4096] = '\0';
	add(f, T0, "rejected", "example.com", big);
	/* every byte escaped, beside a longest domain escaped too: cut further
	 * so the line stays within AUDIT_LINE_MAX */
	char domain[AM_DOMAIN_MAX + 1];
	memset(domain, ' ', AM_DOMAIN_MAX);
	domain[AM_DOMAIN_MAX] = '\0';
	memset(big, '\n', 4096);
	add(f, T0 + 1, "rejected", domain, big);
	/* two-byte UTF-8: never cut inside a character */
	for (size_t i = 0; i + 1 < 4096; i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	add(f, T0 + 2, "rejected", "example.com", big);
	/* one byte short of the next character's end: the cut backs off */
	memset(big, 'y', 4096);
	big[AUDIT_DETAIL_MAX - 1] = (char)0xc3;
	big[AUDIT_DETAIL_MAX] = (char)0xa9;
	add(f, T0 + 3, "rejected", "example.com", big);
	assert_verifies(f->path, 4);

	size_t n = slurp(f->path, buf, sizeof(buf)), st[8];
	assert_int_equal(line_starts(buf, n, st, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_true((i < 3 ? st[i + 1] : n) - st[i] <= AUDIT_LINE_MAX);

	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(strlen(g->r[0].detail), AUDIT_DETAIL_MAX);
	assert_int_equal(strspn(g->r[0].detail, "x"), AUDIT_DETAIL_MAX);
	size_t nl = strlen(g->r[1].detail);
	assert_true(nl > 100 && nl < AUDIT_DETAIL_MAX);
	assert_int_equal(strspn(g->r[1].detail, "\n"), nl);
	size_t u = strlen(g->r[2].detail);
	assert_true(u > 100 && u % 2 == 0);
	for (size_t i = 0; i < u; i += 2)
		assert_true((unsigned char)g->r[2].detail[i] == 0xc3 && (unsigned char)g->r[2].detail[i + 1] == 0xa9);
	assert_int_equal(strlen(g->r[3].detail), AUDIT_DETAIL_MAX - 1);
	free(g);
}

static void test_bad_arguments_are_refused(void **state)
{
	struct fx *f = *state;
	char longname[300];
	struct audit_event e = { .event = "accepted" };

	e.event = "acceptd";
	assert_int_equal(audit_append(f->a, T0, &e), AM_EINVAL);
	e.event = "anchor"; /* only audit_prune writes anchors */
	assert_int_equal(audit_append(f->a, T0, &e), AM_EINVAL);
	e.event = NULL;
	assert_int_equal(audit_append(f->a, T0, &e), AM_EINVAL);
	e.event = "accepted";
	assert_int_equal(audit_append(f->a, 253402300800ull, &e), AM_EINVAL); /* year 10000 */
	e.category = AM_CAT_COUNT;
	assert_int_equal(audit_append(f->a, T0, &e), AM_EINVAL);
	e.category = AM_CAT_NONE;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	e.domain = longname; /* a shortened name could be someone else's */
	assert_int_equal(audit_append(f->a, T0, &e), AM_ETOOBIG);
	e.domain = NULL;
	longname[64] = '\0';
	e.neighbour = longname;
	assert_int_equal(audit_append(f->a, T0, &e), AM_ETOOBIG);
	longname[63] = '\0';
	assert_int_equal(audit_append(f->a, T0, &e), 0);
	assert_int_equal(audit_append(NULL, T0, &e), AM_EINVAL);
	assert_verifies(f->path, 1);
}

/* ---- filters ---------------------------------------------------------- */

static void test_domain_family_filter(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {
		"example.com", "www.example.com", "a.b.example.com", "example.org",
		"notexample.com", "com", NULL, "WWW.Example.COM",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add(f, T0 + i, "received", names[i], names[i] ? names[i] : "none");

	struct got *g = read_all(f->path, "www.example.com", 0);
	/* itself (either case), its parents example.com and com */
	assert_int_equal(g->n, 4);
	assert_string_equal(g->r[0].domain, "example.com");
	assert_string_equal(g->r[1].domain, "www.example.com");
	assert_string_equal(g->r[2].domain, "com");
	assert_string_equal(g->r[3].domain, "WWW.Example.COM");
	free(g);

	g = read_all(f->path, "example.com", 0);
	/* itself, its children, its parent - never notexample.com */
	assert_int_equal(g->n, 5);
	assert_string_equal(g->r[0].domain, "example.com");
	assert_string_equal(g->r[1].domain, "www.example.com");
	assert_string_equal(g->r[2].domain, "a.b.example.com");
	assert_string_equal(g->r[3].domain, "com");
	assert_string_equal(g->r[4].domain, "WWW.Example.COM");
	free(g);

	g = read_all(f->path, "b.example.com", 0);
	assert_int_equal(g->n, 3); /* example.com, a.b.example.com, com */
	assert_string_equal(g->r[1].domain, "a.b.example.com");
	free(g);

	g = read_all(f->path, "nothing.test", 0);
	assert_int_equal(g->n, 0);
	free(g);

	g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 8);
	free(g);
}

static void test_since_filter(void **state)
{
	struct fx *f = *state;

	add(f, 100, "accepted", "example.com", "a");
	add(f, 200, "accepted", "example.com", "b");
	add(f, 300, "accepted", "example.com", "c");
	add(f, 150, "accepted", "example.com", "clock stepped back");
	struct got *g = read_all(f->path, NULL, 200);
	assert_int_equal(g->n, 2);
	assert_string_equal(g->r[0].detail, "b");
	assert_string_equal(g->r[1].detail, "c");
	free(g);
	g = read_all(f->path, "www.example.com", 301);
	assert_int_equal(g->n, 0);
	free(g);
}

static int stop_after_two(void *arg, const struct audit_record *r)
{
	int *n = arg;

	(void)r;
	return ++*n == 2 ? 42 : 0;
}

static void test_callback_can_stop_the_read(void **state)
{
	struct fx *f = *state;
	char err[AM_ERRLEN];
	int n = 0;

	for (int i = 0; i < 5; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "x");
	assert_int_equal(audit_read(f->path, NULL, 0, stop_after_two, &n, err, sizeof(err)), 42);
	assert_int_equal(n, 2);
}

/* ---- retention -------------------------------------------------------- */

static void test_prune_keeps_the_right_records(void **state)
{
	struct fx *f = *state;
	static char before[16384], after[16384];
	char err[AM_ERRLEN];
	size_t st[16];

	for (int i = 0; i < 10; i++)
		add(f, T0 + 100 * (uint64_t)i, "accepted", "example.com", "r");
	size_t n = slurp(f->path, before, sizeof(before));
	assert_int_equal(line_starts(before, n, st, 16), 10);

	/* now = T0 + 1000, retention 650: records before T0 + 350 go (4 of them) */
	assert_int_equal(audit_prune(f->a, T0 + 1000, 650, err, sizeof(err)), 0);
	assert_verifies(f->path, 7);
	size_t m = slurp(f->path, after, sizeof(after));
	char *nl = memchr(after, '\n', m);
	assert_non_null(nl);
	size_t anchor_len = (size_t)(nl - after) + 1;
	/* kept records are the old bytes, untouched */
	assert_int_equal(m - anchor_len, n - st[4]);
	assert_memory_equal(after + anchor_len, before + st[4], n - st[4]);

	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 7);
	assert_string_equal(g->r[0].event, "anchor");
	assert_int_equal(g->r[0].seq, 4);
	assert_int_equal(g->r[0].time, T0 + 1000);
	/* the anchor names the last pruned record's hash */
	assert_memory_equal(g->r[0].detail, before + st[4] - 65, 64);
	assert_int_equal(g->r[1].seq, 5);
	assert_int_equal(g->r[1].time, T0 + 400);
	assert_int_equal(g->r[6].seq, 10);
	free(g);
	/* the anchor stays out of domain queries */
	g = read_all(f->path, "example.com", 0);
	assert_int_equal(g->n, 6);
	free(g);

	/* the chain goes on, through a reopen too */
	add(f, T0 + 1001, "expired", "example.com", "after prune");
	reopen(f, err);
	add(f, T0 + 1002, "expired", "example.com", "after reopen");
	assert_verifies(f->path, 9);

	/* prune again: the old anchor is replaced, not stacked */
	assert_int_equal(audit_prune(f->a, T0 + 2000, 1300, err, sizeof(err)), 0);
	assert_verifies(f->path, 6);
	g = read_all(f->path, NULL, 0);
	assert_string_equal(g->r[0].event, "anchor");
	assert_int_equal(g->r[0].seq, 7);
	assert_int_equal(g->r[1].seq, 8);
	free(g);

	/* nothing old enough: the file is left alone */
	m = slurp(f->path, before, sizeof(before));
	assert_int_equal(audit_prune(f->a, T0 + 2000, 1300, err, sizeof(err)), 0);
	assert_int_equal(slurp(f->path, after, sizeof(after)), m);
	assert_memory_equal(before, after, m);

	/* everything pruned: the anchor alone, and appends still chain */
	assert_int_equal(audit_prune(f->a, T0 + 100000, 10, err, sizeof(err)), 0);
	assert_verifies(f->path, 1);
	add(f, T0 + 100001, "accepted", "example.com", "fresh");
	reopen(f, err);
	add(f, T0 + 100002, "accepted", "example.com", "fresh");
	assert_verifies(f->path, 3);
	g = read_all(f->path, NULL, 0);
	assert_int_equal(g->r[0].seq, 12);
	assert_int_equal(g->r[1].seq, 13);
	assert_int_equal(g->r[2].seq, 14);
	free(g);
}

static void test_pruned_file_is_still_tamper_evident(void **state)
{
	struct fx *f = *state;
	static char buf[16384], mut[16384];
	char err[AM_ERRLEN];
	size_t st[16];

	for (int i = 0; i < 6; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "r");
	assert_int_equal(audit_prune(f->a, T0 + 10, 7, err, sizeof(err)), 0);
	size_t n = slurp(f->path, buf, sizeof(buf));
	assert_int_equal(line_starts(buf, n, st, 16), 4);

	/* without its anchor, the first kept record does not chain from zeros */
	spit(f->copy, buf + st[1], n - st[1]);
	assert_int_equal(assert_broken(f->copy, err), 1);

	/* an anchor pointing elsewhere breaks the next line */
	memcpy(mut, buf, n);
	char *d = mut + st[1] - 1 - 64 - 1 - 64;
	d[0] = d[0] == '0' ? '1' : '0';
	spit(f->copy, mut, n);
	assert_true(assert_broken(f->copy, err) >= 1);

	/* an anchor anywhere but line 1 is refused */
	memcpy(mut, buf + st[1], n - st[1]);
	memcpy(mut + (n - st[1]), buf, st[1]);
	spit(f->copy, mut, n);
	assert_broken(f->copy, err);

	/* and every bit flip is still caught */
	for (size_t off = 0; off < n; off++) {
		memcpy(mut, buf, n);
		mut[off] ^= (char)(1 << (off % 8));
		spit(f->copy, mut, n);
		assert_broken(f->copy, err);
	}
}

static void test_prune_stops_at_a_clock_step(void **state)
{
	struct fx *f = *state;
	char err[AM_ERRLEN];

	add(f, 100, "accepted", "example.com", "old");
	add(f, 300, "accepted", "example.com", "new");
	add(f, 200, "accepted", "example.com", "old, after a clock step back");
	assert_int_equal(audit_prune(f->a, 1250, 1000, err, sizeof(err)), 0);
	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, 3);
	assert_string_equal(g->r[0].event, "anchor");
	assert_string_equal(g->r[1].detail, "new");
	assert_string_equal(g->r[2].detail, "old, after a clock step back");
	free(g);
	assert_verifies(f->path, 3);
}

static void test_prune_refuses_a_tampered_file(void **state)
{
	struct fx *f = *state;
	static char buf[8192];
	char err[AM_ERRLEN];

	for (int i = 0; i < 3; i++)
		add(f, T0 + (uint64_t)i, "accepted", "example.com", "r");
	size_t n = slurp(f->path, buf, sizeof(buf));
	buf[2] ^= 1; /* in line 1, which the prune would have dropped */
	spit(f->path, buf, n);
	assert_int_equal(audit_prune(f->a, T0 + 100, 10, err, sizeof(err)), AM_EDECODE);
	assert_non_null(strstr(err, "line 1"));
}

/* ---- threads ---------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 250

struct worker {
	struct audit *a;
	int id;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char detail[32];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(detail, sizeof(detail), "t%d-%d", w->id, i);
		struct audit_event e = { .event = "relayed", .domain = "example.com", .detail = detail };
		if (audit_append(w->a, T0 + (uint64_t)i, &e) != 0)
			w->failures++;
	}
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	struct fx *f = *state;
	pthread_t th[THREADS];
	struct worker w[THREADS];
	static int seen[THREADS][PER_THREAD];

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ f->a, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_verifies(f->path, THREADS * PER_THREAD);
	struct got *g = read_all(f->path, NULL, 0);
	assert_int_equal(g->n, THREADS * PER_THREAD);
	for (size_t k = 0; k < g->n; k++) {
		int t, i;
		assert_int_equal(sscanf(g->r[k].detail, "t%d-%d", &t, &i), 2);
		assert_true(t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD);
		seen[t][i]++;
	}
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			assert_int_equal(seen[t][i], 1);
	free(g);
}

/* amesh audit --event: a list of known names, each a bit; an unknown or
 * empty name is refused, quoted, with every known name listed */
static void test_event_filter_names(void **state)
{
	(void)state;
	char err[AM_ERRLEN];
	uint32_t mask = 0;

	assert_int_equal(audit_events_parse("accepted,relayed", &mask, err, sizeof err), 0);
	assert_int_equal(mask, audit_event_bit("accepted") | audit_event_bit("relayed"));
	assert_int_not_equal(audit_event_bit("accepted"), audit_event_bit("relayed"));
	assert_int_equal(audit_events_parse("dispute_relayed", &mask, err, sizeof err), 0);
	assert_int_equal(mask, audit_event_bit("dispute_relayed"));
	assert_int_equal(audit_event_bit("relay"), 0);
	/* every name the trail writes has a bit of its own */
	uint32_t all = 0;
	size_t n = 0;
	for (; audit_event_name(n); n++) {
		uint32_t b = audit_event_bit(audit_event_name(n));
		assert_int_not_equal(b, 0);
		assert_int_equal(all & b, 0);
		all |= b;
	}
	assert_true(n >= 18);
	assert_string_equal(audit_event_name(n - 1), "audit_gap");

	assert_int_equal(audit_events_parse("accepted,relay", &mask, err, sizeof err), AM_EINVAL);
	assert_int_equal(mask, 0);
	assert_non_null(strstr(err, "unknown audit event `relay'"));
	assert_non_null(strstr(err, "received, accepted, rejected, relayed"));
	assert_non_null(strstr(err, "dispute_relayed, held_back, set_aside, origin_hidden, origin_shown"));
	assert_int_equal(audit_events_parse("", &mask, err, sizeof err), AM_EINVAL);
	assert_int_equal(audit_events_parse("accepted,", &mask, err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "unknown audit event `'"));
	/* typed by a person: any case, as categories and TLP; an error quotes it as typed */
	assert_int_equal(audit_events_parse("ACCEPTED,Relayed", &mask, err, sizeof err), 0);
	assert_int_equal(mask, audit_event_bit("accepted") | audit_event_bit("relayed"));
	assert_int_equal(audit_events_parse("Accepted,RELAY", &mask, err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "unknown audit event `RELAY'"));
	assert_int_equal(audit_events_parse("acc\033[2Jepted", &mask, err, sizeof err), AM_EINVAL);
	assert_null(strchr(err, '\033'));
}

/* A name's history takes the records about the key of an origin that
 * flagged it (origin_hidden: a trust change made its flag stop counting),
 * from the first record of the family on - not another origin's, and not
 * before `since' */
static void test_domain_history_has_its_origins_trust_changes(void **state)
{
	struct fx *f = *state;
	const uint8_t ka[AM_KEY_BYTES] = {0xaa}, kb[AM_KEY_BYTES] = {0xbb};
	struct audit_event hid_a = {.event = "origin_hidden", .origin = ka, .rule = "trust",
	                            .detail = "every indicator of origin a no longer counts"};
	struct audit_event hid_b = {.event = "origin_hidden", .origin = kb, .rule = "trust",
	                            .detail = "every indicator of origin b no longer counts"};
	struct audit_event on_a = {.event = "accepted", .domain = "evil.example.com", .category = AM_CAT_MALWARE,
	                           .origin = ka, .neighbour = "apnic"};
	struct audit_event on_b = {.event = "accepted", .domain = "other.example.org", .category = AM_CAT_MALWARE,
	                           .origin = kb, .neighbour = "apnic"};

	assert_int_equal(audit_append(f->a, T0, &hid_a), 0);     /* before a flagged the name: not its history */
	assert_int_equal(audit_append(f->a, T0 + 1, &on_a), 0);
	assert_int_equal(audit_append(f->a, T0 + 2, &on_b), 0);
	assert_int_equal(audit_append(f->a, T0 + 3, &hid_b), 0); /* b flagged another name */
	assert_int_equal(audit_append(f->a, T0 + 4, &hid_a), 0);
	struct got *g = read_all(f->path, "www.evil.example.com", 0);
	assert_int_equal(g->n, 2);
	assert_string_equal(g->r[0].event, "accepted");
	assert_string_equal(g->r[1].event, "origin_hidden");
	assert_string_equal(g->r[1].domain, "");
	assert_string_equal(g->r[1].origin, g->r[0].origin); /* a's key id */
	assert_int_equal(g->r[1].time, T0 + 4);
	free(g);
	/* since after the flag: the origin is still known from it */
	g = read_all(f->path, "evil.example.com", T0 + 2);
	assert_int_equal(g->n, 1);
	assert_string_equal(g->r[0].event, "origin_hidden");
	free(g);
	g = read_all(f->path, "nothing.example.net", 0);
	assert_int_equal(g->n, 0);
	free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_then_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continues_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_bit_flip_is_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removed_swapped_forged_lines_are_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_broken_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_line_is_cut_and_chain_continues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_write_is_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_records_are_the_appended_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_records_keep_their_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_records_are_written_past_the_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_release_drops_held_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_fields_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_detail_is_cut_and_documented, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_family_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_history_has_its_origins_trust_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_can_stop_the_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_keeps_the_right_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pruned_file_is_still_tamper_evident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_stops_at_a_clock_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_refuses_a_tampered_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
		cmocka_unit_test(test_event_filter_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_feed_export.c - the export writers: STIX against a golden file and the spec rules, CSV quoting, hosts, MISP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed_csv.h"
#include "feed_hosts.h"
#include "feed_misp.h"
#include "feed_stix.h"
#include "timefmt.h"

#ifndef FIXTURES
#error FIXTURES must name tests/fixtures/feeds
#endif

#define T0 1795000000ull /* 2026-11-18T11:06:40Z */

static struct feed_signal sig[4];
static uint8_t producer[AM_KEY_BYTES];

/* Fixed signals: two origins, a withdrawal, every TLP the writer must mark. */
static void make(void)
{
	memset(sig, 0, sizeof sig);
	memset(producer, 0xaa, sizeof producer);
	const char *names[] = {"evil.example", "login.bank.example", "evil.example", "c2.example"};
	for (int i = 0; i < 4; i++) {
		struct am_indicator *d = &sig[i].ind;
		memset(d->origin, i == 3 ? 0xbb : 0xaa, AM_KEY_BYTES);
		snprintf(d->domain, sizeof d->domain, "%s", names[i]);
		d->category = i == 2 ? AM_CAT_MALWARE : i == 3 ? AM_CAT_BOTNET : AM_CAT_PHISHING;
		d->confidence = (uint8_t)(60 + i * 10);
		d->issued_at = T0 + (uint64_t)i;
		d->expires_at = T0 + 7 * 86400;
		d->version = 100 + (uint64_t)i;
		d->tlp = i == 3 ? AM_TLP_AMBER : AM_TLP_GREEN;
		memset(sig[i].id, 0x10 + i, AM_ID_BYTES);
		snprintf(sig[i].origin_name, sizeof sig[i].origin_name, "%s", i == 3 ? "cert-xx" : "");
	}
	sig[1].ind.withdrawn = true; /* a withdrawal: STIX says revoked */
	feed_export_sort(sig, 4);
}

static char *write_to_string(int (*fn)(FILE *, const struct feed_export *), size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct feed_export x = {.items = sig, .n = n, .now = T0 + 100, .producer = "alpha", .producer_key = producer};
	assert_non_null(f);
	assert_int_equal(fn(f, &x), 0);
	fclose(f);
	return buf;
}

static char *slurp(const char *path)
{
	char *buf, err[AM_ERRLEN];
	size_t len;
	if (feed_read_file(path, 1 << 20, &buf, &len, err, sizeof err) != 0)
		fail_msg("%s", err);
	return buf;
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void test_stix_matches_golden_file(void **state)
{
	char path[512];
	(void)state;
	make();
	char *got = write_to_string(feed_stix_write, 4);
	snprintf(path, sizeof path, "%s/export-golden.stix.json", FIXTURES);
	if (getenv("GOLDEN_WRITE")) {
		FILE *f = fopen(path, "w");
		fputs(got, f);
		fclose(f);
	}
	char *want = slurp(path);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void test_stix_follows_the_spec_rules(void **state)
{
	json_error_t e;
	(void)state;
	make();
	char *got = write_to_string(feed_stix_write, 4);
	json_t *b = json_loads(got, JSON_REJECT_DUPLICATES, &e), *o;
	size_t i, indicators = 0, markings = 0;
	assert_non_null(b);
	assert_string_equal(json_string_value(json_object_get(b, "type")), "bundle");
	assert_true(matches("^bundle--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
	                    json_string_value(json_object_get(b, "id"))));
	json_array_foreach(json_object_get(b, "objects"), i, o) {
		const char *type = json_string_value(json_object_get(o, "type"));
		assert_string_equal(json_string_value(json_object_get(o, "spec_version")), "2.1");
		if (strcmp(type, "marking-definition") == 0) {
			/* the official TLP 2.0 ids, verbatim */
			const char *id = json_string_value(json_object_get(o, "id"));
			assert_true(strcmp(id, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb") == 0 ||
			            strcmp(id, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421") == 0);
			assert_non_null(json_object_get(json_object_get(json_object_get(o, "extensions"),
			                                                "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"),
			                                "tlp_2_0"));
			markings++;
			continue;
		}
		if (strcmp(type, "indicator") != 0)
			continue;
		indicators++;
		const char *id = json_string_value(json_object_get(o, "id"));
		assert_true(matches("^indicator--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", id));
		assert_true(matches("^\\[domain-name:value = '[a-z0-9.-]+'\\]$",
		                    json_string_value(json_object_get(o, "pattern"))));
		assert_string_equal(json_string_value(json_object_get(o, "pattern_type")), "stix");
		assert_string_equal(json_string_value(json_array_get(json_object_get(o, "indicator_types"), 0)),
		                    "malicious-activity");
		const char *ts[] = {"created", "modified", "valid_from", "valid_until"};
		for (int k = 0; k < 4; k++)
			assert_true(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
			                    json_string_value(json_object_get(o, ts[k]))));
		assert_true(strcmp(json_string_value(json_object_get(o, "valid_from")),
		                   json_string_value(json_object_get(o, "valid_until"))) < 0);
		assert_true(strcmp(json_string_value(json_object_get(o, "created")),
		                   json_string_value(json_object_get(o, "modified"))) <= 0);
		assert_true(json_is_integer(json_object_get(o, "confidence")));
		json_t *refs = json_object_get(o, "external_references");
		assert_int_equal(json_array_size(refs), 2);
		assert_string_equal(json_string_value(json_object_get(json_array_get(refs, 0), "source_name")), "amesh-origin");
		assert_string_equal(json_string_value(json_object_get(json_array_get(refs, 1), "source_name")), "amesh-signal");
		assert_int_equal(json_array_size(json_object_get(o, "object_marking_refs")), 1);
		/* created_by_ref names an identity in the bundle */
		const char *by = json_string_value(json_object_get(o, "created_by_ref"));
		assert_non_null(strstr(got, by));
	}
	assert_int_equal(indicators, 4);
	assert_int_equal(markings, 2); /* green and amber are used */
	json_decref(b);
	free(got);
}

/* The created of an identity with the same id must not move between
 * exports (STIX 2.1 section 3.2: a new version keeps created); modified
 * is the export's time. */
static void test_stix_identity_created_is_stable(void **state)
{
	char *out[2];
	(void)state;
	make();
	for (int k = 0; k < 2; k++) {
		size_t len = 0;
		FILE *f = open_memstream(&out[k], &len);
		struct feed_export x = {.items = sig, .n = 4, .now = T0 + 100 + (uint64_t)k * 86400, .producer = "alpha",
		                        .producer_key = producer};
		assert_non_null(f);
		assert_int_equal(feed_stix_write(f, &x), 0);
		fclose(f);
	}
	const char *ids[2][2] = {{NULL, NULL}, {NULL, NULL}};
	json_t *b[2];
	for (int k = 0; k < 2; k++) {
		json_error_t e;
		size_t i, n = 0;
		json_t *o;
		b[k] = json_loads(out[k], 0, &e);
		assert_non_null(b[k]);
		json_array_foreach(json_object_get(b[k], "objects"), i, o) {
			if (strcmp(json_string_value(json_object_get(o, "type")), "identity") != 0)
				continue;
			assert_true(n < 2);
			ids[k][n++] = json_string_value(json_object_get(o, "created"));
			assert_true(strcmp(ids[k][n - 1], json_string_value(json_object_get(o, "modified"))) < 0);
		}
		assert_int_equal(n, 2);
	}
	assert_string_equal(ids[0][0], ids[1][0]);
	assert_string_equal(ids[0][1], ids[1][1]);
	json_decref(b[0]);
	json_decref(b[1]);
	free(out[0]);
	free(out[1]);
}

/* The id depends on (origin, domain, category) only: a new version and the
 * withdrawal name the same object; the withdrawal is revoked and newer. */
static void test_stix_ids_stable_across_versions_and_withdrawal(void **state)
{
	struct feed_signal v1, v2;
	char a[FEED_UUID_LEN], b[FEED_UUID_LEN], c[FEED_UUID_LEN];
	(void)state;
	make();
	v1 = sig[0];
	v2 = v1;
	v2.ind.version++;
	v2.ind.confidence = 99;
	v2.ind.issued_at += 3600;
	feed_export_indicator_uuid(&v1.ind, a);
	feed_export_indicator_uuid(&v2.ind, b);
	assert_string_equal(a, b);
	v2.ind.category = AM_CAT_SPAM;
	feed_export_indicator_uuid(&v2.ind, c);
	assert_string_not_equal(a, c);
	/* in the written bundle: the withdrawn one is revoked */
	char *got = write_to_string(feed_stix_write, 4);
	json_t *bd = json_loads(got, 0, NULL), *o;
	size_t i;
	int revoked = 0;
	json_array_foreach(json_object_get(bd, "objects"), i, o) {
		if (json_is_true(json_object_get(o, "revoked"))) {
			revoked++;
			assert_non_null(strstr(json_string_value(json_object_get(o, "pattern")), "login.bank.example"));
		}
	}
	assert_int_equal(revoked, 1);
	json_decref(bd);
	free(got);
}

/* The bundle's last STIX indicator object (after the identity). */
static json_t *last_indicator(json_t *bundle)
{
	json_t *o, *ind = NULL;
	size_t i;
	json_array_foreach(json_object_get(bundle, "objects"), i, o)
		if (strcmp(json_string_value(json_object_get(o, "type")), "indicator") == 0)
			ind = o;
	assert_non_null(ind);
	return ind;
}

/* A submission withdrawn within the same second: the revocation's
 * `modified' is later than the original's, to the millisecond, read from
 * the versions (this peer's microsecond clock when it signed). Both were
 * "...:00.000Z" and a consumer could keep the original as the newest. */
static void test_stix_modified_advances_within_one_second(void **state)
{
	char *text[2];
	const char *modified[2];
	json_t *bd[2];
	(void)state;
	make();
	for (int v = 0; v < 2; v++) {
		sig[0].ind.issued_at = T0;
		sig[0].ind.version = T0 * 1000000 + (v ? 480123 : 120456);
		sig[0].ind.withdrawn = v == 1;
		text[v] = write_to_string(feed_stix_write, 1);
		bd[v] = json_loads(text[v], 0, NULL);
		assert_non_null(bd[v]);
		json_t *ind = last_indicator(bd[v]);
		modified[v] = json_string_value(json_object_get(ind, "modified"));
		assert_true(strcmp(json_string_value(json_object_get(ind, "created")), modified[v]) <= 0);
	}
	assert_true(strcmp(modified[0], modified[1]) < 0);
	assert_non_null(strstr(modified[0], ".120Z"));
	assert_non_null(strstr(modified[1], ".480Z"));
	/* signed as the next second ticked: the issue second's last ms; a
	 * version that is a counter, not a clock: the whole second */
	sig[0].ind.version = (T0 + 1) * 1000000 + 5;
	assert_int_equal(feed_export_modified_ms(&sig[0].ind), T0 * 1000 + 999);
	sig[0].ind.version = 7;
	assert_int_equal(feed_export_modified_ms(&sig[0].ind), T0 * 1000);
	for (int v = 0; v < 2; v++) {
		json_decref(bd[v]);
		free(text[v]);
	}
}

/* "created" is the issue time of the first version this peer stored,
 * the same in the bundle of every later version and of the withdrawal;
 * "modified" and "valid_from" advance with each version. The CSV's
 * first_seen says the same. Without a first_issued (0), or one after this
 * version's issue time, created is this version's issue time. */
static void test_stix_created_stable_modified_advances(void **state)
{
	const char *created[3], *modified[3];
	char *text[3];
	json_t *bd[3];
	(void)state;
	make();
	for (int v = 0; v < 3; v++) {
		sig[0].first_issued = T0 - 86400;
		sig[0].ind.version = 200 + (uint64_t)v;
		sig[0].ind.issued_at = T0 + 3600 * (uint64_t)v;
		sig[0].ind.withdrawn = v == 2;
		text[v] = write_to_string(feed_stix_write, 1);
		bd[v] = json_loads(text[v], 0, NULL);
		assert_non_null(bd[v]);
		json_t *ind = last_indicator(bd[v]);
		created[v] = json_string_value(json_object_get(ind, "created"));
		modified[v] = json_string_value(json_object_get(ind, "modified"));
		assert_string_equal(json_string_value(json_object_get(ind, "valid_from")), modified[v]);
	}
	char want[FEED_TIME_LEN];
	feed_export_time_ms(T0 - 86400, want);
	for (int v = 0; v < 3; v++)
		assert_string_equal(created[v], want);
	assert_true(strcmp(modified[0], modified[1]) < 0 && strcmp(modified[1], modified[2]) < 0);
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(bd[2], "objects"),
	                                                        json_array_size(json_object_get(bd[2], "objects")) - 1),
	                                         "revoked")));
	for (int v = 0; v < 3; v++) {
		json_decref(bd[v]);
		free(text[v]);
	}
	/* unknown, or later than this version (clock trouble): this version's time */
	sig[0].first_issued = 0;
	assert_int_equal(feed_export_created(&sig[0]), sig[0].ind.issued_at);
	sig[0].first_issued = sig[0].ind.issued_at + 5;
	assert_int_equal(feed_export_created(&sig[0]), sig[0].ind.issued_at);
	/* the CSV's first_seen */
	sig[0].first_issued = T0 - 86400;
	sig[0].ind.withdrawn = false;
	char *csv = write_to_string(feed_csv_write, 1), stamp[TIMEFMT_LEN];
	timefmt_rfc3339(T0 - 86400, stamp);
	assert_non_null(strstr(csv, stamp));
	free(csv);
}

struct rt {
	int entries, revoked;
	char seen[512];
};

static int rt_entry(void *arg, const struct feed_entry *e)
{
	struct rt *r = arg;
	size_t n = strlen(r->seen);
	snprintf(r->seen + n, sizeof r->seen - n, "%s %s %d %llu %s|", e->name, am_category_name(e->category),
	         e->confidence, (unsigned long long)e->expires_at, am_tlp_name(e->tlp));
	r->entries++;
	return 0;
}

static void rt_skip(void *arg, size_t line, enum feed_skip reason, const char *input, size_t len, const char *detail)
{
	struct rt *r = arg;
	(void)line, (void)input, (void)len, (void)detail;
	r->revoked += reason == FEED_SKIP_REVOKED;
}

/* What the writer says, the reader reads back: name, category, confidence,
 * expiry and TLP of every live signal; the withdrawal as revoked. */
static void test_stix_round_trips_through_the_parser(void **state)
{
	struct rt r = {0, 0, ""};
	struct feed_sink sink = {.entry = rt_entry, .skip = rt_skip, .arg = &r};
	char err[AM_ERRLEN];
	(void)state;
	make();
	char *got = write_to_string(feed_stix_write, 4);
	assert_int_equal(feed_detect(got, strlen(got)), FEED_STIX);
	assert_int_equal(feed_parse(FEED_AUTO, got, strlen(got), &sink, err, sizeof err), 0);
	assert_int_equal(r.entries, 3);
	assert_int_equal(r.revoked, 1);
	assert_non_null(strstr(r.seen, "c2.example botnet 90 1795604800 amber|"));
	assert_non_null(strstr(r.seen, "evil.example phishing 60 1795604800 green|"));
	assert_non_null(strstr(r.seen, "evil.example malware 80 1795604800 green|"));
	free(got);
}

static void test_csv_quotes_per_rfc_4180(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	(void)state;
	FILE *f = open_memstream(&buf, &len);
	feed_csv_field(f, "plain");
	fputc('|', f);
	feed_csv_field(f, "a,b");
	fputc('|', f);
	feed_csv_field(f, "say \"hi\"");
	fputc('|', f);
	feed_csv_field(f, "two\r\nlines");
	fclose(f);
	assert_string_equal(buf, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\r\nlines\"");
	free(buf);
	make();
	char *csv = write_to_string(feed_csv_write, 4);
	/* header, CRLF, live signals only (the withdrawal is not a row) */
	assert_true(strncmp(csv, FEED_CSV_HEADER "\r\n", strlen(FEED_CSV_HEADER) + 2) == 0);
	assert_null(strstr(csv, "login.bank.example"));
	assert_non_null(strstr(csv, "\r\nc2.example,true,botnet,90,2026-11-18T11:06:43Z,2026-11-25T11:06:40Z,"
	                            "bbbbbbbb"));
	free(csv);
}

static void test_hosts_once_per_name_live_only(void **state)
{
	(void)state;
	make();
	char *h = write_to_string(feed_hosts_write, 4);
	assert_non_null(strstr(h, "\n0.0.0.0 evil.example\n"));
	assert_null(strstr(strstr(h, "0.0.0.0 evil.example\n") + 1, "0.0.0.0 evil.example\n"));
	assert_null(strstr(h, "login.bank.example"));
	free(h);
}

static void test_misp_feed_directory(void **state)
{
	char dir[] = "/tmp/amesh-misp.XXXXXX", path[256], err[AM_ERRLEN];
	(void)state;
	make();
	assert_non_null(mkdtemp(dir));
	struct feed_export x = {.items = sig, .n = 4, .now = T0 + 100, .producer = "alpha", .producer_key = producer};
	assert_int_equal(feed_misp_write(dir, &x, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	json_t *m = json_load_file(path, 0, NULL);
	assert_non_null(m);
	/* two origins, one day each: two events */
	assert_int_equal(json_object_size(m), 2);
	const char *uuid;
	json_t *v;
	size_t attrs = 0, objects = 0;
	struct rt r = {0, 0, ""};
	struct feed_sink sink = {.entry = rt_entry, .skip = rt_skip, .arg = &r};
	json_object_foreach(m, uuid, v) {
		snprintf(path, sizeof path, "%s/%s.json", dir, uuid);
		json_t *ev = json_load_file(path, 0, NULL);
		assert_non_null(ev);
		json_t *e = json_object_get(ev, "Event");
		assert_string_equal(json_string_value(json_object_get(e, "uuid")), uuid);
		/* MISP drops a second attribute of the same type, category and
		 * value outside objects: evil.example's second category (phishing
		 * and malware from one origin on one day) goes in an object */
		json_t *a, *b, *o;
		size_t i, j;
		json_array_foreach(json_object_get(e, "Attribute"), i, a) {
			assert_null(json_object_get(a, "object_relation"));
			json_array_foreach(json_object_get(e, "Attribute"), j, b)
				if (i != j)
					assert_false(json_equal(json_object_get(a, "value"), json_object_get(b, "value")) &&
					             json_equal(json_object_get(a, "type"), json_object_get(b, "type")) &&
					             json_equal(json_object_get(a, "category"), json_object_get(b, "category")));
		}
		attrs += json_array_size(json_object_get(e, "Attribute"));
		json_array_foreach(json_object_get(e, "Object"), i, o) {
			assert_string_equal(json_string_value(json_object_get(o, "name")), "domain-ip");
			assert_string_equal(json_string_value(json_object_get(o, "template_uuid")),
			                    "43b3b146-77eb-4931-b4cc-b66c60f28734");
			assert_int_equal(json_array_size(json_object_get(o, "Attribute")), 1);
			a = json_array_get(json_object_get(o, "Attribute"), 0);
			assert_string_equal(json_string_value(json_object_get(a, "object_relation")), "domain");
			assert_string_equal(json_string_value(json_object_get(a, "value")), "evil.example");
			objects++;
		}
		/* and the reader takes every signal back, the object's too */
		char *text = slurp(path);
		assert_int_equal(feed_parse(FEED_MISP, text, strlen(text), &sink, err, sizeof err), 0);
		free(text);
		json_decref(ev);
		unlink(path);
	}
	assert_int_equal(attrs, 2); /* the withdrawal is not exported */
	assert_int_equal(objects, 1);
	assert_int_equal(r.entries, 3);
	assert_non_null(strstr(r.seen, "evil.example phishing 60 1795604800 green|"));
	assert_non_null(strstr(r.seen, "evil.example malware 80 1795604800 green|"));
	assert_non_null(strstr(r.seen, "c2.example botnet 90 1795604800 amber|"));
	snprintf(path, sizeof path, "%s/hashes.csv", dir);
	char *h = slurp(path);
	/* MD5 of the value, as MISP's feed cache computes it: md5("evil.example") */
	assert_non_null(strstr(h, "96119eb3210daa472225fbad69fa9770,"));
	size_t lines = 0;
	for (char *p = h; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	free(h);
	unlink(path);
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	unlink(path);
	rmdir(dir);
	json_decref(m);
}

/* Writes sig[0..n) as a MISP feed into a fresh directory and returns, per
 * event file, every attribute's and object's uuid mapped to its event
 * uuid; the directory is removed. */
static json_t *misp_uuids(size_t n, uint64_t now)
{
	char dir[] = "/tmp/amesh-misp.XXXXXX", path[256], err[AM_ERRLEN];
	json_t *out = json_object(), *m, *v;
	const char *uuid;
	assert_non_null(mkdtemp(dir));
	struct feed_export x = {.items = sig, .n = n, .now = now, .producer = "alpha", .producer_key = producer};
	assert_int_equal(feed_misp_write(dir, &x, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	assert_non_null(m = json_load_file(path, 0, NULL));
	unlink(path);
	json_object_foreach(m, uuid, v) {
		snprintf(path, sizeof path, "%s/%s.json", dir, uuid);
		json_t *ev = json_load_file(path, 0, NULL), *a, *o, *oa;
		size_t i, j;
		assert_non_null(ev);
		json_t *e = json_object_get(ev, "Event");
		json_array_foreach(json_object_get(e, "Attribute"), i, a)
			json_object_set_new(out, json_string_value(json_object_get(a, "uuid")), json_string(uuid));
		json_array_foreach(json_object_get(e, "Object"), i, o) {
			json_object_set_new(out, json_string_value(json_object_get(o, "uuid")), json_string(uuid));
			json_array_foreach(json_object_get(o, "Attribute"), j, oa)
				json_object_set_new(out, json_string_value(json_object_get(oa, "uuid")), json_string(uuid));
		}
		json_decref(ev);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/hashes.csv", dir);
	unlink(path);
	rmdir(dir);
	json_decref(m);
	return out;
}

/* MISP refuses a new attribute or object whose uuid any event already
 * holds ("The UUID provided is not unique"). A signal re-issued on a later
 * day (a feed imported again with --ttl 7d) stays in the event of its
 * first issue, updated in place by its newer timestamp; and whatever
 * moves it to another event (its first issue unknown, a new flag after
 * its tombstone expired) gets uuids of that event's own: it had kept
 * its uuid, so the instance pulling the feed refused it there and kept
 * the old version's expiry and confidence. */
static void test_misp_uuids_unique_across_days(void **state)
{
	(void)state;
	make();
	sig[0].ind.withdrawn = sig[1].ind.withdrawn = false;
	json_t *day1 = misp_uuids(4, T0 + 100);
	/* every signal issued again a day later, first issued on day 1 */
	for (int i = 0; i < 4; i++) {
		sig[i].first_issued = sig[i].ind.issued_at;
		sig[i].ind.issued_at += 86400;
		sig[i].ind.version++;
	}
	json_t *day2 = misp_uuids(4, T0 + 86400 + 100);
	const char *u;
	json_t *ev;
	json_object_foreach(day2, u, ev) {
		json_t *was = json_object_get(day1, u);
		assert_non_null(was); /* the same objects, updated in place */
		assert_true(json_equal(was, ev));
	}
	assert_int_equal(json_object_size(day1), json_object_size(day2));
	/* first issue unknown: a new event, and none of day 1's uuids in it */
	for (int i = 0; i < 4; i++)
		sig[i].first_issued = 0;
	json_t *moved = misp_uuids(4, T0 + 86400 + 100);
	json_object_foreach(moved, u, ev) {
		json_t *was = json_object_get(day1, u);
		if (was)
			assert_true(json_equal(was, ev));
	}
	json_decref(day1);
	json_decref(day2);
	json_decref(moved);
}

static int keep_name(void *arg, const struct feed_entry *e)
{
	snprintf(arg, AM_DOMAIN_MAX + 1, "%s", e->name);
	return 0;
}

static void no_skip(void *arg, size_t line, enum feed_skip reason, const char *input, size_t len, const char *detail)
{
	(void)arg;
	fail_msg("line %zu skipped (%s): %.*s (%s)", line, feed_skip_name(reason), (int)len, input,
	         detail ? detail : "");
}

/* A quote or backslash in a name is escaped in the pattern's string
 * literal (STIX 2.1 patterning), and our reader gives the name back; the
 * writer does not count on the domain rules keeping them out. */
static void test_stix_pattern_escapes_quote_and_backslash(void **state)
{
	static const char *const names[][2] = {
		{"o'brien.example", "[domain-name:value = 'o\\'brien.example']"},
		{"back\\slash.example", "[domain-name:value = 'back\\\\slash.example']"},
		{"'\\'", "[domain-name:value = '\\'\\\\\\'']"},
	};
	(void)state;
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		make();
		snprintf(sig[0].ind.domain, sizeof sig[0].ind.domain, "%s", names[k][0]);
		sig[0].ind.withdrawn = false;
		char *got = write_to_string(feed_stix_write, 1), err[AM_ERRLEN], back[AM_DOMAIN_MAX + 1] = "";
		json_error_t e;
		json_t *b = json_loads(got, JSON_REJECT_DUPLICATES, &e), *o;
		size_t i;
		const char *pattern = NULL;
		assert_non_null(b);
		json_array_foreach(json_object_get(b, "objects"), i, o)
			if (json_object_get(o, "pattern"))
				pattern = json_string_value(json_object_get(o, "pattern"));
		assert_non_null(pattern);
		assert_string_equal(pattern, names[k][1]);
		struct feed_sink sink = {.entry = keep_name, .skip = no_skip, .arg = back};
		assert_int_equal(feed_parse(FEED_STIX, got, strlen(got), &sink, err, sizeof err), 0);
		assert_string_equal(back, names[k][0]);
		json_decref(b);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stix_matches_golden_file),
		cmocka_unit_test(test_stix_identity_created_is_stable),
		cmocka_unit_test(test_stix_follows_the_spec_rules),
		cmocka_unit_test(test_stix_ids_stable_across_versions_and_withdrawal),
		cmocka_unit_test(test_stix_created_stable_modified_advances),
		cmocka_unit_test(test_stix_modified_advances_within_one_second),
		cmocka_unit_test(test_stix_round_trips_through_the_parser),
		cmocka_unit_test(test_csv_quotes_per_rfc_4180),
		cmocka_unit_test(test_hosts_once_per_name_live_only),
		cmocka_unit_test(test_stix_pattern_escapes_quote_and_backslash),
		cmocka_unit_test(test_misp_feed_directory),
		cmocka_unit_test(test_misp_uuids_unique_across_days),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_jsonout.c - the operator tools' JSON: UTF-8 as UTF-8, invalid bytes replaced, stable fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

static char *print(json_t *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(jsonout_print(f, o), 0);
	fclose(f);
	return buf;
}

static void test_u_label_is_written_as_utf8(void **state)
{
	(void)state;
	char *s = print(json_pack("{s:o}", "name", jsonout_string("www.b\xc3\xbc" "cher-login.de")));
	/* the bytes of the input, not each byte escaped as a code point */
	assert_string_equal(s, "{\"name\":\"www.b\xc3\xbc" "cher-login.de\"}\n");
	free(s);
}

static void test_invalid_utf8_becomes_replacement_characters(void **state)
{
	(void)state;
	/* a lone continuation byte, a truncated sequence, an overlong '/' */
	char *s = print(json_pack("{s:o}", "x", jsonout_string("a\x80" "b\xc3" "c\xc0\xaf")));
	assert_string_equal(s, "{\"x\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd\"}\n");
	free(s);
	/* control characters are escaped, quotes and backslashes too */
	s = print(json_pack("{s:o}", "x", jsonout_string("\x01\"\\")));
	assert_string_equal(s, "{\"x\":\"\\u0001\\\"\\\\\"}\n");
	free(s);
}

static void test_signal_fields_in_documented_order(void **state)
{
	struct wire_signal sg;
	(void)state;
	memset(&sg, 0, sizeof sg);
	memset(sg.id, 0xab, sizeof sg.id);
	memset(sg.ind.origin, 0x01, sizeof sg.ind.origin);
	snprintf(sg.ind.domain, sizeof sg.ind.domain, "evil.example");
	sg.ind.category = AM_CAT_PHISHING;
	sg.ind.confidence = 80;
	sg.ind.issued_at = 1795000000;
	sg.ind.expires_at = 1795086400;
	sg.ind.version = 7;
	sg.ind.tlp = AM_TLP_AMBER;
	sg.local_confidence = 80;
	char *s = print(jsonout_signal(&sg));
	const char *keys[] = {"\"id\":\"abab", "\"domain\":\"evil.example\"", "\"category\":\"phishing\"",
	                      "\"confidence\":80", "\"tlp\":\"amber\"", "\"issued_at\":\"2026-11-18T11:06:40Z\"",
	                      "\"expires_at\":\"2026-11-19T11:06:40Z\"", "\"origin\":\"0101", "\"origin_key_id\":\"",
	                      "\"version\":7", "\"withdrawn\":false", "\"local_confidence\":80"};
	const char *p = s;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *hit = strstr(p, keys[i]);
		if (!hit)
			fail_msg("missing or out of order: %s in %s", keys[i], s);
		p = hit;
	}
	free(s);
}

static void test_reals_are_short_and_null_is_null(void **state)
{
	struct wire_name_result nr;
	struct wire_verdict v;
	struct wire_peer peer;
	(void)state;
	memset(&nr, 0, sizeof nr);
	memset(&v, 0, sizeof v);
	nr.name = (char *)"x.example";
	v.category = AM_CAT_SPAM;
	v.score = 89.00000000000001;
	snprintf(v.level, sizeof v.level, "block");
	v.n_contrib = 1;
	v.contrib[0].weight = 0.5;
	v.contrib[0].p = 0.45;
	v.contrib[0].decay = 1;
	nr.verdicts = &v;
	nr.n_verdicts = 1;
	char *s = print(jsonout_name_result(&nr));
	assert_non_null(strstr(s, "\"score\":89.0,"));
	assert_non_null(strstr(s, "\"weight\":0.5,"));
	assert_non_null(strstr(s, "\"p\":0.45}"));
	free(s);
	memset(&peer, 0, sizeof peer);
	snprintf(peer.name, sizeof peer.name, "b");
	s = print(jsonout_peer(&peer));
	assert_non_null(strstr(s, "\"last_sync\":null"));
	assert_non_null(strstr(s, "\"rejects\":{},\"held\":{},\"tree\":{\"mode\":\"eager\",\"mode_in\":\"eager\",\"ids_out\":0,"
	                          "\"ids_in\":0,\"grafts_out\":0,\"grafts_in\":0,\"grafted_out\":0,\"prunes_out\":0,"
	                          "\"prunes_in\":0,\"ids_dropped\":0,\"grafts_abandoned\":0,\"early_out\":0,\"early_fallbacks\":0,\"early_lost_in\":0,"
	                        "\"declined_out\":0,\"declined_in\":0}}"));
	free(s);
}

/* A watch event's "at" times a change's spread (issue 13): microseconds,
 * not whole seconds. */
static void test_watch_event_at_has_microseconds(void **state)
{
	struct wire_watch_event e;
	(void)state;
	memset(&e, 0, sizeof e);
	e.seq = 9;
	e.at_us = 1795456800000250ull;
	strcpy(e.type, "new");
	strcpy(e.from, "b");
	snprintf(e.signal.ind.domain, sizeof e.signal.ind.domain, "evil.example");
	e.signal.ind.category = AM_CAT_SPAM;
	char *s = print(jsonout_watch_event(&e));
	assert_non_null(strstr(s, "{\"seq\":9,\"event\":\"new\",\"at\":\"2026-11-23T18:00:00.000250Z\",\"from\":\"b\","));
	free(s);
}

/* status --json: the configuration in force and the last reload, and
 * null from an ameshd older than those fields (not a path "" read in 1970). */
static void test_status_config_and_reload(void **state)
{
	struct wire_status st;
	char *msgs[] = {"/etc/amesh.conf:3: max_lifetime: cannot parse duration `90days'"};
	(void)state;

	memset(&st, 0, sizeof st);
	strcpy(st.name, "p");
	char *s = print(jsonout_status(&st, "amesh-ed25519 x p"));
	assert_non_null(strstr(s, "\"config\":null"));
	free(s);

	strcpy(st.config_path, "/etc/amesh.conf");
	st.config_loaded_at = 1000;
	st.config_modified_at = 1500;
	s = print(jsonout_status(&st, "amesh-ed25519 x p"));
	assert_non_null(strstr(s, "\"config\":{\"path\":\"/etc/amesh.conf\",\"loaded_at\":\"1970-01-01T00:16:40Z\","
	                          "\"modified_at\":\"1970-01-01T00:25:00Z\",\"changed_since_loaded\":true,\"reload\":null}"));
	free(s);

	st.reload_at = 2000;
	strcpy(st.reload_result, "refused");
	st.reload_messages = msgs;
	st.n_reload_messages = 1;
	s = print(jsonout_status(&st, "amesh-ed25519 x p"));
	assert_non_null(strstr(s, "\"reload\":{\"at\":\"1970-01-01T00:33:20Z\",\"result\":\"refused\",\"messages\":"
	                          "[\"/etc/amesh.conf:3: max_lifetime: cannot parse duration `90days'\"]}"));
	free(s);
}

static void test_print_reports_a_failed_build(void **state)
{
	(void)state;
	assert_int_equal(jsonout_print(stdout, NULL), AM_ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u_label_is_written_as_utf8),
		cmocka_unit_test(test_invalid_utf8_becomes_replacement_characters),
		cmocka_unit_test(test_signal_fields_in_documented_order),
		cmocka_unit_test(test_reals_are_short_and_null_is_null),
		cmocka_unit_test(test_watch_event_at_has_microseconds),
		cmocka_unit_test(test_print_reports_a_failed_build),
		cmocka_unit_test(test_status_config_and_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

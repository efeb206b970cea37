/* test_dnsmsg.c - unit tests for dnsmsg.c: query parsing with caps, answers, NOTIFY, TSIG checks. */
#include "dnsmsg.h"

#include <ldns/ldns.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define SECRET "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg="
#define OTHER "b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcjEyMzQ1Njc="

/* A query made by ldns, the way a secondary would send it. */
static size_t make_query_alg(uint8_t *out, size_t cap, const char *zone, ldns_rr_type type,
                             const char *soa_serial, const char *key, const char *secret, uint16_t fudge,
                             const char *alg)
{
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	assert_int_equal(ldns_pkt_query_new_frm_str(&p, zone, type, LDNS_RR_CLASS_IN, 0), LDNS_STATUS_OK);
	ldns_pkt_set_id(p, 4242);
	if (soa_serial != NULL) {
		char text[256];
		ldns_rr *rr = NULL;
		snprintf(text, sizeof text, "%s 0 IN SOA a. b. %s 1 1 1 1", zone, soa_serial);
		assert_int_equal(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	if (key != NULL)
		assert_int_equal(ldns_pkt_tsig_sign(p, key, secret, fudge, alg, NULL), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	assert_true(len <= cap);
	memcpy(out, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

static size_t make_query(uint8_t *out, size_t cap, const char *zone, ldns_rr_type type,
                         const char *soa_serial, const char *key, const char *secret, uint16_t fudge)
{
	return make_query_alg(out, cap, zone, type, soa_serial, key, secret, fudge, "hmac-sha256.");
}

static void test_parses_soa_and_ixfr_queries(void **state)
{
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	(void)state;

	size_t n = make_query(buf, sizeof buf, "RPZ.Example.", LDNS_RR_TYPE_SOA, NULL, NULL, NULL, 0);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	assert_string_equal(m.qname, "rpz.example");
	assert_int_equal(m.qtype, DNS_TYPE_SOA);
	assert_int_equal(m.id, 4242);
	assert_false(m.has_serial);
	n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_IXFR, "1796000000", NULL, NULL, 0);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	assert_int_equal(m.qtype, DNS_TYPE_IXFR);
	assert_true(m.has_serial);
	assert_int_equal(m.serial, 1796000000u);
}

/* Two OPT records: not parsed as a query, but the header and question
 * are read for the FORMERR RFC 6891 6.1.1 requires (formerr set). */
static void test_two_opts_owe_a_formerr(void **state)
{
	static const uint8_t opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	(void)state;

	size_t n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_SOA, NULL, NULL, NULL, 0);
	memcpy(buf + n, opt, sizeof opt);
	buf[11] = 1;
	assert_int_equal(dnsmsg_parse(buf, n + 11, &m, err, sizeof err), 0);
	assert_false(m.formerr);
	memcpy(buf + n + 11, opt, sizeof opt);
	buf[11] = 2;
	assert_int_equal(dnsmsg_parse(buf, n + 22, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_non_null(strstr(err, "2 OPT records"));
	assert_string_equal(m.qname, "rpz.example");
	assert_int_equal(m.qtype, DNS_TYPE_SOA);
	assert_int_equal(m.id, 4242);
	/* a message broken elsewhere (ARCOUNT past the end) owes one too */
	buf[11] = 3;
	assert_int_equal(dnsmsg_parse(buf, n + 22, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_int_equal(m.question_end, n);
}

/* Every message with a header that fails to parse owes a FORMERR (or
 * NOTIMP), echoing what could be read: the question when it reads, else
 * the header alone. Only a message with two OPTs got one; QDCOUNT 0 or 2,
 * a compressed question, a truncated IXFR authority and an OPT out of
 * place were dropped in silence, and the client retried until it gave up. */
static void test_broken_messages_owe_a_formerr(void **state)
{
	uint8_t buf[512], q2[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	(void)state;

	size_t n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_SOA, NULL, NULL, NULL, 0);
	memcpy(q2, buf, n);
	/* QDCOUNT 0, 2: the header alone */
	q2[5] = 0;
	assert_int_equal(dnsmsg_parse(q2, n, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_int_equal(m.question_end, 12);
	assert_int_equal(m.id, 4242);
	q2[5] = 2;
	assert_int_equal(dnsmsg_parse(q2, n, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_int_equal(m.question_end, 12);
	/* a compressed question name, or one running past the end */
	static const uint8_t ptr[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1};
	assert_int_equal(dnsmsg_parse(ptr, sizeof ptr, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_int_equal(m.question_end, 12);
	assert_int_equal(dnsmsg_parse(buf, 14, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_int_equal(m.question_end, 12);
	/* an IXFR whose authority SOA is cut short: the question is echoed */
	size_t ni = make_query(q2, sizeof q2, "rpz.example.", LDNS_RR_TYPE_IXFR, "1796000000", NULL, NULL, 0);
	assert_int_equal(dnsmsg_parse(q2, ni - 10, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_int_equal(m.question_end, n);
	assert_string_equal(m.qname, "rpz.example");
	assert_int_equal(m.qtype, DNS_TYPE_IXFR);
	/* an OPT in the authority section, or not owned by the root */
	static const uint8_t opt[11] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
	memcpy(q2, buf, n);
	memcpy(q2 + n, opt, sizeof opt);
	q2[9] = 1; /* NSCOUNT */
	assert_int_equal(dnsmsg_parse(q2, n + 11, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	assert_non_null(strstr(err, "OPT record outside"));
	static const uint8_t optx[13] = {1, 'x', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
	memcpy(q2 + n, optx, sizeof optx);
	q2[9] = 0;
	q2[11] = 1;
	assert_int_equal(dnsmsg_parse(q2, n + 13, &m, err, sizeof err), AM_EDECODE);
	assert_true(m.formerr);
	/* shorter than a header: nothing to answer */
	assert_int_equal(dnsmsg_parse(buf, 11, &m, err, sizeof err), AM_EDECODE);
	assert_false(m.formerr);
}

static void test_refuses_what_a_primary_never_needs(void **state)
{
	uint8_t buf[DNSMSG_QUERY_MAX + 16];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	(void)state;

	memset(buf, 0, sizeof buf);
	assert_int_equal(dnsmsg_parse(buf, DNSMSG_QUERY_MAX + 1, &m, err, sizeof err), AM_ETOOBIG);
	assert_int_equal(dnsmsg_parse(buf, 11, &m, err, sizeof err), AM_EDECODE);
	size_t n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_SOA, NULL, NULL, NULL, 0);
	buf[5] = 2; /* two questions */
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "2 questions"));
	buf[5] = 1;
	assert_int_equal(dnsmsg_parse(buf, n - 1, &m, err, sizeof err), AM_EDECODE);
	/* a compressed question name: our answers point at it, so refuse */
	static const uint8_t ptr[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1};
	assert_int_equal(dnsmsg_parse(ptr, sizeof ptr, &m, err, sizeof err), AM_EDECODE);
}

static void test_answer_parses_back(void **state)
{
	static struct dnsmsg_out o;
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	ldns_pkt *p = NULL;
	(void)state;

	size_t n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_AXFR, NULL, NULL, NULL, 0);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	dnsmsg_begin(&o, &m, buf, DNS_RCODE_NOERROR);
	assert_int_equal(dnsmsg_add_soa(&o, 300, 7, 300, 60, 259200, 60), 0);
	assert_int_equal(dnsmsg_add_ns(&o, 300, "localhost."), 0);
	assert_int_equal(dnsmsg_add_cname(&o, "evil.example.com", 300, "."), 0);
	assert_int_equal(dnsmsg_add_cname(&o, "*.evil.example.com", 300, "rpz-passthru."), 0);
	assert_int_equal(ldns_wire2pkt(&p, o.buf, o.len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(p), 4242);
	assert_true(ldns_pkt_aa(p));
	ldns_rr_list *an = ldns_pkt_answer(p);
	assert_int_equal(ldns_rr_list_rr_count(an), 4);
	char *s = ldns_rr2str(ldns_rr_list_rr(an, 3));
	assert_non_null(strstr(s, "*.evil.example.com.rpz.example."));
	assert_non_null(strstr(s, "rpz-passthru."));
	free(s);
	s = ldns_rr2str(ldns_rr_list_rr(an, 0));
	assert_non_null(strstr(s, " 7 300 60 259200 60"));
	free(s);
	ldns_pkt_free(p);
	/* a full message refuses the record and stays intact */
	size_t before;
	do {
		before = o.len;
	} while (dnsmsg_add_cname(&o, "filler.example.com", 300, ".") == 0);
	assert_int_equal(o.len, before);
	assert_true(o.len <= DNSMSG_OUT_MAX);
	dnsmsg_reset(&o);
	assert_int_equal(o.ancount, 0);
	assert_int_equal(o.len, m.question_end);
}

/* An answer copies the query's RD (RFC 1035 4.1.1) and CD (RFC 4035
 * 3.2.2) bits, whatever its RCODE: a validating resolver that sent CD
 * reads an answer without it as another message's. Both were 0 in every
 * answer; an RCODE set after the header (NOTIMP for AXFR over UDP) wrote
 * over CD too. */
static void test_answer_copies_rd_and_cd(void **state)
{
	static struct dnsmsg_out o;
	(void)state;

	for (int bits = 0; bits < 4; bits++) {
		bool rd = bits & 1, cd = bits & 2;
		ldns_pkt *q = NULL, *a = NULL;
		uint8_t *wire = NULL;
		size_t n = 0;
		struct dnsmsg m;
		char err[AM_ERRLEN];

		assert_int_equal(ldns_pkt_query_new_frm_str(&q, "rpz.example.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0),
		                 LDNS_STATUS_OK);
		ldns_pkt_set_id(q, 77);
		ldns_pkt_set_rd(q, rd);
		ldns_pkt_set_cd(q, cd);
		assert_int_equal(ldns_pkt2wire(&wire, q, &n), LDNS_STATUS_OK);
		assert_int_equal(dnsmsg_parse(wire, n, &m, err, sizeof err), 0);
		assert_int_equal(m.rd, rd);
		assert_int_equal(m.cd, cd);
		/* an answer */
		dnsmsg_begin(&o, &m, wire, DNS_RCODE_NOERROR);
		assert_int_equal(dnsmsg_add_soa(&o, 300, 7, 300, 60, 259200, 60), 0);
		assert_int_equal(ldns_wire2pkt(&a, o.buf, o.len), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_rd(a), rd);
		assert_int_equal(ldns_pkt_cd(a), cd);
		assert_true(ldns_pkt_qr(a) && ldns_pkt_aa(a));
		assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOERROR);
		ldns_pkt_free(a);
		/* an error set after the header keeps them */
		dnsmsg_reset(&o);
		dnsmsg_set_rcode(&o, DNS_RCODE_NOTIMP);
		assert_int_equal(ldns_wire2pkt(&a, o.buf, o.len), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_rd(a), rd);
		assert_int_equal(ldns_pkt_cd(a), cd);
		assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOTIMPL);
		ldns_pkt_free(a);
		/* and so does a TSIG error (NOTAUTH) */
		dnsmsg_begin(&o, &m, wire, DNS_RCODE_NOTAUTH);
		dnsmsg_tsig_error(&o, &m, DNS_TSIG_BADKEY, 1796000000u);
		assert_int_equal(ldns_wire2pkt(&a, o.buf, o.len), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_rd(a), rd);
		assert_int_equal(ldns_pkt_cd(a), cd);
		assert_int_equal(ldns_pkt_get_rcode(a), LDNS_RCODE_NOTAUTH);
		ldns_pkt_free(a);
		free(wire);
		ldns_pkt_free(q);
	}
}

static void test_notify_parses_back(void **state)
{
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	(void)state;

	int n = dnsmsg_notify(buf, sizeof buf, 99, "rpz.example", 1796000001u);
	assert_true(n > 0);
	assert_int_equal(dnsmsg_parse(buf, (size_t)n, &m, err, sizeof err), 0);
	assert_int_equal(m.opcode, DNS_OPCODE_NOTIFY);
	assert_string_equal(m.qname, "rpz.example");
	assert_int_equal(m.qtype, DNS_TYPE_SOA);
	assert_int_equal(dnsmsg_notify(buf, 20, 99, "rpz.example", 1), -1);
}

static void test_tsig_checks_key_name_algorithm_mac_and_time(void **state)
{
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	uint64_t now;
	(void)state;

	size_t n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_AXFR, NULL, "amesh-xfr.",
	                      SECRET, 300);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	assert_true(m.has_tsig);
	/* the window is measured from the time ldns signed at, not from a clock
	 * read before signing: a second ticking in between made "now + 301"
	 * only 300 s past the signature, inside the fudge (a flaky run) */
	now = m.tsig_time;
	assert_true(now + 2 >= (uint64_t)time(NULL) && now <= (uint64_t)time(NULL));
	assert_string_equal(m.tsig_name, "amesh-xfr");
	assert_string_equal(m.tsig_alg, "hmac-sha256");
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", SECRET, now), 0);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", OTHER, now), DNS_TSIG_BADSIG);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "other-key", SECRET, now), DNS_TSIG_BADKEY);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", SECRET, now + 301), DNS_TSIG_BADTIME);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", SECRET, now - 400), DNS_TSIG_BADTIME);
	/* a flipped byte in the question breaks the MAC */
	buf[14] ^= 1;
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", SECRET, now), DNS_TSIG_BADSIG);
	/* unsigned */
	n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_AXFR, NULL, NULL, NULL, 0);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", SECRET, now), DNS_TSIG_BADKEY);
}

/* Names in TSIG - the key's and the algorithm's - are domain names and
 * compare without regard to case (RFC 8945 s.4.1, RFC 4343): a secondary
 * that writes HMAC-SHA256 or its key name in capitals is the same. */
static void test_tsig_names_in_any_case(void **state)
{
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN];
	uint64_t now = (uint64_t)time(NULL);
	(void)state;

	size_t n = make_query_alg(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_AXFR, NULL, "Amesh-XFR.", SECRET,
	                          300, "HMAC-SHA256.");
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	assert_true(m.has_tsig);
	assert_string_equal(m.tsig_name, "amesh-xfr");
	assert_string_equal(m.tsig_alg, "hmac-sha256");
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", SECRET, now), 0);
	assert_int_equal(dnsmsg_tsig_verify(buf, n, &m, "amesh-xfr", OTHER, now), DNS_TSIG_BADSIG);
}

static void test_signed_answer_verifies_and_errors_are_unsigned(void **state)
{
	static struct dnsmsg_out o;
	uint8_t buf[512], mac[DNSMSG_MAC_MAX];
	size_t mac_len;
	struct dnsmsg m, a;
	char err[AM_ERRLEN];
	ldns_pkt *p = NULL;
	uint64_t now = (uint64_t)time(NULL);
	(void)state;

	size_t n = make_query(buf, sizeof buf, "rpz.example.", LDNS_RR_TYPE_AXFR, NULL, "amesh-xfr.",
	                      SECRET, 300);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	dnsmsg_begin(&o, &m, buf, DNS_RCODE_NOERROR);
	assert_int_equal(dnsmsg_add_soa(&o, 300, 7, 300, 60, 259200, 60), 0);
	assert_int_equal(dnsmsg_tsig_sign(&o, "amesh-xfr", SECRET, m.tsig_mac, m.tsig_mac_len, false, now,
	                                  mac, &mac_len), 0);
	assert_int_equal(mac_len, 32);
	/* the answer verifies against the request's MAC, as a secondary checks it */
	ldns_rdf *req_mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2 + m.tsig_mac_len,
	                                          (uint8_t[2 + DNSMSG_MAC_MAX]){0, 32});
	memcpy(ldns_rdf_data(req_mac) + 2, m.tsig_mac, m.tsig_mac_len);
	assert_int_equal(ldns_wire2pkt(&p, o.buf, o.len), LDNS_STATUS_OK);
	assert_true(ldns_pkt_tsig_verify(p, o.buf, o.len, "amesh-xfr.", SECRET, req_mac));
	ldns_pkt_free(p);
	ldns_rdf_deep_free(req_mac);
	/* an error: NOTAUTH, TSIG error BADSIG, no MAC */
	dnsmsg_begin(&o, &m, buf, DNS_RCODE_NOERROR);
	dnsmsg_tsig_error(&o, &m, DNS_TSIG_BADSIG, now);
	assert_int_equal(o.buf[3] & 0xf, DNS_RCODE_NOTAUTH);
	assert_int_equal(ldns_wire2pkt(&p, o.buf, o.len), LDNS_STATUS_OK);
	ldns_rr *t = ldns_pkt_tsig(p);
	assert_non_null(t);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), DNS_TSIG_BADSIG);
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(t, 3)), 2);
	ldns_pkt_free(p);
	(void)a;
}

/* What `amesh rpz' says a secondary answered a NOTIFY with. */
static void test_rcode_names(void **state)
{
	char buf[16];
	(void)state;
	assert_string_equal(dnsmsg_rcode_name(0, buf), "NOERROR");
	assert_string_equal(dnsmsg_rcode_name(DNS_RCODE_REFUSED, buf), "REFUSED");
	assert_string_equal(dnsmsg_rcode_name(DNS_RCODE_NOTAUTH, buf), "NOTAUTH");
	assert_string_equal(dnsmsg_rcode_name(10, buf), "NOTZONE");
	assert_string_equal(dnsmsg_rcode_name(11, buf), "RCODE 11");
	assert_string_equal(dnsmsg_rcode_name(-1, buf), "RCODE -1");
}

/* Whether NAME is ZONE or below it, and how: labels above the apex and
 * the relative name, or "no" (a helper for the table below). */
static const char *in_zone(const char *name, const char *zone)
{
	static char out[AM_DOMAIN_MAX + 32];
	uint8_t buf[512];
	struct dnsmsg m;
	char err[AM_ERRLEN], rel[AM_DOMAIN_MAX + 1];
	unsigned labels = 99;

	size_t n = make_query(buf, sizeof buf, name, LDNS_RR_TYPE_A, NULL, NULL, NULL, 0);
	assert_int_equal(dnsmsg_parse(buf, n, &m, err, sizeof err), 0);
	if (!dnsmsg_qname_in_zone(buf, &m, zone, &labels, rel))
		return "no";
	snprintf(out, sizeof out, "%u %s", labels, rel);
	return out;
}

/* The zone a question is in is found label by label in wire form: an
 * escaped dot inside a label ("x\\.rpz.example": two labels, x.rpz and
 * example) is no label boundary, though the name's text ends in
 * ".rpz.example"; letters in any case; octets no rule can hold become '?'
 * and '*' stays only as a whole label (the wildcard). */
static void test_qname_in_zone(void **state)
{
	(void)state;
	assert_string_equal(in_zone("rpz.example.", "rpz.example"), "0 ");
	assert_string_equal(in_zone("a.b.rpz.example.", "rpz.example"), "2 a.b");
	assert_string_equal(in_zone("A.b.RPZ.Example.", "rpz.example"), "2 a.b");
	assert_string_equal(in_zone("a.b.rpz.example.", "RPZ.example"), "2 a.b");
	assert_string_equal(in_zone("x\\.rpz.example.", "rpz.example"), "no");
	assert_string_equal(in_zone("xrpz.example.", "rpz.example"), "no");
	assert_string_equal(in_zone("rpz.example.net.", "rpz.example"), "no");
	assert_string_equal(in_zone("example.", "rpz.example"), "no");
	assert_string_equal(in_zone(".", "rpz.example"), "no");
	assert_string_equal(in_zone("a!b.c\\.d.rpz.example.", "rpz.example"), "2 a?b.c?d");
	assert_string_equal(in_zone("*.x_y.rpz.example.", "rpz.example"), "2 *.x_y");
	assert_string_equal(in_zone("a*.rpz.example.", "rpz.example"), "1 a?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses_soa_and_ixfr_queries),
		cmocka_unit_test(test_refuses_what_a_primary_never_needs),
		cmocka_unit_test(test_two_opts_owe_a_formerr),
		cmocka_unit_test(test_broken_messages_owe_a_formerr),
		cmocka_unit_test(test_answer_parses_back),
		cmocka_unit_test(test_answer_copies_rd_and_cd),
		cmocka_unit_test(test_notify_parses_back),
		cmocka_unit_test(test_rcode_names),
		cmocka_unit_test(test_qname_in_zone),
		cmocka_unit_test(test_tsig_checks_key_name_algorithm_mac_and_time),
		cmocka_unit_test(test_tsig_names_in_any_case),
		cmocka_unit_test(test_signed_answer_verifies_and_errors_are_unsigned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

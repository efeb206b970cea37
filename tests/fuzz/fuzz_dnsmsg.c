/* fuzz_dnsmsg.c - every DNS message the RPZ server reads from the network: dnsmsg_parse, TSIG checks, answers. */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsmsg.h"
#include "fuzz.h"

#define SECRET "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg="

#define ZONE "rpz.example"

/* A question below (or at) the apex of ZONE, as dns.c answers it: the
 * split agrees with the name's text where that has no escapes, the
 * relative name has only octets a rule can hold ('?' for the rest), and
 * the answer - the CNAME owned by the question, the SOA in authority
 * owned by the apex - reads back with those owners. */
static void below_apex(const uint8_t *data, const struct dnsmsg *m)
{
	static struct dnsmsg_out o;
	char rel[AM_DOMAIN_MAX + 1];
	unsigned labels = 99;
	size_t ql = strlen(m->qname), zl = strlen(ZONE);
	bool in = dnsmsg_qname_in_zone(data, m, ZONE, &labels, rel);
	bool text_in = strcmp(m->qname, ZONE) == 0 ||
	               (ql > zl && strcmp(m->qname + ql - zl, ZONE) == 0 && m->qname[ql - zl - 1] == '.');

	if (in && !text_in)
		abort();
	if (!in && text_in && strchr(m->qname, '\\') == NULL)
		abort();
	if (!in)
		return;
	if ((labels == 0) != (rel[0] == '\0') || strlen(rel) > AM_DOMAIN_MAX ||
	    strspn(rel, "abcdefghijklmnopqrstuvwxyz0123456789-_*.?") != strlen(rel))
		abort();
	if (strchr(m->qname, '\\') == NULL && ql > zl && strncmp(rel, m->qname, ql - zl - 1) != 0 &&
	    strpbrk(rel, "?") == NULL)
		abort();
	dnsmsg_begin(&o, m, data, DNS_RCODE_NXDOMAIN);
	dnsmsg_set_apex(&o, labels);
	if (dnsmsg_add_cname(&o, NULL, 300, "rpz-passthru.") != 0)
		abort();
	dnsmsg_authority(&o);
	if (dnsmsg_add_soa(&o, 60, 1, 300, 60, 259200, 60) != 0)
		abort();
	dnsmsg_end(&o);
	ldns_pkt *a = NULL;
	if (ldns_wire2pkt(&a, o.buf, o.len) != LDNS_STATUS_OK || ldns_pkt_ancount(a) != 1 || ldns_pkt_nscount(a) != 1)
		abort();
	ldns_rdf *zone = ldns_dname_new_frm_str(ZONE ".");
	if (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_authority(a), 0)), zone) != 0 ||
	    ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(a), 0)),
	                       ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(a), 0))) != 0)
		abort();
	ldns_rdf_deep_free(zone);
	ldns_pkt_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dnsmsg_out o;
	struct dnsmsg m;
	char err[AM_ERRLEN];

	int rv = dnsmsg_parse(data, size, &m, err, sizeof err);
	if (rv != 0) {
		if ((rv != AM_EDECODE && rv != AM_ETOOBIG) || err[0] == '\0')
			abort();
		if (m.formerr) {
			/* the FORMERR the server sends: a message ldns reads */
			ldns_pkt *a = NULL;
			if (m.question_end < 12 || m.question_end > size)
				abort();
			dnsmsg_begin(&o, &m, data, DNS_RCODE_FORMERR);
			dnsmsg_end(&o);
			if (o.len > size + 11 || ldns_wire2pkt(&a, o.buf, o.len) != LDNS_STATUS_OK ||
			    ldns_pkt_qdcount(a) != (m.question_end > 12))
				abort();
			ldns_pkt_free(a);
		}
		return 0;
	}
	/* what the server does next with an accepted message */
	if (m.question_end < 12 || m.question_end > size || strlen(m.qname) > AM_DOMAIN_MAX ||
	    m.tsig_mac_len > DNSMSG_MAC_MAX)
		abort();
	if (m.has_tsig)
		dnsmsg_tsig_verify(data, size, &m, "amesh-xfr", SECRET, (uint64_t)time(NULL));
	dnsmsg_begin(&o, &m, data, m.edns && m.edns_version > 0 ? DNS_RCODE_BADVERS : DNS_RCODE_NOERROR);
	if (dnsmsg_add_soa(&o, 300, m.serial, 300, 60, 259200, 60) != 0 ||
	    dnsmsg_add_cname(&o, "evil.example.com", 300, ".") != 0)
		abort(); /* a question of at most 255 bytes leaves room for both */
	if (m.has_tsig)
		dnsmsg_tsig_error(&o, &m, DNS_TSIG_BADSIG, (uint64_t)time(NULL));
	else
		dnsmsg_end(&o);
	if (o.len > sizeof o.buf)
		abort();
	/* the answer is a message ldns reads, with an OPT when the query had one */
	ldns_pkt *a = NULL;
	if (ldns_wire2pkt(&a, o.buf, o.len) != LDNS_STATUS_OK || ldns_pkt_edns(a) != m.edns)
		abort();
	ldns_pkt_free(a);
	below_apex(data, &m);
	dnsmsg_truncate(&o);
	if (ldns_wire2pkt(&a, o.buf, o.len) != LDNS_STATUS_OK || !ldns_pkt_tc(a) || ldns_pkt_edns(a) != m.edns ||
	    ldns_pkt_ancount(a) != 0 || o.len > 12 + AM_DOMAIN_MAX + 2 + 4 + 11)
		abort();
	ldns_pkt_free(a);
	return 0;
}

/* Queries a secondary sends, made by ldns: SOA, AXFR, IXFR with a serial,
 * signed and unsigned, a NOTIFY answer, and SOA queries with EDNS. */
size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const ldns_rr_type types[] = {LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR,
	                                     LDNS_RR_TYPE_IXFR, LDNS_RR_TYPE_AXFR};
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	if (i == 5) {
		int n = dnsmsg_notify(buf, cap, 7, "rpz.example", 1796000000u);
		buf[2] |= 0x80; /* as answered */
		return n > 0 ? (size_t)n : 0;
	}
	if (i == 8 || i == 9) {
		/* names below the apex, one in another case, one a wildcard */
		const char *name = i == 8 ? "Evil.Example.COM.rpz.example." : "*.evil.example.com.RPZ.example.";
		if (ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
			return 0;
	} else if (i > 9) {
		return 0;
	} else if (i >= 6) {
		/* EDNS: version 0 with a 512-byte payload; version 1 with DO */
		if (ldns_pkt_query_new_frm_str(&p, "rpz.example.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
			return 0;
		ldns_pkt_set_edns_udp_size(p, i == 6 ? 512 : 4096);
		ldns_pkt_set_edns_version(p, i == 6 ? 0 : 1);
		ldns_pkt_set_edns_do(p, i == 7);
	} else if (ldns_pkt_query_new_frm_str(&p, "rpz.example.", types[i], LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
		return 0;
	if (i < 6 && types[i] == LDNS_RR_TYPE_IXFR) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, "rpz.example. 0 IN SOA a. b. 1796000000 1 1 1 1", 0, NULL, NULL) ==
		    LDNS_STATUS_OK)
			ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	if (i >= 3)
		ldns_pkt_tsig_sign(p, "amesh-xfr.", SECRET, 300, "hmac-sha256.", NULL);
	if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK || len > cap)
		len = 0;
	else
		memcpy(buf, wire, len);
	free(wire);
	ldns_pkt_free(p);
	return len;
}

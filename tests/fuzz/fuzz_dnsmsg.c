/* fuzz_dnsmsg.c - every DNS message the RPZ server reads from the network: dnsmsg_parse, TSIG checks, answers. */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsmsg.h"
#include "fuzz.h"

#define SECRET "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTIzNDU2Nzg="

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
	if (i > 7)
		return 0;
	if (i >= 6) {
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

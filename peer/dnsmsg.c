/* dnsmsg.c - DNS queries in (ldns, capped), transfer answers and NOTIFY out (wire format), TSIG. */
#include "dnsmsg.h"

#include <ctype.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <string.h>

#define TSIG_ALG "hmac-sha256"

/* A name rdf as lower case without the trailing dot. -1 when too long. */
static int dname_text(const ldns_rdf *rdf, char out[AM_DOMAIN_MAX + 1])
{
	char *s;
	size_t n;

	out[0] = '\0';
	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return -1;
	if ((s = ldns_rdf2str(rdf)) == NULL)
		return -1;
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n > AM_DOMAIN_MAX) {
		free(s);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	free(s);
	return 0;
}

/* Offset just past the uncompressed name at pos, or -1. */
static long skip_name(const uint8_t *buf, size_t len, size_t pos)
{
	while (pos < len) {
		uint8_t l = buf[pos];
		if (l == 0)
			return (long)pos + 1;
		/* a compressed question name has nothing to point back to, and
		 * our answers point at it */
		if (l & 0xc0)
			return -1;
		pos += 1u + l;
	}
	return -1;
}

/* The TSIG and OPT records among the answer, authority and additional
 * records that follow the question ending at pos; -1 if the records do
 * not parse. *opt = -1 when an OPT sits outside the additional section
 * or has an owner other than the root (RFC 6891 6.1.1, 6.1.2). ldns 1.8.3's ldns_wire2pkt keeps only the last TSIG it meets
 * and never frees the ones before (found by fuzz_dnsmsg: ~700 bytes
 * leaked per query carrying two, from anyone who can reach the DNS port),
 * so a message with more than one must never reach it. RFC 8945 allows
 * one. OPT the same: ldns folds every OPT into one set of EDNS fields
 * (the last wins), so only here can a second be seen - and RFC 6891
 * 6.1.1 makes a query with more than one a FORMERR. */
static long count_tsig(const uint8_t *buf, size_t len, size_t pos, long *opt)
{
	unsigned rrs = (unsigned)(buf[6] << 8 | buf[7]) + (unsigned)(buf[8] << 8 | buf[9]) +
	               (unsigned)(buf[10] << 8 | buf[11]);
	unsigned additional_from = rrs - (unsigned)(buf[10] << 8 | buf[11]);
	long tsig = 0;
	bool bad_opt = false;

	*opt = 0;

	for (unsigned i = 0; i < rrs; i++) {
		size_t owner = pos;
		/* the owner name: labels, ending in a root label or a pointer */
		for (;;) {
			if (pos >= len)
				return -1;
			uint8_t l = buf[pos];
			if (l == 0) {
				pos++;
				break;
			}
			if ((l & 0xc0) == 0xc0) {
				pos += 2;
				break;
			}
			if (l & 0xc0)
				return -1;
			pos += 1u + l;
		}
		if (pos + 10 > len)
			return -1;
		if ((buf[pos] << 8 | buf[pos + 1]) == 250) /* TSIG */
			tsig++;
		if ((buf[pos] << 8 | buf[pos + 1]) == 41) { /* OPT */
			/* only in the additional section, owned by the root:
			 * ldns would read one elsewhere as an ordinary record */
			if (i < additional_from || buf[pos - 1] != 0 || pos - 1 != owner)
				bad_opt = true;
			(*opt)++;
		}
		pos += 10u + (size_t)(buf[pos + 8] << 8 | buf[pos + 9]);
		if (pos > len)
			return -1;
	}
	if (bad_opt)
		*opt = -1;
	return tsig;
}

/* A message that fails to parse but whose header was read owes its sender
 * a FORMERR (NOTIMP for an opcode we lack): silence made every client
 * retry until it gave up, and the answer is no longer than the query (no
 * amplification). Fills m from the raw header and, when question_end
 * is past it, from the question read alone by ldns (the other sections'
 * counts zeroed, so ldns never meets what broke); a question that does not
 * read leaves a header-only answer (question_end 12). */
static void owe_formerr(const uint8_t *buf, size_t question_end, struct dnsmsg *m)
{
	uint8_t head[12 + 255 + 4];
	ldns_pkt *pkt = NULL;

	m->id = (uint16_t)(buf[0] << 8 | buf[1]);
	m->qr = buf[2] & 0x80;
	m->opcode = (unsigned)(buf[2] >> 3 & 0xf);
	m->rd = buf[2] & 0x01;
	m->cd = buf[3] & 0x10;
	m->question_end = 12;
	m->formerr = true;
	if (question_end <= 12 || question_end > sizeof head)
		return;
	memcpy(head, buf, question_end);
	memset(head + 6, 0, 6);
	if (ldns_wire2pkt(&pkt, head, question_end) == LDNS_STATUS_OK &&
	    ldns_rr_list_rr_count(ldns_pkt_question(pkt)) == 1 &&
	    dname_text(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(pkt), 0)), m->qname) == 0) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
		m->qtype = (uint16_t)ldns_rr_get_type(rr);
		m->qclass = (uint16_t)ldns_rr_get_class(rr);
		m->question_end = question_end;
	}
	ldns_pkt_free(pkt);
}

int dnsmsg_parse(const uint8_t *buf, size_t len, struct dnsmsg *m, char *err, size_t errlen)
{
	ldns_pkt *pkt = NULL;
	ldns_rr *rr;
	int rv = AM_EDECODE;

	memset(m, 0, sizeof *m);
	if (len > DNSMSG_QUERY_MAX) {
		snprintf(err, errlen, "message of %zu bytes is over the %d accepted", len, DNSMSG_QUERY_MAX);
		return AM_ETOOBIG;
	}
	if (len < 12) {
		snprintf(err, errlen, "message of %zu bytes is shorter than a DNS header", len);
		return AM_EDECODE;
	}
	/* exactly one question, before ldns spends anything on the rest */
	if (buf[4] != 0 || buf[5] != 1) {
		snprintf(err, errlen, "%u questions (one expected)", (unsigned)(buf[4] << 8 | buf[5]));
		owe_formerr(buf, 0, m);
		return AM_EDECODE;
	}
	long qend = skip_name(buf, len, 12);
	if (qend < 0 || (size_t)qend + 4 > len) {
		snprintf(err, errlen, "malformed question");
		owe_formerr(buf, 0, m);
		return AM_EDECODE;
	}
	size_t question_end = (size_t)qend + 4;
	long opts, tsigs = count_tsig(buf, len, question_end, &opts);
	if (tsigs < 0) {
		snprintf(err, errlen, "malformed records after the question");
		owe_formerr(buf, question_end, m);
		return AM_EDECODE;
	}
	if (tsigs > 1) {
		snprintf(err, errlen, "%ld TSIG records (at most one)", tsigs);
		owe_formerr(buf, question_end, m);
		return AM_EDECODE;
	}
	if (opts > 1) {
		snprintf(err, errlen, "%ld OPT records (at most one, RFC 6891 6.1.1)", opts);
		owe_formerr(buf, question_end, m);
		return AM_EDECODE;
	}
	if (opts < 0) {
		snprintf(err, errlen, "an OPT record outside the additional section or not owned by the root "
		                      "(RFC 6891 6.1.1)");
		owe_formerr(buf, question_end, m);
		return AM_EDECODE;
	}
	m->question_end = question_end;
	ldns_status st = ldns_wire2pkt(&pkt, buf, len);
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "malformed message: %s", ldns_get_errorstr_by_id(st));
		ldns_pkt_free(pkt);
		owe_formerr(buf, question_end, m);
		return AM_EDECODE;
	}
	m->id = ldns_pkt_id(pkt);
	m->qr = ldns_pkt_qr(pkt);
	m->rd = ldns_pkt_rd(pkt);
	m->cd = ldns_pkt_cd(pkt);
	m->opcode = (unsigned)ldns_pkt_get_opcode(pkt);
	m->rcode = (unsigned)ldns_pkt_get_rcode(pkt);
	if (ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1) {
		snprintf(err, errlen, "no question");
		goto out;
	}
	rr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	if (dname_text(ldns_rr_owner(rr), m->qname) != 0) {
		snprintf(err, errlen, "question name is not a name");
		goto out;
	}
	m->qtype = (uint16_t)ldns_rr_get_type(rr);
	m->qclass = (uint16_t)ldns_rr_get_class(rr);
	/* ldns folds the additional section's OPT into these fields (and
	 * count_tsig made sure there is at most one) */
	if (ldns_pkt_edns(pkt)) {
		m->edns = true;
		m->edns_version = ldns_pkt_edns_version(pkt);
		m->edns_size = ldns_pkt_edns_udp_size(pkt);
		m->edns_do = ldns_pkt_edns_do(pkt);
	}
	/* IXFR carries the client's SOA in the authority section */
	ldns_rr_list *auth = ldns_pkt_authority(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) == 4) {
			m->has_serial = true;
			m->serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
	}
	/* NOTIFY answers echo the SOA in the answer section; not needed */
	rr = ldns_pkt_tsig(pkt);
	if (rr != NULL) {
		if (ldns_rr_rd_count(rr) < 7 || dname_text(ldns_rr_owner(rr), m->tsig_name) != 0 ||
		    dname_text(ldns_rr_rdf(rr, 0), m->tsig_alg) != 0 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 1)) != 6 || ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 2) {
			snprintf(err, errlen, "malformed TSIG record");
			goto out;
		}
		const uint8_t *t = ldns_rdf_data(ldns_rr_rdf(rr, 1));
		for (int i = 0; i < 6; i++)
			m->tsig_time = m->tsig_time << 8 | t[i];
		m->tsig_fudge = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
		const ldns_rdf *mac = ldns_rr_rdf(rr, 3);
		size_t ms = ldns_rdf_size(mac);
		const uint8_t *md = ldns_rdf_data(mac);
		if (ms < 2 || ms - 2 != (size_t)(md[0] << 8 | md[1]) || ms - 2 > DNSMSG_MAC_MAX) {
			snprintf(err, errlen, "malformed TSIG MAC");
			goto out;
		}
		m->tsig_mac_len = ms - 2;
		memcpy(m->tsig_mac, md + 2, m->tsig_mac_len);
		m->has_tsig = true;
	}
	rv = 0;
out:
	ldns_pkt_free(pkt);
	if (rv != 0)
		owe_formerr(buf, question_end, m);
	return rv;
}

int dnsmsg_tsig_verify(const uint8_t *buf, size_t len, const struct dnsmsg *m, const char *key_name,
                       const char *secret_b64, uint64_t now)
{
	ldns_pkt *pkt = NULL;
	char name[AM_DOMAIN_MAX + 2];
	bool ok;

	/* ldns checks none of these: a request under another key or
	 * algorithm, or an old one replayed, would verify otherwise */
	if (!m->has_tsig || strcmp(m->tsig_name, key_name) != 0 || strcmp(m->tsig_alg, TSIG_ALG) != 0)
		return DNS_TSIG_BADKEY;
	if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK)
		return DNS_TSIG_BADSIG;
	snprintf(name, sizeof name, "%s.", key_name);
	ok = ldns_pkt_tsig_verify_next(pkt, buf, len, name, secret_b64, NULL, 0);
	ldns_pkt_free(pkt);
	if (!ok)
		return DNS_TSIG_BADSIG;
	uint64_t diff = now > m->tsig_time ? now - m->tsig_time : m->tsig_time - now;
	if (diff > m->tsig_fudge)
		return DNS_TSIG_BADTIME;
	return 0;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void dnsmsg_begin(struct dnsmsg_out *o, const struct dnsmsg *q, const uint8_t *req, unsigned rcode)
{
	memset(o->buf, 0, 12);
	put16(o->buf, q->id);
	o->buf[2] = (uint8_t)(0x80 | (q->opcode & 0xf) << 3 | 0x04 | (q->rd ? 0x01 : 0)); /* QR, opcode, AA, RD */
	o->buf[3] = (uint8_t)(q->cd ? 0x10 : 0);                                          /* CD */
	o->buf[5] = q->question_end > 12; /* none when a FORMERR could not read it */
	memcpy(o->buf + 12, req + 12, q->question_end - 12);
	o->len = o->base = q->question_end;
	o->apex = 12;
	o->ancount = o->nscount = 0;
	o->authority = false;
	o->edns = q->edns;
	o->edns_do = q->edns_do;
	o->ended = false;
	dnsmsg_set_rcode(o, rcode);
}

void dnsmsg_set_rcode(struct dnsmsg_out *o, unsigned rcode)
{
	o->buf[3] = (uint8_t)((o->buf[3] & 0xf0) | (rcode & 0xf));
	o->ext_rcode = (uint8_t)(rcode >> 4);
}

void dnsmsg_reset(struct dnsmsg_out *o)
{
	o->len = o->base;
	o->ancount = o->nscount = 0;
	o->authority = false;
	o->ended = false;
	put16(o->buf + 6, 0);
	put16(o->buf + 8, 0);
	put16(o->buf + 10, 0);
}

void dnsmsg_end(struct dnsmsg_out *o)
{
	if (o->ended)
		return;
	o->ended = true;
	if (!o->edns)
		return;
	/* root owner, type OPT, class = our UDP size, TTL = extended RCODE,
	 * version 0, DO; no options (RFC 6891 6.1.2, 6.1.3). The buffer has
	 * room past DNSMSG_OUT_MAX for it. */
	uint8_t *p = o->buf + o->len;
	p[0] = 0;
	put16(p + 1, 41);
	put16(p + 3, DNSMSG_EDNS_SIZE);
	p[5] = o->ext_rcode;
	p[6] = 0;
	put16(p + 7, o->edns_do ? 0x8000 : 0);
	put16(p + 9, 0);
	o->len += 11;
	put16(o->buf + 10, (unsigned)(o->buf[10] << 8 | o->buf[11]) + 1);
}

void dnsmsg_truncate(struct dnsmsg_out *o)
{
	dnsmsg_reset(o);
	o->buf[2] |= 0x02; /* TC */
	dnsmsg_end(o);
}

/* Writes presentation name `name' as labels; relative names (ptr > 0)
 * end in a pointer to offset ptr (the apex, inside the question),
 * absolute ones ("x.y.", ".") in the root label. Returns bytes written or
 * -1. */
static int put_name(uint8_t *p, size_t cap, const char *name, size_t ptr)
{
	size_t o = 0, n = strlen(name);
	const char *s = name;
	bool relative = ptr > 0;

	if (!relative && n > 0 && name[n - 1] == '.')
		n--;
	while (n > 0) {
		const char *dot = memchr(s, '.', n);
		size_t l = dot ? (size_t)(dot - s) : n;
		if (l == 0 || l > 63 || o + 1 + l > cap)
			return -1;
		p[o++] = (uint8_t)l;
		memcpy(p + o, s, l);
		o += l;
		s += l + (dot != NULL);
		n -= l + (dot != NULL);
	}
	if (relative) {
		if (o + 2 > cap)
			return -1;
		p[o++] = (uint8_t)(0xc0 | ptr >> 8);
		p[o++] = (uint8_t)ptr;
	} else {
		if (o + 1 > cap)
			return -1;
		p[o++] = 0;
	}
	return (int)o;
}

/* Owner (relative to the apex; NULL = the question's name), type, class
 * IN, ttl, then rdata from the caller; returns the offset of RDLENGTH, or
 * -1. */
static long rr_head(struct dnsmsg_out *o, const char *owner, unsigned type, uint32_t ttl)
{
	int n = put_name(o->buf + o->len, DNSMSG_OUT_MAX - o->len, owner ? owner : "", owner ? o->apex : 12);
	if (n < 0 || o->len + (size_t)n + 10 > DNSMSG_OUT_MAX)
		return -1;
	uint8_t *p = o->buf + o->len + n;
	put16(p, type);
	put16(p + 2, DNS_CLASS_IN);
	put32(p + 4, ttl);
	return (long)(o->len + (size_t)n + 8);
}

static void rr_done(struct dnsmsg_out *o, long rdlen_at, size_t end)
{
	put16(o->buf + rdlen_at, (unsigned)(end - (size_t)rdlen_at - 2));
	o->len = end;
	if (o->authority) {
		o->nscount++;
		put16(o->buf + 8, o->nscount);
	} else {
		o->ancount++;
		put16(o->buf + 6, o->ancount);
	}
}

int dnsmsg_add_soa(struct dnsmsg_out *o, uint32_t ttl, uint32_t serial, uint32_t refresh,
                   uint32_t retry, uint32_t expire, uint32_t minimum)
{
	long at = rr_head(o, "", DNS_TYPE_SOA, ttl);
	if (at < 0)
		return -1;
	size_t pos = (size_t)at + 2;
	int n = put_name(o->buf + pos, DNSMSG_OUT_MAX - pos, "localhost.", 0);
	if (n < 0)
		return -1;
	pos += (size_t)n;
	n = put_name(o->buf + pos, DNSMSG_OUT_MAX - pos, "hostmaster.localhost.", 0);
	if (n < 0 || pos + (size_t)n + 20 > DNSMSG_OUT_MAX)
		return -1;
	pos += (size_t)n;
	put32(o->buf + pos, serial);
	put32(o->buf + pos + 4, refresh);
	put32(o->buf + pos + 8, retry);
	put32(o->buf + pos + 12, expire);
	put32(o->buf + pos + 16, minimum);
	rr_done(o, at, pos + 20);
	return 0;
}

static int add_name_rr(struct dnsmsg_out *o, const char *owner, unsigned type, uint32_t ttl,
                       const char *target)
{
	long at = rr_head(o, owner, type, ttl);
	if (at < 0)
		return -1;
	size_t pos = (size_t)at + 2;
	int n = put_name(o->buf + pos, DNSMSG_OUT_MAX - pos, target, 0);
	if (n < 0)
		return -1;
	rr_done(o, at, pos + (size_t)n);
	return 0;
}

void dnsmsg_set_apex(struct dnsmsg_out *o, unsigned labels)
{
	size_t at = 12;
	/* the question was read by skip_name: uncompressed, root-terminated */
	for (unsigned i = 0; i < labels && at < o->base && o->buf[at] != 0; i++)
		at += 1u + o->buf[at];
	o->apex = at;
}

void dnsmsg_authority(struct dnsmsg_out *o)
{
	o->authority = true;
}

bool dnsmsg_qname_in_zone(const uint8_t *req, const struct dnsmsg *q, const char *zone, unsigned *labels,
                          char rel[AM_DOMAIN_MAX + 1])
{
	size_t at[128], n = 0, pos = 12;
	size_t zl = strlen(zone), zlabels = 0;

	rel[0] = '\0';
	if (q->question_end <= 12)
		return false;
	while (pos < q->question_end && req[pos] != 0 && n < sizeof at / sizeof at[0]) {
		at[n++] = pos;
		pos += 1u + req[pos];
	}
	if (pos >= q->question_end || req[pos] != 0)
		return false;
	for (size_t i = 0; i < zl; i++)
		zlabels += zone[i] == '.';
	zlabels += zl > 0;
	if (zlabels > n)
		return false;
	/* the last zlabels labels, each equal to the zone's in turn */
	const char *z = zone;
	for (size_t i = n - zlabels; i < n; i++) {
		size_t l = req[at[i]];
		const char *dot = strchr(z, '.');
		size_t want = dot ? (size_t)(dot - z) : strlen(z);
		if (l != want)
			return false;
		for (size_t k = 0; k < l; k++)
			if (tolower(req[at[i] + 1 + k]) != tolower((unsigned char)z[k]))
				return false;
		z += want + (dot != NULL);
	}
	size_t o = 0;
	for (size_t i = 0; i < n - zlabels; i++) {
		size_t l = req[at[i]];
		if (o + l + 1 > AM_DOMAIN_MAX)
			return false; /* cannot happen: a question holds 255 octets */
		if (i > 0)
			rel[o++] = '.';
		for (size_t k = 0; k < l; k++) {
			int c = tolower(req[at[i] + 1 + k]);
			bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			          (c == '*' && l == 1);
			rel[o++] = ok ? (char)c : '?';
		}
	}
	rel[o] = '\0';
	*labels = (unsigned)(n - zlabels);
	return true;
}

int dnsmsg_add_ns(struct dnsmsg_out *o, uint32_t ttl, const char *target)
{
	return add_name_rr(o, "", DNS_TYPE_NS, ttl, target);
}

int dnsmsg_add_cname(struct dnsmsg_out *o, const char *owner, uint32_t ttl, const char *target)
{
	return add_name_rr(o, owner, DNS_TYPE_CNAME, ttl, target);
}

int dnsmsg_tsig_sign(struct dnsmsg_out *o, const char *key_name, const char *secret_b64,
                     const uint8_t *prev, size_t prev_len, bool timers_only, uint64_t now,
                     uint8_t mac[DNSMSG_MAC_MAX], size_t *mac_len)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *prev_rdf = NULL;
	uint8_t prevbuf[2 + DNSMSG_MAC_MAX], *wire = NULL;
	char name[AM_DOMAIN_MAX + 2];
	size_t wlen;
	int rv = AM_EINVAL;

	(void)now; /* ldns reads the clock itself */
	*mac_len = 0;
	if (prev_len > DNSMSG_MAC_MAX || ldns_wire2pkt(&pkt, o->buf, o->len) != LDNS_STATUS_OK)
		goto out;
	if (prev != NULL) {
		/* the prior MAC goes in with its length (RFC 8945 4.3) */
		put16(prevbuf, (unsigned)prev_len);
		memcpy(prevbuf + 2, prev, prev_len);
		prev_rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2 + prev_len, prevbuf);
		if (prev_rdf == NULL)
			goto out;
	}
	snprintf(name, sizeof name, "%s.", key_name);
	if (ldns_pkt_tsig_sign_next(pkt, name, secret_b64, DNSMSG_TSIG_FUDGE, TSIG_ALG ".", prev_rdf,
	                            timers_only) != LDNS_STATUS_OK)
		goto out;
	if (ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK || wlen > sizeof o->buf)
		goto out;
	ldns_rr *t = ldns_pkt_tsig(pkt);
	const ldns_rdf *m = t ? ldns_rr_rdf(t, 3) : NULL;
	if (m == NULL || ldns_rdf_size(m) < 2 || ldns_rdf_size(m) - 2 > DNSMSG_MAC_MAX)
		goto out;
	*mac_len = ldns_rdf_size(m) - 2;
	memcpy(mac, ldns_rdf_data(m) + 2, *mac_len);
	memcpy(o->buf, wire, wlen);
	o->len = wlen;
	rv = 0;
out:
	free(wire);
	ldns_rdf_deep_free(prev_rdf);
	ldns_pkt_free(pkt);
	return rv;
}

void dnsmsg_tsig_error(struct dnsmsg_out *o, const struct dnsmsg *q, unsigned error, uint64_t now)
{
	int n, a;
	char alg[AM_DOMAIN_MAX + 2];

	dnsmsg_end(o); /* OPT before TSIG: the TSIG comes last (RFC 8945 5.1) */
	uint8_t *p = o->buf + o->len;
	size_t cap = sizeof o->buf - o->len;
	snprintf(alg, sizeof alg, "%s.", q->tsig_alg[0] ? q->tsig_alg : TSIG_ALG);
	if ((n = put_name(p, cap, q->tsig_name[0] ? q->tsig_name : ".", 0)) < 0)
		return;
	if ((size_t)n + 10 > cap || (a = put_name(p + n + 10, cap - (size_t)n - 10, alg, 0)) < 0 ||
	    (size_t)n + 10 + (size_t)a + 22 > cap)
		return;
	put16(p + n, DNS_TYPE_TSIG);
	put16(p + n + 2, DNS_CLASS_ANY);
	put32(p + n + 4, 0);
	uint8_t *r = p + n + 10 + a;
	uint64_t t = error == DNS_TSIG_BADTIME ? q->tsig_time : now;
	for (int i = 0; i < 6; i++)
		r[i] = (uint8_t)(t >> (40 - 8 * i));
	put16(r + 6, DNSMSG_TSIG_FUDGE);
	put16(r + 8, 0);           /* no MAC: an unsigned error */
	put16(r + 10, q->id);
	put16(r + 12, error);
	size_t rdlen = (size_t)a + 16;
	if (error == DNS_TSIG_BADTIME) {
		put16(r + 14, 6);      /* other data: the server's time */
		for (int i = 0; i < 6; i++)
			r[16 + i] = (uint8_t)(now >> (40 - 8 * i));
		rdlen += 6;
	} else {
		put16(r + 14, 0);
	}
	put16(p + n + 8, (unsigned)rdlen);
	o->len += (size_t)n + 10 + rdlen;
	unsigned arcount = (unsigned)(o->buf[10] << 8 | o->buf[11]) + 1;
	put16(o->buf + 10, arcount);
	o->buf[3] = (uint8_t)((o->buf[3] & 0xf0) | DNS_RCODE_NOTAUTH); /* the OPT is written: its extended bits stay 0 */
}

int dnsmsg_notify(uint8_t *buf, size_t cap, uint16_t id, const char *zone, uint32_t serial)
{
	char abs[AM_DOMAIN_MAX + 2];
	size_t pos = 12;
	int n;

	if (cap < 12)
		return -1;
	memset(buf, 0, 12);
	put16(buf, id);
	buf[2] = (uint8_t)(DNS_OPCODE_NOTIFY << 3 | 0x04); /* NOTIFY, AA */
	buf[5] = 1;                                         /* one question */
	buf[7] = 1;                                         /* one answer: the SOA */
	snprintf(abs, sizeof abs, "%s.", zone);
	if ((n = put_name(buf + pos, cap - pos, abs, 0)) < 0 || pos + (size_t)n + 4 > cap)
		return -1;
	pos += (size_t)n;
	put16(buf + pos, DNS_TYPE_SOA);
	put16(buf + pos + 2, DNS_CLASS_IN);
	pos += 4;
	/* the answer's SOA: owner = pointer to the question, serial only
	 * matters (RFC 1996 3.7); the rest as in the zone's SOA is optional */
	static const char mname[] = "\x09localhost", rname[] = "\x0ahostmaster\x09localhost";
	size_t rdlen = sizeof mname + sizeof rname + 20;
	if (pos + 12 + rdlen > cap)
		return -1;
	buf[pos] = 0xc0;
	buf[pos + 1] = 12;
	put16(buf + pos + 2, DNS_TYPE_SOA);
	put16(buf + pos + 4, DNS_CLASS_IN);
	put32(buf + pos + 6, 0);
	put16(buf + pos + 10, (unsigned)rdlen);
	pos += 12;
	memcpy(buf + pos, mname, sizeof mname); /* includes the root label (the NUL) */
	pos += sizeof mname;
	memcpy(buf + pos, rname, sizeof rname);
	pos += sizeof rname;
	put32(buf + pos, serial);
	memset(buf + pos + 4, 0, 16);
	pos += 20;
	return (int)pos;
}

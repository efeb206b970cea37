/*
 * dnsmsg.h - the DNS messages an RPZ primary reads and writes: queries
 * (SOA, AXFR, IXFR per RFC 1995), NOTIFY (RFC 1996) and its answers,
 * transfer responses, TSIG (RFC 8945, hmac-sha256 only) and EDNS (RFC
 * 6891: an OPT in every answer to a query that had one, none otherwise).
 *
 * Parsing goes through ldns (Debian's libldns, ldns_wire2pkt) after a size
 * cap; only what a primary needs comes out, copied into a plain struct.
 * Answers are written directly in wire format - a zone transfer of a
 * million rules is two million records, and building an ldns_rr for each
 * would dominate the transfer - with every owner compressed to a pointer
 * at the zone's apex in the question's name (the question itself, or a
 * suffix of it for a name below the apex: dnsmsg_set_apex). TSIG signing and verification
 * use ldns, with the checks ldns 1.8.3 leaves out done here: key name,
 * algorithm and the time window (FIELD-NOTES).
 */
#ifndef AMESH_DNSMSG_H
#define AMESH_DNSMSG_H

#include <stdio.h>

#include "model.h"

#define DNSMSG_QUERY_MAX 4096   /* bytes: a longer query is dropped unread */
/* The UDP payload we advertise in our OPT and the most a UDP answer may
 * take (DNS flag day 2020, BIND's and Unbound's default: no IP
 * fragmentation); an answer larger than min(this, the client's size, at
 * least 512) goes out truncated (TC), and the client asks over TCP. */
#define DNSMSG_EDNS_SIZE 1232
#define DNSMSG_UDP_MIN 512      /* RFC 1035 4.2.1: without EDNS */
#define DNSMSG_OUT_MAX 16384    /* bytes of one answer message we write */
#define DNSMSG_TSIG_FUDGE 300
#define DNSMSG_MAC_MAX 64

enum {
	DNS_TYPE_NS = 2, DNS_TYPE_CNAME = 5, DNS_TYPE_SOA = 6, DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251, DNS_TYPE_AXFR = 252, DNS_TYPE_ANY = 255, DNS_CLASS_IN = 1, DNS_CLASS_ANY = 255,
	DNS_OPCODE_QUERY = 0, DNS_OPCODE_NOTIFY = 4,
	DNS_RCODE_NOERROR = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2, DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4, DNS_RCODE_REFUSED = 5, DNS_RCODE_NOTAUTH = 9,
	DNS_RCODE_BADVERS = 16, /* extended (RFC 6891 6.1.3): OPT carries the upper 8 bits */
	DNS_TSIG_BADSIG = 16, DNS_TSIG_BADKEY = 17, DNS_TSIG_BADTIME = 18,
};

struct dnsmsg {
	uint16_t id;
	unsigned opcode, rcode;
	bool qr;
	bool rd, cd;                    /* copied into the answer (RFC 1035 4.1.1, RFC 4035 3.2.2) */
	char qname[AM_DOMAIN_MAX + 1]; /* lower case, no trailing dot; "" = the root */
	uint16_t qtype, qclass;
	size_t question_end;            /* offset just past the question in the input */
	bool has_serial;                /* IXFR: the client's SOA (authority section) */
	uint32_t serial;
	bool has_tsig;
	char tsig_name[AM_DOMAIN_MAX + 1];
	char tsig_alg[AM_DOMAIN_MAX + 1];
	uint64_t tsig_time;
	uint16_t tsig_fudge;
	uint8_t tsig_mac[DNSMSG_MAC_MAX];
	size_t tsig_mac_len;
	/* EDNS (RFC 6891): an OPT record in the additional section. An answer
	 * to such a query carries one too (dnsmsg_end), and none otherwise */
	bool edns;
	uint8_t edns_version;
	uint16_t edns_size;             /* the client's UDP payload size */
	bool edns_do;                   /* copied into the answer (RFC 3225 3) */
	/* set by a failed dnsmsg_parse when the header was read: the caller
	 * answers FORMERR (NOTIMP for an opcode other than QUERY), echoing
	 * id, opcode, RD, CD and the question when it read (question_end >
	 * 12; else none), rather than drop the query */
	bool formerr;
};

/* Parses a message of at most DNSMSG_QUERY_MAX bytes with exactly one
 * question. Returns 0, AM_ETOOBIG, or AM_EDECODE with the reason in err
 * and, when the message had a header (12 bytes), m->formerr set with the
 * header and what could be read of the question: QDCOUNT other than 1, a
 * malformed question or records, two TSIG or OPT records, an OPT outside
 * the additional section or not owned by the root (RFC 6891 6.1.1). */
int dnsmsg_parse(const uint8_t *buf, size_t len, struct dnsmsg *m, char *err, size_t errlen);

/* TSIG check of a parsed request: 0 = valid, else DNS_TSIG_BADKEY (no
 * TSIG with this key name and hmac-sha256), DNS_TSIG_BADSIG (MAC wrong)
 * or DNS_TSIG_BADTIME (MAC right, time outside the fudge). */
int dnsmsg_tsig_verify(const uint8_t *buf, size_t len, const struct dnsmsg *m, const char *key_name,
                       const char *secret_b64, uint64_t now);

/* An answer being written. */
struct dnsmsg_out {
	uint8_t buf[DNSMSG_OUT_MAX + 512]; /* room for OPT and a TSIG record after the cap */
	size_t len;
	unsigned ancount;
	size_t base; /* length after header and question */
	size_t apex; /* offset of the zone's apex name: the question's, or a
	              * label boundary inside it (a name below the apex) */
	bool authority; /* records go to the authority section (dnsmsg_authority) */
	unsigned nscount;
	bool edns, edns_do; /* the query had an OPT (with DO): the answer gets one */
	uint8_t ext_rcode;  /* the RCODE's upper 8 bits, carried in the OPT */
	bool ended;         /* dnsmsg_end has run */
};

/* Header (QR, AA, id and opcode of q, and its RD and CD bits, which an
 * answer copies: RFC 1035 4.1.1, RFC 4035 3.2.2) and q's question, copied
 * from the request bytes; an OPT to come when q had one. rcode may be
 * extended (BADVERS): its upper bits go in the OPT. */
void dnsmsg_begin(struct dnsmsg_out *o, const struct dnsmsg *q, const uint8_t *req, unsigned rcode);
/* Changes the RCODE of an answer begun, keeping its other flags (CD
 * shares the byte). */
void dnsmsg_set_rcode(struct dnsmsg_out *o, unsigned rcode);
/* Drops the answers written so far (the next message of a transfer). */
void dnsmsg_reset(struct dnsmsg_out *o);
/* Closes a message before it is signed and sent: appends our OPT (UDP
 * size DNSMSG_EDNS_SIZE, version 0, the RCODE's upper bits, DO copied)
 * when the query had one (RFC 6891 7), nothing otherwise. Once per
 * message: a second call does nothing until dnsmsg_reset. */
void dnsmsg_end(struct dnsmsg_out *o);
/* Drops every record and sets TC (RFC 2181 9: a UDP answer that does not
 * fit says so, and the client asks over TCP); the message is ended again
 * (its OPT kept). */
void dnsmsg_truncate(struct dnsmsg_out *o);
/* Where the zone's apex sits in the question's name of an answer begun:
 * `labels' labels from its start (0: the question names the apex). Owners
 * written after it are relative to that apex. The caller knows the
 * question has that many labels above the apex (dnsmsg_qname_in_zone). */
void dnsmsg_set_apex(struct dnsmsg_out *o, unsigned labels);
/* Records written from now on go to the authority section (a negative
 * answer's SOA, RFC 2308 3), until dnsmsg_reset. */
void dnsmsg_authority(struct dnsmsg_out *o);
/* Whether the question of q (its bytes in req) is zone, or a name below
 * it: compared label by label, in the wire form, without regard to ASCII
 * case. When it is, *labels gets the number of labels above the apex
 * (0 = the apex) and rel the name relative to the apex in lower case
 * ("" = the apex), each octet outside [a-z0-9_*-] written '?': such a
 * label can be no owner of ours (names are normalised to those octets;
 * '*' only as a whole label, the wildcard), and a '.' inside a label
 * ("a\.b") can never read as two labels. */
bool dnsmsg_qname_in_zone(const uint8_t *req, const struct dnsmsg *q, const char *zone, unsigned *labels,
                          char rel[AM_DOMAIN_MAX + 1]);
/* Records, owners relative to the apex ("" = the apex; NULL = the
 * question's name itself), targets absolute. 0, or -1 when the message is
 * full (o unchanged). */
int dnsmsg_add_soa(struct dnsmsg_out *o, uint32_t ttl, uint32_t serial, uint32_t refresh,
                   uint32_t retry, uint32_t expire, uint32_t minimum);
int dnsmsg_add_ns(struct dnsmsg_out *o, uint32_t ttl, const char *target);
int dnsmsg_add_cname(struct dnsmsg_out *o, const char *owner, uint32_t ttl, const char *target);

/* Signs o (RFC 8945): the first message of an answer with prev = the
 * request's MAC, later ones with prev = the last message's MAC and
 * timers_only. mac gets this message's MAC. 0 or AM_EINVAL. */
int dnsmsg_tsig_sign(struct dnsmsg_out *o, const char *key_name, const char *secret_b64,
                     const uint8_t *prev, size_t prev_len, bool timers_only, uint64_t now,
                     uint8_t mac[DNSMSG_MAC_MAX], size_t *mac_len);
/* Ends o (dnsmsg_end: the TSIG must come last) and appends an unsigned
 * TSIG record carrying error (BADKEY, BADSIG, BADTIME) for the request
 * q, as RFC 8945 5.3.2 answers them. */
void dnsmsg_tsig_error(struct dnsmsg_out *o, const struct dnsmsg *q, unsigned error, uint64_t now);

/* A NOTIFY for zone with its SOA serial in the answer section. Returns the
 * length or -1. */
int dnsmsg_notify(uint8_t *buf, size_t cap, uint16_t id, const char *zone, uint32_t serial);

/* The mnemonic of an RCODE (RFC 1035, 2136, 6895: "NOERROR", "REFUSED",
 * "NOTAUTH"...) for an operator, or "RCODE n" for one without a name.
 * Returns a static string, or one in buf (16 bytes). Inline here, not in
 * dnsmsg.c: the CLI prints these names and needs nothing else of this
 * module, and linking dnsmsg.c would make every `amesh' command load
 * libldns and OpenSSL at start (~1 ms of CPU each run; issue 13). */
static inline const char *dnsmsg_rcode_name(int rcode, char buf[16])
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	                                    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
	if (rcode >= 0 && (size_t)rcode < sizeof names / sizeof names[0])
		return names[rcode];
	snprintf(buf, 16, "RCODE %d", rcode);
	return buf;
}

#endif

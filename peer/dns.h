/*
 * dns.h - the RPZ primary on dns_listen: SOA over UDP and TCP, AXFR and
 * IXFR (RFC 1995) over TCP, NOTIFY (RFC 1996) to every secondary.
 *
 * Design: plain sockets, one thread polling every UDP socket and TCP
 * listener, one thread per TCP connection (at most DNS_TCP_MAX at once
 * from addresses some zone's allow_transfer lists, DNS_TCP_OUTSIDERS more
 * from anywhere else; an outsider beyond those is closed at accept, a
 * listed client waits for a slot: up to DNS_TCP_WAITING accepted, in
 * order, each taken over with its thread by the next connection to end,
 * then in the kernel's backlog while the listeners are not polled), one
 * thread sending NOTIFYs. Answers come from
 * rpz.h snapshots, never from a zone built at request time: a transfer is
 * the zone at one serial, read in pages of DNS_XFR_PAGE names (or one
 * journal entry), each in a short LMDB read transaction ended before it is
 * sent, so a stalled secondary holds no reader (which would stop page
 * reuse and grow the file until DNS_TCP_SEND_MS drops it).
 *
 * Survival: accept() failing with ECONNABORTED, EINTR or EAGAIN is
 * retried at once; with EMFILE, ENFILE, ENOBUFS or ENOMEM the listeners
 * pause for DNS_ACCEPT_PAUSE_MS (logged once a second at most) instead of
 * spinning. Every message read is capped (DNSMSG_QUERY_MAX) before it is
 * parsed; a TCP client gets DNS_TCP_IDLE_MS to send each query whole
 * (a deadline, not a timeout per read: a byte every few seconds does not
 * extend it; an outsider's one query is due DNS_TCP_OUTSIDER_MS after
 * the accept) and DNS_TCP_SEND_MS for each write, then is dropped.
 *
 * Access: a query for a zone from an address outside its allow_transfer
 * gets REFUSED, over UDP and over TCP. A TCP client no zone lists gets
 * one answer (REFUSED) on a slot of its own, within DNS_TCP_OUTSIDER_MS,
 * then is closed: a storm from outside can take the outsiders' slots (it
 * is then closed at accept, without an answer), never a secondary's. A
 * burst from listed addresses can take the secondaries' slots: the next
 * secondary then waits for one, and is never reset at accept. With tsig
 * set, AXFR and IXFR must be signed with the key
 * (NOTAUTH with BADKEY, BADSIG or BADTIME otherwise; unsigned: REFUSED).
 * SOA queries need only the address (the serial is no secret, and Unbound
 * cannot sign).
 *
 * NOTIFY: after a new serial, every notify target of the zone is sent
 * one - from the address secondaries have as their primary (BIND and
 * Unbound refuse a NOTIFY from any other): the zone's notify_source, else
 * the local address the target last transferred the zone through, else
 * the first specific dns_listen address of its family (a wildcard names
 * none: the kernel picks) - retried (1 s, doubling to 60 s) until it answers. Coalesced: while
 * one is in flight, newer serials only replace the serial to announce; the
 * answer (then one NOTIFY for the newest, at once) or the next retry
 * carries it - and that retry is moved up to at most DNS_NOTIFY_COALESCE_MS
 * after the last send, so a secondary that was down and is back hears a
 * new serial within that time, not at the end of a backoff of up to 60 s.
 * So a burst of changes sends one NOTIFY per answered round trip, and a
 * secondary that is down at most one per DNS_NOTIFY_COALESCE_MS of changes,
 * not one per change.
 */
#ifndef AMESH_DNS_H
#define AMESH_DNS_H

#include "config.h"
#include "rpz.h"

/* the longest a new serial waits behind an unanswered NOTIFY (ms) */
#define DNS_NOTIFY_COALESCE_MS 500

#define DNS_XFR_PAGE 1000 /* names read per transaction in a transfer */
#define DNS_TCP_MAX 64
#define DNS_TCP_OUTSIDERS 8
#define DNS_TCP_WAITING 64        /* listed connections accepted to wait for a slot */
#define DNS_TCP_OUTSIDER_MS 2000
#define DNS_TCP_IDLE_MS 10000
#define DNS_TCP_QUERIES_MAX 100   /* answered per connection, then it is closed */
#define DNS_TCP_LINGER_MS 1000    /* a closing connection's input drained this long */
#define DNS_TCP_SEND_MS 30000
#define DNS_ACCEPT_PAUSE_MS 100
#define DNS_SECONDARIES_MAX 256

struct dns;

/* Binds every cfg->dns_listen address (UDP and TCP) and starts serving
 * cfg's zones from r (borrowed; must outlive the server). Every notify
 * target of a zone that has a serial is sent a NOTIFY for it at once
 * (retried as any other), as NSD and BIND do when they load a zone. */
int dns_open(struct dns **out, const struct config *cfg, struct rpz *r, char *err, size_t errlen);
/* Stops the threads, closes every socket. NULL ok. */
void dns_close(struct dns *d);
/* Replaces the zones served (a reload); copies them. A notify target in
 * both (zone, address and port) keeps its NOTIFY state: one unanswered
 * goes on being retried. A target new to the set, or given another
 * notify_source, is sent a NOTIFY for its zone's current serial at once
 * (when the zone has one). A notify_source that is no address of this
 * host is logged and left out. */
void dns_set_zones(struct dns *d, const struct config_rpz *zones, size_t n);
/* A zone has a new serial: notify its secondaries. */
void dns_zone_changed(struct dns *d, const char *zone, uint32_t serial);

/* What `amesh rpz' shows of one secondary (by address). Times are Unix
 * seconds, 0 = never. At most DNS_SECONDARIES_MAX rows: when full, an
 * address let in takes the row seen longest ago, never a notify target's;
 * a refused query is counted only in a row of its own that exists or is
 * free (an outsider cannot push anyone out). */
struct dns_secondary {
	char zone[AM_DOMAIN_MAX + 1];
	char address[64];
	uint64_t last_soa;         /* last SOA query */
	uint64_t last_xfr;         /* last transfer */
	char xfr_kind[8];          /* AXFR, IXFR, "" */
	uint64_t xfr_bytes;
	uint32_t xfr_serial;
	uint64_t axfrs, ixfrs;     /* transfers served */
	uint64_t refused;
	char refused_why[48];      /* the last refusal's reason, "" = none */
	uint64_t notify_sent;      /* last NOTIFY sent */
	uint64_t notify_answered;  /* last answer to one */
	uint32_t notify_serial;    /* serial of the last NOTIFY */
	char notify_from[64];      /* the address it left from, "" = the kernel's choice */
	int notify_rcode;          /* of the last answer, -1 = none yet */
	bool notify_pending;
};
/* Copies up to max rows into out; returns the count. */
size_t dns_secondaries(struct dns *d, struct dns_secondary *out, size_t max);

#endif

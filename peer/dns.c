/* dns.c - the RPZ primary's sockets: SOA, AXFR and IXFR answers, names below the apex, NOTIFY with retries. */
#include "dns.h"
#include "monoclock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "log.h"
#include "timefmt.h"

#define NOTIFY_FIRST_RETRY_MS 1000
#define NOTIFY_MAX_RETRY_MS 60000
/* A secondary that answered a NOTIFY but asked nothing (SOA, IXFR, AXFR)
 * within this long hears it again (RFC 1996 4.3 lets a primary repeat
 * one), at most NOTIFY_FOLLOWUPS times, the wait doubling: BIND 9.18
 * answers NOERROR to a NOTIFY that arrives while a refresh of that zone is
 * in progress ("refresh in progress, refresh check queued") and, when that
 * refresh fails, drops the queued check until its retry timer - an hour
 * and more away. */
#define NOTIFY_FOLLOWUP_MS 3000
#define NOTIFY_FOLLOWUPS 3

struct target {
	char zone[AM_DOMAIN_MAX + 1];
	struct config_addr addr;
	uint32_t serial;        /* to announce: the newest */
	uint32_t sent_serial;   /* of the NOTIFY in flight */
	bool pending;
	uint16_t id;            /* of the NOTIFY in flight */
	uint64_t due_ms;        /* next send */
	uint64_t sent_ms;       /* last send */
	unsigned backoff_ms;
	/* answered NOERROR, and no SOA query or transfer from its host since:
	 * told again at due_ms (the followups'th time) */
	bool awaiting;
	unsigned followups;
	uint64_t heard_ms;      /* its host last asked (SOA, transfer); may come before the answer */
	/* where NOTIFYs leave from, first that is set: the zone's
	 * notify_source of this family; the local address the target last
	 * transferred the zone from us through (TCP: the handshake vouches
	 * for the address, a spoofed UDP query could not move it); the first
	 * specific dns_listen address of the family; else none (the kernel
	 * picks, by route) */
	struct config_addr source;
	struct sockaddr_storage learned;
	socklen_t learned_len;  /* 0 = nothing learned */
};

struct dns {
	struct rpz *rpz;
	int udp[CONFIG_DNS_LISTEN_MAX], tcp[CONFIG_DNS_LISTEN_MAX];
	size_t n_listen;
	int wake[2];            /* pipe: wakes the serving thread (to stop, or a slot freed) */
	/* default NOTIFY sources: the first dns_listen address of each family
	 * that is not a wildcard (AF_UNSPEC = none: the kernel picks) */
	struct config_addr notify_src4, notify_src6;
	pthread_t serve_thread, notify_thread;
	bool serve_started, notify_started;

	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t cond;
	bool stopping;
	struct config_rpz *zones;
	size_t n_zones;
	struct dns_secondary sec[DNS_SECONDARIES_MAX];
	size_t n_sec;
	struct target *targets;
	size_t n_targets;
	unsigned conns;          /* TCP connection threads alive */
	int conn_fd[DNS_TCP_MAX + DNS_TCP_OUTSIDERS]; /* outsiders after DNS_TCP_MAX */
	/* listed connections accepted while every secondaries' slot was
	 * taken, oldest at wait_head: the next thread to end one takes it */
	struct waiting {
		int fd;
		struct sockaddr_storage from;
	} waiting[DNS_TCP_WAITING];
	size_t wait_head, n_waiting;
	bool accept_parked;      /* no room for a listed connection: listeners not polled */
	uint64_t last_accept_log;
};

static void addr_text(const struct sockaddr *sa, char out[64])
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
	snprintf(out, 64, "%s", host);
}

/* Whether row is a notify target's: those rows stand for the operator's
 * own configuration and are never handed to another address. */
static bool is_target_row(const struct dns *d, const struct dns_secondary *row)
{
	for (size_t i = 0; i < d->n_targets; i++)
		if (strcmp(d->targets[i].addr.text, row->address) == 0 && strcmp(d->targets[i].zone, row->zone) == 0)
			return true;
	return false;
}

static uint64_t row_seen(const struct dns_secondary *r)
{
	uint64_t t = r->last_soa > r->last_xfr ? r->last_soa : r->last_xfr;
	return r->notify_sent > t ? r->notify_sent : t;
}

/* The statistics row of (zone, address); the caller holds the lock. A
 * full table reuses the row seen longest ago rather than refusing to
 * count - never a notify target's, and only for a caller that may_evict:
 * a refused query (an address outside allow_transfer, anyone on the
 * Internet) gets a free row or none, or a storm of them from many
 * addresses overwrote the targets' NOTIFY state (their rows, never
 * queried from address:port, looked the oldest). NULL = no row. */
static struct dns_secondary *sec_row(struct dns *d, const char *zone, const char *address, bool may_evict)
{
	size_t i, oldest = SIZE_MAX;
	for (i = 0; i < d->n_sec; i++)
		if (strcmp(d->sec[i].zone, zone) == 0 && strcmp(d->sec[i].address, address) == 0)
			return &d->sec[i];
	if (d->n_sec < DNS_SECONDARIES_MAX) {
		i = d->n_sec++;
	} else {
		if (!may_evict)
			return NULL;
		for (i = 0; i < d->n_sec; i++)
			if (!is_target_row(d, &d->sec[i]) &&
			    (oldest == SIZE_MAX || row_seen(&d->sec[i]) < row_seen(&d->sec[oldest])))
				oldest = i;
		if (oldest == SIZE_MAX)
			return NULL; /* every row a target's: more targets than rows */
		i = oldest;
	}
	memset(&d->sec[i], 0, sizeof d->sec[i]);
	snprintf(d->sec[i].zone, sizeof d->sec[i].zone, "%s", zone);
	snprintf(d->sec[i].address, sizeof d->sec[i].address, "%s", address);
	d->sec[i].notify_rcode = -1;
	return &d->sec[i];
}

/* Counts a refused query for (zone, address), if it has or gets a row
 * without taking another's, and keeps why: `amesh rpz' said "never (4
 * refused)" alike for an address outside allow_transfer and for Unbound,
 * which cannot sign, in a zone with tsig, and neither side logged it. */
static void count_refused(struct dns *d, const char *zone, const char *address, const char *why)
{
	pthread_mutex_lock(&d->lock);
	struct dns_secondary *row = sec_row(d, zone, address, false);
	if (row != NULL) {
		row->refused++;
		snprintf(row->refused_why, sizeof row->refused_why, "%s", why);
	}
	pthread_mutex_unlock(&d->lock);
}

/* --- answering --- */

/* Where answer messages go: one datagram, or length-prefixed on TCP. */
struct sink {
	int fd;
	bool tcp;
	const struct sockaddr *to;
	socklen_t tolen;
	/* UDP: the query's destination as IP_PKTINFO/IPV6_PKTINFO, so the
	 * answer leaves from the address it was sent to (len 0: none) */
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	size_t ctl_len;
	uint64_t bytes;
	/* TCP: the local address the client connected to (NULL on UDP) */
	const struct sockaddr_storage *local;
	/* TSIG state across the messages of one answer */
	const struct config_rpz *zone;
	bool sign;
	uint8_t mac[DNSMSG_MAC_MAX];
	size_t mac_len;
	unsigned sent;
	size_t udp_max;         /* UDP: the longest answer the client takes */
};

/* The longest UDP answer q's sender takes: 512 bytes without EDNS (RFC
 * 1035 4.2.1), else its payload size (never below 512, RFC 6891 6.2.5)
 * up to ours. */
static size_t udp_max_of(const struct dnsmsg *q)
{
	if (!q->edns || q->edns_size <= DNSMSG_UDP_MIN)
		return DNSMSG_UDP_MIN;
	return q->edns_size < DNSMSG_EDNS_SIZE ? q->edns_size : DNSMSG_EDNS_SIZE;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sign(struct sink *s, struct dnsmsg_out *o)
{
	uint8_t mac[DNSMSG_MAC_MAX];
	size_t mac_len;
	if (dnsmsg_tsig_sign(o, s->zone->tsig_name, s->zone->tsig_secret_b64, s->mac, s->mac_len, s->sent > 0,
	                     timefmt_now(), mac, &mac_len) != 0)
		return -1;
	memcpy(s->mac, mac, mac_len);
	s->mac_len = mac_len;
	return 0;
}

/* Ends (OPT), signs and sends one message. Over UDP, one longer than the
 * client takes goes out as header and question with TC (and its OPT and
 * TSIG): the client asks again over TCP. It went out whole, and a client
 * with a smaller buffer lost it (or the network fragmented it). */
static int emit(struct sink *s, struct dnsmsg_out *o)
{
	uint8_t prev[DNSMSG_MAC_MAX];
	size_t prev_len = s->mac_len;

	dnsmsg_end(o);
	memcpy(prev, s->mac, s->mac_len);
	if (s->sign && sign(s, o) != 0)
		return -1;
	if (!s->tcp && o->len > s->udp_max) {
		dnsmsg_truncate(o);
		memcpy(s->mac, prev, prev_len); /* signed again, as the first message */
		s->mac_len = prev_len;
		if (s->sign && sign(s, o) != 0)
			return -1;
	}
	s->sent++;
	s->bytes += o->len;
	if (!s->tcp) {
		struct iovec iov = {.iov_base = o->buf, .iov_len = o->len};
		struct msghdr m = {.msg_name = (void *)s->to, .msg_namelen = s->tolen, .msg_iov = &iov, .msg_iovlen = 1,
		                   .msg_control = s->ctl_len ? s->ctl.buf : NULL, .msg_controllen = s->ctl_len};
		return sendmsg(s->fd, &m, 0) < 0 ? -1 : 0;
	}
	uint8_t len[2] = {(uint8_t)(o->len >> 8), (uint8_t)o->len};
	if (write_all(s->fd, len, 2) != 0 || write_all(s->fd, o->buf, o->len) != 0)
		return -1;
	return 0;
}

/* Adds a record, sending the message first when it is full. */
struct xfr {
	struct sink *s;
	struct dnsmsg_out *o;
	const struct config_rpz *z;
	uint32_t serial;
	int rv;
};

static int flush_if_full(struct xfr *x, int added)
{
	if (added == 0)
		return 0;
	if (x->o->ancount == 0)
		return -1; /* one record that fits no message: cannot happen with our names */
	if (emit(x->s, x->o) != 0)
		return -1;
	dnsmsg_reset(x->o);
	return 1;
}

static int x_cname(void *arg, const char *owner, const char *target)
{
	struct xfr *x = arg;
	int r;
	while ((r = dnsmsg_add_cname(x->o, owner, x->z->ttl, target)) != 0)
		if ((r = flush_if_full(x, -1)) < 0)
			return x->rv = -1;
	return 0;
}

static int x_soa(struct xfr *x, uint32_t serial)
{
	const struct config_rpz *z = x->z;
	while (dnsmsg_add_soa(x->o, z->ttl, serial, z->refresh, z->retry, z->expire, z->minimum) != 0)
		if (flush_if_full(x, -1) < 0)
			return x->rv = -1;
	return 0;
}

static int x_ns(struct xfr *x)
{
	while (dnsmsg_add_ns(x->o, x->z->ttl, "localhost.") != 0)
		if (flush_if_full(x, -1) < 0)
			return x->rv = -1;
	return 0;
}

static int x_step(void *arg, uint32_t from, uint32_t to)
{
	struct xfr *x = arg;
	/* the "from" SOA opens the removals; the "to" SOA (written by x_diff
	 * at the first addition, or here, or at the end) opens the additions */
	if (x->rv == 1 && x_soa(x, x->serial) != 0)
		return -1;
	x->serial = to;
	if (x_soa(x, from) != 0)
		return -1;
	x->rv = 1; /* removals open */
	return 0;
}

static int x_diff(void *arg, bool removed, const char *owner, const char *target)
{
	struct xfr *x = arg;
	if (!removed && x->rv == 1) {
		if (x_soa(x, x->serial) != 0)
			return -1;
		x->rv = 2;
	}
	(void)removed;
	return x_cname(x, owner, target);
}

/* Writes the whole zone: SOA, NS, every rule, SOA (AXFR, or IXFR's
 * full-zone form). */
static int send_full(struct xfr *x, struct rpz_snap *snap)
{
	char after[AM_DOMAIN_MAX + 1] = "", next[AM_DOMAIN_MAX + 1];

	if (x_soa(x, x->serial) != 0 || x_ns(x) != 0)
		return -1;
	/* in pages, each read in a transaction of its own and ended before
	 * anything is sent: a stalled secondary pins no LMDB pages */
	do {
		if (rpz_snap_page(snap, after, DNS_XFR_PAGE, x_cname, x, next) != 0 || x->rv < 0)
			return -1;
		memcpy(after, next, sizeof after);
	} while (after[0] != '\0');
	if (x_soa(x, x->serial) != 0)
		return -1;
	return emit(x->s, x->o);
}

/* IXFR from the journal (RFC 1995 section 4): SOA(new), then per step
 * SOA(from) removals SOA(to) additions, then SOA(new). AM_ENOTFOUND when
 * the journal cannot bridge the client's serial, or the difference is
 * bigger than the zone. */
static int send_ixfr(struct xfr *x, struct rpz_snap *snap, uint32_t from)
{
	uint32_t cur = rpz_snap_serial(snap);
	int rv;

	/* RFC 1995 4: the server may answer with the whole zone. It does
	 * when the difference is bigger than the zone (a long journal of
	 * churn): more to send and for the secondary to apply than an AXFR
	 * (BIND's max-ixfr-ratio of 100%). The zone counted as SOA, NS,
	 * then two records (name and wildcard) per rule. */
	uint64_t zone_records = 3 + 2 * rpz_snap_rules(snap);
	if (x_soa(x, cur) != 0)
		return -1;
	x->rv = 0;
	/* either answer comes before anything is called: the caller resets
	 * the message (one SOA, unsent) and sends the whole zone */
	rv = rpz_snap_journal(snap, from, zone_records, x_step, x_diff, x);
	if (rv == AM_ENOTFOUND || rv == AM_ETOOBIG)
		return AM_ENOTFOUND;
	if (rv != 0 || x->rv < 0)
		return -1;
	/* a last step with removals only still needs its "to" SOA */
	if (x->rv == 1 && x_soa(x, x->serial) != 0)
		return -1;
	if (x_soa(x, cur) != 0)
		return -1;
	return emit(x->s, x->o);
}

/* The served zone q's name is in - the apex or a name below it; the
 * deepest when one zone lies below another, as any server picks the
 * closest zone - copied, with the labels above its apex and the name
 * relative to it (dnsmsg_qname_in_zone). NULL: outside every zone. */
static const struct config_rpz *find_zone(struct dns *d, const struct dnsmsg *q, const uint8_t *req,
                                          struct config_rpz *copy, unsigned *labels, char rel[AM_DOMAIN_MAX + 1])
{
	const struct config_rpz *found = NULL;
	char r[AM_DOMAIN_MAX + 1];
	unsigned l;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_zones; i++)
		if (dnsmsg_qname_in_zone(req, q, d->zones[i].zone, &l, r) && (found == NULL || l < *labels)) {
			*copy = d->zones[i];
			found = copy;
			*labels = l;
			memcpy(rel, r, sizeof r);
		}
	pthread_mutex_unlock(&d->lock);
	return found;
}

/* The SOA of a negative answer (NXDOMAIN, NODATA), in authority, its TTL
 * the lesser of the SOA's TTL and minimum (RFC 2308 3), as BIND and NSD
 * send it. */
static int negative_soa(struct dnsmsg_out *o, const struct config_rpz *z, uint32_t serial)
{
	dnsmsg_authority(o);
	return dnsmsg_add_soa(o, z->ttl < z->minimum ? z->ttl : z->minimum, serial, z->refresh, z->retry, z->expire,
	                      z->minimum);
}

/* A query for a name below the apex, answered from the snapshot as an
 * authoritative server answers it (RFC 1034 4.3.2): its CNAME (its own
 * or a wildcard's, written with the question's name as owner) whatever
 * the type asked, as a CNAME owner holds nothing else; NODATA for a name
 * with only names below it; NXDOMAIN for none; the negative answers with
 * the SOA in authority, its TTL capped by the minimum (RFC 2308 3), so
 * the asker caches them as the zone says. What the zone holds, not what a
 * resolver makes of it: see rpz_snap_lookup. */
static int answer_below(struct dnsmsg_out *o, const struct config_rpz *z, struct rpz_snap *snap, unsigned labels,
                        const char *rel)
{
	struct rpz_found_rr f;

	if (rpz_snap_lookup(snap, rel, &f) != 0)
		return -1;
	dnsmsg_set_apex(o, labels);
	if (f.found == RPZ_FOUND_CNAME)
		return dnsmsg_add_cname(o, NULL, z->ttl, f.target);
	if (f.found == RPZ_FOUND_NXDOMAIN)
		dnsmsg_set_rcode(o, DNS_RCODE_NXDOMAIN);
	return negative_soa(o, z, rpz_snap_serial(snap));
}

static bool allowed(const struct config_rpz *z, const struct sockaddr *from)
{
	for (size_t i = 0; i < z->n_allow_transfer; i++)
		if (config_prefix_match(&z->allow_transfer[i], from))
			return true;
	return false;
}

static void reply_rcode(struct sink *s, const struct dnsmsg *q, const uint8_t *req, unsigned rcode)
{
	struct dnsmsg_out o;
	dnsmsg_begin(&o, q, req, rcode);
	o.buf[2] &= (uint8_t)~0x04; /* not authoritative for what we refuse */
	s->sign = false;
	emit(s, &o);
}

/* Answers one request: everything a primary does with a query. */
static bool same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		              sizeof(struct in6_addr)) == 0;
	return false;
}

/* A secondary transferred zone from us, connecting to local: NOTIFYs to
 * it (same zone, same host, any port) leave from local from now on - the
 * address it has as its primary, which a wildcard dns_listen cannot
 * tell. Called with d->lock held. */
static void learn_source(struct dns *d, const char *zone, const struct sockaddr *from,
                         const struct sockaddr_storage *local)
{
	for (size_t i = 0; i < d->n_targets; i++) {
		struct target *t = &d->targets[i];
		if (strcmp(t->zone, zone) != 0 || !same_host((const struct sockaddr *)&t->addr.sa, from) ||
		    local->ss_family != t->addr.sa.ss_family)
			continue;
		t->learned = *local;
		t->learned_len = local->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	}
}

/* A secondary asked for zone's SOA or a transfer from from (answered or
 * refused): it acted on the NOTIFY, whichever port it sent that from. */
static void heard_from(struct dns *d, const char *zone, const struct sockaddr *from)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_targets; i++) {
		struct target *t = &d->targets[i];
		if (strcmp(t->zone, zone) == 0 && same_host((const struct sockaddr *)&t->addr.sa, from)) {
			t->awaiting = false;
			t->heard_ms = monoclock_ms();
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void answer(struct dns *d, const uint8_t *req, size_t len, struct sink *s,
                   const struct sockaddr *from)
{
	static __thread struct dnsmsg_out o;
	static __thread struct config_rpz z;
	struct dnsmsg q;
	struct rpz_snap *snap = NULL;
	char err[AM_ERRLEN], who[64], rel[AM_DOMAIN_MAX + 1];
	unsigned labels = 0;
	uint64_t now = timefmt_now();

	if (dnsmsg_parse(req, len, &q, err, sizeof err) != 0) {
		/* a header was read: FORMERR (NOTIMP for an opcode we lack,
		 * RFC 3425 for IQUERY), never silence, which made the client
		 * retry until it gave up; answers to other answers, none */
		if (q.formerr && !q.qr) {
			s->udp_max = DNSMSG_UDP_MIN;
			reply_rcode(s, &q, req, q.opcode == DNS_OPCODE_QUERY ? DNS_RCODE_FORMERR : DNS_RCODE_NOTIMP);
		}
		return;
	}
	addr_text(from, who);
	if (q.qr)
		return; /* an answer sent to our listener: ignore */
	s->udp_max = udp_max_of(&q);
	if (q.edns && q.edns_version > 0) {
		/* RFC 6891 6.1.3: a version we lack is BADVERS, with our OPT
		 * saying which we have (0), before anything else is read */
		reply_rcode(s, &q, req, DNS_RCODE_BADVERS);
		return;
	}
	if (q.opcode != DNS_OPCODE_QUERY) {
		reply_rcode(s, &q, req, DNS_RCODE_NOTIMP);
		return;
	}
	bool xfr = q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR;
	/* a transfer names a zone: below an apex is no zone of ours */
	if (q.qclass != DNS_CLASS_IN || find_zone(d, &q, req, &z, &labels, rel) == NULL || (xfr && labels > 0)) {
		reply_rcode(s, &q, req, DNS_RCODE_REFUSED);
		return;
	}
	if (labels == 0 && (xfr || q.qtype == DNS_TYPE_SOA))
		heard_from(d, z.zone, from);
	if (!allowed(&z, from)) {
		count_refused(d, z.zone, who, "outside allow_transfer");
		reply_rcode(s, &q, req, DNS_RCODE_REFUSED);
		return;
	}
	s->zone = &z;
	s->sign = false;
	/* with a key, what the zone holds - a transfer, or a name below the
	 * apex - is the key holder's: the apex alone (the SOA Unbound probes
	 * unsigned) is answered without */
	if (q.has_tsig || (z.tsig_name[0] != '\0' && (xfr || labels > 0))) {
		if (!q.has_tsig) {
			count_refused(d, z.zone, who, "unsigned, the zone has tsig");
			reply_rcode(s, &q, req, DNS_RCODE_REFUSED);
			return;
		}
		/* a signed query for a zone with no key: BADKEY (RFC 8945
		 * 5.2.1), not an unsigned answer the client would only throw
		 * away ("expected a TSIG") without saying why */
		int t = z.tsig_name[0] == '\0' ? DNS_TSIG_BADKEY
		                                : dnsmsg_tsig_verify(req, len, &q, z.tsig_name, z.tsig_secret_b64, now);
		if (t != 0) {
			log_warn("dns: %s from %s for %s: TSIG %s", q.qtype == DNS_TYPE_SOA ? "SOA" : "transfer",
			         who, z.zone, t == DNS_TSIG_BADKEY ? "BADKEY" : t == DNS_TSIG_BADSIG ? "BADSIG" : "BADTIME");
			/* in the secondary's row too: a key that differs at the
			 * two ends (a rotation half done) showed in `amesh rpz' as
			 * a secondary that never asked */
			count_refused(d, z.zone, who,
			              z.tsig_name[0] == '\0' ? "TSIG BADKEY: the zone has no tsig"
			              : t == DNS_TSIG_BADKEY ? "TSIG BADKEY: not the zone's key"
			              : t == DNS_TSIG_BADSIG ? "TSIG BADSIG: not the zone's secret"
			                                     : "TSIG BADTIME: clocks apart");
			dnsmsg_begin(&o, &q, req, DNS_RCODE_NOTAUTH);
			dnsmsg_tsig_error(&o, &q, (unsigned)t, now);
			emit(s, &o);
			return;
		}
		s->sign = true;
		memcpy(s->mac, q.tsig_mac, q.tsig_mac_len);
		s->mac_len = q.tsig_mac_len;
	}
	int rv = rpz_snap_begin(d->rpz, z.zone, &snap);
	if (rv != 0) {
		reply_rcode(s, &q, req, DNS_RCODE_SERVFAIL);
		return;
	}
	uint32_t serial = rpz_snap_serial(snap);
	dnsmsg_begin(&o, &q, req, DNS_RCODE_NOERROR);
	if (labels > 0) {
		/* one name: read in the snapshot's transaction, at its serial */
		if (answer_below(&o, &z, snap, labels, rel) != 0) {
			rpz_snap_end(snap);
			reply_rcode(s, &q, req, DNS_RCODE_SERVFAIL);
			return;
		}
		rpz_snap_end(snap);
		emit(s, &o);
		return;
	}
	/* no read transaction across network waits: what is sent is read
	 * in short ones, at this serial (rpz_snap_page, rpz_snap_journal) */
	rpz_snap_release(snap);
	struct xfr x = {.s = s, .o = &o, .z = &z, .serial = serial};
	const char *kind = NULL;
	if (q.qtype == DNS_TYPE_SOA || (q.qtype == DNS_TYPE_IXFR && !s->tcp)) {
		/* IXFR over UDP: the current SOA alone says "use TCP" (RFC 1995 2) */
		x_soa(&x, serial);
		emit(s, &o);
		pthread_mutex_lock(&d->lock);
		struct dns_secondary *row = sec_row(d, z.zone, who, true);
		if (row != NULL)
			row->last_soa = now;
		pthread_mutex_unlock(&d->lock);
	} else if (q.qtype == DNS_TYPE_AXFR && s->tcp) {
		kind = "AXFR";
		rv = send_full(&x, snap);
	} else if (q.qtype == DNS_TYPE_IXFR && s->tcp) {
		kind = "IXFR";
		if (!q.has_serial) {
			rpz_snap_end(snap);
			reply_rcode(s, &q, req, DNS_RCODE_FORMERR);
			return;
		}
		if (q.serial == serial || rpz_serial_gt(q.serial, serial)) {
			/* up to date, or newer (RFC 1995 2; after a rebuilt
			 * store): one SOA. A serial 2^31 away is neither newer
			 * nor older (RFC 1982 leaves it undefined): it gets the
			 * whole zone below, else that secondary never moves */
			x_soa(&x, serial);
			rv = emit(s, &o);
		} else if ((rv = send_ixfr(&x, snap, q.serial)) == AM_ENOTFOUND) {
			/* older than the journal, or a difference bigger than
			 * the zone: the whole zone, in IXFR form */
			dnsmsg_reset(&o);
			x.rv = 0;
			rv = send_full(&x, snap);
			kind = "IXFR(full)";
		}
	} else if (q.qtype == DNS_TYPE_AXFR) {
		dnsmsg_reset(&o);
		dnsmsg_set_rcode(&o, DNS_RCODE_NOTIMP); /* no AXFR over UDP */
		emit(s, &o);
	} else if (q.qtype == DNS_TYPE_NS || q.qtype == DNS_TYPE_ANY) {
		/* the apex holds an SOA and an NS: answer as the zone holds
		 * them (a transfer carries that NS, so NODATA here contradicts
		 * the zone the secondary has) */
		if (q.qtype == DNS_TYPE_ANY)
			x_soa(&x, serial);
		x_ns(&x);
		emit(s, &o);
	} else {
		/* other types at the apex: no data, with the SOA in authority
		 * (RFC 2308 2.2), as below the apex: without it the asker has
		 * no negative TTL and cannot cache the answer */
		negative_soa(&o, &z, serial);
		emit(s, &o);
	}
	rpz_snap_end(snap);
	if (kind != NULL) {
		log_info("dns: %s of %s serial %u to %s: %llu bytes%s", kind, z.zone, serial, who,
		         (unsigned long long)s->bytes, rv != 0 ? " (interrupted)" : "");
		pthread_mutex_lock(&d->lock);
		struct dns_secondary *row = sec_row(d, z.zone, who, true);
		if (row != NULL) {
			row->last_xfr = now;
			snprintf(row->xfr_kind, sizeof row->xfr_kind, "%s", kind[0] == 'A' ? "AXFR" : "IXFR");
			row->xfr_bytes = s->bytes;
			row->xfr_serial = serial;
			if (kind[0] == 'A' || kind[4] == '(')
				row->axfrs++;
			else
				row->ixfrs++;
		}
		if (rv == 0 && s->local != NULL)
			learn_source(d, z.zone, from, s->local);
		pthread_mutex_unlock(&d->lock);
	}
}

/* --- TCP connections --- */

struct conn {
	struct dns *d;
	int fd;
	int slot;
	bool outsider;          /* no zone lists the address: one answer (REFUSED) */
	uint64_t accepted_ms;   /* monoclock */
	struct sockaddr_storage from;
};

/* Reads n bytes by `until' (monoclock ms), however they trickle in: a
 * timeout per recv() let a client sending one byte every few seconds
 * hold its slot for hours (an outsider's 2 s became 4096 x 2 s). */
static int read_full(int fd, uint8_t *p, size_t n, uint64_t until)
{
	while (n > 0) {
		uint64_t now = monoclock_ms();
		if (now >= until)
			return -1;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int pr = poll(&pf, 1, (int)(until - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Ends a connection that reached its query limit while the client may
 * have more queries in flight (pipelined, RFC 7766 6.2.1): closing with
 * unread input sends an RST, and the client's kernel then drops the
 * answers it had not read yet (92 of 100 lost to a client that pipelined
 * 101). So: our side shut, the input read and dropped until the client
 * closes or DNS_TCP_LINGER_MS pass; the client sees every answer, then
 * the end, and asks again for the rest. */
static void linger_close(int fd)
{
	uint8_t sink[512];
	uint64_t until = monoclock_ms() + DNS_TCP_LINGER_MS;

	if (shutdown(fd, SHUT_WR) != 0)
		return;
	for (uint64_t now = monoclock_ms(); now < until; now = monoclock_ms()) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, (int)(until - now)) <= 0 || recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0)
			break;
	}
}

/* Serves one connection until it ends; the caller closes it. */
static void serve_conn(struct dns *d, const struct conn *c, uint8_t *req)
{
	int most = c->outsider ? 1 : DNS_TCP_QUERIES_MAX, served;
	struct sockaddr_storage local;
	socklen_t ll = sizeof local;
	bool have_local = getsockname(c->fd, (struct sockaddr *)&local, &ll) == 0;
	for (served = 0; req != NULL && served < most; served++) {
		uint8_t lenbuf[2];
		/* each query whole within DNS_TCP_IDLE_MS of the last answer;
		 * an outsider's one within DNS_TCP_OUTSIDER_MS of the accept */
		uint64_t until = c->outsider ? c->accepted_ms + DNS_TCP_OUTSIDER_MS : monoclock_ms() + DNS_TCP_IDLE_MS;
		if (read_full(c->fd, lenbuf, 2, until) != 0)
			break;
		size_t len = (size_t)lenbuf[0] << 8 | lenbuf[1];
		if (len > DNSMSG_QUERY_MAX || len < 12)
			break; /* no query is that long: drop the connection unread */
		if (read_full(c->fd, req, len, until) != 0)
			break;
		struct sink s = {.fd = c->fd, .tcp = true, .local = have_local ? &local : NULL};
		answer(d, req, len, &s, (struct sockaddr *)&c->from);
	}
	if (served == most)
		linger_close(c->fd);
}

static void *conn_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-dns-conn"); /* top -H, ps -L, perf: which part is busy */
	struct conn *c = arg;
	struct dns *d = c->d;
	uint8_t *req = malloc(DNSMSG_QUERY_MAX);

	for (bool next = true; next;) {
		serve_conn(d, c, req);
		pthread_mutex_lock(&d->lock);
		close(c->fd);
		/* a secondaries' slot passes to the connection waiting longest,
		 * with this thread: no slot stands free while one waits, and a
		 * burst costs no thread per connection */
		next = !c->outsider && !d->stopping && d->n_waiting > 0;
		if (next) {
			struct waiting w = d->waiting[d->wait_head];
			d->wait_head = (d->wait_head + 1) % DNS_TCP_WAITING;
			d->n_waiting--;
			c->fd = w.fd;
			c->from = w.from;
			c->accepted_ms = monoclock_ms();
			d->conn_fd[c->slot] = c->fd;
		} else {
			d->conn_fd[c->slot] = -1;
			d->conns--;
			pthread_cond_broadcast(&d->cond);
		}
		if (d->accept_parked && !c->outsider) {
			/* room again for a listed connection: the listeners wait
			 * for it (serve_main) */
			d->accept_parked = false;
			if (write(d->wake[1], "s", 1) < 0)
				log_error("dns: cannot wake the server: %s", strerror(errno));
		}
		pthread_mutex_unlock(&d->lock);
	}
	free(req);
	free(c);
	return NULL;
}

static void accept_one(struct dns *d, int lfd)
{
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	int fd = accept4(lfd, (struct sockaddr *)&from, &fl, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			uint64_t t = monoclock_ms();
			if (t - d->last_accept_log > 1000) {
				d->last_accept_log = t;
				log_warn("dns: accept: %s; pausing %d ms", strerror(errno), DNS_ACCEPT_PAUSE_MS);
			}
			poll(NULL, 0, DNS_ACCEPT_PAUSE_MS);
		}
		/* ECONNABORTED, EINTR, EAGAIN, EPROTO...: the next one */
		return;
	}
	pthread_mutex_lock(&d->lock);
	/* an address no zone lets in only ever gets REFUSED: it must not hold
	 * one of the secondaries' DNS_TCP_MAX slots, so it gets one of the
	 * DNS_TCP_OUTSIDERS slots, a short deadline and one answer (a storm
	 * from outside costs an accept and a close each once those are taken) */
	bool listed = false;
	for (size_t z = 0; z < d->n_zones && !listed; z++)
		listed = allowed(&d->zones[z], (struct sockaddr *)&from);
	int slot = -1, lo = listed ? 0 : DNS_TCP_MAX, hi = listed ? DNS_TCP_MAX : DNS_TCP_MAX + DNS_TCP_OUTSIDERS;
	for (int i = lo; i < hi && !d->stopping; i++)
		if (d->conn_fd[i] < 0) {
			slot = i;
			break;
		}
	/* reads have deadlines of their own (read_full); a write gets this */
	int send_ms = listed ? DNS_TCP_SEND_MS : DNS_TCP_OUTSIDER_MS;
	struct timeval st = {send_ms / 1000, (send_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof st);
	if (slot < 0 && listed && !d->stopping && d->n_waiting < DNS_TCP_WAITING) {
		/* every secondaries' slot taken: it waits for one (conn_main),
		 * never closed at accept - that reset a secondary asking just
		 * after a burst from a listed address, when the threads of
		 * connections long closed by their clients still held the slots
		 * (listeners.sh "DNS not answering after the storm", ASan, load
		 * 8: up to 63 of 64 slots held so), and dig's three tries and a
		 * resolver's all failed within the same milliseconds */
		d->waiting[(d->wait_head + d->n_waiting++) % DNS_TCP_WAITING] = (struct waiting){.fd = fd, .from = from};
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct conn *c = slot >= 0 ? calloc(1, sizeof *c) : NULL;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (c != NULL) {
		*c = (struct conn){.d = d, .fd = fd, .slot = slot, .outsider = !listed, .accepted_ms = monoclock_ms(),
		                   .from = from};
		d->conn_fd[slot] = fd;
		d->conns++;
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			d->conn_fd[slot] = -1;
			d->conns--;
			free(c);
			c = NULL;
		}
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_unlock(&d->lock);
	if (c == NULL)
		close(fd); /* an outsider with no slot free (or no thread): it retries later */
}

/* Whether a listed connection accepted now would find neither a slot nor
 * a place to wait; the caller holds the lock. */
static bool listed_full(const struct dns *d)
{
	if (d->n_waiting < DNS_TCP_WAITING)
		return false;
	for (int i = 0; i < DNS_TCP_MAX; i++)
		if (d->conn_fd[i] < 0)
			return false;
	return true;
}


/* Writes into ctl (CMSG_SPACE(sizeof(struct in6_pktinfo)) bytes) the
 * IP_PKTINFO or IPV6_PKTINFO message that makes src a datagram's source
 * address (IPv6: its scope id the interface). Returns the control
 * length for msg_controllen; 0 when src is NULL or neither family. */
static size_t pktinfo_put(uint8_t *ctl, const struct sockaddr *src)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)ctl;

	if (src != NULL && src->sa_family == AF_INET) {
		struct in_pktinfo pi = {.ipi_spec_dst = ((const struct sockaddr_in *)(const void *)src)->sin_addr};
		memset(ctl, 0, CMSG_SPACE(sizeof pi));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
	if (src != NULL && src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)src;
		struct in6_pktinfo pi = {.ipi6_addr = s6->sin6_addr, .ipi6_ifindex = s6->sin6_scope_id};
		memset(ctl, 0, CMSG_SPACE(sizeof pi));
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof pi);
		memcpy(CMSG_DATA(c), &pi, sizeof pi);
		return CMSG_SPACE(sizeof pi);
	}
	return 0;
}

/* Reads one UDP query into buf; the sender into *from (s->tolen) and its
 * destination address into s->ctl as the control message that makes the
 * answer leave from it. A wildcard dns_listen (0.0.0.0, ::) answered from
 * the kernel's pick by route: a query to another address of the host got
 * its answer from the wrong one, which dig and Unbound drop - and
 * Unbound, which probes the SOA over UDP first, never transferred. */
static ssize_t recv_query(int fd, uint8_t *buf, size_t cap, struct sockaddr_storage *from, struct sink *s)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	} in;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr m = {.msg_name = from, .msg_namelen = sizeof *from, .msg_iov = &iov, .msg_iovlen = 1,
	                   .msg_control = in.buf, .msg_controllen = sizeof in.buf};
	ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);

	if (r < 0)
		return r;
	s->tolen = m.msg_namelen;
	s->ctl_len = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi);
			struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = pi.ipi_addr}; /* where the query went */
			s->ctl_len = pktinfo_put(s->ctl.buf, (const struct sockaddr *)&to);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof pi); /* the address and its interface (link-local) */
			struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = pi.ipi6_addr,
			                          .sin6_scope_id = pi.ipi6_ifindex};
			s->ctl_len = pktinfo_put(s->ctl.buf, (const struct sockaddr *)&to);
		}
	}
	return r;
}

static void *serve_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-dns"); /* top -H, ps -L, perf: which part is busy */
	struct dns *d = arg;
	struct pollfd p[2 * CONFIG_DNS_LISTEN_MAX + 1];
	uint8_t req[DNSMSG_QUERY_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < d->n_listen; i++) {
		p[n++] = (struct pollfd){.fd = d->udp[i], .events = POLLIN};
		p[n++] = (struct pollfd){.fd = d->tcp[i], .events = POLLIN};
	}
	p[n++] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
	for (;;) {
		/* Every secondaries' slot taken and DNS_TCP_WAITING listed
		 * connections waiting for one: the TCP listeners are not polled,
		 * and new connections wait in the kernel's backlog until
		 * conn_main makes room and wakes us (as metrics_http.c does),
		 * rather than a listed one being closed at accept (accept_one).
		 * Only listed addresses can fill both; until they do, an
		 * outsider is accepted and answered on its own slots. The
		 * timeout is a backstop: a lost wake-up costs a pause, never the
		 * listener. */
		pthread_mutex_lock(&d->lock);
		bool full = listed_full(d);
		d->accept_parked = full;
		pthread_mutex_unlock(&d->lock);
		for (size_t i = 0; i < d->n_listen; i++)
			p[2 * i + 1].fd = full ? -1 : d->tcp[i]; /* poll skips a negative fd */
		if (poll(p, n, full ? DNS_ACCEPT_PAUSE_MS : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("dns: poll: %s", strerror(errno));
			poll(NULL, 0, 100);
			continue;
		}
		if (p[n - 1].revents) {
			uint8_t drain[64];
			while (read(d->wake[0], drain, sizeof drain) > 0)
				;
			pthread_mutex_lock(&d->lock);
			bool stop = d->stopping;
			pthread_mutex_unlock(&d->lock);
			if (stop)
				break;
		}
		for (size_t i = 0; i + 1 < n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			if (i % 2 == 1) {
				accept_one(d, p[i].fd);
				continue;
			}
			struct sockaddr_storage from;
			struct sink s = {.fd = p[i].fd, .to = (struct sockaddr *)&from};
			ssize_t r = recv_query(p[i].fd, req, sizeof req, &from, &s);
			if (r <= 0 || (size_t)r > DNSMSG_QUERY_MAX)
				continue; /* a datagram over the cap is dropped unread */
			answer(d, req, (size_t)r, &s, (struct sockaddr *)&from);
		}
	}
	return NULL;
}

/* --- NOTIFY --- */

/* The address a NOTIFY to t leaves from (target's comment); NULL: the
 * kernel's choice. */
static const struct sockaddr *notify_source(const struct dns *d, const struct target *t)
{
	int family = t->addr.sa.ss_family;
	const struct config_addr *dflt = family == AF_INET ? &d->notify_src4 : &d->notify_src6;

	if (t->source.sa.ss_family == family)
		return (const struct sockaddr *)&t->source.sa;
	if (t->learned_len > 0)
		return (const struct sockaddr *)&t->learned;
	if (dflt->sa.ss_family == family)
		return (const struct sockaddr *)&dflt->sa;
	return NULL;
}

/* Sends buf to t from src (NULL: the kernel picks): the notify socket is
 * bound to the wildcard, and IP_PKTINFO / IPV6_PKTINFO name the source of
 * each datagram, so one socket serves every zone's notify_source. */
static void send_from(int fd, const uint8_t *buf, size_t len, const struct target *t, const struct sockaddr *src)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m = {.msg_name = (void *)&t->addr.sa, .msg_namelen = t->addr.len, .msg_iov = &iov,
	                   .msg_iovlen = 1};

	size_t ctl_len = pktinfo_put(ctl.buf, src);
	if (ctl_len > 0) {
		m.msg_control = ctl.buf;
		m.msg_controllen = ctl_len;
	}
	if (sendmsg(fd, &m, 0) < 0 && src != NULL) {
		/* the address went away (an interface down): the kernel's pick
		 * beats no NOTIFY at all */
		m.msg_control = NULL;
		m.msg_controllen = 0;
		sendmsg(fd, &m, 0);
	}
}

static void notify_send(struct dns *d, int fd4, int fd6, struct target *t, uint64_t now)
{
	uint8_t buf[512];
	int fd = t->addr.sa.ss_family == AF_INET ? fd4 : fd6;
	randombytes_buf(&t->id, sizeof t->id);
	t->sent_serial = t->serial;
	int len = dnsmsg_notify(buf, sizeof buf, t->id, t->zone, t->serial);
	const struct sockaddr *src = notify_source(d, t);
	if (len > 0 && fd >= 0)
		send_from(fd, buf, (size_t)len, t, src);
	t->sent_ms = monoclock_ms();
	t->due_ms = t->sent_ms + t->backoff_ms;
	t->backoff_ms = t->backoff_ms * 2 > NOTIFY_MAX_RETRY_MS ? NOTIFY_MAX_RETRY_MS : t->backoff_ms * 2;
	/* notify rows are per target, address and port: two resolvers on one
	 * address are two secondaries */
	struct dns_secondary *row = sec_row(d, t->zone, t->addr.text, true);
	if (row != NULL) {
		row->notify_sent = now;
		row->notify_serial = t->serial;
		/* which source: a REFUSED answer is most often the wrong one */
		if (src != NULL)
			addr_text(src, row->notify_from);
		else
			row->notify_from[0] = '\0';
		row->notify_pending = true;
	}
}

static void notify_answer(struct dns *d, int fd)
{
	uint8_t buf[DNSMSG_QUERY_MAX + 1];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	struct dnsmsg m;
	char err[AM_ERRLEN];

	ssize_t r = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
	if (r <= 0 || (size_t)r > DNSMSG_QUERY_MAX)
		return;
	if (dnsmsg_parse(buf, (size_t)r, &m, err, sizeof err) != 0 || !m.qr ||
	    m.opcode != DNS_OPCODE_NOTIFY)
		return;
	struct config_addr got = {.sa = from, .len = fl};
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_targets; i++) {
		struct target *t = &d->targets[i];
		/* the answer must come from the target - its address and port,
		 * where the NOTIFY went: any port of that host was taken, so
		 * any process there (or a spoofer guessing 16 bits of id) could
		 * end the retries - with our id, for the zone */
		if (!t->pending || t->id != m.id || !config_addr_same(&t->addr, &got) || strcmp(t->zone, m.qname) != 0)
			continue;
		struct dns_secondary *row = sec_row(d, t->zone, t->addr.text, true);
		if (row != NULL) {
			row->notify_answered = timefmt_now();
			row->notify_rcode = (int)m.rcode;
		}
		if (t->sent_serial == t->serial) {
			t->pending = false;
			if (row != NULL)
				row->notify_pending = false;
			/* NOERROR: now it should ask; a refusal will not change
			 * by repeating */
			t->awaiting = m.rcode == DNS_RCODE_NOERROR && t->followups < NOTIFY_FOLLOWUPS &&
			              t->heard_ms < t->sent_ms;
			t->due_ms = monoclock_ms() + ((uint64_t)NOTIFY_FOLLOWUP_MS << t->followups);
		} else {
			/* newer serials came while this one was in flight: one
			 * NOTIFY for the newest, now */
			t->due_ms = 0;
			t->backoff_ms = NOTIFY_FIRST_RETRY_MS;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* The socket NOTIFYs of one family go out on: bound to the wildcard, port
 * 0 (the listener's own port is taken by the listening socket); each
 * datagram names its source (send_from), the address the secondaries
 * have as their primary. BIND and Unbound accept a NOTIFY only from a
 * configured primary's address and answer REFUSED otherwise; left to the
 * kernel, the source is picked by route - 127.0.0.1 for any loopback
 * target, whatever address dns_listen named, and for a wildcard
 * dns_listen whatever the route says. */
static int notify_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && family == AF_INET6) {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	}
	return fd;
}

static void *notify_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-notify"); /* top -H, ps -L, perf: which part is busy */
	struct dns *d = arg;
	int fd4 = notify_socket(AF_INET);
	int fd6 = notify_socket(AF_INET6);

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		uint64_t t = monoclock_ms(), next = t + 1000;
		for (size_t i = 0; i < d->n_targets; i++) {
			struct target *tg = &d->targets[i];
			if (tg->awaiting && tg->due_ms <= t) {
				/* answered, never asked: tell it again */
				tg->awaiting = false;
				tg->followups++;
				tg->pending = true;
				tg->backoff_ms = NOTIFY_FIRST_RETRY_MS;
				log_info("dns: %s answered the NOTIFY for %s serial %u but asked nothing since: "
				         "sent again (%u of %u)",
				         tg->addr.text, tg->zone, tg->serial, tg->followups, NOTIFY_FOLLOWUPS);
			} else if (tg->awaiting && tg->due_ms < next) {
				next = tg->due_ms;
			}
			if (!tg->pending)
				continue;
			if (tg->due_ms <= t)
				notify_send(d, fd4, fd6, tg, timefmt_now());
			if (tg->due_ms < next)
				next = tg->due_ms;
		}
		pthread_mutex_unlock(&d->lock);
		struct pollfd p[2] = {{.fd = fd4, .events = POLLIN}, {.fd = fd6, .events = POLLIN}};
		/* short polls, so a new serial is sent within a few ms */
		int wait = next > t ? (int)(next - t) : 0;
		if (wait > 5)
			wait = 5;
		if (poll(p, 2, wait) > 0) {
			if (p[0].revents & POLLIN)
				notify_answer(d, fd4);
			if (p[1].revents & POLLIN)
				notify_answer(d, fd6);
		}
		pthread_mutex_lock(&d->lock);
		bool any = false;
		for (size_t i = 0; i < d->n_targets; i++)
			any |= d->targets[i].pending || d->targets[i].awaiting;
		if (!any && !d->stopping) {
			/* nothing in flight: sleep until a change or a second passes */
			struct timespec ts;
			monoclock_deadline(CLOCK_MONOTONIC, 1000, &ts);
			pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	return NULL;
}

void dns_zone_changed(struct dns *d, const char *zone, uint32_t serial)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_targets; i++) {
		struct target *t = &d->targets[i];
		if (strcmp(t->zone, zone) != 0)
			continue;
		/* Coalesced: an idle target is told at once; one with a NOTIFY
		 * in flight only gets the newer serial, which its answer (then
		 * sent at once) or the next retry carries, at most
		 * DNS_NOTIFY_COALESCE_MS after the last send. Resetting the timer
		 * here sent one NOTIFY per change - every few ms to a secondary
		 * that was down, and ten for a burst of ten submissions. */
		t->serial = serial;
		/* a new serial: a new NOTIFY, with its own follow-ups */
		t->awaiting = false;
		t->followups = 0;
		if (!t->pending) {
			t->pending = true;
			t->due_ms = 0;
			t->backoff_ms = NOTIFY_FIRST_RETRY_MS;
		} else if (t->sent_serial != serial) {
			/* ...but never behind a long backoff: a secondary that was
			 * down and is back would hear of this change only at the
			 * next retry, up to a minute away (the demo's resolver
			 * waited 2.7 s) */
			uint64_t soon = t->sent_ms + DNS_NOTIFY_COALESCE_MS;
			if (t->due_ms > soon)
				t->due_ms = soon;
			t->backoff_ms = NOTIFY_FIRST_RETRY_MS;
		}
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* Whether NOTIFYs can leave from src: an address of this host (a bind
 * to it, port 0, works). errno says why not. */
static bool source_usable(const struct config_addr *src)
{
	struct sockaddr_storage a = src->sa;
	int fd = socket(src->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, src->len) == 0;
	int e = errno;
	if (fd >= 0)
		close(fd);
	errno = e;
	return ok;
}

/* Whether every notify_source of z can be used; if not, why in err (for
 * dns_open, which fails, and a reload, which logs it and leaves it out) */
static bool sources_check(const struct config_rpz *z, char *err, size_t errlen)
{
	const struct config_addr *src[2] = {&z->notify_source4, &z->notify_source6};
	for (int f = 0; f < 2; f++)
		if (src[f]->sa.ss_family != 0 && !source_usable(src[f])) {
			snprintf(err, errlen, "[rpz %s] notify_source `%s': no NOTIFY can leave from it: %s (not an "
			         "address of this host?)", z->name, src[f]->text, strerror(errno));
			return false;
		}
	return true;
}

/* announce: a target new to this set (every target, at start-up) is sent
 * a NOTIFY for its zone's current serial, not left until the next change */
static void set_zones(struct dns *d, const struct config_rpz *zones, size_t n, bool announce)
{
	struct config_rpz *copy = n ? calloc(n, sizeof *copy) : NULL;
	size_t nt = 0;

	for (size_t i = 0; i < n; i++)
		nt += zones[i].n_notify;
	struct target *targets = nt ? calloc(nt, sizeof *targets) : NULL;
	if ((n && copy == NULL) || (nt && targets == NULL)) {
		log_error("dns: out of memory; keeping the zones served");
		free(copy);
		free(targets);
		return;
	}
	if (n)
		memcpy(copy, zones, n * sizeof *copy);
	nt = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < zones[i].n_notify; k++) {
			snprintf(targets[nt].zone, sizeof targets[nt].zone, "%s", zones[i].zone);
			targets[nt].addr = zones[i].notify[k];
			const struct config_addr *src = targets[nt].addr.sa.ss_family == AF_INET ? &zones[i].notify_source4
			                                                                         : &zones[i].notify_source6;
			if (src->sa.ss_family != 0 && source_usable(src))
				targets[nt].source = *src;
			nt++;
		}
	/* the serials to announce, read before the lock (a short read
	 * transaction per zone; a zone with no state yet has nothing) */
	bool *have = nt ? calloc(nt, sizeof *have) : NULL;
	uint32_t *serial = nt ? calloc(nt, sizeof *serial) : NULL;
	for (size_t i = 0; announce && have != NULL && serial != NULL && i < nt; i++) {
		struct rpz_snap *snap;
		if (i > 0 && strcmp(targets[i].zone, targets[i - 1].zone) == 0) {
			have[i] = have[i - 1];
			serial[i] = serial[i - 1];
		} else if (rpz_snap_begin(d->rpz, targets[i].zone, &snap) == 0) {
			have[i] = true;
			serial[i] = rpz_snap_serial(snap);
			rpz_snap_end(snap);
		}
	}
	pthread_mutex_lock(&d->lock);
	/* A target still configured keeps its state: a NOTIFY in flight or in
	 * backoff (a secondary that was down) goes on being retried with the
	 * newest serial, and a late answer to it still matches. Fresh targets
	 * dropped it: a reload silenced every unanswered NOTIFY until the next
	 * change. */
	for (size_t i = 0; i < nt; i++) {
		bool kept = false;
		for (size_t k = 0; k < d->n_targets; k++) {
			const struct target *was = &d->targets[k];
			if (strcmp(was->zone, targets[i].zone) == 0 && config_addr_same(&was->addr, &targets[i].addr)) {
				struct config_addr addr = targets[i].addr; /* as written now */
				struct config_addr source = targets[i].source;
				targets[i] = *was;
				targets[i].addr = addr;
				targets[i].source = source;
				/* a new notify_source: the secondary may have refused
				 * every NOTIFY from the old one, so it hears the
				 * current serial again, from the new */
				kept = source.sa.ss_family == was->source.sa.ss_family &&
				       (source.sa.ss_family == 0 || same_host((const struct sockaddr *)&source.sa,
				                                               (const struct sockaddr *)&was->source.sa));
				break;
			}
		}
		/* A target the reload added (or whose source it changed) is
		 * told the current serial at once:
		 * it heard only of the next change, which on a quiet zone may
		 * be hours away, and until then a secondary set up to wait for
		 * NOTIFY (or with a long refresh) stayed empty or stale. */
		if (!kept && have != NULL && have[i]) {
			targets[i].serial = serial[i];
			targets[i].pending = true;
			targets[i].due_ms = 0;
			targets[i].backoff_ms = NOTIFY_FIRST_RETRY_MS;
			targets[i].awaiting = false; /* a new NOTIFY, not a follow-up */
			targets[i].followups = 0;
			/* not the serial announced: a late answer to a NOTIFY in
			 * flight from the old source does not end this one */
			targets[i].sent_serial = serial[i] + 1;
		}
	}
	free(have);
	free(serial);
	struct config_rpz *old = d->zones;
	size_t old_n = d->n_zones;
	free(d->targets);
	d->zones = copy;
	d->n_zones = n;
	d->targets = targets;
	d->n_targets = nt;
	pthread_cond_broadcast(&d->cond); /* the notify thread may sleep */
	pthread_mutex_unlock(&d->lock);
	if (old)
		sodium_memzero(old, old_n * sizeof *old);
	free(old);
}

void dns_set_zones(struct dns *d, const struct config_rpz *zones, size_t n)
{
	char err[AM_ERRLEN];
	for (size_t i = 0; i < n; i++)
		if (!sources_check(&zones[i], err, sizeof err))
			log_error("SIGHUP: %s; its NOTIFYs leave from where each secondary last transferred from us, "
			          "or the kernel's choice", err);
	set_zones(d, zones, n, true);
}

static int bind_one(const struct config_addr *a, int type, char *err, size_t errlen)
{
	int one = 1;
	int fd = socket(a->sa.ss_family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (a->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	/* each query's destination (recv_query): a wildcard listener answers
	 * from it, not from the kernel's pick */
	if (type == SOCK_DGRAM && a->sa.ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
	else if (type == SOCK_DGRAM)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len) != 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 128) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "dns_listen %s (%s): %s", a->text, type == SOCK_STREAM ? "TCP" : "UDP",
	         strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int dns_open(struct dns **out, const struct config *cfg, struct rpz *r, char *err, size_t errlen)
{
	struct dns *d = calloc(1, sizeof *d);

	*out = NULL;
	if (d == NULL)
		return AM_ENOMEM;
	d->rpz = r;
	d->wake[0] = d->wake[1] = -1;
	for (int i = 0; i < DNS_TCP_MAX + DNS_TCP_OUTSIDERS; i++)
		d->conn_fd[i] = -1;
	for (size_t i = 0; i < CONFIG_DNS_LISTEN_MAX; i++)
		d->udp[i] = d->tcp[i] = -1;
	pthread_mutex_init(&d->lock, NULL);
	monoclock_cond_init(&d->cond);
	for (size_t i = cfg->n_dns_listen; i-- > 0;) {
		/* the first specific one of each family is the default NOTIFY
		 * source, port 0; a wildcard names no source */
		struct config_addr a = cfg->dns_listen[i];
		if (a.sa.ss_family == AF_INET && ((struct sockaddr_in *)&a.sa)->sin_addr.s_addr != htonl(INADDR_ANY)) {
			((struct sockaddr_in *)&a.sa)->sin_port = 0;
			d->notify_src4 = a;
		} else if (a.sa.ss_family == AF_INET6 &&
		           !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&a.sa)->sin6_addr)) {
			((struct sockaddr_in6 *)&a.sa)->sin6_port = 0;
			d->notify_src6 = a;
		}
	}
	for (size_t i = 0; i < cfg->n_rpz; i++)
		if (!sources_check(&cfg->rpz[i], err, errlen))
			goto fail;
	for (size_t i = 0; i < cfg->n_dns_listen; i++) {
		if ((d->udp[i] = bind_one(&cfg->dns_listen[i], SOCK_DGRAM, err, errlen)) < 0 ||
		    (d->tcp[i] = bind_one(&cfg->dns_listen[i], SOCK_STREAM, err, errlen)) < 0) {
			d->n_listen = i + 1;
			goto fail;
		}
		d->n_listen = i + 1;
	}
	if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	/* Start-up announces the current serial to every target, as NSD and
	 * BIND do when they load a zone: a secondary that missed changes
	 * while ameshd was down (or whose NOTIFY was still unanswered when
	 * it stopped) heard only of the next change, or waited out its
	 * refresh timer (BIND clamps it to 300 s at least). */
	set_zones(d, cfg->rpz, cfg->n_rpz, true);
	if (pthread_create(&d->serve_thread, NULL, serve_main, d) != 0)
		goto fail_thread;
	d->serve_started = true;
	if (pthread_create(&d->notify_thread, NULL, notify_main, d) != 0)
		goto fail_thread;
	d->notify_started = true;
	*out = d;
	return 0;
fail_thread:
	snprintf(err, errlen, "cannot start the DNS threads");
fail:
	dns_close(d);
	return AM_EIO;
}

void dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	if (d->serve_started) {
		if (write(d->wake[1], "x", 1) < 0)
			log_error("dns: cannot wake the server: %s", strerror(errno));
		pthread_join(d->serve_thread, NULL);
	}
	if (d->notify_started)
		pthread_join(d->notify_thread, NULL);
	/* connections in flight: cut them and wait for their threads */
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < DNS_TCP_MAX + DNS_TCP_OUTSIDERS; i++)
		if (d->conn_fd[i] >= 0)
			shutdown(d->conn_fd[i], SHUT_RDWR);
	while (d->conns > 0)
		pthread_cond_wait(&d->cond, &d->lock);
	for (; d->n_waiting > 0; d->n_waiting--, d->wait_head = (d->wait_head + 1) % DNS_TCP_WAITING)
		close(d->waiting[d->wait_head].fd);
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < d->n_listen; i++) {
		if (d->udp[i] >= 0)
			close(d->udp[i]);
		if (d->tcp[i] >= 0)
			close(d->tcp[i]);
	}
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	if (d->zones)
		sodium_memzero(d->zones, d->n_zones * sizeof *d->zones);
	free(d->zones);
	free(d->targets);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

size_t dns_secondaries(struct dns *d, struct dns_secondary *out, size_t max)
{
	size_t n;

	if (d == NULL)
		return 0;
	pthread_mutex_lock(&d->lock);
	n = d->n_sec < max ? d->n_sec : max;
	memcpy(out, d->sec, n * sizeof *out);
	pthread_mutex_unlock(&d->lock);
	return n;
}

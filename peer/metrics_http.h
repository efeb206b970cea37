/*
 * metrics_http.h - the plain-socket HTTP responder Prometheus scrapes.
 *
 * Why not NNG's HTTP server: in NNG 1.5.2 (Debian 12) any URI with a %XX
 * escape writes out of bounds before a handler runs (nng#1594/#1595). This
 * responder serves one page, GET or HEAD /metrics, and nothing else.
 *
 * Design: one thread, one poll() loop over the listening socket, a wake-up
 * pipe and at most METRICS_HTTP_CONNS connections, all non-blocking. Each
 * connection gets METRICS_HTTP_TIMEOUT_MS in all, from accept to its last
 * byte: a client that sends slowly, never finishes its head or never reads
 * the answer holds a slot for that long at most. The request head is
 * parsed by httpreq.h (capped at HTTPREQ_HEAD_MAX bytes, fuzzed); every
 * answer carries Content-Length and `Connection: close`, and the body of a
 * request is never read. After answering, the write side is shut down and
 * what the client still sends is drained until it closes (or the deadline
 * passes), so closing never turns unread bytes into a reset that would
 * destroy the answer in flight.
 *
 * Accept is robust the way the accept(2) manual asks: ECONNABORTED, EPROTO,
 * EINTR and the network errors Linux passes up from a pending connection
 * are retried at once; EMFILE/ENFILE (out of descriptors) release a reserve
 * descriptor to accept and close the waiting connection, so the listening
 * socket does not stay readable in a busy loop, then pause accepting for
 * 100 ms, as do ENOBUFS/ENOMEM. When every slot is taken the listener is
 * not polled: new connections wait in the kernel's backlog (64) until a
 * slot frees, at the latest METRICS_HTTP_TIMEOUT_MS later - a scrape is
 * delayed by clients that hog the slots, never refused by them.
 *
 * Addresses: "HOST:PORT", "[IPV6]:PORT" or a bare "PORT", which means
 * 127.0.0.1: loopback unless the operator names another address. HOST is a
 * numeric address (no name lookups at start-up).
 *
 * Threads: the page callback runs on the responder's thread, one request
 * at a time; it must be safe to call concurrently with the rest of the
 * daemon. The responder logs (like control.c, it is a top-level module).
 */
#ifndef AMESH_METRICS_HTTP_H
#define AMESH_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define METRICS_HTTP_CONNS 16
#define METRICS_HTTP_TIMEOUT_MS 5000
#define METRICS_HTTP_ADDR_MAX 64
#define METRICS_HTTP_PATH "/metrics"

/* Produces the page: *text malloc'd (the responder frees it), *len bytes.
 * Returns 0, or non-zero to answer 500. */
typedef int (*metrics_http_page_fn)(void *arg, char **text, size_t *len);

/* Parses an address as described above. Returns 0, or AM_EINVAL with the
 * reason (quoting spec) in why. */
int metrics_http_addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
                            char *why, size_t whylen);

/* Status codes the responder answers, in the order of stats.responses. */
#define METRICS_HTTP_CODES 10
extern const int metrics_http_codes[METRICS_HTTP_CODES];

struct metrics_http_stats {
	uint64_t responses[METRICS_HTTP_CODES]; /* answers by status code */
	uint64_t timeouts;      /* connections closed at the deadline (408 counted when sent) */
	uint64_t accept_errors; /* accept() failures other than "try again" */
};

struct metrics_http;

/* Binds addr (syntax above), starts the thread.
 * page/arg are borrowed until metrics_http_close. Returns 0, or AM_EINVAL
 * (bad address) / AM_EIO (socket, bind, thread) with the reason in err. */
int metrics_http_open(struct metrics_http **out, const char *addr, metrics_http_page_fn page,
                      void *arg, char *err, size_t errlen);
/* The port bound, in host order. */
unsigned metrics_http_port(const struct metrics_http *h);
void metrics_http_stats(struct metrics_http *h, struct metrics_http_stats *st);
/* Stops the thread, closes every connection and the socket. NULL ok. */
void metrics_http_close(struct metrics_http *h);

#endif

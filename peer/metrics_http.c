/* metrics_http.c - one poll() loop serving GET /metrics over plain TCP. */
#include "metrics_http.h"
#include "monoclock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpreq.h"
#include "log.h"
#include "model.h"
#include "text.h"

#define ACCEPT_PAUSE_MS 100
#define DRAIN_MS 1000

const int metrics_http_codes[METRICS_HTTP_CODES] = {200, 400, 404, 405, 408,
                                                    414, 431, 500, 501, 505};

enum conn_state { C_FREE = 0, C_READ, C_WRITE, C_DRAIN };

struct conn {
	enum conn_state st;
	int fd;
	uint64_t deadline; /* monotonic ms */
	char in[HTTPREQ_HEAD_MAX];
	size_t in_len;
	char *out; /* head and body, malloc'd */
	size_t out_len, out_off;
};

struct metrics_http {
	int lfd, wake[2], reserve;
	unsigned port;
	metrics_http_page_fn page;
	void *arg;
	pthread_t thread;
	bool started;
	uint64_t accept_paused_until;
	pthread_mutex_t lock; /* stats */
	struct metrics_http_stats stats;
	struct conn conns[METRICS_HTTP_CONNS];
};

int metrics_http_addr_parse(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
                            char *why, size_t whylen)
{
	char q[TEXT_QUOTE_LEN(METRICS_HTTP_ADDR_MAX)], host[METRICS_HTTP_ADDR_MAX];
	const char *colon, *port_s;
	size_t n = strlen(spec), hlen;
	unsigned long port = 0;

	memset(ss, 0, sizeof *ss);
	if (n == 0 || n >= METRICS_HTTP_ADDR_MAX)
		goto bad;
	colon = strrchr(spec, ':');
	if (!colon) {
		snprintf(host, sizeof host, "127.0.0.1");
		port_s = spec;
	} else {
		hlen = (size_t)(colon - spec);
		if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
			memcpy(host, spec + 1, hlen - 2);
			host[hlen - 2] = '\0';
		} else if (memchr(spec, ':', hlen) == NULL) {
			memcpy(host, spec, hlen);
			host[hlen] = '\0';
		} else {
			goto bad; /* an IPv6 address without brackets */
		}
		port_s = colon + 1;
	}
	if (*port_s == '\0' || strlen(port_s) > 5)
		goto bad;
	for (const char *p = port_s; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		goto bad;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*sslen = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *v6;
	} else {
		goto bad;
	}
	return 0;
bad:
	memset(ss, 0, sizeof *ss);
	snprintf(why, whylen, "%s is not HOST:PORT, [IPV6]:PORT or PORT (a numeric address; port 1 to 65535)",
	         text_quote(q, sizeof q, spec, strlen(spec), METRICS_HTTP_ADDR_MAX));
	return AM_EINVAL;
}

static void count_code(struct metrics_http *h, int code)
{
	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < METRICS_HTTP_CODES; i++)
		if (metrics_http_codes[i] == code)
			h->stats.responses[i]++;
	pthread_mutex_unlock(&h->lock);
}

/* Head (and body unless head_only) of an answer, in one malloc'd buffer. */
static int make_answer(int code, const char *ctype, const char *extra, const char *body, size_t body_len,
                       bool head_only, char **out, size_t *out_len)
{
	char *t = malloc(1);
	size_t len = 0;

	if (!t)
		return AM_ENOMEM;
	t[0] = '\0';
	text_append(&t, &len,
	            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n"
	            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n",
	            code, httpreq_reason(code), ctype, body_len, extra ? extra : "");
	if (t && !head_only && body_len) {
		char *more = realloc(t, len + body_len + 1);
		if (!more) {
			free(t);
			return AM_ENOMEM;
		}
		t = more;
		memcpy(t + len, body, body_len);
		len += body_len;
	}
	if (!t)
		return AM_ENOMEM;
	*out = t;
	*out_len = len;
	return 0;
}

static int error_answer(int code, bool head_only, char **out, size_t *out_len)
{
	char body[96];
	int n = snprintf(body, sizeof body, "%d %s\n", code, httpreq_reason(code));
	return make_answer(code, "text/plain; charset=utf-8",
	                   code == 405 ? "Allow: GET, HEAD\r\n" : NULL, body, (size_t)n, head_only, out,
	                   out_len);
}

/* The answer to a complete (or refused) request head. */
static void respond(struct metrics_http *h, struct conn *c, int parsed, const struct httpreq *req)
{
	int code = parsed == HTTPREQ_OK ? 200 : parsed;
	bool head_only = parsed == HTTPREQ_OK && req->method == HTTPREQ_HEAD;
	int rv;

	if (parsed == HTTPREQ_OK && !httpreq_target_is(req, METRICS_HTTP_PATH))
		code = 404;
	else if (parsed == HTTPREQ_OK && req->method == HTTPREQ_OTHER)
		code = 405;
	if (code == 200) {
		char *page = NULL;
		size_t len = 0;
		if (h->page(h->arg, &page, &len) == 0 && page) {
			rv = make_answer(200, "text/plain; version=0.0.4; charset=utf-8", NULL, page, len,
			                 head_only, &c->out, &c->out_len);
		} else {
			code = 500;
			rv = error_answer(code, head_only, &c->out, &c->out_len);
		}
		free(page);
	} else {
		rv = error_answer(code, head_only, &c->out, &c->out_len);
	}
	c->out_off = 0;
	if (rv != 0) {
		c->out = NULL;
		c->out_len = 0; /* no memory for an answer: just close */
	}
	count_code(h, code);
	c->st = C_WRITE;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->st = C_FREE;
	c->fd = -1;
	c->in_len = c->out_len = c->out_off = 0;
}

static void conn_read(struct metrics_http *h, struct conn *c)
{
	for (;;) {
		ssize_t n;
		if (c->in_len == sizeof c->in) {
			/* the parser has answered 431 before the buffer fills */
			struct httpreq req;
			respond(h, c, httpreq_parse(c->in, c->in_len, &req), &req);
			return;
		}
		n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		if (n == 0) { /* the client gave up before finishing its request */
			conn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		struct httpreq req;
		int rv = httpreq_parse(c->in, c->in_len, &req);
		if (rv != HTTPREQ_MORE) {
			respond(h, c, rv, &req);
			return;
		}
	}
}

static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	/* All sent: half-close and drain, so unread input cannot reset the answer. */
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->st = C_DRAIN;
	uint64_t linger = monoclock_ms() + DRAIN_MS; /* a client that never closes frees its slot soon */
	if (linger < c->deadline)
		c->deadline = linger;
}

static void conn_drain(struct conn *c)
{
	char sink[4096];
	for (;;) {
		ssize_t n = recv(c->fd, sink, sizeof sink, 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c); /* EOF or an error: done */
		return;
	}
}

static struct conn *free_slot(struct metrics_http *h)
{
	for (unsigned i = 0; i < METRICS_HTTP_CONNS; i++)
		if (h->conns[i].st == C_FREE)
			return &h->conns[i];
	return NULL;
}

static void pause_accept(struct metrics_http *h)
{
	h->accept_paused_until = monoclock_ms() + ACCEPT_PAUSE_MS;
}

static void accept_some(struct metrics_http *h)
{
	while (free_slot(h)) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
			/* accept(2): Linux passes pending network errors up; retry them */
			case ENETDOWN:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case EOPNOTSUPP:
			case ENETUNREACH:
			case EPERM: /* a firewall rule refused it */
				continue;
			case EMFILE:
			case ENFILE:
				/* Out of descriptors: the pending connection keeps the socket
				 * readable. Spend the reserve to take it off the queue. */
				pthread_mutex_lock(&h->lock);
				h->stats.accept_errors++;
				pthread_mutex_unlock(&h->lock);
				if (h->reserve >= 0) {
					close(h->reserve);
					h->reserve = -1;
					int c = accept4(h->lfd, NULL, NULL, SOCK_CLOEXEC);
					if (c >= 0)
						close(c);
					h->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
				log_warn("metrics: out of file descriptors; a scrape was dropped");
				pause_accept(h);
				return;
			default: /* ENOBUFS, ENOMEM and anything unexpected */
				pthread_mutex_lock(&h->lock);
				h->stats.accept_errors++;
				pthread_mutex_unlock(&h->lock);
				log_warn("metrics: accept: %s", strerror(errno));
				pause_accept(h);
				return;
			}
		}
		struct conn *c = free_slot(h);
		if (!c) { /* cannot happen: the listener is polled only with a slot free */
			close(fd);
			return;
		}
		c->fd = fd;
		c->st = C_READ;
		c->in_len = 0;
		c->deadline = monoclock_ms() + METRICS_HTTP_TIMEOUT_MS;
	}
}

static void *loop_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-metrics"); /* top -H, ps -L, perf: which part is busy */
	struct metrics_http *h = arg;
	struct pollfd pf[METRICS_HTTP_CONNS + 2];
	int map[METRICS_HTTP_CONNS + 2];

	for (;;) {
		uint64_t now = monoclock_ms(), wake_at = UINT64_MAX;
		nfds_t n = 0;

		/* deadlines first: a slot freed here makes the listener pollable */
		for (int i = 0; i < METRICS_HTTP_CONNS; i++) {
			struct conn *c = &h->conns[i];
			if (c->st == C_FREE || c->deadline > now)
				continue;
			if (c->st == C_READ && c->in_len > 0) {
				static const char slow[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
				                           "Connection: close\r\n\r\n";
				ssize_t w = send(c->fd, slow, sizeof slow - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
				if (w > 0)
					count_code(h, 408);
			}
			if (c->st != C_DRAIN) {
				pthread_mutex_lock(&h->lock);
				h->stats.timeouts++;
				pthread_mutex_unlock(&h->lock);
			}
			conn_close(c);
		}
		pf[n].fd = h->wake[0];
		pf[n].events = POLLIN;
		map[n++] = -1;
		if (h->accept_paused_until > now)
			wake_at = h->accept_paused_until;
		else if (free_slot(h)) { /* when full, new connections wait in the backlog */
			pf[n].fd = h->lfd;
			pf[n].events = POLLIN;
			map[n++] = -2;
		}
		for (int i = 0; i < METRICS_HTTP_CONNS; i++) {
			struct conn *c = &h->conns[i];
			if (c->st == C_FREE)
				continue;
			if (c->deadline < wake_at)
				wake_at = c->deadline;
			pf[n].fd = c->fd;
			pf[n].events = c->st == C_WRITE ? POLLOUT : POLLIN;
			map[n++] = i;
		}
		int timeout = wake_at == UINT64_MAX ? -1 : (int)(wake_at - now) + 1;
		int rv = poll(pf, n, timeout);
		if (rv < 0) {
			if (errno == EINTR)
				continue;
			log_error("metrics: poll: %s; the metrics endpoint stops", strerror(errno));
			return NULL;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (!pf[k].revents)
				continue;
			if (map[k] == -1)
				return NULL; /* metrics_http_close */
			if (map[k] == -2)
				continue; /* below, once the connections have freed their slots */
			struct conn *c = &h->conns[map[k]];
			if (c->st == C_READ)
				conn_read(h, c);
			if (c->st == C_WRITE)
				conn_write(c); /* try at once: usually the answer fits the socket buffer */
			else if (c->st == C_DRAIN)
				conn_drain(c);
		}
		if (n > 1 && pf[1].fd == h->lfd && pf[1].revents)
			accept_some(h);
	}
}

int metrics_http_open(struct metrics_http **out, const char *addr, metrics_http_page_fn page, void *arg,
                      char *err, size_t errlen)
{
	struct metrics_http *h;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int one = 1, rv;

	*out = NULL;
	if ((rv = metrics_http_addr_parse(addr, &ss, &sslen, err, errlen)) != 0)
		return rv;
	if (!(h = calloc(1, sizeof *h)))
		return AM_ENOMEM;
	h->lfd = h->wake[0] = h->wake[1] = h->reserve = -1;
	for (unsigned i = 0; i < METRICS_HTTP_CONNS; i++)
		h->conns[i].fd = -1;
	h->page = page;
	h->arg = arg;
	pthread_mutex_init(&h->lock, NULL);
	rv = AM_EIO;
	if ((h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "metrics: socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss.ss_family == AF_INET6)
		setsockopt(h->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(h->lfd, (struct sockaddr *)&ss, sslen) != 0 || listen(h->lfd, 64) != 0) {
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	if (getsockname(h->lfd, (struct sockaddr *)&bound, &blen) == 0)
		h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
		                                            : ((struct sockaddr_in *)&bound)->sin_port);
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    (h->reserve = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "metrics: %s", strerror(errno));
		goto fail;
	}
	if ((errno = pthread_create(&h->thread, NULL, loop_main, h)) != 0) {
		snprintf(err, errlen, "metrics: cannot start thread: %s", strerror(errno));
		goto fail;
	}
	h->started = true;
	*out = h;
	return 0;
fail:
	metrics_http_close(h);
	return rv;
}

unsigned metrics_http_port(const struct metrics_http *h)
{
	return h->port;
}

void metrics_http_stats(struct metrics_http *h, struct metrics_http_stats *st)
{
	pthread_mutex_lock(&h->lock);
	*st = h->stats;
	pthread_mutex_unlock(&h->lock);
}

void metrics_http_close(struct metrics_http *h)
{
	if (!h)
		return;
	if (h->started) {
		ssize_t n = write(h->wake[1], "x", 1);
		(void)n; /* the pipe is empty: cannot fail short of EBADF */
		pthread_join(h->thread, NULL);
	}
	for (unsigned i = 0; i < METRICS_HTTP_CONNS; i++)
		if (h->conns[i].st != C_FREE)
			conn_close(&h->conns[i]);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	if (h->reserve >= 0)
		close(h->reserve);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

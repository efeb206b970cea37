/* test_metrics_http.c - the metrics responder through real loopback sockets:
 * answers, hostile and malformed requests, slow clients, floods, EMFILE. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpreq.h"
#include "metrics_http.h"
#include "model.h"

#define PAGE "# HELP amesh_test A test.\n# TYPE amesh_test gauge\namesh_test 1\n"

static int page_calls;
static int page_fails;

static int page(void *arg, char **text, size_t *len)
{
	(void)arg;
	page_calls++;
	if (page_fails)
		return -1;
	*text = strdup(PAGE);
	*len = strlen(PAGE);
	return *text ? 0 : -1;
}

/* Ports from the pid, as the integration tests do, below theirs and below
 * the ephemeral range; the next one if taken. */
static struct metrics_http *start(void)
{
	struct metrics_http *h = NULL;
	char addr[32], err[AM_ERRLEN];
	for (int i = 0; i < 20; i++) {
		snprintf(addr, sizeof addr, "127.0.0.1:%d", 10000 + (getpid() % 490) * 4 + i);
		if (metrics_http_open(&h, addr, page, NULL, err, sizeof err) == 0)
			return h;
	}
	fail_msg("cannot start: %s", err);
	return NULL;
}

static int dial(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the server may close on us mid-request: that is allowed */
		buf += n;
		len -= (size_t)n;
	}
}

/* Everything the server sends until it closes (10 s at most). */
static char *read_all(int fd)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	assert_non_null(buf);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			fail_msg("no answer within 10 s");
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0)
			break; /* EOF, or a reset after the answer */
		len += (size_t)n;
		assert_true(len < cap);
	}
	buf[len] = '\0';
	return buf;
}

static char *exchange(unsigned port, const char *req, size_t len)
{
	int fd = dial(port);
	send_all(fd, req, len);
	char *r = read_all(fd);
	close(fd);
	return r;
}

static int status_of(const char *resp)
{
	int code = 0;
	if (sscanf(resp, "HTTP/1.1 %d ", &code) != 1)
		return -1;
	return code;
}

static uint64_t responses(struct metrics_http *h, int code)
{
	struct metrics_http_stats st;
	metrics_http_stats(h, &st);
	for (unsigned i = 0; i < METRICS_HTTP_CODES; i++)
		if (metrics_http_codes[i] == code)
			return st.responses[i];
	return 0;
}

static void test_get_metrics(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	char *r = exchange(metrics_http_port(h), req, sizeof req - 1);
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "\r\nConnection: close\r\n"));
	char want[64];
	snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n", strlen(PAGE));
	assert_non_null(strstr(r, want));
	assert_string_equal(strstr(r, "\r\n\r\n") + 4, PAGE);
	free(r);

	static const char head[] = "HEAD /metrics?x=1 HTTP/1.0\r\n\r\n";
	r = exchange(metrics_http_port(h), head, sizeof head - 1);
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, want)); /* the length of what GET would send */
	assert_string_equal(strstr(r, "\r\n\r\n") + 4, "");
	free(r);
	assert_int_equal(responses(h, 200), 2);
	metrics_http_close(h);
}

/* The kind of request that crashes NNG 1.5.2's HTTP server (%XX escapes),
 * and its relatives: each gets its status and the server keeps serving. */
static void test_hostile_requests_answered(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	unsigned port = metrics_http_port(h);
	static const struct {
		const char *req;
		size_t len;
		int status;
	} rows[] = {
#define R(s, code) {s, sizeof s - 1, code}
		R("GET /%6detrics HTTP/1.1\r\nHost: x\r\n\r\n", 404),
		R("GET /%zz%%%00%ff HTTP/1.1\r\nHost: x\r\n\r\n", 404),
		R("GET /metrics/../metrics HTTP/1.1\r\nHost: x\r\n\r\n", 404),
		R("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404),
		R("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd", 405),
		R("GET /metrics HTTP/1.1\r\n\r\n", 400),
		R("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400), /* a TLS ClientHello */
		R("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 400),
		R("GET /metrics HTTP/3.0\r\nHost: x\r\n\r\n", 505),
		R("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400),
#undef R
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		char *r = exchange(port, rows[i].req, rows[i].len);
		if (status_of(r) != rows[i].status)
			fail_msg("row %zu: got `%.40s', want %d", i, r, rows[i].status);
		if (rows[i].status == 405)
			assert_non_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
		free(r);
	}
	static const char ok[] = "GET /metrics HTTP/1.0\r\n\r\n";
	char *r = exchange(port, ok, sizeof ok - 1);
	assert_int_equal(status_of(r), 200);
	free(r);
	assert_int_equal(responses(h, 404), 4);
	assert_int_equal(responses(h, 400), 4);
	metrics_http_close(h);
}

/* An oversized head is answered 431 although the client is still sending:
 * the server drains instead of resetting, so the answer arrives. */
static void test_oversized_requests(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	unsigned port = metrics_http_port(h);
	size_t big = 256 * 1024;
	char *buf = malloc(big);
	assert_non_null(buf);

	int n = snprintf(buf, big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Fill: ");
	memset(buf + n, 'a', big - (size_t)n);
	char *r = exchange(port, buf, big);
	assert_int_equal(status_of(r), 431);
	free(r);

	n = snprintf(buf, big, "GET /");
	memset(buf + n, 'a', big - (size_t)n);
	r = exchange(port, buf, big);
	assert_int_equal(status_of(r), 414);
	free(r);

	/* a body after a good head is never read, and does not spoil the answer */
	n = snprintf(buf, big, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n");
	memset(buf + n, 'b', big - (size_t)n);
	r = exchange(port, buf, big);
	assert_int_equal(status_of(r), 200);
	free(r);
	free(buf);
	metrics_http_close(h);
}

static void test_page_failure_is_500(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	page_fails = 1;
	char *r = exchange(metrics_http_port(h), req, sizeof req - 1);
	page_fails = 0;
	assert_int_equal(status_of(r), 500);
	free(r);
	metrics_http_close(h);
}

/* Slow clients hold a slot for METRICS_HTTP_TIMEOUT_MS at most, and while
 * they do, others are served; when every slot is taken, a scrape waits in
 * the backlog and is answered once the hogs are dropped. */
static void test_slow_clients_and_full_slots(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	unsigned port = metrics_http_port(h);
	int idle[METRICS_HTTP_CONNS];
	static const char ok[] = "GET /metrics HTTP/1.0\r\n\r\n";

	idle[0] = dial(port);
	send_all(idle[0], "GET /met", 8); /* and then nothing */
	for (int i = 1; i < METRICS_HTTP_CONNS - 1; i++)
		idle[i] = dial(port); /* connect, never send */
	char *r = exchange(port, ok, sizeof ok - 1); /* the last free slot */
	assert_int_equal(status_of(r), 200);
	free(r);

	idle[METRICS_HTTP_CONNS - 1] = dial(port);
	usleep(200 * 1000); /* let the server accept it into the last slot */
	int waiting = dial(port); /* queued in the backlog */
	send_all(waiting, ok, sizeof ok - 1);
	r = read_all(waiting);
	assert_int_equal(status_of(r), 200);
	free(r);
	close(waiting);

	/* by then the half-sent request was answered 408, the silent ones closed */
	r = read_all(idle[0]);
	assert_int_equal(status_of(r), 408);
	free(r);
	for (int i = 1; i < METRICS_HTTP_CONNS; i++) {
		r = read_all(idle[i]);
		assert_string_equal(r, "");
		free(r);
		close(idle[i]);
	}
	close(idle[0]);

	struct metrics_http_stats st;
	metrics_http_stats(h, &st);
	assert_int_equal(st.timeouts, METRICS_HTTP_CONNS);
	assert_int_equal(responses(h, 408), 1);
	assert_int_equal(responses(h, 200), 2);
	metrics_http_close(h);
}

/* Connections that vanish at every stage: before sending, mid-head, with a
 * reset, before reading the answer. None of it stops the server. */
static void test_connection_storm(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	unsigned port = metrics_http_port(h);
	static const char ok[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct linger rst = {.l_onoff = 1, .l_linger = 0};

	for (int i = 0; i < 300; i++) {
		int fd = dial(port);
		switch (i % 4) {
		case 0: break;
		case 1: send_all(fd, ok, 10); break;
		case 2: setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst); send_all(fd, ok, 20); break;
		case 3: send_all(fd, ok, sizeof ok - 1); break; /* and never read */
		}
		close(fd);
	}
	char *r = exchange(port, ok, sizeof ok - 1);
	assert_int_equal(status_of(r), 200);
	free(r);
	metrics_http_close(h);
}

/* Out of descriptors: the waiting connection is taken off the queue with
 * the reserve descriptor (no busy loop on a readable listener), counted,
 * and the server recovers when descriptors are back. */
static void test_out_of_descriptors(void **state)
{
	(void)state;
	struct metrics_http *h = start();
	unsigned port = metrics_http_port(h);
	struct rlimit old, low;
	static const char ok[] = "GET /metrics HTTP/1.0\r\n\r\n";

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* The limit goes just above the client's socket, so the client can
	 * connect and the server's accept finds no descriptor. */
	int next = dup(0);
	assert_true(next >= 0);
	close(next);
	low = old;
	low.rlim_cur = (rlim_t)next + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int probe = dial(port);
	assert_int_equal(probe, next);
	send_all(probe, ok, sizeof ok - 1);
	char *r = read_all(probe);
	assert_string_equal(r, ""); /* taken off the queue and closed */
	free(r);
	close(probe);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	struct metrics_http_stats st;
	metrics_http_stats(h, &st);
	assert_true(st.accept_errors >= 1);

	usleep(300 * 1000); /* past the accept pause */
	r = exchange(port, ok, sizeof ok - 1);
	assert_int_equal(status_of(r), 200);
	free(r);
	metrics_http_close(h);
}

static void test_addresses(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	char why[AM_ERRLEN];
	static const char *const good[] = {"9464", "127.0.0.1:9464", "0.0.0.0:1", "[::1]:9464", "[::]:65535"};
	static const char *const bad[] = {"", ":9464", "localhost:9464", "127.0.0.1", "127.0.0.1:0",
	                                  "127.0.0.1:65536", "::1:9464", "[::1]", "1.2.3.4:9x",
	                                  "127.0.0.1:094640", "tcp://127.0.0.1:9464",
	                                  "0123456789012345678901234567890123456789012345678901234567890123:1"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		if (metrics_http_addr_parse(good[i], &ss, &len, why, sizeof why) != 0)
			fail_msg("`%s' refused: %s", good[i], why);
	assert_int_equal(metrics_http_addr_parse("9464", &ss, &len, why, sizeof why), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (metrics_http_addr_parse(bad[i], &ss, &len, why, sizeof why) != AM_EINVAL)
			fail_msg("`%s' accepted", bad[i]);
	assert_int_equal(metrics_http_addr_parse("localhost:9464", &ss, &len, why, sizeof why), AM_EINVAL);
	assert_non_null(strstr(why, "`localhost:9464'"));

	/* a port already taken is a clear error, not a silent second server */
	struct metrics_http *h = start(), *h2 = NULL;
	char addr[32], err[AM_ERRLEN];
	snprintf(addr, sizeof addr, "127.0.0.1:%u", metrics_http_port(h));
	assert_int_equal(metrics_http_open(&h2, addr, page, NULL, err, sizeof err), AM_EIO);
	assert_null(h2);
	assert_non_null(strstr(err, "Address already in use"));
	metrics_http_close(h);
	metrics_http_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_metrics),
		cmocka_unit_test(test_hostile_requests_answered),
		cmocka_unit_test(test_oversized_requests),
		cmocka_unit_test(test_page_failure_is_500),
		cmocka_unit_test(test_slow_clients_and_full_slots),
		cmocka_unit_test(test_connection_storm),
		cmocka_unit_test(test_out_of_descriptors),
		cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pipelimit.c - strangers' pipes on a real NNG listener: bounded per
 * address and in all, reaped when they do not authenticate, kept when
 * they do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nnglisten.h"
#include "pipelimit.h"

struct srv {
	nng_socket sock;
	pthread_t thread;
	struct nnglisten *nl;
	struct pipelimit *pl;
	int port;
};

/* Answers every request; a request "auth" marks its pipe authenticated. */
static void *srv_main(void *arg)
{
	struct srv *s = arg;
	nng_msg *m;
	while (nng_recvmsg(s->sock, &m, 0) == 0) {
		if (nng_msg_len(m) == 5 && memcmp(nng_msg_body(m), "auth", 5) == 0)
			pipelimit_authed(s->pl, nng_msg_get_pipe(m));
		if (nng_sendmsg(s->sock, m, 0) != 0)
			nng_msg_free(m);
	}
	return NULL;
}

static void srv_start(struct srv *s, unsigned unauth_ms)
{
	char url[64], err[256];
	s->port = 7000 + (getpid() % 400) * 7 + 5; /* below the ephemeral range */
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", s->port);
	assert_int_equal(pipelimit_new(&s->pl, unauth_ms), 0);
	assert_int_equal(nng_rep0_open(&s->sock), 0);
	assert_int_equal(nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipelimit_removed, s->pl), 0);
	struct nnglisten_opts o = {.name = "test", .peer_proto = NNG_REQ0_SELF, .admit = pipelimit_admit,
	                           .arg = s->pl};
	assert_int_equal(nnglisten_open(&s->nl, NULL, s->sock, url, &o, err, sizeof err), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
	pipelimit_stop(s->pl);
	nnglisten_stop(s->nl);
	nng_close(s->sock);
	pthread_join(s->thread, NULL);
	nnglisten_free(s->nl);
	pipelimit_free(s->pl);
}

/* A stranger: negotiates as req0 and then says nothing. */
static int stranger(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	uint8_t hdr[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0}, theirs[8];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || write(fd, hdr, 8) != 8 ||
	    read(fd, theirs, 8) != 8) {
		close(fd);
		return -1;
	}
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls the limiter's counters until pred holds, for up to ms: the server
 * acts on its own threads, late on two loaded cores, so no fixed pause is
 * long enough. False when the time ran out. */
static bool stats_within(struct pipelimit *pl, int ms, bool (*pred)(const struct pipelimit_stats *),
                         struct pipelimit_stats *st)
{
	uint64_t until = now_ms() + (uint64_t)ms;
	do {
		pipelimit_stats(pl, st);
		if (pred(st))
			return true;
		usleep(5000);
	} while (now_ms() < until);
	return false;
}

static bool no_pipes(const struct pipelimit_stats *st)
{
	return st->pipes == 0;
}

static bool refused_the_extra(const struct pipelimit_stats *st)
{
	return st->refused_addr >= 10 - PIPELIMIT_UNAUTH_PER_ADDR;
}

static bool woke(const struct pipelimit_stats *st)
{
	return st->wakes >= 1;
}

/* True when the server closed fd within ms. */
static bool closed_within(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	uint8_t b;
	return poll(&pfd, 1, ms) == 1 && read(fd, &b, 1) <= 0;
}

static void test_strangers_bounded_per_address(void **state)
{
	struct srv s;
	int fds[10], open_ = 0;
	struct pipelimit_stats st;
	(void)state;

	srv_start(&s, 60000);
	for (int i = 0; i < 10; i++)
		fds[i] = stranger(s.port);
	assert_true(stats_within(s.pl, 5000, refused_the_extra, &st));
	/* the refused ones' closes follow their count; wait for them too */
	uint64_t until = now_ms() + 5000;
	for (;;) {
		open_ = 0;
		for (int i = 0; i < 10; i++)
			open_ += fds[i] >= 0 && !closed_within(fds[i], 0);
		if (open_ <= PIPELIMIT_UNAUTH_PER_ADDR || now_ms() >= until)
			break;
		usleep(10000);
	}
	assert_int_equal(open_, PIPELIMIT_UNAUTH_PER_ADDR);
	pipelimit_stats(s.pl, &st);
	assert_int_equal(st.unauth, PIPELIMIT_UNAUTH_PER_ADDR);
	assert_true(st.refused_addr >= 10 - PIPELIMIT_UNAUTH_PER_ADDR);
	for (int i = 0; i < 10; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	assert_true(stats_within(s.pl, 5000, no_pipes, &st)); /* closes are seen (REM_POST) */
	srv_stop(&s);
}

static void test_unauthenticated_pipes_are_reaped(void **state)
{
	struct srv s;
	struct pipelimit_stats st;
	(void)state;

	srv_start(&s, 600);
	int fd = stranger(s.port);
	assert_true(fd >= 0);
	assert_false(closed_within(fd, 300));
	assert_true(closed_within(fd, 3000));
	close(fd);
	pipelimit_stats(s.pl, &st);
	assert_int_equal(st.reaped, 1);
	srv_stop(&s);
}

static void test_authenticated_pipe_survives_and_frees_its_slot(void **state)
{
	struct srv s;
	nng_socket c;
	char url[64], buf[8];
	size_t len = sizeof buf;
	struct pipelimit_stats st;
	(void)state;

	srv_start(&s, 600);
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", s.port);
	assert_int_equal(nng_req0_open(&c), 0);
	nng_socket_set_ms(c, NNG_OPT_RECVTIMEO, 2000);
	assert_int_equal(nng_dial(c, url, NULL, 0), 0);
	assert_int_equal(nng_send(c, "auth", 5, 0), 0);
	assert_int_equal(nng_recv(c, buf, &len, 0), 0);
	/* strangers from the same address still get their own quota */
	int fds[PIPELIMIT_UNAUTH_PER_ADDR];
	for (int i = 0; i < PIPELIMIT_UNAUTH_PER_ADDR; i++)
		fds[i] = stranger(s.port);
	usleep(1500000); /* past the reaper's deadline */
	for (int i = 0; i < PIPELIMIT_UNAUTH_PER_ADDR; i++) {
		assert_true(fds[i] >= 0);
		assert_true(closed_within(fds[i], 2000));
		close(fds[i]);
	}
	len = sizeof buf;
	assert_int_equal(nng_send(c, "ping", 5, 0), 0);
	assert_int_equal(nng_recv(c, buf, &len, 0), 0); /* same pipe, never reaped */
	pipelimit_stats(s.pl, &st);
	assert_int_equal(st.pipes, 1);
	assert_int_equal(st.unauth, 0);
	nng_close(c);
	srv_stop(&s);
}

/* The reaper sleeps until a deadline: idle, with no pipe to watch, it
 * does not wake at all after its first pass (it polled every 250 ms:
 * four wakes a second on every daemon, issue 13). A pipe admitted while
 * it sleeps so wakes it: test_unauthenticated_pipes_are_reaped. */
static void test_reaper_sleeps_while_nothing_is_due(void **state)
{
	struct pipelimit *pl;
	struct pipelimit_stats st;
	(void)state;

	assert_int_equal(pipelimit_new(&pl, 600), 0);
	assert_true(stats_within(pl, 5000, woke, &st)); /* its first pass */
	usleep(1200000);
	pipelimit_stats(pl, &st);
	assert_int_equal(st.wakes, 1);
	pipelimit_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strangers_bounded_per_address),
		cmocka_unit_test(test_unauthenticated_pipes_are_reaped),
		cmocka_unit_test(test_authenticated_pipe_survives_and_frees_its_slot),
		cmocka_unit_test(test_reaper_sleeps_while_nothing_is_due),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

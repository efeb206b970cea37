/* test_listen_guard.c - the guard against plain-socket listeners whose accept
 * loop dies: probes, restarts, no restarts of a healthy listener, removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen_guard.h"
#include "model.h"

/* A hand-written TCP server with the fault we guard against: after `deaf`
 * is set, its accept loop ends while the socket stays bound. */
struct server {
	int fd;
	pthread_t thread;
	bool running;
	bool deaf;                  /* atomic */
	bool stop;                  /* atomic */
	struct sockaddr_in addr;
	struct listen_guard_entry *entry;
	int restarts;
	const uint8_t *greeting;    /* sent to each client, NULL = none */
};

static void *accept_main(void *arg)
{
	struct server *s = arg;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (__atomic_load_n(&s->deaf, __ATOMIC_ACQUIRE))
			return NULL; /* the bug: one error and the loop is gone */
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (s->greeting && write(c, s->greeting, 4) != 4) {
			close(c);
			continue;
		}
		listen_guard_accepted(s->entry);
		close(c);
	}
	return NULL;
}

static int server_start(struct server *s, uint16_t port)
{
	int one = 1;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	s->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port),
	                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(s->fd, (struct sockaddr *)&s->addr, sizeof s->addr) != 0 || listen(s->fd, 16) != 0) {
		close(s->fd);
		return -1;
	}
	socklen_t len = sizeof s->addr;
	getsockname(s->fd, (struct sockaddr *)&s->addr, &len);
	__atomic_store_n(&s->deaf, false, __ATOMIC_RELEASE);
	__atomic_store_n(&s->stop, false, __ATOMIC_RELEASE);
	s->running = pthread_create(&s->thread, NULL, accept_main, s) == 0;
	return s->running ? 0 : -1;
}

static void server_stop(struct server *s)
{
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	if (s->running)
		pthread_join(s->thread, NULL);
	s->running = false;
	close(s->fd);
}

/* What an owner's restart does: close and open again on the same port. */
static int restart(void *arg, char *err, size_t errlen)
{
	struct server *s = arg;
	uint16_t port = ntohs(s->addr.sin_port);
	server_stop(s);
	s->restarts++;
	if (server_start(s, port) != 0) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		return AM_EIO;
	}
	return 0;
}

static bool accepts(struct server *s)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint8_t b[4];
	bool ok = connect(fd, (struct sockaddr *)&s->addr, sizeof s->addr) == 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	/* the server writes its greeting or closes: either means accepted */
	ok = ok && poll(&pfd, 1, 300) == 1 && read(fd, b, sizeof b) >= 0;
	close(fd);
	return ok;
}

static void test_deaf_accept_loop_is_restarted(void **state)
{
	struct listen_guard *g;
	struct server s = {0};
	struct listen_guard_ops ops = {.name = "test listener", .restart = restart};
	(void)state;

	assert_int_equal(listen_guard_open(&g), 0);
	assert_int_equal(server_start(&s, 0), 0);
	assert_int_equal(listen_guard_add(g, &ops, &s, (struct sockaddr *)&s.addr, sizeof s.addr, &s.entry), 0);
	assert_true(accepts(&s));
	__atomic_store_n(&s.deaf, true, __ATOMIC_RELEASE);
	/* its first connection after going deaf is the one that kills the loop */
	accepts(&s);
	usleep(100000);
	assert_false(accepts(&s));
	bool back = false;
	for (int i = 0; i < 100 && !back; i++) {
		usleep(100000);
		back = s.restarts > 0 && accepts(&s);
	}
	assert_true(back);
	assert_int_equal(s.restarts, 1);
	assert_int_equal(listen_guard_restarts(s.entry), 1);
	listen_guard_remove(s.entry);
	server_stop(&s);
	listen_guard_close(g);
}

static void test_idle_healthy_listener_is_left_alone(void **state)
{
	struct listen_guard *g;
	struct server s = {0};
	static const uint8_t hi[4] = "HI!\n";
	struct listen_guard_ops ops = {.name = "test listener", .restart = restart, .answer_len = 4};
	(void)state;

	/* with an opening the probe must read it before it counts */
	s.greeting = hi;
	assert_int_equal(listen_guard_open(&g), 0);
	assert_int_equal(server_start(&s, 0), 0);
	assert_int_equal(listen_guard_add(g, &ops, &s, (struct sockaddr *)&s.addr, sizeof s.addr, &s.entry), 0);
	sleep(4); /* several probe rounds with no traffic */
	assert_int_equal(s.restarts, 0);
	listen_guard_remove(s.entry);
	server_stop(&s);
	listen_guard_close(g);
}

static void test_listener_that_never_greets_is_restarted(void **state)
{
	struct listen_guard *g;
	struct server s = {0};
	/* the probe waits for 4 bytes this server never sends */
	struct listen_guard_ops ops = {.name = "test listener", .restart = restart, .answer_len = 4};
	(void)state;

	assert_int_equal(listen_guard_open(&g), 0);
	assert_int_equal(server_start(&s, 0), 0);
	assert_int_equal(listen_guard_add(g, &ops, &s, (struct sockaddr *)&s.addr, sizeof s.addr, &s.entry), 0);
	for (int i = 0; i < 80 && s.restarts == 0; i++)
		usleep(100000);
	assert_true(s.restarts >= 1);
	listen_guard_remove(s.entry);
	server_stop(&s);
	listen_guard_close(g);
}

static void test_remove_during_probe_and_close_are_prompt(void **state)
{
	struct listen_guard *g;
	struct server s = {0};
	struct listen_guard_ops ops = {.name = "test listener", .restart = restart, .answer_len = 4};
	struct timespec t0, t1;
	(void)state;

	assert_int_equal(listen_guard_open(&g), 0);
	assert_int_equal(server_start(&s, 0), 0);
	assert_int_equal(listen_guard_add(g, &ops, &s, (struct sockaddr *)&s.addr, sizeof s.addr, &s.entry), 0);
	usleep(1200000); /* a probe (that will wait for a greeting) is running */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	listen_guard_remove(s.entry);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* at most one probe's time, and then never again */
	assert_true(t1.tv_sec - t0.tv_sec <= 2 * LISTEN_GUARD_PROBE_MS / 1000 + 1);
	int r = s.restarts;
	usleep(1500000);
	assert_int_equal(s.restarts, r);
	server_stop(&s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	listen_guard_close(g);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec <= 1);
	/* a NULL guard makes every call a no-op */
	struct listen_guard_entry *e;
	assert_int_equal(listen_guard_add(NULL, &ops, &s, (struct sockaddr *)&s.addr, sizeof s.addr, &e), 0);
	assert_null(e);
	listen_guard_accepted(e);
	listen_guard_remove(e);
	listen_guard_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deaf_accept_loop_is_restarted),
		cmocka_unit_test(test_idle_healthy_listener_is_left_alone),
		cmocka_unit_test(test_listener_that_never_greets_is_restarted),
		cmocka_unit_test(test_remove_during_probe_and_close_are_prompt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

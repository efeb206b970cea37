/* test_nnglisten.c - NNG listeners under the guard, against the exact
 * connection faults of nng#1518: connect()+close() on ipc, FIN then RST on
 * tcp, once and in storms, each followed by honest requests. */
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
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nnglisten.h"

struct echo {
	nng_socket sock;
	pthread_t thread;
	struct nnglisten *nl;
	char url[128];
};

/* A rep0 server that echoes, on a thread, until its socket closes. */
static void *echo_main(void *arg)
{
	struct echo *e = arg;
	nng_msg *m;
	while (nng_recvmsg(e->sock, &m, 0) == 0)
		if (nng_sendmsg(e->sock, m, 0) != 0)
			nng_msg_free(m);
	return NULL;
}

static void echo_start(struct echo *e, struct listen_guard *g, const char *url)
{
	char err[256];
	struct nnglisten_opts o = {.name = "test listener", .peer_proto = NNG_REQ0_SELF};
	snprintf(e->url, sizeof e->url, "%s", url);
	assert_int_equal(nng_rep0_open(&e->sock), 0);
	assert_int_equal(nnglisten_open(&e->nl, g, e->sock, url, &o, err, sizeof err), 0);
	assert_int_equal(pthread_create(&e->thread, NULL, echo_main, e), 0);
}

static void echo_stop(struct echo *e)
{
	nnglisten_stop(e->nl);
	nng_close(e->sock); /* ends echo_main's receive */
	pthread_join(e->thread, NULL);
	nnglisten_free(e->nl);
}

/* One honest request with a fresh client; true when answered in time. */
static bool answered(const char *url, int timeout_ms)
{
	nng_socket s;
	char buf[16];
	size_t len = sizeof buf;
	bool ok = false;
	if (nng_req0_open(&s) != 0)
		return false;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, timeout_ms);
	nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 50);
	if (nng_dial(s, url, NULL, 0) == 0 && nng_send(s, "ping", 5, 0) == 0 &&
	    nng_recv(s, buf, &len, 0) == 0)
		ok = len == 5 && strcmp(buf, "ping") == 0;
	nng_close(s);
	return ok;
}

static int poke_connect(const char *url)
{
	if (strncmp(url, "ipc://", 6) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", url + 6);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strrchr(url, ':') + 1)),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The fault: ipc connect()+close(); tcp FIN then RST. */
static void poke(const char *url)
{
	int fd = poke_connect(url);
	if (fd < 0)
		return;
	if (strncmp(url, "tcp://", 6) == 0) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		shutdown(fd, SHUT_WR);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(fd);
}

static void tcp_url(char *out, size_t len, int k)
{
	/* below the ephemeral range and the other tests' ports */
	snprintf(out, len, "tcp://127.0.0.1:%d", 7000 + (getpid() % 400) * 7 + k);
}

static void ipc_url(char *out, size_t len, int k)
{
	snprintf(out, len, "ipc:///tmp/amesh-test-nnglisten.%d.%d", (int)getpid(), k);
}

/* Without the guard, NNG 1.5.2 goes deaf; reported, not asserted: the
 * point of this module is that it does not matter. */
static void test_fault_is_real_without_guard(void **state)
{
	struct echo e;
	char url[128];
	(void)state;

	ipc_url(url, sizeof url, 0);
	echo_start(&e, NULL, url);
	assert_true(answered(url, 2000));
	poke(url);
	usleep(200000);
	bool deaf = !answered(url, 1000);
	print_message("NNG %s: one ipc connect()+close() %s the listener\n", nng_version(),
	              deaf ? "deafened" : "did not deafen");
	echo_stop(&e);
}

static void check_survives(const char *url, int pokes)
{
	struct listen_guard *g;
	struct echo e;

	assert_int_equal(listen_guard_open(&g), 0);
	echo_start(&e, g, url);
	assert_true(answered(url, 2000));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < pokes; i++)
			poke(url);
		/* NNG's req resends the request on the new pipe after a restart:
		 * the answer comes within detection + restart */
		bool ok = false;
		for (int i = 0; i < 3 && !ok; i++)
			ok = answered(url, 8000);
		assert_true(ok);
	}
	print_message("%s: %d x %d faults, %llu listener re-creation(s)\n", url, 3, pokes,
	              (unsigned long long)nnglisten_restarts(e.nl));
	echo_stop(&e);
	listen_guard_close(g);
}

static void test_ipc_connect_close_once(void **state)
{
	char url[128];
	(void)state;
	ipc_url(url, sizeof url, 1);
	check_survives(url, 1);
}

static void test_tcp_fin_rst_once(void **state)
{
	char url[128];
	(void)state;
	tcp_url(url, sizeof url, 1);
	check_survives(url, 1);
}

static void test_ipc_storm(void **state)
{
	char url[128];
	(void)state;
	ipc_url(url, sizeof url, 2);
	check_survives(url, 200);
}

static void test_tcp_storm(void **state)
{
	char url[128];
	(void)state;
	tcp_url(url, sizeof url, 2);
	check_survives(url, 200);
}

/* Stop and free with the guard possibly mid-restart: no hang, no crash. */
static void test_stop_races_restart(void **state)
{
	char url[128];
	(void)state;
	ipc_url(url, sizeof url, 3);
	for (int i = 0; i < 5; i++) {
		struct listen_guard *g;
		struct echo e;
		assert_int_equal(listen_guard_open(&g), 0);
		echo_start(&e, g, url);
		poke(url);
		usleep((useconds_t)(i * 900000));
		echo_stop(&e);
		listen_guard_close(g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_is_real_without_guard),
		cmocka_unit_test(test_ipc_connect_close_once),
		cmocka_unit_test(test_tcp_fin_rst_once),
		cmocka_unit_test(test_ipc_storm),
		cmocka_unit_test(test_tcp_storm),
		cmocka_unit_test(test_stop_races_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

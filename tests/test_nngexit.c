/* test_nngexit.c - leaving NNG sockets to the kernel at exit (nngexit.h).
 *
 * The wedge of nng#1636 needs a pipe closed from our side while a message
 * arrives on it. Each child here is a fresh process (NNG does not survive
 * fork, so the test binary re-executes itself with --child) that serves a
 * rep0 socket to req0 clients streaming 16 KiB requests and answers of the
 * same size, then leaves the way ameshd does: nngexit_begin(), the close,
 * exit. Every child must be gone within 5 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nngexit.h"

#define CHILDREN 30
#define MSG_LEN 16384

static char url[128];
static bool stop; /* atomic */

static void *server(void *arg)
{
	nng_socket s = *(nng_socket *)arg;
	for (;;) {
		nng_msg *m;
		int rv = nng_recvmsg(s, &m, 0);
		if (rv == NNG_ECLOSED)
			return NULL;
		if (rv == 0 && nng_sendmsg(s, m, 0) != 0)
			nng_msg_free(m);
	}
}

static void *streamer(void *arg)
{
	static char body[MSG_LEN];
	(void)arg;
	nng_socket s;
	if (nng_req0_open(&s) != 0 || nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 50) != 0 ||
	    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 50) != 0 || nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK) != 0)
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		char *reply = NULL;
		size_t n;
		if (nng_send(s, body, sizeof body, 0) == 0 && nng_recv(s, &reply, &n, NNG_FLAG_ALLOC) == 0)
			nng_free(reply, n);
	}
	return NULL; /* the process ends with the socket open, as amesh does on a timeout */
}

/* One child: serve streaming clients, then leave as ameshd does. */
static int child(const char *path, int delay_ms)
{
	nng_socket s;
	pthread_t srv, cl[3];
	snprintf(url, sizeof url, "ipc://%s", path);
	if (nng_rep0_open(&s) != 0 || nng_listen(s, url, NULL, 0) != 0)
		return 3;
	pthread_create(&srv, NULL, server, &s);
	for (int i = 0; i < 3; i++)
		pthread_create(&cl[i], NULL, streamer, NULL);
	usleep((useconds_t)delay_ms * 1000);
	nngexit_begin();
	nngexit_close(s);
	/* left open: the socket still serves (a closed one would say ECLOSED) */
	if (nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10) != 0)
		return 4;
	return 0; /* exit() while messages still stream both ways */
}

static void test_close_closes_while_living(void **state)
{
	(void)state;
	nng_socket s;
	assert_false(nngexit_leaving());
	assert_int_equal(nng_rep0_open(&s), 0);
	nngexit_close(s);
	assert_int_equal(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10), NNG_ECLOSED);
}

static void test_exit_while_messages_stream_never_hangs(void **state)
{
	(void)state;
	char path[96];
	int slow = 0;
	snprintf(path, sizeof path, "/tmp/amesh-nngexit-%d.sock", (int)getpid());
	for (int i = 0; i < CHILDREN; i++) {
		char delay[16];
		snprintf(delay, sizeof delay, "%d", 20 + (i * 7) % 40);
		unlink(path);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			execl("/proc/self/exe", "test_nngexit", "--child", path, delay, (char *)NULL);
			_exit(127);
		}
		int status = 0;
		bool gone = false;
		for (int t = 0; t < 500 && !gone; t++) { /* 5 s */
			if (waitpid(pid, &status, WNOHANG) == pid)
				gone = true;
			else
				usleep(10000);
		}
		if (!gone) {
			slow++;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			continue;
		}
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	unlink(path);
	print_message("%d children left while 16 KiB messages streamed; %d still running after 5 s\n",
	              CHILDREN, slow);
	assert_int_equal(slow, 0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--child") == 0)
		return child(argv[2], atoi(argv[3]));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_closes_while_living),
		cmocka_unit_test(test_exit_while_messages_stream_never_hangs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

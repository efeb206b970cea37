/* test_client.c - the control client's SP framing against NNG's own rep0 and against scripted raw servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "wire.h"

static char dir[64];
static char sock_path[128], url[160];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/amesh-test-client.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof sock_path, "%s/s.sock", dir);
	snprintf(url, sizeof url, "ipc://%s", sock_path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	return rmdir(dir);
}

/* The reply a request gets: an error status with the request's domain as
 * its message, so a test sees which request a reply answers. */
static nng_msg *reply_for(nng_msg *req)
{
	struct wire_request r;
	struct wire_response resp;
	char err[AM_ERRLEN];
	uint8_t *buf;
	size_t len;
	nng_msg *m;

	if (wire_request_unpack(nng_msg_body(req), nng_msg_len(req), &r, err, sizeof err) != 0) {
		fprintf(stderr, "serve: %s (%zu bytes)\n", err, nng_msg_len(req));
		abort();
	}
	memset(&resp, 0, sizeof resp);
	resp.protocol = AM_CONTROL_PROTOCOL;
	resp.op = r.op;
	resp.status = AM_ENOTFOUND;
	snprintf(resp.error, sizeof resp.error, "%.200s", r.domain);
	wire_request_clear(&r);
	assert_int_equal(wire_response_pack(&resp, &buf, &len), 0);
	assert_int_equal(nng_msg_alloc(&m, len), 0);
	memcpy(nng_msg_body(m), buf, len);
	free(buf);
	return m;
}

struct rep_server {
	nng_socket s;
	int answers;   /* requests to answer, then return */
	bool reverse;  /* take two, answer the second first */
};

static void *serve(void *arg)
{
	struct rep_server *rs = arg;
	nng_ctx ctx[2];
	nng_aio *aio[2];

	for (int i = 0; i < 2; i++) {
		assert_int_equal(nng_ctx_open(&ctx[i], rs->s), 0);
		assert_int_equal(nng_aio_alloc(&aio[i], NULL, NULL), 0);
	}
	for (int n = 0; n < rs->answers; n += rs->reverse ? 2 : 1) {
		int k = rs->reverse ? 2 : 1;
		for (int i = 0; i < k; i++) {
			nng_ctx_recv(ctx[i], aio[i]);
			nng_aio_wait(aio[i]);
			assert_int_equal(nng_aio_result(aio[i]), 0);
		}
		for (int i = k - 1; i >= 0; i--) {
			nng_msg *req = nng_aio_get_msg(aio[i]);
			nng_aio_set_msg(aio[i], reply_for(req));
			nng_msg_free(req);
			nng_ctx_send(ctx[i], aio[i]);
			nng_aio_wait(aio[i]);
			assert_int_equal(nng_aio_result(aio[i]), 0);
		}
	}
	for (int i = 0; i < 2; i++) {
		nng_aio_free(aio[i]);
		nng_ctx_close(ctx[i]);
	}
	return NULL;
}

static void call_named(struct client *c, const char *name)
{
	struct wire_request req = {.op = WIRE_OP_SUBMIT, .category = AM_CAT_SPAM};
	struct wire_response resp;
	char err[AM_ERRLEN];

	snprintf(req.domain, sizeof req.domain, "%s", name);
	if (client_call(c, &req, &resp, err, sizeof err) != 0)
		fail_msg("call: %s", err);
	assert_int_equal(resp.status, AM_ENOTFOUND);
	assert_string_equal(resp.error, name);
	wire_response_clear(&resp);
}

/* NNG's rep0 on the other end, as the daemon serves: calls one after
 * another, and two pipelined requests answered in the opposite order -
 * each slot gets its own reply, by request id. */
static void test_talks_to_nng_rep0(void **state)
{
	struct rep_server rs = {.answers = 3};
	struct client *c;
	char err[AM_ERRLEN];
	pthread_t t;

	(void)state;
	assert_int_equal(nng_rep0_open(&rs.s), 0);
	assert_int_equal(nng_listen(rs.s, url, NULL, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, serve, &rs), 0);
	assert_int_equal(client_open(&c, sock_path, err, sizeof err), 0);
	call_named(c, "one.example");
	call_named(c, "two.example");
	call_named(c, "three.example");
	pthread_join(t, NULL);

	rs.answers = 2;
	rs.reverse = true;
	assert_int_equal(pthread_create(&t, NULL, serve, &rs), 0);
	struct wire_request a = {.op = WIRE_OP_SUBMIT, .category = AM_CAT_SPAM},
	                    b = {.op = WIRE_OP_WITHDRAW, .category = AM_CAT_SPAM};
	struct wire_response ra, rb;
	strcpy(a.domain, "first.example");
	strcpy(b.domain, "second.example");
	assert_int_equal(client_send(c, 0, &a, err, sizeof err), 0);
	assert_int_equal(client_send(c, 1, &b, err, sizeof err), 0);
	assert_int_equal(client_send(c, 1, &b, err, sizeof err), AM_EINVAL); /* slot 1 is busy */
	assert_int_equal(client_recv(c, 0, &ra, err, sizeof err), 0);
	assert_int_equal(client_recv(c, 1, &rb, err, sizeof err), 0);
	assert_string_equal(ra.error, "first.example");
	assert_string_equal(rb.error, "second.example");
	wire_response_clear(&ra);
	wire_response_clear(&rb);
	pthread_join(t, NULL);
	client_close(c);
	nng_close(rs.s);
}

/* Something else on the path: no daemon, a socket nobody listens on, an
 * NNG socket of another protocol - each refused with what it was. */
static void test_refuses_what_is_not_a_daemon(void **state)
{
	struct client *c = (struct client *)1;
	char err[AM_ERRLEN];
	nng_socket s;

	(void)state;
	assert_int_equal(client_open(&c, sock_path, err, sizeof err), AM_ECONNECT);
	assert_null(c);
	assert_non_null(strstr(err, "the control socket does not exist"));

	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(client_open(&c, sock_path, err, sizeof err), AM_ECONNECT);
	assert_non_null(strstr(err, "nothing listens on it"));
	close(fd);
	unlink(sock_path);

	assert_int_equal(nng_pull0_open(&s), 0);
	assert_int_equal(nng_listen(s, url, NULL, 0), 0);
	assert_int_equal(client_open(&c, sock_path, err, sizeof err), AM_EPROTO);
	assert_null(c);
	assert_non_null(strstr(err, "not rep0"));
	nng_close(s);
	unlink(sock_path);
}

/* A scripted server on a socketpair: its handshake, then raw bytes. */
static struct client *scripted(int *srv, const uint8_t *hs)
{
	static const uint8_t rep0[CLIENT_HANDSHAKE] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
	struct client *c;
	char err[AM_ERRLEN];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], hs ? hs : rep0, CLIENT_HANDSHAKE), CLIENT_HANDSHAKE);
	int rv = client_open_fd(&c, sv[0], "scripted", err, sizeof err);
	*srv = sv[1];
	if (hs) {
		assert_int_equal(rv, AM_EPROTO);
		assert_non_null(strstr(err, "not an SP socket"));
		return NULL;
	}
	assert_int_equal(rv, 0);
	uint8_t got[CLIENT_HANDSHAKE];
	assert_int_equal(read(sv[1], got, sizeof got), CLIENT_HANDSHAKE);
	assert_memory_equal(got, ((uint8_t[]){0, 'S', 'P', 0, 0, 0x30, 0, 0}), CLIENT_HANDSHAKE);
	return c;
}

/* Reads the client's request frame; returns its id bytes in id. */
static void read_request(int srv, uint8_t id[4])
{
	uint8_t hdr[CLIENT_FRAME_HDR], body[4096];
	uint64_t len = 0;
	assert_int_equal(read(srv, hdr, sizeof hdr), CLIENT_FRAME_HDR);
	assert_int_equal(hdr[0], 1);
	for (int i = 1; i < 9; i++)
		len = len << 8 | hdr[i];
	assert_true(len >= 4 && len <= sizeof body);
	assert_int_equal(read(srv, body, len), (ssize_t)len);
	assert_true(body[0] & 0x80); /* the last hop's id has the top bit set */
	memcpy(id, body, 4);
}

static void write_frame(int srv, const uint8_t id[4], const uint8_t *body, size_t n, uint64_t claim)
{
	uint8_t hdr[CLIENT_FRAME_HDR + 4];
	hdr[0] = 1;
	for (int i = 8; i >= 1; i--, claim >>= 8)
		hdr[i] = (uint8_t)claim;
	memcpy(hdr + 9, id, 4);
	assert_int_equal(write(srv, hdr, sizeof hdr), (ssize_t)sizeof hdr);
	if (n)
		assert_int_equal(write(srv, body, n), (ssize_t)n);
}

static void test_scripted_replies(void **state)
{
	struct wire_request req = {.op = WIRE_OP_STATUS};
	struct wire_response resp, ok;
	char err[AM_ERRLEN];
	uint8_t id[4], other[4], *body;
	size_t n;
	int srv;

	(void)state;
	memset(&ok, 0, sizeof ok);
	ok.protocol = AM_CONTROL_PROTOCOL;
	ok.op = WIRE_OP_STATUS;
	ok.status = AM_ENOTFOUND;
	strcpy(ok.error, "the answer");
	assert_int_equal(wire_response_pack(&ok, &body, &n), 0);

	/* a late reply to another id is dropped; the right one is taken */
	struct client *c = scripted(&srv, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		read_request(srv, id);
		memcpy(other, id, 4);
		other[3] ^= 1;
		write_frame(srv, other, body, n, 4 + n);
		write_frame(srv, id, body, n, 4 + n);
		/* the second request: a frame of another type */
		read_request(srv, id);
		uint8_t bad[CLIENT_FRAME_HDR] = {2, 0, 0, 0, 0, 0, 0, 0, 4};
		(void)!write(srv, bad, sizeof bad);
		_exit(0);
	}
	assert_int_equal(client_call(c, &req, &resp, err, sizeof err), 0);
	assert_string_equal(resp.error, "the answer");
	wire_response_clear(&resp);
	assert_int_equal(client_call(c, &req, &resp, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "frame of type 2"));
	waitpid(pid, NULL, 0);
	client_close(c);
	close(srv);

	/* a claimed length past the cap: refused before anything is read or allocated */
	c = scripted(&srv, NULL);
	assert_int_equal(client_send(c, 0, &req, err, sizeof err), 0);
	read_request(srv, id);
	write_frame(srv, id, NULL, 0, (uint64_t)1 << 40);
	assert_int_equal(client_recv(c, 0, &resp, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "1099511627776 bytes"));
	client_close(c);
	close(srv);

	/* the daemon goes away in the middle of a reply */
	c = scripted(&srv, NULL);
	assert_int_equal(client_send(c, 1, &req, err, sizeof err), 0);
	read_request(srv, id);
	write_frame(srv, id, body, n / 2, 4 + n);
	close(srv);
	assert_int_equal(client_recv(c, 1, &resp, err, sizeof err), AM_ECONNECT);
	assert_non_null(strstr(err, "closed the connection"));
	client_close(c);

	/* not SP at all (an HTTP server, say) */
	assert_null(scripted(&srv, (const uint8_t *)"HTTP/1.1"));
	close(srv);
	free(body);
}

/* A listener that drops the first connection after reading the request -
 * as the daemon does when it re-creates a deaf listener - then answers on
 * the next: the client connects again and sends the same request again,
 * as NNG's req0 did. */
struct dropper {
	int lfd;
	uint8_t ids[2][4];
};

static void *drop_then_answer(void *arg)
{
	static const uint8_t rep0[CLIENT_HANDSHAKE] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
	struct dropper *d = arg;
	uint8_t hs[CLIENT_HANDSHAKE], *body;
	size_t n;
	struct wire_response ok;

	memset(&ok, 0, sizeof ok);
	ok.protocol = AM_CONTROL_PROTOCOL;
	ok.status = AM_ENOTFOUND;
	strcpy(ok.error, "second time");
	assert_int_equal(wire_response_pack(&ok, &body, &n), 0);
	for (int k = 0; k < 2; k++) {
		int fd = accept(d->lfd, NULL, NULL);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, rep0, sizeof rep0), (ssize_t)sizeof rep0);
		assert_int_equal(read(fd, hs, sizeof hs), (ssize_t)sizeof hs);
		read_request(fd, d->ids[k]);
		if (k == 1)
			write_frame(fd, d->ids[k], body, n, 4 + n);
		close(fd);
	}
	free(body);
	return NULL;
}

static void test_reconnects_and_resends_when_the_daemon_drops_it(void **state)
{
	struct dropper d;
	struct client *c;
	struct wire_request req = {.op = WIRE_OP_STATUS};
	struct wire_response resp;
	char err[AM_ERRLEN];
	pthread_t t;

	(void)state;
	d.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(bind(d.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(d.lfd, 4), 0);
	assert_int_equal(pthread_create(&t, NULL, drop_then_answer, &d), 0);
	assert_int_equal(client_open(&c, sock_path, err, sizeof err), 0);
	if (client_call(c, &req, &resp, err, sizeof err) != 0)
		fail_msg("call: %s", err);
	assert_string_equal(resp.error, "second time");
	assert_memory_equal(d.ids[0], d.ids[1], 4); /* the same request, sent again */
	wire_response_clear(&resp);
	pthread_join(t, NULL);
	client_close(c);
	close(d.lfd);
	unlink(sock_path);
}

static void test_frame_and_handshake_checks(void **state)
{
	char err[AM_ERRLEN];
	uint64_t len;

	(void)state;
	uint8_t h[CLIENT_FRAME_HDR] = {1, 0, 0, 0, 0, 0, 0, 0, 4};
	assert_int_equal(client_frame_check(h, &len, err, sizeof err), 0);
	assert_int_equal(len, 4);
	h[8] = 3; /* shorter than a request id */
	assert_int_equal(client_frame_check(h, &len, err, sizeof err), AM_EDECODE);
	assert_int_equal(len, 0);
	uint64_t max = AM_CONTROL_MSG_MAX + 4;
	for (int i = 8; i >= 1; i--, max >>= 8)
		h[i] = (uint8_t)max;
	assert_int_equal(client_frame_check(h, &len, err, sizeof err), 0);
	h[8]++;
	assert_int_equal(client_frame_check(h, &len, err, sizeof err), AM_EDECODE);
	uint8_t hs[CLIENT_HANDSHAKE] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
	assert_int_equal(client_handshake_check(hs, err, sizeof err), 0);
	hs[5] = 0x30; /* another req0 */
	assert_int_equal(client_handshake_check(hs, err, sizeof err), AM_EPROTO);
	assert_non_null(strstr(err, "0x0030"));
	hs[5] = 0x31;
	hs[7] = 1; /* reserved bytes must be zero */
	assert_int_equal(client_handshake_check(hs, err, sizeof err), AM_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_talks_to_nng_rep0),
		cmocka_unit_test(test_refuses_what_is_not_a_daemon),
		cmocka_unit_test(test_scripted_replies),
		cmocka_unit_test(test_reconnects_and_resends_when_the_daemon_drops_it),
		cmocka_unit_test(test_frame_and_handshake_checks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

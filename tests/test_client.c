/* test_client.c - the control client's framing against a scripted server.
 * (Against the daemon's real NNG rep0 server: test_control.c and every
 * integration test.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "wire.h"

/* What the scripted server does after reading the client's header. */
enum script {
	ANSWER,          /* each request answered in order */
	ANSWER_REVERSED, /* reads two requests, answers the second first */
	STRANGER_FIRST,  /* an answer under an id nobody asked, then the real one */
	WRONG_HEADER,    /* greets as req0, not rep0 */
	HTTP,            /* not SP at all */
	OVERSIZED,       /* announces an answer over AM_CONTROL_MSG_MAX */
	BAD_TYPE,        /* frame type 2 */
	CUT,             /* half an answer, closes; answers the request sent again */
	CUT_AND_GONE,    /* half an answer, closes and stops listening */
	BIG_ANSWER,      /* a 2 MiB rpz page: many partial reads */
};

struct server {
	char dir[64], path[128];
	int lfd;
	enum script script;
	pthread_t thread;
	size_t last_request_len; /* of the body, as read */
	uint32_t ids[2];         /* CUT: the request's id on each connection */
	bool joined;
	uint32_t n_names;        /* names in the last query request */
};

static bool read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 10000) != 1)
			return false;
		ssize_t n = read(fd, p, len);
		if (n <= 0)
			return false;
		p += n, len -= (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return false;
		p += n, len -= (size_t)n;
	}
	return true;
}

static void be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Reads one request frame: its id, and its body into *body (caller frees). */
static bool read_request(struct server *s, int fd, uint32_t *id, uint8_t **body, size_t *len)
{
	uint8_t h[13];
	uint64_t n = 0;
	if (!read_full(fd, h, sizeof h) || h[0] != 1)
		return false;
	for (int i = 1; i < 9; i++)
		n = n << 8 | h[i];
	*id = (uint32_t)h[9] << 24 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 8 | h[12];
	if (n < 4 || n > (8u << 20) || (*body = malloc(n)) == NULL)
		return false;
	*len = (size_t)n - 4;
	s->last_request_len = *len;
	return read_full(fd, *body, *len);
}

/* An answer frame carrying id, with status = tag so the test can tell
 * which request it answers; text (may be NULL) as an rpz page. */
static bool answer(int fd, uint32_t id, int32_t tag, const char *text, size_t text_len)
{
	struct wire_response r = {.protocol = AM_CONTROL_PROTOCOL, .status = tag};
	uint8_t h[13], *body;
	size_t len;
	if (text) {
		r.op = WIRE_OP_RPZ;
		r.rpz_text = (char *)text;
		r.rpz_text_len = text_len;
	} else {
		snprintf(r.error, sizeof r.error, "answer %d", tag);
	}
	if (wire_response_pack(&r, &body, &len) != 0)
		return false;
	h[0] = 1;
	be(h + 1, 4 + (uint64_t)len, 8);
	be(h + 9, id, 4);
	bool ok = write_full(fd, h, sizeof h) && write_full(fd, body, len);
	free(body);
	return ok;
}

static const uint8_t rep0_hello[8] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};

/* Accepts the next connection and exchanges SP headers: its fd, or -1. */
static int greet(struct server *s)
{
	uint8_t hello[8];
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	if (!read_full(fd, hello, 8) || memcmp(hello, "\0SP\0\0\x30\0\0", 8) != 0 ||
	    !write_full(fd, rep0_hello, sizeof rep0_hello)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Half an answer to the request on fd, then the end of the connection. */
static bool cut(struct server *s, int fd, uint32_t *id)
{
	uint8_t *body = NULL, h[13] = {1};
	size_t len;
	bool ok = read_request(s, fd, id, &body, &len);
	free(body);
	if (ok) {
		be(h + 1, 4 + 100, 8);
		be(h + 9, *id, 4);
		ok = write_full(fd, h, sizeof h) && write_full(fd, "\x08\x01", 2);
	}
	close(fd);
	return ok;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	uint8_t hello[8];
	uint8_t rep[8];
	memcpy(rep, rep0_hello, sizeof rep);
	if (s->script == CUT || s->script == CUT_AND_GONE) {
		int fd = greet(s);
		if (fd < 0 || !cut(s, fd, &s->ids[0]))
			return NULL;
		if (s->script == CUT_AND_GONE) {
			close(s->lfd);
			s->lfd = -1;
			unlink(s->path);
			return NULL;
		}
		uint8_t *body = NULL;
		size_t len;
		if ((fd = greet(s)) >= 0 && read_request(s, fd, &s->ids[1], &body, &len))
			answer(fd, s->ids[1], 1, NULL, 0);
		free(body);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (!read_full(fd, hello, 8) || memcmp(hello, "\0SP\0\0\x30\0\0", 8) != 0)
		goto out;
	if (s->script == WRONG_HEADER)
		rep[5] = 0x30;
	if (s->script == HTTP) {
		write_full(fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
		goto out;
	}
	if (!write_full(fd, rep, sizeof rep))
		goto out;
	uint32_t id, id2;
	uint8_t *body = NULL, *body2 = NULL;
	size_t len;
	switch (s->script) {
	case ANSWER:
		while (read_request(s, fd, &id, &body, &len)) {
			struct wire_request q;
			char err[AM_ERRLEN];
			if (wire_request_unpack(body, len, &q, err, sizeof err) == 0) {
				s->n_names = (uint32_t)q.n_names;
				wire_request_clear(&q);
			}
			free(body);
			body = NULL;
			if (!answer(fd, id, 1, NULL, 0))
				break;
		}
		break;
	case ANSWER_REVERSED:
		if (read_request(s, fd, &id, &body, &len) && read_request(s, fd, &id2, &body2, &len))
			if (answer(fd, id2, 2, NULL, 0))
				answer(fd, id, 1, NULL, 0);
		break;
	case STRANGER_FIRST:
		if (read_request(s, fd, &id, &body, &len))
			if (answer(fd, id ^ 0x1234, 7, NULL, 0))
				answer(fd, id, 1, NULL, 0);
		break;
	case OVERSIZED:
	case BAD_TYPE:
		if (read_request(s, fd, &id, &body, &len)) {
			uint8_t h[13] = {s->script == BAD_TYPE ? 2 : 1};
			be(h + 1, s->script == BAD_TYPE ? 4 : 4 + (uint64_t)AM_CONTROL_MSG_MAX + 1, 8);
			be(h + 9, id, 4);
			write_full(fd, h, sizeof h);
		}
		break;
	case BIG_ANSWER:
		if (read_request(s, fd, &id, &body, &len)) {
			size_t n = 2u << 20;
			char *text = malloc(n);
			if (text) {
				for (size_t i = 0; i < n; i++)
					text[i] = (char)('a' + i % 26);
				answer(fd, id, 0, text, n);
				free(text);
			}
		}
		break;
	default:
		break;
	}
	free(body);
	free(body2);
out:
	close(fd);
	return NULL;
}

static struct server *serve(enum script script)
{
	struct server *s = calloc(1, sizeof *s);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	assert_non_null(s);
	snprintf(s->dir, sizeof s->dir, "/tmp/amesh-client-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof s->path, "%s/s.sock", s->dir);
	memcpy(sun.sun_path, s->path, strlen(s->path) + 1); /* 31 bytes */
	s->script = script;
	assert_true((s->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

/* Waits for the script to end: what it recorded is then safe to read. */
static void server_join(struct server *s)
{
	if (!s->joined)
		pthread_join(s->thread, NULL);
	s->joined = true;
}

/* Ends the server; returns the names of the last query read. */
static uint32_t server_done(struct server *s)
{
	server_join(s);
	uint32_t n = s->n_names;
	if (s->lfd >= 0)
		close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
	free(s);
	return n;
}

static void test_call_is_answered(void **state)
{
	(void)state;
	struct server *s = serve(ANSWER);
	struct client *c;
	struct wire_response resp;
	char err[AM_ERRLEN] = "";

	assert_int_equal(client_open(&c, s->path, err, sizeof err), 0);
	for (int i = 0; i < 3; i++) {
		struct wire_request req = {.op = WIRE_OP_STATUS};
		assert_int_equal(client_call(c, &req, &resp, err, sizeof err), 0);
		assert_int_equal(resp.status, 1);
		assert_string_equal(resp.error, "answer 1");
		wire_response_clear(&resp);
	}
	client_close(c);
	server_done(s);
}

/* A request larger than the socket's buffer goes out in pieces, whole. */
static void test_large_request_goes_out_whole(void **state)
{
	(void)state;
	struct server *s = serve(ANSWER);
	struct client *c;
	struct wire_response resp;
	char err[AM_ERRLEN] = "";
	struct wire_request req = {.op = WIRE_OP_QUERY, .n_names = AM_QUERY_NAMES_MAX};

	assert_non_null(req.names = calloc(req.n_names, sizeof *req.names));
	for (size_t i = 0; i < req.n_names; i++) {
		assert_non_null(req.names[i] = malloc(AM_DOMAIN_MAX + 1));
		memset(req.names[i], 'a', AM_DOMAIN_MAX - 12);
		snprintf(req.names[i] + AM_DOMAIN_MAX - 12, 13, ".%06u.test", (unsigned)i % 1000000);
	}
	assert_int_equal(client_open(&c, s->path, err, sizeof err), 0);
	assert_int_equal(client_call(c, &req, &resp, err, sizeof err), 0);
	assert_int_equal(resp.status, 1);
	wire_response_clear(&resp);
	client_close(c);
	assert_int_equal(server_done(s), AM_QUERY_NAMES_MAX);
	wire_request_clear(&req);
}

static void test_big_answer_read_whole(void **state)
{
	(void)state;
	struct server *s = serve(BIG_ANSWER);
	struct client *c;
	struct wire_response resp;
	char err[AM_ERRLEN] = "";
	struct wire_request req = {.op = WIRE_OP_RPZ};

	assert_int_equal(client_open(&c, s->path, err, sizeof err), 0);
	assert_int_equal(client_call(c, &req, &resp, err, sizeof err), 0);
	assert_int_equal(resp.rpz_text_len, 2u << 20);
	assert_int_equal(resp.rpz_text[0], 'a');
	assert_int_equal(resp.rpz_text[(2u << 20) - 1], 'a' + ((2u << 20) - 1) % 26);
	wire_response_clear(&resp);
	client_close(c);
	server_done(s);
}

/* Two requests in flight, answered out of order: each slot gets its own. */
static void test_slots_get_their_own_answers(void **state)
{
	(void)state;
	struct server *s = serve(ANSWER_REVERSED);
	struct client *c;
	struct wire_response r0, r1;
	char err[AM_ERRLEN] = "";
	struct wire_request a = {.op = WIRE_OP_STATUS}, b = {.op = WIRE_OP_STATUS};

	assert_int_equal(client_open(&c, s->path, err, sizeof err), 0);
	assert_int_equal(client_send(c, 0, &a, err, sizeof err), 0);
	assert_int_equal(client_send(c, 1, &b, err, sizeof err), 0);
	/* a second send on a slot still owed an answer is refused */
	assert_int_equal(client_send(c, 0, &a, err, sizeof err), AM_EINVAL);
	assert_int_equal(client_recv(c, 0, &r0, err, sizeof err), 0);
	assert_int_equal(client_recv(c, 1, &r1, err, sizeof err), 0);
	assert_int_equal(r0.status, 1);
	assert_int_equal(r1.status, 2);
	wire_response_clear(&r0);
	wire_response_clear(&r1);
	client_close(c);
	server_done(s);
}

/* One status request on a new client to path: client_call's return, the
 * answer's status in *status, err filled on failure. */
static int call_status(const char *path, int32_t *status, char *err, size_t errlen)
{
	struct client *c;
	struct wire_response resp;
	struct wire_request req = {.op = WIRE_OP_STATUS};

	assert_int_equal(client_open(&c, path, err, errlen), 0);
	int rv = client_call(c, &req, &resp, err, errlen);
	if (rv == 0) {
		*status = resp.status;
		wire_response_clear(&resp);
	}
	client_close(c);
	return rv;
}

static void test_answer_to_no_request_is_dropped(void **state)
{
	(void)state;
	struct server *s = serve(STRANGER_FIRST);
	char err[AM_ERRLEN] = "";
	int32_t status = 0;

	assert_int_equal(call_status(s->path, &status, err, sizeof err), 0);
	assert_int_equal(status, 1);
	server_done(s);
}

/* Each broken server: a prompt AM_ECONNECT that names the fault. */
static void broken(enum script script, const char *says)
{
	struct server *s = serve(script);
	char err[AM_ERRLEN] = "";
	int32_t status = 0;

	assert_int_equal(call_status(s->path, &status, err, sizeof err), AM_ECONNECT);
	if (!strstr(err, says) || !strstr(err, s->path))
		fail_msg("error `%s' should name `%s' and the socket", err, says);
	server_done(s);
}

/* The server greets in another protocol and hangs up before our request
 * goes out, so the send fails: still named at once. (CI saw the old client
 * dial again instead, into a listener nobody accepted on, and time out.) */
static void broken_before_request(enum script script, const char *says)
{
	struct server *s = serve(script);
	struct client *c;
	struct wire_response resp;
	struct wire_request req = {.op = WIRE_OP_STATUS};
	char err[AM_ERRLEN] = "";

	assert_int_equal(client_open(&c, s->path, err, sizeof err), 0);
	server_join(s); /* it has read our header, answered and closed */
	assert_int_equal(client_call(c, &req, &resp, err, sizeof err), AM_ECONNECT);
	if (!strstr(err, says) || !strstr(err, s->path))
		fail_msg("error `%s' should name `%s' and the socket", err, says);
	client_close(c);
	server_done(s);
}

static void test_broken_servers_are_named(void **state)
{
	(void)state;
	broken(WRONG_HEADER, "does not speak the control protocol");
	broken(HTTP, "does not speak the control protocol");
	broken_before_request(WRONG_HEADER, "does not speak the control protocol");
	broken_before_request(HTTP, "does not speak the control protocol");
	broken(OVERSIZED, "over AM_CONTROL_MSG_MAX");
	broken(BAD_TYPE, "bad frame type");
	broken(CUT_AND_GONE, "closed the connection and is not listening any more");
}

/* A connection that ends before the answer (a daemon re-creating its
 * listener closes the old one's connections unserved: listen_guard.h) is
 * dialled again and the request sent again under its id, as req0 does. */
static void test_cut_connection_is_dialled_again(void **state)
{
	(void)state;
	struct server *s = serve(CUT);
	char err[AM_ERRLEN] = "";
	int32_t status = 0;

	assert_int_equal(call_status(s->path, &status, err, sizeof err), 0);
	assert_int_equal(status, 1);
	server_join(s);
	uint32_t first = s->ids[0], again = s->ids[1];
	server_done(s);
	assert_true(first & 0x80000000u);
	assert_int_equal(first, again);
}

static void test_connect_errors_say_what(void **state)
{
	(void)state;
	struct client *c = (struct client *)1;
	char err[AM_ERRLEN] = "", path[200];

	assert_int_equal(client_open(&c, "/nonexistent-amesh/amesh.sock", err, sizeof err), AM_ECONNECT);
	assert_null(c);
	assert_non_null(strstr(err, "does not exist"));
	memset(path, 'x', sizeof path - 1);
	path[0] = '/', path[sizeof path - 1] = '\0';
	assert_int_equal(client_open(&c, path, err, sizeof err), AM_ECONNECT);
	assert_non_null(strstr(err, "a Unix socket's at most 107"));
	/* a socket file nobody listens on */
	struct server *s = serve(ANSWER);
	struct client *first;
	assert_int_equal(client_open(&first, s->path, err, sizeof err), 0);
	client_close(first); /* the server thread ends */
	server_done(s);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/amesh-client-XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/dead.sock", dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd); /* bound, never listening: refused */
	assert_int_equal(client_open(&c, sun.sun_path, err, sizeof err), AM_ECONNECT);
	assert_non_null(strstr(err, "nothing listens on it"));
	unlink(sun.sun_path);
	/* AMESH_SOCKET naming no socket at all said "Connection refused
	 * (nothing listens on it: is ameshd running?)": a wrong path, not a
	 * stopped daemon, and the words now say which */
	char file[300], fifo[300];
	snprintf(file, sizeof file, "%s/file", dir);
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const struct {
		const char *path, *says;
	} t[] = {{"/etc/passwd", "it is a regular file, not a socket"}, {file, "it is a regular file, not a socket"},
	         {dir, "it is a directory, not a socket"}, {fifo, "it is a FIFO, not a socket"},
	         {"/dev/null", "it is a device or special file, not a socket"}};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		c = (struct client *)1;
		assert_int_equal(client_open(&c, t[i].path, err, sizeof err), AM_ECONNECT);
		assert_null(c);
		if (!strstr(err, t[i].says) || !strstr(err, t[i].path) || strstr(err, "is ameshd running"))
			fail_msg("%s: %s", t[i].path, err);
	}
	unlink(file);
	unlink(fifo);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_is_answered),
		cmocka_unit_test(test_large_request_goes_out_whole),
		cmocka_unit_test(test_big_answer_read_whole),
		cmocka_unit_test(test_slots_get_their_own_answers),
		cmocka_unit_test(test_answer_to_no_request_is_dropped),
		cmocka_unit_test(test_broken_servers_are_named),
		cmocka_unit_test(test_cut_connection_is_dialled_again),
		cmocka_unit_test(test_connect_errors_say_what),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

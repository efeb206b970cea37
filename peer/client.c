/* client.c - synchronous client for the control socket: SP req0 over a Unix socket, no NNG. */
#include "client.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* SP over IPC (nanomsg's sp-ipc-mapping, as NNG's ipc transport speaks it):
 * each side first sends 8 bytes, 0x00 'S' 'P' 0x00, its protocol number
 * (big-endian 16 bits: req0 is 0x30, rep0 0x31) and two zero bytes. Then
 * every message is one byte 0x01, its length as big-endian 64 bits, and
 * the message: for req0/rep0 (sp-request-reply) a 32-bit request id with
 * the top bit set, echoed by the reply, then the body. */
#define SP_REQ0 0x30
#define SP_REP0 0x31
#define FRAME_HDR CLIENT_FRAME_HDR

struct client {
	int fd;
	char path[PATH_MAX];
	bool by_path;    /* opened by path: may reconnect */
	uint32_t next_id;
	/* slot CLIENT_SLOTS is client_call's own */
	struct {
		bool busy;       /* sent, reply not yet returned */
		uint32_t id;
		uint8_t *frame;  /* the request as sent, kept to resend after a reconnect */
		size_t frame_len;
		uint8_t *reply;  /* a reply read while waiting for another slot's */
		size_t reply_len;
	} slot[CLIENT_SLOTS + 1];
};

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC, ms), at least 0. */
static int left_ms(uint64_t deadline)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return now >= deadline ? 0 : (int)(deadline - now);
}

static uint64_t deadline_in(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + ms;
}

/* Writes all of buf. 0, or an errno value (ETIMEDOUT after the deadline). */
static int write_all(int fd, const uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return errno;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int ms = left_ms(deadline);
		if (ms == 0)
			return ETIMEDOUT;
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			return errno;
	}
	return 0;
}

/* Reads exactly len bytes. 0, ECONNRESET when the daemon closed first, or
 * an errno value. A signal does not end the wait: `amesh watch' checks its
 * stop flag between calls, as it did when NNG waited. */
static int read_all(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return ECONNRESET;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return errno;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = left_ms(deadline);
		if (ms == 0)
			return ETIMEDOUT;
		if (poll(&p, 1, ms) < 0 && errno != EINTR)
			return errno;
	}
	return 0;
}

int client_frame_check(const uint8_t hdr[CLIENT_FRAME_HDR], uint64_t *len, char *err, size_t errlen)
{
	*len = 0;
	if (hdr[0] != 0x01) {
		snprintf(err, errlen, "ameshd sent a frame of type %u, not a message (1)", hdr[0]);
		return AM_EDECODE;
	}
	uint64_t n = get_be64(hdr + 1);
	if (n < 4 || n > AM_CONTROL_MSG_MAX + 4) {
		snprintf(err, errlen, "ameshd sent a message of %llu bytes: not between 4 (its request id) and "
		         "the cap of %u + 4", (unsigned long long)n, AM_CONTROL_MSG_MAX);
		return AM_EDECODE;
	}
	*len = n;
	return 0;
}

int client_handshake_check(const uint8_t hs[CLIENT_HANDSHAKE], char *err, size_t errlen)
{
	static const uint8_t want[CLIENT_HANDSHAKE] = {0, 'S', 'P', 0, 0, SP_REP0, 0, 0};
	if (memcmp(hs, want, 4) != 0) {
		snprintf(err, errlen, "not an SP socket (it began %02x %02x %02x %02x, not 00 'S' 'P' 00)", hs[0],
		         hs[1], hs[2], hs[3]);
		return AM_EPROTO;
	}
	if (memcmp(hs, want, sizeof want) != 0) {
		snprintf(err, errlen, "the socket speaks SP protocol 0x%02x%02x, not rep0 (0x0031)", hs[4], hs[5]);
		return AM_EPROTO;
	}
	return 0;
}

/* The handshake both ways. 0 or AM_ECONNECT / AM_EPROTO with err filled. */
static int handshake(struct client *c, char *err, size_t errlen)
{
	static const uint8_t ours[CLIENT_HANDSHAKE] = {0, 'S', 'P', 0, 0, SP_REQ0, 0, 0};
	uint8_t theirs[CLIENT_HANDSHAKE];
	uint64_t deadline = deadline_in(CLIENT_TIMEOUT_MS);
	int e, rv;

	if ((e = write_all(c->fd, ours, sizeof ours, deadline)) != 0 ||
	    (e = read_all(c->fd, theirs, sizeof theirs, deadline)) != 0) {
		snprintf(err, errlen, "cannot connect to ameshd at %s: %s", c->path,
		         e == ECONNRESET || e == EPIPE ? "it closed the connection" : strerror(e));
		return AM_ECONNECT;
	}
	char why[AM_ERRLEN];
	if ((rv = client_handshake_check(theirs, why, sizeof why)) != 0) {
		snprintf(err, errlen, "cannot talk to ameshd at %s: %s", c->path, why);
		return rv;
	}
	return 0;
}

/* Connects a new socket to path: 0 with *fdp set, or an errno value. A
 * full listen backlog (EAGAIN on a Unix socket: someone floods
 * connections, or the daemon is just re-creating its listener) is worth a
 * few retries, ~2 s in all, before giving up. */
static int connect_path(const char *path, int *fdp)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, e = 0;

	*fdp = -1;
	if (strlen(path) >= sizeof sa.sun_path)
		return ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	for (int i = 0;; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			*fdp = fd;
			return 0;
		}
		e = errno;
		if (e == EINTR)
			continue;
		if (e != EAGAIN || i >= 20)
			break;
		usleep(100000);
	}
	close(fd);
	return e;
}

/* The connection was lost with requests in flight (the daemon re-creates
 * its listener when the listen guard finds it deaf, closing every
 * connection; or it restarted): connect again and resend them, as NNG's
 * req0 did by itself - so requests must be idempotent, as they had to be
 * (FIELD-NOTES). Tries until deadline, pausing 10 ms, then up to 500 ms.
 * 0, or AM_ECONNECT / AM_EPROTO with err filled. */
static int reconnect(struct client *c, uint64_t deadline, char *err, size_t errlen)
{
	unsigned pause_ms = 10;
	int rv;

	if (!c->by_path)
		return AM_ECONNECT; /* err already says why */
	for (;;) {
		int fd, e;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		if ((e = connect_path(c->path, &fd)) == 0) {
			c->fd = fd;
			rv = handshake(c, err, errlen);
			if (rv == AM_EPROTO)
				return rv;
			for (int i = 0; rv == 0 && i <= CLIENT_SLOTS; i++)
				if (c->slot[i].busy && !c->slot[i].reply &&
				    (e = write_all(c->fd, c->slot[i].frame, c->slot[i].frame_len, deadline)) != 0) {
					snprintf(err, errlen, "cannot send to ameshd at %s: %s", c->path,
					         e == ECONNRESET || e == EPIPE ? "it closed the connection" : strerror(e));
					rv = AM_ECONNECT;
				}
			if (rv == 0)
				return 0;
		} else if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN) {
			snprintf(err, errlen, "cannot reconnect to ameshd at %s: %s", c->path, strerror(e));
			return AM_ECONNECT;
		} else {
			snprintf(err, errlen, "lost the connection to ameshd at %s and cannot reconnect: %s", c->path,
			         strerror(e));
		}
		int left = left_ms(deadline);
		if (left == 0)
			return AM_ECONNECT;
		usleep(1000u * (pause_ms < (unsigned)left ? pause_ms : (unsigned)left));
		pause_ms = pause_ms >= 250 ? 500 : pause_ms * 2;
	}
}

static int client_new(struct client **out, int fd, const char *name, bool by_path, char *err, size_t errlen)
{
	struct client *c;
	int rv;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	c->fd = fd;
	c->by_path = by_path;
	snprintf(c->path, sizeof c->path, "%s", name);
	/* ids only have to differ within this client: 0x80000001, ... */
	c->next_id = 1;
	/* closed while we connected (a listener being re-created): again */
	if ((rv = handshake(c, err, errlen)) == AM_ECONNECT)
		rv = reconnect(c, deadline_in(2000), err, errlen);
	if (rv != 0) {
		client_close(c);
		return rv;
	}
	*out = c;
	return 0;
}

int client_open_fd(struct client **out, int fd, const char *name, char *err, size_t errlen)
{
	return client_new(out, fd, name, false, err, errlen);
}

int client_open(struct client **out, const char *path, char *err, size_t errlen)
{
	int fd, e;

	*out = NULL;
	if ((e = connect_path(path, &fd)) == 0)
		return client_new(out, fd, path, true, err, errlen);
	if (e == ENAMETOOLONG) {
		snprintf(err, errlen, "cannot connect to ameshd at `%s': the path is longer than a Unix socket's "
		         "%zu bytes", path, sizeof ((struct sockaddr_un *)0)->sun_path - 1);
	} else if (e == ENOENT || e == ECONNREFUSED) {
		/* "Connection refused" misleads when there is no socket at all */
		struct stat st;
		if (stat(path, &st) != 0 && errno == ENOENT)
			snprintf(err, errlen, "cannot connect to ameshd at `%s': the control socket does not exist "
			         "(ameshd is not running, or the path is wrong; pick the peer with -s SOCKET, "
			         "-c CONFIG or AMESH_SOCKET)", path);
		else
			snprintf(err, errlen, "cannot connect to ameshd at `%s': %s (nothing listens on it: "
			         "is ameshd running? pick the peer with -s SOCKET, -c CONFIG or AMESH_SOCKET)",
			         path, strerror(e));
	} else {
		snprintf(err, errlen, "cannot connect to ameshd at %s: %s", path, strerror(e));
	}
	return AM_ECONNECT;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	/* a reply still owed is dropped by the daemon's NNG when the pipe closes */
	if (c->fd >= 0)
		close(c->fd);
	for (int i = 0; i <= CLIENT_SLOTS; i++) {
		free(c->slot[i].frame);
		free(c->slot[i].reply);
	}
	free(c);
}

static int send_request(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen)
{
	uint8_t *buf = NULL, *frame;
	size_t len;
	int rv, e;

	req->protocol = AM_CONTROL_PROTOCOL;
	if ((rv = wire_request_pack(req, &buf, &len)) != 0) {
		snprintf(err, errlen, "cannot encode request: %s", am_strerror(rv));
		return rv;
	}
	if ((frame = malloc(FRAME_HDR + 4 + len)) == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	uint32_t id = c->next_id++ | 0x80000000u;
	frame[0] = 0x01;
	put_be64(frame + 1, 4 + (uint64_t)len);
	frame[9] = (uint8_t)(id >> 24);
	frame[10] = (uint8_t)(id >> 16);
	frame[11] = (uint8_t)(id >> 8);
	frame[12] = (uint8_t)id;
	memcpy(frame + FRAME_HDR + 4, buf, len);
	free(buf);
	free(c->slot[slot].frame);
	c->slot[slot].frame = frame;
	c->slot[slot].frame_len = FRAME_HDR + 4 + len;
	c->slot[slot].busy = true;
	c->slot[slot].id = id;
	uint64_t deadline = deadline_in(CLIENT_TIMEOUT_MS);
	if ((e = write_all(c->fd, frame, FRAME_HDR + 4 + len, deadline)) == 0)
		return 0;
	snprintf(err, errlen, "cannot send to ameshd at %s: %s", c->path,
	         e == ECONNRESET || e == EPIPE ? "it closed the connection" : strerror(e));
	if ((e == ECONNRESET || e == EPIPE) && (rv = reconnect(c, deadline, err, errlen)) == 0)
		return 0; /* sent again on the new connection */
	c->slot[slot].busy = false;
	return AM_ECONNECT;
}

/* Reads one frame into *msg (malloc'd, *len bytes, the request id first).
 * 0; LOST when the daemon closed the connection (err says so); or another
 * error with err filled. */
#define LOST 1
static int read_frame(struct client *c, uint64_t deadline, uint8_t **msg, uint64_t *len, char *err,
                      size_t errlen)
{
	uint8_t hdr[FRAME_HDR];
	char why[AM_ERRLEN];
	int rv, e;

	*msg = NULL;
	if ((e = read_all(c->fd, hdr, sizeof hdr, deadline)) != 0)
		goto io_fail;
	if ((rv = client_frame_check(hdr, len, why, sizeof why)) != 0) {
		snprintf(err, errlen, "bad answer from ameshd at %s: %s", c->path, why);
		return rv;
	}
	if ((*msg = malloc(*len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	if ((e = read_all(c->fd, *msg, *len, deadline)) != 0) {
		free(*msg);
		*msg = NULL;
		goto io_fail;
	}
	return 0;
io_fail:
	snprintf(err, errlen, "no answer from ameshd at %s: %s", c->path,
	         e == ECONNRESET ? "it closed the connection" : strerror(e));
	return e == ECONNRESET ? LOST : AM_ECONNECT;
}

/* Reads replies until slot's arrives; another busy slot's is kept for it,
 * one to no request in flight (a late answer) is dropped. A connection
 * lost meanwhile is made again, and what is in flight sent again. */
static int recv_reply(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen)
{
	uint64_t deadline = deadline_in(CLIENT_TIMEOUT_MS);
	uint8_t *msg;
	uint64_t len;
	int rv;

	memset(resp, 0, sizeof *resp);
	if (!c->slot[slot].busy) {
		snprintf(err, errlen, "no request in flight");
		return AM_EINVAL;
	}
	while (!c->slot[slot].reply) {
		if ((rv = read_frame(c, deadline, &msg, &len, err, errlen)) == LOST) {
			if ((rv = reconnect(c, deadline, err, errlen)) != 0)
				return rv;
			continue;
		}
		if (rv != 0)
			return rv;
		uint32_t id = get_be32(msg);
		int to = -1;
		for (int i = 0; i <= CLIENT_SLOTS; i++)
			if (c->slot[i].busy && !c->slot[i].reply && c->slot[i].id == id)
				to = i;
		if (to < 0) {
			free(msg);
			continue;
		}
		c->slot[to].reply = msg;
		c->slot[to].reply_len = len;
	}
	msg = c->slot[slot].reply;
	len = c->slot[slot].reply_len;
	c->slot[slot].reply = NULL;
	c->slot[slot].busy = false;
	free(c->slot[slot].frame);
	c->slot[slot].frame = NULL;
	rv = wire_response_unpack(msg + 4, len - 4, resp, err, errlen);
	free(msg);
	return rv;
}

int client_send(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen)
{
	if (slot < 0 || slot >= CLIENT_SLOTS || c->slot[slot].busy)
		return AM_EINVAL;
	return send_request(c, slot, req, err, errlen);
}

int client_recv(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen)
{
	memset(resp, 0, sizeof *resp);
	if (slot < 0 || slot >= CLIENT_SLOTS)
		return AM_EINVAL;
	return recv_reply(c, slot, resp, err, errlen);
}

int client_call(struct client *c, struct wire_request *req, struct wire_response *resp,
                char *err, size_t errlen)
{
	int rv;

	memset(resp, 0, sizeof *resp);
	if (c->slot[CLIENT_SLOTS].busy) /* an earlier call's reply never came: it is dropped when it does */
		c->slot[CLIENT_SLOTS].busy = false;
	if ((rv = send_request(c, CLIENT_SLOTS, req, err, errlen)) != 0)
		return rv;
	return recv_reply(c, CLIENT_SLOTS, resp, err, errlen);
}

/* Connects, sends one request, checks the status. */
static int one_shot(const char *path, struct wire_request *req, char *err, size_t errlen)
{
	struct client *c;
	struct wire_response resp;
	int rv;

	if ((rv = client_open(&c, path, err, errlen)) != 0)
		return rv;
	rv = client_call(c, req, &resp, err, errlen);
	client_close(c);
	if (rv != 0)
		return rv;
	if (resp.status != 0) {
		snprintf(err, errlen, "%s", resp.error[0] ? resp.error : am_strerror(resp.status));
		rv = resp.status;
	}
	wire_response_clear(&resp);
	return rv;
}

int client_reload_trust(const char *path, const char *what, char *err, size_t errlen)
{
	struct wire_request req = {.op = WIRE_OP_RELOAD_TRUST};
	snprintf(req.domain, sizeof req.domain, "%s", what ? what : "");
	return one_shot(path, &req, err, errlen);
}

int client_publish(const char *path, const uint8_t *env, size_t len, char *err, size_t errlen)
{
	struct wire_request req = {.op = WIRE_OP_PUBLISH};
	if (len == 0 || len > sizeof req.envelope) {
		snprintf(err, errlen, "statement of %zu bytes is too large", len);
		return AM_ETOOBIG;
	}
	memcpy(req.envelope, env, len);
	req.envelope_len = len;
	return one_shot(path, &req, err, errlen);
}

/* client.c - synchronous req0 client for the control socket. */
#include "client.h"

#include <limits.h>
#include <stdbool.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

struct client {
	nng_socket sock;
	char path[PATH_MAX];
	unsigned owed;  /* requests sent whose reply has not been read */
	struct {
		bool open;
		nng_ctx ctx;
		nng_aio *aio;
	} slot[CLIENT_SLOTS];
};

int client_open(struct client **out, const char *path, char *err, size_t errlen)
{
	struct client *c;
	char url[PATH_MAX + 8];
	int rv;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return AM_ENOMEM;
	snprintf(c->path, sizeof c->path, "%s", path);
	snprintf(url, sizeof url, "ipc://%s", path);
	if ((rv = nng_req0_open(&c->sock)) != 0 ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, AM_CONTROL_MSG_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, CLIENT_TIMEOUT_MS)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, CLIENT_TIMEOUT_MS)) != 0) {
		snprintf(err, errlen, "cannot create client socket: %s", nng_strerror(rv));
		goto fail;
	}
	/* flags 0: a synchronous dial fails now if nobody listens. A full
	 * listen backlog (EAGAIN on a Unix socket: someone floods connections,
	 * or the daemon is just re-creating its listener) is worth a few
	 * retries, ~2 s in all, before giving up. */
	for (int i = 0; (rv = nng_dial(c->sock, url, NULL, 0)) == NNG_EAGAIN && i < 20; i++)
		usleep(100000);
	if (rv != 0 && (rv == NNG_ENOENT || rv == NNG_ECONNREFUSED)) {
		/* "Connection refused" misleads when there is no socket at all */
		struct stat st;
		if (stat(path, &st) != 0 && errno == ENOENT)
			snprintf(err, errlen, "cannot connect to ameshd at `%s': the control socket does not exist "
			         "(ameshd is not running, or the path is wrong; pick the peer with -s SOCKET, "
			         "-c CONFIG or AMESH_SOCKET)", path);
		else
			snprintf(err, errlen, "cannot connect to ameshd at `%s': %s (nothing listens on it: "
			         "is ameshd running? pick the peer with -s SOCKET, -c CONFIG or AMESH_SOCKET)",
			         path, nng_strerror(rv));
		goto fail;
	}
	if (rv != 0) {
		const char *hint = (rv == NNG_ENOENT || rv == NNG_ECONNREFUSED)
		                       ? " (is ameshd running? pick the peer with -s SOCKET, -c CONFIG or AMESH_SOCKET)"
		                       : "";
		snprintf(err, errlen, "cannot connect to ameshd at %s: %s%s", path, nng_strerror(rv), hint);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	client_close(c);
	return AM_ECONNECT;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	for (int i = 0; i < CLIENT_SLOTS; i++)
		if (c->slot[i].open)
			nng_aio_stop(c->slot[i].aio);
	/* A reply still owed can arrive while the socket closes, and closing
	 * a pipe while a message arrives can wedge NNG 1.5.2 for good
	 * (nngexit.h): then the socket is left to the kernel. Only after a
	 * timeout or an error; the caller is about to report it and exit. */
	if (c->owed == 0)
		nng_close(c->sock);
	for (int i = 0; i < CLIENT_SLOTS; i++)
		if (c->slot[i].open)
			nng_aio_free(c->slot[i].aio);
	free(c);
}

int client_send(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len;
	nng_msg *msg;
	int rv;

	if (slot < 0 || slot >= CLIENT_SLOTS)
		return AM_EINVAL;
	if (!c->slot[slot].open) {
		if ((rv = nng_ctx_open(&c->slot[slot].ctx, c->sock)) != 0 ||
		    (rv = nng_aio_alloc(&c->slot[slot].aio, NULL, NULL)) != 0) {
			snprintf(err, errlen, "cannot open a request context: %s", nng_strerror(rv));
			return AM_ECONNECT;
		}
		c->slot[slot].open = true;
	}
	req->protocol = AM_CONTROL_PROTOCOL;
	if ((rv = wire_request_pack(req, &buf, &len)) != 0) {
		snprintf(err, errlen, "cannot encode request: %s", am_strerror(rv));
		return rv;
	}
	if (nng_msg_alloc(&msg, len) != 0) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	memcpy(nng_msg_body(msg), buf, len);
	free(buf);
	nng_aio *aio = c->slot[slot].aio;
	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, CLIENT_TIMEOUT_MS);
	nng_ctx_send(c->slot[slot].ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		snprintf(err, errlen, "cannot send to ameshd at %s: %s", c->path, nng_strerror(rv));
		return AM_ECONNECT;
	}
	c->owed++;
	return 0;
}

int client_recv(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen)
{
	nng_msg *msg;
	int rv;

	memset(resp, 0, sizeof *resp);
	if (slot < 0 || slot >= CLIENT_SLOTS || !c->slot[slot].open)
		return AM_EINVAL;
	nng_aio *aio = c->slot[slot].aio;
	nng_aio_set_timeout(aio, CLIENT_TIMEOUT_MS);
	nng_ctx_recv(c->slot[slot].ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		snprintf(err, errlen, "no answer from ameshd at %s: %s", c->path, nng_strerror(rv));
		return AM_ECONNECT;
	}
	c->owed--;
	msg = nng_aio_get_msg(aio);
	rv = wire_response_unpack(nng_msg_body(msg), nng_msg_len(msg), resp, err, errlen);
	nng_msg_free(msg);
	return rv;
}

int client_call(struct client *c, struct wire_request *req, struct wire_response *resp,
                char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len;
	nng_msg *msg = NULL;
	int rv;

	memset(resp, 0, sizeof *resp);
	req->protocol = AM_CONTROL_PROTOCOL;
	if ((rv = wire_request_pack(req, &buf, &len)) != 0) {
		snprintf(err, errlen, "cannot encode request: %s", am_strerror(rv));
		return rv;
	}
	if ((rv = nng_msg_alloc(&msg, len)) != 0) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	memcpy(nng_msg_body(msg), buf, len);
	free(buf);
	if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		snprintf(err, errlen, "cannot send to ameshd at %s: %s", c->path, nng_strerror(rv));
		return AM_ECONNECT;
	}
	c->owed++;
	if ((rv = nng_recvmsg(c->sock, &msg, 0)) != 0) {
		snprintf(err, errlen, "no answer from ameshd at %s: %s", c->path, nng_strerror(rv));
		return AM_ECONNECT;
	}
	c->owed--;
	rv = wire_response_unpack(nng_msg_body(msg), nng_msg_len(msg), resp, err, errlen);
	nng_msg_free(msg);
	return rv;
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

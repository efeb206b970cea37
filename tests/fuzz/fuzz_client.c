/* fuzz_client.c - what a control socket sends back to amesh: the SP handshake, reply frames, their bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "fuzz.h"
#include "wire.h"

#define INPUT_MAX 60000 /* well inside a Unix socket's buffer: written at once */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client *c;
	struct wire_request req = {.op = WIRE_OP_STATUS};
	struct wire_response resp;
	char err[AM_ERRLEN];
	int sv[2];

	if (size > INPUT_MAX || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR); /* the end of the input is the daemon going away */
	if (client_open_fd(&c, sv[0], "fuzz", err, sizeof err) == 0) {
		/* one call, then one pipelined request, each from what follows */
		if (client_call(c, &req, &resp, err, sizeof err) == 0)
			wire_response_clear(&resp);
		if (client_send(c, 0, &req, err, sizeof err) == 0 && client_recv(c, 0, &resp, err, sizeof err) == 0)
			wire_response_clear(&resp);
		client_close(c);
	}
	close(sv[1]);
	return 0;
}

/* rep0's handshake, then answers to the ids a fresh client uses (the first
 * 0x80000001), as NNG frames them */
static size_t put_reply(uint8_t *p, uint32_t id, const struct wire_response *r)
{
	uint8_t *body;
	size_t n;
	if (wire_response_pack(r, &body, &n) != 0)
		return 0;
	uint64_t len = 4 + n;
	p[0] = 1;
	for (int i = 8; i >= 1; i--, len >>= 8)
		p[i] = (uint8_t)len;
	p[9] = (uint8_t)(id >> 24);
	p[10] = (uint8_t)(id >> 16);
	p[11] = (uint8_t)(id >> 8);
	p[12] = (uint8_t)id;
	memcpy(p + 13, body, n);
	free(body);
	return 13 + n;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const uint8_t hs[CLIENT_HANDSHAKE] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
	struct wire_response r;

	if (i > 2 || cap < 4096)
		return 0;
	memset(&r, 0, sizeof r);
	r.protocol = AM_CONTROL_PROTOCOL;
	r.op = WIRE_OP_STATUS;
	snprintf(r.status_info.name, sizeof r.status_info.name, "fuzz-peer");
	memcpy(buf, hs, sizeof hs);
	size_t n = sizeof hs;
	if (i == 0)
		return n; /* the handshake alone */
	if (i == 2) { /* a late answer to nothing first */
		r.status = AM_ENOTFOUND;
		snprintf(r.error, sizeof r.error, "late");
		n += put_reply(buf + n, 0x80000007u, &r);
		r.status = 0;
		r.error[0] = '\0';
	}
	n += put_reply(buf + n, 0x80000001u, &r);
	n += put_reply(buf + n, 0x80000002u, &r);
	return n;
}

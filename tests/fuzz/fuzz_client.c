/* fuzz_client.c - what the control socket's other end sends the CLI: the
 * SP header and answer frames (peer/client.c), bytes fed through a
 * socketpair to the real client, two requests pipelined and one call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "fuzz.h"
#include "wire.h"

#define FUZZ_CLIENT_MAX 65536 /* below a socketpair's buffer: written at once */

static void take(struct client *c, int slot)
{
	struct wire_response resp;
	char err[AM_ERRLEN];
	struct wire_request req = {.op = WIRE_OP_STATUS};

	if (slot < 0) {
		if (client_call(c, &req, &resp, err, sizeof err) == 0)
			wire_response_clear(&resp);
	} else if (client_recv(c, slot, &resp, err, sizeof err) == 0) {
		wire_response_clear(&resp);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client *c;
	struct wire_request req = {.op = WIRE_OP_STATUS};
	char err[AM_ERRLEN];
	int sv[2];

	if (size > FUZZ_CLIENT_MAX || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	/* everything the "daemon" says, then end of stream: no read can wait
	 * for the 60 s deadline */
	if (write(sv[1], data, size) != (ssize_t)size || shutdown(sv[1], SHUT_WR) != 0 ||
	    client_adopt(&c, sv[0], "fuzz") != 0) {
		close(sv[1]);
		return 0;
	}
	if (client_send(c, 0, &req, err, sizeof err) == 0 && client_send(c, 1, &req, err, sizeof err) == 0) {
		take(c, 1);
		take(c, 0);
	}
	take(c, -1);
	client_close(c);
	close(sv[1]);
	return 0;
}

/* Request ids run from 1 on each connection (client.c): 0x80000001 and
 * 0x80000002 are the pipelined pair, 0x80000003 the call. */
static size_t frame(uint8_t *buf, size_t cap, uint32_t id, int32_t status)
{
	struct wire_response r = {.protocol = AM_CONTROL_PROTOCOL, .status = status};
	uint8_t *body = NULL;
	size_t len;

	snprintf(r.error, sizeof r.error, "answer %d", status);
	if (wire_response_pack(&r, &body, &len) != 0 || 13 + len > cap) {
		free(body);
		return 0;
	}
	buf[0] = 1;
	for (int i = 0; i < 8; i++)
		buf[1 + i] = (uint8_t)((4 + (uint64_t)len) >> (8 * (7 - i)));
	for (int i = 0; i < 4; i++)
		buf[9 + i] = (uint8_t)(id >> (8 * (3 - i)));
	memcpy(buf + 13, body, len);
	free(body);
	return 13 + len;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const uint8_t rep[8] = {0, 'S', 'P', 0, 0, 0x31, 0, 0};
	size_t n = sizeof rep, k;

	if (i > 2 || cap < n)
		return 0;
	memcpy(buf, rep, n);
	/* 0: in order; 1: out of order with a stranger; 2: greeting only */
	uint32_t order[2][4] = {{0x80000001, 0x80000002, 0x80000003, 0}, {0x80000002, 0x80000009, 0x80000001, 0x80000003}};
	for (int j = 0; i < 2 && j < 4 && order[i][j]; j++) {
		if ((k = frame(buf + n, cap - n, order[i][j], j)) == 0)
			return 0;
		n += k;
	}
	return n;
}

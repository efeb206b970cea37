/*
 * sockpoke.c - misbehaving raw-socket clients for integration tests: the
 * connection-level faults of issue 8 that NNG's own client would never make.
 *
 *   sockpoke close    ADDR N          connect() then close(), N times
 *   sockpoke finrst   ADDR N          connect, FIN (shutdown), then RST, N times
 *   sockpoke claim    ADDR N BYTES S  N connections that negotiate SP as req0,
 *                                     then announce a BYTES-byte message and
 *                                     send all of it but the last byte (so
 *                                     the receiver holds it all); held S s
 *   sockpoke idle     ADDR N S        N connections that negotiate and then
 *                                     say nothing; prints how many the server
 *                                     closed within S seconds
 *   sockpoke noread   ADDR N          a req0 client that sends N `list'
 *                                     requests and never reads an answer;
 *                                     stays until killed
 *
 * ADDR is ipc:///path or tcp://a.b.c.d:port. Prints one line of result; exit
 * 0 when the step could be done (the test judges the daemon afterwards).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"

#define SP_REQ0 0x30 /* NNG's protocol number for req v0 */

static int sock_connect(const char *addr)
{
	int fd = -1;

	if (strncmp(addr, "ipc://", 6) == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", addr + 6);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
			goto fail;
		return fd;
	}
	if (strncmp(addr, "tcp://", 6) == 0) {
		char host[64];
		const char *colon = strrchr(addr + 6, ':');
		struct sockaddr_in sin = {.sin_family = AF_INET};
		if (!colon || (size_t)(colon - (addr + 6)) >= sizeof host)
			return -1;
		memcpy(host, addr + 6, (size_t)(colon - (addr + 6)));
		host[colon - (addr + 6)] = '\0';
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
			goto fail;
		return fd;
	}
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;
	while (len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		ssize_t n = recv(fd, p, len, 0);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The SP header exchange, as a req0 peer. */
static int negotiate(int fd)
{
	uint8_t hdr[8] = {0, 'S', 'P', 0, 0, SP_REQ0, 0, 0}, theirs[8];
	if (write_all(fd, hdr, sizeof hdr) != 0 || read_all(fd, theirs, sizeof theirs, 5000) != 0)
		return -1;
	return theirs[1] == 'S' && theirs[2] == 'P' ? 0 : -1;
}

/* ipc frames carry a type byte before the length; tcp frames do not. */
static int send_frame_head(int fd, bool ipc, uint64_t len)
{
	uint8_t h[9];
	size_t o = 0;
	if (ipc)
		h[o++] = 1;
	for (int i = 7; i >= 0; i--)
		h[o++] = (uint8_t)(len >> (8 * i));
	return write_all(fd, h, o);
}

static int do_close(const char *addr, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		int fd = sock_connect(addr);
		if (fd >= 0) {
			close(fd);
			ok++;
		}
	}
	printf("%d of %d connect+close done\n", ok, n);
	return 0;
}

static int do_finrst(const char *addr, int n)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		int fd = sock_connect(addr);
		if (fd < 0)
			continue;
		shutdown(fd, SHUT_WR); /* FIN */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd); /* RST */
		ok++;
	}
	printf("%d of %d FIN+RST done\n", ok, n);
	return 0;
}

static int do_claim(const char *addr, int n, uint64_t bytes, int hold_s)
{
	int fds[1024], ok = 0;
	bool ipc = strncmp(addr, "ipc://", 6) == 0;
	static uint8_t junk[65536];

	memset(junk, 0xa5, sizeof junk);
	if (n > 1024)
		n = 1024;
	for (int i = 0; i < n; i++) {
		fds[i] = sock_connect(addr);
		if (fds[i] < 0 || negotiate(fds[i]) != 0 || send_frame_head(fds[i], ipc, bytes) != 0)
			continue;
		uint64_t left = bytes ? bytes - 1 : 0;
		bool sent = true;
		while (left && sent) {
			size_t k = left < sizeof junk ? (size_t)left : sizeof junk;
			/* a server that refuses the claim closes: stop there */
			struct pollfd pfd = {.fd = fds[i], .events = POLLOUT};
			sent = poll(&pfd, 1, 2000) == 1 && !(pfd.revents & (POLLERR | POLLHUP)) &&
			       write_all(fds[i], junk, k) == 0;
			left -= sent ? k : 0;
		}
		ok += sent;
	}
	printf("%d of %d claims of %llu bytes sent in full\n", ok, n, (unsigned long long)bytes);
	fflush(stdout);
	sleep((unsigned)hold_s);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

static int do_idle(const char *addr, int n, int wait_s)
{
	int fds[1024], ok = 0, closed = 0;
	if (n > 1024)
		n = 1024;
	for (int i = 0; i < n; i++) {
		fds[i] = sock_connect(addr);
		if (fds[i] >= 0 && negotiate(fds[i]) == 0)
			ok++;
	}
	time_t end = time(NULL) + wait_s;
	for (int i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		uint8_t b;
		long left = (long)(end - time(NULL));
		if (read_all(fds[i], &b, 1, left > 0 ? (int)left * 1000 : 0) != 0)
			closed++; /* EOF or reset: the server let it go */
		close(fds[i]);
	}
	printf("%d negotiated, %d closed by the server\n", ok, closed);
	return 0;
}

static int do_noread(const char *addr, int n)
{
	struct wire_request req = {.protocol = AM_CONTROL_PROTOCOL, .op = WIRE_OP_LIST, .limit = 10000};
	bool ipc = strncmp(addr, "ipc://", 6) == 0;
	uint8_t *body;
	size_t len;
	int fd, sent = 0;

	if (wire_request_pack(&req, &body, &len) != 0 || (fd = sock_connect(addr)) < 0 || negotiate(fd) != 0) {
		printf("cannot connect\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		uint8_t id[4] = {0x80, 0, (uint8_t)(i >> 8), (uint8_t)i};
		if (send_frame_head(fd, ipc, 4 + len) != 0 || write_all(fd, id, 4) != 0 ||
		    write_all(fd, body, len) != 0)
			break;
		sent++;
	}
	printf("%d requests sent, reading nothing\n", sent);
	fflush(stdout);
	free(body);
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		goto usage;
	const char *mode = argv[1], *addr = argv[2];
	int n = atoi(argv[3]);
	if (strcmp(mode, "close") == 0)
		return do_close(addr, n);
	if (strcmp(mode, "finrst") == 0)
		return do_finrst(addr, n);
	if (strcmp(mode, "claim") == 0 && argc == 6)
		return do_claim(addr, n, strtoull(argv[4], NULL, 10), atoi(argv[5]));
	if (strcmp(mode, "idle") == 0 && argc == 5)
		return do_idle(addr, n, atoi(argv[4]));
	if (strcmp(mode, "noread") == 0)
		return do_noread(addr, n);
usage:
	fprintf(stderr, "usage: sockpoke close|finrst ADDR N | claim ADDR N BYTES SECONDS | "
	        "idle ADDR N SECONDS | noread ADDR N\n");
	return 2;
}

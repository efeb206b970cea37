/* client.c - synchronous req0 client for the control socket, on a plain
 * Unix socket (client.h says why not NNG). */
#include "client.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* SP over IPC (nanomsg sp-ipc-mapping, as NNG 1.5.2 ipc.c speaks it): each
 * side opens with "\0SP\0", its protocol number (16 bits, big-endian) and two
 * zero bytes; then every message is a type byte 1, a 64-bit big-endian
 * length and that many bytes. req0 (sp-request-reply) puts a 32-bit request
 * id with its top bit set before the body; rep0 echoes it in its answer. */
#define SP_PROTO_REQ0 0x30
#define SP_PROTO_REP0 0x31
#define SP_MSG_TYPE 1
#define SP_ID_LEN 4
#define SP_FRAME_HDR 9
/* client_call's own slot, apart from the caller's pipelining slots */
#define CALL_SLOT CLIENT_SLOTS

struct client {
	int fd;
	bool greeted;   /* the daemon's 8-byte header has been read and checked */
	bool redial;    /* made by client_open: the path can be dialled again */
	uint32_t next_id;
	char path[PATH_MAX];
	struct {
		bool busy;       /* a request was sent; its answer not yet taken */
		uint32_t id;     /* with the top bit set, as on the wire */
		uint8_t *frame;  /* the request as sent, kept to send again */
		size_t frame_len;
		uint8_t *early;  /* its answer, when it came while another was awaited */
		size_t early_len;
	} slot[CLIENT_SLOTS + 1];
};

/* How an exchange failed: the connection ended (worth dialling again), or
 * anything else (timeout, framing, memory). */
enum { IO_CLOSED = -1, IO_FAILED = -2 };

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on c->fd until deadline (monotonic ms). 0, or a reason. */
static const char *wait_fd(struct client *c, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return "timed out";
		struct pollfd p = {.fd = c->fd, .events = events};
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return NULL;
		if (n < 0 && errno != EINTR)
			return strerror(errno);
	}
}

/* Writes all of iov (consumed in place). 0, IO_CLOSED or IO_FAILED with
 * a reason in why. */
static int write_all(struct client *c, struct iovec *iov, int n, int64_t deadline, const char **why)
{
	while (n > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET) {
				*why = "ameshd closed the connection";
				return IO_CLOSED;
			}
			if (errno != EAGAIN) {
				*why = strerror(errno);
				return IO_FAILED;
			}
			if ((*why = wait_fd(c, POLLOUT, deadline)) != NULL)
				return IO_FAILED;
			continue;
		}
		size_t done = (size_t)w;
		for (; n > 0 && done >= iov->iov_len; n--, iov++)
			done -= iov->iov_len;
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

static int read_all(struct client *c, void *buf, size_t len, int64_t deadline, const char **why)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t r = read(c->fd, p, len);
		if (r > 0) {
			p += r, len -= (size_t)r;
			continue;
		}
		if (r == 0 || errno == ECONNRESET) {
			*why = "ameshd closed the connection";
			return IO_CLOSED;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			*why = strerror(errno);
			return IO_FAILED;
		}
		if ((*why = wait_fd(c, POLLIN, deadline)) != NULL)
			return IO_FAILED;
	}
	return 0;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Our SP header, at once: the daemon's is read with the first answer, so a
 * one-request command costs one round trip, not two. */
static int say_hello(struct client *c, int64_t deadline, const char **why)
{
	static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, SP_PROTO_REQ0, 0, 0};
	struct iovec iov = {.iov_base = (void *)hello, .iov_len = sizeof hello};
	c->greeted = false;
	return write_all(c, &iov, 1, deadline, why);
}

/* Reads and checks the daemon's 8-byte SP header. 0, IO_CLOSED or
 * IO_FAILED with a reason in why. */
static int read_greeting(struct client *c, int64_t deadline, const char **why)
{
	uint8_t theirs[8];
	int rv;

	if ((rv = read_all(c, theirs, sizeof theirs, deadline, why)) != 0)
		return rv;
	if (memcmp(theirs, "\0SP\0", 4) != 0 || get_be(theirs + 4, 2) != SP_PROTO_REP0 || theirs[6] != 0 ||
	    theirs[7] != 0) {
		*why = "it does not speak the control protocol (no SP rep0 header: is this an ameshd socket?)";
		return IO_FAILED;
	}
	c->greeted = true;
	return 0;
}

/* A connected non-blocking socket to path, or -1 with errno set. A full
 * listen backlog (EAGAIN: someone floods connections, or the daemon is
 * re-creating its listener) is tried again every 100 ms, ~2 s in all;
 * when patient, a missing or refusing socket too, ~5 s in all (a listener
 * being re-created, listen_guard.h, or a daemon restarting). */
static int dial(const char *path, bool patient)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, e = 0;

	memcpy(sun.sun_path, path, strlen(path) + 1); /* length checked by client_open */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	for (int i = 0, tries = patient ? 50 : 20; i <= tries; i++) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return fd;
		e = errno;
		if (e != EAGAIN && !(patient && (e == ENOENT || e == ECONNREFUSED)))
			break;
		usleep(100000);
	}
	close(fd);
	errno = e;
	return -1;
}

/* The connection ended with answers owed: dial again and send every
 * request still unanswered, as req0 does when its pipe goes (so control
 * requests are idempotent: FIELD-NOTES, NNG). Covers a listener the daemon
 * re-created under us (listen_guard.h), whose old connections it closes
 * unserved, and a daemon restarting. One that stopped is waited for ~5 s,
 * then an error. */
static int redial(struct client *c, int64_t deadline, const char **why)
{
	int fd, rv;

	if (!c->redial) {
		*why = "ameshd closed the connection";
		return IO_FAILED;
	}
	close(c->fd);
	if ((fd = dial(c->path, true)) < 0) {
		c->fd = -1;
		*why = "ameshd closed the connection and is not listening any more";
		return IO_FAILED;
	}
	c->fd = fd;
	if ((rv = say_hello(c, deadline, why)) != 0)
		return rv;
	for (int i = 0; i <= CLIENT_SLOTS; i++) {
		if (!c->slot[i].busy || c->slot[i].early)
			continue;
		struct iovec iov = {.iov_base = c->slot[i].frame, .iov_len = c->slot[i].frame_len};
		if ((rv = write_all(c, &iov, 1, deadline, why)) != 0)
			return rv;
	}
	return 0;
}

#define REDIALS_MAX 8 /* per exchange: a daemon that keeps dropping us is broken */

int client_adopt(struct client **out, int fd, const char *label)
{
	struct client *c;
	const char *why;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		return AM_ENOMEM;
	}
	c->fd = fd;
	snprintf(c->path, sizeof c->path, "%s", label);
	/* ids only tell this connection's requests apart */
	c->next_id = 1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    say_hello(c, now_ms() + CLIENT_TIMEOUT_MS, &why) != 0) {
		client_close(c);
		return AM_ECONNECT;
	}
	*out = c;
	return 0;
}

/* True when path exists and is no socket; what says what it is. */
static bool not_a_socket(const char *path, char *what, size_t whatlen)
{
	struct stat st;

	if (stat(path, &st) != 0 || S_ISSOCK(st.st_mode))
		return false;
	snprintf(what, whatlen, "%s", S_ISDIR(st.st_mode) ? "a directory" : S_ISREG(st.st_mode) ? "a regular file"
	                              : S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or special file");
	return true;
}

/* "owner root, group amesh, mode 0660" of st. */
static void owner_and_mode(const struct stat *st, char *out, size_t outlen)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[16], g[16];

	snprintf(u, sizeof u, "%u", (unsigned)st->st_uid);
	snprintf(g, sizeof g, "%u", (unsigned)st->st_gid);
	snprintf(out, outlen, "owner %s, group %s, mode %04o", pw ? pw->pw_name : u, gr ? gr->gr_name : g,
	         (unsigned)(st->st_mode & 07777));
}

/* Why connecting to path was refused with EACCES: a directory on the way
 * that this user may not pass, or the socket itself (connect needs write
 * permission on it) - and who may. "Permission denied" alone sent the
 * operator to guess between the two, and at which of the directories. */
static void explain_denied(const char *path, char *out, size_t outlen)
{
	char dir[PATH_MAX], om[128];
	struct stat st;
	const char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		dir[slash - path] = '\0';
		if (access(dir, X_OK) != 0 && errno == EACCES) {
			if (stat(dir, &st) == 0)
				owner_and_mode(&st, om, sizeof om);
			else
				snprintf(om, sizeof om, "%s", strerror(errno));
			snprintf(out, outlen, "the directory `%s' on its path is closed to this user (%s): the operators "
			         "who may use the socket need search (x) permission on every directory above it", dir, om);
			return;
		}
		snprintf(dir, sizeof dir, "%s", path);
	}
	if (stat(path, &st) == 0) {
		/* getpwuid and getgrgid answer in static buffers: copy each out */
		struct passwd *pw = getpwuid(geteuid());
		char me[64], group[64];
		if (pw)
			snprintf(me, sizeof me, "%s", pw->pw_name);
		else
			snprintf(me, sizeof me, "%u", (unsigned)geteuid());
		struct group *gr = getgrgid(st.st_gid);
		snprintf(group, sizeof group, "%s", gr ? gr->gr_name : "GROUP");
		owner_and_mode(&st, om, sizeof om);
		snprintf(out, outlen, "the control socket is %s and this user (%s) may not write to it: run amesh as "
		         "its owner, or as a member of its group (usermod -aG %s %s, then log in again)", om, me, group,
		         me);
		return;
	}
	snprintf(out, outlen, "%s", strerror(EACCES));
}

int client_open(struct client **out, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	char what[32];
	int fd, rv;

	*out = NULL;
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "cannot connect to ameshd: the socket path is %zu bytes, a Unix socket's at most %zu (`%s')",
		         strlen(path), sizeof sun.sun_path - 1, path);
		return AM_ECONNECT;
	}
	/* not patient: "not running" is reported at once */
	if ((fd = dial(path, false)) < 0) {
		int e = errno;
		if (e == ENOENT) /* "Connection refused" misleads when there is no socket at all */
			snprintf(err, errlen, "cannot connect to ameshd at `%s': the control socket does not exist "
			         "(ameshd is not running, or the path is wrong; pick the peer with -s SOCKET, "
			         "-c CONFIG or AMESH_SOCKET)", path);
		else if ((e == ECONNREFUSED || e == ENOTSOCK) && not_a_socket(path, what, sizeof what))
			/* a file, a directory or a FIFO also answer "Connection refused" */
			snprintf(err, errlen, "cannot connect to ameshd at `%s': it is %s, not a socket (the path "
			         "is wrong; pick the peer's control socket with -s SOCKET, -c CONFIG or "
			         "AMESH_SOCKET)", path, what);
		else if (e == ECONNREFUSED)
			snprintf(err, errlen, "cannot connect to ameshd at `%s': %s (nothing listens on it: "
			         "is ameshd running? pick the peer with -s SOCKET, -c CONFIG or AMESH_SOCKET)",
			         path, strerror(e));
		else if (e == EACCES || e == EPERM) {
			char why[PATH_MAX + 300];
			explain_denied(path, why, sizeof why);
			snprintf(err, errlen, "cannot connect to ameshd at `%s': %s: %s", path, strerror(e), why);
		} else
			snprintf(err, errlen, "cannot connect to ameshd at `%s': %s", path, strerror(e));
		return AM_ECONNECT;
	}
	if ((rv = client_adopt(out, fd, path)) != 0) {
		snprintf(err, errlen, "cannot connect to ameshd at `%s': %s", path,
		         rv == AM_ENOMEM ? "out of memory" : "it closed the connection at once");
		return rv;
	}
	(*out)->redial = true;
	return 0;
}

void client_close(struct client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (int i = 0; i <= CLIENT_SLOTS; i++) {
		free(c->slot[i].frame);
		free(c->slot[i].early);
	}
	free(c);
}

static int send_slot(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + CLIENT_TIMEOUT_MS;
	uint8_t *body = NULL, *frame;
	size_t len;
	const char *why;
	int rv;

	if (c->slot[slot].busy) {
		snprintf(err, errlen, "request slot %d is still waiting for its answer", slot);
		return AM_EINVAL;
	}
	req->protocol = AM_CONTROL_PROTOCOL;
	if ((rv = wire_request_pack(req, &body, &len)) != 0) {
		snprintf(err, errlen, "cannot encode request: %s", am_strerror(rv));
		return rv;
	}
	/* one buffer, kept until answered: it may have to go again (redial) */
	if ((frame = malloc(SP_FRAME_HDR + SP_ID_LEN + len)) == NULL) {
		free(body);
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	uint32_t id = 0x80000000u | (c->next_id++ & 0x7fffffffu);
	frame[0] = SP_MSG_TYPE;
	put_be(frame + 1, SP_ID_LEN + (uint64_t)len, 8);
	put_be(frame + SP_FRAME_HDR, id, SP_ID_LEN);
	memcpy(frame + SP_FRAME_HDR + SP_ID_LEN, body, len);
	free(body);
	free(c->slot[slot].frame);
	c->slot[slot].frame = frame;
	c->slot[slot].frame_len = SP_FRAME_HDR + SP_ID_LEN + len;
	c->slot[slot].id = id;
	c->slot[slot].busy = true;
	struct iovec iov = {.iov_base = frame, .iov_len = c->slot[slot].frame_len};
	rv = write_all(c, &iov, 1, deadline, &why);
	for (int n = 0; rv == IO_CLOSED && n < REDIALS_MAX; n++) {
		/* A server that greeted in another protocol and hung up before our
		 * request went out left its header unread: name it, rather than
		 * dial again a listener that may never answer (unit_client caught
		 * it timing out ~1 run in 100 under load). A closed peer's bytes
		 * are still readable, so this never waits. */
		if (!c->greeted && read_greeting(c, deadline, &why) == IO_FAILED) {
			rv = IO_FAILED;
			break;
		}
		rv = redial(c, deadline, &why); /* sends this one too */
	}
	if (rv != 0) {
		c->slot[slot].busy = false;
		snprintf(err, errlen, "cannot send to ameshd at %s: %s", c->path, why);
		return AM_ECONNECT;
	}
	return 0;
}

/* Reads one answer frame; *body (caller frees) is what follows the id.
 * 0, IO_CLOSED or IO_FAILED with a reason in why. */
static int read_frame(struct client *c, int64_t deadline, uint32_t *id, uint8_t **body, size_t *len,
                      const char **why)
{
	uint8_t hdr[SP_FRAME_HDR + SP_ID_LEN];
	int rv;

	*body = NULL;
	if (!c->greeted && (rv = read_greeting(c, deadline, why)) != 0)
		return rv;
	if ((rv = read_all(c, hdr, sizeof hdr, deadline, why)) != 0)
		return rv;
	uint64_t n = get_be(hdr + 1, 8);
	if (hdr[0] != SP_MSG_TYPE || n < SP_ID_LEN || n - SP_ID_LEN > AM_CONTROL_MSG_MAX) {
		*why = hdr[0] != SP_MSG_TYPE ? "bad frame type" : n < SP_ID_LEN ? "frame too short for a request id"
		                                                                 : "answer over AM_CONTROL_MSG_MAX";
		return IO_FAILED;
	}
	*id = (uint32_t)get_be(hdr + SP_FRAME_HDR, SP_ID_LEN);
	*len = (size_t)(n - SP_ID_LEN);
	/* +1: malloc(0) may be NULL */
	if ((*body = malloc(*len + 1)) == NULL) {
		*why = "out of memory";
		return IO_FAILED;
	}
	if ((rv = read_all(c, *body, *len, deadline, why)) != 0) {
		free(*body);
		*body = NULL;
		return rv;
	}
	return 0;
}

static int recv_slot(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen)
{
	int64_t deadline = now_ms() + CLIENT_TIMEOUT_MS;
	uint8_t *body = NULL;
	size_t len = 0;
	const char *why;
	int redials = 0;

	memset(resp, 0, sizeof *resp);
	if (!c->slot[slot].busy)
		return AM_EINVAL;
	if (c->slot[slot].early) {
		body = c->slot[slot].early, len = c->slot[slot].early_len;
		c->slot[slot].early = NULL;
	}
	while (!body) {
		uint32_t id;
		int rv = read_frame(c, deadline, &id, &body, &len, &why);
		while (rv == IO_CLOSED && redials++ < REDIALS_MAX)
			rv = redial(c, deadline, &why);
		if (rv == 0 && !body)
			continue; /* dialled again: read on the new connection */
		if (rv != 0) {
			snprintf(err, errlen, "no answer from ameshd at %s: %s", c->path, why);
			return AM_ECONNECT;
		}
		if (id == c->slot[slot].id)
			break;
		int other = -1;
		for (int i = 0; i <= CLIENT_SLOTS; i++)
			if (i != slot && c->slot[i].busy && !c->slot[i].early && c->slot[i].id == id)
				other = i;
		if (other >= 0) {
			c->slot[other].early = body, c->slot[other].early_len = len;
		} else {
			/* no request of ours has that id (req0 drops such answers) */
			free(body);
		}
		body = NULL;
	}
	c->slot[slot].busy = false;
	free(c->slot[slot].frame);
	c->slot[slot].frame = NULL;
	int rv = wire_response_unpack(body, len, resp, err, errlen);
	free(body);
	return rv;
}

int client_send(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen)
{
	if (slot < 0 || slot >= CLIENT_SLOTS)
		return AM_EINVAL;
	return send_slot(c, slot, req, err, errlen);
}

int client_recv(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen)
{
	memset(resp, 0, sizeof *resp);
	if (slot < 0 || slot >= CLIENT_SLOTS)
		return AM_EINVAL;
	return recv_slot(c, slot, resp, err, errlen);
}

int client_call(struct client *c, struct wire_request *req, struct wire_response *resp,
                char *err, size_t errlen)
{
	int rv;

	memset(resp, 0, sizeof *resp);
	if ((rv = send_slot(c, CALL_SLOT, req, err, errlen)) != 0)
		return rv;
	return recv_slot(c, CALL_SLOT, resp, err, errlen);
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

int client_reload(const char *path, char *err, size_t errlen)
{
	struct wire_request req = {.op = WIRE_OP_RELOAD};
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

/*
 * client.h - talking to a running ameshd over its control socket.
 *
 * The daemon serves the socket with NNG (rep0 over ipc); the client speaks
 * the same wire - SP over IPC (nanomsg sp-ipc-mapping) with req0 request
 * ids (sp-request-reply) - on a plain blocking-with-deadline Unix socket.
 * Why not NNG here: a CLI lives for one request, and NNG 1.5.2 starts 13
 * threads (task queue, expiry, resolver, poller, reaper) before it can dial
 * one, which was ~5 ms of the CLI's ~9 ms of CPU per submit on the 2-core
 * test machine and sat on the critical path of every operator change
 * (issue 13). The framing is a header and a length; the daemon's side, with
 * the per-client shares and limits that matter, stays NNG's.
 *
 * The connection is made synchronously, so "daemon not running" is
 * reported at once. Answers are capped at AM_CONTROL_MSG_MAX before any
 * allocation, and every send and receive has a CLIENT_TIMEOUT_MS deadline
 * so a wedged daemon cannot hang scripts forever. Not thread-safe: one
 * thread per client.
 */
#ifndef AMESH_CLIENT_H
#define AMESH_CLIENT_H

#include "wire.h"

#define CLIENT_TIMEOUT_MS 60000

struct client;

/* Connects to the socket at path (a file path, not a URL). On failure err
 * says what and why in one line, e.g. "cannot connect to ameshd at
 * /x/run/amesh.sock: no such file (is the daemon running?)". */
int client_open(struct client **out, const char *path, char *err, size_t errlen);
/* Wraps fd, a connected stream socket whose other end speaks rep0 (one end
 * of a socketpair in tests and the fuzz target), and sends our SP header.
 * c owns fd from here, on failure too (closed). label names the other end
 * in error messages. 0, AM_ENOMEM, or AM_ECONNECT when the header cannot
 * be sent. */
int client_adopt(struct client **out, int fd, const char *label);
/* Closes and frees c (NULL ok); answers still owed are dropped. */
void client_close(struct client *c);

/* Sends req (protocol set here) and waits for the response, which the
 * caller clears with wire_response_clear. Returns 0 when a response arrived
 * - its status may still be an error - or, with err filled: AM_ECONNECT
 * when the daemon closed the connection, timed out or broke the framing
 * ("no answer from ameshd at PATH: timed out"), AM_EPROTO / AM_ETOOBIG and
 * the like from decoding the request or the answer (wire.h). */
int client_call(struct client *c, struct wire_request *req, struct wire_response *resp,
                char *err, size_t errlen);

/* Pipelining for bulk work: requests in flight at once on one connection,
 * each under its own req0 id, so the daemon answers one while the caller
 * prints the last. For each slot, client_send then client_recv; slots are
 * independent, and an answer that comes for one slot while another is
 * awaited is kept for it. client_send on a slot still awaiting its answer
 * is AM_EINVAL. Errors as client_call's. */
#define CLIENT_SLOTS 2
int client_send(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen);
int client_recv(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen);

/* Convenience for tools: one request to the daemon at socket path.
 * Returns 0, AM_ECONNECT when no daemon answers there (err says so), or the
 * daemon's error status with its message in err. */
int client_reload_trust(const char *path, const char *what, char *err, size_t errlen);
/* Asks the daemon to reload its config and trust store (as SIGHUP) and
 * waits for the outcome: 0 in force, else its am_err with err saying why
 * the running configuration stays. */
int client_reload(const char *path, char *err, size_t errlen);
int client_publish(const char *path, const uint8_t *env, size_t len, char *err, size_t errlen);

#endif

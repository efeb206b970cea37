/*
 * client.h - talking to a running ameshd over its control socket.
 *
 * The daemon serves the control socket with NNG (rep0 over ipc); this side
 * speaks the same SP protocol over a plain Unix socket, with no NNG: the
 * amesh CLI is a process per command, and NNG 1.5.2 starts about a dozen
 * threads (poller, task queues, expiry, resolver, timer, reaper) at its
 * first socket - ~0.5 ms of every command before it could connect - and
 * moves each message through two of them, with no way to ask for fewer in
 * 1.5.2 (nng_init_set_parameter came with 1.8). Issue 13 counts that time
 * in "submit -> held by all". The protocol is small and fixed (the SP IPC
 * mapping and request/reply: an 8-byte handshake, then frames of a type
 * byte, a 64-bit length and a 32-bit request id before the body; client.c
 * says more), and every integration test runs the daemon's real NNG on the
 * other end.
 *
 * Connecting is synchronous, so "daemon not running" is reported at once.
 * Replies are capped at AM_CONTROL_MSG_MAX before anything is allocated,
 * and every wait is bounded by CLIENT_TIMEOUT_MS so a wedged daemon cannot
 * hang scripts forever. A signal does not end a wait.
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
/* The same over a connected stream socket fd (taken over: closed on
 * failure and by client_close); name is what messages call the daemon.
 * For tests and the fuzz target. */
int client_open_fd(struct client **out, int fd, const char *name, char *err, size_t errlen);
/* Closes and frees c (NULL ok). A reply still owed is dropped. */
void client_close(struct client *c);

/* Sends req (protocol set here) and waits for the response, which the
 * caller clears with wire_response_clear. Returns 0 when a response arrived
 * - its status may still be an error - or a transport/decoding error with
 * err filled. */
int client_call(struct client *c, struct wire_request *req, struct wire_response *resp,
                char *err, size_t errlen);

/* Pipelining for bulk work: requests in flight at once (the daemon's
 * contexts answer them in any order; the request id pairs each reply with
 * its slot), so the daemon answers one while the caller prints the last.
 * For each slot, client_send then client_recv; slots are independent. */
#define CLIENT_SLOTS 2
int client_send(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen);
int client_recv(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen);

/* The framing's checks, for tests and the fuzz target. */
#define CLIENT_HANDSHAKE 8
#define CLIENT_FRAME_HDR 9
/* 0 when hs is rep0's handshake, else AM_EPROTO with err saying what came. */
int client_handshake_check(const uint8_t hs[CLIENT_HANDSHAKE], char *err, size_t errlen);
/* A frame header: type 1 and a length from 4 (the request id) to
 * AM_CONTROL_MSG_MAX + 4, put in *len; else AM_EDECODE with err filled. */
int client_frame_check(const uint8_t hdr[CLIENT_FRAME_HDR], uint64_t *len, char *err, size_t errlen);

/* Convenience for tools: one request to the daemon at socket path.
 * Returns 0, AM_ECONNECT when no daemon answers there (err says so), or the
 * daemon's error status with its message in err. */
int client_reload_trust(const char *path, const char *what, char *err, size_t errlen);
int client_publish(const char *path, const uint8_t *env, size_t len, char *err, size_t errlen);

#endif

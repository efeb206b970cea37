/*
 * client.h - talking to a running ameshd over its control socket.
 *
 * One req0 socket per client, dialled synchronously so "daemon not running"
 * is reported at once instead of after a retry loop. Responses are capped
 * at AM_CONTROL_MSG_MAX by NNG_OPT_RECVMAXSZ and a receive timeout stops a
 * wedged daemon from hanging scripts forever.
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
/* Closes and frees c (NULL ok). When a reply is still owed (a send or a
 * receive failed or timed out), the socket is left open to the kernel
 * instead: closing it while that reply arrives can wedge NNG 1.5.2
 * (nngexit.h). Callers then report the error and exit. */
void client_close(struct client *c);

/* Sends req (protocol set here) and waits for the response, which the
 * caller clears with wire_response_clear. Returns 0 when a response arrived
 * - its status may still be an error - or a transport/decoding error with
 * err filled. */
int client_call(struct client *c, struct wire_request *req, struct wire_response *resp,
                char *err, size_t errlen);

/* Pipelining for bulk work: requests in flight on separate NNG contexts,
 * so the daemon answers one while the caller prints the last. For each
 * slot, client_send then client_recv; slots are independent. */
#define CLIENT_SLOTS 2
int client_send(struct client *c, int slot, struct wire_request *req, char *err, size_t errlen);
int client_recv(struct client *c, int slot, struct wire_response *resp, char *err, size_t errlen);

/* Convenience for tools: one request to the daemon at socket path.
 * Returns 0, AM_ECONNECT when no daemon answers there (err says so), or the
 * daemon's error status with its message in err. */
int client_reload_trust(const char *path, const char *what, char *err, size_t errlen);
int client_publish(const char *path, const uint8_t *env, size_t len, char *err, size_t errlen);

#endif

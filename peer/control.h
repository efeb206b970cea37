/*
 * control.h - the operator's control socket: NNG rep0 over ipc://.
 *
 * Design: control_handle() turns one request's bytes into one response's
 * bytes and knows nothing about sockets, so tests and the fuzzer drive it
 * directly; control_open() puts it behind an NNG rep0 socket with a few
 * contexts served by aio callbacks (blocking receives are several times
 * slower in NNG 1.5, see FIELD-NOTES). Each command is a do_<cmd> handler
 * (Unbound's remote.c layout).
 *
 * Safety: the socket lives in a directory that is not world-accessible and
 * the socket itself is 0660 (NNG_OPT_IPC_PERMISSIONS ignores the umask).
 * Requests over AM_CONTROL_MSG_MAX are dropped by NNG before we see them
 * (NNG_OPT_RECVMAXSZ) and every request carries the control protocol
 * version, checked before anything else.
 *
 * Holding up: the listener is under the listen guard (nnglisten.h), so a
 * client that drops its connection mid-handshake cannot deafen the socket
 * (nng#1518). One client process holds at most CONTROL_PER_CLIENT (4) of
 * the 12 workers; requests beyond that are left unanswered (NNG's req
 * resends them) - the CLI keeps at most 2 in flight. Every answer is sent
 * with a 5 s deadline; a client that lets one expire is ignored for 60 s,
 * so a client that sends and never reads cannot park the workers (its
 * connection is left open: closing a pipe that is receiving can wedge NNG
 * 1.5.2, see the README).
 *
 * Shutdown: workers are stopped and joined and their contexts closed
 * before the socket (closing an NNG 1.5.2 socket under a worker that is in
 * nng_ctx_send panics).
 */
#ifndef AMESH_CONTROL_H
#define AMESH_CONTROL_H

#include "allowlist.h"
#include "apply.h"
#include "audit.h"
#include "config.h"
#include "events.h"
#include "keyfile.h"
#include "ownkeys.h"
#include "listen_guard.h"
#include "mesh.h"
#include "model.h"
#include "store.h"

struct metrics;
struct rpz;
struct dns;
struct rpz_feed;
struct reload_status;

struct sighting_zones; /* sighting_store.h */

/* What handlers work with. Borrowed: must outlive the control server. */
struct control_env {
	struct store *store;
	const struct config *cfg;
	const struct keyfile_secret *key; /* this peer's identity */
	const struct ownkeys *retired;    /* its retired keys (ownkeys.h): they withdraw what they signed; may be NULL */
	uint64_t started_at;              /* Unix seconds */
	struct mesh *mesh;                /* NULL when the peer has no mesh */
	struct events *events;            /* live feed for watchers; NULL = none */
	struct audit *audit;              /* the audit trail; NULL = none */
	const char *audit_path;           /* for reading it back (amesh audit, report) */
	struct control_allow *allow;      /* allowlist in force; NULL = none */
	struct metrics *metrics;          /* counts requests and their latency; NULL = none */
	struct apply *apply;              /* the one way in for changes (apply.h); NULL = read-only */
	struct rpz *rpz;                  /* response policy zones; NULL = none */
	struct dns *dns;                  /* their DNS server; NULL = none */
	struct listen_guard *guard;       /* keeps the listener accepting; NULL = none */
	struct rpz_feed *rpz_feed;        /* their feed: the zones in force; NULL = none */
	struct reload_status *reload;     /* the last reload (SIGHUP), for status; NULL = none */
	/* `amesh reload': the daemon's one reload (ameshd.c, SIGHUP's too);
	 * 0 once in force, else an am_err with err saying why the running
	 * configuration stays. NULL: refused as not supported here. */
	int (*reload_run)(void *arg, char *err, size_t errlen);
	void *reload_arg;
	/* what a reload changes that requests read (below); NULL: cfg's */
	struct control_settings *settings;
	/* the [rpz] zones imported hits are attributed by, as reloaded
	 * (sighting_store.h); NULL: cfg's */
	struct sighting_zones *sighting_zones;
};

/* The [peer] settings a reload changes that requests judge by -
 * max_lifetime and default_tlp (submissions), dispute_deadline, the
 * verdict's origin_weights, default_weight, decay and thresholds (query,
 * export). cfg is the configuration ameshd started with: read from it,
 * a reload that set origin_weights or block_threshold left `amesh query'
 * judging by the old ones while the zones took the new. Swapped whole on
 * a reload, read under its lock. */
struct control_settings;
int control_settings_new(struct control_settings **out, const struct config *cfg);
void control_settings_set(struct control_settings *cs, const struct config *cfg);
void control_settings_free(struct control_settings *cs);
/* The settings in force (env->settings, else env->cfg's) */
uint64_t control_max_lifetime(const struct control_env *env);
uint64_t control_dispute_deadline(const struct control_env *env); /* 0 = DISPUTE_DEADLINE_DEFAULT */

/* The allowlist in force, swappable on SIGHUP while queries run. */
struct control_allow;
int control_allow_new(struct control_allow **out);
/* Replaces the allowlist (takes ownership of a; NULL = none) and frees the old one. */
void control_allow_set(struct control_allow *ca, struct allowlist *a);
void control_allow_free(struct control_allow *ca);
/* What the allowlist in force covers of a normalised name (allowlist.h's
 * coverage): CONTROL_ALLOW_NAME for the name itself, CONTROL_ALLOW_BELOW
 * for every name below it; 0 = neither. */
#define CONTROL_ALLOW_NAME 1u
#define CONTROL_ALLOW_BELOW 2u
unsigned control_allow_covers(struct control_allow *ca, const char *name);
/* allowlist_below on the allowlist in force (0 when none), under its lock:
 * fn must not call back into ca. */
int control_allow_below(struct control_allow *ca, const char *name, int (*fn)(void *arg, const char *name),
                        void *arg);

/* Handles one request. Always produces a response (errors are encoded in
 * it) unless memory runs out. *resp is malloc'd; the caller frees it.
 * Returns 0 or AM_ENOMEM. */
int control_handle(const struct control_env *env, const uint8_t *req, size_t req_len,
                   uint8_t **resp, size_t *resp_len);

struct control;

/* Creates the socket directory if needed (0750), refuses one that others
 * can enter, listens on ipc://socket_path and starts serving. */
int control_open(struct control **out, const struct control_env *env,
                 const char *socket_path, char *err, size_t errlen);
/* Stops serving, waits for in-flight requests, removes the socket. A
 * watcher's long-poll ends within its 5 s wait (at once after
 * events_shutdown). NULL ok. */
void control_close(struct control *c);
/* How often the guard had to re-create the listener. */
uint64_t control_listener_restarts(const struct control *c);
/* Clients currently ignored for leaving answers unread. */
int control_stalled_clients(struct control *c);

#endif

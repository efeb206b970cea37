/*
 * reload_status.h - what became of the last reload (SIGHUP): when, applied
 * or refused, and why, for `amesh status' and the metrics endpoint.
 *
 * A refused reload keeps the running configuration, and before this only
 * the log said so: an operator who edited the file and sent SIGHUP saw
 * nothing in `amesh status' or in Prometheus telling them the file they
 * read was not the one in force. The daemon's reload fills this record as
 * it goes (every problem, and every change that waits for a restart, is a
 * message), and the control and metrics threads read a copy of it.
 *
 * Threads: one writer (the daemon's signal loop), any number of readers;
 * one mutex, held only to copy.
 */
#ifndef AMESH_RELOAD_STATUS_H
#define AMESH_RELOAD_STATUS_H

#include <stddef.h>
#include <stdint.h>

enum reload_result {
	RELOAD_NONE = 0, /* no SIGHUP since start */
	RELOAD_APPLIED,  /* the file is in force (messages: what waits for a restart) */
	RELOAD_REFUSED,  /* the file was refused; the configuration before it stays */
};

/* Messages kept per reload: the first ones (a file with hundreds of
 * problems is named by its first), then a count of the rest. */
#define RELOAD_STATUS_MESSAGES 16
#define RELOAD_STATUS_MESSAGE_LEN 384

/* A copy of the record: the caller's, no lock. */
struct reload_snapshot {
	uint64_t config_loaded_at; /* Unix seconds the configuration in force was read (start or last applied) */
	uint64_t last_at;          /* last SIGHUP, 0 = none */
	enum reload_result result;
	uint64_t applied_total, refused_total;
	size_t n_messages;
	size_t messages_dropped; /* beyond RELOAD_STATUS_MESSAGES */
	char messages[RELOAD_STATUS_MESSAGES][RELOAD_STATUS_MESSAGE_LEN];
};

struct reload_status;

/* loaded_at: when the configuration in force was read (start). Returns 0
 * or AM_ENOMEM; *out NULL on failure. */
int reload_status_new(struct reload_status **out, uint64_t loaded_at);
void reload_status_free(struct reload_status *rs); /* NULL ok */

/* A reload starts at `at': its messages are cleared, the result is not
 * known yet (readers keep seeing the last one until reload_status_end). */
void reload_status_begin(struct reload_status *rs, uint64_t at);
/* One message of the reload in progress (one line; control characters
 * are the logger's and the reader's to escape). */
void reload_status_add(struct reload_status *rs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The reload ended: applied (the file is in force from now) or refused. */
void reload_status_end(struct reload_status *rs, enum reload_result result);

/* Copies the record into *out. rs NULL: a record with no reload. */
void reload_status_get(struct reload_status *rs, struct reload_snapshot *out);

/* "applied", "refused", or "" for RELOAD_NONE. */
const char *reload_result_name(enum reload_result r);

#endif

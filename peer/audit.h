/*
 * audit.h - the append-only, hash-chained audit trail (transparency and due
 * process): every decision this peer takes about an indicator or a key.
 *
 * One record per line in a text file (audit.log in the data directory):
 *
 *   <seq> <time RFC3339> <event> <domain|-> <category|-> <origin keyid|-> <neighbour|-> <rule|-> <detail> <hash>
 *
 * fields separated by single spaces, detail percent-encoded so it has no
 * spaces or newlines; hash = hex BLAKE2b-256(previous hash || the line up to
 * and including the space before the hash). The first record chains from 32
 * zero bytes, or from the `anchor` of a pruned file (see retention). Any
 * edit, insertion, deletion or reordering breaks the chain at that line,
 * which audit_verify reports.
 *
 * Events: received, accepted, rejected, relayed (put in a batch sent to the
 * neighbour - at send, not at its acknowledgement: a batch that did not
 * arrive is sent and recorded again), originated, withdrawn,
 * expired, trust_added, trust_removed, trust_revoked, key_rotated,
 * rotation_pending, allowlisted, disputed, dispute_answered, dispute_relayed
 * (dispute_audit.h; at send, as relayed), held_back (an indicator, withdrawal or dispute kept
 * from a neighbour: the neighbour, and the policy rule that kept it),
 * set_aside (an indicator accepted from a neighbour that its import policy,
 * narrowed since, refuses: the neighbour and the rule; apply.h),
 * origin_hidden and origin_shown (every indicator of an origin stopped
 * counting, or counts again, by a trust change: the origin's key id, the
 * cause as rule; apply.h), audit_gap (written by this module before the
 * first record that goes down after failed writes - disk full, I/O
 * error - dropped records: how many, and the times of the first and
 * last; no name, and every query for a name gets it).
 *
 * Retention: records older than the retention period are pruned by
 * rewriting the file (atomically) starting with an anchor record that
 * carries the hash of the last pruned record, so the rest still verifies.
 *
 * Threads: audit_append is thread-safe (one mutex; lines are written with
 * one write(2) each - or a batch of held lines with one, audit_hold - the
 * file opened O_APPEND). Appends are buffered by the
 * OS, fsynced every audit_flush or when asked: an audit record may be lost
 * in a crash, never corrupted - the chain verifies up to the last full line.
 */
#ifndef AMESH_AUDIT_H
#define AMESH_AUDIT_H

#include <stdbool.h>

#include "model.h"

#define AUDIT_LINE_MAX 2048
#define AUDIT_DETAIL_MAX 512

struct audit;

struct audit_event {
	const char *event;        /* one of the names above */
	const char *domain;       /* NULL = "-" */
	enum am_category category;/* AM_CAT_NONE = "-" */
	const uint8_t *origin;    /* 32 bytes or NULL */
	const char *neighbour;    /* NULL = "-" */
	const char *rule;         /* the rule that decided, NULL = "-" */
	const char *detail;       /* free text, encoded on write; NULL = "" */
};

/* Opens (creating, 0600) path; reads its last record to continue the chain
 * (a torn last line from a crash is cut off and reported in err as a
 * warning, rv 0). */
int audit_open(struct audit **out, const char *path, char *err, size_t errlen);
void audit_close(struct audit *a);
int audit_append(struct audit *a, uint64_t now, const struct audit_event *e);
int audit_flush(struct audit *a);

/* Holding records to write them together (issue 13: one write(2) per
 * batch of a sync, not per record). audit_hold builds e's record, chained
 * after the last one held or written, and keeps it in memory; once
 * AUDIT_HOLD_MAX bytes are held they are written. audit_release writes
 * every held record (any thread's: the file and the chain have one order)
 * with one write(2). audit_append, audit_flush, audit_prune and
 * audit_close write held records before their own. A caller that holds
 * releases when its batch is done, under the same rules as audit_append:
 * a record may be lost in a crash (here also one held and not yet
 * released), never corrupted; a failed write drops the held records and
 * returns AM_EIO. Thread-safe. */
#define AUDIT_HOLD_MAX (64 * 1024)
int audit_hold(struct audit *a, uint64_t now, const struct audit_event *e);
int audit_release(struct audit *a);

/* Reads the file at path as audit_open does, changing nothing: 0 when the
 * daemon would continue its chain - *torn then says whether it would cut
 * an incomplete last line first - or audit_open's error (AM_EDECODE: a
 * broken chain, which the daemon refuses to continue; AM_EIO) with err
 * saying what and where ("line N: ..."). For `ameshd --check'. */
int audit_check(const char *path, bool *torn, char *err, size_t errlen);

/* Verifies the whole chain of the file at path. Returns 0 and *records, or
 * AM_EDECODE with *bad_line (1-based) and err saying what is wrong there. */
int audit_verify(const char *path, uint64_t *records, uint64_t *bad_line, char *err, size_t errlen);

/* Reads records in order, calling fn with each parsed record (fields
 * decoded); filter by domain (the name, its parents and children, and the
 * records without a name about the key of an origin one of those records
 * names - origin_hidden, say - read after it; NULL = all) and by time
 * (since, 0 = all). */
struct audit_record {
	uint64_t seq, time;
	char event[32];
	char domain[AM_DOMAIN_MAX + 1];
	enum am_category category;
	char origin[17];
	char neighbour[64];
	char rule[64];
	char detail[AUDIT_DETAIL_MAX + 1];
};
typedef int (*audit_fn)(void *arg, const struct audit_record *r);
int audit_read(const char *path, const char *domain, uint64_t since, audit_fn fn, void *arg,
               char *err, size_t errlen);

/* The event names above, for filters: audit_event_name(i) for i from 0
 * until it returns NULL (static strings). audit_events_parse reads a
 * comma-separated list of them ("accepted,relayed") into *mask (any case), bit i
 * for audit_event_name(i); returns 0, or AM_EINVAL with err quoting the
 * first unknown (or empty) name and naming every known one. */
const char *audit_event_name(size_t i);
int audit_events_parse(const char *list, uint32_t *mask, char *err, size_t errlen);
/* The bit of event in a mask from audit_events_parse; 0 when unknown. */
uint32_t audit_event_bit(const char *event);

/* Prunes records older than now - retention (see above). */
int audit_prune(struct audit *a, uint64_t now, uint64_t retention, char *err, size_t errlen);

#endif

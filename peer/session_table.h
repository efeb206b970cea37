/*
 * session_table.h - a listener's established link sessions, found by the
 * session id a Sealed frame carries in clear.
 *
 * The rules that keep one neighbour from hurting the others (issue 8,
 * items 11 and 12) live here, in one place:
 * - at most `per_owner' sessions per neighbour: a neighbour that
 *   handshakes again and again only ever evicts its own oldest session;
 *   when the whole table is full the least recently used session goes;
 * - a session is used at most SESSION_MAX_AGE seconds after it was kept,
 *   then dropped (the initiator re-keys before that);
 * - "recently used" moves only when a frame authenticates: the session id
 *   travels in clear, so anyone could otherwise keep a session alive;
 * - session_table_prune drops every session whose key is no longer
 *   accepted, on every trust change.
 *
 * Owners are opaque pointers (mesh.c's neighbours); the table never
 * dereferences them. One mutex guards the table and is held for an open or
 * a seal (microseconds: frames are bounded, and the replay window update is
 * bounded by SESSION_WINDOW).
 */
#ifndef AMESH_SESSION_TABLE_H
#define AMESH_SESSION_TABLE_H

#include <stdbool.h>

#include "session.h"

struct session_table;

/* slots >= 1, 1 <= per_owner <= slots. Returns 0, AM_EINVAL or AM_ENOMEM. */
int session_table_new(struct session_table **out, unsigned slots, unsigned per_owner);
/* Frees every session in it; NULL ok. */
void session_table_free(struct session_table *t);

/* Takes ownership of s (freed here on any outcome but success, which
 * cannot fail) for owner, kept at now (Unix seconds). */
void session_table_keep(struct session_table *t, struct session *s, void *owner, uint64_t now);

/* Opens a Sealed frame (session_open) on session sid. AM_ENOTFOUND when
 * there is no such session, or it is older than SESSION_MAX_AGE (then it
 * is dropped); otherwise session_open's result. Only success refreshes the
 * session's last use and sets *owner. *pt as session_open. */
int session_table_open(struct session_table *t, const uint8_t sid[SESSION_ID_BYTES],
                       const uint8_t *frame, size_t len, uint64_t now, uint8_t **pt, size_t *plen,
                       void **owner);
/* Seals a reply on session sid (session_seal). AM_ENOTFOUND when it is gone. */
int session_table_seal(struct session_table *t, const uint8_t sid[SESSION_ID_BYTES],
                       const uint8_t *pt, size_t len, uint8_t **frame, size_t *flen);

/* Drops every session for which keep(arg, peer key, owner) is false;
 * returns how many. keep runs under the table lock: it must not call back
 * into the table. */
typedef bool (*session_table_keep_fn)(void *arg, const uint8_t pk[AM_KEY_BYTES], void *owner);
size_t session_table_prune(struct session_table *t, session_table_keep_fn keep, void *arg);
/* Drops every session of owner; returns how many. */
size_t session_table_drop_owner(struct session_table *t, void *owner);
/* Sessions held for owner (NULL: all). */
size_t session_table_count(struct session_table *t, void *owner);

#endif

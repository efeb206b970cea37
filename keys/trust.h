/*
 * trust.h - the trust store: whom this peer trusts, by name and pinned key.
 *
 * One source of truth for keys: neighbours (peers we link to) and origins
 * (parties whose indicators may reach us through relays) are named entries
 * here, and policies refer to names - rotating a key never means editing a
 * policy. File format (INI, one section per party, written by the tools,
 * readable by people):
 *
 *   [apnic]
 *   key = amesh-ed25519 RWS...  apnic-2026
 *   role = neighbour            ; or origin
 *   note = APNIC security team, verified by phone 2026-11-20
 *   added = 2026-11-23T10:00:00Z
 *   ; revoked = 2026-12-01T00:00:00Z
 *   ; revoke_reason = key leaked
 *
 * Keys change without a central authority: the holder of the current key
 * offers a rotation (a statement signed by the old and the new key,
 * statement.h), and the entry remembers it until it is applied:
 *
 *   pending = amesh-ed25519 RWT...        ; offered, not yet approved
 *   pending_since = 2027-01-10T08:00:00Z  ; both lines, or neither
 *   retired = amesh-ed25519 RWQ... apnic-2025 @ 2026-01-05T00:00:00Z
 *
 * `retired' may repeat, oldest first, up to TRUST_RETIRED_MAX times: the
 * keys an entry had before, each with the time it stopped being current.
 * The value is a public-key line (its comment kept), " @ ", and a time;
 * the last " @ " splits it, since a time never holds one. Every key -
 * current, pending or retired, of any entry, revoked or not - appears
 * once in a store, so a key always names one party.
 *
 * Fail closed: a file that cannot be read or does not parse is an error,
 * never an empty store. A missing file is an error too (`amesh init`
 * creates an empty one). Saving writes a temporary file, fsyncs and renames,
 * so a crash leaves the old or the new store, never half of one.
 * A revoked entry is kept: its key cannot be trusted again by accident.
 */
#ifndef AMESH_TRUST_H
#define AMESH_TRUST_H

#include "../peer/keymap.h"
#include "../peer/model.h"

#define TRUST_NAME_MAX 64
#define TRUST_NOTE_MAX 256
#define TRUST_FILE_MAX (4u << 20)
#define TRUST_ENTRIES_MAX 10000
#define TRUST_RETIRED_MAX 8          /* retired keys kept per entry */
#define TRUST_COMMENT_MAX 128        /* a key comment, with its NUL (KEYFILE_COMMENT_MAX) */

enum trust_role { TRUST_NEIGHBOUR = 1, TRUST_ORIGIN = 2 };

/* A key an entry had before a rotation. Indicators its holder signed
 * with it stay attributable to the entry (trust_attributable). */
struct trust_retired {
	uint8_t pk[AM_KEY_BYTES];
	char comment[TRUST_COMMENT_MAX];
	uint64_t retired;            /* when it stopped being current, Unix seconds */
};

/* Flat on purpose (no pointers): a store is copied with memcpy. */
struct trust_entry {
	char name[TRUST_NAME_MAX];   /* letters, digits, '-', '_', '.' */
	uint8_t pk[AM_KEY_BYTES];    /* the current key */
	char comment[TRUST_COMMENT_MAX]; /* from the public-key line */
	enum trust_role role;
	char note[TRUST_NOTE_MAX];
	uint64_t added;              /* Unix seconds */
	uint64_t revoked;            /* 0 = not revoked */
	char revoke_reason[TRUST_NOTE_MAX];
	/* A rotation offered but not approved. The three fields below it
	 * mean nothing (and are not saved) unless has_pending. */
	bool has_pending;
	uint8_t pending_pk[AM_KEY_BYTES];
	char pending_comment[TRUST_COMMENT_MAX];
	uint64_t pending_since;      /* when it was offered, Unix seconds */
	/* Oldest first; slots from n_retired on mean nothing. */
	struct trust_retired retired[TRUST_RETIRED_MAX];
	size_t n_retired;            /* 0..TRUST_RETIRED_MAX */
};

struct trust {
	struct trust_entry *entries; /* owned */
	size_t n, cap;
	/* Every key of every entry (current, pending, retired) -> entry and
	 * slot, so a lookup by key costs a hash, not a scan of up to
	 * TRUST_ENTRIES_MAX entries of ten keys each (the mesh looks up the
	 * origin of every body it receives or sends, issue 13). trust.c keeps
	 * it in step with every change it makes; without it (indexed false: a
	 * store being loaded, or out of memory) lookups scan. Owned. */
	struct keymap keys;
	bool indexed;
};

/* A struct trust starts zeroed ({0}); trust_free returns it to that state.
 * Entries keep file order, so a load and save changes nothing else. Copy
 * one with trust_copy, never by assignment and then both used: the two
 * would share the entries and the index. */

/* dst (its old contents ignored: free them first) becomes a copy of src,
 * index included. Returns 0 or AM_ENOMEM (dst empty). */
int trust_copy(struct trust *dst, const struct trust *src);

/* Loads path into t (emptied first). Errors (AM_EIO, AM_EDECODE, AM_EKEY,
 * AM_ETOOBIG, AM_ENOMEM) quote file:line and the bad input in err; t is
 * then empty. The file is opened with O_NOFOLLOW (a symbolic link is
 * refused) and must be a regular file of at most TRUST_FILE_MAX bytes. */
int trust_load(struct trust *t, const char *path, char *err, size_t errlen);
/* trust_load's parser over bytes in memory (what trust_load runs after
 * reading the file; also the fuzzer's entry point). buf need not be
 * NUL-terminated and is only borrowed; path_for_messages prefixes every
 * message. Returns and leaves t as trust_load. */
int trust_load_buffer(struct trust *t, const char *path_for_messages, const char *buf, size_t len,
                      char *err, size_t errlen);
/* Formats t as the text trust_save writes. *text is malloc'd and
 * NUL-terminated (the caller frees it), *len its length; *text is NULL on
 * failure. Refuses (AM_EINVAL, naming the entry) an entry that would not
 * load back unchanged - which trust_add and trust_revoke never create. */
int trust_format(const struct trust *t, char **text, size_t *len, char *err, size_t errlen);
/* Atomically replaces path with t's contents: writes path.tmp (a stale one
 * is removed first), mode 0640, fsyncs, renames, fsyncs the directory.
 * Run as root over an existing store, keeps that file's owner and group so
 * the daemon can still read it. Not a lock: two writers at once lose one
 * update (or one fails on the .tmp file); callers serialise. */
int trust_save(const struct trust *t, const char *path, char *err, size_t errlen);
/* Creates an empty store at path (O_EXCL|O_NOFOLLOW, mode 0640): only the
 * header comment. AM_EEXIST if present. */
int trust_create(const char *path, char *err, size_t errlen);
/* Frees the entries and zeroes t; accepts NULL. */
void trust_free(struct trust *t);

/* Checks that s can be stored as a note or revoke reason (max bytes at
 * most, counting the NUL) and read back unchanged: no control characters,
 * no leading or trailing blanks, no `;' at the start or after a blank
 * (the INI format would read the rest as a comment). Returns 0, AM_EINVAL
 * or AM_ETOOBIG with the reason, quoting s, in why. */
int trust_check_text(const char *s, size_t max, char *why, size_t whylen);

/* Adds an entry (copying every argument; comment and note may be NULL).
 * Refuses (AM_EEXIST) a name or key already present - as any entry's
 * current, pending or retired key - and (AM_EPERM) a key of a revoked
 * entry unless force, which then replaces that revoked entry in place
 * (its pending and retired keys go with it). AM_EINVAL for a bad name (TRUST_NAME_MAX, letters, digits, '-',
 * '_', '.'), role, note or comment (see trust_check_text; a comment may
 * start with blanks), AM_ETOOBIG past TRUST_ENTRIES_MAX, AM_ENOMEM. err
 * says which. */
int trust_add(struct trust *t, const char *name, const uint8_t pk[AM_KEY_BYTES],
              const char *comment, enum trust_role role, const char *note, uint64_t now,
              bool force, char *err, size_t errlen);
/* Removes an entry by name (AM_ENOTFOUND), revoked or not: afterwards its
 * key can be trusted again without force. */
int trust_remove(struct trust *t, const char *name);
/* Marks an entry revoked at now (non-zero: 0 means "not revoked") with
 * reason (may be NULL; see trust_check_text). AM_ENOTFOUND, AM_EEXIST if
 * already revoked (the first revocation stands), AM_EINVAL. */
int trust_revoke(struct trust *t, const char *name, const char *reason, uint64_t now);

/* Lookups; NULL when absent. Revoked entries are returned too: callers
 * check ->revoked. Pointers are valid until t is changed. trust_by_key
 * and trust_is_trusted look at current keys only (the key a neighbour
 * must hold to open a link); pending and retired keys are found with the
 * three functions after them. */
const struct trust_entry *trust_by_name(const struct trust *t, const char *name);
const struct trust_entry *trust_by_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);
/* True if pk is the current key of an entry that is not revoked. */
bool trust_is_trusted(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);

/* ---- rotation and revocation by key ---- */

/* The entry holding pk as its current, pending or retired key, revoked or
 * not (a key belongs to one entry at most), or NULL. */
const struct trust_entry *trust_by_any_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);

/* True if pk may sign new indicators: it is the current or the pending
 * key of an entry that is not revoked. During a rotation's overlap both
 * keys are accepted, so an origin that switched early loses nothing. */
bool trust_accepts_new(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);

/* The entry indicators signed by pk belong to: the entry, not revoked,
 * whose current, pending or retired key is pk; else NULL. Indicators
 * stored under a key that has since been retired stay valid and keep
 * their origin. Valid until t is changed. */
const struct trust_entry *trust_attributable(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);

/* A rotation from old_pk to new_pk (the caller has verified the statement
 * signed by both, statement.h). old_pk must be the current key of an
 * entry. With apply_now, old_pk is retired at now (appended to the
 * retired keys; beyond TRUST_RETIRED_MAX the oldest is forgotten, and
 * indicators under it are no longer attributable), new_pk becomes current
 * (with the pending comment if it was the pending key, else none) and any
 * pending key is dropped. Without
 * apply_now, new_pk becomes the pending key since now, replacing an older
 * pending one (an offer of the key already pending changes nothing, so a
 * statement relayed twice does not restart the clock).
 * Returns 0; AM_ENOTFOUND if old_pk is no entry's current key (also when
 * it was retired by an earlier rotation); AM_EPERM if that entry is
 * revoked or new_pk belongs to a revoked entry; AM_EEXIST if new_pk
 * belongs to another entry, or is this entry's current or retired key (a
 * key never comes back). *name_out (may be NULL) is set to the entry's
 * name whenever old_pk's entry was found, else NULL; it points into t and
 * is valid until t changes. */
int trust_rotation_offer(struct trust *t, const uint8_t old_pk[AM_KEY_BYTES],
                         const uint8_t new_pk[AM_KEY_BYTES], uint64_t now, bool apply_now,
                         const char **name_out);

/* Applies name's pending rotation: the pending key becomes current (with
 * its comment), the old current key is retired at now as above. Returns
 * 0; AM_ENOTFOUND if there is no such entry or nothing is pending;
 * AM_EPERM if the entry is revoked. */
int trust_approve(struct trust *t, const char *name, uint64_t now);

/* Revokes, at now (non-zero), the entry whose current, pending or retired
 * key is pk - a key's holder saying the key is compromised. A retired key
 * revokes the identity too: that key leaked, and whoever holds it could
 * sign a rotation or indicators backdated to when it was current, so
 * nothing signed by this party can be trusted until an admin re-checks
 * and re-trusts it (trust_add with force). reason (may be NULL) comes
 * from the network and is never a reason to refuse a revocation: what
 * trust_check_text would refuse is made storable (control characters and
 * a `;' that would start a comment become '?', outer blanks go, long text
 * is cut at a UTF-8 boundary). Returns 0; AM_ENOTFOUND; AM_EEXIST if the
 * entry is already revoked (the first revocation stands); AM_EINVAL if
 * now is 0. *name_out as in trust_rotation_offer. */
int trust_revoke_key(struct trust *t, const uint8_t pk[AM_KEY_BYTES], const char *reason, uint64_t now,
                     const char **name_out);

/* ---- serialising changes ---- */

/* Takes an exclusive flock on "<trust_path>.lock" (created mode 0640, and
 * given the store's owner when root creates it, so the daemon's user can
 * lock it too), waiting for the holder. Every read-modify-write of the
 * store - the CLI's and the daemon's - runs between trust_lock and
 * trust_unlock, so no update is lost. Hold it only around the change and
 * the save: release it before asking the daemon to reload, or a daemon
 * taking the lock to reload waits for a client waiting for it. *fd is -1
 * on failure. Returns 0, AM_EINVAL (path too long), AM_EIO. */
int trust_lock(const char *trust_path, int *fd, char *err, size_t errlen);
/* Releases and closes; accepts -1. */
void trust_unlock(int fd);

/* Describes in one line (for the daemon's log and the audit trail) what
 * changed from before to after, entries matched by name, in after's order
 * and then the removed ones, separated by "; ":
 *   added NAME (ROLE) | removed NAME | revoked NAME: REASON | re-trusted
 *   NAME (ROLE) | rotated NAME to key KEYID | new key for NAME: KEYID |
 *   pending rotation for NAME to key KEYID | cancelled the pending
 *   rotation of NAME | changed NAME
 * out is "" when nothing changed. Returns 0; AM_ETOOBIG when the line did
 * not fit outlen (out then holds as much as fits, ending in "..."),
 * AM_ENOMEM (out ""), AM_EINVAL for outlen 0. Both stores are borrowed. */
int trust_describe_changes(const struct trust *before, const struct trust *after, char *out,
                           size_t outlen);

/* "neighbour", "origin"; "?" out of range. */
const char *trust_role_name(enum trust_role r);
/* 0, or AM_EINVAL for anything but those two names. */
int trust_role_parse(const char *s, enum trust_role *out);

#endif

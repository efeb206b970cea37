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
 * Fail closed: a file that cannot be read or does not parse is an error,
 * never an empty store. A missing file is an error too (`amesh init`
 * creates an empty one). Saving writes a temporary file, fsyncs and renames,
 * so a crash leaves the old or the new store, never half of one.
 * A revoked entry is kept: its key cannot be trusted again by accident.
 */
#ifndef AMESH_TRUST_H
#define AMESH_TRUST_H

#include "../peer/model.h"

#define TRUST_NAME_MAX 64
#define TRUST_NOTE_MAX 256
#define TRUST_FILE_MAX (4u << 20)
#define TRUST_ENTRIES_MAX 10000

enum trust_role { TRUST_NEIGHBOUR = 1, TRUST_ORIGIN = 2 };

struct trust_entry {
	char name[TRUST_NAME_MAX];   /* letters, digits, '-', '_', '.' */
	uint8_t pk[AM_KEY_BYTES];
	char comment[128];           /* from the public-key line */
	enum trust_role role;
	char note[TRUST_NOTE_MAX];
	uint64_t added;              /* Unix seconds */
	uint64_t revoked;            /* 0 = not revoked */
	char revoke_reason[TRUST_NOTE_MAX];
};

struct trust {
	struct trust_entry *entries; /* owned */
	size_t n, cap;
};

/* A struct trust starts zeroed ({0}); trust_free returns it to that state.
 * Entries keep file order, so a load and save changes nothing else. */

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
 * Refuses (AM_EEXIST) a name or key already present, and (AM_EPERM) a key
 * that was revoked unless force, which then replaces the revoked entry in
 * place. AM_EINVAL for a bad name (TRUST_NAME_MAX, letters, digits, '-',
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
 * check ->revoked. Pointers are valid until t is changed. */
const struct trust_entry *trust_by_name(const struct trust *t, const char *name);
const struct trust_entry *trust_by_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);
/* True if pk is present and not revoked. */
bool trust_is_trusted(const struct trust *t, const uint8_t pk[AM_KEY_BYTES]);

/* "neighbour", "origin"; "?" out of range. */
const char *trust_role_name(enum trust_role r);
/* 0, or AM_EINVAL for anything but those two names. */
int trust_role_parse(const char *s, enum trust_role *out);

#endif

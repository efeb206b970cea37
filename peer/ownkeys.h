/*
 * ownkeys.h - this peer's retired identities, kept to answer for what they
 * signed.
 *
 * `amesh keys rotate' leaves the old secret key beside the new one as
 * KEY.retired-T (keycmd.c). After the restart that puts the new key in use,
 * the daemon knew only the new key: its own indicators signed before the
 * rotation were hidden from its own query and list (an origin it did not
 * trust), were no longer relayed, and - the recourse that matters - could
 * not be withdrawn: `amesh withdraw' looked for them under the new key and
 * said they were another origin's. A withdrawal must be signed by the key
 * that signed the indicator, so the daemon loads every KEY.retired-T at
 * start (with the peer key's passphrase when they are encrypted), counts
 * them as its own, and signs a withdrawal of an old indicator with the old
 * key. Receivers take such a withdrawal from a key their trust store still
 * attributes to the origin (mesh_ingest.c): a retired key may only take
 * back what it said.
 *
 * Ownership: ownkeys_load fills o with sodium_malloc'd secrets;
 * ownkeys_free wipes and frees them. Lookups return pointers into o, valid
 * until ownkeys_free.
 */
#ifndef AMESH_OWNKEYS_H
#define AMESH_OWNKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"
#include "model.h"

#define OWNKEYS_MAX 16 /* retired keys loaded; beyond it the oldest are left */

struct ownkeys {
	struct keyfile_secret *k[OWNKEYS_MAX];
	size_t n;
};

/* Loads every KEY.retired-T secret key beside key_file (not the .pub
 * files), newest first, with passphrase (may be NULL). A file that cannot
 * be loaded is an error naming it (AM_EPERM for its mode, AM_EPASSPHRASE,
 * AM_EKEY...): a peer that silently lost the key to its old indicators
 * could not take them back. 0 with o->n = 0 when there are none. */
int ownkeys_load(struct ownkeys *o, const char *key_file, const char *passphrase, char *err, size_t errlen);

/* Wipes and frees; o may be NULL or zeroed. */
void ownkeys_free(struct ownkeys *o);

/* The retired key whose public half is pk, or NULL. o may be NULL. */
const struct keyfile_secret *ownkeys_find(const struct ownkeys *o, const uint8_t pk[AM_KEY_BYTES]);

#endif

/*
 * sighting_follow.h - ameshd reading a resolver's RPZ hit log itself
 * ([peer] sightings_log, issue 14), as `amesh sightings import' does from
 * a pipe, without a pipe.
 *
 * A thread polls the file once a second: new complete lines are read
 * (sighting_log.h: bounded, client addresses never copied), hits counted
 * per (day, name, zone hint) and handed to sighting_store_import every
 * SIGHTING_FOLLOW_FLUSH seconds or when WIRE_SIGHTING_ROWS_MAX keys are
 * held. It starts at the end of the file (what was there before ameshd
 * started is not counted: import it by hand), follows rotation (a new
 * inode: the rest of the old file, then the new one from its start) and
 * truncation (from the start again). A missing file is retried each
 * second and logged once. Malformed lines are logged with PATH:LINE and
 * why, the first ten and then every thousandth.
 *
 * Lines written in the second before a shutdown are counted only if the
 * flush at close sees them; a crash loses at most SIGHTING_FOLLOW_FLUSH
 * seconds of counts. Nothing is ever counted twice by the follower.
 */
#ifndef AMESH_SIGHTING_FOLLOW_H
#define AMESH_SIGHTING_FOLLOW_H

#include "sighting_store.h"

#define SIGHTING_FOLLOW_FLUSH 5 /* seconds between hand-overs */

struct sighting_follow;

/* Starts following path (copied) with env (borrowed: must outlive the
 * follower). Returns 0, AM_ENOMEM or AM_EIO (thread) with err filled. */
int sighting_follow_open(struct sighting_follow **out, const struct sighting_env *env, const char *path,
                         char *err, size_t errlen);
/* Stops the thread, hands over what it counted, frees. Accepts NULL. */
void sighting_follow_close(struct sighting_follow *f);

#endif

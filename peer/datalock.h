/*
 * datalock.h - one daemon per data directory.
 *
 * LMDB lets several processes share an environment, so nothing below us
 * stops a second ameshd pointed at a running peer's data_dir: it opened the
 * store and appended to the same audit trail, each process chaining hashes
 * from its own idea of the last line, and the trail it left was "chain
 * broken" - which makes the next start refuse to continue it. So the
 * daemon takes an exclusive flock(2) on DIR/ameshd.lock before it opens
 * anything in DIR and holds it until it exits; the kernel drops it when the
 * process ends, however it ends (SIGKILL too), so a stale file never
 * blocks a restart. The file holds the holder's pid, for the message.
 *
 * Ownership: datalock_take allocates *out; datalock_release closes the
 * file (which drops the lock) and frees it. The file itself stays: removing
 * a lock file races with the next process that opens it.
 */
#ifndef AMESH_DATALOCK_H
#define AMESH_DATALOCK_H

#include <stddef.h>

struct datalock;

#define DATALOCK_FILE "ameshd.lock"

/* Creates DIR (mode 0700) if missing and locks DIR/ameshd.lock. Returns 0,
 * AM_EEXIST when another process holds the lock (err names DIR and, when
 * the file says it, that process's pid), or AM_EIO with the system's
 * reason. *out is NULL on failure. */
int datalock_take(struct datalock **out, const char *dir, char *err, size_t errlen);

/* Drops the lock and frees l. Accepts NULL. */
void datalock_release(struct datalock *l);

#endif

/*
 * sightingcmd.h - `amesh sightings': import a resolver's RPZ hit log into
 * this peer's sighting reports, or show the reports it holds.
 *
 * The log is read here, in the CLI, with sighting_log.h: hits are counted
 * per (UTC day, name asked, zone hint) in this process and only those
 * counts go to the daemon. Client addresses are read past by the parser
 * and never reach a buffer that leaves it. A log pipe (`tail -F LOG |
 * amesh sightings import -') never ends: counts are handed over every
 * SIGHTINGCMD_FLUSH_SECONDS (at the next hit) or SIGHTINGCMD_FLUSH_KEYS.
 */
#ifndef AMESH_SIGHTINGCMD_H
#define AMESH_SIGHTINGCMD_H

#include "feedcmd.h"

#define SIGHTINGCMD_KEYS_MAX 200000 /* distinct (day, name, hint) counted in one import */
#define SIGHTINGCMD_FLUSH_KEYS 10000 /* counts handed to the daemon once this many are held... */
#define SIGHTINGCMD_FLUSH_SECONDS 10 /* ...or this long after the last hand-over (a log pipe) */
#define SIGHTINGCMD_BAD_SHOWN 20    /* malformed lines quoted on stderr; the rest are counted */

/* argv[0] is "sightings". Returns the exit status: 0; 1 when NAME was
 * given and nothing is held on it; 2 after one line on stderr. */
int sightingcmd_main(int argc, char **argv, const struct feedcmd_env *env);

#endif

/*
 * feedcmd.h - `amesh import', `amesh submit -' and `amesh export': feeds in
 * through batched submissions, signals out in the formats other tools read.
 *
 * Import streams: names are parsed and checked (importer.h) while earlier
 * batches of at most WIRE_BATCH_MAX are already with the daemon, with
 * CLIENT_SLOTS batches in flight (the daemon signs and commits one while
 * the next is being read). Every skipped line is reported - on stderr as
 * `FILE:LINE: REASON: `INPUT' (DETAIL)', or with --json as one object per
 * line on stdout - and the summary counts them by reason. --dry-run sends
 * the same batches as WIRE_OP_CHECK_BATCH: the daemon makes every check of
 * a submission (max_lifetime, its allowlist, what it already holds) and
 * answers per item, storing nothing.
 *
 * --withdraw-revoked: what the feed revoked (importer.h: each name and
 * category once, none the files still flag live) goes, after the last
 * submission is answered, as WIRE_OP_WITHDRAW_BATCH: the daemon withdraws
 * this peer's own live flag on each - never another origin's - audited
 * with where the feed revoked it, and answers per item, naming another
 * origin whose flag it left alone. Each is reported, `withdrawn: NAME
 * CATEGORY (revoked in FILE line N)' on stdout, `not withdrawn: ...' and
 * why on stderr (--json: one object each); a dry run asks the same as a
 * check and withdraws nothing.
 *
 * Export pages through the daemon's change log (WIRE_OP_EXPORT), holds the
 * signals in memory (about 400 bytes each), sorts them and hands them to
 * the writer of the format (feed_stix, feed_csv, feed_misp, feed_hosts).
 */
#ifndef AMESH_FEEDCMD_H
#define AMESH_FEEDCMD_H

#include <stdbool.h>

struct feedcmd_env {
	bool json;
	const char *socket; /* resolved control socket path */
};

/* Each returns the process exit status (0, or 2 after one line on stderr). */
int feedcmd_import(int argc, char **argv, const struct feedcmd_env *env);
/* argv as for `submit': options, then `-'. */
int feedcmd_submit_stdin(int argc, char **argv, const struct feedcmd_env *env);
int feedcmd_export(int argc, char **argv, const struct feedcmd_env *env);

#endif

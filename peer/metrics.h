/*
 * metrics.h - what this peer tells Prometheus: every amesh_* family.
 *
 * Design: the modules that do the work keep their own counters (the mesh
 * per neighbour, the store its sizes, the responder its answers) and this
 * module reads them through their APIs when a scrape arrives, so no hot
 * path takes a metrics lock it does not already take. Only what has no
 * other home is counted here: control requests (control_handle reports
 * each one), changes to the store by cause and kind (a subscriber on the
 * apply path, apply.h: atomic adds, so it never slows that path) and,
 * through the collectors below, what helper modules add.
 * The page is written by expo.h and served by metrics_http.h on
 * `metrics_listen'.
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): names start
 * with `amesh_', values are in base units (seconds, bytes), counters end in
 * `_total', and no label ever carries a domain name (cardinality and
 * privacy): labels name neighbours and origins (trust-store names and key
 * ids), categories, reasons and operations - sets bounded by configuration.
 *
 * Families (README, "Monitoring", lists them with their labels):
 *   indicators by category and origin (a store scan, see below), store
 *   size and map use, change-log position; per neighbour: link state, up,
 *   lag, last sync, indicators received/sent/rejected/held by reason,
 *   handshakes, bytes in and out, sync duration histogram; changes
 *   applied by cause and kind, trust and origin-visibility notices; control
 *   requests and their duration histogram by operation; the responder's
 *   own answers; start time and build info; the last reload (SIGHUP):
 *   when, whether it was refused, when the configuration in force was read.
 *
 * Cost: counting live indicators by category and origin walks the store
 * (O(records)). The result is reused while it is younger than ten times
 * the last walk took (at least 1 s), so a big store costs at most ~10% of
 * one core however often it is scraped, and a small one is always fresh.
 *
 * Hook for helper modules (rpz_metrics.h uses it for RPZ serials,
 * transfers and NOTIFYs): metrics_add_collector registers a function that
 * writes its own families with expo.h on every scrape, after the built-in
 * ones. The collector follows the conventions above and must be safe to
 * call from the responder's thread.
 *
 * Threads: metrics_control_done and the apply callbacks may run on any
 * thread; collectors and rendering run on the responder's thread.
 */
#ifndef AMESH_METRICS_H
#define AMESH_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "config.h"
#include "expo.h"
#include "mesh.h"
#include "store.h"

#define METRICS_COLLECTORS_MAX 8
#define METRICS_ORIGINS_MAX 4096 /* distinct origins labelled; the rest count as origin="other" */

/* Borrowed; must outlive the metrics. mesh and apply may be NULL. */
struct metrics_env {
	struct store *store;
	struct mesh *mesh;
	struct apply *apply; /* metrics_new subscribes; metrics_free unsubscribes */
	const struct config *cfg;
	uint64_t started_at; /* Unix seconds */
	struct reload_status *reload; /* the last reload (SIGHUP); NULL = none */
};

struct metrics;
struct reload_status;

/* Writes families into e; called on every scrape. */
typedef void (*metrics_collect_fn)(void *arg, struct expo *e);

int metrics_new(struct metrics **out, const struct metrics_env *env);
/* Unsubscribes, stops serving (if it was) and frees. NULL ok; call before
 * apply_close. */
void metrics_free(struct metrics *m);

/* Starts the responder on addr (metrics_http.h syntax). Returns 0 or an
 * am_err with the reason in err. */
int metrics_serve(struct metrics *m, const char *addr, char *err, size_t errlen);
/* The port the responder listens on, 0 when not serving. */
unsigned metrics_port(const struct metrics *m);

/* A control request was answered: op is the wire_op number, status the
 * response status (0 = success), seconds how long control_handle took.
 * NULL m is a no-op, so control works without metrics (tests, fuzzer). */
void metrics_control_done(struct metrics *m, int op, int status, double seconds);

/* Registers a collector (see above). Returns 0 or AM_ENOMEM when
 * METRICS_COLLECTORS_MAX are registered. Register before metrics_serve. */
int metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *arg);

/* The whole page, as served: *text malloc'd (caller frees). Returns 0 or
 * AM_ENOMEM / a store error. */
int metrics_render(struct metrics *m, char **text, size_t *len);

#endif

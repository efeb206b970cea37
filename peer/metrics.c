/* metrics.c - the amesh_* families, read from the modules that count. */
#include "metrics.h"
#include "reload_status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "hist.h"
#include "metrics_http.h"
#include "policy.h"
#include "timefmt.h"
#include "wire.h"

#define OPS_MAX 32 /* control operations counted by number; above: "other" */

struct origin_live {
	uint8_t pk[AM_KEY_BYTES];
	uint64_t n[AM_CAT_COUNT];
};

struct op_stats {
	uint64_t ok, failed;
	struct hist dur;
};

/* Counted by the apply subscriber, read by scrapes: atomics, no lock. */
#define CAUSES 7 /* enum apply_cause 1..6 */
#define KINDS 6  /* enum event_type 1..5 */

struct metrics {
	struct metrics_env env;
	struct apply_subscriber sub;
	bool subscribed;
	uint64_t changes[CAUSES][KINDS];
	uint64_t trust_notes[CAUSES];
	uint64_t origins[CAUSES][2]; /* [cause][is_live]: hidden, shown */
	struct metrics_http *http;
	pthread_mutex_t lock; /* ops */
	struct op_stats ops[OPS_MAX + 1];
	struct {
		metrics_collect_fn fn;
		void *arg;
	} coll[METRICS_COLLECTORS_MAX];
	size_t n_coll;
	/* the last walk of the store, reused while fresh (metrics.h, "Cost") */
	pthread_mutex_t scan_lock;
	struct origin_live *live;
	size_t n_live;
	uint64_t other_live[AM_CAT_COUNT];
	double scan_at, scan_took;
	bool scanned;
};

/* Names of the control operations (wire.h enum wire_op). */
static const char *const op_names[] = {
	[WIRE_OP_SUBMIT] = "submit", [WIRE_OP_WITHDRAW] = "withdraw", [WIRE_OP_QUERY] = "query",
	[WIRE_OP_LIST] = "list",     [WIRE_OP_STATUS] = "status",     [WIRE_OP_PEERS] = "peers",
	[WIRE_OP_RELOAD_TRUST] = "reload_trust", [WIRE_OP_PUBLISH] = "publish", [WIRE_OP_RELOAD] = "reload",
	[WIRE_OP_WATCH] = "watch",   [WIRE_OP_AUDIT] = "audit",       [WIRE_OP_REPORT] = "report",
};

static const char *op_name(unsigned op)
{
	if (op < sizeof op_names / sizeof *op_names && op_names[op])
		return op_names[op];
	return "other"; /* malformed requests, and operations added without a name here */
}

static void on_change(void *arg, const struct apply_change *c)
{
	struct metrics *m = arg;
	if (c->ind->category == AM_CAT_NONE)
		return; /* a key statement, not an indicator */
	if ((unsigned)c->cause < CAUSES && (unsigned)c->kind < KINDS)
		__atomic_fetch_add(&m->changes[c->cause][c->kind], 1, __ATOMIC_RELAXED);
}

static void on_trust(void *arg, const struct apply_trust_note *t)
{
	struct metrics *m = arg;
	if ((unsigned)t->cause < CAUSES)
		__atomic_fetch_add(&m->trust_notes[t->cause], 1, __ATOMIC_RELAXED);
}

static void on_origin(void *arg, const struct apply_origin *o)
{
	struct metrics *m = arg;
	if ((unsigned)o->cause < CAUSES)
		__atomic_fetch_add(&m->origins[o->cause][o->is_live ? 1 : 0], 1, __ATOMIC_RELAXED);
}

int metrics_new(struct metrics **out, const struct metrics_env *env)
{
	struct metrics *m = calloc(1, sizeof *m);
	int rv;

	*out = NULL;
	if (!m)
		return AM_ENOMEM;
	m->env = *env;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->scan_lock, NULL);
	m->sub = (struct apply_subscriber){.name = "metrics", .change = on_change, .trust = on_trust,
	                                   .origin = on_origin, .arg = m};
	if (env->apply) {
		if ((rv = apply_subscribe(env->apply, &m->sub)) != 0) {
			metrics_free(m);
			return rv;
		}
		m->subscribed = true;
	}
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	if (m->subscribed)
		apply_unsubscribe(m->env.apply, &m->sub);
	metrics_http_close(m->http);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->scan_lock);
	free(m->live);
	free(m);
}

static int page(void *arg, char **text, size_t *len)
{
	return metrics_render(arg, text, len);
}

int metrics_serve(struct metrics *m, const char *addr, char *err, size_t errlen)
{
	return metrics_http_open(&m->http, addr, page, m, err, errlen);
}

unsigned metrics_port(const struct metrics *m)
{
	return m->http ? metrics_http_port(m->http) : 0;
}

void metrics_control_done(struct metrics *m, int op, int status, double seconds)
{
	if (!m)
		return;
	unsigned i = OPS_MAX; /* "other" */
	if (op > 0 && op < OPS_MAX && (unsigned)op < sizeof op_names / sizeof *op_names && op_names[op])
		i = (unsigned)op;
	pthread_mutex_lock(&m->lock);
	if (status == 0)
		m->ops[i].ok++;
	else
		m->ops[i].failed++;
	hist_observe(&m->ops[i].dur, seconds);
	pthread_mutex_unlock(&m->lock);
}

int metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *arg)
{
	if (m->n_coll == METRICS_COLLECTORS_MAX)
		return AM_ENOMEM;
	m->coll[m->n_coll].fn = fn;
	m->coll[m->n_coll].arg = arg;
	m->n_coll++;
	return 0;
}

/* --- live indicators by category and origin --- */

struct scan_ctx {
	struct metrics *m;
	size_t cap;
	size_t last; /* records come in domain order; the same origin often repeats */
	int rv;
};

static int count_live(void *arg, const struct store_rec *rec)
{
	struct scan_ctx *c = arg;
	struct metrics *m = c->m;
	unsigned cat = rec->ind.category < AM_CAT_COUNT ? rec->ind.category : AM_CAT_NONE;
	size_t i;

	if (c->last < m->n_live && memcmp(m->live[c->last].pk, rec->ind.origin, AM_KEY_BYTES) == 0) {
		m->live[c->last].n[cat]++;
		return 0;
	}
	for (i = 0; i < m->n_live; i++)
		if (memcmp(m->live[i].pk, rec->ind.origin, AM_KEY_BYTES) == 0)
			break;
	if (i == m->n_live) {
		if (m->n_live == METRICS_ORIGINS_MAX) {
			m->other_live[cat]++;
			return 0;
		}
		if (m->n_live == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16;
			struct origin_live *more = realloc(m->live, cap * sizeof *more);
			if (!more) {
				c->rv = AM_ENOMEM;
				return 1;
			}
			m->live = more;
			c->cap = cap;
		}
		memset(&m->live[i], 0, sizeof m->live[i]);
		memcpy(m->live[i].pk, rec->ind.origin, AM_KEY_BYTES);
		m->n_live++;
	}
	c->last = i;
	m->live[i].n[cat]++;
	return 0;
}

/* Called with scan_lock held. */
static int scan_live(struct metrics *m)
{
	double t0 = hist_now();
	double floor = m->scan_took * 10 < 1.0 ? 0 : m->scan_took * 10;
	struct scan_ctx c = {.m = m};
	int rv;

	if (m->scanned && t0 - m->scan_at < floor)
		return 0;
	free(m->live);
	m->live = NULL;
	m->n_live = 0;
	memset(m->other_live, 0, sizeof m->other_live);
	rv = store_list(m->env.store, timefmt_now(), AM_CAT_NONE, NULL, 0, count_live, &c);
	if (c.rv != 0 || rv < 0) {
		m->scanned = false;
		return c.rv ? c.rv : rv;
	}
	m->scan_at = hist_now();
	m->scan_took = m->scan_at - t0;
	m->scanned = true;
	return 0;
}

static void indicators(struct metrics *m, struct expo *e)
{
	char keyid[2 * AM_KEYID_BYTES + 1], name[CONFIG_NAME_MAX];

	expo_family(e, "amesh_indicators", EXPO_GAUGE,
	            "Live indicators held (not withdrawn, not expired) by category and origin; "
	            "origin is the key id, origin_name its trust-store name (self = this peer).");
	for (size_t i = 0; i < m->n_live; i++) {
		am_keyid_hex(m->live[i].pk, keyid);
		if (!m->env.mesh || !mesh_origin_name(m->env.mesh, m->live[i].pk, name, sizeof name))
			name[0] = '\0';
		for (unsigned c = 1; c < AM_CAT_COUNT; c++)
			expo_u64(e, "amesh_indicators",
			         EXPO_LABELS({"category", am_category_name(c)}, {"origin", keyid},
			                     {"origin_name", name}),
			         m->live[i].n[c]);
	}
	for (unsigned c = 1; c < AM_CAT_COUNT; c++)
		if (m->other_live[c])
			expo_u64(e, "amesh_indicators",
			         EXPO_LABELS({"category", am_category_name(c)}, {"origin", "other"},
			                     {"origin_name", ""}),
			         m->other_live[c]);
	expo_family(e, "amesh_indicators_scan_duration_seconds", EXPO_GAUGE,
	            "How long the last walk of the store counting amesh_indicators took.");
	expo_double(e, "amesh_indicators_scan_duration_seconds", EXPO_NOLABELS, m->scan_took);
}

/* The last reload, named as Prometheus names its own
 * (prometheus_config_last_reload_successful, ..._success_timestamp_seconds):
 * alert on `amesh_config_last_reload_successful == 0', a file edited and
 * sent SIGHUP that is not in force. */
static void reload_families(struct metrics *m, struct expo *e)
{
	struct reload_snapshot rl;

	reload_status_get(m->env.reload, &rl);
	expo_family(e, "amesh_config_last_reload_successful", EXPO_GAUGE,
	            "0 when the last reload (SIGHUP) was refused and an older configuration stays in force; else 1.");
	expo_u64(e, "amesh_config_last_reload_successful", EXPO_NOLABELS, rl.result != RELOAD_REFUSED);
	expo_family(e, "amesh_config_last_reload_timestamp_seconds", EXPO_GAUGE,
	            "Unix time of the last reload (SIGHUP), applied or refused; 0 = none since start.");
	expo_u64(e, "amesh_config_last_reload_timestamp_seconds", EXPO_NOLABELS, rl.last_at);
	expo_family(e, "amesh_config_last_reload_success_timestamp_seconds", EXPO_GAUGE,
	            "Unix time the configuration in force was read: start, or the last reload applied.");
	expo_u64(e, "amesh_config_last_reload_success_timestamp_seconds", EXPO_NOLABELS,
	         rl.config_loaded_at ? rl.config_loaded_at : m->env.started_at);
	expo_family(e, "amesh_config_reloads_total", EXPO_COUNTER, "Reloads (SIGHUP) by result.");
	expo_u64(e, "amesh_config_reloads_total", EXPO_LABELS({"result", "applied"}), rl.applied_total);
	expo_u64(e, "amesh_config_reloads_total", EXPO_LABELS({"result", "refused"}), rl.refused_total);
}

static void store_families(struct metrics *m, struct expo *e)
{
	struct store_stats st;

	if (store_stats(m->env.store, &st) != 0)
		return;
	expo_family(e, "amesh_store_records", EXPO_GAUGE,
	            "Records in the store: live, withdrawn (tombstones) and expired not yet swept.");
	expo_u64(e, "amesh_store_records", EXPO_NOLABELS, st.records);
	expo_family(e, "amesh_store_tombstones", EXPO_GAUGE,
	            "Withdrawals kept until the expiry of what they withdrew.");
	expo_u64(e, "amesh_store_tombstones", EXPO_NOLABELS, st.tombstones);
	/* records = live + tombstones + kept + set aside + statements, each
	 * record in one (store_stats); live is what a query answers, plus
	 * expired records until the sweep reaches them */
	expo_family(e, "amesh_store_live", EXPO_GAUGE,
	            "Live indicators: what list and query show (plus expired ones until the next sweep).");
	expo_u64(e, "amesh_store_live", EXPO_NOLABELS, st.live);
	expo_family(e, "amesh_store_kept", EXPO_GAUGE,
	            "Expired versions kept until every version they replaced has expired; not live.");
	expo_u64(e, "amesh_store_kept", EXPO_NOLABELS, st.kept);
	expo_family(e, "amesh_store_set_aside", EXPO_GAUGE,
	            "Indicators set aside by a narrowed import policy: stored, not live.");
	expo_u64(e, "amesh_store_set_aside", EXPO_NOLABELS, st.set_aside);
	expo_family(e, "amesh_store_statements", EXPO_GAUGE,
	            "'@' records (key statements, disputes, sightings): stored and relayed, never listed.");
	expo_u64(e, "amesh_store_statements", EXPO_NOLABELS, st.statements);
	expo_family(e, "amesh_store_changelog_seq", EXPO_GAUGE,
	            "Position of the local change log (what neighbours sync from).");
	expo_u64(e, "amesh_store_changelog_seq", EXPO_NOLABELS, st.last_seq);
	expo_family(e, "amesh_store_bytes", EXPO_GAUGE, "Bytes of the LMDB map in use (pages x page size).");
	expo_u64(e, "amesh_store_bytes", EXPO_NOLABELS, st.bytes);
	expo_family(e, "amesh_store_map_size_bytes", EXPO_GAUGE,
	            "The configured LMDB map size (map_size): the store refuses writes beyond it.");
	expo_u64(e, "amesh_store_map_size_bytes", EXPO_NOLABELS, m->env.cfg->map_size);
	expo_family(e, "amesh_store_map_used_ratio", EXPO_GAUGE,
	            "amesh_store_bytes / amesh_store_map_size_bytes; alert well before 1.");
	expo_double(e, "amesh_store_map_used_ratio", EXPO_NOLABELS,
	            m->env.cfg->map_size ? (double)st.bytes / (double)m->env.cfg->map_size : 0);
}

static void neighbours(struct metrics *m, struct expo *e)
{
	struct mesh_peer_info *p = NULL;
	size_t n = 0;

	if (m->env.mesh && mesh_peers(m->env.mesh, &p, &n) != 0)
		n = 0;
	expo_family(e, "amesh_neighbour_up", EXPO_GAUGE, "1 when the link to the neighbour is up.");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_up", EXPO_LABELS({"neighbour", p[i].name}), p[i].state == MESH_UP);
	expo_family(e, "amesh_neighbour_state", EXPO_GAUGE,
	            "Link state of each neighbour: 1 for the current state, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (int s = MESH_DOWN; s <= MESH_REFUSED; s++)
			expo_u64(e, "amesh_neighbour_state",
			         EXPO_LABELS({"neighbour", p[i].name}, {"state", mesh_link_state_name(s)}),
			         p[i].state == (enum mesh_link_state)s);
	expo_family(e, "amesh_neighbour_lag", EXPO_GAUGE,
	            "Change-log entries the neighbour has that this peer has not pulled yet "
	            "(dialled neighbours; 0 for those that dial us).");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_lag", EXPO_LABELS({"neighbour", p[i].name}), p[i].lag);
	expo_family(e, "amesh_neighbour_last_sync_timestamp_seconds", EXPO_GAUGE,
	            "Unix time of the last exchange with the neighbour, 0 = never.");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_last_sync_timestamp_seconds", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].last_sync);
	expo_family(e, "amesh_neighbour_indicators_received_total", EXPO_COUNTER,
	            "Indicators received from the neighbour that passed every check: accepted "
	            "(changed the store) or duplicate (already held).");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_indicators_received_total",
		         EXPO_LABELS({"neighbour", p[i].name}, {"result", "accepted"}), p[i].in_accepted);
		expo_u64(e, "amesh_neighbour_indicators_received_total",
		         EXPO_LABELS({"neighbour", p[i].name}, {"result", "duplicate"}), p[i].in_duplicate);
	}
	expo_family(e, "amesh_neighbour_indicators_rejected_total", EXPO_COUNTER,
	            "Indicators received from the neighbour and refused, by reason.");
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < MESH_R_COUNT; r++)
			if (r != POLICY_OK) /* a reason to refuse, not a refusal */
				expo_u64(e, "amesh_neighbour_indicators_rejected_total",
				         EXPO_LABELS({"neighbour", p[i].name}, {"reason", mesh_reject_name(r)}),
				         p[i].rejects[r]);
	expo_family(e, "amesh_neighbour_indicators_sent_total", EXPO_COUNTER,
	            "Indicators sent to the neighbour.");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_indicators_sent_total", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].out_sent);
	expo_family(e, "amesh_neighbour_tree_ids_total", EXPO_COUNTER,
	            "Changes announced by id only on the link (broadcast tree, lazy), by direction.");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_tree_ids_total", EXPO_LABELS({"neighbour", p[i].name}, {"direction", "sent"}),
		         p[i].tree.ids_out);
		expo_u64(e, "amesh_neighbour_tree_ids_total",
		         EXPO_LABELS({"neighbour", p[i].name}, {"direction", "received"}), p[i].tree.ids_in);
	}
	expo_family(e, "amesh_neighbour_tree_grafts_total", EXPO_COUNTER,
	            "Ids whose bodies were asked for over the link (broadcast tree), by who asked.");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_tree_grafts_total", EXPO_LABELS({"neighbour", p[i].name}, {"by", "us"}),
		         p[i].tree.grafts_out);
		expo_u64(e, "amesh_neighbour_tree_grafts_total", EXPO_LABELS({"neighbour", p[i].name}, {"by", "them"}),
		         p[i].tree.grafts_in);
	}
	expo_family(e, "amesh_neighbour_tree_prunes_total", EXPO_COUNTER,
	            "Times the link was made lazy (broadcast tree), by who made it.");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_tree_prunes_total", EXPO_LABELS({"neighbour", p[i].name}, {"by", "us"}),
		         p[i].tree.prunes_out);
		expo_u64(e, "amesh_neighbour_tree_prunes_total", EXPO_LABELS({"neighbour", p[i].name}, {"by", "them"}),
		         p[i].tree.prunes_in);
	}
	expo_family(e, "amesh_neighbour_tree_ids_dropped_total", EXPO_COUNTER,
	            "Ids the neighbour announced that were not tracked because this peer's missing-id table "
	            "(4096) was full: not acknowledged, their range is asked again as bodies (broadcast tree).");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_tree_ids_dropped_total", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].tree.ids_dropped);
	expo_family(e, "amesh_neighbour_tree_grafts_abandoned_total", EXPO_COUNTER,
	            "Missing ids given up after 8 unanswered grafts, counted against the neighbour asked last; "
	            "each announcer's log is then asked again from before the id (broadcast tree).");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_tree_grafts_abandoned_total", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].tree.grafts_abandoned);
	expo_family(e, "amesh_neighbour_tree_grafts_declined_total", EXPO_COUNTER,
	            "Grafts answered with no body because the id left the answerer's log (superseded, expired) or "
	            "its export policy holds it back: by this peer (by=us) or by the neighbour (by=them); the "
	            "grafter stops waiting at once (broadcast tree).");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_tree_grafts_declined_total", EXPO_LABELS({"neighbour", p[i].name}, {"by", "us"}),
		         p[i].tree.declined_out);
		expo_u64(e, "amesh_neighbour_tree_grafts_declined_total", EXPO_LABELS({"neighbour", p[i].name}, {"by", "them"}),
		         p[i].tree.declined_in);
	}
	expo_family(e, "amesh_neighbour_early_bodies_total", EXPO_COUNTER,
	            "Bodies for the neighbour by the cut-through relay: sent ahead of this peer's own commit "
	            "(early), or left for the log because the set of ids sent early was full (fallback).");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_early_bodies_total", EXPO_LABELS({"neighbour", p[i].name}, {"how", "early"}),
		         p[i].tree.early_out);
		expo_u64(e, "amesh_neighbour_early_bodies_total",
		         EXPO_LABELS({"neighbour", p[i].name}, {"how", "fallback"}), p[i].tree.early_fallbacks);
	}
	expo_family(e, "amesh_neighbour_early_lost_total", EXPO_COUNTER,
	            "Times the neighbour said bodies relayed to it early did not arrive; the log sends them again.");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_early_lost_total", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].tree.early_lost_in);
	expo_family(e, "amesh_neighbour_tree_lazy", EXPO_GAUGE,
	            "1 when the link carries ids only (broadcast tree), 0 when it carries bodies, by direction "
	            "(out: what this peer sends, the neighbour's choice; in: what it sends us, ours).");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_tree_lazy", EXPO_LABELS({"neighbour", p[i].name}, {"direction", "out"}),
		         p[i].lazy ? 1 : 0);
		expo_u64(e, "amesh_neighbour_tree_lazy", EXPO_LABELS({"neighbour", p[i].name}, {"direction", "in"}),
		         p[i].lazy_in ? 1 : 0);
	}
	expo_family(e, "amesh_neighbour_indicators_held_total", EXPO_COUNTER,
	            "Indicators not sent to the neighbour, by the export rule that held them back.");
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < POLICY_REASON_COUNT; r++)
			if (r != POLICY_OK)
				expo_u64(e, "amesh_neighbour_indicators_held_total",
				         EXPO_LABELS({"neighbour", p[i].name}, {"reason", policy_reason_name(r)}),
				         p[i].held[r]);
	expo_family(e, "amesh_neighbour_handshakes_total", EXPO_COUNTER,
	            "Handshakes with the neighbour, by result.");
	for (size_t i = 0; i < n; i++) {
		expo_u64(e, "amesh_neighbour_handshakes_total",
		         EXPO_LABELS({"neighbour", p[i].name}, {"result", "ok"}), p[i].handshakes);
		expo_u64(e, "amesh_neighbour_handshakes_total",
		         EXPO_LABELS({"neighbour", p[i].name}, {"result", "failed"}), p[i].handshake_failures);
	}
	expo_family(e, "amesh_neighbour_received_bytes_total", EXPO_COUNTER,
	            "Bytes of link frames received from the neighbour (sealed, as on the wire).");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_received_bytes_total", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].bytes_in);
	expo_family(e, "amesh_neighbour_sent_bytes_total", EXPO_COUNTER,
	            "Bytes of link frames sent to the neighbour (sealed, as on the wire).");
	for (size_t i = 0; i < n; i++)
		expo_u64(e, "amesh_neighbour_sent_bytes_total", EXPO_LABELS({"neighbour", p[i].name}),
		         p[i].bytes_out);
	expo_family(e, "amesh_sync_duration_seconds", EXPO_HISTOGRAM,
	            "Sync exchanges that carried indicators: direction=in, taking in a batch from the "
	            "neighbour (checks, apply, durable commit); direction=out, a batch pushed to the "
	            "neighbour until acknowledged after its durable commit (links this peer dials).");
	for (size_t i = 0; i < n; i++) {
		expo_hist(e, "amesh_sync_duration_seconds",
		          EXPO_LABELS({"neighbour", p[i].name}, {"direction", "in"}), &p[i].sync_in);
		expo_hist(e, "amesh_sync_duration_seconds",
		          EXPO_LABELS({"neighbour", p[i].name}, {"direction", "out"}), &p[i].sync_out);
	}
	expo_family(e, "amesh_handshakes_unknown_total", EXPO_COUNTER,
	            "Handshakes refused because the key is no configured neighbour.");
	expo_u64(e, "amesh_handshakes_unknown_total", EXPO_NOLABELS,
	         m->env.mesh ? mesh_unknown_handshakes(m->env.mesh) : 0);
	free(p);
}

static void control_families(struct metrics *m, struct expo *e)
{
	struct op_stats ops[OPS_MAX + 1];

	pthread_mutex_lock(&m->lock);
	memcpy(ops, m->ops, sizeof ops);
	pthread_mutex_unlock(&m->lock);
	expo_family(e, "amesh_control_requests_total", EXPO_COUNTER,
	            "Requests on the control socket (the amesh command), by operation and result.");
	for (unsigned i = 1; i <= OPS_MAX; i++) {
		if (i < OPS_MAX && (i >= sizeof op_names / sizeof *op_names || !op_names[i]))
			continue;
		const char *op = op_name(i);
		expo_u64(e, "amesh_control_requests_total", EXPO_LABELS({"op", op}, {"result", "ok"}), ops[i].ok);
		expo_u64(e, "amesh_control_requests_total", EXPO_LABELS({"op", op}, {"result", "error"}),
		         ops[i].failed);
	}
	expo_family(e, "amesh_control_request_duration_seconds", EXPO_HISTOGRAM,
	            "Time to answer a control request, by operation (watch includes its long-poll).");
	for (unsigned i = 1; i <= OPS_MAX; i++)
		if (ops[i].dur.count)
			expo_hist(e, "amesh_control_request_duration_seconds", EXPO_LABELS({"op", op_name(i)}),
			          &ops[i].dur);
}

static void change_families(struct metrics *m, struct expo *e)
{
	static const enum apply_cause change_causes[] = {APPLY_LOCAL, APPLY_MESH, APPLY_SWEEP, APPLY_POLICY};
	static const enum apply_cause trust_causes[] = {APPLY_REVOCATION, APPLY_TRUST};

	expo_family(e, "amesh_changes_total", EXPO_COUNTER,
	            "Indicator changes applied to the store, by cause (local: submitted or withdrawn "
	            "here; mesh: from a neighbour; sweep: expired; policy: a narrowed import policy set "
	            "aside what it accepted before) and kind (new, updated, withdrawn, expired, set_aside). "
	            "Refused and duplicate records are no change.");
	for (size_t i = 0; i < sizeof change_causes / sizeof *change_causes; i++)
		for (int k = EVENT_NEW; k <= EVENT_SET_ASIDE; k++)
			expo_u64(e, "amesh_changes_total",
			         EXPO_LABELS({"cause", apply_cause_name(change_causes[i])},
			                     {"kind", events_type_name((enum event_type)k)}),
			         __atomic_load_n(&m->changes[change_causes[i]][k], __ATOMIC_RELAXED));
	expo_family(e, "amesh_trust_changes_total", EXPO_COUNTER,
	            "Changes of the trust store in force, by cause (revocation, trust).");
	for (size_t i = 0; i < sizeof trust_causes / sizeof *trust_causes; i++)
		expo_u64(e, "amesh_trust_changes_total", EXPO_LABELS({"cause", apply_cause_name(trust_causes[i])}),
		         __atomic_load_n(&m->trust_notes[trust_causes[i]], __ATOMIC_RELAXED));
	expo_family(e, "amesh_origin_visibility_changes_total", EXPO_COUNTER,
	            "Origins whose indicators became shown or hidden as a whole (revocation, trust).");
	for (size_t i = 0; i < sizeof trust_causes / sizeof *trust_causes; i++)
		for (int live = 0; live <= 1; live++)
			expo_u64(e, "amesh_origin_visibility_changes_total",
			         EXPO_LABELS({"cause", apply_cause_name(trust_causes[i])},
			                     {"to", live ? "shown" : "hidden"}),
			         __atomic_load_n(&m->origins[trust_causes[i]][live], __ATOMIC_RELAXED));
}

static void responder_families(struct metrics *m, struct expo *e)
{
	struct metrics_http_stats st;
	char code[8];

	if (!m->http)
		return;
	metrics_http_stats(m->http, &st);
	expo_family(e, "amesh_metrics_http_responses_total", EXPO_COUNTER,
	            "Answers of this metrics endpoint by HTTP status (the scrape being served is "
	            "counted after it).");
	for (unsigned i = 0; i < METRICS_HTTP_CODES; i++) {
		snprintf(code, sizeof code, "%d", metrics_http_codes[i]);
		expo_u64(e, "amesh_metrics_http_responses_total", EXPO_LABELS({"code", code}), st.responses[i]);
	}
	expo_family(e, "amesh_metrics_http_dropped_total", EXPO_COUNTER,
	            "Connections to this endpoint dropped: timeout (too slow), accept_error "
	            "(e.g. out of descriptors).");
	expo_u64(e, "amesh_metrics_http_dropped_total", EXPO_LABELS({"reason", "timeout"}), st.timeouts);
	expo_u64(e, "amesh_metrics_http_dropped_total", EXPO_LABELS({"reason", "accept_error"}),
	         st.accept_errors);
}

int metrics_render(struct metrics *m, char **text, size_t *len)
{
	struct expo e;
	int rv;

	*text = NULL;
	*len = 0;
	expo_init(&e);
	expo_family(&e, "amesh_build_info", EXPO_GAUGE, "Always 1; the version of ameshd and the peer name.");
	expo_u64(&e, "amesh_build_info", EXPO_LABELS({"version", AMESH_VERSION}, {"peer", m->env.cfg->name}), 1);
	expo_family(&e, "amesh_start_time_seconds", EXPO_GAUGE, "Unix time ameshd started.");
	expo_u64(&e, "amesh_start_time_seconds", EXPO_NOLABELS, m->env.started_at);
	reload_families(m, &e);

	pthread_mutex_lock(&m->scan_lock);
	rv = scan_live(m);
	if (rv == 0)
		indicators(m, &e);
	pthread_mutex_unlock(&m->scan_lock);
	if (rv != 0) {
		expo_discard(&e);
		return rv;
	}
	store_families(m, &e);
	neighbours(m, &e);
	change_families(m, &e);
	control_families(m, &e);
	responder_families(m, &e);
	for (size_t i = 0; i < m->n_coll; i++)
		m->coll[i].fn(m->coll[i].arg, &e);
	return expo_finish(&e, text, len);
}

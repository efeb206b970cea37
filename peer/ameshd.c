/* ameshd.c - the Abuse Mesh peer daemon: wires config, key, store and sockets. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_files.h"
#include "config_rpz.h"
#include "control.h"
#include "datalock.h"
#include "allowlist.h"
#include "apply.h"
#include "audit.h"
#include "dispute_audit.h"
#include "domain.h"
#include "keyfile.h"
#include "listen_guard.h"
#include "log.h"
#include "clockstep.h"
#include "monoclock.h"
#include "trace.h"
#include "mesh.h"
#include "nngexit.h"
#include "metrics.h"
#include "dns.h"
#include "reload_status.h"
#include "rpz.h"
#include "rpz_feed.h"
#include "rpz_metrics.h"
#include "sighting_follow.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"

#define SWEEP_BATCH 10000

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ameshd -c CONFIG [--check] [--passphrase | --passphrase-fd N] [-v]\n"
	        "\n"
	        "  -c, --config FILE     peer configuration (made by `amesh init')\n"
	        "      --check           validate the configuration and exit (0 valid, 1 not)\n"
	        "      --passphrase      prompt on the terminal for the key's passphrase\n"
	        "      --passphrase-fd N read the passphrase from file descriptor N\n"
	        "  -v, --verbose         log debug messages\n"
	        "  -h, --help            this text\n");
}

static void print_diag(void *arg, const char *path, unsigned line, const char *msg)
{
	unsigned *count = arg;
	(*count)++;
	if (line)
		fprintf(stderr, "%s:%u: %s\n", path, line, msg);
	else
		fprintf(stderr, "%s: %s\n", path, msg);
}

/* Bad entries named one by one per file, then counted: a list with
 * thousands of them should not flood the log. */
#define ALLOWLIST_SKIPS_SHOWN 20

struct skip_report {
	bool check; /* ameshd --check: plain lines on stderr, else the log */
	size_t shown, warned;
};

/* A bad entry ("skipped") or one kept but narrowed ("warning": a public
 * suffix covers itself only), named by file and line or list index. */
static void on_skip(void *arg, const char *label, const char *where, bool kept, const char *why)
{
	struct skip_report *r = arg;

	if ((kept ? r->warned++ : r->shown++) >= ALLOWLIST_SKIPS_SHOWN)
		return;
	/* FILE:LINE, as every other file's problems are named (editors jump
	 * to it); a JSON list's entry is FILE:list[N] */
	if (r->check)
		fprintf(stderr, "%s:%s: %s: %s\n", label, where, kept ? "warning" : "skipped", why);
	else
		log_warn("allowlist: %s:%s: %s: %s", label, where, kept ? "warning" : "skipped", why);
}

/* Loads every configured allowlist file into one allowlist; NULL when none
 * is configured. A file that cannot be read or parsed, or a list of a type
 * that is not names, is an error (reported; the caller refuses to start or
 * to reload); bad entries are skipped, named (up to a cap per file) and
 * counted. The daemon and --check share this, so --check says exactly what
 * the daemon will do with the lists. why (may be NULL): the error goes
 * there for the caller to report, instead of to the log. */
static int load_allowlist(const struct config *cfg, bool check, struct allowlist **out, size_t *skipped_out,
                          char *why, size_t whylen)
{
	struct allowlist *a = NULL;
	char err[AM_ERRLEN];
	size_t skipped = 0;

	*out = NULL;
	if (skipped_out)
		*skipped_out = 0;
	if (cfg->n_allowlist == 0)
		return 0;
	if (allowlist_new(&a) != 0)
		return AM_ENOMEM;
	for (size_t i = 0; i < cfg->n_allowlist; i++) {
		struct skip_report r = {.check = check};
		struct allowlist_load_stats st;
		int rv = allowlist_load_file(a, cfg->allowlist[i], on_skip, &r, &st, err, sizeof err);
		if (rv != 0) {
			if (why)
				snprintf(why, whylen, "%s", err);
			else if (check)
				fprintf(stderr, "%s\n", err);
			else
				log_error("allowlist: %s", err);
			allowlist_free(a);
			return rv;
		}
		if (st.skipped > ALLOWLIST_SKIPS_SHOWN) {
			if (check)
				fprintf(stderr, "%s: ... and %zu more bad entries skipped\n", cfg->allowlist[i],
				        st.skipped - ALLOWLIST_SKIPS_SHOWN);
			else
				log_warn("allowlist: %s: ... and %zu more bad entries skipped", cfg->allowlist[i],
				         st.skipped - ALLOWLIST_SKIPS_SHOWN);
		}
		if (st.narrowed > ALLOWLIST_SKIPS_SHOWN) {
			if (check)
				fprintf(stderr, "%s: ... and %zu more public-suffix entries covering the name only\n",
				        cfg->allowlist[i], st.narrowed - ALLOWLIST_SKIPS_SHOWN);
			else
				log_warn("allowlist: %s: ... and %zu more public-suffix entries covering the name only",
				         cfg->allowlist[i], st.narrowed - ALLOWLIST_SKIPS_SHOWN);
		}
		if (!check)
			log_info("allowlist: %s: %zu entr%s, %zu bad entr%s skipped, %zu public-suffix entr%s covering "
			         "the name only",
			         cfg->allowlist[i], st.entries, st.entries == 1 ? "y" : "ies", st.skipped, st.skipped == 1 ? "y" : "ies", st.narrowed,
			         st.narrowed == 1 ? "y" : "ies");
		skipped += st.skipped;
	}
	if (!check)
		log_info("allowlist: %zu names from %zu file%s, %zu bad entr%s skipped", allowlist_count(a),
		         cfg->n_allowlist, cfg->n_allowlist == 1 ? "" : "s", skipped, skipped == 1 ? "y" : "ies");
	if (skipped_out)
		*skipped_out = skipped;
	/* the RPZ feed asks for the entries below a blocked name (passthru
	 * rules); without the index that is a scan (allowlist_below) */
	if (allowlist_index(a) != 0 && !check)
		log_warn("allowlist: no memory for its index; RPZ updates scan it instead");
	*out = a;
	return 0;
}

/* Runs the sweep once through the apply path: the store removes expired
 * records durably, and the subscribers (live feed, audit trail) hear of
 * each removal. */
static void sweep(struct apply *ap, struct audit *audit, uint64_t retention)
{
	size_t removed = 0;
	char err[AM_ERRLEN];
	int rv = apply_sweep(ap, timefmt_now(), SWEEP_BATCH, &removed);
	if (audit) {
		audit_flush(audit);
		if (audit_prune(audit, timefmt_now(), retention, err, sizeof err) != 0)
			log_error("audit: cannot prune: %s", err);
	}
	if (rv != 0)
		log_error("sweep failed: %s", am_strerror(rv));
	else if (removed)
		log_info("sweep removed %zu expired record%s", removed, removed == 1 ? "" : "s");
}

/* SIGHUP: re-read config and trust store; apply neighbours and policies
 * without dropping links that did not change. A broken edit is reported
 * and the running configuration stays. Peer identity, store and sockets
 * need a restart (they are not reloaded). */
static char running_listen[256], running_metrics[64];
/* how long a reload waits for the zones' rebuild before it says "reloaded" */
#define RELOAD_ZONES_WAIT_MS 10000

/* config_rpz_warnings: to --check's stderr, or the log (arg: a prefix) */
static void warn_stderr(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

static void warn_log(void *arg, const char *msg)
{
	log_warn("%s%s", (const char *)arg, msg);
}

/* What the reload says goes through the logger, stamped and levelled as
 * every other line (the file:line problems of a refused file went to
 * stderr bare), and into the record `amesh status' and the metrics show
 * (reload_status.h): only the log said a reload was refused. */
static struct reload_status *reload_rec;
/* the reload's first error, for `amesh reload''s answer (under reload_lock) */
static char reload_first[AM_ERRLEN * 2];

/* One thing the reload says: logged with `tail' after it, recorded bare. */
static void reload_vsay(enum log_level level, const char *tail, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void reload_vsay(enum log_level level, const char *tail, const char *fmt, va_list ap)
{
	char msg[AM_ERRLEN * 2];

	vsnprintf(msg, sizeof msg, fmt, ap);
	log_msg(level, "SIGHUP: %s%s", msg, tail);
	reload_status_add(reload_rec, "%s", msg);
	if (level == LOG_ERROR && reload_first[0] == '\0')
		snprintf(reload_first, sizeof reload_first, "%s", msg);
}

static void reload_say(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reload_say(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reload_vsay(level, "", fmt, ap);
	va_end(ap);
}

/* The reason a reload is refused: recorded, and logged on one line with
 * what that means. */
static void reload_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reload_refuse(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reload_vsay(LOG_ERROR, "; keeping the running configuration", fmt, ap);
	va_end(ap);
}

static void reload_diag(void *arg, const char *path, unsigned line, const char *msg)
{
	unsigned *count = arg;
	(*count)++;
	if (line)
		reload_say(LOG_ERROR, "%s:%u: %s", path, line, msg);
	else
		reload_say(LOG_ERROR, "%s: %s", path, msg);
}

static void reload_limit(void *arg, const char *msg)
{
	(void)arg;
	reload_say(LOG_WARN, "%s", msg);
}

/* What a reload works on: SIGHUP's and `amesh reload''s (control.h). */
struct reload_ctx {
	const char *path;
	const struct config *running;
	struct mesh *mesh;
	struct control_allow *allow;
	struct dns *dns;
	struct rpz_feed *feed;
	struct control_settings *settings;
	struct sighting_zones *sighting_zones;
};

/* sweep_interval and audit_retention in force: the main loop reads them
 * each round, a reload (on the main thread, or a control thread for
 * `amesh reload') sets them - they were the start's, whatever a reload
 * said. */
static _Atomic uint64_t sweep_every, retention;

/* One reload at a time: SIGHUP on the main thread and `amesh reload' on a
 * control thread would otherwise interleave their swaps. */
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

/* 0 when the file is in force; else an am_err, logged, with why (the
 * first problem, with its line) in why: the running configuration stays. */
static int reload_locked(const struct reload_ctx *x, char *why, size_t whylen)
{
	const char *path = x->path;
	const struct config *running = x->running;
	struct config fresh;
	struct trust t = {0};
	char err[AM_ERRLEN];
	unsigned n = 0;
	enum reload_result result = RELOAD_REFUSED;
	int rv;

	reload_first[0] = '\0';
	if (whylen > 0)
		why[0] = '\0';
	reload_status_begin(reload_rec, timefmt_now());
	if ((rv = config_load(&fresh, path, reload_diag, &n)) != 0) {
		if (n == 0)
			reload_say(LOG_ERROR, "%s: cannot read it", path);
		log_error("SIGHUP: %s has %u problem%s; keeping the running configuration", path, n,
		          n == 1 ? "" : "s");
		snprintf(why, whylen, "%s - %u problem%s (the log and amesh status name each); keeping the running "
		         "configuration", reload_first, n, n == 1 ? "" : "s");
		goto out;
	}
	/* the trust store the daemon opened at start (`trust' is start-only:
	 * reload-trust, the key-statement worker and --origin read that file) */
	if ((rv = trust_load(&t, running->trust_file, err, sizeof err)) != 0) {
		reload_refuse("%s", err);
		goto out;
	}
	if (strcmp(fresh.listen, running_listen) != 0)
		reload_say(LOG_WARN, "`listen' changed; the listener changes at the next restart");
	if (strcmp(fresh.metrics_listen, running_metrics) != 0)
		reload_say(LOG_WARN, "`metrics_listen' changed; the metrics endpoint changes at the next restart");
	/* What the daemon opened at start stays until a restart; a reload
	 * took a new name, key, store, socket or resolver log in silence and
	 * said "reloaded", as if it were in force. */
	const struct {
		const char *key, *was, *now;
	} at_start[] = {
		{"name", running->name, fresh.name},
		{"key", running->key_file, fresh.key_file},
		{"data_dir", running->data_dir, fresh.data_dir},
		{"control", running->control, fresh.control},
		{"sightings_log", running->sightings_log, fresh.sightings_log},
		{"trust", running->trust_file, fresh.trust_file},
	};
	/* sizes fixed at start: the store's map and the watch feed's ring */
	if (fresh.map_size != running->map_size)
		reload_say(LOG_WARN, "`map_size' changed from %.1f MiB to %.1f MiB; it is read at start only: %.1f MiB "
		           "stays in force until the next restart", (double)running->map_size / (1 << 20),
		           (double)fresh.map_size / (1 << 20), (double)running->map_size / (1 << 20));
	if (fresh.watch_buffer != running->watch_buffer)
		reload_say(LOG_WARN, "`watch_buffer' changed from %llu to %llu; it is read at start only: %llu stays in force "
		           "until the next restart", (unsigned long long)running->watch_buffer,
		           (unsigned long long)fresh.watch_buffer, (unsigned long long)running->watch_buffer);
	for (size_t i = 0; i < sizeof at_start / sizeof at_start[0]; i++)
		if (strcmp(at_start[i].was, at_start[i].now) != 0)
			reload_say(LOG_WARN, "`%s' changed from `%s' to `%s'; it is read at start only: `%s' stays in "
			           "force until the next restart", at_start[i].key, at_start[i].was, at_start[i].now,
			           at_start[i].was);
	struct allowlist *al = NULL;
	size_t skipped = 0;
	if ((rv = load_allowlist(&fresh, false, &al, &skipped, err, sizeof err)) != 0) {
		reload_refuse("allowlist: %s", err);
		goto out;
	}
	/* The mesh goes first: it is the last step that can refuse the file,
	 * and "keeping the running configuration" must be true of all of it.
	 * The allowlist and zones were put in force before it, so a refused
	 * reload had already swapped them for the file's. */
	if ((rv = mesh_reload(x->mesh, &fresh, &t, err, sizeof err)) != 0) {
		reload_refuse("%s: %s", path, err);
		allowlist_free(al);
		goto out;
	}
	control_allow_set(x->allow, al);
	/* the lists are in force without their bad entries: said where the
	 * operator looks, not in the log alone */
	if (skipped)
		reload_status_add(reload_rec, "allowlist: %zu bad entr%s skipped (named in the log; ameshd --check lists "
		                  "them)", skipped, skipped == 1 ? "y" : "ies");
	control_settings_set(x->settings, &fresh); /* max_lifetime, weights, thresholds ... for requests */
	/* hits from now on are attributed by the new zones' categories */
	if (sighting_zones_set(x->sighting_zones, &fresh) != 0)
		reload_say(LOG_WARN, "out of memory for the new [rpz] zones of sightings; hits are attributed by the "
		           "previous ones");
	atomic_store(&sweep_every, fresh.sweep_interval);
	atomic_store(&retention, fresh.audit_retention);
	/* zones: new settings served at once, then rebuilt from live state;
	 * dns_listen, and zones for a peer that started with none, need a
	 * restart - said, not silently left undone */
	config_rpz_reload_limits(running, &fresh, reload_limit, NULL);
	config_rpz_warnings(&fresh, warn_log, "SIGHUP: ");
	if (x->dns != NULL)
		dns_set_zones(x->dns, fresh.rpz, fresh.n_rpz);
	uint64_t gen = rpz_feed_set_config(x->feed, &fresh);
	result = RELOAD_APPLIED;
	/* "reloaded" once the zones are rebuilt under the new settings and
	 * their new serials announced: it came first, and an operator who
	 * checked a secondary at that word could find the old zone there */
	bool built = gen == 0 || rpz_feed_wait(x->feed, gen, RELOAD_ZONES_WAIT_MS);
	log_info("SIGHUP: reloaded %s: %zu neighbour%s, %zu trusted key%s%s", path, fresh.n_neighbours,
	         fresh.n_neighbours == 1 ? "" : "s", t.n, t.n == 1 ? "" : "s",
	         built ? "" : "; the zones are still being rebuilt (each says its new serial in the log)");
out:
	if (result == RELOAD_REFUSED && why[0] == '\0')
		snprintf(why, whylen, "%s; keeping the running configuration", reload_first);
	reload_status_end(reload_rec, result);
	trust_free(&t);
	config_free(&fresh);
	return rv;
}

static int reload(void *arg, char *why, size_t whylen)
{
	pthread_mutex_lock(&reload_lock);
	int rv = reload_locked(arg, why, whylen);
	pthread_mutex_unlock(&reload_lock);
	return rv;
}

/* Shutdown is ordered so that it ends (users stopped, contexts closed,
 * threads joined) and leaves NNG's sockets to the kernel, so NNG 1.5.2's
 * reaper wedge (nngexit.h) cannot hold it. This deadline is the last
 * resort for anything else that might: every acknowledged change is
 * already a durable commit, so leaving now loses nothing. */
#define SHUTDOWN_DEADLINE_S 20

/* The dispute audit's names come from the mesh's trust store, once the
 * mesh is open (arg points at main's mesh pointer). */
static bool dispute_names(void *arg, const uint8_t key[AM_KEY_BYTES], char *out, size_t outlen)
{
	struct mesh *m = *(struct mesh **)arg;
	return m && mesh_origin_name(m, key, out, outlen);
}

static void *shutdown_deadline(void *arg)
{
	pthread_setname_np(pthread_self(), "am-deadline"); /* top -H, ps -L, perf: which part is busy */
	(void)arg;
	sleep(SHUTDOWN_DEADLINE_S);
	log_error("shutdown did not finish within %d s; every acknowledged change "
	          "is already stored; exiting now", SHUTDOWN_DEADLINE_S);
	_exit(1);
	return NULL;
}

/* As the mesh resolves a policy's origin names: a trusted, unrevoked key. */
static bool check_lookup(void *arg, const char *name, uint8_t pk[AM_KEY_BYTES])
{
	const struct trust_entry *e = trust_by_name(arg, name);
	if (!e || e->revoked)
		return false;
	memcpy(pk, e->pk, AM_KEY_BYTES);
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"passphrase", no_argument, NULL, 'p'},
		{"passphrase-fd", required_argument, NULL, 'P'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	bool check_only = false, ask_pass = false;
	int pass_fd = -1, c, status = 1;
	struct config cfg;
	struct keyfile_secret *key = NULL;
	struct store *store = NULL;
	struct datalock *dlock = NULL;
	struct ownkeys retired = {0};
	struct control *ctl = NULL;
	struct sighting_follow *follow = NULL;
	struct sighting_zones *szones = NULL;
	struct mesh *mesh = NULL;
	struct dispute_audit *daudit = NULL;
	struct events *events = NULL;
	struct listen_guard *guard = NULL;
	struct workpool *verify = NULL;
	struct audit *audit = NULL;
	struct apply *ap = NULL;
	struct control_allow *allow = NULL;
	struct control_settings *settings = NULL;
	struct allowlist *al = NULL;
	struct metrics *metrics = NULL;
	struct rpz *rpz = NULL;
	struct dns *dns = NULL;
	struct rpz_feed *feed = NULL;
	char audit_path[PATH_MAX + 16], rpz_path[PATH_MAX + 16];
	struct trust trust = {0};
	char *pass = NULL;
	char err[AM_ERRLEN];
	unsigned problems = 0;
	int rv;
	sigset_t sigs;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'C': check_only = true; break;
		case 'p': ask_pass = true; break;
		case 'P': {
			char *end;
			long fd = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || fd < 0 || fd > 65535) {
				fprintf(stderr, "ameshd: --passphrase-fd: bad descriptor `%s'\n", optarg);
				return 2;
			}
			pass_fd = (int)fd;
			break;
		}
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "ameshd: libsodium failed to initialise\n");
		return 1;
	}
	if (config_load(&cfg, config_path, print_diag, &problems) != 0) {
		if (problems == 0)
			fprintf(stderr, "ameshd: cannot read %s\n", config_path);
		fprintf(stderr, "ameshd: %s: configuration has %u problem%s\n", config_path,
		        problems, problems == 1 ? "" : "s");
		config_free(&cfg);
		return 1;
	}
	/* Fail closed: an unreadable or malformed trust store stops the peer;
	 * it never means "trust nobody" or "trust everybody" silently. */
	if (trust_load(&trust, cfg.trust_file, err, sizeof err) != 0) {
		fprintf(stderr, "ameshd: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	char exposed[PATH_MAX * 2 + 256];
	int secret_rc = config_rpz_secret_exposed(&cfg, exposed, sizeof exposed);
	if (check_only) {
		int bad = 0;
		if (secret_rc != 0)
			fprintf(stderr, "%s\n", exposed);
		config_rpz_warnings(&cfg, warn_stderr, NULL);
		for (size_t i = 0; i < cfg.n_neighbours; i++) {
			const struct config_neighbour *n = &cfg.neighbours[i];
			const struct trust_entry *e = trust_by_name(&trust, n->name);
			if (!e) {
				char why[AM_ERRLEN];
				config_untrusted_neighbour(&cfg, n->name, why, sizeof why);
				fprintf(stderr, "%s:%u: neighbour `%s' %s\n", cfg.path, n->line, n->name, why);
				bad = 1;
			} else if (e->revoked) {
				/* the daemon starts with it and keeps its link down: a
				 * revocation must not fail systemd's ExecStartPre and
				 * take the whole peer down at its next restart */
				fprintf(stderr, "%s:%u: warning: neighbour `%s' has a revoked key in %s: its link "
				        "stays down; remove the section, or trust its new key under another name\n",
				        cfg.path, n->line, n->name, cfg.trust_file);
			}
		}
		/* Policies fail closed: a section with neither categories line
		 * exchanges nothing, its link up all the same - the edit of a
		 * tired admin who wrote the header and the endpoint, or whose
		 * policy lines went to another section. It was "valid" with no
		 * word. `none' says it on purpose and is not warned. */
		for (size_t i = 0; i < cfg.n_neighbours; i++) {
			const struct config_neighbour *n = &cfg.neighbours[i];
			if (!n->exp.configured && !n->imp.configured)
				fprintf(stderr, "%s:%u: warning: [neighbour %s] sets neither export.categories nor "
				        "import.categories: nothing is sent to it or accepted from it (write `none' "
				        "to mean that)\n", cfg.path, n->line, n->name);
		}
		/* a policy's origin names that resolve to no trusted key match
		 * no origin (policy.h): --check said "valid" and the start
		 * refused them, with neither file nor line */
		for (size_t i = 0; i < cfg.n_neighbours; i++) {
			const struct config_neighbour *n = &cfg.neighbours[i];
			struct policy_export exp = {0};
			struct policy_import imp = {0};
			char w[AM_ERRLEN];
			if (policy_export_copy(&exp, &n->exp) == 0 &&
			    policy_resolve_export(&exp, check_lookup, &trust, w, sizeof w) == 0 && w[0])
				fprintf(stderr, "%s:%u: warning: [neighbour %s] %s: it matches no origin until a key is "
				        "trusted under that name\n", cfg.path, n->line, n->name, w);
			if (policy_import_copy(&imp, &n->imp) == 0 &&
			    policy_resolve_import(&imp, check_lookup, &trust, w, sizeof w) == 0 && w[0])
				fprintf(stderr, "%s:%u: warning: [neighbour %s] %s: it matches no origin until a key is "
				        "trusted under that name\n", cfg.path, n->line, n->name, w);
			policy_export_free(&exp);
			policy_import_free(&imp);
		}
		/* a weight is looked up by trust-store name when a verdict is
		 * made: a name misspelt, or not trusted yet, weighs nothing and
		 * nothing said so - the origin kept default_weight */
		for (size_t i = 0; i < cfg.n_weights; i++)
			if (!trust_by_name(&trust, cfg.weights[i].name) && strcmp(cfg.weights[i].name, cfg.name) != 0)
				fprintf(stderr, "%s:%u: warning: origin_weights: `%s' is not in the trust store %s: its "
				        "weight applies to no origin until a key is trusted under that name (amesh keys "
				        "list shows the names)\n", cfg.path, cfg.weights_line, cfg.weights[i].name,
				        cfg.trust_file);
		/* the files the daemon opens first, read as it reads them */
		unsigned file_problems = 0;
		bool encrypted = false;
		if (config_files_check(&cfg, print_diag, &file_problems, &encrypted) != 0)
			bad = 1;
		if (encrypted && !bad)
			printf("%s: the key is passphrase-protected: start ameshd with --passphrase or "
			       "--passphrase-fd N\n", cfg.key_file);
		/* the libraries the daemon will refuse to start without */
		if (domain_init(err, sizeof err) != 0) {
			fprintf(stderr, "ameshd: %s\n", err);
			bad = 1;
		}
		/* the lists are loaded exactly as the daemon will load them */
		size_t skipped = 0;
		if (load_allowlist(&cfg, true, &al, &skipped, NULL, 0) != 0)
			bad = 1;
		if (!bad)
			printf("%s: configuration is valid (peer `%s', %zu neighbour%s, %zu trusted key%s, "
			       "%zu allowlisted name%s from %zu file%s, %zu bad entr%s skipped)\n",
			       cfg.path, cfg.name, cfg.n_neighbours, cfg.n_neighbours == 1 ? "" : "s", trust.n,
			       trust.n == 1 ? "" : "s", allowlist_count(al), allowlist_count(al) == 1 ? "" : "s",
			       cfg.n_allowlist, cfg.n_allowlist == 1 ? "" : "s", skipped, skipped == 1 ? "y" : "ies");
		allowlist_free(al);
		trust_free(&trust);
		config_free(&cfg);
		return bad;
	}
	if (domain_init(err, sizeof err) != 0) {
		fprintf(stderr, "ameshd: %s\n", err);
		goto out;
	}
	if (ask_pass || pass_fd >= 0) {
		pass = keyfile_read_passphrase(ask_pass ? -1 : pass_fd, "Passphrase for the peer key: ",
		                               false, err, sizeof err);
		if (!pass) {
			fprintf(stderr, "ameshd: %s\n", err);
			goto out;
		}
	}
	if (keyfile_load_secret(cfg.key_file, pass, &key, err, sizeof err) != 0) {
		char where[PATH_MAX + 64];
		config_files_where(&cfg, cfg.key_line, "key", where, sizeof where);
		fprintf(stderr, "ameshd: %s: %s\n", where, err);
		goto out;
	}
	/* the keys `amesh keys rotate' retired: what they signed is still ours
	 * to answer for and to withdraw (ownkeys.h) */
	if (ownkeys_load(&retired, cfg.key_file, pass, err, sizeof err) != 0) {
		fprintf(stderr, "ameshd: %s\n", err);
		goto out;
	}
	keyfile_passphrase_free(pass);
	pass = NULL;
	/* before anything in data_dir is opened: a second daemon on the same
	 * store corrupted the audit trail's chain (datalock.h) */
	if ((rv = datalock_take(&dlock, cfg.data_dir, err, sizeof err)) != 0) {
		char where[PATH_MAX + 64] = "";
		if (rv != AM_EEXIST) /* a path to edit, not a process to stop */
			config_files_where(&cfg, cfg.data_dir_line, "data_dir", where, sizeof where);
		fprintf(stderr, "ameshd: %s%s%s\n", where, where[0] ? ": " : "", err);
		goto out;
	}
	if (store_open(&store, cfg.data_dir, cfg.map_size, err, sizeof err) != 0) {
		fprintf(stderr, "ameshd: %s\n", err);
		goto out;
	}
	if (store_map_size(store) > cfg.map_size)
		log_warn("store: map_size %.1f MiB is below the %.1f MiB data.mdb already has in %s: that stays the "
		         "map, and the store is full when it is; raise map_size above it to let the store grow",
		         (double)cfg.map_size / (1 << 20), (double)store_map_size(store) / (1 << 20), cfg.data_dir);
	/* Block the signals we wait for before NNG starts its threads, so they
	 * all inherit the mask and only sigtimedwait below ever sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Always a mesh, even with no neighbours: it holds the trust store in
	 * force, which queries consult (revoked origins are not answered). */
	snprintf(audit_path, sizeof audit_path, "%s/audit.log", cfg.data_dir);
	err[0] = '\0';
	if ((rv = audit_open(&audit, audit_path, err, sizeof err)) != 0) {
		/* audit_open's messages mostly start with the path already */
		if (strncmp(err, audit_path, strlen(audit_path)) == 0)
			fprintf(stderr, "ameshd: audit trail %s\n", err);
		else
			fprintf(stderr, "ameshd: audit trail %s: %s\n", audit_path, err);
		if (rv == AM_EDECODE)
			fprintf(stderr, "ameshd: the trail was altered or damaged; keep it for investigation, "
			        "move it aside (mv %s %s.broken) and start again to begin a new trail\n",
			        audit_path, audit_path);
		goto out;
	}
	if (err[0])
		log_warn("audit: %s", err);
	if (load_allowlist(&cfg, false, &al, NULL, NULL, 0) != 0 || control_allow_new(&allow) != 0) {
		fprintf(stderr, "ameshd: cannot load the allowlist (see above)\n");
		goto out;
	}
	control_allow_set(allow, al);
	if (events_new(&events, cfg.watch_buffer) != 0) {
		fprintf(stderr, "ameshd: out of memory for the live feed\n");
		goto out;
	}
	/* Every change enters through the apply path; its consumers subscribe
	 * here (the relay subscribes itself in mesh_open). */
	if (apply_open(&ap, store) != 0 || apply_subscribe_audit(ap, audit) != 0 ||
	    apply_subscribe_events(ap, events) != 0 ||
	    dispute_subscribe_audit(ap, audit, dispute_names, &mesh, &daudit) != 0) {
		fprintf(stderr, "ameshd: cannot set up the apply path\n");
		goto out;
	}
	if (listen_guard_open(&guard) != 0) {
		fprintf(stderr, "ameshd: cannot start the listener guard\n");
		goto out;
	}
	/* received batches are verified on every core (issue 13) */
	if (workpool_new(&verify, workpool_default_helpers()) != 0) {
		fprintf(stderr, "ameshd: cannot start the signature verifiers\n");
		goto out;
	}
	struct mesh_env menv = {.store = store, .key = key, .retired = &retired, .apply = ap, .trust_path = cfg.trust_file,
	                        .audit = audit, .guard = guard, .verify = verify};
	if ((rv = mesh_open(&mesh, &menv, &cfg, &trust, err, sizeof err)) != 0) {
		/* a neighbour the trust store lacks is the file's problem: name it */
		fprintf(stderr, "ameshd: %s%s%s\n", rv == AM_EUNTRUSTED ? cfg.path : "", rv == AM_EUNTRUSTED ? ": " : "",
		        err);
		goto out;
	}
	/* Response policy zones: their own LMDB environment beside the store,
	 * so a rebuilt store keeps the serials and the journal. */
	if (cfg.n_rpz > 0) {
		snprintf(rpz_path, sizeof rpz_path, "%s/rpz", cfg.data_dir);
		if (rpz_open(&rpz, rpz_path, cfg.map_size, err, sizeof err) != 0) {
			fprintf(stderr, "ameshd: %s\n", err);
			goto out;
		}
		if (cfg.n_dns_listen > 0 && dns_open(&dns, &cfg, rpz, err, sizeof err) != 0) {
			fprintf(stderr, "ameshd: %s\n", err);
			goto out;
		}
		struct rpz_feed_env fenv = {.store = store, .rpz = rpz, .dns = dns, .apply = ap,
		                            .mesh = mesh, .own_pk = key->pk, .allow = allow};
		if (rpz_feed_open(&feed, &fenv, &cfg) != 0) {
			fprintf(stderr, "ameshd: cannot start the zone feed\n");
			goto out;
		}
	}
	uint64_t started_at = timefmt_now();
	if (reload_status_new(&reload_rec, started_at) != 0) {
		fprintf(stderr, "ameshd: out of memory for the reload record\n");
		goto out;
	}
	struct metrics_env mxenv = {.store = store, .mesh = mesh, .apply = ap, .cfg = &cfg,
	                            .started_at = started_at, .reload = reload_rec};
	if (metrics_new(&metrics, &mxenv) != 0) {
		fprintf(stderr, "ameshd: out of memory for metrics\n");
		goto out;
	}
	struct rpz_metrics rpzm = {.r = rpz, .d = dns, .f = feed};
	if (rpz && rpz_metrics_register(metrics, &rpzm) != 0) {
		fprintf(stderr, "ameshd: cannot register the RPZ metrics\n");
		goto out;
	}
	/* A configured endpoint that cannot listen stops the peer: silently
	 * scraping nothing (or another peer's port) would be worse. */
	if (cfg.metrics_listen[0] && metrics_serve(metrics, cfg.metrics_listen, err, sizeof err) != 0) {
		fprintf(stderr, "ameshd: %s\n", err);
		goto out;
	}
	if (control_settings_new(&settings, &cfg) != 0 || sighting_zones_new(&szones, &cfg) != 0) {
		fprintf(stderr, "ameshd: %s\n", am_strerror(AM_ENOMEM));
		goto out;
	}
	struct reload_ctx rctx = {.path = config_path, .running = &cfg, .mesh = mesh, .allow = allow, .dns = dns,
	                          .feed = feed, .settings = settings,
	                          .sighting_zones = szones};
	struct control_env env = {
		.store = store, .cfg = &cfg, .key = key, .retired = &retired, .started_at = started_at, .mesh = mesh,
		.events = events, .audit = audit, .audit_path = audit_path, .allow = allow, .apply = ap,
		.metrics = metrics, .rpz = rpz, .dns = dns, .guard = guard, .rpz_feed = feed, .reload = reload_rec,
		.reload_run = reload, .reload_arg = &rctx, .settings = settings,
		.sighting_zones = szones,
	};
	if (control_open(&ctl, &env, cfg.control, err, sizeof err) != 0) {
		char where[PATH_MAX + 64];
		config_files_where(&cfg, cfg.control_line, "control", where, sizeof where);
		fprintf(stderr, "ameshd: %s: %s\n", where, err);
		goto out;
	}
	/* a resolver's hit log, counted as `amesh sightings import' would */
	struct sighting_env senv = {.store = store, .apply = ap, .key = key, .cfg = &cfg, .zones = szones,
	                            .mesh = mesh};
	if (cfg.sightings_log[0] && sighting_follow_open(&follow, &senv, cfg.sightings_log, err, sizeof err) != 0) {
		fprintf(stderr, "ameshd: %s\n", err);
		goto out;
	}
	char keyid[2 * AM_KEYID_BYTES + 1];
	am_keyid_hex(key->pk, keyid);
	snprintf(running_listen, sizeof running_listen, "%s", cfg.listen);
	snprintf(running_metrics, sizeof running_metrics, "%s", cfg.metrics_listen);
	trace_stamp("self", cfg.name);
	log_info("ameshd %s started: key %s, control %s, store %s, %zu neighbour%s%s%s%s%s", cfg.name, keyid,
	         cfg.control, cfg.data_dir, cfg.n_neighbours, cfg.n_neighbours == 1 ? "" : "s",
	         cfg.listen[0] ? ", listening on " : "", cfg.listen,
	         cfg.metrics_listen[0] ? ", metrics on " : "", cfg.metrics_listen);
	if (secret_rc != 0)
		log_warn("%s", exposed);
	config_rpz_warnings(&cfg, warn_log, "");
	atomic_store(&sweep_every, cfg.sweep_interval);
	atomic_store(&retention, cfg.audit_retention);
	sweep(ap, audit, atomic_load(&retention));
	uint64_t last_sweep = monoclock_ms();
	struct clockstep clock_watch = {0};
	uint64_t step_ms;
	(void)clockstep_sweep_ok(&clock_watch, timefmt_now_us() / 1000, last_sweep, &step_ms);

	for (;;) {
		/* a second at most, so a sweep_interval a reload shortened (or an
		 * `amesh reload', which sends no signal) is heeded within one */
		struct timespec ts = {.tv_sec = 1};
		int sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig < 0) {
			if (errno != EAGAIN)
				continue;
			/* looked at every second, so a step is seen before a sweep */
			bool may_sweep = clockstep_sweep_ok(&clock_watch, timefmt_now_us() / 1000, monoclock_ms(), &step_ms);
			if (step_ms)
				log_warn("the wall clock jumped %.1f minutes forward: expired records are not swept for %llu "
				         "minutes in case the clock is put back, so none is deleted early (queries and zones "
				         "already read the clock as it is)",
				         (double)step_ms / 60000, (unsigned long long)(CLOCKSTEP_HOLD_MS / 60000));
			if (may_sweep && monoclock_ms() - last_sweep >= atomic_load(&sweep_every) * 1000) {
				sweep(ap, audit, atomic_load(&retention));
				last_sweep = monoclock_ms();
			}
			continue;
		}
		if (sig == SIGHUP) {
			char why[AM_ERRLEN];
			(void)reload(&rctx, why, sizeof why); /* logged either way */
			continue;
		}
		log_info("signal %d: shutting down", sig);
		pthread_t deadline;
		if (pthread_create(&deadline, NULL, shutdown_deadline, NULL) == 0)
			pthread_detach(deadline);
		break;
	}
	status = 0;
out:
	/* from here the close functions leave NNG sockets and their pipes to
	 * the kernel: closing a live pipe can wedge NNG 1.5.2 (nngexit.h) */
	nngexit_begin();
	events_shutdown(events); /* watchers' long-polls end now, not in 5 s */
	sighting_follow_close(follow); /* its last counts, through the apply path */
	control_close(ctl);
	metrics_free(metrics); /* its responder reads the mesh and the store */
	reload_status_free(reload_rec); /* after its readers, control and metrics */
	reload_rec = NULL;
	rpz_feed_close(feed);
	dns_close(dns);
	rpz_close(rpz);
	mesh_close(mesh);
	workpool_free(verify); /* after its users, the mesh's threads, are joined */
	mesh = NULL; /* the dispute audit's names stop here */
	apply_close(ap);
	dispute_audit_free(daudit);
	listen_guard_close(guard);
	events_free(events);
	control_allow_free(allow);
	control_settings_free(settings);
	sighting_zones_free(szones); /* after its readers: control and the follower */
	audit_close(audit);
	trust_free(&trust);
	config_free(&cfg);
	store_close(store);
	datalock_release(dlock); /* last: everything in data_dir is closed */
	keyfile_secret_free(key);
	ownkeys_free(&retired);
	keyfile_passphrase_free(pass);
	domain_fini();
	return status;
}

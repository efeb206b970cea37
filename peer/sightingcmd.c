/* sightingcmd.c - `amesh sightings [import]': hit logs in, counts and reports out. */
#include "sightingcmd.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "jsonout.h"
#include "sighting_log.h"
#include "wire.h"
#include "wire_sighting.h"

#define EXIT_NOMATCH 1
#define EXIT_ERR 2

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "amesh sightings: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "amesh sightings: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see `amesh help')\n");
	exit(EXIT_ERR);
}

/* --- counting: (day, qname, hint) -> hits, open addressing --- */

struct key {
	char *qname, *hint; /* owned */
	uint32_t day;
	uint64_t count;
};

struct counts {
	struct key *slots;
	size_t cap, n;
	uint64_t dropped; /* hits on keys past SIGHTINGCMD_KEYS_MAX */
};

static uint64_t hash_of(uint32_t day, const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull ^ day;
	for (const char *p = a; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (const char *p = b; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

static int counts_grow(struct counts *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 1024;
	struct key *ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return AM_ENOMEM;
	for (size_t i = 0; i < c->cap; i++) {
		struct key *k = &c->slots[i];
		if (!k->qname)
			continue;
		size_t j = hash_of(k->day, k->qname, k->hint) & (ncap - 1);
		while (ns[j].qname)
			j = (j + 1) & (ncap - 1);
		ns[j] = *k;
	}
	free(c->slots);
	c->slots = ns;
	c->cap = ncap;
	return 0;
}

static int counts_add(struct counts *c, uint32_t day, const char *qname, const char *hint)
{
	if (c->n * 2 >= c->cap && c->n < SIGHTINGCMD_KEYS_MAX && counts_grow(c) != 0)
		return AM_ENOMEM;
	size_t j = hash_of(day, qname, hint) & (c->cap - 1);
	while (c->slots[j].qname) {
		struct key *k = &c->slots[j];
		if (k->day == day && strcmp(k->qname, qname) == 0 && strcmp(k->hint, hint) == 0) {
			k->count++;
			return 0;
		}
		j = (j + 1) & (c->cap - 1);
	}
	if (c->n >= SIGHTINGCMD_KEYS_MAX) {
		c->dropped++;
		return 0;
	}
	struct key *k = &c->slots[j];
	if ((k->qname = strdup(qname)) == NULL || (k->hint = strdup(hint)) == NULL) {
		free(k->qname);
		k->qname = NULL;
		return AM_ENOMEM;
	}
	k->day = day;
	k->count = 1;
	c->n++;
	return 0;
}

static void counts_free(struct counts *c)
{
	for (size_t i = 0; i < c->cap; i++) {
		free(c->slots[i].qname);
		free(c->slots[i].hint);
	}
	free(c->slots);
}

struct import_ctx {
	const char *file;
	const struct feedcmd_env *env;
	struct client *cl;
	struct counts counts;
	struct wire_sighting_row *rows; /* WIRE_SIGHTING_ROWS_MAX */
	struct wire_sightings_res total;
	uint64_t bad_shown;
	time_t last_flush;
	long flush_every;               /* seconds */
	bool failed;                    /* a flush failed: said on stderr */
};

/* Sends every count held (in requests of at most WIRE_SIGHTING_ROWS_MAX
 * rows), adds the answers to x->total and empties the table. 0 or -1
 * after one line on stderr. */
static int flush_counts(struct import_ctx *x)
{
	char err[AM_ERRLEN];
	size_t slot = 0;

	x->last_flush = time(NULL);
	for (;;) {
		size_t n = 0;
		for (; slot < x->counts.cap && n < WIRE_SIGHTING_ROWS_MAX; slot++) {
			const struct key *k = &x->counts.slots[slot];
			if (!k->qname)
				continue;
			snprintf(x->rows[n].qname, sizeof x->rows[n].qname, "%s", k->qname);
			snprintf(x->rows[n].hint, sizeof x->rows[n].hint, "%s", k->hint);
			x->rows[n].day = k->day;
			x->rows[n].count = k->count;
			n++;
		}
		if (n == 0)
			break;
		struct wire_sightings_req sreq = {.import = true, .rows = x->rows, .n_rows = n};
		struct wire_request req = {.op = WIRE_OP_SIGHTINGS, .sight = &sreq};
		struct wire_response resp;
		if (!x->cl && client_open(&x->cl, x->env->socket, err, sizeof err) != 0) {
			errorf("%s", err);
			return -1;
		}
		int crv = client_call(x->cl, &req, &resp, err, sizeof err);
		if (crv != 0 || resp.status != 0) {
			errorf("%s", crv ? err : resp.error[0] ? resp.error : am_strerror(resp.status));
			if (!crv)
				wire_response_clear(&resp);
			return -1;
		}
		struct wire_sightings_res *t = &x->total;
		if (resp.sight) {
			t->rows += resp.sight->rows;
			t->matched += resp.sight->matched;
			t->unmatched += resp.sight->unmatched;
			t->too_old += resp.sight->too_old;
			t->reports += resp.sight->reports;
			for (size_t i = 0; i < resp.sight->n_unmatched_names && t->n_unmatched_names < WIRE_SIGHTING_UNMATCHED_MAX; i++)
				memcpy(t->unmatched_names[t->n_unmatched_names++], resp.sight->unmatched_names[i], AM_DOMAIN_MAX + 1);
		}
		wire_response_clear(&resp);
	}
	counts_free(&x->counts);
	x->counts.slots = NULL;
	x->counts.cap = x->counts.n = 0;
	return 0;
}

static int on_hit(void *arg, const struct sighting_hit *h)
{
	struct import_ctx *x = arg;
	/* BIND's via name ends with the policy zone; Unbound names its zone
	 * only with rpz-log-name (or a local zone for local actions) */
	const char *hint = h->format == SIGHTING_BIND ? h->rule : h->zone;
	if (counts_add(&x->counts, (uint32_t)(h->at / 86400), h->qname, hint) != 0)
		return AM_ENOMEM;
	/* a log pipe never ends: hand the counts over as they grow and as time passes */
	if (x->counts.n >= SIGHTINGCMD_FLUSH_KEYS || time(NULL) - x->last_flush >= x->flush_every) {
		if (flush_counts(x) != 0) {
			x->failed = true;
			return -1;
		}
	}
	return 0;
}

static int on_bad(void *arg, uint64_t line, const char *why)
{
	struct import_ctx *x = arg;
	if (x->bad_shown++ < SIGHTINGCMD_BAD_SHOWN)
		fprintf(stderr, "%s:%llu: %s\n", x->file, (unsigned long long)line, why);
	return 0;
}

static int import_main(int argc, char **argv, const struct feedcmd_env *env)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"flush-every", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct import_ctx x = {.env = env, .flush_every = SIGHTINGCMD_FLUSH_SECONDS};
	struct sighting_log_scan scan = {.format = SIGHTING_AUTO, .on_hit = on_hit, .on_bad = on_bad, .arg = &x};
	FILE *fp = NULL;
	int c, rv = EXIT_ERR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:F:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (sighting_format_parse(optarg, &scan.format) != 0)
				usage_error("--format `%s': expected auto, unbound or bind", optarg);
			break;
		case 'F': {
			char *end;
			errno = 0;
			x.flush_every = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || x.flush_every < 1 || x.flush_every > 3600)
				usage_error("--flush-every `%s' must be seconds from 1 to 3600", optarg);
			break;
		}
		case 'h':
			printf("usage: amesh sightings import [--format auto|unbound|bind] [--flush-every SECONDS] FILE|-\n");
			return 0;
		default:
			usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		usage_error("expected one FILE (or `-' for standard input)");
	x.file = argv[optind];
	if (strcmp(x.file, "-") == 0) {
		fp = stdin;
		x.file = "<stdin>";
	} else if ((fp = fopen(x.file, "r")) == NULL) {
		errorf("cannot open %s: %s", x.file, strerror(errno));
		return EXIT_ERR;
	}
	if ((x.rows = calloc(WIRE_SIGHTING_ROWS_MAX, sizeof *x.rows)) == NULL) {
		errorf("out of memory");
		goto out;
	}
	x.last_flush = time(NULL);
	scan.now = (uint64_t)time(NULL);
	int srv = sighting_log_scan(fp, &scan);
	if (x.failed)
		goto out;
	if (srv == AM_EIO) {
		errorf("cannot read %s: %s", x.file, strerror(errno));
		goto out;
	}
	if (srv != 0) {
		errorf("out of memory counting %s", x.file);
		goto out;
	}
	if (x.bad_shown > SIGHTINGCMD_BAD_SHOWN)
		fprintf(stderr, "%s: %llu more malformed lines not shown\n", x.file,
		        (unsigned long long)(x.bad_shown - SIGHTINGCMD_BAD_SHOWN));
	if (x.counts.dropped)
		fprintf(stderr, "%s: %llu hits not counted: more than %d distinct (day, name) pairs at once\n",
		        x.file, (unsigned long long)x.counts.dropped, SIGHTINGCMD_KEYS_MAX);
	if (flush_counts(&x) != 0)
		goto out;
	struct wire_sightings_res total = x.total;
	if (env->json) {
		json_t *un = json_array();
		for (size_t i = 0; i < total.n_unmatched_names; i++)
			json_array_append_new(un, jsonout_string(total.unmatched_names[i]));
		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "lines",
		                      (json_int_t)scan.lines, "hits", (json_int_t)scan.hits, "malformed",
		                      (json_int_t)scan.bad, "other", (json_int_t)scan.skipped, "not_counted",
		                      (json_int_t)x.counts.dropped, "matched", (json_int_t)total.matched, "unmatched",
		                      (json_int_t)total.unmatched, "too_old", (json_int_t)total.too_old, "reports",
		                      (json_int_t)total.reports, "unmatched_names", un);
		if (!o || jsonout_print(stdout, o) != 0) {
			errorf("cannot write JSON output");
			goto out;
		}
	} else {
		printf("%s: %llu lines: %llu hits, %llu malformed, %llu other\n", x.file, (unsigned long long)scan.lines,
		       (unsigned long long)scan.hits, (unsigned long long)scan.bad, (unsigned long long)scan.skipped);
		printf("%llu hits on live indicators (%llu reports updated), %llu on no live indicator, "
		       "%llu outside the last %d days\n",
		       (unsigned long long)total.matched, (unsigned long long)total.reports,
		       (unsigned long long)total.unmatched, (unsigned long long)total.too_old, SIGHTING_KEEP_DAYS);
		for (size_t i = 0; i < total.n_unmatched_names; i++)
			printf("  no live indicator: %s\n", total.unmatched_names[i]);
	}
	rv = 0;
out:
	if (fp && fp != stdin)
		fclose(fp);
	client_close(x.cl);
	counts_free(&x.counts);
	free(x.rows);
	return rv;
}

static json_t *shown_json(const struct wire_sighting_shown *w)
{
	char day[16], rep[65], org[65], id[65];

	sighting_day_text(w->s.day, day, sizeof day);
	am_hex(w->s.reporter, AM_KEY_BYTES, rep);
	am_hex(w->s.origin, AM_KEY_BYTES, org);
	am_hex(w->s.indicator_id, AM_ID_BYTES, id);
	return json_pack("{s:s, s:o, s:s, s:I, s:s, s:o, s:s, s:o, s:b, s:o, s:s, s:I, s:o}", "day", day, "domain",
	                 jsonout_string(w->s.domain), "category", am_category_name(w->s.category), "count",
	                 (json_int_t)w->s.count, "reporter", rep, "reporter_name", jsonout_string(w->reporter_name),
	                 "origin", org, "origin_name", jsonout_string(w->origin_name), "own", (int)w->own, "from",
	                 jsonout_string(w->from), "indicator_id", id, "version", (json_int_t)w->s.version,
	                 "reported_at", jsonout_time(w->s.issued_at));
}

static int show_main(int argc, char **argv, const struct feedcmd_env *env)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_sightings_req sreq = {0};
	struct wire_request req = {.op = WIRE_OP_SIGHTINGS, .sight = &sreq};
	struct wire_response resp;
	struct client *cl = NULL;
	char err[AM_ERRLEN];
	int c, rv = EXIT_ERR;

	optind = 1;
	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > WIRE_SIGHTING_SHOWN_MAX)
				usage_error("--limit `%s' must be an integer from 1 to %d", optarg, WIRE_SIGHTING_SHOWN_MAX);
			sreq.limit = (uint32_t)v;
			break;
		}
		case 'h':
			printf("usage: amesh sightings [--limit N] [NAME] | import [--format auto|unbound|bind] "
			       "[--flush-every S] FILE|-\n");
			return 0;
		default:
			usage_error("bad option (a name that starts with '-' goes after `--')");
		}
	}
	if (optind + 1 < argc)
		usage_error("expected at most one NAME");
	if (optind < argc) {
		if (strlen(argv[optind]) >= sizeof sreq.name)
			usage_error("name is longer than %zu bytes", sizeof sreq.name - 1);
		snprintf(sreq.name, sizeof sreq.name, "%s", argv[optind]);
	}
	if (client_open(&cl, env->socket, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	if (client_call(cl, &req, &resp, err, sizeof err) != 0) {
		errorf("%s", err);
		goto out;
	}
	if (resp.status != 0 || !resp.sight) {
		errorf("%s", resp.error[0] ? resp.error : am_strerror(resp.status));
		wire_response_clear(&resp);
		goto out;
	}
	const struct wire_sightings_res *r = resp.sight;
	if (env->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < r->n_shown; i++)
			json_array_append_new(arr, shown_json(&r->shown[i]));
		json_t *o = json_pack("{s:o, s:b}", "sightings", arr, "truncated", (int)r->truncated);
		if (!o || jsonout_print(stdout, o) != 0) {
			errorf("cannot write JSON output");
			wire_response_clear(&resp);
			goto out;
		}
	} else {
		if (r->n_shown == 0)
			printf("no sightings%s%s\n", sreq.name[0] ? " on " : "", sreq.name);
		for (size_t i = 0; i < r->n_shown; i++) {
			const struct wire_sighting_shown *w = &r->shown[i];
			char day[16], rk[17], ok[17];
			sighting_day_text(w->s.day, day, sizeof day);
			am_keyid_hex(w->s.reporter, rk);
			am_keyid_hex(w->s.origin, ok);
			printf("%s  %s  %s  hits=%llu  origin=%s  reporter=%s%s%s%s\n", day, w->s.domain,
			       am_category_name(w->s.category), (unsigned long long)w->s.count,
			       w->origin_name[0] ? w->origin_name : ok, w->reporter_name[0] ? w->reporter_name : rk,
			       w->own ? " (this peer)" : "", w->from[0] ? " via " : "", w->from);
		}
		if (r->truncated)
			printf("(more held; use --limit)\n");
	}
	rv = sreq.name[0] && r->n_shown == 0 ? EXIT_NOMATCH : 0;
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

int sightingcmd_main(int argc, char **argv, const struct feedcmd_env *env)
{
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return import_main(argc - 1, argv + 1, env);
	return show_main(argc, argv, env);
}

/* feedcmd.c - import, submit - and export: the CLI side of feeds. */
#include "feedcmd.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cliopt.h"
#include "client.h"
#include "domain.h"
#include "feed_csv.h"
#include "feed_hosts.h"
#include "feed_misp.h"
#include "feed_stix.h"
#include "importer.h"
#include "jsonout.h"
#include "keyfile.h"
#include "text.h"
#include "timefmt.h"

/* --- the batch pipeline --- */

struct slot {
	struct wire_request req;
	struct importer_item *meta; /* what each item came from, for refusals */
	bool busy;
};

struct run {
	const struct feedcmd_env *env;
	struct importer *im;
	struct client *cl;
	struct slot slots[CLIENT_SLOTS];
	int next, oldest;
	bool dry_run, force;
	bool local; /* a dry run whose daemon was not reached: checked here alone */
	uint32_t hop_limit;
	size_t submitted, stored, unchanged, refused;
	size_t batch_refused; /* names of batches the daemon answered with an error: not stored */
	int failed; /* CLIOPT_EXIT_ERR once the daemon or the output failed */
	size_t unread; /* files that could not be read whole */
	size_t skips;  /* entries reported skipped, all files */
	/* --withdraw-revoked: what the feed revoked, asked of the daemon */
	bool withdraw_revoked;
	size_t withdrawn, not_withdrawn, unchecked;
};

/* FILE[:LINE][: WHERE]: REASON: `INPUT' (DETAIL) - or one JSON object. */
static void on_skip(void *arg, const struct importer_skip *s)
{
	struct run *r = arg;
	r->skips++;
	if (r->env->json) {
		if (jsonout_print(stdout, json_pack("{s:s, s:o, s:I, s:o, s:s, s:o, s:o}", "event", "skipped", "file",
		                                    jsonout_string(s->file), "line", (json_int_t)s->line, "where",
		                                    s->where ? jsonout_string(s->where) : json_null(), "reason",
		                                    feed_skip_name(s->reason), "input", jsonout_string(s->quoted),
		                                    "detail", s->detail ? jsonout_string(s->detail) : json_null())) != 0)
			r->failed = CLIOPT_EXIT_ERR;
		return;
	}
	char line[32] = "";
	if (s->line)
		snprintf(line, sizeof line, ":%zu", s->line);
	fprintf(stderr, "%s%s%s%s: %s: %s%s%s%s\n", s->file, line, s->where ? ": " : "", s->where ? s->where : "",
	        feed_skip_name(s->reason), s->quoted, s->detail ? " (" : "", s->detail ? s->detail : "",
	        s->detail ? ")" : "");
}

static int drain(struct run *r)
{
	struct slot *sl = &r->slots[r->oldest];
	struct wire_response resp;
	char err[AM_ERRLEN];
	int rv;

	if (!sl->busy)
		return 0;
	sl->busy = false;
	r->oldest = (r->oldest + 1) % CLIENT_SLOTS;
	if ((rv = client_recv(r->cl, (int)(sl - r->slots), &resp, err, sizeof err)) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	if (resp.status != 0) {
		cliopt_error("%s", resp.error[0] ? resp.error : am_strerror(resp.status));
		r->batch_refused += sl->req.n_items; /* one commit per batch: none of it is stored */
		wire_response_clear(&resp);
		return CLIOPT_EXIT_ERR;
	}
	if (resp.n_item_results != sl->req.n_items) {
		cliopt_error("the daemon answered %zu results for %zu submissions", resp.n_item_results, sl->req.n_items);
		wire_response_clear(&resp);
		return CLIOPT_EXIT_ERR;
	}
	for (size_t i = 0; i < resp.n_item_results; i++) {
		const struct wire_item_result *ir = &resp.item_results[i];
		if (ir->status != 0) {
			r->refused++;
			importer_refused(r->im, &sl->meta[i], ir->error[0] ? ir->error : am_strerror(ir->status));
		} else if (ir->changed) {
			r->stored++;
		} else {
			r->unchanged++;
		}
	}
	sl->req.n_items = 0;
	wire_response_clear(&resp);
	return 0;
}

/* A dry run without its daemon: what the CLI can check alone, per item,
 * with the daemon's words (wire_submit_item_check); the importer has
 * normalised the name and read the expiry. All that depends on the
 * daemon's configuration and store - max_lifetime, its allowlist, what
 * it already holds - is left out, and said so once (connect_daemon). */
static void check_here(struct run *r, struct slot *sl)
{
	uint64_t now = timefmt_now();

	for (size_t i = 0; i < sl->req.n_items; i++) {
		char why[AM_ERRLEN];
		if (wire_submit_item_check(&sl->req.items[i], now, why, sizeof why) != 0) {
			r->refused++;
			importer_refused(r->im, &sl->meta[i], why);
		} else {
			r->stored++; /* would pass what was checked */
		}
	}
	sl->req.n_items = 0;
}

/* Connects to the daemon, once. An operator validating a feed offline
 * (a dry run, no daemon answering) still gets every line's verdict on what
 * can be checked here, told so in one line; a real import needs the
 * daemon, and any other failure is one. */
static int connect_daemon(struct run *r)
{
	char err[AM_ERRLEN];
	int rv;

	if (r->cl || r->local || (rv = client_open(&r->cl, r->env->socket, err, sizeof err)) == 0)
		return 0;
	if (!r->dry_run || rv != AM_ECONNECT) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	r->local = true;
	cliopt_error("the daemon was not reached at `%s': checked here alone, so its max_lifetime, its allowlist "
	             "and what it already holds were not checked", r->env->socket);
	return 0;
}

static int send_batch(struct run *r)
{
	struct slot *sl = &r->slots[r->next];
	char err[AM_ERRLEN];
	int rv;

	if (sl->req.n_items == 0)
		return 0;
	if ((rv = connect_daemon(r)) != 0)
		return rv;
	if (r->local) {
		check_here(r, sl);
		return 0;
	}
	if ((rv = client_send(r->cl, r->next, &sl->req, err, sizeof err)) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	sl->busy = true;
	r->next = (r->next + 1) % CLIENT_SLOTS;
	/* the slot to fill next must be free: take in what it carried */
	if (r->slots[r->next].busy)
		return drain(r);
	return 0;
}

static int on_item(void *arg, const struct importer_item *it)
{
	struct run *r = arg;
	struct slot *sl = &r->slots[r->next];

	/* a dry run sends the same items for the daemon's checks alone
	 * (WIRE_OP_CHECK_BATCH): only it knows its max_lifetime, its
	 * allowlist and what it already holds */
	r->submitted++;
	struct wire_submit_item *w = &sl->req.items[sl->req.n_items];
	memset(w, 0, sizeof *w);
	snprintf(w->domain, sizeof w->domain, "%s", it->domain);
	w->category = it->category;
	w->confidence = it->confidence;
	w->expires_at = it->expires_at;
	w->tlp = it->tlp;
	w->hop_limit = r->hop_limit;
	w->force = r->force;
	sl->meta[sl->req.n_items] = *it;
	if (++sl->req.n_items == WIRE_BATCH_MAX)
		return send_batch(r);
	return 0;
}

/* --- what the feed revoked (--withdraw-revoked) --- */

/* A batch of the feed's revocations on their way to the daemon, and
 * where each came from for its report. */
struct wbatch {
	struct run *r;
	struct wire_request req; /* WIRE_OP_WITHDRAW_BATCH */
	struct importer_revocation *meta;
	int failed;
};

/* "FILE line N", or "FILE WHERE" for an object without a line. */
static void revoked_at(const struct importer_revocation *v, char *out, size_t cap)
{
	if (v->line)
		snprintf(out, cap, "%s line %zu", v->file, v->line);
	else
		snprintf(out, cap, "%s%s%s", v->file, v->where[0] ? " " : "", v->where);
}

/* One revocation's outcome: withdrawn (or would be), or not and why -
 * as `withdrawn: NAME CATEGORY (revoked in FILE line N)', or one JSON
 * object. ir NULL: not asked (a dry run without its daemon). */
static void report_withdrawal(struct run *r, const struct importer_revocation *v, const struct wire_item_result *ir)
{
	const char *cat = am_category_name(v->category);
	char at[PATH_MAX + 128], held[2 * AM_KEYID_BYTES + 1] = "";
	const char *event = !ir ? "unchecked" : ir->status != 0 ? "not_withdrawn" : r->dry_run ? "would_withdraw"
	                                                                                          : "withdrawn";

	if (!ir)
		r->unchecked++;
	else if (ir->status != 0)
		r->not_withdrawn++;
	else
		r->withdrawn++;
	if (ir && ir->has_held_by)
		am_keyid_hex(ir->held_by, held);
	revoked_at(v, at, sizeof at);
	if (r->env->json) {
		const char *detail = !ir ? "the daemon was not reached: whether this peer holds a live flag of its own "
		                           "on it was not checked"
		                     : ir->status != 0 ? ir->error : NULL;
		if (jsonout_print(stdout, json_pack("{s:s, s:o, s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:I}", "event", event,
		                                    "domain", jsonout_string(v->domain), "category", cat, "file",
		                                    jsonout_string(v->file), "line", (json_int_t)v->line, "where",
		                                    v->where[0] ? jsonout_string(v->where) : json_null(), "object",
		                                    v->object[0] ? jsonout_string(v->object) : json_null(), "detail",
		                                    detail ? jsonout_string(detail) : json_null(), "held_by",
		                                    held[0] ? json_string(held) : json_null(), "disputes_answered",
		                                    (json_int_t)(ir ? ir->disputes_answered : 0))) != 0)
			r->failed = CLIOPT_EXIT_ERR;
		return;
	}
	if (!ir) {
		printf("would withdraw, if this peer holds a live flag of its own on it (not checked: no daemon): "
		       "%s %s (revoked in %s)\n", v->domain, cat, at);
	} else if (ir->status != 0) {
		/* the name quoted from the feed is the domain as normalised:
		 * safe to print; the daemon's words name what is held instead */
		fprintf(stderr, "not withdrawn: %s %s (revoked in %s): %s%s\n", v->domain, cat, at,
		        ir->has_held_by ? "another origin's flag, left alone: " : "", ir->error);
	} else if (r->dry_run) {
		printf("would withdraw: %s %s (revoked in %s)\n", v->domain, cat, at);
	} else {
		printf("withdrawn: %s %s (revoked in %s)", v->domain, cat, at);
		if (ir->disputes_answered)
			printf("; answered %u dispute%s on it: withdraw", ir->disputes_answered,
			       ir->disputes_answered == 1 ? "" : "s");
		printf("\n");
	}
}

/* Sends the batch (a dry run: as a check) and reports each answer. */
static int send_withdrawals(struct wbatch *b)
{
	struct run *r = b->r;
	struct wire_response resp;
	char err[AM_ERRLEN];
	int rv;

	if (b->req.n_withdrawals == 0)
		return 0;
	if ((rv = connect_daemon(r)) != 0)
		return rv;
	if (r->local) {
		for (size_t i = 0; i < b->req.n_withdrawals; i++)
			report_withdrawal(r, &b->meta[i], NULL);
		b->req.n_withdrawals = 0;
		return 0;
	}
	b->req.check = r->dry_run;
	if ((rv = client_call(r->cl, &b->req, &resp, err, sizeof err)) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	if (resp.status != 0) {
		/* a daemon that predates the op refuses it whole: nothing was
		 * withdrawn, and the operator must know it */
		cliopt_error("%s: none of the %zu name%s the feed revoked was %s%s", resp.error[0] ? resp.error
		             : am_strerror(resp.status), b->req.n_withdrawals, b->req.n_withdrawals == 1 ? "" : "s",
		             r->dry_run ? "checked" : "withdrawn",
		             resp.status == AM_EPROTO ? " (is the daemon older than amesh import --withdraw-revoked?)" : "");
		wire_response_clear(&resp);
		return CLIOPT_EXIT_ERR;
	}
	if (resp.n_item_results != b->req.n_withdrawals) {
		cliopt_error("the daemon answered %zu results for %zu withdrawals", resp.n_item_results,
		             b->req.n_withdrawals);
		wire_response_clear(&resp);
		return CLIOPT_EXIT_ERR;
	}
	for (size_t i = 0; i < resp.n_item_results; i++)
		report_withdrawal(r, &b->meta[i], &resp.item_results[i]);
	wire_response_clear(&resp);
	b->req.n_withdrawals = 0;
	return 0;
}

static int on_revocation(void *arg, const struct importer_revocation *v)
{
	struct wbatch *b = arg;
	struct wire_withdraw_item *w = &b->req.withdrawals[b->req.n_withdrawals];
	char at[PATH_MAX + 128], obj[TEXT_QUOTE_LEN(96)];

	memset(w, 0, sizeof *w);
	snprintf(w->domain, sizeof w->domain, "%s", v->domain);
	w->category = v->category;
	/* the audit trail's reason: where the feed said so, and the object
	 * (quoted: it is the feed's text) */
	if (v->object[0])
		text_quote(obj, sizeof obj, v->object, strlen(v->object), 96);
	/* a long path is cut, never the line */
	if (v->line)
		snprintf(at, sizeof at, "line %zu", v->line);
	else
		snprintf(at, sizeof at, "%.63s", v->where);
	snprintf(w->note, sizeof w->note, "%.90s%s%.70s%s%.96s (amesh import --withdraw-revoked)", v->file,
	         at[0] ? " " : "", at, v->object[0] ? ", " : "", v->object[0] ? obj : "");
	b->meta[b->req.n_withdrawals] = *v;
	if (++b->req.n_withdrawals == WIRE_BATCH_MAX)
		return send_withdrawals(b);
	return 0;
}

/* After every file is read and every submission answered: the names the
 * feed revoked that it no longer flags anywhere (importer.h), each this
 * peer's own live flag on it withdrawn by the daemon - or, in a dry run,
 * said to be withdrawable - and each reported. */
static int withdraw_revoked(struct run *r)
{
	struct wbatch b = {.r = r, .req = {.op = WIRE_OP_WITHDRAW_BATCH}};
	int rv;

	if ((b.req.withdrawals = calloc(WIRE_BATCH_MAX, sizeof *b.req.withdrawals)) == NULL ||
	    (b.meta = calloc(WIRE_BATCH_MAX, sizeof *b.meta)) == NULL) {
		free(b.req.withdrawals);
		cliopt_error("out of memory");
		return CLIOPT_EXIT_ERR;
	}
	rv = importer_revocations(r->im, on_revocation, &b);
	if (rv == 0)
		rv = send_withdrawals(&b);
	free(b.meta);
	b.req.n_withdrawals = 0;
	wire_request_clear(&b.req);
	return rv;
}

static void print_summary(struct run *r, char **files, int nfiles)
{
	const size_t *sk = importer_skipped(r->im);
	size_t skipped = 0;

	for (int i = 1; i < FEED_SKIP_COUNT; i++)
		skipped += sk[i];
	if (r->env->json) {
		json_t *by = json_object(), *fl = json_array();
		for (int i = 1; i < FEED_SKIP_COUNT; i++)
			if (sk[i] && by)
				json_object_set_new(by, feed_skip_name((enum feed_skip)i), json_integer((json_int_t)sk[i]));
		for (int i = 0; i < nfiles && fl; i++)
			json_array_append_new(fl, jsonout_string(files[i]));
		json_t *sum = json_pack("{s:s, s:o, s:I, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "event",
		                        "summary", "files", fl, "files_unread", (json_int_t)r->unread,
		                        "format",
		                        feed_format_name(importer_last_format(r->im)), "dry_run",
		                        (int)r->dry_run, "daemon_checked", (int)!r->local,
		                        "submitted", (json_int_t)r->submitted,
		                        "stored", (json_int_t)r->stored, "unchanged",
		                        (json_int_t)r->unchanged, "refused", (json_int_t)r->refused,
		                        "skipped", (json_int_t)(skipped - sk[FEED_SKIP_REFUSED]),
		                        "skipped_unit", importer_unit_name(importer_unit(r->im), 2),
		                        "skipped_by_reason", by);
		/* withdrawn: would be, in a dry run */
		if (sum && r->withdraw_revoked &&
		    (json_object_set_new(sum, "withdrawn", json_integer((json_int_t)r->withdrawn)) != 0 ||
		     json_object_set_new(sum, "not_withdrawn", json_integer((json_int_t)r->not_withdrawn)) != 0 ||
		     json_object_set_new(sum, "withdrawals_unchecked", json_integer((json_int_t)r->unchecked)) != 0)) {
			json_decref(sum);
			sum = NULL;
		}
		if (jsonout_print(stdout, sum) != 0)
			r->failed = CLIOPT_EXIT_ERR;
		return;
	}
	if (r->local)
		printf("dry run: %zu name%s checked here, without the daemon: %zu would pass these checks, %zu refused "
		       "(max_lifetime, the allowlist and what is already held not checked); nothing was stored\n",
		       r->submitted, r->submitted == 1 ? "" : "s", r->stored, r->refused);
	else if (r->dry_run)
		printf("dry run: %zu name%s checked by the daemon: %zu would be stored, %zu unchanged (already held), "
		       "%zu refused; nothing was stored\n",
		       r->submitted, r->submitted == 1 ? "" : "s", r->stored, r->unchanged, r->refused);
	else
		printf("%zu name%s submitted: %zu stored, %zu unchanged (already held), %zu refused by the daemon\n",
		       r->submitted, r->submitted == 1 ? "" : "s", r->stored, r->unchanged, r->refused);
	/* a STIX pattern's comparisons are counted one each, a MISP event's
	 * attributes too, and a JSON dump's records are objects, often all
	 * on one line: `lines' would not be true of them */
	enum importer_unit unit = importer_unit(r->im);
	printf("%zu %s skipped", skipped, importer_unit_name(unit, skipped));
	const char *sep = ": ";
	for (int i = 1; i < FEED_SKIP_COUNT; i++)
		if (sk[i]) {
			printf("%s%s %zu", sep, feed_skip_name((enum feed_skip)i), sk[i]);
			sep = ", ";
		}
	printf("\n");
	/* a CSV's are rows, a JSON dump's records */
	const char *row1 = unit == IMPORTER_UNIT_LINE ? "row" : importer_unit_name(unit, 1),
		   *rows = unit == IMPORTER_UNIT_LINE ? "rows" : importer_unit_name(unit, 2);
	if (sk[FEED_SKIP_OFFLINE])
		printf("%zu %s marked offline (the payload gone) not imported: --include-offline takes "
		       "them\n", sk[FEED_SKIP_OFFLINE], sk[FEED_SKIP_OFFLINE] == 1 ? row1 : rows);
	if (sk[FEED_SKIP_UNVERIFIED])
		printf("%zu %s not verified (a PhishTank submission nobody confirmed) not imported: "
		       "--include-unverified takes them\n", sk[FEED_SKIP_UNVERIFIED], sk[FEED_SKIP_UNVERIFIED] == 1 ? row1 : rows);
	if (r->withdraw_revoked && r->local)
		printf("dry run: %zu name%s the feed revoked not checked (no daemon): whether this peer holds a live flag "
		       "of its own on %s was not asked; nothing was withdrawn\n", r->unchecked, r->unchecked == 1 ? "" : "s",
		       r->unchecked == 1 ? "it" : "them");
	else if (r->withdraw_revoked && r->dry_run)
		printf("dry run: %zu name%s the feed revoked would be withdrawn (this peer's own live flags), %zu not "
		       "(each said above); nothing was withdrawn\n", r->withdrawn, r->withdrawn == 1 ? "" : "s",
		       r->not_withdrawn);
	else if (r->withdraw_revoked)
		printf("%zu name%s the feed revoked withdrawn (this peer's own live flags), %zu not (each said above)\n",
		       r->withdrawn, r->withdrawn == 1 ? "" : "s", r->not_withdrawn);
	else if (sk[FEED_SKIP_REVOKED])
		printf("%zu revoked %s skipped: --withdraw-revoked withdraws this peer's own live flags on what the feed "
		       "revoked\n", sk[FEED_SKIP_REVOKED], importer_unit_name(unit, sk[FEED_SKIP_REVOKED]));
}

struct import_opts {
	enum feed_format format;
	struct importer_opts o;
	struct feed_catmap catmap; /* --category-map, --category-map-file */
	const char *shared_path;
	bool dry_run, force;
	uint32_t hop_limit;
};

static int run_import(char **files, int nfiles, struct import_opts *io, const struct feedcmd_env *env)
{
	struct run r = {.env = env, .dry_run = io->dry_run, .force = io->force, .hop_limit = io->hop_limit,
	                .withdraw_revoked = io->o.withdraw_revoked};
	struct shared_hosts *sh = NULL;
	char err[AM_ERRLEN];
	int rv = 0;

	if (domain_init(err, sizeof err) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	if (shared_hosts_load(&sh, io->shared_path, err, sizeof err) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	io->o.shared = sh;
	io->o.now = timefmt_now();
	for (int k = 0; k < CLIENT_SLOTS; k++) {
		r.slots[k].req.op = io->dry_run ? WIRE_OP_CHECK_BATCH : WIRE_OP_SUBMIT_BATCH;
		if ((r.slots[k].req.items = calloc(WIRE_BATCH_MAX, sizeof *r.slots[k].req.items)) == NULL ||
		    (r.slots[k].meta = calloc(WIRE_BATCH_MAX, sizeof *r.slots[k].meta)) == NULL) {
			cliopt_error("out of memory");
			rv = CLIOPT_EXIT_ERR;
			goto out;
		}
	}
	if (importer_new(&r.im, &io->o, on_item, on_skip, &r) != 0) {
		cliopt_error("out of memory");
		rv = CLIOPT_EXIT_ERR;
		goto out;
	}
	/* a dry run says first whether the daemon or this process checks:
	 * the skip reports that follow read differently */
	if (io->dry_run && (rv = connect_daemon(&r)) != 0)
		goto out;
	/* A file that cannot be read whole (missing, UTF-16, JSON that does
	 * not parse) costs that file: said at once, the other files are still
	 * read and the names already queued from earlier ones still sent -
	 * they were silently dropped - and the exit status is 2 at the end. */
	for (int i = 0; i < nfiles && rv == 0; i++) {
		struct stat st;
		size_t seen = r.submitted + r.skips + importer_revoked(r.im);
		bool empty = strcmp(files[i], "-") != 0 && stat(files[i], &st) == 0 && S_ISREG(st.st_mode) &&
		             st.st_size == 0;
		/* an empty feed is legal, but most often a download that failed
		 * (curl without -f, a full disk): said, not an error */
		if (empty)
			cliopt_error("%s is empty (0 bytes): nothing in it to import", files[i]);
		int frv = importer_file(r.im, files[i], io->format, err, sizeof err);
		/* ... and so is one that parses but holds nothing - a MISP event
		 * with no attributes, a STIX bundle with no objects, comments
		 * only: the summary's zeros did not say which file */
		if (frv == 0 && !empty && r.submitted + r.skips + importer_revoked(r.im) == seen)
			cliopt_error("%s holds no entries (no names, nothing skipped): nothing in it to import", files[i]);
		if (frv == CLIOPT_EXIT_ERR) {
			rv = CLIOPT_EXIT_ERR; /* the pipeline said why */
		} else if (frv == AM_ENOMEM) {
			cliopt_error("%s", err);
			rv = CLIOPT_EXIT_ERR;
		} else if (frv != 0) {
			cliopt_error("%s", err);
			r.unread++;
		}
	}
	if (rv == 0)
		rv = send_batch(&r);
	for (int k = 0; k < CLIENT_SLOTS && rv == 0; k++)
		rv = drain(&r);
	/* what the feed revoked, once what it flags is in: a name it still
	 * flags elsewhere in the files is kept (importer.h) */
	if (rv == 0 && r.withdraw_revoked)
		rv = withdraw_revoked(&r);
	if (rv == 0) {
		print_summary(&r, files, nfiles);
		rv = r.failed;
	} else if (!r.dry_run && r.submitted > 0) {
		/* The daemon went away (or refused a batch) part way: said only
		 * "no answer from ameshd", which left an operator of a 50,000-name
		 * import not knowing what got in or whether a rerun is safe. */
		size_t acked = r.stored + r.unchanged + r.refused;
		char notstored[96] = "";
		if (r.batch_refused)
			snprintf(notstored, sizeof notstored, ", %zu in a batch it refused (not stored)", r.batch_refused);
		cliopt_error("stopped after %zu of the names read: %zu acknowledged by the daemon (%zu stored, %zu "
		             "unchanged, %zu refused)%s; the other %zu may or may not be stored - submitting the "
		             "same input again is safe (names already held come back unchanged)",
		             r.submitted, acked, r.stored, r.unchanged, r.refused, notstored,
		             r.submitted - acked - r.batch_refused);
	}
	if (rv == 0 && r.unread) {
		if (r.unread == (size_t)nfiles)
			cliopt_error("no file could be read (said above)");
		else
			cliopt_error("%zu of %d files could not be read (said above); the others were %s", r.unread, nfiles,
			             r.dry_run ? "read" : "imported");
		rv = CLIOPT_EXIT_ERR;
	}
	/* As with `query -': a batch the daemon refused whole is a failure a
	 * script must see (every name allowlisted here, a wrong category...);
	 * one refusal among accepted names is reported and changes nothing.
	 * A dry run ends as the real run would. */
	if (rv == 0 && r.submitted > 0 && r.refused == r.submitted) {
		cliopt_error("%s every one of the %zu name%s submitted (each refusal is reported with its reason)",
		             r.local ? "the checks made here refuse" : r.dry_run ? "the daemon would refuse" : "the daemon refused",
		             r.submitted, r.submitted == 1 ? "" : "s");
		rv = CLIOPT_EXIT_ERR;
	}
	/* So is an import that submitted nothing because entries could not
	 * be read (a file taken for another format, a changed column) or
	 * lack what the command line must give (no --category): it exited 0
	 * with "0 names submitted", and a cron job went on importing nothing.
	 * Entries the feed itself says are no flag (offline, revoked,
	 * not_to_ids, duplicates, addresses, ...) are no failure. A run that
	 * asked the daemon to withdraw what the feed revoked did its work. */
	if (rv == 0 && r.submitted == 0 && importer_revoked(r.im) == 0) {
		static const enum feed_skip unread[] = {
			FEED_SKIP_MALFORMED,     FEED_SKIP_BAD_CSV_ROW,    FEED_SKIP_BAD_VALUE,  FEED_SKIP_LINE_TOO_LONG,
			FEED_SKIP_BAD_NAME,      FEED_SKIP_UNKNOWN_CATEGORY, FEED_SKIP_NO_CATEGORY, FEED_SKIP_NO_CONFIDENCE,
			FEED_SKIP_NO_EXPIRY,
		};
		const size_t *sk = importer_skipped(r.im);
		size_t n = 0;
		for (size_t k = 0; k < sizeof unread / sizeof *unread; k++)
			n += sk[unread[k]];
		if (n) {
			cliopt_error("nothing %s: %zu entr%s could not be read or lack%s what the command line must give "
			             "(each is reported above with its reason)", r.dry_run ? "would be imported" : "was imported",
			             n, n == 1 ? "y" : "ies", n == 1 ? "s" : "");
			rv = CLIOPT_EXIT_ERR;
		}
	}
out:
	for (int k = 0; k < CLIENT_SLOTS; k++) {
		free(r.slots[k].meta);
		r.slots[k].req.n_items = 0;
		wire_request_clear(&r.slots[k].req);
	}
	importer_free(r.im);
	shared_hosts_free(sh);
	client_close(r.cl);
	return rv;
}

/* --category-map-file: one WORD=CATEGORY a line, `#' comments and blank
 * lines ignored; a bad line is a usage error naming FILE:LINE. */
static void read_catmap_file(struct feed_catmap *m, const char *path)
{
	char line[FEED_CATWORD_MAX + 64], err[AM_ERRLEN];
	size_t no = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		cliopt_usage_error("--category-map-file %s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		no++;
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			fclose(f);
			cliopt_usage_error("--category-map-file %s:%zu: longer than WORD=CATEGORY can be", path, no);
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		/* an editor's byte-order mark is not the first word (text.h) */
		const char *s = line + (no == 1 ? text_bom_len(line, n) : 0);
		s += strspn(s, " \t");
		if (*s == '\0' || *s == '#')
			continue;
		if (feed_catmap_add(m, s, err, sizeof err) != 0) {
			fclose(f);
			cliopt_usage_error("--category-map-file %s:%zu: %s", path, no, err);
		}
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad)
		cliopt_usage_error("--category-map-file %s: read error", path);
}

/* Options shared by import and submit -. Returns the option index reached. */
static void parse_submit_opts(int argc, char **argv, struct import_opts *io, bool import)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'C'},   {"confidence", required_argument, NULL, 'n'},
		{"expires", required_argument, NULL, 'e'},    {"ttl", required_argument, NULL, 't'},
		{"tlp", required_argument, NULL, 'l'},        {"hop-limit", required_argument, NULL, 'H'},
		{"format", required_argument, NULL, 'f'},     {"dry-run", no_argument, NULL, 'd'},
		{"shared-hosts", required_argument, NULL, 's'}, {"list-shared-hosts", no_argument, NULL, 'L'},
		{"force", no_argument, NULL, 'F'},            {"help", no_argument, NULL, 'h'},
		{"category-map", required_argument, NULL, 'M'}, {"category-map-file", required_argument, NULL, 'm'},
		{"include-offline", no_argument, NULL, 'O'}, {"include-unverified", no_argument, NULL, 'U'},
		{"withdraw-revoked", no_argument, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	uint64_t ttl = 0, expires = 0;
	int c;

	memset(io, 0, sizeof *io);
	io->o.confidence = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': io->o.category = cliopt_category(optarg); break;
		case 'n': io->o.confidence = (int)cliopt_int("--confidence", optarg, 0, 100, "an integer from 0 to 100"); break;
		case 'e': expires = cliopt_expires(optarg); break;
		case 't': ttl = cliopt_ttl(optarg); break;
		case 'l': io->o.tlp = cliopt_tlp("--tlp", optarg); break;
		case 'H':
			io->hop_limit = (uint32_t)cliopt_int("--hop-limit", optarg, 1, 255, "from 1 to 255 (links it may cross)");
			break;
		case 'f':
			if (!import || feed_format_parse(optarg, &io->format) != 0)
				cliopt_usage_error("--format `%s': expected auto, plain, hosts, urls, adblock, rpz, csv, stix, misp, dnsmasq or unbound", optarg);
			break;
		case 'M':
		case 'm':
			/* a feed's own category words: only a feed file has them */
			if (!import)
				cliopt_usage_error("%s is for feed files (amesh import): names on stdin carry no category "
				                   "words", c == 'M' ? "--category-map" : "--category-map-file");
			if (c == 'm') {
				read_catmap_file(&io->catmap, optarg);
			} else {
				char err[AM_ERRLEN];
				if (feed_catmap_add(&io->catmap, optarg, err, sizeof err) != 0)
					cliopt_usage_error("--category-map %s", err);
			}
			io->o.catmap = &io->catmap;
			break;
		case 'O':
			if (!import)
				cliopt_usage_error("--include-offline is for feed files (amesh import): names on stdin carry "
				                   "no url_status");
			io->o.include_offline = true;
			break;
		case 'U':
			if (!import)
				cliopt_usage_error("--include-unverified is for feed files (amesh import): names on stdin carry "
				                   "no verified column");
			io->o.include_unverified = true;
			break;
		case 'W':
			if (!import)
				cliopt_usage_error("--withdraw-revoked is for feed files (amesh import): names on stdin carry "
				                   "no revocation");
			io->o.withdraw_revoked = true;
			break;
		case 'd': io->dry_run = true; break;
		case 'F': io->force = true; break;
		case 's': io->shared_path = optarg; break;
		case 'L':
			for (size_t i = 0; shared_hosts_default[i]; i++)
				printf("%s\n", shared_hosts_default[i]);
			exit(0);
		case 'h':
			printf("usage: amesh import FILE... [--format auto|plain|hosts|urls|adblock|rpz|csv|stix|misp|dnsmasq|unbound]\n"
			       "         [--category C] [--confidence N] [--ttl D | --expires T] [--tlp L] [--hop-limit N]\n"
			       "         [--category-map WORD=CATEGORY]... [--category-map-file FILE]\n"
			       "         [--shared-hosts FILE | --list-shared-hosts] [--include-offline]\n"
			       "         [--include-unverified] [--withdraw-revoked] [--force] [--dry-run] [--json]\n"
			       "       amesh submit - --category C --confidence N (--ttl D | --expires T) [...]\n"
			       "A category, confidence or expiry in the file wins over the option; a feed's category\n"
			       "word that is none of ours (ThreatFox's cc_skimming) refuses its row unless mapped\n"
			       "with --category-map (repeatable) or a file of WORD=CATEGORY lines; `-' reads stdin;\n"
			       "a directory is read as a MISP feed. A name this peer's allowlist covers is refused\n"
			       "(and reported) unless --force. A URLhaus row whose url_status is offline, or a\n"
			       "PhishTank row whose online is no (the payload or page gone, the site often cleaned),\n"
			       "is skipped as `offline' unless --include-offline. A PhishTank row whose verified\n"
			       "is no (a submission nobody confirmed) is skipped as `unverified' unless\n"
			       "--include-unverified. What the feed revoked (STIX revoked, MISP deleted) is\n"
			       "skipped as `revoked'; with --withdraw-revoked, this peer's own live flag on its\n"
			       "name and category is withdrawn (never another origin's), unless the files still\n"
			       "flag it elsewhere - each said, as `withdrawn: NAME CATEGORY (revoked in FILE\n"
			       "line N)' or `not withdrawn: ...' and why; --dry-run says what would be.\n");
			exit(0);
		default: cliopt_usage_error("bad option");
		}
	}
	if (ttl && expires)
		cliopt_usage_error("give at most one of --expires and --ttl");
	io->o.expires_at = expires ? expires : ttl ? timefmt_now() + ttl : 0;
}

int feedcmd_import(int argc, char **argv, const struct feedcmd_env *env)
{
	struct import_opts io;

	cliopt_command = "import";
	parse_submit_opts(argc, argv, &io, true);
	if (optind == argc)
		cliopt_usage_error("expected one or more FILEs (`-' reads stdin)");
	return run_import(argv + optind, argc - optind, &io, env);
}

int feedcmd_submit_stdin(int argc, char **argv, const struct feedcmd_env *env)
{
	struct import_opts io;
	char *dash[] = {(char *)"-"};

	cliopt_command = "submit";
	parse_submit_opts(argc, argv, &io, false);
	if (optind + 1 != argc || strcmp(argv[optind], "-") != 0)
		cliopt_usage_error("expected `-' (names on stdin)");
	if (io.o.category == AM_CAT_NONE)
		cliopt_usage_error("--category is mandatory");
	if (io.o.confidence < 0)
		cliopt_usage_error("--confidence is mandatory");
	if (io.o.expires_at == 0)
		cliopt_usage_error("give exactly one of --expires and --ttl: an indicator must expire");
	io.format = FEED_PLAIN;
	return run_import(dash, 1, &io, env);
}

/* --- export --- */

static int collect(const struct feedcmd_env *env, struct wire_request *req, struct feed_signal **out, size_t *n,
                   char *producer, size_t plen, uint8_t producer_key[AM_KEY_BYTES])
{
	struct client *cl = NULL;
	struct wire_request st = {.op = WIRE_OP_STATUS};
	struct wire_response resp;
	char err[AM_ERRLEN];
	size_t cap = 0;
	int rv = CLIOPT_EXIT_ERR;

	*out = NULL;
	*n = 0;
	if (client_open(&cl, env->socket, err, sizeof err) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	if (cliopt_call(cl, &st, &resp) != 0)
		goto out;
	snprintf(producer, plen, "%s", resp.status_info.name);
	memcpy(producer_key, resp.status_info.public_key, AM_KEY_BYTES);
	wire_response_clear(&resp);
	for (;;) {
		if (cliopt_call(cl, req, &resp) != 0)
			goto out;
		if (*n + resp.n_signals > cap) {
			size_t ncap = (*n + resp.n_signals) * 2;
			struct feed_signal *p = realloc(*out, ncap * sizeof *p);
			if (!p) {
				cliopt_error("out of memory");
				wire_response_clear(&resp);
				goto out;
			}
			*out = p;
			cap = ncap;
		}
		for (size_t i = 0; i < resp.n_signals; i++) {
			struct feed_signal *f = &(*out)[(*n)++];
			memset(f, 0, sizeof *f);
			f->ind = resp.signals[i].ind;
			memcpy(f->id, resp.signals[i].id, AM_ID_BYTES);
			snprintf(f->origin_name, sizeof f->origin_name, "%s", resp.signals[i].origin_name);
			f->first_issued = resp.signals[i].first_issued;
		}
		bool more = resp.more && resp.next > req->after;
		req->after = resp.next;
		wire_response_clear(&resp);
		if (!more)
			break;
	}
	rv = 0;
out:
	client_close(cl);
	return rv;
}

/* Marks keep[i] = false for each signal whose verdict here, for its own
 * category, is "allowlisted" (the local allowlist covers the name): the
 * RPZ never blocks those, and a blocklist export must not either. One
 * query per batch of distinct names. Returns 0 or CLIOPT_EXIT_ERR (reported). */
#define ALLOW_BATCH 1000
static int mark_allowlisted(const struct feedcmd_env *env, const struct feed_signal *items, size_t n, bool *keep,
                            size_t *dropped)
{
	struct client *cl = NULL;
	char err[AM_ERRLEN];
	int rv = CLIOPT_EXIT_ERR;

	*dropped = 0;
	if (n == 0)
		return 0;
	if (client_open(&cl, env->socket, err, sizeof err) != 0) {
		cliopt_error("%s", err);
		return CLIOPT_EXIT_ERR;
	}
	for (size_t at = 0; at < n;) {
		struct wire_request q = {.op = WIRE_OP_QUERY};
		struct wire_response resp;
		size_t first = at;
		if ((q.names = calloc(ALLOW_BATCH, sizeof *q.names)) == NULL) {
			cliopt_error("out of memory");
			goto out;
		}
		/* items are sorted by domain: one name per run */
		while (at < n && q.n_names < ALLOW_BATCH) {
			if (q.n_names == 0 || strcmp(items[at].ind.domain, q.names[q.n_names - 1]) != 0) {
				if ((q.names[q.n_names] = strdup(items[at].ind.domain)) == NULL) {
					cliopt_error("out of memory");
					wire_request_clear(&q);
					goto out;
				}
				q.n_names++;
			}
			at++;
			if (q.n_names == ALLOW_BATCH && at < n && strcmp(items[at].ind.domain, q.names[q.n_names - 1]) != 0)
				break;
		}
		int crv = cliopt_call(cl, &q, &resp);
		wire_request_clear(&q);
		if (crv != 0)
			goto out;
		for (size_t i = first; i < at; i++) {
			for (size_t r = 0; r < resp.n_results; r++) {
				const struct wire_name_result *nr = &resp.results[r];
				if (strcmp(nr->normalised, items[i].ind.domain) != 0)
					continue;
				for (size_t v = 0; v < nr->n_verdicts; v++)
					if (nr->verdicts[v].category == items[i].ind.category &&
					    strcmp(nr->verdicts[v].level, "allowlisted") == 0 && keep[i]) {
						keep[i] = false;
						(*dropped)++;
					}
				break;
			}
		}
		wire_response_clear(&resp);
	}
	rv = 0;
out:
	client_close(cl);
	return rv;
}

int feedcmd_export(int argc, char **argv, const struct feedcmd_env *env)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},    {"category", required_argument, NULL, 'C'},
		{"origin", required_argument, NULL, 'O'},    {"min-score", required_argument, NULL, 'm'},
		{"since", required_argument, NULL, 's'},     {"help", no_argument, NULL, 'h'},
		{"max-tlp", required_argument, NULL, 'T'},   {"include-allowlisted", no_argument, NULL, 'A'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_EXPORT, .limit = WIRE_EXPORT_MAX};
	const char *output = NULL, *fmt;
	struct feed_signal *items = NULL;
	char producer[64], err[AM_ERRLEN];
	uint8_t pk[AM_KEY_BYTES];
	size_t n;
	int c, rv;
	/* An export leaves this peer's control: by default nothing above green
	 * (TLP:AMBER and up are for named recipients, RED never leaves). */
	enum am_tlp max_tlp = AM_TLP_GREEN;
	bool include_allowlisted = false;

	cliopt_command = "export";
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'C': req.category = cliopt_category(optarg); break;
		case 'O': cliopt_origin("--origin", optarg, &req, true); break;
		case 'm': req.min_score = (uint32_t)cliopt_int("--min-score", optarg, 0, 100, "an integer from 0 to 100"); break;
		case 'T': max_tlp = cliopt_tlp("--max-tlp", optarg); break;
		case 'A': include_allowlisted = true; break;
		case 's': req.since = cliopt_since("--since", optarg); break;
		case 'h':
			printf("usage: amesh export stix|csv|misp|hosts [-o PATH] [--category C] [--origin NAME|KEYID]\n"
			       "                    [--min-score N] [--since T|7d] [--max-tlp LEVEL] [--include-allowlisted]\n"
			       "misp writes a feed directory (-o DIR is required); the others a file (default stdout).\n"
			       "Signals above --max-tlp (default green) and names allowlisted here are left out and counted.\n"
			       "amesh export rpz --zone NAME [-o FILE]: a served response policy zone as a master file.\n");
			return 0;
		default: cliopt_usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		cliopt_usage_error("expected one FORMAT: stix, csv, misp, hosts, or rpz --zone NAME");
	fmt = argv[optind];
	bool stix = strcmp(fmt, "stix") == 0, csv = strcmp(fmt, "csv") == 0, misp = strcmp(fmt, "misp") == 0,
	     hosts = strcmp(fmt, "hosts") == 0;
	if (!stix && !csv && !misp && !hosts)
		cliopt_usage_error("unknown export format `%s': expected stix, csv, misp, hosts, or rpz --zone NAME", fmt);
	if (misp && !output)
		cliopt_usage_error("a MISP feed is a directory: give it with -o DIR");
	req.withdrawn = stix; /* only STIX can say "revoked" */
	if ((rv = collect(env, &req, &items, &n, producer, sizeof producer, pk)) != 0)
		return rv;
	feed_export_sort(items, n);
	/* What must not leave: above --max-tlp, and allowlisted names. */
	size_t over_tlp[AM_TLP_COUNT] = {0}, n_over = 0, n_allow = 0, k = 0;
	bool *keep = calloc(n ? n : 1, sizeof *keep);
	if (!keep) {
		cliopt_error("out of memory");
		free(items);
		return CLIOPT_EXIT_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		keep[i] = true;
		if (items[i].ind.tlp > max_tlp) {
			keep[i] = false;
			over_tlp[items[i].ind.tlp < AM_TLP_COUNT ? items[i].ind.tlp : AM_TLP_RED]++;
			n_over++;
		}
	}
	if (!include_allowlisted && (rv = mark_allowlisted(env, items, n, keep, &n_allow)) != 0) {
		free(keep);
		free(items);
		return rv;
	}
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			items[k++] = items[i];
	free(keep);
	n = k;
	if (n_over || n_allow) {
		char what[256];
		size_t w = 0;
		what[0] = '\0';
		for (int t = AM_TLP_COUNT - 1; t > AM_TLP_NONE; t--)
			if (over_tlp[t] && w < sizeof what)
				w += (size_t)snprintf(what + w, sizeof what - w, "%s%zu %s", w ? ", " : "", over_tlp[t],
				                      am_tlp_name((enum am_tlp)t));
		if (n_over)
			fprintf(stderr, "amesh export: left out %zu signal%s above --max-tlp %s (%s)\n", n_over,
			        n_over == 1 ? "" : "s", am_tlp_name(max_tlp), what);
		if (n_allow)
			fprintf(stderr,
			        "amesh export: left out %zu signal%s on names allowlisted here "
			        "(--include-allowlisted keeps them)\n",
			        n_allow, n_allow == 1 ? "" : "s");
	}
	struct feed_export x = {.items = items, .n = n, .now = timefmt_now(), .producer = producer, .producer_key = pk};
	if (misp) {
		if ((rv = feed_misp_write(output, &x, err, sizeof err)) != 0)
			cliopt_error("%s", err);
	} else {
		/* -o FILE is written aside and renamed over FILE once whole, as
		 * the MISP feed's files are: a blocker or web server reading FILE
		 * meanwhile gets the old list or the new one, never half of one,
		 * and a full disk leaves the old one in place. */
		FILE *f = stdout;
		char tmp[PATH_MAX], target[PATH_MAX];
		const char *dest = output;
		bool to_file = output && strcmp(output, "-") != 0;
		if (to_file) {
			/* the mode fopen would have given a new file, or the old file's */
			struct stat st;
			mode_t um = umask(077), mode = 0666 & ~um;
			int fd = -1;
			umask(um);
			if (stat(output, &st) == 0)
				mode = st.st_mode & 07777;
			/* a symbolic link is written through, as fopen would: the file
			 * it names is replaced, not the link */
			if (lstat(output, &st) == 0 && S_ISLNK(st.st_mode) && realpath(output, target) != NULL)
				dest = target;
			if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", dest) >= sizeof tmp ||
			    (fd = mkstemp(tmp)) < 0 || fchmod(fd, mode) != 0 || (f = fdopen(fd, "w")) == NULL) {
				cliopt_error("cannot write %s: %s", output, strerror(errno));
				if (fd >= 0) {
					close(fd);
					unlink(tmp);
				}
				free(items);
				return CLIOPT_EXIT_ERR;
			}
		}
		rv = stix ? feed_stix_write(f, &x) : csv ? feed_csv_write(f, &x) : feed_hosts_write(f, &x);
		if (rv != 0)
			cliopt_error("cannot write %s: %s", output ? output : "stdout", am_strerror(rv));
		if (to_file) {
			if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rv == 0) {
				cliopt_error("cannot write %s: %s", output, strerror(errno));
				rv = AM_EIO;
			}
			if (fclose(f) != 0 && rv == 0) {
				cliopt_error("cannot write %s: %s", output, strerror(errno));
				rv = AM_EIO;
			}
			if (rv == 0 && rename(tmp, dest) != 0) {
				cliopt_error("cannot write %s: %s", output, strerror(errno));
				rv = AM_EIO;
			}
			if (rv != 0)
				unlink(tmp);
		}
	}
	free(items);
	if (rv == 0 && output && !env->json)
		fprintf(stderr, "amesh export: %zu signal%s written to %s\n", n, n == 1 ? "" : "s", output);
	return rv ? CLIOPT_EXIT_ERR : 0;
}

/* amesh.c - the operator's command-line tool: one table of subcommands. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cliopt.h"
#include "client.h"
#include "config.h"
#include "dnsmsg.h"
#include "domain.h"
#include "feedcmd.h"
#include "feed_urls.h"
#include "keycmd.h"
#include "jsonout.h"
#include "keyfile.h"
#include "text.h"
#include "timefmt.h"
#include "trace.h"
#include "report.h"
#include "sighting.h"
#include "sightingcmd.h"
#include "trust.h"
#include "wire.h"

#define EXIT_MATCH 0
#define EXIT_NOMATCH 1
#define EXIT_ERR 2
#define DEFAULT_SOCKET "/run/amesh/amesh.sock"
#define QUERY_BATCH 1000

/* Global options, set before the subcommand. */
static const char *opt_socket;
static const char *opt_config;
static bool opt_json;

static int usage(FILE *f);

/* One line on stderr: "amesh submit: what and why" (cliopt.h). */
static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cliopt_verror(fmt, ap);
	va_end(ap);
}

/* The same plus "(see `amesh submit --help')", exit 2 (cliopt.h). */
static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cliopt_vusage_error(fmt, ap);
}

/* --- output helpers --- */

/* Printable copy of untrusted text for terminal output. */
static const char *printable(const char *s, char *buf, size_t cap)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < cap; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	buf[o] = '\0';
	return buf;
}

/* One JSON object on its own line; a failure to build or write it is an
 * error the command reports (exit 2), never a silently short answer. */
static int print_json(json_t *obj)
{
	int rv = jsonout_print(stdout, obj);
	if (rv != 0)
		errorf("cannot write JSON output: %s", am_strerror(rv));
	return rv ? EXIT_ERR : 0;
}

static void print_signal_text(FILE *f, const struct wire_signal *s, const char *indent)
{
	char idhex[2 * AM_ID_BYTES + 1], keyid[17], expires[TIMEFMT_LEN];

	am_hex(s->id, AM_ID_BYTES, idhex);
	am_keyid_hex(s->ind.origin, keyid);
	timefmt_rfc3339(s->ind.expires_at, expires);
	char conf[32];
	if (s->local_confidence != s->ind.confidence)
		snprintf(conf, sizeof conf, "%u (%u here)", s->ind.confidence, s->local_confidence);
	else
		snprintf(conf, sizeof conf, "%u", s->ind.confidence);
	fprintf(f, "%s%s  %s  confidence=%s  tlp=%s  expires=%s  origin=%s  id=%.16s\n", indent,
	        s->ind.domain, am_category_name(s->ind.category), conf,
	        am_tlp_name(s->ind.tlp), expires, keyid, idhex);
}

/* --- connecting --- */

static int resolve_socket(char *out, size_t cap)
{
	const char *env = getenv("AMESH_SOCKET");
	if (opt_socket) {
		snprintf(out, cap, "%s", opt_socket);
	} else if (env && *env) {
		snprintf(out, cap, "%s", env);
	} else if (opt_config) {
		struct config cfg;
		char why[AM_ERRLEN] = "";
		if (config_load(&cfg, opt_config, config_diag_first, why) != 0) {
			config_free(&cfg);
			errorf("cannot use config: %s (ameshd -c %s --check lists every problem); nothing was sent to the daemon",
			       why[0] ? why : opt_config, opt_config);
			return EXIT_ERR;
		}
		snprintf(out, cap, "%s", cfg.control);
		config_free(&cfg);
	} else {
		snprintf(out, cap, "%s", DEFAULT_SOCKET);
	}
	return 0;
}

/* Connects, sends, checks the response status. Returns 0 or EXIT_ERR after
 * printing one line. */
static int call(struct client **cl, struct wire_request *req, struct wire_response *resp)
{
	char path[PATH_MAX], err[AM_ERRLEN];

	if (!*cl) {
		if (resolve_socket(path, sizeof path) != 0)
			return EXIT_ERR;
		if (client_open(cl, path, err, sizeof err) != 0) {
			errorf("%s", err);
			return EXIT_ERR;
		}
		trace_stamp("cli_connected", NULL);
	}
	int rv = cliopt_call(*cl, req, resp);
	trace_stamp("cli_reply", NULL);
	return rv;
}

/* An integer option in [min, max], or a usage error that says what it is. */
static uint32_t int_option(const char *opt, const char *v, long min, long max, const char *what)
{
	return (uint32_t)cliopt_int(opt, v, min, max, what);
}

static enum am_category parse_category(const char *s)
{
	return cliopt_category(s);
}

/* --- subcommands --- */

/* The feed commands (feeds/feedcmd.h) get the resolved socket; argv is
 * parsed again from the start by them. */
static int feeds_cmd(int (*fn)(int, char **, const struct feedcmd_env *), int argc, char **argv)
{
	char path[PATH_MAX];
	if (resolve_socket(path, sizeof path) != 0)
		return EXIT_ERR;
	struct feedcmd_env env = {.json = opt_json, .socket = path};
	optind = 1;
	return fn(argc, argv, &env);
}

static int cmd_import(int argc, char **argv)
{
	return feeds_cmd(feedcmd_import, argc, argv);
}

static int cmd_sightings(int argc, char **argv)
{
	return feeds_cmd(sightingcmd_main, argc, argv);
}

static int cmd_export_rpz(int argc, char **argv);

/* export FORMAT: rpz is a zone this daemon serves (rpz helper), the rest
 * are feed formats (feeds/feedcmd.c). */
static int cmd_export(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "rpz") == 0)
			return cmd_export_rpz(argc, argv);
	return feeds_cmd(feedcmd_export, argc, argv);
}

/* `submit NAME --dry-run' with no daemon answering at path: the name
 * rules alone (domain_normalise; category, confidence and expiry were
 * checked as options), and one line saying what was not checked. */
static int submit_dry_run_here(const struct wire_submit_item *item, const char *path)
{
	char norm[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];

	errorf("the daemon was not reached at `%s': checked here alone, so its max_lifetime, its allowlist and "
	       "what it already holds were not checked", path);
	if (domain_normalise(item->domain, norm, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	if (opt_json)
		return print_json(json_pack("{s:b, s:b, s:b, s:o, s:s, s:o}", "dry_run", 1, "daemon_checked", 0, "changed", 1,
		                            "domain", jsonout_string(norm), "category", am_category_name(item->category),
		                            "id", json_null()));
	printf("dry run: %s %s passes the checks made here, without the daemon; nothing was stored\n", norm,
	       am_category_name(item->category));
	return 0;
}

/* `submit NAME --dry-run': the daemon's own checks of the submission
 * (WIRE_OP_CHECK_BATCH: the check a real submit makes, max_lifetime and
 * the allowlist included), nothing signed or stored. A refusal exits 2
 * with the daemon's words, as the real submit would. No daemon to ask:
 * the checks the CLI can make alone (submit_dry_run_here). */
static int submit_dry_run(const struct wire_request *sub)
{
	struct wire_submit_item item = {.category = sub->category, .confidence = sub->confidence,
	                                .expires_at = sub->expires_at, .tlp = sub->tlp, .hop_limit = sub->hop_limit,
	                                .force = sub->force};
	struct wire_request req = {.op = WIRE_OP_CHECK_BATCH, .items = &item, .n_items = 1};
	struct wire_response resp;
	struct client *cl = NULL;
	int rv;

	/* a batch item holds what a submit does (WIRE_NAME_MAX); were it
	 * ever less, the name is refused, never cut */
	if (strlen(sub->domain) >= sizeof item.domain) {
		errorf("domain is longer than %zu bytes", sizeof item.domain - 1);
		return EXIT_ERR;
	}
	memcpy(item.domain, sub->domain, strlen(sub->domain));
	char path[PATH_MAX], err[AM_ERRLEN];
	if (resolve_socket(path, sizeof path) != 0)
		return EXIT_ERR;
	if ((rv = client_open(&cl, path, err, sizeof err)) != 0) {
		if (rv == AM_ECONNECT)
			return submit_dry_run_here(&item, path);
		errorf("%s", err);
		return EXIT_ERR;
	}
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (resp.n_item_results != 1) {
		errorf("the daemon answered %zu results for one check", resp.n_item_results);
		rv = EXIT_ERR;
	} else if (resp.item_results[0].status != 0) {
		const struct wire_item_result *ir = &resp.item_results[0];
		errorf("%s", ir->error[0] ? ir->error : am_strerror(ir->status));
		rv = EXIT_ERR;
	} else {
		const struct wire_item_result *ir = &resp.item_results[0];
		char idhex[2 * AM_ID_BYTES + 1] = "";
		if (ir->has_id)
			am_hex(ir->id, AM_ID_BYTES, idhex);
		if (opt_json)
			rv = print_json(json_pack("{s:b, s:b, s:o, s:s, s:o}", "dry_run", 1, "changed", (int)ir->changed,
			                          "domain", jsonout_string(ir->domain), "category",
			                          am_category_name(item.category),
			                          "id", ir->has_id ? json_string(idhex) : json_null()));
		else
			printf("dry run: %s %s %s; nothing was stored\n",
			       ir->changed ? "would store" : "unchanged (already held)", ir->domain,
			       am_category_name(item.category));
	}
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static int cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'C'}, {"confidence", required_argument, NULL, 'n'},
		{"expires", required_argument, NULL, 'e'},  {"ttl", required_argument, NULL, 't'},
		{"tlp", required_argument, NULL, 'l'},      {"help", no_argument, NULL, 'h'},
		{"hop-limit", required_argument, NULL, 'H'}, {"force", no_argument, NULL, 'F'},
		{"dry-run", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_SUBMIT};
	struct wire_response resp;
	struct client *cl = NULL;
	bool have_conf = false, dry = false;
	uint64_t expires = 0, ttl = 0;
	const char *expires_arg = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': req.category = parse_category(optarg); break;
		case 'n':
			req.confidence = int_option("--confidence", optarg, 0, 100, "an integer from 0 to 100");
			have_conf = true;
			break;
		case 'e':
			expires_arg = optarg;
			expires = cliopt_expires(optarg);
			break;
		case 't': ttl = cliopt_ttl(optarg); break;
		case 'F': req.force = true; break;
		case 'd': dry = true; break;
		case 'H':
			req.hop_limit = int_option("--hop-limit", optarg, 1, 255, "from 1 to 255 (links it may cross)");
			break;
		case 'l': req.tlp = cliopt_tlp("--tlp", optarg); break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind + 1 == argc && strcmp(argv[optind], "-") == 0)
		return feeds_cmd(feedcmd_submit_stdin, argc, argv);
	if (optind + 1 != argc)
		die_usage("expected exactly one DOMAIN, or `-' to read names from stdin");
	if (req.category == AM_CAT_NONE)
		die_usage("--category is mandatory");
	if (!have_conf)
		die_usage("--confidence is mandatory");
	if ((expires != 0) == (ttl != 0))
		die_usage("give exactly one of --expires and --ttl: an indicator must expire");
	if (strlen(argv[optind]) > WIRE_NAME_MAX)
		die_usage("domain is longer than %d bytes", WIRE_NAME_MAX);
	snprintf(req.domain, sizeof req.domain, "%s", argv[optind]);
	if (expires != 0 && expires <= timefmt_now()) {
		char now[TIMEFMT_LEN];
		timefmt_rfc3339(timefmt_now(), now);
		die_usage("--expires `%s' is not in the future (it is now %s)", expires_arg, now);
	}
	req.expires_at = expires ? expires : timefmt_now() + ttl;
	if (dry)
		return submit_dry_run(&req);

	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (opt_json) {
		rv = print_json(json_pack("{s:b, s:o}", "changed", (int)resp.changed, "signal",
		                          jsonout_signal(&resp.submitted)));
	} else {
		char idhex[2 * AM_ID_BYTES + 1];
		am_hex(resp.submitted.id, AM_ID_BYTES, idhex);
		printf("%s %s %s\n", resp.changed ? "stored" : "unchanged", resp.submitted.ind.domain,
		       am_category_name(resp.submitted.ind.category));
		printf("id %s\n", idhex);
	}
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static int cmd_withdraw(int argc, char **argv)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_WITHDRAW};
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': req.category = parse_category(optarg); break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind + 1 != argc)
		die_usage("expected exactly one DOMAIN");
	if (req.category == AM_CAT_NONE)
		die_usage("--category is mandatory");
	if (strlen(argv[optind]) > WIRE_NAME_MAX)
		die_usage("domain is longer than %d bytes", WIRE_NAME_MAX);
	snprintf(req.domain, sizeof req.domain, "%s", argv[optind]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (opt_json) {
		rv = print_json(json_pack("{s:b, s:o, s:I}", "withdrawn", 1, "signal", jsonout_signal(&resp.submitted),
		                          "disputes_answered", (json_int_t)resp.disputes_answered));
	} else {
		char idhex[2 * AM_ID_BYTES + 1];
		am_hex(resp.submitted.id, AM_ID_BYTES, idhex);
		printf("withdrawn %s %s\nid %s\n", resp.submitted.ind.domain,
		       am_category_name(resp.submitted.ind.category), idhex);
		if (resp.disputes_answered)
			printf("answered %u dispute%s on it: withdraw (amesh disputes)\n", resp.disputes_answered,
			       resp.disputes_answered == 1 ? "" : "s");
	}
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

/* --- disputes (issue 14) --- */

static void print_dispute_text(const struct wire_dispute_info *d)
{
	char id[2 * AM_ID_BYTES + 1], ok[17], by[17], at[TIMEFMT_LEN], due[TIMEFMT_LEN], buf[4 * DISPUTE_REASON_MAX + 8];

	am_hex(d->id, AM_ID_BYTES, id);
	am_keyid_hex(d->origin, ok);
	am_keyid_hex(d->by, by);
	timefmt_rfc3339(d->at, at);
	timefmt_rfc3339(d->deadline, due);
	printf("%s  %s  %s  %s  origin=%s  by=%s%s%s%s  filed=%s  due=%s%s%s\n", id,
	       jsonout_dispute_state(d), d->domain, am_category_name(d->category), ok, by,
	       d->by_name[0] ? " (" : "", d->by_name, d->by_name[0] ? ")" : "", at, due,
	       d->from[0] ? "  via=" : "", d->from);
	printf("    reason: %s\n", printable(d->reason, buf, sizeof buf));
	if (d->on_behalf_of[0])
		printf("    on behalf of: %s\n", printable(d->on_behalf_of, buf, sizeof buf));
	if (d->evidence[0])
		printf("    evidence: %s\n", printable(d->evidence, buf, sizeof buf));
	if (d->answer) {
		char when[TIMEFMT_LEN];
		timefmt_rfc3339(d->answered_at, when);
		printf("    answer: %s at %s: %s\n", dispute_answer_name(d->answer), when,
		       printable(d->answer_reason, buf, sizeof buf));
	}
}

static int print_disputes(const struct wire_response *resp)
{
	for (size_t i = 0; i < resp->n_disputes; i++) {
		if (opt_json) {
			if (print_json(jsonout_dispute(&resp->disputes[i])) != 0)
				return EXIT_ERR;
		} else {
			print_dispute_text(&resp->disputes[i]);
		}
	}
	return 0;
}

static void copy_arg(char *dst, size_t cap, const char *opt, const char *v)
{
	if (strlen(v) >= cap)
		die_usage("%s is longer than %zu bytes", opt, cap - 1);
	memcpy(dst, v, strlen(v) + 1);
}

/* A dispute's text: over its cap it is refused here, naming the option
 * and the cap - the daemon would refuse it as well, never cut it. */
static void copy_text(char *dst, size_t cap, const char *opt, const char *v, size_t max)
{
	size_t n = strlen(v);
	if (n > max || n >= cap)
		die_usage("%s is %zu bytes: at most %zu", opt, n, max < cap - 1 ? max : cap - 1);
	memcpy(dst, v, n + 1);
}

static int cmd_dispute_answer(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_DISPUTE_ANSWER};
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			copy_text(req.dispute_reason, sizeof req.dispute_reason, "--reason", optarg, DISPUTE_REASON_MAX);
			break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind + 2 != argc)
		die_usage("expected: dispute answer ID uphold|withdraw --reason TEXT");
	copy_arg(req.domain, sizeof req.domain, "the dispute id", argv[optind]);
	if (dispute_answer_parse(argv[optind + 1], &req.dispute_answer) != 0)
		die_usage("answer `%s': expected uphold (keep the indicator) or withdraw (take it back)", argv[optind + 1]);
	if (!req.dispute_reason[0])
		die_usage("--reason is mandatory: say why, in words the disputing party reads");
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (!opt_json && resp.n_disputes)
		printf("answered %s: %s%s\n", resp.disputes[0].domain, dispute_answer_name(req.dispute_answer),
		       req.dispute_answer == DISPUTE_WITHDRAW ? " (the indicator is withdrawn)" : " (the indicator stays)");
	rv = print_disputes(&resp);
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static int cmd_dispute(int argc, char **argv)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'C'}, {"reason", required_argument, NULL, 'r'},
		{"evidence", required_argument, NULL, 'e'}, {"on-behalf-of", required_argument, NULL, 'b'},
		{"origin", required_argument, NULL, 'o'},   {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_DISPUTE};
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	if (argc > 1 && strcmp(argv[1], "answer") == 0) {
		cliopt_command = "dispute answer";
		return cmd_dispute_answer(argc - 1, argv + 1);
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': req.category = parse_category(optarg); break;
		case 'r':
			copy_text(req.dispute_reason, sizeof req.dispute_reason, "--reason", optarg, DISPUTE_REASON_MAX);
			break;
		case 'e':
			copy_text(req.dispute_evidence, sizeof req.dispute_evidence, "--evidence", optarg,
			          DISPUTE_EVIDENCE_MAX);
			break;
		case 'b':
			copy_text(req.dispute_behalf, sizeof req.dispute_behalf, "--on-behalf-of", optarg, DISPUTE_BEHALF_MAX);
			break;
		case 'o': cliopt_origin("--origin", optarg, &req, false); break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind + 1 != argc)
		die_usage("expected exactly one DOMAIN (with --category) or indicator ID");
	if (!req.dispute_reason[0])
		die_usage("--reason is mandatory: say what the indicator gets wrong");
	copy_arg(req.domain, sizeof req.domain, "the domain", argv[optind]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (!opt_json)
		printf("filed %zu dispute%s\n", resp.n_disputes, resp.n_disputes == 1 ? "" : "s");
	rv = print_disputes(&resp);
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static int cmd_disputes(int argc, char **argv)
{
	static const struct option opts[] = {
		{"open", no_argument, NULL, 'O'},
		{"mine", no_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_DISPUTES};
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'O': req.open_only = true; break;
		case 'm': req.mine_only = true; break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind != argc)
		die_usage("unexpected argument `%s'", argv[optind]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	rv = print_disputes(&resp);
	/* none is an answer, said as audit and sightings say theirs; it
	 * exits 0, as list and the sightings overview do: an empty queue is
	 * no failure (a lookup of one NAME that finds nothing exits 1) */
	const char *which = req.open_only && req.mine_only
	                    ? " that --open --mine keep (open or overdue, about this peer's own indicators)"
	                    : req.open_only ? " that --open keeps (open or overdue)"
	                    : req.mine_only ? " that --mine keeps (about this peer's own indicators)"
	                                    : "";
	if (!opt_json && resp.n_disputes == 0)
		printf("no disputes held here%s\n", which);
	if (resp.disputes_left_off)
		fprintf(stderr, "amesh disputes: showing %zu (open ones first); %" PRIu64 " more held here do not fit "
		        "in one answer\n", resp.n_disputes, resp.disputes_left_off);
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

struct query_tally {
	size_t names, matched, rejected;
	bool failed; /* output could not be written */
};

/* One line per zone: what its resolvers do with the name, and why. */
static void print_zone_answer(const struct wire_zone_answer *z, const char *name)
{
	const char *cat = z->category != AM_CAT_NONE ? am_category_name(z->category) : "";

	printf("  rpz %s (%s): ", z->rpz, z->zone);
	if (z->listed) {
		bool pass = strcmp(z->action, "passthru") == 0;
		printf("%s", pass ? "passthru (resolvers answer normally)," : "BLOCKED, ");
		if (!pass) {
			if (strcmp(z->action, "cname") == 0)
				printf("CNAME %s", z->target);
			else
				printf("%s (CNAME %s)", strcmp(z->action, "nxdomain") == 0 ? "NXDOMAIN" : "NODATA", z->target);
		}
		printf(" by the rule %s%s", z->wildcard ? "*." : "", z->rule);
		if (strcmp(z->why, "listed") == 0)
			printf(" (%s score %.1f >= min_score %u)", cat, z->score, z->min_score);
		else if (strcmp(z->why, "allowlisted") == 0)
			printf(" (allowlisted)");
		else if (strcmp(z->why, "public-suffix") == 0)
			printf(" (a public suffix below a blocked name)");
		printf("\n");
		return;
	}
	printf("not listed, resolvers answer normally: ");
	if (z->on[0] && strcmp(z->on, name) != 0)
		printf("on %s, ", z->on);
	if (strcmp(z->why, "min-score") == 0)
		printf("%s score %.1f below min_score %u\n", cat, z->score, z->min_score);
	else if (strcmp(z->why, "category") == 0)
		printf("%s is not a category of the zone\n", cat);
	else if (strcmp(z->why, "too-long") == 0 && z->on[0] && strcmp(z->on, name) != 0)
		/* the parent's *. rule, the one that would cover the name */
		printf("its *. rule is too long for %s (an owner passes 253 octets)\n", z->zone);
	else if (strcmp(z->why, "too-long") == 0)
		printf("the name is too long for a rule under %s (an owner passes 253 octets)\n", z->zone);
	else if (strcmp(z->why, "rpz-trigger") == 0)
		printf("under an RPZ trigger label: NAME.%s would be a rule on addresses or name servers, not on "
		       "the name\n", z->zone);
	else if (strcmp(z->why, "allowlisted") == 0)
		printf("allowlisted\n");
	else if (strcmp(z->why, "disputed") == 0)
		printf("its signals are disputed (disputed = omit)\n");
	else if (strcmp(z->why, "public-suffix") == 0)
		printf("a public suffix, with no blocked name above it\n");
	else
		printf("no signal on the name or a parent\n");
}

static void print_results(const struct wire_response *resp, struct query_tally *t)
{
	char buf[WIRE_NAME_MAX * 4 + 8];
	for (size_t i = 0; i < resp->n_results; i++) {
		const struct wire_name_result *nr = &resp->results[i];
		t->names++;
		if (nr->error[0]) {
			t->rejected++;
			fprintf(stderr, "amesh query: %s\n", printable(nr->error, buf, sizeof buf));
		} else if (nr->n_signals) {
			t->matched++;
		} else {
			/* A URL is a legal DNS name of odd labels ("http:", "x/y"), so
			 * it was looked up as written and matched nothing, even when
			 * its host is flagged: say so rather than let "0 signals" read
			 * as "not flagged". Its host is not looked up in its place: a
			 * question name under a flagged domain must still match as the
			 * name it is (domain.h). */
			char host[AM_QNAME_MAX + 1], hb[4 * AM_QNAME_MAX + 8], plain[AM_QNAME_MAX + 1];
			/* a report's defanged form (hxxp://evil[.]example/x,
			 * evil[.]example) is pasted as often: the host to query
			 * is the refanged one, as `import' reads it - suggesting
			 * evil[.]example sent the operator to a second miss */
			if (domain_url_host(nr->name, host, sizeof host)) {
				feed_refang(host, strlen(host), plain, sizeof plain);
				if (plain[0])
					fprintf(stderr, "amesh query: `%s' is a URL: looked up as a DNS name, it matched "
					        "nothing; query its host: amesh query %s\n", printable(nr->name, buf, sizeof buf),
					        printable(plain, hb, sizeof hb));
				else
					fprintf(stderr, "amesh query: `%s' is a URL with no host: looked up as a DNS name, "
					        "it matched nothing\n", printable(nr->name, buf, sizeof buf));
			} else if (feed_refang(nr->name, strlen(nr->name), plain, sizeof plain) != strlen(nr->name)) {
				fprintf(stderr, "amesh query: `%s' is defanged: looked up as written, it matched nothing; "
				        "query the name: amesh query %s\n", printable(nr->name, buf, sizeof buf),
				        printable(plain, hb, sizeof hb));
			}
		}
		if (opt_json) {
			if (print_json(jsonout_name_result(nr)) != 0)
				t->failed = true;
		} else if (!nr->error[0]) {
			printf("%s: %zu signal%s\n", nr->normalised, nr->n_signals,
			       nr->n_signals == 1 ? "" : "s");
			/* what the resolvers do first: the verdict words below are
			 * this peer's opinion, a zone lists from its own min_score */
			bool blocked = false;
			for (size_t j = 0; j < nr->n_zones; j++) {
				print_zone_answer(&nr->zones[j], nr->normalised);
				blocked |= nr->zones[j].listed && strcmp(nr->zones[j].action, "passthru") != 0;
			}
			for (size_t j = 0; j < nr->n_verdicts; j++) {
				const struct wire_verdict *v = &nr->verdicts[j];
				printf("  verdict %-9s %-11s score %5.1f", am_category_name(v->category), v->level, v->score);
				if (v->reason[0])
					printf("  (%s)", v->reason);
				/* the level is this peer's opinion: say where the
				 * resolvers differ ("warn" read as "let through") */
				if (nr->n_zones && blocked && strcmp(v->level, "block") != 0)
					printf("  (resolvers block it: rpz above)");
				else if (nr->n_zones && !blocked && strcmp(v->level, "block") == 0)
					printf("  (resolvers answer it: rpz above)");
				if (v->disputed) {
					/* the count and the latest open dispute's reason */
					const struct wire_dispute_info *latest = NULL;
					char rb[4 * DISPUTE_REASON_MAX + 8];
					for (size_t k = 0; k < nr->n_disputes; k++)
						if (nr->disputes[k].category == v->category && !nr->disputes[k].answer &&
						    (!latest || nr->disputes[k].at >= latest->at))
							latest = &nr->disputes[k];
					printf("  DISPUTED (%u open%s%s%s)", v->disputed, latest ? ", latest: \"" : "",
					       latest ? printable(latest->reason, rb, sizeof rb) : "", latest ? "\"" : "");
				}
				printf("\n");
				for (size_t k = 0; k < v->n_contrib; k++) {
					char ok[17];
					am_keyid_hex(v->contrib[k].origin, ok);
					printf("    from %s on %s: confidence %u x weight %.2f x decay %.2f = %.1f%%\n", ok,
					       v->contrib[k].domain, v->contrib[k].confidence, v->contrib[k].weight,
					       v->contrib[k].decay, 100 * v->contrib[k].p);
				}
			}
			for (size_t j = 0; j < nr->n_signals; j++) {
				const struct wire_signal *sg = &nr->signals[j];
				print_signal_text(stdout, sg, "  ");
				if (sg->hits_here || sg->hits_reported)
					printf("    hits: %" PRIu64 " here, %" PRIu64 " reported (%d days)\n", sg->hits_here,
					       sg->hits_reported, SIGHTING_KEEP_DAYS);
			}
			for (size_t j = 0; j < nr->n_disputes; j++) {
				const struct wire_dispute_info *d = &nr->disputes[j];
				char by[17], rb[4 * DISPUTE_REASON_MAX + 8], did[2 * AM_ID_BYTES + 1];
				am_keyid_hex(d->by, by);
				am_hex(d->id, AM_ID_BYTES, did);
				printf("  dispute %.16s %s on %s/%s by %s%s%s%s: %s\n", did, jsonout_dispute_state(d), d->domain,
				       am_category_name(d->category), by, d->by_name[0] ? " (" : "", d->by_name,
				       d->by_name[0] ? ")" : "", printable(d->reason, rb, sizeof rb));
			}
			for (size_t j = 0; j < nr->n_signals; j++) {
				const struct wire_signal *sg = &nr->signals[j];
				char ok[17];
				if (!sg->disputes_left_off)
					continue;
				am_keyid_hex(sg->ind.origin, ok);
				printf("  ... and %u more dispute%s on %s/%s (origin %s), not shown: amesh disputes lists them\n",
				       sg->disputes_left_off, sg->disputes_left_off == 1 ? "" : "s", sg->ind.domain,
				       am_category_name(sg->ind.category), ok);
			}
		}
	}
}

/* Bulk lookups keep CLIENT_SLOTS batches in flight: the daemon answers one
 * while this process prints the previous, and results still come out in
 * the order the names went in. */
struct pipeline {
	struct client *cl;
	struct wire_request req[CLIENT_SLOTS];
	bool busy[CLIENT_SLOTS];
	int next;     /* slot to fill */
	int oldest;   /* slot to print next */
	struct query_tally t;
};

static int pipeline_drain_one(struct pipeline *p)
{
	struct wire_response resp;
	char err[AM_ERRLEN];
	int k = p->oldest, rv;

	if (!p->busy[k])
		return 0;
	p->busy[k] = false;
	p->oldest = (k + 1) % CLIENT_SLOTS;
	if ((rv = client_recv(p->cl, k, &resp, err, sizeof err)) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	if (resp.status != 0) {
		errorf("%s", resp.error[0] ? resp.error : am_strerror(resp.status));
		wire_response_clear(&resp);
		return EXIT_ERR;
	}
	print_results(&resp, &p->t);
	wire_response_clear(&resp);
	return 0;
}

/* Sends the batch being filled, making room by printing the oldest one. */
static int pipeline_send(struct pipeline *p)
{
	struct wire_request *r = &p->req[p->next];
	char path[PATH_MAX], err[AM_ERRLEN];
	int rv;

	if (r->n_names == 0)
		return 0;
	if (!p->cl) {
		if (resolve_socket(path, sizeof path) != 0)
			return EXIT_ERR;
		if (client_open(&p->cl, path, err, sizeof err) != 0) {
			errorf("%s", err);
			return EXIT_ERR;
		}
	}
	if ((rv = client_send(p->cl, p->next, r, err, sizeof err)) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	p->busy[p->next] = true;
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	r->n_names = 0;
	p->next = (p->next + 1) % CLIENT_SLOTS;
	/* the slot to fill next must be free: print what it carried */
	if (p->busy[p->next])
		return pipeline_drain_one(p);
	return 0;
}

static int pipeline_add(struct pipeline *p, const char *name)
{
	struct wire_request *r = &p->req[p->next];
	if ((r->names[r->n_names] = strdup(name)) == NULL) {
		errorf("out of memory");
		return EXIT_ERR;
	}
	if (++r->n_names == QUERY_BATCH)
		return pipeline_send(p);
	return 0;
}

/* Reads one line of f into buf (cap bytes, NUL included), without its
 * "\n" or "\r\n"; what does not fit is read and dropped. *len is what buf
 * holds, *full the line's whole length. False at the end of input. */
static bool read_capped_line(FILE *f, char *buf, size_t cap, size_t *len, size_t *full)
{
	size_t n = 0, all = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (n + 1 < cap)
			buf[n++] = (char)c;
		all++;
	}
	if (c == EOF && all == 0)
		return false;
	if (n > 0 && all == n && buf[n - 1] == '\r') {
		n--;
		all--;
	}
	buf[n] = '\0';
	*len = n;
	*full = all;
	return true;
}

static int cmd_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"zones", no_argument, NULL, 'z'},
		{NULL, 0, NULL, 0},
	};
	struct pipeline p;
	bool from_stdin = false, zones = false;
	char *line = NULL;
	int c, rv = 0;

	/* a name may start with '-' ("-cdn.evil.example" is a real DNS name):
	 * `--' ends the options, and the message for an unknown option says so */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout), 0;
		case 'z': zones = true; break;
		default: {
			/* getopt may be inside a cluster ("-cdn..."): name the word */
			const char *bad = "-";
			for (int i = 1; i < argc; i++)
				if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--") != 0 &&
				    strcmp(argv[i], "--help") != 0 && strcmp(argv[i], "-h") != 0 &&
				    strcmp(argv[i], "--zones") != 0) {
					bad = argv[i];
					break;
				}
			die_usage("unknown option `%s'; a name that starts with '-' goes after `--', as in "
			          "`amesh query -- %s'", bad, bad);
		}
		}
	}
	if (optind == argc)
		die_usage("expected one or more names, or `-' to read them from stdin");
	/* names given as words are looked at one by one: each zone's answer
	 * comes with them; a stream (`-') is a bulk lookup, where judging
	 * every zone for every parent cost ~3x the lookup with three zones -
	 * --zones asks for it there too */
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") == 0)
			from_stdin = true;
	if (!from_stdin)
		zones = true;
	memset(&p, 0, sizeof p);
	for (int k = 0; k < CLIENT_SLOTS; k++) {
		p.req[k].op = WIRE_OP_QUERY;
		p.req[k].zones = zones;
		if ((p.req[k].names = calloc(QUERY_BATCH, sizeof *p.req[k].names)) == NULL) {
			errorf("out of memory");
			return EXIT_ERR;
		}
	}
	for (int i = optind; i < argc && rv == 0; i++) {
		if (strcmp(argv[i], "-") == 0)
			from_stdin = true;
		else
			rv = pipeline_add(&p, argv[i]);
	}
	/* stdin: one name per line, sent in batches as they are read, so results
	 * stream out while a large file is still being read. Lines are read
	 * into a buffer of one name's size: getline took a line whole, so
	 * 2 GB without a newline (a binary piped in by mistake) was 2 GB of
	 * memory before the line was refused. */
	size_t n, full, lineno = 0, stdin_names = 0;
	if (from_stdin && (line = malloc(WIRE_NAME_MAX + 2)) == NULL) {
		errorf("out of memory");
		rv = EXIT_ERR;
	}
	while (rv == 0 && from_stdin && read_capped_line(stdin, line, WIRE_NAME_MAX + 2, &n, &full)) {
		lineno++;
		/* an editor's byte-order mark is no part of the first line (text.h):
		 * a `#' comment behind it was sent as a name and refused */
		size_t bom = lineno == 1 ? text_bom_len(line, n) : 0;
		/* blank lines and comments are no names; blanks around a name are
		 * trimmed by the daemon (domain_normalise_query) */
		size_t lead = bom + strspn(line + bom, " \t");
		if (full == n && (lead == n || line[lead] == '#'))
			continue;
		stdin_names++;
		if (full > WIRE_NAME_MAX) {
			fprintf(stderr, "amesh query: stdin line %zu: a line of %zu bytes is not a domain name (at most "
			        "%d); skipped\n", lineno, full, WIRE_NAME_MAX);
			p.t.rejected++;
			p.t.names++;
			continue;
		}
		/* a NUL ends the C string: the name sent was what came before
		 * it, and "nul\0x.example" was answered as "`': domain is empty"
		 * with no line (or a line of binary as its first few bytes) */
		const char *nul = memchr(line, '\0', n);
		if (nul) {
			fprintf(stderr, "amesh query: stdin line %zu: a NUL byte at offset %zu: not a domain name "
			        "(binary input, or UTF-16: iconv -f UTF-16 -t UTF-8); skipped\n", lineno,
			        (size_t)(nul - line));
			p.t.rejected++;
			p.t.names++;
			continue;
		}
		rv = pipeline_add(&p, line + bom);
	}
	/* an empty file (a resolver log that was not written, a failed
	 * export) must not read as "none of these names is flagged": exit 1
	 * says nothing matched, this line says nothing was asked */
	if (rv == 0 && from_stdin && stdin_names == 0 && !ferror(stdin))
		fprintf(stderr, "amesh query: stdin held no names (%zu line%s, %s): nothing was looked up\n", lineno,
		        lineno == 1 ? "" : "s", lineno ? "blank or # comments" : "empty");
	if (rv == 0)
		rv = pipeline_send(&p);
	for (int k = 0; k < CLIENT_SLOTS && rv == 0; k++)
		rv = pipeline_drain_one(&p);
	for (int k = 0; k < CLIENT_SLOTS; k++) {
		for (size_t i = 0; i < p.req[k].n_names; i++)
			free(p.req[k].names[i]);
		free(p.req[k].names);
	}
	free(line);
	client_close(p.cl);
	if (rv != 0)
		return rv;
	if (p.t.failed)
		return EXIT_ERR;
	/* 0: any name matched; 1: none did (a public suffix or a single label
	 * simply matches nothing); 2: only when every name was refused - a
	 * resolver's batch with one odd name in it is not an error */
	if (p.t.matched)
		return EXIT_MATCH;
	return p.t.names > 0 && p.t.rejected == p.t.names ? EXIT_ERR : EXIT_NOMATCH;
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'C'}, {"origin", required_argument, NULL, 'o'},
		{"limit", required_argument, NULL, 'n'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_LIST};
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': req.category = parse_category(optarg); break;
		case 'o': cliopt_origin("--origin", optarg, &req, true); break;
		case 'n':
			req.limit = int_option("--limit", optarg, 1, AM_LIST_MAX, "from 1 to 10000");
			break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind != argc)
		die_usage("unexpected argument `%s'", argv[optind]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	for (size_t i = 0; i < resp.n_signals; i++) {
		if (opt_json) {
			if ((rv = print_json(jsonout_signal(&resp.signals[i]))) != 0)
				break;
		} else {
			print_signal_text(stdout, &resp.signals[i], "");
		}
	}
	if (resp.truncated)
		fprintf(stderr, "amesh list: output stopped at %zu signals; raise --limit (up to %d)\n",
		        resp.n_signals, AM_LIST_MAX);
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

/* The configuration in force and the last reload: a refused SIGHUP keeps
 * the older configuration, and an operator who edited the file and sent
 * it must see that here, not only in the log. */
static void print_status_config(const struct wire_status *s)
{
	char loaded[TIMEFMT_LEN], at[TIMEFMT_LEN], mod[TIMEFMT_LEN];

	if (!s->config_path[0])
		return; /* an ameshd older than these fields: nothing to say, rather than 1970 */
	timefmt_rfc3339(s->config_loaded_at, loaded);
	timefmt_rfc3339(s->reload_at, at);
	timefmt_rfc3339(s->config_modified_at, mod);
	/* read at start, or at the last reload applied (an applied one then a
	 * refused one leaves the applied one's in force) */
	printf("config      %s, in force since %s (%s)\n", s->config_path, loaded,
	       s->config_loaded_at > s->started_at ? "a reload" : "start");
	if (s->config_modified_at > s->config_loaded_at)
		printf("            the file changed at %s: its changes are not in force%s\n", mod,
		       strcmp(s->reload_result, "refused") == 0 && s->reload_at >= s->config_modified_at
		               ? " (the reload was refused)"
		               : " until a reload (SIGHUP, systemctl reload)");
	if (!s->reload_at)
		printf("reload      none since start\n");
	else if (strcmp(s->reload_result, "refused") == 0)
		printf("reload      REFUSED at %s: the configuration read at %s stays in force\n", at, loaded);
	else
		printf("reload      %s at %s\n", s->reload_result, at);
	for (size_t i = 0; i < s->n_reload_messages; i++)
		printf("            %s\n", s->reload_messages[i]);
}

static int cmd_status(int argc, char **argv)
{
	struct wire_request req = {.op = WIRE_OP_STATUS};
	struct wire_response resp;
	struct client *cl = NULL;
	char keyid[17], publine[KEYFILE_LINE_MAX], epoch[33], up[TIMEFMT_LEN], started[TIMEFMT_LEN];
	int rv;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout), 0;
	if (argc != 1)
		die_usage("unexpected argument `%s'", argv[1]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	const struct wire_status *s = &resp.status_info;
	am_keyid_hex(s->public_key, keyid);
	am_hex(s->epoch, sizeof s->epoch, epoch);
	keyfile_public_line(s->public_key, s->name, publine, sizeof publine);
	timefmt_duration(s->uptime, up);
	timefmt_rfc3339(s->started_at, started);
	if (opt_json) {
		rv = print_json(jsonout_status(s, publine));
	} else {
		printf("peer        %s\nkey id      %s\npublic key  %s\nindicators  %llu live, %llu withdrawn (tombstones), "
		       "%llu kept past expiry, %llu set aside\nstatements  %llu ('@' records: keys, disputes, sightings)\n"
		       "change log  seq %llu\nstore       %llu KiB\nepoch       %s\nstarted     %s (up %s)\n",
		       s->name, keyid, publine, (unsigned long long)s->live, (unsigned long long)s->tombstones,
		       (unsigned long long)s->kept, (unsigned long long)s->set_aside, (unsigned long long)s->statements,
		       (unsigned long long)s->last_seq,
		       (unsigned long long)(s->store_bytes / 1024), epoch, started, up);
		print_status_config(s);
		for (size_t i = 0; i < s->n_digests; i++) {
			char ok[17], dg[65];
			am_keyid_hex(s->digests[i].origin, ok);
			am_hex(s->digests[i].digest, 32, dg);
			printf("%s%s  %llu records  digest %.16s\n", i ? "            " : "digests     ", ok,
			       (unsigned long long)s->digests[i].count, dg);
		}
	}
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static void print_reasons(const struct wire_reason *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s=%llu", i ? " " : "", r[i].reason, (unsigned long long)r[i].count);
	if (n == 0)
		printf("none");
}

static int cmd_peers(int argc, char **argv)
{
	struct wire_request req = {.op = WIRE_OP_PEERS};
	struct wire_response resp;
	struct client *cl = NULL;
	uint64_t now = timefmt_now();
	int rv;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout), 0;
	if (argc != 1)
		die_usage("unexpected argument `%s'", argv[1]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	for (size_t i = 0; i < resp.n_peers; i++) {
		const struct wire_peer *p = &resp.peers[i];
		char keyid[17], last[TIMEFMT_LEN], ago[TIMEFMT_LEN];
		am_keyid_hex(p->public_key, keyid);
		timefmt_rfc3339(p->last_sync, last);
		timefmt_duration(p->last_sync && now > p->last_sync ? now - p->last_sync : 0, ago);
		if (opt_json) {
			if ((rv = print_json(jsonout_peer(p))) != 0)
				break;
		} else {
			printf("%s  %s  %s  key %s\n", p->name, p->state,
			       p->endpoint[0] ? p->endpoint : "(dials us)", keyid);
			printf("  last sync %s  lag %llu  in %llu (+%llu duplicates)  out %llu  handshakes %llu ok, %llu failed\n",
			       p->last_sync ? ago : "never", (unsigned long long)p->lag,
			       (unsigned long long)p->in_accepted, (unsigned long long)p->in_duplicate,
			       (unsigned long long)p->out_sent, (unsigned long long)p->handshakes,
			       (unsigned long long)p->handshake_failures);
			printf("  rejected from them: ");
			print_reasons(p->rejects, p->n_rejects);
			printf("\n  held back from them: ");
			print_reasons(p->held, p->n_held);
			printf("\n");
		}
	}
	if (!opt_json && resp.unknown_handshakes)
		printf("handshakes refused from unknown keys: %llu\n", (unsigned long long)resp.unknown_handshakes);
	if (!opt_json && resp.n_peers == 0)
		printf("no neighbours configured\n");
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

/* The daemon reloads its config and trust store, as on SIGHUP, and
 * answers once the new one is in force - or why it refused it, the
 * running one staying: a signal returns at once, and a refused reload
 * was said only in the daemon's log (`systemctl reload' said nothing). */
static int cmd_reload(int argc, char **argv)
{
	struct wire_request req = {.op = WIRE_OP_RELOAD};
	struct wire_response resp;
	struct client *cl = NULL;
	int rv;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout), 0;
	if (argc != 1)
		die_usage("unexpected argument `%s'", argv[1]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (opt_json)
		rv = print_json(json_pack("{s:b}", "reloaded", 1));
	else
		printf("reloaded: the config and trust store are in force\n");
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static volatile sig_atomic_t watch_stop;

static void on_watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static int cmd_watch(int argc, char **argv)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'C'},
		{"min-confidence", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_WATCH, .after = UINT64_MAX};
	struct client *cl = NULL;
	int c, rv = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': req.category = parse_category(optarg); break;
		case 'n':
			req.confidence = int_option("--min-confidence", optarg, 0, 100, "an integer from 0 to 100");
			break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind != argc)
		die_usage("unexpected argument `%s'", argv[optind]);
	signal(SIGINT, on_watch_signal);
	signal(SIGTERM, on_watch_signal);
	signal(SIGPIPE, on_watch_signal);
	/* every line goes out at once: other tools follow this stream */
	setvbuf(stdout, NULL, _IOLBF, 0);
	bool admitted = false, waited = false;
	while (!watch_stop) {
		struct wire_response resp;
		if (!admitted) {
			if ((rv = call(&cl, &req, &resp)) != 0)
				break; /* a ninth watcher is told no and ends here */
			admitted = true;
		} else {
			char err[AM_ERRLEN];
			if (client_call(cl, &req, &resp, err, sizeof err) != 0) {
				errorf("%s", err);
				rv = EXIT_ERR;
				break;
			}
			/* Slots are held per long-poll, so a newcomer can take one in
			 * the gap between two of ours; following already, wait for a
			 * slot rather than end a stream other tools read. It ended
			 * it, and each newcomer refused later had cost a watcher. */
			if (resp.status == AM_ETOOBIG) {
				wire_response_clear(&resp);
				if (!waited)
					fprintf(stderr, "amesh watch: every watcher slot is taken for now; waiting for one "
					        "(the changes meanwhile follow once it comes)\n");
				waited = true;
				sleep(1);
				continue;
			}
			if (resp.status != 0) {
				errorf("%s", resp.error[0] ? resp.error : am_strerror(resp.status));
				wire_response_clear(&resp);
				rv = EXIT_ERR;
				break;
			}
		}
		for (size_t i = 0; i < resp.n_events && !watch_stop; i++) {
			const struct wire_watch_event *e = &resp.events[i];
			char at[TIMEFMT_LEN];
			timefmt_rfc3339(e->at_us / 1000000, at); /* text keeps whole seconds */
			if (opt_json) {
				if ((rv = print_json(jsonout_watch_event(e))) != 0)
					watch_stop = 1;
			} else {
				printf("%s %-9s %s%s%s ", at, e->type, e->from[0] ? "from " : "", e->from,
				       e->from[0] ? " " : "");
				print_signal_text(stdout, &e->signal, "");
			}
		}
		if (resp.n_events)
			trace_stamp("watch_printed", NULL);
		uint64_t next = resp.head;
		if (req.after != UINT64_MAX && resp.head < req.after) {
			/* the client dialled again (client.h) and reached a restarted
			 * daemon, whose feed starts again at 1: follow it from there */
			fprintf(stderr, "amesh watch: ameshd restarted (its feed is at %llu, this watch was at %llu); "
			        "following it from its start - changes while it was down are not in this stream\n",
			        (unsigned long long)resp.head, (unsigned long long)req.after);
			next = 0;
		}
		req.after = next;
		req.wait_ms = 5000;
		wire_response_clear(&resp);
		if (ferror(stdout))
			break;
	}
	client_close(cl);
	return rv;
}

/* One audit record, in words a compliance officer can read. */
static void print_audit_text(const struct audit_record *r)
{
	char at[TIMEFMT_LEN], what[AM_DOMAIN_MAX * 4 + 64], dom[AM_DOMAIN_MAX * 4 + 8], nb[256], det[AUDIT_DETAIL_MAX * 4 + 8];
	const char *cat = r->category ? am_category_name(r->category) : "";

	timefmt_rfc3339(r->time, at);
	printable(r->domain, dom, sizeof dom);
	printable(r->neighbour, nb, sizeof nb);
	printable(r->detail, det, sizeof det);
	snprintf(what, sizeof what, "%s%s%s", cat, cat[0] && dom[0] ? " on " : "", dom);
	if (strcmp(r->event, "originated") == 0)
		printf("%s  this peer reported %s\n", at, what);
	else if (strcmp(r->event, "accepted") == 0)
		printf("%s  received %s from %s (origin %s): accepted\n", at, what, nb, r->origin);
	else if (strcmp(r->event, "rejected") == 0) /* the rule's words, when it left any (special_use: the RFC) */
		printf("%s  received %s from %s (origin %s): rejected by rule `%s'%s%s\n", at, what[0] ? what : "an indicator",
		       nb, r->origin[0] ? r->origin : "unknown", r->rule, det[0] ? ": " : "", det);
	else if (strcmp(r->event, "relayed") == 0)
		printf("%s  shared %s (origin %s) with %s%s\n", at, what, r->origin, nb,
		       det[0] ? " (a withdrawal)" : "");
	else if (strcmp(r->event, "held_back") == 0 && strncmp(det, "not sent again", 14) == 0)
		printf("%s  kept %s (origin %s) from %s: rule `%s' - %s\n", at, what, r->origin, nb, r->rule, det);
	else if (strcmp(r->event, "held_back") == 0)
		printf("%s  kept %s%s%s (origin %s) from %s: rule `%s'\n", at, det, det[0] ? " of " : "", what, r->origin,
		       nb, r->rule);
	else if (strcmp(r->event, "set_aside") == 0)
		printf("%s  %s (origin %s), accepted from %s, no longer counts: its import policy now refuses it, "
		       "rule `%s'\n", at, what, r->origin, nb, r->rule);
	else if (strcmp(r->event, "withdrawn") == 0)
		printf("%s  %s withdrawn by its origin %s%s%s\n", at, what, r->origin, nb[0] ? ", received from " : "", nb);
	else if (strcmp(r->event, "expired") == 0)
		printf("%s  %s expired and was removed\n", at, what);
	else if (strcmp(r->event, "origin_hidden") == 0 || strcmp(r->event, "origin_shown") == 0)
		printf("%s  %s (key %s)\n", at, det, r->origin); /* "every indicator of origin NAME no longer counts: ..." */
	else
		printf("%s  %s%s%s%s%s\n", at, r->event, what[0] ? " " : "", what, det[0] ? ": " : "", det);
	/* the events whose line above leaves the detail out carry it as a
	 * note: why this peer flagged a name, why it was withdrawn (after
	 * which dispute, or that the name rules now refuse it) */
	bool taken = strcmp(r->event, "originated") == 0 || strcmp(r->event, "accepted") == 0;
	if (taken && strncmp(det, "indicator ", 10) == 0) /* what was taken (its id and terms), then any note */
		printf("%*s  %s\n", (int)strlen(at), "", det);
	else if (det[0] && (taken || strcmp(r->event, "withdrawn") == 0 || strcmp(r->event, "expired") == 0 ||
	                    strcmp(r->event, "set_aside") == 0))
		printf("%*s  note: %s\n", (int)strlen(at), "", det);
}

static int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{"verify", no_argument, NULL, 'v'}, {"since", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'n'}, {"event", required_argument, NULL, 'e'},
		{"category", required_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_AUDIT};
	char err[AM_ERRLEN];
	uint32_t mask;
	size_t used;
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': req.verify = true; break;
		case 's': req.after = cliopt_since("--since", optarg); break; /* 1h: that long ago, as report and export */
		case 'n':
			req.limit = int_option("--limit", optarg, 1, WIRE_AUDIT_MAX, "from 1 to 10000");
			break;
		case 'e': /* --event accepted,relayed; given twice, both lists */
			if (audit_events_parse(optarg, &mask, err, sizeof err) != 0)
				die_usage("--event: %s", err);
			used = strlen(req.audit_events);
			if (used + 1 + strlen(optarg) > WIRE_AUDIT_EVENTS_MAX)
				die_usage("--event: the lists given are over %d bytes", WIRE_AUDIT_EVENTS_MAX);
			snprintf(req.audit_events + used, sizeof req.audit_events - used, "%s%s", used ? "," : "", optarg);
			break;
		case 'C': req.category = parse_category(optarg); break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (req.verify && (req.audit_events[0] || req.category != AM_CAT_NONE))
		die_usage("--event and --category filter a listing, not --verify");
	if (req.verify ? optind != argc : optind + 1 < argc)
		die_usage("expected %s", req.verify ? "no DOMAIN with --verify" : "at most one DOMAIN");
	if (optind < argc)
		copy_arg(req.domain, sizeof req.domain, "DOMAIN", argv[optind]); /* refused, never cut */
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (req.verify) {
		if (opt_json) {
			if (print_json(json_pack("{s:o, s:I, s:b, s:I, s:o}", "path", jsonout_string(resp.audit_path),
			                         "records", (json_int_t)resp.audit_verified, "ok",
			                         !(resp.audit_bad_line || resp.audit_problem[0]), "bad_line",
			                         (json_int_t)resp.audit_bad_line,
			                         "problem", jsonout_string(resp.audit_problem))) != 0)
				resp.audit_bad_line = resp.audit_bad_line ? resp.audit_bad_line : 1;
		} else if (resp.audit_bad_line || resp.audit_problem[0])
			fprintf(stderr, "amesh audit: %s: chain broken: %s\n", resp.audit_path, resp.audit_problem);
		else
			printf("%s: %llu records, hash chain intact\n", resp.audit_path,
			       (unsigned long long)resp.audit_verified);
		rv = resp.audit_bad_line || resp.audit_problem[0] ? EXIT_ERR : 0;
	} else {
		for (size_t i = 0; i < resp.n_audit; i++) {
			const struct audit_record *r = &resp.audit[i];
			if (opt_json) {
				if ((rv = print_json(jsonout_audit_record(r))) != 0)
					break;
			} else {
				print_audit_text(r);
			}
		}
		/* more records match than are shown: say so, and suggest only
		 * what was not already asked for (--limit N is an answer, not a cap) */
		if (resp.audit_truncated && req.limit)
			fprintf(stderr, "amesh audit: showing the newest %zu record%s, as --limit asked; older ones match too\n",
			        resp.n_audit, resp.n_audit == 1 ? "" : "s");
		else if (resp.audit_truncated)
			fprintf(stderr, "amesh audit: showing the newest %zu record%s; use %s\n", resp.n_audit,
			        resp.n_audit == 1 ? "" : "s", req.after ? "--limit, or a later --since" : "--since or --limit");
		if (!opt_json && resp.n_audit == 0)
			printf("no records%s%s%s\n", req.domain[0] ? " for " : "", req.domain,
			       req.audit_events[0] || req.category != AM_CAT_NONE ? " that the filters keep" : "");
		rv = resp.n_audit ? 0 : EXIT_NOMATCH;
	}
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static void time_or_never(uint64_t t, char out[TIMEFMT_LEN])
{
	if (t == 0)
		snprintf(out, TIMEFMT_LEN, "never");
	else
		timefmt_rfc3339(t, out);
}

/* amesh rpz: each zone, then each secondary. */
static int cmd_rpz(int argc, char **argv)
{
	struct wire_request req = {.op = WIRE_OP_RPZ};
	struct wire_response resp;
	struct client *cl = NULL;
	int rv;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return usage(stdout), 0;
	if (argc != 1)
		die_usage("unexpected argument `%s'", argv[1]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	for (size_t i = 0; i < resp.n_rpz_zones; i++) {
		const struct wire_rpz_zone *z = &resp.rpz_zones[i];
		if (opt_json) {
			if ((rv = print_json(jsonout_rpz_zone(z, resp.rpz_secs, resp.n_rpz_secs))) != 0)
				break;
			continue;
		}
		printf("zone %s (%s): serial %u, %llu rules, journal %llu entr%s\n", z->name, z->zone,
		       z->serial, (unsigned long long)z->rules, (unsigned long long)z->journal,
		       z->journal == 1 ? "y" : "ies");
		for (size_t k = 0; k < resp.n_rpz_secs; k++) {
			const struct wire_rpz_secondary *w = &resp.rpz_secs[k];
			char soa[TIMEFMT_LEN], xfr[TIMEFMT_LEN], sent[TIMEFMT_LEN], ans[TIMEFMT_LEN];
			if (strcmp(w->zone, z->zone) != 0)
				continue;
			time_or_never(w->last_soa, soa);
			time_or_never(w->last_xfr, xfr);
			time_or_never(w->notify_sent, sent);
			time_or_never(w->notify_answered, ans);
			printf("  %s\n", w->address);
			if (w->last_soa || w->last_xfr || w->refused) {
				printf("    last SOA query  %s\n", soa);
				/* a secondary that only probed the SOA has no transfer
				 * to describe: "never", not "none never, 0 bytes" */
				if (w->last_xfr)
					printf("    last transfer   %s %s, %llu bytes, serial %u (%llu AXFR, %llu IXFR, "
					       "%llu refused)\n",
					       w->xfr_kind, xfr, (unsigned long long)w->xfr_bytes, w->xfr_serial,
					       (unsigned long long)w->axfrs, (unsigned long long)w->ixfrs,
					       (unsigned long long)w->refused);
				else
					printf("    last transfer   never (%llu refused)\n", (unsigned long long)w->refused);
				/* why, or "refused" reads the same for an address left
				 * out of allow_transfer and for Unbound in a tsig zone */
				if (w->refused && w->refused_why[0])
					printf("    last refused    %s\n", w->refused_why);
			}
			/* the answer's RCODE: a REFUSED or NOTAUTH NOTIFY (BIND
			 * without allow-notify for us) is a secondary that will not
			 * follow, whatever "answered" suggests */
			char rc[16];
			if (w->notify_sent && w->notify_answered)
				printf("    last NOTIFY     serial %u sent %s, answered %s with %s\n", w->notify_serial,
				       sent, ans, dnsmsg_rcode_name(w->notify_rcode, rc));
			else if (w->notify_sent)
				printf("    last NOTIFY     serial %u sent %s, not answered\n", w->notify_serial, sent);
			/* the source: a secondary takes a NOTIFY only from its
			 * primary's address, so REFUSED reads with it */
			if (w->notify_sent)
				printf("    NOTIFY from     %s\n", w->notify_from[0] ? w->notify_from
				                                              : "the kernel's choice (no notify_source)");
			if (w->notify_pending)
				printf("    (retrying until it answers)\n");
		}
	}
	/* --json always prints a document: with no zones, an empty list
	 * (a script reads {"zones":[]} rather than guessing from silence) */
	if (resp.n_rpz_zones == 0 && rv == 0)
		rv = opt_json ? print_json(json_pack("{s:[]}", "zones"))
		              : (printf("no [rpz] zones configured\n"), 0);
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

/* amesh export rpz --zone NAME [-o FILE]: the zone as a master file. */
static int cmd_export_rpz(int argc, char **argv)
{
	static const struct option opts[] = {
		{"zone", required_argument, NULL, 'z'}, {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_RPZ, .rpz_export = true};
	struct wire_response resp;
	struct client *cl = NULL;
	const char *zone = NULL, *path = NULL;
	char tmp[PATH_MAX];
	FILE *f = stdout;
	int c, rv = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "z:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'z': zone = optarg; break;
		case 'o': path = optarg; break;
		case 'h': return usage(stdout), 0;
		default: die_usage("export: unknown option");
		}
	}
	if (optind >= argc || strcmp(argv[optind], "rpz") != 0 || optind + 1 != argc)
		die_usage("export: expected `export rpz --zone NAME [-o FILE]'");
	if (zone == NULL)
		die_usage("export rpz: --zone NAME is required (the [rpz NAME] section)");
	if (strlen(zone) >= sizeof req.domain)
		die_usage("export rpz: --zone is too long");
	snprintf(req.domain, sizeof req.domain, "%s", zone);
	if (path != NULL) {
		/* written beside the target and renamed: a reader never sees half a zone */
		if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
			die_usage("export rpz: -o path is too long");
		if ((f = fopen(tmp, "w")) == NULL) {
			errorf("%s: %s", tmp, strerror(errno));
			return EXIT_ERR;
		}
	}
	do {
		if ((rv = call(&cl, &req, &resp)) != 0)
			break;
		if (fwrite(resp.rpz_text, 1, resp.rpz_text_len, f) != resp.rpz_text_len)
			rv = EXIT_ERR;
		snprintf(req.rpz_after, sizeof req.rpz_after, "%s", resp.rpz_next);
		wire_response_clear(&resp);
	} while (rv == 0 && req.rpz_after[0] != '\0');
	if (path != NULL) {
		if (fclose(f) != 0 && rv == 0)
			rv = EXIT_ERR;
		if (rv == 0 && rename(tmp, path) != 0) {
			errorf("%s: %s", path, strerror(errno));
			rv = EXIT_ERR;
		}
		if (rv != 0)
			unlink(tmp);
	} else if (fflush(stdout) != 0) {
		rv = EXIT_ERR;
	}
	client_close(cl);
	return rv;
}

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'}, {"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_REPORT};
	struct wire_response resp;
	struct client *cl = NULL;
	enum report_format fmt = opt_json ? REPORT_JSON : REPORT_TEXT;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': req.after = cliopt_since("--since", optarg); break; /* 7d: that long ago */
		case 'f':
			if (report_format_parse(optarg, &fmt) != 0)
				die_usage("--format `%s': expected text, json or csv", optarg);
			break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind != argc)
		die_usage("unexpected argument `%s'", argv[optind]);
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (report_write(&resp.report, fmt, stdout) != 0) {
		errorf("cannot write the report");
		rv = EXIT_ERR;
	}
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

/* mkdir -p: the parents (0755, less the umask) then dir itself (0750).
 * `amesh init /srv/amesh/apnic' must not need a separate mkdir (issue 8,
 * item 9). An existing directory is fine; an existing file is not. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);
	struct stat st;

	if (n == 0 || n >= sizeof path) {
		snprintf(err, errlen, "directory name `%s' is empty or too long", dir);
		return -1;
	}
	memcpy(path, dir, n + 1);
	for (size_t k = 1; k <= n; k++) {
		if (path[k] != '/' && path[k] != '\0')
			continue;
		if (path[k - 1] == '/')
			continue; /* `a//b' */
		char saved = path[k];
		path[k] = '\0';
		if (mkdir(path, saved ? 0755 : 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %.180s: %s", path, strerror(errno));
			return -1;
		}
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "cannot create %.100s: %.100s exists and is not a directory", dir,
			         path);
			return -1;
		}
		path[k] = saved;
	}
	return 0;
}

static json_t *allow_entry_json(const struct wire_allow_entry *e)
{
	if (!e->entry[0])
		return json_null();
	return json_pack("{s:o, s:o, s:s, s:I}", "entry", jsonout_string(e->entry), "list", jsonout_string(e->source),
	                 "covers", e->covers, "shielding", (json_int_t)e->shielding);
}

static void print_allow_entry_text(const char *what, const struct wire_allow_entry *e)
{
	char src[1100];
	printf("%s `%s' (%s) in %s, shielding %llu live signal%s\n", what, e->entry, e->covers,
	       printable(e->source, src, sizeof src), (unsigned long long)e->shielding, e->shielding == 1 ? "" : "s");
}

/* `amesh allowlist [NAME]': what the allowlist covers and what it shields
 * now - an entry shielding hundreds of phishing signals is a mistake the
 * operator wants to see. */
static int cmd_allowlist(int argc, char **argv)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct wire_request req = {.op = WIRE_OP_ALLOWLIST};
	struct wire_response resp;
	struct client *cl = NULL;
	int c, rv;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': req.limit = int_option("--limit", optarg, 1, WIRE_ALLOW_ENTRIES_MAX - 1, "from 1 to 999"); break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option (a name that starts with '-' goes after `--')");
		}
	}
	if (optind + 1 < argc)
		die_usage("expected at most one NAME");
	if (optind < argc) {
		/* an empty NAME (a script's unset variable) is no question about
		 * a name: the overview in its place would read as an answer */
		if (argv[optind][0] == '\0')
			die_usage("NAME is empty");
		if (strlen(argv[optind]) > WIRE_NAME_MAX)
			die_usage("name is longer than %d bytes", WIRE_NAME_MAX);
		snprintf(req.domain, sizeof req.domain, "%s", argv[optind]);
	}
	if ((rv = call(&cl, &req, &resp)) != 0)
		goto out;
	if (opt_json) {
		json_t *lists = json_array(), *shield = json_array();
		for (size_t i = 0; i < resp.n_allow_sources; i++) {
			const struct wire_allow_source *w = &resp.allow_sources[i];
			json_array_append_new(lists, json_pack("{s:o, s:s, s:I, s:I}", "name", jsonout_string(w->name), "type",
			                                       w->type, "entries", (json_int_t)w->entries, "skipped",
			                                       (json_int_t)w->skipped));
		}
		for (size_t i = 0; i < resp.n_allow_entries; i++)
			json_array_append_new(shield, allow_entry_json(&resp.allow_entries[i]));
		json_t *o = json_pack("{s:b, s:I, s:I, s:o, s:o}", "configured", (int)resp.allow_configured, "names",
		                      (json_int_t)resp.allow_names, "live_signals", (json_int_t)resp.allow_signals,
		                      "lists", lists, "shielding", shield);
		if (o && req.domain[0]) {
			json_object_set_new(o, "name", jsonout_string(req.domain));
			json_object_set_new(o, "normalised", jsonout_string(resp.allow_normalised));
			json_object_set_new(o, "covered", json_boolean(resp.allow_covered));
			json_object_set_new(o, "covered_by", allow_entry_json(&resp.allow_name));
			json_object_set_new(o, "subdomains_covered_by", allow_entry_json(&resp.allow_below));
		}
		rv = print_json(o);
	} else if (!resp.allow_configured) {
		printf("no allowlist configured (the `allowlist' option of [peer])\n");
	} else if (req.domain[0]) {
		printf("%s: %s\n", resp.allow_normalised, resp.allow_covered ? "allowlisted" : "not allowlisted");
		if (resp.allow_name.entry[0])
			print_allow_entry_text("  covered by", &resp.allow_name);
		if (resp.allow_below.entry[0])
			print_allow_entry_text("  its subdomains covered by", &resp.allow_below);
	} else {
		printf("%llu allowlisted name%s; %llu live signal%s examined\n", (unsigned long long)resp.allow_names,
		       resp.allow_names == 1 ? "" : "s", (unsigned long long)resp.allow_signals,
		       resp.allow_signals == 1 ? "" : "s");
		for (size_t i = 0; i < resp.n_allow_sources; i++) {
			const struct wire_allow_source *w = &resp.allow_sources[i];
			char name[1100];
			printf("  list %s (%s): %llu entr%s, %llu bad entr%s skipped\n", printable(w->name, name, sizeof name),
			       w->type, (unsigned long long)w->entries, w->entries == 1 ? "y" : "ies",
			       (unsigned long long)w->skipped,
			       w->skipped == 1 ? "y" : "ies");
		}
		if (resp.n_allow_entries == 0)
			printf("no entry is shielding a live signal\n");
		for (size_t i = 0; i < resp.n_allow_entries; i++)
			print_allow_entry_text("  entry", &resp.allow_entries[i]);
	}
	/* a name: 0 covered, 1 not; the overview: 0 */
	if (rv == 0 && req.domain[0] && !resp.allow_covered)
		rv = EXIT_NOMATCH;
	wire_response_clear(&resp);
out:
	client_close(cl);
	return rv;
}

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'N'}, {"listen", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *listen = NULL, *dir;
	char path[PATH_MAX], err[AM_ERRLEN], publine[KEYFILE_LINE_MAX];
	uint8_t pk[AM_KEY_BYTES];
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'N': name = optarg; break;
		case 'L': listen = optarg; break;
		case 'h': return usage(stdout), 0;
		default: die_usage("bad option");
		}
	}
	if (optind + 1 != argc)
		die_usage("expected exactly one DIR");
	if (!name)
		die_usage("--name is mandatory");
	dir = argv[optind];
	/* every argument is checked before anything is created, so a refused
	 * one leaves no half-made peer behind for the retry to trip over */
	if (config_check_init_args(name, listen, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	if (make_dirs(dir, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	snprintf(path, sizeof path, "%s/amesh.conf", dir);
	if (access(path, F_OK) == 0) {
		errorf("%s already holds a peer (%s exists); refusing to overwrite", dir, path);
		return EXIT_ERR;
	}
	snprintf(path, sizeof path, "%s/amesh.key", dir);
	if (keyfile_generate(path, name, NULL, pk, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	snprintf(path, sizeof path, "%s/amesh.conf", dir);
	if (config_write_default(path, name, listen, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	snprintf(path, sizeof path, "%s/trust.conf", dir);
	if (trust_create(path, err, sizeof err) != 0) {
		errorf("%s", err);
		return EXIT_ERR;
	}
	snprintf(path, sizeof path, "%s/data", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		errorf("cannot create %s: %s", path, strerror(errno));
		return EXIT_ERR;
	}
	snprintf(path, sizeof path, "%s/run", dir);
	if (mkdir(path, 0750) != 0 && errno != EEXIST) {
		errorf("cannot create %s: %s", path, strerror(errno));
		return EXIT_ERR;
	}
	keyfile_public_line(pk, name, publine, sizeof publine);
	/* the config loader validates what init wrote, e.g. a socket path too long */
	struct config cfg;
	snprintf(path, sizeof path, "%s/amesh.conf", dir);
	if (config_load(&cfg, path, NULL, NULL) != 0) {
		config_free(&cfg);
		errorf("the new config %s does not validate; run `ameshd -c %s --check'", path, path);
		return EXIT_ERR;
	}
	if (opt_json) {
		if (print_json(json_pack("{s:o, s:o, s:o, s:o}", "dir", jsonout_string(dir), "config",
		                         jsonout_string(cfg.path), "socket", jsonout_string(cfg.control),
		                         "public_key", jsonout_string(publine))) != 0) {
			config_free(&cfg);
			return EXIT_ERR;
		}
	} else {
		printf("created peer `%s' in %s\n  config  %s\n  key     %s (0600)\n  public  %s\n"
		       "  trust   %s (empty: add neighbours with `amesh -c %s keys trust')\n"
		       "start it with: ameshd -c %s\n",
		       name, dir, cfg.path, cfg.key_file, publine, cfg.trust_file, cfg.path, cfg.path);
	}
	config_free(&cfg);
	return 0;
}

static int cmd_keys(int argc, char **argv)
{
	return keycmd_main(argc, argv, opt_json, opt_config);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return usage(stdout), 0;
}

static const struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} subcommands[] = {
	{"init", cmd_init, "DIR --name NAME [--listen URL]", "create a new peer: identity, config, data directory"},
	{"submit", cmd_submit, "DOMAIN|- --category C --confidence N (--expires RFC3339 | --ttl 7d) [--tlp LEVEL] [--hop-limit N] [--force] [--dry-run]",
	 "sign an indicator with this peer's key and store it; a name this peer's own allowlist\n"
	 "              covers is refused, naming the entry, unless --force (recorded in the audit trail);\n"
	 "              --dry-run: the daemon checks it as it would store it (max_lifetime too), stores nothing"},
	{"import", cmd_import, "FILE... [--format auto|plain|hosts|urls|adblock|rpz|csv|stix|misp|dnsmasq|unbound] [--category C] "
	 "[--confidence N] [--ttl D | --expires T] [--tlp L] [--category-map WORD=C]... [--dry-run]",
	 "submit every name in feed files (batched); report each line skipped and why"},
	{"export", cmd_export, "stix|csv|misp|hosts [-o PATH] [--category C] [--origin NAME] [--min-score N] [--since T]"
	 " | rpz --zone NAME [-o FILE]",
	 "the live signals in a format MISP, OpenCTI, a SIEM or a blocker reads; or a response policy zone as a master file"},
	{"withdraw", cmd_withdraw, "DOMAIN --category C", "withdraw this peer's own indicator (signed)"},
	{"query", cmd_query, "[--zones] [--] DOMAIN... | -",
	 "live signals on each name or a parent, the verdicts, and per [rpz] zone what its\n"
	 "              resolvers do with the name and why; `-' reads names from stdin (a bulk lookup:\n"
	 "              the zones' answers only with --zones); `--' ends options\n"
	 "              (a name may start with '-': amesh query -- -cdn.example.com). Any name a\n"
	 "              resolver can see is looked up (escapes such as My\\032Printer too); a public\n"
	 "              suffix or a single label matches nothing. Exit 0 if any name matched, 1 if\n"
	 "              none did, 2 if every name was refused or on a usage error"},
	{"allowlist", cmd_allowlist, "[--limit N] [--] [NAME]",
	 "the lists loaded (bad entries skipped), which entry and list cover NAME, and how many\n"
	 "              live signals each entry is shielding right now (most first)"},
	{"dispute", cmd_dispute, "DOMAIN --category C | ID, --reason TEXT [--evidence URL] [--on-behalf-of TEXT] [--origin KEYID]"
	 " | answer ID uphold|withdraw --reason TEXT",
	 "dispute a live indicator this peer holds (signed; it travels to the origin and every holder);\n"
	 "              or, at the origin, answer a dispute: uphold keeps the indicator, withdraw withdraws it"},
	{"disputes", cmd_disputes, "[--open] [--mine]",
	 "disputes held here: open, overdue (past dispute_deadline), lapsed (the flag is gone), upheld or\n"
	 "              withdrawn, with ids; --open: open and overdue only; --mine: only those about this\n"
	 "              peer's own indicators (its to answer), not those it relays"},
	{"list", cmd_list, "[--category C] [--origin NAME|KEYID] [--limit N]", "list live signals"},
	{"status", cmd_status, "",
	 "identity, counts (live as list shows it, but for what expired since the last sweep; withdrawn,\n"
	 "              kept past expiry, set aside, '@' records), store size, uptime, per-origin digests"},
	{"watch", cmd_watch, "[--category C] [--min-confidence N]",
	 "stream every change (new, updated, withdrawn, expired, set_aside) as it is applied"},
	{"audit", cmd_audit, "[DOMAIN] [--since RFC3339|1h] [--limit N] [--event E[,E...]] [--category C] | --verify",
	 "what this peer decided about a name (and its family), in order; --event keeps only those events\n"
	 "              (accepted,relayed,...; an unknown one is refused, naming them all), --category\n"
	 "              only that category's records; --limit counts what they keep; or check the hash chain"},
	{"report", cmd_report, "[--since DATE|7d] [--format text|json|csv]",
	 "transparency report: live counts, new, withdrawn, expired, rejects, volumes per neighbour"},
	{"sightings", cmd_sightings, "[--limit N] [NAME] | import [--format auto|unbound|bind] [--flush-every S] FILE|-",
	 "RPZ hits: import a resolver's log (Unbound rpz-log or log-local-actions, BIND's rpz\n"
	 "              category) as counts per indicator and UTC day, no client addresses kept;\n"
	 "              from a pipe, counts are handed over every S seconds (default 10);\n"
	 "              or show the counts held, this peer's and those reported toward it"},
	{"rpz", cmd_rpz, "", "response policy zones: serial, rules, journal; per secondary the last SOA query, transfer, notify"},
	{"peers", cmd_peers, "", "neighbours: link state, last sync, lag, in/out, rejects and held back by reason"},
	{"reload", cmd_reload, "", "re-read the config and trust store now (as SIGHUP); say when in force, or why refused"},
	{"keys", cmd_keys, "generate|public|fingerprint|trust|list|show|distrust|revoke|pending|approve|rotate|publish ...",
	 "identity and trust-store keys (`amesh keys --help')"},
	{"help", cmd_help, "", "this text"},
};

/* Inside a command (`amesh submit --help', which every usage error of a
 * command points to), that command's entry alone: the whole table, 61
 * lines, left the operator to find the one line that mattered. */
static int usage(FILE *f)
{
	const struct subcommand *one = NULL;

	/* by its first word: `dispute answer' is dispute's */
	size_t cmdlen = strcspn(cliopt_command, " ");
	for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
		if (strlen(subcommands[i].name) == cmdlen && strncmp(cliopt_command, subcommands[i].name, cmdlen) == 0 &&
		    strcmp(subcommands[i].name, "help") != 0)
			one = &subcommands[i];
	if (one) {
		fprintf(f, "usage: amesh [-s SOCKET | -c CONFIG] [--json] %s%s%s\n\n  %-9s   %s\n", one->name,
		        one->args[0] ? " " : "", one->args, "", one->help);
	} else {
		fprintf(f, "usage: amesh [-s SOCKET | -c CONFIG] [--json] COMMAND [ARGS]\n\ncommands:\n");
		for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
			fprintf(f, "  %-9s %s\n  %-9s   %s\n", subcommands[i].name, subcommands[i].args, "",
			        subcommands[i].help);
	}
	fprintf(f, "\noptions:\n"
	           "  -s SOCKET   control socket of the peer (also AMESH_SOCKET; default %s)\n"
	           "  -c CONFIG   take the socket from this peer's config file\n"
	           "  --json      machine-readable output (one JSON object per line)\n"
	           "\nexit status: 0 success (query: something matched), 1 query matched nothing,\n"
	           "2 usage or runtime error (one line on stderr says what and why)\n",
	        DEFAULT_SOCKET);
	return 0;
}

/* Removes n words at argv[j] (argv stays NULL-terminated). */
static int drop_words(int argc, char **argv, int j, int n)
{
	memmove(&argv[j], &argv[j + n], (size_t)(argc - j - n + 1) * sizeof *argv);
	return argc - n;
}

/*
 * The global options may also follow the subcommand (`amesh keys list -c
 * CONF', `amesh status --json'), as people and scripts write them (issue 8,
 * item 9). They are taken out before the subcommand parses its own. The
 * word after an option of a subcommand that takes a value is that value,
 * never a global option (`--note -c' is a note), and `--' ends options.
 * Returns the new argc.
 */
/* -s or -c as the last word: its value is missing. It said "unknown
 * option `-s'" before the command and "unexpected argument `-s'" after. */
static int global_value_missing(const char *opt)
{
	fprintf(stderr, "amesh: %s needs a value: %s (see `amesh --help')\n", opt,
	        opt[1] == 's' ? "the control socket, as in -s /run/amesh/amesh.sock"
	                      : "the peer's config file, as in -c /srv/amesh/amesh.conf");
	return EXIT_ERR;
}

static int global_options_after(int argc, char **argv, int cmd)
{
	/* every option of every subcommand (here and in keycmd.c) that takes
	 * its value as the next word */
	static const char *const with_value[] = {
		"--category", "--confidence", "--expires", "--ttl", "--tlp", "--hop-limit",
		"--origin", "--limit", "--min-confidence", "--since", "--format", "--name",
		"--listen", "-o", "--output", "--comment", "--as", "--note", "--reason", "--evidence",
		"--on-behalf-of",
		"--passphrase-fd",
	};

	for (int j = cmd + 1; j < argc;) {
		if (strcmp(argv[j], "--") == 0)
			break;
		if (strcmp(argv[j], "--json") == 0) {
			opt_json = true;
			argc = drop_words(argc, argv, j, 1);
			continue;
		}
		if ((strcmp(argv[j], "-s") == 0 || strcmp(argv[j], "-c") == 0) && j + 1 == argc)
			exit(global_value_missing(argv[j]));
		if ((strcmp(argv[j], "-s") == 0 || strcmp(argv[j], "-c") == 0) && j + 1 < argc) {
			if (argv[j][1] == 's')
				opt_socket = argv[j + 1];
			else
				opt_config = argv[j + 1];
			argc = drop_words(argc, argv, j, 2);
			continue;
		}
		for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
			if (strcmp(argv[j], with_value[k]) == 0) {
				j++; /* its value */
				break;
			}
		j++;
	}
	return argc;
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			opt_socket = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			opt_config = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			opt_json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(stdout), 0;
		else if (strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "-c") == 0)
			return global_value_missing(argv[i]);
		else {
			fprintf(stderr, "amesh: unknown option `%s'\n", argv[i]);
			usage(stderr);
			return EXIT_ERR;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_ERR;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "amesh: libsodium failed to initialise\n");
		return EXIT_ERR;
	}
	trace_stamp("cli_main", argv[i]); /* the subcommand's name, nothing more */
	argc = global_options_after(argc, argv, i);
	for (size_t k = 0; k < sizeof subcommands / sizeof *subcommands; k++) {
		if (strcmp(argv[i], subcommands[k].name) == 0) {
			cliopt_command = subcommands[k].name;
			optind = 1;
			return subcommands[k].fn(argc - i, argv + i);
		}
	}
	fprintf(stderr, "amesh: unknown command `%s'\n", argv[i]);
	usage(stderr);
	return EXIT_ERR;
}

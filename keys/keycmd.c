/* keycmd.c - `amesh keys`: key files and the trust store, dispatched from a table. */
#include "keycmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../peer/client.h"
#include "../peer/config.h"
#include "../peer/jsonout.h"
#include "../peer/timefmt.h"
#include "keyfile.h"
#include "statement.h"
#include "trust.h"

#define EXIT_USAGE 2

struct subcommand;
/* config is the -c CONFIG given to amesh, or NULL; only the trust store
 * commands need it (to find which peer's store to change). */
typedef int (*subcommand_fn)(const struct subcommand *cmd, int argc, char **argv, bool json,
                             const char *config);

struct subcommand {
	const char *name;
	subcommand_fn fn;
	const char *args;
	const char *help;
};

/* Options every subcommand may accept; `allowed' in parse_args says which. */
enum {
	OPT_OUTPUT = 1 << 0,
	OPT_COMMENT = 1 << 1,
	OPT_PASSPHRASE = 1 << 2,
	OPT_NAME = 1 << 3,
	OPT_AS = 1 << 4,
	OPT_NOTE = 1 << 5,
	OPT_FORCE = 1 << 6,
	OPT_REASON = 1 << 7,
	OPT_SELF = 1 << 8,
};

struct args {
	const char *output;
	const char *comment;
	const char *name;  /* --name */
	const char *as;    /* --as ROLE */
	const char *note;  /* --note */
	const char *reason; /* --reason */
	const char *file;  /* the one positional argument, if any */
	bool force;        /* --force */
	bool self;         /* --self */
	bool ask;          /* --passphrase: prompt on the terminal */
	int pass_fd;       /* --passphrase-fd N, or -1 */
	bool help;
};

static int generate_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int public_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int fingerprint_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int trust_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int list_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int show_entry_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int distrust_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int revoke_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int pending_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int approve_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int rotate_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);
static int publish_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config);

static const struct subcommand subcommands[] = {
	{"generate", generate_main, "-o FILE [--comment TEXT] [--passphrase | --passphrase-fd N]",
	 "create a key pair: FILE (secret, mode 0600) and FILE.pub"},
	{"public", public_main, "FILE [--passphrase | --passphrase-fd N]",
	 "print the public-key line of a secret key or .pub file"},
	{"fingerprint", fingerprint_main, "FILE [--passphrase | --passphrase-fd N]",
	 "print the short fingerprint to compare by voice"},
	{"trust", trust_main, "PUBKEY --name NAME [--as neighbour|origin] [--note TEXT] [--force]",
	 "trust a public-key line or .pub file as NAME (--force: a revoked key)"},
	{"list", list_main, "", "list the trust store: name, role, key id, fingerprint, status"},
	{"show", show_entry_main, "NAME", "show one trust store entry in full"},
	{"distrust", distrust_main, "NAME", "remove NAME from the trust store"},
	{"revoke", revoke_main, "NAME --reason TEXT | --self --reason TEXT [--passphrase | --passphrase-fd N]",
	 "mark NAME's key revoked (it stays listed so it cannot be trusted again by accident);\n"
	 "                 --self: revoke this peer's own key and publish the signed statement"},
	{"pending", pending_main, "", "list key rotations offered by trusted parties and not yet approved"},
	{"approve", approve_main, "NAME", "approve NAME's pending rotation: its new key becomes current"},
	{"rotate", rotate_main, "[--passphrase | --passphrase-fd N]",
	 "replace this peer's key with a new one and publish a rotation signed by both"},
	{"publish", publish_main, "FILE", "send a saved revocation or rotation statement to the running ameshd"},
};

#define NSUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *f)
{
	fprintf(f, "Usage: amesh keys <command> [arguments]\n\nCommands:\n");
	for (size_t i = 0; i < NSUBCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n  %-12s   %s\n", subcommands[i].name, subcommands[i].args, "",
		        subcommands[i].help);
	fprintf(f, "\nThe passphrase is read from the terminal (--passphrase) or the first line\n"
	           "of file descriptor N (--passphrase-fd N), never from the command line.\n"
	           "trust, list, show, distrust, revoke, pending and approve work on the trust\n"
	           "store of the peer named by `amesh -c CONFIG keys ...'; a running ameshd applies\n"
	           "each change at once. rotate, revoke --self and publish work on that peer's key.\n"
	           "Run `amesh keys <command> --help' for one command.\n");
}

static void cmd_usage(const struct subcommand *cmd, FILE *f)
{
	/* The help's continuation lines are indented for the long usage. */
	fprintf(f, "Usage: amesh keys %s %s\n  ", cmd->name, cmd->args);
	for (const char *h = cmd->help; *h; h++) {
		fputc(*h, f);
		if (*h == '\n') {
			fputs("  ", f);
			while (h[1] == ' ')
				h++;
		}
	}
	fputc('\n', f);
}

static int fail(const struct subcommand *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr naming the command, then the status every error gets. */
static int fail(const struct subcommand *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "amesh keys %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static int usage_fail(const struct subcommand *cmd, const char *what, const char *arg)
{
	fail(cmd, "%s `%s'", what, arg);
	cmd_usage(cmd, stderr);
	return EXIT_USAGE;
}

/* Matches "--name" (value in the next argument) or "--name=value". */
static bool match_value(const char *arg, const char *name, const char **inline_value)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return false;
	if (arg[n] == '\0') {
		*inline_value = NULL;
		return true;
	}
	if (name[1] == '-' && arg[n] == '=') {
		*inline_value = arg + n + 1;
		return true;
	}
	return false;
}

/* Hand-rolled rather than getopt: getopt keeps global state (optind) that a
 * second call in the same process, such as a test, would have to reset. */
static int parse_args(const struct subcommand *cmd, int argc, char **argv, unsigned allowed, struct args *a)
{
	bool options_done = false;

	memset(a, 0, sizeof *a);
	a->pass_fd = -1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *v = NULL, **slot = NULL;

		if (options_done || arg[0] != '-' || arg[1] == '\0') {
			if (a->file != NULL)
				return usage_fail(cmd, "unexpected argument", arg);
			a->file = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			a->help = true;
			return 0;
		}
		if ((allowed & OPT_OUTPUT) && (match_value(arg, "-o", &v) || match_value(arg, "--output", &v)))
			slot = &a->output;
		else if ((allowed & OPT_COMMENT) && match_value(arg, "--comment", &v))
			slot = &a->comment;
		else if ((allowed & OPT_NAME) && match_value(arg, "--name", &v))
			slot = &a->name;
		else if ((allowed & OPT_AS) && match_value(arg, "--as", &v))
			slot = &a->as;
		else if ((allowed & OPT_NOTE) && match_value(arg, "--note", &v))
			slot = &a->note;
		else if ((allowed & OPT_REASON) && match_value(arg, "--reason", &v))
			slot = &a->reason;
		else if ((allowed & OPT_FORCE) && strcmp(arg, "--force") == 0) {
			a->force = true;
			continue;
		} else if ((allowed & OPT_SELF) && strcmp(arg, "--self") == 0) {
			a->self = true;
			continue;
		} else if ((allowed & OPT_PASSPHRASE) && match_value(arg, "--passphrase-fd", &v)) {
			char *end;
			long fd;
			if (v == NULL && (v = argv[++i]) == NULL)
				return usage_fail(cmd, "missing value after", arg);
			errno = 0;
			fd = strtol(v, &end, 10);
			if (errno != 0 || end == v || *end != '\0' || fd < 0 || fd > INT_MAX)
				return usage_fail(cmd, "--passphrase-fd needs a file descriptor number, got", v);
			a->pass_fd = (int)fd;
			continue;
		} else if ((allowed & OPT_PASSPHRASE) && strcmp(arg, "--passphrase") == 0) {
			a->ask = true;
			continue;
		} else {
			return usage_fail(cmd, "unknown option", arg);
		}
		if (v == NULL && (v = argv[++i]) == NULL)
			return usage_fail(cmd, "missing value after", arg);
		*slot = v;
	}
	if (a->ask && a->pass_fd >= 0) {
		fail(cmd, "give either --passphrase or --passphrase-fd, not both");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* Prints what every subcommand reports about a key: as text the public
 * line (or only the fingerprint), as JSON the whole object. */
static int print_key(const struct subcommand *cmd, const uint8_t pk[AM_KEY_BYTES], const char *comment,
                     const char *file, const char *pubfile, bool fingerprint_only, bool json)
{
	char line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1];
	int rv;

	if ((rv = keyfile_public_line(pk, comment, line, sizeof line)) != 0)
		return fail(cmd, "cannot format the public key: %s", am_strerror(rv));
	keyfile_fingerprint(pk, fp, sizeof fp);
	am_keyid_hex(pk, id);
	if (json) {
		if ((rv = jsonout_print(stdout, jsonout_key(pk, comment, file, pubfile))) != 0)
			return fail(cmd, "cannot write JSON output: %s", am_strerror(rv));
	} else {
		printf("%s\n", fingerprint_only ? fp : line);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(cmd, "cannot write to standard output: %s", strerror(errno));
	return 0;
}

static int generate_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char err[AM_ERRLEN], pubpath[PATH_MAX], *pass = NULL;
	uint8_t pk[AM_KEY_BYTES];
	struct args a;
	int rv;

	(void)config;
	if ((rv = parse_args(cmd, argc, argv, OPT_OUTPUT | OPT_COMMENT | OPT_PASSPHRASE, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file != NULL)
		return usage_fail(cmd, "unexpected argument (the key file goes after -o):", a.file);
	if (a.output == NULL) {
		fail(cmd, "missing -o FILE (where to write the secret key)");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (a.ask || a.pass_fd >= 0) {
		pass = keyfile_read_passphrase(a.ask ? -1 : a.pass_fd, "Passphrase for the new key: ", a.ask, err,
		                               sizeof err);
		if (pass == NULL)
			return fail(cmd, "%s", err);
	}
	rv = keyfile_generate(a.output, a.comment, pass, pk, err, sizeof err);
	keyfile_passphrase_free(pass);
	if (rv != 0)
		return fail(cmd, "%s", err);
	snprintf(pubpath, sizeof pubpath, "%s.pub", a.output);
	if ((rv = print_key(cmd, pk, a.comment ? a.comment : "", a.output, pubpath, false, json)) != 0)
		return rv;
	if (!json)
		printf("secret key written to %s (mode 0600)\npublic key written to %s\n", a.output, pubpath);
	return fflush(stdout) == 0 ? 0 : fail(cmd, "cannot write to standard output: %s", strerror(errno));
}

/* What the first bytes say a file is; the parsers then check the rest. */
enum kind { KIND_PUBLIC, KIND_SECRET, KIND_OTHER };

static int sniff(const char *path, enum kind *kind, char *err, size_t errlen)
{
	char head[32];
	ssize_t n;
	int fd;

	/* Read-only peek at the header; the real load re-opens with its checks. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return AM_EIO;
	}
	do
		n = read(fd, head, sizeof head);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
		close(fd);
		return AM_EIO;
	}
	close(fd);
	if ((size_t)n >= strlen("amesh-ed25519 ") && memcmp(head, "amesh-ed25519 ", strlen("amesh-ed25519 ")) == 0)
		*kind = KIND_PUBLIC;
	else if ((size_t)n >= strlen("amesh-secret-key") && memcmp(head, "amesh-secret-key", strlen("amesh-secret-key")) == 0)
		*kind = KIND_SECRET;
	else
		*kind = KIND_OTHER;
	return 0;
}

/* Finds the public key for FILE: itself if it is a .pub, else FILE.pub
 * when present (no passphrase needed), else the secret key decrypted.
 * *source is set to the file actually read. */
static int resolve_public(const struct subcommand *cmd, const struct args *a, uint8_t pk[AM_KEY_BYTES],
                          char comment[KEYFILE_COMMENT_MAX], char source[PATH_MAX])
{
	struct keyfile_secret *ks = NULL;
	char err[AM_ERRLEN], *pass = NULL;
	struct stat st;
	enum kind kind;
	int rv;

	if (sniff(a->file, &kind, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	if (kind == KIND_OTHER)
		return fail(cmd, "%s: neither a public key (`amesh-ed25519 ...') nor a secret key "
		                 "(`amesh-secret-key v1 ...')", a->file);
	if (kind == KIND_PUBLIC) {
		snprintf(source, PATH_MAX, "%s", a->file);
		if (keyfile_load_public(a->file, pk, comment, KEYFILE_COMMENT_MAX, err, sizeof err) != 0)
			return fail(cmd, "%s", err);
		return 0;
	}
	if (snprintf(source, PATH_MAX, "%s.pub", a->file) >= PATH_MAX)
		return fail(cmd, "%s: path too long", a->file);
	if (stat(source, &st) == 0) {
		if (keyfile_load_public(source, pk, comment, KEYFILE_COMMENT_MAX, err, sizeof err) != 0)
			return fail(cmd, "%s", err);
		return 0;
	}
	snprintf(source, PATH_MAX, "%s", a->file);
	if (keyfile_is_encrypted(a->file)) {
		if (!a->ask && a->pass_fd < 0)
			return fail(cmd, "%s is passphrase-protected and %s.pub is missing; give --passphrase or "
			                 "--passphrase-fd N", a->file, a->file);
		if ((pass = keyfile_read_passphrase(a->ask ? -1 : a->pass_fd, "Passphrase: ", false, err,
		                                    sizeof err)) == NULL)
			return fail(cmd, "%s", err);
	}
	rv = keyfile_load_secret(a->file, pass, &ks, err, sizeof err);
	keyfile_passphrase_free(pass);
	if (rv != 0)
		return fail(cmd, "%s", err);
	memcpy(pk, ks->pk, AM_KEY_BYTES);
	memcpy(comment, ks->comment, KEYFILE_COMMENT_MAX);
	keyfile_secret_free(ks);
	return 0;
}

static int show_main(const struct subcommand *cmd, int argc, char **argv, bool json, bool fingerprint_only)
{
	char comment[KEYFILE_COMMENT_MAX], source[PATH_MAX];
	uint8_t pk[AM_KEY_BYTES];
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, OPT_PASSPHRASE, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file == NULL) {
		fail(cmd, "missing FILE");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if ((rv = resolve_public(cmd, &a, pk, comment, source)) != 0)
		return rv;
	return print_key(cmd, pk, comment, source, NULL, fingerprint_only, json);
}

static int public_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	(void)config;
	return show_main(cmd, argc, argv, json, false);
}

static int fingerprint_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	(void)config;
	return show_main(cmd, argc, argv, json, true);
}

/* ---- the trust store: trust, list, show, distrust, revoke ---- */

/* What the commands need from the peer's config (amesh -c). */
struct peer {
	char trust[PATH_MAX];   /* the trust store */
	char key[PATH_MAX];     /* this peer's secret key */
	char control[PATH_MAX]; /* ameshd's control socket */
};

/* Fills p from the config given with -c. */
static int load_peer(const struct subcommand *cmd, const char *config, struct peer *p)
{
	char why[AM_ERRLEN] = "";
	struct config cfg;
	int n1, n2, n3;

	if (config == NULL)
		return fail(cmd, "which peer? give -c CONFIG");
	if (config_load(&cfg, config, config_diag_first, why) != 0) {
		config_free(&cfg);
		return fail(cmd, "cannot use config %s", why[0] ? why : config);
	}
	/* A config parser without these options leaves them empty; their
	 * defaults sit beside the config. */
	n1 = cfg.trust_file[0] ? snprintf(p->trust, PATH_MAX, "%s", cfg.trust_file)
	                       : snprintf(p->trust, PATH_MAX, "%s/trust.conf", cfg.dir);
	n2 = cfg.key_file[0] ? snprintf(p->key, PATH_MAX, "%s", cfg.key_file)
	                     : snprintf(p->key, PATH_MAX, "%s/amesh.key", cfg.dir);
	n3 = cfg.control[0] ? snprintf(p->control, PATH_MAX, "%s", cfg.control)
	                    : snprintf(p->control, PATH_MAX, "%s/run/amesh.sock", cfg.dir);
	config_free(&cfg);
	if (n1 < 0 || n1 >= PATH_MAX || n2 < 0 || n2 >= PATH_MAX || n3 < 0 || n3 >= PATH_MAX)
		return fail(cmd, "a path in or beside %s is too long", config);
	return 0;
}

static int load_store(const struct subcommand *cmd, const char *config, struct peer *p, struct trust *t)
{
	char err[AM_ERRLEN];
	int rv;

	if ((rv = load_peer(cmd, config, p)) != 0)
		return rv;
	if (trust_load(t, p->trust, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	return 0;
}

/* One read-modify-write of the store: locked from before the load to
 * after the save, so neither another `amesh keys' nor the daemon (which
 * takes the same lock to apply statements) can slip a change in between
 * and have it lost. before is the store as loaded, for the one-line
 * description the daemon logs. */
struct change {
	struct peer p;
	int lock;
	struct trust before, t;
};

/* Finds, locks and loads the store; change_end undoes it, whatever this
 * returns. */
static int change_begin(const struct subcommand *cmd, const char *config, struct change *c)
{
	char err[AM_ERRLEN];
	int rv;

	memset(c, 0, sizeof *c);
	c->lock = -1;
	if ((rv = load_peer(cmd, config, &c->p)) != 0)
		return rv;
	if (trust_lock(c->p.trust, &c->lock, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	if (trust_load(&c->t, c->p.trust, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	if (trust_copy(&c->before, &c->t) != 0)
		return fail(cmd, "%s", am_strerror(AM_ENOMEM));
	return 0;
}

/* Saves the changed store and lets the lock go: a daemon asked to reload
 * next may take the lock itself, and must not wait for us. */
static int change_save(const struct subcommand *cmd, struct change *c)
{
	char err[AM_ERRLEN];

	if (trust_save(&c->t, c->p.trust, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	trust_unlock(c->lock);
	c->lock = -1;
	return 0;
}

static void change_end(struct change *c)
{
	trust_unlock(c->lock);
	c->lock = -1;
	trust_free(&c->t);
	trust_free(&c->before);
}

/* An object that could not be built or written (print_json) is reported
 * by the flush every command ends with: never a silently short answer. */
static int json_failed;

/* One JSON object on its own line (jsonout_print), failure remembered. */
static void print_json(json_t *o)
{
	int rv = jsonout_print(stdout, o);
	if (rv != 0 && json_failed == 0)
		json_failed = rv;
}

static int flush_stdout(const struct subcommand *cmd)
{
	if (json_failed != 0)
		return fail(cmd, "cannot write JSON output: %s", am_strerror(json_failed));
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(cmd, "cannot write to standard output: %s", strerror(errno));
	return 0;
}

/* After a saved change: a running ameshd re-reads the store now, so the
 * change takes effect without a restart, with the same command line as
 * when it is down. No daemon listening (AM_ECONNECT) is not an error: the
 * file was the whole job and the daemon reads it when it starts. */
static int notify_daemon(const struct subcommand *cmd, const struct change *c, bool json)
{
	char what[WIRE_NAME_MAX + 1], err[AM_ERRLEN];
	int rv;

	/* Cut to fit is fine: it is a log line. */
	(void)trust_describe_changes(&c->before, &c->t, what, sizeof what);
	rv = client_reload_trust(c->p.control, what, err, sizeof err);
	if (rv == AM_ECONNECT)
		return 0;
	if (rv != 0)
		return fail(cmd, "the change is saved in %s, but the running ameshd did not apply it: %s", c->p.trust,
		            err);
	if (!json)
		printf("ameshd applied the change\n");
	return flush_stdout(cmd);
}

/* The positional NAME of show, distrust and revoke, or the usage error. */
static int need_name(const struct subcommand *cmd, const struct args *a)
{
	if (a->file != NULL)
		return 0;
	fail(cmd, "missing NAME (see `amesh -c CONFIG keys list')");
	cmd_usage(cmd, stderr);
	return EXIT_USAGE;
}

/* One entry as a JSON object on one line; action NULL for list and show. */
static void entry_json(const struct trust_entry *e, const char *action)
{
	print_json(jsonout_trust_entry(e, action));
}

/* The "what changed" line every trust store command ends with. */
static void entry_changed(const struct trust_entry *e, const char *action, const char *detail, bool json)
{
	char fp[20], id[2 * AM_KEYID_BYTES + 1];

	if (json) {
		entry_json(e, action);
		return;
	}
	keyfile_fingerprint(e->pk, fp, sizeof fp);
	am_keyid_hex(e->pk, id);
	printf("%s %s (%s) key %s fingerprint %s%s\n", action, e->name, trust_role_name(e->role), id, fp,
	       detail ? detail : "");
}

/* PUBKEY: a public-key line given whole, or a .pub file to read it from. */
static int read_pubkey(const struct subcommand *cmd, const char *arg, uint8_t pk[AM_KEY_BYTES],
                       char comment[KEYFILE_COMMENT_MAX])
{
	char err[AM_ERRLEN];
	const char *p = arg + strspn(arg, " \t");

	/* A line pasted with a blank before it is still a line, not a path. */
	if (strncmp(p, "amesh-ed25519 ", strlen("amesh-ed25519 ")) == 0) {
		if (keyfile_parse_public(arg, pk, comment, KEYFILE_COMMENT_MAX, err, sizeof err) != 0)
			return fail(cmd, "%s", err);
	} else if (keyfile_load_public(arg, pk, comment, KEYFILE_COMMENT_MAX, err, sizeof err) != 0) {
		return fail(cmd, "%s", err);
	}
	return 0;
}

static int trust_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char comment[KEYFILE_COMMENT_MAX], err[AM_ERRLEN], detail[TRUST_NAME_MAX + 32] = "";
	enum trust_role role = TRUST_NEIGHBOUR;
	const struct trust_entry *old;
	uint8_t pk[AM_KEY_BYTES];
	struct change c;
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, OPT_NAME | OPT_AS | OPT_NOTE | OPT_FORCE, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file == NULL || a.name == NULL) {
		fail(cmd, a.file == NULL ? "missing PUBKEY (a public-key line in one argument, or a .pub file)"
		                         : "missing --name NAME (what policies will call this party)");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (a.as != NULL && trust_role_parse(a.as, &role) != 0)
		return usage_fail(cmd, "--as takes neighbour or origin, not", a.as);
	if ((rv = read_pubkey(cmd, a.file, pk, comment)) != 0)
		return rv;
	if ((rv = change_begin(cmd, config, &c)) != 0)
		goto done;
	/* This peer's own key pasted where the neighbour's belongs: trusted,
	 * it was a "neighbour" no link could ever reach, and the neighbour's
	 * real key was still missing. Its public half sits beside the secret. */
	char own_pub[PATH_MAX + 8];
	uint8_t own[AM_KEY_BYTES];
	if ((size_t)snprintf(own_pub, sizeof own_pub, "%s.pub", c.p.key) < sizeof own_pub &&
	    keyfile_load_public(own_pub, own, NULL, 0, err, sizeof err) == 0 && sodium_memcmp(own, pk, AM_KEY_BYTES) == 0) {
		char id[2 * AM_KEYID_BYTES + 1];
		am_keyid_hex(pk, id);
		rv = fail(cmd, "`%s' is this peer's own key (key id %s, %s): a neighbour's or origin's key is the "
		          "one its operator sends you", a.file, id, own_pub);
		goto done;
	}
	/* Said before trust_add replaces it: which revoked entry --force undid. */
	if ((old = trust_by_any_key(&c.t, pk)) != NULL && old->revoked != 0 && a.force)
		snprintf(detail, sizeof detail, " (replaces revoked entry %s)", old->name);
	if (trust_add(&c.t, a.name, pk, comment, role, a.note, timefmt_now(), a.force, err, sizeof err) != 0) {
		rv = fail(cmd, "%s", err);
		goto done;
	}
	if ((rv = change_save(cmd, &c)) != 0)
		goto done;
	entry_changed(trust_by_name(&c.t, a.name), "trusted", detail, json);
	if ((rv = flush_stdout(cmd)) == 0)
		rv = notify_daemon(cmd, &c, json);
done:
	change_end(&c);
	return rv;
}

static int list_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char fp[20], id[2 * AM_KEYID_BYTES + 1];
	struct trust t = {0};
	struct peer p;
	struct args a;
	int rv, width = 4;

	if ((rv = parse_args(cmd, argc, argv, 0, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file != NULL)
		return usage_fail(cmd, "unexpected argument", a.file);
	if ((rv = load_store(cmd, config, &p, &t)) != 0)
		return rv;
	for (size_t i = 0; i < t.n; i++)
		if ((int)strlen(t.entries[i].name) > width)
			width = (int)strlen(t.entries[i].name);
	for (size_t i = 0; i < t.n; i++) {
		const struct trust_entry *e = &t.entries[i];
		if (json) {
			entry_json(e, NULL);
			continue;
		}
		keyfile_fingerprint(e->pk, fp, sizeof fp);
		am_keyid_hex(e->pk, id);
		printf("%-*s  %-9s  %s  %s  %s%s\n", width, e->name, trust_role_name(e->role), id, fp,
		       e->revoked ? "revoked" : "trusted", !e->revoked && e->has_pending ? ", rotation pending" : "");
	}
	rv = flush_stdout(cmd);
	trust_free(&t);
	return rv;
}

static int show_entry_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1], when[TIMEFMT_LEN];
	const struct trust_entry *e;
	struct trust t = {0};
	struct peer p;
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, 0, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if ((rv = need_name(cmd, &a)) != 0)
		return rv;
	if ((rv = load_store(cmd, config, &p, &t)) != 0)
		return rv;
	if ((e = trust_by_name(&t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, p.trust);
		goto done;
	}
	if (json) {
		entry_json(e, NULL);
	} else {
		if (keyfile_public_line(e->pk, e->comment, line, sizeof line) != 0)
			line[0] = '\0';
		keyfile_fingerprint(e->pk, fp, sizeof fp);
		am_keyid_hex(e->pk, id);
		printf("name         %s\nrole         %s\nkey          %s\nkey id       %s\nfingerprint  %s\n",
		       e->name, trust_role_name(e->role), line, id, fp);
		if (e->has_pending) {
			if (keyfile_public_line(e->pending_pk, e->pending_comment, line, sizeof line) != 0)
				line[0] = '\0';
			timefmt_rfc3339(e->pending_since, when);
			printf("pending      %s (offered %s; `amesh keys approve %s' makes it current)\n", line, when,
			       e->name);
		}
		for (size_t k = 0; k < e->n_retired; k++) {
			am_keyid_hex(e->retired[k].pk, id);
			timefmt_rfc3339(e->retired[k].retired, when);
			printf("retired      %s until %s\n", id, when);
		}
		printf("note         %s\n", e->note[0] ? e->note : "(none)");
		timefmt_rfc3339(e->added, when);
		printf("added        %s\n", e->added ? when : "(unknown)");
		if (e->revoked != 0) {
			timefmt_rfc3339(e->revoked, when);
			printf("status       revoked %s\nreason       %s\n", when,
			       e->revoke_reason[0] ? e->revoke_reason : "(none given)");
		} else {
			printf("status       trusted\n");
		}
	}
	rv = flush_stdout(cmd);
done:
	trust_free(&t);
	return rv;
}

/* After distrust or revoke of NAME: when the config still has
 * [neighbour NAME], say what that means for the next start, on stderr (the
 * change itself succeeded). A distrusted neighbour made the next start
 * fail with "not in the trust store", weeks later at a reboot, with
 * nothing at the time of the change saying so. */
static void note_configured_neighbour(const char *config, const char *name, bool removed)
{
	struct config cfg;

	if (config_load(&cfg, config, NULL, NULL) != 0) {
		config_free(&cfg);
		return;
	}
	for (size_t i = 0; i < cfg.n_neighbours; i++) {
		if (strcmp(cfg.neighbours[i].name, name) != 0)
			continue;
		if (removed)
			fprintf(stderr, "amesh keys: warning: %s:%u still has [neighbour %s]: ameshd has dropped the link, "
			        "but will refuse to start while that section names a neighbour missing from the trust "
			        "store - remove the section before the next restart, or trust its key again (amesh -c %s "
			        "keys trust PUBKEY --name %s)\n", cfg.path, cfg.neighbours[i].line, name, cfg.path, name);
		else
			fprintf(stderr, "amesh keys: note: %s:%u still has [neighbour %s]: its link stays down while the "
			        "key is revoked; remove the section, or trust its new key under another name\n",
			        cfg.path, cfg.neighbours[i].line, name);
		break;
	}
	config_free(&cfg);
}

static int distrust_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	const struct trust_entry *e;
	struct trust_entry gone;
	struct change c;
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, 0, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if ((rv = need_name(cmd, &a)) != 0)
		return rv;
	if ((rv = change_begin(cmd, config, &c)) != 0)
		goto done;
	if ((e = trust_by_name(&c.t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, c.p.trust);
		goto done;
	}
	gone = *e; /* a copy: trust_remove moves the entries */
	if ((rv = trust_remove(&c.t, a.file)) != 0) {
		rv = fail(cmd, "%s", am_strerror(rv));
		goto done;
	}
	if ((rv = change_save(cmd, &c)) != 0)
		goto done;
	/* A revoked entry was what stopped its key being trusted again
	 * without --force; say that it is gone. */
	entry_changed(&gone, "distrusted", gone.revoked ? " (was revoked; the key can now be trusted again)" : "",
	              json);
	if ((rv = flush_stdout(cmd)) == 0)
		rv = notify_daemon(cmd, &c, json);
	note_configured_neighbour(config, gone.name, true);
done:
	change_end(&c);
	return rv;
}

/* Reads this peer's secret key, asking for the passphrase only when the
 * file is encrypted. *pass (may be NULL) receives the passphrase, or NULL
 * for an unencrypted key; the caller frees it with keyfile_passphrase_free. */
static int load_own_key(const struct subcommand *cmd, const struct args *a, const char *path,
                        struct keyfile_secret **ks, char **pass)
{
	char err[AM_ERRLEN], *p = NULL;
	int rv;

	*ks = NULL;
	if (pass != NULL)
		*pass = NULL;
	if (keyfile_is_encrypted(path)) {
		if (!a->ask && a->pass_fd < 0)
			return fail(cmd, "%s is passphrase-protected; give --passphrase or --passphrase-fd N", path);
		if ((p = keyfile_read_passphrase(a->ask ? -1 : a->pass_fd, "Passphrase: ", false, err, sizeof err)) ==
		    NULL)
			return fail(cmd, "%s", err);
	}
	if ((rv = keyfile_load_secret(path, p, ks, err, sizeof err)) != 0) {
		keyfile_passphrase_free(p);
		return fail(cmd, "%s", err);
	}
	if (pass != NULL)
		*pass = p;
	else
		keyfile_passphrase_free(p);
	return 0;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* snprintf into an error buffer, where cutting a long path is fine. */
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates path exclusively (never through a planted file or link) with
 * data in it, mode, synced; removes it again on any failure. */
static int write_new(const char *path, const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0) {
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return errno == EEXIST ? AM_EEXIST : AM_EIO;
	}
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return AM_EIO;
	}
	if (close(fd) != 0) {
		seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return AM_EIO;
	}
	return 0;
}

/* Writes path.tmp (a stale one removed first) for a later rename. */
static int write_tmp(const char *path, char tmp[PATH_MAX], const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen)
{
	if (snprintf(tmp, PATH_MAX, "%s.tmp", path) >= PATH_MAX) {
		seterr(err, errlen, "%s: path too long", path);
		return AM_EINVAL;
	}
	if (unlink(tmp) != 0 && errno != ENOENT) {
		seterr(err, errlen, "cannot remove the stale %s: %s", tmp, strerror(errno));
		return AM_EIO;
	}
	return write_new(tmp, data, len, mode, err, errlen);
}

/* Makes renames in path's directory durable; errors are ignored by the
 * callers that only lose durability, never consistency. */
static int sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rv;

	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return AM_EIO;
	rv = fsync(fd) == 0 ? 0 : AM_EIO;
	close(fd);
	return rv;
}

/* Replaces path atomically with data (via path.tmp). */
static int replace_file(const char *path, const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int rv;

	if ((rv = write_tmp(path, tmp, data, len, mode, err, errlen)) != 0)
		return rv;
	if (rename(tmp, path) != 0) {
		seterr(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return AM_EIO;
	}
	(void)sync_dir_of(path);
	return 0;
}

/* revoke --self: this peer says its own key is compromised, in a
 * statement signed by that key, which the daemon spreads through the
 * mesh. Without a daemon it is kept in KEY.revocation for `publish'. */
static int revoke_self(const struct subcommand *cmd, const struct args *a, bool json, const char *config)
{
	char err[AM_ERRLEN], path[PATH_MAX], kid[2 * AM_KEYID_BYTES + 1], sid[2 * AM_ID_BYTES + 1];
	uint8_t env[STATEMENT_MAX], id[AM_ID_BYTES], pk[AM_KEY_BYTES];
	struct keyfile_secret *ks = NULL;
	struct peer p;
	size_t len = 0;
	int rv, pub;

	if (strlen(a->reason) > STATEMENT_REASON_MAX)
		return fail(cmd, "--reason is longer than %d bytes", STATEMENT_REASON_MAX);
	if ((rv = load_peer(cmd, config, &p)) != 0)
		return rv;
	if (snprintf(path, sizeof path, "%s.revocation", p.key) >= (int)sizeof path)
		return fail(cmd, "%s: path too long", p.key);
	if ((rv = load_own_key(cmd, a, p.key, &ks, NULL)) != 0)
		return rv;
	memcpy(pk, ks->pk, sizeof pk);
	rv = statement_revoke(ks->sk, a->reason, timefmt_now(), env, sizeof env, &len, id);
	keyfile_secret_free(ks);
	if (rv != 0)
		return fail(cmd, "cannot make the revocation: %s", am_strerror(rv));
	am_keyid_hex(pk, kid);
	am_hex(id, sizeof id, sid);
	pub = client_publish(p.control, env, len, err, sizeof err);
	if (pub != 0) {
		/* Kept whatever went wrong: a revocation must not be lost. */
		char werr[AM_ERRLEN];
		if (replace_file(path, env, len, 0644, werr, sizeof werr) != 0)
			return fail(cmd, "cannot publish the revocation (%s) nor save it: %s", err, werr);
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "action", "revoked", "key_id", kid, "statement_id", sid,
		                      "published", pub == 0);
		if (o && pub != 0 && json_object_set_new(o, "statement_file", jsonout_string(path)) != 0) {
			json_decref(o);
			o = NULL;
		}
		print_json(o);
	} else if (pub == 0) {
		printf("revoked this peer's key %s: statement %s published\n", kid, sid);
	} else if (pub == AM_ECONNECT) {
		printf("revoked this peer's key %s: statement %s\n"
		       "daemon not running: statement saved to %s; it will be published when you run "
		       "`amesh -c %s keys publish %s`\n", kid, sid, path, config, path);
	}
	if ((rv = flush_stdout(cmd)) != 0)
		return rv;
	if (pub != 0 && pub != AM_ECONNECT)
		return fail(cmd, "ameshd did not publish the revocation: %s; the statement is saved in %s", err, path);
	return 0;
}

static int revoke_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char why[AM_ERRLEN], when[TIMEFMT_LEN], detail[TRUST_NOTE_MAX + 8];
	const struct trust_entry *e;
	struct change c;
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, OPT_REASON | OPT_SELF | OPT_PASSPHRASE, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.self && a.file != NULL)
		return usage_fail(cmd, "--self revokes this peer's own key; no NAME goes with it, got", a.file);
	if (!a.self && (a.ask || a.pass_fd >= 0)) {
		fail(cmd, "a passphrase is only needed with --self (revoking this peer's own key)");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (!a.self && (rv = need_name(cmd, &a)) != 0)
		return rv;
	/* Mandatory: whoever later finds the entry needs to know why. */
	if (a.reason == NULL || a.reason[0] == '\0') {
		fail(cmd, "missing --reason TEXT (why the key is revoked, e.g. \"key leaked\")");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (trust_check_text(a.reason, TRUST_NOTE_MAX, why, sizeof why) != 0)
		return fail(cmd, "--reason %s", why);
	if (a.self)
		return revoke_self(cmd, &a, json, config);
	if ((rv = change_begin(cmd, config, &c)) != 0)
		goto done;
	if ((e = trust_by_name(&c.t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, c.p.trust);
		goto done;
	}
	if (e->revoked != 0) {
		timefmt_rfc3339(e->revoked, when);
		rv = fail(cmd, "%s is already revoked, since %s (%s)", e->name, when,
		          e->revoke_reason[0] ? e->revoke_reason : "no reason given");
		goto done;
	}
	if ((rv = trust_revoke(&c.t, a.file, a.reason, timefmt_now())) != 0) {
		rv = fail(cmd, "%s", am_strerror(rv));
		goto done;
	}
	if ((rv = change_save(cmd, &c)) != 0)
		goto done;
	snprintf(detail, sizeof detail, ": %s", a.reason);
	entry_changed(trust_by_name(&c.t, a.file), "revoked", detail, json);
	if ((rv = flush_stdout(cmd)) == 0)
		rv = notify_daemon(cmd, &c, json);
	note_configured_neighbour(config, a.file, false);
done:
	change_end(&c);
	return rv;
}

/* ---- rotations: pending, approve, rotate, publish ---- */

static int pending_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char id[2 * AM_KEYID_BYTES + 1], pid[2 * AM_KEYID_BYTES + 1], fp[20], when[TIMEFMT_LEN];
	struct trust t = {0};
	struct peer p;
	struct args a;
	int rv, width = 4;

	if ((rv = parse_args(cmd, argc, argv, 0, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file != NULL)
		return usage_fail(cmd, "unexpected argument", a.file);
	if ((rv = load_store(cmd, config, &p, &t)) != 0)
		return rv;
	for (size_t i = 0; i < t.n; i++)
		if (t.entries[i].has_pending && (int)strlen(t.entries[i].name) > width)
			width = (int)strlen(t.entries[i].name);
	for (size_t i = 0; i < t.n; i++) {
		const struct trust_entry *e = &t.entries[i];
		/* A revoked entry's offer is moot: approve refuses it. */
		if (!e->has_pending || e->revoked != 0)
			continue;
		am_keyid_hex(e->pk, id);
		am_keyid_hex(e->pending_pk, pid);
		keyfile_fingerprint(e->pending_pk, fp, sizeof fp);
		timefmt_rfc3339(e->pending_since, when);
		if (!json) {
			printf("%-*s  %s -> %s  %s  since %s\n", width, e->name, id, pid, fp, when);
			continue;
		}
		print_json(jsonout_trust_pending(e));
	}
	rv = flush_stdout(cmd);
	trust_free(&t);
	return rv;
}

static int approve_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char detail[64], old[2 * AM_KEYID_BYTES + 1];
	const struct trust_entry *e;
	struct change c;
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, 0, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if ((rv = need_name(cmd, &a)) != 0)
		return rv;
	if ((rv = change_begin(cmd, config, &c)) != 0)
		goto done;
	if ((e = trust_by_name(&c.t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, c.p.trust);
		goto done;
	}
	if (!e->has_pending) {
		rv = fail(cmd, "%s has no pending rotation (see `amesh -c CONFIG keys pending')", e->name);
		goto done;
	}
	if (e->revoked != 0) {
		rv = fail(cmd, "%s is revoked; its pending rotation cannot be approved", e->name);
		goto done;
	}
	am_keyid_hex(e->pk, old);
	if ((rv = trust_approve(&c.t, a.file, timefmt_now())) != 0) {
		rv = fail(cmd, "%s", am_strerror(rv));
		goto done;
	}
	if ((rv = change_save(cmd, &c)) != 0)
		goto done;
	snprintf(detail, sizeof detail, " (key %s retired)", old);
	entry_changed(trust_by_name(&c.t, a.file), "approved", detail, json);
	if ((rv = flush_stdout(cmd)) == 0)
		rv = notify_daemon(cmd, &c, json);
done:
	change_end(&c);
	return rv;
}

/* KEY.chain: the id of this identity's last rotation statement, as 64
 * hex digits and a newline, so the next rotation can name it. Absent
 * before the first rotation (*found false); anything else is refused. */
static int read_chain(const struct subcommand *cmd, const char *path, uint8_t previous[32], bool *found)
{
	char buf[2 * 32 + 3];
	size_t binlen;
	ssize_t n;
	int fd;

	*found = false;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return 0;
		return fail(cmd, "cannot read %s: %s", path, strerror(errno));
	}
	do
		n = read(fd, buf, sizeof buf);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return fail(cmd, "cannot read %s: %s", path, strerror(errno));
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n != 64 || sodium_hex2bin(previous, 32, buf, 64, NULL, &binlen, NULL) != 0 || binlen != 32)
		return fail(cmd, "%s: expected the 64 hex digits of the last rotation statement's id; "
		                 "restore it, or remove it if this key never rotated", path);
	*found = true;
	return 0;
}

/* The new key's comment: the old one with "-rotated-DATE" (replacing an
 * earlier such suffix, so comments do not grow with every rotation). */
static void rotated_comment(const char *old, uint64_t now, char out[KEYFILE_COMMENT_MAX])
{
	static const char mark[] = "rotated-";
	char date[16];
	const char *suffix = NULL;
	size_t base;
	struct tm tm;
	time_t tt = (time_t)now;

	if (gmtime_r(&tt, &tm) == NULL || strftime(date, sizeof date, "%Y-%m-%d", &tm) == 0)
		snprintf(date, sizeof date, "%llu", (unsigned long long)now);
	for (const char *p = strstr(old, mark); p != NULL; p = strstr(p + 1, mark))
		if ((p == old || p[-1] == '-') && strlen(p + strlen(mark)) == 10)
			suffix = p;
	base = suffix ? (size_t)(suffix - old) : strlen(old);
	if (base > 0 && old[base - 1] == '-')
		base--;
	/* Room for the suffix; never cut inside a UTF-8 sequence. */
	if (base > KEYFILE_COMMENT_MAX - 1 - (1 + strlen(mark) + strlen(date)))
		for (base = KEYFILE_COMMENT_MAX - 1 - (1 + strlen(mark) + strlen(date));
		     base > 0 && ((unsigned char)old[base] & 0xc0) == 0x80; base--)
			;
	if (base == 0)
		snprintf(out, KEYFILE_COMMENT_MAX, "%s%s", mark, date);
	else
		snprintf(out, KEYFILE_COMMENT_MAX, "%.*s-%s%s", (int)base, old, mark, date);
}

/* The files of one rotation, all beside KEY. */
struct rotation_files {
	char key[PATH_MAX], pub[PATH_MAX];          /* KEY, KEY.pub */
	char fresh[PATH_MAX], fresh_pub[PATH_MAX];  /* KEY.new, KEY.new.pub */
	char old[PATH_MAX], old_pub[PATH_MAX];      /* KEY.retired-T, KEY.retired-T.pub */
	char statement[PATH_MAX], statement_tmp[PATH_MAX]; /* KEY.rotation */
	char chain[PATH_MAX], chain_tmp[PATH_MAX];  /* KEY.chain */
};

static int rotation_paths(const char *key, uint64_t now, struct rotation_files *f)
{
	int bad = 0;

	memset(f, 0, sizeof *f);
	bad |= snprintf(f->key, PATH_MAX, "%s", key) >= PATH_MAX;
	bad |= snprintf(f->pub, PATH_MAX, "%s.pub", key) >= PATH_MAX;
	bad |= snprintf(f->fresh, PATH_MAX, "%s.new", key) >= PATH_MAX;
	bad |= snprintf(f->fresh_pub, PATH_MAX, "%s.new.pub", key) >= PATH_MAX;
	bad |= snprintf(f->old, PATH_MAX, "%s.retired-%llu", key, (unsigned long long)now) >= PATH_MAX;
	bad |= snprintf(f->old_pub, PATH_MAX, "%s.retired-%llu.pub", key, (unsigned long long)now) >= PATH_MAX;
	bad |= snprintf(f->statement, PATH_MAX, "%s.rotation", key) >= PATH_MAX - 4;
	bad |= snprintf(f->chain, PATH_MAX, "%s.chain", key) >= PATH_MAX - 4;
	return bad ? AM_EINVAL : 0;
}

/*
 * rotate: a new identity that the old one vouches for. The order makes
 * every failure leave a usable state - the old key in KEY until the
 * final renames:
 *   1. KEY.new and KEY.new.pub are generated (same passphrase, if any);
 *   2. the rotation statement (signed by both keys) and the new chain id
 *      are written and synced as KEY.rotation.tmp and KEY.chain.tmp;
 *   3. the old key gets a second name, KEY.retired-T (and .pub): a hard
 *      link, so KEY itself never stops existing;
 *   4. KEY.new.pub, then KEY.new, are renamed over KEY.pub and KEY - the
 *      commit; a failure of the second rename puts the old .pub back;
 *   5. KEY.rotation.tmp and KEY.chain.tmp are renamed into place.
 * A failure in 1-4 removes what this run made and leaves the old key in
 * use; after 4 the rotation stands and a failed step 5 says which .tmp
 * file holds the statement. Only a crash (not an error) between the two
 * renames of 4 leaves KEY.pub newer than KEY, with KEY.new beside it; the
 * next rotate refuses both (KEY.pub must match KEY, KEY.new must not
 * exist) and says how to sort it out. Runs under the trust store lock, so
 * two rotations of one peer cannot interleave.
 */
static int rotate_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char err[AM_ERRLEN], comment[KEYFILE_COMMENT_MAX], line[KEYFILE_LINE_MAX + 1], hex[2 * AM_ID_BYTES + 2];
	char old_id[2 * AM_KEYID_BYTES + 1], new_id[2 * AM_KEYID_BYTES + 1], fp[20], pub_err[AM_ERRLEN];
	uint8_t env[STATEMENT_MAX], id[AM_ID_BYTES], previous[32], new_pk[AM_KEY_BYTES];
	struct keyfile_secret *old = NULL, *fresh = NULL;
	struct rotation_files f;
	char *pass = NULL;
	uint64_t now = timefmt_now();
	bool has_previous, made = false, linked = false, linked_pub = false, have_pub, committed = false;
	struct peer p;
	struct args a;
	struct stat st;
	size_t len = 0;
	int rv, lock = -1, pub;

	if ((rv = parse_args(cmd, argc, argv, OPT_PASSPHRASE, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file != NULL)
		return usage_fail(cmd, "unexpected argument", a.file);
	if ((rv = load_peer(cmd, config, &p)) != 0)
		return rv;
	if (rotation_paths(p.key, now, &f) != 0)
		return fail(cmd, "%s: path too long", p.key);
	if (trust_lock(p.trust, &lock, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	if ((rv = load_own_key(cmd, &a, f.key, &old, &pass)) != 0)
		goto done;
	if ((rv = read_chain(cmd, f.chain, previous, &has_previous)) != 0)
		goto done;
	have_pub = lstat(f.pub, &st) == 0;
	if (have_pub && (keyfile_load_public(f.pub, new_pk, NULL, 0, err, sizeof err) != 0 ||
	                 memcmp(new_pk, old->pk, AM_KEY_BYTES) != 0)) {
		rv = fail(cmd, "%s does not hold the public key of %s (an interrupted rotation?); the secret key is "
		               "what counts: remove %s, recreate it with `amesh keys public %s > %s', and run rotate "
		               "again", f.pub, f.key, f.pub, f.key, f.pub);
		goto done;
	}

	/* 1 */
	rotated_comment(old->comment, now, comment);
	if ((rv = keyfile_generate(f.fresh, comment, pass, new_pk, err, sizeof err)) != 0) {
		rv = rv == AM_EEXIST
		         ? fail(cmd, "%s exists: an earlier rotation stopped half-way. %s is still the key in use; "
		                     "remove %s and %s.pub, then run rotate again", f.fresh, f.key, f.fresh, f.fresh)
		         : fail(cmd, "%s", err);
		goto done;
	}
	made = true;
	if (keyfile_load_secret(f.fresh, pass, &fresh, err, sizeof err) != 0) {
		rv = fail(cmd, "%s", err);
		goto undo;
	}
	/* 2 */
	if ((rv = statement_rotate(old->sk, fresh->sk, has_previous ? previous : NULL, now, now, env, sizeof env,
	                           &len, id)) != 0) {
		rv = fail(cmd, "cannot make the rotation statement: %s", am_strerror(rv));
		goto undo;
	}
	am_hex(id, sizeof id, hex);
	hex[2 * AM_ID_BYTES] = '\n';
	hex[2 * AM_ID_BYTES + 1] = '\0';
	if (write_tmp(f.statement, f.statement_tmp, env, len, 0644, err, sizeof err) != 0 ||
	    write_tmp(f.chain, f.chain_tmp, hex, strlen(hex), 0644, err, sizeof err) != 0) {
		rv = fail(cmd, "%s", err);
		goto undo;
	}
	/* 3 */
	if (link(f.key, f.old) != 0) {
		rv = fail(cmd, "cannot keep the old key as %s: %s", f.old, strerror(errno));
		goto undo;
	}
	linked = true;
	if (have_pub && link(f.pub, f.old_pub) != 0) {
		rv = fail(cmd, "cannot keep the old public key as %s: %s", f.old_pub, strerror(errno));
		goto undo;
	}
	linked_pub = have_pub;
	/* 4 */
	if (rename(f.fresh_pub, f.pub) != 0) {
		rv = fail(cmd, "cannot rename %s to %s: %s", f.fresh_pub, f.pub, strerror(errno));
		goto undo;
	}
	if (rename(f.fresh, f.key) != 0) {
		rv = fail(cmd, "cannot rename %s to %s: %s", f.fresh, f.key, strerror(errno));
		/* The new .pub went in already: the old one comes back. */
		if (have_pub ? rename(f.old_pub, f.pub) != 0 : unlink(f.pub) != 0)
			fprintf(stderr, "amesh keys rotate: and cannot restore %s (the old one is %s): %s\n", f.pub,
			        f.old_pub, strerror(errno));
		else
			linked_pub = false;
		goto undo;
	}
	committed = true;
	(void)sync_dir_of(f.key);
	/* 5 */
	if (rename(f.statement_tmp, f.statement) != 0) {
		rv = fail(cmd, "the key is rotated, but cannot rename %s to %s: %s; rename it by hand and publish it "
		               "with `amesh -c %s keys publish %s'", f.statement_tmp, f.statement, strerror(errno), config,
		          f.statement);
		goto done;
	}
	f.statement_tmp[0] = '\0';
	if (rename(f.chain_tmp, f.chain) != 0) {
		rv = fail(cmd, "the key is rotated, but cannot rename %s to %s: %s; rename it by hand before the next "
		               "rotation", f.chain_tmp, f.chain, strerror(errno));
		goto done;
	}
	f.chain_tmp[0] = '\0';
	(void)sync_dir_of(f.key);
	trust_unlock(lock);
	lock = -1;

	pub = client_publish(p.control, env, len, pub_err, sizeof pub_err);
	am_keyid_hex(old->pk, old_id);
	am_keyid_hex(new_pk, new_id);
	keyfile_fingerprint(new_pk, fp, sizeof fp);
	if (keyfile_public_line(new_pk, comment, line, sizeof line) != 0)
		line[0] = '\0';
	hex[2 * AM_ID_BYTES] = '\0';
	if (json) {
		print_json(json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:s, s:b}", "action",
		                                      "rotated", "key_id", new_id, "fingerprint", fp, "public_key",
		                                      jsonout_string(line), "previous_key_id", old_id, "key_file",
		                                      jsonout_string(f.key), "retired_file", jsonout_string(f.old),
		                                      "statement_file", jsonout_string(f.statement), "statement_id",
		                                      hex, "published", pub == 0));
	} else {
		printf("%s\n", line);
		printf("rotated this peer's key %s -> %s; the old key is kept as %s\n", old_id, new_id, f.old);
		printf("rotation statement %s saved to %s\n", hex, f.statement);
		if (pub == 0)
			printf("published the rotation through ameshd\n");
		else if (pub == AM_ECONNECT)
			printf("daemon not running: publish the rotation when it is, with "
			       "`amesh -c %s keys publish %s`\n", config, f.statement);
		printf("restart ameshd to sign with the new key; neighbours that trust the old key accept the new one "
		       "automatically or after `amesh keys approve` (their setting)\n");
	}
	if ((rv = flush_stdout(cmd)) == 0 && pub != 0 && pub != AM_ECONNECT)
		rv = fail(cmd, "the key is rotated, but ameshd did not publish the statement: %s; retry with "
		               "`amesh -c %s keys publish %s'", pub_err, config, f.statement);
	goto done;
undo:
	/* Not committed: KEY is still the old key; what this run made goes. */
	if (!committed) {
		if (linked_pub)
			unlink(f.old_pub);
		if (linked)
			unlink(f.old);
		if (made) {
			unlink(f.fresh);
			unlink(f.fresh_pub);
		}
		if (f.statement_tmp[0] != '\0')
			unlink(f.statement_tmp);
		if (f.chain_tmp[0] != '\0')
			unlink(f.chain_tmp);
	}
done:
	trust_unlock(lock);
	keyfile_secret_free(old);
	keyfile_secret_free(fresh);
	keyfile_passphrase_free(pass);
	return rv;
}

/* publish FILE: hands a saved statement (KEY.revocation, KEY.rotation)
 * to the running ameshd, which checks and spreads it. Checked here first,
 * so a wrong file is named before it reaches the daemon. */
static int publish_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char err[AM_ERRLEN], kid[2 * AM_KEYID_BYTES + 1], nid[2 * AM_KEYID_BYTES + 1], sid[2 * AM_ID_BYTES + 1];
	uint8_t env[STATEMENT_MAX + 1], id[AM_ID_BYTES];
	struct statement st;
	struct peer p;
	struct args a;
	size_t len = 0;
	ssize_t n = 0;
	int rv, fd, read_errno = 0;

	if ((rv = parse_args(cmd, argc, argv, 0, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if (a.file == NULL) {
		fail(cmd, "missing FILE (a statement saved by `keys rotate' or `keys revoke --self')");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if ((rv = load_peer(cmd, config, &p)) != 0)
		return rv;
	if ((fd = open(a.file, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return fail(cmd, "cannot read %s: %s", a.file, strerror(errno));
	/* One byte over the cap tells "too big" from "exactly the cap". */
	while (len < sizeof env) {
		n = read(fd, env + len, sizeof env - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			read_errno = errno;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (read_errno != 0)
		return fail(cmd, "cannot read %s: %s", a.file, strerror(read_errno));
	if (len > STATEMENT_MAX)
		return fail(cmd, "%s: larger than %d bytes, not a statement", a.file, STATEMENT_MAX);
	if ((rv = statement_open(env, len, &st, id)) != 0)
		return fail(cmd, "%s: not a valid key statement: %s", a.file, am_strerror(rv));
	am_keyid_hex(st.key, kid);
	am_keyid_hex(st.new_key, nid);
	am_hex(id, sizeof id, sid);
	if ((rv = client_publish(p.control, env, len, err, sizeof err)) != 0)
		return fail(cmd, "%s", err);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "action", "published", "kind", statement_kind_name(st.kind),
		                      "key_id", kid);
		if (o && st.kind == STATEMENT_ROTATE && json_object_set_new(o, "new_key_id", json_string(nid)) != 0) {
			json_decref(o);
			o = NULL;
		}
		if (o && json_object_set_new(o, "statement_id", json_string(sid)) != 0) {
			json_decref(o);
			o = NULL;
		}
		print_json(o);
	} else if (st.kind == STATEMENT_ROTATE) {
		printf("published the rotation of key %s to key %s (statement %s)\n", kid, nid, sid);
	} else {
		printf("published the revocation of key %s (statement %s)\n", kid, sid);
	}
	return flush_stdout(cmd);
}

int keycmd_main(int argc, char **argv, bool json, const char *config)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NSUBCOMMANDS; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(&subcommands[i], argc - 1, argv + 1, json, config);
	fprintf(stderr, "amesh keys: unknown command `%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

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
#include <unistd.h>

#include "../peer/config.h"
#include "../peer/timefmt.h"
#include "keyfile.h"
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
	{"revoke", revoke_main, "NAME --reason TEXT",
	 "mark NAME's key revoked; it stays listed so it cannot be trusted again by accident"},
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
	           "trust, list, show, distrust and revoke work on the trust store of the peer\n"
	           "named by `amesh -c CONFIG keys ...'.\n"
	           "Run `amesh keys <command> --help' for one command.\n");
}

static void cmd_usage(const struct subcommand *cmd, FILE *f)
{
	fprintf(f, "Usage: amesh keys %s %s\n  %s\n", cmd->name, cmd->args, cmd->help);
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

/* JSON string with the escapes RFC 8259 requires; other bytes pass as-is. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
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
		printf("{\"key_id\":");
		json_string(stdout, id);
		printf(",\"public_key\":");
		json_string(stdout, line);
		printf(",\"fingerprint\":");
		json_string(stdout, fp);
		printf(",\"comment\":");
		json_string(stdout, comment);
		printf(",\"file\":");
		json_string(stdout, file);
		if (pubfile) {
			printf(",\"public_file\":");
			json_string(stdout, pubfile);
		}
		printf("}\n");
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

/* Keeps the first problem config_load reports, for a one-line error. */
static void first_diag(void *arg, const char *path, unsigned line, const char *msg)
{
	char *first = arg;

	if (first[0] != '\0')
		return;
	if (line != 0)
		snprintf(first, AM_ERRLEN, "%s:%u: %s", path, line, msg);
	else
		snprintf(first, AM_ERRLEN, "%s: %s", path, msg);
}

/* Finds the trust store of the peer whose config is given with -c. */
static int store_path(const struct subcommand *cmd, const char *config, char path[PATH_MAX])
{
	char why[AM_ERRLEN] = "";
	struct config cfg;
	int n;

	if (config == NULL)
		return fail(cmd, "which peer? give -c CONFIG");
	if (config_load(&cfg, config, first_diag, why) != 0) {
		config_free(&cfg);
		return fail(cmd, "cannot use config %s", why[0] ? why : config);
	}
	/* A config parser without the `trust' option leaves trust_file empty;
	 * its default is trust.conf beside the config. */
	if (cfg.trust_file[0] != '\0')
		n = snprintf(path, PATH_MAX, "%s", cfg.trust_file);
	else
		n = snprintf(path, PATH_MAX, "%s/trust.conf", cfg.dir);
	config_free(&cfg);
	if (n < 0 || n >= PATH_MAX)
		return fail(cmd, "the trust store path beside %s is too long", config);
	return 0;
}

static int load_store(const struct subcommand *cmd, const char *config, char path[PATH_MAX], struct trust *t)
{
	char err[AM_ERRLEN];
	int rv;

	if ((rv = store_path(cmd, config, path)) != 0)
		return rv;
	if (trust_load(t, path, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	return 0;
}

static int save_store(const struct subcommand *cmd, const char *path, const struct trust *t)
{
	char err[AM_ERRLEN];

	if (trust_save(t, path, err, sizeof err) != 0)
		return fail(cmd, "%s", err);
	return 0;
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

static int flush_stdout(const struct subcommand *cmd)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(cmd, "cannot write to standard output: %s", strerror(errno));
	return 0;
}

/* One entry as a JSON object on one line; action NULL for list and show. */
static void entry_json(const struct trust_entry *e, const char *action)
{
	char line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1], when[TIMEFMT_LEN];

	if (keyfile_public_line(e->pk, e->comment, line, sizeof line) != 0)
		line[0] = '\0';
	keyfile_fingerprint(e->pk, fp, sizeof fp);
	am_keyid_hex(e->pk, id);
	printf("{");
	if (action != NULL)
		printf("\"action\":\"%s\",", action);
	printf("\"name\":");
	json_string(stdout, e->name);
	printf(",\"role\":\"%s\",\"key_id\":\"%s\",\"fingerprint\":\"%s\",\"public_key\":",
	       trust_role_name(e->role), id, fp);
	json_string(stdout, line);
	printf(",\"comment\":");
	json_string(stdout, e->comment);
	printf(",\"note\":");
	json_string(stdout, e->note);
	if (e->added != 0) {
		timefmt_rfc3339(e->added, when);
		printf(",\"added\":\"%s\"", when);
	} else {
		printf(",\"added\":null");
	}
	printf(",\"revoked\":%s", e->revoked ? "true" : "false");
	if (e->revoked != 0) {
		timefmt_rfc3339(e->revoked, when);
		printf(",\"revoked_at\":\"%s\",\"revoke_reason\":", when);
		json_string(stdout, e->revoke_reason);
	}
	printf("}\n");
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

	if (strncmp(arg, "amesh-ed25519 ", strlen("amesh-ed25519 ")) == 0) {
		if (keyfile_parse_public(arg, pk, comment, KEYFILE_COMMENT_MAX, err, sizeof err) != 0)
			return fail(cmd, "%s", err);
	} else if (keyfile_load_public(arg, pk, comment, KEYFILE_COMMENT_MAX, err, sizeof err) != 0) {
		return fail(cmd, "%s", err);
	}
	return 0;
}

static int trust_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char path[PATH_MAX], comment[KEYFILE_COMMENT_MAX], err[AM_ERRLEN], detail[TRUST_NAME_MAX + 32] = "";
	enum trust_role role = TRUST_NEIGHBOUR;
	const struct trust_entry *old;
	struct trust t = {0};
	uint8_t pk[AM_KEY_BYTES];
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
	if ((rv = load_store(cmd, config, path, &t)) != 0)
		return rv;
	/* Said before trust_add replaces it: which revoked entry --force undid. */
	if ((old = trust_by_key(&t, pk)) != NULL && old->revoked != 0 && a.force)
		snprintf(detail, sizeof detail, " (replaces revoked entry %s)", old->name);
	if (trust_add(&t, a.name, pk, comment, role, a.note, timefmt_now(), a.force, err, sizeof err) != 0) {
		rv = fail(cmd, "%s", err);
		goto done;
	}
	if ((rv = save_store(cmd, path, &t)) != 0)
		goto done;
	entry_changed(trust_by_name(&t, a.name), "trusted", detail, json);
	rv = flush_stdout(cmd);
done:
	trust_free(&t);
	return rv;
}

static int list_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char path[PATH_MAX], fp[20], id[2 * AM_KEYID_BYTES + 1];
	struct trust t = {0};
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
	if ((rv = load_store(cmd, config, path, &t)) != 0)
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
		printf("%-*s  %-9s  %s  %s  %s\n", width, e->name, trust_role_name(e->role), id, fp,
		       e->revoked ? "revoked" : "trusted");
	}
	rv = flush_stdout(cmd);
	trust_free(&t);
	return rv;
}

static int show_entry_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char path[PATH_MAX], line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1], when[TIMEFMT_LEN];
	const struct trust_entry *e;
	struct trust t = {0};
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
	if ((rv = load_store(cmd, config, path, &t)) != 0)
		return rv;
	if ((e = trust_by_name(&t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, path);
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

static int distrust_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char path[PATH_MAX];
	const struct trust_entry *e;
	struct trust_entry gone;
	struct trust t = {0};
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
	if ((rv = load_store(cmd, config, path, &t)) != 0)
		return rv;
	if ((e = trust_by_name(&t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, path);
		goto done;
	}
	gone = *e; /* a copy: trust_remove moves the entries */
	if ((rv = trust_remove(&t, a.file)) != 0) {
		rv = fail(cmd, "%s", am_strerror(rv));
		goto done;
	}
	if ((rv = save_store(cmd, path, &t)) != 0)
		goto done;
	/* A revoked entry was what stopped its key being trusted again
	 * without --force; say that it is gone. */
	entry_changed(&gone, "distrusted", gone.revoked ? " (was revoked; the key can now be trusted again)" : "",
	              json);
	rv = flush_stdout(cmd);
done:
	trust_free(&t);
	return rv;
}

static int revoke_main(const struct subcommand *cmd, int argc, char **argv, bool json, const char *config)
{
	char path[PATH_MAX], why[AM_ERRLEN], when[TIMEFMT_LEN], detail[TRUST_NOTE_MAX + 8];
	const struct trust_entry *e;
	struct trust t = {0};
	struct args a;
	int rv;

	if ((rv = parse_args(cmd, argc, argv, OPT_REASON, &a)) != 0)
		return rv;
	if (a.help) {
		cmd_usage(cmd, stdout);
		return 0;
	}
	if ((rv = need_name(cmd, &a)) != 0)
		return rv;
	/* Mandatory: whoever later finds the entry needs to know why. */
	if (a.reason == NULL || a.reason[0] == '\0') {
		fail(cmd, "missing --reason TEXT (why the key is revoked, e.g. \"key leaked\")");
		cmd_usage(cmd, stderr);
		return EXIT_USAGE;
	}
	if (trust_check_text(a.reason, TRUST_NOTE_MAX, why, sizeof why) != 0)
		return fail(cmd, "--reason %s", why);
	if ((rv = load_store(cmd, config, path, &t)) != 0)
		return rv;
	if ((e = trust_by_name(&t, a.file)) == NULL) {
		rv = fail(cmd, "no entry named `%s' in %s", a.file, path);
		goto done;
	}
	if (e->revoked != 0) {
		timefmt_rfc3339(e->revoked, when);
		rv = fail(cmd, "%s is already revoked, since %s (%s)", e->name, when,
		          e->revoke_reason[0] ? e->revoke_reason : "no reason given");
		goto done;
	}
	if ((rv = trust_revoke(&t, a.file, a.reason, timefmt_now())) != 0) {
		rv = fail(cmd, "%s", am_strerror(rv));
		goto done;
	}
	if ((rv = save_store(cmd, path, &t)) != 0)
		goto done;
	snprintf(detail, sizeof detail, ": %s", a.reason);
	entry_changed(trust_by_name(&t, a.file), "revoked", detail, json);
	rv = flush_stdout(cmd);
done:
	trust_free(&t);
	return rv;
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

/* keycmd.c - `amesh keys generate|public|fingerprint`, dispatched from a table. */
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

#include "keyfile.h"

#define EXIT_USAGE 2

struct subcommand;
typedef int (*subcommand_fn)(const struct subcommand *cmd, int argc, char **argv, bool json);

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
};

struct args {
	const char *output;
	const char *comment;
	const char *file;  /* the one positional argument, if any */
	bool ask;          /* --passphrase: prompt on the terminal */
	int pass_fd;       /* --passphrase-fd N, or -1 */
	bool help;
};

static int generate_main(const struct subcommand *cmd, int argc, char **argv, bool json);
static int public_main(const struct subcommand *cmd, int argc, char **argv, bool json);
static int fingerprint_main(const struct subcommand *cmd, int argc, char **argv, bool json);

static const struct subcommand subcommands[] = {
	{"generate", generate_main, "-o FILE [--comment TEXT] [--passphrase | --passphrase-fd N]",
	 "create a key pair: FILE (secret, mode 0600) and FILE.pub"},
	{"public", public_main, "FILE [--passphrase | --passphrase-fd N]",
	 "print the public-key line of a secret key or .pub file"},
	{"fingerprint", fingerprint_main, "FILE [--passphrase | --passphrase-fd N]",
	 "print the short fingerprint to compare by voice"},
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
		else if ((allowed & OPT_PASSPHRASE) && match_value(arg, "--passphrase-fd", &v)) {
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

static int generate_main(const struct subcommand *cmd, int argc, char **argv, bool json)
{
	char err[AM_ERRLEN], pubpath[PATH_MAX], *pass = NULL;
	uint8_t pk[AM_KEY_BYTES];
	struct args a;
	int rv;

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

static int public_main(const struct subcommand *cmd, int argc, char **argv, bool json)
{
	return show_main(cmd, argc, argv, json, false);
}

static int fingerprint_main(const struct subcommand *cmd, int argc, char **argv, bool json)
{
	return show_main(cmd, argc, argv, json, true);
}

int keycmd_main(int argc, char **argv, bool json)
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
			return subcommands[i].fn(&subcommands[i], argc - 1, argv + 1, json);
	fprintf(stderr, "amesh keys: unknown command `%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

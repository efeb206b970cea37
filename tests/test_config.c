/* test_config.c - config_load and config_write_default against real files in a temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_rpz.h"
#include "tmpdir.h"

#define DIAGS_MAX 128

/* Every diagnostic config_load reports, in order. */
struct diags {
	unsigned n;
	struct {
		unsigned line;
		char path[PATH_MAX];
		char msg[1024];
	} d[DIAGS_MAX];
};

struct fixture {
	char dir[64];        /* as made by mkdtemp */
	char real[PATH_MAX]; /* its realpath, what cfg->dir must be */
	char path[PATH_MAX]; /* dir/amesh.conf */
	struct diags diags;
	struct config cfg;
};

static void collect(void *arg, const char *path, unsigned line, const char *msg)
{
	struct diags *d = arg;

	assert_non_null(msg);
	assert_true(strlen(msg) > 0);
	if (d->n == DIAGS_MAX)
		fail_msg("more than %d diagnostics", DIAGS_MAX);
	d->d[d->n].line = line;
	snprintf(d->d[d->n].path, sizeof d->d[d->n].path, "%s", path);
	snprintf(d->d[d->n].msg, sizeof d->d[d->n].msg, "%s", msg);
	d->n++;
}

static void dump(const struct diags *d)
{
	for (unsigned i = 0; i < d->n; i++)
		print_message("  diag %s:%u: %s\n", d->d[i].path, d->d[i].line, d->d[i].msg);
}

/* Asserts a diagnostic on `line' whose message contains every given
 * fragment (NULL-terminated list). */
static void expect_diag(const struct diags *d, unsigned line, ...)
{
	for (unsigned i = 0; i < d->n; i++) {
		va_list ap;
		const char *frag;
		int all = d->d[i].line == line;

		va_start(ap, line);
		while (all && (frag = va_arg(ap, const char *)) != NULL)
			all = strstr(d->d[i].msg, frag) != NULL;
		va_end(ap);
		if (all)
			return;
	}
	dump(d);
	fail_msg("no matching diagnostic on line %u", line);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/amesh-test-config-XXXXXX");
	if (mkdtemp(f->dir) == NULL || realpath(f->dir, f->real) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/amesh.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->cfg);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text, size_t len)
{
	/* A test input file, replaced whole each time. */
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void write_str(const char *path, const char *text)
{
	write_text(path, text, strlen(text));
}

/* Writes text to the fixture's amesh.conf and loads it (after releasing
 * what the previous load left, as every caller must). */
static int load_text(struct fixture *f, const char *text)
{
	write_str(f->path, text);
	memset(&f->diags, 0, sizeof f->diags);
	config_free(&f->cfg);
	return config_load(&f->cfg, f->path, collect, &f->diags);
}

static void assert_in_dir(const struct fixture *f, const char *got, const char *rel)
{
	char want[PATH_MAX * 2];

	snprintf(want, sizeof want, "%s/%s", f->real, rel);
	assert_string_equal(got, want);
}

static void test_minimal_file_gets_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = alpha\n"), 0);
	assert_int_equal(f->diags.n, 0);
	assert_string_equal(f->cfg.name, "alpha");
	assert_string_equal(f->cfg.dir, f->real);
	assert_in_dir(f, f->cfg.path, "amesh.conf");
	assert_in_dir(f, f->cfg.key_file, "amesh.key");
	assert_in_dir(f, f->cfg.trust_file, "trust.conf");
	assert_in_dir(f, f->cfg.data_dir, "data");
	assert_in_dir(f, f->cfg.control, "run/amesh.sock");
	assert_string_equal(f->cfg.listen, "");
	assert_int_equal(f->cfg.max_lifetime, 90ull * 86400);
	assert_int_equal(f->cfg.sweep_interval, 60);
	assert_int_equal(f->cfg.map_size, 1ull << 30);
	assert_int_equal(f->cfg.default_tlp, AM_TLP_GREEN);
}

static void test_every_option_is_parsed(void **state)
{
	struct fixture *f = *state;

	/* comments of both kinds, inline comments, indentation, ':' and a
	 * CRLF line, absolute and relative paths */
	assert_int_equal(load_text(f,
		"; a comment\n"
		"# another\n"
		"[peer]\n"
		"  name = peer-1.example_x ; inline comment\n"
		"\tkey = /etc/amesh/secret.key\n"
		"trust = ../shared/trust.conf\n"
		"data_dir = store/db\r\n"
		"control: /run/amesh/ctl.sock\n"
		"listen = tcp://[::1]:7000\n"
		"max_lifetime = 1w2d\n"
		"sweep_interval = 5m30s\n"
		"map_size = 64M\n"
		"default_tlp = amber+strict\n"), 0);
	assert_int_equal(f->diags.n, 0);
	assert_string_equal(f->cfg.name, "peer-1.example_x");
	assert_string_equal(f->cfg.key_file, "/etc/amesh/secret.key");
	assert_in_dir(f, f->cfg.trust_file, "../shared/trust.conf");
	assert_in_dir(f, f->cfg.data_dir, "store/db");
	assert_string_equal(f->cfg.control, "/run/amesh/ctl.sock");
	assert_string_equal(f->cfg.listen, "tcp://[::1]:7000");
	assert_int_equal(f->cfg.max_lifetime, 9ull * 86400);
	assert_int_equal(f->cfg.sweep_interval, 330);
	assert_int_equal(f->cfg.map_size, 64ull << 20);
	assert_int_equal(f->cfg.default_tlp, AM_TLP_AMBER_STRICT);
}

static void test_relative_file_path_resolves_absolute(void **state)
{
	struct fixture *f = *state;
	char cwd[PATH_MAX];
	int rv;

	write_str(f->path, "[peer]\nname=a\n");
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(f->dir), 0);
	rv = config_load(&f->cfg, "amesh.conf", NULL, NULL);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rv, 0);
	assert_string_equal(f->cfg.dir, f->real);
	assert_in_dir(f, f->cfg.path, "amesh.conf");
	assert_in_dir(f, f->cfg.key_file, "amesh.key");
}

/* `~' is the shell's: a config path starting with it is refused, naming
 * why, not resolved to CONFIG_DIR/~/... (found by an operator's typo) */
static void test_tilde_path_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\ndata_dir = ~/amesh/data\n"), AM_ECONFIG);
	expect_diag(&f->diags, 3, "data_dir", "only a shell expands", NULL);
	assert_int_equal(f->diags.n, 1);
}

static void test_unknown_option_names_line_and_section(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\nfoo = 1\n"), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	assert_string_equal(f->diags.d[0].path, f->path);
	expect_diag(&f->diags, 3, "unknown option `foo' in [peer]", NULL);
}

static void test_unknown_section_reported_once(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\n[peeer]\nkey = x\ndata_dir = y\n"),
	                 AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 4, "unknown section `[peeer]'", NULL);
}

static void test_option_before_any_section(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "name = a\n[peer]\nname = a\n"), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 1, "`name'", "before any [section]", NULL);
}

static void test_duplicate_option(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\n\nname = b\n"), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 4, "name", "twice", "line 2", NULL);
	assert_string_equal(f->cfg.name, "a"); /* the first one stands */
}

static void test_missing_name(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nkey = k\n"), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 0, "name", "required", NULL);
	/* an empty file is the same problem */
	assert_int_equal(load_text(f, ""), AM_ECONFIG);
	expect_diag(&f->diags, 0, "name", "required", NULL);
}

/* One bad value at line 3; the diagnostic names the option and quotes the
 * value. Invalid names must not also say "required". */
static void test_value_errors_quote_input(void **state)
{
	static const struct {
		const char *line;
		const char *frag1, *frag2;
	} t[] = {
		{ "name = bad name!", "name: `bad name!'", "letters" },
		{ "name = " "0123456789012345678901234567890123456789012345678901234567890123",
		  "name: `0123", "1 to 63" },
		{ "name =", "name: `'", "1 to 63" },
		{ "key =", "key: ", "required" },
		{ "trust =", "trust: ", "required" },
		{ "data_dir = ", "data_dir: ", "required" },
		{ "max_lifetime = 90days", "max_lifetime: cannot parse duration `90days'", "unit" },
		{ "max_lifetime = 90", "cannot parse duration `90'", "unit" },
		{ "max_lifetime = 30m", "max_lifetime: `30m' is out of range", "1h to 365d" },
		{ "max_lifetime = 366d", "max_lifetime: `366d'", "out of range" },
		{ "sweep_interval = 0s", "sweep_interval: `0s'", "1s to 1d" },
		{ "sweep_interval = 2d", "sweep_interval: `2d'", "out of range" },
		{ "map_size = 512K", "map_size: `512K'", "1M to 1T" },
		{ "map_size = 2T", "map_size: `2T'", "out of range" },
		{ "map_size = 1GB", "map_size: cannot parse size `1GB'", "suffix" },
		{ "map_size = 0", "map_size: `0'", "out of range" },
		{ "default_tlp = purple", "default_tlp: `purple'", "amber+strict" },
		{ "default_tlp = purple", "default_tlp: `purple'", "sharing level" }, /* case does not matter (TLP:GREEN is fine) */
		{ "listen = udp://0.0.0.0:7000", "listen: `udp://0.0.0.0:7000'", "tcp://HOST:PORT" },
		{ "listen = tcp://host", "listen: `tcp://host'", "tcp://HOST:PORT" },
		{ "listen = tcp://host:0", "`tcp://host:0'", "port" },
		{ "listen = tcp://host:65536", "`tcp://host:65536'", "port" },
		{ "listen = tcp://host:70x", "`tcp://host:70x'", "port" },
		{ "listen = tcp://[::1:7000", "`tcp://[::1:7000'", "tcp://HOST:PORT" },
		{ "listen = tcp://a b:7000", "`tcp://a b:7000'", "tcp://HOST:PORT" },
		/* NNG refused these at start as "Address invalid" */
		{ "listen = tcp://::1:7000", "`tcp://::1:7000': an IPv6 address goes in brackets", "tcp://[::1]:7000" },
		{ "listen = tcp://2001:db8::1:443", "`tcp://2001:db8::1:443'", "in brackets" },
		{ "name = a\x1b[2Jb", "`a\\x1b[2Jb'", "letters" }, /* no raw escapes */
	};
	struct fixture *f = *state;
	char text[512];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		/* A valid name on line 2 unless the case is about the name. */
		snprintf(text, sizeof text, "[peer]\n%s\n%s\n",
		         strncmp(t[i].line, "name", 4) == 0 ? "; no name here" : "name = ok",
		         t[i].line);
		if (load_text(f, text) != AM_ECONFIG || f->diags.n != 1) {
			dump(&f->diags);
			fail_msg("case `%s': want exactly one diagnostic", t[i].line);
		}
		expect_diag(&f->diags, 3, t[i].frag1, t[i].frag2, NULL);
	}
}

static void test_good_listen_forms(void **state)
{
	static const char *const t[] = {
		"tcp://0.0.0.0:7000", "tcp://:7000", "tcp://*:1", "tcp://peer.example:65535",
		"tcp://[::]:7000", "tcp://[2001:db8::1]:443",
	};
	struct fixture *f = *state;
	char text[256];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(text, sizeof text, "[peer]\nname = a\nlisten = %s\n", t[i]);
		if (load_text(f, text) != 0) {
			dump(&f->diags);
			fail_msg("`%s' refused", t[i]);
		}
		assert_string_equal(f->cfg.listen, t[i]);
	}
}

static void test_syntax_errors_all_reported_in_line_order(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f,
		"[peer]\n"                 /* 1 */
		"name = a\n"               /* 2 */
		"this is not an option\n"  /* 3 */
		"[broken\n"                /* 4 */
		"also bad\n"               /* 5 */
		"max_lifetime = 1x\n"      /* 6: under the broken header */
		"name = b\n"               /* 7: ... so not "set twice" */
		"[peer2\n"                 /* 8 */
		"\n"                       /* 9 */
		"last bad line"),          /* 10, no newline at the end */
		AM_ECONFIG);
	assert_int_equal(f->diags.n, 5);
	expect_diag(&f->diags, 3, "expected `option = value'", "`this is not an option'", NULL);
	expect_diag(&f->diags, 4, "section header `[broken'", "]", NULL);
	expect_diag(&f->diags, 5, "`also bad'", NULL);
	expect_diag(&f->diags, 8, "section header `[peer2'", NULL);
	expect_diag(&f->diags, 10, "`last bad line'", NULL);
	for (unsigned i = 1; i < f->diags.n; i++)
		assert_true(f->diags.d[i - 1].line < f->diags.d[i].line);
	/* the options under a bad header apply to no section: not to the one
	 * before it, nor (then) reported as that section's */
	assert_int_equal(f->cfg.max_lifetime, 90ull * 86400);
	assert_string_equal(f->cfg.name, "a");
}

/* A neighbour header missing its `]': its options must not land on the
 * neighbour before it (a policy meant for c widening b's) nor be reported
 * against b as "set twice"; the next good header reads normally again. */
static void test_unclosed_neighbour_header(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f,
		"[peer]\n"                             /* 1 */
		"name = a\n"                           /* 2 */
		"[neighbour b]\n"                      /* 3 */
		"endpoint = tcp://127.0.0.1:7401\n"    /* 4 */
		"[neighbour c\n"                       /* 5 */
		"endpoint = tcp://127.0.0.1:7402\n"    /* 6 */
		"export.categories = all\n"            /* 7 */
		"[neighbour d]\n"                      /* 8 */
		"export.categories = phishing\n"       /* 9 */
		"export.categories = malware\n"),      /* 10 */
		AM_ECONFIG);
	expect_diag(&f->diags, 5, "section header `[neighbour c'", "]", NULL);
	expect_diag(&f->diags, 10, "export.categories is set twice (first on line 9)", NULL);
	assert_int_equal(f->diags.n, 2);
}

/* warn_threshold above block_threshold parsed option by option and was
 * "valid": every score from block_threshold blocked and no verdict was
 * ever `warn' - an operator who swapped the two learns it from --check. */
static void test_warn_threshold_above_block(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f,
		"[peer]\n"                  /* 1 */
		"name = a\n"                /* 2 */
		"warn_threshold = 90\n"     /* 3 */
		"block_threshold = 50\n"),  /* 4 */
		AM_ECONFIG);
	expect_diag(&f->diags, 4, "warn_threshold 90 (line 3) is above block_threshold 50", NULL);
	assert_int_equal(f->diags.n, 1);
	/* the default block_threshold (80) counts too, at warn_threshold's line */
	assert_int_equal(load_text(f, "[peer]\nname = a\nwarn_threshold = 85\n"), AM_ECONFIG);
	expect_diag(&f->diags, 3, "warn_threshold 85 (line 3) is above block_threshold 80 (the default)", NULL);
	/* equal: no warn level, a choice */
	assert_int_equal(load_text(f, "[peer]\nname = a\nwarn_threshold = 70\nblock_threshold = 70\n"), 0);
}

static void test_indented_line_is_not_a_continuation(void **state)
{
	struct fixture *f = *state;

	/* inih would read the indented line as more of name's value */
	assert_int_equal(load_text(f, "[peer]\nname = a\n    key = k\n"), 0);
	assert_in_dir(f, f->cfg.key_file, "k");
	assert_int_equal(load_text(f, "[peer]\nname = a\n    more words\n"), AM_ECONFIG);
	expect_diag(&f->diags, 3, "expected `option = value'", NULL);
}

static void test_many_errors_are_capped(void **state)
{
	struct fixture *f = *state;
	size_t cap = 300 * 16 + 64, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "[peer]\nname = a\n");
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\n", i % 2 ? "junk" : "x = 1");
	assert_int_equal(load_text(f, text), AM_ECONFIG);
	free(text);
	/* 50 reported, then one notice; the first ones are lines 3, 4, ... */
	assert_int_equal(f->diags.n, 51);
	assert_int_equal(f->diags.d[0].line, 3);
	assert_int_equal(f->diags.d[1].line, 4);
	assert_int_equal(f->diags.d[49].line, 52);
	expect_diag(&f->diags, 0, "too many errors", NULL);
}

static void test_missing_file_is_eio(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/nope.conf", f->dir);
	memset(&f->diags, 0, sizeof f->diags);
	assert_int_equal(config_load(&f->cfg, path, collect, &f->diags), AM_EIO);
	expect_diag(&f->diags, 0, "cannot open", NULL);
	/* cfg still fully written, with defaults */
	assert_int_equal(f->cfg.map_size, 1ull << 30);
	assert_string_equal(f->cfg.name, "");

	snprintf(path, sizeof path, "%s/no-such-dir/amesh.conf", f->dir);
	assert_int_equal(config_load(&f->cfg, path, NULL, NULL), AM_EIO);
	/* a directory is not a config file */
	assert_int_equal(config_load(&f->cfg, f->dir, NULL, NULL), AM_EIO);
}

/* A file of exactly `size' bytes: a valid config padded with comments. */
static char *padded_config(size_t size)
{
	static const char head[] = "[peer]\nname = big\n";
	char *text = malloc(size + 1);

	assert_non_null(text);
	memcpy(text, head, sizeof head - 1);
	for (size_t i = sizeof head - 1; i < size; i += 100) {
		size_t n = size - i < 100 ? size - i : 100;
		memset(text + i, '#', n);
		text[i + n - 1] = '\n';
	}
	text[size] = '\0';
	return text;
}

static void test_file_size_limit(void **state)
{
	struct fixture *f = *state;
	char *text;

	text = padded_config(CONFIG_FILE_MAX);
	assert_int_equal(load_text(f, text), 0);
	assert_string_equal(f->cfg.name, "big");
	free(text);

	text = padded_config(CONFIG_FILE_MAX + 1);
	assert_int_equal(load_text(f, text), AM_ECONFIG);
	free(text);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 0, "larger than", NULL);
}

static void test_long_lines(void **state)
{
	struct fixture *f = *state;
	size_t cap = 3 * CONFIG_LINE_MAX + 200, len = 0;
	char *text = malloc(cap), want[PATH_MAX * 2];
	char *value = malloc(CONFIG_LINE_MAX);

	assert_non_null(text);
	assert_non_null(value);
	/* "data_dir = " plus 989 bytes: exactly CONFIG_LINE_MAX, accepted whole
	 * (inih's own buffer would have cut it at 199) */
	memset(value, 'd', CONFIG_LINE_MAX - 11);
	value[CONFIG_LINE_MAX - 11] = '\0';
	len += (size_t)snprintf(text + len, cap - len, "[peer]\nname = a\ndata_dir = %s\n", value);
	/* line 4: one byte too long, even as a comment */
	text[len++] = '#';
	memset(text + len, 'c', CONFIG_LINE_MAX);
	len += CONFIG_LINE_MAX;
	text[len++] = '\n';
	/* line 5: an error whose number must not have drifted */
	len += (size_t)snprintf(text + len, cap - len, "bogus = 1\n");
	write_text(f->path, text, len);
	memset(&f->diags, 0, sizeof f->diags);
	assert_int_equal(config_load(&f->cfg, f->path, collect, &f->diags), AM_ECONFIG);
	assert_int_equal(f->diags.n, 2);
	expect_diag(&f->diags, 4, "longer than 1000", NULL);
	expect_diag(&f->diags, 5, "unknown option `bogus'", NULL);
	snprintf(want, sizeof want, "%s/%s", f->real, value);
	assert_string_equal(f->cfg.data_dir, want);
	free(text);
	free(value);
}

static void test_nul_byte_is_reported(void **state)
{
	static const char text[] = "[peer]\nname = a\nkey = k\0ey\n";
	struct fixture *f = *state;

	write_text(f->path, text, sizeof text - 1);
	memset(&f->diags, 0, sizeof f->diags);
	assert_int_equal(config_load(&f->cfg, f->path, collect, &f->diags), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 3, "NUL", NULL);
}

static void test_control_path_must_fit_sun_path(void **state)
{
	struct fixture *f = *state;
	char deep[PATH_MAX], path[PATH_MAX + 16], long_name[101];

	/* a peer directory so deep that the default socket path cannot bind */
	memset(long_name, 'p', 100);
	long_name[100] = '\0';
	snprintf(deep, sizeof deep, "%s/%s", f->dir, long_name);
	assert_int_equal(mkdir(deep, 0700), 0);
	snprintf(path, sizeof path, "%s/amesh.conf", deep);

	write_str(path, "[peer]\nname = a\n");
	memset(&f->diags, 0, sizeof f->diags);
	assert_int_equal(config_load(&f->cfg, path, collect, &f->diags), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 0, "control", "107", NULL);

	/* set in the file, the error points at the line */
	write_str(path, "[peer]\nname = a\ncontrol = sock\n");
	memset(&f->diags, 0, sizeof f->diags);
	assert_int_equal(config_load(&f->cfg, path, collect, &f->diags), AM_ECONFIG);
	expect_diag(&f->diags, 3, "control", "107", NULL);

	/* an absolute short path is the way out */
	write_str(path, "[peer]\nname = a\ncontrol = /tmp/a.sock\n");
	assert_int_equal(config_load(&f->cfg, path, NULL, NULL), 0);
	assert_string_equal(f->cfg.control, "/tmp/a.sock");
}

static void test_rpz_section_parsed_with_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353, [::1]:5353\n"
	                              "[rpz abuse]\nzone = RPZ.Abuse.Example.\ncategories = phishing, malware\n"
	                              "action = cname garden.example.net\nnotify = 127.0.0.1:5300, [::1]\n"
	                              "allow_transfer = 10.0.0.0/8, ::1\n"
	                              "tsig = amesh-xfr hmac-sha256 c2VjcmV0c2VjcmV0c2VjcmV0MTIzNA==\n"),
	                 0);
	assert_int_equal(f->cfg.n_dns_listen, 2);
	assert_int_equal(f->cfg.n_rpz, 1);
	const struct config_rpz *z = &f->cfg.rpz[0];
	assert_string_equal(z->name, "abuse");
	assert_string_equal(z->zone, "rpz.abuse.example");
	assert_int_equal(z->categories, 1u << AM_CAT_PHISHING | 1u << AM_CAT_MALWARE);
	assert_int_equal(z->min_score, 50);
	assert_int_equal(z->action, CONFIG_RPZ_CNAME);
	assert_string_equal(z->cname_target, "garden.example.net");
	assert_int_equal(z->n_notify, 2);
	assert_string_equal(z->notify[1].text, "[::1]");
	assert_int_equal(z->n_allow_transfer, 2);
	assert_int_equal(z->allow_transfer[0].bits, 8);
	assert_string_equal(z->tsig_name, "amesh-xfr");
	assert_int_equal(z->tsig_len, 22);
	assert_int_equal(z->ttl, 300);
	assert_int_equal(z->refresh, 300);
	assert_int_equal(z->retry, 60);
	assert_int_equal(z->expire, 259200);
	assert_int_equal(z->minimum, 60);
	assert_false(z->allowlisted_omit);
}

/* A TSIG algorithm is a domain name (RFC 8945 s.4.1): any case, with or
 * without the final dot, names the same algorithm (RFC 4343). */
static void test_rpz_tsig_algorithm_in_any_case(void **state)
{
	struct fixture *f = *state;
	static const char *const same[] = {"hmac-sha256", "HMAC-SHA256", "Hmac-Sha256", "hmac-SHA256."};
	char text[512];

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		snprintf(text, sizeof text,
		         "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n[rpz abuse]\nzone = rpz.example\n"
		         "categories = all\ntsig = amesh-xfr %s c2VjcmV0c2VjcmV0c2VjcmV0MTIzNA==\n", same[i]);
		if (load_text(f, text) != 0)
			fail_msg("tsig algorithm `%s' refused", same[i]);
		assert_string_equal(f->cfg.rpz[0].tsig_name, "amesh-xfr");
		assert_int_equal(f->cfg.rpz[0].tsig_len, 22);
	}
	/* still only that one, and still a name */
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n[rpz abuse]\nzone = rpz.example\n"
	                              "categories = all\n"
	                              "tsig = k HMAC-SHA384 c2VjcmV0c2VjcmV0c2VjcmV0MTIzNA==\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 7, "algorithm `HMAC-SHA384': only hmac-sha256", NULL);
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n[rpz abuse]\nzone = rpz.example\n"
	                              "categories = all\n"
	                              "tsig = k hmac-sha256.. c2VjcmV0c2VjcmV0c2VjcmV0MTIzNA==\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 7, "algorithm `hmac-sha256..': only hmac-sha256", NULL);
}

/* notify_source: one bare address per family, one a secondary can have
 * as its primary (a specific dns_listen address, or any under a wildcard
 * of its family); each mistake a problem on its line, quoting it. */
static void test_rpz_notify_source(void **state)
{
	struct fixture *f = *state;
	char text[512];

	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 0.0.0.0:5353, [::1]:5354\n[rpz abuse]\n"
	                              "zone = rpz.example\ncategories = all\nnotify_source = 127.0.0.3 ::1\n"),
	                 0);
	assert_int_equal(f->cfg.rpz[0].notify_source4.sa.ss_family, AF_INET);
	assert_string_equal(f->cfg.rpz[0].notify_source4.text, "127.0.0.3");
	assert_int_equal(f->cfg.rpz[0].notify_source6.sa.ss_family, AF_INET6);
	/* unset: neither */
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 0.0.0.0:5353\n[rpz abuse]\n"
	                              "zone = rpz.example\ncategories = all\n"),
	                 0);
	assert_int_equal(f->cfg.rpz[0].notify_source4.sa.ss_family, 0);
	static const struct {
		const char *listen, *value, *want;
	} bad[] = {
		{"0.0.0.0:5353", "127.0.0.3:53", "`127.0.0.3:53' has a port"},
		{"0.0.0.0:5353", "[::1]:53", "`[::1]:53' has a port"},
		{"0.0.0.0:5353", "ns1.example", "`ns1.example' is not an IPv4 or IPv6 address"},
		{"0.0.0.0:5353", "127.0.0.3, 127.0.0.4", "one address per family"},
		{"0.0.0.0:5353", "0.0.0.0", "`0.0.0.0': a NOTIFY needs one address of this host"},
		{"0.0.0.0:5353", "224.0.0.1", "`224.0.0.1': a NOTIFY needs one address"},
		{"0.0.0.0:5353", "ff02::1", "`ff02::1': a NOTIFY needs one address"},
		{"0.0.0.0:5353", "::1", "notify_source `::1': no dns_listen address is IPv6"},
		{"127.0.0.3:5353", "127.0.0.4", "`127.0.0.4' is none of dns_listen's addresses (`127.0.0.3:5353')"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text,
		         "[peer]\nname = a\ndns_listen = %s\n[rpz abuse]\nzone = rpz.example\ncategories = all\n"
		         "notify_source = %s\n", bad[i].listen, bad[i].value);
		if (load_text(f, text) != AM_ECONFIG)
			fail_msg("notify_source = %s (dns_listen %s) taken", bad[i].value, bad[i].listen);
		expect_diag(&f->diags, 7, bad[i].want, NULL);
	}
	/* a specific dns_listen address is a source, whatever its port */
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.4:5353, 127.0.0.3:5353\n[rpz abuse]\n"
	                              "zone = rpz.example\ncategories = all\nnotify_source = 127.0.0.3\n"),
	                 0);
}

struct warnings {
	char text[4096];
	size_t len;
	unsigned n;
};

static void collect_warning(void *arg, const char *msg)
{
	struct warnings *w = arg;
	w->len += (size_t)snprintf(w->text + w->len, sizeof w->text - w->len, "%s\n", msg);
	w->n++;
}

/* What the daemon runs with but an operator must hear: NOTIFYs from a
 * wildcard dns_listen's kernel-chosen address, and a notify target the
 * zone refuses transfers (it said nothing of either) */
static void test_rpz_warnings(void **state)
{
	struct fixture *f = *state;
	struct warnings w = {0};

	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 0.0.0.0:5353, [::1]:5354\n[rpz abuse]\n"
	                              "zone = rpz.example\ncategories = all\nallow_transfer = 127.0.0.1, ::1\n"
	                              "notify = 127.0.0.1:5300, 127.0.0.1:5301, 10.1.2.3, [::1]:5300\n"),
	                 0);
	assert_int_equal(config_rpz_warnings(&f->cfg, collect_warning, &w), 2);
	assert_non_null(strstr(w.text, ":4: warning: [rpz abuse] notifies 127.0.0.1:5300, but dns_listen `0.0.0.0:5353' "
	                               "is a wildcard and notify_source is not set"));
	assert_non_null(strstr(w.text, ":4: warning: [rpz abuse] notify target `10.1.2.3' is outside its allow_transfer"));
	/* notify_source set, the target let in: none */
	memset(&w, 0, sizeof w);
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 0.0.0.0:5353\n[rpz abuse]\n"
	                              "zone = rpz.example\ncategories = all\nallow_transfer = 127.0.0.1, 10.0.0.0/8\n"
	                              "notify = 127.0.0.1:5300, 10.1.2.3\nnotify_source = 127.0.0.1\n"),
	                 0);
	assert_int_equal(config_rpz_warnings(&f->cfg, collect_warning, &w), 0);
}

static void test_rpz_errors_name_their_lines(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\n"
	                              "[rpz abuse]\nzone = a..b\naction = drop\nnotify = 1.2.3.4:70000\n"
	                              "tsig = k hmac-sha384 AAAA\nmin_score = 101\nallow_transfer = 10.0.0.0/33\n"
	                              "bogus = 1\n"
	                              "[rpz abuse]\n[rpz two]\nzone = x.example\ncategories = all\n"
	                              "[rpz three]\nzone = x.example\ncategories = none\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 4, "zone", "`a..b'", NULL);
	expect_diag(&f->diags, 5, "action", "`drop'", NULL);
	expect_diag(&f->diags, 6, "notify", "`1.2.3.4:70000'", NULL);
	expect_diag(&f->diags, 7, "only hmac-sha256", NULL);
	expect_diag(&f->diags, 8, "min_score", "`101'", NULL);
	expect_diag(&f->diags, 9, "allow_transfer", "`10.0.0.0/33'", NULL);
	expect_diag(&f->diags, 10, "unknown option `bogus' in [rpz abuse]", NULL);
	expect_diag(&f->diags, 11, "declared twice", NULL);
	expect_diag(&f->diags, 3, "[rpz abuse] categories is required", NULL);
	expect_diag(&f->diags, 15, "serves zone x.example", NULL);
	expect_diag(&f->diags, 17, "none would make an empty zone", NULL);
}

/* A category misspelt is one problem: it was followed by "none would make
 * an empty zone" on the same line, for a none the operator never wrote. */
static void test_rpz_bad_categories_is_one_problem(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n[rpz abuse]\nzone = rpz.example\n"
	                              "categories = Phish\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 6, "categories", "`Phish' is not a category", NULL);
	assert_int_equal(f->diags.n, 1);
}

/* A CNAME target must be a host a resolver can send users to: not an
 * address written as a name, not a name inside the policy zone itself. */
static void test_rpz_cname_target_must_be_a_host(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\n"
	                              "[rpz a]\nzone = rpz.a.example\ncategories = all\naction = cname 192.0.2.1\n"
	                              "[rpz b]\nzone = rpz.b.example\ncategories = all\n"
	                              "action = cname garden.RPZ.b.example.   # a comment\n"
	                              "[rpz c]\nzone = rpz.c.example\ncategories = all\naction = cname rpz.c.example\n"
	                              "[rpz d]\nzone = rpz.d.example\ncategories = all\naction = cname 10\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 6, "`192.0.2.1'", "not an address", NULL);
	expect_diag(&f->diags, 10, "`garden.rpz.b.example' is inside the zone rpz.b.example", NULL);
	expect_diag(&f->diags, 14, "inside the zone rpz.c.example", NULL);
	expect_diag(&f->diags, 18, "`10'", "not an address", NULL);

	/* RPZ's own action names, as a target, are actions to the resolver,
	 * not gardens: `cname rpz-passthru' loaded and let every listed name
	 * through */
	assert_int_equal(load_text(f, "[peer]\nname = a\n"
	                              "[rpz a]\nzone = rpz.a.example\ncategories = all\naction = cname rpz-passthru.\n"
	                              "[rpz b]\nzone = rpz.b.example\ncategories = all\naction = cname RPZ-DROP\n"
	                              "[rpz c]\nzone = rpz.c.example\ncategories = all\naction = cname rpz-tcp-only\n"
	                              "[rpz d]\nzone = rpz.d.example\ncategories = all\naction = cname garden.rpz-ip\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 6, "`rpz-passthru.'", "an RPZ action to the resolvers, not a host", "action = passthru",
	            NULL);
	expect_diag(&f->diags, 10, "`RPZ-DROP'", "not a host", NULL);
	expect_diag(&f->diags, 14, "`rpz-tcp-only'", "not a host", NULL);
	expect_diag(&f->diags, 18, "`garden.rpz-ip'", "not a host", NULL);

	/* hosts outside the zone, named any way a zone file allows, load */
	assert_int_equal(load_text(f, "[peer]\nname = a\n"
	                              "[rpz a]\nzone = rpz.a.example\ncategories = all\naction = cname garden.example.net.\n"
	                              "[rpz b]\nzone = rpz.b.example\ncategories = all\naction = cname notrpz.b.example\n"
	                              "[rpz c]\nzone = rpz.c.example\ncategories = all\naction = cname 3com.example\n"
	                              "[rpz d]\nzone = rpz.d.example\ncategories = all\naction = cname rpz-passthru.example\n"),
	                 0);
}

/* Listener addresses that would collide at bind time are --check
 * problems, with the line; distinct ones (another address, another
 * port, IPv4 beside IPv6 loopback) load. */
static void test_listen_clashes_are_problems(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\nlisten = tcp://127.0.0.1:7400\n"
	                              "metrics_listen = 7400\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 4, "metrics_listen: `7400' collides with listen `tcp://127.0.0.1:7400'",
	            "Address already in use", NULL);
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353, [::1]:5353, [0::1]:5353\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 3, "`[0::1]:5353' collides with `[::1]:5353' in the same list", NULL);
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 0.0.0.0:9464\nmetrics_listen = 127.0.0.1:9464\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 3, "dns_listen: `0.0.0.0:9464' collides with metrics_listen", NULL);
	assert_int_equal(load_text(f, "[peer]\nname = a\nlisten = tcp://127.0.0.1:7400\nmetrics_listen = 127.0.0.2:7400\n"
	                              "dns_listen = 127.0.0.1:5353, [::1]:5353, 127.0.0.1:5354\n"),
	                 0);
	/* the dual-stack DNS server: both wildcards, IPv6 with IPV6_V6ONLY -
	 * it was refused as a collision */
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 0.0.0.0:5353, [::]:5353\n"
	                              "metrics_listen = [::]:9464\n"),
	                 0);
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = [::]:5353, 127.0.0.1:5353\n"), 0);
	/* ...but the mesh listener's [::] is dual-stack (NNG sets no
	 * IPV6_V6ONLY): it takes every IPv4 address on its port too */
	assert_int_equal(load_text(f, "[peer]\nname = a\nlisten = tcp://[::]:7400\ndns_listen = 0.0.0.0:7400\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 4, "dns_listen: `0.0.0.0:7400' collides with listen `tcp://[::]:7400'", NULL);
}

/* A zone named like a public suffix would make a BIND secondary answer
 * for every name under it; a private name, even one label, is fine. */
static void test_rpz_zone_is_no_public_suffix(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\n"
	                              "[rpz a]\nzone = COM.\ncategories = all\n"
	                              "[rpz b]\nzone = co.uk   # comment\ncategories = all\n"
	                              "[rpz c]\nzone = github.io\ncategories = all\n"),
	                 AM_ECONFIG);
	expect_diag(&f->diags, 4, "zone: `COM.' is a public suffix", "every name under it", NULL);
	expect_diag(&f->diags, 7, "zone: `co.uk' is a public suffix", NULL);
	expect_diag(&f->diags, 10, "zone: `github.io' is a public suffix", NULL);
	assert_int_equal(load_text(f, "[peer]\nname = a\n"
	                              "[rpz a]\nzone = rpz\ncategories = all\n"
	                              "[rpz b]\nzone = rpz.example.net\ncategories = all\n"
	                              "[rpz c]\nzone = abuse.github.io\ncategories = all\n"),
	                 0);
}

/* A TSIG secret in a file its group can read is said (never quoted). */
static void test_rpz_tsig_secret_in_readable_file_is_warned(void **state)
{
	struct fixture *f = *state;
	char why[PATH_MAX * 2 + 256];
	static const char text[] = "[peer]\nname = a\n[rpz z]\nzone = z.example\ncategories = all\n"
	                           "tsig = k hmac-sha256 c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n";

	assert_int_equal(load_text(f, text), 0);
	assert_int_equal(chmod(f->path, 0640), 0);
	assert_int_equal(config_rpz_secret_exposed(&f->cfg, why, sizeof why), 1);
	assert_non_null(strstr(why, ":3: warning: holds the TSIG secret of [rpz z]"));
	assert_non_null(strstr(why, "its group (mode 0640)"));
	assert_non_null(strstr(why, "chmod 600"));
	assert_null(strstr(why, "c2VjcmV0"));
	assert_int_equal(chmod(f->path, 0604), 0);
	assert_int_equal(config_rpz_secret_exposed(&f->cfg, why, sizeof why), 1);
	assert_non_null(strstr(why, "readable by everyone"));
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(config_rpz_secret_exposed(&f->cfg, why, sizeof why), 0);
	/* no secret, nothing to say whatever the mode */
	assert_int_equal(load_text(f, "[peer]\nname = a\n[rpz z]\nzone = z.example\ncategories = all\n"), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(config_rpz_secret_exposed(&f->cfg, why, sizeof why), 0);
}

static void test_rpz_tsig_secret_never_quoted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:53\n[rpz z]\nzone = z.example\n"
	                              "categories = all\ntsig = k hmac-sha256 TOPSECRET!!\n"),
	                 AM_ECONFIG);
	for (unsigned i = 0; i < f->diags.n; i++)
		assert_null(strstr(f->diags.d[i].msg, "TOPSECRET"));
	expect_diag(&f->diags, 7, "not base64", NULL);
}

static void test_load_buffer_directly(void **state)
{
	static const char text[] = "[peer]\nname = a\nfoo = 1";
	struct fixture *f = *state;

	memset(&f->diags, 0, sizeof f->diags);
	/* not NUL-terminated as far as the parser may look */
	assert_int_equal(config_load_buffer(&f->cfg, "mem.conf", "/", text, sizeof text - 1,
	                                    collect, &f->diags), AM_ECONFIG);
	expect_diag(&f->diags, 3, "unknown option `foo'", NULL);
	assert_string_equal(f->diags.d[0].path, "mem.conf");
	assert_string_equal(f->cfg.path, "mem.conf");
	assert_string_equal(f->cfg.key_file, "/amesh.key");
	/* and the same bad file with no diag callback */
	assert_int_equal(config_load_buffer(&f->cfg, "mem.conf", "/", text, sizeof text - 1,
	                                    NULL, NULL), AM_ECONFIG);
}

static char *slurp(const char *path)
{
	struct stat st;
	char *text;
	/* The file config_write_default just made. */
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	fclose(fp);
	return text;
}

static void test_write_default_loads_with_name_and_listen(void **state)
{
	static const char *const keys[] = {
		"name", "key", "trust", "data_dir", "control", "listen",
		"max_lifetime", "sweep_interval", "map_size", "default_tlp",
	};
	struct fixture *f = *state;
	char err[AM_ERRLEN], *text, line[64];
	struct stat st;
	mode_t old = umask(022);

	assert_int_equal(config_write_default(f->path, "alpha", "tcp://127.0.0.1:7001",
	                                      err, sizeof err), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	memset(&f->diags, 0, sizeof f->diags);
	assert_int_equal(config_load(&f->cfg, f->path, collect, &f->diags), 0);
	assert_int_equal(f->diags.n, 0);
	assert_string_equal(f->cfg.name, "alpha");
	assert_string_equal(f->cfg.listen, "tcp://127.0.0.1:7001");
	/* every other option keeps its default */
	assert_in_dir(f, f->cfg.key_file, "amesh.key");
	assert_in_dir(f, f->cfg.control, "run/amesh.sock");
	assert_int_equal(f->cfg.max_lifetime, 90ull * 86400);
	assert_int_equal(f->cfg.sweep_interval, 60);
	assert_int_equal(f->cfg.map_size, 1ull << 30);
	assert_int_equal(f->cfg.default_tlp, AM_TLP_GREEN);

	/* every option is in the file, set or shown with its default */
	text = slurp(f->path);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(line, sizeof line, "\n%s = ", keys[i]);
		char commented[80];
		snprintf(commented, sizeof commented, "\n# %s = ", keys[i]);
		if (strstr(text, line) == NULL && strstr(text, commented) == NULL)
			fail_msg("option %s is not in the template", keys[i]);
	}
	assert_non_null(strstr(text, "\n# max_lifetime = 90d\n"));
	assert_non_null(strstr(text, "\n# map_size = 1G\n"));
	assert_non_null(strstr(text, "\nname = alpha\n"));
	free(text);
}

static void test_write_default_without_listen(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN], *text;

	assert_int_equal(config_write_default(f->path, "beta", NULL, err, sizeof err), 0);
	assert_int_equal(config_load(&f->cfg, f->path, NULL, NULL), 0);
	assert_string_equal(f->cfg.name, "beta");
	assert_string_equal(f->cfg.listen, "");
	text = slurp(f->path);
	assert_non_null(strstr(text, "\n# listen = tcp://"));
	free(text);

	/* "" is the same as NULL */
	snprintf(f->path, sizeof f->path, "%s/second.conf", f->dir);
	assert_int_equal(config_write_default(f->path, "gamma", "", err, sizeof err), 0);
	assert_int_equal(config_load(&f->cfg, f->path, NULL, NULL), 0);
	assert_string_equal(f->cfg.listen, "");
}

static void test_write_default_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN], link[PATH_MAX + 16], *text;

	write_text(f->path, "mine\n", 5);
	err[0] = '\0';
	assert_int_equal(config_write_default(f->path, "alpha", NULL, err, sizeof err), AM_EEXIST);
	assert_non_null(strstr(err, "exists"));
	text = slurp(f->path);
	assert_string_equal(text, "mine\n");
	free(text);

	/* nor through a dangling symlink planted where the file should go */
	snprintf(link, sizeof link, "%s/link.conf", f->dir);
	assert_int_equal(symlink("/tmp/amesh-test-config-should-not-exist", link), 0);
	assert_int_equal(config_write_default(link, "alpha", NULL, err, sizeof err), AM_EEXIST);
	assert_int_equal(access("/tmp/amesh-test-config-should-not-exist", F_OK), -1);
}

static void test_write_default_refuses_bad_values(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN];

	assert_int_equal(config_write_default(f->path, "bad name", NULL, err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "`bad name'"));
	assert_int_equal(config_write_default(f->path, NULL, NULL, err, sizeof err), AM_EINVAL);
	assert_int_equal(config_write_default(f->path, "a", "udp://x:1", err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "listen"));
	/* nothing was created */
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* a directory that does not exist is an I/O error */
	assert_int_equal(config_write_default("/nonexistent-amesh-dir/amesh.conf", "a", NULL, err,
	                                      sizeof err), AM_EIO);
}

/* --- [neighbour NAME] sections --- */

static const struct config_neighbour *neighbour(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_neighbours; i++)
		if (strcmp(cfg->neighbours[i].name, name) == 0)
			return &cfg->neighbours[i];
	fail_msg("no neighbour %s", name);
	return NULL;
}

/* Issue 8, item 9: the README's own examples, pasted with their `#'
 * comments, must read as they look; `#' inside a value stays. */
static void test_hash_comments_after_blanks(void **state)
{
	struct fixture *f = *state;
	const struct config_neighbour *nb;

	assert_int_equal(load_text(f,
		"[peer]   # who we are\n"
		"name = dotasia               # letters, digits, - _ .\n"
		"key = keys/a#b.key\n"
		"data_dir = data              # LMDB store\n"
		"listen = tcp://0.0.0.0:7400\t# a tab before the comment\n"
		"max_lifetime = 90d           # longest expiry accepted\n"
		"sweep_interval = 60s#not a comment: no blank before\n"
		"default_tlp = green # ; both kinds\n"
		"[neighbour apnic]                 # in dotasia's amesh.conf\n"
		"endpoint = tcp://mesh.apnic.example:7400   # we dial; omit when they dial us\n"
		"export.categories = all           # missing = share nothing (fail closed)\n"
		"export.min_confidence = 50\n"
		"export.origins = own              # own | all | NAME, NAME...\n"
		"export.domains = asia, kids       # suffixes; missing = any name\n"
		"export.max_tlp = amber            # clear|green|amber|amber+strict\n"
		"import.categories = all           # missing = accept nothing (fail closed)\n"
		"import.min_confidence = 40\n"
		"import.confidence_cap = 80        # local cap; the signed value is never changed\n"
		"import.origins = all              # all | neighbour | NAME, NAME...\n"
		"import.quota = 50000              # indicators per origin via this neighbour\n"),
		AM_ECONFIG);
	/* the one error: `60s#not...' is a value, and not a duration */
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 7, "sweep_interval", NULL);
	assert_int_equal(load_text(f,
		"[peer]   # who we are\n"
		"name = dotasia               # letters, digits, - _ .\n"
		"key = keys/a#b.key\n"
		"listen = tcp://0.0.0.0:7400\t# a tab before the comment\n"
		"max_lifetime = 90d           # longest expiry accepted\n"
		"default_tlp = amber # ; both kinds\n"
		"[neighbour apnic]                 # in dotasia's amesh.conf\n"
		"endpoint = tcp://mesh.apnic.example:7400   # we dial; omit when they dial us\n"
		"export.categories = all           # missing = share nothing (fail closed)\n"
		"export.domains = asia, kids       # suffixes; missing = any name\n"
		"export.max_tlp = amber            # clear|green|amber|amber+strict\n"
		"import.categories = all           # missing = accept nothing (fail closed)\n"
		"import.confidence_cap = 80        # local cap; the signed value is never changed\n"
		"import.quota = 50000              # indicators per origin via this neighbour\n"),
		0);
	assert_int_equal(f->diags.n, 0);
	assert_string_equal(f->cfg.name, "dotasia");
	assert_in_dir(f, f->cfg.key_file, "keys/a#b.key");
	assert_string_equal(f->cfg.listen, "tcp://0.0.0.0:7400");
	assert_int_equal(f->cfg.max_lifetime, 90ull * 86400);
	assert_int_equal(f->cfg.default_tlp, AM_TLP_AMBER);
	assert_int_equal(f->cfg.n_neighbours, 1);
	nb = neighbour(&f->cfg, "apnic");
	assert_string_equal(nb->endpoint, "tcp://mesh.apnic.example:7400");
	assert_int_equal(nb->exp.n_suffixes, 2);
	assert_string_equal(nb->exp.suffixes[1], "kids");
	assert_int_equal(nb->exp.max_tlp, AM_TLP_AMBER);
	assert_int_equal(nb->imp.confidence_cap, 80);
	assert_int_equal(nb->imp.quota, 50000);
	/* the shared helper, on its own */
	assert_int_equal(config_strip_comment("a = b # c", 9), 5);
	assert_int_equal(config_strip_comment("# all", 5), 0);
	assert_int_equal(config_strip_comment("a#b  ", 5), 3);
	assert_int_equal(config_strip_comment("x\t#", 3), 1);
}

static void test_three_neighbours(void **state)
{
	struct fixture *f = *state;
	const struct config_neighbour *nb;

	assert_int_equal(load_text(f,
		"[neighbour beta]\n"                                    /* 1 */
		"endpoint = tcp://beta.example:7001\n"                  /* 2 */
		"export.categories = phishing, malware\n"               /* 3 */
		"export.min_confidence = 60\n"                          /* 4 */
		"export.origins = all\n"                                /* 5 */
		"export.domains = .Asia, kids\n"                        /* 6 */
		"export.max_tlp = amber+strict\n"                       /* 7 */
		"import.categories = all\n"                             /* 8 */
		"import.min_confidence = 30\n"                          /* 9 */
		"import.confidence_cap = 70\n"                          /* 10 */
		"import.origins = neighbour\n"                          /* 11 */
		"import.quota = 500\n"                                  /* 12 */
		"\n"                                                    /* 13 */
		"[peer]\n"                                              /* 14 */
		"name = alpha\n"                                        /* 15 */
		"  [neighbour gamma.example_2]   ; listen-only, empty\n" /* 16 */
		"[neighbour delta]\n"                                   /* 17 */
		"import.categories = none\n"                            /* 18 */
		"import.origins = alice, bob\n"                         /* 19 */
		"export.origins: carol\n"),                             /* 20 */
		0);
	assert_int_equal(f->diags.n, 0);
	assert_string_equal(f->cfg.name, "alpha");
	assert_int_equal(f->cfg.n_neighbours, 3);
	/* file order */
	assert_string_equal(f->cfg.neighbours[0].name, "beta");
	assert_string_equal(f->cfg.neighbours[1].name, "gamma.example_2");
	assert_string_equal(f->cfg.neighbours[2].name, "delta");

	nb = neighbour(&f->cfg, "beta");
	assert_int_equal(nb->line, 1);
	assert_string_equal(nb->endpoint, "tcp://beta.example:7001");
	assert_true(nb->exp.configured);
	assert_int_equal(nb->exp.categories, (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE));
	assert_int_equal(nb->exp.min_confidence, 60);
	assert_int_equal(nb->exp.origins, POLICY_ORIGINS_ALL);
	assert_int_equal(nb->exp.n_suffixes, 2);
	assert_string_equal(nb->exp.suffixes[0], "asia");
	assert_string_equal(nb->exp.suffixes[1], "kids");
	assert_int_equal(nb->exp.max_tlp, AM_TLP_AMBER_STRICT);
	assert_true(nb->imp.configured);
	assert_int_equal(nb->imp.categories, 0x3e);
	assert_int_equal(nb->imp.min_confidence, 30);
	assert_int_equal(nb->imp.confidence_cap, 70);
	assert_int_equal(nb->imp.origins, POLICY_ORIGINS_NEIGHBOUR);
	assert_int_equal(nb->imp.quota, 500);

	/* an empty section still declares a neighbour, with every default:
	 * nothing sent, nothing accepted */
	nb = neighbour(&f->cfg, "gamma.example_2");
	assert_int_equal(nb->line, 16);
	assert_string_equal(nb->endpoint, "");
	assert_false(nb->exp.configured);
	assert_int_equal(nb->exp.min_confidence, 0);
	assert_int_equal(nb->exp.origins, POLICY_ORIGINS_OWN);
	assert_int_equal(nb->exp.n_suffixes, 0);
	assert_int_equal(nb->exp.max_tlp, AM_TLP_GREEN);
	assert_false(nb->imp.configured);
	assert_int_equal(nb->imp.min_confidence, 0);
	assert_int_equal(nb->imp.confidence_cap, 100);
	assert_int_equal(nb->imp.origins, POLICY_ORIGINS_ALL);
	assert_int_equal(nb->imp.quota, 100000);

	nb = neighbour(&f->cfg, "delta");
	assert_false(nb->exp.configured); /* origins alone do not turn it on */
	assert_int_equal(nb->exp.origins, POLICY_ORIGINS_LIST);
	assert_int_equal(nb->exp.origin_list.n, 1);
	assert_string_equal(nb->exp.origin_list.names[0], "carol");
	assert_true(nb->imp.configured); /* "none" is configured, and empty */
	assert_int_equal(nb->imp.categories, 0);
	assert_int_equal(nb->imp.origins, POLICY_ORIGINS_LIST);
	assert_int_equal(nb->imp.origin_list.n, 2);
	assert_string_equal(nb->imp.origin_list.names[1], "bob");
	assert_int_equal(nb->imp.origin_list.n_keys, 0); /* the mesh resolves */
}

/* One bad value on line 3 inside [neighbour b]: exactly one diagnostic,
 * naming the option and quoting the value. */
static void test_neighbour_value_errors_quote_input(void **state)
{
	static const struct {
		const char *line;
		const char *frag1, *frag2;
	} t[] = {
		{ "endpoint = udp://b:7000", "endpoint: `udp://b:7000'", "tcp://HOST:PORT" },
		{ "endpoint = tcp://:7000", "endpoint: `tcp://:7000'", "host to connect to" },
		{ "endpoint = tcp://*:7000", "`tcp://*:7000'", "host to connect to" },
		{ "endpoint = tcp://b:0", "`tcp://b:0'", "port 1 to 65535" },
		{ "endpoint = tcp://b", "`tcp://b'", "tcp://HOST:PORT" },
		{ "export.categories = phishing, purple", "export.categories: `purple'", "not a category" },
		{ "export.categories = ", "export.categories: `'", "expected categories" },
		{ "export.categories = all, spam", "export.categories:", "stand alone" },
		{ "export.min_confidence = 101", "export.min_confidence: `101'", "0 to 100" },
		{ "export.min_confidence = 50%", "`50%'", "0 to 100" },
		{ "export.min_confidence = -1", "`-1'", "0 to 100" },
		{ "export.min_confidence =", "`'", "0 to 100" },
		{ "export.origins = neighbour", "export.origins: `neighbour'", "import.origins" },
		{ "export.origins = own, alice", "export.origins:", "stand alone" },
		{ "export.origins = al!ce", "export.origins: `al!ce'", "not an origin name" },
		{ "export.domains = asia, a..b", "export.domains: `a..b'", "empty label" },
		{ "export.domains = *.asia", "export.domains: `*.asia'", "wildcard" },
		{ "export.max_tlp = red", "export.max_tlp: `red'", "never leaves" },
		{ "export.max_tlp = purple", "export.max_tlp: `purple'", "amber+strict" },
		{ "import.categories = phish", "import.categories: `phish'", "not a category" },
		{ "import.min_confidence = 1000", "import.min_confidence: `1000'", "0 to 100" },
		{ "import.confidence_cap = 200", "import.confidence_cap: `200'", "0 to 100" },
		{ "import.origins = own", "import.origins: `own'", "export.origins" },
		{ "import.quota = 0", "import.quota: `0'", "1 to 1000000000" },
		{ "import.quota = 1000000001", "`1000000001'", "1 to 1000000000" },
		{ "import.quota = 99999999999999999999999", "`99999999999999999999999'", "1 to" },
		{ "import.quota = 1e6", "`1e6'", "1 to 1000000000" },
		{ "import.origins = a\x1b[2Jb", "`a\\x1b[2Jb'", "not an origin name" },
		{ "export.domains = x\x1b[2J", "`x\\x1b[2J'", "character" },
		{ "bogus = 1", "unknown option `bogus' in [neighbour b]", "" },
		{ "name = b", "unknown option `name' in [neighbour b]", "" },
	};
	struct fixture *f = *state;
	char text[512];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(text, sizeof text, "[peer]\nname = a\n[neighbour b]\n%s\n", t[i].line);
		/* the bad line is line 4 of this text */
		if (load_text(f, text) != AM_ECONFIG || f->diags.n != 1) {
			dump(&f->diags);
			fail_msg("case `%s': want exactly one diagnostic", t[i].line);
		}
		expect_diag(&f->diags, 4, t[i].frag1, t[i].frag2, NULL);
		/* a refused file owns nothing */
		assert_null(f->cfg.neighbours);
		assert_int_equal(f->cfg.n_neighbours, 0);
	}
}

static void test_neighbour_good_values(void **state)
{
	static const struct {
		const char *line;
	} t[] = {
		{ "endpoint = tcp://[2001:db8::1]:7000" },
		{ "endpoint = tcp://10.0.0.1:1" },
		{ "endpoint =" },
		{ "export.max_tlp = clear" },
		{ "export.max_tlp = amber" },
		{ "export.max_tlp = amber_strict" },
		{ "import.quota = 1" },
		{ "import.quota = 1000000000" },
		{ "export.min_confidence = 100" },
		{ "import.confidence_cap = 0" },
		{ "export.domains = co.uk example.org" },
	};
	struct fixture *f = *state;
	char text[512];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(text, sizeof text, "[peer]\nname = a\n[neighbour b]\n%s\n", t[i].line);
		if (load_text(f, text) != 0) {
			dump(&f->diags);
			fail_msg("`%s' refused", t[i].line);
		}
		assert_int_equal(f->cfg.n_neighbours, 1);
	}
}

static void test_neighbour_header_errors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_text(f,
		"[peer]\n"                                               /* 1 */
		"name = alpha\n"                                         /* 2 */
		"[neighbour]\n"                                          /* 3 */
		"export.categories = all\n"                              /* 4: ignored */
		"[neighbour bad name!]\n"                                /* 5 */
		"[neighbour bravo]\n"                                    /* 6 */
		"export.categories = all\n"                              /* 7 */
		"export.categories = none\n"                             /* 8 */
		"[neighbour charlie]\n"                                  /* 9 */
		"export.categories = all\n"                              /* 10: per neighbour */
		"[neighbour bravo]\n"                                    /* 11 */
		"bogus = 1\n"                                            /* 12: ignored */
		"[neighbour alpha]\n"                                    /* 13 */
		"[neighbour 0123456789012345678901234567890123456789]\n" /* 14: 40 */
		"[neighbor delta]\n"                                     /* 15 */
		"x = 1\n"                                                /* 16 */
		"[neighbour caf\xc3\xa9]\n"),                            /* 17 */
		AM_ECONFIG);
	expect_diag(&f->diags, 3, "[neighbour] needs the neighbour's name", "[neighbour peer-b]", NULL);
	expect_diag(&f->diags, 5, "neighbour name `bad name!'", "letters", NULL);
	expect_diag(&f->diags, 8, "export.categories is set twice (first on line 7)", NULL);
	expect_diag(&f->diags, 11, "neighbour `bravo' is declared twice (first on line 6)", NULL);
	expect_diag(&f->diags, 13, "neighbour `alpha' has this peer's own name", NULL);
	expect_diag(&f->diags, 14, "`0123456789012345678901234567890123456789'", "40 characters",
	            "at most 39", NULL);
	expect_diag(&f->diags, 16, "unknown section `[neighbor delta]'", "[neighbour NAME]", NULL);
	expect_diag(&f->diags, 17, "neighbour name `caf\\xc3\\xa9'", NULL);
	assert_int_equal(f->diags.n, 8);
	assert_int_equal(f->cfg.n_neighbours, 0);
	assert_null(f->cfg.neighbours);
}

/* inih keeps 49 bytes of a section name: a 39-character name is the
 * longest that survives whole, and a longer one must never be taken for
 * its 39-character prefix. */
static void test_neighbour_name_length(void **state)
{
	static const char name39[] = "n23456789012345678901234567890123456789";
	struct fixture *f = *state;
	char text[512];

	assert_int_equal(strlen(name39), CONFIG_NEIGHBOUR_NAME_MAX);
	snprintf(text, sizeof text, "[peer]\nname = a\n[neighbour %s]\nimport.quota = 5\n", name39);
	assert_int_equal(load_text(f, text), 0);
	assert_int_equal(f->cfg.n_neighbours, 1);
	assert_string_equal(f->cfg.neighbours[0].name, name39);
	assert_int_equal(f->cfg.neighbours[0].imp.quota, 5);

	snprintf(text, sizeof text, "[peer]\nname = a\n[neighbour %s]\n[neighbour %sX]\nimport.quota = 5\n",
	         name39, name39);
	assert_int_equal(load_text(f, text), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 4, "40 characters", NULL);
}

static void test_neighbour_sections_in_inih_corners(void **state)
{
	struct fixture *f = *state;

	/* a BOM before the first header, blanks inside the brackets, an
	 * inline comment after it, CRLF */
	assert_int_equal(load_text(f,
		"\xef\xbb\xbf[neighbour one]\r\n"
		"import.quota = 7\r\n"
		"[neighbour  two ] ; the second\n"
		"import.quota = 8\n"
		"[peer]\n"
		"name = a\n"), 0);
	assert_int_equal(f->cfg.n_neighbours, 2);
	assert_string_equal(neighbour(&f->cfg, "one")->name, "one");
	assert_int_equal(neighbour(&f->cfg, "one")->imp.quota, 7);
	assert_int_equal(neighbour(&f->cfg, "two")->imp.quota, 8);

	/* a ';' after a blank inside the brackets makes it no header at all:
	 * inih keeps the previous section, and so must we */
	assert_int_equal(load_text(f,
		"[peer]\n"
		"name = a\n"
		"[neighbour x ; y]\n"
		"listen = tcp://:7000\n"), AM_ECONFIG);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 3, "section header", NULL);
}

static void test_too_many_neighbours(void **state)
{
	struct fixture *f = *state;
	size_t cap = (CONFIG_NEIGHBOURS_MAX + 1) * 32 + 64, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "[peer]\nname = a\n");
	for (int i = 0; i < CONFIG_NEIGHBOURS_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "[neighbour n%d]\n", i);
	assert_int_equal(load_text(f, text), 0);
	assert_int_equal(f->cfg.n_neighbours, CONFIG_NEIGHBOURS_MAX);
	assert_string_equal(f->cfg.neighbours[CONFIG_NEIGHBOURS_MAX - 1].name, "n255");

	len += (size_t)snprintf(text + len, cap - len, "[neighbour one-too-many]\n");
	assert_int_equal(load_text(f, text), AM_ECONFIG);
	free(text);
	assert_int_equal(f->diags.n, 1);
	expect_diag(&f->diags, 2 + CONFIG_NEIGHBOURS_MAX + 1, "more than 256 neighbours", NULL);
}

static void test_config_free(void **state)
{
	struct fixture *f = *state;
	struct config zero;

	assert_int_equal(load_text(f,
		"[peer]\nname = a\n[neighbour b]\nexport.categories = all\nexport.origins = x, y\n"
		"export.domains = asia\n[neighbour c]\nimport.categories = spam\nimport.origins = z\n"), 0);
	assert_int_equal(f->cfg.n_neighbours, 2);
	config_free(&f->cfg);
	assert_null(f->cfg.neighbours);
	assert_int_equal(f->cfg.n_neighbours, 0);
	assert_string_equal(f->cfg.name, "a"); /* the rest stays */
	config_free(&f->cfg);                   /* twice is harmless */
	config_free(NULL);
	memset(&zero, 0, sizeof zero);
	config_free(&zero);

	/* a fresh, uninitialised struct is fine for config_load */
	struct config *fresh = malloc(sizeof *fresh);
	assert_non_null(fresh);
	memset(fresh, 0x5a, sizeof *fresh);
	assert_int_equal(config_load(fresh, f->path, NULL, NULL), 0);
	assert_int_equal(fresh->n_neighbours, 2);
	config_free(fresh);
	/* failures too, and the same struct again after config_free */
	memset(fresh, 0x5a, sizeof *fresh);
	write_str(f->path, "[peer]\nname = a\n[neighbour b]\nexport.categories = all\nbad\n");
	assert_int_equal(config_load(fresh, f->path, NULL, NULL), AM_ECONFIG);
	assert_null(fresh->neighbours);
	config_free(fresh);
	free(fresh);
}

/* An option line the template shows commented out: "# key = value". */
static bool is_commented_option(const char *line)
{
	const char *p = line + 2;

	if (strncmp(line, "# ", 2) != 0)
		return false;
	while ((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_')
		p++;
	return p > line + 2 && strncmp(p, " = ", 3) == 0;
}

/* Uncomments the template's example neighbour: its header and every
 * option line after it; the prose stays commented. */
static char *uncomment_neighbour(const char *text)
{
	char *out = calloc(1, strlen(text) + 1);
	size_t o = 0;
	bool in_example = false;

	assert_non_null(out);
	for (const char *src = text; *src;) {
		const char *nl = strchr(src, '\n');
		size_t n = nl ? (size_t)(nl - src) + 1 : strlen(src);
		if (strncmp(src, "# [neighbour ", 13) == 0)
			in_example = true;
		if (in_example && (strncmp(src, "# [", 3) == 0 || is_commented_option(src))) {
			src += 2;
			n -= 2;
		}
		memcpy(out + o, src, n);
		o += n;
		src += n;
	}
	return out;
}

static void test_template_documents_neighbours(void **state)
{
	static const char *const keys[] = {
		"endpoint", "export.categories", "export.min_confidence", "export.origins",
		"export.domains", "export.max_tlp", "import.categories", "import.min_confidence",
		"import.confidence_cap", "import.origins", "import.quota",
	};
	struct fixture *f = *state;
	char err[AM_ERRLEN], line[80], *text, *edited;
	const struct config_neighbour *nb;

	assert_int_equal(config_write_default(f->path, "alpha", NULL, err, sizeof err), 0);
	memset(&f->diags, 0, sizeof f->diags);
	config_free(&f->cfg);
	assert_int_equal(config_load(&f->cfg, f->path, collect, &f->diags), 0);
	assert_int_equal(f->cfg.n_neighbours, 0); /* all commented out */

	text = slurp(f->path);
	assert_non_null(strstr(text, "\n# [neighbour peer-b]\n"));
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(line, sizeof line, "\n# %s = ", keys[i]);
		if (strstr(text, line) == NULL)
			fail_msg("neighbour option %s is not in the template", keys[i]);
	}
	/* the template stays a seed the fuzz driver takes whole */
	assert_true(strlen(text) < 8192);

	/* uncommented, the example is a working neighbour */
	edited = uncomment_neighbour(text);
	write_str(f->path, edited);
	memset(&f->diags, 0, sizeof f->diags);
	config_free(&f->cfg);
	if (config_load(&f->cfg, f->path, collect, &f->diags) != 0) {
		dump(&f->diags);
		fail_msg("uncommented template refused");
	}
	assert_int_equal(f->cfg.n_neighbours, 1);
	nb = &f->cfg.neighbours[0];
	assert_string_equal(nb->name, "peer-b");
	assert_string_equal(nb->endpoint, "tcp://peer-b.example:7000");
	assert_true(nb->exp.configured);
	assert_int_equal(nb->exp.categories, (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE));
	assert_int_equal(nb->exp.origins, POLICY_ORIGINS_OWN);
	assert_int_equal(nb->exp.n_suffixes, 2);
	assert_int_equal(nb->exp.max_tlp, AM_TLP_GREEN);
	assert_true(nb->imp.configured);
	assert_int_equal(nb->imp.confidence_cap, 100);
	assert_int_equal(nb->imp.quota, 100000);
	free(edited);
	free(text);
}

struct notes {
	unsigned n;
	char msg[4][2048];
};

static void note(void *arg, const char *msg)
{
	struct notes *ns = arg;
	if (ns->n < 4)
		snprintf(ns->msg[ns->n], sizeof ns->msg[0], "%s", msg);
	ns->n++;
}

/* What a reload cannot apply on the DNS side is said, with the restart it
 * needs: the first [rpz] section on a peer started without one, and a
 * changed dns_listen. Both were silently left undone (ameshd kept serving
 * nothing, or the old address). */
static void test_rpz_reload_limits_are_said(void **state)
{
	struct fixture *f = *state;
	struct config running;
	struct notes ns = {0};
	const char *zone = "[rpz abuse]\nzone = rpz.example\ncategories = all\n";
	char text[512];

	assert_int_equal(load_text(f, "[peer]\nname = a\n"), 0);
	running = f->cfg;
	memset(&f->cfg, 0, sizeof f->cfg); /* running owns it now */
	/* the first zone, with dns_listen */
	snprintf(text, sizeof text, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n%s", zone);
	assert_int_equal(load_text(f, text), 0);
	assert_int_equal(config_rpz_reload_limits(&running, &f->cfg, note, &ns), 1);
	assert_non_null(strstr(ns.msg[0], "[rpz abuse] added"));
	assert_non_null(strstr(ns.msg[0], "started without response policy zones"));
	assert_non_null(strstr(ns.msg[0], "restarted"));
	config_free(&running);

	/* a peer serving a zone: the same file again is fine */
	running = f->cfg;
	memset(&f->cfg, 0, sizeof f->cfg);
	snprintf(text, sizeof text, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n%s", zone);
	assert_int_equal(load_text(f, text), 0);
	ns.n = 0;
	assert_int_equal(config_rpz_reload_limits(&running, &f->cfg, note, &ns), 0);
	/* another port: named, old and new, with the restart */
	snprintf(text, sizeof text, "[peer]\nname = a\ndns_listen = 127.0.0.1:5454\n%s", zone);
	assert_int_equal(load_text(f, text), 0);
	assert_int_equal(config_rpz_reload_limits(&running, &f->cfg, note, &ns), 1);
	assert_non_null(strstr(ns.msg[0], "dns_listen changed from `127.0.0.1:5353' to `127.0.0.1:5454'"));
	assert_non_null(strstr(ns.msg[0], "still listening on `127.0.0.1:5353'"));
	assert_non_null(strstr(ns.msg[0], "restarted"));
	/* one more address, or none, is a change too */
	snprintf(text, sizeof text, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353, [::1]:5353\n%s", zone);
	assert_int_equal(load_text(f, text), 0);
	ns.n = 0;
	assert_int_equal(config_rpz_reload_limits(&running, &f->cfg, note, &ns), 1);
	snprintf(text, sizeof text, "[peer]\nname = a\n%s", zone);
	assert_int_equal(load_text(f, text), 0);
	ns.n = 0;
	assert_int_equal(config_rpz_reload_limits(&running, &f->cfg, note, &ns), 1);
	assert_non_null(strstr(ns.msg[0], "to none"));
	/* zones dropped on a peer that serves some: that reloads (served empty) */
	assert_int_equal(load_text(f, "[peer]\nname = a\ndns_listen = 127.0.0.1:5353\n"), 0);
	ns.n = 0;
	assert_int_equal(config_rpz_reload_limits(&running, &f->cfg, note, &ns), 0);
	config_free(&running);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_minimal_file_gets_defaults),
		T(test_every_option_is_parsed),
		T(test_relative_file_path_resolves_absolute),
		T(test_tilde_path_is_refused),
		T(test_unknown_option_names_line_and_section),
		T(test_unknown_section_reported_once),
		T(test_option_before_any_section),
		T(test_duplicate_option),
		T(test_missing_name),
		T(test_value_errors_quote_input),
		T(test_good_listen_forms),
		T(test_syntax_errors_all_reported_in_line_order),
		T(test_unclosed_neighbour_header),
		T(test_indented_line_is_not_a_continuation),
		T(test_warn_threshold_above_block),
		T(test_many_errors_are_capped),
		T(test_missing_file_is_eio),
		T(test_file_size_limit),
		T(test_long_lines),
		T(test_nul_byte_is_reported),
		T(test_control_path_must_fit_sun_path),
		T(test_load_buffer_directly),
		T(test_rpz_section_parsed_with_defaults),
		T(test_rpz_notify_source),
		T(test_rpz_warnings),
		T(test_rpz_errors_name_their_lines),
		T(test_rpz_bad_categories_is_one_problem),
		T(test_rpz_tsig_algorithm_in_any_case),
		T(test_rpz_tsig_secret_never_quoted),
		T(test_rpz_tsig_secret_in_readable_file_is_warned),
		T(test_listen_clashes_are_problems),
		T(test_rpz_zone_is_no_public_suffix),
		T(test_rpz_cname_target_must_be_a_host),
		T(test_rpz_reload_limits_are_said),
		T(test_write_default_loads_with_name_and_listen),
		T(test_write_default_without_listen),
		T(test_write_default_refuses_overwrite),
		T(test_write_default_refuses_bad_values),
		T(test_three_neighbours),
		T(test_hash_comments_after_blanks),
		T(test_neighbour_value_errors_quote_input),
		T(test_neighbour_good_values),
		T(test_neighbour_header_errors),
		T(test_neighbour_name_length),
		T(test_neighbour_sections_in_inih_corners),
		T(test_too_many_neighbours),
		T(test_config_free),
		T(test_template_documents_neighbours),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_config_files.c - what `ameshd --check' says about the files a
 * config names: each problem the daemon would stop at, with the line that
 * named the file (or "the default"), and nothing for a peer that starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "config_files.h"
#include "keyfile.h"
#include "model.h"
#include "tmpdir.h"

static char dir[64];

struct diags {
	unsigned n;
	unsigned line[8];
	char msg[8][1024];
};

static void collect(void *arg, const char *path, unsigned line, const char *msg)
{
	struct diags *d = arg;
	(void)path;
	if (d->n < 8) {
		d->line[d->n] = line;
		snprintf(d->msg[d->n], sizeof d->msg[0], "%s", msg);
	}
	d->n++;
}

static int setup(void **state)
{
	char key[128], err[AM_ERRLEN];
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/amesh-cfgfiles.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(key, sizeof key, "%s/amesh.key", dir);
	return keyfile_generate(key, "t", NULL, NULL, err, sizeof err);
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir) == 0 ? 0 : -1;
}

/* Loads "[peer]\nname = t\n" + extra and runs the checks. */
static unsigned check(const char *extra, struct diags *d, bool *encrypted)
{
	struct config cfg;
	char text[512];

	memset(d, 0, sizeof *d);
	snprintf(text, sizeof text, "[peer]\nname = t\n%s", extra);
	if (config_load_buffer(&cfg, "amesh.conf", dir, text, strlen(text), NULL, NULL) != 0)
		fail_msg("config did not load: %s", text);
	unsigned n = config_files_check(&cfg, collect, d, encrypted);
	config_free(&cfg);
	return n;
}

static void test_starting_peer_passes(void **state)
{
	struct diags d;
	bool enc = true;
	(void)state;
	assert_int_equal(check("", &d, &enc), 0);
	assert_int_equal(d.n, 0);
	assert_false(enc);
}

/* the case found: --check said "valid", the daemon then refused to start */
static void test_missing_key_named_with_its_line(void **state)
{
	struct diags d;
	(void)state;
	assert_int_equal(check("key = nokey.key\n", &d, NULL), 1);
	assert_int_equal(d.line[0], 3);
	assert_non_null(strstr(d.msg[0], "key: "));
	assert_non_null(strstr(d.msg[0], "nokey.key: cannot open secret key: No such file"));
}

static void test_default_key_says_default(void **state)
{
	struct diags d;
	char key[128];
	(void)state;
	snprintf(key, sizeof key, "%s/amesh.key", dir);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(check("", &d, NULL), 1);
	assert_int_equal(d.line[0], 0);
	assert_non_null(strstr(d.msg[0], "key (the default): "));
	assert_non_null(strstr(d.msg[0], "chmod 600"));
}

static void test_public_key_as_secret(void **state)
{
	struct diags d;
	char pub[128];
	(void)state;
	snprintf(pub, sizeof pub, "%s/amesh.key.pub", dir);
	assert_int_equal(chmod(pub, 0600), 0);
	assert_int_equal(check("key = amesh.key.pub\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "this is a public key"));
}

static void test_directory_as_key(void **state)
{
	struct diags d;
	(void)state;
	assert_int_equal(check("key = .\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "not a regular file"));
}

/* --check has no passphrase: a protected key is fine, and said so */
static void test_encrypted_key_passes(void **state)
{
	struct diags d;
	char key[128], err[AM_ERRLEN];
	bool enc = false;
	(void)state;
	snprintf(key, sizeof key, "%s/locked.key", dir);
	assert_int_equal(keyfile_generate(key, "t", "pass phrase", NULL, err, sizeof err), 0);
	assert_int_equal(check("key = locked.key\n", &d, &enc), 0);
	assert_true(enc);
}

/* the retired keys the daemon loads beside the key: one others can read
 * stops the start, so --check says so */
static void test_unsafe_retired_key(void **state)
{
	struct diags d;
	char old[128], err[AM_ERRLEN];
	(void)state;
	snprintf(old, sizeof old, "%s/amesh.key.retired-1700000000", dir);
	assert_int_equal(keyfile_generate(old, "t", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(check("", &d, NULL), 0);
	assert_int_equal(chmod(old, 0644), 0);
	assert_int_equal(check("", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "key (the default): retired key"));
	assert_non_null(strstr(d.msg[0], "chmod 600"));
}

static void test_data_dir_problems(void **state)
{
	struct diags d;
	char sub[128];
	(void)state;
	/* a file where the directory should be */
	assert_int_equal(check("data_dir = amesh.key.pub\n", &d, NULL), 1);
	assert_int_equal(d.line[0], 3);
	assert_non_null(strstr(d.msg[0], "data_dir: "));
	assert_non_null(strstr(d.msg[0], "is not a directory"));
	/* more than one level missing: the store makes only the last */
	assert_int_equal(check("data_dir = no/such/data\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "cannot be made: its parent"));
	/* one level missing is what `amesh init' leaves out: fine */
	assert_int_equal(check("data_dir = data\n", &d, NULL), 0);
	/* an existing directory */
	snprintf(sub, sizeof sub, "%s/d", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(check("data_dir = d\n", &d, NULL), 0);
	/* ... and the check's probe left nothing in it */
	assert_int_equal(rmdir(sub), 0);
	/* a directory the kernel refuses to write in, whoever asks: access(2)
	 * told root yes for these, and the start failed after --check passed */
	assert_int_equal(check("data_dir = /proc/amesh-nope\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "cannot write in `/proc'"));
	assert_int_equal(check("data_dir = /proc\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "this user cannot write in it"));
	/* both at once: every problem, not the first */
	assert_int_equal(check("key = gone.key\ndata_dir = /nonexistent-amesh/a/b\n", &d, NULL), 2);
}

/* The audit trail in data_dir, read as the start reads it: a trail whose
 * chain is broken stops the start, and --check had called the peer fine
 * (systemd's ExecStartPre passed, the start failed). A torn last line is
 * no problem: the start cuts it off. */
static void test_audit_trail_read_as_the_start_reads_it(void **state)
{
	struct diags d;
	struct audit *a;
	char sub[128], path[160], err[AM_ERRLEN];
	const char *names[] = {"a.example", "b.example", "c.example"};
	(void)state;
	snprintf(sub, sizeof sub, "%s/d", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof path, "%s/audit.log", sub);
	assert_int_equal(audit_open(&a, path, err, sizeof err), 0);
	for (int i = 0; i < 3; i++) {
		struct audit_event e = {.event = "originated", .domain = names[i], .category = AM_CAT_SPAM};
		assert_int_equal(audit_append(a, 1796000000 + (uint64_t)i, &e), 0);
	}
	audit_close(a);
	assert_int_equal(check("data_dir = d\n", &d, NULL), 0);
	/* torn: the start cuts it off and goes on */
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs("4 2026-12-03T00:00:00Z origin", f);
	fclose(f);
	assert_int_equal(check("data_dir = d\n", &d, NULL), 0);
	/* an edited record: the start refuses the trail */
	f = fopen(path, "r+");
	assert_non_null(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	char *b = strstr(buf, "b.example");
	assert_non_null(b);
	fseek(f, b - buf, SEEK_SET);
	fputc('x', f);
	fclose(f);
	assert_int_equal(check("data_dir = d\n", &d, NULL), 1);
	assert_int_equal(d.line[0], 3);
	assert_non_null(strstr(d.msg[0], "data_dir: the audit trail "));
	assert_non_null(strstr(d.msg[0], "audit.log: line 2: hash does not match"));
	assert_non_null(strstr(d.msg[0], ".broken) and start again"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(sub), 0);
}

/* The mesh listen address, as NNG binds it at start: it said only
 * "Address invalid" there, after --check had passed these. */
static void test_listen_host_this_host_lacks(void **state)
{
	struct diags d;
	(void)state;
	assert_int_equal(check("listen = tcp://127.0.0.1:7000\n", &d, NULL), 0);
	assert_int_equal(check("listen = tcp://:7000\n", &d, NULL), 0);
	assert_int_equal(check("listen = tcp://[::]:7000\n", &d, NULL), 0);
	/* TEST-NET-1, never an interface's */
	assert_int_equal(check("listen = tcp://192.0.2.1:7000\n", &d, NULL), 1);
	assert_int_equal(d.line[0], 3);
	assert_non_null(strstr(d.msg[0], "listen: `tcp://192.0.2.1:7000': `192.0.2.1' is not an address of this host"));
	assert_int_equal(check("listen = tcp://nowhere.invalid:7000\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "cannot resolve `nowhere.invalid'"));
	/* the DNS and metrics listeners alike ("Cannot assign requested
	 * address" at start) */
	assert_int_equal(check("dns_listen = 127.0.0.1:5353\nmetrics_listen = 127.0.0.1:9464\n", &d, NULL), 0);
	assert_int_equal(check("dns_listen = 127.0.0.1:5353, 192.0.2.1:5353\n", &d, NULL), 1);
	assert_int_equal(d.line[0], 3);
	assert_non_null(strstr(d.msg[0], "dns_listen: `192.0.2.1:5353': not an address of this host"));
	assert_int_equal(check("metrics_listen = 192.0.2.1:9464\n", &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "metrics_listen: `192.0.2.1:9464': not an address of this host"));
}

/* The control socket's directory as control_open prepares it: --check
 * passed each of these and the start failed on it, naming no line. */
static void test_control_dir_problems(void **state)
{
	struct diags d;
	char extra[256], open_dir[128], file[128];
	(void)state;

	/* a parent missing: ameshd makes one level only - a warning, since
	 * systemd makes its RuntimeDirectory= before the start and removes it
	 * at stop (a --check by hand in between is no failure) */
	assert_int_equal(check("control = /nonexistent-amesh/dir/amesh.sock\n", &d, NULL), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.line[0], 3);
	assert_non_null(strstr(d.msg[0], "control: warning: its directory `/nonexistent-amesh/dir' cannot be made, its "
	                                 "parent `/nonexistent-amesh' is missing"));
	/* open to others: refused at start, with the chmod that fixes it */
	snprintf(open_dir, sizeof open_dir, "%s/open", dir);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0777), 0);
	snprintf(extra, sizeof extra, "control = %s/amesh.sock\n", open_dir);
	assert_int_equal(check(extra, &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "is accessible to others (mode 0777), which ameshd refuses; fix with: chmod o-rwx"));
	/* closed to others: fine */
	assert_int_equal(chmod(open_dir, 0750), 0);
	assert_int_equal(check(extra, &d, NULL), 0);
	/* a file where the directory should be */
	snprintf(file, sizeof file, "%s/plain", dir);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(extra, sizeof extra, "control = %s/amesh.sock\n", file);
	assert_int_equal(check(extra, &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "is not a directory"));
	/* the default (run/ beside the config, made at start): fine; a path
	 * through a file is not */
	assert_int_equal(check("", &d, NULL), 0);
	snprintf(extra, sizeof extra, "control = %s/run/amesh.sock\n", file);
	assert_int_equal(check(extra, &d, NULL), 1);
	assert_non_null(strstr(d.msg[0], "/plain/run': Not a directory"));
}

static void test_where(void **state)
{
	struct config cfg;
	char out[PATH_MAX + 64];
	(void)state;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.path, sizeof cfg.path, "/srv/amesh.conf");
	config_files_where(&cfg, 19, "key", out, sizeof out);
	assert_string_equal(out, "/srv/amesh.conf:19: key");
	config_files_where(&cfg, 0, "data_dir", out, sizeof out);
	assert_string_equal(out, "/srv/amesh.conf: data_dir (the default)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_starting_peer_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_key_named_with_its_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_key_says_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_key_as_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_as_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_key_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_retired_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_dir_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_trail_read_as_the_start_reads_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_host_this_host_lacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_dir_problems, setup, teardown),
		cmocka_unit_test(test_where),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ownkeys.c - this peer's retired keys: every KEY.retired-T beside
 * the key is loaded, newest first, its .pub and other names left alone; a
 * retired key that cannot be loaded is an error naming it, never silently
 * lost (it is the only key that can withdraw what it signed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "model.h"
#include "ownkeys.h"
#include "tmpdir.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/amesh-ownkeys.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir) == 0 ? 0 : -1;
}

static void make_key(const char *name, const char *pass, uint8_t pk[AM_KEY_BYTES])
{
	char path[256], err[AM_ERRLEN];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (keyfile_generate(path, "t", pass, pk, err, sizeof err) != 0)
		fail_msg("%s: %s", path, err);
}

static void test_none_is_fine(void **state)
{
	struct ownkeys o;
	char key[128], err[AM_ERRLEN];
	uint8_t pk[AM_KEY_BYTES];
	(void)state;
	make_key("amesh.key", NULL, pk);
	snprintf(key, sizeof key, "%s/amesh.key", dir);
	assert_int_equal(ownkeys_load(&o, key, NULL, err, sizeof err), 0);
	assert_int_equal(o.n, 0);
	assert_null(ownkeys_find(&o, pk)); /* the current key is not a retired one */
	assert_null(ownkeys_find(NULL, pk));
	ownkeys_free(&o);
	ownkeys_free(NULL);
}

/* what `amesh keys rotate' leaves, twice over, beside look-alikes */
static void test_retired_keys_loaded_newest_first(void **state)
{
	struct ownkeys o;
	char key[128], err[AM_ERRLEN];
	uint8_t cur[AM_KEY_BYTES], old1[AM_KEY_BYTES], old2[AM_KEY_BYTES], other[AM_KEY_BYTES];
	(void)state;
	make_key("amesh.key", NULL, cur);
	make_key("amesh.key.retired-1700000000", NULL, old1); /* and its .pub */
	make_key("amesh.key.retired-1800000000", NULL, old2);
	make_key("amesh.key.retired-x", NULL, other);          /* no time: not ours */
	make_key("other.key.retired-1900000000", NULL, other); /* another key's */
	snprintf(key, sizeof key, "%s/amesh.key", dir);
	assert_int_equal(ownkeys_load(&o, key, NULL, err, sizeof err), 0);
	assert_int_equal(o.n, 2);
	assert_memory_equal(o.k[0]->pk, old2, AM_KEY_BYTES);
	assert_memory_equal(o.k[1]->pk, old1, AM_KEY_BYTES);
	assert_ptr_equal(ownkeys_find(&o, old1), o.k[1]);
	assert_null(ownkeys_find(&o, cur));
	assert_null(ownkeys_find(&o, other));
	ownkeys_free(&o);
	assert_int_equal(o.n, 0);
}

/* a protected key's retired keys open with the same passphrase */
static void test_encrypted_with_passphrase(void **state)
{
	struct ownkeys o;
	char key[128], err[AM_ERRLEN];
	uint8_t pk[AM_KEY_BYTES], old[AM_KEY_BYTES];
	(void)state;
	make_key("amesh.key", "horse", pk);
	make_key("amesh.key.retired-1700000000", "horse", old);
	snprintf(key, sizeof key, "%s/amesh.key", dir);
	assert_int_equal(ownkeys_load(&o, key, "horse", err, sizeof err), 0);
	assert_int_equal(o.n, 1);
	assert_non_null(ownkeys_find(&o, old));
	ownkeys_free(&o);
	assert_int_equal(ownkeys_load(&o, key, NULL, err, sizeof err), AM_EPASSPHRASE);
	assert_int_equal(o.n, 0);
	assert_non_null(strstr(err, "retired key"));
}

/* a retired key others can read: refused as the key itself is, by name */
static void test_unsafe_retired_key_named(void **state)
{
	struct ownkeys o;
	char key[128], old[160], err[AM_ERRLEN];
	uint8_t pk[AM_KEY_BYTES];
	(void)state;
	make_key("amesh.key", NULL, pk);
	make_key("amesh.key.retired-1700000000", NULL, pk);
	snprintf(key, sizeof key, "%s/amesh.key", dir);
	snprintf(old, sizeof old, "%s.retired-1700000000", key);
	assert_int_equal(chmod(old, 0644), 0);
	assert_int_equal(ownkeys_load(&o, key, NULL, err, sizeof err), AM_EPERM);
	assert_non_null(strstr(err, old));
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(o.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_none_is_fine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retired_keys_loaded_newest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted_with_passphrase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_retired_key_named, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

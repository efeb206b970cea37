/*
 * oldflag.c - stores a flag the way a version before the special-use rule
 * stored it, for integration tests of recourse (README "Special-use
 * names"): no daemon today takes a flag on printer.local or co.uk, yet a
 * store may hold one from before, and its withdrawal must still work.
 *
 *   oldflag KEY DOMAIN CATEGORY TTL_SECONDS DATA_DIR...
 *
 * Signs KEY's own indicator on DOMAIN (written as stored: lower case, no
 * trailing dot; the name rules are not applied - that is the point) and
 * writes the same signed bytes into the store at each DATA_DIR, which no
 * daemon may have open: the origin's own store, and those of neighbours
 * that took it then. Prints the indicator id; exit 0 when stored.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indicator.h"
#include "keyfile.h"
#include "store.h"
#include "timefmt.h"

int main(int argc, char **argv)
{
	struct keyfile_secret *key = NULL;
	struct store *s = NULL;
	struct am_indicator ind;
	uint8_t env[AM_ENVELOPE_MAX], id[AM_ID_BYTES];
	char err[AM_ERRLEN], hex[2 * AM_ID_BYTES + 1];
	size_t len;
	int rv = 1, res;

	if (argc < 6) {
		fprintf(stderr, "usage: oldflag KEY DOMAIN CATEGORY TTL_SECONDS DATA_DIR...\n");
		return 2;
	}
	if (sodium_init() < 0 || keyfile_load_secret(argv[1], NULL, &key, err, sizeof err) != 0) {
		fprintf(stderr, "oldflag: %s\n", err);
		return 1;
	}
	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, key->pk, AM_KEY_BYTES);
	if (strlen(argv[2]) > AM_DOMAIN_MAX || am_category_parse(argv[3], &ind.category) != 0) {
		fprintf(stderr, "oldflag: bad domain or category\n");
		goto out;
	}
	snprintf(ind.domain, sizeof ind.domain, "%s", argv[2]);
	uint64_t now = timefmt_now();
	ind.issued_at = now - 60;
	ind.expires_at = now + strtoull(argv[4], NULL, 10);
	ind.version = now * 1000000;
	ind.confidence = 70;
	ind.tlp = AM_TLP_GREEN;
	if (indicator_sign(&ind, key->sk, env, sizeof env, &len, id) != 0) {
		fprintf(stderr, "oldflag: cannot sign\n");
		goto out;
	}
	struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = len};
	for (int i = 5; i < argc; i++) {
		if (store_open(&s, argv[i], 64ull << 20, err, sizeof err) != 0) {
			fprintf(stderr, "oldflag: %s: %s\n", argv[i], err);
			goto out;
		}
		if (store_apply(s, &u, 1, now, &res, NULL) != 0 || res < 0) {
			fprintf(stderr, "oldflag: %s: not stored\n", argv[i]);
			goto out;
		}
		store_close(s);
		s = NULL;
	}
	am_hex(id, AM_ID_BYTES, hex);
	printf("%s\n", hex);
	rv = 0;
out:
	store_close(s);
	keyfile_secret_free(key);
	return rv;
}

/* ownkeys.c - this peer's retired identities (ownkeys.h). */
#include "ownkeys.h"

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* T of a name "BASE.retired-T" (digits only), or -1 */
static long long retired_time(const char *name, const char *base)
{
	size_t bl = strlen(base);
	static const char tag[] = ".retired-";
	char *end;

	if (strncmp(name, base, bl) != 0 || strncmp(name + bl, tag, sizeof tag - 1) != 0)
		return -1;
	const char *t = name + bl + sizeof tag - 1;
	if (*t < '0' || *t > '9')
		return -1;
	long long v = strtoll(t, &end, 10);
	return *end == '\0' ? v : -1;
}

struct found {
	long long t;
	char path[PATH_MAX];
};

static int newest_first(const void *a, const void *b)
{
	long long x = ((const struct found *)a)->t, y = ((const struct found *)b)->t;
	return x < y ? 1 : x > y ? -1 : 0;
}

int ownkeys_load(struct ownkeys *o, const char *key_file, const char *passphrase, char *err, size_t errlen)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX];
	struct found *f = NULL;
	size_t nf = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *e;
	int rv = 0;

	memset(o, 0, sizeof *o);
	snprintf(dirbuf, sizeof dirbuf, "%s", key_file);
	snprintf(basebuf, sizeof basebuf, "%s", key_file);
	const char *dir = dirname(dirbuf), *base = basename(basebuf);
	if ((d = opendir(dir)) == NULL)
		return 0; /* the key's own load says what is wrong with its directory */
	while ((e = readdir(d)) != NULL) {
		long long t = retired_time(e->d_name, base);
		if (t < 0)
			continue;
		if (nf == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct found *g = realloc(f, nc * sizeof *f);
			if (!g) {
				snprintf(err, errlen, "out of memory listing retired keys");
				rv = AM_ENOMEM;
				goto fail;
			}
			f = g;
			cap = nc;
		}
		f[nf].t = t;
		if ((size_t)snprintf(f[nf].path, sizeof f[nf].path, "%s/%s", dir, e->d_name) >= sizeof f[nf].path)
			continue;
		nf++;
	}
	if (nf > 1)
		qsort(f, nf, sizeof *f, newest_first);
	for (size_t i = 0; i < nf && o->n < OWNKEYS_MAX; i++) {
		char why[AM_ERRLEN];
		if ((rv = keyfile_load_secret(f[i].path, passphrase, &o->k[o->n], why, sizeof why)) != 0) {
			snprintf(err, errlen, "retired key (kept to withdraw what it signed): %s", why);
			goto fail;
		}
		o->n++;
	}
	closedir(d);
	free(f);
	return 0;
fail:
	if (d)
		closedir(d);
	free(f);
	ownkeys_free(o);
	return rv;
}

void ownkeys_free(struct ownkeys *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		keyfile_secret_free(o->k[i]);
	memset(o, 0, sizeof *o);
}

const struct keyfile_secret *ownkeys_find(const struct ownkeys *o, const uint8_t pk[AM_KEY_BYTES])
{
	if (!o)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (memcmp(o->k[i]->pk, pk, AM_KEY_BYTES) == 0)
			return o->k[i];
	return NULL;
}

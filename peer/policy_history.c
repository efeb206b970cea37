/* policy_history.c - the export policies each neighbour had, kept across restarts. */
#include "policy_history.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A line holds at most POLICY_LIST_MAX keys or suffixes: 256 x 254 bytes */
#define LINE_MAX_BYTES (POLICY_LIST_MAX * (AM_DOMAIN_MAX + 2) + 512)

static int write_one(FILE *f, const char *name, unsigned depth, const struct policy_export *p)
{
	if (fprintf(f, "%s %u %d %x %u %d %d %d ", name, depth, p->configured ? 1 : 0, (unsigned)p->categories,
	            (unsigned)p->min_confidence, (int)p->origins, (int)p->max_tlp, p->sightings ? 1 : 0) < 0)
		return AM_EIO;
	/* keys decide only for a list (policy_export_check) */
	size_t nk = p->origins == POLICY_ORIGINS_LIST ? p->origin_list.n_keys : 0;
	for (size_t i = 0; i < nk; i++) {
		char hex[2 * AM_KEY_BYTES + 1];
		sodium_bin2hex(hex, sizeof hex, p->origin_list.keys[i], AM_KEY_BYTES);
		if (fprintf(f, "%s%s", i ? "," : "", hex) < 0)
			return AM_EIO;
	}
	if (fprintf(f, "%s ", nk ? "" : "-") < 0)
		return AM_EIO;
	for (size_t i = 0; i < p->n_suffixes; i++)
		if (fprintf(f, "%s%s", i ? "," : "", p->suffixes[i]) < 0)
			return AM_EIO;
	if (fprintf(f, "%s\n", p->n_suffixes ? "" : "-") < 0)
		return AM_EIO;
	return 0;
}

int policy_history_write(FILE *f, const char *name, const struct policy_export *p)
{
	unsigned depth = 0;
	int rv;

	if (f == NULL || name == NULL || p == NULL)
		return AM_EINVAL;
	for (const struct policy_export *q = p; q != NULL && depth <= POLICY_EXPORT_BEFORE_MAX; q = q->before)
		if ((rv = write_one(f, name, depth++, q)) != 0)
			return rv;
	return 0;
}

/* Splits s at commas into at most max items; "-" is none. */
static size_t split(char *s, char **items, size_t max, bool *over)
{
	size_t n = 0;

	*over = false;
	if (strcmp(s, "-") == 0)
		return 0;
	for (char *save = NULL, *t = strtok_r(s, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (n == max) {
			*over = true;
			return n;
		}
		items[n++] = t;
	}
	return n;
}

/* Parses one line's fields after NAME and DEPTH into p (zeroed by the
 * caller). 0, AM_EDECODE (not a line policy_history_write wrote) or
 * AM_ENOMEM; p is freed on failure. */
static int parse_fields(char *rest, struct policy_export *p)
{
	char *f[8], *save = NULL, *items[POLICY_LIST_MAX];
	unsigned configured, categories, min_conf, sightings;
	int origins, tlp;
	size_t n = 0;
	bool over;

	for (char *t = strtok_r(rest, " \n", &save); t != NULL && n < 8; t = strtok_r(NULL, " \n", &save))
		f[n++] = t;
	if (n != 8 || sscanf(f[0], "%u", &configured) != 1 || configured > 1 ||
	    sscanf(f[1], "%x", &categories) != 1 || sscanf(f[2], "%u", &min_conf) != 1 || min_conf > 100 ||
	    sscanf(f[3], "%d", &origins) != 1 || origins < POLICY_ORIGINS_OWN || origins > POLICY_ORIGINS_NEIGHBOUR ||
	    sscanf(f[4], "%d", &tlp) != 1 || tlp < AM_TLP_NONE || tlp >= AM_TLP_COUNT ||
	    sscanf(f[5], "%u", &sightings) != 1 || sightings > 1)
		return AM_EDECODE;
	p->sightings = sightings == 1;
	p->configured = configured == 1;
	p->categories = categories;
	p->min_confidence = (uint8_t)min_conf;
	p->origins = (enum policy_origins)origins;
	p->max_tlp = (enum am_tlp)tlp;
	size_t nk = split(f[6], items, POLICY_LIST_MAX, &over);
	if (over)
		return AM_EDECODE;
	if (nk && (p->origin_list.keys = calloc(nk, sizeof *p->origin_list.keys)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < nk; i++) {
		size_t len;
		if (sodium_hex2bin(p->origin_list.keys[i], AM_KEY_BYTES, items[i], strlen(items[i]), NULL, &len, NULL) != 0 ||
		    len != AM_KEY_BYTES)
			goto bad;
		p->origin_list.n_keys++;
	}
	size_t ns = split(f[7], items, POLICY_LIST_MAX, &over);
	if (over)
		goto bad;
	if (ns && (p->suffixes = calloc(ns, sizeof *p->suffixes)) == NULL) {
		policy_export_free(p);
		return AM_ENOMEM;
	}
	for (size_t i = 0; i < ns; i++) {
		if (strlen(items[i]) > AM_DOMAIN_MAX)
			goto bad;
		memcpy(p->suffixes[i], items[i], strlen(items[i]) + 1);
		p->n_suffixes++;
	}
	return 0;
bad:
	policy_export_free(p);
	return AM_EDECODE;
}

int policy_history_read(FILE *f, const char *name, struct policy_export *out)
{
	struct policy_export *at[POLICY_EXPORT_BEFORE_MAX + 1] = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rv = 0;

	if (out == NULL)
		return AM_EINVAL;
	memset(out, 0, sizeof *out);
	if (f == NULL || name == NULL)
		return AM_EINVAL;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *sp = strchr(line, ' '), *rest;
		unsigned long depth;
		if (len > LINE_MAX_BYTES || sp == NULL)
			continue;
		*sp = '\0';
		if (strcmp(line, name) != 0)
			continue;
		depth = strtoul(sp + 1, &rest, 10);
		if (rest == sp + 1 || *rest != ' ' || depth > POLICY_EXPORT_BEFORE_MAX || at[depth] != NULL)
			continue; /* not a line policy_history_write wrote */
		struct policy_export *p = calloc(1, sizeof *p);
		if (p == NULL) {
			rv = AM_ENOMEM;
			goto out;
		}
		if ((rv = parse_fields(rest + 1, p)) != 0) {
			free(p);
			if (rv == AM_ENOMEM)
				goto out;
			rv = 0;
			continue;
		}
		at[depth] = p;
	}
	/* depth 0 in force, then the ones it replaced, up to the first gap */
	if (at[0] != NULL) {
		*out = *at[0];
		free(at[0]); /* its fields are *out's now */
		at[0] = NULL;
		struct policy_export *tail = out;
		for (size_t d = 1; d <= POLICY_EXPORT_BEFORE_MAX && at[d] != NULL; d++) {
			tail->before = at[d];
			tail = at[d];
			at[d] = NULL;
		}
	}
out:
	for (size_t d = 0; d <= POLICY_EXPORT_BEFORE_MAX; d++)
		if (at[d] != NULL) {
			policy_export_free(at[d]);
			free(at[d]);
		}
	if (rv != 0)
		policy_export_free(out);
	free(line);
	return rv;
}

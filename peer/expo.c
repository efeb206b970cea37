/* expo.c - Prometheus text exposition format 0.0.4. */
#include "expo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

void expo_init(struct expo *e)
{
	memset(e, 0, sizeof *e);
}

static void put(struct expo *e, const char *s, size_t n)
{
	if (e->failed)
		return;
	if (e->len + n + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		while (cap < e->len + n + 1)
			cap *= 2;
		char *b = realloc(e->buf, cap);
		if (!b) {
			free(e->buf);
			e->buf = NULL;
			e->failed = true;
			return;
		}
		e->buf = b;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

static void puts_(struct expo *e, const char *s)
{
	put(e, s, strlen(s));
}

void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help)
{
	static const char *types[] = {"counter", "gauge", "histogram"};

	puts_(e, "# HELP ");
	puts_(e, name);
	put(e, " ", 1);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			puts_(e, "\\\\");
		else if (*p == '\n')
			puts_(e, "\\n");
		else
			put(e, p, 1);
	}
	puts_(e, "\n# TYPE ");
	puts_(e, name);
	put(e, " ", 1);
	puts_(e, types[type]);
	put(e, "\n", 1);
}

static void label_value(struct expo *e, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '\\')
			puts_(e, "\\\\");
		else if (*p == '"')
			puts_(e, "\\\"");
		else if (*p == '\n')
			puts_(e, "\\n");
		else if (*p < 0x20 || *p >= 0x7f)
			put(e, "?", 1);
		else
			put(e, (const char *)p, 1);
	}
}

/* name{l...,extra="xv"} with extra optional. */
static void series(struct expo *e, const char *name, const char *suffix, const struct expo_label *l,
                   size_t nl, const char *extra, const char *xv)
{
	puts_(e, name);
	puts_(e, suffix);
	if (nl == 0 && !extra)
		return;
	put(e, "{", 1);
	for (size_t i = 0; i < nl; i++) {
		if (i)
			put(e, ",", 1);
		puts_(e, l[i].name);
		puts_(e, "=\"");
		label_value(e, l[i].value ? l[i].value : "");
		put(e, "\"", 1);
	}
	if (extra) {
		if (nl)
			put(e, ",", 1);
		puts_(e, extra);
		puts_(e, "=\"");
		puts_(e, xv);
		put(e, "\"", 1);
	}
	put(e, "}", 1);
}

static void value_u64(struct expo *e, uint64_t v)
{
	char num[32];
	int n = snprintf(num, sizeof num, " %llu\n", (unsigned long long)v);
	put(e, num, (size_t)n);
}

static void value_double(struct expo *e, double v)
{
	char num[48];
	int n;
	if (isnan(v))
		n = snprintf(num, sizeof num, " NaN\n");
	else if (isinf(v))
		n = snprintf(num, sizeof num, " %sInf\n", v > 0 ? "+" : "-");
	else
		n = snprintf(num, sizeof num, " %.17g\n", v);
	put(e, num, (size_t)n);
}

void expo_u64(struct expo *e, const char *name, const struct expo_label *l, size_t nl, uint64_t v)
{
	series(e, name, "", l, nl, NULL, NULL);
	value_u64(e, v);
}

void expo_double(struct expo *e, const char *name, const struct expo_label *l, size_t nl, double v)
{
	series(e, name, "", l, nl, NULL, NULL);
	value_double(e, v);
}

void expo_hist(struct expo *e, const char *name, const struct expo_label *l, size_t nl,
               const struct hist *h)
{
	uint64_t cum = 0;
	char le[32];

	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		snprintf(le, sizeof le, "%g", hist_bounds[i]);
		series(e, name, "_bucket", l, nl, "le", le);
		value_u64(e, cum);
	}
	series(e, name, "_bucket", l, nl, "le", "+Inf");
	value_u64(e, h->count);
	series(e, name, "_sum", l, nl, NULL, NULL);
	value_double(e, h->sum);
	series(e, name, "_count", l, nl, NULL, NULL);
	value_u64(e, h->count);
}

int expo_finish(struct expo *e, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (e->failed || !e->buf) {
		bool failed = e->failed;
		expo_discard(e);
		if (failed)
			return AM_ENOMEM;
		*out = calloc(1, 1); /* nothing was written: an empty page */
		return *out ? 0 : AM_ENOMEM;
	}
	*out = e->buf;
	*len = e->len;
	e->buf = NULL;
	e->len = e->cap = 0;
	return 0;
}

void expo_discard(struct expo *e)
{
	free(e->buf);
	expo_init(e);
}

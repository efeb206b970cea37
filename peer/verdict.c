/* verdict.c - noisy-OR combination of many origins' signals into one verdict per category. */
#include "verdict.h"

#include <math.h>
#include <string.h>

#define DEFAULT_WARN 50.0
#define DEFAULT_BLOCK 80.0

/*
 * Slack when comparing a score with a threshold. In binary a lone 20%
 * signal scores 19.999999999999996 and two at 70% score 90.99999999999999;
 * an operator who sets a threshold at 20 or 91 expects those to reach it.
 */
#define THRESHOLD_SLACK 1e-9

static double clamp01(double x)
{
	/* NaN compares false with everything: test it first, count it as 0. */
	if (isnan(x) || x < 0.0)
		return 0.0;
	return x > 1.0 ? 1.0 : x;
}

static uint8_t clamp_confidence(uint8_t c)
{
	return c > 100 ? 100 : c;
}

/* Remaining fraction of the lifetime. A degenerate lifetime (issued at or
 * after expiry) cannot be scaled, so it does not decay; a signal issued in
 * the future has all of its lifetime left. Caller ensures expires_at > now. */
static double decay_of(const struct verdict_input *v, uint64_t now)
{
	if (v->issued_at >= v->expires_at)
		return 1.0;
	return clamp01((double)(v->expires_at - now) / (double)(v->expires_at - v->issued_at));
}

static double p_of(const struct verdict_input *v, bool decay, uint64_t now)
{
	double d = decay ? decay_of(v, now) : 1.0;

	return clamp_confidence(v->confidence) / 100.0 * clamp01(v->weight) * d;
}

static bool counts(const struct verdict_input *v, uint64_t now)
{
	return (int)v->category >= 0 && v->category < AM_CAT_COUNT && v->expires_at > now;
}

/*
 * True if input j displaces input i as its origin's one signal in the
 * category: the more specific name wins, then the higher p, then (so that
 * exactly one of equals wins) the earlier input.
 */
static bool beats(const struct verdict_input *in, size_t j, double pj, size_t i, double pi)
{
	if (in[j].depth != in[i].depth)
		return in[j].depth < in[i].depth;
	if (pj != pi)
		return pj > pi;
	return j < i;
}

/* Inserts c keeping contrib sorted by p descending, equal p in input order;
 * when full, the weakest falls off the end. */
static void add_contrib(struct verdict *v, const struct verdict_contrib *c)
{
	size_t at = v->n_contrib;

	while (at > 0 && v->contrib[at - 1].p < c->p)
		at--;
	if (at >= VERDICT_CONTRIB_MAX)
		return;
	size_t n = v->n_contrib < VERDICT_CONTRIB_MAX ? v->n_contrib : VERDICT_CONTRIB_MAX - 1;
	memmove(&v->contrib[at + 1], &v->contrib[at], (n - at) * sizeof v->contrib[0]);
	v->contrib[at] = *c;
	if (v->n_contrib < VERDICT_CONTRIB_MAX)
		v->n_contrib++;
}

static enum verdict_level level_of(double score, double warn, double block)
{
	if (score + THRESHOLD_SLACK >= block)
		return VERDICT_BLOCK;
	if (score + THRESHOLD_SLACK >= warn)
		return VERDICT_WARN;
	return VERDICT_INFO;
}

/*
 * Deduplication compares every live input with every other of the same
 * origin and category: O(n^2) without allocation. n is the signals on one
 * name and its parents, a handful in practice; a caller that could pass
 * thousands should bound n first.
 */
void verdict_combine(const struct verdict_input *in, size_t n, const struct verdict_opts *o,
                     uint64_t now, struct verdict out[AM_CAT_COUNT], size_t *n_out)
{
	bool decay = o ? o->decay : false;
	double warn = o ? o->warn_threshold : DEFAULT_WARN;
	double block = o ? o->block_threshold : DEFAULT_BLOCK;
	double keep[AM_CAT_COUNT]; /* prod (1 - p_i): the chance no origin is right */
	int slot[AM_CAT_COUNT];
	size_t used = 0;

	if (n_out)
		*n_out = 0;
	if (!in || !out || !n_out)
		return;

	/* Verdicts in category order, one per category with a live input. */
	for (int c = 0; c < AM_CAT_COUNT; c++) {
		slot[c] = -1;
		keep[c] = 1.0;
		for (size_t i = 0; i < n; i++)
			if (counts(&in[i], now) && in[i].category == (enum am_category)c) {
				slot[c] = (int)used;
				out[used].category = (enum am_category)c;
				out[used].score = 0.0;
				out[used].level = VERDICT_INFO;
				out[used].n_contrib = 0;
				used++;
				break;
			}
	}

	for (size_t i = 0; i < n; i++) {
		const struct verdict_input *v = &in[i];
		bool winner = true;

		if (!counts(v, now))
			continue;
		double pi = p_of(v, decay, now);
		for (size_t j = 0; j < n && winner; j++) {
			if (j == i || !counts(&in[j], now) || in[j].category != v->category ||
			    memcmp(in[j].origin, v->origin, AM_KEY_BYTES) != 0)
				continue;
			if (beats(in, j, p_of(&in[j], decay, now), i, pi))
				winner = false;
		}
		if (!winner)
			continue;

		struct verdict *vd = &out[slot[v->category]];
		struct verdict_contrib c;
		memcpy(c.origin, v->origin, AM_KEY_BYTES);
		c.domain[0] = '\0';
		if (v->domain) {
			/* strnlen: a caller's overlong name is cut, never over-read */
			size_t dl = strnlen(v->domain, AM_DOMAIN_MAX);
			memcpy(c.domain, v->domain, dl);
			c.domain[dl] = '\0';
		}
		c.p = pi;
		c.weight = clamp01(v->weight);
		c.decay = decay ? decay_of(v, now) : 1.0;
		c.confidence = clamp_confidence(v->confidence);
		add_contrib(vd, &c);
		keep[v->category] *= 1.0 - pi;
	}

	for (int c = 0; c < AM_CAT_COUNT; c++) {
		if (slot[c] < 0)
			continue;
		struct verdict *vd = &out[slot[c]];
		double score = 100.0 * (1.0 - keep[c]);
		vd->score = score < 0.0 ? 0.0 : (score > 100.0 ? 100.0 : score);
		vd->level = level_of(vd->score, warn, block);
	}
	*n_out = used;
}

const char *verdict_level_name(enum verdict_level l)
{
	static const char *const names[] = {
		[VERDICT_NONE] = "none",
		[VERDICT_INFO] = "info",
		[VERDICT_WARN] = "warn",
		[VERDICT_BLOCK] = "block",
		[VERDICT_ALLOWLISTED] = "allowlisted",
	};

	if ((int)l < 0 || (size_t)l >= sizeof names / sizeof names[0])
		return "?";
	return names[l];
}

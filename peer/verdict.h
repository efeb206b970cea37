/*
 * verdict.h - one combined verdict per category from many origins' signals.
 *
 * An operator asks "is this name bad?", not "what did each party say?". For
 * each category the signals matching a name (the name or a parent) are
 * combined as independent evidence weighted by how much this peer trusts
 * each origin:
 *
 *   c_i   = local confidence of signal i / 100          (0..1)
 *   w_i   = trust weight of its origin                   (0..1, config)
 *   d_i   = decay: 1, or with decay on, the remaining fraction of the
 *           signal's lifetime, (expires - now) / (expires - issued)
 *   p_i   = c_i * w_i * d_i
 *   score = 100 * (1 - prod_i (1 - p_i))                 (0..100)
 *
 * A "noisy-OR": each origin's belief counts, agreeing origins reinforce each
 * other, and no single weak signal reaches 100. At most one signal per
 * origin counts per category (the most specific name, then the highest
 * p_i), so one origin cannot outvote others by repeating itself on parents.
 * Each contribution is reported, so the verdict explains itself.
 *
 * Levels: score >= block_threshold -> "block"; >= warn_threshold -> "warn";
 * else "info". An allowlisted name gets "allowlisted" whatever the score,
 * with the matching allowlist entry as the reason.
 */
#ifndef AMESH_VERDICT_H
#define AMESH_VERDICT_H

#include "model.h"

#define VERDICT_CONTRIB_MAX 64

struct verdict_input {
	uint8_t origin[AM_KEY_BYTES];
	const char *domain;        /* the name the signal is on (the query name or a parent) */
	unsigned depth;            /* 0 = the query name itself, 1 = its parent, ... */
	enum am_category category;
	uint8_t confidence;        /* local confidence, 0..100 */
	uint64_t issued_at, expires_at;
	double weight;             /* trust weight of the origin, 0..1 */
};

struct verdict_contrib {
	uint8_t origin[AM_KEY_BYTES];
	char domain[AM_DOMAIN_MAX + 1];
	double p;                  /* c * w * d */
	double weight, decay;
	uint8_t confidence;
};

enum verdict_level { VERDICT_NONE = 0, VERDICT_INFO, VERDICT_WARN, VERDICT_BLOCK, VERDICT_ALLOWLISTED };

struct verdict {
	enum am_category category;
	double score;              /* 0..100 */
	enum verdict_level level;
	struct verdict_contrib contrib[VERDICT_CONTRIB_MAX];
	size_t n_contrib;
};

struct verdict_opts {
	bool decay;
	double warn_threshold;     /* default 50 */
	double block_threshold;    /* default 80 */
};

/* Combines n inputs into one verdict per category present (out has room
 * for AM_CAT_COUNT; *n_out set). now is used for decay. Inputs with
 * expires_at <= now are ignored. Pure function: no allocation. */
void verdict_combine(const struct verdict_input *in, size_t n, const struct verdict_opts *o,
                     uint64_t now, struct verdict out[AM_CAT_COUNT], size_t *n_out);

const char *verdict_level_name(enum verdict_level l);

#endif

/* dispute_route.c - where a dispute may travel (see the header). */
#include "dispute_route.h"

enum policy_reason dispute_route_export(enum am_tlp tlp, bool self_is_origin, bool nb_is_origin,
                                        bool way_back, enum am_tlp nb_max_tlp)
{
	switch (tlp) {
	case AM_TLP_RED:
		return POLICY_TLP_RED;
	case AM_TLP_AMBER:
	case AM_TLP_AMBER_STRICT:
		if (nb_is_origin)
			return POLICY_OK;
		if (!self_is_origin)
			return POLICY_TLP_AMBER;
		return way_back || tlp <= nb_max_tlp ? POLICY_OK : POLICY_TLP_MAX;
	case AM_TLP_CLEAR:
	case AM_TLP_GREEN:
		if (nb_is_origin || way_back || tlp <= nb_max_tlp)
			return POLICY_OK;
		return POLICY_TLP_MAX;
	default:
		return POLICY_TLP_RED; /* unknown: the most restrictive */
	}
}

bool dispute_bucket_take(struct dispute_bucket *b, uint64_t rate, uint64_t now)
{
	if (rate == 0)
		rate = DISPUTE_RATE_DEFAULT;
	if (!b->started) {
		b->started = true;
		b->tokens = (double)rate;
		b->last = now;
	}
	if (now > b->last) {
		b->tokens += (double)(now - b->last) * (double)rate / 3600.0;
		if (b->tokens > (double)rate)
			b->tokens = (double)rate;
		b->last = now;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

enum policy_reason dispute_route_import(enum am_tlp tlp, bool self_is_origin, bool nb_is_origin)
{
	switch (tlp) {
	case AM_TLP_CLEAR:
	case AM_TLP_GREEN:
		return POLICY_OK;
	case AM_TLP_AMBER:
	case AM_TLP_AMBER_STRICT:
		return self_is_origin || nb_is_origin ? POLICY_OK : POLICY_TLP_AMBER;
	default:
		return POLICY_TLP_RED;
	}
}

enum am_tlp dispute_route_tlp(enum am_tlp claimed, const enum am_tlp *held)
{
	if (claimed <= AM_TLP_NONE || claimed >= AM_TLP_COUNT)
		return AM_TLP_RED;
	if (held && (*held <= AM_TLP_NONE || *held >= AM_TLP_COUNT))
		return AM_TLP_RED;
	return held && *held > claimed ? *held : claimed;
}

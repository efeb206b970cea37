/* clockstep.c - a forward step of the wall clock holds the sweep back. */
#include "clockstep.h"

bool clockstep_sweep_ok(struct clockstep *c, uint64_t wall_ms, uint64_t mono_ms, uint64_t *step_ms)
{
	int64_t offset = (int64_t)wall_ms - (int64_t)mono_ms;

	*step_ms = 0;
	if (!c->have) {
		c->have = true;
		c->offset_ms = offset;
		return true;
	}
	int64_t moved = offset - c->offset_ms;
	c->offset_ms = offset;
	if (moved >= (int64_t)CLOCKSTEP_MIN_MS) {
		*step_ms = (uint64_t)moved;
		c->hold_until = mono_ms + CLOCKSTEP_HOLD_MS;
		return false;
	}
	if (moved <= -(int64_t)CLOCKSTEP_MIN_MS)
		c->hold_until = 0;
	return mono_ms >= c->hold_until;
}

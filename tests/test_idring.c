/* test_idring.c - the ids a neighbour announced: found, forgotten oldest first past IDRING_MAX, cleared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "idring.h"

static void id_of(uint8_t id[AM_ID_BYTES], uint32_t i)
{
	/* ids that differ only in their last bytes share a bucket (the hash
	 * is the first four bytes): the chains must still tell them apart */
	memset(id, 0x5a, AM_ID_BYTES);
	id[28] = (uint8_t)(i >> 24);
	id[29] = (uint8_t)(i >> 16);
	id[30] = (uint8_t)(i >> 8);
	id[31] = (uint8_t)i;
}

static void test_added_ids_are_found_others_not(void **state)
{
	(void)state;
	static struct idring r;
	uint8_t ids[3][AM_ID_BYTES], other[AM_ID_BYTES];
	idring_init(&r);
	for (uint32_t i = 0; i < 3; i++)
		id_of(ids[i], i);
	id_of(other, 99);
	assert_false(idring_has(&r, ids[0]));
	idring_add(&r, (const uint8_t (*)[AM_ID_BYTES])ids, 3);
	idring_add(&r, (const uint8_t (*)[AM_ID_BYTES])ids, 2); /* again: not twice */
	for (uint32_t i = 0; i < 3; i++)
		assert_true(idring_has(&r, ids[i]));
	assert_false(idring_has(&r, other));
	idring_clear(&r);
	for (uint32_t i = 0; i < 3; i++)
		assert_false(idring_has(&r, ids[i]));
	idring_destroy(&r);
}

/* Past IDRING_MAX the oldest go, one per id added, and the rest stay
 * findable (the chains are unlinked, not left dangling). */
static void test_oldest_forgotten_first(void **state)
{
	(void)state;
	static struct idring r;
	uint8_t id[AM_ID_BYTES];
	idring_init(&r);
	for (uint32_t i = 0; i < IDRING_MAX + 10; i++) {
		id_of(id, i);
		idring_add(&r, (const uint8_t (*)[AM_ID_BYTES])id, 1);
	}
	for (uint32_t i = 0; i < IDRING_MAX + 10; i++) {
		id_of(id, i);
		if (i < 10)
			assert_false(idring_has(&r, id));
		else
			assert_true(idring_has(&r, id));
	}
	idring_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_added_ids_are_found_others_not),
		cmocka_unit_test(test_oldest_forgotten_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * procmaps.h - for tests: how many kernel mappings this process has, the
 * count vm.max_map_count limits (proc(5), /proc/self/maps: one line each).
 * Used where a test bounds what secrets in guarded memory cost
 * (test_secretpool, test_session). Fails the cmocka test if unreadable.
 */
#ifndef AMESH_TESTS_PROCMAPS_H
#define AMESH_TESTS_PROCMAPS_H

#include <stddef.h>
#include <stdio.h>

static inline size_t mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

#endif

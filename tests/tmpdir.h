/*
 * tmpdir.h - for tests: a fresh private directory under /tmp, and its
 * removal with everything in it. One copy of what 18 test files each
 * spelled out (an nftw callback, or `rm -rf' through system(3), which
 * breaks on a quote in the path and forks a shell per test).
 *
 * tmpdir_make fills buf (at least 32 bytes; "/tmp/amesh-NAME.XXXXXX" made
 * by mkdtemp(3), mode 0700) and fails the cmocka test if it cannot.
 * tmpdir_remove deletes the tree without following symlinks (FTW_PHYS),
 * depth first; 0, or -1 when some entry stayed. NULL or "" is a no-op.
 */
#ifndef AMESH_TESTS_TMPDIR_H
#define AMESH_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static inline void tmpdir_make(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "/tmp/amesh-%s.XXXXXX", name) >= len || mkdtemp(buf) == NULL)
		fail_msg("cannot make a temporary directory for %s", name);
}

static inline int tmpdir_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

static inline int tmpdir_remove(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return 0;
	return nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif

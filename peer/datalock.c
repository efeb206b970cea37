/* datalock.c - one daemon per data directory (datalock.h). */
#include "datalock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

struct datalock {
	int fd;
};

/* The pid the holder wrote, or 0 when the file does not say one. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

int datalock_take(struct datalock **out, const char *dir, char *err, size_t errlen)
{
	struct datalock *l = NULL;
	char path[PATH_MAX], line[32];
	int fd = -1, rv, len;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, DATALOCK_FILE) >= sizeof path) {
		snprintf(err, errlen, "`%s': path is too long", dir);
		return AM_EINVAL;
	}
	/* the store's own mode: only the daemon's user may look inside */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "`%s': cannot create: %s", dir, strerror(errno));
		return AM_EIO;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "`%s': cannot open %s: %s", dir, DATALOCK_FILE, strerror(errno));
		rv = AM_EIO;
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK) {
			snprintf(err, errlen, "`%s': cannot lock %s: %s", dir, DATALOCK_FILE, strerror(errno));
			rv = AM_EIO;
			goto fail;
		}
		long pid = holder_pid(fd);
		char who[48] = "";
		if (pid)
			snprintf(who, sizeof who, " (pid %ld)", pid);
		snprintf(err, errlen,
		         "data_dir `%s' is in use by another ameshd%s: two daemons on one store would "
		         "interleave its audit trail and change log; stop that one first, or give this "
		         "peer a data_dir of its own", dir, who);
		rv = AM_EEXIST;
		goto fail;
	}
	/* ours now: say whose, for the next one that tries */
	len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
		snprintf(err, errlen, "`%s': cannot write %s: %s", dir, DATALOCK_FILE, strerror(errno));
		rv = AM_EIO;
		goto fail;
	}
	if ((l = malloc(sizeof *l)) == NULL) {
		snprintf(err, errlen, "`%s': out of memory", dir);
		rv = AM_ENOMEM;
		goto fail;
	}
	l->fd = fd;
	*out = l;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return rv;
}

void datalock_release(struct datalock *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l);
}

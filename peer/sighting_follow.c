/* sighting_follow.c - ameshd following a resolver's hit log: poll, count, hand over. */
#include "sighting_follow.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "monoclock.h"
#include "sighting_log.h"
#include "timefmt.h"

struct sighting_follow {
	const struct sighting_env *env;
	char path[PATH_MAX];
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop; /* under lock */

	FILE *fp;
	ino_t ino;
	uint64_t line; /* lines read from the current file */
	bool missing_logged;
	uint64_t bad;
	struct wire_sighting_row rows[WIRE_SIGHTING_ROWS_MAX];
	size_t n_rows;
	uint64_t last_flush; /* monoclock_ms: a wall clock stepped back held the counts back as long */
};

static void flush(struct sighting_follow *f)
{
	struct wire_sightings_req req = {.import = true, .rows = f->rows, .n_rows = f->n_rows};
	struct wire_sightings_res res;
	char err[AM_ERRLEN];

	f->last_flush = monoclock_ms();
	if (f->n_rows == 0)
		return;
	memset(&res, 0, sizeof res);
	int rv = sighting_store_import(f->env, &req, timefmt_now(), &res, err, sizeof err);
	if (rv != 0)
		log_error("sightings_log %s: %zu counts not stored: %s", f->path, f->n_rows, err);
	else
		log_info("sightings_log %s: %llu hits on live indicators, %llu on none", f->path,
		         (unsigned long long)res.matched, (unsigned long long)res.unmatched);
	f->n_rows = 0;
}

static void count(struct sighting_follow *f, const struct sighting_hit *h)
{
	const char *hint = h->format == SIGHTING_BIND ? h->rule : h->zone;
	uint32_t day = (uint32_t)(h->at / SIGHTING_DAY_SECONDS);

	for (size_t i = 0; i < f->n_rows; i++) {
		struct wire_sighting_row *r = &f->rows[i];
		if (r->day == day && strcmp(r->qname, h->qname) == 0 && strcmp(r->hint, hint) == 0) {
			r->count++;
			return;
		}
	}
	if (f->n_rows == WIRE_SIGHTING_ROWS_MAX)
		flush(f);
	struct wire_sighting_row *r = &f->rows[f->n_rows++];
	snprintf(r->qname, sizeof r->qname, "%s", h->qname);
	snprintf(r->hint, sizeof r->hint, "%.*s", AM_DOMAIN_MAX, hint);
	r->day = day;
	r->count = 1;
}

/* (Re)opens the file; at_end skips what is already there. */
static void open_log(struct sighting_follow *f, bool at_end)
{
	struct stat st;

	if ((f->fp = fopen(f->path, "r")) == NULL) {
		if (!f->missing_logged)
			log_warn("sightings_log %s: cannot open it (%s); trying again every second", f->path,
			         strerror(errno));
		f->missing_logged = true;
		return;
	}
	f->missing_logged = false;
	f->line = 0;
	if (fstat(fileno(f->fp), &st) == 0)
		f->ino = st.st_ino;
	if (at_end)
		fseek(f->fp, 0, SEEK_END);
}

/* Reads the complete lines written since the last call. */
static void read_new(struct sighting_follow *f)
{
	char buf[SIGHTING_LINE_MAX + 2], why[AM_ERRLEN];
	struct sighting_hit h;

	for (;;) {
		long pos = ftell(f->fp);
		if (!fgets(buf, sizeof buf, f->fp)) {
			clearerr(f->fp);
			return;
		}
		size_t n = strlen(buf);
		if (n == 0 || buf[n - 1] != '\n') {
			if (n == sizeof buf - 1) {
				/* over the cap: skip the rest of it, once it is all there */
				int c;
				while ((c = getc(f->fp)) != EOF && c != '\n')
					;
				if (c == EOF) {
					clearerr(f->fp);
					fseek(f->fp, pos, SEEK_SET);
					return;
				}
				f->line++;
				if (f->bad++ < 10 || f->bad % 1000 == 0)
					log_warn("sightings_log %s:%llu: line over %d bytes (%llu malformed lines so far)",
					         f->path, (unsigned long long)f->line, SIGHTING_LINE_MAX,
					         (unsigned long long)f->bad);
				continue;
			}
			/* a line still being written: read it whole next time */
			clearerr(f->fp);
			fseek(f->fp, pos, SEEK_SET);
			return;
		}
		f->line++;
		int rv = sighting_log_line(buf, n, SIGHTING_AUTO, timefmt_now(), &h, why, sizeof why);
		if (rv == SIGHTING_LOG_HIT)
			count(f, &h);
		else if (rv == SIGHTING_LOG_BAD && (f->bad++ < 10 || f->bad % 1000 == 0))
			log_warn("sightings_log %s:%llu: %s (%llu malformed lines so far)", f->path,
			         (unsigned long long)f->line, why, (unsigned long long)f->bad);
	}
}

static void poll_once(struct sighting_follow *f, bool first)
{
	struct stat st;

	if (!f->fp) {
		open_log(f, first);
		if (!f->fp)
			return;
	}
	read_new(f);
	/* rotated (a new file under the name) or truncated: start it over */
	if (stat(f->path, &st) == 0 && st.st_ino != f->ino) {
		read_new(f); /* the old file's last lines */
		fclose(f->fp);
		f->fp = NULL;
		open_log(f, false);
		if (f->fp)
			read_new(f);
	} else if (stat(f->path, &st) == 0 && st.st_size < ftell(f->fp)) {
		fseek(f->fp, 0, SEEK_SET);
		f->line = 0;
		read_new(f);
	}
}

static void *follow_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-follow"); /* top -H, ps -L, perf: which part is busy */
	struct sighting_follow *f = arg;
	bool first = true;

	f->last_flush = monoclock_ms();
	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		pthread_mutex_unlock(&f->lock);
		poll_once(f, first);
		first = false;
		if (monoclock_ms() - f->last_flush >= SIGHTING_FOLLOW_FLUSH * 1000u)
			flush(f);
		pthread_mutex_lock(&f->lock);
		struct timespec ts;
		monoclock_deadline(CLOCK_MONOTONIC, 1000, &ts);
		if (!f->stop)
			pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
	pthread_mutex_unlock(&f->lock);
	if (f->fp)
		read_new(f);
	flush(f);
	return NULL;
}

int sighting_follow_open(struct sighting_follow **out, const struct sighting_env *env, const char *path,
                         char *err, size_t errlen)
{
	struct sighting_follow *f;

	*out = NULL;
	if ((f = calloc(1, sizeof *f)) == NULL) {
		snprintf(err, errlen, "out of memory for the sightings_log follower");
		return AM_ENOMEM;
	}
	f->env = env;
	snprintf(f->path, sizeof f->path, "%s", path);
	pthread_mutex_init(&f->lock, NULL);
	monoclock_cond_init(&f->cond);
	if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
		snprintf(err, errlen, "cannot start the sightings_log follower: %s", strerror(errno));
		sighting_follow_close(f);
		return AM_EIO;
	}
	f->started = true;
	*out = f;
	return 0;
}

void sighting_follow_close(struct sighting_follow *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		pthread_join(f->thread, NULL);
	if (f->fp)
		fclose(f->fp);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

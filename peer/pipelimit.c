/* pipelimit.c - bounds on unauthenticated pipes, and their reaper. */
#include "pipelimit.h"
#include "monoclock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

struct tracked {
	uint32_t id;          /* 0 = free */
	uint8_t addr[16];     /* IPv4 mapped into the first 4 bytes, or IPv6 */
	bool authed;
	uint64_t since_ms;
};

struct pipelimit {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC, the clock of since_ms */
	pthread_t reaper;
	bool running, stopping;
	unsigned unauth_ms;
	/* when the reaper wakes next (monotonic ms; 0 = not until a pipe is
	 * admitted): the earliest deadline of an unauthenticated pipe */
	uint64_t next_due;
	struct tracked t[PIPELIMIT_TRACKED_MAX];
	struct pipelimit_stats st;
};

/* The remote address as 16 bytes; all zero when NNG cannot say (ipc). */
static void remote_of(nng_pipe p, uint8_t out[16])
{
	nng_sockaddr sa;
	memset(out, 0, 16);
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		return;
	if (sa.s_family == NNG_AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &sa.s_in.sa_addr, 4);
	} else if (sa.s_family == NNG_AF_INET6) {
		memcpy(out, sa.s_in6.sa_addr, 16);
	}
}

/* Sleeps until the earliest deadline of an unauthenticated pipe, or until
 * a pipe is admitted when none is waiting: no periodic wake (it polled
 * every 250 ms, on every daemon, with nothing to do - issue 13). A pipe
 * authenticated since its deadline was set costs one wake that finds
 * nothing. */
static void *reaper_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-pipes"); /* top -H, ps -L, perf: which part is busy */
	struct pipelimit *pl = arg;
	uint32_t victims[64];

	pthread_mutex_lock(&pl->lock);
	while (!pl->stopping) {
		size_t n = 0;
		uint64_t now = monoclock_ms(), next = 0;
		pl->st.wakes++;
		for (size_t i = 0; i < PIPELIMIT_TRACKED_MAX; i++) {
			if (!pl->t[i].id || pl->t[i].authed)
				continue;
			if (n < 64 && now - pl->t[i].since_ms >= pl->unauth_ms) {
				victims[n++] = pl->t[i].id;
				pl->t[i].since_ms = now; /* once per period, even if the close lags */
			}
			uint64_t due = pl->t[i].since_ms + pl->unauth_ms;
			if (!next || due < next)
				next = due;
		}
		pl->st.reaped += n;
		pl->next_due = next;
		pthread_mutex_unlock(&pl->lock);
		for (size_t i = 0; i < n; i++) {
			nng_pipe p = NNG_PIPE_INITIALIZER;
			p.id = victims[i];
			nng_pipe_close(p); /* ENOENT if it went meanwhile: fine */
		}
		pthread_mutex_lock(&pl->lock);
		if (pl->stopping)
			break;
		/* a pipe admitted meanwhile lowered next_due, or set it */
		if (!pl->next_due) {
			pthread_cond_wait(&pl->cond, &pl->lock);
		} else if (pl->next_due > monoclock_ms()) {
			struct timespec ts = {.tv_sec = (time_t)(pl->next_due / 1000),
			                      .tv_nsec = (long)(pl->next_due % 1000) * 1000000L};
			pthread_cond_timedwait(&pl->cond, &pl->lock, &ts);
		}
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

int pipelimit_new(struct pipelimit **out, unsigned unauth_ms)
{
	struct pipelimit *pl;

	*out = NULL;
	if ((pl = calloc(1, sizeof *pl)) == NULL)
		return AM_ENOMEM;
	pl->unauth_ms = unauth_ms ? unauth_ms : PIPELIMIT_UNAUTH_MS;
	pthread_mutex_init(&pl->lock, NULL);
	monoclock_cond_init(&pl->cond);
	if (pthread_create(&pl->reaper, NULL, reaper_main, pl) != 0) {
		pthread_cond_destroy(&pl->cond);
		pthread_mutex_destroy(&pl->lock);
		free(pl);
		return AM_EIO;
	}
	pl->running = true;
	*out = pl;
	return 0;
}

void pipelimit_stop(struct pipelimit *pl)
{
	if (!pl || !pl->running)
		return;
	pthread_mutex_lock(&pl->lock);
	pl->stopping = true;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	pthread_join(pl->reaper, NULL);
	pl->running = false;
}

void pipelimit_free(struct pipelimit *pl)
{
	if (!pl)
		return;
	pipelimit_stop(pl);
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
	free(pl);
}

bool pipelimit_admit(void *arg, nng_pipe p)
{
	struct pipelimit *pl = arg;
	uint8_t addr[16];
	size_t same = 0, same_unauth = 0, unauth = 0, slot = PIPELIMIT_TRACKED_MAX;
	bool ok;

	remote_of(p, addr);
	pthread_mutex_lock(&pl->lock);
	for (size_t i = 0; i < PIPELIMIT_TRACKED_MAX; i++) {
		if (!pl->t[i].id) {
			if (slot == PIPELIMIT_TRACKED_MAX)
				slot = i;
			continue;
		}
		bool here = memcmp(pl->t[i].addr, addr, 16) == 0;
		same += here;
		same_unauth += here && !pl->t[i].authed;
		unauth += !pl->t[i].authed;
	}
	if (same >= PIPELIMIT_PER_ADDR || same_unauth >= PIPELIMIT_UNAUTH_PER_ADDR) {
		pl->st.refused_addr++;
		ok = false;
	} else if (unauth >= PIPELIMIT_UNAUTH_MAX || slot == PIPELIMIT_TRACKED_MAX) {
		pl->st.refused_unauth++;
		ok = false;
	} else {
		pl->t[slot].id = (uint32_t)nng_pipe_id(p);
		memcpy(pl->t[slot].addr, addr, 16);
		pl->t[slot].authed = false;
		pl->t[slot].since_ms = monoclock_ms();
		ok = true;
		/* the reaper sleeps past this pipe's deadline: wake it to look */
		uint64_t due = pl->t[slot].since_ms + pl->unauth_ms;
		if (!pl->next_due || due < pl->next_due) {
			pl->next_due = due;
			pthread_cond_signal(&pl->cond);
		}
	}
	pthread_mutex_unlock(&pl->lock);
	return ok;
}

void pipelimit_authed(struct pipelimit *pl, nng_pipe p)
{
	uint32_t id = (uint32_t)nng_pipe_id(p);
	if (!pl || !id)
		return;
	pthread_mutex_lock(&pl->lock);
	for (size_t i = 0; i < PIPELIMIT_TRACKED_MAX; i++)
		if (pl->t[i].id == id)
			pl->t[i].authed = true;
	pthread_mutex_unlock(&pl->lock);
}

void pipelimit_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct pipelimit *pl = arg;
	uint32_t id = (uint32_t)nng_pipe_id(p);
	(void)ev;
	pthread_mutex_lock(&pl->lock);
	for (size_t i = 0; i < PIPELIMIT_TRACKED_MAX; i++)
		if (pl->t[i].id == id)
			memset(&pl->t[i], 0, sizeof pl->t[i]);
	pthread_mutex_unlock(&pl->lock);
}

void pipelimit_stats(struct pipelimit *pl, struct pipelimit_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!pl)
		return;
	pthread_mutex_lock(&pl->lock);
	*out = pl->st;
	for (size_t i = 0; i < PIPELIMIT_TRACKED_MAX; i++) {
		out->pipes += pl->t[i].id != 0;
		out->unauth += pl->t[i].id && !pl->t[i].authed;
	}
	pthread_mutex_unlock(&pl->lock);
}

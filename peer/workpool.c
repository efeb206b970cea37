/* workpool.c - a small fixed pool of threads running one parallel loop at a time. */
#include "workpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "model.h"

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t work; /* a loop opened, or stop */
	pthread_cond_t done; /* a helper left a loop */
	pthread_mutex_t busy; /* held by the loop that has the helpers */
	pthread_t *threads;
	unsigned n_threads;
	bool stop;
	/* the loop in progress; fn, arg, n and open are guarded by lock */
	uint64_t gen;
	bool open;
	void (*fn)(void *arg, size_t i);
	void *arg;
	size_t n;
	size_t next;     /* atomic: the next index to take */
	unsigned active; /* helpers inside the loop */
};

static void drain(struct workpool *p, void (*fn)(void *, size_t), void *arg, size_t n)
{
	size_t i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < n)
		fn(arg, i);
}

static void *helper_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-pool"); /* top -H, ps -L, perf: which part is busy */
	struct workpool *p = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		if (!p->open || p->gen == seen) {
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		/* join only an open loop: workpool_run waits for us before it
		 * returns, so fn and arg stay valid while we use them */
		seen = p->gen;
		void (*fn)(void *, size_t) = p->fn;
		void *farg = p->arg;
		size_t n = p->n;
		p->active++;
		pthread_mutex_unlock(&p->lock);
		drain(p, fn, farg, n);
		pthread_mutex_lock(&p->lock);
		if (--p->active == 0)
			pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

unsigned workpool_default_helpers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return n - 1 > WORKPOOL_HELPERS_MAX ? WORKPOOL_HELPERS_MAX : (unsigned)(n - 1);
}

int workpool_new(struct workpool **out, unsigned helpers)
{
	struct workpool *p;

	*out = NULL;
	if (helpers > WORKPOOL_HELPERS_MAX)
		helpers = WORKPOOL_HELPERS_MAX;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return AM_ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	pthread_mutex_init(&p->busy, NULL);
	if (helpers && (p->threads = calloc(helpers, sizeof *p->threads)) == NULL) {
		workpool_free(p);
		return AM_ENOMEM;
	}
	for (unsigned i = 0; i < helpers; i++) {
		if (pthread_create(&p->threads[i], NULL, helper_main, p) != 0) {
			workpool_free(p);
			return AM_EIO;
		}
		p->n_threads++;
	}
	*out = p;
	return 0;
}

void workpool_free(struct workpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_mutex_destroy(&p->busy);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void workpool_start(struct workpool *p, struct workpool_job *job, size_t n, void (*fn)(void *arg, size_t i),
                    void *arg)
{
	*job = (struct workpool_job){.n = n, .fn = fn, .arg = arg};
	if (!p || p->n_threads == 0 || n < 2 || pthread_mutex_trylock(&p->busy) != 0)
		return; /* no helpers, nothing to share, or they are on another loop */
	job->p = p;
	pthread_mutex_lock(&p->lock);
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	__atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
	p->gen++;
	p->open = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void workpool_finish(struct workpool_job *job)
{
	struct workpool *p = job->p;

	if (!p) {
		for (size_t i = 0; i < job->n; i++)
			job->fn(job->arg, i);
		job->n = 0;
		return;
	}
	drain(p, job->fn, job->arg, job->n);
	/* close the loop to latecomers, then wait for the helpers inside it */
	pthread_mutex_lock(&p->lock);
	p->open = false;
	while (p->active)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->busy);
	job->p = NULL;
	job->n = 0;
}

void workpool_run(struct workpool *p, size_t n, void (*fn)(void *arg, size_t i), void *arg)
{
	struct workpool_job job;

	workpool_start(p, &job, n, fn, arg);
	workpool_finish(&job);
}

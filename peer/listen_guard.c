/* listen_guard.c - probes every listener and re-creates the deaf ones. */
#include "listen_guard.h"
#include "monoclock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"

struct listen_guard_entry {
	struct listen_guard *g;
	struct listen_guard_entry *next;
	struct listen_guard_ops ops;
	void *arg;
	struct sockaddr_storage addr; /* under g->lock */
	socklen_t addrlen;
	uint64_t accepted;            /* atomic: bumped by the owner */
	uint64_t seen;                /* accepted at the last look */
	uint64_t restarts;            /* atomic */
	int failures;
	bool busy;                    /* the thread is probing or restarting it */
	/* why the last re-creation failed, "" = it did not: a restart that
	 * keeps failing is retried every look but logged only when its
	 * reason changes (it logged a warning and an error every second,
	 * the warning with an empty reason, for as long as it lasted) */
	char failing[AM_ERRLEN];
	uint64_t failed_tries;
};

struct listen_guard {
	pthread_mutex_t lock;
	pthread_cond_t cond;          /* wakes the thread to stop; wakes removers */
	pthread_t thread;
	bool stopping;
	struct listen_guard_entry *entries;
};

static bool stopping(struct listen_guard *g)
{
	return __atomic_load_n(&g->stopping, __ATOMIC_ACQUIRE);
}

/* Waits for fd to become ready for events, until the deadline; checks the
 * stop flag every 50 ms so a probe never holds up shutdown. */
static int wait_fd(struct listen_guard *g, int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = monoclock_ms();
		if (stopping(g) || now >= deadline)
			return -1;
		struct pollfd pfd = {.fd = fd, .events = events};
		int left = (int)(deadline - now);
		int n = poll(&pfd, 1, left < 50 ? left : 50);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* One probe. Returns true when the listener accepted the connection; else
 * why says what failed. */
static bool probe(struct listen_guard *g, struct listen_guard_entry *e, const struct sockaddr_storage *addr,
                  socklen_t addrlen, char *why, size_t whylen)
{
	uint64_t deadline = monoclock_ms() + LISTEN_GUARD_PROBE_MS;
	uint64_t before = __atomic_load_n(&e->accepted, __ATOMIC_ACQUIRE);
	uint8_t answer[LISTEN_GUARD_OPENING_MAX];
	size_t done;
	bool ok = false;
	int fd, err = 0;
	socklen_t errlen = sizeof err;

	if ((fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, whylen, "cannot make a probe socket: %s", strerror(errno));
		return true; /* our problem, not the listener's: do not restart it */
	}
	if (connect(fd, (const struct sockaddr *)addr, addrlen) != 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			snprintf(why, whylen, "connect: %s", strerror(errno));
			goto out;
		}
		if (wait_fd(g, fd, POLLOUT, deadline) != 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0 || err != 0) {
			snprintf(why, whylen, "connect: %s", err ? strerror(err) : "timed out");
			goto out;
		}
	}
	for (done = 0; done < e->ops.hello_len;) {
		ssize_t n = send(fd, e->ops.hello + done, e->ops.hello_len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(g, fd, POLLOUT, deadline) != 0)
				break;
		} else {
			break;
		}
	}
	if (done < e->ops.hello_len) {
		snprintf(why, whylen, "could not send the opening");
		goto out;
	}
	for (done = 0; done < e->ops.answer_len;) {
		ssize_t n = recv(fd, answer + done, e->ops.answer_len - done, 0);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(g, fd, POLLIN, deadline) != 0)
				break;
		} else {
			break;
		}
	}
	if (done < e->ops.answer_len) {
		snprintf(why, whylen, "no opening from the listener (%zu of %zu bytes)", done, e->ops.answer_len);
		goto out;
	}
	/* the connection is open and greeted: now the owner must see it */
	while (!stopping(g) && monoclock_ms() < deadline) {
		if (__atomic_load_n(&e->accepted, __ATOMIC_ACQUIRE) != before) {
			ok = true;
			goto out;
		}
		usleep(5000);
	}
	snprintf(why, whylen, "connection completed but not accepted within %d ms", LISTEN_GUARD_PROBE_MS);
out:
	close(fd);
	return ok || stopping(g);
}

/* One look at e, outside the lock (e->busy keeps it alive). */
static void look(struct listen_guard *g, struct listen_guard_entry *e, const struct sockaddr_storage *addr,
                 socklen_t addrlen)
{
	char why[160] = "", err[AM_ERRLEN] = "";
	uint64_t acc = __atomic_load_n(&e->accepted, __ATOMIC_ACQUIRE);

	if (acc != e->seen) {
		/* real traffic proved it since the last look: no probe needed */
		e->seen = acc;
		e->failures = 0;
		return;
	}
	/* a probe can fail by bad luck (a storm filling the backlog): only
	 * failures in a row, tried at once, count */
	while (e->failures < LISTEN_GUARD_FAILURES && !stopping(g)) {
		if (probe(g, e, addr, addrlen, why, sizeof why)) {
			e->seen = __atomic_load_n(&e->accepted, __ATOMIC_ACQUIRE);
			e->failures = 0;
			return;
		}
		e->failures++;
	}
	if (stopping(g))
		return;
	if (e->failing[0] == '\0')
		log_warn("%s stopped accepting connections (%s); re-creating it", e->ops.name, why);
	if (e->ops.restart(e->arg, err, sizeof err) != 0) {
		if (strcmp(err, e->failing) != 0)
			log_error("%s: cannot re-create the listener: %s; trying again every %d ms (logged again "
			          "when the reason changes)", e->ops.name, err, LISTEN_GUARD_INTERVAL_MS);
		snprintf(e->failing, sizeof e->failing, "%s", err);
		e->failed_tries++;
		return;
	}
	__atomic_add_fetch(&e->restarts, 1, __ATOMIC_RELEASE);
	e->failures = 0;
	e->seen = __atomic_load_n(&e->accepted, __ATOMIC_ACQUIRE);
	if (e->failed_tries)
		log_info("%s: listener re-created after %llu failed tries; accepting again", e->ops.name,
		         (unsigned long long)e->failed_tries);
	else
		log_info("%s: listener re-created; accepting again", e->ops.name);
	e->failing[0] = '\0';
	e->failed_tries = 0;
}

static void *guard_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-guard"); /* top -H, ps -L, perf: which part is busy */
	struct listen_guard *g = arg;
	struct sockaddr_storage addr;
	socklen_t addrlen;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		for (struct listen_guard_entry *e = g->entries; e && !g->stopping; e = e->next) {
			e->busy = true;
			addr = e->addr;
			addrlen = e->addrlen;
			pthread_mutex_unlock(&g->lock);
			look(g, e, &addr, addrlen);
			pthread_mutex_lock(&g->lock);
			e->busy = false;
			pthread_cond_broadcast(&g->cond);
		}
		struct timespec ts;
		monoclock_deadline(CLOCK_MONOTONIC, LISTEN_GUARD_INTERVAL_MS, &ts);
		if (!g->stopping)
			pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int listen_guard_open(struct listen_guard **out)
{
	struct listen_guard *g;

	*out = NULL;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return AM_ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	monoclock_cond_init(&g->cond);
	if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
		pthread_cond_destroy(&g->cond);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return AM_EIO;
	}
	*out = g;
	return 0;
}

void listen_guard_close(struct listen_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	__atomic_store_n(&g->stopping, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	/* owners remove their entries first; free any that were forgotten */
	while (g->entries) {
		struct listen_guard_entry *e = g->entries;
		g->entries = e->next;
		free(e);
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void set_addr(struct listen_guard_entry *e, const struct sockaddr *addr, socklen_t addrlen)
{
	if (addrlen > sizeof e->addr)
		addrlen = sizeof e->addr;
	memset(&e->addr, 0, sizeof e->addr);
	memcpy(&e->addr, addr, addrlen);
	e->addrlen = addrlen;
}

int listen_guard_add(struct listen_guard *g, const struct listen_guard_ops *ops, void *arg,
                     const struct sockaddr *addr, socklen_t addrlen, struct listen_guard_entry **out)
{
	struct listen_guard_entry *e;

	*out = NULL;
	if (!g)
		return 0;
	if (ops->hello_len > LISTEN_GUARD_OPENING_MAX || ops->answer_len > LISTEN_GUARD_OPENING_MAX ||
	    !ops->restart)
		return AM_EINVAL;
	if ((e = calloc(1, sizeof *e)) == NULL)
		return AM_ENOMEM;
	e->g = g;
	e->ops = *ops;
	e->arg = arg;
	set_addr(e, addr, addrlen);
	pthread_mutex_lock(&g->lock);
	e->next = g->entries;
	g->entries = e;
	pthread_mutex_unlock(&g->lock);
	*out = e;
	return 0;
}

void listen_guard_set_addr(struct listen_guard_entry *e, const struct sockaddr *addr, socklen_t addrlen)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->g->lock);
	set_addr(e, addr, addrlen);
	pthread_mutex_unlock(&e->g->lock);
}

void listen_guard_accepted(struct listen_guard_entry *e)
{
	if (e)
		__atomic_add_fetch(&e->accepted, 1, __ATOMIC_RELEASE);
}

uint64_t listen_guard_restarts(const struct listen_guard_entry *e)
{
	return e ? __atomic_load_n(&e->restarts, __ATOMIC_ACQUIRE) : 0;
}

void listen_guard_remove(struct listen_guard_entry *e)
{
	if (!e)
		return;
	struct listen_guard *g = e->g;
	pthread_mutex_lock(&g->lock);
	while (e->busy)
		pthread_cond_wait(&g->cond, &g->lock);
	for (struct listen_guard_entry **p = &g->entries; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			break;
		}
	pthread_mutex_unlock(&g->lock);
	free(e);
}

/* nnglisten.c - an NNG listener that the listen guard can re-create. */
#include "nnglisten.h"
#include "nngexit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "model.h"

struct nnglisten {
	nng_socket sock;
	char url[300];
	struct nnglisten_opts o;
	pthread_mutex_t lock;          /* l, stopped: the guard's restart vs stop */
	nng_listener l;
	uint32_t lid;                  /* atomic: id of the listener in service */
	pthread_mutex_t cb_lock;       /* entry: pipe callbacks vs stop */
	struct listen_guard_entry *entry;
	bool stopped;
	bool refusing;                 /* atomic: close every new pipe */
	uint64_t restarts;             /* atomic */
};

/* NNG runs this on its own threads for every pipe it started. */
static void pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct nnglisten *nl = arg;
	(void)ev;
	if ((uint32_t)nng_pipe_listener(p).id != __atomic_load_n(&nl->lid, __ATOMIC_ACQUIRE))
		return; /* a dialer's pipe, or one of a listener we closed */
	if (nl->o.on_pipe)
		nl->o.on_pipe(nl->o.arg, p);
}

/* Before the protocol starts the pipe: the one moment closing it is safe. */
static void pipe_arriving(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct nnglisten *nl = arg;
	(void)ev;
	if ((uint32_t)nng_pipe_listener(p).id != __atomic_load_n(&nl->lid, __ATOMIC_ACQUIRE))
		return;
	/* the listener accepted it: that is what the guard asks, whatever the
	 * owner decides (a refused probe must not look like a deaf listener) */
	pthread_mutex_lock(&nl->cb_lock);
	listen_guard_accepted(nl->entry);
	pthread_mutex_unlock(&nl->cb_lock);
	if (__atomic_load_n(&nl->refusing, __ATOMIC_ACQUIRE) || (nl->o.admit && !nl->o.admit(nl->o.arg, p)))
		nng_pipe_close(p);
}

/* Where a probe connects: the bound address, loopback for a wildcard. */
static int probe_addr(nng_listener l, struct sockaddr_storage *ss, socklen_t *len)
{
	nng_sockaddr sa;
	int rv;

	memset(ss, 0, sizeof *ss);
	if ((rv = nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa)) != 0)
		return rv;
	switch (sa.s_family) {
	case NNG_AF_INET: {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = sa.s_in.sa_port; /* both in network order */
		in->sin_addr.s_addr = sa.s_in.sa_addr ? sa.s_in.sa_addr : htonl(INADDR_LOOPBACK);
		*len = sizeof *in;
		return 0;
	}
	case NNG_AF_INET6: {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		static const uint8_t any[16];
		in6->sin6_family = AF_INET6;
		in6->sin6_port = sa.s_in6.sa_port;
		if (memcmp(sa.s_in6.sa_addr, any, 16) == 0)
			in6->sin6_addr = in6addr_loopback;
		else
			memcpy(&in6->sin6_addr, sa.s_in6.sa_addr, 16);
		*len = sizeof *in6;
		return 0;
	}
	case NNG_AF_IPC: {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;
		un->sun_family = AF_UNIX;
		/* NNG's path holds 128 bytes, sun_path 108: a longer path cannot
		 * be probed (nor bound: the kernel has the same limit) */
		int n = snprintf(un->sun_path, sizeof un->sun_path, "%s", sa.s_ipc.sa_path);
		if (n < 0 || (size_t)n >= sizeof un->sun_path)
			return NNG_EINVAL;
		*len = sizeof *un;
		return 0;
	}
	default:
		return NNG_ENOTSUP;
	}
}

/* Creates, sets up and starts a listener; on success it is in nl->l. */
static int start(struct nnglisten *nl)
{
	nng_listener l;
	int rv;

	if ((rv = nng_listener_create(&l, nl->sock, nl->url)) != 0)
		return rv;
	if ((nl->o.setup && (rv = nl->o.setup(nl->o.arg, l)) != 0) || (rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		return rv;
	}
	nl->l = l;
	__atomic_store_n(&nl->lid, (uint32_t)nng_listener_id(l), __ATOMIC_RELEASE);
	return 0;
}

static int restart(void *arg, char *err, size_t errlen)
{
	struct nnglisten *nl = arg;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int rv = 0;

	pthread_mutex_lock(&nl->lock);
	if (nl->stopped)
		goto out;
	if (nl->o.prepare && (rv = nl->o.prepare(nl->o.arg, err, errlen)) != 0) {
		pthread_mutex_unlock(&nl->lock);
		return rv;
	}
	nng_listener_close(nl->l);
	/* NNG frees a closed tcp listener's socket on its reaper thread: the
	 * port can stay taken for a moment */
	for (int i = 0; i < 40; i++) {
		if ((rv = start(nl)) != NNG_EADDRINUSE)
			break;
		usleep(25000);
	}
	if (rv != 0) {
		snprintf(err, errlen, "`%s': %s", nl->url, nng_strerror(rv));
		goto out;
	}
	__atomic_add_fetch(&nl->restarts, 1, __ATOMIC_RELEASE);
	if (probe_addr(nl->l, &ss, &len) == 0)
		listen_guard_set_addr(nl->entry, (struct sockaddr *)&ss, len);
out:
	pthread_mutex_unlock(&nl->lock);
	return rv ? AM_EIO : 0;
}

int nnglisten_open(struct nnglisten **out, struct listen_guard *g, nng_socket sock, const char *url,
                   const struct nnglisten_opts *opts, char *err, size_t errlen)
{
	struct nnglisten *nl;
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int rv;

	*out = NULL;
	if ((nl = calloc(1, sizeof *nl)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return AM_ENOMEM;
	}
	nl->sock = sock;
	nl->o = *opts;
	snprintf(nl->url, sizeof nl->url, "%s", url);
	pthread_mutex_init(&nl->lock, NULL);
	pthread_mutex_init(&nl->cb_lock, NULL);
	__atomic_store_n(&nl->lid, UINT32_MAX, __ATOMIC_RELEASE);
	if ((rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, pipe_arriving, nl)) != 0 ||
	    (rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, pipe_added, nl)) != 0 || (rv = start(nl)) != 0) {
		snprintf(err, errlen, "cannot listen on `%s': %s", url, nng_strerror(rv));
		goto fail;
	}
	if (g) {
		struct listen_guard_ops ops = {.name = nl->o.name, .restart = restart,
		                               .hello = {0, 'S', 'P', 0, (uint8_t)(opts->peer_proto >> 8),
		                                         (uint8_t)opts->peer_proto, 0, 0},
		                               .hello_len = 8, .answer_len = 8};
		struct listen_guard_entry *e;
		if ((rv = probe_addr(nl->l, &ss, &len)) != 0) {
			snprintf(err, errlen, "`%s': cannot read the bound address: %s", url, nng_strerror(rv));
			goto fail_started;
		}
		if ((rv = listen_guard_add(g, &ops, nl, (struct sockaddr *)&ss, len, &e)) != 0) {
			snprintf(err, errlen, "`%s': cannot guard the listener: %s", url, am_strerror(rv));
			goto fail_started;
		}
		pthread_mutex_lock(&nl->cb_lock);
		nl->entry = e;
		pthread_mutex_unlock(&nl->cb_lock);
	}
	*out = nl;
	return 0;
fail_started:
	nng_listener_close(nl->l);
fail:
	nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
	nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
	pthread_mutex_destroy(&nl->cb_lock);
	pthread_mutex_destroy(&nl->lock);
	free(nl);
	return AM_EIO;
}

void nnglisten_refuse(struct nnglisten *nl)
{
	if (nl)
		__atomic_store_n(&nl->refusing, true, __ATOMIC_RELEASE);
}

void nnglisten_stop(struct nnglisten *nl)
{
	if (!nl)
		return;
	/* first the guard: after this no restart can race with the close */
	pthread_mutex_lock(&nl->cb_lock);
	struct listen_guard_entry *e = nl->entry;
	nl->entry = NULL;
	pthread_mutex_unlock(&nl->cb_lock);
	listen_guard_remove(e);
	pthread_mutex_lock(&nl->lock);
	if (!nl->stopped) {
		nl->stopped = true;
		__atomic_store_n(&nl->lid, UINT32_MAX, __ATOMIC_RELEASE);
		/* closing the listener closes its pipes: not at exit (nngexit.h) */
		if (!nngexit_leaving())
			nng_listener_close(nl->l);
	}
	pthread_mutex_unlock(&nl->lock);
}

void nnglisten_free(struct nnglisten *nl)
{
	if (!nl)
		return;
	nnglisten_stop(nl);
	/* at exit the socket stays open and its pipe callbacks still read nl
	 * (they see lid UINT32_MAX and return): it lives until the process ends */
	if (nngexit_leaving())
		return;
	pthread_mutex_destroy(&nl->cb_lock);
	pthread_mutex_destroy(&nl->lock);
	free(nl);
}

uint64_t nnglisten_restarts(const struct nnglisten *nl)
{
	return nl ? __atomic_load_n(&nl->restarts, __ATOMIC_ACQUIRE) : 0;
}

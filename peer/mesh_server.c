/* mesh_server.c - the serving side: the listener, its workers and the sessions of neighbours that dial us. */
#include "mesh_server.h"

#include <arpa/inet.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdarg.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config_files.h"
#include "log.h"
#include "mesh_early.h"
#include "mesh_export.h"
#include "mesh_impl.h"
#include "mesh_ingest.h"
#include "mesh_tree.h"
#include "ratelimit.h"
#include "trace.h"
#include "session_table.h"
#include "timefmt.h"
#include "wire_sync.h"

/* --- server side (we listen, they dial) --- */

/* The neighbour a key may speak for: its current key, or during a
 * rotation's overlap its pending one. Caller holds m->lock. */
static struct nb *nb_for_key(struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	struct nb *nb = mesh_nb_by_key(m, pk);
	if (nb)
		return trust_is_trusted(&m->trust, pk) ? nb : NULL;
	const struct trust_entry *e = trust_attributable(&m->trust, pk);
	if (!e || !trust_accepts_new(&m->trust, pk))
		return NULL;
	nb = mesh_nb_by_name(m, e->name);
	return nb && !nb->removed ? nb : NULL;
}

static int srv_trust(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct mesh *m = arg;
	pthread_mutex_lock(&m->lock);
	bool ok = nb_for_key(m, pk) != NULL;
	pthread_mutex_unlock(&m->lock);
	return ok ? 0 : -1;
}

/* The peer's address as "ip:port" for the log, and the ip alone (the
 * source that rate limits key on) in host. In process (msg NULL) the
 * driver names the source, or it is "in-process". */
static void pipe_addr(nng_msg *msg, const char *source, char *out, size_t len, char *host, size_t hostlen)
{
	nng_pipe p;
	nng_sockaddr sa;
	snprintf(out, len, "%s", msg ? "?" : source ? source : "in-process");
	snprintf(host, hostlen, "%s", msg || !source ? "?" : source);
	if (!msg)
		return;
	p = nng_msg_get_pipe(msg);
	if (nng_pipe_id(p) < 0 || nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		return;
	if (sa.s_family == NNG_AF_INET) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof ip);
		snprintf(out, len, "%s:%u", ip, ntohs(sa.s_in.sa_port));
		snprintf(host, hostlen, "%s", ip);
	} else if (sa.s_family == NNG_AF_INET6) {
		char ip[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%u", ip, ntohs(sa.s_in6.sa_port));
		snprintf(host, hostlen, "%s", ip);
	}
}

/* A refusal for the log, at most REFUSAL_LOG_BURST lines at once per
 * source address (then one per REFUSAL_LOG_INTERVAL s): a flood of junk
 * must not become a flood of log (issue 8, item 12). The next line logged
 * says how many were not. */
__attribute__((format(printf, 3, 4)))
static void log_refusal(struct mesh *m, const char *host, const char *fmt, ...)
{
	char line[AM_ERRLEN * 2];
	uint64_t unlogged;
	va_list ap;

	if (!ratelimit_take(m->log_per_source, host, strlen(host), timefmt_now(), NULL)) {
		pthread_mutex_lock(&m->lock);
		m->refusals_unlogged++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&m->lock);
	unlogged = m->refusals_unlogged;
	m->refusals_unlogged = 0;
	pthread_mutex_unlock(&m->lock);
	if (unlogged)
		log_warn("mesh: %s (and %llu refusals not logged since the last one)", line,
		         (unsigned long long)unlogged);
	else
		log_warn("mesh: %s", line);
}

/* The session table's test on a trust change: the session's key must
 * still speak for the neighbour it was made for. Takes m->lock (under the
 * table's lock: the documented order). */
static bool still_accepted(void *arg, const uint8_t pk[AM_KEY_BYTES], void *owner)
{
	struct mesh *m = arg;
	pthread_mutex_lock(&m->lock);
	bool ok = nb_for_key(m, pk) == owner;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

void mesh_server_prune(struct mesh *m)
{
	size_t n;

	if (!m->sessions)
		return;
	if ((n = session_table_prune(m->sessions, still_accepted, m)) > 0)
		log_info("mesh: dropped %zu session%s whose key is no longer accepted", n, n == 1 ? "" : "s");
}

/* Serves a pull: this peer's changes for nb after the requester's cursor,
 * holding the answer up to wait_ms when there is nothing yet. */
/* Holds the answer up to wait_ms when there is nothing yet. Each pass
 * takes the export policy in force at that moment (issue 8: a long-poll
 * that began under a wider policy must not answer under it), and the last
 * pass returns with m->policy_rw read-held (*policy_held), so no reload
 * can take effect between building the batch and sending it: the caller
 * releases it once the reply is sent (server_worker). */
static void serve_pull(struct mesh *m, struct nb *nb, const struct wire_sync_request *req,
                       struct wire_batch *batch, struct wire_tree *tree, bool *policy_held, bool *idle,
                       struct mesh_early_ids *early)
{
	struct policy_export exp;
	uint8_t hash[32];
	uint64_t from = 0, upto;
	bool more = false, first = true;
	unsigned wait = req->wait_ms > MESH_LONGPOLL_MS ? MESH_LONGPOLL_MS : req->wait_ms;
	uint64_t deadline_ms;
	struct timespec ts;

	batch->present = true;
	memcpy(batch->epoch, m->epoch, sizeof batch->epoch);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + wait;
	for (;;) {
		pthread_rwlock_rdlock(&m->policy_rw);
		if (mesh_export_snapshot(m, nb, &exp, hash) != 0) {
			pthread_rwlock_unlock(&m->policy_rw);
			batch->present = false;
			return;
		}
		if (first || memcmp(batch->policy, hash, 32) != 0) {
			/* a changed policy restarts the requester's cursor (mesh.h) */
			memcpy(batch->policy, hash, sizeof hash);
			from = (memcmp(req->epoch, m->epoch, sizeof m->epoch) == 0 && memcmp(req->policy, hash, 32) == 0)
			           ? req->after : 0;
			batch->after = from;
			if (first)
				mesh_early_acked(m, nb, from); /* their cursor is there (mesh_early.h) */
			first = false;
		}
		uint64_t gen = mesh_export_gen(m, nb);
		/* cut-through first (mesh_early.h): bodies still being committed
		 * here; the log export below sends nothing for them */
		(void)mesh_export_early(m, nb, &exp, &tree->early, early);
		int rv = mesh_export_collect(m, nb, &exp, from, batch, tree, &upto, &more);
		policy_export_free(&exp);
		if (rv != 0)
			break;
		from = upto;
		/* ids are news too; and control for them (a prune, a graft:
		 * mesh_tree.h) is answered at once, not held for the long-poll */
		if (batch->n || tree->n_ids || tree->early.n || more || !m->running || mesh_tree_pending_reply(m, nb))
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		if (now_ms >= deadline_ms)
			break;
		pthread_rwlock_unlock(&m->policy_rw); /* never held while parked */
		mesh_wait_export(m, nb, gen, (unsigned)(deadline_ms - now_ms));
		trace_stamp("poll_wake", nb->name);
	}
	*policy_held = true;
	if (batch->n || tree->n_ids || tree->early.n)
		trace_stamp("poll_built", nb->name);
	batch->upto = from;
	batch->more = more;
	*idle = batch->n == 0 && tree->n_ids == 0 && tree->early.n == 0 && !more;
}

/* Handles one authenticated sync request from nb. *early: the ids of
 * bodies the answer carries ahead of our commit (mesh_early.h). */
static void serve_sync(struct mesh *m, struct nb *nb, const struct wire_sync_request *req,
                       struct wire_sync_response *resp, bool *policy_held, bool *idle, struct mesh_early_ids *early)
{
	/* the broadcast tree (mesh_tree.h): what they tell us first, so a
	 * graft's answer and our pull answer agree on the link's mode */
	/* heard when it came, not when answered: a long-poll parked here
	 * does not keep a dialer that died meanwhile alive (mesh_server_watch) */
	uint64_t heard = mesh_tree_now(m);
	struct wire_tree ask;
	memset(&ask, 0, sizeof ask);
	mesh_tree_heard(m, nb, &req->tree, &ask);
	bool early_lost = false;
	if (req->push.present || req->tree.grafted.n || req->tree.early.n)
		/* a refused push is acked where it was: the pusher backs off;
		 * early bodies not taken are said in this very answer, so the
		 * pusher forgets them before it builds its next push (mesh_early.h) */
		early_lost = mesh_ingest(m, nb, req->push.present ? &req->push : NULL, &req->tree, NULL) != 0 &&
		             req->tree.early.n;
	mesh_ingest_acked(m, nb, &resp->push_acked, resp->push_epoch, resp->push_policy);
	if (req->pull)
		serve_pull(m, nb, req, &resp->batch, &resp->tree, policy_held, idle, early);
	if (ask.n_graft) {
		/* their graft, answered under the export policy in force - held
		 * until the reply has gone, as a pull's batch is */
		struct policy_export exp;
		uint8_t hash[32];
		if (!*policy_held) {
			pthread_rwlock_rdlock(&m->policy_rw);
			*policy_held = true;
		}
		if (mesh_export_snapshot(m, nb, &exp, hash) == 0) {
			(void)mesh_export_grafted(m, nb, &exp, &ask, &resp->tree);
			policy_export_free(&exp);
		}
	}
	wire_tree_clear(&ask);
	/* our control for them: a prune (this push held bodies we had), our
	 * grafts - in process those ride on our own pulls (mesh_tree.h) */
	mesh_tree_take(m, nb, !m->tree_pull_only, &resp->tree);
	resp->tree.early_lost = early_lost;
	if (wire_tree_any(&resp->tree))
		*idle = false;
	/* the first authentic frame, not the handshake, brings a link up
	 * (issue 8, item 13): a replayed Hello proves nothing */
	pthread_mutex_lock(&m->lock);
	nb->last_sync = timefmt_now();
	if (nb->state != MESH_UP && !nb->link && nb->heard_ms && m->listen_silence_ms)
		log_info("mesh: %s is sending requests again: up", nb->name);
	nb->heard_ms = heard;
	nb->state = MESH_UP;
	pthread_mutex_unlock(&m->lock);
}

void mesh_server_watch(struct mesh *m)
{
	if (!m->listen_silence_ms)
		return;
	uint64_t now = mesh_tree_now(m);
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		if (nb->removed || nb->link || nb->state != MESH_UP || now - nb->heard_ms <= m->listen_silence_ms)
			continue;
		nb->state = MESH_DOWN;
		log_info("mesh: %s has sent no request for %llu ms (it dials us): down until it does", nb->name,
		         (unsigned long long)(now - nb->heard_ms));
	}
}

/* Turns one frame into one reply frame (malloc'd). *policy_held is set
 * when an export batch was built (serve_pull): the caller then releases
 * m->policy_rw once the reply has gone, or is dropped. *idle is set when
 * the reply is a pull's empty answer (nothing to send before wait_ms). msg
 * (NULL in process, where source stands for its address) names the sender
 * in log lines and keys the per-source limits. *early gets the ids of the
 * bodies the reply carries ahead of our commit: if it does not go, the
 * caller hands them to mesh_early_failed. */
static int serve_frame(struct mesh *m, const uint8_t *buf, size_t len, nng_msg *msg, const char *source,
                       bool *policy_held, bool *idle, struct mesh_early_ids *early, uint8_t **out, size_t *out_len)
{
	enum session_kind kind;
	uint8_t sid[SESSION_ID_BYTES], peer[AM_KEY_BYTES];
	char err[AM_ERRLEN], addr[64], host[64];
	struct session *s = NULL;
	uint64_t now = mesh_wall_now(m);
	int rv;

	memset(peer, 0, sizeof peer);
	if (session_frame_kind(buf, len, &kind, sid) != 0)
		return session_refused_frame("bad frame", out, out_len);
	if (kind == SESSION_KIND_HELLO) {
		pipe_addr(msg, source, addr, sizeof addr, host, sizeof host);
		/* before any work: one address cannot make us verify signatures
		 * (or write log lines) at its own pace */
		if (!ratelimit_take(m->hello_per_source, host, strlen(host), now, NULL)) {
			pthread_mutex_lock(&m->lock);
			m->unknown_handshakes++;
			pthread_mutex_unlock(&m->lock);
			log_refusal(m, host, "refused handshake from %s: more than %d hellos from this "
			            "address, then one per %d s", addr, HELLO_SOURCE_BURST, HELLO_SOURCE_INTERVAL);
			return session_refused_frame("refused", out, out_len);
		}
		rv = session_accept(m->key->sk, m->replay, now, srv_trust, m, buf, len, &s, peer,
		                    out, out_len, err, sizeof err);
		pthread_mutex_lock(&m->lock);
		struct nb *nb = rv == 0 || rv != AM_EUNTRUSTED ? nb_for_key(m, peer) : NULL;
		if (rv == 0 && nb) {
			nb->handshakes++; /* up only after its first authentic frame */
		} else if (nb) {
			nb->handshake_failures++;
		} else {
			m->unknown_handshakes++;
		}
		pthread_mutex_unlock(&m->lock);
		if (rv != 0) {
			log_refusal(m, host, "refused handshake from %s: %s", addr, err);
			return 0;
		}
		if (!nb) { /* removed between the trust check and now */
			session_free(s);
			free(*out);
			return session_refused_frame("refused", out, out_len);
		}
		if (msg)
			pipelimit_authed(m->pipes, nng_msg_get_pipe(msg)); /* no longer a stranger's pipe */
		log_info("mesh: %s connected from %s", nb->name, addr);
		mesh_tree_reset(m, nb); /* a new session starts eager (mesh_tree.h) */
		mesh_count_bytes(m, nb, len, *out_len);
		session_table_keep(m->sessions, s, nb, now);
		return 0;
	}
	if (kind != SESSION_KIND_SEALED)
		return session_refused_frame("bad frame", out, out_len);

	/* only an authentic frame counts as use of a session, and an old one
	 * is gone (issue 8, item 11); a failure is not counted against the
	 * neighbour: the session id travels in clear, anyone can send one */
	uint8_t *pt = NULL;
	size_t pt_len;
	void *owner = NULL;
	rv = session_table_open(m->sessions, sid, buf, len, now, &pt, &pt_len, &owner);
	if (rv == AM_ENOTFOUND)
		return session_refused_frame("unknown session", out, out_len);
	if (rv != 0)
		return session_refused_frame(rv == AM_EREPLAY ? "replay" : "refused", out, out_len);
	struct nb *nb = owner;
	trace_stamp("srv_open", nb->name);
	/* a reconnected dialer resumes its session on a new pipe: an authentic
	 * frame proves that pipe as well as a Hello would */
	if (msg)
		pipelimit_authed(m->pipes, nng_msg_get_pipe(msg));
	struct wire_sync_request req;
	struct wire_sync_response resp;
	memset(&resp, 0, sizeof resp);
	rv = wire_sync_request_unpack(pt, pt_len, &req);
	free(pt);
	if (rv != 0)
		return session_refused_frame("bad request", out, out_len);
	pthread_mutex_lock(&m->lock);
	bool gone = nb->removed;
	pthread_mutex_unlock(&m->lock);
	if (!gone)
		serve_sync(m, nb, &req, &resp, policy_held, idle, early);
	wire_sync_request_clear(&req);
	uint8_t *plain;
	size_t plain_len;
	if (gone || (rv = wire_sync_response_pack(&resp, &plain, &plain_len)) != 0) {
		wire_sync_response_clear(&resp);
		mesh_early_failed(m, early); /* a refusal carries none of them */
		return session_refused_frame("refused", out, out_len);
	}
	wire_sync_response_clear(&resp);
	/* the session may have been evicted or pruned while we served */
	rv = session_table_seal(m->sessions, sid, plain, plain_len, out, out_len);
	free(plain);
	if (rv != 0)
		mesh_early_failed(m, early);
	if (rv == AM_ENOTFOUND)
		return session_refused_frame("unknown session", out, out_len);
	mesh_count_bytes(m, nb, len, rv == 0 ? *out_len : 0);
	return rv;
}

static void *server_worker(void *arg)
{
	pthread_setname_np(pthread_self(), "am-serve"); /* top -H, ps -L, perf: which part is busy */
	struct worker *w = arg;
	struct mesh *m = w->m;

	while (m->running) {
		/* No timeout: mesh_server_stop ends the wait (nng_aio_stop).
		 * A receive that times out costs NNG 1.5.2 up to 1 ms of a
		 * busy core: its expire thread spins on the clock until the
		 * millisecond of the deadline has passed (aio.c expires only
		 * a_expire < now). With 500 ms polls on 10 idle workers that
		 * was 58 % of 20 idle-ish daemons' CPU in mesh_bench (issue 13,
		 * docs/scale.md, "Where the latency goes"). */
		nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		int rv = nng_aio_result(w->aio);
		/* mesh_server_stop stops the aio: NNG_ECANCELED now and for every
		 * later operation */
		if (rv == NNG_ECLOSED || !m->running) {
			if (rv == 0) /* a request that came in as we stop: ours to free */
				nng_msg_free(nng_aio_get_msg(w->aio));
			break;
		}
		if (rv != 0)
			continue;
		nng_msg *msg = nng_aio_get_msg(w->aio), *reply;
		trace_stamp("srv_recv", NULL);
		uint8_t *out = NULL;
		size_t out_len = 0;
		bool policy_held = false, idle = false;
		struct mesh_early_ids early = {0};
		rv = serve_frame(m, nng_msg_body(msg), nng_msg_len(msg), msg, NULL, &policy_held, &idle, &early, &out,
		                 &out_len);
		nng_msg_free(msg);
		if (!idle)
			trace_stamp("srv_sealed", NULL);
		if (rv != 0 || !out || nng_msg_alloc(&reply, out_len) != 0) {
			free(out);
			mesh_early_failed(m, &early); /* the log export sends them */
			if (policy_held)
				pthread_rwlock_unlock(&m->policy_rw);
			continue; /* no answer: the requester times out and retries */
		}
		memcpy(nng_msg_body(reply), out, out_len);
		free(out);
		nng_aio_set_msg(w->aio, reply);
		/* bounded: a reload waits for this send while policy_held */
		nng_aio_set_timeout(w->aio, MESH_SEND_TIMEOUT_MS);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if (!idle)
			trace_stamp("srv_sent", NULL);
		if (nng_aio_result(w->aio) != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
			mesh_early_failed(m, &early); /* the log export sends them */
		}
		mesh_early_ids_clear(&early);
		if (policy_held)
			pthread_rwlock_unlock(&m->policy_rw);
	}
	return NULL;
}


int mesh_server_start(struct mesh *m, const char *url, size_t n_nbs, char *err, size_t errlen)
{
	int rv;

	if ((rv = pipelimit_new(&m->pipes, 0)) != 0) {
		snprintf(err, errlen, "mesh: %s", am_strerror(rv));
		return rv;
	}
	if ((rv = nng_rep0_open(&m->srv)) != 0)
		goto nng_fail;
	m->srv_open = true;
	/* what a request from a neighbour can be; anything larger is refused
	 * before NNG allocates it */
	if ((rv = nng_socket_set_size(m->srv, NNG_OPT_RECVMAXSZ, MESH_SERVE_FRAME_MAX)) != 0 ||
	    (rv = nng_pipe_notify(m->srv, NNG_PIPE_EV_REM_POST, pipelimit_removed, m->pipes)) != 0)
		goto nng_fail;
	/* every dialling neighbour may park one long-poll and one push */
	m->n_workers = SERVER_WORKERS_MIN + 2 * n_nbs;
	if ((m->workers = calloc(m->n_workers, sizeof *m->workers)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < m->n_workers; i++) {
		m->workers[i].m = m;
		if ((rv = nng_aio_alloc(&m->workers[i].aio, NULL, NULL)) != 0 ||
		    (rv = nng_ctx_open(&m->workers[i].ctx, m->srv)) != 0)
			goto nng_fail;
		m->workers[i].ctx_open = true;
	}
	struct nnglisten_opts lo = {.name = "mesh listener", .peer_proto = NNG_REQ0_SELF,
	                            .admit = pipelimit_admit, .arg = m->pipes};
	if ((rv = nnglisten_open(&m->listener, m->guard, m->srv, url, &lo, err, errlen)) != 0) {
		char why[AM_ERRLEN], host[AM_ERRLEN / 2];
		if (config_files_listen_host(url, host, sizeof host) != 0)
			snprintf(why, sizeof why, "cannot listen on `%s': %s", url, host); /* for NNG's "Address invalid" */
		else
			snprintf(why, sizeof why, "%s", err);
		snprintf(err, errlen, "mesh: %s", why);
		return rv;
	}
	m->listening = true;
	m->listen_silence_ms = MESH_SERVER_SILENCE_MS;
	for (size_t i = 0; i < m->n_workers; i++)
		m->workers[i].started =
			pthread_create(&m->workers[i].thread, NULL, server_worker, &m->workers[i]) == 0;
	return 0;
nng_fail:
	snprintf(err, errlen, "mesh: cannot listen on `%s': %s", url, nng_strerror(rv));
	return AM_EIO;
}

/* In the order NNG 1.5.2 needs (README): refuse new pipes, stop reaping,
 * stop the workers (m->running is false and long-polls were woken;
 * nng_aio_stop ends a receive or send in progress), join them, close their
 * contexts, let rep0 park the pipes, then close the listener and socket. */
void mesh_server_stop(struct mesh *m)
{
	nnglisten_refuse(m->listener);
	pipelimit_stop(m->pipes);
	for (size_t i = 0; m->workers && i < m->n_workers; i++)
		if (m->workers[i].aio)
			nng_aio_stop(m->workers[i].aio);
	for (size_t i = 0; m->workers && i < m->n_workers; i++)
		if (m->workers[i].started)
			pthread_join(m->workers[i].thread, NULL);
	for (size_t i = 0; m->workers && i < m->n_workers; i++)
		if (m->workers[i].ctx_open)
			nng_ctx_close(m->workers[i].ctx);
	if (m->listening && !nngexit_leaving())
		usleep(MESH_SETTLE_MS * 1000);
	nnglisten_stop(m->listener);
	if (m->srv_open)
		nngexit_close(m->srv); /* at exit the kernel closes it (nngexit.h) */
	nnglisten_free(m->listener);
	/* at exit the socket stays open and NNG may still call pipelimit_removed */
	if (!nngexit_leaving())
		pipelimit_free(m->pipes);
	for (size_t i = 0; m->workers && i < m->n_workers; i++)
		if (m->workers[i].aio)
			nng_aio_free(m->workers[i].aio);
	free(m->workers);
}

int mesh_server_frame(struct mesh *m, const uint8_t *frame, size_t len, const char *source, uint8_t **reply,
                      size_t *reply_len, bool *idle)
{
	bool policy_held = false, empty = false;
	struct mesh_early_ids early = {0};
	int rv;

	*reply = NULL;
	*reply_len = 0;
	rv = serve_frame(m, frame, len, NULL, source, &policy_held, &empty, &early, reply, reply_len);
	if (rv != 0 || !*reply)
		mesh_early_failed(m, &early);
	mesh_early_ids_clear(&early); /* in process the reply has gone once built */
	/* in process the reply has "gone" once it is built */
	if (policy_held)
		pthread_rwlock_unlock(&m->policy_rw);
	if (idle)
		*idle = rv == 0 && empty;
	if (rv == 0 && !*reply)
		rv = AM_EHANDSHAKE; /* a refused handshake the server does not answer */
	return rv;
}

/* mesh_link.c - the dialling side: a puller and a pusher per neighbour we dial. */
#include "mesh_link.h"

#include <errno.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mesh_early.h"
#include "mesh_export.h"
#include "mesh_impl.h"
#include "mesh_ingest.h"
#include "mesh_tree.h"
#include "timefmt.h"
#include "trace.h"
#include "wire_sync.h"

static bool stopping(const struct link *l)
{
	return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE) || !l->m->running;
}

/* Backs off, but never past a stop: a 30 s backoff must not hold up
 * mesh_link_stop. */
static void sleep_ms(const struct link *l, unsigned ms)
{
	while (ms && !stopping(l)) {
		unsigned step = ms < 50 ? ms : 50;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		ms -= step;
	}
}


/* --- dialer side (we dial them) --- */

/* The first half of a request/response on ctx: sends buf and starts the
 * receive of the reply; ctx_call_finish collects it. after_send (may be
 * NULL), read-held by the caller, is released once the request has been
 * sent or has failed, on every path. On an error nothing is left on aio. */
static int ctx_call_start(nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t len, int timeout_ms,
                          pthread_rwlock_t *after_send)
{
	nng_msg *msg;
	int rv;

	if ((rv = nng_msg_alloc(&msg, len)) != 0) {
		if (after_send)
			pthread_rwlock_unlock(after_send);
		return rv;
	}
	memcpy(nng_msg_body(msg), buf, len);
	nng_aio_set_msg(aio, msg);
	/* a send that holds the export policy (after_send) is bounded tighter:
	 * a reload waits for it */
	nng_aio_set_timeout(aio, after_send && timeout_ms > MESH_SEND_TIMEOUT_MS ? MESH_SEND_TIMEOUT_MS : timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	trace_stamp("call_sent", NULL);
	if (after_send)
		pthread_rwlock_unlock(after_send);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		nng_aio_set_msg(aio, NULL);
		return rv;
	}
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_recv(ctx, aio);
	return 0;
}

/* The second half: waits for the reply; *reply is malloc'd plaintext bytes
 * of the reply frame. */
static int ctx_call_finish(nng_aio *aio, uint8_t **reply, size_t *reply_len)
{
	nng_msg *msg;
	int rv;

	*reply = NULL;
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		return rv;
	trace_stamp("call_recv", NULL);
	msg = nng_aio_get_msg(aio);
	nng_aio_set_msg(aio, NULL);
	*reply_len = nng_msg_len(msg);
	if ((*reply = malloc(*reply_len ? *reply_len : 1)) == NULL) {
		nng_msg_free(msg);
		return NNG_ENOMEM;
	}
	memcpy(*reply, nng_msg_body(msg), *reply_len);
	nng_msg_free(msg);
	return 0;
}

/* One request/response on ctx (ctx_call_start, then ctx_call_finish). */
static int ctx_call(nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t len, int timeout_ms,
                    pthread_rwlock_t *after_send, uint8_t **reply, size_t *reply_len)
{
	int rv;

	*reply = NULL;
	if ((rv = ctx_call_start(ctx, aio, buf, len, timeout_ms, after_send)) != 0)
		return rv;
	return ctx_call_finish(aio, reply, reply_len);
}

static void set_state(struct mesh *m, struct nb *nb, enum mesh_link_state s)
{
	pthread_mutex_lock(&m->lock);
	nb->state = s;
	pthread_mutex_unlock(&m->lock);
}

/* Makes sure the link has a session, running the handshake if not.
 * Returns 0 with *gen set, or an error after which the caller backs off. */
static int ensure_session(struct link *l, nng_ctx ctx, nng_aio *aio, uint64_t *gen)
{
	struct mesh *m = l->m;
	struct session_pending *pend = NULL;
	uint8_t *hello = NULL, *reply = NULL;
	size_t hello_len, reply_len;
	char err[AM_ERRLEN];
	int rv;

	pthread_mutex_lock(&l->lock);
	/* a session is re-keyed after SESSION_REKEY_AGE, well before the
	 * listener drops it at SESSION_MAX_AGE (issue 8, item 11) */
	if (l->sess && timefmt_now() - l->sess_made >= m->rekey_age) {
		log_info("mesh: re-keying the link to %s (session %llu s old)", l->nb->name,
		         (unsigned long long)(timefmt_now() - l->sess_made));
		session_free(l->sess);
		l->sess = NULL;
	}
	if (l->sess) {
		*gen = l->sess_gen;
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	set_state(m, l->nb, MESH_CONNECTING);
	rv = session_hello(m->key->sk, l->nb->pk, timefmt_now(), &pend, &hello, &hello_len);
	if (rv != 0)
		goto out;
	rv = ctx_call(ctx, aio, hello, hello_len, 5000, NULL, &reply, &reply_len);
	mesh_count_bytes(m, l->nb, rv == 0 ? reply_len : 0, hello_len);
	if (rv != 0) {
		session_pending_free(pend);
		rv = AM_ECONNECT;
		goto out;
	}
	rv = session_finish(pend, reply, reply_len, &l->sess, err, sizeof err);
	pthread_mutex_lock(&m->lock);
	if (rv == 0) {
		/* still "connecting": up after the first authentic answer */
		l->nb->handshakes++;
	} else {
		l->nb->handshake_failures++;
		l->nb->state = MESH_REFUSED;
	}
	pthread_mutex_unlock(&m->lock);
	if (rv != 0) {
		log_warn("mesh: handshake with %s (%s) failed: %s", l->nb->name, l->nb->endpoint, err);
		goto out;
	}
	log_info("mesh: linked to %s at %s", l->nb->name, l->nb->endpoint);
	mesh_tree_reset(m, l->nb); /* a new session starts eager (mesh_tree.h) */
	l->sess_made = timefmt_now();
	*gen = ++l->sess_gen;
out:
	pthread_mutex_unlock(&l->lock);
	free(hello);
	free(reply);
	return rv;
}

/* Drops the session if it is still the one the caller used. */
static void drop_session(struct link *l, uint64_t gen)
{
	pthread_mutex_lock(&l->lock);
	if (l->sess && l->sess_gen == gen) {
		session_free(l->sess);
		l->sess = NULL;
	}
	pthread_mutex_unlock(&l->lock);
}

/* A sync call in two halves, so the puller can have its next pull on the
 * way while it ingests a batch (issue 13). sync_start seals req and sends
 * it on ctx; after_send as ctx_call_start. */
static int sync_start(struct link *l, nng_ctx ctx, nng_aio *aio, uint64_t gen,
                      const struct wire_sync_request *req, pthread_rwlock_t *after_send, size_t *sent)
{
	uint8_t *plain = NULL, *frame = NULL;
	size_t plain_len, frame_len;
	int rv;

	*sent = 0;
	if ((rv = wire_sync_request_pack(req, &plain, &plain_len)) != 0)
		goto unsent;
	pthread_mutex_lock(&l->lock);
	rv = (l->sess && l->sess_gen == gen) ? session_seal(l->sess, plain, plain_len, &frame, &frame_len)
	                                     : AM_EHANDSHAKE;
	pthread_mutex_unlock(&l->lock);
	free(plain);
	if (rv != 0)
		goto unsent;
	rv = ctx_call_start(ctx, aio, frame, frame_len, (int)req->wait_ms + CALL_SLACK_MS, after_send);
	free(frame);
	if (rv != 0) {
		mesh_count_bytes(l->m, l->nb, 0, frame_len);
		return AM_ECONNECT;
	}
	*sent = frame_len;
	return 0;
unsent:
	if (after_send)
		pthread_rwlock_unlock(after_send);
	return rv;
}

/* Waits for the reply to sync_start's request (sent bytes long), opens and
 * decodes it. A refusal comes back as AM_EREPLAY ("replay": the listener
 * saw this request already - NNG's req re-sends on reconnect - so a freshly
 * sealed one will do), AM_ENOTFOUND ("unknown session": handshake again) or
 * AM_EHANDSHAKE. */
static int sync_finish(struct link *l, nng_aio *aio, uint64_t gen, size_t sent, struct wire_sync_response *resp)
{
	uint8_t *reply = NULL, *pt = NULL;
	size_t reply_len, pt_len;
	int rv;

	memset(resp, 0, sizeof *resp);
	rv = ctx_call_finish(aio, &reply, &reply_len);
	mesh_count_bytes(l->m, l->nb, rv == 0 ? reply_len : 0, sent);
	if (rv != 0)
		return AM_ECONNECT;
	char refusal[64]; /* enough to tell the fixed texts apart */
	if (session_refusal(reply, reply_len, refusal, sizeof refusal)) {
		free(reply);
		return strcmp(refusal, "replay") == 0 ? AM_EREPLAY
		       : strcmp(refusal, "unknown session") == 0 ? AM_ENOTFOUND : AM_EHANDSHAKE;
	}
	pthread_mutex_lock(&l->lock);
	rv = (l->sess && l->sess_gen == gen) ? session_open(l->sess, reply, reply_len, &pt, &pt_len)
	                                     : AM_EHANDSHAKE;
	pthread_mutex_unlock(&l->lock);
	free(reply);
	if (rv != 0)
		return rv;
	rv = wire_sync_response_unpack(pt, pt_len, resp);
	free(pt);
	return rv;
}

/* Seals req, calls, opens and decodes the response (sync_start, then
 * sync_finish). */
static int sync_call(struct link *l, nng_ctx ctx, nng_aio *aio, uint64_t gen,
                     const struct wire_sync_request *req, pthread_rwlock_t *after_send,
                     struct wire_sync_response *resp)
{
	size_t sent;
	int rv;

	memset(resp, 0, sizeof *resp);
	if ((rv = sync_start(l, ctx, aio, gen, req, after_send, &sent)) != 0)
		return rv;
	return sync_finish(l, aio, gen, sent, resp);
}

static unsigned backoff_next(unsigned ms)
{
	ms = ms ? ms * 2 : BACKOFF_MIN_MS;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

/* After an answer that says the sender has more at once: sends the next
 * pull - after that batch's end, as if it were committed - on the other
 * context. It asks for an answer at once (wait 0), not a long-poll: the
 * puller may wait for it before committing the batch in hand (checking
 * ahead, below), which must never wait on a sender with nothing to say.
 * Returns true when it is on its way. */
static bool pull_next(struct link *l, uint64_t gen, const struct wire_sync_response *resp, int *slot, size_t *sent)
{
	struct wire_sync_request req;
	int next = !*slot;
	bool ok;

	if (!(resp->batch.present && resp->batch.more && resp->batch.n) || stopping(l))
		return false;
	mesh_ingest_next_request(resp, &req);
	mesh_tree_take(l->m, l->nb, true, &req.tree);
	ok = sync_start(l, l->ctx[next ? 2 : 0], l->aio[next ? 2 : 0], gen, &req, NULL, sent) == 0;
	wire_tree_clear(&req.tree);
	if (ok)
		*slot = next;
	return ok;
}

/* An answer dropped for its batch (it does not continue our cursor): what
 * rode beside it for the broadcast tree still counts - their prune or
 * graft, and bodies answering our grafts (mesh_tree.h). */
static void keep_control(struct mesh *m, struct nb *nb, const struct wire_sync_response *resp)
{
	mesh_tree_heard(m, nb, &resp->tree, NULL);
	if (resp->tree.grafted.n)
		(void)mesh_ingest(m, nb, NULL, &resp->tree, NULL);
}

/* Long-polls the neighbour for its changes and ingests them.
 *
 * Two pulls may be in flight (issue 13): when an answer says the sender
 * has more at once, the next pull - after that batch's end - leaves on the
 * other context before the batch is verified and committed, so the sender
 * and the wire work while we do. Before committing a batch, the puller
 * collects that next answer and starts its checks on the verify pool
 * (mesh_ingest_ahead_start), so the helpers verify it while this batch's
 * ordered checks and durable commit run on this thread. The cursor still
 * moves only with the commit of its batch (mesh_ingest): if the batch is
 * not taken, the early answer does not continue the cursor and
 * mesh_ingest leaves it, and the next pull asks again from the cursor. */
static void *puller_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-pull"); /* top -H, ps -L, perf: which part is busy */
	struct link *l = arg;
	struct mesh *m = l->m;
	int slot = 0;             /* the context of the pull to collect next */
	bool inflight = false;    /* a pull is on its way on slot */
	size_t sent = 0;
	uint64_t gen = 0;
	unsigned backoff = 0;
	bool retried = false;
	/* the answer collected early, its result, and its checks ahead */
	bool have_next = false;
	int next_rv = 0;
	struct wire_sync_response next;
	struct mesh_ingest_ahead *next_ahead = NULL;
	/* bodies they relayed early may be lost here (an answer failed, was
	 * dropped, or its early bodies not taken): say so in the next pull
	 * from our cursor, before anything further is acknowledged, so they
	 * send those bodies from their log (mesh_early.h) */
	bool early_lost = false;

	memset(&next, 0, sizeof next);
	while (!stopping(l)) {
		struct wire_sync_request req;
		struct wire_sync_response resp;
		struct mesh_ingest_ahead *ahead = NULL;
		nng_ctx ctx = l->ctx[slot ? 2 : 0];
		nng_aio *aio = l->aio[slot ? 2 : 0];
		bool followed = false; /* the pull after this answer was sent when it came */
		int rv;

		if (have_next) {
			have_next = false;
			resp = next;
			memset(&next, 0, sizeof next);
			ahead = next_ahead;
			next_ahead = NULL;
			rv = next_rv;
			followed = true;
		} else if (!inflight) {
			if (ensure_session(l, ctx, aio, &gen) != 0) {
				sleep_ms(l, backoff = backoff_next(backoff));
				continue;
			}
			mesh_ingest_pull_request(m, l->nb, MESH_LONGPOLL_MS, &req);
			mesh_tree_take(m, l->nb, true, &req.tree);
			req.tree.early_lost = early_lost;
			rv = sync_start(l, ctx, aio, gen, &req, NULL, &sent);
			wire_tree_clear(&req.tree);
			if (rv == 0)
				rv = sync_finish(l, aio, gen, sent, &resp);
			if (rv == 0)
				early_lost = false; /* heard before this answer was built */
		} else {
			inflight = false;
			rv = sync_finish(l, aio, gen, sent, &resp);
		}
		if (rv != 0) {
			mesh_ingest_ahead_free(ahead);
			early_lost = true; /* the answer may have carried early bodies */
			if (l->stop || !m->running)
				break;
			/* a request refused as a replay is sent once more, freshly
			 * sealed on the same session; only then a new handshake */
			if (rv == AM_EREPLAY && !retried) {
				retried = true;
				continue;
			}
			retried = false;
			drop_session(l, gen);
			set_state(m, l->nb, MESH_DOWN);
			sleep_ms(l, backoff = backoff_next(backoff));
			continue;
		}
		retried = false;
		backoff = 0;
		if (resp.batch.n || resp.tree.n_ids)
			trace_stamp("pull_opened", l->nb->name);
		set_state(m, l->nb, MESH_UP); /* an authentic answer: the link is up */
		if (!followed)
			inflight = pull_next(l, gen, &resp, &slot, &sent);
		if (inflight) {
			/* check ahead: this batch's own checks first (the pool takes
			 * one loop at a time), then the next answer - asked for at
			 * once, so this wait is short - and its checks on the helpers
			 * while this thread commits */
			mesh_ingest_ahead_finish(ahead);
			inflight = false;
			next_rv = sync_finish(l, l->aio[slot ? 2 : 0], gen, sent, &next);
			have_next = true;
			if (next_rv == 0) {
				inflight = pull_next(l, gen, &next, &slot, &sent);
				if (mesh_ingest_ahead_start(m, &next.batch, &next_ahead) != 0)
					next_ahead = NULL;
			}
		}
		/* their prune or graft (mesh_tree.h); a graft is answered by our pusher */
		mesh_tree_heard(m, l->nb, &resp.tree, NULL);
		unsigned retry = 0;
		if (mesh_ingest_pulled_ahead(m, l->nb, &resp, ahead, &retry, NULL) != 0 && resp.tree.early.n)
			early_lost = true;
		mesh_ingest_ahead_free(ahead);
		/* the pulls sent ahead start where this batch ends: useless when
		 * the cursor is not there (the store refused the batch, or the
		 * broadcast tree held or moved it back, mesh_tree.h) */
		bool off_course = (have_next || inflight) &&
		                  !mesh_ingest_cursor_at(l->nb, resp.batch.upto, resp.batch.epoch, resp.batch.policy);
		wire_sync_response_clear(&resp);
		if (retry || off_course) {
			/* drop the early answer and collect the early pull (neither
			 * continues the cursor); after a refusal, do not pull at once */
			if (have_next) {
				have_next = false;
				mesh_ingest_ahead_free(next_ahead);
				next_ahead = NULL;
				if (next_rv != 0 || next.tree.early.n)
					early_lost = true; /* its early bodies are dropped with it */
				if (!retry && next_rv == 0)
					keep_control(m, l->nb, &next);
				wire_sync_response_clear(&next);
			}
			if (inflight) {
				inflight = false;
				if (sync_finish(l, l->aio[slot ? 2 : 0], gen, sent, &resp) == 0) {
					if (!retry)
						keep_control(m, l->nb, &resp);
					early_lost |= resp.tree.early.n > 0;
					wire_sync_response_clear(&resp);
				} else {
					early_lost = true;
				}
			}
			if (retry)
				sleep_ms(l, retry);
		}
	}
	if (have_next) {
		mesh_ingest_ahead_free(next_ahead);
		wire_sync_response_clear(&next);
	}
	if (inflight) {
		/* stopping: mesh_link_stop stops the aio; drop what it held */
		nng_aio *aio = l->aio[slot ? 2 : 0];
		nng_aio_wait(aio);
		if (nng_aio_result(aio) == 0) {
			nng_msg_free(nng_aio_get_msg(aio));
			nng_aio_set_msg(aio, NULL);
		}
	}
	return NULL;
}

/* Sends this peer's changes to the neighbour from the position it acknowledged. */
static void *pusher_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-push"); /* top -H, ps -L, perf: which part is busy */
	struct link *l = arg;
	struct mesh *m = l->m;
	nng_ctx ctx = l->ctx[1];
	nng_aio *aio = l->aio[1];
	unsigned backoff = 0;
	bool known = false, retried = false;
	uint64_t acked = 0, acked_gen = 0;
	uint8_t acked_epoch[STORE_EPOCH_BYTES], acked_policy[32];
	unsigned stall = 0; /* backoff while they take nothing we push */
	/* How far our log has been scanned for them past what they
	 * acknowledged, finding nothing to send (all held back by policy):
	 * the next push starts scanning there, and an empty push is never sent
	 * just to move their cursor (issue 13). Valid for one session and one
	 * export policy. */
	uint64_t scanned = 0;
	uint8_t scanned_policy[32];
	bool scan_ok = false;

	while (!stopping(l)) {
		uint64_t gen, store_gen = mesh_export_gen(m, l->nb);
		struct wire_sync_request req;
		struct wire_sync_response resp;
		struct policy_export exp;
		uint8_t hash[32];

		if (ensure_session(l, ctx, aio, &gen) != 0) {
			sleep_ms(l, backoff = backoff_next(backoff));
			continue;
		}
		if (gen != acked_gen)
			known = false; /* a new session: ask where they are */
		if (mesh_tree_take_resync(m, l->nb))
			known = false; /* they want bodies: their cursor may have moved back */
		if (!known)
			scan_ok = false;
		memset(&req, 0, sizeof req);
		/* held from taking the policy until the push has been sent, so a
		 * reload cannot take effect in between (mesh_impl.h, policy_rw) */
		pthread_rwlock_rdlock(&m->policy_rw);
		if (mesh_export_snapshot(m, l->nb, &exp, hash) != 0) {
			pthread_rwlock_unlock(&m->policy_rw);
			sleep_ms(l, 1000);
			continue;
		}
		uint64_t from = acked;
		if (!known || memcmp(acked_epoch, m->epoch, sizeof acked_epoch) != 0 ||
		    memcmp(acked_policy, hash, 32) != 0)
			from = 0;
		bool more = false;
		uint64_t upto = from;
		/* the broadcast tree (mesh_tree.h): our prune and grafts, and the
		 * bodies their grafts asked for, under the policy just taken */
		struct wire_tree ask;
		memset(&ask, 0, sizeof ask);
		mesh_tree_take(m, l->nb, true, &req.tree);
		mesh_tree_take_asked(m, l->nb, &ask);
		if (ask.n_graft)
			(void)mesh_export_grafted(m, l->nb, &exp, &ask, &req.tree);
		wire_tree_clear(&ask);
		/* cut-through (mesh_early.h): bodies still being committed here,
		 * before the log export, which then sends nothing for them */
		struct mesh_early_ids early = {0};
		(void)mesh_export_early(m, l->nb, &exp, &req.tree.early, &early);
		if (known) {
			struct wire_batch *b = &req.push;
			uint64_t start = from;
			if (scan_ok && scanned > from && memcmp(scanned_policy, hash, 32) == 0)
				start = scanned; /* (from, scanned] held nothing for them */
			b->present = true;
			memcpy(b->epoch, m->epoch, sizeof b->epoch);
			memcpy(b->policy, hash, sizeof hash);
			b->after = from;
			if (mesh_export_collect(m, l->nb, &exp, start, b, &req.tree, &upto, &more) != 0) {
				upto = start;
				more = false;
			}
			b->upto = upto;
			b->more = more;
			if (b->n == 0 && req.tree.n_ids == 0 && wire_tree_any(&req.tree)) {
				/* control only: no batch, so their cursor stays */
				wire_batch_clear(b);
			} else if (b->n == 0 && req.tree.n_ids == 0) {
				/* nothing for them: remember how far we looked, send nothing */
				if (upto > start) {
					scanned = upto;
					memcpy(scanned_policy, hash, sizeof scanned_policy);
					scan_ok = true;
				}
				policy_export_free(&exp);
				wire_batch_clear(b);
				wire_tree_clear(&req.tree);
				pthread_rwlock_unlock(&m->policy_rw);
				/* scan on at once only while the scan moves: `more' also
				 * says the log's head is past its last entry (a swept
				 * record), which no scan can reach */
				if (!more || upto == start) {
					mesh_wait_export(m, l->nb, store_gen, MESH_LONGPOLL_MS);
					trace_stamp("push_wake", l->nb->name);
				}
				continue;
			}
		}
		policy_export_free(&exp);
		size_t pushed = req.push.n;
		trace_stamp("push_built", l->nb->name);
		double t0 = hist_now();
		bool offered = known && req.push.n > 0 && from == acked;
		int rv = sync_call(l, ctx, aio, gen, &req, &m->policy_rw, &resp);
		wire_sync_request_clear(&req);
		if (rv != 0)
			mesh_early_failed(m, &early); /* the log export sends them */
		mesh_early_ids_clear(&early);
		trace_stamp("push_acked", l->nb->name);
		if (rv == 0 && pushed) {
			pthread_mutex_lock(&m->lock);
			hist_observe(&l->nb->sync_out, hist_now() - t0);
			pthread_mutex_unlock(&m->lock);
		}
		if (rv != 0) {
			if (l->stop || !m->running)
				break;
			/* once more on the same session (the batch rebuilt under the
			 * policy then in force), then a new handshake */
			if (rv == AM_EREPLAY && !retried) {
				retried = true;
				continue;
			}
			retried = false;
			drop_session(l, gen);
			known = false;
			sleep_ms(l, backoff = backoff_next(backoff));
			continue;
		}
		retried = false;
		backoff = 0;
		set_state(m, l->nb, MESH_UP);
		/* their prune or grafts, and the bodies answering ours; if what
		 * went to them early did not arrive, mesh_tree_heard forgets it
		 * went, and the log export sends it from their cursor on - not
		 * from a scan that passed over it (mesh_early.h) */
		mesh_tree_heard(m, l->nb, &resp.tree, NULL);
		if (resp.tree.early_lost)
			scan_ok = false;
		if (resp.tree.grafted.n || resp.tree.early.n)
			(void)mesh_ingest(m, l->nb, NULL, &resp.tree, NULL);
		known = true;
		acked_gen = gen;
		/* They acknowledged nothing of a batch that continued their cursor:
		 * their store cannot take it (issue 8, item 6). Resending at once
		 * would spin both peers; wait longer each time. Not so when they
		 * graft: an id they could not track holds their cursor, and they
		 * want that range again as bodies (mesh_tree.h). */
		bool stalled = offered && resp.push_acked == acked && !resp.tree.n_graft &&
		               memcmp(resp.push_epoch, acked_epoch, sizeof acked_epoch) == 0 &&
		               memcmp(resp.push_policy, acked_policy, sizeof acked_policy) == 0;
		acked = resp.push_acked;
		memcpy(acked_epoch, resp.push_epoch, sizeof acked_epoch);
		memcpy(acked_policy, resp.push_policy, sizeof acked_policy);
		if (memcmp(acked_epoch, m->epoch, sizeof acked_epoch) == 0)
			mesh_early_acked(m, l->nb, acked); /* their cursor is there (mesh_early.h) */
		wire_sync_response_clear(&resp);
		if (stalled) {
			if (!stall)
				log_warn("mesh: %s takes nothing this peer pushes (its store may be full); "
				         "retrying with backoff", l->nb->name);
			stall = stall ? (stall * 2 > MESH_STORE_BACKOFF_MAX_MS ? MESH_STORE_BACKOFF_MAX_MS : stall * 2)
			              : MESH_STORE_BACKOFF_MIN_MS;
			sleep_ms(l, stall);
		} else if (offered) {
			if (stall)
				log_info("mesh: %s takes what this peer pushes again", l->nb->name);
			stall = 0;
		}
	}
	return NULL;
}

int mesh_link_start(struct mesh *m, struct nb *nb, char *err, size_t errlen)
{
	struct link *l = calloc(1, sizeof *l);
	int rv;

	if (!l)
		return AM_ENOMEM;
	l->m = m;
	l->nb = nb;
	pthread_mutex_init(&l->lock, NULL);
	if ((rv = nng_req0_open(&l->sock)) != 0)
		goto nng_fail;
	l->sock_open = true;
	if ((rv = nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, SESSION_FRAME_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(l->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(l->sock, NNG_OPT_RECONNMAXT, 10000)) != 0)
		goto nng_fail;
	/* the threads' contexts and aios live in the link, so mesh_link_stop
	 * can stop them from outside (nng_aio_stop) before anything closes */
	for (int i = 0; i < LINK_CTXS; i++) {
		if ((rv = nng_aio_alloc(&l->aio[i], NULL, NULL)) != 0 || (rv = nng_ctx_open(&l->ctx[i], l->sock)) != 0)
			goto nng_fail;
		l->ctx_open[i] = true;
	}
	if ((rv = nng_dial(l->sock, nb->endpoint, NULL, NNG_FLAG_NONBLOCK)) != 0)
		goto nng_fail;
	nb->link = l;
	l->started[0] = pthread_create(&l->thread[0], NULL, puller_main, l) == 0;
	l->started[1] = pthread_create(&l->thread[1], NULL, pusher_main, l) == 0;
	return 0;
nng_fail:
	snprintf(err, errlen, "neighbour %s: cannot dial `%s': %s", nb->name, nb->endpoint, nng_strerror(rv));
	nb->link = NULL;
	mesh_link_stop(l);
	return AM_ECONFIG;
}

/* Stops and frees a link. Caller must not hold m->lock (threads take it).
 * The order is what NNG 1.5.2 needs (README): stop the users (flag,
 * nng_aio_stop ends the call in progress and fails every later one), join
 * them, close their contexts, let a reply already on its way land, and
 * only then close the socket and its pipes. */
void mesh_link_stop(struct link *l)
{
	if (!l)
		return;
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	mesh_bump_gen(l->m); /* wake a pusher waiting for changes */
	for (int i = 0; i < LINK_CTXS; i++)
		if (l->aio[i])
			nng_aio_stop(l->aio[i]);
	for (int i = 0; i < 2; i++)
		if (l->started[i])
			pthread_join(l->thread[i], NULL);
	for (int i = 0; i < LINK_CTXS; i++)
		if (l->ctx_open[i])
			nng_ctx_close(l->ctx[i]);
	if ((l->started[0] || l->started[1]) && !nngexit_leaving())
		usleep(MESH_SETTLE_MS * 1000);
	if (l->sock_open)
		nngexit_close(l->sock); /* at exit the kernel closes it (nngexit.h) */
	for (int i = 0; i < LINK_CTXS; i++)
		if (l->aio[i])
			nng_aio_free(l->aio[i]);
	session_free(l->sess);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

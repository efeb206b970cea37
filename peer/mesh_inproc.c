/* mesh_inproc.c - the mesh driven in process: a puller's steps and the listener's frame path, no sockets. */
#include "mesh_inproc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_impl.h"
#include "mesh_ingest.h"
#include "mesh_server.h"
#include "mesh_tree.h"
#include "timefmt.h"
#include "wire_sync.h"

struct mesh_inproc_dialer {
	struct mesh *m;
	struct nb *nb;
	struct session *sess;
	struct session_pending *pend;
	bool early_lost; /* as puller_main's: said in the next pull (mesh_early.h) */
};

int mesh_inproc_dialer_new(struct mesh *m, const char *neighbour, struct mesh_inproc_dialer **out)
{
	struct mesh_inproc_dialer *d;

	*out = NULL;
	pthread_mutex_lock(&m->lock);
	struct nb *nb = mesh_nb_by_name(m, neighbour);
	pthread_mutex_unlock(&m->lock);
	if (!nb || nb->removed)
		return AM_ENOTFOUND;
	if ((d = calloc(1, sizeof *d)) == NULL)
		return AM_ENOMEM;
	d->m = m;
	d->nb = nb;
	*out = d;
	return 0;
}

void mesh_inproc_dialer_free(struct mesh_inproc_dialer *d)
{
	if (!d)
		return;
	session_free(d->sess);
	session_pending_free(d->pend);
	free(d);
}

/* Our prune and grafts ride on the pull req (as on puller_main's), then
 * it is packed and sealed into *frame (ours to free). Clears req. */
static int seal_pull(struct mesh_inproc_dialer *d, struct wire_sync_request *req, uint8_t **frame, size_t *len)
{
	uint8_t *plain = NULL;
	size_t plain_len;
	int rv;

	mesh_tree_take(d->m, d->nb, true, &req->tree);
	rv = wire_sync_request_pack(req, &plain, &plain_len);
	wire_sync_request_clear(req);
	if (rv != 0)
		return rv;
	rv = session_seal(d->sess, plain, plain_len, frame, len);
	free(plain);
	return rv;
}

int mesh_inproc_request(struct mesh_inproc_dialer *d, uint8_t **frame, size_t *len)
{
	struct wire_sync_request req;

	*frame = NULL;
	if (!d->sess) {
		session_pending_free(d->pend);
		d->pend = NULL;
		return session_hello(d->m->key->sk, d->nb->pk, mesh_wall_now(d->m), &d->pend, frame, len);
	}
	/* as puller_main: "your changes after our cursor" */
	mesh_ingest_pull_request(d->m, d->nb, 0, &req);
	req.tree.early_lost = d->early_lost;
	d->early_lost = false;
	return seal_pull(d, &req, frame, len);
}

/* The pull after an answer whose batch says the sender has more - puller_main's
 * pull_next (mesh_link.c). */
static int request_next(struct mesh_inproc_dialer *d, const struct wire_sync_response *resp, uint8_t **frame,
                        size_t *len)
{
	struct wire_sync_request req;

	mesh_ingest_next_request(resp, &req);
	return seal_pull(d, &req, frame, len);
}

int mesh_inproc_reply(struct mesh_inproc_dialer *d, const uint8_t *frame, size_t len,
                      struct mesh_inproc_result *r)
{
	return mesh_inproc_reply_ahead(d, frame, len, r, NULL, NULL);
}

int mesh_inproc_reply_ahead(struct mesh_inproc_dialer *d, const uint8_t *frame, size_t len,
                            struct mesh_inproc_result *r, uint8_t **next, size_t *next_len)
{
	struct wire_sync_response resp;
	char err[AM_ERRLEN];
	uint8_t *pt = NULL;
	size_t pt_len;
	int rv;

	memset(r, 0, sizeof *r);
	if (next)
		*next = NULL;
	if (!d->sess) {
		if (!d->pend)
			return AM_EHANDSHAKE;
		rv = session_finish(d->pend, frame, len, &d->sess, err, sizeof err);
		d->pend = NULL; /* freed by session_finish in every case */
		pthread_mutex_lock(&d->m->lock);
		if (rv == 0) {
			d->nb->handshakes++;
			d->nb->state = MESH_UP;
		} else {
			d->nb->handshake_failures++;
			d->nb->state = MESH_REFUSED;
		}
		pthread_mutex_unlock(&d->m->lock);
		if (rv == 0)
			mesh_tree_reset(d->m, d->nb); /* as the puller: a new session starts eager */
		r->handshake = rv == 0;
		return rv;
	}
	if ((rv = session_open(d->sess, frame, len, &pt, &pt_len)) != 0)
		goto drop;
	rv = wire_sync_response_unpack(pt, pt_len, &resp);
	free(pt);
	if (rv != 0)
		goto drop;
	struct mesh_ingest_tally t;
	if (next && resp.batch.present && resp.batch.more && resp.batch.n &&
	    (rv = request_next(d, &resp, next, next_len)) != 0) {
		wire_sync_response_clear(&resp);
		return rv; /* cannot seal: nothing ingested, the session kept */
	}
	mesh_tree_heard(d->m, d->nb, &resp.tree, NULL);
	int irv = mesh_ingest_pulled(d->m, d->nb, &resp, NULL, &t);
	if (irv != 0 && resp.tree.early.n)
		d->early_lost = true;
	wire_sync_response_clear(&resp);
	r->items = t.items;
	r->ids = t.ids;
	r->grafted = t.grafted;
	r->early = t.early;
	r->accepted = t.accepted;
	r->duplicates = t.duplicates;
	r->rejected = t.rejected;
	r->verified = t.verified;
	r->commits = t.commits;
	r->more = t.more;
	/* irv != 0: the store could not take it (full disk or map); the
	 * session is fine, the batch comes again */
	return irv;
drop:
	/* as the puller: a refused or broken reply costs the session */
	session_free(d->sess);
	d->sess = NULL;
	return rv;
}

int mesh_inproc_serve(struct mesh *m, const uint8_t *frame, size_t len, uint8_t **reply, size_t *reply_len,
                      bool *idle)
{
	return mesh_server_frame(m, frame, len, NULL, reply, reply_len, idle);
}

int mesh_inproc_serve_from(struct mesh *m, const char *source, const uint8_t *frame, size_t len, uint8_t **reply,
                           size_t *reply_len, bool *idle)
{
	return mesh_server_frame(m, frame, len, source, reply, reply_len, idle);
}

void mesh_inproc_tree(struct mesh *m, uint64_t (*clock_ms)(void *arg), void *arg, unsigned graft_ms,
                      unsigned retry_ms)
{
	mesh_tree_manual(m, clock_ms, arg, graft_ms, retry_ms);
}

void mesh_inproc_wall(struct mesh *m)
{
	m->wall_base_ms = m->tree_clock(m->tree_clock_arg);
	m->wall_base_s = timefmt_now();
}

size_t mesh_inproc_tick(struct mesh *m)
{
	return mesh_tree_tick(m);
}

uint64_t mesh_inproc_next_deadline(struct mesh *m)
{
	return m->tree ? plumtree_next_deadline(m->tree) : 0;
}

void mesh_inproc_listen_silence(struct mesh *m, unsigned silence_ms)
{
	pthread_mutex_lock(&m->lock);
	m->listen_silence_ms = silence_ms;
	pthread_mutex_unlock(&m->lock);
}

void mesh_inproc_hold_commit(struct mesh *m, int (*fn)(void *arg), void *arg)
{
	m->before_commit = fn;
	m->before_commit_arg = arg;
}

bool mesh_inproc_dialer_pending(struct mesh_inproc_dialer *d)
{
	return mesh_tree_pending_push(d->m, d->nb);
}

/* jsonout.c - the operator tools' JSON objects, built and printed with jansson. */
#include "jsonout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "timefmt.h"

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

json_t *jsonout_string(const char *s)
{
	size_t n = strlen(s), o = 0;
	json_t *j;
	char *fixed;

	if ((j = json_stringn(s, n)) != NULL)
		return j;
	/* invalid UTF-8: each bad byte becomes U+FFFD (3 bytes) */
	if ((fixed = malloc(n * 3 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)s + i, n - i);
		if (k == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(fixed + o, s + i, k);
			o += k;
			i += k;
		}
	}
	j = json_stringn(fixed, o);
	free(fixed);
	return j;
}

json_t *jsonout_time(uint64_t unix_secs)
{
	char t[TIMEFMT_LEN];
	timefmt_rfc3339(unix_secs, t);
	return json_string(t);
}

json_t *jsonout_time_us(uint64_t unix_us)
{
	char t[TIMEFMT_LEN];
	timefmt_rfc3339_us(unix_us, t);
	return json_string(t);
}

/* Fixed decimals, as the text output shows them: 0.5, 89.0, 0.4500. */
static json_t *real_rounded(double v, int decimals)
{
	double m = pow(10, decimals);
	return json_real(round(v * m) / m);
}

json_t *jsonout_signal(const struct wire_signal *s)
{
	char idhex[2 * AM_ID_BYTES + 1], keyhex[2 * AM_KEY_BYTES + 1], keyid[2 * AM_KEYID_BYTES + 1];

	am_hex(s->id, AM_ID_BYTES, idhex);
	am_hex(s->ind.origin, AM_KEY_BYTES, keyhex);
	am_keyid_hex(s->ind.origin, keyid);
	return json_pack("{s:s, s:o, s:s, s:i, s:s, s:o, s:o, s:s, s:s, s:I, s:b, s:i}",
	                 "id", idhex, "domain", jsonout_string(s->ind.domain),
	                 "category", am_category_name(s->ind.category), "confidence", (int)s->ind.confidence,
	                 "tlp", am_tlp_name(s->ind.tlp), "issued_at", jsonout_time(s->ind.issued_at),
	                 "expires_at", jsonout_time(s->ind.expires_at), "origin", keyhex,
	                 "origin_key_id", keyid, "version", (json_int_t)s->ind.version,
	                 "withdrawn", (int)s->ind.withdrawn, "local_confidence", (int)s->local_confidence);
}

static json_t *verdict(const struct wire_verdict *v)
{
	json_t *contrib = json_array(), *o;

	for (size_t k = 0; contrib && k < v->n_contrib; k++) {
		char ok[2 * AM_KEYID_BYTES + 1];
		am_keyid_hex(v->contrib[k].origin, ok);
		if (json_array_append_new(contrib, json_pack("{s:s, s:o, s:i, s:o, s:o, s:o}", "origin_key_id", ok,
		                                             "domain", jsonout_string(v->contrib[k].domain),
		                                             "confidence", (int)v->contrib[k].confidence,
		                                             "weight", real_rounded(v->contrib[k].weight, 3),
		                                             "decay", real_rounded(v->contrib[k].decay, 3),
		                                             "p", real_rounded(v->contrib[k].p, 4))) != 0) {
			json_decref(contrib);
			return NULL;
		}
	}
	if (!contrib)
		return NULL;
	o = json_pack("{s:s, s:o, s:s}", "category", am_category_name(v->category), "score",
	              real_rounded(v->score, 1), "level", v->level);
	if (o && v->disputed && json_object_set_new(o, "disputed", json_integer((json_int_t)v->disputed)) != 0)
		goto fail;
	if (o && v->reason[0] && json_object_set_new(o, "reason", jsonout_string(v->reason)) != 0)
		goto fail;
	if (!o || json_object_set_new(o, "contributions", contrib) != 0) {
		contrib = NULL; /* set_new consumed it */
		goto fail;
	}
	return o;
fail:
	json_decref(contrib);
	json_decref(o);
	return NULL;
}

json_t *jsonout_name_result(const struct wire_name_result *nr)
{
	json_t *o, *sig, *ver;

	o = json_pack("{s:o, s:o}", "name", jsonout_string(nr->name), "normalised", jsonout_string(nr->normalised));
	if (!o)
		return NULL;
	if (nr->error[0] && json_object_set_new(o, "error", jsonout_string(nr->error)) != 0)
		goto fail;
	if (json_object_set_new(o, "signals", sig = json_array()) != 0 ||
	    json_object_set_new(o, "verdicts", ver = json_array()) != 0)
		goto fail;
	for (size_t j = 0; j < nr->n_signals; j++) {
		const struct wire_signal *s = &nr->signals[j];
		json_t *so = jsonout_signal(s), *ds = json_array();
		if (json_array_append_new(sig, so) != 0 || json_object_set_new(so, "disputes", ds) != 0 ||
		    json_object_set_new(so, "hits_here", json_integer((json_int_t)s->hits_here)) != 0 ||
		    json_object_set_new(so, "hits_reported", json_integer((json_int_t)s->hits_reported)) != 0 ||
		    (s->disputes_left_off &&
		     json_object_set_new(so, "disputes_left_off", json_integer((json_int_t)s->disputes_left_off)) != 0))
			goto fail;
		/* each signal carries the disputes on its (origin, domain, category) */
		for (size_t k = 0; k < nr->n_disputes; k++) {
			const struct wire_dispute_info *d = &nr->disputes[k];
			if (d->category == s->ind.category && strcmp(d->domain, s->ind.domain) == 0 &&
			    memcmp(d->origin, s->ind.origin, AM_KEY_BYTES) == 0 &&
			    json_array_append_new(ds, jsonout_dispute(d)) != 0)
				goto fail;
		}
	}
	for (size_t j = 0; j < nr->n_verdicts; j++)
		if (json_array_append_new(ver, verdict(&nr->verdicts[j])) != 0)
			goto fail;
	if (nr->n_zones) {
		json_t *zs = json_array();
		if (json_object_set_new(o, "rpz", zs) != 0)
			goto fail;
		for (size_t j = 0; j < nr->n_zones; j++) {
			const struct wire_zone_answer *z = &nr->zones[j];
			json_t *zo = json_pack("{s:s, s:o, s:b, s:s, s:o, s:i}", "rpz", z->rpz, "zone",
			                       jsonout_string(z->zone), "listed", (int)z->listed, "why", z->why, "on",
			                       jsonout_string(z->on), "min_score", (int)z->min_score);
			if (json_array_append_new(zs, zo) != 0)
				goto fail;
			/* a score and category only where a verdict is behind the
			 * answer (listed, min-score, category, an allowlisted name's
			 * own): a passthru with no signal, a disputed parent or a
			 * name too long has none, and "score":0 would read as judged */
			if (z->category != AM_CAT_NONE &&
			    (json_object_set_new(zo, "category", json_string(am_category_name(z->category))) != 0 ||
			     json_object_set_new(zo, "score", json_real(z->score)) != 0))
				goto fail;
			if (z->listed && (json_object_set_new(zo, "action", json_string(z->action)) != 0 ||
			                  json_object_set_new(zo, "target", jsonout_string(z->target)) != 0 ||
			                  json_object_set_new(zo, "rule", jsonout_string(z->rule)) != 0 ||
			                  json_object_set_new(zo, "wildcard", json_boolean(z->wildcard)) != 0))
				goto fail;
		}
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *time_or_null(uint64_t t);

/* The configuration in force and the last reload: `reload' is null until
 * a SIGHUP, else {at, result ("applied"/"refused"), messages}. */
static json_t *status_config(const struct wire_status *s)
{
	json_t *msgs, *reload = NULL;

	if (!s->config_path[0])
		return json_null(); /* an ameshd older than these fields */
	msgs = json_array();
	for (size_t i = 0; msgs && i < s->n_reload_messages; i++)
		if (json_array_append_new(msgs, jsonout_string(s->reload_messages[i])) != 0) {
			json_decref(msgs);
			return NULL;
		}
	if (!msgs)
		return NULL;
	if (s->reload_at) {
		reload = json_pack("{s:o, s:s, s:o}", "at", jsonout_time(s->reload_at), "result", s->reload_result,
		                   "messages", msgs);
	} else {
		json_decref(msgs);
		reload = json_null();
	}
	return json_pack("{s:o, s:o, s:o, s:b, s:o}", "path", jsonout_string(s->config_path), "loaded_at",
	                 time_or_null(s->config_loaded_at), "modified_at", time_or_null(s->config_modified_at),
	                 "changed_since_loaded", s->config_modified_at > s->config_loaded_at, "reload", reload);
}

json_t *jsonout_status(const struct wire_status *s, const char *public_key_line)
{
	char keyid[2 * AM_KEYID_BYTES + 1], epoch[2 * sizeof s->epoch + 1];
	json_t *dig = json_array();

	for (size_t i = 0; dig && i < s->n_digests; i++) {
		char ok[2 * AM_KEYID_BYTES + 1], dg[65];
		am_keyid_hex(s->digests[i].origin, ok);
		am_hex(s->digests[i].digest, 32, dg);
		if (json_array_append_new(dig, json_pack("{s:s, s:I, s:s}", "origin_key_id", ok, "count",
		                                         (json_int_t)s->digests[i].count, "digest", dg)) != 0) {
			json_decref(dig);
			return NULL;
		}
	}
	am_keyid_hex(s->public_key, keyid);
	am_hex(s->epoch, sizeof s->epoch, epoch);
	/* the digests ride in the same object so `status --json` stays one line */
	return json_pack("{s:o, s:o, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:s, s:o}", "name",
	                 jsonout_string(s->name), "digests", dig, "key_id", keyid, "public_key",
	                 jsonout_string(public_key_line), "live", (json_int_t)s->live, "tombstones",
	                 (json_int_t)s->tombstones, "kept", (json_int_t)s->kept, "set_aside", (json_int_t)s->set_aside,
	                 "statements", (json_int_t)s->statements,
	                 "last_seq", (json_int_t)s->last_seq, "store_bytes", (json_int_t)s->store_bytes,
	                 "started_at", jsonout_time(s->started_at), "uptime", (json_int_t)s->uptime,
	                 "epoch", epoch, "config", status_config(s));
}

static json_t *reasons(const struct wire_reason *r, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++)
		if (json_object_set_new(o, r[i].reason, json_integer((json_int_t)r[i].count)) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *time_or_null(uint64_t t)
{
	return t ? jsonout_time(t) : json_null();
}

json_t *jsonout_rpz_zone(const struct wire_rpz_zone *z, const struct wire_rpz_secondary *secs, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < n; i++) {
		const struct wire_rpz_secondary *w = &secs[i];
		if (strcmp(w->zone, z->zone) != 0)
			continue;
		json_array_append_new(
			list,
			json_pack("{s:o, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:b, s:o}",
			          "address", jsonout_string(w->address), "last_soa", time_or_null(w->last_soa),
			          "last_transfer", time_or_null(w->last_xfr), "transfer", w->xfr_kind,
			          "transfer_bytes", (json_int_t)w->xfr_bytes,
			          "transfer_serial", (json_int_t)w->xfr_serial, "axfrs", (json_int_t)w->axfrs,
			          "ixfrs", (json_int_t)w->ixfrs, "refused", (json_int_t)w->refused,
			          "refused_why", w->refused_why[0] ? jsonout_string(w->refused_why) : json_null(),
			          "notify_sent", time_or_null(w->notify_sent),
			          "notify_answered", time_or_null(w->notify_answered),
			          "notify_serial", (json_int_t)w->notify_serial,
			          "notify_rcode", w->notify_rcode < 0 ? json_null() : json_integer(w->notify_rcode),
			          "notify_pending", w->notify_pending,
			          "notify_from", w->notify_from[0] ? jsonout_string(w->notify_from) : json_null()));
	}
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:o}", "name", jsonout_string(z->name), "zone",
	                 jsonout_string(z->zone), "serial", (json_int_t)z->serial, "rules",
	                 (json_int_t)z->rules, "journal", (json_int_t)z->journal, "secondaries",
	                 list ? list : json_null());
}

json_t *jsonout_peer(const struct wire_peer *p)
{
	char keyid[2 * AM_KEYID_BYTES + 1];

	am_keyid_hex(p->public_key, keyid);
	json_t *tree = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "mode",
	                         p->tree_lazy ? "lazy" : "eager", "mode_in", p->tree_lazy_in ? "lazy" : "eager",
	                         "ids_out", (json_int_t)p->ids_out, "ids_in", (json_int_t)p->ids_in,
	                         "grafts_out", (json_int_t)p->grafts_out, "grafts_in", (json_int_t)p->grafts_in,
	                         "grafted_out", (json_int_t)p->grafted_out, "prunes_out", (json_int_t)p->prunes_out,
	                         "prunes_in", (json_int_t)p->prunes_in, "ids_dropped", (json_int_t)p->ids_dropped,
	                         "grafts_abandoned", (json_int_t)p->grafts_abandoned, "early_out",
	                         (json_int_t)p->early_out, "early_fallbacks", (json_int_t)p->early_fallbacks,
	                         "early_lost_in", (json_int_t)p->early_lost_in, "declined_out",
	                         (json_int_t)p->declined_out, "declined_in", (json_int_t)p->declined_in);
	return json_pack("{s:o, s:s, s:o, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
	                 "name", jsonout_string(p->name), "key_id", keyid, "endpoint", jsonout_string(p->endpoint),
	                 "state", p->state, "last_sync", p->last_sync ? jsonout_time(p->last_sync) : json_null(),
	                 "lag", (json_int_t)p->lag, "in_accepted", (json_int_t)p->in_accepted,
	                 "in_duplicate", (json_int_t)p->in_duplicate, "out_sent", (json_int_t)p->out_sent,
	                 "handshakes", (json_int_t)p->handshakes,
	                 "handshake_failures", (json_int_t)p->handshake_failures,
	                 "rejects", reasons(p->rejects, p->n_rejects), "held", reasons(p->held, p->n_held),
	                 "tree", tree ? tree : json_null());
}

json_t *jsonout_watch_event(const struct wire_watch_event *e)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:o}", "seq", (json_int_t)e->seq, "event", e->type,
	                 "at", jsonout_time_us(e->at_us), "from", jsonout_string(e->from),
	                 "signal", jsonout_signal(&e->signal));
}

json_t *jsonout_audit_record(const struct audit_record *r)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "seq", (json_int_t)r->seq,
	                 "time", jsonout_time(r->time), "event", jsonout_string(r->event),
	                 "domain", jsonout_string(r->domain),
	                 "category", r->category ? am_category_name(r->category) : "",
	                 "origin_key_id", jsonout_string(r->origin), "neighbour", jsonout_string(r->neighbour),
	                 "rule", jsonout_string(r->rule), "detail", jsonout_string(r->detail));
}

int jsonout_print(FILE *f, json_t *obj)
{
	int rv = 0;

	if (!obj)
		return AM_ENOMEM;
	/* ten significant digits: 0.45 stays 0.45, not 0.45000000000000001 */
	if (json_dumpf(obj, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) != 0 ||
	    fputc('\n', f) == EOF)
		rv = AM_EIO;
	json_decref(obj);
	return rv;
}

const char *jsonout_dispute_state(const struct wire_dispute_info *d)
{
	if (d->answer == DISPUTE_WITHDRAW)
		return "withdrawn";
	if (d->answer == DISPUTE_UPHOLD)
		return "upheld";
	if (d->lapsed)
		return "lapsed";
	return d->overdue ? "overdue" : "open";
}

json_t *jsonout_dispute(const struct wire_dispute_info *d)
{
	char id[2 * AM_ID_BYTES + 1], ind[2 * AM_ID_BYTES + 1], ok[2 * AM_KEYID_BYTES + 1], by[2 * AM_KEYID_BYTES + 1];
	json_t *o;

	am_hex(d->id, AM_ID_BYTES, id);
	am_hex(d->indicator_id, AM_ID_BYTES, ind);
	am_keyid_hex(d->origin, ok);
	am_keyid_hex(d->by, by);
	o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "id", id, "indicator_id", ind, "domain",
	              jsonout_string(d->domain), "category", am_category_name(d->category), "origin_key_id", ok, "by",
	              by);
	if (!o)
		return NULL;
	if ((d->by_name[0] && json_object_set_new(o, "by_name", jsonout_string(d->by_name)) != 0) ||
	    json_object_set_new(o, "reason", jsonout_string(d->reason)) != 0 ||
	    (d->evidence[0] && json_object_set_new(o, "evidence", jsonout_string(d->evidence)) != 0) ||
	    (d->on_behalf_of[0] && json_object_set_new(o, "on_behalf_of", jsonout_string(d->on_behalf_of)) != 0) ||
	    json_object_set_new(o, "at", jsonout_time(d->at)) != 0 ||
	    json_object_set_new(o, "deadline", jsonout_time(d->deadline)) != 0 ||
	    json_object_set_new(o, "state", json_string(jsonout_dispute_state(d))) != 0 ||
	    (d->answer && json_object_set_new(o, "answer", json_string(dispute_answer_name(d->answer))) != 0) ||
	    (d->answer && json_object_set_new(o, "answer_reason", jsonout_string(d->answer_reason)) != 0) ||
	    (d->answer && json_object_set_new(o, "answered_at", jsonout_time(d->answered_at)) != 0) ||
	    json_object_set_new(o, "from", jsonout_string(d->from)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* --- keys and the trust store (keys/keycmd.c) --- */

json_t *jsonout_key(const uint8_t pk[AM_KEY_BYTES], const char *comment, const char *file, const char *pubfile)
{
	char line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1];
	json_t *o;

	if (keyfile_public_line(pk, comment, line, sizeof line) != 0)
		line[0] = '\0';
	keyfile_fingerprint(pk, fp, sizeof fp);
	am_keyid_hex(pk, id);
	o = json_pack("{s:s, s:o, s:s, s:o, s:o}", "key_id", id, "public_key", jsonout_string(line), "fingerprint", fp,
	              "comment", jsonout_string(comment), "file", jsonout_string(file));
	if (o && pubfile && json_object_set_new(o, "public_file", jsonout_string(pubfile)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* {"key_id","fingerprint","public_key"} of one key with its comment. */
static json_t *key_brief(const uint8_t pk[AM_KEY_BYTES], const char *comment)
{
	char line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1];

	if (keyfile_public_line(pk, comment, line, sizeof line) != 0)
		line[0] = '\0';
	keyfile_fingerprint(pk, fp, sizeof fp);
	am_keyid_hex(pk, id);
	return json_pack("{s:s, s:s, s:o}", "key_id", id, "fingerprint", fp, "public_key", jsonout_string(line));
}

json_t *jsonout_trust_entry(const struct trust_entry *e, const char *action)
{
	json_t *o = json_object(), *k = key_brief(e->pk, e->comment), *retired = json_array();
	char id[2 * AM_KEYID_BYTES + 1];

	if (!o || !k || !retired)
		goto fail;
	if (action && json_object_set_new(o, "action", json_string(action)) != 0)
		goto fail;
	if (json_object_set_new(o, "name", jsonout_string(e->name)) != 0 ||
	    json_object_set_new(o, "role", json_string(trust_role_name(e->role))) != 0 ||
	    json_object_update(o, k) != 0 || json_object_set_new(o, "comment", jsonout_string(e->comment)) != 0 ||
	    json_object_set_new(o, "note", jsonout_string(e->note)) != 0 ||
	    json_object_set_new(o, "added", e->added ? jsonout_time(e->added) : json_null()) != 0)
		goto fail;
	json_t *pending = json_null();
	if (e->has_pending) {
		pending = key_brief(e->pending_pk, e->pending_comment);
		if (!pending || json_object_set_new(pending, "since", jsonout_time(e->pending_since)) != 0) {
			json_decref(pending);
			goto fail;
		}
	}
	if (json_object_set_new(o, "pending", pending) != 0)
		goto fail;
	for (size_t i = 0; i < e->n_retired; i++) {
		am_keyid_hex(e->retired[i].pk, id);
		if (json_array_append_new(retired, json_pack("{s:s, s:o}", "key_id", id, "retired_at",
		                                             jsonout_time(e->retired[i].retired))) != 0)
			goto fail;
	}
	if (json_object_set(o, "retired", retired) != 0 ||
	    json_object_set_new(o, "revoked", json_boolean(e->revoked != 0)) != 0)
		goto fail;
	if (e->revoked && (json_object_set_new(o, "revoked_at", jsonout_time(e->revoked)) != 0 ||
	                   json_object_set_new(o, "revoke_reason", jsonout_string(e->revoke_reason)) != 0))
		goto fail;
	json_decref(k);
	json_decref(retired);
	return o;
fail:
	json_decref(o);
	json_decref(k);
	json_decref(retired);
	return NULL;
}

json_t *jsonout_trust_pending(const struct trust_entry *e)
{
	char line[KEYFILE_LINE_MAX + 1], fp[20], id[2 * AM_KEYID_BYTES + 1], pid[2 * AM_KEYID_BYTES + 1];

	if (keyfile_public_line(e->pending_pk, e->pending_comment, line, sizeof line) != 0)
		line[0] = '\0';
	keyfile_fingerprint(e->pending_pk, fp, sizeof fp);
	am_keyid_hex(e->pk, id);
	am_keyid_hex(e->pending_pk, pid);
	return json_pack("{s:o, s:s, s:s, s:s, s:s, s:o, s:o}", "name", jsonout_string(e->name), "role",
	                 trust_role_name(e->role), "key_id", id, "pending_key_id", pid, "pending_fingerprint", fp,
	                 "pending_public_key", jsonout_string(line), "pending_since", jsonout_time(e->pending_since));
}

/* rpz_status.c - zone status and zone export pages for the control socket. */
#include "rpz_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "text.h"

struct page {
	char *text;
	size_t len;
	size_t zl;
};

/* One record as a master-file line, owner relative to $ORIGIN. */
static int page_rr(void *arg, const char *owner, const char *target)
{
	struct page *p = arg;
	text_append(&p->text, &p->len, "%s CNAME %s\n", owner, target);
	return p->text == NULL ? AM_ENOMEM : 0;
}

/* By its section's NAME, or by its zone - the name dig, named-checkzone and
 * the resolver's config call it (case aside, root's dot optional), which an
 * operator gave and was told "no zone [rpz rpz.cert.example] is configured". */
static const struct config_rpz *zone_named(const struct config_rpz *zones, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strcmp(zones[i].name, name) == 0)
			return &zones[i];
	if (len > 1 && name[len - 1] == '.')
		len--;
	for (size_t i = 0; i < n; i++)
		if (strlen(zones[i].zone) == len && strncasecmp(zones[i].zone, name, len) == 0)
			return &zones[i];
	return NULL;
}

/* "no zone `x' is configured here (zones: abuse = rpz.abuse.example, ...)" */
static void no_such_zone(const struct config_rpz *zones, size_t n, const char *name, char *err, size_t errlen)
{
	size_t o;

	if (n == 0) {
		snprintf(err, errlen, "no zone [rpz %s] is configured: this peer's config has no [rpz NAME] section", name);
		return;
	}
	o = (size_t)snprintf(err, errlen, "no zone [rpz %s] is configured; give a section's NAME or its zone:", name);
	for (size_t i = 0; i < n && o < errlen; i++)
		o += (size_t)snprintf(err + o, errlen - o, "%s %s (%s)", i ? "," : "", zones[i].name, zones[i].zone);
}

int rpz_status_answer(struct rpz *r, struct dns *d, struct rpz_feed *f,
                      const struct wire_request *req, struct wire_response *resp, char *err,
                      size_t errlen)
{
	static __thread struct config_rpz zones[CONFIG_RPZ_MAX];
	struct rpz_snap *snap = NULL;
	size_t nz = rpz_feed_zones(f, zones, CONFIG_RPZ_MAX);
	int rv = 0;

	resp->op = WIRE_OP_RPZ;
	if (req->domain[0] != '\0') {
		const struct config_rpz *z = zone_named(zones, nz, req->domain);
		if (z == NULL || r == NULL) {
			no_such_zone(zones, r == NULL ? 0 : nz, req->domain, err, errlen);
			rv = AM_ENOTFOUND;
			goto out;
		}
		if ((rv = rpz_snap_begin(r, z->zone, &snap)) != 0) {
			snprintf(err, errlen, "zone %s has not been built yet", z->zone);
			goto out;
		}
		struct page p = {.text = calloc(1, 1)};
		if (req->rpz_after[0] == '\0')
			rpz_zone_header(z, rpz_snap_serial(snap), &p.text, &p.len);
		rv = rpz_snap_walk_page(snap, req->rpz_after, RPZ_EXPORT_PAGE, page_rr, &p, resp->rpz_next);
		rpz_snap_end(snap);
		if (rv != 0 || p.text == NULL) {
			free(p.text);
			snprintf(err, errlen, "cannot read zone %s", z->zone);
			rv = rv != 0 ? rv : AM_ENOMEM;
			goto out;
		}
		resp->rpz_text = p.text;
		resp->rpz_text_len = p.len;
		goto out;
	}
	if (nz && (resp->rpz_zones = calloc(nz, sizeof *resp->rpz_zones)) == NULL) {
		rv = AM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nz; i++) {
		struct wire_rpz_zone *w = &resp->rpz_zones[resp->n_rpz_zones++];
		_Static_assert(sizeof w->name >= sizeof zones[i].name, "name");
		_Static_assert(sizeof w->zone == sizeof zones[i].zone, "zone");
		memcpy(w->name, zones[i].name, sizeof zones[i].name); /* NUL-terminated by config */
		memcpy(w->zone, zones[i].zone, sizeof w->zone);
		if (r != NULL && rpz_snap_begin(r, zones[i].zone, &snap) == 0) {
			w->serial = rpz_snap_serial(snap);
			w->rules = rpz_snap_rules(snap);
			w->journal = rpz_snap_journal_depth(snap);
			rpz_snap_end(snap);
		}
	}
	static __thread struct dns_secondary sec[DNS_SECONDARIES_MAX];
	size_t n = dns_secondaries(d, sec, DNS_SECONDARIES_MAX);
	if (n && (resp->rpz_secs = calloc(n, sizeof *resp->rpz_secs)) == NULL) {
		rv = AM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct wire_rpz_secondary *w = &resp->rpz_secs[i];
		/* same sizes, NUL-terminated by dns.c */
		_Static_assert(sizeof w->zone == sizeof sec[i].zone, "zone");
		_Static_assert(sizeof w->address == sizeof sec[i].address, "address");
		_Static_assert(sizeof w->xfr_kind == sizeof sec[i].xfr_kind, "kind");
		_Static_assert(sizeof w->refused_why == sizeof sec[i].refused_why, "why");
		_Static_assert(sizeof w->notify_from == sizeof sec[i].notify_from, "from");
		memcpy(w->zone, sec[i].zone, sizeof w->zone);
		memcpy(w->address, sec[i].address, sizeof w->address);
		memcpy(w->xfr_kind, sec[i].xfr_kind, sizeof w->xfr_kind);
		memcpy(w->refused_why, sec[i].refused_why, sizeof w->refused_why);
		memcpy(w->notify_from, sec[i].notify_from, sizeof w->notify_from);
		w->last_soa = sec[i].last_soa;
		w->last_xfr = sec[i].last_xfr;
		w->xfr_bytes = sec[i].xfr_bytes;
		w->xfr_serial = sec[i].xfr_serial;
		w->axfrs = sec[i].axfrs;
		w->ixfrs = sec[i].ixfrs;
		w->refused = sec[i].refused;
		w->notify_sent = sec[i].notify_sent;
		w->notify_answered = sec[i].notify_answered;
		w->notify_serial = sec[i].notify_serial;
		w->notify_rcode = sec[i].notify_rcode;
		w->notify_pending = sec[i].notify_pending;
	}
	resp->n_rpz_secs = n;
out:
	sodium_memzero(zones, sizeof zones); /* TSIG secrets */
	return rv;
}

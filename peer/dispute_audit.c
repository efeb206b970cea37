/* dispute_audit.c - disputes and answers in the audit trail (see the header). */
#include "dispute_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispute_store.h"
#include "log.h"

struct dispute_audit {
	struct audit *audit;
	dispute_name_fn name;
	void *name_arg;
};

static void idhex(const uint8_t id[AM_ID_BYTES], char out[2 * AM_ID_BYTES + 1])
{
	for (size_t i = 0; i < AM_ID_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* A cut by snprintf may end inside a UTF-8 sequence: drop its start. */
static void trim_partial_utf8(char *s)
{
	size_t n = strlen(s), back = 0;

	while (n > back && back < 4 && ((unsigned char)s[n - 1 - back] & 0xc0) == 0x80)
		back++;
	if (n > back) {
		unsigned char lead = (unsigned char)s[n - 1 - back];
		size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
		if (want != back + 1)
			s[n - 1 - back] = '\0';
	}
}

/* The id comes before any free text: the texts may fill the detail and the
 * trail's encoding may cut it further (audit.h), and a record whose id was
 * cut off can no longer be tied to its dispute. */
void dispute_audit_words(const struct dispute *d, const uint8_t id[AM_ID_BYTES], const char *signer_name,
                         char *out, size_t outlen)
{
	char kid[2 * AM_KEYID_BYTES + 1], hex[2 * AM_ID_BYTES + 1], ihex[2 * AM_ID_BYTES + 1], who[96] = "";
	int n;

	am_keyid_hex(d->signer, kid);
	if (signer_name && signer_name[0])
		snprintf(who, sizeof who, " (%s)", signer_name);
	if (d->kind == DISPUTE_FILED) {
		/* and the version it disputes, as the `accepted' record of that
		 * version names it: which flag was disputed, with no guesswork */
		idhex(id, hex);
		idhex(d->indicator_id, ihex);
		n = snprintf(out, outlen, "dispute %s of indicator %s filed by %s%s%s%s: %s%s%s", hex, ihex, kid, who,
		             d->on_behalf_of[0] ? " on behalf of " : "", d->on_behalf_of, d->reason,
		             d->evidence[0] ? "; evidence " : "", d->evidence);
	} else {
		idhex(d->dispute_id, hex);
		n = snprintf(out, outlen, "dispute %s %s by origin %s%s: %s", hex,
		             d->answer == DISPUTE_WITHDRAW ? "withdrawn" : "upheld", kid, who, d->reason);
	}
	if (n > 0 && (size_t)n >= outlen)
		trim_partial_utf8(out);
}

static void audit_change(void *arg, const struct apply_change *c)
{
	struct dispute_audit *da = arg;
	struct dispute d;
	char words[AUDIT_DETAIL_MAX + 1], name[64] = "";

	if (!dispute_record_is(c->ind) || c->cause == APPLY_SWEEP || !c->env)
		return;
	if (dispute_parse_stored(c->env, c->env_len, &d) != 0)
		return;
	if (da->name && !da->name(da->name_arg, d.signer, name, sizeof name))
		name[0] = '\0';
	dispute_audit_words(&d, c->id, name, words, sizeof words);
	struct audit_event e = {
		.event = d.kind == DISPUTE_FILED ? "disputed" : "dispute_answered",
		.domain = d.domain,
		.category = d.category,
		.origin = d.origin,
		.neighbour = c->from[0] ? c->from : NULL,
		.rule = d.kind == DISPUTE_FILED ? (c->from[0] ? "received" : "filed")
		        : d.answer == DISPUTE_WITHDRAW ? "withdrawn" : "upheld",
		.detail = words,
	};
	int rv = audit_append(da->audit, c->at, &e);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record `%s': %s", e.event, am_strerror(rv));
}

int dispute_subscribe_audit(struct apply *a, struct audit *audit, dispute_name_fn name, void *name_arg,
                            struct dispute_audit **out)
{
	struct dispute_audit *da;
	int rv;

	*out = NULL;
	if (!a || !audit)
		return AM_EINVAL;
	if ((da = calloc(1, sizeof *da)) == NULL)
		return AM_ENOMEM;
	da->audit = audit;
	da->name = name;
	da->name_arg = name_arg;
	struct apply_subscriber s = {.name = "dispute_audit", .change = audit_change, .arg = da};
	if ((rv = apply_subscribe(a, &s)) != 0) {
		free(da);
		return rv;
	}
	*out = da;
	return 0;
}

void dispute_audit_free(struct dispute_audit *d)
{
	free(d);
}

/*
 * wire.h - conversion between protobuf bytes and the plain C model.
 *
 * Design: the only module that includes *.pb-c.h. Every unpack is bounded
 * three ways: the input length is checked against a cap before protobuf-c
 * sees it (protobuf-c has no limit of its own), unpacking runs on an
 * allocator with a memory budget (many tiny repeated fields cost little on
 * the wire and much in memory), and every field is range-checked before it
 * is copied into the model. Domains travel as `bytes` and come out
 * NUL-terminated with embedded NULs refused.
 */
#ifndef AMESH_WIRE_H
#define AMESH_WIRE_H

#include "audit.h"
#include "dispute.h"
#include "model.h"
#include "report.h"

/* --- Indicator body and envelope (network) --- */

/* Serialises ind into buf. Returns 0, or AM_ETOOBIG if cap is too small
 * or the result would exceed AM_BODY_MAX. */
int wire_body_pack(const struct am_indicator *ind, uint8_t *buf, size_t cap, size_t *len);
/* Parses a body (len <= AM_BODY_MAX) into ind. Structural checks only:
 * format (AM_EFORMAT unless AM_BODY_FORMAT), domain length and no NUL,
 * enum ranges fit. The domain is NOT normalised here; callers run
 * domain_normalise on it. A format-2 body holds no origin: ind->origin is
 * left zero and the caller sets it from the envelope (indicator.h). */
int wire_body_unpack(const uint8_t *buf, size_t len, struct am_indicator *ind);

/* The three pieces of a signed indicator (amesh.proto, Envelope). */
struct wire_envelope {
	uint8_t body[AM_BODY_MAX];       /* exact signed IndicatorBody bytes */
	size_t body_len;
	uint8_t signature[AM_SIG_BYTES];
	uint8_t origin[AM_KEY_BYTES];    /* the signer, bound by the signature */
};
/* Packs (body, signature, origin) canonically: fields in tag order, no
 * unknown fields. The id does not depend on this packing (indicator.h). */
int wire_envelope_pack(const struct wire_envelope *e, uint8_t *buf, size_t cap, size_t *len);
/* Parses an envelope (len <= AM_ENVELOPE_MAX). Signature and origin must be
 * exactly 64 and 32 bytes, body at most AM_BODY_MAX. */
int wire_envelope_unpack(const uint8_t *buf, size_t len, struct wire_envelope *e);

/* --- Control protocol (operator socket) --- */

enum wire_op {
	WIRE_OP_NONE = 0,
	WIRE_OP_SUBMIT,
	WIRE_OP_WITHDRAW,
	WIRE_OP_QUERY,
	WIRE_OP_LIST,
	WIRE_OP_STATUS,
	WIRE_OP_PEERS,
	WIRE_OP_RELOAD_TRUST,
	WIRE_OP_PUBLISH,
	WIRE_OP_WATCH,
	WIRE_OP_AUDIT,
	WIRE_OP_REPORT,
	WIRE_OP_RPZ,
	WIRE_OP_ALLOWLIST,
	WIRE_OP_SUBMIT_BATCH,
	WIRE_OP_EXPORT,
	WIRE_OP_DISPUTE,        /* file a dispute (issue 14) */
	WIRE_OP_DISPUTE_ANSWER, /* answer one, origin only */
	WIRE_OP_DISPUTES,       /* list the disputes held */
	WIRE_OP_SIGHTINGS, /* wire_sighting.h */
	WIRE_OP_CHECK_BATCH, /* submit_batch's checks only (--dry-run); answered as submit_batch */
	WIRE_OP_RELOAD,      /* the config and trust store, as SIGHUP; answered when in force or refused */
	WIRE_OP_WITHDRAW_BATCH, /* withdrawals of names a feed revoked (import --withdraw-revoked);
	                         * answered as submit_batch, item by item */
};

#define WIRE_NAME_MAX 1024 /* one name as typed, before normalisation */
#define WIRE_AUDIT_EVENTS_MAX 512 /* amesh audit --event: every event name once, with commas, fits */
#define WIRE_BATCH_MAX 1000 /* submissions in one submit_batch request */
#define WIRE_EXPORT_MAX 5000 /* signals in one export answer */

/* One submission of a batch (the fields of a single submit). */
struct wire_submit_item {
	/* as given; the daemon normalises. As long as a single submit's
	 * (wire_request.domain), so `submit NAME' and a batch take the same
	 * names and none is ever cut on the way from one to the other */
	char domain[WIRE_NAME_MAX + 1];
	enum am_category category;
	uint32_t confidence;
	uint64_t expires_at;
	enum am_tlp tlp;
	uint32_t hop_limit;
	bool force; /* even if the local allowlist covers the name */
};

/* One withdrawal of a batch (amesh import --withdraw-revoked): this
 * peer's own live indicator on (domain, category), with note for the
 * audit trail - where the feed revoked it. */
#define WIRE_NOTE_MAX 300
struct wire_withdraw_item {
	char domain[WIRE_NAME_MAX + 1]; /* as given; the daemon normalises */
	enum am_category category;
	char note[WIRE_NOTE_MAX + 1];
};

/* The checks on one submit item that need neither a daemon's
 * configuration nor its store: category, confidence 0-100, expires_at
 * (Unix seconds) after now. The name is not looked at (domain.h). Returns
 * 0, or AM_ECATEGORY / AM_ECONFIDENCE / AM_EEXPIRED with err saying what,
 * in the words both the daemon's submit and a dry run without a daemon
 * print. */
int wire_submit_item_check(const struct wire_submit_item *it, uint64_t now, char *err, size_t errlen);

/* What became of one item of a batch. */
struct wire_item_result {
	int32_t status;                 /* 0 or the am_err refusing it */
	char error[AM_ERRLEN];
	bool changed;
	char domain[AM_DOMAIN_MAX + 1]; /* normalised ("" when refused) */
	uint8_t id[AM_ID_BYTES];
	bool has_id;
	/* withdraw_batch: not withdrawn because the live indicator held on
	 * the name is another origin's (that origin), and, withdrawn, the
	 * disputes on it the withdrawal answered */
	uint8_t held_by[AM_KEY_BYTES];
	bool has_held_by;
	uint32_t disputes_answered;
};

struct wire_sightings_req;
struct wire_sightings_res;

struct wire_request {
	uint32_t protocol;
	enum wire_op op;
	/* submit, withdraw */
	char domain[WIRE_NAME_MAX + 1];
	enum am_category category;
	uint32_t confidence;
	uint64_t expires_at;
	enum am_tlp tlp;
	uint32_t hop_limit;
	bool force; /* submit: even if the local allowlist covers the name */
	/* query: names[i] is NUL-terminated; the array and strings are owned by
	 * the request and freed by wire_request_clear */
	char **names;
	size_t n_names;
	bool zones; /* query: add each [rpz] zone's answer (control.c add_zones) */
	/* reload_trust: what changed (in domain's buffer: one line) */
	/* publish */
	uint8_t envelope[AM_ENVELOPE_MAX];
	size_t envelope_len;
	/* watch (category and confidence above are its filters) */
	uint64_t after;
	uint32_t wait_ms;
	/* audit (domain above; after = since), report (after = since) */
	bool verify;
	/* list */
	uint8_t origin[AM_KEY_BYTES];
	size_t origin_len; /* 0, AM_KEYID_BYTES or AM_KEY_BYTES */
	uint32_t limit;
	/* rpz: the zone's section name in domain ("" = status of all) */
	bool rpz_export;
	char rpz_after[AM_DOMAIN_MAX + 1];
	/* submit_batch: owned, freed by wire_request_clear */
	struct wire_submit_item *items;
	size_t n_items;
	/* withdraw_batch: owned, freed by wire_request_clear; check: say
	 * what would be withdrawn, withdraw nothing (--dry-run) */
	struct wire_withdraw_item *withdrawals;
	size_t n_withdrawals;
	bool check;
	/* export (category, origin, limit and after above) */
	char origin_name[64];
	uint64_t since;
	uint32_t min_score;
	bool withdrawn;
	/* dispute: target in domain (a name, or an indicator id in hex),
	 * category and origin filter above; dispute_answer: the dispute id (or
	 * a prefix) in domain. As typed: the daemon checks the caps. */
	char dispute_reason[WIRE_NAME_MAX + 1];
	char dispute_evidence[WIRE_NAME_MAX + 1];
	char dispute_behalf[WIRE_NAME_MAX + 1];
	enum dispute_answer dispute_answer;
	bool open_only; /* disputes */
	bool mine_only; /* disputes: of this peer's own indicators only */
	char audit_events[WIRE_AUDIT_EVENTS_MAX + 1]; /* audit: comma-separated names, "" = all (and category) */
	/* sightings: owned, freed by wire_request_clear */
	struct wire_sightings_req *sight;
};

/* One dispute as reported to the operator (DisputeInfo). */
struct wire_dispute_info {
	uint8_t id[AM_ID_BYTES], indicator_id[AM_ID_BYTES];
	uint8_t origin[AM_KEY_BYTES], by[AM_KEY_BYTES];
	char domain[AM_DOMAIN_MAX + 1];
	enum am_category category;
	enum am_tlp tlp;
	char by_name[64];
	char reason[DISPUTE_REASON_MAX + 1];
	char evidence[DISPUTE_EVIDENCE_MAX + 1];
	char on_behalf_of[DISPUTE_BEHALF_MAX + 1];
	uint64_t at, answered_at, deadline;
	enum dispute_answer answer;   /* DISPUTE_NO_ANSWER = open */
	char answer_reason[DISPUTE_REASON_MAX + 1];
	bool overdue;
	bool lapsed; /* unanswered, and the indicator is no longer live here */
	char from[64];
};
#define WIRE_DISPUTES_MAX 5000 /* disputes in one answer */
/* The bytes d adds to a response as one element of a repeated DisputeInfo
 * field (its tag and length included): for bounding an answer by
 * AM_CONTROL_MSG_MAX before packing it. */
size_t wire_dispute_info_size(const struct wire_dispute_info *d);

/* One signal as reported to the operator. */
struct wire_signal {
	uint8_t id[AM_ID_BYTES];
	struct am_indicator ind;
	uint8_t local_confidence; /* after this peer's import cap */
	char origin_name[64];     /* export only: the origin's trust-store name, or "" */
	uint64_t first_issued;    /* export only: store.h's first_issued; 0 = unknown */
	/* query only (issue 14): sighting hits held for (origin, domain,
	 * category) over SIGHTING_KEEP_DAYS - by this peer's own resolvers
	 * (reports it signed) and reported by other peers; 0 = none */
	uint64_t hits_here, hits_reported;
	/* query only: disputes on it held here but left out of the answer,
	 * which carries at most WIRE_DISPUTES_PER_SIGNAL, open ones first */
	uint32_t disputes_left_off;
};
#define WIRE_DISPUTES_PER_SIGNAL 100

#define WIRE_CONTRIB_MAX 16

struct wire_verdict {
	enum am_category category;
	double score;
	char level[16];
	char reason[256];
	struct wire_contrib {
		uint8_t origin[AM_KEY_BYTES];
		char domain[AM_DOMAIN_MAX + 1];
		double p, weight, decay;
		uint8_t confidence;
	} contrib[WIRE_CONTRIB_MAX];
	size_t n_contrib;
	uint32_t disputed; /* open disputes on the signals behind it */
};

/* What one response policy zone does with a name (rpz.h's rpz_explain). */
#define WIRE_ZONES_MAX 16
struct wire_zone_answer {
	char rpz[64];                    /* the [rpz NAME] section */
	char zone[AM_DOMAIN_MAX + 1];
	bool listed;                     /* a record matches (passthru too: see action) */
	bool wildcard;                   /* the match is *.rule */
	char action[16];                 /* nxdomain nodata passthru cname; "" = not listed */
	char target[AM_DOMAIN_MAX + 2];  /* CNAME target, absolute */
	char rule[AM_DOMAIN_MAX + 1];    /* the name whose record matched */
	char why[16];                    /* rpz_why_name */
	char on[AM_DOMAIN_MAX + 1];      /* the name why is about */
	enum am_category category;       /* AM_CAT_NONE = none */
	double score;
	uint8_t min_score;
};

struct wire_name_result {
	char *name;                        /* as asked, owned */
	char normalised[AM_QNAME_MAX + 1];  /* query form (domain.h); "" when rejected */
	char error[AM_ERRLEN];             /* "" unless rejected */
	struct wire_signal *signals;       /* owned */
	size_t n_signals, cap_signals;
	/* owned; allocated (AM_CAT_COUNT entries) only for a name that matched:
	 * most names in a bulk lookup match nothing and must stay cheap */
	struct wire_verdict *verdicts;
	size_t n_verdicts;
	/* owned: disputes on the signals above (issue 14), NULL when none */
	struct wire_dispute_info *disputes;
	size_t n_disputes, cap_disputes;
	/* owned: one per [rpz] zone, NULL when none is configured */
	struct wire_zone_answer *zones;
	size_t n_zones;
};

#define WIRE_DIGESTS_MAX 4096
#define WIRE_CONFIG_PATH_MAX 4096 /* PATH_MAX */
#define WIRE_RELOAD_MESSAGES_MAX 64
#define WIRE_RELOAD_MESSAGE_LEN 1024
#define WIRE_REASONS_MAX 32
#define WIRE_PEERS_MAX 1024

struct wire_digest {
	uint8_t origin[AM_KEY_BYTES];
	uint64_t count;
	uint8_t digest[32];
};

struct wire_status {
	char name[64];
	uint8_t public_key[AM_KEY_BYTES];
	uint64_t live, tombstones, last_seq, store_bytes, uptime, started_at;
	uint64_t kept, set_aside, statements; /* stored, not live (store_stats) */
	uint8_t epoch[16];
	struct wire_digest *digests; /* owned */
	size_t n_digests;
	/* the configuration in force and the last reload (reload_status.h) */
	char config_path[WIRE_CONFIG_PATH_MAX];
	uint64_t config_loaded_at, config_modified_at, reload_at; /* Unix seconds; 0 = none */
	char reload_result[16];                                   /* "applied", "refused", "" */
	char **reload_messages;                                   /* owned, each malloc'd */
	size_t n_reload_messages;
};

struct wire_reason {
	char reason[32];
	uint64_t count;
};

struct wire_peer {
	char name[64];
	uint8_t public_key[AM_KEY_BYTES];
	char endpoint[256];
	char state[16];
	uint64_t last_sync, lag, in_accepted, in_duplicate, out_sent, handshakes, handshake_failures;
	/* the broadcast tree on the link (mesh_tree.h) */
	bool tree_lazy, tree_lazy_in; /* we send them ids only; they send us ids only */
	uint64_t ids_out, ids_in, grafts_out, grafts_in, grafted_out, prunes_out, prunes_in;
	uint64_t ids_dropped, grafts_abandoned;
	uint64_t early_out, early_fallbacks, early_lost_in; /* cut-through relay (mesh_early.h) */
	uint64_t declined_out, declined_in; /* grafts answered with no body (Tree.declined) */
	struct wire_reason rejects[WIRE_REASONS_MAX];
	size_t n_rejects;
	struct wire_reason held[WIRE_REASONS_MAX];
	size_t n_held;
};

#define WIRE_WATCH_MAX 1000 /* events in one watch answer */

#define WIRE_ALLOW_ENTRIES_MAX 1000 /* entries in one allowlist answer */
#define WIRE_ALLOW_SOURCES_MAX 64

struct wire_allow_entry {
	char entry[AM_DOMAIN_MAX + 1]; /* "" = none */
	char source[257];
	char covers[24];               /* name | subdomains | name and subdomains */
	uint64_t shielding;
};

struct wire_allow_source {
	char name[257];
	char type[16];
	uint64_t entries, skipped;
};

struct wire_watch_event {
	uint64_t seq;
	uint64_t at_us; /* Unix microseconds it entered the feed (events.h); on the wire as
	                 * at_us and, for older clients, at (seconds) */
	char type[16];
	struct wire_signal signal;
	char from[64];
};

#define WIRE_RPZ_ZONES_MAX 64
#define WIRE_RPZ_SECONDARIES_MAX 1024
#define WIRE_RPZ_TEXT_MAX (3u << 20) /* one export page */

struct wire_rpz_zone {
	char name[64];
	char zone[AM_DOMAIN_MAX + 1];
	uint32_t serial;
	uint64_t rules, journal;
};

struct wire_rpz_secondary {
	char zone[AM_DOMAIN_MAX + 1];
	char address[64];
	uint64_t last_soa, last_xfr;
	char xfr_kind[8];
	uint64_t xfr_bytes;
	uint32_t xfr_serial;
	uint64_t axfrs, ixfrs, refused, notify_sent, notify_answered;
	char refused_why[48];  /* the last refusal's reason, "" = none */
	char notify_from[64];  /* the last NOTIFY's source, "" = the kernel's choice */
	uint32_t notify_serial;
	int32_t notify_rcode;
	bool notify_pending;
};

struct wire_response {
	uint32_t protocol;
	int32_t status;         /* 0 or an am_err */
	char error[AM_ERRLEN];  /* one line: what and why */
	enum wire_op op;        /* which result below is set */
	/* submit */
	struct wire_signal submitted;
	bool changed;
	uint32_t disputes_answered; /* withdraw: disputes it answered "withdraw" */
	/* query */
	struct wire_name_result *results;
	size_t n_results, cap_results;
	/* list */
	struct wire_signal *signals;
	size_t n_signals, cap_signals;
	bool truncated;
	/* status */
	struct wire_status status_info;
	/* peers */
	struct wire_peer *peers; /* owned */
	size_t n_peers;
	uint64_t unknown_handshakes;
	/* watch */
	struct wire_watch_event *events; /* owned */
	size_t n_events;
	uint64_t head;
	/* audit */
	struct audit_record *audit; /* owned */
	size_t n_audit;
	bool audit_truncated;
	uint64_t audit_verified, audit_bad_line;
	char audit_problem[AM_ERRLEN];
	char audit_path[256];
	/* report (owned rows; wire_response_clear frees them) */
	struct report report;
	/* allowlist (owned arrays) */
	bool allow_configured, allow_covered;
	uint64_t allow_names, allow_signals;
	char allow_normalised[AM_QNAME_MAX + 1];
	struct wire_allow_entry allow_name, allow_below;
	struct wire_allow_entry *allow_entries;
	size_t n_allow_entries;
	struct wire_allow_source *allow_sources;
	size_t n_allow_sources;
	/* rpz (owned arrays and text) */
	struct wire_rpz_zone *rpz_zones;
	size_t n_rpz_zones;
	struct wire_rpz_secondary *rpz_secs;
	size_t n_rpz_secs;
	char *rpz_text;          /* NUL-terminated */
	size_t rpz_text_len;
	char rpz_next[AM_DOMAIN_MAX + 1];
	/* submit_batch: one per item, in order (owned) */
	struct wire_item_result *item_results;
	size_t n_item_results;
	/* export: signals above (with origin_name), and where to continue */
	uint64_t next;
	bool more;
	/* dispute, disputes (owned); disputes: open ones first, and how many
	 * held ones the answer left off to stay within AM_CONTROL_MSG_MAX */
	struct wire_dispute_info *disputes;
	size_t n_disputes, cap_disputes;
	uint64_t disputes_left_off;
	/* sightings: owned, freed by wire_response_clear */
	struct wire_sightings_res *sight;
};

#define WIRE_AUDIT_MAX 10000 /* records in one audit answer */

/* Packs into a malloc'd buffer (*out, owned by the caller, free()). Fails
 * with AM_ETOOBIG above AM_CONTROL_MSG_MAX. */
int wire_request_pack(const struct wire_request *r, uint8_t **out, size_t *len);
/* Parses a request of at most AM_CONTROL_MSG_MAX bytes and at most
 * AM_QUERY_NAMES_MAX names into *r (cleared first). On failure *r is empty
 * and err says why. A protocol mismatch is AM_EPROTO. */
int wire_request_unpack(const uint8_t *buf, size_t len, struct wire_request *r,
                        char *err, size_t errlen);
void wire_request_clear(struct wire_request *r);

int wire_response_pack(const struct wire_response *r, uint8_t **out, size_t *len);
int wire_response_unpack(const uint8_t *buf, size_t len, struct wire_response *r,
                         char *err, size_t errlen);
void wire_response_clear(struct wire_response *r);

/* Growable arrays in a response; return 0 or AM_ENOMEM. The new element is
 * zeroed; *out points at it (valid until the next push on that array). */
int wire_response_push_result(struct wire_response *r, const char *name,
                              struct wire_name_result **out);
int wire_result_push_signal(struct wire_name_result *nr, const struct wire_signal *s);
int wire_response_push_signal(struct wire_response *r, const struct wire_signal *s);
int wire_response_push_dispute(struct wire_response *r, const struct wire_dispute_info *d);
int wire_result_push_dispute(struct wire_name_result *nr, const struct wire_dispute_info *d);

#endif

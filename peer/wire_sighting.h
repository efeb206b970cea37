/*
 * wire_sighting.h - protobuf conversion for sighting reports (sighting.h)
 * and for the `amesh sightings' control exchange.
 *
 * The rules of wire_dispute.h: input capped before protobuf-c sees it,
 * unpacking on a budgeted allocator, every field checked for shape before
 * it reaches the model; one encoding per report.
 */
#ifndef AMESH_WIRE_SIGHTING_H
#define AMESH_WIRE_SIGHTING_H

#include "sighting.h"

#define WIRE_SIGHTING_FORMAT 1
#define WIRE_SIGHTING_TAG "AMSI"

/* 0, AM_EINVAL (out of range) or AM_ETOOBIG. */
int wire_sighting_body_pack(const struct sighting *s, uint8_t *buf, size_t cap, size_t *len);
/* At most SIGHTING_BODY_MAX bytes (AM_ETOOBIG); format != 1: AM_EFORMAT;
 * unknown fields, bad lengths, enums out of range, NULs: AM_EDECODE. s is
 * zeroed first and on failure. */
int wire_sighting_body_unpack(const uint8_t *buf, size_t len, struct sighting *s);

struct wire_sighting_envelope {
	uint8_t body[SIGHTING_BODY_MAX];
	size_t body_len;
	uint8_t signature[AM_SIG_BYTES];
	uint8_t signer[AM_KEY_BYTES];
};
int wire_sighting_envelope_pack(const struct wire_sighting_envelope *e, uint8_t *buf, size_t cap, size_t *len);
int wire_sighting_envelope_unpack(const uint8_t *buf, size_t len, struct wire_sighting_envelope *e);
bool wire_sighting_is(const uint8_t *buf, size_t len);

/*
 * The control exchange (`amesh sightings'): one request imports counts or
 * asks for the reports held; the answer lists them. Shapes in plain C;
 * wire.c calls the pb_ functions below from its request and response
 * conversion, so no generated type leaks further.
 */
#define WIRE_SIGHTING_ROWS_MAX 1000   /* counts imported in one request */
#define WIRE_SIGHTING_SHOWN_MAX 10000 /* reports in one answer */
#define WIRE_SIGHTING_UNMATCHED_MAX 20

struct wire_sighting_row {
	char qname[AM_QNAME_MAX + 1]; /* query form, as the log said it */
	char hint[AM_DOMAIN_MAX + 1]; /* BIND's via name, Unbound's rpz-log-name or local zone; "" */
	uint32_t day;
	uint64_t count;
};

struct wire_sightings_req {
	bool import;                  /* rows below; else show */
	struct wire_sighting_row *rows; /* owned */
	size_t n_rows;
	char name[AM_DOMAIN_MAX * 4 + 1]; /* show: only this name ("" = all) */
	uint32_t limit;
};

struct wire_sighting_shown {
	struct sighting s;
	bool own;                     /* reported by this peer */
	char reporter_name[64];       /* trust-store name, "" if none */
	char origin_name[64];
	char from[64];                /* neighbour it came through, "" = ours */
};

struct wire_sightings_res {
	/* import */
	uint64_t rows, matched, unmatched, too_old, reports;
	char unmatched_names[WIRE_SIGHTING_UNMATCHED_MAX][AM_DOMAIN_MAX + 1];
	size_t n_unmatched_names;
	/* show (owned) */
	struct wire_sighting_shown *shown;
	size_t n_shown;
	bool truncated;
};

void wire_sightings_req_free(struct wire_sightings_req *r);
void wire_sightings_res_free(struct wire_sightings_res *r);

/* For wire.c only: the generated messages are passed as void * so that
 * this header needs no *.pb-c.h. *_to_pb builds a view into the C struct
 * (valid while it lives) and allocates helper arrays into *scratch, freed
 * by wire_sighting_pb_scratch_free. *_from_pb allocates *out (free with
 * the _free above); errors: AM_ENOMEM, AM_EDECODE/AM_ETOOBIG with err. */
int wire_sightings_req_to_pb(const struct wire_sightings_req *r, void *pb, void **scratch);
int wire_sightings_req_from_pb(const void *pb, struct wire_sightings_req **out, char *err, size_t errlen);
int wire_sightings_res_to_pb(const struct wire_sightings_res *r, void *pb, void **scratch);
int wire_sightings_res_from_pb(const void *pb, struct wire_sightings_res **out, char *err, size_t errlen);
void wire_sighting_pb_scratch_free(void *scratch);

#endif

/*
 * wire_dispute_ctl.h - the control protocol's dispute messages (issue 14):
 * DisputeRequest, DisputeAnswerRequest, DisputesRequest and DisputeInfo,
 * converted to and from the plain structs of wire.h.
 *
 * Kept beside wire.c rather than in it so the dispute feature reads in one
 * place; like wire.c it is the only other kind of file that sees
 * control.pb-c.h (wire.c is its only caller). Protobuf views built here
 * point into the C structs (no copies) and live in a struct
 * wire_dispute_pb the caller owns and frees with wire_dispute_pb_free.
 * Text fields coming in are copied with their caps and refused with a NUL.
 */
#ifndef AMESH_WIRE_DISPUTE_CTL_H
#define AMESH_WIRE_DISPUTE_CTL_H

#include "control.pb-c.h"
#include "wire.h"

struct wire_dispute_pb {
	Amesh__V1__DisputeRequest file;
	Amesh__V1__DisputeAnswerRequest answer;
	Amesh__V1__DisputesRequest list;
	Amesh__V1__DisputeResult result;
	Amesh__V1__DisputeInfo *infos;   /* allocated */
	Amesh__V1__DisputeInfo **ptrs;   /* allocated */
};

/* Sets m's op to r's dispute operation (r->op is one of the three).
 * Returns 0 or AM_EINVAL. */
int wire_dispute_request_to_pb(const struct wire_request *r, Amesh__V1__Request *m, struct wire_dispute_pb *x);
/* Fills r from a request whose op is a dispute one. 0, or AM_EDECODE /
 * AM_ECATEGORY / AM_EINVAL with err saying which field. */
int wire_dispute_request_from_pb(const Amesh__V1__Request *m, struct wire_request *r, char *err, size_t errlen);

/* Protobuf views of n infos (pointing into d): *out is x->ptrs. 0 or AM_ENOMEM. */
int wire_dispute_infos_to_pb(const struct wire_dispute_info *d, size_t n, struct wire_dispute_pb *x,
                             Amesh__V1__DisputeInfo ***out);
/* One DisputeInfo into d: 0 or AM_EDECODE (a length or a range is wrong). */
int wire_dispute_info_from_pb(const Amesh__V1__DisputeInfo *p, struct wire_dispute_info *d);

void wire_dispute_pb_free(struct wire_dispute_pb *x); /* the arrays; x itself is the caller's */

#endif

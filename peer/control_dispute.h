/*
 * control_dispute.h - the operator's dispute commands (issue 14), served on
 * the control socket beside control.c's handlers:
 *
 *   dispute          file a signed dispute against a live indicator this
 *                    peer holds: by id, or by domain and category (one
 *                    dispute per origin with a live indicator there);
 *   dispute_answer   the origin's signed answer, uphold or withdraw; a
 *                    withdraw also withdraws the indicator through the
 *                    normal withdrawal path, so it reaches every holder;
 *   disputes         every dispute held, with its answer, deadline and
 *                    whether it is overdue or lapsed (its indicator no
 *                    longer live here);
 *
 * and the marking of a query's signals and verdicts (decorate). Disputes
 * and answers are stored through the apply path (apply_updates,
 * APPLY_LOCAL), like this peer's key statements, and relayed by the mesh
 * from the change log. Every refusal names the field and quotes the input.
 */
#ifndef AMESH_CONTROL_DISPUTE_H
#define AMESH_CONTROL_DISPUTE_H

#include "control.h"
#include "dispute_store.h"
#include "report.h"
#include "wire.h"

void control_do_dispute(const struct control_env *env, const struct wire_request *req, struct wire_response *resp);
void control_do_dispute_answer(const struct control_env *env, const struct wire_request *req,
                               struct wire_response *resp);
void control_do_disputes(const struct control_env *env, const struct wire_request *req, struct wire_response *resp);

/* Adds to nr the disputes on each of its signals and, per verdict, the
 * count of open ones. Errors leave nr as it was (a query still answers). */
void control_dispute_decorate(const struct control_env *env, struct wire_name_result *nr, uint64_t now);

/* One held dispute as the operator sees it (deadline from the config). */
void control_dispute_info(const struct control_env *env, const struct dispute_view *v, uint64_t now,
                          struct wire_dispute_info *out);

/* Adds the disputes and disputes_by_origin sections (report.h) for
 * disputes filed at or after since. 0 or an am_err with err filled. */
int control_dispute_report(const struct control_env *env, uint64_t since, uint64_t now, struct report *r,
                           char *err, size_t errlen);

/* In control.c: withdraws this peer's own live indicator (domain
 * normalised) with note for the audit trail; fills resp as withdraw does.
 * Once withdrawn, every dispute on it not yet answered withdraw (open or
 * upheld) but except (NULL = none: the one its caller answers itself) is
 * answered withdraw, with answer_reason (control_dispute_withdrawn). */
void control_withdraw_own(const struct control_env *env, const char *domain, enum am_category cat,
                          const char *note, const uint8_t *except, const char *answer_reason,
                          struct wire_response *resp);

/* The origin took its indicator ind back: answers withdraw, signed with
 * key (the key that signed ind: this peer's, or a retired one of its), every
 * dispute on (ind's origin, domain, category) that is open or upheld, but
 * except (may be NULL). reason: 1..DISPUTE_REASON_MAX printable bytes.
 * Returns how many it answered, or a negative am_err (those answered
 * before it stay answered). */
int control_dispute_withdrawn(const struct control_env *env, const struct keyfile_secret *key,
                              const struct am_indicator *ind, const uint8_t *except, const char *reason);

#endif

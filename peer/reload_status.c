/* reload_status.c - the record of the last reload, written by the daemon, read by status and metrics. */
#include "reload_status.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

struct reload_status {
	pthread_mutex_t lock;
	struct reload_snapshot shown; /* what readers see */
	struct reload_snapshot next;  /* the reload in progress (writer only) */
};

int reload_status_new(struct reload_status **out, uint64_t loaded_at)
{
	struct reload_status *rs = calloc(1, sizeof *rs);

	*out = NULL;
	if (!rs)
		return AM_ENOMEM;
	pthread_mutex_init(&rs->lock, NULL);
	rs->shown.config_loaded_at = loaded_at;
	*out = rs;
	return 0;
}

void reload_status_free(struct reload_status *rs)
{
	if (!rs)
		return;
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

void reload_status_begin(struct reload_status *rs, uint64_t at)
{
	if (!rs)
		return;
	pthread_mutex_lock(&rs->lock);
	rs->next = rs->shown;
	pthread_mutex_unlock(&rs->lock);
	rs->next.last_at = at;
	rs->next.n_messages = 0;
	rs->next.messages_dropped = 0;
}

void reload_status_add(struct reload_status *rs, const char *fmt, ...)
{
	va_list ap;

	if (!rs)
		return;
	if (rs->next.n_messages == RELOAD_STATUS_MESSAGES) {
		rs->next.messages_dropped++;
		return;
	}
	char *m = rs->next.messages[rs->next.n_messages++];
	va_start(ap, fmt);
	vsnprintf(m, RELOAD_STATUS_MESSAGE_LEN, fmt, ap);
	va_end(ap);
	/* one line on a terminal whatever a file put in it */
	for (; *m; m++)
		if ((unsigned char)*m < 0x20 || *m == 0x7f)
			*m = '?';
}

void reload_status_end(struct reload_status *rs, enum reload_result result)
{
	if (!rs)
		return;
	rs->next.result = result;
	if (result == RELOAD_APPLIED) {
		rs->next.applied_total++;
		rs->next.config_loaded_at = rs->next.last_at;
	} else {
		rs->next.refused_total++;
	}
	pthread_mutex_lock(&rs->lock);
	rs->shown = rs->next;
	pthread_mutex_unlock(&rs->lock);
}

void reload_status_get(struct reload_status *rs, struct reload_snapshot *out)
{
	if (!rs) {
		memset(out, 0, sizeof *out);
		return;
	}
	pthread_mutex_lock(&rs->lock);
	*out = rs->shown;
	pthread_mutex_unlock(&rs->lock);
}

const char *reload_result_name(enum reload_result r)
{
	switch (r) {
	case RELOAD_APPLIED: return "applied";
	case RELOAD_REFUSED: return "refused";
	default: return "";
	}
}

/*
 * shared_hosts.h - hosting and file-sharing platforms whose URLs are not
 * flags on the platform's host name.
 *
 * A URL such as https://drive.google.com/file/d/X says that one file is
 * abusive, not drive.google.com: flagging the host would block everybody's
 * files. So does a link shortener's (https://bit.ly/X) or a redirector's
 * (https://www.google.com/url?q=...) for every link it carries. The importer therefore skips a URL (never a plain name) whose host
 * is one of these names or under one, as url_on_shared_host - as it does a
 * URL whose host is a public suffix (user.github.io is fine, github.io is
 * not). The built-in list (shared_hosts_default) is printed by
 * `amesh import --list-shared-hosts'; `--shared-hosts FILE' replaces it
 * (one name per line, `#' comments, at most SHARED_HOSTS_MAX names).
 */
#ifndef AMESH_SHARED_HOSTS_H
#define AMESH_SHARED_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

#define SHARED_HOSTS_MAX 10000
#define SHARED_HOSTS_FILE_MAX (1u << 20)

struct shared_hosts;

/* The built-in list, NULL-terminated (static). */
extern const char *const shared_hosts_default[];

/* The built-in list, or the file's names instead when path is not NULL.
 * Names are normalised (domain_normalise_suffix); a bad line is an error
 * quoting it with its line number. Returns 0 or an am_err with err filled. */
int shared_hosts_load(struct shared_hosts **out, const char *path, char *err, size_t errlen);
void shared_hosts_free(struct shared_hosts *s);

/* True if the normalised name is a listed host or under one, no further
 * down than a flag on the entry would reach (domain_reaches: not past a
 * public suffix, so a tenant with a name of its own is no shared host);
 * *which (may be NULL) gets the entry. */
bool shared_hosts_match(const struct shared_hosts *s, const char *name, const char **which);

#endif

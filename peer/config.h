/*
 * config.h - the peer's configuration file (INI, parsed with inih).
 *
 * One parser serves ameshd, `ameshd --check` and `amesh -c` (Unbound's
 * checkconf idea). Relative paths resolve against the directory holding the
 * config file, so a peer directory made by `amesh init` can be moved whole.
 * Every error names the file and line and quotes the offending input:
 *   amesh.conf:7: max_lifetime: cannot parse duration `90days'
 * The parser reports all errors it finds, not only the first.
 */
#ifndef AMESH_CONFIG_H
#define AMESH_CONFIG_H

#include <limits.h>

#include "model.h"

#define CONFIG_NAME_MAX 64
#define CONFIG_FILE_MAX (1u << 20) /* refuse config files over 1 MiB */
#define CONFIG_LINE_MAX 1000

struct config {
	char path[PATH_MAX];       /* the config file, absolute */
	char dir[PATH_MAX];        /* its directory */
	char name[CONFIG_NAME_MAX];/* [peer] name: letters, digits, '-', '_', '.' */
	char key_file[PATH_MAX];   /* [peer] key, default "amesh.key" */
	char trust_file[PATH_MAX]; /* [peer] trust, default "trust.conf" */
	char data_dir[PATH_MAX];   /* [peer] data_dir, default "data" */
	char control[PATH_MAX];    /* [peer] control socket file, default "run/amesh.sock" */
	char listen[256];          /* [peer] listen URL for the mesh, "" = none */
	uint64_t max_lifetime;     /* [peer] max_lifetime, default 90d */
	uint64_t sweep_interval;   /* [peer] sweep_interval, default 60s */
	uint64_t map_size;         /* [peer] map_size, default 1G */
	enum am_tlp default_tlp;   /* [peer] default_tlp, default green */
};

/* Called once per problem found; line is 0 for whole-file problems. */
typedef void (*config_diag_fn)(void *arg, const char *path, unsigned line, const char *msg);

/* Fills cfg with defaults, then the file. Returns 0, or AM_ECONFIG after
 * reporting every problem through diag (which may be NULL), or AM_EIO when
 * the file cannot be read (the reason goes through diag too, at line 0).
 * cfg is fully written in every case. */
int config_load(struct config *cfg, const char *path, config_diag_fn diag, void *arg);

/* config_load's parser over bytes already in memory (the fuzzer's entry
 * point, and what config_load calls after reading the file). buf need not
 * be NUL-terminated; over CONFIG_FILE_MAX bytes is refused with a diag.
 * path_for_messages is what diag is given and what cfg->path is set to;
 * dir (absolute) is what relative paths resolve against and goes to
 * cfg->dir. Nothing is kept: all are borrowed for the call only. Returns 0
 * or AM_ECONFIG after reporting every problem; cfg is fully written. */
int config_load_buffer(struct config *cfg, const char *path_for_messages, const char *dir,
                       const char *buf, size_t len, config_diag_fn diag, void *arg);

/* Writes a new, fully commented config documenting every option, for
 * `amesh init`. Created exclusively; returns AM_EEXIST if path exists. */
int config_write_default(const char *path, const char *name, const char *listen,
                         char *err, size_t errlen);

#endif

/*
 * config.h - the peer's configuration file (INI, parsed with inih).
 *
 * One parser serves ameshd, `ameshd --check` and `amesh -c` (Unbound's
 * checkconf idea). Relative paths resolve against the directory holding the
 * config file, so a peer directory made by `amesh init` can be moved whole.
 * Every error names the file and line and quotes the offending input:
 *   amesh.conf:7: max_lifetime: cannot parse duration `90days'
 * The parser reports all errors it finds, not only the first.
 *
 * Neighbours are sections of their own, `[neighbour NAME]`, each holding the
 * link's endpoint and its export and import policies (policy.h documents
 * every key). NAME is the neighbour's name in the trust store; keys and
 * origins are resolved later, by the mesh, so this parser needs no trust
 * store and `ameshd --check' works on a config alone.
 *
 * Ownership: config_load and config_load_buffer allocate the neighbour
 * table (and the lists inside its policies); config_free releases it.
 * Callers call config_free after every config_load, successful or not (on
 * failure the table is already empty, so that call is free, but it keeps
 * every path alike). A struct config must not be copied by value while it
 * owns neighbours: two copies would free the same table.
 */
#ifndef AMESH_CONFIG_H
#define AMESH_CONFIG_H

#include <limits.h>
#include <sys/socket.h>

#include "model.h"
#include "policy.h"

#define CONFIG_NAME_MAX 64
/* inih cuts section names to 49 bytes; "neighbour " takes 10 of them. */
#define CONFIG_NEIGHBOUR_NAME_MAX 39
#define CONFIG_NEIGHBOURS_MAX 256
#define CONFIG_FILE_MAX (1u << 20) /* refuse config files over 1 MiB */
#define CONFIG_LINE_MAX 1000

/* One [neighbour NAME] section. Policies hold names, not keys:
 * policy_resolve_* fills the keys from the trust store. */
struct config_neighbour {
	char name[CONFIG_NAME_MAX];  /* 1..CONFIG_NEIGHBOUR_NAME_MAX of [A-Za-z0-9._-] */
	char endpoint[256];          /* tcp://HOST:PORT to dial, "" = they dial us */
	struct policy_export exp;    /* configured only if export.categories is set */
	struct policy_import imp;    /* configured only if import.categories is set */
	bool rotation_auto;          /* rotation = auto: accept its key rotations at once */
	unsigned line;               /* of the section header, for messages */
};

/* An address with a port (dns_listen, notify targets). */
struct config_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64];             /* as written, for messages and status */
};

/* An address prefix (allow_transfer): 10.0.0.0/8, ::1 (= /128). */
struct config_prefix {
	int family;                /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned bits;
};

#define CONFIG_DNS_LISTEN_MAX 8
#define CONFIG_RPZ_MAX 16
/* inih keeps 49 bytes of a section name; "rpz " takes 4 of them. */
#define CONFIG_RPZ_NAME_MAX 45
#define CONFIG_RPZ_ADDRS_MAX 32
#define CONFIG_TSIG_SECRET_MAX 64

enum config_rpz_action {
	CONFIG_RPZ_NXDOMAIN = 0,   /* CNAME . */
	CONFIG_RPZ_NODATA,         /* CNAME *. */
	CONFIG_RPZ_PASSTHRU,       /* CNAME rpz-passthru. */
	CONFIG_RPZ_CNAME,          /* CNAME TARGET. (walled garden) */
};

/* One [rpz NAME] section: a response policy zone served over AXFR/IXFR
 * (config_rpz.c documents every key). */
struct config_rpz {
	char name[CONFIG_RPZ_NAME_MAX + 1]; /* the section's NAME: [A-Za-z0-9._-] */
	char zone[AM_DOMAIN_MAX + 1];       /* origin: lower case, no trailing dot */
	uint32_t categories;                /* bit (1 << category); required */
	uint8_t min_score;                  /* 0..100, default 50 */
	enum config_rpz_action action;      /* default nxdomain */
	char cname_target[AM_DOMAIN_MAX + 1]; /* CONFIG_RPZ_CNAME: absolute, no trailing dot */
	bool allowlisted_omit;              /* allowlisted = omit (default passthru) */
	bool disputed_omit;                 /* disputed = omit (default keep): issue 14 */
	struct config_prefix allow_transfer[CONFIG_RPZ_ADDRS_MAX];
	size_t n_allow_transfer;            /* default 127.0.0.1, ::1 */
	struct config_addr notify[CONFIG_RPZ_ADDRS_MAX];
	size_t n_notify;
	/* notify_source: the address NOTIFYs of each family leave from, port
	 * 0 (ss_family 0 = not set: where the target last transferred from
	 * us, else the first specific dns_listen address of the family) */
	struct config_addr notify_source4, notify_source6;
	/* tsig = KEYNAME hmac-sha256 BASE64: a secret; config_free wipes it */
	char tsig_name[AM_DOMAIN_MAX + 1];  /* "" = no TSIG; lower case, no trailing dot */
	uint8_t tsig_secret[CONFIG_TSIG_SECRET_MAX];
	size_t tsig_len;
	char tsig_secret_b64[CONFIG_TSIG_SECRET_MAX * 2]; /* as written (ldns takes base64) */
	uint32_t ttl, refresh, retry, expire, minimum; /* seconds */
	unsigned line;                      /* of the section header */
};

struct config {
	char path[PATH_MAX];       /* the config file, absolute */
	char dir[PATH_MAX];        /* its directory */
	char name[CONFIG_NAME_MAX];/* [peer] name: letters, digits, '-', '_', '.' */
	char key_file[PATH_MAX];   /* [peer] key, default "amesh.key" */
	char trust_file[PATH_MAX]; /* [peer] trust, default "trust.conf" */
	char data_dir[PATH_MAX];   /* [peer] data_dir, default "data" */
	char control[PATH_MAX];    /* [peer] control socket file, default "run/amesh.sock" */
	unsigned key_line;         /* line of [peer] key, 0 = the default (for messages) */
	unsigned data_dir_line;    /* line of [peer] data_dir, 0 = the default */
	unsigned control_line;     /* line of [peer] control, 0 = the default */
	unsigned listen_line;      /* line of [peer] listen, 0 = not set */
	unsigned dns_listen_line;  /* ... dns_listen */
	unsigned metrics_listen_line; /* ... metrics_listen */
	char listen[256];          /* [peer] listen URL for the mesh, "" = none */
	char metrics_listen[64];   /* [peer] metrics_listen: HOST:PORT of GET /metrics, "" = none */
	uint64_t max_lifetime;     /* [peer] max_lifetime, default 90d */
	uint64_t dispute_deadline; /* [peer] dispute_deadline: unanswered past it = overdue, default 72h */
	uint64_t sweep_interval;   /* [peer] sweep_interval, default 60s */
	uint64_t map_size;         /* [peer] map_size, default 1G */
	uint64_t watch_buffer;     /* [peer] watch_buffer: live-feed events kept, default 65536 */
	char allowlist[8][PATH_MAX]; /* [peer] allowlist: up to 8 files, comma separated */
	size_t n_allowlist;
	uint64_t audit_retention;  /* [peer] audit_retention, default 90d */
	char sightings_log[PATH_MAX]; /* [peer] sightings_log: a resolver's RPZ hit log to follow, "" = none */
	bool verdict_decay;        /* [peer] verdict_decay, default no */
	uint8_t warn_threshold;    /* [peer] warn_threshold, default 50 */
	uint8_t block_threshold;   /* [peer] block_threshold, default 80 */
	double default_weight;     /* [peer] default_weight: trust in an origin, default 1.0 */
	struct config_weight {
		char name[CONFIG_NAME_MAX];
		double weight;
	} weights[64];             /* [peer] origin_weights = NAME:W, NAME:W */
	size_t n_weights;
	unsigned weights_line;     /* line of [peer] origin_weights, 0 = not set (for messages) */
	enum am_tlp default_tlp;   /* [peer] default_tlp, default green */
	struct config_neighbour *neighbours; /* owned; in file order; config_free */
	size_t n_neighbours;       /* at most CONFIG_NEIGHBOURS_MAX */
	struct config_addr dns_listen[CONFIG_DNS_LISTEN_MAX]; /* [peer] dns_listen, UDP and TCP */
	size_t n_dns_listen;       /* 0 = no DNS service */
	struct config_rpz *rpz;    /* owned; [rpz NAME] sections in file order; config_free */
	size_t n_rpz;              /* at most CONFIG_RPZ_MAX */
};

/* Called once per problem found; line is 0 for whole-file problems. */
typedef void (*config_diag_fn)(void *arg, const char *path, unsigned line, const char *msg);

/* Fills cfg with defaults, then the file. Returns 0, or AM_ECONFIG after
 * reporting every problem through diag (which may be NULL), or AM_EIO when
 * the file cannot be read (the reason goes through diag too, at line 0).
 * cfg is fully written in every case, and whatever it held before is
 * overwritten, not freed: pass a fresh struct or one config_free'd. On
 * failure cfg owns no memory (no neighbours); on success the caller owns
 * the neighbour table and releases it with config_free. */
int config_load(struct config *cfg, const char *path, config_diag_fn diag, void *arg);

/* A config_diag_fn that keeps the first problem only, as "PATH:LINE: MSG"
 * (or "PATH: MSG"), in arg: a char[AM_ERRLEN] the caller sets to "". For a
 * one-line error from a tool that does not list them all (--check does). */
void config_diag_first(void *arg, const char *path, unsigned line, const char *msg);

/* Why [neighbour NAME] of cfg cannot start, and the two ways out, for
 * every place that refuses it (a start, --check, a reload adding it):
 * "is not in the trust store T (distrusted, or never trusted): remove ...,
 * or trust its key ...: amesh -c CONFIG keys trust PUBKEY --name NAME".
 * The caller puts the neighbour and where it is before it. */
void config_untrusted_neighbour(const struct config *cfg, const char *name, char *out, size_t outlen);

/* config_load's parser over bytes already in memory (the fuzzer's entry
 * point, and what config_load calls after reading the file). buf need not
 * be NUL-terminated; over CONFIG_FILE_MAX bytes is refused with a diag.
 * path_for_messages is what diag is given and what cfg->path is set to;
 * dir (absolute) is what relative paths resolve against and goes to
 * cfg->dir. Nothing is kept: all are borrowed for the call only. Returns 0
 * or AM_ECONFIG after reporting every problem; cfg is fully written, with
 * the same ownership rules as config_load. */
int config_load_buffer(struct config *cfg, const char *path_for_messages, const char *dir,
                       const char *buf, size_t len, config_diag_fn diag, void *arg);

/* Releases what config_load left in cfg (the neighbour table) and empties
 * it. Safe on NULL, on a zeroed struct and on one already freed. */
void config_free(struct config *cfg);

/* The length of the n bytes at s without their inline comment: a `#' at
 * the start or after a blank (space or tab) ends the line, and trailing
 * blanks go too. The config and the trust store read lines through it. */
size_t config_strip_comment(const char *s, size_t n);
/* HOST:PORT or [IPV6]:PORT (numeric addresses only; PORT may be left out
 * when default_port is not 0). 0, or -1 with the reason in why. */
int config_addr_parse(const char *s, uint16_t default_port, struct config_addr *out, char *why,
                      size_t whylen);
/* Same family, address and port, however written ("127.0.0.1:53" and
 * "127.0.0.1" with default port 53 are one). */
bool config_addr_same(const struct config_addr *a, const struct config_addr *b);
/* ADDRESS or ADDRESS/BITS. 0, or -1 with the reason in why. */
int config_prefix_parse(const char *s, struct config_prefix *out, char *why, size_t whylen);
/* Whether sa (AF_INET, AF_INET6; an IPv4-mapped IPv6 address counts as
 * IPv4) lies inside p. */
bool config_prefix_match(const struct config_prefix *p, const struct sockaddr *sa);

/* Whether name and listen (NULL: not given) are what a config accepts for
 * [peer] name and listen; `amesh init' asks before it creates anything, so
 * a refused argument leaves nothing behind. 0, or AM_EINVAL with the
 * argument quoted and the reason in err. */
int config_check_init_args(const char *name, const char *listen, char *err, size_t errlen);

/* Writes a new, fully commented config documenting every option, for
 * `amesh init`. Created exclusively; returns AM_EEXIST if path exists. */
int config_write_default(const char *path, const char *name, const char *listen,
                         char *err, size_t errlen);

#endif

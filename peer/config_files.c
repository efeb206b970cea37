/* config_files.c - what a config names on disk (config_files.h). */
#include "config_files.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../keys/keyfile.h"
#include "audit.h"
#include "model.h"
#include "metrics_http.h"
#include "ownkeys.h"

void config_files_where(const struct config *cfg, unsigned line, const char *option, char *out, size_t outlen)
{
	if (line)
		snprintf(out, outlen, "%s:%u: %s", cfg->path, line, option);
	else
		snprintf(out, outlen, "%s: %s (the default)", cfg->path, option);
}

static void problem(const struct config *cfg, config_diag_fn diag, void *arg, unsigned line, const char *option,
                    const char *what)
{
	char msg[PATH_MAX * 2 + 256];

	if (!diag)
		return;
	snprintf(msg, sizeof msg, "%s%s: %s", option, line ? "" : " (the default)", what);
	diag(arg, cfg->path, line, msg);
}

static unsigned check_key(const struct config *cfg, config_diag_fn diag, void *arg, bool *encrypted)
{
	struct keyfile_secret *sk = NULL;
	char err[AM_ERRLEN];
	int rv;

	/* the loader the daemon uses: existence, symlink, regular file, mode,
	 * size, format and (unencrypted) the tag that catches a damaged key */
	rv = keyfile_load_secret(cfg->key_file, NULL, &sk, err, sizeof err);
	keyfile_secret_free(sk);
	if (rv == AM_EPASSPHRASE && keyfile_is_encrypted(cfg->key_file)) {
		if (encrypted)
			*encrypted = true;
		return 0;
	}
	if (rv != 0) {
		problem(cfg, diag, arg, cfg->key_line, "key", err);
		return 1;
	}
	/* the retired keys beside it, which the daemon loads too (ownkeys.h);
	 * encrypted ones need the passphrase --check does not have */
	struct ownkeys o;
	rv = ownkeys_load(&o, cfg->key_file, NULL, err, sizeof err);
	ownkeys_free(&o);
	if (rv == 0 || rv == AM_EPASSPHRASE)
		return 0;
	problem(cfg, diag, arg, cfg->key_line, "key", err);
	return 1;
}

/* Can this process make entries in dir? Tried, not asked: access(2)
 * says yes to root for /proc or a directory the kernel will refuse
 * (noted last session: `--check' passed data_dir = /proc/nope, the start
 * failed). The probe is a directory made and removed at once. 0, or an
 * errno. */
static int try_make_in(const char *dir)
{
	char probe[PATH_MAX];

	if ((size_t)snprintf(probe, sizeof probe, "%s/.amesh-check-XXXXXX", dir) >= sizeof probe)
		return ENAMETOOLONG;
	if (mkdtemp(probe) == NULL)
		return errno;
	(void)rmdir(probe);
	return 0;
}

/* The store makes data_dir (one level, mode 0700) at start: it must be a
 * directory this user can write, or one its parent lets it make. */
static unsigned check_data_dir(const struct config *cfg, config_diag_fn diag, void *arg)
{
	char why[PATH_MAX + 128], parent[PATH_MAX];
	struct stat st;
	int e;

	if (stat(cfg->data_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			snprintf(why, sizeof why, "`%s' is not a directory", cfg->data_dir);
		else if ((e = try_make_in(cfg->data_dir)) != 0)
			snprintf(why, sizeof why, "`%s': this user cannot write in it: %s", cfg->data_dir, strerror(e));
		else
			return 0;
	} else if (errno != ENOENT) {
		snprintf(why, sizeof why, "`%s': %s", cfg->data_dir, strerror(errno));
	} else {
		snprintf(parent, sizeof parent, "%s", cfg->data_dir);
		const char *up = dirname(parent);
		if (stat(up, &st) != 0)
			snprintf(why, sizeof why, "`%s' cannot be made: its parent `%s': %s", cfg->data_dir, up,
			         strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			snprintf(why, sizeof why, "`%s' cannot be made: its parent `%s' is not a directory",
			         cfg->data_dir, up);
		else if ((e = try_make_in(up)) != 0)
			snprintf(why, sizeof why, "`%s' cannot be made: this user cannot write in `%s': %s",
			         cfg->data_dir, up, strerror(e));
		else
			return 0;
	}
	problem(cfg, diag, arg, cfg->data_dir_line, "data_dir", why);
	return 1;
}

/* Binds sa's address with port 0 (the port may be a running daemon's):
 * 0, or an errno. Every listener --check judges is tried so, as its start
 * would bind it. */
static int bind_any_port(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage a;
	int fd, e = 0;

	if (len > sizeof a)
		return EINVAL;
	memcpy(&a, sa, len);
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = 0;
	else if (a.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a)->sin6_port = 0;
	else
		return 0;
	if ((fd = socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (bind(fd, (struct sockaddr *)&a, len) != 0)
		e = errno;
	close(fd);
	return e;
}

/* The audit trail in data_dir, read as the start reads it (audit_open):
 * a broken chain stops the start, which --check (systemd's ExecStartPre)
 * had passed - the peer failed to start with a valid configuration. The
 * whole trail is read, as the start reads it; a torn last line, which the
 * start cuts off, is no problem. */
static unsigned check_audit_trail(const struct config *cfg, config_diag_fn diag, void *arg)
{
	char path[PATH_MAX + 16], why[PATH_MAX * 2], err[AM_ERRLEN];
	struct stat st;
	bool torn;
	int rv;

	snprintf(path, sizeof path, "%s/audit.log", cfg->data_dir);
	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 0; /* the start begins a new trail */
	if ((rv = audit_check(path, &torn, err, sizeof err)) == 0)
		return 0;
	if (rv == AM_EDECODE)
		snprintf(why, sizeof why, "the audit trail %s: %s: the start refuses to continue a trail altered or "
		         "damaged; keep it for investigation, move it aside (mv %s %s.broken) and start again to "
		         "begin a new trail", path, err, path, path);
	else if (strncmp(err, path, strlen(path)) == 0)
		snprintf(why, sizeof why, "the audit trail %s", err);
	else
		snprintf(why, sizeof why, "the audit trail %s: %s", path, err);
	problem(cfg, diag, arg, cfg->data_dir_line, "data_dir", why);
	return 1;
}

int config_files_listen_host(const char *url, char *why, size_t whylen)
{
	static const char prefix[] = "tcp://";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
	const char *host, *colon;
	char h[256];
	size_t n;
	int e, err = 0;
	bool ok = false;

	if (strncmp(url, prefix, sizeof prefix - 1) != 0)
		return 0; /* not ours to judge: config.h refused it already */
	host = url + sizeof prefix - 1;
	if ((colon = strrchr(host, ':')) == NULL)
		return 0;
	n = (size_t)(colon - host);
	if (n >= 2 && host[0] == '[') {
		host++;
		n -= 2;
	}
	if (n == 0 || (n == 1 && host[0] == '*') || n >= sizeof h)
		return 0; /* every address */
	memcpy(h, host, n);
	h[n] = '\0';
	if ((e = getaddrinfo(h, NULL, &hints, &res)) != 0) {
		snprintf(why, whylen, "cannot resolve `%s': %s", h, e == EAI_SYSTEM ? strerror(errno) : gai_strerror(e));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && !ok; ai = ai->ai_next) {
		if ((e = bind_any_port(ai->ai_addr, ai->ai_addrlen)) == 0)
			ok = true;
		else
			err = e;
	}
	freeaddrinfo(res);
	if (ok)
		return 0;
	if (err == EADDRNOTAVAIL)
		snprintf(why, whylen, "`%s' is not an address of this host (`ip address' lists them; an empty HOST, "
		         "tcp://:PORT, listens on every one)", h);
	else
		snprintf(why, whylen, "cannot bind `%s': %s", h, strerror(err));
	return -1;
}

/* The mesh listen address: NNG refused a name that does not resolve, or
 * an address this host does not have, only at start - as "Address
 * invalid" - after --check had passed it. */
static unsigned check_listen(const struct config *cfg, config_diag_fn diag, void *arg)
{
	char why[512], q[sizeof why + 300];

	if (cfg->listen[0] == '\0' || config_files_listen_host(cfg->listen, why, sizeof why) == 0)
		return 0;
	snprintf(q, sizeof q, "`%s': %s", cfg->listen, why);
	problem(cfg, diag, arg, cfg->listen_line, "listen", q);
	return 1;
}

/* One listener address (text as written at line of option) bound on
 * port 0: 0, or 1 with its problem said. */
static unsigned listener_bound(const struct config *cfg, config_diag_fn diag, void *arg, unsigned line,
                               const char *option, const char *text, const struct sockaddr *sa, socklen_t len)
{
	char why[256];
	int e = bind_any_port(sa, len);

	if (e == 0)
		return 0;
	snprintf(why, sizeof why, "`%s': %s", text,
	         e == EADDRNOTAVAIL ? "not an address of this host (`ip address' lists them)" : strerror(e));
	problem(cfg, diag, arg, line, option, why);
	return 1;
}

/* dns_listen and metrics_listen, bound as the start binds them: an
 * address this host lacks passed --check and stopped the start ("dns_listen
 * 192.0.2.1:5353 (UDP): Cannot assign requested address"). */
static unsigned check_other_listeners(const struct config *cfg, config_diag_fn diag, void *arg)
{
	unsigned n = 0;

	for (size_t i = 0; i < cfg->n_dns_listen; i++)
		n += listener_bound(cfg, diag, arg, cfg->dns_listen_line, "dns_listen", cfg->dns_listen[i].text,
		                    (const struct sockaddr *)&cfg->dns_listen[i].sa, cfg->dns_listen[i].len);
	struct sockaddr_storage ss;
	socklen_t len;
	char ignored[128];
	if (cfg->metrics_listen[0] &&
	    metrics_http_addr_parse(cfg->metrics_listen, &ss, &len, ignored, sizeof ignored) == 0)
		n += listener_bound(cfg, diag, arg, cfg->metrics_listen_line, "metrics_listen", cfg->metrics_listen,
		                    (const struct sockaddr *)&ss, len);
	return n;
}

/* The control socket's directory, as control_open prepares it: made (one
 * level, 0750) if missing, and refused when open to others. --check passed
 * a directory whose parent was missing, or one of mode 0777, and the start
 * failed on it, with no config line. */
static unsigned check_control(const struct config *cfg, config_diag_fn diag, void *arg)
{
	char why[PATH_MAX * 2 + 160], dir[PATH_MAX], parent[PATH_MAX];
	struct stat st;
	char *slash;
	int e;

	snprintf(dir, sizeof dir, "%s", cfg->control);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0; /* config.c refuses such a path */
	*slash = '\0';
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			snprintf(why, sizeof why, "its directory `%s' is not a directory", dir);
		else if (st.st_mode & 0007)
			snprintf(why, sizeof why, "its directory `%s' is accessible to others (mode %04o), which ameshd "
			         "refuses; fix with: chmod o-rwx %s", dir, (unsigned)(st.st_mode & 07777), dir);
		else if ((e = try_make_in(dir)) != 0)
			snprintf(why, sizeof why, "this user cannot make the socket in `%s': %s", dir, strerror(e));
		else
			return 0;
	} else if (errno != ENOENT) {
		snprintf(why, sizeof why, "its directory `%s': %s", dir, strerror(errno));
	} else {
		snprintf(parent, sizeof parent, "%s", dir);
		const char *up = dirname(parent);
		if (stat(up, &st) != 0 && errno == ENOENT) {
			/* systemd makes a RuntimeDirectory= before ExecStartPre and
			 * removes it at stop: a --check by hand between the two
			 * must not call the unit's own layout broken */
			snprintf(why, sizeof why, "warning: its directory `%s' cannot be made, its parent `%s' is missing "
			         "(ameshd makes one level): the start fails unless a service manager makes it first, as "
			         "systemd's RuntimeDirectory= does", dir, up);
			problem(cfg, diag, arg, cfg->control_line, "control", why);
			return 0;
		} else if (stat(up, &st) != 0)
			snprintf(why, sizeof why, "its directory `%s' cannot be made: its parent `%s': %s", dir, up,
			         strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			snprintf(why, sizeof why, "its directory `%s' cannot be made: `%s' is not a directory", dir, up);
		else if ((e = try_make_in(up)) != 0)
			snprintf(why, sizeof why, "its directory `%s' cannot be made: this user cannot write in `%s': %s",
			         dir, up, strerror(e));
		else
			return 0;
	}
	problem(cfg, diag, arg, cfg->control_line, "control", why);
	return 1;
}

unsigned config_files_check(const struct config *cfg, config_diag_fn diag, void *arg, bool *encrypted)
{
	if (encrypted)
		*encrypted = false;
	unsigned n = check_key(cfg, diag, arg, encrypted);
	unsigned dd = check_data_dir(cfg, diag, arg); /* its trail is read only when it is usable */
	n += dd + check_control(cfg, diag, arg);
	n += check_listen(cfg, diag, arg) + check_other_listeners(cfg, diag, arg);
	return n + (dd == 0 ? check_audit_trail(cfg, diag, arg) : 0);
}

/* config_rpz.c - what dns_listen and the [rpz NAME] options mean: parsing, defaults, checks, template. */
#include "config_rpz.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "policy.h"
#include "text.h"

#define QUOTE_MAX 80
#define QUOTE_LEN TEXT_QUOTE_LEN(QUOTE_MAX)

static const char *quote(char *out, size_t outlen, const char *s)
{
	return text_quote(out, outlen, s, strlen(s), QUOTE_MAX);
}

int config_addr_parse(const char *s, uint16_t default_port, struct config_addr *out, char *why,
                      size_t whylen)
{
	char q[QUOTE_LEN], host[64];
	const char *port = NULL;
	unsigned long p = default_port;
	size_t n = strlen(s);

	memset(out, 0, sizeof *out);
	if (n == 0 || n >= sizeof out->text)
		goto bad;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (size_t)(close - s - 1) >= sizeof host)
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			goto bad;
	} else {
		const char *colon = strchr(s, ':');
		/* two colons and no brackets: a bare IPv6 address, no port */
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			colon = NULL;
		n = colon ? (size_t)(colon - s) : n;
		if (n >= sizeof host)
			goto bad;
		memcpy(host, s, n);
		host[n] = '\0';
		if (colon)
			port = colon + 1;
	}
	if (port != NULL) {
		p = 0;
		if (*port == '\0')
			goto bad;
		for (const char *c = port; *c; c++) {
			if (*c < '0' || *c > '9' || c - port >= 5)
				goto bad;
			p = p * 10 + (unsigned long)(*c - '0');
		}
	}
	if (p == 0 || p > 65535)
		goto bad;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		out->len = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		out->len = sizeof *v6;
	} else {
		goto bad;
	}
	memcpy(out->text, s, strlen(s) + 1);
	return 0;
bad:
	snprintf(why, whylen, "%s is not ADDRESS:PORT or [IPV6]:PORT (a numeric address%s, port 1 to "
	         "65535)", quote(q, sizeof q, s), default_port ? "; the port may be left out" : "");
	return -1;
}

bool config_addr_same(const struct config_addr *a, const struct config_addr *b)
{
	if (a->sa.ss_family != b->sa.ss_family)
		return false;
	if (a->sa.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->sa, *y = (const void *)&b->sa;
		return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

int config_prefix_parse(const char *s, struct config_prefix *out, char *why, size_t whylen)
{
	char q[QUOTE_LEN], host[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long bits = 0;

	memset(out, 0, sizeof *out);
	if (n == 0 || n >= sizeof host)
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	unsigned max = out->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->bits = max;
		return 0;
	}
	if (slash[1] == '\0')
		goto bad;
	for (const char *c = slash + 1; *c; c++) {
		if (*c < '0' || *c > '9' || c - slash > 3)
			goto bad;
		bits = bits * 10 + (unsigned long)(*c - '0');
	}
	if (bits > max)
		goto bad;
	out->bits = (unsigned)bits;
	return 0;
bad:
	snprintf(why, whylen, "%s is not an address or a prefix (192.0.2.0/24, 2001:db8::/32)",
	         quote(q, sizeof q, s));
	return -1;
}

bool config_prefix_match(const struct config_prefix *p, const struct sockaddr *sa)
{
	const uint8_t *a;
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	if (family != p->family)
		return false;
	unsigned full = p->bits / 8, rest = p->bits % 8;
	if (memcmp(a, p->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (p->addr[full] & mask);
}

/* A host name as the DNS has it, for the zone origin, a CNAME target and a
 * TSIG key name: letters, digits, '-' and '_', labels 1..63, lower-cased,
 * one trailing dot stripped; room for the longest owner is checked by the
 * zone builder, which skips names that would not fit. */
static int dns_name(const char *v, char out[AM_DOMAIN_MAX + 1], const char *what, char *why,
                    size_t whylen)
{
	char q[QUOTE_LEN];
	size_t n = strlen(v), label = 0;

	if (n > 0 && v[n - 1] == '.')
		n--;
	if (n == 0 || n > AM_DOMAIN_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '.') {
			if (label == 0)
				goto bad;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '-' || c == '_') {
			if (++label > AM_LABEL_MAX)
				goto bad;
		} else {
			goto bad;
		}
		out[i] = (char)tolower((unsigned char)c);
	}
	if (label == 0)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	snprintf(why, whylen, "%s is not a %s (labels of 1 to 63 letters, digits, '-' or '_', "
	         "at most 253 characters)", quote(q, sizeof q, v), what);
	return -1;
}

typedef int (*rpz_set_fn)(struct config_rpz *z, const char *v, char *why, size_t whylen);

static int set_zone(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (dns_name(v, z->zone, "zone name", why, whylen) != 0)
		return -1;
	/* BIND serves a secondary zone as authoritative data: a resolver
	 * made secondary for "com" (or co.uk, github.io) would answer every
	 * name under it from our few rules - NXDOMAIN for all of .com. */
	if (domain_is_listed_suffix(z->zone)) {
		snprintf(why, whylen, "%s is a public suffix: a resolver that is secondary for it answers for "
		         "every name under it; name the zone under a domain of your own (rpz.example.net)",
		         quote(q, sizeof q, v));
		z->zone[0] = '\0';
		return -1;
	}
	return 0;
}

static int set_categories(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	return policy_parse_categories(v, &z->categories, why, whylen) == 0 ? 0 : -1;
}

static int set_min_score(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	unsigned n = 0;

	if (v[0] == '\0' || strlen(v) > 3)
		goto bad;
	for (const char *c = v; *c; c++) {
		if (*c < '0' || *c > '9')
			goto bad;
		n = n * 10 + (unsigned)(*c - '0');
	}
	if (n > 100)
		goto bad;
	z->min_score = (uint8_t)n;
	return 0;
bad:
	snprintf(why, whylen, "%s is not a score from 0 to 100", quote(q, sizeof q, v));
	return -1;
}

static int set_action(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	z->cname_target[0] = '\0';
	if (strcmp(v, "nxdomain") == 0)
		z->action = CONFIG_RPZ_NXDOMAIN;
	else if (strcmp(v, "nodata") == 0)
		z->action = CONFIG_RPZ_NODATA;
	else if (strcmp(v, "passthru") == 0)
		z->action = CONFIG_RPZ_PASSTHRU;
	else if (strncmp(v, "cname", 5) == 0 && (v[5] == ' ' || v[5] == '\t')) {
		const char *t = v + 6;
		while (*t == ' ' || *t == '\t')
			t++;
		if (dns_name(t, z->cname_target, "CNAME target", why, whylen) != 0)
			return -1;
		/* "cname 192.0.2.1" reads like a redirect to an address, but a
		 * CNAME names a host: the rule would send every user to the
		 * name "192.0.2.1.", which never resolves. A last label of
		 * digits is never a host name (RFC 3696 2). */
		const char *last = strrchr(z->cname_target, '.');
		last = last ? last + 1 : z->cname_target;
		if (strspn(last, "0123456789") == strlen(last)) {
			snprintf(why, whylen,
			         "%s: a CNAME target is a host name, not an address (a walled garden is "
			         "named: cname garden.example.net)", quote(q, sizeof q, t));
			z->cname_target[0] = '\0';
			return -1;
		}
		/* A target whose last label starts with "rpz-" is no host but
		 * an RPZ action to the resolvers: rpz-passthru. lets the name
		 * through, rpz-drop. drops the query, rpz-tcp-only. answers
		 * with TC; Unbound throws away any other such target as an
		 * invalid action. `cname rpz-passthru' loaded as a walled
		 * garden and made the zone let every listed name through. */
		if (strncmp(last, "rpz-", 4) == 0) {
			snprintf(why, whylen,
			         "%s: an RPZ action to the resolvers, not a host (last label `rpz-...': rpz-passthru "
			         "passes, rpz-drop drops the query, rpz-tcp-only forces TCP, others are invalid); "
			         "a garden is a host of your own, a passthru is action = passthru",
			         quote(q, sizeof q, t));
			z->cname_target[0] = '\0';
			return -1;
		}
		z->action = CONFIG_RPZ_CNAME;
	} else {
		snprintf(why, whylen, "%s: expected nxdomain, nodata, passthru or cname TARGET",
		         quote(q, sizeof q, v));
		return -1;
	}
	return 0;
}

static int set_allowlisted(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (strcmp(v, "passthru") != 0 && strcmp(v, "omit") != 0) {
		snprintf(why, whylen, "%s: expected passthru or omit", quote(q, sizeof q, v));
		return -1;
	}
	z->allowlisted_omit = v[0] == 'o';
	return 0;
}

static int set_disputed(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (strcmp(v, "keep") != 0 && strcmp(v, "omit") != 0) {
		snprintf(why, whylen, "%s: expected keep or omit", quote(q, sizeof q, v));
		return -1;
	}
	z->disputed_omit = v[0] == 'o';
	return 0;
}

/* Splits a list on commas and blanks into buf; calls one(tok) per item. */
#define FOR_EACH_ITEM(v, tok, body)                                                   \
	do {                                                                          \
		char buf_[1024], *save_ = NULL;                                       \
		snprintf(buf_, sizeof buf_, "%s", (v));                               \
		for (char *tok = strtok_r(buf_, ", \t", &save_); tok;                 \
		     tok = strtok_r(NULL, ", \t", &save_)) {                          \
			body                                                          \
		}                                                                     \
	} while (0)

static int set_allow_transfer(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	int rv = 0;

	z->n_allow_transfer = 0;
	FOR_EACH_ITEM(v, tok, {
		if (rv != 0)
			break;
		if (z->n_allow_transfer == CONFIG_RPZ_ADDRS_MAX) {
			snprintf(why, whylen, "at most %d addresses or prefixes", CONFIG_RPZ_ADDRS_MAX);
			rv = -1;
		} else {
			rv = config_prefix_parse(tok, &z->allow_transfer[z->n_allow_transfer++], why, whylen);
		}
	});
	return rv;
}

static int set_notify(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	int rv = 0;

	z->n_notify = 0;
	FOR_EACH_ITEM(v, tok, {
		if (rv != 0)
			break;
		if (z->n_notify == CONFIG_RPZ_ADDRS_MAX) {
			snprintf(why, whylen, "at most %d notify targets", CONFIG_RPZ_ADDRS_MAX);
			rv = -1;
		} else {
			rv = config_addr_parse(tok, 53, &z->notify[z->n_notify++], why, whylen);
		}
	});
	return rv;
}

/* notify_source = ADDRESS [ADDRESS]: bare addresses, one per family. A
 * NOTIFY leaves from an ephemeral port (the listener holds the DNS port),
 * so a port here is a mistake, said as one. */
static int set_notify_source(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	int rv = 0;

	memset(&z->notify_source4, 0, sizeof z->notify_source4);
	memset(&z->notify_source6, 0, sizeof z->notify_source6);
	FOR_EACH_ITEM(v, tok, {
		if (rv != 0)
			break;
		struct config_addr a;
		struct config_addr *slot;
		memset(&a, 0, sizeof a);
		struct sockaddr_in *v4 = (struct sockaddr_in *)&a.sa;
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a.sa;
		if (strlen(tok) < sizeof a.text && inet_pton(AF_INET, tok, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET;
			a.len = sizeof *v4;
			slot = &z->notify_source4;
		} else if (strlen(tok) < sizeof a.text && inet_pton(AF_INET6, tok, &v6->sin6_addr) == 1) {
			v6->sin6_family = AF_INET6;
			a.len = sizeof *v6;
			slot = &z->notify_source6;
		} else {
			struct config_addr with_port;
			char w[8];
			if (config_addr_parse(tok, 0, &with_port, w, sizeof w) == 0)
				snprintf(why, whylen, "%s has a port: a NOTIFY leaves from a port of the kernel's choice; "
				         "give the address alone", quote(q, sizeof q, tok));
			else
				snprintf(why, whylen, "%s is not an IPv4 or IPv6 address (the address secondaries have "
				         "as their primary)", quote(q, sizeof q, tok));
			rv = -1;
			break;
		}
		if ((a.sa.ss_family == AF_INET && (IN_MULTICAST(ntohl(v4->sin_addr.s_addr)) ||
		                                   v4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		                                   v4->sin_addr.s_addr == htonl(INADDR_BROADCAST))) ||
		    (a.sa.ss_family == AF_INET6 && (IN6_IS_ADDR_MULTICAST(&v6->sin6_addr) ||
		                                    IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)))) {
			snprintf(why, whylen, "%s: a NOTIFY needs one address of this host to leave from, not a "
			         "wildcard, broadcast or multicast address", quote(q, sizeof q, tok));
			rv = -1;
			break;
		}
		if (slot->sa.ss_family != 0) {
			snprintf(why, whylen, "%s: one address per family (%s is already the %s source)",
			         quote(q, sizeof q, tok), slot->text, a.sa.ss_family == AF_INET ? "IPv4" : "IPv6");
			rv = -1;
			break;
		}
		memcpy(a.text, tok, strlen(tok) + 1);
		*slot = a;
	});
	if (rv != 0) {
		memset(&z->notify_source4, 0, sizeof z->notify_source4);
		memset(&z->notify_source6, 0, sizeof z->notify_source6);
	}
	return rv;
}

static int set_tsig(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	char buf[512], *save = NULL, q[QUOTE_LEN], alg_name[AM_DOMAIN_MAX + 1];
	char *name, *alg, *secret, *extra;
	size_t len;

	sodium_memzero(z->tsig_secret, sizeof z->tsig_secret);
	sodium_memzero(z->tsig_secret_b64, sizeof z->tsig_secret_b64);
	z->tsig_name[0] = '\0';
	z->tsig_len = 0;
	if (v[0] == '\0')
		return 0;
	snprintf(buf, sizeof buf, "%s", v);
	name = strtok_r(buf, " \t", &save);
	alg = strtok_r(NULL, " \t", &save);
	secret = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (name == NULL || alg == NULL || secret == NULL || extra != NULL) {
		/* never quote the value: it holds the secret */
		snprintf(why, whylen, "expected KEYNAME hmac-sha256 BASE64SECRET");
		goto fail;
	}
	if (dns_name(name, z->tsig_name, "key name", why, whylen) != 0)
		goto fail;
	/* The algorithm is a domain name (RFC 8945 s.4.1), so it compares as
	 * DNS names do: without regard to case (RFC 4343), with or without
	 * the final dot. dns_name lowercases it. */
	if (dns_name(alg, alg_name, "algorithm", why, whylen) != 0 || strcmp(alg_name, "hmac-sha256") != 0) {
		/* ldns 1.8.3 misspells hmac-sha384 in its algorithm table */
		snprintf(why, whylen, "algorithm %s: only hmac-sha256 is supported",
		         quote(q, sizeof q, alg));
		goto fail;
	}
	if (strlen(secret) >= sizeof z->tsig_secret_b64 ||
	    sodium_base642bin(z->tsig_secret, sizeof z->tsig_secret, secret, strlen(secret), NULL, &len,
	                      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len < 16) {
		snprintf(why, whylen, "the secret is not base64 of 16 to %d bytes", CONFIG_TSIG_SECRET_MAX);
		goto fail;
	}
	z->tsig_len = len;
	memcpy(z->tsig_secret_b64, secret, strlen(secret) + 1);
	sodium_memzero(buf, sizeof buf);
	return 0;
fail:
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(z->tsig_secret, sizeof z->tsig_secret);
	z->tsig_name[0] = '\0';
	z->tsig_len = 0;
	return -1;
}

static int set_seconds(uint32_t *out, const char *v, uint32_t min, uint32_t max, char *why,
                       size_t whylen)
{
	char q[QUOTE_LEN];
	uint64_t n = 0;

	if (v[0] == '\0')
		goto bad;
	for (const char *c = v; *c; c++) {
		if (*c < '0' || *c > '9' || n > max)
			goto bad;
		n = n * 10 + (uint64_t)(*c - '0');
	}
	if (n < min || n > max)
		goto bad;
	*out = (uint32_t)n;
	return 0;
bad:
	snprintf(why, whylen, "%s is not a number of seconds from %u to %u", quote(q, sizeof q, v),
	         min, max);
	return -1;
}

static int set_ttl(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	return set_seconds(&z->ttl, v, 0, 86400, why, whylen);
}
static int set_refresh(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	return set_seconds(&z->refresh, v, 1, 86400, why, whylen);
}
static int set_retry(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	return set_seconds(&z->retry, v, 1, 86400, why, whylen);
}
static int set_expire(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	return set_seconds(&z->expire, v, 60, 30 * 86400, why, whylen);
}
static int set_minimum(struct config_rpz *z, const char *v, char *why, size_t whylen)
{
	return set_seconds(&z->minimum, v, 0, 86400, why, whylen);
}

static const struct rpz_option {
	const char *key;
	const char *def; /* NULL = required */
	const char *example;
	rpz_set_fn set;
	const char *doc;
} options[CONFIG_RPZ_OPTIONS] = {
	{"zone", NULL, "rpz.abuse.example", set_zone, "The zone's origin. Required."},
	{"categories", NULL, "phishing, malware", set_categories,
	 "Categories whose verdicts enter the zone, or all. Required."},
	{"min_score", "50", NULL, set_min_score, "Verdict score (0 to 100) needed to enter."},
	{"action", "nxdomain", NULL, set_action,
	 "nxdomain, nodata, passthru or cname TARGET (a walled garden)."},
	{"allowlisted", "passthru", NULL, set_allowlisted,
	 "An allowlisted name that would enter: passthru (a rule a blocked\n"
	 "parent cannot override) or omit (a blocked parent's *. rule covers it)."},
	{"disputed", "keep", NULL, set_disputed,
	 "keep, or omit: signals with an open dispute do not count here."},
	{"allow_transfer", "127.0.0.1, ::1", NULL, set_allow_transfer,
	 "Addresses or prefixes allowed SOA queries and transfers; others: REFUSED."},
	{"notify", "", "127.0.0.1:5300, [::1]:5300", set_notify,
	 "Secondaries sent a NOTIFY on each new serial, until they answer."},
	/* default: where the secondary last transferred from us, else the
	 * first specific dns_listen address of the family (else the kernel's
	 * choice); a line in the template costs room the fuzz seed lacks */
	{"notify_source", "", "", set_notify_source,
	 "Address NOTIFYs leave from: the secondaries' primary (one per family)."},
	{"tsig", "", "", set_tsig,
	 "KEYNAME hmac-sha256 BASE64SECRET: every transfer must be signed with\n"
	 "this key (Unbound cannot sign). Keep this file 0600 then."},
	{"ttl", "300", NULL, set_ttl, "Seconds: TTL of the rules, then the SOA timers."},
	{"refresh", "300", NULL, set_refresh, NULL},
	{"retry", "60", NULL, set_retry, NULL},
	{"expire", "259200", NULL, set_expire, NULL},
	{"minimum", "60", NULL, set_minimum, NULL},
};

int config_rpz_option_index(const char *key)
{
	for (int i = 0; i < CONFIG_RPZ_OPTIONS; i++)
		if (strcmp(options[i].key, key) == 0)
			return i;
	return -1;
}

const char *config_rpz_option_key(int idx)
{
	return idx >= 0 && idx < CONFIG_RPZ_OPTIONS ? options[idx].key : "?";
}

int config_rpz_set(struct config_rpz *z, int idx, const char *value, char *why, size_t whylen)
{
	if (idx < 0 || idx >= CONFIG_RPZ_OPTIONS)
		return -1;
	return options[idx].set(z, value, why, whylen);
}

void config_rpz_defaults(struct config_rpz *z)
{
	char why[256];

	for (int i = 0; i < CONFIG_RPZ_OPTIONS; i++)
		if (options[i].def != NULL)
			options[i].set(z, options[i].def, why, sizeof why);
}

void config_rpz_check(const struct config_rpz *z, const unsigned set_on[CONFIG_RPZ_OPTIONS], unsigned bad,
                      void (*problem)(void *arg, unsigned line, const char *msg), void *arg)
{
	char msg[2 * AM_DOMAIN_MAX + 256];

	for (int i = 0; i < CONFIG_RPZ_OPTIONS; i++)
		if (options[i].def == NULL && set_on[i] == 0) {
			snprintf(msg, sizeof msg, "[rpz %s] %s is required", z->name, options[i].key);
			problem(arg, z->line, msg);
		}
	/* a target at or under the zone's own origin would be looked up as
	 * one of its rules ("a.example.rpz.zone"), not as the walled garden */
	size_t zl = strlen(z->zone), tl = strlen(z->cname_target);
	if (!(bad & (1u << 0 | 1u << 3)) && z->action == CONFIG_RPZ_CNAME && zl > 0 && tl >= zl &&
	    strcmp(z->cname_target + tl - zl, z->zone) == 0 && (tl == zl || z->cname_target[tl - zl - 1] == '.')) {
		snprintf(msg, sizeof msg, "[rpz %s] action: CNAME target `%s' is inside the zone %s itself; "
		         "a walled garden is a host outside it", z->name, z->cname_target, z->zone);
		problem(arg, set_on[3] ? set_on[3] : z->line, msg);
	}
	/* a refused value left categories empty: "`Phishing' is not a
	 * category" was followed by "none would make an empty zone", for a
	 * none the operator never wrote */
	if (set_on[1] != 0 && !(bad & 1u << 1) && z->categories == 0) {
		snprintf(msg, sizeof msg, "[rpz %s] categories: none would make an empty zone", z->name);
		problem(arg, set_on[1], msg);
	}
}

int config_rpz_notify_source_index(void)
{
	return config_rpz_option_index("notify_source");
}

static bool addr_wildcard(const struct config_addr *a)
{
	if (a->sa.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
}

static bool addr_same_host(const struct config_addr *a, const struct config_addr *b)
{
	if (a->sa.ss_family != b->sa.ss_family)
		return false;
	if (a->sa.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->sa)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)&b->sa)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
	              &((const struct sockaddr_in6 *)&b->sa)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

void config_rpz_check_sources(const struct config *cfg, const struct config_rpz *z, unsigned line,
                              void (*problem)(void *arg, unsigned line, const char *msg), void *arg)
{
	const struct config_addr *src[2] = {&z->notify_source4, &z->notify_source6};
	char msg[CONFIG_DNS_LISTEN_MAX * 72 + 512];

	for (int f = 0; f < 2; f++) {
		const struct config_addr *s = src[f];
		if (s->sa.ss_family == 0)
			continue;
		bool any = false, wild = false, listed = false;
		size_t at = 0;
		char listens[CONFIG_DNS_LISTEN_MAX * 72 + 8] = "";
		for (size_t i = 0; i < cfg->n_dns_listen; i++) {
			const struct config_addr *l = &cfg->dns_listen[i];
			if (l->sa.ss_family != s->sa.ss_family)
				continue;
			at += (size_t)snprintf(listens + at, sizeof listens - at, "%s`%s'", any ? ", " : "", l->text);
			any = true;
			wild |= addr_wildcard(l);
			listed |= addr_same_host(l, s);
		}
		if (!any)
			snprintf(msg, sizeof msg, "[rpz %s] notify_source `%s': no dns_listen address is %s, so no "
			         "secondary transfers from us by it; leave it out or listen there", z->name, s->text,
			         f == 0 ? "IPv4" : "IPv6");
		else if (!wild && !listed)
			snprintf(msg, sizeof msg, "[rpz %s] notify_source `%s' is none of dns_listen's addresses (%s): "
			         "a secondary takes a NOTIFY only from its primary's address, the one it transfers "
			         "from", z->name, s->text, listens);
		else
			continue;
		problem(arg, line ? line : z->line, msg);
	}
}

unsigned config_rpz_warnings(const struct config *cfg, void (*warn)(void *arg, const char *msg), void *arg)
{
	char msg[PATH_MAX + 2 * AM_DOMAIN_MAX + 640];
	unsigned n = 0;

	for (size_t i = 0; i < cfg->n_rpz; i++) {
		const struct config_rpz *z = &cfg->rpz[i];
		bool told[2] = {false, false};
		for (size_t k = 0; k < z->n_notify; k++) {
			const struct config_addr *t = &z->notify[k];
			int family = t->sa.ss_family, f = family == AF_INET ? 0 : 1;
			const struct config_addr *src = f == 0 ? &z->notify_source4 : &z->notify_source6;
			const struct config_addr *first = NULL;
			for (size_t l = 0; l < cfg->n_dns_listen && first == NULL; l++)
				if (cfg->dns_listen[l].sa.ss_family == family)
					first = &cfg->dns_listen[l];
			if (!told[f] && src->sa.ss_family == 0 && first != NULL && addr_wildcard(first)) {
				told[f] = true;
				snprintf(msg, sizeof msg, "%s:%u: warning: [rpz %s] notifies %s, but dns_listen `%s' is a "
				         "wildcard and notify_source is not set: its NOTIFYs leave from the kernel's choice of "
				         "address until the secondary has transferred from us (again after each restart), and "
				         "a secondary takes a NOTIFY only from its primary's address; set notify_source to it",
				         cfg->path, z->line, z->name, t->text, first->text);
				warn(arg, msg);
				n++;
			}
			bool allowed = false;
			for (size_t a = 0; a < z->n_allow_transfer && !allowed; a++)
				allowed = config_prefix_match(&z->allow_transfer[a], (const struct sockaddr *)&t->sa);
			if (!allowed) {
				snprintf(msg, sizeof msg, "%s:%u: warning: [rpz %s] notify target `%s' is outside its "
				         "allow_transfer: it is told of each change and refused when it asks for it (unless it "
				         "transfers from another of its addresses)", cfg->path, z->line, z->name, t->text);
				warn(arg, msg);
				n++;
			}
		}
	}
	return n;
}

int config_rpz_secret_exposed(const struct config *cfg, char *why, size_t whylen)
{
	const struct config_rpz *z = NULL;
	struct stat st;

	for (size_t i = 0; i < cfg->n_rpz && !z; i++)
		if (cfg->rpz[i].tsig_name[0])
			z = &cfg->rpz[i];
	if (!z)
		return 0;
	if (stat(cfg->path, &st) != 0) {
		snprintf(why, whylen, "%s: %s", cfg->path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) == 0)
		return 0;
	snprintf(why, whylen, "%s:%u: warning: holds the TSIG secret of [rpz %s] but is readable by %s "
	         "(mode %04o); anyone who reads it can transfer the zone as a secondary: chmod 600 %s",
	         cfg->path, z->line, z->name, st.st_mode & 007 ? "everyone" : "its group",
	         (unsigned)(st.st_mode & 07777), cfg->path);
	return 1;
}

bool config_rpz_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > CONFIG_RPZ_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
			return false;
	return true;
}

int config_dns_listen_set(struct config *cfg, const char *v, char *why, size_t whylen)
{
	int rv = 0;

	cfg->n_dns_listen = 0;
	FOR_EACH_ITEM(v, tok, {
		if (rv != 0)
			break;
		if (cfg->n_dns_listen == CONFIG_DNS_LISTEN_MAX) {
			snprintf(why, whylen, "at most %d addresses", CONFIG_DNS_LISTEN_MAX);
			rv = -1;
		} else {
			rv = config_addr_parse(tok, 0, &cfg->dns_listen[cfg->n_dns_listen++], why, whylen);
		}
	});
	if (rv != 0)
		cfg->n_dns_listen = 0;
	return rv;
}

void config_rpz_template(char **text, size_t *len)
{
	text_append(text, len,
	            "\n# Response policy zones for resolvers, one [rpz NAME] section each,\n"
	            "# served on dns_listen (AXFR, IXFR, NOTIFY). An example:\n"
	            "\n# [rpz abuse]\n");
	for (int i = 0; i < CONFIG_RPZ_OPTIONS; i++) {
		const char *p = options[i].doc ? options[i].doc : "";
		while (*p) {
			size_t n = strcspn(p, "\n");
			text_append(text, len, "# %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		text_append(text, len, "# %s = %s\n", options[i].key,
		            options[i].def && options[i].def[0] ? options[i].def
		            : options[i].example ? options[i].example : "");
	}
}

static bool listen_has(const struct config *c, const struct config_addr *a)
{
	for (size_t i = 0; i < c->n_dns_listen; i++)
		if (config_addr_same(&c->dns_listen[i], a))
			return true;
	return false;
}

/* "`a', `b'" or "none" */
static void listen_text(const struct config *c, char *out, size_t cap)
{
	size_t at = 0;
	snprintf(out, cap, "none");
	for (size_t i = 0; i < c->n_dns_listen && at < cap; i++)
		at += (size_t)snprintf(out + at, cap - at, "%s`%s'", i ? ", " : "", c->dns_listen[i].text);
}

unsigned config_rpz_reload_limits(const struct config *running, const struct config *fresh,
                                  void (*note)(void *arg, const char *msg), void *arg)
{
	char was[CONFIG_DNS_LISTEN_MAX * 72 + 8], now[CONFIG_DNS_LISTEN_MAX * 72 + 8];
	char msg[3 * sizeof was + 256];
	unsigned n = 0;

	if (running->n_rpz == 0 && fresh->n_rpz > 0) {
		snprintf(msg, sizeof msg,
		         "[rpz %s]%s added, but this peer started without response policy zones: no zone is built "
		         "or served, and no NOTIFY sent, until ameshd is restarted",
		         fresh->rpz[0].name, fresh->n_rpz > 1 ? " and more" : "");
		note(arg, msg);
		n++;
	}
	bool same = running->n_dns_listen == fresh->n_dns_listen;
	for (size_t i = 0; same && i < fresh->n_dns_listen; i++)
		same = listen_has(running, &fresh->dns_listen[i]);
	/* without zones at start nothing listened; the note above says it */
	if (!same && running->n_rpz > 0) {
		listen_text(running, was, sizeof was);
		listen_text(fresh, now, sizeof now);
		if (running->n_dns_listen == 0)
			snprintf(msg, sizeof msg,
			         "dns_listen %s added, but the DNS sockets are opened at start only: nothing answers "
			         "DNS, and no NOTIFY is sent, until ameshd is restarted", now);
		else
			snprintf(msg, sizeof msg,
			         "dns_listen changed from %s to %s, but the DNS sockets are opened at start only: "
			         "still listening on %s, and NOTIFYs still sent from there, until ameshd is restarted",
			         was, now, was);
		note(arg, msg);
		n++;
	}
	return n;
}

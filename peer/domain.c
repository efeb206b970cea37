/* domain.c - domain-name normalisation (IDNA2008, UTS #46, RFC 1035), query forms, special-use and public-suffix rules. */
#include "domain.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <libpsl.h>
#include <unicode/uidna.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "punycode.h"

/* Longest stretch of escaped input an error message quotes. */
#define QUOTE_MAX 96

/*
 * The psl context is loaded on first use (or by domain_init) and read-only
 * afterwards. A mutex plus an atomic pointer rather than pthread_once so that
 * domain_fini() followed by another use loads the list again (tests do that).
 */
static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(psl_ctx_t *) psl_ctx;
static bool psl_owned; /* false for psl_builtin(), which must not be freed */

static const psl_ctx_t *get_psl(void)
{
	psl_ctx_t *p = atomic_load_explicit(&psl_ctx, memory_order_acquire);
	if (p)
		return p;
	pthread_mutex_lock(&psl_lock);
	p = atomic_load_explicit(&psl_ctx, memory_order_relaxed);
	if (!p) {
		/* psl_latest: the newer of the built-in list and Debian's
		 * publicsuffix package, so a stale libpsl build is not fatal. */
		p = psl_latest(NULL);
		psl_owned = p != NULL;
		if (!p)
			p = (psl_ctx_t *)psl_builtin();
		atomic_store_explicit(&psl_ctx, p, memory_order_release);
	}
	pthread_mutex_unlock(&psl_lock);
	return p;
}

/* ICU's UTS #46 processor, opened on first use; immutable and documented
 * as safe for concurrent use once open.
 *
 * ICU itself is loaded then too (dlopen), not at program start: mapping
 * and relocating libicuuc with libstdc++ costs every process ~1 ms of CPU
 * before main (issue 13: `amesh submit' paid it on every call), for a
 * library only a U-label that IDNA2008 refuses ever needs. The soname and
 * the versioned symbol names (uidna_openUTS46 is a macro for
 * uidna_openUTS46_72) are the ones of the headers built against. */
#define ICU_STR2(x) #x
#define ICU_STR(x) ICU_STR2(x)
static struct {
	void *lib;
	__typeof__(uidna_openUTS46) *open;
	__typeof__(uidna_labelToASCII_UTF8) *to_ascii;
	__typeof__(uidna_close) *close;
} icu;
static _Atomic(UIDNA *) uts46;

/* The library ICU is loaded from (domain_set_icu_library changes it for
 * tests), and why it could not be, for every message that needs it. */
static const char *icu_soname;
static char icu_why[256];

/* Under psl_lock: loads ICU's three entry points once; false if it cannot,
 * with icu_why saying why (dlerror's words: the file, or the symbol). */
static bool icu_load(void)
{
	const char *so = icu_soname ? icu_soname : "libicuuc.so." U_ICU_VERSION_SHORT;
	const char *e;

	if (icu.open)
		return true;
	if (!icu.lib && (icu.lib = dlopen(so, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(icu_why, sizeof icu_why, "%s", e ? e : so);
		return false;
	}
	icu.to_ascii = (__typeof__(icu.to_ascii))dlsym(icu.lib, ICU_STR(uidna_labelToASCII_UTF8));
	icu.close = (__typeof__(icu.close))dlsym(icu.lib, ICU_STR(uidna_close));
	if (icu.to_ascii && icu.close)
		icu.open = (__typeof__(icu.open))dlsym(icu.lib, ICU_STR(uidna_openUTS46));
	if (!icu.open) {
		e = dlerror();
		snprintf(icu_why, sizeof icu_why, "%s: %s", so, e ? e : "a UTS #46 entry point is missing");
	}
	return icu.open != NULL;
}

static const UIDNA *get_uts46(void)
{
	UIDNA *u = atomic_load_explicit(&uts46, memory_order_acquire);
	if (u)
		return u;
	pthread_mutex_lock(&psl_lock);
	u = atomic_load_explicit(&uts46, memory_order_relaxed);
	if (!u && icu_load()) {
		UErrorCode e = U_ZERO_ERROR;
		/* what browsers do (WHATWG URL): nontransitional, bidi and
		 * CONTEXTJ checked, STD3 rules off (our own rules follow) */
		u = icu.open(UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ, &e);
		if (U_FAILURE(e)) {
			snprintf(icu_why, sizeof icu_why, "uidna_openUTS46 failed: ICU error %d", (int)e);
			u = NULL;
		}
		atomic_store_explicit(&uts46, u, memory_order_release);
	}
	pthread_mutex_unlock(&psl_lock);
	return u;
}

/* What a name needing UTS #46 is refused with when ICU is not there. */
static void icu_missing(char *why, size_t whylen)
{
	snprintf(why, whylen,
	         "ICU did not load (UTS #46, for U-labels IDNA2008 refuses, such as emoji; install Debian's libicu"
	         U_ICU_VERSION_SHORT "): %s", icu_why[0] ? icu_why : "not loaded");
}

int domain_init(char *err, size_t errlen)
{
	if (!get_psl()) {
		if (err && errlen)
			snprintf(err, errlen, "cannot load the public suffix list (psl_latest and psl_builtin failed): %s",
			         am_strerror(AM_EIO));
		return AM_EIO;
	}
	/* Loaded now, not on first use, by whoever normalises for the mesh:
	 * without it a peer would refuse the emoji names its neighbours
	 * accept, each one reported as a bad name of theirs. */
	if (!get_uts46()) {
		if (err && errlen)
			icu_missing(err, errlen);
		return AM_EIO;
	}
	return 0;
}

void domain_set_icu_library(const char *soname)
{
	pthread_mutex_lock(&psl_lock);
	UIDNA *u = atomic_exchange_explicit(&uts46, NULL, memory_order_acq_rel);
	if (u)
		icu.close(u);
	/* a handle still open stays so (dlopen counts references) */
	icu.open = NULL;
	icu.to_ascii = NULL;
	icu.close = NULL;
	icu.lib = NULL;
	icu_soname = soname;
	icu_why[0] = '\0';
	pthread_mutex_unlock(&psl_lock);
}

static void rules_free(void);

void domain_fini(void)
{
	rules_free();
	pthread_mutex_lock(&psl_lock);
	psl_ctx_t *p = atomic_exchange_explicit(&psl_ctx, NULL, memory_order_acq_rel);
	if (psl_owned)
		psl_free(p);
	psl_owned = false;
	UIDNA *u = atomic_exchange_explicit(&uts46, NULL, memory_order_acq_rel);
	if (u)
		icu.close(u);
	/* the library stays loaded: dlclose would gain nothing */
	pthread_mutex_unlock(&psl_lock);
}

/* Own character classes: <ctype.h> answers depend on the locale. */
static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_ldh_(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * One line quoting `in': printable ASCII as is, everything else (controls,
 * newlines, every non-ASCII byte) as \xHH, backslash and quote escaped, so
 * the input cannot forge or break a log line. Long input ends in "...".
 */
static void quote(const char *in, char *q, size_t qcap)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)in;

	for (; *s; s++) {
		if (o + 4 + 3 + 1 > qcap || o >= QUOTE_MAX) {
			memcpy(q + o, "...", 3);
			o += 3;
			break;
		}
		if (*s >= 0x20 && *s < 0x7f && *s != '\\' && *s != '\'' && *s != '`') {
			q[o++] = (char)*s;
		} else if (*s == '\\') {
			q[o++] = '\\';
			q[o++] = '\\';
		} else {
			q[o++] = '\\';
			q[o++] = 'x';
			q[o++] = digits[*s >> 4];
			q[o++] = digits[*s & 15];
		}
	}
	q[o] = '\0';
}

static bool is_ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A scheme is RFC 3986's ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
bool domain_url_host(const char *in, char *host, size_t hostlen)
{
	const char *p, *h, *end, *at;
	size_t n;

	if (host && hostlen)
		host[0] = '\0';
	if (!in || !(p = strstr(in, "://")) || p == in || !is_ascii_alpha(in[0]))
		return false;
	for (const char *c = in; c < p; c++)
		if (!is_ascii_alpha(*c) && !(*c >= '0' && *c <= '9') && *c != '+' && *c != '-' && *c != '.')
			return false;
	h = p + 3;
	end = h + strcspn(h, "/?#\\");
	/* userinfo ends at the authority's last '@' (RFC 3986 3.2.1) */
	for (at = end; at > h && at[-1] != '@'; at--)
		;
	if (at > h)
		h = at;
	n = (size_t)(end - h);
	const char *port = n > 0 && h[0] == '[' ? memchr(h, ']', n) : h;
	if (port && (port = memchr(port, ':', (size_t)(end - port))) != NULL)
		n = (size_t)(port - h);
	if (host && hostlen && n > 0 && n < hostlen) {
		memcpy(host, h, n);
		host[n] = '\0';
	}
	return true;
}

static int refuse(int rc, const char *in, const char *detail, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 8];

	if (!err || !errlen)
		return rc;
	if (!in) {
		snprintf(err, errlen, "no domain given: %s", am_strerror(rc));
		return rc;
	}
	quote(in, q, sizeof q);
	if (detail)
		snprintf(err, errlen, "`%s': %s: %s", q, am_strerror(rc), detail);
	else
		snprintf(err, errlen, "`%s': %s", q, am_strerror(rc));
	return rc;
}

/* "`in': why" - for rules whose own words say more than am_strerror. */
static int refuse_why(int rc, const char *in, const char *why, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 8];

	if (!why || !why[0])
		return refuse(rc, in, NULL, err, errlen);
	if (err && errlen) {
		quote(in, q, sizeof q);
		snprintf(err, errlen, "`%s': %s", q, why);
	}
	return rc;
}

/* Names the character a host name may not hold. */
static int bad_char(unsigned char c, char *why, size_t whylen)
{
	if (c == ' ')
		snprintf(why, whylen, "a space is not allowed in a host name (letters, digits, '-', '_')");
	else if (c < 0x20 || c == 0x7f)
		snprintf(why, whylen, "control character 0x%02x is not allowed in a host name (letters, digits, '-', '_')", c);
	else if (c < 0x7f && c != '`' && c != '\'' && c != '\\')
		snprintf(why, whylen, "character `%c' is not allowed in a host name (letters, digits, '-', '_')", c);
	else
		snprintf(why, whylen, "character 0x%02x is not allowed in a host name (letters, digits, '-', '_')", c);
	return AM_EDOMAIN_CHAR;
}

/* An IPv6 literal, bare or in brackets, with an optional %zone. */
static bool is_ipv6_literal(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (!memchr(s, ':', n))
		return false;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	const char *pct = memchr(s, '%', n);
	if (pct)
		n = (size_t)(pct - s);
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/*
 * WHATWG URL's "ends in a number": a host whose last label is decimal or
 * 0x-hex is parsed as IPv4 by browsers (and inet_aton takes "127.1" or
 * "0x7f.1"), and no TLD is numeric, so such a name is an address, never a
 * domain. This covers dotted quads and their short and hex spellings.
 */
static bool ends_in_number(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && s[i - 1] != '.')
		i--;
	const char *last = s + i;
	size_t len = n - i;
	if (len == 0)
		return false;
	if (len >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
		for (size_t k = 2; k < len; k++)
			if (!is_hex((unsigned char)last[k]))
				return false;
		return true;
	}
	for (size_t k = 0; k < len; k++)
		if (!is_digit((unsigned char)last[k]))
			return false;
	return true;
}

static bool is_alabel_prefix(const char *s, size_t n)
{
	return n >= 4 && ascii_lower((unsigned char)s[0]) == 'x' && ascii_lower((unsigned char)s[1]) == 'n' &&
	       s[2] == '-' && s[3] == '-';
}

static int idn_error(int rc)
{
	switch (rc) {
	case IDN2_MALLOC:
		return AM_ENOMEM;
	case IDN2_HYPHEN_STARTEND:
		/* Same code as an ASCII label with a leading or trailing hyphen. */
		return AM_EDOMAIN_CHAR;
	case IDN2_PUNYCODE_BIG_OUTPUT:
	case IDN2_TOO_BIG_LABEL:
		return AM_ELABEL_LONG;
	case IDN2_TOO_BIG_DOMAIN:
		return AM_EDOMAIN_LONG;
	default:
		return AM_EDOMAIN_IDN;
	}
}

/*
 * The A-label rule for what IDNA2008 refuses (issue 9): an "xn--" label the
 * DNS can serve is accepted when it is well-formed Punycode - it decodes to
 * at least one non-ASCII code point, none of them a control or surrogate,
 * and encoding the result gives back exactly this label (so one name has
 * one spelling) - even when its code points are not IDNA2008-valid. Real
 * phishing uses emoji names such as "xn--57h.ws"; refusing them would leave
 * them unflaggable while they resolve. `lower' is the label, lower-cased.
 */
static bool wellformed_alabel(const char *lower, size_t n)
{
	uint32_t cp[AM_LABEL_MAX];
	size_t ncp = sizeof cp / sizeof cp[0], elen;
	char again[AM_LABEL_MAX + 1];
	bool non_ascii = false;

	if (n < 5 || n > AM_LABEL_MAX || !is_alabel_prefix(lower, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_ldh_((unsigned char)lower[i]) || lower[i] == '_')
			return false;
	if (lower[n - 1] == '-')
		return false;
	if (punycode_decode(lower + 4, n - 4, cp, &ncp) != PUNYCODE_OK || ncp == 0)
		return false;
	for (size_t i = 0; i < ncp; i++) {
		if (cp[i] < 0x20 || (cp[i] >= 0x7f && cp[i] < 0xa0))
			return false;
		non_ascii |= cp[i] >= 0x80;
	}
	if (!non_ascii)
		return false;
	if (punycode_encode(cp, ncp, again, sizeof again, &elen) != PUNYCODE_OK)
		return false;
	return elen == n - 4 && memcmp(again, lower + 4, elen) == 0;
}

/*
 * UTS #46 for a U-label IDNA2008 refused: what browsers resolve (ICU is the
 * implementation Chromium uses). "--" in positions 3-4 is allowed, as
 * WHATWG URL does with CheckHyphens off; a leading or trailing hyphen stays
 * refused (as for every label here). Returns a
 * malloc'd A-label or NULL.
 */
static char *uts46_to_ascii(const char *label, size_t n)
{
	const UIDNA *u = get_uts46();
	UIDNAInfo info = UIDNA_INFO_INITIALIZER;
	UErrorCode e = U_ZERO_ERROR;
	char out[4 * AM_LABEL_MAX + 8];
	const uint32_t ignored = UIDNA_ERROR_HYPHEN_3_4;

	if (!u || n > INT32_MAX)
		return NULL;
	int32_t len = icu.to_ascii(u, label, (int32_t)n, out, (int32_t)sizeof out - 1, &info, &e);
	if (U_FAILURE(e) || (info.errors & ~ignored) != 0 || len <= 0 || (size_t)len >= sizeof out)
		return NULL;
	out[len] = '\0';
	return strdup(out);
}

/*
 * Converts one raw label and appends it to buf. Pure-ASCII labels that are
 * not A-labels are only lower-cased: IDNA2008 does not apply to them (RFC
 * 5890 NR-LDH labels), while libidn2 would apply UTS#46 CheckHyphens and
 * refuse real hosts such as "r3---sn-4g5e6nzz.googlevideo.com". U-labels and
 * "xn--" labels go through libidn2 (IDNA2008), which validates and
 * lower-cases them; what it refuses gets a second chance: an "xn--" label
 * by the A-label rule above, a U-label by UTS #46 (to its A-label, as
 * browsers map it). libidn2 checks bidi per label only, so per-label calls
 * lose nothing.
 */
static int convert_label(const char *s, size_t n, char *buf, size_t cap, size_t *len, int *idn_rc)
{
	bool ascii = true;
	char *tmp = NULL, *a = NULL, *u = NULL;
	const char *src = s;
	size_t an = n;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	if (!ascii || is_alabel_prefix(s, n)) {
		if ((tmp = malloc(n + 1)) == NULL) {
			rc = AM_ENOMEM;
			goto fail;
		}
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		int r = idn2_to_ascii_8z(tmp, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (r == IDN2_OK) {
			src = a;
			an = strlen(a);
		} else if (ascii) {
			for (size_t i = 0; i < n; i++)
				tmp[i] = (char)ascii_lower((unsigned char)tmp[i]);
			if (!wellformed_alabel(tmp, n)) {
				*idn_rc = r;
				rc = r == IDN2_TOO_BIG_LABEL || r == IDN2_TOO_BIG_DOMAIN ? idn_error(r) : AM_EDOMAIN_IDN;
				goto fail;
			}
			src = tmp;
		} else if (r != IDN2_MALLOC && r != IDN2_HYPHEN_STARTEND && (u = uts46_to_ascii(tmp, n)) != NULL) {
			an = strlen(u);
			for (size_t i = 0; i < an; i++)
				u[i] = (char)ascii_lower((unsigned char)u[i]);
			/* what we emit must read back as itself: an A-label the
			 * "xn--" path above would refuse (UTS #46 lets `_' through)
			 * made a stored name that its own re-normalisation, and
			 * every peer's ingest, refused (found by fuzz_domain) */
			if (is_alabel_prefix(u, an) && !wellformed_alabel(u, an)) {
				*idn_rc = r;
				rc = AM_EDOMAIN_IDN;
				goto fail;
			}
			src = u;
		} else if (r != IDN2_MALLOC && r != IDN2_HYPHEN_STARTEND && !get_uts46()) {
			/* not a verdict on the name: this process lacks ICU */
			rc = AM_EIO;
			goto fail;
		} else {
			*idn_rc = r;
			rc = idn_error(r);
			goto fail;
		}
	}
	/* Anything this long fails the 253-octet rule anyway. */
	if (*len + an + 1 >= cap) {
		rc = AM_EDOMAIN_LONG;
		goto fail;
	}
	for (size_t i = 0; i < an; i++)
		buf[(*len)++] = (char)ascii_lower((unsigned char)src[i]);
	buf[*len] = '\0';
fail:
	idn2_free(a);
	free(u);
	free(tmp);
	return rc;
}

/*
 * RFC 1035 limits and our character set on the converted name. Needed even
 * for U-labels: UTS#46 maps e.g. U+FF0A to '*', U+00A0 to ' ', U+3002 to '.'
 * and fullwidth digits to ASCII ones.
 *
 * Hyphen rule: a label may not start or end with '-' (RFC 952/1123 host
 * names; libidn2 refuses it for U-labels too), reported as AM_EDOMAIN_CHAR
 * whatever the label's script. "--" in positions 3-4 is allowed in ASCII
 * labels (see convert_label).
 */
static int check_converted(const char *s, size_t n, char *why, size_t whylen)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0)
			return AM_ELABEL_EMPTY;
		if (len > AM_LABEL_MAX)
			return AM_ELABEL_LONG;
		for (size_t k = start; k < i; k++) {
			if (s[k] == '*')
				return AM_EDOMAIN_WILDCARD;
			if (!is_ldh_((unsigned char)s[k]))
				return bad_char((unsigned char)s[k], why, whylen);
		}
		if (s[start] == '-' || s[i - 1] == '-') {
			char q[QUOTE_MAX + 8];
			char label[AM_LABEL_MAX + 1];
			memcpy(label, s + start, len);
			label[len] = '\0';
			quote(label, q, sizeof q);
			snprintf(why, whylen, "label `%s' has a %s hyphen", q, s[start] == '-' ? "leading" : "trailing");
			return AM_EDOMAIN_CHAR;
		}
		start = i + 1;
	}
	if (n > AM_DOMAIN_MAX)
		return AM_EDOMAIN_LONG;
	if (ends_in_number(s, n))
		return AM_EDOMAIN_IP;
	return 0;
}

/*
 * The code point at s if it is one UTS #46 maps to nothing ("ignored")
 * and shows nothing: soft hyphen, combining grapheme joiner, Mongolian
 * free variation selectors, zero width space, word joiner and invisible
 * operators, BOM, shorthand format controls; else 0. `pay<U+200B>pal.com'
 * (an &shy; or a ZWSP copied from a web page) would otherwise become
 * `paypal.com' - a flag on the brand, from text that showed none. Variation
 * selectors (U+FE0F after an emoji, as phones type it) and ZWJ/ZWNJ (kept,
 * and checked by CONTEXTJ) are not in the list: they change no name.
 */
static uint32_t invisible_at(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	if (n >= 2 && (u[0] & 0xe0) == 0xc0)
		cp = (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
	else if (n >= 3 && (u[0] & 0xf0) == 0xe0)
		cp = (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
	else if (n >= 4 && (u[0] & 0xf8) == 0xf0)
		cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 | (uint32_t)(u[2] & 0x3f) << 6 |
		     (u[3] & 0x3f);
	else
		return 0; /* a continuation byte, or broken UTF-8: libidn2 says */
	if (cp == 0xad || cp == 0x34f || (cp >= 0x180b && cp <= 0x180f) || cp == 0x200b ||
	    (cp >= 0x2060 && cp <= 0x2064) || cp == 0xfeff || (cp >= 0x1bca0 && cp <= 0x1bca3))
		return cp;
	return 0;
}

/*
 * Names that are, or are under, a suffix reserved for use outside the
 * public DNS: a flag on one can only hit someone's own machine or network
 * (a printer.local, nas.lan), or an answer no resolver ever gets from the
 * root. The public suffix list does not cover these: it treats "local" or
 * "test" as unknown single labels, so "printer.local" looks registrable.
 * Most specific first ("home.arpa" before "arpa"). `example' (RFC 6761)
 * and example.com/.net/.org are deliberately absent: they are the
 * documentation names this project's tests, demo and README use as
 * stand-ins for real ones, and no real feed flags them (README "Names").
 */
static const struct {
	const char *suffix, *why;
	bool rpz_trigger; /* one of RPZ's trigger labels (domain_is_rpz_trigger) */
} special_use[] = {
	{"localhost", "RFC 6761 reserves it for the loopback host: it names the machine itself", false},
	{"invalid", "RFC 6761 reserves it as a name that never resolves", false},
	{"test", "RFC 6761 reserves it for testing; it is never delegated", false},
	{"local", "RFC 6762 reserves it for Multicast DNS on the local link", false},
	{"onion", "RFC 7686 reserves it for Tor onion services, which the DNS never resolves", false},
	{"home.arpa", "RFC 8375 reserves it for home networks", false},
	{"arpa", "RFC 3172 reserves it for infrastructure (reverse DNS: in-addr.arpa, ip6.arpa; ENUM)", false},
	{"alt", "RFC 9476 reserves it for name systems other than the DNS", false},
	{"internal", "ICANN reserved it for private use in 2024 (SAC113; board resolution of 29 July 2024)", false},
	/* RFC 6762 appendix G: TLDs private networks use without a reservation */
	{"lan", "a private top-level name home and office networks use (RFC 6762 appendix G); it never resolves publicly", false},
	{"home", "a private top-level name home networks use (RFC 6762 appendix G); it never resolves publicly", false},
	{"corp", "a private top-level name office networks use (RFC 6762 appendix G); it never resolves publicly", false},
	{"intranet", "a private top-level name office networks use (RFC 6762 appendix G); it never resolves publicly", false},
	{"private", "a private top-level name networks use (RFC 6762 appendix G); it never resolves publicly", false},
	{"localdomain", "the local domain of Unix hosts files (localhost.localdomain); it never resolves publicly", false},
	/* RPZ's trigger labels (draft-ietf-dnsop-dns-rpz, section 4; BIND and
	 * Unbound read the last label of an owner relative to the zone): in
	 * a response policy zone NAME.rpz-ip.ZONE is no rule on a name but on
	 * every answer holding an address - `0.0.0.0.0.rpz-ip' (0.0.0.0/0)
	 * blocked every IPv4 answer at every resolver taking the zone. No
	 * such TLD exists (ASCII TLDs are letters only). */
	{"rpz-ip",
	 "a trigger label of response policy zones: a rule NAME.rpz-ip.ZONE there applies to the addresses in answers, "
	 "not to a name (no such top-level domain exists)",
	 true},
	{"rpz-nsip",
	 "a trigger label of response policy zones: a rule NAME.rpz-nsip.ZONE there applies to the addresses of the name servers asked, "
	 "not to a name (no such top-level domain exists)",
	 true},
	{"rpz-nsdname",
	 "a trigger label of response policy zones: a rule NAME.rpz-nsdname.ZONE there applies to the names of the name servers asked, "
	 "not to a name (no such top-level domain exists)",
	 true},
	{"rpz-client-ip",
	 "a trigger label of response policy zones: a rule NAME.rpz-client-ip.ZONE there applies to the addresses of the clients asking, "
	 "not to a name (no such top-level domain exists)",
	 true},
};

/* The entry of special_use that normalised name n (len octets) is or is
 * under, or -1. */
static int special_use_of(const char *n, size_t len)
{
	for (size_t i = 0; i < sizeof special_use / sizeof *special_use; i++) {
		size_t sl = strlen(special_use[i].suffix);
		if (len == sl ? memcmp(n, special_use[i].suffix, sl) == 0
		              : len > sl && n[len - sl - 1] == '.' && memcmp(n + len - sl, special_use[i].suffix, sl) == 0)
			return (int)i;
	}
	return -1;
}

/* "`printer.local': a special-use name, never a public site (.local: RFC
 * 6762 reserves it ...)" - the suffix and what reserves it. */
static int refuse_special(int i, const char *raw, char *err, size_t errlen)
{
	char why[384];
	snprintf(why, sizeof why, "%s (.%s: %s)", am_strerror(AM_ESPECIAL_USE), special_use[i].suffix,
	         special_use[i].why);
	return refuse_why(AM_ESPECIAL_USE, raw, why, err, errlen);
}

bool domain_is_special_use(const char *normalised)
{
	return normalised && special_use_of(normalised, strlen(normalised)) >= 0;
}

bool domain_is_rpz_trigger(const char *normalised)
{
	int i = normalised ? special_use_of(normalised, strlen(normalised)) : -1;
	return i >= 0 && special_use[i].rpz_trigger;
}

static size_t dot_at(const char *in, size_t i, size_t n);

/* Both public normalisers: `suffix' strips one leading dot as well and skips
 * the public-suffix rule (step 5), everything else is shared so a suffix in
 * a policy and a name in the store can never be spelled differently. */
enum mode {
	M_NAME,   /* domain_normalise: every step */
	M_SUFFIX, /* domain_normalise_suffix: one leading dot, steps 5 and 6 skipped */
	M_HELD,   /* domain_normalise_held: steps 5 and 6 refuse but leave out filled */
};

static int normalise(const char *in, char out[AM_DOMAIN_MAX + 1], enum mode mode, char *err, size_t errlen)
{
	bool suffix = mode == M_SUFFIX;
	char buf[2 * DOMAIN_INPUT_MAX];
	const char *raw = in; /* what messages quote, leading dot included */
	size_t n, len = 0;
	int rc, idn_rc = 0;

	if (out)
		out[0] = '\0';
	if (!in || !out)
		return refuse(AM_EINVAL, in, NULL, err, errlen);
	if (!suffix && !get_psl())
		return refuse(AM_EIO, in, "public suffix list unavailable", err, errlen);

	/* Step 1, on the raw bytes: size, emptiness, wildcards, addresses. */
	n = strnlen(in, DOMAIN_INPUT_MAX + 1);
	if (n > DOMAIN_INPUT_MAX)
		return refuse(AM_ETOOBIG, in, NULL, err, errlen);
	if (n == 0)
		return refuse(AM_EDOMAIN_EMPTY, in, NULL, err, errlen);
	if (memchr(in, '*', n))
		return refuse(AM_EDOMAIN_WILDCARD, in, NULL, err, errlen);
	if (is_ipv6_literal(in, n))
		return refuse(AM_EDOMAIN_IP, in, NULL, err, errlen);
	/* A URL pasted where a name goes was refused for its `:' as a character
	 * a host name may not hold, which named neither the URL nor the name. */
	char url_host[QUOTE_MAX + 1];
	if (domain_url_host(in, url_host, sizeof url_host)) {
		char why[QUOTE_MAX + 200], qh[QUOTE_MAX + 8];
		quote(url_host, qh, sizeof qh);
		snprintf(why, sizeof why, "a URL, not a domain name%s%s%s", url_host[0] ? ": its host is `" : "", qh,
		         url_host[0] ? "'" : "");
		return refuse_why(AM_EDOMAIN_CHAR, in, why, err, errlen);
	}
	/* Whitespace and controls are refused, never trimmed: a name pasted with
	 * junk around it is a caller bug worth seeing. Non-ASCII is libidn2's,
	 * but for the invisible characters UTS #46 would drop (below). */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c < 0x80 && c != '.' && !is_ldh_(c)) {
			char why[128];
			return refuse_why(bad_char(c, why, sizeof why), in, why, err, errlen);
		}
		uint32_t cp;
		if (c >= 0x80 && (cp = invisible_at(in + i, n - i)) != 0) {
			char why[200];
			snprintf(why, sizeof why, "U+%04X, an invisible character browsers drop, is not allowed in a host name: "
			         "the name would silently become another", (unsigned)cp);
			return refuse_why(AM_EDOMAIN_CHAR, in, why, err, errlen);
		}
	}

	/* Step 2: the root's dot, once; "a.com.." keeps an empty label. A
	 * suffix may also be written ".asia", as in "anything under .asia"
	 * (an ASCII dot only: in an allowlist a leading '.' means "the names
	 * below", which allowlist.c reads before this). The full stops UTS
	 * #46 maps to '.' are the root's dot too, as they are dots between
	 * labels and in a query: "a.com。" is a.com (it was refused as an
	 * empty label, while `amesh query' of the same text found a.com). */
	if (suffix && in[0] == '.') {
		in++;
		n--;
	}
	if (n >= 3 && dot_at(in, n - 3, n) == 3)
		n -= 3;
	else if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0)
		return refuse(AM_EDOMAIN_EMPTY, raw, NULL, err, errlen);
	if (ends_in_number(in, n))
		return refuse(AM_EDOMAIN_IP, raw, NULL, err, errlen);

	/* Step 3: label by label to A-labels, lower-cased. */
	for (size_t start = 0, i = 0; i <= n; i++) {
		if (i < n && in[i] != '.')
			continue;
		if (i == start)
			return refuse(AM_ELABEL_EMPTY, raw, NULL, err, errlen);
		if (start > 0)
			buf[len++] = '.';
		rc = convert_label(in + start, i - start, buf, sizeof buf, &len, &idn_rc);
		if (rc == AM_EIO) {
			char why[512];
			icu_missing(why, sizeof why);
			return refuse_why(rc, raw, why, err, errlen);
		}
		if (rc != 0)
			return refuse(rc, raw, idn_rc ? idn2_strerror(idn_rc) : NULL, err, errlen);
		start = i + 1;
	}

	/* Steps 4, 5 and 6: limits after conversion, then the special-use
	 * and the public-suffix rules. Special use first: "localhost" is a
	 * public suffix only by the default rule, and what reserves it says
	 * more. */
	char why[160] = "";
	if ((rc = check_converted(buf, len, why, sizeof why)) != 0)
		return refuse_why(rc, raw, why, err, errlen);
	int su;
	rc = 0;
	if (!suffix && (su = special_use_of(buf, len)) >= 0)
		rc = refuse_special(su, raw, err, errlen);
	else if (!suffix && domain_is_public_suffix(buf))
		rc = refuse(AM_EPUBLIC_SUFFIX, raw, NULL, err, errlen);
	/* a name refused only by the rules on what it is (not how it is
	 * spelled) still has its one spelling, which recourse looks up */
	if (rc == 0 || mode == M_HELD)
		memcpy(out, buf, len + 1);
	return rc;
}

int domain_normalise(const char *in, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen)
{
	return normalise(in, out, M_NAME, err, errlen);
}

int domain_normalise_suffix(const char *in, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen)
{
	return normalise(in, out, M_SUFFIX, err, errlen);
}

int domain_normalise_held(const char *in, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen)
{
	return normalise(in, out, M_HELD, err, errlen);
}

/* Fails closed: without a list, or for "", everything counts as a suffix,
 * so nothing is accepted or matched by accident. */
bool domain_is_public_suffix(const char *normalised)
{
	const psl_ctx_t *psl = get_psl();

	if (!psl || !normalised || !*normalised)
		return true;
	return psl_is_public_suffix2(psl, normalised, PSL_TYPE_ANY) != 0;
}

bool domain_is_listed_suffix(const char *normalised)
{
	const psl_ctx_t *psl = get_psl();

	if (!psl || !normalised || !*normalised)
		return false;
	return psl_is_public_suffix2(psl, normalised, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

size_t domain_match_candidates(const char *normalised, const char **out, size_t max)
{
	size_t n = 0;

	if (!normalised || !out)
		return 0;
	for (const char *p = normalised; p && n < max;) {
		/* nothing stored holds a backslash (an escaped label) or is
		 * longer than 253 octets (a converted query name can be) */
		if (!strchr(p, '\\') && strlen(p) <= AM_DOMAIN_MAX) {
			if (domain_is_public_suffix(p))
				break;
			out[n++] = p;
		}
		if ((p = strchr(p, '.')) != NULL)
			p++;
	}
	return n;
}

/* The label of name ending at end (exclusive): its start. */
static const char *label_start(const char *name, const char *end)
{
	const char *p = end;
	while (p > name && p[-1] != '.')
		p--;
	return p;
}

int domain_cmp_labels(const char *a, const char *b)
{
	const char *ae = a + strlen(a), *be = b + strlen(b);

	for (;;) {
		if (ae <= a || be <= b)
			return (ae > a) - (be > b);
		const char *as = label_start(a, ae), *bs = label_start(b, be);
		size_t al = (size_t)(ae - as), bl = (size_t)(be - bs);
		int c = memcmp(as, bs, al < bl ? al : bl);
		if (c != 0)
			return c;
		if (al != bl)
			return al < bl ? -1 : 1;
		ae = as > a ? as - 1 : a;
		be = bs > b ? bs - 1 : b;
		if (as == a || bs == b)
			return (as > a) - (bs > b);
	}
}

/*
 * The list's rules as names, in domain_cmp_labels order, for
 * domain_suffixes_below. libpsl answers "is this a suffix" but lists
 * nothing, so the rules are read from the list's text; each is checked
 * against the loaded list (the newer of it and the built-in one), so a
 * rule the loaded list lacks is never named.
 */
static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char **v;
	size_t n;
	bool loaded;
} rules;

static int cmp_rule(const void *x, const void *y)
{
	return domain_cmp_labels(*(char *const *)x, *(char *const *)y);
}

/* Under rules_lock. Out of memory or no file: the rules read so far. */
static void rules_load(void)
{
	const char *path = psl_builtin_filename();
	char line[1024], norm[AM_DOMAIN_MAX + 1];
	size_t cap = 0;
	FILE *f;

	rules.loaded = true;
	if (!path || (f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		/* a rule is the line up to its first blank; "//" comments */
		size_t n = strcspn(line, " \t\r\n");
		line[n] = '\0';
		const char *r = line;
		if (n == 0 || r[0] == '/' || r[0] == '!')
			continue;
		if (r[0] == '*' && r[1] == '.')
			r += 2;
		if (domain_normalise_suffix(r, norm, NULL, 0) != 0 || !domain_is_public_suffix(norm))
			continue;
		if (rules.n == cap) {
			size_t ncap = cap ? 2 * cap : 1024;
			char **nv = realloc(rules.v, ncap * sizeof *nv);
			if (!nv)
				break;
			rules.v = nv;
			cap = ncap;
		}
		if ((rules.v[rules.n] = strdup(norm)) == NULL)
			break;
		rules.n++;
	}
	fclose(f);
	if (rules.n > 1)
		qsort(rules.v, rules.n, sizeof *rules.v, cmp_rule);
	/* "*.ck" and "ck" are one name */
	size_t k = 0;
	for (size_t i = 0; i < rules.n; i++) {
		if (k > 0 && strcmp(rules.v[k - 1], rules.v[i]) == 0) {
			free(rules.v[i]);
			continue;
		}
		rules.v[k++] = rules.v[i];
	}
	rules.n = k;
}

static void rules_free(void)
{
	pthread_mutex_lock(&rules_lock);
	for (size_t i = 0; i < rules.n; i++)
		free(rules.v[i]);
	free(rules.v);
	rules.v = NULL;
	rules.n = 0;
	rules.loaded = false;
	pthread_mutex_unlock(&rules_lock);
}

int domain_suffixes_below(const char *normalised, int (*fn)(void *arg, const char *name), void *arg)
{
	size_t pl, lo = 0, hi;
	int rv = 0;

	if (!normalised || !fn || !*normalised)
		return 0;
	pl = strlen(normalised);
	pthread_mutex_lock(&rules_lock);
	if (!rules.loaded)
		rules_load();
	/* the first rule after the name in the order: the run below it */
	hi = rules.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (domain_cmp_labels(rules.v[mid], normalised) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < rules.n && rv == 0; i++) {
		const char *s = rules.v[i];
		size_t n = strlen(s);
		if (!(n > pl + 1 && s[n - pl - 1] == '.' && memcmp(s + n - pl, normalised, pl) == 0))
			break;
		rv = fn(arg, s);
	}
	pthread_mutex_unlock(&rules_lock);
	return rv;
}

bool domain_reaches(const char *name, const char *ancestor)
{
	if (!name || !ancestor || ancestor < name || ancestor > name + strlen(name))
		return false;
	if (ancestor == name)
		return true;
	if (ancestor[-1] != '.')
		return false;
	for (const char *p = name; p && p <= ancestor; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
		if (domain_is_public_suffix(p))
			return false;
	return true;
}

/* One label of a query name: n octets at off in the name's octet buffer.
 * Raw, a label may be longer than 63 octets (see parse_presentation). */
struct qlabel {
	size_t off, n;
};

/* A query name's octets, unescaped: never more than its input. */
struct qname {
	unsigned char o[DOMAIN_INPUT_MAX];
	struct qlabel labels[DOMAIN_LABELS_MAX + 1];
	size_t nlabels;
};

/*
 * The length of the label separator at in[i], or 0. Besides '.', the three
 * full stops UTS #46 maps to '.' (U+3002 IDEOGRAPHIC, U+FF0E FULLWIDTH,
 * U+FF61 HALFWIDTH IDEOGRAPHIC), unescaped: a submission of
 * "login。evil.example" stores login.evil.example (as a browser
 * resolves it), so a query of the same text must walk the same parents.
 * Escaped, their octets stay octets ("\227\128\130"), as a resolver's
 * question holds them.
 */
static size_t dot_at(const char *in, size_t i, size_t n)
{
	static const char *const idn_dots[] = {"\xe3\x80\x82", "\xef\xbc\x8e", "\xef\xbd\xa1"};

	if (in[i] == '.')
		return 1;
	for (size_t k = 0; k < sizeof idn_dots / sizeof idn_dots[0]; k++)
		if (i + 3 <= n && memcmp(in + i, idn_dots[k], 3) == 0)
			return 3;
	return 0;
}

/*
 * Parses presentation format into labels. Returns 0 or an am_err with why.
 *
 * No length rule here but the raw cap (DOMAIN_INPUT_MAX, checked by the
 * caller; unescaping never lengthens): RFC 1035's 63 and 253 octets bind
 * the name as the DNS carries it, which for a U-label is its A-label
 * (RFC 5890 section 2.3.2.1, RFC 5891 section 4.2), and UTS #46 mapping
 * can shorten a label a lot ("𝙀", four octets, is "e"). Limiting the
 * typed octets refused queries for names a submission stores (found by
 * fuzz_domain); render_name applies the limits to what it emits.
 */
static int parse_presentation(const char *in, size_t n, struct qname *q, char *why, size_t whylen)
{
	size_t k = 0, used = 0;

	q->nlabels = 0;
	for (size_t i = 0; i < n;) {
		struct qlabel *l = &q->labels[k];
		l->off = used;
		l->n = 0;
		while (i < n && dot_at(in, i, n) == 0) {
			unsigned char c = (unsigned char)in[i++];
			if (c == '\\') {
				if (i >= n) {
					snprintf(why, whylen, "a backslash ends the name (escapes are \\DDD or \\X)");
					return AM_EDOMAIN_CHAR;
				}
				if (is_digit((unsigned char)in[i])) {
					if (i + 3 > n || !is_digit((unsigned char)in[i + 1]) || !is_digit((unsigned char)in[i + 2])) {
						snprintf(why, whylen, "a \\DDD escape needs three decimal digits");
						return AM_EDOMAIN_CHAR;
					}
					unsigned v = (unsigned)(in[i] - '0') * 100 + (unsigned)(in[i + 1] - '0') * 10 +
					             (unsigned)(in[i + 2] - '0');
					if (v > 255) {
						snprintf(why, whylen, "escape \\%.3s is above 255", in + i);
						return AM_EDOMAIN_CHAR;
					}
					c = (unsigned char)v;
					i += 3;
				} else {
					c = (unsigned char)in[i++];
				}
			}
			/* cannot happen while n <= DOMAIN_INPUT_MAX; kept so
			 * the buffer's bound is checked where it is written */
			if (used == sizeof q->o)
				return AM_ETOOBIG;
			q->o[used++] = c;
			l->n++;
		}
		if (l->n == 0)
			return AM_ELABEL_EMPTY;
		k++;
		if (i < n)
			i += dot_at(in, i, n); /* the dot; a final one is the root's */
		/* every label is at least one octet converted too, so 128
		 * labels are past 253 octets in any form */
		if (i < n && k == DOMAIN_LABELS_MAX + 1)
			return AM_EDOMAIN_LONG;
	}
	q->nlabels = k;
	return 0;
}

/* Appends one label in query form. convert: whether non-ASCII labels may
 * become A-labels; *octets grows by the wire octets of what was appended
 * (see domain_normalise_query). Returns 0; AM_ELABEL_LONG for a label
 * that is over 63 octets as it would be emitted (an A-label over 63, or
 * raw octets over 63 that are not converted); AM_EDOMAIN_LONG when out
 * would overflow. */
static int render_label(const unsigned char *raw, size_t n, char *out, size_t cap, size_t *len, bool convert,
                        size_t *octets)
{
	unsigned char low[DOMAIN_INPUT_MAX];
	char conv[2 * DOMAIN_INPUT_MAX];
	bool plain = true, idn = false;
	size_t clen = 0;
	int idn_rc = 0;

	for (size_t i = 0; i < n; i++) {
		low[i] = ascii_lower(raw[i]);
		if (low[i] >= 0x80)
			idn = true;
		else if (!is_ldh_(low[i]))
			plain = false;
	}
	if (!plain)
		idn = false;
	if (plain && !idn) {
		if (n > AM_LABEL_MAX)
			return AM_ELABEL_LONG;
		if (*len + n >= cap)
			return AM_EDOMAIN_LONG;
		memcpy(out + *len, low, n);
		*len += n;
		*octets += n;
		return 0;
	}
	/* non-ASCII and nothing else odd: the submission's conversion, when
	 * it gives a label a stored name could hold */
	if (convert && idn && convert_label((const char *)low, n, conv, sizeof conv, &clen, &idn_rc) == 0 && clen > 0 &&
	    clen <= AM_LABEL_MAX && !memchr(conv, '.', clen)) {
		bool ok = true;
		for (size_t i = 0; i < clen; i++)
			ok &= is_ldh_((unsigned char)conv[i]);
		if (ok) {
			if (*len + clen >= cap)
				return AM_EDOMAIN_LONG;
			memcpy(out + *len, conv, clen);
			*len += clen;
			*octets += clen;
			return 0;
		}
	}
	/* left as octets: what a DNS question would carry, so RFC 1035's
	 * label limit applies to them as they are */
	if (n > AM_LABEL_MAX)
		return AM_ELABEL_LONG;
	for (size_t i = 0; i < n; i++) {
		if (*len + 4 >= cap)
			return AM_EDOMAIN_LONG;
		if (is_ldh_(low[i]))
			out[(*len)++] = (char)low[i];
		else
			*len += (size_t)snprintf(out + *len, cap - *len, "\\%03u", low[i]);
	}
	*octets += n;
	return 0;
}

/* Renders every label; 0, or render_label's refusal, or AM_EDOMAIN_LONG
 * for a name over 253 octets as emitted. out is "" on failure. */
static int render_name(const struct qname *q, bool convert, char *out)
{
	size_t len = 0, octets = 0;
	int rc;

	out[0] = '\0';
	for (size_t k = 0; k < q->nlabels; k++) {
		if (k) {
			out[len++] = '.';
			octets++;
		}
		rc = render_label(q->o + q->labels[k].off, q->labels[k].n, out, AM_QNAME_MAX + 1, &len, convert, &octets);
		if (rc != 0)
			goto fail;
	}
	if (octets > AM_DOMAIN_MAX) {
		rc = AM_EDOMAIN_LONG;
		goto fail;
	}
	out[len] = '\0';
	return 0;
fail:
	out[0] = '\0';
	return rc;
}

int domain_normalise_query(const char *in, char out[AM_QNAME_MAX + 1], char *err, size_t errlen)
{
	struct qname *q = NULL;
	char why[128] = "";
	const char *raw = in;
	size_t n;
	int rc;

	if (out)
		out[0] = '\0';
	if (!in || !out)
		return refuse(AM_EINVAL, in, NULL, err, errlen);
	n = strnlen(in, DOMAIN_INPUT_MAX + 1);
	if (n > DOMAIN_INPUT_MAX)
		return refuse(AM_ETOOBIG, in, NULL, err, errlen);
	/* Unescaped blanks around a name are no part of it (presentation
	 * format: a blank ends a name; one in it is "\032"). Left on, a
	 * resolver log's "www.evil.example " became a name under "example "
	 * and silently missed its flagged parent. Blanks inside stay octets. */
	while (n > 0 && (in[0] == ' ' || in[0] == '\t')) {
		in++;
		n--;
	}
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t')) {
		size_t bs = 0;
		while (bs + 1 < n && in[n - 2 - bs] == '\\')
			bs++;
		if (bs % 2 == 1)
			break; /* "a\ ": an escaped blank is an octet of the name */
		n--;
	}
	if (n == 0)
		return refuse(AM_EDOMAIN_EMPTY, raw, NULL, err, errlen);
	if (dot_at(in, 0, n) == n) {
		memcpy(out, ".", 2);
		return 0;
	}
	/* 128 labels and 1 KiB of octets: off the stack of a mesh thread */
	if ((q = malloc(sizeof *q)) == NULL)
		return refuse(AM_ENOMEM, raw, NULL, err, errlen);
	if ((rc = parse_presentation(in, n, q, why, sizeof why)) != 0) {
		rc = refuse_why(rc, raw, why, err, errlen);
		goto done;
	}
	/*
	 * A-labels can be longer (or shorter) than the UTF-8 they convert, and
	 * the query form must be a fixed point: normalising it again gives it
	 * back. Converting label by label against a running budget was not
	 * (found twice by fuzz_domain: a name past 253 octets, then one whose
	 * later, shorter A-labels freed room on the second pass). So it is all
	 * or nothing: every convertible label converted if the whole name still
	 * fits 253 octets, else none (escaped octets, what the question holds).
	 * The converted form, normalised again, converts nothing new and keeps
	 * its length; the escaped one makes the same choice again. When
	 * neither fits, the converted form's reason is the one that counts: it
	 * is the name a submission would judge.
	 */
	if ((rc = render_name(q, true, out)) != 0 && render_name(q, false, out) == 0)
		rc = 0;
	if (rc != 0)
		rc = refuse(rc, raw, NULL, err, errlen);
done:
	free(q);
	return rc;
}

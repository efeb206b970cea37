/* fuzz_domain.c - fuzz target for domain_normalise(), domain_normalise_held() and domain_match_candidates(). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "fuzz.h"

static bool valid_output(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > AM_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > AM_LABEL_MAX || s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		label++;
	}
	return true;
}

/* An error message is one line of printable ASCII, starting with the quote. */
static bool valid_err(const char *err)
{
	if (err[0] != '`')
		return false;
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

static void check_candidates(const char *name, bool normalised)
{
	const char *c[DOMAIN_LABELS_MAX + 1];
	size_t n = domain_match_candidates(name, c, DOMAIN_LABELS_MAX + 1);
	size_t len = strlen(name);

	if (normalised && (n == 0 || c[0] != name))
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t cl = strlen(c[i]);
		/* each a suffix of the name at a label boundary, shorter each time */
		if (c[i] < name || c[i] + cl != name + len)
			abort();
		if (c[i] != name && c[i][-1] != '.')
			abort();
		if (i > 0 && c[i] <= c[i - 1])
			abort();
		if (domain_is_public_suffix(c[i]))
			abort();
	}
}

/* The query form (issue 9): refused only for what no DNS question holds;
 * otherwise printable, a fixed point, and its candidates are plain names
 * at label boundaries. The two forms judge one name alike:
 *  - whatever domain_normalise accepts, the query form accepts and spells
 *    the same (else `amesh query' cannot find a name `amesh submit'
 *    flagged: a label of 65 octets typed, 62 after UTS #46, was refused);
 *  - the length rules bind the converted name in both: a name the strict
 *    form refuses as too long (label or name) never comes out of the query
 *    form as a plain name - at most as escaped octets, which match nothing.
 * (Not every strict refusal is a query refusal: a lookup takes blanks,
 * escapes, invisible characters and suffixes a submission refuses.) */
static void check_query(const char *in, int strict_rc, const char *strict_out)
{
	char q[AM_QNAME_MAX + 1], again[AM_QNAME_MAX + 1], err[AM_ERRLEN] = "";
	const char *c[DOMAIN_LABELS_MAX];

	int rc = domain_normalise_query(in, q, err, sizeof err);
	if (rc != 0) {
		if (rc < AM_ERR_MIN || q[0] != '\0' || !valid_err(err) || strict_rc == 0)
			abort();
		if (rc != AM_EDOMAIN_EMPTY && rc != AM_ELABEL_EMPTY && rc != AM_ELABEL_LONG &&
		    rc != AM_EDOMAIN_LONG && rc != AM_EDOMAIN_CHAR && rc != AM_ETOOBIG)
			abort();
		return;
	}
	if (strlen(q) > AM_QNAME_MAX)
		abort();
	for (const char *p = q; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || (*p >= 'A' && *p <= 'Z'))
			abort();
	if (strict_rc == 0 && strcmp(q, strict_out) != 0)
		abort();
	if ((strict_rc == AM_ELABEL_LONG || strict_rc == AM_EDOMAIN_LONG) && !strchr(q, '\\'))
		abort();
	if (domain_normalise_query(q, again, NULL, 0) != 0 || strcmp(q, again) != 0)
		abort();
	size_t n = domain_match_candidates(q, c, DOMAIN_LABELS_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t off = (size_t)(c[i] - q);
		if (strchr(c[i], '\\') || strlen(c[i]) > AM_DOMAIN_MAX || (off && q[off - 1] != '.'))
			abort();
	}
}

/* The held form (recourse): the same verdict and words as the strict
 * rules; a spelling left only when steps 5 or 6 refused, and then a name
 * in normal form that is special-use or a public suffix, refused again by
 * the same rule and its own held form. */
static void check_held(const char *in, int strict_rc, const char *strict_out, const char *strict_err)
{
	char h[AM_DOMAIN_MAX + 1], again[AM_DOMAIN_MAX + 1], err[AM_ERRLEN] = "";

	memset(h, 'Z', sizeof h);
	int rc = domain_normalise_held(in, h, err, sizeof err);
	if (rc != strict_rc || (rc != 0 && strcmp(err, strict_err) != 0))
		abort();
	if (rc == 0) {
		if (strcmp(h, strict_out) != 0)
			abort();
		return;
	}
	if (rc != AM_ESPECIAL_USE && rc != AM_EPUBLIC_SUFFIX) {
		if (h[0] != '\0')
			abort();
		return;
	}
	if (!valid_output(h) || (rc == AM_ESPECIAL_USE) != domain_is_special_use(h) ||
	    (rc == AM_EPUBLIC_SUFFIX && !domain_is_public_suffix(h)))
		abort();
	if (domain_normalise_held(h, again, NULL, 0) != rc || strcmp(h, again) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[DOMAIN_INPUT_MAX + 16], out[AM_DOMAIN_MAX + 1], again[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];

	/* Keep inputs just over the cap so AM_ETOOBIG is reached too. */
	if (size > sizeof in - 1)
		size = sizeof in - 1;
	memcpy(in, data, size);
	in[size] = '\0';

	memset(out, 'Z', sizeof out);
	err[0] = '\0';
	int rc = domain_normalise(in, out, err, sizeof err);
	check_query(in, rc, out);
	check_held(in, rc, out, err);
	if (rc != 0) {
		if (rc < AM_ERR_MIN || out[0] != '\0' || !valid_err(err))
			abort();
		check_candidates(in, false);
		return 0;
	}
	if (!valid_output(out) || domain_is_public_suffix(out) || domain_is_special_use(out))
		abort();
	if (domain_normalise(out, again, NULL, 0) != 0 || strcmp(out, again) != 0)
		abort();
	check_candidates(out, true);
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		"example.com",
		"WWW.Example.COM.",
		"a.b.evil.example",
		"x.evil.co.uk",
		"foo.github.io",
		"_dmarc.example.com",
		"münchen.de",
		"xn--mnchen-3ya.de",
		"пример.рф",
		"例え.jp",
		"r3---sn-4g5e6nzz.googlevideo.com",
		"*.example.com",
		"192.0.2.1",
		"[2001:db8::1]",
		"a..b",
		"co.uk",
		"xn--57h.ws",
		"😀.com",
		"My\\032Printer.evil.example",
		"-cdn.evil-parent.com",
		"x\\.y.example.",
		"p\xd0\xb0ypal.com",
		"Printer.LOCAL.",
		"nas.lan",
	};
	size_t nfixed = sizeof seeds / sizeof seeds[0], n;

	/* Then names at the length limits, so mutants cross them: a 63-octet
	 * label, a 253-octet name, and input at DOMAIN_INPUT_MAX. */
	if (i >= nfixed) {
		static const size_t lens[] = {63 + 3, AM_DOMAIN_MAX, DOMAIN_INPUT_MAX};
		if (i - nfixed >= sizeof lens / sizeof lens[0])
			return 0;
		n = lens[i - nfixed] < cap ? lens[i - nfixed] : cap;
		memset(buf, 'a', n);
		/* labels of 63 with a ".de" tail: "aaa...a.aaa...a.de" */
		for (size_t k = 63; k + 1 < n; k += 64)
			buf[k] = '.';
		if (n >= 3)
			memcpy(buf + n - 3, ".de", 3);
		return n;
	}
	n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}

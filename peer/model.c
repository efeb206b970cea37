/* model.c - names, checks and error strings for the shared data model. */
#include "model.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

static const char *const err_names[] = {
	[0] = "success",
	[-AM_ENOMEM] = "out of memory",
	[-AM_EINVAL] = "invalid argument",
	[-AM_EIO] = "I/O error",
	[-AM_ETOOBIG] = "input exceeds its size limit",
	[-AM_EDECODE] = "malformed message",
	[-AM_ESIG] = "signature does not verify",
	[-AM_ECATEGORY] = "unknown category (expected phishing, malware, botnet, pharming or spam)",
	[-AM_ECONFIDENCE] = "confidence must be an integer from 0 to 100",
	[-AM_EEXPIRED] = "expiry is not in the future",
	[-AM_ELIFETIME] = "expiry is beyond the maximum lifetime",
	[-AM_EDOMAIN_EMPTY] = "domain is empty",
	[-AM_EDOMAIN_LONG] = "domain is longer than 253 octets",
	[-AM_ELABEL_LONG] = "a label is longer than 63 octets",
	[-AM_ELABEL_EMPTY] = "domain has an empty label",
	[-AM_EDOMAIN_CHAR] = "domain has a character other than letters, digits, '-' or '_'",
	[-AM_EDOMAIN_IP] = "an IP address is not a domain name",
	[-AM_EDOMAIN_WILDCARD] = "wildcards are not allowed",
	[-AM_EDOMAIN_IDN] = "not a valid internationalised domain name (IDNA2008)",
	[-AM_EPUBLIC_SUFFIX] = "domain is a public suffix; flagging a whole suffix is never proportionate",
	[-AM_ENOTFOUND] = "not found",
	[-AM_EEXIST] = "already exists",
	[-AM_EMAPFULL] = "store is full (raise map_size)",
	[-AM_ESTORE] = "storage error",
	[-AM_EKEY] = "key is malformed or unusable",
	[-AM_EPERM] = "unsafe file permissions",
	[-AM_EPROTO] = "protocol version mismatch",
	[-AM_ECONFIG] = "configuration error",
	[-AM_ETLP] = "unknown sharing level (expected clear, green, amber, amber+strict or red)",
	[-AM_EORIGIN] = "origin key is malformed or not allowed",
	[-AM_EPASSPHRASE] = "wrong passphrase or corrupted secret key",
	[-AM_ETIME] = "cannot parse time or duration",
	[-AM_ECONNECT] = "cannot reach the daemon",
	[-AM_EFORMAT] = "unsupported indicator format",
	[-AM_EREPLAY] = "replayed message",
	[-AM_EHANDSHAKE] = "handshake failed",
	[-AM_EUNTRUSTED] = "key is not trusted (not pinned, or revoked)",
	[-AM_EPOLICY] = "refused by sharing policy",
	[-AM_EOVERRUN] = "fell behind the live feed and was dropped",
	[-AM_ENOSPC] = "no space left for the store",
	[-AM_ESPECIAL_USE] = "a special-use name, never a public site",
};

const char *am_strerror(int err)
{
	if (err > 0 || err < AM_ERR_MIN || err_names[-err] == NULL)
		return "unknown error";
	return err_names[-err];
}

static const char *const cat_names[AM_CAT_COUNT] = {
	"none", "phishing", "malware", "botnet", "pharming", "spam",
};

static const char *const tlp_names[AM_TLP_COUNT] = {
	"none", "clear", "green", "amber", "amber+strict", "red",
};

int am_category_parse(const char *s, enum am_category *out)
{
	/* Case does not matter, as for TLP: `--category Phishing' and a
	 * config's `categories = Phishing' were refused while every feed
	 * format read `Phishing' as phishing */
	for (int i = 1; i < AM_CAT_COUNT; i++)
		if (s && strcasecmp(s, cat_names[i]) == 0) {
			*out = (enum am_category)i;
			return 0;
		}
	return AM_ECATEGORY;
}

const char *am_category_name(enum am_category c)
{
	return (c >= 0 && c < AM_CAT_COUNT) ? cat_names[c] : "?";
}

int am_tlp_parse(const char *s, enum am_tlp *out)
{
	if (!s)
		return AM_ETLP;
	/* Case does not matter (TLP:RED, tlp:red, Red) and the "TLP:" prefix of
	 * the standard's own spelling is accepted. */
	if (strncasecmp(s, "tlp:", 4) == 0)
		s += 4;
	for (int i = 1; i < AM_TLP_COUNT; i++)
		if (strcasecmp(s, tlp_names[i]) == 0) {
			*out = (enum am_tlp)i;
			return 0;
		}
	/* TLP 2.0 spells it AMBER+STRICT; accept the common underscore form too. */
	if (strcasecmp(s, "amber_strict") == 0) {
		*out = AM_TLP_AMBER_STRICT;
		return 0;
	}
	/* TLP 1.0 WHITE became TLP 2.0 CLEAR. */
	if (strcasecmp(s, "white") == 0) {
		*out = AM_TLP_CLEAR;
		return 0;
	}
	return AM_ETLP;
}

const char *am_tlp_name(enum am_tlp t)
{
	return (t >= 0 && t < AM_TLP_COUNT) ? tlp_names[t] : "?";
}

int am_indicator_check(const struct am_indicator *ind)
{
	if (ind->category <= AM_CAT_NONE || ind->category >= AM_CAT_COUNT)
		return AM_ECATEGORY;
	if (ind->tlp <= AM_TLP_NONE || ind->tlp >= AM_TLP_COUNT)
		return AM_ETLP;
	if (ind->confidence > 100)
		return AM_ECONFIDENCE;
	if (ind->expires_at <= ind->issued_at)
		return AM_EEXPIRED;
	if (ind->version == 0)
		return AM_EINVAL;
	return 0;
}

void am_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void am_keyid(const uint8_t pk[AM_KEY_BYTES], uint8_t id[AM_KEYID_BYTES])
{
	uint8_t h[32];
	crypto_generichash(h, sizeof h, pk, AM_KEY_BYTES, NULL, 0);
	memcpy(id, h, AM_KEYID_BYTES);
}

void am_keyid_hex(const uint8_t pk[AM_KEY_BYTES], char out[2 * AM_KEYID_BYTES + 1])
{
	uint8_t id[AM_KEYID_BYTES];
	am_keyid(pk, id);
	am_hex(id, sizeof id, out);
}

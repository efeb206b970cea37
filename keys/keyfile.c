/* keyfile.c - Ed25519 identity files: generate, load, parse, format. */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "../peer/text.h"

#define PUBLIC_PREFIX "amesh-ed25519 "
#define SECRET_HEADER "amesh-secret-key v1"
#define ALG_TAG "Ed"
#define KDF_NONE "--"
#define KDF_ARGON2ID "Ar"

/* Raw public key: "Ed" || key id || pk. */
#define PUBLIC_BIN_LEN (2 + AM_KEYID_BYTES + AM_KEY_BYTES)
#define PUBLIC_B64_LEN (sodium_base64_ENCODED_LEN(PUBLIC_BIN_LEN, sodium_base64_VARIANT_ORIGINAL) - 1)

/* Raw secret key, offsets as documented in keyfile.h. */
#define SK_OFF_ALG 0
#define SK_OFF_KDF 2
#define SK_OFF_KEYID 4
#define SK_OFF_SALT (SK_OFF_KEYID + AM_KEYID_BYTES)
#define SK_OFF_OPS (SK_OFF_SALT + crypto_pwhash_argon2id_SALTBYTES)
#define SK_OFF_MEM (SK_OFF_OPS + 8)
#define SK_OFF_NONCE (SK_OFF_MEM + 8)
#define SK_OFF_CT (SK_OFF_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
#define SK_CT_LEN (crypto_sign_SEEDBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define SECRET_BIN_LEN (SK_OFF_CT + SK_CT_LEN)
#define SECRET_B64_LEN (sodium_base64_ENCODED_LEN(SECRET_BIN_LEN, sodium_base64_VARIANT_ORIGINAL) - 1)

/* Argon2id at libsodium's "interactive" cost: ~0.1 s and 64 MiB here. The
 * limits are stored in the file, so a later version can raise them for new
 * keys while still loading old ones. */
#define KDF_OPSLIMIT crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
#define KDF_MEMLIMIT crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
/* A file is untrusted input: without caps a crafted key could make loading
 * allocate any amount of memory or run for hours. */
#define KDF_OPSLIMIT_MAX 64
#define KDF_MEMLIMIT_MAX (1ull << 30)

_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32, "AEAD key size");
_Static_assert(crypto_sign_SEEDBYTES == 32, "seed size");
_Static_assert(SECRET_BIN_LEN == 116, "secret key layout");
_Static_assert(PUBLIC_B64_LEN == 56, "public key layout");

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Prefix for messages about a named file; in-memory parses have no name. */
static const char *pfx(const char *name)
{
	return name ? name : "secret key";
}

/* Room quote needs: 40 bytes at up to 4 characters each, and "...". */
#define QUOTE_LEN (40 * 4 + 8)

/* Copies at most 40 bytes of untrusted input into out for quoting in an
 * error message. Control characters and every byte past ASCII are written
 * \xNN: the message stays one line, and what is wrong with the input is
 * seen - a byte-order mark or a zero-width space quoted as itself is
 * invisible, and the operator was shown a line that looked right. */
static const char *quote(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < 40 && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (i < n && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* Control characters would let a comment forge extra lines (or terminal
 * escapes) in files and command output; bytes >= 0x80 pass, so UTF-8 does. */
static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static void store_u64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_u64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int init(char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		seterr(err, errlen, "cannot initialise libsodium");
		return AM_EIO;
	}
	return 0;
}

/* ---- public keys ---- */

int keyfile_public_line(const uint8_t pk[AM_KEY_BYTES], const char *comment, char *out, size_t outlen)
{
	uint8_t bin[PUBLIC_BIN_LEN];
	char b64[PUBLIC_B64_LEN + 1];
	size_t clen = comment ? strlen(comment) : 0;
	int n;

	if (has_control(comment, clen))
		return AM_EINVAL;
	if (clen >= KEYFILE_COMMENT_MAX)
		return AM_ETOOBIG;
	memcpy(bin, ALG_TAG, 2);
	am_keyid(pk, bin + 2);
	memcpy(bin + 2 + AM_KEYID_BYTES, pk, AM_KEY_BYTES);
	sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, outlen, "%s%s%s%s", PUBLIC_PREFIX, b64, clen ? " " : "", clen ? comment : "");
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen)
			out[0] = '\0';
		return AM_ETOOBIG;
	}
	return 0;
}

int keyfile_parse_public(const char *line, uint8_t pk[AM_KEY_BYTES], char *comment, size_t commentlen,
                         char *err, size_t errlen)
{
	uint8_t bin[PUBLIC_BIN_LEN + 3], id[AM_KEYID_BYTES];
	char q[QUOTE_LEN];
	const char *b64, *end, *rest;
	size_t len, b64len, binlen, clen;

	if (comment && commentlen)
		comment[0] = '\0';
	/* Blanks around the line are how it was pasted or mailed, not part of
	 * the key: a line copied from a terminal or a web page with a blank
	 * before or after it, a .pub saved with Windows line ends (CRLF). They
	 * are read past rather than refused ("comment contains a control
	 * character" for the CR, "ends with a blank" for the space, "cannot open
	 * public key" for a leading blank), which sent the operator hunting for
	 * what was wrong with a key that was right. */
	while (*line == ' ' || *line == '\t')
		line++;
	len = strnlen(line, KEYFILE_LINE_MAX + 2);
	/* One trailing newline is part of a line read from a file; more is not. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	if (len > KEYFILE_LINE_MAX) {
		seterr(err, errlen, "public key line is longer than %d bytes", KEYFILE_LINE_MAX);
		return AM_ETOOBIG;
	}
	/* The tag and the key are separated by blanks, as many as a paste or
	 * a mail left, and a tab ends the key as a space does: they were
	 * counted into the base64 ("0 base64 characters", "61 ... truncated
	 * or mistyped?") of a key that was right. The key itself holds no
	 * blank, so reading past them is never a guess. */
	size_t tag = strlen(PUBLIC_PREFIX) - 1; /* "amesh-ed25519", without its space */
	if (len <= tag || memcmp(line, PUBLIC_PREFIX, tag) != 0 || (line[tag] != ' ' && line[tag] != '\t')) {
		seterr(err, errlen, "not an amesh public key: expected `amesh-ed25519 <base64> [comment]', got `%s'",
		       quote(line, len, q, sizeof q));
		return AM_EKEY;
	}
	end = line + len;
	b64 = line + tag;
	while (b64 < end && (*b64 == ' ' || *b64 == '\t'))
		b64++;
	for (rest = b64; rest < end && *rest != ' ' && *rest != '\t'; rest++)
		;
	b64len = (size_t)(rest - b64);
	if (b64len != PUBLIC_B64_LEN) {
		seterr(err, errlen, "public key is %zu base64 characters, expected %d (truncated or mistyped?): `%s'",
		       b64len, (int)PUBLIC_B64_LEN, quote(b64, b64len, q, sizeof q));
		return AM_EKEY;
	}
	if (sodium_base642bin(bin, sizeof bin, b64, b64len, NULL, &binlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen != PUBLIC_BIN_LEN) {
		seterr(err, errlen, "public key is not valid base64: `%s'", quote(b64, b64len, q, sizeof q));
		return AM_EKEY;
	}
	if (memcmp(bin, ALG_TAG, 2) != 0) {
		seterr(err, errlen, "unsupported algorithm `%s' (expected `Ed', Ed25519)",
		       quote((const char *)bin, 2, q, sizeof q));
		return AM_EKEY;
	}
	am_keyid(bin + 2 + AM_KEYID_BYTES, id);
	if (memcmp(id, bin + 2, AM_KEYID_BYTES) != 0) {
		seterr(err, errlen, "key id does not match the key (mistyped or truncated?)");
		return AM_EKEY;
	}
	/* A key of small or mixed order, or not canonically encoded, is one
	 * that libraries verify differently (about 1 signature in 8 for mixed
	 * order): never pin one, never rotate to one. */
	if (crypto_core_ed25519_is_valid_point(bin + 2 + AM_KEYID_BYTES) != 1) {
		seterr(err, errlen, "key is not a valid Ed25519 public key (small or mixed order, or "
		       "not canonical): `%s'", quote(b64, b64len, q, sizeof q));
		return AM_EKEY;
	}
	/* one blank, space or tab, ends the key: the comment is what follows,
	 * leading blanks and all, as trust.conf stores it */
	if (rest < end)
		rest++;
	clen = (size_t)(end - rest);
	if (has_control(rest, clen)) {
		seterr(err, errlen, "comment contains a control character: `%s'", quote(rest, clen, q, sizeof q));
		return AM_EKEY;
	}
	if (clen >= KEYFILE_COMMENT_MAX) {
		seterr(err, errlen, "comment is longer than %d bytes", KEYFILE_COMMENT_MAX - 1);
		return AM_EKEY;
	}
	if (comment && commentlen) {
		if (clen >= commentlen) {
			seterr(err, errlen, "comment does not fit the caller's %zu-byte buffer", commentlen);
			return AM_ETOOBIG;
		}
		memcpy(comment, rest, clen);
		comment[clen] = '\0';
	}
	memcpy(pk, bin + 2 + AM_KEYID_BYTES, AM_KEY_BYTES);
	return 0;
}

/* A line of blanks alone (spaces, tabs, a CR of a CRLF file). */
static bool blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* A .pub is small; this is room for its one line many times over, and a
 * cap on what is read of a file given by mistake. */
#define PUBLIC_FILE_MAX 4096

int keyfile_load_public(const char *path, uint8_t pk[AM_KEY_BYTES], char *comment, size_t commentlen,
                        char *err, size_t errlen)
{
	char buf[PUBLIC_FILE_MAX + 2], msg[AM_ERRLEN], q[QUOTE_LEN];
	struct stat st;
	size_t len = 0, off, lineno = 1;
	const char *line, *end, *nl;
	int fd = -1, rv;

	/* Public keys may be symlinks (a shared trust directory); no O_NOFOLLOW. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "%s: cannot open public key: %s", path, strerror(errno));
		rv = errno == ENOENT ? AM_ENOTFOUND : AM_EIO;
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		rv = AM_EKEY;
		goto fail;
	}
	/* Read one byte past the cap, so a file over it is seen as such. */
	while (len < sizeof buf - 1) {
		ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "%s: read: %s", path, strerror(errno));
			rv = AM_EIO;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	if (len > PUBLIC_FILE_MAX) {
		seterr(err, errlen, "%s: larger than %d bytes: not a public key file (one line, `%s<base64> "
		       "[comment]')", path, PUBLIC_FILE_MAX, PUBLIC_PREFIX);
		rv = AM_EKEY;
		goto fail;
	}
	if ((nl = memchr(buf, '\0', len)) != NULL) {
		seterr(err, errlen, "%s: contains a NUL byte (offset %zu); not a public key file (UTF-16? iconv -f "
		       "UTF-16 -t UTF-8)", path, (size_t)(nl - buf));
		rv = AM_EKEY;
		goto fail;
	}
	/* An editor's byte-order mark is not the key (text.h): it was quoted
	 * back as an invisible character before `amesh-ed25519'. */
	off = text_bom_len(buf, len);
	end = buf + len;
	/* Blank lines before the key are read past, as blanks around it are. */
	for (line = buf + off;; line = nl + 1, lineno++) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl || !blank_line(line, (size_t)(nl - line)))
			break;
	}
	size_t llen = (size_t)((nl ? nl : end) - line);
	if (line == end) {
		seterr(err, errlen, "%s: empty: no key in it (expected one line, `%s<base64> [comment]')", path,
		       PUBLIC_PREFIX);
		rv = AM_EKEY;
		goto fail;
	}
	/* a secret key where its public half belongs (`keys trust amesh.key'):
	 * "not an amesh public key ... got `amesh-secret-key v1 rir'" named
	 * neither the mix-up nor the file to give */
	if (strncmp(line, SECRET_HEADER, strlen(SECRET_HEADER)) == 0) {
		seterr(err, errlen, "%s: is a secret key, not a public one: give its public half, %s.pub (a secret "
		       "key stays with its peer)", path, path);
		rv = AM_EKEY;
		goto fail;
	}
	/* minisign's and signify's files are two lines, a comment and then
	 * the key: the same algorithm, another format */
	if (strncmp(line, "untrusted comment:", 18) == 0) {
		seterr(err, errlen, "%s:%zu: a minisign or signify key (`untrusted comment: ...'), not an amesh "
		       "public key: amesh keys are one line, `%s<base64> [comment]', made by `amesh keys generate'",
		       path, lineno, PUBLIC_PREFIX);
		rv = AM_EKEY;
		goto fail;
	}
	if (llen > KEYFILE_LINE_MAX + 1) {
		seterr(err, errlen, "%s:%zu: public key line is longer than %d bytes", path, lineno, KEYFILE_LINE_MAX);
		rv = AM_ETOOBIG;
		goto fail;
	}
	char keyline[KEYFILE_LINE_MAX + 2];
	memcpy(keyline, line, llen);
	keyline[llen] = '\0';
	if ((rv = keyfile_parse_public(keyline, pk, comment, commentlen, msg, sizeof msg)) != 0) {
		seterr(err, errlen, "%s:%zu: %s", path, lineno, msg);
		goto fail;
	}
	/* One key a file: anything after its line was read past, so a file of
	 * two keys (cat a.pub b.pub), or one with a stray edit, trusted its
	 * first key in silence. Blank lines at the end are an editor's. */
	for (size_t k = lineno + 1; nl && nl + 1 < end; k++) {
		const char *next = nl + 1;
		nl = memchr(next, '\n', (size_t)(end - next));
		size_t n = (size_t)((nl ? nl : end) - next);
		if (!blank_line(next, n)) {
			seterr(err, errlen, "%s:%zu: unexpected text after the key on line %zu: `%s' (a public key file "
			       "holds one key, on one line; give each key its own file)", path, k, lineno,
			       quote(next, n, q, sizeof q));
			rv = AM_EKEY;
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return rv;
}

void keyfile_fingerprint(const uint8_t pk[AM_KEY_BYTES], char *out, size_t outlen)
{
	char hex[2 * AM_KEYID_BYTES + 1];

	if (outlen < 20) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	am_keyid_hex(pk, hex);
	snprintf(out, outlen, "%.4s-%.4s-%.4s-%.4s", hex, hex + 4, hex + 8, hex + 12);
}

/* ---- secret keys ---- */

/* Does the open file start with a public-key line? Reads its first bytes
 * (a public key is no secret) and leaves the offset at 0. */
static bool is_public_key_file(int fd)
{
	char head[3 + sizeof PUBLIC_PREFIX - 1];
	ssize_t r = pread(fd, head, sizeof head, 0);
	size_t off = r > 0 ? text_bom_len(head, (size_t)r) : 0;
	return r >= (ssize_t)(off + sizeof PUBLIC_PREFIX - 1) && memcmp(head + off, PUBLIC_PREFIX, sizeof PUBLIC_PREFIX - 1) == 0;
}

/* Everything that is (or becomes) secret while a key is decoded, in one
 * sodium_malloc block so a single sodium_free wipes it all. Byte arrays only:
 * sodium_malloc does not align blocks whose size is not a multiple of 16. */
struct secret_work {
	char text[KEYFILE_SECRET_MAX + 1]; /* the file; plaintext-equivalent if unencrypted */
	uint8_t bin[SECRET_BIN_LEN];
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t seed[crypto_sign_SEEDBYTES];
	uint8_t pk[AM_KEY_BYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	char comment[KEYFILE_COMMENT_MAX];
};

/* Where a message about line `line' of a secret key points: FILE:LINE,
 * or "secret key line N" for one parsed from memory. */
static const char *at(const char *name, unsigned line, char *out, size_t outlen)
{
	if (name)
		snprintf(out, outlen, "%s:%u", name, line);
	else
		snprintf(out, outlen, "secret key line %u", line);
	return out;
}

/* Checks the text form and decodes it into w->bin and w->comment; checks
 * tags and KDF limits, decrypts nothing. As every file an operator
 * handles (text.h), a byte-order mark at the start, CRLF line ends and
 * blank lines at the end are an editor's and read past; anything else
 * after the key line is refused, naming its line. */
static int decode_secret(const char *name, const char *buf, size_t len, struct secret_work *w,
                         char *err, size_t errlen)
{
	const size_t hlen = strlen(SECRET_HEADER);
	const char *nl, *b64, *end;
	size_t clen, b64len, binlen, hdrlen, off = text_bom_len(buf, len);
	uint64_t ops, mem;
	char q[QUOTE_LEN], where[PATH_MAX + 32];

	buf += off;
	len -= off;
	end = buf + len;
	nl = len ? memchr(buf, '\n', len) : NULL;
	if (nl == NULL) {
		seterr(err, errlen, "%s: truncated: no line break after the header", at(name, 1, where, sizeof where));
		return AM_EKEY;
	}
	hdrlen = (size_t)(nl - buf);
	if (hdrlen > 0 && buf[hdrlen - 1] == '\r')
		hdrlen--;
	if (hdrlen < hlen || memcmp(buf, SECRET_HEADER, hlen) != 0 || (hdrlen != hlen && buf[hlen] != ' ')) {
		const char *hint = "";
		if (hdrlen >= strlen(PUBLIC_PREFIX) && memcmp(buf, PUBLIC_PREFIX, strlen(PUBLIC_PREFIX)) == 0)
			hint = " (this is a public key)";
		seterr(err, errlen, "%s: first line must be `%s [comment]', got `%s'%s", at(name, 1, where, sizeof where),
		       SECRET_HEADER, quote(buf, hdrlen, q, sizeof q), hint);
		return AM_EKEY;
	}
	clen = hdrlen == hlen ? 0 : hdrlen - hlen - 1;
	if (clen >= KEYFILE_COMMENT_MAX || has_control(buf + hlen + 1, clen)) {
		seterr(err, errlen, "%s: comment is longer than %d bytes or has a control character",
		       at(name, 1, where, sizeof where), KEYFILE_COMMENT_MAX - 1);
		return AM_EKEY;
	}
	memcpy(w->comment, buf + hlen + 1, clen);
	w->comment[clen] = '\0';

	/* Second line: the base64, with or without a final newline; then
	 * nothing but blank lines. */
	b64 = nl + 1;
	nl = memchr(b64, '\n', (size_t)(end - b64));
	b64len = (size_t)((nl ? nl : end) - b64);
	if (b64len > 0 && b64[b64len - 1] == '\r')
		b64len--;
	for (unsigned k = 3; nl && nl + 1 < end; k++) {
		const char *next = nl + 1;
		nl = memchr(next, '\n', (size_t)(end - next));
		size_t n = (size_t)((nl ? nl : end) - next);
		for (size_t i = 0; i < n; i++)
			if (next[i] != ' ' && next[i] != '\t' && next[i] != '\r') {
				/* not quoted: in a secret key file it may be another key */
				seterr(err, errlen, "%s: unexpected data after the key line (line 2)",
				       at(name, k, where, sizeof where));
				return AM_EKEY;
			}
	}
	if (b64len != SECRET_B64_LEN) {
		seterr(err, errlen, "%s: key line is %zu base64 characters, expected %d (truncated?)",
		       at(name, 2, where, sizeof where), b64len, (int)SECRET_B64_LEN);
		return AM_EKEY;
	}
	if (sodium_base642bin(w->bin, sizeof w->bin, b64, b64len, NULL, &binlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || binlen != SECRET_BIN_LEN) {
		seterr(err, errlen, "%s: key line is not valid base64", at(name, 2, where, sizeof where));
		return AM_EKEY;
	}
	if (memcmp(w->bin + SK_OFF_ALG, ALG_TAG, 2) != 0) {
		seterr(err, errlen, "%s: unsupported algorithm `%s' (expected `Ed', Ed25519)", at(name, 2, where, sizeof where),
		       quote((const char *)w->bin + SK_OFF_ALG, 2, q, sizeof q));
		return AM_EKEY;
	}
	ops = load_u64le(w->bin + SK_OFF_OPS);
	mem = load_u64le(w->bin + SK_OFF_MEM);
	if (memcmp(w->bin + SK_OFF_KDF, KDF_NONE, 2) == 0) {
		static const uint8_t zero_salt[crypto_pwhash_argon2id_SALTBYTES];
		if (ops != 0 || mem != 0 || memcmp(w->bin + SK_OFF_SALT, zero_salt, sizeof zero_salt) != 0) {
			seterr(err, errlen, "%s: unencrypted key has key-derivation parameters", pfx(name));
			return AM_EKEY;
		}
	} else if (memcmp(w->bin + SK_OFF_KDF, KDF_ARGON2ID, 2) == 0) {
		if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > KDF_OPSLIMIT_MAX ||
		    mem < crypto_pwhash_argon2id_MEMLIMIT_MIN || mem > KDF_MEMLIMIT_MAX) {
			seterr(err, errlen,
			       "%s: Argon2id limits out of range (opslimit %llu, memlimit %llu; at most %d and %llu)",
			       pfx(name), (unsigned long long)ops, (unsigned long long)mem, KDF_OPSLIMIT_MAX,
			       (unsigned long long)KDF_MEMLIMIT_MAX);
			return AM_EKEY;
		}
	} else {
		seterr(err, errlen, "%s: unsupported key derivation `%s' (expected `--' or `Ar')", pfx(name),
		       quote((const char *)w->bin + SK_OFF_KDF, 2, q, sizeof q));
		return AM_EKEY;
	}
	return 0;
}

static bool is_encrypted(const struct secret_work *w)
{
	return memcmp(w->bin + SK_OFF_KDF, KDF_ARGON2ID, 2) == 0;
}

/* Derives the AEAD key, decrypts the seed, re-derives the key pair and
 * checks it against the stored key id. Fills w->seed, w->pk, w->sk. */
static int unseal_secret(const char *name, const char *passphrase, struct secret_work *w, char *err, size_t errlen)
{
	uint8_t id[AM_KEYID_BYTES];
	unsigned long long ptlen;

	if (is_encrypted(w)) {
		if (passphrase == NULL) {
			seterr(err, errlen, "%s: key is passphrase-protected; no passphrase given", pfx(name));
			return AM_EPASSPHRASE;
		}
		if (crypto_pwhash(w->key, sizeof w->key, passphrase, strlen(passphrase), w->bin + SK_OFF_SALT,
		                  load_u64le(w->bin + SK_OFF_OPS), (size_t)load_u64le(w->bin + SK_OFF_MEM),
		                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			seterr(err, errlen, "%s: out of memory deriving the key from the passphrase", pfx(name));
			return AM_ENOMEM;
		}
	} else {
		sodium_memzero(w->key, sizeof w->key);
	}
	/* The key id is the additional data: a seed moved next to another
	 * public key id fails here instead of loading as the wrong identity. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(w->seed, &ptlen, NULL, w->bin + SK_OFF_CT, SK_CT_LEN,
	                                               w->bin + SK_OFF_KEYID, AM_KEYID_BYTES,
	                                               w->bin + SK_OFF_NONCE, w->key) != 0 ||
	    ptlen != sizeof w->seed) {
		if (is_encrypted(w)) {
			seterr(err, errlen, "%s: wrong passphrase, or the key file is corrupted", pfx(name));
			return AM_EPASSPHRASE;
		}
		seterr(err, errlen, "%s: secret key is corrupted (authentication failed)", pfx(name));
		return AM_EKEY;
	}
	crypto_sign_seed_keypair(w->pk, w->sk, w->seed);
	am_keyid(w->pk, id);
	if (memcmp(id, w->bin + SK_OFF_KEYID, AM_KEYID_BYTES) != 0) {
		seterr(err, errlen, "%s: key id does not match the key", pfx(name));
		return AM_EKEY;
	}
	return 0;
}

static int parse_secret(const char *name, const char *buf, size_t len, const char *passphrase,
                        struct secret_work *w, struct keyfile_secret **out, char *err, size_t errlen)
{
	struct keyfile_secret *ks;
	int rv;

	if ((rv = decode_secret(name, buf, len, w, err, errlen)) != 0)
		return rv;
	if ((rv = unseal_secret(name, passphrase, w, err, errlen)) != 0)
		return rv;
	if ((ks = sodium_malloc(sizeof *ks)) == NULL) {
		seterr(err, errlen, "%s: out of memory", pfx(name));
		return AM_ENOMEM;
	}
	memcpy(ks->sk, w->sk, sizeof ks->sk);
	memcpy(ks->pk, w->pk, sizeof ks->pk);
	memcpy(ks->comment, w->comment, sizeof ks->comment);
	*out = ks;
	return 0;
}

int keyfile_parse_secret(const uint8_t *buf, size_t len, const char *passphrase, struct keyfile_secret **out,
                         char *err, size_t errlen)
{
	struct secret_work *w = NULL;
	int rv;

	*out = NULL;
	if ((rv = init(err, errlen)) != 0)
		goto fail;
	if (len > KEYFILE_SECRET_MAX) {
		seterr(err, errlen, "secret key is larger than %d bytes", KEYFILE_SECRET_MAX);
		rv = AM_ETOOBIG;
		goto fail;
	}
	if ((w = sodium_malloc(sizeof *w)) == NULL) {
		seterr(err, errlen, "out of memory");
		rv = AM_ENOMEM;
		goto fail;
	}
	rv = parse_secret(NULL, (const char *)buf, len, passphrase, w, out, err, errlen);
fail:
	sodium_free(w);
	return rv;
}

/* Reads a secret key file into w->text after the checks that make it safe
 * to use: no symlink, a regular file, private to its owner, size capped. */
static int read_secret_file(const char *path, struct secret_work *w, size_t *lenp, char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0;
	int fd = -1, rv;

	/* O_NOFOLLOW: a symlink planted in place of the key must not redirect us. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ELOOP) {
			seterr(err, errlen, "%s: is a symbolic link; refusing to follow it for a secret key", path);
			rv = AM_EPERM;
		} else {
			seterr(err, errlen, "%s: cannot open secret key: %s", path, strerror(errno));
			rv = errno == ENOENT ? AM_ENOTFOUND : AM_EIO;
		}
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "%s: fstat: %s", path, strerror(errno));
		rv = AM_EIO;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		rv = AM_EKEY;
		goto fail;
	}
	if (st.st_mode & 077 && is_public_key_file(fd)) {
		/* a .pub is world-readable by design: "chmod 600" would only
		 * lead to the next error */
		size_t n = strlen(path);
		bool pub = n > 4 && strcmp(path + n - 4, ".pub") == 0;
		seterr(err, errlen, "%s: is a public key (`%s...'), not a secret key%s%.*s%s", path, PUBLIC_PREFIX,
		       pub ? "; the secret half is " : "", pub ? (int)(n - 4) : 0, path, pub ? "" : "");
		rv = AM_EKEY;
		goto fail;
	}
	if (st.st_mode & 077) {
		seterr(err, errlen, "%s: secret key is %s by group or others (mode %04o); fix with: chmod 600 %s", path,
		       (st.st_mode & 044) ? "readable" : (st.st_mode & 022) ? "writable" : "accessible",
		       (unsigned)(st.st_mode & 07777), path);
		rv = AM_EPERM;
		goto fail;
	}
	if (st.st_size > KEYFILE_SECRET_MAX) {
		seterr(err, errlen, "%s: %lld bytes is too large for a secret key (at most %d)", path,
		       (long long)st.st_size, KEYFILE_SECRET_MAX);
		rv = AM_ETOOBIG;
		goto fail;
	}
	/* Read to EOF with room for one extra byte: the file may grow after fstat. */
	while (len < sizeof w->text) {
		ssize_t r = read(fd, w->text + len, sizeof w->text - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "%s: read: %s", path, strerror(errno));
			rv = AM_EIO;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > KEYFILE_SECRET_MAX) {
		seterr(err, errlen, "%s: too large for a secret key (at most %d bytes)", path, KEYFILE_SECRET_MAX);
		rv = AM_ETOOBIG;
		goto fail;
	}
	close(fd);
	*lenp = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return rv;
}

int keyfile_load_secret(const char *path, const char *passphrase, struct keyfile_secret **out,
                        char *err, size_t errlen)
{
	struct secret_work *w = NULL;
	size_t len;
	int rv;

	*out = NULL;
	if ((rv = init(err, errlen)) != 0)
		goto fail;
	if ((w = sodium_malloc(sizeof *w)) == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		rv = AM_ENOMEM;
		goto fail;
	}
	if ((rv = read_secret_file(path, w, &len, err, errlen)) != 0)
		goto fail;
	rv = parse_secret(path, w->text, len, passphrase, w, out, err, errlen);
fail:
	sodium_free(w);
	return rv;
}

void keyfile_secret_free(struct keyfile_secret *sk)
{
	/* sodium_free wipes the block before unmapping it, and accepts NULL. */
	sodium_free(sk);
}

bool keyfile_is_encrypted(const char *path)
{
	struct secret_work *w = NULL;
	bool enc = false;
	size_t len;

	if (init(NULL, 0) != 0 || (w = sodium_malloc(sizeof *w)) == NULL)
		goto done;
	if (read_secret_file(path, w, &len, NULL, 0) != 0 || decode_secret(path, w->text, len, w, NULL, 0) != 0)
		goto done;
	enc = is_encrypted(w);
done:
	sodium_free(w);
	return enc;
}

/* ---- generation ---- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Creates path exclusively with the given mode and contents, durably. On
 * failure after creating it, removes it again: whoever creates, cleans up. */
static int create_file(const char *path, mode_t mode, const char *data, size_t len, char *err, size_t errlen)
{
	const char *what;
	int fd;

	/* O_EXCL|O_NOFOLLOW: never overwrite a key, never write through a symlink. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)) < 0) {
		if (errno == EEXIST) {
			seterr(err, errlen, "%s: already exists; refusing to overwrite a key file", path);
			return AM_EEXIST;
		}
		seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return AM_EIO;
	}
	/* The open mode is filtered by the umask and default ACLs; set it
	 * explicitly so the result never depends on the environment. */
	what = "fchmod";
	if (fchmod(fd, mode) != 0)
		goto fail;
	what = "write";
	if (write_all(fd, data, len) != 0)
		goto fail;
	what = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	what = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	seterr(err, errlen, "%s: %s: %s", path, what, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(path);
	return AM_EIO;
}

/* Makes the new directory entries durable, not only the file contents. */
static int sync_dir(const char *path, char *err, size_t errlen)
{
	char copy[PATH_MAX];
	const char *dir;
	int fd;

	snprintf(copy, sizeof copy, "%s", path);
	dir = dirname(copy);
	/* O_DIRECTORY: only to fsync the entries just added. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
		seterr(err, errlen, "%s: cannot sync directory: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return AM_EIO;
	}
	close(fd);
	return 0;
}

/* Secrets made while generating, wiped together by sodium_free. */
struct gen_work {
	uint8_t seed[crypto_sign_SEEDBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t bin[SECRET_BIN_LEN];
	char text[KEYFILE_SECRET_MAX];
};

int keyfile_generate(const char *path, const char *comment, const char *passphrase,
                     uint8_t pk_out[AM_KEY_BYTES], char *err, size_t errlen)
{
	char pubpath[PATH_MAX], pubtext[KEYFILE_LINE_MAX + 2], b64[SECRET_B64_LEN + 1];
	const char *exists;
	uint8_t pk[AM_KEY_BYTES];
	struct gen_work *w = NULL;
	struct stat st;
	bool secret_made = false;
	int n, rv;

	if ((rv = init(err, errlen)) != 0)
		goto fail;
	if (comment == NULL)
		comment = "";
	if (has_control(comment, strlen(comment))) {
		seterr(err, errlen, "comment must not contain control characters");
		rv = AM_EINVAL;
		goto fail;
	}
	if (strlen(comment) >= KEYFILE_COMMENT_MAX) {
		seterr(err, errlen, "comment is longer than %d bytes", KEYFILE_COMMENT_MAX - 1);
		rv = AM_ETOOBIG;
		goto fail;
	}
	if (passphrase != NULL && passphrase[0] == '\0') {
		seterr(err, errlen, "empty passphrase refused (omit the passphrase for an unencrypted key)");
		rv = AM_EINVAL;
		goto fail;
	}
	n = snprintf(pubpath, sizeof pubpath, "%s.pub", path);
	if (n < 0 || (size_t)n >= sizeof pubpath) {
		seterr(err, errlen, "%s: path too long", path);
		rv = AM_ETOOBIG;
		goto fail;
	}
	/* Checked up front only for a clearer message and to skip the work;
	 * O_EXCL below is what actually guarantees nothing is overwritten. */
	exists = lstat(path, &st) == 0 ? path : lstat(pubpath, &st) == 0 ? pubpath : NULL;
	if (exists != NULL) {
		seterr(err, errlen, "%s: already exists; refusing to overwrite a key file", exists);
		rv = AM_EEXIST;
		goto fail;
	}
	if ((w = sodium_malloc(sizeof *w)) == NULL) {
		seterr(err, errlen, "out of memory");
		rv = AM_ENOMEM;
		goto fail;
	}

	randombytes_buf(w->seed, sizeof w->seed);
	crypto_sign_seed_keypair(pk, w->sk, w->seed);
	memcpy(w->bin + SK_OFF_ALG, ALG_TAG, 2);
	am_keyid(pk, w->bin + SK_OFF_KEYID);
	if (passphrase != NULL) {
		memcpy(w->bin + SK_OFF_KDF, KDF_ARGON2ID, 2);
		randombytes_buf(w->bin + SK_OFF_SALT, crypto_pwhash_argon2id_SALTBYTES);
		store_u64le(w->bin + SK_OFF_OPS, KDF_OPSLIMIT);
		store_u64le(w->bin + SK_OFF_MEM, KDF_MEMLIMIT);
		if (crypto_pwhash(w->key, sizeof w->key, passphrase, strlen(passphrase), w->bin + SK_OFF_SALT,
		                  KDF_OPSLIMIT, KDF_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			seterr(err, errlen, "out of memory deriving a key from the passphrase (Argon2id needs %u MiB)",
			       (unsigned)(KDF_MEMLIMIT >> 20));
			rv = AM_ENOMEM;
			goto fail;
		}
	} else {
		/* Same shape without a passphrase: an all-zero key still lets the
		 * tag catch a corrupted file. */
		memcpy(w->bin + SK_OFF_KDF, KDF_NONE, 2);
		memset(w->bin + SK_OFF_SALT, 0, crypto_pwhash_argon2id_SALTBYTES + 16);
		memset(w->key, 0, sizeof w->key);
	}
	randombytes_buf(w->bin + SK_OFF_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(w->bin + SK_OFF_CT, NULL, w->seed, sizeof w->seed,
	                                           w->bin + SK_OFF_KEYID, AM_KEYID_BYTES, NULL,
	                                           w->bin + SK_OFF_NONCE, w->key);
	sodium_bin2base64(b64, sizeof b64, w->bin, sizeof w->bin, sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(w->text, sizeof w->text, "%s%s%s\n%s\n", SECRET_HEADER, comment[0] ? " " : "", comment, b64);
	if (n < 0 || (size_t)n >= sizeof w->text) {
		seterr(err, errlen, "secret key text too long");
		rv = AM_ETOOBIG;
		goto fail;
	}
	if ((rv = keyfile_public_line(pk, comment, pubtext, sizeof pubtext - 1)) != 0) {
		seterr(err, errlen, "cannot format the public key: %s", am_strerror(rv));
		goto fail;
	}
	strcat(pubtext, "\n");

	/* Secret first: if anything after fails, no .pub is left pointing at
	 * a key that does not exist. */
	if ((rv = create_file(path, 0600, w->text, (size_t)n, err, errlen)) != 0)
		goto fail;
	secret_made = true;
	/* 0644 as created: a stricter umask on a public key is the admin's choice. */
	if ((rv = create_file(pubpath, 0644, pubtext, strlen(pubtext), err, errlen)) != 0)
		goto fail;
	if ((rv = sync_dir(path, err, errlen)) != 0) {
		unlink(pubpath);
		goto fail;
	}
	if (pk_out)
		memcpy(pk_out, pk, AM_KEY_BYTES);
	sodium_free(w);
	return 0;
fail:
	if (secret_made)
		unlink(path);
	sodium_free(w);
	return rv;
}

/* ---- passphrases ---- */

/* Reads one line of at most KEYFILE_PASSPHRASE_MAX bytes into buf, one byte
 * at a time so nothing past the newline is consumed from a shared fd. */
static int read_line(int fd, char *buf, char *err, size_t errlen)
{
	size_t len = 0;
	char c = 0;
	int rv = 0;

	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			seterr(err, errlen, "cannot read passphrase: %s", strerror(errno));
			rv = AM_EIO;
			break;
		}
		if (r == 0 || c == '\n')
			break;
		if (c == '\0') {
			seterr(err, errlen, "passphrase contains a NUL byte");
			rv = AM_EINVAL;
			break;
		}
		if (len == KEYFILE_PASSPHRASE_MAX) {
			seterr(err, errlen, "passphrase is longer than %d bytes", KEYFILE_PASSPHRASE_MAX);
			rv = AM_ETOOBIG;
			break;
		}
		buf[len++] = c;
	}
	/* A file written on Windows ends its line with CR LF. */
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	sodium_memzero(&c, sizeof c);
	if (rv == 0 && len == 0) {
		seterr(err, errlen, "empty passphrase refused");
		rv = AM_EINVAL;
	}
	return rv;
}

/* Prompts on the terminal with echo off. Trade-off: a signal arriving while
 * echo is off leaves the terminal silent (`stty echo' fixes it); OpenBSD's
 * readpassphrase catches signals for this, at several times the code. */
static int read_tty(int tty, const char *prompt, char *buf, char *err, size_t errlen)
{
	struct termios old, quiet;
	int rv;

	if (tcgetattr(tty, &old) != 0) {
		seterr(err, errlen, "cannot read the terminal settings: %s", strerror(errno));
		return AM_EIO;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL; /* still echo the newline, so output starts on a new line */
	if (write_all(tty, prompt, strlen(prompt)) != 0 || tcsetattr(tty, TCSAFLUSH, &quiet) != 0) {
		seterr(err, errlen, "cannot prompt on the terminal: %s", strerror(errno));
		return AM_EIO;
	}
	rv = read_line(tty, buf, err, errlen);
	tcsetattr(tty, TCSAFLUSH, &old);
	return rv;
}

char *keyfile_read_passphrase(int fd, const char *prompt, bool confirm, char *err, size_t errlen)
{
	char *pass = NULL, *again = NULL;
	int tty = -1;

	if (init(err, errlen) != 0)
		goto fail;
	if ((pass = sodium_malloc(KEYFILE_PASSPHRASE_MAX + 1)) == NULL) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (fd >= 0) {
		if (read_line(fd, pass, err, errlen) != 0)
			goto fail;
		return pass;
	}
	/* /dev/tty, not stdin: stdin may be a pipe carrying other data. */
	if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		seterr(err, errlen, "no terminal to ask for the passphrase (%s); use --passphrase-fd N", strerror(errno));
		goto fail;
	}
	if (read_tty(tty, prompt ? prompt : "Passphrase: ", pass, err, errlen) != 0)
		goto fail;
	if (confirm) {
		if ((again = sodium_malloc(KEYFILE_PASSPHRASE_MAX + 1)) == NULL) {
			seterr(err, errlen, "out of memory");
			goto fail;
		}
		if (read_tty(tty, "Repeat passphrase: ", again, err, errlen) != 0)
			goto fail;
		if (strcmp(pass, again) != 0) {
			seterr(err, errlen, "passphrases do not match");
			goto fail;
		}
		sodium_free(again);
		again = NULL;
	}
	close(tty);
	return pass;
fail:
	if (tty >= 0)
		close(tty);
	sodium_free(again);
	sodium_free(pass);
	return NULL;
}

void keyfile_passphrase_free(char *p)
{
	sodium_free(p);
}

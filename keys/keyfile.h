/*
 * keyfile.h - Ed25519 identity files (minisign / signify style).
 *
 * Public key: one line, `amesh-ed25519 <base64> [comment]`, where the base64
 * holds "Ed" || key id (8) || public key (32). The key id is the first 8 bytes
 * of BLAKE2b-256(public key), so a parser can tell a mistyped or truncated key
 * from a different one.
 *
 * Secret key file (text, two lines):
 *   amesh-secret-key v1 <comment>
 *   <base64 of: "Ed" | kdf "--" (none) or "Ar" (Argon2id) | key id (8)
 *               | salt (16) | opslimit (u64 LE) | memlimit (u64 LE)
 *               | nonce (24) | XChaCha20-Poly1305(seed (32)) with tag (16)>
 * Without a passphrase the AEAD key is all zeros: the tag still detects
 * corruption and the format stays one shape. The key id is the AEAD's
 * additional data, so a secret cannot be paired with the wrong public key.
 *
 * Files are created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600; secrets live
 * in sodium_malloc memory and are wiped on free.
 */
#ifndef AMESH_KEYFILE_H
#define AMESH_KEYFILE_H

#include <sodium.h>

#include "../peer/model.h"

#define KEYFILE_COMMENT_MAX 128
#define KEYFILE_LINE_MAX 512    /* longest public-key line accepted */
#define KEYFILE_SECRET_MAX 4096 /* largest secret key file accepted */
#define KEYFILE_PASSPHRASE_MAX 1024 /* longest passphrase accepted, bytes */

struct keyfile_secret {
	uint8_t sk[crypto_sign_SECRETKEYBYTES]; /* seed || public key */
	uint8_t pk[AM_KEY_BYTES];
	char comment[KEYFILE_COMMENT_MAX];
};

/* Creates `path` (secret, 0600) and `path`.pub (public line, 0644). Refuses
 * to overwrite either (AM_EEXIST). passphrase may be NULL. pk_out may be
 * NULL. On failure neither file is left behind. */
int keyfile_generate(const char *path, const char *comment, const char *passphrase,
                     uint8_t pk_out[AM_KEY_BYTES], char *err, size_t errlen);

/* Loads a secret key. Refuses a file readable by group or others (AM_EPERM,
 * err says the chmod that fixes it), or not a regular file. passphrase NULL
 * for an unencrypted key (an encrypted one then gives AM_EPASSPHRASE with
 * "key is passphrase-protected"). *out is sodium_malloc'd; free it with
 * keyfile_secret_free. *out is NULL on failure. */
int keyfile_load_secret(const char *path, const char *passphrase,
                        struct keyfile_secret **out, char *err, size_t errlen);
/* Wipes and frees; accepts NULL. */
void keyfile_secret_free(struct keyfile_secret *sk);
/* True if the file at path is passphrase-protected (false on any error). */
bool keyfile_is_encrypted(const char *path);

/* Formats the one-line public key (no newline) into out. Returns 0 or
 * AM_ETOOBIG. A comment with control characters is refused (AM_EINVAL). */
int keyfile_public_line(const uint8_t pk[AM_KEY_BYTES], const char *comment,
                        char *out, size_t outlen);
/* Parses a public-key line (trailing newline allowed; blanks before it and
 * blanks or a CR after it, as a paste or a CRLF file leaves them, are read
 * past). comment may be NULL. */
int keyfile_parse_public(const char *line, uint8_t pk[AM_KEY_BYTES],
                         char *comment, size_t commentlen, char *err, size_t errlen);
/* Reads a .pub file and parses its key line. A byte-order mark at its
 * start and blank lines around the line are read past; anything else on
 * another line is refused (err: `FILE:LINE: what'), as is a file over
 * 4 KiB. Errors about the key line name its line too. */
int keyfile_load_public(const char *path, uint8_t pk[AM_KEY_BYTES],
                        char *comment, size_t commentlen, char *err, size_t errlen);
/* Short form two admins can read to each other: key id as four groups of
 * four hex digits, e.g. "3f2a-91c0-7be4-0d15". out: at least 20 bytes. */
void keyfile_fingerprint(const uint8_t pk[AM_KEY_BYTES], char *out, size_t outlen);

/* Reads a passphrase: from the terminal without echo (fd < 0), or the first
 * line of file descriptor fd. Returned buffer is sodium_malloc'd; free with
 * keyfile_passphrase_free. NULL on failure with err filled. */
char *keyfile_read_passphrase(int fd, const char *prompt, bool confirm, char *err, size_t errlen);
void keyfile_passphrase_free(char *p);

/* Parses and decrypts the text of a secret key file held in memory (the
 * part of keyfile_load_secret after the file checks; also the fuzz entry
 * point). Errors as keyfile_load_secret, without a file name: AM_EKEY for
 * a malformed file, an unsupported algorithm or KDF, Argon2id limits above
 * 64 passes or 1 GiB (so a crafted file cannot stall or exhaust the
 * loader), or an unencrypted key whose tag fails; AM_EPASSPHRASE for a
 * missing or wrong passphrase (or a corrupted encrypted key); AM_ETOOBIG
 * over KEYFILE_SECRET_MAX. With passphrase NULL Argon2 never runs. *out as
 * keyfile_load_secret: sodium_malloc'd, NULL on failure. */
int keyfile_parse_secret(const uint8_t *buf, size_t len, const char *passphrase,
                         struct keyfile_secret **out, char *err, size_t errlen);

#endif

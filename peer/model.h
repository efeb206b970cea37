/*
 * model.h - the Abuse Mesh data model: one header every module shares.
 *
 * Design: generated protobuf types never leave wire.c; everything else works
 * on the plain structs below (wireguard-tools keeps its whole model in one
 * header for the same reason: parsers produce it, the IPC layer consumes it).
 *
 * Errors: every fallible function returns int, 0 on success or a negative
 * am_err code below; am_strerror() names each one. Where a caller needs the
 * detail (which input, which rule), functions also fill a caller-provided
 * buffer of AM_ERRLEN bytes - libraries never log (Redis' anet.c style).
 */
#ifndef AMESH_MODEL_H
#define AMESH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AM_ERRLEN 1024 /* a message quoting a 253-byte name and a path still ends with its why */

#define AM_KEY_BYTES 32    /* Ed25519 public key */
#define AM_SIG_BYTES 64    /* Ed25519 signature */
#define AM_ID_BYTES 32     /* BLAKE2b-256 indicator id */
#define AM_KEYID_BYTES 8   /* short key id: first 8 bytes of BLAKE2b-256(pk) */
#define AM_DOMAIN_MAX 253  /* RFC 1035 presentation length, no trailing dot */
#define AM_LABEL_MAX 63
/* A query name in domain.h's query form: at most 253 octets, each octet
 * that is not a letter, digit, '-' or '_' written as \DDD. */
#define AM_QNAME_MAX (4 * AM_DOMAIN_MAX)

/* Hard caps on untrusted sizes (network, socket, files). */
#define AM_BODY_MAX 1024             /* a signed indicator body */
#define AM_ENVELOPE_MAX 1200         /* body + signature + framing */
#define AM_CONTROL_MSG_MAX (4u << 20) /* one control request or response */
#define AM_QUERY_NAMES_MAX 4096      /* names in one query request */
#define AM_LIST_MAX 10000            /* signals in one list response */

#define AM_BODY_FORMAT 2 /* issue 13: the origin left the body (amesh.proto) */
#define AM_CONTROL_PROTOCOL 1
/* Domain separation: a key that signs indicators may later sign rotation or
 * revocation statements; a prefix per statement type stops cross-use. Every
 * context in the project is written as one length byte and then its name
 * (here 0x12 = 18 = strlen("AMESH-INDICATOR-V2")), so no context || message
 * can read as another context || message; test_indicator checks the byte. */
#define AM_SIGN_CONTEXT_INDICATOR "\x12" "AMESH-INDICATOR-V2"
/* The indicator id hashes this context, then origin || signature || body
 * (indicator.h); 0x15 = 21 = strlen("AMESH-INDICATOR-ID-V2"). */
#define AM_ID_CONTEXT_INDICATOR "\x15" "AMESH-INDICATOR-ID-V2"

enum am_err {
	AM_OK = 0,
	AM_ENOMEM = -1,
	AM_EINVAL = -2,         /* bad argument */
	AM_EIO = -3,            /* system call failed; errno-based detail in errbuf */
	AM_ETOOBIG = -4,        /* input over its size cap */
	AM_EDECODE = -5,        /* malformed protobuf or file */
	AM_ESIG = -6,           /* signature does not verify */
	AM_ECATEGORY = -7,      /* unknown category */
	AM_ECONFIDENCE = -8,    /* confidence outside 0..100 */
	AM_EEXPIRED = -9,       /* expiry not in the future */
	AM_ELIFETIME = -10,     /* expiry beyond the maximum lifetime */
	AM_EDOMAIN_EMPTY = -11, /* empty name */
	AM_EDOMAIN_LONG = -12,  /* over 253 octets */
	AM_ELABEL_LONG = -13,   /* a label over 63 octets */
	AM_ELABEL_EMPTY = -14,  /* "a..b", leading dot */
	AM_EDOMAIN_CHAR = -15,  /* character outside letters, digits, '-', '_' */
	AM_EDOMAIN_IP = -16,    /* an IPv4 or IPv6 address, not a name */
	AM_EDOMAIN_WILDCARD = -17,
	AM_EDOMAIN_IDN = -18,   /* IDNA2008 conversion refused the name */
	AM_EPUBLIC_SUFFIX = -19,/* the name is itself a public suffix */
	AM_ENOTFOUND = -20,
	AM_EEXIST = -21,        /* refuse to overwrite */
	AM_EMAPFULL = -22,      /* store is full (LMDB MDB_MAP_FULL) */
	AM_ESTORE = -23,        /* other storage failure */
	AM_EKEY = -24,          /* key file malformed or unusable */
	AM_EPERM = -25,         /* unsafe permissions */
	AM_EPROTO = -26,        /* control/wire protocol version mismatch */
	AM_ECONFIG = -27,       /* configuration error */
	AM_ETLP = -28,          /* unknown sharing level */
	AM_EORIGIN = -29,       /* origin key malformed or not allowed */
	AM_EPASSPHRASE = -30,   /* wrong passphrase or corrupted secret key */
	AM_ETIME = -31,         /* unparseable time or duration */
	AM_ECONNECT = -32,      /* daemon not reachable */
	AM_EFORMAT = -33,       /* unsupported body format */
	AM_EREPLAY = -34,       /* message or handshake seen before */
	AM_EHANDSHAKE = -35,    /* handshake failed (bad signature, stale, wrong peer) */
	AM_EUNTRUSTED = -36,    /* key not in the trust store, or revoked */
	AM_EPOLICY = -37,       /* refused by a sharing policy */
	AM_EOVERRUN = -38,      /* a watcher fell behind the live feed */
	AM_ENOSPC = -39,        /* no space for the store: filesystem full, quota, file size limit */
	AM_ESPECIAL_USE = -40,  /* a special-use name (RFC 6761 and kin), never public */
	AM_ERR_MIN = -40
};

const char *am_strerror(int err);

enum am_category {
	AM_CAT_NONE = 0, /* unspecified / any */
	AM_CAT_PHISHING = 1,
	AM_CAT_MALWARE = 2,
	AM_CAT_BOTNET = 3,
	AM_CAT_PHARMING = 4,
	AM_CAT_SPAM = 5,
	AM_CAT_COUNT = 6
};

/* TLP 2.0, ordered from least to most restrictive. */
enum am_tlp {
	AM_TLP_NONE = 0,
	AM_TLP_CLEAR = 1,
	AM_TLP_GREEN = 2,
	AM_TLP_AMBER = 3,
	AM_TLP_AMBER_STRICT = 4,
	AM_TLP_RED = 5,
	AM_TLP_COUNT = 6
};

/* Name <-> enum. _parse returns 0 and sets *out, or AM_ECATEGORY/AM_ETLP.
 * am_tlp_parse ignores case, accepts an optional "TLP:" prefix, the
 * "amber_strict" spelling and TLP 1.0 "white" (= clear); "none" is refused.
 * _name returns a static string ("?" when out of range). */
int am_category_parse(const char *s, enum am_category *out);
const char *am_category_name(enum am_category c);
int am_tlp_parse(const char *s, enum am_tlp *out);
const char *am_tlp_name(enum am_tlp t);

/* One indicator (or withdrawal), decoded from a verified body. */
struct am_indicator {
	uint8_t origin[AM_KEY_BYTES];
	char domain[AM_DOMAIN_MAX + 1]; /* normalised, NUL-terminated */
	enum am_category category;
	uint8_t confidence;             /* 0..100 */
	uint64_t issued_at;             /* Unix seconds */
	uint64_t expires_at;            /* Unix seconds */
	uint64_t version;               /* per origin, strictly increasing */
	bool withdrawn;
	enum am_tlp tlp;
	uint32_t hop_limit;
};

/* Checks the fields a body must satisfy regardless of who holds it:
 * category and TLP known, confidence 0..100, expiry after issue. Domain
 * validity is domain.h's job. Returns 0 or a negative am_err. */
int am_indicator_check(const struct am_indicator *ind);

/* Short key id of a public key, and its 16-hex-digit form (17 bytes). */
void am_keyid(const uint8_t pk[AM_KEY_BYTES], uint8_t id[AM_KEYID_BYTES]);
void am_keyid_hex(const uint8_t pk[AM_KEY_BYTES], char out[2 * AM_KEYID_BYTES + 1]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void am_hex(const uint8_t *in, size_t n, char *out);

#endif

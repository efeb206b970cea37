/*
 * stix_pattern.h - the names a STIX 2.1 pattern flags, each enough alone to match it.
 *
 * A bounded recursive-descent parser for the whole STIX 2.1 patterning
 * grammar (STIX 2.1 part 9; the ANTLR grammar of oasis-open/
 * cti-pattern-validator): observation expressions `[...]' joined by OR,
 * AND and FOLLOWEDBY, grouped by parentheses, with the qualifiers START t''
 * STOP t'', WITHIN n SECONDS and REPEATS n TIMES; inside an observation,
 * comparisons joined by OR and AND, grouped by parentheses; object paths
 * (`file:hashes.'SHA-256'', `x:a[*].b'), every literal kind (strings with
 * the spec's only escapes \' and \\, numbers, true/false, t'', h'', b'').
 * It produces no tree, only what an importer of names needs:
 *
 * - each comparison in order, with its text, and either the values it
 *   names (`domain-name:value' or `url:value' with `=', or with IN, a set
 *   being the OR of its members' equalities, 9.3) or why it names none
 *   (another object type or property, NOT, !=, LIKE, MATCHES, <, EXISTS...);
 * - for each comparison, what binds it to others, if anything: the
 *   innermost AND or FOLLOWEDBY whose operand holds it, or qualifier
 *   (START, WITHIN, REPEATS) over an observation that holds it, and its
 *   byte. Precedence is the grammar's: FOLLOWEDBY binds loosest, then OR,
 *   then AND, and a qualifier binds only the observation or group just
 *   before it: in `[a] OR [b] AND [c]' b and c are bound, in `[a] OR [b]
 *   WITHIN 300 SECONDS' b, and a is bound in neither.
 *
 * A comparison nothing binds is a disjunct, through ORs and parentheses
 * only, of the whole pattern: the pattern matches whenever it does, so a
 * name it names is sound to flag alone. A bound one matches only together
 * with another comparison or observation, or in a window, or repeated:
 * its name is necessary at most, never what the producer flagged alone.
 *
 * Limits, each an error naming it: STIX_PATTERN_MAX bytes,
 * STIX_PATTERN_DEPTH_MAX nested groups, STIX_PATTERN_CMP_MAX comparisons,
 * STIX_PATTERN_VALUE_MAX values of name comparisons. A library: it never
 * logs, it fills the caller's buffer.
 */
#ifndef AMESH_STIX_PATTERN_H
#define AMESH_STIX_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#define STIX_PATTERN_MAX 65536     /* bytes of one pattern */
#define STIX_PATTERN_DEPTH_MAX 32  /* nested brackets and parentheses */
#define STIX_PATTERN_CMP_MAX 64    /* comparisons in one pattern */
#define STIX_PATTERN_VALUE_MAX 64  /* values named by domain-name/url comparisons */

struct stix_span {
	size_t off, len; /* into the pattern */
};

enum stix_cmp_use {
	STIX_CMP_SKIP, /* names no name: why says why */
	STIX_CMP_NAME, /* domain-name:value: each value a name */
	STIX_CMP_URL,  /* url:value: each value a URL, whose host is the name */
};

struct stix_cmp {
	struct stix_span text; /* the comparison, object path to literal */
	enum stix_cmp_use use;
	bool ip;         /* SKIP: ipv4-addr:value or ipv6-addr:value */
	const char *why; /* SKIP: static text, "LIKE matches many names, not one" */
	size_t first, n; /* NAME, URL: its values, values[first .. first + n) */
	const char *bound; /* NULL: a disjunct of the whole pattern; else "AND", "FOLLOWEDBY", "START", "WITHIN",
	                    * "REPEATS": the innermost operator or qualifier that binds it */
	size_t bound_at;   /* bound's byte offset */
};

struct stix_pattern {
	struct stix_cmp cmp[STIX_PATTERN_CMP_MAX];
	size_t ncmp;
	/* string literals of NAME and URL comparisons, quotes excluded, still
	 * escaped: stix_pattern_value unescapes */
	struct stix_span values[STIX_PATTERN_VALUE_MAX];
	size_t nvalues;
};

/* Parses p (len bytes, no NUL needed) into *out. Returns 0; AM_EDECODE when
 * p is no STIX pattern (err says what was expected at which byte, quoting
 * what was found); AM_ETOOBIG over a limit (err names it). *out is only
 * meaningful on 0; it refers into p, which must outlive it. */
int stix_pattern_parse(const char *p, size_t len, struct stix_pattern *out, char *err, size_t errlen);

/* The value v of pattern p unescaped (\' and \\) into out (cap >= 1 bytes,
 * NUL-terminated, cut at cap - 1). Returns its whole unescaped length,
 * which may be cap or more: then out holds only its start. */
size_t stix_pattern_value(const char *p, struct stix_span v, char *out, size_t cap);

#endif

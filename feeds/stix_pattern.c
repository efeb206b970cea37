/* stix_pattern.c - a bounded parser of STIX 2.1 patterns, for the names each enough alone to match. */
#include "stix_pattern.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "text.h"

enum tok {
	T_EOF,
	T_LBRACK,
	T_RBRACK,
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_COLON,
	T_DOT,
	T_STAR,
	T_OP,     /* = != < <= > >= */
	T_STRING, /* 'x': off/len of its content */
	T_TYPED,  /* t'x', h'x', b'x' */
	T_WORD,   /* an identifier or a keyword (upper case, 9.1) */
	T_NUMBER,
};

struct token {
	enum tok t;
	size_t off, len; /* the token's text (a string's: between the quotes) */
	size_t end;      /* the byte after it */
};

struct parser {
	const char *p;
	size_t len, pos;
	int depth;
	struct stix_pattern *out;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, int rv, size_t at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct parser *ps, int rv, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->err, ps->errlen, "at byte %zu: ", at + 1);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rv;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* The rest of a quoted literal from q (just past its opening quote):
 * 9.2's StringLiteral, whose only escapes are \' and \\. */
static int lex_quoted(struct parser *ps, size_t q, struct token *t)
{
	size_t i = q;
	for (; i < ps->len && ps->p[i] != '\''; i++) {
		if (ps->p[i] != '\\')
			continue;
		if (i + 1 >= ps->len || (ps->p[i + 1] != '\'' && ps->p[i + 1] != '\\')) {
			char c[TEXT_QUOTE_LEN(4)]; /* text_quote wants 16 bytes at least */
			return fail(ps, AM_EDECODE, i, "a backslash before %s in a string: STIX escapes only \\' and \\\\",
			            i + 1 < ps->len ? text_quote(c, sizeof c, ps->p + i + 1, 1, 1) : "the end");
		}
		i++;
	}
	if (i >= ps->len)
		return fail(ps, AM_EDECODE, q - 1, "a string opened here is never closed by a `''");
	t->off = q;
	t->len = i - q;
	t->end = i + 1;
	return 0;
}

/* The token at ps->pos, not consumed (ps->pos = t->end does). */
static int lex(struct parser *ps, struct token *t)
{
	size_t i = ps->pos;
	while (i < ps->len && is_space(ps->p[i]))
		i++;
	memset(t, 0, sizeof *t);
	t->off = i;
	t->end = i + 1;
	t->len = 1;
	if (i >= ps->len) {
		t->t = T_EOF;
		t->len = 0;
		t->end = i;
		return 0;
	}
	char c = ps->p[i];
	switch (c) {
	case '[': t->t = T_LBRACK; return 0;
	case ']': t->t = T_RBRACK; return 0;
	case '(': t->t = T_LPAREN; return 0;
	case ')': t->t = T_RPAREN; return 0;
	case ',': t->t = T_COMMA; return 0;
	case ':': t->t = T_COLON; return 0;
	case '.':
		if (i + 1 < ps->len && is_digit(ps->p[i + 1]))
			break; /* .5, a number */
		t->t = T_DOT;
		return 0;
	case '*': t->t = T_STAR; return 0;
	case '=': t->t = T_OP; return 0;
	case '<':
	case '>':
	case '!':
		t->t = T_OP;
		if (i + 1 < ps->len && ps->p[i + 1] == '=') {
			t->len = 2;
			t->end = i + 2;
		} else if (c == '!') {
			return fail(ps, AM_EDECODE, i, "`!' not followed by `=' (the operator is `!=')");
		}
		return 0;
	case '\'':
		t->t = T_STRING;
		return lex_quoted(ps, i + 1, t);
	default:
		break;
	}
	if (is_ident_start(c)) {
		size_t j = i + 1;
		while (j < ps->len && (is_ident_start(ps->p[j]) || is_digit(ps->p[j]) || ps->p[j] == '-'))
			j++;
		if (j == i + 1 && (c == 't' || c == 'h' || c == 'b') && j < ps->len && ps->p[j] == '\'') {
			t->t = T_TYPED;
			return lex_quoted(ps, j + 1, t);
		}
		t->t = T_WORD;
		t->len = j - i;
		t->end = j;
		return 0;
	}
	if (is_digit(c) || c == '.' || ((c == '-' || c == '+') && i + 1 < ps->len &&
	                                (is_digit(ps->p[i + 1]) || ps->p[i + 1] == '.'))) {
		size_t j = i + (c == '-' || c == '+');
		size_t digits = 0;
		while (j < ps->len && is_digit(ps->p[j]))
			j++, digits++;
		if (j < ps->len && ps->p[j] == '.') {
			j++;
			while (j < ps->len && is_digit(ps->p[j]))
				j++, digits++;
		}
		if (digits == 0)
			return fail(ps, AM_EDECODE, i, "a number without digits");
		t->t = T_NUMBER;
		t->len = j - i;
		t->end = j;
		return 0;
	}
	char q[TEXT_QUOTE_LEN(4)];
	return fail(ps, AM_EDECODE, i, "%s is no part of a STIX pattern", text_quote(q, sizeof q, &ps->p[i], 1, 1));
}

static bool is_word(const struct parser *ps, const struct token *t, const char *w)
{
	return t->t == T_WORD && t->len == strlen(w) && memcmp(ps->p + t->off, w, t->len) == 0;
}

/* What was found, for an error: `AND2', or the end. */
static const char *found(const struct parser *ps, const struct token *t, char *buf, size_t cap)
{
	if (t->t == T_EOF)
		return "the end of the pattern";
	if (t->t == T_STRING || t->t == T_TYPED) /* with its quotes */
		return text_quote(buf, cap, ps->p + t->off - 1 - (t->t == T_TYPED), t->end - t->off + 1 + (t->t == T_TYPED),
		                  24);
	return text_quote(buf, cap, ps->p + t->off, t->len, 24);
}

static int expected(struct parser *ps, const struct token *t, const char *what)
{
	char q[TEXT_QUOTE_LEN(24)];
	return fail(ps, AM_EDECODE, t->off, "expected %s, found %s", what, found(ps, t, q, sizeof q));
}

/* Consumes a token of kind k, or fails saying what was wanted. */
static int expect(struct parser *ps, enum tok k, const char *what, struct token *t)
{
	int rv;
	if ((rv = lex(ps, t)) != 0)
		return rv;
	if (t->t != k)
		return expected(ps, t, what);
	ps->pos = t->end;
	return 0;
}

/* Comparisons from `from' on that nothing binds yet are bound by the
 * keyword kw at byte at. Callers bind after their operands are parsed, so
 * the innermost AND, FOLLOWEDBY or qualifier over a comparison is the one
 * it names. */
static void bind_to(struct parser *ps, size_t from, const char *kw, size_t at)
{
	for (size_t k = from; k < ps->out->ncmp; k++) {
		if (!ps->out->cmp[k].bound) {
			ps->out->cmp[k].bound = kw;
			ps->out->cmp[k].bound_at = at;
		}
	}
}

/* Binds an operand of an AND or FOLLOWEDBY chain [from, ncmp): by the
 * keyword before it (*prev, if any) and then by the one after it (t, if
 * it is kw). Returns whether t is kw. */
static bool chain(struct parser *ps, size_t from, const struct token *t, const char *kw, const char **prev,
                  size_t *prev_at)
{
	if (*prev)
		bind_to(ps, from, *prev, *prev_at);
	if (!is_word(ps, t, kw))
		return false;
	bind_to(ps, from, kw, t->off);
	*prev = kw;
	*prev_at = t->off;
	return true;
}

static int enter(struct parser *ps, size_t at)
{
	if (ps->depth == STIX_PATTERN_DEPTH_MAX)
		return fail(ps, AM_ETOOBIG, at, "more than %d nested brackets and parentheses (STIX_PATTERN_DEPTH_MAX)",
		            STIX_PATTERN_DEPTH_MAX);
	ps->depth++;
	return 0;
}

enum path_kind { PATH_OTHER, PATH_NAME, PATH_URL, PATH_IP };

/* objectPath: type `:' first component, then `.x', `.'x'' or `[n]',
 * `[*]'. Says which of ours it is: only a bare TYPE:value is. */
static int object_path(struct parser *ps, enum path_kind *kind)
{
	struct token type, first, t;
	int rv;
	bool bare = true;

	if ((rv = expect(ps, T_WORD, "an object path (`domain-name:value')", &type)) != 0 ||
	    (rv = expect(ps, T_COLON, "`:' after the object type", &t)) != 0)
		return rv;
	if ((rv = lex(ps, &first)) != 0)
		return rv;
	if (first.t != T_WORD && first.t != T_STRING)
		return expected(ps, &first, "a property name after `:'");
	ps->pos = first.end;
	for (;;) {
		if ((rv = lex(ps, &t)) != 0)
			return rv;
		if (t.t == T_DOT) {
			ps->pos = t.end;
			if ((rv = lex(ps, &t)) != 0)
				return rv;
			if (t.t != T_WORD && t.t != T_STRING)
				return expected(ps, &t, "a property name after `.'");
		} else if (t.t == T_LBRACK) {
			ps->pos = t.end;
			if ((rv = lex(ps, &t)) != 0)
				return rv;
			if (t.t != T_STAR && t.t != T_NUMBER)
				return expected(ps, &t, "a list index or `*' after `['");
			ps->pos = t.end;
			if ((rv = expect(ps, T_RBRACK, "`]' closing the list index", &t)) != 0)
				return rv;
			bare = false;
			continue;
		} else {
			break;
		}
		ps->pos = t.end;
		bare = false;
	}
	*kind = PATH_OTHER;
	if (bare && is_word(ps, &first, "value")) {
		if (is_word(ps, &type, "domain-name"))
			*kind = PATH_NAME;
		else if (is_word(ps, &type, "url"))
			*kind = PATH_URL;
		else if (is_word(ps, &type, "ipv4-addr") || is_word(ps, &type, "ipv6-addr"))
			*kind = PATH_IP;
	}
	return 0;
}

/* One literal of 9.2 at ps->pos, consumed; *str says whether it is a plain
 * string (whose content *t spans). */
static int literal(struct parser *ps, struct token *t, bool *str)
{
	int rv;
	if ((rv = lex(ps, t)) != 0)
		return rv;
	if (t->t != T_STRING && t->t != T_TYPED && t->t != T_NUMBER && !is_word(ps, t, "true") &&
	    !is_word(ps, t, "false"))
		return expected(ps, t, "a literal ('string', number, true, false, t'...', h'...', b'...')");
	ps->pos = t->end;
	*str = t->t == T_STRING;
	return 0;
}

/* Appends value t of a comparison that may name names. */
static int add_value(struct parser *ps, const struct token *t)
{
	struct stix_pattern *o = ps->out;
	if (o->nvalues == STIX_PATTERN_VALUE_MAX)
		return fail(ps, AM_ETOOBIG, t->off, "more than %d domain-name and url values (STIX_PATTERN_VALUE_MAX)",
		            STIX_PATTERN_VALUE_MAX);
	o->values[o->nvalues++] = (struct stix_span){t->off, t->len};
	return 0;
}

/* propTest: PATH [NOT] OP literal, PATH [NOT] IN (set), EXISTS PATH. */
static int comparison(struct parser *ps)
{
	struct stix_pattern *o = ps->out;
	struct token t, op;
	enum path_kind kind = PATH_OTHER;
	bool not = false, exists = false, str, all_str = true, empty = false;
	size_t start, first = o->nvalues, n = 0;
	const char *why = NULL;
	int rv;

	if ((rv = lex(ps, &t)) != 0)
		return rv;
	start = t.off;
	if (o->ncmp == STIX_PATTERN_CMP_MAX)
		return fail(ps, AM_ETOOBIG, start, "more than %d comparisons (STIX_PATTERN_CMP_MAX)", STIX_PATTERN_CMP_MAX);
	if (is_word(ps, &t, "EXISTS")) {
		ps->pos = t.end;
		exists = true;
	}
	if ((rv = object_path(ps, &kind)) != 0)
		return rv;
	if (exists) {
		why = "EXISTS says only that the property is there";
		goto record;
	}
	if ((rv = lex(ps, &op)) != 0)
		return rv;
	if (is_word(ps, &op, "NOT")) {
		not = true;
		ps->pos = op.end;
		if ((rv = lex(ps, &op)) != 0)
			return rv;
	}
	bool may_name = (kind == PATH_NAME || kind == PATH_URL) && !not;
	if (is_word(ps, &op, "IN")) {
		ps->pos = op.end;
		if ((rv = expect(ps, T_LPAREN, "`(' opening the set after IN", &t)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (t.t == T_RPAREN) {
			ps->pos = t.end;
			empty = true;
		} else {
			for (;;) {
				if ((rv = literal(ps, &t, &str)) != 0)
					return rv;
				all_str &= str;
				empty |= str && t.len == 0;
				if (may_name && str && (rv = add_value(ps, &t)) != 0)
					return rv;
				n++;
				if ((rv = lex(ps, &t)) != 0)
					return rv;
				ps->pos = t.end;
				if (t.t == T_RPAREN)
					break;
				if (t.t != T_COMMA)
					return expected(ps, &t, "`,' or `)' in the set");
			}
		}
		why = empty && n == 0 ? "an empty set names nothing" : NULL;
	} else if (op.t == T_OP ||
	           is_word(ps, &op, "LIKE") || is_word(ps, &op, "MATCHES") || is_word(ps, &op, "ISSUBSET") ||
	           is_word(ps, &op, "ISSUPERSET")) {
		ps->pos = op.end;
		if ((rv = literal(ps, &t, &str)) != 0)
			return rv;
		all_str = str;
		empty = str && t.len == 0;
		n = 1;
		bool eq = op.t == T_OP && op.len == 1 && ps->p[op.off] == '=';
		if (eq && may_name && str && (rv = add_value(ps, &t)) != 0)
			return rv;
		if (eq)
			;
		else if (op.t != T_OP)
			why = ps->p[op.off] == 'L'   ? "LIKE matches names by a wildcard, not one name"
			      : ps->p[op.off] == 'M' ? "MATCHES matches names by a regular expression, not one name"
			                             : "ISSUBSET and ISSUPERSET compare address ranges, not names";
		else if (ps->p[op.off] == '!')
			why = "`!=' matches every name but this one";
		else
			why = "an ordering (<, <=, >, >=) names a range of values, not one name";
	} else {
		return expected(ps, &op, "an operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)");
	}
	if (why)
		;
	else if (not)
		why = "NOT: a negated comparison matches every name but these";
	else if (kind == PATH_IP)
		why = "an IP address, not a domain name";
	else if (kind == PATH_OTHER)
		why = "an object or property other than domain-name:value and url:value names no domain";
	else if (!all_str)
		why = "a value that is not a string literal names no domain";
	else if (empty)
		why = "an empty string names no domain";
record:
	if (why)
		o->nvalues = first; /* values of a comparison that names none */
	struct stix_cmp *c = &o->cmp[o->ncmp++];
	*c = (struct stix_cmp){.text = {start, ps->pos - start}, .why = why, .ip = kind == PATH_IP};
	if (!why) {
		c->use = kind == PATH_URL ? STIX_CMP_URL : STIX_CMP_NAME;
		c->first = first;
		c->n = o->nvalues - first;
	}
	return 0;
}

static int cmp_or(struct parser *ps);

/* propTest, or `(' comparisonExpression `)'. */
static int cmp_unit(struct parser *ps)
{
	struct token t;
	int rv;
	if ((rv = lex(ps, &t)) != 0)
		return rv;
	if (t.t != T_LPAREN)
		return comparison(ps);
	if ((rv = enter(ps, t.off)) != 0)
		return rv;
	ps->pos = t.end;
	if ((rv = cmp_or(ps)) != 0 || (rv = expect(ps, T_RPAREN, "AND, OR or `)' closing the group", &t)) != 0)
		return rv;
	ps->depth--;
	return 0;
}

static int cmp_and(struct parser *ps)
{
	struct token t;
	const char *prev = NULL;
	size_t prev_at = 0;
	int rv;
	for (;;) {
		size_t from = ps->out->ncmp;
		if ((rv = cmp_unit(ps)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (!chain(ps, from, &t, "AND", &prev, &prev_at))
			return 0;
		ps->pos = t.end;
	}
}

static int cmp_or(struct parser *ps)
{
	struct token t;
	int rv;
	for (;;) {
		if ((rv = cmp_and(ps)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (!is_word(ps, &t, "OR"))
			return 0;
		ps->pos = t.end;
	}
}

static int obs_exprs(struct parser *ps);

/* START t'' STOP t'', WITHIN n SECONDS, REPEATS n TIMES (9.5). */
static int qualifier(struct parser *ps, size_t from, const struct token *q)
{
	struct token t;
	int rv;
	ps->pos = q->end;
	if (is_word(ps, q, "START")) {
		bind_to(ps, from, "START", q->off);
		if ((rv = expect(ps, T_TYPED, "a timestamp t'...' after START", &t)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (!is_word(ps, &t, "STOP"))
			return expected(ps, &t, "STOP after START's timestamp");
		ps->pos = t.end;
		return expect(ps, T_TYPED, "a timestamp t'...' after STOP", &t);
	}
	bool within = is_word(ps, q, "WITHIN");
	bind_to(ps, from, within ? "WITHIN" : "REPEATS", q->off);
	if ((rv = expect(ps, T_NUMBER, within ? "a number of seconds after WITHIN" : "a count after REPEATS", &t)) != 0 ||
	    (rv = lex(ps, &t)) != 0)
		return rv;
	if (!is_word(ps, &t, within ? "SECONDS" : "TIMES"))
		return expected(ps, &t, within ? "SECONDS" : "TIMES");
	ps->pos = t.end;
	return 0;
}

/* `[' comparisonExpression `]' or `(' observationExpressions `)', then
 * any qualifiers. */
static int obs_unit(struct parser *ps)
{
	struct token t;
	size_t from = ps->out->ncmp;
	int rv;
	if ((rv = lex(ps, &t)) != 0)
		return rv;
	if (t.t != T_LBRACK && t.t != T_LPAREN)
		return expected(ps, &t, "an observation (`[') or a group (`(')");
	if ((rv = enter(ps, t.off)) != 0)
		return rv;
	ps->pos = t.end;
	if (t.t == T_LBRACK) {
		if ((rv = cmp_or(ps)) != 0 || (rv = expect(ps, T_RBRACK, "AND, OR or `]' closing the observation", &t)) != 0)
			return rv;
	} else if ((rv = obs_exprs(ps)) != 0 ||
	           (rv = expect(ps, T_RPAREN, "AND, OR, FOLLOWEDBY or `)' closing the group", &t)) != 0) {
		return rv;
	}
	ps->depth--;
	for (;;) {
		if ((rv = lex(ps, &t)) != 0)
			return rv;
		if (!is_word(ps, &t, "START") && !is_word(ps, &t, "WITHIN") && !is_word(ps, &t, "REPEATS"))
			return 0;
		if ((rv = qualifier(ps, from, &t)) != 0)
			return rv;
	}
}

static int obs_and(struct parser *ps)
{
	struct token t;
	const char *prev = NULL;
	size_t prev_at = 0;
	int rv;
	for (;;) {
		size_t from = ps->out->ncmp;
		if ((rv = obs_unit(ps)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (!chain(ps, from, &t, "AND", &prev, &prev_at))
			return 0;
		ps->pos = t.end;
	}
}

static int obs_or(struct parser *ps)
{
	struct token t;
	int rv;
	for (;;) {
		if ((rv = obs_and(ps)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (!is_word(ps, &t, "OR"))
			return 0;
		ps->pos = t.end;
	}
}

static int obs_exprs(struct parser *ps)
{
	struct token t;
	const char *prev = NULL;
	size_t prev_at = 0;
	int rv;
	for (;;) {
		size_t from = ps->out->ncmp;
		if ((rv = obs_or(ps)) != 0 || (rv = lex(ps, &t)) != 0)
			return rv;
		if (!chain(ps, from, &t, "FOLLOWEDBY", &prev, &prev_at))
			return 0;
		ps->pos = t.end;
	}
}

int stix_pattern_parse(const char *p, size_t len, struct stix_pattern *out, char *err, size_t errlen)
{
	struct parser ps = {.p = p, .len = len, .out = out, .err = err, .errlen = errlen};
	const char *nul;
	struct token t;
	int rv;

	out->ncmp = out->nvalues = 0;
	if (len > STIX_PATTERN_MAX) {
		snprintf(err, errlen, "a pattern of %zu bytes, over the %d read (STIX_PATTERN_MAX)", len, STIX_PATTERN_MAX);
		return AM_ETOOBIG;
	}
	if ((nul = memchr(p, '\0', len)) != NULL)
		return fail(&ps, AM_EDECODE, (size_t)(nul - p), "a NUL byte");
	if ((rv = obs_exprs(&ps)) != 0)
		return rv;
	if ((rv = lex(&ps, &t)) != 0)
		return rv;
	if (t.t != T_EOF)
		return expected(&ps, &t, "OR, AND, FOLLOWEDBY or the end of the pattern");
	return 0;
}

size_t stix_pattern_value(const char *p, struct stix_span v, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = v.off; i < v.off + v.len; i++) {
		if (p[i] == '\\')
			i++; /* the lexer let only \' and \\ through */
		if (o + 1 < cap)
			out[o] = p[i];
		o++;
	}
	out[o < cap ? o : cap - 1] = '\0';
	return o;
}

/* httpreq.c - HTTP/1.x request heads: one byte-at-a-time scanner with caps. */
#include "httpreq.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 section 5.6.2: token characters. */
static bool tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* "HTTP/1.0" and "HTTP/1.1" -> minor; another well-formed version -> -505;
 * anything else -> -400. */
static int version_minor(const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		return -400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return -505;
	return v[7] - '0';
}

enum state { METHOD, TARGET, VERSION, LINE_CR, HDR_START, HDR_NAME, HDR_VALUE, HDR_CR, END_CR };

int httpreq_parse(const char *buf, size_t len, struct httpreq *req)
{
	enum state st = METHOD;
	char method[HTTPREQ_METHOD_MAX + 1], target[HTTPREQ_TARGET_MAX + 1], version[8];
	char name[5];
	size_t mlen = 0, tlen = 0, vlen = 0, nlen = 0, nhdr = 0, i;
	int minor = -1, hosts = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (i >= HTTPREQ_HEAD_MAX)
			return 431;
		switch (st) {
		case METHOD:
			if (c == ' ') {
				if (mlen == 0)
					return 400;
				st = TARGET;
			} else if (!tchar(c)) {
				return 400;
			} else if (mlen == HTTPREQ_METHOD_MAX) {
				return 501;
			} else {
				method[mlen++] = (char)c;
			}
			break;
		case TARGET:
			if (c == ' ' && tlen > 0) {
				st = VERSION;
			} else if (c < 0x21 || c > 0x7e || (tlen == 0 && c != '/')) {
				return 400; /* origin-form only: "/..." of visible ASCII */
			} else if (tlen == HTTPREQ_TARGET_MAX) {
				return 414;
			} else {
				target[tlen++] = (char)c;
			}
			break;
		case VERSION:
			if (c == '\r' || c == '\n') {
				if ((minor = version_minor(version, vlen)) < 0)
					return -minor;
				st = c == '\r' ? LINE_CR : HDR_START;
			} else if (vlen == sizeof version) {
				return 400;
			} else {
				version[vlen++] = (char)c;
			}
			break;
		case LINE_CR:
		case HDR_CR:
			if (c != '\n')
				return 400; /* a CR alone inside a line */
			st = HDR_START;
			break;
		case HDR_START:
			if (nlen == 4 && strncasecmp(name, "host", 4) == 0)
				hosts++;
			nlen = 0;
			if (c == '\r') {
				st = END_CR;
			} else if (c == '\n') {
				goto done;
			} else if (!tchar(c)) {
				return 400; /* includes obs-fold (a line starting with SP or HT) */
			} else if (++nhdr > HTTPREQ_HEADERS_MAX) {
				return 431;
			} else {
				name[nlen++] = (char)c;
				st = HDR_NAME;
			}
			break;
		case HDR_NAME:
			if (c == ':')
				st = HDR_VALUE;
			else if (!tchar(c))
				return 400; /* no space before the colon (RFC 9112 section 5.1) */
			else if (nlen < sizeof name)
				name[nlen++] = (char)c; /* a 5th byte marks "longer than host" */
			break;
		case HDR_VALUE:
			if (c == '\r')
				st = HDR_CR;
			else if (c == '\n')
				st = HDR_START;
			else if (c != '\t' && (c < 0x20 || c == 0x7f))
				return 400;
			break;
		case END_CR:
			if (c != '\n')
				return 400;
			goto done;
		}
	}
	return len >= HTTPREQ_HEAD_MAX ? 431 : HTTPREQ_MORE;
done:
	if (hosts > 1 || (minor == 1 && hosts == 0))
		return 400;
	memset(req, 0, sizeof *req);
	memcpy(req->method_text, method, mlen);
	if (mlen == 3 && memcmp(method, "GET", 3) == 0)
		req->method = HTTPREQ_GET;
	else if (mlen == 4 && memcmp(method, "HEAD", 4) == 0)
		req->method = HTTPREQ_HEAD;
	else
		req->method = HTTPREQ_OTHER;
	memcpy(req->target, target, tlen);
	req->minor = minor;
	req->head_len = i + 1;
	return HTTPREQ_OK;
}

bool httpreq_target_is(const struct httpreq *req, const char *path)
{
	size_t n = strlen(path);
	return strncmp(req->target, path, n) == 0 && (req->target[n] == '\0' || req->target[n] == '?');
}

const char *httpreq_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* timefmt.c - strict parsers and printers for times, durations and sizes. */
#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads a run of decimal digits into *v. Returns the number of digits read,
 * 0 when there are none, or -1 on uint64 overflow. */
static int read_uint(const char **sp, uint64_t *v)
{
	const char *s = *sp;
	uint64_t acc = 0;
	int n = 0;

	for (; is_digit(*s); s++, n++) {
		unsigned d = (unsigned)(*s - '0');
		if (acc > (UINT64_MAX - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*sp = s;
	*v = acc;
	return n;
}

/* Units in the only order they may appear: "1d12h" is a duration, "12h1d"
 * is almost certainly a typo, and refusing it costs nothing. */
static const struct {
	char unit;
	uint64_t secs;
} duration_units[] = {
	{ 'y', 365 * 86400 }, /* a calendar-free year: "keep 1y", "since 100y" */
	{ 'w', 7 * 86400 },
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};
#define DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

int timefmt_parse_duration(const char *s, uint64_t *secs)
{
	uint64_t total = 0;
	size_t next_unit = 0; /* index of the largest unit still allowed */

	if (s == NULL || *s == '\0')
		return AM_ETIME;
	while (*s != '\0') {
		uint64_t n;
		size_t u;

		if (read_uint(&s, &n) <= 0)
			return AM_ETIME; /* no number, a sign, or overflow */
		for (u = next_unit; u < DURATION_UNITS; u++)
			if (duration_units[u].unit == *s)
				break;
		if (u == DURATION_UNITS)
			return AM_ETIME; /* no unit, unknown unit or out of order */
		if (n > UINT64_MAX / duration_units[u].secs ||
		    total > UINT64_MAX - n * duration_units[u].secs)
			return AM_ETIME;
		total += n * duration_units[u].secs;
		next_unit = u + 1;
		s++;
	}
	*secs = total;
	return 0;
}

/* Exactly n digits, as RFC 3339 fixes every field's width. */
static int fixed_digits(const char **sp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*sp)[i]))
			return -1;
		v = v * 10 + ((*sp)[i] - '0');
	}
	*sp += n;
	*out = v;
	return 0;
}

static bool expect(const char **sp, char c)
{
	if (**sp != c)
		return false;
	(*sp)++;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int timefmt_parse_rfc3339(const char *s, uint64_t *unix_secs)
{
	int year, mon, day, hour, min, sec, off_h = 0, off_m = 0;
	int64_t offset = 0;
	struct tm tm;
	time_t t;

	if (s == NULL)
		return AM_ETIME;
	if (fixed_digits(&s, 4, &year) || !expect(&s, '-') ||
	    fixed_digits(&s, 2, &mon) || !expect(&s, '-') ||
	    fixed_digits(&s, 2, &day))
		return AM_ETIME;
	/* RFC 3339 section 5.6 allows 't' and, by note, a space. */
	if (*s != 'T' && *s != 't' && *s != ' ')
		return AM_ETIME;
	s++;
	if (fixed_digits(&s, 2, &hour) || !expect(&s, ':') ||
	    fixed_digits(&s, 2, &min) || !expect(&s, ':') ||
	    fixed_digits(&s, 2, &sec))
		return AM_ETIME;
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return AM_ETIME;
		while (is_digit(*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;
		if (fixed_digits(&s, 2, &off_h) || !expect(&s, ':') ||
		    fixed_digits(&s, 2, &off_m) || off_h > 23 || off_m > 59)
			return AM_ETIME;
		offset = sign * ((int64_t)off_h * 3600 + off_m * 60);
	} else {
		return AM_ETIME; /* a time without a zone is ambiguous */
	}
	if (*s != '\0')
		return AM_ETIME;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
	    hour > 23 || min > 59 || sec > 60)
		return AM_ETIME;

	/* timegm folds a leap second (sec 60) into the next minute, which is
	 * what POSIX time does anyway. */
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* "14:00+02:00" is 12:00Z: the offset is subtracted. Times before the
	 * epoch have no uint64 form. */
	if ((int64_t)t - offset < 0)
		return AM_ETIME;
	*unix_secs = (uint64_t)((int64_t)t - offset);
	return 0;
}

int timefmt_parse_size(const char *s, uint64_t *bytes)
{
	uint64_t n;
	unsigned shift = 0;

	if (s == NULL || read_uint(&s, &n) <= 0)
		return AM_ETIME;
	switch (*s) {
	case '\0':
		break;
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	default:
		return AM_ETIME;
	}
	if (shift != 0 && *++s != '\0')
		return AM_ETIME;
	if (n > (UINT64_MAX >> shift))
		return AM_ETIME;
	*bytes = n << shift;
	return 0;
}

void timefmt_rfc3339(uint64_t unix_secs, char out[TIMEFMT_LEN])
{
	struct tm tm;
	time_t t = (time_t)unix_secs;

	/* Beyond what struct tm can hold there is no honest date to print. */
	if (unix_secs > (uint64_t)INT64_MAX || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, TIMEFMT_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIMEFMT_LEN, "(invalid time)");
}

void timefmt_rfc3339_us(uint64_t unix_us, char out[TIMEFMT_LEN])
{
	timefmt_rfc3339(unix_us / 1000000, out);
	/* the fraction goes before the final Z: 20 characters become 27, and
	 * TIMEFMT_LEN is 32 ("(invalid time)" has no Z and stays as it is) */
	size_t n = strlen(out);
	if (n == 0 || out[n - 1] != 'Z' || n + 7 >= TIMEFMT_LEN)
		return;
	snprintf(out + n - 1, TIMEFMT_LEN - (n - 1), ".%06uZ", (unsigned)(unix_us % 1000000));
}

void timefmt_duration(uint64_t secs, char out[TIMEFMT_LEN])
{
	/* Days at most, not weeks: "14d" reads better than "2w" in listings. */
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	size_t len = 0;

	out[0] = '\0';
	if (secs == 0) {
		snprintf(out, TIMEFMT_LEN, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		uint64_t n = secs / units[i].secs;
		if (n == 0)
			continue;
		secs -= n * units[i].secs;
		/* UINT64_MAX is "213503982334601d7h15s": 22 bytes, always fits. */
		len += (size_t)snprintf(out + len, TIMEFMT_LEN - len, "%llu%c",
		                        (unsigned long long)n, units[i].unit);
	}
}

uint64_t timefmt_now(void)
{
	time_t t = time(NULL);
	return t < 0 ? 0 : (uint64_t)t;
}

uint64_t timefmt_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

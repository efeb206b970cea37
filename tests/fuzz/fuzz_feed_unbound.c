/* fuzz_feed_unbound.c - fuzz target for Unbound configuration read as a blocklist (feed_resolver). */
#include "feed.h"
#define FEED_FORMAT FEED_UNBOUND
static const char *const seeds[] = {
	"server:\n  local-zone: \"evil.example.\" always_nxdomain\n  local-zone: \"r.example\" refuse # c\n",
	"local-zone: \"s.example\" static\nlocal-zone: \"t.example.\" transparent\nlocal-zone: \"x.example\" bogus\n",
	("local-zone: \"r.example\" redirect\nlocal-data: \"r.example A 0.0.0.0\"\nlocal-data: \"p.example 3600 IN A 192.0.2.1\"\n"
	 "local-data: 't.example TXT \"hi\"'\nlocal-data: \"n.example NS ns.example\"\nlocal-data-ptr: \"1.2.3.4 x.example\"\n"
	 "local-zone: \"*.w.example\" always_null\nlocal-zone:\nlocal-data: \"\n"),
};
#include "feed_fuzz.h"

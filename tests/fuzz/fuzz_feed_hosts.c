/* fuzz_feed_hosts.c - fuzz target for hosts files (feed_hosts). */
#include "feed.h"
#define FEED_FORMAT FEED_HOSTS
static const char *const seeds[] = {
	"127.0.0.1 localhost\n::1 localhost ip6-localhost\n0.0.0.0 ads.example a2.example # c\n",
	"0.0.0.0\n0.0.0.0 0.0.0.0\nnot-an-address name.example\n127.0.0.1\tTab.Example\r\n",
	"[::1] bracket.example\nfe80::1%eth0 zone.example\n",
};
#include "feed_fuzz.h"

/* fuzz_feed_adblock.c - fuzz target for adblock/uBlock lists (feed_adblock). */
#include "feed.h"
#define FEED_FORMAT FEED_ADBLOCK
static const char *const seeds[] = {
	"[Adblock Plus 2.0]\n! c\n||ads.example^\n||t.example^$third-party\n||p.example^|\n",
	"@@||ok.example^\nexample.com##.ad\n||a.example/p\n||*.w.example^\n/re[0-9]/\n||\n||x.example\n",
	"||1.2.3.4^\n|http://e.example/\n||h.example^$domain=a.example|b.example\n",
};
#include "feed_fuzz.h"

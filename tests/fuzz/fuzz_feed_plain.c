/* fuzz_feed_plain.c - fuzz target for plain name lists (feed_plain). */
#include "feed.h"
#define FEED_FORMAT FEED_PLAIN
static const char *const seeds[] = {
	"# list\nevil.example\nWWW.Evil.Example.\n\n192.0.2.1\nco.uk\ntwo words\nx.example # note\n",
	"\xef\xbb\xbf" "bom.example\r\nlast-without-newline.example",
	"m\xc3\xbcnchen.example\n*.wild.example\na..b\n",
};
#include "feed_fuzz.h"

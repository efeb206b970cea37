/* fuzz_feed_urls.c - fuzz target for URL lists (feed_urls, feed_url_host). */
#include "feed.h"
#define FEED_FORMAT FEED_URLS
static const char *const seeds[] = {
	"http://evil.example/x\nhttps://u:p@h.example:8443/a?b#c\nhxxp://def[.]example/\n",
	"https://\nhttp://[2001:db8::1]/\nhttp://[::1\nhost.example/path\\x\n",
	"ftp://a.example\nhttps://drive.google.com/file/d/x\nhttp://198.51.100.1/\n",
	"hxxps[:]//a[dot]b{.}c(.)d/x\nhttp://e%2ef%2Eg:80/\nhttp://%zz.example\nhttp://x%00y/\n"
	"hxxp://u[@]h[.]example[:]8443[/]p\nhttp://h.example:8a/\n[DOT](dot){dot}[.\n",
};
#include "feed_fuzz.h"

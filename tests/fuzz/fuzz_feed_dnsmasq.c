/* fuzz_feed_dnsmasq.c - fuzz target for dnsmasq configuration read as a blocklist (feed_resolver). */
#include "feed.h"
#define FEED_FORMAT FEED_DNSMASQ
static const char *const seeds[] = {
	"# c\naddress=/evil.example/0.0.0.0\naddress=/a.example/b.example/#\naddress=/nx.example/\n",
	"server=/s.example/\nlocal=/l.example/\nserver=/f.example/1.2.3.4#53\nserver=/u.example/#\nserver=8.8.8.8\n",
	("address=/*.w.example/::\naddress=/.d.example/127.0.0.1\naddress=/#/0.0.0.0\naddress=/p.example/93.184.216.34\n"
	 "address=//0.0.0.0\naddress=/\ncache-size=0\naddress\nserver\n"),
};
#include "feed_fuzz.h"

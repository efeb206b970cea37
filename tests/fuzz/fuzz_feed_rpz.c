/* fuzz_feed_rpz.c - fuzz target for RPZ zone files (feed_rpz). */
#include "feed.h"
#define FEED_FORMAT FEED_RPZ
static const char *const seeds[] = {
	"$TTL 300\n$ORIGIN rpz.example.\n@ IN SOA ns.example. h.example. (\n 1 60 60 432000 60 )\n"
	"  IN NS ns.example.\nevil.example CNAME .\n*.evil.example CNAME .\nx.example 300 IN CNAME *.\n",
	"a.example CNAME rpz-passthru.\nb.example A 192.0.2.1\n32.1.2.0.192.rpz-ip CNAME .\n"
	"abs.example.rpz.example. CNAME .\nout.example. CNAME .\n$INCLUDE x\n( unclosed\n",
	"t.example TXT \"a ; b\" ; c\n\\065.example CNAME .\n",
	/* a BIND dump: $ORIGIN changes for every parent */
	"$ORIGIN .\nrpz.example IN SOA localhost. h.localhost. 1 300 60 259200 60\n\t\t\tNS localhost.\n"
	"$ORIGIN app.rpz.example.\nx.netlify CNAME .\n$ORIGIN x.netlify.app.rpz.example.\n* CNAME .\n"
	"@ CNAME *.\n$ORIGIN other.\ny CNAME .\nesc\\. CNAME .\n",
};
#include "feed_fuzz.h"

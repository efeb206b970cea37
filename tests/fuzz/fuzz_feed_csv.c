/* fuzz_feed_csv.c - fuzz target for CSV feeds (feed_csv). */
#include "feed.h"
#define FEED_FORMAT FEED_CSV
static const char *const seeds[] = {
	"\xef\xbb\xbf# note;x\r\nDomain;Category;Confidence\r\n\"a;b.example\";phishing;80\r\nc.example;;\r\nd\r\n",
	"domain\tthreat\n\te.example\tbotnet_cc\n0.0.0.0\tdomain\n\"f\t.example\"\t\"x\"\"y\"\n",
	"# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"confidence_level\"\r\n"
	"\"2026-11-29 10:00:00\", \"1\", \"c2.example\", \"domain\", \"botnet_cc\", \"75\"\r\n"
	"\"2026-11-29 10:00:00\", \"2\", \"1.2.3.4:80\", \"ip:port\", \"botnet_cc\", \"None\"\r\n"
	"\"x\", \"3\", \"q\"uote.example\", \"domain\", \"botnet_cc\", \"75\"\r\n# Number of entries: 3\r\n",
	"# id,dateadded,url,threat\n\"1\",\"d\",\"http://m.example/a\",\"malware_download\"\n"
	"\"2\",\"d\",\"http://multi\nline.example/\",\"x\"\n\"3\",\"d\",\"http://unterminated/\n",
	"domain,include_subdomains,category,confidence,first_seen,expires,origin,id,tlp\r\n"
	"a.example,true,phishing,80,2026-11-30T00:00:00Z,2026-12-07T00:00:00Z,00,00\r\n"
	"\"b,c.example\",true,spam,101,x,bad-time,00,00\r\n",
	/* MISP's CSV export: to_ids, composite types */
	"uuid,event_id,category,type,value,comment,to_ids,date\r\n"
	"\"u\",\"1\",\"Network activity\",\"domain|ip\",\"d.example|192.0.2.1\",\"a\r\nb\",\"1\",\"1\"\r\n"
	"\"u\",\"1\",\"Network activity\",\"hostname|port\",\"|\",\"\",\"0\",\"1\"\r\n"
	"\"u\",\"1\",\"x\",\"domain\",\"e.example\",\"\",\"maybe\",\"1\"\r\n",
	/* ThreatFox's JSON export and API answer: the same records as JSON */
	"{\n \"1601234\": [{\"ioc_value\": \"c2.example\", \"ioc_type\": \"domain\", \"threat_type\": \"botnet_cc\", "
	"\"confidence_level\": 100, \"last_seen_utc\": null, \"tags\": [\"x\"]}],\n \"2\": {\"a\": 1},\n"
	" \"3\": [{\"ioc_value\": \"http://p.example/x\", \"ioc_type\": \"url\", \"to_ids\": true}, 7]\n}\n",
	"{\"query_status\": \"ok\", \"data\": [{\"id\": \"9\", \"ioc\": \"d.example\", \"ioc_type\": \"domain\", "
	"\"threat_type\": \"cc_skimming\", \"confidence_level\": 1.5}]}",
	/* URLhaus: url_status offline skipped; a stray quote closed by the next row's first quote */
	"# id,dateadded,url,url_status,last_online,threat,tags\n"
	"\"1\",\"d\",\"http://gone.example/a\",\"offline\",\"d\",\"malware_download\",\"exe,elf\"\n"
	"\"2\",\"d\",\"http://stray.example/\n\"3\",\"d\",\"http://next.example/\",\"online\",\"None\",\"x\",\"\"\n",
	"{\"3086187\": [{\"url\": \"http://gone.example/a.sh\", \"url_status\": \"OFFLINE\", \"threat\": "
	"\"malware_download\", \"x_a\": 1, \"x_b\": [1], \"Url_Status\": \"online\"}]}",
	/* PhishTank's JSON dump: slashes escaped, booleans, details[] */
	"[{\"phish_id\":8512301,\"url\":\"https:\\/\\/p.example\\/x\",\"verified\":\"yes\",\"online\":\"yes\","
	"\"details\":[{\"ip_address\":\"203.0.113.41\"}],\"target\":\"Other\"},{\"phish_id\":2,\"url\":\"http://q.example/\","
	"\"verified\":false,\"online\":true},{\"phish_id\":3,\"url\":\"\",\"online\":\"no\"},7]",
};
#include "feed_fuzz.h"

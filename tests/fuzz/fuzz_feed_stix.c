/* fuzz_feed_stix.c - fuzz target for STIX 2.1 bundles (feed_stix, through jansson). */
#include "feed.h"
#define FEED_FORMAT FEED_STIX
static const char *const seeds[] = {
	"{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--1\","
	"\"pattern\":\"[domain-name:value = 'a.example']\",\"pattern_type\":\"stix\",\"valid_until\":"
	"\"2099-01-01T00:00:00.000Z\",\"confidence\":80,\"labels\":[\"phishing\"],\"object_marking_refs\":"
	"[\"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421\"]},{\"type\":\"indicator\",\"id\":"
	"\"indicator--2\",\"pattern\":\"[url:value = 'http://x/']\",\"revoked\":true}]}",
	"[{\"type\":\"indicator\",\"id\":\"indicator--3\",\"pattern\":\"[domain-name:value = 'it\\\\'s']\","
	"\"confidence\":250},1,\"x\",{\"type\":\"identity\"}]",
	"{\"type\":\"indicator\",\"pattern\":\"[domain-name:value = 'b.example' OR domain-name:value = 'c']\"}",
	"{\"type\":\"bundle\",\"objects\":{}}",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"i--1\",\"pattern\":\"[domain-name:value = "
	"'a\\u0000b']\",\"pattern_type\":\"stix\"},{\"type\":\"indicator\",\"pattern\":42},17,{\"type\":\"indicator\","
	"\"pattern\":\"[domain-name:value = 'c.example']\",\"object_marking_refs\":[\"m\\u0000\"],"
	"\"valid_until\":\"2099-01-01T00:00:00Z\\u0000\"}]}",
	"{\"type\":\"indicator\",\"pattern\":\"(([domain-name:value = 'p.example'] OR [(domain-name:value = 'q') "
	"OR (domain-name:value='r')]))OR[domain-name:value = 's']\"}",
	"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"pattern\":\"[domain-name:value = 't.example']\","
	"\"object_marking_refs\":[\"m--1\",\"m--2\"]},{\"type\":\"marking-definition\",\"id\":\"m--1\","
	"\"definition_type\":\"TLP\",\"definition\":{\"TLP\":\"TLP:AMBER\"}},{\"type\":\"marking-definition\","
	"\"id\":\"m--2\",\"extensions\":{\"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d\":"
	"{\"tlp_2_0\":\"clear\"}}},{\"type\":\"marking-definition\",\"id\":\"m--1\",\"definition_type\":\"tlp\","
	"\"definition\":{\"tlp\":7}}]}",
	"[{\"type\":\"indicator\",\"id\":\"indicator--4\",\"pattern\":\"[domain-name:value = 'd.example']\","
	"\"valid_from\":\"2098-01-01T00:00:00Z\",\"valid_until\":\"2097-01-01T00:00:00.5Z\"},{\"type\":\"indicator\","
	"\"pattern\":\"[domain-name:value = 'e.example']\",\"valid_from\":\"2000-01-01T00:00:00Z\",\"valid_until\":"
	"\"2001-01-01T00:00:00Z\"},{\"type\":\"indicator\",\"pattern\":\"[domain-name:value = 'f.example']\","
	"\"valid_from\":7}]",
	/* OpenCTI's and MISP's: names ORed with addresses and hashes, and under AND */
	"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--5\",\"pattern\":"
	"\"[domain-name:value = 'g.example' OR ipv4-addr:value = '198.51.100.7']\"},{\"type\":\"indicator\","
	"\"pattern\":\"[url:value = 'http://h.example/x'] OR [file:hashes.'SHA-256' = 'ab'] OR (["
	"domain-name:value LIKE '%.i' OR domain-name:value IN ('j.example', 'k\\\\'s')])\"},{\"type\":\"indicator\","
	"\"pattern\":\"[domain-name:value = 'l.example' AND ipv4-addr:value = '192.0.2.1'] WITHIN 5 SECONDS\"}]}",
	/* bare names in an array: one error, not one per element */
	"[\"evil.example\", \"bad.test\", \"x\\u0000y\"]",
	/* a disjunct beside an AND group; lists written as one string; revoked spelt otherwise */
	"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"id\":\"indicator--6\",\"pattern\":"
	"\"[domain-name:value = 'm.example'] OR ([ipv4-addr:value = '1.2.3.4'] AND [file:hashes.MD5 = 'ab'])\","
	"\"labels\":\"malware\",\"object_marking_refs\":\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\","
	"\"revoked\":\"false\"},{\"type\":\"indicator\",\"pattern\":\"[domain-name:value = 'n' OR (domain-name:value = "
	"'o' AND x:y = 1)] REPEATS 2 TIMES\",\"indicator_types\":\"benign\",\"revoked\":\"maybe\","
	"\"object_marking_refs\":{\"x\":1},\"valid_until\":\"2027-02-01T00:00:00\"}]}",
};
#include "feed_fuzz.h"

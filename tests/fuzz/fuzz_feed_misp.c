/* fuzz_feed_misp.c - fuzz target for MISP events (feed_misp, through jansson). */
#include "feed.h"
#define FEED_FORMAT FEED_MISP
static const char *const seeds[] = {
	"{\"Event\":{\"uuid\":\"5f1c2d3e-0000-4aaa-8bbb-000000000001\",\"Tag\":[{\"name\":\"tlp:amber\"},"
	"{\"name\":\"amesh:category=\\\"phishing\\\"\"}],\"Attribute\":[{\"uuid\":\"u1\",\"type\":\"domain\","
	"\"to_ids\":true,\"value\":\"a.example\"},{\"uuid\":\"u2\",\"type\":\"url\",\"to_ids\":\"1\",\"value\":"
	"\"https://docs.google.com/x\"},{\"type\":\"domain|ip\",\"value\":\"b.example|1.2.3.4\",\"Tag\":"
	"[{\"name\":\"amesh:confidence=\\\"40\\\"\"},{\"name\":\"amesh:expires=\\\"2099-01-01T00:00:00Z\\\"\"}]}],"
	"\"Object\":[{\"Attribute\":[{\"type\":\"hostname\",\"to_ids\":false,\"value\":\"c.example\"}]}]}}",
	"{\"response\":[{\"Event\":{\"Attribute\":[{\"type\":\"md5\",\"value\":\"x\"},{\"type\":\"domain\","
	"\"deleted\":true,\"value\":\"d.example\"},{\"type\":\"domain\"}]}}]}",
	"{\"5f1c2d3e-0000-4aaa-8bbb-000000000001\":{\"info\":\"manifest\"}}",
	"{\"Event\":{\"Tag\":[{\"name\":\"tlp:clear\\u0000\"}],\"Attribute\":[{\"type\":\"domain\",\"value\":12},"
	"{\"type\":\"domain\",\"value\":\"a\\u0000b\"},{\"type\":7,\"value\":\"x\"},\"str\",{\"type\":\"url\","
	"\"value\":\"hxxps[:]//d[.]example/\"},{\"type\":\"domain\",\"value\":[1,{}]}]}}",
	/* an attribute search's answer */
	"{\"response\":{\"Attribute\":[{\"type\":\"domain\",\"to_ids\":true,\"value\":\"s.example\","
	"\"Event\":{\"distribution\":\"1\",\"Tag\":[{\"name\":\"tlp:amber\"}]}},{\"Event\":7},1]}}",
	"[\"evil.example\", \"bad.example\"]",
	/* flags and tags spelt otherwise */
	"{\"Event\":{\"Tag\":[\"tlp:red\",{\"name\":\"amesh:category=\\\"malware\\\"\"}],\"Attribute\":[{\"type\":"
	"\"domain\",\"to_ids\":\"no\",\"value\":\"e.example\"},{\"type\":\"domain\",\"deleted\":\"2\",\"value\":"
	"\"f.example\",\"Tag\":{\"name\":\"tlp:amber\"}}],\"Object\":[{\"deleted\":\"x\",\"Attribute\":[{\"type\":"
	"\"domain\",\"value\":\"g.example\"}]}]}}",
};
#include "feed_fuzz.h"

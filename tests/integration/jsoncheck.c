/*
 * jsoncheck.c - the integration tests' JSON parser: every line of stdin
 * must be one JSON value (jansson, duplicates refused), and `jsoncheck
 * PATH' prints the value at a dotted path (`signal.local_confidence',
 * `signals.0.domain') of each line, strings unquoted, so shell tests compare
 * parsed values instead of grepping text. Exit 0, or 1 with the line and
 * jansson's message on stderr.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *walk(json_t *v, const char *path)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save)) {
		char *end;
		long i = strtol(t, &end, 10);
		v = json_is_array(v) && *end == '\0' ? json_array_get(v, (size_t)i) : json_object_get(v, t);
	}
	return v;
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		json_error_t e;
		json_t *v;
		n++;
		if ((v = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e)) == NULL) {
			fprintf(stderr, "jsoncheck: line %zu: %s: %s", n, e.text, line);
			return 1;
		}
		for (int i = 1; i < argc; i++) {
			json_t *x = walk(v, argv[i]);
			if (!x)
				printf("(missing)\n");
			else if (json_is_string(x))
				printf("%s\n", json_string_value(x));
			else {
				char *s = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY);
				printf("%s\n", s ? s : "?");
				free(s);
			}
		}
		json_decref(v);
	}
	free(line);
	if (n == 0) {
		fprintf(stderr, "jsoncheck: no JSON on stdin\n");
		return 1;
	}
	return 0;
}

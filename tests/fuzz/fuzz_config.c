/* fuzz_config.c - the config parser over arbitrary bytes, via config_load_buffer. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

/* Whatever the input, a diagnostic names a line that exists (or 0 for the
 * whole file) and has something to say. */
struct check {
	unsigned lines;
};

static void diag(void *arg, const char *path, unsigned line, const char *msg)
{
	const struct check *c = arg;

	if (strcmp(path, "fuzz.conf") != 0 || line > c->lines || msg[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	struct check c = { 1 };
	int rv;

	for (size_t i = 0; i < size; i++)
		c.lines += data[i] == '\n';
	rv = config_load_buffer(&cfg, "fuzz.conf", "/fuzz", (const char *)data, size, diag, &c);
	if (rv != 0 && rv != AM_ECONFIG)
		abort();
	/* An accepted file must give a config the daemon can use as it is. */
	if (rv == 0 && (cfg.name[0] == '\0' || cfg.key_file[0] != '/' || cfg.data_dir[0] != '/' ||
	                strlen(cfg.control) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	                cfg.max_lifetime == 0 || cfg.sweep_interval == 0 || cfg.map_size == 0))
		abort();
	/* neighbours are owned by the config: free them or every mutant leaks */
	for (size_t i = 0; rv == 0 && i < cfg.n_neighbours; i++)
		if (cfg.neighbours[i].name[0] == '\0')
			abort();
	config_free(&cfg);
	return 0;
}

/* The template `amesh init` writes, made by the real writer. */
static size_t template_seed(uint8_t *buf, size_t cap)
{
	char dir[] = "/tmp/fuzz-config-XXXXXX", path[sizeof dir + 16], err[AM_ERRLEN];
	size_t n = 0;
	int fd;

	if (mkdtemp(dir) == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/amesh.conf", dir);
	if (config_write_default(path, "seed-peer", "tcp://0.0.0.0:7000", err, sizeof err) == 0) {
		/* Read back the template just written, then remove it. */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, buf, cap);
			n = r > 0 ? (size_t)r : 0;
			close(fd);
		}
		unlink(path);
	}
	rmdir(dir);
	if (n == 0) {
		/* No temp dir: still a valid seed, as 0 would end the seed list. */
		static const char fallback[] = "[peer]\nname = a\n";
		n = sizeof fallback - 1 < cap ? sizeof fallback - 1 : cap;
		memcpy(buf, fallback, n);
	}
	return n;
}

static const char *const seeds[] = {
	/* neighbour sections: the mesh's policies */
	"[peer]\nname = a\nlisten = tcp://127.0.0.1:7400\n\n[neighbour apnic]\n"
	"endpoint = tcp://10.0.0.1:7400\nexport.categories = phishing, malware\n"
	"export.min_confidence = 50\nexport.origins = own\nexport.domains = asia, kids\n"
	"export.max_tlp = amber\nimport.categories = all\nimport.confidence_cap = 80\n"
	"import.origins = neighbour\nimport.quota = 1000\n\n[neighbour cert-xx]\n"
	"export.categories = none\nimport.categories = spam\nimport.origins = apnic, cert-xx\n",
	"[neighbour b]\nexport.categories = all\n[neighbour b]\n[peer]\nname = b\n",

	/* every option, in the forms people write */
	"; peer\n[peer]\nname = p1\nkey = /etc/amesh/amesh.key\ndata_dir = data\n"
	"control = run/amesh.sock\nlisten = tcp://[::]:7000\nmax_lifetime = 1d12h\n"
	"sweep_interval = 60s\nmap_size = 64M\ndefault_tlp = amber+strict\n",
	/* CRLF, a BOM, indentation, ':' and inline comments */
	"\xef\xbb\xbf[peer]\r\n  name: p2 ; the name\r\n\tlisten = tcp://:1\r\n",
	/* syntax errors of both kinds */
	"[peer]\nname = a\nno equals here\n[broken\n=\n[]\n",
	/* unknown section and option, duplicates, a key before any section */
	"key = k\n[peer]\nname = a\nname = b\nfoo = 1\n[other]\nx = 1\ny = 2\n",
	/* every value wrong */
	"[peer]\nname = bad name\nkey =\nmax_lifetime = 90days\nsweep_interval = 0s\n"
	"map_size = 1P\ndefault_tlp = purple\nlisten = udp://x:1\ncontrol = "
	"0123456789012345678901234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789\n",
	/* a control byte in a value, a NUL-free but odd line */
	"[peer]\nname = a\x1b[0m\n[peer]\n\x7f = \xff\n",
};

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	size_t n;

	if (i == 0)
		return template_seed(buf, cap);
	if (i == 1) {
		/* a line just over CONFIG_LINE_MAX, then an error after it */
		static const char tail[] = "\n[peer]\nname = a\nbogus = 1\n";
		n = CONFIG_LINE_MAX + 1;
		if (n + sizeof tail > cap)
			return 0;
		memset(buf, '#', n);
		memcpy(buf + n, tail, sizeof tail - 1);
		return n + sizeof tail - 1;
	}
	i -= 2;
	if (i >= sizeof seeds / sizeof seeds[0])
		return 0;
	n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}

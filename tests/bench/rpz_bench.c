/*
 * rpz_bench.c - speed figures for the RPZ primary (rpz_bench.sh drives it).
 *
 *   rpz-bench race PORT NAME CMD...   runs CMD, then from the moment it
 *       returns asks the resolver at 127.0.0.1:PORT for NAME every 200 us
 *       until it answers NXDOMAIN; prints the microseconds (-1 after 20 s).
 *   rpz-bench scale N PORT            in-process: N rules from a store of N
 *       signals - full zone build, AXFR over TCP, one change, its IXFR;
 *       prints times, bytes and ratios.
 *
 * A figure, never an assertion: timing checks flake on a shared machine.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "domain.h"
#include "rpz.h"
#include "store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 1 = NXDOMAIN, 0 = something else, -1 = no answer in time */
static int ask(int fd, const struct sockaddr_in *to, const uint8_t *q, size_t ql, uint16_t id)
{
	uint8_t a[1500];
	if (sendto(fd, q, ql, 0, (const struct sockaddr *)to, sizeof *to) < 0)
		return -1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		if (poll(&p, 1, 100) != 1)
			return -1;
		ssize_t n = recv(fd, a, sizeof a, 0);
		if (n < 12 || (a[0] << 8 | a[1]) != id)
			continue; /* a late answer to an earlier query */
		return (a[3] & 0xf) == LDNS_RCODE_NXDOMAIN;
	}
}

static int race(uint16_t port, const char *name, char **cmd)
{
	ldns_pkt *p = NULL;
	uint8_t *q = NULL;
	size_t ql;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	pid_t pid = fork();
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	double t0 = now_s();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "rpz-bench: %s failed\n", cmd[0]);
		return 1;
	}
	for (uint16_t id = 1;; id++) {
		ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
		ldns_pkt_set_id(p, id);
		ldns_pkt2wire(&q, p, &ql);
		int r = ask(fd, &to, q, ql, id);
		free(q);
		ldns_pkt_free(p);
		double t = now_s() - t0;
		if (r == 1) {
			printf("%.0f\n", t * 1e6);
			return 0;
		}
		if (t > 20) {
			printf("-1\n");
			return 0;
		}
		usleep(200);
	}
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static void put(struct store *s, size_t first, size_t n, uint64_t now, uint64_t *version)
{
	enum { BATCH = 5000 };
	static struct am_indicator ind[BATCH];
	static struct store_update u[BATCH];
	static uint8_t env[BATCH][32], id[BATCH][AM_ID_BYTES];
	static int results[BATCH];

	for (size_t done = 0; done < n;) {
		size_t k = n - done < BATCH ? n - done : BATCH;
		for (size_t i = 0; i < k; i++) {
			memset(&ind[i], 0, sizeof ind[i]);
			memset(ind[i].origin, 1, AM_KEY_BYTES);
			snprintf(ind[i].domain, sizeof ind[i].domain, "host%zu.example%zu.com", first + done + i,
			         (first + done + i) % 1000);
			ind[i].category = AM_CAT_PHISHING;
			ind[i].confidence = 90;
			ind[i].issued_at = now - 10;
			ind[i].expires_at = now + 86400;
			ind[i].version = (*version)++;
			ind[i].tlp = AM_TLP_GREEN;
			snprintf((char *)env[i], sizeof env[i], "%zu", first + done + i);
			crypto_generichash(id[i], AM_ID_BYTES, env[i], sizeof env[i], NULL, 0);
			u[i] = (struct store_update){.ind = &ind[i], .id = id[i], .env = env[i], .env_len = sizeof env[i]};
		}
		if (store_apply(s, u, k, now, results, NULL) != 0) {
			fprintf(stderr, "rpz-bench: store_apply failed (map too small?)\n");
			exit(1);
		}
		done += k;
	}
}

/* Sends one query over TCP and reads until the transfer ends (the SOA that
 * opened it comes back last); returns bytes, *rrs gets the records. */
static size_t transfer(uint16_t port, ldns_rr_type type, uint32_t serial, size_t *rrs)
{
	static uint8_t msg[65536];
	ldns_pkt *p = NULL;
	uint8_t *q = NULL, len2[2];
	size_t ql, bytes = 0;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint32_t first = 0;
	size_t soas = 0;

	*rrs = 0;
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
		return 0;
	ldns_pkt_query_new_frm_str(&p, "rpz.bench.", type, LDNS_RR_CLASS_IN, 0);
	if (type == LDNS_RR_TYPE_IXFR) {
		char text[128];
		ldns_rr *rr = NULL;
		snprintf(text, sizeof text, "rpz.bench. 0 IN SOA a. b. %u 1 1 1 1", serial);
		ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	ldns_pkt2wire(&q, p, &ql);
	ldns_pkt_free(p);
	len2[0] = (uint8_t)(ql >> 8);
	len2[1] = (uint8_t)ql;
	if (send(fd, len2, 2, 0) != 2 || send(fd, q, ql, 0) != (ssize_t)ql)
		goto out;
	for (;;) {
		size_t got = 0, n;
		while (got < 2) {
			ssize_t r = recv(fd, len2 + got, 2 - got, 0);
			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		n = (size_t)len2[0] << 8 | len2[1];
		for (got = 0; got < n;) {
			ssize_t r = recv(fd, msg + got, n - got, 0);
			if (r <= 0)
				goto out;
			got += (size_t)r;
		}
		bytes += n + 2;
		/* walk the answer records without building them */
		size_t an = (size_t)(msg[6] << 8 | msg[7]), pos = 12;
		while (pos < n && msg[pos] != 0) /* the question name */
			pos += 1u + msg[pos];
		pos += 5;
		bool last = false;
		for (size_t i = 0; i < an && pos < n; i++) {
			while (pos < n && msg[pos] != 0 && (msg[pos] & 0xc0) != 0xc0)
				pos += 1u + msg[pos];
			pos += (pos < n && msg[pos] == 0) ? 1 : 2;
			unsigned t = (unsigned)(msg[pos] << 8 | msg[pos + 1]);
			size_t rdlen = (size_t)(msg[pos + 8] << 8 | msg[pos + 9]);
			if (t == LDNS_RR_TYPE_SOA) {
				/* serial: after two uncompressed names in the rdata */
				size_t r = pos + 10;
				for (int k = 0; k < 2; k++) {
					while (msg[r] != 0)
						r += 1u + msg[r];
					r++;
				}
				uint32_t sr = (uint32_t)msg[r] << 24 | (uint32_t)msg[r + 1] << 16 |
				              (uint32_t)msg[r + 2] << 8 | msg[r + 3];
				if (soas++ == 0)
					first = sr;
				else if (sr == first && i + 1 == an)
					last = true;
			}
			pos += 10 + rdlen;
			(*rrs)++;
		}
		if (last || (soas == 1 && *rrs == 1))
			break;
	}
out:
	free(q);
	close(fd);
	return bytes;
}

static int scale(size_t n, uint16_t port)
{
	char root[] = "/tmp/rpz-bench.XXXXXX", sdir[64], rdir[64], err[AM_ERRLEN], text[64];
	struct store *s = NULL;
	struct rpz *r = NULL;
	struct dns *d = NULL;
	struct config cfg = {0};
	struct config_rpz z = {0};
	struct rpz_result res;
	uint64_t now = (uint64_t)time(NULL), version = 1;
	size_t rrs;

	if (mkdtemp(root) == NULL)
		return 1;
	snprintf(sdir, sizeof sdir, "%s/db", root);
	snprintf(rdir, sizeof rdir, "%s/rpz", root);
	if (store_open(&s, sdir, 8ull << 30, err, sizeof err) != 0 ||
	    rpz_open(&r, rdir, 8ull << 30, err, sizeof err) != 0) {
		fprintf(stderr, "rpz-bench: %s\n", err);
		return 1;
	}
	snprintf(z.name, sizeof z.name, "bench");
	snprintf(z.zone, sizeof z.zone, "rpz.bench");
	z.categories = 1u << AM_CAT_PHISHING;
	z.min_score = 50;
	z.ttl = z.refresh = 300;
	z.retry = z.minimum = 60;
	z.expire = 259200;
	config_prefix_parse("127.0.0.1", &z.allow_transfer[0], err, sizeof err);
	z.n_allow_transfer = 1;
	snprintf(text, sizeof text, "127.0.0.1:%u", port);
	config_addr_parse(text, 0, &cfg.dns_listen[0], err, sizeof err);
	cfg.n_dns_listen = 1;
	cfg.rpz = &z;
	cfg.n_rpz = 1;
	if (dns_open(&d, &cfg, r, err, sizeof err) != 0) {
		fprintf(stderr, "rpz-bench: %s\n", err);
		return 1;
	}
	struct rpz_judge j = {.store = s};
	double t0 = now_s();
	put(s, 0, n, now, &version);
	double t1 = now_s();
	if (rpz_update(r, &z, &j, NULL, 0, now, &res, err, sizeof err) != 0) {
		fprintf(stderr, "rpz-bench: %s\n", err);
		return 1;
	}
	double t2 = now_s();
	size_t axfr = transfer(port, LDNS_RR_TYPE_AXFR, 0, &rrs);
	double t3 = now_s();
	size_t axfr_rrs = rrs;
	uint32_t before = res.serial;
	put(s, n, 1, now, &version);
	char name[64];
	snprintf(name, sizeof name, "host%zu.example%zu.com", n, n % 1000);
	const char *names[] = {name};
	double t4 = now_s();
	rpz_update(r, &z, &j, names, 1, now, &res, err, sizeof err);
	double t5 = now_s();
	size_t ixfr = transfer(port, LDNS_RR_TYPE_IXFR, before, &rrs);
	double t6 = now_s();
	printf("# %zu rules (store filled in %.1f s)\n", n, t1 - t0);
	printf("zone build (full, from the store)   %8.2f s   %.0f rules/s\n", t2 - t1, (double)n / (t2 - t1));
	printf("AXFR over TCP                       %8.2f s   %zu bytes, %zu records, %.0f records/s\n",
	       t3 - t2, axfr, axfr_rrs, (double)axfr_rrs / (t3 - t2));
	printf("one change: judge + journal         %8.2f ms\n", (t5 - t4) * 1e3);
	printf("its IXFR over TCP                   %8.2f ms   %zu bytes, %zu records\n", (t6 - t5) * 1e3, ixfr,
	       rrs);
	printf("IXFR / AXFR                         bytes 1/%.0f, time 1/%.0f\n", (double)axfr / (double)ixfr,
	       (t3 - t2) / (t6 - t5));
	dns_close(d);
	rpz_close(r);
	store_close(s);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(int argc, char **argv)
{
	char err[AM_ERRLEN];

	if (sodium_init() < 0 || domain_init(err, sizeof err) != 0)
		return 1;
	if (argc >= 4 && strcmp(argv[1], "race") == 0)
		return race((uint16_t)atoi(argv[2]), argv[3], argv + 4);
	if (argc == 4 && strcmp(argv[1], "scale") == 0)
		return scale((size_t)strtoull(argv[2], NULL, 10), (uint16_t)atoi(argv[3]));
	fprintf(stderr, "usage: rpz-bench race PORT NAME CMD... | scale N PORT\n");
	return 2;
}

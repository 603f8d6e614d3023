// SPDX-License-Identifier: Apache-2.0
/*
 * The floor for the xfrm part of a reconcile: N xfrm policies (default
 * 10000, out policies as encryption compiles them: any -> a /24, the
 * encryption mark of their key, one ESP tunnel template with sluice's
 * reqid) written, read and removed
 *   - by the xfrm backend (src/datapath/xfrm.c): xfrm_batch adds,
 *     xfrm_policy_observe, xfrm_batch removes;
 *   - by iproute2: `ip -batch` of N `xfrm policy add` lines, `ip xfrm
 *     policy list` (to /dev/null), `ip -batch` of N `xfrm policy delete`
 *     lines, and `ip xfrm policy flush` (one request for all).
 * Everything runs in a network namespace of this process's own (unshare),
 * so nothing shows on the host; the batch files are memfds, no temp files.
 * Prints the medians of ROUNDS rounds and the ratios module / iproute2.
 *
 * Usage (root): xfrm-floor [N [ROUNDS]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "timing.h"
#include "datapath/xfrm.h"

#define MAX_ROUNDS 15

struct pol {
	struct sl_xfrm_policy_key k;
	struct sl_xfrm_policy_value v;
};

static int cmp_pol(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pol));
}

/* Policy i: any -> 10.(100 + i / 256).(i % 256).0/24, key 1 + i % 15,
 * from 192.168.50.1 to 192.168.50.2. */
static void policy(struct pol *p, unsigned i)
{
	memset(p, 0, sizeof(*p));
	p->k.family = AF_INET;
	p->k.dst[0] = 10;
	p->k.dst[1] = (uint8_t)(100 + i / 256);
	p->k.dst[2] = (uint8_t)(i % 256);
	p->k.dst_len = 24;
	p->k.dir = SL_XFRM_DIR_OUT;
	p->k.mark = sl_mark_encrypt((uint8_t)(1 + i % 15));
	p->k.mark_mask = SL_MARK_ENCRYPT_MASK;
	p->v.tmpl_family = AF_INET;
	inet_pton(AF_INET, "192.168.50.1", p->v.tmpl_src);
	inet_pton(AF_INET, "192.168.50.2", p->v.tmpl_dst);
	p->v.spi = 1 + i % 15;
	p->v.reqid = sl_xfrm_reqid(p->v.spi);
	p->v.priority = 100;
	p->v.tmpl_proto = IPPROTO_ESP;
	p->v.tmpl_mode = XFRM_MODE_TUNNEL;
}

/* The same policies as `ip -batch` lines, in a memfd. */
static int batch_file(const char *name, unsigned n, bool add)
{
	int fd = memfd_create(name, 0);
	FILE *f;

	if (fd < 0)
		return -1;
	f = fdopen(dup(fd), "w");
	if (!f)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		unsigned spi = 1 + i % 15;

		if (add)
			fprintf(f,
				"xfrm policy add src 0.0.0.0/0 dst 10.%u.%u.0/24 dir out mark 0x%x mask 0x%x priority 100 "
				"tmpl src 192.168.50.1 dst 192.168.50.2 proto esp spi %u reqid 0x%x mode tunnel\n",
				100 + i / 256, i % 256, sl_mark_encrypt((uint8_t)spi), SL_MARK_ENCRYPT_MASK, spi,
				sl_xfrm_reqid(spi));
		else
			fprintf(f, "xfrm policy delete src 0.0.0.0/0 dst 10.%u.%u.0/24 dir out mark 0x%x mask 0x%x\n",
				100 + i / 256, i % 256, sl_mark_encrypt((uint8_t)spi), SL_MARK_ENCRYPT_MASK);
	}
	if (fclose(f) != 0)
		return -1;
	return fd;
}

/* Run ip with args (stdout to /dev/null); its wall time in ms, or -1. */
static double run_ip(char *const argv[])
{
	double t0 = now_ms();
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp("ip", argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "xfrm-floor: ip %s %s failed\n", argv[1], argv[2] ? argv[2] : "");
		return -1;
	}
	return now_ms() - t0;
}

static double ip_batch(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	return run_ip((char *const[]){ "ip", "-batch", path, NULL });
}

struct seen {
	struct pol *v;
	size_t n, cap;
};

static int seen_cb(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v)
{
	struct seen *s = ctx;

	if (s->n == s->cap)
		return -ENOSPC;
	s->v[s->n].k = *k;
	s->v[s->n].v = *v;
	s->n++;
	return 0;
}

/* How many policies the namespace holds, sluice's or not. */
static size_t kernel_count(struct sl_xfrm *x, struct seen *s)
{
	struct sl_kerr e = { "" };

	s->n = 0;
	if (xfrm_policy_observe(x, seen_cb, s, &e) < 0) {
		fprintf(stderr, "xfrm-floor: %s\n", e.msg);
		return (size_t)-1;
	}
	return s->n;
}

static double mod_batch(struct sl_xfrm *x, struct sl_xfrm_req *reqs, unsigned n, uint8_t op)
{
	struct sl_kerr e = { "" };
	double t0;
	int r;

	for (unsigned i = 0; i < n; i++)
		reqs[i].op = op;
	t0 = now_ms();
	r = xfrm_batch(x, reqs, n, NULL, NULL, &e);
	if (r < 0) {
		fprintf(stderr, "xfrm-floor: %s\n", e.msg);
		return -1;
	}
	return now_ms() - t0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	double m_add[MAX_ROUNDS], m_obs[MAX_ROUNDS], m_del[MAX_ROUNDS];
	double i_add[MAX_ROUNDS], i_list[MAX_ROUNDS], i_del[MAX_ROUNDS], i_flush[MAX_ROUNDS];
	struct sl_xfrm_req *reqs;
	struct pol *pols, *sorted;
	struct seen seen;
	struct sl_xfrm *x;
	struct sl_kerr e = { "" };
	struct utsname u;
	int add_fd, del_fd;

	if (n == 0 || n > 65536 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: xfrm-floor [N (1..65536) [ROUNDS (1..%d)]]\n", MAX_ROUNDS);
		return 2;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "xfrm-floor: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return 1;
	}
	if (xfrm_open(&x, &e) < 0) {
		fprintf(stderr, "xfrm-floor: %s\n", e.msg);
		return 1;
	}
	pols = calloc(n, sizeof(*pols));
	sorted = calloc(n, sizeof(*sorted));
	reqs = calloc(n, sizeof(*reqs));
	seen.v = calloc(n + 16, sizeof(*seen.v));
	seen.cap = n + 16;
	add_fd = batch_file("xfrm-floor-add", n, true);
	del_fd = batch_file("xfrm-floor-del", n, false);
	if (!pols || !sorted || !reqs || !seen.v || add_fd < 0 || del_fd < 0) {
		fprintf(stderr, "xfrm-floor: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		policy(&pols[i], i);
		reqs[i] = (struct sl_xfrm_req){ .kind = SL_XFRM_POLICY, .key = &pols[i].k, .value = &pols[i].v };
	}
	memcpy(sorted, pols, n * sizeof(*pols));
	qsort(sorted, n, sizeof(*sorted), cmp_pol);

	for (int r = 0; r < rounds; r++) {
		/* iproute2: add, list, delete one by one */
		if ((i_add[r] = ip_batch(add_fd)) < 0 || kernel_count(x, &seen) != n)
			return 1;
		if ((i_list[r] = run_ip((char *const[]){ "ip", "xfrm", "policy", "list", NULL })) < 0)
			return 1;
		/* the module's dump of the same policies, and they are equal */
		seen.n = 0;
		{
			double t0 = now_ms();

			if (xfrm_policy_observe(x, seen_cb, &seen, &e) < 0) {
				fprintf(stderr, "xfrm-floor: %s\n", e.msg);
				return 1;
			}
			m_obs[r] = now_ms() - t0;
		}
		qsort(seen.v, seen.n, sizeof(*seen.v), cmp_pol);
		if (seen.n != n || memcmp(seen.v, sorted, n * sizeof(*pols)) != 0) {
			fprintf(stderr, "xfrm-floor: the module observed %zu policies, not the %u iproute2 added\n", seen.n,
				n);
			return 1;
		}
		if ((i_del[r] = ip_batch(del_fd)) < 0 || kernel_count(x, &seen) != 0)
			return 1;
		/* the module: add, delete */
		if ((m_add[r] = mod_batch(x, reqs, n, SL_XFRM_OP_ADD)) < 0 || kernel_count(x, &seen) != n)
			return 1;
		if ((m_del[r] = mod_batch(x, reqs, n, SL_XFRM_OP_DEL)) < 0 || kernel_count(x, &seen) != 0)
			return 1;
		/* the flush, for scale: all at once */
		if (mod_batch(x, reqs, n, SL_XFRM_OP_ADD) < 0)
			return 1;
		if ((i_flush[r] = run_ip((char *const[]){ "ip", "xfrm", "policy", "flush", NULL })) < 0 ||
		    kernel_count(x, &seen) != 0)
			return 1;
		printf("round %d (module/iproute2): add %.1f/%.1f  dump %.1f/%.1f  remove %.1f/%.1f (flush %.1f) ms\n", r + 1,
			m_add[r], i_add[r], m_obs[r], i_list[r], m_del[r], i_del[r], i_flush[r]);
	}

	uname(&u);
	fflush(stdout);
	{
		double ma = median(m_add, rounds), ia = median(i_add, rounds);
		double mo = median(m_obs, rounds), il = median(i_list, rounds);
		double md = median(m_del, rounds), id = median(i_del, rounds), fl = median(i_flush, rounds);

		printf("xfrm-floor: %u policies, medians of %d rounds, kernel %s\n", n, rounds, u.release);
		printf("  %-8s %-26s %9.1f ms   %-34s %9.1f ms   ratio %.2f\n", "add", "module xfrm_batch", ma,
		       "ip -batch (xfrm policy add)", ia, ma / ia);
		printf("  %-8s %-26s %9.1f ms   %-34s %9.1f ms   ratio %.2f\n", "dump", "module xfrm_policy_observe", mo,
		       "ip xfrm policy list", il, mo / il);
		printf("  %-8s %-26s %9.1f ms   %-34s %9.1f ms   ratio %.2f\n", "remove", "module xfrm_batch", md,
		       "ip -batch (xfrm policy delete)", id, md / id);
		printf("  %-8s %-26s %9s      %-34s %9.1f ms\n", "", "", "", "ip xfrm policy flush (all at once)", fl);
	}
	close(add_fd);
	close(del_fd);
	free(pols);
	free(sorted);
	free(reqs);
	free(seen.v);
	xfrm_close(x);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xfrm backend (src/datapath/xfrm.c) against the real kernel: policies
 * added, observed, updated and removed; foreign entries never observed nor
 * touched; a batch of 10k policies; failures mapped back to their objects
 * with the kernel's message; SAs for rfc4106(gcm(aes)) and
 * cbc(aes)+hmac(sha256).
 *
 * Each test runs in a process of its own (criterion forks) and first moves
 * into a network namespace of its own, so nothing shows on the host and
 * nothing outlives the test.
 *
 * SAs need ESP, which the host kernel lacks (kernel-lanes.md) and the VM
 * lane's kernel has. Each state test probes (adds an SA and sees whether
 * the kernel answers EPROTONOSUPPORT "Requested type not found" or ENOSYS
 * "Requested ... algorithm not found") and says which mode it runs:
 *   with ESP:    SAs are added, observed, updated, replaced and removed;
 *   without ESP: every SA add is refused, with a message naming the SA and
 *                the kernel's, and no key bytes in it.
 * SLUICE_XFRM_ESP=required (the default in the VM lane, SLUICE_VM=1) or
 * =absent makes the probe's answer an assertion.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "datapath/xfrm.h"

static struct sl_xfrm *x;

static void setup(void)
{
	struct sl_kerr e = { "" };

	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, xfrm)");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(xfrm_open(&x, &e), 0, "xfrm_open: %s", e.msg);
}

static void teardown(void)
{
	xfrm_close(x);
	x = NULL;
}

TestSuite(xfrm, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static uint8_t addr(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return AF_INET;
	cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "bad address %s", s);
	return AF_INET6;
}

static const char *node_a = "192.168.50.1", *node_b = "192.168.50.2";

/* An out policy: any -> dst/len, marked for spi, through a -> b. */
static void out_policy(struct sl_xfrm_policy_key *k, struct sl_xfrm_policy_value *v, const char *dst, uint8_t len,
		       uint8_t spi)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->family = addr(dst, k->dst);
	k->dst_len = len;
	k->dir = SL_XFRM_DIR_OUT;
	k->mark = sl_mark_encrypt(spi);
	k->mark_mask = SL_MARK_ENCRYPT_MASK;
	v->tmpl_family = addr(node_a, v->tmpl_src);
	addr(node_b, v->tmpl_dst);
	v->reqid = sl_xfrm_reqid(spi);
	v->spi = spi;
	v->priority = 100;
	v->tmpl_proto = IPPROTO_ESP;
	v->tmpl_mode = XFRM_MODE_TUNNEL;
}

/* An in or fwd policy: src/slen -> dst/dlen, from b to a. */
static void in_policy(struct sl_xfrm_policy_key *k, struct sl_xfrm_policy_value *v, uint8_t dir, const char *src,
		      uint8_t slen, const char *dst, uint8_t dlen, uint8_t spi)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->family = addr(src, k->src);
	addr(dst, k->dst);
	k->src_len = slen;
	k->dst_len = dlen;
	k->dir = dir;
	v->tmpl_family = addr(node_b, v->tmpl_src);
	addr(node_a, v->tmpl_dst);
	v->reqid = sl_xfrm_reqid(spi);
	v->priority = 100;
	v->tmpl_proto = IPPROTO_ESP;
	v->tmpl_mode = XFRM_MODE_TUNNEL;
}

struct pol {
	struct sl_xfrm_policy_key k;
	struct sl_xfrm_policy_value v;
};
struct pols {
	struct pol *v;
	size_t n, cap;
};

static int pol_cb(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v)
{
	struct pols *p = ctx;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v)
			return -ENOMEM;
	}
	p->v[p->n].k = *k;
	p->v[p->n].v = *v;
	p->n++;
	return 0;
}

static int cmp_pol(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct pol));
}

static struct pols observe_policies(void)
{
	struct pols p = { 0 };
	struct sl_kerr e = { "" };
	int r = xfrm_policy_observe(x, pol_cb, &p, &e);

	cr_assert_eq(r, 0, "xfrm_policy_observe: %d %s", r, e.msg);
	if (p.n)
		qsort(p.v, p.n, sizeof(*p.v), cmp_pol);
	return p;
}

/* The observed policies are exactly those of want_in (any order). */
static void assert_policies(const struct pol *want_in, size_t n)
{
	struct pols got = observe_policies();
	struct pol *want = n ? malloc(n * sizeof(*want)) : NULL;

	cr_assert_eq(got.n, n, "observed %zu policies, want %zu", got.n, n);
	if (n) {
		memcpy(want, want_in, n * sizeof(*want));
		qsort(want, n, sizeof(*want), cmp_pol);
	}
	for (size_t i = 0; i < n; i++) {
		char name[256];

		xfrm_policy_name(&want[i].k, name, sizeof(name));
		cr_assert(memcmp(&got.v[i], &want[i], sizeof(want[i])) == 0, "policy %zu (%s) differs as observed", i,
			  name);
	}
	free(got.v);
	free(want);
}

/* Lines of a command's output that match a grep pattern. */
static int count_lines(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	int n = -1;

	cr_assert_not_null(f, "popen %s", cmd);
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

/* ---- policies ---- */

Test(xfrm, policies_round_trip)
{
	struct pol p[5];
	struct sl_kerr e = { "" };
	int r;

	out_policy(&p[0].k, &p[0].v, "10.2.0.0", 24, 3);
	out_policy(&p[1].k, &p[1].v, "fd00:2::", 64, 3); /* IPv6 pods over an IPv4 underlay */
	in_policy(&p[2].k, &p[2].v, SL_XFRM_DIR_IN, "10.2.0.0", 24, "10.1.0.0", 24, 3);
	in_policy(&p[3].k, &p[3].v, SL_XFRM_DIR_FWD, "10.2.0.0", 24, "10.1.0.0", 24, 3);
	in_policy(&p[4].k, &p[4].v, SL_XFRM_DIR_IN, "fd00:2::", 64, "fd00:1::", 64, 3);
	for (int i = 0; i < 5; i++) {
		r = xfrm_policy_add(x, &p[i].k, &p[i].v, &e);
		cr_assert_eq(r, 0, "add %d: %d %s", i, r, e.msg);
	}
	assert_policies(p, 5);
	cr_assert_eq(count_lines("ip xfrm policy list | grep -c 'reqid 334851 '"), 5,
		     "iproute2 sees the 5 policies with reqid 0x51c03");

	/* Update: priority and template SPI of one; the key of another
	 * rotated to spi 4 (template reqid and SPI). */
	p[0].v.priority = 50;
	p[0].v.spi = 0;
	p[2].v.reqid = sl_xfrm_reqid(4);
	p[2].v.spi = 4;
	r = xfrm_policy_update(x, &p[0].k, &p[0].v, &e);
	cr_assert_eq(r, 0, "update: %d %s", r, e.msg);
	r = xfrm_policy_update(x, &p[2].k, &p[2].v, &e);
	cr_assert_eq(r, 0, "update: %d %s", r, e.msg);
	assert_policies(p, 5);

	/* Remove each, with its observed value. */
	for (int i = 0; i < 5; i++) {
		r = xfrm_policy_del(x, &p[i].k, &p[i].v, &e);
		cr_assert_eq(r, 0, "del %d: %d %s", i, r, e.msg);
	}
	assert_policies(NULL, 0);
	cr_assert_eq(count_lines("ip xfrm policy list | grep -c '^src'"), 0);
}

Test(xfrm, foreign_policies_untouched)
{
	static const char *const foreign[] = {
		/* a reqid of somebody else */
		"ip xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out tmpl src 1.1.1.1 dst 2.2.2.2 proto esp reqid 5 "
		"mode tunnel",
		/* just outside sluice's range: base - 1 and base + 16 */
		"ip xfrm policy add src 10.9.1.0/24 dst 10.8.0.0/24 dir out tmpl src 1.1.1.1 dst 2.2.2.2 proto esp reqid "
		"0x51bff mode tunnel",
		"ip xfrm policy add src 10.9.2.0/24 dst 10.8.0.0/24 dir in tmpl src 1.1.1.1 dst 2.2.2.2 proto esp reqid "
		"0x51c10 mode tunnel",
		/* two templates, one of them with sluice's reqid */
		"ip xfrm policy add src 10.9.3.0/24 dst 10.8.0.0/24 dir fwd tmpl src 1.1.1.1 dst 2.2.2.2 proto esp reqid "
		"0x51c03 mode tunnel tmpl src 1.1.1.1 dst 2.2.2.3 proto esp reqid 9 mode tunnel",
		/* no template */
		"ip xfrm policy add src 10.9.4.0/24 dst 10.8.0.0/24 dir out",
	};
	struct pol p[3], f;
	struct sl_kerr e = { "" };
	int r;

	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		cr_assert_eq(system(foreign[i]), 0, "%s", foreign[i]);
	out_policy(&p[0].k, &p[0].v, "10.2.0.0", 24, 3);
	in_policy(&p[1].k, &p[1].v, SL_XFRM_DIR_IN, "10.2.0.0", 24, "10.1.0.0", 24, 3);
	in_policy(&p[2].k, &p[2].v, SL_XFRM_DIR_FWD, "10.2.0.0", 24, "10.1.0.0", 24, 15);
	for (int i = 0; i < 3; i++) {
		r = xfrm_policy_add(x, &p[i].k, &p[i].v, &e);
		cr_assert_eq(r, 0, "add %d: %d %s", i, r, e.msg);
	}
	assert_policies(p, 3);

	/* The API refuses what is not sluice's, before the kernel sees it. */
	in_policy(&f.k, &f.v, SL_XFRM_DIR_OUT, "10.9.0.0", 24, "10.8.0.0", 24, 3);
	f.v.reqid = 5;
	r = xfrm_policy_add(x, &f.k, &f.v, &e);
	cr_assert_eq(r, -EPERM, "add of a foreign policy: %d %s", r, e.msg);
	cr_assert(strstr(e.msg, "xfrm policy out 10.9.0.0/24 -> 10.8.0.0/24: ") == e.msg, "%s", e.msg);
	cr_assert(strstr(e.msg, "not sluice's"), "%s", e.msg);
	r = xfrm_policy_update(x, &f.k, &f.v, &e);
	cr_assert_eq(r, -EPERM, "update of a foreign policy: %d %s", r, e.msg);
	r = xfrm_policy_del(x, &f.k, &f.v, &e);
	cr_assert_eq(r, -EPERM, "del of a foreign policy: %d %s", r, e.msg);
	f.v.reqid = SL_XFRM_REQID_BASE - 1;
	r = xfrm_policy_add(x, &f.k, &f.v, &e);
	cr_assert_eq(r, -EPERM, "reqid base - 1: %d %s", r, e.msg);
	f.v.reqid = SL_XFRM_REQID_BASE + 16;
	r = xfrm_policy_del(x, &f.k, &f.v, &e);
	cr_assert_eq(r, -EPERM, "reqid base + 16: %d %s", r, e.msg);

	/* Removing everything sluice owns leaves the foreign ones. */
	{
		struct pols got = observe_policies();
		struct sl_xfrm_req *reqs = calloc(got.n, sizeof(*reqs));

		for (size_t i = 0; i < got.n; i++)
			reqs[i] = (struct sl_xfrm_req){ .op = SL_XFRM_OP_DEL, .kind = SL_XFRM_POLICY,
							.key = &got.v[i].k, .value = &got.v[i].v };
		r = xfrm_batch(x, reqs, got.n, NULL, NULL, &e);
		cr_assert_eq(r, 0, "removing sluice's: %d %s", r, e.msg);
		free(reqs);
		free(got.v);
	}
	assert_policies(NULL, 0);
	cr_assert_eq(count_lines("ip xfrm policy list | grep -c '^src 10.9.'"), 5, "the 5 foreign policies remain");
	cr_assert_eq(count_lines("ip xfrm policy list | grep -c '^src'"), 5, "and nothing else");
}

Test(xfrm, duplicate_policy_error)
{
	struct sl_xfrm_policy_key k;
	struct sl_xfrm_policy_value v;
	struct sl_kerr e = { "" };
	int r;

	out_policy(&k, &v, "10.2.0.0", 24, 3);
	r = xfrm_policy_add(x, &k, &v, &e);
	cr_assert_eq(r, 0, "%s", e.msg);
	r = xfrm_policy_add(x, &k, &v, &e);
	cr_assert_eq(r, -EEXIST, "second add: %d %s", r, e.msg);
	cr_assert_str_eq(e.msg, "xfrm policy out 0.0.0.0/0 -> 10.2.0.0/24 mark 0x3e00/0xff00: File exists");
	fprintf(stderr, "duplicate policy: %s\n", e.msg);

	/* The kernel's extended-ack message when it has one. */
	k.src_len = 33;
	r = xfrm_policy_add(x, &k, &v, &e);
	cr_assert_eq(r, -EINVAL, "%d %s", r, e.msg);
	cr_assert(strstr(e.msg, "prefix length"), "%s", e.msg);
	k.src_len = 0;
	v.tmpl_mode = 77; /* no such mode: the kernel says so */
	r = xfrm_policy_update(x, &k, &v, &e);
	cr_assert_eq(r, -EINVAL, "%d %s", r, e.msg);
	cr_assert(strstr(e.msg, "xfrm policy out 0.0.0.0/0 -> 10.2.0.0/24 mark 0x3e00/0xff00: ") == e.msg, "%s", e.msg);
	fprintf(stderr, "bad template: %s\n", e.msg);
}

#define N_BATCH 10000

static void batch_policy(struct pol *p, unsigned i)
{
	char dst[32];

	snprintf(dst, sizeof(dst), "10.%u.%u.0", 100 + i / 256, i % 256);
	out_policy(&p->k, &p->v, dst, 24, (uint8_t)(1 + i % 15));
}

Test(xfrm, batch_10k, .timeout = 120)
{
	struct pol *p = calloc(N_BATCH, sizeof(*p));
	struct sl_xfrm_req *reqs = calloc(N_BATCH, sizeof(*reqs));
	struct sl_kerr e = { "" };
	struct pols got;
	double t0, t_add, t_obs, t_del;
	int r;

	for (unsigned i = 0; i < N_BATCH; i++) {
		batch_policy(&p[i], i);
		reqs[i] = (struct sl_xfrm_req){ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[i].k,
						.value = &p[i].v };
	}
	t0 = now_ms();
	r = xfrm_batch(x, reqs, N_BATCH, NULL, NULL, &e);
	t_add = now_ms() - t0;
	cr_assert_eq(r, 0, "batch add: %d %s", r, e.msg);
	for (unsigned i = 0; i < N_BATCH; i++)
		cr_assert_eq(reqs[i].err, 0);

	t0 = now_ms();
	got = observe_policies();
	t_obs = now_ms() - t0;
	free(got.v);
	assert_policies(p, N_BATCH);
	cr_assert_eq(count_lines("ip xfrm policy list | grep -c '^src'"), N_BATCH);

	for (unsigned i = 0; i < N_BATCH; i++)
		reqs[i].op = SL_XFRM_OP_DEL;
	t0 = now_ms();
	r = xfrm_batch(x, reqs, N_BATCH, NULL, NULL, &e);
	t_del = now_ms() - t0;
	cr_assert_eq(r, 0, "batch del: %d %s", r, e.msg);
	assert_policies(NULL, 0);
	fprintf(stderr, "batch of %d policies: add %.1f ms, observe %.1f ms, remove %.1f ms\n", N_BATCH, t_add, t_obs,
		t_del);
	free(p);
	free(reqs);
}

struct failures {
	size_t idx[16];
	char msg[16][512];
	size_t n;
	const struct sl_xfrm_req *base;
};

static void on_error(void *ctx, const struct sl_xfrm_req *r, const struct sl_kerr *e)
{
	struct failures *f = ctx;

	if (f->n < 16) {
		f->idx[f->n] = (size_t)(r - f->base);
		snprintf(f->msg[f->n], sizeof(f->msg[0]), "%s", e->msg);
	}
	f->n++;
}

Test(xfrm, batch_failures_mapped)
{
	enum { N = 1000 };
	struct pol *p = calloc(N, sizeof(*p));
	struct sl_xfrm_req *reqs = calloc(N, sizeof(*reqs));
	struct failures f = { .base = reqs };
	struct sl_kerr e = { "" };
	char name[256];
	int r;

	for (unsigned i = 0; i < N; i++) {
		batch_policy(&p[i], i);
		reqs[i] = (struct sl_xfrm_req){ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[i].k,
						.value = &p[i].v };
	}
	/* 100, 500 and the very last: duplicates of earlier ones; 300: not
	 * sluice's (refused before sending). */
	p[100] = p[7];
	p[500] = p[499];
	p[N - 1] = p[0];
	p[300].v.reqid = 7;
	r = xfrm_batch(x, reqs, N, on_error, &f, &e);
	cr_assert_eq(r, -EEXIST, "%d %s", r, e.msg);
	cr_assert_eq(f.n, 4, "%zu failures", f.n);
	cr_assert_eq(f.idx[0], 100);
	cr_assert_eq(f.idx[1], 300);
	cr_assert_eq(f.idx[2], 500);
	cr_assert_eq(f.idx[3], N - 1);
	for (unsigned i = 0; i < N; i++) {
		int want = i == 300 ? -EPERM : (i == 100 || i == 500 || i == N - 1) ? -EEXIST : 0;

		cr_assert_eq(reqs[i].err, want, "request %u: %d, want %d", i, reqs[i].err, want);
	}
	for (size_t j = 0; j < 4; j++) {
		xfrm_policy_name(&p[f.idx[j]].k, name, sizeof(name));
		cr_assert(strstr(f.msg[j], name) == f.msg[j], "failure %zu: %s does not name %s", j, f.msg[j], name);
	}
	xfrm_policy_name(&p[100].k, name, sizeof(name));
	cr_assert(strstr(e.msg, name) == e.msg && strstr(e.msg, "File exists (and 3 more failed)"), "%s", e.msg);
	fprintf(stderr, "batch with failures: %s\n", e.msg);

	{
		struct pols got = observe_policies();

		cr_assert_eq(got.n, N - 4, "observed %zu", got.n);
		free(got.v);
	}
	free(p);
	free(reqs);
}

/* Removals go in two steps (a lookup by selector, then a removal by the
 * kernel's index); their failures are mapped and ordered all the same, and
 * a policy that took a key since it was observed is left alone. */
Test(xfrm, batch_removals_mapped)
{
	enum { N = 1000 };
	struct pol *p = calloc(N, sizeof(*p));
	struct sl_xfrm_req *reqs = calloc(N, sizeof(*reqs));
	struct failures f = { .base = reqs };
	struct sl_kerr e = { "" };
	char cmd[512], name[256];
	int r;

	for (unsigned i = 0; i < N; i++) {
		batch_policy(&p[i], i);
		reqs[i] = (struct sl_xfrm_req){ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[i].k,
						.value = &p[i].v };
	}
	r = xfrm_batch(x, reqs, N, NULL, NULL, &e);
	cr_assert_eq(r, 0, "%d %s", r, e.msg);
	/* 10 and the last: gone already; 20: taken over by somebody else
	 * (same selector and mark, reqid 5); 30: a value not sluice's. */
	r = xfrm_policy_del(x, &p[10].k, &p[10].v, &e);
	cr_assert_eq(r, 0, "%d %s", r, e.msg);
	r = xfrm_policy_del(x, &p[N - 1].k, &p[N - 1].v, &e);
	cr_assert_eq(r, 0, "%d %s", r, e.msg);
	snprintf(cmd, sizeof(cmd),
		 "ip xfrm policy update src 0.0.0.0/0 dst 10.100.20.0/24 dir out mark 0x%x mask 0x%x tmpl src 1.1.1.1 "
		 "dst 2.2.2.2 proto esp reqid 5 mode tunnel",
		 p[20].k.mark, p[20].k.mark_mask);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	p[30].v.reqid = 5;

	for (unsigned i = 0; i < N; i++)
		reqs[i].op = SL_XFRM_OP_DEL;
	r = xfrm_batch(x, reqs, N, on_error, &f, &e);
	cr_assert_eq(r, -ENOENT, "%d %s", r, e.msg);
	cr_assert_eq(f.n, 4, "%zu failures", f.n);
	cr_assert_eq(f.idx[0], 10);
	cr_assert_eq(f.idx[1], 20);
	cr_assert_eq(f.idx[2], 30);
	cr_assert_eq(f.idx[3], N - 1);
	cr_assert_eq(reqs[10].err, -ENOENT);
	cr_assert_eq(reqs[20].err, -EPERM);
	cr_assert_eq(reqs[30].err, -EPERM);
	cr_assert_eq(reqs[N - 1].err, -ENOENT);
	for (size_t j = 0; j < 4; j++) {
		xfrm_policy_name(&p[f.idx[j]].k, name, sizeof(name));
		cr_assert(strstr(f.msg[j], name) == f.msg[j], "failure %zu: %s does not name %s", j, f.msg[j], name);
		fprintf(stderr, "removal failure %zu: %s\n", f.idx[j], f.msg[j]);
	}
	cr_assert(strstr(f.msg[1], "not sluice's; left alone"), "%s", f.msg[1]);
	/* left: 30 (refused) and the foreign one at 20's key */
	{
		struct pols got = observe_policies();

		cr_assert_eq(got.n, 1, "observed %zu", got.n);
		cr_assert(memcmp(&got.v[0], &p[30], sizeof(p[30].k)) == 0);
		free(got.v);
	}
	cr_assert_eq(count_lines("ip xfrm policy list | grep -c 'reqid 5 '"), 1, "the foreign policy remains");
	free(p);
	free(reqs);
}

/* A batch of adds and removals, interleaved, runs in order. */
Test(xfrm, batch_mixed_in_order)
{
	struct pol p[4];
	struct sl_kerr e = { "" };
	int r;

	out_policy(&p[0].k, &p[0].v, "10.2.0.0", 24, 3);
	out_policy(&p[1].k, &p[1].v, "10.3.0.0", 24, 3);
	out_policy(&p[2].k, &p[2].v, "10.4.0.0", 24, 3);
	in_policy(&p[3].k, &p[3].v, SL_XFRM_DIR_IN, "10.2.0.0", 24, "10.1.0.0", 24, 3);
	r = xfrm_policy_add(x, &p[1].k, &p[1].v, &e);
	cr_assert_eq(r, 0, "%s", e.msg);
	{
		struct sl_xfrm_req reqs[] = {
			{ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[0].k, .value = &p[0].v },
			{ .op = SL_XFRM_OP_DEL, .kind = SL_XFRM_POLICY, .key = &p[1].k, .value = &p[1].v },
			{ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[2].k, .value = &p[2].v },
			{ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[3].k, .value = &p[3].v },
			{ .op = SL_XFRM_OP_DEL, .kind = SL_XFRM_POLICY, .key = &p[0].k, .value = &p[0].v },
			{ .op = SL_XFRM_OP_DEL, .kind = SL_XFRM_POLICY, .key = &p[3].k, .value = &p[3].v },
			{ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_POLICY, .key = &p[1].k, .value = &p[1].v },
		};

		r = xfrm_batch(x, reqs, sizeof(reqs) / sizeof(reqs[0]), NULL, NULL, &e);
		cr_assert_eq(r, 0, "%d %s", r, e.msg);
	}
	assert_policies(&p[1], 2);
}

/* ---- states ---- */

/* Parameters hold no pointers: criterion runs each case in a process of
 * its own, where a pointer into this one may not hold. */
struct alg {
	char what[40];
	char enc[24]; /* AEAD or cipher */
	char auth[24];
	uint8_t enc_len, auth_len;
	uint32_t icv_bits;
};

static const struct alg algs[] = {
	{ "rfc4106(gcm(aes)) AES-128", "rfc4106(gcm(aes))", "", 16 + 4, 0, 128 },
	{ "rfc4106(gcm(aes)) AES-192", "rfc4106(gcm(aes))", "", 24 + 4, 0, 128 },
	{ "rfc4106(gcm(aes)) AES-256", "rfc4106(gcm(aes))", "", 32 + 4, 0, 128 },
	{ "cbc(aes) AES-128 + hmac(sha256)", "cbc(aes)", "hmac(sha256)", 16, 32, 128 },
	{ "cbc(aes) AES-256 + hmac(sha256)", "cbc(aes)", "hmac(sha256)", 32, 32, 128 },
};

/* Key bytes that no message may carry: a pattern of its own per seed. */
static void fill_key(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(0xa7 ^ (seed * 29u) ^ (i * 73u));
}

static void state(struct sl_xfrm_state_key *k, struct sl_xfrm_state_value *v, const struct alg *a, bool out,
		  uint8_t spi, uint8_t seed)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->family = addr(out ? node_b : node_a, k->daddr);
	k->spi = spi;
	k->proto = IPPROTO_ESP;
	if (out)
		addr(node_a, v->saddr);
	v->reqid = sl_xfrm_reqid(spi);
	v->mode = XFRM_MODE_TUNNEL;
	v->icv_bits = a->icv_bits;
	v->replay_window = out ? 0 : 32;
	snprintf(v->enc_name, sizeof(v->enc_name), "%s", a->enc);
	snprintf(v->auth_name, sizeof(v->auth_name), "%s", a->auth);
	v->enc_key_len = a->enc_len;
	v->auth_key_len = a->auth_len;
	fill_key(v->enc_key, a->enc_len, seed);
	fill_key(v->auth_key, a->auth_len, (uint8_t)(seed + 100));
}

/* The message carries no key bytes: not whole, not any 4 of them in a row,
 * raw or in hex (either case). */
static void assert_no_key(const struct sl_kerr *e, const struct sl_xfrm_state_value *v)
{
	const uint8_t *keys[2] = { v->enc_key, v->auth_key };
	size_t lens[2] = { v->enc_key_len, v->auth_key_len };
	size_t ml = strnlen(e->msg, sizeof(e->msg));

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i + 4 <= lens[k]; i++) {
			char lo[9], up[9];

			cr_assert_null(memmem(e->msg, sizeof(e->msg), keys[k] + i, 4), "raw key bytes in: %s", e->msg);
			snprintf(lo, sizeof(lo), "%02x%02x%02x%02x", keys[k][i], keys[k][i + 1], keys[k][i + 2],
				 keys[k][i + 3]);
			snprintf(up, sizeof(up), "%02X%02X%02X%02X", keys[k][i], keys[k][i + 1], keys[k][i + 2],
				 keys[k][i + 3]);
			cr_assert_null(memmem(e->msg, ml, lo, 8), "key in hex in: %s", e->msg);
			cr_assert_null(memmem(e->msg, ml, up, 8), "key in HEX in: %s", e->msg);
		}
	}
}

/* Probe: with ESP (1) or without (0), checked against SLUICE_XFRM_ESP. */
static int esp_mode(const char *test)
{
	struct sl_xfrm_state_key k;
	struct sl_xfrm_state_value v;
	struct sl_kerr e = { "" };
	const char *want = getenv("SLUICE_XFRM_ESP"), *vm = getenv("SLUICE_VM");
	struct utsname u;
	int r, esp;

	if ((!want || !*want) && vm && !strcmp(vm, "1"))
		want = "required";
	state(&k, &v, &algs[3], true, 15, 1);
	r = xfrm_state_add(x, &k, &v, &e);
	if (r == 0) {
		esp = 1;
		r = xfrm_state_del(x, &k, &v, &e);
		cr_assert_eq(r, 0, "removing the probe SA: %s", e.msg);
	} else {
		cr_assert(r == -EPROTONOSUPPORT || r == -ENOSYS, "probe SA: neither added nor refused for want of ESP: %s",
			  e.msg);
		esp = 0;
	}
	uname(&u);
	fprintf(stderr, "%s: mode %s (kernel %s)\n", test,
		esp ? "WITH ESP: SAs must be added, observed, updated and removed"
		    : "WITHOUT ESP: SA adds must fail cleanly with the kernel's message",
		u.release);
	if (want && !strcmp(want, "required"))
		cr_assert(esp, "SLUICE_XFRM_ESP=required but this kernel has no ESP: %s", e.msg);
	if (want && !strcmp(want, "absent"))
		cr_assert(!esp, "SLUICE_XFRM_ESP=absent but this kernel has ESP");
	return esp;
}

struct sa {
	struct sl_xfrm_state_key k;
	struct sl_xfrm_state_value v;
};
struct sas {
	struct sa v[16];
	size_t n;
};

static int sa_cb(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v)
{
	struct sas *s = ctx;

	if (s->n < 16) {
		s->v[s->n].k = *k;
		s->v[s->n].v = *v;
	}
	s->n++;
	return 0;
}

static int cmp_sa(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sa));
}

/* The observed SAs are exactly those of want_in (any order, at most 16). */
static void assert_states(const struct sa *want_in, size_t n)
{
	struct sas got = { .n = 0 };
	struct sa want[16];
	struct sl_kerr e = { "" };
	int r = xfrm_state_observe(x, sa_cb, &got, &e);

	cr_assert_eq(r, 0, "xfrm_state_observe: %d %s", r, e.msg);
	cr_assert_eq(got.n, n, "observed %zu SAs, want %zu", got.n, n);
	cr_assert(n <= 16);
	if (n)
		memcpy(want, want_in, n * sizeof(*want));
	qsort(got.v, n, sizeof(got.v[0]), cmp_sa);
	qsort(want, n, sizeof(*want), cmp_sa);
	for (size_t i = 0; i < n; i++) {
		char name[256];

		xfrm_state_name(&want[i].k, &want[i].v, NULL, name, sizeof(name));
		if (memcmp(&got.v[i].k, &want[i].k, sizeof(want[i].k)))
			cr_assert_fail("SA %s: key differs as observed", name);
		/* field by field, to say which (never the key bytes) */
		cr_assert_eq(got.v[i].v.reqid, want[i].v.reqid, "%s", name);
		cr_assert_eq(got.v[i].v.icv_bits, want[i].v.icv_bits, "%s", name);
		cr_assert_eq(got.v[i].v.set_mark, want[i].v.set_mark, "%s", name);
		cr_assert_eq(got.v[i].v.set_mark_mask, want[i].v.set_mark_mask, "%s", name);
		cr_assert_eq(got.v[i].v.replay_window, want[i].v.replay_window, "%s", name);
		cr_assert_str_eq(got.v[i].v.enc_name, want[i].v.enc_name, "%s", name);
		cr_assert_str_eq(got.v[i].v.auth_name, want[i].v.auth_name, "%s", name);
		cr_assert_eq(got.v[i].v.enc_key_len, want[i].v.enc_key_len, "%s", name);
		cr_assert_eq(got.v[i].v.auth_key_len, want[i].v.auth_key_len, "%s", name);
		cr_assert(memcmp(&got.v[i].v, &want[i].v, sizeof(want[i].v)) == 0, "SA %s: value differs as observed",
			  name);
	}
	explicit_bzero(&got, sizeof(got));
	explicit_bzero(want, sizeof(want));
}

ParameterizedTestParameters(xfrm, states)
{
	return cr_make_param_array(struct alg, (void *)algs, sizeof(algs) / sizeof(algs[0]));
}

ParameterizedTest(const struct alg *a, xfrm, states, .timeout = 120)
{
	struct sa s[2], w;
	struct sl_kerr e = { "" };
	char test[128];
	int r;

	snprintf(test, sizeof(test), "xfrm states %s", a->what);
	state(&s[0].k, &s[0].v, a, true, 3, 1);	 /* out: a -> b */
	state(&s[1].k, &s[1].v, a, false, 3, 2); /* in: any -> a */
	{
		uint8_t local[16];

		xfrm_set_local(x, addr(node_a, local), local);
	}

	if (!esp_mode(test)) {
		for (int i = 0; i < 2; i++) {
			r = xfrm_state_add(x, &s[i].k, &s[i].v, &e);
			cr_assert(r == -EPROTONOSUPPORT || r == -ENOSYS, "%s: %d %s", a->what, r, e.msg);
			cr_assert(strstr(e.msg, i ? "xfrm state in any -> 192.168.50.1 spi 0x3: "
						  : "xfrm state out 192.168.50.1 -> 192.168.50.2 spi 0x3: ") == e.msg,
				  "%s", e.msg);
			/* the kernel's own words: "Requested type not found",
			 * "Requested AEAD algorithm not found" */
			cr_assert(strstr(e.msg, ": Requested ") && strstr(e.msg, " not found"), "%s", e.msg);
			assert_no_key(&e, &s[i].v);
			fprintf(stderr, "  %s\n", e.msg);
		}
		assert_states(NULL, 0);
		return;
	}

	for (int i = 0; i < 2; i++) {
		r = xfrm_state_add(x, &s[i].k, &s[i].v, &e);
		cr_assert_eq(r, 0, "add %d: %d %s", i, r, e.msg);
	}
	assert_states(s, 2);

	/* A foreign SA (reqid 7, same SPI) is neither observed nor touched. */
	cr_assert_eq(system("ip xfrm state add src 192.168.50.1 dst 192.168.50.3 proto esp spi 3 reqid 7 mode tunnel "
			    "aead 'rfc4106(gcm(aes))' 0x0102030405060708090a0b0c0d0e0f1011121314 128"),
		     0);
	assert_states(s, 2);

	/* Duplicate: the kernel's refusal, named, no key bytes. */
	r = xfrm_state_add(x, &s[0].k, &s[0].v, &e);
	cr_assert_eq(r, -EEXIST, "%d %s", r, e.msg);
	cr_assert(strstr(e.msg, "xfrm state out 192.168.50.1 -> 192.168.50.2 spi 0x3: ") == e.msg, "%s", e.msg);
	assert_no_key(&e, &s[0].v);

	/* UPDSA in place: the output mark. */
	w = s[0];
	w.v.set_mark = 0x100;
	w.v.set_mark_mask = 0xf00;
	cr_assert(xfrm_state_update_in_place(&s[0].v, &w.v));
	r = xfrm_state_update(x, &w.k, &w.v, &e);
	cr_assert_eq(r, 0, "update: %d %s", r, e.msg);
	s[0] = w;
	assert_states(s, 2);

	/* A new key under the same SPI is not an update in place: replace. */
	w = s[1];
	fill_key(w.v.enc_key, w.v.enc_key_len, 9);
	fill_key(w.v.auth_key, w.v.auth_key_len, 10);
	cr_assert(!xfrm_state_update_in_place(&s[1].v, &w.v));
	{
		struct sl_xfrm_req reqs[2] = {
			{ .op = SL_XFRM_OP_DEL, .kind = SL_XFRM_STATE, .key = &s[1].k, .value = &s[1].v },
			{ .op = SL_XFRM_OP_ADD, .kind = SL_XFRM_STATE, .key = &w.k, .value = &w.v },
		};

		r = xfrm_batch(x, reqs, 2, NULL, NULL, &e);
		cr_assert_eq(r, 0, "replace: %d %s", r, e.msg);
	}
	s[1] = w;
	assert_states(s, 2);

	/* UPDSA of an SA the kernel does not have: refused, named. */
	w = s[1];
	w.k.spi = 4;
	w.v.reqid = sl_xfrm_reqid(4);
	r = xfrm_state_update(x, &w.k, &w.v, &e);
	cr_assert(r < 0, "update of a missing SA succeeded");
	cr_assert(strstr(e.msg, "xfrm state in any -> 192.168.50.1 spi 0x4: ") == e.msg, "%s", e.msg);
	assert_no_key(&e, &w.v);

	for (int i = 0; i < 2; i++) {
		r = xfrm_state_del(x, &s[i].k, &s[i].v, &e);
		cr_assert_eq(r, 0, "del %d: %d %s", i, r, e.msg);
	}
	assert_states(NULL, 0);
	cr_assert_eq(count_lines("ip xfrm state list | grep -c 'reqid 7 '"), 1, "the foreign SA remains");
	explicit_bzero(s, sizeof(s));
	explicit_bzero(&w, sizeof(w));
}

/* Refusals need no kernel: both modes. */
Test(xfrm, state_refusals)
{
	struct sl_xfrm_state_key k;
	struct sl_xfrm_state_value v;
	struct sl_kerr e = { "" };
	int r;

	state(&k, &v, &algs[0], true, 3, 1);
	v.reqid = 7;
	r = xfrm_state_add(x, &k, &v, &e);
	cr_assert_eq(r, -EPERM, "%d %s", r, e.msg);
	cr_assert(strstr(e.msg, "xfrm state 192.168.50.1 -> 192.168.50.2 spi 0x3: ") == e.msg, "%s", e.msg);
	assert_no_key(&e, &v);
	r = xfrm_state_del(x, &k, &v, &e);
	cr_assert_eq(r, -EPERM, "%d %s", r, e.msg);
	r = xfrm_state_update(x, &k, &v, &e);
	cr_assert_eq(r, -EPERM, "%d %s", r, e.msg);
	v.reqid = sl_xfrm_reqid(4); /* spi 3 */
	r = xfrm_state_add(x, &k, &v, &e);
	cr_assert_eq(r, -EPERM, "%d %s", r, e.msg);
	v.reqid = sl_xfrm_reqid(3);
	v.enc_key_len = SL_XFRM_ENC_KEY_MAX + 1;
	r = xfrm_state_add(x, &k, &v, &e);
	cr_assert_eq(r, -EINVAL, "%d %s", r, e.msg);
	r = xfrm_state_del(x, &k, NULL, &e);
	cr_assert_eq(r, -EINVAL, "del without the observed value: %d %s", r, e.msg);
}

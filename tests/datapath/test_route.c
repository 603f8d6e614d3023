/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route backend (src/datapath/route.c) against the real kernel:
 * sluice's routes (protocol SL_RTPROT) added, observed, replaced and
 * removed, IPv4 and IPv6, with a gateway or with an IP tunnel
 * encapsulation on an external VXLAN device (the overlay's); foreign
 * routes (other protocols, other tables, other types, same or other
 * prefixes) never observed, changed or removed;
 * failures named, with the kernel's message; a batch of 10k routes, timed
 * against `ip -batch` of the same routes.
 *
 * Each test runs in a process of its own (criterion forks) and first moves
 * into a network namespace of its own with a veth pair (sl0, sl1) and the
 * addresses 192.168.50.1/24 and fd00:50::1/64 on sl0, so nothing shows on
 * the host and nothing outlives the test.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datapath/route.h"

/* The counter kernel.c defines; here, so that route.c's weak reference
 * finds it and the test can see every write counted. */
_Atomic unsigned long sl_kernel_writes;

static struct sl_route *rt;

static void sh(const char *cmd)
{
	int r = system(cmd);

	cr_assert_eq(r, 0, "`%s` failed (%d)", cmd, r);
}

static void setup(void)
{
	struct sl_kerr e = { "" };

	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, routes)");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	sh("ip link add sl0 type veth peer name sl1 && ip link set sl0 up && ip link set sl1 up && "
	   "ip addr add 192.168.50.1/24 dev sl0 && ip addr add fd00:50::1/64 dev sl0 nodad");
	cr_assert_eq(route_open(&rt, &e), 0, "route_open: %s", e.msg);
}

static void teardown(void)
{
	route_close(rt);
	rt = NULL;
}

TestSuite(route, .init = setup, .fini = teardown);

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

struct rt {
	struct sl_route_key k;
	struct sl_route_value v;
};

/* prefix/len via gw (NULL: none) dev; the family's default metric. */
static void mk(struct rt *r, const char *prefix, uint8_t len, const char *gw, const char *dev)
{
	uint8_t a[16];
	uint8_t f = addr(prefix, a);

	sl_route_key_init(&r->k, f, a, len);
	if (gw) {
		f = addr(gw, a);
		cr_assert_eq(sl_route_value_init(&r->v, f, a, dev), 0);
	} else {
		cr_assert_eq(sl_route_value_init(&r->v, 0, NULL, dev), 0);
	}
}

struct rts {
	struct rt *v;
	size_t n, cap;
};

static int rt_cb(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v)
{
	struct rts *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			return -ENOMEM;
	}
	s->v[s->n].k = *k;
	s->v[s->n].v = *v;
	s->n++;
	return 0;
}

static int cmp_rt(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct rt));
}

static struct rts observe(void)
{
	struct rts s = { 0 };
	struct sl_kerr e = { "" };
	int r = route_observe(rt, rt_cb, &s, &e);

	cr_assert_eq(r, 0, "route_observe: %d %s", r, e.msg);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_rt);
	return s;
}

/* The observed routes are exactly those of want_in (any order), byte for byte. */
static void assert_routes(const struct rt *want_in, size_t n)
{
	struct rts got = observe();
	struct rt *want = n ? malloc(n * sizeof(*want)) : NULL;

	cr_assert_eq(got.n, n, "observed %zu routes, want %zu", got.n, n);
	if (n) {
		memcpy(want, want_in, n * sizeof(*want));
		qsort(want, n, sizeof(*want), cmp_rt);
	}
	for (size_t i = 0; i < n; i++) {
		char w[256], g[256];

		route_name(&want[i].k, &want[i].v, w, sizeof(w));
		route_name(&got.v[i].k, &got.v[i].v, g, sizeof(g));
		cr_assert(memcmp(&got.v[i], &want[i], sizeof(want[i])) == 0, "route %zu: want %s, observed %s", i, w,
			  g);
	}
	free(got.v);
	free(want);
}

/* A command's whole output. */
static char *capture(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	cr_assert_not_null(f, "popen %s", cmd);
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	buf[len] = '\0';
	pclose(f);
	return buf;
}

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

/* Every route of every table, both families: what must stay as it was. */
/* Not the link-local routes: the kernel adds them when it gets round to it
 * (late, in a slow VM), and they are no foreign route sluice could touch. */
#define ALL_ROUTES "(ip -4 route show table all; ip -6 route show table all) | grep -v fe80:: | sort"

/* Another's routes made (n commands), none of sluice's there; what every
 * route table holds then, to compare with at the end (free it). */
static char *with_foreign(const char *const *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sh(cmds[i]);
	assert_routes(NULL, 0);
	return capture(ALL_ROUTES);
}

static unsigned long writes(void)
{
	return sl_kernel_writes;
}

/* ---- names ---- */

/* No kernel: runs without root too. */
Test(route_names, names)
{
	struct rt r;
	char buf[256];

	mk(&r, "10.2.0.0", 24, "192.168.50.2", "eth0");
	route_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/24 via 192.168.50.2 dev eth0");
	route_name(&r.k, NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/24");
	mk(&r, "fd00:2::", 64, "192.168.50.2", "eth0");
	route_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route fd00:2::/64 via inet 192.168.50.2 dev eth0 metric 1024");
	mk(&r, "10.3.0.0", 16, "fd00:50::2", "underlay0");
	r.v.mtu = 1400;
	r.v.flags = SL_ROUTE_F_ONLINK;
	r.k.metric = 7;
	route_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.3.0.0/16 via inet6 fd00:50::2 dev underlay0 metric 7 mtu 1400 onlink");
	mk(&r, "fd00:4::", 64, NULL, "eth1");
	route_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route fd00:4::/64 dev eth1 metric 1024");

	/* the key helper clears host bits and sets the defaults */
	mk(&r, "10.2.3.4", 20, NULL, "eth0");
	route_name(&r.k, NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/20");
	cr_assert_eq(r.k.table, SL_ROUTE_TABLE_MAIN);
	cr_assert_eq(sl_route_value_init(&r.v, 0, NULL, "a-name-of-16-chr"), -EINVAL);
}

/* ---- round trip ---- */

Test(route, round_trip)
{
	struct rt r[5];
	struct sl_kerr e = { "" };
	char buf[256];
	unsigned long w0;
	int ret;

	mk(&r[0], "10.2.0.0", 24, "192.168.50.2", "sl0");
	mk(&r[1], "fd00:2::", 64, "fd00:50::2", "sl0");
	mk(&r[2], "10.3.0.0", 24, "fd00:50::2", "sl0"); /* IPv4 via an IPv6 gateway: RTA_VIA */
	mk(&r[3], "10.4.0.0", 24, "192.168.99.1", "sl0");
	r[3].v.mtu = 1400;
	r[3].v.flags = SL_ROUTE_F_ONLINK; /* a gateway no address of sl0 covers */
	mk(&r[4], "fd00:4::", 64, NULL, "sl1");
	r[4].k.metric = 300;
	for (int i = 0; i < 5; i++) {
		w0 = writes();
		ret = route_add(rt, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "add %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1, "one write counted for add %d", i);
	}
	assert_routes(r, 5);
	cr_assert_eq(count_lines("ip -4 route show proto 81 | wc -l"), 3, "iproute2 sees 3 IPv4 routes of proto 81");
	cr_assert_eq(count_lines("ip -6 route show proto 81 | wc -l"), 2, "and 2 IPv6");
	cr_assert_eq(count_lines("ip -4 route show 10.4.0.0/24 proto 81 | grep -c 'via 192.168.99.1 dev sl0 .*mtu 1400'"),
		     1);
	cr_assert_eq(count_lines("ip -4 route show 10.3.0.0/24 proto 81 | grep -c 'via inet6 fd00:50::2 dev sl0'"), 1);

	/* Replace: new gateways, a new MTU, no more onlink, another device. */
	addr("192.168.50.3", r[0].v.gw);
	r[0].v.mtu = 1300;
	addr("fd00:50::3", r[1].v.gw);
	addr("192.168.50.4", r[3].v.gw);
	r[3].v.mtu = 0;
	r[3].v.flags = 0;
	memcpy(r[4].v.dev, "sl0", 4);
	for (int i = 0; i < 5; i++) {
		w0 = writes();
		ret = route_replace(rt, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "replace %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1);
	}
	assert_routes(r, 5);
	cr_assert_eq(count_lines("ip -4 route show 10.2.0.0/24 | grep -c 'via 192.168.50.3 dev sl0 proto 81 .*mtu 1300'"),
		     1, "iproute2 sees the replaced route");

	/* A second add of the same key: named, and whose route holds it. */
	ret = route_add(rt, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route fd00:2::/64 via fd00:50::3 dev sl0 metric 1024: sluice's own route holds "
				"fd00:2::/64 already at that metric (File exists)");

	for (int i = 0; i < 5; i++) {
		w0 = writes();
		ret = route_del(rt, &r[i].k, i % 2 ? NULL : &r[i].v, &e);
		cr_assert_eq(ret, 0, "del %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1);
	}
	assert_routes(NULL, 0);
	cr_assert_eq(count_lines("ip route show proto 81 table all | wc -l"), 0);
	cr_assert_eq(count_lines("ip -6 route show proto 81 table all | wc -l"), 0);

	/* What is gone: removal and replace say so. */
	ret = route_del(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ESRCH, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.2.0.0/24 via 192.168.50.3 dev sl0 mtu 1300: sluice has no such route (No such "
				"process)");
	ret = route_replace(rt, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, -ENOENT, "%d %s", ret, e.msg);
	route_name(&r[1].k, &r[1].v, buf, sizeof(buf));
	cr_assert(strstr(e.msg, buf) == e.msg && strstr(e.msg, "no route of sluice's to replace"), "%s", e.msg);
}

/* An IPv6 pod CIDR behind a node with an IPv4 address: RTA_VIA where the
 * kernel takes it, else a clear refusal that sends nothing. */
Test(route, v6_via_v4)
{
	struct rt r;
	struct sl_kerr e = { "" };
	unsigned long w0;
	int ret, can;

	can = route_probe_v6_via_v4(rt, &e);
	cr_assert(can == 0 || can == 1, "probe: %d %s", can, e.msg);
	fprintf(stderr, "IPv6 routes via IPv4 gateways: %s\n", can ? "supported" : "not supported by this kernel");
	cr_assert_eq(count_lines("ip -6 route show table all | grep -c 2001:db8"), 0, "the probe added nothing");
	cr_assert_eq(route_probe_v6_via_v4(rt, &e), can, "the answer is kept");

	mk(&r, "fd00:2::", 64, "192.168.50.2", "sl0");
	w0 = writes();
	ret = route_add(rt, &r.k, &r.v, &e);
	if (can) {
		cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
		assert_routes(&r, 1);
		ret = route_del(rt, &r.k, &r.v, &e);
		cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	} else {
		cr_assert_eq(ret, -EOPNOTSUPP, "%d %s", ret, e.msg);
		cr_assert(strstr(e.msg, "route fd00:2::/64 via inet 192.168.50.2 dev sl0 metric 1024: this kernel takes no "
					"IPv4 gateway for IPv6 routes") == e.msg,
			  "%s", e.msg);
		/* the kernel's own words, from the probe */
		cr_assert(strstr(e.msg, "IPv6 does not support RTA_VIA attribute"), "%s", e.msg);
		cr_assert_eq(writes(), w0, "nothing was sent");
		fprintf(stderr, "  %s\n", e.msg);
	}
	assert_routes(NULL, 0);
}

/* ---- ownership ---- */

Test(route, foreign_untouched)
{
	static const char *const foreign[] = {
		/* other protocols, other prefixes */
		"ip route add 10.9.0.0/24 via 192.168.50.9 dev sl0",
		"ip -6 route add fd00:9::/64 via fd00:50::9 dev sl0 proto 80",
		/* the same prefixes as sluice's, at other metrics */
		"ip route add 10.2.0.0/24 via 192.168.50.9 dev sl0 metric 50 proto static",
		"ip -6 route add fd00:2::/64 via fd00:50::9 dev sl0 metric 2048 proto static",
		/* sluice's protocol, but not a route sluice makes: another
		 * table, another type, another scope, a TOS */
		"ip route add 10.8.0.0/24 via 192.168.50.9 dev sl0 proto 81 table 100",
		"ip route add blackhole 10.7.0.0/24 proto 81",
		"ip route add 10.6.0.0/24 dev sl0 proto 81 scope link",
		"ip route add 10.5.0.0/24 tos 0x10 via 192.168.50.9 dev sl0 proto 81",
		"ip -6 route add fd00:8::/64 via fd00:50::9 dev sl0 proto 81 table 100",
	};
	struct rt mine[2], f;
	struct sl_kerr e = { "" };
	char *before, *after;
	unsigned long w0;
	int ret;

	before = with_foreign(foreign, sizeof(foreign) / sizeof(foreign[0]));

	mk(&mine[0], "10.2.0.0", 24, "192.168.50.2", "sl0");
	mk(&mine[1], "fd00:2::", 64, "fd00:50::2", "sl0");
	for (int i = 0; i < 2; i++) {
		ret = route_add(rt, &mine[i].k, &mine[i].v, &e);
		cr_assert_eq(ret, 0, "add %d: %d %s", i, ret, e.msg);
	}
	assert_routes(mine, 2);

	/* Replacing a key a foreign route holds: refused, nothing sent. */
	mk(&f, "10.9.0.0", 24, "192.168.50.2", "sl0");
	w0 = writes();
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.9.0.0/24 via 192.168.50.2 dev sl0: a route that is not sluice's (proto boot) "
				"holds 10.9.0.0/24; left alone (Operation not permitted)");
	cr_assert_eq(writes(), w0);
	mk(&f, "fd00:9::", 64, "fd00:50::2", "sl0");
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "a route that is not sluice's (proto 80) holds fd00:9::/64"), "%s", e.msg);
	mk(&f, "10.2.0.0", 24, "192.168.50.2", "sl0");
	f.k.metric = 50;
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "same prefix as sluice's, foreign metric: %d %s", ret, e.msg);
	mk(&f, "10.6.0.0", 24, "192.168.50.2", "sl0");
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "sluice's protocol at scope link: %d %s", ret, e.msg);

	/* Removing keys foreign routes hold: the kernel finds no route of
	 * sluice's there (the request asks for protocol SL_RTPROT); refused,
	 * and the message says whose route is there. */
	mk(&f, "10.9.0.0", 24, NULL, "sl0");
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.9.0.0/24: sluice has no such route; a route that is not sluice's (proto boot) "
				"holds 10.9.0.0/24, left alone (Operation not permitted)");
	f.k.metric = 50;
	memcpy(f.k.prefix, mine[0].k.prefix, 16);
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	mk(&f, "fd00:2::", 64, NULL, "sl0");
	f.k.metric = 2048;
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "(proto static) holds fd00:2::/64 at that metric"), "%s", e.msg);
	mk(&f, "10.7.0.0", 24, NULL, "sl0");
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "blackhole of proto 81: %d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "not sluice's (proto 81, type 6)"), "%s", e.msg);
	mk(&f, "10.6.0.0", 24, NULL, "sl0");
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "scope link of proto 81: %d %s", ret, e.msg);
	mk(&f, "10.5.0.0", 24, NULL, "sl0");
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -ESRCH, "TOS 0x10 of proto 81 (a key sluice's never have): %d %s", ret, e.msg);
	/* Another table: refused before the kernel sees it. */
	mk(&f, "10.8.0.0", 24, "192.168.50.9", "sl0");
	f.k.table = 100;
	w0 = writes();
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.8.0.0/24 table 100: sluice's routes are in the main table (254) and sluice's "
				"tables 20928 (proxy) and 20929 (overlay) only: not sluice's, left alone (Operation not "
				"permitted)");
	ret = route_add(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_eq(writes(), w0);

	/* sluice's still observed alone; removing all it observes leaves the
	 * foreign ones exactly as they were. */
	assert_routes(mine, 2);
	{
		struct rts got = observe();
		struct sl_route_req *reqs = calloc(got.n, sizeof(*reqs));

		for (size_t i = 0; i < got.n; i++)
			reqs[i] = (struct sl_route_req){ .op = SL_ROUTE_OP_DEL, .key = &got.v[i].k, .value = &got.v[i].v };
		ret = route_batch(rt, reqs, got.n, NULL, NULL, &e);
		cr_assert_eq(ret, 0, "removing sluice's: %d %s", ret, e.msg);
		free(reqs);
		free(got.v);
	}
	assert_routes(NULL, 0);
	after = capture(ALL_ROUTES);
	cr_assert_str_eq(after, before, "foreign routes changed:\nbefore:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);
}

Test(route, add_over_foreign)
{
	struct rt r[2];
	struct sl_kerr e = { "" };
	char *before, *after;
	int ret;

	sh("ip route add 10.2.0.0/24 via 192.168.50.9 dev sl0");
	sh("ip -6 route add fd00:2::/64 via fd00:50::9 dev sl0");
	before = capture(ALL_ROUTES);
	mk(&r[0], "10.2.0.0", 24, "192.168.50.2", "sl0");
	mk(&r[1], "fd00:2::", 64, "fd00:50::2", "sl0");
	ret = route_add(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.2.0.0/24 via 192.168.50.2 dev sl0: a route that is not sluice's (proto boot) "
				"holds 10.2.0.0/24; left alone (File exists)");
	fprintf(stderr, "add over a foreign route: %s\n", e.msg);
	ret = route_add(rt, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route fd00:2::/64 via fd00:50::2 dev sl0 metric 1024: a route that is not sluice's "
				"(proto boot) holds fd00:2::/64 at that metric; left alone (File exists)");
	/* and in a batch, next to one that goes in */
	{
		struct rt ok;
		struct sl_route_req reqs[3];

		mk(&ok, "10.3.0.0", 24, "192.168.50.2", "sl0");
		reqs[0] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &r[0].k, .value = &r[0].v };
		reqs[1] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &ok.k, .value = &ok.v };
		reqs[2] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &r[1].k, .value = &r[1].v };
		ret = route_batch(rt, reqs, 3, NULL, NULL, &e);
		cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
		cr_assert_eq(reqs[0].err, -EEXIST);
		cr_assert_eq(reqs[1].err, 0);
		cr_assert_eq(reqs[2].err, -EEXIST);
		cr_assert(strstr(e.msg, "route 10.2.0.0/24 via 192.168.50.2 dev sl0: a route that is not sluice's") == e.msg &&
				  strstr(e.msg, "(File exists) (and 1 more failed)"),
			  "%s", e.msg);
		assert_routes(&ok, 1);
		ret = route_del(rt, &ok.k, &ok.v, &e);
		cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	}
	assert_routes(NULL, 0);
	after = capture(ALL_ROUTES);
	cr_assert_str_eq(after, before, "foreign routes changed:\nbefore:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);
}

/* ---- failures ---- */

struct failures {
	size_t idx[16];
	char msg[16][512];
	size_t n;
	const struct sl_route_req *base;
};

static void on_error(void *ctx, const struct sl_route_req *q, const struct sl_kerr *e)
{
	struct failures *f = ctx;

	if (f->n < 16) {
		f->idx[f->n] = (size_t)(q - f->base);
		snprintf(f->msg[f->n], sizeof(f->msg[0]), "%s", e->msg);
	}
	f->n++;
}

Test(route, missing_device)
{
	struct rt r[3];
	struct sl_route_req reqs[3];
	struct sl_kerr e = { "" };
	unsigned long w0 = writes();
	int ret;

	mk(&r[0], "10.2.0.0", 24, "192.168.50.2", "nosuch0");
	ret = route_add(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENODEV, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.2.0.0/24 via 192.168.50.2 dev nosuch0: device nosuch0 does not exist (No such "
				"device)");
	ret = route_replace(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENODEV, "%d %s", ret, e.msg);
	cr_assert_eq(writes(), w0, "nothing sent");

	/* In a batch: only that one fails. */
	mk(&r[0], "10.2.0.0", 24, "192.168.50.2", "sl0");
	mk(&r[1], "10.3.0.0", 24, "192.168.50.2", "sl9");
	mk(&r[2], "fd00:3::", 64, "fd00:50::2", "sl0");
	for (int i = 0; i < 3; i++)
		reqs[i] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &r[i].k, .value = &r[i].v };
	ret = route_batch(rt, reqs, 3, NULL, NULL, &e);
	cr_assert_eq(ret, -ENODEV, "%d %s", ret, e.msg);
	cr_assert_eq(reqs[0].err, 0);
	cr_assert_eq(reqs[1].err, -ENODEV);
	cr_assert_eq(reqs[2].err, 0);
	cr_assert_str_eq(e.msg, "route 10.3.0.0/24 via 192.168.50.2 dev sl9: device sl9 does not exist (No such device)");
	cr_assert_eq(writes(), w0 + 2);
	{
		struct rt want[2] = { r[0], r[2] };

		assert_routes(want, 2);
	}
	/* A device that goes away takes its routes with it; the next add
	 * names the device. */
	sh("ip link del sl0");
	assert_routes(NULL, 0);
	ret = route_add(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENODEV, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "device sl0 does not exist"), "%s", e.msg);
}

/* The kernel's own message (extended ack) in the error, after the route's name. */
Test(route, kernel_message)
{
	struct rt r;
	struct sl_kerr e = { "" };
	char name[256], want[512];
	int ret;

	/* a gateway that is not on the link */
	mk(&r, "10.2.0.0", 24, "10.99.0.1", "sl0");
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert(ret < 0, "added a route via an unreachable gateway");
	route_name(&r.k, &r.v, name, sizeof(name));
	snprintf(want, sizeof(want), "%s: Nexthop has invalid gateway (%s)", name, strerror(-ret));
	cr_assert_str_eq(e.msg, want);
	fprintf(stderr, "kernel message: %s\n", e.msg);

	/* a gateway that is this node's own address */
	mk(&r, "fd00:2::", 64, "fd00:50::1", "sl0");
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "added an IPv6 route via a local address: %d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route fd00:2::/64 via fd00:50::1 dev sl0 metric 1024: Gateway can not be a local "
				"address (Invalid argument)");
	fprintf(stderr, "kernel message: %s\n", e.msg);

	/* in a batch, each failure with its own message */
	{
		struct rt b[3];
		struct sl_route_req reqs[3];
		struct failures f = { .base = reqs };

		mk(&b[0], "10.2.0.0", 24, "10.99.0.1", "sl0");
		mk(&b[1], "10.3.0.0", 24, "192.168.50.2", "sl0");
		mk(&b[2], "fd00:2::", 64, "fd00:50::1", "sl0");
		for (int i = 0; i < 3; i++)
			reqs[i] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &b[i].k, .value = &b[i].v };
		ret = route_batch(rt, reqs, 3, on_error, &f, &e);
		cr_assert_eq(ret, -ENETUNREACH, "%d %s", ret, e.msg);
		cr_assert_eq(f.n, 2);
		cr_assert(strstr(f.msg[0], "route 10.2.0.0/24 via 10.99.0.1 dev sl0: Nexthop has invalid gateway (") ==
				  f.msg[0],
			  "%s", f.msg[0]);
		cr_assert_str_eq(f.msg[1], "route fd00:2::/64 via fd00:50::1 dev sl0 metric 1024: Gateway can not be a "
					   "local address (Invalid argument)");
		cr_assert_eq(reqs[1].err, 0);
		assert_routes(&b[1], 1);
		ret = route_del(rt, &b[1].k, NULL, &e);
		cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	}

	assert_routes(NULL, 0);
}

Test(route, refusals)
{
	struct rt r;
	struct sl_kerr e = { "" };
	unsigned long w0 = writes();
	int ret;

	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.k.family = AF_UNIX;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EAFNOSUPPORT, "%d %s", ret, e.msg);

	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.k.prefix_len = 33;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "prefix length too long"), "%s", e.msg);

	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.k.prefix[3] = 1; /* 10.2.0.1/24 */
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.2.0.1/24 via 192.168.50.2 dev sl0: prefix has bits set past its length "
				"(Invalid argument)");

	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.k.prefix[5] = 1; /* past an IPv4 address */
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.k.pad[0] = 1;
	ret = route_del(rt, &r.k, NULL, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.v.gw[4] = 1;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.v.pad[0] = 1;
	ret = route_replace(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.v.mtu = SL_ROUTE_MTU_MAX + 1;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "MTU above 65520"), "%s", e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.v.flags = 0x80;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.v.gw_family = 99;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EAFNOSUPPORT, "%d %s", ret, e.msg);

	mk(&r, "10.2.0.0", 24, "192.168.50.2", "");
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "no device"), "%s", e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	memset(r.v.dev, 'x', sizeof(r.v.dev));
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "not terminated"), "%s", e.msg);
	mk(&r, "10.2.0.0", 24, "192.168.50.2", "sl0");
	r.v.dev[6] = 'x'; /* "sl0\0\0\0x" */
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);

	mk(&r, "fd00:2::", 64, "fd00:50::2", "sl0");
	r.k.metric = 0;
	ret = route_add(rt, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "IPv6 routes have no metric 0"), "%s", e.msg);

	ret = route_add(rt, &r.k, NULL, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	ret = route_add(rt, NULL, NULL, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	{
		struct sl_route_req q = { .op = SL_ROUTE_OP__MAX, .key = &r.k, .value = &r.v };

		ret = route_batch(rt, &q, 1, NULL, NULL, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		cr_assert_eq(q.err, -EINVAL);
	}
	cr_assert_eq(writes(), w0, "no refused request was sent");
	assert_routes(NULL, 0);
}

/* ---- encapsulation: the overlay's routes ---- */

/* prefix/len on dev with an IP tunnel encapsulation of id to dst (an IPv4
 * dst: encap ip; IPv6: encap ip6), and an MTU. */
static void mk_encap(struct rt *r, const char *prefix, uint8_t len, uint32_t id, const char *dst, const char *dev,
		     uint32_t mtu)
{
	uint8_t a[16];
	uint8_t f;

	mk(r, prefix, len, NULL, dev);
	f = addr(dst, a);
	cr_assert_eq(sl_route_value_encap(&r->v, id, f, a), 0);
	r->v.mtu = mtu;
}

/* An external (collect-metadata) VXLAN device, as the overlay's. */
#define VXLAN_DEV "ip link add sv0 type vxlan external dstport 8472 && ip link set sv0 up"

Test(route, encap_round_trip)
{
	static const char *const foreign[] = {
		/* another protocol's encapsulated route */
		"ip route add 10.9.0.0/24 encap ip id 5 dst 192.168.50.9 dev sv0 proto static",
		/* sluice's protocol at the scope iproute2 gives a route
		 * without a gateway (link): not a route sluice makes */
		"ip route add 10.8.0.0/24 encap ip id 1 dst 192.168.50.8 dev sv0 proto 81",
		/* another table */
		"ip -6 route add fd00:9::/64 encap ip id 1 dst 192.168.50.9 dev sv0 proto 81 table 100",
	};
	struct rt r[4];
	struct sl_kerr e = { "" };
	char *before, *after, buf[256];
	unsigned long w0;
	int ret;

	sh(VXLAN_DEV);
	before = with_foreign(foreign, sizeof(foreign) / sizeof(foreign[0]));

	/* What the overlay compiles: IPv4 and IPv6 pod CIDRs to a node with
	 * an IPv4 address (encap ip), and one to a node with an IPv6 one
	 * (encap ip6). */
	mk_encap(&r[0], "10.2.0.0", 24, 1, "192.168.50.2", "sv0", 1450);
	mk_encap(&r[1], "fd00:2::", 64, 1, "192.168.50.2", "sv0", 1450);
	mk_encap(&r[2], "10.3.0.0", 24, 1, "fd00:50::3", "sv0", 1430);
	mk_encap(&r[3], "fd00:3::", 64, 1, "fd00:50::3", "sv0", 0);
	route_name(&r[0].k, &r[0].v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/24 encap vni 1 to 192.168.50.2 dev sv0 mtu 1450");
	route_name(&r[3].k, &r[3].v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route fd00:3::/64 encap vni 1 to fd00:50::3 dev sv0 metric 1024");
	for (int i = 0; i < 4; i++) {
		w0 = writes();
		ret = route_add(rt, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "add %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1, "one write counted for add %d", i);
	}
	/* read back byte for byte: the id, the destination, and nothing of
	 * the source, TTL, TOS and flags the kernel reports as zeros */
	assert_routes(r, 4);
	cr_assert_eq(count_lines("ip -4 route show 10.2.0.0/24 proto 81 | "
				 "grep -c 'encap ip id 1 src 0.0.0.0 dst 192.168.50.2 ttl 0 tos 0 dev sv0 mtu 1450'"),
		     1, "iproute2 sees the IPv4 route with its encapsulation");
	cr_assert_eq(count_lines("ip -6 route show fd00:2::/64 proto 81 | grep -c 'encap ip id 1 .*dst 192.168.50.2 .*dev sv0'"),
		     1, "an IPv6 route with an IPv4 tunnel");
	cr_assert_eq(count_lines("ip -4 route show 10.3.0.0/24 proto 81 | grep -c 'encap ip6 id 1 .*dst fd00:50::3 .*dev sv0'"),
		     1, "an IPv4 route with an IPv6 tunnel");
	/* the kernel looks the routes up as the node's own traffic would */
	cr_assert_eq(count_lines("ip route get 10.2.0.7 | grep -c 'encap ip id 1 .*dst 192.168.50.2 .*dev sv0'"), 1);

	/* Replace: another destination and id, another MTU; an encapsulated
	 * route becomes a plain one and a plain one encapsulated. */
	mk_encap(&r[0], "10.2.0.0", 24, 1001, "192.168.50.22", "sv0", 1400);
	mk(&r[1], "fd00:2::", 64, "fd00:50::2", "sl0");
	mk_encap(&r[2], "10.3.0.0", 24, 1, "fd00:50::33", "sv0", 1430);
	for (int i = 0; i < 3; i++) {
		w0 = writes();
		ret = route_replace(rt, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "replace %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1);
	}
	assert_routes(r, 4);
	cr_assert_eq(count_lines("ip -4 route show 10.2.0.0/24 proto 81 | grep -c 'encap ip id 1001 .*dst 192.168.50.22 '"),
		     1);
	mk_encap(&r[1], "fd00:2::", 64, 1, "192.168.50.2", "sv0", 1450);
	ret = route_replace(rt, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_routes(r, 4);

	/* Changed by hand: a TTL sluice's routes do not have. Observed as a
	 * route that differs (so that apply replaces it), and replaced. */
	sh("ip route replace 10.3.0.0/24 encap ip6 id 1 dst fd00:50::33 hoplimit 64 dev sv0 proto 81 scope global "
	   "mtu 1430");
	{
		struct rts got = observe();
		bool seen = false;

		cr_assert_eq(got.n, 4);
		for (size_t i = 0; i < got.n; i++) {
			if (memcmp(&got.v[i].k, &r[2].k, sizeof(r[2].k)))
				continue;
			seen = true;
			cr_assert_eq(got.v[i].v.encap.flags, SL_ROUTE_ENCAP_F_OTHER);
			route_name(&got.v[i].k, &got.v[i].v, buf, sizeof(buf));
			cr_assert_str_eq(buf, "route 10.3.0.0/24 encap vni 1 to fd00:50::33 with other tunnel settings dev "
					      "sv0 mtu 1430");
			got.v[i].v.encap.flags = 0;
			cr_assert_eq(memcmp(&got.v[i].v, &r[2].v, sizeof(r[2].v)), 0, "the rest as sluice's");
		}
		cr_assert(seen);
		free(got.v);
	}
	ret = route_replace(rt, &r[2].k, &r[2].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_routes(r, 4);
	cr_assert_eq(count_lines("ip -4 route show 10.3.0.0/24 proto 81 | grep -c 'hoplimit 0 '"), 1, "repaired");

	/* Tunnel flags by hand (the key flag): the same. */
	sh("ip route replace 10.2.0.0/24 encap ip id 1001 dst 192.168.50.22 key dev sv0 proto 81 scope global mtu 1400");
	{
		struct rts got = observe();
		size_t other = 0;

		for (size_t i = 0; i < got.n; i++)
			other += got.v[i].v.encap.flags == SL_ROUTE_ENCAP_F_OTHER;
		cr_assert_eq(got.n, 4);
		cr_assert_eq(other, 1, "the route with the key flag differs from sluice's");
		free(got.v);
	}
	ret = route_replace(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_routes(r, 4);

	/* Refused before anything is sent: what the kernel could not give
	 * back. */
	w0 = writes();
	{
		struct rt x = r[0];

		x.v.encap.type = 1; /* LWTUNNEL_ENCAP_MPLS */
		ret = route_replace(rt, &x.k, &x.v, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		cr_assert(strstr(e.msg, "an encapsulation other than an IP or IP6 tunnel's"), "%s", e.msg);
		x = r[0];
		x.v.encap.flags = SL_ROUTE_ENCAP_F_OTHER;
		ret = route_replace(rt, &x.k, &x.v, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		cr_assert(strstr(e.msg, "only observation sets them"), "%s", e.msg);
		x = r[0];
		x.v.encap.dst[4] = 1; /* past an IPv4 destination */
		ret = route_replace(rt, &x.k, &x.v, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		x = r[0];
		x.v.encap.pad[1] = 1;
		ret = route_replace(rt, &x.k, &x.v, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		mk(&x, "10.4.0.0", 24, NULL, "sv0");
		x.v.encap.id = 1; /* without a type */
		ret = route_add(rt, &x.k, &x.v, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		cr_assert(strstr(e.msg, "without an encapsulation type"), "%s", e.msg);
		mk_encap(&x, "0.0.0.0", 0, 1, "192.168.50.2", "lo", 0);
		x.k.type = SL_ROUTE_LOCAL;
		x.k.table = SL_PROXY_TABLE;
		ret = route_add(rt, &x.k, &x.v, &e);
		cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
		cr_assert(strstr(e.msg, "no encapsulation"), "%s", e.msg);
	}
	cr_assert_eq(writes(), w0, "no refused request was sent");
	assert_routes(r, 4);

	/* Removed, with or without the value; the foreign ones stay. */
	for (int i = 0; i < 4; i++) {
		ret = route_del(rt, &r[i].k, i % 2 ? NULL : &r[i].v, &e);
		cr_assert_eq(ret, 0, "del %d: %d %s", i, ret, e.msg);
	}
	assert_routes(NULL, 0);
	after = capture(ALL_ROUTES);
	cr_assert_str_eq(after, before, "foreign routes changed:\nbefore:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);

	/* The device goes: its routes with it; the next add names it. */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(route_add(rt, &r[i].k, &r[i].v, &e), 0, "%s", e.msg);
	sh("ip link del sv0");
	assert_routes(NULL, 0);
	ret = route_add(rt, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENODEV, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.2.0.0/24 encap vni 1001 to 192.168.50.22 dev sv0 mtu 1400: device sv0 does not "
				"exist (No such device)");
}

/*
 * The overlay's routes are in sluice's overlay table (20929): read back
 * byte for byte with their table, beside routes of the same prefixes in
 * the main table (another's and sluice's own, which are other keys);
 * replaced, in one batch with a replace in the main table (both tables
 * read); a foreign route of that table refused as in the main table, the
 * message naming the table; gone, the rest as it was.
 */
Test(route, overlay_table)
{
	static const char *const foreign[] = {
		/* another's route in the overlay table, and in the main table
		 * to the prefix of sluice's overlay route */
		"ip route add 10.9.0.0/24 encap ip id 5 dst 192.168.50.9 dev sv0 table 20929 proto static",
		"ip route add 10.2.0.0/24 via 192.168.50.9 dev sl0 proto static",
		"ip -6 route add fd00:9::/64 via fd00:50::9 dev sl0 table 20929",
	};
	struct rt r[3], f;
	struct sl_route_req q[2];
	struct sl_kerr e = { "" };
	char *before, *after;
	unsigned long w0;
	int ret;

	sh(VXLAN_DEV);
	before = with_foreign(foreign, sizeof(foreign) / sizeof(foreign[0]));
	mk_encap(&r[0], "10.2.0.0", 24, 1, "192.168.50.2", "sv0", 1450);
	r[0].k.table = SL_OVERLAY_TABLE;
	mk_encap(&r[1], "fd00:2::", 64, 1, "192.168.50.2", "sv0", 1450);
	r[1].k.table = SL_OVERLAY_TABLE;
	/* encryption's route in the main table to another prefix */
	mk(&r[2], "10.3.0.0", 24, "192.168.50.3", "sl0");
	for (int i = 0; i < 3; i++) {
		ret = route_add(rt, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "add %d: %d %s", i, ret, e.msg);
	}
	assert_routes(r, 3);
	cr_assert_eq(count_lines("ip -4 route show table 20929 proto 81 | grep -c 'encap ip id 1 .*dst 192.168.50.2 .*dev "
				 "sv0 mtu 1450'"),
		     1);
	cr_assert_eq(count_lines("ip -6 route show table 20929 proto 81 | grep -c '^fd00:2::/64 .*dev sv0'"), 1);

	/* Replaced in one batch with a replace in the main table. */
	mk_encap(&r[0], "10.2.0.0", 24, 1, "192.168.50.22", "sv0", 1400);
	r[0].k.table = SL_OVERLAY_TABLE;
	mk(&r[2], "10.3.0.0", 24, "192.168.50.33", "sl0");
	q[0] = (struct sl_route_req){ .op = SL_ROUTE_OP_REPLACE, .key = &r[0].k, .value = &r[0].v };
	q[1] = (struct sl_route_req){ .op = SL_ROUTE_OP_REPLACE, .key = &r[2].k, .value = &r[2].v };
	ret = route_batch(rt, q, 2, NULL, NULL, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_routes(r, 3);
	cr_assert_eq(count_lines("ip -4 route show table 20929 proto 81 | grep -c 'dst 192.168.50.22 .*mtu 1400'"), 1);
	cr_assert_eq(count_lines("ip -4 route show 10.2.0.0/24 | grep -c 'via 192.168.50.9 dev sl0 proto static'"), 1,
		     "another's route in the main table untouched");

	/* Another's route in the overlay table: replace, add and removal
	 * refused, the message naming the table. */
	mk_encap(&f, "10.9.0.0", 24, 1, "192.168.50.2", "sv0", 1450);
	f.k.table = SL_OVERLAY_TABLE;
	w0 = writes();
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route 10.9.0.0/24 encap vni 1 to 192.168.50.2 dev sv0 mtu 1450 table 20929: a route that "
				"is not sluice's (proto static) holds 10.9.0.0/24 in table 20929; left alone (Operation not "
				"permitted)");
	cr_assert_eq(writes(), w0, "nothing sent");
	ret = route_add(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "(proto static) holds 10.9.0.0/24 in table 20929; left alone"), "%s", e.msg);
	ret = route_del(rt, &f.k, NULL, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	mk(&f, "fd00:9::", 64, "fd00:50::2", "sl0");
	f.k.table = SL_OVERLAY_TABLE;
	ret = route_replace(rt, &f.k, &f.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "(proto boot) holds fd00:9::/64 in table 20929 at that metric"), "%s", e.msg);

	for (int i = 0; i < 3; i++) {
		ret = route_del(rt, &r[i].k, i == 1 ? NULL : &r[i].v, &e);
		cr_assert_eq(ret, 0, "del %d: %d %s", i, ret, e.msg);
	}
	assert_routes(NULL, 0);
	after = capture(ALL_ROUTES);
	cr_assert_str_eq(after, before, "foreign routes changed:\nbefore:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);
}

/* ---- batches ---- */

/* Route i of a batch: IPv4 10.{100+i/256}.{i%256}.0/24 for even i, IPv6
 * fd00:100:i::/64 for odd ones, via node b on sl0. */
static void batch_route(struct rt *r, unsigned i, const char *gw4, const char *gw6)
{
	char p[64];

	if (i % 2 == 0) {
		snprintf(p, sizeof(p), "10.%u.%u.0", 100 + (i / 2) / 256, (i / 2) % 256);
		mk(r, p, 24, gw4, "sl0");
	} else {
		snprintf(p, sizeof(p), "fd00:100:%x::", i / 2);
		mk(r, p, 64, gw6, "sl0");
	}
}

Test(route, batch_failures_mapped)
{
	enum { N = 1000 };
	struct rt *r = calloc(N, sizeof(*r));
	struct sl_route_req *reqs = calloc(N, sizeof(*reqs));
	struct failures f = { .base = reqs };
	struct sl_kerr e = { "" };
	static const size_t bad[] = { 100, 300, 500, 700, 999 };
	char name[256];
	int ret;

	for (unsigned i = 0; i < N; i++) {
		batch_route(&r[i], i, "192.168.50.2", "fd00:50::2");
		reqs[i] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &r[i].k, .value = &r[i].v };
	}
	/* 100: a duplicate of 6; 300: another table (refused); 500: no such
	 * device (refused); 700: a foreign route holds it; 999: a duplicate
	 * of 1. */
	r[100] = r[6];
	r[300].k.table = 100;
	memcpy(r[500].v.dev, "sl7", 4);
	sh("ip route add 10.101.94.0/24 dev sl0"); /* route 700: i/2 = 350 */
	r[999] = r[1];
	ret = route_batch(rt, reqs, N, on_error, &f, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_eq(f.n, 5, "%zu failures", f.n);
	for (size_t j = 0; j < 5; j++)
		cr_assert_eq(f.idx[j], bad[j], "failure %zu is request %zu, want %zu", j, f.idx[j], bad[j]);
	for (unsigned i = 0; i < N; i++) {
		int want = i == 300 ? -EPERM : i == 500 ? -ENODEV : (i == 100 || i == 700 || i == 999) ? -EEXIST : 0;

		cr_assert_eq(reqs[i].err, want, "request %u: %d, want %d", i, reqs[i].err, want);
	}
	for (size_t j = 0; j < 5; j++) {
		route_name(&r[f.idx[j]].k, &r[f.idx[j]].v, name, sizeof(name));
		cr_assert(strstr(f.msg[j], name) == f.msg[j], "failure %zu: %s does not name %s", j, f.msg[j], name);
	}
	cr_assert(strstr(f.msg[0], "sluice's own route holds 10.100.3.0/24 already"), "%s", f.msg[0]);
	cr_assert(strstr(f.msg[3], "a route that is not sluice's (proto boot) holds 10.101.94.0/24"), "%s", f.msg[3]);
	cr_assert(strstr(f.msg[4], "sluice's own route holds fd00:100::/64 already"), "%s", f.msg[4]);
	route_name(&r[100].k, &r[100].v, name, sizeof(name));
	cr_assert(strstr(e.msg, name) == e.msg && strstr(e.msg, "(File exists) (and 4 more failed)"), "%s", e.msg);
	fprintf(stderr, "batch with failures: %s\n", e.msg);
	{
		struct rts got = observe();

		cr_assert_eq(got.n, N - 5, "observed %zu", got.n);
		free(got.v);
	}
	free(r);
	free(reqs);
}

#define N_BATCH 10000
#define N_FOREIGN 1000

/* Run `ip -batch` on text (its lines); returns the time it took in ms.
 * Without meson's MALLOC_PERTURB_, which slows iproute2 (a buffer
 * allocated and filled per request) 3 to 6 times. */
static double ip_batch(char *text)
{
	char path[] = "/tmp/sluice-test-route-XXXXXX", cmd[256];
	size_t len = strlen(text);
	int fd = mkstemp(path), ret;
	double t0, t;

	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	ret = write(fd, text, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	free(text);
	snprintf(cmd, sizeof(cmd), "env -u MALLOC_PERTURB_ ip -batch %s", path);
	t0 = now_ms();
	if (ret == 0)
		ret = system(cmd);
	t = now_ms() - t0;
	unlink(path);
	cr_assert_eq(ret, 0, "`%s` failed (%d)", cmd, ret);
	return t;
}

/* "route VERB PREFIX via GW dev DEV proto 81 metric M" for each route. */
static char *route_lines(const char *verb, const struct rt *r, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++) {
		char p[INET6_ADDRSTRLEN], g[INET6_ADDRSTRLEN];

		inet_ntop(r[i].k.family, r[i].k.prefix, p, sizeof(p));
		inet_ntop(r[i].v.gw_family, r[i].v.gw, g, sizeof(g));
		fprintf(f, "route %s %s/%u via %s dev %s proto %u metric %u\n", verb, p, r[i].k.prefix_len, g, r[i].v.dev,
			SL_RTPROT, r[i].k.metric);
	}
	fclose(f);
	return text;
}

Test(route, batch_10k, .timeout = 300)
{
	struct rt *r = calloc(N_BATCH, sizeof(*r));
	struct sl_route_req *reqs = calloc(N_BATCH, sizeof(*reqs));
	struct sl_kerr e = { "" };
	double t0, t_add, t_obs, t_rep, t_del, t_ip_add, t_ip_del;
	unsigned long w0;
	char *before, *after;
	struct rts got;
	int ret;

	/* Foreign routes to read past: 1000 IPv4 of proto static. */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		cr_assert_not_null(f);
		for (unsigned i = 0; i < N_FOREIGN; i++)
			fprintf(f, "route add 10.%u.%u.0/24 via 192.168.50.9 dev sl0 proto static\n", 200 + i / 256, i % 256);
		fclose(f);
		ip_batch(text);
	}
	before = capture(ALL_ROUTES);

	for (unsigned i = 0; i < N_BATCH; i++) {
		batch_route(&r[i], i, "192.168.50.2", "fd00:50::2");
		reqs[i] = (struct sl_route_req){ .op = SL_ROUTE_OP_ADD, .key = &r[i].k, .value = &r[i].v };
	}
	w0 = writes();
	t0 = now_ms();
	ret = route_batch(rt, reqs, N_BATCH, NULL, NULL, &e);
	t_add = now_ms() - t0;
	cr_assert_eq(ret, 0, "batch add: %d %s", ret, e.msg);
	for (unsigned i = 0; i < N_BATCH; i++)
		cr_assert_eq(reqs[i].err, 0);
	cr_assert_eq(writes(), w0 + N_BATCH, "%lu writes counted", writes() - w0);

	t0 = now_ms();
	got = observe();
	t_obs = now_ms() - t0;
	free(got.v);
	assert_routes(r, N_BATCH);
	cr_assert_eq(count_lines("ip -4 route show proto 81 | wc -l"), N_BATCH / 2);
	cr_assert_eq(count_lines("ip -6 route show proto 81 | wc -l"), N_BATCH / 2);

	/* Replace all: new gateways (the batch first reads the table). */
	for (unsigned i = 0; i < N_BATCH; i++) {
		batch_route(&r[i], i, "192.168.50.3", "fd00:50::3");
		reqs[i].op = SL_ROUTE_OP_REPLACE;
	}
	t0 = now_ms();
	ret = route_batch(rt, reqs, N_BATCH, NULL, NULL, &e);
	t_rep = now_ms() - t0;
	cr_assert_eq(ret, 0, "batch replace: %d %s", ret, e.msg);
	assert_routes(r, N_BATCH);

	for (unsigned i = 0; i < N_BATCH; i++)
		reqs[i].op = SL_ROUTE_OP_DEL;
	t0 = now_ms();
	ret = route_batch(rt, reqs, N_BATCH, NULL, NULL, &e);
	t_del = now_ms() - t0;
	cr_assert_eq(ret, 0, "batch del: %d %s", ret, e.msg);
	assert_routes(NULL, 0);
	after = capture(ALL_ROUTES);
	cr_assert_str_eq(after, before, "the foreign routes changed:\n--- before\n%s--- after\n%s", before, after);

	/* The same 10k with iproute2: one request and one ack each. What it
	 * makes is what sluice observes as its own, byte for byte. */
	t_ip_add = ip_batch(route_lines("add", r, N_BATCH));
	assert_routes(r, N_BATCH);
	t_ip_del = ip_batch(route_lines("del", r, N_BATCH));
	assert_routes(NULL, 0);

	fprintf(stderr,
		"batch of %d routes (%d IPv4 + %d IPv6, %d foreign in the table): sluice add %.1f ms, observe %.1f ms, "
		"replace %.1f ms, remove %.1f ms; ip -batch add %.1f ms (%.2fx sluice's), remove %.1f ms (%.2fx)\n",
		N_BATCH, N_BATCH / 2, N_BATCH / 2, N_FOREIGN, t_add, t_obs, t_rep, t_del, t_ip_add, t_ip_add / t_add,
		t_ip_del, t_ip_del / t_del);
	free(before);
	free(after);
	free(r);
	free(reqs);
}

/* Criterion's own main, and then: without root every kernel test skipped
 * (only route_names ran), which meson is told by exit status 77. */
int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int ret = 0;

	if (criterion_handle_args(argc, argv, true))
		ret = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	if (ret == 0 && geteuid() != 0)
		return 77;
	return ret;
}

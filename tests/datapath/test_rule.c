/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice's policy routing against the real kernel: the rule backend
 * (src/datapath/rule.c) with the local routes of sluice's proxy table and
 * the overlay's routes in its own table (src/datapath/route.c). sluice's
 * rules (the proxy redirect's fwmark rule, the overlay's `iif lo` rule) and
 * routes (protocol SL_RTPROT) added, observed byte for byte, removed, IPv4
 * and IPv6; foreign rules and routes (other protocols, other selectors,
 * the same priority, mark and table) never observed or removed; removals
 * the kernel would take another rule for refused; drift (`ip rule del`,
 * `ip route del`) seen by the next observation; refusals sent nothing; the
 * decoder on messages built by hand (no root needed).
 *
 * Each kernel test runs in a process of its own (criterion forks) and first
 * moves into a network namespace of its own with a veth pair (sl0, sl1), so
 * nothing shows on the host and nothing outlives the test.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "datapath/route.h"
#include "datapath/rule.h"

/* The counter kernel.c defines; here, so that the modules' weak reference
 * finds it and the test can see every write counted. */
_Atomic unsigned long sl_kernel_writes;

static struct sl_rule *ru;
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
		cr_skip_test("needs root (a network namespace, rules)");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	sh("ip link set lo up && ip link add sl0 type veth peer name sl1 && ip link set sl0 up && "
	   "ip link set sl1 up && ip addr add 192.168.50.1/24 dev sl0 && ip addr add fd00:50::1/64 dev sl0 nodad");
	cr_assert_eq(rule_open(&ru, &e), 0, "rule_open: %s", e.msg);
	cr_assert_eq(route_open(&rt, &e), 0, "route_open: %s", e.msg);
}

static void teardown(void)
{
	rule_close(ru);
	route_close(rt);
	ru = NULL;
	rt = NULL;
}

TestSuite(rule, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static unsigned long writes(void)
{
	return sl_kernel_writes;
}

struct ru {
	struct sl_rule_key k;
	struct sl_rule_value v;
};

/* The proxy redirect's rule of a family, as features/proxy.c compiles it. */
static struct ru proxy_rule(uint8_t family)
{
	struct ru r = {
		.k = { .priority = SL_PROXY_RULE_PRIORITY,
		       .fwmark = SL_MARK_PROXY,
		       .fwmask = SL_MARK_MAGIC_MASK,
		       .table = SL_PROXY_TABLE,
		       .family = family },
		.v = { .action = SL_RULE_LOOKUP },
	};

	return r;
}

/* The overlay's rule of a family, as features/overlay.c compiles it. */
static struct ru overlay_rule(uint8_t family)
{
	struct ru r = {
		.k = { .priority = SL_OVERLAY_RULE_PRIORITY,
		       .table = SL_OVERLAY_TABLE,
		       .iif = SL_OVERLAY_RULE_IIF,
		       .family = family },
		.v = { .action = SL_RULE_LOOKUP },
	};

	return r;
}

struct rt {
	struct sl_route_key k;
	struct sl_route_value v;
};

/* The proxy table's local route of a family, as features/proxy.c compiles
 * it. */
static struct rt proxy_route(uint8_t family)
{
	static const uint8_t any[16];
	struct rt r;

	sl_route_key_init(&r.k, family, any, 0);
	r.k.table = SL_PROXY_TABLE;
	r.k.type = SL_ROUTE_LOCAL;
	cr_assert_eq(sl_route_value_init(&r.v, 0, NULL, "lo"), 0);
	return r;
}

struct set {
	uint8_t *v; /* elements of size sz, back to back */
	size_t n, cap, sz;
};

static int add_elem(struct set *s, const void *k, size_t klen, const void *v, size_t vlen)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * s->sz);
		if (!s->v)
			return -ENOMEM;
	}
	memcpy(s->v + s->n * s->sz, k, klen);
	memcpy(s->v + s->n * s->sz + klen, v, vlen);
	s->n++;
	return 0;
}

static int rule_cb(void *ctx, const void *k, const void *v)
{
	return add_elem(ctx, k, sizeof(struct sl_rule_key), v, sizeof(struct sl_rule_value));
}

static int route_cb(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v)
{
	return add_elem(ctx, k, sizeof(*k), v, sizeof(*v));
}

static size_t cmp_size;

static int cmp_elem(const void *a, const void *b)
{
	return memcmp(a, b, cmp_size);
}

/* What observation gives (sorted) is exactly want_in (any order), byte for
 * byte; what names each element, for the message. */
static void assert_set(struct set *got, const void *want_in, size_t n, void (*name)(const void *, char *, size_t))
{
	uint8_t *want = n ? malloc(n * got->sz) : NULL;

	cr_assert_eq(got->n, n, "observed %zu, want %zu", got->n, n);
	cmp_size = got->sz;
	if (got->n)
		qsort(got->v, got->n, got->sz, cmp_elem);
	if (n) {
		memcpy(want, want_in, n * got->sz);
		qsort(want, n, got->sz, cmp_elem);
	}
	for (size_t i = 0; i < n; i++) {
		char w[256], g[256];

		name(want + i * got->sz, w, sizeof(w));
		name(got->v + i * got->sz, g, sizeof(g));
		cr_assert(memcmp(got->v + i * got->sz, want + i * got->sz, got->sz) == 0, "%zu: want %s, observed %s",
			  i, w, g);
	}
	free(want);
	free(got->v);
}

static void rule_name_of(const void *p, char *buf, size_t len)
{
	const struct ru *r = p;

	sl_rule_name(&r->k, &r->v, buf, len);
}

static void route_name_of(const void *p, char *buf, size_t len)
{
	const struct rt *r = p;

	route_name(&r->k, &r->v, buf, len);
}

static void assert_rules(const struct ru *want, size_t n)
{
	struct set got = { .sz = sizeof(struct ru) };
	struct sl_kerr e = { "" };
	int r = rule_observe(ru, rule_cb, &got, &e);

	cr_assert_eq(r, 0, "rule_observe: %d %s", r, e.msg);
	assert_set(&got, want, n, rule_name_of);
}

static void assert_routes(const struct rt *want, size_t n)
{
	struct set got = { .sz = sizeof(struct rt) };
	struct sl_kerr e = { "" };
	int r = route_observe(rt, route_cb, &got, &e);

	cr_assert_eq(r, 0, "route_observe: %d %s", r, e.msg);
	assert_set(&got, want, n, route_name_of);
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

static int count(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	int n = -1;

	cr_assert_not_null(f, "popen %s", cmd);
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

/* Every rule and every route of every table, both families: what must stay
 * as it was (not the link-local routes, which the kernel adds late). */
#define ALL "(ip -4 rule; ip -6 rule; ip -4 route show table all; ip -6 route show table all) | grep -v fe80:: | sort"

/* ---- names and the decoder: no kernel ---- */

Test(rule_names, names)
{
	struct ru r = proxy_rule(AF_INET);
	struct rt l = proxy_route(AF_INET);
	char buf[256];

	sl_rule_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928");
	r = proxy_rule(AF_INET6);
	r.v.action = FR_ACT_BLACKHOLE;
	sl_rule_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928 action 6");
	route_name(&l.k, &l.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route local 0.0.0.0/0 dev lo table 20928");
	l = proxy_route(AF_INET6);
	route_name(&l.k, &l.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route local ::/0 dev lo metric 1024 table 20928");
	/* the constants the brief and iproute2 speak of */
	cr_assert_eq(SL_PROXY_TABLE, 20928u);
	cr_assert_eq(SL_PROXY_RULE_PRIORITY, 81u);
	cr_assert_eq(SL_MARK_PROXY & SL_MARK_MAGIC_MASK, 0xa00u);
	/* the overlay's */
	r = overlay_rule(AF_INET6);
	sl_rule_name(&r.k, &r.v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rule ipv6 pref 82 iif lo lookup 20929");
	cr_assert_eq(SL_OVERLAY_TABLE, 20929u);
	cr_assert_eq(SL_OVERLAY_RULE_PRIORITY, 82u);
}

/* A rule message as the kernel fills it (fib_nl_fill_rule). */
static size_t build_rule(uint8_t *buf, size_t len, uint8_t family, int proto, uint32_t flags, const char *iif,
			 uint32_t suppress)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWRULE;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->table = RT_TABLE_COMPAT;
	frh->action = FR_ACT_TO_TBL;
	frh->flags = flags;
	mnl_attr_put_u32(nlh, FRA_TABLE, SL_PROXY_TABLE);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, suppress);
	if (proto >= 0)
		mnl_attr_put_u8(nlh, FRA_PROTOCOL, (uint8_t)proto);
	if (iif)
		mnl_attr_put_strz(nlh, FRA_IIFNAME, iif);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, SL_PROXY_RULE_PRIORITY);
	mnl_attr_put_u32(nlh, FRA_FWMARK, SL_MARK_PROXY);
	mnl_attr_put_u32(nlh, FRA_FWMASK, SL_MARK_MAGIC_MASK);
	return nlh->nlmsg_len;
}

Test(rule_names, decode)
{
	uint8_t buf[512] __attribute__((aligned(4)));
	struct ru want = proxy_rule(AF_INET6), got;

	build_rule(buf, sizeof(buf), AF_INET6, SL_RTPROT, 0, NULL, UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 1);
	cr_assert(memcmp(&got, &want, sizeof(got)) == 0, "the bytes compiled are the bytes decoded");
	/* another protocol; none (a kernel before 4.17); `not`; a
	 * suppressor: not sluice's */
	build_rule(buf, sizeof(buf), AF_INET, RTPROT_BOOT, 0, NULL, UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	build_rule(buf, sizeof(buf), AF_INET, -1, 0, NULL, UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, FIB_RULE_INVERT, NULL, UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, 0, NULL, 0);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	/* an input device: sluice's, with the name zero-padded in the key;
	 * also when the kernel says no device of that name is there now */
	want = proxy_rule(AF_INET);
	memcpy(want.k.iif, "lo", 2);
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, 0, "lo", UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 1);
	cr_assert(memcmp(&got, &want, sizeof(got)) == 0, "iif lo: %.16s", got.k.iif);
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, FIB_RULE_IIF_DETACHED, "lo", UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 1);
	cr_assert(memcmp(&got, &want, sizeof(got)) == 0);
	/* the longest name (15 characters); one longer, the flag without a
	 * name: not of sluice's form */
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, 0, "abcdefghijklmno", UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 1);
	cr_assert_eq(memcmp(got.k.iif, "abcdefghijklmno", 16), 0);
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, 0, "abcdefghijklmnop", UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, FIB_RULE_IIF_DETACHED, NULL, UINT32_MAX);
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	/* a name without its NUL */
	{
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		build_rule(buf, sizeof(buf), AF_INET, SL_RTPROT, 0, NULL, UINT32_MAX);
		mnl_attr_put(nlh, FRA_IIFNAME, 2, "lo");
		cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
	}
	/* a route is no rule */
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_NEWROUTE;
	cr_assert_eq(rule_decode(buf, &got.k, &got.v), 0);
}

/* ---- round trip ---- */

Test(rule, round_trip)
{
	struct ru r[2] = { proxy_rule(AF_INET), proxy_rule(AF_INET6) };
	struct rt l[2] = { proxy_route(AF_INET), proxy_route(AF_INET6) };
	struct sl_kerr e = { "" };
	unsigned long w0;
	int ret;

	/* the routes first, as apply does */
	for (int i = 0; i < 2; i++) {
		w0 = writes();
		ret = route_add(rt, &l[i].k, &l[i].v, &e);
		cr_assert_eq(ret, 0, "route %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1, "one write counted");
		ret = rule_add(ru, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "rule %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 2, "one write counted");
	}
	assert_rules(r, 2);
	assert_routes(l, 2);
	/* what iproute2 sees: the lines of the brief */
	cr_assert_eq(count("ip -4 rule | grep -c '^81:\tfrom all fwmark 0xa00/0xf00 lookup 20928 proto 81'"), 1);
	cr_assert_eq(count("ip -6 rule | grep -c '^81:\tfrom all fwmark 0xa00/0xf00 lookup 20928 proto 81'"), 1);
	cr_assert_eq(count("ip -4 route show table 20928 | grep -c '^local default dev lo proto 81 scope host'"), 1);
	cr_assert_eq(count("ip -6 route show table 20928 | grep -c '^local default dev lo proto 81 metric 1024'"), 1);

	/* A second add: the kernel has it (NLM_F_EXCL), and says so. */
	w0 = writes();
	ret = rule_add(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928: sluice's own rule is there "
				"already (File exists)");
	ret = route_add(rt, &l[0].k, &l[0].v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "sluice's own route holds 0.0.0.0/0 already"), "%s", e.msg);
	assert_rules(r, 2);

	/* Removal: the rules first, with and without their value. */
	for (int i = 0; i < 2; i++) {
		w0 = writes();
		ret = rule_del(ru, &r[i].k, i ? NULL : &r[i].v, &e);
		cr_assert_eq(ret, 0, "del rule %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1);
		ret = route_del(rt, &l[i].k, &l[i].v, &e);
		cr_assert_eq(ret, 0, "del route %d: %d %s", i, ret, e.msg);
	}
	assert_rules(NULL, 0);
	assert_routes(NULL, 0);
	cr_assert_eq(count("ip -4 rule | grep -c 20928"), 0);
	cr_assert_eq(count("ip -6 rule | grep -c 20928"), 0);
	cr_assert_eq(count("(ip -4 route show table all; ip -6 route show table all) | grep -c 'proto 81'"), 0);

	/* Gone: a removal says so. */
	ret = rule_del(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENOENT, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928: sluice has no such rule (No such "
				"file or directory)");
}

/* Remove both families' rule and local route (the second rule without its
 * value when second_bare); then sluice has none, and everything else
 * (before: capture(ALL) from the start) is as it was. Frees before. */
static void remove_both(struct ru r[2], struct rt l[2], bool second_bare, char *before)
{
	struct sl_kerr e = { "" };
	char *after;
	int ret;

	for (int i = 0; i < 2; i++) {
		ret = rule_del(ru, &r[i].k, second_bare && i ? NULL : &r[i].v, &e);
		cr_assert_eq(ret, 0, "del rule %d: %d %s", i, ret, e.msg);
		ret = route_del(rt, &l[i].k, &l[i].v, &e);
		cr_assert_eq(ret, 0, "del route %d: %d %s", i, ret, e.msg);
	}
	assert_rules(NULL, 0);
	assert_routes(NULL, 0);
	after = capture(ALL);
	cr_assert_str_eq(after, before, "another's changed:\nbefore:\n%s\nafter:\n%s", before, after);
	free(before);
	free(after);
}

/* ---- ownership ---- */

Test(rule, foreign_untouched)
{
	static const char *const foreign[] = {
		/* another's rules: the brief's, and ones at sluice's priority,
		 * mark and table, of other protocols */
		"ip rule add fwmark 0x5 lookup 100",
		"ip rule add fwmark 0xa00/0xf00 lookup 20928 pref 81",
		"ip -6 rule add fwmark 0xa00/0xf00 lookup 20928 pref 81 proto static",
		/* sluice's protocol with another selector: not of sluice's
		 * form (at a priority or without a mark, so that no removal
		 * of sluice's could take them: see impostor_first) */
		"ip rule add not fwmark 0xa00/0xf00 lookup 20928 pref 82 proto 81",
		"ip rule add oif sl0 lookup 20928 pref 81 proto 81",
		"ip -6 rule add from fd00:50::/64 lookup 20928 pref 81 proto 81",
		/* the overlay's rule, of other protocols */
		"ip rule add iif lo lookup 20929 pref 82",
		"ip -6 rule add iif lo lookup 20929 pref 82 proto static",
		/* another's routes in the proxy table, and a local route in
		 * another table */
		"ip route add local 10.0.0.0/8 dev lo table 20928",
		"ip -6 route add local fd00:99::/64 dev lo table 20928 proto static",
		"ip route add local 0.0.0.0/0 dev lo table 100 proto 81",
		/* sluice's protocol, another type, in the proxy table */
		"ip route add blackhole 10.7.0.0/24 table 20928 proto 81",
	};
	struct ru r[2] = { proxy_rule(AF_INET), proxy_rule(AF_INET6) };
	struct rt l[2] = { proxy_route(AF_INET), proxy_route(AF_INET6) };
	struct sl_kerr e = { "" };
	char *before, *after;
	int ret;

	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++)
		sh(foreign[i]);
	before = capture(ALL);
	assert_rules(NULL, 0);
	assert_routes(NULL, 0);

	/* Removing sluice's rule where only another's of the same priority,
	 * mark and table is: the kernel finds none of sluice's protocol. */
	ret = rule_del(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENOENT, "%d %s", ret, e.msg);
	ret = rule_del(ru, &r[1].k, NULL, &e);
	cr_assert_eq(ret, -ENOENT, "%d %s", ret, e.msg);
	after = capture(ALL);
	cr_assert_str_eq(after, before, "a removal changed another's:\nbefore:\n%s\nafter:\n%s", before, after);
	free(after);

	/* sluice's added beside them, observed alone, removed: the rest is
	 * as it was. */
	for (int i = 0; i < 2; i++) {
		ret = route_add(rt, &l[i].k, &l[i].v, &e);
		cr_assert_eq(ret, 0, "route %d: %d %s", i, ret, e.msg);
		ret = rule_add(ru, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "rule %d: %d %s", i, ret, e.msg);
	}
	assert_rules(r, 2);
	assert_routes(l, 2);
	remove_both(r, l, false, before);
}

/* A rule of sluice's protocol with another selector, listed before
 * sluice's at its priority, mark and table: the kernel's removal would take
 * it (it matches what a removal can name), so the removal is refused. */
Test(rule, impostor_first)
{
	struct ru r = proxy_rule(AF_INET);
	struct sl_kerr e = { "" };
	unsigned long w0;
	int ret;

	sh("ip rule add oif sl0 fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81");
	assert_rules(NULL, 0);
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(&r, 1);
	w0 = writes();
	ret = rule_del(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928: a rule of sluice's protocol (81) "
				"with another selector comes first at that priority, and the kernel would remove it "
				"instead; not sluice's, left alone (Operation not permitted)");
	cr_assert_eq(writes(), w0, "nothing was sent");
	cr_assert_eq(count("ip rule | grep -c 'fwmark 0xa00/0xf00 oif sl0 lookup 20928 proto 81'"), 1);
	assert_rules(&r, 1);
	/* once it is gone, sluice's own is removed */
	sh("ip rule del oif sl0 fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81");
	ret = rule_del(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(NULL, 0);
}

/* A rule of sluice's form made by hand, with an input device, listed
 * before the proxy's at its priority, mark and table: observed as one of
 * sluice's (the next apply removes it); a removal of the proxy's rule,
 * which cannot say "no input device", would take it, so that removal is
 * refused, and goes once a removal of the other comes first in the batch.
 * The rule with the input device is removed alone: the kernel matches the
 * name. */
Test(rule, iif_first)
{
	struct ru r[2] = { proxy_rule(AF_INET), proxy_rule(AF_INET) };
	struct sl_rule_req q[2];
	struct sl_kerr e = { "" };
	unsigned long w0;
	int ret;

	memcpy(r[0].k.iif, "sl0", 3);
	sh("ip rule add iif sl0 fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81");
	assert_rules(&r[0], 1);
	ret = rule_add(ru, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(r, 2);
	w0 = writes();
	ret = rule_del(ru, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928: another rule of sluice's, rule ipv4 "
				"pref 81 iif sl0 fwmark 0xa00/0xf00 lookup 20928, comes first and the kernel would "
				"remove it instead (a removal cannot say \"no input device\" or \"no mark\"); left alone "
				"(Operation not permitted)");
	cr_assert_eq(writes(), w0, "nothing was sent");
	assert_rules(r, 2);
	/* both in one batch, the one with the input device first */
	q[0] = (struct sl_rule_req){ .op = SL_RULE_OP_DEL, .key = &r[0].k, .value = &r[0].v };
	q[1] = (struct sl_rule_req){ .op = SL_RULE_OP_DEL, .key = &r[1].k, .value = NULL };
	ret = rule_batch(ru, q, 2, NULL, NULL, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(NULL, 0);
	cr_assert_eq(count("ip rule | grep -c 20928"), 0);
	/* the one with the input device alone, listed after the proxy's */
	ret = rule_add(ru, &r[1].k, &r[1].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	ret = rule_add(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	ret = rule_del(ru, &r[0].k, NULL, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(&r[1], 1);
	cr_assert_eq(count("ip rule | grep -c '^81:\tfrom all fwmark 0xa00/0xf00 lookup 20928 proto 81'"), 1);
}

/* ---- the overlay's rule ---- */

/* An external (collect-metadata) VXLAN device, as the overlay's. */
#define VXLAN_DEV "ip link add sv0 type vxlan external dstport 8472 && ip link set sv0 up"

/* An overlay route of the overlay's table, as features/overlay.c compiles
 * it: pfx/len on sv0, VNI 1 to 192.168.50.2, MTU 1450. */
static struct rt overlay_route(uint8_t family, const char *pfx, uint8_t len)
{
	static const uint8_t node[4] = { 192, 168, 50, 2 };
	uint8_t p[16] = { 0 };
	struct rt r;

	cr_assert_eq(inet_pton(family, pfx, p), 1);
	sl_route_key_init(&r.k, family, p, len);
	r.k.table = SL_OVERLAY_TABLE;
	cr_assert_eq(sl_route_value_init(&r.v, 0, NULL, "sv0"), 0);
	cr_assert_eq(sl_route_value_encap(&r.v, SL_ID_HOST, AF_INET, node), 0);
	r.v.mtu = 1450;
	return r;
}

/* `iif lo lookup 20929 pref 82`, IPv4 and IPv6, with routes into the
 * tunnel in that table: added, read back byte for byte, seen by iproute2;
 * the node's own packets to 10.2.0.0/24 take the tunnel, forwarded ones do
 * not; foreign rules of the same form stay; removed. */
Test(rule, overlay_round_trip)
{
	struct ru r[2] = { overlay_rule(AF_INET), overlay_rule(AF_INET6) };
	struct rt l[2] = { overlay_route(AF_INET, "10.2.0.0", 24), overlay_route(AF_INET6, "fd00:2::", 64) };
	struct sl_kerr e = { "" };
	char *before, *got;
	unsigned long w0;
	int ret;

	sh(VXLAN_DEV);
	sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
	/* another's rule of the same form, after sluice's priority */
	sh("ip rule add iif lo lookup 20929 pref 83");
	before = capture(ALL);
	for (int i = 0; i < 2; i++) {
		ret = route_add(rt, &l[i].k, &l[i].v, &e);
		cr_assert_eq(ret, 0, "route %d: %d %s", i, ret, e.msg);
		w0 = writes();
		ret = rule_add(ru, &r[i].k, &r[i].v, &e);
		cr_assert_eq(ret, 0, "rule %d: %d %s", i, ret, e.msg);
		cr_assert_eq(writes(), w0 + 1, "one write counted");
	}
	assert_rules(r, 2);
	assert_routes(l, 2);
	cr_assert_eq(count("ip -4 rule | grep -c '^82:\tfrom all iif lo lookup 20929 proto 81$'"), 1);
	cr_assert_eq(count("ip -6 rule | grep -c '^82:\tfrom all iif lo lookup 20929 proto 81$'"), 1);
	cr_assert_eq(count("ip -4 route show table 20929 proto 81 | grep -c '^10.2.0.0/24 *encap ip id 1 .*dst "
			   "192.168.50.2 .*dev sv0 .*mtu 1450'"),
		     1);
	cr_assert_eq(count("ip -4 route show proto 81 | grep -c ."), 0, "nothing of sluice's in the main table");
	/* the node's own packets take the tunnel; a packet forwarded from sl0
	 * does not (no route: sl0's network has none to 10.2.0.0/24) */
	got = capture("ip route get 10.2.0.7");
	cr_assert(strstr(got, "encap ip id 1") && strstr(got, "dev sv0 table 20929"), "%s", got);
	free(got);
	got = capture("ip -6 route get fd00:2::7");
	cr_assert(strstr(got, "dev sv0 table 20929"), "%s", got);
	free(got);
	got = capture("ip route get 10.2.0.7 from 192.168.50.9 iif sl0 2>&1");
	cr_assert_null(strstr(got, "sv0"), "forwarded: %s", got);
	free(got);
	got = capture("ip -6 route get fd00:2::7 from fd00:50::9 iif sl0 2>&1");
	cr_assert_null(strstr(got, "sv0"), "forwarded: %s", got);
	free(got);

	/* A second add: the kernel has it. */
	ret = rule_add(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 82 iif lo lookup 20929: sluice's own rule is there already (File "
				"exists)");

	/* Removed (with and without the value): another's rule of the same
	 * form stays. */
	remove_both(r, l, true, before);
	ret = rule_del(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, -ENOENT, "%d %s", ret, e.msg);
}

/* An input device that is not there (the kernel keeps the rule, detached):
 * written and read back as asked; a rule of sluice's protocol at the
 * overlay's priority with a mark too, listed first: the overlay's removal,
 * which names no mark, would take it, and is refused. */
Test(rule, overlay_detached_and_marked)
{
	struct ru r = overlay_rule(AF_INET), x = overlay_rule(AF_INET);
	struct sl_kerr e = { "" };
	int ret;

	memcpy(x.k.iif, "nosuch0", 7);
	ret = rule_add(ru, &x.k, &x.v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	cr_assert_eq(count("ip rule | grep -c 'iif nosuch0 \\[detached\\] lookup 20929 proto 81'"), 1);
	assert_rules(&x, 1);
	ret = rule_del(ru, &x.k, &x.v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(NULL, 0);

	sh("ip rule add iif lo fwmark 0x5 lookup 20929 pref 82 proto 81");
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	ret = rule_del(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "another rule of sluice's, rule ipv4 pref 82 iif lo fwmark 0x5/0xffffffff lookup 20929, "
				"comes first"),
		  "%s", e.msg);
	cr_assert_eq(count("ip rule | grep -c '^82:'"), 2, "both are there");
}

/* A local route where another's route holds the proxy table's default:
 * refused by the kernel, and the message says whose it is. */
Test(rule, route_over_foreign)
{
	struct rt l = proxy_route(AF_INET);
	struct sl_kerr e = { "" };
	int ret;

	sh("ip route add local 0.0.0.0/0 dev lo table 20928");
	ret = route_add(rt, &l.k, &l.v, &e);
	cr_assert_eq(ret, -EEXIST, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "route local 0.0.0.0/0 dev lo table 20928: a route that is not sluice's (proto boot, "
				"type 2) holds 0.0.0.0/0 in table 20928; left alone (File exists)");
	ret = route_del(rt, &l.k, &l.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_eq(count("ip route show table 20928 | grep -c '^local default dev lo scope host'"), 1,
		     "another's route is still there");
	assert_routes(NULL, 0);
}

/* ---- drift ---- */

Test(rule, drift)
{
	struct ru r[2] = { proxy_rule(AF_INET), proxy_rule(AF_INET6) };
	struct rt l[2] = { proxy_route(AF_INET), proxy_route(AF_INET6) };
	struct sl_kerr e = { "" };
	int ret;

	for (int i = 0; i < 2; i++) {
		cr_assert_eq(route_add(rt, &l[i].k, &l[i].v, &e), 0, "%s", e.msg);
		cr_assert_eq(rule_add(ru, &r[i].k, &r[i].v, &e), 0, "%s", e.msg);
	}
	/* someone removes the IPv4 rule and the IPv6 route */
	sh("ip rule del fwmark 0xa00/0xf00 lookup 20928 pref 81");
	sh("ip -6 route del local ::/0 dev lo table 20928");
	assert_rules(&r[1], 1);
	assert_routes(&l[0], 1);
	/* what the next apply sends puts them back */
	ret = route_add(rt, &l[1].k, &l[1].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	ret = rule_add(ru, &r[0].k, &r[0].v, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(r, 2);
	assert_routes(l, 2);
}

/* ---- refusals ---- */

Test(rule, refusals)
{
	struct ru r;
	struct rt l;
	struct sl_kerr e = { "" };
	unsigned long w0 = writes();
	int ret;

	r = proxy_rule(AF_INET);
	r.k.table = 0;
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 0: table 0: the kernel would pick a table "
				"itself (Invalid argument)");
	r = proxy_rule(AF_INET);
	r.k.table = RT_TABLE_MAIN;
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	r = proxy_rule(AF_INET6);
	r.v.action = FR_ACT_BLACKHOLE;
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "look up a table (action 1) only"), "%s", e.msg);
	r = proxy_rule(AF_INET);
	r.k.pad[2] = 1;
	ret = rule_del(ru, &r.k, NULL, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	r = proxy_rule(AF_INET);
	r.v.pad[0] = 1;
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	r = proxy_rule(AF_UNIX);
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EAFNOSUPPORT, "%d %s", ret, e.msg);
	/* input device names the kernel could not give back: without the
	 * NUL, bytes after it (also on removal) */
	r = overlay_rule(AF_INET);
	memset(r.k.iif, 'x', sizeof(r.k.iif));
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert_str_eq(e.msg, "rule ipv4 pref 82 iif xxxxxxxxxxxxxxxx lookup 20929: input device name not terminated "
				"(15 characters at most) (Invalid argument)");
	r = overlay_rule(AF_INET6);
	r.k.iif[5] = 'x';
	ret = rule_add(ru, &r.k, &r.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "input device name has bytes set after its end"), "%s", e.msg);
	ret = rule_del(ru, &r.k, NULL, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	r = proxy_rule(AF_INET);
	{
		struct sl_rule_req q = { .op = SL_RULE_OP_CHANGE, .key = &r.k, .value = &r.v };

		ret = rule_batch(ru, &q, 1, NULL, NULL, &e);
		cr_assert_eq(ret, -EOPNOTSUPP, "%d %s", ret, e.msg);
		cr_assert(strstr(e.msg, "changes no rule in place"), "%s", e.msg);
	}

	/* local routes: no gateway, no onlink; sluice's tables only */
	l = proxy_route(AF_INET);
	l.v.gw_family = AF_INET;
	l.v.gw[0] = 192;
	ret = route_add(rt, &l.k, &l.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	cr_assert(strstr(e.msg, "a local route has no gateway"), "%s", e.msg);
	l = proxy_route(AF_INET);
	l.k.type = 6; /* blackhole */
	ret = route_add(rt, &l.k, &l.v, &e);
	cr_assert_eq(ret, -EINVAL, "%d %s", ret, e.msg);
	l = proxy_route(AF_INET);
	l.k.table = 100;
	ret = route_add(rt, &l.k, &l.v, &e);
	cr_assert_eq(ret, -EPERM, "%d %s", ret, e.msg);
	cr_assert_eq(writes(), w0, "nothing was sent");
	assert_rules(NULL, 0);
	assert_routes(NULL, 0);
}

/* A batch: every request tried, each failure reported in order. */
static int n_errors;

static void on_error(void *ctx, const struct sl_rule_req *q, const struct sl_kerr *e)
{
	(void)ctx;
	(void)q;
	fprintf(stderr, "batch failure: %s\n", e->msg);
	n_errors++;
}

Test(rule, batch)
{
	struct ru r[4] = { proxy_rule(AF_INET), proxy_rule(AF_INET6), proxy_rule(AF_INET), proxy_rule(AF_INET) };
	struct sl_rule_req q[5];
	struct sl_kerr e = { "" };
	int ret;

	r[2].k.priority = 82;
	r[3].k.table = 0; /* refused */
	for (int i = 0; i < 4; i++)
		q[i] = (struct sl_rule_req){ .op = SL_RULE_OP_ADD, .key = &r[i].k, .value = &r[i].v };
	q[4] = (struct sl_rule_req){ .op = SL_RULE_OP_ADD, .key = &r[0].k, .value = &r[0].v }; /* twice */
	ret = rule_batch(ru, q, 5, on_error, NULL, &e);
	cr_assert_eq(ret, -EINVAL, "the first failure: %d %s", ret, e.msg);
	cr_assert_eq(n_errors, 2);
	cr_assert_eq(q[0].err, 0);
	cr_assert_eq(q[1].err, 0);
	cr_assert_eq(q[2].err, 0);
	cr_assert_eq(q[3].err, -EINVAL);
	cr_assert_eq(q[4].err, -EEXIST);
	assert_rules(r, 3);
	for (int i = 0; i < 3; i++)
		q[i] = (struct sl_rule_req){ .op = SL_RULE_OP_DEL, .key = &r[i].k, .value = &r[i].v };
	ret = rule_batch(ru, q, 3, NULL, NULL, &e);
	cr_assert_eq(ret, 0, "%d %s", ret, e.msg);
	assert_rules(NULL, 0);
}

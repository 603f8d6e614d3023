// SPDX-License-Identifier: Apache-2.0
/*
 * The L7 redirect, packet by packet (bpf/lib/proxy.h): which allow hands a
 * flow to which proxy port, the hairpin of ingress flows back into the
 * device, the delivery of what comes back with the proxy's mark, the reset
 * and the "proxy unavailable" count when nothing listens, what the proxy
 * itself sends (SL_MARK_FROM_PROXY), and what is never redirected.
 *
 * The proxy is a real listening socket of the test's network namespace
 * (IP_TRANSPARENT, the wildcard address, both families): the programs look
 * it up as they would in a node. BPF_PROG_TEST_RUN runs a program as if at
 * tc egress, where the kernel assigns no socket (bpf_sk_assign says
 * EOPNOTSUPP), so a SYN at sluice_from_endpoint with a listener present is
 * refused here; that it is delivered is shown with real traffic by
 * tests/integration/test-proxy.sh.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct dp dp;

static void setup(void)
{
	struct dp_cfg cfg = { .trace = true, .proxy = true };

	dp_setup(&dp, &cfg);
}

/* cfg_proxy off: what arrives from the overlay is not looked at. */
static void setup_no_proxy(void)
{
	struct dp_cfg cfg = { .trace = true };

	dp_setup(&dp, &cfg);
}

static void teardown(void)
{
	dp_teardown(&dp);
}

TestSuite(proxy, .init = setup, .fini = teardown);
TestSuite(proxy_off, .init = setup_no_proxy, .fini = teardown);

/* A transparent proxy's listening socket on [::]:port (IPv4 too). */
static int listen_on(uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any };
	int one = 1, zero = 0;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	cr_assert_eq(setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)), 0);
	cr_assert_eq(setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)), 0, "IP_TRANSPARENT: %s",
		     strerror(errno));
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %u: %s", port, strerror(errno));
	cr_assert_eq(listen(fd, 16), 0);
	return fd;
}

/* A hairpinned packet: addressed to the device itself (its MAC, the
 * frame's source), the rest as it was. */
static bool hairpinned_bytes(const struct packet *out, const struct packet *in)
{
	return out->len == in->len && !memcmp(out->b, in->b + 6, 6) && !memcmp(out->b + 6, in->b + 6, in->len - 6);
}

#define IN SL_DIR_INGRESS
#define EG SL_DIR_EGRESS
#define ENF (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)

/* ---- which allow says which port ---- */

struct prule {
	int level; /* 1..6, 0: unused */
	uint16_t proxy;
	bool deny;
};

struct pxcase {
	char name[112];
	int fam;
	uint8_t dir;   /* B's: ingress A -> B through to(B), egress B -> A through from(B) */
	uint8_t flags; /* B's enforcement */
	struct prule r[3];
	uint16_t want; /* the proxy port, 0: not proxied */
	bool denied;
};

#define PX2(nm, ...) { .name = nm " [IPv4]", .fam = 4, __VA_ARGS__ }, { .name = nm " [IPv6]", .fam = 6, __VA_ARGS__ }

ParameterizedTestParameters(proxy, levels)
{
	static struct pxcase cases[] = {
		PX2("egress allow with a proxy port", .dir = EG, .flags = ENF, .r = { { 1, 15001 } }, .want = 15001),
		PX2("ingress allow with a proxy port", .dir = IN, .flags = ENF, .r = { { 1, 15002 } }, .want = 15002),
		PX2("most specific allow decides: level 1 over level 6", .dir = EG, .flags = ENF,
		    .r = { { 6, 15009 }, { 1, 15001 } }, .want = 15001),
		PX2("most specific allow decides: level 2 over level 5", .dir = IN, .flags = ENF,
		    .r = { { 5, 15009 }, { 2, 15003 } }, .want = 15003),
		PX2("most specific allow has no proxy port: not proxied", .dir = EG, .flags = ENF,
		    .r = { { 1, 0 }, { 4, 15009 } }, .want = 0),
		PX2("the only allow is less specific: its proxy port", .dir = IN, .flags = ENF, .r = { { 5, 15004 } },
		    .want = 15004),
		PX2("proxy port with enforcement off", .dir = EG, .flags = 0, .r = { { 3, 15006 } }, .want = 15006),
		PX2("a deny beats an allow with a proxy port", .dir = IN, .flags = ENF,
		    .r = { { 1, 15001 }, { 6, 0, true } }, .want = 0, .denied = true),
	};

	return cr_make_param_array(struct pxcase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * The flow's second packet (an ACK: the first, the SYN, is below) after
 * its first made the conntrack entry: ingress flows are hairpinned
 * (TC_ACT_REDIRECT, marked), egress flows marked and passed.
 */
ParameterizedTest(struct pxcase *c, proxy, levels)
{
	struct flow f = { c->dir == IN ? ip_a(c->fam) : ip_b(c->fam), c->dir == IN ? ip_b(c->fam) : ip_a(c->fam),
			  40000, 80, IPPROTO_TCP, TCP_ACK };
	uint32_t want_mark = c->want ? sl_mark_proxy(c->want) : 0;
	uint8_t ctdir = c->dir == IN ? SL_CT_INGRESS : SL_CT_EGRESS;
	struct sl_ct_value ct;
	struct sl_event ev;

	seed_pair(&dp, 0, c->flags);
	for (int i = 0; i < 3; i++) {
		const struct prule *r = &c->r[i];
		static const struct {
			bool id, port, proto;
		} lv[7] = { { 0 }, { 1, 1, 1 }, { 1, 0, 1 }, { 1, 0, 0 }, { 0, 1, 1 }, { 0, 0, 1 }, { 0, 0, 0 } };

		if (!r->level)
			continue;
		seed_policy(&dp, EP_B, c->dir, lv[r->level].id ? ID_A : 0, lv[r->level].proto ? IPPROTO_TCP : 0,
			    lv[r->level].port ? 80 : 0, r->deny, r->proxy);
	}

	for (int n = 1; n <= 2; n++) {
		struct packet p, out;
		uint32_t mark = 0xdead;
		int v, want_v;

		build(&p, &f, "GET /", 5);
		v = c->dir == IN ? run_to(&dp, dp.if_b, &p, &out, &mark) : run_from(&dp, dp.if_b, &p, &out, &mark);
		want_v = c->denied ? TC_ACT_SHOT : c->want && c->dir == IN ? TC_ACT_REDIRECT : TC_ACT_OK;
		cr_expect_eq(v, want_v, "%s, packet %d: verdict %d, expected %d", c->name, n, v, want_v);
		if (c->denied) {
			cr_expect_eq(drops(&dp, SL_DROP_POLICY_DENY), (uint64_t)n, "%s: dropped as DENY", c->name);
			cr_expect_eq(metric_count(&dp, SL_METRIC_PROXY), 0, "%s: nothing proxied", c->name);
			continue;
		}
		cr_expect_eq(mark, want_mark, "%s, packet %d: mark 0x%x, expected 0x%x", c->name, n, mark, want_mark);
		if (c->want && c->dir == IN)
			cr_expect(hairpinned_bytes(&out, &p), "%s, packet %d: to the device's MAC, else untouched", c->name,
				  n);
		else
			cr_expect_arr_eq(out.b, p.b, p.len, "%s, packet %d: bytes untouched", c->name, n);
		/* Egress: counted where delivered, here; ingress: when the
		 * hairpinned packet comes back in (below). */
		cr_expect_eq(metric_count(&dp, SL_METRIC_PROXY), c->want ? (uint64_t)(c->dir == EG ? n : n - 1) : 0,
			     "%s, packet %d: PROXY", c->name, n);
		if (c->want && c->dir == EG) {
			cr_assert(last_event(&dp, SL_EVENT_PROXY, &ev), "%s, packet %d: a proxy event", c->name, n);
			cr_expect_eq(ev.target, c->want, "%s, packet %d: event target %u", c->name, n, ev.target);
			cr_expect_eq(ev.dir, EG, "%s, packet %d: event direction", c->name, n);
		}
		if (c->want && c->dir == IN) {
			/* Back into B's device's ingress: delivered, mark kept. */
			uint64_t before = metric_count(&dp, SL_METRIC_PROXY);

			v = run_from_marked(&dp, dp.if_b, &out, NULL, mark, &mark);
			cr_expect_eq(v, TC_ACT_OK, "%s, packet %d: hairpinned packet delivered (%d)", c->name, n, v);
			cr_expect_eq(mark, want_mark, "%s, packet %d: the mark stays for the route", c->name, n);
			cr_expect_eq(metric_count(&dp, SL_METRIC_PROXY), before + 1, "%s: PROXY counted once", c->name);
			cr_assert(last_event(&dp, SL_EVENT_PROXY, &ev), "%s, packet %d: a proxy event", c->name, n);
			cr_expect_eq(ev.dir, IN, "%s, packet %d: event direction", c->name, n);
			cr_expect_eq(ev.target, c->want, "%s, packet %d: event target", c->name, n);
		}
	}
	if (!c->denied) {
		cr_assert(ct_get(&dp, &f, ctdir, &ct), "%s: conntrack entry", c->name);
		cr_expect_eq(!!(ct.flags & SL_CT_PROXY), !!c->want, "%s: entry's proxy flag", c->name);
		if (c->want)
			cr_expect_eq(ct.proxy_port, c->want, "%s: entry's proxy port %u", c->name, ct.proxy_port);
	}
	cr_expect_eq(drops(&dp, SL_DROP_PROXY_UNAVAILABLE), 0, "%s: nothing refused", c->name);
}

/* ---- the SYN: a listener, or a reset ---- */

struct syncase {
	char name[96];
	int fam;
	uint8_t dir;
	bool listener;
};

#define SY2(nm, ...) { .name = nm " [IPv4]", .fam = 4, __VA_ARGS__ }, { .name = nm " [IPv6]", .fam = 6, __VA_ARGS__ }

ParameterizedTestParameters(proxy, syn)
{
	static struct syncase cases[] = {
		SY2("ingress SYN, proxy listening: hairpinned", .dir = IN, .listener = true),
		SY2("ingress SYN, nothing listening: reset from the endpoint's side", .dir = IN, .listener = false),
		SY2("egress SYN, nothing listening: reset into the endpoint", .dir = EG, .listener = false),
		SY2("egress SYN, proxy listening, no socket assignable at egress: refused", .dir = EG,
		    .listener = true),
	};

	return cr_make_param_array(struct syncase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct syncase *c, proxy, syn)
{
	const char *client = c->dir == IN ? ip_a(c->fam) : ip_b(c->fam);
	const char *server = c->dir == IN ? ip_b(c->fam) : ip_a(c->fam);
	struct flow f = { client, server, 40001, 80, IPPROTO_TCP, TCP_SYN };
	int fd = c->listener ? listen_on(15100) : -1;
	struct packet p, out;
	struct parsed o;
	uint32_t mark = 0;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, c->dir, ID_A, IPPROTO_TCP, 80, false, 15100);
	build(&p, &f, NULL, 0);
	v = c->dir == IN ? run_to(&dp, dp.if_b, &p, &out, &mark) : run_from(&dp, dp.if_b, &p, &out, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "%s: verdict %d", c->name, v);
	if (c->dir == IN && c->listener) {
		cr_expect_eq(mark, sl_mark_proxy(15100), "%s: marked 0x%x", c->name, mark);
		cr_expect(hairpinned_bytes(&out, &p), "%s: the SYN itself, to the device's MAC", c->name);
		cr_expect_eq(drops(&dp, SL_DROP_PROXY_UNAVAILABLE), 0, "%s: not refused", c->name);
		/* Back in: at this tc "egress" no socket is assigned, so the
		 * delivery fails as a vanished listener would: counted. */
		v = run_from_marked(&dp, dp.if_b, &out, NULL, mark, NULL);
		cr_expect_eq(v, TC_ACT_SHOT, "%s: no socket assigned under TEST_RUN", c->name);
	} else {
		parse(&out, &o);
		cr_expect_str_eq(o.src, server, "%s: the reset comes from the destination (%s)", c->name, o.src);
		cr_expect_str_eq(o.dst, client, "%s: to the client (%s)", c->name, o.dst);
		cr_expect_eq(o.proto, IPPROTO_TCP, "%s: TCP", c->name);
		cr_expect_eq(o.sport, 80, "%s: from port 80", c->name);
		cr_expect_eq(o.dport, 40001, "%s: to the client's port", c->name);
		cr_expect(o.l4_csum_ok && (o.family == 6 || o.l3_csum_ok), "%s: checksums", c->name);
		cr_expect_eq(out.b[14 + (c->fam == 6 ? 40 : 20) + 13] & TCP_RST, TCP_RST, "%s: RST", c->name);
		cr_expect_eq(mark & SL_MARK_MAGIC_MASK, 0, "%s: the reset is not marked for the proxy", c->name);
		cr_expect_eq(drops(&dp, SL_DROP_PROXY_UNAVAILABLE), 1, "%s: counted as proxy unavailable", c->name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_PROXY), 0, "%s: nothing proxied", c->name);
	}
	if (c->dir == IN && !c->listener) {
		/* The reset, back in at B's ingress, leaves as B's reply. */
		v = run_from(&dp, dp.if_b, &out, NULL, &mark);
		cr_expect_eq(v, TC_ACT_OK, "%s: the reset passes as a reply (%d)", c->name, v);
		cr_expect_eq(metric_count(&dp, SL_METRIC_REPLY), 1, "%s: counted as a reply", c->name);
	}
	if (fd >= 0)
		close(fd);
}

/* ---- what the proxy sends onward ---- */

ParameterizedTestParameters(proxy, from_proxy)
{
	static int fams[] = { 4, 6 };

	return cr_make_param_array(int, fams, 2);
}

/*
 * The proxy's connection to B, marked SL_MARK_FROM_PROXY (its SO_MARK),
 * from the node's own address: B's ingress denies everything and its
 * egress too, yet it passes, is tracked, and B's replies pass; a flow B
 * accepted for the proxy is not sent back to the proxy when the proxy
 * itself sends on it.
 */
ParameterizedTest(int *fam, proxy, from_proxy)
{
	const char *node = *fam == 6 ? "fd00::fe" : "10.1.0.254";
	struct flow f = { node, ip_b(*fam), 41000, 80, IPPROTO_TCP, TCP_SYN };
	struct flow r = { ip_b(*fam), node, 80, 41000, IPPROTO_TCP, TCP_SYN | TCP_ACK };
	struct flow g = { ip_a(*fam), ip_b(*fam), 41001, 80, IPPROTO_TCP, TCP_ACK };
	struct sl_ct_value ct;
	struct packet p, out;
	uint32_t mark;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_ipcache(&dp, node, SL_ID_HOST, NULL, 0);
	seed_policy(&dp, EP_B, IN, ID_A, IPPROTO_TCP, 80, false, 15001);

	build(&p, &f, NULL, 0);
	v = run_to_marked_out(&dp, dp.if_b, &p, &out, SL_MARK_FROM_PROXY, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] the proxy's SYN passes B's deny-all ingress (%d)", *fam, v);
	cr_expect_eq(drops_total(&dp), 0, "[IPv%d] nothing dropped", *fam);
	cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 1, "[IPv%d] a new flow", *fam);
	cr_assert(ct_get(&dp, &f, SL_CT_INGRESS, &ct), "[IPv%d] tracked", *fam);
	cr_expect_eq(ct.flags & SL_CT_PROXY, 0, "[IPv%d] not for the proxy", *fam);
	cr_expect_eq(ct.peer_identity, SL_ID_HOST, "[IPv%d] from the host", *fam);

	build(&p, &r, NULL, 0);
	v = run_from(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] B's reply passes its deny-all egress (%d)", *fam, v);

	/* An unmarked packet from the same address is judged: denied. */
	f.sport = 41002;
	build(&p, &f, NULL, 0);
	v = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(v, TC_ACT_SHOT, "[IPv%d] without the mark, policy holds", *fam);

	/* A's flow to B's port 80 goes to the proxy; the proxy's own packets
	 * on that same flow (a proxy that reuses the client's address) do not. */
	build(&p, &g, NULL, 0);
	v = run_to(&dp, dp.if_b, &p, NULL, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "[IPv%d] A's flow to the proxy", *fam);
	v = run_to_marked_out(&dp, dp.if_b, &p, NULL, SL_MARK_FROM_PROXY, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] the proxy's packet on it is not sent back (%d)", *fam, v);
}

/* ---- never redirected ---- */

ParameterizedTestParameters(proxy, not_tcp)
{
	static int fams[] = { 4, 6 };

	return cr_make_param_array(int, fams, 2);
}

/* A proxy port on a UDP or any-protocol entry redirects no UDP. */
ParameterizedTest(int *fam, proxy, not_tcp)
{
	struct flow u = { ip_a(*fam), ip_b(*fam), 42000, 80, IPPROTO_UDP, 0 };
	struct packet p, out;
	uint32_t mark = 0xdead;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, IN, ID_A, IPPROTO_UDP, 80, false, 15001);
	build(&p, &u, "x", 1);
	v = run_to(&dp, dp.if_b, &p, &out, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] UDP passes (%d)", *fam, v);
	cr_expect_eq(mark, 0, "[IPv%d] unmarked", *fam);
	cr_expect_eq(metric_count(&dp, SL_METRIC_PROXY), 0, "[IPv%d] not proxied", *fam);
	u.sport = 42001;
	build(&p, &u, "x", 1);
	v = run_from(&dp, dp.if_a, &p, &out, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] and A's egress has no proxy", *fam);
}

/* A packet whose mark is no proxy magic, at from_endpoint, goes the usual way. */
Test(proxy, other_marks_not_hairpinned)
{
	struct flow f = { ip_b(4), ip_a(4), 43000, 80, IPPROTO_TCP, TCP_SYN };
	struct packet p;
	uint32_t mark = 0;
	int v;

	seed_pair(&dp, 0, ENF);
	build(&p, &f, NULL, 0);
	v = run_from_marked(&dp, dp.if_b, &p, NULL, sl_mark_encrypt(3) | (15001u << 16), &mark);
	cr_expect_eq(v, TC_ACT_SHOT, "judged by B's egress (deny-all): %d", v);
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1, "as policy");
	cr_expect_eq(metric_count(&dp, SL_METRIC_PROXY), 0, "not proxied");
}

/* ---- every packet of a redirected flow, where it first arrives ---- */

ParameterizedTestParameters(proxy, divert_client)
{
	static int fams[] = { 4, 6 };

	return cr_make_param_array(int, fams, 2);
}

/*
 * A (a local endpoint) opens a flow to B's port 80, which B's ingress
 * hands to the proxy: A's own entry for the flow takes the proxy port, and
 * A's next packet is delivered at A's device (marked, passed), not sent on
 * toward B (the stack would find the proxy's socket for it and drop it).
 */
ParameterizedTest(int *fam, proxy, divert_client)
{
	struct flow f = { ip_a(*fam), ip_b(*fam), 44000, 80, IPPROTO_TCP, TCP_SYN };
	int fd = listen_on(15200);
	struct sl_ct_value ct;
	struct packet p, out;
	uint32_t mark = 0;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, IN, ID_A, IPPROTO_TCP, 80, false, 15200);
	build(&p, &f, NULL, 0);
	v = run_from(&dp, dp.if_a, &p, &out, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] A's SYN leaves A (%d)", *fam, v);
	cr_expect_eq(mark, 0, "[IPv%d] A's own policy has no proxy", *fam);
	cr_assert(ct_get(&dp, &f, SL_CT_EGRESS, &ct), "[IPv%d] A's entry", *fam);
	cr_expect_eq(ct.flags & SL_CT_PROXY, 0, "[IPv%d] not for a proxy yet", *fam);
	v = run_to(&dp, dp.if_b, &p, &out, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "[IPv%d] B's ingress: to the proxy (%d)", *fam, v);
	cr_assert(ct_get(&dp, &f, SL_CT_EGRESS, &ct), "[IPv%d] A's entry", *fam);
	cr_expect(ct.flags & SL_CT_PROXY, "[IPv%d] A's entry now names the proxy", *fam);
	cr_expect_eq(ct.proxy_port, 15200, "[IPv%d] port %u", *fam, ct.proxy_port);

	f.tcp_flags = TCP_ACK;
	build(&p, &f, "GET /", 5);
	mark = 0;
	v = run_from(&dp, dp.if_a, &p, &out, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] A's ACK delivered at A's device (%d)", *fam, v);
	cr_expect_eq(mark, sl_mark_proxy(15200), "[IPv%d] marked for the proxy: 0x%x", *fam, mark);
	close(fd);
}

ParameterizedTestParameters(proxy, arrival)
{
	static int fams[] = { 4, 6 };

	return cr_make_param_array(int, fams, 2);
}

/* From the overlay: a packet of a flow B accepted for the proxy is
 * delivered at sluice_vxlan's tc ingress; any other goes on (here, with no
 * tunnel metadata under TEST_RUN, to the no-tunnel-key drop). */
ParameterizedTest(int *fam, proxy, arrival)
{
	struct flow f = { ip_c(*fam), ip_b(*fam), 45000, 80, IPPROTO_TCP, TCP_SYN };
	struct flow g = { ip_c(*fam), ip_b(*fam), 45001, 8080, IPPROTO_TCP, TCP_ACK };
	int fd = listen_on(15300);
	struct packet p;
	uint32_t mark = 0;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, IN, ID_C, IPPROTO_TCP, 80, false, 15300);
	build(&p, &f, NULL, 0);
	v = run_to(&dp, dp.if_b, &p, NULL, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "[IPv%d] C's SYN to the proxy (%d)", *fam, v);
	f.tcp_flags = TCP_ACK;
	build(&p, &f, "GET /", 5);
	mark = 0;
	v = run_from_overlay(&dp, dp.if_a, &p, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] C's ACK delivered on arrival (%d)", *fam, v);
	cr_expect_eq(mark, sl_mark_proxy(15300), "[IPv%d] marked 0x%x", *fam, mark);
	cr_expect_eq(drops(&dp, SL_DROP_NO_TUNNEL_KEY), 0, "[IPv%d] not looked at as tunnel traffic", *fam);
	build(&p, &g, "x", 1);
	v = run_from_overlay(&dp, dp.if_a, &p, &mark);
	cr_expect_eq(v, TC_ACT_SHOT, "[IPv%d] another flow goes on to the overlay's checks", *fam);
	cr_expect_eq(drops(&dp, SL_DROP_NO_TUNNEL_KEY), 1, "[IPv%d] no-tunnel-key", *fam);
	close(fd);
}

/* With no proxyPort in the state (cfg_proxy off) nothing is looked up. */
Test(proxy_off, arrival_not_looked_at)
{
	struct flow f = { ip_c(4), ip_b(4), 46000, 80, IPPROTO_TCP, TCP_SYN };
	int fd = listen_on(15400);
	struct packet p;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, IN, ID_C, IPPROTO_TCP, 80, false, 15400);
	build(&p, &f, NULL, 0);
	v = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(v, TC_ACT_REDIRECT, "the flow goes to the proxy (%d)", v);
	f.tcp_flags = TCP_ACK;
	build(&p, &f, "x", 1);
	v = run_from_overlay(&dp, dp.if_a, &p, NULL);
	cr_expect_eq(v, TC_ACT_SHOT, "not delivered on arrival: cfg_proxy is off");
	cr_expect_eq(drops(&dp, SL_DROP_NO_TUNNEL_KEY), 1, "no-tunnel-key");
	close(fd);
}

ParameterizedTestParameters(proxy, netdev)
{
	static int fams[] = { 4, 6 };

	return cr_make_param_array(int, fams, 2);
}

/* The underlay device (a client outside the cluster, or by native
 * routing): the packets of a flow B accepted for the proxy are delivered
 * there; everything else passes untouched, unmarked. */
ParameterizedTest(int *fam, proxy, netdev)
{
	struct flow f = { ip_c(*fam), ip_b(*fam), 47000, 80, IPPROTO_TCP, TCP_SYN };
	struct flow g = { ip_c(*fam), ip_b(*fam), 47001, 80, IPPROTO_TCP, TCP_ACK };
	struct flow u = { ip_c(*fam), ip_b(*fam), 47002, 80, IPPROTO_UDP, 0 };
	int fd = listen_on(15500);
	struct packet p;
	uint32_t mark = 0;
	int v;

	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, IN, ID_C, IPPROTO_TCP, 80, false, 15500);
	build(&p, &f, NULL, 0);
	v = run_from_netdev(&dp, dp.if_a, &p, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] a SYN passes (%d)", *fam, v);
	cr_expect_eq(mark, 0, "[IPv%d] unmarked: nothing is known of it yet", *fam);
	v = run_to(&dp, dp.if_b, &p, NULL, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "[IPv%d] B's ingress hands it to the proxy", *fam);
	f.tcp_flags = TCP_ACK;
	build(&p, &f, "GET /", 5);
	mark = 0;
	v = run_from_netdev(&dp, dp.if_a, &p, &mark);
	cr_expect_eq(v, TC_ACT_OK, "[IPv%d] the next packet passes (%d)", *fam, v);
	cr_expect_eq(mark, sl_mark_proxy(15500), "[IPv%d] delivered to the proxy: 0x%x", *fam, mark);
	for (int i = 0; i < 2; i++) {
		build(&p, i ? &u : &g, "x", 1);
		mark = 0;
		v = run_from_netdev(&dp, dp.if_a, &p, &mark);
		cr_expect_eq(v, TC_ACT_OK, "[IPv%d] another %s flow passes", *fam, i ? "UDP" : "TCP");
		cr_expect_eq(mark, 0, "[IPv%d] ... unmarked", *fam);
	}
	cr_expect_eq(drops_total(&dp), 0, "[IPv%d] nothing dropped", *fam);
	close(fd);
}

/* ---- an egress redirect to a local endpoint: its ingress policy still judges ---- */

struct peercase {
	char name[96];
	int fam;
	bool b_allows; /* B's ingress allows A on 80 */
};

ParameterizedTestParameters(proxy, egress_peer_ingress)
{
	static struct peercase cases[] = {
		{ "B's ingress denies A: dropped at A [IPv4]", 4, false },
		{ "B's ingress denies A: dropped at A [IPv6]", 6, false },
		{ "B's ingress allows A: to the proxy [IPv4]", 4, true },
		{ "B's ingress allows A: to the proxy [IPv6]", 6, true },
	};

	return cr_make_param_array(struct peercase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A's egress hands its flow to B's port 80 to the proxy, whose connection
 * onward is not judged: so B's ingress (enforced) judges the flow at A's
 * SYN, for A's identity, with B's device found by the FIB. Denied: dropped
 * as policy, no conntrack entry (a retransmitted SYN is judged again).
 * Allowed: on to the proxy (under TEST_RUN no socket can be assigned, so
 * refused as proxy-unavailable: the decision is what is checked here).
 */
ParameterizedTest(struct peercase *c, proxy, egress_peer_ingress)
{
	struct flow f = { ip_a(c->fam), ip_b(c->fam), 48000, 80, IPPROTO_TCP, TCP_SYN };
	struct sl_ct_value ct;
	struct packet p;
	int v;

	cr_assert_eq(system("ip link set dpa up && ip link set dpa-peer up && ip link set dpb up && "
			    "ip link set dpb-peer up && sysctl -qw net.ipv4.conf.all.forwarding=1 "
			    "net.ipv6.conf.all.forwarding=1 && ip route add 10.1.0.2/32 dev dpb && "
			    "ip -6 route add fd00::2/128 dev dpb"),
		     0);
	seed_pair(&dp, ENF, ENF);
	seed_policy(&dp, EP_A, EG, ID_B, IPPROTO_TCP, 80, false, 15600);
	if (c->b_allows)
		seed_policy(&dp, EP_B, IN, ID_A, IPPROTO_TCP, 80, false, 0);
	build(&p, &f, NULL, 0);
	v = run_from(&dp, dp.if_a, &p, NULL, NULL);
	if (!c->b_allows) {
		cr_expect_eq(v, TC_ACT_SHOT, "%s: verdict %d", c->name, v);
		cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1, "%s: counted as policy", c->name);
		cr_expect(!ct_get(&dp, &f, SL_CT_EGRESS, &ct), "%s: no conntrack entry", c->name);
		cr_expect_eq(drops(&dp, SL_DROP_PROXY_UNAVAILABLE), 0, "%s: never went to the proxy", c->name);
	} else {
		cr_expect_eq(v, TC_ACT_REDIRECT, "%s: verdict %d (to the proxy; refused under TEST_RUN)", c->name, v);
		cr_expect_eq(drops(&dp, SL_DROP_POLICY), 0, "%s: not a policy drop", c->name);
		cr_expect_eq(drops(&dp, SL_DROP_PROXY_UNAVAILABLE), 1, "%s: went to the proxy", c->name);
	}
}

/* A proxy bound to the loopback address (127.0.0.1, ::1) is found when no
 * wildcard listener is. */
ParameterizedTestParameters(proxy, loopback_listener)
{
	static int fams[] = { 4, 6 };

	return cr_make_param_array(int, fams, 2);
}

ParameterizedTest(int *fam, proxy, loopback_listener)
{
	struct flow f = { ip_a(*fam), ip_b(*fam), 49000, 80, IPPROTO_TCP, TCP_SYN };
	int one = 1, fd;
	struct packet p;
	uint32_t mark = 0;
	int v;

	if (*fam == 4) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(15800),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)), 0);
		cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(15800), .sin6_addr = in6addr_loopback };

		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)), 0);
		cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	}
	cr_assert_eq(listen(fd, 4), 0);
	seed_pair(&dp, 0, ENF);
	seed_policy(&dp, EP_B, IN, ID_A, IPPROTO_TCP, 80, false, 15800);
	build(&p, &f, NULL, 0);
	v = run_to(&dp, dp.if_b, &p, NULL, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "[IPv%d] to the proxy (%d)", *fam, v);
	cr_expect_eq(mark, sl_mark_proxy(15800), "[IPv%d] hairpinned, not refused: mark 0x%x", *fam, mark);
	cr_expect_eq(drops(&dp, SL_DROP_PROXY_UNAVAILABLE), 0, "[IPv%d] not refused", *fam);
	close(fd);
}

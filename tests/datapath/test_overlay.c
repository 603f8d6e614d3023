/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encryption marks and the overlay, packet by packet (the proxy: test_proxy.c). The node
 * settings are fixed at load, so each setting has a suite of its own:
 *   overlay           encryption on, tunnel device dpb-peer
 *   overlay_plain     encryption off, tunnel device dpb-peer
 *   overlay_encrypt   encryption on, no tunnel (native routing)
 *   overlay_off       neither
 * all with trace events on.
 *
 * Remote pods (ipcache entries with a node address, abi.h sl_ipcache_value):
 *   10.2.0.5/32      identity 4001  node 192.168.50.2  key 3
 *   10.3.0.0/24      identity 4002  node 192.168.50.3  no key
 *   10.4.0.5/32      identity 4003  node fc00::4       no key (IPv4 over IPv6)
 *   fd00:2::5/128    identity 4001  node fc00::2       key 5
 *   fd00:3::/64      identity 4002  node fc00::3       no key
 *   fd00:4::5/128    identity 4003  node 192.168.50.4  key 2 (IPv6 over IPv4)
 * and on this node without a tunnel but with a key: 10.1.0.9, fd00::9
 * (identity 4004, key 7); local endpoints B (no key).
 */
#include "harness.h"

static struct dp dp;

#define TUN_DEV "dpb-peer"

static void setup_overlay(void)
{
	struct dp_cfg cfg = { .encrypt = true, .tunnel_dev = TUN_DEV, .trace = true };

	dp_setup(&dp, &cfg);
}

static void setup_plain(void)
{
	struct dp_cfg cfg = { .encrypt = false, .tunnel_dev = TUN_DEV, .trace = true };

	dp_setup(&dp, &cfg);
}

static void setup_encrypt(void)
{
	struct dp_cfg cfg = { .encrypt = true, .trace = true };

	dp_setup(&dp, &cfg);
}

static void setup_off(void)
{
	struct dp_cfg cfg = { .trace = true };

	dp_setup(&dp, &cfg);
}

static void teardown(void)
{
	dp_teardown(&dp);
}

TestSuite(overlay, .init = setup_overlay, .fini = teardown);
TestSuite(overlay_plain, .init = setup_plain, .fini = teardown);
TestSuite(overlay_encrypt, .init = setup_encrypt, .fini = teardown);
TestSuite(overlay_off, .init = setup_off, .fini = teardown);

static void seed_nodes(uint8_t flags_a, uint8_t flags_b)
{
	seed_pair(&dp, flags_a, flags_b);
	seed_ipcache(&dp, "10.2.0.5", 4001, "192.168.50.2", 3);
	seed_ipcache(&dp, "10.3.0.0/24", 4002, "192.168.50.3", 0);
	seed_ipcache(&dp, "10.4.0.5", 4003, "fc00::4", 0);
	seed_ipcache(&dp, "fd00:2::5", 4001, "fc00::2", 5);
	seed_ipcache(&dp, "fd00:3::/64", 4002, "fc00::3", 0);
	seed_ipcache(&dp, "fd00:4::5", 4003, "192.168.50.4", 2);
	seed_ipcache(&dp, "10.1.0.9", 4004, NULL, 7);
	seed_ipcache(&dp, "fd00::9", 4004, NULL, 7);
}

/* What sending to dst from A should come to. */
struct ocase {
	char name[96];
	char dst[48];
	uint32_t dst_id;
	int verdict;
	uint8_t key;	/* the mark's key, 0: no mark */
	char node[48];	/* the tunnel's remote address, "": no tunnel */
};

/*
 * Two packets of one flow from A (the first a new flow, the second through
 * conntrack's fast path) and all they should show: verdict, mark, the
 * ENCRYPT / TUNNEL / FORWARD metrics, the tunnel event's target, node
 * address and identities, the packet bytes untouched.
 */
static void expect_send(const struct ocase *c)
{
	uint32_t want_mark = c->key ? sl_mark_encrypt(c->key) : 0;
	bool tun = c->node[0] != 0;
	uint32_t tun_if = if_nametoindex(TUN_DEV);

	for (int n = 1; n <= 2; n++) {
		struct flow f = { ip_a(strchr(c->dst, ':') ? 6 : 4), c->dst, 40000, 53, IPPROTO_UDP, 0 };
		struct packet p, out;
		struct sl_event ev;
		uint32_t mark = 0xdead;
		int v;

		build(&p, &f, "data", 4);
		v = run_from(&dp, dp.if_a, &p, &out, &mark);
		cr_expect_eq(v, c->verdict, "%s, packet %d: verdict %d, expected %d", c->name, n, v, c->verdict);
		cr_expect_eq(mark, want_mark, "%s, packet %d: mark 0x%x, expected 0x%x", c->name, n, mark, want_mark);
		cr_expect_arr_eq(out.b, p.b, p.len, "%s, packet %d: bytes untouched", c->name, n);
		cr_expect_eq(metric_count(&dp, SL_METRIC_ENCRYPT), c->key ? (uint64_t)n : 0, "%s, packet %d: ENCRYPT",
			     c->name, n);
		cr_expect_eq(metric_count(&dp, SL_METRIC_TUNNEL), tun ? (uint64_t)n : 0, "%s, packet %d: TUNNEL",
			     c->name, n);
		cr_expect_eq(metric_count(&dp, SL_METRIC_FORWARD), tun ? 0 : (uint64_t)n, "%s, packet %d: FORWARD",
			     c->name, n);
		cr_expect_eq(drops_total(&dp), 0, "%s, packet %d: nothing dropped", c->name, n);
		if (!tun) {
			cr_expect(!last_event(&dp, SL_EVENT_TUNNEL, &ev), "%s, packet %d: no tunnel event", c->name, n);
			continue;
		}
		cr_assert(last_event(&dp, SL_EVENT_TUNNEL, &ev), "%s, packet %d: a tunnel event", c->name, n);
		{
			uint8_t node[16];
			int fam = addr_bytes(c->node, node);

			cr_expect_eq(ev.target, tun_if, "%s, packet %d: redirected to %u, the tunnel device is %u", c->name,
				     n, ev.target, tun_if);
			cr_expect_eq(ev.tunnel_family, fam, "%s, packet %d: underlay family %u", c->name, n,
				     ev.tunnel_family);
			cr_expect_arr_eq(ev.tunnel_addr, node, 16, "%s, packet %d: tunnel to %s", c->name, n, c->node);
			cr_expect_eq(ev.ifindex, (uint32_t)dp.if_a, "%s, packet %d: event from A's device", c->name, n);
			cr_expect_eq(ev.src_identity, ID_A, "%s, packet %d: source identity", c->name, n);
			cr_expect_eq(ev.dst_identity, c->dst_id, "%s, packet %d: destination identity %u", c->name, n,
				     ev.dst_identity);
		}
	}
}

ParameterizedTestParameters(overlay, encryption_and_tunnel)
{
	static struct ocase cases[] = {
		{ "remote pod with key 3: encrypted, tunneled over IPv4 [IPv4]", "10.2.0.5", 4001, TC_ACT_REDIRECT, 3,
		  "192.168.50.2" },
		{ "remote pod CIDR without key: tunneled, no mark [IPv4]", "10.3.0.77", 4002, TC_ACT_REDIRECT, 0,
		  "192.168.50.3" },
		{ "remote pod behind an IPv6 node: tunneled over IPv6 [IPv4]", "10.4.0.5", 4003, TC_ACT_REDIRECT, 0,
		  "fc00::4" },
		{ "remote pod with key 5: encrypted, tunneled over IPv6 [IPv6]", "fd00:2::5", 4001, TC_ACT_REDIRECT, 5,
		  "fc00::2" },
		{ "remote pod CIDR without key: tunneled, no mark [IPv6]", "fd00:3::77", 4002, TC_ACT_REDIRECT, 0,
		  "fc00::3" },
		{ "remote pod behind an IPv4 node with key 2 [IPv6]", "fd00:4::5", 4003, TC_ACT_REDIRECT, 2,
		  "192.168.50.4" },
		{ "local endpoint: to the stack, no mark [IPv4]", "10.1.0.2", ID_B, TC_ACT_OK, 0, "" },
		{ "local endpoint: to the stack, no mark [IPv6]", "fd00::2", ID_B, TC_ACT_OK, 0, "" },
		{ "no tunnel but a key: marked, to the stack [IPv4]", "10.1.0.9", 4004, TC_ACT_OK, 7, "" },
		{ "no tunnel but a key: marked, to the stack [IPv6]", "fd00::9", 4004, TC_ACT_OK, 7, "" },
		{ "not in the ipcache (world): no mark, no tunnel [IPv4]", "198.51.100.7", SL_ID_WORLD, TC_ACT_OK, 0,
		  "" },
		{ "not in the ipcache (world): no mark, no tunnel [IPv6]", "2001:db8:ffff::7", SL_ID_WORLD, TC_ACT_OK,
		  0, "" },
	};

	return cr_make_param_array(struct ocase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ocase *c, overlay, encryption_and_tunnel)
{
	seed_nodes(0, 0);
	expect_send(c);
}

ParameterizedTestParameters(overlay_plain, tunnel_without_encryption)
{
	static struct ocase cases[] = {
		{ "encryption off: a key gives no mark, tunnel still [IPv4]", "10.2.0.5", 4001, TC_ACT_REDIRECT, 0,
		  "192.168.50.2" },
		{ "encryption off: a key gives no mark, tunnel still [IPv6]", "fd00:2::5", 4001, TC_ACT_REDIRECT, 0,
		  "fc00::2" },
		{ "encryption off: no tunnel, a key, no mark [IPv4]", "10.1.0.9", 4004, TC_ACT_OK, 0, "" },
		{ "encryption off: no tunnel, a key, no mark [IPv6]", "fd00::9", 4004, TC_ACT_OK, 0, "" },
	};

	return cr_make_param_array(struct ocase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ocase *c, overlay_plain, tunnel_without_encryption)
{
	seed_nodes(0, 0);
	expect_send(c);
}

ParameterizedTestParameters(overlay_encrypt, encryption_without_tunnel)
{
	static struct ocase cases[] = {
		{ "no overlay: remote pod with a key is marked, not redirected [IPv4]", "10.2.0.5", 4001, TC_ACT_OK, 3,
		  "" },
		{ "no overlay: remote pod with a key is marked, not redirected [IPv6]", "fd00:2::5", 4001, TC_ACT_OK, 5,
		  "" },
		{ "no overlay: remote pod without key, nothing [IPv4]", "10.3.0.1", 4002, TC_ACT_OK, 0, "" },
	};

	return cr_make_param_array(struct ocase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ocase *c, overlay_encrypt, encryption_without_tunnel)
{
	seed_nodes(0, 0);
	expect_send(c);
}

ParameterizedTestParameters(overlay_off, neither)
{
	static struct ocase cases[] = {
		{ "no encryption, no overlay: remote pod goes to the stack unmarked [IPv4]", "10.2.0.5", 4001,
		  TC_ACT_OK, 0, "" },
		{ "no encryption, no overlay: remote pod goes to the stack unmarked [IPv6]", "fd00:2::5", 4001,
		  TC_ACT_OK, 0, "" },
	};

	return cr_make_param_array(struct ocase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ocase *c, overlay_off, neither)
{
	seed_nodes(0, 0);
	expect_send(c);
}

/* ---- replies into the overlay ---- */

struct rcase {
	char name[96];
	int fam;
};

ParameterizedTestParameters(overlay, reply_to_remote_peer)
{
	static struct rcase cases[] = {
		{ "B's reply to a remote client is encrypted and tunneled [IPv4]", 4 },
		{ "B's reply to a remote client is encrypted and tunneled [IPv6]", 6 },
	};

	return cr_make_param_array(struct rcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rcase *c, overlay, reply_to_remote_peer)
{
	const char *remote = c->fam == 6 ? "fd00:2::5" : "10.2.0.5";
	const char *node = c->fam == 6 ? "fc00::2" : "192.168.50.2";
	uint8_t key = c->fam == 6 ? 5 : 3;
	struct flow in = { remote, ip_b(c->fam), 40000, 443, IPPROTO_TCP, TCP_SYN };
	struct flow out = { ip_b(c->fam), remote, 443, 40000, IPPROTO_TCP, TCP_SYN | TCP_ACK };
	struct packet p;
	struct sl_event ev;
	uint8_t nb[16];
	uint32_t mark = 0;
	int v;

	seed_nodes(0, SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, 4001, IPPROTO_TCP, 443, false, 0);
	build(&p, &in, NULL, 0);
	cr_assert_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK, "%s: the remote client reaches B", c->name);
	build(&p, &out, NULL, 0);
	v = run_from(&dp, dp.if_b, &p, NULL, &mark);
	cr_expect_eq(v, TC_ACT_REDIRECT, "%s: the reply is redirected (%d)", c->name, v);
	cr_expect_eq(mark, sl_mark_encrypt(key), "%s: marked with the peer's key (0x%x)", c->name, mark);
	cr_expect_eq(metric_count(&dp, SL_METRIC_REPLY), 1, "%s: as a reply", c->name);
	cr_assert(last_event(&dp, SL_EVENT_TUNNEL, &ev), "%s: tunnel event", c->name);
	addr_bytes(node, nb);
	cr_expect_arr_eq(ev.tunnel_addr, nb, 16, "%s: to the peer's node", c->name);
	cr_expect_eq(ev.src_identity, ID_B, "%s: source identity B", c->name);
	cr_expect_eq(ev.target, if_nametoindex(TUN_DEV), "%s: target", c->name);
}

/* ---- the identity mark: what sluice_from_overlay hands to_endpoint ---- */

struct mcase {
	char name[112];
	char src[48];	   /* the sender, as the packet has it */
	uint32_t mark;	   /* the mark the packet arrives with */
	int verdict;
	int reason;	   /* the drop's, when SHOT */
	uint32_t peer;	   /* the identity the flow was judged for */
	uint32_t mark_out; /* the mark to_endpoint leaves */
};

#define MARK(id) (SL_MARK_IDENTITY | (((id) & 0xFFFFu) << 16) | (((id) >> 16) & 0xFFu))

ParameterizedTestParameters(overlay, identity_mark)
{
	static struct mcase cases[] = {
		{ "the mark's identity is allowed, the ipcache's would not be", "10.3.0.77", MARK(4001), TC_ACT_OK, 0,
		  4001, 0 },
		{ "the ipcache's identity is allowed, the mark's is not", "10.2.0.5", MARK(4002), TC_ACT_SHOT,
		  SL_DROP_POLICY, 4002, 0 },
		{ "a deny for the mark's identity", "10.2.0.5", MARK(4003), TC_ACT_SHOT, SL_DROP_POLICY_DENY, 4003, 0 },
		{ "an identity of 24 bits travels whole", "10.3.0.77", MARK(0xAB0FA1), TC_ACT_OK, 0, 0xAB0FA1, 0 },
		{ "unknown to the ipcache (world), known by the mark", "198.51.100.7", MARK(4001), TC_ACT_OK, 0, 4001,
		  0 },
		{ "no mark: the ipcache decides (allowed)", "10.2.0.5", 0, TC_ACT_OK, 0, 4001, 0 },
		{ "no mark: the ipcache decides (not allowed)", "10.3.0.77", 0, TC_ACT_SHOT, SL_DROP_POLICY, 4002, 0 },
		{ "another magic (proxy) is no identity and stays", "10.3.0.77", SL_MARK_PROXY | (4001u << 16),
		  TC_ACT_SHOT, SL_DROP_POLICY, 4002, SL_MARK_PROXY | (4001u << 16) },
	};

	return cr_make_param_array(struct mcase, cases, sizeof(cases) / sizeof(cases[0]));
}

/* B enforces ingress: identity 4001 and 0xAB0FA1 may reach it on TCP 443,
 * 4003 is denied. The ipcache says 10.2.0.5 is 4001, 10.3.0.0/24 4002. */
ParameterizedTest(struct mcase *c, overlay, identity_mark)
{
	struct flow f = { c->src, ip_b(4), 40000, 443, IPPROTO_TCP, TCP_SYN };
	struct packet p;
	struct sl_event ev;
	struct sl_ct_value ct;
	uint32_t mark = 0xdead;
	int v;

	seed_nodes(0, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, 4001, IPPROTO_TCP, 443, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, 0xAB0FA1, IPPROTO_TCP, 443, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, 4003, 0, 0, true, 0);
	build(&p, &f, NULL, 0);
	v = run_to_marked(&dp, dp.if_b, &p, c->mark, &mark);
	cr_expect_eq(v, c->verdict, "%s: verdict %d", c->name, v);
	cr_expect_eq(mark, c->mark_out, "%s: mark left 0x%x, expected 0x%x", c->name, mark, c->mark_out);
	if (c->verdict == TC_ACT_SHOT) {
		cr_expect_eq(drops(&dp, c->reason), 1, "%s: dropped for reason %d", c->name, c->reason);
		cr_assert(last_event(&dp, SL_EVENT_DROP, &ev), "%s: a drop event", c->name);
		cr_expect_eq(ev.src_identity, c->peer, "%s: the drop names source %u", c->name, ev.src_identity);
		return;
	}
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
	cr_assert(last_event(&dp, SL_EVENT_POLICY, &ev), "%s: a policy event", c->name);
	cr_expect_eq(ev.src_identity, c->peer, "%s: judged for %u", c->name, ev.src_identity);
	cr_assert(ct_get(&dp, &f, SL_CT_INGRESS, &ct), "%s: conntrack entry", c->name);
	cr_expect_eq(ct.peer_identity, c->peer, "%s: the entry's peer %u", c->name, ct.peer_identity);
	/* The flow's next packet, marked again, passes through conntrack and
	 * the mark comes off. */
	f.tcp_flags = TCP_ACK;
	build(&p, &f, NULL, 0);
	cr_expect_eq(run_to_marked(&dp, dp.if_b, &p, c->mark, &mark), TC_ACT_OK, "%s: established", c->name);
	cr_expect_eq(mark, c->mark_out, "%s: established, mark left 0x%x", c->name, mark);
}

Test(overlay_off, identity_mark_ignored_without_overlay)
{
	struct flow f = { "10.3.0.77", ip_b(4), 40000, 443, IPPROTO_TCP, TCP_SYN };
	struct packet p;
	uint32_t mark = 0;

	seed_nodes(0, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, 4001, IPPROTO_TCP, 443, false, 0);
	build(&p, &f, NULL, 0);
	cr_expect_eq(run_to_marked(&dp, dp.if_b, &p, MARK(4001), &mark), TC_ACT_SHOT,
		     "overlay off: nothing marks identities, a mark is not believed");
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1);
}

Test(overlay, from_overlay_without_tunnel_key)
{
	struct flow f = { "10.2.0.5", ip_b(4), 40000, 443, IPPROTO_TCP, TCP_SYN };
	struct packet p;
	struct sl_event ev;
	uint32_t mark = 0;

	seed_nodes(0, 0);
	build(&p, &f, NULL, 0);
	cr_expect_eq(run_from_overlay(&dp, dp.if_b, &p, &mark), TC_ACT_SHOT, "no tunnel metadata: dropped");
	cr_expect_eq(drops(&dp, SL_DROP_NO_TUNNEL_KEY), 1, "counted as no-tunnel-key");
	cr_expect_eq(mark, 0, "not marked");
	cr_assert(last_event(&dp, SL_EVENT_DROP, &ev));
	cr_expect_eq(ev.reason, SL_DROP_NO_TUNNEL_KEY);
}

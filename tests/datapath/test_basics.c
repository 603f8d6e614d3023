/* SPDX-License-Identifier: Apache-2.0 */
/* The datapath's core paths: policy, conntrack, services, prefilter. */
#include "harness.h"

static struct dp dp;

/* Endpoint A (id 1, identity 1000) on dpa, B (id 2, identity 2000) on dpb. */
static void two_endpoints(uint8_t flags_a, uint8_t flags_b)
{
	seed_endpoint(&dp, dp.if_a, 1000, 1, flags_a);
	seed_endpoint(&dp, dp.if_b, 2000, 2, flags_b);
	seed_ipcache(&dp, "10.1.0.1/32", 1000, NULL, 0);
	seed_ipcache(&dp, "10.1.0.2/32", 2000, NULL, 0);
	seed_ipcache(&dp, "fd00::1/128", 1000, NULL, 0);
	seed_ipcache(&dp, "fd00::2/128", 2000, NULL, 0);
}

static void setup(void)
{
	dp_setup(&dp, NULL);
}

static void teardown(void)
{
	dp_teardown(&dp);
}

TestSuite(basics, .init = setup, .fini = teardown);

Test(basics, unenforced_endpoints_pass_and_track)
{
	struct flow f = flow_tcp("10.1.0.1", "10.1.0.2", 40000, 80, TCP_SYN);
	struct packet p, out;

	two_endpoints(0, 0);
	build(&p, &f, NULL, 0);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK);
	cr_assert_eq(out.len, p.len);
	cr_assert_arr_eq(out.b, p.b, p.len, "the packet is untouched");
	cr_assert_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK);
	cr_assert_eq(metric_count(&dp, SL_METRIC_NEW), 2, "one egress and one ingress entry");
}

Test(basics, enforced_ingress_without_rule_drops)
{
	struct flow f = flow_tcp("10.1.0.1", "10.1.0.2", 40000, 80, TCP_SYN);
	struct packet p;

	two_endpoints(0, SL_EP_ENFORCE_INGRESS);
	build(&p, &f, NULL, 0);
	cr_assert_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_SHOT);
	cr_assert_eq(drops(&dp, SL_DROP_POLICY), 1);
}

Test(basics, allowed_port_then_reply_through_conntrack)
{
	struct flow f = flow_tcp("10.1.0.1", "10.1.0.2", 40000, 80, TCP_SYN);
	struct flow r = flow_tcp("10.1.0.2", "10.1.0.1", 80, 40000, TCP_SYN | TCP_ACK);
	struct packet p, q;

	two_endpoints(SL_EP_ENFORCE_EGRESS, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, 1, SL_DIR_EGRESS, 2000, IPPROTO_TCP, 80, false, 0);
	seed_policy(&dp, 2, SL_DIR_INGRESS, 1000, IPPROTO_TCP, 80, false, 0);
	build(&p, &f, NULL, 0);
	build(&q, &r, NULL, 0);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK);
	cr_assert_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK);
	/* B's reply needs no rule of B's egress or A's ingress. */
	cr_assert_eq(run_from(&dp, dp.if_b, &q, NULL, NULL), TC_ACT_OK);
	cr_assert_eq(run_to(&dp, dp.if_a, &q, NULL, NULL), TC_ACT_OK);
	cr_assert_eq(metric_count(&dp, SL_METRIC_REPLY), 2);
}

Test(basics, deny_beats_allow)
{
	struct flow f = flow_tcp("10.1.0.1", "10.1.0.2", 40000, 80, TCP_SYN);
	struct packet p;

	two_endpoints(0, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, 2, SL_DIR_INGRESS, 1000, IPPROTO_TCP, 80, false, 0);
	seed_policy(&dp, 2, SL_DIR_INGRESS, 0, 0, 0, true, 0); /* deny everyone, everything */
	build(&p, &f, NULL, 0);
	cr_assert_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_SHOT);
	cr_assert_eq(drops(&dp, SL_DROP_POLICY_DENY), 1);
}

Test(basics, service_dnat_and_reverse_with_valid_checksums)
{
	struct flow f = flow_tcp("10.1.0.1", "10.96.0.10", 40000, 80, TCP_SYN);
	struct packet p, out, reply, back;
	struct parsed o;

	two_endpoints(0, 0);
	seed_service(&dp, "10.96.0.10", 80, IPPROTO_TCP, 7, 1);
	seed_slot(&dp, 7, 0, 100);
	seed_backend(&dp, 100, "10.1.0.2", 8080, false);
	build(&p, &f, "hello", 5);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK);
	parse(&out, &o);
	cr_assert_str_eq(o.dst, "10.1.0.2");
	cr_assert_eq(o.dport, 8080);
	cr_assert_str_eq(o.src, "10.1.0.1");
	cr_assert(o.l3_csum_ok, "IPv4 header checksum");
	cr_assert(o.l4_csum_ok, "TCP checksum");
	/* The backend answers; the client must see the frontend. */
	{
		struct flow r = flow_tcp("10.1.0.2", "10.1.0.1", 8080, 40000, TCP_SYN | TCP_ACK);

		build(&reply, &r, "world", 5);
	}
	cr_assert_eq(run_to(&dp, dp.if_a, &reply, &back, NULL), TC_ACT_OK);
	parse(&back, &o);
	cr_assert_str_eq(o.src, "10.96.0.10");
	cr_assert_eq(o.sport, 80);
	cr_assert(o.l3_csum_ok);
	cr_assert(o.l4_csum_ok);
	cr_assert_eq(metric_count(&dp, SL_METRIC_REV_NAT), 1);
}

Test(basics, prefilter_drops_denied_sources)
{
	struct packet p;
	struct flow bad = { "203.0.113.9", "10.1.0.1", 1, 2, IPPROTO_UDP, 0 };
	struct flow good = { "198.51.100.9", "10.1.0.1", 1, 2, IPPROTO_UDP, 0 };
	struct { uint32_t prefixlen; uint8_t addr[4]; } k = { 24, { 203, 0, 113, 0 } };
	uint8_t one = 1;

	cr_assert_eq(bpf_map_update_elem(bpf_map__fd(dp.pf->maps.sluice_prefilter_v4), &k, &one, 0), 0);
	build(&p, &bad, NULL, 0);
	cr_assert_eq(run_xdp(&dp, &p), XDP_DROP);
	build(&p, &good, NULL, 0);
	cr_assert_eq(run_xdp(&dp, &p), XDP_PASS);
	cr_assert_eq(drops(&dp, SL_DROP_PREFILTER), 1);
}

/* IPv6 needs neighbour discovery: it passes an endpoint that enforces both
 * directions with no rule at all, while other ICMPv6 is judged as usual. */
Test(basics, neighbour_discovery_is_never_judged)
{
	struct flow f = { "fd00::1", "fd00::2", 7, 0, IPPROTO_ICMPV6, 0 };
	struct packet p;
	uint8_t types[] = { 133, 134, 135, 136, 137 };

	two_endpoints(SL_EP_ENFORCE_EGRESS | SL_EP_ENFORCE_INGRESS, SL_EP_ENFORCE_EGRESS | SL_EP_ENFORCE_INGRESS);
	for (unsigned i = 0; i < sizeof(types); i++) {
		build(&p, &f, NULL, 0);
		p.b[54] = types[i]; /* the ICMPv6 type, after Ethernet and the IPv6 header */
		cr_expect_eq(run_from(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK, "type %u leaves", types[i]);
		cr_expect_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK, "type %u arrives", types[i]);
	}
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 0);
	build(&p, &f, NULL, 0); /* an echo request is policy's business */
	cr_expect_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_SHOT);
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1);
}

/* A pings B; B's own echo request with the same identifier is no reply. */
Test(basics, echo_request_is_not_a_reply)
{
	struct flow ping = { "10.1.0.1", "10.1.0.2", 0x4242, 0, IPPROTO_ICMP, 0 };
	struct flow pong = { "10.1.0.2", "10.1.0.1", 0x4242, 1, IPPROTO_ICMP, 0 };
	struct flow back = { "10.1.0.2", "10.1.0.1", 0x4242, 0, IPPROTO_ICMP, 0 };
	struct packet p;

	two_endpoints(0, SL_EP_ENFORCE_INGRESS);
	seed_endpoint(&dp, dp.if_a, 1000, 1, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, 2, SL_DIR_INGRESS, 1000, IPPROTO_ICMP, 0, false, 0);
	build(&p, &ping, NULL, 0);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK);
	cr_assert_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK);
	build(&p, &pong, NULL, 0);
	cr_assert_eq(run_to(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK, "the reply reaches A without a rule");
	build(&p, &back, NULL, 0);
	cr_assert_eq(run_to(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_SHOT, "B's own request is judged, and denied");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the programs make of packets they cannot or should not read: headers
 * cut short, bad header fields, fragments, protocols without ports, frames
 * that are not IP, devices that are no endpoint; and headers they must read
 * past: IPv6 extension headers and IPv4 options.
 */
#include "harness.h"

#include <errno.h>

static struct dp dp;

static void setup(void)
{
	struct dp_cfg cfg = { .trace = true };

	dp_setup(&dp, &cfg);
}

static void teardown(void)
{
	dp_teardown(&dp);
}

TestSuite(malformed, .init = setup, .fini = teardown);

/* ---- packet surgery ---- */

static void ip4_header_csum(struct packet *p)
{
	uint32_t sum = 0, ihl = (uint32_t)(p->b[14] & 0xf) * 4;

	p->b[24] = p->b[25] = 0;
	for (uint32_t i = 0; i + 1 < ihl; i += 2)
		sum += (uint32_t)(p->b[14 + i] << 8 | p->b[15 + i]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	p->b[24] = (uint8_t)(sum >> 8), p->b[25] = (uint8_t)sum;
}

/* Put an IPv6 extension header right after the fixed header: it takes the
 * header's next-header value, the header names it. ext[1] must hold its
 * length field; len is its size in bytes. */
static void insert_ext6(struct packet *p, uint8_t type, const uint8_t *ext, uint32_t len)
{
	uint32_t plen = (uint32_t)(p->b[18] << 8 | p->b[19]) + len;

	cr_assert(p->len + len <= MAX_PKT);
	memmove(p->b + 54 + len, p->b + 54, p->len - 54);
	memcpy(p->b + 54, ext, len);
	p->b[54] = p->b[20];
	p->b[20] = type;
	p->b[18] = (uint8_t)(plen >> 8), p->b[19] = (uint8_t)plen;
	p->len += len;
}

/* IPv4 options (NOPs, then end of list) of n words after the header. */
static void insert_opts4(struct packet *p, uint32_t words)
{
	uint32_t tot = (uint32_t)(p->b[16] << 8 | p->b[17]) + words * 4;

	memmove(p->b + 34 + words * 4, p->b + 34, p->len - 34);
	memset(p->b + 34, 1, words * 4);
	p->b[34 + words * 4 - 1] = 0;
	p->b[14] = (uint8_t)(0x40 | (5 + words));
	p->b[16] = (uint8_t)(tot >> 8), p->b[17] = (uint8_t)tot;
	p->len += words * 4;
	ip4_header_csum(p);
}

static void flow_packet(struct packet *p, int fam, uint8_t proto, uint16_t dport)
{
	struct flow f = { ip_a(fam), ip_b(fam), 40000, dport, proto == 1 ? icmp_proto(fam) : proto,
			  proto == IPPROTO_TCP ? TCP_SYN : 0 };

	build(p, &f, "0123456789abcdef", 16);
}

/* ---- headers cut short or wrong ---- */

enum kind {
	ETH_ONLY_V4, ETH_ONLY_V6, IP4_CUT, IP4_CUT10, IP4_IHL4, IP4_VERSION, IP4_IHL_BEYOND, IP6_CUT, IP6_CUT20, IP6_VERSION,
	TCP4_CUT, TCP6_CUT, UDP4_CUT, UDP6_CUT, ICMP4_CUT, ICMP6_CUT, HBH6_MISSING, EXT6_BEYOND,
	FRAG4_MF, FRAG4_OFFSET, FRAG4_MF_OFFSET, FRAG6, FRAG6_AFTER_HBH, FRAG6_LATER, DF4,
};

static void make(struct packet *p, int kind)
{
	static const uint8_t hbh[8] = { 0, 0, 1, 4, 0, 0, 0, 0 }; /* PadN */
	uint8_t frag[8] = { 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe }; /* offset 0, more fragments */

	switch (kind) {
	case ETH_ONLY_V4:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->len = 14;
		break;
	case ETH_ONLY_V6:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		p->len = 14;
		break;
	case IP4_CUT:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->len = 14 + 19;
		break;
	case IP4_CUT10:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->len = 14 + 10;
		break;
	case IP4_IHL4:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->b[14] = 0x44;
		ip4_header_csum(p);
		break;
	case IP4_VERSION:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->b[14] = 0x65;
		break;
	case IP4_IHL_BEYOND: /* IHL 15 (60 bytes): the "header" runs past the end */
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->len = 14 + 20 + 8;
		p->b[14] = 0x4f;
		break;
	case IP6_CUT:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		p->len = 14 + 39;
		break;
	case IP6_CUT20:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		p->len = 14 + 20;
		break;
	case IP6_VERSION:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		p->b[14] = 0x40;
		break;
	case TCP4_CUT:
		flow_packet(p, 4, IPPROTO_TCP, 80);
		p->len = 14 + 20 + 10;
		break;
	case TCP6_CUT:
		flow_packet(p, 6, IPPROTO_TCP, 80);
		p->len = 14 + 40 + 10;
		break;
	case UDP4_CUT:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->len = 14 + 20 + 3;
		break;
	case UDP6_CUT:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		p->len = 14 + 40 + 3;
		break;
	case ICMP4_CUT:
		flow_packet(p, 4, 1, 0);
		p->len = 14 + 20 + 4;
		break;
	case ICMP6_CUT:
		flow_packet(p, 6, 1, 0);
		p->len = 14 + 40 + 4;
		break;
	case HBH6_MISSING: /* next header hop-by-hop, and nothing after the fixed header */
		flow_packet(p, 6, IPPROTO_UDP, 53);
		p->b[20] = 0;
		p->len = 54;
		break;
	case EXT6_BEYOND: /* a hop-by-hop header that says it is 2048 bytes */
		flow_packet(p, 6, IPPROTO_UDP, 53);
		insert_ext6(p, 0, (const uint8_t[8]){ 0, 255, 1, 4, 0, 0, 0, 0 }, 8);
		break;
	case FRAG4_MF:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->b[20] = 0x20, p->b[21] = 0;
		ip4_header_csum(p);
		break;
	case FRAG4_OFFSET:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->b[20] = 0x00, p->b[21] = 185;
		ip4_header_csum(p);
		break;
	case FRAG4_MF_OFFSET:
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->b[20] = 0x20, p->b[21] = 185;
		ip4_header_csum(p);
		break;
	case FRAG6:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		insert_ext6(p, 44, frag, 8);
		break;
	case FRAG6_AFTER_HBH:
		flow_packet(p, 6, IPPROTO_UDP, 53);
		insert_ext6(p, 44, frag, 8);
		insert_ext6(p, 0, hbh, 8);
		break;
	case FRAG6_LATER: /* a later fragment: offset 185, last */
		flow_packet(p, 6, IPPROTO_UDP, 53);
		frag[2] = (uint8_t)((185 << 3) >> 8), frag[3] = (uint8_t)((185 << 3) & 0xf8);
		insert_ext6(p, 44, frag, 8);
		break;
	case DF4: /* don't fragment: a whole packet */
		flow_packet(p, 4, IPPROTO_UDP, 53);
		p->b[20] = 0x40, p->b[21] = 0;
		ip4_header_csum(p);
		break;
	default:
		cr_assert_fail("kind %d", kind);
	}
}

struct mcase {
	char name[96];
	int kind;
	int verdict;
	int reason; /* with TC_ACT_SHOT */
};

ParameterizedTestParameters(malformed, bad_headers)
{
	static struct mcase cases[] = {
		{ "IPv4 IHL 4 (shorter than a header)", IP4_IHL4, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv4 ethertype, version 6 in the header", IP4_VERSION, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv4 IHL 15 running past the packet", IP4_IHL_BEYOND, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv6 ethertype, version 4 in the header", IP6_VERSION, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv4 TCP with 10 bytes of TCP header", TCP4_CUT, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv6 TCP with 10 bytes of TCP header", TCP6_CUT, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv4 UDP with 3 bytes of UDP header", UDP4_CUT, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv6 UDP with 3 bytes of UDP header", UDP6_CUT, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv4 ICMP with 4 bytes of ICMP header", ICMP4_CUT, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv6 ICMPv6 with 4 bytes of ICMPv6 header", ICMP6_CUT, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv6 hop-by-hop announced, missing", HBH6_MISSING, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv6 extension header running past the packet", EXT6_BEYOND, TC_ACT_SHOT, SL_DROP_INVALID },
		{ "IPv4 first fragment (MF)", FRAG4_MF, TC_ACT_SHOT, SL_DROP_FRAGMENT },
		{ "IPv4 last fragment (offset 185)", FRAG4_OFFSET, TC_ACT_SHOT, SL_DROP_FRAGMENT },
		{ "IPv4 middle fragment (MF, offset 185)", FRAG4_MF_OFFSET, TC_ACT_SHOT, SL_DROP_FRAGMENT },
		{ "IPv6 fragment header", FRAG6, TC_ACT_SHOT, SL_DROP_FRAGMENT },
		{ "IPv6 fragment header after hop-by-hop", FRAG6_AFTER_HBH, TC_ACT_SHOT, SL_DROP_FRAGMENT },
		{ "IPv6 later fragment (offset 185)", FRAG6_LATER, TC_ACT_SHOT, SL_DROP_FRAGMENT },
		{ "IPv4 with DF is no fragment", DF4, TC_ACT_OK, 0 },
	};

	return cr_make_param_array(struct mcase, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Both programs, on endpoints that enforce nothing: what drops is the
 * packet's own fault. */
ParameterizedTest(struct mcase *c, malformed, bad_headers)
{
	struct packet p;
	struct sl_event ev;
	int vf, vt;

	seed_pair(&dp, 0, 0);
	make(&p, c->kind);
	vf = run_from(&dp, dp.if_a, &p, NULL, NULL);
	vt = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(vf, c->verdict, "%s: from-endpoint verdict %d, expected %d", c->name, vf, c->verdict);
	cr_expect_eq(vt, c->verdict, "%s: to-endpoint verdict %d, expected %d", c->name, vt, c->verdict);
	if (c->verdict == TC_ACT_SHOT) {
		cr_expect_eq(drops(&dp, c->reason), 2, "%s: counted twice as reason %d (%lu)", c->name, c->reason,
			     (unsigned long)drops(&dp, c->reason));
		cr_expect_eq(drops_total(&dp), 2, "%s: and as nothing else", c->name);
		cr_expect_eq(drop_bytes(&dp, c->reason), 2ull * p.len, "%s: bytes counted", c->name);
		cr_expect(last_event(&dp, SL_EVENT_DROP, &ev) && ev.reason == c->reason, "%s: drop event", c->name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 0, "%s: no flow", c->name);
		cr_expect_eq(ct_entries(&dp, true) + ct_entries(&dp, false), 0, "%s: no conntrack entries", c->name);
	} else {
		cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 2, "%s: tracked", c->name);
	}
}

/*
 * Frames shorter than their fixed L3 header. BPF_PROG_TEST_RUN refuses
 * them on recent kernels (6.18 wants ETH_HLEN + the IPv4 or IPv6 header;
 * where it takes them, the verdict is checked there too), so these go the
 * real way as well: sent with an AF_PACKET socket into dpa (where
 * from-endpoint sits at tc ingress) and out of dpb (to-endpoint at tc
 * egress). The verdict shows as the drop counter of its reason and the
 * drop event, which only TC_ACT_SHOT paths produce, and at tc egress as
 * the sender's ENOBUFS (NET_XMIT_DROP).
 */
struct tcase {
	char name[96];
	int kind;
};

ParameterizedTestParameters(malformed, cut_short_on_the_wire)
{
	static struct tcase cases[] = {
		{ "Ethernet header only, IPv4 ethertype", ETH_ONLY_V4 },
		{ "Ethernet header only, IPv6 ethertype", ETH_ONLY_V6 },
		{ "IPv4 header cut at 19 bytes", IP4_CUT },
		{ "IPv4 header cut at 10 bytes", IP4_CUT10 },
		{ "IPv6 header cut at 39 bytes", IP6_CUT },
		{ "IPv6 header cut at 20 bytes", IP6_CUT20 },
	};

	return cr_make_param_array(struct tcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct tcase *c, malformed, cut_short_on_the_wire)
{
	struct packet p;
	struct sl_event ev;
	int r, verdict = -1;

	uint64_t base;

	seed_pair(&dp, 0, 0);
	make(&p, c->kind);
	r = try_run_from(&dp, dp.if_a, &p, &verdict);
	if (r == 0) { /* a kernel whose test run takes it (6.1 may) */
		cr_expect_eq(verdict, TC_ACT_SHOT, "%s: test run verdict %d", c->name, verdict);
		cr_expect_eq(drops(&dp, SL_DROP_INVALID), 1, "%s: test run: INVALID", c->name);
	} else {
		cr_expect_eq(r, -EINVAL, "%s: the test run said %d", c->name, r);
	}
	base = drops(&dp, SL_DROP_INVALID);

	r = inject(&dp, true, &p);
	cr_assert_eq(r, 0, "%s: sent into dpa (%d)", c->name, r);
	cr_expect_eq(drops(&dp, SL_DROP_INVALID) - base, 1, "%s: from-endpoint dropped it as INVALID", c->name);
	cr_expect(last_event(&dp, SL_EVENT_DROP, &ev), "%s: a drop event", c->name);
	cr_expect(ev.reason == SL_DROP_INVALID && ev.ifindex == (uint32_t)dp.if_a && ev.dir == SL_DIR_EGRESS,
		  "%s: drop event reason %u on %u, direction %u", c->name, ev.reason, ev.ifindex, ev.dir);

	r = inject(&dp, false, &p);
	cr_expect_eq(r, -ENOBUFS, "%s: out of dpb, the send learns of the drop at tc egress (%d)", c->name, r);
	cr_expect_eq(drops(&dp, SL_DROP_INVALID) - base, 2, "%s: to-endpoint dropped it as INVALID", c->name);
	cr_expect(last_event(&dp, SL_EVENT_DROP, &ev), "%s: a drop event", c->name);
	cr_expect(ev.reason == SL_DROP_INVALID && ev.ifindex == (uint32_t)dp.if_b && ev.dir == SL_DIR_INGRESS,
		  "%s: drop event reason %u on %u, direction %u", c->name, ev.reason, ev.ifindex, ev.dir);
	cr_expect_eq(drops_total(&dp), drops(&dp, SL_DROP_INVALID), "%s: nothing else dropped", c->name);
	cr_expect_eq(drop_bytes(&dp, SL_DROP_INVALID), (base + 2) * p.len, "%s: %u bytes counted each time", c->name,
		     p.len);
}

/*
 * Shorter than an Ethernet header: neither BPF_PROG_TEST_RUN nor an
 * AF_PACKET socket on an Ethernet device hands a tc program such a frame
 * (both EINVAL: dev->min_header_len is ETH_HLEN). Should either ever
 * deliver it, the programs must drop it as INVALID.
 */
Test(malformed, shorter_than_ethernet)
{
	struct packet p;
	int verdict = -1, r;

	seed_pair(&dp, 0, 0);
	flow_packet(&p, 4, IPPROTO_UDP, 53);
	p.len = 13;
	r = try_run_from(&dp, dp.if_a, &p, &verdict);
	if (r == 0) {
		cr_expect_eq(verdict, TC_ACT_SHOT, "13-byte frame, test run: verdict %d", verdict);
		cr_expect_eq(drops(&dp, SL_DROP_INVALID), 1, "13-byte frame, test run: INVALID");
	} else {
		cr_expect_eq(r, -EINVAL, "13-byte frame: the test run said %d", r);
	}
	r = inject(&dp, true, &p);
	if (r == 0)
		cr_expect_geq(drops(&dp, SL_DROP_INVALID), 1, "13-byte frame on the wire: INVALID");
	else
		cr_expect_eq(r, -EINVAL, "13-byte frame: AF_PACKET said %d", r);
	cr_expect_eq(drops_total(&dp), drops(&dp, SL_DROP_INVALID), "13-byte frame: no other drop");
}

/* ---- protocols without ports ---- */

struct ucase {
	char name[96];
	int fam;
	uint8_t rule_proto; /* with rule_port: the one rule of B's ingress */
	uint16_t rule_port;
	int verdict;
};

ParameterizedTestParameters(malformed, unknown_l4)
{
	static struct ucase cases[] = {
		{ "protocol 253 is not allowed by a TCP port rule [IPv4]", 4, IPPROTO_TCP, 80, TC_ACT_SHOT },
		{ "protocol 253 is not allowed by a TCP port rule [IPv6]", 6, IPPROTO_TCP, 80, TC_ACT_SHOT },
		{ "protocol 253 is allowed by an L3 rule (any protocol) [IPv4]", 4, 0, 0, TC_ACT_OK },
		{ "protocol 253 is allowed by an L3 rule (any protocol) [IPv6]", 6, 0, 0, TC_ACT_OK },
		{ "protocol 253 is allowed by a rule for protocol 253 [IPv4]", 4, 253, 0, TC_ACT_OK },
		{ "protocol 253 is allowed by a rule for protocol 253 [IPv6]", 6, 253, 0, TC_ACT_OK },
	};

	return cr_make_param_array(struct ucase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ucase *c, malformed, unknown_l4)
{
	struct flow f = { ip_a(c->fam), ip_b(c->fam), 0, 0, 253, 0 };
	struct packet p;
	struct sl_ct_value ct;
	int v;

	seed_pair(&dp, 0, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, c->rule_proto, c->rule_port, false, 0);
	/* The first bytes of the payload would read as ports 80 -> 80. */
	build(&p, &f, "\x00\x50\x00\x50\x00\x00\x00\x00", 8);
	v = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(v, c->verdict, "%s: verdict %d", c->name, v);
	if (c->verdict == TC_ACT_SHOT) {
		cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1, "%s: dropped as POLICY", c->name);
	} else {
		cr_expect(ct_get(&dp, &f, SL_CT_INGRESS, &ct), "%s: tracked without ports", c->name);
		cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
	}
}

/* ---- not IP ---- */

struct ncase {
	char name[96];
	uint16_t ethertype;
	bool endpoint; /* on a device with an endpoint entry */
};

ParameterizedTestParameters(malformed, not_ip)
{
	static struct ncase cases[] = {
		{ "ARP on an endpoint's device", 0x0806, true },
		{ "ARP on a device that is no endpoint", 0x0806, false },
		{ "LLDP on an endpoint's device", 0x88cc, true },
	};

	return cr_make_param_array(struct ncase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ncase *c, malformed, not_ip)
{
	struct packet p, out;
	int vf, vt;

	memset(&p, 0, sizeof(p));
	memset(p.b, 0xff, 6);
	p.b[6] = 0x02, p.b[11] = 0x01;
	p.b[12] = (uint8_t)(c->ethertype >> 8), p.b[13] = (uint8_t)c->ethertype;
	/* ARP request who-has 10.1.0.2 tell 10.1.0.1 (LLDP gets the same bytes) */
	memcpy(p.b + 14, "\x00\x01\x08\x00\x06\x04\x00\x01\x02\x00\x00\x00\x00\x01\x0a\x01\x00\x01"
			 "\x00\x00\x00\x00\x00\x00\x0a\x01\x00\x02", 28);
	p.len = 14 + 28;
	if (c->endpoint)
		seed_pair(&dp, SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS,
			  SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS);
	vf = run_from(&dp, dp.if_a, &p, &out, NULL);
	cr_expect_eq(vf, TC_ACT_OK, "%s: from-endpoint passes (%d)", c->name, vf);
	cr_expect_arr_eq(out.b, p.b, p.len, "%s: untouched", c->name);
	vt = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(vt, TC_ACT_OK, "%s: to-endpoint passes (%d)", c->name, vt);
	cr_expect_eq(metric_count(&dp, SL_METRIC_NOT_IP), 2, "%s: NOT_IP counted twice", c->name);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
}

/* ---- no endpoint ---- */

struct ecase {
	char name[96];
	int fam;
	uint8_t proto; /* 1: ICMP of the family */
};

ParameterizedTestParameters(malformed, no_endpoint)
{
	static struct ecase cases[] = {
		{ "TCP on a device without endpoint entry [IPv4]", 4, IPPROTO_TCP },
		{ "UDP on a device without endpoint entry [IPv6]", 6, IPPROTO_UDP },
		{ "ICMP echo on a device without endpoint entry [IPv4]", 4, 1 },
		{ "ICMPv6 echo on a device without endpoint entry [IPv6]", 6, 1 },
	};

	return cr_make_param_array(struct ecase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ecase *c, malformed, no_endpoint)
{
	struct packet p;
	int vf, vt;

	/* A only: dpb has no entry. */
	seed_endpoint(&dp, dp.if_a, ID_A, EP_A, 0);
	seed_ipcache(&dp, ip_a(c->fam), ID_A, NULL, 0);
	flow_packet(&p, c->fam, c->proto, 80);
	vf = run_from(&dp, dp.if_b, &p, NULL, NULL);
	vt = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(vf, TC_ACT_SHOT, "%s: from-endpoint verdict %d", c->name, vf);
	cr_expect_eq(vt, TC_ACT_SHOT, "%s: to-endpoint verdict %d", c->name, vt);
	cr_expect_eq(drops(&dp, SL_DROP_NO_ENDPOINT), 2, "%s: counted as NO_ENDPOINT twice", c->name);
	cr_expect_eq(drops_total(&dp), 2, "%s: and as nothing else", c->name);
}

/* ---- reading past extension headers and options ---- */

enum xkind { X_HBH, X_HBH16_DEST, X_ROUTING, X_DEST, X_AH, X_HBH_AH, X_OPTS4 };

struct xcase {
	char name[112];
	int kind;
	uint8_t proto;
	uint16_t dport;
	int verdict;
};

ParameterizedTestParameters(malformed, extension_headers)
{
	static struct xcase cases[] = {
		{ "IPv6 hop-by-hop (8 bytes) before TCP 80: the port rule allows", X_HBH, IPPROTO_TCP, 80, TC_ACT_OK },
		{ "IPv6 hop-by-hop (8 bytes) before TCP 81: no rule, dropped", X_HBH, IPPROTO_TCP, 81, TC_ACT_SHOT },
		{ "IPv6 hop-by-hop (16 bytes) and destination options before TCP 80", X_HBH16_DEST, IPPROTO_TCP, 80,
		  TC_ACT_OK },
		{ "IPv6 routing header before UDP 53: the port rule allows", X_ROUTING, IPPROTO_UDP, 53, TC_ACT_OK },
		{ "IPv6 destination options before UDP 54: no rule, dropped", X_DEST, IPPROTO_UDP, 54, TC_ACT_SHOT },
		{ "IPv6 AH (24 bytes) before TCP 80: the port rule allows", X_AH, IPPROTO_TCP, 80, TC_ACT_OK },
		{ "IPv6 hop-by-hop then AH before TCP 80: the port rule allows", X_HBH_AH, IPPROTO_TCP, 80, TC_ACT_OK },
		{ "IPv4 with options (IHL 6) before TCP 80: the port rule allows", X_OPTS4, IPPROTO_TCP, 80, TC_ACT_OK },
		{ "IPv4 with options (IHL 6) before TCP 81: no rule, dropped", X_OPTS4, IPPROTO_TCP, 81, TC_ACT_SHOT },
	};

	return cr_make_param_array(struct xcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct xcase *c, malformed, extension_headers)
{
	static const uint8_t hbh[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	static const uint8_t hbh16[16] = { 0, 1, 1, 12, 0 };
	static const uint8_t dest[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	static const uint8_t routing[8] = { 0, 0, 4, 0, 0, 0, 0, 0 };
	/* RFC 4302: payload length 4 (in 4-byte words, minus 2): 24 bytes, a
	 * 96-bit ICV after SPI and sequence number. */
	static const uint8_t ah[24] = { 0, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 1 };
	int fam = c->kind == X_OPTS4 ? 4 : 6;
	struct flow f = { ip_a(fam), ip_b(fam), 40000, c->dport, c->proto, c->proto == IPPROTO_TCP ? TCP_SYN : 0 };
	struct packet p;
	struct sl_ct_value ct;
	int v;

	seed_pair(&dp, 0, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, IPPROTO_TCP, 80, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, IPPROTO_UDP, 53, false, 0);
	build(&p, &f, "payload", 7);
	switch (c->kind) {
	case X_HBH:
		insert_ext6(&p, 0, hbh, sizeof(hbh));
		break;
	case X_HBH16_DEST:
		insert_ext6(&p, 60, dest, sizeof(dest));
		insert_ext6(&p, 0, hbh16, sizeof(hbh16));
		break;
	case X_ROUTING:
		insert_ext6(&p, 43, routing, sizeof(routing));
		break;
	case X_DEST:
		insert_ext6(&p, 60, dest, sizeof(dest));
		break;
	case X_AH:
		insert_ext6(&p, 51, ah, sizeof(ah));
		break;
	case X_HBH_AH:
		insert_ext6(&p, 51, ah, sizeof(ah));
		insert_ext6(&p, 0, hbh, sizeof(hbh));
		break;
	case X_OPTS4:
		insert_opts4(&p, 1);
		break;
	}
	v = run_to(&dp, dp.if_b, &p, NULL, NULL);
	cr_expect_eq(v, c->verdict, "%s: verdict %d, expected %d (drops: POLICY %lu, INVALID %lu)", c->name, v,
		     c->verdict, (unsigned long)drops(&dp, SL_DROP_POLICY), (unsigned long)drops(&dp, SL_DROP_INVALID));
	if (c->verdict == TC_ACT_OK) {
		cr_expect(ct_get(&dp, &f, SL_CT_INGRESS, &ct), "%s: tracked with its real ports", c->name);
		cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
	} else {
		cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1, "%s: dropped as POLICY", c->name);
		cr_expect_eq(drops_total(&dp), 1, "%s: and as nothing else", c->name);
	}
}

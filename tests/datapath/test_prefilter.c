/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The XDP prefilter: sources inside denied prefixes of several lengths are
 * dropped, their neighbours just outside pass, for IPv4 and IPv6; host
 * entries (/32, /128); only the source counts; what the prefilter cannot
 * read passes; the drop counter counts packets and bytes.
 */
#include "harness.h"

static struct dp dp;

static void setup(void)
{
	dp_setup(&dp, NULL);
}

static void teardown(void)
{
	dp_teardown(&dp);
}

TestSuite(prefilter, .init = setup, .fini = teardown);

/* The deny list every case starts from. */
static const char *denied[] = {
	"10.0.0.0/8",	     "172.16.0.0/12",	  "192.168.1.0/24",	     "203.0.113.128/25", "198.51.100.7",
	"2001:db8::/32",     "fd00:1:2::/48",	  "fd00:aa:bb:cc::/64",	     "2a00:1450::1",
};

static void seed_denied(void)
{
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
		seed_prefilter(&dp, denied[i]);
}

struct pcase {
	char name[96];
	char src[48], dst[48];
	uint8_t proto; /* 1: ICMP of the family */
	int verdict;
};

ParameterizedTestParameters(prefilter, sources)
{
	static struct pcase cases[] = {
		{ "inside 10.0.0.0/8", "10.200.3.4", "192.0.2.1", IPPROTO_UDP, XDP_DROP },
		{ "just outside 10.0.0.0/8", "11.0.0.1", "192.0.2.1", IPPROTO_UDP, XDP_PASS },
		{ "inside 172.16.0.0/12 (its last address)", "172.31.255.255", "192.0.2.1", IPPROTO_TCP, XDP_DROP },
		{ "just outside 172.16.0.0/12", "172.32.0.0", "192.0.2.1", IPPROTO_TCP, XDP_PASS },
		{ "inside 192.168.1.0/24", "192.168.1.200", "192.0.2.1", 1, XDP_DROP },
		{ "just outside 192.168.1.0/24", "192.168.2.1", "192.0.2.1", 1, XDP_PASS },
		{ "inside 203.0.113.128/25", "203.0.113.129", "192.0.2.1", IPPROTO_UDP, XDP_DROP },
		{ "just below 203.0.113.128/25", "203.0.113.127", "192.0.2.1", IPPROTO_UDP, XDP_PASS },
		{ "the /32 host entry", "198.51.100.7", "192.0.2.1", IPPROTO_TCP, XDP_DROP },
		{ "the /32 host's neighbour", "198.51.100.8", "192.0.2.1", IPPROTO_TCP, XDP_PASS },
		{ "a denied prefix as destination only", "192.0.2.1", "10.0.0.1", IPPROTO_UDP, XDP_PASS },
		{ "inside 2001:db8::/32", "2001:db8:abcd::1", "fd00::1", IPPROTO_UDP, XDP_DROP },
		{ "just outside 2001:db8::/32", "2001:db9::1", "fd00::1", IPPROTO_UDP, XDP_PASS },
		{ "inside fd00:1:2::/48", "fd00:1:2:ffff::1", "fd00::1", IPPROTO_TCP, XDP_DROP },
		{ "just outside fd00:1:2::/48", "fd00:1:3::1", "fd00::1", IPPROTO_TCP, XDP_PASS },
		{ "inside fd00:aa:bb:cc::/64", "fd00:aa:bb:cc:1:2:3:4", "fd00::1", 1, XDP_DROP },
		{ "just outside fd00:aa:bb:cc::/64", "fd00:aa:bb:cd::1", "fd00::1", 1, XDP_PASS },
		{ "the /128 host entry", "2a00:1450::1", "fd00::1", IPPROTO_UDP, XDP_DROP },
		{ "the /128 host's neighbour", "2a00:1450::2", "fd00::1", IPPROTO_UDP, XDP_PASS },
		{ "a denied IPv6 prefix as destination only", "fd00::1", "2001:db8::1", IPPROTO_TCP, XDP_PASS },
	};

	return cr_make_param_array(struct pcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pcase *c, prefilter, sources)
{
	int fam = strchr(c->src, ':') ? 6 : 4;
	struct flow f = { c->src, c->dst, 40000, 443, c->proto == 1 ? icmp_proto(fam) : c->proto, TCP_SYN };
	struct packet p;
	int v;

	seed_denied();
	build(&p, &f, "x", 1);
	v = run_xdp(&dp, &p);
	cr_expect_eq(v, c->verdict, "%s (%s): verdict %d, expected %d", c->name, c->src, v, c->verdict);
	cr_expect_eq(drops(&dp, SL_DROP_PREFILTER), c->verdict == XDP_DROP ? 1 : 0, "%s: PREFILTER counter", c->name);
	cr_expect_eq(drop_bytes(&dp, SL_DROP_PREFILTER), c->verdict == XDP_DROP ? p.len : 0, "%s: bytes counted",
		     c->name);
	cr_expect_eq(drops_total(&dp), drops(&dp, SL_DROP_PREFILTER), "%s: no other drop", c->name);
}

/* What the prefilter cannot read passes, even from a denied source. */
enum ukind { ARP, VLAN, IP4_CUT, IP6_CUT, ETH_ONLY };

struct ucase {
	char name[96];
	int kind;
};

ParameterizedTestParameters(prefilter, unreadable_passes)
{
	static struct ucase cases[] = {
		{ "ARP from a denied address", ARP },
		{ "VLAN-tagged IPv4 from a denied source", VLAN },
		{ "IPv4 header cut at 19 bytes, denied source inside", IP4_CUT },
		{ "IPv6 header cut at 39 bytes, denied source inside", IP6_CUT },
		{ "Ethernet header only", ETH_ONLY },
	};

	return cr_make_param_array(struct ucase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ucase *c, prefilter, unreadable_passes)
{
	struct flow f4 = { "10.9.9.9", "192.0.2.1", 1, 2, IPPROTO_UDP, 0 };
	struct flow f6 = { "2001:db8::9", "fd00::1", 1, 2, IPPROTO_UDP, 0 };
	struct packet p;
	int v;

	seed_denied();
	switch (c->kind) {
	case ARP:
		build(&p, &f4, NULL, 0);
		p.b[12] = 0x08, p.b[13] = 0x06;
		/* sender protocol address 10.9.9.9 where an IPv4 source would be */
		memcpy(p.b + 14, "\x00\x01\x08\x00\x06\x04\x00\x01\x02\x00\x00\x00\x00\x01\x0a\x09\x09\x09"
				 "\x00\x00\x00\x00\x00\x00\xc0\x00\x02\x01", 28);
		p.len = 42;
		break;
	case VLAN:
		build(&p, &f4, NULL, 0);
		memmove(p.b + 16, p.b + 12, p.len - 12);
		p.b[12] = 0x81, p.b[13] = 0x00, p.b[14] = 0x00, p.b[15] = 0x05;
		p.len += 4;
		break;
	case IP4_CUT:
		build(&p, &f4, NULL, 0);
		p.len = 14 + 19;
		break;
	case IP6_CUT:
		build(&p, &f6, NULL, 0);
		p.len = 14 + 39;
		break;
	case ETH_ONLY:
		build(&p, &f4, NULL, 0);
		p.len = 14;
		break;
	}
	v = run_xdp(&dp, &p);
	cr_expect_eq(v, XDP_PASS, "%s: verdict %d", c->name, v);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing counted", c->name);
	/* The same source, readable, is dropped: the case is about readability. */
	build(&p, c->kind == IP6_CUT ? &f6 : &f4, NULL, 0);
	cr_expect_eq(run_xdp(&dp, &p), XDP_DROP, "%s: control: a whole packet from the source drops", c->name);
}

/* The counter across packets, and an entry's removal. */
Test(prefilter, counter_and_removal)
{
	struct flow f4 = { "10.1.2.3", "192.0.2.1", 1, 2, IPPROTO_UDP, 0 };
	struct flow f6 = { "fd00:1:2::5", "fd00::1", 1, 2, IPPROTO_TCP, TCP_SYN };
	struct flow ok = { "198.18.0.1", "192.0.2.1", 1, 2, IPPROTO_UDP, 0 };
	struct { uint32_t prefixlen; uint8_t addr[4]; } k = { 8, { 10, 0, 0, 0 } };
	struct packet a, b, c;
	uint64_t bytes;

	seed_denied();
	build(&a, &f4, "0123456789", 10);
	build(&b, &f6, NULL, 0);
	build(&c, &ok, NULL, 0);
	for (int i = 0; i < 3; i++) {
		cr_expect_eq(run_xdp(&dp, &a), XDP_DROP, "IPv4 packet %d dropped", i);
		cr_expect_eq(run_xdp(&dp, &b), XDP_DROP, "IPv6 packet %d dropped", i);
		cr_expect_eq(run_xdp(&dp, &c), XDP_PASS, "allowed packet %d passes", i);
	}
	bytes = 3ull * (a.len + b.len);
	cr_expect_eq(drops(&dp, SL_DROP_PREFILTER), 6, "six drops counted (%lu)",
		     (unsigned long)drops(&dp, SL_DROP_PREFILTER));
	cr_expect_eq(drop_bytes(&dp, SL_DROP_PREFILTER), bytes, "their bytes counted (%lu, expected %lu)",
		     (unsigned long)drop_bytes(&dp, SL_DROP_PREFILTER), (unsigned long)bytes);

	cr_assert_eq(bpf_map_delete_elem(bpf_map__fd(dp.pf->maps.sluice_prefilter_v4), &k), 0);
	cr_expect_eq(run_xdp(&dp, &a), XDP_PASS, "once 10.0.0.0/8 is removed, its source passes");
	cr_expect_eq(run_xdp(&dp, &b), XDP_DROP, "the IPv6 entry still drops");
	cr_expect_eq(drops(&dp, SL_DROP_PREFILTER), 7, "seven drops in all");
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy, packet by packet: each of the six lookup levels of abi.h alone,
 * allow and deny by identity, port and protocol, deny precedence across
 * levels, enforcement per direction, the world identity of unknown peers,
 * prefix (LPM) identities, ICMP under L3-only rules and ICMP by type
 * (icmps). Every case runs for IPv4 and for IPv6.
 *
 * The subject is endpoint B (id 2, identity 2000, on dpb): an ingress case
 * sends peer -> B through sluice_to_endpoint, an egress case B -> peer
 * through sluice_from_endpoint, both on dpb.
 */
#include "harness.h"

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

TestSuite(policy, .init = setup, .fini = teardown);

#define IN SL_DIR_INGRESS
#define EG SL_DIR_EGRESS
#define ENF_IN SL_EP_ENFORCE_INGRESS
#define ENF_EG SL_EP_ENFORCE_EGRESS
#define ICMPX 255 /* ICMP for IPv4, ICMPv6 for IPv6 (rules and packets) */
#define ECHO_ID 7

#define ID_PFX 16777217u  /* 192.0.2.0/24 and 2001:db8:1::/48 */
#define ID_PFX_HOST 5000u /* 192.0.2.5/32 and 2001:db8:1::5/128, inside those */

enum peer { PEER_A, PEER_C, PEER_WORLD, PEER_PFX_IN, PEER_PFX_HOST, PEER_PFX_OUT };

static const char *peer_ip(int peer, int fam)
{
	static const char *v4[] = { "10.1.0.1", "10.1.0.3", "198.51.100.7", "192.0.2.77", "192.0.2.5", "192.0.3.1" };
	static const char *v6[] = { "fd00::1", "fd00::3", "2001:db8:ffff::7", "2001:db8:1::77", "2001:db8:1::5",
				    "2001:db8:2::1" };

	return fam == 6 ? v6[peer] : v4[peer];
}

static uint8_t real_proto(uint8_t proto, int fam)
{
	return proto == ICMPX ? icmp_proto(fam) : proto;
}

/* In a rule's port (with ICMPX): an icmps rule's type, echo request or
 * reply of the family, encoded as compile files it (abi.h). */
#define TYPE_ECHO_REQ 0xfff8
#define TYPE_ECHO_REP 0xfff0

static uint16_t real_port(uint16_t port, int fam)
{
	if (port == TYPE_ECHO_REQ)
		return sl_policy_icmp_port(fam == 4 ? 8 : 128);
	if (port == TYPE_ECHO_REP)
		return sl_policy_icmp_port(fam == 4 ? 0 : 129);
	return port;
}

static void seed_topology(uint8_t flags_b)
{
	seed_pair(&dp, 0, flags_b);
	seed_ipcache(&dp, "192.0.2.0/24", ID_PFX, NULL, 0);
	seed_ipcache(&dp, "2001:db8:1::/48", ID_PFX, NULL, 0);
	seed_ipcache(&dp, "192.0.2.5", ID_PFX_HOST, NULL, 0);
	seed_ipcache(&dp, "2001:db8:1::5", ID_PFX_HOST, NULL, 0);
}

/*
 * One packet of a new flow through B's policy, and everything that says
 * what the datapath decided: the verdict, the drop counter of the reason
 * (and no other), the drop event's identities, or else the conntrack entry
 * with the identity policy was decided for, the NEW metric, an untouched
 * packet and no mark.
 */
struct probe {
	uint8_t dir;
	int peer;
	uint8_t proto; /* may be ICMPX */
	uint16_t sport, dport;
	int verdict;
	int reason;	  /* with TC_ACT_SHOT */
	uint32_t peer_id; /* the peer's identity as policy saw it */
};

static void expect_probe(const char *name, int fam, const struct probe *pr)
{
	struct flow f = { 0 };
	struct packet in, out;
	struct sl_ct_value ct;
	struct sl_event ev;
	uint64_t d0 = drops_total(&dp), r0 = pr->verdict == TC_ACT_SHOT ? drops(&dp, pr->reason) : 0;
	uint64_t n0 = metric_count(&dp, SL_METRIC_NEW);
	uint8_t ctdir = pr->dir == IN ? SL_CT_INGRESS : SL_CT_EGRESS;
	uint32_t mark = 0xdead;
	int v;

	f.src = pr->dir == IN ? peer_ip(pr->peer, fam) : ip_b(fam);
	f.dst = pr->dir == IN ? ip_b(fam) : peer_ip(pr->peer, fam);
	f.proto = real_proto(pr->proto, fam);
	f.sport = pr->sport;
	f.dport = pr->dport;
	f.tcp_flags = TCP_SYN;
	build(&in, &f, "payload", 7);
	v = pr->dir == IN ? run_to(&dp, dp.if_b, &in, &out, &mark) : run_from(&dp, dp.if_b, &in, &out, &mark);

	cr_expect_eq(v, pr->verdict, "%s: verdict %d, expected %d", name, v, pr->verdict);
	if (pr->verdict == TC_ACT_SHOT) {
		cr_expect_eq(drops(&dp, pr->reason) - r0, 1, "%s: drop reason %d counted once", name, pr->reason);
		cr_expect_eq(drops_total(&dp) - d0, 1, "%s: one drop in all", name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_NEW) - n0, 0, "%s: no new flow", name);
		cr_expect(!ct_get(&dp, &f, ctdir, &ct), "%s: no conntrack entry for a dropped flow", name);
		cr_expect(last_event(&dp, SL_EVENT_DROP, &ev), "%s: a drop event", name);
		cr_expect_eq(ev.reason, pr->reason, "%s: event reason %u", name, ev.reason);
		cr_expect_eq(ev.dir, pr->dir, "%s: event direction", name);
		cr_expect_eq(pr->dir == IN ? ev.src_identity : ev.dst_identity, pr->peer_id,
			     "%s: the peer's identity in the drop event is %u, expected %u", name,
			     pr->dir == IN ? ev.src_identity : ev.dst_identity, pr->peer_id);
		cr_expect_eq(pr->dir == IN ? ev.dst_identity : ev.src_identity, ID_B, "%s: B's identity in the event",
			     name);
	} else {
		cr_expect_eq(drops_total(&dp) - d0, 0, "%s: nothing dropped", name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_NEW) - n0, 1, "%s: one new flow", name);
		cr_expect(ct_get(&dp, &f, ctdir, &ct), "%s: conntrack entry made", name);
		cr_expect_eq(ct.peer_identity, pr->peer_id, "%s: policy decided for identity %u, expected %u", name,
			     ct.peer_identity, pr->peer_id);
		cr_expect_eq(mark, 0, "%s: no mark (0x%x)", name, mark);
		cr_expect_eq(out.len, in.len, "%s: length unchanged", name);
		cr_expect_arr_eq(out.b, in.b, in.len, "%s: bytes unchanged", name);
	}
}

/* ---- the six levels, each alone ---- */

/*
 * Each level is seeded alone (one entry), and proven twice: a packet the
 * level covers, and one that differs exactly in what the level pins (its
 * port, protocol, identity or, for any/any, the direction). An allow is
 * tried with B enforced both ways (covered -> passes, other -> dropped as
 * POLICY); a deny with nothing enforced (covered -> DENY, other -> passes).
 * Then B's level mask (abi.h SL_POLICY_LEVELS_KNOWN): naming the level,
 * the covered packet of a fresh flow is decided the same; naming every
 * level but this one, the entry is not looked up.
 */
struct lcase {
	char name[96];
	int fam;
	int level; /* 1..6, abi.h numbering */
	bool deny;
};

#define LEVEL(n, nm)                                                                                   \
	{ "level " #n " allow " nm " [IPv4]", 4, n, false }, { "level " #n " allow " nm " [IPv6]", 6, n, false }, \
	{ "level " #n " deny " nm " [IPv4]", 4, n, true }, { "level " #n " deny " nm " [IPv6]", 6, n, true }

ParameterizedTestParameters(policy, each_level_alone)
{
	static struct lcase cases[] = {
		LEVEL(1, "(identity, proto, port)"), LEVEL(2, "(identity, proto, any port)"),
		LEVEL(3, "(identity, any proto)"),   LEVEL(4, "(any identity, proto, port)"),
		LEVEL(5, "(any identity, proto)"),   LEVEL(6, "(any, any)"),
	};

	return cr_make_param_array(struct lcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct lcase *c, policy, each_level_alone)
{
	/* entry, covered packet, uncovered packet */
	struct {
		uint32_t id;
		uint8_t proto;
		uint16_t port;
		struct probe in, out;
	} L;
	int ok = c->deny ? TC_ACT_SHOT : TC_ACT_OK, other = c->deny ? TC_ACT_OK : TC_ACT_SHOT;
	int why = c->deny ? SL_DROP_POLICY_DENY : SL_DROP_POLICY;

	memset(&L, 0, sizeof(L));
	switch (c->level) {
	case 1:
		L.id = ID_A, L.proto = IPPROTO_TCP, L.port = 80;
		L.in = (struct probe){ IN, PEER_A, IPPROTO_TCP, 40000, 80, ok, why, ID_A };
		L.out = (struct probe){ IN, PEER_A, IPPROTO_TCP, 40000, 81, other, SL_DROP_POLICY, ID_A };
		break;
	case 2:
		L.id = ID_A, L.proto = IPPROTO_TCP, L.port = 0;
		L.in = (struct probe){ IN, PEER_A, IPPROTO_TCP, 40000, 8443, ok, why, ID_A };
		L.out = (struct probe){ IN, PEER_A, IPPROTO_UDP, 40000, 8443, other, SL_DROP_POLICY, ID_A };
		break;
	case 3:
		L.id = ID_A, L.proto = 0, L.port = 0;
		L.in = (struct probe){ IN, PEER_A, IPPROTO_UDP, 40000, 53, ok, why, ID_A };
		L.out = (struct probe){ IN, PEER_C, IPPROTO_UDP, 40000, 53, other, SL_DROP_POLICY, ID_C };
		break;
	case 4:
		L.id = 0, L.proto = IPPROTO_TCP, L.port = 80;
		L.in = (struct probe){ IN, PEER_C, IPPROTO_TCP, 40000, 80, ok, why, ID_C };
		L.out = (struct probe){ IN, PEER_C, IPPROTO_TCP, 40000, 81, other, SL_DROP_POLICY, ID_C };
		break;
	case 5:
		L.id = 0, L.proto = IPPROTO_UDP, L.port = 0;
		L.in = (struct probe){ IN, PEER_WORLD, IPPROTO_UDP, 40000, 9999, ok, why, SL_ID_WORLD };
		L.out = (struct probe){ IN, PEER_WORLD, IPPROTO_TCP, 40000, 9999, other, SL_DROP_POLICY, SL_ID_WORLD };
		break;
	case 6:
		L.id = 0, L.proto = 0, L.port = 0;
		L.in = (struct probe){ IN, PEER_WORLD, ICMPX, ECHO_ID, 0, ok, why, SL_ID_WORLD };
		L.out = (struct probe){ EG, PEER_WORLD, ICMPX, ECHO_ID + 1, 0, other, SL_DROP_POLICY, SL_ID_WORLD };
		break;
	default:
		cr_assert_fail("no level %d", c->level);
	}
	seed_topology(c->deny ? 0 : ENF_IN | ENF_EG);
	seed_policy(&dp, EP_B, IN, L.id, L.proto, L.port, c->deny, 0);
	expect_probe(c->name, c->fam, &L.in);
	{
		char n[160];
		uint8_t flags = c->deny ? 0 : ENF_IN | ENF_EG;
		struct probe again = L.in;

		snprintf(n, sizeof(n), "%s, uncovered packet", c->name);
		expect_probe(n, c->fam, &L.out);

		/* B's level mask (abi.h) saying entries are at this level only:
		 * the same verdict for a fresh flow. */
		seed_endpoint_levels(&dp, dp.if_b, ID_B, EP_B, flags, SL_POLICY_LEVELS_KNOWN | SL_POLICY_LEVEL(c->level),
				     0);
		/* (fresh ids too: the uncovered echo above went the other way
		 * with ECHO_ID + 1, and its entry would take the echo for a reply) */
		again.sport += 100;
		snprintf(n, sizeof(n), "%s, mask naming the level", c->name);
		expect_probe(n, c->fam, &again);

		/* The mask saying every level but this one: the entry is skipped. */
		seed_endpoint_levels(&dp, dp.if_b, ID_B, EP_B, flags,
				     (uint8_t)(SL_POLICY_LEVELS_KNOWN | (0x3f & ~SL_POLICY_LEVEL(c->level))), 0);
		again.sport += 100;
		again.verdict = c->deny ? TC_ACT_OK : TC_ACT_SHOT;
		again.reason = SL_DROP_POLICY;
		snprintf(n, sizeof(n), "%s, mask without the level", c->name);
		expect_probe(n, c->fam, &again);
	}
}

/* ---- the matrix ---- */

struct rule {
	bool on, deny;
	bool other_dir; /* the entry is for the other direction */
	bool other_ep;	/* the entry is endpoint A's */
	uint32_t id;
	uint8_t proto; /* may be ICMPX */
	uint16_t port;
};

struct pcase {
	char name[112];
	int fam;
	uint8_t flags_b; /* B's enforcement */
	struct rule r[3];
	struct probe p;
};

#define ALLOW(i, pr, po) { .on = true, .id = (i), .proto = (pr), .port = (po) }
#define DENY(i, pr, po) { .on = true, .deny = true, .id = (i), .proto = (pr), .port = (po) }
#define ALLOW_OTHER_DIR(i, pr, po) { .on = true, .other_dir = true, .id = (i), .proto = (pr), .port = (po) }
#define ALLOW_OTHER_EP(i, pr, po) { .on = true, .other_ep = true, .id = (i), .proto = (pr), .port = (po) }
#define PASS(dir, peer, proto, dport, id) { dir, peer, proto, 40000, dport, TC_ACT_OK, 0, id }
#define DROP(dir, peer, proto, dport, why, id) { dir, peer, proto, 40000, dport, TC_ACT_SHOT, why, id }
#define ECHO_PASS(dir, peer, id) { dir, peer, ICMPX, ECHO_ID, 0, TC_ACT_OK, 0, id }
#define ECHO_DROP(dir, peer, why, id) { dir, peer, ICMPX, ECHO_ID, 0, TC_ACT_SHOT, why, id }
#define BOTH(nm, ...) { .name = nm " [IPv4]", .fam = 4, __VA_ARGS__ }, { .name = nm " [IPv6]", .fam = 6, __VA_ARGS__ }

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define POL SL_DROP_POLICY
#define DNY SL_DROP_POLICY_DENY

ParameterizedTestParameters(policy, matrix)
{
	static struct pcase cases[] = {
		/* by identity */
		BOTH("allow by identity (L3 rule)", .flags_b = ENF_IN, .r = { ALLOW(ID_A, 0, 0) },
		     .p = PASS(IN, PEER_A, TCP, 80, ID_A)),
		BOTH("an identity no rule names is dropped", .flags_b = ENF_IN, .r = { ALLOW(ID_C, 0, 0) },
		     .p = DROP(IN, PEER_A, TCP, 80, POL, ID_A)),
		BOTH("deny by identity, ingress not enforced", .flags_b = 0, .r = { DENY(ID_A, 0, 0) },
		     .p = DROP(IN, PEER_A, TCP, 80, DNY, ID_A)),
		BOTH("a deny by identity spares other identities", .flags_b = 0, .r = { DENY(ID_C, 0, 0) },
		     .p = PASS(IN, PEER_A, TCP, 80, ID_A)),
		/* by port */
		BOTH("allow by port", .flags_b = ENF_IN, .r = { ALLOW(ID_A, TCP, 80) },
		     .p = PASS(IN, PEER_A, TCP, 80, ID_A)),
		BOTH("another port is dropped", .flags_b = ENF_IN, .r = { ALLOW(ID_A, TCP, 80) },
		     .p = DROP(IN, PEER_A, TCP, 443, POL, ID_A)),
		BOTH("deny by port, not enforced", .flags_b = 0, .r = { DENY(0, TCP, 22) },
		     .p = DROP(IN, PEER_A, TCP, 22, DNY, ID_A)),
		BOTH("a deny by port spares other ports", .flags_b = 0, .r = { DENY(0, TCP, 22) },
		     .p = PASS(IN, PEER_A, TCP, 80, ID_A)),
		/* by protocol */
		BOTH("allow by protocol (UDP, any port)", .flags_b = ENF_IN, .r = { ALLOW(ID_A, UDP, 0) },
		     .p = PASS(IN, PEER_A, UDP, 5353, ID_A)),
		BOTH("a protocol rule does not cover another protocol", .flags_b = ENF_IN, .r = { ALLOW(ID_A, UDP, 0) },
		     .p = DROP(IN, PEER_A, TCP, 5353, POL, ID_A)),
		BOTH("a port rule is per protocol (TCP 53 rule, UDP 53 packet)", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, TCP, 53) }, .p = DROP(IN, PEER_A, UDP, 53, POL, ID_A)),
		BOTH("deny by protocol, not enforced", .flags_b = 0, .r = { DENY(ID_A, UDP, 0) },
		     .p = DROP(IN, PEER_A, UDP, 53, DNY, ID_A)),
		/* deny precedence across levels */
		BOTH("deny at level 6 beats an exact allow", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, TCP, 80), DENY(0, 0, 0) }, .p = DROP(IN, PEER_A, TCP, 80, DNY, ID_A)),
		BOTH("deny at level 3 beats an allow at level 1", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, TCP, 80), DENY(ID_A, 0, 0) }, .p = DROP(IN, PEER_A, TCP, 80, DNY, ID_A)),
		BOTH("deny at level 5 beats an allow at level 2", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, TCP, 0), DENY(0, TCP, 0) }, .p = DROP(IN, PEER_A, TCP, 80, DNY, ID_A)),
		BOTH("deny at level 1 beats an allow at level 6", .flags_b = ENF_IN,
		     .r = { ALLOW(0, 0, 0), DENY(ID_A, TCP, 80) }, .p = DROP(IN, PEER_A, TCP, 80, DNY, ID_A)),
		BOTH("deny at level 4 beats an allow at level 3", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, 0, 0), DENY(0, TCP, 80) }, .p = DROP(IN, PEER_A, TCP, 80, DNY, ID_A)),
		BOTH("a deny of one port leaves the broader allow for the others", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, 0, 0), DENY(ID_A, TCP, 80) }, .p = PASS(IN, PEER_A, TCP, 81, ID_A)),
		/* enforcement per direction */
		BOTH("ingress not enforced, no rule: passes", .flags_b = 0, .p = PASS(IN, PEER_A, TCP, 80, ID_A)),
		BOTH("ingress enforced, no rule: dropped", .flags_b = ENF_IN, .p = DROP(IN, PEER_A, TCP, 80, POL, ID_A)),
		BOTH("egress enforced only: ingress passes", .flags_b = ENF_EG, .p = PASS(IN, PEER_A, TCP, 80, ID_A)),
		BOTH("egress enforced, no rule: dropped", .flags_b = ENF_EG, .p = DROP(EG, PEER_A, TCP, 80, POL, ID_A)),
		BOTH("ingress enforced only: egress passes", .flags_b = ENF_IN, .p = PASS(EG, PEER_A, TCP, 80, ID_A)),
		BOTH("egress enforced, allowed by an egress rule", .flags_b = ENF_EG, .r = { ALLOW(ID_A, TCP, 80) },
		     .p = PASS(EG, PEER_A, TCP, 80, ID_A)),
		BOTH("an egress rule does not allow ingress", .flags_b = ENF_IN | ENF_EG,
		     .r = { ALLOW_OTHER_DIR(ID_A, TCP, 80) }, .p = DROP(IN, PEER_A, TCP, 80, POL, ID_A)),
		BOTH("another endpoint's rule does not apply", .flags_b = ENF_IN, .r = { ALLOW_OTHER_EP(ID_A, TCP, 80) },
		     .p = DROP(IN, PEER_A, TCP, 80, POL, ID_A)),
		BOTH("egress deny applies when egress is not enforced", .flags_b = ENF_IN, .r = { DENY(ID_A, TCP, 80) },
		     .p = DROP(EG, PEER_A, TCP, 80, DNY, ID_A)),
		/* unknown peers are world */
		BOTH("an unknown source is world (2): allowed by a world rule", .flags_b = ENF_IN,
		     .r = { ALLOW(SL_ID_WORLD, TCP, 80) }, .p = PASS(IN, PEER_WORLD, TCP, 80, SL_ID_WORLD)),
		BOTH("a world rule does not allow a known identity", .flags_b = ENF_IN,
		     .r = { ALLOW(SL_ID_WORLD, TCP, 80) }, .p = DROP(IN, PEER_A, TCP, 80, POL, ID_A)),
		BOTH("an unknown source is denied by a world deny", .flags_b = 0, .r = { DENY(SL_ID_WORLD, 0, 0) },
		     .p = DROP(IN, PEER_WORLD, UDP, 53, DNY, SL_ID_WORLD)),
		BOTH("an unknown destination is world (egress)", .flags_b = ENF_EG,
		     .r = { ALLOW(SL_ID_WORLD, UDP, 53) }, .p = PASS(EG, PEER_WORLD, UDP, 53, SL_ID_WORLD)),
		/* prefix identities from the ipcache's LPM */
		BOTH("a host inside an ipcache prefix has the prefix's identity", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_PFX, 0, 0) }, .p = PASS(IN, PEER_PFX_IN, TCP, 80, ID_PFX)),
		BOTH("a host just outside the prefix is world", .flags_b = ENF_IN, .r = { ALLOW(ID_PFX, 0, 0) },
		     .p = DROP(IN, PEER_PFX_OUT, TCP, 80, POL, SL_ID_WORLD)),
		BOTH("a longer entry inside the prefix wins (longest prefix)", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_PFX, 0, 0) }, .p = DROP(IN, PEER_PFX_HOST, TCP, 80, POL, ID_PFX_HOST)),
		BOTH("egress to a prefix identity on a port", .flags_b = ENF_EG, .r = { ALLOW(ID_PFX, TCP, 443) },
		     .p = PASS(EG, PEER_PFX_IN, TCP, 443, ID_PFX)),
		/* ICMP: L3-only rules, never port rules */
		BOTH("ICMP echo allowed by an L3 rule for ICMP (port 0)", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, ICMPX, 0) }, .p = ECHO_PASS(IN, PEER_A, ID_A)),
		BOTH("ICMP echo not allowed by an ICMP rule with a port (= its id)", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, ICMPX, ECHO_ID) }, .p = ECHO_DROP(IN, PEER_A, POL, ID_A)),
		BOTH("ICMP echo not allowed by a TCP port rule", .flags_b = ENF_IN, .r = { ALLOW(ID_A, TCP, 80) },
		     .p = ECHO_DROP(IN, PEER_A, POL, ID_A)),
		BOTH("ICMP echo denied by an ICMP deny, not enforced", .flags_b = 0, .r = { DENY(0, ICMPX, 0) },
		     .p = ECHO_DROP(IN, PEER_A, DNY, ID_A)),
		BOTH("ICMP echo egress allowed by an L3 rule for ICMP", .flags_b = ENF_EG,
		     .r = { ALLOW(ID_C, ICMPX, 0) }, .p = ECHO_PASS(EG, PEER_C, ID_C)),
		/* ICMP by type (icmps): the type stands as the port */
		BOTH("ICMP echo request allowed by its type", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, ICMPX, TYPE_ECHO_REQ) }, .p = ECHO_PASS(IN, PEER_A, ID_A)),
		BOTH("ICMP echo request allowed by its type for any peer", .flags_b = ENF_IN,
		     .r = { ALLOW(0, ICMPX, TYPE_ECHO_REQ) }, .p = ECHO_PASS(IN, PEER_WORLD, SL_ID_WORLD)),
		BOTH("ICMP echo request egress allowed by its type", .flags_b = ENF_EG,
		     .r = { ALLOW(ID_C, ICMPX, TYPE_ECHO_REQ) }, .p = ECHO_PASS(EG, PEER_C, ID_C)),
		BOTH("the echo reply type does not allow an echo request", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, ICMPX, TYPE_ECHO_REP) }, .p = ECHO_DROP(IN, PEER_A, POL, ID_A)),
		BOTH("an echo reply (no request tracked) allowed by its type", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, ICMPX, TYPE_ECHO_REP) }, .p = PASS(IN, PEER_A, ICMPX, 1, ID_A)),
		BOTH("the echo request type does not allow an echo reply", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, ICMPX, TYPE_ECHO_REQ) }, .p = DROP(IN, PEER_A, ICMPX, 1, POL, ID_A)),
		BOTH("ICMP echo request denied by its type, not enforced", .flags_b = 0,
		     .r = { DENY(0, ICMPX, TYPE_ECHO_REQ) }, .p = ECHO_DROP(IN, PEER_A, DNY, ID_A)),
		BOTH("a deny of the echo reply type spares echo requests", .flags_b = ENF_IN,
		     .r = { ALLOW(ID_A, 0, 0), DENY(ID_A, ICMPX, TYPE_ECHO_REP) }, .p = ECHO_PASS(IN, PEER_A, ID_A)),
	};

	return cr_make_param_array(struct pcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pcase *c, policy, matrix)
{
	seed_topology(c->flags_b);
	for (int i = 0; i < 3; i++) {
		const struct rule *r = &c->r[i];
		uint8_t dir = r->other_dir ? (c->p.dir == IN ? EG : IN) : c->p.dir;

		if (!r->on)
			continue;
		seed_policy(&dp, r->other_ep ? EP_A : EP_B, dir, r->id, real_proto(r->proto, c->fam),
			    real_port(r->port, c->fam), r->deny, 0);
	}
	expect_probe(c->name, c->fam, &c->p);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services, packet by packet: DNAT of new flows and reverse translation of
 * replies with the output bytes compared to packets built from scratch (so
 * both checksums are right by construction, and verified again), backend
 * stickiness across slot-table changes, a new backend once the old one is
 * gone, terminating backends, the weighted spread over many flows, empty
 * services and slots naming no backend, UDP without checksum, ICMP errors
 * about service flows translated both ways. IPv4 and IPv6, TCP and UDP.
 *
 * Client A (10.1.0.1 / fd00::1) on dpa; frontend 10.96.0.10:80 /
 * [fd00:96::10]:80; backend X = B:8080 (id 100), Y = C:8080 (id 200).
 */
#include <arpa/inet.h>
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

TestSuite(services, .init = setup, .fini = teardown);

#define SVC 7
#define X 100
#define Y 200
#define FE_PORT 80
#define BE_PORT 8080

static const char *fe(int fam)
{
	return fam == 6 ? "fd00:96::10" : "10.96.0.10";
}

/* A service with one slot naming X; Y known but in no slot. */
static void one_service(int fam, uint8_t proto)
{
	seed_pair(&dp, 0, 0);
	seed_service(&dp, fe(fam), FE_PORT, proto, SVC, 1);
	seed_slot(&dp, SVC, 0, X);
	seed_backend(&dp, X, ip_b(fam), BE_PORT, false);
	seed_backend(&dp, Y, ip_c(fam), BE_PORT, false);
}

/* A packet from A to the frontend, through from-endpoint on dpa: the
 * verdict, and where it went (out parsed). */
static int to_frontend(int fam, uint8_t proto, uint16_t sport, uint8_t tcp_flags, struct parsed *o)
{
	struct flow f = { ip_a(fam), fe(fam), sport, FE_PORT, proto, tcp_flags };
	struct packet p, out;
	int v;

	build(&p, &f, "hello", 5);
	v = run_from(&dp, dp.if_a, &p, &out, NULL);
	if (o)
		parse(&out, o);
	return v;
}

struct scase {
	char name[96];
	int fam;
	uint8_t proto;
};

#define FOUR(what)                                                                            \
	{ what " TCP [IPv4]", 4, IPPROTO_TCP }, { what " UDP [IPv4]", 4, IPPROTO_UDP },       \
	{ what " TCP [IPv6]", 6, IPPROTO_TCP }, { what " UDP [IPv6]", 6, IPPROTO_UDP }

/* ---- DNAT and reverse translation ---- */

ParameterizedTestParameters(services, dnat_new_flow)
{
	static struct scase cases[] = { FOUR("DNAT of a new flow") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct scase *c, services, dnat_new_flow)
{
	uint8_t syn = c->proto == IPPROTO_TCP ? TCP_SYN : 0;
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, syn };
	struct flow want = { ip_a(c->fam), ip_b(c->fam), 40000, BE_PORT, c->proto, syn };
	struct flow be_flow = want;
	struct packet p, out, exp;
	struct parsed o;
	struct sl_ct_value ct;
	uint8_t fe_addr[16];

	one_service(c->fam, c->proto);
	build(&p, &f, "hello", 5);
	build(&exp, &want, "hello", 5);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK, "%s: verdict", c->name);
	parse(&out, &o);
	cr_expect_str_eq(o.dst, ip_b(c->fam), "%s: destination is the backend (%s)", c->name, o.dst);
	cr_expect_eq(o.dport, BE_PORT, "%s: destination port is the backend's (%u)", c->name, o.dport);
	cr_expect_str_eq(o.src, ip_a(c->fam), "%s: source unchanged", c->name);
	cr_expect_eq(o.sport, 40000, "%s: source port unchanged", c->name);
	cr_expect(o.l3_csum_ok, "%s: IPv4 header checksum valid", c->name);
	cr_expect(o.l4_csum_ok, "%s: L4 checksum valid", c->name);
	cr_expect_eq(out.len, exp.len, "%s: length", c->name);
	cr_expect_arr_eq(out.b, exp.b, exp.len, "%s: bytes equal a packet built to the backend", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_DNAT), 1, "%s: DNAT counted", c->name);

	cr_expect(ct_get(&dp, &f, SL_CT_SERVICE, &ct), "%s: service entry for the client's tuple", c->name);
	cr_expect_eq(ct.backend_id, X, "%s: pins backend %u", c->name, ct.backend_id);
	cr_expect(ct_get(&dp, &be_flow, SL_CT_EGRESS, &ct), "%s: egress entry for the translated tuple", c->name);
	addr_bytes(fe(c->fam), fe_addr);
	cr_expect(ct.flags & SL_CT_REV_NAT, "%s: replies get translated back", c->name);
	cr_expect_arr_eq(ct.nat_addr, fe_addr, c->fam == 6 ? 16 : 4, "%s: to the frontend address", c->name);
	cr_expect_eq(ct.nat_port, htons(FE_PORT), "%s: and port", c->name);
}

ParameterizedTestParameters(services, reverse_translation)
{
	static struct scase cases[] = { FOUR("reverse translation of a reply") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

/* The whole walk: A -> frontend (DNAT at A's egress), to B, B's reply
 * leaves B untouched and reaches A from the frontend. */
ParameterizedTest(struct scase *c, services, reverse_translation)
{
	bool tcp = c->proto == IPPROTO_TCP;
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, tcp ? TCP_SYN : 0 };
	struct flow r = { ip_b(c->fam), ip_a(c->fam), BE_PORT, 40000, c->proto, tcp ? TCP_SYN | TCP_ACK : 0 };
	struct flow want = { fe(c->fam), ip_a(c->fam), FE_PORT, 40000, c->proto, tcp ? TCP_SYN | TCP_ACK : 0 };
	struct packet p, out, reply, mid, back, exp;
	struct parsed o;

	one_service(c->fam, c->proto);
	build(&p, &f, "hello", 5);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK, "%s: request leaves A", c->name);
	cr_assert_eq(run_to(&dp, dp.if_b, &out, NULL, NULL), TC_ACT_OK, "%s: request reaches B", c->name);

	build(&reply, &r, "world!", 6);
	cr_expect_eq(run_from(&dp, dp.if_b, &reply, &mid, NULL), TC_ACT_OK, "%s: reply leaves B", c->name);
	cr_expect_arr_eq(mid.b, reply.b, reply.len, "%s: B's egress does not translate", c->name);
	cr_assert_eq(run_to(&dp, dp.if_a, &reply, &back, NULL), TC_ACT_OK, "%s: reply reaches A", c->name);
	parse(&back, &o);
	cr_expect_str_eq(o.src, fe(c->fam), "%s: source is the frontend (%s)", c->name, o.src);
	cr_expect_eq(o.sport, FE_PORT, "%s: source port is the frontend's (%u)", c->name, o.sport);
	cr_expect_str_eq(o.dst, ip_a(c->fam), "%s: destination unchanged", c->name);
	cr_expect_eq(o.dport, 40000, "%s: destination port unchanged", c->name);
	cr_expect(o.l3_csum_ok, "%s: IPv4 header checksum valid", c->name);
	cr_expect(o.l4_csum_ok, "%s: L4 checksum valid", c->name);
	build(&exp, &want, "world!", 6);
	cr_expect_eq(back.len, exp.len, "%s: length", c->name);
	cr_expect_arr_eq(back.b, exp.b, exp.len, "%s: bytes equal a packet built from the frontend", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_REV_NAT), 1, "%s: REV_NAT counted", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_REPLY), 2, "%s: a reply at B's egress and A's ingress", c->name);
}

/* ---- ICMP errors about service flows ---- */

struct icase {
	char name[112];
	int fam;
	uint8_t proto;
	bool from_backend; /* else from a router on the way */
	bool short_quote;  /* the quote ends 8 bytes into L4: no TCP checksum */
	bool too_big;	   /* "fragmentation needed" / "packet too big", MTU 1400 */
};

#define ICASES(what, from_backend, short_quote, too_big)                                                         \
	{ what " TCP [IPv4]", 4, IPPROTO_TCP, from_backend, short_quote, too_big },                             \
		{ what " UDP [IPv4]", 4, IPPROTO_UDP, from_backend, short_quote, too_big },                     \
		{ what " TCP [IPv6]", 6, IPPROTO_TCP, from_backend, short_quote, too_big },                     \
	{                                                                                                        \
		what " UDP [IPv6]", 6, IPPROTO_UDP, from_backend, short_quote, too_big                          \
	}

ParameterizedTestParameters(services, icmp_error_to_client)
{
	static struct icase cases[] = {
		ICASES("error from the backend", true, false, false),
		ICASES("error from a router", false, false, false),
		ICASES("error from the backend, 8-byte quote", true, true, false),
		ICASES("too big, from a router", false, false, true),
	};

	return cr_make_param_array(struct icase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A's flow to the frontend went to B; an ICMP error about it (from B, or
 * from a router between: a port unreachable, or the "too big" of path MTU
 * discovery) reaches A. A's socket knows the flow by the
 * frontend, so the error must be about A's packet as A sent it: the bytes
 * must equal an error built from scratch about that packet, from the
 * frontend when B sent it (a router's address stays). Every checksum is
 * right by construction, and checked again.
 */
ParameterizedTest(struct icase *c, services, icmp_error_to_client)
{
	bool tcp = c->proto == IPPROTO_TCP;
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, tcp ? TCP_SYN : 0 };
	const char *router = c->fam == 6 ? "fd00::99" : "10.1.0.99";
	struct packet p, out, err, mid, back, exp;
	struct parsed o;

	one_service(c->fam, c->proto);
	build(&p, &f, "hello", 5);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK, "%s: request leaves A", c->name);
	cr_assert_eq(run_to(&dp, dp.if_b, &out, NULL, NULL), TC_ACT_OK, "%s: request reaches B", c->name);
	if (c->short_quote)
		p.len = out.len = 14 + (c->fam == 6 ? 40 : 20) + 8;

	if (c->too_big)
		build_icmp_error_typed(&err, router, ip_a(c->fam), &out, c->fam == 6 ? 2 : 3, c->fam == 6 ? 0 : 4,
				       1400);
	else
		build_icmp_error(&err, c->from_backend ? ip_b(c->fam) : router, ip_a(c->fam), &out);
	if (c->from_backend) {
		cr_expect_eq(run_from(&dp, dp.if_b, &err, &mid, NULL), TC_ACT_OK, "%s: the error leaves B", c->name);
		cr_expect_arr_eq(mid.b, err.b, err.len, "%s: B's egress leaves it as it is", c->name);
	}
	cr_assert_eq(run_to(&dp, dp.if_a, &err, &back, NULL), TC_ACT_OK, "%s: the error reaches A", c->name);
	if (c->too_big)
		build_icmp_error_typed(&exp, router, ip_a(c->fam), &p, c->fam == 6 ? 2 : 3, c->fam == 6 ? 0 : 4, 1400);
	else
		build_icmp_error(&exp, c->from_backend ? fe(c->fam) : router, ip_a(c->fam), &p);
	parse(&back, &o);
	cr_expect(o.l3_csum_ok, "%s: IPv4 header checksum valid", c->name);
	cr_expect(o.l4_csum_ok, "%s: ICMP checksum valid", c->name);
	cr_expect_eq(back.len, exp.len, "%s: length", c->name);
	cr_expect_arr_eq(back.b, exp.b, exp.len, "%s: bytes equal an error built about the packet A sent, from %s",
			 c->name, c->from_backend ? "the frontend" : "the router");
	cr_expect_eq(metric_count(&dp, SL_METRIC_REV_NAT), 1, "%s: REV_NAT counted", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_RELATED), c->from_backend ? 2 : 1, "%s: RELATED counted", c->name);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
}

ParameterizedTestParameters(services, icmp_error_from_client)
{
	static struct scase cases[] = { FOUR("error about a reply goes to the backend") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * The other way: B's reply reached A from the frontend, and A answers it
 * with an error (its socket is gone). The error must reach B about B's
 * reply as B sent it, from A: byte for byte an error built from scratch.
 */
ParameterizedTest(struct scase *c, services, icmp_error_from_client)
{
	bool tcp = c->proto == IPPROTO_TCP;
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, tcp ? TCP_SYN : 0 };
	struct flow r = { ip_b(c->fam), ip_a(c->fam), BE_PORT, 40000, c->proto, tcp ? TCP_SYN | TCP_ACK : 0 };
	struct packet p, out, reply, back, err, fwd, exp;
	struct parsed o;

	one_service(c->fam, c->proto);
	seed_pair(&dp, SL_EP_ENFORCE_EGRESS | SL_EP_ENFORCE_INGRESS, SL_EP_ENFORCE_INGRESS);
	seed_policy(&dp, EP_A, SL_DIR_EGRESS, ID_B, c->proto, BE_PORT, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, c->proto, BE_PORT, false, 0);
	build(&p, &f, "hello", 5);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK, "%s: request leaves A", c->name);
	cr_assert_eq(run_to(&dp, dp.if_b, &out, NULL, NULL), TC_ACT_OK, "%s: request reaches B", c->name);
	build(&reply, &r, "world!", 6);
	cr_assert_eq(run_from(&dp, dp.if_b, &reply, NULL, NULL), TC_ACT_OK, "%s: reply leaves B", c->name);
	cr_assert_eq(run_to(&dp, dp.if_a, &reply, &back, NULL), TC_ACT_OK, "%s: reply reaches A", c->name);

	build_icmp_error(&err, ip_a(c->fam), fe(c->fam), &back);
	cr_assert_eq(run_from(&dp, dp.if_a, &err, &fwd, NULL), TC_ACT_OK,
		     "%s: the error leaves A (egress enforced, no rule for ICMP)", c->name);
	build_icmp_error(&exp, ip_a(c->fam), ip_b(c->fam), &reply);
	parse(&fwd, &o);
	cr_expect_str_eq(o.dst, ip_b(c->fam), "%s: to the backend (%s)", c->name, o.dst);
	cr_expect(o.l3_csum_ok, "%s: IPv4 header checksum valid", c->name);
	cr_expect(o.l4_csum_ok, "%s: ICMP checksum valid", c->name);
	cr_expect_eq(fwd.len, exp.len, "%s: length", c->name);
	cr_expect_arr_eq(fwd.b, exp.b, exp.len, "%s: bytes equal an error built about B's reply as B sent it",
			 c->name);
	cr_expect_eq(run_to(&dp, dp.if_b, &fwd, NULL, NULL), TC_ACT_OK,
		     "%s: B's enforced ingress takes it as related", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_DNAT), 2, "%s: the request and the error translated", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_RELATED), 2, "%s: RELATED at A's egress and B's ingress", c->name);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
}

/* ---- stickiness ---- */

ParameterizedTestParameters(services, sticky_after_slot_change)
{
	static struct scase cases[] = { FOUR("flow keeps its backend after the slots change") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct scase *c, services, sticky_after_slot_change)
{
	bool tcp = c->proto == IPPROTO_TCP;
	struct parsed o;

	one_service(c->fam, c->proto);
	cr_assert_eq(to_frontend(c->fam, c->proto, 40000, tcp ? TCP_SYN : 0, &o), TC_ACT_OK);
	cr_assert_str_eq(o.dst, ip_b(c->fam), "%s: first packet to X", c->name);

	/* Every slot now names Y, and there are more of them. */
	seed_service(&dp, fe(c->fam), FE_PORT, c->proto, SVC, 2);
	seed_slot(&dp, SVC, 0, Y);
	seed_slot(&dp, SVC, 1, Y);

	cr_expect_eq(to_frontend(c->fam, c->proto, 40000, tcp ? TCP_ACK : 0, &o), TC_ACT_OK, "%s", c->name);
	cr_expect_str_eq(o.dst, ip_b(c->fam), "%s: the same 5-tuple still goes to X, not %s", c->name, o.dst);
	cr_expect(o.l4_csum_ok, "%s: checksum", c->name);
	cr_expect_eq(to_frontend(c->fam, c->proto, 40001, tcp ? TCP_SYN : 0, &o), TC_ACT_OK, "%s", c->name);
	cr_expect_str_eq(o.dst, ip_c(c->fam), "%s: a new flow goes to Y, not %s", c->name, o.dst);
	cr_expect_eq(metric_count(&dp, SL_METRIC_DNAT), 3, "%s: three translations", c->name);
}

ParameterizedTestParameters(services, new_backend_once_deleted)
{
	static struct scase cases[] = { FOUR("flow gets a new backend once its own is deleted") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct scase *c, services, new_backend_once_deleted)
{
	bool tcp = c->proto == IPPROTO_TCP;
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, 0 };
	struct sl_ct_value ct;
	struct parsed o;

	one_service(c->fam, c->proto);
	cr_assert_eq(to_frontend(c->fam, c->proto, 40000, tcp ? TCP_SYN : 0, &o), TC_ACT_OK);
	cr_assert_str_eq(o.dst, ip_b(c->fam), "%s: first packet to X", c->name);
	seed_slot(&dp, SVC, 0, Y);
	delete_backend(&dp, X);

	cr_expect_eq(to_frontend(c->fam, c->proto, 40000, tcp ? TCP_ACK : 0, &o), TC_ACT_OK, "%s: verdict",
		     c->name);
	cr_expect_str_eq(o.dst, ip_c(c->fam), "%s: the flow moved to Y (went to %s)", c->name, o.dst);
	cr_expect(o.l4_csum_ok, "%s: checksum", c->name);
	cr_expect(ct_get(&dp, &f, SL_CT_SERVICE, &ct), "%s: service entry", c->name);
	cr_expect_eq(ct.backend_id, Y, "%s: now pins Y (%u)", c->name, ct.backend_id);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
}

/* ---- terminating backends ---- */

struct tcase {
	char name[96];
	int fam;
	bool other_active; /* Y takes the slot; else no active backend at all */
};

ParameterizedTestParameters(services, terminating_backend)
{
	static struct tcase cases[] = {
		{ "terminating X keeps its flow, new flows go to Y [IPv4]", 4, true },
		{ "terminating X keeps its flow, new flows go to Y [IPv6]", 6, true },
		{ "all terminating: X keeps its flow, new flows refused [IPv4]", 4, false },
		{ "all terminating: X keeps its flow, new flows refused [IPv6]", 6, false },
	};

	return cr_make_param_array(struct tcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct tcase *c, services, terminating_backend)
{
	struct parsed o;
	int v;

	one_service(c->fam, IPPROTO_TCP);
	cr_assert_eq(to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_SYN, &o), TC_ACT_OK);
	cr_assert_str_eq(o.dst, ip_b(c->fam), "%s: established on X", c->name);

	/* What user space writes when X terminates: flagged, in no slot. */
	seed_backend(&dp, X, ip_b(c->fam), BE_PORT, true);
	if (c->other_active) {
		seed_slot(&dp, SVC, 0, Y);
	} else {
		delete_slot(&dp, SVC, 0);
		seed_service(&dp, fe(c->fam), FE_PORT, IPPROTO_TCP, SVC, 0);
	}

	cr_expect_eq(to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_ACK, &o), TC_ACT_OK, "%s: established flow passes",
		     c->name);
	cr_expect_str_eq(o.dst, ip_b(c->fam), "%s: and stays on X (went to %s)", c->name, o.dst);
	v = to_frontend(c->fam, IPPROTO_TCP, 40001, TCP_SYN, &o);
	if (c->other_active) {
		cr_expect_eq(v, TC_ACT_OK, "%s: new flow passes", c->name);
		cr_expect_str_eq(o.dst, ip_c(c->fam), "%s: new flow goes to Y (went to %s)", c->name, o.dst);
	} else {
		cr_expect_eq(v, TC_ACT_REDIRECT, "%s: new flow refused at once", c->name);
		cr_expect_eq(o.proto, IPPROTO_TCP, "%s: by a reset", c->name);
		cr_expect_eq(drops(&dp, SL_DROP_NO_BACKEND), 1, "%s: counted as NO_BACKEND", c->name);
	}
}

/* ---- weights ---- */

struct wcase {
	char name[96];
	int fam;
};

ParameterizedTestParameters(services_weights, weighted_spread)
{
	static struct wcase cases[] = {
		{ "X in 1 slot, Y in 3: Y's share of 4000 flows [IPv4]", 4 },
		{ "X in 1 slot, Y in 3: Y's share of 4000 flows [IPv6]", 6 },
	};

	return cr_make_param_array(struct wcase, cases, sizeof(cases) / sizeof(cases[0]));
}

static void setup_big_ct(void)
{
	struct dp_cfg cfg = { .ct_size = 65536 };

	dp_setup(&dp, &cfg);
}

TestSuite(services_weights, .init = setup_big_ct, .fini = teardown);

/*
 * 4000 flows (distinct source ports) over a 4-slot table, X in slot 0, Y
 * in slots 1-3. The slot is the flow hash mod 4; with a uniform hash, Y's
 * count is Binomial(4000, 0.75): standard deviation sqrt(4000 * 0.75 *
 * 0.25) / 4000 = 0.0068 of the share. The tolerance 0.04 is 5.8 standard
 * deviations, a false failure about once in 10^8 runs, while a datapath
 * that ignored the slot table's weights (0.5) or picked by something
 * constant (0 or 1) is far outside it.
 */
#define WEIGHT_FLOWS 4000
#define WEIGHT_TOLERANCE 0.04

ParameterizedTest(struct wcase *c, services_weights, weighted_spread)
{
	unsigned x = 0, y = 0, other = 0, shot = 0;
	double share;

	seed_pair(&dp, 0, 0);
	seed_service(&dp, fe(c->fam), FE_PORT, IPPROTO_TCP, SVC, 4);
	seed_slot(&dp, SVC, 0, X);
	for (uint32_t s = 1; s < 4; s++)
		seed_slot(&dp, SVC, s, Y);
	seed_backend(&dp, X, ip_b(c->fam), BE_PORT, false);
	seed_backend(&dp, Y, ip_c(c->fam), BE_PORT, false);

	for (unsigned i = 0; i < WEIGHT_FLOWS; i++) {
		struct parsed o;

		if (to_frontend(c->fam, IPPROTO_TCP, (uint16_t)(10000 + i), TCP_SYN, &o) != TC_ACT_OK) {
			shot++;
			continue;
		}
		if (!strcmp(o.dst, ip_b(c->fam)))
			x++;
		else if (!strcmp(o.dst, ip_c(c->fam)))
			y++;
		else
			other++;
	}
	cr_expect_eq(shot, 0, "%s: %u flows dropped", c->name, shot);
	cr_expect_eq(other, 0, "%s: %u flows went elsewhere", c->name, other);
	cr_expect_eq(metric_count(&dp, SL_METRIC_DNAT), WEIGHT_FLOWS, "%s: every flow translated", c->name);
	share = (double)y / WEIGHT_FLOWS;
	cr_expect(share > 0.75 - WEIGHT_TOLERANCE && share < 0.75 + WEIGHT_TOLERANCE,
		  "%s: Y got %.4f (X %u, Y %u), expected 0.75 +- %.2f", c->name, share, x, y, WEIGHT_TOLERANCE);
}

/* ---- no backend ---- */

ParameterizedTestParameters(services, empty_service)
{
	static struct scase cases[] = { FOUR("a service with no slots refuses") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct scase *c, services, empty_service)
{
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, 0 };
	struct sl_ct_value ct;
	int v;

	struct flow in = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, c->proto == IPPROTO_TCP ? TCP_SYN : 0 };
	struct packet p, out;
	struct parsed o;
	uint8_t want_fe[16] = { 0 };
	uint32_t icmp = c->fam == 4 ? 14 + 20 : 14 + 40, alen = c->fam == 4 ? 4 : 16;

	seed_pair(&dp, 0, 0);
	seed_service(&dp, fe(c->fam), FE_PORT, c->proto, SVC, 0);
	build(&p, &in, "hello", 5);
	v = run_from(&dp, dp.if_a, &p, &out, NULL);
	parse(&out, &o);
	/* Refused at once, back to the client (to the peer of the device it
	 * came in on): TCP by a reset from the frontend, UDP by an ICMP port
	 * unreachable from the frontend quoting the packet. */
	cr_expect_eq(v, TC_ACT_REDIRECT, "%s: answered, verdict %d", c->name, v);
	cr_expect_str_eq(o.src, fe(c->fam), "%s: from the frontend", c->name);
	cr_expect_str_eq(o.dst, ip_a(c->fam), "%s: to the client", c->name);
	cr_expect(o.l3_csum_ok && o.l4_csum_ok, "%s: checksums right", c->name);
	cr_expect_eq(memcmp(out.b + 0, p.b + 6, 6), 0, "%s: to the client's MAC", c->name);
	if (c->proto == IPPROTO_TCP) {
		uint32_t seq, ack;

		cr_expect_eq(o.proto, IPPROTO_TCP, "%s: a TCP segment (proto %u)", c->name, o.proto);
		cr_expect(o.sport == FE_PORT && o.dport == 40000, "%s: from the frontend's port to the client's (%u -> %u)",
			  c->name, o.sport, o.dport);
		cr_expect_eq(out.b[icmp + 13], TCP_RST | TCP_ACK, "%s: RST|ACK (flags 0x%x)", c->name, out.b[icmp + 13]);
		memcpy(&seq, p.b + icmp + 4, 4);
		memcpy(&ack, out.b + icmp + 8, 4);
		/* the test's SYN carries "hello": the SYN and its 5 bytes */
		cr_expect_eq(ntohl(ack), ntohl(seq) + 1 + 5, "%s: acknowledging the SYN and its data", c->name);
		cr_expect_eq(out.len, c->fam == 4 ? 54u : 74u, "%s: headers only", c->name);
	} else {
		cr_expect_eq(o.proto, c->fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, "%s: an ICMP error (proto %u)",
			     c->name, o.proto);
		cr_expect_eq(out.b[icmp], c->fam == 4 ? 3 : 1, "%s: destination unreachable", c->name);
		cr_expect_eq(out.b[icmp + 1], c->fam == 4 ? 3 : 4, "%s: port unreachable", c->name);
		cr_expect_eq(out.len, c->fam == 4 ? 70u : 110u, "%s: the quote is the IP header and 8 bytes", c->name);
		inet_pton(c->fam == 4 ? AF_INET : AF_INET6, fe(c->fam), want_fe);
		cr_expect_eq(memcmp(out.b + icmp + 8 + (c->fam == 4 ? 16 : 24), want_fe, alen), 0,
			     "%s: quoting the packet sent to the frontend", c->name);
	}
	cr_expect_eq(drops(&dp, SL_DROP_NO_BACKEND), 1, "%s: counted as NO_BACKEND", c->name);
	cr_expect_eq(drops_total(&dp), 1, "%s: and as nothing else", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_DNAT), 0, "%s: no translation", c->name);
	cr_expect(!ct_get(&dp, &f, SL_CT_SERVICE, &ct), "%s: no service entry", c->name);
}

struct gcase {
	char name[96];
	int fam;
	bool slot_missing; /* no slot entry at all; else a slot naming no backend */
};

ParameterizedTestParameters(services, backend_gone)
{
	static struct gcase cases[] = {
		{ "a slot naming a missing backend [IPv4]", 4, false },
		{ "a slot naming a missing backend [IPv6]", 6, false },
		{ "a slot table without the slot [IPv4]", 4, true },
		{ "a slot table without the slot [IPv6]", 6, true },
	};

	return cr_make_param_array(struct gcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct gcase *c, services, backend_gone)
{
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, IPPROTO_TCP, 0 };
	struct sl_ct_value ct;
	int v;

	seed_pair(&dp, 0, 0);
	seed_service(&dp, fe(c->fam), FE_PORT, IPPROTO_TCP, SVC, 1);
	if (!c->slot_missing)
		seed_slot(&dp, SVC, 0, 999);
	v = to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_SYN, NULL);
	cr_expect_eq(v, TC_ACT_SHOT, "%s: verdict %d", c->name, v);
	cr_expect_eq(drops(&dp, SL_DROP_BACKEND_GONE), 1, "%s: counted as BACKEND_GONE", c->name);
	cr_expect_eq(drops_total(&dp), 1, "%s: and as nothing else", c->name);
	cr_expect(!ct_get(&dp, &f, SL_CT_SERVICE, &ct), "%s: no service entry", c->name);
}

struct fcase {
	char name[96];
	int fam;
};

ParameterizedTestParameters(services, backend_of_other_family)
{
	static struct fcase cases[] = {
		{ "IPv4 frontend, IPv6 backend [IPv4]", 4 },
		{ "IPv6 frontend, IPv4 backend [IPv6]", 6 },
	};

	return cr_make_param_array(struct fcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct fcase *c, services, backend_of_other_family)
{
	int v;

	seed_pair(&dp, 0, 0);
	seed_service(&dp, fe(c->fam), FE_PORT, IPPROTO_TCP, SVC, 1);
	seed_slot(&dp, SVC, 0, X);
	seed_backend(&dp, X, ip_b(c->fam == 4 ? 6 : 4), BE_PORT, false);
	v = to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_SYN, NULL);
	cr_expect_eq(v, TC_ACT_SHOT, "%s: verdict %d", c->name, v);
	cr_expect_eq(drops(&dp, SL_DROP_FAMILY), 1, "%s: counted as FAMILY", c->name);
}

/* ---- UDP without checksum ---- */

Test(services, udp4_zero_checksum_stays_zero)
{
	struct flow f = { "10.1.0.1", "10.96.0.10", 40000, 53, IPPROTO_UDP, 0 };
	struct flow r = { "10.1.0.2", "10.1.0.1", 5353, 40000, IPPROTO_UDP, 0 };
	struct packet p, out, reply, back;
	struct parsed o;

	seed_pair(&dp, 0, 0);
	seed_service(&dp, "10.96.0.10", 53, IPPROTO_UDP, SVC, 1);
	seed_slot(&dp, SVC, 0, X);
	seed_backend(&dp, X, "10.1.0.2", 5353, false);
	build(&p, &f, "query", 5);
	p.b[34 + 6] = p.b[34 + 7] = 0; /* no checksum */
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK);
	parse(&out, &o);
	cr_expect_str_eq(o.dst, "10.1.0.2", "DNAT: destination");
	cr_expect_eq(o.dport, 5353, "DNAT: port");
	cr_expect(o.l3_csum_ok, "DNAT: IPv4 header checksum");
	cr_expect(out.b[34 + 6] == 0 && out.b[34 + 7] == 0, "DNAT: UDP checksum stays 0 (is %02x%02x)", out.b[40],
		  out.b[41]);

	build(&reply, &r, "answer", 6);
	reply.b[34 + 6] = reply.b[34 + 7] = 0;
	cr_assert_eq(run_to(&dp, dp.if_a, &reply, &back, NULL), TC_ACT_OK);
	parse(&back, &o);
	cr_expect_str_eq(o.src, "10.96.0.10", "reverse: source");
	cr_expect_eq(o.sport, 53, "reverse: port");
	cr_expect(o.l3_csum_ok, "reverse: IPv4 header checksum");
	cr_expect(back.b[34 + 6] == 0 && back.b[34 + 7] == 0, "reverse: UDP checksum stays 0 (is %02x%02x)",
		  back.b[40], back.b[41]);
}

/* ---- policy after translation ---- */

struct pcase {
	char name[96];
	int fam;
	uint16_t rule_port;
	int verdict;
};

ParameterizedTestParameters(services, egress_policy_sees_the_backend)
{
	static struct pcase cases[] = {
		{ "egress rule for the backend's identity and port allows [IPv4]", 4, BE_PORT, TC_ACT_OK },
		{ "egress rule for the backend's identity and port allows [IPv6]", 6, BE_PORT, TC_ACT_OK },
		{ "egress rule for the frontend's port does not [IPv4]", 4, FE_PORT, TC_ACT_SHOT },
		{ "egress rule for the frontend's port does not [IPv6]", 6, FE_PORT, TC_ACT_SHOT },
	};

	return cr_make_param_array(struct pcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pcase *c, services, egress_policy_sees_the_backend)
{
	struct flow be_flow = { ip_a(c->fam), ip_b(c->fam), 40000, BE_PORT, IPPROTO_TCP, 0 };
	struct sl_ct_value ct;
	int v;

	one_service(c->fam, IPPROTO_TCP);
	seed_endpoint(&dp, dp.if_a, ID_A, EP_A, SL_EP_ENFORCE_EGRESS);
	seed_policy(&dp, EP_A, SL_DIR_EGRESS, ID_B, IPPROTO_TCP, c->rule_port, false, 0);
	v = to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_SYN, NULL);
	cr_expect_eq(v, c->verdict, "%s: verdict %d", c->name, v);
	if (c->verdict == TC_ACT_OK) {
		cr_expect(ct_get(&dp, &be_flow, SL_CT_EGRESS, &ct), "%s: egress entry", c->name);
		cr_expect_eq(ct.peer_identity, ID_B, "%s: decided for the backend's identity", c->name);
	} else {
		cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1, "%s: dropped as POLICY", c->name);
	}
}

/* ---- the service entry of an established flow ---- */

struct lcase {
	char name[96];
	int fam;
};

ParameterizedTestParameters(services, established_flow_keeps_its_backend_entry)
{
	static struct lcase cases[] = {
		{ "service entry of an established TCP flow lives as long as the flow [IPv4]", 4 },
		{ "service entry of an established TCP flow lives as long as the flow [IPv6]", 6 },
	};

	return cr_make_param_array(struct lcase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * "A flow stays on its backend for its life" (state-format.md). Once the
 * handshake is through, the flow's egress entry lives SL_CT_LIFETIME_TCP
 * (6 h) between packets; the service entry that pins its backend must live
 * as long, or an idle established connection is handed a new backend
 * after SL_CT_LIFETIME_TCP_SYN (60 s) whenever the slots changed meanwhile
 * (and a terminating backend loses the flows it should keep).
 */
ParameterizedTest(struct lcase *c, services, established_flow_keeps_its_backend_entry)
{
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, IPPROTO_TCP, 0 };
	struct flow be_flow = { ip_a(c->fam), ip_b(c->fam), 40000, BE_PORT, IPPROTO_TCP, 0 };
	struct flow r = { ip_b(c->fam), ip_a(c->fam), BE_PORT, 40000, IPPROTO_TCP, TCP_SYN | TCP_ACK };
	struct packet reply;
	struct sl_ct_value svc, eg;
	double svc_left, eg_left;

	one_service(c->fam, IPPROTO_TCP);
	cr_assert_eq(to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_SYN, NULL), TC_ACT_OK);
	build(&reply, &r, NULL, 0);
	cr_assert_eq(run_to(&dp, dp.if_a, &reply, NULL, NULL), TC_ACT_OK);
	cr_assert_eq(to_frontend(c->fam, IPPROTO_TCP, 40000, TCP_ACK, NULL), TC_ACT_OK);

	cr_assert(ct_get(&dp, &f, SL_CT_SERVICE, &svc), "%s: service entry", c->name);
	cr_assert(ct_get(&dp, &be_flow, SL_CT_EGRESS, &eg), "%s: egress entry", c->name);
	svc_left = ct_remaining_s(&dp, &svc);
	eg_left = ct_remaining_s(&dp, &eg);
	cr_expect_gt(eg_left, SL_CT_LIFETIME_TCP_SYN, "%s: the egress entry is established (%.0f s)", c->name,
		     eg_left);
	cr_expect_gt(svc_left, SL_CT_LIFETIME_TCP_SYN,
		     "%s: the service entry has %.0f s left while the flow's egress entry has %.0f s", c->name,
		     svc_left, eg_left);
}

/* ---- hairpin: an endpoint through a service to itself ---- */

ParameterizedTestParameters(services, hairpin)
{
	static struct scase cases[] = { FOUR("hairpin") };

	return cr_make_param_array(struct scase, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A's flow to the frontend whose backend is A itself: from the hairpin
 * address, straight back into A (a redirect, the Ethernet addresses
 * swapped); A's reply to the hairpin address: from the frontend, to A,
 * back into A. The later packets of the flow take the same way. */
ParameterizedTest(struct scase *c, services, hairpin)
{
	bool tcp = c->proto == IPPROTO_TCP;
	const char *hp = c->fam == 6 ? "100::42:1" : "169.254.42.1";
	struct flow f = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, tcp ? TCP_SYN : 0 };
	struct flow r = { ip_a(c->fam), hp, BE_PORT, 40000, c->proto, tcp ? TCP_SYN | TCP_ACK : 0 };
	struct flow f2 = { ip_a(c->fam), fe(c->fam), 40000, FE_PORT, c->proto, tcp ? TCP_ACK : 0 };
	struct packet p, out;
	struct parsed o;

	seed_pair(&dp, 0, 0);
	seed_service(&dp, fe(c->fam), FE_PORT, c->proto, SVC, 1);
	seed_slot(&dp, SVC, 0, X);
	seed_backend(&dp, X, ip_a(c->fam), BE_PORT, false);

	build(&p, &f, "hello", 5);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_REDIRECT, "%s: back into A", c->name);
	parse(&out, &o);
	cr_expect_str_eq(o.src, hp, "%s: from the hairpin address (%s)", c->name, o.src);
	cr_expect_eq(o.sport, 40000, "%s: source port kept", c->name);
	cr_expect_str_eq(o.dst, ip_a(c->fam), "%s: to A, the backend (%s)", c->name, o.dst);
	cr_expect_eq(o.dport, BE_PORT, "%s: on the backend's port", c->name);
	cr_expect(o.l3_csum_ok && o.l4_csum_ok, "%s: checksums valid", c->name);
	cr_expect_arr_eq(out.b, p.b + 6, 6, "%s: to A's own Ethernet address", c->name);
	cr_expect_arr_eq(out.b + 6, p.b, 6, "%s: from its host side's", c->name);

	build(&p, &r, "world!", 6);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_REDIRECT, "%s: the reply back into A", c->name);
	parse(&out, &o);
	cr_expect_str_eq(o.src, fe(c->fam), "%s: the reply comes from the frontend (%s)", c->name, o.src);
	cr_expect_eq(o.sport, FE_PORT, "%s: and its port", c->name);
	cr_expect_str_eq(o.dst, ip_a(c->fam), "%s: to A (%s)", c->name, o.dst);
	cr_expect_eq(o.dport, 40000, "%s: to the client's port", c->name);
	cr_expect(o.l3_csum_ok && o.l4_csum_ok, "%s: checksums valid", c->name);

	build(&p, &f2, "more", 4);
	cr_assert_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_REDIRECT, "%s: the flow's next packet", c->name);
	parse(&out, &o);
	cr_expect_str_eq(o.src, hp, "%s: from the hairpin address again", c->name);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
}

/* A reply to the hairpin address with no such flow is no hairpin: it is
 * judged as any new flow (here allowed, and not redirected). */
Test(services, hairpin_address_without_flow)
{
	struct flow r = { ip_a(4), "169.254.42.1", BE_PORT, 40001, IPPROTO_UDP, 0 };
	struct packet p, out;
	struct parsed o;

	seed_pair(&dp, 0, 0);
	build(&p, &r, "x", 1);
	cr_expect_eq(run_from(&dp, dp.if_a, &p, &out, NULL), TC_ACT_OK);
	parse(&out, &o);
	cr_expect_str_eq(o.src, ip_a(4), "untouched");
	cr_expect_str_eq(o.dst, "169.254.42.1", "untouched");
}

/* A flow's backend deleted and its id given to another backend (sluice
 * reuses free ids): the flow is not sent to that other backend, it gets a
 * new one from the slots. */
Test(services, reused_backend_id_not_followed)
{
	struct parsed o;

	one_service(4, IPPROTO_UDP);
	cr_assert_eq(to_frontend(4, IPPROTO_UDP, 40000, 0, &o), TC_ACT_OK);
	cr_assert_str_eq(o.dst, ip_b(4));
	/* X now names another backend (C:9090); the slot names Y (C:8080) */
	seed_backend(&dp, X, ip_c(4), 9090, false);
	seed_slot(&dp, SVC, 0, Y);
	cr_assert_eq(to_frontend(4, IPPROTO_UDP, 40000, 0, &o), TC_ACT_OK);
	cr_expect_str_eq(o.dst, ip_c(4));
	cr_expect_eq(o.dport, BE_PORT, "the slot's backend Y, not the id's new owner on 9090 (%u)", o.dport);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Conntrack, packet by packet: replies of allowed flows pass both programs
 * without rules, replies of denied flows do not, established flows survive
 * a policy change, TCP RST and FIN close entries early, ICMP echo is
 * tracked by its identifier, and ICMP errors about tracked flows pass as
 * related while those about unknown flows meet policy. IPv4 and IPv6.
 *
 * Topology (harness seed_pair): A (identity 1000) on dpa, B (identity
 * 2000) on dpb. A packet A -> B goes through sluice_from_endpoint on dpa,
 * then sluice_to_endpoint on dpb; B -> A through from on dpb, to on dpa.
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

TestSuite(conntrack, .init = setup, .fini = teardown);

#define ENF (SL_EP_ENFORCE_INGRESS | SL_EP_ENFORCE_EGRESS)

/* One packet A -> B (a_to_b) or B -> A through the sending endpoint's
 * from-program and the receiving one's to-program; both verdicts. */
static void walk(int fam, bool a_to_b, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tcp_flags,
		 int *v_from, int *v_to)
{
	struct flow f = { a_to_b ? ip_a(fam) : ip_b(fam), a_to_b ? ip_b(fam) : ip_a(fam), sport, dport, proto,
			  tcp_flags };
	struct packet p;

	build(&p, &f, "data", 4);
	*v_from = run_from(&dp, a_to_b ? dp.if_a : dp.if_b, &p, NULL, NULL);
	*v_to = run_to(&dp, a_to_b ? dp.if_b : dp.if_a, &p, NULL, NULL);
}

/* ---- replies of allowed flows ---- */

struct pcase {
	char name[96];
	int fam;
	uint8_t proto;
};

ParameterizedTestParameters(conntrack, reply_of_allowed_flow)
{
	static struct pcase cases[] = {
		{ "TCP reply [IPv4]", 4, IPPROTO_TCP },
		{ "TCP reply [IPv6]", 6, IPPROTO_TCP },
		{ "UDP reply [IPv4]", 4, IPPROTO_UDP },
		{ "UDP reply [IPv6]", 6, IPPROTO_UDP },
	};

	return cr_make_param_array(struct pcase, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Both endpoints enforce both ways; only A's egress to B and B's ingress
 * from A are allowed. The reply needs no rule of B's egress or A's ingress. */
ParameterizedTest(struct pcase *c, conntrack, reply_of_allowed_flow)
{
	uint16_t port = c->proto == IPPROTO_TCP ? 80 : 53;
	uint8_t syn = c->proto == IPPROTO_TCP ? TCP_SYN : 0, synack = c->proto == IPPROTO_TCP ? TCP_SYN | TCP_ACK : 0;
	struct flow fwd = { ip_a(c->fam), ip_b(c->fam), 40000, port, c->proto, syn };
	struct sl_ct_value ct;
	int vf, vt;

	seed_pair(&dp, ENF, ENF);
	seed_policy(&dp, EP_A, SL_DIR_EGRESS, ID_B, c->proto, port, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, c->proto, port, false, 0);

	walk(c->fam, true, c->proto, 40000, port, syn, &vf, &vt);
	cr_expect_eq(vf, TC_ACT_OK, "%s: request leaves A", c->name);
	cr_expect_eq(vt, TC_ACT_OK, "%s: request reaches B", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 2, "%s: an egress and an ingress entry", c->name);

	walk(c->fam, false, c->proto, port, 40000, synack, &vf, &vt);
	cr_expect_eq(vf, TC_ACT_OK, "%s: reply leaves B without an egress rule", c->name);
	cr_expect_eq(vt, TC_ACT_OK, "%s: reply reaches A without an ingress rule", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_REPLY), 2, "%s: two replies counted", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 2, "%s: the reply made no new flow", c->name);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
	cr_expect(ct_get(&dp, &fwd, SL_CT_EGRESS, &ct) && (ct.flags & SL_CT_SEEN_REPLY),
		  "%s: A's egress entry saw the reply", c->name);
	cr_expect(ct_get(&dp, &fwd, SL_CT_INGRESS, &ct) && (ct.flags & SL_CT_SEEN_REPLY),
		  "%s: B's ingress entry saw the reply", c->name);

	/* The same ports to another client port is no reply: policy drops it. */
	walk(c->fam, false, c->proto, port, 40001, synack, &vf, &vt);
	cr_expect_eq(vf, TC_ACT_SHOT, "%s: an unsolicited 'reply' leaves B only through policy", c->name);
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 2, "%s: and is dropped as POLICY (B's egress, A's ingress)", c->name);
}

/* ---- replies of denied flows ---- */

struct dcase {
	char name[96];
	int fam;
	bool at_ingress; /* denied at B's ingress, else at A's egress */
};

ParameterizedTestParameters(conntrack, reply_of_denied_flow)
{
	static struct dcase cases[] = {
		{ "flow denied at the server's ingress [IPv4]", 4, true },
		{ "flow denied at the server's ingress [IPv6]", 6, true },
		{ "flow denied at the client's egress [IPv4]", 4, false },
		{ "flow denied at the client's egress [IPv6]", 6, false },
	};

	return cr_make_param_array(struct dcase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A denied flow leaves no conntrack entry where it was denied, so the
 * packet that looks like its reply is a new flow there, and the enforcing
 * side drops it. Denied at B's ingress: B's "reply" meets B's enforced
 * egress. Denied at A's egress: the "reply" meets A's enforced ingress.
 */
ParameterizedTest(struct dcase *c, conntrack, reply_of_denied_flow)
{
	struct flow fwd = { ip_a(c->fam), ip_b(c->fam), 40000, 80, IPPROTO_TCP, TCP_SYN };
	struct flow rev = { ip_b(c->fam), ip_a(c->fam), 80, 40000, IPPROTO_TCP, TCP_SYN | TCP_ACK };
	struct packet p, q;
	struct sl_ct_value ct;
	int v;

	build(&p, &fwd, NULL, 0);
	build(&q, &rev, NULL, 0);
	if (c->at_ingress) {
		seed_pair(&dp, 0, ENF);
		cr_expect_eq(run_from(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK, "%s: A's egress is open", c->name);
		cr_expect_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_SHOT, "%s: B's ingress denies", c->name);
		cr_expect(!ct_get(&dp, &fwd, SL_CT_INGRESS, &ct), "%s: no ingress entry for the denied flow", c->name);
		v = run_from(&dp, dp.if_b, &q, NULL, NULL);
		cr_expect_eq(v, TC_ACT_SHOT, "%s: the reply-looking packet does not leave B (verdict %d)", c->name, v);
	} else {
		seed_pair(&dp, ENF, 0);
		cr_expect_eq(run_from(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_SHOT, "%s: A's egress denies", c->name);
		cr_expect(!ct_get(&dp, &fwd, SL_CT_EGRESS, &ct), "%s: no egress entry for the denied flow", c->name);
		cr_expect_eq(run_from(&dp, dp.if_b, &q, NULL, NULL), TC_ACT_OK, "%s: B's egress is open", c->name);
		v = run_to(&dp, dp.if_a, &q, NULL, NULL);
		cr_expect_eq(v, TC_ACT_SHOT, "%s: the reply-looking packet does not reach A (verdict %d)", c->name, v);
	}
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 2, "%s: the flow and its 'reply' dropped as POLICY", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_REPLY), 0, "%s: nothing passed as a reply", c->name);
}

/* ---- policy change under an established flow ---- */

ParameterizedTestParameters(conntrack, established_survives_policy_delete)
{
	static struct pcase cases[] = {
		{ "established TCP flow after its rules are deleted [IPv4]", 4, IPPROTO_TCP },
		{ "established TCP flow after its rules are deleted [IPv6]", 6, IPPROTO_TCP },
		{ "established UDP flow after its rules are deleted [IPv4]", 4, IPPROTO_UDP },
		{ "established UDP flow after its rules are deleted [IPv6]", 6, IPPROTO_UDP },
	};

	return cr_make_param_array(struct pcase, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pcase *c, conntrack, established_survives_policy_delete)
{
	bool tcp = c->proto == IPPROTO_TCP;
	int vf, vt;

	seed_pair(&dp, ENF, ENF);
	seed_policy(&dp, EP_A, SL_DIR_EGRESS, ID_B, c->proto, 80, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, c->proto, 80, false, 0);
	walk(c->fam, true, c->proto, 40000, 80, tcp ? TCP_SYN : 0, &vf, &vt);
	cr_expect(vf == TC_ACT_OK && vt == TC_ACT_OK, "%s: first packet allowed", c->name);
	walk(c->fam, false, c->proto, 80, 40000, tcp ? TCP_SYN | TCP_ACK : 0, &vf, &vt);
	cr_expect(vf == TC_ACT_OK && vt == TC_ACT_OK, "%s: reply allowed", c->name);

	delete_policy(&dp, EP_A, SL_DIR_EGRESS, ID_B, c->proto, 80);
	delete_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, c->proto, 80);

	walk(c->fam, true, c->proto, 40000, 80, tcp ? TCP_ACK : 0, &vf, &vt);
	cr_expect_eq(vf, TC_ACT_OK, "%s: the flow still leaves A", c->name);
	cr_expect_eq(vt, TC_ACT_OK, "%s: the flow still reaches B", c->name);
	walk(c->fam, false, c->proto, 80, 40000, tcp ? TCP_ACK : 0, &vf, &vt);
	cr_expect(vf == TC_ACT_OK && vt == TC_ACT_OK, "%s: and its replies still pass", c->name);
	cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);

	/* A new flow meets the new policy. */
	walk(c->fam, true, c->proto, 40001, 80, tcp ? TCP_SYN : 0, &vf, &vt);
	cr_expect_eq(vf, TC_ACT_SHOT, "%s: a new flow is dropped at A's egress", c->name);
	cr_expect_eq(vt, TC_ACT_SHOT, "%s: a new flow is dropped at B's ingress", c->name);
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 2, "%s: as POLICY", c->name);
}

/* ---- TCP state: RST and FIN ---- */

enum close_kind { RST_CLIENT, RST_SERVER, FIN_BOTH, FIN_ONE, SYN_REOPENS };

struct ccase {
	char name[96];
	int fam;
	int kind;
};

ParameterizedTestParameters(conntrack, tcp_close)
{
	static struct ccase cases[] = {
		{ "RST from the client closes [IPv4]", 4, RST_CLIENT },
		{ "RST from the client closes [IPv6]", 6, RST_CLIENT },
		{ "RST from the server closes [IPv4]", 4, RST_SERVER },
		{ "RST from the server closes [IPv6]", 6, RST_SERVER },
		{ "FIN both ways closes [IPv4]", 4, FIN_BOTH },
		{ "FIN both ways closes [IPv6]", 6, FIN_BOTH },
		{ "one FIN half-closes, not closing [IPv4]", 4, FIN_ONE },
		{ "one FIN half-closes, not closing [IPv6]", 6, FIN_ONE },
		{ "a SYN on a closed tuple starts the flow again [IPv4]", 4, SYN_REOPENS },
		{ "a SYN on a closed tuple starts the flow again [IPv6]", 6, SYN_REOPENS },
	};

	return cr_make_param_array(struct ccase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * The flow's two entries (A's egress, B's ingress) after the handshake and
 * then after the closing packets: their flags (abi.h enum sl_ct_flags) and
 * what is left of their lifetime: SL_CT_LIFETIME_TCP_CLOSING (10 s) once
 * closing, SL_CT_LIFETIME_TCP (6 h) while established, SL_CT_LIFETIME_TCP_SYN
 * (60 s) for a flow that has only opened.
 */
ParameterizedTest(struct ccase *c, conntrack, tcp_close)
{
	struct flow fwd = { ip_a(c->fam), ip_b(c->fam), 40000, 80, IPPROTO_TCP, 0 };
	struct sl_ct_value e, i;
	uint16_t want_set = 0, want_clear = 0;
	double lo, hi;
	int vf, vt;

	seed_pair(&dp, 0, 0);
	walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_SYN, &vf, &vt);
	walk(c->fam, false, IPPROTO_TCP, 80, 40000, TCP_SYN | TCP_ACK, &vf, &vt);
	walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_ACK, &vf, &vt);
	cr_assert(ct_get(&dp, &fwd, SL_CT_EGRESS, &e) && ct_get(&dp, &fwd, SL_CT_INGRESS, &i), "%s: entries",
		  c->name);
	cr_expect(e.flags & SL_CT_SEEN_REPLY, "%s: established (egress entry)", c->name);
	cr_expect(!(e.flags & SL_CT_CLOSING), "%s: not closing yet", c->name);
	cr_expect_gt(ct_remaining_s(&dp, &e), SL_CT_LIFETIME_TCP_SYN, "%s: established lifetime (%.1f s left)",
		     c->name, ct_remaining_s(&dp, &e));

	switch (c->kind) {
	case RST_CLIENT:
		walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_RST | TCP_ACK, &vf, &vt);
		want_set = SL_CT_CLOSING;
		lo = 0, hi = SL_CT_LIFETIME_TCP_CLOSING;
		break;
	case RST_SERVER:
		walk(c->fam, false, IPPROTO_TCP, 80, 40000, TCP_RST, &vf, &vt);
		want_set = SL_CT_CLOSING;
		lo = 0, hi = SL_CT_LIFETIME_TCP_CLOSING;
		break;
	case FIN_BOTH:
		walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_FIN | TCP_ACK, &vf, &vt);
		walk(c->fam, false, IPPROTO_TCP, 80, 40000, TCP_FIN | TCP_ACK, &vf, &vt);
		want_set = SL_CT_FIN_FWD | SL_CT_FIN_REV | SL_CT_CLOSING;
		lo = 0, hi = SL_CT_LIFETIME_TCP_CLOSING;
		break;
	case FIN_ONE:
		walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_FIN | TCP_ACK, &vf, &vt);
		want_set = SL_CT_FIN_FWD | SL_CT_SEEN_REPLY;
		want_clear = SL_CT_FIN_REV | SL_CT_CLOSING;
		lo = SL_CT_LIFETIME_TCP_SYN, hi = SL_CT_LIFETIME_TCP;
		break;
	case SYN_REOPENS:
		walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_RST | TCP_ACK, &vf, &vt);
		walk(c->fam, true, IPPROTO_TCP, 40000, 80, TCP_SYN, &vf, &vt);
		want_clear = SL_CT_CLOSING | SL_CT_SEEN_REPLY | SL_CT_FIN_FWD | SL_CT_FIN_REV;
		lo = SL_CT_LIFETIME_TCP_CLOSING, hi = SL_CT_LIFETIME_TCP_SYN;
		break;
	default:
		cr_assert_fail();
	}
	cr_expect(vf == TC_ACT_OK && vt == TC_ACT_OK, "%s: the closing packets pass", c->name);
	cr_assert(ct_get(&dp, &fwd, SL_CT_EGRESS, &e), "%s: egress entry still there", c->name);
	cr_assert(ct_get(&dp, &fwd, SL_CT_INGRESS, &i), "%s: ingress entry still there", c->name);
	for (int k = 0; k < 2; k++) {
		const struct sl_ct_value *v = k ? &i : &e;
		const char *which = k ? "ingress entry (B)" : "egress entry (A)";
		double left = ct_remaining_s(&dp, v);

		cr_expect_eq(v->flags & want_set, want_set, "%s: %s flags 0x%x have 0x%x", c->name, which, v->flags,
			     want_set);
		cr_expect_eq(v->flags & want_clear, 0, "%s: %s flags 0x%x lack 0x%x", c->name, which, v->flags,
			     want_clear);
		/* A second of slack: a tick or two pass between the packet and the read. */
		cr_expect(left > lo - 1 && left <= hi, "%s: %s has %.1f s left, expected in (%.0f, %.0f]", c->name,
			  which, left, lo, hi);
	}
}

/* ---- ICMP echo ---- */

struct icase {
	char name[96];
	int fam;
};

ParameterizedTestParameters(conntrack, icmp_echo_tracked)
{
	static struct icase cases[] = {
		{ "ICMP echo request and reply [IPv4]", 4 },
		{ "ICMPv6 echo request and reply [IPv6]", 6 },
	};

	return cr_make_param_array(struct icase, cases, sizeof(cases) / sizeof(cases[0]));
}

/* The request is allowed by L3 rules for ICMP; the reply by conntrack, on
 * the echo identifier (a reply with another identifier is no reply). */
ParameterizedTest(struct icase *c, conntrack, icmp_echo_tracked)
{
	uint8_t icmp = icmp_proto(c->fam);
	struct flow req = { ip_a(c->fam), ip_b(c->fam), 0x4242, 0, icmp, 0 };
	struct flow rep = { ip_b(c->fam), ip_a(c->fam), 0x4242, 1, icmp, 0 };
	struct flow other = { ip_b(c->fam), ip_a(c->fam), 0x4243, 1, icmp, 0 };
	struct packet p;
	struct sl_ct_value ct;

	seed_pair(&dp, ENF, ENF);
	seed_policy(&dp, EP_A, SL_DIR_EGRESS, ID_B, icmp, 0, false, 0);
	seed_policy(&dp, EP_B, SL_DIR_INGRESS, ID_A, icmp, 0, false, 0);

	build(&p, &req, "ping", 4);
	cr_expect_eq(run_from(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK, "%s: request leaves A", c->name);
	cr_expect_eq(run_to(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK, "%s: request reaches B", c->name);
	cr_expect(ct_get(&dp, &req, SL_CT_EGRESS, &ct), "%s: tracked by its identifier", c->name);

	build(&p, &rep, "ping", 4);
	cr_expect_eq(run_from(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_OK, "%s: reply leaves B", c->name);
	cr_expect_eq(run_to(&dp, dp.if_a, &p, NULL, NULL), TC_ACT_OK, "%s: reply reaches A", c->name);
	cr_expect_eq(metric_count(&dp, SL_METRIC_REPLY), 2, "%s: both as replies", c->name);

	build(&p, &other, "ping", 4);
	cr_expect_eq(run_from(&dp, dp.if_b, &p, NULL, NULL), TC_ACT_SHOT,
		     "%s: a reply with another identifier is dropped by B's egress", c->name);
	cr_expect_eq(drops(&dp, SL_DROP_POLICY), 1, "%s: as POLICY", c->name);
}

/* ---- ICMP errors ---- */

struct ecase {
	char name[96];
	int fam;
	uint8_t proto; /* of the flow the error is about; 0: ICMP echo */
	bool tracked;
};

ParameterizedTestParameters(conntrack, icmp_error)
{
	static struct ecase cases[] = {
		{ "error about a tracked UDP flow is related [IPv4]", 4, IPPROTO_UDP, true },
		{ "error about a tracked UDP flow is related [IPv6]", 6, IPPROTO_UDP, true },
		{ "error about a tracked TCP flow is related [IPv4]", 4, IPPROTO_TCP, true },
		{ "error about a tracked TCP flow is related [IPv6]", 6, IPPROTO_TCP, true },
		{ "error about a tracked echo is related [IPv4]", 4, 0, true },
		{ "error about a tracked echo is related [IPv6]", 6, 0, true },
		{ "error about an untracked UDP flow meets policy [IPv4]", 4, IPPROTO_UDP, false },
		{ "error about an untracked UDP flow meets policy [IPv6]", 6, IPPROTO_UDP, false },
		{ "error about an untracked TCP flow meets policy [IPv4]", 4, IPPROTO_TCP, false },
		{ "error about an untracked TCP flow meets policy [IPv6]", 6, IPPROTO_TCP, false },
	};

	return cr_make_param_array(struct ecase, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * A sends to B (A's egress open); B answers with a destination-unreachable
 * that quotes A's packet. A's ingress and B's egress are enforced with no
 * rules: the error passes both as related when A's flow is tracked, and is
 * dropped as POLICY by both when it is not.
 */
ParameterizedTest(struct ecase *c, conntrack, icmp_error)
{
	uint8_t proto = c->proto ? c->proto : icmp_proto(c->fam);
	struct flow f = { ip_a(c->fam), ip_b(c->fam), c->proto ? 40000 : 0x5151, c->proto ? 53 : 0, proto,
			  proto == IPPROTO_TCP ? TCP_SYN : 0 };
	struct packet orig, err, out;
	int vf, vt;

	seed_pair(&dp, SL_EP_ENFORCE_INGRESS, SL_EP_ENFORCE_EGRESS);
	build(&orig, &f, "query", 5);
	if (c->tracked)
		cr_assert_eq(run_from(&dp, dp.if_a, &orig, NULL, NULL), TC_ACT_OK, "%s: the flow leaves A", c->name);
	build_icmp_error(&err, ip_b(c->fam), ip_a(c->fam), &orig);

	vf = run_from(&dp, dp.if_b, &err, NULL, NULL);
	vt = run_to(&dp, dp.if_a, &err, &out, NULL);
	if (c->tracked) {
		cr_expect_eq(vf, TC_ACT_OK, "%s: the error leaves B", c->name);
		cr_expect_eq(vt, TC_ACT_OK, "%s: the error reaches A", c->name);
		cr_expect_arr_eq(out.b, err.b, err.len, "%s: untouched", c->name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_RELATED), 2, "%s: counted as RELATED twice", c->name);
		cr_expect_eq(drops_total(&dp), 0, "%s: nothing dropped", c->name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 1, "%s: the error made no flow of its own", c->name);
	} else {
		cr_expect_eq(vf, TC_ACT_SHOT, "%s: B's enforced egress drops it", c->name);
		cr_expect_eq(vt, TC_ACT_SHOT, "%s: A's enforced ingress drops it", c->name);
		cr_expect_eq(metric_count(&dp, SL_METRIC_RELATED), 0, "%s: not related", c->name);
		cr_expect_eq(drops(&dp, SL_DROP_POLICY), 2, "%s: dropped as POLICY", c->name);
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay's routes (features/overlay.c, the encapsulation of
 * kinds/route.c): with tunnel: vxlan, one route per pod CIDR of every
 * other node whose ip is of this node's family, on sluice_vxlan, with an
 * IP (or IP6) tunnel encapsulation of id 1 (the host identity) to that
 * node's ip and the tunnel's MTU, in sluice's overlay table (20929); per
 * family of those routes, the rule `iif lo lookup 20929 pref 82` that has
 * only the node's own packets look them up; none without the overlay.
 * Their bytes, their names, how plans say them (text and JSON).
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <sluice/abi.h>

#include "helpers.h"
#include "kinds/device.h"
#include "kinds/kind.h"
#include "kinds/route.h"
#include "kinds/rule.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/plan.h"

#define NODE_A "  - {name: node-a, ip: 192.168.60.1, podCIDRs: [10.1.0.0/24, \"fd00:1::/64\"]}\n"
#define NODE_B "  - {name: node-b, ip: 192.168.60.2, podCIDRs: [10.2.0.0/24, \"fd00:2::/64\"]}\n"
#define NODE_C "  - {name: node-c, ip: 192.168.60.3, podCIDRs: [10.3.0.0/24]}\n"
#define VXLAN "datapath: {tunnel: vxlan, underlayDevice: eth0}\n"
#define HEAD(datapath) "version: 1\nnode: node-a\n" datapath "nodes:\n"

/* Compiled as apply does, with the underlay device's MTU known
 * (underlay_mtu; 0: not known, as validate compiles). */
static void compile_mtu(struct compiled *c, const char *yaml, uint32_t underlay_mtu)
{
	struct sl_compile_prev prev = { .underlay_mtu = underlay_mtu };

	compile_yaml(c, yaml, &prev, false);
}

/* The routes, then the rules, of a set as errors name them, one a line,
 * in the set's order. */
static char *routes(const struct sl_objset *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n; i++) {
			const struct sl_obj *o = &s->v[i];
			char name[256];

			if (o->kind != (pass ? SL_OBJ_RULE : SL_OBJ_ROUTE))
				continue;
			cr_assert(sl_kind_fits(o->kind, o->klen, o->vlen));
			if (pass) {
				struct sl_rule_key k;
				struct sl_rule_value v;

				memcpy(&k, obj_key(s, o), sizeof(k));
				memcpy(&v, obj_val(s, o), sizeof(v));
				sl_rule_name(&k, &v, name, sizeof(name));
			} else {
				struct sl_route_key k;
				struct sl_route_value v;

				memcpy(&k, obj_key(s, o), sizeof(k));
				memcpy(&v, obj_val(s, o), sizeof(v));
				route_name(&k, &v, name, sizeof(name));
			}
			fprintf(f, "%s\n", name);
		}
	}
	fclose(f);
	return buf;
}

static void assert_routes(const char *yaml, uint32_t underlay_mtu, const char *expected)
{
	struct compiled c;
	char *got;

	compile_mtu(&c, yaml, underlay_mtu);
	got = routes(&c.res.set);
	cr_expect_str_eq(got, expected, "--- got\n%s--- expected\n%s", got, expected);
	free(got);
	compiled_free(&c);
}

/* ---- compile ---- */

Test(overlay, two_nodes)
{
	assert_routes(HEAD(VXLAN) NODE_A NODE_B, 1500,
		      "route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n"
		      "route fd00:2::/64 encap vni 1 to 192.168.60.2 dev sluice_vxlan metric 1024 mtu 1450 table 20929\n"
		      "rule ipv4 pref 82 iif lo lookup 20929\n"
		      "rule ipv6 pref 82 iif lo lookup 20929\n");
}

Test(overlay, three_nodes)
{
	/* node-c has an IPv4 pod CIDR only: an IPv4 route only */
	assert_routes(HEAD(VXLAN) NODE_A NODE_B NODE_C, 1500,
		      "route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n"
		      "route 10.3.0.0/24 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929\n"
		      "route fd00:2::/64 encap vni 1 to 192.168.60.2 dev sluice_vxlan metric 1024 mtu 1450 table 20929\n"
		      "rule ipv4 pref 82 iif lo lookup 20929\n"
		      "rule ipv6 pref 82 iif lo lookup 20929\n");
	/* the same cluster seen from node-c */
	assert_routes("version: 1\nnode: node-c\n" VXLAN "nodes:\n" NODE_A NODE_B NODE_C, 1500,
		      "route 10.1.0.0/24 encap vni 1 to 192.168.60.1 dev sluice_vxlan mtu 1450 table 20929\n"
		      "route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n"
		      "route fd00:1::/64 encap vni 1 to 192.168.60.1 dev sluice_vxlan metric 1024 mtu 1450 table 20929\n"
		      "route fd00:2::/64 encap vni 1 to 192.168.60.2 dev sluice_vxlan metric 1024 mtu 1450 table 20929\n"
		      "rule ipv4 pref 82 iif lo lookup 20929\n"
		      "rule ipv6 pref 82 iif lo lookup 20929\n");
}

/* The tunnel's MTU: the underlay's less VXLAN over the node's family. */
Test(overlay, mtu_and_ipv6_underlay)
{
	/* (node-c has an IPv4 pod CIDR only: an IPv4 rule only) */
	assert_routes(HEAD(VXLAN) NODE_A NODE_C, 9000,
		      "route 10.3.0.0/24 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 8950 table 20929\n"
		      "rule ipv4 pref 82 iif lo lookup 20929\n");
	assert_routes(HEAD(VXLAN) "  - {name: node-a, ip: \"fd00:60::1\", podCIDRs: [10.1.0.0/24]}\n"
				  "  - {name: node-b, ip: \"fd00:60::2\", podCIDRs: [10.2.0.0/24, \"fd00:2::/64\"]}\n",
		      1500,
		      "route 10.2.0.0/24 encap vni 1 to fd00:60::2 dev sluice_vxlan mtu 1430 table 20929\n"
		      "route fd00:2::/64 encap vni 1 to fd00:60::2 dev sluice_vxlan metric 1024 mtu 1430 table 20929\n"
		      "rule ipv4 pref 82 iif lo lookup 20929\n"
		      "rule ipv6 pref 82 iif lo lookup 20929\n");
}

Test(overlay, none_without_the_overlay)
{
	/* no tunnel */
	assert_routes(HEAD("") NODE_A NODE_B NODE_C, 1500, "");
	assert_routes(HEAD("datapath: {tunnel: disabled, underlayDevice: eth0}\n") NODE_A NODE_B, 1500, "");
	/* the underlay's MTU not known (validate): nothing of the overlay */
	assert_routes(HEAD(VXLAN) NODE_A NODE_B, 0, "");
	/* a node alone: nothing to route to */
	assert_routes(HEAD(VXLAN) NODE_A, 1500, "");
}

Test(overlay, bytes)
{
	struct compiled c;
	struct sl_route_key k;
	struct sl_route_value v, want;
	struct sl_rule_key rk, rk_want;
	struct sl_rule_value rv;
	static const uint8_t p4[4] = { 10, 2, 0, 0 }, ip[4] = { 192, 168, 60, 2 };
	const struct sl_obj *o;

	compile_mtu(&c, HEAD(VXLAN) NODE_A NODE_B, 1500);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_ROUTE), 2);
	sl_route_key_init(&k, AF_INET, p4, 24);
	o = objset_find(&c.res.set, SL_OBJ_ROUTE, &k, sizeof(k));
	cr_assert_null(o, "not in the main table");
	k.table = SL_OVERLAY_TABLE;
	o = objset_find(&c.res.set, SL_OBJ_ROUTE, &k, sizeof(k));
	cr_assert_not_null(o, "10.2.0.0/24 by its key: unicast, the overlay table, metric 0");
	cr_assert(sl_kind_fits(o->kind, o->klen, o->vlen));
	memcpy(&v, obj_val(&c.res.set, o), sizeof(v));
	/* every byte: what the route backend writes and reads back */
	memset(&want, 0, sizeof(want));
	memcpy(want.dev, SL_DEVICE_VXLAN_NAME, strlen(SL_DEVICE_VXLAN_NAME));
	want.mtu = 1450;
	want.encap.type = SL_ROUTE_ENCAP_IP;
	want.encap.id = SL_ID_HOST;
	memcpy(want.encap.dst, ip, 4);
	cr_assert_eq(memcmp(&v, &want, sizeof(v)), 0, "the value's bytes");
	cr_assert_eq(k.type, SL_ROUTE_UNICAST);

	/* the rules, one per family, every byte of the key: no mark, the
	 * loopback as input device, zero-padded */
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_RULE), 2);
	memset(&rk_want, 0, sizeof(rk_want));
	rk_want.priority = 82;
	rk_want.table = 20929;
	memcpy(rk_want.iif, "lo", 2);
	rk_want.family = AF_INET6;
	o = objset_find(&c.res.set, SL_OBJ_RULE, &rk_want, sizeof(rk_want));
	cr_assert_not_null(o, "the IPv6 rule by its key");
	memcpy(&rk, obj_key(&c.res.set, o), sizeof(rk));
	memcpy(&rv, obj_val(&c.res.set, o), sizeof(rv));
	cr_assert_eq(memcmp(&rk, &rk_want, sizeof(rk)), 0);
	cr_assert_eq(rv.action, SL_RULE_LOOKUP);
	cr_assert_eq(rv.pad[0] | rv.pad[1] | rv.pad[2], 0);
	cr_assert_eq(SL_OVERLAY_TABLE, 20929u);
	cr_assert_eq(SL_OVERLAY_RULE_PRIORITY, 82u);
	cr_assert(SL_PROXY_RULE_PRIORITY < SL_OVERLAY_RULE_PRIORITY && SL_OVERLAY_RULE_PRIORITY < 32766,
		  "after the proxy's rule, before the main table's");
	compiled_free(&c);
}

/* Compiled twice, the same bytes. */
Test(overlay, stable)
{
	struct compiled a, b;
	struct sl_diff d;

	compile_mtu(&a, HEAD(VXLAN) NODE_A NODE_B NODE_C, 1500);
	compile_mtu(&b, HEAD(VXLAN) NODE_A NODE_B NODE_C, 1500);
	cr_assert_eq(sl_diff(&a.res.set, &b.res.set, &d), 0);
	cr_assert_eq(d.n, 0);
	sl_diff_free(&d);
	compiled_free(&a);
	compiled_free(&b);
}

/* ---- names ---- */

Test(overlay, names)
{
	struct sl_route_key k;
	struct sl_route_value v;
	static const uint8_t p[16] = { 10, 2 }, ip[4] = { 192, 168, 60, 2 };
	char buf[256];

	sl_route_key_init(&k, AF_INET, p, 24);
	cr_assert_eq(sl_route_value_init(&v, 0, NULL, "sluice_vxlan"), 0);
	cr_assert_eq(sl_route_value_encap(&v, 1, AF_INET, ip), 0);
	route_name(&k, &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan");
	cr_assert_eq(sl_route_value_encap(&v, 1, AF_UNIX, ip), -EAFNOSUPPORT);
	/* as observed: tunnel settings sluice's routes do not have, another
	 * kind of encapsulation */
	v.encap.flags = SL_ROUTE_ENCAP_F_OTHER;
	route_name(&k, &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/24 encap vni 1 to 192.168.60.2 with other tunnel settings dev "
			      "sluice_vxlan");
	v.encap.flags = 0;
	v.encap.type = 1; /* LWTUNNEL_ENCAP_MPLS */
	route_name(&k, &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "route 10.2.0.0/24 encap type 1 dev sluice_vxlan");
}

Test(overlay, rule_names)
{
	struct sl_rule_key k = { .priority = 82, .table = 20929, .iif = "lo", .family = AF_INET };
	struct sl_rule_value v = { .action = SL_RULE_LOOKUP };
	char buf[256];

	sl_rule_name(&k, &v, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rule ipv4 pref 82 iif lo lookup 20929");
	/* an input device and a mark (as a rule of sluice's protocol made by
	 * hand may be observed) */
	memcpy(k.iif, "sl0", 4);
	k.fwmark = 0xa00;
	k.fwmask = 0xf00;
	k.family = AF_INET6;
	sl_rule_name(&k, NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rule ipv6 pref 82 iif sl0 fwmark 0xa00/0xf00 lookup 20929");
	/* a name without its NUL (refused by the backend): never read past */
	memset(k.iif, 'x', sizeof(k.iif));
	sl_rule_name(&k, NULL, buf, sizeof(buf));
	cr_assert_str_eq(buf, "rule ipv6 pref 82 iif xxxxxxxxxxxxxxxx fwmark 0xa00/0xf00 lookup 20929");
}

/* ---- plans ---- */

static char *plan_of(const char *old_yaml, const char *new_yaml, enum sl_plan_format fmt)
{
	struct compiled a, b;
	char *plan;

	compile_mtu(&a, old_yaml, 1500);
	compile_mtu(&b, new_yaml, 1500);
	plan = plan_render_of(&b.res.set, &a.res.set, &b.ld.state, fmt);
	compiled_free(&a);
	compiled_free(&b);
	return plan;
}

/* The lines of the "routes" group of a text plan. */
static char *routes_group(const char *plan)
{
	const char *p = strstr(plan, "routes\n");
	const char *end;

	if (!p || (p != plan && p[-1] != '\n'))
		return strdup("");
	p += strlen("routes\n");
	for (end = p; *end && *end == ' '; end = strchr(end, '\n') + 1)
		;
	return strndup(p, (size_t)(end - p));
}

Test(overlay, plan_text)
{
	char *plan, *got;

	/* an apply on a node with nothing: the routes with the device, then
	 * the rules that send the node's own packets to their table */
	plan = plan_of("version: 1\n", HEAD(VXLAN) NODE_A NODE_B NODE_C, SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got,
			 "  + route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n"
			 "  + route 10.3.0.0/24 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929\n"
			 "  + route fd00:2::/64 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n"
			 "  + rule ipv4 pref 82 iif lo lookup 20929\n"
			 "  + rule ipv6 pref 82 iif lo lookup 20929\n",
			 "%s", plan);
	cr_expect(strstr(plan, "  + device sluice_vxlan vxlan port 8472 mtu 1450\n"), "%s", plan);
	free(got);
	free(plan);
	/* a node leaves: its routes go (the rules stay: node-b's CIDRs are
	 * of both families) */
	plan = plan_of(HEAD(VXLAN) NODE_A NODE_B NODE_C, HEAD(VXLAN) NODE_A NODE_B, SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got, "  - route 10.3.0.0/24 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929\n",
			 "%s", plan);
	free(got);
	free(plan);
	/* the last IPv6 pod CIDR goes: the IPv6 rule first, then the route */
	plan = plan_of(HEAD(VXLAN) NODE_A NODE_B NODE_C, HEAD(VXLAN) NODE_A NODE_C, SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got,
			 "  - rule ipv6 pref 82 iif lo lookup 20929\n"
			 "  - route 10.2.0.0/24 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n"
			 "  - route fd00:2::/64 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\n",
			 "%s", plan);
	free(got);
	free(plan);
	/* a node moves: its routes change in place */
	plan = plan_of(HEAD(VXLAN) NODE_A NODE_C,
		       HEAD(VXLAN) NODE_A "  - {name: node-c, ip: 192.168.60.33, podCIDRs: [10.3.0.0/24]}\n",
		       SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got,
			 "  ~ route 10.3.0.0/24: encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929 -> "
			 "encap vni 1 to 192.168.60.33 dev sluice_vxlan mtu 1450 table 20929\n",
			 "%s", plan);
	free(got);
	free(plan);
	/* the tunnel turned off: the rule and the routes go with the device */
	plan = plan_of(HEAD(VXLAN) NODE_A NODE_C, HEAD("datapath: {underlayDevice: eth0}\n") NODE_A NODE_C,
		       SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got,
			 "  - rule ipv4 pref 82 iif lo lookup 20929\n"
			 "  - route 10.3.0.0/24 encap vni 1 to 192.168.60.3 dev sluice_vxlan mtu 1450 table 20929\n",
			 "%s", plan);
	cr_expect(strstr(plan, "  - device sluice_vxlan vxlan port 8472 mtu 1450\n"), "%s", plan);
	free(got);
	free(plan);
}

Test(overlay, plan_json)
{
	char *plan = plan_of("version: 1\n", HEAD(VXLAN) NODE_A NODE_B, SL_PLAN_JSON);

	cr_expect(strstr(plan, "{\"op\":\"add\",\"kind\":\"route\",\"object\":\"route 10.2.0.0/24 encap vni 1 to "
			       "192.168.60.2 dev sluice_vxlan mtu 1450 table 20929\",\"group\":\"routes\",\"before\":null,"
			       "\"after\":{\"dst\":\"10.2.0.0/24\",\"type\":\"unicast\",\"via\":null,\"dev\":"
			       "\"sluice_vxlan\",\"table\":20929,\"metric\":0,\"mtu\":1450,\"encap\":\"ip\",\"encap_id\":1,"
			       "\"encap_dst\":\"192.168.60.2\"}}"),
		  "%s", plan);
	cr_expect(strstr(plan, "\"object\":\"route fd00:2::/64 encap vni 1 to 192.168.60.2 dev sluice_vxlan mtu "
			       "1450 table 20929\""),
		  "%s", plan);
	cr_expect(strstr(plan, "{\"op\":\"add\",\"kind\":\"rule\",\"object\":\"rule ipv4 pref 82 iif lo lookup "
			       "20929\",\"group\":\"routes\",\"before\":null,\"after\":{\"family\":\"ipv4\","
			       "\"priority\":82,\"iif\":\"lo\",\"fwmark\":0,\"fwmask\":0,\"table\":20929,"
			       "\"action\":\"lookup\"}}"),
		  "%s", plan);
	free(plan);
}

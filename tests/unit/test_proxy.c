/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The L7 proxy redirect's policy routing (features/proxy.c, kinds/rule.c,
 * the local routes of kinds/route.c): what a state compiles to (a rule and
 * a local route in sluice's proxy table per family of the local endpoints,
 * only with a proxy port on a local endpoint's entry), their bytes, how a
 * plan says them (added routes first, removed rules first), their JSON,
 * and their place in the kind table.
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <sluice/abi.h>

#include "helpers.h"
#include "kinds/kind.h"
#include "kinds/route.h"
#include "kinds/rule.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/plan.h"

/* web-1 on this node (IPv4 and IPv6), web-6 on this node (IPv6 only),
 * client-1 on this node (IPv4 only), web-b on node-b. */
#define HEAD                                                                  \
	"version: 1\n"                                                        \
	"node: node-a\n"                                                      \
	"nodes:\n"                                                            \
	"  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24, \"fd00:1::/64\"]}\n" \
	"  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24]}\n"     \
	"identities:\n"                                                       \
	"  - {id: 1000, labels: {app: web}}\n"                                \
	"  - {id: 1001, labels: {app: client}}\n"                             \
	"  - {id: 1002, labels: {app: remote}}\n"                             \
	"endpoints:\n"
#define EP_WEB4 "  - {name: web-1, interface: lxc-web1, ipv4: 10.1.0.10, identity: 1000, id: 10}\n"
#define EP_WEB46 "  - {name: web-1, interface: lxc-web1, ipv4: 10.1.0.10, ipv6: \"fd00:1::10\", identity: 1000, id: 10}\n"
#define EP_WEB6 "  - {name: web-6, interface: lxc-web6, ipv6: \"fd00:1::16\", identity: 1000, id: 16}\n"
#define EP_CLIENT "  - {name: client-1, interface: lxc-client, ipv4: 10.1.0.30, identity: 1001, id: 30}\n"
#define EP_REMOTE "  - {name: web-b, ipv4: 10.2.0.10, identity: 1002, node: node-b}\n"
#define PROXY_IN(app)                                                        \
	"policies:\n"                                                         \
	"  - name: in\n"                                                      \
	"    endpointSelector: {matchLabels: {app: " app "}}\n"               \
	"    ingress:\n"                                                      \
	"      - {toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15001}]}\n"
#define PLAIN_IN                                                              \
	"policies:\n"                                                         \
	"  - name: in\n"                                                      \
	"    endpointSelector: {matchLabels: {app: web}}\n"                   \
	"    ingress:\n"                                                      \
	"      - {toPorts: [{ports: [{port: 80, protocol: TCP}]}]}\n"

static void compile_text(struct compiled *c, const char *yaml)
{
	compile_yaml(c, yaml, NULL, false);
}

/* The rules and the proxy table's routes of a set, as plan names them, one
 * a line, in the set's order. */
static char *routing(const struct sl_objset *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < s->n; i++) {
		const struct sl_obj *o = &s->v[i];
		char name[192];

		if (o->kind == SL_OBJ_RULE) {
			struct sl_rule_key k;
			struct sl_rule_value v;

			cr_assert(sl_kind_fits(o->kind, o->klen, o->vlen));
			memcpy(&k, obj_key(s, o), sizeof(k));
			memcpy(&v, obj_val(s, o), sizeof(v));
			sl_rule_name(&k, &v, name, sizeof(name));
			fprintf(f, "%s\n", name);
		} else if (o->kind == SL_OBJ_ROUTE) {
			struct sl_route_key k;
			struct sl_route_value v;

			cr_assert(sl_kind_fits(o->kind, o->klen, o->vlen));
			memcpy(&k, obj_key(s, o), sizeof(k));
			memcpy(&v, obj_val(s, o), sizeof(v));
			route_name(&k, &v, name, sizeof(name));
			fprintf(f, "%s\n", name);
		}
	}
	fclose(f);
	return buf;
}

static void assert_routing(const char *yaml, const char *expected)
{
	struct compiled c;
	char *got;

	compile_text(&c, yaml);
	got = routing(&c.res.set);
	cr_expect_str_eq(got, expected, "--- got\n%s--- expected\n%s", got, expected);
	free(got);
	compiled_free(&c);
}

/* ---- compile ---- */

Test(proxy, nothing_without_a_proxy_port)
{
	assert_routing(HEAD EP_WEB46 EP_CLIENT, "");
	assert_routing(HEAD EP_WEB46 EP_CLIENT PLAIN_IN, "");
}

Test(proxy, ipv4_endpoints)
{
	assert_routing(HEAD EP_WEB4 EP_CLIENT PROXY_IN("web"),
		       "route local 0.0.0.0/0 dev lo table 20928\n"
		       "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n");
}

Test(proxy, both_families)
{
	/* the redirected endpoint has IPv4 only; another local one has
	 * IPv6: each family of the local endpoints gets its routing */
	assert_routing(HEAD EP_WEB4 EP_WEB6 EP_CLIENT PROXY_IN("client"),
		       "route local 0.0.0.0/0 dev lo table 20928\n"
		       "route local ::/0 dev lo metric 1024 table 20928\n"
		       "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n"
		       "rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928\n");
	assert_routing(HEAD EP_WEB46 PROXY_IN("web"),
		       "route local 0.0.0.0/0 dev lo table 20928\n"
		       "route local ::/0 dev lo metric 1024 table 20928\n"
		       "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n"
		       "rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928\n");
}

Test(proxy, ipv6_endpoints)
{
	assert_routing(HEAD EP_WEB6 PROXY_IN("web"),
		       "route local ::/0 dev lo metric 1024 table 20928\n"
		       "rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928\n");
}

Test(proxy, egress)
{
	assert_routing(HEAD EP_WEB4 EP_CLIENT
		       "policies:\n"
		       "  - name: out\n"
		       "    endpointSelector: {matchLabels: {app: client}}\n"
		       "    egress:\n"
		       "      - {toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15001}]}\n",
		       "route local 0.0.0.0/0 dev lo table 20928\n"
		       "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n");
}

Test(proxy, only_local_endpoints_count)
{
	/* the policy selects only an endpoint of another node: no entry of
	 * this node carries the port */
	assert_routing(HEAD EP_WEB46 EP_REMOTE PROXY_IN("remote"), "");
	/* a deny on the same port wins: the entry carries no port */
	assert_routing(HEAD EP_WEB46 PROXY_IN("web")
		       "    ingressDeny:\n"
		       "      - {toPorts: [{ports: [{port: 80, protocol: TCP}]}]}\n",
		       "");
}

Test(proxy, bytes)
{
	struct compiled c;
	struct sl_rule_key rk = { 0 };
	struct sl_route_key lk = { 0 };
	struct sl_rule_value rv = { 0 };
	struct sl_route_value lv = { 0 };
	const struct sl_obj *o;

	compile_text(&c, HEAD EP_WEB4 PROXY_IN("web"));
	rk = (struct sl_rule_key){ .priority = 81, .fwmark = 0xa00, .fwmask = 0xf00, .table = 20928, .family = AF_INET };
	o = objset_find(&c.res.set, SL_OBJ_RULE, &rk, sizeof(rk));
	cr_assert_not_null(o, "the rule, by its key (no input device: iif all zero)");
	memcpy(&rv, obj_val(&c.res.set, o), sizeof(rv));
	cr_assert_eq(rv.action, SL_RULE_LOOKUP);
	cr_assert_eq(rv.pad[0] | rv.pad[1] | rv.pad[2], 0);
	lk.table = 20928;
	lk.family = AF_INET;
	lk.type = SL_ROUTE_LOCAL;
	o = objset_find(&c.res.set, SL_OBJ_ROUTE, &lk, sizeof(lk));
	cr_assert_not_null(o, "the local route, by its key: 0.0.0.0/0, metric 0");
	memcpy(&lv, obj_val(&c.res.set, o), sizeof(lv));
	cr_assert_str_eq(lv.dev, "lo");
	cr_assert_eq(lv.gw_family, 0);
	cr_assert_eq(lv.mtu, 0);
	cr_assert_eq(lv.flags, 0);
	compiled_free(&c);
}

/* Compiled twice, the same bytes: the second plan is empty. */
Test(proxy, stable)
{
	struct compiled a, b;
	struct sl_diff d;

	compile_text(&a, HEAD EP_WEB46 PROXY_IN("web"));
	compile_text(&b, HEAD EP_WEB46 PROXY_IN("web"));
	cr_assert_eq(sl_diff(&a.res.set, &b.res.set, &d), 0);
	cr_assert_eq(d.n, 0);
	sl_diff_free(&d);
	compiled_free(&a);
	compiled_free(&b);
}

/* ---- the kind table ---- */

Test(proxy, kind_rows)
{
	uint8_t kinds[SL_OBJ__MAX];
	size_t n = sl_kind_order(SL_VIA_ROUTE, kinds);

	cr_assert_eq(n, 2);
	cr_assert_eq(kinds[0], SL_OBJ_ROUTE, "routes first: adds by increasing rank");
	cr_assert_eq(kinds[1], SL_OBJ_RULE, "then the rules that send packets to their table");
	cr_assert_str_eq(sl_kind_name(SL_OBJ_RULE), "rule");
	cr_assert(sl_kind_fits(SL_OBJ_RULE, sizeof(struct sl_rule_key), sizeof(struct sl_rule_value)));
	cr_assert_eq(sl_kind(SL_OBJ_RULE)->flags, 0, "not secret");
	cr_assert_null(sl_kind(SL_OBJ_RULE)->map, "no map");
}

/* ---- plans ---- */

static char *plan_of(const char *old_yaml, const char *new_yaml, enum sl_plan_format fmt)
{
	return plan_between(old_yaml, NULL, new_yaml, NULL, false, fmt);
}

/* The lines of the "routes" group of a text plan. */
static char *routes_group(const char *plan)
{
	const char *p = strstr(plan, "\nroutes\n");
	const char *end;

	if (!p)
		return strdup("");
	p += strlen("\nroutes\n");
	for (end = p; *end && *end == ' '; end = strchr(end, '\n') + 1)
		;
	return strndup(p, (size_t)(end - p));
}

Test(proxy, plan_text)
{
	char *plan, *got;

	/* added: the routes, then the rules */
	plan = plan_of(HEAD EP_WEB46 PLAIN_IN, HEAD EP_WEB46 PROXY_IN("web"), SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got,
			 "  + route local 0.0.0.0/0 dev lo table 20928\n"
			 "  + route local ::/0 dev lo table 20928\n"
			 "  + rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n"
			 "  + rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928\n",
			 "%s", plan);
	free(got);
	free(plan);
	/* removed: the rules, then the routes */
	plan = plan_of(HEAD EP_WEB46 PROXY_IN("web"), HEAD EP_WEB46 PLAIN_IN, SL_PLAN_TEXT);
	got = routes_group(plan);
	cr_expect_str_eq(got,
			 "  - rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n"
			 "  - rule ipv6 pref 81 fwmark 0xa00/0xf00 lookup 20928\n"
			 "  - route local 0.0.0.0/0 dev lo table 20928\n"
			 "  - route local ::/0 dev lo table 20928\n",
			 "%s", plan);
	free(got);
	free(plan);
	/* a port that changes changes no routing */
	plan = plan_of(HEAD EP_WEB46 PROXY_IN("web"),
		       HEAD EP_WEB46
		       "policies:\n"
		       "  - name: in\n"
		       "    endpointSelector: {matchLabels: {app: web}}\n"
		       "    ingress:\n"
		       "      - {toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15002}]}\n",
		       SL_PLAN_TEXT);
	cr_expect_null(strstr(plan, "\nroutes\n"), "%s", plan);
	free(plan);
}

Test(proxy, plan_json)
{
	char *plan = plan_of(HEAD EP_WEB4 PLAIN_IN, HEAD EP_WEB4 PROXY_IN("web"), SL_PLAN_JSON);

	cr_expect(strstr(plan, "{\"op\":\"add\",\"kind\":\"rule\",\"object\":\"rule ipv4 pref 81 fwmark 0xa00/0xf00 "
			       "lookup 20928\",\"group\":\"routes\",\"before\":null,\"after\":{\"family\":\"ipv4\","
			       "\"priority\":81,\"iif\":null,\"fwmark\":2560,\"fwmask\":3840,\"table\":20928,\"action\":\"lookup\"}}"),
		  "%s", plan);
	cr_expect(strstr(plan, "{\"op\":\"add\",\"kind\":\"route\",\"object\":\"route local 0.0.0.0/0 dev lo table "
			       "20928\",\"group\":\"routes\",\"before\":null,\"after\":{\"dst\":\"0.0.0.0/0\",\"type\":"
			       "\"local\",\"via\":null,\"dev\":\"lo\",\"table\":20928,\"metric\":0,\"mtu\":0}}"),
		  "%s", plan);
	free(plan);
}

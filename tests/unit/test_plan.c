/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The diff (tables of small object sets) and the plan it renders: states
 * compiled from YAML text, or sets built by hand, and the exact text (or
 * JSON) of their plan.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include <linux/bpf.h>
#include <sluice/abi.h>

#include "helpers.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/plan.h"
#include "kinds/attach.h"
#include "kinds/prog.h"
#include "kinds/map.h"

/* ---- the diff, by tables ---- */

struct tobj {
	uint8_t kind;
	const char *key; /* NULL ends a list */
	const char *val;
};

struct dcase {
	const char *name;
	struct tobj want[6], have[6];
	const char *expected; /* each change: op sign, kind, ':', key, ' ' */
	size_t add, change, remove;
};

static const struct dcase dcases[] = {
	{ "empty and empty", { { 0 } }, { { 0 } }, "", 0, 0, 0 },
	{ "adds only", { { 2, "b", "1" }, { 2, "a", "1" }, { 0, "z", "" } }, { { 0 } }, "+0:z +2:a +2:b ", 3, 0, 0 },
	{ "removes only", { { 0 } }, { { 1, "x", "1" }, { 1, "w", "2" } }, "-1:w -1:x ", 0, 0, 2 },
	{ "a change of value", { { 1, "a", "1" } }, { { 1, "a", "2" } }, "~1:a ", 0, 1, 0 },
	{ "a change of value length", { { 1, "a", "1" } }, { { 1, "a", "12" } }, "~1:a ", 0, 1, 0 },
	{ "equal sets: no change", { { 1, "a", "1" }, { 3, "b", "2" } }, { { 3, "b", "2" }, { 1, "a", "1" } }, "", 0, 0,
	  0 },
	{ "same key, other kind: an add and a remove", { { 1, "a", "1" } }, { { 2, "a", "1" } }, "+1:a -2:a ", 1, 0, 1 },
	{ "a key that is a prefix of another is another key", { { 1, "ab", "1" } }, { { 1, "a", "1" } },
	  "-1:a +1:ab ", 1, 0, 1 },
	{ "interleaved kinds",
	  { { 0, "e1", "1" }, { 2, "p1", "1" }, { 2, "p3", "3" }, { 4, "f", "1" }, { 6, "m", "x" } },
	  { { 0, "e1", "1" }, { 2, "p2", "2" }, { 2, "p3", "4" }, { 5, "a", "1" }, { 6, "m", "y" } },
	  "+2:p1 -2:p2 ~2:p3 +4:f -5:a ~6:m ", 2, 2, 2 },
	{ "everything removed, everything added",
	  { { 3, "n1", "1" }, { 3, "n2", "1" } }, { { 1, "o1", "1" }, { 5, "o2", "1" } }, "-1:o1 +3:n1 +3:n2 -5:o2 ", 2,
	  0, 2 },
};

static void set_from(struct sl_objset *s, const struct tobj *t)
{
	memset(s, 0, sizeof(*s));
	for (; t->key; t++)
		cr_assert_eq(objset_add(s, t->kind, t->key, strlen(t->key), t->val, strlen(t->val)), 0);
	objset_sort(s);
}

static void change_text(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d, char *buf,
			size_t len)
{
	size_t w = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		const struct sl_objset *s = c->op == SL_OP_REMOVE ? have : want;
		const struct sl_obj *o = &s->v[c->op == SL_OP_REMOVE ? c->have : c->want];

		cr_assert_eq(c->want == SL_DIFF_NONE, c->op == SL_OP_REMOVE, "only a remove has no desired object");
		cr_assert_eq(c->have == SL_DIFF_NONE, c->op == SL_OP_ADD, "only an add has no live object");
		cr_assert_eq(o->kind, c->kind);
		if (c->op == SL_OP_CHANGE)
			cr_assert_eq(obj_cmp(want, &want->v[c->want], have, &have->v[c->have]), 0, "a change has one key");
		w += (size_t)snprintf(buf + w, len - w, "%c%u:%.*s ", "+~-"[c->op], c->kind, o->klen,
				      (const char *)obj_key(s, o));
	}
}

Test(diff, tables)
{
	for (size_t i = 0; i < ARRAY_SIZE(dcases); i++) {
		const struct dcase *c = &dcases[i];
		struct sl_objset want, have;
		struct sl_diff d;
		char got[512];

		set_from(&want, c->want);
		set_from(&have, c->have);
		cr_assert_eq(sl_diff(&want, &have, &d), 0);
		change_text(&want, &have, &d, got, sizeof(got));
		cr_expect_str_eq(got, c->expected, "%s: got '%s', expected '%s'", c->name, got, c->expected);
		cr_expect_eq(d.n, c->add + c->change + c->remove, "%s: number of changes", c->name);
		cr_expect_eq(d.count[SL_OP_ADD], c->add, "%s: adds", c->name);
		cr_expect_eq(d.count[SL_OP_CHANGE], c->change, "%s: changes", c->name);
		cr_expect_eq(d.count[SL_OP_REMOVE], c->remove, "%s: removes", c->name);
		sl_diff_free(&d);
		objset_free(&want);
		objset_free(&have);
	}
}

Test(diff, a_set_against_itself_and_the_reverse)
{
	static const struct tobj a[] = { { 0, "e", "1" }, { 2, "p", "1" }, { 6, "m", "1" }, { 0 } };
	static const struct tobj b[] = { { 0, "e", "2" }, { 3, "q", "1" }, { 0 } };
	struct sl_objset x, y;
	struct sl_diff d;

	set_from(&x, a);
	set_from(&y, b);
	cr_assert_eq(sl_diff(&x, &x, &d), 0);
	cr_expect_eq(d.n, 0);
	sl_diff_free(&d);
	/* the reverse diff swaps adds and removes, keeps changes */
	cr_assert_eq(sl_diff(&x, &y, &d), 0);
	cr_expect_eq(d.count[SL_OP_ADD], 2);
	cr_expect_eq(d.count[SL_OP_REMOVE], 1);
	cr_expect_eq(d.count[SL_OP_CHANGE], 1);
	sl_diff_free(&d);
	cr_assert_eq(sl_diff(&y, &x, &d), 0);
	cr_expect_eq(d.count[SL_OP_ADD], 1);
	cr_expect_eq(d.count[SL_OP_REMOVE], 2);
	cr_expect_eq(d.count[SL_OP_CHANGE], 1);
	sl_diff_free(&d);
	objset_free(&x);
	objset_free(&y);
}

/* ---- plans of compiled states ---- */

/* (allowLocalhost: policy: the entries the rules make, nothing for host;
 * test_compile.c has the default's) */
#define BASE                                                                                      \
	"version: 1\n"                                                                            \
	"node: node-a\n"                                                                          \
	"datapath: {allowLocalhost: policy}\n"                                                    \
	"nodes:\n"                                                                                \
	"  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24]}\n"                         \
	"  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24]}\n"                         \
	"identities:\n"                                                                           \
	"  - {id: 1000, labels: {env: prod, app: web}}\n"                                         \
	"  - {id: 1001, labels: {app: client}}\n"                                                 \
	"  - {id: 1002, labels: {app: db}}\n"                                                     \
	"endpoints:\n"                                                                            \
	"  - {name: web-1, interface: lxc-web1, ipv4: 10.1.0.10, identity: 1000, id: 17}\n"       \
	"  - {name: client-1, interface: lxc-client, ipv4: 10.1.0.30, identity: 1001, id: 30}\n"
#define DB_EP "  - {name: db-1, interface: lxc-db, ipv4: 10.1.0.20, identity: 1002, id: 20}\n"
#define SEL_WEB "  - name: web-in\n    endpointSelector: {matchLabels: {app: web}}\n"
#define WEB_80 "      - {fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}]}\n"

/* One version of a state, compiled. */
struct version {
	struct sl_load ld;
	struct sl_compile_result res;
};

static void version_compile(struct version *v, const char *yaml, const struct sl_compile_prev *prev)
{
	char *d;

	load_text(&v->ld, yaml, true);
	d = diag_lines(&v->ld);
	cr_assert_eq(v->ld.diags.n_errors, 0, "the test's state is invalid:\n%s", d);
	free(d);
	cr_assert_eq(sl_compile(&v->ld.state, prev, &v->res), 0);
}

static void version_free(struct version *v)
{
	sl_compile_result_free(&v->res);
	sl_load_free(&v->ld);
}

/* The plan from have to want, as a string to free. */
static char *plan_of(const struct sl_objset *want, const struct sl_objset *have, const struct sl_state *st,
		     enum sl_plan_format fmt, bool color)
{
	struct sl_diff d;
	struct strbuf out = {};

	cr_assert_eq(sl_diff(want, have, &d), 0);
	cr_assert_eq(sl_plan_render(want, have, &d, st, fmt, color, &out), 0);
	sl_diff_free(&d);
	return out.s ? out.s : strdup("");
}

/* Compile both versions and compare the text plan from old to new. */
static void assert_plan(const char *old_yaml, const char *new_yaml, const char *expected)
{
	struct version old, new;
	char *got;

	version_compile(&old, old_yaml, NULL);
	version_compile(&new, new_yaml, NULL);
	got = plan_of(&new.res.set, &old.res.set, &new.ld.state, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got, expected, "--- got\n%s--- expected\n%s", got, expected);
	free(got);
	version_free(&old);
	version_free(&new);
}

Test(plan, no_changes)
{
	assert_plan(BASE, BASE, "No changes.\n");
}

Test(plan, the_empty_state_has_no_plan)
{
	struct sl_objset none = {};
	struct sl_diff d;
	struct strbuf out = {};

	objset_sort(&none);
	cr_assert_eq(sl_diff(&none, &none, &d), 0);
	cr_assert_eq(sl_plan_render(&none, &none, &d, NULL, SL_PLAN_TEXT, true, &out), 0);
	cr_expect_str_eq(strbuf_str(&out), "No changes.\n");
	strbuf_truncate(&out, 0);
	cr_assert_eq(sl_plan_render(&none, &none, &d, NULL, SL_PLAN_JSON, true, &out), 0);
	cr_expect_str_eq(strbuf_str(&out), "{\"formatVersion\":1,\"changes\":[],\"summary\":{\"add\":0,\"change\":0,\"remove\":0}}\n");
	strbuf_free(&out);
	sl_diff_free(&d);
}

Test(plan, adding_a_policy_rule)
{
	assert_plan(BASE "policies:\n" SEL_WEB "    ingress:\n" WEB_80,
		    BASE "policies:\n" SEL_WEB "    ingress:\n" WEB_80 "      - {fromEntities: [world]}\n",
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  ~ endpoint: ingress levels 1 -> 1,3\n"
		    "  + policy ingress identity 2 (world) any allow\n"
		    "Plan: 1 to add, 1 to change, 0 to remove.\n");
}

/* A range is an entry per port; an ICMP type is said as one, not as the
 * port that stands for it in the key. */
Test(plan, a_port_range_and_icmp_types)
{
	assert_plan(BASE "policies:\n" SEL_WEB "    ingress:\n" WEB_80,
		    BASE "policies:\n" SEL_WEB "    ingress:\n"
		    "      - fromEndpoints: [{matchLabels: {app: client}}]\n"
		    "        toPorts: [{ports: [{port: 80, endPort: 81, protocol: TCP}]}]\n"
		    "        icmps: [{fields: [{type: EchoRequest}, {type: EchoRequest, family: IPv6}]}]\n",
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  + policy ingress identity 1001 (app=client) type 8/ICMP allow\n"
		    "  + policy ingress identity 1001 (app=client) 81/TCP allow\n"
		    "  + policy ingress identity 1001 (app=client) type 128/ICMPv6 allow\n"
		    "Plan: 3 to add, 0 to change, 0 to remove.\n");
}

Test(plan, a_new_endpoint_and_its_policy)
{
	assert_plan(BASE, BASE "policies:\n" SEL_WEB "    ingress:\n" WEB_80,
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  ~ endpoint: enforce none -> ingress, ingress levels none -> 1\n"
		    "  + policy ingress identity 1001 (app=client) 80/TCP allow\n"
		    "Plan: 1 to add, 1 to change, 0 to remove.\n");
	assert_plan("version: 1\n", BASE,
		    "endpoint client-1 (lxc-client, id 30)\n"
		    "  + endpoint identity 1001 (app=client) enforce none\n"
		    "  + attach tc ingress lxc-client\n"
		    "  + attach tc egress lxc-client\n"
		    "  + name client-1\n"
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  + endpoint identity 1000 (app=web,env=prod) enforce none\n"
		    "  + attach tc ingress lxc-web1\n"
		    "  + attach tc egress lxc-web1\n"
		    "  + name web-1\n"
		    /* the labels the monitor says */
		    "identities\n"
		    "  + identity 1000 labels app=web,env=prod\n"
		    "  + identity 1001 labels app=client\n"
		    "  + identity 1002 labels app=db\n"
		    /* in key order: the prefix length comes first */
		    "ipcache\n"
		    "  + ipcache 10.2.0.0/24 identity 2 (world) via 192.168.50.2\n"
		    "  + ipcache 10.1.0.10/32 identity 1000 (app=web,env=prod)\n"
		    "  + ipcache 10.1.0.30/32 identity 1001 (app=client)\n"
		    "  + ipcache 192.168.50.1/32 identity 1 (host)\n"
		    "  + ipcache 192.168.50.2/32 identity 6 (remote-node)\n"
		    "Plan: 16 to add, 0 to change, 0 to remove.\n");
}

Test(plan, removing_an_endpoint)
{
	/* st is the new state: it no longer names lxc-db, so the header has
	 * only what the objects say */
	assert_plan(BASE DB_EP "policies:\n"
			       "  - name: db-in\n    endpointSelector: {matchLabels: {app: db}}\n"
			       "    ingress: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: 5432, protocol: TCP}]}]}]\n",
		    BASE "policies:\n"
			 "  - name: db-in\n    endpointSelector: {matchLabels: {app: db}}\n"
			 "    ingress: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: 5432, protocol: TCP}]}]}]\n",
		    "endpoint lxc-db (id 20)\n"
		    "  - endpoint identity 1002 (app=db) enforce ingress\n"
		    "  - policy ingress identity 1000 (app=web,env=prod) 5432/TCP allow\n"
		    "  - attach tc ingress lxc-db\n"
		    "  - attach tc egress lxc-db\n"
		    "  - name db-1\n"
		    "ipcache\n"
		    "  - ipcache 10.1.0.20/32 identity 1002 (app=db)\n"
		    "Plan: 0 to add, 0 to change, 6 to remove.\n");
}

Test(plan, policy_ports_verdicts_and_proxies)
{
	const char *v1 = BASE "policies:\n" SEL_WEB
			      "    ingress:\n"
			      "      - {toPorts: [{ports: [{port: 8080, protocol: TCP}], proxyPort: 15001}]}\n"
			      "      - {toPorts: [{ports: [{protocol: UDP}]}]}\n"
			      "    ingressDeny: [{fromEntities: [world]}]\n";
	const char *v2 = BASE "policies:\n" SEL_WEB
			      "    ingress:\n"
			      "      - {toPorts: [{ports: [{port: 8080, protocol: TCP}], proxyPort: 15002}]}\n"
			      "      - {toPorts: [{ports: [{protocol: UDP}]}]}\n"
			      "    ingressDeny: [{fromEntities: [world]}, {toPorts: [{ports: [{protocol: UDP}]}]}]\n";

	assert_plan(BASE, v1,
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  ~ endpoint: enforce none -> ingress, ingress levels none -> 3,4,5\n"
		    "  + policy ingress identity 2 (world) any deny\n"
		    "  + policy ingress any peer 8080/TCP allow via proxy 15001\n"
		    "  + policy ingress any peer any/UDP allow\n"
		    "routes\n"
		    "  + route local 0.0.0.0/0 dev lo table 20928\n"
		    "  + rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928\n"
		    "Plan: 5 to add, 1 to change, 0 to remove.\n");
	assert_plan(v1, v2,
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  ~ policy ingress any peer 8080/TCP: allow via proxy 15001 -> allow via proxy 15002\n"
		    "  ~ policy ingress any peer any/UDP: allow -> deny\n"
		    "Plan: 0 to add, 2 to change, 0 to remove.\n");
}

Test(plan, cidr_identities_are_named_by_their_prefix)
{
	assert_plan(BASE,
		    BASE "policies:\n" SEL_WEB
			 "    egress: [{toCIDR: [198.51.100.0/24, 192.0.2.0/24], toPorts: [{ports: [{port: 443, protocol: TCP}]}]}]\n",
		    "endpoint web-1 (lxc-web1, id 17)\n"
		    "  ~ endpoint: enforce none -> egress, egress levels none -> 1\n"
		    "  + policy egress identity 16777216 (cidr 192.0.2.0/24) 443/TCP allow\n"
		    "  + policy egress identity 16777217 (cidr 198.51.100.0/24) 443/TCP allow\n"
		    "ipcache\n"
		    "  + ipcache 192.0.2.0/24 identity 16777216 (cidr 192.0.2.0/24)\n"
		    "  + ipcache 198.51.100.0/24 identity 16777217 (cidr 198.51.100.0/24)\n"
		    "Plan: 4 to add, 1 to change, 0 to remove.\n");
}

#define ENC_NODES(b_ip, b_keys)                                                                          \
	"version: 1\n"                                                                                  \
	"node: node-a\n"                                                                                \
	"datapath: {underlayDevice: eth0}\n"                                                            \
	"nodes:\n"                                                                                      \
	"  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3, 4]}\n"          \
	"  - {name: node-b, ip: " b_ip ", podCIDRs: [10.2.0.0/24], encryptKeys: " b_keys "}\n"          \
	"encryption:\n  enabled: true\n  keys:\n"                                                       \
	"    - {spi: 3, aead: rfc4106(gcm(aes)), key: '0123456789abcdef0123456789abcdef01234567'}\n"   \
	"    - {spi: 4, aead: rfc4106(gcm(aes)), key: '0123456789abcdef0123456789abcdef01234567'}\n"   \
	"identities:\n"                                                                                 \
	"  - {id: 1001, labels: {app: client}}\n"
#define REMOTE_EP "endpoints:\n  - {name: client-2, ipv4: 10.2.0.40, identity: 1001, node: node-b}\n"

Test(plan, a_remote_ipcache_entry)
{
	assert_plan(ENC_NODES("192.168.50.2", "[3]"), ENC_NODES("192.168.50.2", "[3]") REMOTE_EP,
		    "ipcache\n"
		    "  + ipcache 10.2.0.40/32 identity 1001 (app=client) via 192.168.50.2 key 3\n"
		    "Plan: 1 to add, 0 to change, 0 to remove.\n");
	/* the node moves and changes keys: every entry routed through it changes */
	assert_plan(ENC_NODES("192.168.50.2", "[3]") REMOTE_EP, ENC_NODES("192.168.50.9", "[4]") REMOTE_EP,
		    "ipcache\n"
		    "  ~ ipcache 10.2.0.0/24: via 192.168.50.2 -> 192.168.50.9, key 3 -> 4\n"
		    "  ~ ipcache 10.2.0.40/32: via 192.168.50.2 -> 192.168.50.9, key 3 -> 4\n"
		    "  - ipcache 192.168.50.2/32 identity 6 (remote-node)\n"
		    "  + ipcache 192.168.50.9/32 identity 6 (remote-node)\n"
		    "Plan: 1 to add, 2 to change, 1 to remove.\n");
}

Test(plan, prefilter)
{
	const char *v1 = BASE "prefilter:\n  device: eth0\n  xdpMode: generic\n  deny: [203.0.113.0/24, 198.51.100.7]\n";
	const char *v2 = BASE "prefilter:\n  device: eth0\n  xdpMode: native\n  deny: [203.0.113.0/24, '2001:db8::/32']\n";

	assert_plan(BASE, v1,
		    "prefilter\n"
		    "  + prefilter deny 203.0.113.0/24\n"
		    "  + prefilter deny 198.51.100.7/32\n"
		    "  + attach xdp eth0 generic\n"
		    "Plan: 3 to add, 0 to change, 0 to remove.\n");
	assert_plan(v1, v2,
		    "prefilter\n"
		    "  - prefilter deny 198.51.100.7/32\n"
		    "  + prefilter deny 2001:db8::/32\n"
		    "  ~ attach xdp eth0: mode generic -> native\n"
		    "Plan: 1 to add, 1 to change, 1 to remove.\n");
}

Test(plan, attach_digest)
{
	struct sl_compile_prev p_old = { .prog_digest = { [SL_PROG_FROM_ENDPOINT] = 0xa1, [SL_PROG_TO_ENDPOINT] = 0 } };
	struct sl_compile_prev p_new = { .prog_digest = { [SL_PROG_FROM_ENDPOINT] = 0xb2, [SL_PROG_TO_ENDPOINT] = 0xc3 } };
	const char *expected = "endpoint client-1 (lxc-client, id 30)\n"
			       "  ~ attach tc ingress lxc-client: program changed\n"
			       "  ~ attach tc egress lxc-client: program changed (not sluice's current build)\n"
			       "endpoint web-1 (lxc-web1, id 17)\n"
			       "  ~ attach tc ingress lxc-web1: program changed\n"
			       "  ~ attach tc egress lxc-web1: program changed (not sluice's current build)\n"
			       "Plan: 0 to add, 4 to change, 0 to remove.\n";
	struct version old, new;
	char *got;

	version_compile(&old, BASE, &p_old);
	version_compile(&new, BASE, &p_new);
	got = plan_of(&new.res.set, &old.res.set, &new.ld.state, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got, expected, "--- got\n%s--- expected\n%s", got, expected);
	free(got);
	/* without the state: interface names only */
	got = plan_of(&new.res.set, &old.res.set, NULL, SL_PLAN_TEXT, false);
	cr_expect(strstr(got, "endpoint lxc-web1 (id 17)\n  ~ attach tc ingress lxc-web1: program changed\n"), "%s", got);
	free(got);
	version_free(&old);
	version_free(&new);
}

/* Whether python reads doc as one JSON document. */
static bool json_valid(const char *doc)
{
	FILE *p = popen("/usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)'", "w");

	cr_assert_not_null(p);
	fputs(doc, p);
	return pclose(p) == 0;
}

/* ---- plans of sets built by hand ---- */

static void add_map(struct sl_objset *s, const char *name, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max,
		    uint32_t flags)
{
	struct sl_map_key k = { { 0 } };
	struct sl_map_value v = { .type = type, .key_size = ks, .value_size = vs, .max_entries = max, .flags = flags };

	snprintf(k.name, sizeof(k.name), "%s", name);
	cr_assert_eq(objset_add(s, SL_OBJ_MAP, &k, sizeof(k), &v, sizeof(v)), 0);
}

static void add_attach(struct sl_objset *s, const char *ifname, uint8_t hook, uint8_t prog, uint8_t mode,
		       uint64_t digest)
{
	struct sl_attach_key k = { .hook = hook };
	struct sl_attach_value v = { .prog = prog, .xdp_mode = mode, .digest = digest };

	snprintf(k.ifname, sizeof(k.ifname), "%s", ifname);
	cr_assert_eq(objset_add(s, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v)), 0);
}

static void add_policy(struct sl_objset *s, uint16_t ep_id, uint8_t dir, uint32_t id, uint8_t proto, uint16_t port,
		       uint8_t flags, uint16_t proxy)
{
	struct sl_policy_key k = { .ep_id = ep_id, .dir = dir, .proto = proto, .dport = htons(port), .identity = id };
	struct sl_policy_value v = { .flags = flags, .proxy_port = proxy };

	cr_assert_eq(objset_add(s, SL_OBJ_POLICY, &k, sizeof(k), &v, sizeof(v)), 0);
}

Test(plan, maps)
{
	struct sl_objset want = {}, have = {};
	char *got;

	add_map(&want, "sluice_ct4_tcp", BPF_MAP_TYPE_LRU_HASH, 16, 40, 524288, 0);
	add_map(&want, "sluice_ipcache", BPF_MAP_TYPE_LPM_TRIE, 24, 24, 524288, BPF_F_NO_PREALLOC);
	add_map(&want, "sluice_policy", BPF_MAP_TYPE_HASH, 12, 4, 1048576, 0);
	add_map(&want, "sluice_drops", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 16, 12, 0);
	add_map(&have, "sluice_ct4_tcp", BPF_MAP_TYPE_LRU_HASH, 16, 40, 262144, 0);
	add_map(&have, "sluice_ipcache", BPF_MAP_TYPE_LPM_TRIE, 20, 24, 524288, BPF_F_NO_PREALLOC);
	add_map(&have, "sluice_events", BPF_MAP_TYPE_RINGBUF, 0, 0, 262144, 0);
	add_map(&have, "sluice_drops", BPF_MAP_TYPE_ARRAY, 4, 16, 11, 1);
	objset_sort(&want);
	objset_sort(&have);
	got = plan_of(&want, &have, NULL, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got,
			 "maps\n"
			 "  ~ map sluice_ct4_tcp: max 262144 -> 524288 (migrated: entries carried over)\n"
			 "  ~ map sluice_drops: type array -> percpu_array, max 11 -> 12, flags 0x1 -> 0x0 "
			 "(recreated: entries dropped)\n"
			 "  - map sluice_events ringbuf key 0 value 0 max 262144\n"
			 "  ~ map sluice_ipcache: key 20 -> 24 (recreated: entries dropped)\n"
			 "  + map sluice_policy hash key 12 value 4 max 1048576\n"
			 "Plan: 1 to add, 3 to change, 1 to remove.\n",
			 "%s", got);
	free(got);
	objset_free(&want);
	objset_free(&have);
}

static void add_prog(struct sl_objset *s, uint8_t prog, uint64_t digest, uint8_t current)
{
	struct sl_prog_key k = { .prog = prog, .digest = digest };
	struct sl_prog_value v = { .current = current };

	cr_assert_eq(objset_add(s, SL_OBJ_PROG, &k, sizeof(k), &v, sizeof(v)), 0);
}

Test(plan, programs)
{
	struct sl_objset want = {}, have = {};
	char *got;

	add_prog(&want, SL_PROG_FROM_ENDPOINT, 0xb2, 1);
	add_prog(&want, SL_PROG_TO_ENDPOINT, 0xc3, 1);
	add_prog(&have, SL_PROG_FROM_ENDPOINT, 0xa1, 0);
	add_prog(&have, SL_PROG_TO_ENDPOINT, 0xc3, 0);
	objset_sort(&want);
	objset_sort(&have);
	got = plan_of(&want, &have, NULL, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got,
			 "programs\n"
			 "  - program from_endpoint 00000000000000a1 stale (bound to replaced maps or devices, or its twin with events gone)\n"
			 "  + program from_endpoint 00000000000000b2\n"
			 "  ~ program to_endpoint 00000000000000c3: stale (bound to replaced maps or devices, or its twin with events gone) -> current\n"
			 "Plan: 1 to add, 1 to change, 1 to remove.\n",
			 "%s", got);
	free(got);
	got = plan_of(&want, &have, NULL, SL_PLAN_JSON, false);
	cr_expect(json_valid(got), "not JSON:\n%s", got);
	cr_expect(strstr(got, "{\"op\":\"add\",\"kind\":\"program\",\"object\":\"program from_endpoint 00000000000000b2\","
			      "\"group\":\"programs\",\"before\":null,\"after\":{\"program\":\"from_endpoint\","
			      "\"digest\":\"00000000000000b2\",\"current\":true}}"),
		  "%s", got);
	free(got);
	objset_free(&want);
	objset_free(&have);
}

Test(plan, every_group_in_order)
{
	struct sl_objset want = {}, have = {};
	struct sl_endpoint_value ev = { .identity = 1000, .id = 17, .flags = SL_EP_ENFORCE_EGRESS,
					.policy_levels = { SL_POLICY_LEVELS_KNOWN, SL_POLICY_LEVELS_KNOWN } };
	char ifname[16] = "lxc-a";
	struct { uint32_t len; uint8_t addr[4]; } pf = { 24, { 203, 0, 113, 0 } };
	uint8_t one = 1;
	char *got;

	add_map(&want, "sluice_policy", BPF_MAP_TYPE_HASH, 12, 4, 1024, 0);
	cr_assert_eq(objset_add(&want, SL_OBJ_PREFILTER4, &pf, sizeof(pf), &one, 1), 0);
	add_attach(&want, "eth0", SL_HOOK_XDP, SL_PROG_PREFILTER, SL_XDP_GENERIC, 7);
	add_attach(&have, "eth0", SL_HOOK_XDP, SL_PROG_PREFILTER, SL_XDP_GENERIC, 7);
	cr_assert_eq(objset_add(&want, SL_OBJ_ENDPOINT, ifname, 16, &ev, sizeof(ev)), 0);
	/* lxc-b sorts after lxc-a but its attach kind sorts after every
	 * endpoint: it must still be grouped under lxc-b, after lxc-a */
	add_attach(&want, "lxc-b", SL_HOOK_TC_INGRESS, SL_PROG_FROM_ENDPOINT, 0, 1);
	add_policy(&want, 17, SL_DIR_EGRESS, 0, 0, 0, 0, 0);
	/* an endpoint id no endpoint has, in the live set */
	add_policy(&have, 99, SL_DIR_INGRESS, 1, 17, 53, SL_POLICY_DENY, 0);
	/* a kind the renderer does not know, and a known kind of another size */
	cr_assert_eq(objset_add(&have, 200, "k", 1, "v", 1), 0);
	cr_assert_eq(objset_add(&want, SL_OBJ_IPCACHE, "ab", 2, "\x01", 1), 0);
	objset_sort(&want);
	objset_sort(&have);
	got = plan_of(&want, &have, NULL, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got,
			 "endpoint lxc-a (id 17)\n"
			 "  + endpoint identity 1000 enforce egress\n"
			 "  + policy egress any peer any allow\n"
			 "endpoint lxc-b\n"
			 "  + attach tc ingress lxc-b\n"
			 "endpoint id 99 (gone)\n"
			 "  - policy ingress identity 1 (host) 53/UDP deny\n"
			 "prefilter\n"
			 "  + prefilter deny 203.0.113.0/24\n"
			 "maps\n"
			 "  + map sluice_policy hash key 12 value 4 max 1024\n"
			 "other\n"
			 "  + ipcache (unexpected size) key 6162 value 01\n"
			 "  - object kind 200 key 6b value 76\n"
			 "Plan: 6 to add, 0 to change, 2 to remove.\n",
			 "%s", got);
	free(got);
	got = plan_of(&want, &have, NULL, SL_PLAN_JSON, false);
	cr_expect(strstr(got, "{\"op\":\"remove\",\"kind\":\"unknown\",\"object\":\"object kind 200 key 6b value 76\","
			      "\"group\":\"other\",\"before\":{\"key\":\"6b\",\"value\":\"76\"},\"after\":null}"),
		  "%s", got);
	free(got);
	objset_free(&want);
	objset_free(&have);
}

Test(plan, endpoint_ids_move_between_interfaces)
{
	/* lxc-a had id 5 and has 6; lxc-b now has 5: a policy entry of id 5
	 * belongs to lxc-a in the live set and to lxc-b in the desired one */
	struct sl_objset want = {}, have = {};
	struct sl_endpoint_value a_old = { .identity = 1000, .id = 5 }, a_new = { .identity = 1000, .id = 6 };
	struct sl_endpoint_value b_new = { .identity = 1001, .id = 5 };
	char a[16] = "lxc-a", b[16] = "lxc-b";
	char *got;

	cr_assert_eq(objset_add(&have, SL_OBJ_ENDPOINT, a, 16, &a_old, sizeof(a_old)), 0);
	cr_assert_eq(objset_add(&want, SL_OBJ_ENDPOINT, a, 16, &a_new, sizeof(a_new)), 0);
	cr_assert_eq(objset_add(&want, SL_OBJ_ENDPOINT, b, 16, &b_new, sizeof(b_new)), 0);
	add_policy(&have, 5, SL_DIR_INGRESS, 2, 6, 22, 0, 0);
	add_policy(&want, 5, SL_DIR_INGRESS, 2, 6, 443, 0, 0);
	objset_sort(&want);
	objset_sort(&have);
	got = plan_of(&want, &have, NULL, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got,
			 "endpoint lxc-a (id 6)\n"
			 "  ~ endpoint: id 5 -> 6\n"
			 "  - policy ingress identity 2 (world) 22/TCP allow\n"
			 "endpoint lxc-b (id 5)\n"
			 "  + endpoint identity 1001 enforce none\n"
			 "  + policy ingress identity 2 (world) 443/TCP allow\n"
			 "Plan: 2 to add, 1 to change, 1 to remove.\n",
			 "%s", got);
	free(got);
	/* levels not filled in: null (every level is looked up) */
	got = plan_of(&want, &have, NULL, SL_PLAN_JSON, false);
	cr_expect(strstr(got, "\"after\":{\"interface\":\"lxc-b\",\"id\":5,\"identity\":1001,\"enforce_ingress\":false,"
			      "\"enforce_egress\":false,\"ingress_levels\":null,\"egress_levels\":null}"),
		  "%s", got);
	free(got);
	objset_free(&want);
	objset_free(&have);
}

/* ---- JSON ---- */

Test(plan, json)
{
	struct version old, new;
	struct sl_compile_prev prev = { .prog_digest = { 0x0123456789abcdefull, 2, 3 } };
	char *got;

	version_compile(&old, BASE DB_EP "policies:\n" SEL_WEB "    ingress:\n" WEB_80, &prev);
	version_compile(&new,
			BASE "policies:\n" SEL_WEB "    ingress:\n" WEB_80 "      - {fromEntities: [world]}\n"
			"prefilter: {device: eth0, deny: [\"2001:db8::/32\"]}\n",
			&prev);
	got = plan_of(&new.res.set, &old.res.set, &new.ld.state, SL_PLAN_JSON, true);
	cr_expect(json_valid(got), "not JSON:\n%s", got);
	cr_expect_eq(strncmp(got, "{\"formatVersion\":1,\"changes\":[{", 31), 0, "%s", got);
	cr_expect(strstr(got, "{\"op\":\"change\",\"kind\":\"endpoint\",\"object\":\"endpoint: ingress levels 1 -> 1,3\","
			      "\"group\":\"endpoint web-1 (lxc-web1, id 17)\","
			      "\"before\":{\"interface\":\"lxc-web1\",\"id\":17,\"identity\":1000,\"enforce_ingress\":true,"
			      "\"enforce_egress\":false,\"ingress_levels\":[1],\"egress_levels\":[]},"
			      "\"after\":{\"interface\":\"lxc-web1\",\"id\":17,\"identity\":1000,\"enforce_ingress\":true,"
			      "\"enforce_egress\":false,\"ingress_levels\":[1,3],\"egress_levels\":[]}}"),
		  "%s", got);
	cr_expect(strstr(got, "{\"op\":\"add\",\"kind\":\"policy\",\"object\":\"policy ingress identity 2 (world) any allow\","
			      "\"group\":\"endpoint web-1 (lxc-web1, id 17)\",\"before\":null,"
			      "\"after\":{\"endpoint_id\":17,\"direction\":\"ingress\",\"identity\":2,\"protocol\":\"any\","
			      "\"port\":0,\"verdict\":\"allow\",\"proxy_port\":0}}"),
		  "%s", got);
	cr_expect(strstr(got, "{\"op\":\"remove\",\"kind\":\"attach\",\"object\":\"attach tc ingress lxc-db\","
			      "\"group\":\"endpoint lxc-db (id 20)\",\"before\":{\"device\":\"lxc-db\",\"hook\":\"tc ingress\","
			      "\"program\":\"from_endpoint\",\"digest\":\"0123456789abcdef\"},\"after\":null}"),
		  "%s", got);
	cr_expect(strstr(got, "{\"op\":\"remove\",\"kind\":\"ipcache\",\"object\":\"ipcache 10.1.0.20/32 identity 1002 (app=db)\","
			      "\"group\":\"ipcache\",\"before\":{\"prefix\":\"10.1.0.20/32\",\"identity\":1002,\"tunnel\":null,"
			      "\"key\":0,\"remote\":false},\"after\":null}"),
		  "%s", got);
	cr_expect(strstr(got, "{\"op\":\"add\",\"kind\":\"attach\",\"object\":\"attach xdp eth0 native\",\"group\":\"prefilter\","
			      "\"before\":null,\"after\":{\"device\":\"eth0\",\"hook\":\"xdp\",\"program\":\"prefilter\","
			      "\"digest\":\"0000000000000003\",\"xdp_mode\":\"native\"}}"),
		  "%s", got);
	cr_expect(strstr(got, "\"kind\":\"prefilter\",\"object\":\"prefilter deny 2001:db8::/32\""), "%s", got);
	cr_expect(strstr(got, "{\"op\":\"remove\",\"kind\":\"endpoint name\",\"object\":\"name db-1\","
			      "\"group\":\"endpoint lxc-db (id 20)\",\"before\":{\"name\":\"db-1\"},\"after\":null}"),
		  "%s", got);
	cr_expect(!strchr(got, '\033'), "no colour in JSON");
	{
		const char *tail = "],\"summary\":{\"add\":3,\"change\":1,\"remove\":5}}\n";
		size_t n = strlen(got), t = strlen(tail);

		cr_expect(n > t && !strcmp(got + n - t, tail), "%s", got);
	}
	free(got);
	version_free(&old);
	version_free(&new);
}

Test(plan, maps_and_remote_entries_in_text_and_json)
{
	struct sl_objset want = {}, have = {};
	struct sl_ipcache_key k = { .prefixlen = SL_IPCACHE_PREFIX_BITS(24), .family = 4, .addr = { 10, 2, 0, 0 } };
	struct sl_ipcache_value v = { .identity = 2, .tunnel_addr = { 192, 168, 50, 2 }, .tunnel_family = 4, .key = 3,
				      .flags = SL_IPCACHE_REMOTE };
	char *got;

	add_map(&want, "sluice_policy", BPF_MAP_TYPE_HASH, 12, 4, 1024, 0);
	add_map(&have, "sluice_policy", BPF_MAP_TYPE_HASH, 12, 4, 2048, 0);
	cr_assert_eq(objset_add(&want, SL_OBJ_IPCACHE, &k, sizeof(k), &v, sizeof(v)), 0);
	v = (struct sl_ipcache_value){ .identity = 2 };
	cr_assert_eq(objset_add(&have, SL_OBJ_IPCACHE, &k, sizeof(k), &v, sizeof(v)), 0);
	objset_sort(&want);
	objset_sort(&have);
	got = plan_of(&want, &have, NULL, SL_PLAN_TEXT, false);
	cr_expect_str_eq(got,
			 "ipcache\n"
			 "  ~ ipcache 10.2.0.0/24: via none -> 192.168.50.2, key none -> 3, remote no -> yes\n"
			 "maps\n"
			 "  ~ map sluice_policy: max 2048 -> 1024 (migrated: entries carried over)\n"
			 "Plan: 0 to add, 2 to change, 0 to remove.\n",
			 "%s", got);
	free(got);
	got = plan_of(&want, &have, NULL, SL_PLAN_JSON, false);
	cr_expect(json_valid(got), "not JSON:\n%s", got);
	cr_expect(strstr(got, "\"before\":{\"prefix\":\"10.2.0.0/24\",\"identity\":2,\"tunnel\":null,\"key\":0,"
			      "\"remote\":false},"
			      "\"after\":{\"prefix\":\"10.2.0.0/24\",\"identity\":2,\"tunnel\":\"192.168.50.2\",\"key\":3,"
			      "\"remote\":true}"),
		  "%s", got);
	cr_expect(strstr(got, "\"object\":\"map sluice_policy: max 2048 -> 1024 (migrated: entries carried over)\","
			      "\"group\":\"maps\",\"before\":{\"name\":\"sluice_policy\",\"type\":\"hash\",\"keySize\":12,"
			      "\"valueSize\":4,\"maxEntries\":2048,\"flags\":0},\"after\":{\"name\":\"sluice_policy\","
			      "\"type\":\"hash\",\"keySize\":12,\"valueSize\":4,\"maxEntries\":1024,\"flags\":0}}"),
		  "%s", got);
	free(got);
	objset_free(&want);
	objset_free(&have);
}

/* ---- colour ---- */

Test(plan, color)
{
	struct version old, new;
	char *plain, *colored;

	version_compile(&old, BASE DB_EP, NULL);
	version_compile(&new, BASE "policies:\n" SEL_WEB "    ingress:\n" WEB_80, NULL);
	plain = plan_of(&new.res.set, &old.res.set, &new.ld.state, SL_PLAN_TEXT, false);
	colored = plan_of(&new.res.set, &old.res.set, &new.ld.state, SL_PLAN_TEXT, true);
	cr_expect(!strchr(plain, '\033'), "%s", plain);
	cr_expect(strstr(colored, "  \033[32m+\033[0m policy ingress identity 1001 (app=client) 80/TCP allow\n"), "%s",
		  colored);
	cr_expect(strstr(colored, "  \033[33m~\033[0m endpoint: "), "%s", colored);
	cr_expect(strstr(colored, "  \033[31m-\033[0m attach tc ingress lxc-db\n"), "%s", colored);
	cr_expect(strstr(colored, "\033[1mendpoint lxc-db (id 20)\033[0m\n"), "%s", colored);
	/* the same text once the escapes are gone */
	{
		char *w = colored;

		for (const char *r = colored; *r;) {
			if (*r == '\033') {
				r = strchr(r, 'm') + 1;
				continue;
			}
			*w++ = *r++;
		}
		*w = '\0';
	}
	cr_expect_str_eq(colored, plain);
	free(plain);
	free(colored);
	version_free(&old);
	version_free(&new);
}

/* ---- services: lines per backend, never slot bytes ---- */

#define SVC_HEAD "version: 1\nservices:\n  - name: web\n    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}\n"

/* The new version is compiled against the old as the live set, as apply
 * does, so that backend ids carry over. */
static void assert_service_plan(const char *old_yaml, const char *new_yaml, const char *expected,
				size_t add, size_t change, size_t remove)
{
	struct version old, new;
	struct sl_compile_prev prev = {};
	char(*names)[17] = NULL;
	struct sl_diff d;
	struct strbuf out = {};
	size_t counts[SL_CHANGE_OPS];
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	version_compile(&old, old_yaml, NULL);
	sl_compile_prev_from_live(&old.res.set, &prev, &names);
	version_compile(&new, new_yaml, &prev);
	cr_assert_eq(sl_diff(&new.res.set, &old.res.set, &d), 0);
	cr_assert_eq(sl_plan_render(&new.res.set, &old.res.set, &d, &new.ld.state, SL_PLAN_TEXT, false, &out), 0);
	cr_expect_str_eq(strbuf_str(&out), expected, "--- got\n%s--- expected\n%s", strbuf_str(&out), expected);
	f = open_memstream(&buf, &len);
	cr_assert_eq(sl_plan_write(&new.res.set, &old.res.set, &d, &new.ld.state, SL_PLAN_JSON, false, f, counts), 0);
	fclose(f);
	cr_expect(json_valid(buf), "JSON:\n%s", buf);
	cr_expect(counts[SL_OP_ADD] == add && counts[SL_OP_CHANGE] == change && counts[SL_OP_REMOVE] == remove,
		  "counted %zu/%zu/%zu lines", counts[SL_OP_ADD], counts[SL_OP_CHANGE], counts[SL_OP_REMOVE]);
	free(buf);
	strbuf_free(&out);
	sl_diff_free(&d);
	sl_compile_prev_free(&prev, names);
	version_free(&old);
	version_free(&new);
}

Test(plan, service_backends_come_go_and_change)
{
	assert_service_plan(SVC_HEAD "    backends:\n"
				     "      - {ip: 10.1.0.10, port: 8080}\n"
				     "      - {ip: 10.1.0.11, port: 8080}\n"
				     "      - {ip: 10.1.0.12, port: 8080}\n",
			    SVC_HEAD "    backends:\n"
				     "      - {ip: 10.1.0.10, port: 8080, state: terminating}\n"
				     "      - {ip: 10.1.0.11, port: 8080, weight: 2}\n"
				     "      - {ip: 10.1.0.13, port: 8080}\n",
			    "service web 10.96.0.10:80/TCP\n"
			    "  ~ backend 10.1.0.10:8080: active -> terminating\n"
			    "  ~ backend 10.1.0.11:8080: weight 1 -> 2\n"
			    "  - backend 10.1.0.12:8080 weight 1\n"
			    "  + backend 10.1.0.13:8080 weight 1\n"
			    "Plan: 1 to add, 2 to change, 1 to remove.\n",
			    1, 2, 1);
}

Test(plan, a_service_added_and_one_emptied)
{
	assert_service_plan("version: 1\nservices:\n  - name: api\n"
			    "    frontend: {ip: 10.96.0.20, port: 443, protocol: TCP}\n"
			    "    backends: [{ip: 10.1.0.20}]\n",
			    "version: 1\nservices:\n  - name: api\n"
			    "    frontend: {ip: 10.96.0.20, port: 443, protocol: TCP}\n"
			    "    backends: []\n"
			    "  - name: dns\n    frontend: {ip: \"fd00:96::53\", port: 53, protocol: UDP}\n"
			    "    backends: [{ip: \"fd00:1::53\"}, {ip: \"fd00:1::54\", weight: 3}]\n",
			    "service api 10.96.0.20:443/TCP\n"
			    "  - backend 10.1.0.20:443 weight 1\n"
			    "service dns [fd00:96::53]:53/UDP\n"
			    "  + service [fd00:96::53]:53/UDP\n"
			    "  + backend [fd00:1::53]:53 weight 1\n"
			    "  + backend [fd00:1::54]:53 weight 3\n"
			    "Plan: 3 to add, 0 to change, 1 to remove.\n",
			    3, 0, 1);
}

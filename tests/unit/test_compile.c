/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy resolution, case by case: a small state, and the exact endpoint
 * and policy entries it compiles to, rendered as text.
 */
#include <arpa/inet.h>

#include <sluice/abi.h>

#include "helpers.h"
/* after criterion.h: included first, it leaves Test() defined as a stub */
#include <criterion/parameterized.h>
#include "reconcile/compile.h"

/* Three local endpoints and a remote one; four identities. */
#define BASE                                                                 \
	"version: 1\n"                                                       \
	"node: node-a\n"                                                     \
	"nodes:\n"                                                           \
	"  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24]}\n"    \
	"  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24]}\n"    \
	"identities:\n"                                                      \
	"  - {id: 1000, labels: {app: web, tier: front}}\n"                  \
	"  - {id: 1001, labels: {app: client}}\n"                            \
	"  - {id: 1002, labels: {app: db, tier: back}}\n"                    \
	"  - {id: 1003, labels: {app: scraper}}\n"                           \
	"endpoints:\n"                                                       \
	"  - {name: web-1, interface: lxc-web, ipv4: 10.1.0.10, identity: 1000, id: 10}\n" \
	"  - {name: db-1, interface: lxc-db, ipv4: 10.1.0.20, identity: 1002, id: 20}\n"   \
	"  - {name: client-1, interface: lxc-client, ipv4: 10.1.0.30, identity: 1001, id: 30}\n" \
	"  - {name: scraper-1, ipv4: 10.2.0.40, identity: 1003, node: node-b}\n"

struct ccase {
	const char *name;
	const char *state; /* appended to BASE */
	const char *expected;
};

static const char *ifname_of(const struct sl_objset *s, uint16_t id)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sl_endpoint_value *v = obj_val(s, &s->v[i]);

		if (s->v[i].kind == SL_OBJ_ENDPOINT && v->id == id)
			return obj_key(s, &s->v[i]);
	}
	return "?";
}

static void render_policy(const struct sl_objset *s, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");

	for (size_t i = 0; i < s->n; i++) {
		const struct sl_obj *o = &s->v[i];

		if (o->kind == SL_OBJ_ENDPOINT) {
			const struct sl_endpoint_value *v = obj_val(s, o);

			fprintf(f, "endpoint %s id=%u enforce=%s\n", (const char *)obj_key(s, o), v->id,
				(v->flags & 3) == 3 ? "in,out" : v->flags & SL_EP_ENFORCE_INGRESS ? "in"
								 : v->flags & SL_EP_ENFORCE_EGRESS ? "out" : "none");
		} else if (o->kind == SL_OBJ_POLICY) {
			const struct sl_policy_key *k = obj_key(s, o);
			const struct sl_policy_value *v = obj_val(s, o);
			char id[16], proto[32];

			if (k->identity)
				snprintf(id, sizeof(id), "%u", k->identity);
			else
				snprintf(id, sizeof(id), "any");
			if (!k->proto)
				snprintf(proto, sizeof(proto), "any");
			else if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
				/* the type as it stands in the key: 0x100 | type */
				snprintf(proto, sizeof(proto), "%s/0x%x", k->proto == IPPROTO_ICMP ? "icmp" : "icmp6",
					 ntohs(k->dport));
			else
				snprintf(proto, sizeof(proto), "%s%s%.0u",
					 k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : k->proto == 132 ? "sctp" : "?",
					 k->dport ? "/" : "", k->dport ? ntohs(k->dport) : 0);
			fprintf(f, "%s %s %s %s %s", ifname_of(s, k->ep_id), k->dir == SL_DIR_INGRESS ? "in" : "out",
				id, proto, v->flags & SL_POLICY_DENY ? "deny" : "allow");
			if (v->proxy_port)
				fprintf(f, " proxy=%u", v->proxy_port);
			fprintf(f, "\n");
		}
	}
	fclose(f);
}

static void compile_text(const char *extra, const struct sl_compile_prev *prev, struct sl_load *ld,
			 struct sl_compile_result *res)
{
	char state[8192];

	snprintf(state, sizeof(state), "%s%s", BASE, extra);
	load_text(ld, state, true);
	{
		char *d = diag_lines(ld);

		cr_assert_eq(ld->diags.n_errors, 0, "the case's state is invalid:\n%s", d);
		free(d);
	}
	cr_assert_eq(sl_compile(&ld->state, prev, res), 0);
}

#define NONE3                                       \
	"endpoint lxc-client id=30 enforce=none\n" \
	"endpoint lxc-db id=20 enforce=none\n"     \
	"endpoint lxc-web id=10 enforce=none\n"
#define WEB_IN(rest)                                                                         \
	"endpoint lxc-client id=30 enforce=none\nendpoint lxc-db id=20 enforce=none\n" \
	"endpoint lxc-web id=10 enforce=in\n" rest
#define SEL_WEB "  - name: p\n    endpointSelector: {matchLabels: {app: web}}\n"

static struct ccase cases[] = {
	{ "no policy: nothing enforced, no entries", "", NONE3 },
	{ "ingress: [] enforces ingress, allows nothing", "policies:\n" SEL_WEB "    ingress: []\n", WEB_IN("") },
	{ "ingress: [{}] only enforces", "policies:\n" SEL_WEB "    ingress: [{}]\n", WEB_IN("") },
	{ "egress: [] enforces egress", "policies:\n" SEL_WEB "    egress: []\n",
	  "endpoint lxc-client id=30 enforce=none\nendpoint lxc-db id=20 enforce=none\n"
	  "endpoint lxc-web id=10 enforce=out\n" },
	{ "a deny policy alone enforces nothing",
	  "policies:\n" SEL_WEB "    ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n",
	  NONE3 "lxc-web in 1001 any deny\n" },
	{ "fromEndpoints without ports: every protocol",
	  "policies:\n" SEL_WEB "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n",
	  WEB_IN("lxc-web in 1001 any allow\n") },
	{ "fromEndpoints with TCP 80",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 tcp/80 allow\n") },
	{ "ANY with a port: TCP, UDP and SCTP",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 53}]}]}]\n",
	  WEB_IN("lxc-web in 1001 tcp/53 allow\nlxc-web in 1001 udp/53 allow\nlxc-web in 1001 sctp/53 allow\n") },
	{ "a protocol without a port: all its ports",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{protocol: UDP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 udp allow\n") },
	{ "ANY without a port: everything",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{protocol: ANY}]}]}]\n",
	  WEB_IN("lxc-web in 1001 any allow\n") },
	{ "toPorts without a peer: every peer on that port",
	  "policies:\n" SEL_WEB "    ingress: [{toPorts: [{ports: [{port: 80, protocol: TCP}]}]}]\n",
	  WEB_IN("lxc-web in any tcp/80 allow\n") },
	{ "fromEndpoints {}: every identity",
	  "policies:\n" SEL_WEB "    ingress: [{fromEndpoints: [{}]}]\n",
	  WEB_IN("lxc-web in 1000 any allow\nlxc-web in 1001 any allow\nlxc-web in 1002 any allow\n"
		 "lxc-web in 1003 any allow\n") },
	{ "matchLabels on a shared label",
	  "policies:\n" SEL_WEB "    ingress: [{fromEndpoints: [{matchLabels: {tier: back}}]}]\n",
	  WEB_IN("lxc-web in 1002 any allow\n") },
	{ "matchExpressions In",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchExpressions: [{key: app, operator: In, values: [web, db]}]}]}]\n",
	  WEB_IN("lxc-web in 1000 any allow\nlxc-web in 1002 any allow\n") },
	{ "matchExpressions NotIn",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchExpressions: [{key: app, operator: NotIn, values: [web]}]}]}]\n",
	  WEB_IN("lxc-web in 1001 any allow\nlxc-web in 1002 any allow\nlxc-web in 1003 any allow\n") },
	{ "matchExpressions Exists",
	  "policies:\n" SEL_WEB "    ingress: [{fromEndpoints: [{matchExpressions: [{key: tier, operator: Exists}]}]}]\n",
	  WEB_IN("lxc-web in 1000 any allow\nlxc-web in 1002 any allow\n") },
	{ "matchExpressions DoesNotExist",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchExpressions: [{key: tier, operator: DoesNotExist}]}]}]\n",
	  WEB_IN("lxc-web in 1001 any allow\nlxc-web in 1003 any allow\n") },
	{ "matchLabels and matchExpressions both hold",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {tier: back}, matchExpressions: [{key: app, operator: In, values: [web]}]}]}]\n",
	  WEB_IN("") },
	{ "entity host", "policies:\n" SEL_WEB "    ingress: [{fromEntities: [host]}]\n",
	  WEB_IN("lxc-web in 1 any allow\n") },
	{ "entity world", "policies:\n" SEL_WEB "    ingress: [{fromEntities: [world]}]\n",
	  WEB_IN("lxc-web in 2 any allow\n") },
	{ "entity remote-node", "policies:\n" SEL_WEB "    ingress: [{fromEntities: [remote-node]}]\n",
	  WEB_IN("lxc-web in 6 any allow\n") },
	{ "entity cluster: endpoints, host, health, init, remote nodes",
	  "policies:\n" SEL_WEB "    ingress: [{fromEntities: [cluster]}]\n",
	  WEB_IN("lxc-web in 1 any allow\nlxc-web in 4 any allow\nlxc-web in 5 any allow\nlxc-web in 6 any allow\n"
		 "lxc-web in 1000 any allow\nlxc-web in 1001 any allow\nlxc-web in 1002 any allow\n"
		 "lxc-web in 1003 any allow\n") },
	{ "entity all: every peer", "policies:\n" SEL_WEB "    ingress: [{fromEntities: [all]}]\n",
	  WEB_IN("lxc-web in any any allow\n") },
	{ "fromCIDR: a CIDR identity", "policies:\n" SEL_WEB "    ingress: [{fromCIDR: [192.0.2.0/24]}]\n",
	  WEB_IN("lxc-web in 16777216 any allow\n") },
	{ "fromCIDRSet: the except prefix has an identity of its own, not allowed",
	  "policies:\n" SEL_WEB "    ingress: [{fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.9.0.0/16]}]}]\n",
	  WEB_IN("lxc-web in 16777216 any allow\n") },
	{ "world includes the CIDR identities",
	  "policies:\n" SEL_WEB "    ingress: [{fromEntities: [world]}, {fromCIDR: [192.0.2.0/24], toPorts: [{ports: [{port: 22, protocol: TCP}]}]}]\n",
	  /* (the set is sorted by key bytes: protocol and port before identity) */
	  WEB_IN("lxc-web in 16777216 any allow\nlxc-web in 2 any allow\nlxc-web in 16777216 tcp/22 allow\n") },
	{ "deny beats allow on the same key",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}]}]\n"
	  "    ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 tcp/80 deny\n") },
	{ "allow and deny at different levels both stay (the datapath makes deny win)",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}]}]\n"
	  "    ingressDeny: [{fromEntities: [all]}]\n",
	  WEB_IN("lxc-web in any any deny\nlxc-web in 1001 tcp/80 allow\n") },
	{ "proxyPort on an allow",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 9090, protocol: TCP}], proxyPort: 15001}]}]\n",
	  WEB_IN("lxc-web in 1003 tcp/9090 allow proxy=15001\n") },
	{ "two proxy ports for one key: the lower",
	  "policies:\n" SEL_WEB
	  "    ingress:\n"
	  "      - {fromEndpoints: [{matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 9090, protocol: TCP}], proxyPort: 15002}]}\n"
	  "      - {fromEndpoints: [{matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 9090, protocol: TCP}], proxyPort: 15001}]}\n",
	  WEB_IN("lxc-web in 1003 tcp/9090 allow proxy=15001\n") },
	{ "a deny drops the proxy port",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 9090, protocol: TCP}], proxyPort: 15001}]}]\n"
	  "    ingressDeny: [{fromEndpoints: [{matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 9090, protocol: TCP}]}]}]\n",
	  WEB_IN("lxc-web in 1003 tcp/9090 deny\n") },
	{ "egress toEndpoints with a port",
	  "policies:\n" SEL_WEB
	  "    egress: [{toEndpoints: [{matchLabels: {app: db}}], toPorts: [{ports: [{port: 5432, protocol: TCP}]}]}]\n",
	  "endpoint lxc-client id=30 enforce=none\nendpoint lxc-db id=20 enforce=none\n"
	  "endpoint lxc-web id=10 enforce=out\nlxc-web out 1002 tcp/5432 allow\n" },
	{ "egressDeny toCIDR", "policies:\n" SEL_WEB "    egressDeny: [{toCIDR: [198.51.100.0/24]}]\n",
	  NONE3 "lxc-web out 16777216 any deny\n" },
	{ "policyEnforcement always, no policy: everything enforced",
	  "datapath: {policyEnforcement: always}\n",
	  "endpoint lxc-client id=30 enforce=in,out\nendpoint lxc-db id=20 enforce=in,out\n"
	  "endpoint lxc-web id=10 enforce=in,out\n" },
	{ "policyEnforcement never: no enforcement and no entries",
	  "datapath: {policyEnforcement: never}\npolicies:\n" SEL_WEB
	  "    ingress: []\n    ingressDeny: [{fromEntities: [all]}]\n",
	  NONE3 },
	{ "a policy that selects no endpoint", "policies:\n  - name: p\n    endpointSelector: {matchLabels: {app: nope}}\n    ingress: []\n",
	  NONE3 },
	{ "two policies on one endpoint merge",
	  "policies:\n" SEL_WEB "    ingress: [{fromEntities: [host]}]\n"
	  "  - name: q\n    endpointSelector: {matchLabels: {tier: front}}\n    ingress: [{fromEntities: [remote-node]}]\n",
	  WEB_IN("lxc-web in 1 any allow\nlxc-web in 6 any allow\n") },
	{ "one policy on several endpoints",
	  "policies:\n  - name: p\n    endpointSelector: {matchExpressions: [{key: tier, operator: Exists}]}\n"
	  "    ingress: [{fromEntities: [host]}]\n",
	  "endpoint lxc-client id=30 enforce=none\nendpoint lxc-db id=20 enforce=in\nendpoint lxc-web id=10 enforce=in\n"
	  "lxc-web in 1 any allow\nlxc-db in 1 any allow\n" },
	{ "a remote endpoint is a peer, never a subject",
	  "policies:\n  - name: p\n    endpointSelector: {matchLabels: {app: scraper}}\n    ingress: []\n"
	  "  - name: q\n" "    endpointSelector: {matchLabels: {app: web}}\n"
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: scraper}}]}]\n",
	  WEB_IN("lxc-web in 1003 any allow\n") },
	{ "SCTP with a port",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 3868, protocol: SCTP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 sctp/3868 allow\n") },
	{ "an empty deny rule does nothing", "policies:\n" SEL_WEB "    ingressDeny: [{}]\n", NONE3 },
	{ "several ports and peers multiply",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}, {matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 80, protocol: TCP}, {port: 443, protocol: TCP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 tcp/80 allow\nlxc-web in 1003 tcp/80 allow\nlxc-web in 1001 tcp/443 allow\n"
		 "lxc-web in 1003 tcp/443 allow\n") },
	{ "endPort: one entry per port of the range",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 8000, endPort: 8002, protocol: TCP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 tcp/8000 allow\nlxc-web in 1001 tcp/8001 allow\nlxc-web in 1001 tcp/8002 allow\n") },
	{ "endPort equal to port: that port",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, endPort: 80, protocol: UDP}]}]}]\n",
	  WEB_IN("lxc-web in 1001 udp/80 allow\n") },
	{ "endPort with ANY: each port, each protocol",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 53, endPort: 54}]}]}]\n",
	  WEB_IN("lxc-web in 1001 tcp/53 allow\nlxc-web in 1001 tcp/54 allow\nlxc-web in 1001 udp/53 allow\n"
		 "lxc-web in 1001 udp/54 allow\nlxc-web in 1001 sctp/53 allow\nlxc-web in 1001 sctp/54 allow\n") },
	{ "endPort over every port, 1..65535: the protocol's every port, one entry",
	  "policies:\n" SEL_WEB
	  "    egress: [{toEndpoints: [{matchLabels: {app: db}}], toPorts: [{ports: [{port: 1, endPort: 65535, protocol: TCP}, {port: 1, endPort: 65535}]}]}]\n",
	  "endpoint lxc-client id=30 enforce=none\nendpoint lxc-db id=20 enforce=none\n"
	  "endpoint lxc-web id=10 enforce=out\nlxc-web out 1002 any allow\nlxc-web out 1002 tcp allow\n" },
	{ "a range with a proxy port: each port goes to the proxy",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: scraper}}], toPorts: [{ports: [{port: 9090, endPort: 9091, protocol: TCP}], proxyPort: 15001}]}]\n",
	  WEB_IN("lxc-web in 1003 tcp/9090 allow proxy=15001\nlxc-web in 1003 tcp/9091 allow proxy=15001\n") },
	{ "icmps: the type stands as the port, per family",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], icmps: [{fields: [{type: 8}, {type: EchoRequest, family: IPv6}, {type: Timestamp, family: IPv4}]}]}]\n",
	  WEB_IN("lxc-web in 1001 icmp/0x108 allow\nlxc-web in 1001 icmp/0x10d allow\nlxc-web in 1001 icmp6/0x180 allow\n") },
	{ "icmps type 0 (echo reply) is that type, never every ICMP message",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], icmps: [{fields: [{type: 0}, {type: EchoReply}]}]}]\n",
	  WEB_IN("lxc-web in 1001 icmp/0x100 allow\n") },
	{ "icmps without a peer: every peer on those types",
	  "policies:\n" SEL_WEB "    ingress: [{icmps: [{fields: [{type: 255, family: IPv6}]}]}]\n",
	  WEB_IN("lxc-web in any icmp6/0x1ff allow\n") },
	{ "toPorts and icmps in one rule: the union",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}], icmps: [{fields: [{type: Echo}]}]}]\n",
	  WEB_IN("lxc-web in 1001 icmp/0x108 allow\nlxc-web in 1001 tcp/80 allow\n") },
	{ "icmps in a deny rule",
	  "policies:\n" SEL_WEB
	  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n"
	  "    ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}], icmps: [{fields: [{type: 13}]}]}]\n",
	  WEB_IN("lxc-web in 1001 any allow\nlxc-web in 1001 icmp/0x10d deny\n") },
};

/* criterion runs each parameterized test in a fresh exec of this binary:
 * parameters are copied by value, so they carry an index into cases[],
 * never the pointers inside it. */
static int case_numbers[ARRAY_SIZE(cases)];

ParameterizedTestParameters(compiler, policy)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		case_numbers[i] = (int)i;
	return cr_make_param_array(int, case_numbers, ARRAY_SIZE(case_numbers));
}

/* The cases' state with allowLocalhost: policy: the entries its rules make
 * and nothing else (allowLocalhost: always has cases of its own). */
static void policy_only(const char *state, char *buf, size_t size)
{
	const char *dp = strstr(state, "datapath: {");

	if (dp)
		snprintf(buf, size, "%.*sdatapath: {allowLocalhost: policy, %s", (int)(dp - state), state,
			 dp + strlen("datapath: {"));
	else
		snprintf(buf, size, "datapath: {allowLocalhost: policy}\n%s", state);
}

ParameterizedTest(int *number, compiler, policy)
{
	const struct ccase *c = &cases[*number];
	struct sl_load ld;
	struct sl_compile_result res;
	char got[8192], state[4096];

	policy_only(c->state, state, sizeof(state));
	compile_text(state, NULL, &ld, &res);
	render_policy(&res.set, got, sizeof(got));
	cr_expect_str_eq(got, c->expected, "%s:\n--- got\n%s--- expected\n%s", c->name, got, c->expected);
	/* validate's counting compile finds as many policy entries */
	{
		struct sl_compile_result cnt;

		cr_assert_eq(sl_compile_count(&ld.state, &cnt), 0);
		cr_expect_eq(cnt.n_policy_counted + objset_count(&cnt.set, SL_OBJ_POLICY),
			     objset_count(&res.set, SL_OBJ_POLICY), "%s: counted %zu policy entries, compiled %zu",
			     c->name, cnt.n_policy_counted, objset_count(&res.set, SL_OBJ_POLICY));
		sl_compile_result_free(&cnt);
	}
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

/* Endpoints of one identity share their count: a state with several. */
Test(compiler, count_matches_compile)
{
	static const char extra[] =
		"  - {name: web-2, interface: lxc-web2, ipv4: 10.1.0.12, identity: 1000}\n"
		"  - {name: web-3, interface: lxc-web3, ipv4: 10.1.0.13, labels: {app: web, tier: front}}\n"
		"policies:\n" SEL_WEB "    ingress: [{fromEndpoints: [{}], toPorts: [{ports: [{port: 80}, {port: 81, protocol: UDP}]}]}]\n"
		"    egressDeny: [{toCIDR: [192.0.2.0/24, 198.51.100.0/24]}]\n"
		"  - name: q\n    endpointSelector: {}\n    egress: [{toEntities: [world, host]}]\n";
	struct sl_load ld;
	struct sl_compile_result res, cnt;

	compile_text(extra, NULL, &ld, &res);
	cr_assert_eq(sl_compile_count(&ld.state, &cnt), 0);
	cr_assert_gt(objset_count(&res.set, SL_OBJ_POLICY), 10);
	cr_expect_eq(cnt.n_policy_counted, objset_count(&res.set, SL_OBJ_POLICY));
	sl_compile_result_free(&cnt);
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

_Static_assert(ARRAY_SIZE(cases) >= 40, "at least forty policy-resolution cases");

static const struct sl_ipcache_value *ipc(const struct sl_objset *s, const char *prefix)
{
	struct sl_ipcache_key k = { 0 };
	struct sl_prefix p;
	char why[64];
	const struct sl_obj *o;

	cr_assert(sl_prefix_parse(prefix, true, &p, why, sizeof(why)), "%s", why);
	k.family = p.family;
	k.prefixlen = SL_IPCACHE_PREFIX_BITS(p.len);
	memcpy(k.addr, p.addr, 16);
	o = objset_find(s, SL_OBJ_IPCACHE, &k, sizeof(k));
	return o ? obj_val(s, o) : NULL;
}

Test(compiler, ipcache)
{
	struct sl_load ld;
	struct sl_compile_result res;
	const struct sl_ipcache_value *v;

	compile_text("policies:\n" SEL_WEB
		     "    egress: [{toCIDRSet: [{cidr: 198.51.0.0/16, except: [198.51.7.0/24]}]}]\n",
		     NULL, &ld, &res);
	v = ipc(&res.set, "10.1.0.10");
	cr_assert_not_null(v);
	cr_expect_eq(v->identity, 1000);
	cr_expect_eq(v->flags, 0, "a local endpoint is not remote");
	v = ipc(&res.set, "10.2.0.40");
	cr_assert_not_null(v, "a remote endpoint");
	cr_expect_eq(v->identity, 1003);
	cr_expect(v->flags & SL_IPCACHE_REMOTE);
	cr_expect_eq(v->tunnel_family, 4);
	cr_expect_eq(v->tunnel_addr[3], 2, "tunnel to node-b (192.168.50.2)");
	cr_expect_eq(ipc(&res.set, "192.168.50.1")->identity, SL_ID_HOST, "this node's address is the host");
	cr_expect_eq(ipc(&res.set, "192.168.50.2")->identity, SL_ID_REMOTE_NODE);
	v = ipc(&res.set, "10.2.0.0/24");
	cr_assert_not_null(v, "a remote pod CIDR routes through its node");
	cr_expect(v->flags & SL_IPCACHE_REMOTE);
	cr_expect_null(ipc(&res.set, "10.1.0.0/24"), "the local pod CIDR needs no entry");
	cr_expect_eq(ipc(&res.set, "198.51.0.0/16")->identity, 16777216);
	cr_expect_eq(ipc(&res.set, "198.51.7.0/24")->identity, 16777217, "the except prefix has its own");
	cr_expect_eq(res.n_cidr_identities, 2);
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

Test(compiler, encryption_key_per_remote_node)
{
	struct sl_load ld;
	struct sl_compile_result res;
	struct sl_keyring keys;
	struct sl_compile_prev prev = { 0 };
	char state[4096], why[512];

	snprintf(state, sizeof(state),
		 "version: 1\nnode: a\ndatapath: {underlayDevice: eth0}\n"
		 "nodes:\n  - {name: a, ip: 192.168.50.1, encryptKeys: [3, 4]}\n"
		 "  - {name: b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24], encryptKeys: [3]}\n"
		 "  - {name: c, ip: 192.168.50.3, podCIDRs: [10.3.0.0/24], encryptKeys: [3, 4]}\n"
		 "encryption:\n  enabled: true\n  keys:\n"
		 "    - {spi: 3, aead: rfc4106(gcm(aes)), key: '0123456789abcdef0123456789abcdef01234567'}\n"
		 "    - {spi: 4, aead: rfc4106(gcm(aes)), key: '0123456789abcdef0123456789abcdef01234567'}\n");
	load_text(&ld, state, true);
	cr_assert_eq(ld.diags.n_errors, 0);
	cr_assert_eq(sl_keyring_load(&ld, &keys, why, sizeof(why)), 0, "%s", why);
	prev.keys = &keys;
	cr_assert_eq(sl_compile(&ld.state, &prev, &res), 0);
	sl_keyring_free(&keys);
	cr_expect_eq(ipc(&res.set, "10.2.0.0/24")->key, 3, "b has only key 3");
	cr_expect_eq(ipc(&res.set, "10.3.0.0/24")->key, 4, "c has 3 and 4: the highest");
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

Test(compiler, identities_and_ids_stay)
{
	struct sl_load ld;
	struct sl_compile_result res;
	struct sl_prefix p[2];
	uint32_t ids[2] = { 16777300, 16777301 };
	const char *names[] = { "lxc-new" };
	uint16_t epids[] = { 77 };
	char why[64];
	struct sl_compile_prev prev = { .ep_ifnames = names, .ep_ids = epids, .n_ep = 1, .cidrs = p, .cidr_ids = ids,
					.n_cidr = 2 };
	const struct sl_obj *o;
	char key[16] = "lxc-new";

	sl_prefix_parse("198.51.100.0/24", false, &p[0], why, sizeof(why));
	sl_prefix_parse("203.0.113.0/24", false, &p[1], why, sizeof(why)); /* no longer named: its id is free */
	compile_text("  - {name: new-1, interface: lxc-new, ipv4: 10.1.0.50, identity: 1001}\n"
		     "policies:\n" SEL_WEB "    ingress: [{fromCIDR: [192.0.2.0/24, 198.51.100.0/24]}]\n",
		     &prev, &ld, &res);
	cr_expect_eq(ipc(&res.set, "198.51.100.0/24")->identity, 16777300, "kept");
	cr_expect_eq(ipc(&res.set, "192.0.2.0/24")->identity, 16777216, "new: the lowest free");
	o = objset_find(&res.set, SL_OBJ_ENDPOINT, key, sizeof(key));
	cr_assert_not_null(o);
	cr_expect_eq(((const struct sl_endpoint_value *)obj_val(&res.set, o))->id, 77, "the id it had");
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

Test(compiler, level_masks)
{
	struct sl_load ld;
	struct sl_compile_result res;
	char key[16] = "lxc-web";
	const struct sl_endpoint_value *v;

	compile_text("policies:\n" SEL_WEB
		     "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}], toPorts: [{ports: [{port: 80, protocol: TCP}]}]},"
		     " {toPorts: [{ports: [{protocol: UDP}]}]}]\n"
		     "    egressDeny: [{toEntities: [all]}]\n",
		     NULL, &ld, &res);
	v = obj_val(&res.set, objset_find(&res.set, SL_OBJ_ENDPOINT, key, sizeof(key)));
	/* (and allowLocalhost: always's entry for host, every port) */
	cr_expect_eq(v->policy_levels[SL_DIR_INGRESS], SL_POLICY_LEVELS_KNOWN | SL_POLICY_LEVEL(1) | SL_POLICY_LEVEL(5) |
							       SL_POLICY_LEVEL(sl_policy_key_level(SL_ID_HOST, 0, 0)));
	cr_expect_eq(v->policy_levels[SL_DIR_EGRESS], SL_POLICY_LEVELS_KNOWN | SL_POLICY_LEVEL(6));
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

/* allowLocalhost (state-format.md, "Policy"): always, the default, admits
 * host on every port of every endpoint under ingress enforcement; a deny
 * naming host still wins; policy adds nothing. */
Test(compiler, allow_localhost)
{
	static const struct {
		const char *name, *state, *expected;
	} t[] = {
		{ "always: the enforced endpoint admits host",
		  "policies:\n" SEL_WEB "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n",
		  WEB_IN("lxc-web in 1 any allow\nlxc-web in 1001 any allow\n") },
		{ "always: egress enforcement alone adds nothing",
		  "policies:\n" SEL_WEB "    egress: []\n",
		  "endpoint lxc-client id=30 enforce=none\nendpoint lxc-db id=20 enforce=none\n"
		  "endpoint lxc-web id=10 enforce=out\n" },
		{ "always: a deny naming host wins",
		  "policies:\n" SEL_WEB "    ingress: [{fromEntities: [all]}]\n    ingressDeny: [{fromEntities: [host]}]\n",
		  WEB_IN("lxc-web in any any allow\nlxc-web in 1 any deny\n") },
		{ "always with policyEnforcement: always: every endpoint",
		  "datapath: {policyEnforcement: always}\n",
		  "endpoint lxc-client id=30 enforce=in,out\nendpoint lxc-db id=20 enforce=in,out\n"
		  "endpoint lxc-web id=10 enforce=in,out\nlxc-web in 1 any allow\nlxc-db in 1 any allow\n"
		  "lxc-client in 1 any allow\n" },
		{ "policy: nothing for host",
		  "datapath: {allowLocalhost: policy}\npolicies:\n" SEL_WEB
		  "    ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]\n",
		  WEB_IN("lxc-web in 1001 any allow\n") },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct sl_load ld;
		struct sl_compile_result res;
		char got[8192];

		compile_text(t[i].state, NULL, &ld, &res);
		render_policy(&res.set, got, sizeof(got));
		cr_expect_str_eq(got, t[i].expected, "%s:\n--- got\n%s--- expected\n%s", t[i].name, got, t[i].expected);
		sl_compile_result_free(&res);
		sl_load_free(&ld);
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The incremental compile of remote endpoints (sl_ep_delta): for random
 * sequences of changes of some endpoints (on other nodes, and now and then
 * on this one), beside endpoints, nodes and a policy CIDR that stay, the
 * verified set patched with the delta's objects is after every step what
 * the whole state compiles to against it; what the delta cannot compile
 * alone (a local endpoint, an address another source has, an identity
 * gaining its first endpoint or losing its last) it refuses, and the
 * whole compile takes the step, as watch does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "helpers.h"
#include "reconcile/compile.h"
#include "reconcile/epdelta.h"

static const char base[] =
	"version: 1\n"
	"node: node-a\n"
	"nodes:\n"
	"  - {name: node-a, ip: 192.168.9.1, podCIDRs: [10.1.0.0/16]}\n"
	"  - {name: node-b, ip: 192.168.9.2, podCIDRs: [10.2.0.0/16]}\n"
	"  - {name: node-c, ip: 192.168.9.3, podCIDRs: [10.3.0.0/16, 'fd00:3::/64']}\n"
	"identities:\n"
	"  - {id: 1000, labels: {app: a}}\n"
	"  - {id: 1001, labels: {app: b}}\n"
	"  - {id: 1002, labels: {app: c}}\n"
	"  - {id: 1003, labels: {app: d}}\n"
	"policies:\n"
	"  - name: out\n"
	"    endpointSelector: {matchLabels: {app: a}}\n"
	"    egress: [{toCIDR: [10.2.0.13/32, 10.3.0.0/24]}]\n"
	"endpoints:\n"
	"  - {name: here, interface: lxc-here, ipv4: 10.1.0.2, identity: 1000}\n"
	"  - {name: fixed-b, ipv4: 10.2.1.1, identity: 1001, node: node-b}\n"
	"  - {name: fixed-c, ipv4: 10.3.1.1, ipv6: 'fd00:3::1:1', identity: 1000, node: node-c}\n";

#define N_FIXED 3

/* n endpoints chg-i: distinct addresses (10.2.0.x on node-b, 10.3.0.x and
 * maybe an IPv6 one on node-c, 10.1.0.x on this node: a local one, with a
 * device), identities 1000-1003. */
static void changing(struct strbuf *b, unsigned *seed, int n)
{
	unsigned off = rand_r(seed) % 20;

	for (int i = 0; i < n; i++) {
		unsigned host = 10 + (off + (unsigned)i) % 40, where = rand_r(seed) % 9, id = 1000 + rand_r(seed) % 4;

		char v6[48] = "";

		if (where > 4 && where % 2)
			snprintf(v6, sizeof(v6), "ipv6: 'fd00:3::2:%x', ", host);
		if (where == 0)
			strbuf_addf(b, "  - {name: chg-%d, interface: lxc-c%d, ipv4: 10.1.0.%u, identity: %u}\n", i, i, host,
				    id);
		else if (where <= 4)
			strbuf_addf(b, "  - {name: chg-%d, ipv4: 10.2.0.%u, identity: %u, node: node-b}\n", i, host, id);
		else
			strbuf_addf(b, "  - {name: chg-%d, ipv4: 10.3.2.%u, %sidentity: %u, node: node-c}\n", i, host, v6,
				    id);
	}
}

/* The set st compiles to against v (v's ids kept), into out. */
static void compile_against(const struct sl_state *st, const struct sl_objset *v, struct sl_compile_result *out)
{
	struct sl_compile_prev prev = {};
	char(*names)[17] = NULL;

	sl_compile_prev_from_live(v, &prev, &names);
	cr_assert_eq(sl_compile(st, &prev, out), 0);
	sl_compile_prev_free(&prev, names);
}

Test(epdelta, delta_is_the_whole_compile)
{
	size_t alone = 0, whole = 0;

	for (unsigned run = 0; run < 30; run++) {
		unsigned seed = 0xe9d + run;
		struct strbuf y = {};
		struct compiled a;
		struct sl_objset v = {};
		struct sl_ep_index *ix = NULL;

		strbuf_adds(&y, base);
		changing(&y, &seed, (int)(rand_r(&seed) % 5));
		compile_yaml(&a, y.s, NULL, false);
		cr_assert_eq(objset_append(&v, &a.res.set), 0);
		objset_sort(&v);
		cr_assert_eq(sl_ep_index_build(&v, &a.ld.state, &ix), 0);
		for (int step = 0; step < 12; step++) {
			struct compiled b;
			struct sl_compile_result full;
			struct sl_objset want = {}, have = {};
			struct sl_diff d;
			char what[64];
			int r;

			snprintf(what, sizeof(what), "run %u step %d", run, step);
			strbuf_free(&y);
			strbuf_adds(&y, base);
			changing(&y, &seed, (int)(rand_r(&seed) % 5));
			compile_yaml(&b, y.s, NULL, false);
			r = sl_ep_delta(ix, &b.ld.state, &v, a.ld.state.endpoints + N_FIXED,
					a.ld.state.n_endpoints - N_FIXED, b.ld.state.endpoints + N_FIXED,
					b.ld.state.n_endpoints - N_FIXED, &want, &have);
			cr_assert(r == 0 || r == -EAGAIN, "%s: %d", what, r);
			compile_against(&b.ld.state, &v, &full);
			if (r == 0) {
				alone++;
				cr_assert_eq(sl_diff(&want, &have, &d), 0);
				cr_assert_eq(sl_diff_patch(&v, &want, &have, &d), 0, "%s", what);
				sl_diff_free(&d);
				assert_same_set(&v, &full.set, what);
			} else {
				/* the whole way: the kernel becomes the compile's, the
				 * index is made again */
				whole++;
				objset_free(&v);
				cr_assert_eq(objset_append(&v, &full.set), 0);
				objset_sort(&v);
				sl_ep_index_free(ix);
				cr_assert_eq(sl_ep_index_build(&v, &b.ld.state, &ix), 0);
			}
			sl_compile_result_free(&full);
			objset_free(&want);
			objset_free(&have);
			compiled_free(&a);
			a = b;
		}
		sl_ep_index_free(ix);
		objset_free(&v);
		compiled_free(&a);
		strbuf_free(&y);
	}
	cr_assert(alone > 50 && whole > 20, "both ways taken: %zu alone, %zu whole", alone, whole);
}

/* An address a policy's CIDR or a node has, or another endpoint's, is the
 * whole compile's (it ranks the sources). */
Test(epdelta, refuses_addresses_others_have)
{
	static const char *const adds[] = {
		"  - {name: x, ipv4: 10.2.0.13, identity: 1001, node: node-b}\n", /* the policy's /32 */
		"  - {name: x, ipv4: 192.168.9.2, identity: 1001, node: node-b}\n", /* node-b's address */
		"  - {name: x, ipv4: 10.2.1.1, identity: 1001, node: node-b}\n",    /* fixed-b's */
		"  - {name: fixed-b, ipv4: 10.2.1.9, identity: 1001, node: node-b}\n", /* fixed-b's name */
		"  - {name: x, interface: lxc-x, ipv4: 10.1.0.9, identity: 1001}\n",   /* a local one */
	};

	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++) {
		struct compiled a;
		struct sl_objset v = {}, want = {}, have = {};
		struct sl_ep_index *ix = NULL;
		struct sl_endpoint ep;
		struct compiled b;
		char y[4096];

		compile_yaml(&a, base, NULL, false);
		cr_assert_eq(objset_append(&v, &a.res.set), 0);
		objset_sort(&v);
		cr_assert_eq(sl_ep_index_build(&v, &a.ld.state, &ix), 0);
		/* the new endpoint, validated alone as watch does: from a state
		 * with it beside the policy (its duplicates do not matter) */
		snprintf(y, sizeof(y), "version: 1\nnode: node-a\nnodes:\n"
			 "  - {name: node-a, ip: 192.168.9.1, podCIDRs: [10.1.0.0/16]}\n"
			 "  - {name: node-b, ip: 192.168.9.2, podCIDRs: [10.2.0.0/16]}\n"
			 "identities:\n  - {id: 1001, labels: {app: b}}\nendpoints:\n%s",
			 adds[i]);
		compile_yaml(&b, y, NULL, false);
		ep = b.ld.state.endpoints[0];
		cr_assert_eq(sl_ep_delta(ix, &a.ld.state, &v, NULL, 0, &ep, 1, &want, &have), -EAGAIN, "case %zu", i);
		sl_ep_index_free(ix);
		objset_free(&v);
		objset_free(&want);
		objset_free(&have);
		compiled_free(&a);
		compiled_free(&b);
	}
}

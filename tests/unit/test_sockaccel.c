/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket acceleration's objects (features/sockaccel.c, kinds/sockhook.c):
 * what a state compiles to (the sockops hook on the cgroup by id and the
 * sk_msg hook on sluice_sock, only with socketAcceleration, a known cgroup
 * and the programs' digests), how a plan says them in text and JSON, their
 * place in the kind table, and show's way back to the state.
 */
#include <string.h>

#include <sluice/abi.h>

#include "helpers.h"
#include "kinds/kind.h"
#include "kinds/map.h"
#include "kinds/sockhook.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/plan.h"
#include "reconcile/show.h"

#define HEAD                                                                  \
	"version: 1\n"                                                        \
	"identities: [{id: 1000, labels: {app: web}}]\n"                      \
	"endpoints: [{name: web-1, interface: lxc-web1, ipv4: 10.1.0.10, identity: 1000, id: 10}]\n"
#define ON(path) "datapath: {socketAcceleration: true, cgroupPath: " path "}\n"

/* What the compile knows of the node: the cgroup's id, and (digests) the
 * programs loaded. */
static struct sl_compile_prev node_prev(uint64_t cgroup_id, bool digests)
{
	struct sl_compile_prev prev = { .cgroup_id = cgroup_id };

	for (int p = 0; digests && p < SL_PROG__MAX; p++)
		prev.prog_digest[p] = 0x1000 + (uint64_t)p;
	return prev;
}

static void compile_with(struct compiled *c, const char *yaml, uint64_t cgroup_id, bool digests)
{
	struct sl_compile_prev prev = node_prev(cgroup_id, digests);

	compile_yaml(c, yaml, &prev, true);
}

static const struct sl_sockhook_value *hook(const struct sl_objset *s, uint8_t h)
{
	struct sl_sockhook_key k = { .hook = h };
	const struct sl_obj *o = objset_find(s, SL_OBJ_SOCKHOOK, &k, sizeof(k));

	return o ? obj_val(s, o) : NULL;
}

Test(sockaccel, nothing_without_it)
{
	struct compiled c;

	compile_with(&c, HEAD, 77, true);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 0);
	compiled_free(&c);
	/* no cgroup known (validate's compile), or no digests: nothing either */
	compile_with(&c, HEAD ON("/sys/fs/cgroup/unified/x"), 0, true);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 0);
	compiled_free(&c);
	compile_with(&c, HEAD ON("/sys/fs/cgroup/unified/x"), 77, false);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 0);
	compiled_free(&c);
}

Test(sockaccel, the_two_hooks)
{
	struct compiled c;
	const struct sl_sockhook_value *v;

	compile_with(&c, HEAD ON("/sys/fs/cgroup/unified/x"), 77, true);
	cr_assert_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 2);
	v = hook(&c.res.set, SL_SOCKHOOK_SOCK_OPS);
	cr_assert_not_null(v);
	cr_expect_eq(v->prog, SL_PROG_SOCKOPS);
	cr_expect_eq(v->digest, 0x1000 + SL_PROG_SOCKOPS);
	cr_expect_eq(v->cgroup_id, 77);
	v = hook(&c.res.set, SL_SOCKHOOK_SK_MSG);
	cr_assert_not_null(v);
	cr_expect_eq(v->prog, SL_PROG_SK_MSG);
	cr_expect_eq(v->digest, 0x1000 + SL_PROG_SK_MSG);
	cr_expect_eq(v->cgroup_id, 0, "on the map, not a cgroup");
	compiled_free(&c);
}

Test(sockaccel, kind_row)
{
	const struct sl_kind *k = sl_kind(SL_OBJ_SOCKHOOK);

	cr_assert_not_null(k);
	cr_expect_str_eq(k->name, "socket hook");
	cr_expect(sl_kind_fits(SL_OBJ_SOCKHOOK, sizeof(struct sl_sockhook_key), sizeof(struct sl_sockhook_value)));
	cr_expect_eq(k->backend, SL_VIA_PROGS);
	cr_expect_eq(k->flags, 0, "not secret");
	cr_expect_null(k->map, "in no map of sluice's");
	for (unsigned h = 0; h < SL_SOCKHOOK__MAX; h++) {
		struct sl_sockhook_key key = { .hook = (uint8_t)h };

		cr_expect_eq(k->maps(&key, NULL),
			     h == SL_SOCKHOOK_SOCK_OPS || h == SL_SOCKHOOK_SK_MSG ? SL_MAPS_SOCK : SL_MAPS_SOCK_LB,
			     "hook %u: socket acceleration's hooks need sluice_sock, the others sluice_sock_nat", h);
	}
}

static char *plan_of(const char *old_yaml, uint64_t old_id, const char *new_yaml, uint64_t new_id,
		     enum sl_plan_format fmt)
{
	struct sl_compile_prev a = node_prev(old_id, true), b = node_prev(new_id, true);

	return plan_between(old_yaml, &a, new_yaml, &b, true, fmt);
}

Test(sockaccel, plan_text)
{
	char *plan = plan_of(HEAD, 0, HEAD ON("/sys/fs/cgroup/unified/x"), 77, SL_PLAN_TEXT);

	cr_expect(strstr(plan, "  + attach sockops cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach sk_msg map sluice_sock\n"),
		  "%s", plan);
	free(plan);
	/* another cgroup: the sockops hook changes, the other stays */
	plan = plan_of(HEAD ON("/sys/fs/cgroup/unified/x"), 77, HEAD ON("/sys/fs/cgroup/unified/y"), 78, SL_PLAN_TEXT);
	cr_expect(strstr(plan, "  ~ attach sockops cgroup /sys/fs/cgroup/unified/y: from cgroup id 77\n"), "%s", plan);
	cr_expect_null(strstr(plan, "sk_msg"), "%s", plan);
	free(plan);
	/* off: both go */
	plan = plan_of(HEAD ON("/sys/fs/cgroup/unified/x"), 77, HEAD, 0, SL_PLAN_TEXT);
	cr_expect(strstr(plan, "  - attach sockops cgroup id 77\n"), "%s", plan);
	cr_expect(strstr(plan, "  - attach sk_msg map sluice_sock\n"), "%s", plan);
	free(plan);
}

Test(sockaccel, plan_json)
{
	char *plan = plan_of(HEAD, 0, HEAD ON("/sys/fs/cgroup/unified/x"), 77, SL_PLAN_JSON);

	cr_expect(strstr(plan, "{\"op\":\"add\",\"kind\":\"socket hook\",\"object\":\"attach sockops cgroup "
			       "/sys/fs/cgroup/unified/x\",\"group\":\"programs\",\"before\":null,\"after\":{\"hook\":"
			       "\"sockops\",\"program\":\"sockops\",\"digest\":\"0000000000001005\",\"cgroupId\":77,"
			       "\"cgroup\":\"/sys/fs/cgroup/unified/x\"}}"),
		  "%s", plan);
	cr_expect(strstr(plan, "\"after\":{\"hook\":\"sk_msg\",\"program\":\"sk_msg\",\"digest\":\"0000000000001006\","
			       "\"map\":\"sluice_sock\"}"),
		  "%s", plan);
	free(plan);
}

static int fake_path(uint64_t id, char *buf, size_t len)
{
	if (id != 77)
		return -2;
	snprintf(buf, len, "/sys/fs/cgroup/unified/x");
	return 0;
}

Test(sockaccel, show)
{
	struct compiled c;
	struct strbuf text = {}, notes = {};

	compile_with(&c, HEAD ON("/sys/fs/cgroup/unified/x"), 77, true);
	sl_show_set_cgroup_path_fn(fake_path);
	cr_assert_eq(sl_show_render(&c.res.set, NULL, 0, SL_SHOW_YAML, &text, &notes), 0);
	cr_expect(strstr(text.s, "  socketAcceleration: true\n  cgroupPath: \"/sys/fs/cgroup/unified/x\"\n"), "%s",
		  text.s);
	strbuf_free(&text);
	strbuf_free(&notes);
	compiled_free(&c);
	/* a cgroup with no path here: said, not guessed */
	compile_with(&c, HEAD ON("/sys/fs/cgroup/unified/x"), 78, true);
	cr_assert_eq(sl_show_render(&c.res.set, NULL, 0, SL_SHOW_YAML, &text, &notes), 0);
	cr_expect_null(strstr(text.s, "  cgroupPath:"), "%s", text.s);
	cr_expect(strstr(text.s, "# - the cgroup of the socket programs (id 78) has no path here"), "%s", text.s);
	sl_show_set_cgroup_path_fn(NULL);
	strbuf_free(&text);
	strbuf_free(&notes);
	compiled_free(&c);
}

/* ---- host-reachable services' hooks (features/hostservices.c) ---- */

#define HRS(path) "datapath: {hostReachableServices: true, cgroupPath: " path "}\n"

static const uint8_t lb_hooks[] = {
	SL_SOCKHOOK_CONNECT4, SL_SOCKHOOK_CONNECT6, SL_SOCKHOOK_SENDMSG4,     SL_SOCKHOOK_SENDMSG6,
	SL_SOCKHOOK_RECVMSG4, SL_SOCKHOOK_RECVMSG6, SL_SOCKHOOK_GETPEERNAME4, SL_SOCKHOOK_GETPEERNAME6,
};

Test(hostservices, nothing_without_it)
{
	struct compiled c;

	compile_with(&c, HEAD ON("/sys/fs/cgroup/unified/x"), 77, true);
	for (size_t i = 0; i < sizeof(lb_hooks); i++)
		cr_expect_null(hook(&c.res.set, lb_hooks[i]), "hook %u without hostReachableServices", lb_hooks[i]);
	compiled_free(&c);
	compile_with(&c, HEAD HRS("/sys/fs/cgroup/unified/x"), 0, true);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 0, "no cgroup known: nothing");
	compiled_free(&c);
	compile_with(&c, HEAD HRS("/sys/fs/cgroup/unified/x"), 77, false);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 0, "no digests: nothing");
	compiled_free(&c);
}

Test(hostservices, the_eight_hooks)
{
	static const uint8_t progs[] = {
		SL_PROG_CONNECT4, SL_PROG_CONNECT6, SL_PROG_SENDMSG4,	  SL_PROG_SENDMSG6,
		SL_PROG_RECVMSG4, SL_PROG_RECVMSG6, SL_PROG_GETPEERNAME4, SL_PROG_GETPEERNAME6,
	};
	struct compiled c;

	compile_with(&c, HEAD HRS("/sys/fs/cgroup/unified/x"), 77, true);
	cr_assert_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 8);
	for (size_t i = 0; i < sizeof(lb_hooks); i++) {
		const struct sl_sockhook_value *v = hook(&c.res.set, lb_hooks[i]);

		cr_assert_not_null(v, "hook %u", lb_hooks[i]);
		cr_expect_eq(v->prog, progs[i]);
		cr_expect_eq(v->digest, 0x1000 + progs[i]);
		cr_expect_eq(v->cgroup_id, 77, "on the cgroup");
	}
	cr_expect_null(hook(&c.res.set, SL_SOCKHOOK_SOCK_OPS), "not socket acceleration's");
	compiled_free(&c);
	/* both features: one cgroup, ten hooks */
	compile_with(&c,
		     HEAD "datapath: {hostReachableServices: true, socketAcceleration: true, "
			  "cgroupPath: /sys/fs/cgroup/unified/x}\n",
		     77, true);
	cr_expect_eq(objset_count(&c.res.set, SL_OBJ_SOCKHOOK), 10);
	compiled_free(&c);
}

Test(hostservices, plan_text)
{
	char *plan = plan_of(HEAD, 0, HEAD HRS("/sys/fs/cgroup/unified/x"), 77, SL_PLAN_TEXT);

	cr_expect(strstr(plan, "  + attach connect4 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach connect6 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach sendmsg4 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach sendmsg6 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach recvmsg4 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach recvmsg6 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach getpeername4 cgroup /sys/fs/cgroup/unified/x\n"
			       "  + attach getpeername6 cgroup /sys/fs/cgroup/unified/x\n"),
		  "%s", plan);
	free(plan);
	plan = plan_of(HEAD HRS("/sys/fs/cgroup/unified/x"), 77, HEAD, 0, SL_PLAN_TEXT);
	cr_expect(strstr(plan, "  - attach connect4 cgroup id 77\n"), "%s", plan);
	cr_expect(strstr(plan, "  - attach getpeername6 cgroup id 77\n"), "%s", plan);
	free(plan);
}

Test(hostservices, show)
{
	struct compiled c;
	struct strbuf text = {}, notes = {};

	compile_with(&c, HEAD HRS("/sys/fs/cgroup/unified/x"), 77, true);
	sl_show_set_cgroup_path_fn(fake_path);
	cr_assert_eq(sl_show_render(&c.res.set, NULL, 0, SL_SHOW_YAML, &text, &notes), 0);
	cr_expect(strstr(text.s, "  hostReachableServices: true\n  cgroupPath: \"/sys/fs/cgroup/unified/x\"\n"), "%s",
		  text.s);
	cr_expect_null(strstr(text.s, "socketAcceleration"), "%s", text.s);
	sl_show_set_cgroup_path_fn(NULL);
	strbuf_free(&text);
	strbuf_free(&notes);
	compiled_free(&c);
}

Test(hostservices, valid_without_warning)
{
	struct sl_load ld;
	char *d;

	load_text(&ld, HEAD "datapath: {hostReachableServices: true, mapSizes: {sockRevNat: 1024}}\n", true);
	d = diag_lines(&ld);
	cr_expect_eq(ld.diags.n_errors + ld.diags.n_warnings, 0, "%s", d);
	free(d);
	cr_expect_eq(ld.state.datapath->map_sizes->size[SL_MAP_SOCK_NAT], 1024);
	sl_load_free(&ld);
	load_text(&ld, HEAD "datapath: {mapSizes: {sockRevNat: 0}}\n", true);
	d = diag_lines(&ld);
	cr_expect(strstr(d, "datapath.mapSizes.sockRevNat"), "%s", d);
	cr_expect_eq(ld.diags.n_errors, 1, "%s", d);
	free(d);
	sl_load_free(&ld);
}

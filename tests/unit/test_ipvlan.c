/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvlan mode's objects (features/endpoints.c, kinds/netns.c): what a state
 * compiles to (the programs on the slave's egress and ingress, a record of
 * its namespace and master, an attachment tagged with its namespace), how a
 * plan says them, and show's way back to mode, master and netns.
 */
#include <string.h>

#include <sluice/abi.h>

#include "helpers.h"
#include "kinds/attach.h"
#include "kinds/kind.h"
#include "reconcile/compile.h"
#include "reconcile/plan.h"
#include "reconcile/show.h"

#define IDS "version: 1\nidentities: [{id: 1000, labels: {app: web}}]\n"
#define IPVLAN "datapath: {mode: ipvlan, ipvlanMaster: eth0}\n"
#define EP(ns) "endpoints: [{name: web-1, interface: ipvl-web1, ipv4: 10.1.0.10, identity: 1000, id: 10" ns "}]\n"

/* Programs known to the compile (their digests), as a node with them loaded. */
static const struct sl_compile_prev *with_digests(void)
{
	static struct sl_compile_prev prev;

	for (int p = 0; p < SL_PROG__MAX; p++)
		prev.prog_digest[p] = 0x1000 + (uint64_t)p;
	return &prev;
}

static void compile_text(struct compiled *c, const char *yaml)
{
	compile_yaml(c, yaml, with_digests(), true);
}

static const struct sl_attach_value *attach(const struct sl_objset *s, const char *ifname, uint8_t hook)
{
	struct sl_attach_key k = { .hook = hook };
	const struct sl_obj *o;

	snprintf(k.ifname, sizeof(k.ifname), "%s", ifname);
	o = objset_find(s, SL_OBJ_ATTACH, &k, sizeof(k));
	return o ? obj_val(s, o) : NULL;
}

static const struct sl_ep_netns_value *record(const struct sl_objset *s, const char *ifname)
{
	char k[16] = { 0 };
	const struct sl_obj *o;

	snprintf(k, sizeof(k), "%s", ifname);
	o = objset_find(s, SL_OBJ_EP_NETNS, k, sizeof(k));
	return o ? obj_val(s, o) : NULL;
}

Test(ipvlan, the_slave_programs_the_other_way_round)
{
	struct compiled c;
	const struct sl_attach_value *from, *to;
	const struct sl_ep_netns_value *r;

	compile_text(&c, IDS IPVLAN EP(", netns: /run/netns/web-1"));
	from = attach(&c.res.set, "ipvl-web1", SL_HOOK_TC_EGRESS);
	to = attach(&c.res.set, "ipvl-web1", SL_HOOK_TC_INGRESS);
	cr_assert_not_null(from);
	cr_assert_not_null(to);
	cr_expect_eq(from->prog, SL_PROG_FROM_ENDPOINT, "what the slave sends meets from_endpoint on its egress");
	cr_expect_eq(to->prog, SL_PROG_TO_ENDPOINT, "what it is sent meets to_endpoint on its ingress");
	cr_expect_eq(from->netns_tag, sl_netns_tag("/run/netns/web-1", SL_NETNS_PATH_LEN));
	cr_expect_neq(from->netns_tag, 0);
	r = record(&c.res.set, "ipvl-web1");
	cr_assert_not_null(r, "the record of its namespace");
	cr_expect_str_eq(r->netns, "/run/netns/web-1");
	cr_expect_str_eq(r->master, "eth0");
	compiled_free(&c);

	/* no netns: sluice's own namespace, recorded as "" */
	compile_text(&c, IDS IPVLAN EP(""));
	r = record(&c.res.set, "ipvl-web1");
	cr_assert_not_null(r);
	cr_expect_str_eq(r->netns, "");
	cr_expect_eq(attach(&c.res.set, "ipvl-web1", SL_HOOK_TC_EGRESS)->netns_tag, 0);
	compiled_free(&c);

	/* veth mode: the host side, from on ingress, no record */
	compile_text(&c, IDS EP(""));
	cr_expect_eq(attach(&c.res.set, "ipvl-web1", SL_HOOK_TC_INGRESS)->prog, SL_PROG_FROM_ENDPOINT);
	cr_expect_eq(attach(&c.res.set, "ipvl-web1", SL_HOOK_TC_EGRESS)->prog, SL_PROG_TO_ENDPOINT);
	cr_expect_null(record(&c.res.set, "ipvl-web1"));
	compiled_free(&c);
}

static char *plan_of(const char *old_yaml, const char *new_yaml, enum sl_plan_format fmt)
{
	return plan_between(old_yaml, with_digests(), new_yaml, with_digests(), true, fmt);
}

Test(ipvlan, plans)
{
	char *plan = plan_of(IDS, IDS IPVLAN EP(", netns: /run/netns/web-1"), SL_PLAN_TEXT);

	cr_expect(strstr(plan, "endpoint web-1 (ipvl-web1, id 10)\n"), "%s", plan);
	cr_expect(strstr(plan, "  + ipvlan slave of eth0 in /run/netns/web-1\n"), "%s", plan);
	cr_expect(strstr(plan, "  + attach tc ingress ipvl-web1\n"), "%s", plan);
	cr_expect(strstr(plan, "  + attach tc egress ipvl-web1\n"), "%s", plan);
	/* the record first in its group */
	cr_expect(strstr(plan, "ipvlan slave of") < strstr(plan, "attach tc"), "%s", plan);
	free(plan);

	/* moved to another namespace: the record and both attachments change */
	plan = plan_of(IDS IPVLAN EP(", netns: /run/netns/a"), IDS IPVLAN EP(", netns: /run/netns/b"), SL_PLAN_TEXT);
	cr_expect(strstr(plan, "  ~ ipvlan slave of eth0 in /run/netns/a -> of eth0 in /run/netns/b\n"), "%s", plan);
	cr_expect(strstr(plan, "  ~ attach tc ingress ipvl-web1: moved to another network namespace\n"), "%s", plan);
	cr_expect(strstr(plan, "  ~ attach tc egress ipvl-web1: moved to another network namespace\n"), "%s", plan);
	free(plan);

	plan = plan_of(IDS, IDS IPVLAN EP(""), SL_PLAN_JSON);
	cr_expect(strstr(plan, "\"kind\":\"endpoint namespace\""), "%s", plan);
	cr_expect(strstr(plan, "\"after\":{\"netns\":\"\",\"ipvlanMaster\":\"eth0\"}"), "%s", plan);
	free(plan);
}

Test(ipvlan, show)
{
	struct compiled c;
	struct strbuf text = {}, notes = {};

	compile_text(&c, IDS IPVLAN EP(", netns: /run/netns/web-1"));
	cr_assert_eq(sl_show_render(&c.res.set, NULL, 0, SL_SHOW_YAML, &text, &notes), 0);
	cr_expect(strstr(text.s, "datapath:\n  mode: ipvlan\n  ipvlanMaster: eth0\n"), "%s", text.s);
	cr_expect(strstr(text.s, "    interface: ipvl-web1\n    netns: \"/run/netns/web-1\"\n"), "%s", text.s);
	strbuf_free(&text);
	strbuf_free(&notes);
	compiled_free(&c);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The decoders of what the kernel sends back over netlink: an input is a
 * receive buffer of a dump (netlink messages back to back), walked as
 * xfrm.c's and route.c's dump loops walk it. Each message goes to the SA,
 * xfrm policy, route, device and rule decoders that observation runs
 * (xfrm_state_decode, xfrm_policy_decode, route_decode, link_decode,
 * rule_decode) and,
 * when it ends the dump or is an
 * error, to nl_ack_parse. What decodes as sluice's is named as errors name
 * it, gathered into a live set, and planned (removals, then additions) and
 * shown: the plan's JSON must be valid JSON.
 */
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/link.h"
#include "datapath/nl.h"
#include "datapath/route.h"
#include "datapath/rule.h"
#include "datapath/xfrm.h"
#include "fuzz.h"
#include "reconcile/diff.h"
#include "reconcile/plan.h"
#include "reconcile/show.h"

static const uint8_t local4[16] = { 192, 168, 50, 1 };

static void plan(const struct sl_objset *want, const struct sl_objset *have)
{
	struct sl_diff d = { 0 };
	struct strbuf json = { 0 };
	size_t at;

	if (sl_diff(want, have, &d) < 0)
		return;
	sl_plan_write(want, have, &d, NULL, SL_PLAN_TEXT, false, fuzz_devnull(), NULL);
	if (sl_plan_render(want, have, &d, NULL, SL_PLAN_JSON, false, &json) >= 0)
		FUZZ_ASSERT(fuzz_json_ok(strbuf_str(&json), json.len, &at), "the plan is not JSON at byte %zu:\n%s", at,
			    strbuf_str(&json));
	strbuf_free(&json);
	sl_diff_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct nlmsghdr *m;
	struct sl_objset seen = { 0 }, live = { 0 }, empty = { .sorted = true };
	struct strbuf text = { 0 };
	char name[256];
	int len = size > INT32_MAX ? INT32_MAX : (int)size;

	for (m = (const struct nlmsghdr *)data; nl_msg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
		struct sl_xfrm_state_key sk;
		struct sl_xfrm_state_value sv;
		struct sl_xfrm_policy_key pk;
		struct sl_xfrm_policy_value pv;
		struct sl_route_key rk;
		struct sl_route_value rv;
		struct sl_device_key dk;
		struct sl_device_value dv;
		struct sl_rule_key uk;
		struct sl_rule_value uv;
		uint32_t ifindex;

		if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
			const char *ext;
			int err;

			if (nl_ack_parse(m, &err, &ext) == 0 && ext)
				snprintf(name, sizeof(name), "%d %s", err, ext);
			continue;
		}
		if (xfrm_state_decode(m, &sk, &sv) > 0) {
			xfrm_state_name(&sk, &sv, m->nlmsg_flags & 1 ? local4 : NULL, name, sizeof(name));
			xfrm_state_name(&sk, NULL, NULL, name, sizeof(name));
			objset_add(&seen, SL_OBJ_XFRM_STATE, &sk, sizeof(sk), &sv, sizeof(sv));
		}
		explicit_bzero(&sv, sizeof(sv));
		if (xfrm_policy_decode(m, &pk, &pv) > 0) {
			xfrm_policy_name(&pk, name, sizeof(name));
			objset_add(&seen, SL_OBJ_XFRM_POLICY, &pk, sizeof(pk), &pv, sizeof(pv));
		}
		if (route_decode(m, &rk, &rv, &ifindex) > 0) {
			/* observation asks the kernel for the device's name */
			if (ifindex)
				snprintf(rv.dev, sizeof(rv.dev), "dev%u", ifindex % 100000u);
			route_name(&rk, &rv, name, sizeof(name));
			route_name(&rk, NULL, name, sizeof(name));
			objset_add(&seen, SL_OBJ_ROUTE, &rk, sizeof(rk), &rv, sizeof(rv));
		}
		if (link_decode(m, &dk, &dv, &ifindex) > 0) {
			/* observation names the underlay by its ifindex */
			if (ifindex)
				snprintf(dv.underlay, sizeof(dv.underlay), "dev%u", ifindex % 100000u);
			sl_device_name(&dk, &dv, name, sizeof(name));
			sl_device_name(&dk, NULL, name, sizeof(name));
			objset_add(&seen, SL_OBJ_DEVICE, &dk, sizeof(dk), &dv, sizeof(dv));
		}
		if (rule_decode(m, &uk, &uv) > 0) {
			sl_rule_name(&uk, &uv, name, sizeof(name));
			sl_rule_name(&uk, NULL, name, sizeof(name));
			objset_add(&seen, SL_OBJ_RULE, &uk, sizeof(uk), &uv, sizeof(uv));
		}
	}
	if (fuzz_unique(&seen, &live) >= 0) {
		plan(&empty, &live); /* flush */
		plan(&live, &empty); /* apply on an empty node */
		sl_show_render(&live, NULL, 0, SL_SHOW_YAML, &text, NULL);
	}
	strbuf_free(&text);
	objset_free(&seen);
	objset_free(&live);
	return 0;
}

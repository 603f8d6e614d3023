/* SPDX-License-Identifier: Apache-2.0 */
/* The socket hook kind (sockhook.h). */
#include "kinds/sockhook.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

static const char *const hook_names[SL_SOCKHOOK__MAX] = {
	[SL_SOCKHOOK_SOCK_OPS] = "sockops",
	[SL_SOCKHOOK_SK_MSG] = "sk_msg",
	[SL_SOCKHOOK_CONNECT4] = "connect4",
	[SL_SOCKHOOK_CONNECT6] = "connect6",
	[SL_SOCKHOOK_SENDMSG4] = "sendmsg4",
	[SL_SOCKHOOK_SENDMSG6] = "sendmsg6",
	[SL_SOCKHOOK_RECVMSG4] = "recvmsg4",
	[SL_SOCKHOOK_RECVMSG6] = "recvmsg6",
	[SL_SOCKHOOK_GETPEERNAME4] = "getpeername4",
	[SL_SOCKHOOK_GETPEERNAME6] = "getpeername6",
};

int sl_sockhook_prog(unsigned hook)
{
	static const uint8_t prog[SL_SOCKHOOK__MAX] = {
		[SL_SOCKHOOK_SOCK_OPS] = SL_PROG_SOCKOPS,	  [SL_SOCKHOOK_SK_MSG] = SL_PROG_SK_MSG,
		[SL_SOCKHOOK_CONNECT4] = SL_PROG_CONNECT4,	  [SL_SOCKHOOK_CONNECT6] = SL_PROG_CONNECT6,
		[SL_SOCKHOOK_SENDMSG4] = SL_PROG_SENDMSG4,	  [SL_SOCKHOOK_SENDMSG6] = SL_PROG_SENDMSG6,
		[SL_SOCKHOOK_RECVMSG4] = SL_PROG_RECVMSG4,	  [SL_SOCKHOOK_RECVMSG6] = SL_PROG_RECVMSG6,
		[SL_SOCKHOOK_GETPEERNAME4] = SL_PROG_GETPEERNAME4, [SL_SOCKHOOK_GETPEERNAME6] = SL_PROG_GETPEERNAME6,
	};

	return hook < SL_SOCKHOOK__MAX ? prog[hook] : SL_PROG__MAX;
}

const char *sl_sockhook_name(unsigned hook, char *buf, size_t len)
{
	return desc_table_name(hook_names, ARRAY_SIZE(hook_names), hook, "hook", buf, len);
}

/* Where the hook is: the state's cgroupPath for the cgroup the state asks
 * for (the plan's side: want), else the cgroup by id; the sockhash. */
static void where(const struct sl_desc_ctx *c, const struct sl_sockhook_key *k, const struct sl_sockhook_value *v,
		  int side, char *buf, size_t len)
{
	if (!sl_sockhook_on_cgroup(k->hook))
		snprintf(buf, len, "map %s", SL_MAPNAME_SOCK);
	else if (side == SL_AFTER && c->st)
		snprintf(buf, len, "cgroup %s", sl_datapath_cgroup_path(c->st->datapath));
	else
		snprintf(buf, len, "cgroup id %" PRIu64, v->cgroup_id);
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_sockhook_key *k = v->key;
	const struct sl_sockhook_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char hb[16], wb[300], wa[300];
	const char *hook = sl_sockhook_name(k->hook, hb, sizeof(hb));

	if (a)
		where(c, k, a, SL_AFTER, wa, sizeof(wa));
	if (b)
		where(c, k, b, SL_BEFORE, wb, sizeof(wb));
	desc_put(d, &d->line, "attach %s %s", hook, str_esc(a ? wa : wb));
	if (a && b) {
		bool first = true;

		desc_put(d, &d->line, ": ");
		if (b->cgroup_id != a->cgroup_id) {
			desc_sep(d, &first);
			desc_put(d, &d->line, "from %s", str_esc(wb));
		}
		sl_prog_desc_change(d, &first, b->prog, b->digest, a->prog, a->digest);
		if (first)
			desc_put(d, &d->line, "value differs");
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_sockhook_value *e = v->val[s];
		char digest[17], prog[16];

		if (!e)
			continue;
		snprintf(digest, sizeof(digest), "%016" PRIx64, e->digest);
		desc_json_s(d, &d->obj[s], "hook", hook);
		desc_json_s(d, &d->obj[s], "program", sl_prog_name(e->prog, prog, sizeof(prog)));
		desc_json_s(d, &d->obj[s], "digest", digest);
		if (sl_sockhook_on_cgroup(k->hook)) {
			desc_json_u(d, &d->obj[s], "cgroupId", e->cgroup_id);
			if (s == SL_AFTER && c->st)
				desc_json_s(d, &d->obj[s], "cgroup", sl_datapath_cgroup_path(c->st->datapath));
		} else {
			desc_json_s(d, &d->obj[s], "map", SL_MAPNAME_SOCK);
		}
	}
}

/* The socket programs' maps: socket acceleration's (sluice_sock), the
 * socket hooks of services' (sluice_sock_nat); both need the datapath's. */
static int maps(const void *key, const void *val)
{
	const struct sl_sockhook_key *k = key;

	(void)val;
	return k->hook == SL_SOCKHOOK_SOCK_OPS || k->hook == SL_SOCKHOOK_SK_MSG ? SL_MAPS_SOCK : SL_MAPS_SOCK_LB;
}

const struct sl_kind sl_kind_sockhook = {
	.name = "socket hook",
	.klen = sizeof(struct sl_sockhook_key),
	.vlen = sizeof(struct sl_sockhook_value),
	.backend = SL_VIA_PROGS,
	.maps = maps,
	.section = SL_SEC_PROGS,
	.describe = describe,
};

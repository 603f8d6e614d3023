/* SPDX-License-Identifier: Apache-2.0 */
/* The program kind (prog.h). */
#include "kinds/prog.h"

#include <inttypes.h>
#include <stdio.h>

#include "kinds/desc.h"

const char *const sl_prog_names[SL_PROG__MAX] = {
	[SL_PROG_FROM_ENDPOINT] = "from_endpoint", [SL_PROG_TO_ENDPOINT] = "to_endpoint",
	[SL_PROG_PREFILTER] = "prefilter", [SL_PROG_FROM_OVERLAY] = "from_overlay",
	[SL_PROG_FROM_NETDEV] = "from_netdev", [SL_PROG_SOCKOPS] = "sockops", [SL_PROG_SK_MSG] = "sk_msg",
	[SL_PROG_CONNECT4] = "connect4", [SL_PROG_CONNECT6] = "connect6", [SL_PROG_SENDMSG4] = "sendmsg4",
	[SL_PROG_SENDMSG6] = "sendmsg6", [SL_PROG_RECVMSG4] = "recvmsg4", [SL_PROG_RECVMSG6] = "recvmsg6",
	[SL_PROG_GETPEERNAME4] = "getpeername4", [SL_PROG_GETPEERNAME6] = "getpeername6",
};

const char *sl_prog_name(unsigned prog, char *buf, size_t len)
{
	return desc_table_name(sl_prog_names, ARRAY_SIZE(sl_prog_names), prog, "program", buf, len);
}

void sl_prog_desc_change(struct sl_desc *d, bool *first, uint8_t bprog, uint64_t bdigest, uint8_t aprog,
			 uint64_t adigest)
{
	char pb[16], pa[16];

	if (bprog != aprog) {
		desc_sep(d, first);
		desc_put(d, &d->line, "program %s -> %s", sl_prog_name(bprog, pb, sizeof(pb)),
			 sl_prog_name(aprog, pa, sizeof(pa)));
	} else if (bdigest != adigest) {
		desc_sep(d, first);
		desc_put(d, &d->line, "program changed%s", bdigest ? "" : " (not sluice's current build)");
	}
}

/* A program is current when it uses the maps pinned now and the devices
 * it was loaded for. */
static const char *state_name(const struct sl_prog_value *v)
{
	return v->current ? "current" : "stale (bound to replaced maps or devices, or its twin with events gone)";
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_prog_key *k = v->key;
	const struct sl_prog_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char pbuf[24], digest[17];
	const char *prog = sl_prog_name(k->prog, pbuf, sizeof(pbuf));

	(void)c;
	snprintf(digest, sizeof(digest), "%016" PRIx64, k->digest);
	desc_put(d, &d->line, "program %s %s", prog, digest);
	if (a && b)
		desc_put(d, &d->line, ": %s -> %s", state_name(b), state_name(a));
	else if (!(a ? a : b)->current)
		desc_put(d, &d->line, " %s", state_name(a ? a : b));
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_prog_value *e = v->val[s];

		if (!e)
			continue;
		desc_json_s(d, &d->obj[s], "program", prog);
		desc_json_s(d, &d->obj[s], "digest", digest);
		desc_json_bool(d, &d->obj[s], "current", e->current);
	}
}

const struct sl_kind sl_kind_prog = {
	.name = "program",
	.klen = sizeof(struct sl_prog_key),
	.vlen = sizeof(struct sl_prog_value),
	.backend = SL_VIA_PROGS,
	.section = SL_SEC_PROGS,
	.describe = describe,
};

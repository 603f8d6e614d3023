/* SPDX-License-Identifier: Apache-2.0 */
/* The service kind: an entry of sluice_services, frontend -> members (the
 * backends by id, with weight and state) and the slot table. A plan says
 * a service by its backends: a line per backend that comes, goes or
 * changes, never the slot table's bytes. */
#include "kinds/service.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "kinds/backend.h"
#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

/* "10.96.0.10:80/TCP", "[fd00::10]:80/TCP" */
void sl_service_frontend_format(const struct sl_service_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], pb[8];

	desc_addr_format(k->family, k->addr, a, sizeof(a));
	snprintf(buf, len, k->family == SL_FAMILY_IPV6 ? "[%s]:%u/%s" : "%s:%u/%s", a, ntohs(k->port),
		 desc_proto_name(k->proto, pb, sizeof(pb)));
}

static const char *member_state(const struct sl_lb_member *m)
{
	return m->flags & SL_LB_MEMBER_TERMINATING ? "terminating" : "active";
}

static uint8_t active_members(const struct sl_service_value *v)
{
	uint8_t n = 0;

	for (uint8_t m = 0; m < v->n_members && m < SL_LB_MAX_BACKENDS; m++)
		n += !(v->member[m].flags & SL_LB_MEMBER_TERMINATING);
	return n;
}

static void changes(const struct sl_service_value *b, const struct sl_service_value *a, struct sl_desc *d)
{
	bool first = true;
	unsigned moved = 0;

	for (int i = 0; i < SL_LB_SLOTS; i++)
		moved += a->slot[i] != b->slot[i];
	desc_put(d, &d->line, ":");
	if (a->id != b->id) {
		desc_sep(d, &first);
		desc_put(d, &d->line, " id %u -> %u", b->id, a->id);
	}
	if (a->n_slots != b->n_slots) {
		desc_sep(d, &first);
		desc_put(d, &d->line, " %u -> %u slots", b->n_slots, a->n_slots);
	}
	if (moved) {
		desc_sep(d, &first);
		desc_put(d, &d->line, " slot table: %u of %u slots changed", moved, SL_LB_SLOTS);
	}
	if (first)
		desc_put(d, &d->line, " value changed");
}

/* The service as a whole (add, remove, or a change of something other
 * than its backends). */
static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_service_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char fe[80];

	(void)c;
	sl_service_frontend_format(v->key, fe, sizeof(fe));
	desc_put(d, &d->line, "service %s", fe);
	if (a && b)
		changes(b, a, d);
	else if (a && !active_members(a))
		desc_put(d, &d->line, " (no active backend: new connections are refused)");
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_service_value *x = v->val[s];

		if (!x)
			continue;
		desc_json_s(d, &d->obj[s], "frontend", fe);
		desc_json_u(d, &d->obj[s], "id", x->id);
		desc_json_u(d, &d->obj[s], "backends", x->n_members);
		desc_json_u(d, &d->obj[s], "active", active_members(x));
		desc_json_u(d, &d->obj[s], "slots", x->n_slots);
	}
}

/* A member line: "backend 10.1.0.11:8080 weight 2", or what changed. */
static void describe_member(const struct sl_desc_ctx *c, const struct sl_lb_member *b, const struct sl_lb_member *a,
			    struct sl_desc *d)
{
	const struct sl_lb_member *m = a ? a : b;
	char addr[80];

	desc_reset(d);
	sl_backend_by_id(c, a ? SL_WANT : SL_HAVE, m->backend_id, addr, sizeof(addr));
	desc_put(d, &d->line, "backend %s", addr);
	if (a && b) {
		bool first = true;

		desc_put(d, &d->line, ":");
		if (a->weight != b->weight) {
			desc_sep(d, &first);
			desc_put(d, &d->line, " weight %u -> %u", b->weight, a->weight);
		}
		if ((a->flags ^ b->flags) & SL_LB_MEMBER_TERMINATING) {
			desc_sep(d, &first);
			desc_put(d, &d->line, " %s -> %s", member_state(b), member_state(a));
		}
	} else {
		desc_put(d, &d->line, " weight %u%s", m->weight, m->flags & SL_LB_MEMBER_TERMINATING ? " terminating" : "");
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_lb_member *x = s == SL_BEFORE ? b : a;

		if (!x)
			continue;
		desc_json_s(d, &d->obj[s], "backend", addr);
		desc_json_u(d, &d->obj[s], "id", x->backend_id);
		desc_json_u(d, &d->obj[s], "weight", x->weight);
		desc_json_s(d, &d->obj[s], "state", member_state(x));
	}
}

static const struct sl_lb_member *member_find(const struct sl_service_value *v, uint32_t backend_id)
{
	for (uint8_t m = 0; v && m < v->n_members && m < SL_LB_MAX_BACKENDS; m++)
		if (v->member[m].backend_id == backend_id)
			return &v->member[m];
	return NULL;
}

/* The service itself when it comes or goes (or changes in something other
 * than its backends), then a line per backend that comes, goes or changes
 * weight or state. */
static void lines(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_desc *d, sl_line_fn line,
		  void *arg)
{
	const struct sl_service_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	bool members_differ = false;

	if (a && b) {
		members_differ = a->n_members != b->n_members;
		for (uint8_t m = 0; !members_differ && m < a->n_members && m < SL_LB_MAX_BACKENDS; m++)
			members_differ = memcmp(&a->member[m], &b->member[m], sizeof(a->member[m])) != 0;
	}
	if (!a || !b || !members_differ || a->id != b->id) {
		desc_describe(c, v, d);
		line(arg, op, "service", b != NULL, a != NULL);
	}
	/* removed and changed members, in the order of the live value */
	for (uint8_t m = 0; b && m < b->n_members && m < SL_LB_MAX_BACKENDS; m++) {
		const struct sl_lb_member *now = member_find(a, b->member[m].backend_id);

		if (!now) {
			describe_member(c, &b->member[m], NULL, d);
			line(arg, SL_OP_REMOVE, "backend", true, false);
		} else if (now->weight != b->member[m].weight ||
			   ((now->flags ^ b->member[m].flags) & SL_LB_MEMBER_TERMINATING)) {
			describe_member(c, &b->member[m], now, d);
			line(arg, SL_OP_CHANGE, "backend", true, true);
		}
	}
	for (uint8_t m = 0; a && m < a->n_members && m < SL_LB_MAX_BACKENDS; m++)
		if (!member_find(b, a->member[m].backend_id)) {
			describe_member(c, NULL, &a->member[m], d);
			line(arg, SL_OP_ADD, "backend", false, true);
		}
}

/* One group per service, by frontend. */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	_Static_assert(sizeof(struct sl_service_key) <= sizeof(g->name), "a frontend names its group");
	(void)c;
	(void)op;
	g->section = SL_SEC_SERVICE;
	memset(g->name, 0, sizeof(g->name));
	memcpy(g->name, v->key, sizeof(struct sl_service_key));
}

const struct sl_kind sl_kind_service = {
	.name = "service",
	.klen = sizeof(struct sl_service_key),
	.vlen = sizeof(struct sl_service_value),
	.backend = SL_VIA_ENTRIES,
	.rank = 6, /* after the backends it names */
	.map = SL_MAPNAME_SERVICES,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_SERVICES,
	.describe = describe,
	.group = group,
	.lines = lines,
};

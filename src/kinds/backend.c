/* SPDX-License-Identifier: Apache-2.0 */
/* The backend kind: an entry of sluice_backends, id -> address and port. A
 * plan says a backend by the lines of the services that name it; only one
 * no service change names has a line of its own. */
#include "kinds/backend.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

static void backend_format(const struct sl_backend_value *b, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	desc_addr_format(b->family, b->addr, a, sizeof(a));
	snprintf(buf, len, b->family == SL_FAMILY_IPV6 ? "[%s]:%u" : "%s:%u", a, ntohs(b->port));
}

void sl_backend_by_id(const struct sl_desc_ctx *c, int s, uint32_t id, char *buf, size_t len)
{
	struct sl_backend_key k = { .id = id };

	for (int i = 0; i < 2; i++) {
		const struct sl_objset *set = c->set[i ? !s : s];
		const struct sl_obj *o = objset_find(set, SL_OBJ_BACKEND, &k, sizeof(k));

		if (o && sl_kind_fits(o->kind, o->klen, o->vlen)) {
			struct sl_backend_value v;

			memcpy(&v, obj_val(set, o), sizeof(v)); /* at any alignment */
			backend_format(&v, buf, len);
			return;
		}
	}
	snprintf(buf, len, "#%u", id);
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_backend_key *k = v->key;
	const struct sl_backend_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char addr[80], was[80];

	(void)c;
	backend_format(a ? a : b, addr, sizeof(addr));
	desc_put(d, &d->line, "backend %s (id %u)", addr, k->id);
	if (a && b) {
		backend_format(b, was, sizeof(was));
		if (strcmp(was, addr))
			desc_put(d, &d->line, ": %s -> %s", was, addr);
		else
			desc_put(d, &d->line, ": flags %u -> %u", b->flags, a->flags);
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_backend_value *x = v->val[s];

		if (!x)
			continue;
		backend_format(x, was, sizeof(was));
		desc_json_u(d, &d->obj[s], "id", k->id);
		desc_json_s(d, &d->obj[s], "backend", was);
		desc_json_bool(d, &d->obj[s], "terminating", x->flags & SL_BACKEND_F_TERMINATING);
	}
}

static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	(void)op;
	g->section = desc_backend_said(c, ((const struct sl_backend_key *)v->key)->id) ? SL_SEC_HIDDEN : SL_SEC_BACKENDS;
}

const struct sl_kind sl_kind_backend = {
	.name = "backend",
	.klen = sizeof(struct sl_backend_key),
	.vlen = sizeof(struct sl_backend_value),
	.backend = SL_VIA_ENTRIES,
	.rank = 5, /* before the services that name it */
	.map = SL_MAPNAME_BACKENDS,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_BACKENDS,
	.describe = describe,
	.group = group,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* Show: the services section, from the service and backend entries. */
#include <arpa/inet.h>
#include <string.h>

#include <sluice/abi.h>

#include "show_internal.h"

/* ---- services ---- */

/* The backend entry of that id into ret; false when there is none. */
static bool backend_value(struct show *s, uint32_t id, struct sl_backend_value *ret)
{
	struct sl_backend_key k = { .id = id };
	const struct sl_obj *o = objset_find(s->live, SL_OBJ_BACKEND, &k, sizeof(k));

	if (!o || o->vlen != sizeof(*ret))
		return false;
	memcpy(ret, obj_val(s->live, o), sizeof(*ret)); /* at any alignment */
	return true;
}

static const char *addr_of(struct show *s, uint8_t family, const uint8_t *addr)
{
	struct sl_prefix p = { .family = family, .len = family == SL_FAMILY_IPV4 ? 32 : 128 };

	memcpy(p.addr, addr, 16);
	return show_addr_str(s, &p);
}

/* "svc-10-96-0-10-80-tcp": a name from the frontend. */
static const char *service_name(struct show *s, const struct sl_service_key *k)
{
	const char *a = addr_of(s, k->family, k->addr), *pn = sl_proto_name(k->proto);
	char base[96], *p;

	snprintf(base, sizeof(base), "svc-%s-%u-%s", a ? a : "x", ntohs(k->port), pn ? pn : "any");
	for (p = base; *p; p++) {
		if (*p == '.' || *p == ':')
			*p = '-';
		else if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return show_unique_name(s, show_fmt(s, "%s", base));
}

void show_emit_services(struct show *s)
{
	struct doc_node *q;
	size_t missing = 0;

	if (!s->has_svcs)
		return;
	q = doc_seq(&s->doc, doc_root(&s->doc), "services", DOC_BLOCK);
	for (size_t i = s->svc_first; i < s->svc_first + s->n_svcs; i++) {
		const struct sl_obj *o = &s->live->v[i];
		struct sl_service_key kc;
		struct sl_service_value vc;
		const struct sl_service_key *k = &kc;
		const struct sl_service_value *v = &vc;
		struct doc_node *m, *fe, *bes;

		if (o->kind != SL_OBJ_SERVICE || !show_obj_copy(s, o, &kc, sizeof(kc), &vc, sizeof(vc)))
			continue;
		m = doc_map(&s->doc, q, NULL, DOC_BLOCK);
		doc_str(&s->doc, m, "name", service_name(s, k));
		fe = doc_map(&s->doc, m, "frontend", DOC_FLOW);
		doc_str(&s->doc, fe, "ip", addr_of(s, k->family, k->addr));
		doc_u64(&s->doc, fe, "port", ntohs(k->port));
		doc_str(&s->doc, fe, "protocol", sl_proto_name(k->proto));
		bes = doc_seq(&s->doc, m, "backends", DOC_BLOCK);
		for (uint8_t j = 0; j < v->n_members && j < SL_LB_MAX_BACKENDS; j++) {
			const struct sl_lb_member *mb = &v->member[j];
			struct sl_backend_value bv;
			const struct sl_backend_value *b = &bv;
			struct doc_node *bm;

			if (!backend_value(s, mb->backend_id, &bv)) {
				missing++;
				continue;
			}
			bm = doc_map(&s->doc, bes, NULL, DOC_FLOW);
			doc_str(&s->doc, bm, "ip", addr_of(s, b->family, b->addr));
			doc_u64(&s->doc, bm, "port", ntohs(b->port));
			if (mb->weight != 1)
				doc_u64(&s->doc, bm, "weight", mb->weight);
			if (mb->flags & SL_LB_MEMBER_TERMINATING)
				doc_str(&s->doc, bm, "state", "terminating");
		}
	}
	if (missing)
		show_note(s, "%zu backends that services name have no backend entry: not shown", missing);
}

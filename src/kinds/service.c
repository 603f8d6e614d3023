/* SPDX-License-Identifier: Apache-2.0 */
/* The service kind: an entry of sluice_services, frontend -> members (the
 * backends by id, with weight and state) and the slot table. A plan says
 * a service by its backends: a line per backend that comes, goes or
 * changes, never the slot table's bytes. */
#include "kinds/service.h"

#include <arpa/inet.h>
#include <stddef.h>
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

/*
 * The sets' form of a service value (kind.h). The kernel's is 772 bytes:
 * 64 member places, most of them unused, and 252 slot bytes, each the
 * index of one of the few members in use. The form:
 *   [0]       the bits each slot byte takes: 1, 2, 4 or 8, the fewest
 *             that hold every one of the 252
 *   [1]       k, the members kept: those after the last nonzero one are
 *             all zero and left out
 *   [2..9]    id, n_slots, n_members, flags, as the kernel has them
 *   8k bytes  the members
 *   then the 252 slot bytes at that many bits each, the first in the
 *             lowest bits of the first byte (unused high bits zero).
 * A value whose form would not be shorter (64 members in use, slots up
 * to 255) is kept as the kernel's bytes: a form of exactly 772 bytes.
 * With two backends: 58 bytes.
 */
#define FORM_HEAD 10
#define N_SLOT_BYTES (SL_LB_SLOTS + 1)

static size_t form_len(unsigned bits, unsigned k)
{
	return FORM_HEAD + 8 * (size_t)k + (N_SLOT_BYTES * bits + 7) / 8;
}

/* The slot bytes at `bits` each and back, through 256 bytes (the 252
 * and zeros) so that every output byte takes whole groups; inlined with a
 * constant width, the loops have fixed lengths. */
static inline __attribute__((always_inline)) void slots_pack(uint8_t *out, const uint8_t *slot, unsigned bits)
{
	unsigned per = 8 / bits;
	uint8_t s[256] = { 0 };

	memcpy(s, slot, N_SLOT_BYTES);
	if (bits == 1) {
		/* eight bytes of 0 or 1 at once: each shift brings the next
		 * ones' bits beside the first's */
		for (unsigned j = 0; j < 32; j++) {
			uint64_t x;

			memcpy(&x, s + 8 * j, sizeof(x));
			x |= x >> 7;
			x |= x >> 14;
			x |= x >> 28;
			s[j] = (uint8_t)x;
		}
		memcpy(out, s, 32);
		return;
	}
	for (unsigned j = 0; j < 256 / per; j++) {
		unsigned x = 0;

		for (unsigned b = 0; b < per; b++)
			x |= (unsigned)s[j * per + b] << (b * bits);
		s[j] = (uint8_t)x; /* j < j * per: read before */
	}
	memcpy(out, s, (N_SLOT_BYTES * bits + 7) / 8);
}

static inline __attribute__((always_inline)) void slots_unpack(uint8_t *slot, const uint8_t *in, unsigned bits)
{
	unsigned per = 8 / bits, mask = (1u << bits) - 1;
	uint8_t s[256];

	for (unsigned j = 0; j < 256 / per; j++) {
		unsigned x = j < (N_SLOT_BYTES * bits + 7) / 8 ? in[j] : 0;

		for (unsigned b = 0; b < per; b++)
			s[j * per + b] = (uint8_t)(x >> (b * bits) & mask);
	}
	memcpy(slot, s, N_SLOT_BYTES);
}

/* Both sides are bytes at any alignment (a set's, a batch's): the value
 * is read and written by its fields' offsets, never as a struct. */
#define VALUE_SIZE sizeof(struct sl_service_value)
#define MEMBERS_AT offsetof(struct sl_service_value, member)
#define SLOTS_AT offsetof(struct sl_service_value, slot)
_Static_assert(MEMBERS_AT == FORM_HEAD - 2, "the header is what comes before the members");

static size_t service_pack(const void *kval, uint8_t *out)
{
	const uint8_t *mem = (const uint8_t *)kval + MEMBERS_AT, *slot = (const uint8_t *)kval + SLOTS_AT;
	unsigned bits, k = SL_LB_MAX_BACKENDS, all = 0;
	size_t n;

	{
		uint64_t x = 0, w;

		for (size_t i = 0; i + 8 <= N_SLOT_BYTES; i += 8) {
			memcpy(&w, slot + i, sizeof(w));
			x |= w;
		}
		for (size_t i = N_SLOT_BYTES / 8 * 8; i < N_SLOT_BYTES; i++)
			x |= slot[i];
		for (; x; x >>= 8)
			all |= x & 0xff;
	}
	bits = all < 2 ? 1 : all < 4 ? 2 : all < 16 ? 4 : 8;
	for (uint64_t m; k; k--) {
		memcpy(&m, mem + 8 * (k - 1), sizeof(m));
		if (m)
			break;
	}
	n = form_len(bits, k);
	if (n >= VALUE_SIZE) {
		memcpy(out, kval, VALUE_SIZE);
		return VALUE_SIZE;
	}
	out[0] = (uint8_t)bits;
	out[1] = (uint8_t)k;
	memcpy(out + 2, kval, FORM_HEAD - 2);
	memcpy(out + FORM_HEAD, mem, 8 * (size_t)k);
	out += FORM_HEAD + 8 * (size_t)k;
	switch (bits) {
	case 1:
		slots_pack(out, slot, 1);
		break;
	case 2:
		slots_pack(out, slot, 2);
		break;
	case 4:
		slots_pack(out, slot, 4);
		break;
	default:
		memcpy(out, slot, N_SLOT_BYTES);
	}
	return n;
}

static bool service_unpack(const void *form, size_t len, void *kval)
{
	uint8_t *v = kval;
	const uint8_t *f = form;
	unsigned bits, k;

	if (len == VALUE_SIZE) {
		memcpy(kval, form, len);
		return true;
	}
	if (len < FORM_HEAD)
		return false;
	bits = f[0];
	k = f[1];
	if ((bits != 1 && bits != 2 && bits != 4 && bits != 8) || k > SL_LB_MAX_BACKENDS || len != form_len(bits, k))
		return false;
	memset(v, 0, VALUE_SIZE);
	memcpy(v, f + 2, FORM_HEAD - 2);
	memcpy(v + MEMBERS_AT, f + FORM_HEAD, 8 * (size_t)k);
	f += FORM_HEAD + 8 * (size_t)k;
	switch (bits) {
	case 1:
		slots_unpack(v + SLOTS_AT, f, 1);
		break;
	case 2:
		slots_unpack(v + SLOTS_AT, f, 2);
		break;
	case 4:
		slots_unpack(v + SLOTS_AT, f, 4);
		break;
	default:
		memcpy(v + SLOTS_AT, f, N_SLOT_BYTES);
	}
	return true;
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
	.pack = service_pack,
	.unpack = service_unpack,
};

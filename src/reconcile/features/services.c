/* SPDX-License-Identifier: Apache-2.0 */
/* The services section: its validation (frontends, backends, weights) and
 * its compile (lb.h), below. */
#include "features.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <sluice/abi.h>

#include "common.h"
#include "common/counts.h"
#include "common/util.h"
#include "kinds/kind.h"
#include "reconcile/lb.h"
#include "reconcile/net.h"

/* ---- validate ---- */

/* A backend entry's identity: address and port, whatever the protocol. */
struct be_key {
	uint8_t family;
	uint8_t addr[16];
	uint8_t pad;
	uint16_t port;
};

static int be_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct be_key));
}

void services_validate(struct val *v, size_t *ret_backends)
{
	struct sl_state *st = v->st;
	struct dups names = { .what = "service name", .list = "services", .field = "name" },
		    fes = { .what = "frontend", .list = "services", .field = "frontend" };
	struct be_key *bkeys = NULL;
	size_t nb = 0, capb = 0, unique = 0;

	v_dup_reserve(v, &names, st->n_services);
	v_dup_reserve(v, &fes, st->n_services);

	for (uint32_t i = 0; i < st->n_services; i++) {
		const struct sl_service *svc = &st->services[i];
		struct sl_frontend *fe = svc->frontend;
		size_t saved = v_path_item(v, "services", svc->name, svc->doc_index);
		const struct sl_prefix *fa = fe ? &fe->ip_pfx : NULL;
		bool fe_ok = false;

		v_check_name(v, svc->file, SL_AT(svc, SL_SVC_NAME), svc->name);
		v_dup_add(v, &names, svc->name, svc->file, SL_AT(svc, SL_SVC_NAME), svc->name, svc->doc_index);
		if (fe) {
			size_t s2 = v_path_lit(v, ".frontend");

			fe_ok = v_check_addr(v, svc->file, SL_AT(fe, SL_FE_IP), "ip", fe->ip, 0, &fe->ip_pfx);
			fe_ok &= v_check_range(v, svc->file, SL_AT(fe, SL_FE_PORT), "port", fe->port, 1, 65535, "a port");
			v_pop(v, s2);
			if (fe_ok && (!SL_GIVEN(fe, SL_FE_PROTOCOL) || SL_HAS(fe, SL_FE_PROTOCOL))) {
				/* "10.96.0.10:80/TCP", "[fd00::10]:80/TCP" */
				char k[96], *e = k;
				const char *proto = sl_proto_name(fe->protocol);

				if (fa->family == 6)
					*e++ = '[';
				inet_ntop(fa->family == 4 ? AF_INET : AF_INET6, fa->addr, e, INET6_ADDRSTRLEN);
				e += strlen(e);
				if (fa->family == 6)
					*e++ = ']';
				*e++ = ':';
				e += v_u32_digits(fe->port, e);
				*e++ = '/';
				memcpy(e, proto, strlen(proto) + 1);
				e += strlen(proto);
				v_dup_add(v, &fes, v_astr(v, k, (size_t)(e - k)), svc->file, &fe->m[0], svc->name,
					svc->doc_index);
			}
		}
		if (svc->n_backends > SL_LB_MAX_BACKENDS) {
			size_t s2 = v_path_lit(v, ".backends");

			v_err(v, svc->file, SL_AT(svc, SL_SVC_BACKENDS), NULL,
			  "%" PRIu32 " backends; a service has at most %d (its slot table has %d slots)",
			  svc->n_backends, SL_LB_MAX_BACKENDS, SL_LB_SLOTS);
			v_pop(v, s2);
		}
		for (uint32_t j = 0; j < svc->n_backends; j++) {
			struct sl_backend *be = &svc->backends[j];
			size_t s2 = v_path_idx(v, ".backends", j);
			const struct sl_prefix *ba = &be->ip_pfx;
			bool ok = v_check_addr(v, svc->file, SL_AT(be, SL_BE_IP), "ip", be->ip, 0, &be->ip_pfx);

			if (ok && fe_ok && ba->family != fa->family) {
				v_err(v, svc->file, SL_AT(be, SL_BE_IP), "ip",
				  "%s is an IPv%u address but the frontend %s is IPv%u; a service's backends share its "
				  "family",
				  be->ip, ba->family, fe->ip, fa->family);
				ok = false;
			}
			if (SL_HAS(be, SL_BE_PORT))
				ok &= v_check_range(v, svc->file, SL_AT(be, SL_BE_PORT), "port", be->port, 1, 65535,
						  "a port");
			if (SL_HAS(be, SL_BE_PORT) && fe && fe->protocol == SL_PROTO_SCTP && be->port != fe->port) {
				v_err(v, svc->file, SL_AT(be, SL_BE_PORT), "port",
				  "an SCTP backend listens on the frontend's port (%" PRIu32 "): SCTP ports are not "
				  "translated",
				  fe->port);
				ok = false;
			}
			v_check_range(v, svc->file, SL_AT(be, SL_BE_WEIGHT), "weight", be->weight, 1, 65535, "a weight");
			if (ok) {
				/* one entry per address and port, whatever the protocol */
				struct be_key k = { .family = ba->family, .port = (uint16_t)be->port };

				for (uint32_t q = 0; q < j; q++) {
					const struct sl_backend *o = &svc->backends[q];

					if (o->port == be->port && o->ip && streq(o->ip, be->ip))
						v_err(v, svc->file, &be->m[0], NULL,
						  "backend %s:%" PRIu32 " is listed twice (first at line %u)", be->ip,
						  be->port, o->m[0].line);
				}
				memcpy(k.addr, ba->addr, sizeof(k.addr));
				if (grow_array((void **)&bkeys, &capb, nb + 1, sizeof(*bkeys)) >= 0)
					bkeys[nb++] = k;
				else
					v->oom = true;
			}
			v_pop(v, s2);
		}
		v_pop(v, saved);
	}
	v_dup_report(v, &names);
	v_dup_report(v, &fes);
	/* Backends shared by several services are one backend entry. */
	if (nb > 1)
		qsort(bkeys, nb, sizeof(*bkeys), be_key_cmp);
	for (size_t i = 0; i < nb; i++)
		if (!i || be_key_cmp(&bkeys[i], &bkeys[i - 1]) != 0)
			unique++;
	free(bkeys);
	*ret_backends = unique;
}

/* ---- compile ---- */

/*
 * Services: frontends, backends and their weights become SL_OBJ_BACKEND and
 * SL_OBJ_SERVICE objects (abi.h). Backend and service ids come from the
 * live maps when the same backend (address and port) or the same frontend
 * is there already, so established flows keep their backend across applies;
 * a new backend never takes an id the kernel still uses, so a flow pinned
 * to a removed backend is not sent to a new one of the same id.
 * Each service has a table of slots, looked up by a flow's hash as Maglev
 * does (Eisenbud et al., NSDI 2016); the table is filled by weighted
 * rendezvous hashing (Thaler and Ravishankar, 1998) rather than Maglev's
 * permutations, because with a table this small (251 slots, to keep a
 * service in one map value) Maglev's fill moves 1.5 to 3 times more slots
 * than the backend that comes or goes held; rendezvous moves exactly those.
 */

/* A backend by what identifies it: family, address, port (network order). */
struct lb_backend {
	struct sl_backend_value v; /* flags: TERMINATING when every service has it terminating */
	uint32_t id;
};

static int backend_cmp(const void *a, const void *b)
{
	const struct sl_backend_value *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	{
		int r = memcmp(x->addr, y->addr, 16);

		if (r)
			return r;
	}
	return x->port < y->port ? -1 : x->port > y->port;
}

/* Ids for the objects of one kind: ids[i] is the id from the live set or
 * 0; the others get the lowest ids that neither a kept object nor any
 * live one (avoid) uses. */
static int assign_ids(uint32_t *ids, size_t n, const uint32_t *avoid, size_t n_avoid)
{
	uint32_t *used = malloc((n + n_avoid + 1) * sizeof(*used));
	size_t nu = 0, u = 0;
	uint32_t next = 1;

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ids[i])
			used[nu++] = ids[i];
	for (size_t i = 0; i < n_avoid; i++)
		used[nu++] = avoid[i];
	qsort(used, nu, sizeof(*used), cmp_u32);
	for (size_t i = 0; i < n; i++) {
		if (ids[i])
			continue;
		while (u < nu && used[u] < next)
			u++;
		while (u < nu && used[u] == next) {
			next++;
			while (u < nu && used[u] < next)
				u++;
		}
		if (next == 0) {
			free(used);
			return -ENOSPC;
		}
		ids[i] = next++;
	}
	free(used);
	return 0;
}

static const struct sl_service_key *sort_keys;

static int order_cmp(const void *a, const void *b)
{
	return memcmp(&sort_keys[*(const uint32_t *)a], &sort_keys[*(const uint32_t *)b], sizeof(*sort_keys));
}

static int frontend_key(const struct sl_service *svc, struct sl_service_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!svc->frontend || !svc->frontend->ip_pfx.family)
		return -EINVAL;
	memcpy(k->addr, svc->frontend->ip_pfx.addr, 16);
	k->family = svc->frontend->ip_pfx.family;
	k->port = htons((uint16_t)svc->frontend->port);
	k->proto = (uint8_t)svc->frontend->protocol;
	return 0;
}

static int backend_of(const struct sl_service *svc, const struct sl_backend *be, struct sl_backend_value *v)
{
	memset(v, 0, sizeof(*v));
	if (!be->ip_pfx.family)
		return -EINVAL;
	memcpy(v->addr, be->ip_pfx.addr, 16);
	v->family = be->ip_pfx.family;
	/* SCTP ports are not translated (its checksum is a CRC over the whole
	 * packet): validation makes the backend port equal the frontend's. */
	v->port = htons((uint16_t)(svc->frontend && svc->frontend->protocol == SL_PROTO_SCTP ? svc->frontend->port
											    : be->port));
	return 0;
}

/* A backend's place in every table: its hash, from what identifies it. */
static uint64_t backend_hash(const struct sl_backend_value *b)
{
	uint64_t h = fnv1a64(FNV1A64_INIT, &b->family, 1);

	h = fnv1a64(h, b->addr, b->family == 4 ? 4 : 16);
	return fnv1a64(h, &b->port, 2);
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A random salt per slot, and a backend's draw for a slot: one multiply of
 * the two, well mixed (both are already uniform 64-bit hashes). */
static uint64_t salt[SL_LB_SLOTS];
static bool salt_ready;

/* Before any thread of the compile fills a table (sl_lb_compile). */
static void salt_init(void)
{
	if (salt_ready)
		return;
	for (uint32_t c = 0; c < SL_LB_SLOTS; c++)
		salt[c] = mix64(c + 0x51c0ull);
	salt_ready = true;
}

static inline uint64_t slot_draw(uint64_t backend_hash, uint32_t c)
{
	uint64_t x = (backend_hash ^ salt[c]) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

/* Fill v->slot and v->n_slots from v's members (n_members, weights,
 * flags); member_hash[m] places member m (backend_hash). */
static void fill_slots(struct sl_service_value *v, const uint64_t *member_hash)
{
	uint8_t active[SL_LB_MAX_BACKENDS];
	double weight[SL_LB_MAX_BACKENDS];
	uint32_t n_active = 0;
	bool equal = true;

	memset(v->slot, 0, sizeof(v->slot));
	v->n_slots = 0;
	for (uint8_t m = 0; m < v->n_members && m < SL_LB_MAX_BACKENDS; m++)
		if (!(v->member[m].flags & SL_LB_MEMBER_TERMINATING) && v->member[m].weight) {
			weight[n_active] = v->member[m].weight;
			equal &= weight[n_active] == weight[0];
			active[n_active++] = m;
		}
	if (!n_active)
		return;
	/* Each slot goes to the backend with the highest score for it (weighted
	 * rendezvous hashing): w / -ln(u), u uniform in (0, 1) from the slot and
	 * the backend's hash. A slot changes hands only when the backend that
	 * wins it comes or goes, so one backend more or less among N moves
	 * 1/N of the slots on average, and no other slot. With equal weights
	 * the highest u wins, no logarithm needed. */
	salt_init();
	for (uint32_t c = 0; c < SL_LB_SLOTS; c++) {
		uint32_t best = 0;
		double best_score = -1.0;
		uint64_t best_u = 0;

		for (uint32_t i = 0; i < n_active; i++) {
			uint64_t x = slot_draw(member_hash[active[i]], c);

			if (equal) {
				/* branch-free: the comparison is a coin toss */
				uint64_t take = -(uint64_t)(x > best_u || !i);

				best_u = (x & take) | (best_u & ~take);
				best = (uint32_t)((i & take) | (best & ~take));
			} else {
				double u = ((double)(x >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
				double score = weight[i] / -log(u);

				if (score > best_score) {
					best_score = score;
					best = i;
				}
			}
		}
		v->slot[c] = active[best];
	}
	/* Every active backend gets new flows: one that won no slot (a tiny
	 * weight beside large ones) takes the slot where it scores best. */
	for (uint32_t i = 0; i < n_active; i++) {
		uint32_t held = 0, pick = 0;
		uint64_t top = 0;

		for (uint32_t c = 0; c < SL_LB_SLOTS; c++)
			held += v->slot[c] == active[i];
		if (held)
			continue;
		for (uint32_t c = 0; c < SL_LB_SLOTS; c++) {
			uint64_t x = slot_draw(member_hash[active[i]], c);

			if (x > top) {
				top = x;
				pick = c;
			}
		}
		v->slot[pick] = active[i];
	}
	v->n_slots = SL_LB_SLOTS;
}

/* A service's member as compiled: its backend (address and port, and the
 * id it has), its line in the file, and the caller's record of the backend
 * (which the sort moves along). */
struct lb_member {
	const struct sl_backend_value *v;
	uint32_t id;
	const struct sl_backend *src;
	void *owner;
};

static int member_cmp(const void *a, const void *b)
{
	const struct lb_member *x = a, *y = b;

	return backend_cmp(x->v, y->v);
}

/* A service's value from its members: in address order (the table does
 * not depend on the order the file lists them in), with their ids,
 * weights and states, and its slot table. The whole compile and the
 * incremental one both make it here; mem is left sorted. */
static void service_value(struct sl_service_value *val, uint32_t sid, struct lb_member *mem, uint32_t nm)
{
	uint64_t hash[SL_LB_MAX_BACKENDS];

	qsort(mem, nm, sizeof(*mem), member_cmp);
	memset(val, 0, sizeof(*val));
	val->id = sid;
	for (uint32_t m = 0; m < nm; m++) {
		val->member[m].backend_id = mem[m].id;
		val->member[m].weight = (uint16_t)mem[m].src->weight;
		if (mem[m].src->state == SL_BACKEND_TERMINATING)
			val->member[m].flags = SL_LB_MEMBER_TERMINATING;
		hash[m] = backend_hash(mem[m].v);
	}
	val->n_members = (uint8_t)nm;
	fill_slots(val, hash);
}

static struct lb_backend *find_backend(struct lb_backend *all, size_t n, const struct sl_backend_value *v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = backend_cmp(&all[mid].v, v);

		if (!r)
			return &all[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The services' values are most of the compile (a slot table is 251 draws
 * per backend): with many services, two threads make them, each half's
 * forms (kinds/service.c) into a buffer of its own, added to the set in
 * order afterwards. Which backends are active in some service is noted
 * by each and marked after both are done (the flags are written by one
 * thread only).
 */
struct lb_values {
	const struct sl_state *st;
	const struct lb_backend *all;
	size_t n_all;
	const uint32_t *sids;
	uint32_t lo, hi;
	uint8_t *forms; /* one after another: service lo + k's at off[k] */
	size_t len, cap;
	uint32_t *off; /* hi - lo + 1 */
	uint32_t *active; /* indexes into all */
	size_t n_active, cap_active;
	int r;
};

static void *lb_values_work(void *arg)
{
	struct lb_values *j = arg;
	struct sl_service_value *val = malloc(sizeof(*val));

	j->off = malloc(((size_t)(j->hi - j->lo) + 1) * sizeof(*j->off));
	j->r = val && j->off ? 0 : -ENOMEM;
	for (uint32_t i = j->lo; j->r >= 0 && i < j->hi; i++) {
		const struct sl_service *svc = &j->st->services[i];
		struct lb_member mem[SL_LB_MAX_BACKENDS];
		uint32_t nm = 0;

		for (uint32_t b = 0; b < svc->n_backends && nm < SL_LB_MAX_BACKENDS; b++) {
			struct sl_backend_value bv;
			const struct lb_backend *f;

			if (backend_of(svc, &svc->backends[b], &bv) < 0 ||
			    !(f = find_backend((struct lb_backend *)j->all, j->n_all, &bv)))
				continue;
			mem[nm++] = (struct lb_member){ &f->v, f->id, &svc->backends[b], (void *)f };
		}
		service_value(val, j->sids[i], mem, nm);
		for (uint32_t m = 0; j->r >= 0 && m < nm; m++)
			if (mem[m].src->state != SL_BACKEND_TERMINATING) {
				if (grow_array((void **)&j->active, &j->cap_active, j->n_active + 1, sizeof(*j->active)) < 0)
					j->r = -ENOMEM;
				else
					j->active[j->n_active++] = (uint32_t)((const struct lb_backend *)mem[m].owner - j->all);
			}
		if (j->r >= 0 && grow_array((void **)&j->forms, &j->cap, j->len + sizeof(*val), 1) < 0)
			j->r = -ENOMEM;
		if (j->r >= 0) {
			j->off[i - j->lo] = (uint32_t)j->len;
			j->len += sl_kind(SL_OBJ_SERVICE)->pack(val, j->forms + j->len);
		}
	}
	if (j->r >= 0)
		j->off[j->hi - j->lo] = (uint32_t)j->len;
	free(val);
	return NULL;
}

static void lb_values_free(struct lb_values *j)
{
	free(j->forms);
	free(j->off);
	free(j->active);
}

/* From this many services on, two threads make their values. */
#define LB_VALUES_THREADED 4096

/* The room a service takes in a set, most often (its form: kinds/service.c;
 * 58 bytes with two backends): what the compile reserves for each. */
#define SERVICE_FORM_GUESS 64

int sl_lb_compile(const struct sl_state *st, const struct sl_lb_prev *prev, struct sl_objset *out)
{
	struct lb_backend *all = NULL;
	uint32_t *sids = NULL, *bids = NULL;
	struct sl_service_key *keys = NULL;
	uint32_t *live_idx = NULL;
	size_t n_all = 0, n = 0;
	int r = 0;

	if (!st->n_services)
		return 0;
	for (uint32_t i = 0; i < st->n_services; i++)
		n_all += st->services[i].n_backends;
	all = calloc(n_all + 1, sizeof(*all));
	sids = calloc(st->n_services, sizeof(*sids));
	keys = calloc(st->n_services, sizeof(*keys));
	if (!all || !sids || !keys) {
		r = -ENOMEM;
		goto out;
	}
	/* Every backend once, with the id it has in the kernel. */
	for (uint32_t i = 0; r >= 0 && i < st->n_services; i++)
		for (uint32_t j = 0; r >= 0 && j < st->services[i].n_backends; j++)
			r = backend_of(&st->services[i], &st->services[i].backends[j], &all[n++].v);
	if (r < 0)
		goto out;
	qsort(all, n, sizeof(*all), backend_cmp);
	n_all = 0;
	for (size_t i = 0; i < n; i++)
		if (!n_all || backend_cmp(&all[n_all - 1].v, &all[i].v))
			all[n_all++] = all[i];
	bids = calloc(n_all + 1, sizeof(*bids));
	if (!bids) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; prev && i < prev->n_backends; i++) {
		struct sl_backend_value b = prev->backends[i];
		const struct lb_backend *f;

		b.flags = 0;
		f = find_backend(all, n_all, &b);
		if (f)
			bids[f - all] = prev->backend_ids[i];
	}
	r = assign_ids(bids, n_all, prev ? prev->backend_ids : NULL, prev ? prev->n_backends : 0);
	for (size_t i = 0; r >= 0 && i < n_all; i++) {
		all[i].id = bids[i];
		all[i].v.flags = SL_BACKEND_F_TERMINATING; /* until a service has it active */
	}
	/* Services: ids from the kernel by frontend (the live ones sorted by
	 * frontend, then looked up). */
	if (r >= 0 && prev && prev->n_services) {
		live_idx = malloc(prev->n_services * sizeof(*live_idx));
		if (!live_idx)
			r = -ENOMEM;
		for (uint32_t p = 0; live_idx && p < prev->n_services; p++)
			live_idx[p] = p;
		if (live_idx) {
			sort_keys = prev->services;
			qsort(live_idx, prev->n_services, sizeof(*live_idx), order_cmp);
		}
	}
	for (uint32_t i = 0; r >= 0 && i < st->n_services; i++) {
		r = frontend_key(&st->services[i], &keys[i]);
		if (r >= 0 && live_idx) {
			size_t lo = 0, hi = prev->n_services;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				int c = memcmp(&prev->services[live_idx[mid]], &keys[i], sizeof(keys[i]));

				if (!c) {
					sids[i] = prev->service_ids[live_idx[mid]];
					break;
				}
				if (c < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
	}
	sort_keys = NULL;
	/* New ids in frontend order, so that a state compiles to the same ids
	 * whatever the order of its files and lists. */
	if (r >= 0) {
		uint32_t *order = malloc(st->n_services * sizeof(*order)), *tmp = malloc(st->n_services * sizeof(*tmp));

		if (!order || !tmp) {
			r = -ENOMEM;
		} else {
			for (uint32_t i = 0; i < st->n_services; i++)
				order[i] = i;
			sort_keys = keys;
			qsort(order, st->n_services, sizeof(*order), order_cmp);
			sort_keys = NULL;
			for (uint32_t i = 0; i < st->n_services; i++)
				tmp[i] = sids[order[i]];
			r = assign_ids(tmp, st->n_services, prev ? prev->service_ids : NULL,
				       prev ? prev->n_services : 0);
			for (uint32_t i = 0; i < st->n_services; i++)
				sids[order[i]] = tmp[i];
		}
		free(order);
		free(tmp);
	}
	/* room for every service and backend at once: growing a large set
	 * copies it again at each doubling */
	if (r >= 0)
		r = objset_reserve(out, st->n_services + n_all,
				   st->n_services * (sizeof(struct sl_service_key) + SERVICE_FORM_GUESS) +
					   n_all * (sizeof(struct sl_backend_key) + sizeof(struct sl_backend_value)));
	if (r >= 0) {
		struct lb_values job[2];
		uint32_t half = st->n_services >= LB_VALUES_THREADED ? st->n_services / 2 : st->n_services;
		pthread_t helper;
		bool helped = false;

		salt_init();
		for (int h = 0; h < 2; h++)
			job[h] = (struct lb_values){ .st = st, .all = all, .n_all = n_all, .sids = sids,
						      .lo = h ? half : 0, .hi = h ? st->n_services : half };
		if (half < st->n_services)
			helped = pthread_create(&helper, NULL, lb_values_work, &job[1]) == 0;
		lb_values_work(&job[0]);
		if (helped)
			pthread_join(helper, NULL);
		else if (half < st->n_services)
			lb_values_work(&job[1]);
		for (int h = 0; h < 2; h++) {
			r = r < 0 ? r : job[h].r;
			for (size_t a = 0; r >= 0 && a < job[h].n_active; a++)
				all[job[h].active[a]].v.flags = 0; /* active in some service */
		}
		for (int h = 0; h < 2; h++)
			for (uint32_t i = job[h].lo; r >= 0 && i < job[h].hi; i++) {
				const uint32_t *off = &job[h].off[i - job[h].lo];

				r = objset_add(out, SL_OBJ_SERVICE, &keys[i], sizeof(keys[i]), job[h].forms + off[0],
					       off[1] - off[0]);
			}
		lb_values_free(&job[0]);
		lb_values_free(&job[1]);
	}
	for (size_t i = 0; r >= 0 && i < n_all; i++) {
		struct sl_backend_key k = { .id = all[i].id };

		r = objset_add(out, SL_OBJ_BACKEND, &k, sizeof(k), &all[i].v, sizeof(all[i].v));
	}
out:
	free(live_idx);
	free(all);
	free(sids);
	free(bids);
	free(keys);
	return r;
}

/* ---- the incremental compile (lb.h, sl_lb_delta) ---- */

/* A backend the verified set holds (or the change adds), with how many of
 * the services use it and how many of those have it active. */
struct ix_backend {
	struct sl_backend_value v; /* flags: 0 */
	uint32_t id;
	uint32_t refs, active;
	uint32_t next_free; /* in the free list: the next free record + 1 */
};

/* An open-addressing table of record numbers + 1 (0: empty), linear
 * probing, deletion by moving the entries after the hole back. */
struct ix_table {
	uint32_t *slot;
	size_t cap; /* a power of two */
};

struct sl_lb_index {
	struct ix_backend *rec;
	size_t n_rec, cap_rec, n_live;
	uint32_t free_head; /* a free record + 1, or 0 */
	struct ix_table by_value, by_id;
	/* names: a hash's count of services (hash only: two names with one
	 * hash count as a duplicate, which sends the change the full way) */
	struct counts names;
	uint32_t max_backend_id, max_service_id;
	size_t n_services;
};

static uint64_t value_hash(const struct sl_backend_value *v)
{
	return mix64(backend_hash(v));
}

static uint64_t id_hash(uint32_t id)
{
	return mix64(id);
}

static uint64_t rec_hash(const struct sl_lb_index *ix, bool by_id, uint32_t r)
{
	return by_id ? id_hash(ix->rec[r].id) : value_hash(&ix->rec[r].v);
}

static int table_grow(struct sl_lb_index *ix, struct ix_table *t, bool by_id, size_t cap)
{
	uint32_t *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t h;

		if (!t->slot[i])
			continue;
		for (h = rec_hash(ix, by_id, t->slot[i] - 1) & (cap - 1); s[h]; h = (h + 1) & (cap - 1))
			;
		s[h] = t->slot[i];
	}
	free(t->slot);
	t->slot = s;
	t->cap = cap;
	return 0;
}

/* The slot of the record with that value (or id), or of the hole where it
 * would go. */
static size_t table_find(const struct sl_lb_index *ix, const struct ix_table *t, const struct sl_backend_value *v,
			 uint32_t id)
{
	size_t h = (v ? value_hash(v) : id_hash(id)) & (t->cap - 1);

	for (; t->slot[h]; h = (h + 1) & (t->cap - 1)) {
		const struct ix_backend *b = &ix->rec[t->slot[h] - 1];

		if (v ? !backend_cmp(&b->v, v) : b->id == id)
			break;
	}
	return h;
}

static void table_delete(struct sl_lb_index *ix, struct ix_table *t, bool by_id, size_t hole)
{
	size_t mask = t->cap - 1;

	t->slot[hole] = 0;
	for (size_t j = (hole + 1) & mask; t->slot[j]; j = (j + 1) & mask) {
		size_t home = rec_hash(ix, by_id, t->slot[j] - 1) & mask;

		/* j's entry moves to the hole unless its home lies in (hole, j] */
		if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
			t->slot[hole] = t->slot[j];
			t->slot[j] = 0;
			hole = j;
		}
	}
}

static struct ix_backend *ix_by_value(struct sl_lb_index *ix, const struct sl_backend_value *v)
{
	size_t h;

	if (!ix->by_value.cap)
		return NULL;
	h = table_find(ix, &ix->by_value, v, 0);

	return ix->by_value.slot[h] ? &ix->rec[ix->by_value.slot[h] - 1] : NULL;
}

static struct ix_backend *ix_by_id(struct sl_lb_index *ix, uint32_t id)
{
	size_t h;

	if (!ix->by_id.cap)
		return NULL;
	h = table_find(ix, &ix->by_id, NULL, id);

	return ix->by_id.slot[h] ? &ix->rec[ix->by_id.slot[h] - 1] : NULL;
}

/* Room for n more backends in the tables and the records, at once. */
static int ix_reserve(struct sl_lb_index *ix, size_t n)
{
	size_t cap = table_cap_for(ix->n_live + n, ix->by_value.cap);

	if (cap != ix->by_value.cap &&
	    (table_grow(ix, &ix->by_value, false, cap) < 0 || table_grow(ix, &ix->by_id, true, cap) < 0))
		return -ENOMEM;
	if (n > 1 && ix->n_rec + n > ix->cap_rec) {
		struct ix_backend *r = realloc(ix->rec, (ix->n_rec + n) * sizeof(*r));

		if (!r)
			return -ENOMEM;
		ix->rec = r;
		ix->cap_rec = ix->n_rec + n;
	}
	return 0;
}

static struct ix_backend *ix_add(struct sl_lb_index *ix, const struct sl_backend_value *v, uint32_t id)
{
	uint32_t r;

	if (ix_reserve(ix, 1) < 0)
		return NULL;
	if (ix->free_head) {
		r = ix->free_head - 1;
		ix->free_head = ix->rec[r].next_free;
	} else {
		if (grow_array((void **)&ix->rec, &ix->cap_rec, ix->n_rec + 1, sizeof(*ix->rec)) < 0)
			return NULL;
		r = (uint32_t)ix->n_rec++;
	}
	ix->rec[r] = (struct ix_backend){ .v = *v, .id = id };
	ix->rec[r].v.flags = 0;
	ix->by_value.slot[table_find(ix, &ix->by_value, &ix->rec[r].v, 0)] = r + 1;
	ix->by_id.slot[table_find(ix, &ix->by_id, NULL, id)] = r + 1;
	ix->n_live++;
	if (id > ix->max_backend_id)
		ix->max_backend_id = id;
	return &ix->rec[r];
}

static void ix_remove(struct sl_lb_index *ix, struct ix_backend *b)
{
	uint32_t r = (uint32_t)(b - ix->rec);

	table_delete(ix, &ix->by_value, false, table_find(ix, &ix->by_value, &b->v, 0));
	table_delete(ix, &ix->by_id, true, table_find(ix, &ix->by_id, NULL, b->id));
	b->next_free = ix->free_head;
	ix->free_head = r + 1;
	ix->n_live--;
}

/* Add d to a name's count: the count after, or -ENOMEM. */
static long name_add(struct sl_lb_index *ix, const char *name, int d)
{
	long n = counts_add(&ix->names, counts_key(name, strlen(name)), d);

	return n < 0 ? -ENOMEM : n;
}

void sl_lb_index_free(struct sl_lb_index *ix)
{
	if (!ix)
		return;
	free(ix->rec);
	free(ix->by_value.slot);
	free(ix->by_id.slot);
	counts_free(&ix->names);
	free(ix);
}

/* A service's value as the kernel has it (the set holds its form:
 * kinds/service.c). */
static bool read_service(const struct sl_objset *s, const struct sl_obj *o, struct sl_service_value *v)
{
	const void *p;

	if (o->kind != SL_OBJ_SERVICE || o->klen != sizeof(struct sl_service_key) ||
	    !(p = sl_kind_value(SL_OBJ_SERVICE, obj_val(s, o), o->vlen, v)))
		return false;
	if (p != v)
		memcpy(v, p, sizeof(*v));
	return v->n_members <= SL_LB_MAX_BACKENDS;
}

int sl_lb_index_build(const struct sl_objset *verified, const struct sl_state *st, struct sl_lb_index **ret)
{
	struct sl_lb_index *ix = calloc(1, sizeof(*ix));
	struct sl_service_value *v = malloc(sizeof(*v));
	int r = ix && v ? 0 : -ENOMEM;

	/* sized once: no table or array grown by doubling on the way */
	if (r >= 0 && (ix_reserve(ix, objset_count(verified, SL_OBJ_BACKEND)) < 0 ||
		       counts_reserve(&ix->names, st->n_services) < 0))
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < verified->n; i++) {
		const struct sl_obj *o = &verified->v[i];
		struct sl_backend_key k;
		struct sl_backend_value b;

		if (o->kind != SL_OBJ_BACKEND)
			continue;
		if (o->klen != sizeof(k) || o->vlen != sizeof(b)) {
			r = -EINVAL;
			break;
		}
		memcpy(&k, obj_key(verified, o), sizeof(k));
		memcpy(&b, obj_val(verified, o), sizeof(b));
		b.flags = 0;
		/* two ids for one backend: not what sl_lb_compile makes */
		if (ix_by_value(ix, &b))
			r = -EINVAL;
		else
			r = ix_add(ix, &b, k.id) ? 0 : -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && i < verified->n; i++) {
		const struct sl_obj *o = &verified->v[i];

		if (o->kind != SL_OBJ_SERVICE)
			continue;
		if (!read_service(verified, o, v)) {
			r = -EINVAL;
			break;
		}
		ix->n_services++;
		if (v->id > ix->max_service_id)
			ix->max_service_id = v->id;
		for (uint8_t m = 0; r >= 0 && m < v->n_members; m++) {
			struct ix_backend *b = ix_by_id(ix, v->member[m].backend_id);

			if (!b) {
				r = -EINVAL;
				break;
			}
			b->refs++;
			b->active += !(v->member[m].flags & SL_LB_MEMBER_TERMINATING);
		}
	}
	for (uint32_t i = 0; r >= 0 && i < st->n_services; i++)
		if (name_add(ix, st->services[i].name, 1) < 0)
			r = -ENOMEM;
	free(v);
	if (r < 0) {
		sl_lb_index_free(ix);
		ix = NULL;
	}
	*ret = ix;
	return r;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sl_service_key));
}

int sl_lb_delta(struct sl_lb_index *ix, const struct sl_objset *verified, const struct sl_service *old, size_t n_old,
		const struct sl_service *nw, size_t n_new, const struct sl_map_sizes *ms, struct sl_objset *want,
		struct sl_objset *have)
{
	struct sl_service_key *okeys = calloc(n_old + 1, sizeof(*okeys));
	struct sl_service_value *v = malloc(sizeof(*v));
	uint32_t *touched = NULL;
	size_t n_touched = 0, cap_touched = 0;
	/* with no service before or after, the maps the services use come
	 * or go: the whole state's compile says which */
	int r = !okeys || !v ? -ENOMEM : !ix->n_services ? -EAGAIN : 0;

#define TOUCH(id_)                                                                                               \
	do {                                                                                                     \
		if (grow_array((void **)&touched, &cap_touched, n_touched + 1, sizeof(*touched)) < 0)            \
			r = -ENOMEM;                                                                             \
		else                                                                                             \
			touched[n_touched++] = (id_);                                                            \
	} while (0)

	/* names: the old ones go, the new ones must be alone */
	for (size_t i = 0; r >= 0 && i < n_old; i++)
		if (name_add(ix, old[i].name, -1) < 0)
			r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n_new; i++) {
		long c = name_add(ix, nw[i].name, 1);

		r = c < 0 ? -ENOMEM : c > 1 ? -EAGAIN : 0;
	}
	/* the old services: what verified holds for them goes, and the
	 * backends they used lose them */
	for (size_t i = 0; r >= 0 && i < n_old; i++) {
		const struct sl_obj *o;

		if (frontend_key(&old[i], &okeys[i]) < 0 ||
		    !(o = objset_find(verified, SL_OBJ_SERVICE, &okeys[i], sizeof(okeys[i]))) ||
		    !read_service(verified, o, v)) {
			r = -EAGAIN;
			break;
		}
		r = objset_add(have, SL_OBJ_SERVICE, &okeys[i], sizeof(okeys[i]), obj_val(verified, o), o->vlen);
		for (uint8_t m = 0; r >= 0 && m < v->n_members; m++) {
			struct ix_backend *b = ix_by_id(ix, v->member[m].backend_id);

			if (!b || !b->refs) {
				r = -EAGAIN;
				break;
			}
			b->refs--;
			b->active -= !(v->member[m].flags & SL_LB_MEMBER_TERMINATING);
			TOUCH(b->id);
		}
	}
	if (r >= 0 && n_old > 1)
		qsort(okeys, n_old, sizeof(*okeys), key_cmp);
	ix->n_services -= r >= 0 ? n_old : 0;
	/* the new ones, compiled as sl_lb_compile does */
	for (size_t i = 0; r >= 0 && i < n_new; i++) {
		const struct sl_service *svc = &nw[i];
		struct sl_service_key key;
		struct lb_member mem[SL_LB_MAX_BACKENDS];
		const struct sl_obj *o;
		uint32_t nm = 0, sid;

		if (frontend_key(svc, &key) < 0 || svc->n_backends > SL_LB_MAX_BACKENDS) {
			r = -EAGAIN;
			break;
		}
		o = objset_find(verified, SL_OBJ_SERVICE, &key, sizeof(key));
		if (o && !bsearch(&key, okeys, n_old, sizeof(*okeys), key_cmp)) {
			r = -EAGAIN; /* another file's service has this frontend */
			break;
		}
		/* room for its backends first: mem[] points into the records */
		if (grow_array((void **)&ix->rec, &ix->cap_rec, ix->n_rec + svc->n_backends + 1, sizeof(*ix->rec)) < 0) {
			r = -ENOMEM;
			break;
		}
		if (o) {
			if (!read_service(verified, o, v)) {
				r = -EAGAIN;
				break;
			}
			sid = v->id;
		} else {
			if (ix->max_service_id == UINT32_MAX) {
				r = -EAGAIN;
				break;
			}
			sid = ++ix->max_service_id;
		}
		for (uint32_t j = 0; r >= 0 && j < svc->n_backends; j++) {
			struct sl_backend_value b;
			struct ix_backend *x;

			if (backend_of(svc, &svc->backends[j], &b) < 0) {
				r = -EAGAIN;
				break;
			}
			x = ix_by_value(ix, &b);
			if (!x && ix->max_backend_id == UINT32_MAX) {
				r = -EAGAIN;
				break;
			}
			if (!x && !(x = ix_add(ix, &b, ix->max_backend_id + 1))) {
				r = -ENOMEM;
				break;
			}
			mem[nm++] = (struct lb_member){ &x->v, x->id, &svc->backends[j], x };
		}
		if (r < 0)
			break;
		service_value(v, sid, mem, nm);
		for (uint32_t m = 0; r >= 0 && m < nm; m++) {
			struct ix_backend *x = mem[m].owner;

			x->refs++;
			x->active += mem[m].src->state != SL_BACKEND_TERMINATING;
			TOUCH(x->id);
		}
		if (r >= 0)
			r = objset_add_kernel(want, SL_OBJ_SERVICE, &key, sizeof(key), v, sizeof(*v));
	}
	ix->n_services += r >= 0 ? n_new : 0;
	/* the backends touched: as they are now, or gone */
	if (r >= 0 && n_touched > 1)
		qsort(touched, n_touched, sizeof(*touched), cmp_u32);
	for (size_t i = 0; r >= 0 && i < n_touched; i++) {
		struct sl_backend_key k = { .id = touched[i] };
		struct ix_backend *b;
		const struct sl_obj *o;

		if (i && touched[i] == touched[i - 1])
			continue;
		b = ix_by_id(ix, touched[i]);
		o = objset_find(verified, SL_OBJ_BACKEND, &k, sizeof(k));
		if (!b) {
			r = -EAGAIN;
			break;
		}
		if (o)
			r = objset_add(have, SL_OBJ_BACKEND, &k, sizeof(k), obj_val(verified, o), o->vlen);
		if (r >= 0 && b->refs) {
			struct sl_backend_value bv = b->v;

			bv.flags = b->active ? 0 : SL_BACKEND_F_TERMINATING;
			r = objset_add(want, SL_OBJ_BACKEND, &k, sizeof(k), &bv, sizeof(bv));
		} else if (r >= 0) {
			ix_remove(ix, b);
		}
	}
#undef TOUCH
	/* what the maps hold after it */
	if (r >= 0 && (!ix->n_services || ix->n_services > ms->size[SL_MAP_SERVICES] ||
		       ix->n_live > ms->size[SL_MAP_BACKENDS]))
		r = -EAGAIN;
	if (r >= 0) {
		objset_sort(want);
		objset_sort(have);
	}
	free(okeys);
	free(v);
	free(touched);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend table (src/datapath/backend.h) walked over in-memory
 * backends: unprivileged, no kernel. Each in-memory backend owns some
 * kinds and acts in the phases the real one of the same name acts in
 * (maps: maps created and entries; programs; xfrm; route). The tests check
 * the order of the phases' effects, that observing after an apply gives
 * the desired set back (verification), and that a failure in one phase
 * stops the walk (but for the phases that always run) and that an apply
 * planned again against what the backends then hold converges.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/backend.h"
#include "reconcile/diff.h"
#include "reconcile/objset.h"

/* ---- the in-memory backends ---- */

#define MEM_MAX 64

struct mem_obj {
	uint8_t kind, klen;
	uint16_t vlen;
	uint8_t key[16], val[16];
};

/* What "the kernel" holds, shared by every backend, as a kernel would be. */
static struct mem_obj store[MEM_MAX];
static size_t n_store;

/* Every effect, in order: "phase/backend op kind key0". */
static char effects[256][48];
static size_t n_effects;
static size_t settle_calls;

/* A failure injected: in this phase, at this backend. */
static int fail_phase = -1;
static const char *fail_backend;

struct mem_backend {
	struct kernel_backend ops;
	/* the phase that adds and changes each kind it owns, and the one that removes it */
	int add_phase[SL_OBJ__MAX], remove_phase[SL_OBJ__MAX];
	bool owns[SL_OBJ__MAX];
};

static struct mem_obj *store_find(uint8_t kind, const void *key, size_t klen)
{
	for (size_t i = 0; i < n_store; i++)
		if (store[i].kind == kind && store[i].klen == klen && !memcmp(store[i].key, key, klen))
			return &store[i];
	return NULL;
}

static void note(int phase, const char *backend, char op, uint8_t kind, const uint8_t *key)
{
	cr_assert_lt(n_effects, 256);
	snprintf(effects[n_effects++], sizeof(effects[0]), "%s/%s %c%u.%u", kernel_phase_name[phase], backend, op,
		 kind, key[0]);
}

static const struct mem_backend *mem_of(const char *name);

static int mem_observe_kinds(const char *name, struct sl_objset *live)
{
	const struct mem_backend *m = mem_of(name);
	int r = 0;

	for (size_t i = 0; i < n_store && r >= 0; i++)
		if (m->owns[store[i].kind])
			r = objset_add(live, (enum sl_obj_kind)store[i].kind, store[i].key, store[i].klen, store[i].val,
				       store[i].vlen);
	return r;
}

static int mem_apply_named(const char *name, const struct sl_objset *want, const struct sl_objset *have,
			   const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)
{
	const struct mem_backend *m = mem_of(name);

	if (phase == KERNEL_PHASE_SETTLE)
		settle_calls++;
	if ((int)phase == fail_phase && fail_backend && !strcmp(fail_backend, name)) {
		kerr(e, "%s: injected failure in %s", name, kernel_phase_name[phase]);
		return -EIO;
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		bool remove = c->op == SL_OP_REMOVE;

		if (!m->owns[c->kind] || (remove ? m->remove_phase[c->kind] : m->add_phase[c->kind]) != (int)phase)
			continue;
		if (remove) {
			const struct sl_obj *o = &have->v[c->have];
			struct mem_obj *s = store_find(c->kind, obj_key(have, o), o->klen);

			cr_assert(s, "removing what is not there");
			note(phase, name, '-', c->kind, obj_key(have, o));
			*s = store[--n_store];
		} else {
			const struct sl_obj *o = &want->v[c->want];
			struct mem_obj *s = store_find(c->kind, obj_key(want, o), o->klen);

			cr_assert_eq(s != NULL, c->op == SL_OP_CHANGE);
			if (!s) {
				cr_assert_lt(n_store, MEM_MAX);
				s = &store[n_store++];
			}
			*s = (struct mem_obj){ .kind = c->kind, .klen = o->klen, .vlen = o->vlen };
			memcpy(s->key, obj_key(want, o), o->klen);
			memcpy(s->val, obj_val(want, o), o->vlen);
			note(phase, name, c->op == SL_OP_ADD ? '+' : '~', c->kind, obj_key(want, o));
		}
	}
	return 0;
}

#define MEM_OPS(n)                                                                                                 \
	static int n##_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)                     \
	{                                                                                                          \
		(void)k;                                                                                           \
		(void)e;                                                                                           \
		return mem_observe_kinds(#n, live);                                                                \
	}                                                                                                          \
	static int n##_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,      \
			     const struct sl_diff *d, enum kernel_phase phase, struct sl_kerr *e)                  \
	{                                                                                                          \
		(void)k;                                                                                           \
		return mem_apply_named(#n, want, have, d, phase, e);                                               \
	}

MEM_OPS(maps)
MEM_OPS(programs)
MEM_OPS(xfrm)
MEM_OPS(route)

static struct mem_backend mem_maps, mem_programs, mem_xfrm, mem_route;
static const struct kernel_backend *table[4];

static const struct mem_backend *mem_of(const char *name)
{
	return !strcmp(name, "maps") ? &mem_maps : !strcmp(name, "programs") ? &mem_programs
					       : !strcmp(name, "xfrm")	   ? &mem_xfrm
									   : &mem_route;
}

static void own(struct mem_backend *m, enum sl_obj_kind kind, enum kernel_phase add, enum kernel_phase remove)
{
	m->owns[kind] = true;
	m->add_phase[kind] = add;
	m->remove_phase[kind] = remove;
}

/* The phases each real backend acts in (backend.h). */
static void setup(void)
{
	memset(&mem_maps, 0, sizeof(mem_maps));
	memset(&mem_programs, 0, sizeof(mem_programs));
	memset(&mem_xfrm, 0, sizeof(mem_xfrm));
	memset(&mem_route, 0, sizeof(mem_route));
	mem_maps.ops = (struct kernel_backend){ "maps", maps_observe, NULL, maps_apply };
	mem_programs.ops = (struct kernel_backend){ "programs", programs_observe, NULL, programs_apply };
	mem_xfrm.ops = (struct kernel_backend){ "xfrm", xfrm_observe, NULL, xfrm_apply };
	mem_route.ops = (struct kernel_backend){ "route", route_observe, NULL, route_apply };
	own(&mem_maps, SL_OBJ_MAP, KERNEL_PHASE_CREATE, KERNEL_PHASE_FINISH);
	own(&mem_maps, SL_OBJ_IPCACHE, KERNEL_PHASE_ENTRIES, KERNEL_PHASE_ENTRIES_REMOVE);
	own(&mem_maps, SL_OBJ_POLICY, KERNEL_PHASE_ENTRIES, KERNEL_PHASE_ENTRIES_REMOVE);
	own(&mem_programs, SL_OBJ_PROG, KERNEL_PHASE_PROGRAMS, KERNEL_PHASE_FINISH);
	own(&mem_programs, SL_OBJ_ATTACH, KERNEL_PHASE_PROGRAMS, KERNEL_PHASE_DETACH);
	own(&mem_xfrm, SL_OBJ_XFRM_STATE, KERNEL_PHASE_CREATE, KERNEL_PHASE_XFRM_REMOVE);
	own(&mem_xfrm, SL_OBJ_XFRM_POLICY, KERNEL_PHASE_CREATE, KERNEL_PHASE_XFRM_REMOVE);
	own(&mem_route, SL_OBJ_ROUTE, KERNEL_PHASE_ROUTES_ADD, KERNEL_PHASE_ROUTES_REMOVE);
	table[0] = &mem_maps.ops;
	table[1] = &mem_programs.ops;
	table[2] = &mem_xfrm.ops;
	table[3] = &mem_route.ops;
	n_store = n_effects = settle_calls = 0;
	fail_phase = -1;
	fail_backend = NULL;
}

TestSuite(backend, .init = setup);

/* ---- helpers ---- */

static void add(struct sl_objset *s, enum sl_obj_kind kind, uint8_t key, uint8_t val)
{
	uint8_t k[4] = { key, 0, 0, 0 }, v[2] = { val, 0 };

	cr_assert_geq(objset_add(s, kind, k, sizeof(k), v, sizeof(v)), 0);
}

static void observe(struct sl_objset *live)
{
	struct sl_kerr e = { "" };

	memset(live, 0, sizeof(*live));
	cr_assert_geq(kernel_walk_observe(table, 4, NULL, live, &e), 0, "%s", e.msg);
	objset_sort(live);
}

/* Plan want against what the backends hold, apply it; the result of the
 * walk, and the diff left when observing again. */
static int apply(struct sl_objset *want, size_t *left, struct sl_kerr *e)
{
	struct sl_objset have, after;
	struct sl_diff d = {}, d2 = {};
	double ms[KERNEL_PHASE__MAX];
	int r;

	objset_sort(want);
	observe(&have);
	cr_assert_geq(sl_diff(want, &have, &d), 0);
	r = kernel_walk_apply(table, 4, NULL, want, &have, &d, ms, e);
	observe(&after);
	cr_assert_geq(sl_diff(want, &after, &d2), 0);
	*left = d2.n;
	sl_diff_free(&d);
	sl_diff_free(&d2);
	objset_free(&have);
	objset_free(&after);
	return r;
}

static size_t effect_index(const char *what)
{
	for (size_t i = 0; i < n_effects; i++)
		if (!strcmp(effects[i], what))
			return i;
	cr_assert_fail("no effect %s", what);
	return 0;
}

/* ---- tests ---- */

Test(backend, adds_in_phase_order_and_verify)
{
	struct sl_objset want = {};
	struct sl_kerr e = { "" };
	size_t left;

	add(&want, SL_OBJ_ROUTE, 1, 1);
	add(&want, SL_OBJ_ATTACH, 1, 1);
	add(&want, SL_OBJ_PROG, 1, 1);
	add(&want, SL_OBJ_POLICY, 1, 1);
	add(&want, SL_OBJ_IPCACHE, 1, 1);
	add(&want, SL_OBJ_XFRM_POLICY, 1, 1);
	add(&want, SL_OBJ_XFRM_STATE, 1, 1);
	add(&want, SL_OBJ_MAP, 1, 1);
	cr_assert_eq(apply(&want, &left, &e), 0, "%s", e.msg);
	cr_assert_eq(left, 0, "observing again gives the desired set back");
	cr_assert_eq(n_effects, 8);
	/* maps, SAs, then xfrm policies; entries; programs; routes last */
	cr_assert_str_eq(effects[0], "create/maps +6.1");
	cr_assert_lt(effect_index("create/xfrm +10.1"), effect_index("create/xfrm +11.1"), "SAs before policies");
	cr_assert_lt(effect_index("create/xfrm +11.1"), effect_index("entries/maps +1.1"));
	cr_assert_lt(effect_index("entries/maps +1.1"), effect_index("entries/maps +2.1"));
	cr_assert_lt(effect_index("entries/maps +2.1"), effect_index("programs/programs +5.1"));
	cr_assert_lt(effect_index("programs/programs +7.1"), effect_index("routes-add/route +12.1"));
	cr_assert_str_eq(effects[7], "routes-add/route +12.1");
	cr_assert_eq(settle_calls, 4, "settle, once per backend");
	objset_free(&want);
}

Test(backend, removals_in_reverse)
{
	struct sl_objset want = {}, none = {};
	struct sl_kerr e = { "" };
	size_t left;

	add(&want, SL_OBJ_ROUTE, 1, 1);
	add(&want, SL_OBJ_ATTACH, 1, 1);
	add(&want, SL_OBJ_PROG, 1, 1);
	add(&want, SL_OBJ_IPCACHE, 1, 1);
	add(&want, SL_OBJ_XFRM_STATE, 1, 1);
	add(&want, SL_OBJ_MAP, 1, 1);
	cr_assert_eq(apply(&want, &left, &e), 0, "%s", e.msg);
	n_effects = 0;
	cr_assert_eq(apply(&none, &left, &e), 0, "%s", e.msg);
	cr_assert_eq(left, 0);
	cr_assert_eq(n_store, 0);
	cr_assert_eq(n_effects, 6);
	cr_assert_str_eq(effects[0], "routes-remove/route -12.1");
	cr_assert_str_eq(effects[1], "detach/programs -5.1");
	cr_assert_str_eq(effects[2], "entries-remove/maps -1.1");
	cr_assert_str_eq(effects[3], "xfrm-remove/xfrm -10.1");
	cr_assert_str_eq(effects[4], "finish/maps -6.1");
	cr_assert_str_eq(effects[5], "finish/programs -7.1");
	objset_free(&want);
}

Test(backend, change_and_nothing_to_do)
{
	struct sl_objset want = {}, want2 = {};
	struct sl_kerr e = { "" };
	size_t left;

	add(&want, SL_OBJ_IPCACHE, 1, 1);
	add(&want, SL_OBJ_ROUTE, 2, 1);
	cr_assert_eq(apply(&want, &left, &e), 0);
	add(&want2, SL_OBJ_IPCACHE, 1, 2);
	add(&want2, SL_OBJ_ROUTE, 2, 1);
	n_effects = 0;
	cr_assert_eq(apply(&want2, &left, &e), 0);
	cr_assert_eq(left, 0);
	cr_assert_eq(n_effects, 1);
	cr_assert_str_eq(effects[0], "entries/maps ~1.1");
	n_effects = 0;
	cr_assert_eq(apply(&want2, &left, &e), 0);
	cr_assert_eq(n_effects, 0, "an apply of what is there changes nothing");
	objset_free(&want);
	objset_free(&want2);
}

/* A failure in the programs phase: nothing after it is applied but the
 * phases that always run; verification sees the difference; the next
 * apply, planned against what is there, converges. */
Test(backend, failure_stops_the_walk_then_converges)
{
	struct sl_objset want = {};
	struct sl_kerr e = { "" };
	size_t left;

	add(&want, SL_OBJ_ROUTE, 1, 1);
	add(&want, SL_OBJ_ATTACH, 1, 1);
	add(&want, SL_OBJ_PROG, 1, 1);
	add(&want, SL_OBJ_IPCACHE, 1, 1);
	add(&want, SL_OBJ_MAP, 1, 1);
	fail_phase = KERNEL_PHASE_PROGRAMS;
	fail_backend = "programs";
	cr_assert_eq(apply(&want, &left, &e), -EIO);
	cr_assert_str_eq(e.msg, "programs: injected failure in programs");
	cr_assert_eq(left, 3, "the program, its attachment and the route are missing");
	cr_assert_eq(n_effects, 2);
	cr_assert_str_eq(effects[0], "create/maps +6.1");
	cr_assert_str_eq(effects[1], "entries/maps +1.1");
	cr_assert_eq(settle_calls, 4, "settle ran for every backend");

	fail_phase = -1;
	n_effects = 0;
	cr_assert_eq(apply(&want, &left, &e), 0, "%s", e.msg);
	cr_assert_eq(left, 0);
	cr_assert_eq(n_effects, 3);
	cr_assert_str_eq(effects[0], "programs/programs +5.1");
	cr_assert_str_eq(effects[1], "programs/programs +7.1");
	cr_assert_str_eq(effects[2], "routes-add/route +12.1");
	objset_free(&want);
}

/* After a failure, the phases that always run still run (settle: the
 * runtime maps' thread is joined), and the first error is the one reported. */
Test(backend, first_error_is_reported)
{
	struct sl_objset want = {};
	struct sl_kerr e = { "" };
	size_t left;

	add(&want, SL_OBJ_IPCACHE, 1, 1);
	fail_phase = KERNEL_PHASE_ENTRIES;
	fail_backend = "maps";
	cr_assert_eq(apply(&want, &left, &e), -EIO);
	cr_assert_str_eq(e.msg, "maps: injected failure in entries");
	cr_assert_eq(left, 1);
	cr_assert_eq(settle_calls, 4);
	cr_assert_eq(n_effects, 0);
	objset_free(&want);
}

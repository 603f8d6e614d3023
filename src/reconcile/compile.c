/* SPDX-License-Identifier: Apache-2.0 */
/* The compile's order: each feature's compile (features/) in turn, then the
 * maps and programs the objects need; the capacity check; what the live set
 * says was assigned before. */
#include "compile.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "diag.h"
#include "encrypt.h"
#include "features/features.h"
#include "kinds/attach.h"
#include "kinds/map.h"
#include "kinds/prog.h"
#include "kinds/sockhook.h"

/* compile_maps' view of the compile */
struct ctx {
	const struct sl_state *st;
	const struct sl_compile_prev *prev;
	struct sl_objset *out;
};

/* The program of an ATTACH or SOCKHOOK object (the first byte of both
 * values). Values sit at any alignment in a set's bytes (obj_val), so it
 * is copied out, not read in place. */
static uint8_t attach_prog(const struct sl_objset *s, const struct sl_obj *o)
{
	_Static_assert(offsetof(struct sl_attach_value, prog) == 0 && offsetof(struct sl_sockhook_value, prog) == 0,
		       "the program is the value's first byte");
	uint8_t prog;

	memcpy(&prog, obj_val(s, o), 1);
	return prog;
}

/* The maps the state needs, by the maps each object's kind needs (struct
 * sl_kind's maps): the datapath's when anything but the prefilter
 * is there, the prefilter's with a prefilter, the shared ones with either.
 * An empty state needs none. */
static int compile_maps(struct ctx *c)
{
	const struct sl_compile_prev *prev = c->prev;
	bool need[SL_MAPS__MAX] = { false };
	int r = 0;

	if (!prev || !prev->layouts)
		return 0;
	for (size_t i = 0; i < c->out->n; i++) {
		const struct sl_obj *o = &c->out->v[i];
		const struct sl_kind *k = sl_kind(o->kind);
		int g = k && k->maps && sl_kind_fits(o->kind, o->klen, o->vlen)
				? k->maps(obj_key(c->out, o), obj_val(c->out, o))
				: -1;

		if (g >= 0 && g < SL_MAPS__MAX)
			need[g] = true;
	}
	for (unsigned g = 0; g < SL_MAPS__MAX; g++)
		if (need[g] && sl_map_group_uses_datapath(g))
			need[SL_MAPS_DATAPATH] = true;
	need[SL_MAPS_SHARED] = need[SL_MAPS_DATAPATH] || need[SL_MAPS_PREFILTER];
	/* The programs the attachments use, loaded once and pinned. */
	for (int p = 0; p < SL_PROG__MAX && r >= 0; p++) {
		struct sl_prog_key k = { .prog = (uint8_t)p, .digest = prev->prog_digest[p] };
		struct sl_prog_value v = { .current = 1 };
		bool used = false;

		for (size_t i = 0; i < c->out->n && !used; i++)
			used = (c->out->v[i].kind == SL_OBJ_ATTACH || c->out->v[i].kind == SL_OBJ_SOCKHOOK) &&
			       attach_prog(c->out, &c->out->v[i]) == p;
		if (used)
			r = objset_add(c->out, SL_OBJ_PROG, &k, sizeof(k), &v, sizeof(v));
	}
	for (size_t i = 0; r >= 0 && i < prev->n_layouts; i++) {
		const struct sl_map_layout *l = &prev->layouts[i];
		struct sl_map_key k = { { 0 } };
		struct sl_map_value v = l->v;

		if (!need[l->group])
			continue;
		if (l->size_from != SL_MAP_SIZE_FIXED)
			v.max_entries = c->st->datapath->map_sizes ? c->st->datapath->map_sizes->size[l->size_from]
								  : sl_map_size_default[l->size_from];
		snprintf(k.name, sizeof(k.name), "%s", l->name);
		r = objset_add(c->out, SL_OBJ_MAP, &k, sizeof(k), &v, sizeof(v));
	}
	return r;
}

static int compile(const struct sl_state *st, const struct sl_compile_prev *prev, struct sl_compile_result *res,
		   bool count_only)
{
	struct ctx c = { .st = st, .prev = prev, .out = &res->set };
	struct endpoints_prev ep_prev = { 0 };
	struct policies_compile *pc = NULL;
	const struct policy_cidr *cidrs;
	size_t n_cidrs;
	int r;

	memset(res, 0, sizeof(*res));
	if (prev)
		ep_prev = (struct endpoints_prev){ prev->ep_ifnames, prev->ep_ids, prev->n_ep, prev->prog_digest };
	r = policies_compile_new(st, prev ? prev->cidrs : NULL, prev ? prev->cidr_ids : NULL, prev ? prev->n_cidr : 0,
				 count_only, &pc);
	if (r < 0)
		goto out;
	cidrs = policies_compile_cidrs(pc, &n_cidrs);
	res->n_cidr_identities = n_cidrs;
	r = endpoints_compile(st, prev ? &ep_prev : NULL, pc, &res->set);
	if (r >= 0)
		r = policies_compile_finish(pc, &res->set);
	if (r >= 0)
		r = ipcache_compile(st, cidrs, n_cidrs, &res->set);
	if (r >= 0)
		r = names_compile(st, &res->set);
	if (r >= 0)
		r = prefilter_compile(st, prev ? prev->prog_digest[SL_PROG_PREFILTER] : 0, &res->set);
	if (r >= 0)
		r = sl_lb_compile(st, prev ? &prev->lb : NULL, &res->set);
	if (r >= 0)
		r = sl_compile_encryption(st, prev ? prev->keys : NULL, &res->set);
	if (r >= 0)
		r = overlay_compile(st, prev ? prev->underlay_mtu : 0, prev ? prev->prog_digest[SL_PROG_FROM_OVERLAY] : 0,
				    &res->set);
	if (r >= 0)
		r = proxy_compile(st, prev ? prev->prog_digest[SL_PROG_FROM_NETDEV] : 0, &res->set);
	if (r >= 0)
		r = sockaccel_compile(st, prev ? prev->prog_digest : NULL, prev ? prev->cgroup_id : 0, &res->set);
	if (r >= 0)
		r = hostservices_compile(st, prev ? prev->prog_digest : NULL, prev ? prev->cgroup_id : 0, &res->set);
	if (r >= 0)
		r = compile_maps(&c);
	if (r >= 0) {
		objset_shrink(&res->set);
		objset_sort(&res->set);
	}
out:
	if (r < 0)
		sl_compile_result_free(res);
	res->n_policy_counted = policies_compile_counted(pc);
	policies_compile_free(pc);
	return r;
}

int sl_compile(const struct sl_state *st, const struct sl_compile_prev *prev, struct sl_compile_result *res)
{
	return compile(st, prev, res, false);
}

int sl_compile_count(const struct sl_state *st, struct sl_compile_result *res)
{
	return compile(st, NULL, res, true);
}

void sl_compile_result_free(struct sl_compile_result *res)
{
	objset_free(&res->set);
}

int sl_compile_check_capacity(const struct sl_state *st, const struct sl_objset *set, const char *first_file,
			      struct diag_list *d)
{
	return sl_compile_check_capacity_counted(st, set, 0, first_file, d);
}

int sl_compile_check_capacity_counted(const struct sl_state *st, const struct sl_objset *set, size_t policy_counted,
				      const char *first_file, struct diag_list *d)
{
	const struct sl_map_sizes *ms = st->datapath->map_sizes;
	uint8_t kinds[SL_OBJ__MAX];
	size_t n = sl_kind_order(SL_VIA_ENTRIES, kinds);
	int bad = 0;

	/* every map of entries that mapSizes sizes, by its kind's row */
	for (size_t i = 0; i < n; i++) {
		const struct sl_kind *k = sl_kind(kinds[i]);
		int m = k->map_size;
		size_t need = objset_count(set, kinds[i]) + (kinds[i] == SL_OBJ_POLICY ? policy_counted : 0);
		uint32_t limit;
		char path[64];

		if (m < 0 || m >= SL_MAP__MAX)
			continue;
		limit = ms ? ms->size[m] : sl_map_size_default[m];
		if (need <= limit)
			continue;
		bad++;
		snprintf(path, sizeof(path), "datapath.mapSizes.%s", sl_map_size_name[m]);
		if (ms && SL_HAS(ms, m))
			diag_add(d, DIAG_ERROR, st->datapath_origin.file, SL_AT(ms, m)->line, SL_AT(ms, m)->col, path,
				 "the state compiles to %zu entries in map %s, more than its capacity %u", need, k->map,
				 limit);
		else
			diag_add(d, DIAG_ERROR, st->datapath_origin.file ? st->datapath_origin.file : first_file,
				 st->datapath_origin.file ? st->datapath_origin.mark.line : 1,
				 st->datapath_origin.file ? st->datapath_origin.mark.col : 1, path,
				 "the state compiles to %zu entries in map %s, more than its default capacity %u; "
				 "set datapath.mapSizes.%s",
				 need, k->map, limit, sl_map_size_name[m]);
	}
	return bad ? -ENOSPC : 0;
}

/* An object's key and the kernel's bytes of its value copied into k and v
 * when it is of that kind and they are klen and vlen bytes: in a set they
 * sit at any alignment (obj_val), a kind may keep its values in a form of
 * its own (kinds/kind.h), and a live set may hold anything. */
static bool obj_read(const struct sl_objset *s, const struct sl_obj *o, enum sl_obj_kind kind, void *k, size_t klen,
		     void *v, size_t vlen)
{
	uint8_t buf[SL_KIND_VLEN_MAX];
	const void *val;

	if (o->kind != kind || o->klen != klen || sl_kind(kind)->vlen != vlen ||
	    !(val = sl_kind_value(kind, obj_val(s, o), o->vlen, buf)))
		return false;
	memcpy(k, obj_key(s, o), klen);
	memcpy(v, val, vlen);
	return true;
}

void sl_compile_prev_from_live(const struct sl_objset *live, struct sl_compile_prev *prev, char (**ret_names)[17])
{
	size_t n_ep = objset_count(live, SL_OBJ_ENDPOINT), n_c = 0, ie = 0;
	char(*names)[17] = calloc(n_ep + 1, sizeof(*names));
	const char **np = calloc(n_ep + 1, sizeof(*np));
	uint16_t *ids = calloc(n_ep + 1, sizeof(*ids));
	struct sl_prefix *cidrs;
	uint32_t *cids;
	struct sl_ipcache_key ik;
	struct sl_ipcache_value iv;
	struct sl_endpoint_value ev;
	char ifname[16];

	for (size_t i = 0; i < live->n; i++)
		if (obj_read(live, &live->v[i], SL_OBJ_IPCACHE, &ik, sizeof(ik), &iv, sizeof(iv)) &&
		    iv.identity >= SL_ID_CIDR_MIN)
			n_c++;
	cidrs = calloc(n_c + 1, sizeof(*cidrs));
	cids = calloc(n_c + 1, sizeof(*cids));
	n_c = 0;
	for (size_t i = 0; names && np && ids && cidrs && cids && i < live->n; i++) {
		const struct sl_obj *o = &live->v[i];

		if (obj_read(live, o, SL_OBJ_ENDPOINT, ifname, sizeof(ifname), &ev, sizeof(ev))) {
			memcpy(names[ie], ifname, 16);
			np[ie] = names[ie];
			ids[ie++] = ev.id;
		} else if (obj_read(live, o, SL_OBJ_IPCACHE, &ik, sizeof(ik), &iv, sizeof(iv))) {
			if (iv.identity < SL_ID_CIDR_MIN)
				continue;
			memset(&cidrs[n_c], 0, sizeof(cidrs[n_c]));
			cidrs[n_c].family = ik.family;
			cidrs[n_c].len = (uint8_t)(ik.prefixlen - 32);
			memcpy(cidrs[n_c].addr, ik.addr, 16);
			cids[n_c++] = iv.identity;
		}
	}
	{
		size_t nb = objset_count(live, SL_OBJ_BACKEND), ns = objset_count(live, SL_OBJ_SERVICE), ib = 0,
		       is = 0;
		struct sl_backend_value *bv = calloc(nb + 1, sizeof(*bv));
		struct sl_service_key *sk = calloc(ns + 1, sizeof(*sk));
		uint32_t *bi = calloc(nb + 1, sizeof(*bi)), *si = calloc(ns + 1, sizeof(*si));

		for (size_t i = 0; bv && sk && bi && si && i < live->n; i++) {
			const struct sl_obj *o = &live->v[i];

			struct sl_backend_key bk;
			struct sl_service_value sv;

			if (obj_read(live, o, SL_OBJ_BACKEND, &bk, sizeof(bk), &bv[ib], sizeof(*bv)))
				bi[ib++] = bk.id;
			else if (obj_read(live, o, SL_OBJ_SERVICE, &sk[is], sizeof(*sk), &sv, sizeof(sv)))
				si[is++] = sv.id;
		}
		prev->lb = (struct sl_lb_prev){ bv, bi, ib, sk, si, is };
	}
	prev->ep_ifnames = (const char *const *)np;
	prev->ep_ids = ids;
	prev->n_ep = ie;
	prev->cidrs = cidrs;
	prev->cidr_ids = cids;
	prev->n_cidr = n_c;
	*ret_names = names;
}

void sl_compile_prev_free(struct sl_compile_prev *prev, char (*names)[17])
{
	free((void *)prev->ep_ifnames);
	free((void *)prev->ep_ids);
	free((void *)prev->cidrs);
	free((void *)prev->cidr_ids);
	free((void *)prev->lb.backends);
	free((void *)prev->lb.backend_ids);
	free((void *)prev->lb.services);
	free((void *)prev->lb.service_ids);
	free(names);
}


bool sl_compile_uses_proxy(const struct sl_state *st)
{
	return policies_use_proxy(st);
}

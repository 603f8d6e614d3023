/* SPDX-License-Identifier: Apache-2.0 */
/* The prefilter section: the XDP deny list; its entries in the prefilter
 * maps and the XDP attachment of the prefilter program. */
#include "features.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <sluice/abi.h>

#include "common.h"
#include "reconcile/net.h"
#include "kinds/attach.h"
#include "kinds/prog.h"

void prefilter_validate(struct val *v)
{
	struct sl_prefilter *pf = v->st->prefilter;
	const char *f = v->st->prefilter_origin.file;
	size_t saved;
	struct dups seen = { .what = "prefix", .list = "prefilter.deny" };

	if (!pf)
		return;
	saved = v_path_lit(v, "prefilter");
	v_check_ifname(v, f, SL_AT(pf, SL_PF_DEVICE), "device", pf->device);
	pf->deny_pfx = v_prefixes(v, pf->n_deny);
	for (uint32_t i = 0; pf->deny_pfx && i < pf->n_deny; i++) {
		size_t s2 = v_path_idx(v, ".deny", i);
		const struct sl_prefix *p = &pf->deny_pfx[i];

		if (v_check_prefix(v, f, &pf->deny_m[i], NULL, pf->deny[i], true, &pf->deny_pfx[i])) {
			v_dup_add(v, &seen, v_prefix_key(v, p), f, &pf->deny_m[i], NULL, i);
			if (p->len == 0)
				v_warn(v, f, &pf->deny_m[i], NULL,
				  "%s drops every IPv%u packet that arrives on %s, whatever its source (replies to "
				  "the node's own connections included)",
				  pf->deny[i], p->family, pf->device ? diag_cut(pf->device) : "the device");
		}
		v_pop(v, s2);
	}
	v_pop(v, saved);
	/* A repeated prefix is harmless; say so as a warning. */
	if (seen.n > 1)
		qsort(seen.v, seen.n, sizeof(*seen.v), v_dup_cmp);
	for (size_t i = 1; i < seen.n; i++)
		if (streq(seen.v[i].key, seen.v[i - 1].key)) {
			size_t s2 = v_path_idx(v, "prefilter.deny", seen.v[i].doc_index);

			v_warn(v, f, &seen.v[i].mark, NULL, "%s is listed more than once", seen.v[i].key);
			v_pop(v, s2);
		}
	free(seen.v);
}

int prefilter_compile(const struct sl_state *st, uint64_t digest, struct sl_objset *out)
{
	const struct sl_prefilter *pf = st->prefilter;
	int r = 0;

	if (!pf)
		return 0;
	for (uint32_t i = 0; r >= 0 && pf->deny_pfx && i < pf->n_deny; i++) {
		const struct sl_prefix *p = &pf->deny_pfx[i];
		uint8_t one = 1;

		if (!p->family)
			continue;
		if (p->family == 4) {
			struct {
				uint32_t prefixlen;
				uint8_t addr[4];
			} k = { p->len, { 0 } };

			memcpy(k.addr, p->addr, 4);
			if (!objset_find_unsorted(out, SL_OBJ_PREFILTER4, &k, sizeof(k)))
				r = objset_add(out, SL_OBJ_PREFILTER4, &k, sizeof(k), &one, 1);
		} else {
			struct {
				uint32_t prefixlen;
				uint8_t addr[16];
			} k = { p->len, { 0 } };

			memcpy(k.addr, p->addr, 16);
			if (!objset_find_unsorted(out, SL_OBJ_PREFILTER6, &k, sizeof(k)))
				r = objset_add(out, SL_OBJ_PREFILTER6, &k, sizeof(k), &one, 1);
		}
	}
	if (r >= 0) {
		struct sl_attach_key k = { .hook = SL_HOOK_XDP };
		struct sl_attach_value v = { .prog = SL_PROG_PREFILTER, .xdp_mode = (uint8_t)pf->xdp_mode,
					     .digest = digest };

		snprintf(k.ifname, sizeof(k.ifname), "%s", pf->device);
		r = objset_add(out, SL_OBJ_ATTACH, &k, sizeof(k), &v, sizeof(v));
	}
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Show: every CIDR identity named somewhere.
 *
 * Every CIDR identity in the ipcache must be named by some rule, or the
 * document would not give it one: by a rule of the entries, else as an
 * exception (fromCIDRSet except) of the narrowest such CIDR around it,
 * else beside world in a rule that names world, else by a policy that
 * selects no endpoint of this node (SHOW_HOLDER_POLICY).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "show_internal.h"

/* Keep the first len bits of p's address. */
static void prefix_mask(struct sl_prefix *p, uint8_t len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;

		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff00u >> bits);
	}
	p->len = len;
}

/* ---- CIDRs: every CIDR identity must be named somewhere ---- */

static const struct scidr *sort_cidrs_base;

static int cidr_idx_prefix_cmp(const void *a, const void *b)
{
	return sl_prefix_cmp(&sort_cidrs_base[*(const size_t *)a].p, &sort_cidrs_base[*(const size_t *)b].p);
}

void show_place_cidrs(struct show *s)
{
	size_t *order = calloc(s->n_cidrs + 1, sizeof(*order)), n_held = 0;
	size_t *strong = calloc(s->n_cidrs + 1, sizeof(*strong)), n_strong = 0;
	struct srule holder = { .dir = SL_INGRESS_DENY };
	const char *subject = NULL;
	struct spolicy *p;
	struct strbuf list = {};

	if (!order || !strong) {
		free(order);
		free(strong);
		s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->n_cidrs; i++)
		order[i] = i;
	sort_cidrs_base = s->cidrs;
	show_sort(order, s->n_cidrs, sizeof(*order), cidr_idx_prefix_cmp);
	sort_cidrs_base = NULL;
	/* Named by a rule without world: named for good. */
	for (size_t i = 0; i < s->n_pols; i++)
		for (size_t j = 0; j < s->pols[i].n_rules; j++) {
			const struct srule *r = &s->pols[i].rules[j];

			for (size_t k = 0; !r->ent[SL_ENTITY_WORLD] && k < r->n_cidrs; k++) {
				struct scidr *c = &s->cidrs[r->cidrs[k]];

				c->strong++;
				c->placed = true;
				if (!c->first_rule)
					c->first_rule = r;
			}
		}
	/* Otherwise an exception of the narrowest such prefix around it. */
	for (size_t o = 0; o < s->n_cidrs; o++)
		if (s->cidrs[order[o]].strong)
			strong[n_strong++] = order[o];
	for (size_t o = 0; o < s->n_cidrs; o++) {
		struct scidr *c = &s->cidrs[order[o]];
		int best = -1;

		for (int len = c->strong ? -1 : c->p.len - 1; len >= 0 && best < 0; len--) {
			struct sl_prefix outer = c->p;
			size_t lo = 0, hi = n_strong;

			prefix_mask(&outer, (uint8_t)len);
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				int r = sl_prefix_cmp(&s->cidrs[strong[mid]].p, &outer);

				if (!r)
					best = (int)strong[mid];
				if (r < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		if (best < 0)
			continue;
		c->except_of = best;
		c->placed = true;
		if (s->cidrs[best].except_tail >= 0)
			s->cidrs[s->cidrs[best].except_tail].except_next = (int)order[o];
		else
			s->cidrs[best].except_head = (int)order[o];
		s->cidrs[best].except_tail = (int)order[o];
	}
	free(strong);
	/* A rule with world lists the CIDRs it covers that are named
	 * nowhere else, once. */
	for (size_t i = 0; i < s->n_pols; i++)
		for (size_t j = 0; j < s->pols[i].n_rules; j++) {
			struct srule *r = &s->pols[i].rules[j];

			for (size_t k = 0; r->ent[SL_ENTITY_WORLD] && k < r->n_cidrs; k++) {
				struct scidr *c = &s->cidrs[r->cidrs[k]];

				r->cidr_drop[k] = c->placed;
				c->placed = true;
			}
		}
	/* The rest: a policy that selects no endpoint of this node. */
	holder.cidrs = show_alloc(s, (s->n_cidrs + 1) * sizeof(*holder.cidrs));
	holder.cidr_drop = show_alloc(s, s->n_cidrs + 1);
	for (size_t o = 0; holder.cidrs && o < s->n_cidrs; o++)
		if (!s->cidrs[order[o]].placed) {
			char t[64];

			sl_prefix_format(&s->cidrs[order[o]].p, t, sizeof(t));
			if (strbuf_addf(&list, "%s%s", n_held ? ", " : "", t) < 0)
				s->oom = true;
			holder.cidrs[n_held++] = order[o];
		}
	free(order);
	if (!n_held || s->oom)
		goto out;
	holder.n_cidrs = n_held;
	/* An identity that only remote endpoints have selects nothing here. */
	for (size_t i = 0; i < s->n_reps && !subject; i++) {
		bool local = false;

		for (size_t g = 0; g < s->n_groups && !local; g++)
			local = s->groups[g].identity == s->reps[i].identity;
		if (!local)
			subject = show_fmt(s, "%" PRIu32, s->reps[i].identity);
	}
	if (subject) {
		show_note(s, "policy " SHOW_HOLDER_POLICY " selects only remote endpoints: it keeps the identities of CIDRs "
			"that no policy entry of this node uses (%s)", strbuf_str(&list));
	} else if (!s->n_pols && s->n_groups && s->enforcement == SL_ENFORCE_DEFAULT) {
		/* No endpoint here is under any policy: that is what
		 * policyEnforcement: never makes of any policy. */
		s->enforcement = SL_ENFORCE_NEVER;
		subject = show_fmt(s, "%" PRIu32, s->groups[0].identity);
		show_note(s, "no endpoint of this node is under policy, yet CIDRs have identities (%s): shown as "
			"policyEnforcement: never with policy " SHOW_HOLDER_POLICY " naming them", strbuf_str(&list));
	} else {
		subject = "none";
		show_note(s, "policy " SHOW_HOLDER_POLICY " selects no endpoint (validate warns about it): it keeps the "
			"identities of CIDRs that no policy entry of this node uses (%s)", strbuf_str(&list));
	}
	p = show_new_policy(s, SHOW_HOLDER_POLICY, subject);
	if (p && show_add_rule(s, p, &holder) < 0)
		s->oom = true;
out:
	strbuf_free(&list);
}

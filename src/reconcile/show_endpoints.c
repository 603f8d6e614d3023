/* SPDX-License-Identifier: Apache-2.0 */
/* Show: local and remote endpoints, which address is whose, and their section. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "labels.h"
#include "show_internal.h"

/* ---- endpoints: which is local, which address is whose ---- */

static int ep_cmp_ifname(const void *a, const void *b)
{
	return memcmp(((const struct sep *)a)->ifname, ((const struct sep *)b)->ifname, SHOW_IFNAME_LEN);
}

static const struct sep *sort_eps_base;

static int ep_idx_cmp(const void *a, const void *b)
{
	const struct sep *x = &sort_eps_base[*(const size_t *)a], *y = &sort_eps_base[*(const size_t *)b];

	if (x->v.identity != y->v.identity)
		return x->v.identity < y->v.identity ? -1 : 1;
	return memcmp(x->ifname, y->ifname, SHOW_IFNAME_LEN);
}

static int addr_cmp(const void *a, const void *b)
{
	const struct saddr *x = a, *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	return sl_prefix_cmp(&x->p, &y->p);
}

static void orphan_addr(struct show *s, const struct saddr *a)
{
	char t[INET6_ADDRSTRLEN];

	show_addr_text(&a->p, t, sizeof(t));
	show_note(s, "address %s (identity %" PRIu32 ") belongs to no endpoint of this node: not shown", t, a->identity);
}

/* Give the endpoints eps[idx[0..n)] of one identity the addresses
 * addrs[a0..a1) (IPv4 before IPv6, each in address order): one IPv4 and
 * one IPv6 each, so that every endpoint has one at least. */
static void hand_out(struct show *s, const size_t *idx, size_t n, size_t a0, size_t a1)
{
	size_t m4 = a0, n4, n6, j = 0;

	while (m4 < a1 && s->addrs[m4].p.family == 4)
		m4++;
	n4 = m4 - a0;
	n6 = a1 - m4;
	for (size_t i = 0; i < n && i < n4; i++)
		s->eps[idx[i]].a4 = (int)(a0 + i);
	/* IPv6 first to those without an IPv4 address. */
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if ((pass == 0) == (s->eps[idx[i]].a4 < 0) && j < n6)
				s->eps[idx[i]].a6 = (int)(m4 + j++);
	for (size_t i = n; i < n4; i++)
		orphan_addr(s, &s->addrs[a0 + i]);
	for (; j < n6; j++)
		orphan_addr(s, &s->addrs[m4 + j]);
	for (size_t i = 0; i < n; i++) {
		struct sep *e = &s->eps[idx[i]];

		if (e->a4 < 0 && e->a6 < 0) {
			show_note(s, "endpoint %s (identity %" PRIu32 ") has no address in the ipcache: not shown", e->ifname,
			     e->v.identity);
			e->skip = true;
		}
	}
	if (n > 1) {
		struct strbuf b = {};

		for (size_t i = 0; i < n; i++)
			if (strbuf_addf(&b, "%s%s", i ? ", " : "", s->eps[idx[i]].ifname) < 0)
				s->oom = true;
		show_note(s, "endpoints %s share identity %" PRIu32 ": the kernel does not record which of them has which "
			"address; they are handed out in address order", strbuf_str(&b), s->eps[idx[0]].v.identity);
		strbuf_free(&b);
	}
}

void show_local_endpoints(struct show *s)
{
	uint8_t *id_used = calloc(65536 / 8, 1);
	size_t *idx = calloc(s->n_eps + 1, sizeof(*idx));
	size_t n = 0, ai = 0, ei = 0, a_end;

	if (!id_used || !idx) {
		s->oom = true;
		goto out;
	}
	show_sort(s->eps, s->n_eps, sizeof(*s->eps), ep_cmp_ifname);
	show_sort(s->addrs, s->n_addrs, sizeof(*s->addrs), addr_cmp);
	for (size_t i = 0; i < s->n_eps; i++) {
		struct sep *e = &s->eps[i];
		const char *why = NULL;

		if (!e->ifname[0] || sl_ifname_problem(e->ifname))
			why = "its interface name is not one";
		else if (!show_user_id(e->v.identity))
			why = "its identity is not one an endpoint can have";
		else if (!e->v.id)
			why = "it has no endpoint id";
		else if (id_used[e->v.id / 8] & (1u << (e->v.id % 8)))
			why = "another endpoint has its id";
		if (why) {
			show_note(s, "endpoint %s (id %u, identity %" PRIu32 ") is not shown: %s", e->ifname, e->v.id,
			     e->v.identity, why);
			e->skip = true;
			continue;
		}
		id_used[e->v.id / 8] |= (uint8_t)(1u << (e->v.id % 8));
		idx[n++] = i;
	}
	sort_eps_base = s->eps;
	show_sort(idx, n, sizeof(*idx), ep_idx_cmp);
	sort_eps_base = NULL;
	for (a_end = 0; a_end < s->n_addrs && s->addrs[a_end].node < 0; a_end++)
		;
	while (ei < n) {
		uint32_t id = s->eps[idx[ei]].v.identity;
		size_t ej = ei, aj;

		while (ej < n && s->eps[idx[ej]].v.identity == id)
			ej++;
		for (; ai < a_end && s->addrs[ai].identity < id; ai++)
			orphan_addr(s, &s->addrs[ai]);
		for (aj = ai; aj < a_end && s->addrs[aj].identity == id; aj++)
			;
		hand_out(s, idx + ei, ej - ei, ai, aj);
		ai = aj;
		ei = ej;
	}
	for (; ai < a_end; ai++)
		orphan_addr(s, &s->addrs[ai]);
	/* Names, in interface order. */
	for (size_t i = 0; i < s->n_eps; i++) {
		struct sep *e = &s->eps[i];

		if (e->skip)
			continue;
		if (e->given[0] && !sl_name_problem(e->given))
			e->name = show_unique_name(s, e->given);
		else
			e->name = show_unique_name(s, sl_name_problem(e->ifname) ? show_fmt(s, "ep-%u", e->v.id) : e->ifname);
	}
	/* The groups of one identity. */
	for (size_t i = 0, w = 0; i < n; i++) {
		const struct sep *e = &s->eps[idx[i]];
		struct sgroup *g;

		if (e->skip)
			continue;
		idx[w++] = idx[i];
		if (s->n_groups && s->groups[s->n_groups - 1].identity == e->v.identity) {
			s->groups[s->n_groups - 1].n++;
			continue;
		}
		g = PUSH(s, s->groups, s->n_groups, s->cap_groups);
		if (!g)
			break;
		g->identity = e->v.identity;
		g->first = w - 1;
		g->n = 1;
		g->rep = idx[i];
	}
	s->order = TAKE_PTR(idx);
out:
	free(id_used);
	free(idx);
}

/* Remote endpoints: per node and identity, one IPv4 and one IPv6 address
 * each, in address order. */
void show_remote_endpoints(struct show *s)
{
	size_t i = 0;
	bool guessed = false;

	while (i < s->n_addrs && s->addrs[i].node < 0)
		i++;
	while (i < s->n_addrs) {
		size_t j = i, m4;

		while (j < s->n_addrs && s->addrs[j].node == s->addrs[i].node &&
		       s->addrs[j].identity == s->addrs[i].identity)
			j++;
		for (m4 = i; m4 < j && s->addrs[m4].p.family == 4; m4++)
			;
		if (m4 > i && j > m4 && (m4 - i > 1 || j - m4 > 1))
			guessed = true;
		for (size_t k = 0; k < m4 - i || k < j - m4; k++) {
			struct srep *r = PUSH(s, s->reps, s->n_reps, s->cap_reps);
			int first;

			if (!r)
				return;
			r->identity = s->addrs[i].identity;
			r->node = s->addrs[i].node;
			r->a4 = k < m4 - i ? (int)(i + k) : -1;
			r->a6 = k < j - m4 ? (int)(m4 + k) : -1;
			first = r->a4 >= 0 ? r->a4 : r->a6;
			r->name = show_unique_name(s, show_addr_name(s, "remote", &s->addrs[first].p));
		}
		i = j;
	}
	if (guessed)
		show_note(s, "remote endpoints: the kernel does not record which IPv4 and IPv6 addresses belong to one "
			"endpoint; they are paired in address order");
}

static void emit_endpoint(struct show *s, struct doc_node *seq, const char *name, const char *ifname, int a4, int a6,
			 uint32_t identity, const char *node, unsigned id, const char *netns)
{
	struct doc_node *m = doc_map(&s->doc, seq, NULL, DOC_BLOCK);

	doc_str(&s->doc, m, "name", name);
	if (ifname)
		doc_str(&s->doc, m, "interface", ifname);
	if (netns && netns[0])
		doc_str(&s->doc, m, "netns", netns);
	if (a4 >= 0)
		doc_str(&s->doc, m, "ipv4", show_addr_str(s, &s->addrs[a4].p));
	if (a6 >= 0)
		doc_str(&s->doc, m, "ipv6", show_addr_str(s, &s->addrs[a6].p));
	doc_u64(&s->doc, m, "identity", identity);
	if (node)
		doc_str(&s->doc, m, "node", node);
	if (id)
		doc_u64(&s->doc, m, "id", id);
}

/* The endpoints section: the local endpoints, then the remote ones. */
void show_emit_endpoints(struct show *s)
{
	struct doc_node *q;

	if (!(s->n_groups || s->n_reps))
		return;
	q = doc_seq(&s->doc, doc_root(&s->doc), "endpoints", DOC_BLOCK);
	for (size_t i = 0; i < s->n_eps; i++) {
		const struct sep *e = &s->eps[i];

		if (!e->skip)
			emit_endpoint(s, q, e->name, e->ifname, e->a4, e->a6, e->v.identity, NULL, e->v.id, e->netns);
	}
	for (size_t i = 0; i < s->n_reps; i++) {
		const struct srep *r = &s->reps[i];

		emit_endpoint(s, q, r->name, NULL, r->a4, r->a6, r->identity, s->nodes[r->node].name, 0, NULL);
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The ipcache kind: an entry of sluice_ipcache, prefix -> identity, tunnel
 * endpoint, encryption key. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "kinds/desc.h"
#include "kinds/map.h"
#include "reconcile/model.h"

/* The tunnel endpoint of an ipcache entry, "none" when it has none. */
static void tunnel_format(const struct sl_ipcache_value *e, char *buf, size_t len)
{
	if (e->tunnel_family)
		desc_addr_format(e->tunnel_family, e->tunnel_addr, buf, len);
	else
		snprintf(buf, len, "none");
}

static void changes(const struct sl_desc_ctx *c, const struct sl_ipcache_value *b, const struct sl_ipcache_value *a,
		    const char *tb, const char *ta, struct sl_desc *d)
{
	bool first = true;

	desc_put(d, &d->line, ": ");
	desc_identity_change(c, d, &first, b->identity, a->identity);
	if (strcmp(tb, ta)) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "via %s -> %s", tb, ta);
	}
	if (b->key != a->key) {
		desc_sep(d, &first);
		if (!b->key)
			desc_put(d, &d->line, "key none -> %u", a->key);
		else if (!a->key)
			desc_put(d, &d->line, "key %u -> none", b->key);
		else
			desc_put(d, &d->line, "key %u -> %u", b->key, a->key);
	}
	if ((b->flags ^ a->flags) & SL_IPCACHE_REMOTE) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "remote %s -> %s", b->flags & SL_IPCACHE_REMOTE ? "yes" : "no",
			 a->flags & SL_IPCACHE_REMOTE ? "yes" : "no");
	}
	if (first)
		desc_put(d, &d->line, "value differs");
}

static void describe(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_ipcache_key *k = v->key;
	const struct sl_ipcache_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER];
	char prefix[80], tb[INET6_ADDRSTRLEN + 16], ta[INET6_ADDRSTRLEN + 16];

	/* prefixlen counts the family byte and padding: 32 bits */
	if (k->prefixlen < SL_IPCACHE_PREFIX_BITS(0))
		snprintf(prefix, sizeof(prefix), "<family %u, prefixlen %u>", k->family, k->prefixlen);
	else
		desc_prefix_format(k->family, k->prefixlen - SL_IPCACHE_PREFIX_BITS(0), k->addr, prefix, sizeof(prefix));
	desc_put(d, &d->line, "ipcache %s", prefix);
	if (b)
		tunnel_format(b, tb, sizeof(tb));
	if (a)
		tunnel_format(a, ta, sizeof(ta));
	if (!a || !b) {
		const struct sl_ipcache_value *e = a ? a : b;

		desc_put(d, &d->line, " identity ");
		desc_put_identity(c, d, &d->line, e->identity);
		if (e->tunnel_family)
			desc_put(d, &d->line, " via %s", a ? ta : tb);
		if (e->key)
			desc_put(d, &d->line, " key %u", e->key);
		if ((e->flags & SL_IPCACHE_REMOTE) && !e->tunnel_family)
			desc_put(d, &d->line, " remote");
	} else {
		changes(c, b, a, tb, ta, d);
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_ipcache_value *e = v->val[s];
		struct strbuf *sb = &d->obj[s];

		if (!e)
			continue;
		desc_json_s(d, sb, "prefix", prefix);
		desc_json_u(d, sb, "identity", e->identity);
		desc_json_s(d, sb, "tunnel", e->tunnel_family ? (s == SL_BEFORE ? tb : ta) : NULL);
		desc_json_u(d, sb, "key", e->key);
		desc_json_bool(d, sb, "remote", e->flags & SL_IPCACHE_REMOTE);
	}
}

const struct sl_kind sl_kind_ipcache = {
	.name = "ipcache",
	.klen = sizeof(struct sl_ipcache_key),
	.vlen = sizeof(struct sl_ipcache_value),
	.backend = SL_VIA_ENTRIES,
	.rank = 0, /* first: the identities policy entries name */
	.map = SL_MAPNAME_IPCACHE,
	.maps = sl_maps_datapath,
	.map_size = SL_MAP_IPCACHE,
	.section = SL_SEC_IPCACHE,
	.describe = describe,
};

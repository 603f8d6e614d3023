/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names the monitor says (kinds/names.c): each local endpoint's name
 * by its interface, and the labels of every identity the state names.
 * Reserved identities have their names in sluice itself; a CIDR identity
 * is named by its prefix, which the ipcache's entry carrying it holds
 * (sl_monitor_cidr_of): a map entry of its own for each would cost 260
 * bytes in the kernel and in every copy of the set, for names the kernel
 * already has (a policy of 500,000 CIDRs made half its objects of them).
 */
#include "features.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "kinds/kind.h"

static int by_key(const void *a, const void *b)
{
	const struct sl_label *x = *(const struct sl_label *const *)a, *y = *(const struct sl_label *const *)b;

	return strcmp(x->key, y->key);
}

/* "k1=v1,k2=v2" sorted by key, cut with "..." when it does not fit. */
static int labels_text(const struct sl_identity *id, struct sl_id_labels_value *v)
{
	const struct sl_label **l = calloc(id->n_labels + 1, sizeof(*l));
	size_t w = 0;

	if (!l)
		return -ENOMEM;
	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < id->n_labels; i++)
		l[i] = &id->labels[i];
	qsort(l, id->n_labels, sizeof(*l), by_key);
	for (uint32_t i = 0; i < id->n_labels; i++) {
		int n = snprintf(v->text + w, sizeof(v->text) - w, "%s%s=%s", i ? "," : "", l[i]->key,
				 l[i]->value ? l[i]->value : "");

		if (n < 0 || (size_t)n >= sizeof(v->text) - w) {
			memcpy(v->text + sizeof(v->text) - 4, "...", 4);
			break;
		}
		w += (size_t)n;
	}
	free(l);
	return 0;
}

int names_compile(const struct sl_state *st, struct sl_objset *out)
{
	int r = 0;

	for (uint32_t i = 0; r >= 0 && i < st->n_endpoints; i++) {
		const struct sl_endpoint *ep = &st->endpoints[i];
		struct sl_ep_name_value v = { { 0 } };
		char key[16] = { 0 };

		if (!endpoints_is_local(st, ep) || !ep->interface || !ep->name)
			continue;
		snprintf(key, sizeof(key), "%s", ep->interface);
		snprintf(v.name, sizeof(v.name), "%s", ep->name);
		r = objset_add(out, SL_OBJ_EP_NAME, key, sizeof(key), &v, sizeof(v));
	}
	for (uint32_t i = 0; r >= 0 && i < st->n_identities; i++) {
		const struct sl_identity *id = &st->identities[i];
		struct sl_id_labels_value v;

		r = labels_text(id, &v);
		if (r >= 0)
			r = objset_add(out, SL_OBJ_ID_LABELS, &id->id, sizeof(id->id), &v, sizeof(v));
	}
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The identities section: ids, label sets, and the indexes of them validation uses. */
#include "features.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common.h"
#include "reconcile/labels.h"

void identities_validate(struct val *v)
{
	struct sl_state *st = v->st;
	struct dups ids = { .what = "identity", .list = "identities", .field = "id" },
		    sets = { .what = "label set", .list = "identities", .field = "labels" };

	v->ids = calloc(st->n_identities + 1, sizeof(*v->ids));
	v->id_used = calloc(st->n_identities + 1, sizeof(*v->id_used));
	if (!v->ids || !v->id_used) {
		v->oom = true;
		return;
	}
	for (uint32_t i = 0; i < st->n_identities; i++) {
		const struct sl_identity *id = &st->identities[i];
		bool has_id = SL_HAS(id, SL_IDENTITY_ID);
		size_t saved = v_path_idx(v, "identities", has_id ? id->id : id->doc_index);
		const char *reserved = v_reserved_identity(id->id);

		if (!has_id)
			; /* refused by the loader, and reported there */
		else if (id->id == 0)
			v_err(v, id->file, SL_AT(id, SL_IDENTITY_ID), "id", "0 is not an identity (256..16777215)");
		else if (id->id < SL_IDENTITY_MIN)
			v_err(v, id->file, SL_AT(id, SL_IDENTITY_ID), "id",
			  "identity %" PRIu32 " is reserved%s%s%s; identities of your own are 256..16777215", id->id,
			  reserved ? " (" : "", reserved ? reserved : "", reserved ? ")" : "");
		else if (id->id > SL_IDENTITY_MAX)
			v_err(v, id->file, SL_AT(id, SL_IDENTITY_ID), "id",
			  "identity %" PRIu32 " is in the range sluice gives CIDRs (16777216 and up); identities "
			  "of your own are 256..16777215",
			  id->id);
		if (!id->n_labels && SL_HAS(id, SL_IDENTITY_LABELS))
			v_err(v, id->file, SL_AT(id, SL_IDENTITY_LABELS), "labels", "an identity needs at least one label");
		v_path_lit(v, ".labels");
		v_check_labels(v, id->file, id->labels, id->n_labels);
		v_pop(v, saved);
		if (has_id)
			v_dup_add(v, &ids, v_astrf(v, "%" PRIu32, id->id), id->file, SL_AT(id, SL_IDENTITY_ID), v_astrf(v, "%" PRIu32, id->id), id->doc_index);
		if (id->n_labels && SL_HAS(id, SL_IDENTITY_LABELS))
			v_dup_add(v, &sets, v_label_set_key(v, id->labels, id->n_labels), id->file, SL_AT(id, SL_IDENTITY_LABELS), v_astrf(v, "%" PRIu32, id->id), id->doc_index);
		v->ids[i] = (struct id_ref){ id->id, i };
		for (uint32_t j = 0; j < id->n_labels; j++) {
			char key[1024];

			v_label_pair_key(key, sizeof(key), id->labels[j].key, id->labels[j].value);
			v_lidx_add(v, key, i);
			v_lidx_add(v, id->labels[j].key, i);
		}
	}
	v_dup_report(v, &ids);
	v_dup_report(v, &sets);
	qsort(v->ids, st->n_identities, sizeof(*v->ids), v_id_ref_cmp);
}

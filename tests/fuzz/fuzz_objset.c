/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Map keys and values as the kernel holds them, read back into words: an
 * input is a list of objects, each (kind, key bytes, value bytes), that
 * make two object sets, a desired one and a live one, as observation reads
 * maps, attachments, pins, SAs and routes into them. The diff of the two
 * is planned as text and JSON (which must be valid JSON), the live set is
 * shown as a state document in YAML (which must load back: shown_loads)
 * and JSON (valid JSON), and compile reads its previous assignments from
 * it. The live set patched with the diff (sl_diff_patch, watch's kept set)
 * must be the desired one.
 *
 * An object is
 *   byte 0: kind (0..15; those from SL_OBJ__MAX on are kinds no renderer
 *           knows)
 *   byte 1: bit 0: the desired set (else the live one); bit 1: sizes
 *           follow (else the kind's own sizes, the ones observation gives)
 *   [byte 2: key length; bytes 3, 4: value length, little endian, at most
 *   4096]
 *   the key bytes, then the value bytes.
 * An object the input cannot finish is left out.
 */
#include <stdlib.h>
#include <string.h>

#include "datapath/route.h"
#include "datapath/xfrm.h"
#include "kinds/kind.h"
#include "kinds/rule.h"
#include "fuzz.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/plan.h"
#include "reconcile/show.h"
#include "reconcile/validate.h"
#include "sluice/abi.h"
#include "kinds/attach.h"
#include "kinds/prog.h"
#include "kinds/map.h"

#define KINDS 16
#define VLEN_MAX 4096

static const struct {
	uint8_t klen;
	uint16_t vlen;
} sizes[SL_OBJ__MAX] = {
	[SL_OBJ_ENDPOINT] = { 16, sizeof(struct sl_endpoint_value) },
	[SL_OBJ_IPCACHE] = { sizeof(struct sl_ipcache_key), sizeof(struct sl_ipcache_value) },
	[SL_OBJ_POLICY] = { sizeof(struct sl_policy_key), sizeof(struct sl_policy_value) },
	[SL_OBJ_PREFILTER4] = { 4 + 4, 1 },
	[SL_OBJ_PREFILTER6] = { 4 + 16, 1 },
	[SL_OBJ_ATTACH] = { sizeof(struct sl_attach_key), sizeof(struct sl_attach_value) },
	[SL_OBJ_MAP] = { sizeof(struct sl_map_key), sizeof(struct sl_map_value) },
	[SL_OBJ_PROG] = { sizeof(struct sl_prog_key), sizeof(struct sl_prog_value) },
	[SL_OBJ_BACKEND] = { sizeof(struct sl_backend_key), sizeof(struct sl_backend_value) },
	[SL_OBJ_SERVICE] = { sizeof(struct sl_service_key), sizeof(struct sl_service_value) },
	[SL_OBJ_XFRM_STATE] = { sizeof(struct sl_xfrm_state_key), sizeof(struct sl_xfrm_state_value) },
	[SL_OBJ_XFRM_POLICY] = { sizeof(struct sl_xfrm_policy_key), sizeof(struct sl_xfrm_policy_value) },
	[SL_OBJ_ROUTE] = { sizeof(struct sl_route_key), sizeof(struct sl_route_value) },
	[SL_OBJ_RULE] = { sizeof(struct sl_rule_key), sizeof(struct sl_rule_value) },
};

static void json_check(const struct strbuf *b, const char *what)
{
	size_t at;

	FUZZ_ASSERT(fuzz_json_ok(strbuf_str(b), b->len, &at), "%s is not JSON at byte %zu:\n%s", what, at,
		    strbuf_str(b));
}

/*
 * show's YAML is text the loader takes (no control character: names from
 * the kernel are escaped) and a datapath section that validates. Not the
 * whole document: show writes some entries as the kernel holds them even
 * when no state could say them (a service on port 0, a CIDR identity's
 * prefix with host bits set), and validation refuses those.
 */
static void shown_loads(const struct strbuf *doc)
{
	struct sl_load back = { 0 };
	struct sl_validate_opts o = { .hostname = "node-a" };
	size_t bad = 0;

	if (sl_load_buffer(&back, "shown.yaml", FUZZ_STATE_DIR, strbuf_str(doc), doc->len) >= 0 &&
	    sl_load_finish(&back) >= 0 && sl_validate(&back, &o) >= 0) {
		/* (a map's size below the entries shown is the input's doing: a
		 * kernel map never holds more than its size) */
		for (size_t i = 0; i < back.diags.n; i++)
			if (back.diags.v[i].severity == DIAG_ERROR &&
			    (!strncmp(back.diags.v[i].path, "(file)", 6) ||
			     (!strncmp(back.diags.v[i].path, "datapath", 8) &&
			      !strstr(back.diags.v[i].message, "entries in map"))))
				bad++;
		if (bad) {
			diag_sort(&back.diags);
			diag_print_text(&back.diags, stderr, false);
		}
		FUZZ_ASSERT(!bad, "show's document is not text the loader takes, or its datapath section is refused:\n%s",
			    strbuf_str(doc));
	}
	sl_load_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_objset raw[2] = { 0 }, set[2] = { 0 };
	struct sl_compile_prev prev = { 0 };
	struct sl_diff d = { 0 };
	struct strbuf out = { 0 }, notes = { 0 };
	char(*names)[17] = NULL;
	size_t i = 0;
	enum { HAVE, WANT };

	while (i + 2 <= size) {
		unsigned kind = data[i] % KINDS, flags = data[i + 1];
		size_t klen, vlen;

		i += 2;
		if (flags & 2) {
			if (i + 3 > size)
				break;
			klen = data[i];
			vlen = (data[i + 1] | (size_t)data[i + 2] << 8) % (VLEN_MAX + 1);
			i += 3;
		} else if (kind < SL_OBJ__MAX) {
			klen = sizes[kind].klen;
			vlen = sizes[kind].vlen;
		} else {
			klen = 8;
			vlen = 8;
		}
		if (size - i < klen + vlen)
			break;
		/* the kernel's bytes of a value of its kind become the kind's
		 * form (a service's), any other length stays what it is */
		objset_add_kernel(&raw[flags & 1], (enum sl_obj_kind)kind, data + i, klen, data + i + klen, vlen);
		i += klen + vlen;
	}
	for (int s = HAVE; s <= WANT; s++)
		fuzz_unique(&raw[s], &set[s]);

	if (sl_diff(&set[WANT], &set[HAVE], &d) >= 0) {
		struct sl_objset patched = { 0 };

		/* watch's kept set: the live one patched with the diff is the
		 * desired one (in place, its spare bytes given back) */
		if (objset_append(&patched, &set[HAVE]) >= 0) {
			objset_sort(&patched);
			if (sl_diff_patch(&patched, &set[WANT], &set[HAVE], &d) >= 0) {
				FUZZ_ASSERT(patched.n == set[WANT].n, "patched: %zu objects, desired %zu", patched.n,
					    set[WANT].n);
				for (size_t k = 0; k < patched.n; k++) {
					const struct sl_obj *x = &patched.v[k], *y = &set[WANT].v[k];

					FUZZ_ASSERT(obj_cmp(&patched, x, &set[WANT], y) == 0 && x->vlen == y->vlen &&
							    !memcmp(obj_val(&patched, x), obj_val(&set[WANT], y), x->vlen),
						    "patched object %zu differs from the desired one", k);
				}
			}
		}
		objset_free(&patched);
		sl_plan_write(&set[WANT], &set[HAVE], &d, NULL, SL_PLAN_TEXT, size & 1, fuzz_devnull(), NULL);
		if (sl_plan_render(&set[WANT], &set[HAVE], &d, NULL, SL_PLAN_JSON, false, &out) >= 0)
			json_check(&out, "the plan");
		strbuf_truncate(&out, 0);
	}
	sl_diff_free(&d);

	if (sl_show_render(&set[HAVE], fuzz_layouts, fuzz_n_layouts, SL_SHOW_YAML, &out, &notes) >= 0) {
		shown_loads(&out);
		strbuf_truncate(&out, 0);
	}
	if (sl_show_render(&set[HAVE], fuzz_layouts, fuzz_n_layouts, SL_SHOW_JSON, &out, NULL) >= 0)
		json_check(&out, "show's document");

	sl_compile_prev_from_live(&set[HAVE], &prev, &names);
	sl_compile_prev_free(&prev, names);

	strbuf_free(&out);
	strbuf_free(&notes);
	for (int s = HAVE; s <= WANT; s++) {
		objset_free(&raw[s]);
		objset_free(&set[s]);
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compile, diff and plan path on valid states. An input is state files
 * (fuzz.h); an invalid state stops after validation (fuzz_load covers
 * that). A valid one is compiled as `sluice diff` does against an empty
 * node, its plan rendered as text and JSON (which must be valid JSON), then
 *  - compiled again against the set it compiled to, as the live set of a
 *    converged node: the diff must be empty (a second apply writes nothing);
 *  - compiled against a live set made from it with objects dropped and
 *    bytes changed (a drifted node), the plan rendered again;
 *  - shown (`sluice show` of the compiled set as if live), in YAML, which
 *    must load back and validate without an error, and in JSON (which must
 *    be valid JSON).
 * The drift is drawn from the input's bytes: the same input, the same run.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/util.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/keys.h"
#include "reconcile/plan.h"
#include "reconcile/show.h"
#include "reconcile/validate.h"
#include "kinds/prog.h"

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Compile as the commands do: prev read from live, the layouts and
 * digests of the embedded programs, the keys. */
static int compile_against(const struct sl_load *ld, const struct sl_objset *live, const struct sl_keyring *keys,
			   struct sl_compile_result *res)
{
	struct sl_compile_prev prev = { 0 };
	char(*names)[17] = NULL;
	int r;

	sl_compile_prev_from_live(live, &prev, &names);
	prev.layouts = fuzz_layouts;
	prev.n_layouts = fuzz_n_layouts;
	for (int i = 0; i < SL_PROG__MAX; i++)
		prev.prog_digest[i] = 0x51c0000000000000ull + (uint64_t)i;
	prev.keys = keys;
	prev.cgroup_id = 0x5c; /* any: socketAcceleration's hooks are compiled */
	r = sl_compile(&ld->state, &prev, res);
	sl_compile_prev_free(&prev, names);
	return r;
}

static void render_plan(const struct sl_objset *want, const struct sl_objset *have, const struct sl_state *st,
			bool color)
{
	struct sl_diff d = { 0 };
	struct strbuf json = { 0 };
	size_t counts[SL_CHANGE_OPS], at;

	if (sl_diff(want, have, &d) < 0)
		return;
	sl_plan_write(want, have, &d, st, SL_PLAN_TEXT, color, fuzz_devnull(), counts);
	if (sl_plan_render(want, have, &d, st, SL_PLAN_JSON, false, &json) >= 0)
		FUZZ_ASSERT(fuzz_json_ok(strbuf_str(&json), json.len, &at), "the plan is not JSON at byte %zu:\n%s", at,
			    strbuf_str(&json));
	strbuf_free(&json);
	sl_diff_free(&d);
}

/* A drifted node: set's objects, some dropped, some with a key or value
 * byte changed (keys that then collide are kept once). */
static int drift(const struct sl_objset *set, struct sl_objset *ret)
{
	struct sl_objset tmp = { 0 };
	uint8_t key[256], val[UINT16_MAX];
	int r = 0;

	for (size_t i = 0; r >= 0 && i < set->n; i++) {
		const struct sl_obj *o = &set->v[i];
		uint32_t x = rnd();

		memcpy(key, obj_key(set, o), o->klen);
		memcpy(val, obj_val(set, o), o->vlen);
		switch (x % 8) {
		case 0:
			continue; /* gone */
		case 1:
			if (o->vlen)
				val[(x >> 3) % o->vlen] ^= (uint8_t)(1u << ((x >> 20) % 8));
			break;
		case 2:
			if (o->klen)
				key[(x >> 3) % o->klen] ^= (uint8_t)(1u << ((x >> 20) % 8));
			break;
		default:
			break;
		}
		r = objset_add(&tmp, (enum sl_obj_kind)o->kind, key, o->klen, val, o->vlen);
	}
	if (r >= 0) {
		objset_sort(&tmp);
	}
	for (size_t i = 0; r >= 0 && i < tmp.n; i++) {
		const struct sl_obj *o = &tmp.v[i];

		if (i && obj_cmp(&tmp, &tmp.v[i - 1], &tmp, o) == 0)
			continue;
		r = objset_add(ret, (enum sl_obj_kind)o->kind, obj_key(&tmp, o), o->klen, obj_val(&tmp, o), o->vlen);
	}
	objset_free(&tmp);
	if (r >= 0)
		objset_sort(ret);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_load ld = { 0 };
	struct sl_validate_opts o = { .hostname = "node-a", .strict_node = true };
	struct sl_keyring keys = { 0 };
	struct sl_objset empty = { .sorted = true }, have = { 0 };
	struct sl_compile_result res, again, drifted;
	struct sl_diff d = { 0 };
	struct strbuf text = { 0 }, notes = { 0 };
	const struct sl_state *st = &ld.state;
	char why[4400];
	size_t at;

	rng = fnv1a64(FNV1A64_INIT, data, size);
	if (!rng)
		rng = 1;
	if (fuzz_load(&ld, data, size) < 0 || sl_validate(&ld, &o) < 0 || ld.diags.n_errors)
		goto out;
	if (st->encryption && st->encryption->enabled && sl_keyring_load(&ld, &keys, why, sizeof(why)) < 0)
		goto out;
	if (compile_against(&ld, &empty, &keys, &res) < 0)
		goto out;
	sl_compile_check_capacity(st, &res.set, "a.yaml", &ld.diags);
	render_plan(&res.set, &empty, st, size & 1);

	/* converged: nothing to do */
	if (compile_against(&ld, &res.set, &keys, &again) >= 0) {
		if (sl_diff(&again.set, &res.set, &d) >= 0)
			FUZZ_ASSERT(d.n == 0, "compiled against its own result, the state asks for %zu changes", d.n);
		sl_diff_free(&d);
		sl_compile_result_free(&again);
	}

	/* drifted */
	if (drift(&res.set, &have) >= 0 && compile_against(&ld, &have, &keys, &drifted) >= 0) {
		render_plan(&drifted.set, &have, st, false);
		sl_compile_result_free(&drifted);
	}

	/* shown */
	if (sl_show_render(&res.set, fuzz_layouts, fuzz_n_layouts, SL_SHOW_YAML, &text, &notes) >= 0) {
		struct sl_load back = { 0 };
		struct sl_validate_opts bo = { .hostname = "node-a" };

		if (sl_load_buffer(&back, "shown.yaml", FUZZ_STATE_DIR, strbuf_str(&text), text.len) >= 0 &&
		    sl_load_finish(&back) >= 0 && sl_validate(&back, &bo) >= 0) {
			if (back.diags.n_errors) {
				diag_sort(&back.diags);
				diag_print_text(&back.diags, stderr, false);
			}
			FUZZ_ASSERT(back.diags.n_errors == 0, "show's document does not validate:\n%s", strbuf_str(&text));
		}
		sl_load_free(&back);
	}
	strbuf_truncate(&text, 0);
	if (sl_show_render(&res.set, fuzz_layouts, fuzz_n_layouts, SL_SHOW_JSON, &text, NULL) >= 0)
		FUZZ_ASSERT(fuzz_json_ok(strbuf_str(&text), text.len, &at), "show's JSON is not JSON at byte %zu:\n%s",
			    at, strbuf_str(&text));
	strbuf_free(&text);
	strbuf_free(&notes);
	objset_free(&have);
	sl_compile_result_free(&res);
out:
	sl_keyring_free(&keys);
	sl_load_free(&ld);
	return 0;
}

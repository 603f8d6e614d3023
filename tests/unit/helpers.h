/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the unit tests: load YAML text, look for diagnostics,
 * render a plan. */
#pragma once

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/load.h"
#include "reconcile/plan.h"
#include "reconcile/validate.h"

/* Load text as the file "t.yaml", merge, and (when validate) validate. */
static inline void load_text(struct sl_load *ld, const char *yaml, bool validate)
{
	memset(ld, 0, sizeof(*ld));
	cr_assert_geq(sl_load_buffer(ld, "t.yaml", ".", yaml, strlen(yaml)), 0);
	cr_assert_geq(sl_load_finish(ld), 0);
	if (validate) {
		struct sl_validate_opts o = { .hostname = "test-host" };

		cr_assert_geq(sl_validate(ld, &o), 0);
	}
	diag_sort(&ld->diags);
}

/* The diagnostics as "line:col: [warning: ]path: message" lines. */
static inline char *diag_lines(const struct sl_load *ld)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < ld->diags.n; i++) {
		const struct diag *d = &ld->diags.v[i];

		fprintf(f, "%u:%u: %s%s: %s\n", d->line, d->col, d->severity == DIAG_WARNING ? "warning: " : "",
			d->path, d->message);
	}
	fclose(f);
	return buf;
}

#define assert_diags(ld, expected)                                                           \
	do {                                                                                 \
		char *_got = diag_lines(ld);                                                 \
		cr_assert_str_eq(_got, expected, "diagnostics differ:\n--- got\n%s--- expected\n%s", \
				 _got, expected);                                            \
		free(_got);                                                                  \
	} while (0)

#define assert_no_diags(ld) assert_diags(ld, "")

/* The plan from have to want (st: want's state), as text or JSON; free it. */
static inline char *plan_render_of(const struct sl_objset *want, const struct sl_objset *have,
				   const struct sl_state *st, enum sl_plan_format fmt)
{
	struct sl_diff d;
	struct strbuf out = {};

	cr_assert_eq(sl_diff(want, have, &d), 0);
	cr_assert_eq(sl_plan_render(want, have, &d, st, fmt, false, &out), 0);
	sl_diff_free(&d);
	return out.s ? out.s : strdup("");
}

/* A state loaded from text and compiled. */
struct compiled {
	struct sl_load ld;
	struct sl_compile_result res;
};

/* Load, validate and compile yaml against prev (NULL: none). The state
 * must have no error; strict: no warning either. */
static inline void compile_yaml(struct compiled *c, const char *yaml, const struct sl_compile_prev *prev, bool strict)
{
	char *d;

	load_text(&c->ld, yaml, true);
	d = diag_lines(&c->ld);
	cr_assert_eq(c->ld.diags.n_errors + (strict ? c->ld.diags.n_warnings : 0), 0,
		     "the test's state has diagnostics:\n%s", d);
	free(d);
	cr_assert_eq(sl_compile(&c->ld.state, prev, &c->res), 0);
}

static inline void compiled_free(struct compiled *c)
{
	sl_compile_result_free(&c->res);
	sl_load_free(&c->ld);
}

/* The plan from the set of old_yaml to that of new_yaml, each compiled
 * with its prev (NULL: none). */
static inline char *plan_between(const char *old_yaml, const struct sl_compile_prev *old_prev, const char *new_yaml,
				 const struct sl_compile_prev *new_prev, bool strict, enum sl_plan_format fmt)
{
	struct compiled a, b;
	char *plan;

	compile_yaml(&a, old_yaml, old_prev, strict);
	compile_yaml(&b, new_yaml, new_prev, strict);
	plan = plan_render_of(&b.res.set, &a.res.set, &b.ld.state, fmt);
	compiled_free(&a);
	compiled_free(&b);
	return plan;
}

/* Two sets hold the same objects, keys and values. */
static inline void assert_same_set(const struct sl_objset *a, const struct sl_objset *b, const char *what)
{
	cr_assert_eq(a->n, b->n, "%s: %zu objects, the other %zu", what, a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct sl_obj *x = &a->v[i], *y = &b->v[i];

		cr_assert(obj_cmp(a, x, b, y) == 0 && x->vlen == y->vlen &&
				  !memcmp(obj_val(a, x), obj_val(b, y), x->vlen),
			  "%s: object %zu (kind %u) differs", what, i, x->kind);
	}
}

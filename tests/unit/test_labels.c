/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>

#include "reconcile/labels.h"

Test(labels, keys)
{
	cr_assert_null(sl_label_key_problem("app"));
	cr_assert_null(sl_label_key_problem("app.kubernetes.io/name"));
	cr_assert_null(sl_label_key_problem("k8s-app"));
	cr_assert_null(sl_label_key_problem("A_b.c-D"));
	cr_assert_not_null(sl_label_key_problem(""));
	cr_assert_not_null(sl_label_key_problem("-app"));
	cr_assert_not_null(sl_label_key_problem("app-"));
	cr_assert_not_null(sl_label_key_problem("a b"));
	cr_assert_not_null(sl_label_key_problem("Example.com/app"), "prefix must be lowercase");
	cr_assert_not_null(sl_label_key_problem("example.com/"));
	cr_assert_not_null(sl_label_key_problem("/app"));
	cr_assert_not_null(sl_label_key_problem("a/b/c"));
	cr_assert_not_null(sl_label_key_problem("x123456789012345678901234567890123456789012345678901234567890123"));
	cr_assert_null(sl_label_key_problem("x12345678901234567890123456789012345678901234567890123456789012"));
}

Test(labels, values)
{
	cr_assert_null(sl_label_value_problem(""));
	cr_assert_null(sl_label_value_problem("prod"));
	cr_assert_null(sl_label_value_problem("1.10"));
	cr_assert_not_null(sl_label_value_problem("-prod"));
	cr_assert_not_null(sl_label_value_problem("a/b"));
	cr_assert_not_null(sl_label_value_problem("white space"));
}

Test(labels, names)
{
	cr_assert_null(sl_name_problem("web-1"));
	cr_assert_null(sl_name_problem("a"));
	cr_assert_null(sl_name_problem("db.primary"));
	cr_assert_not_null(sl_name_problem("Web"));
	cr_assert_not_null(sl_name_problem("web_1"));
	cr_assert_not_null(sl_name_problem("-web"));
	cr_assert_not_null(sl_name_problem("web."));
	cr_assert_not_null(sl_name_problem(""));
	cr_assert_not_null(sl_name_problem("a234567890123456789012345678901234567890123456789012345678901234"));
}

#define L(k, v) { .key = (char *)(k), .value = (char *)(v) }

static struct sl_label web_prod[] = { L("app", "web"), L("env", "prod") };
static struct sl_label db[] = { L("app", "db") };

static bool match(struct sl_selector *s, struct sl_label *l, uint32_t n)
{
	return sl_selector_matches(s, l, n);
}

Test(labels, match_labels)
{
	struct sl_label want[] = { L("app", "web") }, wrong[] = { L("app", "web"), L("env", "dev") };
	struct sl_selector s = { .match_labels = want, .n_match_labels = 1 };
	struct sl_selector s2 = { .match_labels = wrong, .n_match_labels = 2 };
	struct sl_selector all = {};

	cr_assert(match(&s, web_prod, 2));
	cr_assert_not(match(&s, db, 1));
	cr_assert_not(match(&s2, web_prod, 2));
	cr_assert(match(&all, db, 1), "{} matches everything");
	cr_assert(sl_selector_is_empty(&all));
	cr_assert_not(sl_selector_is_empty(&s));
}

Test(labels, match_expressions)
{
	char *web_db[] = { "web", "db" }, *cache[] = { "cache" };
	struct sl_expr in = { .key = "app", .op = SL_OP_IN, .values = web_db, .n_values = 2 };
	struct sl_expr notin = { .key = "app", .op = SL_OP_NOT_IN, .values = cache, .n_values = 1 };
	struct sl_expr notin_db = { .key = "app", .op = SL_OP_NOT_IN, .values = web_db, .n_values = 2 };
	struct sl_expr exists = { .key = "env", .op = SL_OP_EXISTS };
	struct sl_expr absent = { .key = "env", .op = SL_OP_DOES_NOT_EXIST };
	struct sl_selector s;

	s = (struct sl_selector){ .exprs = &in, .n_exprs = 1 };
	cr_assert(match(&s, web_prod, 2));
	cr_assert(match(&s, db, 1));
	s = (struct sl_selector){ .exprs = &notin, .n_exprs = 1 };
	cr_assert(match(&s, web_prod, 2));
	s = (struct sl_selector){ .exprs = &notin_db, .n_exprs = 1 };
	cr_assert_not(match(&s, db, 1));
	cr_assert(match(&s, NULL, 0), "NotIn matches a missing key, as in Kubernetes");
	s = (struct sl_selector){ .exprs = &exists, .n_exprs = 1 };
	cr_assert(match(&s, web_prod, 2));
	cr_assert_not(match(&s, db, 1));
	s = (struct sl_selector){ .exprs = &absent, .n_exprs = 1 };
	cr_assert_not(match(&s, web_prod, 2));
	cr_assert(match(&s, db, 1));
}

Test(labels, labels_and_expressions_both_hold)
{
	struct sl_label want[] = { L("app", "web") };
	struct sl_expr absent = { .key = "env", .op = SL_OP_DOES_NOT_EXIST };
	struct sl_selector s = { .match_labels = want, .n_match_labels = 1, .exprs = &absent, .n_exprs = 1 };
	struct sl_label web_only[] = { L("app", "web") };

	cr_assert_not(match(&s, web_prod, 2));
	cr_assert(match(&s, web_only, 1));
}

Test(labels, equality)
{
	struct sl_label a[] = { L("env", "prod"), L("app", "web") }, b[] = { L("app", "web") };

	cr_assert(sl_labels_equal(a, 2, web_prod, 2), "order does not matter");
	cr_assert_not(sl_labels_equal(b, 1, web_prod, 2));
	cr_assert_not(sl_labels_equal(web_prod, 2, b, 1));
	cr_assert_str_eq(sl_label_get(web_prod, 2, "env"), "prod");
	cr_assert_null(sl_label_get(web_prod, 2, "tier"));
}

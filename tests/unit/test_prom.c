/* SPDX-License-Identifier: Apache-2.0 */
/* The Prometheus text exposition format (src/common/prom.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "common/prom.h"

Test(prom, family_and_samples)
{
	struct strbuf b = {};
	struct prom_label l[] = { { "reason", "policy" }, { "dir", "in" } };

	cr_assert_eq(prom_family(&b, "x_total", PROM_COUNTER, "Things.\nTwo lines, a \\ too."), 0);
	cr_assert_eq(prom_sample_u64(&b, "x_total", l, 2, 7), 0);
	cr_assert_eq(prom_sample_u64(&b, "x_total", NULL, 0, UINT64_MAX), 0);
	cr_assert_eq(prom_family(&b, "g", PROM_GAUGE, "A gauge."), 0);
	cr_assert_eq(prom_sample_f64(&b, "g", NULL, 0, 0.5), 0);
	cr_expect_str_eq(strbuf_str(&b), "# HELP x_total Things.\\nTwo lines, a \\\\ too.\n"
					 "# TYPE x_total counter\n"
					 "x_total{reason=\"policy\",dir=\"in\"} 7\n"
					 "x_total 18446744073709551615\n"
					 "# HELP g A gauge.\n"
					 "# TYPE g gauge\n"
					 "g 0.5\n");
	strbuf_free(&b);
}

Test(prom, label_values_escaped)
{
	struct strbuf b = {};
	struct prom_label l = { "map", "a\"b\\c\nd e" };

	cr_assert_eq(prom_sample_u64(&b, "m", &l, 1, 1), 0);
	cr_expect_str_eq(strbuf_str(&b), "m{map=\"a\\\"b\\\\c\\nd e\"} 1\n");
	strbuf_free(&b);
}

Test(prom, doubles)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },	      { 1, "1" },	      { 10, "10" },	     { 60, "60" },
		{ 0.001, "0.001" },   { 0.0025, "0.0025" },   { 2.5, "2.5" },	     { -3.25, "-3.25" },
		{ 1e-7, "1e-07" },    { 1e300, "1e+300" },    { 0.1 + 0.2, "0.30000000000000004" },
		{ 1796620107.1583538, "1796620107.1583538" }, { INFINITY, "+Inf" },	     { -INFINITY, "-Inf" },
		{ NAN, "NaN" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf b = {};
		char want[64];

		snprintf(want, sizeof(want), "v %s\n", cases[i].text);
		cr_assert_eq(prom_sample_f64(&b, "v", NULL, 0, cases[i].v), 0);
		cr_expect_str_eq(strbuf_str(&b), want, "case %zu", i);
		strbuf_free(&b);
	}
}

Test(prom, histogram)
{
	static const double bounds[] = { 0.01, 0.1, 1 };
	struct prom_histogram h = { .bounds = bounds, .n_bounds = 3 };
	struct strbuf b = {};

	prom_histogram_observe(&h, 0.005);
	prom_histogram_observe(&h, 0.01); /* le is "less or equal" */
	prom_histogram_observe(&h, 0.5);
	prom_histogram_observe(&h, 7);
	cr_assert_eq(prom_histogram_write(&b, "d_seconds", "Durations.", &h), 0);
	cr_expect_str_eq(strbuf_str(&b), "# HELP d_seconds Durations.\n"
					 "# TYPE d_seconds histogram\n"
					 "d_seconds_bucket{le=\"0.01\"} 2\n"
					 "d_seconds_bucket{le=\"0.1\"} 2\n"
					 "d_seconds_bucket{le=\"1\"} 3\n"
					 "d_seconds_bucket{le=\"+Inf\"} 4\n"
					 "d_seconds_sum 7.515\n"
					 "d_seconds_count 4\n");
	strbuf_free(&b);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The Prometheus text exposition format (see prom.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static const char *const type_name[PROM_TYPE__MAX] = { "counter", "gauge", "histogram" };

/* Text after HELP: backslash and newline escaped. */
static int add_help(struct strbuf *b, const char *s)
{
	int r = 0;

	for (; *s && r >= 0; s++) {
		if (*s == '\\')
			r = strbuf_adds(b, "\\\\");
		else if (*s == '\n')
			r = strbuf_adds(b, "\\n");
		else
			r = strbuf_add(b, s, 1);
	}
	return r;
}

int prom_family(struct strbuf *b, const char *name, enum prom_type type, const char *help)
{
	int r = strbuf_addf(b, "# HELP %s ", name);

	if (r >= 0)
		r = add_help(b, help);
	if (r >= 0)
		r = strbuf_addf(b, "\n# TYPE %s %s\n", name, type_name[type]);
	return r < 0 ? -ENOMEM : 0;
}

int prom_add_label_value(struct strbuf *b, const char *v)
{
	int r = 0;

	for (; *v && r >= 0; v++) {
		if (*v == '\\')
			r = strbuf_adds(b, "\\\\");
		else if (*v == '"')
			r = strbuf_adds(b, "\\\"");
		else if (*v == '\n')
			r = strbuf_adds(b, "\\n");
		else
			r = strbuf_add(b, v, 1);
	}
	return r < 0 ? -ENOMEM : 0;
}

/* name{a="x",b="y"} (or name alone without labels), and a space. */
static int add_name(struct strbuf *b, const char *name, const struct prom_label *l, size_t n_l)
{
	int r = strbuf_adds(b, name);

	for (size_t i = 0; i < n_l && r >= 0; i++) {
		r = strbuf_addf(b, "%s%s=\"", i ? "," : "{", l[i].name);
		if (r >= 0)
			r = prom_add_label_value(b, l[i].value ? l[i].value : "");
		if (r >= 0)
			r = strbuf_adds(b, "\"");
	}
	if (r >= 0)
		r = strbuf_adds(b, n_l ? "} " : " ");
	return r < 0 ? -ENOMEM : 0;
}

int prom_sample_u64(struct strbuf *b, const char *name, const struct prom_label *l, size_t n_l, uint64_t v)
{
	int r = add_name(b, name, l, n_l);

	if (r >= 0)
		r = strbuf_addf(b, "%" PRIu64 "\n", v);
	return r < 0 ? -ENOMEM : 0;
}

/* The shortest %g text that reads back as v (at most 17 digits). */
static void format_double(double v, char buf[32])
{
	if (isnan(v)) {
		snprintf(buf, 32, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, 32, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* no exponent for what reads well without one: 10, not 1e+01 */
	bool plain = fabs(v) >= 1e-4 && fabs(v) < 1e15;

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v && !(plain && strchr(buf, 'e')))
			return;
	}
}

int prom_sample_f64(struct strbuf *b, const char *name, const struct prom_label *l, size_t n_l, double v)
{
	char num[32];
	int r = add_name(b, name, l, n_l);

	format_double(v, num);
	if (r >= 0)
		r = strbuf_addf(b, "%s\n", num);
	return r < 0 ? -ENOMEM : 0;
}

void prom_histogram_observe(struct prom_histogram *h, double v)
{
	size_t i = 0;

	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

int prom_histogram_write(struct strbuf *b, const char *name, const char *help, const struct prom_histogram *h)
{
	char series[128], le[32];
	uint64_t cum = 0;
	int r = prom_family(b, name, PROM_HISTOGRAM, help);

	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t i = 0; i <= h->n_bounds && r >= 0; i++) {
		struct prom_label l = { "le", le };

		cum += h->counts[i];
		if (i < h->n_bounds)
			format_double(h->bounds[i], le);
		else
			snprintf(le, sizeof(le), "+Inf");
		r = prom_sample_u64(b, series, &l, 1, cum);
	}
	snprintf(series, sizeof(series), "%s_sum", name);
	if (r >= 0)
		r = prom_sample_f64(b, series, NULL, 0, h->sum);
	snprintf(series, sizeof(series), "%s_count", name);
	if (r >= 0)
		r = prom_sample_u64(b, series, NULL, 0, h->count);
	return r;
}

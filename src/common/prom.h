/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Prometheus text exposition format (version 0.0.4): metric families
 * with their HELP and TYPE lines, samples with labels, histograms. Pure:
 * it only appends to a string, so the format is unit-tested
 * (tests/unit/test_prom.c) apart from the server that sends it.
 *
 * Each function returns 0 or -ENOMEM; after an error the buffer may hold
 * part of a line, and the page should not be sent.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* A family's type, as its TYPE line says it. */
enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM, PROM_TYPE__MAX };

/* One label: name="value". Names are the caller's constants
 * ([a-zA-Z_][a-zA-Z0-9_]*); values are escaped. */
struct prom_label {
	const char *name;
	const char *value;
};

/* "# HELP name help\n# TYPE name type\n"; help is escaped (backslash and
 * newline, as the format asks). */
int prom_family(struct strbuf *b, const char *name, enum prom_type type, const char *help);

/* One sample line: name{labels} value. An integer value is written as
 * one (exact: a counter of 2^64-1 stays 18446744073709551615); a double
 * as the shortest text that reads back the same, NaN, +Inf or -Inf. */
int prom_sample_u64(struct strbuf *b, const char *name, const struct prom_label *l, size_t n_l, uint64_t v);
int prom_sample_f64(struct strbuf *b, const char *name, const struct prom_label *l, size_t n_l, double v);

/* A label value as the format escapes it: backslash, double quote and
 * newline as \\, \" and \n; everything else as it is. */
int prom_add_label_value(struct strbuf *b, const char *v);

/* A histogram of observations (seconds, bytes...): bucket i counts the
 * observations <= bounds[i]; the last bucket (+Inf) the rest. */
#define PROM_HISTOGRAM_MAX_BUCKETS 24
struct prom_histogram {
	const double *bounds; /* increasing, n_bounds of them */
	size_t n_bounds;      /* at most PROM_HISTOGRAM_MAX_BUCKETS */
	uint64_t counts[PROM_HISTOGRAM_MAX_BUCKETS + 1]; /* per bucket, not cumulative; [n_bounds]: +Inf */
	uint64_t count;
	double sum;
};

void prom_histogram_observe(struct prom_histogram *h, double v);
/* The family: HELP, TYPE histogram, the cumulative name_bucket{le="..."}
 * lines up to le="+Inf", name_sum and name_count. */
int prom_histogram_write(struct strbuf *b, const char *name, const char *help, const struct prom_histogram *h);

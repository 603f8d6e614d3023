/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes label syntax and selector matching. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* NULL when valid, else what is wrong (static text). */
const char *sl_label_key_problem(const char *key);
const char *sl_label_value_problem(const char *value);
/* Names of endpoints, policies, services and nodes: a DNS label of up to 63
 * characters, [a-z0-9]([a-z0-9.-]*[a-z0-9])?. */
const char *sl_name_problem(const char *name);

const char *sl_label_get(const struct sl_label *labels, uint32_t n, const char *key);
/* Same keys with the same values, in any order. */
bool sl_labels_equal(const struct sl_label *a, uint32_t na, const struct sl_label *b, uint32_t nb);
bool sl_selector_matches(const struct sl_selector *s, const struct sl_label *labels, uint32_t n);
/* Matches every label set: {} or matchLabels: {} with no expressions. */
bool sl_selector_is_empty(const struct sl_selector *s);

/* SPDX-License-Identifier: Apache-2.0 */
#include "labels.h"

#include <string.h>

#include "common/util.h"

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])? of len bytes */
static const char *name_part_problem(const char *s, size_t len)
{
	if (len == 0)
		return "must not be empty";
	if (len > 63)
		return "has more than 63 characters";
	if (!alnum(s[0]) || !alnum(s[len - 1]))
		return "must start and end with a letter or digit";
	for (size_t i = 0; i < len; i++)
		if (!alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return "may contain only letters, digits, '.', '_' and '-'";
	return NULL;
}

/* DNS subdomain: lowercase labels of [a-z0-9-] joined by dots, <= 253 bytes. */
static bool dns_subdomain(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

const char *sl_label_key_problem(const char *key)
{
	const char *slash = strchr(key, '/');
	const char *p;

	if (slash) {
		if (!dns_subdomain(key, (size_t)(slash - key)))
			return "the prefix before '/' must be a DNS subdomain (lowercase letters, digits, '-' and '.')";
		key = slash + 1;
	}
	p = name_part_problem(key, strlen(key));
	if (!p)
		return NULL;
	if (strstr(p, "empty"))
		return "a label key's name must not be empty";
	if (strstr(p, "63"))
		return "a label key's name has at most 63 characters";
	if (strstr(p, "start"))
		return "a label key's name must start and end with a letter or digit";
	return "a label key's name may contain only letters, digits, '.', '_' and '-'";
}

const char *sl_label_value_problem(const char *v)
{
	size_t len = strlen(v);

	if (len == 0)
		return NULL;
	if (len > 63)
		return "a label value has at most 63 characters";
	if (!alnum(v[0]) || !alnum(v[len - 1]))
		return "a label value must start and end with a letter or digit";
	for (size_t i = 0; i < len; i++)
		if (!alnum(v[i]) && v[i] != '.' && v[i] != '_' && v[i] != '-')
			return "a label value may contain only letters, digits, '.', '_' and '-'";
	return NULL;
}

const char *sl_name_problem(const char *n)
{
	size_t len = strlen(n);

	if (len == 0)
		return "a name may not be empty";
	if (len > 63)
		return "a name has at most 63 characters";
	for (size_t i = 0; i < len; i++) {
		char c = n[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return "a name may contain only lowercase letters, digits, '-' and '.'";
	}
	if (n[0] == '-' || n[0] == '.' || n[len - 1] == '-' || n[len - 1] == '.')
		return "a name must start and end with a lowercase letter or digit";
	return NULL;
}

const char *sl_label_get(const struct sl_label *labels, uint32_t n, const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (streq(labels[i].key, key))
			return labels[i].value;
	return NULL;
}

bool sl_labels_equal(const struct sl_label *a, uint32_t na, const struct sl_label *b, uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++) {
		const char *v = sl_label_get(b, nb, a[i].key);

		if (!v || !streq(v, a[i].value))
			return false;
	}
	return true;
}

static bool in_values(const struct sl_expr *e, const char *v)
{
	for (uint32_t i = 0; i < e->n_values; i++)
		if (streq(e->values[i], v))
			return true;
	return false;
}

bool sl_selector_matches(const struct sl_selector *s, const struct sl_label *labels, uint32_t n)
{
	for (uint32_t i = 0; i < s->n_match_labels; i++) {
		const char *v = sl_label_get(labels, n, s->match_labels[i].key);

		if (!v || !streq(v, s->match_labels[i].value))
			return false;
	}
	for (uint32_t i = 0; i < s->n_exprs; i++) {
		const struct sl_expr *e = &s->exprs[i];
		const char *v = sl_label_get(labels, n, e->key);

		switch (e->op) {
		case SL_OP_IN:
			if (!v || !in_values(e, v))
				return false;
			break;
		case SL_OP_NOT_IN:
			if (v && in_values(e, v))
				return false;
			break;
		case SL_OP_EXISTS:
			if (!v)
				return false;
			break;
		case SL_OP_DOES_NOT_EXIST:
			if (v)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

bool sl_selector_is_empty(const struct sl_selector *s)
{
	return s->n_match_labels == 0 && s->n_exprs == 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* What the harnesses share (fuzz.h). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kinds/map.h"

/* The sanitizers' defaults for every harness, also when run by hand:
 * LeakSanitizer on, use-after-return checked, stacks printed. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:"
	       "check_initialization_order=1:allocator_may_return_null=1";
}

const char *__ubsan_default_options(void)
{
	return "print_stacktrace=1:halt_on_error=1:report_error_type=1";
}

int fuzz_load(struct sl_load *ld, const uint8_t *data, size_t size)
{
	static const char *const names[FUZZ_MAX_FILES] = { "a.yaml", "b.yaml", "c.yaml", "d.yaml",
							   "e.yaml", "f.yaml", "g.yaml", "h.yaml" };
	const char *p = (const char *)data, *end = p + size;
	size_t sep = strlen(FUZZ_FILE_SEP);
	int r = 0;

	for (size_t i = 0; i < FUZZ_MAX_FILES && r >= 0; i++) {
		const char *next = i + 1 < FUZZ_MAX_FILES ? memmem(p, (size_t)(end - p), FUZZ_FILE_SEP, sep) : NULL;
		const char *stop = next ? next : end;

		r = sl_load_buffer(ld, names[i], FUZZ_STATE_DIR, p, (size_t)(stop - p));
		if (!next)
			break;
		p = next + sep;
	}
	if (r >= 0)
		r = sl_load_finish(ld);
	return r;
}

FILE *fuzz_devnull(void)
{
	static FILE *f;

	if (!f) {
		f = fopen("/dev/null", "w");
		if (!f)
			abort();
	}
	return f;
}

/* Like bpf/: endpoints hash 4 -> 12, ipcache LPM 24 -> 24, policy hash
 * 12 -> 4, conntrack LRU, drops per-CPU array, prefilter LPM, services
 * and backends hash. */
const struct sl_map_layout fuzz_layouts[] = {
	{ "sluice_endpoints", { 1, 4, 12, 0, 0 }, SL_MAP_ENDPOINTS, SL_MAPS_DATAPATH },
	{ "sluice_ipcache", { 11, 24, 24, 0, 1 }, SL_MAP_IPCACHE, SL_MAPS_DATAPATH },
	{ "sluice_policy", { 1, 12, 4, 0, 0 }, SL_MAP_POLICY, SL_MAPS_DATAPATH },
	{ "sluice_ct4_tcp", { 9, 16, 40, 0, 0 }, SL_MAP_CT_TCP, SL_MAPS_DATAPATH },
	{ "sluice_ct4_any", { 9, 16, 40, 0, 0 }, SL_MAP_CT_ANY, SL_MAPS_DATAPATH },
	{ "sluice_ct6_tcp", { 9, 40, 40, 0, 0 }, SL_MAP_CT_TCP, SL_MAPS_DATAPATH },
	{ "sluice_services", { 1, 20, 1600, 0, 0 }, SL_MAP_SERVICES, SL_MAPS_DATAPATH },
	{ "sluice_backends", { 1, 4, 24, 0, 0 }, SL_MAP_BACKENDS, SL_MAPS_DATAPATH },
	{ "sluice_tunnel", { 1, 20, 20, 0, 0 }, SL_MAP_TUNNEL, SL_MAPS_DATAPATH },
	{ "sluice_drops", { 6, 4, 16, 16, 0 }, SL_MAP_SIZE_FIXED, SL_MAPS_SHARED },
	{ "sluice_prefilter_v4", { 11, 8, 1, 0, 1 }, SL_MAP_PREFILTER, SL_MAPS_PREFILTER },
	{ "sluice_prefilter_v6", { 11, 20, 1, 0, 1 }, SL_MAP_PREFILTER, SL_MAPS_PREFILTER },
};
const size_t fuzz_n_layouts = sizeof(fuzz_layouts) / sizeof(fuzz_layouts[0]);

/* ---- JSON syntax ---- */

struct json {
	const unsigned char *s;
	size_t n, i;
	int depth;
};

static void ws(struct json *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

static bool lit(struct json *j, const char *w)
{
	size_t l = strlen(w);

	if (j->n - j->i < l || memcmp(j->s + j->i, w, l))
		return false;
	j->i += l;
	return true;
}

static bool hex4(struct json *j, unsigned *ret)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++, j->i++) {
		unsigned char c;

		if (j->i >= j->n)
			return false;
		c = j->s[j->i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10u;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10u;
		else
			return false;
	}
	*ret = v;
	return true;
}

/* One UTF-8 sequence at j->i (shortest form, no surrogates, <= U+10FFFF). */
static bool utf8(struct json *j)
{
	const unsigned char *p = j->s + j->i;
	size_t left = j->n - j->i, len;
	unsigned cp;

	if (p[0] < 0x80)
		len = 1, cp = p[0];
	else if ((p[0] & 0xe0) == 0xc0)
		len = 2, cp = p[0] & 0x1fu;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0fu;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, cp = p[0] & 0x07u;
	else
		return false;
	if (left < len)
		return false;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return false;
		cp = cp << 6 | (p[k] & 0x3fu);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	j->i += len;
	return true;
}

static bool string(struct json *j)
{
	if (!lit(j, "\""))
		return false;
	while (j->i < j->n) {
		unsigned char c = j->s[j->i];
		unsigned u;

		if (c == '"') {
			j->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->i++;
			if (j->i >= j->n)
				return false;
			c = j->s[j->i++];
			if (c == 'u') {
				if (!hex4(j, &u))
					return false;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c) || !c)
				return false;
			continue;
		}
		if (!utf8(j))
			return false;
	}
	return false;
}

static bool number(struct json *j)
{
	size_t i0;

	lit(j, "-");
	if (lit(j, "0")) {
	} else {
		i0 = j->i;
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
			j->i++;
		if (j->i == i0 || j->s[i0] == '0')
			return false;
	}
	if (lit(j, ".")) {
		i0 = j->i;
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
			j->i++;
		if (j->i == i0)
			return false;
	}
	if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		j->i++;
		if (!lit(j, "+"))
			lit(j, "-");
		i0 = j->i;
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
			j->i++;
		if (j->i == i0)
			return false;
	}
	return true;
}

static bool value(struct json *j);

static bool members(struct json *j, char close, bool object)
{
	ws(j);
	if (lit(j, close == '}' ? "}" : "]"))
		return true;
	for (;;) {
		ws(j);
		if (object) {
			if (!string(j))
				return false;
			ws(j);
			if (!lit(j, ":"))
				return false;
		}
		if (!value(j))
			return false;
		ws(j);
		if (lit(j, ","))
			continue;
		return lit(j, close == '}' ? "}" : "]");
	}
}

static bool value(struct json *j)
{
	bool ok;

	ws(j);
	if (j->i >= j->n || ++j->depth > 200)
		return false;
	switch (j->s[j->i]) {
	case '{':
		j->i++;
		ok = members(j, '}', true);
		break;
	case '[':
		j->i++;
		ok = members(j, ']', false);
		break;
	case '"':
		ok = string(j);
		break;
	case 't':
		ok = lit(j, "true");
		break;
	case 'f':
		ok = lit(j, "false");
		break;
	case 'n':
		ok = lit(j, "null");
		break;
	default:
		ok = number(j);
		break;
	}
	j->depth--;
	return ok;
}

bool fuzz_json_ok(const char *s, size_t len, size_t *at)
{
	struct json j = { (const unsigned char *)s, len, 0, 0 };
	bool ok = value(&j);

	if (ok) {
		ws(&j);
		ok = j.i == j.n;
	}
	*at = j.i;
	return ok;
}

int fuzz_unique(struct sl_objset *s, struct sl_objset *ret)
{
	int r = 0;

	objset_sort(s);
	for (size_t i = 0; r >= 0 && i < s->n; i++) {
		const struct sl_obj *o = &s->v[i];

		if (i && obj_cmp(s, &s->v[i - 1], s, o) == 0)
			continue;
		r = objset_add(ret, (enum sl_obj_kind)o->kind, obj_key(s, o), o->klen, obj_val(s, o), o->vlen);
	}
	objset_sort(ret);
	return r;
}

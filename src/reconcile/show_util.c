/* SPDX-License-Identifier: Apache-2.0 */
/* Show's helpers: memory from its arena, notes, addresses as text, names
 * unique among endpoints, copies of objects. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds/kind.h"
#include "show_internal.h"

void *show_alloc(struct show *s, size_t size)
{
	void *p = arena_alloc(&s->arena, size ? size : 1);

	if (!p) {
		s->oom = true;
		return NULL;
	}
	memset(p, 0, size ? size : 1);
	return p;
}

char *show_fmt(struct show *s, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(p = show_alloc(s, (size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void show_note(struct show *s, const char *fmt, ...)
{
	struct strbuf line = {};
	va_list ap;

	if (s->n_notes >= SHOW_MAX_NOTES) {
		s->n_more++;
		return;
	}
	/* Escaped (strbuf_add_escaped): a note names what the kernel holds,
	 * and a device's name may have control characters, even a newline,
	 * which would end the YAML comment the note becomes. */
	va_start(ap, fmt);
	if (strbuf_vaddf(&line, fmt, ap) < 0 || strbuf_add_escaped(&s->notes, strbuf_str(&line)) < 0 ||
	    strbuf_add(&s->notes, "\n", 1) < 0)
		s->oom = true;
	va_end(ap);
	strbuf_free(&line);
	s->n_notes++;
}

bool show_user_id(uint32_t id)
{
	return id >= SL_ID_USER_MIN && id < SL_ID_CIDR_MIN;
}

bool show_is_host(const struct sl_prefix *p)
{
	return p->len == (p->family == 4 ? 32 : 128);
}

void show_addr_text(const struct sl_prefix *p, char *buf, size_t len)
{
	if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

const char *show_addr_str(struct show *s, const struct sl_prefix *p)
{
	char b[INET6_ADDRSTRLEN];

	show_addr_text(p, b, sizeof(b));
	return show_fmt(s, "%s", b);
}

const char *show_prefix_str(struct show *s, const struct sl_prefix *p)
{
	char b[64];

	sl_prefix_format(p, b, sizeof(b));
	return show_fmt(s, "%s", b);
}

/* "<what>-10-1-0-10", "<what>-fd00-1--10": a valid name for an address. */
const char *show_addr_name(struct show *s, const char *what, const struct sl_prefix *p)
{
	char b[INET6_ADDRSTRLEN + 1];
	size_t n;

	show_addr_text(p, b, INET6_ADDRSTRLEN);
	for (char *c = b; *c; c++)
		if (*c == '.' || *c == ':')
			*c = '-';
	n = strlen(b);
	if (n && b[n - 1] == '-') /* "fd00::" */
		memcpy(b + n, "0", 2);
	return show_fmt(s, "%s-%s", what, b);
}

/* ---- names: unique among endpoints ---- */

static uint64_t name_hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static bool nameset_has(const struct nameset *ns, const char *name)
{
	if (!ns->cap)
		return false;
	for (size_t i = name_hash(name) & (ns->cap - 1); ns->v[i]; i = (i + 1) & (ns->cap - 1))
		if (streq(ns->v[i], name))
			return true;
	return false;
}

static void nameset_put(const char **v, size_t cap, const char *name)
{
	size_t i;

	for (i = name_hash(name) & (cap - 1); v[i]; i = (i + 1) & (cap - 1))
		;
	v[i] = name;
}

static int nameset_add(struct nameset *ns, const char *name)
{
	if ((ns->n + 1) * 2 > ns->cap) {
		size_t ncap = ns->cap ? ns->cap * 2 : 64;
		const char **nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		for (size_t j = 0; j < ns->cap; j++)
			if (ns->v[j])
				nameset_put(nv, ncap, ns->v[j]);
		free(ns->v);
		ns->v = nv;
		ns->cap = ncap;
	}
	nameset_put(ns->v, ns->cap, name);
	ns->n++;
	return 0;
}

/* base, else base-2, base-3...: a name no other endpoint has. */
const char *show_unique_name(struct show *s, const char *base)
{
	const char *name = base;

	for (unsigned i = 2; name && nameset_has(&s->names, name); i++)
		name = show_fmt(s, "%s-%u", base, i);
	if (name && nameset_add(&s->names, name) < 0) {
		s->oom = true;
		return NULL;
	}
	return name;
}

/* qsort, which must not be given NULL, not even with no elements. */
void show_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* An object's key and the kernel's bytes of its value copied into k and v
 * when their sizes are klen and vlen: in a set they sit at any alignment
 * (obj_val), so they are never read in place as structs, and a kind may
 * keep its values in a form of its own (kinds/kind.h). */
bool show_obj_copy(const struct show *s, const struct sl_obj *o, void *k, size_t klen, void *v, size_t vlen)
{
	const struct sl_kind *kind = sl_kind(o->kind);
	uint8_t buf[SL_KIND_VLEN_MAX];
	const void *val;

	if (!kind || o->klen != klen || kind->vlen != vlen || !(val = sl_kind_value(o->kind, obj_val(s->live, o), o->vlen, buf)))
		return false;
	memcpy(k, obj_key(s->live, o), klen);
	memcpy(v, val, vlen);
	return true;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* A document tree rendered as YAML or JSON (see doc.h). */
#include "doc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum doc_type { DOC_MAP, DOC_SEQ, DOC_STR, DOC_RAW, DOC_TYPE__MAX };

struct doc_node {
	uint8_t type; /* enum doc_type; DOC_RAW: a number or a boolean, written as it is */
	bool flow;
	const char *key; /* a map member's key */
	const char *text;
	struct doc_node *first, *last, *next;
};

static void doc_fail(struct doc *d, int err)
{
	if (!d->err)
		d->err = err;
}

static struct doc_node *doc_new(struct doc *d)
{
	struct doc_node *n = arena_alloc(&d->arena, sizeof(*n));

	if (!n) {
		doc_fail(d, -ENOMEM);
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	return n;
}

int doc_init(struct doc *d)
{
	memset(d, 0, sizeof(*d));
	d->root = doc_new(d);
	if (d->root)
		d->root->type = DOC_MAP;
	return d->err;
}

void doc_free(struct doc *d)
{
	if (!d)
		return;
	arena_free(&d->arena);
	strbuf_free(&d->comments);
	memset(d, 0, sizeof(*d));
}

/* text: copied unless NULL; len: its length. */
static struct doc_node *doc_add(struct doc *d, struct doc_node *parent, const char *key, uint8_t type, bool flow,
				const char *text, size_t len)
{
	struct doc_node *n;

	if (d->err || !parent)
		return NULL;
	if ((parent->type == DOC_MAP) != !!key || (type >= DOC_STR && !text)) {
		doc_fail(d, -EINVAL);
		return NULL;
	}
	n = doc_new(d);
	if (!n)
		return NULL;
	n->type = type;
	n->flow = flow;
	if ((key && !(n->key = arena_strndup(&d->arena, key, strlen(key)))) ||
	    (text && !(n->text = arena_strndup(&d->arena, text, len)))) {
		doc_fail(d, -ENOMEM);
		return NULL;
	}
	if (parent->last)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	return n;
}

struct doc_node *doc_map(struct doc *d, struct doc_node *parent, const char *key, enum doc_style style)
{
	return doc_add(d, parent, key, DOC_MAP, style == DOC_FLOW, NULL, 0);
}

struct doc_node *doc_seq(struct doc *d, struct doc_node *parent, const char *key, enum doc_style style)
{
	return doc_add(d, parent, key, DOC_SEQ, style == DOC_FLOW, NULL, 0);
}

void doc_str(struct doc *d, struct doc_node *parent, const char *key, const char *v)
{
	doc_add(d, parent, key, DOC_STR, false, v, v ? strlen(v) : 0);
}

void doc_strf(struct doc *d, struct doc_node *parent, const char *key, const char *fmt, ...)
{
	struct strbuf b = {};
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = strbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (r < 0)
		doc_fail(d, r);
	else
		doc_add(d, parent, key, DOC_STR, false, strbuf_str(&b), b.len);
	strbuf_free(&b);
}

static void doc_raw(struct doc *d, struct doc_node *parent, const char *key, const char *text)
{
	doc_add(d, parent, key, DOC_RAW, false, text, strlen(text));
}

void doc_u64(struct doc *d, struct doc_node *parent, const char *key, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, v);
	doc_raw(d, parent, key, t);
}

void doc_i64(struct doc *d, struct doc_node *parent, const char *key, int64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRId64, v);
	doc_raw(d, parent, key, t);
}

void doc_bool(struct doc *d, struct doc_node *parent, const char *key, bool v)
{
	doc_raw(d, parent, key, v ? "true" : "false");
}

void doc_comment(struct doc *d, const char *text)
{
	struct strbuf line = {};
	const char *p = text;

	if (d->err)
		return;
	if (!text) {
		doc_fail(d, -EINVAL);
		return;
	}
	do {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		strbuf_truncate(&line, 0);
		if (strbuf_add(&line, p, len) < 0 || strbuf_add_escaped(&d->comments, strbuf_str(&line)) < 0 ||
		    strbuf_add(&d->comments, "\n", 1) < 0)
			doc_fail(d, -ENOMEM);
		p = nl ? nl + 1 : NULL;
	} while (p && !d->err);
	strbuf_free(&line);
}

/* ---- rendering ---- */

struct out {
	struct strbuf *b;
	int err;
};

static void put(struct out *o, const char *text)
{
	if (!o->err && strbuf_adds(o->b, text) < 0)
		o->err = -ENOMEM;
}

static void put_indent(struct out *o, int n)
{
	if (!o->err && strbuf_addf(o->b, "%*s", n, "") < 0)
		o->err = -ENOMEM;
}

static void put_json_str(struct out *o, const char *text)
{
	if (!o->err && strbuf_add_json_str(o->b, text) < 0)
		o->err = -ENOMEM;
}

static bool alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether YAML reads text, unquoted, as this very string: letters, digits
 * and ._/- only, starting with a letter or digit, and not a word or a
 * number YAML would take for something else. An IPv4 address or prefix
 * (two dots, or a slash) is left plain, as people write it. */
static bool yaml_plain(const char *text)
{
	static const char *const words[] = { "true", "false", "yes", "no", "on", "off", "y", "n", "null" };
	size_t dots = 0;
	bool slash = false;

	if (!alpha(text[0]) && !digit(text[0]))
		return false;
	for (const char *c = text; *c; c++) {
		if (!alpha(*c) && !digit(*c) && *c != '.' && *c != '_' && *c != '/' && *c != '-')
			return false;
		dots += *c == '.';
		slash |= *c == '/';
	}
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcasecmp(text, words[i]))
			return false;
	return !digit(text[0]) || dots >= 2 || slash;
}

/* A string (a key too): plain when YAML reads it back as it is. */
static void yaml_str(struct out *o, const char *text)
{
	if (yaml_plain(text))
		put(o, text);
	else
		put_json_str(o, text);
}

static bool yaml_inline(const struct doc_node *n)
{
	return n->type == DOC_STR || n->type == DOC_RAW || n->flow || !n->first;
}

static void yaml_flow(struct out *o, const struct doc_node *n)
{
	if (n->type == DOC_RAW) {
		put(o, n->text);
		return;
	}
	if (n->type == DOC_STR) {
		yaml_str(o, n->text);
		return;
	}
	put(o, n->type == DOC_MAP ? "{" : "[");
	for (const struct doc_node *c = n->first; c; c = c->next) {
		if (c != n->first)
			put(o, ", ");
		if (n->type == DOC_MAP) {
			yaml_str(o, c->key);
			put(o, ": ");
		}
		yaml_flow(o, c);
	}
	put(o, n->type == DOC_MAP ? "}" : "]");
}

/* The members or items of n, each on its own lines at indent; continued:
 * the first one's line is already started (after "- "). */
static void yaml_block(struct out *o, const struct doc_node *n, int indent, bool continued)
{
	for (const struct doc_node *c = n->first; c && !o->err; c = c->next) {
		if (!continued || c != n->first)
			put_indent(o, indent);
		if (n->type == DOC_MAP) {
			yaml_str(o, c->key);
			put(o, ":");
			if (yaml_inline(c)) {
				put(o, " ");
				yaml_flow(o, c);
				put(o, "\n");
			} else {
				put(o, "\n");
				yaml_block(o, c, indent + 2, false);
			}
		} else {
			put(o, "- ");
			if (yaml_inline(c) || c->type != DOC_MAP) {
				yaml_flow(o, c);
				put(o, "\n");
			} else {
				yaml_block(o, c, indent + 2, true);
			}
		}
	}
}

int doc_yaml(const struct doc *d, struct strbuf *out)
{
	struct out o = { .b = out };
	const char *p = strbuf_str(&d->comments);

	if (d->err || !d->root)
		return d->err ? d->err : -EINVAL;
	while (*p && !o.err) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		put(&o, "# ");
		if (!o.err && strbuf_add(o.b, p, len) < 0)
			o.err = -ENOMEM;
		put(&o, "\n");
		p += len + (nl ? 1 : 0);
	}
	if (!d->root->first)
		put(&o, "{}\n");
	yaml_block(&o, d->root, 0, false);
	return o.err;
}

static void json_node(struct out *o, const struct doc_node *n, int indent, bool compact)
{
	bool one_line = compact || n->flow;

	if (n->type == DOC_RAW) {
		put(o, n->text);
		return;
	}
	if (n->type == DOC_STR) {
		put_json_str(o, n->text);
		return;
	}
	if (!n->first) {
		put(o, n->type == DOC_MAP ? "{}" : "[]");
		return;
	}
	put(o, n->type == DOC_MAP ? "{" : "[");
	if (!one_line)
		put(o, "\n");
	for (const struct doc_node *c = n->first; c && !o->err; c = c->next) {
		if (!one_line)
			put_indent(o, indent + 2);
		if (n->type == DOC_MAP) {
			put_json_str(o, c->key);
			put(o, compact ? ":" : ": ");
		}
		json_node(o, c, indent + 2, compact);
		if (c->next)
			put(o, compact ? "," : one_line ? ", " : ",\n");
	}
	if (!one_line) {
		put(o, "\n");
		put_indent(o, indent);
	}
	put(o, n->type == DOC_MAP ? "}" : "]");
}

int doc_json(const struct doc *d, enum doc_json style, struct strbuf *out)
{
	struct out o = { .b = out };

	if (d->err || !d->root || (int)style < 0 || style >= DOC_JSON__MAX)
		return d->err ? d->err : -EINVAL;
	json_node(&o, d->root, 0, style == DOC_JSON_COMPACT);
	put(&o, "\n");
	return o.err;
}

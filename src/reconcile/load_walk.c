/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader walks the libyaml event stream once, descending through the
 * libcyaml schema tables (schema.c) as it goes: it fills the model structs,
 * records the position of every value (model.h), and reports every problem of
 * shape (unknown keys, wrong types, missing keys, bad enum values, syntax) with
 * file:line:col and the document path, going on after each one so that a run
 * reports them all.
 *
 * libcyaml's own loader is not used: it stops at the first error, keeps no
 * positions and has no free-form maps (labels). Its schema tables are.
 */
#include "load_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <yaml.h>

#include "k8s.h"
#include "schema.h"

struct loader {
	struct sl_load *ld;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
	bool pushback; /* the next next() returns the current event again */
	bool fatal; /* syntax error or out of memory: stop this file */
	const char *file;
	/* The document path, kept as segments and spelled out only when a
	 * diagnostic needs it. */
	struct seg {
		const char *key; /* NULL: an index */
		size_t index;
	} path[64];
	unsigned depth, overflow;
	unsigned nest; /* mappings and lists open, against SL_LOAD_DEPTH_MAX */
	size_t errors_before; /* the load's errors when this file started */
	uint32_t stop_line; /* fatal: the line (0-based) where reading stopped */
	struct stream_in *in; /* what a stream reader knows (NULL: a buffer) */
	/* "missing key" reports, with where their mapping ended: a syntax
	 * error there means the mapping was cut short, not incomplete. */
	struct missing {
		size_t diag;
		uint32_t end_line;
	} *missing;
	size_t n_missing, cap_missing;
};

static void push_key(struct loader *l, const char *key)
{
	if (l->depth < ARRAY_SIZE(l->path))
		l->path[l->depth++] = (struct seg){ .key = key };
	else
		l->overflow++;
}

static void push_index(struct loader *l, size_t index)
{
	if (l->depth < ARRAY_SIZE(l->path))
		l->path[l->depth++] = (struct seg){ .index = index };
	else
		l->overflow++;
}

static void pop(struct loader *l)
{
	if (l->overflow)
		l->overflow--;
	else if (l->depth)
		l->depth--;
}

static void format_path(const struct loader *l, unsigned depth, struct strbuf *b)
{
	for (unsigned i = 0; i < depth; i++) {
		if (l->path[i].key) {
			if (i)
				strbuf_adds(b, ".");
			diag_path_add_key(b, l->path[i].key); /* a label key is input */
		} else {
			strbuf_addf(b, "[%zu]", l->path[i].index);
		}
	}
}

/* Inside the encryption section, where a typo can put key material in any
 * value or key: messages quote at most its first characters. */
static bool secret(const struct loader *l)
{
	return l->depth && l->path[0].key && streq(l->path[0].key, "encryption");
}

/* Input as a message quotes it: 'value' (Q) or value (QN), cut. */
static const char *Q(const struct loader *l, const char *s)
{
	return secret(l) ? diag_q_secret(s) : diag_q(s);
}

static const char *QN(const struct loader *l, const char *s)
{
	return secret(l) ? diag_quote(s, DIAG_QUOTE_SECRET, 0) : diag_cut(s);
}

static void report(struct loader *l, enum diag_severity sev, yaml_mark_t mark, const char *fmt, ...)
	_printf_(4, 5);
static void report(struct loader *l, enum diag_severity sev, yaml_mark_t mark, const char *fmt, ...)
{
	struct strbuf path = {};
	va_list ap;

	format_path(l, l->depth, &path);
	va_start(ap, fmt);
	diag_vadd(&l->ld->diags, sev, l->file, (uint32_t)mark.line + 1, (uint32_t)mark.column + 1,
		  strbuf_str(&path), fmt, ap);
	va_end(ap);
	strbuf_free(&path);
	/* A file of nothing but errors (an endless stream of "a: b") would
	 * otherwise cost time and memory for each: enough is enough. */
	if (!l->fatal && l->ld->diags.n_errors - l->errors_before >= SL_LOAD_ERRORS_MAX) {
		diag_add(&l->ld->diags, DIAG_ERROR, l->file, (uint32_t)mark.line + 1, (uint32_t)mark.column + 1,
			 "(file)", "%d errors in this file; the rest of it is not read", SL_LOAD_ERRORS_MAX);
		l->fatal = true;
		l->stop_line = (uint32_t)mark.line;
	}
}

static struct sl_mark mark_of(yaml_mark_t m)
{
	return (struct sl_mark){ .line = (uint32_t)m.line + 1, .col = (uint32_t)m.column + 1 };
}

/* Where a reader error is (invalid UTF-8, a control character): libyaml
 * gives its byte offset, not its line. The characters it decoded before
 * the bad one are still in its buffer, from the scanner's position on, so
 * the error is that far past the scanner's mark. Breaks count as libyaml
 * counts them: CR, LF, CR LF, NEL, LS and PS. */
static yaml_mark_t reader_error_mark(const yaml_parser_t *p)
{
	yaml_mark_t m = p->mark;
	const unsigned char *s = p->buffer.pointer, *e = p->buffer.last;

	if (!s || !e || s > e)
		return m;
	while (s < e) {
		size_t w = (s[0] & 0x80) == 0 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : 4;
		bool brk = s[0] == '\n' || s[0] == '\r' || (w == 2 && s + 1 < e && s[0] == 0xc2 && s[1] == 0x85) ||
			   (w == 3 && s + 2 < e && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9));

		if (s[0] == '\r' && s + 1 < e && s[1] == '\n')
			w = 2;
		if (brk) {
			m.line++;
			m.column = 0;
		} else {
			m.column++;
		}
		s += w < (size_t)(e - s) ? w : (size_t)(e - s);
	}
	return m;
}

static int next(struct loader *l)
{
	if (l->fatal)
		return -1;
	if (l->pushback) {
		l->pushback = false;
		return 0;
	}
	if (l->have_ev)
		yaml_event_delete(&l->ev);
	l->have_ev = false;
	if (!yaml_parser_parse(&l->parser, &l->ev)) {
		yaml_mark_t m = l->parser.problem_mark;
		const char *problem = l->parser.problem ? l->parser.problem : "malformed YAML";

		if (l->parser.error == YAML_MEMORY_ERROR) {
			report(l, DIAG_ERROR, m, "out of memory");
		} else if (l->parser.error == YAML_READER_ERROR && l->in && (l->in->over || l->in->err)) {
			m = reader_error_mark(&l->parser);
			load_stream_stopped(l->in, l->file);
		} else if (l->parser.error == YAML_READER_ERROR) {
			/* Where and what: not the scanner's place, and not its
			 * path (the reader runs ahead of both). */
			int v = l->parser.problem_value;
			char what[32] = "";

			m = reader_error_mark(&l->parser);
			if (v >= 0 && strstr(problem, "octet"))
				snprintf(what, sizeof(what), " (byte 0x%02x)", (unsigned)v);
			else if (v >= 0)
				snprintf(what, sizeof(what), " (U+%04X)", (unsigned)v);
			diag_add(&l->ld->diags, DIAG_ERROR, l->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1,
				 "(file)", "not valid text: %s%s", problem, what);
		} else if (l->parser.context) {
			report(l, DIAG_ERROR, m, "YAML syntax: %s %s (line %zu)", problem, l->parser.context,
			       (size_t)l->parser.context_mark.line + 1);
		} else {
			report(l, DIAG_ERROR, m, "YAML syntax: %s", problem);
		}
		l->fatal = true;
		l->stop_line = (uint32_t)m.line;
		return -1;
	}
	l->have_ev = true;
	switch (l->ev.type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		/* Refused at once: libyaml's scanner slows down with the square
		 * of the depth, and no state needs more than a few levels. */
		if (++l->nest > SL_LOAD_DEPTH_MAX) {
			report(l, DIAG_ERROR, l->ev.start_mark,
			       "nested deeper than %d levels (a state nests 10 at most); the rest of the file is not read",
			       SL_LOAD_DEPTH_MAX);
			l->fatal = true;
			l->stop_line = (uint32_t)l->ev.start_mark.line;
			return -1;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		l->nest--;
		break;
	default:
		break;
	}
	return 0;
}

/* Skip the node whose first event is current; leaves its last event current. */
static int skip_node(struct loader *l)
{
	int depth = 0;

	do {
		switch (l->ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (depth == 0)
			return 0;
	} while (next(l) >= 0);
	return -1;
}

static const char *event_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return "a scalar";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "nothing";
	}
}

static bool is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || streq(v, "~") || streq(v, "null") || streq(v, "Null") || streq(v, "NULL");
}

static const char *type_name(const cyaml_schema_value_t *s)
{
	switch (s->type) {
	case CYAML_INT:
	case CYAML_UINT:
		return "an integer";
	case CYAML_BOOL:
		return "true or false";
	case CYAML_ENUM:
		return "one of the listed words";
	case CYAML_STRING:
		return "a string";
	case CYAML_MAPPING:
		return s == &sl_schema_label_entry ? "a mapping of labels" : "a mapping";
	case CYAML_SEQUENCE:
		return s->sequence.entry == &sl_schema_label_entry ? "a mapping of labels" : "a list";
	default:
		return "a value";
	}
}

static int alias_refused(struct loader *l)
{
	report(l, DIAG_ERROR, l->ev.start_mark, "aliases (*%s) are not supported; write the value out",
	       QN(l, (const char *)l->ev.data.alias.anchor));
	return 0;
}

/* Anchors are refused with aliases: a state reads the same top to bottom. */
static void anchor_refused(struct loader *l)
{
	const yaml_char_t *anchor = NULL;

	if (l->ev.type == YAML_SCALAR_EVENT)
		anchor = l->ev.data.scalar.anchor;
	else if (l->ev.type == YAML_SEQUENCE_START_EVENT)
		anchor = l->ev.data.sequence_start.anchor;
	else if (l->ev.type == YAML_MAPPING_START_EVENT)
		anchor = l->ev.data.mapping_start.anchor;
	if (anchor)
		report(l, DIAG_ERROR, l->ev.start_mark, "anchors (&%s) are not supported; write the value out",
		       QN(l, (const char *)anchor));
}

static void store_uint(void *dst, uint32_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)dst = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)dst = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)dst = (uint32_t)v;
		break;
	default:
		*(uint64_t *)dst = v;
	}
}

void load_store_uint(void *dst, uint32_t size, uint64_t v)
{
	store_uint(dst, size, v);
}

/* Decimal or 0x hexadecimal, no sign, no spaces. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return false;
		if (v > (max - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	*ret = v;
	return true;
}

/* Looks like a number (decimal, or hex after 0x), whatever its size. */
static bool all_digits(const char *s)
{
	bool hex = false;

	if (*s == '-' || *s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2]) {
		hex = true;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++)
		if (!(*s >= '0' && *s <= '9') &&
		    !(hex && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))))
			return false;
	return true;
}

static void enum_choices(const cyaml_schema_value_t *s, struct strbuf *b)
{
	for (uint32_t i = 0; i < s->enumeration.count; i++)
		strbuf_addf(b, "%s%s", i ? (i + 1 == s->enumeration.count ? " or " : ", ") : "",
			    s->enumeration.strings[i].str);
}

/* A scalar into a scalar-typed destination. */
static int load_scalar(struct loader *l, const cyaml_schema_value_t *s, void *dst)
{
	const char *v = (const char *)l->ev.data.scalar.value;
	size_t len = l->ev.data.scalar.length;

	/* "\0" in a double-quoted scalar: C would read a shorter string
	 * ("web\0evil" as "web", "TCP\0x" as TCP), so it is refused. */
	if (strlen(v) != len) {
		report(l, DIAG_ERROR, l->ev.start_mark, "a NUL character (\\0) is not allowed in a value");
		return 0;
	}
	switch (s->type) {
	case CYAML_STRING: {
		char *p;

		/* A selector expression's key, as a label key, may carry
		 * Cilium's source prefix k8s:, which means nothing more. */
		if (l->depth >= 3 && l->path[l->depth - 1].key && streq(l->path[l->depth - 1].key, "key") &&
		    l->path[l->depth - 3].key && streq(l->path[l->depth - 3].key, "matchExpressions")) {
			v = sl_k8s_strip(v);
			len = strlen(v);
		}
		p = arena_strndup(&l->ld->arena, v, len);
		if (!p)
			return -ENOMEM;
		*(char **)dst = p;
		return 0;
	}
	case CYAML_UINT: {
		uint64_t max = s->data_size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * s->data_size)) - 1, n;

		if (!parse_uint(v, max, &n)) {
			if (*v == '-' && all_digits(v))
				report(l, DIAG_ERROR, l->ev.start_mark, "%s is negative; a whole number >= 0 is expected",
				       QN(l, v));
			else if (all_digits(v))
				report(l, DIAG_ERROR, l->ev.start_mark, "%s is too large (at most %" PRIu64 ")", QN(l, v),
				       max);
			else if (l->depth && l->path[l->depth - 1].key && streq(l->path[l->depth - 1].key, "port"))
				report(l, DIAG_ERROR, l->ev.start_mark,
				       "%s is not a port number; named ports are not supported (sluice's endpoints "
				       "declare no ports by name): write the number",
				       Q(l, v));
			else
				report(l, DIAG_ERROR, l->ev.start_mark, "%s is not a whole number", Q(l, v));
			return 0;
		}
		store_uint(dst, s->data_size, n);
		return 0;
	}
	case CYAML_INT: {
		bool neg = *v == '-';
		uint64_t n, max = s->data_size >= 8 ? INT64_MAX : (UINT64_C(1) << (8 * s->data_size - 1)) - 1;

		if (!parse_uint(v + neg, max + neg, &n)) {
			report(l, DIAG_ERROR, l->ev.start_mark, "%s is not a whole number in range", Q(l, v));
			return 0;
		}
		store_uint(dst, s->data_size, neg ? (uint64_t)(-(int64_t)(n - 1) - 1) : n);
		return 0;
	}
	case CYAML_BOOL:
		if (streq(v, "true") || streq(v, "True") || streq(v, "TRUE"))
			*(bool *)dst = true;
		else if (streq(v, "false") || streq(v, "False") || streq(v, "FALSE"))
			*(bool *)dst = false;
		else
			report(l, DIAG_ERROR, l->ev.start_mark, "%s is not a boolean (true or false)", Q(l, v));
		return 0;
	case CYAML_ENUM: {
		struct strbuf choices = {};

		for (uint32_t i = 0; i < s->enumeration.count; i++) {
			if (streq(v, s->enumeration.strings[i].str)) {
				store_uint(dst, s->data_size, (uint64_t)s->enumeration.strings[i].val);
				return 0;
			}
		}
		enum_choices(s, &choices);
		report(l, DIAG_ERROR, l->ev.start_mark, "%s is not one of %s", Q(l, v), strbuf_str(&choices));
		strbuf_free(&choices);
		return 0;
	}
	default:
		report(l, DIAG_ERROR, l->ev.start_mark, "internal: no loader for this type");
		return 0;
	}
}

static int load_value(struct loader *l, const cyaml_schema_field_t *field, const cyaml_schema_value_t *s,
		      void *dst);

/* Edit distance, for "did you mean". */
static unsigned distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= ARRAY_SIZE(row) || lb >= ARRAY_SIZE(row))
		return UINT_MAX;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned up = row[j], cost = a[i - 1] == b[j - 1] ? 0 : 1, best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void unknown_key(struct loader *l, const cyaml_schema_field_t *fields, const char *key)
{
	const char *best = NULL, *parent = NULL, *why;
	unsigned best_d = UINT_MAX;
	struct strbuf valid = {};

	for (unsigned i = l->depth; i > 0 && !parent; i--)
		parent = l->path[i - 1].key;
	why = sl_k8s_refused_key(key, parent);

	if (why) {
		/* Cilium's, and not carried out here: refused by name. */
		report(l, DIAG_ERROR, l->ev.start_mark, "%s is not supported by sluice: %s", Q(l, key), why);
		return;
	}
	for (const cyaml_schema_field_t *f = fields; f->key; f++) {
		unsigned d = distance(key, f->key);

		if (strcasecmp(key, f->key) == 0)
			d = 0;
		if (d < best_d) {
			best_d = d;
			best = f->key;
		}
		strbuf_addf(&valid, "%s%s", f == fields ? "" : ", ", f->key);
	}
	if (best && best_d <= 2 + strlen(key) / 6)
		report(l, DIAG_ERROR, l->ev.start_mark, "unknown key %s (did you mean '%s'?)", Q(l, key), best);
	else
		report(l, DIAG_ERROR, l->ev.start_mark, "unknown key %s (known here: %s)", Q(l, key),
		       strbuf_str(&valid));
	strbuf_free(&valid);
}

static const struct sl_named_list *named_list(const cyaml_schema_value_t *entry)
{
	for (unsigned i = 0; i < sl_n_named_lists; i++)
		if (sl_named_lists[i].entry == entry)
			return &sl_named_lists[i];
	return NULL;
}


/* Rename path segment "prefix[i]" to "prefix[name]" in the diagnostics
 * reported since `from`. */
static void rename_item(struct loader *l, size_t from, const char *indexed, const char *named)
{
	struct diag_list *dl = &l->ld->diags;
	size_t il = strlen(indexed);

	for (size_t i = from; i < dl->n; i++) {
		char *p = dl->v[i].path, *np;

		if (strncmp(p, indexed, il) != 0 || (p[il] && p[il] != '.' && p[il] != '['))
			continue;
		if (asprintf(&np, "%s%s", named, p + il) < 0)
			continue;
		free(p);
		dl->v[i].path = np;
	}
}

/* A YAML mapping into the struct at base, which starts with SL_MARKS. */
static int load_mapping(struct loader *l, const cyaml_schema_value_t *s, void *base)
{
	const cyaml_schema_field_t *fields = s->mapping.fields;
	struct sl_mark *marks = base;
	uint64_t seen = 0;
	yaml_mark_t start = l->ev.start_mark;
	struct sl_mark key_marks[64];
	unsigned nf = 0;
	int r;

	marks[0] = mark_of(start);
	while (fields[nf].key)
		nf++;
	for (;;) {
		const cyaml_schema_field_t *f = NULL;
		const char *key;
		unsigned i;

		if (next(l) < 0)
			return -1;
		if (l->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (l->ev.type != YAML_SCALAR_EVENT) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a key must be a plain word, found %s",
			       event_kind(&l->ev));
			if (skip_node(l) < 0 || next(l) < 0 || skip_node(l) < 0)
				return -1;
			continue;
		}
		key = (const char *)l->ev.data.scalar.value;
		if (strlen(key) != l->ev.data.scalar.length) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a NUL character (\\0) is not allowed in a key");
			if (next(l) < 0 || skip_node(l) < 0)
				return -1;
			continue;
		}
		for (i = 0; i < nf; i++) {
			if (streq(fields[i].key, key)) {
				f = &fields[i];
				break;
			}
		}
		if (!f) {
			unknown_key(l, fields, key);
			if (next(l) < 0 || skip_node(l) < 0)
				return -1;
			continue;
		}
		push_key(l, f->key);
		if (seen & (UINT64_C(1) << i)) {
			report(l, DIAG_ERROR, l->ev.start_mark, "duplicate key (first given at line %u)",
			       key_marks[i].line);
			pop(l);
			if (next(l) < 0 || skip_node(l) < 0)
				return -1;
			continue;
		}
		seen |= UINT64_C(1) << i;
		key_marks[i] = mark_of(l->ev.start_mark);
		if (next(l) < 0)
			return -1;
		if (f->value.type == CYAML_IGNORE) {
			/* Read, and of no meaning here (a server's metadata). */
			marks[1 + i] = mark_of(l->ev.start_mark);
			if (skip_node(l) < 0)
				return -1;
			pop(l);
			continue;
		}
		if (is_null(&l->ev)) {
			if (!(f->value.flags & CYAML_FLAG_OPTIONAL))
				report(l, DIAG_ERROR, l->ev.start_mark, "a value is required");
			else if (f->value.type == CYAML_SEQUENCE && sl_schema_presence_matters(f))
				report(l, DIAG_WARNING, l->ev.start_mark,
				       "null is the same as leaving '%s' out; write '%s: []' to select with no rule",
				       f->key, f->key);
		} else {
			/* The value's own position: diagnostics point at it. */
			struct sl_mark vm = mark_of(l->ev.start_mark);
			size_t errors = l->ld->diags.n_errors;

			r = load_value(l, f, &f->value, (char *)base + f->data_offset);
			if (r < 0)
				return r;
			if (l->ld->diags.n_errors != errors)
				vm.col = 0; /* given, but refused: see SL_GIVEN */
			marks[1 + i] = vm;
		}
		pop(l);
	}
	for (unsigned i = 0; i < nf; i++) {
		if (fields[i].value.flags & CYAML_FLAG_OPTIONAL || (seen & (UINT64_C(1) << i)))
			continue;
		report(l, DIAG_ERROR, start, "missing required key '%s'", fields[i].key);
		if (grow_array((void **)&l->missing, &l->cap_missing, l->n_missing + 1, sizeof(*l->missing)) >= 0)
			l->missing[l->n_missing++] = (struct missing){ l->ld->diags.n - 1,
								       (uint32_t)l->ev.start_mark.line };
	}
	return 0;
}

/* A YAML mapping of strings into a sequence of struct sl_label. */
static int load_labels(struct loader *l, const cyaml_schema_field_t *field, void *dst)
{
	struct sl_label *v = NULL;
	size_t n = 0, cap = 0;

	if (l->ev.type != YAML_MAPPING_START_EVENT) {
		report(l, DIAG_ERROR, l->ev.start_mark, "expected a mapping of labels (key: value), found %s",
		       event_kind(&l->ev));
		return skip_node(l);
	}
	for (;;) {
		struct sl_label lab = {};
		bool i_dup = false;
		const char *key;

		if (next(l) < 0)
			goto fail;
		if (l->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (l->ev.type != YAML_SCALAR_EVENT) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a label key must be a string, found %s",
			       event_kind(&l->ev));
			if (skip_node(l) < 0 || next(l) < 0 || skip_node(l) < 0)
				goto fail;
			continue;
		}
		key = (const char *)l->ev.data.scalar.value;
		if (strlen(key) != l->ev.data.scalar.length) {
			/* C would read "app\0x" as "app": refused, not cut. */
			report(l, DIAG_ERROR, l->ev.start_mark, "a NUL character (\\0) is not allowed in a label key");
			if (next(l) < 0 || skip_node(l) < 0)
				goto fail;
			continue;
		}
		lab.m[0] = lab.m[1] = mark_of(l->ev.start_mark);
		/* Cilium's source prefix k8s: means what the key means without it. */
		lab.key = arena_strndup(&l->ld->arena, sl_k8s_strip(key), strlen(sl_k8s_strip(key)));
		if (!lab.key)
			goto fail;
		push_key(l, lab.key);
		for (size_t i = 0; i < n; i++) {
			if (streq(v[i].key, lab.key)) {
				report(l, DIAG_ERROR, l->ev.start_mark, "duplicate label key (first given at line %u)",
				       v[i].m[1].line);
				i_dup = true;
				break;
			}
		}
		if (next(l) < 0)
			goto fail;
		if (l->ev.type != YAML_SCALAR_EVENT || is_null(&l->ev)) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a label value must be a string%s, found %s",
			       is_null(&l->ev) ? " (write \"\" for an empty value)" : "",
			       is_null(&l->ev) ? "null" : event_kind(&l->ev));
			if (skip_node(l) < 0)
				goto fail;
			pop(l);
			continue;
		}
		if (strlen((const char *)l->ev.data.scalar.value) != l->ev.data.scalar.length) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a NUL character (\\0) is not allowed in a label value");
			pop(l);
			continue;
		}
		lab.m[2] = mark_of(l->ev.start_mark);
		lab.value = arena_strndup(&l->ld->arena, (const char *)l->ev.data.scalar.value,
					  l->ev.data.scalar.length);
		if (!lab.value)
			goto fail;
		pop(l);
		if (i_dup)
			continue;
		if (n == cap) {
			struct sl_label *nv = realloc(v, (cap = cap ? cap * 2 : 4) * sizeof(*v));

			if (!nv)
				goto fail;
			v = nv;
		}
		v[n++] = lab;
	}
	*(struct sl_label **)dst = v;
	store_uint((char *)dst - field->data_offset + field->count_offset, field->count_size, n);
	return 0;
fail:
	free(v);
	return -1;
}

/* The item just loaded reported something: write its name instead of its
 * index into those reports' paths. */
static void name_item(struct loader *l, const struct sl_named_list *named, const cyaml_schema_value_t *entry,
		      const char *elem, size_t diags_before)
{
	const cyaml_schema_field_t *nf = &entry->mapping.fields[named->name_field];
	const struct sl_mark *em = (const struct sl_mark *)elem;
	struct strbuf indexed = {}, renamed = {};
	char name[32];
	const char *nm = NULL;

	if (!SL_MARK_OK(&em[1 + named->name_field]))
		return;
	if (nf->value.type == CYAML_STRING && diag_path_name_ok(*(char *const *)(elem + nf->data_offset))) {
		nm = *(char *const *)(elem + nf->data_offset);
	} else if (nf->value.type == CYAML_UINT && (!secret(l) || *(const uint32_t *)(elem + nf->data_offset) < 10000)) {
		/* (an SPI of more than 4 digits may be key material) */
		snprintf(name, sizeof(name), "%" PRIu32, *(const uint32_t *)(elem + nf->data_offset));
		nm = name;
	}
	if (!nm)
		return;
	format_path(l, l->depth, &indexed);
	format_path(l, l->depth - 1, &renamed);
	strbuf_addf(&renamed, "[%s]", nm);
	rename_item(l, diags_before, strbuf_str(&indexed), strbuf_str(&renamed));
	strbuf_free(&indexed);
	strbuf_free(&renamed);
}

static int load_sequence(struct loader *l, const cyaml_schema_field_t *field, void *dst)
{
	const cyaml_schema_value_t *entry = field->value.sequence.entry;
	const struct sl_named_list *named = named_list(entry);
	bool scalars = sl_schema_is_scalar_seq(field);
	size_t esize = entry->flags & CYAML_FLAG_POINTER && entry->type == CYAML_STRING ? sizeof(char *)
										       : entry->data_size;
	char *v = NULL;
	struct sl_mark *mv = NULL;
	size_t n = 0, started = 0, cap = 0, mcap = 0;
	char *base = (char *)dst - field->data_offset;

	if (entry == &sl_schema_label_entry)
		return load_labels(l, field, dst);
	if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
		report(l, DIAG_ERROR, l->ev.start_mark, "expected a list, found %s", event_kind(&l->ev));
		return skip_node(l);
	}
	for (;;) {
		size_t diags_before = l->ld->diags.n, errors;
		char *elem;

		if (next(l) < 0)
			goto fail;
		if (l->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		push_index(l, n);
		if (is_null(&l->ev)) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a list item may not be null");
			pop(l);
			continue;
		}
		if (entry->type == CYAML_MAPPING && l->ev.type != YAML_MAPPING_START_EVENT) {
			/* Nothing of it can be kept: report it, and keep no
			 * empty item for later checks to trip over. */
			if (l->ev.type == YAML_ALIAS_EVENT)
				alias_refused(l);
			else
				report(l, DIAG_ERROR, l->ev.start_mark, "expected %s, found %s", type_name(entry),
				       event_kind(&l->ev));
			if (skip_node(l) < 0)
				goto fail;
			pop(l);
			continue;
		}
		if (grow_array((void **)&v, &cap, n + 1, esize) < 0)
			goto fail;
		elem = v + n * esize;
		memset(elem, 0, esize);
		started = n + 1;
		if (scalars) {
			if (grow_array((void **)&mv, &mcap, n + 1, sizeof(*mv)) < 0)
				goto fail;
			mv[n] = mark_of(l->ev.start_mark);
		}
		errors = l->ld->diags.n_errors;
		if (load_value(l, NULL, entry, elem) < 0)
			goto fail;
		if (scalars && l->ld->diags.n_errors != errors)
			mv[n].col = 0;
		if (named && l->ld->diags.n > diags_before)
			name_item(l, named, entry, elem, diags_before);
		n++;
		pop(l);
	}
	/* Give back the growth slack: large states keep these for long. */
	if (n && n < cap) {
		char *fit = realloc(v, n * esize);

		if (fit)
			v = fit;
		if (mv && (fit = realloc(mv, n * sizeof(*mv))))
			mv = (struct sl_mark *)fit;
	}
	*(char **)dst = v;
	store_uint(base + field->count_offset, field->count_size, n);
	if (scalars)
		*(struct sl_mark **)(base + sl_schema_marks_offset(field)) = mv;
	else
		free(mv);
	return 0;
fail:
	/* Elements loaded so far are released by the caller's cleanup of
	 * whatever was stored; here only the arrays not yet stored. */
	for (size_t i = 0; i < started && entry->type == CYAML_MAPPING; i++)
		sl_schema_free_mapping(entry, v + i * esize);
	free(v);
	free(mv);
	return -1;
}

/* The node whose first event is current into dst, as schema s says. field is
 * the mapping field that holds it (NULL for sequence entries). On return the
 * node's last event is current. */
static int load_value(struct loader *l, const cyaml_schema_field_t *field, const cyaml_schema_value_t *s,
		      void *dst)
{
	if (l->ev.type == YAML_ALIAS_EVENT)
		return alias_refused(l);
	anchor_refused(l);
	switch (s->type) {
	case CYAML_MAPPING: {
		void *obj = dst;
		int r;

		if (l->ev.type != YAML_MAPPING_START_EVENT) {
			report(l, DIAG_ERROR, l->ev.start_mark, "expected %s, found %s", type_name(s),
			       event_kind(&l->ev));
			return skip_node(l);
		}
		if (s->flags & CYAML_FLAG_POINTER) {
			obj = calloc(1, s->data_size);
			if (!obj)
				return -ENOMEM;
			*(void **)dst = obj;
		}
		r = load_mapping(l, s, obj);
		return r;
	}
	case CYAML_SEQUENCE:
		return load_sequence(l, field, dst);
	default:
		if (l->ev.type != YAML_SCALAR_EVENT) {
			report(l, DIAG_ERROR, l->ev.start_mark, "expected %s, found %s", type_name(s),
			       event_kind(&l->ev));
			return skip_node(l);
		}
		return load_scalar(l, s, dst);
	}
}

int load_add_doc(struct sl_load *ld, struct sl_doc *doc, const char *file)
{
	if (grow_array((void **)&ld->docs, &ld->cap_docs, ld->n_docs + 1, sizeof(*ld->docs)) < 0)
		return -ENOMEM;
	ld->docs[ld->n_docs++] = (struct sl_loaded_doc){ .doc = doc, .file = file };
	return 0;
}

int load_add_file(struct sl_load *ld, const char *file, const char *dir)
{
	const char *d;

	if (grow_array((void **)&ld->files, &ld->cap_files, ld->n_files + 1, sizeof(*ld->files)) < 0)
		return -ENOMEM;
	ld->file_dirs = realloc(ld->file_dirs, ld->cap_files * sizeof(*ld->file_dirs));
	if (!ld->file_dirs)
		return -ENOMEM;
	d = arena_strndup(&ld->arena, dir, strlen(dir));
	if (!d)
		return -ENOMEM;
	ld->files[ld->n_files] = file;
	ld->file_dirs[ld->n_files] = d;
	ld->n_files++;
	return 0;
}

/* A scalar value of a Kubernetes object's key (apiVersion, kind): the
 * current event; NULL, reported, if it is not one. */
static const char *k8s_scalar(struct loader *l)
{
	if (l->ev.type != YAML_SCALAR_EVENT || is_null(&l->ev) ||
	    strlen((const char *)l->ev.data.scalar.value) != l->ev.data.scalar.length) {
		report(l, DIAG_ERROR, l->ev.start_mark, "expected a string, found %s",
		       l->ev.type == YAML_SCALAR_EVENT && !is_null(&l->ev) ? "a string with a NUL character"
									    : event_kind(&l->ev));
		skip_node(l);
		return NULL;
	}
	return arena_strndup(&l->ld->arena, (const char *)l->ev.data.scalar.value, l->ev.data.scalar.length);
}

static int load_k8s_object(struct loader *l, yaml_mark_t start, struct sl_doc *doc);

/* The items of a List, whose SEQUENCE_START is current. */
static int load_k8s_items(struct loader *l, struct sl_doc *doc)
{
	if (l->ev.type != YAML_SEQUENCE_START_EVENT) {
		report(l, DIAG_ERROR, l->ev.start_mark, "expected a list of objects, found %s", event_kind(&l->ev));
		return skip_node(l);
	}
	for (size_t i = 0;; i++) {
		int r;

		if (next(l) < 0)
			return -1;
		if (l->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		push_index(l, i);
		if (l->ev.type != YAML_MAPPING_START_EVENT) {
			report(l, DIAG_ERROR, l->ev.start_mark, "expected an object (apiVersion, kind...), found %s",
			       event_kind(&l->ev));
			if (skip_node(l) < 0)
				return -1;
		} else if ((r = load_k8s_object(l, l->ev.start_mark, doc)) < 0) {
			return r;
		}
		pop(l);
	}
}

/*
 * A Kubernetes or Cilium object whose MAPPING_START is current (or, at the
 * top of a document, was: its first key is pushed back): apiVersion, kind,
 * metadata and spec (specs for Cilium's, items for a List), read with the
 * schema its kind gives, then made into policies of doc (k8s.c). The kind
 * decides how spec is read, so it comes first, as every manifest has it.
 */
static int load_k8s_object(struct loader *l, yaml_mark_t start, struct sl_doc *doc)
{
	static const char *const keys[] = { "apiVersion", "kind", "metadata", "spec", "specs", "items", "status" };
	struct sl_k8s_obj o = { .at = mark_of(start) };
	struct strbuf where = {};
	struct sl_mark seen[ARRAY_SIZE(keys)] = {};
	int r = 0;

	for (;;) {
		const char *key;
		unsigned k;

		if (next(l) < 0) {
			r = -1;
			goto out;
		}
		if (l->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (l->ev.type != YAML_SCALAR_EVENT) {
			report(l, DIAG_ERROR, l->ev.start_mark, "a key must be a plain word, found %s",
			       event_kind(&l->ev));
			if (skip_node(l) < 0 || next(l) < 0 || skip_node(l) < 0) {
				r = -1;
				goto out;
			}
			continue;
		}
		key = (const char *)l->ev.data.scalar.value;
		for (k = 0; k < ARRAY_SIZE(keys) && !streq(keys[k], key); k++)
			;
		if (k == ARRAY_SIZE(keys)) {
			report(l, DIAG_ERROR, l->ev.start_mark,
			       "unknown key %s (a Kubernetes object here has apiVersion, kind, metadata and spec)",
			       Q(l, key));
			if (next(l) < 0 || skip_node(l) < 0) {
				r = -1;
				goto out;
			}
			continue;
		}
		push_key(l, keys[k]);
		if (seen[k].line) {
			report(l, DIAG_ERROR, l->ev.start_mark, "duplicate key (first given at line %u)", seen[k].line);
			if (next(l) < 0 || skip_node(l) < 0) {
				r = -1;
				goto out;
			}
			pop(l);
			continue;
		}
		seen[k] = mark_of(l->ev.start_mark);
		if (next(l) < 0) {
			r = -1;
			goto out;
		}
		if (k == 0 || k == 1) {
			const char *v = k8s_scalar(l);

			*(k ? &o.kind : &o.api_version) = v;
			*(k ? &o.kind_m : &o.api_m) = v ? mark_of(l->ev.start_mark) : (struct sl_mark){};
			if (v)
				o.kind_id = sl_k8s_kind_of(o.kind);
		} else if (k == 2) {
			r = load_value(l, NULL, &sl_schema_k8s_meta, &o.meta);
		} else if (k == 6) {
			r = skip_node(l); /* what a server reports, not what is asked */
		} else if (!o.kind) {
			report(l, DIAG_ERROR, l->ev.start_mark,
			       "'kind' must be given before '%s' (the kind says how to read it)", keys[k]);
			r = skip_node(l);
		} else if (k == 3 && o.kind_id == SL_K8S_NP) {
			o.spec_m = mark_of(l->ev.start_mark);
			r = load_value(l, NULL, &sl_schema_np_spec, &o.np);
		} else if (k == 3 && (o.kind_id == SL_K8S_CNP || o.kind_id == SL_K8S_CCNP)) {
			o.spec_m = mark_of(l->ev.start_mark);
			r = load_value(l, NULL, &sl_schema_cnp_spec, &o.spec);
		} else if (k == 4 && (o.kind_id == SL_K8S_CNP || o.kind_id == SL_K8S_CCNP)) {
			const cyaml_schema_field_t *f = &sl_schema_cnp_specs.mapping.fields[SL_CNPSPECS_LIST];

			o.specs_m = mark_of(l->ev.start_mark);
			r = load_sequence(l, f, (char *)&o.specs + f->data_offset);
		} else if (k == 5 && o.kind_id == SL_K8S_LIST) {
			r = load_k8s_items(l, doc);
		} else {
			/* Not this kind's (or a kind not read here: said once, below). */
			if (o.kind_id != SL_K8S_UNKNOWN)
				report(l, DIAG_ERROR, l->ev.start_mark, "a %s has no '%s'", o.kind, keys[k]);
			r = skip_node(l);
		}
		pop(l);
		if (r < 0)
			goto out;
	}
	/* What k8s.c reports is at this object's place in the document. */
	format_path(l, l->depth, &where);
	o.path = strbuf_str(&where);
	o.file = l->file;
	r = sl_k8s_convert(&l->ld->diags, &l->ld->arena, &o, doc);
out:
	sl_k8s_obj_free(&o);
	strbuf_free(&where);
	return r;
}

/* One YAML document whose DOCUMENT_START is current. */
static int load_document(struct loader *l)
{
	struct sl_doc *doc;
	size_t diags_before = l->ld->diags.n;
	yaml_mark_t start;
	int r;

	if (next(l) < 0)
		return -1;
	start = l->ev.start_mark;
	if (l->ev.type != YAML_MAPPING_START_EVENT) {
		if (l->ev.type == YAML_SCALAR_EVENT && is_null(&l->ev)) {
			/* An empty document, as after a trailing '---', says
			 * nothing; a file of nothing but those is refused below. */
			if (next(l) < 0)
				return -1;
			return 1;
		}
		else
			report(l, DIAG_ERROR, start,
			       "a state document is a mapping that starts with 'version: 1', found %s",
			       event_kind(&l->ev));
		if (skip_node(l) < 0)
			return -1;
		return next(l); /* DOCUMENT_END */
	}
	doc = calloc(1, sizeof(*doc));
	if (!doc)
		return -ENOMEM;
	/* The first key tells a Kubernetes or Cilium document (apiVersion,
	 * kind) from a sluice one (version). */
	if (next(l) < 0) {
		free(doc);
		return -1;
	}
	l->pushback = true;
	if (l->ev.type == YAML_SCALAR_EVENT && sl_k8s_first_key((const char *)l->ev.data.scalar.value))
		r = load_k8s_object(l, start, doc);
	else if ((r = load_mapping(l, &sl_schema_doc, doc)) >= 0 && SL_HAS(doc, SL_DOC_VERSION) &&
		 doc->version != 1) {
		/* Another version's format is not ours to judge: drop what we
		 * said about the rest of this document. */
		struct diag_list *dl = &l->ld->diags;
		struct sl_mark *vm = SL_AT(doc, SL_DOC_VERSION);

		while (dl->n > diags_before) {
			struct diag *d = &dl->v[--dl->n];

			if (d->severity == DIAG_ERROR)
				dl->n_errors--;
			else
				dl->n_warnings--;
			free(d->path);
			free(d->message);
		}
		diag_add(dl, DIAG_ERROR, l->file, vm->line, vm->col, "version",
			 "version %" PRIu32 " is not supported (supported versions: 1)", doc->version);
	}
	if (r >= 0)
		r = load_add_doc(l->ld, doc, l->file);
	if (r < 0) {
		sl_schema_free_mapping(&sl_schema_doc, doc);
		free(doc);
		return r;
	}
	return next(l); /* DOCUMENT_END */
}

/* Parse what the parser was given as the file `name`. */
static int load_stream(struct sl_load *ld, struct loader *l, const char *name, const char *dir)
{
	size_t docs = 0;
	int r = 0;

	ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
	l->ld = ld;
	l->errors_before = ld->diags.n_errors;
	l->file = diag_file(&ld->diags, name);
	if (!l->file || load_add_file(ld, l->file, dir) < 0)
		return -ENOMEM;
	if (next(l) < 0 || l->ev.type != YAML_STREAM_START_EVENT)
		goto out;
	for (;;) {
		if (next(l) < 0)
			break;
		if (l->ev.type == YAML_STREAM_END_EVENT)
			break;
		r = load_document(l);
		if (r < 0)
			break;
		if (r == 0)
			docs++;
		r = 0;
	}
	if (!l->fatal && r >= 0 && docs == 0)
		diag_add(&ld->diags, DIAG_ERROR, l->file, 1, 1, "version",
			 "the file is empty; every state file starts with 'version: 1'");
out:
	if (l->fatal && l->parser.error != YAML_NO_ERROR) {
		for (size_t i = l->n_missing; i > 0; i--)
			if (l->missing[i - 1].end_line >= l->stop_line)
				diag_remove(&ld->diags, l->missing[i - 1].diag);
	}
	free(l->missing);
	if (l->have_ev)
		yaml_event_delete(&l->ev);
	yaml_parser_delete(&l->parser);
	return r == -ENOMEM ? r : 0;
}

/* Parse buf as the file `name` (its bytes are not added to the digest). */
int load_parse_buffer(struct sl_load *ld, const char *name, const char *dir, const char *buf, size_t len)
{
	struct loader l = {};

	if (!yaml_parser_initialize(&l.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)buf, len);
	return load_stream(ld, &l, name, dir);
}

/* Parse the stream `in` reads (its limit set) as the file `name`. */
int load_parse_stream(struct sl_load *ld, const char *name, const char *dir, struct stream_in *in)
{
	struct loader l = {};

	if (!yaml_parser_initialize(&l.parser))
		return -ENOMEM;
	l.in = in;
	yaml_parser_set_input(&l.parser, load_read_stream, in);
	return load_stream(ld, &l, name, dir);
}

int sl_load_buffer(struct sl_load *ld, const char *name, const char *dir, const char *buf, size_t len)
{
	int r = 0;

	if (load_fits(ld, diag_file(&ld->diags, name), len)) {
		r = load_parse_buffer(ld, name, dir, buf, len);
		ld->bytes_read += len;
	} else {
		ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
	}
	if (!ld->no_digest)
		load_digest_fold(ld, fnv1a64(FNV1A64_INIT, buf, len));
	return r;
}

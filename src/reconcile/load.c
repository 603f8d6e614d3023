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
#include "load.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "schema.h"

struct loader {
	struct sl_load *ld;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
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

/* A stream being read (a file, standard input, a FIFO): at most `limit`
 * bytes, each added to the load's digest on the way. */
struct stream_in {
	FILE *f;
	struct sl_load *ld;
	size_t limit, total;
	bool total_limit; /* the limit is what is left of the state's, not the file's */
	bool over;	  /* there was more than limit: reading stopped */
	bool reported;
	int err;	  /* a read failed: its errno */
};

static size_t file_max(const struct sl_load *ld)
{
	return ld->max_file_bytes ? ld->max_file_bytes : SL_LOAD_FILE_MAX;
}

static size_t total_max(const struct sl_load *ld)
{
	return ld->max_total_bytes ? ld->max_total_bytes : SL_LOAD_TOTAL_MAX;
}

/* "64 MiB", or bytes when the limit is no whole number of MiB. */
static const char *size_text(size_t n, char buf[32])
{
	if (n && n % ((size_t)1 << 20) == 0)
		snprintf(buf, 32, "%zu MiB", n >> 20);
	else
		snprintf(buf, 32, "%zu bytes", n);
	return buf;
}

/* How much more a file may hold: its own limit, or what is left of the
 * state's when that is less. */
static void stream_limit(const struct sl_load *ld, struct stream_in *in)
{
	size_t left = total_max(ld) > ld->bytes_read ? total_max(ld) - ld->bytes_read : 0;

	in->limit = file_max(ld);
	in->total_limit = left < in->limit;
	if (in->total_limit)
		in->limit = left;
}

/* A file over a limit: `size` is its size when known before reading (0:
 * found while reading, which then stopped). */
static void too_large(struct sl_load *ld, const char *file, bool total, size_t size)
{
	char lim[32], what[64] = "reading stopped there";

	if (size)
		snprintf(what, sizeof(what), "the file (%zu bytes) is not read", size);
	if (total)
		diag_add(&ld->diags, DIAG_ERROR, file, 0, 0, "(file)",
			 "the state's files hold more than %s together, the most a state may hold; %s",
			 size_text(total_max(ld), lim), what);
	else
		diag_add(&ld->diags, DIAG_ERROR, file, 0, 0, "(file)",
			 "the file holds more than %s, the most a state file may hold; %s", size_text(file_max(ld), lim),
			 what);
}

/* Why a stream stopped before its end: once. */
static void stream_stopped(struct stream_in *in, const char *file)
{
	if (in->reported)
		return;
	in->reported = true;
	if (in->over)
		too_large(in->ld, file, in->total_limit, 0);
	else if (in->err)
		diag_add(&in->ld->diags, DIAG_ERROR, file, 0, 0, "(file)", "error while reading: %s",
			 strerror(in->err));
}

/* libyaml's read handler (1: fine, *size_read 0 at the end; 0: stop). */
static int read_stream(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct stream_in *in = data;
	size_t n;

	*size_read = 0;
	if (in->over || in->err)
		return 0;
	n = fread(buf, 1, size, in->f);
	if (ferror(in->f)) {
		in->err = errno ? errno : EIO;
		return 0;
	}
	in->ld->digest = fnv1a64(in->ld->digest, buf, n);
	in->total += n;
	if (in->total > in->limit) {
		in->over = true;
		return 0;
	}
	*size_read = n;
	return 1;
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
			stream_stopped(l->in, l->file);
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
	const char *best = NULL;
	unsigned best_d = UINT_MAX;
	struct strbuf valid = {};

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
		lab.key = arena_strndup(&l->ld->arena, key, l->ev.data.scalar.length);
		if (!lab.key)
			goto fail;
		push_key(l, lab.key);
		for (size_t i = 0; i < n; i++) {
			if (streq(v[i].key, key)) {
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

static int add_doc(struct sl_load *ld, struct sl_doc *doc, const char *file)
{
	if (grow_array((void **)&ld->docs, &ld->cap_docs, ld->n_docs + 1, sizeof(*ld->docs)) < 0)
		return -ENOMEM;
	ld->docs[ld->n_docs++] = (struct sl_loaded_doc){ .doc = doc, .file = file };
	return 0;
}

static int add_file(struct sl_load *ld, const char *file, const char *dir)
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
	r = load_mapping(l, &sl_schema_doc, doc);
	if (r >= 0 && SL_HAS(doc, SL_DOC_VERSION) && doc->version != 1) {
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
		r = add_doc(l->ld, doc, l->file);
	if (r < 0) {
		sl_schema_free_mapping(&sl_schema_doc, doc);
		free(doc);
		return r;
	}
	return next(l); /* DOCUMENT_END */
}

/* A file that could not be read still counts in the digest, by its error. */
static void digest_error(struct sl_load *ld, const char *name, int err)
{
	ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
	ld->digest = fnv1a64(ld->digest, &err, sizeof(err));
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
	if (!l->file || add_file(ld, l->file, dir) < 0)
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
static int parse_buffer(struct sl_load *ld, const char *name, const char *dir, const char *buf, size_t len)
{
	struct loader l = {};

	if (!yaml_parser_initialize(&l.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)buf, len);
	return load_stream(ld, &l, name, dir);
}

/* Whether a file of `size` bytes fits the limits; if not, says so. */
static bool fits(struct sl_load *ld, const char *file, size_t size)
{
	struct stream_in in = { .ld = ld };

	stream_limit(ld, &in);
	if (size <= in.limit)
		return true;
	too_large(ld, file, in.total_limit, size);
	return false;
}

int sl_load_buffer(struct sl_load *ld, const char *name, const char *dir, const char *buf, size_t len)
{
	int r = 0;

	if (fits(ld, diag_file(&ld->diags, name), len)) {
		r = parse_buffer(ld, name, dir, buf, len);
		ld->bytes_read += len;
	} else {
		ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
	}
	ld->digest = fnv1a64(ld->digest, buf, len);
	return r;
}

/* Read a file as a stream: a large state is never held twice. `regular`:
 * a regular file, whose bytes after a parse that stopped early are read for
 * the digest too (a stream, such as standard input, is left as it is). */
static int load_fd(struct sl_load *ld, int fd, const char *name, const char *dir, bool regular)
{
	struct loader l = {};
	FILE *f = fdopen(fd, "r");
	struct stream_in in = { .f = f, .ld = ld };
	int r;

	if (!f) {
		close(fd);
		return -errno;
	}
	if (!yaml_parser_initialize(&l.parser)) {
		fclose(f);
		return -ENOMEM;
	}
	stream_limit(ld, &in);
	l.in = &in;
	yaml_parser_set_input(&l.parser, read_stream, &in);
	r = load_stream(ld, &l, name, dir);
	/* A parse that stopped early (a syntax error) has not read all of the
	 * file: the rest counts in the digest too, so that equal digests mean
	 * equal bytes; never more than the limit. */
	if (r >= 0 && regular && !in.over && !in.err) {
		unsigned char rest[4096];
		size_t n;

		while (!in.over && (n = fread(rest, 1, sizeof(rest), f)) > 0) {
			ld->digest = fnv1a64(ld->digest, rest, n);
			in.total += n;
			in.over = in.total > in.limit;
		}
		if (ferror(f))
			in.err = errno ? errno : EIO;
		explicit_bzero(rest, sizeof(rest));
	}
	if (r >= 0 && (in.over || in.err))
		stream_stopped(&in, diag_file(&ld->diags, name));
	ld->bytes_read += in.total;
	fclose(f);
	return r;
}

/* ---- the cache of parsed files (sl_load_cache) ----
 *
 * A file is parsed alone into an sl_load of its own (its documents not
 * merged, its diagnostics numbered from 0), which the cache keeps with the
 * bytes it was parsed from. A load that reads the same bytes again copies
 * that file's documents into its own memory and its diagnostics into its
 * own list, renumbered from where they would have started: what the load
 * gets is what parsing the file there would have given it, and the merge
 * (sl_load_finish) may take the copies apart as it does parsed documents.
 */

struct sl_cached_file {
	char *name;	      /* the file as the diagnostics name it */
	unsigned char *bytes; /* what was parsed */
	size_t len;
	bool have_digest;
	uint64_t digest_in, digest_out; /* a load's digest before and after these bytes (and the name) */
	struct sl_load parsed;		/* its documents, unmerged, and its diagnostics */
	bool used;			/* read by the current load */
};

static size_t seq_entry_size(const cyaml_schema_value_t *e)
{
	return e->flags & CYAML_FLAG_POINTER && e->type == CYAML_STRING ? sizeof(char *) : e->data_size;
}

static void wipe_str(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

/* Overwrite every string the mapping at obj points to (they live in an
 * arena, which is freed without being wiped). */
static void wipe_mapping(const cyaml_schema_value_t *s, void *obj)
{
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
		char *p = (char *)obj + f->data_offset;

		if (f->value.type == CYAML_STRING) {
			wipe_str(*(char **)p);
		} else if (f->value.type == CYAML_MAPPING) {
			void *sub = f->value.flags & CYAML_FLAG_POINTER ? *(void **)p : p;

			if (sub)
				wipe_mapping(&f->value, sub);
		} else if (f->value.type == CYAML_SEQUENCE) {
			const cyaml_schema_value_t *e = f->value.sequence.entry;
			char *arr = *(char **)p;
			uint64_t n = sl_schema_load_count((char *)obj + f->count_offset, f->count_size);

			for (uint64_t i = 0; arr && i < n; i++) {
				if (e->type == CYAML_MAPPING)
					wipe_mapping(e, arr + i * e->data_size);
				else if (e->type == CYAML_STRING)
					wipe_str(((char **)arr)[i]);
			}
		}
	}
}

/* Make the struct at obj (a byte copy of another) own nothing yet, so that
 * sl_schema_free_mapping may free it whatever point a copy failed at. */
static void detach_mapping(const cyaml_schema_value_t *s, void *obj)
{
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
		char *p = (char *)obj + f->data_offset;

		if (f->value.type == CYAML_STRING) {
			*(char **)p = NULL;
		} else if (f->value.type == CYAML_MAPPING) {
			if (f->value.flags & CYAML_FLAG_POINTER)
				*(void **)p = NULL;
			else
				detach_mapping(&f->value, p);
		} else if (f->value.type == CYAML_SEQUENCE) {
			*(char **)p = NULL;
			if (sl_schema_is_scalar_seq(f))
				*(void **)((char *)obj + sl_schema_marks_offset(f)) = NULL;
		}
	}
}

static int copy_str(char **dst, const char *src, struct arena *a)
{
	if (!src)
		return 0;
	*dst = arena_strndup(a, src, strlen(src));
	return *dst ? 0 : -ENOMEM;
}

static int copy_mapping(const cyaml_schema_value_t *s, void *dst, const void *src, struct arena *a);

/* Copy the sequence of field f from the struct at src to the one at dst,
 * which is detached. */
static int copy_sequence(const cyaml_schema_field_t *f, char *dst, const char *src, struct arena *a)
{
	const cyaml_schema_value_t *e = f->value.sequence.entry;
	size_t esize = seq_entry_size(e);
	const char *from = *(char *const *)(src + f->data_offset);
	uint64_t n = sl_schema_load_count(src + f->count_offset, f->count_size);
	char *to;

	if (!from || !n)
		return 0;
	to = malloc(n * esize);
	if (!to)
		return -ENOMEM;
	*(char **)(dst + f->data_offset) = to;
	if (e->type == CYAML_MAPPING) {
		for (uint64_t i = 0; i < n; i++) {
			int r = copy_mapping(e, to + i * esize, from + i * esize, a);

			if (r < 0) {
				/* Free what item i has; the list ends before it. */
				sl_schema_free_mapping(e, to + i * esize);
				store_uint(dst + f->count_offset, f->count_size, i);
				return r;
			}
		}
	} else if (e->type == CYAML_STRING) {
		memset(to, 0, n * esize);
		for (uint64_t i = 0; i < n; i++)
			if (copy_str(&((char **)to)[i], ((char *const *)from)[i], a) < 0)
				return -ENOMEM;
	} else {
		memcpy(to, from, n * esize);
	}
	if (sl_schema_is_scalar_seq(f)) {
		const struct sl_mark *fm = *(struct sl_mark *const *)(src + sl_schema_marks_offset(f));
		struct sl_mark *tm;

		if (fm) {
			tm = malloc(n * sizeof(*tm));
			if (!tm)
				return -ENOMEM;
			memcpy(tm, fm, n * sizeof(*tm));
			*(struct sl_mark **)(dst + sl_schema_marks_offset(f)) = tm;
		}
	}
	return 0;
}

/* Deep copy of a loaded mapping, its strings into arena a. On failure dst
 * owns only what was copied: free it with sl_schema_free_mapping. */
static int copy_mapping(const cyaml_schema_value_t *s, void *dst, const void *src, struct arena *a)
{
	int r = 0;

	memcpy(dst, src, s->data_size);
	detach_mapping(s, dst);
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key && r >= 0; f++) {
		char *d = (char *)dst + f->data_offset;
		const char *p = (const char *)src + f->data_offset;

		if (f->value.type == CYAML_STRING) {
			r = copy_str((char **)d, *(char *const *)p, a);
		} else if (f->value.type == CYAML_MAPPING && !(f->value.flags & CYAML_FLAG_POINTER)) {
			r = copy_mapping(&f->value, d, p, a);
		} else if (f->value.type == CYAML_MAPPING) {
			const void *sub = *(void *const *)p;
			void *copy;

			if (!sub)
				continue;
			copy = malloc(f->value.data_size);
			if (!copy)
				return -ENOMEM;
			*(void **)d = copy;
			r = copy_mapping(&f->value, copy, sub, a);
		} else if (f->value.type == CYAML_SEQUENCE) {
			r = copy_sequence(f, dst, src, a);
		}
	}
	return r;
}

static void wipe_free(void *p, size_t len)
{
	if (p)
		explicit_bzero(p, len);
	free(p);
}

/* Free what one cached file holds, wiping it first. */
static void cached_file_clear(struct sl_cached_file *cf)
{
	struct sl_load *p = &cf->parsed;

	for (size_t i = 0; i < p->n_docs; i++)
		wipe_mapping(&sl_schema_doc, p->docs[i].doc);
	for (size_t i = 0; i < p->diags.n; i++) {
		wipe_str(p->diags.v[i].path);
		wipe_str(p->diags.v[i].message);
	}
	sl_load_free(p);
	wipe_free(cf->bytes, cf->len);
	cf->bytes = NULL;
	cf->len = 0;
	cf->have_digest = false;
}

void sl_load_cache_free(struct sl_load_cache *c)
{
	for (size_t i = 0; i < c->n_files; i++) {
		cached_file_clear(&c->files[i]);
		free(c->files[i].name);
	}
	free(c->files);
	*c = (struct sl_load_cache){};
}

static struct sl_cached_file *cache_find(struct sl_load_cache *c, const char *name)
{
	for (size_t k = 0; k < c->n_files; k++) {
		size_t i = (c->next + k) % c->n_files;

		if (streq(c->files[i].name, name)) {
			c->next = i + 1;
			return &c->files[i];
		}
	}
	return NULL;
}

/* Parse bytes (taken: kept or wiped) as the file `name` into the cache. */
static int cache_parse(struct sl_load_cache *c, const char *name, unsigned char *bytes, size_t len,
		       struct sl_cached_file **ret)
{
	struct sl_load parsed = {};
	struct sl_cached_file *cf = cache_find(c, name);
	int r;

	r = parse_buffer(&parsed, name, ".", (const char *)bytes, len);
	if (r >= 0 && parsed.diags.out_of_memory)
		r = -ENOMEM;
	if (r >= 0 && !cf) {
		char *copy = strdup(name);

		if (!copy || grow_array((void **)&c->files, &c->cap_files, c->n_files + 1, sizeof(*c->files)) < 0) {
			free(copy);
			r = -ENOMEM;
		} else {
			cf = &c->files[c->n_files++];
			*cf = (struct sl_cached_file){ .name = copy };
		}
	}
	if (r < 0) {
		struct sl_cached_file tmp = { .parsed = parsed, .bytes = bytes, .len = len };

		cached_file_clear(&tmp);
		return r;
	}
	cached_file_clear(cf);
	cf->parsed = parsed;
	cf->bytes = bytes;
	cf->len = len;
	*ret = cf;
	return 0;
}

/* Read all of fd into *ret (and its length into *ret_len), also when a
 * read fails part way: then what was read and -errno; -EFBIG when there is
 * more than max bytes (max + 1 are read). Buffers outgrown are wiped. */
static int read_all(int fd, size_t size_hint, size_t max, unsigned char **ret, size_t *ret_len)
{
	size_t cap = size_hint + 1 > 4096 ? size_hint + 1 : 4096, len = 0;
	unsigned char *buf = malloc(cap);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			unsigned char *bigger = malloc(cap * 2);

			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			memcpy(bigger, buf, len);
			wipe_free(buf, len);
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			break;
		}
	}
	*ret = buf;
	*ret_len = len;
	return r;
}

/* Copy what the cache holds for a file into ld, as if it had been parsed
 * there as `file` (interned in ld->diags). */
static int cache_replay(struct sl_load *ld, const struct sl_cached_file *cf, const char *file)
{
	const struct sl_load *p = &cf->parsed;
	size_t base = ld->diags.n;

	for (size_t i = 0; i < p->diags.n; i++) {
		const struct diag *d = &p->diags.v[i];
		size_t n = ld->diags.n;

		diag_add(&ld->diags, d->severity, file, d->line, d->col, d->path, "%s", d->message);
		if (ld->diags.n > n)
			ld->diags.v[n].seq = base + d->seq;
	}
	for (size_t i = 0; i < p->n_docs; i++) {
		struct sl_doc *doc = malloc(sizeof(*doc));
		int r;

		if (!doc)
			return -ENOMEM;
		r = copy_mapping(&sl_schema_doc, doc, p->docs[i].doc, &ld->arena);
		if (r >= 0)
			r = add_doc(ld, doc, file);
		if (r < 0) {
			sl_schema_free_mapping(&sl_schema_doc, doc);
			free(doc);
			return r;
		}
	}
	return 0;
}

/* load_fd with a cache: read the whole file, parse it only if its bytes
 * are not the ones the cache parsed last. */
static int load_fd_cached(struct sl_load *ld, struct sl_load_cache *c, int fd, size_t size, const char *name,
			  const char *dir)
{
	struct sl_cached_file *cf = NULL;
	struct stream_in in = { .ld = ld };
	unsigned char *bytes = NULL;
	const char *file;
	size_t len = 0;
	uint64_t h;
	int r;

	stream_limit(ld, &in);
	r = read_all(fd, size, in.limit, &bytes, &len);
	close(fd);
	if (r == -ENOMEM) {
		wipe_free(bytes, len);
		return r;
	}
	if (r == -EFBIG) {
		/* As the stream reader: refused, counted in the digest. */
		ld->bytes_read += len;
		ld->digest = fnv1a64(ld->digest, name, strlen(name) + 1);
		ld->digest = fnv1a64(ld->digest, bytes, len);
		wipe_free(bytes, len);
		in.over = true;
		stream_stopped(&in, diag_file(&ld->diags, name));
		return 0;
	}
	if (r < 0) {
		/* As the stream reader: what could be read, then the error. */
		int rr = bytes ? sl_load_buffer(ld, name, dir, (const char *)bytes, len) : r;

		wipe_free(bytes, len);
		if (rr < 0)
			return rr;
		diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, name), 0, 0, "(file)",
			 "error while reading: %s", strerror(-r));
		return 0;
	}
	ld->bytes_read += len;
	cf = cache_find(c, name);
	if (cf && cf->len == len && memcmp(cf->bytes, bytes, len) == 0) {
		wipe_free(bytes, len);
		c->reused++;
	} else {
		r = cache_parse(c, name, bytes, len, &cf);
		if (r < 0)
			return r;
		c->parsed++;
	}
	cf->used = true;
	h = fnv1a64(ld->digest, name, strlen(name) + 1);
	if (!cf->have_digest || cf->digest_in != h) {
		cf->digest_in = h;
		cf->digest_out = fnv1a64(h, cf->bytes, cf->len);
		cf->have_digest = true;
	}
	ld->digest = cf->digest_out;
	file = diag_file(&ld->diags, name);
	if (!file || add_file(ld, file, dir) < 0)
		return -ENOMEM;
	return cache_replay(ld, cf, file);
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "of another kind";
}

static void cannot_read(struct sl_load *ld, const char *display, int r, const char *fmt, ...) _printf_(4, 5);
static void cannot_read(struct sl_load *ld, const char *display, int r, const char *fmt, ...)
{
	_cleanup_free_ char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	digest_error(ld, display, r);
	diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, display), 0, 0, "(file)", "%s",
		 why ? why : "cannot read");
}

/*
 * One file: standard input ("-"), a PATH (dirfd AT_FDCWD), or an entry of a
 * directory. An entry is opened without blocking and must be a regular
 * file (a FIFO there would stall the read of the directory); a PATH may be
 * a stream, read as standard input is, up to the limit.
 */
static int load_file(struct sl_load *ld, struct sl_load_cache *cache, const char *display, const char *dir,
		     int dirfd, const char *name, bool entry)
{
	bool in = streq(display, "-");
	int fd = in ? dup(STDIN_FILENO)
		    : openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | (entry ? O_NONBLOCK : 0));
	struct stat st;

	if (fd < 0) {
		int r = -errno;
		struct stat lst;
		char target[256];
		ssize_t tl;

		if (entry && r == -ENOENT && fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(lst.st_mode) && (tl = readlinkat(dirfd, name, target, sizeof(target) - 1)) >= 0) {
			target[tl] = '\0';
			cannot_read(ld, display, r, "cannot read: a symbolic link to %s, which does not exist",
				    diag_q(target));
		} else {
			cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		}
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		return 0;
	}
	if (S_ISDIR(st.st_mode) || (entry && !S_ISREG(st.st_mode))) {
		int r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;

		close(fd);
		if (entry)
			cannot_read(ld, display, r,
				    "not a regular file (%s): the *.yaml and *.yml entries of a directory are read "
				    "as state files and must be regular files or symbolic links to them",
				    file_kind(st.st_mode));
		else
			cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		return 0;
	}
	if (entry && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		cannot_read(ld, display, r, "cannot read: %s", strerror(-r));
		return 0;
	}
	if (S_ISREG(st.st_mode) && !fits(ld, diag_file(&ld->diags, display), (size_t)st.st_size)) {
		close(fd);
		digest_error(ld, display, -EFBIG);
		return 0;
	}
	if (cache && !in)
		return load_fd_cached(ld, cache, fd, (size_t)st.st_size, display, dir);
	return load_fd(ld, fd, display, dir, S_ISREG(st.st_mode) && !in);
}

bool sl_state_file_name(const char *n)
{
	size_t len = strlen(n);

	if (n[0] == '.' || n[len - 1] == '~')
		return false;
	if (len > 4 && (streq(n + len - 4, ".swp") || streq(n + len - 4, ".tmp")))
		return false;
	return (len > 5 && streq(n + len - 5, ".yaml")) || (len > 4 && streq(n + len - 4, ".yml"));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct sl_load *ld, struct sl_load_cache *cache, const char *path)
{
	DIR *d = opendir(path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		digest_error(ld, path, r);
		diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, path), 0, 0, "(file)", "cannot read: %s",
			 strerror(-r));
		return 0;
	}
	while ((de = readdir(d))) {
		/* Symlinks are followed; what they point at must be a file,
		 * which load_file checks (anything else is reported). */
		if (!sl_state_file_name(de->d_name))
			continue;
		if (grow_array((void **)&names, &cap, n + 1, sizeof(*names)) < 0 ||
		    !(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *display = NULL;
		size_t pl = strlen(path);

		if (asprintf(&display, "%s%s%s", path, pl && path[pl - 1] == '/' ? "" : "/", names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = load_file(ld, cache, display, path, dirfd(d), names[i], true);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int load_paths(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths)
{
	for (size_t i = 0; i < n_paths; i++) {
		const char *p = paths[i];
		struct stat st;
		int r;

		if (streq(p, "-")) {
			r = load_file(ld, cache, "-", ".", AT_FDCWD, NULL, false);
		} else if (stat(p, &st) < 0) {
			r = -errno;
			digest_error(ld, p, r);
			diag_add(&ld->diags, DIAG_ERROR, diag_file(&ld->diags, p), 0, 0, "(file)", "cannot read: %s",
				 strerror(-r));
			r = 0;
		} else if (S_ISDIR(st.st_mode)) {
			r = load_dir(ld, cache, p);
		} else {
			_cleanup_free_ char *dir = strdup(p);
			char *slash;

			if (!dir)
				return -ENOMEM;
			slash = strrchr(dir, '/');
			if (slash)
				slash[slash == dir ? 1 : 0] = '\0';
			r = load_file(ld, cache, p, slash ? dir : ".", AT_FDCWD, p, false);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int sl_load_paths(struct sl_load *ld, char *const *paths, size_t n_paths)
{
	return load_paths(ld, NULL, paths, n_paths);
}

int sl_load_paths_cached(struct sl_load *ld, struct sl_load_cache *cache, char *const *paths, size_t n_paths)
{
	size_t kept = 0;
	int r;

	if (!cache)
		return load_paths(ld, NULL, paths, n_paths);
	cache->parsed = cache->reused = 0;
	cache->next = 0;
	r = load_paths(ld, cache, paths, n_paths);
	/* What this load did not read (a file removed or renamed) goes. */
	for (size_t i = 0; i < cache->n_files; i++) {
		struct sl_cached_file *cf = &cache->files[i];

		if (!cf->used) {
			cached_file_clear(cf);
			free(cf->name);
			continue;
		}
		cf->used = false;
		cache->files[kept++] = *cf;
	}
	cache->n_files = kept;
	cache->next = 0;
	return r;
}

/* Append a document's list to the state's, recording each item's file. */
#define APPEND(st, list, count, d, file)                                                               \
	({                                                                                             \
		int _r = 0;                                                                            \
		if ((d)->count) {                                                                      \
			/* The first list is taken as it is; later ones are appended. */         \
			__typeof__((st)->list) _v = !(st)->list ? (d)->list :                          \
				realloc((st)->list, ((st)->count + (d)->count) * sizeof(*(st)->list)); \
			if (!_v) {                                                                     \
				_r = -ENOMEM;                                                          \
			} else {                                                                       \
				if (_v != (d)->list)                                                   \
					memcpy(_v + (st)->count, (d)->list, (d)->count * sizeof(*_v)); \
				for (uint32_t _i = 0; _i < (d)->count; _i++)                           \
				{                                                                      \
					_v[(st)->count + _i].file = (file);                            \
					_v[(st)->count + _i].doc_index = _i;                           \
				}                                                                      \
				(st)->list = _v;                                                       \
				(st)->count += (d)->count;                                             \
				if (_v != (d)->list)                                                   \
					free((d)->list);                                               \
				(d)->list = NULL;                                                      \
				(d)->count = 0;                                                        \
			}                                                                              \
		}                                                                                      \
		_r;                                                                                    \
	})

/* Take a singleton section, or report that it was given twice. */
static void take_singleton(struct sl_load *ld, void **dst, struct sl_origin *origin, void **src,
			   const struct sl_mark *mark, const char *file, const char *section)
{
	if (!*src)
		return;
	if (*dst) {
		diag_add(&ld->diags, DIAG_ERROR, file, mark->line, mark->col, section,
			 "given again; '%s' was first given at %s:%u:%u, and a state has one, in one file", section,
			 origin->file, origin->mark.line, origin->mark.col);
		return;
	}
	*dst = *src;
	*src = NULL;
	*origin = (struct sl_origin){ .file = file, .mark = *mark };
}

static void fill_defaults(struct sl_state *st)
{
	struct sl_datapath *dp = st->datapath;

	if (!SL_HAS(dp, SL_DP_VXLAN_PORT))
		dp->vxlan_port = SL_VXLAN_PORT_DEFAULT;
	for (unsigned i = 0; i < SL_MAP__MAX; i++)
		if (!SL_HAS(dp->map_sizes, i))
			dp->map_sizes->size[i] = sl_map_size_default[i];
	for (uint32_t i = 0; i < st->n_services; i++) {
		struct sl_service *svc = &st->services[i];

		if (!svc->frontend)
			continue;
		if (!SL_HAS(svc->frontend, SL_FE_PROTOCOL))
			svc->frontend->protocol = SL_PROTO_TCP;
		for (uint32_t j = 0; j < svc->n_backends; j++) {
			struct sl_backend *be = &svc->backends[j];

			if (!SL_HAS(be, SL_BE_PORT))
				be->port = svc->frontend->port;
			if (!SL_HAS(be, SL_BE_WEIGHT))
				be->weight = 1;
		}
	}
	for (uint32_t i = 0; st->encryption && i < st->encryption->n_keys; i++) {
		struct sl_key *k = &st->encryption->keys[i];

		if (!SL_HAS(k, SL_KEY_ICV_BITS))
			k->icv_bits = SL_ICV_BITS_DEFAULT;
	}
}

int sl_load_finish(struct sl_load *ld)
{
	struct sl_state *st = &ld->state;
	int r = 0;

	for (size_t i = 0; i < ld->n_docs; i++) {
		struct sl_doc *d = ld->docs[i].doc;
		const char *file = ld->docs[i].file;

		take_singleton(ld, (void **)&st->node, &st->node_origin, (void **)&d->node, SL_AT(d, SL_DOC_NODE), file,
			       "node");
		take_singleton(ld, (void **)&st->datapath, &st->datapath_origin, (void **)&d->datapath,
			       SL_AT(d, SL_DOC_DATAPATH), file, "datapath");
		take_singleton(ld, (void **)&st->prefilter, &st->prefilter_origin, (void **)&d->prefilter,
			       SL_AT(d, SL_DOC_PREFILTER), file, "prefilter");
		take_singleton(ld, (void **)&st->encryption, &st->encryption_origin, (void **)&d->encryption,
			       SL_AT(d, SL_DOC_ENCRYPTION), file, "encryption");
		if (r >= 0)
			r = APPEND(st, nodes, n_nodes, d, file);
		if (r >= 0)
			r = APPEND(st, identities, n_identities, d, file);
		if (r >= 0)
			r = APPEND(st, endpoints, n_endpoints, d, file);
		if (r >= 0)
			r = APPEND(st, policies, n_policies, d, file);
		if (r >= 0)
			r = APPEND(st, services, n_services, d, file);
		for (uint32_t k = 0; st->encryption && k < st->encryption->n_keys; k++) {
			st->encryption->keys[k].file = st->encryption_origin.file;
			st->encryption->keys[k].doc_index = k;
		}
		sl_schema_free_mapping(&sl_schema_doc, d);
		free(d);
		ld->docs[i].doc = NULL;
	}
	free(ld->docs);
	ld->docs = NULL;
	ld->n_docs = ld->cap_docs = 0;
	if (r < 0)
		return r;
	if (!st->datapath && !(st->datapath = calloc(1, sizeof(*st->datapath))))
		return -ENOMEM;
	if (!st->datapath->map_sizes && !(st->datapath->map_sizes = calloc(1, sizeof(*st->datapath->map_sizes))))
		return -ENOMEM;
	fill_defaults(st);
	return 0;
}

/* The state as one big mapping, to free it with the schema walker. */
static void free_list(const cyaml_schema_value_t *doc_schema, unsigned field, void *list, uint32_t n)
{
	struct sl_doc d = {};
	const cyaml_schema_field_t *f = &doc_schema->mapping.fields[field];

	*(void **)((char *)&d + f->data_offset) = list;
	*(uint32_t *)((char *)&d + f->count_offset) = n;
	sl_schema_free_mapping(doc_schema, &d);
}

void sl_load_free(struct sl_load *ld)
{
	struct sl_state *st = &ld->state;
	struct sl_doc d = {
		.datapath = st->datapath,
		.prefilter = st->prefilter,
		.encryption = st->encryption,
	};

	for (size_t i = 0; i < ld->n_docs; i++) {
		sl_schema_free_mapping(&sl_schema_doc, ld->docs[i].doc);
		free(ld->docs[i].doc);
	}
	free(ld->docs);
	sl_schema_free_mapping(&sl_schema_doc, &d);
	free_list(&sl_schema_doc, SL_DOC_NODES, st->nodes, st->n_nodes);
	free_list(&sl_schema_doc, SL_DOC_IDENTITIES, st->identities, st->n_identities);
	free_list(&sl_schema_doc, SL_DOC_ENDPOINTS, st->endpoints, st->n_endpoints);
	free_list(&sl_schema_doc, SL_DOC_POLICIES, st->policies, st->n_policies);
	free_list(&sl_schema_doc, SL_DOC_SERVICES, st->services, st->n_services);
	diag_list_free(&ld->diags);
	arena_free(&ld->arena);
	free(ld->files);
	free(ld->file_dirs);
	memset(ld, 0, sizeof(*ld));
}

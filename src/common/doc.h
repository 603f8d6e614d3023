/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A document (maps, sequences, scalars) built once as a tree and rendered
 * as YAML or as JSON: one emitter for every structured output (show,
 * status, monitor), so that quoting and escaping are written once.
 *
 * Building never fails half-way for the caller: the first error (-ENOMEM,
 * or -EINVAL for a misuse such as a map member without a key) is kept in
 * the document, every later call is a no-op that returns NULL, and the
 * renderers return that error. Keys and strings are copied.
 *
 * YAML: maps and sequences in block style (or flow style, on one line,
 * when built with DOC_FLOW); a string is written plain when YAML reads it
 * back as this very string, else as a double-quoted string with JSON's
 * escapes (valid YAML). Comments go at the top of the document.
 * JSON: pretty (two spaces a level, DOC_FLOW collections on one line) or
 * compact (no whitespace at all); comments are left out.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "strbuf.h"
#include "util.h"

struct doc_node;

enum doc_style {
	DOC_BLOCK, /* YAML: one member or item a line; JSON pretty: likewise */
	DOC_FLOW,  /* on one line: YAML {a: 1, b: [x, y]}, JSON {"a": 1, ...} */
	DOC_STYLE__MAX
};

enum doc_json {
	DOC_JSON_PRETTY,
	DOC_JSON_COMPACT,
	DOC_JSON__MAX
};

struct doc {
	struct arena arena;
	struct doc_node *root; /* a map */
	struct strbuf comments; /* one line each, escaped */
	int err;		/* the first error, or 0 */
};

/* A document with an empty map as root. Returns 0 or -ENOMEM (kept in
 * d->err too, so that the renderers report it). */
int doc_init(struct doc *d);
void doc_free(struct doc *d);

static inline struct doc_node *doc_root(const struct doc *d)
{
	return d->root;
}

/*
 * Add a member (parent is a map: key is its name) or an item (parent is
 * a sequence: key must be NULL) to parent. parent NULL (a failed add
 * before) is a no-op. doc_map and doc_seq return the new collection, or
 * NULL after an error.
 */
struct doc_node *doc_map(struct doc *d, struct doc_node *parent, const char *key, enum doc_style style);
struct doc_node *doc_seq(struct doc *d, struct doc_node *parent, const char *key, enum doc_style style);
void doc_str(struct doc *d, struct doc_node *parent, const char *key, const char *v);
void doc_strf(struct doc *d, struct doc_node *parent, const char *key, const char *fmt, ...) _printf_(4, 5);
void doc_u64(struct doc *d, struct doc_node *parent, const char *key, uint64_t v);
void doc_i64(struct doc *d, struct doc_node *parent, const char *key, int64_t v);
void doc_bool(struct doc *d, struct doc_node *parent, const char *key, bool v);

/* A comment at the top of the YAML document, "# " and text, one line for
 * each line of text; escaped as strbuf_add_escaped does, so that no byte
 * of text ends the comment. JSON has none. */
void doc_comment(struct doc *d, const char *text);

/* Append the document to out: YAML, or JSON followed by a newline.
 * Returns 0, or the document's error, or -ENOMEM, or -EINVAL. */
int doc_yaml(const struct doc *d, struct strbuf *out);
int doc_json(const struct doc *d, enum doc_json style, struct strbuf *out);

/* SPDX-License-Identifier: Apache-2.0 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *diag_file(struct diag_list *l, const char *name)
{
	char *copy;

	for (size_t i = l->n_files; i > 0; i--)
		if (strcmp(l->files[i - 1], name) == 0)
			return l->files[i - 1];
	if (grow_array((void **)&l->files, &l->cap_files, l->n_files + 1, sizeof(*l->files)) < 0)
		return NULL;
	copy = strdup(name);
	if (!copy)
		return NULL;
	l->files[l->n_files++] = copy;
	return copy;
}

void diag_vadd(struct diag_list *l, enum diag_severity sev, const char *file, uint32_t line, uint32_t col,
	       const char *path, const char *fmt, va_list ap)
{
	struct diag *d;
	char *msg = NULL;

	if (grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0 || vasprintf(&msg, fmt, ap) < 0) {
		l->out_of_memory = true;
		return;
	}
	d = &l->v[l->n];
	*d = (struct diag){
		.file = file,
		.line = line,
		.col = col,
		.severity = sev,
		.path = strdup(path && *path ? path : "(document)"),
		.message = msg,
		.seq = l->n,
	};
	if (!d->path) {
		free(msg);
		l->out_of_memory = true;
		return;
	}
	l->n++;
	if (sev == DIAG_ERROR)
		l->n_errors++;
	else
		l->n_warnings++;
}

void diag_add(struct diag_list *l, enum diag_severity sev, const char *file, uint32_t line, uint32_t col,
	      const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(l, sev, file, line, col, path, fmt, ap);
	va_end(ap);
}

static const struct diag_list *sort_list;

static size_t file_rank(const char *file)
{
	for (size_t i = 0; i < sort_list->n_files; i++)
		if (sort_list->files[i] == file)
			return i;
	return SIZE_MAX;
}

static int diag_cmp(const void *pa, const void *pb)
{
	const struct diag *a = pa, *b = pb;

	if (a->file != b->file) {
		size_t ra = file_rank(a->file), rb = file_rank(b->file);

		if (ra != rb)
			return ra < rb ? -1 : 1;
	}
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void diag_sort(struct diag_list *l)
{
	if (l->n < 2) /* qsort(NULL, 0) is undefined */
		return;
	sort_list = l;
	qsort(l->v, l->n, sizeof(*l->v), diag_cmp);
	sort_list = NULL;
}

void diag_print_text(const struct diag_list *l, FILE *out, bool color)
{
	const char *bold = color ? "\033[1m" : "", *red = color ? "\033[1;31m" : "",
		   *magenta = color ? "\033[1;35m" : "", *reset = color ? "\033[0m" : "";
	struct strbuf line = {};

	/* File names, paths and messages carry input: what a terminal would
	 * act on in them is escaped. */
	for (size_t i = 0; i < l->n; i++) {
		const struct diag *d = &l->v[i];

		strbuf_truncate(&line, 0);
		strbuf_adds(&line, bold);
		strbuf_add_escaped(&line, d->file ? d->file : "-");
		if (d->line)
			strbuf_addf(&line, ":%u:%u", d->line, d->col);
		strbuf_addf(&line, ":%s ", reset);
		if (d->severity == DIAG_WARNING)
			strbuf_addf(&line, "%swarning:%s ", magenta, reset);
		else if (color)
			strbuf_addf(&line, "%serror:%s ", red, reset);
		strbuf_add_escaped(&line, d->path);
		strbuf_adds(&line, ": ");
		strbuf_add_escaped(&line, d->message);
		strbuf_adds(&line, "\n");
		fputs(strbuf_str(&line), out);
	}
	strbuf_free(&line);
	if (l->out_of_memory)
		fprintf(out, "sluice: out of memory while collecting diagnostics; some are missing\n");
}

int diag_json(const struct diag_list *l, struct strbuf *b)
{
	int r = strbuf_adds(b, "[");

	for (size_t i = 0; r >= 0 && i < l->n; i++) {
		const struct diag *d = &l->v[i];

		r = strbuf_adds(b, i ? ",{\"file\":" : "{\"file\":");
		if (r >= 0)
			r = strbuf_add_json_str(b, d->file ? d->file : "-");
		if (r >= 0)
			r = strbuf_addf(b, ",\"line\":%u,\"column\":%u,\"path\":", d->line, d->col);
		if (r >= 0)
			r = strbuf_add_json_str(b, d->path);
		if (r >= 0)
			r = strbuf_addf(b, ",\"severity\":\"%s\",\"message\":",
					d->severity == DIAG_WARNING ? "warning" : "error");
		if (r >= 0)
			r = strbuf_add_json_str(b, d->message);
		if (r >= 0)
			r = strbuf_adds(b, "}");
	}
	return r < 0 ? r : strbuf_adds(b, "]");
}

void diag_remove(struct diag_list *l, size_t i)
{
	if (i >= l->n)
		return;
	if (l->v[i].severity == DIAG_ERROR)
		l->n_errors--;
	else
		l->n_warnings--;
	free(l->v[i].path);
	free(l->v[i].message);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

void diag_list_free(struct diag_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].message);
	}
	free(l->v);
	for (size_t i = 0; i < l->n_files; i++)
		free(l->files[i]);
	free(l->files);
	memset(l, 0, sizeof(*l));
}

bool diag_path_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 253)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || strchr("[]{}\"'", *s))
			return false;
	return true;
}

/* Where the first `max` characters of s end (never inside a character). */
static size_t cut_at(const char *s, size_t max, bool *cut)
{
	size_t i = 0, chars = 0;

	while (s[i] && chars < max) {
		uint32_t cp;
		int n = utf8_decode(s + i, &cp);

		i += n ? (size_t)n : 1;
		chars++;
	}
	*cut = s[i] != '\0';
	return i;
}

const char *diag_quote(const char *s, size_t max, unsigned flags)
{
	/* Up to 4 bytes a character, quotes, "..." and " (N bytes)". */
	static _Thread_local char ring[8][DIAG_QUOTE_PATH_MAX * 4 + 48];
	static _Thread_local unsigned next;
	char *buf = ring[next++ % ARRAY_SIZE(ring)];
	const char *q = flags & DIAG_Q_QUOTES ? "'" : "";
	bool cut;
	size_t n;

	if (!s)
		s = "";
	if (max > DIAG_QUOTE_PATH_MAX)
		max = DIAG_QUOTE_PATH_MAX;
	n = cut_at(s, max, &cut);
	if (!cut)
		snprintf(buf, sizeof(ring[0]), "%s%s%s", q, s, q);
	else if (flags & DIAG_Q_LENGTH)
		snprintf(buf, sizeof(ring[0]), "%s%.*s...%s (%zu bytes)", q, (int)n, s, q, strlen(s));
	else
		snprintf(buf, sizeof(ring[0]), "%s%.*s...%s", q, (int)n, s, q);
	return buf;
}

int diag_path_add_key(struct strbuf *b, const char *key)
{
	bool cut;
	size_t n = cut_at(key, DIAG_QUOTE_MAX, &cut);
	int r = strbuf_add(b, key, n);

	return r < 0 || !cut ? r : strbuf_add(b, "...", 3);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Identities' labels in show: the kernel keeps each identity's labels as
 * text (sluice_id_labels, kinds/names.c); show gives them back, and
 * selects an identity in a policy by them, exactly: its labels, and for
 * every other identity whose labels include them a key that one has and
 * this one has not, DoesNotExist. An identity whose labels the kernel does
 * not have (or cut short) is shown with sluice.io/identity: ID instead.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "show_internal.h"

void show_labels_add(struct show *s, uint32_t id, const char *text, size_t len)
{
	struct slabels *l;

	if (id < SL_ID_USER_MIN || id >= SL_ID_CIDR_MIN)
		return; /* reserved and CIDR identities are shown by their own names */
	l = PUSH(s, s->labels, s->n_labels, s->cap_labels);
	if (!l)
		return;
	l->id = id;
	memset(l->text, 0, sizeof(l->text));
	memcpy(l->text, text, strnlen(text, len < sizeof(l->text) - 1 ? len : sizeof(l->text) - 1));
}

/* The labels text of an identity the kernel has whole, or NULL. */
static const char *text_of(const struct show *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_labels; i++) {
		const char *t = s->labels[i].text;
		size_t n = strlen(t);

		if (s->labels[i].id != id)
			continue;
		/* cut short: it cannot be given back */
		if (n >= SL_LABELS_LEN - 1 && n >= 3 && !strcmp(t + n - 3, "..."))
			return NULL;
		return t;
	}
	return NULL;
}

/* The value of key in a labels text ("k=v,k2=v2"), copied into buf; false
 * when the key is not there. */
static bool value_of(const char *text, const char *key, size_t klen, char *buf, size_t len)
{
	for (const char *p = text; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');

		if (!eq || (end && end < eq))
			continue;
		if ((size_t)(eq - p) == klen && !strncmp(p, key, klen)) {
			size_t vl = end ? (size_t)(end - eq - 1) : strlen(eq + 1);

			if (buf)
				snprintf(buf, len, "%.*s", (int)vl, eq + 1);
			return true;
		}
	}
	return false;
}

/* Each label of a text as key and value. */
static void each_label(struct show *s, const char *text, struct doc_node *m)
{
	for (const char *p = text; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		size_t kl, vl;

		if (!eq || (end && end < eq))
			continue;
		kl = (size_t)(eq - p);
		vl = end ? (size_t)(end - eq - 1) : strlen(eq + 1);
		doc_str(&s->doc, m, show_fmt(s, "%.*s", (int)kl, p), show_fmt(s, "%.*s", (int)vl, eq + 1));
	}
}

/* Whether every label of a is in b. */
static bool within(const char *a, const char *b)
{
	for (const char *p = a; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		char va[SL_LABELS_LEN], vb[SL_LABELS_LEN];

		if (!eq || (end && end < eq))
			return false;
		snprintf(va, sizeof(va), "%.*s", (int)(end ? (size_t)(end - eq - 1) : strlen(eq + 1)), eq + 1);
		if (!value_of(b, p, (size_t)(eq - p), vb, sizeof(vb)) || strcmp(va, vb))
			return false;
	}
	return true;
}

void show_emit_identity_labels(struct show *s, struct doc_node *identity, uint32_t id)
{
	const char *t = text_of(s, id);
	struct doc_node *m = doc_map(&s->doc, identity, "labels", DOC_FLOW);

	if (t && *t)
		each_label(s, t, m);
	else
		doc_strf(&s->doc, m, SL_SHOW_IDENTITY_LABEL, "%" PRIu32, id);
}

void show_emit_selector(struct show *s, struct doc_node *parent, const char *key, uint32_t id)
{
	struct doc_node *m = doc_map(&s->doc, parent, key, DOC_BLOCK), *x = NULL;
	const char *t = text_of(s, id);

	if (!t || !*t) {
		doc_strf(&s->doc, doc_map(&s->doc, m, "matchLabels", DOC_FLOW), SL_SHOW_IDENTITY_LABEL, "%" PRIu32, id);
		return;
	}
	each_label(s, t, doc_map(&s->doc, m, "matchLabels", DOC_FLOW));
	/* the identities these labels select too: each left out by a key of
	 * its own */
	for (size_t i = 0; i < s->n_labels; i++) {
		const char *o = text_of(s, s->labels[i].id);

		if (s->labels[i].id == id || !o || !within(t, o))
			continue;
		for (const char *p = o; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
			const char *eq = strchr(p, '=');

			if (!eq || value_of(t, p, (size_t)(eq - p), NULL, 0))
				continue;
			if (!x)
				x = doc_seq(&s->doc, m, "matchExpressions", DOC_BLOCK);
			struct doc_node *e = doc_map(&s->doc, x, NULL, DOC_FLOW);

			doc_str(&s->doc, e, "key", show_fmt(s, "%.*s", (int)(eq - p), p));
			doc_str(&s->doc, e, "operator", "DoesNotExist");
			break;
		}
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "counts.h"

#include <stdlib.h>

#include "util.h"

uint64_t counts_key(const void *p, size_t len)
{
	uint64_t h = fnv1a64(FNV1A64_INIT, p, len);

	return h ? h : 1;
}

static size_t slot_of(const struct counts *c, uint64_t key)
{
	/* the key is a hash already; mixed again for the low bits */
	uint64_t x = key * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(x ^ (x >> 31)) & (c->cap - 1);

	while (c->key[i] && c->key[i] != key)
		i = (i + 1) & (c->cap - 1);
	return i;
}

static int grow_to(struct counts *c, size_t cap)
{
	struct counts t = { .cap = cap };

	t.key = calloc(t.cap, sizeof(*t.key));
	t.n = calloc(t.cap, sizeof(*t.n));
	if (!t.key || !t.n) {
		free(t.key);
		free(t.n);
		return -1;
	}
	for (size_t i = 0; i < c->cap; i++)
		if (c->key[i] && c->n[i]) {
			size_t s = slot_of(&t, c->key[i]);

			t.key[s] = c->key[i];
			t.n[s] = c->n[i];
			t.used++;
		}
	counts_free(c);
	*c = t;
	return 0;
}

long counts_add(struct counts *c, uint64_t key, int d)
{
	size_t cap = table_cap_for(c->used + 1, c->cap), i;

	if (cap != c->cap && grow_to(c, cap) < 0)
		return -1;
	i = slot_of(c, key);
	if (!c->key[i]) {
		c->key[i] = key;
		c->used++;
	}
	c->n[i] = (uint32_t)((long)c->n[i] + d);
	return (long)c->n[i];
}

int counts_reserve(struct counts *c, size_t n)
{
	size_t cap = table_cap_for(c->used + n, c->cap);

	return cap == c->cap ? 0 : grow_to(c, cap);
}

uint32_t counts_get(const struct counts *c, uint64_t key)
{
	return c->cap ? c->n[slot_of(c, key)] : 0;
}

void counts_free(struct counts *c)
{
	free(c->key);
	free(c->n);
	*c = (struct counts){};
}

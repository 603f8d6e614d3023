/* SPDX-License-Identifier: Apache-2.0 */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

/* Chunks grow from ARENA_CHUNK_FIRST to ARENA_CHUNK_SIZE, doubling: a
 * load of one small file (watch keeps one per file) holds a few KB, not a
 * 64 KB chunk; a large load still gets 64 KB chunks after a few. */
#define ARENA_CHUNK_SIZE (64 * 1024)
#define ARENA_CHUNK_FIRST (2 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	char data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c;
	void *p;

	size = (size + 7) & ~(size_t)7;
	if (!a->head || a->used + size > a->head->size) {
		size_t step = a->next_size ? a->next_size : ARENA_CHUNK_FIRST;
		size_t csize = size > step / 4 ? size : step;

		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		if (size <= step / 4 && step < ARENA_CHUNK_SIZE)
			a->next_size = step * 2;
		if (a->head && size > step / 4) {
			/* A large block gets a chunk of its own behind the head,
			 * so the head's free space stays usable. */
			c->next = a->head->next;
			a->head->next = c;
			a->total += size;
			return c->data;
		}
		c->next = a->head;
		a->head = c;
		a->used = 0;
	}
	p = a->head->data + a->used;
	a->used += size;
	a->total += size;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *n = c->next;

		free(c);
		c = n;
	}
	a->head = NULL;
	a->used = 0;
	a->total = 0;
	a->next_size = 0;
}

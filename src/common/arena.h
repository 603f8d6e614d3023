/* SPDX-License-Identifier: Apache-2.0 */
/* A bump allocator for the many small strings of a loaded state: one free for
 * all of them, no per-string malloc header. */
#pragma once

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used;  /* bytes used in head */
	size_t total; /* bytes handed out, for statistics */
	size_t next_size; /* the next chunk's size (0: the first's) */
};

void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
void arena_free(struct arena *a);

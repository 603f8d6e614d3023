/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counts by a 64-bit key (a hash of a name, an id, a prefix): an
 * open-addressing table, for watch's indexes of what the verified set
 * holds. Keys are never removed: a count that falls to 0 keeps its slot
 * until the table grows, when only the keys counted are moved.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct counts {
	uint64_t *key; /* 0: an empty slot (counts_key never gives 0) */
	uint32_t *n;
	size_t cap, used;
};

/* A key for the table from any bytes (FNV-1a, never 0). */
uint64_t counts_key(const void *p, size_t len);
/* Add d to key's count; returns the count after, or -1 (out of memory). */
long counts_add(struct counts *c, uint64_t key, int d);
/* Room for n more keys at once (no growth by doubling on the way);
 * 0 or -1 (out of memory). */
int counts_reserve(struct counts *c, size_t n);
/* key's count (0 when not there). */
uint32_t counts_get(const struct counts *c, uint64_t key);
void counts_free(struct counts *c);

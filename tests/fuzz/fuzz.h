/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the libFuzzer harnesses of tests/fuzz/ share (docs/fuzzing.md):
 * the sanitizers' default options, the split of one input into several
 * state files, map layouts like the embedded programs', and a strict JSON
 * syntax check for what sluice prints as JSON.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reconcile/load.h"
#include "reconcile/objset.h"
#include "kinds/map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message: a broken promise (not a crash of sluice's own),
 * which libFuzzer reports as a crash with this input. */
#define FUZZ_ASSERT(cond, ...)                                                      \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                               \
			fprintf(stderr, "\n");                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

/* Where relative key files of a fuzzed state are looked for: nowhere. */
#define FUZZ_STATE_DIR "/nonexistent/sluice-fuzz"

/* A line that starts a new state file inside one input: "a.yaml", then
 * "b.yaml" and so on (at most FUZZ_MAX_FILES), so that merging across
 * files is fuzzed too. An input without it is one file. */
#define FUZZ_FILE_SEP "#--- next file\n"
#define FUZZ_MAX_FILES 8

/* Load data as up to FUZZ_MAX_FILES state files and finish the load.
 * Returns what sl_load_buffer or sl_load_finish returned. */
int fuzz_load(struct sl_load *ld, const uint8_t *data, size_t size);

/* s sorted, then each (kind, key) once into ret (the first of equal ones,
 * as a dump that repeats a key is kept), ret sorted. */
int fuzz_unique(struct sl_objset *s, struct sl_objset *ret);

/* /dev/null, for what the renderers write to a FILE. */
FILE *fuzz_devnull(void);

/* Map layouts as datapath/programs.c makes them from the embedded
 * programs (the names and sizes of today's maps). */
extern const struct sl_map_layout fuzz_layouts[];
extern const size_t fuzz_n_layouts;

/* Whether s (len bytes) is exactly one JSON value (RFC 8259), optionally
 * followed by white space; strings must be valid UTF-8. On failure, *at
 * says where it went wrong. */
bool fuzz_json_ok(const char *s, size_t len, size_t *at);

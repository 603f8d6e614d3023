/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader and the validator from bytes: an input is up to eight state
 * files (fuzz.h, FUZZ_FILE_SEP), loaded, merged and validated as `sluice
 * validate` does, then the diagnostics are sorted and rendered as text and
 * as JSON, which must be valid JSON.
 *
 * The whole input is also one file (a memfd, read by its /proc path) that
 * is loaded twice through watch's cache (sl_load_paths_cached): the second
 * load takes it from the cache, and must say exactly what the first said,
 * digest included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "reconcile/validate.h"

static void json_diags(struct sl_load *ld, struct strbuf *json)
{
	size_t at;

	diag_sort(&ld->diags);
	if (diag_json(&ld->diags, json) >= 0)
		FUZZ_ASSERT(fuzz_json_ok(strbuf_str(json), json->len, &at), "diagnostics are not JSON at byte %zu:\n%s",
			    at, strbuf_str(json));
}

static void cached(const uint8_t *data, size_t size, const struct sl_validate_opts *o)
{
	struct sl_load_cache cache = { 0 };
	struct sl_load ld[2] = { 0 };
	struct strbuf json[2] = { 0 };
	char path[64], *paths[1] = { path };
	int fd = memfd_create("state.yaml", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (int i = 0; i < 2; i++) {
		if (sl_load_paths_cached(&ld[i], &cache, paths, 1) >= 0 && sl_load_finish(&ld[i]) >= 0)
			sl_validate(&ld[i], o);
		json_diags(&ld[i], &json[i]);
	}
	FUZZ_ASSERT(cache.reused == 1 || ld[0].diags.out_of_memory, "the second load parsed again (%zu reused)",
		    cache.reused);
	FUZZ_ASSERT(ld[0].digest == ld[1].digest, "digests differ: %016llx, from the cache %016llx",
		    (unsigned long long)ld[0].digest, (unsigned long long)ld[1].digest);
	FUZZ_ASSERT(!strcmp(strbuf_str(&json[0]), strbuf_str(&json[1])),
		    "the load from the cache says other things:\n%s\n--- from the cache:\n%s", strbuf_str(&json[0]),
		    strbuf_str(&json[1]));
	for (int i = 0; i < 2; i++) {
		strbuf_free(&json[i]);
		sl_load_free(&ld[i]);
	}
	sl_load_cache_free(&cache);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_load ld = { 0 };
	/* strict or not by the input's length, so that both are fuzzed */
	struct sl_validate_opts o = { .hostname = "node-a", .strict_node = size & 1 };
	struct strbuf json = { 0 };

	if (fuzz_load(&ld, data, size) >= 0)
		sl_validate(&ld, &o);
	json_diags(&ld, &json);
	diag_print_text(&ld.diags, fuzz_devnull(), size & 2);
	strbuf_free(&json);
	sl_load_free(&ld);

	cached(data, size, &o);
	return 0;
}

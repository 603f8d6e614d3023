/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The loader and the validator from bytes: an input is up to eight state
 * files (fuzz.h, FUZZ_FILE_SEP), loaded, merged and validated as `sluice
 * validate` does, then the diagnostics are sorted and rendered as text and
 * as JSON, which must be valid JSON.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "reconcile/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_load ld = { 0 };
	/* strict or not by the input's length, so that both are fuzzed */
	struct sl_validate_opts o = { .hostname = "node-a", .strict_node = size & 1 };
	struct strbuf json = { 0 };
	size_t at;

	if (fuzz_load(&ld, data, size) >= 0)
		sl_validate(&ld, &o);
	diag_sort(&ld.diags);
	diag_print_text(&ld.diags, fuzz_devnull(), size & 2);
	if (diag_json(&ld.diags, &json) >= 0)
		FUZZ_ASSERT(fuzz_json_ok(strbuf_str(&json), json.len, &at), "diagnostics are not JSON at byte %zu:\n%s",
			    at, strbuf_str(&json));
	strbuf_free(&json);
	sl_load_free(&ld);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* sluice validate PATH...: check state files; touches no kernel object. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "cli.h"
#include "common/strbuf.h"
#include "reconcile/compile.h"
#include "reconcile/load.h"
#include "reconcile/validate.h"

static void summary(FILE *out, const char *verdict, size_t files, const struct diag_list *d)
{
	fprintf(out, "%s: %zu file%s, %zu error%s, %zu warning%s\n", verdict, files, files == 1 ? "" : "s",
		d->n_errors, d->n_errors == 1 ? "" : "s", d->n_warnings, d->n_warnings == 1 ? "" : "s");
}

int cmd_validate(const struct cli *c)
{
	struct sl_load ld = {};
	struct sl_validate_opts opts = { .node = c->node };
	char host[256] = "";
	bool valid;
	int r;

	if (c->n_args == 0) {
		fprintf(stderr, "sluice validate: give at least one PATH (a file, a directory, or - for standard input)\n");
		return 1;
	}
	if (gethostname(host, sizeof(host) - 1) == 0 && host[0])
		opts.hostname = host;
	ld.no_digest = true; /* only watch compares digests */
	r = sl_load_paths(&ld, c->args, (size_t)c->n_args);
	if (r >= 0)
		r = sl_load_finish(&ld);
	/* Meaning is checked even when the shape had errors, so that one run
	 * reports everything; the checks skip what the shape left out. */
	if (r >= 0)
		r = sl_validate(&ld, &opts);
	if (r < 0) {
		fprintf(stderr, "sluice validate: %s\n", strerror(-r));
		sl_load_free(&ld);
		return 1;
	}
	/* The capacity checks that apply makes: the entries the state
	 * compiles to, per map, against mapSizes (no kernel is read). */
	if (ld.diags.n_errors == 0) {
		struct sl_compile_result res;

		r = sl_compile_count(&ld.state, &res);
		if (r < 0) {
			fprintf(stderr, "sluice validate: compiling the state: %s\n", strerror(-r));
			sl_load_free(&ld);
			return 1;
		}
		sl_compile_check_capacity_counted(&ld.state, &res.set, res.n_policy_counted, ld.n_files ? ld.files[0] : "-",
						  &ld.diags);
		sl_compile_result_free(&res);
	}
	diag_sort(&ld.diags);
	valid = ld.diags.n_errors == 0;
	if (c->output == CLI_OUTPUT_JSON) {
		struct strbuf b = {};

		strbuf_addf(&b, "{\"formatVersion\":" SL_JSON_FORMAT_VERSION ",\"valid\":%s,\"files\":[", valid ? "true" : "false");
		for (size_t i = 0; i < ld.n_files; i++) {
			if (i)
				strbuf_adds(&b, ",");
			strbuf_add_json_str(&b, ld.files[i]);
		}
		strbuf_addf(&b, "],\"errors\":%zu,\"warnings\":%zu,\"diagnostics\":", ld.diags.n_errors,
			    ld.diags.n_warnings);
		diag_json(&ld.diags, &b);
		strbuf_adds(&b, "}\n");
		fputs(strbuf_str(&b), stdout);
		strbuf_free(&b);
	} else {
		diag_print_text(&ld.diags, stderr, c->color);
		if (!c->quiet)
			summary(valid ? stdout : stderr, valid ? "valid" : "invalid", ld.n_files, &ld.diags);
	}
	sl_load_free(&ld);
	return valid ? 0 : 1;
}

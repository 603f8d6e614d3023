/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeds for fuzz_objset: each state given is loaded, validated and compiled
 * (as fuzz_plan does) and written as a fuzz_objset input (format in
 * fuzz_objset.c): every object desired, and live too except every third,
 * with every fifth live one's last value byte changed.
 *
 *   gen-objset-seeds OUTDIR PATH[@NODE]...
 *
 * writes OUTDIR/<name of PATH>.bin. Run from the source root (docs/fuzzing.md).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "reconcile/compile.h"
#include "reconcile/keys.h"
#include "reconcile/validate.h"
#include "kinds/prog.h"

static void put(FILE *f, const struct sl_objset *s, const struct sl_obj *o, int want, int change)
{
	const uint8_t *v = obj_val(s, o);

	fputc(o->kind, f);
	fputc(want, f);
	fwrite(obj_key(s, o), 1, o->klen, f);
	if (change && o->vlen) {
		fwrite(v, 1, o->vlen - 1u, f);
		fputc(v[o->vlen - 1] ^ 1, f);
	} else {
		fwrite(v, 1, o->vlen, f);
	}
}

static int seed(const char *outdir, char *arg)
{
	char *at = strchr(arg, '@'), *paths[1] = { arg }, out[4096], why[4400];
	struct sl_validate_opts o = { .hostname = "node-a", .strict_node = true };
	struct sl_load ld = { 0 };
	struct sl_keyring keys = { 0 };
	struct sl_compile_prev prev = { .layouts = fuzz_layouts, .n_layouts = fuzz_n_layouts };
	struct sl_compile_result res;
	FILE *f;

	if (at) {
		*at = 0;
		o.node = at + 1;
	}
	if (sl_load_paths(&ld, paths, 1) < 0 || sl_load_finish(&ld) < 0 || sl_validate(&ld, &o) < 0 ||
	    ld.diags.n_errors) {
		fprintf(stderr, "gen-objset-seeds: %s: not a valid state\n", arg);
		return -EINVAL;
	}
	if (ld.state.encryption && ld.state.encryption->enabled && sl_keyring_load(&ld, &keys, why, sizeof(why)) < 0) {
		fprintf(stderr, "gen-objset-seeds: %s: %s\n", arg, why);
		return -EINVAL;
	}
	for (int i = 0; i < SL_PROG__MAX; i++)
		prev.prog_digest[i] = 0x51c0000000000000ull + (uint64_t)i;
	prev.keys = &keys;
	prev.cgroup_id = 0x5c; /* any: socketAcceleration's hooks are compiled */
	if (sl_compile(&ld.state, &prev, &res) < 0) {
		fprintf(stderr, "gen-objset-seeds: %s: compile failed\n", arg);
		return -EINVAL;
	}
	snprintf(out, sizeof(out), "%s/%s%s%s.bin", outdir, basename(arg), o.node ? "-" : "", o.node ? o.node : "");
	f = fopen(out, "w");
	if (!f) {
		perror(out);
		return -errno;
	}
	for (size_t i = 0; i < res.set.n; i++) {
		put(f, &res.set, &res.set.v[i], 1, 0);
		if (i % 3)
			put(f, &res.set, &res.set.v[i], 0, i % 5 == 0);
	}
	fclose(f);
	printf("%s: %zu objects\n", out, res.set.n);
	sl_compile_result_free(&res);
	sl_keyring_free(&keys);
	sl_load_free(&ld);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: gen-objset-seeds OUTDIR PATH[@NODE]...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (seed(argv[1], argv[i]) < 0)
			rc = 1;
	return rc;
}

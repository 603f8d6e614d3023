/* SPDX-License-Identifier: Apache-2.0 */
/* sluice show: the live state that sluice owns, as a state document. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/strbuf.h"
#include "datapath/kernel.h"
#include "reconcile/show.h"
#include "kinds/map.h"

int cmd_show(const struct cli *c)
{
	struct sl_kernel *k = NULL;
	struct sl_objset live = {};
	struct strbuf out = {}, notes = {};
	const struct sl_map_layout *layouts = NULL;
	size_t n_layouts = 0;
	int r;

	if (c->n_args) {
		fprintf(stderr, "sluice show: takes no PATH\n");
		return 1;
	}
	r = cli_observe(c, "show", &k, &live);
	if (!r) {
		sl_kernel_layouts(&layouts, &n_layouts);
		sl_show_set_cgroup_path_fn(sl_cgroup_path);
		if (sl_show_render(&live, layouts, n_layouts,
				   c->output == CLI_OUTPUT_JSON ? SL_SHOW_JSON : SL_SHOW_YAML, &out, &notes) < 0) {
			fprintf(stderr, "sluice show: out of memory\n");
			r = 1;
		} else {
			fputs(strbuf_str(&out), stdout);
			if (c->output == CLI_OUTPUT_JSON && notes.len && !c->quiet)
				fputs(strbuf_str(&notes), stderr);
		}
	}
	strbuf_free(&out);
	strbuf_free(&notes);
	objset_free(&live);
	sl_kernel_close(k);
	return r;
}


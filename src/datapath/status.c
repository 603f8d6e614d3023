/* SPDX-License-Identifier: Apache-2.0 */
/* For status: the fill of each map, the drop and metric counters. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "internal.h"
#include "kinds/map.h"

static int count_entry(void *ctx, const void *key, const void *val)
{
	(void)key;
	(void)val;
	(*(uint32_t *)ctx)++;
	return 0;
}

static void sum_counters(int fd, uint32_t n, uint64_t out[][2])
{
	int ncpu = libbpf_num_possible_cpus();
	struct sl_counter *v;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return;
	for (uint32_t i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, v) < 0)
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[i][0] += v[c].packets;
			out[i][1] += v[c].bytes;
		}
	}
	free(v);
}

int sl_kernel_status(struct sl_kernel *k, struct sl_kernel_status *st, struct sl_kerr *e)
{
	const struct sl_map_layout *l;
	size_t n;
	int r = sl_kernel_layouts(&l, &n);

	memset(st, 0, sizeof(*st));
	if (r >= 0 && !k->maps_open)
		r = kernel_open_maps(k, e);
	if (r < 0)
		return r;
	st->maps = calloc(n, sizeof(*st->maps));
	if (!st->maps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		struct sl_map_fill *f;

		if (k->map_fd[i] < 0 || bpf_obj_get_info_by_fd(k->map_fd[i], &info, &len) < 0)
			continue;
		f = &st->maps[st->n_maps++];
		snprintf(f->name, sizeof(f->name), "%s", l[i].name);
		f->type = info.type;
		f->max_entries = info.max_entries;
		/* the datapath's own tables: no kind's entries are in them */
		f->runtime = sl_kind_by_map(l[i].name) < 0;
		if (info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
			f->entries = info.max_entries;
		else if (info.type != BPF_MAP_TYPE_RINGBUF)
			kernel_map_dump(k->map_fd[i], info.key_size, info.value_size, count_entry, &f->entries);
		if (streq(l[i].name, SL_MAPNAME_DROPS)) {
			st->n_drops = info.max_entries < 32 ? info.max_entries : 32;
			sum_counters(k->map_fd[i], (uint32_t)st->n_drops, st->drops);
			st->have_counters = true;
		}
		if (streq(l[i].name, SL_MAPNAME_METRICS)) {
			st->n_metrics = info.max_entries < 32 ? info.max_entries : 32;
			sum_counters(k->map_fd[i], (uint32_t)st->n_metrics, st->metrics);
		}
	}
	return 0;
}

void sl_kernel_status_free(struct sl_kernel_status *st)
{
	free(st->maps);
	memset(st, 0, sizeof(*st));
}

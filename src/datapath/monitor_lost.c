/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor's lost events, summed over CPUs (see monitor_lost.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "internal.h"
#include "monitor_lost.h"

int sl_kernel_monitor_lost(struct sl_kernel *k, uint64_t *ret_total)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), key = SL_MONITOR_SLOTS;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v = NULL, sum = 0;
	int fd, r = 0;

	*ret_total = 0;
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_MONITOR_LOST));
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		r = -errno;
	} else if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.value_size != sizeof(uint64_t) ||
		   info.max_entries <= SL_MONITOR_SLOTS) {
		r = -EMEDIUMTYPE; /* not the layout abi.h gives */
	} else if (!(v = calloc((size_t)ncpu, sizeof(*v)))) {
		r = -ENOMEM;
	} else if (bpf_map_lookup_elem(fd, &key, v) < 0) {
		r = -errno;
	} else {
		for (int c = 0; c < ncpu; c++)
			sum += v[c];
		*ret_total = sum;
	}
	free(v);
	close(fd);
	return r;
}

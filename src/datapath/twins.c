/* SPDX-License-Identifier: Apache-2.0 */
/* The programs' twins with events: twins.h. */
#include "twins.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

bool kernel_twins_map(const struct bpf_map *m)
{
	return bpf_map__type(m) == BPF_MAP_TYPE_PROG_ARRAY &&
	       strncmp(bpf_map__name(m), KERNEL_TWINS_MAP_PREFIX, strlen(KERNEL_TWINS_MAP_PREFIX)) == 0;
}

int kernel_twins_fill(struct bpf_object *obj, const char **ret_what)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
	{
		char twin[128];
		const struct bpf_program *p;
		uint32_t zero = 0;
		int fd;

		if (!kernel_twins_map(m))
			continue;
		*ret_what = bpf_map__name(m);
		snprintf(twin, sizeof(twin), "sluice_%s_ev", bpf_map__name(m) + strlen(KERNEL_TWINS_MAP_PREFIX));
		p = bpf_object__find_program_by_name(obj, twin);
		if (!p)
			return -ENOENT;
		fd = bpf_program__fd(p);
		if (fd < 0)
			return -EBADF;
		if (bpf_map_update_elem(bpf_map__fd(m), &zero, &fd, BPF_ANY) < 0)
			return -errno;
	}
	return 0;
}

void kernel_twins_autoload(struct bpf_object *obj, const char *only)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj)
	{
		const char *n = bpf_program__name(p);
		size_t l = strlen(n);

		if (only)
			bpf_program__set_autoload(p, strcmp(n, only) == 0);
		else if (l > 3 && strcmp(n + l - 3, "_ev") == 0)
			bpf_program__set_autoload(p, false);
	}
}

struct bpf_map *kernel_twins_map_of(struct bpf_object *obj, const char *prog)
{
	char name[128];

	if (strncmp(prog, "sluice_", 7) != 0)
		return NULL;
	snprintf(name, sizeof(name), KERNEL_TWINS_MAP_PREFIX "%s", prog + 7);
	return bpf_object__find_map_by_name(obj, name);
}

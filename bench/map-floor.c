// SPDX-License-Identifier: Apache-2.0
/*
 * The raw floors for bench/reconcile: for maps pinned under a directory,
 *   dump:  read every entry with BPF_MAP_LOOKUP_BATCH (what a no-op apply
 *          must at least do), key by key where the type has no batch ops;
 *   write: create an empty map of the same layout and write the same
 *          entries with BPF_MAP_UPDATE_BATCH (what a cold apply must at
 *          least do), element by element where the type has no batch ops.
 * Prints "dump_ms write_ms entries" for the maps named, summed.
 *
 * Usage: map-floor PIN_DIR MAP...
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"

int main(int argc, char **argv)
{
	double dump_ms = 0, write_ms = 0;
	unsigned long total = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: map-floor PIN_DIR MAP...\n");
		return 1;
	}
	for (int a = 2; a < argc; a++) {
		char path[4096];
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info), n = 0, chunk = 8192;
		uint8_t *keys, *vals;
		uint8_t in[256] = { 0 }, out[256] = { 0 };
		bool first = true, batch = true;
		int fd, nfd;
		double t0;
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		LIBBPF_OPTS(bpf_map_create_opts, co);

		snprintf(path, sizeof(path), "%s/%s", argv[1], argv[a]);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return 1;
		}
		keys = malloc((size_t)info.max_entries * info.key_size + 8);
		vals = malloc((size_t)info.max_entries * info.value_size + 8);
		if (!keys || !vals)
			return 1;
		t0 = now_ms();
		for (;;) {
			uint32_t count = chunk;
			int r = bpf_map_lookup_batch(fd, first ? NULL : in, out, keys + (size_t)n * info.key_size,
						     vals + (size_t)n * info.value_size, &count, &o);

			if (r < 0 && first && (errno == EINVAL || errno == ENOTSUP || errno == 524)) {
				batch = false;
				break;
			}
			n += count;
			if (r < 0)
				break;
			memcpy(in, out, sizeof(in));
			first = false;
		}
		if (!batch) {
			void *prev = NULL;
			uint8_t tmp[64];

			n = 0;
			while (bpf_map_get_next_key(fd, prev, keys + (size_t)n * info.key_size) == 0) {
				bpf_map_lookup_elem(fd, keys + (size_t)n * info.key_size, vals + (size_t)n * info.value_size);
				memcpy(tmp, keys + (size_t)n * info.key_size, info.key_size);
				prev = tmp;
				n++;
			}
		}
		dump_ms += now_ms() - t0;
		co.map_flags = info.map_flags;
		nfd = bpf_map_create(info.type, "floor", info.key_size, info.value_size, info.max_entries, &co);
		if (nfd < 0) {
			fprintf(stderr, "create: %s\n", strerror(errno));
			return 1;
		}
		t0 = now_ms();
		{
			uint32_t count = n;
			LIBBPF_OPTS(bpf_map_batch_opts, uo, .elem_flags = BPF_ANY);

			if (bpf_map_update_batch(nfd, keys, vals, &count, &uo) < 0) {
				for (uint32_t i = 0; i < n; i++)
					bpf_map_update_elem(nfd, keys + (size_t)i * info.key_size,
							    vals + (size_t)i * info.value_size, BPF_ANY);
			}
		}
		write_ms += now_ms() - t0;
		fprintf(stderr, "%s: %u entries, %s\n", argv[a], n, batch ? "batch ops" : "no batch ops: key by key");
		total += n;
		close(nfd);
		close(fd);
		free(keys);
		free(vals);
	}
	printf("%.2f %.2f %lu\n", dump_ms, write_ms, total);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded BPF objects: the one file that makes them part of the
 * binary. A skeleton's header holds its object in a static array of each
 * file that calls its open (1 MB for the datapath's): the others open the
 * objects through here and read their bytes through here, so the binary
 * holds each once.
 */
#include <bpf/libbpf.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "datapath.skel.h"
#include "internal.h"
#include "prefilter.skel.h"
#include "sock.skel.h"
#include "sock_lb.skel.h"
#include "kinds/map.h"

struct datapath_bpf *kernel_open_datapath(void)
{
	return datapath_bpf__open();
}

struct prefilter_bpf *kernel_open_prefilter(void)
{
	return prefilter_bpf__open();
}

struct sock_bpf *kernel_open_sock(void)
{
	return sock_bpf__open();
}

struct sock_lb_bpf *kernel_open_sock_lb(void)
{
	return sock_lb_bpf__open();
}

const void *kernel_embedded_elf(int group, size_t *sz)
{
	switch (group) {
	case SL_MAPS_DATAPATH:
		return datapath_bpf__elf_bytes(sz);
	case SL_MAPS_PREFILTER:
		return prefilter_bpf__elf_bytes(sz);
	case SL_MAPS_SOCK:
		return sock_bpf__elf_bytes(sz);
	case SL_MAPS_SOCK_LB:
		return sock_lb_bpf__elf_bytes(sz);
	default:
		*sz = 0;
		return NULL;
	}
}

void sl_kernel_release_embedded(void)
{
	long page = sysconf(_SC_PAGESIZE);

	for (int g = 0; g < SL_MAPS__MAX; g++) {
		size_t sz = 0;
		const uint8_t *elf = kernel_embedded_elf(g, &sz);

		if (elf && page > 0)
			madvise_within(elf, elf + sz, (size_t)page, MADV_DONTNEED);
	}
}

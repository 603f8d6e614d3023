/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded programs as data, no kernel call: the layouts of the maps
 * they define, which map holds which kind's entries, their digests; and
 * the process's diagnostics (verbosity, the count of kernel writes).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sluice/abi.h>


#include "common/util.h"
#include "internal.h"
#include "twins.h"
#include "probe.h"
#include "kinds/prog.h"
#include "kinds/map.h"

_Atomic unsigned long sl_kernel_writes;
static int log_level;

/* libbpf's messages go to standard error only at -vv (the verifier's log
 * at -vvv); a failure is reported once, by the command, with its object. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if ((level == LIBBPF_WARN && log_level >= 2) || log_level >= 3) {
		return vfprintf(stderr, fmt, ap); /* libbpf's lines carry their own prefix */
	}
	return 0;
}

int kernel_verbosity(void)
{
	return log_level;
}

void sl_kernel_set_verbosity(int v)
{
	log_level = v;
	libbpf_set_print(libbpf_log);
}

static struct sl_map_layout layouts[24];
static char layout_names[24][32];
static size_t n_layouts;
static bool layouts_done;

static int size_from(const char *name)
{
	static const struct {
		const char *name;
		int from;
	} t[] = {
		{ SL_MAPNAME_ENDPOINTS, SL_MAP_ENDPOINTS }, { SL_MAPNAME_IPCACHE, SL_MAP_IPCACHE },
		{ SL_MAPNAME_POLICY, SL_MAP_POLICY },	    { SL_MAPNAME_SERVICES, SL_MAP_SERVICES },
		{ SL_MAPNAME_BACKENDS, SL_MAP_BACKENDS },
		{ SL_MAPNAME_CT4_TCP, SL_MAP_CT_TCP },	    { SL_MAPNAME_CT6_TCP, SL_MAP_CT_TCP },
		{ SL_MAPNAME_CT4_ANY, SL_MAP_CT_ANY },	    { SL_MAPNAME_CT6_ANY, SL_MAP_CT_ANY },
		{ SL_MAPNAME_PREFILTER_V4, SL_MAP_PREFILTER }, { SL_MAPNAME_PREFILTER_V6, SL_MAP_PREFILTER },
		{ SL_MAPNAME_SOCK_NAT, SL_MAP_SOCK_NAT },
		{ SL_MAPNAME_EP_NAMES, SL_MAP_ENDPOINTS }, { SL_MAPNAME_ID_LABELS, SL_MAP_IPCACHE },
		{ SL_MAPNAME_EP_NETNS, SL_MAP_ENDPOINTS },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (streq(t[i].name, name))
			return t[i].from;
	return SL_MAP_SIZE_FIXED;
}

static int add_layouts(struct bpf_object *obj, uint8_t group)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
	{
		const char *name = bpf_map__name(m);
		size_t i;

		if (bpf_map__is_internal(m) || kernel_twins_map(m))
			continue; /* the object's own, made with each load */
		for (i = 0; i < n_layouts; i++)
			if (streq(layouts[i].name, name))
				break;
		if (i < n_layouts) {
			/* the socket programs' use of the datapath's maps leaves
			 * them the datapath's (the socket hooks need the datapath) */
			if (layouts[i].group != group && !sl_map_group_uses_datapath(group))
				layouts[i].group = SL_MAPS_SHARED;
			continue;
		}
		if (n_layouts == ARRAY_SIZE(layouts))
			return -E2BIG;
		snprintf(layout_names[n_layouts], sizeof(layout_names[0]), "%s", name);
		layouts[n_layouts] = (struct sl_map_layout){
			.name = layout_names[n_layouts],
			.v = { .type = bpf_map__type(m), .key_size = bpf_map__key_size(m),
			       .value_size = bpf_map__value_size(m), .max_entries = bpf_map__max_entries(m),
			       .flags = bpf_map__map_flags(m) },
			.size_from = size_from(name),
			.group = group,
		};
		n_layouts++;
	}
	return 0;
}

int sl_kernel_layouts(const struct sl_map_layout **ret, size_t *ret_n)
{
	if (!layouts_done) {
		/* the objects as data (kernel_embedded_elf): their maps' layouts */
		static const uint8_t groups[] = { SL_MAPS_DATAPATH, SL_MAPS_PREFILTER, SL_MAPS_SOCK, SL_MAPS_SOCK_LB };
		int r = 0;

		for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(groups); i++) {
			size_t sz = 0;
			const void *elf = kernel_embedded_elf(groups[i], &sz);
			struct bpf_object *o = elf ? bpf_object__open_mem(elf, sz, NULL) : NULL;

			r = o ? add_layouts(o, groups[i]) : elf ? -errno : -ENOENT;
			bpf_object__close(o);
		}
		if (r < 0)
			return r;
		layouts_done = true;
	}
	*ret = layouts;
	*ret_n = n_layouts;
	return 0;
}

const struct sl_map_layout *kernel_layout(const char *name)
{
	const struct sl_map_layout *l;
	size_t n;

	if (sl_kernel_layouts(&l, &n) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (streq(l[i].name, name))
			return &l[i];
	return NULL;
}

int sl_kernel_digests(const struct sl_prog_settings *s, const uint32_t *sizes,
		      uint64_t ret[SL_PROG__MAX])
{
	const struct sl_map_layout *l;
	size_t n, dsz = 0, psz = 0, ssz = 0, lsz = 0;
	const void *delf = kernel_embedded_elf(SL_MAPS_DATAPATH, &dsz);
	const void *pelf = kernel_embedded_elf(SL_MAPS_PREFILTER, &psz);
	const void *self = kernel_embedded_elf(SL_MAPS_SOCK, &ssz);
	const void *lelf = kernel_embedded_elf(SL_MAPS_SOCK_LB, &lsz);
	uint64_t base = FNV1A64_INIT, hd, hs, hl;
	int r = sl_kernel_layouts(&l, &n);

	if (r < 0)
		return r;
	/* Map layouts as they will be created: a migration is a new program. */
	for (size_t i = 0; i < n; i++) {
		struct sl_map_value v = l[i].v;

		if (l[i].size_from != SL_MAP_SIZE_FIXED)
			v.max_entries = sizes[l[i].size_from];
		base = fnv1a64(base, l[i].name, strlen(l[i].name));
		base = fnv1a64(base, &v, sizeof(v));
	}
	/* each object's bytes hashed once (1-2 MB each), then what tells
	 * its programs apart */
	hd = hash64_bytes(base, delf, dsz);
	hs = hash64_bytes(base, self, ssz);
	hl = hash64_bytes(base, lelf, lsz);
	ret[SL_PROG_FROM_ENDPOINT] = fnv1a64(fnv1a64(hd, s, sizeof(*s)), "from", 4);
	ret[SL_PROG_TO_ENDPOINT] = fnv1a64(fnv1a64(hd, s, sizeof(*s)), "to", 2);
	ret[SL_PROG_FROM_OVERLAY] = fnv1a64(fnv1a64(hd, s, sizeof(*s)), "overlay", 7);
	ret[SL_PROG_FROM_NETDEV] = fnv1a64(fnv1a64(hd, s, sizeof(*s)), "netdev", 6);
	ret[SL_PROG_PREFILTER] = fnv1a64(hash64_bytes(base, pelf, psz), "prefilter", 9);
	ret[SL_PROG_SOCKOPS] = fnv1a64(hs, "sockops", 7);
	ret[SL_PROG_SK_MSG] = fnv1a64(hs, "sk_msg", 6);
	for (int i = SL_PROG_CONNECT4; i <= SL_PROG_GETPEERNAME6; i++)
		ret[i] = fnv1a64(hl, sl_prog_names[i], strlen(sl_prog_names[i]));
	for (int i = 0; i < SL_PROG__MAX; i++)
		if (!ret[i])
			ret[i] = 1; /* 0 means "not known" in observed attachments */
	return 0;
}

uint32_t sl_kernel_hz(void)
{
	return (uint32_t)probe_kconfig_number("CONFIG_HZ", 250);
}


int kernel_layout_index(const char *name)
{
	const struct sl_map_layout *l;
	size_t n;

	if (sl_kernel_layouts(&l, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (streq(l[i].name, name))
			return (int)i;
	return -1;
}


/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The datapath programs' twins with events (bpf/datapath.bpf.c,
 * WITH_EVENTS): each program sluice_<name> tail-calls sluice_<name>_ev,
 * the one entry of its prog array sluice_ev_<name>, while some monitor
 * wants events. Only libbpf: the tests and benches that load the object
 * themselves use it too.
 */
#ifndef SLUICE_DATAPATH_TWINS_H
#define SLUICE_DATAPATH_TWINS_H

#include <bpf/libbpf.h>
#include <stdbool.h>

#define KERNEL_TWINS_MAP_PREFIX "sluice_ev_"

/* Whether m is a program's own prog array of twins: made with each load,
 * never one of the pinned maps. */
bool kernel_twins_map(const struct bpf_map *m);

/* Put each loaded twin of obj into its program's prog array. >= 0 or
 * -errno (the map and program named in *ret_what). */
int kernel_twins_fill(struct bpf_object *obj, const char **ret_what);

/* Of obj's programs, load only the twin named `only` (NULL: load no twin;
 * every other program keeps its autoload). Before the object's load. */
void kernel_twins_autoload(struct bpf_object *obj, const char *only);

/* The prog array of obj's program `prog` (its name in the object,
 * "sluice_from_endpoint"), or NULL when it has none. */
struct bpf_map *kernel_twins_map_of(struct bpf_object *obj, const char *prog);

#endif

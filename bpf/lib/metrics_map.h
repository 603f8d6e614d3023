/* SPDX-License-Identifier: GPL-2.0-only */
/* Counters by metric, per CPU (enum sl_metric): the map alone, so that the
 * socket hooks (sock_lb.bpf.c) count without defining the datapath's other
 * maps. */
#ifndef SLUICE_BPF_METRICS_MAP_H
#define SLUICE_BPF_METRICS_MAP_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_METRIC__MAX);
	__type(key, __u32);
	__type(value, struct sl_counter);
} sluice_metrics SEC(".maps");

#endif

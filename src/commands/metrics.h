/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics of `sluice watch --metrics-address` (sluice(8), "Metrics").
 *
 * What watch counts (applies by result, their duration, drift repaired by
 * kind, the state's validity, the last success) lives in struct metrics,
 * under its mutex: watch's thread records, the HTTP thread copies. What the
 * datapath counts (map fill, drops, traffic, lost monitor events) is read
 * from the kernel when a scrape asks, with a read-only handle of the HTTP
 * thread's own (metrics_read.c), never watch's. metrics_render turns both
 * into the page; it calls no kernel and is unit-tested
 * (tests/unit/test_metrics.c).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/prom.h"
#include "common/strbuf.h"
#include "datapath/kernel.h"
#include "kinds/kind.h"
#include "watch_log.h"

/* An apply's result: the health file's lastResult (sluice(8)). */
enum metrics_result { METRICS_APPLIED, METRICS_UNCHANGED, METRICS_INVALID, METRICS_FAILED, METRICS_RESULT__MAX };
extern const char *const metrics_result_names[METRICS_RESULT__MAX];

/* What watch counts; a plain value, copied whole by a scrape. */
struct metrics_watch {
	uint64_t applies[METRICS_RESULT__MAX];
	struct prom_histogram duration; /* seconds */
	uint64_t drift[SL_OBJ__MAX];	/* objects a drift repair changed, by kind */
	bool have_state;		/* DIR has been read */
	bool state_valid;		/* ...and as last read, its state was valid */
	bool have_success;
	double last_success; /* Unix time of the last apply that left the kernel matching a state */
};

struct metrics {
	pthread_mutex_t lock;
	struct metrics_watch w;
};

void metrics_init(struct metrics *m);
void metrics_destroy(struct metrics *m);

/* One apply ended, at Unix time now: its result and duration. */
void metrics_apply(struct metrics *m, enum metrics_result res, double seconds, double now);
/* The state read from DIR was valid (or not). */
void metrics_state(struct metrics *m, bool valid);
/* A drift repair changed these objects (by kind, SL_OBJ__MAX counts). */
void metrics_drift(struct metrics *m, const size_t *by_kind);
/* A copy, under the lock. */
void metrics_snapshot(struct metrics *m, struct metrics_watch *ret);

/* The datapath as a scrape read it. */
struct metrics_datapath {
	bool read; /* the kernel was read: st holds its counters */
	const struct sl_kernel_status *st;
	uint64_t lost; /* monitor events lost (0 when the map is not there) */
};

/* The whole page, in the text exposition format. 0 or -ENOMEM. */
int metrics_render(const struct metrics_watch *w, const struct metrics_datapath *dp, struct strbuf *b);

/* metrics_read.c: the datapath under pin_dir, read only (as `sluice
 * status` reads it), into st (free it with sl_kernel_status_free) and
 * *ret_lost. 0, or -errno with why[] said. */
int metrics_read_datapath(const char *pin_dir, struct sl_kernel_status *st, uint64_t *ret_lost, char *why,
			  size_t why_len);

/* metrics_http.c: the HTTP server (libmicrohttpd, a thread of its own). */
struct metrics_server;
/* Listen on addr (HOST:PORT, HOST an IPv4 address or an IPv6 one in
 * brackets) and serve GET /metrics; a scrape that cannot read the
 * datapath is logged to log (once until one can again). 0, or -errno with
 * why[] said (a bad address, the port in use...). ret_bound: the address
 * as bound (the port chosen when 0 was given). */
int metrics_server_start(const char *addr, struct metrics *m, const char *pin_dir, const struct wlog *log,
			 struct metrics_server **ret,
			 char *ret_bound, size_t bound_len, char *why, size_t why_len);
void metrics_server_stop(struct metrics_server *s);

/* SPDX-License-Identifier: Apache-2.0 */
/* watch's metrics: the counters it keeps and the page (see metrics.h). */
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>

#include "common/util.h"
#include "kinds/desc.h"
#include "kinds/map.h"
#include "metrics.h"

const char *const metrics_result_names[METRICS_RESULT__MAX] = { "applied", "unchanged", "invalid", "failed" };

/* From 1 ms (an apply that finds nothing to change on a small state) to
 * 60 s (a million entries written), about 2.5 times apart. */
static const double duration_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					  0.5,	 1,	 2.5,	5,    10,    30,    60 };

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->w.duration.bounds = duration_bounds;
	m->w.duration.n_bounds = ARRAY_SIZE(duration_bounds);
}

void metrics_destroy(struct metrics *m)
{
	pthread_mutex_destroy(&m->lock);
}

void metrics_apply(struct metrics *m, enum metrics_result res, double seconds, double now)
{
	pthread_mutex_lock(&m->lock);
	m->w.applies[res]++;
	prom_histogram_observe(&m->w.duration, seconds);
	if (res == METRICS_APPLIED || res == METRICS_UNCHANGED) {
		m->w.have_success = true;
		m->w.last_success = now;
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_state(struct metrics *m, bool valid)
{
	pthread_mutex_lock(&m->lock);
	m->w.have_state = true;
	m->w.state_valid = valid;
	pthread_mutex_unlock(&m->lock);
}

void metrics_drift(struct metrics *m, const size_t *by_kind)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < SL_OBJ__MAX; i++)
		m->w.drift[i] += by_kind[i];
	pthread_mutex_unlock(&m->lock);
}

void metrics_snapshot(struct metrics *m, struct metrics_watch *ret)
{
	pthread_mutex_lock(&m->lock);
	*ret = m->w;
	pthread_mutex_unlock(&m->lock);
}

/* ---- the page ----------------------------------------------------------- */

/* Drift repairs by the kind's name as plans print it (two kinds, the IPv4
 * and IPv6 prefilter entries, share one name: their counts add up). */
static int render_drift(const struct metrics_watch *w, struct strbuf *b)
{
	int r = prom_family(b, "sluice_drift_repairs_total", PROM_COUNTER,
			    "Objects that a drift repair changed: the kernel had drifted from the state last applied "
			    "(an entry deleted, a program detached) and watch made it match again, by object kind.");

	for (unsigned k = 0; k < SL_OBJ__MAX && r >= 0; k++) {
		const char *name = sl_kind_name(k);
		struct prom_label l = { "kind", name };
		uint64_t n = 0;
		bool seen = false;

		for (unsigned j = 0; j < k; j++)
			seen = seen || streq(sl_kind_name(j), name);
		if (seen)
			continue;
		for (unsigned j = k; j < SL_OBJ__MAX; j++)
			if (streq(sl_kind_name(j), name))
				n += w->drift[j];
		r = prom_sample_u64(b, "sluice_drift_repairs_total", &l, 1, n);
	}
	return r;
}

static int render_watch(const struct metrics_watch *w, struct strbuf *b)
{
	int r = prom_family(b, "sluice_applies_total", PROM_COUNTER,
			    "Applies of watch, by result: applied (the kernel was changed), unchanged (nothing to "
			    "change), invalid (the state was rejected; the datapath keeps the last good state), failed "
			    "(the apply could not be completed; it is retried).");

	for (size_t i = 0; i < METRICS_RESULT__MAX && r >= 0; i++) {
		struct prom_label l = { "result", metrics_result_names[i] };

		r = prom_sample_u64(b, "sluice_applies_total", &l, 1, w->applies[i]);
	}
	if (r >= 0)
		r = prom_histogram_write(b, "sluice_apply_duration_seconds",
					 "How long each apply took, from reading the state to the kernel verified, "
					 "whatever its result.",
					 &w->duration);
	if (r >= 0)
		r = render_drift(w, b);
	if (r >= 0)
		r = prom_family(b, "sluice_state_valid", PROM_GAUGE,
				"1 when the state files, as last read, make a valid state; 0 when they do not (the "
				"datapath keeps the last good state) or have not been read yet.");
	if (r >= 0)
		r = prom_sample_u64(b, "sluice_state_valid", NULL, 0, w->have_state && w->state_valid);
	if (r >= 0 && w->have_success) {
		r = prom_family(b, "sluice_last_success_timestamp_seconds", PROM_GAUGE,
				"When an apply (a resync included) last left the kernel matching a state, in seconds "
				"since the Unix epoch.");
		if (r >= 0)
			r = prom_sample_f64(b, "sluice_last_success_timestamp_seconds", NULL, 0, w->last_success);
	}
	return r;
}

/* Column col (0: packets, 1: bytes) of counters [from, to) of a [n][2]
 * table, a sample each, labelled by name. */
static int render_counters(struct strbuf *b, const char *name, const char *label, const char *const *names,
			   size_t from, size_t to, const uint64_t (*v)[2], int col)
{
	int r = 0;

	for (size_t i = from; i < to && r >= 0; i++) {
		struct prom_label l = { label, names[i] };

		r = prom_sample_u64(b, name, &l, 1, v[i][col]);
	}
	return r;
}

static int render_datapath(const struct metrics_datapath *dp, struct strbuf *b)
{
	const struct sl_kernel_status *st = dp->st;
	size_t n_drops = st->n_drops < SL_DROP__MAX ? st->n_drops : SL_DROP__MAX;
	size_t n_metrics = st->n_metrics < SL_METRIC__MAX ? st->n_metrics : SL_METRIC__MAX;
	static const uint64_t zero[32][2]; /* as many as struct sl_kernel_status holds */
	int r = prom_family(b, "sluice_map_entries", PROM_GAUGE,
			    "Entries in each of sluice's pinned maps, by name and type (an array is always full: "
			    "its size), as sluice status counts them.");

	for (size_t i = 0; i < st->n_maps && r >= 0; i++) {
		struct prom_label l[] = { { "map", st->maps[i].name }, { "type", sl_map_type_name(st->maps[i].type) } };

		if (st->maps[i].type != BPF_MAP_TYPE_RINGBUF)
			r = prom_sample_u64(b, "sluice_map_entries", l, ARRAY_SIZE(l), st->maps[i].entries);
	}
	if (r >= 0)
		r = prom_family(b, "sluice_map_capacity", PROM_GAUGE,
				"The most entries each of sluice's pinned maps holds (its max_entries).");
	for (size_t i = 0; i < st->n_maps && r >= 0; i++) {
		struct prom_label l[] = { { "map", st->maps[i].name }, { "type", sl_map_type_name(st->maps[i].type) } };

		if (st->maps[i].type != BPF_MAP_TYPE_RINGBUF)
			r = prom_sample_u64(b, "sluice_map_capacity", l, ARRAY_SIZE(l), st->maps[i].max_entries);
	}
	/* Every reason, 0 before anything is applied: a rate is then 0, not
	 * missing. */
	if (!st->have_counters)
		n_drops = SL_DROP__MAX;
	if (r >= 0)
		r = prom_family(b, "sluice_drops_total", PROM_COUNTER,
				"Packets the datapath dropped, by reason (the names of sluice status).");
	if (r >= 0)
		r = render_counters(b, "sluice_drops_total", "reason", sl_drop_names, 1, n_drops,
				    st->have_counters ? st->drops : zero, 0);
	if (r >= 0)
		r = prom_family(b, "sluice_drop_bytes_total", PROM_COUNTER,
				"Bytes of the packets the datapath dropped, by reason.");
	if (r >= 0)
		r = render_counters(b, "sluice_drop_bytes_total", "reason", sl_drop_names, 1, n_drops,
				    st->have_counters ? st->drops : zero, 1);
	if (!n_metrics)
		n_metrics = SL_METRIC__MAX;
	if (r >= 0)
		r = prom_family(b, "sluice_forwarded_packets_total", PROM_COUNTER,
				"Packets the datapath passed on to the stack (the forward counter of sluice status).");
	if (r >= 0)
		r = prom_sample_u64(b, "sluice_forwarded_packets_total", NULL, 0,
				    st->n_metrics > SL_METRIC_FORWARD ? st->metrics[SL_METRIC_FORWARD][0] : 0);
	if (r >= 0)
		r = prom_family(b, "sluice_datapath_packets_total", PROM_COUNTER,
				"Packets by the datapath's traffic counters (the traffic of sluice status): forward, "
				"reply, new, dnat, rev-nat, tunnel, encrypt, proxy, related, not-ip, from-tunnel.");
	if (r >= 0)
		r = render_counters(b, "sluice_datapath_packets_total", "counter", sl_metric_names, 0, n_metrics,
				    st->n_metrics ? st->metrics : zero, 0);
	if (r >= 0)
		r = prom_family(b, "sluice_datapath_bytes_total", PROM_COUNTER,
				"Bytes by the datapath's traffic counters.");
	if (r >= 0)
		r = render_counters(b, "sluice_datapath_bytes_total", "counter", sl_metric_names, 0, n_metrics,
				    st->n_metrics ? st->metrics : zero, 1);
	if (r >= 0)
		r = prom_family(b, "sluice_monitor_events_lost_total", PROM_COUNTER,
				"Datapath events that no monitor could be given (its ring was full), since the "
				"datapath's maps were made.");
	if (r >= 0)
		r = prom_sample_u64(b, "sluice_monitor_events_lost_total", NULL, 0, dp->lost);
	return r;
}

int metrics_render(const struct metrics_watch *w, const struct metrics_datapath *dp, struct strbuf *b)
{
	int r = render_watch(w, b);

	if (r >= 0)
		r = prom_family(b, "sluice_datapath_read_success", PROM_GAUGE,
				"1 when this scrape read the datapath's maps and counters (the sluice_map_*, "
				"sluice_drop*, sluice_*packets* and sluice_monitor_* metrics below); 0 when it could "
				"not, and they are left out.");
	if (r >= 0)
		r = prom_sample_u64(b, "sluice_datapath_read_success", NULL, 0, dp->read);
	if (r >= 0 && dp->read)
		r = render_datapath(dp, b);
	return r < 0 ? -ENOMEM : 0;
}

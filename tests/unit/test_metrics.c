/* SPDX-License-Identifier: Apache-2.0 */
/* The page of watch --metrics-address (src/commands/metrics.c): what
 * watch counts and what the datapath counts, as Prometheus reads it. */
#include <criterion/criterion.h>
#include <linux/bpf.h>
#include <string.h>

#include <sluice/abi.h>

#include "commands/metrics.h"

static bool has_line(const char *page, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = page; (p = strstr(p, line)); p++)
		if ((p == page || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define expect_line(page, line) cr_expect(has_line(page, line), "no line '%s' in:\n%s", line, page)

static struct sl_kernel_status status_fixture(struct sl_map_fill maps[3])
{
	struct sl_kernel_status st = { .maps = maps, .n_maps = 3, .n_drops = SL_DROP__MAX,
				       .n_metrics = SL_METRIC__MAX, .have_counters = true };

	maps[0] = (struct sl_map_fill){ .name = "sluice_endpoints", .type = BPF_MAP_TYPE_HASH, .entries = 2,
					.max_entries = 65535 };
	maps[1] = (struct sl_map_fill){ .name = "sluice_events", .type = BPF_MAP_TYPE_RINGBUF, .max_entries = 1 << 20 };
	maps[2] = (struct sl_map_fill){ .name = "sluice_drops", .type = BPF_MAP_TYPE_PERCPU_ARRAY, .entries = 15,
					.max_entries = 15, .runtime = true };
	st.drops[SL_DROP_POLICY_DENY][0] = 3;
	st.drops[SL_DROP_POLICY_DENY][1] = 252;
	st.metrics[SL_METRIC_FORWARD][0] = 40;
	st.metrics[SL_METRIC_FORWARD][1] = 4000;
	st.metrics[SL_METRIC_NEW][0] = 5;
	return st;
}

Test(metrics, watch_counters)
{
	struct metrics m;
	struct metrics_watch w;
	struct sl_kernel_status st = {};
	struct metrics_datapath dp = { .st = &st };
	size_t drift[SL_OBJ__MAX] = { 0 };
	struct strbuf b = {};

	metrics_init(&m);
	metrics_snapshot(&m, &w);
	cr_assert_eq(metrics_render(&w, &dp, &b), 0);
	expect_line(b.s, "sluice_state_valid 0");
	expect_line(b.s, "sluice_applies_total{result=\"applied\"} 0");
	cr_expect_null(strstr(b.s, "sluice_last_success_timestamp_seconds"), "no success yet, no timestamp");
	expect_line(b.s, "sluice_datapath_read_success 0");
	cr_expect_null(strstr(b.s, "sluice_drops_total"), "the datapath was not read: its metrics are left out");
	strbuf_free(&b);

	metrics_state(&m, true);
	metrics_apply(&m, METRICS_APPLIED, 0.02, 1700000000.5);
	metrics_state(&m, false);
	metrics_apply(&m, METRICS_INVALID, 0.0005, 1700000010);
	metrics_apply(&m, METRICS_UNCHANGED, 3, 1700000020.25);
	metrics_apply(&m, METRICS_FAILED, 100, 1700000030);
	drift[SL_OBJ_POLICY] = 2;
	drift[SL_OBJ_PREFILTER4] = 1;
	drift[SL_OBJ_PREFILTER6] = 4;
	metrics_drift(&m, drift);
	metrics_drift(&m, drift);
	metrics_snapshot(&m, &w);
	cr_assert_eq(metrics_render(&w, &dp, &b), 0);
	expect_line(b.s, "# TYPE sluice_applies_total counter");
	expect_line(b.s, "sluice_applies_total{result=\"applied\"} 1");
	expect_line(b.s, "sluice_applies_total{result=\"unchanged\"} 1");
	expect_line(b.s, "sluice_applies_total{result=\"invalid\"} 1");
	expect_line(b.s, "sluice_applies_total{result=\"failed\"} 1");
	expect_line(b.s, "# TYPE sluice_apply_duration_seconds histogram");
	expect_line(b.s, "sluice_apply_duration_seconds_bucket{le=\"0.001\"} 1");
	expect_line(b.s, "sluice_apply_duration_seconds_bucket{le=\"0.025\"} 2");
	expect_line(b.s, "sluice_apply_duration_seconds_bucket{le=\"5\"} 3");
	expect_line(b.s, "sluice_apply_duration_seconds_bucket{le=\"60\"} 3");
	expect_line(b.s, "sluice_apply_duration_seconds_bucket{le=\"+Inf\"} 4");
	expect_line(b.s, "sluice_apply_duration_seconds_count 4");
	expect_line(b.s, "sluice_apply_duration_seconds_sum 103.0205");
	expect_line(b.s, "sluice_drift_repairs_total{kind=\"policy\"} 4");
	/* the IPv4 and IPv6 prefilter kinds share their name: one series */
	expect_line(b.s, "sluice_drift_repairs_total{kind=\"prefilter\"} 10");
	cr_expect_eq(strstr(strstr(b.s, "{kind=\"prefilter\"}") + 1, "{kind=\"prefilter\"}"), NULL);
	expect_line(b.s, "sluice_drift_repairs_total{kind=\"endpoint\"} 0");
	expect_line(b.s, "sluice_drift_repairs_total{kind=\"socket hook\"} 0");
	expect_line(b.s, "sluice_state_valid 0");
	/* the last success: the unchanged apply, not the failed one after it */
	expect_line(b.s, "sluice_last_success_timestamp_seconds 1700000020.25");
	strbuf_free(&b);
	metrics_destroy(&m);
}

Test(metrics, datapath)
{
	struct metrics m;
	struct metrics_watch w;
	struct sl_map_fill maps[3];
	struct sl_kernel_status st = status_fixture(maps);
	struct metrics_datapath dp = { .read = true, .st = &st, .lost = 9 };
	struct strbuf b = {};

	metrics_init(&m);
	metrics_snapshot(&m, &w);
	cr_assert_eq(metrics_render(&w, &dp, &b), 0);
	expect_line(b.s, "sluice_datapath_read_success 1");
	expect_line(b.s, "# TYPE sluice_map_entries gauge");
	expect_line(b.s, "sluice_map_entries{map=\"sluice_endpoints\",type=\"hash\"} 2");
	expect_line(b.s, "sluice_map_capacity{map=\"sluice_endpoints\",type=\"hash\"} 65535");
	expect_line(b.s, "sluice_map_entries{map=\"sluice_drops\",type=\"percpu_array\"} 15");
	cr_expect_null(strstr(b.s, "sluice_events"), "a ring buffer has bytes, not entries: left out");
	expect_line(b.s, "# TYPE sluice_drops_total counter");
	expect_line(b.s, "sluice_drops_total{reason=\"policy-deny\"} 3");
	expect_line(b.s, "sluice_drops_total{reason=\"policy\"} 0");
	expect_line(b.s, "sluice_drops_total{reason=\"proxy-unavailable\"} 0");
	cr_expect_null(strstr(b.s, "reason=\"none\""), "no drop reason 'none'");
	expect_line(b.s, "sluice_drop_bytes_total{reason=\"policy-deny\"} 252");
	expect_line(b.s, "sluice_forwarded_packets_total 40");
	expect_line(b.s, "sluice_datapath_packets_total{counter=\"forward\"} 40");
	expect_line(b.s, "sluice_datapath_packets_total{counter=\"new\"} 5");
	expect_line(b.s, "sluice_datapath_bytes_total{counter=\"forward\"} 4000");
	expect_line(b.s, "sluice_datapath_packets_total{counter=\"from-tunnel\"} 0");
	expect_line(b.s, "sluice_monitor_events_lost_total 9");
	strbuf_free(&b);

	/* nothing applied yet: no maps, but every reason and counter at 0 */
	st = (struct sl_kernel_status){};
	dp.lost = 0;
	cr_assert_eq(metrics_render(&w, &dp, &b), 0);
	cr_expect_null(strstr(b.s, "sluice_map_entries{"));
	expect_line(b.s, "sluice_drops_total{reason=\"policy\"} 0");
	expect_line(b.s, "sluice_datapath_packets_total{counter=\"reply\"} 0");
	expect_line(b.s, "sluice_monitor_events_lost_total 0");
	strbuf_free(&b);
	metrics_destroy(&m);
}

/* Every family has HELP and TYPE before its samples, once; every sample
 * belongs to the family above it. */
Test(metrics, well_formed)
{
	struct metrics m;
	struct metrics_watch w;
	struct sl_map_fill maps[3];
	struct sl_kernel_status st = status_fixture(maps);
	struct metrics_datapath dp = { .read = true, .st = &st };
	struct strbuf b = {};
	char family[128] = "", *save = NULL;
	int families = 0;

	metrics_init(&m);
	metrics_apply(&m, METRICS_APPLIED, 0.1, 1700000000);
	metrics_snapshot(&m, &w);
	cr_assert_eq(metrics_render(&w, &dp, &b), 0);
	for (char *line = strtok_r(b.s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", family);
			cr_expect_eq(strncmp(family, "sluice_", 7), 0, "%s: the sluice_ prefix", family);
			families++;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char type[32];

			cr_assert_eq(sscanf(line + 7, "%127s %31s", name, type), 2);
			cr_expect_str_eq(name, family, "TYPE follows its HELP");
			if (!strcmp(type, "counter"))
				cr_expect(strlen(family) > 6 && !strcmp(family + strlen(family) - 6, "_total"),
					  "counter %s ends in _total", family);
			continue;
		}
		sscanf(line, "%127[^{ ]", name);
		cr_expect(!strcmp(name, family) || (!strncmp(name, family, strlen(family)) &&
						    (!strcmp(name + strlen(family), "_bucket") ||
						     !strcmp(name + strlen(family), "_sum") ||
						     !strcmp(name + strlen(family), "_count"))),
			  "sample %s under family %s", name, family);
	}
	cr_expect_geq(families, 14);
	strbuf_free(&b);
	metrics_destroy(&m);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plan rendering: a diff as people (text) and programs (JSON) read it, in
 * the format of cli.md ("Plan output"). Pure: no kernel calls.
 *
 * Changes are grouped: one group per endpoint (by interface name: the
 * endpoint entry, its policy entries, its tc attachments), then policy
 * entries of endpoint ids no endpoint object has ("endpoint id N (gone)"),
 * then "ipcache", "prefilter" (entries and the XDP attachment), "maps",
 * "programs" (pinned programs), and "other" for objects of a kind or size
 * this renderer does not know. Inside
 * a group, changes keep the diff's (kind, key) order.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/strbuf.h"
#include "diff.h"
#include "objset.h"

struct sl_state;

/* The plan's lines and its counts, or (_SUMMARY: apply --summary) only
 * its counts: "Plan: ..." or "No changes."; in JSON the summary object. */
enum sl_plan_format { SL_PLAN_TEXT, SL_PLAN_JSON, SL_PLAN_TEXT_SUMMARY, SL_PLAN_JSON_SUMMARY, SL_PLAN__MAX };

/*
 * Append the plan of d (= sl_diff(want, have), both sets sorted) to out.
 * st is the desired state, used only for human names (endpoint names,
 * identity labels); it may be NULL. color: ANSI colours in the text format
 * (ignored for JSON). Returns 0, or -ENOMEM (out is then as it was).
 */
int sl_plan_render(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		   const struct sl_state *st, enum sl_plan_format fmt, bool color, struct strbuf *out);

/* The same, written to f as it is rendered (a large plan is never held whole
 * in memory). Returns 0, -ENOMEM, or -EIO if f fails; on error, part of the
 * plan may have been written. ret_counts (may be NULL): the lines of the
 * plan by op, what its summary says (a service change is a line per
 * backend, and a backend entry its service names is no line of its own). */
int sl_plan_write(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
		  const struct sl_state *st, enum sl_plan_format fmt, bool color, FILE *f,
		  size_t ret_counts[SL_CHANGE_OPS]);


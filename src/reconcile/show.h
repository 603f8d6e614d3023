/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Show: the inverse of compile. A live object set (as the kernel side
 * observes it) becomes a `version: 1` state document that validates and
 * compiles back to the same objects, so that `sluice show | sluice apply -`
 * is a no-op on a converged node. Pure C: no kernel calls.
 *
 * The kernel keeps less than the state said (no names, no labels, no rules,
 * no keys), so show synthesizes:
 *  - every user identity N it sees: {id: N, labels: {sluice.io/identity: "N"}};
 *  - endpoint names: the interface name when it is a valid endpoint name,
 *    else ep-<id>; remote endpoints remote-<address>; nodes node-<address>
 *    (address with '.' and ':' turned into '-');
 *  - one policy per local identity that has entries or enforcement,
 *    identity-N, selecting matchLabels {sluice.io/identity: "N"};
 *  - unused-cidrs, a policy that selects no endpoint of this node, when
 *    CIDR identities exist that no local policy entry uses.
 * What cannot be shown exactly is said in notes (see sl_show_render).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "objset.h"
#include "kinds/map.h"

enum sl_show_format { SL_SHOW_YAML, SL_SHOW_JSON, SL_SHOW__MAX };

/* The label key of the synthesized identities. */
#define SL_SHOW_IDENTITY_LABEL "sluice.io/identity"

/*
 * Render live (a sorted object set as observed: ENDPOINT, IPCACHE, POLICY,
 * PREFILTER4/6, ATTACH, MAP, PROG) as a state document appended to out.
 * layouts/n_layouts (may be NULL/0): the map layouts, to turn the capacity
 * of SL_OBJ_MAP objects back into datapath.mapSizes (only sizes that differ
 * from sl_map_size_default are written).
 *
 * Notes, things that cannot round-trip or that show had to guess, are
 * appended to ret_notes (may be NULL), one line each, and in YAML also
 * written as comments at the top of the document. JSON output is the same
 * document with no notes in it (unknown keys are errors).
 *
 * Returns 0, or -ENOMEM, or -EINVAL for an unknown format.
 */
/* How show finds a cgroup's path by id (datapath.cgroupPath of socket
 * acceleration): the command sets the kernel layer's; unset, show notes
 * that it cannot. */
void sl_show_set_cgroup_path_fn(int (*fn)(uint64_t id, char *buf, size_t len));

int sl_show_render(const struct sl_objset *live, const struct sl_map_layout *layouts, size_t n_layouts,
		   enum sl_show_format fmt, struct strbuf *out, struct strbuf *ret_notes);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule backend: the routing policy rules sluice owns in this network
 * namespace (kinds/rule.h: their keys, values and names; today the L7
 * proxy redirect's fwmark rule and the overlay's `iif lo` rule), read with
 * a dump, written with batched requests, over NETLINK_ROUTE through the
 * netlink engine (nl.h). This header has no libmnl type in it.
 *
 * Ownership: a rule is sluice's when its protocol (FRA_PROTOCOL) is
 * SL_RTPROT and it selects by nothing but the input device and the mark:
 * no source or destination prefix, TOS, output device, goto, flow, tunnel
 * id, suppressors, l3mdev, uid range, IP protocol or ports, no flag (not
 * `not`). Observation returns only those; nothing else is ever removed:
 *   - add is RTM_NEWRULE with NLM_F_CREATE|NLM_F_EXCL and FRA_PROTOCOL
 *     SL_RTPROT: the kernel refuses it (-EEXIST) only when a rule equal in
 *     everything, the protocol too, is there: sluice's own;
 *   - removal names the family, priority, input device, mark and mask,
 *     table, action and the protocol SL_RTPROT, and the kernel removes the
 *     first rule that has them all (its rule_find matches the protocol; an
 *     input device or a mark the request does not name is any), so the
 *     ownership check and the removal are one step: a foreign rule at the
 *     same priority, mark and table is never removed. A rule of protocol
 *     SL_RTPROT that the request cannot tell from the one asked (other
 *     selectors too, or an input device or a mark where the key has none)
 *     would be taken instead when it comes first: such a removal is
 *     refused (-EPERM) after reading the rules.
 *   - the kernel changes no rule in place: a change is a removal and an add
 *     in one batch (SL_RULE_OP_CHANGE is refused).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/kerr.h"
#include "datapath/nlreq.h"
#include "kinds/rule.h"

struct sl_rule;

/* A NETLINK_ROUTE socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK, in the
 * caller's network namespace. */
int rule_open(struct sl_rule **ret, struct sl_kerr *e);
/* Accepts NULL. */
void rule_close(struct sl_rule *r);

/*
 * Dump the rules, IPv4 then IPv6, and call cb for each that is sluice's,
 * in the kernel's order, with a struct sl_rule_key and a struct
 * sl_rule_value valid during the call only. cb returns 0 to go on, < 0 to
 * stop: that value is returned. No kernel write.
 */
int rule_observe(struct sl_rule *r, int (*cb)(void *ctx, const void *k, const void *v), void *ctx,
		 struct sl_kerr *e);

/* ---- batches ---- */

enum sl_rule_op {
	SL_RULE_OP_ADD = SL_NL_OP_ADD,
	SL_RULE_OP_CHANGE = SL_NL_OP_CHANGE, /* refused: the kernel changes no rule in place */
	SL_RULE_OP_DEL = SL_NL_OP_DEL,
	SL_RULE_OP__MAX
};

/* One request: struct sl_nl_req (nlreq.h). kind is 0, key a struct
 * sl_rule_key, value a struct sl_rule_value (del: as observed, or NULL:
 * any action). err is set by rule_batch: 0 or -errno. */
#define sl_rule_req sl_nl_req

/*
 * Run the requests in order with the netlink engine's batch (nl_batch).
 * Every request is tried; each one's err says how it went. A request this
 * module refuses (malformed, not of sluice's form, a change) gets its error
 * without being sent. Returns 0 when all succeeded; otherwise the -errno
 * of the first failure, with e naming that rule and carrying the kernel's
 * message. on_error, when given, is called for every failure, in request
 * order.
 */
int rule_batch(struct sl_rule *r, struct sl_rule_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_rule_req *req, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e);

/* One at a time, through rule_batch. add fails with -EEXIST when sluice's
 * rule is there already; del with -ENOENT when sluice has no such rule. v
 * may be NULL for del. */
int rule_add(struct sl_rule *r, const struct sl_rule_key *k, const struct sl_rule_value *v, struct sl_kerr *e);
int rule_del(struct sl_rule *r, const struct sl_rule_key *k, const struct sl_rule_value *v, struct sl_kerr *e);

/*
 * One message of a rule dump into k and v, with the code observation runs:
 * 1 when it is a rule of sluice's, 0 when not. msg is a netlink message
 * whose nlmsg_len fits in what the caller holds, as nl_msg_ok (nl.h)
 * checks. Exposed for tests/fuzz/fuzz_netlink.c.
 */
int rule_decode(const void *msg, struct sl_rule_key *k, struct sl_rule_value *v);

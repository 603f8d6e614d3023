/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route backend: the routes sluice owns in this network namespace
 * (kinds/route.h: their keys, values and names), read with a dump,
 * written with batched requests, over NETLINK_ROUTE through the netlink
 * engine (nl.h). This header has no libmnl type in it.
 *
 * Ownership: every route sluice makes carries the route protocol
 * SL_RTPROT (rtm_protocol), has TOS 0 and no source prefix, and is either
 * unicast, of universe scope, or local, of host scope (IPv6 reports it as
 * universe), in one of sluice's tables: the main table, SL_OVERLAY_TABLE
 * and SL_PROXY_TABLE (kinds/route.h); a unicast one may have an IP or IP6
 * lightweight tunnel encapsulation (RTA_ENCAP: the overlay's routes into
 * sluice_vxlan), which observation reads back whole. Observation returns only those; nothing
 * else is ever changed or removed:
 *   - add is NLM_F_CREATE|NLM_F_EXCL: a route of any protocol that holds
 *     the key makes it fail with -EEXIST, and the message says whether
 *     sluice's own route or another's holds it;
 *   - removal asks the kernel for the route of protocol SL_RTPROT only
 *     (the kernel matches rtm_protocol on RTM_DELROUTE, IPv4 and IPv6; and
 *     for IPv4 the key's type and its scope), so the check and the removal
 *     are one step;
 *   - replace (NLM_F_REPLACE) would replace whatever holds the key, so a
 *     batch with replaces first reads the key's table and refuses (-EPERM)
 *     a replace whose key a route not sluice's holds. (A foreign route
 *     added between that read and the replace is the one window left.)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/kerr.h"
#include "datapath/nlreq.h"
#include "kinds/route.h"

/* ---- the backend ---- */

struct sl_route;

/* A NETLINK_ROUTE socket with NETLINK_EXT_ACK, NETLINK_CAP_ACK and
 * NETLINK_GET_STRICT_CHK (dumps filtered by the kernel) set, in the
 * caller's network namespace. Devices are looked up in that namespace
 * too, through this socket. */
int route_open(struct sl_route **ret, struct sl_kerr *e);
/* Accepts NULL. */
void route_close(struct sl_route *r);

/*
 * Dump sluice's tables (main, SL_OVERLAY_TABLE, SL_PROXY_TABLE), IPv4 then
 * IPv6, and call cb for each route that is sluice's (see above), in the
 * kernel's order, with pointers to a key and a value valid during the
 * call only (copy them: objset_add does). cb returns 0 to go on, < 0 to
 * stop: that value is returned. No kernel write.
 */
int route_observe(struct sl_route *r,
		  int (*cb)(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v), void *ctx,
		  struct sl_kerr *e);

/*
 * One route at a time. add fails with -EEXIST when any route holds the key
 * (the message says whose). replace changes a route of sluice's that the
 * kernel holds (-ENOENT when none; -EPERM, untouched, when the key is held
 * by a route not sluice's). del removes sluice's route of that key (-ESRCH
 * when the kernel has none; -EPERM when it has none and a route not
 * sluice's holds the key, left alone); v may be NULL, it only names the
 * route. (IPv4 removals
 * with metric 0 take sluice's route of that prefix with the lowest metric:
 * the kernel reads metric 0 as "any". That is the metric-0 route whenever
 * it exists, as it does for a key just observed.) All return 0 or -errno
 * with e naming the route and carrying the kernel's message.
 */
int route_add(struct sl_route *r, const struct sl_route_key *k, const struct sl_route_value *v, struct sl_kerr *e);
int route_replace(struct sl_route *r, const struct sl_route_key *k, const struct sl_route_value *v,
		  struct sl_kerr *e);
int route_del(struct sl_route *r, const struct sl_route_key *k, const struct sl_route_value *v, struct sl_kerr *e);

/*
 * Whether this kernel takes IPv6 routes via an IPv4 gateway (RTA_VIA):
 * 1 yes, 0 no (Linux up to at least 6.18 says "IPv6 does not support
 * RTA_VIA attribute"), -errno when it could not tell. Asks once per
 * handle, with a request that cannot change anything (its device does not
 * exist). Batches ask it themselves before they send such a route, and
 * refuse those routes (-EOPNOTSUPP) when the answer is no.
 */
int route_probe_v6_via_v4(struct sl_route *r, struct sl_kerr *e);

/* ---- batches ---- */

enum sl_route_op {
	SL_ROUTE_OP_ADD = SL_NL_OP_ADD,
	SL_ROUTE_OP_REPLACE = SL_NL_OP_CHANGE,
	SL_ROUTE_OP_DEL = SL_NL_OP_DEL,
	SL_ROUTE_OP__MAX
};

/* One request of a batch: struct sl_nl_req (nlreq.h), the one request
 * type of the netlink engine, under this name. kind is 0, key a struct
 * sl_route_key, value a struct sl_route_value to write (add, replace; del:
 * may be NULL, names only). They point at the caller's bytes (an object
 * set's, say); they are read, never kept. err is set by route_batch: 0 or
 * -errno. */
#define sl_route_req sl_nl_req

/*
 * Run the requests in order with the netlink engine's batch (nl_batch):
 * as many to a sendmsg as fit in a chunk (about 64 KiB), only the last of
 * each chunk asking for an ack, so that
 * a success costs no reply. Every request is tried; each one's err says
 * how it went. A request this module refuses (not sluice's kind of route,
 * malformed, unknown device, a replace over another's route) gets its
 * error without being sent.
 *
 * Returns 0 when all succeeded; otherwise the -errno of the first failure,
 * with e naming that route (and how many more failed). on_error, when
 * given, is called for every failure, in request order, with its own
 * message, after the last request was answered.
 */
int route_batch(struct sl_route *r, struct sl_route_req *reqs, size_t n,
		void (*on_error)(void *ctx, const struct sl_route_req *req, const struct sl_kerr *e), void *ctx,
		struct sl_kerr *e);

/* ---- decoding, as observation does it ---- */

/*
 * One message of a route dump into k and v, with the code that observation
 * runs: 1 when it is a route of sluice's, 0 when it is not. The device is
 * left as its ifindex in *ret_ifindex (observation then asks the kernel
 * for its name; v->dev stays empty here). msg is a netlink message (struct
 * nlmsghdr) whose nlmsg_len fits in what the caller holds, as
 * nl_msg_ok (nl.h) checks. Exposed for tests/fuzz/fuzz_netlink.c.
 */
int route_decode(const void *msg, struct sl_route_key *k, struct sl_route_value *v, uint32_t *ret_ifindex);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The link backend: the network devices sluice owns in this network
 * namespace (kinds/device.h: their keys, values and names; today the
 * overlay's sluice_vxlan), read with a dump, written with batched requests,
 * over NETLINK_ROUTE through the netlink engine (nl.h). This header has no
 * libmnl type in it.
 *
 * Ownership: a device is sluice's when its alias (IFLA_IFALIAS) is
 * SL_DEVICE_ALIAS. Observation returns only those; nothing else is ever
 * changed or removed:
 *   - add is RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL: a device of that
 *     name, whoever's, makes it fail with -EEXIST. The kernel sets no
 *     alias on a device it creates, so the alias goes on in a second
 *     request (its "mark"), sent only when the creation succeeded and only
 *     to a device found by name that is a VXLAN device without an alias;
 *     a mark that fails removes the device it had just made (by ifindex),
 *     so the next apply starts again instead of finding a foreign device;
 *   - change and removal first ask the kernel for the device by name and
 *     go on, by ifindex, only when it carries sluice's alias (-EPERM
 *     otherwise, left alone).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/kerr.h"
#include "datapath/nlreq.h"
#include "kinds/device.h"

struct sl_link;

/* A NETLINK_ROUTE socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK, in the
 * caller's network namespace. */
int link_open(struct sl_link **ret, struct sl_kerr *e);
/* Accepts NULL. */
void link_close(struct sl_link *l);

/*
 * Dump the devices and call cb for each that is sluice's, with a struct
 * sl_device_key and a struct sl_device_value valid during the call only. cb returns 0 to go on, < 0 to stop:
 * that value is returned. No kernel write.
 */
int link_observe(struct sl_link *l, int (*cb)(void *ctx, const void *k, const void *v), void *ctx,
		 struct sl_kerr *e);

/*
 * Who holds a device name: 0 nobody, 1 a device of sluice's, 2 a device
 * that is not sluice's; -errno with e set when the kernel could not say.
 * No kernel write.
 */
int link_holder(struct sl_link *l, const char *name, struct sl_kerr *e);

/* The MTU of a device by name in this network namespace: > 0, or -errno
 * (-ENODEV: no such device). */
int link_mtu(const char *name);

/*
 * Whether a UDP port is free to bind on any address of this network
 * namespace (IPv4, and IPv6 where the kernel has it): 0 free, -EADDRINUSE
 * when a socket holds it, another -errno when it could not tell. Binds and
 * closes a socket of each family, nothing more.
 */
int link_udp_port_free(uint16_t port);

/* ---- batches ---- */

enum sl_link_op {
	SL_LINK_OP_ADD = SL_NL_OP_ADD,	     /* create, then mark (the alias) */
	SL_LINK_OP_CHANGE = SL_NL_OP_CHANGE, /* MTU and up, in place */
	SL_LINK_OP_DEL = SL_NL_OP_DEL,
	SL_LINK_OP__MAX
};

/* One request: struct sl_nl_req (nlreq.h). kind is 0, key a struct
 * sl_device_key, value a struct sl_device_value (del: as observed, names
 * only; may be NULL). err is set by link_batch: 0 or -errno. */
#define sl_link_req sl_nl_req

/*
 * Run the requests in order with the netlink engine's batch (nl_batch).
 * Every request is tried; each one's err says how it went. Returns 0 when
 * all succeeded; otherwise the -errno of the first failure, with e naming
 * that device and carrying the kernel's message. on_error, when given, is
 * called for every failure, in request order.
 */
int link_batch(struct sl_link *l, struct sl_link_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_link_req *req, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e);

/* One at a time, through link_batch. */
int link_add(struct sl_link *l, const struct sl_device_key *k, const struct sl_device_value *v, struct sl_kerr *e);
int link_change(struct sl_link *l, const struct sl_device_key *k, const struct sl_device_value *v,
		struct sl_kerr *e);
int link_del(struct sl_link *l, const struct sl_device_key *k, struct sl_kerr *e);

/*
 * One message of a link dump into k and v, with the code observation runs:
 * 1 when it is a device of sluice's, 0 when not. The underlay is left as
 * its ifindex in *ret_link (v->underlay stays empty here). msg is a
 * netlink message whose nlmsg_len fits in what the caller holds.
 */
int link_decode(const void *msg, struct sl_device_key *k, struct sl_device_value *v, uint32_t *ret_link);

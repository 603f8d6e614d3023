/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request of a netlink batch (nl.h's engine), as the backends' batch
 * functions take it: xfrm_batch (struct sl_xfrm_req) and route_batch
 * (struct sl_route_req) are both this type, under their own names. No
 * libmnl type in it.
 */
#pragma once

#include <stdint.h>

/* The ops every netlink kind's batch takes, in this order of values (the
 * kinds' own enums, sl_xfrm_op and sl_route_op, are these). */
enum sl_nl_op { SL_NL_OP_ADD, SL_NL_OP_CHANGE, SL_NL_OP_DEL, SL_NL_OP__MAX };

struct sl_nl_req {
	uint8_t op;   /* the backend's enum sl_*_op */
	uint8_t kind; /* the backend's kind (enum sl_xfrm_kind; routes: 0) */
	uint8_t pad[2];
	int err;	   /* set by the batch: 0 or -errno */
	const void *key;   /* the kind's key */
	const void *value; /* to write (add, update, replace), or as observed (del) */
};

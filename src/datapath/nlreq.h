/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request of a netlink batch (nl.h's engine), as the backends' batch
 * functions take it: xfrm_batch (struct sl_xfrm_req) and route_batch
 * (struct sl_route_req) are both this type, under their own names. No
 * libmnl type in it.
 */
#pragma once

#include <stdint.h>

struct sl_nl_req {
	uint8_t op;   /* the backend's enum sl_*_op */
	uint8_t kind; /* the backend's kind (enum sl_xfrm_kind; routes: 0) */
	uint8_t pad[2];
	int err;	   /* set by the batch: 0 or -errno */
	const void *key;   /* the kind's key */
	const void *value; /* to write (add, update, replace), or as observed (del) */
};

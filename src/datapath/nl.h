/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the libmnl backends (xfrm.c, route.c) share: how a netlink socket
 * of theirs is opened, and how an ack is read. Inside src/datapath/ only.
 */
#pragma once

#include <libmnl/libmnl.h>
#include <stdbool.h>

#include "kernel.h"

/*
 * Whether a netlink message of len bytes starts at nlh: mnl_nlmsg_ok, less
 * its flaw. libmnl (1.0.4) compares nlmsg_len with len as an int, so a
 * length of 2 GiB or more passes and mnl_nlmsg_next then steps far outside
 * the buffer. Every loop over received messages uses this one.
 */
static inline bool nl_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (unsigned)len;
}

/*
 * Open and bind a socket of bus (NETLINK_XFRM, NETLINK_ROUTE) in the
 * caller's network namespace, with NETLINK_EXT_ACK (the kernel's message
 * comes with an error) and NETLINK_CAP_ACK (without the request), and a
 * receive buffer of rcvbuf bytes (forced when privileged, else as large as
 * the system allows): room for every error of a batch that fails whole.
 * who and bus_name name it in errors ("xfrm", "NETLINK_XFRM").
 * Returns 0, or -errno with e set.
 */
int nl_open(int bus, const char *who, const char *bus_name, int rcvbuf, struct mnl_socket **ret,
	    struct sl_kerr *e);

/* The error of an NLMSG_ERROR or NLMSG_DONE message and the kernel's
 * message (NLMSGERR_ATTR_MSG), NULL when none. Returns 0, or -EBADMSG. */
int nl_ack_parse(const struct nlmsghdr *nlh, int *ret_err, const char **ret_msg);

/*
 * Read the answers to a chunk of n requests sent back to back with
 * sequence numbers seq0, seq0 + 1, ..., where only the request at index
 * last asked for an ack (the others are answered only when they fail).
 * on_error(ctx, i, err, msg) is called for each failed request i (0..n-1)
 * in the order the kernel answers. Returns NULL once the last ack has
 * arrived; else why the outcome of the others is unknown (replies lost to
 * a full receive buffer, or none at all), for the caller to report.
 */
const char *nl_acks_read(struct mnl_socket *nl, void *buf, size_t buf_len, uint32_t seq0, size_t n, size_t last,
			 void (*on_error)(void *ctx, size_t i, int err, const char *msg), void *ctx);

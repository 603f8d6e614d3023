/* SPDX-License-Identifier: Apache-2.0 */
/* Netlink plumbing shared by the libmnl backends, and kerr (nl.h,
 * internal.h): linked wherever any of the backends is. */
#include "nl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "internal.h"

void kerr(struct sl_kerr *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

int nl_open(int bus, const char *who, const char *bus_name, int rcvbuf, struct mnl_socket **ret,
	    struct sl_kerr *e)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int one = 1, fd, r;

	*ret = NULL;
	if (!nl) {
		r = -errno;
		kerr(e, "%s: opening a %s socket: %s", who, bus_name, strerror(-r));
		return r;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		kerr(e, "%s: binding the netlink socket: %s", who, strerror(-r));
		mnl_socket_close(nl);
		return r;
	}
	if (mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		r = -errno;
		kerr(e, "%s: setting NETLINK_EXT_ACK and NETLINK_CAP_ACK: %s", who, strerror(-r));
		mnl_socket_close(nl);
		return r;
	}
	fd = mnl_socket_get_fd(nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	*ret = nl;
	return 0;
}

int nl_ack_parse(const struct nlmsghdr *nlh, int *ret_err, const char **ret_msg)
{
	const uint8_t *payload = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off;
	const struct nlattr *a;

	*ret_msg = NULL;
	*ret_err = 0;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (plen < sizeof(int))
			return 0;
		memcpy(ret_err, payload, sizeof(int));
		off = sizeof(int);
	} else {
		const struct nlmsgerr *me = (const struct nlmsgerr *)payload;

		if (plen < sizeof(*me))
			return -EBADMSG;
		*ret_err = me->error;
		off = sizeof(*me);
		/* Without NETLINK_CAP_ACK's cap, the request follows whole. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && me->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += MNL_ALIGN(me->msg.nlmsg_len) - sizeof(struct nlmsghdr);
	}
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= plen)
		return 0;
	for (a = (const struct nlattr *)(payload + off); mnl_attr_ok(a, (int)((payload + plen) - (const uint8_t *)a));
	     a = mnl_attr_next(a))
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			*ret_msg = mnl_attr_get_str(a);
	return 0;
}

const char *nl_acks_read(struct mnl_socket *nl, void *buf, size_t buf_len, uint32_t seq0, size_t n, size_t last,
			 void (*on_error)(void *ctx, size_t i, int err, const char *msg), void *ctx)
{
	int fd = mnl_socket_get_fd(nl);
	bool done = false, lost = false;

	while (!done) {
		ssize_t got = recv(fd, buf, buf_len, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int len;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* Replies were dropped: the receive buffer filled. */
				lost = true;
				continue;
			}
			/* EAGAIN: the kernel answered everything it will. */
			break;
		}
		len = (int)got;
		for (nlh = buf; nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			size_t i = nlh->nlmsg_seq - seq0;
			const char *msg;
			int err;

			if (nlh->nlmsg_type != NLMSG_ERROR || i >= n || nl_ack_parse(nlh, &err, &msg) < 0)
				continue;
			if (err < 0)
				on_error(ctx, i, err, msg);
			if (i == last)
				done = true;
		}
	}
	if (done && !lost)
		return NULL;
	return lost ? "the kernel's replies overflowed the socket; observe again"
		    : "no reply from the kernel; observe again";
}

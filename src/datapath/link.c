/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The link backend (link.h): sluice's devices over NETLINK_ROUTE, through
 * the netlink engine (nl.h). What is here is only the devices': their
 * encoding, decoding, names and ownership (the alias), the lookup by name
 * that every change and removal takes first, and the two small questions
 * preflight asks (the MTU of a device, whether a UDP port is free).
 *
 * The attributes are the kernel's and iproute2's (ip/iplink_vxlan.c):
 * IFLA_VXLAN_PORT in network order, IFLA_VXLAN_COLLECT_METADATA for
 * `external`, IFLA_VXLAN_LEARNING 0 for `nolearning`, IFLA_VXLAN_LINK for
 * `dev`. The kernel changes none of these on an existing device ("Cannot
 * change port"), so only the MTU, up and ARP (IFF_NOARP) change in place.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "datapath/link.h"
#include "datapath/nl.h"

/* if_nametoindex and if_indextoname: <net/if.h> clashes with <linux/if.h>. */
extern unsigned int if_nametoindex(const char *ifname);
extern char *if_indextoname(unsigned int ifindex, char *ifname);

/* The largest single request (a creation: ~150 bytes). */
#define LINK_REQ_MAX 512
/* The mark: the alias put on a device once it is made (an op of this
 * module only, after the engine's three). */
#define LINK_OP_MARK SL_LINK_OP__MAX
/* What a lookup found, in its cookie beside the ifindex. */
#define LOOKUP_OWNED 0x80000000u
#define LOOKUP_VXLAN 0x40000000u
#define LOOKUP_NOALIAS 0x20000000u
#define LOOKUP_IFINDEX 0x1fffffffu

#ifndef RTEXT_FILTER_SKIP_STATS
#define RTEXT_FILTER_SKIP_STATS (1 << 3)
#endif

struct sl_link {
	struct nl_sock s;
};

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A 16-byte NUL-padded name field: terminated, and zeros after its end. */
static bool name_ok(const char *f, bool may_be_empty)
{
	size_t l = strnlen(f, 16);

	return l < 16 && (l || may_be_empty) && zero(f + l, 16 - l);
}

/* ---- the socket ---- */

int link_open(struct sl_link **ret, struct sl_kerr *e)
{
	struct sl_link *l;
	int err;

	*ret = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	err = nl_sock_open(&l->s, NETLINK_ROUTE, "devices", "NETLINK_ROUTE", LINK_REQ_MAX, e);
	if (err < 0) {
		link_close(l);
		return err;
	}
	*ret = l;
	return 0;
}

void link_close(struct sl_link *l)
{
	if (!l)
		return;
	nl_sock_close(&l->s);
	free(l);
}

/* ---- decoding ---- */

/* One device of a dump or a lookup, as far as this module reads it. */
struct link_seen {
	uint32_t ifindex, mtu, link;
	unsigned flags;
	char name[IFNAMSIZ];
	bool has_alias, vxlan, metadata, learning;
	char alias[64];
	uint16_t port; /* host order */
};

static void parse_vxlan(const struct nlattr *data, struct link_seen *s)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, data) {
		size_t al = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case IFLA_VXLAN_PORT:
			if (al >= 2)
				s->port = ntohs(mnl_attr_get_u16(a));
			break;
		case IFLA_VXLAN_COLLECT_METADATA:
			if (al >= 1)
				s->metadata = mnl_attr_get_u8(a);
			break;
		case IFLA_VXLAN_LEARNING:
			if (al >= 1)
				s->learning = mnl_attr_get_u8(a);
			break;
		case IFLA_VXLAN_LINK:
			if (al >= 4)
				s->link = mnl_attr_get_u32(a);
			break;
		default:
			break;
		}
	}
}

static void parse_linkinfo(const struct nlattr *nest, struct link_seen *s)
{
	const struct nlattr *a, *data = NULL;

	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_INFO_KIND:
		{
			/* "vxlan", with or without its NUL: never read past the
			 * attribute */
			size_t al = mnl_attr_get_payload_len(a);
			const char *p = mnl_attr_get_payload(a);

			s->vxlan = al >= 5 && !memcmp(p, "vxlan", 5) && (al == 5 || p[5] == '\0');
		}
			break;
		case IFLA_INFO_DATA:
			data = a;
			break;
		default:
			break;
		}
	}
	/* (the data's meaning is the kind's: read only a VXLAN's) */
	if (data && s->vxlan)
		parse_vxlan(data, s);
}

/* A device of an RTM_NEWLINK message into s; 1, or 0 when it is none. */
static int link_parse(const struct nlmsghdr *nlh, struct link_seen *s)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return 0;
	memset(s, 0, sizeof(*s));
	s->learning = true; /* the kernel's default */
	s->ifindex = ifm->ifi_index > 0 ? (uint32_t)ifm->ifi_index : 0;
	s->flags = ifm->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifm)) {
		size_t al = mnl_attr_get_payload_len(a);
		const char *p = mnl_attr_get_payload(a);

		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			memcpy(s->name, p, strnlen(p, al < IFNAMSIZ - 1 ? al : IFNAMSIZ - 1));
			break;
		case IFLA_MTU:
			if (al >= 4)
				s->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_IFALIAS:
			s->has_alias = al > 0 && p[0];
			memcpy(s->alias, p, strnlen(p, al < sizeof(s->alias) - 1 ? al : sizeof(s->alias) - 1));
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(a, s);
			break;
		default:
			break;
		}
	}
	return s->ifindex && s->name[0];
}

static bool seen_owned(const struct link_seen *s)
{
	return s->has_alias && !strcmp(s->alias, SL_DEVICE_ALIAS);
}

static void seen_to(const struct link_seen *s, struct sl_device_key *k, struct sl_device_value *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	memcpy(k->name, s->name, strnlen(s->name, sizeof(k->name) - 1));
	/* a device of sluice's that is no VXLAN reads as type 0: made again */
	v->type = s->vxlan ? SL_DEVICE_VXLAN : 0;
	v->up = !!(s->flags & IFF_UP);
	v->noarp = !!(s->flags & IFF_NOARP);
	v->port = s->port;
	v->mtu = s->mtu;
	v->external = s->vxlan && s->metadata && !s->learning;
}

int link_decode(const void *msg, struct sl_device_key *k, struct sl_device_value *v, uint32_t *ret_link)
{
	struct link_seen s;

	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	*ret_link = 0;
	if (!link_parse(msg, &s) || !seen_owned(&s))
		return 0;
	seen_to(&s, k, v);
	*ret_link = s.link;
	return 1;
}

/* ---- observe ---- */

static int observe_decode(void *octx, const struct nlmsghdr *nlh, void *key, void *val)
{
	struct sl_device_value *v = val;
	struct link_seen s;
	char name[IFNAMSIZ] = "";

	(void)octx;
	if (!link_parse(nlh, &s) || !seen_owned(&s))
		return 0;
	seen_to(&s, key, v);
	/* the underlay by name (a lower device gone reads as none) */
	if (s.link && if_indextoname(s.link, name))
		memcpy(v->underlay, name, strnlen(name, sizeof(v->underlay) - 1));
	return 1;
}

static const struct nl_kind_ops link_ops;

int link_observe(struct sl_link *l, int (*cb)(void *ctx, const void *k, const void *v), void *ctx,
		 struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + 128] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct nl_dump_opts o = { .what = "devices: reading the devices" };
	struct nlattr *li;
	int r;

	nlh->nlmsg_type = RTM_GETLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	/* only VXLAN devices, where the kernel knows the kind (every device
	 * otherwise: decode reads the alias either way) */
	li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	mnl_attr_nest_end(nlh, li);
	r = nl_observe(&l->s, nlh, &o, &link_ops, l, cb, ctx, e);
	if (r >= 0 && o.intr) {
		kerr(e, "devices: the devices changed while they were read; observe again");
		return -EAGAIN;
	}
	return r;
}

/* ---- one device by name ---- */

static void put_getlink(struct nlmsghdr *nlh, const char *name)
{
	nlh->nlmsg_type = RTM_GETLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
}

struct holder_ctx {
	uint32_t seq;
	int err;
	bool found, owned;
};

static int holder_each(void *ctx, const struct nlmsghdr *nlh)
{
	struct holder_ctx *h = ctx;
	struct link_seen s;
	const char *msg;

	if (nlh->nlmsg_seq != h->seq)
		return 0;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nl_ack_parse(nlh, &h->err, &msg) < 0)
			h->err = -EBADMSG;
		return 1;
	}
	if (link_parse(nlh, &s)) {
		h->found = true;
		h->owned = seen_owned(&s);
	}
	return 1;
}

int link_holder(struct sl_link *l, const char *name, struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + 128] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct holder_ctx h = { .seq = l->s.seq++ };
	int r;

	put_getlink(nlh, name);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = h.seq;
	if (mnl_socket_sendto(l->s.nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		kerr(e, "devices: asking for device %s: %s", name, strerror(-r));
		return r;
	}
	r = nl_recv(&l->s, 0, holder_each, &h, NULL);
	if (r < 0) {
		kerr(e, "devices: asking for device %s: %s", name, strerror(-r));
		return r;
	}
	if (h.err == -ENODEV)
		return 0;
	if (h.err < 0) {
		kerr(e, "devices: asking for device %s: %s", name, strerror(-h.err));
		return h.err;
	}
	return !h.found ? 0 : h.owned ? 1 : 2;
}

int link_mtu(const char *name)
{
	struct ifreq ifr;
	int fd, r;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -ENODEV;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	r = ioctl(fd, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu > 0 ? ifr.ifr_mtu : -EINVAL;
	close(fd);
	return r;
}

static int bind_test(int family, uint16_t port)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, r = 0;

	if (fd < 0)
		return family == AF_INET6 && errno == EAFNOSUPPORT ? 0 : -errno;
	if (family == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

		r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	}
	if (r < 0)
		r = -errno;
	close(fd);
	return r;
}

int link_udp_port_free(uint16_t port)
{
	int r = bind_test(AF_INET, port);

	return r < 0 ? r : bind_test(AF_INET6, port);
}

/* ---- requests ---- */

struct link_batch_ctx {
	struct sl_link *l;
	uint32_t *found; /* by request: what its lookup found (the cookie) */
};

static void req_name(void *octx, const struct sl_link_req *q, char *buf, size_t len)
{
	(void)octx;
	if (!q->key) {
		snprintf(buf, len, "device request without a key");
		return;
	}
	if (q->op == LINK_OP_MARK) {
		char n[64];

		sl_device_name(q->key, NULL, n, sizeof(n));
		snprintf(buf, len, "%s (marking it as sluice's: alias '%s')", n, SL_DEVICE_ALIAS);
		return;
	}
	sl_device_name(q->key, q->op == SL_LINK_OP_DEL ? NULL : q->value, buf, len);
}

static const char *refusal(void *octx, const struct sl_link_req *q, int *err)
{
	const struct sl_device_key *k = q->key;
	const struct sl_device_value *v = q->value;

	(void)octx;
	*err = -EINVAL;
	if (q->op > LINK_OP_MARK)
		return "unknown request";
	if (!k)
		return "no key";
	if (!name_ok(k->name, false))
		return "device name empty, not terminated (15 characters at most) or with bytes after its end";
	if (q->op == SL_LINK_OP_DEL || q->op == LINK_OP_MARK)
		return NULL;
	if (!v)
		return "no value";
	if (v->type != SL_DEVICE_VXLAN) {
		*err = -EOPNOTSUPP;
		return "sluice makes VXLAN devices only";
	}
	if (!v->mtu || v->mtu > 65535)
		return "MTU not in 1..65535";
	if (v->noarp > 1)
		return "noarp is 0 or 1";
	if (q->op == SL_LINK_OP_CHANGE)
		return NULL;
	if (!v->external) {
		*err = -EOPNOTSUPP;
		return "sluice makes VXLAN devices in external (collect-metadata) mode only";
	}
	if (!v->port)
		return "no UDP port";
	if (!name_ok(v->underlay, true))
		return "underlay name not terminated (15 characters at most) or with bytes after its end";
	if (!zero(v->pad, sizeof(v->pad)))
		return "value has nonzero padding";
	return NULL;
}

static bool needs_lookup(const struct sl_link_req *q)
{
	return q->op != SL_LINK_OP_ADD;
}

static void encode_lookup(const struct sl_link_req *q, struct nlmsghdr *nlh)
{
	const struct sl_device_key *k = q->key;

	put_getlink(nlh, k->name);
}

static int lookup_reply(const struct nlmsghdr *nlh, uint32_t *cookie)
{
	struct link_seen s;

	if (!link_parse(nlh, &s))
		return 0;
	*cookie = (s.ifindex & LOOKUP_IFINDEX) | (seen_owned(&s) ? LOOKUP_OWNED : 0) | (s.vxlan ? LOOKUP_VXLAN : 0) |
		  (s.has_alias ? 0 : LOOKUP_NOALIAS);
	return 1;
}

/* Between a chunk's lookups and its requests: each goes on only to a
 * device it may touch. */
static void between(void *octx, struct nl_batch *b, size_t start, size_t end)
{
	struct link_batch_ctx *c = octx;

	for (size_t i = start; i < end; i++) {
		const struct sl_link_req *q = &b->reqs[i];
		uint32_t f = b->cookie[i - start];

		if (q->err)
			continue;
		c->found[i] = f;
		if (q->op == LINK_OP_MARK) {
			/* only the device its creation (the request before)
			 * just made: a VXLAN device with no alias */
			if (!i || b->reqs[i - 1].op != SL_LINK_OP_ADD || b->reqs[i - 1].err)
				nl_batch_fail(b, i, -ECANCELED, "its creation failed");
			else if (!(f & LOOKUP_VXLAN) || !(f & LOOKUP_NOALIAS))
				nl_batch_fail(b, i, -EPERM,
					      "the device of that name is not the one just made (another VXLAN device "
					      "without an alias); left alone");
		} else if (!(f & LOOKUP_OWNED)) {
			nl_batch_fail(b, i, -EPERM,
				      "the device of that name is not sluice's (its alias is not '" SL_DEVICE_ALIAS
				      "'); left alone");
		}
	}
}

static void put_vxlan(struct nlmsghdr *nlh, const struct sl_device_value *v, uint32_t link)
{
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO), *data;

	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (link)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, link);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(v->port));
	mnl_attr_put_u8(nlh, IFLA_VXLAN_COLLECT_METADATA, 1);
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
}

static int encode(void *octx, const struct sl_link_req *q, uint32_t cookie, struct nlmsghdr *nlh, char *why,
		  size_t why_len)
{
	const struct sl_device_key *k = q->key;
	const struct sl_device_value *v = q->value;
	struct ifinfomsg *ifm;
	uint32_t link = 0;

	(void)octx;
	if (q->op == SL_LINK_OP_ADD && v->underlay[0]) {
		link = if_nametoindex(v->underlay);
		if (!link) {
			snprintf(why, why_len, "underlay device %s does not exist", v->underlay);
			return -ENODEV;
		}
	}
	nlh->nlmsg_type = q->op == SL_LINK_OP_DEL ? RTM_DELLINK : RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)(cookie & LOOKUP_IFINDEX);
	switch (q->op) {
	case SL_LINK_OP_ADD:
		/* made up at once: a port that cannot be bound fails the
		 * creation whole (the kernel unregisters the device) */
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
		ifm->ifi_index = 0;
		ifm->ifi_flags = (v->up ? IFF_UP : 0) | (v->noarp ? IFF_NOARP : 0);
		ifm->ifi_change = IFF_UP | IFF_NOARP;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, k->name);
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
		put_vxlan(nlh, v, link);
		break;
	case SL_LINK_OP_CHANGE:
		ifm->ifi_flags = (v->up ? IFF_UP : 0) | (v->noarp ? IFF_NOARP : 0);
		ifm->ifi_change = IFF_UP | IFF_NOARP;
		mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
		break;
	case LINK_OP_MARK:
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, SL_DEVICE_ALIAS);
		break;
	default: /* del: by ifindex alone */
		break;
	}
	return 0;
}

/* After: say what made a creation fail when the kernel does not. */
static void explain(void *octx, struct nl_batch *b)
{
	(void)octx;
	for (size_t j = 0; j < b->n_fails; j++) {
		struct nl_fail *f = &b->fails[j];
		const struct sl_link_req *q = &b->reqs[f->i];

		if (q->op == SL_LINK_OP_ADD && f->err == -EEXIST)
			snprintf(f->why, sizeof(f->why),
				 "a device of that name exists (made since it was observed, or not sluice's); left "
				 "alone");
		else if (q->op != SL_LINK_OP_ADD && f->err == -ENODEV && !f->why[0])
			snprintf(f->why, sizeof(f->why), "no device of that name");
	}
}

static const struct nl_kind_ops link_ops = {
	.key_size = sizeof(struct sl_device_key),
	.val_size = sizeof(struct sl_device_value),
	.decode = observe_decode,
	.refusal = refusal,
	.encode = encode,
	.name = req_name,
	.explain = explain,
	.lookup = needs_lookup,
	.encode_lookup = encode_lookup,
	.lookup_reply = lookup_reply,
	.between = between,
	.lookup_foreign = "no device of that name",
};

static const struct nl_kind_ops *const kinds[] = { &link_ops };

/* A device made whose mark failed: removed again (by the ifindex its
 * lookup found), so that the next apply makes it anew. */
static int unmake(struct sl_link *l, uint32_t ifindex)
{
	uint8_t req[MNL_NLMSG_HDRLEN + 64] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ifinfomsg *ifm;
	const char *msg;
	int err, r;

	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_index = (int)ifindex;
	r = nl_talk(&l->s, nlh, &err, &msg);
	return r < 0 ? r : err;
}

int link_batch(struct sl_link *l, struct sl_link_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_link_req *req, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e)
{
	struct link_batch_ctx c = { .l = l };
	_cleanup_free_ struct sl_link_req *x = NULL;
	_cleanup_free_ size_t *from = NULL;
	size_t m = 0;
	bool unmade = false;
	int ret;

	if (!n)
		return 0;
	/* each creation followed by its mark */
	x = calloc(2 * n, sizeof(*x));
	from = calloc(2 * n, sizeof(*from));
	c.found = calloc(2 * n, sizeof(*c.found));
	if (!x || !from || !c.found) {
		free(c.found);
		kerr(e, "devices: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		from[m] = i;
		x[m++] = reqs[i];
		if (reqs[i].op == SL_LINK_OP_ADD) {
			from[m] = i;
			x[m] = reqs[i];
			x[m++].op = LINK_OP_MARK;
		}
	}
	ret = nl_batch(&l->s, kinds, ARRAY_SIZE(kinds), &c, x, m, on_error, ctx, e);
	for (size_t i = 0; i < n; i++)
		reqs[i].err = 0;
	for (size_t j = 0; j < m; j++) {
		if (x[j].op == LINK_OP_MARK && x[j].err && x[j].err != -ECANCELED && !x[j - 1].err &&
		    (c.found[j] & LOOKUP_VXLAN) && (c.found[j] & LOOKUP_NOALIAS) &&
		    unmake(l, c.found[j] & LOOKUP_IFINDEX) == 0)
			unmade = true;
		if (x[j].err && !reqs[from[j]].err)
			reqs[from[j]].err = x[j].err;
	}
	if (unmade && e) {
		size_t len = strlen(e->msg);

		snprintf(e->msg + len, sizeof(e->msg) - len, "; the device that could not be marked was removed again");
	}
	free(c.found);
	return ret;
}

static int one(struct sl_link *l, uint8_t op, const struct sl_device_key *k, const struct sl_device_value *v,
	       struct sl_kerr *e)
{
	struct sl_link_req q = { .op = op, .key = k, .value = v };

	return link_batch(l, &q, 1, NULL, NULL, e);
}

int link_add(struct sl_link *l, const struct sl_device_key *k, const struct sl_device_value *v, struct sl_kerr *e)
{
	return one(l, SL_LINK_OP_ADD, k, v, e);
}

int link_change(struct sl_link *l, const struct sl_device_key *k, const struct sl_device_value *v,
		struct sl_kerr *e)
{
	return one(l, SL_LINK_OP_CHANGE, k, v, e);
}

int link_del(struct sl_link *l, const struct sl_device_key *k, struct sl_kerr *e)
{
	return one(l, SL_LINK_OP_DEL, k, NULL, e);
}

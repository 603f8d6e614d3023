/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route backend (route.h): sluice's routes over NETLINK_ROUTE, through
 * the netlink engine (nl.h). What is here is only the routes': their
 * encoding, decoding, names and ownership, devices by name, and the read of
 * sluice's tables that says whose route holds a key (before a replace,
 * after a failure).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/lwtunnel.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/util.h"
#include "datapath/internal.h"
#include "datapath/nl.h"
#include "datapath/route.h"

/* The largest single request (~170 bytes with every attribute). */
#define ROUTE_REQ_MAX 512
/* Devices remembered during one batch or observation. */
#define ROUTE_DEVS 16

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

_Static_assert((int)SL_ROUTE_UNICAST == (int)RTN_UNICAST && (int)SL_ROUTE_LOCAL == (int)RTN_LOCAL,
	       "route types are the kernel's");
_Static_assert((int)SL_ROUTE_ENCAP_IP == (int)LWTUNNEL_ENCAP_IP && (int)SL_ROUTE_ENCAP_IP6 == (int)LWTUNNEL_ENCAP_IP6,
	       "encapsulation types are the kernel's");
/* One parser for both: the IPv6 tunnel's attributes have the IPv4 one's
 * numbers. */
_Static_assert((int)LWTUNNEL_IP_ID == (int)LWTUNNEL_IP6_ID && (int)LWTUNNEL_IP_DST == (int)LWTUNNEL_IP6_DST &&
		       (int)LWTUNNEL_IP_SRC == (int)LWTUNNEL_IP6_SRC &&
		       (int)LWTUNNEL_IP_TTL == (int)LWTUNNEL_IP6_HOPLIMIT && (int)LWTUNNEL_IP_TOS == (int)LWTUNNEL_IP6_TC &&
		       (int)LWTUNNEL_IP_FLAGS == (int)LWTUNNEL_IP6_FLAGS && (int)LWTUNNEL_IP_PAD == (int)LWTUNNEL_IP6_PAD &&
		       (int)LWTUNNEL_IP_OPTS == (int)LWTUNNEL_IP6_OPTS,
	       "IP and IP6 tunnel attributes");

struct route_dev {
	uint32_t ifindex; /* 0: no device of that name */
	char name[SL_ROUTE_DEV_MAX];
};

struct sl_route {
	struct nl_sock s;
	bool strict; /* NETLINK_GET_STRICT_CHK: the kernel filters dumps */
	int via6;    /* IPv6 routes via IPv4 gateways: -1 not asked, 0 no, 1 yes */
	char via6_msg[160];
	struct route_dev devs[ROUTE_DEVS];
	size_t n_devs, next_dev;
};

static size_t addr_len(uint8_t family)
{
	return family == AF_INET6 ? 16 : 4;
}

static bool family_ok(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

/* The tables sluice's routes are in (kinds/route.h), in the order they are
 * read. */
static const uint32_t tables[] = { SL_ROUTE_TABLE_MAIN, SL_OVERLAY_TABLE, SL_PROXY_TABLE };

/* A table's place in tables[], or -1 when it is not one of sluice's. */
static int table_index(uint32_t table)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		if (tables[i] == table)
			return (int)i;
	return -1;
}

static bool table_ok(uint32_t table)
{
	return table_index(table) >= 0;
}

static bool type_ok(uint8_t type)
{
	return type == SL_ROUTE_UNICAST || type == SL_ROUTE_LOCAL;
}

/* The family of an IP tunnel encapsulation's outer address, or 0. */
static uint8_t encap_family(uint8_t type)
{
	return type == SL_ROUTE_ENCAP_IP ? AF_INET : type == SL_ROUTE_ENCAP_IP6 ? AF_INET6 : 0;
}

/* The scope of a route of sluice's, as iproute2 gives it: host for a local
 * route, universe otherwise. The kernel reports IPv6 routes as universe
 * whatever was asked (IPv6 has no route scopes). */
static uint8_t scope_of(uint8_t family, uint8_t type, bool reported)
{
	if (type != SL_ROUTE_LOCAL || (reported && family == AF_INET6))
		return RT_SCOPE_UNIVERSE;
	return RT_SCOPE_HOST;
}

/* Room for one more element in *v (this file links alone: no util.c). */
static int grow(void **v, size_t n, size_t *cap, size_t elem)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	p = realloc(*v, c * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- names ---- */

static void req_name(void *octx, const struct sl_route_req *q, char *buf, size_t len)
{
	(void)octx;
	if (!q->key)
		snprintf(buf, len, "route request without a key");
	else
		route_name(q->key, q->value, buf, len);
}

/* The names iproute2 gives route protocols, for messages. */
static const char *proto_str(uint8_t p, char *buf, size_t len)
{
	static const struct {
		uint8_t n;
		const char *s;
	} names[] = {
		{ RTPROT_UNSPEC, "unspec" }, { RTPROT_REDIRECT, "redirect" }, { RTPROT_KERNEL, "kernel" },
		{ RTPROT_BOOT, "boot" },     { RTPROT_STATIC, "static" },     { RTPROT_GATED, "gated" },
		{ RTPROT_RA, "ra" },	     { RTPROT_ZEBRA, "zebra" },	      { RTPROT_BIRD, "bird" },
		{ RTPROT_DHCP, "dhcp" },     { RTPROT_KEEPALIVED, "keepalived" }, { RTPROT_BABEL, "babel" },
		{ RTPROT_BGP, "bgp" },	     { RTPROT_ISIS, "isis" },	      { RTPROT_OSPF, "ospf" },
		{ RTPROT_RIP, "rip" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].n == p)
			return names[i].s;
	snprintf(buf, len, "%u", p);
	return buf;
}

/* ---- the socket ---- */

int route_open(struct sl_route **ret, struct sl_kerr *e)
{
	struct sl_route *r;
	int one = 1, err;

	*ret = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->via6 = -1;
	err = nl_sock_open(&r->s, NETLINK_ROUTE, "routes", "NETLINK_ROUTE", ROUTE_REQ_MAX, e);
	if (err < 0) {
		route_close(r);
		return err;
	}
	/* Dumps filtered by the kernel (table, protocol) since Linux 4.20;
	 * without it they are filtered here, as they are anyway. */
	r->strict = mnl_socket_setsockopt(r->s.nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) == 0;
	*ret = r;
	return 0;
}

void route_close(struct sl_route *r)
{
	if (!r)
		return;
	nl_sock_close(&r->s);
	free(r);
}

/* ---- devices ---- */

/*
 * Names and ifindexes through ioctls on the netlink socket itself: the
 * kernel answers SIOCGIFINDEX and SIOCGIFNAME on any socket, in that
 * socket's network namespace, which is the one of the routes.
 */
static void devs_forget(struct sl_route *r)
{
	r->n_devs = 0;
	r->next_dev = 0;
}

static struct route_dev *dev_remember(struct sl_route *r)
{
	struct route_dev *d;

	if (r->n_devs < ROUTE_DEVS)
		return &r->devs[r->n_devs++];
	d = &r->devs[r->next_dev];
	r->next_dev = (r->next_dev + 1) % ROUTE_DEVS;
	return d;
}

/* The ifindex of a device by name: > 0, or -errno. */
static int dev_index(struct sl_route *r, const char *name)
{
	struct route_dev *d;
	struct ifreq ifr;

	for (size_t i = 0; i < r->n_devs; i++)
		if (streq(r->devs[i].name, name))
			return r->devs[i].ifindex ? (int)r->devs[i].ifindex : -ENODEV;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	if (ioctl(mnl_socket_get_fd(r->s.nl), SIOCGIFINDEX, &ifr) < 0) {
		int err = -errno;

		if (err != -ENODEV)
			return err;
		ifr.ifr_ifindex = 0;
	}
	d = dev_remember(r);
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, strnlen(name, IFNAMSIZ - 1));
	d->ifindex = (uint32_t)ifr.ifr_ifindex;
	return d->ifindex ? (int)d->ifindex : -ENODEV;
}

/* The name of a device by ifindex into name (zeros when there is none). */
static void dev_name(struct sl_route *r, uint32_t ifindex, char name[SL_ROUTE_DEV_MAX])
{
	struct route_dev *d;
	struct ifreq ifr;

	memset(name, 0, SL_ROUTE_DEV_MAX);
	if (!ifindex)
		return;
	for (size_t i = 0; i < r->n_devs; i++) {
		if (r->devs[i].ifindex == ifindex) {
			memcpy(name, r->devs[i].name, SL_ROUTE_DEV_MAX);
			return;
		}
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = (int)ifindex;
	if (ioctl(mnl_socket_get_fd(r->s.nl), SIOCGIFNAME, &ifr) < 0)
		return;
	d = dev_remember(r);
	memset(d, 0, sizeof(*d));
	memcpy(d->name, ifr.ifr_name, strnlen(ifr.ifr_name, SL_ROUTE_DEV_MAX - 1));
	d->ifindex = ifindex;
	memcpy(name, d->name, SL_ROUTE_DEV_MAX);
}

/* ---- dumps ---- */

/* One route of a dump, as far as this module reads it. */
struct route_seen {
	struct sl_route_key k;
	struct sl_route_value v;
	uint32_t ifindex;
	uint8_t protocol, type, scope;
	bool owned;
};

static void parse_metrics(const struct nlattr *nest, uint32_t *mtu)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == RTAX_MTU && mnl_attr_get_payload_len(a) >= 4)
			*mtu = mnl_attr_get_u32(a);
	}
}

/*
 * An IP or IP6 tunnel encapsulation (RTA_ENCAP, nest may be NULL) into x,
 * whose type is set. The kernel gives every setting back
 * (ip_tun_fill_encap_info, ip6_tun_fill_encap_info): the id and the
 * destination, which sluice's routes have, and the source, TTL or hop
 * limit, TOS or traffic class and flags, zero in sluice's; anything else
 * (those not zero, options, an attribute this does not know, an id of
 * more than 32 bits, an id or a destination of the wrong length) sets
 * SL_ROUTE_ENCAP_F_OTHER.
 */
static void parse_encap(const struct nlattr *nest, struct sl_route_encap *x)
{
	const struct nlattr *a;
	size_t al = addr_len(encap_family(x->type));

	if (!nest)
		return;
	mnl_attr_for_each_nested(a, nest) {
		size_t n = mnl_attr_get_payload_len(a);
		const uint8_t *d = mnl_attr_get_payload(a);
		uint64_t id;

		switch (mnl_attr_get_type(a)) {
		case LWTUNNEL_IP_ID:
			if (n == sizeof(id)) {
				memcpy(&id, d, sizeof(id)); /* at any alignment */
				id = be64toh(id);
				x->id = (uint32_t)id;
				if (id > UINT32_MAX)
					x->flags |= SL_ROUTE_ENCAP_F_OTHER;
			} else {
				x->flags |= SL_ROUTE_ENCAP_F_OTHER;
			}
			break;
		case LWTUNNEL_IP_DST:
			if (n == al)
				memcpy(x->dst, d, al);
			else
				x->flags |= SL_ROUTE_ENCAP_F_OTHER;
			break;
		case LWTUNNEL_IP_SRC:
		case LWTUNNEL_IP_TTL:
		case LWTUNNEL_IP_TOS:
		case LWTUNNEL_IP_FLAGS:
			if (!zero(d, n))
				x->flags |= SL_ROUTE_ENCAP_F_OTHER;
			break;
		case LWTUNNEL_IP_PAD:
			break;
		default: /* options, or what this does not know */
			x->flags |= SL_ROUTE_ENCAP_F_OTHER;
			break;
		}
	}
}

/* A route of a dump into s; 1 when it is one this module considers (a
 * unicast-family route of one of sluice's tables: main, SL_OVERLAY_TABLE,
 * SL_PROXY_TABLE; TOS 0, no source prefix, not a cached clone), 0 when
 * not. s->owned says whether it is sluice's: protocol SL_RTPROT, unicast
 * or local, of the scope sluice gives those. */
static int route_parse(const struct nlmsghdr *nlh, struct route_seen *s)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *encap = NULL;
	uint16_t encap_type = 0;
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return 0;
	if (!family_ok(rtm->rtm_family) || rtm->rtm_dst_len > addr_len(rtm->rtm_family) * 8)
		return 0;
	if (rtm->rtm_tos || rtm->rtm_src_len || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	memset(s, 0, sizeof(*s));
	table = rtm->rtm_table;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		size_t al = mnl_attr_get_payload_len(a);
		const uint8_t *d = mnl_attr_get_payload(a);

		switch (mnl_attr_get_type(a)) {
		case RTA_TABLE:
			if (al >= 4)
				table = mnl_attr_get_u32(a);
			break;
		case RTA_DST:
			if (al >= addr_len(rtm->rtm_family))
				memcpy(s->k.prefix, d, addr_len(rtm->rtm_family));
			break;
		case RTA_PRIORITY:
			if (al >= 4)
				s->k.metric = mnl_attr_get_u32(a);
			break;
		case RTA_OIF:
			if (al >= 4)
				s->ifindex = mnl_attr_get_u32(a);
			break;
		case RTA_GATEWAY:
			if (al >= addr_len(rtm->rtm_family)) {
				s->v.gw_family = rtm->rtm_family;
				memcpy(s->v.gw, d, addr_len(rtm->rtm_family));
			}
			break;
		case RTA_VIA: {
			const struct rtvia *via = (const struct rtvia *)d;
			uint8_t f;

			if (al < sizeof(*via))
				break;
			f = (uint8_t)via->rtvia_family;
			if (family_ok(f) && al >= sizeof(*via) + addr_len(f)) {
				s->v.gw_family = f;
				memcpy(s->v.gw, via->rtvia_addr, addr_len(f));
			}
			break;
		}
		case RTA_METRICS:
			parse_metrics(a, &s->v.mtu);
			break;
		case RTA_ENCAP:
			encap = a;
			break;
		case RTA_ENCAP_TYPE:
			if (al >= 2)
				encap_type = mnl_attr_get_u16(a);
			break;
		default:
			break;
		}
	}
	if (!table_ok(table))
		return 0;
	/* (after the loop: the kernel puts RTA_ENCAP before its type) */
	if (encap_type) {
		s->v.encap.type = encap_type > UINT8_MAX ? UINT8_MAX : (uint8_t)encap_type;
		if (encap_family(s->v.encap.type))
			parse_encap(encap, &s->v.encap);
	}
	s->k.family = rtm->rtm_family;
	s->k.prefix_len = rtm->rtm_dst_len;
	s->k.table = table;
	s->k.type = rtm->rtm_type;
	if (rtm->rtm_flags & RTNH_F_ONLINK)
		s->v.flags |= SL_ROUTE_F_ONLINK;
	s->protocol = rtm->rtm_protocol;
	s->type = rtm->rtm_type;
	s->scope = rtm->rtm_scope;
	s->owned = rtm->rtm_protocol == SL_RTPROT && type_ok(rtm->rtm_type) &&
		   rtm->rtm_scope == scope_of(rtm->rtm_family, rtm->rtm_type, true);
	return 1;
}

int route_decode(const void *msg, struct sl_route_key *k, struct sl_route_value *v, uint32_t *ret_ifindex)
{
	struct route_seen s;

	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	*ret_ifindex = 0;
	if (route_parse(msg, &s) <= 0 || !s.owned)
		return 0;
	*k = s.k;
	*v = s.v;
	*ret_ifindex = s.ifindex;
	return 1;
}

/*
 * Dump one table of one family (0: every table), routes of one protocol
 * (0: all), and give each message to each() (nl_dump). A kernel without
 * NETLINK_GET_STRICT_CHK gives every route of the family: route_parse
 * keeps those of sluice's tables, and the callers look at the table.
 * *ret_intr tells whether the kernel said the routes changed during the
 * dump (NLM_F_DUMP_INTR).
 */
static int dump(struct sl_route *r, uint8_t family, uint32_t table, uint8_t protocol, const struct nl_kind_ops *ops,
		int (*each)(void *ctx, const struct nlmsghdr *nlh), int (*cb)(void *ctx, const void *k, const void *v),
		void *data, bool *ret_intr, struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct rtmsg)) + MNL_ATTR_HDRLEN + 4]
		__attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	/* A table that was never made is empty ("FIB table does not
	 * exist"). */
	struct nl_dump_opts o = { .empty_err = -ENOENT };
	int ret;

	o.what = family == AF_INET ? "routes: reading the IPv4 routes" : "routes: reading the IPv6 routes";
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm->rtm_family = family;
	if (r->strict) {
		rtm->rtm_protocol = protocol;
		if (table < 256)
			rtm->rtm_table = (uint8_t)table;
		else
			mnl_attr_put_u32(nlh, RTA_TABLE, table);
	}
	if (ops)
		ret = nl_observe(&r->s, nlh, &o, ops, r, cb, data, e);
	else
		ret = nl_dump(&r->s, nlh, &o, each, data, e);
	*ret_intr = o.intr;
	return ret;
}

/* ---- observe ---- */

/* A route of sluice's into k, v, its device by name. */
static int observe_decode(void *octx, const struct nlmsghdr *nlh, void *k, void *v)
{
	struct route_seen s;

	if (route_parse(nlh, &s) <= 0 || !s.owned)
		return 0;
	memcpy(k, &s.k, sizeof(s.k));
	dev_name(octx, s.ifindex, s.v.dev);
	memcpy(v, &s.v, sizeof(s.v));
	return 1;
}

static const struct nl_kind_ops route_ops;

struct observe_ctx {
	int (*cb)(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v);
	void *ctx;
};

static int observe_each(void *data, const void *k, const void *v)
{
	struct observe_ctx *o = data;

	return o->cb(o->ctx, k, v);
}

int route_observe(struct sl_route *r,
		  int (*cb)(void *ctx, const struct sl_route_key *k, const struct sl_route_value *v), void *ctx,
		  struct sl_kerr *e)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	struct observe_ctx o = { cb, ctx };

	devs_forget(r);
	/* Each of sluice's tables, routes of sluice's protocol, filtered by
	 * the kernel (a table never made reads as empty); a kernel that
	 * filters no dump gives every route of the family at once, and
	 * route_parse keeps those of sluice's tables. */
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		for (size_t t = 0; t < (r->strict ? ARRAY_SIZE(tables) : 1); t++) {
			bool intr;
			int ret = dump(r, families[i], r->strict ? tables[t] : 0, SL_RTPROT, &route_ops, NULL,
				       observe_each, &o, &intr, e);

			if (ret < 0)
				return ret;
			if (intr) {
				kerr(e, "routes: the %s routes changed while they were read; observe again",
				     families[i] == AF_INET ? "IPv4" : "IPv6");
				return -EAGAIN;
			}
		}
	}
	return 0;
}

/* ---- who holds a key ---- */

struct holder {
	uint8_t family, prefix_len;
	uint8_t protocol, type;
	uint32_t table, metric;
	uint8_t prefix[16];
	bool owned;
};

struct holders {
	struct holder *v;
	size_t n, cap;
	int err;
};

static int holder_cmp(const void *a, const void *b)
{
	const struct holder *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	if (x->prefix_len != y->prefix_len)
		return x->prefix_len < y->prefix_len ? -1 : 1;
	if (x->metric != y->metric)
		return x->metric < y->metric ? -1 : 1;
	return memcmp(x->prefix, y->prefix, sizeof(x->prefix));
}

static int holders_each(void *data, const struct nlmsghdr *nlh)
{
	struct holders *h = data;
	struct route_seen s;
	struct holder *o;

	if (route_parse(nlh, &s) <= 0)
		return 0;
	if (grow((void **)&h->v, h->n, &h->cap, sizeof(*h->v)) < 0)
		return -ENOMEM;
	o = &h->v[h->n++];
	memset(o, 0, sizeof(*o));
	o->family = s.k.family;
	o->prefix_len = s.k.prefix_len;
	o->table = s.k.table;
	o->metric = s.k.metric;
	memcpy(o->prefix, s.k.prefix, sizeof(o->prefix));
	o->protocol = s.protocol;
	o->type = s.type;
	o->owned = s.owned;
	return 0;
}

/* Every route of the tables and families in mask (holder_bit), sorted.
 * (A kernel that filters no dump gives every table of the family at its
 * first dump: one dump per family is asked for.) */
static int holders_load(struct sl_route *r, unsigned mask, struct holders *h)
{
	struct sl_kerr ignored;
	unsigned dumped = 0; /* families dumped whole (bit 0 IPv4, bit 1 IPv6) */

	h->n = 0;
	for (unsigned b = 0; b < 2 * ARRAY_SIZE(tables); b++) {
		unsigned fam = b & 1;
		bool intr;
		int ret;

		if (!(mask & (1u << b)) || (dumped & (1u << fam)))
			continue;
		if (!r->strict)
			dumped |= 1u << fam;
		ret = dump(r, fam ? AF_INET6 : AF_INET, tables[b / 2], 0, NULL, holders_each, NULL, h, &intr, &ignored);
		if (ret < 0)
			return ret;
	}
	if (h->n)
		qsort(h->v, h->n, sizeof(*h->v), holder_cmp);
	return 0;
}

static const struct holder *holder_find(const struct holders *h, const struct sl_route_key *k)
{
	struct holder want;

	if (!h->n)
		return NULL;
	memset(&want, 0, sizeof(want));
	want.family = k->family;
	want.prefix_len = k->prefix_len;
	want.table = k->table;
	want.metric = k->metric;
	memcpy(want.prefix, k->prefix, sizeof(want.prefix));
	return bsearch(&want, h->v, h->n, sizeof(*h->v), holder_cmp);
}

/* The bit of holders_load's mask for a key's family and table (one of
 * sluice's): bit 2t for IPv4 in tables[t], bit 2t+1 for IPv6. */
static unsigned holder_bit(const struct sl_route_key *k)
{
	int t = table_index(k->table);

	return t < 0 ? 0 : (k->family == AF_INET ? 1u : 2u) << (2 * t);
}

/* "a route that is not sluice's (proto boot) holds 10.2.0.0/24", "... holds
 * 0.0.0.0/0 in table 20928" */
static void foreign_str(const struct holder *o, const struct sl_route_key *k, char *buf, size_t len)
{
	char p[64], pb[8], type[24] = "", table[24] = "";

	route_prefix_name(k, p, sizeof(p));
	if (o->type != RTN_UNICAST)
		snprintf(type, sizeof(type), ", type %u", o->type);
	if (k->table != SL_ROUTE_TABLE_MAIN)
		snprintf(table, sizeof(table), " in table %u", k->table);
	snprintf(buf, len, "a route that is not sluice's (proto %s%s) holds %s%s%s",
		 proto_str(o->protocol, pb, sizeof(pb)), type, p, table, k->metric ? " at that metric" : "");
}

/* ---- requests ---- */

/* Why this module refuses to send q, or NULL (*err then the errno). */
static const char *refusal(const struct sl_route_req *q, int *err)
{
	const struct sl_route_key *k = q->key;
	const struct sl_route_value *v = q->value;
	size_t al;

	*err = -EINVAL;
	if (q->op >= SL_ROUTE_OP__MAX)
		return "unknown request";
	if (!k)
		return "no key";
	if (!family_ok(k->family)) {
		*err = -EAFNOSUPPORT;
		return "not an IPv4 or IPv6 route";
	}
	if (!table_ok(k->table)) {
		*err = -EPERM;
		return "sluice's routes are in the main table (254) and sluice's tables 20928 (proxy) and 20929 "
		       "(overlay) only: not sluice's, left alone";
	}
	if (!type_ok(k->type))
		return "not a unicast or local route";
	al = addr_len(k->family);
	if (k->prefix_len > al * 8)
		return "prefix length too long for the family";
	if (!zero(k->pad, sizeof(k->pad)) || !zero(k->prefix + al, sizeof(k->prefix) - al))
		return "key has nonzero padding or address bytes past the family's length";
	for (unsigned b = k->prefix_len; b < al * 8; b++)
		if (k->prefix[b / 8] & (0x80u >> (b % 8)))
			return "prefix has bits set past its length";
	if (k->family == AF_INET6 && !k->metric)
		return "IPv6 routes have no metric 0 (the kernel makes it 1024): ask SL_ROUTE_METRIC_V6";
	if (q->op == SL_ROUTE_OP_DEL)
		return NULL;
	if (!v)
		return "no value";
	if (v->gw_family && !family_ok(v->gw_family)) {
		*err = -EAFNOSUPPORT;
		return "gateway is not IPv4 or IPv6";
	}
	if (!zero(v->gw + (v->gw_family ? addr_len(v->gw_family) : 0),
		  sizeof(v->gw) - (v->gw_family ? addr_len(v->gw_family) : 0)))
		return "gateway has bytes set past its family's length";
	if (!memchr(v->dev, '\0', sizeof(v->dev)))
		return "device name not terminated (15 characters at most)";
	if (!v->dev[0])
		return "no device: sluice's routes name theirs";
	if (!zero(v->dev + strlen(v->dev), sizeof(v->dev) - strlen(v->dev)))
		return "device name has bytes set after its end";
	if (v->mtu > SL_ROUTE_MTU_MAX)
		return "MTU above 65520 (the kernel would cap it)";
	if (v->flags & ~SL_ROUTE_F_ONLINK)
		return "unknown flags";
	if (k->type == SL_ROUTE_LOCAL && (v->gw_family || v->flags || v->encap.type))
		return "a local route has no gateway, no onlink flag and no encapsulation";
	if (!zero(v->pad, sizeof(v->pad)) || !zero(v->encap.pad, sizeof(v->encap.pad)))
		return "value has nonzero padding";
	if (!v->encap.type) {
		if (!zero(&v->encap, sizeof(v->encap)))
			return "encapsulation bytes set without an encapsulation type";
		return NULL;
	}
	if (!encap_family(v->encap.type))
		return "an encapsulation other than an IP or IP6 tunnel's";
	if (v->encap.flags)
		return "tunnel settings beside the id and the destination (only observation sets them)";
	if (!zero(v->encap.dst + addr_len(encap_family(v->encap.type)),
		  sizeof(v->encap.dst) - addr_len(encap_family(v->encap.type))))
		return "encapsulation's destination has bytes set past its family's length";
	return NULL;
}

static bool v6_via_v4(const struct sl_route_req *q)
{
	const struct sl_route_key *k = q->key;
	const struct sl_route_value *v = q->value;

	return q->op != SL_ROUTE_OP_DEL && k->family == AF_INET6 && v->gw_family == AF_INET;
}

/* The gateway: RTA_GATEWAY in the route's family, else RTA_VIA. */
static void put_gateway(struct nlmsghdr *nlh, uint8_t family, uint8_t gw_family, const uint8_t *gw)
{
	if (gw_family == family) {
		mnl_attr_put(nlh, RTA_GATEWAY, addr_len(family), gw);
	} else if (gw_family) {
		uint8_t buf[sizeof(struct rtvia) + 16] __attribute__((aligned(4)));
		struct rtvia *via = (struct rtvia *)buf;

		memset(buf, 0, sizeof(buf));
		via->rtvia_family = gw_family;
		memcpy(via->rtvia_addr, gw, addr_len(gw_family));
		mnl_attr_put(nlh, RTA_VIA, sizeof(*via) + addr_len(gw_family), buf);
	}
}

/* Request q into nlh (refusal found nothing wrong with it), its device
 * looked up by name (add, replace). */
static int encode(void *octx, const struct sl_route_req *q, uint32_t cookie, struct nlmsghdr *nlh, char *why,
		  size_t why_len)
{
	struct sl_route *r = octx;
	const struct sl_route_key *k = q->key;
	const struct sl_route_value *v = q->value;
	struct rtmsg *rtm;
	int ifindex = 0;

	(void)cookie;
	if (q->op != SL_ROUTE_OP_DEL) {
		ifindex = dev_index(r, v->dev);
		if (ifindex < 0) {
			if (ifindex == -ENODEV)
				snprintf(why, why_len, "device %s does not exist", v->dev);
			else
				snprintf(why, why_len, "looking up device %s: %s", v->dev, strerror(-ifindex));
			return ifindex;
		}
	}
	nlh->nlmsg_type = q->op == SL_ROUTE_OP_DEL ? RTM_DELROUTE : RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (q->op == SL_ROUTE_OP_ADD)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	else if (q->op == SL_ROUTE_OP_REPLACE)
		nlh->nlmsg_flags |= NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = k->family;
	rtm->rtm_dst_len = k->prefix_len;
	/* (RTA_TABLE below says the table; iproute2 puts the same here) */
	rtm->rtm_table = k->table < 256 ? (uint8_t)k->table : RT_TABLE_UNSPEC;
	/* On removal, the kernel takes only a route of this protocol, type
	 * and scope (IPv4; IPv6: of this protocol): the ownership check and
	 * the removal are one step. */
	rtm->rtm_protocol = SL_RTPROT;
	rtm->rtm_scope = scope_of(k->family, k->type, false);
	rtm->rtm_type = k->type;
	if (k->prefix_len)
		mnl_attr_put(nlh, RTA_DST, addr_len(k->family), k->prefix);
	mnl_attr_put_u32(nlh, RTA_TABLE, k->table);
	if (k->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, k->metric);
	if (q->op != SL_ROUTE_OP_DEL) {
		if (v->flags & SL_ROUTE_F_ONLINK)
			rtm->rtm_flags |= RTNH_F_ONLINK;
		put_gateway(nlh, k->family, v->gw_family, v->gw);
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
		if (v->encap.type) {
			/* the id and the destination; the kernel takes the
			 * other settings as zero */
			struct nlattr *nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
			uint64_t id = htobe64((uint64_t)v->encap.id);

			mnl_attr_put(nlh, LWTUNNEL_IP_ID, sizeof(id), &id);
			mnl_attr_put(nlh, LWTUNNEL_IP_DST, addr_len(encap_family(v->encap.type)), v->encap.dst);
			mnl_attr_nest_end(nlh, nest);
			mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, v->encap.type);
		}
		if (v->mtu) {
			struct nlattr *nest = mnl_attr_nest_start(nlh, RTA_METRICS);

			mnl_attr_put_u32(nlh, RTAX_MTU, v->mtu);
			mnl_attr_nest_end(nlh, nest);
		}
	}
	return 0;
}

/* ---- IPv6 via IPv4 ---- */

int route_probe_v6_via_v4(struct sl_route *r, struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + 256] __attribute__((aligned(4))) = { 0 };
	static const uint8_t gw[4] = { 192, 0, 2, 1 }; /* TEST-NET-1 */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;
	const char *ext;
	int err, ret;

	if (r->via6 >= 0)
		return r->via6;
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	/* A prefix length no kernel takes: whatever it thinks of RTA_VIA,
	 * this request changes nothing. */
	rtm->rtm_dst_len = 255;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = SL_RTPROT;
	rtm->rtm_type = RTN_UNICAST;
	put_gateway(nlh, AF_INET6, AF_INET, gw);
	ret = nl_talk(&r->s, nlh, &err, &ext);
	if (ret < 0) {
		kerr(e, "routes: asking whether IPv6 routes take IPv4 gateways: %s", strerror(-ret));
		return ret;
	}
	/* "IPv6 does not support RTA_VIA attribute": no. Any other answer is
	 * about the prefix length: yes. */
	r->via6 = !(err == -EINVAL && ext && strstr(ext, "RTA_VIA"));
	snprintf(r->via6_msg, sizeof(r->via6_msg), "%s", ext ? ext : strerror(-err));
	return r->via6;
}

/* ---- batches ---- */

/* What a batch keeps beside the engine's: the socket (devices, the probe)
 * and sluice's tables, when they were read. */
struct route_batch_ctx {
	struct sl_route *r;
	struct holders h;
};

static const char *refusal_op(void *octx, const struct sl_route_req *q, int *err)
{
	(void)octx;
	return refusal(q, err);
}

static void name_op(void *octx, const struct sl_route_req *q, char *buf, size_t len)
{
	struct route_batch_ctx *c = octx;

	req_name(c->r, q, buf, len);
}

static int encode_op(void *octx, const struct sl_route_req *q, uint32_t cookie, struct nlmsghdr *nlh, char *why,
		     size_t why_len)
{
	struct route_batch_ctx *c = octx;

	return encode(c->r, q, cookie, nlh, why, why_len);
}

/* Before sending, after the refusals: IPv6 routes via IPv4 gateways where
 * the kernel takes none, and replaces over a route that is not sluice's. */
static void prepare(void *octx, struct nl_batch *b)
{
	struct route_batch_ctx *c = octx;
	struct holders *h = &c->h;
	unsigned replace_families = 0;
	bool via6 = false;
	size_t n = b->n;

	for (size_t i = 0; i < n; i++) {
		struct sl_route_req *q = &b->reqs[i];

		if (q->err)
			continue;
		if (q->op == SL_ROUTE_OP_REPLACE)
			replace_families |= holder_bit(q->key);
		via6 |= v6_via_v4(q);
	}
	if (via6 && route_probe_v6_via_v4(c->r, NULL) != 1) {
		for (size_t i = 0; i < n; i++) {
			char why[320];

			if (b->reqs[i].err || !v6_via_v4(&b->reqs[i]))
				continue;
			snprintf(why, sizeof(why),
				 "this kernel takes no IPv4 gateway for IPv6 routes (RTA_VIA: %s); give the node an "
				 "IPv6 address",
				 c->r->via6 == 0 ? c->r->via6_msg : "could not ask");
			nl_batch_fail(b, i, -EOPNOTSUPP, why);
		}
	}
	if (!replace_families)
		return;
	if (holders_load(c->r, replace_families, h) < 0) {
		/* Without the table, no replace is known to be safe. */
		for (size_t i = 0; i < n; i++)
			if (!b->reqs[i].err && b->reqs[i].op == SL_ROUTE_OP_REPLACE)
				nl_batch_fail(b, i, -EAGAIN, "could not read the route's table to check who holds the route");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct sl_route_req *q = &b->reqs[i];
		const struct holder *o;
		char why[200], more[240];

		if (q->err || q->op != SL_ROUTE_OP_REPLACE)
			continue;
		o = holder_find(h, q->key);
		if (!o || o->owned)
			continue;
		foreign_str(o, q->key, why, sizeof(why));
		snprintf(more, sizeof(more), "%s; left alone", why);
		nl_batch_fail(b, i, -EPERM, more);
	}
}

/* After: say whose route made an add, a removal or a replace fail. */
static void explain(void *octx, struct nl_batch *b)
{
	struct route_batch_ctx *c = octx;
	struct holders *h = &c->h;
	unsigned families = 0;

	for (size_t j = 0; j < b->n_fails; j++) {
		const struct sl_route_req *q = &b->reqs[b->fails[j].i];
		int err = b->fails[j].err;

		if ((q->op == SL_ROUTE_OP_ADD && err == -EEXIST) || (q->op == SL_ROUTE_OP_DEL && err == -ESRCH) ||
		    (q->op == SL_ROUTE_OP_REPLACE && err == -ENOENT))
			families |= holder_bit(q->key);
	}
	if (!families || holders_load(c->r, families, h) < 0)
		return;
	for (size_t j = 0; j < b->n_fails; j++) {
		struct nl_fail *f = &b->fails[j];
		const struct sl_route_req *q = &b->reqs[f->i];
		const struct sl_route_key *k = q->key;
		const struct holder *o;
		char p[64], why[200];

		if (!k || !family_ok(k->family) || !table_ok(k->table) || !(families & holder_bit(k)))
			continue;
		o = holder_find(h, k);
		route_prefix_name(k, p, sizeof(p));
		if (q->op == SL_ROUTE_OP_ADD && f->err == -EEXIST && o) {
			if (o->owned) {
				snprintf(f->why, sizeof(f->why), "sluice's own route holds %s already%s", p,
					 k->metric ? " at that metric" : "");
			} else {
				foreign_str(o, k, why, sizeof(why));
				snprintf(f->why, sizeof(f->why), "%s; left alone", why);
			}
		} else if (q->op == SL_ROUTE_OP_DEL && f->err == -ESRCH) {
			if (o && !o->owned) {
				/* Refused, as a replace over it is. */
				foreign_str(o, k, why, sizeof(why));
				snprintf(f->why, sizeof(f->why), "sluice has no such route; %s, left alone", why);
				f->err = -EPERM;
				b->reqs[f->i].err = -EPERM;
			} else {
				snprintf(f->why, sizeof(f->why), "sluice has no such route");
			}
		} else if (q->op == SL_ROUTE_OP_REPLACE && f->err == -ENOENT && !o) {
			snprintf(f->why, sizeof(f->why), "no route of sluice's to replace");
		}
	}
}

/* The one kind of this backend. Observation decodes with the socket as
 * octx (observe_decode), batches run with a struct route_batch_ctx. */
static const struct nl_kind_ops route_ops = {
	.key_size = sizeof(struct sl_route_key),
	.val_size = sizeof(struct sl_route_value),
	.decode = observe_decode,
	.refusal = refusal_op,
	.encode = encode_op,
	.name = name_op,
	.prepare = prepare,
	.explain = explain,
};

static const struct nl_kind_ops *const kinds[] = { &route_ops };

int route_batch(struct sl_route *r, struct sl_route_req *reqs, size_t n,
		void (*on_error)(void *ctx, const struct sl_route_req *req, const struct sl_kerr *e), void *ctx,
		struct sl_kerr *e)
{
	struct route_batch_ctx c = { .r = r };
	int ret;

	if (!n)
		return 0;
	devs_forget(r);
	ret = nl_batch(&r->s, kinds, ARRAY_SIZE(kinds), &c, reqs, n, on_error, ctx, e);
	free(c.h.v);
	return ret;
}

static int one(struct sl_route *r, uint8_t op, const struct sl_route_key *k, const struct sl_route_value *v,
	       struct sl_kerr *e)
{
	struct sl_route_req q = { .op = op, .key = k, .value = v };

	return route_batch(r, &q, 1, NULL, NULL, e);
}

int route_add(struct sl_route *r, const struct sl_route_key *k, const struct sl_route_value *v, struct sl_kerr *e)
{
	return one(r, SL_ROUTE_OP_ADD, k, v, e);
}

int route_replace(struct sl_route *r, const struct sl_route_key *k, const struct sl_route_value *v,
		  struct sl_kerr *e)
{
	return one(r, SL_ROUTE_OP_REPLACE, k, v, e);
}

int route_del(struct sl_route *r, const struct sl_route_key *k, const struct sl_route_value *v, struct sl_kerr *e)
{
	return one(r, SL_ROUTE_OP_DEL, k, v, e);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seeds for fuzz_netlink: receive buffers of the dumps that xfrm.c,
 * route.c, link.c and rule.c read, built with libmnl (the kernel's own
 * structs), and, with --capture, the kernel's real replies in the caller's
 * network namespace.
 *
 *   gen-netlink-seeds OUTDIR             built: SAs, policies, routes,
 *                                        devices, rules, acks
 *   gen-netlink-seeds --capture OUTDIR   dumped: routes, rules, xfrm
 *                                        policies and SAs, and a refused
 *                                        request's ack
 *
 * tests/fuzz/gen-netlink-seeds.sh runs both, the capture in a network
 * namespace of its own that it fills first (docs/fuzzing.md).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/lwtunnel.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/abi.h>

#include "datapath/route.h"
#include "kinds/device.h"
#include "datapath/xfrm.h"

#define BUF (256 * 1024)

static uint8_t buf[BUF];
static size_t used;
static const char *outdir;

static struct nlmsghdr *msg(uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + used);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 7;
	nlh->nlmsg_pid = 4242;
	return nlh;
}

static void done_msg(struct nlmsghdr *nlh)
{
	used += MNL_ALIGN(nlh->nlmsg_len);
}

static void put_done(int err, const char *ext)
{
	struct nlmsghdr *nlh = msg(NLMSG_DONE, NLM_F_MULTI | (ext ? NLM_F_ACK_TLVS : 0));
	int *e = mnl_nlmsg_put_extra_header(nlh, sizeof(int));

	*e = err;
	if (ext)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, ext);
	done_msg(nlh);
}

static void put_error(int err, bool capped, const char *ext)
{
	struct nlmsghdr *nlh = msg(NLMSG_ERROR, (capped ? NLM_F_CAPPED : 0) | (ext ? NLM_F_ACK_TLVS : 0));
	struct nlmsgerr *me = mnl_nlmsg_put_extra_header(nlh, sizeof(*me));

	me->error = err;
	me->msg.nlmsg_type = RTM_NEWROUTE;
	me->msg.nlmsg_seq = 7;
	if (!capped) {
		/* the request, whole: a header and an rtmsg */
		me->msg.nlmsg_len = MNL_NLMSG_HDRLEN + sizeof(struct rtmsg);
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg));
	} else {
		me->msg.nlmsg_len = MNL_NLMSG_HDRLEN;
	}
	if (ext)
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, ext);
	done_msg(nlh);
}

static void flush(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, used, f) != used || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	printf("%s: %zu bytes\n", path, used);
	used = 0;
}

static void addr(xfrm_address_t *a, int family, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (s && inet_pton(family, s, a) != 1)
		abort();
}

struct sa {
	int family;
	const char *src, *dst;
	uint32_t spi, reqid;
	const char *aead, *auth, *crypt;
	unsigned key_bits, icv_bits;
	uint32_t mark, mark_mask, set_mark, set_mark_mask;
	uint8_t replay_window;
};

static void put_alg(struct nlmsghdr *nlh, uint16_t type, const char *name, unsigned bits, unsigned icv)
{
	size_t key = (bits + 7) / 8;
	uint8_t a[sizeof(struct xfrm_algo_aead) + 64] = { 0 };

	for (size_t i = 0; i < key; i++)
		a[(type == XFRMA_ALG_AEAD ? sizeof(struct xfrm_algo_aead)
		   : type == XFRMA_ALG_AUTH_TRUNC ? sizeof(struct xfrm_algo_auth)
						  : sizeof(struct xfrm_algo)) + i] = (uint8_t)(0xa0 + i);
	if (type == XFRMA_ALG_AEAD) {
		struct xfrm_algo_aead *g = (void *)a;

		snprintf(g->alg_name, sizeof(g->alg_name), "%s", name);
		g->alg_key_len = bits;
		g->alg_icv_len = icv;
		mnl_attr_put(nlh, type, sizeof(*g) + key, a);
	} else if (type == XFRMA_ALG_AUTH_TRUNC) {
		struct xfrm_algo_auth *g = (void *)a;

		snprintf(g->alg_name, sizeof(g->alg_name), "%s", name);
		g->alg_key_len = bits;
		g->alg_trunc_len = icv;
		mnl_attr_put(nlh, type, sizeof(*g) + key, a);
	} else {
		struct xfrm_algo *g = (void *)a;

		snprintf(g->alg_name, sizeof(g->alg_name), "%s", name);
		g->alg_key_len = bits;
		mnl_attr_put(nlh, type, sizeof(*g) + key, a);
	}
}

static void put_sa(const struct sa *s)
{
	struct nlmsghdr *nlh = msg(XFRM_MSG_NEWSA, NLM_F_MULTI);
	struct xfrm_usersa_info sa = { 0 }, *p = &sa; /* messages are 4-aligned: made here, copied */

	p->sel.family = (uint16_t)s->family;
	addr(&p->id.daddr, s->family, s->dst);
	p->id.spi = htonl(s->spi);
	p->id.proto = IPPROTO_ESP;
	addr(&p->saddr, s->family, s->src);
	p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
	p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
	p->reqid = s->reqid;
	p->family = (uint16_t)s->family;
	p->mode = XFRM_MODE_TUNNEL;
	p->replay_window = s->replay_window;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(sa)), &sa, sizeof(sa));
	if (s->aead)
		put_alg(nlh, XFRMA_ALG_AEAD, s->aead, s->key_bits, s->icv_bits);
	if (s->auth)
		put_alg(nlh, XFRMA_ALG_AUTH_TRUNC, s->auth, 256, s->icv_bits);
	if (s->crypt)
		put_alg(nlh, XFRMA_ALG_CRYPT, s->crypt, s->key_bits, 0);
	if (s->mark || s->mark_mask) {
		struct xfrm_mark m = { s->mark, s->mark_mask };

		mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	}
	if (s->set_mark || s->set_mark_mask) {
		mnl_attr_put_u32(nlh, XFRMA_SET_MARK, s->set_mark);
		mnl_attr_put_u32(nlh, XFRMA_SET_MARK_MASK, s->set_mark_mask);
	}
	done_msg(nlh);
}

struct pol {
	int family, tmpl_family;
	const char *src, *dst;
	uint8_t src_len, dst_len, dir;
	const char *tsrc, *tdst;
	uint32_t reqid, spi, mark, mark_mask, if_id, n_tmpl;
	uint8_t type;
};

static void put_policy(const struct pol *q)
{
	struct nlmsghdr *nlh = msg(XFRM_MSG_NEWPOLICY, NLM_F_MULTI);
	struct xfrm_userpolicy_info pol = { 0 }, *p = &pol;
	struct xfrm_user_tmpl t[2];

	addr(&p->sel.saddr, q->family, q->src);
	addr(&p->sel.daddr, q->family, q->dst);
	p->sel.family = (uint16_t)q->family;
	p->sel.prefixlen_s = q->src_len;
	p->sel.prefixlen_d = q->dst_len;
	p->lft.soft_byte_limit = p->lft.hard_byte_limit = XFRM_INF;
	p->lft.soft_packet_limit = p->lft.hard_packet_limit = XFRM_INF;
	p->priority = 0;
	p->dir = q->dir;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(pol)), &pol, sizeof(pol));
	memset(t, 0, sizeof(t));
	for (unsigned i = 0; i < 2; i++) {
		addr(&t[i].id.daddr, q->tmpl_family, q->tdst);
		addr(&t[i].saddr, q->tmpl_family, q->tsrc);
		t[i].id.spi = htonl(q->spi);
		t[i].id.proto = IPPROTO_ESP;
		t[i].family = (uint16_t)q->tmpl_family;
		t[i].reqid = q->reqid + i;
		t[i].mode = XFRM_MODE_TUNNEL;
		t[i].aalgos = t[i].ealgos = t[i].calgos = ~0u;
	}
	mnl_attr_put(nlh, XFRMA_TMPL, q->n_tmpl * sizeof(t[0]), t);
	if (q->mark || q->mark_mask) {
		struct xfrm_mark m = { q->mark, q->mark_mask };

		mnl_attr_put(nlh, XFRMA_MARK, sizeof(m), &m);
	}
	if (q->type) {
		struct xfrm_userpolicy_type ty = { .type = q->type };

		mnl_attr_put(nlh, XFRMA_POLICY_TYPE, sizeof(ty), &ty);
	}
	if (q->if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, q->if_id);
	done_msg(nlh);
}

struct rt {
	int family, gw_family;
	const char *dst, *gw;
	uint8_t dst_len, protocol, table, type, scope;
	uint32_t table32, metric, oif, mtu;
	bool onlink;
	/* an encapsulation (RTA_ENCAP_TYPE, 0: none); IP and IP6 as the
	 * kernel reports them (ip_tun_fill_encap_info: a pad before the id,
	 * every setting, the unset ones zero) */
	uint16_t encap_type;
	const char *encap_dst;
	uint64_t encap_id;
	uint8_t encap_ttl;
	bool encap_opts; /* VXLAN options (a group policy id) */
	bool encap_no_nest; /* the type without RTA_ENCAP */
};

static void put_encap(struct nlmsghdr *nlh, const struct rt *r)
{
	struct nlattr *nest, *opts, *vx;
	int f = r->encap_type == LWTUNNEL_ENCAP_IP6 ? AF_INET6 : AF_INET;
	size_t al = f == AF_INET6 ? 16 : 4;
	xfrm_address_t a, zero;
	uint64_t id = htobe64(r->encap_id);

	if (!r->encap_no_nest) {
		nest = mnl_attr_nest_start(nlh, RTA_ENCAP);
		if (r->encap_type == LWTUNNEL_ENCAP_IP || r->encap_type == LWTUNNEL_ENCAP_IP6) {
			addr(&a, f, r->encap_dst);
			memset(&zero, 0, sizeof(zero));
			mnl_attr_put(nlh, LWTUNNEL_IP_PAD, 0, NULL);
			mnl_attr_put(nlh, LWTUNNEL_IP_ID, sizeof(id), &id);
			mnl_attr_put(nlh, LWTUNNEL_IP_DST, al, &a);
			mnl_attr_put(nlh, LWTUNNEL_IP_SRC, al, &zero);
			mnl_attr_put_u8(nlh, LWTUNNEL_IP_TOS, 0);
			mnl_attr_put_u8(nlh, LWTUNNEL_IP_TTL, r->encap_ttl);
			mnl_attr_put_u16(nlh, LWTUNNEL_IP_FLAGS, 0);
			if (r->encap_opts) {
				opts = mnl_attr_nest_start(nlh, LWTUNNEL_IP_OPTS);
				vx = mnl_attr_nest_start(nlh, LWTUNNEL_IP_OPTS_VXLAN);
				mnl_attr_put_u32(nlh, LWTUNNEL_IP_OPT_VXLAN_GBP, 0x800);
				mnl_attr_nest_end(nlh, vx);
				mnl_attr_nest_end(nlh, opts);
			}
		} else {
			/* MPLS: a label stack */
			mnl_attr_put_u32(nlh, 1, htonl(100 << 12 | 1 << 8));
		}
		mnl_attr_nest_end(nlh, nest);
	}
	mnl_attr_put_u16(nlh, RTA_ENCAP_TYPE, r->encap_type);
}

static void put_route(const struct rt *r)
{
	struct nlmsghdr *nlh = msg(RTM_NEWROUTE, NLM_F_MULTI);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	xfrm_address_t a;

	rtm->rtm_family = (uint8_t)r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_table = r->table;
	rtm->rtm_protocol = r->protocol;
	rtm->rtm_scope = r->scope;
	rtm->rtm_type = r->type;
	rtm->rtm_flags = r->onlink ? RTNH_F_ONLINK : 0;
	if (r->table32)
		mnl_attr_put_u32(nlh, RTA_TABLE, r->table32);
	addr(&a, r->family, r->dst);
	mnl_attr_put(nlh, RTA_DST, r->family == AF_INET ? 4 : 16, &a);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
	if (r->gw && r->gw_family == r->family) {
		addr(&a, r->family, r->gw);
		mnl_attr_put(nlh, RTA_GATEWAY, r->family == AF_INET ? 4 : 16, &a);
	} else if (r->gw) {
		uint8_t via[sizeof(struct rtvia) + 16];
		struct rtvia *v = (void *)via;

		v->rtvia_family = (uint16_t)r->gw_family;
		addr((xfrm_address_t *)v->rtvia_addr, r->gw_family, r->gw);
		mnl_attr_put(nlh, RTA_VIA, sizeof(*v) + (r->gw_family == AF_INET ? 4 : 16), via);
	}
	if (r->mtu) {
		struct nlattr *nest = mnl_attr_nest_start(nlh, RTA_METRICS);

		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, nest);
	}
	if (r->encap_type)
		put_encap(nlh, r);
	done_msg(nlh);
}

struct ln {
	int ifindex;
	const char *name, *alias, *kind;
	uint32_t mtu, link;
	uint16_t port;
	int metadata, learning; /* -1: no attribute */
	bool up, kind_nul;
};

static void put_link(const struct ln *l)
{
	struct nlmsghdr *nlh = msg(RTM_NEWLINK, NLM_F_MULTI);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct nlattr *info, *data;

	ifm->ifi_index = l->ifindex;
	ifm->ifi_flags = l->up ? IFF_UP : 0;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, l->name);
	mnl_attr_put_u32(nlh, IFLA_MTU, l->mtu);
	if (l->alias)
		mnl_attr_put_strz(nlh, IFLA_IFALIAS, l->alias);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	/* the kernel's kind has its NUL; a seed without it too */
	mnl_attr_put(nlh, IFLA_INFO_KIND, strlen(l->kind) + (l->kind_nul ? 1 : 0), l->kind);
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(l->port));
	if (l->metadata >= 0)
		mnl_attr_put_u8(nlh, IFLA_VXLAN_COLLECT_METADATA, (uint8_t)l->metadata);
	if (l->learning >= 0)
		mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, (uint8_t)l->learning);
	if (l->link)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, l->link);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	done_msg(nlh);
}

struct ru {
	int family;
	uint32_t priority, fwmark, fwmask, table;
	int protocol; /* -1: no FRA_PROTOCOL (a kernel before 4.17) */
	uint8_t action;
	uint32_t flags;
	const char *iif;
};

/* A rule as the kernel reports it (fib_nl_fill_rule): the table in the
 * header (RT_TABLE_COMPAT above 255) and FRA_TABLE, FRA_SUPPRESS_PREFIXLEN
 * (-1: none) and FRA_PROTOCOL always, the rest when set. */
static void put_rule(const struct ru *u)
{
	struct nlmsghdr *nlh = msg(RTM_NEWRULE, NLM_F_MULTI);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = (uint8_t)u->family;
	frh->table = u->table < 256 ? (uint8_t)u->table : RT_TABLE_COMPAT;
	frh->action = u->action;
	frh->flags = u->flags;
	mnl_attr_put_u32(nlh, FRA_TABLE, u->table);
	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, UINT32_MAX);
	if (u->protocol >= 0)
		mnl_attr_put_u8(nlh, FRA_PROTOCOL, (uint8_t)u->protocol);
	if (u->iif)
		mnl_attr_put_strz(nlh, FRA_IIFNAME, u->iif);
	if (u->priority)
		mnl_attr_put_u32(nlh, FRA_PRIORITY, u->priority);
	if (u->fwmark)
		mnl_attr_put_u32(nlh, FRA_FWMARK, u->fwmark);
	if (u->fwmark || u->fwmask)
		mnl_attr_put_u32(nlh, FRA_FWMASK, u->fwmask);
	done_msg(nlh);
}

static void synth(void)
{
	const uint32_t in = SL_XFRM_REQID_IN;

	/* SAs: sluice's outbound AEAD one with an output mark, an inbound
	 * one, auth + cipher, IPv6, and one not sluice's. */
	put_sa(&(struct sa){ AF_INET, "192.168.50.1", "192.168.50.2", 3, SL_XFRM_REQID_BASE + 3,
			     "rfc4106(gcm(aes))", NULL, NULL, 160, 128, 0, 0, 0xe00, 0xf00, 0 });
	put_sa(&(struct sa){ AF_INET, NULL, "192.168.50.1", 3, in, "rfc4106(gcm(aes))", NULL, NULL, 288, 128, 0, 0,
			     0, 0, 64 });
	put_done(0, NULL);
	flush("sa-aead.bin");
	put_sa(&(struct sa){ AF_INET, "192.168.50.1", "192.168.50.3", 4, SL_XFRM_REQID_BASE + 4, NULL,
			     "hmac(sha256)", "cbc(aes)", 128, 128, 0, 0, 0, 0, 0 });
	put_sa(&(struct sa){ AF_INET6, "fd00:50::1", "fd00:50::2", 5, SL_XFRM_REQID_BASE + 5, "rfc4106(gcm(aes))",
			     NULL, NULL, 224, 96, 0x10, 0xff, 0, 0, 32 });
	put_sa(&(struct sa){ AF_INET, "192.168.60.1", "192.168.60.2", 3, 1, "rfc4106(gcm(aes))", NULL, NULL, 160,
			     128, 0, 0, 0, 0, 0 });
	put_done(0, NULL);
	flush("sa-auth-cipher-v6-foreign.bin");

	/* Policies: out with sluice's mark, in and fwd, IPv6 over IPv4
	 * templates, one of another's, one with two templates. */
	put_policy(&(struct pol){ AF_INET, AF_INET, "10.1.0.0", "10.2.0.0", 24, 24, XFRM_POLICY_OUT, "192.168.50.1",
				  "192.168.50.2", SL_XFRM_REQID_BASE + 3, 0, 0x3e00, 0xff00, 0, 1, 0 });
	put_policy(&(struct pol){ AF_INET, AF_INET, "10.2.0.0", "10.1.0.0", 24, 24, XFRM_POLICY_IN, "192.168.50.2",
				  "192.168.50.1", in, 0, 0, 0, 0, 1, 0 });
	put_policy(&(struct pol){ AF_INET, AF_INET, "10.2.0.0", "10.1.0.0", 24, 24, XFRM_POLICY_FWD, "192.168.50.2",
				  "192.168.50.1", in, 0, 0, 0, 0, 1, 0 });
	put_done(0, NULL);
	flush("policy-out-in-fwd.bin");
	put_policy(&(struct pol){ AF_INET6, AF_INET, "fd00:1::", "fd00:2::", 64, 64, XFRM_POLICY_OUT, "192.168.50.1",
				  "192.168.50.2", SL_XFRM_REQID_BASE + 4, 4, 0x4e00, 0xff00, 7, 1, XFRM_POLICY_TYPE_SUB });
	put_policy(&(struct pol){ AF_INET, AF_INET, "10.9.0.0", "10.8.0.0", 16, 16, XFRM_POLICY_OUT, "192.168.70.1",
				  "192.168.70.2", 1, 0, 0, 0, 0, 1, 0 });
	put_policy(&(struct pol){ AF_INET, AF_INET, "10.7.0.0", "10.6.0.0", 16, 16, XFRM_POLICY_OUT, "192.168.50.1",
				  "192.168.50.2", SL_XFRM_REQID_BASE + 3, 0, 0, 0, 0, 2, 0 });
	put_done(0, NULL);
	flush("policy-v6-foreign-two-templates.bin");

	/* Routes: sluice's IPv4 and IPv6 ones (an MTU, a gateway of the
	 * other family, onlink), another protocol's, another table's. */
	put_route(&(struct rt){ AF_INET, AF_INET, "10.2.0.0", "192.168.50.2", 24, SL_RTPROT, RT_TABLE_MAIN,
				RTN_UNICAST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 2, 0, false });
	put_route(&(struct rt){ AF_INET, AF_INET6, "10.3.0.0", "fd00:50::3", 24, SL_RTPROT, RT_TABLE_MAIN,
				RTN_UNICAST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 2, 0, true });
	put_route(&(struct rt){ AF_INET, AF_INET, "10.4.0.0", "192.168.50.4", 16, RTPROT_STATIC, RT_TABLE_MAIN,
				RTN_UNICAST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 2, 0, false });
	put_done(0, NULL);
	flush("route-v4.bin");
	put_route(&(struct rt){ AF_INET6, AF_INET6, "fd00:2::", "fd00:50::2", 64, SL_RTPROT, RT_TABLE_MAIN,
				RTN_UNICAST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, SL_ROUTE_METRIC_V6, 2, 1400, false });
	put_route(&(struct rt){ AF_INET6, AF_INET6, "fd00:3::", NULL, 64, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, 100, SL_ROUTE_METRIC_V6, 2, 0, false });
	put_done(0, NULL);
	flush("route-v6.bin");
	/* The proxy table's local routes: sluice's (IPv4 at scope host, IPv6
	 * as the kernel reports it, at universe), the kernel's own local
	 * route of the local table, one of sluice's protocol at the wrong
	 * scope. */
	put_route(&(struct rt){ AF_INET, 0, "0.0.0.0", NULL, 0, SL_RTPROT, RT_TABLE_COMPAT, RTN_LOCAL,
				RT_SCOPE_HOST, SL_PROXY_TABLE, 0, 1, 0, false });
	put_route(&(struct rt){ AF_INET6, 0, "::", NULL, 0, SL_RTPROT, RT_TABLE_COMPAT, RTN_LOCAL,
				RT_SCOPE_UNIVERSE, SL_PROXY_TABLE, SL_ROUTE_METRIC_V6, 1, 0, false });
	put_route(&(struct rt){ AF_INET, 0, "192.168.50.1", NULL, 32, RTPROT_KERNEL, RT_TABLE_LOCAL, RTN_LOCAL,
				RT_SCOPE_HOST, RT_TABLE_LOCAL, 0, 2, 0, false });
	put_route(&(struct rt){ AF_INET, 0, "10.0.0.0", NULL, 8, SL_RTPROT, RT_TABLE_COMPAT, RTN_LOCAL,
				RT_SCOPE_UNIVERSE, SL_PROXY_TABLE, 0, 1, 0, false });
	put_done(0, NULL);
	flush("route-local-proxy-table.bin");
	/* The overlay's routes into sluice_vxlan (ifindex 7): sluice's
	 * (IPv4 and IPv6 pod CIDRs through an IPv4 tunnel, one through an
	 * IPv6 tunnel), one with a TTL, one with VXLAN options, one with an
	 * id of more than 32 bits, an MPLS one, a type without its nest, one
	 * of sluice's protocol at scope link (iproute2's default: not
	 * sluice's), another protocol's. */
	put_route(&(struct rt){ AF_INET, 0, "10.2.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 1450, false, LWTUNNEL_ENCAP_IP, "192.168.60.2", 1 });
	put_route(&(struct rt){ AF_INET6, 0, "fd00:2::", NULL, 64, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, SL_ROUTE_METRIC_V6, 7, 1450, false, LWTUNNEL_ENCAP_IP,
				"192.168.60.2", 1 });
	put_route(&(struct rt){ AF_INET, 0, "10.3.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 1430, false, LWTUNNEL_ENCAP_IP6, "fd00:60::3", 1 });
	put_route(&(struct rt){ AF_INET, 0, "10.4.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 1450, false, LWTUNNEL_ENCAP_IP, "192.168.60.4", 1,
				64 });
	put_route(&(struct rt){ AF_INET, 0, "10.5.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 0, false, LWTUNNEL_ENCAP_IP, "192.168.60.5", 1, 0,
				true });
	put_route(&(struct rt){ AF_INET6, 0, "fd00:6::", NULL, 64, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, SL_ROUTE_METRIC_V6, 7, 0, false, LWTUNNEL_ENCAP_IP6,
				"fd00:60::6", 0x100000001ull });
	put_route(&(struct rt){ AF_INET, 0, "10.7.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 0, false, LWTUNNEL_ENCAP_MPLS });
	put_route(&(struct rt){ AF_INET, 0, "10.8.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 0, false, LWTUNNEL_ENCAP_IP, NULL, 0, 0, false,
				true });
	put_route(&(struct rt){ AF_INET, 0, "10.9.0.0", NULL, 24, SL_RTPROT, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_LINK, RT_TABLE_MAIN, 0, 7, 0, false, LWTUNNEL_ENCAP_IP, "192.168.60.9", 1 });
	put_route(&(struct rt){ AF_INET, 0, "10.10.0.0", NULL, 16, RTPROT_STATIC, RT_TABLE_MAIN, RTN_UNICAST,
				RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, 0, 7, 0, false, LWTUNNEL_ENCAP_IP, "192.168.60.10", 5 });
	put_done(0, NULL);
	flush("route-encap-overlay.bin");

	/* Rules: sluice's proxy redirect, IPv4 and IPv6, the kernel's own
	 * (local, main, default), one of another protocol at the same
	 * priority and mark, one of sluice's protocol with an input device,
	 * one with `not`, one from a kernel without FRA_PROTOCOL. */
	put_rule(&(struct ru){ AF_INET, 0, 0, 0, RT_TABLE_LOCAL, RTPROT_KERNEL, FR_ACT_TO_TBL, 0, NULL });
	put_rule(&(struct ru){ AF_INET, SL_PROXY_RULE_PRIORITY, SL_MARK_PROXY, SL_MARK_MAGIC_MASK, SL_PROXY_TABLE,
			       SL_RTPROT, FR_ACT_TO_TBL, 0, NULL });
	put_rule(&(struct ru){ AF_INET, 32766, 0, 0, RT_TABLE_MAIN, RTPROT_KERNEL, FR_ACT_TO_TBL, 0, NULL });
	put_rule(&(struct ru){ AF_INET, 32767, 0, 0, RT_TABLE_DEFAULT, RTPROT_KERNEL, FR_ACT_TO_TBL, 0, NULL });
	put_done(0, NULL);
	put_rule(&(struct ru){ AF_INET6, SL_PROXY_RULE_PRIORITY, SL_MARK_PROXY, SL_MARK_MAGIC_MASK, SL_PROXY_TABLE,
			       SL_RTPROT, FR_ACT_TO_TBL, 0, NULL });
	put_done(0, NULL);
	flush("rule-proxy.bin");
	put_rule(&(struct ru){ AF_INET, SL_PROXY_RULE_PRIORITY, SL_MARK_PROXY, SL_MARK_MAGIC_MASK, SL_PROXY_TABLE,
			       RTPROT_BOOT, FR_ACT_TO_TBL, 0, NULL });
	put_rule(&(struct ru){ AF_INET, 100, 0x5, 0xffffffff, 100, RTPROT_UNSPEC, FR_ACT_TO_TBL, 0, NULL });
	put_rule(&(struct ru){ AF_INET, SL_PROXY_RULE_PRIORITY, SL_MARK_PROXY, SL_MARK_MAGIC_MASK, SL_PROXY_TABLE,
			       SL_RTPROT, FR_ACT_TO_TBL, 0, "lo" });
	put_rule(&(struct ru){ AF_INET6, SL_PROXY_RULE_PRIORITY, SL_MARK_PROXY, SL_MARK_MAGIC_MASK, SL_PROXY_TABLE,
			       SL_RTPROT, FR_ACT_TO_TBL, FIB_RULE_INVERT, NULL });
	put_rule(&(struct ru){ AF_INET, SL_PROXY_RULE_PRIORITY, SL_MARK_PROXY, SL_MARK_MAGIC_MASK, SL_PROXY_TABLE, -1,
			       FR_ACT_TO_TBL, 0, NULL });
	put_rule(&(struct ru){ AF_INET, 90, 0, 0, 0, SL_RTPROT, FR_ACT_BLACKHOLE, 0, NULL });
	put_done(0, NULL);
	flush("rule-foreign.bin");
	/* Rules: the overlay's (an input device, no mark), IPv4 and IPv6, one
	 * whose device is not there (the kernel's detached flag), a name of
	 * 16 characters (more than the kernel gives back), and one at the
	 * overlay's priority with a mark too. */
	put_rule(&(struct ru){ AF_INET, SL_OVERLAY_RULE_PRIORITY, 0, 0, SL_OVERLAY_TABLE, SL_RTPROT, FR_ACT_TO_TBL, 0,
			       SL_OVERLAY_RULE_IIF });
	put_done(0, NULL);
	put_rule(&(struct ru){ AF_INET6, SL_OVERLAY_RULE_PRIORITY, 0, 0, SL_OVERLAY_TABLE, SL_RTPROT, FR_ACT_TO_TBL, 0,
			       SL_OVERLAY_RULE_IIF });
	put_rule(&(struct ru){ AF_INET6, 83, 0, 0, SL_OVERLAY_TABLE, SL_RTPROT, FR_ACT_TO_TBL, FIB_RULE_IIF_DETACHED,
			       "nosuch0" });
	put_rule(&(struct ru){ AF_INET6, 84, 0, 0, SL_OVERLAY_TABLE, SL_RTPROT, FR_ACT_TO_TBL, 0, "abcdefghijklmnop" });
	put_rule(&(struct ru){ AF_INET6, SL_OVERLAY_RULE_PRIORITY, 0x5, 0xffffffff, SL_OVERLAY_TABLE, SL_RTPROT,
			       FR_ACT_TO_TBL, 0, SL_OVERLAY_RULE_IIF });
	put_done(0, NULL);
	flush("rule-overlay.bin");

	/* Devices: sluice's sluice_vxlan (external, on its underlay), one
	 * down and learning, a foreign one of the same name (no alias), one
	 * of another alias, one that is no vxlan, a kind without its NUL. */
	put_link(&(struct ln){ 7, SL_DEVICE_VXLAN_NAME, SL_DEVICE_ALIAS, "vxlan", 1450, 2, 8472, 1, 0, true, true });
	put_link(&(struct ln){ 8, "sluice_vxlan2", SL_DEVICE_ALIAS, "vxlan", 9000, 0, 4789, 0, 1, false, true });
	put_link(&(struct ln){ 9, "other_vxlan", NULL, "vxlan", 1450, 2, 8472, 1, -1, true, true });
	put_done(0, NULL);
	flush("link-vxlan.bin");
	put_link(&(struct ln){ 7, SL_DEVICE_VXLAN_NAME, "not sluice", "vxlan", 1450, 2, 8472, 1, 0, true, true });
	put_link(&(struct ln){ 10, "sluice_br", SL_DEVICE_ALIAS, "bridge", 1500, 0, 0, -1, -1, true, true });
	put_link(&(struct ln){ 11, SL_DEVICE_VXLAN_NAME, SL_DEVICE_ALIAS, "vxlan", 1450, 0, 8472, 1, 0, true, false });
	put_done(0, NULL);
	flush("link-foreign-kinds.bin");

	/* Acks: an error with the kernel's message, capped and not, and a
	 * dump that ends in an error. */
	put_error(-EEXIST, true, "File exists");
	put_error(-ENODEV, false, "Nexthop device is not up");
	put_error(0, true, NULL);
	flush("acks.bin");
	put_route(&(struct rt){ AF_INET, AF_INET, "10.2.0.0", "192.168.50.2", 24, SL_RTPROT, RT_TABLE_MAIN,
				RTN_UNICAST, RT_SCOPE_UNIVERSE, 0, 0, 2, 0, false });
	put_done(-ENOENT, "ipv4: FIB table does not exist");
	flush("dump-error.bin");
}

/* The whole reply to one dump request, as received, appended to buf. */
static int dump(int bus, uint16_t type, uint8_t family)
{
	struct mnl_socket *nl = mnl_socket_open(bus);
	uint8_t req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	unsigned seq = (unsigned)time(NULL), portid;
	bool done = false;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (bus == NETLINK_ROUTE) {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

		rtm->rtm_family = family;
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (!done) {
		ssize_t n = mnl_socket_recvfrom(nl, buf + used, BUF - used);
		int len = (int)n;
		const struct nlmsghdr *m;

		if (n <= 0)
			return -EIO;
		for (m = (void *)(buf + used); mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len))
			if (m->nlmsg_seq == seq && m->nlmsg_pid == portid &&
			    (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR))
				done = true;
		used += (size_t)n;
	}
	mnl_socket_close(nl);
	return 0;
}

/* The kernel's answer to a route it refuses (a device that does not
 * exist), with its message. */
static int refused(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	uint8_t req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;
	int one = 1;
	ssize_t n;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	nlh->nlmsg_seq = 1;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 24;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = SL_RTPROT;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, htonl(0x0a090000));
	mnl_attr_put_u32(nlh, RTA_OIF, 999999);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf + used, BUF - used);
	if (n <= 0)
		return -EIO;
	used += (size_t)n;
	mnl_socket_close(nl);
	return 0;
}

static void capture(void)
{
	if (dump(NETLINK_ROUTE, RTM_GETROUTE, AF_INET) < 0 || dump(NETLINK_ROUTE, RTM_GETROUTE, AF_INET6) < 0) {
		perror("gen-netlink-seeds: dumping the routes");
		exit(1);
	}
	flush("captured-routes.bin");
	if (dump(NETLINK_ROUTE, RTM_GETRULE, AF_INET) < 0 || dump(NETLINK_ROUTE, RTM_GETRULE, AF_INET6) < 0) {
		perror("gen-netlink-seeds: dumping the rules");
		exit(1);
	}
	flush("captured-rules.bin");
	if (dump(NETLINK_XFRM, XFRM_MSG_GETPOLICY, 0) < 0) {
		perror("gen-netlink-seeds: dumping the xfrm policies");
		exit(1);
	}
	flush("captured-xfrm-policies.bin");
	if (dump(NETLINK_XFRM, XFRM_MSG_GETSA, 0) < 0) {
		perror("gen-netlink-seeds: dumping the SAs");
		exit(1);
	}
	flush("captured-xfrm-sas.bin");
	if (refused() < 0) {
		perror("gen-netlink-seeds: a refused route");
		exit(1);
	}
	flush("captured-refused-route.bin");
}

int main(int argc, char **argv)
{
	bool cap = argc == 3 && !strcmp(argv[1], "--capture");

	if (argc != 2 && !cap) {
		fprintf(stderr, "usage: gen-netlink-seeds [--capture] OUTDIR\n");
		return 2;
	}
	outdir = argv[argc - 1];
	if (cap)
		capture();
	else
		synth();
	return 0;
}

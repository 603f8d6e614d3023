/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route kind: the routes sluice owns. Three sorts:
 *   - unicast routes in the main table, to remote nodes' pod CIDRs, that
 *     encryption in direct-routing mode needs (state-format.md,
 *     "Encryption"):
 *
 *         10.2.0.0/24 via 192.168.50.2 dev eth0 proto 81
 *
 *     the remote node's ip as gateway, datapath.underlayDevice as device;
 *   - unicast routes in sluice's overlay table (SL_OVERLAY_TABLE), to
 *     remote nodes' pod CIDRs, that the overlay needs for the node's own
 *     traffic (state-format.md, "Overlay"): on sluice_vxlan, with an IP
 *     lightweight tunnel encapsulation that gives the external VXLAN
 *     device its tunnel key (the VNI: SL_ID_HOST, the remote node's ip:
 *     the outer destination):
 *
 *         10.2.0.0/24 encap ip id 1 dst 192.168.50.2 dev sluice_vxlan table 20929 proto 81 mtu 1450
 *
 *     only locally generated packets look that table up (the rule of
 *     kinds/rule.h, "iif lo"): what the node forwards never enters the
 *     tunnel with the host's identity;
 *   - local routes in sluice's proxy table (SL_PROXY_TABLE), which deliver
 *     the packets of flows redirected to the L7 proxy to this host although
 *     their destination is not one of its addresses (as TPROXY does; the
 *     rule that sends those packets there is kinds/rule.h's):
 *
 *         local 0.0.0.0/0 dev lo table 20928 proto 81
 *
 * Their object-set key and value bytes, sluice's route protocol, sluice's
 * tables and their names.
 * Pure C: the reconciler (compile, plan) and the route backend
 * (datapath/route.h) both include it; no kernel call, no libmnl.
 *
 * Keys and values are fixed-layout (explicit padding, sizes asserted,
 * addresses as 16 bytes + family, IPv4 in the first 4, integers in host
 * order) so that they are object-set key and value bytes as they are, and
 * compare equal byte for byte when the kernel holds what was asked. To
 * keep that promise, writes refuse (-EINVAL) bytes the kernel could not
 * give back: padding, address bytes past the family's length, prefix bits
 * past its length, or device-name bytes after its NUL that are not zero,
 * IPv6 metric 0 (the kernel makes it 1024), an MTU above 65520 (the kernel
 * caps it), an encapsulation other than IP and IP6, or tunnel settings
 * sluice does not write (SL_ROUTE_ENCAP_F_OTHER, which only observation
 * sets).
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/*
 * sluice's route protocol: 81 (0x51, the "51" of sluice's other marks,
 * reqids 0x51c00.., tc handle 0x51c0). Clear of
 *   - the kernel's RTPROT_* (linux/rtnetlink.h: 0..4, 8..18, 42, 99,
 *     186..189, 192),
 *   - iproute2's /etc/iproute2/rt_protos (the same numbers, and names for
 *     them),
 *   - numbers routing software is known to use: FRR 11 and 186..198,
 *     BIRD 12, Calico (felix) 80, Babel 42, Open/R 99,
 * and not one of 0..4, which the kernel itself interprets (redirect,
 * kernel, boot, static). Values >= RTPROT_STATIC are not interpreted by the
 * kernel: the number only marks ownership. `ip route show table all proto
 * 81` lists sluice's routes; a file /etc/iproute2/rt_protos.d/sluice.conf with the
 * line "81 sluice" makes iproute2 print "proto sluice".
 */
#define SL_RTPROT 81

/* The main table (RT_TABLE_MAIN): encryption's unicast routes are there. */
#define SL_ROUTE_TABLE_MAIN 254u

/*
 * sluice's policy routing, in one place: its tables, the rules that send
 * packets to them (kinds/rule.h), their priorities.
 *
 * The L7 proxy redirect (state-format.md, "L7 redirect"). The programs
 * bpf_sk_assign a redirected flow's SYN to the proxy's socket and put
 * SL_MARK_PROXY (abi.h: the magic in bits 8..11, SL_MARK_MAGIC_MASK; the
 * proxy port in bits 16..31) on every packet of the flow. For the kernel
 * to deliver those packets here although their destination is not a local
 * address, sluice owns, per family, what TPROXY setups write by hand:
 *
 *     ip rule add fwmark 0xa00/0xf00 lookup 20928 pref 81 proto 81
 *     ip route add local 0.0.0.0/0 dev lo table 20928 proto 81
 *
 * (the rule: matching SL_MARK_PROXY under SL_MARK_MAGIC_MASK; the route: a
 * local route of this kind).
 *
 * The overlay's routes for the node's own traffic (state-format.md,
 * "Overlay"; features/overlay.c): per family that has such routes,
 *
 *     ip rule add iif lo lookup 20929 pref 82 proto 81
 *     ip route add 10.2.0.0/24 encap ip id 1 dst 192.168.50.2 dev sluice_vxlan table 20929 proto 81 mtu 1450
 *
 * The kernel routes what the node's own stack sends with the loopback as
 * the input device (LOOPBACK_IFINDEX: ip_route_output_key_hash,
 * ip6_route_output), and what it forwards with the device it arrived on:
 * the rule matches the first only, so a packet the node forwards (from
 * the underlay, the world, another namespace routed through the node)
 * finds no route of sluice's to a remote pod CIDR, as before these
 * routes existed, and never enters the tunnel with the host's identity
 * (VNI 1, which the receiving node takes as remote-node).
 *
 * SL_PROXY_TABLE: 20928 = 0x51c0, the "51c0" of sluice's other marks (tc
 * handle 0x51c0, reqids 0x51c00..); SL_OVERLAY_TABLE: 20929 = 0x51c1, the
 * next. Clear of the kernel's reserved tables (0 unspec, 253 default, 254
 * main, 255 local) and of the tables other datapaths take by default
 * (Cilium: 200 IPsec, 202 VTEP, 2004 and 2005 its proxy; Tailscale 52;
 * wg-quick 51820). `ip route show table 20928` (20929) lists their routes.
 *
 * SL_PROXY_RULE_PRIORITY: 81, the number of sluice's route protocol, so
 * that `ip rule` shows "81: from all fwmark 0xa00/0xf00 lookup 20928 proto
 * 81"; SL_OVERLAY_RULE_PRIORITY: 82, "82: from all iif lo lookup 20929
 * proto 81", after the proxy's (a packet of a redirected flow is
 * delivered here, whatever its destination) and before the main table's
 * (32766: its routes to remote pod CIDRs, if any, are not sluice's). Both
 * after the local table's rule (0), and clear of the priorities other
 * datapaths take by default (Cilium 9 and 10 for its proxy; Tailscale
 * 5210..5270; wg-quick 32764, 32765).
 *
 * SL_OVERLAY_RULE_IIF: the input device of the overlay's rule, the
 * loopback, which every network namespace has.
 */
#define SL_PROXY_TABLE 20928u
#define SL_PROXY_RULE_PRIORITY 81u
#define SL_OVERLAY_TABLE 20929u
#define SL_OVERLAY_RULE_PRIORITY 82u
#define SL_OVERLAY_RULE_IIF "lo"

/* IPv6 routes have no metric 0: the kernel makes it 1024
 * (IP6_RT_PRIO_USER), so that is what an IPv6 key asks. */
#define SL_ROUTE_METRIC_V6 1024u
/* The largest route MTU: the kernel caps larger ones to it (65535 - 15). */
#define SL_ROUTE_MTU_MAX 65520u
/* Device names, NUL included (IFNAMSIZ). */
#define SL_ROUTE_DEV_MAX 16

/* Flags of a value: RTNH_F_ONLINK (the gateway is on the link even when
 * no address of the device covers it). */
#define SL_ROUTE_F_ONLINK 0x1u

/* A route's type (rtm_type), with the kernel's numbers (RTN_UNICAST,
 * RTN_LOCAL of linux/rtnetlink.h; datapath/route.c asserts they agree). */
enum sl_route_type {
	SL_ROUTE_UNICAST = 1, /* to a gateway or a device (scope universe) */
	SL_ROUTE_LOCAL = 2,   /* delivered to this host (IPv4: scope host) */
};

/*
 * What the kernel finds a route by, within sluice's (protocol SL_RTPROT,
 * TOS 0): family, destination prefix, table and metric; and its type. Two
 * of sluice's routes never share a key. (The kernel keeps one route per
 * family, prefix, table and metric, whatever their types: the type is in
 * the key so that a removal names the type it removes, which the kernel
 * checks, as it checks the protocol.)
 */
struct sl_route_key {
	uint8_t prefix[16];  /* destination, host bits zero; IPv4 in the first 4 */
	/* SL_ROUTE_TABLE_MAIN (encryption's), SL_OVERLAY_TABLE (the
	 * overlay's), SL_PROXY_TABLE (local) */
	uint32_t table;
	uint32_t metric;     /* RTA_PRIORITY; IPv4: 0 usual; IPv6: >= 1, SL_ROUTE_METRIC_V6 usual */
	uint8_t family;	     /* AF_INET, AF_INET6 */
	uint8_t prefix_len;  /* 0..32, 0..128 */
	uint8_t type;	     /* enum sl_route_type */
	uint8_t pad[1];
};
_Static_assert(sizeof(struct sl_route_key) == 28, "sl_route_key");

/* A route's lightweight tunnel encapsulation (RTA_ENCAP_TYPE), with the
 * kernel's numbers (LWTUNNEL_ENCAP_IP, LWTUNNEL_ENCAP_IP6 of
 * linux/lwtunnel.h; datapath/route.c asserts they agree): the tunnel key
 * the route gives its packets, which an external (collect-metadata)
 * tunnel device such as sluice_vxlan sends them with. */
enum sl_route_encap_type {
	SL_ROUTE_ENCAP_NONE = 0,
	SL_ROUTE_ENCAP_IP = 2,	/* an IPv4 outer destination */
	SL_ROUTE_ENCAP_IP6 = 4, /* an IPv6 outer destination */
};

/* Flags of an encapsulation. SL_ROUTE_ENCAP_F_OTHER: observation only,
 * never written: the kernel holds tunnel settings beside the id and the
 * destination that sluice's routes do not have (a source, a TTL or hop
 * limit, a TOS or traffic class, tunnel flags, options: the kernel gives
 * the ones it has back as zeros, and a route of sluice's has no other; or
 * an id of more than 32 bits), so that such a route compares unequal to
 * sluice's and is replaced. */
#define SL_ROUTE_ENCAP_F_OTHER 0x1u

struct sl_route_encap {
	/* LWTUNNEL_IP_ID, a 64-bit tunnel id of which sluice's routes use
	 * the low 32 (VXLAN: the VNI, 24 bits; sluice: the identity) */
	uint32_t id;
	uint8_t dst[16]; /* LWTUNNEL_IP_DST / LWTUNNEL_IP6_DST; IPv4 in the first 4 */
	/* enum sl_route_encap_type; 0: no encapsulation (everything here
	 * zero). Observation also gives the kernel's other types (MPLS,
	 * seg6, BPF...) by number, which writes refuse. */
	uint8_t type;
	uint8_t flags; /* SL_ROUTE_ENCAP_F_* */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct sl_route_encap) == 24, "sl_route_encap");

/*
 * Where the route sends. The device is held by name: the reconciler
 * compiles routes without a kernel call. Observation maps the kernel's
 * ifindex to the name (empty when the route has no device, or the device
 * went away during the read); writes map the name to the ifindex and
 * fail (-ENODEV) naming the device when there is none of that name.
 */
struct sl_route_value {
	uint8_t gw[16];		     /* gateway; IPv4 in the first 4 */
	char dev[SL_ROUTE_DEV_MAX];  /* NUL-terminated, the rest zero */
	uint32_t mtu;		     /* RTAX_MTU, 0: none; at most SL_ROUTE_MTU_MAX */
	/* Of gw: 0 (no gateway: the prefix is on the device), AF_INET or
	 * AF_INET6. A family other than the key's goes as RTA_VIA ("via inet6
	 * fd00::2" for IPv4 routes, from Linux 5.2; IPv6 routes via an IPv4
	 * gateway only where route_probe_v6_via_v4 says the kernel takes them). */
	uint8_t gw_family;
	uint8_t flags; /* SL_ROUTE_F_* */
	uint8_t pad[2];
	/* The lightweight tunnel encapsulation (RTA_ENCAP), or all zero. */
	struct sl_route_encap encap;
};
_Static_assert(sizeof(struct sl_route_value) == 64, "sl_route_value");
_Static_assert(offsetof(struct sl_route_value, encap) == 40, "sl_route_value.encap");

/* A key with the defaults: unicast, main table, metric 0 (IPv4) or
 * SL_ROUTE_METRIC_V6 (IPv6), prefix copied (addr_len bytes of prefix:
 * 4 or 16) with its host bits cleared. No kernel call. */
static inline void sl_route_key_init(struct sl_route_key *k, uint8_t family, const uint8_t *prefix,
				     uint8_t prefix_len)
{
	unsigned alen = family == AF_INET6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	memcpy(k->prefix, prefix, alen);
	if (prefix_len > alen * 8)
		prefix_len = (uint8_t)(alen * 8);
	for (unsigned b = prefix_len; b < alen * 8; b++)
		k->prefix[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	k->table = SL_ROUTE_TABLE_MAIN;
	k->metric = family == AF_INET6 ? SL_ROUTE_METRIC_V6 : 0;
	k->family = family;
	k->prefix_len = prefix_len;
	k->type = SL_ROUTE_UNICAST;
}

/* A value: gateway (gw_family 0: none; else 4 or 16 bytes of gw), device
 * name. Returns 0, or -EINVAL when the name does not fit (15 characters at
 * most). No kernel call. */
static inline int sl_route_value_init(struct sl_route_value *v, uint8_t gw_family, const uint8_t *gw,
				      const char *dev)
{
	size_t n = dev ? strlen(dev) : 0;

	memset(v, 0, sizeof(*v));
	if (n >= SL_ROUTE_DEV_MAX)
		return -EINVAL;
	if (gw_family && gw)
		memcpy(v->gw, gw, gw_family == AF_INET6 ? 16 : 4);
	v->gw_family = gw_family;
	if (n)
		memcpy(v->dev, dev, n);
	return 0;
}

/* v's encapsulation: an IP tunnel of id to dst (dst_family AF_INET: 4
 * bytes of dst, LWTUNNEL_ENCAP_IP; AF_INET6: 16, LWTUNNEL_ENCAP_IP6).
 * Returns 0, or -EAFNOSUPPORT for another family. No kernel call. */
static inline int sl_route_value_encap(struct sl_route_value *v, uint32_t id, uint8_t dst_family, const uint8_t *dst)
{
	if (dst_family != AF_INET && dst_family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(&v->encap, 0, sizeof(v->encap));
	v->encap.id = id;
	v->encap.type = dst_family == AF_INET ? SL_ROUTE_ENCAP_IP : SL_ROUTE_ENCAP_IP6;
	memcpy(v->encap.dst, dst, dst_family == AF_INET ? 4 : 16);
	return 0;
}

/* ---- names, as a plan line shows them ---- */

/*
 * "route 10.2.0.0/24 via 192.168.50.2 dev eth0", "route fd00:2::/64 via
 * inet 192.168.50.2 dev eth0 metric 1024" (a gateway of the other family),
 * "route local 0.0.0.0/0 dev lo table 20928", "route 10.2.0.0/24 encap
 * vni 1 to 192.168.50.2 dev sluice_vxlan mtu 1450" (an IP tunnel
 * encapsulation: its id, which sluice_vxlan sends as the VNI, and its
 * outer destination), with " mtu N", " onlink", " table N" when set (the
 * unicast type, IPv4 metric 0 and the main table are not shown). v may be
 * NULL: the key only. Returns what snprintf returns.
 */
int route_name(const struct sl_route_key *k, const struct sl_route_value *v, char *buf, size_t len);
/* "10.2.0.0/24": the key's prefix. Returns what snprintf returns. */
int route_prefix_name(const struct sl_route_key *k, char *buf, size_t len);

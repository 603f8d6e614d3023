/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route backend: the routes sluice owns in this network namespace, the
 * ones to remote nodes' pod CIDRs that encryption in direct-routing mode
 * needs (state-format.md, "Encryption"):
 *
 *     10.2.0.0/24 via 192.168.50.2 dev eth0 proto 81
 *
 * the remote node's ip as gateway, datapath.underlayDevice as device. Read
 * with a dump, written with batched requests, over NETLINK_ROUTE (libmnl).
 * This header has no libmnl type in it.
 *
 * Ownership: every route sluice makes carries the route protocol
 * SL_RTPROT (rtm_protocol), is unicast, of universe scope, with TOS 0 and
 * no source prefix, in the main table. Observation returns only those;
 * nothing else is ever changed or removed:
 *   - add is NLM_F_CREATE|NLM_F_EXCL: a route of any protocol that holds
 *     the key makes it fail with -EEXIST, and the message says whether
 *     sluice's own route or another's holds it;
 *   - removal asks the kernel for the route of protocol SL_RTPROT only
 *     (the kernel matches rtm_protocol on RTM_DELROUTE, IPv4 and IPv6), so
 *     the check and the removal are one step;
 *   - replace (NLM_F_REPLACE) would replace whatever holds the key, so a
 *     batch with replaces first reads the main table and refuses (-EPERM)
 *     a replace whose key a route not sluice's holds. (A foreign route
 *     added between that read and the replace is the one window left.)
 *
 * Keys and values are fixed-layout (explicit padding, sizes asserted,
 * addresses as 16 bytes + family, IPv4 in the first 4, integers in host
 * order) so that they are object-set key and value bytes as they are, and
 * compare equal byte for byte when the kernel holds what was asked. To
 * keep that promise, writes refuse (-EINVAL) bytes the kernel could not
 * give back: padding, address bytes past the family's length, prefix bits
 * past its length, or device-name bytes after its NUL that are not zero,
 * IPv6 metric 0 (the kernel makes it 1024), an MTU above 65520 (the kernel
 * caps it).
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "datapath/kernel.h"

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
 * kernel: the number only marks ownership. `ip route show proto 81` lists
 * sluice's routes; a file /etc/iproute2/rt_protos.d/sluice.conf with the
 * line "81 sluice" makes iproute2 print "proto sluice".
 */
#define SL_RTPROT 81

/* The main table (RT_TABLE_MAIN): the only one sluice's routes are in. */
#define SL_ROUTE_TABLE_MAIN 254u
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

/*
 * What the kernel finds a route by, within sluice's (protocol SL_RTPROT,
 * unicast, TOS 0): family, destination prefix, table and metric. Two of
 * sluice's routes never share a key.
 */
struct sl_route_key {
	uint8_t prefix[16];  /* destination, host bits zero; IPv4 in the first 4 */
	uint32_t table;	     /* SL_ROUTE_TABLE_MAIN */
	uint32_t metric;     /* RTA_PRIORITY; IPv4: 0 usual; IPv6: >= 1, SL_ROUTE_METRIC_V6 usual */
	uint8_t family;	     /* AF_INET, AF_INET6 */
	uint8_t prefix_len;  /* 0..32, 0..128 */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct sl_route_key) == 28, "sl_route_key");

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
};
_Static_assert(sizeof(struct sl_route_value) == 40, "sl_route_value");

/* A key with the defaults: main table, metric 0 (IPv4) or
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
 * Dump the main table, IPv4 then IPv6, and call cb for each route that is
 * sluice's (see above), in the kernel's order, with pointers to a key and
 * a value valid during the call only (copy them: objset_add does). cb
 * returns 0 to go on, < 0 to stop: that value is returned. No kernel write.
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

enum sl_route_op { SL_ROUTE_OP_ADD, SL_ROUTE_OP_REPLACE, SL_ROUTE_OP_DEL, SL_ROUTE_OP__MAX };

/* One request of a batch. key and value point at the caller's bytes (an
 * object set's, say); they are read, never kept. */
struct sl_route_req {
	uint8_t op; /* enum sl_route_op */
	uint8_t pad[3];
	int err;	   /* set by route_batch: 0 or -errno */
	const void *key;   /* struct sl_route_key */
	const void *value; /* struct sl_route_value: to write (add, replace); del: may be NULL, names only */
};

/*
 * Run the requests in order, as many to a sendmsg as fit in a chunk
 * (about 64 KiB), only the last of each chunk asking for an ack, so that
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

/* ---- names, as a plan line shows them ---- */

/*
 * "route 10.2.0.0/24 via 192.168.50.2 dev eth0", "route fd00:2::/64 via
 * inet 192.168.50.2 dev eth0 metric 1024" (a gateway of the other family),
 * with " mtu N", " onlink", " table N" when set (IPv4 metric 0 and the
 * main table are not shown). v may be NULL: the key only. Returns what
 * snprintf returns.
 */
int route_name(const struct sl_route_key *k, const struct sl_route_value *v, char *buf, size_t len);

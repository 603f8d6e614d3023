/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The datapath's ABI: every map key and value, map names, verdicts, drop
 * reasons and the packet-mark layout, shared by the BPF programs (bpf/) and
 * user space (src/). Dual-licensed so that both may include it.
 *
 * Rules: fixed-width types, addresses as byte arrays, explicit padding, a
 * size assertion per struct. Every port in a key or value is in network byte
 * order, as it stands in the packet. A change of layout is a new map name
 * (suffix _v2) and a migration, never an edit in place.
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define SL_STATIC_ASSERT static_assert
#else
#define SL_STATIC_ASSERT _Static_assert
#endif

/* ---- map names (pinned under the pin directory by these names) ---- */

#define SL_MAPNAME_ENDPOINTS "sluice_endpoints"
#define SL_MAPNAME_IPCACHE "sluice_ipcache"
#define SL_MAPNAME_POLICY "sluice_policy"
#define SL_MAPNAME_SERVICES "sluice_services"
#define SL_MAPNAME_BACKENDS "sluice_backends"
#define SL_MAPNAME_CT4_TCP "sluice_ct4_tcp"
#define SL_MAPNAME_CT4_ANY "sluice_ct4_any"
#define SL_MAPNAME_CT6_TCP "sluice_ct6_tcp"
#define SL_MAPNAME_CT6_ANY "sluice_ct6_any"
#define SL_MAPNAME_DROPS "sluice_drops"
#define SL_MAPNAME_METRICS "sluice_metrics"
#define SL_MAPNAME_MONITOR "sluice_monitor"
#define SL_MAPNAME_MONITOR_RINGS "sluice_monitor_rings"
#define SL_MAPNAME_MONITOR_LOST "sluice_monitor_lost"
#define SL_MAPNAME_EP_NAMES "sluice_ep_names"
#define SL_MAPNAME_ID_LABELS "sluice_id_labels"
#define SL_MAPNAME_EP_NETNS "sluice_ep_netns"
#define SL_MAPNAME_PREFILTER_V4 "sluice_prefilter_v4"
#define SL_MAPNAME_PREFILTER_V6 "sluice_prefilter_v6"
#define SL_MAPNAME_SOCK "sluice_sock"
#define SL_MAPNAME_SOCK_TAKEN "sluice_sock_taken"
#define SL_MAPNAME_SOCK_NAT "sluice_sock_nat"

/* Program names: what sluice owns among attached programs starts so. */
#define SL_PROG_PREFIX "sluice_"

#define SL_FAMILY_IPV4 4
#define SL_FAMILY_IPV6 6

/* ---- reserved identities (state-format.md) ---- */

enum sl_reserved_identity {
	SL_ID_UNKNOWN = 0, /* in policy keys: any identity */
	SL_ID_HOST = 1,
	SL_ID_WORLD = 2,
	SL_ID_UNMANAGED = 3,
	SL_ID_HEALTH = 4,
	SL_ID_INIT = 5,
	SL_ID_REMOTE_NODE = 6,
	SL_ID_USER_MIN = 256,
	SL_ID_CIDR_MIN = 16777216,
};

/* ---- endpoints: host-side ifindex -> what the programs need ---- */

struct sl_endpoint_key {
	__u32 ifindex;
};
SL_STATIC_ASSERT(sizeof(struct sl_endpoint_key) == 4, "sl_endpoint_key");

enum sl_endpoint_flags {
	SL_EP_ENFORCE_INGRESS = 1 << 0, /* ingress is default-deny */
	SL_EP_ENFORCE_EGRESS = 1 << 1,	/* egress is default-deny */
};

/*
 * The six lookup levels of struct sl_policy_key, most specific first: what
 * of a packet's (peer identity, protocol, port) a key at level L (1..6)
 * keeps; the rest is 0, any. The one statement of the rule: the programs
 * look up by it (bpf/lib/policy.h), compile files entries by it
 * (sl_policy_key_level).
 */
#define SL_POLICY_LEVEL_KEEPS_IDENTITY(l) ((l) <= 3)
#define SL_POLICY_LEVEL_KEEPS_PROTO(l) ((l) % 3 != 0)
#define SL_POLICY_LEVEL_KEEPS_PORT(l) ((l) % 3 == 1)

/* The level of a key: the one whose shape it has. */
static inline int sl_policy_key_level(__u32 identity, __u8 proto, __u16 dport)
{
	for (int l = 1; l < 6; l++)
		if (!!identity == SL_POLICY_LEVEL_KEEPS_IDENTITY(l) && !!proto == SL_POLICY_LEVEL_KEEPS_PROTO(l) &&
		    !!dport == SL_POLICY_LEVEL_KEEPS_PORT(l))
			return l;
	return 6;
}

/*
 * Which of the six lookup levels (struct sl_policy_key) have entries for
 * this endpoint, per direction: bit L-1 for level L. The programs skip the
 * levels that have none. SL_POLICY_LEVELS_KNOWN marks the mask as filled
 * in; without it every level is looked up.
 */
#define SL_POLICY_LEVELS_KNOWN 0x80
#define SL_POLICY_LEVEL(l) (1u << ((l) - 1))

struct sl_endpoint_value {
	__u32 identity;
	__u16 id;		 /* the endpoint's id: first field of its policy keys */
	__u8 flags;		 /* enum sl_endpoint_flags */
	__u8 pad;
	__u8 policy_levels[2];	 /* indexed by enum sl_policy_dir */
	__u16 pad2;
};
SL_STATIC_ASSERT(sizeof(struct sl_endpoint_value) == 12, "sl_endpoint_value");

/* ---- ipcache: prefix -> identity, and how to reach it ---- */

/* LPM trie key: prefixlen counts the family byte and padding (32 bits)
 * plus the address bits. */
struct sl_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
SL_STATIC_ASSERT(sizeof(struct sl_ipcache_key) == 24, "sl_ipcache_key");
#define SL_IPCACHE_PREFIX_BITS(addr_bits) (32 + (addr_bits))

enum sl_ipcache_flags {
	SL_IPCACHE_REMOTE = 1 << 0, /* behind another node: tunnel_addr is set */
};

struct sl_ipcache_value {
	__u32 identity;
	__u8 tunnel_addr[16]; /* the node to tunnel to (overlay) */
	__u8 tunnel_family;   /* 0: local, no tunnel */
	__u8 key;	      /* encryption key index (SPI 1..15), 0: none */
	__u8 flags;	      /* enum sl_ipcache_flags */
	__u8 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_ipcache_value) == 24, "sl_ipcache_value");

/* ---- policy ---- */

enum sl_policy_dir {
	SL_DIR_INGRESS = 0, /* traffic to the endpoint */
	SL_DIR_EGRESS = 1,  /* traffic from the endpoint */
};

/*
 * One entry of one endpoint's policy. Wildcards: identity 0 is any peer,
 * proto 0 is any protocol (then dport is 0), dport 0 is any port. The
 * programs look up, in this order, and a deny at any level wins:
 *   1. (identity, proto, dport)   2. (identity, proto, 0)   3. (identity, 0, 0)
 *   4. (0, proto, dport)          5. (0, proto, 0)          6. (0, 0, 0)
 * A protocol of "ANY" with a port is compiled into entries per protocol
 * (TCP, UDP, SCTP): the programs never look up (proto 0, dport != 0).
 * A port range (endPort) is one entry per port. For ICMP and ICMPv6 the
 * message type stands as the port (sl_policy_icmp_port).
 */
struct sl_policy_key {
	__u16 ep_id;
	__u8 dir;   /* enum sl_policy_dir */
	__u8 proto; /* IPPROTO_*, 0: any */
	__u16 dport;
	__u16 pad;
	__u32 identity; /* the peer's, 0: any */
};
SL_STATIC_ASSERT(sizeof(struct sl_policy_key) == 12, "sl_policy_key");

/*
 * The port of an ICMP or ICMPv6 message in a policy key (proto 1 or 58):
 * its type with a bit above it, so that it is never 0, which is "every
 * port" (type 0, an echo reply, must not stand for every ICMP message).
 * Host order, as a rule's port; the key holds it in network order like
 * every port. The one statement of the encoding: compile files icmps
 * rules by it, the programs look up ICMP packets by it, show reads it back
 * (sl_policy_icmp_type).
 */
#define SL_POLICY_ICMP_TYPE_BIT 0x100
static inline __u16 sl_policy_icmp_port(__u8 type)
{
	return (__u16)(SL_POLICY_ICMP_TYPE_BIT | type);
}

/* The ICMP type an ICMP key's port (host order) stands for; -1: none. */
static inline int sl_policy_icmp_type(__u16 port)
{
	return (port & 0xff00) == SL_POLICY_ICMP_TYPE_BIT ? (int)(port & 0xff) : -1;
}

enum sl_policy_flags {
	SL_POLICY_DENY = 1 << 0,
};

struct sl_policy_value {
	__u8 flags;	   /* enum sl_policy_flags; 0: allow */
	__u8 pad;
	__u16 proxy_port;  /* allow and hand to the local proxy on this port (host order), 0: no */
};
SL_STATIC_ASSERT(sizeof(struct sl_policy_value) == 4, "sl_policy_value");

/* ---- services ---- */

struct sl_service_key {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 family;
};
SL_STATIC_ASSERT(sizeof(struct sl_service_key) == 20, "sl_service_key");

/*
 * A service: its backends (members) and its table of slots. A new flow's
 * hash picks a slot (hash % n_slots); the slot names a member; the member
 * names a backend. The table holds only active members, each in about as
 * many slots as its weight asks; user space fills it by weighted rendezvous
 * hashing (src/reconcile/lb.c), so that a change of one backend moves only
 * the slots it wins or held, about 1/N. Terminating members
 * are in no slot: they keep the flows conntrack pins to them and get no new
 * one. Members are kept in the value (with their weight and state) so that
 * the kernel holds the whole service: plans and `show` read them back.
 */
#define SL_LB_SLOTS 251		/* a prime: every service's table size */
#define SL_LB_MAX_BACKENDS 64	/* members of one service, active and terminating */

enum sl_lb_member_flags {
	SL_LB_MEMBER_TERMINATING = 1 << 0,
};

struct sl_lb_member {
	__u32 backend_id;
	__u16 weight;
	__u8 flags; /* enum sl_lb_member_flags */
	__u8 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_lb_member) == 8, "sl_lb_member");

struct sl_service_value {
	__u32 id;	/* the service, for counters and events */
	__u16 n_slots;	/* SL_LB_SLOTS, or 0: no active backend (refuse new flows) */
	__u8 n_members;
	__u8 flags;
	struct sl_lb_member member[SL_LB_MAX_BACKENDS];
	__u8 slot[SL_LB_SLOTS + 1]; /* an index of member[]; the last byte is padding */
};
SL_STATIC_ASSERT(sizeof(struct sl_service_value) == 8 + 8 * SL_LB_MAX_BACKENDS + SL_LB_SLOTS + 1,
		 "sl_service_value");

struct sl_backend_key {
	__u32 id;
};
SL_STATIC_ASSERT(sizeof(struct sl_backend_key) == 4, "sl_backend_key");

enum sl_backend_flags {
	SL_BACKEND_F_TERMINATING = 1 << 0,
};

struct sl_backend_value {
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 flags; /* enum sl_backend_flags */
};
SL_STATIC_ASSERT(sizeof(struct sl_backend_value) == 20, "sl_backend_value");

/* ---- connection tracking (runtime maps: never diffed) ---- */

enum sl_ct_dir {
	SL_CT_EGRESS = 0,  /* a flow a local endpoint opened (after service translation) */
	SL_CT_INGRESS = 1, /* a flow a local endpoint accepted */
	SL_CT_SERVICE = 2, /* a client's flow to a frontend: which backend it has */
};

/*
 * One map per family and per TCP/other (sluice_ct4_tcp, _ct4_any, _ct6_tcp,
 * _ct6_any; mapSizes.ctTcp sizes both TCP maps, ctAny both others): an IPv4
 * key is 16 bytes, which hashes and compares faster than a key with room
 * for IPv6 addresses.
 */
struct sl_ct4_key {
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport; /* ICMP echo request: the identifier (reply: 0) */
	__u16 dport; /* ICMP echo reply: the identifier (request: 0) */
	__u8 proto;
	__u8 dir; /* enum sl_ct_dir */
	__u16 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_ct4_key) == 16, "sl_ct4_key");

struct sl_ct6_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir; /* enum sl_ct_dir */
	__u16 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_ct6_key) == 40, "sl_ct6_key");

enum sl_ct_flags {
	SL_CT_REV_NAT = 1 << 0,	   /* replies get nat_addr:nat_port as their source */
	SL_CT_SEEN_REPLY = 1 << 1, /* a reply passed: the flow is established */
	SL_CT_FIN_FWD = 1 << 2,
	SL_CT_FIN_REV = 1 << 3,
	SL_CT_CLOSING = 1 << 4, /* RST, or FIN both ways: expire soon */
	SL_CT_PROXY = 1 << 5,	/* redirected to proxy_port */
};

struct sl_ct_value {
	__u64 expires;	     /* deadline in jiffies (bpf_jiffies64) */
	__u8 nat_addr[16];   /* SL_CT_REV_NAT: the frontend; SL_CT_SERVICE: the backend's address, */
	__u16 nat_port;	     /* and port: a backend id reused since names another */
	__u16 proxy_port;    /* host order */
	__u32 backend_id;    /* SL_CT_SERVICE: the backend this flow has */
	__u16 flags;	     /* enum sl_ct_flags */
	__u16 pad;
	__u32 peer_identity; /* the identity policy was decided for */
};
SL_STATIC_ASSERT(sizeof(struct sl_ct_value) == 40, "sl_ct_value");

/* Lifetimes, in seconds (docs/datapath.md). */
#define SL_CT_LIFETIME_TCP_SYN 60
#define SL_CT_LIFETIME_TCP 21600
#define SL_CT_LIFETIME_TCP_CLOSING 10
#define SL_CT_LIFETIME_ANY 60

/* ---- socket acceleration (bpf/sock.bpf.c) ---- */

/*
 * sluice_sock: a sockhash of the TCP sockets whose data goes socket to
 * socket, each by its own addresses and ports as it sees them (local first).
 * A socket's peer is found by the key with both sides swapped. IPv4 (also
 * an IPv6 socket's v4-mapped addresses) in the first 4 bytes of each
 * address. Unlike elsewhere in this file, ports are in host order, as the
 * sockops and sk_msg contexts give them.
 */
struct sl_sock_key {
	__u8 local[16];
	__u8 remote[16];
	__u16 local_port;
	__u16 remote_port;
	__u8 family; /* SL_FAMILY_IPV4 or SL_FAMILY_IPV6 */
	__u8 pad[3];
};
SL_STATIC_ASSERT(sizeof(struct sl_sock_key) == 40, "sl_sock_key");
#define SL_SOCK_MAX_ENTRIES 65536
/* sluice_sock_taken: keys two sockets claimed (LRU, key -> 1). Neither
 * such key nor its peer's is ever used again: no socket joins under it,
 * and no message goes to a socket found by it. */
#define SL_SOCK_TAKEN_MAX_ENTRIES 16384

/* ---- host-reachable services (bpf/sock_lb.bpf.c) ---- */

/*
 * sluice_sock_nat (LRU, runtime): what the socket hooks translated, per
 * socket (its cookie). FWD: the frontend a socket sent to (an unconnected
 * UDP socket's sendmsg) -> the backend it was given, so that the socket
 * keeps it; REV: the backend a socket is connected or sent to -> the
 * frontend, for getpeername() and a datagram's source at recvmsg(). Ports
 * in network order.
 */
enum sl_sock_nat_dir {
	SL_SOCK_NAT_FWD = 0,
	SL_SOCK_NAT_REV = 1,
};
struct sl_sock_nat_key {
	__u64 cookie;
	__u8 addr[16];
	__u16 port;
	__u8 proto;  /* IPPROTO_TCP, IPPROTO_UDP */
	__u8 family; /* SL_FAMILY_IPV4 or SL_FAMILY_IPV6 */
	__u8 dir;    /* enum sl_sock_nat_dir */
	__u8 pad[7];
};
SL_STATIC_ASSERT(sizeof(struct sl_sock_nat_key) == 40, "sl_sock_nat_key");
struct sl_sock_nat_value {
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 pad;
	__u32 backend_id; /* FWD: the backend given (sluice_backends) */
};
SL_STATIC_ASSERT(sizeof(struct sl_sock_nat_value) == 24, "sl_sock_nat_value");

/*
 * Hairpin: a connection translated in tc whose backend is its own client
 * endpoint gets this source address (Cilium's service loopback address
 * for IPv4; for IPv6 one of the discard-only prefix 100::/64, RFC 6666,
 * never a real peer), so that the endpoint's stack accepts it and sends
 * its replies out to the host side, where they are translated back.
 */
#define SL_HAIRPIN_V4 0xa9fe2a01u /* 169.254.42.1, as a number (host order) */
#define SL_HAIRPIN_V6_HI 0x01000000u /* 100::42:1: its first 32 bits as a number, */
#define SL_HAIRPIN_V6_LO 0x00420001u /* its last; the middle ones are 0 */

/* ---- verdicts and drop reasons ---- */

enum sl_drop_reason {
	SL_DROP_NONE = 0,
	SL_DROP_POLICY = 1,	   /* enforced, and no rule allows it */
	SL_DROP_POLICY_DENY = 2,   /* a deny rule matched */
	SL_DROP_NO_BACKEND = 3,	   /* a service with no active backend */
	SL_DROP_PREFILTER = 4,	   /* source in the XDP prefilter */
	SL_DROP_INVALID = 5,	   /* truncated or malformed headers */
	SL_DROP_FRAGMENT = 6,	   /* IP fragments are not carried */
	SL_DROP_NO_ENDPOINT = 7,   /* attached to a device that is no endpoint */
	SL_DROP_NAT_FAILED = 8,	   /* rewriting the packet failed */
	SL_DROP_BACKEND_GONE = 9,  /* the service's slot names no backend */
	SL_DROP_TUNNEL_FAILED = 10,/* setting the tunnel key failed */
	SL_DROP_FAMILY = 11,       /* a frontend and its backend differ in family */
	SL_DROP_NO_TUNNEL_KEY = 12,/* from the overlay without tunnel metadata */
	SL_DROP_BAD_VNI = 13,      /* from the overlay with a VNI that is no identity */
	SL_DROP_PROXY_UNAVAILABLE = 14, /* redirected to a proxy port nothing listens on: refused */
	SL_DROP__MAX
};

/* Per-CPU counters, indexed by reason (sluice_drops) or metric. */
struct sl_counter {
	__u64 packets;
	__u64 bytes;
};
SL_STATIC_ASSERT(sizeof(struct sl_counter) == 16, "sl_counter");

enum sl_metric {
	SL_METRIC_FORWARD = 0,	 /* passed on to the stack */
	SL_METRIC_REPLY = 1,	 /* passed as a reply of a tracked flow */
	SL_METRIC_NEW = 2,	 /* new flows allowed (conntrack entry made) */
	SL_METRIC_DNAT = 3,	 /* service translations of new and tracked flows */
	SL_METRIC_REV_NAT = 4,	 /* reverse translations of replies */
	SL_METRIC_TUNNEL = 5,	 /* redirected to the tunnel device */
	SL_METRIC_ENCRYPT = 6,	 /* marked for encryption */
	SL_METRIC_PROXY = 7,	 /* handed to a local proxy */
	SL_METRIC_RELATED = 8,	 /* ICMP errors of tracked flows */
	SL_METRIC_NOT_IP = 9,	 /* neither IPv4 nor IPv6 (ARP...): passed */
	SL_METRIC_FROM_TUNNEL = 10, /* arrived from the overlay: marked with the sender's identity */
	SL_METRIC__MAX
};

/* ---- packet marks ---- */

/*
 * skb->mark, as the programs set it for the rest of the stack:
 *   bits  8..11  magic: what the mark means
 *   bits 12..15  encryption key index (SPI), with SL_MARK_ENCRYPT
 *   bits 16..31  proxy port (host order), with SL_MARK_PROXY
 *   bits  8..11  SL_MARK_FROM_PROXY alone: set by the proxy itself (SO_MARK)
 *                on its connections onward; not redirected, no policy
 *   bits 16..31  the low 16 bits of a security identity, with SL_MARK_IDENTITY
 *   bits  0..7   its high 8 bits (identities are 24 bits, as VNIs), with
 *                SL_MARK_IDENTITY (Cilium's layout)
 * The xfrm policies sluice installs match (mark & SL_MARK_ENCRYPT_MASK).
 * SL_MARK_IDENTITY is set by sluice_from_overlay on what arrives from the
 * tunnel (the sender's identity, from the VNI) and taken off again by
 * sluice_to_endpoint, which judges the packet by it; bits 12..15 are 0
 * with it, so no encryption policy matches it.
 */
#define SL_MARK_MAGIC_MASK 0x0F00u
#define SL_MARK_ENCRYPT 0x0E00u
#define SL_MARK_PROXY 0x0A00u	   /* to the local proxy: routed locally (sluice's rule) */
#define SL_MARK_FROM_PROXY 0x0B00u /* from the local proxy (state-format.md, "L7 redirect") */
#define SL_MARK_IDENTITY 0x0F00u
/* ipvlan mode: an answer sluice_from_endpoint sent back into its endpoint
 * (bpf/lib/config.h, back_into_endpoint); the whole mark, taken off by
 * sluice_to_endpoint, which lets the packet in */
#define SL_MARK_RETURNED 0x0C00u
#define SL_MARK_KEY_SHIFT 12
#define SL_MARK_ENCRYPT_MASK 0xFF00u
#define SL_MARK_PROXY_PORT_SHIFT 16
#define SL_MARK_IDENTITY_MAX 0xFFFFFFu /* what a VNI and the identity mark carry */

static inline __u32 sl_mark_encrypt(__u8 key)
{
	return SL_MARK_ENCRYPT | ((__u32)(key & 0xF) << SL_MARK_KEY_SHIFT);
}

static inline __u32 sl_mark_proxy(__u16 port)
{
	return SL_MARK_PROXY | ((__u32)port << SL_MARK_PROXY_PORT_SHIFT);
}

static inline __u32 sl_mark_identity(__u32 identity)
{
	return SL_MARK_IDENTITY | ((identity & 0xFFFFu) << 16) | ((identity >> 16) & 0xFFu);
}

/* The identity an SL_MARK_IDENTITY mark carries (the magic is not checked). */
static inline __u32 sl_mark_identity_of(__u32 mark)
{
	return (mark >> 16) | ((mark & 0xFFu) << 16);
}
SL_STATIC_ASSERT((SL_MARK_IDENTITY & SL_MARK_MAGIC_MASK) == SL_MARK_IDENTITY, "identity magic in bits 8..11");
SL_STATIC_ASSERT(SL_MARK_IDENTITY != SL_MARK_ENCRYPT && SL_MARK_IDENTITY != SL_MARK_PROXY &&
			 SL_MARK_FROM_PROXY != SL_MARK_PROXY && SL_MARK_FROM_PROXY != SL_MARK_IDENTITY &&
			 SL_MARK_FROM_PROXY != SL_MARK_ENCRYPT,
		 "magics differ");
SL_STATIC_ASSERT(((0xFFFF00FFu) & SL_MARK_ENCRYPT_MASK) == 0, "identity bits miss the encryption mask");

/* ---- monitor events (sluice monitor) ---- */

/*
 * Each running `sluice monitor` has a slot: a ring buffer of its own in
 * sluice_monitor_rings (hash of maps, slot -> ring; claimed with
 * BPF_NOEXIST) and, in sluice_monitor (array), the event types it wants
 * at 1 + slot. Index 0 of sluice_monitor is the union of all slots' types:
 * the one flag the programs read before making an event (nothing else is
 * done for a type nobody monitors). An event is written to every slot
 * that wants its type; one a full ring refuses is counted in
 * sluice_monitor_lost (per CPU) at the slot's index and at
 * SL_MONITOR_SLOTS (all slots, since the map was made).
 */
#define SL_MONITOR_SLOTS 8
#define SL_MONITOR_RING_BYTES (1u << 20) /* each monitor's ring */

enum sl_monitor_type {
	SL_MON_DROP = 1u << 0,	  /* drops */
	SL_MON_VERDICT = 1u << 1, /* policy verdicts on new flows */
	SL_MON_TRACE = 1u << 2,	  /* forwarded packets */
};

struct sl_monitor_slot {
	__u32 types; /* enum sl_monitor_type bits; index 0: the union */
	__u32 pid;   /* the monitor's process (0: free) */
	__u64 start; /* its start time (clock ticks since boot, /proc/PID/stat) */
};
SL_STATIC_ASSERT(sizeof(struct sl_monitor_slot) == 16, "sl_monitor_slot");

enum sl_event_type {
	SL_EVENT_DROP = 1,	  /* reason: enum sl_drop_reason */
	SL_EVENT_TUNNEL = 2,	  /* forwarded into the overlay (trace) */
	SL_EVENT_PROXY = 3,	  /* handed to a local proxy: target, the port (trace) */
	SL_EVENT_POLICY = 4,	  /* a new flow's verdict: reason, enum sl_verdict */
	SL_EVENT_FROM_TUNNEL = 5, /* arrived from the overlay: src_identity (the VNI), tunnel_addr (trace) */
	SL_EVENT_FORWARD = 6,	  /* forwarded (trace) */
};

enum sl_verdict {
	SL_VERDICT_ALLOW = 1,
	SL_VERDICT_DENY = 2,	 /* no rule allows it */
	SL_VERDICT_DENY_RULE = 3, /* a deny rule matched */
	SL_VERDICT_REDIRECT = 4, /* allowed, to the proxy (target: the port) */
};

struct sl_event {
	__u64 time_ns;	/* bpf_ktime_get_tai_ns: CLOCK_TAI (wall time, whole seconds from UTC) */
	__u8 type;	/* enum sl_event_type */
	__u8 reason;	/* drops: enum sl_drop_reason; verdicts: enum sl_verdict */
	__u8 dir;	/* enum sl_policy_dir */
	__u8 proto;
	__u32 ifindex;	/* where the program ran */
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;	/* network order */
	__u16 dport;
	__u8 family;	/* SL_FAMILY_*, 0: not IP */
	__u8 tunnel_family;
	__u16 pad;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 len;	/* the packet's length */
	__u32 target;	/* proxy port; into the overlay: its device; from it: the VNI */
	__u8 tunnel_addr[16];
};
SL_STATIC_ASSERT(sizeof(struct sl_event) == 88, "sl_event");

/* sluice_id_labels: identity -> its labels as text ("app=web,env=prod",
 * sorted; truncated with "..." when longer), for monitor and show.
 * sluice_ep_names: an endpoint's host-side device (ifindex) -> the
 * endpoint's name. */
#define SL_LABELS_LEN 256
struct sl_id_labels_value {
	char text[SL_LABELS_LEN];
};
#define SL_EP_NAME_LEN 64
struct sl_ep_name_value {
	char name[SL_EP_NAME_LEN];
};

/* sluice_ep_netns (ipvlan mode): an endpoint's interface (its name, as the
 * state gives it) -> the namespace that holds it (a path; "" for sluice's
 * own) and the ipvlan master it must hang off. User space's record of
 * where its programs are: the kernel has no list of namespaces. */
#define SL_NETNS_PATH_LEN 128
struct sl_ep_netns_key {
	char ifname[16];
};
struct sl_ep_netns_value {
	char netns[SL_NETNS_PATH_LEN];
	char master[16];
};
SL_STATIC_ASSERT(sizeof(struct sl_ep_netns_value) == 144, "sl_ep_netns_value layout");

/* Node-wide settings are `const volatile` globals of the programs, set
 * before load (see bpf/lib/config.h): cfg_tunnel_ifindex, cfg_encrypt,
 * cfg_proxy, cfg_hz (the kernel's CONFIG_HZ: conntrack deadlines are in
 * jiffies). */

#endif /* SLUICE_ABI_H */

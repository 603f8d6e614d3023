/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packet tests of the datapath programs through BPF_PROG_TEST_RUN: crafted
 * packets, seeded maps, asserted verdicts, bytes, marks and counters.
 *
 * Each test runs in a process of its own (criterion forks) and first moves
 * into a network namespace of its own, where it makes the devices its
 * endpoints stand for; nothing outlives the test.
 */
#pragma once

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sluice/abi.h>

#include "datapath.skel.h"
#include "prefilter.skel.h"

#define MAX_PKT 512

struct packet {
	uint8_t b[MAX_PKT];
	uint32_t len;
};

/* A flow: addresses as text ("10.1.0.1", "fd00::1"), ports in host order. */
struct flow {
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t proto; /* IPPROTO_TCP/UDP/ICMP/ICMPV6/SCTP or other */
	uint8_t tcp_flags;
};

struct dp {
	struct datapath_bpf *skel;
	struct prefilter_bpf *pf;
	int if_a, if_b; /* two endpoint devices in the test's netns */
};

/* Settings before load. */
struct dp_cfg {
	uint32_t tunnel_ifindex;
	bool encrypt;
	bool trace;
	bool proxy; /* cfg_proxy: some policy names a proxy port */
	uint32_t ct_size;
	/* A device of the test's netns, by name, whose ifindex becomes
	 * cfg_tunnel_ifindex (the netns only exists inside dp_setup). */
	const char *tunnel_dev;
	/* Shell commands run in the test's netns before the programs are
	 * loaded (to make the tunnel device, say), or NULL. */
	const char *before_load;
};

/* Enter a new netns, make devices, load the programs. Skips when not root. */
void dp_setup(struct dp *dp, const struct dp_cfg *cfg);
void dp_teardown(struct dp *dp);

/* Seeding. */
void seed_endpoint(struct dp *dp, int ifindex, uint32_t identity, uint16_t id, uint8_t flags);
void seed_ipcache(struct dp *dp, const char *prefix, uint32_t identity, const char *tunnel, uint8_t key);
void seed_policy(struct dp *dp, uint16_t ep_id, uint8_t dir, uint32_t identity, uint8_t proto, uint16_t dport,
		 bool deny, uint16_t proxy_port);
void seed_service(struct dp *dp, const char *ip, uint16_t port, uint8_t proto, uint32_t id, uint16_t n_slots);
void seed_slot(struct dp *dp, uint32_t service_id, uint32_t slot, uint32_t backend_id);
void seed_backend(struct dp *dp, uint32_t id, const char *ip, uint16_t port, bool terminating);
void delete_backend(struct dp *dp, uint32_t id);

/* Building packets, with correct checksums. */
void build(struct packet *p, const struct flow *f, const void *payload, uint32_t payload_len);
/* An ICMP(v6) error about the packet `about` (quoted whole), sent from src to dst. */
void build_icmp_error(struct packet *p, const char *src, const char *dst, const struct packet *about);
/* The same with a type, code and the 32 bits after the checksum (the MTU of
 * "fragmentation needed" and "packet too big"). */
void build_icmp_error_typed(struct packet *p, const char *src, const char *dst, const struct packet *about,
			    uint8_t type, uint8_t code, uint32_t rest);
/* Parts of a packet. */
struct parsed {
	int family;
	char src[64], dst[64];
	uint16_t sport, dport;
	uint8_t proto;
	bool l3_csum_ok, l4_csum_ok;
};
void parse(const struct packet *p, struct parsed *out);

/* Run a program on a packet from/to an endpoint device; returns the verdict,
 * out receives the packet as the program left it, *mark the skb mark. */
int run_from(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t *mark);
int run_to(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t *mark);
int run_xdp(struct dp *dp, const struct packet *in);
/* run_to with the skb mark set to mark_in first (the overlay's identity
 * mark); *mark what the program left. */
int run_to_marked(struct dp *dp, int ifindex, const struct packet *in, uint32_t mark_in, uint32_t *mark);
/* run_from / run_to with the skb mark set to mark_in first (the proxy's
 * marks), out the packet as the program left it. */
int run_from_marked(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t mark_in,
		    uint32_t *mark);
int run_to_marked_out(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t mark_in,
		      uint32_t *mark);
/* sluice_from_netdev (tc ingress of the underlay device, with a proxyPort). */
int run_from_netdev(struct dp *dp, int ifindex, const struct packet *in, uint32_t *mark);
/* sluice_from_overlay on a packet with no tunnel metadata (TEST_RUN gives none). */
int run_from_overlay(struct dp *dp, int ifindex, const struct packet *in, uint32_t *mark);

/* Counters summed over CPUs. */
uint64_t drops(struct dp *dp, int reason);
uint64_t metric_count(struct dp *dp, int metric);

/* Events gathered so far (cfg.trace: a monitor of every type registered in
 * slot 0): the last of a type, or false. */
bool last_event(struct dp *dp, int type, struct sl_event *out);

/* ---- added for the packet matrix ---- */

/* seed_endpoint, with the policy-level masks (abi.h SL_POLICY_LEVELS_KNOWN). */
void seed_endpoint_levels(struct dp *dp, int ifindex, uint32_t identity, uint16_t id, uint8_t flags,
			  uint8_t levels_ingress, uint8_t levels_egress);
void delete_policy(struct dp *dp, uint16_t ep_id, uint8_t dir, uint32_t identity, uint8_t proto, uint16_t dport);
void delete_slot(struct dp *dp, uint32_t service_id, uint32_t slot);
/* A prefilter entry: "203.0.113.0/24", "2001:db8::/32", a host without length. */
void seed_prefilter(struct dp *dp, const char *prefix);

/* Address text -> bytes (16, IPv4 in the first 4); returns 4 or 6. */
int addr_bytes(const char *s, uint8_t out[16]);

/* The conntrack entry of a flow as its first packet had it (dir: enum
 * sl_ct_dir); ICMP echo flows are keyed by their identifier. */
bool ct_get(struct dp *dp, const struct flow *f, uint8_t dir, struct sl_ct_value *out);
/* Entries in both families' TCP conntrack maps (tcp), or in the others. */
unsigned ct_entries(struct dp *dp, bool tcp);

/* Like run_from/run_to, but what BPF_PROG_TEST_RUN itself said: 0 or
 * -errno; *verdict the program's return when 0. */
int try_run_from(struct dp *dp, int ifindex, const struct packet *in, int *verdict);

/*
 * Real delivery, for frames BPF_PROG_TEST_RUN refuses (it wants at least
 * the Ethernet header and, for IPv4/IPv6 ethertypes, the fixed IP header).
 * The first call attaches the programs with tc: from-endpoint at dpa's
 * ingress, to-endpoint at dpb's egress (IPv6 is turned off on the four
 * devices first, so that the kernel sends nothing of its own). from: the
 * frame is sent into dpa through dpa-peer; else out of dpb. Waits until a
 * counter moved (at most a second). Returns 0, or -errno of the AF_PACKET
 * send: out of dpb, a TC_ACT_SHOT of to-endpoint is -ENOBUFS (the send
 * learns NET_XMIT_DROP); into dpa, the sender learns nothing of ingress.
 */
int inject(struct dp *dp, bool from, const struct packet *p);

/* All drops, every reason, both programs' maps. */
uint64_t drops_total(struct dp *dp);

/* Conntrack deadlines count jiffies (bpf_jiffies64): the kernel's jiffies
 * now, and what is left of an entry's life in seconds at the programs'
 * cfg_hz. */
uint64_t jiffies_now(void);
double ct_remaining_s(struct dp *dp, const struct sl_ct_value *v);

/* Drop counter bytes, summed over CPUs and both programs' maps. */
uint64_t drop_bytes(struct dp *dp, int reason);

/*
 * The topology most cases use. Local endpoints: A (id 1, identity 1000) on
 * dpa, B (id 2, identity 2000) on dpb. ipcache: A, B, and C (identity 3000,
 * a peer that is no local endpoint), each with an IPv4 and an IPv6 address.
 */
#define ID_A 1000
#define ID_B 2000
#define ID_C 3000
#define EP_A 1
#define EP_B 2
void seed_pair(struct dp *dp, uint8_t flags_a, uint8_t flags_b);
static inline const char *ip_a(int fam)
{
	return fam == 6 ? "fd00::1" : "10.1.0.1";
}
static inline const char *ip_b(int fam)
{
	return fam == 6 ? "fd00::2" : "10.1.0.2";
}
static inline const char *ip_c(int fam)
{
	return fam == 6 ? "fd00::3" : "10.1.0.3";
}
static inline uint8_t icmp_proto(int fam)
{
	return fam == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

/* Flows with fresh source ports for distribution tests. */
static inline struct flow flow_tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
	return (struct flow){ src, dst, sport, dport, IPPROTO_TCP, flags };
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_FIN 0x01
#define TCP_RST 0x04

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
	uint32_t ct_size;
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

/* Counters summed over CPUs. */
uint64_t drops(struct dp *dp, int reason);
uint64_t metric_count(struct dp *dp, int metric);

/* Trace events gathered so far (cfg.trace): the last of a type, or false. */
bool last_event(struct dp *dp, int type, struct sl_event *out);

/* Flows with fresh source ports for distribution tests. */
static inline struct flow flow_tcp(const char *src, const char *dst, uint16_t sport, uint16_t dport, uint8_t flags)
{
	return (struct flow){ src, dst, sport, dport, IPPROTO_TCP, flags };
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_FIN 0x01
#define TCP_RST 0x04

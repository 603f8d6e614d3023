// SPDX-License-Identifier: GPL-2.0-only
/*
 * Programs for bench/datapath: baselines, wrappers that make every
 * BPF_PROG_TEST_RUN iteration a new flow (out of the endpoint, and into it
 * for the monitor section), and the floors of those new flows. The test
 * run reuses one skb for all its iterations, so a wrapper gives each a
 * fresh source (address and port: no tuple repeats) and puts the
 * destination back; bench_rewrite_only does the same rewriting and
 * nothing else, so its cost can be taken out. bench/datapath also builds
 * this file against the bpf/ of an older commit (the monitor section's
 * "before"): it uses nothing of bpf/ that commit lacks.
 */
#define SLUICE_BENCH
#include "../bpf/datapath.bpf.c"

/* The tuple renew wrote, network order. */
struct bench_flow {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

/* Per CPU: the wrappers' iteration count, the tuple of the latest (kept
 * here, off the stack: from_endpoint needs most of it), and the conntrack
 * inserts the floor programs made (their helper's return 0), for the
 * bench to check. */
struct bench_count {
	__u32 seq;
	__u32 inserted;
	struct bench_flow f;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_count);
} bench_seq SEC(".maps");

/* Set before load (network order): the frontend the service wrappers
 * restore, and the backend address the direct wrappers send to (a flow
 * a socket hook translated: its first packet already goes there). */
const volatile __u32 bench_frontend_addr = 0;
const volatile __u16 bench_frontend_port = 0;
const volatile __u32 bench_backend_addr = 0;
const volatile __u16 bench_backend_port = 0;
/* and the endpoint's address and port the wrapper into it sends to */
const volatile __u32 bench_endpoint_addr = 0;
const volatile __u16 bench_endpoint_port = 0;

/* Every new flow's source, host order: each program its own /16 (so that
 * the bench can tell whose entries a table holds), the address within it
 * and the port from the iteration count: 60000 ports an address, so no
 * tuple comes back before 3.9 billion iterations. */
#define BENCH_SRC_NEW_FLOW 0x0ac80000	 /* 10.200.0.0/16: bench_new_flow, bench_rewrite_only */
#define BENCH_SRC_FLOOR_2 0x0ac90000	 /* 10.201.0.0/16: bench_floor_insert2 */
#define BENCH_SRC_DIRECT 0x0aca0000	 /* 10.202.0.0/16: bench_new_flow_direct */
#define BENCH_SRC_FLOOR_1 0x0acb0000	 /* 10.203.0.0/16: bench_floor_insert1 */
#define BENCH_SRC_CT_2 0x0acc0000	 /* 10.204.0.0/16: bench_ct_service, bench_ct_service_all */
#define BENCH_SRC_CT_1 0x0acd0000	 /* 10.205.0.0/16: bench_ct_direct */
#define BENCH_SRC_IN 0x0a870000	 /* 10.135.0.0/16: bench_new_flow_in (peers among the ipcache's /32s) */

/* A new flow in the reused skb: a fresh source (address and port) and
 * the destination daddr:dport put back (a program before may have
 * translated it). Two stores: the addresses (Ethernet 14 + IPv4 12: at
 * 26, 8 bytes) and the ports (at 34, 4 bytes). Returns the per-CPU count,
 * its f the tuple written, or NULL. */
static __always_inline struct bench_count *renew(struct __sk_buff *skb, __u32 src_net, __u32 daddr, __u16 dport)
{
	__u32 zero = 0;
	struct bench_count *c = bpf_map_lookup_elem(&bench_seq, &zero);

	if (!c)
		return NULL;
	c->seq += 1;
	c->f.saddr = bpf_htonl(src_net + c->seq / 60000);
	c->f.daddr = daddr;
	c->f.sport = bpf_htons((__u16)(1024 + c->seq % 60000));
	c->f.dport = dport;
	if (bpf_skb_store_bytes(skb, 26, &c->f.saddr, 8, 0) < 0 || bpf_skb_store_bytes(skb, 34, &c->f.sport, 4, 0) < 0)
		return NULL;
	return c;
}

SEC("tc")
int bench_empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

/* The empty program and the check of the monitor's flag that every
 * sluice program makes per packet (events.h): the flag's own cost. */
#ifdef SLUICE_BPF_MONITOR_MAPS_H /* not in the programs from before the events */
SEC("tc")
int bench_flag_only(struct __sk_buff *skb)
{
	return monitor_types() & SL_MON_TRACE ? TC_ACT_UNSPEC : TC_ACT_OK;
}
#endif

SEC("xdp")
int bench_empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int bench_rewrite_only(struct __sk_buff *skb)
{
	return renew(skb, BENCH_SRC_NEW_FLOW, bench_frontend_addr, bench_frontend_port) ? TC_ACT_OK : TC_ACT_SHOT;
}

/* A new flow to the service: SERVICE and EGRESS entries made. */
SEC("tc")
int bench_new_flow(struct __sk_buff *skb)
{
	if (!renew(skb, BENCH_SRC_NEW_FLOW, bench_frontend_addr, bench_frontend_port))
		return TC_ACT_SHOT;
	return from_endpoint(skb);
}

/* A new flow straight to the backend (no frontend, as after translation
 * at connect()): one EGRESS entry made. */
SEC("tc")
int bench_new_flow_direct(struct __sk_buff *skb)
{
	if (!renew(skb, BENCH_SRC_DIRECT, bench_backend_addr, bench_backend_port))
		return TC_ACT_SHOT;
	return from_endpoint(skb);
}

/*
 * The floors of those two: the same rewriting, then only the conntrack
 * inserts the flow needs, by the datapath's own ct_create into the same
 * map (sluice_ct4_tcp, as full), with the entries from_endpoint would
 * make (keys of the same shape, values as policy_decide and lb_select
 * fill them: the SERVICE entry names the backend by id, address and port). No parsing, no other lookup: the tuple is the one renew
 * wrote. Each insert that succeeds is counted (the count sits in the
 * value renew already holds).
 */
static __always_inline void bench_tuple(struct tuple *t, const struct bench_flow *f, __u32 daddr, __u16 dport)
{
	__builtin_memset(t, 0, sizeof(*t));
	__builtin_memcpy(t->saddr, &f->saddr, 4);
	__builtin_memcpy(t->daddr, &daddr, 4);
	t->sport = f->sport;
	t->dport = dport;
	t->proto = IPPROTO_TCP;
	t->family = SL_FAMILY_IPV4;
}

SEC("tc")
int bench_floor_insert1(struct __sk_buff *skb)
{
	struct sl_ct_value egress = { .peer_identity = 2000 };
	struct bench_count *c = renew(skb, BENCH_SRC_FLOOR_1, bench_backend_addr, bench_backend_port);
	struct tuple t;

	if (!c)
		return TC_ACT_SHOT;
	bench_tuple(&t, &c->f, bench_backend_addr, bench_backend_port);
	c->inserted += ct_create(&t, SL_CT_EGRESS, &egress, ct_now()) == 0;
	return TC_ACT_OK;
}

SEC("tc")
int bench_floor_insert2(struct __sk_buff *skb)
{
	struct sl_ct_value service = { .backend_id = 10, .nat_port = bench_backend_port };
	struct sl_ct_value egress = { .nat_port = bench_frontend_port, .flags = SL_CT_REV_NAT, .peer_identity = 2000 };
	struct bench_count *c = renew(skb, BENCH_SRC_FLOOR_2, bench_frontend_addr, bench_frontend_port);
	struct tuple t;
	__u32 frontend = bench_frontend_addr, backend = bench_backend_addr;
	__u64 now = ct_now();

	if (!c)
		return TC_ACT_SHOT;
	__builtin_memcpy(service.nat_addr, &backend, 4);
	__builtin_memcpy(egress.nat_addr, &frontend, 4);
	bench_tuple(&t, &c->f, bench_frontend_addr, bench_frontend_port);
	c->inserted += ct_create(&t, SL_CT_SERVICE, &service, now) == 0;
	bench_tuple(&t, &c->f, bench_backend_addr, bench_backend_port);
	c->inserted += ct_create(&t, SL_CT_EGRESS, &egress, now) == 0;
	return TC_ACT_OK;
}

/*
 * Where the new flows' time goes: the conntrack work from_endpoint does
 * for them, lookups included, and nothing else (the rest of the program
 * is the difference). A new flow to a service (bench_ct_service): the
 * lookup of its SERVICE entry, then the two inserts; bench_ct_service_all
 * also looks its EGRESS entry up before translation, as from_endpoint's
 * fast path did for every packet before 65bba62 (never found for a
 * service flow, whose EGRESS entry is keyed by the backend): what that
 * lookup costs. A new flow straight to a backend: the lookup of its
 * EGRESS entry, then its insert. A lookup that finds something (none
 * should) makes the verdict TC_ACT_SHOT.
 */
static __always_inline int bench_ct_service_flow(struct __sk_buff *skb, const int first_lookup)
{
	struct sl_ct_value service = { .backend_id = 10, .nat_port = bench_backend_port };
	struct sl_ct_value egress = { .nat_port = bench_frontend_port, .flags = SL_CT_REV_NAT, .peer_identity = 2000 };
	struct bench_count *c = renew(skb, BENCH_SRC_CT_2, bench_frontend_addr, bench_frontend_port);
	struct tuple t;
	__u32 frontend = bench_frontend_addr, backend = bench_backend_addr;
	__u64 now = ct_now();
	int found = 0;

	if (!c)
		return TC_ACT_SHOT;
	__builtin_memcpy(service.nat_addr, &backend, 4);
	__builtin_memcpy(egress.nat_addr, &frontend, 4);
	bench_tuple(&t, &c->f, bench_frontend_addr, bench_frontend_port);
	if (first_lookup)
		found |= ct_lookup(&t, SL_CT_EGRESS, 0, now) != NULL;
	found |= ct_lookup(&t, SL_CT_SERVICE, 0, now) != NULL;
	c->inserted += ct_create(&t, SL_CT_SERVICE, &service, now) == 0;
	bench_tuple(&t, &c->f, bench_backend_addr, bench_backend_port);
	c->inserted += ct_create(&t, SL_CT_EGRESS, &egress, now) == 0;
	return found ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int bench_ct_service_all(struct __sk_buff *skb)
{
	return bench_ct_service_flow(skb, 1);
}

SEC("tc")
int bench_ct_service(struct __sk_buff *skb)
{
	return bench_ct_service_flow(skb, 0);
}

SEC("tc")
int bench_ct_direct(struct __sk_buff *skb)
{
	struct sl_ct_value egress = { .peer_identity = 2000 };
	struct bench_count *c = renew(skb, BENCH_SRC_CT_1, bench_backend_addr, bench_backend_port);
	struct tuple t;
	__u64 now = ct_now();
	int found;

	if (!c)
		return TC_ACT_SHOT;
	bench_tuple(&t, &c->f, bench_backend_addr, bench_backend_port);
	found = ct_lookup(&t, SL_CT_EGRESS, 0, now) != NULL;
	c->inserted += ct_create(&t, SL_CT_EGRESS, &egress, now) == 0;
	return found ? TC_ACT_SHOT : TC_ACT_OK;
}

/* A new flow into the endpoint (to_endpoint; the mark cleared, as
 * bench_to_endpoint does), for the monitor section: from a peer in
 * 10.135.0.0/16, a /32 of the bench's ipcache (each its own identity),
 * which no other program's flows nor the conntrack filling use. */
SEC("tc")
int bench_new_flow_in(struct __sk_buff *skb)
{
	skb->mark = 0;
	if (!renew(skb, BENCH_SRC_IN, bench_endpoint_addr, bench_endpoint_port))
		return TC_ACT_SHOT;
	return to_endpoint(skb);
}

SEC("tc")
int bench_from_endpoint(struct __sk_buff *skb)
{
	return from_endpoint(skb);
}

/* to_endpoint with and without the overlay's identity mark: the test run
 * reuses the skb, whose mark to_endpoint takes off, so each iteration sets
 * it again (and the plain one clears it, for the same cost). */
SEC("tc")
int bench_to_endpoint(struct __sk_buff *skb)
{
	skb->mark = 0;
	return to_endpoint(skb);
}

SEC("tc")
int bench_to_endpoint_marked(struct __sk_buff *skb)
{
	skb->mark = sl_mark_identity(2000);
	return to_endpoint(skb);
}

/* from_endpoint with the mark cleared each iteration: a flow delivered to
 * the proxy leaves its mark on the reused skb. */
SEC("tc")
int bench_from_endpoint_unmarked(struct __sk_buff *skb)
{
	skb->mark = 0;
	return from_endpoint(skb);
}

/* What sluice_to_endpoint hairpins for the proxy, back at from_endpoint:
 * the mark set again each iteration (from_endpoint keeps it; the same
 * store for both). */
SEC("tc")
int bench_from_endpoint_hairpinned(struct __sk_buff *skb)
{
	skb->mark = sl_mark_proxy(15001);
	return from_endpoint(skb);
}

SEC("tc")
int bench_from_overlay(struct __sk_buff *skb)
{
	skb->mark = 0;
	return from_overlay(skb);
}

/* The floor of the tunnel's egress: a redirect alone, and a tunnel key
 * put then a redirect (the helper allocates the packet's tunnel metadata),
 * nothing else. */
SEC("tc")
int bench_redirect_only(struct __sk_buff *skb)
{
	return bpf_redirect(1, 0);
}

SEC("tc")
int bench_tunnel_key_only(struct __sk_buff *skb)
{
	struct bpf_tunnel_key tk = { .remote_ipv4 = 0xc0a83c02, .tunnel_id = 1001, .tunnel_ttl = 64 };

	if (bpf_skb_set_tunnel_key(skb, &tk, sizeof(tk), 0) < 0)
		return TC_ACT_SHOT;
	return bpf_redirect(1, 0);
}

char LICENSE[] SEC("license") = "GPL";

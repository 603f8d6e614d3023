// SPDX-License-Identifier: GPL-2.0-only
/*
 * Socket acceleration (datapath.socketAcceleration): TCP between two local
 * endpoints, or between an endpoint and the local proxy, goes socket to
 * socket once established, skipping both devices and the stack.
 *
 *   sluice_sockops  sockops on datapath.cgroupPath (a bpf_link): at
 *                   ACTIVE/PASSIVE_ESTABLISHED, a socket whose flow passed
 *                   sluice's tc programs (its conntrack entries say so) on
 *                   both ends here, or to the proxy, joins sluice_sock.
 *   sluice_sk_msg   sk_msg on sluice_sock: each message of a socket there
 *                   goes to its peer's receive queue (BPF_F_INGRESS), when
 *                   the peer is there too and this socket has never sent
 *                   data through TCP (so nothing it sent can be overtaken).
 *
 * The handshake went through the endpoints' tc programs and their policy
 * (a connection the policy denies never gets here); the data after it does
 * not. docs/datapath.md, "Socket acceleration", walks through it.
 */
#include "lib/common.h"
#include "lib/ct_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SL_SOCK_MAX_ENTRIES);
	__type(key, struct sl_sock_key);
	__type(value, __u64);
} sluice_sock SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_SOCK_TAKEN_MAX_ENTRIES);
	__type(key, struct sl_sock_key);
	__type(value, __u8);
} sluice_sock_taken SEC(".maps");

/* What the message program reads of its socket (CO-RE: offsets from the
 * kernel's BTF at load). */
struct tcp_sock {
	__u64 bytes_sent; /* payload sent, retransmissions too; not the SYN */
	__u32 write_seq;  /* the end of what the application has written */
	__u32 snd_nxt;	  /* the end of what has been sent */
} __attribute__((preserve_access_index));

#define EEXIST 17
#define AF_INET 2
#define AF_INET6 10

static __always_inline int v4_loopback(__u32 a)
{
	return (bpf_ntohl(a) >> 24) == 127;
}

/* The key of a socket as it sees itself (swap: as its peer sees it), from
 * the fields sockops and sk_msg contexts share; 0: not one sluice
 * accelerates (another family, loopback). */
static __always_inline int sock_key(struct sl_sock_key *k, __u32 family, __u32 l4, __u32 r4, const __u32 *l6,
				    const __u32 *r6, __u32 lport, __u32 rport_net, int swap)
{
	__u8 *a = swap ? k->remote : k->local, *b = swap ? k->local : k->remote;
	__u16 lp = (__u16)lport, rp = (__u16)bpf_ntohl(rport_net);

	__builtin_memset(k, 0, sizeof(*k));
	if (family == AF_INET6 && !l6[0] && !l6[1] && l6[2] == bpf_htonl(0xffff) && !r6[0] && !r6[1] &&
	    r6[2] == bpf_htonl(0xffff)) {
		/* v4-mapped: the same key as its IPv4 peer's */
		family = AF_INET;
		l4 = l6[3];
		r4 = r6[3];
	}
	if (family == AF_INET) {
		if (v4_loopback(l4) || v4_loopback(r4))
			return 0;
		k->family = SL_FAMILY_IPV4;
		__builtin_memcpy(a, &l4, 4);
		__builtin_memcpy(b, &r4, 4);
	} else if (family == AF_INET6) {
		/* ::1 */
		if ((!l6[0] && !l6[1] && !l6[2] && l6[3] == bpf_htonl(1)) ||
		    (!r6[0] && !r6[1] && !r6[2] && r6[3] == bpf_htonl(1)))
			return 0;
		k->family = SL_FAMILY_IPV6;
		__builtin_memcpy(a, l6, 16);
		__builtin_memcpy(b, r6, 16);
	} else {
		return 0;
	}
	k->local_port = swap ? rp : lp;
	k->remote_port = swap ? lp : rp;
	return 1;
}

/* sock_key from a context with the fields both sockops and sk_msg have
 * (each read once, by name: the verifier wants context fields read at
 * their own offsets). */
#define SOCK_KEY(k, ctx, swap)                                                                          \
	({                                                                                              \
		__u32 l6_[4] = { (ctx)->local_ip6[0], (ctx)->local_ip6[1], (ctx)->local_ip6[2],         \
				 (ctx)->local_ip6[3] };                                                 \
		__u32 r6_[4] = { (ctx)->remote_ip6[0], (ctx)->remote_ip6[1], (ctx)->remote_ip6[2],      \
				 (ctx)->remote_ip6[3] };                                                \
		sock_key((k), (ctx)->family, (ctx)->local_ip4, (ctx)->remote_ip4, l6_, r6_, (ctx)->local_port, \
			 (ctx)->remote_port, (swap));                                                   \
	})

/* The flow's conntrack entry in one direction of policy; the flow is
 * client -> server (network-order ports, as the programs keep them). */
static __always_inline struct sl_ct_value *ct_entry(const __u8 *client, const __u8 *server, __u16 cport, __u16 sport,
						    __u8 family, __u8 dir)
{
	if (family == SL_FAMILY_IPV4) {
		struct sl_ct4_key k = { .sport = bpf_htons(cport), .dport = bpf_htons(sport),
					.proto = IPPROTO_TCP, .dir = dir };

		__builtin_memcpy(k.saddr, client, 4);
		__builtin_memcpy(k.daddr, server, 4);
		return bpf_map_lookup_elem(&sluice_ct4_tcp, &k);
	} else {
		struct sl_ct6_key k = { .sport = bpf_htons(cport), .dport = bpf_htons(sport),
					.proto = IPPROTO_TCP, .dir = dir };

		__builtin_memcpy(k.saddr, client, 16);
		__builtin_memcpy(k.daddr, server, 16);
		return bpf_map_lookup_elem(&sluice_ct6_tcp, &k);
	}
}

/* Whether both ends of the socket's flow are here: the client's endpoint
 * opened it (its egress entry) and a local endpoint accepted it (an
 * ingress entry) or the flow went to the proxy. A flow to or from another
 * node, or one that never passed sluice's programs, has not both. */
static __always_inline int sock_flow_local(const struct sl_sock_key *k, int active)
{
	const __u8 *client = active ? k->local : k->remote, *server = active ? k->remote : k->local;
	__u16 cport = active ? k->local_port : k->remote_port, sport = active ? k->remote_port : k->local_port;
	struct sl_ct_value *e = ct_entry(client, server, cport, sport, k->family, SL_CT_EGRESS);

	if (!e)
		return 0;
	if (e->flags & SL_CT_PROXY)
		return 1;
	return ct_entry(client, server, cport, sport, k->family, SL_CT_INGRESS) != 0;
}

SEC("sockops")
int sluice_sockops(struct bpf_sock_ops *s)
{
	struct sl_sock_key k;
	int active;

	if (s->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		active = 1;
	else if (s->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		active = 0;
	else
		return 1;
	if (!SOCK_KEY(&k, s, 0))
		return 1;
	if (!sock_flow_local(&k, active) || bpf_map_lookup_elem(&sluice_sock_taken, &k))
		return 1;
	/* Never over another socket's entry. A key already taken means two
	 * sockets see the same addresses and ports (in other namespaces):
	 * which of them a peer means cannot be told, so the key and its
	 * peer's are marked taken, and from then on no socket joins under
	 * either and no message goes to a socket found by either (the
	 * sockets there go on through TCP). */
	if (bpf_sock_hash_update(s, &sluice_sock, &k, BPF_NOEXIST) == -EEXIST) {
		struct sl_sock_key peer;
		__u8 one = 1;

		bpf_map_update_elem(&sluice_sock_taken, &k, &one, BPF_ANY);
		if (SOCK_KEY(&peer, s, 1))
			bpf_map_update_elem(&sluice_sock_taken, &peer, &one, BPF_ANY);
	}
	return 1;
}

SEC("sk_msg")
int sluice_sk_msg(struct sk_msg_md *m)
{
	struct sl_sock_key peer;
	struct tcp_sock *tp;

	if (!SOCK_KEY(&peer, m, 1))
		return SK_PASS;
	/* Once a socket has sent data through TCP it keeps to it: a message
	 * put straight into the peer's queue would overtake what TCP still
	 * carries (the peer reads its queue first). */
	tp = bpf_skc_to_tcp_sock(m->sk);
	if (!tp || tp->bytes_sent || tp->write_seq != tp->snd_nxt)
		return SK_PASS;
	/* a key two sockets claimed: the one found may not be the peer */
	if (bpf_map_lookup_elem(&sluice_sock_taken, &peer))
		return SK_PASS;
	/* No peer: the message goes through TCP. Always SK_PASS: SK_DROP
	 * would fail the sender's write. */
	bpf_msg_redirect_hash(m, &sluice_sock, &peer, BPF_F_INGRESS);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host-reachable services (datapath.hostReachableServices): services
 * translated at the socket, once per connection, for every process under
 * datapath.cgroupPath, the node's own included (cgroup sock_addr hooks,
 * each by a bpf_link pinned in the pin directory).
 *
 *   sluice_connect4/6      connect() of a TCP or UDP socket to a frontend:
 *                          the address becomes one of the service's active
 *                          backends (by weight); none: ECONNREFUSED at once.
 *   sluice_sendmsg4/6      sendto() of an unconnected UDP socket to a
 *                          frontend: the same, and the socket keeps the
 *                          backend it was given for that frontend.
 *   sluice_recvmsg4/6      recvfrom() of a UDP socket: a datagram from a
 *                          backend it was sent to shows the frontend.
 *   sluice_getpeername4/6  getpeername() of a socket connected through a
 *                          frontend: the frontend.
 *
 * The connection then goes to the backend's address: the endpoints' tc
 * programs see a flow to a backend, judge it by policy and track it, with
 * no translation and no SERVICE conntrack entry. What a socket was given
 * is kept in sluice_sock_nat (LRU) by the socket's cookie. An IPv6 socket
 * reaching an IPv4 frontend by its v4-mapped address is translated too.
 * docs/datapath.md, "Host-reachable services", walks through it.
 */
#include "lib/common.h"
#include "lib/lb_maps.h"
#include "lib/drops_map.h"
#include "lib/metrics.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct sl_sock_nat_key);
	__type(value, struct sl_sock_nat_value);
} sluice_sock_nat SEC(".maps");

#define ECONNREFUSED 111

/* A socket address as the hooks see it: IPv4 in the first 4 bytes;
 * mapped: an IPv6 socket's v4-mapped address, written back so. */
struct sa {
	__u8 addr[16];
	__u16 port; /* network order */
	__u8 family;
	__u8 mapped;
};

/* The user's address (connect, sendmsg's destination, recvmsg's source,
 * getpeername's peer). */
static __always_inline void sa_read(struct bpf_sock_addr *ctx, struct sa *a, int v6)
{
	__u32 w[4] = {};

	a->port = (__u16)ctx->user_port;
	a->mapped = 0;
	if (!v6) {
		w[0] = ctx->user_ip4;
		a->family = SL_FAMILY_IPV4;
	} else {
		w[0] = ctx->user_ip6[0];
		w[1] = ctx->user_ip6[1];
		w[2] = ctx->user_ip6[2];
		w[3] = ctx->user_ip6[3];
		a->family = SL_FAMILY_IPV6;
		if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff)) {
			w[0] = w[3];
			w[2] = w[3] = 0;
			a->family = SL_FAMILY_IPV4;
			a->mapped = 1;
		}
	}
	__builtin_memcpy(a->addr, w, 16);
}

/* Write addr:port (of the family a has) back as the user's address; an
 * IPv4 address to a v4-mapped one on an IPv6 socket. */
static __always_inline void sa_write(struct bpf_sock_addr *ctx, const struct sa *a, const __u8 *addr, __u16 port,
				     int v6)
{
	__u32 w[4];

	__builtin_memcpy(w, addr, 16);
	if (!v6) {
		ctx->user_ip4 = w[0];
	} else if (a->mapped) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = w[0];
	} else {
		ctx->user_ip6[0] = w[0];
		ctx->user_ip6[1] = w[1];
		ctx->user_ip6[2] = w[2];
		ctx->user_ip6[3] = w[3];
	}
	ctx->user_port = port;
}

static __always_inline struct sl_service_value *service_of(const struct sa *a, __u8 proto)
{
	struct sl_service_key sk = { .port = a->port, .proto = proto, .family = a->family };

	copy16(sk.addr, a->addr);
	return bpf_map_lookup_elem(&sluice_services, &sk);
}

static __always_inline void nat_key(struct sl_sock_nat_key *k, __u64 cookie, const __u8 *addr, __u16 port,
				    __u8 proto, __u8 family, __u8 dir)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = cookie;
	copy16(k->addr, addr);
	k->port = port;
	k->proto = proto;
	k->family = family;
	k->dir = dir;
}

/*
 * connect() and sendmsg(): a frontend becomes a backend. sendmsg (an
 * unconnected UDP socket) first looks for the backend this socket was
 * given for the frontend, which it keeps while that backend exists, even
 * terminating (its flow is established). Returns 1 (go on), or 0 with
 * ECONNREFUSED set: a service with no active backend.
 */
static __always_inline int xlate_fwd(struct bpf_sock_addr *ctx, int v6, int keep)
{
	struct sl_sock_nat_key k;
	struct sl_sock_nat_value rev = {}, *fwd;
	struct sl_service_value *svc;
	struct sl_backend_value *be = NULL;
	__u8 proto = (__u8)ctx->protocol;
	__u32 id = 0;
	__u64 cookie;
	struct sa a;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	sa_read(ctx, &a, v6);
	svc = service_of(&a, proto);
	if (!svc)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	if (keep) {
		nat_key(&k, cookie, a.addr, a.port, proto, a.family, SL_SOCK_NAT_FWD);
		fwd = bpf_map_lookup_elem(&sluice_sock_nat, &k);
		if (fwd) {
			struct sl_backend_key bk = { .id = fwd->backend_id };

			id = bk.id;
			be = bpf_map_lookup_elem(&sluice_backends, &bk);
			/* a backend deleted leaves its id free for another */
			if (be && !(be->port == fwd->port && eq16(be->addr, fwd->addr)))
				be = NULL;
		}
	}
	if (!be) {
		if (!svc->n_slots) {
			/* refused at once, counted as the tc path counts it */
			count(&sluice_drops, SL_DROP_NO_BACKEND, 0);
			bpf_set_retval(-ECONNREFUSED);
			return 0;
		}
		/* by weight, as the tc path picks (lb_select), at random:
		 * each connection is a new flow */
		be = lb_slot_backend(svc, bpf_get_prandom_u32(), &id);
		/* a table that names what is gone: left to the tc path */
		if (!be) {
			count(&sluice_drops, SL_DROP_BACKEND_GONE, 0);
			return 1;
		}
		if (keep) {
			struct sl_sock_nat_value v = { .port = be->port, .family = be->family, .backend_id = id };

			copy16(v.addr, be->addr);
			bpf_map_update_elem(&sluice_sock_nat, &k, &v, BPF_ANY);
		}
	}
	if (be->family != a.family)
		return 1;
	/* the way back: the backend shows as the frontend */
	copy16(rev.addr, a.addr);
	rev.port = a.port;
	rev.family = a.family;
	rev.backend_id = id;
	nat_key(&k, cookie, be->addr, be->port, proto, be->family, SL_SOCK_NAT_REV);
	bpf_map_update_elem(&sluice_sock_nat, &k, &rev, BPF_ANY);
	sa_write(ctx, &a, be->addr, be->port, v6);
	metric(SL_METRIC_DNAT, 0);
	return 1;
}

/* recvmsg() and getpeername(): a backend the socket was given shows as
 * its frontend, while that service exists. */
static __always_inline int xlate_rev(struct bpf_sock_addr *ctx, int v6)
{
	struct sl_sock_nat_key k;
	struct sl_sock_nat_value *v;
	__u8 proto = (__u8)ctx->protocol;
	struct sa a, fe;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	sa_read(ctx, &a, v6);
	nat_key(&k, bpf_get_socket_cookie(ctx), a.addr, a.port, proto, a.family, SL_SOCK_NAT_REV);
	v = bpf_map_lookup_elem(&sluice_sock_nat, &k);
	if (!v || v->family != a.family)
		return 1;
	copy16(fe.addr, v->addr);
	fe.port = v->port;
	fe.family = v->family;
	if (!service_of(&fe, proto)) {
		/* the service is gone: the peer is what it is */
		bpf_map_delete_elem(&sluice_sock_nat, &k);
		return 1;
	}
	sa_write(ctx, &a, fe.addr, fe.port, v6);
	metric(SL_METRIC_REV_NAT, 0);
	return 1;
}

SEC("cgroup/connect4")
int sluice_connect4(struct bpf_sock_addr *ctx)
{
	return xlate_fwd(ctx, 0, 0);
}

SEC("cgroup/connect6")
int sluice_connect6(struct bpf_sock_addr *ctx)
{
	return xlate_fwd(ctx, 1, 0);
}

SEC("cgroup/sendmsg4")
int sluice_sendmsg4(struct bpf_sock_addr *ctx)
{
	return xlate_fwd(ctx, 0, 1);
}

SEC("cgroup/sendmsg6")
int sluice_sendmsg6(struct bpf_sock_addr *ctx)
{
	return xlate_fwd(ctx, 1, 1);
}

SEC("cgroup/recvmsg4")
int sluice_recvmsg4(struct bpf_sock_addr *ctx)
{
	return xlate_rev(ctx, 0);
}

SEC("cgroup/recvmsg6")
int sluice_recvmsg6(struct bpf_sock_addr *ctx)
{
	return xlate_rev(ctx, 1);
}

SEC("cgroup/getpeername4")
int sluice_getpeername4(struct bpf_sock_addr *ctx)
{
	return xlate_rev(ctx, 0);
}

SEC("cgroup/getpeername6")
int sluice_getpeername6(struct bpf_sock_addr *ctx)
{
	return xlate_rev(ctx, 1);
}

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket acceleration (bpf/sock.bpf.c) with real sockets in the real
 * kernel: sockops and sk_msg programs do not run under BPF_PROG_TEST_RUN,
 * so this is done as the kernel's selftests do sockmap (test_sockmap,
 * sockmap_basic): the programs attached, TCP connections made, data sent,
 * and the sockhash, the data and the sockets' TCP counters looked at.
 *
 *   sluice_sockops  attached (bpf_link) to a cgroup v2 directory of the
 *                   test's own under the hierarchy, which the test process
 *                   moves into, so only its sockets see it
 *   sluice_sk_msg   attached to sluice_sock (BPF_SK_MSG_VERDICT)
 *
 * The conntrack maps are the skeleton's own (nothing pinned, nothing
 * reused), seeded from here with the entries sluice's tc programs would
 * have made. Addresses: 10.9.0.1, 10.9.0.2, fd00:9::1, fd00:9::2 on lo, in
 * a network namespace of the test's own. Data that went socket to socket
 * never went through TCP: the sender's tcpi_bytes_sent and the receiver's
 * tcpi_bytes_received stay 0.
 *
 * Each test runs in a process of its own (criterion forks); its network
 * namespace dies with it, its cgroup is removed by its .fini (and, should
 * the process die before, by main after the run).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "sock.skel.h"
#include "sockenv.h"

#define CG_PREFIX "sluice-dp-sock."

#define CPORT 40001
#define SPORT 8080

static struct sock_bpf *skel;
static struct bpf_link *sockops_link;
static int sock_map = -1, ct4 = -1, ct6 = -1;
static struct sockenv env = { .cg_fd = -1 };
static int fds[32];
static int n_fds;

static void setup(void)
{
	struct bpf_map *m;

	sockenv_setup(&env, CG_PREFIX);
	skel = sock_bpf__open();
	cr_assert_not_null(skel);
	/* The CT maps are LRU with per-CPU lists (1 entry in the object: the
	 * loader reuses the datapath's): room for a few entries per CPU. */
	bpf_object__for_each_map(m, skel->obj)
		if (bpf_map__type(m) == BPF_MAP_TYPE_LRU_HASH)
			cr_assert_eq(bpf_map__set_max_entries(m, 256), 0);
	bpf_map__set_max_entries(skel->maps.sluice_sock, 64);
	cr_assert_eq(sock_bpf__load(skel), 0, "sock load failed");
	sock_map = bpf_map__fd(skel->maps.sluice_sock);
	ct4 = bpf_map__fd(skel->maps.sluice_ct4_tcp);
	ct6 = bpf_map__fd(skel->maps.sluice_ct6_tcp);

	sockops_link = bpf_program__attach_cgroup(skel->progs.sluice_sockops, env.cg_fd);
	cr_assert_not_null(sockops_link, "attach sockops: %s", strerror(errno));
	cr_assert_eq(bpf_prog_attach(bpf_program__fd(skel->progs.sluice_sk_msg), sock_map, BPF_SK_MSG_VERDICT, 0), 0,
		     "attach sk_msg: %s", strerror(errno));
}

static void teardown(void)
{
	for (int i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	n_fds = 0;
	bpf_link__destroy(sockops_link);
	sockops_link = NULL;
	sock_bpf__destroy(skel);
	skel = NULL;
	sockenv_teardown(&env);
}

TestSuite(sock, .init = setup, .fini = teardown, .timeout = 30);

/* ---- addresses, keys, conntrack ---- */

/* An endpoint: family of the socket, its address as text (v4-mapped for an
 * AF_INET6 socket speaking IPv4: "::ffff:10.9.0.1"), port (host order). */
struct end {
	int family;
	const char *ip;
	uint16_t port;
};

/* e's address as a socket of family `family` names it: an IPv4 address
 * v4-mapped for an AF_INET6 socket, a v4-mapped one plain for AF_INET. */
static socklen_t sockaddr_as(int family, const struct end *e, struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN + 8];

	if (family == AF_INET6 && !strchr(e->ip, ':'))
		snprintf(ip, sizeof(ip), "::ffff:%s", e->ip);
	else if (family == AF_INET && !strncmp(e->ip, "::ffff:", 7))
		snprintf(ip, sizeof(ip), "%s", e->ip + 7);
	else
		snprintf(ip, sizeof(ip), "%s", e->ip);
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(e->port);
		cr_assert_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1, "%s", ip);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons(e->port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1, "%s", ip);
	return sizeof(*a);
}

static socklen_t sockaddr_of(const struct end *e, struct sockaddr_storage *ss)
{
	return sockaddr_as(e->family, e, ss);
}

/* An address as the programs key it: IPv4 (also v4-mapped) in the first
 * 4 bytes; returns SL_FAMILY_IPV4 or SL_FAMILY_IPV6. */
static uint8_t key_addr(const char *ip, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t a6[16];

	memset(out, 0, 16);
	if (inet_pton(AF_INET, ip, out) == 1)
		return SL_FAMILY_IPV4;
	cr_assert_eq(inet_pton(AF_INET6, ip, a6), 1, "%s", ip);
	if (!memcmp(a6, mapped, 12)) {
		memcpy(out, a6 + 12, 4);
		return SL_FAMILY_IPV4;
	}
	memcpy(out, a6, 16);
	return SL_FAMILY_IPV6;
}

/* sluice_sock's key of the socket at `self` talking to `peer`. */
static struct sl_sock_key sock_key(const struct end *self, const struct end *peer)
{
	struct sl_sock_key k;

	memset(&k, 0, sizeof(k));
	k.family = key_addr(self->ip, k.local);
	cr_assert_eq(key_addr(peer->ip, k.remote), k.family);
	k.local_port = self->port;
	k.remote_port = peer->port;
	return k;
}

/* The conntrack entry of the flow client -> server in direction dir, as
 * sluice's tc programs make it (ports in network order). */
static void seed_ct(const struct end *client, const struct end *server, uint8_t dir, uint16_t flags)
{
	struct sl_ct_value v = { .expires = ~0ULL, .flags = flags | SL_CT_SEEN_REPLY };
	uint8_t c[16], s[16];
	uint8_t fam = key_addr(client->ip, c);

	cr_assert_eq(key_addr(server->ip, s), fam);
	if (fam == SL_FAMILY_IPV4) {
		struct sl_ct4_key k = { .sport = htons(client->port), .dport = htons(server->port),
					.proto = IPPROTO_TCP, .dir = dir };

		memcpy(k.saddr, c, 4);
		memcpy(k.daddr, s, 4);
		cr_assert_eq(bpf_map_update_elem(ct4, &k, &v, BPF_ANY), 0, "ct4: %s", strerror(errno));
	} else {
		struct sl_ct6_key k = { .sport = htons(client->port), .dport = htons(server->port),
					.proto = IPPROTO_TCP, .dir = dir };

		memcpy(k.saddr, c, 16);
		memcpy(k.daddr, s, 16);
		cr_assert_eq(bpf_map_update_elem(ct6, &k, &v, BPF_ANY), 0, "ct6: %s", strerror(errno));
	}
}

static void seed_both(const struct end *client, const struct end *server)
{
	seed_ct(client, server, SL_CT_EGRESS, 0);
	seed_ct(client, server, SL_CT_INGRESS, 0);
}

/* ---- sockets ---- */

static int track(int fd)
{
	cr_assert_lt(n_fds, (int)(sizeof(fds) / sizeof(fds[0])));
	fds[n_fds++] = fd;
	return fd;
}

static void untrack_close(int fd)
{
	for (int i = 0; i < n_fds; i++)
		if (fds[i] == fd)
			fds[i] = -1;
	cr_assert_eq(close(fd), 0);
}

static int new_socket(int family)
{
	struct timeval tv = { .tv_sec = 3 };
	int one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
	track(fd);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static int listen_on(const struct end *server)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(server, &ss);
	int l = new_socket(server->family);

	cr_assert_eq(bind(l, (struct sockaddr *)&ss, len), 0, "bind %s:%u: %s", server->ip, server->port,
		     strerror(errno));
	cr_assert_eq(listen(l, 8), 0);
	return l;
}

/* A connection client -> server on the listener l (closed after). */
static void connect_on(int l, const struct end *client, const struct end *server, int *ret_c, int *ret_s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int c = new_socket(client->family), s;

	len = sockaddr_of(client, &ss);
	cr_assert_eq(bind(c, (struct sockaddr *)&ss, len), 0, "bind %s:%u: %s", client->ip, client->port,
		     strerror(errno));
	len = sockaddr_as(client->family, server, &ss);
	cr_assert_eq(connect(c, (struct sockaddr *)&ss, len), 0, "connect %s:%u: %s", server->ip, server->port,
		     strerror(errno));
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(s, 0, "accept: %s", strerror(errno));
	track(s);
	untrack_close(l);
	*ret_c = c;
	*ret_s = s;
}

static void connect_pair(const struct end *client, const struct end *server, int *ret_c, int *ret_s)
{
	connect_on(listen_on(server), client, server, ret_c, ret_s);
}

static uint64_t cookie(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len), 0, "SO_COOKIE: %s", strerror(errno));
	return c;
}

/* Put socket fd into sluice_sock under k from here (BPF_NOEXIST). */
static int map_insert(const struct sl_sock_key *k, int fd)
{
	uint64_t v = (uint64_t)fd;

	return bpf_map_update_elem(sock_map, k, &v, BPF_NOEXIST);
}

/* The cookie of the socket sluice_sock holds under k, or 0. */
static uint64_t map_cookie(const struct sl_sock_key *k)
{
	uint64_t c = 0;

	if (bpf_map_lookup_elem(sock_map, k, &c) < 0) {
		cr_assert_eq(errno, ENOENT, "sock lookup: %s", strerror(errno));
		return 0;
	}
	return c;
}

static unsigned map_entries(void)
{
	struct sl_sock_key k, next;
	unsigned n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(sock_map, prev, &next) == 0) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static struct tcp_info tcpinfo(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0, "TCP_INFO: %s", strerror(errno));
	cr_assert_geq(len, offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received));
	return ti;
}

/* ---- data ---- */

/* The byte at offset off of a stream: misplaced chunks show. */
static uint8_t pattern(size_t off)
{
	return (uint8_t)(((uint32_t)off * 2654435761u) >> 24);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Send len bytes of the pattern from stream offset off, blocking. */
static void send_pattern(int a, size_t off, size_t len)
{
	uint8_t buf[16384];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i);
		w = send(a, buf, n, MSG_NOSIGNAL);
		cr_assert_gt(w, 0, "send: %s", strerror(errno));
		off += (size_t)w;
		len -= (size_t)w;
	}
}

/* Receive len bytes and check them against the pattern from offset off. */
static void recv_pattern(int b, size_t off, size_t len)
{
	uint8_t buf[16384];

	while (len) {
		ssize_t r = recv(b, buf, len < sizeof(buf) ? len : sizeof(buf), 0);

		cr_assert_gt(r, 0, "recv: %s (%zu bytes still missing)", r == 0 ? "EOF" : strerror(errno), len);
		for (ssize_t i = 0; i < r; i++)
			cr_assert_eq(buf[i], pattern(off + (size_t)i), "byte %zu differs", off + (size_t)i);
		off += (size_t)r;
		len -= (size_t)r;
	}
}

/* len bytes from a to b, sent and received in turn (more than the socket
 * buffers hold), checked. */
static void pump(int a, int b, size_t len)
{
	uint8_t buf[16384];
	size_t sent = 0, got = 0;
	double deadline = now_s() + 5;

	while (got < len) {
		bool moved = false;
		ssize_t n;

		if (sent < len) {
			size_t k = len - sent < sizeof(buf) ? len - sent : sizeof(buf);

			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(sent + i);
			n = send(a, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				sent += (size_t)n;
				moved = true;
			} else {
				cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", strerror(errno));
			}
		}
		n = recv(b, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				cr_assert_eq(buf[i], pattern(got + (size_t)i), "byte %zu differs", got + (size_t)i);
			got += (size_t)n;
			moved = true;
		} else {
			cr_assert_neq(n, 0, "EOF after %zu of %zu bytes", got, len);
			cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "recv: %s", strerror(errno));
		}
		if (!moved) {
			struct pollfd p[2] = { { .fd = a, .events = POLLOUT }, { .fd = b, .events = POLLIN } };

			cr_assert_lt(now_s(), deadline, "stuck after %zu sent, %zu received of %zu", sent, got, len);
			poll(p, 2, 10);
		}
	}
	cr_assert_eq(sent, len);
}

/* ---- the cases ---- */

static const struct end c4 = { AF_INET, "10.9.0.1", CPORT }, s4 = { AF_INET, "10.9.0.2", SPORT };
static const struct end c6 = { AF_INET6, "fd00:9::1", CPORT }, s6 = { AF_INET6, "fd00:9::2", SPORT };
/* IPv6 sockets speaking IPv4 */
static const struct end c4m = { AF_INET6, "::ffff:10.9.0.1", CPORT }, s4m = { AF_INET6, "::ffff:10.9.0.2", SPORT };

#define DATA (256 * 1024)

/* Both ends accelerated: both sockets in sluice_sock under their keys,
 * data both ways intact, and none of it through TCP. */
static void accelerated(const struct end *client, const struct end *server)
{
	struct sl_sock_key kc = sock_key(client, server), ks = sock_key(server, client);
	struct tcp_info ti;
	int c, s;

	seed_both(client, server);
	connect_pair(client, server, &c, &s);

	cr_assert_eq(map_entries(), 2);
	cr_assert_eq(map_cookie(&kc), cookie(c), "client: %#llx in the map, its cookie %#llx",
		     (unsigned long long)map_cookie(&kc), (unsigned long long)cookie(c));
	cr_assert_eq(map_cookie(&ks), cookie(s), "server: %#llx in the map, its cookie %#llx",
		     (unsigned long long)map_cookie(&ks), (unsigned long long)cookie(s));

	pump(c, s, DATA);
	pump(s, c, DATA);
	/* a small message each way too, alone */
	send_pattern(c, 0, 100);
	recv_pattern(s, 0, 100);
	send_pattern(s, 0, 1);
	recv_pattern(c, 0, 1);

	ti = tcpinfo(c);
	cr_expect_eq(ti.tcpi_bytes_sent, 0, "client sent %llu bytes through TCP", (unsigned long long)ti.tcpi_bytes_sent);
	cr_expect_eq(ti.tcpi_bytes_received, 0, "client received %llu bytes through TCP",
		     (unsigned long long)ti.tcpi_bytes_received);
	ti = tcpinfo(s);
	cr_expect_eq(ti.tcpi_bytes_sent, 0, "server sent %llu bytes through TCP", (unsigned long long)ti.tcpi_bytes_sent);
	cr_expect_eq(ti.tcpi_bytes_received, 0, "server received %llu bytes through TCP",
		     (unsigned long long)ti.tcpi_bytes_received);
}

/* Neither end accelerated: the map stays empty, data through TCP. */
static void not_accelerated(const struct end *client, const struct end *server)
{
	int c, s;

	connect_pair(client, server, &c, &s);
	cr_assert_eq(map_entries(), 0, "%u sockets in sluice_sock", map_entries());
	send_pattern(c, 0, 1000);
	recv_pattern(s, 0, 1000);
	send_pattern(s, 0, 500);
	recv_pattern(c, 0, 500);
	cr_expect_geq(tcpinfo(c).tcpi_bytes_sent, 1000);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_received, 1000);
	cr_expect_geq(tcpinfo(s).tcpi_bytes_sent, 500);
	cr_expect_eq(tcpinfo(c).tcpi_bytes_received, 500);
}

/* 1 */
Test(sock, both_entries_ipv4)
{
	accelerated(&c4, &s4);
}

Test(sock, both_entries_ipv6)
{
	accelerated(&c6, &s6);
}

/* an AF_INET6 client (v4-mapped) and an AF_INET server: one IPv4 key */
Test(sock, both_entries_v4mapped_client)
{
	accelerated(&c4m, &s4);
}

/* an AF_INET client and a dual-stack AF_INET6 server: its accepted socket
 * has v4-mapped addresses */
Test(sock, both_entries_v4mapped_server)
{
	accelerated(&c4, &s4m);
}

/* 2: the peer is not local (no ingress entry here) */
Test(sock, egress_entry_only)
{
	seed_ct(&c4, &s4, SL_CT_EGRESS, 0);
	not_accelerated(&c4, &s4);
}

Test(sock, egress_entry_only_ipv6)
{
	seed_ct(&c6, &s6, SL_CT_EGRESS, 0);
	not_accelerated(&c6, &s6);
}

/* an ingress entry alone: a flow from another node */
Test(sock, ingress_entry_only)
{
	seed_ct(&c4, &s4, SL_CT_INGRESS, 0);
	not_accelerated(&c4, &s4);
}

/* 3: the flow went to the local proxy: no ingress entry needed */
Test(sock, egress_entry_proxy)
{
	struct end p = { AF_INET, "10.9.0.2", 15001 };
	struct sl_sock_key kc = sock_key(&c4, &p), kp = sock_key(&p, &c4);
	int c, s;

	seed_ct(&c4, &p, SL_CT_EGRESS, SL_CT_PROXY);
	connect_pair(&c4, &p, &c, &s);
	cr_assert_eq(map_entries(), 2);
	cr_assert_eq(map_cookie(&kc), cookie(c));
	cr_assert_eq(map_cookie(&kp), cookie(s));
	pump(c, s, DATA);
	pump(s, c, DATA);
	cr_expect_eq(tcpinfo(c).tcpi_bytes_sent, 0);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_sent, 0);
	cr_expect_eq(tcpinfo(c).tcpi_bytes_received, 0);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_received, 0);
}

Test(sock, egress_entry_proxy_ipv6)
{
	struct end p = { AF_INET6, "fd00:9::2", 15001 };
	struct sl_sock_key kc = sock_key(&c6, &p), kp = sock_key(&p, &c6);
	int c, s;

	seed_ct(&c6, &p, SL_CT_EGRESS, SL_CT_PROXY);
	connect_pair(&c6, &p, &c, &s);
	cr_assert_eq(map_entries(), 2);
	cr_assert_eq(map_cookie(&kc), cookie(c));
	cr_assert_eq(map_cookie(&kp), cookie(s));
	pump(c, s, DATA);
	pump(s, c, DATA);
	cr_expect_eq(tcpinfo(c).tcpi_bytes_sent, 0);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_sent, 0);
}

/* 4 */
Test(sock, no_entries)
{
	not_accelerated(&c4, &s4);
}

Test(sock, no_entries_ipv6)
{
	not_accelerated(&c6, &s6);
}

/* entries of another flow (another client port) do not count */
Test(sock, entries_of_another_flow)
{
	struct end other = c4;

	other.port = CPORT + 1;
	seed_both(&other, &s4);
	not_accelerated(&c4, &s4);
}

/* 5: loopback is never accelerated, whatever conntrack says */
Test(sock, loopback_ipv4)
{
	struct end c = { AF_INET, "127.0.0.1", CPORT }, s = { AF_INET, "127.0.0.1", SPORT };

	seed_both(&c, &s);
	seed_ct(&c, &s, SL_CT_EGRESS, SL_CT_PROXY);
	not_accelerated(&c, &s);
}

/* one end on loopback: 127.0.0.5 -> 10.9.0.2 */
Test(sock, loopback_ipv4_one_end)
{
	struct end c = { AF_INET, "127.0.0.5", CPORT };

	seed_both(&c, &s4);
	not_accelerated(&c, &s4);
}

Test(sock, loopback_ipv6)
{
	struct end c = { AF_INET6, "::1", CPORT }, s = { AF_INET6, "::1", SPORT };

	seed_both(&c, &s);
	not_accelerated(&c, &s);
}

/* one end on loopback: ::1 -> fd00:9::2 (the server's remote is ::1) */
Test(sock, loopback_ipv6_one_end)
{
	struct end c = { AF_INET6, "::1", CPORT };

	seed_both(&c, &s6);
	not_accelerated(&c, &s6);
}

Test(sock, loopback_v4mapped)
{
	struct end c = { AF_INET6, "::ffff:127.0.0.1", CPORT }, s = { AF_INET, "127.0.0.1", SPORT };

	seed_both(&c, &s);
	not_accelerated(&c, &s);
}

/*
 * 6: a socket that sent through TCP before its peer joined keeps to TCP.
 * The server's listener is made in the cgroup the test came from, so the
 * sockops program never sees its accepted socket; the client joins the map
 * at connect (conntrack says both ends are local). The client sends D1 with
 * no peer in the map: through TCP; the server reads none of it yet. Then
 * the server's socket joins (from here, as sockops would have), and the
 * client sends D2: had it gone socket to socket it would be read before D1
 * still queued in TCP. The server reads D1 then D2 in order; the client's
 * bytes_sent counts both. The server's own data, it never having sent
 * through TCP, goes socket to socket: the peer lookup works.
 */
Test(sock, tcp_before_peer_keeps_to_tcp)
{
	struct sl_sock_key kc = sock_key(&c4, &s4), ks = sock_key(&s4, &c4);
	const size_t d1 = 32 * 1024, d2 = 32 * 1024;
	int l, c, s;

	seed_both(&c4, &s4);
	sockenv_enter(env.cg_orig);
	l = listen_on(&s4);
	sockenv_enter(env.cg_path);
	connect_on(l, &c4, &s4, &c, &s);
	cr_assert_eq(map_cookie(&kc), cookie(c), "the client joined");
	cr_assert_eq(map_cookie(&ks), 0, "the server's socket is outside the cgroup");
	cr_assert_eq(map_entries(), 1);

	send_pattern(c, 0, d1);
	cr_assert_geq(tcpinfo(c).tcpi_bytes_sent, d1, "D1 went through TCP");

	cr_assert_eq(map_insert(&ks, s), 0, "insert the server: %s", strerror(errno));
	cr_assert_eq(map_cookie(&ks), cookie(s));

	send_pattern(c, d1, d2);
	recv_pattern(s, 0, d1 + d2);
	cr_expect_geq(tcpinfo(c).tcpi_bytes_sent, d1 + d2, "D2 went through TCP too");
	cr_expect_eq(tcpinfo(s).tcpi_bytes_received, d1 + d2);

	/* the other way: socket to socket */
	send_pattern(s, 0, 1000);
	recv_pattern(c, 0, 1000);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_sent, 0, "the server sent %llu bytes through TCP",
		     (unsigned long long)tcpinfo(s).tcpi_bytes_sent);
	cr_expect_eq(tcpinfo(c).tcpi_bytes_received, 0);

	/* and the client still through TCP */
	send_pattern(c, d1 + d2, 1000);
	recv_pattern(s, d1 + d2, 1000);
	cr_expect_geq(tcpinfo(c).tcpi_bytes_sent, d1 + d2 + 1000);
}

/* The same with both sockets put in from here after the client sent: no
 * conntrack entry, so sockops inserts nothing. */
Test(sock, tcp_before_join_keeps_to_tcp)
{
	struct sl_sock_key kc = sock_key(&c6, &s6), ks = sock_key(&s6, &c6);
	int c, s;

	connect_pair(&c6, &s6, &c, &s);
	cr_assert_eq(map_entries(), 0);
	send_pattern(c, 0, 5000);
	cr_assert_eq(map_insert(&kc, c), 0, "%s", strerror(errno));
	cr_assert_eq(map_insert(&ks, s), 0, "%s", strerror(errno));
	send_pattern(c, 5000, 5000);
	recv_pattern(s, 0, 10000);
	cr_expect_geq(tcpinfo(c).tcpi_bytes_sent, 10000);
	send_pattern(s, 0, 3000);
	recv_pattern(c, 0, 3000);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_sent, 0);
}

/* 7: a key already taken keeps its socket (BPF_NOEXIST); the key and its
 * peer's are marked taken */
Test(sock, taken_key_not_overwritten)
{
	struct sl_sock_key kc = sock_key(&c4, &s4), ks = sock_key(&s4, &c4);
	struct end lc = { AF_INET, "127.0.0.1", 41000 }, ls = { AF_INET, "127.0.0.1", 41001 };
	int x, y, c, s;

	/* x: another established socket (loopback: sockops leaves it) */
	connect_pair(&lc, &ls, &x, &y);
	cr_assert_eq(map_entries(), 0);
	cr_assert_eq(map_insert(&kc, x), 0, "%s", strerror(errno));

	seed_both(&c4, &s4);
	connect_pair(&c4, &s4, &c, &s);
	cr_assert_eq(map_cookie(&kc), cookie(x), "the client's key holds %#llx, x is %#llx, the client %#llx",
		     (unsigned long long)map_cookie(&kc), (unsigned long long)cookie(x),
		     (unsigned long long)cookie(c));
	/* the server's key is the taken key's peer: it does not join */
	cr_assert_eq(map_cookie(&ks), 0);
	cr_assert_eq(map_entries(), 1);

	/* the client, not in the map, sends through TCP */
	send_pattern(c, 0, 1000);
	recv_pattern(s, 0, 1000);
	cr_expect_geq(tcpinfo(c).tcpi_bytes_sent, 1000);
}

/* 8: closing removes */
Test(sock, close_removes)
{
	struct sl_sock_key kc = sock_key(&c4, &s4), ks = sock_key(&s4, &c4);
	int c, s, c2, s2;
	struct end c2e = { AF_INET6, "fd00:9::1", CPORT + 1 };

	seed_both(&c4, &s4);
	seed_both(&c2e, &s6);
	connect_pair(&c4, &s4, &c, &s);
	connect_pair(&c2e, &s6, &c2, &s2);
	cr_assert_eq(map_entries(), 4);
	send_pattern(c, 0, 100);
	recv_pattern(s, 0, 100);

	untrack_close(c);
	cr_assert_eq(map_cookie(&kc), 0);
	cr_assert_eq(map_cookie(&ks), cookie(s));
	cr_assert_eq(map_entries(), 3);
	untrack_close(s);
	cr_assert_eq(map_entries(), 2);
	untrack_close(s2);
	untrack_close(c2);
	cr_assert_eq(map_entries(), 0);
}

/* A peer gone from the map: its partner's data goes through TCP, and
 * arrives. */
Test(sock, peer_removed_falls_back_to_tcp)
{
	struct sl_sock_key ks = sock_key(&s4, &c4);
	int c, s;

	seed_both(&c4, &s4);
	connect_pair(&c4, &s4, &c, &s);
	send_pattern(c, 0, 1000);
	recv_pattern(s, 0, 1000);
	cr_assert_eq(tcpinfo(c).tcpi_bytes_sent, 0);
	cr_assert_eq(bpf_map_delete_elem(sock_map, &ks), 0, "%s", strerror(errno));
	send_pattern(c, 1000, 1000);
	recv_pattern(s, 1000, 1000);
	cr_expect_geq(tcpinfo(c).tcpi_bytes_sent, 1000);
}

/* A half-close after accelerated data: the peer reads the data, then EOF
 * (the FIN goes through TCP, the data did not). */
Test(sock, shutdown_after_data)
{
	char b;
	int c, s;

	seed_both(&c6, &s6);
	connect_pair(&c6, &s6, &c, &s);
	send_pattern(c, 0, 16384);
	cr_assert_eq(shutdown(c, SHUT_WR), 0);
	usleep(20000); /* the FIN is there before the data is read */
	recv_pattern(s, 0, 16384);
	cr_assert_eq(recv(s, &b, 1, 0), 0, "EOF after the data");
	cr_expect_eq(tcpinfo(c).tcpi_bytes_sent, 0);
	send_pattern(s, 0, 100);
	recv_pattern(c, 0, 100);
}

/* The programs removed (the sockops link gone, sk_msg detached from the
 * map, every fd of ours closed), as sockhook.c says: accelerated sockets
 * keep their programs and the map until they close; new connections are
 * not accelerated. */
Test(sock, programs_removed_sockets_keep_going)
{
	struct end c2 = { AF_INET, "10.9.0.1", CPORT + 1 };
	int c, s, d, t;

	seed_both(&c4, &s4);
	seed_both(&c2, &s4);
	connect_pair(&c4, &s4, &c, &s);
	pump(c, s, 10000);
	cr_assert_eq(bpf_prog_detach2(bpf_program__fd(skel->progs.sluice_sk_msg), sock_map, BPF_SK_MSG_VERDICT), 0,
		     "%s", strerror(errno));
	bpf_link__destroy(sockops_link);
	sockops_link = NULL;
	sock_bpf__destroy(skel);
	skel = NULL;
	sock_map = ct4 = ct6 = -1;

	pump(c, s, 100000);
	pump(s, c, 100000);
	cr_expect_eq(tcpinfo(c).tcpi_bytes_sent, 0);
	cr_expect_eq(tcpinfo(s).tcpi_bytes_sent, 0);

	connect_pair(&c2, &s4, &d, &t);
	send_pattern(d, 0, 1000);
	recv_pattern(t, 0, 1000);
	cr_expect_geq(tcpinfo(d).tcpi_bytes_sent, 1000, "a new connection goes through TCP");
}

/*
 * A key already taken by another socket (x: the same addresses and ports in
 * another namespace, here a loopback socket put there from user space)
 * keeps x; the client's failed join marks its key and its peer's taken
 * (sluice_sock_taken), so the server, whose own key was free, does not join,
 * and nothing is sent to x: the server's data reaches the client through
 * TCP, and x gets none of it.
 */
Test(sock, taken_key_peer_gets_its_data)
{
	struct sl_sock_key kc = sock_key(&c4, &s4);
	struct end lc = { AF_INET, "127.0.0.1", 41000 }, ls = { AF_INET, "127.0.0.1", 41001 };
	char buf[64];
	int x, y, c, s;

	connect_pair(&lc, &ls, &x, &y);
	cr_assert_eq(map_insert(&kc, x), 0, "%s", strerror(errno));
	seed_both(&c4, &s4);
	connect_pair(&c4, &s4, &c, &s);
	cr_assert_eq(map_cookie(&kc), cookie(x));

	send_pattern(s, 0, 1000);
	usleep(50000);
	cr_expect_lt(recv(x, buf, sizeof(buf), MSG_DONTWAIT), 0, "x received the server's data");
	recv_pattern(c, 0, 1000);
	cr_expect_geq(tcpinfo(s).tcpi_bytes_sent, 1000, "the server's data went through TCP");
	cr_expect_eq(map_cookie(&kc), cookie(x), "x keeps its key");
}

/* Criterion's own main, then: without root every test skipped, which meson
 * is told by 77; and the cgroups of tests that died before their .fini
 * removed (theirs only: named after this process). */
int main(int argc, char *argv[])
{
	return sockenv_main(argc, argv, CG_PREFIX);
}

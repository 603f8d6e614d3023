/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay with real packets: bpf_skb_get_tunnel_key needs tunnel
 * metadata, which only a real VXLAN device gives, and the MTU behaviour is
 * the kernel's. Three network namespaces:
 *
 *   node B (the test's own): sluice_vxlan (external, port 8472), the
 *     programs attached as sluice attaches them (from_endpoint at dpa's tc
 *     ingress, to_endpoint at its egress, from_overlay at sluice_vxlan's
 *     ingress), underlay ul0 192.168.77.2/24 (MTU 1500)
 *   pod P: dpa-peer 10.1.0.1, MTU 1500: endpoint A (identity 1000)
 *   node A: ul1 192.168.77.1/24 (MTU 1500) and plain VXLAN devices toward
 *     node B with fixed VNIs, as another node's pods of those identities:
 *     vxt (VNI 1000, 10.2.0.5: it takes what P, identity 1000, sends), vx1
 *     (VNI 4001, 10.5.0.5) and vx2 (VNI 4002, 10.3.0.5)
 *
 * The ipcache says 10.5.0.5 and 10.3.0.5 are both identity 4001 behind
 * 192.168.77.1, so that a verdict by the VNI differs from one by the
 * ipcache. The helper namespaces are held by child processes that die
 * with the test (PR_SET_PDEATHSIG); nothing outlives it.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <unistd.h>

static struct dp dp;
static pid_t ns_pod, ns_node_a, reader;

#define VX "sluice_vxlan"
#define TRANSFER (1024 * 1024)

/* A process in a network namespace of its own, until killed. */
static pid_t netns_holder(void)
{
	int fds[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1, "netns holder");
	close(fds[0]);
	return pid;
}

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Run f in the namespace of pid, then come back. */
static int in_netns(pid_t pid, int (*f)(void *), void *arg)
{
	char path[64];
	int self = open("/proc/self/ns/net", O_RDONLY), other, r;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	other = open(path, O_RDONLY);
	cr_assert(self >= 0 && other >= 0);
	cr_assert_eq(setns(other, CLONE_NEWNET), 0, "setns: %s", strerror(errno));
	r = f(arg);
	cr_assert_eq(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(other);
	return r;
}

static void attach(int ifindex, bool ingress, const struct bpf_program *p)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = bpf_program__fd(p));
	int r = bpf_tc_hook_create(&hook);

	cr_assert(r == 0 || r == -EEXIST, "clsact: %d", r);
	cr_assert_eq(bpf_tc_attach(&hook, &o), 0, "attach %s", bpf_program__name(p));
}

static void setup(void)
{
	struct dp_cfg cfg = { .tunnel_dev = VX, .trace = true,
			      .before_load = "ip link add " VX " type vxlan external dstport 8472 nolearning" };

	dp_setup(&dp, &cfg);
	ns_pod = netns_holder();
	ns_node_a = netns_holder();
	/* node B */
	/* IPv6 off in all three: the kernel's own router solicitations and
	 * MLD reports would be flows of their own in the counters */
	sh("for p in %d %d %d; do nsenter -t $p -n sh -c 'for c in all default; do "
	   "echo 1 > /proc/sys/net/ipv6/conf/$c/disable_ipv6; done' || exit 1; done",
	   (int)getpid(), (int)ns_pod, (int)ns_node_a);
	sh("ip link add ul0 type veth peer name ul1 && ip link set ul1 netns %d && "
	   "ip addr add 192.168.77.2/24 dev ul0 && ip link set ul0 up && ip link set " VX " up && "
	   "ip link set dpa-peer address 02:00:00:00:0a:01 && ip link set dpa-peer netns %d && ip link set dpa up && "
	   "ip route add 10.1.0.1/32 dev dpa && ip neigh add 10.1.0.1 lladdr 02:00:00:00:0a:01 dev dpa nud permanent",
	   (int)ns_node_a, (int)ns_pod);
	sh("echo 1 > /proc/sys/net/ipv4/ip_forward && for d in all default " VX " dpa ul0; do "
	   "echo 0 > /proc/sys/net/ipv4/conf/$d/rp_filter; done");
	/* pod P: its gateway is anything: from_endpoint redirects what it sends */
	sh("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 10.1.0.1/32 dev dpa-peer && "
	   "ip link set dpa-peer up && ip route add default dev dpa-peer && "
	   "ip neigh add 10.2.0.5 lladdr 02:00:00:00:0b:01 dev dpa-peer nud permanent'",
	   (int)ns_pod);
	/* node A: plain VXLAN devices with fixed VNIs toward node B */
	sh("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 192.168.77.1/24 dev ul1 && ip link set ul1 up && "
	   "ip link add vxt address 02:00:00:00:0b:01 mtu 1500 type vxlan id 1000 remote 192.168.77.2 dstport 8472 dev ul1 && "
	   "ip link add vx1 address 02:00:00:00:0b:04 mtu 1500 type vxlan id 4001 remote 192.168.77.2 dstport 8472 dev ul1 && "
	   "ip link add vx2 address 02:00:00:00:0b:02 mtu 1500 type vxlan id 4002 remote 192.168.77.2 dstport 8472 dev ul1 && "
	   "ip addr add 10.2.0.5/32 dev vxt && ip addr add 10.5.0.5/32 dev vx1 && ip addr add 10.3.0.5/32 dev vx2 && "
	   "for d in vxt vx1 vx2; do ip link set $d up && "
	   "ip neigh add 10.1.0.1 lladdr 02:00:00:00:0a:02 dev $d nud permanent || exit 1; done && "
	   "ip route add 10.1.0.1/32 dev vxt'",
	   (int)ns_node_a);

	seed_endpoint(&dp, dp.if_a, ID_A, EP_A, SL_EP_ENFORCE_INGRESS);
	seed_ipcache(&dp, "10.1.0.1", ID_A, NULL, 0);
	seed_ipcache(&dp, "10.2.0.5", 4001, "192.168.77.1", 0);
	seed_ipcache(&dp, "10.5.0.5", 4001, "192.168.77.1", 0);
	seed_ipcache(&dp, "10.3.0.5", 4001, "192.168.77.1", 0);
	attach(dp.if_a, true, dp.skel->progs.sluice_from_endpoint);
	attach(dp.if_a, false, dp.skel->progs.sluice_to_endpoint);
	attach((int)if_nametoindex(VX), true, dp.skel->progs.sluice_from_overlay);
}

static void teardown(void)
{
	if (ns_pod > 0)
		kill(ns_pod, SIGKILL), waitpid(ns_pod, NULL, 0);
	if (ns_node_a > 0)
		kill(ns_node_a, SIGKILL), waitpid(ns_node_a, NULL, 0);
	if (reader > 0)
		kill(reader, SIGKILL), waitpid(reader, NULL, 0);
	ns_pod = ns_node_a = reader = 0;
	dp_teardown(&dp);
}

TestSuite(overlay_wire, .init = setup, .fini = teardown, .timeout = 60);

struct udp_send {
	const char *dev;
	uint16_t port;
};

/* From node A, out of one VXLAN device (its VNI), a datagram to P. */
static int send_udp(void *arg)
{
	const struct udp_send *u = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(u->port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), r;

	inet_pton(AF_INET, "10.1.0.1", &to.sin_addr);
	cr_assert_geq(fd, 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, u->dev, (socklen_t)strlen(u->dev)), 0);
	r = (int)sendto(fd, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
	return r;
}

/* Wait (up to a second) until the metric or drop counter moves past before. */
static uint64_t wait_count(bool drop, int idx, uint64_t before)
{
	uint64_t n = 0;

	for (int i = 0; i < 1000; i++) {
		n = drop ? drops(&dp, idx) : metric_count(&dp, idx);
		if (n > before)
			break;
		usleep(1000);
	}
	return n;
}

Test(overlay_wire, vni_is_the_identity_policy_judges)
{
	struct udp_send u1 = { "vx1", 53 }, u2 = { "vx2", 53 };
	struct sl_event ev;
	uint8_t node_a[16];

	/* P admits identity 4001 on UDP 53; 4002 nothing (the ipcache says
	 * 4001 for both senders). */
	seed_policy(&dp, EP_A, SL_DIR_INGRESS, 4001, IPPROTO_UDP, 53, false, 0);

	cr_assert_eq(in_netns(ns_node_a, send_udp, &u1), 5);
	cr_assert_eq(wait_count(false, SL_METRIC_NEW, 0), 1, "VNI 4001: a new flow allowed");
	cr_expect_eq(metric_count(&dp, SL_METRIC_FROM_TUNNEL), 1, "counted as from the tunnel");
	usleep(2000);
	cr_assert(last_event(&dp, SL_EVENT_FROM_TUNNEL, &ev), "a from-tunnel event");
	addr_bytes("192.168.77.1", node_a);
	cr_expect_eq(ev.src_identity, 4001, "identity from the VNI: %u", ev.src_identity);
	cr_expect_eq(ev.tunnel_family, 4);
	cr_expect_arr_eq(ev.tunnel_addr, node_a, 4, "from node A's address");
	cr_expect_eq(ev.ifindex, if_nametoindex(VX));
	cr_assert(last_event(&dp, SL_EVENT_POLICY, &ev), "a policy event");
	cr_expect_eq(ev.src_identity, 4001);
	cr_expect_eq(ev.dst_identity, ID_A);
	cr_expect_eq(drops_total(&dp), 0, "nothing dropped");

	cr_assert_eq(in_netns(ns_node_a, send_udp, &u2), 5);
	cr_assert_eq(wait_count(true, SL_DROP_POLICY, 0), 1, "VNI 4002: dropped by policy, whatever the ipcache says");
	usleep(2000);
	cr_assert(last_event(&dp, SL_EVENT_DROP, &ev));
	cr_expect_eq(ev.src_identity, 4002, "the drop names the VNI's identity: %u", ev.src_identity);
	cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 1, "no second flow");
	cr_expect_eq(metric_count(&dp, SL_METRIC_FROM_TUNNEL), 2);
}

Test(overlay_wire, vni_zero_is_a_counted_drop)
{
	struct udp_send u = { "vx0", 53 };

	sh("nsenter -t %d -n sh -c 'ip link add vx0 address 02:00:00:00:0b:03 type vxlan id 0 remote 192.168.77.2 "
	   "dstport 8472 dev ul1 && ip addr add 10.4.0.5/32 dev vx0 && ip link set vx0 up && "
	   "ip neigh add 10.1.0.1 lladdr 02:00:00:00:0a:02 dev vx0 nud permanent'",
	   (int)ns_node_a);
	seed_policy(&dp, EP_A, SL_DIR_INGRESS, 0, 0, 0, false, 0);
	cr_assert_eq(in_netns(ns_node_a, send_udp, &u), 5);
	cr_expect_eq(wait_count(true, SL_DROP_BAD_VNI, 0), 1, "VNI 0 names no identity: bad-vni");
	cr_expect_eq(metric_count(&dp, SL_METRIC_NEW), 0, "it reached no endpoint");
}

/* ---- a 1 MB TCP transfer, pod P to node A's 10.2.0.5, through the tunnel ---- */

struct server {
	int fd;
};

static int listen_a(void *arg)
{
	struct server *s = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5001) };
	int one = 1;

	inet_pton(AF_INET, "10.2.0.5", &a.sin_addr);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->fd, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(s->fd, 1), 0);
	return 0;
}

static int connect_p(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(5001) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	inet_pton(AF_INET, "10.2.0.5", &a.sin_addr);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect through the overlay: %s",
		     strerror(errno));
	return fd;
}

/* Pod MTU 1500, underlay MTU 1500: every full-sized segment is too big for
 * the tunnel, and the transfer still completes: the tunnel key has no
 * BPF_F_DONT_FRAGMENT, so the outer packets may be fragmented. (Over this
 * veth underlay the kernel hands the GSO packets across whole, so
 * fragmentation itself is not what this shows; docs/datapath.md, "MTU".) */
Test(overlay_wire, full_mtu_tcp_transfer_completes)
{
	struct server s;
	static char buf[64 * 1024];
	size_t sent = 0, got = 0;
	int fd, st = 0, pfd[2];

	in_netns(ns_node_a, listen_a, &s);
	cr_assert_eq(pipe(pfd), 0);
	reader = fork();
	cr_assert_geq(reader, 0);
	if (reader == 0) {
		/* the server: count what arrives, report it */
		int c;
		uint64_t n = 0;
		ssize_t r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = accept(s.fd, NULL, NULL);
		if (c < 0)
			_exit(2);
		while ((r = read(c, buf, sizeof(buf))) > 0)
			n += (uint64_t)r;
		if (write(pfd[1], &n, sizeof(n)) != sizeof(n))
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	close(s.fd);
	fd = in_netns(ns_pod, connect_p, NULL);
	memset(buf, 'x', sizeof(buf));
	while (sent < TRANSFER) {
		ssize_t w = write(fd, buf, sizeof(buf) < TRANSFER - sent ? sizeof(buf) : TRANSFER - sent);

		cr_assert_gt(w, 0, "write after %zu bytes: %s", sent, strerror(errno));
		sent += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	{
		uint64_t n = 0;

		cr_assert_eq(read(pfd[0], &n, sizeof(n)), (ssize_t)sizeof(n), "the server's count");
		got = (size_t)n;
	}
	close(fd);
	close(pfd[0]);
	waitpid(reader, &st, 0);
	reader = 0;
	cr_expect_eq(got, (size_t)TRANSFER, "node A received %zu of %d bytes", got, TRANSFER);
	cr_expect_gt(metric_count(&dp, SL_METRIC_TUNNEL), 0, "P's segments went into the tunnel");
	cr_expect_gt(metric_count(&dp, SL_METRIC_FROM_TUNNEL), 0, "node A's acks came from the tunnel");
	cr_expect_eq(drops_total(&dp), 0, "nothing dropped");
}

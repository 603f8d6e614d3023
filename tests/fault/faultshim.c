/* SPDX-License-Identifier: Apache-2.0 */
/*
 * faultshim.so: fault injection for sluice's kernel writes, by LD_PRELOAD
 * (tests/integration/test-faults.sh; docs/fault-injection.md).
 *
 * It sits between sluice (and the libbpf and libmnl it links) and the
 * kernel, and sees every call that changes kernel state:
 *
 *   - bpf(2) through glibc's syscall(), as libbpf makes it: map creation,
 *     updates and deletes (single and batch), freezes, program loads, pins,
 *     attach and link commands;
 *   - netlink requests that write (rtnetlink NEW, DEL and SET messages: tc
 *     qdiscs and filters, XDP through RTM_SETLINK, routes; xfrm NEW, DEL,
 *     UPD and FLUSH messages), through send(), sendto() and sendmsg(), one
 *     message at a time even when many share one send;
 *   - unlink, unlinkat, rmdir and mkdir on a bpffs (pins removed, the pin
 *     directory made and removed).
 *
 * Each write gets a descriptor, "OP OBJECT" (map_update sluice_policy,
 * obj_pin prog_prefilter_0123456789abcdef, rtnl_newtfilter lxc-a:ingress),
 * and an occurrence number among the writes of the same descriptor:
 * "map_update sluice_policy#2". Writes of one descriptor come from one
 * thread, in one order, so the descriptor and its occurrence name the same
 * write in every run from the same start, even though sluice makes its
 * runtime maps on a second thread.
 *
 * Environment (all optional; without them the shim only passes calls on):
 *   SLUICE_FAULT_LOG=FILE   append "INDEX DESCRIPTOR#K" for every write, and
 *                           "FAULT INDEX DESCRIPTOR#K ERRNO" for the one failed
 *   SLUICE_FAULT_AT=N       fail the Nth write (1-based, in the order seen)
 *   SLUICE_FAULT_AT=DESC#K  fail the write with that descriptor and occurrence
 *   SLUICE_FAULT_ONCE=1     fail only that write; by default every later write
 *                           with the same descriptor fails too, as a kernel
 *                           that refuses a call refuses its retry (libbpf
 *                           retries a program load to fetch the verifier's
 *                           log, and a map creation without BTF)
 *   SLUICE_FAULT_ERRNO=E    the errno of a failed bpf(2) or file call (default EIO)
 *   SLUICE_FAULT_COUNT=FILE write the number of writes seen, at exit
 *
 * How a write fails: bpf(2) and the file calls return -1 with the errno,
 * without reaching the kernel (a batch reports 0 elements done, as the
 * kernel does when it stops at the first); a netlink write reaches the
 * kernel with its message type made invalid, so the kernel itself refuses
 * that one message with an error ack (EOPNOTSUPP from rtnetlink, EINVAL
 * from xfrm) and carries on with the rest of the send, and sluice reads
 * the failure on its real ack path.
 *
 * Not counted, on purpose: libbpf's feature probes (maps and programs with
 * no name or a libbpf_ name, made and dropped inside one load), BTF loads
 * (libbpf loads a program without BTF when the kernel refuses it) and
 * BPF_PROG_BIND_MAP (libbpf only warns when it fails): a failure of these
 * is not a failure of the apply.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DESC_LEN 160

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_writes;
static struct occ {
	char desc[DESC_LEN];
	unsigned n;
} *occs;
static size_t n_occs, cap_occs;
static char failing[DESC_LEN]; /* the descriptor that failed: it keeps failing */

static long (*real_syscall)(long, ...);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_rmdir)(const char *);
static int (*real_mkdir)(const char *, mode_t);

static void *next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "faultshim: no %s after the shim\n", name);
		abort();
	}
	return f;
}

__attribute__((constructor)) static void init(void)
{
	real_syscall = next("syscall");
	real_send = next("send");
	real_sendto = next("sendto");
	real_sendmsg = next("sendmsg");
	real_unlink = next("unlink");
	real_unlinkat = next("unlinkat");
	real_rmdir = next("rmdir");
	real_mkdir = next("mkdir");
}

__attribute__((destructor)) static void fini(void)
{
	const char *path = getenv("SLUICE_FAULT_COUNT");
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "w")))
		return;
	fprintf(f, "%lu\n", n_writes);
	fclose(f);
}

static int fault_errno(void)
{
	const char *s = getenv("SLUICE_FAULT_ERRNO");
	int e = s ? atoi(s) : 0;

	return e > 0 ? e : EIO;
}

static void log_line(const char *fmt, ...)
{
	const char *path = getenv("SLUICE_FAULT_LOG");
	va_list ap;
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* One write seen: count it, log it, and say whether it is the one to fail. */
static bool write_seen(const char *desc, int err)
{
	const char *at = getenv("SLUICE_FAULT_AT");
	unsigned long idx;
	unsigned k = 0;
	char full[DESC_LEN + 16];
	bool fail = false;
	size_t i;

	pthread_mutex_lock(&lock);
	idx = ++n_writes;
	for (i = 0; i < n_occs && strcmp(occs[i].desc, desc); i++)
		;
	if (i == n_occs) {
		if (n_occs == cap_occs) {
			size_t cap = cap_occs ? 2 * cap_occs : 64;
			struct occ *o = realloc(occs, cap * sizeof(*o));

			if (!o)
				abort();
			occs = o;
			cap_occs = cap;
		}
		snprintf(occs[n_occs].desc, DESC_LEN, "%s", desc);
		occs[n_occs++].n = 0;
	}
	k = ++occs[i].n;
	snprintf(full, sizeof(full), "%s#%u", desc, k);
	if (at && *at) {
		char *end;
		unsigned long n = strtoul(at, &end, 10);

		fail = *end ? strcmp(at, full) == 0 : n == idx;
	}
	log_line("%lu %s\n", idx, full);
	if (fail) {
		log_line("FAULT %lu %s %s\n", idx, full, strerrorname_np(err) ? strerrorname_np(err) : "?");
		if (!getenv("SLUICE_FAULT_ONCE"))
			snprintf(failing, sizeof(failing), "%s", desc);
	} else if (failing[0] && !strcmp(failing, desc)) {
		/* the same call again (a retry): it fails again */
		fail = true;
		log_line("FAULT-AGAIN %lu %s %s\n", idx, full, strerrorname_np(err) ? strerrorname_np(err) : "?");
	}
	pthread_mutex_unlock(&lock);
	return fail;
}

/* ---- bpf(2) ---- */

static const char *const bpf_cmd_name[] = {
	[BPF_MAP_CREATE] = "map_create",
	[BPF_MAP_UPDATE_ELEM] = "map_update",
	[BPF_MAP_DELETE_ELEM] = "map_delete",
	[BPF_PROG_LOAD] = "prog_load",
	[BPF_OBJ_PIN] = "obj_pin",
	[BPF_PROG_ATTACH] = "prog_attach",
	[BPF_PROG_DETACH] = "prog_detach",
	[BPF_MAP_LOOKUP_AND_DELETE_ELEM] = "map_lookup_and_delete",
	[BPF_MAP_FREEZE] = "map_freeze",
	[BPF_MAP_LOOKUP_AND_DELETE_BATCH] = "map_lookup_and_delete_batch",
	[BPF_MAP_UPDATE_BATCH] = "map_update_batch",
	[BPF_MAP_DELETE_BATCH] = "map_delete_batch",
	[BPF_LINK_CREATE] = "link_create",
	[BPF_LINK_UPDATE] = "link_update",
	[BPF_LINK_DETACH] = "link_detach",
};

static void map_name_of(int fd, char *buf, size_t len)
{
	struct bpf_map_info info;
	union bpf_attr a;

	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uint64_t)(uintptr_t)&info;
	if (real_syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) < 0)
		snprintf(buf, len, "fd?");
	else
		snprintf(buf, len, "%s", info.name[0] ? info.name : "(unnamed)");
}

static bool probe_name(const char *name)
{
	return !name[0] || !strncmp(name, "libbpf_", 7);
}

/* The descriptor of a bpf(2) command that writes; false for the others. */
static bool bpf_desc(int cmd, const union bpf_attr *a, char *desc, size_t len)
{
	char name[BPF_OBJ_NAME_LEN + 1] = "";
	const char *op;

	if (cmd < 0 || (size_t)cmd >= sizeof(bpf_cmd_name) / sizeof(bpf_cmd_name[0]) || !bpf_cmd_name[cmd] || !a)
		return false;
	op = bpf_cmd_name[cmd];
	switch (cmd) {
	case BPF_MAP_CREATE:
		memcpy(name, a->map_name, BPF_OBJ_NAME_LEN);
		if (probe_name(name))
			return false;
		break;
	case BPF_PROG_LOAD:
		memcpy(name, a->prog_name, BPF_OBJ_NAME_LEN);
		if (probe_name(name))
			return false;
		break;
	case BPF_OBJ_PIN: {
		const char *path = (const char *)(uintptr_t)a->pathname, *slash;

		if (!path)
			return false;
		slash = strrchr(path, '/');
		snprintf(name, sizeof(name), "%s", slash ? slash + 1 : path);
		/* pin names can be longer than a kernel object name */
		snprintf(desc, len, "%s %s", op, slash ? slash + 1 : path);
		return true;
	}
	case BPF_MAP_UPDATE_ELEM:
	case BPF_MAP_DELETE_ELEM:
	case BPF_MAP_LOOKUP_AND_DELETE_ELEM:
	case BPF_MAP_FREEZE:
		map_name_of((int)a->map_fd, name, sizeof(name));
		break;
	case BPF_MAP_UPDATE_BATCH:
	case BPF_MAP_DELETE_BATCH:
	case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
		map_name_of((int)a->batch.map_fd, name, sizeof(name));
		break;
	default:
		snprintf(name, sizeof(name), "-");
		break;
	}
	snprintf(desc, len, "%s %s", op, name);
	return true;
}

long syscall(long number, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real_syscall)
		init();
	if (number == __NR_bpf) {
		union bpf_attr *attr = (union bpf_attr *)(uintptr_t)a[1];
		char desc[DESC_LEN];
		int cmd = (int)a[0], err = fault_errno();

		if (bpf_desc(cmd, attr, desc, sizeof(desc)) && write_seen(desc, err)) {
			if (cmd == BPF_MAP_UPDATE_BATCH || cmd == BPF_MAP_DELETE_BATCH ||
			    cmd == BPF_MAP_LOOKUP_AND_DELETE_BATCH)
				attr->batch.count = 0;
			errno = err;
			return -1;
		}
	}
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- netlink ---- */

static const char *rtnl_type_name(uint16_t t)
{
	switch (t) {
	case RTM_NEWLINK: return "rtnl_newlink";
	case RTM_DELLINK: return "rtnl_dellink";
	case RTM_SETLINK: return "rtnl_setlink";
	case RTM_NEWADDR: return "rtnl_newaddr";
	case RTM_DELADDR: return "rtnl_deladdr";
	case RTM_NEWROUTE: return "rtnl_newroute";
	case RTM_DELROUTE: return "rtnl_delroute";
	case RTM_NEWNEIGH: return "rtnl_newneigh";
	case RTM_DELNEIGH: return "rtnl_delneigh";
	case RTM_NEWRULE: return "rtnl_newrule";
	case RTM_DELRULE: return "rtnl_delrule";
	case RTM_NEWQDISC: return "rtnl_newqdisc";
	case RTM_DELQDISC: return "rtnl_delqdisc";
	case RTM_NEWTFILTER: return "rtnl_newtfilter";
	case RTM_DELTFILTER: return "rtnl_deltfilter";
	default: return "rtnl_write";
	}
}

static const char *xfrm_type_name(uint16_t t)
{
	switch (t) {
	case XFRM_MSG_NEWSA: return "xfrm_newsa";
	case XFRM_MSG_DELSA: return "xfrm_delsa";
	case XFRM_MSG_UPDSA: return "xfrm_updsa";
	case XFRM_MSG_NEWPOLICY: return "xfrm_newpolicy";
	case XFRM_MSG_DELPOLICY: return "xfrm_delpolicy";
	case XFRM_MSG_UPDPOLICY: return "xfrm_updpolicy";
	case XFRM_MSG_FLUSHSA: return "xfrm_flushsa";
	case XFRM_MSG_FLUSHPOLICY: return "xfrm_flushpolicy";
	case XFRM_MSG_ALLOCSPI: return "xfrm_allocspi";
	case XFRM_MSG_NEWAE: return "xfrm_newae";
	case XFRM_MSG_NEWSPDINFO: return "xfrm_newspdinfo";
	default: return NULL;
	}
}

static const char *xaddr(uint16_t family, const xfrm_address_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* The object of an xfrm write, as sluice names it in messages: an SA by
 * "DST spi 0xN", a policy by "DIR SRC/LEN -> DST/LEN". */
static void xfrm_desc(const struct nlmsghdr *h, const char *t, char *desc, size_t len)
{
	static const char *const dir[] = { "in", "out", "fwd" };
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const struct xfrm_selector *sel = NULL;
	unsigned pdir = 0;

	switch (h->nlmsg_type) {
	case XFRM_MSG_NEWSA:
	case XFRM_MSG_UPDSA:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_usersa_info))) {
			const struct xfrm_usersa_info *i = NLMSG_DATA(h);

			snprintf(desc, len, "%s %s spi 0x%x", t, xaddr(i->family, &i->id.daddr, d, sizeof(d)),
				 ntohl(i->id.spi));
			return;
		}
		break;
	case XFRM_MSG_DELSA:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_usersa_id))) {
			const struct xfrm_usersa_id *i = NLMSG_DATA(h);

			snprintf(desc, len, "%s %s spi 0x%x", t, xaddr(i->family, &i->daddr, d, sizeof(d)), ntohl(i->spi));
			return;
		}
		break;
	case XFRM_MSG_NEWPOLICY:
	case XFRM_MSG_UPDPOLICY:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_info))) {
			const struct xfrm_userpolicy_info *i = NLMSG_DATA(h);

			sel = &i->sel;
			pdir = i->dir;
		}
		break;
	case XFRM_MSG_DELPOLICY:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_id))) {
			const struct xfrm_userpolicy_id *i = NLMSG_DATA(h);

			sel = &i->sel;
			pdir = i->dir;
		}
		break;
	default:
		break;
	}
	if (sel) {
		snprintf(desc, len, "%s %s %s/%u -> %s/%u", t, pdir < 3 ? dir[pdir] : "?",
			 xaddr(sel->family, &sel->saddr, s, sizeof(s)), sel->prefixlen_s,
			 xaddr(sel->family, &sel->daddr, d, sizeof(d)), sel->prefixlen_d);
		return;
	}
	snprintf(desc, len, "%s", t);
}

static void ifname_of(int ifindex, char *buf, size_t len)
{
	char n[IF_NAMESIZE] = "";

	if (ifindex > 0 && if_indextoname((unsigned)ifindex, n))
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "if%d", ifindex);
}

/* The descriptor of a netlink message that writes; false for the others. */
static bool nl_desc(int proto, const struct nlmsghdr *h, char *desc, size_t len)
{
	char dev[IF_NAMESIZE + 16];

	if (!(h->nlmsg_flags & NLM_F_REQUEST) || h->nlmsg_type < NLMSG_MIN_TYPE)
		return false;
	if (proto == NETLINK_XFRM) {
		const char *t = xfrm_type_name(h->nlmsg_type);

		if (!t)
			return false;
		xfrm_desc(h, t, desc, len);
		return true;
	}
	if (proto != NETLINK_ROUTE || (h->nlmsg_type & 3) == 2 /* GET */)
		return false;
	switch (h->nlmsg_type) {
	case RTM_NEWQDISC:
	case RTM_DELQDISC:
	case RTM_NEWTFILTER:
	case RTM_DELTFILTER:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg))) {
			const struct tcmsg *t = NLMSG_DATA(h);
			const char *where = t->tcm_parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS) ? ":ingress"
					    : t->tcm_parent == TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS) ? ":egress"
													: "";

			ifname_of(t->tcm_ifindex, dev, IF_NAMESIZE);
			snprintf(desc, len, "%s %s%s", rtnl_type_name(h->nlmsg_type), dev, where);
			return true;
		}
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_SETLINK:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
			const struct ifinfomsg *i = NLMSG_DATA(h);

			ifname_of(i->ifi_index, dev, sizeof(dev));
			snprintf(desc, len, "%s %s", rtnl_type_name(h->nlmsg_type), dev);
			return true;
		}
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
			const struct rtmsg *rt = NLMSG_DATA(h);
			const struct rtattr *a = RTM_RTA(rt);
			int alen = (int)RTM_PAYLOAD(h);
			char dst[INET6_ADDRSTRLEN] = "default";

			for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
				if (a->rta_type == RTA_DST)
					inet_ntop(rt->rtm_family, RTA_DATA(a), dst, sizeof(dst));
			/* as sluice names routes: "route PREFIX/LEN" */
			snprintf(desc, len, "%s %s/%u", rtnl_type_name(h->nlmsg_type), dst, rt->rtm_dst_len);
			return true;
		}
		break;
	default:
		break;
	}
	snprintf(desc, len, "%s", rtnl_type_name(h->nlmsg_type));
	return true;
}

static int nl_proto(int fd)
{
	int dom = 0, proto = -1;
	socklen_t l = sizeof(dom);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_NETLINK)
		return -1;
	l = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
		return -1;
	return proto;
}

/*
 * Look at each message of a netlink send; when one is the write to fail,
 * return a copy of the buffer with that message's type made invalid (the
 * kernel refuses it, acks the error and goes on with the next), else NULL.
 */
static void *nl_inspect(int fd, const void *buf, size_t len)
{
	int proto = nl_proto(fd);
	const struct nlmsghdr *h;
	size_t off = 0;
	void *copy = NULL;

	if (proto != NETLINK_ROUTE && proto != NETLINK_XFRM)
		return NULL;
	while (off + sizeof(*h) <= len) {
		char desc[DESC_LEN];

		h = (const struct nlmsghdr *)((const char *)buf + off);
		if (h->nlmsg_len < sizeof(*h) || off + h->nlmsg_len > len)
			break;
		if (nl_desc(proto, h, desc, sizeof(desc)) &&
		    write_seen(desc, proto == NETLINK_XFRM ? EINVAL : EOPNOTSUPP) && !copy) {
			copy = malloc(len);
			if (!copy)
				abort();
			memcpy(copy, buf, len);
			((struct nlmsghdr *)((char *)copy + off))->nlmsg_type = 0xffff;
		}
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	return copy;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	void *copy;
	ssize_t r;

	if (!real_send)
		init();
	copy = nl_inspect(fd, buf, len);
	r = real_send(fd, copy ? copy : buf, len, flags);
	free(copy);
	return r;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
	void *copy;
	ssize_t r;

	if (!real_sendto)
		init();
	copy = nl_inspect(fd, buf, len);
	r = real_sendto(fd, copy ? copy : buf, len, flags, to, tolen);
	free(copy);
	return r;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	size_t len = 0, off = 0;
	char *flat;
	void *copy;
	struct msghdr m;
	struct iovec iov;
	ssize_t r;

	if (!real_sendmsg)
		init();
	if (nl_proto(fd) < 0)
		return real_sendmsg(fd, msg, flags);
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		len += msg->msg_iov[i].iov_len;
	flat = malloc(len ? len : 1);
	if (!flat)
		abort();
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		memcpy(flat + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		off += msg->msg_iov[i].iov_len;
	}
	copy = nl_inspect(fd, flat, len);
	if (!copy) {
		free(flat);
		return real_sendmsg(fd, msg, flags);
	}
	m = *msg;
	iov = (struct iovec){ copy, len };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	r = real_sendmsg(fd, &m, flags);
	free(copy);
	free(flat);
	return r;
}

/* ---- files on a bpffs ---- */

static bool on_bpffs_fd(int fd)
{
	struct statfs s;

	return fstatfs(fd, &s) == 0 && s.f_type == BPF_FS_MAGIC;
}

/* The directory that holds path is on a bpffs. */
static bool parent_on_bpffs(int dirfd, const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct statfs s;
	int fd;
	bool r;

	if (!slash)
		return dirfd == AT_FDCWD ? statfs(".", &s) == 0 && s.f_type == BPF_FS_MAGIC : on_bpffs_fd(dirfd);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = on_bpffs_fd(fd);
	close(fd);
	return r;
}

static bool file_fault(const char *op, int dirfd, const char *path)
{
	const char *slash;
	char desc[DESC_LEN];
	struct stat st;

	if (!path || !parent_on_bpffs(dirfd, path))
		return false;
	/* a call the kernel would refuse anyway changes nothing */
	if (strcmp(op, "mkdir") == 0 ? fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0
				     : fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	slash = strrchr(path, '/');
	snprintf(desc, sizeof(desc), "%s %s", op, slash ? slash + 1 : path);
	if (!write_seen(desc, fault_errno()))
		return false;
	errno = fault_errno();
	return true;
}

int unlink(const char *path)
{
	if (!real_unlink)
		init();
	return file_fault("unlink", AT_FDCWD, path) ? -1 : real_unlink(path);
}

int unlinkat(int dirfd, const char *path, int flags)
{
	if (!real_unlinkat)
		init();
	return file_fault(flags & AT_REMOVEDIR ? "rmdir" : "unlink", dirfd, path) ? -1
										  : real_unlinkat(dirfd, path, flags);
}

int rmdir(const char *path)
{
	if (!real_rmdir)
		init();
	return file_fault("rmdir", AT_FDCWD, path) ? -1 : real_rmdir(path);
}

int mkdir(const char *path, mode_t mode)
{
	if (!real_mkdir)
		init();
	return file_fault("mkdir", AT_FDCWD, path) ? -1 : real_mkdir(path, mode);
}

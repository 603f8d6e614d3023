/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The endpoints' devices in other network namespaces (ipvlan mode): each
 * endpoint's ipvlan slave lives in the endpoint's namespace, named by the
 * state (endpoints[].netns) and recorded in sluice_ep_netns (kinds/netns.c)
 * so that a later run, or a flush, finds sluice's programs there again.
 *
 * The directory is rebuilt from the record at every observation and from
 * the record and the desired objects before a preflight and an apply (the
 * desired namespace wins). Interface names are unique among a node's
 * endpoints, so a name says which namespace to look in; everything else is
 * in sluice's own namespace. Namespaces are entered with setns() on the
 * calling thread only, and always left again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "internal.h"
#include "kinds/kind.h"

void kernel_nsdevs_free(struct sl_kernel *k)
{
	for (size_t i = 0; i < k->n_nsdevs; i++)
		if (k->nsdevs[i].ns_fd >= 0)
			close(k->nsdevs[i].ns_fd);
	free(k->nsdevs);
	k->nsdevs = NULL;
	k->n_nsdevs = 0;
	k->nsdevs_want = NULL;
}

int kernel_netns_enter(const struct kernel_nsdev *d, int *ret_saved)
{
	int saved;

	*ret_saved = -1;
	if (!d || d->ns_fd < 0)
		return 0;
	saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (saved < 0)
		return -errno;
	if (setns(d->ns_fd, CLONE_NEWNET) < 0) {
		int r = -errno;

		close(saved);
		return r;
	}
	*ret_saved = saved;
	return 0;
}

int kernel_netns_enter_path(const char *path, int *ret_saved)
{
	struct kernel_nsdev d = { .ns_fd = -1 };
	int r;

	*ret_saved = -1;
	if (!path[0])
		return 0;
	d.ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d.ns_fd < 0)
		return -errno;
	r = kernel_netns_enter(&d, ret_saved);
	close(d.ns_fd);
	return r;
}

void kernel_netns_leave(int saved)
{
	if (saved < 0)
		return;
	/* back to where the thread was: failing that, nothing sluice does
	 * next would be where it thinks it is */
	if (setns(saved, CLONE_NEWNET) < 0)
		abort();
	close(saved);
}

/* Open d's namespace and find its device there (d->err says what failed). */
static void nsdev_resolve(struct kernel_nsdev *d)
{
	char name[17] = { 0 };
	struct stat own, it;
	int saved, r;

	memcpy(name, d->ifname, 16);
	d->ns_fd = -1;
	d->ifindex = 0;
	d->err = 0;
	if (d->netns[0]) {
		d->ns_fd = open(d->netns, O_RDONLY | O_CLOEXEC);
		if (d->ns_fd < 0) {
			d->err = -errno;
			return;
		}
		/* sluice's own namespace by another name: no need to enter it */
		if (stat("/proc/thread-self/ns/net", &own) == 0 && fstat(d->ns_fd, &it) == 0 &&
		    own.st_dev == it.st_dev && own.st_ino == it.st_ino) {
			close(d->ns_fd);
			d->ns_fd = -1;
		}
	}
	r = kernel_netns_enter(d, &saved);
	if (r < 0) {
		d->err = r == -EINVAL ? -ENOTSUP : r; /* not a network namespace */
		return;
	}
	d->ifindex = if_nametoindex(name);
	if (!d->ifindex)
		d->err = -ENODEV;
	kernel_netns_leave(saved);
}

static struct kernel_nsdev *nsdev_slot(struct sl_kernel *k, const char *ifname, size_t *cap)
{
	for (size_t i = 0; i < k->n_nsdevs; i++)
		if (!strncmp(k->nsdevs[i].ifname, ifname, 16))
			return &k->nsdevs[i];
	if (grow_array((void **)&k->nsdevs, cap, k->n_nsdevs + 1, sizeof(*k->nsdevs)) < 0)
		return NULL;
	memset(&k->nsdevs[k->n_nsdevs], 0, sizeof(k->nsdevs[0]));
	k->nsdevs[k->n_nsdevs].ns_fd = -1;
	return &k->nsdevs[k->n_nsdevs++];
}

static int nsdev_set(struct sl_kernel *k, size_t *cap, const char *ifname, const struct sl_ep_netns_value *v,
		     bool wanted)
{
	struct kernel_nsdev *d = nsdev_slot(k, ifname, cap);

	if (!d)
		return -ENOMEM;
	d->wanted = wanted;
	if (d->ns_fd >= 0)
		close(d->ns_fd);
	memcpy(d->ifname, ifname, 16);
	memcpy(d->netns, v->netns, sizeof(d->netns));
	d->netns[sizeof(d->netns) - 1] = 0;
	memcpy(d->master, v->master, sizeof(d->master));
	nsdev_resolve(d);
	return 0;
}

int kernel_nsdevs_load(struct sl_kernel *k, int fd, const struct sl_objset *want)
{
	size_t cap = 0;
	int r = 0;

	if (want && k->nsdevs_want == want)
		return 0;
	kernel_nsdevs_free(k);
	if (fd >= 0) {
		struct sl_ep_netns_key key, next;
		struct sl_ep_netns_value v;
		const void *prev = NULL;

		while (r >= 0 && bpf_map_get_next_key(fd, prev, &next) == 0) {
			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(fd, &key, &v) == 0)
				r = nsdev_set(k, &cap, key.ifname, &v, false);
		}
	}
	for (size_t i = 0; r >= 0 && want && i < want->n; i++)
		if (want->v[i].kind == SL_OBJ_EP_NETNS && sl_kind_fits(SL_OBJ_EP_NETNS, want->v[i].klen, want->v[i].vlen))
			r = nsdev_set(k, &cap, obj_key(want, &want->v[i]), obj_val(want, &want->v[i]), true);
	if (r >= 0)
		k->nsdevs_want = want;
	return r;
}

const struct kernel_nsdev *kernel_nsdev(const struct sl_kernel *k, const char *ifname)
{
	for (size_t i = 0; i < k->n_nsdevs; i++)
		if (!strncmp(k->nsdevs[i].ifname, ifname, 16))
			return &k->nsdevs[i];
	return NULL;
}

int kernel_dev_ifindex(const struct sl_kernel *k, const char *name16, uint32_t *ret)
{
	const struct kernel_nsdev *d = kernel_nsdev(k, name16);
	char buf[17] = { 0 };

	if (d) {
		*ret = d->ifindex;
		return d->ifindex ? 0 : d->err ? d->err : -ENODEV;
	}
	memcpy(buf, name16, 16);
	*ret = if_nametoindex(buf);
	return *ret ? 0 : -ENODEV;
}

bool kernel_dev_name(const struct sl_kernel *k, uint32_t ifindex, char ret[16])
{
	char buf[IF_NAMESIZE] = { 0 };

	/* a device of an endpoint's namespace first: its index may also be
	 * another device's in sluice's own */
	for (size_t i = 0; i < k->n_nsdevs; i++)
		if (k->nsdevs[i].ifindex == ifindex && k->nsdevs[i].ns_fd >= 0) {
			memcpy(ret, k->nsdevs[i].ifname, 16);
			return true;
		}
	if (!if_indextoname(ifindex, buf))
		return false;
	/* a name of sluice's namespace that is an endpoint's in another one
	 * is not that endpoint's device */
	for (size_t i = 0; i < k->n_nsdevs; i++)
		if (k->nsdevs[i].ns_fd >= 0 && !strncmp(k->nsdevs[i].ifname, buf, 16))
			return false;
	memcpy(ret, buf, 16);
	return true;
}

/* The ipvlan facts of a device of the current namespace, by netlink. */
static int ipvlan_query(const char *name, bool *ret_ipvlan, uint16_t *ret_mode, uint32_t *ret_link)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *a;
	int len, r = 0;

	*ret_ipvlan = false;
	*ret_mode = 0;
	*ret_link = 0;
	if (!nl)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 || mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	len = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (len < 0) {
		r = -errno;
		goto out;
	}
	nlh = (struct nlmsghdr *)buf;
	if (!mnl_nlmsg_ok(nlh, len)) {
		r = -EIO;
		goto out;
	}
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

		r = err->error ? err->error : -EIO;
		goto out;
	}
	mnl_attr_for_each(a, nlh, sizeof(*ifm)) {
		if (mnl_attr_get_type(a) == IFLA_LINK && mnl_attr_get_payload_len(a) >= 4)
			*ret_link = mnl_attr_get_u32(a);
		if (mnl_attr_get_type(a) == IFLA_LINKINFO) {
			const struct nlattr *i, *data = NULL;

			mnl_attr_for_each_nested(i, a) {
				if (mnl_attr_get_type(i) == IFLA_INFO_KIND)
					*ret_ipvlan = !strncmp(mnl_attr_get_payload(i), "ipvlan",
							       mnl_attr_get_payload_len(i)) &&
						      mnl_attr_get_payload_len(i) >= 6;
				if (mnl_attr_get_type(i) == IFLA_INFO_DATA)
					data = i;
			}
			if (data) {
				const struct nlattr *d;

				mnl_attr_for_each_nested(d, data)
					if (mnl_attr_get_type(d) == IFLA_IPVLAN_MODE && mnl_attr_get_payload_len(d) >= 2)
						*ret_mode = mnl_attr_get_u16(d);
			}
		}
	}
out:
	mnl_socket_close(nl);
	return r;
}

int kernel_nsdevs_check(const struct sl_kernel *k, struct sl_kerr *e)
{
	/* sluice_endpoints is keyed by ifindex, which is unique only inside
	 * a namespace: two slaves with one index cannot both be endpoints */
	for (size_t i = 0; i < k->n_nsdevs; i++)
		for (size_t j = i + 1; k->nsdevs[i].wanted && k->nsdevs[i].ifindex && j < k->n_nsdevs; j++)
			if (k->nsdevs[j].wanted && k->nsdevs[j].ifindex == k->nsdevs[i].ifindex) {
				kerr(e, "endpoint interfaces %.16s in %s and %.16s in %s have the same index %u, and "
					"sluice keys its endpoints by index; recreate one of them (a slave made in "
					"the master's namespace and then moved keeps an index of its own); nothing was "
					"changed",
				     k->nsdevs[i].ifname, k->nsdevs[i].netns[0] ? k->nsdevs[i].netns : "sluice's namespace",
				     k->nsdevs[j].ifname, k->nsdevs[j].netns[0] ? k->nsdevs[j].netns : "sluice's namespace",
				     k->nsdevs[i].ifindex);
				return -EEXIST;
			}
	for (size_t i = 0; i < k->n_nsdevs; i++) {
		const struct kernel_nsdev *d = &k->nsdevs[i];
		char name[17] = { 0 }, master[17] = { 0 };
		const char *where = d->netns[0] ? d->netns : "sluice's network namespace";
		uint32_t master_idx, link;
		uint16_t mode;
		bool ipvlan;
		int saved, r;

		if (!d->wanted)
			continue; /* recorded, on its way out: its namespace may be gone */
		memcpy(name, d->ifname, 16);
		memcpy(master, d->master, 16);
		if (d->err == -ENODEV) {
			kerr(e, "endpoint interface %s: no such device in %s; nothing was changed", name, where);
			return d->err;
		}
		if (d->err) {
			kerr(e, "endpoint interface %s: network namespace %s: %s; nothing was changed", name, where,
			     d->err == -ENOTSUP ? "not a network namespace" : strerror(-d->err));
			return d->err;
		}
		master_idx = master[0] ? if_nametoindex(master) : 0;
		if (!master_idx) {
			kerr(e, "datapath.ipvlanMaster %s: no such device in this network namespace; nothing was changed",
			     master);
			return -ENODEV;
		}
		r = kernel_netns_enter(d, &saved);
		if (r >= 0) {
			r = ipvlan_query(name, &ipvlan, &mode, &link);
			kernel_netns_leave(saved);
		}
		if (r < 0) {
			kerr(e, "endpoint interface %s in %s: reading the device: %s", name, where, strerror(-r));
			return r;
		}
		if (!ipvlan || link != master_idx) {
			kerr(e, "endpoint interface %s in %s is not an ipvlan slave of %s (datapath.ipvlanMaster); nothing "
				"was changed",
			     name, where, master);
			return -EINVAL;
		}
		if (mode == IPVLAN_MODE_L3S) {
			kerr(e, "endpoint interface %s in %s: ipvlan mode l3s is not supported yet: what comes through the "
				"master reaches an l3s slave without passing its tc ingress, where sluice enforces the "
				"endpoint's ingress policy; use mode l3 or l2; nothing was changed",
			     name, where);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket hooks: the cgroup programs on datapath.cgroupPath (sockops;
 * connect4/6, sendmsg4/6, recvmsg4/6, getpeername4/6), each by a bpf_link
 * that sluice pins in its pin directory (link_<hook>: what sluice owns
 * there is that link, and other programs on the cgroup are never seen or
 * touched), and the sk_msg program on sluice_sock, the map's own
 * attachment. Removing them leaves accelerated sockets as they are: each
 * keeps its programs and the map until it closes (docs/datapath.md).
 */
#include "sockhook.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "kinds/prog.h"
#include "kinds/sockhook.h"

static int add(struct sl_objset *live, uint8_t hook, uint8_t prog, uint64_t digest, uint64_t cgroup_id)
{
	struct sl_sockhook_key key = { .hook = hook };
	struct sl_sockhook_value val = { .prog = prog, .digest = digest, .cgroup_id = cgroup_id };

	return objset_add(live, SL_OBJ_SOCKHOOK, &key, sizeof(key), &val, sizeof(val));
}

/* The kernel's attach type of a cgroup hook. */
static enum bpf_attach_type attach_type(unsigned hook)
{
	static const enum bpf_attach_type t[SL_SOCKHOOK__MAX] = {
		[SL_SOCKHOOK_SOCK_OPS] = BPF_CGROUP_SOCK_OPS,
		[SL_SOCKHOOK_CONNECT4] = BPF_CGROUP_INET4_CONNECT,
		[SL_SOCKHOOK_CONNECT6] = BPF_CGROUP_INET6_CONNECT,
		[SL_SOCKHOOK_SENDMSG4] = BPF_CGROUP_UDP4_SENDMSG,
		[SL_SOCKHOOK_SENDMSG6] = BPF_CGROUP_UDP6_SENDMSG,
		[SL_SOCKHOOK_RECVMSG4] = BPF_CGROUP_UDP4_RECVMSG,
		[SL_SOCKHOOK_RECVMSG6] = BPF_CGROUP_UDP6_RECVMSG,
		[SL_SOCKHOOK_GETPEERNAME4] = BPF_CGROUP_INET4_GETPEERNAME,
		[SL_SOCKHOOK_GETPEERNAME6] = BPF_CGROUP_INET6_GETPEERNAME,
	};

	return t[hook];
}

/* The pin of a cgroup hook's link (tmp: where a new one is pinned before
 * it replaces the old; bpffs takes no dot in a name). */
static const char *link_pin(unsigned hook, bool tmp, char *buf, size_t len)
{
	char nb[16];

	snprintf(buf, len, "link_%s%s", sl_sockhook_name(hook, nb, sizeof(nb)), tmp ? "_new" : "");
	return buf;
}

/* A cgroup hook's pinned link, if it still holds its program on a cgroup
 * (a link detached by hand, or whose cgroup is gone, holds none). */
static int observe_link(struct sl_kernel *k, unsigned hook, struct sl_objset *live)
{
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);
	char pin[48];
	int fd = bpf_obj_get(kernel_path(k, link_pin(hook, false, pin, sizeof(pin)))), r = 0,
	    prog = sl_sockhook_prog(hook);

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_LINK_TYPE_CGROUP &&
	    info.cgroup.cgroup_id && info.cgroup.attach_type == attach_type(hook))
		r = add(live, (uint8_t)hook, (uint8_t)prog, kernel_prog_digest(k, info.prog_id, prog),
			info.cgroup.cgroup_id);
	close(fd);
	return r;
}

static int observe_sk_msg(struct sl_kernel *k, struct sl_objset *live)
{
	int mfd = kernel_map_fd(k, SL_MAPNAME_SOCK);
	uint32_t ids[4], n = ARRAY_SIZE(ids), flags = 0;

	k->sk_msg_prog_id = 0;
	if (mfd < 0 || bpf_prog_query(mfd, BPF_SK_MSG_VERDICT, 0, &flags, ids, &n) < 0 || n == 0)
		return 0;
	k->sk_msg_prog_id = ids[0];
	return add(live, SL_SOCKHOOK_SK_MSG, SL_PROG_SK_MSG, kernel_prog_digest(k, ids[0], SL_PROG_SK_MSG), 0);
}

int sockhook_observe(struct sl_kernel *k, struct sl_objset *live, struct sl_kerr *e)
{
	int r = 0;

	for (unsigned h = 0; r >= 0 && k->dir_fd >= 0 && h < SL_SOCKHOOK__MAX; h++)
		if (sl_sockhook_on_cgroup(h))
			r = observe_link(k, h, live);
	if (r >= 0)
		r = observe_sk_msg(k, live);
	if (r < 0)
		kerr(e, "reading socket hooks: %s", strerror(-r));
	return r;
}

/* The same cgroup: the link takes the new program in place; another: a
 * new link on it, pinned over the old one (whose last reference goes, so
 * it detaches), make before break. */
static int attach_link(struct sl_kernel *k, unsigned hook, const struct sl_sockhook_value *want,
		       const struct sl_sockhook_value *have, struct sl_kerr *e)
{
	int pfd = kernel_prog_open(k, want->prog, want->digest, e), cg = -1, lfd = -1, r = 0;
	char nb[16], pin[48], tmp[48];
	const char *name = sl_sockhook_name(hook, nb, sizeof(nb));

	link_pin(hook, false, pin, sizeof(pin));
	link_pin(hook, true, tmp, sizeof(tmp));
	if (pfd < 0)
		return pfd;
	if (have && have->cgroup_id == want->cgroup_id) {
		lfd = bpf_obj_get(kernel_path(k, pin));
		sl_kernel_writes++;
		if (lfd < 0 || bpf_link_update(lfd, pfd, NULL) < 0) {
			r = -errno;
			kerr(e, "socket hook %s: replacing the program of %s: %s", name, kernel_path(k, pin), strerror(-r));
		}
		goto out;
	}
	cg = kernel_cgroup_open(k, want->cgroup_id);
	if (cg < 0) {
		r = cg;
		kerr(e, "socket hook %s: the cgroup (id %llu) of datapath.cgroupPath: %s", name,
		     (unsigned long long)want->cgroup_id, strerror(-r));
		goto out;
	}
	sl_kernel_writes++;
	lfd = bpf_link_create(pfd, cg, attach_type(hook), NULL);
	if (lfd < 0) {
		r = -errno;
		kerr(e, "socket hook %s: attaching to the cgroup of datapath.cgroupPath: %s", name, strerror(-r));
		goto out;
	}
	unlinkat(k->dir_fd, tmp, 0);
	sl_kernel_writes++;
	if (bpf_obj_pin(lfd, kernel_path(k, tmp)) < 0 || renameat(k->dir_fd, tmp, k->dir_fd, pin) < 0) {
		r = -errno;
		kerr(e, "socket hook %s: pinning its link at %s: %s", name, kernel_path(k, pin), strerror(-r));
		unlinkat(k->dir_fd, tmp, 0);
	}
out:
	if (lfd >= 0)
		close(lfd);
	if (cg >= 0)
		close(cg);
	close(pfd);
	return r;
}

/* Attaching to the map replaces what it had. */
static int attach_sk_msg(struct sl_kernel *k, const struct sl_sockhook_value *want, struct sl_kerr *e)
{
	int pfd = kernel_prog_open(k, want->prog, want->digest, e), mfd = kernel_map_fd(k, SL_MAPNAME_SOCK), r = 0;

	if (pfd < 0)
		return pfd;
	if (mfd < 0) {
		kerr(e, "socket hook sk_msg: map %s is not there", SL_MAPNAME_SOCK);
		r = -ENOENT;
	} else {
		sl_kernel_writes++;
		if (bpf_prog_attach(pfd, mfd, BPF_SK_MSG_VERDICT, 0) < 0) {
			r = -errno;
			kerr(e, "socket hook sk_msg: attaching to map %s: %s", SL_MAPNAME_SOCK, strerror(-r));
		}
	}
	close(pfd);
	return r;
}

static int detach(struct sl_kernel *k, const struct sl_sockhook_key *key, struct sl_kerr *e)
{
	int r = 0;

	sl_kernel_writes++;
	if (sl_sockhook_on_cgroup(key->hook)) {
		char nb[16], pin[48];

		link_pin(key->hook, false, pin, sizeof(pin));
		if (unlinkat(k->dir_fd, pin, 0) < 0 && errno != ENOENT) {
			r = -errno;
			kerr(e, "socket hook %s: unpinning %s: %s", sl_sockhook_name(key->hook, nb, sizeof(nb)),
			     kernel_path(k, pin), strerror(-r));
		}
	} else if (key->hook == SL_SOCKHOOK_SK_MSG && k->sk_msg_prog_id) {
		int mfd = kernel_map_fd(k, SL_MAPNAME_SOCK), pfd = bpf_prog_get_fd_by_id(k->sk_msg_prog_id);

		if (mfd >= 0 && pfd >= 0 && bpf_prog_detach2(pfd, mfd, BPF_SK_MSG_VERDICT) < 0 && errno != ENOENT) {
			r = -errno;
			kerr(e, "socket hook sk_msg: detaching from map %s: %s", SL_MAPNAME_SOCK, strerror(-r));
		}
		if (pfd >= 0)
			close(pfd);
	}
	return r;
}

int sockhook_apply(struct sl_kernel *k, const struct sl_objset *want, const struct sl_objset *have,
		   const struct sl_diff *d, bool remove, struct sl_kerr *e)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < d->n; i++) {
		const struct sl_change *c = &d->v[i];
		struct sl_sockhook_key key;
		struct sl_sockhook_value wv, hv;

		if (c->kind != SL_OBJ_SOCKHOOK || remove != (c->op == SL_OP_REMOVE))
			continue;
		if (remove) {
			memcpy(&key, obj_key(have, &have->v[c->have]), sizeof(key));
			r = detach(k, &key, e);
			continue;
		}
		memcpy(&key, obj_key(want, &want->v[c->want]), sizeof(key));
		memcpy(&wv, obj_val(want, &want->v[c->want]), sizeof(wv));
		if (c->op == SL_OP_CHANGE)
			memcpy(&hv, obj_val(have, &have->v[c->have]), sizeof(hv));
		if (sl_sockhook_on_cgroup(key.hook) && key.hook < SL_SOCKHOOK__MAX)
			r = attach_link(k, key.hook, &wv, c->op == SL_OP_CHANGE ? &hv : NULL, e);
		else if (key.hook == SL_SOCKHOOK_SK_MSG)
			r = attach_sk_msg(k, &wv, e);
	}
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket hooks: the sockops program on datapath.cgroupPath, by a bpf_link
 * that sluice pins in its pin directory (link_sockops: what sluice owns
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

#define SOCKOPS_LINK_PIN "link_sockops"
#define SOCKOPS_LINK_TMP "link_sockops_new" /* bpffs takes no dot in a name */

static int add(struct sl_objset *live, uint8_t hook, uint8_t prog, uint64_t digest, uint64_t cgroup_id)
{
	struct sl_sockhook_key key = { .hook = hook };
	struct sl_sockhook_value val = { .prog = prog, .digest = digest, .cgroup_id = cgroup_id };

	return objset_add(live, SL_OBJ_SOCKHOOK, &key, sizeof(key), &val, sizeof(val));
}

/* The pinned link, if it still holds its program on a cgroup (a link
 * detached by hand, or whose cgroup is gone, holds none). */
static int observe_sockops(struct sl_kernel *k, struct sl_objset *live)
{
	struct bpf_link_info info = {};
	uint32_t len = sizeof(info);
	int fd = bpf_obj_get(kernel_path(k, SOCKOPS_LINK_PIN)), r = 0;

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_LINK_TYPE_CGROUP &&
	    info.cgroup.cgroup_id && info.cgroup.attach_type == BPF_CGROUP_SOCK_OPS)
		r = add(live, SL_SOCKHOOK_SOCK_OPS, SL_PROG_SOCKOPS, kernel_prog_digest(k, info.prog_id, SL_PROG_SOCKOPS),
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
	int r = k->dir_fd >= 0 ? observe_sockops(k, live) : 0;

	if (r >= 0)
		r = observe_sk_msg(k, live);
	if (r < 0)
		kerr(e, "reading socket hooks: %s", strerror(-r));
	return r;
}

/* The same cgroup: the link takes the new program in place; another: a
 * new link on it, pinned over the old one (whose last reference goes, so
 * it detaches), make before break. */
static int attach_sockops(struct sl_kernel *k, const struct sl_sockhook_value *want,
			  const struct sl_sockhook_value *have, struct sl_kerr *e)
{
	int pfd = kernel_prog_open(k, want->prog, want->digest, e), cg = -1, lfd = -1, r = 0;

	if (pfd < 0)
		return pfd;
	if (have && have->cgroup_id == want->cgroup_id) {
		lfd = bpf_obj_get(kernel_path(k, SOCKOPS_LINK_PIN));
		sl_kernel_writes++;
		if (lfd < 0 || bpf_link_update(lfd, pfd, NULL) < 0) {
			r = -errno;
			kerr(e, "socket hook sockops: replacing the program of %s: %s", kernel_path(k, SOCKOPS_LINK_PIN),
			     strerror(-r));
		}
		goto out;
	}
	cg = kernel_cgroup_open(k, want->cgroup_id);
	if (cg < 0) {
		r = cg;
		kerr(e, "socket hook sockops: the cgroup (id %llu) of datapath.cgroupPath: %s",
		     (unsigned long long)want->cgroup_id, strerror(-r));
		goto out;
	}
	sl_kernel_writes++;
	lfd = bpf_link_create(pfd, cg, BPF_CGROUP_SOCK_OPS, NULL);
	if (lfd < 0) {
		r = -errno;
		kerr(e, "socket hook sockops: attaching to the cgroup of datapath.cgroupPath: %s", strerror(-r));
		goto out;
	}
	unlinkat(k->dir_fd, SOCKOPS_LINK_TMP, 0);
	sl_kernel_writes++;
	if (bpf_obj_pin(lfd, kernel_path(k, SOCKOPS_LINK_TMP)) < 0 ||
	    renameat(k->dir_fd, SOCKOPS_LINK_TMP, k->dir_fd, SOCKOPS_LINK_PIN) < 0) {
		r = -errno;
		kerr(e, "socket hook sockops: pinning its link at %s: %s", kernel_path(k, SOCKOPS_LINK_PIN),
		     strerror(-r));
		unlinkat(k->dir_fd, SOCKOPS_LINK_TMP, 0);
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
	if (key->hook == SL_SOCKHOOK_SOCK_OPS) {
		if (unlinkat(k->dir_fd, SOCKOPS_LINK_PIN, 0) < 0 && errno != ENOENT) {
			r = -errno;
			kerr(e, "socket hook sockops: unpinning %s: %s", kernel_path(k, SOCKOPS_LINK_PIN), strerror(-r));
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
		if (key.hook == SL_SOCKHOOK_SOCK_OPS)
			r = attach_sockops(k, &wv, c->op == SL_OP_CHANGE ? &hv : NULL, e);
		else if (key.hook == SL_SOCKHOOK_SK_MSG)
			r = attach_sk_msg(k, &wv, e);
	}
	return r;
}

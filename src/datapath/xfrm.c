/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xfrm backend (xfrm.h): sluice's IPsec states and policies over
 * NETLINK_XFRM, through the netlink engine (nl.h). What is here is only
 * xfrm's: the two kinds' encoding, decoding, names and ownership, and the
 * lookup that policy removals take first (below, "Removing policies").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"
#include "datapath/internal.h"
#include "datapath/nl.h"
#include "datapath/xfrm.h"

struct sl_xfrm {
	struct nl_sock s;
	uint8_t local[16];
	uint8_t local_family;
};

/* The largest single request (a state with both algorithms is ~600). */
#define XFRM_REQ_MAX 1024

/* ---- names ---- */

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static void req_name(void *octx, const struct sl_xfrm_req *r, char *buf, size_t len)
{
	const struct sl_xfrm *x = octx;

	if (!r->key || r->kind >= SL_XFRM_KIND__MAX) {
		snprintf(buf, len, "xfrm request without a key");
	} else if (r->kind == SL_XFRM_STATE) {
		const struct sl_xfrm_state_key *k = r->key;

		xfrm_state_name(k, r->value, x->local_family == k->family ? x->local : NULL, buf, len);
	} else {
		xfrm_policy_name(r->key, buf, len);
	}
}

/* ---- the socket ---- */

int xfrm_open(struct sl_xfrm **ret, struct sl_kerr *e)
{
	struct sl_xfrm *x;
	int r;

	*ret = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	r = nl_sock_open(&x->s, NETLINK_XFRM, "xfrm", "NETLINK_XFRM", XFRM_REQ_MAX, e);
	if (r < 0) {
		xfrm_close(x);
		return r;
	}
	*ret = x;
	return 0;
}

void xfrm_close(struct sl_xfrm *x)
{
	if (!x)
		return;
	nl_sock_close(&x->s);
	free(x);
}

void xfrm_set_local(struct sl_xfrm *x, uint8_t family, const uint8_t addr[16])
{
	memset(x->local, 0, sizeof(x->local));
	x->local_family = 0;
	if (!addr || (family != AF_INET && family != AF_INET6))
		return;
	memcpy(x->local, addr, addr_len(family));
	x->local_family = family;
}

/* ---- requests ---- */

static void put_inf_lft(struct xfrm_lifetime_cfg *l)
{
	l->soft_byte_limit = XFRM_INF;
	l->hard_byte_limit = XFRM_INF;
	l->soft_packet_limit = XFRM_INF;
	l->hard_packet_limit = XFRM_INF;
}

static bool family_ok(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

static bool name_ok(const char *s)
{
	return memchr(s, '\0', SL_XFRM_ALG_NAME_MAX) != NULL;
}

/* Why a state request is refused before it is sent, or NULL. */
static const char *state_refusal(const struct sl_xfrm_req *r, int *err)
{
	const struct sl_xfrm_state_key *k = r->key;
	const struct sl_xfrm_state_value *v = r->value;

	*err = -EINVAL;
	if (!k || !v)
		return r->op == SL_XFRM_OP_DEL ? "no observed value to check ownership" : "no value";
	if (!family_ok(k->family)) {
		*err = -EAFNOSUPPORT;
		return "not an IPv4 or IPv6 SA";
	}
	if (k->proto != IPPROTO_ESP) {
		*err = -EPROTONOSUPPORT;
		return "sluice manages ESP SAs only";
	}
	if (!sl_xfrm_reqid_owned(v->reqid)) {
		*err = -EPERM;
		return "reqid outside sluice's range 0x51c00..0x51c0f: not sluice's, left alone";
	}
	if (r->op == SL_XFRM_OP_DEL)
		return NULL;
	if (v->reqid != sl_xfrm_reqid(k->spi) && v->reqid != SL_XFRM_REQID_IN) {
		*err = -EPERM;
		return "reqid is neither SL_XFRM_REQID_IN nor SL_XFRM_REQID_BASE + spi";
	}
	if (v->mode != XFRM_MODE_TUNNEL)
		return "sluice's SAs are in tunnel mode";
	if (!name_ok(v->enc_name) || !name_ok(v->auth_name) || !v->enc_name[0])
		return "algorithm name missing or not terminated";
	if (v->enc_key_len > SL_XFRM_ENC_KEY_MAX || v->auth_key_len > SL_XFRM_AUTH_KEY_MAX)
		return "key longer than sluice's algorithms take";
	if (v->auth_name[0] ? !v->auth_key_len || !v->enc_key_len : !v->enc_key_len)
		return "key missing";
	if (v->replay_window > 255)
		return "replay window over 255 packets";
	return NULL;
}

static const char *policy_refusal(const struct sl_xfrm_req *r, int *err)
{
	const struct sl_xfrm_policy_key *k = r->key;
	const struct sl_xfrm_policy_value *v = r->value;
	unsigned max;

	*err = -EINVAL;
	if (!k || !v)
		return r->op == SL_XFRM_OP_DEL ? "no observed value to check ownership" : "no value";
	if (!family_ok(k->family)) {
		*err = -EAFNOSUPPORT;
		return "not an IPv4 or IPv6 selector";
	}
	max = k->family == AF_INET ? 32 : 128;
	if (k->src_len > max || k->dst_len > max)
		return "prefix length too long for the family";
	if (k->dir >= SL_XFRM_DIR__MAX)
		return "direction is not in, out or fwd";
	if (k->type > XFRM_POLICY_TYPE_SUB)
		return "policy type is not main or sub";
	if (!sl_xfrm_reqid_owned(v->reqid)) {
		*err = -EPERM;
		return "template reqid outside sluice's range 0x51c00..0x51c0f: not sluice's, left alone";
	}
	if (r->op != SL_XFRM_OP_DEL && !family_ok(v->tmpl_family)) {
		*err = -EAFNOSUPPORT;
		return "template addresses are not IPv4 or IPv6";
	}
	return NULL;
}

static void put_mark(struct nlmsghdr *nlh, uint32_t v, uint32_t m)
{
	struct xfrm_mark mark = { .v = v, .m = m };

	if (v || m)
		mnl_attr_put(nlh, XFRMA_MARK, sizeof(mark), &mark);
}

/* An algorithm attribute: struct xfrm_algo (XFRMA_ALG_CRYPT), or
 * xfrm_algo_aead / xfrm_algo_auth, which add the ICV or truncation length
 * after the key length; the key bytes follow. They pass through a local
 * buffer, wiped here. */
static void put_alg(struct nlmsghdr *nlh, uint16_t type, const char *name, const uint8_t *key, uint8_t key_len,
		    uint32_t bits)
{
	uint8_t buf[sizeof(struct xfrm_algo_aead) + SL_XFRM_ENC_KEY_MAX + SL_XFRM_AUTH_KEY_MAX]
		__attribute__((aligned(4)));
	size_t hdr = type == XFRMA_ALG_CRYPT ? sizeof(struct xfrm_algo) : sizeof(struct xfrm_algo_aead);
	uint32_t key_bits = key_len * 8u;

	_Static_assert(sizeof(struct xfrm_algo_aead) == sizeof(struct xfrm_algo_auth), "algo headers");
	_Static_assert(offsetof(struct xfrm_algo_aead, alg_icv_len) == offsetof(struct xfrm_algo_auth, alg_trunc_len),
		       "algo headers");
	memset(buf, 0, hdr);
	memcpy(buf + offsetof(struct xfrm_algo, alg_name), name, SL_XFRM_ALG_NAME_MAX);
	memcpy(buf + offsetof(struct xfrm_algo, alg_key_len), &key_bits, sizeof(key_bits));
	if (type != XFRMA_ALG_CRYPT)
		memcpy(buf + offsetof(struct xfrm_algo_aead, alg_icv_len), &bits, sizeof(bits));
	memcpy(buf + hdr, key, key_len);
	mnl_attr_put(nlh, type, hdr + key_len, buf);
	explicit_bzero(buf, sizeof(buf));
}

/* NEWSA / UPDSA */
static void put_state(struct nlmsghdr *nlh, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v)
{
	struct xfrm_usersa_info *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

	memcpy(&p->id.daddr, k->daddr, 16);
	p->id.spi = htonl(k->spi);
	p->id.proto = k->proto;
	memcpy(&p->saddr, v->saddr, 16);
	p->family = k->family;
	p->mode = v->mode;
	p->reqid = v->reqid;
	p->replay_window = (uint8_t)v->replay_window;
	p->flags = v->flags;
	/* sel.family AF_UNSPEC: the tunnel carries IPv4 and IPv6 alike. */
	put_inf_lft(&p->lft);

	if (!v->auth_name[0]) {
		put_alg(nlh, XFRMA_ALG_AEAD, v->enc_name, v->enc_key, v->enc_key_len, v->icv_bits);
	} else {
		put_alg(nlh, XFRMA_ALG_AUTH_TRUNC, v->auth_name, v->auth_key, v->auth_key_len, v->icv_bits);
		put_alg(nlh, XFRMA_ALG_CRYPT, v->enc_name, v->enc_key, v->enc_key_len, 0);
	}
	put_mark(nlh, k->mark, k->mark_mask);
	if (v->set_mark || v->set_mark_mask) {
		mnl_attr_put_u32(nlh, XFRMA_SET_MARK, v->set_mark);
		mnl_attr_put_u32(nlh, XFRMA_SET_MARK_MASK, v->set_mark_mask);
	}
}

static void put_state_del(struct nlmsghdr *nlh, const struct sl_xfrm_state_key *k)
{
	struct xfrm_usersa_id *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

	memcpy(&p->daddr, k->daddr, 16);
	p->spi = htonl(k->spi);
	p->family = k->family;
	p->proto = k->proto;
	put_mark(nlh, k->mark, k->mark_mask);
}

static void put_selector(struct xfrm_selector *sel, const struct sl_xfrm_policy_key *k)
{
	memcpy(&sel->daddr, k->dst, 16);
	memcpy(&sel->saddr, k->src, 16);
	sel->dport = htons(k->dport);
	sel->dport_mask = htons(k->dport_mask);
	sel->sport = htons(k->sport);
	sel->sport_mask = htons(k->sport_mask);
	sel->family = k->family;
	sel->prefixlen_d = k->dst_len;
	sel->prefixlen_s = k->src_len;
	sel->proto = k->proto;
	sel->ifindex = k->ifindex;
	sel->user = k->user;
}

static void put_policy_ident(struct nlmsghdr *nlh, const struct sl_xfrm_policy_key *k)
{
	put_mark(nlh, k->mark, k->mark_mask);
	if (k->type != XFRM_POLICY_TYPE_MAIN) {
		struct xfrm_userpolicy_type t = { .type = k->type };

		mnl_attr_put(nlh, XFRMA_POLICY_TYPE, sizeof(t), &t);
	}
	if (k->if_id)
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, k->if_id);
}

/* NEWPOLICY / UPDPOLICY */
static void put_policy(struct nlmsghdr *nlh, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v)
{
	struct xfrm_userpolicy_info *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));
	struct xfrm_user_tmpl t;

	put_selector(&p->sel, k);
	put_inf_lft(&p->lft);
	p->priority = v->priority;
	p->dir = k->dir;
	p->action = v->action;
	p->flags = v->flags;
	p->share = XFRM_SHARE_ANY;

	memset(&t, 0, sizeof(t));
	memcpy(&t.id.daddr, v->tmpl_dst, 16);
	t.id.spi = htonl(v->spi);
	t.id.proto = v->tmpl_proto;
	t.family = v->tmpl_family;
	memcpy(&t.saddr, v->tmpl_src, 16);
	t.reqid = v->reqid;
	t.mode = v->tmpl_mode;
	t.optional = v->tmpl_optional;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	mnl_attr_put(nlh, XFRMA_TMPL, sizeof(t), &t);
	put_policy_ident(nlh, k);
}

/* DELPOLICY or GETPOLICY: by selector (index 0) or by the kernel's index. */
static void put_policy_id(struct nlmsghdr *nlh, const struct sl_xfrm_policy_key *k, uint32_t index)
{
	struct xfrm_userpolicy_id *p = mnl_nlmsg_put_extra_header(nlh, sizeof(*p));

	put_selector(&p->sel, k);
	p->index = index;
	p->dir = k->dir;
	put_policy_ident(nlh, k);
}

static const uint16_t msg_type[SL_XFRM_KIND__MAX][SL_XFRM_OP__MAX] = {
	[SL_XFRM_STATE] = { XFRM_MSG_NEWSA, XFRM_MSG_UPDSA, XFRM_MSG_DELSA },
	[SL_XFRM_POLICY] = { XFRM_MSG_NEWPOLICY, XFRM_MSG_UPDPOLICY, XFRM_MSG_DELPOLICY },
};

/* Why this module refuses to send r, or NULL. */
static const char *refusal(void *octx, const struct sl_xfrm_req *r, int *err)
{
	(void)octx;
	*err = -EINVAL;
	if (r->kind >= SL_XFRM_KIND__MAX || r->op >= SL_XFRM_OP__MAX)
		return "unknown request";
	return r->kind == SL_XFRM_STATE ? state_refusal(r, err) : policy_refusal(r, err);
}

/* Request r into nlh (refusal found nothing wrong with it). A policy
 * removal goes by the kernel's index when the lookup gave one, else by
 * selector. */
static int encode(void *octx, const struct sl_xfrm_req *r, uint32_t index, struct nlmsghdr *nlh, char *why,
		  size_t why_len)
{
	(void)octx;
	(void)why;
	(void)why_len;
	nlh->nlmsg_type = msg_type[r->kind][r->op];
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (r->op == SL_XFRM_OP_ADD)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	else if (r->op == SL_XFRM_OP_UPDATE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	if (r->kind == SL_XFRM_STATE) {
		if (r->op == SL_XFRM_OP_DEL)
			put_state_del(nlh, r->key);
		else
			put_state(nlh, r->key, r->value);
	} else {
		if (r->op == SL_XFRM_OP_DEL)
			put_policy_id(nlh, r->key, index);
		else
			put_policy(nlh, r->key, r->value);
	}
	return 0;
}

/*
 * Removing policies. The kernel finds a policy to remove by its selector
 * in a tree of prefixes and then walks that whole tree to prune it, for
 * every removal: 10k policies took 1.05 s, most of it there. By its index
 * it finds it in a hash and prunes nothing (10k: ~20 ms). So a run of
 * policy removals goes in two steps: GETPOLICY by selector for each (the
 * reply gives the index and shows the policy, so one that is not sluice's
 * is left alone even when it took the key since it was observed), then
 * DELPOLICY by index, except for the last removal of each tree (direction,
 * family, type, interface id) in the run, which goes by selector so that
 * the tree is pruned once per run.
 */

/* The index of a policy the kernel sent, when it is sluice's; else 0
 * (the kernel's indexes are never 0). */
static uint32_t owned_index(const struct nlmsghdr *nlh)
{
	struct xfrm_userpolicy_info p;
	const struct nlattr *a;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(p))
		return 0;
	mnl_attr_for_each(a, nlh, sizeof(p)) {
		if (mnl_attr_get_type(a) == XFRMA_TMPL) {
			const struct xfrm_user_tmpl *t = mnl_attr_get_payload(a);

			if (mnl_attr_get_payload_len(a) != sizeof(*t) || !sl_xfrm_reqid_owned(t->reqid))
				return 0;
			/* copied: a message is only 4-aligned, the struct needs 8 */
			memcpy(&p, mnl_nlmsg_get_payload(nlh), sizeof(p));
			return p.index;
		}
	}
	return 0;
}

static bool is_policy_del(const struct sl_xfrm_req *r)
{
	return r->kind == SL_XFRM_POLICY && r->op == SL_XFRM_OP_DEL;
}

/* The first step: GETPOLICY by selector. */
static void encode_lookup(const struct sl_xfrm_req *r, struct nlmsghdr *nlh)
{
	nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
	put_policy_id(nlh, r->key, 0);
}

static int lookup_reply(const struct nlmsghdr *nlh, uint32_t *index)
{
	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY)
		return 0;
	*index = owned_index(nlh);
	return 1;
}

/* Between the steps: the last removal of each tree in the chunk goes by
 * selector (index 0), so that the tree is pruned once. */
static void between(void *octx, struct nl_batch *b, size_t start, size_t end)
{
	(void)octx;
	for (size_t i = start; i < end; i++) {
		const struct sl_xfrm_policy_key *k = b->reqs[i].key;
		bool tree_last = true;

		if (b->reqs[i].err)
			continue;
		for (size_t j = i + 1; j < end && tree_last; j++) {
			const struct sl_xfrm_policy_key *o = b->reqs[j].key;

			if (!b->reqs[j].err && o->dir == k->dir && o->family == k->family && o->type == k->type &&
			    o->if_id == k->if_id)
				tree_last = false;
		}
		if (tree_last)
			b->cookie[i - start] = 0;
	}
}

/* ---- decoding ---- */

static void copy_key(uint8_t *dst, size_t cap, uint8_t *ret_len, const char *src, uint32_t bits, size_t have)
{
	size_t n = (bits + 7) / 8;

	if (n > have)
		n = have;
	*ret_len = n > 255 ? 255 : (uint8_t)n;
	memcpy(dst, src, n < cap ? n : cap);
}

/* An SA of the dump into k, v; 1 when it is sluice's, 0 when not. */
static int state_parse(const struct nlmsghdr *nlh, struct sl_xfrm_state_key *k, struct sl_xfrm_state_value *v)
{
	struct xfrm_usersa_info info;
	const struct xfrm_usersa_info *p = &info;
	const struct nlattr *a;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA || mnl_nlmsg_get_payload_len(nlh) < sizeof(*p))
		return 0;
	/* Copied: a message of a dump is only 4-aligned, the struct needs 8. */
	memcpy(&info, mnl_nlmsg_get_payload(nlh), sizeof(info));
	if (!sl_xfrm_reqid_owned(p->reqid))
		return 0;
	memcpy(k->daddr, &p->id.daddr, 16);
	k->spi = ntohl(p->id.spi);
	k->proto = p->id.proto;
	k->family = (uint8_t)p->family;
	memcpy(v->saddr, &p->saddr, 16);
	v->reqid = p->reqid;
	v->mode = p->mode;
	v->flags = p->flags;
	v->replay_window = p->replay_window;
	mnl_attr_for_each(a, nlh, sizeof(*p)) {
		size_t al = mnl_attr_get_payload_len(a);
		const void *d = mnl_attr_get_payload(a);

		switch (mnl_attr_get_type(a)) {
		case XFRMA_ALG_AEAD: {
			const struct xfrm_algo_aead *g = d;

			if (al < sizeof(*g))
				break;
			memcpy(v->enc_name, g->alg_name, sizeof(v->enc_name) - 1);
			v->icv_bits = g->alg_icv_len;
			copy_key(v->enc_key, sizeof(v->enc_key), &v->enc_key_len, g->alg_key, g->alg_key_len,
				 al - sizeof(*g));
			break;
		}
		case XFRMA_ALG_AUTH_TRUNC: {
			const struct xfrm_algo_auth *g = d;

			if (al < sizeof(*g))
				break;
			memcpy(v->auth_name, g->alg_name, sizeof(v->auth_name) - 1);
			v->icv_bits = g->alg_trunc_len;
			copy_key(v->auth_key, sizeof(v->auth_key), &v->auth_key_len, g->alg_key, g->alg_key_len,
				 al - sizeof(*g));
			break;
		}
		case XFRMA_ALG_CRYPT: {
			const struct xfrm_algo *g = d;

			if (al < sizeof(*g))
				break;
			memcpy(v->enc_name, g->alg_name, sizeof(v->enc_name) - 1);
			copy_key(v->enc_key, sizeof(v->enc_key), &v->enc_key_len, g->alg_key, g->alg_key_len,
				 al - sizeof(*g));
			break;
		}
		case XFRMA_MARK:
			if (al >= sizeof(struct xfrm_mark)) {
				const struct xfrm_mark *mk = d;

				k->mark = mk->v;
				k->mark_mask = mk->m;
			}
			break;
		case XFRMA_SET_MARK:
			if (al >= 4)
				v->set_mark = mnl_attr_get_u32(a);
			break;
		case XFRMA_SET_MARK_MASK:
			if (al >= 4)
				v->set_mark_mask = mnl_attr_get_u32(a);
			break;
		default:
			break;
		}
	}
	return 1;
}

/* A policy of the dump into *kp, *vp when it is sluice's (1); 0 when not. */
static int policy_parse(const struct nlmsghdr *nlh, struct sl_xfrm_policy_key *kp, struct sl_xfrm_policy_value *vp)
{
	struct xfrm_userpolicy_info info;
	const struct xfrm_userpolicy_info *p = &info;
	const struct xfrm_user_tmpl *t = NULL;
	struct sl_xfrm_policy_key k;
	struct sl_xfrm_policy_value v;
	const struct nlattr *a;
	size_t n_tmpl = 0;

	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*p))
		return 0;
	/* Copied: a message of a dump is only 4-aligned, the struct needs 8. */
	memcpy(&info, mnl_nlmsg_get_payload(nlh), sizeof(info));
	/* Ownership first: exactly one template, with sluice's reqid. */
	mnl_attr_for_each(a, nlh, sizeof(*p)) {
		if (mnl_attr_get_type(a) == XFRMA_TMPL) {
			n_tmpl = mnl_attr_get_payload_len(a) / sizeof(*t);
			t = mnl_attr_get_payload(a);
			break;
		}
	}
	if (n_tmpl != 1 || !sl_xfrm_reqid_owned(t->reqid))
		return 0;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	memcpy(k.src, &p->sel.saddr, 16);
	memcpy(k.dst, &p->sel.daddr, 16);
	k.family = (uint8_t)p->sel.family;
	k.src_len = p->sel.prefixlen_s;
	k.dst_len = p->sel.prefixlen_d;
	k.dir = p->dir;
	k.proto = p->sel.proto;
	k.sport = ntohs(p->sel.sport);
	k.sport_mask = ntohs(p->sel.sport_mask);
	k.dport = ntohs(p->sel.dport);
	k.dport_mask = ntohs(p->sel.dport_mask);
	k.ifindex = p->sel.ifindex;
	k.user = p->sel.user;
	mnl_attr_for_each(a, nlh, sizeof(*p)) {
		size_t al = mnl_attr_get_payload_len(a);
		const void *pl = mnl_attr_get_payload(a);

		switch (mnl_attr_get_type(a)) {
		case XFRMA_MARK:
			if (al >= sizeof(struct xfrm_mark)) {
				const struct xfrm_mark *mk = pl;

				k.mark = mk->v;
				k.mark_mask = mk->m;
			}
			break;
		case XFRMA_POLICY_TYPE:
			if (al >= sizeof(struct xfrm_userpolicy_type))
				k.type = ((const struct xfrm_userpolicy_type *)pl)->type;
			break;
		case XFRMA_IF_ID:
			if (al >= 4)
				k.if_id = mnl_attr_get_u32(a);
			break;
		default:
			break;
		}
	}
	memcpy(v.tmpl_src, &t->saddr, 16);
	memcpy(v.tmpl_dst, &t->id.daddr, 16);
	v.reqid = t->reqid;
	v.spi = ntohl(t->id.spi);
	v.priority = p->priority;
	v.tmpl_family = (uint8_t)t->family;
	v.tmpl_proto = t->id.proto;
	v.tmpl_mode = t->mode;
	v.tmpl_optional = t->optional;
	v.action = p->action;
	v.flags = p->flags;
	*kp = k;
	*vp = v;
	return 1;
}

static int state_decode_op(void *octx, const struct nlmsghdr *nlh, void *k, void *v)
{
	(void)octx;
	return state_parse(nlh, k, v);
}

static int policy_decode_op(void *octx, const struct nlmsghdr *nlh, void *k, void *v)
{
	(void)octx;
	return policy_parse(nlh, k, v);
}

/* ---- the kinds ---- */

static const struct nl_kind_ops state_ops = {
	.key_size = sizeof(struct sl_xfrm_state_key),
	.val_size = sizeof(struct sl_xfrm_state_value),
	.secret = true,
	.decode = state_decode_op,
	.refusal = refusal,
	.encode = encode,
	.name = req_name,
};

static const struct nl_kind_ops policy_ops = {
	.key_size = sizeof(struct sl_xfrm_policy_key),
	.val_size = sizeof(struct sl_xfrm_policy_value),
	.decode = policy_decode_op,
	.refusal = refusal,
	.encode = encode,
	.name = req_name,
	.lookup = is_policy_del,
	.encode_lookup = encode_lookup,
	.lookup_reply = lookup_reply,
	.between = between,
	.lookup_foreign = "the kernel holds a policy with this key that is not sluice's; left alone",
};

static const struct nl_kind_ops *const kinds[SL_XFRM_KIND__MAX] = {
	[SL_XFRM_STATE] = &state_ops,
	[SL_XFRM_POLICY] = &policy_ops,
};

/* ---- batches ---- */

int xfrm_batch(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_xfrm_req *r, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e)
{
	return nl_batch(&x->s, kinds, SL_XFRM_KIND__MAX, x, reqs, n, on_error, ctx, e);
}


static int one(struct sl_xfrm *x, uint8_t op, uint8_t kind, const void *k, const void *v, struct sl_kerr *e)
{
	struct sl_xfrm_req r = { .op = op, .kind = kind, .key = k, .value = v };

	return xfrm_batch(x, &r, 1, NULL, NULL, e);
}

int xfrm_state_add(struct sl_xfrm *x, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v,
		   struct sl_kerr *e)
{
	return one(x, SL_XFRM_OP_ADD, SL_XFRM_STATE, k, v, e);
}

int xfrm_state_update(struct sl_xfrm *x, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v,
		      struct sl_kerr *e)
{
	return one(x, SL_XFRM_OP_UPDATE, SL_XFRM_STATE, k, v, e);
}

int xfrm_state_del(struct sl_xfrm *x, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v,
		   struct sl_kerr *e)
{
	return one(x, SL_XFRM_OP_DEL, SL_XFRM_STATE, k, v, e);
}

int xfrm_policy_add(struct sl_xfrm *x, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v,
		    struct sl_kerr *e)
{
	return one(x, SL_XFRM_OP_ADD, SL_XFRM_POLICY, k, v, e);
}

int xfrm_policy_update(struct sl_xfrm *x, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v,
		       struct sl_kerr *e)
{
	return one(x, SL_XFRM_OP_UPDATE, SL_XFRM_POLICY, k, v, e);
}

int xfrm_policy_del(struct sl_xfrm *x, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v,
		    struct sl_kerr *e)
{
	return one(x, SL_XFRM_OP_DEL, SL_XFRM_POLICY, k, v, e);
}

bool xfrm_state_update_in_place(const struct sl_xfrm_state_value *have, const struct sl_xfrm_state_value *want)
{
	struct sl_xfrm_state_value a = *have, b = *want;
	bool same;

	/* UPDSA sets the output mark only to something: never back to 0/0. */
	if (!want->set_mark && !want->set_mark_mask)
		return false;
	a.set_mark = b.set_mark = 0;
	a.set_mark_mask = b.set_mark_mask = 0;
	same = memcmp(&a, &b, sizeof(a)) == 0;
	explicit_bzero(&a, sizeof(a));
	explicit_bzero(&b, sizeof(b));
	return same;
}

int xfrm_state_decode(const void *msg, struct sl_xfrm_state_key *k, struct sl_xfrm_state_value *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	return state_parse(msg, k, v);
}

int xfrm_policy_decode(const void *msg, struct sl_xfrm_policy_key *k, struct sl_xfrm_policy_value *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	return policy_parse(msg, k, v);
}

/* ---- observe ---- */

struct state_dump {
	int (*cb)(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v);
	void *ctx;
};

static int state_each(void *data, const void *k, const void *v)
{
	struct state_dump *d = data;

	return d->cb(d->ctx, k, v);
}

/* The request of a dump of type: of ESP SAs only, for GETSA. */
static struct nlmsghdr *dump_req(uint8_t *buf, uint16_t type)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	if (type == XFRM_MSG_GETSA)
		mnl_attr_put_u8(nlh, XFRMA_PROTO, IPPROTO_ESP);
	return nlh;
}

int xfrm_state_observe(struct sl_xfrm *x,
		       int (*cb)(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v),
		       void *ctx, struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nlattr) + 1)] __attribute__((aligned(4))) = { 0 };
	struct nl_dump_opts o = { .what = "xfrm: dumping the SAs", .wipe = true };
	struct state_dump d = { cb, ctx };

	return nl_observe(&x->s, dump_req(req, XFRM_MSG_GETSA), &o, &state_ops, x, state_each, &d, e);
}

struct policy_dump {
	int (*cb)(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v);
	void *ctx;
};

static int policy_each(void *data, const void *k, const void *v)
{
	struct policy_dump *d = data;

	return d->cb(d->ctx, k, v);
}

int xfrm_policy_observe(struct sl_xfrm *x,
			int (*cb)(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v),
			void *ctx, struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nlattr) + 1)] __attribute__((aligned(4))) = { 0 };
	struct nl_dump_opts o = { .what = "xfrm: dumping the policies" };
	struct policy_dump d = { cb, ctx };

	return nl_observe(&x->s, dump_req(req, XFRM_MSG_GETPOLICY), &o, &policy_ops, x, policy_each, &d, e);
}

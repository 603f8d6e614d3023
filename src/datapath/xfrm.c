/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xfrm backend (xfrm.h): sluice's IPsec states and policies over
 * NETLINK_XFRM with libmnl.
 *
 * Writes go in chunks: many requests in one sendmsg. The kernel handles a
 * NETLINK_XFRM message synchronously inside sendmsg, one request after the
 * other, and answers a request only when it fails or asks for an ack. So
 * only the last request of a chunk asks for one: when sendmsg returns,
 * the socket already holds one error per failed request (found by its
 * sequence number) and the last one's ack, and a chunk that all succeeds
 * costs one sendmsg and one recv. NETLINK_CAP_ACK keeps the requests
 * (and so the key bytes of a state) out of the error messages;
 * NETLINK_EXT_ACK brings the kernel's own message.
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

/* Kernel writes made by this process (kernel.h); weak so that this file
 * also links alone (tests, bench) without the rest of the backend. */
extern _Atomic unsigned long sl_kernel_writes __attribute__((weak));

/* A chunk of requests: what one sendmsg carries (below the default
 * SO_SNDBUF of 208 KiB). 16, 64 and 160 KiB measured the same for 10k
 * policies: the kernel's work is what counts. */
#define XFRM_CHUNK (64 * 1024)
/* The largest single request (a state with both algorithms is ~600). */
#define XFRM_REQ_MAX 1024
/* Dump replies: the kernel fills at most 32 KiB per message. */
#define XFRM_RBUF (64 * 1024)
/* At most this many requests to a chunk. */
#define XFRM_CHUNK_REQS 1024
/* Room for the replies of a whole chunk: its errors, or the policies
 * that the first step of a removal reads (~4.5 KiB each in the kernel). */
#define XFRM_RCVBUF (4 * 1024 * 1024)

struct sl_xfrm {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint8_t *sbuf; /* XFRM_CHUNK + XFRM_REQ_MAX */
	uint8_t *rbuf; /* XFRM_RBUF */
	uint8_t local[16];
	uint8_t local_family;
};

static void count_writes(unsigned long n)
{
	if (&sl_kernel_writes)
		sl_kernel_writes += n;
}

/* ---- names ---- */

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static void req_name(const struct sl_xfrm *x, const struct sl_xfrm_req *r, char *buf, size_t len)
{
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
	x->sbuf = calloc(1, XFRM_CHUNK + XFRM_REQ_MAX);
	x->rbuf = calloc(1, XFRM_RBUF);
	if (!x->sbuf || !x->rbuf) {
		xfrm_close(x);
		return -ENOMEM;
	}
	r = nl_open(NETLINK_XFRM, "xfrm", "NETLINK_XFRM", XFRM_RCVBUF, &x->nl, e);
	if (r < 0) {
		xfrm_close(x);
		return r;
	}
	x->portid = mnl_socket_get_portid(x->nl);
	x->seq = 1;
	*ret = x;
	return 0;
}

void xfrm_close(struct sl_xfrm *x)
{
	if (!x)
		return;
	if (x->nl)
		mnl_socket_close(x->nl);
	if (x->sbuf)
		explicit_bzero(x->sbuf, XFRM_CHUNK + XFRM_REQ_MAX);
	if (x->rbuf)
		explicit_bzero(x->rbuf, XFRM_RBUF);
	free(x->sbuf);
	free(x->rbuf);
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

/* ---- acks ---- */

/* "NAME: kernel message (strerror)" or "NAME: strerror". */
static void fail_msg(struct sl_kerr *e, const char *name, int err, const char *ext)
{
	if (ext && *ext)
		kerr(e, "%s: %s (%s)", name, ext, strerror(-err));
	else
		kerr(e, "%s: %s", name, strerror(-err));
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
static const char *refusal(const struct sl_xfrm_req *r, int *err)
{
	*err = -EINVAL;
	if (r->kind >= SL_XFRM_KIND__MAX || r->op >= SL_XFRM_OP__MAX)
		return "unknown request";
	return r->kind == SL_XFRM_STATE ? state_refusal(r, err) : policy_refusal(r, err);
}

/* Write request r at buf; returns its length, or -errno with *why. */
static int put_req(uint8_t *buf, uint32_t seq, const struct sl_xfrm_req *r, const char **why)
{
	struct nlmsghdr *nlh;
	int err = -EINVAL;

	*why = refusal(r, &err);
	if (*why)
		return err;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = msg_type[r->kind][r->op];
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (r->op == SL_XFRM_OP_ADD)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	else if (r->op == SL_XFRM_OP_UPDATE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;
	if (r->kind == SL_XFRM_STATE) {
		if (r->op == SL_XFRM_OP_DEL)
			put_state_del(nlh, r->key);
		else
			put_state(nlh, r->key, r->value);
	} else {
		if (r->op == SL_XFRM_OP_DEL)
			put_policy_id(nlh, r->key, 0);
		else
			put_policy(nlh, r->key, r->value);
	}
	return (int)nlh->nlmsg_len;
}

/* ---- batches ---- */

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
enum pdel_why { PDEL_OK, PDEL_FOREIGN, PDEL_LOST };

/* Failures are reported in request order: a request that failed before
 * the last step of its chunk is reported when the replies reach it. */
struct batch_report {
	struct sl_xfrm *x;
	void (*on_error)(void *ctx, const struct sl_xfrm_req *r, const struct sl_kerr *e);
	void *ctx;
	size_t cursor; /* requests before it are reported */
	/* a run of policy removals: what their first step found */
	size_t pstart;
	uint32_t pindex[XFRM_CHUNK_REQS];
	uint8_t pwhy[XFRM_CHUNK_REQS]; /* enum pdel_why */
	bool pdel;
	struct sl_kerr first;
	int first_err;
	size_t failed;
};

static void report(struct batch_report *b, struct sl_xfrm_req *r, int err, const char *ext)
{
	struct sl_kerr one = { "" };
	char name[256];

	r->err = err;
	req_name(b->x, r, name, sizeof(name));
	fail_msg(&one, name, err, ext);
	if (!b->failed++) {
		b->first = one;
		b->first_err = err;
	}
	if (b->on_error)
		b->on_error(b->ctx, r, &one);
}

/* Why request i failed before its chunk's last step. */
static const char *early_failure(const struct batch_report *b, const struct sl_xfrm_req *reqs, size_t i)
{
	const char *why;
	int unused;

	why = refusal(&reqs[i], &unused);
	if (why || !b->pdel)
		return why;
	switch (b->pwhy[i - b->pstart]) {
	case PDEL_FOREIGN:
		return "the kernel holds a policy with this key that is not sluice's; left alone";
	case PDEL_LOST:
		return "the kernel's replies overflowed the socket; observe again";
	default:
		return NULL;
	}
}

/* Report the requests before upto that failed early (their err was set
 * before the chunk's last step); one that has no answer gets err, ext. */
static void report_to(struct batch_report *b, struct sl_xfrm_req *reqs, size_t upto, int err, const char *ext)
{
	for (; b->cursor < upto; b->cursor++) {
		struct sl_xfrm_req *r = &reqs[b->cursor];

		if (r->err)
			report(b, r, r->err, early_failure(b, reqs, b->cursor));
		else if (err)
			report(b, r, err, ext);
	}
}

static ssize_t send_chunk(struct sl_xfrm *x, size_t len)
{
	ssize_t w;

	do
		w = mnl_socket_sendto(x->nl, x->sbuf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		w = -errno;
	/* Always: a state's key bytes go at once, and the next chunk is
	 * built on zeros (attribute padding). */
	explicit_bzero(x->sbuf, len);
	return w;
}

/* A failure the kernel reported for request start + i of the chunk:
 * the requests before it succeeded. */
struct chunk {
	struct batch_report *b;
	struct sl_xfrm_req *reqs;
	size_t start;
};

static void chunk_error(void *ctx, size_t i, int err, const char *msg)
{
	struct chunk *c = ctx;
	size_t at = c->start + i;

	if (at < c->b->cursor)
		return;
	report_to(c->b, c->reqs, at, 0, NULL);
	report(c->b, &c->reqs[at], err, msg);
	c->b->cursor = at + 1;
}

/* Read the acks of a chunk sent with sequence numbers seq0 + (i - start)
 * for reqs[start..end), last the one that asked for an ack. */
static int collect(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t start, size_t end, size_t last, uint32_t seq0,
		   struct batch_report *b)
{
	struct chunk c = { b, reqs, start };
	const char *unknown = nl_acks_read(x->nl, x->rbuf, XFRM_RBUF, seq0, end - start, last - start, chunk_error, &c);

	/* Without the last ack, nothing says which requests failed. */
	report_to(b, reqs, end, unknown ? -EIO : 0, unknown);
	return unknown ? -EIO : 0;
}

static bool is_policy_del(const struct sl_xfrm_req *r)
{
	return r->kind == SL_XFRM_POLICY && r->op == SL_XFRM_OP_DEL;
}

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

/* Requests start.. that are neither policy removals: one sendmsg. */
static size_t write_chunk(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t start, size_t n, struct batch_report *b)
{
	size_t i, last = SIZE_MAX, len = 0, last_off = 0, sent = 0;
	uint32_t seq0 = x->seq;
	ssize_t w;

	for (i = start; i < n && i - start < XFRM_CHUNK_REQS && len < XFRM_CHUNK && !is_policy_del(&reqs[i]); i++) {
		const char *why;
		int l = put_req(x->sbuf + len, seq0 + (uint32_t)(i - start), &reqs[i], &why);

		reqs[i].err = l < 0 ? l : 0;
		if (l < 0)
			continue;
		last = i;
		last_off = len;
		len += (size_t)l;
		sent++;
	}
	x->seq = seq0 + (uint32_t)(i - start);
	if (last == SIZE_MAX) {
		report_to(b, reqs, i, 0, NULL);
		return i;
	}
	((struct nlmsghdr *)(x->sbuf + last_off))->nlmsg_flags |= NLM_F_ACK;
	w = send_chunk(x, len);
	if (w < 0) {
		report_to(b, reqs, i, (int)w, "sending to the kernel");
		return i;
	}
	count_writes(sent);
	collect(x, reqs, start, i, last, seq0, b);
	return i;
}

/* The first step of a run of policy removals: GETPOLICY by selector for
 * each; every one is answered, with the policy or an error. */
static void pdel_lookup(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t start, size_t end, size_t sent,
			uint32_t seq0, struct batch_report *b)
{
	int fd = mnl_socket_get_fd(x->nl);
	size_t answered = 0;
	bool lost = false;

	while (answered < sent) {
		ssize_t n = recv(fd, x->rbuf, XFRM_RBUF, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			break;
		}
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)x->rbuf; nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			uint32_t off = nlh->nlmsg_seq - seq0;
			size_t i = start + off;

			if (off >= end - start || reqs[i].err || b->pindex[off])
				continue;
			if (nlh->nlmsg_type == XFRM_MSG_NEWPOLICY) {
				b->pindex[off] = owned_index(nlh);
				if (!b->pindex[off]) {
					reqs[i].err = -EPERM;
					b->pwhy[off] = PDEL_FOREIGN;
				}
				answered++;
			} else if (nlh->nlmsg_type == NLMSG_ERROR) {
				const char *ext;
				int err;

				if (nl_ack_parse(nlh, &err, &ext) == 0 && err < 0) {
					reqs[i].err = err;
					answered++;
				}
			}
		}
	}
	if (answered == sent)
		return;
	for (size_t i = start; i < end; i++) {
		if (!reqs[i].err && !b->pindex[i - start]) {
			reqs[i].err = -EIO;
			b->pwhy[i - start] = lost ? PDEL_LOST : PDEL_OK;
		}
	}
}

/* Requests start.. that are policy removals, in the two steps above. */
static size_t pdel_chunk(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t start, size_t n, struct batch_report *b)
{
	size_t i, end, len = 0, last = SIZE_MAX, last_off = 0, sent = 0;
	uint32_t seq0 = x->seq, seq1;
	ssize_t w;

	b->pdel = true;
	b->pstart = start;
	for (i = start; i < n && i - start < XFRM_CHUNK_REQS && len < XFRM_CHUNK && is_policy_del(&reqs[i]); i++) {
		struct nlmsghdr *nlh;
		int err;

		b->pindex[i - start] = 0;
		b->pwhy[i - start] = PDEL_OK;
		reqs[i].err = refusal(&reqs[i], &err) ? err : 0;
		if (reqs[i].err)
			continue;
		nlh = mnl_nlmsg_put_header(x->sbuf + len);
		nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		nlh->nlmsg_seq = seq0 + (uint32_t)(i - start);
		put_policy_id(nlh, reqs[i].key, 0);
		len += nlh->nlmsg_len;
		sent++;
	}
	end = i;
	x->seq = seq0 + (uint32_t)(end - start);
	if (sent) {
		w = send_chunk(x, len);
		if (w < 0) {
			report_to(b, reqs, end, (int)w, "sending to the kernel");
			goto out;
		}
		pdel_lookup(x, reqs, start, end, sent, seq0, b);
	}

	/* Second step, built from the end so that the last removal of each
	 * tree is known: it goes by selector, the others by index. */
	seq1 = x->seq;
	len = 0;
	sent = 0;
	for (i = start; i < end; i++) {
		const struct sl_xfrm_policy_key *k = reqs[i].key;
		bool tree_last = true;
		struct nlmsghdr *nlh;

		if (reqs[i].err)
			continue;
		for (size_t j = i + 1; j < end && tree_last; j++) {
			const struct sl_xfrm_policy_key *o = reqs[j].key;

			if (!reqs[j].err && o->dir == k->dir && o->family == k->family && o->type == k->type &&
			    o->if_id == k->if_id)
				tree_last = false;
		}
		nlh = mnl_nlmsg_put_header(x->sbuf + len);
		nlh->nlmsg_type = XFRM_MSG_DELPOLICY;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		nlh->nlmsg_seq = seq1 + (uint32_t)(i - start);
		put_policy_id(nlh, k, tree_last ? 0 : b->pindex[i - start]);
		last = i;
		last_off = len;
		len += nlh->nlmsg_len;
		sent++;
	}
	x->seq = seq1 + (uint32_t)(end - start);
	if (last == SIZE_MAX) {
		report_to(b, reqs, end, 0, NULL);
		goto out;
	}
	((struct nlmsghdr *)(x->sbuf + last_off))->nlmsg_flags |= NLM_F_ACK;
	w = send_chunk(x, len);
	if (w < 0) {
		report_to(b, reqs, end, (int)w, "sending to the kernel");
		goto out;
	}
	count_writes(sent);
	collect(x, reqs, start, end, last, seq1, b);
out:
	b->pdel = false;
	return end;
}

int xfrm_batch(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_xfrm_req *r, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e)
{
	_cleanup_free_ struct batch_report *b = calloc(1, sizeof(*b));
	size_t i = 0;

	if (!b) {
		kerr(e, "xfrm: out of memory");
		return -ENOMEM;
	}
	b->x = x;
	b->on_error = on_error;
	b->ctx = ctx;
	while (i < n)
		i = is_policy_del(&reqs[i]) ? pdel_chunk(x, reqs, i, n, b) : write_chunk(x, reqs, i, n, b);
	if (!b->failed)
		return 0;
	if (e) {
		*e = b->first;
		if (b->failed > 1) {
			size_t l = strlen(e->msg);

			snprintf(e->msg + l, sizeof(e->msg) - l, " (and %zu more failed)", b->failed - 1);
		}
	}
	return b->first_err;
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

/* ---- observe ---- */

/* One dump: each message of the reply goes to each(); a negative return
 * stops the calls, and the dump is read to its end all the same (the
 * kernel runs one dump per socket at a time). */
static int dump(struct sl_xfrm *x, uint16_t type, bool secret, int (*each)(const struct nlmsghdr *nlh, void *data),
		void *data, const char *what, struct sl_kerr *e)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nlattr) + 1)] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	uint32_t seq = x->seq++;
	int stop = 0;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (type == XFRM_MSG_GETSA)
		mnl_attr_put_u8(nlh, XFRMA_PROTO, IPPROTO_ESP);
	if (mnl_socket_sendto(x->nl, nlh, nlh->nlmsg_len) < 0) {
		int r = -errno;

		kerr(e, "xfrm: dumping the %s: %s", what, strerror(errno));
		return r;
	}
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(x->nl, x->rbuf, XFRM_RBUF);
		const struct nlmsghdr *m;
		int len, r = 0;
		bool done = false;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			kerr(e, "xfrm: dumping the %s: %s", what, strerror(errno));
			return r;
		}
		len = (int)n;
		for (m = (const struct nlmsghdr *)x->rbuf; nl_msg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != x->portid)
				continue;
			if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
				const char *ext;
				int err = 0;

				done = true;
				if (nl_ack_parse(m, &err, &ext) == 0 && err < 0 && !stop) {
					char name[64];

					snprintf(name, sizeof(name), "xfrm: dumping the %s", what);
					fail_msg(e, name, err, ext);
					stop = err;
				}
				break;
			}
			if (!stop) {
				r = each(m, data);
				if (r < 0)
					stop = r;
			}
		}
		if (secret)
			explicit_bzero(x->rbuf, (size_t)n);
		if (done)
			return stop;
	}
}

struct state_dump {
	int (*cb)(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v);
	void *ctx;
};

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

static int state_each(const struct nlmsghdr *nlh, void *data)
{
	struct state_dump *d = data;
	struct sl_xfrm_state_key k;
	struct sl_xfrm_state_value v;
	int r = 0;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (state_parse(nlh, &k, &v) > 0)
		r = d->cb(d->ctx, &k, &v);
	explicit_bzero(&v, sizeof(v));
	return r;
}

int xfrm_state_observe(struct sl_xfrm *x,
		       int (*cb)(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v),
		       void *ctx, struct sl_kerr *e)
{
	struct state_dump d = { cb, ctx };

	return dump(x, XFRM_MSG_GETSA, true, state_each, &d, "SAs", e);
}

struct policy_dump {
	int (*cb)(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v);
	void *ctx;
};

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

static int policy_each(const struct nlmsghdr *nlh, void *data)
{
	struct policy_dump *d = data;
	struct sl_xfrm_policy_key k;
	struct sl_xfrm_policy_value v;

	if (policy_parse(nlh, &k, &v) <= 0)
		return 0;
	return d->cb(d->ctx, &k, &v);
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

int xfrm_policy_observe(struct sl_xfrm *x,
			int (*cb)(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v),
			void *ctx, struct sl_kerr *e)
{
	struct policy_dump d = { cb, ctx };

	return dump(x, XFRM_MSG_GETPOLICY, false, policy_each, &d, "policies", e);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule backend (rule.h): sluice's routing policy rules over
 * NETLINK_ROUTE, through the netlink engine (nl.h). What is here is only
 * the rules': their encoding, decoding, names and ownership (the protocol,
 * and no selector but the input device and the mark).
 *
 * The attributes are the kernel's (net/core/fib_rules.c): a dump reports
 * FRA_TABLE, FRA_SUPPRESS_PREFIXLEN (0xffffffff: none) and FRA_PROTOCOL
 * always, FRA_PRIORITY when not 0, FRA_FWMARK when not 0, FRA_FWMASK when
 * it or the mark is not 0, FRA_IIFNAME when the rule has an input device
 * (the flag FIB_RULE_IIF_DETACHED in the header when no device of that
 * name is there now), and every other selector only when it is set.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/util.h"
#include "datapath/nl.h"
#include "datapath/rule.h"

/* The largest single request (~80 bytes). */
#define RULE_REQ_MAX 256

_Static_assert(SL_RULE_LOOKUP == FR_ACT_TO_TBL, "the lookup action is the kernel's");

struct sl_rule {
	struct nl_sock s;
};

static bool family_ok(uint8_t f)
{
	return f == AF_INET || f == AF_INET6;
}

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- the socket ---- */

int rule_open(struct sl_rule **ret, struct sl_kerr *e)
{
	struct sl_rule *r;
	int err;

	*ret = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = nl_sock_open(&r->s, NETLINK_ROUTE, "rules", "NETLINK_ROUTE", RULE_REQ_MAX, e);
	if (err < 0) {
		rule_close(r);
		return err;
	}
	*ret = r;
	return 0;
}

void rule_close(struct sl_rule *r)
{
	if (!r)
		return;
	nl_sock_close(&r->s);
	free(r);
}

/* ---- decoding ---- */

/* One rule of a dump, as far as this module reads it. */
struct rule_seen {
	struct sl_rule_key k;
	struct sl_rule_value v;
	int protocol; /* -1: none reported (a kernel before 4.17) */
	bool other;   /* a selector besides the input device and the mark, or a flag */
	bool taken;   /* (prepare: an earlier removal of the batch takes it) */
};

/* An input device's name (FRA_IIFNAME: NUL-terminated, as the kernel puts
 * it) into iif, zero-padded: true, or false when it has no NUL or does not
 * fit (not a name the kernel gives back). */
static bool read_ifname(const struct nlattr *a, char iif[SL_RULE_IIF_MAX])
{
	const char *p = mnl_attr_get_payload(a);
	size_t al = mnl_attr_get_payload_len(a), n = strnlen(p, al);

	if (n == al || n >= SL_RULE_IIF_MAX)
		return false;
	memcpy(iif, p, n);
	return true;
}

/* A rule of an RTM_NEWRULE message into s: 1 when it is an IPv4 or IPv6
 * rule, 0 when not. */
static int rule_read(const struct nlmsghdr *nlh, struct rule_seen *s)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	struct sl_rule_key *k = &s->k;
	struct sl_rule_value *v = &s->v;
	const struct nlattr *a;
	bool other;

	memset(s, 0, sizeof(*s));
	s->protocol = -1;
	if (nlh->nlmsg_type != RTM_NEWRULE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return 0;
	if (!family_ok(frh->family))
		return 0;
	/* prefixes, TOS, `not` and the like, a goto (and its flags); not the
	 * kernel's note that the input device is not there now, which is no
	 * selector (checked against FRA_IIFNAME below) */
	other = frh->dst_len || frh->src_len || frh->tos || (frh->flags & ~FIB_RULE_IIF_DETACHED) ||
		frh->action == FR_ACT_GOTO;
	k->family = frh->family;
	k->table = frh->table;
	v->action = frh->action;
	mnl_attr_for_each(a, nlh, sizeof(*frh)) {
		size_t al = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case FRA_TABLE:
			if (al >= 4)
				k->table = mnl_attr_get_u32(a);
			break;
		case FRA_PRIORITY:
			if (al >= 4)
				k->priority = mnl_attr_get_u32(a);
			break;
		case FRA_FWMARK:
			if (al >= 4)
				k->fwmark = mnl_attr_get_u32(a);
			break;
		case FRA_FWMASK:
			if (al >= 4)
				k->fwmask = mnl_attr_get_u32(a);
			break;
		case FRA_PROTOCOL:
			if (al >= 1)
				s->protocol = mnl_attr_get_u8(a);
			break;
		case FRA_IIFNAME:
			other |= !read_ifname(a, k->iif);
			break;
		case FRA_SUPPRESS_PREFIXLEN:
		case FRA_SUPPRESS_IFGROUP:
			/* reported as 0xffffffff (-1) when not set */
			other |= al < 4 || mnl_attr_get_u32(a) != UINT32_MAX;
			break;
		case FRA_L3MDEV:
		case FRA_IP_PROTO:
			other |= al < 1 || mnl_attr_get_u8(a) != 0;
			break;
		case FRA_DST:
		case FRA_SRC:
		case FRA_OIFNAME:
		case FRA_GOTO:
		case FRA_FLOW:
		case FRA_TUN_ID:
		case FRA_UID_RANGE:
		case FRA_SPORT_RANGE:
		case FRA_DPORT_RANGE:
			other = true;
			break;
		default:
			/* FRA_PAD; attributes of later kernels (FRA_DSCP...),
			 * which report them only when set, as every selector */
			break;
		}
	}
	/* (the flag without an input device: not a rule of the kernel's) */
	if ((frh->flags & FIB_RULE_IIF_DETACHED) && !k->iif[0])
		other = true;
	s->other = other;
	return 1;
}

static bool seen_owned(const struct rule_seen *s)
{
	return s->protocol == SL_RTPROT && !s->other;
}

/* A rule of an RTM_NEWRULE message into k and v: 1 when it is sluice's,
 * 0 when not (another protocol, another selector, not a rule). */
static int rule_parse(const struct nlmsghdr *nlh, struct sl_rule_key *k, struct sl_rule_value *v)
{
	struct rule_seen s;

	if (!rule_read(nlh, &s) || !seen_owned(&s)) {
		memset(k, 0, sizeof(*k));
		memset(v, 0, sizeof(*v));
		return 0;
	}
	*k = s.k;
	*v = s.v;
	return 1;
}

int rule_decode(const void *msg, struct sl_rule_key *k, struct sl_rule_value *v)
{
	return rule_parse(msg, k, v);
}

/* ---- observe ---- */

static int observe_decode(void *octx, const struct nlmsghdr *nlh, void *key, void *val)
{
	(void)octx;
	return rule_parse(nlh, key, val);
}

static const struct nl_kind_ops rule_ops;

int rule_observe(struct sl_rule *r, int (*cb)(void *ctx, const void *k, const void *v), void *ctx,
		 struct sl_kerr *e)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct fib_rule_hdr))] __attribute__((aligned(4))) = { 0 };
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
		struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		/* A kernel without IPv6 has no IPv6 rules. */
		struct nl_dump_opts o = { .empty_err = families[i] == AF_INET6 ? -EAFNOSUPPORT : 0 };
		int ret;

		o.what = families[i] == AF_INET ? "rules: reading the IPv4 rules" : "rules: reading the IPv6 rules";
		nlh->nlmsg_type = RTM_GETRULE;
		frh->family = families[i];
		/* (the kernel filters no rule dump: every rule of the family
		 * comes, and decode keeps sluice's) */
		ret = nl_observe(&r->s, nlh, &o, &rule_ops, r, cb, ctx, e);
		if (ret < 0)
			return ret;
		if (o.intr) {
			kerr(e, "rules: the %s rules changed while they were read; observe again",
			     families[i] == AF_INET ? "IPv4" : "IPv6");
			return -EAGAIN;
		}
	}
	return 0;
}

/* ---- requests ---- */

static void name_op(void *octx, const struct sl_rule_req *q, char *buf, size_t len)
{
	(void)octx;
	if (!q->key)
		snprintf(buf, len, "rule request without a key");
	else
		sl_rule_name(q->key, q->value, buf, len);
}

/* Why this module refuses to send q, or NULL (*err then the errno). */
static const char *refusal_op(void *octx, const struct sl_rule_req *q, int *err)
{
	const struct sl_rule_key *k = q->key;
	const struct sl_rule_value *v = q->value;

	(void)octx;
	*err = -EINVAL;
	if (q->op >= SL_RULE_OP__MAX)
		return "unknown request";
	if (q->op == SL_RULE_OP_CHANGE) {
		*err = -EOPNOTSUPP;
		return "the kernel changes no rule in place: remove it and add it";
	}
	if (!k)
		return "no key";
	if (!family_ok(k->family)) {
		*err = -EAFNOSUPPORT;
		return "not an IPv4 or IPv6 rule";
	}
	if (!zero(k->pad, sizeof(k->pad)))
		return "key has nonzero padding";
	if (!memchr(k->iif, '\0', sizeof(k->iif)))
		return "input device name not terminated (15 characters at most)";
	if (!zero(k->iif + strlen(k->iif), sizeof(k->iif) - strlen(k->iif)))
		return "input device name has bytes set after its end";
	if (v && !zero(v->pad, sizeof(v->pad)))
		return "value has nonzero padding";
	if (q->op == SL_RULE_OP_DEL)
		return NULL; /* (it names what was observed) */
	if (!v)
		return "no value";
	if (v->action != SL_RULE_LOOKUP)
		return "sluice's rules look up a table (action 1) only";
	if (k->table == RT_TABLE_UNSPEC)
		return "table 0: the kernel would pick a table itself";
	if (k->table == RT_TABLE_DEFAULT || k->table == RT_TABLE_MAIN || k->table == RT_TABLE_LOCAL) {
		*err = -EPERM;
		return "a table of the kernel's own (253 default, 254 main, 255 local): not sluice's";
	}
	return NULL;
}

/* q into nlh: everything a rule of sluice's has, also on removal, where the
 * kernel removes the first rule matching all of it, the protocol included. */
static int encode_op(void *octx, const struct sl_rule_req *q, uint32_t cookie, struct nlmsghdr *nlh, char *why,
		     size_t why_len)
{
	const struct sl_rule_key *k = q->key;
	const struct sl_rule_value *v = q->value;
	struct fib_rule_hdr *frh;

	(void)octx;
	(void)cookie;
	(void)why;
	(void)why_len;
	nlh->nlmsg_type = q->op == SL_RULE_OP_DEL ? RTM_DELRULE : RTM_NEWRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (q->op == SL_RULE_OP_ADD)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = k->family;
	frh->table = k->table < 256 ? (uint8_t)k->table : RT_TABLE_UNSPEC;
	/* on removal, 0 (any) when the value is not given */
	frh->action = v ? v->action : 0;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, k->priority);
	/* none for a rule without one (on removal: any) */
	if (k->iif[0])
		mnl_attr_put_strz(nlh, FRA_IIFNAME, k->iif);
	/* both, so that the mask is the key's (a mark alone would mean mask
	 * 0xffffffff), or neither (no mark: what the kernel reports) */
	if (k->fwmark || k->fwmask) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, k->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, k->fwmask);
	}
	if (k->table)
		mnl_attr_put_u32(nlh, FRA_TABLE, k->table);
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, SL_RTPROT);
	return 0;
}

/* ---- which rule a removal takes ---- */

/* Every rule of the families a batch removes from, in the kernel's order. */
struct rules_seen {
	struct rule_seen *v;
	size_t n, cap;
};

static int seen_each(void *data, const struct nlmsghdr *nlh)
{
	struct rules_seen *l = data;
	struct rule_seen s;

	if (!rule_read(nlh, &s))
		return 0;
	if (grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = s;
	return 0;
}

static int rules_load(struct sl_rule *r, uint8_t family, struct rules_seen *l)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct fib_rule_hdr))] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	struct nl_dump_opts o = { .what = "rules: reading the rules" };
	struct sl_kerr ignored;

	nlh->nlmsg_type = RTM_GETRULE;
	frh->family = family;
	return nl_dump(&r->s, nlh, &o, seen_each, l, &ignored);
}

/*
 * The rule the kernel's rule_find takes for a removal of k (v: its action,
 * NULL: any): the first, in the kernel's order, of protocol SL_RTPROT that
 * has every field the request names (its priority always; the input
 * device, the mark, mask, table and action when not empty or 0: the
 * kernel reads those as "any"), leaving out those that earlier removals of
 * the batch take. A removal cannot say "no input device" or "no mark", and
 * cannot name a selector sluice does not know: a rule of sluice's protocol
 * with one more (an input device where k has none, say) is taken as well
 * as sluice's own.
 */
static struct rule_seen *removal_takes(struct rules_seen *l, const struct sl_rule_key *k,
				       const struct sl_rule_value *v)
{
	for (size_t i = 0; i < l->n; i++) {
		struct rule_seen *s = &l->v[i];

		if (s->taken || s->k.family != k->family || s->protocol != SL_RTPROT || s->k.priority != k->priority)
			continue;
		if ((k->iif[0] && memcmp(s->k.iif, k->iif, sizeof(k->iif))) || (k->fwmark && s->k.fwmark != k->fwmark) ||
		    (k->fwmask && s->k.fwmask != k->fwmask) || (k->table && s->k.table != k->table) ||
		    (v && v->action && s->v.action != v->action))
			continue;
		return s;
	}
	return NULL;
}

/*
 * Before sending: a removal that the kernel would take another rule for
 * than the one asked is refused: a rule of sluice's protocol of another
 * form (more selectors: not one sluice makes), or another rule of
 * sluice's form that the request cannot tell from it (one with an input
 * device or a mark where the request has none), listed first. Removals
 * are looked at in the batch's order, each leaving out what the earlier
 * ones take, so that a batch that removes both (the more selective first)
 * goes through.
 */
static void prepare(void *octx, struct nl_batch *b)
{
	struct sl_rule *r = octx;
	struct rules_seen l[2] = { { 0 } };
	bool need[2] = { false, false };

	for (size_t i = 0; i < b->n; i++) {
		const struct sl_rule_req *q = &b->reqs[i];

		if (!q->err && q->op == SL_RULE_OP_DEL)
			need[((const struct sl_rule_key *)q->key)->family == AF_INET6] = true;
	}
	for (int f = 0; f < 2; f++) {
		if (need[f] && rules_load(r, f ? AF_INET6 : AF_INET, &l[f]) < 0) {
			/* without the rules, no removal is known to be safe */
			for (size_t i = 0; i < b->n; i++) {
				const struct sl_rule_req *q = &b->reqs[i];

				if (!q->err && q->op == SL_RULE_OP_DEL &&
				    (((const struct sl_rule_key *)q->key)->family == AF_INET6) == f)
					nl_batch_fail(b, i, -EAGAIN, "could not read the rules to check which one the "
								     "removal takes");
			}
			need[f] = false;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct sl_rule_req *q = &b->reqs[i];
		const struct sl_rule_key *k = q->key;
		struct rule_seen *s;
		int f;

		if (q->err || q->op != SL_RULE_OP_DEL)
			continue;
		f = k->family == AF_INET6;
		if (!need[f])
			continue;
		s = removal_takes(&l[f], k, q->value);
		if (s && !seen_owned(s)) {
			nl_batch_fail(b, i, -EPERM,
				      "a rule of sluice's protocol (81) with another selector comes first at that priority, "
				      "and the kernel would remove it instead; not sluice's, left alone");
		} else if (s && memcmp(&s->k, k, sizeof(*k))) {
			char name[160], why[320];

			sl_rule_name(&s->k, NULL, name, sizeof(name));
			snprintf(why, sizeof(why),
				 "another rule of sluice's, %s, comes first and the kernel would remove it instead (a "
				 "removal cannot say \"no input device\" or \"no mark\"); left alone",
				 name);
			nl_batch_fail(b, i, -EPERM, why);
		} else if (s) {
			s->taken = true;
		}
	}
	free(l[0].v);
	free(l[1].v);
}

/* After: say what an add over sluice's own rule and a removal of a rule
 * sluice does not have mean. */
static void explain(void *octx, struct nl_batch *b)
{
	(void)octx;
	for (size_t j = 0; j < b->n_fails; j++) {
		struct nl_fail *f = &b->fails[j];
		const struct sl_rule_req *q = &b->reqs[f->i];

		if (q->op == SL_RULE_OP_ADD && f->err == -EEXIST)
			snprintf(f->why, sizeof(f->why), "sluice's own rule is there already");
		else if (q->op == SL_RULE_OP_DEL && f->err == -ENOENT)
			snprintf(f->why, sizeof(f->why), "sluice has no such rule");
	}
}

static const struct nl_kind_ops rule_ops = {
	.key_size = sizeof(struct sl_rule_key),
	.val_size = sizeof(struct sl_rule_value),
	.decode = observe_decode,
	.refusal = refusal_op,
	.encode = encode_op,
	.name = name_op,
	.prepare = prepare,
	.explain = explain,
};

static const struct nl_kind_ops *const kinds[] = { &rule_ops };

int rule_batch(struct sl_rule *r, struct sl_rule_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_rule_req *req, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e)
{
	if (!n)
		return 0;
	return nl_batch(&r->s, kinds, ARRAY_SIZE(kinds), r, reqs, n, on_error, ctx, e);
}

static int one(struct sl_rule *r, uint8_t op, const struct sl_rule_key *k, const struct sl_rule_value *v,
	       struct sl_kerr *e)
{
	struct sl_rule_req q = { .op = op, .key = k, .value = v };

	return rule_batch(r, &q, 1, NULL, NULL, e);
}

int rule_add(struct sl_rule *r, const struct sl_rule_key *k, const struct sl_rule_value *v, struct sl_kerr *e)
{
	return one(r, SL_RULE_OP_ADD, k, v, e);
}

int rule_del(struct sl_rule *r, const struct sl_rule_key *k, const struct sl_rule_value *v, struct sl_kerr *e)
{
	return one(r, SL_RULE_OP_DEL, k, v, e);
}

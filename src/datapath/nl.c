/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netlink engine of the libmnl backends (nl.h), and kerr (internal.h):
 * linked wherever any of the backends is.
 *
 * Batches go in chunks: many requests in one sendmsg. The kernel handles
 * the messages of a sendmsg to NETLINK_XFRM or NETLINK_ROUTE synchronously,
 * one after the other, and answers a request only when it fails or asks
 * for an ack. So only the last request of a chunk asks for one: when
 * sendmsg returns, the socket already holds one error per failed request
 * (found by its sequence number) and the last one's ack, and a chunk that
 * all succeeds costs one sendmsg and one recv. NETLINK_CAP_ACK keeps the
 * requests (and so the key bytes of an SA) out of the errors;
 * NETLINK_EXT_ACK brings the kernel's own message.
 *
 * Failures are gathered during the batch and reported at its end, in
 * request order, after the kinds had a chance to explain them (routes: one
 * read of the main table says whose route holds a key), which costs
 * nothing when all went well.
 */
#include "nl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "common/util.h"
#include "internal.h"

/* Kernel writes made by this process (kernel.h); weak so that the
 * backends also link alone (tests, bench) without the rest of it. */
extern _Atomic unsigned long sl_kernel_writes __attribute__((weak));

static void count_writes(unsigned long n)
{
	if (&sl_kernel_writes)
		sl_kernel_writes += n;
}

int nl_ack_parse(const struct nlmsghdr *nlh, int *ret_err, const char **ret_msg)
{
	const uint8_t *payload = mnl_nlmsg_get_payload(nlh);
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off;
	const struct nlattr *a;

	*ret_msg = NULL;
	*ret_err = 0;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (plen < sizeof(int))
			return 0;
		memcpy(ret_err, payload, sizeof(int));
		off = sizeof(int);
	} else {
		const struct nlmsgerr *me = (const struct nlmsgerr *)payload;

		if (plen < sizeof(*me))
			return -EBADMSG;
		*ret_err = me->error;
		off = sizeof(*me);
		/* Without NETLINK_CAP_ACK's cap, the request follows whole. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && me->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += MNL_ALIGN(me->msg.nlmsg_len) - sizeof(struct nlmsghdr);
	}
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off >= plen)
		return 0;
	for (a = (const struct nlattr *)(payload + off); mnl_attr_ok(a, (int)((payload + plen) - (const uint8_t *)a));
	     a = mnl_attr_next(a))
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			*ret_msg = mnl_attr_get_str(a);
	return 0;
}

/* ---- the socket ---- */

int nl_sock_open(struct nl_sock *s, int bus, const char *who, const char *bus_name, size_t req_max,
		 struct sl_kerr *e)
{
	int one = 1, rcvbuf = NL_RCVBUF, fd, r;

	memset(s, 0, sizeof(*s));
	s->who = who;
	s->req_max = req_max;
	s->sbuf = calloc(1, NL_CHUNK + req_max);
	s->rbuf = calloc(1, NL_RBUF);
	if (!s->sbuf || !s->rbuf) {
		kerr(e, "%s: out of memory", who);
		return -ENOMEM;
	}
	s->nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!s->nl) {
		r = -errno;
		kerr(e, "%s: opening a %s socket: %s", who, bus_name, strerror(-r));
		return r;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		kerr(e, "%s: binding the netlink socket: %s", who, strerror(-r));
		return r;
	}
	if (mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		r = -errno;
		kerr(e, "%s: setting NETLINK_EXT_ACK and NETLINK_CAP_ACK: %s", who, strerror(-r));
		return r;
	}
	fd = mnl_socket_get_fd(s->nl);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = 1;
	return 0;
}

void nl_sock_close(struct nl_sock *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	if (s->sbuf)
		explicit_bzero(s->sbuf, NL_CHUNK + s->req_max);
	if (s->rbuf)
		explicit_bzero(s->rbuf, NL_RBUF);
	free(s->sbuf);
	free(s->rbuf);
	memset(s, 0, sizeof(*s));
}


/* ---- the receive loop ---- */

int nl_recv(struct nl_sock *s, unsigned flags, int (*each)(void *ctx, const struct nlmsghdr *nlh), void *ctx,
	    bool *ret_lost)
{
	int fd = mnl_socket_get_fd(s->nl);

	for (;;) {
		/* Blocking: libmnl's read, which also refuses a truncated
		 * message (ENOSPC) and a sender that is not the kernel. */
		ssize_t got = flags & NL_RECV_NONBLOCK ? recv(fd, s->rbuf, NL_RBUF, MSG_DONTWAIT)
						       : mnl_socket_recvfrom(s->nl, s->rbuf, NL_RBUF);
		const struct nlmsghdr *nlh;
		int len, done = 0;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (!(flags & NL_RECV_NONBLOCK))
				return -errno;
			if (errno == ENOBUFS) {
				/* Replies were dropped: the receive buffer filled. */
				if (ret_lost)
					*ret_lost = true;
				continue;
			}
			/* EAGAIN: the kernel answered everything it will. */
			return 0;
		}
		len = (int)got;
		for (nlh = (const struct nlmsghdr *)s->rbuf; nl_msg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			done = each(ctx, nlh);
			if (done > 0)
				break;
		}
		if (flags & NL_RECV_WIPE)
			explicit_bzero(s->rbuf, (size_t)got);
		if (done > 0)
			return 1;
	}
}

struct talk {
	uint32_t seq;
	int err;
	const char *msg;
};

static int talk_each(void *ctx, const struct nlmsghdr *nlh)
{
	struct talk *t = ctx;

	if (nlh->nlmsg_seq != t->seq || nlh->nlmsg_type != NLMSG_ERROR || nl_ack_parse(nlh, &t->err, &t->msg) < 0)
		return 0;
	return 1;
}

int nl_talk(struct nl_sock *s, struct nlmsghdr *req, int *ret_err, const char **ret_msg)
{
	struct talk t = { .seq = s->seq++ };
	int r;

	req->nlmsg_seq = t.seq;
	req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, req, req->nlmsg_len) < 0)
		return -errno;
	r = nl_recv(s, 0, talk_each, &t, NULL);
	if (r < 0)
		return r;
	*ret_err = t.err;
	*ret_msg = t.msg;
	return 0;
}

/* ---- dumps ---- */

struct dump {
	struct nl_sock *s;
	struct nl_dump_opts *o;
	uint32_t seq;
	int (*each)(void *ctx, const struct nlmsghdr *nlh);
	void *ctx;
	struct sl_kerr *e;
	int stop;
};

static int dump_each(void *ctx, const struct nlmsghdr *m)
{
	struct dump *d = ctx;

	if (m->nlmsg_seq != d->seq || m->nlmsg_pid != d->s->portid)
		return 0;
	if (m->nlmsg_flags & NLM_F_DUMP_INTR)
		d->o->intr = true;
	if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
		const char *ext;
		int err = 0;

		if (nl_ack_parse(m, &err, &ext) == 0 && err < 0 && !d->stop) {
			/* an empty dump, such as a table that was never made */
			if (err == d->o->empty_err)
				return 1;
			if (ext && *ext)
				kerr(d->e, "%s: %s (%s)", d->o->what, ext, strerror(-err));
			else
				kerr(d->e, "%s: %s", d->o->what, strerror(-err));
			d->stop = err;
		}
		return 1;
	}
	if (!d->stop) {
		int r = d->each(d->ctx, m);

		if (r < 0)
			d->stop = r;
	}
	return 0;
}

int nl_dump(struct nl_sock *s, struct nlmsghdr *req, struct nl_dump_opts *o,
	    int (*each)(void *ctx, const struct nlmsghdr *nlh), void *ctx, struct sl_kerr *e)
{
	struct dump d = { .s = s, .o = o, .seq = s->seq++, .each = each, .ctx = ctx, .e = e };
	int r;

	o->intr = false;
	req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req->nlmsg_seq = d.seq;
	if (mnl_socket_sendto(s->nl, req, req->nlmsg_len) < 0) {
		r = -errno;
		kerr(e, "%s: %s", o->what, strerror(-r));
		return r;
	}
	r = nl_recv(s, o->wipe ? NL_RECV_WIPE : 0, dump_each, &d, NULL);
	if (r < 0) {
		kerr(e, "%s: %s", o->what, strerror(-r));
		return r;
	}
	return d.stop;
}

struct observe {
	const struct nl_kind_ops *ops;
	void *octx;
	int (*cb)(void *ctx, const void *key, const void *val);
	void *ctx;
};

static int observe_each(void *ctx, const struct nlmsghdr *nlh)
{
	struct observe *o = ctx;
	uint64_t key[NL_KEY_MAX / 8], val[NL_VAL_MAX / 8];
	int r = 0;

	memset(key, 0, o->ops->key_size);
	memset(val, 0, o->ops->val_size);
	if (o->ops->decode(o->octx, nlh, key, val) > 0)
		r = o->cb(o->ctx, key, val);
	if (o->ops->secret)
		explicit_bzero(val, o->ops->val_size);
	return r;
}

int nl_observe(struct nl_sock *s, struct nlmsghdr *req, struct nl_dump_opts *o, const struct nl_kind_ops *ops,
	       void *octx, int (*cb)(void *ctx, const void *key, const void *val), void *ctx, struct sl_kerr *e)
{
	struct observe ob = { ops, octx, cb, ctx };

	return nl_dump(s, req, o, observe_each, &ob, e);
}

/* ---- batches ---- */

void nl_batch_fail(struct nl_batch *b, size_t i, int err, const char *why)
{
	struct nl_fail *f;

	b->reqs[i].err = err;
	if (b->n_fails == b->cap_fails) {
		size_t c = b->cap_fails ? b->cap_fails * 2 : 64;
		void *p = realloc(b->fails, c * sizeof(*b->fails));

		if (!p)
			return; /* its err says it failed; nl_batch says why */
		b->fails = p;
		b->cap_fails = c;
	}
	f = &b->fails[b->n_fails++];
	f->i = i;
	f->err = err;
	snprintf(f->why, sizeof(f->why), "%s", why ? why : "");
}

static int fail_cmp(const void *a, const void *b)
{
	const struct nl_fail *x = a, *y = b;

	return x->i < y->i ? -1 : x->i > y->i;
}

static const struct nl_kind_ops *kind_of(const struct nl_batch *b, const struct sl_nl_req *r)
{
	return b->kinds[r->kind < b->n_kinds ? r->kind : 0];
}

static bool is_lookup(const struct nl_batch *b, const struct sl_nl_req *r)
{
	const struct nl_kind_ops *ops = kind_of(b, r);

	return r->kind < b->n_kinds && ops->lookup && ops->lookup(r);
}

static ssize_t send_chunk(struct nl_sock *s, size_t len)
{
	ssize_t w;

	do
		w = mnl_socket_sendto(s->nl, s->sbuf, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		w = -errno;
	/* Always: an SA's key bytes go at once, and the next chunk is
	 * built on zeros (attribute padding). */
	explicit_bzero(s->sbuf, len);
	return w;
}

/* The answers of a chunk: requests start.. sent with sequence numbers
 * seq0 + (i - start), of which only last asked for an ack. */
struct acks {
	struct nl_batch *b;
	size_t start, n, last;
	uint32_t seq0;
	bool done;
};

static int acks_each(void *ctx, const struct nlmsghdr *nlh)
{
	struct acks *a = ctx;
	size_t i = nlh->nlmsg_seq - a->seq0;
	const char *msg;
	int err;

	if (nlh->nlmsg_type != NLMSG_ERROR || i >= a->n || nl_ack_parse(nlh, &err, &msg) < 0)
		return 0;
	if (err < 0 && !a->b->reqs[a->start + i].err)
		nl_batch_fail(a->b, a->start + i, err, msg);
	if (i == a->last) {
		a->done = true;
		return 1;
	}
	return 0;
}

static void collect(struct nl_batch *b, size_t start, size_t end, size_t last, uint32_t seq0)
{
	struct acks a = { b, start, end - start, last - start, seq0, false };
	bool lost = false;

	nl_recv(b->s, NL_RECV_NONBLOCK, acks_each, &a, &lost);
	if (a.done && !lost)
		return;
	/* Without the last ack, nothing says which of the others failed. */
	for (size_t i = start; i < end; i++)
		if (b->sent[i - start] && !b->reqs[i].err)
			nl_batch_fail(b, i, -EIO,
				      lost ? "the kernel's replies overflowed the socket; observe again"
					   : "no reply from the kernel; observe again");
}

enum chunk_step {
	STEP_WRITE,  /* requests that need no lookup, as many as fit */
	STEP_LOOKUP, /* the lookups of requests that need one, as many as fit */
	STEP_SECOND, /* those requests, all of start..n, with what the lookups found */
};

/* Requests from start, in one sendmsg; returns the end of the chunk. */
static size_t write_chunk(struct nl_batch *b, size_t start, size_t n, enum chunk_step step)
{
	struct nl_sock *s = b->s;
	size_t i, len = 0, last = SIZE_MAX, last_off = 0, sent = 0;
	uint32_t seq0 = s->seq;
	ssize_t w;

	for (i = start; i < n; i++) {
		struct sl_nl_req *r = &b->reqs[i];
		const struct nl_kind_ops *ops = kind_of(b, r);
		struct nlmsghdr *nlh;
		char why[160];

		if (step != STEP_SECOND &&
		    (i - start >= NL_CHUNK_REQS || len >= NL_CHUNK || is_lookup(b, r) != (step == STEP_LOOKUP)))
			break;
		b->sent[i - start] = 0;
		if (r->err)
			continue;
		nlh = mnl_nlmsg_put_header(s->sbuf + len);
		nlh->nlmsg_seq = seq0 + (uint32_t)(i - start);
		if (step == STEP_LOOKUP) {
			nlh->nlmsg_flags = NLM_F_REQUEST;
			ops->encode_lookup(r, nlh);
		} else {
			int err;

			why[0] = '\0';
			err = ops->encode(b->octx, r, step == STEP_SECOND ? b->cookie[i - start] : 0, nlh, why,
					  sizeof(why));
			if (err < 0) {
				explicit_bzero(s->sbuf + len, nlh->nlmsg_len);
				nl_batch_fail(b, i, err, why);
				continue;
			}
		}
		last = i;
		last_off = len;
		len += nlh->nlmsg_len;
		b->sent[i - start] = 1;
		sent++;
	}
	s->seq = seq0 + (uint32_t)(i - start);
	if (last == SIZE_MAX)
		return i;
	if (step != STEP_LOOKUP)
		((struct nlmsghdr *)(s->sbuf + last_off))->nlmsg_flags |= NLM_F_ACK;
	w = send_chunk(s, len);
	if (w < 0) {
		for (size_t j = start; j < i; j++)
			if (b->sent[j - start])
				nl_batch_fail(b, j, (int)w, "sending to the kernel");
		return i;
	}
	if (step == STEP_LOOKUP)
		return i;
	count_writes(sent);
	collect(b, start, i, last, seq0);
	return i;
}

/* The replies to a chunk of lookups: every one is answered, with the
 * object or an error. */
struct lookups {
	struct nl_batch *b;
	size_t start, end, sent, answered;
	uint32_t seq0;
};

static int lookups_each(void *ctx, const struct nlmsghdr *nlh)
{
	struct lookups *l = ctx;
	struct nl_batch *b = l->b;
	uint32_t off = nlh->nlmsg_seq - l->seq0;
	size_t i = l->start + off;

	if (off >= l->end - l->start || b->reqs[i].err || b->cookie[off])
		return 0;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const char *ext;
		int err;

		if (nl_ack_parse(nlh, &err, &ext) == 0 && err < 0) {
			nl_batch_fail(b, i, err, NULL);
			l->answered++;
		}
	} else {
		const struct nl_kind_ops *ops = kind_of(b, &b->reqs[i]);

		if (!ops->lookup_reply(nlh, &b->cookie[off]))
			return 0;
		if (!b->cookie[off])
			nl_batch_fail(b, i, -EPERM, ops->lookup_foreign);
		l->answered++;
	}
	return l->answered == l->sent;
}

/* Requests from start that need a lookup: the lookups, then the
 * requests with what they found. Returns the end of the chunk. */
static size_t lookup_chunk(struct nl_batch *b, size_t start, size_t n)
{
	struct lookups l = { b, start, start, 0, 0, b->s->seq };
	bool lost = false;
	size_t end;

	memset(b->cookie, 0, sizeof(b->cookie));
	end = write_chunk(b, start, n, STEP_LOOKUP);
	l.end = end;
	for (size_t i = start; i < end; i++)
		l.sent += b->sent[i - start] && !b->reqs[i].err;
	if (l.sent && nl_recv(b->s, NL_RECV_NONBLOCK, lookups_each, &l, &lost) <= 0) {
		for (size_t i = start; i < end; i++)
			if (!b->reqs[i].err && !b->cookie[i - start])
				nl_batch_fail(b, i, -EIO,
					      lost ? "the kernel's replies overflowed the socket; observe again" : NULL);
	}
	kind_of(b, &b->reqs[start])->between(b->octx, b, start, end);
	write_chunk(b, start, end, STEP_SECOND);
	return end;
}

int nl_batch(struct nl_sock *s, const struct nl_kind_ops *const *kinds, size_t n_kinds, void *octx,
	     struct sl_nl_req *reqs, size_t n,
	     void (*on_error)(void *ctx, const struct sl_nl_req *r, const struct sl_kerr *e), void *ctx,
	     struct sl_kerr *e)
{
	_cleanup_free_ struct nl_batch *b = calloc(1, sizeof(*b));
	struct sl_kerr first = { "" };
	int first_err = 0;
	size_t i, failed = 0;

	if (!n)
		return 0;
	if (!b) {
		kerr(e, "%s: out of memory", s->who);
		return -ENOMEM;
	}
	b->s = s;
	b->kinds = kinds;
	b->n_kinds = n_kinds;
	b->octx = octx;
	b->reqs = reqs;
	b->n = n;
	for (i = 0; i < n; i++) {
		const char *why;
		int err = -EINVAL;

		reqs[i].err = 0;
		why = reqs[i].kind < n_kinds ? kinds[reqs[i].kind]->refusal(octx, &reqs[i], &err) : "unknown request";
		if (why)
			nl_batch_fail(b, i, err, why);
	}
	for (size_t k = 0; k < n_kinds; k++)
		if (kinds[k]->prepare)
			kinds[k]->prepare(octx, b);

	/* Chunks: runs of requests that need a lookup or that do not. */
	for (i = 0; i < n;)
		i = is_lookup(b, &reqs[i]) ? lookup_chunk(b, i, n) : write_chunk(b, i, n, STEP_WRITE);
	if (b->n_fails) {
		qsort(b->fails, b->n_fails, sizeof(*b->fails), fail_cmp);
		for (size_t k = 0; k < n_kinds; k++)
			if (kinds[k]->explain)
				kinds[k]->explain(octx, b);
	}
	for (size_t j = 0; j < b->n_fails; j++) {
		struct nl_fail *f = &b->fails[j];
		struct sl_nl_req *r = &reqs[f->i];
		struct sl_kerr one = { "" };
		char name[256];

		kind_of(b, r)->name(octx, r, name, sizeof(name));
		if (f->why[0])
			snprintf(one.msg, sizeof(one.msg), "%s: %s (%s)", name, f->why, strerror(-f->err));
		else
			snprintf(one.msg, sizeof(one.msg), "%s: %s", name, strerror(-f->err));
		if (j == 0) {
			first = one;
			first_err = f->err;
		}
		if (on_error)
			on_error(ctx, r, &one);
	}
	free(b->fails);
	for (size_t j = 0; j < n; j++) {
		if (!reqs[j].err)
			continue;
		/* Out of memory, a failure may have its err and no message. */
		if (!failed++ && !first_err) {
			first_err = reqs[j].err;
			snprintf(first.msg, sizeof(first.msg), "%s: out of memory recording failures (%s)", s->who,
				 strerror(-first_err));
		}
	}
	if (!failed)
		return 0;
	if (e) {
		*e = first;
		if (failed > 1) {
			size_t l = strlen(e->msg);

			snprintf(e->msg + l, sizeof(e->msg) - l, " (and %zu more failed)", failed - 1);
		}
	}
	return first_err;
}

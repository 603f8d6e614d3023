/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netlink engine of the libmnl backends (xfrm.c, route.c), in the
 * spirit of iproute2's libnetlink (rtnl_dump_filter, rtnl_talk): one
 * receive loop, one dump, one batch engine. A backend describes each of
 * its kinds of object once, in a struct nl_kind_ops (encode, decode,
 * name, ownership), and keeps only that. Inside src/datapath/ only.
 */
#pragma once

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>

#include "kerr.h"
#include "nlreq.h"

/*
 * Whether a netlink message of len bytes starts at nlh: mnl_nlmsg_ok, less
 * its flaw. libmnl (1.0.4) compares nlmsg_len with len as an int, so a
 * length of 2 GiB or more passes and mnl_nlmsg_next then steps far outside
 * the buffer. Every loop over received messages uses this one.
 */
static inline bool nl_msg_ok(const struct nlmsghdr *nlh, int len)
{
	return mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (unsigned)len;
}

/* A chunk of a batch: what one sendmsg carries (below the default SO_SNDBUF
 * of 208 KiB). 16, 64 and 160 KiB measured the same for 10k xfrm
 * policies: the kernel's work is what counts. */
#define NL_CHUNK (64 * 1024)
/* At most this many requests to a chunk. */
#define NL_CHUNK_REQS 1024
/* Replies: the kernel fills at most 32 KiB per message of a dump. */
#define NL_RBUF (64 * 1024)
/* Room for the replies of a whole chunk: its errors, or the xfrm policies
 * that the first step of a removal reads (~4.5 KiB each in the kernel). */
#define NL_RCVBUF (4 * 1024 * 1024)
/* The largest key and value of a kind. */
#define NL_KEY_MAX 128
#define NL_VAL_MAX 256

/* A socket of one backend, with its buffers and sequence numbers. */
struct nl_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	size_t req_max; /* the largest single request of the backend */
	uint8_t *sbuf;	/* NL_CHUNK + req_max */
	uint8_t *rbuf;	/* NL_RBUF */
	const char *who; /* "xfrm", "routes": errors start with it */
};

/*
 * Open and bind a socket of bus (NETLINK_XFRM, NETLINK_ROUTE) in the
 * caller's network namespace, with NETLINK_EXT_ACK (the kernel's message
 * comes with an error) and NETLINK_CAP_ACK (without the request), and a
 * receive buffer of NL_RCVBUF bytes (forced when privileged, else as large
 * as the system allows): room for every error of a batch that fails whole.
 * who and bus_name name it in errors ("xfrm", "NETLINK_XFRM").
 * Returns 0, or -errno with e set (then nl_sock_close it).
 */
int nl_sock_open(struct nl_sock *s, int bus, const char *who, const char *bus_name, size_t req_max,
		 struct sl_kerr *e);
/* Wipes the buffers and frees them; accepts a socket never opened. */
void nl_sock_close(struct nl_sock *s);

/* The error of an NLMSG_ERROR or NLMSG_DONE message and the kernel's
 * message (NLMSGERR_ATTR_MSG), NULL when none. Returns 0, or -EBADMSG. */
int nl_ack_parse(const struct nlmsghdr *nlh, int *ret_err, const char **ret_msg);

/* ---- the receive loop ---- */

enum {
	NL_RECV_NONBLOCK = 1 << 0, /* the answers are already queued (a batch's): stop when none is left */
	NL_RECV_WIPE = 1 << 1,	   /* the replies hold key material: wipe each read */
};

/*
 * The one receive loop: read into s->rbuf and give each well-formed
 * message to each(ctx, nlh), which returns 0 to read on and > 0 when the
 * answer is complete. Returns 1 then; 0 when a nonblocking read found no
 * more (the answer is incomplete; *ret_lost, when given, tells whether
 * replies were dropped because the receive buffer filled); -errno when a
 * blocking read failed.
 */
int nl_recv(struct nl_sock *s, unsigned flags, int (*each)(void *ctx, const struct nlmsghdr *nlh), void *ctx,
	    bool *ret_lost);

/*
 * Send req (one request with NLM_F_ACK set here; its sequence number is
 * set here too) and wait for its answer. Returns 0 with *ret_err the
 * kernel's error (0 or -errno) and *ret_msg its message or NULL (valid
 * until the next read of s), or -errno when sending or reading failed.
 */
int nl_talk(struct nl_sock *s, struct nlmsghdr *req, int *ret_err, const char **ret_msg);

/* ---- dumps ---- */

struct nl_dump_opts {
	const char *what; /* "xfrm: dumping the SAs": errors start with it */
	int empty_err;	  /* a kernel error that means an empty dump (0: none) */
	bool wipe;	  /* the replies hold key material */
	bool intr;	  /* out: the kernel said the dump was interrupted (NLM_F_DUMP_INTR) */
};

/*
 * Send the dump request req (flags and sequence number are set here) and
 * give each message of the reply to each(); a negative return stops the
 * calls, and the dump is read to its end all the same (the kernel runs one
 * dump per socket at a time). Returns 0, or the first negative return of
 * each(), or -errno with e set.
 */
int nl_dump(struct nl_sock *s, struct nlmsghdr *req, struct nl_dump_opts *o,
	    int (*each)(void *ctx, const struct nlmsghdr *nlh), void *ctx, struct sl_kerr *e);

struct nl_batch;

/*
 * One kind of object of a backend: how its requests are checked, encoded
 * and named, and how its dump replies are decoded. Ownership is in two of
 * them: decode returns only the objects that are sluice's, refusal refuses
 * to write or remove any other.
 */
struct nl_kind_ops {
	size_t key_size, val_size; /* at most NL_KEY_MAX, NL_VAL_MAX */
	bool secret;		   /* values hold key material: wiped after use */
	/* A message of a dump into key and val (zeroed here): 1 when it is an
	 * object of sluice's, 0 when not. */
	int (*decode)(void *octx, const struct nlmsghdr *nlh, void *key, void *val);
	/* Why r is refused before anything is sent, or NULL (*err then its
	 * -errno): malformed, or not sluice's. */
	const char *(*refusal)(void *octx, const struct sl_nl_req *r, int *err);
	/* r into nlh, whose header is put (sequence number set): type, flags,
	 * body. cookie is what the lookup step found (0: none). Returns 0, or
	 * -errno with why (nothing is sent then). */
	int (*encode)(void *octx, const struct sl_nl_req *r, uint32_t cookie, struct nlmsghdr *nlh, char *why,
		      size_t why_len);
	/* "route 10.2.0.0/24 via 192.168.50.2 dev eth0", for its errors. */
	void (*name)(void *octx, const struct sl_nl_req *r, char *buf, size_t len);
	/* Optional: checks of the whole batch after the refusals, failing
	 * requests with nl_batch_fail; and after the last chunk, explanations
	 * of the failures (b->fails, in request order; why and err may be
	 * rewritten). */
	void (*prepare)(void *octx, struct nl_batch *b);
	void (*explain)(void *octx, struct nl_batch *b);
	/*
	 * Optional, for requests that need a lookup first (xfrm policy
	 * removals): whether r does; its lookup request into nlh; the reply
	 * of a lookup: 0 when nlh is not one, 1 with *cookie (0: what holds
	 * the key is not sluice's, refused with lookup_foreign); and, between
	 * the steps, a pass over the chunk's cookies (b->cookie[i - start]).
	 */
	bool (*lookup)(const struct sl_nl_req *r);
	void (*encode_lookup)(const struct sl_nl_req *r, struct nlmsghdr *nlh);
	int (*lookup_reply)(const struct nlmsghdr *nlh, uint32_t *cookie);
	void (*between)(void *octx, struct nl_batch *b, size_t start, size_t end);
	const char *lookup_foreign;
};

/*
 * A dump of objects of one kind: each message decoded with ops, and cb
 * called for each object of sluice's with a key and a value valid during
 * the call only (a secret kind's value is wiped after it). cb returns 0 to
 * go on, < 0 to stop: that value is returned.
 */
int nl_observe(struct nl_sock *s, struct nlmsghdr *req, struct nl_dump_opts *o, const struct nl_kind_ops *ops,
	       void *octx, int (*cb)(void *ctx, const void *key, const void *val), void *ctx, struct sl_kerr *e);

/* ---- batches ---- */

/* A failure of a batch, as it is reported: request i, its error, and why
 * (the kernel's message, or the backend's; may be empty). */
struct nl_fail {
	size_t i;
	int err;
	char why[240];
};

struct nl_batch {
	struct nl_sock *s;
	const struct nl_kind_ops *const *kinds;
	size_t n_kinds;
	void *octx;
	struct sl_nl_req *reqs;
	size_t n;
	struct nl_fail *fails;
	size_t n_fails, cap_fails;
	uint8_t sent[NL_CHUNK_REQS];	/* of the chunk being answered */
	uint32_t cookie[NL_CHUNK_REQS]; /* of the chunk's lookups */
};

/* Request i failed: its err is set, and why recorded for its message. */
void nl_batch_fail(struct nl_batch *b, size_t i, int err, const char *why);

/*
 * The one batch engine. Run the requests in order, as many to a sendmsg as
 * fit in a chunk (NL_CHUNK, NL_CHUNK_REQS), only the last of each chunk
 * asking for an ack, so that a success costs no reply: the kernel handles
 * the messages of a sendmsg one after the other and answers a request only
 * when it fails or asks for an ack. Every request is tried, each as one
 * message; each one's err says how it went. A request that its kind
 * refuses (kinds[r->kind]) gets its error without being sent. Requests
 * that need a lookup go in runs of their own, in two steps.
 *
 * Returns 0 when all succeeded; otherwise the -errno of the first failure,
 * with e naming that object (and how many more failed). on_error, when
 * given, is called for every failure, in request order, with its own
 * message, after the last request was answered.
 */
int nl_batch(struct nl_sock *s, const struct nl_kind_ops *const *kinds, size_t n_kinds, void *octx,
	     struct sl_nl_req *reqs, size_t n,
	     void (*on_error)(void *ctx, const struct sl_nl_req *r, const struct sl_kerr *e), void *ctx,
	     struct sl_kerr *e);

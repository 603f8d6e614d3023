/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xfrm backend: the IPsec states (SAs) and policies sluice owns in this
 * network namespace (kinds/xfrm.h: their keys, values, reqids and names),
 * read with a dump and written with batched requests, all over
 * NETLINK_XFRM through the netlink engine (nl.h). This header has no
 * libmnl type in it.
 *
 * Ownership: every state sluice makes has a reqid of sluice's range
 * (kinds/xfrm.h), every policy exactly one template with such a reqid.
 * Observation returns only those; add, update and delete refuse anything
 * else (-EPERM), so sluice never writes or removes another's entries.
 * Key material is in the state value: it never appears in a message of
 * this module, and every buffer of this module that held it is wiped
 * before it is freed or reused.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/kerr.h"
#include "datapath/nlreq.h"
#include "kinds/xfrm.h"

/* ---- the backend ---- */

struct sl_xfrm;

/* A NETLINK_XFRM socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK set, in
 * the caller's network namespace. */
int xfrm_open(struct sl_xfrm **ret, struct sl_kerr *e);
/* Wipes and frees; accepts NULL. */
void xfrm_close(struct sl_xfrm *x);

/* This node's underlay address, so that names say "in" (an SA to it) or
 * "out" (an SA from it); without it, names carry no direction. */
void xfrm_set_local(struct sl_xfrm *x, uint8_t family, const uint8_t addr[16]);

/*
 * Dump the SAs (ESP only) or the policies and call cb for each one that is
 * sluice's, in the kernel's order, with pointers to a key and a value that
 * are valid during the call only (copy them: objset_add does). A state
 * value is wiped after its call. cb returns 0 to go on, < 0 to stop: that
 * value is returned. Makes no kernel write.
 */
int xfrm_state_observe(struct sl_xfrm *x,
		       int (*cb)(void *ctx, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v),
		       void *ctx, struct sl_kerr *e);
int xfrm_policy_observe(struct sl_xfrm *x,
			int (*cb)(void *ctx, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v),
			void *ctx, struct sl_kerr *e);

/*
 * One object at a time. add fails with -EEXIST when the kernel has that key
 * (sluice's or not). update replaces (UPDSA, UPDPOLICY) and is for objects
 * observed as sluice's: the kernel replaces whatever holds the key. The
 * kernel's UPDSA changes only the output mark (and lifetimes) of an SA:
 * see xfrm_state_update_in_place. del takes the value as observed, to
 * check that the object is sluice's. All return 0 or -errno with e naming
 * the object and carrying the kernel's message.
 */
int xfrm_state_add(struct sl_xfrm *x, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v,
		   struct sl_kerr *e);
int xfrm_state_update(struct sl_xfrm *x, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v,
		      struct sl_kerr *e);
int xfrm_state_del(struct sl_xfrm *x, const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v,
		   struct sl_kerr *e);
int xfrm_policy_add(struct sl_xfrm *x, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v,
		    struct sl_kerr *e);
int xfrm_policy_update(struct sl_xfrm *x, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v,
		       struct sl_kerr *e);
int xfrm_policy_del(struct sl_xfrm *x, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v,
		    struct sl_kerr *e);

/* Whether UPDSA can turn the SA have into want: only the output mark may
 * differ. Otherwise the SA must be removed and added again (a batch of
 * SL_XFRM_OP_DEL then SL_XFRM_OP_ADD does it in one message). */
bool xfrm_state_update_in_place(const struct sl_xfrm_state_value *have, const struct sl_xfrm_state_value *want);

/* ---- batches ---- */

enum sl_xfrm_op {
	SL_XFRM_OP_ADD = SL_NL_OP_ADD,
	SL_XFRM_OP_UPDATE = SL_NL_OP_CHANGE,
	SL_XFRM_OP_DEL = SL_NL_OP_DEL,
	SL_XFRM_OP__MAX
};
enum sl_xfrm_kind { SL_XFRM_STATE, SL_XFRM_POLICY, SL_XFRM_KIND__MAX };

/* One request of a batch: struct sl_nl_req (nlreq.h), the one request
 * type of the netlink engine, under this name. kind is enum sl_xfrm_kind,
 * key a struct sl_xfrm_state_key or sl_xfrm_policy_key, value the value
 * to write (add, update) or as observed (del). They point at the caller's
 * bytes (an object set's, say); they are read, never kept. err is set by
 * xfrm_batch: 0 or -errno. */
#define sl_xfrm_req sl_nl_req

/*
 * Run the requests in order with the netlink engine's batch (nl_batch):
 * as many to a sendmsg as fit in a chunk (about 64 KiB), each chunk's
 * failures acknowledged one by one and its last request always, so a
 * success costs no reply. Policy removals take a lookup first (by index
 * the kernel removes them without walking its tree). Every request is
 * tried; each one's err says how it went. A request this module refuses
 * (not sluice's, malformed) gets its error without being sent.
 *
 * Returns 0 when all succeeded; otherwise the -errno of the first failure,
 * with e naming that object (and how many more failed). on_error, when
 * given, is called for every failure, in request order, with its own
 * message, after the last request was answered.
 */
int xfrm_batch(struct sl_xfrm *x, struct sl_xfrm_req *reqs, size_t n,
	       void (*on_error)(void *ctx, const struct sl_xfrm_req *r, const struct sl_kerr *e), void *ctx,
	       struct sl_kerr *e);

/* ---- decoding, as observation does it ---- */

/*
 * One message of an SA (policy) dump into k and v, with the code that
 * observation runs: 1 when it is an SA (a policy) of sluice's, 0 when it
 * is not (another type, too short, not sluice's). msg is a netlink message
 * (struct nlmsghdr) whose nlmsg_len fits in what the caller holds, as
 * nl_msg_ok (nl.h) checks. Exposed for tests/fuzz/fuzz_netlink.c; the caller
 * wipes an SA's value.
 */
int xfrm_state_decode(const void *msg, struct sl_xfrm_state_key *k, struct sl_xfrm_state_value *v);
int xfrm_policy_decode(const void *msg, struct sl_xfrm_policy_key *k, struct sl_xfrm_policy_value *v);

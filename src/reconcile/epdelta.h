/* SPDX-License-Identifier: Apache-2.0 */
/* Remote endpoints compiled alone (watch): see below; the ipcache feature
 * (features/ipcache.c) implements it. */
#pragma once

#include <stddef.h>

#include "model.h"
#include "objset.h"

/*
 * The incremental compile of remote endpoints (watch): a change of a file
 * that holds endpoints of other nodes only, before and after, is compiled
 * alone against the set watch last verified: their ipcache entries. The
 * index says what the set and its state hold besides (the endpoints'
 * names, how many endpoints each identity has, the ipcache keys nodes and
 * policies give); built after each apply of the whole state, kept up to
 * date by each sl_ep_delta.
 */
struct sl_ep_index;

int sl_ep_index_build(const struct sl_objset *verified, const struct sl_state *st, struct sl_ep_index **ret);
void sl_ep_index_free(struct sl_ep_index *ix);

/*
 * As sl_lb_delta (lb.h): the objects that change when the endpoints old
 * (n_old, compiled into verified) are replaced by nw (validated) in st (the
 * state they are part of, for their nodes): verified's to have, what they
 * become to want, both sorted. Returns 0; -EAGAIN when the change needs
 * the whole state compiled (a local endpoint; a name another endpoint has;
 * an address another source puts in the ipcache too (a node, a pod CIDR, a
 * policy's CIDR, another endpoint); an identity that gains its first
 * endpoint or loses its last; the ipcache too small); -ENOMEM. On any
 * error the index is no longer right: free it.
 */
int sl_ep_delta(struct sl_ep_index *ix, const struct sl_state *st, const struct sl_objset *verified,
		const struct sl_endpoint *old, size_t n_old, const struct sl_endpoint *nw, size_t n_new,
		struct sl_objset *want, struct sl_objset *have);

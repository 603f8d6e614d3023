/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What encryption compiles to (state-format.md, "Encryption"): the xfrm
 * states and policies, and the routes to the remote nodes' pod CIDRs, of
 * this node. Pure: key bytes come in decoded (keys.h), nothing here reads a
 * file or calls the kernel.
 *
 * For this node L (ip Lip) and every other node R (ip Rip) of `nodes`:
 *   - an inbound SA per key of encryption.keys: Lip, spi, any source,
 *     reqid SL_XFRM_REQID_IN; no replay window (SL_XFRM_REPLAY_WINDOW);
 *   - an outbound SA to R with its key K, the highest SPI both in
 *     encryption.keys and in R's encryptKeys: Lip -> Rip, spi K, reqid
 *     SL_XFRM_REQID_BASE + K;
 *   - per pod CIDR C of R: an out policy any -> C for the packets the
 *     programs marked with key K (sl_mark_encrypt(K) under
 *     SL_MARK_ENCRYPT_MASK), template Lip -> Rip reqid BASE + K spi K; in
 *     and fwd policies C -> each pod CIDR of L of C's family, template any
 *     -> Lip reqid SL_XFRM_REQID_IN (any of this node's keys); the route C
 *     via Rip dev datapath.underlayDevice (the device alone when C and Rip
 *     differ in family: Linux routes no IPv6 via an IPv4 gateway, and the
 *     out policy sends marked packets to Rip whatever the route says).
 * Nothing when encryption is off, this node is not known, or no keyring
 * is given (keys NULL: the rest of the state alone, for tests and tools that
 * have no key files; sluice's commands always give one).
 */
#pragma once

#include <stdint.h>

#include "keys.h"
#include "model.h"
#include "objset.h"

/* The priority of sluice's xfrm policies (lower wins among overlapping
 * ones): after the kernel's default 0, so that a policy an operator adds
 * for the same traffic wins. */
#define SL_XFRM_POLICY_PRIORITY 100
/* The anti-replay window of inbound SAs: none. Every peer sends to this
 * node's one inbound SA of a key, each with its own sequence numbers (and
 * a repaired or re-added outbound SA starts again at 1), so a window would
 * drop one peer's packets as replays of another's. Anti-replay needs an SA
 * per peer and key, which the kernel can tell apart only by mark; see
 * docs/encryption.md. */
#define SL_XFRM_REPLAY_WINDOW 0

/* The key this node encrypts with toward node n: the highest SPI in both
 * encryption.keys and n's encryptKeys; 0 when none (or encryption is off). */
uint8_t sl_node_key(const struct sl_state *st, const struct sl_node *n);

/* Add the states, policies and routes to out. Returns 0, -ENOKEY when a key
 * of encryption.keys is not in keys, or -ENOMEM. */
int sl_compile_encryption(const struct sl_state *st, const struct sl_keyring *keys, struct sl_objset *out);

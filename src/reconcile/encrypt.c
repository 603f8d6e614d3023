/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption: the SAs, xfrm policies and routes of this node (encrypt.h). */
#include "encrypt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/xfrm.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "kinds/route.h"
#include "kinds/xfrm.h"
#include "net.h"

uint8_t sl_node_key(const struct sl_state *st, const struct sl_node *n)
{
	uint32_t best = 0;

	if (!st->encryption || !st->encryption->enabled)
		return 0;
	for (uint32_t i = 0; i < n->n_encrypt_keys; i++)
		for (uint32_t j = 0; j < st->encryption->n_keys; j++)
			if (st->encryption->keys[j].spi == n->encrypt_keys[i] && n->encrypt_keys[i] > best)
				best = n->encrypt_keys[i];
	return best <= SL_XFRM_SPI_MAX ? (uint8_t)best : 0;
}

static uint8_t af_of(uint8_t family)
{
	return family == 6 ? AF_INET6 : AF_INET;
}

static const struct sl_key *key_by_spi(const struct sl_encryption *enc, uint32_t spi)
{
	for (uint32_t i = 0; i < enc->n_keys; i++)
		if (enc->keys[i].spi == spi)
			return &enc->keys[i];
	return NULL;
}

/* The algorithms and key bytes of an SA. */
static void sa_algorithms(const struct sl_key *k, const struct sl_key_material *m, struct sl_xfrm_state_value *v)
{
	if (m->auth_len) {
		snprintf(v->enc_name, sizeof(v->enc_name), "cbc(aes)");
		snprintf(v->auth_name, sizeof(v->auth_name), "hmac(sha256)");
		v->icv_bits = 128; /* RFC 4868: hmac(sha256) truncated to 128 bits */
		memcpy(v->auth_key, m->auth, m->auth_len);
		v->auth_key_len = m->auth_len;
	} else {
		snprintf(v->enc_name, sizeof(v->enc_name), "rfc4106(gcm(aes))");
		v->icv_bits = SL_HAS(k, SL_KEY_ICV_BITS) && k->icv_bits ? k->icv_bits : 128;
	}
	memcpy(v->enc_key, m->enc, m->enc_len);
	v->enc_key_len = m->enc_len;
}

static int add_sa(struct sl_objset *out, const struct sl_key *k, const struct sl_key_material *m,
		  const struct sl_prefix *daddr, const struct sl_prefix *saddr, uint32_t reqid, uint32_t replay)
{
	struct sl_xfrm_state_key sk;
	struct sl_xfrm_state_value sv;
	int r;

	memset(&sk, 0, sizeof(sk));
	memset(&sv, 0, sizeof(sv));
	memcpy(sk.daddr, daddr->addr, 16);
	sk.spi = k->spi;
	sk.proto = IPPROTO_ESP;
	sk.family = af_of(daddr->family);
	if (saddr)
		memcpy(sv.saddr, saddr->addr, 16);
	sv.reqid = reqid;
	sv.replay_window = replay;
	sv.mode = XFRM_MODE_TUNNEL;
	sa_algorithms(k, m, &sv);
	r = objset_add(out, SL_OBJ_XFRM_STATE, &sk, sizeof(sk), &sv, sizeof(sv));
	explicit_bzero(&sv, sizeof(sv));
	return r;
}

static int add_policy(struct sl_objset *out, uint8_t dir, const struct sl_prefix *src, const struct sl_prefix *dst,
		      uint32_t mark, const struct sl_prefix *tsrc, const struct sl_prefix *tdst, uint32_t reqid,
		      uint32_t spi)
{
	struct sl_xfrm_policy_key pk;
	struct sl_xfrm_policy_value pv;

	memset(&pk, 0, sizeof(pk));
	memset(&pv, 0, sizeof(pv));
	pk.family = af_of(dst->family);
	if (src) {
		memcpy(pk.src, src->addr, 16);
		pk.src_len = src->len;
	}
	memcpy(pk.dst, dst->addr, 16);
	pk.dst_len = dst->len;
	pk.dir = dir;
	if (mark) {
		pk.mark = mark;
		pk.mark_mask = SL_MARK_ENCRYPT_MASK;
	}
	if (tsrc)
		memcpy(pv.tmpl_src, tsrc->addr, 16);
	memcpy(pv.tmpl_dst, tdst->addr, 16);
	pv.tmpl_family = af_of(tdst->family);
	pv.reqid = reqid;
	pv.spi = spi;
	pv.priority = SL_XFRM_POLICY_PRIORITY;
	pv.tmpl_proto = IPPROTO_ESP;
	pv.tmpl_mode = XFRM_MODE_TUNNEL;
	return objset_add(out, SL_OBJ_XFRM_POLICY, &pk, sizeof(pk), &pv, sizeof(pv));
}

/* The route to a remote pod CIDR: via the node's ip when of one family;
 * else on the device alone (Linux routes no IPv6 via an IPv4 gateway): the
 * xfrm policy sends what the programs marked to the node's ip whatever
 * the route's gateway, and what they did not mark goes nowhere. */
static int add_route(struct sl_objset *out, const struct sl_prefix *dst, const struct sl_prefix *via,
		     const char *dev)
{
	struct sl_route_key rk;
	struct sl_route_value rv;
	bool same = dst->family == via->family;

	sl_route_key_init(&rk, af_of(dst->family), dst->addr, dst->len);
	if (sl_route_value_init(&rv, same ? af_of(via->family) : 0, same ? via->addr : NULL, dev) < 0)
		return -EINVAL;
	return objset_add(out, SL_OBJ_ROUTE, &rk, sizeof(rk), &rv, sizeof(rv));
}

/* Pod CIDR i of a node, parsed (validated before). */
static bool pod_cidr(const struct sl_node *n, uint32_t i, struct sl_prefix *ret)
{
	char why[8];

	return sl_prefix_parse(n->pod_cidrs[i], false, ret, why, sizeof(why));
}

int sl_compile_encryption(const struct sl_state *st, const struct sl_keyring *keys, struct sl_objset *out)
{
	const struct sl_encryption *enc = st->encryption;
	const struct sl_node *me = NULL;
	struct sl_prefix lip, rip, any, lc, rc;
	int r = 0;

	if (!enc || !enc->enabled || !st->node || !keys)
		return 0;
	for (uint32_t i = 0; i < st->n_nodes && !me; i++)
		if (streq(st->nodes[i].name, st->node))
			me = &st->nodes[i];
	if (!me || !sl_addr_parse(me->ip, &lip))
		return 0;
	/* Inbound: one SA per key of this node, whoever sends with it. */
	for (uint32_t i = 0; r >= 0 && i < enc->n_keys; i++) {
		const struct sl_key_material *m = sl_keyring_find(keys, enc->keys[i].spi);

		if (!m)
			return -ENOKEY;
		r = add_sa(out, &enc->keys[i], m, &lip, NULL, SL_XFRM_REQID_IN, SL_XFRM_REPLAY_WINDOW);
	}
	for (uint32_t i = 0; r >= 0 && i < st->n_nodes; i++) {
		const struct sl_node *n = &st->nodes[i];
		uint8_t spi = sl_node_key(st, n);
		const struct sl_key *k = spi ? key_by_spi(enc, spi) : NULL;
		const struct sl_key_material *m = spi ? sl_keyring_find(keys, spi) : NULL;

		if (n == me || !k || !sl_addr_parse(n->ip, &rip) || rip.family != lip.family)
			continue;
		if (!m)
			return -ENOKEY;
		r = add_sa(out, k, m, &rip, &lip, sl_xfrm_reqid(spi), 0);
		for (uint32_t c = 0; r >= 0 && c < n->n_pod_cidrs; c++) {
			if (!pod_cidr(n, c, &rc))
				continue;
			memset(&any, 0, sizeof(any));
			any.family = rc.family;
			r = add_policy(out, SL_XFRM_DIR_OUT, &any, &rc, sl_mark_encrypt(spi), &lip, &rip,
				       sl_xfrm_reqid(spi), spi);
			for (uint32_t l = 0; r >= 0 && l < me->n_pod_cidrs; l++) {
				if (!pod_cidr(me, l, &lc) || lc.family != rc.family)
					continue;
				r = add_policy(out, SL_XFRM_DIR_IN, &rc, &lc, 0, NULL, &lip, SL_XFRM_REQID_IN, 0);
				if (r >= 0)
					r = add_policy(out, SL_XFRM_DIR_FWD, &rc, &lc, 0, NULL, &lip, SL_XFRM_REQID_IN,
						       0);
			}
			if (r >= 0 && st->datapath->underlay_device)
				r = add_route(out, &rc, &rip, st->datapath->underlay_device);
		}
	}
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The encryption section: its validation (algorithms, keys and their
 * material, the keys of the nodes) and its compile, the SAs, xfrm policies
 * and routes of this node (encrypt.h).
 */
#include "features.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <linux/xfrm.h>

#include <sluice/abi.h>

#include "common.h"
#include "common/util.h"
#include "kinds/route.h"
#include "kinds/xfrm.h"
#include "reconcile/encrypt.h"
#include "reconcile/keys.h"
#include "reconcile/net.h"

/* ---- validate ---- */

unsigned sl_key_lengths(int aead, int auth, int cipher, const char *which, unsigned *lens, unsigned max)
{
	static const unsigned gcm[] = { 20, 28, 36 }, sha256[] = { 32 }, cbc[] = { 16, 24, 32 };
	const unsigned *src = NULL;
	unsigned n = 0;

	if (streq(which, "key") && aead == SL_AEAD_RFC4106_GCM_AES)
		src = gcm, n = ARRAY_SIZE(gcm);
	else if (streq(which, "authKey") && auth == SL_AUTH_HMAC_SHA256)
		src = sha256, n = ARRAY_SIZE(sha256);
	else if (streq(which, "cipherKey") && cipher == SL_CIPHER_CBC_AES)
		src = cbc, n = ARRAY_SIZE(cbc);
	for (unsigned i = 0; i < n && i < max; i++)
		lens[i] = src[i];
	return n < max ? n : max;
}

/*
 * A key file's path as messages show it: whole up to DIAG_QUOTE_PATH_MAX
 * characters, unless the value as written holds 8 hex digits in a row, as
 * every key does and a path rarely: then it may be a key given in the wrong
 * field, and only its first characters are shown.
 */
static const char *key_path_shown(const char *value, const char *path)
{
	size_t run = 0;

	for (const char *c = value; *c; c++) {
		bool hex = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F');

		run = hex ? run + 1 : 0;
		if (run >= 8)
			return diag_q_secret(value);
	}
	return diag_quote(path, DIAG_QUOTE_PATH_MAX, DIAG_Q_LENGTH);
}

/* Write `shown` for every `path` in the message why. */
static void show_path(char *why, size_t len, const char *path, const char *shown)
{
	struct strbuf b = {};
	const char *p = why, *hit;
	size_t pl = strlen(path);

	while (pl && (hit = strstr(p, path))) {
		strbuf_add(&b, p, (size_t)(hit - p));
		strbuf_adds(&b, shown);
		p = hit + pl;
	}
	strbuf_adds(&b, p);
	snprintf(why, len, "%s", strbuf_str(&b));
	strbuf_free(&b);
}

/* Check one key of a key entry: inline or from a file. */
static void validate_key_material(struct val *v, const struct sl_key *k, const char *which, int f_inline,
				  int f_file, const char *inline_val, const char *file_val, const char *algo)
{
	char file_key[32];
	unsigned lens[4], nl = sl_key_lengths(k->aead, k->auth, k->cipher, which, lens, 4);
	long bytes;

	snprintf(file_key, sizeof(file_key), "%sFile", which);
	if (inline_val)
		v_warn(v, k->file, SL_AT(k, f_inline), which,
		  "the key sits in the state file; anyone who can read the file can read the key (prefer %s)",
		  file_key);
	if (inline_val && file_val) {
		v_err(v, k->file, SL_AT(k, f_file), file_key, "give either %s or %s, not both", which, file_key);
		return;
	}
	if (!inline_val && !file_val) {
		v_err(v, k->file, &k->m[0], NULL, "%s needs key material: give %s (a file holding the key in hex)", algo,
		  file_key);
		return;
	}
	if (inline_val) {
		bytes = sl_key_hex_decode(inline_val, strlen(inline_val), NULL, 0);
		if (bytes < 0) {
			v_err(v, k->file, SL_AT(k, f_inline), which, "the key is not %s (<redacted>)",
			  bytes == -1 ? "hexadecimal" : "a whole number of bytes in hex");
			return;
		}
	} else {
		char path[4096], buf[4097], why[4400];
		const char *shown;
		long n;

		sl_key_path(v->ld, k->file, file_val, path, sizeof(path));
		n = sl_key_file_read(path, buf, sizeof(buf), why, sizeof(why));
		shown = key_path_shown(file_val, path);
		if (n < 0) {
			show_path(why, sizeof(why), path, shown);
			v_err(v, k->file, SL_AT(k, f_file), file_key, "%s", why);
			return;
		}
		bytes = sl_key_hex_decode(buf, (size_t)n, NULL, 0);
		explicit_bzero(buf, sizeof(buf));
		if (bytes < 0) {
			v_err(v, k->file, SL_AT(k, f_file), file_key, "%s does not hold %s", shown,
			  bytes == -1 ? "a key in hex (only hex digits, an optional 0x and white space)"
				      : "a whole number of bytes in hex");
			return;
		}
		if (bytes == 0) {
			v_err(v, k->file, SL_AT(k, f_file), file_key, "%s is empty", shown);
			return;
		}
	}
	for (unsigned i = 0; i < nl; i++)
		if ((unsigned long)bytes == lens[i])
			return;
	{
		char accepted[64] = "";

		for (unsigned i = 0; i < nl; i++)
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), "%s%u",
				 i ? (i + 1 == nl ? " or " : ", ") : "", lens[i]);
		v_err(v, k->file, SL_AT(k, inline_val ? f_inline : f_file), inline_val ? which : file_key,
		  "the key is %ld byte%s long; %s takes %s%s", bytes, bytes == 1 ? "" : "s", algo, accepted,
		  streq(algo, "rfc4106(gcm(aes))") ? " (an AES key of 16, 24 or 32 bytes and a 4-byte salt)" : "");
	}
}

/* A number of the encryption section as messages write it: a number of
 * more than 4 digits may be key material (spi: 0x4b1d...), and is not. */
static const char *enc_number(uint32_t n)
{
	static _Thread_local char buf[16];

	if (n >= 10000)
		return "this number";
	snprintf(buf, sizeof(buf), "%" PRIu32, n);
	return buf;
}

void encryption_validate(struct val *v)
{
	struct sl_state *st = v->st;
	const struct sl_encryption *enc = st->encryption;
	struct dups spis = { .what = "SPI", .list = "encryption.keys", .field = "spi" };
	const char *f;
	size_t saved;

	if (enc) {
		f = st->encryption_origin.file;
		saved = v_path_lit(v, "encryption");
		if (enc->enabled && !enc->n_keys)
			v_err(v, f, SL_AT(enc, SL_ENC_ENABLED), "enabled", "encryption is enabled but has no keys");
		/* With the overlay, the tunnel needs the underlay device
		 * (datapath.c says so); encryption adds nothing to it. */
		if (enc->enabled && st->datapath->tunnel != SL_TUNNEL_VXLAN && !st->datapath->underlay_device)
			v_err(v, f, SL_AT(enc, SL_ENC_ENABLED), "enabled",
			  "encryption routes the remote nodes' pod CIDRs through the device toward them: set "
			  "datapath.underlayDevice");
		if (enc->enabled && st->datapath->mode == SL_MODE_IPVLAN)
			v_err(v, f, SL_AT(enc, SL_ENC_ENABLED), "enabled",
			  "encryption in ipvlan mode " NOT_YET ": the ipvlan driver clears the mark that selects the "
			  "key when a packet leaves the endpoint's namespace; use mode: veth");
		if (!enc->enabled && enc->n_keys)
			v_warn(v, f, SL_HAS(enc, SL_ENC_ENABLED) ? SL_AT(enc, SL_ENC_ENABLED) : &enc->m[0],
			  SL_HAS(enc, SL_ENC_ENABLED) ? "enabled" : NULL,
			  "encryption has keys but is not enabled (enabled: true): traffic is not encrypted");
		v_pop(v, saved);
		for (uint32_t i = 0; i < enc->n_keys; i++) {
			const struct sl_key *k = &enc->keys[i];
			bool is_aead = SL_GIVEN(k, SL_KEY_AEAD),
			     is_auth = SL_GIVEN(k, SL_KEY_AUTH) || SL_GIVEN(k, SL_KEY_CIPHER),
			     algo_ok = (!SL_GIVEN(k, SL_KEY_AEAD) || SL_HAS(k, SL_KEY_AEAD)) &&
				       (!SL_GIVEN(k, SL_KEY_AUTH) || SL_HAS(k, SL_KEY_AUTH)) &&
				       (!SL_GIVEN(k, SL_KEY_CIPHER) || SL_HAS(k, SL_KEY_CIPHER));

			saved = v_path_idx(v, "encryption.keys", SL_HAS(k, SL_KEY_SPI) && k->spi < 10000 ? k->spi : i);
			if (SL_HAS(k, SL_KEY_SPI) && (k->spi < 1 || k->spi > SL_SPI_MAX))
				v_err(v, k->file, SL_AT(k, SL_KEY_SPI), "spi", "%s is not an SPI (1..%u)", enc_number(k->spi),
				  SL_SPI_MAX);
			else if (SL_HAS(k, SL_KEY_SPI))
				v_dup_add(v, &spis, v_astrf(v, "%" PRIu32, k->spi), k->file, SL_AT(k, SL_KEY_SPI), v_astrf(v, "%" PRIu32, k->spi), i);
			if (is_aead && is_auth) {
				v_err(v, k->file, SL_AT(k, SL_HAS(k, SL_KEY_AUTH) ? SL_KEY_AUTH : SL_KEY_CIPHER),
				  SL_HAS(k, SL_KEY_AUTH) ? "auth" : "cipher",
				  "a key is either aead, or auth with cipher, not both");
			} else if (is_aead) {
				static const int not_here[] = { SL_KEY_AUTH_KEY, SL_KEY_AUTH_KEY_FILE, SL_KEY_CIPHER_KEY,
								SL_KEY_CIPHER_KEY_FILE };
				static const char *const names[] = { "authKey", "authKeyFile", "cipherKey",
								     "cipherKeyFile" };

				for (unsigned j = 0; j < ARRAY_SIZE(not_here); j++)
					if (SL_HAS(k, not_here[j]))
						v_err(v, k->file, SL_AT(k, not_here[j]), names[j],
						  "%s goes with auth and cipher, not with aead", names[j]);
				if (SL_HAS(k, SL_KEY_ICV_BITS) && k->icv_bits != 64 && k->icv_bits != 96 &&
				    k->icv_bits != 128)
					v_err(v, k->file, SL_AT(k, SL_KEY_ICV_BITS), "icvBits",
					  "%s is not an ICV length of rfc4106(gcm(aes)) (64, 96 or 128)",
					  enc_number(k->icv_bits));
				if (algo_ok)
					validate_key_material(v, k, "key", SL_KEY_KEY, SL_KEY_KEY_FILE, k->key, k->key_file,
						      "rfc4106(gcm(aes))");
			} else if (is_auth) {
				static const int not_here[] = { SL_KEY_KEY, SL_KEY_KEY_FILE, SL_KEY_ICV_BITS };
				static const char *const names[] = { "key", "keyFile", "icvBits" };

				for (unsigned j = 0; j < ARRAY_SIZE(not_here); j++)
					if (SL_HAS(k, not_here[j]))
						v_err(v, k->file, SL_AT(k, not_here[j]), names[j],
						  "%s goes with aead, not with auth and cipher", names[j]);
				if (!SL_GIVEN(k, SL_KEY_AUTH))
					v_err(v, k->file, SL_AT(k, SL_KEY_CIPHER), "cipher",
					  "cipher needs auth (hmac(sha256)) beside it");
				else if (!SL_GIVEN(k, SL_KEY_CIPHER))
					v_err(v, k->file, SL_AT(k, SL_KEY_AUTH), "auth",
					  "auth needs cipher (cbc(aes)) beside it");
				else if (algo_ok) {
					validate_key_material(v, k, "authKey", SL_KEY_AUTH_KEY, SL_KEY_AUTH_KEY_FILE,
							      k->auth_key, k->auth_key_file, "hmac(sha256)");
					validate_key_material(v, k, "cipherKey", SL_KEY_CIPHER_KEY,
							      SL_KEY_CIPHER_KEY_FILE, k->cipher_key,
							      k->cipher_key_file, "cbc(aes)");
				}
			} else {
				v_err(v, k->file, &k->m[0], NULL,
				  "a key needs an algorithm: aead: rfc4106(gcm(aes)), or auth: hmac(sha256) with "
				  "cipher: cbc(aes)");
			}
			v_pop(v, saved);
		}
		v_dup_report(v, &spis);
	}
	/* Keys the nodes name must exist here; the tunnel between two nodes
	 * is of one family. */
	for (uint32_t i = 0; i < st->n_nodes; i++) {
		const struct sl_node *nd = &st->nodes[i];
		const struct sl_node *me = v->node_idx >= 0 ? &st->nodes[v->node_idx] : NULL;
		const struct sl_prefix *a = &nd->ip_pfx, *b = me ? &me->ip_pfx : NULL;

		if (enc && enc->enabled && me && me != nd && a->family && b->family && a->family != b->family) {
			saved = v_path_item(v, "nodes", nd->name, nd->doc_index);
			v_err(v, nd->file, SL_AT(nd, SL_NODE_IP), "ip",
			  "%s is an IPv%u address and this node's ip (%s) is IPv%u: encryption tunnels between "
			  "node ips of one family",
			  nd->ip, a->family, me->ip, b->family);
			v_pop(v, saved);
		}

		saved = v_path_item(v, "nodes", nd->name, nd->doc_index);
		for (uint32_t j = 0; j < nd->n_encrypt_keys; j++) {
			bool found = false;

			for (uint32_t q = 0; enc && q < enc->n_keys && !found; q++)
				found = enc->keys[q].spi == nd->encrypt_keys[j];
			if (!found && nd->encrypt_keys[j] >= 1 && nd->encrypt_keys[j] <= SL_SPI_MAX) {
				size_t s2 = v_path_idx(v, ".encryptKeys", j);

				v_err(v, nd->file, &nd->encrypt_keys_m[j], NULL,
				  "key %" PRIu32 " is not one of encryption.keys", nd->encrypt_keys[j]);
				v_pop(v, s2);
			}
		}
		if (enc && enc->enabled && enc->n_keys && !nd->n_encrypt_keys)
			v_err(v, nd->file, &nd->m[0], NULL,
			  "encryption is enabled, so every node names the keys it has installed (encryptKeys)");
		v_pop(v, saved);
	}
}

/* ---- compile: the SAs, xfrm policies and routes of this node ---- */

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

/* What a policy selects beyond its prefixes: an L4 protocol and
 * destination port (0: any). */
struct sel_l4 {
	uint8_t proto;
	uint16_t dport;
};

static int add_policy(struct sl_objset *out, uint8_t dir, const struct sl_prefix *src, const struct sl_prefix *dst,
		      const struct sel_l4 *l4, uint32_t mark, const struct sl_prefix *tsrc, const struct sl_prefix *tdst,
		      uint32_t reqid, uint32_t spi)
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
	if (l4 && l4->proto) {
		pk.proto = l4->proto;
		if (l4->dport) {
			pk.dport = l4->dport;
			pk.dport_mask = 0xffff;
		}
	}
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

/*
 * With the overlay, what crosses the underlay between two nodes is VXLAN
 * between their ips: it is encrypted whole (ESP outside VXLAN), by an out
 * policy per remote node on the tunnel's UDP port, with no mark, so that
 * nothing the tunnel carries to that node leaves in clear; and an in
 * policy for what comes to the port from that node, which the kernel
 * checks before the tunnel's socket takes it: decrypted VXLAN is let in,
 * VXLAN in clear from that node is dropped. The pod CIDRs need neither
 * policies nor routes: no pod packet is routed by the underlay.
 */
static int overlay_policies(struct sl_objset *out, const struct sl_state *st, const struct sl_prefix *lip,
			    const struct sl_prefix *rip, uint8_t spi)
{
	struct sel_l4 vxlan = { .proto = IPPROTO_UDP, .dport = (uint16_t)st->datapath->vxlan_port };
	struct sl_prefix l = *lip, rr = *rip;
	int r;

	l.len = rr.len = lip->family == SL_FAMILY_IPV4 ? 32 : 128;
	r = add_policy(out, SL_XFRM_DIR_OUT, &l, &rr, &vxlan, 0, lip, rip, sl_xfrm_reqid(spi), spi);
	if (r >= 0)
		r = add_policy(out, SL_XFRM_DIR_IN, &rr, &l, &vxlan, 0, NULL, lip, SL_XFRM_REQID_IN, 0);
	return r;
}

int sl_compile_encryption(const struct sl_state *st, const struct sl_keyring *keys, struct sl_objset *out)
{
	const struct sl_encryption *enc = st->encryption;
	const struct sl_node *me = NULL;
	const struct sl_prefix *lip, *rip, *lc, *rc;
	struct sl_prefix any;
	int r = 0;

	if (!enc || !enc->enabled || !st->node || !keys)
		return 0;
	for (uint32_t i = 0; i < st->n_nodes && !me; i++)
		if (streq(st->nodes[i].name, st->node))
			me = &st->nodes[i];
	if (!me || !me->ip_pfx.family)
		return 0;
	lip = &me->ip_pfx;
	/* Inbound: one SA per key of this node, whoever sends with it. */
	for (uint32_t i = 0; r >= 0 && i < enc->n_keys; i++) {
		const struct sl_key_material *m = sl_keyring_find(keys, enc->keys[i].spi);

		if (!m)
			return -ENOKEY;
		r = add_sa(out, &enc->keys[i], m, lip, NULL, SL_XFRM_REQID_IN, SL_XFRM_REPLAY_WINDOW);
	}
	for (uint32_t i = 0; r >= 0 && i < st->n_nodes; i++) {
		const struct sl_node *n = &st->nodes[i];
		uint8_t spi = sl_node_key(st, n);
		const struct sl_key *k = spi ? key_by_spi(enc, spi) : NULL;
		const struct sl_key_material *m = spi ? sl_keyring_find(keys, spi) : NULL;

		rip = &n->ip_pfx;
		if (n == me || !k || !rip->family || rip->family != lip->family)
			continue;
		if (!m)
			return -ENOKEY;
		r = add_sa(out, k, m, rip, lip, sl_xfrm_reqid(spi), 0);
		if (r >= 0 && st->datapath->tunnel == SL_TUNNEL_VXLAN) {
			r = overlay_policies(out, st, lip, rip, spi);
			continue;
		}
		for (uint32_t c = 0; r >= 0 && n->pod_cidrs_pfx && c < n->n_pod_cidrs; c++) {
			rc = &n->pod_cidrs_pfx[c];
			if (!rc->family)
				continue;
			memset(&any, 0, sizeof(any));
			any.family = rc->family;
			r = add_policy(out, SL_XFRM_DIR_OUT, &any, rc, NULL, sl_mark_encrypt(spi), lip, rip,
				       sl_xfrm_reqid(spi), spi);
			for (uint32_t l = 0; r >= 0 && me->pod_cidrs_pfx && l < me->n_pod_cidrs; l++) {
				lc = &me->pod_cidrs_pfx[l];
				if (lc->family != rc->family)
					continue;
				r = add_policy(out, SL_XFRM_DIR_IN, rc, lc, NULL, 0, NULL, lip, SL_XFRM_REQID_IN, 0);
				if (r >= 0)
					r = add_policy(out, SL_XFRM_DIR_FWD, rc, lc, NULL, 0, NULL, lip,
						       SL_XFRM_REQID_IN, 0);
			}
			if (r >= 0 && st->datapath->underlay_device)
				r = add_route(out, rc, rip, st->datapath->underlay_device);
		}
	}
	return r;
}

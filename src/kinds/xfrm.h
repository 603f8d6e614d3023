/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The xfrm kinds: the IPsec states (SAs) and policies sluice owns, as
 * object-set key and value bytes, their reqids and their names. Pure C:
 * the reconciler (compile, plan, show) and the xfrm backend
 * (datapath/xfrm.h) both include it; no kernel call, no libmnl.
 *
 * What encryption compiles to (state-format.md, "Encryption"): ESP in
 * tunnel mode between node ips.
 *   - one outbound SA per remote node, with the key of the highest SPI that
 *     both this node and that node have: daddr = the remote node's ip,
 *     saddr = this node's ip;
 *   - one inbound SA per local key: daddr = this node's ip, saddr any
 *     (zeros: the kernel finds inbound SAs by daddr, SPI and protocol);
 *   - an out policy per remote pod CIDR whose mark is the datapath's
 *     encryption mark sl_mark_encrypt(spi) under SL_MARK_ENCRYPT_MASK
 *     (bpf/include/sluice/abi.h), with a template to that node;
 *   - in and fwd policies for the remote pod CIDRs -> the local pod CIDRs,
 *     with a template from that node.
 *
 * Ownership: every state sluice makes has a reqid of sluice's range
 * (below), every policy exactly one template with such a reqid; the
 * backend observes only those and writes or removes nothing else. The
 * reqid is the mark of ownership, not the SPI: an SA of another program
 * may use SPI 3 too.
 *
 * Keys and values are fixed-layout (explicit padding, sizes asserted,
 * addresses as 16 bytes + family, IPv4 in the first 4 bytes, all integers
 * in host order) so that they can be stored as object-set key and value
 * bytes as they are, and compare equal byte for byte when the kernel holds
 * what was asked. Key material is in the state value: it never appears in
 * a name, and callers holding state values wipe them (explicit_bzero).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * sluice's reqids, 0x51c00 ("slc") and up, clear of the small reqids that
 * people and IKE daemons use (strongSwan counts up from 1, Cilium uses 1):
 *   - SL_XFRM_REQID_IN (0x51c00): every inbound SA, and the templates of
 *     the in and fwd policies. One reqid for all keys, so that an in or
 *     fwd policy accepts what any of this node's keys decrypted: during a
 *     rotation, peers send with the old key and the new one at once.
 *   - SL_XFRM_REQID_BASE + spi (0x51c01..0x51c0f): the outbound SA of that
 *     key, and the templates of the out policies that use it.
 */
#define SL_XFRM_REQID_BASE 0x51c00u
#define SL_XFRM_REQID_IN SL_XFRM_REQID_BASE
#define SL_XFRM_SPI_MIN 1u
#define SL_XFRM_SPI_MAX 15u

static inline uint32_t sl_xfrm_reqid(uint32_t spi)
{
	return SL_XFRM_REQID_BASE + spi;
}

/* Whether a reqid is sluice's: SL_XFRM_REQID_BASE .. + 15. */
static inline bool sl_xfrm_reqid_owned(uint32_t reqid)
{
	return reqid >= SL_XFRM_REQID_BASE && reqid <= SL_XFRM_REQID_BASE + SL_XFRM_SPI_MAX;
}

/* Key material, in bytes: the largest the algorithms sluice allows take
 * (reconcile/validate.c, sl_key_lengths): rfc4106(gcm(aes)) a 32-byte AES
 * key and its 4-byte salt; hmac(sha256) 32; cbc(aes) 32. */
#define SL_XFRM_ENC_KEY_MAX 36
#define SL_XFRM_AUTH_KEY_MAX 32
/* The kernel's algorithm name length (CRYPTO_MAX_ALG_NAME). */
#define SL_XFRM_ALG_NAME_MAX 64

/* ---- states (SAs) ---- */

/* What the kernel finds an SA by: (daddr, spi, proto, family) under its
 * mark. Two owned SAs can never share a key. */
struct sl_xfrm_state_key {
	uint8_t daddr[16]; /* outer destination: the remote node (out), this node (in) */
	uint32_t spi;	   /* 1..15 for sluice's */
	uint8_t proto;	   /* IPPROTO_ESP */
	uint8_t family;	   /* of daddr and saddr: AF_INET, AF_INET6 */
	uint8_t pad[2];
	/* The SA's own mark (XFRMA_MARK), matched against packets' marks when
	 * the kernel looks the SA up: 0/0 in what sluice makes. Part of the
	 * key because an SA is found (and so removed) under it. */
	uint32_t mark;
	uint32_t mark_mask;
};
_Static_assert(sizeof(struct sl_xfrm_state_key) == 32, "sl_xfrm_state_key");

struct sl_xfrm_state_value {
	uint8_t saddr[16];	/* outer source: this node (out); zeros: any (in) */
	uint32_t reqid;		/* SL_XFRM_REQID_BASE + spi */
	/* With aead: its ICV length; with auth: its truncation length
	 * (hmac(sha256): 128, RFC 4868). */
	uint32_t icv_bits;
	/* Output mark (XFRMA_SET_MARK): the mark the SA puts on the packets
	 * it makes, under set_mark_mask; 0/0: none. */
	uint32_t set_mark;
	uint32_t set_mark_mask;
	uint32_t replay_window; /* anti-replay window in packets (inbound), 0: none */
	uint8_t mode;		/* XFRM_MODE_TUNNEL */
	uint8_t flags;		/* XFRM_STATE_* of xfrm_usersa_info (0) */
	/* Lengths of the key bytes below. The kernel may hold longer keys than
	 * these arrays: then the length says so (at most 255) and the bytes are
	 * the first ones, so such an SA never equals one sluice would make. */
	uint8_t enc_key_len;
	uint8_t auth_key_len;
	/* The algorithms, NUL-terminated: with AEAD, enc_name is the AEAD
	 * ("rfc4106(gcm(aes))") and auth_name is empty; otherwise enc_name is
	 * the cipher ("cbc(aes)") and auth_name the authentication
	 * ("hmac(sha256)"). Unused bytes are zero. */
	char enc_name[SL_XFRM_ALG_NAME_MAX];
	char auth_name[SL_XFRM_ALG_NAME_MAX];
	/* The AEAD key with its salt at the end (rfc4106: 16, 24 or 32 bytes
	 * of AES key + 4), or the cipher key; unused bytes are zero. */
	uint8_t enc_key[SL_XFRM_ENC_KEY_MAX];
	uint8_t auth_key[SL_XFRM_AUTH_KEY_MAX];
};
_Static_assert(sizeof(struct sl_xfrm_state_value) == 236, "sl_xfrm_state_value");

/* ---- policies ---- */

/* Directions, the kernel's values (XFRM_POLICY_IN/OUT/FWD). */
enum sl_xfrm_dir { SL_XFRM_DIR_IN = 0, SL_XFRM_DIR_OUT = 1, SL_XFRM_DIR_FWD = 2, SL_XFRM_DIR__MAX };

/*
 * What the kernel finds a policy by: direction, type, the whole selector,
 * the mark (value and mask, exactly) and the interface id. sluice's
 * policies use only the prefixes and, for out, the mark; the other fields
 * are 0 in them and are kept so that any policy observed as sluice's can be
 * removed by its key.
 */
struct sl_xfrm_policy_key {
	uint8_t src[16];  /* selector: inner source prefix */
	uint8_t dst[16];  /* selector: inner destination prefix */
	uint8_t family;	  /* of the selector: AF_INET, AF_INET6 */
	uint8_t src_len;  /* prefix lengths */
	uint8_t dst_len;
	uint8_t dir;	  /* enum sl_xfrm_dir */
	/* out: sl_mark_encrypt(spi) / SL_MARK_ENCRYPT_MASK, so that only what
	 * the programs marked for that key is encrypted; in, fwd: 0/0. */
	uint32_t mark;
	uint32_t mark_mask;
	/* The rest of the selector and of the identity: 0 in sluice's. */
	uint8_t proto;	  /* selector L4 protocol, 0: any */
	uint8_t type;	  /* XFRM_POLICY_TYPE_MAIN (0) or _SUB (1) */
	uint8_t pad[2];
	uint16_t sport, sport_mask;
	uint16_t dport, dport_mask;
	int32_t ifindex;  /* selector device */
	uint32_t user;	  /* selector uid */
	uint32_t if_id;	  /* XFRMA_IF_ID (xfrm interfaces) */
};
_Static_assert(sizeof(struct sl_xfrm_policy_key) == 68, "sl_xfrm_policy_key");

struct sl_xfrm_policy_value {
	/* The one template: ESP, tunnel mode, between node ips. */
	uint8_t tmpl_src[16]; /* out: this node; in, fwd: the remote node */
	uint8_t tmpl_dst[16]; /* out: the remote node; in, fwd: this node */
	uint32_t reqid;	      /* SL_XFRM_REQID_BASE + spi: the SAs it uses */
	uint32_t spi;	      /* 0: any SA with that reqid; else only that SPI */
	uint32_t priority;    /* lower wins among overlapping policies */
	uint8_t tmpl_family;  /* of tmpl_src, tmpl_dst (may differ from the selector's) */
	uint8_t tmpl_proto;   /* IPPROTO_ESP */
	uint8_t tmpl_mode;    /* XFRM_MODE_TUNNEL */
	uint8_t tmpl_optional; /* 0: the SA is required */
	uint8_t action;	      /* XFRM_POLICY_ALLOW (0) */
	uint8_t flags;	      /* XFRM_POLICY_LOCALOK, _ICMP (0) */
	uint8_t pad[2];
};
_Static_assert(sizeof(struct sl_xfrm_policy_value) == 52, "sl_xfrm_policy_value");

/* ---- names, as a plan line shows them ---- */

/* "xfrm state out 192.168.50.1 -> 192.168.50.2 spi 0x4": "out" when
 * local (16 bytes, of the key's family; NULL: unknown) is the source, "in"
 * when it is the destination. v may be NULL (then no source). Never key
 * bytes. Return what snprintf returns. */
int xfrm_state_name(const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v, const uint8_t *local,
		    char *buf, size_t len);
/* "xfrm policy out 10.1.0.0/24 -> 10.2.0.0/24 mark 0x3e00/0xff00" */
int xfrm_policy_name(const struct sl_xfrm_policy_key *k, char *buf, size_t len);

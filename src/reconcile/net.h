/* SPDX-License-Identifier: Apache-2.0 */
/* Addresses and prefixes as the state format writes them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sl_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;	/* prefix length */
	uint8_t addr[16];
};

/* An address, "10.1.0.1" or "fd00::1"; len is set to the full length. */
bool sl_addr_parse(const char *s, struct sl_prefix *ret);

/*
 * A prefix "10.1.0.0/24"; a bare address is taken as a host prefix when
 * allow_bare. On failure returns false and writes why into `why`, e.g.
 * "10.1.0.5/24 has host bits set (the prefix is 10.1.0.0/24)".
 */
bool sl_prefix_parse(const char *s, bool allow_bare, struct sl_prefix *ret, char *why, size_t why_len);

/* Whether outer contains inner (same family, outer no longer than inner). */
bool sl_prefix_contains(const struct sl_prefix *outer, const struct sl_prefix *inner);
bool sl_prefix_overlaps(const struct sl_prefix *a, const struct sl_prefix *b);
int sl_prefix_cmp(const struct sl_prefix *a, const struct sl_prefix *b);
void sl_prefix_format(const struct sl_prefix *p, char *buf, size_t len);

/* Why an address cannot be an endpoint's, or NULL: the unspecified
 * address, loopback, multicast, the IPv4 broadcast address, an IPv4-mapped
 * IPv6 address. */
const char *sl_addr_endpoint_problem(const struct sl_prefix *a);

/* Linux interface names: 1..15 bytes, no '/', ':' or white space. NULL when
 * fine, else what is wrong. */
const char *sl_ifname_problem(const char *name);

/*
 * ICMP message types as a rule's icmps name them: Cilium's names (its
 * pkg/policy/api/icmp.go), per family (enum sl_icmp_family, model.h).
 * sl_icmp_type_parse: a number 0..255, or a name of that family; -1 when
 * it is neither. sl_icmp_type_name: the name of a type, the first where it
 * has two (EchoRequest, not Echo), or NULL. sl_icmp_type_names: every name
 * of the family, ", " between them, for errors.
 */
int sl_icmp_type_parse(const char *s, int family);
const char *sl_icmp_type_name(int family, int type);
void sl_icmp_type_names(int family, char *buf, size_t len);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rule kind: the routing policy rules (`ip rule`) sluice owns (the
 * constants: kinds/route.h, "sluice's policy routing"). Per family, one
 * for the L7 proxy redirect:
 *
 *     81: from all fwmark 0xa00/0xf00 lookup 20928 proto 81
 *
 * packets marked SL_MARK_PROXY (under SL_MARK_MAGIC_MASK) look up sluice's
 * proxy table, whose local route delivers them to this host; and one for
 * the overlay:
 *
 *     82: from all iif lo lookup 20929 proto 81
 *
 * the node's own packets (locally generated: the kernel routes them with
 * the loopback as their input device) look up sluice's overlay table,
 * whose routes take them into sluice_vxlan; forwarded packets do not.
 * Their object-set key and value bytes and their names. Pure C: the
 * reconciler (compile, plan) and the rule backend (datapath/rule.h) both
 * include it; no kernel call, no libmnl.
 *
 * Ownership: a rule is sluice's when its protocol (FRA_PROTOCOL) is
 * SL_RTPROT, sluice's route protocol, and it is of the form sluice writes
 * (datapath/rule.h).
 *
 * Keys and values are fixed-layout (explicit padding, sizes asserted,
 * integers in host order, the input device's name zero-padded) so that
 * they are object-set bytes as they are and compare equal byte for byte
 * when the kernel holds what was asked; writes refuse (-EINVAL) bytes the
 * kernel could not give back: padding, an input device name without its
 * NUL (15 characters at most) or with bytes after it, table 0 (the kernel
 * would pick a table itself) or a reserved table, an action other than
 * SL_RULE_LOOKUP.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kinds/route.h"

/* What a rule does when it matches (frh->action), with the kernel's number
 * (FR_ACT_TO_TBL of linux/fib_rules.h; datapath/rule.c asserts it): look up
 * its table. The only action sluice writes. */
#define SL_RULE_LOOKUP 1u

/* Input device names, NUL included (IFNAMSIZ). */
#define SL_RULE_IIF_MAX 16

/*
 * What the kernel tells rules apart by, within sluice's (protocol
 * SL_RTPROT, no selector but the input device and the mark): family,
 * priority, input device, mark and mask, table. A removal names all of
 * them (and the protocol), and the kernel removes the first rule that has
 * them all (an empty input device, a mark of 0: any).
 */
struct sl_rule_key {
	uint32_t priority; /* FRA_PRIORITY: SL_PROXY_RULE_PRIORITY, SL_OVERLAY_RULE_PRIORITY */
	uint32_t fwmark;   /* FRA_FWMARK: SL_MARK_PROXY; 0: none */
	uint32_t fwmask;   /* FRA_FWMASK: SL_MARK_MAGIC_MASK; with fwmark 0, 0 too (the kernel reports none) */
	uint32_t table;	   /* FRA_TABLE: SL_PROXY_TABLE, SL_OVERLAY_TABLE; never 0, 253, 254, 255 */
	/* FRA_IIFNAME: SL_OVERLAY_RULE_IIF; "" (all zero): none (any input
	 * device). NUL-terminated, the rest zero. */
	char iif[SL_RULE_IIF_MAX];
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t pad[3];
};
_Static_assert(sizeof(struct sl_rule_key) == 36, "sl_rule_key");
_Static_assert(offsetof(struct sl_rule_key, iif) == 16, "sl_rule_key.iif");

/* What the rule does. The kernel changes no rule in place: a change is a
 * removal and an add. */
struct sl_rule_value {
	uint8_t action; /* SL_RULE_LOOKUP */
	uint8_t pad[3];
};
_Static_assert(sizeof(struct sl_rule_value) == 4, "sl_rule_value");

/*
 * "rule ipv4 pref 81 fwmark 0xa00/0xf00 lookup 20928", "rule ipv4 pref 82
 * iif lo lookup 20929" (iproute2's words: the family, the priority, the
 * input device when there is one, the mark when there is one, the table);
 * an action other than lookup is said as " action N". v may be NULL: the
 * key only. Returns what snprintf returns.
 */
int sl_rule_name(const struct sl_rule_key *k, const struct sl_rule_value *v, char *buf, size_t len);

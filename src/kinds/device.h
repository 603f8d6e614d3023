/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device kind: the network devices sluice owns. Today one, the overlay's
 * sluice_vxlan (state-format.md, "Overlay"): a VXLAN device in external
 * (collect-metadata) mode on datapath.vxlanPort, up, without ARP, with the
 * MTU of the underlay device less the encapsulation. Its key is its name;
 * its value what sluice sets and reads back.
 *
 * Ownership: a device sluice made carries the alias SL_DEVICE_ALIAS
 * (IFLA_IFALIAS); a device of that name without it is foreign, never
 * touched, and refused before any change.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_DEVICE_VXLAN_NAME "sluice_vxlan"
#define SL_DEVICE_ALIAS "owned by sluice"

/* The encapsulation VXLAN adds to a packet: outer IP, UDP, VXLAN, inner
 * Ethernet. */
#define SL_VXLAN_OVERHEAD_V4 (20 + 8 + 8 + 14)
#define SL_VXLAN_OVERHEAD_V6 (40 + 8 + 8 + 14)

enum sl_device_type { SL_DEVICE_VXLAN = 1 };

struct sl_device_key {
	char name[16]; /* NUL-padded */
};
struct sl_device_value {
	uint8_t type;  /* enum sl_device_type */
	uint8_t up;    /* administratively up */
	uint16_t port; /* VXLAN: the UDP port, host order */
	uint32_t mtu;
	/* VXLAN: external (collect-metadata) mode; learning off */
	uint8_t external;
	/* No ARP or neighbour discovery on it (IFF_NOARP): what the node's
	 * own stack routes into it (the overlay's routes, kinds/route.h)
	 * takes the device's own address as its inner destination MAC at
	 * once, instead of asking a neighbour no one answers for (the
	 * receiver's sluice_from_overlay makes the frame its own). */
	uint8_t noarp;
	uint8_t pad[6];
	/* VXLAN: the underlay device (IFLA_VXLAN_LINK) by name, NUL-padded:
	 * datapath.underlayDevice. The kernel caps the MTU by it and removes
	 * the device with it. */
	char underlay[16];
};
_Static_assert(sizeof(struct sl_device_value) == 32, "sl_device_value");

/* Whether the kernel can turn have into want in place (RTM_NEWLINK on the
 * device): the MTU, up and ARP only (the kernel changes no VXLAN port,
 * mode or lower device). Otherwise it is removed and made again. */
bool sl_device_change_in_place(const struct sl_device_value *have, const struct sl_device_value *want);
/* "device sluice_vxlan vxlan port 8472 mtu 1450" (" down", " not
 * external", " arp" when so). Returns what snprintf returns. v may be NULL
 * (the name only). */
int sl_device_name(const struct sl_device_key *k, const struct sl_device_value *v, char *buf, size_t len);

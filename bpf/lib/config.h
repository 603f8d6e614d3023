/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The node's settings: `const volatile` globals, set by user space before
 * load (programs.c; the packet tests set them too) and constant to the
 * verifier, which prunes what a setting turns off. A change means loading
 * new programs and replacing the old ones atomically.
 */
#ifndef SLUICE_BPF_CONFIG_H
#define SLUICE_BPF_CONFIG_H

#include "common.h"

/* The kernel's HZ (CONFIG_HZ): conntrack counts time in jiffies, which cost
 * a load where the clocks cost a call that reads the time source. A tick's
 * precision is plenty for lifetimes of seconds (ct.h). */
const volatile __u32 cfg_hz = 250;

const volatile __u32 cfg_tunnel_ifindex = 0; /* sluice_vxlan; 0: no overlay (encap.h) */
const volatile __u8 cfg_encrypt = 0;	     /* mark traffic whose ipcache entry has a key (encrypt.h) */
const volatile __u8 cfg_proxy = 0;	     /* some policy hands flows to a proxy (proxy.h) */

#endif

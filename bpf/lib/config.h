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
/* ipvlan mode: sluice_from_endpoint runs on the slave's tc egress and
 * sluice_to_endpoint on its tc ingress, both in the endpoint's namespace
 * (there is no host side to a slave); see back_into_endpoint. */
const volatile __u8 cfg_ipvlan = 0;

/*
 * A packet the endpoint sent, turned into its answer (a refusal, a hairpin),
 * back into the endpoint. In veth mode the program runs on the host side of
 * the pair: to its peer, past the host side's egress. In ipvlan mode it runs
 * on the slave's own egress: into the slave's ingress, marked, so that
 * sluice_to_endpoint lets it in as the veth path does (it is an answer to
 * the endpoint, not a flow to judge by its ingress policy).
 */
static __inline int back_into_endpoint(struct __sk_buff *skb)
{
	/* a context pointer as the verifier wants it: not one the compiler
	 * computed (skb + offsetof ifindex) early and kept on the stack */
	asm volatile("" : "+r"(skb));
	if (cfg_ipvlan) {
		skb->mark = SL_MARK_RETURNED;
		return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
	}
	return bpf_redirect_peer(skb->ifindex, 0);
}

#endif

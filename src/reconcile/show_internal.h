/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Show's own: what was read from the live set, shared by its stages
 * (show.c runs them in order), and their helpers (show_util.c):
 *   show_read.c       the live set, kind by kind; the ipcache: nodes,
 *                     addresses, CIDR identities; what is not shown
 *   show_endpoints.c  local and remote endpoints, their section
 *   show_policy.c     policy entries back into rules, the policies section
 *   show_cidrs.c      every CIDR identity named by some rule
 *   show_services.c   the services section
 * Each stage returns nothing: running out of memory sets s->oom, and what
 * cannot be shown is said with show_note.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sluice/abi.h>

#include "common/arena.h"
#include "common/doc.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "model.h"
#include "net.h"
#include "objset.h"
#include "show.h"
#include "kinds/map.h"

#define SHOW_MAX_NOTES 40
#define SHOW_IFNAME_LEN 16
#define SHOW_HOLDER_POLICY "unused-cidrs"

/* ---- what was read from the live set ---- */

struct snode {
	struct sl_prefix ip;
	bool here;
	const char *name;
	struct sl_prefix *pods;
	size_t n_pods, cap_pods;
	uint32_t keys; /* bit k: encryption key index k toward this node */
};

/* A host address of an endpoint. */
struct saddr {
	struct sl_prefix p;
	uint32_t identity;
	int node; /* -1: local; else the remote endpoint's node */
};

struct sep {
	char ifname[SHOW_IFNAME_LEN + 1];
	struct sl_endpoint_value v;
	const char *name;
	char given[SL_EP_NAME_LEN + 1]; /* the name the kernel keeps (sluice_ep_names), "" if none */
	char netns[SL_NETNS_PATH_LEN]; /* ipvlan mode: its slave's namespace (sluice_ep_netns), "" if none */
	int a4, a6; /* index in addrs, or -1 */
	bool skip;
};

struct slabels {
	uint32_t id;
	char text[SL_LABELS_LEN + 1];
};

struct srep {
	const char *name;
	uint32_t identity;
	int node;
	int a4, a6;
};

struct srule;

struct scidr {
	struct sl_prefix p;
	uint32_t id;
	size_t strong;		       /* rules without world that name it */
	const struct srule *first_rule; /* the first of those */
	int except_of;		       /* the CIDR it is written as an exception of, or -1 */
	int except_head, except_tail, except_next;
	bool placed;
};

/* A policy entry, decoded. */
struct pent {
	uint16_t ep_id;
	uint8_t dir;
	uint8_t proto;
	uint16_t port; /* host order */
	uint16_t proxy;
	uint32_t id;
	bool deny;
};

struct pspec {
	uint8_t proto;
	uint16_t port;
};

/* A verdict: deny, or allow with a proxy port (0: none). */
struct pclass {
	bool deny;
	uint16_t proxy;
};

struct srule {
	uint8_t dir; /* enum sl_direction */
	bool ent[SL_ENTITY__MAX];
	uint32_t *ids; /* user identities: fromEndpoints */
	size_t n_ids;
	size_t *cidrs; /* indexes in cidrs */
	bool *cidr_drop;
	size_t n_cidrs;
	struct pspec *ports;
	size_t n_ports;
	bool to_ports;
	uint16_t proxy;
};

struct spolicy {
	const char *name;
	const char *subject; /* the sluice.io/identity value it selects */
	bool key[SL_DIRECTION__MAX]; /* write the key even with no rule */
	struct srule *rules;
	size_t n_rules, cap_rules;
};

/* Local endpoints of one identity, eps[order[first..first+n)], in
 * interface order: their policy is that of the first, the rep. */
struct sgroup {
	uint32_t identity;
	size_t first, n;
	size_t rep; /* index in eps */
};

struct nameset {
	const char **v;
	size_t n, cap;
};

struct show {
	const struct sl_objset *live;
	const struct sl_map_layout *layouts;
	size_t n_layouts;
	struct arena arena;
	bool oom;
	struct strbuf notes;
	size_t n_notes, n_more;
	/* encryption's objects: counted, never shown (SAs hold keys) */
	size_t n_sa, n_xpol, n_routes;
	uint32_t sa_spis; /* bit k: an SA with SPI k */

	struct snode *nodes;
	size_t n_nodes, cap_nodes;
	int here;
	struct saddr *addrs;
	size_t n_addrs, cap_addrs;
	struct sep *eps;
	size_t n_eps, cap_eps;
	struct srep *reps;
	size_t n_reps, cap_reps;
	struct scidr *cidrs; /* by id */
	size_t n_cidrs, cap_cidrs;
	struct pent *pe; /* by (ep_id, dir, id, proto, port) */
	size_t n_pe, cap_pe;
	struct sgroup *groups; /* by identity */
	size_t n_groups, cap_groups;
	size_t *order; /* shown local endpoints, by identity and interface */
	uint32_t *ids; /* the identities written, sorted */
	size_t n_ids, cap_ids;
	struct slabels *labels; /* the labels the kernel keeps (sluice_id_labels) */
	size_t n_labels, cap_labels;
	struct spolicy *pols;
	size_t n_pols, cap_pols;
	struct sl_prefix *deny;
	size_t n_deny, cap_deny;
	bool has_pf;
	char pf_device[SHOW_IFNAME_LEN + 1];
	uint8_t xdp_mode;
	uint32_t map_size[SL_MAP__MAX];
	bool map_size_set[SL_MAP__MAX];
	int enforcement; /* enum sl_enforcement */
	/* the overlay, from its device (sluice_vxlan) */
	bool has_tunnel;
	uint16_t vxlan_port;
	char underlay[SHOW_IFNAME_LEN + 1];
	char ipvlan_master[SHOW_IFNAME_LEN + 1]; /* mode: ipvlan (sluice_ep_netns), "" in veth mode */
	bool localhost_policy; /* allowLocalhost: policy (show_policy.c) */
	/* socket acceleration and host-reachable services, from their socket
	 * hooks; the cgroup of a cgroup hook */
	bool sock_accel;
	bool host_services;
	uint64_t cgroup_id;
	struct nameset names;
	struct doc doc;
	size_t svc_first, n_svcs; /* the SERVICE objects: a run of the live set */
	bool has_svcs;
};

/* ---- identities' labels (show_labels.c) ---- */

void show_labels_add(struct show *s, uint32_t id, const char *text, size_t len);
/* The labels of identity id as a flow map under `identity`. */
void show_emit_identity_labels(struct show *s, struct doc_node *identity, uint32_t id);
/* A selector (key of parent) that selects identity id and no other. */
void show_emit_selector(struct show *s, struct doc_node *parent, const char *key, uint32_t id);

/* ---- helpers (show_util.c) ---- */

/* Append one element to a growable array; NULL (and oom) when out of memory. */
#define PUSH(s, arr, n, cap)                                                                \
	(grow_array((void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))) < 0 ? ((s)->oom = true, NULL) \
									   : memset(&(arr)[(n)++], 0, sizeof(*(arr))))


/* Zeroed memory from s's arena (freed with it); NULL and oom when out. */
void *show_alloc(struct show *s, size_t size);
char *show_fmt(struct show *s, const char *fmt, ...) _printf_(2, 3);
/* A note (see sl_show_render), escaped; after SHOW_MAX_NOTES only counted. */
void show_note(struct show *s, const char *fmt, ...) _printf_(2, 3);
bool show_user_id(uint32_t id);
bool show_is_host(const struct sl_prefix *p);
void show_addr_text(const struct sl_prefix *p, char *buf, size_t len);
const char *show_addr_str(struct show *s, const struct sl_prefix *p);
const char *show_prefix_str(struct show *s, const struct sl_prefix *p);
const char *show_addr_name(struct show *s, const char *what, const struct sl_prefix *p);
const char *show_unique_name(struct show *s, const char *base);
void show_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
bool show_obj_copy(const struct show *s, const struct sl_obj *o, void *k, size_t klen, void *v, size_t vlen);

/* ---- the stages, in the order show.c runs them ---- */

/* show_read.c */
void show_read_live(struct show *s);
/* The index in s->cidrs of CIDR identity id, or -1. */
int show_cidr_index(const struct show *s, uint32_t id);
void show_encryption_note(struct show *s);
/* show_endpoints.c */
void show_local_endpoints(struct show *s);
void show_remote_endpoints(struct show *s);
void show_emit_endpoints(struct show *s);
/* show_policy.c */
void show_policies(struct show *s);
int show_add_rule(struct show *s, struct spolicy *pol, const struct srule *r);
struct spolicy *show_new_policy(struct show *s, const char *name, const char *subject);
void show_emit_policies(struct show *s);
/* show_cidrs.c */
void show_place_cidrs(struct show *s);
/* show_services.c */
void show_emit_services(struct show *s);

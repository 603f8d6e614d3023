/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The desired model: what the state files say, as C structs.
 *
 * The layout is described by libcyaml schema tables (schema.c), which are the
 * one definition of the format. Two conventions let the loader keep a position
 * for every node without a side table:
 *
 *  - every struct that a YAML mapping loads into starts with SL_MARKS(n):
 *    m[0] is where the mapping starts, m[1 + i] where the value of field i
 *    starts (line 0: the key was absent or null);
 *  - every sequence of scalars is declared with SL_SCALAR_SEQ, which puts a
 *    pointer to the elements' positions right after the element count.
 *
 * libcyaml itself ignores both (they are not in the schema), so the tables
 * stay valid libcyaml schemas.
 *
 * Addresses and prefixes are kept twice: as written (the text, for messages
 * and show) and, in the fields named *_pfx beside them, as validation
 * parsed them (sl_validate fills them; nothing parses them again). A
 * *_pfx of family 0 is absent, or text that is no address or prefix (an
 * error said so). A list's *_pfx has one element per element of the list,
 * in the load's arena; NULL before validation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "net.h"

struct sl_mark {
	uint32_t line; /* 1-based; 0 = absent */
	uint32_t col;  /* 1-based */
};

#define SL_MARKS(nfields) struct sl_mark m[(nfields) + 1]
#define SL_SCALAR_SEQ(type, name) \
	type *name;               \
	uint32_t n_##name;        \
	struct sl_mark *name##_m

/*
 * Position of field f of obj; whether it holds a value that loaded (SL_HAS);
 * whether the key was given at all, perhaps with a value the loader refused
 * and already reported (SL_GIVEN: line set, col 0).
 */
#define SL_AT(obj, f) (&(obj)->m[1 + (f)])
#define SL_MARK_OK(mk) ((mk)->line != 0 && (mk)->col != 0)
#define SL_HAS(obj, f) SL_MARK_OK(SL_AT(obj, f))
#define SL_GIVEN(obj, f) ((obj)->m[1 + (f)].line != 0)

/* ---- enums (string tables in schema.c) ---- */

enum sl_mode { SL_MODE_VETH, SL_MODE_IPVLAN, SL_MODE__MAX };
enum sl_tunnel { SL_TUNNEL_DISABLED, SL_TUNNEL_VXLAN, SL_TUNNEL__MAX };
enum sl_enforcement { SL_ENFORCE_DEFAULT, SL_ENFORCE_ALWAYS, SL_ENFORCE_NEVER, SL_ENFORCE__MAX };
/* datapath.allowLocalhost (Cilium's allow-localhost): always, the node
 * reaches its local endpoints whatever their ingress policy; policy, only
 * where a rule allows entity host. */
enum sl_localhost { SL_LOCALHOST_ALWAYS, SL_LOCALHOST_POLICY, SL_LOCALHOST__MAX };
enum sl_xdp_mode { SL_XDP_NATIVE, SL_XDP_GENERIC, SL_XDP__MAX };
/* Values are IANA protocol numbers; ANY is 0. */
enum sl_proto { SL_PROTO_ANY = 0, SL_PROTO_TCP = 6, SL_PROTO_UDP = 17, SL_PROTO_SCTP = 132 };

/* A protocol as the state format writes it (anything else: ANY). */
static inline const char *sl_proto_name(int proto)
{
	switch (proto) {
	case SL_PROTO_TCP:
		return "TCP";
	case SL_PROTO_UDP:
		return "UDP";
	case SL_PROTO_SCTP:
		return "SCTP";
	default:
		return "ANY";
	}
}
enum sl_entity {
	SL_ENTITY_HOST,
	SL_ENTITY_WORLD,
	SL_ENTITY_REMOTE_NODE,
	SL_ENTITY_CLUSTER,
	SL_ENTITY_ALL,
	SL_ENTITY__MAX
};
enum sl_selector_op { SL_OP_IN, SL_OP_NOT_IN, SL_OP_EXISTS, SL_OP_DOES_NOT_EXIST, SL_OP__MAX };
enum sl_backend_state { SL_BACKEND_ACTIVE, SL_BACKEND_TERMINATING, SL_BACKEND__MAX };
enum sl_aead { SL_AEAD_RFC4106_GCM_AES, SL_AEAD__MAX };
enum sl_auth { SL_AUTH_HMAC_SHA256, SL_AUTH__MAX };
enum sl_cipher { SL_CIPHER_CBC_AES, SL_CIPHER__MAX };

/* ---- labels: a YAML mapping of strings, kept as pairs in file order ---- */

enum { SL_LABEL_KEY, SL_LABEL_VALUE, SL_LABEL__MAX };
struct sl_label {
	SL_MARKS(SL_LABEL__MAX); /* m[1]: the key, m[2]: the value */
	char *key;
	char *value;
};

/* ---- selectors ---- */

enum { SL_EXPR_KEY, SL_EXPR_OPERATOR, SL_EXPR_VALUES, SL_EXPR__MAX };
struct sl_expr {
	SL_MARKS(SL_EXPR__MAX);
	char *key;
	int op; /* enum sl_selector_op */
	SL_SCALAR_SEQ(char *, values);
};

enum { SL_SEL_MATCH_LABELS, SL_SEL_MATCH_EXPRESSIONS, SL_SEL__MAX };
struct sl_selector {
	SL_MARKS(SL_SEL__MAX);
	struct sl_label *match_labels;
	uint32_t n_match_labels;
	struct sl_expr *exprs;
	uint32_t n_exprs;
};

/* ---- policies ---- */

enum { SL_PORT_PORT, SL_PORT_PROTOCOL, SL_PORT_END_PORT, SL_PORT__MAX };
struct sl_port {
	SL_MARKS(SL_PORT__MAX);
	uint32_t port;	   /* 0: all ports */
	int protocol;	   /* enum sl_proto */
	uint32_t end_port; /* 0: none; else the range port..end_port */
};

/* icmps (Cilium's): ICMP types a rule allows, as type numbers or names. */
enum sl_icmp_family { SL_ICMP_IPV4, SL_ICMP_IPV6, SL_ICMP__MAX };
enum { SL_ICMPF_TYPE, SL_ICMPF_FAMILY, SL_ICMPF__MAX };
struct sl_icmp_field {
	SL_MARKS(SL_ICMPF__MAX);
	char *type;	 /* "8" or "EchoRequest" */
	int family;	 /* enum sl_icmp_family, default IPv4 */
	int type_num;	 /* validation's reading of type: 0..255, -1 when refused */
};
enum { SL_ICMPRULE_FIELDS, SL_ICMPRULE__MAX };
struct sl_icmp_rule {
	SL_MARKS(SL_ICMPRULE__MAX);
	struct sl_icmp_field *fields;
	uint32_t n_fields;
};

enum { SL_PORTRULE_PORTS, SL_PORTRULE_PROXY_PORT, SL_PORTRULE__MAX };
struct sl_port_rule {
	SL_MARKS(SL_PORTRULE__MAX);
	struct sl_port *ports;
	uint32_t n_ports;
	uint32_t proxy_port;
};

enum { SL_CIDRSET_CIDR, SL_CIDRSET_EXCEPT, SL_CIDRSET__MAX };
struct sl_cidr_set {
	SL_MARKS(SL_CIDRSET__MAX);
	char *cidr;
	SL_SCALAR_SEQ(char *, except);
	struct sl_prefix cidr_pfx;
	struct sl_prefix *except_pfx;
};

/* One rule; ingress rules spell the peer fields from*, egress rules to*. */
enum {
	SL_RULE_ENDPOINTS,
	SL_RULE_CIDR,
	SL_RULE_CIDR_SET,
	SL_RULE_ENTITIES,
	SL_RULE_TO_PORTS,
	SL_RULE_ICMPS,
	SL_RULE__MAX
};
struct sl_rule {
	SL_MARKS(SL_RULE__MAX);
	struct sl_selector *endpoints;
	uint32_t n_endpoints;
	SL_SCALAR_SEQ(char *, cidrs);
	struct sl_prefix *cidrs_pfx;
	struct sl_cidr_set *cidr_sets;
	uint32_t n_cidr_sets;
	SL_SCALAR_SEQ(int, entities); /* enum sl_entity */
	struct sl_port_rule *to_ports;
	uint32_t n_to_ports;
	struct sl_icmp_rule *icmps;
	uint32_t n_icmps;
};

enum sl_direction { SL_INGRESS, SL_EGRESS, SL_INGRESS_DENY, SL_EGRESS_DENY, SL_DIRECTION__MAX };

enum {
	SL_POLICY_NAME,
	SL_POLICY_SELECTOR,
	SL_POLICY_INGRESS,
	SL_POLICY_EGRESS,
	SL_POLICY_INGRESS_DENY,
	SL_POLICY_EGRESS_DENY,
	SL_POLICY__MAX
};
/* Where a policy was written: a sluice document, or a Kubernetes or
 * Cilium document read as one (k8s.c; its name is then KIND/NAMESPACE/NAME). */
enum sl_policy_origin { SL_ORIGIN_SLUICE, SL_ORIGIN_K8S_NP, SL_ORIGIN_CNP, SL_ORIGIN_CCNP };

struct sl_policy {
	SL_MARKS(SL_POLICY__MAX);
	const char *file;   /* the file it came from (set by the merge) */
	uint32_t doc_index; /* its index in that document's list */
	int origin;	    /* enum sl_policy_origin */
	char *name;
	struct sl_selector *selector;
	struct {
		struct sl_rule *v;
		uint32_t n;
	} rules[SL_DIRECTION__MAX]; /* indexed by enum sl_direction */
};

/* ---- identities and endpoints ---- */

enum { SL_IDENTITY_ID, SL_IDENTITY_LABELS, SL_IDENTITY__MAX };
struct sl_identity {
	SL_MARKS(SL_IDENTITY__MAX);
	const char *file;   /* the file it came from (set by the merge) */
	uint32_t doc_index; /* its index in that document's list */
	uint32_t id;
	struct sl_label *labels;
	uint32_t n_labels;
};

enum {
	SL_EP_NAME,
	SL_EP_INTERFACE,
	SL_EP_IPV4,
	SL_EP_IPV6,
	SL_EP_IDENTITY,
	SL_EP_LABELS,
	SL_EP_NODE,
	SL_EP_ID,
	SL_EP_NETNS,
	SL_EP__MAX
};
struct sl_endpoint {
	SL_MARKS(SL_EP__MAX);
	const char *file;   /* the file it came from (set by the merge) */
	uint32_t doc_index; /* its index in that document's list */
	char *name;
	char *interface;
	char *ipv4;
	char *ipv6;
	struct sl_prefix ipv4_pfx, ipv6_pfx;
	uint32_t identity; /* resolved by validation when given by labels */
	struct sl_label *labels;
	uint32_t n_labels;
	char *node; /* NULL: this node */
	uint32_t id;
	char *netns; /* ipvlan mode: the namespace holding interface; NULL: sluice's own */
};

/* ---- nodes ---- */

enum { SL_NODE_NAME, SL_NODE_IP, SL_NODE_POD_CIDRS, SL_NODE_ENCRYPT_KEYS, SL_NODE__MAX };
struct sl_node {
	SL_MARKS(SL_NODE__MAX);
	const char *file;   /* the file it came from (set by the merge) */
	uint32_t doc_index; /* its index in that document's list */
	char *name;
	char *ip;
	SL_SCALAR_SEQ(char *, pod_cidrs);
	SL_SCALAR_SEQ(uint32_t, encrypt_keys);
	struct sl_prefix ip_pfx;
	struct sl_prefix *pod_cidrs_pfx;
};

/* ---- datapath ---- */

enum {
	SL_MAP_CT_TCP,
	SL_MAP_CT_ANY,
	SL_MAP_IPCACHE,
	SL_MAP_ENDPOINTS,
	SL_MAP_POLICY,
	SL_MAP_SERVICES,
	SL_MAP_BACKENDS,
	SL_MAP_TUNNEL,
	SL_MAP_PREFILTER,
	SL_MAP_SOCK_NAT, /* sockRevNat: what the socket hooks of hostReachableServices translated */
	SL_MAP__MAX
};
struct sl_map_sizes {
	SL_MARKS(SL_MAP__MAX);
	uint32_t size[SL_MAP__MAX]; /* indexed like the fields */
};

enum {
	SL_DP_MODE,
	SL_DP_IPVLAN_MASTER,
	SL_DP_TUNNEL,
	SL_DP_VXLAN_PORT,
	SL_DP_UNDERLAY_DEVICE,
	SL_DP_POLICY_ENFORCEMENT,
	SL_DP_ALLOW_LOCALHOST,
	SL_DP_SOCKET_ACCELERATION,
	SL_DP_HOST_REACHABLE_SERVICES,
	SL_DP_CGROUP_PATH,
	SL_DP_MAP_SIZES,
	SL_DP__MAX
};
struct sl_datapath {
	SL_MARKS(SL_DP__MAX);
	int mode;    /* enum sl_mode */
	char *ipvlan_master;
	int tunnel;  /* enum sl_tunnel */
	uint32_t vxlan_port;
	char *underlay_device;
	int policy_enforcement; /* enum sl_enforcement */
	int allow_localhost;	/* enum sl_localhost */
	bool socket_acceleration;
	bool host_reachable_services;
	char *cgroup_path; /* NULL: SL_CGROUP_PATH_DEFAULT */
	struct sl_map_sizes *map_sizes;
};

/* datapath.cgroupPath when the state gives none. */
#define SL_CGROUP_PATH_DEFAULT "/sys/fs/cgroup/unified"
static inline const char *sl_datapath_cgroup_path(const struct sl_datapath *dp)
{
	return dp && dp->cgroup_path ? dp->cgroup_path : SL_CGROUP_PATH_DEFAULT;
}

enum { SL_PF_DEVICE, SL_PF_XDP_MODE, SL_PF_DENY, SL_PF__MAX };
struct sl_prefilter {
	SL_MARKS(SL_PF__MAX);
	char *device;
	int xdp_mode; /* enum sl_xdp_mode */
	SL_SCALAR_SEQ(char *, deny);
	struct sl_prefix *deny_pfx;
};

/* ---- services ---- */

enum { SL_FE_IP, SL_FE_PORT, SL_FE_PROTOCOL, SL_FE__MAX };
struct sl_frontend {
	SL_MARKS(SL_FE__MAX);
	char *ip;
	uint32_t port;
	int protocol; /* enum sl_proto, not ANY */
	struct sl_prefix ip_pfx;
};

enum { SL_BE_IP, SL_BE_PORT, SL_BE_WEIGHT, SL_BE_STATE, SL_BE__MAX };
struct sl_backend {
	SL_MARKS(SL_BE__MAX);
	char *ip;
	uint32_t port; /* defaults to the frontend's port */
	uint32_t weight;
	int state; /* enum sl_backend_state */
	struct sl_prefix ip_pfx;
};

enum { SL_SVC_NAME, SL_SVC_FRONTEND, SL_SVC_BACKENDS, SL_SVC__MAX };
struct sl_service {
	SL_MARKS(SL_SVC__MAX);
	const char *file;   /* the file it came from (set by the merge) */
	uint32_t doc_index; /* its index in that document's list */
	uint32_t n_backends; /* (beside doc_index: no padding, 72 bytes) */
	char *name;
	struct sl_frontend *frontend;
	struct sl_backend *backends;
};
_Static_assert(sizeof(struct sl_service) == 72, "a service as loaded: 72 bytes (20k of them twice at 20k)");

/* ---- encryption ---- */

enum {
	SL_KEY_SPI,
	SL_KEY_AEAD,
	SL_KEY_KEY,
	SL_KEY_KEY_FILE,
	SL_KEY_ICV_BITS,
	SL_KEY_AUTH,
	SL_KEY_AUTH_KEY,
	SL_KEY_AUTH_KEY_FILE,
	SL_KEY_CIPHER,
	SL_KEY_CIPHER_KEY,
	SL_KEY_CIPHER_KEY_FILE,
	SL_KEY__MAX
};
struct sl_key {
	SL_MARKS(SL_KEY__MAX);
	const char *file;   /* the file it came from (set by the merge) */
	uint32_t doc_index; /* its index in that document's list */
	uint32_t spi;
	int aead;
	char *key;
	char *key_file;
	uint32_t icv_bits;
	int auth;
	char *auth_key;
	char *auth_key_file;
	int cipher;
	char *cipher_key;
	char *cipher_key_file;
};

enum { SL_ENC_ENABLED, SL_ENC_KEYS, SL_ENC__MAX };
struct sl_encryption {
	SL_MARKS(SL_ENC__MAX);
	bool enabled;
	struct sl_key *keys;
	uint32_t n_keys;
};

/* ---- a document, and the merged state ---- */

enum {
	SL_DOC_VERSION,
	SL_DOC_NODE,
	SL_DOC_NODES,
	SL_DOC_DATAPATH,
	SL_DOC_PREFILTER,
	SL_DOC_IDENTITIES,
	SL_DOC_ENDPOINTS,
	SL_DOC_POLICIES,
	SL_DOC_SERVICES,
	SL_DOC_ENCRYPTION,
	SL_DOC__MAX
};
struct sl_doc {
	SL_MARKS(SL_DOC__MAX);
	uint32_t version;
	char *node;
	struct sl_node *nodes;
	uint32_t n_nodes;
	struct sl_datapath *datapath;
	struct sl_prefilter *prefilter;
	struct sl_identity *identities;
	uint32_t n_identities;
	struct sl_endpoint *endpoints;
	uint32_t n_endpoints;
	struct sl_policy *policies;
	uint32_t n_policies;
	struct sl_service *services;
	uint32_t n_services;
	struct sl_encryption *encryption;
};

/* Where a singleton section came from. */
struct sl_origin {
	const char *file;
	struct sl_mark mark; /* the key's value */
};

/*
 * The state: every document's lists concatenated in file order, singleton
 * sections taken from the one document that has them. It owns everything the
 * documents pointed at.
 */
struct sl_state {
	char *node; /* this node's name: --node, else `node:`, else NULL */
	struct sl_origin node_origin;
	struct sl_node *nodes;
	uint32_t n_nodes;
	struct sl_datapath *datapath; /* never NULL after load: defaults filled */
	struct sl_origin datapath_origin;
	struct sl_prefilter *prefilter;
	struct sl_origin prefilter_origin;
	struct sl_identity *identities;
	uint32_t n_identities;
	struct sl_endpoint *endpoints;
	uint32_t n_endpoints;
	struct sl_policy *policies;
	uint32_t n_policies;
	struct sl_service *services;
	uint32_t n_services;
	struct sl_encryption *encryption;
	struct sl_origin encryption_origin;
};

/* ---- Kubernetes and Cilium documents (k8s.c), as loaded, before they
 * become policies ---- */

/* name, namespace and labels; the other metadata a server adds (uid,
 * resourceVersion, managedFields...) is read and has no meaning here. */
enum { SL_K8SMETA_NAME, SL_K8SMETA_NAMESPACE, SL_K8SMETA_LABELS, SL_K8SMETA__MAX = 15 };
struct sl_k8s_meta {
	SL_MARKS(SL_K8SMETA__MAX);
	char *name;
	char *namespace;
	struct sl_label *labels;
	uint32_t n_labels;
};

/* A NetworkPolicy port: port is an int or a name (IntOrString). */
enum { SL_NPPORT_PROTOCOL, SL_NPPORT_PORT, SL_NPPORT_END_PORT, SL_NPPORT__MAX };
struct sl_np_port {
	SL_MARKS(SL_NPPORT__MAX);
	int protocol; /* enum sl_proto; Kubernetes' default TCP */
	char *port;
	uint32_t end_port;
};

enum { SL_IPBLOCK_CIDR, SL_IPBLOCK_EXCEPT, SL_IPBLOCK__MAX };
struct sl_np_ipblock {
	SL_MARKS(SL_IPBLOCK__MAX);
	char *cidr;
	SL_SCALAR_SEQ(char *, except);
};

enum { SL_NPPEER_POD, SL_NPPEER_NS, SL_NPPEER_IPBLOCK, SL_NPPEER__MAX };
struct sl_np_peer {
	SL_MARKS(SL_NPPEER__MAX);
	struct sl_selector *pod;
	struct sl_selector *ns;
	struct sl_np_ipblock *ip_block;
};

/* An ingress rule's peers are `from`, an egress rule's `to`. */
enum { SL_NPRULE_PEERS, SL_NPRULE_PORTS, SL_NPRULE__MAX };
struct sl_np_rule {
	SL_MARKS(SL_NPRULE__MAX);
	struct sl_np_peer *peers;
	uint32_t n_peers;
	struct sl_np_port *ports;
	uint32_t n_ports;
};

enum sl_np_type { SL_NPTYPE_INGRESS, SL_NPTYPE_EGRESS };
enum { SL_NPSPEC_POD, SL_NPSPEC_TYPES, SL_NPSPEC_INGRESS, SL_NPSPEC_EGRESS, SL_NPSPEC__MAX };
struct sl_np_spec {
	SL_MARKS(SL_NPSPEC__MAX);
	struct sl_selector *pod;
	SL_SCALAR_SEQ(int, types); /* enum sl_np_type */
	struct sl_np_rule *ingress;
	uint32_t n_ingress;
	struct sl_np_rule *egress;
	uint32_t n_egress;
};

/* A Cilium rule (spec, or one of specs): a sluice policy without a name,
 * its directions in enum sl_direction's order. */
enum {
	SL_CNP_SELECTOR,
	SL_CNP_INGRESS,
	SL_CNP_EGRESS,
	SL_CNP_INGRESS_DENY,
	SL_CNP_EGRESS_DENY,
	SL_CNP_DESCRIPTION,
	SL_CNP_LABELS,
	SL_CNP__MAX
};
struct sl_cnp_spec {
	SL_MARKS(SL_CNP__MAX);
	struct sl_selector *selector;
	struct {
		struct sl_rule *v;
		uint32_t n;
	} rules[SL_DIRECTION__MAX];
	char *description;
};

/* A Cilium document's specs: a list of its rules. */
enum { SL_CNPSPECS_LIST, SL_CNPSPECS__MAX };
struct sl_cnp_specs {
	SL_MARKS(SL_CNPSPECS__MAX);
	struct sl_cnp_spec *v;
	uint32_t n;
};

/* Defaults: Cilium's map sizes. */
extern const uint32_t sl_map_size_default[SL_MAP__MAX];
extern const char *const sl_map_size_name[SL_MAP__MAX];

#define SL_VXLAN_PORT_DEFAULT 8472
#define SL_ICV_BITS_DEFAULT 128
#define SL_IDENTITY_MIN 256u
#define SL_IDENTITY_MAX 16777215u
#define SL_IDENTITY_CIDR_BASE 16777216u
#define SL_SPI_MAX 15u

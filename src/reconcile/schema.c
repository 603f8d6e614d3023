/* SPDX-License-Identifier: Apache-2.0 */
#include "schema.h"

#include <stddef.h>

#include "common/util.h"
#include "model.h"

const uint32_t sl_map_size_default[SL_MAP__MAX] = {
	[SL_MAP_CT_TCP] = 1048576, [SL_MAP_CT_ANY] = 262144,	[SL_MAP_IPCACHE] = 524288,
	[SL_MAP_ENDPOINTS] = 65535, [SL_MAP_POLICY] = 1048576, [SL_MAP_SERVICES] = 65536,
	[SL_MAP_BACKENDS] = 65536,  [SL_MAP_TUNNEL] = 65536,	[SL_MAP_PREFILTER] = 65536,
	[SL_MAP_SOCK_NAT] = 262144,
};

const char *const sl_map_size_name[SL_MAP__MAX] = {
	[SL_MAP_CT_TCP] = "ctTcp",	 [SL_MAP_CT_ANY] = "ctAny",	[SL_MAP_IPCACHE] = "ipcache",
	[SL_MAP_ENDPOINTS] = "endpoints", [SL_MAP_POLICY] = "policy",	[SL_MAP_SERVICES] = "services",
	[SL_MAP_BACKENDS] = "backends",	 [SL_MAP_TUNNEL] = "tunnel",	[SL_MAP_PREFILTER] = "prefilter",
	[SL_MAP_SOCK_NAT] = "sockRevNat",
};

#define OPT (CYAML_FLAG_OPTIONAL)
#define OPT_PTR (CYAML_FLAG_OPTIONAL | CYAML_FLAG_POINTER)
#define REQ_PTR (CYAML_FLAG_POINTER)
#define STR_PTR(key, flags, st, member) \
	CYAML_FIELD_STRING_PTR(key, (flags) | CYAML_FLAG_POINTER, st, member, 0, CYAML_UNLIMITED)
#define SEQ(key, flags, st, member, count, entry) \
	CYAML_FIELD_SEQUENCE_COUNT(key, (flags) | CYAML_FLAG_POINTER, st, member, count, entry, 0, CYAML_UNLIMITED)
/* A scalar sequence, with its positions right behind the count (SL_SCALAR_SEQ). */
#define SCALAR_SEQ(key, flags, st, member, entry) SEQ(key, flags, st, member, n_##member, entry)
#define CHECK_SCALAR_SEQ(st, member)                                                         \
	_Static_assert(offsetof(st, member##_m) ==                                           \
			       ((offsetof(st, n_##member) + sizeof(uint32_t) + 7u) & ~7u), \
		       #st "." #member ": positions must follow the count")
/* The fields array of a mapping struct must have exactly as many entries
 * (plus the terminator) as its SL_MARKS has field slots. */
#define CHECK_FIELDS(st, fields, nfields)                                         \
	_Static_assert(ARRAY_SIZE(fields) == (nfields) + 1, #fields ": field count"); \
	_Static_assert(offsetof(st, m) == 0 &&                                    \
			       sizeof(((st *)NULL)->m) == sizeof(struct sl_mark) * ((nfields) + 1), \
		       #st ": marks")

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};
static const cyaml_schema_value_t uint_entry = {
	CYAML_VALUE_UINT(CYAML_FLAG_DEFAULT, uint32_t),
};

/* ---- enums ---- */

static const cyaml_strval_t mode_strings[] = {
	{ "veth", SL_MODE_VETH },
	{ "ipvlan", SL_MODE_IPVLAN },
};
static const cyaml_strval_t tunnel_strings[] = {
	{ "disabled", SL_TUNNEL_DISABLED },
	{ "vxlan", SL_TUNNEL_VXLAN },
};
static const cyaml_strval_t enforcement_strings[] = {
	{ "default", SL_ENFORCE_DEFAULT },
	{ "always", SL_ENFORCE_ALWAYS },
	{ "never", SL_ENFORCE_NEVER },
};
static const cyaml_strval_t localhost_strings[] = {
	{ "always", SL_LOCALHOST_ALWAYS },
	{ "policy", SL_LOCALHOST_POLICY },
};
static const cyaml_strval_t xdp_mode_strings[] = {
	{ "native", SL_XDP_NATIVE },
	{ "generic", SL_XDP_GENERIC },
};
static const cyaml_strval_t rule_proto_strings[] = {
	{ "TCP", SL_PROTO_TCP },
	{ "UDP", SL_PROTO_UDP },
	{ "SCTP", SL_PROTO_SCTP },
	{ "ANY", SL_PROTO_ANY },
};
static const cyaml_strval_t frontend_proto_strings[] = {
	{ "TCP", SL_PROTO_TCP },
	{ "UDP", SL_PROTO_UDP },
	{ "SCTP", SL_PROTO_SCTP },
};
static const cyaml_strval_t entity_strings[] = {
	{ "host", SL_ENTITY_HOST },	    { "world", SL_ENTITY_WORLD }, { "remote-node", SL_ENTITY_REMOTE_NODE },
	{ "cluster", SL_ENTITY_CLUSTER }, { "all", SL_ENTITY_ALL },
};
static const cyaml_strval_t operator_strings[] = {
	{ "In", SL_OP_IN },
	{ "NotIn", SL_OP_NOT_IN },
	{ "Exists", SL_OP_EXISTS },
	{ "DoesNotExist", SL_OP_DOES_NOT_EXIST },
};
static const cyaml_strval_t backend_state_strings[] = {
	{ "active", SL_BACKEND_ACTIVE },
	{ "terminating", SL_BACKEND_TERMINATING },
};
static const cyaml_strval_t aead_strings[] = {
	{ "rfc4106(gcm(aes))", SL_AEAD_RFC4106_GCM_AES },
};
static const cyaml_strval_t auth_strings[] = {
	{ "hmac(sha256)", SL_AUTH_HMAC_SHA256 },
};
static const cyaml_strval_t cipher_strings[] = {
	{ "cbc(aes)", SL_CIPHER_CBC_AES },
};

#define ENUM(key, flags, st, member, strings) \
	CYAML_FIELD_ENUM(key, flags, st, member, strings, ARRAY_SIZE(strings))

/* ---- labels ---- */

static const cyaml_schema_field_t label_fields[] = {
	[SL_LABEL_KEY] = STR_PTR("key", 0, struct sl_label, key),
	[SL_LABEL_VALUE] = STR_PTR("value", 0, struct sl_label, value),
	[SL_LABEL__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_label, label_fields, SL_LABEL__MAX);
const cyaml_schema_value_t sl_schema_label_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_label, label_fields),
};
#define LABELS(key, flags, st, member, count) SEQ(key, flags, st, member, count, &sl_schema_label_entry)

/* ---- selectors ---- */


static const cyaml_schema_field_t expr_fields[] = {
	[SL_EXPR_KEY] = STR_PTR("key", 0, struct sl_expr, key),
	[SL_EXPR_OPERATOR] = ENUM("operator", 0, struct sl_expr, op, operator_strings),
	[SL_EXPR_VALUES] = SCALAR_SEQ("values", OPT, struct sl_expr, values, &string_entry),
	[SL_EXPR__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_expr, expr_fields, SL_EXPR__MAX);
CHECK_SCALAR_SEQ(struct sl_expr, values);
static const cyaml_schema_value_t expr_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_expr, expr_fields),
};

static const cyaml_schema_field_t selector_fields[] = {
	[SL_SEL_MATCH_LABELS] = LABELS("matchLabels", OPT, struct sl_selector, match_labels, n_match_labels),
	[SL_SEL_MATCH_EXPRESSIONS] = SEQ("matchExpressions", OPT, struct sl_selector, exprs, n_exprs, &expr_entry),
	[SL_SEL__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_selector, selector_fields, SL_SEL__MAX);
static const cyaml_schema_value_t selector_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_selector, selector_fields),
};

/* ---- policies ---- */

static const cyaml_schema_field_t port_fields[] = {
	[SL_PORT_PORT] = CYAML_FIELD_UINT("port", OPT, struct sl_port, port),
	[SL_PORT_PROTOCOL] = ENUM("protocol", OPT, struct sl_port, protocol, rule_proto_strings),
	[SL_PORT_END_PORT] = CYAML_FIELD_UINT("endPort", OPT, struct sl_port, end_port),
	[SL_PORT__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_port, port_fields, SL_PORT__MAX);
static const cyaml_schema_value_t port_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_port, port_fields),
};

static const cyaml_schema_field_t port_rule_fields[] = {
	[SL_PORTRULE_PORTS] = SEQ("ports", 0, struct sl_port_rule, ports, n_ports, &port_entry),
	[SL_PORTRULE_PROXY_PORT] = CYAML_FIELD_UINT("proxyPort", OPT, struct sl_port_rule, proxy_port),
	[SL_PORTRULE__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_port_rule, port_rule_fields, SL_PORTRULE__MAX);
static const cyaml_schema_value_t port_rule_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_port_rule, port_rule_fields),
};

static const cyaml_schema_field_t cidr_set_fields[] = {
	[SL_CIDRSET_CIDR] = STR_PTR("cidr", 0, struct sl_cidr_set, cidr),
	[SL_CIDRSET_EXCEPT] = SCALAR_SEQ("except", OPT, struct sl_cidr_set, except, &string_entry),
	[SL_CIDRSET__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_cidr_set, cidr_set_fields, SL_CIDRSET__MAX);
CHECK_SCALAR_SEQ(struct sl_cidr_set, except);
static const cyaml_schema_value_t cidr_set_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_cidr_set, cidr_set_fields),
};

static const cyaml_strval_t icmp_family_strings[] = {
	{ "IPv4", SL_ICMP_IPV4 },
	{ "IPv6", SL_ICMP_IPV6 },
};
static const cyaml_schema_field_t icmp_field_fields[] = {
	[SL_ICMPF_TYPE] = STR_PTR("type", 0, struct sl_icmp_field, type),
	[SL_ICMPF_FAMILY] = ENUM("family", OPT, struct sl_icmp_field, family, icmp_family_strings),
	[SL_ICMPF__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_icmp_field, icmp_field_fields, SL_ICMPF__MAX);
static const cyaml_schema_value_t icmp_field_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_icmp_field, icmp_field_fields),
};
static const cyaml_schema_field_t icmp_rule_fields[] = {
	[SL_ICMPRULE_FIELDS] = SEQ("fields", 0, struct sl_icmp_rule, fields, n_fields, &icmp_field_entry),
	[SL_ICMPRULE__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_icmp_rule, icmp_rule_fields, SL_ICMPRULE__MAX);
static const cyaml_schema_value_t icmp_rule_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_icmp_rule, icmp_rule_fields),
};

static const cyaml_schema_value_t entity_entry = {
	CYAML_VALUE_ENUM(CYAML_FLAG_DEFAULT, int, entity_strings, ARRAY_SIZE(entity_strings)),
};

#define RULE_FIELDS(dir)                                                                                \
	{                                                                                               \
		[SL_RULE_ENDPOINTS] = SEQ(dir "Endpoints", OPT, struct sl_rule, endpoints, n_endpoints, \
					  &selector_entry),                                             \
		[SL_RULE_CIDR] = SCALAR_SEQ(dir "CIDR", OPT, struct sl_rule, cidrs, &string_entry),     \
		[SL_RULE_CIDR_SET] = SEQ(dir "CIDRSet", OPT, struct sl_rule, cidr_sets, n_cidr_sets,    \
					 &cidr_set_entry),                                              \
		[SL_RULE_ENTITIES] = SCALAR_SEQ(dir "Entities", OPT, struct sl_rule, entities,         \
						&entity_entry),                                         \
		[SL_RULE_TO_PORTS] = SEQ("toPorts", OPT, struct sl_rule, to_ports, n_to_ports,          \
					 &port_rule_entry),                                             \
		[SL_RULE_ICMPS] = SEQ("icmps", OPT, struct sl_rule, icmps, n_icmps, &icmp_rule_entry),  \
		[SL_RULE__MAX] = CYAML_FIELD_END,                                                       \
	}
static const cyaml_schema_field_t ingress_rule_fields[] = RULE_FIELDS("from");
static const cyaml_schema_field_t egress_rule_fields[] = RULE_FIELDS("to");
CHECK_FIELDS(struct sl_rule, ingress_rule_fields, SL_RULE__MAX);
CHECK_FIELDS(struct sl_rule, egress_rule_fields, SL_RULE__MAX);
CHECK_SCALAR_SEQ(struct sl_rule, cidrs);
CHECK_SCALAR_SEQ(struct sl_rule, entities);
static const cyaml_schema_value_t ingress_rule_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_rule, ingress_rule_fields),
};
static const cyaml_schema_value_t egress_rule_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_rule, egress_rule_fields),
};

#define RULES(key, dir, entry)                                                                      \
	CYAML_FIELD_SEQUENCE_COUNT(key, OPT_PTR, struct sl_policy, rules[dir].v, rules[dir].n, entry, \
				   0, CYAML_UNLIMITED)
static const cyaml_schema_field_t policy_fields[] = {
	[SL_POLICY_NAME] = STR_PTR("name", 0, struct sl_policy, name),
	[SL_POLICY_SELECTOR] = CYAML_FIELD_MAPPING_PTR("endpointSelector", REQ_PTR, struct sl_policy, selector,
						       selector_fields),
	[SL_POLICY_INGRESS] = RULES("ingress", SL_INGRESS, &ingress_rule_entry),
	[SL_POLICY_EGRESS] = RULES("egress", SL_EGRESS, &egress_rule_entry),
	[SL_POLICY_INGRESS_DENY] = RULES("ingressDeny", SL_INGRESS_DENY, &ingress_rule_entry),
	[SL_POLICY_EGRESS_DENY] = RULES("egressDeny", SL_EGRESS_DENY, &egress_rule_entry),
	[SL_POLICY__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_policy, policy_fields, SL_POLICY__MAX);
static const cyaml_schema_value_t policy_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_policy, policy_fields),
};

/* ---- identities, endpoints, nodes ---- */

static const cyaml_schema_field_t identity_fields[] = {
	[SL_IDENTITY_ID] = CYAML_FIELD_UINT("id", 0, struct sl_identity, id),
	[SL_IDENTITY_LABELS] = LABELS("labels", 0, struct sl_identity, labels, n_labels),
	[SL_IDENTITY__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_identity, identity_fields, SL_IDENTITY__MAX);
static const cyaml_schema_value_t identity_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_identity, identity_fields),
};

static const cyaml_schema_field_t endpoint_fields[] = {
	[SL_EP_NAME] = STR_PTR("name", 0, struct sl_endpoint, name),
	[SL_EP_INTERFACE] = STR_PTR("interface", OPT, struct sl_endpoint, interface),
	[SL_EP_IPV4] = STR_PTR("ipv4", OPT, struct sl_endpoint, ipv4),
	[SL_EP_IPV6] = STR_PTR("ipv6", OPT, struct sl_endpoint, ipv6),
	[SL_EP_IDENTITY] = CYAML_FIELD_UINT("identity", OPT, struct sl_endpoint, identity),
	[SL_EP_LABELS] = LABELS("labels", OPT, struct sl_endpoint, labels, n_labels),
	[SL_EP_NODE] = STR_PTR("node", OPT, struct sl_endpoint, node),
	[SL_EP_ID] = CYAML_FIELD_UINT("id", OPT, struct sl_endpoint, id),
	[SL_EP_NETNS] = STR_PTR("netns", OPT, struct sl_endpoint, netns),
	[SL_EP__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_endpoint, endpoint_fields, SL_EP__MAX);
static const cyaml_schema_value_t endpoint_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_endpoint, endpoint_fields),
};

static const cyaml_schema_field_t node_fields[] = {
	[SL_NODE_NAME] = STR_PTR("name", 0, struct sl_node, name),
	[SL_NODE_IP] = STR_PTR("ip", 0, struct sl_node, ip),
	[SL_NODE_POD_CIDRS] = SCALAR_SEQ("podCIDRs", OPT, struct sl_node, pod_cidrs, &string_entry),
	[SL_NODE_ENCRYPT_KEYS] = SCALAR_SEQ("encryptKeys", OPT, struct sl_node, encrypt_keys, &uint_entry),
	[SL_NODE__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_node, node_fields, SL_NODE__MAX);
CHECK_SCALAR_SEQ(struct sl_node, pod_cidrs);
CHECK_SCALAR_SEQ(struct sl_node, encrypt_keys);
static const cyaml_schema_value_t node_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_node, node_fields),
};

/* ---- datapath, prefilter ---- */

#define MAP_SIZE(key, idx) [idx] = CYAML_FIELD_UINT(key, OPT, struct sl_map_sizes, size[idx])
static const cyaml_schema_field_t map_sizes_fields[] = {
	MAP_SIZE("ctTcp", SL_MAP_CT_TCP),
	MAP_SIZE("ctAny", SL_MAP_CT_ANY),
	MAP_SIZE("ipcache", SL_MAP_IPCACHE),
	MAP_SIZE("endpoints", SL_MAP_ENDPOINTS),
	MAP_SIZE("policy", SL_MAP_POLICY),
	MAP_SIZE("services", SL_MAP_SERVICES),
	MAP_SIZE("backends", SL_MAP_BACKENDS),
	MAP_SIZE("tunnel", SL_MAP_TUNNEL),
	MAP_SIZE("prefilter", SL_MAP_PREFILTER),
	MAP_SIZE("sockRevNat", SL_MAP_SOCK_NAT),
	[SL_MAP__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_map_sizes, map_sizes_fields, SL_MAP__MAX);

static const cyaml_schema_field_t datapath_fields[] = {
	[SL_DP_MODE] = ENUM("mode", OPT, struct sl_datapath, mode, mode_strings),
	[SL_DP_IPVLAN_MASTER] = STR_PTR("ipvlanMaster", OPT, struct sl_datapath, ipvlan_master),
	[SL_DP_TUNNEL] = ENUM("tunnel", OPT, struct sl_datapath, tunnel, tunnel_strings),
	[SL_DP_VXLAN_PORT] = CYAML_FIELD_UINT("vxlanPort", OPT, struct sl_datapath, vxlan_port),
	[SL_DP_UNDERLAY_DEVICE] = STR_PTR("underlayDevice", OPT, struct sl_datapath, underlay_device),
	[SL_DP_POLICY_ENFORCEMENT] = ENUM("policyEnforcement", OPT, struct sl_datapath, policy_enforcement,
					  enforcement_strings),
	[SL_DP_ALLOW_LOCALHOST] = ENUM("allowLocalhost", OPT, struct sl_datapath, allow_localhost, localhost_strings),
	[SL_DP_SOCKET_ACCELERATION] = CYAML_FIELD_BOOL("socketAcceleration", OPT, struct sl_datapath,
						       socket_acceleration),
	[SL_DP_HOST_REACHABLE_SERVICES] = CYAML_FIELD_BOOL("hostReachableServices", OPT, struct sl_datapath,
							   host_reachable_services),
	[SL_DP_CGROUP_PATH] = STR_PTR("cgroupPath", OPT, struct sl_datapath, cgroup_path),
	[SL_DP_MAP_SIZES] = CYAML_FIELD_MAPPING_PTR("mapSizes", OPT_PTR, struct sl_datapath, map_sizes,
						    map_sizes_fields),
	[SL_DP__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_datapath, datapath_fields, SL_DP__MAX);

static const cyaml_schema_field_t prefilter_fields[] = {
	[SL_PF_DEVICE] = STR_PTR("device", 0, struct sl_prefilter, device),
	[SL_PF_XDP_MODE] = ENUM("xdpMode", OPT, struct sl_prefilter, xdp_mode, xdp_mode_strings),
	[SL_PF_DENY] = SCALAR_SEQ("deny", OPT, struct sl_prefilter, deny, &string_entry),
	[SL_PF__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_prefilter, prefilter_fields, SL_PF__MAX);
CHECK_SCALAR_SEQ(struct sl_prefilter, deny);

/* ---- services ---- */

static const cyaml_schema_field_t frontend_fields[] = {
	[SL_FE_IP] = STR_PTR("ip", 0, struct sl_frontend, ip),
	[SL_FE_PORT] = CYAML_FIELD_UINT("port", 0, struct sl_frontend, port),
	[SL_FE_PROTOCOL] = ENUM("protocol", OPT, struct sl_frontend, protocol, frontend_proto_strings),
	[SL_FE__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_frontend, frontend_fields, SL_FE__MAX);

static const cyaml_schema_field_t backend_fields[] = {
	[SL_BE_IP] = STR_PTR("ip", 0, struct sl_backend, ip),
	[SL_BE_PORT] = CYAML_FIELD_UINT("port", OPT, struct sl_backend, port),
	[SL_BE_WEIGHT] = CYAML_FIELD_UINT("weight", OPT, struct sl_backend, weight),
	[SL_BE_STATE] = ENUM("state", OPT, struct sl_backend, state, backend_state_strings),
	[SL_BE__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_backend, backend_fields, SL_BE__MAX);
static const cyaml_schema_value_t backend_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_backend, backend_fields),
};

static const cyaml_schema_field_t service_fields[] = {
	[SL_SVC_NAME] = STR_PTR("name", 0, struct sl_service, name),
	[SL_SVC_FRONTEND] = CYAML_FIELD_MAPPING_PTR("frontend", REQ_PTR, struct sl_service, frontend, frontend_fields),
	[SL_SVC_BACKENDS] = SEQ("backends", OPT, struct sl_service, backends, n_backends, &backend_entry),
	[SL_SVC__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_service, service_fields, SL_SVC__MAX);
static const cyaml_schema_value_t service_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_service, service_fields),
};

/* ---- encryption ---- */

static const cyaml_schema_field_t key_fields[] = {
	[SL_KEY_SPI] = CYAML_FIELD_UINT("spi", 0, struct sl_key, spi),
	[SL_KEY_AEAD] = ENUM("aead", OPT, struct sl_key, aead, aead_strings),
	[SL_KEY_KEY] = STR_PTR("key", OPT, struct sl_key, key),
	[SL_KEY_KEY_FILE] = STR_PTR("keyFile", OPT, struct sl_key, key_file),
	[SL_KEY_ICV_BITS] = CYAML_FIELD_UINT("icvBits", OPT, struct sl_key, icv_bits),
	[SL_KEY_AUTH] = ENUM("auth", OPT, struct sl_key, auth, auth_strings),
	[SL_KEY_AUTH_KEY] = STR_PTR("authKey", OPT, struct sl_key, auth_key),
	[SL_KEY_AUTH_KEY_FILE] = STR_PTR("authKeyFile", OPT, struct sl_key, auth_key_file),
	[SL_KEY_CIPHER] = ENUM("cipher", OPT, struct sl_key, cipher, cipher_strings),
	[SL_KEY_CIPHER_KEY] = STR_PTR("cipherKey", OPT, struct sl_key, cipher_key),
	[SL_KEY_CIPHER_KEY_FILE] = STR_PTR("cipherKeyFile", OPT, struct sl_key, cipher_key_file),
	[SL_KEY__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_key, key_fields, SL_KEY__MAX);
static const cyaml_schema_value_t key_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_key, key_fields),
};

static const cyaml_schema_field_t encryption_fields[] = {
	[SL_ENC_ENABLED] = CYAML_FIELD_BOOL("enabled", OPT, struct sl_encryption, enabled),
	[SL_ENC_KEYS] = SEQ("keys", OPT, struct sl_encryption, keys, n_keys, &key_entry),
	[SL_ENC__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_encryption, encryption_fields, SL_ENC__MAX);

/* ---- the document ---- */

static const cyaml_schema_field_t doc_fields[] = {
	[SL_DOC_VERSION] = CYAML_FIELD_UINT("version", 0, struct sl_doc, version),
	[SL_DOC_NODE] = STR_PTR("node", OPT, struct sl_doc, node),
	[SL_DOC_NODES] = SEQ("nodes", OPT, struct sl_doc, nodes, n_nodes, &node_entry),
	[SL_DOC_DATAPATH] = CYAML_FIELD_MAPPING_PTR("datapath", OPT_PTR, struct sl_doc, datapath, datapath_fields),
	[SL_DOC_PREFILTER] = CYAML_FIELD_MAPPING_PTR("prefilter", OPT_PTR, struct sl_doc, prefilter,
						     prefilter_fields),
	[SL_DOC_IDENTITIES] = SEQ("identities", OPT, struct sl_doc, identities, n_identities, &identity_entry),
	[SL_DOC_ENDPOINTS] = SEQ("endpoints", OPT, struct sl_doc, endpoints, n_endpoints, &endpoint_entry),
	[SL_DOC_POLICIES] = SEQ("policies", OPT, struct sl_doc, policies, n_policies, &policy_entry),
	[SL_DOC_SERVICES] = SEQ("services", OPT, struct sl_doc, services, n_services, &service_entry),
	[SL_DOC_ENCRYPTION] = CYAML_FIELD_MAPPING_PTR("encryption", OPT_PTR, struct sl_doc, encryption,
						      encryption_fields),
	[SL_DOC__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_doc, doc_fields, SL_DOC__MAX);

const cyaml_schema_value_t sl_schema_doc = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct sl_doc, doc_fields),
};

/* ---- Kubernetes NetworkPolicy and Cilium policies (k8s.c) ---- */

#define IGNORED(key) CYAML_FIELD_IGNORE(key, OPT)

static const cyaml_schema_field_t k8s_meta_fields[] = {
	[SL_K8SMETA_NAME] = STR_PTR("name", OPT, struct sl_k8s_meta, name),
	[SL_K8SMETA_NAMESPACE] = STR_PTR("namespace", OPT, struct sl_k8s_meta, namespace),
	[SL_K8SMETA_LABELS] = LABELS("labels", OPT, struct sl_k8s_meta, labels, n_labels),
	IGNORED("annotations"),
	IGNORED("uid"),
	IGNORED("resourceVersion"),
	IGNORED("generation"),
	IGNORED("creationTimestamp"),
	IGNORED("managedFields"),
	IGNORED("selfLink"),
	IGNORED("finalizers"),
	IGNORED("ownerReferences"),
	IGNORED("generateName"),
	IGNORED("deletionTimestamp"),
	IGNORED("deletionGracePeriodSeconds"),
	CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_k8s_meta, k8s_meta_fields, SL_K8SMETA__MAX);
const cyaml_schema_value_t sl_schema_k8s_meta = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct sl_k8s_meta, k8s_meta_fields),
};

static const cyaml_strval_t np_proto_strings[] = {
	{ "TCP", SL_PROTO_TCP },
	{ "UDP", SL_PROTO_UDP },
	{ "SCTP", SL_PROTO_SCTP },
};
static const cyaml_schema_field_t np_port_fields[] = {
	[SL_NPPORT_PROTOCOL] = ENUM("protocol", OPT, struct sl_np_port, protocol, np_proto_strings),
	[SL_NPPORT_PORT] = STR_PTR("port", OPT, struct sl_np_port, port),
	[SL_NPPORT_END_PORT] = CYAML_FIELD_UINT("endPort", OPT, struct sl_np_port, end_port),
	[SL_NPPORT__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_np_port, np_port_fields, SL_NPPORT__MAX);
static const cyaml_schema_value_t np_port_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_np_port, np_port_fields),
};

static const cyaml_schema_field_t np_ipblock_fields[] = {
	[SL_IPBLOCK_CIDR] = STR_PTR("cidr", 0, struct sl_np_ipblock, cidr),
	[SL_IPBLOCK_EXCEPT] = SCALAR_SEQ("except", OPT, struct sl_np_ipblock, except, &string_entry),
	[SL_IPBLOCK__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_np_ipblock, np_ipblock_fields, SL_IPBLOCK__MAX);
CHECK_SCALAR_SEQ(struct sl_np_ipblock, except);

static const cyaml_schema_field_t np_peer_fields[] = {
	[SL_NPPEER_POD] = CYAML_FIELD_MAPPING_PTR("podSelector", OPT_PTR, struct sl_np_peer, pod, selector_fields),
	[SL_NPPEER_NS] = CYAML_FIELD_MAPPING_PTR("namespaceSelector", OPT_PTR, struct sl_np_peer, ns,
						 selector_fields),
	[SL_NPPEER_IPBLOCK] = CYAML_FIELD_MAPPING_PTR("ipBlock", OPT_PTR, struct sl_np_peer, ip_block,
						      np_ipblock_fields),
	[SL_NPPEER__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_np_peer, np_peer_fields, SL_NPPEER__MAX);
static const cyaml_schema_value_t np_peer_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_np_peer, np_peer_fields),
};

#define NP_RULE_FIELDS(pkey)                                                                           \
	{                                                                                               \
		[SL_NPRULE_PEERS] = SEQ(pkey, OPT, struct sl_np_rule, peers, n_peers, &np_peer_entry), \
		[SL_NPRULE_PORTS] = SEQ("ports", OPT, struct sl_np_rule, ports, n_ports, &np_port_entry), \
		[SL_NPRULE__MAX] = CYAML_FIELD_END,                                                     \
	}
static const cyaml_schema_field_t np_ingress_fields[] = NP_RULE_FIELDS("from");
static const cyaml_schema_field_t np_egress_fields[] = NP_RULE_FIELDS("to");
CHECK_FIELDS(struct sl_np_rule, np_ingress_fields, SL_NPRULE__MAX);
CHECK_FIELDS(struct sl_np_rule, np_egress_fields, SL_NPRULE__MAX);
static const cyaml_schema_value_t np_ingress_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_np_rule, np_ingress_fields),
};
static const cyaml_schema_value_t np_egress_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_np_rule, np_egress_fields),
};

static const cyaml_strval_t np_type_strings[] = {
	{ "Ingress", SL_NPTYPE_INGRESS },
	{ "Egress", SL_NPTYPE_EGRESS },
};
static const cyaml_schema_value_t np_type_entry = {
	CYAML_VALUE_ENUM(CYAML_FLAG_DEFAULT, int, np_type_strings, ARRAY_SIZE(np_type_strings)),
};
static const cyaml_schema_field_t np_spec_fields[] = {
	[SL_NPSPEC_POD] = CYAML_FIELD_MAPPING_PTR("podSelector", REQ_PTR, struct sl_np_spec, pod, selector_fields),
	[SL_NPSPEC_TYPES] = SCALAR_SEQ("policyTypes", OPT, struct sl_np_spec, types, &np_type_entry),
	[SL_NPSPEC_INGRESS] = SEQ("ingress", OPT, struct sl_np_spec, ingress, n_ingress, &np_ingress_entry),
	[SL_NPSPEC_EGRESS] = SEQ("egress", OPT, struct sl_np_spec, egress, n_egress, &np_egress_entry),
	[SL_NPSPEC__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_np_spec, np_spec_fields, SL_NPSPEC__MAX);
CHECK_SCALAR_SEQ(struct sl_np_spec, types);
const cyaml_schema_value_t sl_schema_np_spec = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct sl_np_spec, np_spec_fields),
};

#define CNP_RULES(key, dir, entry)                                                                      \
	CYAML_FIELD_SEQUENCE_COUNT(key, OPT_PTR, struct sl_cnp_spec, rules[dir].v, rules[dir].n, entry, \
				   0, CYAML_UNLIMITED)
static const cyaml_schema_field_t cnp_spec_fields[] = {
	[SL_CNP_SELECTOR] = CYAML_FIELD_MAPPING_PTR("endpointSelector", OPT_PTR, struct sl_cnp_spec, selector,
						    selector_fields),
	[SL_CNP_INGRESS] = CNP_RULES("ingress", SL_INGRESS, &ingress_rule_entry),
	[SL_CNP_EGRESS] = CNP_RULES("egress", SL_EGRESS, &egress_rule_entry),
	[SL_CNP_INGRESS_DENY] = CNP_RULES("ingressDeny", SL_INGRESS_DENY, &ingress_rule_entry),
	[SL_CNP_EGRESS_DENY] = CNP_RULES("egressDeny", SL_EGRESS_DENY, &egress_rule_entry),
	[SL_CNP_DESCRIPTION] = STR_PTR("description", OPT, struct sl_cnp_spec, description),
	[SL_CNP_LABELS] = IGNORED("labels"), /* the rule's own labels: names, not behaviour */
	[SL_CNP__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_cnp_spec, cnp_spec_fields, SL_CNP__MAX);
const cyaml_schema_value_t sl_schema_cnp_spec = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct sl_cnp_spec, cnp_spec_fields),
};
static const cyaml_schema_value_t cnp_spec_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_cnp_spec, cnp_spec_fields),
};
static const cyaml_schema_field_t cnp_specs_fields[] = {
	[SL_CNPSPECS_LIST] = SEQ("specs", 0, struct sl_cnp_specs, v, n, &cnp_spec_entry),
	[SL_CNPSPECS__MAX] = CYAML_FIELD_END,
};
CHECK_FIELDS(struct sl_cnp_specs, cnp_specs_fields, SL_CNPSPECS__MAX);
const cyaml_schema_value_t sl_schema_cnp_specs = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct sl_cnp_specs, cnp_specs_fields),
};

const struct sl_named_list sl_named_lists[] = {
	{ &identity_entry, SL_IDENTITY_ID }, { &endpoint_entry, SL_EP_NAME }, { &policy_entry, SL_POLICY_NAME },
	{ &service_entry, SL_SVC_NAME },     { &node_entry, SL_NODE_NAME },   { &key_entry, SL_KEY_SPI },
};
const unsigned sl_n_named_lists = ARRAY_SIZE(sl_named_lists);

unsigned sl_schema_n_fields(const cyaml_schema_value_t *mapping)
{
	unsigned n = 0;

	while (mapping->mapping.fields[n].key)
		n++;
	return n;
}

int sl_schema_presence_matters(const cyaml_schema_field_t *f)
{
	return (f >= &policy_fields[SL_POLICY_INGRESS] && f <= &policy_fields[SL_POLICY_EGRESS_DENY]) ||
	       (f >= &cnp_spec_fields[SL_CNP_INGRESS] && f <= &cnp_spec_fields[SL_CNP_EGRESS_DENY]);
}

uint64_t sl_schema_load_count(const void *p, uint32_t size)
{
	switch (size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return *(const uint16_t *)p;
	case 4:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

void sl_schema_free_mapping(const cyaml_schema_value_t *s, void *obj)
{
	for (const cyaml_schema_field_t *f = s->mapping.fields; f->key; f++) {
		char *p = (char *)obj + f->data_offset;

		if (f->value.type == CYAML_MAPPING) {
			void *sub = f->value.flags & CYAML_FLAG_POINTER ? *(void **)p : p;

			if (!sub)
				continue;
			sl_schema_free_mapping(&f->value, sub);
			if (f->value.flags & CYAML_FLAG_POINTER) {
				free(sub);
				*(void **)p = NULL;
			}
		} else if (f->value.type == CYAML_SEQUENCE) {
			const cyaml_schema_value_t *e = f->value.sequence.entry;
			char *arr = *(char **)p;
			uint64_t n = sl_schema_load_count((char *)obj + f->count_offset, f->count_size);

			if (e->type == CYAML_MAPPING)
				for (uint64_t i = 0; arr && i < n; i++)
					sl_schema_free_mapping(e, arr + i * e->data_size);
			free(arr);
			*(char **)p = NULL;
			if (sl_schema_is_scalar_seq(f)) {
				void **marks = (void **)((char *)obj + sl_schema_marks_offset(f));

				free(*marks);
				*marks = NULL;
			}
		}
	}
}

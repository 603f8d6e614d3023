/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define IDS                                                 \
	"identities:\n"                                     \
	"  - {id: 1000, labels: {app: web}}\n"              \
	"  - {id: 1001, labels: {app: db, tier: data}}\n"

Test(validate, endpoint_identity_from_labels)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n" IDS "endpoints:\n"
		  "  - {name: db-1, interface: lxc1, ipv4: 10.1.0.1, labels: {tier: data, app: db}}\n"
		  "  - {name: web-1, interface: lxc2, ipv4: 10.1.0.2, identity: 1000}\n",
		  true);
	assert_no_diags(&ld);
	cr_assert_eq(ld.state.endpoints[0].identity, 1001);
	sl_load_free(&ld);
}

Test(validate, endpoint_references)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n" IDS "endpoints:\n"
		  "  - {name: a, interface: lxc1, ipv4: 10.1.0.1, labels: {app: db}}\n"
		  "  - {name: b, interface: lxc2, ipv4: 10.1.0.2, identity: 1002}\n"
		  "  - {name: c, interface: lxc3, ipv4: 10.1.0.3, identity: 4}\n"
		  "  - {name: d, interface: lxc4, ipv4: 10.1.0.4, identity: 1000, labels: {app: web}}\n"
		  "  - {name: e, interface: lxc5, ipv4: 10.1.0.5}\n"
		  "  - {name: f, interface: lxc6, identity: 1000}\n"
		  "  - {name: g, interface: lxc7, ipv4: 10.1.0.7, identity: 1000, node: elsewhere}\n",
		  true);
	assert_diags(&ld,
		     "6:56: endpoints[a].labels: these labels are not the labels of any identity; an endpoint's "
		     "labels must equal one identity's labels exactly\n"
		     "7:58: endpoints[b].identity: identity 1002 is not defined in 'identities'\n"
		     "8:58: endpoints[c].identity: identity 4 is reserved; an endpoint takes one of the identities "
		     "listed in 'identities'\n"
		     "9:72: endpoints[d].labels: give either identity or labels, not both\n"
		     "10:5: endpoints[e]: an endpoint needs an identity: give identity or labels\n"
		     "11:5: endpoints[f]: an endpoint needs an address: give ipv4, ipv6 or both\n"
		     "12:70: endpoints[g].node: 'elsewhere' is not a known node: the state has no 'nodes' section\n");
	sl_load_free(&ld);
}

Test(validate, addresses_and_families)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n" IDS "endpoints:\n"
		  "  - {name: a, interface: lxc1, ipv4: 'fd00::1', ipv6: 10.1.0.1, identity: 1000}\n"
		  "  - {name: b, interface: lxc2, ipv4: 10.1.0.300, identity: 1000}\n"
		  "services:\n"
		  "  - name: s\n"
		  "    frontend: {ip: 10.96.0.1, port: 80}\n"
		  "    backends: [{ip: 'fd00::2'}, {ip: 10.1.0.2, port: 0}, {ip: 10.1.0.3, weight: 0}]\n",
		  true);
	assert_diags(&ld,
		     "6:38: endpoints[a].ipv4: fd00::1 is an IPv6 address; ipv4 takes an IPv4 address\n"
		     "6:55: endpoints[a].ipv6: 10.1.0.1 is an IPv4 address; ipv6 takes an IPv6 address\n"
		     "7:38: endpoints[b].ipv4: '10.1.0.300' is not an IPv4 address\n"
		     "11:21: services[s].backends[0].ip: fd00::2 is an IPv6 address but the frontend 10.96.0.1 is "
		     "IPv4; a service's backends share its family\n"
		     "11:54: services[s].backends[1].port: 0 is not a port (1..65535)\n"
		     "11:81: services[s].backends[2].weight: 0 is not a weight (1..65535)\n");
	sl_load_free(&ld);
}

/* Validation leaves every address and prefix parsed beside its text;
 * what is no address or prefix is family 0. */
Test(validate, addresses_parsed_in_the_model)
{
	const struct sl_state *st;
	struct sl_load ld;
	char buf[64];

	load_text(&ld,
		  "version: 1\nnode: a\n" IDS
		  "nodes: [{name: a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24, 'fd00:1::/64', 10.9.0.1/8]}]\n"
		  "endpoints:\n"
		  "  - {name: e, interface: lxc1, ipv4: 10.1.0.1, ipv6: 'fd00:1::1', identity: 1000}\n"
		  "  - {name: f, interface: lxc2, ipv4: nope, identity: 1000}\n"
		  "policies:\n"
		  "  - name: p\n    endpointSelector: {}\n"
		  "    egress: [{toCIDR: [192.0.2.0/24, 192.0.2.9], toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.2.0.0/16]}]}]\n"
		  "prefilter: {device: eth0, deny: [198.51.100.0/24, bad]}\n"
		  "services:\n  - name: s\n    frontend: {ip: 10.96.0.1, port: 80}\n    backends: [{ip: 10.1.0.1}]\n",
		  true);
	st = &ld.state;
#define PFX(p) (sl_prefix_format((p), buf, sizeof(buf)), buf)
	cr_assert_str_eq(PFX(&st->nodes[0].ip_pfx), "192.168.50.1/32");
	cr_assert_str_eq(PFX(&st->nodes[0].pod_cidrs_pfx[0]), "10.1.0.0/24");
	cr_assert_str_eq(PFX(&st->nodes[0].pod_cidrs_pfx[1]), "fd00:1::/64");
	cr_assert_eq(st->nodes[0].pod_cidrs_pfx[2].family, 0, "host bits set: no prefix");
	cr_assert_str_eq(PFX(&st->endpoints[0].ipv4_pfx), "10.1.0.1/32");
	cr_assert_str_eq(PFX(&st->endpoints[0].ipv6_pfx), "fd00:1::1/128");
	cr_assert_eq(st->endpoints[1].ipv4_pfx.family, 0);
	cr_assert_eq(st->endpoints[1].ipv6_pfx.family, 0, "absent");
	cr_assert_str_eq(PFX(&st->policies[0].rules[SL_EGRESS].v[0].cidrs_pfx[0]), "192.0.2.0/24");
	cr_assert_str_eq(PFX(&st->policies[0].rules[SL_EGRESS].v[0].cidrs_pfx[1]), "192.0.2.9/32");
	cr_assert_str_eq(PFX(&st->policies[0].rules[SL_EGRESS].v[0].cidr_sets[0].cidr_pfx), "10.0.0.0/8");
	cr_assert_str_eq(PFX(&st->policies[0].rules[SL_EGRESS].v[0].cidr_sets[0].except_pfx[0]), "10.2.0.0/16");
	cr_assert_str_eq(PFX(&st->prefilter->deny_pfx[0]), "198.51.100.0/24");
	cr_assert_eq(st->prefilter->deny_pfx[1].family, 0);
	cr_assert_str_eq(PFX(&st->services[0].frontend->ip_pfx), "10.96.0.1/32");
	cr_assert_str_eq(PFX(&st->services[0].backends[0].ip_pfx), "10.1.0.1/32");
#undef PFX
	sl_load_free(&ld);
}

Test(validate, duplicates_across_files_name_both)
{
	struct sl_load ld = {};
	const char *a = "version: 1\n" IDS "endpoints: [{name: web-1, interface: lxc1, ipv4: 10.1.0.1, identity: 1000}]\n";
	const char *b = "version: 1\nendpoints:\n  - {name: web-1, interface: lxc1, ipv4: 10.1.0.1, identity: 1000}\n";
	struct sl_validate_opts o = {};

	cr_assert_geq(sl_load_buffer(&ld, "a.yaml", ".", a, strlen(a)), 0);
	cr_assert_geq(sl_load_buffer(&ld, "b.yaml", ".", b, strlen(b)), 0);
	cr_assert_geq(sl_load_finish(&ld), 0);
	cr_assert_geq(sl_validate(&ld, &o), 0);
	diag_sort(&ld.diags);
	assert_diags(&ld,
		     "3:12: endpoints[web-1].name: endpoint name 'web-1' is already used at a.yaml:5:20\n"
		     "3:30: endpoints[web-1].interface: interface 'lxc1' is already used at a.yaml:5:38\n"
		     "3:42: endpoints[web-1].ipv4: address 10.1.0.1 is already used at a.yaml:5:50\n");
	cr_assert_str_eq(ld.diags.v[0].file, "b.yaml");
	sl_load_free(&ld);
}

Test(validate, identities)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "identities:\n"
		  "  - {id: 2, labels: {a: b}}\n"
		  "  - {id: 16777216, labels: {a: c}}\n"
		  "  - {id: 1000, labels: {a: d}}\n"
		  "  - {id: 1000, labels: {a: e}}\n"
		  "  - {id: 1001, labels: {a: d}}\n"
		  "  - {id: 1002, labels: {'-x': 'y z'}}\n"
		  "  - {id: 1003, labels: {}}\n",
		  true);
	assert_diags(&ld,
		     "3:10: identities[2].id: identity 2 is reserved (world); identities of your own are 256..16777215\n"
		     "4:10: identities[16777216].id: identity 16777216 is in the range sluice gives CIDRs (16777216 "
		     "and up); identities of your own are 256..16777215\n"
		     "6:10: identities[1000].id: identity '1000' is already used at t.yaml:5:10\n"
		     "7:24: identities[1001].labels: label set 'a=d' is already used at t.yaml:5:24\n"
		     "8:25: identities[1002].labels.-x: '-x' is not a label key: a label key's name must start and "
		     "end with a letter or digit\n"
		     "8:31: identities[1002].labels.-x: 'y z' is not a label value: a label value may contain only "
		     "letters, digits, '.', '_' and '-'\n"
		     "9:24: identities[1003].labels: an identity needs at least one label\n");
	sl_load_free(&ld);
}

Test(validate, policies)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n" IDS "endpoints: [{name: w, interface: lxc1, ipv4: 10.1.0.1, identity: 1000}]\n"
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector: {matchLabels: {app: nothing}}\n"
		  "    ingress:\n"
		  "      - fromEndpoints: [{matchExpressions: [{key: app, operator: In}]}]\n"
		  "      - fromEndpoints: [{matchExpressions: [{key: app, operator: Exists, values: [x]}]}]\n"
		  "      - fromCIDRSet: [{cidr: 10.0.0.0/8, except: [11.0.0.0/16, 10.0.0.0/8]}]\n"
		  "      - fromCIDR: [10.0.0.1/8]\n"
		  "      - toPorts: [{ports: [{port: 70000}]}]\n"
		  "      - fromEndpoints: [{matchLabels: {app: ghost}}]\n"
		  "    ingressDeny:\n"
		  "      - toPorts: [{ports: [{port: 80}], proxyPort: 15001}]\n",
		  true);
	assert_diags(&ld,
		     "8:23: warning: policies[p].endpointSelector: this selector matches no endpoint\n"
		     "10:66: policies[p].ingress[0].fromEndpoints[0].matchExpressions[0].operator: In needs at least "
		     "one value\n"
		     "11:82: policies[p].ingress[1].fromEndpoints[0].matchExpressions[0].values: Exists takes no "
		     "values\n"
		     "12:51: policies[p].ingress[2].fromCIDRSet[0].except[0]: 11.0.0.0/16 is not inside 10.0.0.0/8, so "
		     "it cannot be excepted from it\n"
		     "12:64: policies[p].ingress[2].fromCIDRSet[0].except[1]: 10.0.0.0/8 is not inside 10.0.0.0/8, so "
		     "it cannot be excepted from it\n"
		     "13:20: policies[p].ingress[3].fromCIDR[0]: 10.0.0.1/8 has host bits set (the prefix is "
		     "10.0.0.0/8)\n"
		     "14:35: policies[p].ingress[4].toPorts[0].ports[0].port: 70000 is not a port (0..65535)\n"
		     "15:25: warning: policies[p].ingress[5].fromEndpoints[0]: this selector matches no identity\n"
		     "17:52: policies[p].ingressDeny[0].toPorts[0].proxyPort: a deny rule cannot redirect to a proxy\n");
	sl_load_free(&ld);
}

/* endPort: a range port..endPort; icmps: a type by number or by its
 * family's name. Each error at its key, with the document path. */
Test(validate, port_ranges_and_icmp_types)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n" IDS "endpoints: [{name: w, interface: lxc1, ipv4: 10.1.0.1, identity: 1000}]\n"
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector: {matchLabels: {app: web}}\n"
		  "    ingress:\n"
		  "      - toPorts: [{ports: [{port: 8000, endPort: 7999, protocol: TCP}, {port: 8000, endPort: 8000}]}]\n"
		  "      - toPorts: [{ports: [{endPort: 10}, {port: 5, endPort: 70000}, {port: 70000, endPort: 70001}]}]\n"
		  "      - icmps: [{fields: [{type: 256}, {type: '0008'}, {type: EchoRequst}]}]\n"
		  "      - icmps: [{fields: [{type: RedirectMessage}, {type: Echo, family: IPv6}, {type: 0}]}]\n"
		  "      - icmps: [{fields: []}]\n"
		  "        toPorts: [{ports: [{port: 1, endPort: 65535}]}]\n",
		  true);
	assert_diags(&ld,
		     "10:50: policies[p].ingress[0].toPorts[0].ports[0].endPort: endPort 7999 is below port 8000: the "
		     "range is port..endPort\n"
		     "11:38: policies[p].ingress[1].toPorts[0].ports[0].endPort: endPort 10 needs a port to start the "
		     "range from (port: 1..65535); without endPort, port 0 means all ports\n"
		     "11:62: policies[p].ingress[1].toPorts[0].ports[1].endPort: 70000 is not a port (0..65535)\n"
		     "11:77: policies[p].ingress[1].toPorts[0].ports[2].port: 70000 is not a port (0..65535)\n"
		     "12:34: policies[p].ingress[2].icmps[0].fields[0].type: 256 is not an ICMP type (0..255)\n"
		     "12:47: policies[p].ingress[2].icmps[0].fields[1].type: 0008 is not an ICMP type (0..255)\n"
		     "12:63: policies[p].ingress[2].icmps[0].fields[2].type: 'EchoRequst' is not an ICMP type of IPv4: "
		     "give a number 0..255 or one of EchoReply, DestinationUnreachable, Redirect, EchoRequest, Echo, "
		     "RouterAdvertisement, RouterSelection, TimeExceeded, ParameterProblem, Timestamp, TimestampReply, "
		     "Photuris, ExtendedEchoRequest, ExtendedEchoReply\n"
		     "13:34: policies[p].ingress[3].icmps[0].fields[0].type: 'RedirectMessage' is not an ICMP type of "
		     "IPv4: give a number 0..255 or one of EchoReply, DestinationUnreachable, Redirect, EchoRequest, "
		     "Echo, RouterAdvertisement, RouterSelection, TimeExceeded, ParameterProblem, Timestamp, "
		     "TimestampReply, Photuris, ExtendedEchoRequest, ExtendedEchoReply (RedirectMessage is an IPv6 "
		     "type: write family: IPv6)\n"
		     "13:59: policies[p].ingress[3].icmps[0].fields[1].type: 'Echo' is not an ICMP type of IPv6: give a "
		     "number 0..255 or one of DestinationUnreachable, PacketTooBig, TimeExceeded, ParameterProblem, "
		     "EchoRequest, EchoReply, MulticastListenerQuery, MulticastListenerReport, MulticastListenerDone, "
		     "RouterSolicitation, RouterAdvertisement, NeighborSolicitation, NeighborAdvertisement, "
		     "RedirectMessage, RouterRenumbering, ICMPNodeInformationQuery, ICMPNodeInformationResponse, "
		     "InverseNeighborDiscoverySolicitation, InverseNeighborDiscoveryAdvertisement, "
		     "HomeAgentAddressDiscoveryRequest, HomeAgentAddressDiscoveryReply, MobilePrefixSolicitation, "
		     "MobilePrefixAdvertisement, DuplicateAddressRequestCodeSuffix, "
		     "DuplicateAddressConfirmationCodeSuffix, ExtendedEchoRequest, ExtendedEchoReply (Echo is an IPv4 "
		     "type: write family: IPv4)\n"
		     "14:26: warning: policies[p].ingress[4].icmps[0].fields: an empty list of fields matches nothing\n");
	/* validation's reading of each type, for compile */
	cr_expect_eq(ld.state.policies[0].rules[SL_INGRESS].v[2].icmps[0].fields[0].type_num, -1);
	cr_expect_eq(ld.state.policies[0].rules[SL_INGRESS].v[3].icmps[0].fields[1].type_num, -1);
	cr_expect_eq(ld.state.policies[0].rules[SL_INGRESS].v[3].icmps[0].fields[2].type_num, 0);
	sl_load_free(&ld);
}

Test(validate, modes_need_their_settings)
{
	struct sl_load ld;

	load_text(&ld, "version: 1\ndatapath: {mode: ipvlan, tunnel: vxlan, cgroupPath: rel}\n", true);
	assert_diags(&ld,
		     "2:18: datapath.mode: mode: ipvlan needs ipvlanMaster, the device the endpoints' ipvlan slaves "
		     "hang off\n"
		     "2:34: datapath.tunnel: tunnel: vxlan needs the nodes to tunnel to: add a 'nodes' section\n"
		     "2:34: datapath.tunnel: tunnel: vxlan in ipvlan mode is not carried out yet by this version of "
		     "sluice: the endpoint's program runs in the endpoint's own namespace and cannot hand a packet to "
		     "sluice_vxlan in the node's; route the pod CIDRs through the underlay (tunnel: disabled), as "
		     "Cilium's ipvlan mode does\n"
		     "2:34: datapath.tunnel: tunnel: vxlan needs datapath.underlayDevice, the device toward the other "
		     "nodes (sluice_vxlan's MTU is its MTU less the encapsulation)\n"
		     "2:53: datapath.cgroupPath: 'rel' is not an absolute path\n");
	sl_load_free(&ld);
}

/* ipvlan mode refuses what it cannot carry out (issue 22), and netns is
 * for its endpoints only. */
Test(validate, ipvlan_refusals_and_netns)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "datapath: {mode: ipvlan, ipvlanMaster: eth0, underlayDevice: eth0}\n" IDS
		  "endpoints:\n"
		  "  - {name: a, interface: ipvl-a, ipv4: 10.1.0.10, identity: 1000, netns: /run/netns/a}\n"
		  "  - {name: b, interface: ipvl-b, ipv4: 10.1.0.11, identity: 1000, netns: run/netns/b}\n"
		  "encryption: {enabled: true, keys: [{spi: 3, aead: 'rfc4106(gcm(aes))', "
		  "key: '0x0123456789abcdef0123456789abcdef01234567', icvBits: 128}]}\n"
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector: {}\n"
		  "    egress: [{toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15001}]}]\n",
		  true);
	assert_diags(&ld,
		     "8:74: endpoints[b].netns: 'run/netns/b' is not an absolute path of at most 127 bytes (for "
		     "example /run/netns/b)\n"
		     "9:23: encryption.enabled: encryption needs the nodes to encrypt to: add a 'nodes' section\n"
		     "9:23: encryption.enabled: encryption in ipvlan mode is not carried out yet by this version of "
		     "sluice: the ipvlan driver clears the mark that selects the key when a packet leaves the "
		     "endpoint's namespace; use mode: veth\n"
		     "9:77: warning: encryption.keys[3].key: the key sits in the state file; anyone who can read the "
		     "file can read the key (prefer keyFile)\n"
		     "13:73: policies[p].egress[0].toPorts[0].proxyPort: the L7 redirect needs mode: veth: in ipvlan "
		     "mode the endpoint's packets never reach the node's stack, where the proxy listens (as Cilium's "
		     "ipvlan mode, which has no L7 policy)\n");
	sl_load_free(&ld);

	load_text(&ld,
		  "version: 1\n" IDS
		  "endpoints:\n"
		  "  - {name: a, interface: veth-a, ipv4: 10.1.0.10, identity: 1000, netns: /run/netns/a}\n",
		  true);
	assert_diags(&ld, "6:74: endpoints[a].netns: netns is for mode: ipvlan, where the endpoint's device is its "
			  "ipvlan slave; in veth mode interface is the host side of the pair, in the node's namespace\n");
	sl_load_free(&ld);
}

Test(validate, this_node)
{
	struct sl_load ld = {};
	const char *text = "version: 1\n"
			   "nodes: [{name: node-a, ip: 192.168.50.1}, {name: node-b, ip: 192.168.50.2}]\n"
			   "datapath: {tunnel: vxlan, underlayDevice: eth0}\n";
	struct sl_validate_opts o = { .hostname = "laptop" };

	load_text(&ld, text, true);
	cr_assert_eq(ld.diags.n_warnings, 1, "a host name that is no node is a warning for validate");
	cr_assert_eq(ld.diags.n_errors, 0);
	sl_load_free(&ld);

	memset(&ld, 0, sizeof(ld));
	sl_load_buffer(&ld, "t.yaml", ".", text, strlen(text));
	sl_load_finish(&ld);
	o.strict_node = true;
	sl_validate(&ld, &o);
	cr_assert_eq(ld.diags.n_errors, 1, "and an error for apply");
	sl_load_free(&ld);

	memset(&ld, 0, sizeof(ld));
	sl_load_buffer(&ld, "t.yaml", ".", text, strlen(text));
	sl_load_finish(&ld);
	o.node = "node-b";
	sl_validate(&ld, &o);
	assert_diags(&ld, "");
	cr_assert_str_eq(ld.state.node, "node-b");
	sl_load_free(&ld);

	memset(&ld, 0, sizeof(ld));
	sl_load_buffer(&ld, "t.yaml", ".", text, strlen(text));
	sl_load_finish(&ld);
	o.node = "node-z";
	sl_validate(&ld, &o);
	diag_sort(&ld.diags);
	cr_assert_eq(ld.diags.n_errors, 1);
	cr_assert_eq(ld.diags.n, 1, "the error");
	cr_assert_str_eq(ld.diags.v[0].message, "'node-z' is not one of the nodes (node-a, node-b)");
	sl_load_free(&ld);
}

Test(validate, pod_cidrs_do_not_overlap)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\nnode: a\nnodes:\n"
		  "  - {name: a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/16, 'fd00:1::/64']}\n"
		  "  - {name: b, ip: 192.168.50.2, podCIDRs: [10.1.2.0/24, 10.2.0.0/16]}\n"
		  "  - {name: c, ip: 192.168.50.1, podCIDRs: [10.3.0.0/16]}\n",
		  true);
	assert_diags(&ld,
		     "5:44: nodes[b].podCIDRs[0]: 10.1.2.0/24 overlaps 10.1.0.0/16 of node a (t.yaml:4:44)\n"
		     "6:19: nodes[c].ip: node address '192.168.50.1' is already used at t.yaml:4:19\n");
	sl_load_free(&ld);
}

static char *key_dir(void)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/sluice-keys-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static void write_key(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

Test(validate, key_material)
{
	char *dir = key_dir(), state[4096], cmd[128];
	struct sl_load ld = {};
	struct sl_validate_opts o = { .node = "a" };

	write_key(dir, "good", "0x0123456789abcdef0123456789abcdef01234567\n", 0600);
	write_key(dir, "open", "0123456789abcdef0123456789abcdef01234567", 0644);
	write_key(dir, "short", "0123456789abcdef", 0600);
	write_key(dir, "nothex", "0123456789abcdefZZ23456789abcdef01234567", 0400);
	write_key(dir, "auth", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 0600);
	write_key(dir, "enc", "00112233 44556677 8899aabb ccddeeff", 0600);
	snprintf(state, sizeof(state),
		 "version: 1\nnode: a\n"
		 "nodes: [{name: a, ip: 192.168.50.1, encryptKeys: [1, 2, 3, 4, 5, 6, 7, 9]}]\n"
		 "encryption:\n"
		 "  enabled: true\n"
		 "  keys:\n"
		 "    - {spi: 1, aead: rfc4106(gcm(aes)), keyFile: good}\n"
		 "    - {spi: 2, aead: rfc4106(gcm(aes)), keyFile: open}\n"
		 "    - {spi: 3, aead: rfc4106(gcm(aes)), keyFile: short}\n"
		 "    - {spi: 4, aead: rfc4106(gcm(aes)), keyFile: nothex, icvBits: 100}\n"
		 "    - {spi: 5, auth: hmac(sha256), authKeyFile: auth, cipher: cbc(aes), cipherKeyFile: enc}\n"
		 "    - {spi: 6, aead: rfc4106(gcm(aes)), key: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef'}\n"
		 "    - {spi: 7, aead: rfc4106(gcm(aes)), keyFile: missing}\n"
		 "    - {spi: 8, auth: hmac(sha256), authKeyFile: auth}\n");
	cr_assert_geq(sl_load_buffer(&ld, "t.yaml", dir, state, strlen(state)), 0);
	cr_assert_geq(sl_load_finish(&ld), 0);
	cr_assert_geq(sl_validate(&ld, &o), 0);
	diag_sort(&ld.diags);
	{
		char *got = diag_lines(&ld), expected[4096];

		snprintf(expected, sizeof(expected),
			 "3:72: nodes[a].encryptKeys[7]: key 9 is not one of encryption.keys\n"
			 "5:12: encryption.enabled: encryption routes the remote nodes' pod CIDRs through the device "
			 "toward them: set datapath.underlayDevice\n"
			 "8:50: encryption.keys[2].keyFile: %1$s/open can be read by group and others (mode "
			 "0644); a key file must be readable by its owner only (chmod 600)\n"
			 "9:50: encryption.keys[3].keyFile: the key is 8 bytes long; rfc4106(gcm(aes)) takes 20, 28 or "
			 "36 (an AES key of 16, 24 or 32 bytes and a 4-byte salt)\n"
			 "10:50: encryption.keys[4].keyFile: %1$s/nothex does not hold a key in hex (only hex digits, "
			 "an optional 0x and white space)\n"
			 "10:67: encryption.keys[4].icvBits: 100 is not an ICV length of rfc4106(gcm(aes)) (64, 96 or "
			 "128)\n"
			 "12:46: warning: encryption.keys[6].key: the key sits in the state file; anyone who can read "
			 "the file can read the key (prefer keyFile)\n"
			 "13:50: encryption.keys[7].keyFile: cannot read %1$s/missing: No such file or directory\n"
			 "14:22: encryption.keys[8].auth: auth needs cipher (cbc(aes)) beside it\n",
			 dir);
		cr_assert_str_eq(got, expected, "got:\n%s", got);
		cr_assert_null(strstr(got, "deadbeef"), "key material never appears");
		free(got);
	}
	sl_load_free(&ld);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(validate, key_lengths_per_algorithm)
{
	unsigned lens[4];

	cr_assert_eq(sl_key_lengths(SL_AEAD_RFC4106_GCM_AES, 0, 0, "key", lens, 4), 3);
	cr_assert_eq(lens[0], 20);
	cr_assert_eq(lens[2], 36);
	cr_assert_eq(sl_key_lengths(0, SL_AUTH_HMAC_SHA256, 0, "authKey", lens, 4), 1);
	cr_assert_eq(lens[0], 32);
	cr_assert_eq(sl_key_lengths(0, 0, SL_CIPHER_CBC_AES, "cipherKey", lens, 4), 3);
	cr_assert_eq(lens[0], 16);
}

Test(validate, capacity)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "datapath: {mapSizes: {endpoints: 2, ipcache: 100, prefilter: 1}}\n"
		  "prefilter: {device: eth0, deny: [192.0.2.0/24, 198.51.100.0/24]}\n" IDS "endpoints:\n"
		  "  - {name: a, interface: lxc1, ipv4: 10.1.0.1, identity: 1000}\n"
		  "  - {name: b, interface: lxc2, ipv4: 10.1.0.2, identity: 1000}\n"
		  "  - {name: c, interface: lxc3, ipv4: 10.1.0.3, identity: 1000}\n",
		  true);
	assert_diags(&ld,
		     "2:34: datapath.mapSizes.endpoints: the state needs 3 entries in map endpoints, more than its "
		     "capacity 2\n"
		     "2:62: datapath.mapSizes.prefilter: the state needs 2 entries in map prefilter, more than its "
		     "capacity 1\n");
	sl_load_free(&ld);
}

Test(validate, encryption_needs_keys_and_nodes)
{
	struct sl_load ld;

	load_text(&ld, "version: 1\nencryption: {enabled: true}\n", true);
	assert_diags(&ld,
		     "2:23: encryption.enabled: encryption needs the nodes to encrypt to: add a 'nodes' section\n"
		     "2:23: encryption.enabled: encryption is enabled but has no keys\n"
		     "2:23: encryption.enabled: encryption routes the remote nodes' pod CIDRs through the device toward "
		     "them: set datapath.underlayDevice\n");
	sl_load_free(&ld);
}

/* ---- settings that this version does not carry out yet (issue 15, item 8) ---- */

/* Each is a warning at its own position; the state stays valid. */
Test(validate, settings_not_carried_out_yet_warn)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\nnode: a\n"
		  "nodes: [{name: a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24]}]\n"
		  "datapath:\n"
		  "  mode: veth\n"
		  "  ipvlanMaster: eth0\n"
		  "  tunnel: disabled\n"
		  "  socketAcceleration: true\n"
		  "  hostReachableServices: true\n"
		  "  cgroupPath: /sys/fs/cgroup\n" IDS
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector: {}\n"
		  "    egress: [{toPorts: [{ports: [{port: 80, protocol: TCP}], proxyPort: 15001}]}]\n",
		  true);
	assert_diags(&ld,
		     "6:17: warning: datapath.ipvlanMaster: ipvlanMaster is used only with mode: ipvlan and is ignored\n"
		     "16:23: warning: policies[p].endpointSelector: this selector matches no endpoint\n");
	cr_assert_eq(ld.diags.n_errors, 0, "warnings only: the state is valid");
	sl_load_free(&ld);

	/* Their defaults, written out, say nothing. */
	load_text(&ld,
		  "version: 1\n"
		  "datapath: {mode: veth, tunnel: disabled, socketAcceleration: false, hostReachableServices: false}\n",
		  true);
	assert_no_diags(&ld);
	sl_load_free(&ld);
}

/* ---- hostile input (issue 15, items 3 and 4) ---- */

/* Key-shaped text typed into every field of a key entry, as a value of an
 * unknown key and as the name of one: no diagnostic holds more than its
 * first 4 characters (no 8 hex digits of it in a row, in any case). */
Test(validate, key_material_in_any_field_is_never_shown)
{
	static const char k[] = "4b1d00112233445566778899aabbccddeeff0011";
	char state[4096];
	struct sl_load ld = {};
	struct sl_validate_opts o = { .node = "a" };

	snprintf(state, sizeof(state),
		 "version: 1\nnode: a\n"
		 "nodes: [{name: a, ip: 192.168.50.1, encryptKeys: [3]}]\n"
		 "datapath: {underlayDevice: eth0}\n"
		 "encryption:\n"
		 "  enabled: true\n"
		 "  keys:\n"
		 "    - {spi: 3, aead: rfc4106(gcm(aes)), key \"0x%1$s\"}\n"
		 "    - {spi: 0x%1$s, aead: 0x%1$s, key: 0x%1$s, keyFile: 0x%1$s, icvBits: 0x%1$s}\n"
		 "    - {spi: 4, auth: 0x%1$s, authKey: 0x%1$s, authKeyFile: 0x%1$s, cipher: 0x%1$s,\n"
		 "       cipherKey: 0x%1$s, cipherKeyFile: /k/0x%1$s, 0x%1$s: 0x%1$s, other: %1$s}\n"
		 "    - {spi: 5, aead: rfc4106(gcm(aes)), keyFile: keys/%1$s, icvBits: 0x4b1d0011}\n"
		 "    - {spi: 6, auth: hmac(sha256), authKeyFile: 0x%1$s, cipher: cbc(aes), cipherKeyFile: /%1$s}\n"
		 "    - {spi: 0x4b1d0011, aead: rfc4106(gcm(aes)), key: '0x%1$s'}\n"
		 "  0x%1$s: [0x%1$s]\n",
		 k);
	cr_assert_geq(sl_load_buffer(&ld, "t.yaml", "/nonexistent", state, strlen(state)), 0);
	cr_assert_geq(sl_load_finish(&ld), 0);
	cr_assert_geq(sl_validate(&ld, &o), 0);
	cr_assert_geq(ld.diags.n_errors, 15, "%zu errors", ld.diags.n_errors);
	for (size_t i = 0; i < ld.diags.n; i++) {
		const struct diag *d = &ld.diags.v[i];

		for (size_t j = 0; j + 8 <= sizeof(k) - 1; j++) {
			char window[9];

			memcpy(window, k + j, 8);
			window[8] = '\0';
			cr_assert_null(strstr(d->message, window), "%u:%u: %s: %s", d->line, d->col, d->path,
				       d->message);
			cr_assert_null(strstr(d->path, window), "%u:%u: %s: %s", d->line, d->col, d->path,
				       d->message);
		}
		cr_assert_null(strstr(d->message, "1260191761"), "no SPI or ICV of key bytes, in decimal either: %s",
			       d->message);
	}
	sl_load_free(&ld);
}

/* Addresses no endpoint can have are refused; a prefilter prefix of
 * length 0 (every source) is a warning. */
Test(validate, endpoint_addresses_and_prefilter_everything)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n" IDS "endpoints:\n"
		  "  - {name: a, interface: lxc-a, identity: 1000, ipv4: 127.0.0.1, ipv6: 'ff02::1'}\n"
		  "  - {name: b, interface: lxc-b, identity: 1000, ipv4: 169.254.0.1, ipv6: 'fe80::1'}\n"
		  "  - {name: c, interface: lxc-c, identity: 1000, ipv6: '::ffff:10.1.0.3'}\n"
		  "prefilter: {device: eth0, deny: [0.0.0.0/0, 10.0.0.0/8]}\n",
		  true);
	assert_diags(&ld,
		     "6:55: endpoints[a].ipv4: 127.0.0.1 is a loopback address, which no endpoint can have\n"
		     "6:72: endpoints[a].ipv6: ff02::1 is a multicast address, which no endpoint can have\n"
		     "8:55: endpoints[c].ipv6: ::ffff:10.1.0.3 is an IPv4-mapped IPv6 address, which no endpoint can "
		     "have; give the IPv4 address as ipv4\n"
		     "9:34: warning: prefilter.deny[0]: 0.0.0.0/0 drops every IPv4 packet that arrives on eth0, "
		     "whatever its source (replies to the node's own connections included)\n");
	sl_load_free(&ld);
}

/* A list value the loader refused (out of range) is no value: it is not
 * also a duplicate of another refused one, at column 0. */
Test(validate, refused_list_values_are_no_duplicates)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "nodes: [{name: a, ip: 192.168.50.1, encryptKeys: [99999999999, 99999999998, 3, 3]}]\n"
		  "encryption: {keys: [{spi: 3, aead: rfc4106(gcm(aes)), keyFile: /nonexistent}]}\n",
		  true);
	for (size_t i = 0; i < ld.diags.n; i++)
		cr_assert_neq(ld.diags.v[i].col, 0, "%u:%u: %s", ld.diags.v[i].line, ld.diags.v[i].col,
			      ld.diags.v[i].message);
	{
		char *got = diag_lines(&ld);

		cr_assert(strstr(got, "2:80: nodes[a].encryptKeys[3]: key 3 is listed twice\n"),
			  "a real duplicate is still one:\n%s", got);
		free(got);
	}
	sl_load_free(&ld);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "reconcile/schema.h"

Test(load, every_field_and_its_position)
{
	struct sl_load ld;
	const struct sl_endpoint *ep;
	const struct sl_policy *p;

	load_text(&ld,
		  "version: 1\n"
		  "identities:\n"
		  "  - id: 1000\n"
		  "    labels: {app: web, env: prod}\n"
		  "endpoints:\n"
		  "  - name: web-1\n"
		  "    interface: lxc-web1\n"
		  "    ipv4: 10.1.0.10\n"
		  "    ipv6: \"fd00:1::10\"\n"
		  "    identity: 1000\n"
		  "    id: 17\n"
		  "policies:\n"
		  "  - name: web-in\n"
		  "    endpointSelector: {matchLabels: {app: web}}\n"
		  "    ingress:\n"
		  "      - fromCIDR: [192.0.2.0/24]\n"
		  "        toPorts:\n"
		  "          - ports: [{port: \"80\", protocol: TCP}]\n"
		  "    egressDeny: []\n",
		  false);
	assert_no_diags(&ld);
	cr_assert_eq(ld.state.n_endpoints, 1);
	ep = &ld.state.endpoints[0];
	cr_assert_str_eq(ep->name, "web-1");
	cr_assert_str_eq(ep->ipv6, "fd00:1::10");
	cr_assert_eq(ep->identity, 1000);
	cr_assert_eq(ep->id, 17);
	cr_assert_null(ep->node);
	cr_assert_str_eq(ep->file, "t.yaml");
	cr_assert_eq(ep->m[0].line, 6);
	cr_assert_eq(ep->m[0].col, 5);
	cr_assert_eq(SL_AT(ep, SL_EP_IPV4)->line, 8);
	cr_assert_eq(SL_AT(ep, SL_EP_IPV4)->col, 11);
	cr_assert_not(SL_HAS(ep, SL_EP_LABELS));
	cr_assert_eq(ld.state.identities[0].n_labels, 2);
	cr_assert_str_eq(ld.state.identities[0].labels[1].key, "env");
	cr_assert_str_eq(ld.state.identities[0].labels[1].value, "prod");
	cr_assert_eq(ld.state.identities[0].labels[1].m[2].col, 29);

	p = &ld.state.policies[0];
	cr_assert_eq(p->rules[SL_INGRESS].n, 1);
	cr_assert(SL_HAS(p, SL_POLICY_EGRESS_DENY), "present and empty is kept apart from absent");
	cr_assert_eq(p->rules[SL_EGRESS_DENY].n, 0);
	cr_assert_not(SL_HAS(p, SL_POLICY_EGRESS));
	cr_assert_str_eq(p->rules[SL_INGRESS].v[0].cidrs[0], "192.0.2.0/24");
	cr_assert_eq(p->rules[SL_INGRESS].v[0].cidrs_m[0].line, 16);
	cr_assert_eq(p->rules[SL_INGRESS].v[0].cidrs_m[0].col, 20);
	cr_assert_eq(p->rules[SL_INGRESS].v[0].to_ports[0].ports[0].port, 80, "a quoted port is a port");
	cr_assert_eq(p->rules[SL_INGRESS].v[0].to_ports[0].ports[0].protocol, SL_PROTO_TCP);
	sl_load_free(&ld);
}

Test(load, defaults)
{
	struct sl_load ld;
	const struct sl_service *svc;

	load_text(&ld,
		  "version: 1\n"
		  "datapath: {tunnel: vxlan, mapSizes: {ipcache: 1000}}\n"
		  "services:\n"
		  "  - name: web\n"
		  "    frontend: {ip: 10.96.0.10, port: 80}\n"
		  "    backends:\n"
		  "      - {ip: 10.1.0.10}\n"
		  "      - {ip: 10.1.0.11, port: 8080, weight: 3, state: terminating}\n",
		  false);
	assert_no_diags(&ld);
	cr_assert_eq(ld.state.datapath->mode, SL_MODE_VETH);
	cr_assert_eq(ld.state.datapath->vxlan_port, 8472);
	cr_assert_eq(ld.state.datapath->map_sizes->size[SL_MAP_IPCACHE], 1000);
	cr_assert_eq(ld.state.datapath->map_sizes->size[SL_MAP_CT_TCP], 1048576);
	svc = &ld.state.services[0];
	cr_assert_eq(svc->frontend->protocol, SL_PROTO_TCP);
	cr_assert_eq(svc->backends[0].port, 80, "a backend's port defaults to the frontend's");
	cr_assert_eq(svc->backends[0].weight, 1);
	cr_assert_eq(svc->backends[0].state, SL_BACKEND_ACTIVE);
	cr_assert_eq(svc->backends[1].weight, 3);
	cr_assert_eq(svc->backends[1].state, SL_BACKEND_TERMINATING);
	sl_load_free(&ld);
}

Test(load, empty_state_has_a_datapath)
{
	struct sl_load ld;

	load_text(&ld, "version: 1\n", false);
	assert_no_diags(&ld);
	cr_assert_not_null(ld.state.datapath);
	cr_assert_eq(ld.state.datapath->map_sizes->size[SL_MAP_ENDPOINTS], 65535);
	sl_load_free(&ld);
}

Test(load, every_shape_error_in_one_run)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "endpoint: []\n"
		  "datapath:\n"
		  "  mode: vet\n"
		  "  tunel: vxlan\n"
		  "  socketAcceleration: yes\n"
		  "endpoints:\n"
		  "  - name: web-1\n"
		  "    interface: [lxc]\n"
		  "    id: -3\n"
		  "    identity: 99999999999\n"
		  "  - interface: x\n"
		  "    ipv4: 10.1.0.2\n"
		  "    ipv4: 10.1.0.3\n",
		  false);
	assert_diags(&ld,
		     "2:1: (document): unknown key 'endpoint' (did you mean 'endpoints'?)\n"
		     "4:9: datapath.mode: 'vet' is not one of veth or ipvlan\n"
		     "5:3: datapath: unknown key 'tunel' (did you mean 'tunnel'?)\n"
		     "6:23: datapath.socketAcceleration: 'yes' is not a boolean (true or false)\n"
		     "9:16: endpoints[web-1].interface: expected a string, found a list\n"
		     "10:9: endpoints[web-1].id: -3 is negative; a whole number >= 0 is expected\n"
		     "11:15: endpoints[web-1].identity: 99999999999 is too large (at most 4294967295)\n"
		     "12:5: endpoints[1]: missing required key 'name'\n"
		     "14:5: endpoints[1].ipv4: duplicate key (first given at line 13)\n");
	sl_load_free(&ld);
}

Test(load, unknown_key_lists_the_known_ones)
{
	struct sl_load ld;

	load_text(&ld, "version: 1\nprefilter: {device: eth0, zzz: 1}\n", false);
	assert_diags(&ld, "2:27: prefilter: unknown key 'zzz' (known here: device, xdpMode, deny)\n");
	sl_load_free(&ld);
}

Test(load, version)
{
	struct sl_load ld;

	load_text(&ld, "version: 2\nwhatever: [1]\n", false);
	assert_diags(&ld, "1:10: version: version 2 is not supported (supported versions: 1)\n");
	sl_load_free(&ld);
	load_text(&ld, "identities: []\n", false);
	assert_diags(&ld, "1:1: (document): missing required key 'version'\n");
	sl_load_free(&ld);
	load_text(&ld, "", false);
	assert_diags(&ld, "1:1: version: the file is empty; every state file starts with 'version: 1'\n");
	sl_load_free(&ld);
	load_text(&ld, "- version: 1\n", false);
	assert_diags(&ld, "1:1: (document): a state document is a mapping that starts with 'version: 1', found a list\n");
	sl_load_free(&ld);
}

Test(load, several_documents_and_trailing_separator)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\nidentities: [{id: 1000, labels: {a: b}}]\n---\n"
		  "version: 1\nidentities: [{id: 1001, labels: {a: c}}]\n---\n",
		  false);
	assert_no_diags(&ld);
	cr_assert_eq(ld.state.n_identities, 2);
	cr_assert_eq(ld.state.identities[1].doc_index, 0);
	cr_assert_eq(ld.state.identities[1].m[0].line, 5);
	sl_load_free(&ld);
}

Test(load, syntax_error_is_reported_with_position)
{
	struct sl_load ld;

	load_text(&ld, "version: 1\nnodes:\n  - name: a\n   ip: 1.2.3.4\n", false);
	cr_assert_eq(ld.diags.n_errors, 1);
	cr_assert_eq(ld.diags.v[0].line, 4);
	cr_assert(strstr(ld.diags.v[0].message, "YAML syntax:"), "%s", ld.diags.v[0].message);
	sl_load_free(&ld);
}

Test(load, aliases_and_anchors_are_refused)
{
	struct sl_load ld;

	load_text(&ld, "version: 1\nnodes:\n  - &n {name: a, ip: 1.2.3.4}\n  - *n\n", false);
	assert_diags(&ld,
		     "3:5: nodes[a]: anchors (&n) are not supported; write the value out\n"
		     "4:5: nodes[1]: aliases (*n) are not supported; write the value out\n");
	sl_load_free(&ld);
}

Test(load, null_values)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "node:\n"
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector: {}\n"
		  "    ingress:\n"
		  "identities:\n"
		  "  - id: 1000\n"
		  "    labels: {app: ~}\n"
		  "  - ~\n",
		  false);
	assert_diags(&ld,
		     "6:13: warning: policies[p].ingress: null is the same as leaving 'ingress' out; write "
		     "'ingress: []' to select with no rule\n"
		     "9:19: identities[1000].labels.app: a label value must be a string (write \"\" for an empty "
		     "value), found null\n"
		     "10:5: identities[1]: a list item may not be null\n");
	cr_assert_null(ld.state.node);
	cr_assert_not(SL_HAS(&ld.state.policies[0], SL_POLICY_INGRESS));
	sl_load_free(&ld);
}

Test(load, label_maps)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "identities:\n"
		  "  - id: 1000\n"
		  "    labels: {app: web, app: db, [x]: y, ver: 2, on: true}\n",
		  false);
	assert_diags(&ld,
		     "4:24: identities[1000].labels.app: duplicate label key (first given at line 4)\n"
		     "4:33: identities[1000].labels: a label key must be a string, found a list\n");
	cr_assert_eq(ld.state.identities[0].n_labels, 3);
	cr_assert_str_eq(ld.state.identities[0].labels[1].value, "2", "numbers are taken as their text");
	cr_assert_str_eq(ld.state.identities[0].labels[2].value, "true");
	sl_load_free(&ld);
}

Test(load, hex_and_limits)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\nnodes: [{name: a, ip: 1.2.3.4, encryptKeys: [0x3, 4, 0xg, 1.5]}]\n", false);
	assert_diags(&ld,
		     "2:54: nodes[a].encryptKeys[2]: '0xg' is not a whole number\n"
		     "2:59: nodes[a].encryptKeys[3]: '1.5' is not a whole number\n");
	cr_assert_eq(ld.state.nodes[0].encrypt_keys[0], 3);
	cr_assert_eq(ld.state.nodes[0].encrypt_keys[1], 4);
	cr_assert_eq(ld.state.nodes[0].encrypt_keys_m[2].col, 0, "a refused element is marked");
	sl_load_free(&ld);
}

static void two_files(struct sl_load *ld, const char *a, const char *b)
{
	memset(ld, 0, sizeof(*ld));
	cr_assert_geq(sl_load_buffer(ld, "a.yaml", ".", a, strlen(a)), 0);
	cr_assert_geq(sl_load_buffer(ld, "b.yaml", ".", b, strlen(b)), 0);
	cr_assert_geq(sl_load_finish(ld), 0);
	diag_sort(&ld->diags);
}

Test(load, merge_concatenates_lists)
{
	struct sl_load ld;

	two_files(&ld, "version: 1\nidentities: [{id: 1000, labels: {a: b}}]\n",
		  "version: 1\n\nidentities: [{id: 1001, labels: {a: c}}, {id: 1002, labels: {a: d}}]\n");
	assert_no_diags(&ld);
	cr_assert_eq(ld.state.n_identities, 3);
	cr_assert_str_eq(ld.state.identities[0].file, "a.yaml");
	cr_assert_str_eq(ld.state.identities[2].file, "b.yaml");
	cr_assert_eq(ld.state.identities[2].doc_index, 1);
	sl_load_free(&ld);
}

Test(load, singleton_in_two_files_names_both)
{
	struct sl_load ld;

	two_files(&ld, "version: 1\ndatapath: {mode: veth}\n", "version: 1\n\n\ndatapath: {mode: ipvlan}\n");
	cr_assert_eq(ld.diags.n, 1);
	cr_assert_str_eq(ld.diags.v[0].file, "b.yaml");
	cr_assert_eq(ld.diags.v[0].line, 4);
	cr_assert_str_eq(ld.diags.v[0].message,
			 "given again; 'datapath' was first given at a.yaml:2:11, and a state has one, in one file");
	cr_assert_eq(ld.state.datapath->mode, SL_MODE_VETH, "the first one is kept");
	sl_load_free(&ld);
}

Test(load, diagnostics_sort_by_file_order_then_line)
{
	struct sl_load ld;

	two_files(&ld, "version: 1\n\nfoo: 1\nbar: 2\n", "version: 1\nbaz: 1\n");
	cr_assert_eq(ld.diags.n, 3);
	cr_assert_str_eq(ld.diags.v[0].file, "a.yaml");
	cr_assert_eq(ld.diags.v[0].line, 3);
	cr_assert_eq(ld.diags.v[1].line, 4);
	cr_assert_str_eq(ld.diags.v[2].file, "b.yaml");
	sl_load_free(&ld);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(load, directories_in_byte_order_skipping_leftovers)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", *paths[1], target[600];
	struct sl_load ld = {};

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "20-b.yaml", "version: 1\nidentities: [{id: 1002, labels: {a: b}}]\n");
	write_file(dir, "10-a.yml", "version: 1\nidentities: [{id: 1001, labels: {a: a}}]\n");
	write_file(dir, "Z.yaml", "version: 1\nidentities: [{id: 1000, labels: {a: z}}]\n");
	write_file(dir, ".hidden.yaml", "broken: [");
	write_file(dir, ".#20-b.yaml", "broken: [");
	write_file(dir, "20-b.yaml~", "broken: [");
	write_file(dir, "20-b.yaml.swp", "broken: [");
	write_file(dir, "x.tmp", "broken: [");
	write_file(dir, "notes.txt", "broken: [");
	write_file(dir, ".target", "version: 1\nidentities: [{id: 1003, labels: {a: l}}]\n");
	snprintf(target, sizeof(target), "%s/.target", dir);
	{
		char link[600];

		snprintf(link, sizeof(link), "%s/30-link.yaml", dir);
		cr_assert_eq(symlink(target, link), 0);
	}
	paths[0] = dir;
	cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
	cr_assert_geq(sl_load_finish(&ld), 0);
	assert_no_diags(&ld);
	cr_assert_eq(ld.n_files, 4);
	cr_assert_eq(ld.state.identities[0].id, 1001, "10-a.yml first");
	cr_assert_eq(ld.state.identities[1].id, 1002);
	cr_assert_eq(ld.state.identities[2].id, 1003, "symlinks are followed");
	cr_assert_eq(ld.state.identities[3].id, 1000, "byte order: 'Z' after digits");
	cr_assert(strstr(ld.files[0], "/10-a.yml"));
	sl_load_free(&ld);

	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		cr_assert_eq(system(cmd), 0);
	}
}

/* The digest of what one read of dir saw. */
static uint64_t dir_digest(char *dir)
{
	struct sl_load ld = {};
	char *paths[] = { dir };
	uint64_t d;

	cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
	d = ld.digest;
	sl_load_free(&ld);
	return d;
}

Test(load, digest_follows_names_bytes_and_read_errors)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", cmd[600], path[600];
	uint64_t first, d;

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "10-a.yaml", "version: 1\nidentities: [{id: 1001, labels: {a: a}}]\n");
	write_file(dir, "20-b.yaml", "version: 1\n");
	first = dir_digest(dir);
	cr_assert_neq(first, 0);
	cr_assert_eq(dir_digest(dir), first, "the same files, the same digest");
	write_file(dir, ".hidden.yaml", "anything");
	write_file(dir, "x.tmp", "anything");
	cr_assert_eq(dir_digest(dir), first, "files that are not read do not count");
	write_file(dir, "10-a.yaml", "version: 1\nidentities: [{id: 1002, labels: {a: a}}]\n");
	d = dir_digest(dir);
	cr_assert_neq(d, first, "one byte changed");
	write_file(dir, "10-a.yaml", "version: 1\nidentities: [{id: 1001, labels: {a: a}}]\n");
	cr_assert_eq(dir_digest(dir), first, "changed back");
	snprintf(cmd, sizeof(cmd), "mv '%s/20-b.yaml' '%s/21-b.yaml'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_neq(dir_digest(dir), first, "a file renamed");
	snprintf(cmd, sizeof(cmd), "mv '%s/21-b.yaml' '%s/20-b.yaml'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/10-a.yaml", dir);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	d = dir_digest(dir);
	cr_assert_neq(d, first, "a file that became a directory");
	cr_assert_eq(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/gone", dir);
	cr_assert_neq(dir_digest(path), first, "a directory that is not there");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

Test(load, state_file_names)
{
	cr_assert(sl_state_file_name("a.yaml"));
	cr_assert(sl_state_file_name("a.yml"));
	cr_assert_not(sl_state_file_name(".a.yaml"));
	cr_assert_not(sl_state_file_name("a.yaml~"));
	cr_assert_not(sl_state_file_name("a.yaml.swp"));
	cr_assert_not(sl_state_file_name("a.yaml.tmp"));
	cr_assert_not(sl_state_file_name("a.json"));
	cr_assert_not(sl_state_file_name(".yaml"));
}

Test(load, unreadable_path)
{
	struct sl_load ld = {};
	char *paths[] = { "/nonexistent/state.yaml" };

	cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
	cr_assert_eq(ld.diags.n_errors, 1);
	cr_assert_str_eq(ld.diags.v[0].message, "cannot read: No such file or directory");
	sl_load_free(&ld);
}

/* Every example state loads and validates with nothing to say. */
Test(load, examples)
{
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	char dir[512], path[2048];
	struct dirent *de;
	DIR *d;
	int n = 0;

	cr_assert_not_null(root, "SLUICE_SOURCE_ROOT is set by meson");
	snprintf(dir, sizeof(dir), "%s/examples/states", root);
	snprintf(path, sizeof(path), "chmod 0600 %s/keys/[0-9]*", dir);
	cr_assert_eq(system(path), 0);
	d = opendir(dir);
	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		struct sl_load ld = {};
		struct sl_validate_opts o = { .node = NULL, .hostname = "test-host", .strict_node = true };
		char *paths[1] = { path };

		if (!sl_state_file_name(de->d_name) && strcmp(de->d_name, "cluster") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strcmp(de->d_name, "cluster") == 0)
			o.node = "node-b";
		cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
		cr_assert_geq(sl_load_finish(&ld), 0);
		cr_assert_geq(sl_validate(&ld, &o), 0);
		{
			char *got = diag_lines(&ld);

			cr_assert_str_eq(got, "", "%s:\n%s", de->d_name, got);
			free(got);
		}
		sl_load_free(&ld);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 6, "examples: minimal, policy, services, encryption, ipvlan, cluster/");
}

Test(load, schema_marks_match_fields)
{
	/* Positions are kept in SL_MARKS arrays sized by the field enums; the
	 * build checks each at compile time. Here: named lists are mappings
	 * whose name field exists. */
	for (unsigned i = 0; i < sl_n_named_lists; i++) {
		const cyaml_schema_value_t *e = sl_named_lists[i].entry;

		cr_assert_eq(e->type, CYAML_MAPPING);
		cr_assert_lt(sl_named_lists[i].name_field, sl_schema_n_fields(e));
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* The diagnostics other than the warnings about settings this version does
 * not carry out yet (which the examples show, as a state may). */
static char *diag_lines_but_not_yet(const struct sl_load *ld, size_t *ret_not_yet)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*ret_not_yet = 0;
	for (size_t i = 0; i < ld->diags.n; i++) {
		const struct diag *d = &ld->diags.v[i];

		if (d->severity == DIAG_WARNING &&
		    strstr(d->message, " is not carried out yet by this version of sluice: ")) {
			(*ret_not_yet)++;
			continue;
		}
		fprintf(f, "%u:%u: %s%s: %s\n", d->line, d->col, d->severity == DIAG_WARNING ? "warning: " : "",
			d->path, d->message);
	}
	fclose(f);
	return buf;
}

/* Every example state loads and validates with nothing to say, and asks
 * for nothing that is not carried out yet. */
Test(load, examples)
{
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	char dir[512], path[2048];
	struct dirent *de;
	DIR *d;
	int n = 0;
	size_t not_yet = 0;

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

		if (!sl_state_file_name(de->d_name) && strcmp(de->d_name, "cluster") != 0 &&
		    strcmp(de->d_name, "kubernetes") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strcmp(de->d_name, "cluster") == 0)
			o.node = "node-b";
		cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
		cr_assert_geq(sl_load_finish(&ld), 0);
		cr_assert_geq(sl_validate(&ld, &o), 0);
		{
			size_t k;
			char *got = diag_lines_but_not_yet(&ld, &k);

			cr_assert_str_eq(got, "", "%s:\n%s", de->d_name, got);
			free(got);
			not_yet += k;
		}
		sl_load_free(&ld);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 6, "examples: minimal, policy, services, encryption, ipvlan, cluster/");
	cr_assert_eq(not_yet, 0, "no example asks for what is not carried out yet (%zu warnings)", not_yet);
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

/* ---- the cache of parsed files (watch) ----
 *
 * A load with the cache must give what a load without it gives: the state
 * field by field with every position, each item's file and index, the
 * diagnostics with their positions and order, the files read and the
 * digest. dump_load spells all of that out, so that two loads compare as
 * two strings. */

static void dump_value(FILE *f, const cyaml_schema_value_t *s, const void *p);

static void dump_mapping(FILE *f, const cyaml_schema_value_t *s, const void *obj)
{
	const struct sl_mark *m = obj;
	unsigned i = 0;

	fprintf(f, "{@%u:%u", m[0].line, m[0].col);
	for (const cyaml_schema_field_t *fl = s->mapping.fields; fl->key; fl++, i++) {
		const char *p = (const char *)obj + fl->data_offset;

		fprintf(f, " %s@%u:%u=", fl->key, m[1 + i].line, m[1 + i].col);
		if (fl->value.type == CYAML_SEQUENCE) {
			const cyaml_schema_value_t *e = fl->value.sequence.entry;
			size_t es = e->type == CYAML_STRING ? sizeof(char *) : e->data_size;
			const char *arr = *(char *const *)p;
			uint32_t n = *(const uint32_t *)((const char *)obj + fl->count_offset);
			const struct sl_mark *em = NULL;

			cr_assert_eq(fl->count_size, sizeof(uint32_t));
			if (sl_schema_is_scalar_seq(fl))
				em = *(struct sl_mark *const *)((const char *)obj + sl_schema_marks_offset(fl));
			fprintf(f, "[%u%s", n, arr ? "" : " null");
			for (uint32_t j = 0; arr && j < n; j++) {
				fputc(' ', f);
				if (em)
					fprintf(f, "@%u:%u ", em[j].line, em[j].col);
				dump_value(f, e, arr + j * es);
			}
			fputc(']', f);
		} else {
			dump_value(f, &fl->value, p);
		}
	}
	fputc('}', f);
}

static void dump_value(FILE *f, const cyaml_schema_value_t *s, const void *p)
{
	switch (s->type) {
	case CYAML_STRING: {
		const char *str = *(char *const *)p;

		fprintf(f, str ? "'%s'" : "null", str);
		break;
	}
	case CYAML_MAPPING: {
		const void *obj = s->flags & CYAML_FLAG_POINTER ? *(void *const *)p : p;

		if (obj)
			dump_mapping(f, s, obj);
		else
			fputs("null", f);
		break;
	}
	case CYAML_BOOL:
		fprintf(f, "%d", *(const bool *)p);
		break;
	default: {
		uint64_t v = 0;

		memcpy(&v, p, s->data_size); /* little or big endian: the same bytes compare */
		fprintf(f, "%#" PRIx64, v);
	}
	}
}

#define DUMP_LIST(f, st, field, list, count)                                                                  \
	do {                                                                                                  \
		const cyaml_schema_value_t *_e = sl_schema_doc.mapping.fields[field].value.sequence.entry;    \
		fprintf(f, "%s: %u%s\n", #list, (st)->count, (st)->list ? "" : " null");                     \
		for (uint32_t _i = 0; (st)->list && _i < (st)->count; _i++) {                                  \
			fprintf(f, "  %s#%u ", (st)->list[_i].file, (st)->list[_i].doc_index);                \
			dump_mapping(f, _e, &(st)->list[_i]);                                                 \
			fputc('\n', f);                                                                       \
		}                                                                                             \
	} while (0)

static void dump_origin(FILE *f, const char *what, const struct sl_origin *o)
{
	fprintf(f, "%s from %s:%u:%u\n", what, o->file ? o->file : "-", o->mark.line, o->mark.col);
}

/* Everything a load gave, as text (free it). */
static char *dump_load(const struct sl_load *ld)
{
	const struct sl_state *st = &ld->state;
	const cyaml_schema_field_t *df = sl_schema_doc.mapping.fields;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	fprintf(f, "digest %016" PRIx64 "\nfiles %zu\n", ld->digest, ld->n_files);
	for (size_t i = 0; i < ld->n_files; i++)
		fprintf(f, "  %s in %s\n", ld->files[i], ld->file_dirs[i]);
	fprintf(f, "diags %zu: %zu errors, %zu warnings%s\n", ld->diags.n, ld->diags.n_errors, ld->diags.n_warnings,
		ld->diags.out_of_memory ? ", out of memory" : "");
	for (size_t i = 0; i < ld->diags.n; i++) {
		const struct diag *d = &ld->diags.v[i];

		fprintf(f, "  #%zu %s:%u:%u: %s%s: %s\n", d->seq, d->file, d->line, d->col,
			d->severity == DIAG_WARNING ? "warning: " : "", d->path, d->message);
	}
	fprintf(f, "unmerged docs %zu\nnode %s\n", ld->n_docs, st->node ? st->node : "null");
	dump_origin(f, "node", &st->node_origin);
	dump_origin(f, "datapath", &st->datapath_origin);
	dump_origin(f, "prefilter", &st->prefilter_origin);
	dump_origin(f, "encryption", &st->encryption_origin);
	fputs("datapath ", f);
	dump_value(f, &df[SL_DOC_DATAPATH].value, &st->datapath);
	fputs("\nprefilter ", f);
	dump_value(f, &df[SL_DOC_PREFILTER].value, &st->prefilter);
	fputs("\nencryption ", f);
	dump_value(f, &df[SL_DOC_ENCRYPTION].value, &st->encryption);
	fputc('\n', f);
	for (uint32_t i = 0; st->encryption && i < st->encryption->n_keys; i++)
		fprintf(f, "  key %s#%u\n", st->encryption->keys[i].file, st->encryption->keys[i].doc_index);
	DUMP_LIST(f, st, SL_DOC_NODES, nodes, n_nodes);
	DUMP_LIST(f, st, SL_DOC_IDENTITIES, identities, n_identities);
	DUMP_LIST(f, st, SL_DOC_ENDPOINTS, endpoints, n_endpoints);
	DUMP_LIST(f, st, SL_DOC_POLICIES, policies, n_policies);
	DUMP_LIST(f, st, SL_DOC_SERVICES, services, n_services);
	fclose(f);
	return buf;
}

/* Load paths (with the cache or without), merge, validate, sort the
 * diagnostics: the state as it stands after the loader, then after
 * validation, as watch and apply use it. */
static char *load_and_dump(char **paths, size_t n, struct sl_load_cache *cache)
{
	struct sl_load ld = {};
	struct sl_validate_opts o = { .hostname = "test-host", .strict_node = true };
	char *merged, *validated, *both;

	cr_assert_geq(cache ? sl_load_paths_cached(&ld, cache, paths, n) : sl_load_paths(&ld, paths, n), 0);
	cr_assert_geq(sl_load_finish(&ld), 0);
	merged = dump_load(&ld);
	cr_assert_geq(sl_validate(&ld, &o), 0);
	diag_sort(&ld.diags);
	validated = dump_load(&ld);
	cr_assert_gt(asprintf(&both, "%s--- validated\n%s", merged, validated), 0);
	free(merged);
	free(validated);
	sl_load_free(&ld);
	return both;
}

/* One load with the cache, checked against one without it; how many files
 * it parsed and reused (-1: either). Returns the dump (free it). */
static char *check_cached(char *path, struct sl_load_cache *cache, int parsed, int reused, const char *what)
{
	char *paths[] = { path };
	char *plain = load_and_dump(paths, 1, NULL), *cached = load_and_dump(paths, 1, cache);

	cr_assert_str_eq(cached, plain, "%s: the cache changed the load\n--- cached\n%s--- not cached\n%s", what,
			 cached, plain);
	if (parsed >= 0)
		cr_assert_eq(cache->parsed, (size_t)parsed, "%s: %zu files parsed, expected %d", what, cache->parsed,
			     parsed);
	if (reused >= 0)
		cr_assert_eq(cache->reused, (size_t)reused, "%s: %zu files reused, expected %d", what, cache->reused,
			     reused);
	free(plain);
	return cached;
}

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static const char cache_base[] =
	"version: 1\n"
	"node: node-a\n"
	"nodes:\n"
	"  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/16]}\n"
	"  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/16]}\n"
	"datapath: {tunnel: vxlan, mapSizes: {ipcache: 1000}}\n"
	"identities:\n"
	"  - {id: 1001, labels: {app: web}}\n"
	"  - {id: 1002, labels: {app: db, tier: data}}\n"
	"policies:\n"
	"  - name: web-in\n"
	"    endpointSelector: {matchExpressions: [{key: app, operator: In, values: [web]}]}\n"
	"    ingress:\n"
	"      - fromEndpoints: [{matchLabels: {app: db}}]\n"
	"        fromCIDR: [192.0.2.0/24]\n"
	"        toPorts: [{ports: [{port: 80, protocol: TCP}]}]\n"
	"    egressDeny: []\n"
	"services:\n"
	"  - name: web\n"
	"    frontend: {ip: 10.96.0.10, port: 80}\n"
	"    backends: [{ip: 10.1.0.10}, {ip: 10.1.0.11, port: 8080, weight: 3}]\n";
static const char cache_endpoints[] =
	"version: 1\n"
	"endpoints:\n"
	"  - {name: web-1, interface: lxc-web1, ipv4: 10.1.0.10, identity: 1001}\n"
	"  - {name: db-1, ipv4: 10.2.0.20, labels: {app: db, tier: data}, node: node-b}\n"
	"---\n"
	"version: 1\n"
	"endpoints:\n"
	"  - {name: web-2, ipv4: 10.2.0.21, identity: 1001, node: node-b}\n";
static const char cache_more[] =
	"version: 1\n"
	"endpoints:\n"
	"  - {name: web-3, ipv4: 10.2.0.30, identity: 1001, node: node-b}\n";

static void cache_dir(char *dir)
{
	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "10-base.yaml", cache_base);
	write_file(dir, "20-endpoints.yaml", cache_endpoints);
	write_file(dir, "30-more.yaml", cache_more);
}

Test(load_cache, unchanged_files_are_not_parsed_again)
{
	char dir[] = "/tmp/sluice-test-XXXXXX";
	struct sl_load_cache cache = {};
	char *first, *again;

	cache_dir(dir);
	first = check_cached(dir, &cache, 3, 0, "first load");
	cr_assert(strstr(first, "'web-3'") && strstr(first, "diags 0"), "the dump shows the state:\n%s", first);
	again = check_cached(dir, &cache, 0, 3, "the same files again");
	cr_assert_str_eq(again, first);
	free(again);
	again = check_cached(dir, &cache, 0, 3, "and once more");
	cr_assert_str_eq(again, first);
	cr_assert_eq(cache.n_files, 3);
	free(again);
	free(first);
	sl_load_cache_free(&cache);
	cr_assert_eq(cache.n_files, 0);
	rm_rf(dir);
}

Test(load_cache, a_changed_file_is_parsed_again)
{
	char dir[] = "/tmp/sluice-test-XXXXXX";
	struct sl_load_cache cache = {};
	char *before, *after;

	cache_dir(dir);
	before = check_cached(dir, &cache, 3, 0, "first load");
	write_file(dir, "30-more.yaml",
		   "version: 1\n"
		   "endpoints:\n"
		   "  - {name: web-3, ipv4: 10.2.0.30, identity: 1002, node: node-b}\n"
		   "  - {name: web-4, ipv4: 10.2.0.31, identity: 1001, node: node-b}\n");
	after = check_cached(dir, &cache, 1, 2, "30-more.yaml changed");
	cr_assert(strstr(after, "'web-4'"));
	cr_assert_str_neq(after, before);
	free(after);
	/* The first file of three changes: what follows it is read after
	 * other bytes, and its part of the digest with them. */
	write_file(dir, "10-base.yaml", "# a comment\n" "# more\n" "# and more\n");
	after = check_cached(dir, &cache, 1, 2, "10-base.yaml changed");
	free(after);
	write_file(dir, "10-base.yaml", cache_base);
	after = check_cached(dir, &cache, 1, 2, "10-base.yaml back");
	free(after);
	free(before);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

Test(load_cache, same_size_other_bytes)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", path[600];
	struct sl_load_cache cache = {};
	char *before, *after;
	struct stat st1, st2;

	cache_dir(dir);
	snprintf(path, sizeof(path), "%s/30-more.yaml", dir);
	before = check_cached(dir, &cache, 3, 0, "first load");
	cr_assert_eq(stat(path, &st1), 0);
	{
		/* One byte, in place: same size, and the same mtime too as far
		 * as a coarse clock can tell. */
		int fd = open(path, O_WRONLY);
		const char *at = strstr(cache_more, "identity: 1001");

		cr_assert_geq(fd, 0);
		cr_assert_eq(pwrite(fd, "2", 1, (off_t)(at - cache_more) + 13), 1);
		close(fd);
	}
	cr_assert_eq(stat(path, &st2), 0);
	cr_assert_eq(st1.st_size, st2.st_size);
	after = check_cached(dir, &cache, 1, 2, "30-more.yaml: one byte changed, same size");
	cr_assert_str_neq(after, before, "the change is seen");
	cr_assert(strstr(after, "identity@3:46=0x3ea"), "identity 1002 now:\n%s", after);
	free(after);
	free(before);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

Test(load_cache, removed_and_added_files)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", path[600], to[600];
	struct sl_load_cache cache = {};
	char *dump;

	cache_dir(dir);
	free(check_cached(dir, &cache, 3, 0, "first load"));
	snprintf(path, sizeof(path), "%s/20-endpoints.yaml", dir);
	cr_assert_eq(unlink(path), 0);
	dump = check_cached(dir, &cache, 0, 2, "20-endpoints.yaml removed");
	cr_assert_null(strstr(dump, "'web-1'"));
	cr_assert_eq(cache.n_files, 2, "a removed file leaves the cache");
	free(dump);
	write_file(dir, "25-new.yaml", cache_endpoints);
	dump = check_cached(dir, &cache, 1, 2, "25-new.yaml added");
	cr_assert(strstr(dump, "'web-1'"));
	cr_assert_eq(cache.n_files, 3);
	free(dump);
	/* Renamed: the same bytes under another name are another file. */
	snprintf(path, sizeof(path), "%s/25-new.yaml", dir);
	snprintf(to, sizeof(to), "%s/40-renamed.yaml", dir);
	cr_assert_eq(rename(path, to), 0);
	dump = check_cached(dir, &cache, 1, 2, "25-new.yaml renamed to 40-renamed.yaml");
	cr_assert(strstr(dump, "40-renamed.yaml#0"));
	cr_assert_eq(cache.n_files, 3);
	free(dump);
	/* Nothing left to read. */
	rm_rf(dir);
	strcpy(dir, "/tmp/sluice-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	dump = check_cached(dir, &cache, 0, 0, "an empty directory");
	cr_assert_eq(cache.n_files, 0);
	free(dump);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

Test(load_cache, invalid_then_fixed)
{
	char dir[] = "/tmp/sluice-test-XXXXXX";
	struct sl_load_cache cache = {};
	char *bad, *bad2, *again;

	cache_dir(dir);
	free(check_cached(dir, &cache, 3, 0, "first load"));
	/* Errors of shape, which the loader reports and goes on after, and
	 * of the whole state, which validation reports. */
	write_file(dir, "30-more.yaml",
		   "version: 1\n"
		   "endpoints:\n"
		   "  - {name: web-3, ipv4: 10.2.0.300, identity: 1001, node: node-b, colour: red}\n"
		   "  - {name: web-1, ipv4: 10.2.0.31, identity: x, node: node-b}\n"
		   "  - {ipv4: 10.2.0.32}\n"
		   "services:\n"
		   "  - name: web\n"
		   "    frontend: {ip: 10.96.0.11, port: 81}\n"
		   "---\n"
		   "version: 2\n"
		   "anything: [1, 2]\n");
	bad = check_cached(dir, &cache, 1, 2, "30-more.yaml invalid");
	cr_assert(strstr(bad, "unknown key 'colour'") && strstr(bad, "version 2 is not supported") &&
			  strstr(bad, "--- validated"),
		  "%s", bad);
	again = check_cached(dir, &cache, 0, 3, "30-more.yaml still invalid");
	cr_assert_str_eq(again, bad, "diagnostics come back from the cache as they were");
	free(again);
	/* A syntax error: the file stops there. */
	write_file(dir, "30-more.yaml", "version: 1\nendpoints:\n  - {name: web-3, ipv4: [\n");
	free(check_cached(dir, &cache, 1, 2, "30-more.yaml a syntax error"));
	free(check_cached(dir, &cache, 0, 3, "30-more.yaml a syntax error, again"));
	/* One that takes back a report it made before (the item on the line
	 * of the error was cut short, not incomplete): later reports keep
	 * their order numbers, which sort ties. */
	write_file(dir, "30-more.yaml",
		   "version: 1\nendpoints:\n  - {ipv4: 10.2.0.30}\n  - {ipv4: 10.2.0.31} ]\n");
	bad2 = check_cached(dir, &cache, 1, 2, "30-more.yaml a syntax error that takes back a report");
	cr_assert(strstr(bad2, "\n  #0 /") && strstr(bad2, "\n  #2 /") && !strstr(bad2, "\n  #1 /"), "%s", bad2);
	free(bad2);
	free(check_cached(dir, &cache, 0, 3, "the same, again"));
	write_file(dir, "30-more.yaml", "");
	free(check_cached(dir, &cache, 1, 2, "30-more.yaml empty"));
	write_file(dir, "30-more.yaml", cache_more);
	again = check_cached(dir, &cache, 1, 2, "30-more.yaml fixed");
	cr_assert(strstr(again, "diags 0"), "%s", again);
	free(again);
	free(bad);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

/* A syntax error near the top of a large file stops the parse long before
 * the end of the file: the digest still covers all of its bytes, with the
 * cache (which reads it all) and without (which reads it as a stream). */
Test(load_cache, digest_of_a_large_file_cut_short)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", *dump1, *dump2;
	struct sl_load_cache cache = {};
	struct strbuf big = {};

	cache_dir(dir);
	strbuf_adds(&big, "version: 1\nendpoints: [\n  - {name: x\n");
	for (int i = 0; i < 20000; i++)
		strbuf_addf(&big, "  - {name: ep-%d, ipv4: 10.3.%d.%d, identity: 1001, node: node-b}\n", i,
			    (i >> 8) & 0xff, i & 0xff);
	write_file(dir, "30-more.yaml", strbuf_str(&big));
	dump1 = check_cached(dir, &cache, 3, 0, "a large file with a syntax error at the top");
	/* One byte near the end changes: the digest does too. */
	strbuf_adds(&big, "# end\n");
	write_file(dir, "30-more.yaml", strbuf_str(&big));
	dump2 = check_cached(dir, &cache, 1, 2, "the same, with a comment at the end");
	cr_assert_str_neq(dump1, dump2, "the digests differ");
	free(dump1);
	free(dump2);
	strbuf_free(&big);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

/* Single files (not a directory), the same file twice, and every example
 * and invalid state of the repository (each kind of diagnostic). */
Test(load_cache, every_example_and_invalid_state)
{
	const char *root = getenv("SLUICE_SOURCE_ROOT");
	const char *dirs[] = { "examples/states", "tests/states/invalid" };
	char path[2048];
	int n = 0;

	cr_assert_not_null(root, "SLUICE_SOURCE_ROOT is set by meson");
	snprintf(path, sizeof(path), "chmod 0600 %s/examples/states/keys/[0-9]*", root);
	cr_assert_eq(system(path), 0);
	for (size_t k = 0; k < ARRAY_SIZE(dirs); k++) {
		char dir[1024];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/%s", root, dirs[k]);
		d = opendir(dir);
		cr_assert_not_null(d, "%s", dir);
		while ((de = readdir(d))) {
			struct sl_load_cache cache = {};
			char *first, *again;

			if (!sl_state_file_name(de->d_name) && strcmp(de->d_name, "cluster") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			first = check_cached(path, &cache, -1, 0, path);
			cr_assert_geq(cache.n_files, 1, "%s", path);
			cr_assert_eq(cache.parsed, cache.n_files, "%s", path);
			again = check_cached(path, &cache, 0, (int)cache.n_files, path);
			cr_assert_str_eq(again, first, "%s", path);
			free(first);
			free(again);
			sl_load_cache_free(&cache);
			n++;
		}
		closedir(d);
	}
	cr_assert_geq(n, 90, "the examples and the invalid corpus: %d states", n);
	{
		struct sl_load_cache cache = {};
		char *paths[3], *plain, *cached;

		snprintf(path, sizeof(path), "%s/examples/states/policy.yaml", root);
		paths[0] = paths[1] = path;
		paths[2] = "/nonexistent/state.yaml";
		plain = load_and_dump(paths, 3, NULL);
		for (int i = 0; i < 2; i++) {
			cached = load_and_dump(paths, 3, &cache);
			cr_assert_str_eq(cached, plain, "the same file twice, and a missing one");
			cr_assert_eq(cache.reused, i ? 2u : 1u);
			free(cached);
		}
		cr_assert_eq(cache.n_files, 1);
		free(plain);
		sl_load_cache_free(&cache);
	}
}

/* ---- hostile input (issue 15, items 3 and 4) ---- */

/* Load len bytes, which may hold NULs, as "t.yaml". */
static void load_bytes(struct sl_load *ld, const char *bytes, size_t len)
{
	cr_assert_geq(sl_load_buffer(ld, "t.yaml", ".", bytes, len), 0);
	cr_assert_geq(sl_load_finish(ld), 0);
	diag_sort(&ld->diags);
}

/* "BASENAME:LINE:COL: PATH: MESSAGE" lines, for diagnostics of several files. */
static char *diag_file_lines(const struct sl_load *ld)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (size_t i = 0; i < ld->diags.n; i++) {
		const struct diag *d = &ld->diags.v[i];
		const char *base = d->file ? strrchr(d->file, '/') : NULL;

		fprintf(f, "%s:%u:%u: %s%s: %s\n", base ? base + 1 : d->file ? d->file : "-", d->line, d->col,
			d->severity == DIAG_WARNING ? "warning: " : "", d->path, d->message);
	}
	fclose(f);
	return buf;
}

/* libyaml reports a reader error by byte offset; sluice names its line and
 * column, not 1:1, also after CR LF breaks and characters of several bytes. */
Test(hostile, reader_errors_name_their_line)
{
	static const char nul[] = "version: 1\nnodes:\n  - name: a\n\0\n";
	static const char crlf[] = "version: 1\r\n# \xc3\xa9 \xc3\xbc\r\nidentities:\r\n"
				   "  - {id: 1000, labels: {app: \"\xc3\xa9\xff\"}}\r\n";
	static const char esc[] = "version: 1\nnode: \"a\" # \x1b[2J\n";
	struct sl_load ld = {};

	load_bytes(&ld, nul, sizeof(nul) - 1);
	assert_diags(&ld, "4:1: (file): not valid text: control characters are not allowed (U+0000)\n");
	sl_load_free(&ld);
	memset(&ld, 0, sizeof(ld));
	load_bytes(&ld, crlf, sizeof(crlf) - 1);
	assert_diags(&ld, "4:32: (file): not valid text: invalid leading UTF-8 octet (byte 0xff)\n");
	sl_load_free(&ld);
	memset(&ld, 0, sizeof(ld));
	load_bytes(&ld, esc, sizeof(esc) - 1);
	assert_diags(&ld, "2:13: (file): not valid text: control characters are not allowed (U+001B)\n");
	sl_load_free(&ld);
}

/* The same far into a file read as a stream (libyaml decodes ahead of its
 * scanner, in blocks), with and without the cache. */
Test(hostile, reader_error_far_into_a_streamed_file)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", path[600], *paths[1] = { path };
	struct sl_load_cache cache = {};
	struct strbuf b = {};
	const char *want = "3003:32: (file): not valid text: control characters are not allowed (U+0001)\n";

	cr_assert_not_null(mkdtemp(dir));
	strbuf_adds(&b, "version: 1\nidentities:\n");
	for (int i = 0; i < 3000; i++)
		strbuf_addf(&b, "  - {id: %d, labels: {app: a%d}}\n", 1000 + i, i);
	strbuf_adds(&b, "  - {id: 9999, labels: {app: \"x\x01\"}}\n");
	write_file(dir, "big.yaml", strbuf_str(&b));
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	for (int cached = 0; cached < 2; cached++) {
		struct sl_load ld = {};

		if (cached)
			cr_assert_geq(sl_load_paths_cached(&ld, &cache, paths, 1), 0);
		else
			cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
		cr_assert_geq(sl_load_finish(&ld), 0);
		diag_sort(&ld.diags);
		assert_diags(&ld, want);
		sl_load_free(&ld);
	}
	strbuf_free(&b);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

/* A NUL ("\0" in a double-quoted scalar) is refused wherever C would read
 * a shorter string: {app: "web\0evil"} never becomes app=web. */
Test(hostile, nul_is_refused_not_cut)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\n"
		  "identities:\n"
		  "  - {id: 1000, labels: {app: \"web\\0evil\"}}\n"
		  "  - {id: 1001, labels: {\"app\\0evil\": web}}\n"
		  "policies:\n"
		  "  - name: p\n"
		  "    endpointSelector:\n"
		  "      matchLabels: {app: \"web\\0\"}\n"
		  "      matchExpressions: [{key: \"app\\0\", operator: \"In\\0x\", values: [\"web\\0\"]}]\n"
		  "datapath: {mode: \"veth\\0x\", socketAcceleration: \"true\\0\", vxlanPort: \"8472\\0\"}\n"
		  "\"version\\0x\": 2\n",
		  false);
	assert_diags(&ld,
		     "3:30: identities[1000].labels.app: a NUL character (\\0) is not allowed in a label value\n"
		     "4:25: identities[1001].labels: a NUL character (\\0) is not allowed in a label key\n"
		     "8:26: policies[p].endpointSelector.matchLabels.app: a NUL character (\\0) is not allowed in a "
		     "label value\n"
		     "9:32: policies[p].endpointSelector.matchExpressions[0].key: a NUL character (\\0) is not allowed "
		     "in a value\n"
		     "9:51: policies[p].endpointSelector.matchExpressions[0].operator: a NUL character (\\0) is not "
		     "allowed in a value\n"
		     "9:69: policies[p].endpointSelector.matchExpressions[0].values[0]: a NUL character (\\0) is not "
		     "allowed in a value\n"
		     "10:18: datapath.mode: a NUL character (\\0) is not allowed in a value\n"
		     "10:49: datapath.socketAcceleration: a NUL character (\\0) is not allowed in a value\n"
		     "10:70: datapath.vxlanPort: a NUL character (\\0) is not allowed in a value\n"
		     "11:1: (document): a NUL character (\\0) is not allowed in a key\n");
	cr_assert_eq(ld.state.identities[0].n_labels, 0, "no label app=web was kept");
	cr_assert_eq(ld.state.identities[1].n_labels, 0);
	cr_assert_eq(ld.state.policies[0].selector->n_match_labels, 0);
	sl_load_free(&ld);
}

/* Nesting deeper than SL_LOAD_DEPTH_MAX is refused as soon as it is seen:
 * libyaml's scanner is quadratic in the depth of flow nesting (80k levels
 * took 44 s). 64 levels are read; the 65th is not. */
Test(hostile, deep_nesting_is_refused_at_once)
{
	struct strbuf b = {};
	struct sl_load ld;
	struct timespec t0, t1;

	/* document 1, nodes 2, then 62 more: 64, read (and refused for its shape) */
	strbuf_adds(&b, "version: 1\nnodes: ");
	for (int i = 0; i < 62; i++)
		strbuf_adds(&b, "[");
	for (int i = 0; i < 62; i++)
		strbuf_adds(&b, "]");
	strbuf_adds(&b, "\n");
	load_text(&ld, strbuf_str(&b), false);
	assert_diags(&ld, "2:9: nodes[0]: expected a mapping, found a list\n");
	sl_load_free(&ld);
	strbuf_truncate(&b, 0);
	strbuf_adds(&b, "version: 1\nnodes: ");
	for (int i = 0; i < 100000; i++)
		strbuf_adds(&b, "[");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	load_text(&ld, strbuf_str(&b), false);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_diags(&ld, "2:9: nodes[0]: expected a mapping, found a list\n"
			  "2:71: nodes[0]: nested deeper than 64 levels (a state nests 10 at most); the rest of the file "
			  "is not read\n");
	cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 1000,
		     "refused at once, not after a scan of the whole depth");
	sl_load_free(&ld);
	/* Block style too. */
	strbuf_truncate(&b, 0);
	strbuf_adds(&b, "version: 1\nnodes:\n");
	for (int i = 0; i < 70; i++)
		strbuf_adds(&b, "- ");
	strbuf_adds(&b, "x\n");
	load_text(&ld, strbuf_str(&b), false);
	assert_diags(&ld, "3:3: nodes[0]: expected a mapping, found a list\n"
			  "3:127: nodes[0]: nested deeper than 64 levels (a state nests 10 at most); the rest of the "
			  "file is not read\n");
	sl_load_free(&ld);
	strbuf_free(&b);
}

/* A file of nothing but errors stops at SL_LOAD_ERRORS_MAX. */
Test(hostile, a_flood_of_errors_stops)
{
	struct strbuf b = {};
	struct sl_load ld;

	strbuf_adds(&b, "version: 1\n");
	for (int i = 0; i < 5000; i++)
		strbuf_addf(&b, "k%d: 1\n", i);
	load_text(&ld, strbuf_str(&b), false);
	cr_assert_eq(ld.diags.n_errors, SL_LOAD_ERRORS_MAX + 1);
	cr_assert_str_eq(ld.diags.v[ld.diags.n - 1].message, "1000 errors in this file; the rest of it is not read");
	cr_assert_eq(ld.diags.v[ld.diags.n - 1].line, 1001);
	sl_load_free(&ld);
	strbuf_free(&b);
}

/* Write "# comment" lines to a FIFO until its reader goes (a child). */
static pid_t endless_writer(const char *fifo)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		static const char line[] = "# an endless stream of comments\n";
		int fd = open(fifo, O_WRONLY);

		while (fd >= 0 && write(fd, line, sizeof(line) - 1) > 0)
			;
		_exit(0);
	}
	return pid;
}

/* A state larger than the limits is refused (by its size when it is a
 * regular file, by what was read for a stream); a FIFO given as a PATH is
 * read as a stream, up to the limit, with and without the cache. */
Test(hostile, size_limits)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", path[600], fifo[600], *paths[2] = { path, fifo };
	char text[200];
	struct sl_load ld = { .max_file_bytes = 64, .max_total_bytes = 150 };
	struct sl_load_cache cache = {};
	char *got;

	memset(text, '#', sizeof(text));
	text[0] = 'v';
	memcpy(text, "version: 1\n", 11);
	cr_assert_geq(sl_load_buffer(&ld, "a.yaml", ".", text, 60), 0);
	cr_assert_geq(sl_load_buffer(&ld, "b.yaml", ".", text, 70), 0);
	cr_assert_geq(sl_load_buffer(&ld, "c.yaml", ".", text, 50), 0);
	cr_assert_geq(sl_load_buffer(&ld, "d.yaml", ".", text, 50), 0);
	cr_assert_geq(sl_load_finish(&ld), 0);
	got = diag_file_lines(&ld);
	cr_assert_str_eq(got,
			 "b.yaml:0:0: (file): the file holds more than 64 bytes, the most a state file may hold; the "
			 "file (70 bytes) is not read\n"
			 "d.yaml:0:0: (file): the state's files hold more than 150 bytes together, the most a state "
			 "may hold; the file (50 bytes) is not read\n",
			 "%s", got);
	free(got);
	sl_load_free(&ld);

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "big.yaml", "version: 1\n# more than 64 bytes, more than 64 bytes, more than 64 bytes\n");
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.yaml", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	for (int cached = 0; cached < 2; cached++) {
		pid_t w = endless_writer(fifo);

		ld = (struct sl_load){ .max_file_bytes = 64 };
		alarm(20); /* a hang fails the test */
		if (cached)
			cr_assert_geq(sl_load_paths_cached(&ld, &cache, paths, 2), 0);
		else
			cr_assert_geq(sl_load_paths(&ld, paths, 2), 0);
		alarm(0);
		cr_assert_geq(sl_load_finish(&ld), 0);
		got = diag_file_lines(&ld);
		cr_assert_str_eq(got,
				 "big.yaml:0:0: (file): the file holds more than 64 bytes, the most a state file may "
				 "hold; the file (72 bytes) is not read\n"
				 "fifo.yaml:0:0: (file): the file holds more than 64 bytes, the most a state file may "
				 "hold; reading stopped there\n",
				 "%s%s", cached ? "(cached) " : "", got);
		free(got);
		sl_load_free(&ld);
		kill(w, SIGKILL);
		waitpid(w, NULL, 0);
	}
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

/* Entries of a directory that match *.yaml but are no files are errors that
 * name them: a directory, a FIFO (never opened for a blocking read), a
 * dangling symlink, a symlink loop. */
Test(hostile, directory_entries_that_are_no_files)
{
	char dir[] = "/tmp/sluice-test-XXXXXX", p[600], *paths[1] = { dir };
	struct sl_load_cache cache = {};
	char *got;
	const char *want =
		"20-dir.yaml:0:0: (file): not a regular file (a directory): the *.yaml and *.yml entries of a "
		"directory are read as state files and must be regular files or symbolic links to them\n"
		"30-fifo.yaml:0:0: (file): not a regular file (a FIFO): the *.yaml and *.yml entries of a directory "
		"are read as state files and must be regular files or symbolic links to them\n"
		"40-dangling.yaml:0:0: (file): cannot read: a symbolic link to 'missing/x.yaml', which does not "
		"exist\n"
		"50-loop.yaml:0:0: (file): cannot read: Too many levels of symbolic links\n";

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "10-ok.yaml", "version: 1\n");
	snprintf(p, sizeof(p), "%s/20-dir.yaml", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/30-fifo.yaml", dir);
	cr_assert_eq(mkfifo(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/40-dangling.yaml", dir);
	cr_assert_eq(symlink("missing/x.yaml", p), 0);
	snprintf(p, sizeof(p), "%s/50-loop.yaml", dir);
	cr_assert_eq(symlink("50-loop.yaml", p), 0);
	for (int cached = 0; cached < 2; cached++) {
		struct sl_load ld = {};

		alarm(20);
		if (cached)
			cr_assert_geq(sl_load_paths_cached(&ld, &cache, paths, 1), 0);
		else
			cr_assert_geq(sl_load_paths(&ld, paths, 1), 0);
		alarm(0);
		cr_assert_geq(sl_load_finish(&ld), 0);
		cr_assert_eq(ld.n_files, 1);
		got = diag_file_lines(&ld);
		cr_assert_str_eq(got, want, "%s%s", cached ? "(cached) " : "", got);
		free(got);
		sl_load_free(&ld);
	}
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

/* Quoted input is cut (at a character, never inside one); inside the
 * encryption section only its first 4 characters are ever quoted. */
Test(hostile, quotes_are_cut)
{
	char s[300];
	struct sl_load ld;

	cr_assert_str_eq(diag_q("abc"), "'abc'");
	memset(s, 'x', 64);
	s[64] = '\0';
	cr_assert_str_eq(diag_q(s), "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'");
	strcpy(s + 64, "y");
	cr_assert_str_eq(diag_q(s), "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (65 bytes)");
	for (int i = 0; i < 70; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[140] = '\0';
	cr_assert_eq(strlen(diag_q(s)), 1 + 128 + 4 + 12, "64 characters of 2 bytes: %s", diag_q(s));
	cr_assert(strstr(diag_q(s), "\xc3\xa9...' (140 bytes)"));
	cr_assert_str_eq(diag_cut("123456"), "123456");
	cr_assert_str_eq(diag_q_secret("0x4b1d0011"), "'0x4b...'");
	cr_assert_str_eq(diag_q_secret("abcd"), "'abcd'");

	load_text(&ld,
		  "version: 1\n"
		  "encryption:\n"
		  "  keys:\n"
		  "    - {spi: 3, aead: \"rfc4106\", 0x4b1d0011223344: 1, icvBits: 4b1d0011223344}\n"
		  "  4b1d0011: x\n"
		  "  enabled: 4b1d0011\n",
		  false);
	assert_diags(&ld,
		     "4:22: encryption.keys[3].aead: 'rfc4...' is not one of rfc4106(gcm(aes))\n"
		     "4:33: encryption.keys[3]: unknown key '0x4b...' (known here: spi, aead, key, keyFile, icvBits, "
		     "auth, authKey, authKeyFile, cipher, cipherKey, cipherKeyFile)\n"
		     "4:63: encryption.keys[3].icvBits: '4b1d...' is not a whole number\n"
		     "5:3: encryption: unknown key '4b1d...' (known here: enabled, keys)\n"
		     "6:12: encryption.enabled: '4b1d...' is not a boolean (true or false)\n");
	sl_load_free(&ld);
}

/* Text output escapes what a terminal would act on; JSON stays valid
 * whatever the bytes. */
Test(hostile, escaped_for_terminals_and_json)
{
	static const char in[] = "a\x1b[31m\a\n\t\r\x7f\xc2\x9b\xe2\x80\xae\xff\xc0\xaf z \xc3\xa9\\";
	struct strbuf b = {};
	struct diag_list dl = {};
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	strbuf_add_escaped(&b, in);
	cr_assert_str_eq(strbuf_str(&b), "a\\x1b[31m\\x07\\n\\t\\r\\x7f\\u009b\\u202e\\xff\\xc0\\xaf z \xc3\xa9\\");
	strbuf_truncate(&b, 0);
	strbuf_add_json_str(&b, in);
	cr_assert_str_eq(strbuf_str(&b),
			 "\"a\\u001b[31m\\u0007\\n\\t\\r\\u007f\\u009b\\u202e\\ufffd\\ufffd\\ufffd z \xc3\xa9\\\\\"");
	strbuf_free(&b);

	diag_add(&dl, DIAG_ERROR, diag_file(&dl, "st\x1b]0;x\a.yaml"), 2, 3, "labels.a\nb", "'%s' is bad",
		 "v\x1b[2J");
	f = open_memstream(&out, &len);
	diag_print_text(&dl, f, false);
	fclose(f);
	cr_assert_str_eq(out, "st\\x1b]0;x\\x07.yaml:2:3: labels.a\\nb: 'v\\x1b[2J' is bad\n");
	free(out);
	diag_list_free(&dl);
}

Test(load_cache, kubernetes_and_cilium_documents)
{
	char dir[] = "/tmp/sluice-test-XXXXXX";
	struct sl_load_cache cache = {};
	char *first, *again;

	/* Their policies are made by the loader (k8s.c): the cache keeps and
	 * copies them as it does sluice's own, and wipes them when it lets go. */
	cache_dir(dir);
	write_file(dir, "40-netpol.yaml",
		   "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: web}\n"
		   "spec:\n"
		   "  podSelector: {matchLabels: {app: web}}\n"
		   "  ingress:\n"
		   "    - from: [{namespaceSelector: {matchLabels: {team: a}}}]\n"
		   "      ports: [{port: 80}]\n"
		   "---\n"
		   "apiVersion: cilium.io/v2\n"
		   "kind: CiliumNetworkPolicy\n"
		   "metadata: {name: db, namespace: prod}\n"
		   "spec:\n"
		   "  endpointSelector: {matchLabels: {\"k8s:app\": db}}\n"
		   "  egress: [{toEndpoints: [{}]}]\n");
	first = check_cached(dir, &cache, 4, 0, "first load");
	cr_assert(strstr(first, "'NetworkPolicy/default/web'") && strstr(first, "'CiliumNetworkPolicy/prod/db'") &&
			  strstr(first, "'io.cilium.k8s.namespace.labels.team'"),
		  "the dump shows the policies:\n%s", first);
	again = check_cached(dir, &cache, 0, 4, "the same files again");
	cr_assert_str_eq(again, first);
	free(again);
	free(first);
	sl_load_cache_free(&cache);
	rm_rf(dir);
}

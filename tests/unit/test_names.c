/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names apply keeps for the monitor and show (features/names.c,
 * kinds/names.c): a local endpoint's name by its interface, an identity's
 * labels as sorted text, a CIDR identity's prefix, the kind rows.
 */
#include <string.h>

#include <sluice/abi.h>

#include "helpers.h"
#include "kinds/kind.h"
#include "reconcile/compile.h"

static void compile_of(const char *yaml, struct sl_load *ld, struct sl_compile_result *res)
{
	char *d;

	load_text(ld, yaml, true);
	d = diag_lines(ld);
	cr_assert_eq(ld->diags.n_errors, 0, "%s", d);
	free(d);
	cr_assert_eq(sl_compile(&ld->state, NULL, res), 0);
}

static const char *labels_of(const struct sl_objset *s, uint32_t id)
{
	const struct sl_obj *o = objset_find(s, SL_OBJ_ID_LABELS, &id, sizeof(id));

	return o ? ((const struct sl_id_labels_value *)obj_val(s, o))->text : NULL;
}

static const char *name_of(const struct sl_objset *s, const char *ifname)
{
	char key[16] = { 0 };
	const struct sl_obj *o;

	strncpy(key, ifname, sizeof(key) - 1);
	o = objset_find(s, SL_OBJ_EP_NAME, key, sizeof(key));
	return o ? ((const struct sl_ep_name_value *)obj_val(s, o))->name : NULL;
}

#define STATE                                                                                          \
	"version: 1\nnode: a\n"                                                                        \
	"nodes: [{name: a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24]},"                                \
	" {name: b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24]}]\n"                                     \
	"identities:\n"                                                                                \
	"  - {id: 1000, labels: {zone: b, app: web, env: prod}}\n"                                      \
	"  - {id: 1001, labels: {app: client}}\n"                                                       \
	"endpoints:\n"                                                                                 \
	"  - {name: web-1, interface: lxc-web1, ipv4: 10.1.0.10, identity: 1000}\n"                     \
	"  - {name: far-1, ipv4: 10.2.0.10, identity: 1001, node: b}\n"                                 \
	"policies:\n"                                                                                  \
	"  - name: out\n    endpointSelector: {matchLabels: {app: web}}\n"                             \
	"    egress: [{toCIDR: [192.0.2.0/24]}]\n"

Test(names, endpoints_and_labels)
{
	struct sl_load ld;
	struct sl_compile_result res;

	compile_of(STATE, &ld, &res);
	cr_expect_str_eq(name_of(&res.set, "lxc-web1"), "web-1");
	cr_expect_eq(objset_count(&res.set, SL_OBJ_EP_NAME), 1, "remote endpoints have no device here");
	cr_expect_str_eq(labels_of(&res.set, 1000), "app=web,env=prod,zone=b", "sorted by key");
	cr_expect_str_eq(labels_of(&res.set, 1001), "app=client");
	cr_expect_eq(objset_count(&res.set, SL_OBJ_ID_LABELS), 2,
		     "a CIDR identity has no labels entry: the monitor names it from the ipcache");
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

Test(names, long_labels_cut)
{
	struct strbuf y = {};
	struct sl_load ld;
	struct sl_compile_result res;
	const char *t;

	strbuf_adds(&y, "version: 1\nidentities:\n  - id: 1000\n    labels:\n");
	for (int i = 0; i < 20; i++)
		strbuf_addf(&y, "      key-%02d: value-of-key-number-%02d\n", i, i);
	compile_of(strbuf_str(&y), &ld, &res);
	t = labels_of(&res.set, 1000);
	cr_assert_not_null(t);
	cr_expect_eq(strlen(t), SL_LABELS_LEN - 1, "filled: %s", t);
	cr_expect_str_eq(t + strlen(t) - 3, "...", "cut short, and says so: %s", t);
	cr_expect(!strncmp(t, "key-00=value-of-key-number-00,key-01=", 37), "%s", t);
	sl_compile_result_free(&res);
	sl_load_free(&ld);
	strbuf_free(&y);
}

Test(names, kind_rows)
{
	const struct sl_kind *e = sl_kind(SL_OBJ_EP_NAME), *l = sl_kind(SL_OBJ_ID_LABELS);

	cr_assert(e && l);
	cr_expect_str_eq(e->map, SL_MAPNAME_EP_NAMES);
	cr_expect(e->flags & SL_KIND_KEY_IFNAME, "keyed by the device's ifindex in the kernel");
	cr_expect_str_eq(l->map, SL_MAPNAME_ID_LABELS);
	cr_expect(sl_kind_fits(SL_OBJ_ID_LABELS, 4, sizeof(struct sl_id_labels_value)));
}

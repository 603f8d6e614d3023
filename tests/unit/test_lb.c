/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Services compiled: slot tables by weight, how few slots a change of one
 * backend moves, ids kept from the live set, terminating and empty
 * services.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "helpers.h"
#include "kinds/kind.h"
#include "reconcile/compile.h"
#include "reconcile/lb.h"

/* A state with one service 10.96.0.10:80/TCP and these backends (YAML
 * flow maps, one per line). */
static void compile_service(const char *backends, const struct sl_compile_prev *prev, struct sl_compile_result *res)
{
	char yaml[8192];
	struct sl_load ld;

	snprintf(yaml, sizeof(yaml),
		 "version: 1\nservices:\n  - name: web\n    frontend: {ip: 10.96.0.10, port: 80, protocol: TCP}\n"
		 "    backends:\n%s",
		 backends);
	load_text(&ld, yaml, true);
	assert_no_diags(&ld);
	cr_assert_eq(sl_compile(&ld.state, prev, res), 0);
	sl_load_free(&ld);
}

/* The first service's value as the kernel gets it (the set holds its
 * form: kinds/service.c), in one of two buffers that take turns. */
static const struct sl_service_value *the_service(const struct sl_objset *s)
{
	static struct sl_service_value buf[2];
	static int turn;

	for (size_t i = 0; i < s->n; i++) {
		const struct sl_obj *o = &s->v[i];
		struct sl_service_value *v;

		if (o->kind != SL_OBJ_SERVICE)
			continue;
		v = &buf[turn++ % 2];
		cr_assert_lt(o->vlen, sizeof(*v), "a service with two or three backends is kept short (%u bytes)",
			     o->vlen);
		cr_assert_not_null(sl_kind_value(SL_OBJ_SERVICE, obj_val(s, o), o->vlen, v), "its form unpacks");
		return v;
	}
	cr_assert_fail("no service object");
	return NULL;
}

/* The backend (by last address byte) each slot sends new flows to. */
static void slot_owners(const struct sl_objset *s, int owner[SL_LB_SLOTS])
{
	const struct sl_service_value *v = the_service(s);

	for (int i = 0; i < SL_LB_SLOTS; i++) {
		struct sl_backend_key k = { .id = v->member[v->slot[i]].backend_id };
		const struct sl_obj *o = objset_find(s, SL_OBJ_BACKEND, &k, sizeof(k));

		cr_assert_not_null(o, "slot %d names backend id %u, which has no entry", i, k.id);
		owner[i] = ((const struct sl_backend_value *)obj_val(s, o))->addr[3];
	}
}

static char *backends_text(int first, int n, const char *extra)
{
	static char buf[4096];
	size_t len = 0;

	for (int i = first; i < first + n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "      - {ip: 10.1.0.%d, port: 8080}\n", i);
	snprintf(buf + len, sizeof(buf) - len, "%s", extra ? extra : "");
	return buf;
}

Test(lb, shares_follow_weights)
{
	static const struct {
		const char *backends;
		int weights[4];
	} cases[] = {
		{ "      - {ip: 10.1.0.1, port: 8080}\n      - {ip: 10.1.0.2, port: 8080, weight: 3}\n", { 1, 3 } },
		{ "      - {ip: 10.1.0.1, port: 8080}\n      - {ip: 10.1.0.2, port: 8080}\n"
		  "      - {ip: 10.1.0.3, port: 8080, weight: 2}\n",
		  { 1, 1, 2 } },
		{ "      - {ip: 10.1.0.1, port: 8080, weight: 1}\n      - {ip: 10.1.0.2, port: 8080, weight: 1000}\n",
		  { 1, 1000 } },
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct sl_compile_result res;
		int owner[SL_LB_SLOTS], count[8] = { 0 }, total = 0;

		compile_service(cases[c].backends, NULL, &res);
		cr_assert_eq(the_service(&res.set)->n_slots, SL_LB_SLOTS);
		slot_owners(&res.set, owner);
		for (int i = 0; i < SL_LB_SLOTS; i++)
			count[owner[i]]++;
		for (int b = 0; b < 4; b++)
			total += cases[c].weights[b];
		for (int b = 0; b < 4 && cases[c].weights[b]; b++) {
			double p = (double)cases[c].weights[b] / total, exact = SL_LB_SLOTS * p;
			/* each slot is its own draw: a binomial spread around the share */
			double sigma = sqrt(SL_LB_SLOTS * p * (1 - p));

			cr_expect(count[b + 1] >= 1, "case %zu: backend %d has a slot", c, b + 1);
			cr_expect(fabs(count[b + 1] - exact) <= 3 * sigma + 1,
				  "case %zu: backend %d has %d slots, its weight asks %.1f (sigma %.1f)", c, b + 1,
				  count[b + 1], exact, sigma);
		}
		sl_compile_result_free(&res);
	}
}

/* Consistency: one backend more or less moves about 1/N of the slots. */
Test(lb, one_backend_moves_few_slots)
{
	for (int n = 3; n <= 40; n++) {
		struct sl_compile_result a, b, c;
		int oa[SL_LB_SLOTS], ob[SL_LB_SLOTS], oc[SL_LB_SLOTS], added = 0, removed = 0;
		double fair = (double)SL_LB_SLOTS / (n + 1);

		compile_service(backends_text(1, n, NULL), NULL, &a);
		compile_service(backends_text(1, n + 1, NULL), NULL, &b); /* one added */
		compile_service(backends_text(2, n - 1, NULL), NULL, &c); /* the first removed */
		slot_owners(&a.set, oa);
		slot_owners(&b.set, ob);
		slot_owners(&c.set, oc);
		for (int i = 0; i < SL_LB_SLOTS; i++) {
			added += oa[i] != ob[i];
			removed += oa[i] != oc[i];
			/* only slots the new backend takes, or the removed one held, move */
			cr_expect(oa[i] == ob[i] || ob[i] == n + 1, "%d backends, one added: slot %d moved from %d to %d",
				  n, i, oa[i], ob[i]);
			cr_expect(oa[i] == oc[i] || oa[i] == 1, "%d backends, one removed: slot %d moved from %d to %d",
				  n, i, oa[i], oc[i]);
		}
		/* the new backend takes its share; little else moves */
		cr_expect_leq(added, (int)(fair * 1.5) + 3, "%d backends, one added: %d of %d slots moved (its share %.1f)",
			      n, added, SL_LB_SLOTS, fair);
		cr_expect_leq(removed, (int)((double)SL_LB_SLOTS / n * 1.5) + 3,
			      "%d backends, one removed: %d of %d slots moved (its share %.1f)", n, removed, SL_LB_SLOTS,
			      (double)SL_LB_SLOTS / n);
		sl_compile_result_free(&a);
		sl_compile_result_free(&b);
		sl_compile_result_free(&c);
	}
}

Test(lb, order_in_the_file_does_not_matter)
{
	struct sl_compile_result a, b;

	compile_service("      - {ip: 10.1.0.1, port: 8080}\n      - {ip: 10.1.0.2, port: 8080, weight: 2}\n"
			"      - {ip: 10.1.0.3, port: 8080}\n",
			NULL, &a);
	compile_service("      - {ip: 10.1.0.3, port: 8080}\n      - {ip: 10.1.0.1, port: 8080}\n"
			"      - {ip: 10.1.0.2, port: 8080, weight: 2}\n",
			NULL, &b);
	cr_assert_eq(memcmp(the_service(&a.set), the_service(&b.set), sizeof(struct sl_service_value)), 0);
	sl_compile_result_free(&a);
	sl_compile_result_free(&b);
}

Test(lb, terminating_and_empty)
{
	struct sl_compile_result res;
	const struct sl_service_value *v;
	int owner[SL_LB_SLOTS];

	compile_service("      - {ip: 10.1.0.1, port: 8080, state: terminating}\n      - {ip: 10.1.0.2, port: 8080}\n",
			NULL, &res);
	v = the_service(&res.set);
	cr_assert_eq(v->n_members, 2, "the terminating backend stays a member");
	cr_assert(v->member[0].flags & SL_LB_MEMBER_TERMINATING);
	slot_owners(&res.set, owner);
	for (int i = 0; i < SL_LB_SLOTS; i++)
		cr_assert_eq(owner[i], 2, "slot %d goes to the terminating backend", i);
	sl_compile_result_free(&res);

	compile_service("      - {ip: 10.1.0.1, port: 8080, state: terminating}\n", NULL, &res);
	cr_assert_eq(the_service(&res.set)->n_slots, 0, "all terminating: no slot, new flows refused");
	sl_compile_result_free(&res);
	compile_service("      []\n", NULL, &res);
	cr_assert_eq(the_service(&res.set)->n_slots, 0, "no backend: no slot");
	cr_assert_eq(objset_count(&res.set, SL_OBJ_BACKEND), 0);
	sl_compile_result_free(&res);
}

/* Ids from the live set stay; new ones take the lowest free ids. */
Test(lb, ids_come_from_the_live_set)
{
	struct sl_backend_value live_b[2] = { 0 };
	uint32_t live_bid[2] = { 7, 1 };
	struct sl_service_key live_s = { .port = htons(80), .proto = 6, .family = 4 };
	uint32_t live_sid = 42;
	struct sl_compile_prev prev = { 0 };
	struct sl_compile_result res;
	uint32_t ids[3] = { 0 };
	int n = 0;

	live_b[0].family = live_b[1].family = 4;
	inet_pton(AF_INET, "10.1.0.2", live_b[0].addr);
	inet_pton(AF_INET, "10.1.0.9", live_b[1].addr); /* no longer in the state */
	live_b[0].port = live_b[1].port = htons(8080);
	inet_pton(AF_INET, "10.96.0.10", live_s.addr);
	prev.lb = (struct sl_lb_prev){ live_b, live_bid, 2, &live_s, &live_sid, 1 };
	compile_service("      - {ip: 10.1.0.1, port: 8080}\n      - {ip: 10.1.0.2, port: 8080}\n"
			"      - {ip: 10.1.0.3, port: 8080}\n",
			&prev, &res);
	cr_assert_eq(the_service(&res.set)->id, 42, "the service keeps its id");
	for (size_t i = 0; i < res.set.n; i++) {
		const struct sl_obj *o = &res.set.v[i];

		if (o->kind == SL_OBJ_BACKEND) {
			const struct sl_backend_value *b = obj_val(&res.set, o);

			ids[b->addr[3] - 1] = ((const struct sl_backend_key *)obj_key(&res.set, o))->id;
			n++;
		}
	}
	cr_assert_eq(n, 3);
	cr_expect_eq(ids[1], 7, "10.1.0.2 keeps id 7 (got %u)", ids[1]);
	cr_expect_eq(ids[0], 2, "10.1.0.1 gets the lowest free id, 2 (got %u)", ids[0]);
	cr_expect_eq(ids[2], 3, "10.1.0.3 gets the next, 3 (got %u)", ids[2]);
	sl_compile_result_free(&res);
}

/* A backend shared by two services (and two protocols) is one entry. */
Test(lb, shared_backend_is_one_entry)
{
	struct sl_load ld;
	struct sl_compile_result res;

	load_text(&ld,
		  "version: 1\nservices:\n"
		  "  - name: dns-udp\n    frontend: {ip: 10.96.0.53, port: 53, protocol: UDP}\n"
		  "    backends: [{ip: 10.1.0.53}]\n"
		  "  - name: dns-tcp\n    frontend: {ip: 10.96.0.53, port: 53, protocol: TCP}\n"
		  "    backends: [{ip: 10.1.0.53}, {ip: 10.1.0.54, state: terminating}]\n",
		  true);
	assert_no_diags(&ld);
	cr_assert_eq(sl_compile(&ld.state, NULL, &res), 0);
	cr_expect_eq(objset_count(&res.set, SL_OBJ_SERVICE), 2);
	cr_expect_eq(objset_count(&res.set, SL_OBJ_BACKEND), 2);
	sl_compile_result_free(&res);
	sl_load_free(&ld);
}

/* ---- the incremental compile (sl_lb_delta) ---- */

/* Random services: `prefix`-i for i < n, frontends from 10.`net`.0.x,
 * backends from a pool of 12 addresses (shared with the other services),
 * weights 1-4, some terminating. */
static void random_services(struct strbuf *b, unsigned *seed, const char *prefix, int net, int n)
{
	for (int i = 0; i < n; i++) {
		int nb = (int)(rand_r(seed) % 4);

		strbuf_addf(b, "  - name: %s-%d\n    frontend: {ip: 10.%d.0.%d, port: %u, protocol: %s}\n", prefix, i,
			    net, i + 1, 8000 + rand_r(seed) % 3, rand_r(seed) % 2 ? "TCP" : "UDP");
		strbuf_adds(b, nb ? "    backends:\n" : "    backends: []\n");
		for (int j = 0; j < nb; j++)
			strbuf_addf(b, "      - {ip: 10.1.0.%u, port: %d, weight: %u%s}\n", 1 + rand_r(seed) % 4, 8080 + j,
				    1 + rand_r(seed) % 4, rand_r(seed) % 5 ? "" : ", state: terminating");
	}
}

/*
 * The property: for random sequences of changes of some services (beside
 * others that stay, sharing backends with them), the verified set patched
 * with sl_lb_delta's objects is, after every step, what the whole state
 * compiles to against it (ids and slot tables included).
 */
Test(lb, delta_is_the_whole_compile)
{
	for (unsigned run = 0; run < 40; run++) {
		unsigned seed = 0x5eed + run;
		struct strbuf fixed = {}, y = {};
		struct compiled a;
		struct sl_objset v = {};
		struct sl_lb_index *ix = NULL;
		int n_fixed = 1 + (int)(rand_r(&seed) % 5), n_chg = (int)(rand_r(&seed) % 6);

		random_services(&fixed, &seed, "fix", 97, n_fixed);
		strbuf_addf(&y, "version: 1\nservices:\n%s", fixed.s);
		random_services(&y, &seed, "chg", 96, n_chg);
		compile_yaml(&a, y.s, NULL, false);
		cr_assert_eq(objset_append(&v, &a.res.set), 0);
		objset_sort(&v);
		cr_assert_eq(sl_lb_index_build(&v, &a.ld.state, &ix), 0);
		for (int step = 0; step < 12; step++) {
			struct compiled b, full;
			struct sl_objset want = {}, have = {};
			struct sl_compile_prev prev = {};
			char(*names)[17] = NULL;
			struct sl_diff d;
			char what[64];
			int n_new = (int)(rand_r(&seed) % 6);

			snprintf(what, sizeof(what), "run %u step %d", run, step);
			strbuf_free(&y);
			strbuf_addf(&y, "version: 1\nservices:\n%s", fixed.s);
			random_services(&y, &seed, "chg", 96, n_new);
			compile_yaml(&b, y.s, NULL, false);
			/* the changing services follow the fixed ones in both */
			cr_assert_eq(sl_lb_delta(ix, &v, a.ld.state.services + n_fixed, a.ld.state.n_services - n_fixed,
						 b.ld.state.services + n_fixed, b.ld.state.n_services - n_fixed,
						 b.ld.state.datapath->map_sizes, &want, &have),
				     0, "%s", what);
			cr_assert_eq(sl_diff(&want, &have, &d), 0);
			cr_assert_eq(sl_diff_patch(&v, &want, &have, &d), 0, "%s", what);
			sl_compile_prev_from_live(&v, &prev, &names);
			cr_assert_eq(sl_compile(&b.ld.state, &prev, &full.res), 0);
			assert_same_set(&v, &full.res.set, what);
			sl_compile_prev_free(&prev, names);
			sl_compile_result_free(&full.res);
			sl_diff_free(&d);
			objset_free(&want);
			objset_free(&have);
			compiled_free(&a);
			a = b;
		}
		sl_lb_index_free(ix);
		objset_free(&v);
		compiled_free(&a);
		strbuf_free(&fixed);
		strbuf_free(&y);
	}
}

/* What the delta cannot compile alone: a frontend or a name that a service
 * it does not change has. */
Test(lb, delta_refuses_what_others_have)
{
	static const char *const changes[] = {
		"  - {name: b, frontend: {ip: 10.96.0.1, port: 80}, backends: [{ip: 10.1.0.1}]}\n",
		"  - {name: a, frontend: {ip: 10.96.0.2, port: 80}, backends: [{ip: 10.1.0.1}]}\n",
	};

	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		struct compiled a, b;
		struct sl_objset v = {}, want = {}, have = {};
		struct sl_lb_index *ix = NULL;
		char y[1024];

		compile_yaml(&a, "version: 1\nservices:\n  - {name: a, frontend: {ip: 10.96.0.1, port: 80}, "
				 "backends: [{ip: 10.1.0.1}]}\n",
			     NULL, false);
		cr_assert_eq(objset_append(&v, &a.res.set), 0);
		objset_sort(&v);
		cr_assert_eq(sl_lb_index_build(&v, &a.ld.state, &ix), 0);
		snprintf(y, sizeof(y), "version: 1\nservices:\n%s", changes[i]);
		compile_yaml(&b, y, NULL, false);
		cr_assert_eq(sl_lb_delta(ix, &v, NULL, 0, b.ld.state.services, b.ld.state.n_services,
					 b.ld.state.datapath->map_sizes, &want, &have),
			     -EAGAIN, "change %zu", i);
		sl_lb_index_free(ix);
		objset_free(&v);
		objset_free(&want);
		objset_free(&have);
		compiled_free(&a);
		compiled_free(&b);
	}
}

/*
 * The sets' form of a service value (kinds/service.c): every value comes
 * back whole from its form, the form is short when few members are in
 * use and the slots are small numbers, and two values have the same form
 * exactly when they are the same (sets compare forms, never values).
 */
static size_t form_of(const struct sl_service_value *v, uint8_t *out)
{
	return sl_kind(SL_OBJ_SERVICE)->pack(v, out);
}

static void round_trip(const struct sl_service_value *v, size_t want_max, const char *what)
{
	uint8_t form[SL_KIND_VLEN_MAX];
	struct sl_service_value back;
	size_t n = form_of(v, form);

	cr_assert_leq(n, want_max, "%s: a form of %zu bytes, want at most %zu", what, n, want_max);
	memset(&back, 0xa5, sizeof(back));
	cr_assert_not_null(sl_kind_value(SL_OBJ_SERVICE, form, n, &back), "%s: the form unpacks", what);
	cr_assert_eq(memcmp(&back, v, sizeof(back)), 0, "%s: the value comes back whole", what);
}

Test(lb, service_form_round_trips)
{
	struct sl_service_value v, w;
	uint8_t fa[SL_KIND_VLEN_MAX], fb[SL_KIND_VLEN_MAX];
	unsigned seed = 7;
	size_t na;

	/* a compiled value with two backends: 10 + 16 + 32 bytes */
	memset(&v, 0, sizeof(v));
	v.id = 42;
	v.n_slots = SL_LB_SLOTS;
	v.n_members = 2;
	v.member[0] = (struct sl_lb_member){ .backend_id = 1, .weight = 1 };
	v.member[1] = (struct sl_lb_member){ .backend_id = 2, .weight = 3, .flags = SL_LB_MEMBER_TERMINATING };
	for (int i = 0; i < SL_LB_SLOTS; i++)
		v.slot[i] = (uint8_t)(i % 3 == 0);
	round_trip(&v, 58, "two members");
	/* every bit width, and the padding byte not zero */
	for (int bits = 1; bits <= 8; bits *= 2) {
		for (int i = 0; i < SL_LB_SLOTS + 1; i++)
			v.slot[i] = (uint8_t)((i * 37u) % (1u << bits));
		round_trip(&v, 10 + 16 + ((SL_LB_SLOTS + 1) * bits + 7) / 8, "slots of a width");
	}
	/* a member in the middle zero, the last one not */
	v.member[9] = (struct sl_lb_member){ .backend_id = 99, .weight = 1 };
	round_trip(&v, 10 + 80 + SL_LB_SLOTS + 1, "a zero member between two");
	/* nothing to drop: kept as the kernel's bytes */
	for (int m = 0; m < SL_LB_MAX_BACKENDS; m++)
		v.member[m] = (struct sl_lb_member){ .backend_id = (uint32_t)m + 1, .weight = 1 };
	v.slot[0] = 255;
	round_trip(&v, sizeof(v), "64 members, a slot of 255");
	cr_assert_eq(form_of(&v, fa), sizeof(v));
	/* random values, and one byte changed: the forms differ */
	for (int t = 0; t < 2000; t++) {
		size_t nb;
		int k = rand_r(&seed) % (SL_LB_MAX_BACKENDS + 1), bits = 1 << (rand_r(&seed) % 4);
		size_t at;

		memset(&v, 0, sizeof(v));
		v.id = (uint32_t)rand_r(&seed);
		v.n_slots = SL_LB_SLOTS;
		v.n_members = (uint8_t)k;
		for (int m = 0; m < k; m++)
			v.member[m] = (struct sl_lb_member){ .backend_id = (uint32_t)rand_r(&seed), .weight = 1 };
		for (int i = 0; i < SL_LB_SLOTS; i++)
			v.slot[i] = (uint8_t)(rand_r(&seed) % (1 << bits));
		round_trip(&v, sizeof(v), "a random value");
		w = v;
		at = (size_t)rand_r(&seed) % sizeof(w);
		((uint8_t *)&w)[at] ^= (uint8_t)(1 + rand_r(&seed) % 255);
		na = form_of(&v, fa);
		nb = form_of(&w, fb);
		cr_assert(na != nb || memcmp(fa, fb, na), "values that differ at byte %zu have the same form", at);
		memcpy(&w, &v, sizeof(w));
		cr_assert(form_of(&w, fb) == na && !memcmp(fa, fb, na), "a copy has the same form");
	}
	/* what is no form is refused */
	memset(&v, 0, sizeof(v));
	v.n_members = 1;
	v.member[0].backend_id = 1;
	na = form_of(&v, fa);
	cr_assert_eq(na, 10 + 8 + 32);
	cr_assert_null(sl_kind_value(SL_OBJ_SERVICE, fa, 5, &w), "too short");
	cr_assert_null(sl_kind_value(SL_OBJ_SERVICE, fa, na - 1, &w), "a byte short");
	fa[0] = 3;
	cr_assert_null(sl_kind_value(SL_OBJ_SERVICE, fa, na, &w), "3 bits per slot is no form");
	fa[0] = 1;
	fa[1] = SL_LB_MAX_BACKENDS + 1;
	cr_assert_null(sl_kind_value(SL_OBJ_SERVICE, fa, na, &w), "65 members is no form");
}

/* N services of 1 to 4 backends (weights and states mixed), and with
 * extra one more whose frontend and backends sort after every other's:
 * the others' ids, and so their values, are the same either way. */
static void compile_many(int n, bool extra, struct sl_compile_result *res)
{
	struct strbuf y = {};
	struct sl_load ld;

	strbuf_adds(&y, "version: 1\ndatapath:\n  mapSizes: {services: 8192, backends: 32768}\nservices:\n");
	for (int i = 0; i < n; i++) {
		strbuf_addf(&y, "  - name: s%d\n    frontend: {ip: 10.96.%d.%d, port: 80, protocol: TCP}\n    backends:\n",
			    i, i / 250, i % 250 + 1);
		for (int b = 0; b <= i % 4; b++)
			strbuf_addf(&y, "      - {ip: 10.%d.%d.%d, port: 8080%s}\n", 1 + b, i / 250, i % 250 + 1,
				    b == 2 ? ", weight: 3" : b == 3 ? ", state: terminating" : "");
	}
	if (extra)
		strbuf_adds(&y, "  - name: last\n    frontend: {ip: 10.97.0.1, port: 80, protocol: TCP}\n"
				"    backends: [{ip: 11.0.0.1, port: 8080}, {ip: 11.0.0.2, port: 8080}]\n");
	load_text(&ld, strbuf_str(&y), true);
	assert_no_diags(&ld);
	cr_assert_eq(sl_compile(&ld.state, NULL, res), 0);
	sl_load_free(&ld);
	strbuf_free(&y);
}

/* From 4,096 services on, two threads make the values (services.c): the
 * same values, in the same order, as one thread makes. */
Test(lb, values_made_on_two_threads_are_the_same)
{
	struct sl_compile_result one, two;
	size_t n1 = 0, n2 = 0, j = 0;

	compile_many(4095, false, &one); /* one thread */
	compile_many(4095, true, &two);	 /* two */
	for (size_t i = 0; i < one.set.n; i++)
		n1 += one.set.v[i].kind == SL_OBJ_SERVICE;
	for (size_t i = 0; i < two.set.n; i++)
		n2 += two.set.v[i].kind == SL_OBJ_SERVICE;
	cr_assert_eq(n1, 4095);
	cr_assert_eq(n2, 4096);
	for (size_t i = 0; i < one.set.n; i++) {
		const struct sl_obj *a = &one.set.v[i], *b;

		if (a->kind != SL_OBJ_SERVICE && a->kind != SL_OBJ_BACKEND)
			continue;
		b = objset_find(&two.set, a->kind, obj_key(&one.set, a), a->klen);
		cr_assert_not_null(b, "object %zu of kind %u is in both", i, a->kind);
		cr_assert(a->vlen == b->vlen && !memcmp(obj_val(&one.set, a), obj_val(&two.set, b), a->vlen),
			  "object %zu of kind %u has the same value", i, a->kind);
		j++;
	}
	cr_assert_gt(j, 4095 + 4095);
	sl_compile_result_free(&one);
	sl_compile_result_free(&two);
}

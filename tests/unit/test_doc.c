/* SPDX-License-Identifier: Apache-2.0 */
/* The document emitter (src/common/doc.c): one tree, YAML and JSON. */
#include <criterion/criterion.h>
#include <errno.h>

#include "common/doc.h"

struct out3 {
	struct strbuf yaml, json, compact;
};

static void render(const struct doc *d, struct out3 *o)
{
	memset(o, 0, sizeof(*o));
	cr_assert_eq(doc_yaml(d, &o->yaml), 0);
	cr_assert_eq(doc_json(d, DOC_JSON_PRETTY, &o->json), 0);
	cr_assert_eq(doc_json(d, DOC_JSON_COMPACT, &o->compact), 0);
}

static void out3_free(struct out3 *o)
{
	strbuf_free(&o->yaml);
	strbuf_free(&o->json);
	strbuf_free(&o->compact);
}

Test(doc, nested)
{
	struct doc d;
	struct doc_node *q, *m, *f;
	struct out3 o;

	cr_assert_eq(doc_init(&d), 0);
	doc_u64(&d, doc_root(&d), "version", 1);
	doc_str(&d, doc_root(&d), "node", "node-a");
	q = doc_seq(&d, doc_root(&d), "endpoints", DOC_BLOCK);
	m = doc_map(&d, q, NULL, DOC_BLOCK);
	doc_str(&d, m, "name", "web-1");
	doc_str(&d, m, "ipv4", "10.1.0.10");
	doc_str(&d, m, "ipv6", "fd00:1::10");
	f = doc_map(&d, m, "labels", DOC_FLOW);
	doc_str(&d, f, "app", "web");
	doc_i64(&d, f, "count", -3);
	f = doc_seq(&d, m, "cidrs", DOC_FLOW);
	doc_str(&d, f, NULL, "10.0.0.0/8");
	doc_bool(&d, f, NULL, true);
	m = doc_map(&d, doc_root(&d), "datapath", DOC_BLOCK);
	doc_strf(&d, doc_seq(&d, m, "list", DOC_BLOCK), NULL, "%s-%d", "x", 2);
	render(&d, &o);
	cr_expect_str_eq(strbuf_str(&o.yaml), "version: 1\n"
					      "node: node-a\n"
					      "endpoints:\n"
					      "  - name: web-1\n"
					      "    ipv4: 10.1.0.10\n"
					      "    ipv6: \"fd00:1::10\"\n"
					      "    labels: {app: web, count: -3}\n"
					      "    cidrs: [10.0.0.0/8, true]\n"
					      "datapath:\n"
					      "  list:\n"
					      "    - x-2\n");
	cr_expect_str_eq(strbuf_str(&o.json), "{\n"
					      "  \"version\": 1,\n"
					      "  \"node\": \"node-a\",\n"
					      "  \"endpoints\": [\n"
					      "    {\n"
					      "      \"name\": \"web-1\",\n"
					      "      \"ipv4\": \"10.1.0.10\",\n"
					      "      \"ipv6\": \"fd00:1::10\",\n"
					      "      \"labels\": {\"app\": \"web\", \"count\": -3},\n"
					      "      \"cidrs\": [\"10.0.0.0/8\", true]\n"
					      "    }\n"
					      "  ],\n"
					      "  \"datapath\": {\n"
					      "    \"list\": [\n"
					      "      \"x-2\"\n"
					      "    ]\n"
					      "  }\n"
					      "}\n");
	cr_expect_str_eq(strbuf_str(&o.compact),
			 "{\"version\":1,\"node\":\"node-a\",\"endpoints\":[{\"name\":\"web-1\",\"ipv4\":\"10.1.0.10\","
			 "\"ipv6\":\"fd00:1::10\",\"labels\":{\"app\":\"web\",\"count\":-3},\"cidrs\":[\"10.0.0.0/8\",true]}],"
			 "\"datapath\":{\"list\":[\"x-2\"]}}\n");
	out3_free(&o);
	doc_free(&d);
}

Test(doc, sequence_of_sequences)
{
	struct doc d;
	struct doc_node *q, *inner;
	struct out3 o;

	cr_assert_eq(doc_init(&d), 0);
	q = doc_seq(&d, doc_root(&d), "q", DOC_BLOCK);
	inner = doc_seq(&d, q, NULL, DOC_BLOCK);
	doc_u64(&d, inner, NULL, 1);
	doc_u64(&d, inner, NULL, 2);
	doc_map(&d, q, NULL, DOC_BLOCK);
	render(&d, &o);
	/* A block sequence inside a sequence is written in flow style. */
	cr_expect_str_eq(strbuf_str(&o.yaml), "q:\n  - [1, 2]\n  - {}\n");
	cr_expect_str_eq(strbuf_str(&o.compact), "{\"q\":[[1,2],{}]}\n");
	out3_free(&o);
	doc_free(&d);
}

Test(doc, empty_collections)
{
	struct doc d;
	struct out3 o;

	cr_assert_eq(doc_init(&d), 0);
	render(&d, &o);
	cr_expect_str_eq(strbuf_str(&o.yaml), "{}\n");
	cr_expect_str_eq(strbuf_str(&o.json), "{}\n");
	cr_expect_str_eq(strbuf_str(&o.compact), "{}\n");
	out3_free(&o);
	doc_map(&d, doc_root(&d), "m", DOC_BLOCK);
	doc_seq(&d, doc_root(&d), "s", DOC_BLOCK);
	doc_map(&d, doc_root(&d), "fm", DOC_FLOW);
	doc_seq(&d, doc_root(&d), "fs", DOC_FLOW);
	render(&d, &o);
	cr_expect_str_eq(strbuf_str(&o.yaml), "m: {}\ns: []\nfm: {}\nfs: []\n");
	cr_expect_str_eq(strbuf_str(&o.json), "{\n  \"m\": {},\n  \"s\": [],\n  \"fm\": {},\n  \"fs\": []\n}\n");
	cr_expect_str_eq(strbuf_str(&o.compact), "{\"m\":{},\"s\":[],\"fm\":{},\"fs\":[]}\n");
	out3_free(&o);
	doc_free(&d);
}

/* Each string as the value of "k": how YAML and compact JSON write it. */
static const struct {
	const char *in, *yaml, *json;
} quoting[] = {
	{ "plain", "plain", "\"plain\"" },
	{ "a:b", "\"a:b\"", "\"a:b\"" },
	{ "a: b", "\"a: b\"", "\"a: b\"" },
	{ " lead", "\" lead\"", "\" lead\"" },
	{ "trail ", "\"trail \"", "\"trail \"" },
	{ "q\"uo'te", "\"q\\\"uo'te\"", "\"q\\\"uo'te\"" },
	{ "back\\slash", "\"back\\\\slash\"", "\"back\\\\slash\"" },
	{ "nl\nctl\x01", "\"nl\\nctl\\u0001\"", "\"nl\\nctl\\u0001\"" },
	{ "bad\xff", "\"bad\\ufffd\"", "\"bad\\ufffd\"" },
	{ "", "\"\"", "\"\"" },
	{ "true", "\"true\"", "\"true\"" },
	{ "No", "\"No\"", "\"No\"" },
	{ "null", "\"null\"", "\"null\"" },
	{ "123", "\"123\"", "\"123\"" },
	{ "1.5", "\"1.5\"", "\"1.5\"" },
	{ "10.1.0.10", "10.1.0.10", "\"10.1.0.10\"" },
	{ "10.0.0.0/8", "10.0.0.0/8", "\"10.0.0.0/8\"" },
	{ "-x", "\"-x\"", "\"-x\"" },
	{ "# c", "\"# c\"", "\"# c\"" },
	{ "[a]", "\"[a]\"", "\"[a]\"" },
	{ "a.b/c_d-e", "a.b/c_d-e", "\"a.b/c_d-e\"" },
	{ "\xc3\xa9", "\"\xc3\xa9\"", "\"\xc3\xa9\"" },
};

Test(doc, quoting)
{
	for (size_t i = 0; i < sizeof(quoting) / sizeof(quoting[0]); i++) {
		struct doc d;
		struct out3 o;
		char want[128];

		cr_assert_eq(doc_init(&d), 0);
		doc_str(&d, doc_root(&d), "k", quoting[i].in);
		render(&d, &o);
		snprintf(want, sizeof(want), "k: %s\n", quoting[i].yaml);
		cr_expect_str_eq(strbuf_str(&o.yaml), want, "case %zu", i);
		snprintf(want, sizeof(want), "{\"k\":%s}\n", quoting[i].json);
		cr_expect_str_eq(strbuf_str(&o.compact), want, "case %zu", i);
		out3_free(&o);
		doc_free(&d);
	}
}

Test(doc, awkward_keys)
{
	struct doc d;
	struct out3 o;
	struct doc_node *f;

	cr_assert_eq(doc_init(&d), 0);
	doc_u64(&d, doc_root(&d), "a key: with colon", 1);
	f = doc_map(&d, doc_root(&d), "flow", DOC_FLOW);
	doc_u64(&d, f, "yes", 2);
	doc_u64(&d, f, "sluice.io/identity", 3);
	render(&d, &o);
	cr_expect_str_eq(strbuf_str(&o.yaml), "\"a key: with colon\": 1\nflow: {\"yes\": 2, sluice.io/identity: 3}\n");
	cr_expect_str_eq(strbuf_str(&o.compact), "{\"a key: with colon\":1,\"flow\":{\"yes\":2,\"sluice.io/identity\":3}}\n");
	out3_free(&o);
	doc_free(&d);
}

Test(doc, comments)
{
	struct doc d;
	struct out3 o;

	cr_assert_eq(doc_init(&d), 0);
	doc_comment(&d, "first");
	doc_comment(&d, "two\nlines, a\x01 control");
	doc_u64(&d, doc_root(&d), "version", 1);
	render(&d, &o);
	cr_expect_str_eq(strbuf_str(&o.yaml), "# first\n# two\n# lines, a\\x01 control\nversion: 1\n");
	cr_expect_str_eq(strbuf_str(&o.compact), "{\"version\":1}\n");
	out3_free(&o);
	doc_free(&d);
}

Test(doc, misuse_is_kept)
{
	struct doc d;
	struct strbuf b = {};

	cr_assert_eq(doc_init(&d), 0);
	doc_u64(&d, doc_root(&d), NULL, 1); /* a map member without a key */
	cr_expect_eq(d.err, -EINVAL);
	cr_expect_null(doc_map(&d, doc_root(&d), "m", DOC_BLOCK));
	cr_expect_eq(doc_yaml(&d, &b), -EINVAL);
	cr_expect_eq(doc_json(&d, DOC_JSON_PRETTY, &b), -EINVAL);
	cr_expect_eq(b.len, 0);
	doc_free(&d);

	cr_assert_eq(doc_init(&d), 0);
	doc_str(&d, doc_seq(&d, doc_root(&d), "s", DOC_BLOCK), "key", "v"); /* an item with a key */
	cr_expect_eq(d.err, -EINVAL);
	doc_free(&d);

	cr_assert_eq(doc_init(&d), 0);
	doc_str(&d, doc_root(&d), "k", NULL);
	cr_expect_eq(d.err, -EINVAL);
	doc_free(&d);
	doc_free(NULL);
}

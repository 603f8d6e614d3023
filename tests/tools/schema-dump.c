/* SPDX-License-Identifier: Apache-2.0 */
/* Print the libcyaml schema tables as a JSON tree, for the test that holds
 * schema/sluice-state.schema.json to the same fields. */
#include <stdio.h>

#include "reconcile/schema.h"

static void dump(const cyaml_schema_value_t *s, int depth);

static void indent(int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", stdout);
}

static void dump_fields(const cyaml_schema_field_t *fields, int depth)
{
	printf("{\"type\":\"object\",\"fields\":{\n");
	for (const cyaml_schema_field_t *f = fields; f->key; f++) {
		indent(depth + 1);
		printf("\"%s\": ", f->key);
		if (f->value.type == CYAML_SEQUENCE && f->value.sequence.entry == &sl_schema_label_entry)
			printf("{\"type\":\"labels\"}");
		else
			dump(&f->value, depth + 1);
		printf("%s\n", f[1].key ? "," : "");
	}
	indent(depth);
	printf("}}");
}

static void dump(const cyaml_schema_value_t *s, int depth)
{
	switch (s->type) {
	case CYAML_MAPPING:
		dump_fields(s->mapping.fields, depth);
		break;
	case CYAML_SEQUENCE:
		printf("{\"type\":\"array\",\"items\":");
		dump(s->sequence.entry, depth);
		printf("}");
		break;
	case CYAML_STRING:
		printf("{\"type\":\"string\"}");
		break;
	case CYAML_INT:
	case CYAML_UINT:
		printf("{\"type\":\"integer\"}");
		break;
	case CYAML_BOOL:
		printf("{\"type\":\"boolean\"}");
		break;
	case CYAML_ENUM:
		printf("{\"type\":\"enum\",\"values\":[");
		for (uint32_t i = 0; i < s->enumeration.count; i++)
			printf("%s\"%s\"", i ? "," : "", s->enumeration.strings[i].str);
		printf("]}");
		break;
	default:
		printf("{\"type\":\"unknown\"}");
	}
}

int main(void)
{
	dump(&sl_schema_doc, 0);
	printf("\n");
	return 0;
}

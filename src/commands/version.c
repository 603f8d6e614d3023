/* SPDX-License-Identifier: Apache-2.0 */
/* sluice version: versions of sluice and its libraries, and what the kernel
 * can do. */
#include <bpf/libbpf.h>
#include <cyaml/cyaml.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <yaml.h>

#include "common/util.h"
#include "cli.h"
#include "common/strbuf.h"
#include "datapath/probe.h"

static const char *result_word(enum probe_result r)
{
	return r == PROBE_AVAILABLE ? "available" : r == PROBE_MISSING ? "missing" : "unknown";
}

int cmd_version(const struct cli *c)
{
	struct probe_feature fs[PROBE__MAX];
	struct utsname u = {};

	uname(&u);
	probe_kernel(fs);
	if (c->output == CLI_OUTPUT_JSON) {
		struct strbuf b = {};

		strbuf_adds(&b, "{\"formatVersion\":" SL_JSON_FORMAT_VERSION ",\"sluice\":\"" SLUICE_VERSION "\",\"libbpf\":");
		strbuf_add_json_str(&b, libbpf_version_string());
		strbuf_adds(&b, ",\"libyaml\":");
		strbuf_add_json_str(&b, yaml_get_version_string());
		strbuf_adds(&b, ",\"libcyaml\":");
		strbuf_add_json_str(&b, cyaml_version_str);
		strbuf_adds(&b, ",\"kernel\":");
		strbuf_add_json_str(&b, u.release);
		strbuf_adds(&b, ",\"features\":{");
		for (unsigned i = 0; i < PROBE__MAX; i++) {
			strbuf_adds(&b, i ? "," : "");
			strbuf_add_json_str(&b, fs[i].name);
			strbuf_addf(&b, ":{\"result\":\"%s\",\"note\":", result_word(fs[i].result));
			strbuf_add_json_str(&b, fs[i].note);
			strbuf_adds(&b, "}");
		}
		strbuf_adds(&b, "}}\n");
		fputs(strbuf_str(&b), stdout);
		strbuf_free(&b);
		return 0;
	}
	printf("sluice %s\n", SLUICE_VERSION);
	printf("libbpf %s\n", libbpf_version_string());
	printf("libyaml %s\n", yaml_get_version_string());
	printf("libcyaml %s\n", cyaml_version_str);
	printf("kernel %s\n", u.release);
	printf("features:\n");
	for (unsigned i = 0; i < PROBE__MAX; i++) {
		printf("  %-18s %s", fs[i].name, result_word(fs[i].result));
		if (fs[i].note[0])
			printf(fs[i].result == PROBE_UNKNOWN ? " (%s)" : " (%s)", fs[i].note);
		printf("\n");
	}
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The command layer: parsed options, and one function per command. */
#pragma once

#include <stdbool.h>

enum cli_output { CLI_OUTPUT_TEXT, CLI_OUTPUT_JSON, CLI_OUTPUT__MAX };

struct cli {
	const char *node;
	int verbose;
	bool quiet;
	bool color; /* standard error is a terminal and colour is not turned off */
	enum cli_output output;
	char **args; /* the operands (PATHs) */
	int n_args;
};

/* Each returns the process's exit code. */
int cmd_validate(const struct cli *c);
int cmd_version(const struct cli *c);

#define SLUICE_VERSION "0.1.0"

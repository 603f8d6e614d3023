/* SPDX-License-Identifier: Apache-2.0 */
/* sluice: make this node's network datapath match a YAML file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands/cli.h"
#include "common/strbuf.h"
#include "common/util.h"

#include <sluice/abi.h>

/* NO_COLOR (no-color.org): set and not empty. */
static bool no_color_env(void)
{
	const char *v = getenv("NO_COLOR");

	return v && *v;
}

/* The options that have a short form too (-o, -q, -v, -h), as getopt_long
 * is given them. */
#define SHORT_OPTS "o:qvh"

struct command {
	const char *name;
	int (*run)(const struct cli *c);
	const char *args;
	const char *summary;
	const char *outputs; /* accepted -o values */
	const char *options; /* the option letters it takes beyond -o and the common options */
	const char *example; /* lines of "$ command" and what it does, for --help */
};

static const struct command commands[] = {
	{ "validate", cmd_validate, "PATH...", "check state files; touches no kernel object; runs unprivileged",
	  "text|json", "",
	  "  sluice validate /etc/sluice/state.d          every *.yaml file of the directory\n"
	  "  kubectl get cm sluice -o jsonpath='{.data.state\\.yaml}' | sluice validate -" },
	{ "diff", cmd_diff, "PATH...", "plan only: what apply would change (exit 2 when changes are pending)",
	  "text|json", "S",
	  "  sluice diff /etc/sluice/state.d              before a rollout: 0 nothing to do, 2 changes\n"
	  "  sluice diff state.yaml -o json | jq .summary" },
	{ "apply", cmd_apply, "PATH...", "make the kernel match the state: plan, apply, verify", "text|json", "DWS",
	  "  sluice apply /etc/sluice/state.d\n"
	  "  sluice apply state.yaml --dry-run --summary  the counts only; exit 2 when changes are pending" },
	{ "watch", cmd_watch, "DIR", "keep the kernel matching a directory of state files (inotify, resync)", "text",
	  "WRBLHM",
	  "  sluice watch /etc/sluice/state.d --resync 60 --log-format json --metrics-address 127.0.0.1:9962" },
	{ "show", cmd_show, "", "print the live state that sluice owns as a state document", "yaml|json", "",
	  "  sluice show > live.yaml; sluice show | diff - state.yaml" },
	{ "status", cmd_status, "", "attachments, map fill per map, drop counters by reason", "text|json", "",
	  "  sluice status -o json | jq .drops" },
	{ "flush", cmd_flush, "", "remove everything sluice owns (runtime maps too), nothing else", "text|json",
	  "YW", "  sluice flush --yes" },
	{ "monitor", cmd_monitor, "", "live datapath events: drops, policy verdicts, traces", "text|json", "TE",
	  "  sluice monitor                                 drops, as they happen\n"
	  "  sluice monitor --type verdict --endpoint web-1 -o json" },
	{ "version", cmd_version, "", "print versions and the kernel features sluice detected", "text|json", "",
	  "  sluice version -o json" },
};

/* The options of one command or a few: the letter getopt gives, and what
 * --help says of it. */
static const struct option_doc {
	char letter;
	const char *name, *arg, *text;
} option_docs[] = {
	{ 'D', "dry-run", NULL, "plan only, change nothing: exit 2 when changes are pending, 0 when none" },
	{ 'S', "summary", NULL, "print only the plan's counts (\"Plan: 1 to add, 0 to change, 0 to remove.\"; JSON: the summary object)" },
	{ 'W', "wait", "SECONDS", "how long to wait for another sluice's lock on the pin directory (default 30)" },
	{ 'Y', "yes", NULL, "do not ask (needed without a terminal)" },
	{ 'B', "debounce", "MS", "quiet time after a change in DIR before applying (default 200)" },
	{ 'R', "resync", "SECONDS", "re-plan against the kernel this often and repair drift (default 60; 0: never)" },
	{ 'L', "log-format", "FORMAT", "text (default) or json: one line per event on standard error" },
	{ 'H', "health-file", "PATH", "keep a JSON health file at PATH, for liveness and readiness probes" },
	{ 'M', "metrics-address", "HOST:PORT", "serve Prometheus metrics at http://HOST:PORT/metrics (off unless given)" },
	{ 'T', "type", "TYPE", "drop (default), verdict (new connections' policy decisions) or trace; repeatable" },
	{ 'E', "endpoint", "NAME", "only this endpoint's events; repeatable" },
};

/* The options every command takes (cli.md: a command ignores those that
 * mean nothing to it). */
static const struct option_doc common_docs[] = {
	{ 'P', "pin-dir", "DIR", "where sluice's objects are pinned (default: $SLUICE_PIN_DIR, else /sys/fs/bpf/sluice)" },
	{ 'N', "node", "NAME", "which entry of 'nodes' this machine is (default: the state's 'node:', else the host name)" },
	{ 'q', "quiet", NULL, "print only diagnostics" },
	{ 'v', "verbose", NULL, "say more (-vv: libbpf's and the verifier's messages)" },
	{ 'C', "no-color", NULL, "no colour, even on a terminal (also: NO_COLOR)" },
	{ 'h', "help", NULL, "this help" },
};

static const struct option_doc *option_doc(char letter)
{
	for (size_t i = 0; i < ARRAY_SIZE(option_docs); i++)
		if (option_docs[i].letter == letter)
			return &option_docs[i];
	for (size_t i = 0; i < ARRAY_SIZE(common_docs); i++)
		if (common_docs[i].letter == letter)
			return &common_docs[i];
	return NULL;
}

/* "  -q, --quiet              text": one option, its text after column 29. */
static void option_line(FILE *out, const struct option_doc *o)
{
	char head[64];
	bool short_too = o->letter && strchr(SHORT_OPTS, o->letter);

	snprintf(head, sizeof(head), "%s--%s%s%s", short_too ? (char[]){ '-', o->letter, ',', ' ', 0 } : "    ",
		 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(out, "  %-25s  %s\n", head, o->text);
}

static void output_line(FILE *out, const char *outputs)
{
	char text[128];

	snprintf(text, sizeof(text), "%s (default: %.*s)", outputs, (int)strcspn(outputs, "|"), outputs);
	for (char *c = text; *c; c++)
		if (*c == '|')
			*c = '/';
	option_line(out, &(struct option_doc){ 'o', "output", "FORMAT", text });
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: sluice COMMAND [OPTIONS] [PATH...]\n\n"
		     "Make this node's network datapath match a YAML state file.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-9s %-8s %s\n", commands[i].name, commands[i].args, commands[i].summary);
	fprintf(out, "  help      [COMMAND] a command's options, with examples\n");
	fprintf(out, "\nOptions of every command:\n");
	option_line(out, &(struct option_doc){ 'o', "output", "FORMAT", "text (default) or json; show: yaml (default) or json" });
	for (size_t i = 0; i < ARRAY_SIZE(common_docs); i++)
		option_line(out, &common_docs[i]);
	option_line(out, &(struct option_doc){ 0, "version", NULL, "sluice's version ('sluice version': the libraries' and the kernel's too)" });
	fprintf(out, "\nOptions of one command or a few (see 'sluice help COMMAND'):\n");
	for (size_t i = 0; i < ARRAY_SIZE(option_docs); i++) {
		char text[256];
		size_t n = 0;

		for (size_t j = 0; j < ARRAY_SIZE(commands); j++)
			if (strchr(commands[j].options, option_docs[i].letter))
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s", n ? ", " : "", commands[j].name);
		snprintf(text + n, sizeof(text) - n, ": %s", option_docs[i].text);
		option_line(out, &(struct option_doc){ option_docs[i].letter, option_docs[i].name, option_docs[i].arg, text });
	}
	fprintf(out, "\nPATH is a state file, a directory of *.yaml files, or - for standard input.\n"
		     "See sluice(8) and sluice-state(5).\n");
}

static void command_usage(const struct command *cmd, FILE *out)
{
	fprintf(out, "Usage: sluice %s [OPTIONS]%s%s\n\n%c%s.\n", cmd->name, *cmd->args ? " " : "", cmd->args,
		cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 'a' + 'A' : cmd->summary[0],
		cmd->summary + 1);
	if (*cmd->args == 'P')
		fprintf(out, "PATH is a state file, a directory of *.yaml files, or - for standard input.\n");
	fprintf(out, "\nOptions:\n");
	output_line(out, cmd->outputs);
	for (const char *l = cmd->options; *l; l++)
		option_line(out, option_doc(*l));
	fprintf(out, "\nCommon options (every command takes them; those that mean nothing to it are ignored):\n");
	for (size_t i = 0; i < ARRAY_SIZE(common_docs); i++)
		option_line(out, &common_docs[i]);
	fprintf(out, "\nExamples:\n%s\n\nSee sluice(8), section COMMANDS.\n", cmd->example);
}

static const struct option long_opts[] = {
	{ "output", required_argument, NULL, 'o' }, { "node", required_argument, NULL, 'N' },
	{ "quiet", no_argument, NULL, 'q' },	    { "verbose", no_argument, NULL, 'v' },
	{ "no-color", no_argument, NULL, 'C' },	    { "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "pin-dir", required_argument, NULL, 'P' }, { "dry-run", no_argument, NULL, 'D' },
	{ "wait", required_argument, NULL, 'W' },    { "yes", no_argument, NULL, 'Y' },
	{ "resync", required_argument, NULL, 'R' },  { "debounce", required_argument, NULL, 'B' },
	{ "log-format", required_argument, NULL, 'L' }, { "health-file", required_argument, NULL, 'H' },
	{ "type", required_argument, NULL, 'T' },	{ "endpoint", required_argument, NULL, 'E' },
	{ "metrics-address", required_argument, NULL, 'M' }, { "summary", no_argument, NULL, 'S' },
	{},
};

struct parsed {
	struct cli c;
	bool help, no_color, version;
	char given[16]; /* the command-specific option letters seen */
};

/* One option; 0 when fine, 1 (the exit code) when not. */
static int take_option(struct parsed *p, int opt, char **argv)
{
	switch (opt) {
	case 'o':
		if (streq(optarg, "text"))
			p->c.output = CLI_OUTPUT_TEXT;
		else if (streq(optarg, "json"))
			p->c.output = CLI_OUTPUT_JSON;
		else if (streq(optarg, "yaml"))
			p->c.output = CLI_OUTPUT_YAML;
		else {
			fprintf(stderr, "sluice: -o takes text, json or yaml, not '%s'\n", str_esc(optarg));
			return 1;
		}
		return 0;
	/* --node and --pin-dir are common options (cli.md): every command
	 * accepts them, and one that has no use for them ignores them, so
	 * that a wrapper or an alias can always pass them. */
	case 'N':
		p->c.node = optarg;
		return 0;
	case 'P':
		p->c.pin_dir = optarg;
		return 0;
	case 'D':
		p->c.dry_run = true;
		strncat(p->given, "D", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'S':
		p->c.summary = true;
		strncat(p->given, "S", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'Y':
		p->c.yes = true;
		strncat(p->given, "Y", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'W': {
		char *end;
		long w = strtol(optarg, &end, 10);

		if (*end || end == optarg || w < 0 || w > 86400) {
			fprintf(stderr, "sluice: --wait takes a number of seconds (0..86400), not '%s'\n", str_esc(optarg));
			return 1;
		}
		p->c.wait_s = (int)w;
		strncat(p->given, "W", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	}
	case 'R':
	case 'B': {
		char *end;
		long v = strtol(optarg, &end, 10);
		long max = opt == 'R' ? 86400 * 7 : 3600 * 1000;

		if (*end || end == optarg || v < 0 || v > max) {
			fprintf(stderr, "sluice: %s takes a number of %s (0..%ld), not '%s'\n",
				opt == 'R' ? "--resync" : "--debounce", opt == 'R' ? "seconds" : "milliseconds", max, str_esc(optarg));
			return 1;
		}
		if (opt == 'R')
			p->c.resync_s = (int)v;
		else
			p->c.debounce_ms = (int)v;
		strncat(p->given, opt == 'R' ? "R" : "B", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	}
	case 'L':
		if (!streq(optarg, "text") && !streq(optarg, "json")) {
			fprintf(stderr, "sluice: --log-format takes text or json, not '%s'\n", str_esc(optarg));
			return 1;
		}
		p->c.log_json = streq(optarg, "json");
		strncat(p->given, "L", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'H':
		if (!*optarg) {
			fprintf(stderr, "sluice: --health-file takes a path\n");
			return 1;
		}
		p->c.health_file = optarg;
		strncat(p->given, "H", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'T':
		if (streq(optarg, "drop"))
			p->c.monitor_types |= SL_MON_DROP;
		else if (streq(optarg, "verdict"))
			p->c.monitor_types |= SL_MON_VERDICT;
		else if (streq(optarg, "trace"))
			p->c.monitor_types |= SL_MON_TRACE;
		else {
			fprintf(stderr, "sluice: --type takes drop, verdict or trace, not '%s'\n", str_esc(optarg));
			return 1;
		}
		strncat(p->given, "T", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'E':
		if (!*optarg) {
			fprintf(stderr, "sluice: --endpoint takes an endpoint's name\n");
			return 1;
		}
		if (p->c.n_endpoints == CLI_MAX_ENDPOINTS) {
			fprintf(stderr, "sluice: at most %d --endpoint options\n", CLI_MAX_ENDPOINTS);
			return 1;
		}
		p->c.endpoints[p->c.n_endpoints++] = optarg;
		strncat(p->given, "E", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'M':
		if (!*optarg) {
			fprintf(stderr, "sluice: --metrics-address takes HOST:PORT, as in 127.0.0.1:9962\n");
			return 1;
		}
		p->c.metrics_address = optarg;
		strncat(p->given, "M", sizeof(p->given) - strlen(p->given) - 1);
		return 0;
	case 'q':
		p->c.quiet = true;
		return 0;
	case 'v':
		p->c.verbose++;
		return 0;
	case 'C':
		p->no_color = true;
		return 0;
	case 'h':
		p->help = true;
		return 0;
	case 'V':
		p->version = true;
		return 0;
	case ':':
		fprintf(stderr, "sluice: option '%s' needs a value\n", str_esc(argv[optind - 1]));
		return 1;
	default:
		fprintf(stderr, "sluice: unknown option '%s'. See 'sluice --help'.\n", str_esc(argv[optind - 1]));
		return 1;
	}
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct parsed p = { .c.output = CLI_OUTPUT__MAX, .c.wait_s = 30, .c.resync_s = 60, .c.debounce_ms = 200 };
	int opt, r;

	opterr = 0;
	/* Options before the command. */
	while ((opt = getopt_long(argc, argv, "+:" SHORT_OPTS, long_opts, NULL)) != -1)
		if (take_option(&p, opt, argv))
			return 1;
	if (p.version && !p.help && optind >= argc) {
		printf("sluice %s\n", SLUICE_VERSION);
		return 0;
	}
	if (optind >= argc) {
		usage(p.help ? stdout : stderr);
		return p.help ? 0 : 1;
	}
	/* sluice help [COMMAND]: the same as --help */
	if (streq(argv[optind], "help")) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			if (streq(commands[i].name, argv[optind + 1])) {
				command_usage(&commands[i], stdout);
				return 0;
			}
		fprintf(stderr, "sluice help: unknown command '%s'. See 'sluice --help'.\n", str_esc(argv[optind + 1]));
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(commands[i].name, argv[optind]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "sluice: unknown command '%s'. Commands:", str_esc(argv[optind]));
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			fprintf(stderr, " %s", commands[i].name);
		fprintf(stderr, ". See 'sluice --help'.\n");
		return 1;
	}
	/* After it, options and PATHs in any order; "--" ends the options. */
	argv += optind;
	argc -= optind;
	optind = 0; /* 0, not 1: glibc then starts a new scan */
	p.c.args = calloc((size_t)argc + 1, sizeof(char *));
	if (!p.c.args)
		return 1;
	while ((opt = getopt_long(argc, argv, "-:" SHORT_OPTS, long_opts, NULL)) != -1) {
		if (opt == 1)
			p.c.args[p.c.n_args++] = optarg;
		else if (take_option(&p, opt, argv)) {
			free(p.c.args);
			return 1;
		}
	}
	while (optind < argc)
		p.c.args[p.c.n_args++] = argv[optind++];
	if (p.help) {
		command_usage(cmd, stdout);
		free(p.c.args);
		return 0;
	}
	for (const char *g = p.given; *g; g++) {
		if (!strchr(cmd->options, *g)) {
			fprintf(stderr, "sluice %s: --%s does not apply to this command. See 'sluice %s --help'.\n",
				cmd->name, option_doc(*g) ? option_doc(*g)->name : "?", cmd->name);
			free(p.c.args);
			return 1;
		}
	}
	/* Each command takes the outputs it lists; the first is its default. */
	if (p.c.output == CLI_OUTPUT__MAX) {
		p.c.output = strncmp(cmd->outputs, "yaml", 4) == 0 ? CLI_OUTPUT_YAML : CLI_OUTPUT_TEXT;
	} else {
		static const char *const names[] = { "text", "json", "yaml" };

		if (!strstr(cmd->outputs, names[p.c.output])) {
			fprintf(stderr, "sluice %s: -o takes %s, not '%s'\n", cmd->name, cmd->outputs,
				names[p.c.output]);
			free(p.c.args);
			return 1;
		}
	}
	p.c.color = !p.no_color && !no_color_env() && isatty(STDERR_FILENO);
	p.c.color_stdout = !p.no_color && !no_color_env() && isatty(STDOUT_FILENO);
	r = cmd->run(&p.c);
	free(p.c.args);
	return r;
}

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

struct command {
	const char *name;
	int (*run)(const struct cli *c);
	const char *args;
	const char *summary;
	const char *outputs; /* accepted -o values */
	const char *options; /* the option letters it takes beyond -o and the common options */
};

static const struct command commands[] = {
	{ "validate", cmd_validate, "PATH...",
	  "check state files; touches no kernel object; runs unprivileged", "text|json", "" },
	{ "diff", cmd_diff, "PATH...", "plan only: what apply would change (exit 2 when changes are pending)",
	  "text|json", "" },
	{ "apply", cmd_apply, "PATH...", "make the kernel match the state: plan, apply, verify", "text|json", "DW" },
	{ "watch", cmd_watch, "DIR", "keep the kernel matching a directory of state files (inotify, resync)", "text",
	  "WRBLHM" },
	{ "show", cmd_show, "", "print the live state that sluice owns as a state document", "yaml|json", "" },
	{ "status", cmd_status, "", "attachments, map fill per map, drop counters by reason", "text|json", "" },
	{ "flush", cmd_flush, "", "remove everything sluice owns (runtime maps too), nothing else", "text|json",
	  "YW" },
	{ "monitor", cmd_monitor, "", "live datapath events: drops, policy verdicts, traces", "text|json", "TE" },
	{ "version", cmd_version, "", "print versions and the kernel features sluice detected", "text|json", "" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: sluice COMMAND [OPTIONS] [PATH...]\n\n"
		     "Make this node's network datapath match a YAML state file.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-9s %-8s %s\n", commands[i].name, commands[i].args, commands[i].summary);
	fprintf(out, "\nOptions:\n"
		     "  -o, --output FORMAT  text (default) or json; show: yaml (default) or json\n"
		     "      --pin-dir DIR    where sluice's objects are pinned (default: $SLUICE_PIN_DIR,\n"
		     "                       else /sys/fs/bpf/sluice)\n"
		     "      --dry-run        apply: plan only, exit 2 when changes are pending\n"
		     "      --wait SECONDS   apply: how long to wait for another apply's lock (default 30)\n"
		     "      --yes            flush: do not ask\n"
		     "      --debounce MS    watch: quiet time after a change before applying (default 200)\n"
		     "      --resync SECONDS watch: re-plan against the kernel this often (default 60; 0: never)\n"
		     "      --log-format F   watch: text (default) or json, one line per event on stderr\n"
		     "      --health-file P  watch: keep a JSON health file at P for liveness probes\n"
		     "      --metrics-address HOST:PORT\n"
		     "                       watch: serve Prometheus metrics at http://HOST:PORT/metrics\n"
		     "      --type T         monitor: drop (default), verdict or trace; repeatable\n"
		     "      --endpoint NAME  monitor: only this endpoint's events; repeatable\n"
		     "      --node NAME      which entry of 'nodes' this machine is (default: the state's\n"
		     "                       'node:', else the host name)\n"
		     "  -q, --quiet          print only diagnostics\n"
		     "  -v, --verbose        say more\n"
		     "      --no-color       no colour, even on a terminal (also: NO_COLOR)\n"
		     "  -h, --help           this help; 'sluice help COMMAND' or 'sluice COMMAND --help'\n"
		     "                       for a command\n"
		     "      --version        sluice's version ('sluice version': the libraries' and the\n"
		     "                       kernel's too)\n\n"
		     "PATH is a state file, a directory of *.yaml files, or - for standard input.\n"
		     "See sluice(8) and sluice-state(5).\n");
}

static void command_usage(const struct command *cmd, FILE *out)
{
	fprintf(out,
		"Usage: sluice %s [OPTIONS] %s\n\n%s.\n\nOptions: -o %s%s%s%s%s%s%s%s%s%s\n"
		"Common options (every command takes them): --pin-dir DIR, --node NAME, -q, -v, --no-color\n",
		cmd->name, cmd->args, cmd->summary, cmd->outputs, strchr(cmd->options, 'D') ? ", --dry-run" : "",
		strchr(cmd->options, 'W') ? ", --wait SECONDS" : "", strchr(cmd->options, 'Y') ? ", --yes" : "",
		strchr(cmd->options, 'B') ? ", --debounce MS" : "", strchr(cmd->options, 'R') ? ", --resync SECONDS" : "",
		strchr(cmd->options, 'L') ? ", --log-format text|json" : "",
		strchr(cmd->options, 'H') ? ", --health-file PATH" : "",
		strchr(cmd->options, 'M') ? ", --metrics-address HOST:PORT" : "",
		strchr(cmd->options, 'T') ? ", --type drop|verdict|trace (repeatable), --endpoint NAME (repeatable)" : "");
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
	{ "metrics-address", required_argument, NULL, 'M' },
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
	while ((opt = getopt_long(argc, argv, "+:o:qvh", long_opts, NULL)) != -1)
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
	while ((opt = getopt_long(argc, argv, "-:o:qvh", long_opts, NULL)) != -1) {
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
		static const char *const long_name[] = { ['N'] = "--node",	  ['P'] = "--pin-dir",
							 ['D'] = "--dry-run",	  ['W'] = "--wait",
							 ['Y'] = "--yes",	  ['R'] = "--resync",
							 ['B'] = "--debounce",	  ['L'] = "--log-format",
							 ['H'] = "--health-file",	  ['T'] = "--type",
							 ['E'] = "--endpoint",	  ['M'] = "--metrics-address" };

		if (!strchr(cmd->options, *g)) {
			fprintf(stderr, "sluice %s: %s does not apply to this command. See 'sluice %s --help'.\n",
				cmd->name, long_name[(unsigned char)*g], cmd->name);
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

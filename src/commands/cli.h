/* SPDX-License-Identifier: Apache-2.0 */
/* The command layer: parsed options, and one function per command. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct sl_kerr;

enum cli_output { CLI_OUTPUT_TEXT, CLI_OUTPUT_JSON, CLI_OUTPUT_YAML, CLI_OUTPUT__MAX };

struct cli {
	const char *node;
	int verbose;
	bool quiet;
	bool color; /* standard error is a terminal and colour is not turned off */
	bool color_stdout; /* the same for standard output (plans) */
	const char *pin_dir; /* --pin-dir; NULL: SLUICE_PIN_DIR, else the default */
	bool dry_run;
	bool summary; /* diff, apply: only the plan's counts */
	bool yes;
	int wait_s; /* --wait: how long apply waits for the lock */
	int resync_s; /* watch --resync (0: none) */
	int debounce_ms; /* watch --debounce */
	bool log_json; /* watch --log-format json */
	const char *health_file; /* watch --health-file */
	unsigned monitor_types; /* monitor --type: SL_MON_* bits (0: drops) */
#define CLI_MAX_ENDPOINTS 64
	const char *endpoints[CLI_MAX_ENDPOINTS]; /* monitor --endpoint NAME... */
	int n_endpoints;
	const char *metrics_address; /* watch --metrics-address HOST:PORT */
	enum cli_output output;
	char **args; /* the operands (PATHs) */
	int n_args;
};

/* Each returns the process's exit code. */
int cmd_validate(const struct cli *c);
int cmd_version(const struct cli *c);
int cmd_diff(const struct cli *c);
int cmd_apply(const struct cli *c);
int cmd_show(const struct cli *c);
int cmd_status(const struct cli *c);
int cmd_flush(const struct cli *c);
int cmd_monitor(const struct cli *c);

/* --pin-dir, else SLUICE_PIN_DIR, else /sys/fs/bpf/sluice */
const char *cli_pin_dir(const struct cli *c);
struct sl_kernel;
struct sl_objset;
/* Open the pin directory and read what sluice owns; 0, or exit code 1. */
/* Report a kernel error of cmd (e's message, else strerror(-r)); a
 * permission error of an unprivileged user says what is needed. */
void cli_kernel_error(FILE *out, const char *cmd, int r, const struct sl_kerr *e);
int cli_observe(const struct cli *c, const char *cmd, struct sl_kernel **k, struct sl_objset *live);

#define SLUICE_VERSION "0.1.0"

/* watch: apply a loaded, valid state (see reconcile.c). */
#include <stddef.h>
#include <stdio.h>
#include "kinds/kind.h"
struct sl_load;
struct reconcile_result {
	size_t lines[3]; /* the plan's lines by op: add, change, remove */
	unsigned long writes;
	bool changed; /* the plan was not empty */
	bool invalid; /* the state was refused (capacity); the load's diagnostics say why */
	size_t kinds[SL_OBJ__MAX]; /* the objects an apply that succeeded changed, by kind */
	/* given (NULL: none): where the text plan goes once the apply has
	 * succeeded (watch's change and drift lines, logged as they come:
	 * a large state's first plan is megabytes of text, never held
	 * whole); the lines are counted before the apply either way */
	FILE *plan_to;
	/* watch: the set the kernel holds now, verified (moved here when the
	 * apply succeeded: the next incremental apply plans against it) */
	struct sl_objset *verified;
	bool incremental;  /* planned against the verified set, by key */
	unsigned section; /* ... with only the changed file's list compiled: SL_DOC_SERVICES or
			   * SL_DOC_ENDPOINTS (0: the whole state) */
	bool verified_lost; /* applied, but verified could not be kept up to date */
	double compile_ms; /* the phases, for watch's log */
	double read_ms, write_ms, verify_ms;
};
/* The kernel as watch read it beside its read of DIR. */
#include "datapath/kernel.h"
#include "reconcile/objset.h"
struct reconcile_live {
	struct sl_kernel *k;
	struct sl_objset have;
	struct sl_kerr e;
	double ms;
	int r;
};
void reconcile_observe(const struct cli *c, struct reconcile_live *live);
void reconcile_live_free(struct reconcile_live *live);
int reconcile_apply_loaded(const struct cli *c, struct sl_load *ld, struct reconcile_live *live, FILE *err,
			   struct reconcile_result *res);
/* watch's apply between resyncs (cli.md): planned against verified, the
 * set the last apply left; only the objects the change touches are read
 * (and must be as verified says), written and verified, by key. Returns 0
 * when the kernel matches the state afterwards, 1 when not, 2 when the
 * change needs the full path (nothing was written; why_full says why). */
int reconcile_apply_incremental(const struct cli *c, struct sl_load *ld, struct sl_objset *verified, FILE *err,
				struct reconcile_result *res, char *why_full, size_t len);
/* watch's apply of a change of one file that holds only services, or only
 * remote endpoints (the load's section patch, validated): compiled alone
 * against verified (sl_lb_delta with lb_ix, sl_ep_delta with ep_ix),
 * applied as the incremental path does, verified patched. Returns as
 * reconcile_apply_incremental; on any result but 0, the index used is no
 * longer right. */
struct sl_section_patch;
struct sl_lb_index;
struct sl_ep_index;
int reconcile_apply_section(const struct cli *c, struct sl_load *good, struct sl_section_patch *patch,
			    struct sl_lb_index *lb_ix, struct sl_ep_index *ep_ix, struct sl_objset *verified, FILE *err,
			    struct reconcile_result *res, char *why_full, size_t len);
int cmd_watch(const struct cli *c);

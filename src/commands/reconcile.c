/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice diff, apply and flush: load, validate, observe, compile, diff,
 * plan, apply, verify (architecture.md's pipeline).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/strbuf.h"
#include "datapath/kernel.h"
#include "reconcile/compile.h"
#include "reconcile/epdelta.h"
#include "reconcile/diff.h"
#include "reconcile/keys.h"
#include "reconcile/lb.h"
#include "reconcile/load.h"
#include "reconcile/plan.h"
#include "reconcile/validate.h"
#include "kinds/map.h"

struct pipeline {
	struct sl_load ld;
	struct sl_kernel *k;
	struct sl_objset want, have;
	struct sl_diff d;
	struct sl_prog_settings s;
	size_t lines[SL_CHANGE_OPS]; /* the printed plan's lines by op */
	bool loaded;
	FILE *err; /* where errors go: stderr, or watch's buffer for its log */
};

/* Peak resident memory so far, in MB (for -v). */
static double peak_mb(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : 0.0;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void pipeline_free(struct pipeline *p)
{
	sl_diff_free(&p->d);
	objset_free(&p->want);
	objset_free(&p->have);
	sl_kernel_close(p->k);
	if (p->loaded)
		sl_load_free(&p->ld);
}

const char *cli_pin_dir(const struct cli *c)
{
	const char *env = getenv("SLUICE_PIN_DIR");

	if (c->pin_dir)
		return c->pin_dir;
	return env && *env ? env : SL_PIN_DIR_DEFAULT;
}

/* Load and validate; 0, or the exit code 1 after printing why. */
static int load_state(const struct cli *c, const char *cmd, struct pipeline *p)
{
	struct sl_validate_opts opts = { .node = c->node, .strict_node = true };
	char host[256] = "";
	int r;

	if (c->n_args == 0) {
		fprintf(stderr, "sluice %s: give at least one PATH (a file, a directory, or - for standard input)\n",
			cmd);
		return 1;
	}
	double t0 = now_ms();

	if (gethostname(host, sizeof(host) - 1) == 0 && host[0])
		opts.hostname = host;
	p->loaded = true;
	p->ld.no_digest = true; /* only watch compares digests */
	r = sl_load_paths(&p->ld, c->args, (size_t)c->n_args);
	if (r >= 0)
		r = sl_load_finish(&p->ld);
	if (r >= 0)
		r = sl_validate(&p->ld, &opts);
	if (r < 0) {
		fprintf(stderr, "sluice %s: %s\n", cmd, strerror(-r));
		return 1;
	}
	diag_sort(&p->ld.diags);
	if (p->ld.diags.n_errors) {
		diag_print_text(&p->ld.diags, stderr, c->color);
		fprintf(stderr, "sluice %s: the state is invalid (%zu error%s); nothing was changed\n", cmd,
			p->ld.diags.n_errors, p->ld.diags.n_errors == 1 ? "" : "s");
		return 1;
	}
	if (!c->quiet)
		diag_print_text(&p->ld.diags, stderr, c->color);
	if (c->verbose)
		fprintf(stderr, "sluice %s: load and validate %.1f ms (peak memory %.1f MB)\n", cmd, now_ms() - t0,
			peak_mb());
	return 0;
}

/* Observe, compile against what is live, check capacity, diff. */
enum { LOCK_NONE, LOCK_CREATE, LOCK_IF_THERE };

/* Open the pin directory (LOCK_CREATE: make it), lock it, and observe what
 * sluice owns. Returns 0, or -errno with e set. */
static int open_observe(const struct cli *c, int lock, struct sl_kernel **ret_k, struct sl_objset *ret_have,
			struct sl_kerr *e)
{
	int r;

	sl_kernel_set_verbosity(c->verbose);
	r = sl_kernel_open(cli_pin_dir(c), lock == LOCK_CREATE, ret_k, e);
	if (r >= 0 && lock != LOCK_NONE) {
		r = sl_kernel_lock(*ret_k, c->wait_s, e);
		if (r == -ENOENT && lock == LOCK_IF_THERE)
			r = 0;
	}
	if (r >= 0)
		r = sl_kernel_observe(*ret_k, ret_have, e);
	return r;
}

/* Compile against p->have, check capacity, diff into p->d. t_observe: the
 * time observing took, for -v. */
static int plan_against_live(const struct cli *c, const char *cmd, struct pipeline *p, double t_observe)
{
	const struct sl_state *st = p->loaded ? &p->ld.state : NULL;
	struct sl_compile_prev prev = { 0 };
	struct sl_keyring keys = { 0 };
	struct sl_compile_result res;
	const struct sl_map_layout *layouts;
	size_t n_layouts;
	uint32_t sizes[SL_MAP__MAX];
	char(*names)[17] = NULL;
	double t1, t2, t3;
	int r;

	t1 = now_ms();
	if (!st) /* flush: the empty state */
		return sl_diff(&p->want, &p->have, &p->d) < 0 ? 1 : 0;
	for (int i = 0; i < SL_MAP__MAX; i++)
		sizes[i] = st->datapath->map_sizes ? st->datapath->map_sizes->size[i] : sl_map_size_default[i];
	p->s = (struct sl_prog_settings){ .hz = sl_kernel_hz(),
					  .tunnel = st->datapath->tunnel == SL_TUNNEL_VXLAN,
					  .encrypt = st->encryption && st->encryption->enabled,
					  .proxy = sl_compile_uses_proxy(st),
					  .ipvlan = st->datapath->mode == SL_MODE_IPVLAN };
	r = sl_kernel_layouts(&layouts, &n_layouts);
	if (r >= 0)
		r = sl_kernel_digests(&p->s, sizes, prev.prog_digest);
	if (r < 0) {
		fprintf(p->err, "sluice %s: the embedded programs: %s\n", cmd, strerror(-r));
		return 1;
	}
	if (st->datapath->tunnel == SL_TUNNEL_VXLAN) {
		/* the overlay's device takes the underlay's MTU less the
		 * encapsulation: read it now, refuse without it */
		const char *u = st->datapath->underlay_device;
		int mtu = u ? sl_kernel_device_mtu(u) : -EINVAL;

		/* validation refused the state without one */
		if (mtu < 0) {
			fprintf(p->err, "sluice %s: datapath.underlayDevice %s: %s; nothing was changed\n", cmd, str_esc(u),
				mtu == -ENODEV ? "no such device in this network namespace" : strerror(-mtu));
			return 1;
		}
		prev.underlay_mtu = (uint32_t)mtu;
	}
	sl_kernel_set_cgroup_path(p->k, NULL);
	if (st->datapath->socket_acceleration || st->datapath->host_reachable_services) {
		/* the socket programs go on this cgroup: find it now, refuse
		 * without it */
		const char *path = sl_datapath_cgroup_path(st->datapath);

		r = sl_cgroup_id(path, &prev.cgroup_id);
		if (r >= 0)
			sl_kernel_set_cgroup_path(p->k, path);
		if (r < 0) {
			const struct sl_mark *at = SL_AT(st->datapath, SL_DP_CGROUP_PATH);

			/* where the state says it, else that it is the default */
			if (SL_MARK_OK(at) && st->datapath_origin.file)
				fprintf(p->err, "sluice %s: %s:%u:%u: datapath.cgroupPath: %s: %s; nothing was changed\n",
					cmd, str_esc(st->datapath_origin.file), at->line, at->col, str_esc(path),
					sl_cgroup_strerror(r));
			else
				fprintf(p->err, "sluice %s: datapath.cgroupPath (default) %s: %s (%s needs "
					"a cgroup v2 directory: give cgroupPath); nothing was changed\n", cmd, str_esc(path),
					sl_cgroup_strerror(r),
					st->datapath->socket_acceleration ? "socketAcceleration" : "hostReachableServices");
			return 1;
		}
	}
	if (st->encryption && st->encryption->enabled) {
		char why[4400];

		r = sl_keyring_load(&p->ld, &keys, why, sizeof(why));
		if (r < 0) {
			fprintf(p->err, "sluice %s: encryption keys: %s; nothing was changed\n", cmd, str_esc(why));
			return 1;
		}
		if (sl_key_crypto_error()) {
			fprintf(p->err,
				"sluice %s: encryption keys: a plan tells keys apart by fingerprints, made with "
				"OpenSSL's libcrypto, which could not be loaded: %s; nothing was changed\n",
				cmd, str_esc(sl_key_crypto_error()));
			sl_keyring_free(&keys);
			return 1;
		}
	}
	sl_compile_prev_from_live(&p->have, &prev, &names);
	prev.layouts = layouts;
	prev.n_layouts = n_layouts;
	prev.keys = &keys;
	r = sl_compile(st, &prev, &res);
	sl_compile_prev_free(&prev, names);
	sl_keyring_free(&keys);
	if (r < 0) {
		fprintf(p->err, "sluice %s: compiling the state: %s\n", cmd, strerror(-r));
		return 1;
	}
	p->want = res.set;
	t2 = now_ms();
	if (sl_compile_check_capacity(st, &p->want, p->ld.n_files ? p->ld.files[0] : "-", &p->ld.diags) < 0) {
		diag_sort(&p->ld.diags);
		diag_print_text(&p->ld.diags, p->err, c->color);
		fprintf(p->err, "sluice %s: the state does not fit the maps; nothing was changed\n", cmd);
		return 1;
	}
	if (sl_diff(&p->want, &p->have, &p->d) < 0) {
		fprintf(p->err, "sluice %s: out of memory\n", cmd);
		return 1;
	}
	t3 = now_ms();
	if (c->verbose)
		fprintf(p->err, "sluice %s: %zu objects desired, %zu live; observe %.1f ms, compile %.1f ms, diff %.1f ms "
			"(peak memory %.1f MB)\n",
			cmd, p->want.n, p->have.n, t_observe, t2 - t1, t3 - t2, peak_mb());
	return 0;
}

void cli_kernel_error(FILE *out, const char *cmd, int r, const struct sl_kerr *e)
{
	fprintf(out, "sluice %s: %s\n", cmd, e->msg[0] ? str_esc(e->msg) : strerror(-r));
	if ((r == -EPERM || r == -EACCES) && geteuid() != 0)
		fprintf(out, "sluice %s: reading the datapath's state needs root (or the capabilities CAP_BPF, "
			     "CAP_NET_ADMIN and CAP_SYS_ADMIN); 'sluice validate' runs unprivileged\n",
			cmd);
}

static int make_plan(const struct cli *c, const char *cmd, struct pipeline *p, int lock)
{
	struct sl_kerr e = { "" };
	double t0 = now_ms();
	int r = open_observe(c, lock, &p->k, &p->have, &e);

	if (r < 0) {
		cli_kernel_error(p->err, cmd, r, &e);
		return 1;
	}
	return plan_against_live(c, cmd, p, now_ms() - t0);
}

static int print_plan(const struct cli *c, struct pipeline *p)
{
	int r;

	if (c->quiet && c->output != CLI_OUTPUT_JSON)
		return 0; /* nothing would be printed: do not render it */
	r = sl_plan_write(&p->want, &p->have, &p->d, p->loaded ? &p->ld.state : NULL,
			  c->output == CLI_OUTPUT_JSON ? (c->summary ? SL_PLAN_JSON_SUMMARY : SL_PLAN_JSON)
			  : c->summary		       ? SL_PLAN_TEXT_SUMMARY
						       : SL_PLAN_TEXT,
			  c->color_stdout, stdout, p->lines);
	if (fflush(stdout) != 0 && r >= 0)
		r = -EIO;
	if (r < 0)
		fprintf(stderr, "sluice: writing the plan: %s\n", strerror(-r));
	return r;
}

/* A plan that apply would refuse (a missing device, a foreign program in
 * sluice's slot, an SA this kernel cannot hold) is an error of diff and
 * apply --dry-run too, with apply's message: CI's dry run tells the truth. */
static int check_plan(const char *cmd, struct pipeline *p)
{
	struct sl_kerr e = { "" };

	if (!p->d.n || sl_kernel_preflight(p->k, &p->want, &p->have, &e) >= 0)
		return 0;
	fprintf(p->err, "sluice %s: %s\n", cmd, str_esc(e.msg));
	return 1;
}

/*
 * A one-shot command (apply, diff) grows its heap in one step and asks for
 * huge pages there: a fault per 2 MB instead of per 4 KB page, which a
 * virtual machine makes costly (13% of an apply of 10,000 services). Not
 * for watch, whose resident size is a target and stays.
 */
static void heap_in_huge_pages(void)
{
	void *p;

	mallopt(M_TOP_PAD, 64 << 20);
	p = malloc(96 << 10); /* more than the top has, less than mmap's threshold: the heap grows */
	if (p)
		madvise_within(p, sbrk(0), (size_t)2 << 20, MADV_HUGEPAGE);
	free(p);
}

int cmd_diff(const struct cli *c)
{
	struct pipeline p = { .err = stderr };
	int r;

	heap_in_huge_pages();
	r = load_state(c, "diff", &p);

	if (!r)
		r = make_plan(c, "diff", &p, LOCK_NONE);
	/* The plan is printed, then what apply would refuse in it. */
	if (!r)
		r = print_plan(c, &p) < 0 ? 1 : check_plan("diff", &p) ? 1 : p.d.n ? 2 : 0;
	pipeline_free(&p);
	return r;
}

/* The progress line of a long apply on a terminal (cli.md: nothing half
 * done without a word): after a second (SLUICE_PROGRESS_AFTER_MS, for the
 * tests), the phase and the entries written, rewritten in place at most
 * ten times a second on standard error, and wiped at the end. */
struct progress {
	double start, last, after;
	bool shown;
	const char *phase; /* of the last line shown */
};

static void progress_line(void *ctx, const char *phase, uint64_t entries)
{
	struct progress *pr = ctx;
	double t = now_ms();

	/* at most ten lines a second, but always when a phase begins: the
	 * line then says what the phase before it wrote in all */
	if (t - pr->start < pr->after || (pr->shown && t - pr->last < 100 && phase == pr->phase))
		return;
	pr->last = t;
	pr->phase = phase;
	pr->shown = true;
	fprintf(stderr, "\r\033[Ksluice apply: %s, %" PRIu64 " entries written, %.1f s", phase ? phase : "",
		entries, (t - pr->start) / 1000);
	fflush(stderr);
}

static void progress_start(const struct cli *c, struct progress *pr)
{
	const char *after = getenv("SLUICE_PROGRESS_AFTER_MS");

	memset(&sl_kernel_progress, 0, sizeof(sl_kernel_progress));
	if (c->quiet || !isatty(STDERR_FILENO))
		return;
	*pr = (struct progress){ .start = now_ms(), .after = after && *after ? atof(after) : 1000 };
	sl_kernel_progress.fn = progress_line;
	sl_kernel_progress.ctx = pr;
}

/* Wipe the line, if shown, before anything else is written. */
static void progress_wipe(void)
{
	struct progress *pr = sl_kernel_progress.ctx;

	if (sl_kernel_progress.fn && pr && pr->shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		pr->shown = false;
	}
}

static void progress_end(void)
{
	progress_wipe();
	sl_kernel_progress.fn = NULL;
	sl_kernel_progress.ctx = NULL;
}

/* Whether the plan changes a device of sluice's: a change may make it
 * again (a new port or lower device), and what was loaded for the old one
 * (programs that hold its ifindex, their attachment to it, routes on it)
 * is then stale, which only the kernel can tell after the apply. */
static bool plan_changes_device(const struct sl_diff *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == SL_OBJ_DEVICE && d->v[i].op == SL_OP_CHANGE)
			return true;
	return false;
}

/*
 * Read the kernel back after an apply and say what still differs from
 * want: after gets only the objects that differ (what the plan of left
 * names), an object as want has it is compared while it is read and not
 * kept (no second copy of the state). Returns as sl_kernel_observe.
 */
static int verify_read(struct sl_kernel *k, const struct sl_objset *want, struct sl_objset *after,
		       struct sl_diff *left, struct sl_kerr *e)
{
	struct sl_objset_filter f;
	int r = objset_filter_init(&f, want);

	memset(after, 0, sizeof(*after));
	memset(left, 0, sizeof(*left));
	if (r < 0)
		return r;
	after->filter = &f;
	r = sl_kernel_observe(k, after, e);
	if (r >= 0)
		r = sl_diff_seen(want, after, &f, left);
	after->filter = NULL;
	objset_filter_free(&f);
	return r;
}

/* Apply the plan in p, then observe again: any difference is an error
 * (after one more pass when a device was made again: see above). */
static int execute(const struct cli *c, const char *cmd, struct pipeline *p)
{
	struct sl_kerr e = { "" };
	struct sl_objset after = {};
	struct sl_diff left = {};
	double t0 = now_ms(), t1;
	unsigned long writes0 = sl_kernel_writes;
	int r;

	r = sl_kernel_preflight(p->k, &p->want, &p->have, &e);
	if (r < 0) {
		fprintf(p->err, "sluice %s: %s\n", cmd, str_esc(e.msg));
		return 1;
	}
	r = sl_kernel_apply(p->k, &p->want, &p->have, &p->d, &p->s, &e);
	progress_wipe();
	if (r < 0) {
		fprintf(p->err, "sluice %s: %s\n", cmd, e.msg[0] ? str_esc(e.msg) : strerror(-r));
		fprintf(p->err, "sluice %s: the kernel holds part of the plan; run apply again to converge\n", cmd);
		return 1;
	}
	t1 = now_ms();
	/* Verify: the kernel is the record. */
	r = verify_read(p->k, &p->want, &after, &left, &e);
	if (r >= 0 && left.n && plan_changes_device(&p->d)) {
		struct sl_objset again = {};

		if (c->verbose)
			fprintf(p->err, "sluice %s: a device was made again: %zu changes to what depended on it\n", cmd,
				left.n);
		/* this apply plans against the kernel as a whole: read it so */
		sl_diff_free(&left);
		objset_free(&after);
		r = sl_kernel_observe(p->k, &after, &e);
		if (r >= 0)
			r = sl_diff(&p->want, &after, &left);
		if (r >= 0)
			r = sl_kernel_apply(p->k, &p->want, &after, &left, &p->s, &e);
		progress_wipe();
		sl_diff_free(&left);
		memset(&left, 0, sizeof(left));
		if (r >= 0)
			r = verify_read(p->k, &p->want, &again, &left, &e);
		objset_free(&after);
		after = again;
	}
	if (r < 0) {
		fprintf(p->err, "sluice %s: verifying: %s\n", cmd, e.msg[0] ? str_esc(e.msg) : strerror(-r));
		objset_free(&after);
		return 1;
	}
	if (left.n) {
		struct strbuf b = {};

		sl_plan_render(&p->want, &after, &left, p->loaded ? &p->ld.state : NULL, SL_PLAN_TEXT, false, &b);
		fprintf(p->err, "sluice %s: after applying, the kernel still differs from the state:\n%s", cmd,
			strbuf_str(&b));
		strbuf_free(&b);
		r = -EIO;
	}
	if (c->verbose)
		fprintf(p->err,
			"sluice %s: apply %.1f ms (maps %.1f, entries %.1f, programs %.1f, removals %.1f; "
			"runtime maps %.1f beside the entries), "
			"verify %.1f ms (peak memory %.1f MB); kernel writes: %lu\n",
			cmd, t1 - t0, sl_kernel_timing.maps_ms, sl_kernel_timing.entries_ms, sl_kernel_timing.programs_ms,
			sl_kernel_timing.removals_ms, sl_kernel_timing.runtime_ms, now_ms() - t1, peak_mb(),
			sl_kernel_writes - writes0);
	sl_diff_free(&left);
	objset_free(&after);
	return r < 0 ? 1 : 0;
}

/*
 * The pin directory did not exist when p was planned: create it, lock it,
 * and observe again. Unless something changed in between (another apply
 * that won the race), the plan stands and is not compiled a second time.
 */
static int relock(const struct cli *c, const char *cmd, struct pipeline *p)
{
	struct sl_kernel *k = NULL;
	struct sl_objset now = {};
	struct sl_diff moved = {};
	struct sl_kerr e = { "" };
	double t0 = now_ms();
	int r = open_observe(c, LOCK_CREATE, &k, &now, &e);

	if (r >= 0)
		r = sl_diff(&now, &p->have, &moved);
	if (r < 0) {
		fprintf(p->err, "sluice %s: %s\n", cmd, e.msg[0] ? str_esc(e.msg) : strerror(-r));
		sl_kernel_close(k);
		objset_free(&now);
		return 1;
	}
	sl_kernel_close(p->k);
	p->k = k;
	objset_free(&p->have);
	p->have = now;
	if (!moved.n)
		return 0; /* the plan stands */
	/* something changed in between: plan again against what is there now */
	sl_diff_free(&moved);
	sl_diff_free(&p->d);
	objset_free(&p->want);
	return plan_against_live(c, cmd, p, now_ms() - t0);
}

/*
 * The pin directory is made only for a plan that can be carried out: when
 * p was planned without it, check the plan, then create and lock it and
 * observe again (relock). Returns 0, or 1 after saying why.
 */
static int lock_for_plan(const struct cli *c, const char *cmd, struct pipeline *p)
{
	struct sl_kerr e = { "" };

	if (!p->d.n || sl_kernel_exists(p->k))
		return 0;
	if (sl_kernel_preflight(p->k, &p->want, &p->have, &e) < 0) {
		fprintf(p->err, "sluice %s: %s\n", cmd, str_esc(e.msg));
		return 1;
	}
	return relock(c, cmd, p);
}

int cmd_apply(const struct cli *c)
{
	struct pipeline p = { .err = stderr };
	int r;

	heap_in_huge_pages();
	r = load_state(c, "apply", &p);

	if (!r)
		r = make_plan(c, "apply", &p, c->dry_run ? LOCK_NONE : LOCK_IF_THERE);
	if (!r && !c->dry_run)
		r = lock_for_plan(c, "apply", &p);
	if (!r && print_plan(c, &p) < 0)
		r = 1;
	if (!r && c->dry_run)
		r = check_plan("apply", &p) ? 1 : p.d.n ? 2 : 0;
	else if (!r && p.d.n) {
		/* The model is not needed any more: give its memory back before
		 * the kernel is read a second time to verify. */
		struct progress pr = {};

		sl_load_free(&p.ld);
		p.loaded = false;
		progress_start(c, &pr);
		r = execute(c, "apply", &p);
		progress_end();
		if (!r && !c->quiet && c->output != CLI_OUTPUT_JSON)
			printf("Apply complete: %zu added, %zu changed, %zu removed.\n", p.lines[SL_OP_ADD],
			       p.lines[SL_OP_CHANGE], p.lines[SL_OP_REMOVE]);
	} else if (!r && c->verbose) {
		fprintf(stderr, "sluice apply: kernel writes: %lu\n", sl_kernel_writes);
	}
	pipeline_free(&p);
	return r;
}

int cmd_flush(const struct cli *c)
{
	struct pipeline p = { .err = stderr };
	int r;

	if (c->n_args) {
		fprintf(stderr, "sluice flush: takes no PATH\n");
		return 1;
	}
	if (!c->yes) {
		char answer[16] = "";

		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "sluice flush: removes everything sluice owns under %s; pass --yes to do so "
					"without a terminal\n",
				str_esc(cli_pin_dir(c)));
			return 1;
		}
		fprintf(stderr, "Remove everything sluice owns under %s (maps, programs, attachments)? [y/N] ",
			str_esc(cli_pin_dir(c)));
		if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
			fprintf(stderr, "sluice flush: nothing was changed\n");
			return 1;
		}
	}
	/* A missing pin directory: nothing to flush, but attachments of a
	 * lost pin directory are still found. */
	r = make_plan(c, "flush", &p, LOCK_IF_THERE);
	if (!r && print_plan(c, &p) < 0)
		r = 1;
	if (!r && p.d.n)
		r = execute(c, "flush", &p);
	if (!r && p.k)
		sl_kernel_remove_dir(p.k);
	if (!r && !c->quiet && p.d.n && c->output != CLI_OUTPUT_JSON)
		printf("Flush complete: %zu removed.\n", p.lines[SL_OP_REMOVE]);
	pipeline_free(&p);
	return r;
}

/*
 * watch reads the kernel on a thread of its own while it reads DIR: open
 * the pin directory, lock it if it exists, observe. live->r < 0 and
 * live->e say why when it failed.
 */
void reconcile_observe(const struct cli *c, struct reconcile_live *live)
{
	double t0 = now_ms();

	live->r = open_observe(c, LOCK_IF_THERE, &live->k, &live->have, &live->e);
	live->ms = now_ms() - t0;
}

void reconcile_live_free(struct reconcile_live *live)
{
	sl_kernel_close(live->k);
	live->k = NULL;
	objset_free(&live->have);
}

/* watch's plan counted by op into res->lines (no text): 0, or 1 after
 * saying why. */
static int count_plan(struct pipeline *p, struct reconcile_result *res)
{
	FILE *f = fopen("/dev/null", "w");
	int r = 0;

	if (!f || sl_plan_write(&p->want, &p->have, &p->d, &p->ld.state, SL_PLAN_TEXT_SUMMARY, false, f,
				res->lines) < 0) {
		fprintf(p->err, "sluice watch: rendering the plan: out of memory\n");
		r = 1;
	}
	if (f)
		fclose(f);
	return r;
}

/* After a successful apply: the text plan into res->plan_to (watch logs
 * its lines); a failure only loses the lines. */
static void write_plan(struct pipeline *p, struct reconcile_result *res)
{
	if (res->plan_to) {
		sl_plan_write(&p->want, &p->have, &p->d, &p->ld.state, SL_PLAN_TEXT, false, res->plan_to, NULL);
		fflush(res->plan_to);
	}
}

/*
 * watch's apply of a state it loaded and validated (ld stays the caller's:
 * watch keeps the last good one for its resyncs), against the kernel as
 * reconcile_observe read it (live is consumed). Quiet: the plan is
 * written only into res->plan_to (after it succeeded), and errors go to err. Returns 0 when the
 * kernel matches the state afterwards, 1 when not; res->invalid when the
 * state itself was refused (capacity: ld->diags holds why).
 */
int reconcile_apply_loaded(const struct cli *c, struct sl_load *ld, struct reconcile_live *live, FILE *err,
			   struct reconcile_result *res)
{
	struct pipeline p = { .ld = *ld, .loaded = true, .err = err };
	size_t errors0 = ld->diags.n_errors;
	struct sl_objset *keep = res->verified;
	int r;

	*res = (struct reconcile_result){ .verified = keep, .plan_to = res->plan_to };
	p.k = TAKE_PTR(live->k);
	p.have = live->have;
	live->have = (struct sl_objset){};
	if (live->r < 0) {
		fprintf(err, "sluice watch: %s\n", live->e.msg[0] ? str_esc(live->e.msg) : strerror(-live->r));
		r = 1;
	} else {
		r = plan_against_live(c, "watch", &p, live->ms);
	}
	if (r && p.ld.diags.n_errors > errors0)
		res->invalid = true;
	if (!r)
		r = lock_for_plan(c, "watch", &p);
	if (!r && p.d.n) {
		r = count_plan(&p, res);
		if (!r) {
			unsigned long w0 = sl_kernel_writes;

			r = execute(c, "watch", &p);
			res->writes = sl_kernel_writes - w0;
			for (size_t i = 0; !r && i < p.d.n; i++)
				if (p.d.v[i].kind < SL_OBJ__MAX)
					res->kinds[p.d.v[i].kind]++;
		}
	}
	/* the programs' objects (read for their digests, loaded by the
	 * apply) are not needed until the next full apply */
	sl_kernel_release_embedded();
	if (!r && p.d.n)
		write_plan(&p, res);
	res->changed = p.d.n > 0;
	if (!r && res->verified) {
		/* planned, applied and verified (or nothing to do): the kernel
		 * holds want */
		objset_free(res->verified);
		*res->verified = p.want;
		p.want = (struct sl_objset){};
	}
	*ld = p.ld; /* back to the caller, with any diagnostics added */
	p.loaded = false;
	pipeline_free(&p);
	return r;
}

/* The incremental paths' apply of p->d (map entries only): each entry it
 * touches looked up first (it must be as p->have says), then written and
 * read back (as p->want says). Returns as reconcile_apply_incremental. */
static int apply_entries(struct pipeline *p, struct reconcile_result *res, FILE *err, char *why_full, size_t len)
{
	struct sl_kerr e = { "" };
	char what[128] = "";
	unsigned long w0 = sl_kernel_writes;
	double t = now_ms();
	int r, n;

	/* What the change touches must be as verified says: else the kernel
	 * changed behind watch's back, which the full path repairs. */
	n = sl_kernel_entries_check(p->k, &p->want, &p->have, &p->d, false, what, sizeof(what), &e);
	res->read_ms = now_ms() - t;
	if (n != 0) {
		snprintf(why_full, len, "%s", n < 0 ? (e.msg[0] ? e.msg : strerror(-n)) : what);
		return 2;
	}
	r = count_plan(p, res);
	if (r)
		return r;
	t = now_ms();
	r = sl_kernel_entries_apply(p->k, &p->want, &p->have, &p->d, &e);
	res->write_ms = now_ms() - t;
	res->writes = sl_kernel_writes - w0;
	res->changed = true;
	if (r < 0) {
		fprintf(err, "sluice watch: %s\n", e.msg[0] ? str_esc(e.msg) : strerror(-r));
		fprintf(err, "sluice watch: the kernel holds part of the plan; the next apply converges\n");
		return 1;
	}
	t = now_ms();
	n = sl_kernel_entries_check(p->k, &p->want, &p->have, &p->d, true, what, sizeof(what), &e);
	res->verify_ms = now_ms() - t;
	if (n != 0) {
		fprintf(err, "sluice watch: verifying: %s\n",
			n < 0 ? (e.msg[0] ? str_esc(e.msg) : strerror(-n)) : what);
		return 1;
	}
	for (size_t i = 0; i < p->d.n; i++)
		res->kinds[p->d.v[i].kind]++;
	write_plan(p, res);
	return 0;
}

/* The incremental paths' kernel, opened and locked into p->k; 0, or 2
 * with why_full saying why (the full path says it to the user). */
static int open_locked(const struct cli *c, struct pipeline *p, char *why_full, size_t len)
{
	struct sl_kerr e = { "" };
	int r = sl_kernel_open(cli_pin_dir(c), false, &p->k, &e);

	if (r >= 0)
		r = sl_kernel_lock(p->k, c->wait_s, &e);
	if (r < 0) {
		snprintf(why_full, len, "the pin directory: %s", e.msg[0] ? e.msg : strerror(-r));
		return 2;
	}
	return 0;
}

int reconcile_apply_incremental(const struct cli *c, struct sl_load *ld, struct sl_objset *verified, FILE *err,
				struct reconcile_result *res, char *why_full, size_t len)
{
	struct pipeline p = { .ld = *ld, .loaded = true, .err = err };
	size_t errors0 = ld->diags.n_errors;
	struct sl_objset *keep = res->verified;
	double t;
	int r;

	*res = (struct reconcile_result){ .verified = keep, .plan_to = res->plan_to, .incremental = true };
	sl_kernel_set_verbosity(c->verbose);
	r = open_locked(c, &p, why_full, len);
	if (r)
		goto out;
	/* borrowed: given back below, never freed here */
	p.have = *verified;
	t = now_ms();
	r = plan_against_live(c, "watch", &p, 0);
	res->compile_ms = now_ms() - t;
	if (r) {
		res->invalid = p.ld.diags.n_errors > errors0;
		goto out;
	}
	for (size_t i = 0; i < p.d.n; i++) {
		if (!sl_kernel_entry_kind_exact(p.d.v[i].kind)) {
			snprintf(why_full, len, "the change has %s objects, which are read whole",
				 sl_kind(p.d.v[i].kind)->name);
			r = 2;
			goto out;
		}
	}
	if (!p.d.n)
		goto out; /* the kernel holds want: verified says so */
	r = apply_entries(&p, res, err, why_full, len);
out:
	p.have = (struct sl_objset){}; /* verified's, not ours */
	if (r == 0 && keep && p.d.n) {
		objset_free(verified);
		*verified = p.want;
		p.want = (struct sl_objset){};
	} else if (r == 1 && keep && res->changed) {
		/* what the kernel holds is no longer known: the next apply reads it */
		objset_free(verified);
	}
	*ld = p.ld;
	p.loaded = false;
	pipeline_free(&p);
	return r;
}

int reconcile_apply_section(const struct cli *c, struct sl_load *good, struct sl_section_patch *patch,
			    struct sl_lb_index *lb_ix, struct sl_ep_index *ep_ix, struct sl_objset *verified, FILE *err,
			    struct reconcile_result *res, char *why_full, size_t len)
{
	bool services = patch->section == SL_DOC_SERVICES;
	struct pipeline p = { .err = err };
	struct sl_objset *keep = res->verified;
	void *old = patch->old;
	char *both = NULL;
	size_t esize = services ? sizeof(struct sl_service) : sizeof(struct sl_endpoint);
	uint32_t n_old = patch->n_old;
	double t;
	int r;

	*res = (struct reconcile_result){ .verified = keep, .plan_to = res->plan_to, .incremental = true,
					  .section = patch->section };
	sl_kernel_set_verbosity(c->verbose);
	if (services ? !lb_ix : !ep_ix) {
		snprintf(why_full, len, "the %s of the last apply are not indexed", services ? "services" : "endpoints");
		return 2;
	}
	r = open_locked(c, &p, why_full, len);
	if (r)
		goto out;
	t = now_ms();
	if (services)
		r = sl_lb_delta(lb_ix, verified, old, n_old, patch->v, patch->n, good->state.datapath->map_sizes,
				&p.want, &p.have);
	else
		r = sl_ep_delta(ep_ix, &good->state, verified, old, n_old, patch->v, patch->n, &p.want, &p.have);
	if (r >= 0)
		r = sl_diff(&p.want, &p.have, &p.d);
	res->compile_ms = now_ms() - t;
	if (r == -EAGAIN) {
		snprintf(why_full, len, "the %s of %s need the whole state compiled", services ? "services" : "endpoints",
			 patch->file);
		r = 2;
		goto out;
	}
	if (r < 0) {
		fprintf(err, "sluice watch: compiling the %s of %s: %s\n", services ? "services" : "endpoints",
			str_esc(patch->file), strerror(-r));
		r = 1;
		goto out;
	}
	if (!p.d.n)
		goto out;
	/* the plan names the items, old and new, from a state of them */
	both = malloc((patch->n + n_old + 1) * esize);
	if (!both) {
		r = 1;
		fprintf(err, "sluice watch: out of memory\n");
		goto out;
	}
	memcpy(both, patch->v, patch->n * esize);
	if (n_old)
		memcpy(both + patch->n * esize, old, n_old * esize);
	p.ld.state = good->state;
	if (services) {
		p.ld.state.services = (struct sl_service *)both;
		p.ld.state.n_services = patch->n + n_old;
	} else {
		p.ld.state.endpoints = (struct sl_endpoint *)both;
		p.ld.state.n_endpoints = patch->n + n_old;
	}
	r = apply_entries(&p, res, err, why_full, len);
	if (r == 0 && sl_diff_patch(verified, &p.want, &p.have, &p.d) < 0)
		res->verified_lost = true; /* the kernel is right; what it holds is read again */
out:
	p.ld.state = (struct sl_state){};
	free(both);
	pipeline_free(&p);
	return r;
}

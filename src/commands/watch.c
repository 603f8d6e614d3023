/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice watch DIR: keep the datapath equal to a directory of state files
 * (cli.md, "watch").
 *
 * One thread, one poll(2) over an inotify descriptor and a signalfd; the
 * only timers are the debounce, the resync, a retry after a failed apply,
 * systemd's watchdog and the health file, so an idle watch sleeps in poll
 * until something happens.
 *
 * What is watched:
 *   - DIR itself (the directory it resolves to): writes, removals and new
 *     entries of state files, and renames of any entry, hidden ones too
 *     (a Kubernetes ConfigMap volume swaps its `..data` symlink by rename);
 *   - DIR's parent, for DIR's own name: DIR replaced (a symlink swapped by
 *     rename, or a directory renamed onto it) moves the watch to the new
 *     target;
 *   - the directories that hold the targets of state files that are
 *     symlinks, for those names only.
 *
 * The loader fingerprints what it reads (sl_load.digest: names and bytes
 * of the state files); the changes an apply makes while the fingerprint
 * equals the last applied one are drift, and each is logged as such.
 *
 * Every apply reads every file of DIR in full, but parses only the files
 * whose bytes changed since the last read: the others' documents come from
 * the loader's cache (sl_load_cache), which lives as long as the watch and
 * holds the files of the last read only. A change of one file that holds
 * services only does not even copy the others' documents: its services
 * are validated and compiled alone and patched into the kept state
 * (apply_section_patch); so does one of endpoints of other nodes.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "reconcile/epdelta.h"
#include "reconcile/lb.h"
#include "reconcile/load.h"
#include "reconcile/validate.h"
#include "metrics.h"
#include "watch_log.h"

enum reason { REASON_START, REASON_CHANGE, REASON_SIGNAL, REASON_RESYNC, REASON_RETRY, REASON__MAX };
static const char *const reason_name[REASON__MAX] = { "start", "change", "signal", "resync", "retry" };

#define DIR_MASK                                                                                                 \
	(IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF |     \
	 IN_MOVE_SELF | IN_ONLYDIR)
#define PARENT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
#define TARGET_MASK (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_MASK_ADD)
#define HEALTH_INTERVAL_MS 30000.0
#define RETRY_MAX_S 60
#define RENAME_PAIR_MS 5
#define NEVER INFINITY

/* A directory holding the target of a state file that is a symlink. */
struct target_dir {
	int wd;
	char *path;
	char **names; /* the target files in it */
	size_t n_names;
};

struct watch {
	const struct cli *c;
	const char *dir;     /* as given */
	char *parent, *base; /* DIR's parent and its name in it (NULL: not watched) */
	char host[256];
	struct wlog log;
	struct notifier notify;
	struct health health;
	int ifd, sfd;
	int dir_wd, parent_wd;
	bool health_failed_logged;
	struct target_dir *targets;
	size_t n_targets;

	struct sl_load_cache cache; /* DIR's files as last parsed */
	struct sl_load good; /* the last state applied, for resyncs while DIR is invalid */
	bool have_good;
	/* What the last apply left in the kernel, verified: a change between
	 * resyncs is planned against it (reconcile_apply_incremental). */
	struct sl_objset verified;
	bool have_verified;
	/* What verified holds of services, indexed for a change of services
	 * only (reconcile_apply_section): built after each apply of the
	 * whole state, NULL when it is not known. */
	struct sl_lb_index *lb_ix;
	struct sl_ep_index *ep_ix; /* the same for remote endpoints (sl_ep_delta) */
	uint64_t good_print;	 /* fingerprint of that state's files */
	uint64_t reported_print; /* the files whose diagnostics were last logged */
	bool have_reported;

	unsigned long applies;
	struct metrics metrics;		 /* what --metrics-address serves (counted without it too) */
	struct metrics_server *msrv; /* NULL: no --metrics-address */
	char metrics_url[96];
	int retry_s;
	double t_debounce, t_retry, t_resync, t_watchdog, t_health;
	bool stop;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double unix_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- what is in DIR ----------------------------------------------------- */

struct links {
	char **target; /* realpath of each state file that is a symlink */
	size_t n;
};

static void links_free(struct links *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->target[i]);
	free(l->target);
	*l = (struct links){};
}

/* The targets of the state files the loader read that are symlinks. */
static void links_of(const struct sl_load *ld, struct links *ret)
{
	size_t cap = 0;

	*ret = (struct links){};
	for (size_t i = 0; i < ld->n_files; i++) {
		struct stat st;
		char *real;

		if (lstat(ld->files[i], &st) < 0 || !S_ISLNK(st.st_mode) || !(real = realpath(ld->files[i], NULL)))
			continue;
		if (grow_array((void **)&ret->target, &cap, ret->n + 1, sizeof(char *)) < 0) {
			free(real);
			return;
		}
		ret->target[ret->n++] = real;
	}
}

/* ---- inotify watches ---------------------------------------------------- */

static bool wd_in_use(const struct watch *w, int wd, size_t skip_target)
{
	if (wd == w->dir_wd || wd == w->parent_wd)
		return true;
	for (size_t i = 0; i < w->n_targets; i++)
		if (i != skip_target && w->targets[i].wd == wd)
			return true;
	return false;
}

static void target_dir_free(struct target_dir *t)
{
	for (size_t i = 0; i < t->n_names; i++)
		free(t->names[i]);
	free(t->names);
	free(t->path);
}

static void targets_clear(struct watch *w)
{
	for (size_t i = 0; i < w->n_targets; i++) {
		if (w->targets[i].wd >= 0 && !wd_in_use(w, w->targets[i].wd, i))
			inotify_rm_watch(w->ifd, w->targets[i].wd);
		w->targets[i].wd = -1;
		target_dir_free(&w->targets[i]);
	}
	free(w->targets);
	w->targets = NULL;
	w->n_targets = 0;
}

/* Watch the directories of the symlinks' targets (those of the last read). */
static void targets_set(struct watch *w, const struct links *s)
{
	size_t cap = 0;

	targets_clear(w);
	for (size_t i = 0; i < s->n; i++) {
		char *slash = strrchr(s->target[i], '/');
		char *path, *name;
		struct target_dir *t = NULL;
		size_t cap_names;

		if (!slash)
			continue;
		path = slash == s->target[i] ? strdup("/") : strndup(s->target[i], (size_t)(slash - s->target[i]));
		name = strdup(slash + 1);
		if (!path || !name) {
			free(path);
			free(name);
			continue;
		}
		for (size_t j = 0; j < w->n_targets && !t; j++)
			if (streq(w->targets[j].path, path))
				t = &w->targets[j];
		if (!t) {
			int wd = inotify_add_watch(w->ifd, path, TARGET_MASK);

			if (wd < 0 || grow_array((void **)&w->targets, &cap, w->n_targets + 1, sizeof(*t)) < 0) {
				if (wd >= 0 && !wd_in_use(w, wd, SIZE_MAX))
					inotify_rm_watch(w->ifd, wd);
				free(path);
				free(name);
				continue;
			}
			t = &w->targets[w->n_targets++];
			*t = (struct target_dir){ .wd = wd, .path = TAKE_PTR(path) };
		}
		free(path);
		cap_names = t->n_names;
		if (grow_array((void **)&t->names, &cap_names, t->n_names + 1, sizeof(char *)) < 0) {
			free(name);
			continue;
		}
		t->names[t->n_names++] = name;
	}
}

/* (Re)watch what DIR names now: after it was replaced, the watch follows. */
static void watch_dir(struct watch *w)
{
	int wd = inotify_add_watch(w->ifd, w->dir, DIR_MASK);

	if (w->dir_wd >= 0 && w->dir_wd != wd) {
		int old = w->dir_wd;

		w->dir_wd = -1;
		if (!wd_in_use(w, old, SIZE_MAX))
			inotify_rm_watch(w->ifd, old);
	}
	w->dir_wd = wd;
}

/* ---- one apply ---------------------------------------------------------- */

static void ping_watchdog(struct watch *w)
{
	if (!w->notify.watchdog_usec)
		return;
	notifier_send(&w->notify, "WATCHDOG=1");
	w->t_watchdog = now_ms() + (double)w->notify.watchdog_usec / 2e3;
}

static void refresh_health(struct watch *w)
{
	int r = health_write(&w->health);

	if (r < 0 && !w->health_failed_logged)
		wlog_event(&w->log, WLOG_WARNING, "health", NULL, 0, "writing the health file %s: %s", w->health.path,
			   strerror(-r));
	w->health_failed_logged = r < 0;
	if (w->health.path)
		w->t_health = now_ms() + HEALTH_INTERVAL_MS;
}

static void set_result(struct watch *w, const char *result, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_result(struct watch *w, const char *result, const char *fmt, ...)
{
	va_list ap;
	char status[600], raw[sizeof(w->health.last_message)];
	struct strbuf esc = {};

	w->health.last_result = result;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* One line: the message names DIR, and STATUS= is a line of the
	 * notification (a newline in it would start another KEY=). */
	strbuf_add_escaped(&esc, raw);
	snprintf(w->health.last_message, sizeof(w->health.last_message), "%s", strbuf_str(&esc));
	strbuf_free(&esc);
	snprintf(status, sizeof(status), "STATUS=%s: %s", result, w->health.last_message);
	notifier_send(&w->notify, status);
}

/* Each diagnostic as an `invalid` (error) or `validate` (warning) line, in
 * the words `validate` prints it (a problem with a whole file has no line). */
static void log_diags(struct watch *w, const struct diag_list *dl)
{
	for (size_t i = 0; i < dl->n; i++) {
		const struct diag *d = &dl->v[i];
		struct wfield f[] = { WF_S("file", d->file), WF_S("path", d->path ? d->path : ""), WF_I("line", d->line),
				      WF_I("col", d->col) };
		bool err = d->severity == DIAG_ERROR;
		char where[32] = "";

		if (d->line)
			snprintf(where, sizeof(where), ":%u:%u", d->line, d->col);
		wlog_event(&w->log, err ? WLOG_ERROR : WLOG_WARNING, err ? "invalid" : "validate", f,
			   d->line ? ARRAY_SIZE(f) : 2, "%s%s: %s%s: %s", d->file ? d->file : "-", where,
			   err ? "" : "warning: ", d->path ? d->path : "", d->message);
	}
}

/*
 * The text plan of an apply that succeeded, logged line by line as it is
 * rendered (reconcile_result.plan_to is a stream of this): each change as
 * a drift (repaired) or a change line. The path event goes before the
 * first line, as it would before the lines of a plan held whole.
 */
struct path_event;
struct plan_log {
	struct watch *w;
	bool drift;
	struct path_event *path; /* logged before the first line (NULL: already) */
	struct strbuf part;	 /* a line not yet ended */
	char object[512];
};

/* What the path event of an apply says (see log_path). */
struct path_event {
	const char *reason;
	const struct reconcile_result *res;
	const char *why_full;
	const double *load_ms, *observe_ms;
};

static void log_path(struct watch *w, const struct path_event *pe);

static void plan_log_line(struct plan_log *pl, const char *p, size_t len)
{
	if (len > 2 && p[0] == ' ' && p[1] == ' ') {
		char *change = strndup(p + 2, len - 2);
		struct wfield f[] = { WF_S("object", pl->object), WF_S("change", change) };

		if (change)
			wlog_event(&pl->w->log, pl->drift ? WLOG_WARNING : WLOG_DEBUG, pl->drift ? "drift" : "change",
				   f, ARRAY_SIZE(f), "%s: %s%s", pl->object, change, pl->drift ? " (repaired)" : "");
		free(change);
	} else if (len && strncmp(p, "Plan: ", 6) != 0) {
		snprintf(pl->object, sizeof(pl->object), "%.*s", (int)len, p);
	}
}

static ssize_t plan_log_write(void *cookie, const char *buf, size_t size)
{
	struct plan_log *pl = cookie;
	const char *p = buf, *end = buf + size;

	if (pl->path) {
		log_path(pl->w, pl->path);
		pl->path = NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl) {
			if (strbuf_add(&pl->part, p, (size_t)(end - p)) < 0)
				return -1;
			break;
		}
		if (pl->part.len) {
			if (strbuf_add(&pl->part, p, (size_t)(nl - p)) < 0)
				return -1;
			plan_log_line(pl, pl->part.s, pl->part.len);
			strbuf_truncate(&pl->part, 0);
		} else {
			plan_log_line(pl, p, (size_t)(nl - p));
		}
		p = nl + 1;
	}
	return (ssize_t)size;
}

static int plan_log_close(void *cookie)
{
	struct plan_log *pl = cookie;

	if (pl->part.len)
		plan_log_line(pl, pl->part.s, pl->part.len);
	strbuf_free(&pl->part);
	return 0;
}

/* The errors an apply wrote, as one message: lines joined by "; ", each
 * without the "sluice watch: " prefix. */
static void join_errors(const char *text, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (const char *p = text; p && *p && used + 1 < size;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 14 && strncmp(p, "sluice watch: ", 14) == 0) {
			p += 14;
			len -= 14;
		}
		if (len) {
			int n = snprintf(out + used, size - used, "%s%.*s", used ? "; " : "", (int)len, p);

			used += n > 0 ? (size_t)n : 0;
			if (used >= size)
				used = size - 1;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (!out[0])
		snprintf(out, size, "unknown error");
}

static int load_dir(struct watch *w, struct sl_load *ld)
{
	struct sl_validate_opts opts = { .node = w->c->node, .strict_node = true,
					 .hostname = w->host[0] ? w->host : NULL };
	char *paths[] = { (char *)w->dir };
	int r = sl_load_paths_cached(ld, &w->cache, paths, 1);

	if (r >= 0)
		r = sl_load_finish(ld);
	if (r >= 0)
		r = sl_validate(ld, &opts);
	diag_sort(&ld->diags);
	return r;
}

static void schedule_retry(struct watch *w)
{
	w->retry_s = w->retry_s ? (w->retry_s * 2 > RETRY_MAX_S ? RETRY_MAX_S : w->retry_s * 2) : 1;
	w->t_retry = now_ms() + w->retry_s * 1e3;
}

struct observe_job {
	const struct cli *c;
	struct reconcile_live live;
	double ms; /* how long the kernel took to read */
};

static void observe_timed(struct observe_job *j)
{
	double t0 = now_ms();

	reconcile_observe(j->c, &j->live);
	j->ms = now_ms() - t0;
}

static void *observe_thread(void *arg)
{
	observe_timed(arg);
	return NULL;
}

static bool same_files(const struct sl_load *a, const struct sl_load *b)
{
	if (a->n_files != b->n_files)
		return false;
	for (size_t i = 0; i < a->n_files; i++)
		if (!streq(a->files[i], b->files[i]))
			return false;
	return true;
}

/*
 * A change of one file that holds services, or endpoints of other nodes,
 * and nothing else, before and after (the common changes of a large
 * state): DIR read (every file, as always), the file's list validated
 * alone and compiled alone against the verified set
 * (reconcile_apply_section), the kept state patched. Returns 2 when the
 * change is not one of these (nothing done but reading DIR: the caller
 * loads it); else as reconcile_apply_section, *print the files'
 * fingerprint.
 */
static int apply_section_patch(struct watch *w, const struct cli *qc, FILE *err, struct reconcile_result *res,
				uint64_t *print, double *load_ms, char *why_full, size_t len)
{
	struct sl_validate_opts opts = { .node = w->c->node, .strict_node = true,
					 .hostname = w->host[0] ? w->host : NULL };
	char *paths[] = { (char *)w->dir };
	struct sl_load scan = {}, check = {};
	struct sl_section_patch patch = {};
	const struct sl_load *parsed = NULL;
	const char *name = NULL, *name2 = NULL;
	struct links links;
	size_t it = 0;
	double t0 = now_ms();
	int r;

	r = sl_load_paths_scan(&scan, &w->cache, paths, 1);
	links_of(&scan, &links);
	targets_set(w, &links);
	links_free(&links);
	if (r >= 0 && !scan.diags.n)
		parsed = sl_load_cache_fresh(&w->cache, &it, &name);
	r = 2;
	/* one file changed, read without a diagnostic, the same files */
	if (!parsed || parsed->diags.n || sl_load_cache_fresh(&w->cache, &it, &name2) || !same_files(&scan, &w->good))
		goto out;
	if (sl_section_patch_make(&w->good, name, parsed, &patch) < 0)
		goto out;
	if (patch.section == SL_DOC_SERVICES) {
		check.state.services = patch.v;
		check.state.n_services = patch.n;
	} else {
		/* checked with the nodes and identities of the kept state */
		const struct sl_state *g = &w->good.state;

		check.state.node = g->node;
		check.state.nodes = g->nodes;
		check.state.n_nodes = g->n_nodes;
		check.state.identities = g->identities;
		check.state.n_identities = g->n_identities;
		check.state.datapath = g->datapath;
		check.state.encryption = g->encryption;
		check.state.endpoints = patch.v;
		check.state.n_endpoints = patch.n;
	}
	if (sl_validate_section(&check, patch.section, &opts) < 0 || check.diags.n)
		goto out; /* the full load reports it */
	*print = scan.digest;
	*load_ms = now_ms() - t0;
	r = reconcile_apply_section(qc, &w->good, &patch, w->lb_ix, w->ep_ix, &w->verified, err, res, why_full, len);
	if (r == 0 && sl_load_section_replace(&w->good, &patch) < 0) {
		/* the kernel holds the change, the kept state does not: the
		 * retry reads everything again */
		fprintf(err, "sluice watch: keeping the state of %s: out of memory\n", str_esc(name));
		r = 1;
	}
out:
	check.state = (struct sl_state){};
	sl_load_free(&check);
	sl_section_patch_free(&patch);
	sl_load_free(&scan);
	return r;
}

/* Which path an apply took, and what it compiled: the log's words. */
static const char *path_name(const struct reconcile_result *res)
{
	return res->incremental ? "incremental" : "full";
}

static const char *compiled_name(const struct reconcile_result *res)
{
	return res->section == SL_DOC_SERVICES ? "services" : res->section == SL_DOC_ENDPOINTS ? "endpoints" : "state";
}

/* Which path an apply took, and what each phase took (debug). */
static void log_path(struct watch *w, const struct path_event *pe)
{
	const struct reconcile_result *res = pe->res;
	const char *path = path_name(res), *compiled = compiled_name(res);

	if (res->incremental) {
		struct wfield f[] = { WF_S("reason", pe->reason),	  WF_S("path", path),
				      WF_S("compiled", compiled),	  WF_D("loadMs", *pe->load_ms),
				      WF_D("compileMs", res->compile_ms), WF_D("readMs", res->read_ms),
				      WF_D("writeMs", res->write_ms),	  WF_D("verifyMs", res->verify_ms) };

		wlog_event(&w->log, WLOG_DEBUG, "path", f, ARRAY_SIZE(f),
			   "incremental (%s%s compiled): load %.1f ms, compile and plan %.1f ms, read %.1f ms "
			   "(the touched objects), write %.1f ms, verify %.1f ms",
			   res->section ? "one file's " : "the whole ", compiled, *pe->load_ms, res->compile_ms,
			   res->read_ms, res->write_ms, res->verify_ms);
	} else {
		struct wfield f[] = { WF_S("reason", pe->reason), WF_S("path", path), WF_S("fullBecause", pe->why_full),
				      WF_D("loadMs", *pe->load_ms), WF_D("observeMs", *pe->observe_ms) };

		wlog_event(&w->log, WLOG_DEBUG, "path", f, ARRAY_SIZE(f),
			   "full%s%s%s: load %.1f ms, observe %.1f ms, then compile, plan, apply and verify",
			   pe->why_full[0] ? " (" : "", pe->why_full, pe->why_full[0] ? ")" : "", *pe->load_ms,
			   *pe->observe_ms);
	}
}

static void apply_now(struct watch *w, enum reason why)
{
	const char *reason = reason_name[why];
	struct sl_load fresh = {}, *use = NULL;
	struct reconcile_result res = {};
	struct links links;
	uint64_t print;
	bool from_dir = false;
	double t0 = now_ms(), load_ms;
	char *errtext = NULL;
	size_t errlen = 0;
	FILE *err = NULL;
	struct cli qc = *w->c;
	struct observe_job job = { .c = &qc };
	pthread_t observer;
	/* A change between resyncs is tried against the verified set first:
	 * the kernel is then read only where the change touches it. */
	bool incremental = why == REASON_CHANGE && w->have_verified;
	char why_full[256] = "";
	bool threaded = false, patched = false;
	struct path_event pe = { .reason = reason, .res = &res, .why_full = why_full, .load_ms = &load_ms,
				 .observe_ms = &job.ms };
	struct plan_log pl = { .w = w, .path = &pe };
	cookie_io_functions_t plan_io = { .write = plan_log_write, .close = plan_log_close };
	int r;

	qc.quiet = true;
	qc.verbose = 0;
	qc.color = qc.color_stdout = false;
	/* The kernel is read (under the lock) while DIR is read and validated:
	 * the two share nothing, and the kernel takes the longer of the two
	 * when few files changed (only those are parsed). */
	threaded = !incremental && pthread_create(&observer, NULL, observe_thread, &job) == 0;
	w->applies++;
	w->health.applies = w->applies;
	ping_watchdog(w); /* an apply may wait for the lock: start it with a full period */
	/* A resync leaves a pending change (its debounce) and a pending retry
	 * for later: it does not read DIR, so it does not stand for them. */
	if (why != REASON_RESYNC || !w->have_good) {
		w->t_debounce = NEVER;
		w->t_retry = NEVER;
	}
	if (w->dir_wd < 0)
		watch_dir(w);
	/* A change of one file of services or remote endpoints only, since a
	 * good load: compiled alone (the indexes say what the others hold). */
	if (incremental && (w->lb_ix || w->ep_ix) && w->have_good && w->have_reported &&
	    w->reported_print == w->good_print) {
		err = open_memstream(&errtext, &errlen);
		res.verified = &w->verified;
		/* the plan's text is for the change lines at debug level (a
		 * file changed: never drift) */
		if (w->log.min <= WLOG_DEBUG)
			res.plan_to = fopencookie(&pl, "w", plan_io);
		r = err ? apply_section_patch(w, &qc, err, &res, &print, &load_ms, why_full, sizeof(why_full)) : 2;
		if (err)
			fclose(err);
		err = NULL;
		if (r != 2) {
			patched = true;
			use = &w->good;
			goto applied;
		}
		free(errtext);
		errtext = NULL;
	}

	/* A resync re-plans the last good state, as parsed, against the
	 * kernel: it never reads DIR, which may be half written (a change
	 * is applied once its writes have gone quiet, by the debounce). */
	if (why == REASON_RESYNC && w->have_good) {
		load_ms = 0;
		print = w->good_print;
		use = &w->good;
		r = 0;
	} else {
		load_ms = now_ms();
		r = load_dir(w, &fresh);
		load_ms = now_ms() - load_ms;
		print = fresh.digest;
		links_of(&fresh, &links);
		targets_set(w, &links);
		links_free(&links);
	}
	if (use) {
		/* the last good state: nothing was read */
	} else if (r < 0) {
		struct wfield f[] = { WF_S("reason", reason) };

		wlog_event(&w->log, WLOG_ERROR, "failed", f, ARRAY_SIZE(f), "reading %s: %s (%s)", w->dir, strerror(-r),
			   reason);
		set_result(w, "failed", "reading %s: %s", w->dir, strerror(-r));
		metrics_state(&w->metrics, false);
		schedule_retry(w);
	} else if (fresh.diags.n_errors) {
		struct wfield f[] = { WF_S("reason", reason), WF_I("errors", fresh.diags.n_errors) };
		bool again = w->have_reported && w->reported_print == print;

		if (!again)
			log_diags(w, &fresh.diags);
		wlog_event(&w->log, WLOG_ERROR, "rejected", f, ARRAY_SIZE(f),
			   "the state is %sinvalid (%zu error%s%s); the datapath keeps the last good state (%s)",
			   again ? "still " : "", fresh.diags.n_errors, fresh.diags.n_errors == 1 ? "" : "s",
			   again ? ", as logged before" : "", reason);
		set_result(w, "invalid", "the state in %s is invalid (%zu error%s)", w->dir, fresh.diags.n_errors,
			   fresh.diags.n_errors == 1 ? "" : "s");
		metrics_state(&w->metrics, false);
		w->reported_print = print;
		w->have_reported = true;
	} else {
		if (!(w->have_reported && w->reported_print == print))
			log_diags(w, &fresh.diags); /* warnings, once per content */
		w->reported_print = print;
		w->have_reported = true;
		use = &fresh;
		from_dir = true;
	}
	/* DIR unusable: a resync or SIGHUP still repairs drift from the last
	 * good state; a change that broke DIR applies nothing. */
	if (!use && w->have_good && (why == REASON_RESYNC || why == REASON_SIGNAL || why == REASON_RETRY)) {
		use = &w->good;
		print = w->good_print;
	}
	if (threaded)
		pthread_join(observer, NULL);
	if (!use) {
		reconcile_live_free(&job.live); /* and the lock with it */
		goto out;
	}

	err = open_memstream(&errtext, &errlen);
	res.verified = &w->verified;
	/* the plan's text is for the change lines (debug) and the drift
	 * lines (warning), which an apply of the files as last applied logs */
	pl.drift = w->have_good && print == w->good_print && why != REASON_START;
	if (!res.plan_to && (w->log.min <= WLOG_DEBUG || pl.drift))
		res.plan_to = fopencookie(&pl, "w", plan_io);
	if (!err) {
		r = 1;
	} else {
		r = 2;
		if (incremental)
			r = reconcile_apply_incremental(&qc, use, &w->verified, err, &res, why_full, sizeof(why_full));
		if (r == 2) {
			/* the full path: everything read, planned, verified */
			if (!threaded)
				observe_timed(&job);
			r = reconcile_apply_loaded(&qc, use, &job.live, err, &res);
		}
		fclose(err);
	}
applied:
	w->have_verified = r == 0 && !res.verified_lost;
	if (!w->have_verified)
		objset_free(&w->verified);
	if (!w->have_verified || !patched || r) {
		/* made again below once the state and verified agree */
		sl_lb_index_free(w->lb_ix);
		sl_ep_index_free(w->ep_ix);
		w->lb_ix = NULL;
		w->ep_ix = NULL;
	}
	reconcile_live_free(&job.live);
	if (from_dir || patched)
		metrics_state(&w->metrics, !res.invalid);
	if (res.invalid) {
		struct wfield f[] = { WF_S("reason", reason), WF_I("errors", use->diags.n_errors) };

		log_diags(w, &use->diags);
		wlog_event(&w->log, WLOG_ERROR, "rejected", f, ARRAY_SIZE(f),
			   "the state does not fit the maps; the datapath keeps the last good state (%s)", reason);
		set_result(w, "invalid", "the state in %s does not fit the maps", w->dir);
	} else if (r) {
		char msg[1024];
		struct wfield f[] = { WF_S("reason", reason), WF_I("retryS", 0) };

		join_errors(errtext ? errtext : "out of memory", msg, sizeof(msg));
		schedule_retry(w);
		f[1].i = w->retry_s;
		wlog_event(&w->log, WLOG_ERROR, "failed", f, ARRAY_SIZE(f), "%s; retrying in %d s (%s)", msg, w->retry_s,
			   reason);
		set_result(w, "failed", "%s", msg);
	} else {
		bool drift = pl.drift; /* never on the section patch's path: a file changed */
		double ms = now_ms() - t0;
		const char *path = path_name(&res), *compiled = compiled_name(&res);

		/* which path, and what each phase took (-v, and in JSON always),
		 * before the plan's lines (logged as the plan was written, if
		 * any was) */
		if (pl.path)
			log_path(w, pl.path);
		pl.path = NULL;
		if (res.changed) {
			struct wfield f[] = { WF_S("reason", reason),	     WF_I("added", res.lines[0]),
					      WF_I("changed", res.lines[1]), WF_I("removed", res.lines[2]),
					      WF_I("writes", res.writes),    WF_D("ms", ms),
					      WF_D("loadMs", load_ms),	     WF_D("observeMs", job.ms),
					      WF_S("path", path),	     WF_S("compiled", compiled) };

			if (drift)
				metrics_drift(&w->metrics, res.kinds);
			wlog_event(&w->log, WLOG_INFO, "applied", f, ARRAY_SIZE(f),
				   "%zu added, %zu changed, %zu removed in %.1f ms, %lu kernel writes (%s)", res.lines[0],
				   res.lines[1], res.lines[2], ms, res.writes, reason);
			set_result(w, "applied", "%zu added, %zu changed, %zu removed (%s)", res.lines[0], res.lines[1],
				   res.lines[2], reason);
		} else {
			struct wfield f[] = { WF_S("reason", reason), WF_D("ms", ms), WF_D("loadMs", load_ms),
					      WF_D("observeMs", job.ms), WF_S("path", path), WF_S("compiled", compiled) };

			wlog_event(&w->log, why == REASON_RESYNC ? WLOG_DEBUG : WLOG_INFO, "unchanged", f, ARRAY_SIZE(f),
				   "no changes in %.1f ms (%s)", ms, reason);
			set_result(w, "unchanged", "no changes (%s)", reason);
		}
		w->retry_s = 0;
		w->health.ready = true;
		if (from_dir) {
			if (w->have_good)
				sl_load_free(&w->good);
			w->good = fresh;
			w->have_good = true;
			w->good_print = print;
			fresh = (struct sl_load){}; /* now owned as w->good */
		}
		if (patched) {
			/* w->good was patched: it is the files read */
			w->good_print = w->reported_print = print;
		} else if (w->have_verified && w->have_good) {
			/* the index of what verified holds of services, for the
			 * next change (its cost is the whole state's, once) */
			if (sl_lb_index_build(&w->verified, &w->good.state, &w->lb_ix) < 0)
				w->lb_ix = NULL;
			if (sl_ep_index_build(&w->verified, &w->good.state, &w->ep_ix) < 0)
				w->ep_ix = NULL;
		}
	}
out:
	for (int i = 0; i < METRICS_RESULT__MAX; i++)
		if (w->health.last_result && streq(w->health.last_result, metrics_result_names[i]))
			metrics_apply(&w->metrics, i, (now_ms() - t0) / 1e3, unix_now());
	if (res.plan_to)
		fclose(res.plan_to);
	free(errtext);
	sl_load_free(&fresh);
	/* the next resync counts from this apply */
	w->t_resync = w->c->resync_s > 0 ? now_ms() + w->c->resync_s * 1e3 : NEVER;
	refresh_health(w);
}

/* ---- events ------------------------------------------------------------- */

static bool is_state_name(const struct inotify_event *ev)
{
	return ev->len && sl_state_file_name(ev->name);
}

/* Whether an event in DIR is one that makes it read DIR again. */
static bool dir_event_triggers(const struct watch *w, const struct inotify_event *ev)
{
	if (ev->mask & (IN_MOVED_FROM | IN_MOVED_TO))
		return true; /* any entry, hidden ones too */
	if (!is_state_name(ev))
		return false;
	if (ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_ATTRIB))
		return true;
	if (ev->mask & IN_CREATE) {
		/* A new regular file is read at its IN_CLOSE_WRITE; a symlink,
		 * a directory or a hard link brings no other event. */
		char path[PATH_MAX];
		struct stat st;

		if (snprintf(path, sizeof(path), "%s/%s", w->dir, ev->name) >= (int)sizeof(path) ||
		    lstat(path, &st) < 0)
			return true;
		return !S_ISREG(st.st_mode) || st.st_nlink > 1;
	}
	return false;
}

/* Read the pending inotify events; returns whether one of them asks for a
 * new read of DIR. *ret_unpaired: a rename's IN_MOVED_FROM came without
 * its IN_MOVED_TO (the kernel queues them one after the other, and a read
 * can fall between them when the renamer loses the CPU). */
static bool read_events(struct watch *w, bool *ret_unpaired)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool trigger = false, rewatch = false;
	uint32_t from[16];
	size_t n_from = 0;
	ssize_t n;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if ((ev->mask & IN_MOVED_FROM) && n_from < ARRAY_SIZE(from))
				from[n_from++] = ev->cookie;
			if (ev->mask & IN_MOVED_TO)
				for (size_t i = 0; i < n_from; i++)
					if (from[i] == ev->cookie)
						from[i--] = from[--n_from];
			if (ev->mask & IN_Q_OVERFLOW) {
				trigger = rewatch = true;
				continue;
			}
			if (ev->wd == w->dir_wd) {
				if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
					if (ev->mask & IN_IGNORED)
						w->dir_wd = -1;
					trigger = rewatch = true;
				} else if (dir_event_triggers(w, ev)) {
					trigger = true;
				}
			}
			if (ev->wd == w->parent_wd && ev->len && streq(ev->name, w->base))
				trigger = rewatch = true;
			for (size_t i = 0; i < w->n_targets; i++) {
				struct target_dir *t = &w->targets[i];

				if (t->wd != ev->wd)
					continue;
				if (ev->mask & IN_IGNORED) {
					t->wd = -1;
					continue;
				}
				for (size_t j = 0; ev->len && j < t->n_names; j++)
					if (streq(t->names[j], ev->name))
						trigger = true;
			}
		}
	}
	if (rewatch)
		watch_dir(w);
	*ret_unpaired = n_from > 0;
	return trigger;
}

static void read_signals(struct watch *w)
{
	struct signalfd_siginfo si;

	while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct wfield f[] = { WF_S("signal", sigabbrev_np((int)si.ssi_signo)) };

		if (si.ssi_signo == SIGHUP) {
			wlog_event(&w->log, WLOG_INFO, "signal", f, ARRAY_SIZE(f), "SIGHUP: applying now");
			apply_now(w, REASON_SIGNAL);
		} else if (!w->stop) {
			wlog_event(&w->log, WLOG_INFO, "signal", f, ARRAY_SIZE(f),
				   "SIG%s: finishing; the datapath stays in place", sigabbrev_np((int)si.ssi_signo));
			w->stop = true;
		}
	}
}

static double min_deadline(const struct watch *w)
{
	double t = w->t_debounce;

	t = fmin(t, w->t_retry);
	t = fmin(t, w->t_resync);
	t = fmin(t, w->t_watchdog);
	return fmin(t, w->t_health);
}

static int parse_dir_name(struct watch *w)
{
	size_t len = strlen(w->dir);
	char *copy, *slash;

	while (len > 1 && w->dir[len - 1] == '/')
		len--;
	copy = strndup(w->dir, len);
	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (!slash) {
		w->parent = strdup(".");
		w->base = strdup(copy);
	} else {
		w->base = strdup(slash + 1);
		*slash = '\0';
		w->parent = strdup(slash == copy ? "/" : copy);
	}
	free(copy);
	if (!w->parent || !w->base)
		return -ENOMEM;
	if (!*w->base || streq(w->base, ".") || streq(w->base, "..")) {
		free(w->parent);
		free(w->base);
		w->parent = w->base = NULL; /* DIR has no name of its own to watch */
	}
	return 0;
}

int cmd_watch(const struct cli *c)
{
	struct watch w = { .c = c, .ifd = -1, .sfd = -1, .dir_wd = -1, .parent_wd = -1 };
	struct stat st;
	sigset_t mask, old_mask;
	int r = 1;

	if (c->n_args != 1) {
		fprintf(stderr, "sluice watch: give one DIR (the directory of state files to keep applied)\n");
		return 1;
	}
	w.dir = c->args[0];
	/* Large arrays (a set, an index, a list of a large state) are mapped
	 * on their own and given back whole when freed: the heap keeps only
	 * small blocks, and what a start or a full apply held for a moment
	 * (the plan's lines, validation's tables) does not stay resident in
	 * its holes. A fixed threshold: glibc would otherwise raise it to the
	 * largest block freed. Small blocks freed stay in the heap for the
	 * next apply. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	/* One heap for all threads (the observer, the map readers): each
	 * thread's own arena kept its blocks resident for the next apply. */
	mallopt(M_ARENA_MAX, 1);
	if (stat(w.dir, &st) < 0) {
		fprintf(stderr, "sluice watch: %s: %s\n", str_esc(w.dir), strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sluice watch: %s: not a directory (watch takes the directory of state files)\n",
			str_esc(w.dir));
		return 1;
	}
	w.log = (struct wlog){ .json = c->log_json, .fd = STDERR_FILENO,
			       .min = c->verbose ? WLOG_DEBUG : c->quiet ? WLOG_WARNING : WLOG_INFO,
			       .journal = wlog_to_journal(STDERR_FILENO) };
	w.health.path = c->health_file;
	w.t_debounce = w.t_retry = w.t_resync = w.t_watchdog = w.t_health = NEVER;
	if (gethostname(w.host, sizeof(w.host) - 1) < 0)
		w.host[0] = '\0';
	if (parse_dir_name(&w) < 0) {
		fprintf(stderr, "sluice watch: out of memory\n");
		return 1;
	}
	metrics_init(&w.metrics);
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old_mask);
	w.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	w.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w.sfd < 0 || w.ifd < 0) {
		fprintf(stderr, "sluice watch: %s: %s\n", w.sfd < 0 ? "signalfd" : "inotify", strerror(errno));
		goto out;
	}
	if (w.health.path) {
		int hr;

		w.health.last_result = "starting";
		hr = health_write(&w.health);
		if (hr < 0) {
			fprintf(stderr, "sluice watch: --health-file %s: %s\n", str_esc(w.health.path), strerror(-hr));
			w.health.path = NULL; /* not ours to remove */
			goto out;
		}
	}
	if (c->metrics_address) {
		char why[256] = "", bound[64] = "";

		if (metrics_server_start(c->metrics_address, &w.metrics, cli_pin_dir(c), &w.log, &w.msrv, bound,
					 sizeof(bound), why, sizeof(why)) < 0) {
			fprintf(stderr, "sluice watch: --metrics-address %s: %s\n", str_esc(c->metrics_address), why);
			goto out;
		}
		snprintf(w.metrics_url, sizeof(w.metrics_url), "http://%s/metrics", bound);
	}
	watch_dir(&w);
	if (w.dir_wd < 0) {
		fprintf(stderr, "sluice watch: watching %s: %s\n", str_esc(w.dir), strerror(errno));
		goto out;
	}
	if (w.parent)
		w.parent_wd = inotify_add_watch(w.ifd, w.parent, PARENT_MASK); /* best effort */
	notifier_open(&w.notify);
	{
		struct wfield f[] = { WF_S("dir", w.dir), WF_I("debounceMs", c->debounce_ms), WF_I("resyncS", c->resync_s),
				      WF_S("pinDir", cli_pin_dir(c)) };
		char resync[32] = "no resync";

		if (c->resync_s > 0)
			snprintf(resync, sizeof(resync), "resync %d s", c->resync_s);
		wlog_event(&w.log, WLOG_INFO, "start", f, ARRAY_SIZE(f), "watching %s (debounce %d ms, %s, pin dir %s)",
			   w.dir, c->debounce_ms, resync, cli_pin_dir(c));
	}
	if (w.msrv) {
		struct wfield f[] = { WF_S("url", w.metrics_url) };

		wlog_event(&w.log, WLOG_INFO, "metrics", f, ARRAY_SIZE(f), "serving Prometheus metrics at %s",
			   w.metrics_url);
	}
	apply_now(&w, REASON_START);
	{
		char ready[640];

		snprintf(ready, sizeof(ready), "READY=1\nSTATUS=%s: %s", w.health.last_result, w.health.last_message);
		notifier_send(&w.notify, ready);
	}
	ping_watchdog(&w);

	while (!w.stop) {
		struct pollfd pfd[] = { { .fd = w.sfd, .events = POLLIN }, { .fd = w.ifd, .events = POLLIN } };
		double deadline = min_deadline(&w), now = now_ms();
		int timeout = isinf(deadline) ? -1 : deadline <= now ? 0 : (int)ceil(deadline - now);

		if (poll(pfd, ARRAY_SIZE(pfd), timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "sluice watch: poll: %s\n", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			read_signals(&w);
		if (w.stop)
			break;
		if (pfd[1].revents) {
			bool unpaired = false;

			/* A rename half seen waits a moment for its other half,
			 * so that one rename makes one apply. */
			if (read_events(&w, &unpaired))
				w.t_debounce = now_ms() + (unpaired && c->debounce_ms < RENAME_PAIR_MS ? RENAME_PAIR_MS
												     : c->debounce_ms);
		}
		now = now_ms();
		if (now >= w.t_debounce)
			apply_now(&w, REASON_CHANGE);
		else if (now >= w.t_retry)
			apply_now(&w, REASON_RETRY);
		else if (now >= w.t_resync && w.have_good)
			apply_now(&w, REASON_RESYNC);
		else if (now >= w.t_resync) /* no good state yet: nothing to re-plan */
			w.t_resync = now + c->resync_s * 1e3;
		now = now_ms();
		if (now >= w.t_watchdog)
			ping_watchdog(&w);
		if (now >= w.t_health)
			refresh_health(&w);
	}
	if (w.stop) {
		struct wfield f[] = { WF_I("applies", w.applies) };

		notifier_send(&w.notify, "STOPPING=1");
		wlog_event(&w.log, WLOG_INFO, "exit", f, ARRAY_SIZE(f), "stopped after %lu appl%s", w.applies,
			   w.applies == 1 ? "y" : "ies");
		r = 0;
	}
out:
	metrics_server_stop(w.msrv); /* before what a scrape reads goes */
	metrics_destroy(&w.metrics);
	health_remove(&w.health);
	targets_clear(&w);
	if (w.have_good)
		sl_load_free(&w.good);
	objset_free(&w.verified);
	sl_lb_index_free(w.lb_ix);
	sl_ep_index_free(w.ep_ix);
	sl_load_cache_free(&w.cache);
	notifier_close(&w.notify);
	if (w.ifd >= 0)
		close(w.ifd);
	if (w.sfd >= 0)
		close(w.sfd);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	free(w.parent);
	free(w.base);
	return r;
}

// SPDX-License-Identifier: Apache-2.0
/*
 * The xfrm part of a reconcile against iproute2 (issue 7's figures), in
 * one run, in a network namespace of this process's own:
 *
 *   from nothing  sluice's whole reconcile of a state whose encryption
 *                 compiles to about N xfrm policies (default 10,000: this
 *                 node and ceil(N / 3) remote nodes of one pod CIDR each,
 *                 so an out, an in and a fwd policy per remote node):
 *                 parse the YAML (made here, in memory), validate, read
 *                 the keys, compile, observe, diff, apply; against
 *                 `ip -batch` of the same policies as `xfrm policy add`
 *                 lines, written from the compiled set (target <= 1x);
 *   no-op         the same reconcile with the policies in the kernel (it
 *                 must find nothing to change) against `ip xfrm policy
 *                 list` to /dev/null (target <= 1.5x);
 *   to empty      sluice's reconcile to the empty state (observe, diff,
 *                 remove), beside `ip xfrm policy flush`, no target;
 *   routes        (extra, no target) the same reconcile for the routes to
 *                 the remote pod CIDRs that encryption compiles, against
 *                 `ip -batch` of `route add` lines.
 *
 * This machine's kernel has xfrm policies but no ESP: an SA cannot be
 * added. So the desired set that is diffed and applied is the compiled
 * set's xfrm policies alone (the SAs, the routes and the rest are left out
 * after compile, which is timed whole); the routes are a run of their own.
 * Every add is checked by dumping what the kernel holds and comparing it
 * byte for byte with the compiled objects, for sluice and for iproute2,
 * and every removal by finding nothing left. The namespace is checked to be
 * new and empty (only lo, no xfrm policy or state); the underlay device is
 * a veth pair made in it. Nothing outlives the process: the namespace goes
 * with it. Prints each run, then the medians, the ratios sluice / iproute2
 * against the targets, and sluice's phases.
 *
 * Usage (root): sudo build/bench/xfrm-reconcile [--policies N] [--runs N] [--no-routes]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/xfrm.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"
#include "datapath/backend.h"
#include "datapath/route.h"
#include "datapath/xfrm.h"
#include "reconcile/compile.h"
#include "reconcile/diag.h"
#include "reconcile/diff.h"
#include "reconcile/keys.h"
#include "reconcile/load.h"
#include "reconcile/objset.h"
#include "reconcile/validate.h"

/* The xfrm and route backends of sluice apply (datapath/backend.h): one
 * phase of each, as sl_kernel_apply walks them. */
static int encrypt_observe(struct sl_objset *live, struct sl_kerr *e)
{
	int r = kernel_backend_xfrm.observe(NULL, live, e);

	if (r >= 0)
		r = kernel_backend_route.observe(NULL, live, e);
	return r;
}

static int encrypt_apply(const struct sl_objset *want, const struct sl_objset *have, const struct sl_diff *d,
			 enum kernel_phase phase, struct sl_kerr *e)
{
	int r = kernel_backend_xfrm.apply(NULL, want, have, d, phase, e);

	if (r >= 0)
		r = kernel_backend_route.apply(NULL, want, have, d, phase, e);
	return r;
}

#define MAX_RUNS 51
#define MAX_POLICIES 60000
/* The underlay device, made here (a veth: this kernel has no dummy), and
 * this node's ip on it. */
#define UNDERLAY "slbench0"
#define LOCAL_IP "100.64.0.1"
#define LOCAL_POD_CIDR "10.255.0.0/24"
/* 20 bytes for rfc4106(gcm(aes)): a 16-byte AES key and the salt. */
#define BENCH_KEY "0x0123456789abcdef0123456789abcdef01234567"

static const char *prog = "xfrm-reconcile";

/* ---- the state ---- */

/* The remote node i (1..): ip 100.64.(i / 250).(i % 250 + 1), pod CIDR
 * 10.(i / 256).(i % 256).0/24; this node is node-0, LOCAL_IP. */
static char *make_state(unsigned remote, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "version: 1\n"
		   "node: node-0\n"
		   "datapath: {underlayDevice: " UNDERLAY "}\n"
		   "encryption:\n"
		   "  enabled: true\n"
		   "  keys:\n"
		   "    - {spi: 3, aead: rfc4106(gcm(aes)), key: '" BENCH_KEY "'}\n"
		   "nodes:\n"
		   "  - {name: node-0, ip: " LOCAL_IP ", podCIDRs: [" LOCAL_POD_CIDR "], encryptKeys: [3]}\n");
	for (unsigned i = 1; i <= remote; i++)
		fprintf(f, "  - {name: node-%u, ip: 100.64.%u.%u, podCIDRs: [10.%u.%u.0/24], encryptKeys: [3]}\n", i,
			i / 250, i % 250 + 1, i / 256, i % 256);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}

/* The objects of one kind in a sorted set, as a set that borrows its
 * arrays (never freed: the diff and the apply only read it). */
static struct sl_objset kind_view(const struct sl_objset *s, uint8_t kind)
{
	struct sl_objset v = { .bytes = s->bytes, .blen = s->blen, .sorted = true };
	size_t i = 0;

	while (i < s->n && s->v[i].kind < kind)
		i++;
	v.v = s->v + i;
	while (i + v.n < s->n && s->v[i + v.n].kind == kind)
		v.n++;
	v.cap = v.n;
	return v;
}

/* ---- sluice's reconcile ---- */

/* The phases in order, the total, and the sort of the live set (a part of
 * observe, shown apart). */
enum phase { PH_LOAD, PH_KEYS, PH_COMPILE, PH_OBSERVE, PH_DIFF, PH_APPLY, PH_TOTAL, PH_SORT, PH__MAX };
static const char *const phase_name[PH__MAX] = { "load+validate", "keys", "compile", "observe", "diff", "apply",
						 "total", "(live sort)" };

/* What a reconcile of one kind did, besides its times. */
struct outcome {
	size_t changes;			  /* in the diff */
	size_t compiled[SL_OBJ__MAX];	  /* objects compile made, by kind */
};

static int observe_sorted(struct sl_objset *live)
{
	struct sl_kerr e = { "" };
	int r;

	memset(live, 0, sizeof(*live));
	r = encrypt_observe(live, &e);
	if (r < 0) {
		fprintf(stderr, "%s: observing: %s\n", prog, e.msg[0] ? e.msg : strerror(-r));
		objset_free(live);
		return r;
	}
	objset_sort(live);
	return 0;
}

/*
 * The whole reconcile of yaml, restricted to the objects of kind (the
 * xfrm policies, or the routes), added by the phase add: load, validate,
 * keys, compile, observe, diff, apply. t gets the times of the phases.
 * expect_noop: a change in the diff is an error. copy, when given, gets the
 * compiled objects of that kind (after the clock stops).
 */
static int reconcile(const char *yaml, size_t len, uint8_t kind, enum kernel_phase add, bool expect_noop,
		     double t[PH__MAX], struct outcome *out, struct sl_objset *copy)
{
	struct sl_validate_opts vo = { .strict_node = true };
	struct sl_compile_prev prev = { 0 };
	struct sl_compile_result res = { 0 };
	struct sl_keyring keys = { 0 };
	struct sl_objset have = { 0 }, want, live;
	struct sl_diff d = { 0 };
	struct sl_kerr e = { "" };
	struct sl_load ld;
	char why[4400];
	double c[8];
	int r;

	memset(&ld, 0, sizeof(ld));
	c[0] = now_ms();
	r = sl_load_buffer(&ld, "bench.yaml", ".", yaml, len);
	if (r >= 0)
		r = sl_load_finish(&ld);
	if (r >= 0)
		r = sl_validate(&ld, &vo);
	if (r < 0 || ld.diags.n_errors) {
		diag_sort(&ld.diags);
		diag_print_text(&ld.diags, stderr, false);
		fprintf(stderr, "%s: the generated state is invalid%s%s\n", prog, r < 0 ? ": " : "",
			r < 0 ? strerror(-r) : "");
		r = r < 0 ? r : -EINVAL;
		goto out;
	}
	c[1] = now_ms();
	r = sl_keyring_load(&ld, &keys, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "%s: encryption keys: %s\n", prog, why);
		goto out;
	}
	c[2] = now_ms();
	prev.keys = &keys;
	r = sl_compile(&ld.state, &prev, &res);
	sl_keyring_free(&keys);
	if (r < 0) {
		fprintf(stderr, "%s: compiling: %s\n", prog, strerror(-r));
		goto out;
	}
	c[3] = now_ms();
	r = encrypt_observe(&have, &e);
	if (r < 0) {
		fprintf(stderr, "%s: observing: %s\n", prog, e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	c[7] = now_ms();
	objset_sort(&have);
	c[4] = now_ms();
	/* no ESP here: the policies (or the routes) alone, on both sides */
	want = kind_view(&res.set, kind);
	live = kind_view(&have, kind);
	r = sl_diff(&want, &live, &d);
	if (r < 0) {
		fprintf(stderr, "%s: diff: %s\n", prog, strerror(-r));
		goto out;
	}
	c[5] = now_ms();
	if (expect_noop && d.n) {
		fprintf(stderr, "%s: the no-op reconcile found %zu changes (%zu add, %zu change, %zu remove)\n", prog,
			d.n, d.count[SL_OP_ADD], d.count[SL_OP_CHANGE], d.count[SL_OP_REMOVE]);
		r = -EIO;
		goto out;
	}
	r = encrypt_apply(&want, &live, &d, add, &e);
	if (r < 0) {
		fprintf(stderr, "%s: applying: %s\n", prog, e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	c[6] = now_ms();
	for (int p = 0; p < PH_TOTAL; p++)
		t[p] = c[p + 1] - c[p];
	t[PH_TOTAL] = c[6] - c[0];
	t[PH_SORT] = c[4] - c[7];
	out->changes = d.n;
	memset(out->compiled, 0, sizeof(out->compiled));
	for (size_t i = 0; i < res.set.n; i++)
		out->compiled[res.set.v[i].kind]++;
	for (size_t i = 0; copy && r >= 0 && i < want.n; i++) {
		const struct sl_obj *o = &want.v[i];

		r = objset_add(copy, o->kind, obj_key(&want, o), o->klen, obj_val(&want, o), o->vlen);
	}
	if (copy && r >= 0)
		objset_sort(copy);
out:
	sl_diff_free(&d);
	objset_free(&have);
	sl_compile_result_free(&res);
	sl_keyring_free(&keys);
	sl_load_free(&ld);
	return r;
}

/* The reconcile to the empty state, for one kind: observe, diff, remove.
 * Returns the time in ms, or < 0. */
static double reconcile_empty(uint8_t kind, enum kernel_phase remove, size_t *ret_changes)
{
	struct sl_objset have = { 0 }, none = { .sorted = true }, live;
	struct sl_diff d = { 0 };
	struct sl_kerr e = { "" };
	double t0 = now_ms(), t = -1;
	int r;

	r = encrypt_observe(&have, &e);
	if (r >= 0) {
		objset_sort(&have);
		live = kind_view(&have, kind);
		r = sl_diff(&none, &live, &d);
	}
	if (r >= 0)
		r = encrypt_apply(&none, &live, &d, remove, &e);
	if (r >= 0) {
		t = now_ms() - t0;
		*ret_changes = d.n;
	} else {
		fprintf(stderr, "%s: reconciling to the empty state: %s\n", prog, e.msg[0] ? e.msg : strerror(-r));
	}
	sl_diff_free(&d);
	objset_free(&have);
	return t;
}

/* ---- checks ---- */

/* The kernel holds exactly the objects of expect (sorted, one kind) of
 * that kind, and nothing else of sluice's: count and bytes. */
static int check_kernel(const struct sl_objset *expect, uint8_t kind, const char *who)
{
	struct sl_objset live, view;
	size_t other;
	int r = observe_sorted(&live);

	if (r < 0)
		return r;
	view = kind_view(&live, kind);
	other = live.n - view.n;
	if (view.n != expect->n || other) {
		fprintf(stderr, "%s: after %s the kernel holds %zu %s (expected %zu) and %zu other objects of sluice's\n",
			prog, who, view.n, kind == SL_OBJ_ROUTE ? "routes" : "xfrm policies", expect->n, other);
		r = -EIO;
	}
	for (size_t i = 0; r >= 0 && i < view.n; i++) {
		const struct sl_obj *a = &view.v[i], *b = &expect->v[i];

		if (a->kind != b->kind || a->klen != b->klen || a->vlen != b->vlen ||
		    memcmp(obj_key(&view, a), obj_key(expect, b), (size_t)a->klen + a->vlen) != 0) {
			fprintf(stderr, "%s: after %s the kernel's object %zu differs from the compiled one\n", prog,
				who, i);
			r = -EIO;
		}
	}
	objset_free(&live);
	return r;
}

/* ---- children ---- */

/*
 * Run argv (fork, exec, wait), stdout to /dev/null or, with captured, into
 * a pipe drained here (*captured: its bytes). Returns the wall time in ms
 * from before the fork to after the wait, or -1 when it failed.
 */
static double run(char *const argv[], size_t *captured)
{
	int pfd[2] = { -1, -1 }, st;
	double t0;
	pid_t pid;

	if (captured && pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		if (captured) {
			close(pfd[0]);
			close(pfd[1]);
		}
		return -1;
	}
	if (pid == 0) {
		int fd = captured ? pfd[1] : open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (captured) {
		char buf[4096];
		ssize_t n;

		close(pfd[1]);
		*captured = 0;
		while ((n = read(pfd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
			*captured += n > 0 ? (size_t)n : 0;
		close(pfd[0]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s: `", prog);
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
		fprintf(stderr, "` failed (status 0x%x)\n", st);
		return -1;
	}
	return now_ms() - t0;
}

/* `ip -batch` of the lines in the memfd fd. */
static double ip_batch(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	return run((char *const[]){ "ip", "-batch", path, NULL }, NULL);
}

/* ---- iproute2's lines, written from the compiled objects ---- */

static const char *addr(uint8_t family, const uint8_t a[16], char *buf)
{
	return inet_ntop(family, a, buf, INET6_ADDRSTRLEN) ? buf : "?";
}

static int policy_line(FILE *f, const struct sl_xfrm_policy_key *k, const struct sl_xfrm_policy_value *v)
{
	static const char *const dir[SL_XFRM_DIR__MAX] = { "in", "out", "fwd" };
	static const uint8_t zero[16];
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	/* what a line below does not say must be what iproute2 leaves 0 */
	if (k->dir >= SL_XFRM_DIR__MAX || k->proto || k->type || k->sport || k->sport_mask || k->dport ||
	    k->dport_mask || k->ifindex || k->user || k->if_id || v->action || v->flags || v->tmpl_optional ||
	    v->tmpl_proto != IPPROTO_ESP || v->tmpl_mode != XFRM_MODE_TUNNEL || v->tmpl_family != k->family)
		return -EINVAL;
	fprintf(f, "xfrm policy add src %s/%u dst %s/%u dir %s", addr(k->family, k->src, a), k->src_len,
		addr(k->family, k->dst, b), k->dst_len, dir[k->dir]);
	if (k->mark || k->mark_mask)
		fprintf(f, " mark 0x%x mask 0x%x", k->mark, k->mark_mask);
	fprintf(f, " priority %u tmpl", v->priority);
	if (memcmp(v->tmpl_src, zero, 16))
		fprintf(f, " src %s", addr(v->tmpl_family, v->tmpl_src, a));
	fprintf(f, " dst %s proto esp", addr(v->tmpl_family, v->tmpl_dst, b));
	if (v->spi)
		fprintf(f, " spi 0x%x", v->spi);
	fprintf(f, " reqid 0x%x mode tunnel\n", v->reqid);
	return 0;
}

static int route_line(FILE *f, const struct sl_route_key *k, const struct sl_route_value *v)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (k->table != SL_ROUTE_TABLE_MAIN || v->mtu || v->flags || !v->dev[0] ||
	    (v->gw_family && v->gw_family != k->family))
		return -EINVAL;
	fprintf(f, "route add %s/%u", addr(k->family, k->prefix, a), k->prefix_len);
	if (v->gw_family)
		fprintf(f, " via %s", addr(v->gw_family, v->gw, b));
	fprintf(f, " dev %.*s proto %u", SL_ROUTE_DEV_MAX, v->dev, SL_RTPROT);
	if (k->metric)
		fprintf(f, " metric %u", k->metric);
	fputc('\n', f);
	return 0;
}

/* The objects of s as `ip -batch` lines in a memfd: its fd, or -errno. */
static int batch_file(const char *name, const struct sl_objset *s)
{
	int fd = memfd_create(name, 0), r = 0;
	FILE *f;

	if (fd < 0)
		return -errno;
	f = fdopen(dup(fd), "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && i < s->n; i++) {
		const struct sl_obj *o = &s->v[i];

		if (o->kind == SL_OBJ_XFRM_POLICY && o->klen == sizeof(struct sl_xfrm_policy_key) &&
		    o->vlen == sizeof(struct sl_xfrm_policy_value))
			r = policy_line(f, obj_key(s, o), obj_val(s, o));
		else if (o->kind == SL_OBJ_ROUTE && o->klen == sizeof(struct sl_route_key) &&
			 o->vlen == sizeof(struct sl_route_value))
			r = route_line(f, obj_key(s, o), obj_val(s, o));
		else
			r = -EINVAL;
	}
	if (fclose(f) != 0 && r >= 0)
		r = -EIO;
	if (r < 0) {
		fprintf(stderr, "%s: a compiled object iproute2's lines cannot say\n", prog);
		close(fd);
		return r;
	}
	return fd;
}

/* ---- the namespace ---- */

static unsigned long netns_inode(void)
{
	struct stat s;

	return stat("/proc/self/ns/net", &s) == 0 ? (unsigned long)s.st_ino : 0;
}

/* A fresh namespace: another one than before, no device but lo, no xfrm
 * policy or state at all, no route of sluice's. Then the underlay device. */
static int enter_netns(void)
{
	unsigned long before = netns_inode();
	struct if_nameindex *ifs;
	struct sl_objset live;
	size_t pol = 1, sa = 1;
	int n = 0, r;

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "%s: unshare(CLONE_NEWNET): %s (needs root)\n", prog, strerror(errno));
		return -errno;
	}
	if (!before || netns_inode() == before) {
		fprintf(stderr, "%s: the network namespace did not change\n", prog);
		return -EIO;
	}
	ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (struct if_nameindex *i = ifs; i->if_index; i++)
		n += strcmp(i->if_name, "lo") != 0;
	if_freenameindex(ifs);
	if (n) {
		fprintf(stderr, "%s: the new network namespace has %d devices besides lo\n", prog, n);
		return -EIO;
	}
	if (run((char *const[]){ "ip", "xfrm", "policy", "list", NULL }, &pol) < 0 ||
	    run((char *const[]){ "ip", "xfrm", "state", "list", NULL }, &sa) < 0)
		return -EIO;
	r = observe_sorted(&live);
	if (r < 0)
		return r;
	if (pol || sa || live.n) {
		fprintf(stderr, "%s: the new network namespace is not empty (xfrm policies: %zu bytes listed, states: "
				"%zu bytes, sluice's objects: %zu)\n",
			prog, pol, sa, live.n);
		objset_free(&live);
		return -EIO;
	}
	objset_free(&live);
	if (run((char *const[]){ "ip", "link", "add", UNDERLAY, "type", "veth", "peer", "name", UNDERLAY "p", NULL },
		NULL) < 0 ||
	    run((char *const[]){ "ip", "addr", "add", LOCAL_IP "/10", "dev", UNDERLAY, NULL }, NULL) < 0 ||
	    run((char *const[]){ "ip", "link", "set", UNDERLAY "p", "up", NULL }, NULL) < 0 ||
	    run((char *const[]){ "ip", "link", "set", UNDERLAY, "up", NULL }, NULL) < 0)
		return -EIO;
	return 0;
}

/* ---- main ---- */

struct figures {
	double sl_add[PH__MAX][MAX_RUNS];  /* from nothing, by phase */
	double sl_noop[PH__MAX][MAX_RUNS]; /* no-op, by phase */
	double sl_empty[MAX_RUNS];
	double ip_add[MAX_RUNS], ip_list[MAX_RUNS], ip_flush[MAX_RUNS];
	double rt_add[PH__MAX][MAX_RUNS], rt_empty[MAX_RUNS];
	double ip_rt_add[MAX_RUNS], ip_rt_flush[MAX_RUNS];
};

static void loadavg(char *buf, size_t len)
{
	FILE *f = fopen("/proc/loadavg", "r");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--policies N (3..%d, default 10000)] [--runs N (1..%d, default 5)] [--no-routes]\n",
		prog, MAX_POLICIES, MAX_RUNS);
}

/* sluice's policies from nothing, the no-op, and to the empty state. */
static int run_sluice(const char *yaml, size_t len, const struct sl_objset *expect, struct figures *fg, int i)
{
	double t[PH__MAX];
	struct outcome o;
	size_t removed = 0;

	if (reconcile(yaml, len, SL_OBJ_XFRM_POLICY, KERNEL_PHASE_CREATE, false, t, &o, NULL) < 0)
		return -1;
	if (o.changes != expect->n) {
		fprintf(stderr, "%s: from nothing, the diff had %zu changes, not %zu\n", prog, o.changes, expect->n);
		return -1;
	}
	for (int p = 0; p < PH__MAX; p++)
		fg->sl_add[p][i] = t[p];
	if (check_kernel(expect, SL_OBJ_XFRM_POLICY, "sluice's reconcile") < 0)
		return -1;
	if (reconcile(yaml, len, SL_OBJ_XFRM_POLICY, KERNEL_PHASE_CREATE, true, t, &o, NULL) < 0)
		return -1;
	for (int p = 0; p < PH__MAX; p++)
		fg->sl_noop[p][i] = t[p];
	if ((fg->ip_list[i] = run((char *const[]){ "ip", "xfrm", "policy", "list", NULL }, NULL)) < 0)
		return -1;
	if ((fg->sl_empty[i] = reconcile_empty(SL_OBJ_XFRM_POLICY, KERNEL_PHASE_XFRM_REMOVE, &removed)) < 0)
		return -1;
	if (removed != expect->n) {
		fprintf(stderr, "%s: to the empty state, the diff had %zu changes, not %zu\n", prog, removed,
			expect->n);
		return -1;
	}
	return check_kernel(&(struct sl_objset){ .sorted = true }, SL_OBJ_XFRM_POLICY, "removing sluice's policies");
}

static int run_iproute2(int fd, const struct sl_objset *expect, struct figures *fg, int i)
{
	if ((fg->ip_add[i] = ip_batch(fd)) < 0)
		return -1;
	if (check_kernel(expect, SL_OBJ_XFRM_POLICY, "ip -batch") < 0)
		return -1;
	if ((fg->ip_flush[i] = run((char *const[]){ "ip", "xfrm", "policy", "flush", NULL }, NULL)) < 0)
		return -1;
	return check_kernel(&(struct sl_objset){ .sorted = true }, SL_OBJ_XFRM_POLICY, "ip xfrm policy flush");
}

/* The extra: routes, sluice from nothing and to empty, then ip -batch. */
static int run_routes(const char *yaml, size_t len, const struct sl_objset *expect, int fd, struct figures *fg, int i)
{
	double t[PH__MAX];
	struct outcome o;
	size_t removed = 0;

	if (reconcile(yaml, len, SL_OBJ_ROUTE, KERNEL_PHASE_ROUTES_ADD, false, t, &o, NULL) < 0)
		return -1;
	for (int p = 0; p < PH__MAX; p++)
		fg->rt_add[p][i] = t[p];
	if (o.changes != expect->n || check_kernel(expect, SL_OBJ_ROUTE, "sluice's route reconcile") < 0)
		return -1;
	if ((fg->rt_empty[i] = reconcile_empty(SL_OBJ_ROUTE, KERNEL_PHASE_ROUTES_REMOVE, &removed)) < 0 ||
	    removed != expect->n)
		return -1;
	if (check_kernel(&(struct sl_objset){ .sorted = true }, SL_OBJ_ROUTE, "removing sluice's routes") < 0)
		return -1;
	if ((fg->ip_rt_add[i] = ip_batch(fd)) < 0 || check_kernel(expect, SL_OBJ_ROUTE, "ip -batch (routes)") < 0)
		return -1;
	if ((fg->ip_rt_flush[i] = run((char *const[]){ "ip", "route", "flush", "proto", "81", NULL }, NULL)) < 0)
		return -1;
	return check_kernel(&(struct sl_objset){ .sorted = true }, SL_OBJ_ROUTE, "ip route flush");
}

/* A line of the table: target 0 is none. */
static void row(const char *what, double sl, const char *ip_what, double ip, double target)
{
	printf("%-36s %8.1f ms   %-34s %8.1f ms   %5.2fx   ", what, sl, ip_what, ip, sl / ip);
	if (target > 0) {
		char t[32];

		snprintf(t, sizeof(t), "<= %gx", target);
		printf("%-7s %s\n", t, sl / ip <= target ? "met" : "NOT met");
	} else
		printf("(none)\n");
}

static void phase_row(const char *what, double v[PH__MAX][MAX_RUNS], int runs)
{
	printf("\n  %-20s", what);
	for (int p = 0; p < PH__MAX; p++)
		printf(" %13.2f", median(v[p], runs));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policies", required_argument, NULL, 'p' },
		{ "runs", required_argument, NULL, 'r' },
		{ "no-routes", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sl_objset pols = { 0 }, routes = { 0 };
	struct figures *fg = calloc(1, sizeof(*fg));
	char load0[128], load1[128];
	unsigned long policies = 10000;
	unsigned remote;
	int runs = 5, pol_fd = -1, rt_fd = -1, c, rc = 1;
	bool with_routes = true;
	struct outcome o;
	struct utsname u;
	double t[PH__MAX];
	size_t len, removed, others = 0;
	char *yaml = NULL;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'p':
			policies = strtoul(optarg, &end, 10);
			if (*end || policies < 3 || policies > MAX_POLICIES) {
				usage(stderr);
				return 2;
			}
			break;
		case 'r':
			runs = (int)strtol(optarg, &end, 10);
			if (*end || runs < 1 || runs > MAX_RUNS) {
				usage(stderr);
				return 2;
			}
			break;
		case 'R':
			with_routes = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !fg) {
		usage(stderr);
		return 2;
	}
	remote = (unsigned)((policies + 2) / 3);
	loadavg(load0, sizeof(load0));
	if (enter_netns() < 0)
		goto out;
	yaml = make_state(remote, &len);
	if (!yaml) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	/* Once, untimed: what the state compiles to, and iproute2's lines. */
	if (reconcile(yaml, len, SL_OBJ_XFRM_POLICY, KERNEL_PHASE_CREATE, false, t, &o, &pols) < 0 ||
	    reconcile_empty(SL_OBJ_XFRM_POLICY, KERNEL_PHASE_XFRM_REMOVE, &removed) < 0)
		goto out;
	if (with_routes && (reconcile(yaml, len, SL_OBJ_ROUTE, KERNEL_PHASE_ROUTES_ADD, false, t, &o, &routes) < 0 ||
			    reconcile_empty(SL_OBJ_ROUTE, KERNEL_PHASE_ROUTES_REMOVE, &removed) < 0))
		goto out;
	for (int k = 0; k < SL_OBJ__MAX; k++)
		others += k == SL_OBJ_XFRM_STATE || k == SL_OBJ_XFRM_POLICY || k == SL_OBJ_ROUTE ? 0 : o.compiled[k];
	if ((pol_fd = batch_file("xfrm-reconcile-policies", &pols)) < 0 ||
	    (with_routes && (rt_fd = batch_file("xfrm-reconcile-routes", &routes)) < 0))
		goto out;

	uname(&u);
	printf("xfrm-reconcile: %zu xfrm policies (%u remote nodes x 1 pod CIDR: out + in + fwd each), %.0f KB of "
	       "YAML, medians of %d run%s, kernel %s\n",
	       pols.n, remote, (double)len / 1024, runs, runs == 1 ? "" : "s", u.release);
	printf("private network namespace (checked fresh: only lo, no xfrm policy or state); underlay device " UNDERLAY
	       " (a veth pair, up)\n");
	printf("this kernel has no ESP, so no SA can be added: the desired set diffed and applied is the compiled "
	       "xfrm policies alone;\ncompile (timed whole) also made %zu xfrm states, %zu routes and %zu other "
	       "objects, left out before the diff\n",
	       o.compiled[SL_OBJ_XFRM_STATE], o.compiled[SL_OBJ_ROUTE], others);
	fflush(stdout);

	for (int i = 0; i < runs; i++) {
		/* interleaved, the order alternating from run to run */
		if (i % 2 == 0 ? run_sluice(yaml, len, &pols, fg, i) < 0 || run_iproute2(pol_fd, &pols, fg, i) < 0
			       : run_iproute2(pol_fd, &pols, fg, i) < 0 || run_sluice(yaml, len, &pols, fg, i) < 0)
			goto out;
		if (with_routes && run_routes(yaml, len, &routes, rt_fd, fg, i) < 0)
			goto out;
		printf("run %d: from nothing %.1f ms (ip -batch %.1f)  no-op %.1f ms (ip xfrm policy list %.1f)  "
		       "to empty %.1f ms (flush %.1f)",
		       i + 1, fg->sl_add[PH_TOTAL][i], fg->ip_add[i], fg->sl_noop[PH_TOTAL][i], fg->ip_list[i],
		       fg->sl_empty[i], fg->ip_flush[i]);
		if (with_routes)
			printf("  routes %.1f ms (ip -batch %.1f)", fg->rt_add[PH_TOTAL][i], fg->ip_rt_add[i]);
		printf("\n");
		fflush(stdout);
	}
	loadavg(load1, sizeof(load1));

	{
		double add = median(fg->sl_add[PH_TOTAL], runs), ip_add = median(fg->ip_add, runs);
		double noop = median(fg->sl_noop[PH_TOTAL], runs), ip_list = median(fg->ip_list, runs);
		double empty = median(fg->sl_empty, runs), flush = median(fg->ip_flush, runs);

		printf("\n%-36s %11s   %-34s %11s   %6s   target\n", "", "sluice", "iproute2", "", "ratio");
		row("from nothing (whole reconcile)", add, "ip -batch (xfrm policy add lines)", ip_add, 1.0);
		row("no-op (whole reconcile, 0 changes)", noop, "ip xfrm policy list > /dev/null", ip_list, 1.5);
		row("to the empty state (observe..apply)", empty, "ip xfrm policy flush", flush, 0);
		if (with_routes) {
			row("extra: routes from nothing", median(fg->rt_add[PH_TOTAL], runs), "ip -batch (route add lines)",
			    median(fg->ip_rt_add, runs), 0);
			row("extra: routes to the empty state", median(fg->rt_empty, runs), "ip route flush proto 81",
			    median(fg->ip_rt_flush, runs), 0);
		}
		printf("\nsluice's phases, medians in ms (each column its own median; observe includes the sort of the\n"
		       "live set, shown apart; diff includes taking the %s out of both sets):\n",
		       with_routes ? "policies (or routes)" : "policies");
		printf("  %-20s", "");
		for (int p = 0; p < PH__MAX; p++)
			printf(" %13s", phase_name[p]);
		phase_row("from nothing", fg->sl_add, runs);
		phase_row("no-op", fg->sl_noop, runs);
		if (with_routes)
			phase_row("routes from nothing", fg->rt_add, runs);
		printf("\n");
		printf("load average (/proc/loadavg) before: %s; after: %s\n", load0, load1);
	}
	/* nothing left behind: the namespace goes with this process, and
	 * every run removed what it added (checked) */
	rc = 0;
out:
	if (pol_fd >= 0)
		close(pol_fd);
	if (rt_fd >= 0)
		close(rt_fd);
	objset_free(&pols);
	objset_free(&routes);
	free(yaml);
	free(fg);
	return rc;
}

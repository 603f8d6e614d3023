/* SPDX-License-Identifier: Apache-2.0 */
/* What the socket-program tests share (sockenv.h). */
#include "sockenv.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sockenv_sh(const char *cmd)
{
	int r = system(cmd);

	cr_assert_eq(r, 0, "`%s` failed (%d)", cmd, r);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	n = write(fd, s, strlen(s));
	cr_assert_eq(n, (ssize_t)strlen(s), "write %s to %s: %s", s, path, strerror(errno));
	close(fd);
}

void sockenv_enter(const char *dir)
{
	char path[640], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_file(path, pid);
}

/* The cgroup v2 directory this process is in now, as a path. */
static void current(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[512];

	cr_assert_not_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s%s", SOCKENV_CG_ROOT, strcmp(line + 3, "/") ? line + 3 : "");
		}
	fclose(f);
	cr_assert_neq(out[0], '\0', "no cgroup v2 line in /proc/self/cgroup");
}

int sockenv_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

void sockenv_setup(struct sockenv *e, const char *prefix)
{
	struct stat st;

	e->cg_fd = -1;
	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, a cgroup, BPF)");
	if (stat(SOCKENV_CG_ROOT "/cgroup.procs", &st) < 0)
		cr_skip_test("no cgroup v2 hierarchy at " SOCKENV_CG_ROOT);
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	sockenv_sh("ip link set lo up && ip addr add 10.9.0.1/32 dev lo && ip addr add 10.9.0.2/32 dev lo && "
		   "ip addr add fd00:9::1/128 dev lo nodad && ip addr add fd00:9::2/128 dev lo nodad");
	/* named after the runner (our parent), so that main can find what a
	 * test that died left */
	current(e->cg_orig, sizeof(e->cg_orig));
	snprintf(e->cg_path, sizeof(e->cg_path), "%s/%s%d.%d", SOCKENV_CG_ROOT, prefix, (int)getppid(),
		 (int)getpid());
	cr_assert_eq(mkdir(e->cg_path, 0755), 0, "mkdir %s: %s", e->cg_path, strerror(errno));
	e->cg_fd = open(e->cg_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(e->cg_fd, 0);
	sockenv_enter(e->cg_path);
	libbpf_set_print(sockenv_quiet);
}

void sockenv_teardown(struct sockenv *e)
{
	if (e->cg_fd < 0)
		return;
	close(e->cg_fd);
	e->cg_fd = -1;
	sockenv_enter(e->cg_orig);
	cr_assert_eq(rmdir(e->cg_path), 0, "rmdir %s: %s", e->cg_path, strerror(errno));
}

int sockenv_main(int argc, char *argv[], const char *prefix)
{
	struct criterion_test_set *tests = criterion_initialize();
	char mine[64];
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	if (criterion_handle_args(argc, argv, true))
		ret = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	snprintf(mine, sizeof(mine), "%s%d.", prefix, (int)getpid());
	dir = opendir(SOCKENV_CG_ROOT);
	while (dir && (d = readdir(dir)))
		if (!strncmp(d->d_name, mine, strlen(mine))) {
			char path[512];

			snprintf(path, sizeof(path), "%s/%s", SOCKENV_CG_ROOT, d->d_name);
			if (rmdir(path) < 0)
				fprintf(stderr, "left behind: %s: %s\n", path, strerror(errno));
		}
	if (dir)
		closedir(dir);
	if (ret == 0 && geteuid() != 0)
		return 77;
	return ret;
}

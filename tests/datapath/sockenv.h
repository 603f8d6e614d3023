/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the socket-program tests share (test_sock.c, test_socklb.c): each
 * test (a process of its own: criterion forks) in a network namespace of
 * its own with 10.9.0.1, 10.9.0.2, fd00:9::1, fd00:9::2 on lo, and in a
 * cgroup v2 directory of its own under SOCKENV_CG_ROOT, named after the
 * runner so that sockenv_main removes what a test that died left.
 */
#pragma once

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stddef.h>

#define SOCKENV_CG_ROOT "/sys/fs/cgroup/unified"

struct sockenv {
	int cg_fd;		/* the test's cgroup, -1: none */
	char cg_path[320];	/* its path */
	char cg_orig[600];	/* where the process was */
};

/* Run a shell command; a failure fails the test. */
void sockenv_sh(const char *cmd);
/* Skip without root or a cgroup v2 hierarchy; make the namespace and the
 * cgroup (SOCKENV_CG_ROOT/<prefix><runner pid>.<pid>) and move in. */
void sockenv_setup(struct sockenv *e, const char *prefix);
/* Back to where the process was; the cgroup removed. */
void sockenv_teardown(struct sockenv *e);
/* Move this process into the cgroup directory dir. */
void sockenv_enter(const char *dir);
/* libbpf's warnings only. */
int sockenv_quiet(enum libbpf_print_level level, const char *fmt, va_list ap);
/* criterion's main, then the cgroups of this run's tests removed; 77
 * when all were skipped for want of root. */
int sockenv_main(int argc, char *argv[], const char *prefix);

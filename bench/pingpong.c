/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request/response between two processes, the same loop over any stream
 * socket: the client writes SIZE bytes and reads SIZE back, again and
 * again, for SECONDS; the server echoes. Over TCP between two endpoints
 * (accelerated or not) and over an AF_UNIX socketpair (no network stack at
 * all: the floor of a round trip between two processes on this machine),
 * so that bench/sockaccel compares them with one tool. Blocking I/O; an
 * EAGAIN (the kernel's, on sockmap sockets: docs/datapath.md) is retried.
 *
 *   pingpong server ADDR PORT              (serves until killed)
 *   pingpong client ADDR PORT SIZE SECONDS
 *   pingpong unix SIZE SECONDS
 *
 * client and unix print "RATE CPU_US": round trips per second, and the
 * user + system time of both processes per round trip (the server's is
 * known only for unix; for client, the client's alone).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int io_all(int fd, char *buf, size_t n, int wr)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = wr ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);

		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static void echo(int fd, size_t size)
{
	char *buf = malloc(size);

	while (buf && io_all(fd, buf, size, 0) == 0 && io_all(fd, buf, size, 1) == 0)
		;
	free(buf);
}

static long loop(int fd, size_t size, double secs)
{
	char *buf = calloc(1, size);
	double end = now() + secs;
	long n = 0;

	while (buf && now() < end) {
		if (io_all(fd, buf, size, 1) < 0 || io_all(fd, buf, size, 0) < 0) {
			n = -1;
			break;
		}
		n++;
	}
	free(buf);
	return n;
}

static double cpu_us(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int addr_of(const char *a, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, a, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return AF_INET6;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fam;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "server")) {
		int l;

		fam = addr_of(argv[2], atoi(argv[3]), &ss, &len);
		l = fam < 0 ? -1 : socket(fam, SOCK_STREAM, 0);
		if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 16) < 0) {
			perror("pingpong server");
			return 1;
		}
		for (;;) {
			int c = accept(l, NULL, NULL);
			size_t size;

			if (c < 0)
				continue;
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			/* the client says the size first */
			if (io_all(c, (char *)&size, sizeof(size), 0) == 0 && size > 0 && size <= (1u << 20))
				echo(c, size);
			close(c);
		}
	}
	if (argc == 6 && !strcmp(argv[1], "client")) {
		size_t size = (size_t)atol(argv[4]);
		double t0, c0, dt;
		long n;
		int s;

		fam = addr_of(argv[2], atoi(argv[3]), &ss, &len);
		s = fam < 0 ? -1 : socket(fam, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&ss, len) < 0) {
			perror("pingpong client");
			return 1;
		}
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (io_all(s, (char *)&size, sizeof(size), 1) < 0)
			return 1;
		c0 = cpu_us(RUSAGE_SELF);
		t0 = now();
		n = loop(s, size, atof(argv[5]));
		dt = now() - t0;
		if (n <= 0)
			return 1;
		printf("%.0f %.2f\n", (double)n / dt, (cpu_us(RUSAGE_SELF) - c0) / (double)n);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "unix")) {
		size_t size = (size_t)atol(argv[2]);
		int sv[2], st;
		double t0, dt, c0;
		long n;
		pid_t p;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
			perror("pingpong unix");
			return 1;
		}
		p = fork();
		if (p == 0) {
			close(sv[0]);
			echo(sv[1], size);
			_exit(0);
		}
		close(sv[1]);
		c0 = cpu_us(RUSAGE_SELF);
		t0 = now();
		n = loop(sv[0], size, atof(argv[3]));
		dt = now() - t0;
		close(sv[0]);
		waitpid(p, &st, 0);
		if (n <= 0)
			return 1;
		printf("%.0f %.2f\n", (double)n / dt,
		       (cpu_us(RUSAGE_SELF) - c0 + cpu_us(RUSAGE_CHILDREN)) / (double)n);
		return 0;
	}
	fprintf(stderr, "usage: pingpong server ADDR PORT | client ADDR PORT SIZE SECONDS | unix SIZE SECONDS\n");
	return 2;
}

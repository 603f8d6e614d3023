/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a TCP connect() costs, for bench/sockservices: COUNT times a fresh
 * socket, connect() (blocking: the whole handshake) and close(), each timed
 * (the socket's creation is not); close() with SO_LINGER 0 sends a reset,
 * so that no TIME_WAIT socket holds a port and every connection is a new
 * flow. The server accepts and closes, until killed.
 *
 *   connect-time server ADDR PORT
 *   connect-time client ADDR PORT COUNT
 *
 * client prints "CONNECT_US TOTAL_US PEER": the medians of connect() and of
 * connect() + close(), in microseconds, and the peer address getpeername()
 * gave for the first connection (with host-reachable services: the
 * frontend). It fails (exit 1) at the first connect() that fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timing.h"

static int addr_of(const char *a, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, a, &sa->sin_addr) != 1)
		return -1;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

static int serve(const struct sockaddr_in *sa)
{
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(l, 4096) < 0) {
		perror("connect-time server");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

static int client(const struct sockaddr_in *sa, int count)
{
	const struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	double *conn = calloc((size_t)count, sizeof(double)), *total = calloc((size_t)count, sizeof(double));
	char peer[INET_ADDRSTRLEN + 8] = "none";

	if (!conn || !total)
		return 1;
	for (int i = 0; i < count; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		double t0, t1, t2;

		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset)) < 0) {
			perror("connect-time client: socket");
			return 1;
		}
		t0 = now_ms();
		if (connect(s, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
			fprintf(stderr, "connect-time client: connect %d of %d: %s\n", i + 1, count, strerror(errno));
			return 1;
		}
		t1 = now_ms();
		if (i == 0) {
			struct sockaddr_in p;
			socklen_t len = sizeof(p);
			char a[INET_ADDRSTRLEN];

			if (getpeername(s, (struct sockaddr *)&p, &len) == 0 && inet_ntop(AF_INET, &p.sin_addr, a, sizeof(a)))
				snprintf(peer, sizeof(peer), "%s:%u", a, ntohs(p.sin_port));
		}
		close(s);
		t2 = now_ms();
		conn[i] = (t1 - t0) * 1e3;
		total[i] = (t2 - t0) * 1e3;
	}
	printf("%.2f %.2f %s\n", median(conn, count), median(total, count), peer);
	free(conn);
	free(total);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && !strcmp(argv[1], "server") && addr_of(argv[2], atoi(argv[3]), &sa) == 0)
		return serve(&sa);
	if (argc == 5 && !strcmp(argv[1], "client") && addr_of(argv[2], atoi(argv[3]), &sa) == 0 && atoi(argv[4]) > 0)
		return client(&sa, atoi(argv[4]));
	fprintf(stderr, "usage: connect-time server ADDR PORT | client ADDR PORT COUNT\n");
	return 2;
}

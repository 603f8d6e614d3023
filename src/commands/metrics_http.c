/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side of `sluice watch --metrics-address`: GET /metrics, served
 * by libmicrohttpd on a thread of its own (one request at a time), the page
 * made from a copy of watch's counters and a fresh read of the datapath.
 * sluice binds the listening socket itself, so that a bad address or a
 * port in use is an error at start that says why; the HTTP is
 * libmicrohttpd's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/dlib.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "metrics.h"

/* libmicrohttpd, loaded when a server starts (common/dlib.h): it and the
 * libraries it brings are most of what a process loads at its start. */
static struct {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) response_from_buffer;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
} mhd;

static int mhd_load(char *why, size_t why_len)
{
	static const char *const names[] = { "MHD_start_daemon",	"MHD_stop_daemon",
					     "MHD_create_response_from_buffer", "MHD_add_response_header",
					     "MHD_queue_response",	"MHD_destroy_response" };
	void *fns[6];
	int r;

	_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(mhd) / sizeof(void *), "mhd");
	if (mhd.start_daemon)
		return 0;
	r = sl_dlib_load("libmicrohttpd.so.12", names, fns, 6, why, why_len);
	if (r >= 0)
		memcpy(&mhd, fns, sizeof(mhd));
	return r;
}

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server {
	struct MHD_Daemon *d;
	struct metrics *m;
	char *pin_dir;
	struct wlog log;
	bool read_failed; /* the last scrape could not read the datapath (logged once) */
};

/* HOST:PORT: an IPv4 address, or an IPv6 one in brackets, and a port. */
static int parse_address(const char *addr, struct sockaddr_storage *ss, socklen_t *len, char *why, size_t why_len)
{
	const char *colon, *host_end;
	char host[INET6_ADDRSTRLEN + 1], *end;
	bool v6 = addr[0] == '[';
	long port;

	if (v6) {
		host_end = strchr(addr, ']');
		colon = host_end && host_end[1] == ':' ? host_end + 1 : NULL;
		addr++;
	} else {
		colon = strrchr(addr, ':');
		host_end = colon;
		if (colon && memchr(addr, ':', (size_t)(colon - addr))) {
			snprintf(why, why_len, "an IPv6 address goes in brackets, as in [::1]:9962");
			return -EINVAL;
		}
	}
	if (!colon || !host_end) {
		snprintf(why, why_len, "give HOST:PORT, as in 127.0.0.1:9962 or [::1]:9962");
		return -EINVAL;
	}
	if (host_end == addr) {
		snprintf(why, why_len, "no HOST: give the address to listen on, as in 127.0.0.1:9962 (0.0.0.0:9962 "
				       "for every IPv4 address, [::]:9962 for every address)");
		return -EINVAL;
	}
	if ((size_t)(host_end - addr) >= sizeof(host)) {
		snprintf(why, why_len, "HOST is not an IP%s address", v6 ? "v6" : "v4");
		return -EINVAL;
	}
	memcpy(host, addr, (size_t)(host_end - addr));
	host[host_end - addr] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 0 || port > 65535 || colon[1] == '-' || colon[1] == '+') {
		snprintf(why, why_len, "PORT must be a number from 0 to 65535");
		return -EINVAL;
	}
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
			snprintf(why, why_len, "%s is not an IPv6 address", str_esc(host));
			return -EINVAL;
		}
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
			snprintf(why, why_len, "%s is not an IPv4 address (a host name is not taken: give the address)",
				 str_esc(host));
			return -EINVAL;
		}
		*len = sizeof(*s4);
	}
	return 0;
}

/* The listening socket, bound: an fd, or -errno with why said. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t len, char *why, size_t why_len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, r;

	if (fd < 0) {
		r = -errno;
		snprintf(why, why_len, "socket: %s", strerror(-r));
		return r;
	}
	/* a restart binds again at once, past the old connections' TIME_WAIT
	 * (a port another socket listens on is still refused) */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		snprintf(why, why_len, "%s%s", strerror(-r),
			 r == -EADDRINUSE ? " (another process listens on that port)"
			 : r == -EADDRNOTAVAIL ? " (no interface of this network namespace has that address)"
						: "");
		close(fd);
		return r;
	}
	return fd;
}

static void format_bound(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	buf[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *allow, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = mhd.response_from_buffer(len, body, mode);
	enum MHD_Result r;

	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
	if (allow)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	r = mhd.queue_response(conn, status, resp);
	mhd.destroy_response(resp);
	return r;
}

/* The page: watch's counters as copied now, and the datapath as read now. */
static int scrape(struct metrics_server *s, struct strbuf *b)
{
	struct metrics_watch w;
	struct sl_kernel_status st = {};
	struct metrics_datapath dp = { .st = &st };
	char why[512] = "";
	int r;

	metrics_snapshot(s->m, &w);
	r = metrics_read_datapath(s->pin_dir, &st, &dp.lost, why, sizeof(why));
	dp.read = r >= 0;
	if (r < 0 && !s->read_failed) {
		struct wfield f[] = { WF_S("error", why) };

		wlog_event(&s->log, WLOG_WARNING, "metrics", f, ARRAY_SIZE(f),
			   "a scrape could not read the datapath: %s (sluice_datapath_read_success 0)", why);
	}
	s->read_failed = r < 0;
	r = metrics_render(&w, &dp, b);
	sl_kernel_status_free(&st);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int started;
	struct metrics_server *s = cls;
	struct strbuf b = {};

	(void)version;
	(void)upload_data;
	if (!*req_cls) { /* the headers are in: wait for the body, if any */
		*req_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size) { /* a body: nothing here takes one */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!streq(url, "/metrics")) {
		static char msg[] = "404 not found: sluice serves /metrics only\n";

		return reply(conn, MHD_HTTP_NOT_FOUND, NULL, msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
	}
	if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
		static char msg[] = "405 method not allowed: GET /metrics\n";

		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD", msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
	}
	if (scrape(s, &b) < 0 || !b.s) {
		static char msg[] = "500 out of memory\n";

		strbuf_free(&b);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, msg, strlen(msg), MHD_RESPMEM_PERSISTENT);
	}
	return reply(conn, MHD_HTTP_OK, NULL, TAKE_PTR(b.s), b.len, MHD_RESPMEM_MUST_FREE);
}

int metrics_server_start(const char *addr, struct metrics *m, const char *pin_dir, const struct wlog *log,
			 struct metrics_server **ret, char *ret_bound, size_t bound_len, char *why, size_t why_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct metrics_server *s;
	int fd, r;

	const struct sl_map_layout *layouts;
	size_t n_layouts;

	*ret = NULL;
	r = parse_address(addr, &ss, &len, why, why_len);
	if (r < 0)
		return r;
	r = mhd_load(why, why_len);
	if (r < 0)
		return r;
	/* The table of the embedded programs' maps is made once, on first
	 * use, and not under a lock: make it here, before the HTTP thread
	 * exists, so that a scrape during watch's first apply only reads it. */
	r = sl_kernel_layouts(&layouts, &n_layouts);
	if (r < 0) {
		snprintf(why, why_len, "the embedded programs' maps: %s", strerror(-r));
		return r;
	}
	fd = listen_on(&ss, len, why, why_len);
	if (fd < 0)
		return fd;
	format_bound(fd, ret_bound, bound_len);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->pin_dir = strdup(pin_dir))) {
		free(s);
		close(fd);
		snprintf(why, why_len, "out of memory");
		return -ENOMEM;
	}
	s->m = m;
	s->log = *log;
	s->d = mhd.start_daemon(MHD_USE_POLL_INTERNAL_THREAD | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0,
				NULL, NULL, handle, s, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!s->d) {
		r = errno ? -errno : -EIO;
		snprintf(why, why_len, "libmicrohttpd could not start: %s", strerror(-r));
		close(fd);
		free(s->pin_dir);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	mhd.stop_daemon(s->d); /* and the listening socket with it */
	free(s->pin_dir);
	free(s);
}

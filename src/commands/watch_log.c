/* SPDX-License-Identifier: Apache-2.0 */
/* Log lines, the health file and systemd notifications of `sluice watch`. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "common/strbuf.h"
#include "watch_log.h"

static const char *const level_name[WLOG__MAX] = { "debug", "info", "warning", "error" };

void wlog_time(char buf[32], int64_t *ret_unix)
{
	struct timespec t;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &t);
	gmtime_r(&t.tv_sec, &tm);
	strftime(buf, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), 8, ".%03dZ", (int)(t.tv_nsec / 1000000) % 1000);
	if (ret_unix)
		*ret_unix = (int64_t)t.tv_sec;
}

/* The whole buffer, retrying short writes and EINTR; 0 or -errno. */
static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

bool wlog_to_journal(int fd)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(fd, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void wlog_event(const struct wlog *l, enum wlog_level lv, const char *event, const struct wfield *f, size_t n_f,
		const char *fmt, ...)
{
	/* syslog priorities (sd-daemon(3)): debug 7, info 6, warning 4, error 3 */
	static const char *const prio[WLOG__MAX] = { "<7>", "<6>", "<4>", "<3>" };
	struct strbuf msg = {}, line = {};
	char when[32];
	va_list ap;

	if (lv < l->min)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	wlog_time(when, NULL);
	if (l->journal)
		strbuf_adds(&line, prio[lv]);
	if (!l->json) {
		/* One line whatever the message holds (file names, values):
		 * control characters are escaped, a newline never splits it. */
		strbuf_addf(&line, "%s %s %s: ", when, level_name[lv], event);
		strbuf_add_escaped(&line, strbuf_str(&msg));
		strbuf_adds(&line, "\n");
	} else {
		strbuf_addf(&line, "{\"formatVersion\":" SL_JSON_FORMAT_VERSION ",\"time\":\"%s\",\"level\":\"%s\",\"event\":", when, level_name[lv]);
		strbuf_add_json_str(&line, event);
		strbuf_adds(&line, ",\"msg\":");
		strbuf_add_json_str(&line, strbuf_str(&msg));
		for (size_t i = 0; i < n_f; i++) {
			strbuf_adds(&line, ",");
			strbuf_add_json_str(&line, f[i].key);
			strbuf_adds(&line, ":");
			if (f[i].type == WF_STR)
				strbuf_add_json_str(&line, f[i].s ? f[i].s : "");
			else if (f[i].type == WF_INT)
				strbuf_addf(&line, "%lld", f[i].i);
			else
				strbuf_addf(&line, "%.1f", f[i].ms);
		}
		strbuf_adds(&line, "}\n");
	}
	(void)write_all(l->fd, strbuf_str(&line), line.len); /* nowhere to report a log that cannot be written */
	strbuf_free(&msg);
	strbuf_free(&line);
}

void notifier_open(struct notifier *n)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	const char *wd = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	size_t len;

	*n = (struct notifier){ .fd = -1 };
	if (wd && *wd && (!wpid || !*wpid || strtol(wpid, NULL, 10) == (long)getpid()))
		n->watchdog_usec = strtoull(wd, NULL, 10);
	if (!sock || (sock[0] != '/' && sock[0] != '@'))
		return;
	len = strlen(sock);
	if (len >= sizeof(n->path))
		return;
	memcpy(n->path, sock, len);
	if (n->path[0] == '@')
		n->path[0] = '\0'; /* an abstract socket */
	n->path_len = len;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* The variables are ours: children (none today) must not notify. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

void notifier_send(const struct notifier *n, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (n->fd < 0)
		return;
	memcpy(sa.sun_path, n->path, n->path_len);
	(void)sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n->path_len));
}

void notifier_close(struct notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

int health_write(const struct health *h)
{
	struct strbuf b = {};
	char when[32], tmp[4096];
	int64_t unix_s;
	int fd, r = 0;

	if (!h->path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", h->path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	wlog_time(when, &unix_s);
	strbuf_addf(&b, "{\"formatVersion\": " SL_JSON_FORMAT_VERSION ", \"pid\": %ld, \"updated\": \"%s\", \"updatedUnix\": %lld, \"ready\": %s, \"applies\": %lu, ",
		    (long)getpid(), when, (long long)unix_s, h->ready ? "true" : "false", h->applies);
	strbuf_adds(&b, "\"lastResult\": ");
	strbuf_add_json_str(&b, h->last_result ? h->last_result : "none");
	strbuf_adds(&b, ", \"lastMessage\": ");
	strbuf_add_json_str(&b, h->last_message);
	strbuf_adds(&b, "}\n");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
	} else {
		r = write_all(fd, strbuf_str(&b), b.len);
		if (close(fd) < 0 && r >= 0)
			r = -errno;
		if (r >= 0 && rename(tmp, h->path) < 0)
			r = -errno;
		if (r < 0)
			unlink(tmp); /* a short health file is never put in place */
	}
	strbuf_free(&b);
	return r;
}

void health_remove(const struct health *h)
{
	if (h->path)
		unlink(h->path);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What `sluice watch` tells the world: one log line per event on standard
 * error (text or JSON), the health file a liveness probe reads, and
 * systemd's notification socket (READY, STATUS, WATCHDOG, STOPPING).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum wlog_level { WLOG_DEBUG, WLOG_INFO, WLOG_WARNING, WLOG_ERROR, WLOG__MAX };

enum wfield_type { WF_STR, WF_INT, WF_MS };

/* An extra field of a JSON log line (the text line carries the message only). */
struct wfield {
	const char *key;
	enum wfield_type type;
	const char *s;
	long long i;
	double ms;
};

#define WF_S(k, v) ((struct wfield){ .key = (k), .type = WF_STR, .s = (v) })
#define WF_I(k, v) ((struct wfield){ .key = (k), .type = WF_INT, .i = (long long)(v) })
#define WF_D(k, v) ((struct wfield){ .key = (k), .type = WF_MS, .ms = (v) })

struct wlog {
	bool json;
	enum wlog_level min; /* lines below this level are not written */
	int fd;		     /* standard error */
	bool journal;	     /* fd is the journal: each line starts with "<N>" (wlog_to_journal) */
};

/* Whether fd is the stream systemd's journal gave this process
 * ($JOURNAL_STREAM, "DEVICE:INODE", names the very file fd is): then lines
 * carry syslog priority prefixes (sd-daemon(3)), so that `journalctl -p
 * warning` finds the warnings and errors. */
bool wlog_to_journal(int fd);

/* One event: "TIME LEVEL EVENT: MESSAGE", or a JSON object with time,
 * level, event, msg and the fields. Written with one write(2). */
void wlog_event(const struct wlog *l, enum wlog_level lv, const char *event, const struct wfield *f, size_t n_f,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* RFC 3339 UTC with milliseconds, e.g. 2026-11-21T14:47:28.123Z. */
void wlog_time(char buf[32], int64_t *ret_unix);

/* systemd's notification socket ($NOTIFY_SOCKET), when there is one. */
struct notifier {
	int fd; /* -1: no socket */
	char path[108];
	size_t path_len;
	uint64_t watchdog_usec; /* 0: no watchdog asked for */
};

void notifier_open(struct notifier *n);
/* Send "READY=1\nSTATUS=..." and the like; errors are ignored (systemd may
 * be gone), as sd_notify does. */
void notifier_send(const struct notifier *n, const char *msg);
void notifier_close(struct notifier *n);

struct health {
	const char *path; /* NULL: no health file */
	bool ready;
	unsigned long applies;
	const char *last_result; /* applied | unchanged | invalid | failed */
	char last_message[512];
};

/* Replace the health file (a temporary file in the same directory, then
 * rename). Returns 0 or -errno. */
int health_write(const struct health *h);
void health_remove(const struct health *h);

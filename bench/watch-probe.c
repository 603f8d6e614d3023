// SPDX-License-Identifier: Apache-2.0
/*
 * The probe of bench/watch: renames a prepared file into a watched
 * directory and times how long it takes until a map entry holds the
 * expected value.
 *
 * Opens the pinned map MAP_PIN once, then reads one request per line on
 * stdin and answers one line on stdout for each:
 *
 *   check KEYHEX VALHEX MASKHEX
 *       -> "ok", "mismatch VALHEX" or "missing"
 *   rename FROM TO KEYHEX VALHEX MASKHEX
 *       takes CLOCK_MONOTONIC, rename(FROM, TO), then looks KEY up every
 *       ~100 us (sleeping between lookups, never spinning) until
 *       (value & MASK) == (VALHEX & MASK)
 *       -> "LATENCY_US LOOKUPS", or after 5 s "timeout VALHEX|missing"
 *   renamechange FROM TO KEYHEX MASKHEX
 *       reads KEY's value, takes CLOCK_MONOTONIC, rename(FROM, TO), then
 *       looks KEY up as above until (value & MASK) differs from what it
 *       was (for a value the bench cannot know in advance: a service's
 *       members, whose backend ids sluice gives)
 *       -> "LATENCY_US LOOKUPS", or after 5 s "timeout VALHEX|missing"
 *   id
 *       -> "same" if MAP_PIN still names the map opened at start,
 *          else "replaced" (the datapath made a new map: the lookups
 *          above would have watched the old one)
 *
 * The mask lets a request compare only the fields it means (an ipcache
 * value's identity, not its padding). Hex is the bytes in memory order.
 *
 * Usage: watch-probe MAP_PIN
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BYTES 1024
#define TIMEOUT_NS (5LL * 1000 * 1000 * 1000)
#define PAUSE_NS (100 * 1000)

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int unhex(const char *s, uint8_t *out, size_t want)
{
	size_t n = strlen(s);

	if (n != 2 * want)
		return -1;
	for (size_t i = 0; i < want; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return 0;
}

static void puthex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

/* 1: matches, 0: differs (val filled in), -1: no entry. */
static int probe(int fd, const uint8_t *key, const uint8_t *want, const uint8_t *mask, uint8_t *val,
		 size_t vsize)
{
	if (bpf_map_lookup_elem(fd, key, val) < 0)
		return -1;
	for (size_t i = 0; i < vsize; i++)
		if ((val[i] & mask[i]) != (want[i] & mask[i]))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info), map_id;
	char line[8192];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: watch-probe MAP_PIN\n");
		return 2;
	}
	fd = bpf_obj_get(argv[1]);
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0) {
		fprintf(stderr, "watch-probe: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (info.key_size > MAX_BYTES || info.value_size > MAX_BYTES) {
		fprintf(stderr, "watch-probe: %s: key or value larger than %d bytes\n", argv[1], MAX_BYTES);
		return 1;
	}
	map_id = info.id;
	while (fgets(line, sizeof(line), stdin)) {
		char *w[6] = { 0 }, *save = NULL;
		int n = 0;
		uint8_t key[MAX_BYTES], want[MAX_BYTES], mask[MAX_BYTES], val[MAX_BYTES];

		for (char *t = strtok_r(line, " \t\n", &save); t && n < 6; t = strtok_r(NULL, " \t\n", &save))
			w[n++] = t;
		if (n == 0)
			continue;
		if (!strcmp(w[0], "id") && n == 1) {
			struct bpf_map_info now = {};
			uint32_t l = sizeof(now);
			int nfd = bpf_obj_get(argv[1]);

			if (nfd < 0 || bpf_obj_get_info_by_fd(nfd, &now, &l) < 0)
				printf("replaced (%s)\n", strerror(errno));
			else
				printf("%s\n", now.id == map_id ? "same" : "replaced");
			if (nfd >= 0)
				close(nfd);
		} else if (!strcmp(w[0], "check") && n == 4) {
			int r;

			if (unhex(w[1], key, info.key_size) || unhex(w[2], want, info.value_size) ||
			    unhex(w[3], mask, info.value_size)) {
				printf("error: bad hex (key %u, value %u bytes)\n", info.key_size, info.value_size);
			} else if ((r = probe(fd, key, want, mask, val, info.value_size)) == 1) {
				printf("ok\n");
			} else if (r == 0) {
				printf("mismatch ");
				puthex(val, info.value_size);
				printf("\n");
			} else {
				printf("missing\n");
			}
		} else if ((!strcmp(w[0], "rename") && n == 6) || (!strcmp(w[0], "renamechange") && n == 5)) {
			bool change = n == 5;
			const struct timespec pause = { 0, PAUSE_NS };
			long long t0, t;
			unsigned long lookups = 0;
			int r;

			int bad = unhex(w[3], key, info.key_size);

			if (change)
				bad = bad || unhex(w[4], mask, info.value_size);
			else
				bad = bad || unhex(w[4], want, info.value_size) || unhex(w[5], mask, info.value_size);
			if (bad) {
				printf("error: bad hex (key %u, value %u bytes)\n", info.key_size, info.value_size);
				fflush(stdout);
				continue;
			}
			if (change && bpf_map_lookup_elem(fd, key, want) < 0) {
				printf("error: the key is not there before the rename\n");
				fflush(stdout);
				continue;
			}
			t0 = now_ns();
			if (rename(w[1], w[2]) < 0) {
				printf("error: rename %s %s: %s\n", w[1], w[2], strerror(errno));
				fflush(stdout);
				continue;
			}
			for (;;) {
				r = probe(fd, key, want, mask, val, info.value_size);
				t = now_ns();
				lookups++;
				if (change && r >= 0)
					r = !r; /* done when it differs */
				if (r == 1) {
					printf("%.1f %lu\n", (double)(t - t0) / 1e3, lookups);
					break;
				}
				if (t - t0 > TIMEOUT_NS) {
					printf("timeout ");
					if (r == 0)
						puthex(val, info.value_size);
					else
						printf("missing");
					printf("\n");
					break;
				}
				nanosleep(&pause, NULL);
			}
		} else {
			printf("error: unknown request\n");
		}
		fflush(stdout);
	}
	close(fd);
	return 0;
}

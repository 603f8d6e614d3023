/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A monitor's side of the monitor maps (abi.h, "monitor events"): a slot
 * claimed for this process (its ring put into sluice_monitor_rings with
 * BPF_NOEXIST, so two monitors never share one; a slot whose process is
 * gone is taken back), its types written at 1 + slot, and the union of
 * all live slots' types written at 0, the one flag the programs read.
 * Monitors come and go without a lock: each recomputes the union from the
 * slots when it starts, on every tick and when it leaves, so the flag
 * settles within a tick of any change. No apply is involved, and nothing
 * the state owns is touched: these maps are runtime maps.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "common/util.h"
#include "internal.h"

struct sl_monitor {
	struct sl_kernel *k;
	int slots_fd, rings_fd, lost_fd, ep_fd, labels_fd, ipcache_fd;
	int ring_fd;
	struct ring_buffer *rb;
	uint32_t slot, types;
	uint64_t lost_seen;
	sl_monitor_event_fn fn;
	void *arg;
	int ncpu;
};

/* A process's start time (clock ticks since boot, field 22 of its stat):
 * with its pid, it tells the process from a later one with the same pid. */
static uint64_t start_time(uint32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command may hold spaces */
	if (!p)
		return 0;
	/* after ") ": state is field 3; start time is field 22 */
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &t) != 1)
		return 0;
	return t;
}

static bool slot_alive(const struct sl_monitor_slot *s)
{
	return s->pid && start_time(s->pid) == s->start;
}

/* The union of the live slots' types, written when it differs. */
static void settle(struct sl_monitor *m)
{
	struct sl_monitor_slot all = { 0 }, s, cur;
	uint32_t zero = 0;

	for (uint32_t i = 0; i < SL_MONITOR_SLOTS; i++) {
		uint32_t idx = i + 1;

		if (bpf_map_lookup_elem(m->slots_fd, &idx, &s) == 0 && slot_alive(&s))
			all.types |= s.types;
	}
	if (bpf_map_lookup_elem(m->slots_fd, &zero, &cur) < 0 || cur.types != all.types)
		bpf_map_update_elem(m->slots_fd, &zero, &all, BPF_ANY);
}

/* A slot whose process is gone is free again: its ring out, its types 0. */
static void reap(struct sl_monitor *m)
{
	for (uint32_t i = 0; i < SL_MONITOR_SLOTS; i++) {
		uint32_t idx = i + 1;
		struct sl_monitor_slot s, none = { 0 };

		if (bpf_map_lookup_elem(m->slots_fd, &idx, &s) < 0 || slot_alive(&s))
			continue;
		/* (a monitor between its claim and its slot's write loses its
		 * ring here; its next tick puts both back) */
		if (s.pid || s.types)
			bpf_map_update_elem(m->slots_fd, &idx, &none, BPF_ANY);
		bpf_map_delete_elem(m->rings_fd, &i);
	}
}

static uint64_t lost_sum(struct sl_monitor *m, uint32_t idx)
{
	uint64_t v[m->ncpu], sum = 0;

	if (bpf_map_lookup_elem(m->lost_fd, &idx, v) < 0)
		return 0;
	for (int i = 0; i < m->ncpu; i++)
		sum += v[i];
	return sum;
}

static void close_fds(struct sl_monitor *m)
{
	int *fds[] = { &m->slots_fd, &m->rings_fd, &m->lost_fd, &m->ep_fd, &m->labels_fd, &m->ipcache_fd, &m->ring_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct sl_monitor *m = ctx;

	if (size < sizeof(struct sl_event))
		return 0;
	return m->fn(m->arg, data);
}

int sl_monitor_open(struct sl_kernel *k, uint32_t types, sl_monitor_event_fn fn, void *arg, struct sl_monitor **ret,
		    struct sl_kerr *e)
{
	struct sl_monitor *m = calloc(1, sizeof(*m));
	int r = 0;

	if (!m)
		return -ENOMEM;
	m->k = k;
	m->fn = fn;
	m->arg = arg;
	m->types = types;
	m->ring_fd = -1;
	m->ncpu = libbpf_num_possible_cpus();
	m->slots_fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_MONITOR));
	m->rings_fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_MONITOR_RINGS));
	m->lost_fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_MONITOR_LOST));
	m->ep_fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_EP_NAMES));
	m->labels_fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_ID_LABELS));
	m->ipcache_fd = bpf_obj_get(kernel_path(k, SL_MAPNAME_IPCACHE));
	if (m->slots_fd < 0 || m->rings_fd < 0 || m->lost_fd < 0 || m->ncpu <= 0) {
		r = m->slots_fd < 0 && errno == EACCES ? -EACCES : -ENOENT;
		kerr(e, "the datapath's monitor maps are not in %s: %s", kernel_path(k, ""),
		     r == -EACCES ? strerror(EACCES)
				  : "nothing is applied here (or it was applied by an older sluice: apply again)");
		close_fds(m);
		free(m);
		return r;
	}
	reap(m);
	sl_kernel_writes++;
	m->ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "sluice_mon_ring", 0, 0, SL_MONITOR_RING_BYTES, NULL);
	if (m->ring_fd < 0) {
		r = -errno;
		kerr(e, "the monitor's ring buffer: %s", strerror(-r));
		goto fail;
	}
	r = -EBUSY;
	for (uint32_t i = 0; i < SL_MONITOR_SLOTS; i++) {
		if (bpf_map_update_elem(m->rings_fd, &i, &m->ring_fd, BPF_NOEXIST) == 0) {
			m->slot = i;
			r = 0;
			break;
		}
		if (errno != EEXIST) {
			r = -errno;
			break;
		}
	}
	if (r < 0) {
		if (r == -EBUSY)
			kerr(e, "%d monitors are running already: no slot is free", SL_MONITOR_SLOTS);
		else
			kerr(e, "claiming a monitor slot: %s", strerror(-r));
		goto fail;
	}
	/* The twins first (they take the verifier a few hundred ms): a
	 * packet that finds the flag set tail-calls its program's twin, and
	 * one not loaded yet counts as an event lost for every monitor (a
	 * busy node's first second of monitoring said dozens lost). */
	r = sl_kernel_twins_ensure(k, e);
	if (r < 0) {
		bpf_map_delete_elem(m->rings_fd, &m->slot);
		goto fail;
	}
	{
		uint32_t idx = m->slot + 1, me = (uint32_t)getpid();
		struct sl_monitor_slot s = { .types = types, .pid = me, .start = start_time(me) };
		uint64_t zeros[m->ncpu];

		memset(zeros, 0, sizeof(zeros));
		bpf_map_update_elem(m->lost_fd, &m->slot, zeros, BPF_ANY);
		if (bpf_map_update_elem(m->slots_fd, &idx, &s, BPF_ANY) < 0) {
			r = -errno;
			kerr(e, "writing the monitor's slot: %s", strerror(-r));
			bpf_map_delete_elem(m->rings_fd, &m->slot);
			goto fail;
		}
	}
	settle(m);
	/* Now that the flag says a monitor runs, apply loads the twins with
	 * the programs it loads; those an apply loaded since the twins above
	 * (the flag not yet set) have none yet. */
	r = sl_kernel_twins_ensure(k, e);
	if (r < 0) {
		sl_monitor_close(m);
		return r;
	}
	m->rb = ring_buffer__new(m->ring_fd, on_event, m, NULL);
	if (!m->rb) {
		r = -errno;
		kerr(e, "reading the monitor's ring buffer: %s", strerror(-r));
		sl_monitor_close(m);
		return r;
	}
	*ret = m;
	return 0;
fail:
	close_fds(m);
	free(m);
	return r;
}

int sl_monitor_poll(struct sl_monitor *m, int timeout_ms)
{
	/* 0: a drain (the last before exit): whatever the ring holds, read
	 * without waiting for epoll to say so (the kernel wakes readers from
	 * an irq_work, after the event is in the ring) */
	int r = timeout_ms == 0 ? ring_buffer__consume(m->rb) : ring_buffer__poll(m->rb, timeout_ms);

	return r < 0 && r != -EINTR ? r : 0;
}

int sl_monitor_tick(struct sl_monitor *m, uint64_t *ret_lost, struct sl_kerr *e)
{
	uint32_t idx = m->slot + 1;
	struct sl_monitor_slot s;
	uint64_t lost = lost_sum(m, m->slot);

	/* our slot as we wrote it (a monitor that found us dead would have
	 * emptied it): else written again */
	if (bpf_map_lookup_elem(m->slots_fd, &idx, &s) < 0 || s.types != m->types || s.pid != (uint32_t)getpid()) {
		struct sl_monitor_slot mine = { .types = m->types, .pid = (uint32_t)getpid(),
						.start = start_time((uint32_t)getpid()) };

		bpf_map_update_elem(m->slots_fd, &idx, &mine, BPF_ANY);
		bpf_map_update_elem(m->rings_fd, &m->slot, &m->ring_fd, BPF_ANY);
	}
	settle(m);
	*ret_lost = lost - m->lost_seen;
	m->lost_seen = lost;
	/* programs an apply loaded while no monitor ran yet (or just before
	 * one started): their twins, loaded now */
	return sl_kernel_twins_ensure(m->k, e);
}

void sl_monitor_close(struct sl_monitor *m)
{
	uint32_t idx;
	struct sl_monitor_slot none = { 0 };

	if (!m)
		return;
	idx = m->slot + 1;
	ring_buffer__free(m->rb);
	bpf_map_update_elem(m->slots_fd, &idx, &none, BPF_ANY);
	bpf_map_delete_elem(m->rings_fd, &m->slot);
	settle(m);
	close_fds(m);
	free(m);
}

int sl_monitor_ep_name(struct sl_monitor *m, uint32_t ifindex, char *buf, size_t len)
{
	struct sl_ep_name_value v;

	if (m->ep_fd < 0 || bpf_map_lookup_elem(m->ep_fd, &ifindex, &v) < 0)
		return -ENOENT;
	snprintf(buf, len, "%.*s", (int)sizeof(v.name), v.name);
	return 0;
}

int sl_monitor_labels(struct sl_monitor *m, uint32_t id, char *buf, size_t len)
{
	struct sl_id_labels_value v;

	if (m->labels_fd < 0 || bpf_map_lookup_elem(m->labels_fd, &id, &v) < 0)
		return -ENOENT;
	snprintf(buf, len, "%.*s", (int)sizeof(v.text), v.text);
	return 0;
}

/* The identity of the longest ipcache prefix of addr no longer than len
 * bits (0 when none). */
static uint32_t identity_within(struct sl_monitor *m, const uint8_t addr[16], uint8_t family, uint32_t len)
{
	struct sl_ipcache_key k = { .family = family };
	struct sl_ipcache_value v;

	k.prefixlen = SL_IPCACHE_PREFIX_BITS(len);
	memcpy(k.addr, addr, family == SL_FAMILY_IPV4 ? 4 : 16);
	if (bpf_map_lookup_elem(m->ipcache_fd, &k, &v) < 0)
		return 0;
	return v.identity;
}

/*
 * A lookup returns the longest prefix no longer than the key's length:
 * for every length at or above the matching prefix's it is that prefix's
 * identity, below it another prefix's (each CIDR identity has its own
 * prefix) or none. The shortest length that still gives id is the
 * prefix's: a binary search, at most 8 lookups.
 */
int sl_monitor_prefix_of(struct sl_monitor *m, uint32_t id, const uint8_t addr[16], uint8_t family)
{
	uint32_t lo = 0, hi = family == SL_FAMILY_IPV4 ? 32 : 128;

	if (m->ipcache_fd < 0 || (family != SL_FAMILY_IPV4 && family != SL_FAMILY_IPV6) || !id ||
	    identity_within(m, addr, family, hi) != id)
		return -ENOENT;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (identity_within(m, addr, family, mid) == id)
			hi = mid;
		else
			lo = mid + 1;
	}
	return (int)lo;
}

uint32_t sl_monitor_identity_of(struct sl_monitor *m, const uint8_t addr[16], uint8_t family)
{
	struct sl_ipcache_key k = { .family = family };
	struct sl_ipcache_value v;

	if (m->ipcache_fd < 0 || (family != SL_FAMILY_IPV4 && family != SL_FAMILY_IPV6))
		return 0;
	k.prefixlen = 32 + (family == SL_FAMILY_IPV4 ? 32 : 128);
	memcpy(k.addr, addr, family == SL_FAMILY_IPV4 ? 4 : 16);
	if (bpf_map_lookup_elem(m->ipcache_fd, &k, &v) < 0)
		return SL_ID_WORLD;
	return v.identity;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include "harness.h"
#include "datapath/twins.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct sl_event events[8];
static bool have_event[8];
static struct ring_buffer *rb;
static bool attached; /* inject(): programs attached with tc */

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct sl_event *e = data;

	(void)ctx;
	if (size >= sizeof(*e) && e->type < 8) {
		events[e->type] = *e;
		have_event[e->type] = true;
	}
	return 0;
}

/* The key each service id was seeded under, so that seed_slot can find its
 * value (one test's services at a time). */
static struct {
	uint32_t id;
	struct sl_service_key k;
} seeded[16];

/*
 * The VM lane's sample (tests/vm/datapath.sh): with SLUICE_DP_CASES=N and
 * SLUICE_DP_CASES_DIR set, each test runs its first N times only: a
 * parameterized test runs once per case, and under qemu's TCG each run
 * costs a few seconds (the programs are verified again). Enough cases to
 * show the programs load and the helpers behave on that kernel; every case
 * runs on the host kernel in every CI. The runs are counted in a file per
 * test, under the directory (criterion runs tests one process each, one
 * after the other with --jobs=1).
 */
static bool beyond_sample(void)
{
	const char *n = getenv("SLUICE_DP_CASES"), *dir = getenv("SLUICE_DP_CASES_DIR");
	char path[512], buf[16] = { 0 };
	int fd, count = 0;

	if (!n || !dir)
		return false;
	snprintf(path, sizeof(path), "%s/%s.%s", dir, criterion_current_suite->name, criterion_current_test->name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	flock(fd, LOCK_EX);
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		count = atoi(buf);
	count++;
	snprintf(buf, sizeof(buf), "%d", count);
	if (lseek(fd, 0, SEEK_SET) == 0 && write(fd, buf, strlen(buf)) < 0)
		count = 0;
	close(fd);
	return count > atoi(n);
}

void dp_setup(struct dp *dp, const struct dp_cfg *cfg)
{
	struct dp_cfg none = { 0 };
	struct bpf_map *m;

	memset(seeded, 0, sizeof(seeded));

	if (geteuid() != 0)
		cr_skip_test("needs root (BPF_PROG_TEST_RUN)");
	if (beyond_sample())
		cr_skip_test("VM lane: past this test's first %s cases (all run on the host kernel)",
			     getenv("SLUICE_DP_CASES"));
	if (!cfg)
		cfg = &none;
	memset(dp, 0, sizeof(*dp));
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link add dpa type veth peer name dpa-peer && "
			    "ip link add dpb type veth peer name dpb-peer && ip link set lo up"),
		     0);
	if (cfg->before_load)
		cr_assert_eq(system(cfg->before_load), 0, "before load: %s", cfg->before_load);
	dp->if_a = (int)if_nametoindex("dpa");
	dp->if_b = (int)if_nametoindex("dpb");
	cr_assert(dp->if_a > 1 && dp->if_b > 1);
	libbpf_set_print(quiet);

	dp->skel = datapath_bpf__open();
	cr_assert_not_null(dp->skel);
	bpf_object__for_each_map(m, dp->skel->obj) {
		enum bpf_map_type t = bpf_map__type(m);

		if (t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LPM_TRIE)
			bpf_map__set_max_entries(m, 4096);
		else if (t == BPF_MAP_TYPE_LRU_HASH)
			bpf_map__set_max_entries(m, cfg->ct_size ? cfg->ct_size : 4096);
	}
	dp->skel->rodata->cfg_tunnel_ifindex = cfg->tunnel_ifindex;
	if (cfg->tunnel_dev) {
		dp->skel->rodata->cfg_tunnel_ifindex = if_nametoindex(cfg->tunnel_dev);
		cr_assert_gt(dp->skel->rodata->cfg_tunnel_ifindex, 0, "no device %s", cfg->tunnel_dev);
	}
	dp->skel->rodata->cfg_encrypt = cfg->encrypt;
	dp->skel->rodata->cfg_proxy = cfg->proxy;
	/* The twins with events (twins.h) only where the test monitors: the
	 * programs without events are what runs while nobody does, and the
	 * verifier's time for the twins is most of a load under the VM lane. */
	if (!cfg->trace)
		kernel_twins_autoload(dp->skel->obj, NULL);
	cr_assert_eq(datapath_bpf__load(dp->skel), 0, "datapath load failed");
	if (cfg->trace) {
		const char *what = "";

		cr_assert_geq(kernel_twins_fill(dp->skel->obj, &what), 0, "the twins with events: %s", what);
	}

	dp->pf = prefilter_bpf__open();
	cr_assert_not_null(dp->pf);
	bpf_object__for_each_map(m, dp->pf->obj)
		if (bpf_map__type(m) == BPF_MAP_TYPE_LPM_TRIE)
			bpf_map__set_max_entries(m, 65536);
	cr_assert_eq(prefilter_bpf__load(dp->pf), 0, "prefilter load failed");

	memset(have_event, 0, sizeof(have_event));
	attached = false;
	rb = NULL;
	if (cfg->trace) {
		/* a monitor in slot 0 wanting every type, as sluice monitor
		 * registers one */
		struct sl_monitor_slot all = { .types = SL_MON_DROP | SL_MON_VERDICT | SL_MON_TRACE, .pid = 1 };
		uint32_t zero = 0, one = 1;
		int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "dp_ring", 0, 0, SL_MONITOR_RING_BYTES, NULL);

		cr_assert_geq(ring, 0, "ring: %s", strerror(errno));
		cr_assert_eq(bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sluice_monitor_rings), &zero, &ring, BPF_ANY), 0,
			     "the ring into its slot: %s", strerror(errno));
		cr_assert_eq(bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sluice_monitor), &zero, &all, BPF_ANY), 0);
		cr_assert_eq(bpf_map_update_elem(bpf_map__fd(dp->skel->maps.sluice_monitor), &one, &all, BPF_ANY), 0);
		rb = ring_buffer__new(ring, on_event, NULL, NULL);
		cr_assert_not_null(rb);
		close(ring); /* the slot and the ring buffer reader hold it */
	}
}

void dp_teardown(struct dp *dp)
{
	ring_buffer__free(rb);
	rb = NULL;
	prefilter_bpf__destroy(dp->pf);
	datapath_bpf__destroy(dp->skel);
}

/* ---- addresses ---- */

static int addr(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(s, ':')) {
		cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "%s", s);
		return 6;
	}
	cr_assert_eq(inet_pton(AF_INET, s, out), 1, "%s", s);
	return 4;
}

static void update(int fd, const void *k, const void *v)
{
	cr_assert_eq(bpf_map_update_elem(fd, k, v, BPF_ANY), 0, "map update: %s", strerror(errno));
}

void seed_endpoint(struct dp *dp, int ifindex, uint32_t identity, uint16_t id, uint8_t flags)
{
	struct sl_endpoint_key k = { .ifindex = (uint32_t)ifindex };
	struct sl_endpoint_value v = { .identity = identity, .id = id, .flags = flags };

	update(bpf_map__fd(dp->skel->maps.sluice_endpoints), &k, &v);
}

void seed_ipcache(struct dp *dp, const char *prefix, uint32_t identity, const char *tunnel, uint8_t key)
{
	struct sl_ipcache_key k = { 0 };
	struct sl_ipcache_value v = { .identity = identity, .key = key };
	char a[64];
	const char *slash = strchr(prefix, '/');
	int fam, len;

	snprintf(a, sizeof(a), "%.*s", slash ? (int)(slash - prefix) : (int)strlen(prefix), prefix);
	fam = addr(a, k.addr);
	len = slash ? atoi(slash + 1) : (fam == 4 ? 32 : 128);
	k.family = (uint8_t)fam;
	k.prefixlen = SL_IPCACHE_PREFIX_BITS((uint32_t)len);
	if (tunnel) {
		v.tunnel_family = (uint8_t)addr(tunnel, v.tunnel_addr);
		v.flags |= SL_IPCACHE_REMOTE;
	}
	update(bpf_map__fd(dp->skel->maps.sluice_ipcache), &k, &v);
}

void seed_policy(struct dp *dp, uint16_t ep_id, uint8_t dir, uint32_t identity, uint8_t proto, uint16_t dport,
		 bool deny, uint16_t proxy_port)
{
	struct sl_policy_key k = { .ep_id = ep_id, .dir = dir, .proto = proto, .dport = htons(dport),
				   .identity = identity };
	struct sl_policy_value v = { .flags = deny ? SL_POLICY_DENY : 0, .proxy_port = proxy_port };

	update(bpf_map__fd(dp->skel->maps.sluice_policy), &k, &v);
}

static struct sl_service_key *service_key(uint32_t id)
{
	for (size_t i = 0; i < sizeof(seeded) / sizeof(seeded[0]); i++)
		if (seeded[i].id == id)
			return &seeded[i].k;
	cr_assert_fail("service %u was not seeded", id);
	return NULL;
}

/* A service with n_slots slots and, until seed_slot, no member. Seeding it
 * again keeps its members and slots. */
void seed_service(struct dp *dp, const char *ip, uint16_t port, uint8_t proto, uint32_t id, uint16_t n_slots)
{
	struct sl_service_key k = { .port = htons(port), .proto = proto };
	struct sl_service_value v = {};
	int fd = bpf_map__fd(dp->skel->maps.sluice_services);
	size_t i;

	k.family = (uint8_t)addr(ip, k.addr);
	if (bpf_map_lookup_elem(fd, &k, &v) < 0)
		memset(&v, 0, sizeof(v));
	v.id = id;
	v.n_slots = n_slots;
	update(fd, &k, &v);
	for (i = 0; i < sizeof(seeded) / sizeof(seeded[0]) - 1 && seeded[i].id && seeded[i].id != id; i++)
		;
	seeded[i].id = id;
	seeded[i].k = k;
}

/* Slot `slot` of a service names backend_id (made a member if it is not). */
void seed_slot(struct dp *dp, uint32_t service_id, uint32_t slot, uint32_t backend_id)
{
	struct sl_service_key *k = service_key(service_id);
	struct sl_service_value v;
	int fd = bpf_map__fd(dp->skel->maps.sluice_services);
	uint8_t m;

	cr_assert_eq(bpf_map_lookup_elem(fd, k, &v), 0, "service %u: %s", service_id, strerror(errno));
	cr_assert_lt(slot, SL_LB_SLOTS);
	for (m = 0; m < v.n_members && v.member[m].backend_id != backend_id; m++)
		;
	if (m == v.n_members) {
		cr_assert_lt(m, SL_LB_MAX_BACKENDS);
		v.member[m] = (struct sl_lb_member){ .backend_id = backend_id, .weight = 1 };
		v.n_members++;
	}
	v.slot[slot] = m;
	update(fd, k, &v);
}

void seed_backend(struct dp *dp, uint32_t id, const char *ip, uint16_t port, bool terminating)
{
	struct sl_backend_key k = { .id = id };
	struct sl_backend_value v = { .port = htons(port), .flags = terminating ? SL_BACKEND_F_TERMINATING : 0 };

	v.family = (uint8_t)addr(ip, v.addr);
	update(bpf_map__fd(dp->skel->maps.sluice_backends), &k, &v);
}

void delete_backend(struct dp *dp, uint32_t id)
{
	struct sl_backend_key k = { .id = id };

	cr_assert_eq(bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sluice_backends), &k), 0);
}

/* ---- packets ---- */

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Checksum of an L4 segment with its pseudo-header. */
static uint16_t l4_csum(int fam, const uint8_t *src, const uint8_t *dst, uint8_t proto, const uint8_t *l4, uint32_t len)
{
	uint32_t sum = 0;
	uint8_t tail[4] = { 0, 0, 0, proto };

	sum = sum16(src, fam == 4 ? 4 : 16, sum);
	sum = sum16(dst, fam == 4 ? 4 : 16, sum);
	if (fam == 4) {
		sum += proto;
		sum += len;
	} else {
		uint8_t l[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };

		sum = sum16(l, 4, sum);
		sum = sum16(tail, 4, sum);
	}
	return fold(sum16(l4, len, sum));
}

static uint32_t l4_header(uint8_t *l4, const struct flow *f, int fam, const void *payload, uint32_t plen)
{
	uint32_t hl;

	switch (f->proto) {
	case IPPROTO_TCP:
		hl = 20;
		memset(l4, 0, hl);
		l4[0] = (uint8_t)(f->sport >> 8), l4[1] = (uint8_t)f->sport;
		l4[2] = (uint8_t)(f->dport >> 8), l4[3] = (uint8_t)f->dport;
		l4[7] = 1;   /* seq */
		l4[12] = 5 << 4;
		l4[13] = f->tcp_flags ? f->tcp_flags : TCP_ACK;
		l4[14] = 0xff, l4[15] = 0xff;
		break;
	case IPPROTO_UDP:
		hl = 8;
		memset(l4, 0, hl);
		l4[0] = (uint8_t)(f->sport >> 8), l4[1] = (uint8_t)f->sport;
		l4[2] = (uint8_t)(f->dport >> 8), l4[3] = (uint8_t)f->dport;
		l4[4] = (uint8_t)((hl + plen) >> 8), l4[5] = (uint8_t)(hl + plen);
		break;
	case IPPROTO_SCTP:
		hl = 12;
		memset(l4, 0, hl);
		l4[0] = (uint8_t)(f->sport >> 8), l4[1] = (uint8_t)f->sport;
		l4[2] = (uint8_t)(f->dport >> 8), l4[3] = (uint8_t)f->dport;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hl = 8;
		memset(l4, 0, hl);
		/* echo request; sport is the identifier; dport 1 means echo reply */
		l4[0] = f->proto == IPPROTO_ICMP ? (f->dport == 1 ? 0 : 8) : (f->dport == 1 ? 129 : 128);
		l4[4] = (uint8_t)(f->sport >> 8), l4[5] = (uint8_t)f->sport;
		l4[7] = 1;
		break;
	default:
		hl = 0;
	}
	(void)fam;
	memcpy(l4 + hl, payload, plen);
	return hl + plen;
}

static void finish_l4(uint8_t *l4, uint32_t len, int fam, const uint8_t *s, const uint8_t *d, uint8_t proto)
{
	uint16_t c;

	switch (proto) {
	case IPPROTO_TCP:
		c = l4_csum(fam, s, d, proto, l4, len);
		l4[16] = (uint8_t)(c >> 8), l4[17] = (uint8_t)c;
		break;
	case IPPROTO_UDP:
		c = l4_csum(fam, s, d, proto, l4, len);
		if (!c)
			c = 0xffff;
		l4[6] = (uint8_t)(c >> 8), l4[7] = (uint8_t)c;
		break;
	case IPPROTO_ICMP:
		c = fold(sum16(l4, len, 0));
		l4[2] = (uint8_t)(c >> 8), l4[3] = (uint8_t)c;
		break;
	case IPPROTO_ICMPV6:
		c = l4_csum(fam, s, d, proto, l4, len);
		l4[2] = (uint8_t)(c >> 8), l4[3] = (uint8_t)c;
		break;
	}
}

static void build_ip(struct packet *p, int fam, const uint8_t *s, const uint8_t *d, uint8_t proto, const uint8_t *l4,
		     uint32_t l4len)
{
	uint8_t *b = p->b;

	memset(b, 0, MAX_PKT);
	b[0] = 0x02, b[5] = 0x02; /* dst mac */
	b[6] = 0x02, b[11] = 0x01; /* src mac */
	if (fam == 4) {
		uint16_t c;

		b[12] = 0x08, b[13] = 0x00;
		b[14] = 0x45;
		b[16] = (uint8_t)((20 + l4len) >> 8), b[17] = (uint8_t)(20 + l4len);
		b[18] = 0x12, b[19] = 0x34;
		b[22] = 64;
		b[23] = proto;
		memcpy(b + 26, s, 4);
		memcpy(b + 30, d, 4);
		c = fold(sum16(b + 14, 20, 0));
		b[24] = (uint8_t)(c >> 8), b[25] = (uint8_t)c;
		memcpy(b + 34, l4, l4len);
		p->len = 34 + l4len;
	} else {
		b[12] = 0x86, b[13] = 0xdd;
		b[14] = 0x60;
		b[18] = (uint8_t)(l4len >> 8), b[19] = (uint8_t)l4len;
		b[20] = proto;
		b[21] = 64;
		memcpy(b + 22, s, 16);
		memcpy(b + 38, d, 16);
		memcpy(b + 54, l4, l4len);
		p->len = 54 + l4len;
	}
}

void build(struct packet *p, const struct flow *f, const void *payload, uint32_t payload_len)
{
	uint8_t s[16], d[16], l4[MAX_PKT];
	int fam = addr(f->src, s);
	uint32_t len;

	cr_assert_eq(addr(f->dst, d), fam, "one family per flow");
	len = l4_header(l4, f, fam, payload, payload_len);
	finish_l4(l4, len, fam, s, d, f->proto);
	build_ip(p, fam, s, d, f->proto, l4, len);
}

void build_icmp_error(struct packet *p, const char *src, const char *dst, const struct packet *about)
{
	/* destination unreachable, port unreachable */
	if (strchr(src, ':'))
		build_icmp_error_typed(p, src, dst, about, 1, 4, 0);
	else
		build_icmp_error_typed(p, src, dst, about, 3, 3, 0);
}

void build_icmp_error_typed(struct packet *p, const char *src, const char *dst, const struct packet *about,
			    uint8_t type, uint8_t code, uint32_t rest)
{
	uint8_t s[16], d[16], l4[MAX_PKT] = { 0 };
	int fam = addr(src, s);
	uint32_t quoted = about->len - 14;
	uint8_t proto = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	addr(dst, d);
	if (quoted > 200)
		quoted = 200;
	l4[0] = type;
	l4[1] = code;
	l4[4] = (uint8_t)(rest >> 24), l4[5] = (uint8_t)(rest >> 16), l4[6] = (uint8_t)(rest >> 8), l4[7] = (uint8_t)rest;
	memcpy(l4 + 8, about->b + 14, quoted);
	finish_l4(l4, 8 + quoted, fam, s, d, proto);
	build_ip(p, fam, s, d, proto, l4, 8 + quoted);
}

void parse(const struct packet *p, struct parsed *o)
{
	const uint8_t *b = p->b, *l4, *s, *d;
	uint32_t l4len;

	memset(o, 0, sizeof(*o));
	if (b[12] == 0x08) {
		o->family = 4;
		s = b + 26, d = b + 30;
		o->proto = b[23];
		l4 = b + 34;
		l4len = p->len - 34;
		o->l3_csum_ok = fold(sum16(b + 14, 20, 0)) == 0;
		inet_ntop(AF_INET, s, o->src, sizeof(o->src));
		inet_ntop(AF_INET, d, o->dst, sizeof(o->dst));
	} else {
		o->family = 6;
		s = b + 22, d = b + 38;
		o->proto = b[20];
		l4 = b + 54;
		l4len = p->len - 54;
		o->l3_csum_ok = true;
		inet_ntop(AF_INET6, s, o->src, sizeof(o->src));
		inet_ntop(AF_INET6, d, o->dst, sizeof(o->dst));
	}
	o->sport = (uint16_t)(l4[0] << 8 | l4[1]);
	o->dport = (uint16_t)(l4[2] << 8 | l4[3]);
	switch (o->proto) {
	case IPPROTO_TCP:
	case IPPROTO_ICMPV6:
		o->l4_csum_ok = l4_csum(o->family, s, d, o->proto, l4, l4len) == 0;
		break;
	case IPPROTO_UDP:
		o->l4_csum_ok = (l4[6] == 0 && l4[7] == 0 && o->family == 4) ||
				l4_csum(o->family, s, d, o->proto, l4, l4len) == 0;
		break;
	case IPPROTO_ICMP:
		o->l4_csum_ok = fold(sum16(l4, l4len, 0)) == 0;
		break;
	default:
		o->l4_csum_ok = true;
	}
}

/* ---- running ---- */

static int run_mark(int prog_fd, int ifindex, const struct packet *in, struct packet *out, uint32_t mark_in,
		    uint32_t *mark)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex, .mark = mark_in };
	struct packet scratch;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->b, .data_size_in = in->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .ctx_out = &ctx, .ctx_size_out = sizeof(ctx), .repeat = 1);

	if (!out)
		out = &scratch;
	opts.data_out = out->b;
	opts.data_size_out = sizeof(out->b);
	cr_assert_eq(bpf_prog_test_run_opts(prog_fd, &opts), 0, "test run: %s", strerror(errno));
	out->len = opts.data_size_out;
	if (mark)
		*mark = ctx.mark;
	if (rb)
		ring_buffer__consume(rb);
	return (int)opts.retval;
}

static int run(int prog_fd, int ifindex, const struct packet *in, struct packet *out, uint32_t *mark)
{
	return run_mark(prog_fd, ifindex, in, out, 0, mark);
}

int run_to_marked(struct dp *dp, int ifindex, const struct packet *in, uint32_t mark_in, uint32_t *mark)
{
	return run_mark(bpf_program__fd(dp->skel->progs.sluice_to_endpoint), ifindex, in, NULL, mark_in, mark);
}

int run_from_marked(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t mark_in,
		    uint32_t *mark)
{
	return run_mark(bpf_program__fd(dp->skel->progs.sluice_from_endpoint), ifindex, in, out, mark_in, mark);
}

int run_to_marked_out(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t mark_in,
		      uint32_t *mark)
{
	return run_mark(bpf_program__fd(dp->skel->progs.sluice_to_endpoint), ifindex, in, out, mark_in, mark);
}

int run_from_netdev(struct dp *dp, int ifindex, const struct packet *in, uint32_t *mark)
{
	return run(bpf_program__fd(dp->skel->progs.sluice_from_netdev), ifindex, in, NULL, mark);
}

int run_from_overlay(struct dp *dp, int ifindex, const struct packet *in, uint32_t *mark)
{
	return run(bpf_program__fd(dp->skel->progs.sluice_from_overlay), ifindex, in, NULL, mark);
}

int run_from(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t *mark)
{
	return run(bpf_program__fd(dp->skel->progs.sluice_from_endpoint), ifindex, in, out, mark);
}

int run_to(struct dp *dp, int ifindex, const struct packet *in, struct packet *out, uint32_t *mark)
{
	return run(bpf_program__fd(dp->skel->progs.sluice_to_endpoint), ifindex, in, out, mark);
}

int run_xdp(struct dp *dp, const struct packet *in)
{
	uint8_t out[MAX_PKT];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->b, .data_size_in = in->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	cr_assert_eq(bpf_prog_test_run_opts(bpf_program__fd(dp->pf->progs.sluice_prefilter), &opts), 0);
	return (int)opts.retval;
}

static uint64_t percpu_sum(int fd, uint32_t idx)
{
	int n = libbpf_num_possible_cpus();
	struct sl_counter *v = calloc((size_t)n, sizeof(*v));
	uint64_t total = 0;

	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(fd, &idx, v), 0);
	for (int i = 0; i < n; i++)
		total += v[i].packets;
	free(v);
	return total;
}

static uint64_t percpu_bytes(int fd, uint32_t idx)
{
	int n = libbpf_num_possible_cpus();
	struct sl_counter *v = calloc((size_t)n, sizeof(*v));
	uint64_t total = 0;

	cr_assert_not_null(v);
	cr_assert_eq(bpf_map_lookup_elem(fd, &idx, v), 0);
	for (int i = 0; i < n; i++)
		total += v[i].bytes;
	free(v);
	return total;
}

uint64_t drop_bytes(struct dp *dp, int reason)
{
	return percpu_bytes(bpf_map__fd(dp->skel->maps.sluice_drops), (uint32_t)reason) +
	       percpu_bytes(bpf_map__fd(dp->pf->maps.sluice_drops), (uint32_t)reason);
}

uint64_t drops(struct dp *dp, int reason)
{
	return percpu_sum(bpf_map__fd(dp->skel->maps.sluice_drops), (uint32_t)reason) +
	       percpu_sum(bpf_map__fd(dp->pf->maps.sluice_drops), (uint32_t)reason);
}

uint64_t metric_count(struct dp *dp, int m)
{
	return percpu_sum(bpf_map__fd(dp->skel->maps.sluice_metrics), (uint32_t)m);
}

bool last_event(struct dp *dp, int type, struct sl_event *out)
{
	(void)dp;
	if (rb)
		ring_buffer__consume(rb);
	if (type < 0 || type >= 8 || !have_event[type])
		return false;
	*out = events[type];
	return true;
}

/* ---- added for the packet matrix ---- */

int addr_bytes(const char *s, uint8_t out[16])
{
	return addr(s, out);
}

void seed_endpoint_levels(struct dp *dp, int ifindex, uint32_t identity, uint16_t id, uint8_t flags,
			  uint8_t levels_ingress, uint8_t levels_egress)
{
	struct sl_endpoint_key k = { .ifindex = (uint32_t)ifindex };
	struct sl_endpoint_value v = { .identity = identity, .id = id, .flags = flags };

	v.policy_levels[SL_DIR_INGRESS] = levels_ingress;
	v.policy_levels[SL_DIR_EGRESS] = levels_egress;
	update(bpf_map__fd(dp->skel->maps.sluice_endpoints), &k, &v);
}

void delete_policy(struct dp *dp, uint16_t ep_id, uint8_t dir, uint32_t identity, uint8_t proto, uint16_t dport)
{
	struct sl_policy_key k = { .ep_id = ep_id, .dir = dir, .proto = proto, .dport = htons(dport),
				   .identity = identity };

	cr_assert_eq(bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.sluice_policy), &k), 0, "policy delete: %s",
		     strerror(errno));
}

/* Slot `slot` names no member (what a torn table looks like). */
void delete_slot(struct dp *dp, uint32_t service_id, uint32_t slot)
{
	struct sl_service_key *k = service_key(service_id);
	struct sl_service_value v;
	int fd = bpf_map__fd(dp->skel->maps.sluice_services);

	cr_assert_eq(bpf_map_lookup_elem(fd, k, &v), 0, "service %u: %s", service_id, strerror(errno));
	v.slot[slot] = 0xff;
	update(fd, k, &v);
}

void seed_prefilter(struct dp *dp, const char *prefix)
{
	struct {
		uint32_t prefixlen;
		uint8_t addr[16];
	} k = { 0 };
	char a[64];
	const char *slash = strchr(prefix, '/');
	uint8_t one = 1;
	int fam;

	snprintf(a, sizeof(a), "%.*s", slash ? (int)(slash - prefix) : (int)strlen(prefix), prefix);
	fam = addr(a, k.addr);
	k.prefixlen = slash ? (uint32_t)atoi(slash + 1) : (fam == 4 ? 32u : 128u);
	/* The v4 key is 4 + 4 bytes: the same leading bytes of this one. */
	update(bpf_map__fd(fam == 4 ? dp->pf->maps.sluice_prefilter_v4 : dp->pf->maps.sluice_prefilter_v6), &k, &one);
}

static int ct_fd(struct dp *dp, int fam, uint8_t proto)
{
	if (fam == 4)
		return bpf_map__fd(proto == IPPROTO_TCP ? dp->skel->maps.sluice_ct4_tcp : dp->skel->maps.sluice_ct4_any);
	return bpf_map__fd(proto == IPPROTO_TCP ? dp->skel->maps.sluice_ct6_tcp : dp->skel->maps.sluice_ct6_any);
}

bool ct_get(struct dp *dp, const struct flow *f, uint8_t dir, struct sl_ct_value *out)
{
	uint8_t s[16], d[16];
	uint16_t sport = 0, dport = 0;
	int fam = addr(f->src, s);

	addr(f->dst, d);
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
		/* echo: the identifier is a request's source port, a reply's
		 * destination port (flow.dport 1 builds a reply) */
		if (f->dport == 1)
			dport = htons(f->sport);
		else
			sport = htons(f->sport);
	} else if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP || f->proto == IPPROTO_SCTP) {
		sport = htons(f->sport);
		dport = htons(f->dport);
	}
	if (fam == 4) {
		struct sl_ct4_key k = { .sport = sport, .dport = dport, .proto = f->proto, .dir = dir };

		memcpy(k.saddr, s, 4);
		memcpy(k.daddr, d, 4);
		return bpf_map_lookup_elem(ct_fd(dp, fam, f->proto), &k, out) == 0;
	} else {
		struct sl_ct6_key k = { .sport = sport, .dport = dport, .proto = f->proto, .dir = dir };

		memcpy(k.saddr, s, 16);
		memcpy(k.daddr, d, 16);
		return bpf_map_lookup_elem(ct_fd(dp, fam, f->proto), &k, out) == 0;
	}
}

unsigned ct_entries(struct dp *dp, bool tcp)
{
	unsigned n = 0;

	for (int fam = 4; fam <= 6; fam += 2) {
		int fd = ct_fd(dp, fam, tcp ? IPPROTO_TCP : IPPROTO_UDP);
		struct sl_ct6_key k, next; /* room for either key */
		void *prev = NULL;

		while (bpf_map_get_next_key(fd, prev, &next) == 0) {
			n++;
			k = next;
			prev = &k;
		}
	}
	return n;
}

uint64_t jiffies_now(void)
{
	FILE *f = fopen("/proc/timer_list", "r");
	char line[256];
	unsigned long long j = 0;

	cr_assert_not_null(f, "/proc/timer_list: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "jiffies: %llu", &j) == 1)
			break;
	fclose(f);
	cr_assert_neq(j, 0, "no jiffies in /proc/timer_list");
	return j;
}

double ct_remaining_s(struct dp *dp, const struct sl_ct_value *v)
{
	return ((double)(int64_t)(v->expires - jiffies_now())) / (double)dp->skel->rodata->cfg_hz;
}

int try_run_from(struct dp *dp, int ifindex, const struct packet *in, int *verdict)
{
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	uint8_t out[MAX_PKT];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->b, .data_size_in = in->len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(dp->skel->progs.sluice_from_endpoint), &opts) < 0)
		return -errno;
	*verdict = (int)opts.retval;
	return 0;
}

uint64_t drops_total(struct dp *dp)
{
	uint64_t n = 0;

	for (int r = 0; r < SL_DROP__MAX; r++)
		n += drops(dp, r);
	return n;
}


void seed_pair(struct dp *dp, uint8_t flags_a, uint8_t flags_b)
{
	seed_endpoint(dp, dp->if_a, ID_A, EP_A, flags_a);
	seed_endpoint(dp, dp->if_b, ID_B, EP_B, flags_b);
	for (int fam = 4; fam <= 6; fam += 2) {
		seed_ipcache(dp, ip_a(fam), ID_A, NULL, 0);
		seed_ipcache(dp, ip_b(fam), ID_B, NULL, 0);
		seed_ipcache(dp, ip_c(fam), ID_C, NULL, 0);
	}
}

static uint64_t all_counts(struct dp *dp)
{
	uint64_t n = 0;

	for (int r = 0; r < SL_DROP__MAX; r++)
		n += drops(dp, r);
	for (int m = 0; m < SL_METRIC__MAX; m++)
		n += metric_count(dp, m);
	return n;
}


static void attach_tc(struct dp *dp)
{
	static const char *devs[] = { "dpa", "dpa-peer", "dpb", "dpb-peer" };
	LIBBPF_OPTS(bpf_tc_hook, in_a, .ifindex = dp->if_a, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_hook, out_b, .ifindex = dp->if_b, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, from, .prog_fd = bpf_program__fd(dp->skel->progs.sluice_from_endpoint));
	LIBBPF_OPTS(bpf_tc_opts, to, .prog_fd = bpf_program__fd(dp->skel->progs.sluice_to_endpoint));

	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		char path[128];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", devs[i]);
		f = fopen(path, "w");
		if (f) {
			fputs("1", f);
			fclose(f);
		}
	}
	cr_assert_eq(system("ip link set dpa up && ip link set dpa-peer up && ip link set dpb up && "
			    "ip link set dpb-peer up"),
		     0, "devices up");
	cr_assert_eq(bpf_tc_hook_create(&in_a), 0, "clsact on dpa");
	cr_assert_eq(bpf_tc_attach(&in_a, &from), 0, "from-endpoint on dpa ingress");
	cr_assert_eq(bpf_tc_hook_create(&out_b), 0, "clsact on dpb");
	cr_assert_eq(bpf_tc_attach(&out_b, &to), 0, "to-endpoint on dpb egress");
	attached = true;
}

int inject(struct dp *dp, bool from, const struct packet *p)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint64_t before;
	int fd, r = 0;

	if (!attached)
		attach_tc(dp);
	sa.sll_ifindex = (int)if_nametoindex(from ? "dpa-peer" : "dpb");
	sa.sll_protocol = p->len >= 14 ? (uint16_t)(p->b[12] | p->b[13] << 8) : 0;
	memcpy(sa.sll_addr, p->b, 6);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	cr_assert_geq(fd, 0, "packet socket: %s", strerror(errno));
	before = all_counts(dp);
	if (sendto(fd, p->b, p->len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	close(fd);
	for (int i = 0; i < 1000 && all_counts(dp) == before; i++)
		usleep(1000);
	usleep(2000); /* a counter moves before the event is submitted */
	if (rb)
		ring_buffer__consume(rb);
	return r;
}

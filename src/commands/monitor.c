/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice monitor: the datapath's events as they happen (cli.md "monitor"),
 * one line each, text or JSON, until SIGINT or SIGTERM (exit 0). The
 * events come from a ring of this monitor's own (datapath/monitor.c);
 * names and labels from what apply keeps in the kernel (kinds/names.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sluice/abi.h>

#include "cli.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "datapath/kernel.h"
#include "kinds/desc.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * What an event's line needs from elsewhere (device and endpoint names,
 * labels, the ipcache's identity of an address), remembered for a second
 * (names and labels change with an apply): a line costs no system call
 * but its share of the write after each drain of the ring.
 */
#define CACHE_SLOTS 256
struct dev_cache {
	uint32_t ifindex; /* 0: empty */
	char ifname[IF_NAMESIZE];
	char ep[SL_EP_NAME_LEN + 1];
};
struct labels_cache {
	uint32_t id; /* 0: empty */
	char text[SL_LABELS_LEN + 1];
};
struct ident_cache {
	uint8_t family; /* 0: empty */
	uint8_t addr[16];
	uint32_t id;
};

struct mon {
	const struct cli *c;
	struct sl_monitor *m;
	struct dev_cache dev[CACHE_SLOTS];
	struct labels_cache labels[CACHE_SLOTS];
	struct ident_cache ident[CACHE_SLOTS];
	int64_t tai_to_real_ns; /* CLOCK_REALTIME - CLOCK_TAI: whole seconds, the same in every process */
	uint64_t shown, lost;
	struct strbuf line;
};

static int64_t ns_of(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The event's time (CLOCK_TAI): "15:04:05.123456" (local), or RFC 3339 in
 * UTC. */
static void time_text(const struct mon *mo, uint64_t tai_ns, bool json, char *buf, size_t len)
{
	int64_t ns = (int64_t)tai_ns + mo->tai_to_real_ns;
	time_t s = (time_t)(ns / 1000000000);
	long us = (long)(ns % 1000000000) / 1000;
	struct tm tm;
	char b[32];

	if (json) {
		gmtime_r(&s, &tm);
		strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%06ldZ", b, us);
	} else {
		localtime_r(&s, &tm);
		strftime(b, sizeof(b), "%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%06ld", b, us);
	}
}

static const char *addr_text(const uint8_t *a, uint8_t family, char *buf, size_t len)
{
	if (!inet_ntop(family == SL_FAMILY_IPV4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* What the event is: its type word and detail, as status says them. */
static const char *type_word(uint8_t type)
{
	switch (type) {
	case SL_EVENT_DROP:
		return "drop";
	case SL_EVENT_POLICY:
		return "verdict";
	default:
		return "trace";
	}
}

static void what_text(const struct sl_event *e, char *buf, size_t len)
{
	switch (e->type) {
	case SL_EVENT_DROP:
		snprintf(buf, len, "%s", e->reason < SL_DROP__MAX && sl_drop_names[e->reason] ? sl_drop_names[e->reason]
											  : "unknown");
		break;
	case SL_EVENT_POLICY:
		if (e->reason == SL_VERDICT_ALLOW)
			snprintf(buf, len, "allow");
		else if (e->reason == SL_VERDICT_REDIRECT)
			snprintf(buf, len, "redirect to proxy port %u", e->target);
		else if (e->reason == SL_VERDICT_DENY_RULE)
			snprintf(buf, len, "deny (policy-deny)");
		else
			snprintf(buf, len, "deny (policy)");
		break;
	case SL_EVENT_TUNNEL:
		snprintf(buf, len, "to-overlay");
		break;
	case SL_EVENT_FROM_TUNNEL:
		snprintf(buf, len, "from-overlay");
		break;
	case SL_EVENT_PROXY:
		snprintf(buf, len, "to-proxy port %u", e->target);
		break;
	default:
		snprintf(buf, len, "forward");
	}
}

/* The verdict word of a verdict event, for JSON. */
static const char *verdict_word(uint8_t v)
{
	switch (v) {
	case SL_VERDICT_ALLOW:
		return "allow";
	case SL_VERDICT_REDIRECT:
		return "redirect";
	case SL_VERDICT_DENY_RULE:
		return "policy-deny";
	default:
		return "policy";
	}
}

/* An identity's labels: reserved:NAME, cidr:PREFIX (the ipcache's prefix
 * of the address that carries it), or the kept text. */
static void labels_of(struct mon *mo, uint32_t id, const uint8_t *addr, uint8_t family, char *buf, size_t len)
{
	const char *r = sl_reserved_identity_name(id);
	struct labels_cache *c = &mo->labels[id % CACHE_SLOTS];

	if (r) {
		snprintf(buf, len, "reserved:%s", r);
		return;
	}
	if (!id) {
		buf[0] = '\0';
		return;
	}
	if (c->id != id && id >= SL_ID_CIDR_MIN) {
		int plen = family ? sl_monitor_prefix_of(mo->m, id, addr, family) : -ENOENT;
		uint8_t net[16] = { 0 };
		char p[64];

		c->id = id;
		c->text[0] = '\0';
		for (int i = 0; plen >= 0 && i < 16 && i * 8 < plen; i++)
			net[i] = addr[i] & (uint8_t)(plen - i * 8 >= 8 ? 0xff : 0xff << (8 - (plen - i * 8)));
		if (plen >= 0 && desc_prefix_format(family, (uint32_t)plen, net, p, sizeof(p)))
			snprintf(c->text, sizeof(c->text), "cidr:%s", p);
	} else if (c->id != id) {
		c->id = id;
		if (sl_monitor_labels(mo->m, id, c->text, sizeof(c->text)) < 0)
			c->text[0] = '\0';
	}
	snprintf(buf, len, "%s", c->text);
}

/* The device's name and its endpoint's ("" when none). */
static const struct dev_cache *dev_of(struct mon *mo, uint32_t ifindex)
{
	struct dev_cache *c = &mo->dev[ifindex % CACHE_SLOTS];

	if (c->ifindex != ifindex || !ifindex) {
		c->ifindex = ifindex;
		if (!if_indextoname(ifindex, c->ifname))
			snprintf(c->ifname, sizeof(c->ifname), "if%u", ifindex);
		if (sl_monitor_ep_name(mo->m, ifindex, c->ep, sizeof(c->ep)) < 0)
			c->ep[0] = '\0';
	}
	return c;
}

/* The ipcache's identity of an address. */
static uint32_t identity_of(struct mon *mo, const uint8_t *addr, uint8_t family)
{
	uint32_t h = 2166136261u;
	struct ident_cache *c;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	c = &mo->ident[(h ^ family) % CACHE_SLOTS];
	if (c->family != family || memcmp(c->addr, addr, 16)) {
		c->family = family;
		memcpy(c->addr, addr, 16);
		c->id = sl_monitor_identity_of(mo->m, addr, family);
	}
	return c->id;
}

/* A second has passed: names, labels and identities may have changed. */
static void forget(struct mon *mo)
{
	memset(mo->dev, 0, sizeof(mo->dev));
	memset(mo->labels, 0, sizeof(mo->labels));
	memset(mo->ident, 0, sizeof(mo->ident));
}

static void json_labels(struct strbuf *b, const char *text)
{
	strbuf_adds(b, "[");
	for (const char *p = text, *end; p && *p; p = end ? end + 1 : NULL) {
		char one[SL_LABELS_LEN + 1];

		end = strchr(p, ',');
		snprintf(one, sizeof(one), "%.*s", (int)(end ? (size_t)(end - p) : strlen(p)), p);
		if (p != text)
			strbuf_adds(b, ",");
		strbuf_add_json_str(b, one);
	}
	strbuf_adds(b, "]");
}

static void json_end(struct strbuf *b, const char *key, const char *addr, uint16_t port, bool ports, uint32_t id,
		     const char *labels)
{
	strbuf_addf(b, ",\"%s\":{\"address\":", key);
	strbuf_add_json_str(b, addr);
	if (ports)
		strbuf_addf(b, ",\"port\":%u", port);
	strbuf_addf(b, ",\"identity\":%" PRIu32 ",\"labels\":", id);
	json_labels(b, labels);
	strbuf_adds(b, "}");
}

static int on_event(void *arg, const struct sl_event *e)
{
	struct mon *mo = arg;
	const struct cli *c = mo->c;
	char when[64], what[64], src[64], dst[64], pbuf[16];
	const struct dev_cache *dev = dev_of(mo, e->ifindex);
	const char *proto, *ep = dev->ep, *ifname = dev->ifname;
	char sl[SL_LABELS_LEN + 1], dl[SL_LABELS_LEN + 1];
	uint32_t sid = e->src_identity, did = e->dst_identity;
	bool ports = e->proto == 6 || e->proto == 17 || e->proto == 132;
	const char *dir = e->dir == SL_DIR_EGRESS ? "egress" : "ingress";
	struct strbuf *b = &mo->line;

	if (c->n_endpoints) {
		bool match = false;

		for (int i = 0; i < c->n_endpoints && !match; i++)
			match = ep[0] && streq(c->endpoints[i], ep);
		if (!match)
			return 0;
	}
	if (e->family) {
		/* identities the event does not carry: the ipcache's */
		if (!sid)
			sid = identity_of(mo, e->saddr, e->family);
		if (!did)
			did = identity_of(mo, e->daddr, e->family);
		addr_text(e->saddr, e->family, src, sizeof(src));
		addr_text(e->daddr, e->family, dst, sizeof(dst));
	} else {
		snprintf(src, sizeof(src), "?");
		snprintf(dst, sizeof(dst), "?");
	}
	labels_of(mo, sid, e->saddr, e->family, sl, sizeof(sl));
	labels_of(mo, did, e->daddr, e->family, dl, sizeof(dl));
	what_text(e, what, sizeof(what));
	proto = e->family ? desc_proto_name(e->proto, pbuf, sizeof(pbuf)) : "not-ip";
	b->len = 0; /* one line at a time */
	if (b->s)
		b->s[0] = '\0';
	if (c->output == CLI_OUTPUT_JSON) {
		time_text(mo, e->time_ns, true, when, sizeof(when));
		strbuf_adds(b, "{\"formatVersion\":" SL_JSON_FORMAT_VERSION ",\"time\":");
		strbuf_add_json_str(b, when);
		strbuf_addf(b, ",\"type\":\"%s\"", type_word(e->type));
		if (e->type == SL_EVENT_DROP)
			strbuf_addf(b, ",\"reason\":\"%s\"", what);
		else if (e->type == SL_EVENT_POLICY)
			strbuf_addf(b, ",\"verdict\":\"%s\"", verdict_word(e->reason));
		else
			strbuf_addf(b, ",\"trace\":\"%s\"", e->type == SL_EVENT_TUNNEL	     ? "to-overlay"
							     : e->type == SL_EVENT_FROM_TUNNEL ? "from-overlay"
							     : e->type == SL_EVENT_PROXY	     ? "to-proxy"
											     : "forward");
		if (e->type == SL_EVENT_PROXY || (e->type == SL_EVENT_POLICY && e->reason == SL_VERDICT_REDIRECT))
			strbuf_addf(b, ",\"proxyPort\":%u", e->target);
		strbuf_adds(b, ",\"endpoint\":");
		if (ep[0])
			strbuf_add_json_str(b, ep);
		else
			strbuf_adds(b, "null");
		strbuf_adds(b, ",\"interface\":");
		strbuf_add_json_str(b, ifname);
		strbuf_addf(b, ",\"direction\":\"%s\",\"protocol\":", dir);
		strbuf_add_json_str(b, proto);
		if (e->family) {
			json_end(b, "source", src, ntohs(e->sport), ports, sid, sl);
			json_end(b, "destination", dst, ntohs(e->dport), ports, did, dl);
		} else {
			strbuf_adds(b, ",\"source\":null,\"destination\":null"); /* not IP (ARP...) */
		}
		strbuf_addf(b, ",\"length\":%u}\n", e->len);
	} else {
		time_text(mo, e->time_ns, false, when, sizeof(when));
		strbuf_addf(b, "%s %s %s %s %s", when, type_word(e->type), what, dir, ep[0] ? ep : "-");
		strbuf_addf(b, " (%s): ", ifname);
		if (!e->family)
			strbuf_adds(b, "not IP (ARP or another protocol)\n");
		else if (ports)
			strbuf_addf(b, e->family == SL_FAMILY_IPV6 ? "[%s]:%u -> [%s]:%u" : "%s:%u -> %s:%u", src,
				    ntohs(e->sport), dst, ntohs(e->dport));
		else
			strbuf_addf(b, "%s -> %s", src, dst);
		if (e->family)
			strbuf_addf(b, " %s, identity %" PRIu32 " (%s) -> %" PRIu32 " (%s)\n", proto, sid, sl, did, dl);
	}
	fwrite(b->s, 1, b->len, stdout); /* flushed when the ring is drained */
	mo->shown++;
	return 0;
}

static void report_lost(struct mon *mo, uint64_t n)
{
	char when[64];

	mo->lost += n;
	if (mo->c->output == CLI_OUTPUT_JSON) {
		time_text(mo, (uint64_t)ns_of(CLOCK_TAI), true, when, sizeof(when));
		printf("{\"formatVersion\":" SL_JSON_FORMAT_VERSION ",\"time\":\"%s\",\"type\":\"lost\",\"count\":%" PRIu64 "}\n", when, n);
	} else {
		time_text(mo, (uint64_t)ns_of(CLOCK_TAI), false, when, sizeof(when));
		printf("%s lost %" PRIu64 " events: this monitor did not keep up and its ring was full\n", when, n);
	}
	fflush(stdout);
}

int cmd_monitor(const struct cli *c)
{
	struct mon *mop = calloc(1, sizeof(*mop));
	struct sl_kernel *k = NULL;
	struct sl_kerr e = { "" };
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t next_tick;
	bool tick_warned = false;
	uint32_t types = c->monitor_types ? c->monitor_types : SL_MON_DROP;
	int r;

	if (c->n_args) {
		fprintf(stderr, "sluice monitor: takes no PATH\n");
		free(mop);
		return 1;
	}
	if (!mop) {
		fprintf(stderr, "sluice monitor: out of memory\n");
		return 1;
	}
	mop->c = c;
	/* a pipe or a file: written once per drain of the ring */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	sl_kernel_set_verbosity(c->verbose);
	r = sl_kernel_open(cli_pin_dir(c), false, &k, &e);
	if (r >= 0)
		r = sl_monitor_open(k, types, on_event, mop, &mop->m, &e);
	if (r < 0) {
		cli_kernel_error(stderr, "monitor", r, &e);
		sl_kernel_close(k);
		free(mop);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* the kernel's TAI offset is whole seconds: rounded, every monitor
	 * says the same time for the same event */
	{
		int64_t d = ns_of(CLOCK_REALTIME) - ns_of(CLOCK_TAI);

		mop->tai_to_real_ns = (d >= 0 ? d + 500000000 : d - 500000000) / 1000000000 * 1000000000;
	}
	if (!c->quiet)
		fprintf(stderr, "sluice monitor: %s%s%s%s%s events%s; Ctrl-C to stop\n", types & SL_MON_DROP ? "drop" : "",
			(types & SL_MON_DROP) && (types & ~SL_MON_DROP) ? ", " : "", types & SL_MON_VERDICT ? "verdict" : "",
			(types & SL_MON_VERDICT) && (types & SL_MON_TRACE) ? ", " : "", types & SL_MON_TRACE ? "trace" : "",
			c->n_endpoints ? " of the endpoints named" : "");
	next_tick = ns_of(CLOCK_MONOTONIC) + 1000000000;
	while (!stop) {
		r = sl_monitor_poll(mop->m, 200);
		fflush(stdout);
		if (r < 0) {
			fprintf(stderr, "sluice monitor: reading events: %s\n", strerror(-r));
			break;
		}
		if (ns_of(CLOCK_MONOTONIC) >= next_tick) {
			uint64_t lost = 0;

			struct sl_kerr te = { "" };

			if (sl_monitor_tick(mop->m, &lost, &te) < 0 && !tick_warned) {
				fprintf(stderr, "sluice monitor: %s (events of those programs are counted as lost)\n",
					str_esc(te.msg));
				tick_warned = true;
			}
			if (lost)
				report_lost(mop, lost);
			forget(mop);
			next_tick += 1000000000;
		}
	}
	/* what is in the ring when told to stop, and the last count */
	if (r >= 0) {
		uint64_t lost = 0;

		struct sl_kerr ignored = { "" };

		sl_monitor_poll(mop->m, 0);
		fflush(stdout);
		sl_monitor_tick(mop->m, &lost, &ignored);
		if (lost)
			report_lost(mop, lost);
	}
	sl_monitor_close(mop->m);
	sl_kernel_close(k);
	strbuf_free(&mop->line);
	if (!c->quiet)
		fprintf(stderr, "sluice monitor: %" PRIu64 " events shown, %" PRIu64 " lost\n", mop->shown, mop->lost);
	free(mop);
	return r < 0 ? 1 : 0;
}

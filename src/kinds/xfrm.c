/* SPDX-License-Identifier: Apache-2.0 */
/* The xfrm kinds (kinds/xfrm.h): their one formatter each, for errors and
 * plan lines, and their rows of the kind table. */
#include "kinds/xfrm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "kinds/desc.h"
#include "reconcile/keys.h"

static const char *addr_str(uint8_t family, const uint8_t a[16], char *buf, size_t len)
{
	if (family != AF_INET && family != AF_INET6)
		return "?";
	if (!inet_ntop(family, a, buf, len))
		return "?";
	return buf;
}

static bool addr_is_zero(const uint8_t a[16])
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static const char *const dir_name[SL_XFRM_DIR__MAX] = { "in", "out", "fwd" };

/* "state out 192.168.50.1 -> 192.168.50.2 spi 0x4 mark 0x4e00/0xff00":
 * "out" when local is the source, "in" when it is the destination; with
 * no local and by_source (plans, whose SAs are all sluice's), an SA with
 * a source is this node's outbound one and one with none inbound (the
 * kernel finds it by destination and SPI). */
static int state_format(const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v, const uint8_t *local,
			bool by_source, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], mark[48] = "";
	const char *dir = "";
	size_t al = addr_len(k->family);

	if (local && v && memcmp(v->saddr, local, al) == 0)
		dir = "out ";
	else if (local && memcmp(k->daddr, local, al) == 0)
		dir = "in ";
	else if (!local && v && by_source)
		dir = addr_is_zero(v->saddr) ? "in " : "out ";
	if (k->mark || k->mark_mask)
		snprintf(mark, sizeof(mark), " mark 0x%x/0x%x", k->mark, k->mark_mask);
	if (!v)
		return snprintf(buf, len, "state %s-> %s spi 0x%x%s", dir, addr_str(k->family, k->daddr, d, sizeof(d)),
				k->spi, mark);
	return snprintf(buf, len, "state %s%s -> %s spi 0x%x%s", dir,
			addr_is_zero(v->saddr) ? "any" : addr_str(k->family, v->saddr, s, sizeof(s)),
			addr_str(k->family, k->daddr, d, sizeof(d)), k->spi, mark);
}

int xfrm_state_name(const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *v, const uint8_t *local,
		    char *buf, size_t len)
{
	char s[160];

	state_format(k, v, local, false, s, sizeof(s));
	return snprintf(buf, len, "xfrm %s", s);
}

/* A selector prefix: "10.1.0.0/24"; "any" for a zero length when any. */
static void prefix_str(uint8_t family, const uint8_t a[16], uint8_t plen, bool any, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	if (any && !plen && (family == AF_INET || family == AF_INET6))
		snprintf(buf, len, "any");
	else
		snprintf(buf, len, "%s/%u", addr_str(family, a, s, sizeof(s)), plen);
}

/* " dport 8472", or with a partial mask " dport 8472/0xff00" (as `ip xfrm`
 * reads them). Returns the length written. */
static size_t port_format(char *buf, size_t len, const char *what, uint16_t port, uint16_t mask)
{
	int w = mask == 0xffff ? snprintf(buf, len, " %s %u", what, port)
			       : snprintf(buf, len, " %s %u/0x%x", what, port, mask);

	return w < 0 ? 0 : (size_t)w;
}

/* "policy out 10.1.0.0/24 -> 10.2.0.0/24 mark 0x3e00/0xff00", then any
 * other selector field that is set. any: "any" for a /0 selector (plans);
 * else the prefix as `ip xfrm` writes it (errors). */
static int policy_format(const struct sl_xfrm_policy_key *k, bool any, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN + 8], d[INET6_ADDRSTRLEN + 8], more[160] = "", pb[8];
	size_t m = 0;

	if (k->mark || k->mark_mask)
		m += (size_t)snprintf(more + m, sizeof(more) - m, " mark 0x%x/0x%x", k->mark, k->mark_mask);
	if (k->proto && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " proto %s",
				      desc_proto_name(k->proto, pb, sizeof(pb)));
	if ((k->sport || k->sport_mask) && m < sizeof(more))
		m += port_format(more + m, sizeof(more) - m, "sport", k->sport, k->sport_mask);
	if ((k->dport || k->dport_mask) && m < sizeof(more))
		m += port_format(more + m, sizeof(more) - m, "dport", k->dport, k->dport_mask);
	if (k->ifindex && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " ifindex %d", k->ifindex);
	if (k->user && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " user %u", k->user);
	if (k->type && m < sizeof(more))
		m += (size_t)snprintf(more + m, sizeof(more) - m, " type sub");
	if (k->if_id && m < sizeof(more))
		snprintf(more + m, sizeof(more) - m, " if_id 0x%x", k->if_id);
	prefix_str(k->family, k->src, k->src_len, any, s, sizeof(s));
	prefix_str(k->family, k->dst, k->dst_len, any, d, sizeof(d));
	return snprintf(buf, len, "policy %s %s -> %s%s", k->dir < SL_XFRM_DIR__MAX ? dir_name[k->dir] : "?", s, d,
			more);
}

int xfrm_policy_name(const struct sl_xfrm_policy_key *k, char *buf, size_t len)
{
	char s[320];

	policy_format(k, false, s, sizeof(s));
	return snprintf(buf, len, "xfrm %s", s);
}

/* ---- plans ---- */

/* An address of an xfrm object; "any" when zero. */
static const char *any_str(uint8_t family, const uint8_t a[16], char *buf, size_t len)
{
	if (addr_is_zero(a) && (family == AF_INET || family == AF_INET6))
		return "any";
	return addr_str(family, a, buf, len);
}

static void sa_fingerprint(const struct sl_xfrm_state_value *v, char out[9])
{
	sl_key_fingerprint(v->enc_key, v->enc_key_len < SL_XFRM_ENC_KEY_MAX ? v->enc_key_len : SL_XFRM_ENC_KEY_MAX,
			   v->auth_key,
			   v->auth_key_len < SL_XFRM_AUTH_KEY_MAX ? v->auth_key_len : SL_XFRM_AUTH_KEY_MAX, out);
}

static void sa_algorithms(const struct sl_xfrm_state_value *v, char *buf, size_t len)
{
	char enc[SL_XFRM_ALG_NAME_MAX + 1], auth[SL_XFRM_ALG_NAME_MAX + 1];

	desc_name_copy(enc, sizeof(enc), v->enc_name, sizeof(v->enc_name));
	desc_name_copy(auth, sizeof(auth), v->auth_name, sizeof(v->auth_name));
	if (auth[0])
		snprintf(buf, len, "%s %s", enc, auth);
	else
		snprintf(buf, len, "%s", enc);
}

static void state_changes(const struct sl_xfrm_state_key *k, const struct sl_xfrm_state_value *b,
			  const struct sl_xfrm_state_value *a, const char *fb, const char *fa, struct sl_desc *d)
{
	char ab[2 * SL_XFRM_ALG_NAME_MAX + 2], aa[sizeof(ab)], sb[INET6_ADDRSTRLEN], sa[INET6_ADDRSTRLEN];
	bool first = true;

	desc_put(d, &d->line, ": ");
	sa_algorithms(b, ab, sizeof(ab));
	sa_algorithms(a, aa, sizeof(aa));
	if (strcmp(ab, aa)) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "algorithms %s -> %s", ab, aa);
	}
	if (strcmp(fb, fa) || b->enc_key_len != a->enc_key_len || b->auth_key_len != a->auth_key_len ||
	    memcmp(b->enc_key, a->enc_key, sizeof(a->enc_key)) || memcmp(b->auth_key, a->auth_key, sizeof(a->auth_key))) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "key <redacted> (fingerprint %s -> %s)", fb, fa);
	}
	if (memcmp(b->saddr, a->saddr, 16)) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "source %s -> %s", any_str(k->family, b->saddr, sb, sizeof(sb)),
			 any_str(k->family, a->saddr, sa, sizeof(sa)));
	}
	if (b->reqid != a->reqid) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "reqid 0x%x -> 0x%x", b->reqid, a->reqid);
	}
	if (b->icv_bits != a->icv_bits) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "icv %u -> %u bits", b->icv_bits, a->icv_bits);
	}
	if (b->replay_window != a->replay_window) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "replay window %u -> %u", b->replay_window, a->replay_window);
	}
	if (first)
		desc_put(d, &d->line, "settings differ");
	else
		desc_put(d, &d->line, " (replaced: removed and added in one message)");
}

static void describe_state(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_xfrm_state_key *k = v->key;
	const struct sl_xfrm_state_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER], *e = a ? a : b;
	char name[160], alg[2 * SL_XFRM_ALG_NAME_MAX + 2], fb[9], fa[9];

	(void)c;
	state_format(k, e, NULL, true, name, sizeof(name));
	desc_put(d, &d->line, "%s", name);
	if (b)
		sa_fingerprint(b, fb);
	if (a)
		sa_fingerprint(a, fa);
	if (!a || !b) {
		sa_algorithms(e, alg, sizeof(alg));
		desc_put(d, &d->line, " %s key <redacted> (fingerprint %s) reqid 0x%x", alg, a ? fa : fb, e->reqid);
	} else {
		state_changes(k, b, a, fb, fa, d);
	}
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_xfrm_state_value *x = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char xs[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		if (!x)
			continue;
		sa_algorithms(x, alg, sizeof(alg));
		desc_json_s(d, sb, "direction", addr_is_zero(x->saddr) ? "in" : "out");
		desc_json_s(d, sb, "src", any_str(k->family, x->saddr, xs, sizeof(xs)));
		desc_json_s(d, sb, "dst", addr_str(k->family, k->daddr, dst, sizeof(dst)));
		desc_json_u(d, sb, "spi", k->spi);
		desc_json_u(d, sb, "reqid", x->reqid);
		desc_json_s(d, sb, "algorithms", alg);
		desc_json_u(d, sb, "icvBits", x->icv_bits);
		desc_json_u(d, sb, "replayWindow", x->replay_window);
		desc_json_s(d, sb, "key", "<redacted>");
		desc_json_s(d, sb, "keyFingerprint", s == SL_BEFORE ? fb : fa);
	}
}

static void policy_changes(const struct sl_xfrm_policy_value *b, const struct sl_xfrm_policy_value *a,
			   const char *ts, const char *td, struct sl_desc *d)
{
	char bs[INET6_ADDRSTRLEN], bd[INET6_ADDRSTRLEN];
	bool first = true;

	const char *s = any_str(b->tmpl_family, b->tmpl_src, bs, sizeof(bs)),
		   *t = any_str(b->tmpl_family, b->tmpl_dst, bd, sizeof(bd));

	desc_put(d, &d->line, ": ");
	if (strcmp(s, ts) || strcmp(t, td)) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "tmpl %s -> %s to %s -> %s", s, t, ts, td);
	}
	if (b->spi != a->spi) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "spi 0x%x -> 0x%x", b->spi, a->spi);
	}
	if (b->reqid != a->reqid) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "reqid 0x%x -> 0x%x", b->reqid, a->reqid);
	}
	if (b->priority != a->priority) {
		desc_sep(d, &first);
		desc_put(d, &d->line, "priority %u -> %u", b->priority, a->priority);
	}
	if (first)
		desc_put(d, &d->line, "settings differ");
}

static void describe_policy(const struct sl_desc_ctx *c, const struct sl_view *v, struct sl_desc *d)
{
	const struct sl_xfrm_policy_key *k = v->key;
	const struct sl_xfrm_policy_value *b = v->val[SL_BEFORE], *a = v->val[SL_AFTER], *e = a ? a : b;
	char name[320], src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], ts[INET6_ADDRSTRLEN],
		td[INET6_ADDRSTRLEN];
	const char *tsrc = any_str(e->tmpl_family, e->tmpl_src, ts, sizeof(ts)),
		   *tdst = any_str(e->tmpl_family, e->tmpl_dst, td, sizeof(td));

	(void)c;
	policy_format(k, true, name, sizeof(name));
	desc_put(d, &d->line, "%s", name);
	if (!a || !b) {
		desc_put(d, &d->line, " tmpl %s -> %s", tsrc, tdst);
		if (e->spi)
			desc_put(d, &d->line, " spi 0x%x", e->spi);
		else
			desc_put(d, &d->line, " any spi");
		desc_put(d, &d->line, " reqid 0x%x", e->reqid);
	} else {
		policy_changes(b, a, tsrc, tdst, d);
	}
	prefix_str(k->family, k->src, k->src_len, true, src, sizeof(src));
	prefix_str(k->family, k->dst, k->dst_len, true, dst, sizeof(dst));
	for (int s = SL_BEFORE; d->fields && s <= SL_AFTER; s++) {
		const struct sl_xfrm_policy_value *x = v->val[s];
		struct strbuf *sb = &d->obj[s];
		char xs[INET6_ADDRSTRLEN], xd[INET6_ADDRSTRLEN];

		if (!x)
			continue;
		desc_json_s(d, sb, "direction", k->dir < SL_XFRM_DIR__MAX ? dir_name[k->dir] : "?");
		desc_json_s(d, sb, "src", src);
		desc_json_s(d, sb, "dst", dst);
		desc_json_u(d, sb, "mark", k->mark);
		desc_json_u(d, sb, "markMask", k->mark_mask);
		desc_json_s(d, sb, "tmplSrc", any_str(x->tmpl_family, x->tmpl_src, xs, sizeof(xs)));
		desc_json_s(d, sb, "tmplDst", any_str(x->tmpl_family, x->tmpl_dst, xd, sizeof(xd)));
		desc_json_u(d, sb, "spi", x->spi);
		desc_json_u(d, sb, "reqid", x->reqid);
		desc_json_u(d, sb, "priority", x->priority);
	}
}

/* In the order apply takes: states added, policies added, policies
 * removed, states removed (a new key's SAs before anything uses them, the
 * old ones after nothing does). */
static void group(const struct sl_desc_ctx *c, const struct sl_view *v, int op, struct sl_plan_group *g)
{
	uint8_t rank = sl_kind(v->kind)->rank;

	(void)c;
	g->section = SL_SEC_XFRM;
	g->rank = op != SL_OP_REMOVE ? rank : (uint8_t)(2 * SL_OBJ__MAX - rank);
}

const struct sl_kind sl_kind_xfrm_state = {
	.name = "xfrm-state",
	.klen = sizeof(struct sl_xfrm_state_key),
	.vlen = sizeof(struct sl_xfrm_state_value),
	.flags = SL_KIND_SECRET,
	.backend = SL_VIA_XFRM,
	.rank = 0, /* before the policies that use them */
	.describe = describe_state,
	.group = group,
};

const struct sl_kind sl_kind_xfrm_policy = {
	.name = "xfrm-policy",
	.klen = sizeof(struct sl_xfrm_policy_key),
	.vlen = sizeof(struct sl_xfrm_policy_value),
	.backend = SL_VIA_XFRM,
	.rank = 1,
	.describe = describe_policy,
	.group = group,
};

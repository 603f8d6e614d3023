/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encryption, without a kernel: what a state compiles to (SAs, xfrm
 * policies, routes), which key each remote node gets, the order a rotation
 * is planned in, key files and hex, and that no key byte reaches a plan.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/abi.h>

#include "common/dlib.h"
#include "helpers.h"
#include "datapath/route.h"
#include "datapath/xfrm.h"
#include "reconcile/compile.h"
#include "reconcile/diff.h"
#include "reconcile/encrypt.h"
#include "reconcile/keys.h"
#include "reconcile/plan.h"

/* Known key bytes: the redaction checks look for them. */
#define KEY3 "0x5e5e5e5e11223344556677889900aabbccddeeff"	  /* 20 bytes: rfc4106 */
#define KEY3_HEX "5e5e5e5e11223344556677889900aabbccddeeff"
#define AUTH4 "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0" /* 32 bytes */
#define ENC4 "c1c2c3c4c5c6c7c8c9cacbcccdcecfd0"			  /* 16 bytes */

#define NODES(a_keys, b_keys, c_keys)                                                          \
	"version: 1\nnode: node-a\n"                                                           \
	"datapath: {underlayDevice: eth0}\n"                                                   \
	"nodes:\n"                                                                             \
	"  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: " a_keys "}\n" \
	"  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24], encryptKeys: " b_keys "}\n" \
	"  - {name: node-c, ip: 192.168.50.3, podCIDRs: [10.3.0.0/24, 10.33.0.0/24], encryptKeys: " c_keys "}\n"
#define K3 "    - {spi: 3, aead: rfc4106(gcm(aes)), key: '" KEY3 "'}\n"
#define K4 "    - {spi: 4, auth: hmac(sha256), authKey: '" AUTH4 "', cipher: cbc(aes), cipherKey: '" ENC4 "'}\n"
#define KEYS(k) "encryption:\n  enabled: true\n  keys:\n" k

struct version {
	struct sl_load ld;
	struct sl_keyring keys;
	struct sl_compile_result res;
};

static void version_compile(struct version *v, const char *yaml)
{
	struct sl_compile_prev prev = { 0 };
	char why[512], *d;

	load_text(&v->ld, yaml, true);
	d = diag_lines(&v->ld);
	cr_assert_eq(v->ld.diags.n_errors, 0, "the test's state is invalid:\n%s", d);
	free(d);
	cr_assert_eq(sl_keyring_load(&v->ld, &v->keys, why, sizeof(why)), 0, "%s", why);
	prev.keys = &v->keys;
	cr_assert_eq(sl_compile(&v->ld.state, &prev, &v->res), 0);
}

static void version_free(struct version *v)
{
	sl_compile_result_free(&v->res);
	sl_keyring_free(&v->keys);
	sl_load_free(&v->ld);
}

static char *plan_of(const struct version *from, const struct version *to, enum sl_plan_format fmt)
{
	struct sl_diff d;
	struct strbuf out = {};

	cr_assert_eq(sl_diff(&to->res.set, &from->res.set, &d), 0);
	cr_assert_eq(sl_plan_render(&to->res.set, &from->res.set, &d, &to->ld.state, fmt, false, &out), 0);
	sl_diff_free(&d);
	return out.s ? out.s : strdup("");
}

/* Only the xfrm and routes groups of a text plan (the ipcache and the
 * programs change too). */
static char *section(const char *plan, const char *group)
{
	char head[32], *out = calloc(1, strlen(plan) + 1);
	const char *p;

	snprintf(head, sizeof(head), "%s\n", group);
	for (p = plan; (p = strstr(p, head)) && p != plan && p[-1] != '\n'; p++)
		;
	if (!p)
		return out;
	p += strlen(head);
	while (*p == ' ') {
		const char *nl = strchr(p, '\n');

		strncat(out, p, (size_t)(nl - p + 1));
		p = nl + 1;
	}
	return out;
}

static const struct sl_xfrm_state_value *sa(const struct sl_objset *s, const char *daddr, uint32_t spi)
{
	struct sl_xfrm_state_key k = { .spi = spi, .proto = 50, .family = 2 };

	inet_pton(AF_INET, daddr, k.daddr);
	const struct sl_obj *o = objset_find(s, SL_OBJ_XFRM_STATE, &k, sizeof(k));
	return o ? obj_val(s, o) : NULL;
}

/* Whether any byte sequence of key (4 bytes or more of it) is in text, raw
 * or in hex of either case. */
static bool leaks(const char *text, const char *key_hex)
{
	uint8_t raw[64];
	long n = sl_key_hex_decode(key_hex, strlen(key_hex), raw, sizeof(raw));
	char lo[9], up[9];

	cr_assert_gt(n, 4);
	for (long i = 0; i + 4 <= n; i++) {
		snprintf(lo, sizeof(lo), "%02x%02x%02x%02x", raw[i], raw[i + 1], raw[i + 2], raw[i + 3]);
		snprintf(up, sizeof(up), "%02X%02X%02X%02X", raw[i], raw[i + 1], raw[i + 2], raw[i + 3]);
		if (strstr(text, lo) || strstr(text, up) || memmem(text, strlen(text), raw + i, 4))
			return true;
	}
	return false;
}

Test(encrypt, what_a_node_compiles_to)
{
	struct version v;
	const struct sl_xfrm_state_value *x;
	uint8_t key3[20];

	version_compile(&v, NODES("[3, 4]", "[3]", "[3, 4]") KEYS(K3 K4));
	cr_expect_eq(objset_count(&v.res.set, SL_OBJ_XFRM_STATE), 4, "in 3, in 4, out to b, out to c");
	cr_expect_eq(objset_count(&v.res.set, SL_OBJ_XFRM_POLICY), 9, "3 out, 3 in, 3 fwd");
	cr_expect_eq(objset_count(&v.res.set, SL_OBJ_ROUTE), 3);
	/* The bytes of the SAs: the keys as decoded, the reqids of their kind. */
	cr_assert_eq(sl_key_hex_decode(KEY3, strlen(KEY3), key3, sizeof(key3)), 20);
	x = sa(&v.res.set, "192.168.50.1", 3);
	cr_assert_not_null(x, "the inbound SA of key 3");
	cr_expect_eq(x->reqid, SL_XFRM_REQID_IN);
	cr_expect_eq(x->replay_window, SL_XFRM_REPLAY_WINDOW);
	cr_expect_eq(x->enc_key_len, 20);
	cr_expect_eq(memcmp(x->enc_key, key3, 20), 0);
	cr_expect_str_eq(x->enc_name, "rfc4106(gcm(aes))");
	cr_expect_eq(x->icv_bits, 128);
	x = sa(&v.res.set, "192.168.50.2", 3);
	cr_assert_not_null(x, "out to b with key 3, the only one b has");
	cr_expect_eq(x->reqid, sl_xfrm_reqid(3));
	x = sa(&v.res.set, "192.168.50.3", 4);
	cr_assert_not_null(x, "out to c with key 4, the highest both have");
	cr_expect_eq(x->reqid, sl_xfrm_reqid(4));
	cr_expect_str_eq(x->enc_name, "cbc(aes)");
	cr_expect_str_eq(x->auth_name, "hmac(sha256)");
	cr_expect_eq(x->enc_key_len, 16);
	cr_expect_eq(x->auth_key_len, 32);
	cr_expect_null(sa(&v.res.set, "192.168.50.3", 3), "no SA to c with the lower key");

	version_free(&v);
}

/* The plan's lines, with fingerprints blanked (they are checked apart). */
static char *blank_fingerprints(char *s)
{
	for (char *p = s; (p = strstr(p, "fingerprint ")); p += 12)
		for (char *q = p + 12; (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'); q++)
			*q = '*';
	return s;
}

Test(encrypt, plan_lines_and_routes)
{
	struct version empty, v;
	char *plan, *got;

	version_compile(&empty, "version: 1\n");
	version_compile(&v, NODES("[3]", "[3]", "[3]") KEYS(K3));
	plan = blank_fingerprints(plan_of(&empty, &v, SL_PLAN_TEXT));
	got = section(plan, "xfrm");
	cr_expect_str_eq(got,
			 "  + state in any -> 192.168.50.1 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c00\n"
			 "  + state out 192.168.50.1 -> 192.168.50.2 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c03\n"
			 "  + state out 192.168.50.1 -> 192.168.50.3 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c03\n"
			 "  + policy out any -> 10.2.0.0/24 mark 0x3e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.2 spi 0x3 reqid 0x51c03\n"
			 "  + policy out any -> 10.3.0.0/24 mark 0x3e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.3 spi 0x3 reqid 0x51c03\n"
			 "  + policy out any -> 10.33.0.0/24 mark 0x3e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.3 spi 0x3 reqid 0x51c03\n"
			 "  + policy in 10.2.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n"
			 "  + policy fwd 10.2.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n"
			 "  + policy in 10.3.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n"
			 "  + policy fwd 10.3.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n"
			 "  + policy in 10.33.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n"
			 "  + policy fwd 10.33.0.0/24 -> 10.1.0.0/24 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n",
			 "%s", got);
	free(got);
	got = section(plan, "routes");
	cr_expect_str_eq(got,
			 "  + route 10.2.0.0/24 via 192.168.50.2 dev eth0\n"
			 "  + route 10.3.0.0/24 via 192.168.50.3 dev eth0\n"
			 "  + route 10.33.0.0/24 via 192.168.50.3 dev eth0\n",
			 "%s", got);
	free(got);
	cr_expect(!leaks(plan, KEY3), "%s", plan);
	free(plan);
	version_free(&empty);
	version_free(&v);
}

/* A rotation from key 3 to key 4, as state-format.md says it: add the key
 * everywhere, then let the nodes list it, then remove the old one. */
Test(encrypt, rotation_steps_in_order)
{
	struct version s0, s1, s2, s3;
	char *plan, *got;

	version_compile(&s0, NODES("[3]", "[3]", "[3]") KEYS(K3));
	version_compile(&s1, NODES("[3]", "[3]", "[3]") KEYS(K3 K4));
	version_compile(&s2, NODES("[3, 4]", "[3, 4]", "[3]") KEYS(K3 K4));
	version_compile(&s3, NODES("[4]", "[4]", "[4]") KEYS(K4));

	/* 1. the new key: its inbound SA only; nobody sends with it yet */
	plan = blank_fingerprints(plan_of(&s0, &s1, SL_PLAN_TEXT));
	got = section(plan, "xfrm");
	cr_expect_str_eq(got,
			 "  + state in any -> 192.168.50.1 spi 0x4 cbc(aes) hmac(sha256) key <redacted> (fingerprint ********) reqid 0x51c00\n",
			 "%s", got);
	cr_expect_null(strstr(plan, "\nipcache\n"), "no mark changes:\n%s", plan);
	free(got);
	free(plan);

	/* 2. b lists key 4: traffic to b moves to it, make before break;
	 * c does not list it: its SA stays on 3 */
	plan = blank_fingerprints(plan_of(&s1, &s2, SL_PLAN_TEXT));
	got = section(plan, "xfrm");
	cr_expect_str_eq(got,
			 "  + state out 192.168.50.1 -> 192.168.50.2 spi 0x4 cbc(aes) hmac(sha256) key <redacted> (fingerprint ********) reqid 0x51c04\n"
			 "  + policy out any -> 10.2.0.0/24 mark 0x4e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.2 spi 0x4 reqid 0x51c04\n"
			 "  - policy out any -> 10.2.0.0/24 mark 0x3e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.2 spi 0x3 reqid 0x51c03\n"
			 "  - state out 192.168.50.1 -> 192.168.50.2 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c03\n",
			 "%s", got);
	free(got);
	got = section(plan, "ipcache");
	cr_expect_str_eq(got, "  ~ ipcache 10.2.0.0/24: key 3 -> 4\n", "%s", got);
	free(got);
	free(plan);

	/* 3. the old key goes: its SAs last, after the policies that used them */
	plan = blank_fingerprints(plan_of(&s2, &s3, SL_PLAN_TEXT));
	got = section(plan, "xfrm");
	cr_expect_str_eq(got,
			 "  + state out 192.168.50.1 -> 192.168.50.3 spi 0x4 cbc(aes) hmac(sha256) key <redacted> (fingerprint ********) reqid 0x51c04\n"
			 "  + policy out any -> 10.3.0.0/24 mark 0x4e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.3 spi 0x4 reqid 0x51c04\n"
			 "  + policy out any -> 10.33.0.0/24 mark 0x4e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.3 spi 0x4 reqid 0x51c04\n"
			 "  - policy out any -> 10.3.0.0/24 mark 0x3e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.3 spi 0x3 reqid 0x51c03\n"
			 "  - policy out any -> 10.33.0.0/24 mark 0x3e00/0xff00 tmpl 192.168.50.1 -> 192.168.50.3 spi 0x3 reqid 0x51c03\n"
			 "  - state in any -> 192.168.50.1 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c00\n"
			 "  - state out 192.168.50.1 -> 192.168.50.3 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c03\n",
			 "%s", got);
	free(got);
	free(plan);
	version_free(&s0);
	version_free(&s1);
	version_free(&s2);
	version_free(&s3);
}

Test(encrypt, a_key_changed_under_its_spi)
{
	struct version a, b;
	char *plan;

	version_compile(&a, NODES("[3]", "[3]", "[3]") KEYS(K3));
	version_compile(&b, NODES("[3]", "[3]", "[3]") KEYS(
			      "    - {spi: 3, aead: rfc4106(gcm(aes)), key: '0x77777777111111112222222233333333aaaabbbb'}\n"));
	plan = plan_of(&a, &b, SL_PLAN_TEXT);
	cr_expect(strstr(plan, "  ~ state in any -> 192.168.50.1 spi 0x3: key <redacted> (fingerprint "), "%s", plan);
	cr_expect(strstr(plan, "(replaced: removed and added in one message)"), "%s", plan);
	cr_expect(!leaks(plan, KEY3), "%s", plan);
	cr_expect(!leaks(plan, "77777777111111112222222233333333aaaabbbb"), "%s", plan);
	free(plan);
	version_free(&a);
	version_free(&b);
}

Test(encrypt, no_key_byte_in_any_plan)
{
	struct version empty, v;
	const char *keys[] = { KEY3_HEX, AUTH4, ENC4 };
	enum sl_plan_format fmts[] = { SL_PLAN_TEXT, SL_PLAN_JSON };

	version_compile(&empty, "version: 1\n");
	version_compile(&v, NODES("[3, 4]", "[4]", "[3]") KEYS(K3 K4));
	for (int f = 0; f < 2; f++) {
		for (int dir = 0; dir < 2; dir++) {
			char *plan = dir ? plan_of(&v, &empty, fmts[f]) : plan_of(&empty, &v, fmts[f]);

			cr_expect(strstr(plan, "redacted"), "%s", plan);
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
				cr_expect(!leaks(plan, keys[k]), "key %zu in the %s plan:\n%s", k,
					  f ? "JSON" : "text", plan);
			free(plan);
		}
	}
	version_free(&empty);
	version_free(&v);
}

/* An SA of a size this version does not know is not shown byte by byte. */
Test(encrypt, an_unknown_sa_is_not_dumped)
{
	struct sl_objset want = {}, have = {};
	struct sl_diff d;
	struct strbuf out = {};
	uint8_t key[32], val[300];

	memset(key, 0x11, sizeof(key));
	memset(val, 0x5e, sizeof(val));
	cr_assert_eq(objset_add(&have, SL_OBJ_XFRM_STATE, key, sizeof(key), val, sizeof(val)), 0);
	objset_sort(&have);
	cr_assert_eq(sl_diff(&want, &have, &d), 0);
	cr_assert_eq(sl_plan_render(&want, &have, &d, NULL, SL_PLAN_TEXT, false, &out), 0);
	cr_expect(strstr(out.s, "value <redacted>"), "%s", out.s);
	cr_expect_null(strstr(out.s, "5e5e5e5e"), "%s", out.s);
	strbuf_free(&out);
	sl_diff_free(&d);
	objset_free(&have);
}

Test(encrypt, hex_decoding)
{
	uint8_t b[8];

	cr_expect_eq(sl_key_hex_decode(" 0x0a0B 0c\n", 11, b, sizeof(b)), 3);
	cr_expect_eq(b[0], 0x0a);
	cr_expect_eq(b[1], 0x0b);
	cr_expect_eq(b[2], 0x0c);
	cr_expect_eq(sl_key_hex_decode("0a0", 3, NULL, 0), -2, "odd digits");
	cr_expect_eq(sl_key_hex_decode("0x0g", 4, NULL, 0), -1, "not hex");
	cr_expect_eq(sl_key_hex_decode("000102030405060708", 18, b, sizeof(b)), -3, "longer than the room");
	cr_expect_eq(sl_key_hex_decode("", 0, NULL, 0), 0);
}

Test(encrypt, key_files)
{
	char dir[] = "/tmp/sluice-keys-XXXXXX", path[64], buf[128], why[512];
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, KEY3 "\n", strlen(KEY3) + 1), (ssize_t)strlen(KEY3) + 1);
	close(fd);
	cr_expect_eq(sl_key_file_read(path, buf, sizeof(buf), why, sizeof(why)), (long)strlen(KEY3) + 1, "%s", why);
	chmod(path, 0640);
	cr_expect_eq(sl_key_file_read(path, buf, sizeof(buf), why, sizeof(why)), -EACCES);
	cr_expect(strstr(why, "can be read by its group (mode 0640)"), "%s", why);
	cr_expect(!leaks(why, KEY3_HEX), "%s", why);
	chmod(path, 0604);
	cr_expect_eq(sl_key_file_read(path, buf, sizeof(buf), why, sizeof(why)), -EACCES);
	cr_expect(strstr(why, "can be read by others"), "%s", why);
	chmod(path, 0600);
	cr_expect_eq(sl_key_file_read(path, buf, 16, why, sizeof(why)), -EFBIG, "a buffer too small: too large");
	cr_expect(!leaks(why, KEY3_HEX), "%s", why);
	cr_expect_eq(sl_key_file_read(dir, buf, sizeof(buf), why, sizeof(why)), -EINVAL, "a directory");
	unlink(path);
	cr_expect_eq(sl_key_file_read(path, buf, sizeof(buf), why, sizeof(why)), -ENOENT);
	rmdir(dir);
}

Test(encrypt, fingerprints_tell_keys_apart)
{
	uint8_t a[20], b[20];
	char fa[9], fb[9], fa2[9];

	memset(a, 1, sizeof(a));
	memcpy(b, a, sizeof(b));
	b[19] ^= 1;
	sl_key_fingerprint(a, sizeof(a), NULL, 0, fa);
	sl_key_fingerprint(a, sizeof(a), NULL, 0, fa2);
	sl_key_fingerprint(b, sizeof(b), NULL, 0, fb);
	cr_expect_str_eq(fa, fa2);
	cr_expect_str_neq(fa, fb);
	cr_expect_eq(strlen(fa), 8);
}

Test(encrypt, validation)
{
	struct sl_load ld;

	load_text(&ld,
		  "version: 1\nnode: node-a\n"
		  "datapath: {tunnel: vxlan, underlayDevice: eth0}\n"
		  "nodes:\n"
		  "  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3]}\n"
		  "  - {name: node-b, ip: 'fd00:50::2', podCIDRs: [10.2.0.0/24], encryptKeys: [3]}\n" KEYS(K3),
		  true);
	{
		char *d = diag_lines(&ld);

		/* encryption works over the overlay: only the mixed families are wrong */
		cr_expect(!strstr(d, "encryption with tunnel: vxlan"), "%s", d);
		cr_expect(strstr(d, "nodes[node-b].ip: fd00:50::2 is an IPv6 address and this node's ip (192.168.50.1) "
				    "is IPv4"),
			  "%s", d);
		cr_expect(!leaks(d, KEY3_HEX), "%s", d);
		free(d);
	}
	sl_load_free(&ld);
	load_text(&ld,
		  "version: 1\nnode: node-a\n"
		  "nodes:\n"
		  "  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3]}\n" KEYS(K3),
		  true);
	{
		char *d = diag_lines(&ld);

		cr_expect(strstr(d, "set datapath.underlayDevice"), "%s", d);
		free(d);
	}
	sl_load_free(&ld);
}

/* With the overlay, the VXLAN between the node ips is encrypted whole: a
 * policy out and in per remote node on the tunnel's UDP port, no mark;
 * the pod CIDRs get neither policies nor routes. */
Test(encrypt, overlay_encrypts_the_tunnel)
{
	struct version empty, v;
	char *plan, *got;

	version_compile(&empty, "version: 1\n");
	version_compile(&v, "version: 1\nnode: node-a\n"
			    "datapath: {tunnel: vxlan, vxlanPort: 4789, underlayDevice: eth0}\n"
			    "nodes:\n"
			    "  - {name: node-a, ip: 192.168.50.1, podCIDRs: [10.1.0.0/24], encryptKeys: [3]}\n"
			    "  - {name: node-b, ip: 192.168.50.2, podCIDRs: [10.2.0.0/24, 'fd00:2::/64'], encryptKeys: [3]}\n"
			    KEYS(K3));
	cr_expect_eq(objset_count(&v.res.set, SL_OBJ_XFRM_STATE), 2, "in, out to b");
	cr_expect_eq(objset_count(&v.res.set, SL_OBJ_XFRM_POLICY), 2, "out and in, for the tunnel with b");
	cr_expect_eq(objset_count(&v.res.set, SL_OBJ_ROUTE), 0, "no route to any pod CIDR");
	plan = blank_fingerprints(plan_of(&empty, &v, SL_PLAN_TEXT));
	got = section(plan, "xfrm");
	cr_expect_str_eq(got,
			 "  + state in any -> 192.168.50.1 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c00\n"
			 "  + state out 192.168.50.1 -> 192.168.50.2 spi 0x3 rfc4106(gcm(aes)) key <redacted> (fingerprint ********) reqid 0x51c03\n"
			 "  + policy out 192.168.50.1/32 -> 192.168.50.2/32 proto UDP dport 4789 tmpl 192.168.50.1 -> 192.168.50.2 spi 0x3 reqid 0x51c03\n"
			 "  + policy in 192.168.50.2/32 -> 192.168.50.1/32 proto UDP dport 4789 tmpl any -> 192.168.50.1 any spi reqid 0x51c00\n",
			 "%s", got);
	free(got);
	free(plan);
	version_free(&v);
	version_free(&empty);
}

/* Fingerprints are SHA-256 (libcrypto) over a domain and both parts with
 * their lengths, truncated to 32 bits: the values are what Python's
 * hashlib gives for the same bytes, so no home-made hash can pass. */
Test(encrypt, fingerprint_is_sha256)
{
	uint8_t a[20], b[32];
	char fp[9], fp2[9];

	for (int i = 0; i < 20; i++)
		a[i] = (uint8_t)i;
	memset(b, 0xaa, sizeof(b));
	sl_key_fingerprint(a, sizeof(a), b, sizeof(b), fp);
	cr_assert_str_eq(fp, "ad934d1b");
	sl_key_fingerprint(a, sizeof(a), NULL, 0, fp);
	cr_assert_str_eq(fp, "0019125a");
	/* where a ends and b begins is part of what is hashed */
	sl_key_fingerprint(a, 10, a + 10, 10, fp);
	sl_key_fingerprint(a, 11, a + 11, 9, fp2);
	cr_assert_str_neq(fp, fp2);
}

/* libcrypto is loaded when a fingerprint is first made (common/dlib.h);
 * a library or function that is not there is an error that names it. */
Test(encrypt, libraries_loaded_when_needed)
{
	const char *const present[] = { "EVP_sha256" }, *const absent[] = { "sluice_no_such_function" };
	void *fn[1];
	char why[256];

	cr_assert_null(sl_key_crypto_error(), "libcrypto.so.3 loads");
	cr_assert_eq(sl_dlib_load("libcrypto.so.3", present, fn, 1, why, sizeof(why)), 0);
	cr_assert_not_null(fn[0]);
	cr_assert_eq(sl_dlib_load("libsluice-none.so.9", present, fn, 1, why, sizeof(why)), -ENOENT);
	cr_expect(strstr(why, "libsluice-none.so.9") != NULL, "names the library: %s", why);
	cr_assert_eq(sl_dlib_load("libcrypto.so.3", absent, fn, 1, why, sizeof(why)), -ENOENT);
	cr_expect(strstr(why, "sluice_no_such_function") != NULL, "names the function: %s", why);
}

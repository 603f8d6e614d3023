/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The link backend (src/datapath/link.c) against the real kernel: the
 * overlay's sluice_vxlan made (external, nolearning, its port, MTU and
 * underlay), observed, changed in place (MTU, up), made again on another
 * port, removed; a foreign device named sluice_vxlan and a foreign VXLAN
 * device of another name never observed, changed or removed; the UDP port
 * check of preflight.
 *
 * Each test runs in a process of its own (criterion forks) and first moves
 * into a network namespace of its own with a veth pair (sl0, sl1), MTU
 * 1500, so nothing shows on the host and nothing outlives the test.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datapath/link.h"

/* The counter kernel.c defines; here, so that nl.c's weak reference finds
 * it and the test can see every write counted. */
_Atomic unsigned long sl_kernel_writes;

static struct sl_link *lk;

static void sh(const char *cmd)
{
	int r = system(cmd);

	cr_assert_eq(r, 0, "`%s` failed (%d)", cmd, r);
}

/* The output of a shell command, first line. */
static void sh_out(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");

	cr_assert(f, "popen %s", cmd);
	buf[0] = '\0';
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	pclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void setup(void)
{
	struct sl_kerr e = { "" };

	if (geteuid() != 0)
		cr_skip_test("needs root (a network namespace, devices)");
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	sh("ip link add sl0 type veth peer name sl1 && ip link set sl0 up && ip link set sl1 up");
	cr_assert_eq(link_open(&lk, &e), 0, "link_open: %s", e.msg);
}

static void teardown(void)
{
	link_close(lk);
	lk = NULL;
}

TestSuite(link, .init = setup, .fini = teardown);

/* ---- helpers ---- */

struct dev {
	struct sl_device_key k;
	struct sl_device_value v;
};

static void mk(struct dev *d, const char *name, uint16_t port, uint32_t mtu, const char *underlay)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->k.name, name, strlen(name));
	d->v.type = SL_DEVICE_VXLAN;
	d->v.up = 1;
	d->v.port = port;
	d->v.mtu = mtu;
	d->v.external = 1;
	if (underlay)
		memcpy(d->v.underlay, underlay, strlen(underlay));
}

struct devs {
	struct dev v[8];
	size_t n;
};

static int dev_cb(void *ctx, const void *key, const void *val)
{
	const struct sl_device_key *k = key;
	const struct sl_device_value *v = val;
	struct devs *s = ctx;

	cr_assert_lt(s->n, 8);
	s->v[s->n].k = *k;
	s->v[s->n].v = *v;
	s->n++;
	return 0;
}

static struct devs observe(void)
{
	struct devs s = { .n = 0 };
	struct sl_kerr e = { "" };
	int r = link_observe(lk, dev_cb, &s, &e);

	cr_assert_eq(r, 0, "link_observe: %d %s", r, e.msg);
	return s;
}

static void assert_one(const struct dev *want)
{
	struct devs s = observe();

	cr_assert_eq(s.n, 1, "one device of sluice's observed, got %zu", s.n);
	cr_assert_arr_eq(&s.v[0].k, &want->k, sizeof(want->k), "key");
	cr_assert_eq(s.v[0].v.port, want->v.port, "port %u", s.v[0].v.port);
	cr_assert_eq(s.v[0].v.mtu, want->v.mtu, "mtu %u", s.v[0].v.mtu);
	cr_assert_str_eq(s.v[0].v.underlay, want->v.underlay);
	cr_assert_arr_eq(&s.v[0].v, &want->v, sizeof(want->v), "value byte for byte");
}

/* ---- tests ---- */

Test(link, create_observe_change_readd_delete)
{
	struct sl_kerr e = { "" };
	struct dev d;
	char out[512];
	unsigned idx;
	unsigned long w0;

	cr_assert_eq(observe().n, 0, "nothing of sluice's at first");
	mk(&d, "sluice_vxlan", 8472, 1450, "sl0");
	w0 = sl_kernel_writes;
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), 0, "add: %s", e.msg);
	cr_assert_eq(sl_kernel_writes - w0, 2, "made and marked: two writes");
	assert_one(&d);
	sh_out("ip -d link show sluice_vxlan | grep -o 'vxlan external.*dstport [0-9]* nolearning'", out, sizeof(out));
	cr_assert(strstr(out, "vxlan external") && strstr(out, "dev sl0") && strstr(out, "dstport 8472"), "%s", out);
	sh_out("ip link show sluice_vxlan | grep -o 'alias .*'", out, sizeof(out));
	cr_assert_str_eq(out, "alias " SL_DEVICE_ALIAS);
	idx = if_nametoindex("sluice_vxlan");

	/* in place: MTU, ARP off (as the overlay's device) and on by hand,
	 * then down */
	d.v.mtu = 1400;
	cr_assert_eq(link_change(lk, &d.k, &d.v, &e), 0, "change: %s", e.msg);
	assert_one(&d);
	d.v.noarp = 1;
	cr_assert_eq(link_change(lk, &d.k, &d.v, &e), 0, "change: %s", e.msg);
	assert_one(&d);
	sh_out("ip link show sluice_vxlan | grep -o 'NOARP'", out, sizeof(out));
	cr_assert_str_eq(out, "NOARP");
	sh("ip link set sluice_vxlan arp on");
	d.v.noarp = 0;
	assert_one(&d);
	d.v.noarp = 1;
	cr_assert_eq(link_change(lk, &d.k, &d.v, &e), 0, "change: %s", e.msg);
	assert_one(&d);
	d.v.up = 0;
	cr_assert_eq(link_change(lk, &d.k, &d.v, &e), 0, "change: %s", e.msg);
	assert_one(&d);
	cr_assert_eq(if_nametoindex("sluice_vxlan"), idx, "changed in place: the same device");
	/* above the underlay's MTU less VXLAN: the kernel's message */
	d.v.mtu = 1460;
	cr_assert_lt(link_change(lk, &d.k, &d.v, &e), 0);
	cr_assert(strstr(e.msg, "device sluice_vxlan"), "%s", e.msg);

	/* another port: removed and made again, in one batch */
	{
		struct dev n;
		struct sl_link_req q[2];

		mk(&n, "sluice_vxlan", 9472, 1450, "sl0");
		n.v.noarp = 1; /* made without ARP */
		d.v.mtu = 1400;
		q[0] = (struct sl_link_req){ .op = SL_LINK_OP_DEL, .key = &d.k, .value = &d.v };
		q[1] = (struct sl_link_req){ .op = SL_LINK_OP_ADD, .key = &n.k, .value = &n.v };
		cr_assert_eq(link_batch(lk, q, 2, NULL, NULL, &e), 0, "readd: %s", e.msg);
		assert_one(&n);
		d = n;
	}
	cr_assert_eq(link_holder(lk, "sluice_vxlan", &e), 1);
	cr_assert_eq(link_del(lk, &d.k, &e), 0, "del: %s", e.msg);
	cr_assert_eq(observe().n, 0);
	cr_assert_eq(link_holder(lk, "sluice_vxlan", &e), 0);
	cr_assert_eq(link_del(lk, &d.k, &e), -ENODEV, "a device gone: %s", e.msg);
}

Test(link, foreign_sluice_vxlan_is_never_touched)
{
	struct sl_kerr e = { "" };
	struct dev d;
	char before[512], after[512];

	sh("ip link add sluice_vxlan type vxlan external dstport 9000 && ip link set sluice_vxlan up");
	sh_out("ip -d -o link show sluice_vxlan | sed 's/^[0-9]*: //'", before, sizeof(before));
	cr_assert_eq(observe().n, 0, "not observed");
	cr_assert_eq(link_holder(lk, "sluice_vxlan", &e), 2, "held by a device not sluice's");
	mk(&d, "sluice_vxlan", 8472, 1450, "sl0");
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), -EEXIST, "%s", e.msg);
	cr_assert(strstr(e.msg, "left alone"), "%s", e.msg);
	cr_assert_eq(link_change(lk, &d.k, &d.v, &e), -EPERM, "%s", e.msg);
	cr_assert(strstr(e.msg, "not sluice's"), "%s", e.msg);
	cr_assert_eq(link_del(lk, &d.k, &e), -EPERM, "%s", e.msg);
	sh_out("ip -d -o link show sluice_vxlan | sed 's/^[0-9]*: //'", after, sizeof(after));
	cr_assert_str_eq(after, before, "untouched: no alias, its port, its MTU");
	/* with another alias: still not sluice's */
	sh("ip link set sluice_vxlan alias 'owned by someone'");
	cr_assert_eq(observe().n, 0);
	cr_assert_eq(link_del(lk, &d.k, &e), -EPERM, "%s", e.msg);
	sh("ip link show sluice_vxlan >/dev/null");
}

Test(link, foreign_vxlan_of_another_name_is_left_alone)
{
	struct sl_kerr e = { "" };
	struct dev d;
	char before[512], after[512];

	sh("ip link add other_vx type vxlan id 42 dstport 4789 && ip link set other_vx up");
	sh_out("ip -d -o link show other_vx | sed 's/^[0-9]*: //'", before, sizeof(before));
	cr_assert_eq(observe().n, 0);
	mk(&d, "sluice_vxlan", 8472, 1450, "sl0");
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), 0, "%s", e.msg);
	assert_one(&d);
	cr_assert_eq(link_del(lk, &d.k, &e), 0, "%s", e.msg);
	sh_out("ip -d -o link show other_vx | sed 's/^[0-9]*: //'", after, sizeof(after));
	cr_assert_str_eq(after, before);
}

Test(link, refusals_before_sending)
{
	struct sl_kerr e = { "" };
	struct dev d;
	unsigned long w0 = sl_kernel_writes;

	mk(&d, "sluice_vxlan", 8472, 1450, "nosuchdev");
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), -ENODEV, "%s", e.msg);
	cr_assert(strstr(e.msg, "nosuchdev"), "%s", e.msg);
	mk(&d, "sluice_vxlan", 8472, 1450, "sl0");
	d.v.external = 0;
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), -EOPNOTSUPP, "%s", e.msg);
	mk(&d, "sluice_vxlan", 0, 1450, "sl0");
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), -EINVAL, "%s", e.msg);
	cr_assert_eq(sl_kernel_writes, w0, "nothing sent");
	cr_assert_eq(observe().n, 0);
	cr_assert_eq(if_nametoindex("sluice_vxlan"), 0);
}

Test(link, udp_port_and_mtu)
{
	struct sl_kerr e = { "" };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8472) };
	struct dev d;
	int fd;

	cr_assert_eq(link_mtu("sl0"), 1500);
	cr_assert_eq(link_mtu("nosuchdev"), -ENODEV);
	cr_assert_eq(link_udp_port_free(8472), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(link_udp_port_free(8472), -EADDRINUSE);
	/* the kernel agrees: a device up on a port another socket holds is
	 * not made */
	mk(&d, "sluice_vxlan", 8472, 1450, "sl0");
	cr_assert_lt(link_add(lk, &d.k, &d.v, &e), 0);
	cr_assert_eq(if_nametoindex("sluice_vxlan"), 0, "no device left behind: %s", e.msg);
	close(fd);
	cr_assert_eq(link_udp_port_free(8472), 0);
	cr_assert_eq(link_add(lk, &d.k, &d.v, &e), 0, "%s", e.msg);
	cr_assert_eq(link_udp_port_free(8472), -EADDRINUSE, "sluice's device holds its port itself");
	cr_assert_eq(link_del(lk, &d.k, &e), 0, "%s", e.msg);
}

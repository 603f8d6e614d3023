/* SPDX-License-Identifier: Apache-2.0 */
#include <criterion/criterion.h>
#include <string.h>

#include "reconcile/net.h"

static struct sl_prefix P(const char *s)
{
	struct sl_prefix p;
	char why[128];

	cr_assert(sl_prefix_parse(s, true, &p, why, sizeof(why)), "%s: %s", s, why);
	return p;
}

Test(net, addresses)
{
	struct sl_prefix p;

	cr_assert(sl_addr_parse("10.1.0.1", &p));
	cr_assert_eq(p.family, 4);
	cr_assert_eq(p.len, 32);
	cr_assert_eq(p.addr[0], 10);
	cr_assert_eq(p.addr[3], 1);
	cr_assert(sl_addr_parse("fd00:1::10", &p));
	cr_assert_eq(p.family, 6);
	cr_assert_eq(p.len, 128);
	cr_assert_eq(p.addr[15], 0x10);
	cr_assert_not(sl_addr_parse("10.1.0", &p));
	cr_assert_not(sl_addr_parse("10.1.0.256", &p));
	cr_assert_not(sl_addr_parse("fd00::1::2", &p));
	cr_assert_not(sl_addr_parse("", &p));
	cr_assert_not(sl_addr_parse("web", &p));
}

Test(net, prefixes)
{
	struct sl_prefix p;
	char why[128];

	p = P("10.0.0.0/8");
	cr_assert_eq(p.len, 8);
	p = P("0.0.0.0/0");
	cr_assert_eq(p.len, 0);
	p = P("2001:db8::/32");
	cr_assert_eq(p.family, 6);
	p = P("192.0.2.7"); /* bare address: a host prefix */
	cr_assert_eq(p.len, 32);

	cr_assert_not(sl_prefix_parse("192.0.2.7", false, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "'192.0.2.7' is not a CIDR prefix (address/length, e.g. 10.0.0.0/8)");
	cr_assert_not(sl_prefix_parse("10.1.0.5/24", false, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "10.1.0.5/24 has host bits set (the prefix is 10.1.0.0/24)");
	cr_assert_not(sl_prefix_parse("fd00::1/64", false, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "fd00::1/64 has host bits set (the prefix is fd00::/64)");
	cr_assert_not(sl_prefix_parse("10.0.0.0/33", false, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "'10.0.0.0/33' is not a CIDR prefix: the length must be 0..32");
	cr_assert_not(sl_prefix_parse("fd00::/129", false, &p, why, sizeof(why)));
	cr_assert_not(sl_prefix_parse("10.0.0.0/", false, &p, why, sizeof(why)));
	cr_assert_not(sl_prefix_parse("10.0.0.0/-1", false, &p, why, sizeof(why)));
	cr_assert_not(sl_prefix_parse("10.0.0.0/8x", false, &p, why, sizeof(why)));
	cr_assert_not(sl_prefix_parse("nope/8", false, &p, why, sizeof(why)));
	cr_assert_str_eq(why, "'nope/8' is not a CIDR prefix: 'nope' is not an IPv4 or IPv6 address");
}

Test(net, containment)
{
	struct sl_prefix a = P("10.0.0.0/8"), b = P("10.9.0.0/16"), c = P("11.0.0.0/8"), d = P("10.9.1.0/24");
	struct sl_prefix v6 = P("::/0"), all4 = P("0.0.0.0/0");

	cr_assert(sl_prefix_contains(&a, &b));
	cr_assert(sl_prefix_contains(&a, &a));
	cr_assert_not(sl_prefix_contains(&b, &a));
	cr_assert_not(sl_prefix_contains(&a, &c));
	cr_assert(sl_prefix_contains(&b, &d));
	cr_assert(sl_prefix_overlaps(&d, &a));
	cr_assert_not(sl_prefix_overlaps(&c, &b));
	cr_assert(sl_prefix_contains(&all4, &c));
	cr_assert_not(sl_prefix_contains(&v6, &c), "families never contain each other");
	cr_assert_lt(sl_prefix_cmp(&a, &b), 0);
	cr_assert_lt(sl_prefix_cmp(&a, &c), 0);
	cr_assert_lt(sl_prefix_cmp(&c, &v6), 0, "IPv4 sorts before IPv6");
}

Test(net, format)
{
	struct sl_prefix p = P("2001:db8:0:0::/48");
	char buf[64];

	sl_prefix_format(&p, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2001:db8::/48");
}

Test(net, interface_names)
{
	cr_assert_null(sl_ifname_problem("lxc-web1"));
	cr_assert_null(sl_ifname_problem("eth0.100"));
	cr_assert_null(sl_ifname_problem("abcdefghijklmno"));
	cr_assert_not_null(sl_ifname_problem("abcdefghijklmnop"));
	cr_assert_not_null(sl_ifname_problem(""));
	cr_assert_not_null(sl_ifname_problem("a/b"));
	cr_assert_not_null(sl_ifname_problem("a b"));
	cr_assert_not_null(sl_ifname_problem("eth0:1"));
	cr_assert_not_null(sl_ifname_problem(".."));
}

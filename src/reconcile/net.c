/* SPDX-License-Identifier: Apache-2.0 */
#include "net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "model.h"

bool sl_addr_parse(const char *s, struct sl_prefix *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, ret->addr) != 1)
			return false;
		ret->family = 6;
		ret->len = 128;
		return true;
	}
	if (inet_pton(AF_INET, s, ret->addr) != 1)
		return false;
	ret->family = 4;
	ret->len = 32;
	return true;
}

static unsigned max_len(const struct sl_prefix *p)
{
	return p->family == 4 ? 32 : 128;
}

static void mask(struct sl_prefix *p)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = p->len > i * 8 ? p->len - i * 8 : 0;

		if (bits < 8)
			p->addr[i] &= (uint8_t)(0xff00u >> bits);
	}
}

void sl_prefix_format(const struct sl_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
}

bool sl_prefix_parse(const char *s, bool allow_bare, struct sl_prefix *ret, char *why, size_t why_len)
{
	const char *slash = strchr(s, '/');
	char addr[INET6_ADDRSTRLEN + 1];
	struct sl_prefix masked;
	char *end;
	long len;

	if (!slash) {
		if (allow_bare && sl_addr_parse(s, ret))
			return true;
		if (allow_bare)
			snprintf(why, why_len, "%s is not an address or a CIDR prefix (e.g. 10.0.0.0/8)", diag_q(s));
		else
			snprintf(why, why_len, "%s is not a CIDR prefix (address/length, e.g. 10.0.0.0/8)", diag_q(s));
		return false;
	}
	if ((size_t)(slash - s) >= sizeof(addr)) {
		snprintf(why, why_len, "%s is not a CIDR prefix", diag_q(s));
		return false;
	}
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!sl_addr_parse(addr, ret)) {
		snprintf(why, why_len, "%s is not a CIDR prefix: %s is not an IPv4 or IPv6 address", diag_q(s), diag_q(addr));
		return false;
	}
	len = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || slash[1] == '-' || slash[1] == '+' || len < 0 || len > (long)max_len(ret)) {
		snprintf(why, why_len, "%s is not a CIDR prefix: the length must be 0..%u", diag_q(s), max_len(ret));
		return false;
	}
	ret->len = (uint8_t)len;
	masked = *ret;
	mask(&masked);
	if (memcmp(masked.addr, ret->addr, sizeof(ret->addr)) != 0) {
		char fixed[64];

		sl_prefix_format(&masked, fixed, sizeof(fixed));
		snprintf(why, why_len, "%s has host bits set (the prefix is %s)", s, fixed);
		return false;
	}
	return true;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned bytes = len / 8, rem = len % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	return !rem || ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff00u >> rem)) == 0;
}

bool sl_prefix_contains(const struct sl_prefix *outer, const struct sl_prefix *inner)
{
	return outer->family == inner->family && outer->len <= inner->len &&
	       prefix_match(outer->addr, inner->addr, outer->len);
}

bool sl_prefix_overlaps(const struct sl_prefix *a, const struct sl_prefix *b)
{
	return sl_prefix_contains(a, b) || sl_prefix_contains(b, a);
}

int sl_prefix_cmp(const struct sl_prefix *a, const struct sl_prefix *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}

const char *sl_ifname_problem(const char *n)
{
	size_t len = strlen(n);

	if (len == 0)
		return "an interface name may not be empty";
	if (len > 15)
		return "an interface name has at most 15 characters";
	if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return "'.' and '..' are not interface names";
	for (; *n; n++)
		if (*n == '/' || *n == ':' || (unsigned char)*n <= ' ' || (unsigned char)*n >= 0x7f)
			return "an interface name may not contain '/', ':', white space or non-ASCII characters";
	return NULL;
}

const char *sl_addr_endpoint_problem(const struct sl_prefix *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];

	if (a->family == 4) {
		if (memcmp(a->addr, zero, 4) == 0)
			return "the unspecified address";
		if (a->addr[0] == 127)
			return "a loopback address";
		if ((a->addr[0] & 0xf0) == 224)
			return "a multicast address";
		if (a->addr[0] == 255 && a->addr[1] == 255 && a->addr[2] == 255 && a->addr[3] == 255)
			return "the broadcast address";
		return NULL;
	}
	if (memcmp(a->addr, zero, 16) == 0)
		return "the unspecified address";
	if (memcmp(a->addr, zero, 15) == 0 && a->addr[15] == 1)
		return "the loopback address";
	if (a->addr[0] == 0xff)
		return "a multicast address";
	if (memcmp(a->addr, mapped, 12) == 0)
		return "an IPv4-mapped IPv6 address";
	return NULL;
}

static const struct icmp_name {
	const char *name;
	uint8_t type;
} icmp4_names[] = {
	{ "EchoReply", 0 },
	{ "DestinationUnreachable", 3 },
	{ "Redirect", 5 },
	{ "EchoRequest", 8 },
	{ "Echo", 8 },
	{ "RouterAdvertisement", 9 },
	{ "RouterSelection", 10 },
	{ "TimeExceeded", 11 },
	{ "ParameterProblem", 12 },
	{ "Timestamp", 13 },
	{ "TimestampReply", 14 },
	{ "Photuris", 40 },
	{ "ExtendedEchoRequest", 42 },
	{ "ExtendedEchoReply", 43 },
	{ NULL, 0 },
}, icmp6_names[] = {
	{ "DestinationUnreachable", 1 },
	{ "PacketTooBig", 2 },
	{ "TimeExceeded", 3 },
	{ "ParameterProblem", 4 },
	{ "EchoRequest", 128 },
	{ "EchoReply", 129 },
	{ "MulticastListenerQuery", 130 },
	{ "MulticastListenerReport", 131 },
	{ "MulticastListenerDone", 132 },
	{ "RouterSolicitation", 133 },
	{ "RouterAdvertisement", 134 },
	{ "NeighborSolicitation", 135 },
	{ "NeighborAdvertisement", 136 },
	{ "RedirectMessage", 137 },
	{ "RouterRenumbering", 138 },
	{ "ICMPNodeInformationQuery", 139 },
	{ "ICMPNodeInformationResponse", 140 },
	{ "InverseNeighborDiscoverySolicitation", 141 },
	{ "InverseNeighborDiscoveryAdvertisement", 142 },
	{ "HomeAgentAddressDiscoveryRequest", 144 },
	{ "HomeAgentAddressDiscoveryReply", 145 },
	{ "MobilePrefixSolicitation", 146 },
	{ "MobilePrefixAdvertisement", 147 },
	{ "DuplicateAddressRequestCodeSuffix", 157 },
	{ "DuplicateAddressConfirmationCodeSuffix", 158 },
	{ "ExtendedEchoRequest", 160 },
	{ "ExtendedEchoReply", 161 },
	{ NULL, 0 },
};

static const struct icmp_name *icmp_names(int family)
{
	return family == SL_ICMP_IPV6 ? icmp6_names : icmp4_names;
}

int sl_icmp_type_parse(const char *s, int family)
{
	size_t n = strspn(s, "0123456789");

	if (n && !s[n]) {
		/* at most three digits: "00000008" is no type either */
		if (n > 3 || atoi(s) > 255)
			return -1;
		return atoi(s);
	}
	for (const struct icmp_name *e = icmp_names(family); e->name; e++)
		if (!strcmp(e->name, s))
			return e->type;
	return -1;
}

const char *sl_icmp_type_name(int family, int type)
{
	for (const struct icmp_name *e = icmp_names(family); e->name; e++)
		if (e->type == type)
			return e->name;
	return NULL;
}

void sl_icmp_type_names(int family, char *buf, size_t len)
{
	size_t o = 0;

	if (len)
		buf[0] = '\0';
	for (const struct icmp_name *e = icmp_names(family); e->name && o < len; e++) {
		int w = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", e->name);

		if (w < 0)
			break;
		o += (size_t)w;
	}
}

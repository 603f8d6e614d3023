/* SPDX-License-Identifier: Apache-2.0 */
#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include "common/util.h"
#include "probe.skel.h"

static void set(struct probe_feature *f, enum probe_result r, const char *fmt, ...) _printf_(3, 4);
static void set(struct probe_feature *f, enum probe_result r, const char *fmt, ...)
{
	va_list ap;

	f->result = r;
	va_start(ap, fmt);
	vsnprintf(f->note, sizeof(f->note), fmt, ap);
	va_end(ap);
}

/* The kernel's build configuration: /proc/config.gz, or Debian's
 * /boot/config-RELEASE (gzread reads plain files too). */
struct kconfig {
	char *text;
	bool loaded;
};

/* The first of the configuration's files that opens, or NULL. */
static gzFile kconfig_open(void)
{
	struct utsname u;
	char boot[300];
	gzFile gz;

	if (access("/proc/config.gz", R_OK) == 0 && (gz = gzopen("/proc/config.gz", "rb")))
		return gz;
	if (uname(&u) != 0)
		return NULL;
	snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
	return access(boot, R_OK) == 0 ? gzopen(boot, "rb") : NULL;
}

static void kconfig_load(struct kconfig *k)
{
	struct strbuf_lite {
		char *s;
		size_t len, cap;
	} b = {};
	gzFile gz = kconfig_open();
	char buf[65536];
	int n;

	if (!gz)
		return;
	while ((n = gzread(gz, buf, sizeof(buf))) > 0) {
		if (grow_array((void **)&b.s, &b.cap, b.len + (size_t)n + 1, 1) < 0)
			break;
		memcpy(b.s + b.len, buf, (size_t)n);
		b.len += (size_t)n;
		b.s[b.len] = '\0';
	}
	gzclose(gz);
	k->loaded = b.len > 0;
	k->text = b.s;
}

/* 'y', 'm', 'n' (not set), or 0 when the configuration is unknown. */
static char kconfig_get(const struct kconfig *k, const char *option)
{
	char needle[96];
	const char *p;

	if (!k->loaded)
		return 0;
	snprintf(needle, sizeof(needle), "\n%s=", option);
	p = strstr(k->text, needle);
	if (!p)
		return 'n';
	p += strlen(needle);
	return *p == 'y' || *p == 'm' ? *p : 'n';
}

/* Line by line, up to the option: every apply asks for CONFIG_HZ, which
 * is a twentieth of the way into the file, and the whole of it took a
 * few milliseconds to decompress. */
long probe_kconfig_number(const char *option, long fallback)
{
	char needle[96], line[512];
	size_t nl = (size_t)snprintf(needle, sizeof(needle), "%s=", option);
	gzFile gz = kconfig_open();
	long v = fallback;

	if (!gz)
		return fallback;
	while (gzgets(gz, line, sizeof(line)))
		if (!strncmp(line, needle, nl)) {
			v = strtol(line + nl, NULL, 10);
			break;
		}
	gzclose(gz);
	return v > 0 ? v : fallback;
}

static void from_kconfig(struct probe_feature *f, const struct kconfig *k, const char *option, const char *module)
{
	char c = kconfig_get(k, option), path[128];

	switch (c) {
	case 'y':
		set(f, PROBE_AVAILABLE, "built in");
		break;
	case 'm':
		snprintf(path, sizeof(path), "/sys/module/%s", module);
		if (access(path, F_OK) == 0)
			set(f, PROBE_AVAILABLE, "module %s, loaded", module);
		else
			set(f, PROBE_AVAILABLE, "module %s, loaded on first use", module);
		break;
	case 'n':
		set(f, PROBE_MISSING, "%s is not set", option);
		break;
	default:
		set(f, PROBE_UNKNOWN, "no kernel configuration to read");
	}
}

static void prog_type(struct probe_feature *f, bool privileged, enum bpf_prog_type t)
{
	int r;

	if (!privileged) {
		set(f, PROBE_UNKNOWN, "needs CAP_BPF");
		return;
	}
	r = libbpf_probe_bpf_prog_type(t, NULL);
	if (r > 0)
		set(f, PROBE_AVAILABLE, "%s", "");
	else
		set(f, PROBE_MISSING, "%s", r < 0 ? strerror(-r) : "program type not supported");
}

static bool map_type_ok(enum bpf_map_type t)
{
	return libbpf_probe_bpf_map_type(t, NULL) > 0;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

void probe_kernel(struct probe_feature fs[PROBE__MAX])
{
	static const char *const names[PROBE__MAX] = {
		[PROBE_BPF_SYSCALL] = "bpf syscall", [PROBE_BPFFS] = "bpffs",
		[PROBE_BTF] = "btf",		     [PROBE_SKELETON] = "program load",
		[PROBE_BATCH_OPS] = "batch map ops", [PROBE_TC_BPF] = "tc clsact/cls_bpf",
		[PROBE_XDP] = "xdp",		     [PROBE_SOCKOPS] = "cgroup sockops",
		[PROBE_SOCKMAP] = "sockmap",	     [PROBE_SOCK_ADDR] = "cgroup sock_addr",
		[PROBE_LRU_LPM] = "lru/lpm maps",
		[PROBE_XFRM] = "xfrm",		     [PROBE_ESP] = "xfrm esp",
		[PROBE_IPVLAN] = "ipvlan",	     [PROBE_VXLAN] = "vxlan",
	};
	libbpf_print_fn_t old = libbpf_set_print(quiet_print);
	struct kconfig k = {};
	struct statfs sfs;
	bool privileged = false;
	int fd;

	memset(fs, 0, sizeof(*fs) * PROBE__MAX);
	for (unsigned i = 0; i < PROBE__MAX; i++)
		fs[i].name = names[i];
	kconfig_load(&k);

	/* The syscall exists if it answers anything but ENOSYS. */
	if (syscall(__NR_bpf, -1, NULL, 0) < 0 && errno == ENOSYS)
		set(&fs[PROBE_BPF_SYSCALL], PROBE_MISSING, "%s", "");
	else
		set(&fs[PROBE_BPF_SYSCALL], PROBE_AVAILABLE, "%s", "");
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sluice_probe", 4, 4, 1, NULL);
	if (fd >= 0) {
		privileged = true;
		close(fd);
	}

	if (statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC)
		set(&fs[PROBE_BPFFS], PROBE_AVAILABLE, "mounted at /sys/fs/bpf");
	else if (kconfig_get(&k, "CONFIG_BPF_SYSCALL") == 'y')
		set(&fs[PROBE_BPFFS], PROBE_AVAILABLE, "not mounted at /sys/fs/bpf");
	else
		set(&fs[PROBE_BPFFS], PROBE_UNKNOWN, "not mounted at /sys/fs/bpf");
	if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
		set(&fs[PROBE_BTF], PROBE_AVAILABLE, "/sys/kernel/btf/vmlinux");
	else
		set(&fs[PROBE_BTF], PROBE_MISSING, "no /sys/kernel/btf/vmlinux");

	if (privileged) {
		struct probe_bpf *skel = probe_bpf__open();
		int r = skel ? 0 : -errno;

		if (skel) {
			skel->rodata->probe_cookie = 0x51u;
			r = probe_bpf__load(skel);
			probe_bpf__destroy(skel);
		}
		if (r == 0)
			set(&fs[PROBE_SKELETON], PROBE_AVAILABLE, "sluice's objects load");
		else
			set(&fs[PROBE_SKELETON], PROBE_MISSING, "loading sluice's probe program failed: %s",
			    strerror(-r));

		fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sluice_probe", 4, 4, 4, NULL);
		if (fd >= 0) {
			__u32 keys[4], vals[4], count = 4, out = 0;
			int r2 = bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, NULL);

			if (r2 == 0 || errno == ENOENT)
				set(&fs[PROBE_BATCH_OPS], PROBE_AVAILABLE, "%s", "");
			else
				set(&fs[PROBE_BATCH_OPS], PROBE_MISSING, "%s", strerror(errno));
			close(fd);
		}
	} else {
		set(&fs[PROBE_SKELETON], PROBE_UNKNOWN, "needs CAP_BPF");
		set(&fs[PROBE_BATCH_OPS], PROBE_UNKNOWN, "needs CAP_BPF");
	}
	prog_type(&fs[PROBE_TC_BPF], privileged, BPF_PROG_TYPE_SCHED_CLS);
	if (fs[PROBE_TC_BPF].result == PROBE_AVAILABLE && kconfig_get(&k, "CONFIG_NET_SCH_INGRESS") == 'n')
		set(&fs[PROBE_TC_BPF], PROBE_MISSING, "CONFIG_NET_SCH_INGRESS (clsact) is not set");
	prog_type(&fs[PROBE_XDP], privileged, BPF_PROG_TYPE_XDP);
	prog_type(&fs[PROBE_SOCKOPS], privileged, BPF_PROG_TYPE_SOCK_OPS);
	prog_type(&fs[PROBE_SOCK_ADDR], privileged, BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
	/* host-reachable services refuse a service with no backend with
	 * bpf_set_retval (5.18+) */
	if (fs[PROBE_SOCK_ADDR].result == PROBE_AVAILABLE &&
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_set_retval, NULL) <= 0)
		set(&fs[PROBE_SOCK_ADDR], PROBE_MISSING, "%s", "bpf_set_retval is not available to connect4 (5.18+)");
	if (privileged) {
		bool sockmap = map_type_ok(BPF_MAP_TYPE_SOCKHASH) && libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL) > 0;

		set(&fs[PROBE_SOCKMAP], sockmap ? PROBE_AVAILABLE : PROBE_MISSING, "%s",
		    sockmap ? "" : "sockhash or sk_msg not supported");
		if (map_type_ok(BPF_MAP_TYPE_LRU_HASH) && map_type_ok(BPF_MAP_TYPE_LPM_TRIE) &&
		    map_type_ok(BPF_MAP_TYPE_PERCPU_ARRAY))
			set(&fs[PROBE_LRU_LPM], PROBE_AVAILABLE, "%s", "");
		else
			set(&fs[PROBE_LRU_LPM], PROBE_MISSING, "%s", "");
	} else {
		set(&fs[PROBE_SOCKMAP], PROBE_UNKNOWN, "needs CAP_BPF");
		set(&fs[PROBE_LRU_LPM], PROBE_UNKNOWN, "needs CAP_BPF");
	}
	from_kconfig(&fs[PROBE_XFRM], &k, "CONFIG_XFRM_USER", "xfrm_user");
	from_kconfig(&fs[PROBE_ESP], &k, "CONFIG_INET_ESP", "esp4");
	from_kconfig(&fs[PROBE_IPVLAN], &k, "CONFIG_IPVLAN", "ipvlan");
	from_kconfig(&fs[PROBE_VXLAN], &k, "CONFIG_VXLAN", "vxlan");
	free(k.text);
	libbpf_set_print(old);
}

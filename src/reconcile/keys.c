/* SPDX-License-Identifier: Apache-2.0 */
/* Key material for the SAs: decode hex, read key files, and hold the bytes
 * only as long as an apply needs them (keys.h). */
#include "keys.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dlib.h"
#include "common/util.h"
#include "load.h"
#include "model.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

long sl_key_hex_decode(const char *s, size_t len, uint8_t *out, size_t max)
{
	size_t digits = 0, i = 0;
	int hi = 0;

	while (i < len && is_space(s[i]))
		i++;
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	for (; i < len; i++) {
		int h = hex_value(s[i]);

		if (h < 0) {
			if (is_space(s[i]))
				continue;
			return -1;
		}
		if (digits % 2 == 0) {
			hi = h;
		} else if (out) {
			if (digits / 2 >= max)
				return -3;
			out[digits / 2] = (uint8_t)(hi << 4 | h);
		}
		digits++;
	}
	hi = 0;
	if (digits % 2)
		return -2;
	return (long)(digits / 2);
}

long sl_key_file_read(const char *path, char *buf, size_t size, char *why, size_t why_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat sb;
	ssize_t n;
	int r;

	if (fd < 0) {
		r = -errno;
		snprintf(why, why_len, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, why_len, "%s is not a regular file", path);
		return -EINVAL;
	}
	if (sb.st_mode & (S_IRGRP | S_IROTH)) {
		snprintf(why, why_len,
			 "%s can be read by %s (mode %04o); a key file must be readable by its owner only (chmod 600)",
			 path,
			 (sb.st_mode & S_IRGRP) && (sb.st_mode & S_IROTH) ? "group and others"
			 : sb.st_mode & S_IRGRP				   ? "its group"
									   : "others",
			 (unsigned)(sb.st_mode & 07777));
		return -EACCES;
	}
	n = read(fd, buf, size);
	if (n < 0) {
		r = -errno;
		snprintf(why, why_len, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if ((size_t)n >= size) {
		explicit_bzero(buf, size);
		snprintf(why, why_len, "%s is too large to be a key", path);
		return -EFBIG;
	}
	buf[n] = '\0';
	return (long)n;
}

void sl_key_path(const struct sl_load *ld, const char *state_file, const char *key_file, char *buf, size_t len)
{
	const char *dir = ".";

	if (key_file[0] == '/') {
		snprintf(buf, len, "%s", key_file);
		return;
	}
	for (size_t i = 0; i < ld->n_files; i++)
		if (ld->files[i] == state_file)
			dir = ld->file_dirs[i];
	snprintf(buf, len, "%s/%s", dir, key_file);
}

/* One key's bytes, from its inline text or its file. */
static int material(const struct sl_load *ld, const struct sl_key *k, const char *which, const char *inline_val,
		    const char *file_val, uint8_t *out, uint8_t *ret_len, char *why, size_t why_len)
{
	char buf[4097], path[4096];
	long n;

	if (inline_val) {
		n = sl_key_hex_decode(inline_val, strlen(inline_val), out, SL_KEY_BYTES_MAX);
	} else if (file_val) {
		sl_key_path(ld, k->file, file_val, path, sizeof(path));
		n = sl_key_file_read(path, buf, sizeof(buf), why, why_len);
		if (n < 0)
			return (int)n;
		n = sl_key_hex_decode(buf, (size_t)n, out, SL_KEY_BYTES_MAX);
		explicit_bzero(buf, sizeof(buf));
	} else {
		snprintf(why, why_len, "key %" PRIu32 ": no %s", k->spi, which);
		return -ENOKEY;
	}
	if (n <= 0) {
		snprintf(why, why_len, "key %" PRIu32 ": %s%s does not hold a key in hex (<redacted>)", k->spi,
			 inline_val ? which : "", inline_val ? "" : path);
		return -EINVAL;
	}
	*ret_len = (uint8_t)n;
	return 0;
}

int sl_keyring_load(const struct sl_load *ld, struct sl_keyring *ret, char *why, size_t why_len)
{
	const struct sl_encryption *enc = ld->state.encryption;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	if (!enc || !enc->n_keys)
		return 0;
	ret->v = calloc(enc->n_keys, sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	for (uint32_t i = 0; r >= 0 && i < enc->n_keys; i++) {
		const struct sl_key *k = &enc->keys[i];
		struct sl_key_material *m = &ret->v[ret->n++];

		m->spi = k->spi;
		if (k->auth_key || k->auth_key_file) {
			r = material(ld, k, "authKey", k->auth_key, k->auth_key_file, m->auth, &m->auth_len, why,
				     why_len);
			if (r >= 0)
				r = material(ld, k, "cipherKey", k->cipher_key, k->cipher_key_file, m->enc,
					     &m->enc_len, why, why_len);
		} else {
			r = material(ld, k, "key", k->key, k->key_file, m->enc, &m->enc_len, why, why_len);
		}
	}
	if (r < 0)
		sl_keyring_free(ret);
	return r;
}

const struct sl_key_material *sl_keyring_find(const struct sl_keyring *kr, uint32_t spi)
{
	for (size_t i = 0; kr && i < kr->n; i++)
		if (kr->v[i].spi == spi)
			return &kr->v[i];
	return NULL;
}

void sl_keyring_free(struct sl_keyring *kr)
{
	if (kr->v)
		explicit_bzero(kr->v, kr->n * sizeof(*kr->v));
	free(kr->v);
	kr->v = NULL;
	kr->n = 0;
}

/* OpenSSL's libcrypto, loaded the first time a fingerprint is made
 * (common/dlib.h): most applies hold no key. */
static struct {
	__typeof__(&EVP_MD_CTX_new) ctx_new;
	__typeof__(&EVP_MD_CTX_free) ctx_free;
	__typeof__(&EVP_sha256) sha256;
	__typeof__(&EVP_DigestInit_ex) init;
	__typeof__(&EVP_DigestUpdate) update;
	__typeof__(&EVP_DigestFinal_ex) final;
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static bool crypto_ok;
static char crypto_why[256];

static void crypto_load(void)
{
	static const char *const names[] = { "EVP_MD_CTX_new",	"EVP_MD_CTX_free", "EVP_sha256",
					     "EVP_DigestInit_ex", "EVP_DigestUpdate", "EVP_DigestFinal_ex" };
	void *fns[6];

	_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(crypto) / sizeof(void *), "crypto");
	crypto_ok = sl_dlib_load("libcrypto.so.3", names, fns, 6, crypto_why, sizeof(crypto_why)) == 0;
	if (crypto_ok)
		memcpy(&crypto, fns, sizeof(crypto));
}

const char *sl_key_crypto_error(void)
{
	pthread_once(&crypto_once, crypto_load);
	return crypto_ok ? NULL : crypto_why;
}

void sl_key_fingerprint(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, char out[9])
{
	static const char domain[] = "sluice key fingerprint v2"; /* with its NUL */
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	uint8_t len[8];
	EVP_MD_CTX *ctx;
	bool ok;

	if (sl_key_crypto_error()) {
		snprintf(out, 9, "????????"); /* never anything derived from the key by other means */
		return;
	}
	ctx = crypto.ctx_new();

	/* SHA-256 over a domain, then each part with its length (so that the
	 * split between a and b is part of what is hashed) */
	for (int i = 0; i < 4; i++) {
		len[i] = (uint8_t)(alen >> (8 * i));
		len[4 + i] = (uint8_t)(blen >> (8 * i));
	}
	ok = ctx && crypto.init(ctx, crypto.sha256(), NULL) == 1 && crypto.update(ctx, domain, sizeof(domain)) == 1 &&
	     crypto.update(ctx, len, 4) == 1 && (!alen || crypto.update(ctx, a, alen) == 1) &&
	     crypto.update(ctx, len + 4, 4) == 1 && (!blen || crypto.update(ctx, b, blen) == 1) &&
	     crypto.final(ctx, md, &md_len) == 1 && md_len >= 4;
	crypto.ctx_free(ctx);
	if (!ok) {
		snprintf(out, 9, "????????"); /* never anything derived from the key by other means */
		return;
	}
	snprintf(out, 9, "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
	explicit_bzero(md, sizeof(md));
}

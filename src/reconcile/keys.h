/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key material: the hex text of encryption keys, inline or in key files,
 * decoded into bytes for the SAs that compile makes. Nothing here prints a
 * key: messages name the file and say what is wrong, never what is in it,
 * and every buffer that held key text or bytes is wiped before it is freed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sl_load;
struct sl_state;

/* The largest key of the algorithms sluice allows (rfc4106(gcm(aes)): a
 * 32-byte AES key and its 4-byte salt). */
#define SL_KEY_BYTES_MAX 36

/*
 * Decode key text: optional white space, an optional 0x, then hex digits
 * with white space anywhere. Returns the number of bytes, -1 when the text
 * is not hex, -2 when the digits are odd in number. out may be NULL (count
 * only); otherwise at most max bytes are written and a longer key is -3.
 */
long sl_key_hex_decode(const char *s, size_t len, uint8_t *out, size_t max);

/*
 * Read a key file into buf (size bytes, NUL-terminated). Refuses what is not
 * a regular file, a file that its group or others can read, and a file of
 * size or more bytes. Returns the length, or -errno with why set (the path
 * and the reason, never the contents). The caller wipes buf.
 */
long sl_key_file_read(const char *path, char *buf, size_t size, char *why, size_t why_len);

/* The path of a key file as the state file that names it means it: as it
 * is when absolute, else relative to that state file's directory. */
void sl_key_path(const struct sl_load *ld, const char *state_file, const char *key_file, char *buf, size_t len);

/* The decoded keys of a state, by SPI. */
struct sl_key_material {
	uint32_t spi;
	uint8_t enc_len;  /* the AEAD key with its salt, or the cipher key */
	uint8_t auth_len; /* the authentication key (auth + cipher), else 0 */
	uint8_t enc[SL_KEY_BYTES_MAX];
	uint8_t auth[SL_KEY_BYTES_MAX];
};

struct sl_keyring {
	struct sl_key_material *v;
	size_t n;
};

/*
 * Read and decode every key of ld's encryption section (validated), key
 * files relative to the directory of the state file that names them.
 * Returns 0, or -errno with why naming the key and the file (a key file
 * changed since validation, say).
 */
int sl_keyring_load(const struct sl_load *ld, struct sl_keyring *ret, char *why, size_t why_len);
const struct sl_key_material *sl_keyring_find(const struct sl_keyring *kr, uint32_t spi);
/* Wipes and frees; accepts an empty ring. */
void sl_keyring_free(struct sl_keyring *kr);

/* A short fingerprint of key bytes, 8 hex digits, that tells two keys apart
 * in a plan without showing them: the first 32 bits of SHA-256 (OpenSSL's
 * libcrypto) over a domain string and the two parts with their lengths. */
void sl_key_fingerprint(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, char out[9]);
/* libcrypto is loaded the first time it is needed (common/dlib.h): NULL
 * when it is there, else why not (fingerprints are then "????????"). */
const char *sl_key_crypto_error(void);

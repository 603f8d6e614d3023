/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Libraries loaded when first needed (dlopen) instead of at every start:
 * libmicrohttpd (for watch --metrics-address; it brings GnuTLS and seven
 * more libraries) and OpenSSL's libcrypto (for key fingerprints) cost a
 * process about 8 ms of relocations and page faults before main(), which
 * is 5% of a one-shot apply of 10,000 services, for features most runs
 * never use.
 */
#pragma once

#include <stddef.h>

/* Open the library by its soname and find each of names[0..n) in it, into
 * ret_fns (in the same order). 0, or -ENOENT with why filled ("libX:
 * dlerror's text"); the library stays loaded for the process's life. */
int sl_dlib_load(const char *soname, const char *const *names, void **ret_fns, size_t n, char *why, size_t why_len);

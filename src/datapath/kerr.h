/* SPDX-License-Identifier: Apache-2.0 */
/* Errors for people, shared by every file of src/datapath/ (kerr.c): a leaf
 * that the netlink engine and its kinds include without the rest. */
#pragma once

/* An error for people: which object, and the kernel's message. */
struct sl_kerr {
	char msg[512];
};

void kerr(struct sl_kerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

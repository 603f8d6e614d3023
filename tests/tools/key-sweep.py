#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""key-sweep.py DIR HEXKEY...: whether any file in DIR holds key material.

For every key (hex, an optional 0x) and every run of 4 of its bytes: the
raw bytes, and their hex in lower and upper case. Prints each hit and a
summary line; exits 1 when there is a hit, 0 otherwise. The encryption
tests (tests/integration/test-encryption.sh, tests/vm/encryption.sh) run
it over every output of every sluice command they ran.
"""
import os
import sys

d, keys = sys.argv[1], sys.argv[2:]
texts = {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}
hits = 0
for k in keys:
    raw = bytes.fromhex(k[2:] if k.lower().startswith("0x") else k)
    for i in range(len(raw) - 3):
        part = raw[i:i + 4]
        for needle in (part, part.hex().encode(), part.hex().upper().encode()):
            for f, t in texts.items():
                if needle in t:
                    print("key bytes %s in %s" % (part.hex(), f))
                    hits += 1
print("searched %d outputs for %d keys: %d hits" % (len(texts), len(keys), hits))
sys.exit(1 if hits else 0)

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An editor's view of the state files: the real yaml-language-server (the
YAML language server of VS Code's YAML extension and of most editors' LSP
clients), spoken to over stdio as an editor does. It must find sluice's
schema through the modeline on line 1 of every example and report nothing
there; report a broken copy's errors with the schema's readable messages
(patternErrorMessage, not raw regexes) on the right lines; and complete
the top-level keys.

Usage: check-editor.py ROOT YAML-LANGUAGE-SERVER-SCRIPT
"""
import json
import os
import re
import queue
import subprocess
import sys
import threading
import time

root, yls = sys.argv[1], sys.argv[2]
examples = os.path.join(root, "examples", "states")
passed = failed = 0


def check(cond, what):
    global passed, failed
    print(("ok - " if cond else "not ok - ") + what)
    if cond:
        passed += 1
    else:
        failed += 1
    return cond


proc = subprocess.Popen(["node", yls, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL)
inbox = queue.Queue()


def reader():
    out = proc.stdout
    while True:
        headers = {}
        while True:
            line = out.readline()
            if not line:
                inbox.put(None)
                return
            line = line.decode().strip()
            if not line:
                break
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        inbox.put(json.loads(out.read(int(headers["content-length"]))))


threading.Thread(target=reader, daemon=True).start()


def send(msg):
    msg["jsonrpc"] = "2.0"
    body = json.dumps(msg).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    proc.stdin.flush()


SETTINGS = {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False},
            "schemas": {}, "format": {"enable": False}}
diagnostics = {}  # uri -> the last list published
next_id = [0]


def handle(msg):
    """Answer the server's requests; keep what it publishes."""
    if msg.get("method") == "textDocument/publishDiagnostics":
        diagnostics[msg["params"]["uri"]] = msg["params"]["diagnostics"]
    elif "id" in msg and "method" in msg:
        result = None
        if msg["method"] == "workspace/configuration":
            result = [SETTINGS if i.get("section") == "yaml" else None for i in msg["params"]["items"]]
        send({"id": msg["id"], "result": result})


def request(method, params, timeout=30):
    next_id[0] += 1
    rid = next_id[0]
    send({"id": rid, "method": method, "params": params})
    end = time.time() + timeout
    while time.time() < end:
        try:
            msg = inbox.get(timeout=end - time.time())
        except queue.Empty:
            break
        if msg is None:
            sys.exit("yaml-language-server exited")
        if msg.get("id") == rid and "method" not in msg:
            return msg.get("result")
        handle(msg)
    sys.exit("no answer to %s within %d s" % (method, timeout))


def wait_diagnostics(uri, quiet=0.6, timeout=30):
    """The diagnostics of uri once the server has said nothing more of it for `quiet` seconds."""
    end, last = time.time() + timeout, None
    while time.time() < end:
        try:
            msg = inbox.get(timeout=quiet)
        except queue.Empty:
            if uri in diagnostics:
                return diagnostics[uri]
            continue
        if msg is None:
            sys.exit("yaml-language-server exited")
        handle(msg)
    return diagnostics.get(uri)


def uri_of(path):
    return "file://" + os.path.abspath(path)


request("initialize", {"processId": os.getpid(), "rootUri": uri_of(root), "capabilities": {
    "workspace": {"configuration": True},
    "textDocument": {"publishDiagnostics": {}, "completion": {"completionItem": {"snippetSupport": False}}}}})
send({"method": "initialized", "params": {}})
send({"method": "workspace/didChangeConfiguration", "params": {"settings": {"yaml": SETTINGS}}})

version = 0


def open_doc(path, text):
    global version
    version += 1
    uri = uri_of(path)
    diagnostics.pop(uri, None)
    send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "yaml", "version": version, "text": text}}})
    return uri


# Every example: its modeline is on line 1, and the server finds nothing wrong.
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(examples) for f in fs if f.endswith(".yaml"))
for path in files:
    text = open(path).read()
    rel = os.path.relpath(path, root)
    if re.search(r"^(apiVersion|kind):", text, re.M) and not re.search(r"^version:", text, re.M):
        # a Kubernetes or Cilium document: its schema is Kubernetes', not ours
        continue
    if not check(text.startswith("# yaml-language-server: $schema="), "%s: the modeline is line 1" % rel):
        continue
    d = wait_diagnostics(open_doc(path, text))
    check(d == [], "%s: no diagnostics (%s)" % (rel, "; ".join(x["message"] for x in d or []) or "none"))
    # the same with an unknown key, beside it: proof that the schema was found
    d = wait_diagnostics(open_doc(os.path.join(os.path.dirname(path), "zz-" + os.path.basename(path)),
                                  text + "\nbogus: 1\n")) or []
    check(any("bogus" in x["message"] for x in d), "%s: the schema is found (an unknown key added is reported)" % rel)

# A broken copy, beside the examples (the modeline's path is relative): a
# bad name, a bad address, an unknown key, a bad port.
src = open(os.path.join(examples, "minimal.yaml")).read()
broken = (src.replace("- name: web-1", "- name: Web_1", 1)
             .replace("ipv4: 10.1.0.10", "ipv4: 10.1.0.300", 1)
          + "\nbogus: 1\n")
lines = broken.split("\n")
line_of = lambda needle: next(i for i, l in enumerate(lines) if needle in l)
d = wait_diagnostics(open_doc(os.path.join(examples, "zz-editor-check.yaml"), broken)) or []
for x in d:
    print("   %d:%d %s" % (x["range"]["start"]["line"] + 1, x["range"]["start"]["character"] + 1, x["message"]))
at = lambda ln, text: any(x["range"]["start"]["line"] == ln and text in x["message"] for x in d)
check(at(line_of("Web_1"), "a name: lowercase letters"), "broken: the bad name is reported on its line, in words")
check(at(line_of("10.1.0.300"), "an IPv4 address"), "broken: the bad address is reported on its line, in words")
check(at(line_of("bogus"), "bogus"), "broken: the unknown key is reported on its line")
check(not any("^" in x["message"] or "(?:" in x["message"] for x in d), "broken: no message shows a raw regex")

# Completion of the top-level keys on an empty line.
doc = "# yaml-language-server: $schema=../../schema/sluice-state.schema.json\nversion: 1\n\n"
uri = open_doc(os.path.join(examples, "zz-editor-complete.yaml"), doc)
wait_diagnostics(uri)
res = request("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 0}})
items = res.get("items", []) if isinstance(res, dict) else (res or [])
labels = {i["label"] for i in items}
print("   completion: %s" % " ".join(sorted(labels)))
check({"identities", "endpoints", "policies", "services", "datapath"} <= labels,
      "completion offers the top-level keys")

request("shutdown", None)
send({"method": "exit"})
try:
    proc.wait(5)
except subprocess.TimeoutExpired:
    proc.kill()
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

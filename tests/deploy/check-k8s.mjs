// SPDX-License-Identifier: Apache-2.0
// The Kubernetes manifest against the Kubernetes OpenAPI schemas, offline:
// npm's kubernetes-models (its models validate with the schemas of the
// Kubernetes release it was generated from) and the yaml parser, from
// tests/tools/npm-cache.sh. Every document must validate, and a copy of the
// DaemonSet with a field of the wrong type must not (so that a validation
// that checks nothing cannot pass).
// Usage: node check-k8s.mjs NODE_MODULES MANIFEST
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, manifest] = process.argv.slice(2);
const from = (p) => import(pathToFileURL(join(modules, p)).href);
const yaml = await from("yaml/dist/index.js");
let passed = 0, failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok" : "not ok"} - ${what}`);
  ok ? passed++ : failed++;
};

async function model(doc) {
  const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : ["", doc.apiVersion];
  const mod = await from(`kubernetes-models/${group ? group + "/" : ""}${version}/${doc.kind}.js`);
  return new mod[doc.kind](doc);
}

async function valid(doc) {
  try {
    (await model(doc)).validate();
    return null;
  } catch (e) {
    return e.message.split("\n").slice(0, 3).join(" ");
  }
}

const docs = yaml.parseAllDocuments(readFileSync(manifest, "utf8")).map((d) => d.toJS()).filter(Boolean);
check(docs.length >= 3, `the manifest has its documents (${docs.map((d) => d.kind).join(", ")})`);
for (const d of docs) {
  const err = await valid(d);
  check(err === null, `${d.apiVersion} ${d.kind} ${d.metadata.name} validates${err ? ": " + err : ""}`);
}
const ds = docs.find((d) => d.kind === "DaemonSet");
if (ds) {
  const bad = structuredClone(ds);
  bad.spec.template.spec.containers[0].ports = [{ containerPort: "metrics" }];
  check((await valid(bad)) !== null, "a DaemonSet whose containerPort is a string is refused");
  const bad2 = structuredClone(ds);
  delete bad2.spec.selector;
  check((await valid(bad2)) !== null, "a DaemonSet without spec.selector is refused");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Check sluice's editor schema against the examples and against libcyaml.

usage: check-json-schema.py SCHEMA_JSON CYAML_DUMP_JSON EXAMPLES_DIR

1. Every *.yaml / *.yml file under EXAMPLES_DIR (recursively; each file on
   its own, also the files of a multi-file state directory) must validate
   against SCHEMA_JSON (JSON Schema draft 2020-12).
2. The JSON schema and the libcyaml schema (CYAML_DUMP_JSON, written by the
   C dump tool) must describe the same fields: both trees are walked from the
   root, and at every object the property names, the kind of every field
   (object, label map, array, scalar) and enum value sets must agree.

Exit status 0 when every check passes, 1 otherwise. The last line of output
is "N passed, M failed".

The dump is a tree of nodes:
  {"type": "object", "fields": {NAME: NODE, ...}}
  {"type": "array", "items": NODE}
  {"type": "string"} | {"type": "integer"} | {"type": "boolean"}
  {"type": "enum", "values": [...]}
  {"type": "labels"}                  (free-form map of strings)

Needs Debian's python3-jsonschema (>= 4.0) and python3-yaml; test-only.
"""

import json
import os
import re
import sys

import jsonschema
import yaml


# --------------------------------------------------------------------------
# YAML loading, with YAML 1.2 core-schema scalars as yaml-language-server
# sees them (PyYAML implements YAML 1.1, where `yes`, `on`, `1:20` or
# `2024-01-01` are not strings).

class Yaml12Loader(yaml.SafeLoader):
    pass


Yaml12Loader.yaml_implicit_resolvers = {}


def _resolver(tag, regexp, first):
    Yaml12Loader.add_implicit_resolver(tag, re.compile(regexp, re.X), list(first))


_resolver("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""])
_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_resolver("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
          "-+0123456789")
_resolver("tag:yaml.org,2002:float",
          r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
                 |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
          "-+0123456789.")


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0x"):
        return int(text[2:], 16)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 10)


def _construct_bool(loader, node):
    return loader.construct_scalar(node).lower() == "true"


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


def yaml_files(top):
    found = []
    for root, dirs, files in os.walk(top):
        # Hidden entries are never state (sluice skips them too).
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                found.append(os.path.join(root, name))
    return found


def json_path(error):
    out = ""
    for part in error.absolute_path:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(document)"


def message(error):
    """The error message, without the long address and label patterns."""
    if error.validator == "pattern" and "description" in error.schema:
        return "%r does not match: %s" % (error.instance, error.schema["description"])
    return error.message


def validate_examples(schema, top):
    """Validate every YAML file under top; returns (passed, failed)."""
    validator = jsonschema.Draft202012Validator(schema)
    passed = failed = 0
    files = yaml_files(top)
    if not files:
        print("FAIL %s: no *.yaml or *.yml files found" % top)
        return 0, 1
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                docs = list(yaml.load_all(f, Loader=Yaml12Loader))
        except (OSError, yaml.YAMLError) as e:
            print("FAIL %s: cannot read: %s" % (path, e))
            failed += 1
            continue
        if not docs:
            print("FAIL %s: empty file" % path)
            failed += 1
            continue
        # A file may hold several documents; each is a state document.
        problems = []
        for n, doc in enumerate(docs, 1):
            where = "document %d: " % n if len(docs) > 1 else ""
            if isinstance(doc, dict) and "version" not in doc and ("apiVersion" in doc or "kind" in doc):
                continue  # a Kubernetes or Cilium document: Kubernetes' schemas are its own
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                problems.append("  %s%s: %s" % (where, json_path(e), message(e)))
                # oneOf/anyOf failures: say why each branch failed.
                for sub in sorted(e.context or [], key=lambda s: list(s.absolute_path)):
                    problems.append("    - %s: %s" % (json_path(sub), message(sub)))
        if problems:
            failed += 1
            print("FAIL %s" % path)
            print("\n".join(problems))
        else:
            passed += 1
            print("ok %s" % path)
    return passed, failed


# --------------------------------------------------------------------------
# Walking the JSON schema.

class Shape:
    """What a JSON schema says about one node, merged over its subschemas."""

    def __init__(self):
        self.types = set()          # JSON types: object, array, string, ...
        self.properties = {}        # name -> [subschema, ...]
        self.items = []             # subschemas of array items
        self.enum = None            # set of allowed values, if any
        self.map_values = False     # additionalProperties/propertyNames schema


def json_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


class SchemaWalker:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise ValueError("only local $ref are supported: %s" % ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def shape(self, schemas):
        """Merge a list of subschemas (and everything they apply in place)."""
        shape = Shape()
        seen = set()

        def visit(s):
            if not isinstance(s, dict) or id(s) in seen:
                return
            seen.add(id(s))
            if "$ref" in s:
                visit(self.resolve(s["$ref"]))
            t = s.get("type")
            if t is not None:
                shape.types.update([t] if isinstance(t, str) else t)
            for name, sub in s.get("properties", {}).items():
                shape.properties.setdefault(name, []).append(sub)
            if "properties" in s:
                shape.types.add("object")
            if isinstance(s.get("additionalProperties"), dict) or "propertyNames" in s:
                shape.map_values = True
                shape.types.add("object")
            if "items" in s:
                shape.items.append(s["items"])
                shape.types.add("array")
            values = None
            if "enum" in s:
                values = list(s["enum"])
            if "const" in s:
                values = [s["const"]]
            if values is not None:
                shape.types.update(json_type(v) for v in values)
                shape.enum = set(values) if shape.enum is None else shape.enum | set(values)
            # In-place applicators that add properties or alternatives
            # (not `not`, whose subschemas forbid, and not `if`, which tests).
            for key in ("allOf", "anyOf", "oneOf"):
                for sub in s.get(key, []):
                    visit(sub)
            for key in ("then", "else"):
                if key in s:
                    visit(s[key])

        for s in schemas:
            visit(s)
        return shape


def schema_kind(shape):
    """object | labels | array | scalar | None (no type)."""
    kinds = set()
    if "object" in shape.types:
        kinds.add("object" if shape.properties else "labels")
    if "array" in shape.types:
        kinds.add("array")
    if shape.types - {"object", "array"}:
        kinds.add("scalar")
    return kinds


def dump_kind(node):
    t = node.get("type")
    if t in ("object", "array", "labels"):
        return t
    if t in ("string", "integer", "boolean", "enum"):
        return "scalar"
    return None


class Comparer:
    def __init__(self, walker):
        self.walker = walker
        self.passed = 0
        self.failed = 0

    def compare_object(self, path, dump, shape):
        """One check: the fields of one object (and the kinds of its fields)."""
        problems = []
        fields = dump.get("fields", {})
        where = path or "(root)"
        for name in sorted(set(fields) - set(shape.properties)):
            problems.append("%s: in libcyaml schema, missing in JSON schema" % join(path, name))
        for name in sorted(set(shape.properties) - set(fields)):
            problems.append("%s: in JSON schema, missing in libcyaml schema" % join(path, name))
        children = []
        for name in sorted(set(fields) & set(shape.properties)):
            sub_shape = self.walker.shape(shape.properties[name])
            self.compare_node(join(path, name), fields[name], sub_shape, problems, children)
        if problems:
            self.failed += 1
            print("FAIL object %s" % where)
            for p in problems:
                print("  " + p)
        else:
            self.passed += 1
        for child in children:
            child()

    def compare_node(self, path, dump, shape, problems, children):
        dk = dump_kind(dump)
        sk = schema_kind(shape)
        if dk is None:
            problems.append("%s: unknown node type %r in libcyaml dump" % (path, dump.get("type")))
            return
        if not sk:
            problems.append("%s: JSON schema gives no type" % path)
            return
        if dk not in sk:
            problems.append("%s: %s in libcyaml schema, %s in JSON schema"
                            % (path, dump["type"], " or ".join(sorted(sk))))
            return
        if dk == "object":
            children.append(lambda: self.compare_object(path, dump, shape))
        elif dk == "array":
            item_shape = self.walker.shape(shape.items)
            self.compare_node(path + "[]", dump.get("items", {}), item_shape, problems, children)
        elif dk == "scalar":
            self.compare_scalar(path, dump, shape, problems)

    @staticmethod
    def compare_scalar(path, dump, shape, problems):
        t = dump["type"]
        if t == "enum":
            dump_values = set(str(v) for v in dump.get("values", []))
            if shape.enum is None:
                problems.append("%s: enum %s in libcyaml schema, no enum in JSON schema"
                                % (path, sorted(dump_values)))
                return
            json_values = set(str(v) for v in shape.enum)
            for v in sorted(dump_values - json_values):
                problems.append("%s: enum value %r in libcyaml schema, missing in JSON schema"
                                % (path, v))
            for v in sorted(json_values - dump_values):
                problems.append("%s: enum value %r in JSON schema, missing in libcyaml schema"
                                % (path, v))
        elif t not in shape.types:
            # A libcyaml scalar without an enum may stand for a JSON schema
            # enum (checked by the C code after loading) if the types agree.
            problems.append("%s: %s in libcyaml schema, %s in JSON schema"
                            % (path, t, " or ".join(sorted(shape.types))))


def join(path, name):
    return name if not path else path + "." + name


def compare_schemas(schema, dump):
    walker = SchemaWalker(schema)
    comparer = Comparer(walker)
    root = walker.shape([schema])
    if dump.get("type") != "object" or "object" not in schema_kind(root):
        print("FAIL (root): the root must be an object in both schemas")
        return 0, 1
    comparer.compare_object("", dump, root)
    return comparer.passed, comparer.failed


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: %s SCHEMA_JSON CYAML_DUMP_JSON EXAMPLES_DIR\n" % argv[0])
        return 2
    schema_path, dump_path, examples = argv[1:]
    try:
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        print("FAIL %s: not a valid draft 2020-12 schema: %s" % (schema_path, e))
        print("0 passed, 1 failed")
        return 1

    passed, failed = validate_examples(schema, examples)

    try:
        with open(dump_path, encoding="utf-8") as f:
            dump = json.load(f)
    except (OSError, ValueError) as e:
        print("FAIL %s: cannot read the libcyaml dump: %s" % (dump_path, e))
        p, f_ = 0, 1
    else:
        p, f_ = compare_schemas(schema, dump)
        if f_ == 0:
            print("ok JSON schema and libcyaml schema agree (%d objects)" % p)
    passed += p
    failed += f_

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

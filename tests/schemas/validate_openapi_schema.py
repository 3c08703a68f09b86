#!/usr/bin/python3
"""Validates a JSON document against one schema of an OpenAPI 3.0 file.

usage: validate_openapi_schema.py OPENAPI_YAML SCHEMA_NAME JSON_FILE

OpenAPI 3.0 schemas are JSON Schema plus `nullable`; this turns `nullable: true` into
"null, or the rest of the schema", keeps every $ref into components/schemas resolvable
(the schemas stay in the document they refer to), checks the formats the contract
uses (date-time, byte), and validates with python3-jsonschema (Draft 7). Prints every
violation with its path and exits 1, or prints "valid" and exits 0.
"""
import base64
import binascii
import json
import re
import sys

import jsonschema
import yaml


def translate(node):
    """OpenAPI's nullable into JSON Schema, recursively."""
    if isinstance(node, list):
        return [translate(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: translate(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
formats = jsonschema.FormatChecker(formats=())


@formats.checks("date-time")
def is_date_time(value):
    return not isinstance(value, str) or RFC3339.match(value) is not None


@formats.checks("byte")
def is_base64(value):
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(value) % 4 == 0


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        contract = yaml.safe_load(f)
    with open(argv[3], encoding="utf-8") as f:
        document = json.load(f)
    schemas = contract["components"]["schemas"]
    if argv[2] not in schemas:
        print(f"{argv[1]} has no schema {argv[2]}", file=sys.stderr)
        return 2
    root = {"$ref": f"#/components/schemas/{argv[2]}", "components": {"schemas": translate(schemas)}}
    validator = jsonschema.Draft7Validator(root, format_checker=formats)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for e in errors:
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        print(f"{path}: {e.message[:300]}")
    if errors:
        return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

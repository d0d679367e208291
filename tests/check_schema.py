"""The JSON schema docs/check.md documents for `gradc check --json`, and a
checker of a report against it."""

from __future__ import annotations

import json

from conftest import ROOT


def documented_schema() -> dict:
    text = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    block = text.split("## JSON\n", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    return json.loads(block)


def conforms(value, schema, where="$") -> list[str]:
    """Where `value` departs from `schema` (nothing when it conforms)."""
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        if len(schema) == 1 and next(iter(schema)).startswith("<"):
            kind = next(iter(schema.values()))
            return [p for k, v in value.items() for p in conforms(v, kind, f"{where}.{k}")]
        if sorted(value) != sorted(schema):
            return [f"{where}: keys {sorted(value)} != {sorted(schema)}"]
        return [p for k in schema for p in conforms(value[k], schema[k], f"{where}.{k}")]
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [p for i, v in enumerate(value) for p in conforms(v, schema[0], f"{where}[{i}]")]
    return [] if _matches(value, schema) else [f"{where}: {value!r} is not {schema}"]


def _matches(value, kind: str) -> bool:
    types = {"string": str, "boolean": bool, "number": (int, float), "integer": int}
    for option in kind.split(" | "):
        if option == "null" and value is None or option == "array" and _numbers(value):
            return True
        if option in types and isinstance(value, types[option]) and \
                (option == "boolean" or not isinstance(value, bool)):
            return True
        if option not in types and option not in ("null", "array") and value == option:
            return True
    return False


def _numbers(value) -> bool:
    """Nested lists of numbers: an array."""
    if isinstance(value, list):
        return all(_numbers(v) for v in value)
    return isinstance(value, float)

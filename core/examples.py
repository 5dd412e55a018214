"""Example values from JSON schemas: the request bodies the API page pre-fills (``/docs.json`` carries them).

An example must pass the API's own validation on the first click, so it honours what the schema states:
``default``/``examples``/``const``/``enum`` first, then bounds (``minimum``, ``exclusiveMaximum``,
``multipleOf``), lengths (``minLength``, ``minItems``), string formats (dates, UUIDs, e-mail addresses)
and array shapes. An item of unknown type (a numpy array's elements) is ``0``, a number every numeric
dtype accepts.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 8
_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00",
    "duration": "P1D",
    "email": "user@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
}


def example_of(schema: dict[str, Any], components: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value valid against ``schema``; ``$ref`` resolves against ``components`` (name -> schema)."""
    schema = _resolve(schema, components or {})
    if depth > MAX_DEPTH:
        return None
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        typed = [o for o in options if _resolve(o, components or {}).get("type") != "null"]
        return example_of((typed or options)[0], components, depth + 1)
    if schema.get("allOf"):
        return example_of(schema["allOf"][0], components, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        return {name: example_of(sub, components, depth + 1)
                for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        prefix = schema.get("prefixItems")
        if prefix:
            return [example_of(s, components, depth + 1) for s in prefix]
        count = max(int(schema.get("minItems", 1)), 1)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        item = schema.get("items") or {}
        return [example_of(item, components, depth + 1) for _ in range(count)]
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, kind == "integer")
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return 0  # no type stated: numbers pass every numeric element type (numpy arrays)


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        schema = components.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _string(schema: dict[str, Any]) -> str:
    if schema.get("format") == "binary" or "contentMediaType" in schema:
        return ""
    text = _FORMATS.get(str(schema.get("format")), "string")
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(text) < low:
        text = (text * (low // len(text) + 1))[:low]
    if high is not None and len(text) > int(high):
        text = text[: int(high)]
    return text


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    """0 when allowed, else the nearest allowed value (inside exclusive bounds, on ``multipleOf``)."""
    low, high = float(schema.get("minimum", -math.inf)), float(schema.get("maximum", math.inf))
    open_low = "exclusiveMinimum" in schema and float(schema["exclusiveMinimum"]) >= low
    open_high = "exclusiveMaximum" in schema and float(schema["exclusiveMaximum"]) <= high
    if open_low:
        low = float(schema["exclusiveMinimum"])
    if open_high:
        high = float(schema["exclusiveMaximum"])
    step = schema.get("multipleOf")
    if integer or step:
        unit = float(step or 1)
        first, last = low, high
        if math.isfinite(low):
            first = math.floor(low / unit) * unit
            if first < low or (open_low and first == low):
                first += unit
        if math.isfinite(high):
            last = math.ceil(high / unit) * unit
            if last > high or (open_high and last == high):
                last -= unit
        value = min(max(0.0, first), last) if first <= last else first
        return int(value) if integer else value
    value = min(max(0.0, low), high)
    if (open_low and value == low) or (open_high and value == high):
        if math.isfinite(low) and math.isfinite(high):
            value = (low + high) / 2
        else:
            value = low + 1 if value == low else high - 1
    return value

"""What the whole API promises about its input, read from its OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crrt.api import create_app
from crrt.core.config import Settings
from crrt.core.db import Database

# Strings a fixed parser reads (a date, a UUID) need no length: the parser refuses anything long.
FIXED_FORMATS = {"date", "date-time", "uuid"}


def _document() -> dict[str, Any]:
    app = create_app(Settings(secret_key="bounds-secret-key"), database=Database("sqlite://"),
                     check_schema=False)
    return app.openapi()


def _unbounded(schema: dict[str, Any], components: dict[str, Any], where: str,
               seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every place under ``schema`` where a string or a list has no upper bound."""
    ref = schema.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            yield from _unbounded(components[name], components, where, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            yield from _unbounded(part, components, where, seen)
    kind = schema.get("type")
    if kind == "string" and "enum" not in schema and "const" not in schema \
            and schema.get("format") not in FIXED_FORMATS \
            and "contentMediaType" not in schema and "maxLength" not in schema:
        yield where  # a file upload (contentMediaType) is bounded by its route's body limit
    if kind == "array":
        if "maxItems" not in schema:
            yield where
        yield from _unbounded(schema.get("items", {}), components, f"{where}[]", seen)
    if kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            yield from _unbounded(sub, components, f"{where}.{name}", seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and "maxProperties" not in schema:
            yield f"{where}.*"


def request_inputs(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, schema) of every parameter and request body of every operation."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield f"{label} {parameter['in']} {parameter['name']}", parameter["schema"]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{label} body ({media})", content["schema"]


def unbounded_inputs(document: dict[str, Any]) -> list[str]:
    components = document.get("components", {}).get("schemas", {})
    return [found for where, schema in request_inputs(document)
            for found in _unbounded(schema, components, where)]


def test_every_request_string_and_list_is_bounded():
    """A list or a string without a bound lets any signed-in caller make the server validate
    megabytes before the permission check (a 15-second PATCH): each must declare its bound."""
    document = _document()
    assert len(list(request_inputs(document))) > 50  # the walk sees the whole API
    assert unbounded_inputs(document) == []


@pytest.mark.parametrize("schema", [
    {"type": "string"}, {"type": "array", "items": {"type": "integer"}},
    {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
    {"type": "array", "maxItems": 3, "items": {"$ref": "#/components/schemas/Loose"}},
    {"type": "object", "additionalProperties": {"type": "integer"}},
])
def test_the_walk_finds_an_unbounded_input_wherever_it_hides(schema):
    components = {"Loose": {"type": "object", "properties": {"b": {"type": "string"}}}}
    assert list(_unbounded(schema, components, "x"))


def test_the_walk_accepts_bounded_and_fixed_format_inputs():
    components = {"Tight": {"type": "object", "properties": {"b": {"type": "string",
                                                                    "maxLength": 9}}}}
    for schema in ({"type": "string", "maxLength": 5}, {"type": "string", "format": "uuid"},
                   {"type": "string", "enum": ["a"]}, {"$ref": "#/components/schemas/Tight"},
                   {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 1}}):
        assert list(_unbounded(schema, components, "x")) == []

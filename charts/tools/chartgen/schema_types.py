"""JSON schema building blocks: closed objects, bounded numbers, and the value types the charts use."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def obj(properties: dict[str, Schema], *, required: list[str] | None = None, desc: str = "") -> Schema:
    """A closed object: unknown keys are rejected."""
    schema: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    if desc:
        schema["description"] = desc
    return schema


def string_map(desc: str = "") -> Schema:
    schema: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
    if desc:
        schema["description"] = desc
    return schema


def free_object(desc: str = "") -> Schema:
    schema: Schema = {"type": "object"}
    if desc:
        schema["description"] = desc
    return schema


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


BOOL: Schema = {"type": "boolean"}
STRING: Schema = {"type": "string"}
NONEMPTY: Schema = {"type": "string", "minLength": 1}


def integer(minimum: int | None = None, maximum: int | None = None) -> Schema:
    schema: Schema = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def number(minimum: float | None = None, maximum: float | None = None, *, exclusive: bool = False) -> Schema:
    schema: Schema = {"type": "number"}
    if minimum is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


QUANTITY: Schema = {
    "anyOf": [
        {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$"},
        {"type": "number", "minimum": 0},
    ]
}
INT_OR_PERCENT: Schema = {"anyOf": [integer(0), {"type": "string", "pattern": r"^[0-9]+%$"}]}
DURATION: Schema = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h))+$"}
PORTS: Schema = {"type": "array", "minItems": 1, "items": integer(1, 65535)}
PEERS: Schema = {"type": "array", "items": {"type": "object"}}
STRING_LIST: Schema = {"type": "array", "items": NONEMPTY}
EXTRA_ENV: Schema = {
    "type": "array",
    "items": obj(
        {"name": NONEMPTY, "value": STRING, "valueFrom": {"type": "object"}},
        required=["name"],
    ),
}
LIST_OR_CSV: Schema = {"anyOf": [STRING, STRING_LIST]}
DNS_NAME: Schema = {
    "type": "string",
    "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$",
}


CRON: Schema = {
    "type": "string",
    "pattern": r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$",
}

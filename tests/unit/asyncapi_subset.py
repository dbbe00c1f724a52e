"""A hand-written JSON Schema of the part of AsyncAPI 3.0 that schemas/asyncapi.json uses.

No PyPI package ships the official AsyncAPI 3.0 JSON Schema (searched: asyncapi*, pydantic-asyncapi,
asyncapi3, asyncapi-python, check-jsonschema's vendored schemas). This subset is written from the
AsyncAPI 3.0.0 specification text: the object field names and required fields of the root, Info,
License, Server, Channel, Parameter, Operation, Message, Components and Reference objects, and of
the Kafka bindings 0.5.0; unknown fields fail (only ``x-`` extensions are allowed, as in the spec).
Schema objects (payloads, headers, keys) are checked separately against JSON Schema draft-07, the
base of the AsyncAPI Schema format.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ASYNCAPI_3_SUBSET"]

_EXT = {"^x-[\\w\\d.\\x2d_]+$": {}}
_KEY = "^[a-zA-Z0-9.\\-_]+$"


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(required),
        "patternProperties": _EXT,
        "additionalProperties": False,
    }


_REF = {
    "type": "object",
    "properties": {"$ref": {"type": "string", "format": "uri-reference"}},
    "required": ["$ref"],
    "additionalProperties": False,
}
_TEXT = {"type": "string"}
_SCHEMA = {"type": "object"}  # checked separately against draft-07


def _map(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "propertyNames": {"pattern": _KEY}, "additionalProperties": value}


_KAFKA_CHANNEL = _obj(
    {
        "topic": _TEXT,
        "partitions": {"type": "integer", "minimum": 1},
        "replicas": {"type": "integer", "minimum": 1},
        "topicConfiguration": {
            "type": "object",
            "properties": {
                "cleanup.policy": {
                    "type": "array",
                    "items": {"enum": ["compact", "delete"]},
                },
                "retention.ms": {"type": "integer", "minimum": -1},
            },
        },
        "bindingVersion": {"enum": ["0.5.0"]},
    }
)
_KAFKA_MESSAGE = _obj(
    {
        "key": _SCHEMA,
        "schemaIdLocation": {"enum": ["header", "payload"]},
        "bindingVersion": {"enum": ["0.5.0"]},
    }
)
_MESSAGE = _obj(
    {
        "headers": _SCHEMA,
        "payload": {"anyOf": [_REF, _SCHEMA]},
        "correlationId": _SCHEMA,
        "contentType": _TEXT,
        "name": _TEXT,
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
        "tags": {"type": "array"},
        "bindings": _obj({"kafka": _KAFKA_MESSAGE}),
        "examples": {"type": "array"},
    }
)
_CHANNEL = _obj(
    {
        "address": {"type": ["string", "null"]},
        "messages": _map({"anyOf": [_REF, _MESSAGE]}),
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
        "servers": {"type": "array", "items": _REF},
        "parameters": _map({"anyOf": [_REF, _obj({"enum": {}, "default": _TEXT,
                                                  "description": _TEXT, "examples": {},
                                                  "location": _TEXT})]}),
        "bindings": _obj({"kafka": _KAFKA_CHANNEL}),
    }
)  # fmt: skip
_OPERATION = _obj(
    {
        "action": {"enum": ["send", "receive"]},
        "channel": _REF,
        "title": _TEXT,
        "summary": _TEXT,
        "description": _TEXT,
        "messages": {"type": "array", "items": _REF},
    },
    required=("action", "channel"),
)

ASYNCAPI_3_SUBSET: dict[str, Any] = _obj(
    {
        "asyncapi": {"const": "3.0.0"},
        "id": {"type": "string", "format": "uri"},
        "info": _obj(
            {
                "title": _TEXT,
                "version": _TEXT,
                "description": _TEXT,
                "termsOfService": _TEXT,
                "contact": {"type": "object"},
                "license": _obj({"name": _TEXT, "url": _TEXT}, required=("name",)),
            },
            required=("title", "version"),
        ),
        "defaultContentType": _TEXT,
        "servers": _map(
            _obj(
                {
                    "host": _TEXT,
                    "protocol": _TEXT,
                    "protocolVersion": _TEXT,
                    "pathname": _TEXT,
                    "description": _TEXT,
                    "title": _TEXT,
                },
                required=("host", "protocol"),
            )
        ),
        "channels": _map({"anyOf": [_REF, _CHANNEL]}),
        "operations": _map({"anyOf": [_REF, _OPERATION]}),
        "components": _obj(
            {
                "schemas": _map(_SCHEMA),
                "messages": _map({"anyOf": [_REF, _MESSAGE]}),
                "parameters": _map({"type": "object"}),
            }
        ),
    },
    required=("asyncapi", "info"),
)

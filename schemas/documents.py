"""The generated, checked-in contract documents: a JSON Schema per event and the AsyncAPI 3.0 file.

``generate()`` returns every document as ``{relative path: bytes}``; ``oppbus schemas generate``
writes them under ``schemas/`` and ``oppbus schemas check`` fails when the checked-in copies differ
(a test runs the check, so a model change without regenerated documents cannot land).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic.json_schema import models_json_schema

from schemas.common import Contract
from schemas.events import EVENT_TOPICS, EVENT_TYPES
from schemas.topics import TOPICS, TopicSpec

__all__ = [
    "ASYNCAPI_PATH",
    "DEFAULT_PARTITIONS",
    "JSON_SCHEMA_DIALECT",
    "asyncapi",
    "generate",
    "json_schema",
    "schema_path",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_PATH = "asyncapi.json"
DEFAULT_PARTITIONS = 4  # Settings.partitions default; a deployment may choose more
_KAFKA_BINDING = "0.5.0"
_PREFIX = "io.oppbus."


def schema_path(ce_type: str) -> str:
    """``io.oppbus.opportunity.published.v1`` -> ``jsonschema/opportunity.published.v1.json``."""
    return f"jsonschema/{ce_type.removeprefix(_PREFIX)}.json"


def json_schema(ce_type: str) -> dict[str, Any]:
    """The self-contained JSON Schema (draft 2020-12) of one event type's data."""
    model = EVENT_TYPES[ce_type]
    body = model.model_json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:oppbus:schema:{ce_type.removeprefix(_PREFIX)}",
        "x-cloudevents-type": ce_type,
        "x-topic": EVENT_TOPICS[ce_type],
        **body,
    }


def _message_name(ce_type: str) -> str:
    return ce_type.removeprefix(_PREFIX).replace(".", "-")


def _ce_headers(ce_type: str) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "description": "CloudEvents 1.0 Kafka protocol binding, binary content mode.",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time"],
        "properties": {
            "ce_specversion": {"const": "1.0"},
            "ce_id": {**text, "description": "unique per source; consumers dedupe on it"},
            "ce_source": {**text, "description": "URI-reference of the producer"},
            "ce_type": {"const": ce_type},
            "ce_time": {"type": "string", "format": "date-time"},
            "ce_dataschema": {"type": "string", "format": "uri"},
            "content-type": {"const": "application/json"},
            "oppbus-mac": {
                **text,
                "description": "<key id>.<base64 HMAC-SHA256> by the bus's service key over "
                "topic, key, value and the other headers; records without a valid one are "
                "dead-lettered, never applied (docs/security.md)",
            },
        },
    }


def _key_schema(spec: TopicSpec) -> dict[str, Any]:
    return {"type": "string", "description": f"Kafka key: {spec.key}"}


def _channel(spec: TopicSpec, messages: list[str]) -> dict[str, Any]:
    return {
        "address": f"{{prefix}}.{spec.name}",
        "title": spec.name,
        "description": spec.description,
        "parameters": {"prefix": {"$ref": "#/components/parameters/prefix"}},
        "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions or DEFAULT_PARTITIONS,
                "topicConfiguration": {"cleanup.policy": [spec.cleanup]},
                "bindingVersion": _KAFKA_BINDING,
            }
        },
        "x-key": spec.key,
        "x-publishers": list(spec.publishers),
        "x-consumers": list(spec.consumers),
    }


def _operations(spec: TopicSpec, messages: list[str]) -> dict[str, Any]:
    refs = [{"$ref": f"#/channels/{spec.name}/messages/{m}"} for m in messages]
    channel = {"$ref": f"#/channels/{spec.name}"}
    ops: dict[str, Any] = {}
    if spec.publishers:
        ops[f"{spec.name}.publish"] = {
            "action": "send",
            "channel": channel,
            "title": f"Publish to {spec.name}",
            "summary": "Published by: " + ", ".join(spec.publishers),
            "messages": refs,
        }
    if spec.consumers:
        ops[f"{spec.name}.consume"] = {
            "action": "receive",
            "channel": channel,
            "title": f"Consume {spec.name}",
            "summary": "Consumed by: " + ", ".join(spec.consumers),
            "messages": refs,
        }
    return ops


def _draft07(node: Any) -> Any:
    """AsyncAPI 3.0 schemas are JSON Schema draft-07: tuples use ``items: [...]``, not
    ``prefixItems`` (the only 2020-12 keyword pydantic emits for these models)."""
    if isinstance(node, list):
        return [_draft07(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft07(v) for k, v in node.items()}
    if "prefixItems" in out:
        out["items"] = out.pop("prefixItems")
        out["additionalItems"] = False
    return out


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 description of every topic of ``schemas.topics.TOPICS``."""
    models: list[tuple[type[Contract], Any]] = [(m, "validation") for m in EVENT_TYPES.values()]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = _draft07(defs.get("$defs", {}))
    messages: dict[str, Any] = {}
    for ce_type, model in EVENT_TYPES.items():
        spec = next(t for t in TOPICS if t.name == EVENT_TOPICS[ce_type])
        messages[_message_name(ce_type)] = {
            "name": model.__name__,
            "title": ce_type,
            "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": _ce_headers(ce_type),
            "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
            "bindings": {"kafka": {"key": _key_schema(spec), "bindingVersion": _KAFKA_BINDING}},
            "x-cloudevents-type": ce_type,
        }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in TOPICS:
        names = [_message_name(t) for t in EVENT_TYPES if EVENT_TOPICS[t] == spec.name]
        channels[spec.name] = _channel(spec, names)
        operations.update(_operations(spec, names))
    return {
        "asyncapi": "3.0.0",
        "id": "urn:oppbus:bus",
        "info": {
            "title": "oppbus",
            "version": "1.0.0",
            "description": "Partner opportunity-sharing bus: every topic, its key, partitions, "
            "cleanup policy, event types (CloudEvents 1.0, Kafka binary binding, JSON data), "
            "who publishes and who consumes. Generated from schemas/ and schemas/topics.py by "
            "`oppbus schemas generate`: do not edit by hand.",
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded broker of `oppbus up` (any Kafka 3.x/4.x works).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {
                "prefix": {
                    "default": "oppbus",
                    "description": "Settings.topic_prefix (OPPBUS_TOPIC_PREFIX)",
                }
            },
            "messages": messages,
            "schemas": schemas,
        },
    }


def _dump(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def generate() -> dict[str, bytes]:
    """Every generated document, ``{path relative to schemas/: content}``."""
    out = {schema_path(t): _dump(json_schema(t)) for t in EVENT_TYPES}
    out[ASYNCAPI_PATH] = _dump(asyncapi())
    return out

"""The bus codec registered with Faust as ``"oppbus"`` (call :func:`register_faust_codec` once).

Faust codecs see the value only, not the headers, so this codec handles the body: a bus event (any
pydantic contract) is dumped with one ``orjson.dumps`` of its JSON form, other values as plain JSON;
``loads`` returns the parsed JSON (use :func:`schemas.codec.decode_data` with the record's ``ce_type``
header to validate it). Agents on the hot path use ``value_serializer="raw"`` and call
:func:`schemas.codec.decode` / :func:`schemas.codec.encode` themselves (one parse, headers included).
"""

from __future__ import annotations

from typing import Any

import orjson
from faust.serializers import codecs
from pydantic import BaseModel

__all__ = ["CODEC_NAME", "OppbusCodec", "register_faust_codec"]

CODEC_NAME = "oppbus"


class OppbusCodec(codecs.Codec):
    """orjson, with pydantic models dumped in their JSON mode (decimal strings, RFC 3339 times)."""

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, BaseModel):
            return orjson.dumps(obj.model_dump(mode="json"))
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


def register_faust_codec() -> None:
    """Make ``value_serializer="oppbus"`` available to Faust (idempotent)."""
    codecs.register(CODEC_NAME, OppbusCodec())

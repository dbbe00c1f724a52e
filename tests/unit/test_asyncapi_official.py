"""schemas/asyncapi.json against the OFFICIAL AsyncAPI 3.0.0 JSON Schema (npm @asyncapi/specs).

The schema is fetched once (pinned version, verified sha512 integrity) into the cache directory, or
read from ``OPPBUS_ASYNCAPI_SCHEMA``: a download that fails is a test error, never a skip.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import socket
import tarfile
from pathlib import Path
from typing import Any

import orjson
import pytest

from ops.cli import main
from ops.schemas_command import default_dir
from schemas import asyncapi_spec
from schemas.asyncapi_spec import (
    SCHEMA_SHA256,
    SpecUnavailable,
    asyncapi_errors,
    fetch,
    load_schema,
    official_schema_path,
    schema_from_tarball,
    validator,
)
from schemas.documents import ASYNCAPI_PATH

DOC_PATH = default_dir() / ASYNCAPI_PATH


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    return load_schema()  # downloads once into the cache; SpecUnavailable fails the tests


@pytest.fixture
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(DOC_PATH.read_bytes())
    return loaded


def test_official_schema_is_the_pinned_asyncapi_3_bundle(official: dict[str, Any]) -> None:
    assert hashlib.sha256(official_schema_path().read_bytes()).hexdigest() == SCHEMA_SHA256
    assert official["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    assert official["properties"]["asyncapi"]["const"] == "3.0.0"


def test_asyncapi_document_validates_against_the_official_schema(
    official: dict[str, Any], doc: dict[str, Any]
) -> None:
    validator(official).validate(doc)
    assert asyncapi_errors(doc, official) == []


def _first(mapping: dict[str, Any]) -> str:
    return sorted(mapping)[0]


def _channel(d: dict[str, Any]) -> dict[str, Any]:
    channel: dict[str, Any] = d["channels"][_first(d["channels"])]
    return channel


def _message(d: dict[str, Any]) -> dict[str, Any]:
    messages = d["components"]["messages"]
    message: dict[str, Any] = messages[_first(messages)]
    return message


# Each mutation breaks a rule of AsyncAPI 3.0 that only the official schema (with its Kafka binding
# and Schema-object sub-schemas, resolved by $id inside the bundle) knows; the error names the path.
MUTATIONS = {
    "asyncapi 2 version": (lambda d: d.update(asyncapi="2.6.0"), "asyncapi"),
    "info without title": (lambda d: d["info"].pop("title"), "info"),
    "asyncapi 2 operation verb": (
        lambda d: d["operations"][_first(d["operations"])].update(action="publish"),
        "operations.",
    ),
    "kafka partitions as text": (
        lambda d: _channel(d)["bindings"]["kafka"].update(partitions="4"),
        ".bindings.kafka.partitions",
    ),
    "unknown kafka cleanup policy": (
        lambda d: _channel(d)["bindings"]["kafka"]["topicConfiguration"].update(
            {"cleanup.policy": ["forever"]}
        ),
        ".bindings.kafka.topicConfiguration",
    ),
    "unknown message field": (lambda d: _message(d).update(partitionKey="x"), "components."),
    "payload schema with a bad type": (
        lambda d: d["components"]["schemas"][_first(d["components"]["schemas"])].update(
            type="decimal"
        ),
        "components.schemas.",
    ),
    "server without protocol": (
        lambda d: d["servers"]["embedded"].pop("protocol"),
        "servers.embedded",
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_official_schema_rejects_invalid_asyncapi(
    name: str, official: dict[str, Any], doc: dict[str, Any]
) -> None:
    mutate, where = MUTATIONS[name]
    bad = copy.deepcopy(doc)
    mutate(bad)
    errors = asyncapi_errors(bad, official)
    assert errors, name
    assert any(where in e.field or e.field.startswith(where) for e in errors), errors


def test_every_message_headers_schema_is_an_object(doc: dict[str, Any]) -> None:
    # AsyncAPI 3.0 says so in prose ("MUST be of type object"); its JSON Schema does not check it.
    for name, message in doc["components"]["messages"].items():
        assert message["headers"]["type"] == "object", name


def test_schemas_validate_asyncapi_command(
    official: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schemas", "validate", "--asyncapi"]) == 0
    assert "valid AsyncAPI 3.0.0" in capsys.readouterr().out
    bad = orjson.loads(DOC_PATH.read_bytes())
    bad["operations"][_first(bad["operations"])]["action"] = "publish"
    path = tmp_path / "bad.json"
    path.write_bytes(orjson.dumps(bad))
    assert main(["schemas", "validate", "--asyncapi", str(DOC_PATH), str(path)]) == 1
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith(f"{path}: ")
    errors = orjson.loads(line.split(": ", 1)[1])["errors"]
    assert [e["type"] for e in errors] == ["enum"]
    assert errors[0]["field"].endswith(".action")


def _tarball(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_a_tampered_tarball_fails_the_pinned_integrity() -> None:
    fake = _tarball({asyncapi_spec.SCHEMA_MEMBER: b'{"$id": "evil"}'})
    with pytest.raises(SpecUnavailable, match="integrity"):
        schema_from_tarball(fake)


def test_a_tarball_with_another_schema_file_is_refused() -> None:
    fake = _tarball({asyncapi_spec.SCHEMA_MEMBER: b'{"$id": "other"}'})
    with pytest.raises(SpecUnavailable, match="SCHEMA_SHA256"):
        schema_from_tarball(fake, integrity=_integrity(fake))
    empty = _tarball({"package/package.json": b"{}"})
    with pytest.raises(SpecUnavailable, match=r"no package/schemas/3\.0\.0\.json"):
        schema_from_tarball(empty, integrity=_integrity(empty))


def test_a_failed_download_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/specs.tgz"
    with pytest.raises(SpecUnavailable, match="cannot download") as caught:
        fetch(tmp_path, url=url, timeout=5)
    assert "OPPBUS_ASYNCAPI_SCHEMA" in str(caught.value)
    assert not any(tmp_path.rglob("*.json"))


def test_a_given_copy_is_verified(tmp_path: Path, official: dict[str, Any]) -> None:
    good = official_schema_path()
    assert official_schema_path({"OPPBUS_ASYNCAPI_SCHEMA": str(good)}) == good
    forged = tmp_path / "3.0.0.json"
    forged.write_bytes(orjson.dumps({**official, "additionalProperties": True}))
    with pytest.raises(SpecUnavailable, match="sha256"):
        official_schema_path({"OPPBUS_ASYNCAPI_SCHEMA": str(forged)})


def test_a_corrupt_cached_copy_is_downloaded_again(tmp_path: Path) -> None:
    cached = tmp_path / f"asyncapi-specs-{asyncapi_spec.SPECS_VERSION}" / "3.0.0.json"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"{}")
    tarball = tmp_path / "specs.tgz"
    tarball.write_bytes(b"not a tarball")  # stands for the registry: it must be asked again
    with pytest.raises(SpecUnavailable, match="integrity"):
        fetch(tmp_path, url=tarball.as_uri())


def test_schemas_validate_asyncapi_says_why_the_schema_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPPBUS_ASYNCAPI_SCHEMA", str(tmp_path / "missing.json"))
    assert main(["schemas", "validate", "--asyncapi"]) == 2
    err = capsys.readouterr().err
    assert (
        "unavailable" in err and "missing.json" in err and "python -m schemas.asyncapi_spec" in err
    )

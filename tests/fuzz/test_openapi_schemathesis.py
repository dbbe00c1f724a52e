"""Schemathesis against the /openapi.json of a running API: no 5xx, every response as documented.

A real ``oppbus api`` process (its own topics on the session broker) serves the spec; every
operation is called with generated data (bounded: a few examples each) as a registered partner,
and each response is checked: never a server error, status code, content type and body as the
document says. Load shedding is off here (its 429/503 are fault 6's subject).

Both modes run: positive data (valid by the document) must never get a server error or an
undocumented answer; negative data (invalid by the document) must be rejected with a documented
4xx. The document states every constraint the API enforces on a single value (id patterns, the
input rules' text pattern, the industry and capability enums, status enum, header forms).

Not checked: schemathesis' "schema-valid request rejected" (ST202) for positive data. Some rules
cannot be stated in JSON Schema: ``expected_close`` lies in a window relative to today, and
cross-field rules (``retains`` disjoint from ``needs``, a certification's capability among the
needs, ``won`` with an amount), so a generated body can be valid by the document and still get a
documented 422.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from streams.runtime.topic_admin import ensure_topics
from streams.settings import Settings
from tests.faults.procs import ApiProc

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ADMIN = "admin-token-for-the-fuzz-suite-01234"
EXAMPLES = 6  # per operation and mode: the run stays well under two minutes


@pytest.fixture(scope="module")
def running_api(broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProc]:
    import asyncio

    from streams.settings import load_settings

    settings: Settings = load_settings(
        {"broker": broker.url, "topic_prefix": "fuzzapi", "app_id": "fuzzapi", "partitions": 2},
        env={},
    )
    asyncio.run(ensure_topics(settings))
    api = ApiProc(
        settings,
        Path(tmp_path_factory.mktemp("fuzz")) / "api.log",
        env={"OPPBUS_ADMIN_TOKEN": ADMIN, "OPPBUS_HTTP_RATE_PER_CLIENT": "0"},
    )
    api.start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture(scope="module")
def api_schema(running_api: ApiProc) -> schemathesis.BaseSchema:
    import urllib.request

    import orjson

    request = urllib.request.Request(
        running_api.url + "/v1/partners/fuzz-partner",
        data=orjson.dumps(
            {"name": "Fuzz", "kind": "reseller", "capabilities": ["storage"], "regions": ["US"]}
        ),
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        key = orjson.loads(resp.read())["api_key"]
    schema = schemathesis.openapi.from_url(running_api.url + "/openapi.json")
    schema.config.headers = {"Authorization": f"Bearer {key}"}
    return schema


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_matches_its_openapi_document(
    api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    auth = dict(api_schema.config.headers or {})
    failures: list[str] = []
    took: dict[str, float] = {}
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if mode is GenerationMode.NEGATIVE and not _negatable(operation.definition.raw):
            continue  # no body, no constrained parameter: nothing can be made invalid

        excluded = [positive_data_acceptance]
        if operation.label == "GET /healthz":
            # no worker runs here: its documented answer is 503 naming what is still starting
            excluded.append(not_a_server_error)

        @hsettings(max_examples=EXAMPLES, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            # the lead stream never ends by itself: its headers and first bytes are checked
            wait = {"timeout": 1} if case.operation.label.endswith("/stream") else {}
            case.call_and_validate(headers=auth, excluded_checks=excluded, **wait)  # noqa: B023

        started = time.monotonic()
        try:
            check()
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            text = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
            failures.append(f"{operation.label}: {text[:600]}")
        took[operation.label] = time.monotonic() - started
    assert operations >= 15, f"only {operations} operations in the document"
    assert not failures, "\n".join(failures)
    slowest = max(took, key=took.__getitem__)
    assert sum(took.values()) < 90, f"{mode.value}: {sum(took.values()):.0f} s, {slowest} slowest"


def _negatable(raw: dict[str, Any]) -> bool:
    """An operation with a body or a constrained parameter can be sent invalid data."""
    constrained = any(
        {"pattern", "enum"} & set(p.get("schema", {})) for p in raw.get("parameters", ())
    )
    return constrained or "requestBody" in raw


def test_the_served_process_answers_unparsable_requests_as_json(running_api: ApiProc) -> None:
    """``oppbus api`` serves through ``connectors.http.serve``: no header echoed back."""
    import socket
    from urllib.parse import urlsplit

    import orjson

    url = urlsplit(running_api.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Leak: " + b"S3CR3T" * 2000 + b"\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") or head.startswith(b"HTTP/1.0 400"), head
    assert b"application/json" in head and b"S3CR3T" not in answer
    assert orjson.loads(body)["error"] == "bad_request"

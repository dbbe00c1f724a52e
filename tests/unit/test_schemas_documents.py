"""The generated documents: checked in and current, valid, and faithful to models and topics."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from ops.cli import main
from ops.schemas_command import check, default_dir
from schemas.documents import ASYNCAPI_PATH, DEFAULT_PARTITIONS, schema_path
from schemas.events import EVENT_TOPICS, EVENT_TYPES
from schemas.samples import EXAMPLES_DIR
from schemas.topics import TOPICS
from streams.settings import Settings

DIR = default_dir()


def _load(rel: str) -> Any:
    return orjson.loads((DIR / rel).read_bytes())


def _example_data(ce_type: str) -> dict[str, Any]:
    raw = orjson.loads((EXAMPLES_DIR / f"{ce_type.removeprefix('io.oppbus.')}.json").read_bytes())
    data: dict[str, Any] = raw["data"]
    return data


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = _load(ASYNCAPI_PATH)
    return loaded


def test_checked_in_documents_match_the_models() -> None:
    assert check(DIR) == [], "run `oppbus schemas generate` and commit the result"


def test_schemas_check_command_detects_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "schemas"
    assert main(["schemas", "generate", "--dir", str(target)]) == 0
    assert main(["schemas", "check", "--dir", str(target)]) == 0
    doc_path = target / schema_path("io.oppbus.opportunity.published.v1")
    doc_path.write_bytes(doc_path.read_bytes().replace(b'"needs"', b'"wants"'))
    (target / "jsonschema" / "gone.v0.json").write_text("{}")
    capsys.readouterr()
    assert main(["schemas", "check", "--dir", str(target)]) == 1
    err = capsys.readouterr().err
    assert "opportunity.published.v1.json" in err and "gone.v0.json" in err
    assert main(["schemas", "generate", "--dir", str(target)]) == 0
    assert check(target) == [] and not (target / "jsonschema" / "gone.v0.json").exists()
    shutil.rmtree(target)


@pytest.mark.parametrize("ce_type", sorted(EVENT_TYPES))
def test_json_schema_is_valid_and_accepts_the_example(ce_type: str) -> None:
    schema = _load(schema_path(ce_type))
    Draft202012Validator.check_schema(schema)
    assert schema["x-cloudevents-type"] == ce_type
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    validator.validate(_example_data(ce_type))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("needs"),
        lambda d: d.update(surprise=1),
        lambda d: d["deal_size"].update(amount=1.5),
        lambda d: d["deal_size"].update(amount="1e3"),
        lambda d: d.update(region="california"),
        lambda d: d.update(max_partners=True),
        lambda d: d.update(published_at=1700000000),
    ],
)
def test_json_schema_rejects_what_the_model_rejects(mutate: Any) -> None:
    ce_type = "io.oppbus.opportunity.published.v1"
    data = _example_data(ce_type)
    mutate(data)
    validator = Draft202012Validator(_load(schema_path(ce_type)), format_checker=FormatChecker())
    assert list(validator.iter_errors(data))


def _pointer(doc: Any, ref: str) -> Any:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs = _refs(doc)
    assert len(refs) > 50
    for ref in refs:
        assert ref.startswith("#/"), ref
        _pointer(doc, ref)  # KeyError names the broken reference


def test_component_schemas_are_draft07_and_accept_the_examples(doc: dict[str, Any]) -> None:
    for schema in doc["components"]["schemas"].values():
        Draft7Validator.check_schema(schema)
    for ce_type, model in EVENT_TYPES.items():
        root = {"$ref": f"#/components/schemas/{model.__name__}", "components": doc["components"]}
        Draft7Validator(root).validate(_example_data(ce_type))


def test_asyncapi_describes_every_topic_and_event(doc: dict[str, Any]) -> None:
    assert set(doc["channels"]) == {t.name for t in TOPICS}
    seen: list[str] = []
    for spec in TOPICS:
        channel = doc["channels"][spec.name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["topicConfiguration"]["cleanup.policy"] == [spec.cleanup]
        assert kafka["partitions"] == (spec.partitions or DEFAULT_PARTITIONS)
        assert channel["x-key"] == spec.key
        assert channel["x-publishers"] == list(spec.publishers)
        assert channel["x-consumers"] == list(spec.consumers)
        for name in channel["parameters"]:
            assert "{" + name + "}" in channel["address"]
        for ref in channel["messages"].values():
            message = _pointer(doc, ref["$ref"])
            assert EVENT_TOPICS[message["x-cloudevents-type"]] == spec.name
            assert message["headers"]["properties"]["ce_type"]["const"] == message["title"]
            seen.append(message["x-cloudevents-type"])
    assert sorted(seen) == sorted(EVENT_TYPES)


def test_operations_use_their_channels_messages(doc: dict[str, Any]) -> None:
    actions = set()
    for op_id, op in doc["operations"].items():
        channel_name = op["channel"]["$ref"].removeprefix("#/channels/")
        actions.add((channel_name, op["action"]))
        prefix = f"#/channels/{channel_name}/messages/"
        assert all(m["$ref"].startswith(prefix) for m in op["messages"]), op_id
    for spec in TOPICS:
        assert ((spec.name, "send") in actions) == bool(spec.publishers)
        assert ((spec.name, "receive") in actions) == bool(spec.consumers)


def test_default_partitions_match_settings() -> None:
    assert Settings.model_fields["partitions"].default == DEFAULT_PARTITIONS


def test_schemas_validate_command_names_each_bad_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ce_type = "io.oppbus.opportunity.published.v1"
    good = tmp_path / "good.json"
    good.write_bytes(orjson.dumps(_example_data(ce_type)))
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({**_example_data(ce_type), "deal_size": {"amount": 1.5}}))
    assert main(["schemas", "validate", ce_type, str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["schemas", "validate", ce_type, str(good), str(bad)]) == 1
    line = capsys.readouterr().out.strip().splitlines()[-1]
    errors = orjson.loads(line.split(": ", 1)[1])["errors"]
    assert {e["field"] for e in errors} == {"deal_size.amount", "deal_size.currency"}
    assert main(["schemas", "validate", "io.oppbus.nope.v1", str(good)]) == 1
    assert main(["schemas", "validate", ce_type]) == 2

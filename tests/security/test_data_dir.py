"""The durable data dir at rest: private to the bus's user, no customer or secret in clear.

``oppbus up --data DIR`` runs the whole bus (S3 server, broker, worker, API); through its HTTP API a
partner sets a webhook with a known secret, another publishes an opportunity with a known
customer, the first accepts it. After a clean stop every file under DIR is read: the secret and the
customer fields are in none of them (while the partners' ids, which travel in clear, are found:
the scan reads the stored records); DIR is 0700, its key files 0600, and no file or directory in
it is open to group or others (but the S3 server's own volume info files, which it sets 0644).
"""

from __future__ import annotations

import json
import stat
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_durable import _Up
from tests.ports import child_port
from tests.security.test_at_rest import COMPANY, CUSTOMER, DOMAIN, EMAIL, SECRET

pytestmark = pytest.mark.kafka


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def _until(check: Any, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def _profile(capability: str) -> dict[str, Any]:
    return {"name": capability.title(), "kind": "reseller", "capabilities": [capability],
            "regions": ["US"], "capacity": 5}  # fmt: skip


def test_the_data_dir_is_private_and_holds_no_customer_or_secret_in_clear(tmp_path: Path) -> None:
    data = tmp_path / "bus"
    port = child_port()  # a child binds it: outside the ephemeral range (tests/ports.py)
    base = f"http://127.0.0.1:{port}"
    up = _Up(data, port, child_port())
    try:
        up.wait_ready()
        admin = next(ln.split()[-1] for ln in up.seen if "admin    token" in ln)
        net = _call(base, "PUT", "/v1/partners/dd-net", admin, _profile("networking"))["api_key"]
        store = _call(base, "PUT", "/v1/partners/dd-store", admin, _profile("storage"))["api_key"]
        hook = {"url": "https://hooks.example.com/oppbus", "secret": SECRET}
        _call(base, "PUT", "/v1/partners/dd-store/webhook", store, hook)
        opp = {
            "opportunity_id": "dd-1", "needs": ["storage"], "region": "US-CA",
            "industry": "healthcare", "deal_size": {"amount": "1000.00", "currency": "USD"},
            "expected_close": "2027-03-31", "customer": CUSTOMER,
        }  # fmt: skip
        _call(base, "POST", "/v1/opportunities", net, opp)
        leads = _until(lambda: _call(base, "GET", "/v1/leads", store, None)["leads"])
        rid = leads[0]["referral_id"]
        _call(base, "POST", f"/v1/referrals/{rid}/accept", store, {})
        lead = _until(lambda: _call(base, "GET", f"/v1/leads/{rid}", store).get("customer"))
        assert lead["contacts"][0]["email"] == EMAIL
        time.sleep(2.0)  # let the broker flush what it acknowledged to its storage
    finally:
        up.stop()
    blob, stored, opened = bytearray(), bytearray(), []
    for path in [data, *data.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        # SeaweedFS sets 0644 on its volume info files itself (*.vif): inside 0700, unreachable
        if mode & 0o077 and not path.is_symlink() and path.suffix != ".vif":
            opened.append(f"{path.relative_to(tmp_path)} {oct(mode)}")
        if path.is_file():
            blob += path.read_bytes()
            if "s3" in path.relative_to(data).parts:
                stored += path.read_bytes()
    assert not opened, f"readable by others: {opened}"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for key_file in ("service.key", "data.keys"):
        assert stat.S_IMODE((data / "keys" / key_file).stat().st_mode) == 0o600
    assert b"dd-store" in stored  # the scan reads the broker's stored records
    found = [v for v in (SECRET, SECRET[6:], COMPANY, DOMAIN, EMAIL) if v.encode() in blob]
    assert not found, f"in clear in the data dir: {found}"

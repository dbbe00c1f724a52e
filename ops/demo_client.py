"""The demo's HTTP client: JSON calls with a bearer token, bounded waits, the funnel of /metrics.

Standard library only (``urllib``): the demo is a sequential story a person reads along.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["FUNNEL_METRICS", "Api", "DemoError", "funnel_counts"]

T = TypeVar("T")

# Funnel step -> the counter of streams.metrics that counts it.
FUNNEL_METRICS = {
    "published": "oppbus_opportunities_published",
    "offered": "oppbus_offers_sent",
    "accepted": "oppbus_offers_accepted",
    "declined": "oppbus_offers_declined",
    "expired": "oppbus_offers_expired",
    "won": "oppbus_referrals_won",
    "lost": "oppbus_referrals_lost",
    "unroutable": "oppbus_opportunities_unroutable",
}


class DemoError(Exception):
    """A step of the demo did not happen as it should; printed as one line."""


def funnel_counts(exposition: str) -> dict[str, float]:
    """Funnel step -> count, summed over labels, from a Prometheus text exposition."""
    totals: dict[str, float] = {}
    by_family = {name: step for step, name in FUNNEL_METRICS.items()}
    for family in text_string_to_metric_families(exposition):
        step = by_family.get(family.name)
        if step is None:
            continue
        totals[step] = sum(s.value for s in family.samples if s.name.endswith("_total"))
    return totals


class Api:
    """``call`` returns ``(status, json body)``; HTTP errors are answers, not exceptions."""

    def __init__(
        self,
        base: str,
        *,
        timeout: float = 10.0,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self._timeout = timeout
        self._alive = alive

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        elif method == "POST":
            data = b"{}"
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as resp:
                return int(resp.status), _json(resp.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), _json(exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise DemoError(f"{method} {self.base}{path}: {exc}") from exc

    def text(self, path: str) -> str:
        try:
            with urllib.request.urlopen(self.base + path, timeout=self._timeout) as resp:
                return bytes(resp.read()).decode()
        except (urllib.error.URLError, OSError) as exc:
            raise DemoError(f"GET {self.base}{path}: {exc}") from exc

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=2.0) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait(
        self, what: str, check: Callable[[], T | None], *, timeout: float = 60.0, every: float = 0.2
    ) -> T:
        """Poll ``check`` every ``every`` seconds until it returns something truthy; DemoError
        after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if self._alive is not None and not self._alive():
                raise DemoError(f"the bus stopped while waiting for {what}")
            if time.monotonic() > deadline:
                raise DemoError(f"no sign of {what} after {timeout:.0f} s")
            time.sleep(every)


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"raw": raw[:200].decode(errors="replace")}
    return value if isinstance(value, dict) else {"value": value}

"""A small Python client for partners (e.g. distributors) that subscribe to the leads routed to them.

::

    async with OppbusClient("http://bus.example:8080", api_key) as bus:
        async for lead in bus.subscribe():
            if lead.status == "offered" and wanted(lead.teaser):
                lead = await bus.accept(lead.referral_id)   # with the customer once routed
                print(lead.customer)

or, without a client object, ``async for lead in subscribe(base_url, api_key): ...``.

:meth:`OppbusClient.subscribe` reads ``GET /v1/leads/stream`` (Server-Sent Events) and reconnects
after a dropped connection with ``Last-Event-ID``, so no change is missed; a lead state seen
already is not yielded twice. ``subscription.last_event_id`` can be stored to resume later. A
``401``/``403`` (revoked key) ends the subscription with :class:`OppbusError`. Every error of the
API is raised as :class:`OppbusError` with its status, code and field errors.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from connectors.http.models import Lead, OpportunityAccepted, OpportunityView

__all__ = ["OppbusClient", "OppbusError", "SseEvent", "SseParser", "Subscription", "subscribe"]

_SEEN_MAX = 10_000


class OppbusError(Exception):
    """An error answer of the API: ``status``, ``code`` (e.g. ``illegal_transition``), fields."""

    def __init__(self, status: int, code: str, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None


@dataclass
class SseParser:
    """Server-Sent Events, line by line (WHATWG event-stream format)."""

    last_event_id: str | None = None
    retry_ms: int | None = None
    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def feed(self, raw: bytes) -> SseEvent | None:
        """One line (with or without its end of line); an event when a blank line ends one."""
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SseEvent(self._event or "message", "\n".join(self._data), self.last_event_id)
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


async def _raise_for(resp: aiohttp.ClientResponse) -> None:
    if resp.status < 400:
        return
    try:
        body = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    raise OppbusError(
        resp.status,
        str(body.get("error", "http_error")),
        str(body.get("message", resp.reason or "")),
        list(body.get("errors", [])),
    )


class Subscription:
    """``async for lead in subscription``: the caller's leads, live, resumed after drops."""

    def __init__(
        self,
        client: OppbusClient,
        *,
        last_event_id: str | None = None,
        reconnect_delay_s: float = 1.0,
        max_reconnects: int | None = None,
    ) -> None:
        self._client = client
        self.last_event_id = last_event_id
        self._delay = reconnect_delay_s
        self._max = max_reconnects
        self._seen: OrderedDict[tuple[str, str, str, bool, bool], None] = OrderedDict()

    def _fresh(self, lead: Lead) -> bool:
        key = (
            lead.referral_id,
            lead.status,
            lead.updated_at.isoformat(),
            lead.customer is not None,
            lead.team is not None and lead.team.members is not None,  # a team assembled
        )
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        return True

    async def __aiter__(self) -> AsyncIterator[Lead]:
        failures = 0
        while True:
            try:
                async for lead in self._once():
                    failures = 0
                    yield lead
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError):
                pass
            failures += 1
            if self._max is not None and failures > self._max:
                raise OppbusError(0, "disconnected", "the lead stream could not be resumed", [])
            await asyncio.sleep(min(self._delay * failures, 30.0))

    async def _once(self) -> AsyncIterator[Lead]:
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        parser = SseParser(last_event_id=self.last_event_id)
        async with self._client.session.get(
            self._client.url("/v1/leads/stream"),
            headers={**self._client.auth, **headers},
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        ) as resp:
            await _raise_for(resp)
            async for line in resp.content:
                event = parser.feed(line)
                if event is None or event.event != "lead":
                    continue
                self.last_event_id = event.id
                lead = Lead.model_validate(orjson.loads(event.data))
                if self._fresh(lead):
                    yield lead


class OppbusClient:
    """The partner's side of the HTTP API, authenticated with its API key."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: aiohttp.ClientSession | None = None,
        wait_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self._own_session = session is None
        self._session = session
        self.wait_s = wait_s

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def url(self, path: str) -> str:
        return self.base_url + path

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> OppbusClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        data = None if body is None else orjson.dumps(body)
        all_headers = {**self.auth, **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.url(path), data=data, headers=all_headers
        ) as resp:
            await _raise_for(resp)
            return await resp.json() if resp.status != 204 else None

    # --- leads --------------------------------------------------------------------------------

    def subscribe(self, *, last_event_id: str | None = None, **options: Any) -> Subscription:
        return Subscription(self, last_event_id=last_event_id, **options)

    async def leads(self, status: str | None = None) -> list[Lead]:
        query = f"?status={status}" if status else ""
        body = await self._call("GET", f"/v1/leads{query}")
        return [Lead.model_validate(item) for item in body["leads"]]

    async def lead(self, referral_id: str) -> Lead:
        return Lead.model_validate(await self._call("GET", f"/v1/leads/{referral_id}"))

    async def _respond(self, referral_id: str, verb: str, body: dict[str, Any]) -> Lead:
        """Send the response and wait (``Prefer: wait``) for the ledger; the lead as it stands."""
        headers = {"Prefer": f"wait={self.wait_s:g}"}
        answer = await self._call("POST", f"/v1/referrals/{referral_id}/{verb}", body, headers)
        if "teaser" in answer:
            return Lead.model_validate(answer)
        return await self.lead(referral_id)  # published, not settled within wait_s

    async def accept(self, referral_id: str, *, note: str | None = None) -> Lead:
        """Accept; the returned lead carries the customer once the bus revealed it."""
        return await self._respond(referral_id, "accept", {"note": note} if note else {})

    async def decline(self, referral_id: str, reason: str, *, note: str | None = None) -> Lead:
        body: dict[str, Any] = {"reason": reason}
        if note:
            body["note"] = note
        return await self._respond(referral_id, "decline", body)

    async def outcome(
        self,
        referral_id: str,
        status: str,
        *,
        amount: str | None = None,
        currency: str | None = None,
        reason: str | None = None,
        note: str | None = None,
    ) -> Lead:
        """Report ``won`` (``amount`` as a decimal string, ``currency``) or ``lost`` (``reason``)."""
        body = {"status": status, "amount": amount, "currency": currency, "reason": reason}
        if note:
            body["note"] = note
        return await self._respond(
            referral_id, "outcome", {k: v for k, v in body.items() if v is not None}
        )

    # --- the originator's side ------------------------------------------------------------------

    async def publish(
        self, opportunity: dict[str, Any], *, idempotency_key: str | None = None
    ) -> OpportunityAccepted:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = await self._call("POST", "/v1/opportunities", opportunity, headers)
        return OpportunityAccepted.model_validate(body)

    async def opportunity(self, opportunity_id: str) -> OpportunityView:
        body = await self._call("GET", f"/v1/opportunities/{opportunity_id}")
        return OpportunityView.model_validate(body)


async def subscribe(
    base_url: str,
    api_key: str,
    *,
    last_event_id: str | None = None,
    session: aiohttp.ClientSession | None = None,
    **options: Any,
) -> AsyncIterator[Lead]:
    """``async for lead in subscribe(base_url, api_key)``: the caller's leads as they change."""
    client = OppbusClient(base_url, api_key, session=session)
    try:
        async for lead in client.subscribe(last_event_id=last_event_id, **options):
            yield lead
    finally:
        with contextlib.suppress(Exception):
            await client.close()

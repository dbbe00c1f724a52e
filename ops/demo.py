"""``oppbus demo``: a storage opportunity flows from a networking VAR to a storage specialist.

Everything goes through the public HTTP API of a running bus (``--api URL``), or of one the demo
starts like ``oppbus up`` does (embedded broker, worker, API) and keeps running afterwards so the
status page stays populated. The story: six partners register, and the VAR and a storage
specialist agree a partnership (a ranking reason); the VAR publishes a storage opportunity; the
router offers it to the best storage specialist, who declines (no capacity); it is
re-offered to the next, who accepts, sees the customer, and reports the deal won; a managed-print
need nobody covers yet waits (it is offered once a partner covers it). The demo checks every step it prints.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from ops.demo_client import Api, DemoError, funnel_counts
from ops.demo_network import ORIGINATOR, network, storage_opportunity, unroutable_opportunity
from ops.procs import port_in_use, spawn, stop
from streams.settings import Settings

__all__ = ["DemoError", "run_demo"]

Say = Callable[[str], None]


def _say(msg: str) -> None:
    print(msg, flush=True)


def _money(amount: str, currency: str) -> str:
    return f"{float(amount):,.0f} {currency}"


def _reasons(lead: dict[str, Any]) -> str:
    """The biggest contributions, as ``factor value x weight = contribution`` (they add up to
    the score; events from before contributions existed show their points)."""
    reasons = lead.get("reasons", [])
    if not all(r.get("contribution") is not None for r in reasons):
        return ", ".join(f"{r['factor']} {r['points']:+g}" for r in reasons[:4])
    biggest = sorted(reasons, key=lambda r: -r["contribution"])[:4]
    parts = [
        f"{r['factor']} {r['value']:g} x {r['weight']:g} = {r['contribution']:.3f}" for r in biggest
    ]
    return ", ".join(parts) + f", + {len(reasons) - len(biggest)} more"


class Story:
    """The demo's steps against one API; ``tag`` keeps ids unique on a bus reused across runs."""

    def __init__(self, api: Api, admin_token: str, *, tag: str = "", say: Say = _say) -> None:
        self.api = api
        self.admin = admin_token
        self.tag = tag
        self.say = say
        self.keys: dict[str, str] = {}
        self.partners = network(tag)
        self.originator = f"{ORIGINATOR}-{tag}" if tag else ORIGINATOR

    def run(self) -> dict[str, float]:
        before = funnel_counts(self.api.text("/metrics"))  # a bus used before counts on from here
        self.register()
        opp_id = f"nw-{self.tag or 'demo'}-0042"
        first = self.publish_and_offer(opp_id)
        second = self.decline_and_reoffer(opp_id, first)
        self.accept_and_win(opp_id, second)
        self.check_left_out(opp_id, {first["partner_id"], second["partner_id"]})
        self.waiting(f"nw-{self.tag or 'demo'}-0043")
        return self.funnel(before)

    def register(self) -> None:
        self.say("\n[1/6] The partner network registers (PUT /v1/partners/{id}, admin token)")
        for p in self.partners:
            status, body = self.api.call(
                "PUT", f"/v1/partners/{p.partner_id}", self.admin, p.profile
            )
            if status not in (200, 201) or "api_key" not in body:
                raise DemoError(
                    f"registering {p.partner_id} answered {status} {body}: "
                    "run the demo on a fresh bus, or with --api on one it has not seen"
                )
            self.keys[p.partner_id] = str(body["api_key"])
            caps = ", ".join(p.profile["capabilities"])
            self.say(f"      ✓ {p.partner_id:<24} {p.role:<40} sells {caps}")
        self.agree_partnership()  # before the profile updates the offer waits for
        self.say(
            "      The operator verifies the certifications each partner claims (only verified"
        )
        self.say("      ones satisfy a required certification):")
        for p in self.partners:
            for cert in p.profile["certifications"]:
                status, body = self.api.call(
                    "POST",
                    f"/v1/admin/partners/{p.partner_id}/certifications/verify",
                    self.admin,
                    {"vendor": cert["vendor"], "capability": cert["capability"]},
                )
                if status != 200:
                    raise DemoError(f"verifying {p.partner_id}'s certification: {status} {body}")
                self.say(
                    f"      ✓ {p.partner_id:<24} {cert['vendor']} {cert['capability']} "
                    f"{cert['level']}: verified"
                )

    def agree_partnership(self) -> None:
        """The VAR and its usual storage specialist have agreed terms: an active partnership,
        which the router counts as a ranking reason (factor ``partnership``)."""
        partner = next(p.partner_id for p in self.partners if p.role == "storage specialist")
        terms = {"referral_fee": {"percent": "5"}, "approval_days": 30, "payment_days": 30}
        status, body = self.api.call(
            "POST",
            "/v1/partnerships",
            self.keys[self.originator],
            {"partner_id": partner, "terms": terms},
        )
        if status != 201:
            raise DemoError(f"proposing a partnership answered {status} {body}")
        path = f"/v1/partnerships/{body['partnership_id']}/accept"
        status, body = self.api.call("POST", path, self.keys[partner])
        if status != 200 or body.get("status") != "active":
            raise DemoError(f"accepting the partnership answered {status} {body}")
        self.say(
            f"      ✓ {self.originator} and {partner} agree a partnership (5% referral fee):"
            " an active partnership is a ranking reason"
        )

    def publish_and_offer(self, opp_id: str) -> dict[str, Any]:
        body = storage_opportunity(opp_id, self.tag)
        if self.tag:  # a bus used before: consent scope keeps the lead inside this run's network
            body["share_with"] = [
                p.partner_id for p in self.partners if p.partner_id != self.originator
            ]
        deal = body["deal_size"]
        self.say(
            f"\n[2/6] {self.originator} publishes {opp_id}: {', '.join(body['needs'])} for a "
            f"{body['industry']} customer in {body['region']}, "
            f"{_money(deal['amount'], deal['currency'])} (keeps networking and security)"
        )
        status, answer = self.api.call(
            "POST", "/v1/opportunities", self.keys[self.originator], body
        )
        if status != 202:
            raise DemoError(f"publishing answered {status} {answer}")
        self.say(f"      ✓ 202 accepted → {answer.get('location', opp_id)}")
        self.say("\n[3/6] The router ranks complementary, non-competing partners and offers it")
        offer = self.wait_offer(opp_id, exclude=set())
        lead = self.lead_of(offer["partner_id"], offer["referral_id"])
        self.say(
            f"      → offered to {offer['partner_id']} (rank {lead.get('rank')}, "
            f"score {lead['score']:g}: {_reasons(lead)})"
        )
        teaser = lead["teaser"]
        self.say(
            f"        the teaser it sees: {', '.join(teaser['needs'])}, {teaser['region']}, "
            f"{teaser['industry']}, {teaser['size_band']} {teaser['currency']} — no customer name"
        )
        if "customer" in lead:
            raise DemoError("an offered (not accepted) lead shows the customer")
        return offer

    def decline_and_reoffer(self, opp_id: str, first: dict[str, Any]) -> dict[str, Any]:
        holder = first["partner_id"]
        self.say(f"\n[4/6] {holder} is fully booked this quarter and declines (no_capacity)")
        path = f"/v1/referrals/{first['referral_id']}/decline"
        status, answer = self.api.call("POST", path, self.keys[holder], {"reason": "no_capacity"})
        if status not in (200, 202):
            raise DemoError(f"decline answered {status} {answer}")
        offer = self.wait_offer(opp_id, exclude={holder})
        lead = self.lead_of(offer["partner_id"], offer["referral_id"])
        self.say(
            f"      → re-offered down the ranked list to {offer['partner_id']} "
            f"(round {lead.get('round')}, score {lead['score']:g})"
        )
        return offer

    def accept_and_win(self, opp_id: str, offer: dict[str, Any]) -> None:
        holder, rid = offer["partner_id"], offer["referral_id"]
        self.say(f"\n[5/6] {holder} accepts")
        status, answer = self.api.call("POST", f"/v1/referrals/{rid}/accept", self.keys[holder])
        if status not in (200, 202):
            raise DemoError(f"accept answered {status} {answer}")
        lead = self.api.wait(
            "the customer to be revealed",
            lambda: self._revealed(holder, rid),
        )
        contact = (lead["customer"].get("contacts") or [{}])[0]
        self.say(
            f"      ✓ customer revealed to {holder} only: {lead['customer']['company']}, "
            f"{contact.get('name', '?')} ({contact.get('role', 'contact')})"
        )
        amount = "248000.00"
        self.say(f"\n[6/6] {holder} closes the deal and reports it won")
        outcome = {"status": "won", "amount": amount, "currency": "USD"}
        path = f"/v1/referrals/{rid}/outcome"
        status, answer = self.api.call("POST", path, self.keys[holder], outcome)
        if status not in (200, 202):
            raise DemoError(f"outcome answered {status} {answer}")
        self.api.wait("the win in the ledger", lambda: self._opportunity_status(opp_id, "won"))
        self.say(f"      ✓ won {_money(amount, 'USD')}: {self.originator} sees status won")

    def check_left_out(self, opp_id: str, offered: set[str]) -> None:
        left_out = [p.partner_id for p in self.partners if p.partner_id not in offered]
        for pid in left_out:
            _, body = self.api.call("GET", "/v1/leads", self.keys[pid])
            if any(lead["opportunity_id"] == opp_id for lead in body.get("leads", [])):
                raise DemoError(f"{pid} was offered {opp_id} but competes or is not a fit")
        self.say(
            "      ✓ never offered to "
            + ", ".join(p for p in left_out if p != self.originator)
            + " (they sell networking, which the VAR keeps, or are its competitor)"
        )

    def waiting(self, opp_id: str) -> None:
        body = unroutable_opportunity(opp_id, self.tag)
        status, answer = self.api.call(
            "POST", "/v1/opportunities", self.keys[self.originator], body
        )
        if status != 202:
            raise DemoError(f"publishing answered {status} {answer}")
        self.api.wait("the waiting verdict", lambda: self._opportunity_status(opp_id, "waiting"))
        self.say(
            f"\n      and {opp_id} (managed print in US-OR): nobody covers it yet → waiting"
            " (offered as soon as a partner covers it, until its expected close)"
        )

    def funnel(self, before: dict[str, float]) -> dict[str, float]:
        """Wait until /metrics counts this story (on top of ``before``) and show it."""
        story = {"published": 2, "offered": 2, "declined": 1, "accepted": 1, "won": 1}

        def caught_up() -> dict[str, float] | None:
            counts = funnel_counts(self.api.text("/metrics"))
            done = all(counts.get(k, 0) - before.get(k, 0) >= v for k, v in story.items())
            return counts if done else None

        counts = self.api.wait("the referral funnel on /metrics", caught_up)
        shown = " · ".join(f"{k} {counts.get(k, 0):g}" for k in story)
        self.say(f"\nFunnel on {self.api.base}/metrics: {shown}")
        return counts

    # -- helpers ------------------------------------------------------------------------------
    def wait_offer(self, opp_id: str, exclude: set[str]) -> dict[str, Any]:
        def offered() -> dict[str, Any] | None:
            status, body = self.api.call(
                "GET", f"/v1/opportunities/{opp_id}", self.keys[self.originator]
            )
            if status != 200:
                return None
            if body.get("conflict") or body.get("status") == "unroutable":
                why = "its customer is already registered" if body.get("conflict") else "unroutable"
                raise DemoError(f"{opp_id} was not routed: {why}")
            for offer in body.get("offers", []):
                if offer.get("status") == "offered" and offer["partner_id"] not in exclude:
                    if offer["partner_id"] not in self.keys:
                        raise DemoError(f"{opp_id} went to {offer['partner_id']}, not in the demo")
                    return dict(offer)
            return None

        return self.api.wait("an offer", offered)

    def lead_of(self, partner_id: str, referral_id: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            _, body = self.api.call("GET", "/v1/leads", self.keys[partner_id])
            for lead in body.get("leads", []):
                if lead["referral_id"] == referral_id:
                    return dict(lead)
            return None

        return self.api.wait(f"the lead of {partner_id}", found)

    def _revealed(self, partner_id: str, referral_id: str) -> dict[str, Any] | None:
        lead = self.lead_of(partner_id, referral_id)
        return lead if lead.get("status") == "accepted" and "customer" in lead else None

    def _opportunity_status(self, opp_id: str, want: str) -> bool:
        status, body = self.api.call(
            "GET", f"/v1/opportunities/{opp_id}", self.keys[self.originator]
        )
        return status == 200 and body.get("status") == want


def _start_bus(settings: Settings, token: str, run_dir: Path) -> Any:
    if port_in_use(settings.http_host, settings.http_port):
        raise DemoError(
            f"HTTP port {settings.http_port} is in use: pass --api URL to use that bus, "
            "or --http-port for a new one"
        )
    argv = [sys.executable, "-m", "ops.cli", "up", "--http-port", str(settings.http_port)]
    argv += ["--http-host", settings.http_host, "--log-level", settings.log_level]
    argv += ["--broker", settings.broker] if settings.broker else []
    argv += [] if settings.broker else ["--broker-port", str(settings.broker_port)]
    env = {**os.environ, "OPPBUS_ADMIN_TOKEN": token}
    return spawn(argv, log=run_dir / "up.log", env=env)


def run_demo(
    settings: Settings,
    *,
    api_url: str | None = None,
    admin_token: str | None = None,
    keep_running: bool = True,
    say: Say = _say,
) -> int:
    """Run the story; with no ``api_url``, start a bus first (kept until Ctrl-C if asked)."""

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise KeyboardInterrupt

    # Ctrl-C and SIGTERM end the demo wherever it is (also when started with SIGINT ignored,
    # as a background job of a shell is); the finally below stops the bus it started.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    token = admin_token or (
        settings.admin_token.get_secret_value() if settings.admin_token else None
    )
    child = None
    say("oppbus demo — a storage opportunity finds a storage specialist")
    if api_url is None:
        token = token or secrets.token_urlsafe(24)
        run_dir = Path(tempfile.mkdtemp(prefix="oppbus-demo-"))
        say(f"starting a bus like `oppbus up` (embedded broker, worker, API); logs in {run_dir}")
        child = _start_bus(settings, token, run_dir)
    elif token is None:
        raise DemoError("--api needs the bus's admin token (--admin-token or OPPBUS_ADMIN_TOKEN)")
    api = Api(api_url or settings.api_url, alive=(lambda: child.poll() is None) if child else None)
    try:
        api.wait("the API to be healthy", api.healthy, timeout=90.0)
        tag = secrets.token_hex(2) if api_url else ""
        Story(api, token, tag=tag, say=say).run()
        say(f"Status page: {api.base}/status   (metrics: {api.base}/metrics)")
        if child is not None and keep_running:
            say(f"admin token {token}\nThe bus keeps running: press Ctrl-C to stop it.")
            while True:
                time.sleep(0.5)
                if child.poll() is not None:
                    raise DemoError("the bus stopped unexpectedly")
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        if child is not None:
            say("stopping the bus...")
            stop(child, timeout=20.0)

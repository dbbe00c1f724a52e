"""Hypothesis strategies producing any valid bus event (one strategy per CloudEvents type)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.common import Contract
from schemas.errors import FieldError
from schemas.events import EVENT_TYPES
from schemas.ids import referral_id
from schemas.iso_codes import COUNTRY_CODES, CURRENCY_CODES
from schemas.operations import EXCLUSION_RULES
from schemas.referrals import DECLINE_REASONS, LOST_REASONS, SIZE_BANDS
from schemas.scorecard import COUNTERS
from schemas.taxonomy import CAPABILITIES
from schemas.webhooks import LEAD_EVENTS, WEBHOOK_EVENTS, webhook_id

__all__ = ["events", "events_of"]

partner_ids = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{1,20}\Z")
opportunity_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,30}\Z")
# real ISO 3166-1 countries, optionally with an ISO 3166-2-shaped subdivision ("US", "DE-BY")
regions = st.builds(
    lambda country, sub: country + sub,
    st.sampled_from(COUNTRY_CODES),
    st.just("") | st.from_regex(r"\A-[A-Z0-9]{1,3}\Z"),
)
capabilities = st.sampled_from(sorted(CAPABILITIES))
caps = st.lists(capabilities, min_size=1, max_size=4, unique=True).map(tuple)
currencies = st.sampled_from(CURRENCY_CODES)  # ISO 4217
# printable text, not only whitespace (the contracts strip surrounding whitespace)
texts = st.text(min_size=1, max_size=40).map(str.strip).filter(bool)
opt_texts = st.none() | texts
offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))])
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
amounts = st.decimals(min_value=0, max_value=Decimal("9999999999999999.99"), places=2)
money = st.fixed_dictionaries({"amount": amounts, "currency": currencies})
floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=10_000)
domains = st.from_regex(r"\A[a-z0-9]{1,12}(\.[a-z0-9-]{1,10})?\.[a-z]{2,6}\Z")
contacts = st.fixed_dictionaries(
    {"name": texts},
    optional={
        "email": st.from_regex(r"\A[a-z0-9.]{1,10}@[a-z0-9]{1,10}\.[a-z]{2,4}\Z"),
        "phone": st.from_regex(r"\A\+?[0-9 ]{4,20}\Z").map(str.strip).filter(bool),
        "role": texts,
    },
)
customers = st.fixed_dictionaries(
    {"company": texts, "domain": domains},
    optional={"contacts": st.lists(contacts, max_size=3).map(tuple)},
)


def _referral() -> st.SearchStrategy[dict[str, Any]]:
    def with_id(d: dict[str, Any]) -> dict[str, Any]:
        return {
            **d,
            "referral_id": referral_id(d["originator"], d["opportunity_id"], d["partner_id"]),
        }

    return st.fixed_dictionaries(
        {"opportunity_id": opportunity_ids, "originator": partner_ids, "partner_id": partner_ids}
    ).map(with_id)


def _member_of(d: dict[str, Any]) -> dict[str, Any]:
    return {"referral_id": d["referral_id"], "partner_id": d["partner_id"], "needs": ("storage",)}


def _merge(*parts: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*parts).map(lambda ds: {k: v for d in ds for k, v in d.items()})


def _opportunity_fields() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "published_at": times,
            "needs": caps,
            "region": regions,
            "industry": texts,
            "deal_size": money,
            "expected_close": dates,
            "customer": customers,
        },
        optional={
            "retains": caps,
            "share_with": st.lists(partner_ids, max_size=3).map(tuple),
            "max_partners": st.integers(1, 10),
            "respond_within_s": st.integers(1, 86_400),
            "title": texts,
        },
    )


def _with_expiry(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    out["expires_at"] = out["offered_at"] + timedelta(seconds=out.pop("ttl"))
    return out


F = st.fixed_dictionaries
_FIELDS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "partner.stats.v1": F(
        {
            "partner_id": partner_ids,
            "revision": counts,
            "updated_at": st.none() | times,
            **dict.fromkeys(COUNTERS, counts),
            "acceptance_rate": st.none() | st.floats(0, 1),
            "win_rate": st.none() | st.floats(0, 1),
            "mean_seconds_to_accept": st.none() | st.floats(0, 1e7),
            "median_seconds_to_accept": st.none() | st.floats(0, 1e7),
            "revenue_won": st.dictionaries(currencies, amounts, max_size=3),
            "revenue_from_given": st.dictionaries(currencies, amounts, max_size=3),
            "reciprocity": st.lists(
                F(
                    {
                        "partner_id": partner_ids,
                        "given": counts,
                        "received": counts,
                        "given_accepted": counts,
                        "received_accepted": counts,
                    }
                ),
                max_size=3,
            ).map(tuple),
        }
    ),
    "partner.updated.v1": F(
        {
            "partner_id": partner_ids,
            "version": st.integers(0, 2**40),
            "updated_at": times,
            "name": texts,
            "kind": st.sampled_from(["reseller", "distributor", "msp", "consultant", "isv"]),
            "capabilities": caps,
            "regions": st.lists(regions, min_size=1, max_size=4).map(tuple),
        },
        optional={
            "accepting": st.booleans(),
            "capacity": st.integers(0, 100_000),
            "competitors": st.lists(partner_ids, max_size=3).map(tuple),
            "refuses": st.lists(partner_ids, max_size=3).map(tuple),
            "active": st.booleans(),
        },
    ),
    "opportunity.published.v1": _opportunity_fields(),
    "opportunity.withdrawn.v1": F(
        {"opportunity_id": opportunity_ids, "originator": partner_ids, "withdrawn_at": times},
        optional={"reason": texts},
    ),
    "referral.accept.v1": _merge(_referral(), F({"requested_at": times})),
    "referral.decline.v1": _merge(
        _referral(),
        F(
            {"reason": st.sampled_from(DECLINE_REASONS), "requested_at": times},
            optional={"note": texts},
        ),
    ),
    "referral.outcome.v1": _merge(
        _referral(),
        F({"requested_at": times}),
        F({"status": st.just("won"), "amount": money})
        | F({"status": st.just("lost"), "reason": st.sampled_from(LOST_REASONS)}),
    ),
    "referral.offered.v1": _merge(
        _referral(),
        F(
            {
                "round": st.integers(1, 1000),
                "rank": st.integers(1, 1000),
                "score": floats,
                "reasons": st.lists(
                    F(
                        {"factor": st.from_regex(r"\A[a-z][a-z0-9_]{0,15}\Z"), "points": floats},
                        optional={"detail": texts},
                    ),
                    max_size=4,
                ).map(tuple),
                "teaser": F(
                    {
                        "needs": caps,
                        "region": regions,
                        "industry": texts,
                        "size_band": st.sampled_from([b for _, b in SIZE_BANDS] + ["1m-plus"]),
                        "currency": currencies,
                        "expected_close": dates,
                    }
                ),
                "offered_at": times,
                "ttl": st.integers(1, 10**8),
            },
            optional={"policy_version": st.none() | st.integers(0, 10**9)},
        ),
    ).map(_with_expiry),
    "referral.accepted.v1": _merge(_referral(), F({"accepted_at": times})),
    "referral.declined.v1": _merge(
        _referral(),
        F(
            {"reason": st.sampled_from(DECLINE_REASONS), "declined_at": times},
            optional={"note": texts},
        ),
    ),
    "referral.expired.v1": _merge(_referral(), F({"expired_at": times})),
    "referral.won.v1": _merge(_referral(), F({"amount": money, "won_at": times})),
    "referral.lost.v1": _merge(
        _referral(),
        F({"reason": st.sampled_from(LOST_REASONS), "lost_at": times}, optional={"note": texts}),
    ),
    "referral.withdrawn.v1": _merge(
        _referral(), F({"withdrawn_at": times}, optional={"reason": texts})
    ),
    "lead.revealed.v1": _merge(
        _referral(),
        F(
            {"customer": customers, "deal_size": money, "revealed_at": times},
            optional={"title": texts},
        ),
    ),
    "team.planned.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "round": st.integers(1, 2),
            "roles": st.lists(_referral().map(_member_of), min_size=1, max_size=4),
            "at": times,
        }
    ),
    "team.assembled.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "members": st.lists(_referral().map(_member_of), min_size=1, max_size=4),
            "at": times,
        }
    ),
    "team.incomplete.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "reasons": st.dictionaries(caps.map("+".join), texts, min_size=1, max_size=4),
            "at": times,
        }
    ),
    "lead.assembled.v1": _merge(
        _referral(),
        F(
            {
                "role": caps,
                "members": st.lists(F({"needs": caps, "partner_id": partner_ids}), max_size=4),
                "assembled_at": times,
            }
        ),
    ),
    "opportunity.conflict-flagged.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "domain": domains,
            "needs": caps,
            "first_registered_at": times,
            "flagged_at": times,
        },
        optional={"holds_claim": st.booleans()},
    ),
    "opportunity.conflict-resolved.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "decision": st.sampled_from(["route", "reject"]),
            "reason": texts,
            "resolved_at": times,
        }
    ),
    "opportunity.reroute.v1": _opportunity_fields().map(
        lambda o: {
            "opportunity_id": o["opportunity_id"],
            "originator": o["originator"],
            "opportunity": o,
            "requested_at": o["published_at"],
        }
    ),
    "opportunity.waiting.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "reasons": st.dictionaries(
                st.sampled_from(["at_capacity", "no_partner"]), counts, min_size=1
            ),
            "until": times,
            "at": times,
        }
    ),
    "opportunity.exhausted.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "offered": counts,
            "declined": counts,
            "expired": counts,
            "at": times,
        },
        optional={"rounds": st.integers(1, 1000)},
    ),
    "opportunity.unroutable.v1": F(
        {
            "opportunity_id": opportunity_ids,
            "originator": partner_ids,
            "candidates": counts,
            "excluded": st.dictionaries(
                st.sampled_from(sorted(EXCLUSION_RULES)), counts, max_size=5
            ),
            "round": st.integers(1, 1000),
            "at": times,
        }
    ),
    "credential.updated.v1": F(
        {
            "partner_id": partner_ids,
            "key_id": st.from_regex(r"\A[0-9a-f]{12}\Z"),
            "key_hash": st.from_regex(r"\A[0-9a-f]{64}\Z"),
            "status": st.sampled_from(["active", "revoked"]),
            "version": st.integers(1, 2**31),
            "updated_at": times,
        }
    ),
    "deadletter.recorded.v1": F(
        {
            "source_topic": st.from_regex(r"\A[a-z.]{1,30}\Z"),
            "partition": st.integers(0, 1000),
            "offset": st.integers(-1, 2**62),
            "value": st.text(max_size=200),  # kept exactly, whitespace included
            "reason": st.from_regex(r"\A[a-z_]{1,20}\Z"),
            "at": times,
        },
        optional={
            "key": st.text(max_size=50),
            "headers": st.lists(
                st.tuples(st.text(max_size=10), st.text(max_size=20)), max_size=3
            ).map(tuple),
            "detail": st.text(max_size=50),
            "errors": st.lists(
                st.builds(
                    FieldError, st.text(max_size=20), st.text(max_size=30), st.text(max_size=10)
                ),
                max_size=3,
            ).map(tuple),
            "event_id": st.text(max_size=20),
            "event_type": st.text(max_size=40),
            "consumer": st.text(max_size=20),
        },
    ),
    "webhook.subscribed.v1": F(
        {
            "partner_id": partner_ids,
            "url": st.from_regex(r"\Ahttps?://[a-z0-9.-]{1,20}\.[a-z]{2,4}/[a-z0-9/]{0,20}\Z"),
            "secret": st.binary(min_size=24, max_size=64).map(
                lambda b: "whsec_" + base64.b64encode(b).decode()
            ),
            "version": st.integers(0, 2**40),
            "updated_at": times,
        },
        optional={
            "events": st.lists(st.sampled_from(WEBHOOK_EVENTS), min_size=1, max_size=12).map(tuple),
            "active": st.booleans(),
        },
    ),
    "webhook.settled.v1": _merge(
        _referral(),
        F(
            {
                "event": st.sampled_from(LEAD_EVENTS),
                "outcome": st.sampled_from(["delivered", "dead"]),
                "url": st.from_regex(r"\Ahttps://[a-z]{1,10}\.example/[a-z]{0,10}\Z"),
                "attempts": st.lists(
                    F(
                        {"at": times, "duration_ms": st.integers(0, 120_000)},
                        optional={"status": st.integers(100, 599), "error": opt_texts},
                    ),
                    min_size=1,
                    max_size=5,
                ).map(tuple),
                "settled_at": times,
            },
            optional={
                "source": F(
                    {
                        "topic": st.sampled_from(["referrals", "fees"]),
                        "partition": st.integers(0, 1000),
                        "offset": st.integers(0, 2**50),
                    }
                ),
                "redrive": st.integers(0, 100),
                "first_settled_at": times,
            },
        ),
    ).map(lambda d: {**d, "webhook_id": webhook_id(d["referral_id"], d["event"])}),
    "webhook.redrive.v1": F(
        {
            "webhook_id": st.one_of(
                st.from_regex(r"\Aref_[0-9a-f]{20}\.(offered|revealed|won)\Z"),
                st.from_regex(r"\Afee_[0-9a-f]{20}\.(accrued|settled)\.(payer|payee)\Z"),
            ),
            "partner_id": partner_ids,
            "redrive": st.integers(1, 1000),
            "requested_at": times,
        },
        optional={"requested_by": st.from_regex(r"\A[a-z]{1,20}\Z")},
    ),
    "worker.status.v1": F(
        {
            "worker_id": st.from_regex(r"\A[a-z0-9.-]{1,40}\Z"),
            "group": st.from_regex(r"\A[a-z0-9._-]{1,40}\Z"),
            "state": st.sampled_from(["starting", "ready", "stopped"]),
            "at": times,
            "interval_s": st.floats(0.1, 3600),
        },
        optional={
            "waiting_for": st.lists(st.sampled_from(["partitions", "recovery"]), max_size=3),
            "assigned": st.dictionaries(
                st.sampled_from(["p.opportunities", "p.responses"]),
                st.lists(st.integers(0, 63), max_size=4),
                max_size=2,
            ),
        },
    ),
    "policy.applied.v1": F(
        {
            "version": st.integers(1, 10**9),
            "weights": st.dictionaries(
                st.from_regex(r"\A[a-z][a-z0-9_]{0,39}\Z"), floats, max_size=20
            ),
            "applied_at": times,
        },
        optional={"applied_by": texts, "note": opt_texts},
    ),
    "partnership.updated.v1": F(
        {
            "partnership_id": st.from_regex(r"\Aps_[0-9a-f]{20}\Z"),
            "proposer": partner_ids,
            "partner": partner_ids,
            "status": st.sampled_from(["proposed", "active", "ended"]),
            "terms": st.deferred(lambda: terms_dicts),
            "revision": st.integers(1, 1000),
            "updated_at": times,
        },
        optional={
            "pending_terms": st.none() | st.deferred(lambda: terms_dicts),
            "awaiting": st.none() | partner_ids,
            "activated_at": st.none() | times,
            "ended_by": st.none() | partner_ids,
        },
    ),
    "terms.default-set.v1": F(
        {
            "terms": st.deferred(lambda: terms_dicts),
            "revision": st.integers(1, 1000),
            "updated_at": times,
        }
    ),
    "fee.recorded.v1": F(
        {
            "fee_id": st.from_regex(r"\Afee_[0-9a-f]{20}\Z"),
            "kind": st.sampled_from(["accrued", "approved", "settled", "reversed"]),
            "at": times,
            "payer": partner_ids,
            "payee": partner_ids,
            "amount": st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2),
            "currency": st.sampled_from(["EUR", "USD", "GBP"]),
            "terms_version": st.integers(1, 100),
            "approve_at": times,
        },
        optional={"basis": texts, "reference": texts, "reason": texts},
    )
    .flatmap(lambda d: _merge(st.just(d), _referral()))
    .map(lambda d: {k: v for k, v in d.items() if k != "partner_id"})
    .map(lambda d: {**d, "event_id": f"{d['fee_id']}.{d['kind']}"}),
    "api.guard.v1": F(
        {
            "slot": st.from_regex(r"\A[0-9a-f]{64}\Z"),
            "guard": st.sampled_from(["idempotency", "crm-replay"]),
            "claim_id": st.from_regex(r"\A[0-9a-f]{32}\Z"),
            "state": st.sampled_from(["claimed", "done", "released"]),
            "at": times,
            "expires_at": times,
        },
        optional={
            "fingerprint": st.from_regex(r"\A[0-9a-f]{64}\Z"),
            "response": F(
                {
                    "status": st.integers(200, 299),
                    "content_type": st.sampled_from(["application/json"]),
                    "body": st.text(max_size=100),
                }
            ),
        },
    ),
}

terms_dicts: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {
        "referral_fee": st.one_of(
            st.fixed_dictionaries(
                {"percent": st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)}
            ),
            st.fixed_dictionaries(
                {
                    "amount": st.decimals(min_value=1, max_value=10**6, places=2),
                    "currency": st.sampled_from(["EUR", "USD"]),
                }
            ),
        )
    },
    optional={
        "approval_days": st.integers(0, 365),
        "payment_days": st.integers(0, 365),
        "version": st.integers(1, 100),
    },
)


def _build(model: type[Contract], fields: dict[str, Any]) -> Contract | None:
    try:
        return model.model_validate(fields)
    except ValidationError:
        return None  # a cross-field rule (e.g. needs/retains overlap): not a valid event


def events_of(ce_type: str) -> st.SearchStrategy[Contract]:
    model = EVENT_TYPES[ce_type]
    fields = _FIELDS[ce_type.removeprefix("io.oppbus.")]
    return fields.map(lambda f: _build(model, f)).filter(lambda e: e is not None)  # type: ignore[return-value]


def events() -> st.SearchStrategy[Contract]:
    return st.sampled_from(sorted(EVENT_TYPES)).flatmap(events_of)

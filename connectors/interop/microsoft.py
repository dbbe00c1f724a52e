"""Microsoft Partner Center referrals <-> oppbus opportunities and referral statuses.

A Partner Center referral (``/v1.0/engagements/referrals``) carries ``status`` (New, Active,
Closed) with a ``substatus``; the oppbus lifecycle mirrors it, so the mapping is a table:

| oppbus      | Partner Center status / substatus                                   |
|-------------|---------------------------------------------------------------------|
| offered     | New / Received (incoming: the partner got it), New / Pending (outgoing) |
| accepted    | Active / Accepted (Active / Engaged also reads as accepted)          |
| declined    | Closed / Declined                                                    |
| expired     | Closed / Expired                                                     |
| won         | Closed / Won                                                         |
| lost        | Closed / Lost                                                        |
| withdrawn   | Closed / Lost with ``statusReason`` = :data:`WITHDRAWN_REASON`        |

Privacy: a referral whose ``consent.consentToShareInfo`` is not true is refused (its customer did
not agree to be shared with other partners); with ``consentToContact`` false the contacts are
dropped and only the company and its domain travel. The customer's domain is the domain of the
first contact e-mail (Partner Center has no website field). Needs come from the names of
``details.requirements`` solutions, products and services through a keyword table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.interop.common import (
    MappingError,
    ReferralStatus,
    capabilities_from_names,
    email_domain,
    get,
    parse_date,
    parse_decimal,
    safe_id,
    validated_opportunity,
)
from schemas.common import Money
from schemas.ids import opportunity_key
from schemas.industries import industry_code, industry_name
from schemas.opportunity import Customer, Opportunity, OpportunityInput
from schemas.referrals import OfferMade
from schemas.taxonomy import CAPABILITIES

__all__ = [
    "MS_CAPABILITY_KEYWORDS",
    "WITHDRAWN_REASON",
    "Direction",
    "ms_status",
    "opportunity_from_referral",
    "referral_from_lead",
    "referral_from_opportunity",
    "status_from_ms",
    "status_from_referral",
]

Direction = Literal["incoming", "outgoing"]
WITHDRAWN_REASON = "Withdrawn by the referring partner"

# keyword (lowercase, found in a solution/product/service name) -> oppbus capability
MS_CAPABILITY_KEYWORDS: dict[str, str] = {
    **{code: code for code in CAPABILITIES},
    "azure": "cloud",
    "migration": "cloud",
    "network": "networking",
    "firewall": "security",
    "identity": "security",
    "defender": "security",
    "sentinel": "security",
    "teams": "collaboration",
    "analytics": "data-analytics",
    "fabric": "data-analytics",
    "datacenter": "data-center",
    "intune": "end-user-computing",
    "avd": "end-user-computing",
    "site recovery": "disaster-recovery",
}

_TO_MS: dict[str, tuple[str, str]] = {
    "accepted": ("Active", "Accepted"),
    "declined": ("Closed", "Declined"),
    "expired": ("Closed", "Expired"),
    "won": ("Closed", "Won"),
    "lost": ("Closed", "Lost"),
    "withdrawn": ("Closed", "Lost"),
}
_FROM_MS: dict[tuple[str, str], ReferralStatus] = {
    ("new", "pending"): "offered",
    ("new", "received"): "offered",
    ("active", "accepted"): "accepted",
    ("active", "engaged"): "accepted",
    ("closed", "declined"): "declined",
    ("closed", "expired"): "expired",
    ("closed", "won"): "won",
    ("closed", "lost"): "lost",
}


def ms_status(status: ReferralStatus, direction: Direction = "incoming") -> tuple[str, str]:
    """``(Status, Substatus)`` of an oppbus referral status as Partner Center spells them."""
    if status == "offered":
        return ("New", "Received" if direction == "incoming" else "Pending")
    try:
        return _TO_MS[status]
    except KeyError:
        raise MappingError.field("status", f"unknown oppbus status {status!r}") from None


def status_from_ms(status: str, substatus: str, status_reason: str | None = None) -> ReferralStatus:
    """The oppbus status of a Partner Center ``status``/``substatus`` pair (case-insensitive)."""
    pair = (str(status).strip().lower(), str(substatus).strip().lower())
    found = _FROM_MS.get(pair)
    if found is None:
        raise MappingError.field(
            "substatus", f"no oppbus status for Partner Center {status}/{substatus}"
        )
    if found == "lost" and (status_reason or "").strip() == WITHDRAWN_REASON:
        return "withdrawn"
    return found


def status_from_referral(doc: Mapping[str, Any]) -> ReferralStatus:
    return status_from_ms(
        get(doc, "status", ""), get(doc, "substatus", ""), get(doc, "statusReason")
    )


def _names(items: Any) -> list[str]:
    out: list[str] = []
    for item in items if isinstance(items, list) else []:
        name = get(item, "name") if isinstance(item, Mapping) else item
        if isinstance(name, str) and name.strip():
            out.append(name.strip())
    return out


def _region(doc: Mapping[str, Any]) -> str:
    country = get(doc, "customerProfile.address.country")
    if not isinstance(country, str) or len(country.strip()) != 2:
        raise MappingError.field(
            "customerProfile.address.country", "an ISO 3166 two-letter country is required"
        )
    region = country.strip().upper()
    state = get(doc, "customerProfile.address.state")
    if isinstance(state, str) and 1 <= len(state.strip()) <= 3 and state.strip().isalnum():
        region += "-" + state.strip().upper()
    return region


def _contacts(team: Any) -> list[dict[str, Any]]:
    contacts = []
    for member in team if isinstance(team, list) else []:
        first = get(member, "firstName", "")
        last = get(member, "lastName", "")
        name = f"{first} {last}".strip()
        if not name:
            continue
        contact: dict[str, Any] = {"name": name}
        for ours, theirs in (("email", "email"), ("phone", "phoneNumber")):
            if get(member, theirs):
                contact[ours] = get(member, theirs)
        contacts.append(contact)
    return contacts


def _respond_within(doc: Mapping[str, Any]) -> int | None:
    created, expires = get(doc, "createdDateTime"), get(doc, "expirationDateTime")
    if not (isinstance(created, str) and isinstance(expires, str)):
        return None
    try:
        start = datetime.fromisoformat(created.replace("Z", "+00:00"))
        end = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        seconds = int((end - start).total_seconds())
    except (ValueError, TypeError):
        return None
    return seconds if 1 <= seconds <= 30 * 86_400 else None


def opportunity_from_referral(
    doc: Mapping[str, Any], *, keywords: Mapping[str, str] = MS_CAPABILITY_KEYWORDS
) -> OpportunityInput:
    """The oppbus opportunity a Partner Center referral describes; :class:`MappingError` if not."""
    if get(doc, "consent.consentToShareInfo") is not True:
        raise MappingError.field(
            "consent.consentToShareInfo",
            "the customer has not consented to sharing the referral with other partners",
        )
    requirements = get(doc, "details.requirements", {})
    names = [
        *_names(get(requirements, "solutions")),
        *_names(get(requirements, "products")),
        *_names(get(requirements, "services")),
    ]
    needs = capabilities_from_names(names, keywords)
    if not needs:
        raise MappingError.field(
            "details.requirements", "no known capability among its solutions/products/services"
        )
    industries = _names(get(requirements, "industries"))
    if not industries:
        raise MappingError.field("details.requirements.industries", "an industry is required")
    team = get(doc, "customerProfile.team", [])
    domain = next((d for d in (email_domain(get(m, "email")) for m in team) if d), None)
    if domain is None:
        raise MappingError.field(
            "customerProfile.team", "a contact e-mail is required to know the customer's domain"
        )
    amount = parse_decimal(get(doc, "details.dealValue"), "details.dealValue")
    data: dict[str, Any] = {
        "opportunity_id": safe_id(get(doc, "externalReferenceId") or get(doc, "id")),
        "title": (get(doc, "name") or None) and str(get(doc, "name"))[:200],
        "needs": needs,
        "region": _region(doc),
        "industry": industry_code(industries[0]),
        "deal_size": {"amount": str(amount), "currency": get(doc, "details.currency")},
        "expected_close": parse_date(
            get(doc, "details.closingDateTime"), "details.closingDateTime"
        ),
        "customer": {
            "company": get(doc, "customerProfile.name"),
            "domain": domain,
            "contacts": _contacts(team) if get(doc, "consent.consentToContact") is True else [],
        },
        "respond_within_s": _respond_within(doc),
    }
    origin = {
        "opportunity_id": "externalReferenceId",
        "title": "name",
        "deal_size": "details.dealValue",
        "expected_close": "details.closingDateTime",
        "customer": "customerProfile",
        "industry": "details.requirements.industries",
    }
    return validated_opportunity(data, origin)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def referral_from_opportunity(
    opportunity: Opportunity,
    *,
    status: ReferralStatus = "offered",
    direction: Direction = "outgoing",
    status_reason: str | None = None,
    referral_id: str | None = None,
    include_customer: bool = True,
) -> dict[str, Any]:
    """A Partner Center referral document (camelCase, as the API sends) for an opportunity.

    ``include_customer=False`` gives what an offered partner may see before accepting: no company
    name, no contacts — only the country/state, the need, the size and the timing."""
    ms, sub = ms_status(status, direction)
    if status == "withdrawn":
        status_reason = WITHDRAWN_REASON
    customer = opportunity.customer
    country, _, state = opportunity.region.partition("-")
    profile: dict[str, Any] = {
        "address": {"country": country, **({"state": state} if state else {})}
    }
    if include_customer:
        profile["name"] = customer.company
        profile["team"] = [_member(c.name, c.email, c.phone) for c in customer.contacts]
    name = opportunity.title or f"{', '.join(opportunity.needs)} opportunity"
    doc: dict[str, Any] = {
        "name": name if include_customer else f"{', '.join(opportunity.needs)} opportunity",
        "externalReferenceId": opportunity.opportunity_id,
        "createdDateTime": _iso(opportunity.published_at),
        "status": ms,
        "substatus": sub,
        "type": "Independent",
        "customerProfile": profile,
        "consent": {
            "consentToShareInfo": True,
            "consentToContact": bool(customer.contacts) and include_customer,
            "consentToShareReferralWithMicrosoftSellers": False,
        },
        "details": {
            "dealValue": float(opportunity.deal_size.amount),
            "currency": opportunity.deal_size.currency,
            "closingDateTime": f"{opportunity.expected_close.isoformat()}T00:00:00Z",
            "requirements": {
                "industries": [{"name": industry_name(opportunity.industry)}],
                "services": [{"name": need} for need in opportunity.needs],
            },
        },
    }
    if referral_id:
        doc["id"] = referral_id
    if status_reason:
        doc["statusReason"] = status_reason[:500]
    return doc


def _member(name: str, email: str | None, phone: str | None) -> dict[str, Any]:
    first, _, last = name.partition(" ")
    member: dict[str, Any] = {"firstName": first, "lastName": last}
    if email:
        member["email"] = email
    if phone:
        member["phoneNumber"] = phone
    return member


def referral_from_lead(
    offer: OfferMade,
    *,
    status: ReferralStatus = "offered",
    customer: Customer | None = None,
    deal_size: Money | None = None,
    status_reason: str | None = None,
) -> dict[str, Any]:
    """A lead as the partner holding it sees it, as an incoming Partner Center referral.

    Before acceptance only the teaser travels (country/state, need, industry, size band, timing);
    ``customer`` and ``deal_size`` (from ``lead.revealed``) are added once the partner accepted."""
    ms, sub = ms_status(status, "incoming")
    teaser = offer.teaser
    country, _, state = teaser.region.partition("-")
    profile: dict[str, Any] = {
        "address": {"country": country, **({"state": state} if state else {})}
    }
    details: dict[str, Any] = {
        "currency": teaser.currency,
        "closingDateTime": f"{teaser.expected_close.isoformat()}T00:00:00Z",
        "notes": f"deal size band {teaser.size_band}",
        "requirements": {
            "industries": [{"name": industry_name(teaser.industry)}],
            "services": [{"name": need} for need in teaser.needs],
        },
    }
    if customer is not None:
        profile["name"] = customer.company
        profile["team"] = [_member(c.name, c.email, c.phone) for c in customer.contacts]
    if deal_size is not None:
        details["dealValue"] = float(deal_size.amount)
        details["currency"] = deal_size.currency
    doc: dict[str, Any] = {
        "id": offer.referral_id,
        "engagementId": opportunity_key(offer.originator, offer.opportunity_id),
        "name": f"{', '.join(teaser.needs)} opportunity ({teaser.industry}, {teaser.region})",
        "createdDateTime": _iso(offer.offered_at),
        "expirationDateTime": _iso(offer.expires_at),
        "status": ms,
        "substatus": sub,
        "type": "Independent",
        "customerProfile": profile,
        "consent": {
            "consentToShareInfo": customer is not None,
            "consentToContact": customer is not None and bool(customer.contacts),
            "consentToShareReferralWithMicrosoftSellers": False,
        },
        "details": details,
    }
    if status == "withdrawn":
        status_reason = WITHDRAWN_REASON
    if status_reason:
        doc["statusReason"] = status_reason[:500]
    return doc

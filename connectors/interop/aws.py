"""AWS Partner Central opportunities <-> oppbus opportunities, stages and review statuses.

``LifeCycle.Stage`` follows the deal; the oppbus referral status maps onto it:

| oppbus      | AWS LifeCycle.Stage (ClosedLostReason)                          |
|-------------|-----------------------------------------------------------------|
| offered     | Prospect                                                        |
| accepted    | Qualified (Technical/Business Validation read as accepted too)  |
| won         | Committed (Launched reads as won too)                           |
| lost        | Closed Lost (reason from :data:`LOST_TO_AWS`)                    |
| declined    | Closed Lost (Partner Gap)                                       |
| expired     | Closed Lost (Other)                                             |
| withdrawn   | Closed Lost (Delay / Cancellation of Project)                   |

``LifeCycle.ReviewStatus`` is AWS validating a partner-referred opportunity; in oppbus the matching
step is routing, so an opportunity's routing state maps onto it (:data:`REVIEW_OF_ROUTING`):
published and not yet routed = Submitted, offered = In review, accepted by a partner = Approved,
unroutable = Action Required (the originator can widen it), withdrawn = Rejected. Importing an
opportunity that AWS reviewed as Rejected is refused.

Money: ``Project.ExpectedCustomerSpend`` is a recurring spend (``Frequency`` Monthly); the oppbus
deal size is its yearly value (x12), and a deal size exports as its monthly twelfth.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from connectors.interop.common import (
    MappingError,
    ReferralStatus,
    capabilities_from_names,
    get,
    parse_date,
    parse_decimal,
    safe_id,
    validated_opportunity,
)
from schemas.common import Money
from schemas.industries import industry_code, industry_name
from schemas.opportunity import Customer, Opportunity, OpportunityInput
from schemas.referrals import OfferMade
from schemas.taxonomy import CAPABILITIES

__all__ = [
    "AWS_CAPABILITY_KEYWORDS",
    "AWS_STAGES",
    "LOST_FROM_AWS",
    "LOST_TO_AWS",
    "REVIEW_OF_ROUTING",
    "RoutingState",
    "aws_lifecycle",
    "aws_opportunity_from_lead",
    "aws_opportunity_from_opportunity",
    "opportunity_from_aws",
    "status_from_aws",
]

RoutingState = Literal["published", "offered", "accepted", "unroutable", "withdrawn"]

AWS_STAGES = (
    "Prospect",
    "Qualified",
    "Technical Validation",
    "Business Validation",
    "Committed",
    "Launched",
    "Closed Lost",
)
REVIEW_OF_ROUTING: dict[str, str] = {
    "published": "Submitted",
    "offered": "In review",
    "accepted": "Approved",
    "unroutable": "Action Required",
    "withdrawn": "Rejected",
}
# oppbus lost reason -> AWS ClosedLostReason (LifeCycle valid values)
LOST_TO_AWS: dict[str, str] = {
    "price": "Price",
    "competitor": "Lost to Competitor - Other",
    "no_decision": "No Opportunity",
    "budget": "Financial/Commercial",
    "timing": "Delay / Cancellation of Project",
    "requirements_not_met": "Technical Limitations",
    "customer_unresponsive": "Customer Deficiency",
    "other": "Other",
}
LOST_FROM_AWS: dict[str, str] = {aws.lower(): ours for ours, aws in LOST_TO_AWS.items()}
_CLOSED_REASON = {
    "declined": "Partner Gap",
    "expired": "Other",
    "withdrawn": "Delay / Cancellation of Project",
}
_STAGE_OF: dict[str, str] = {"offered": "Prospect", "accepted": "Qualified", "won": "Committed"}
_STATUS_OF_STAGE: dict[str, ReferralStatus] = {
    "prospect": "offered",
    "qualified": "accepted",
    "technical validation": "accepted",
    "business validation": "accepted",
    "committed": "won",
    "launched": "won",
    "closed lost": "lost",
}

# keyword in Project.CustomerUseCase / DeliveryModels / Title -> oppbus capability
AWS_CAPABILITY_KEYWORDS: dict[str, str] = {
    **{code: code for code in CAPABILITIES},
    "network": "networking",
    "migration": "cloud",
    "compliance": "security",
    "machine learning": "data-analytics",
    "analytics": "data-analytics",
    "database": "data-analytics",
    "contact center": "collaboration",
    "end user": "end-user-computing",
    "managed services": "managed-services",
    "professional services": "professional-services",
}

_MONTHS = Decimal(12)
_CENT = Decimal("0.01")


def aws_lifecycle(status: ReferralStatus, lost_reason: str | None = None) -> dict[str, str]:
    """``{"Stage": ..., "ClosedLostReason"?: ...}`` for an oppbus referral status."""
    if status in _STAGE_OF:
        return {"Stage": _STAGE_OF[status]}
    if status == "lost":
        return {
            "Stage": "Closed Lost",
            "ClosedLostReason": LOST_TO_AWS.get(lost_reason or "other", "Other"),
        }
    if status in _CLOSED_REASON:
        return {"Stage": "Closed Lost", "ClosedLostReason": _CLOSED_REASON[status]}
    raise MappingError.field("status", f"unknown oppbus status {status!r}")


def status_from_aws(
    stage: str, closed_lost_reason: str | None = None
) -> tuple[ReferralStatus, str | None]:
    """``(oppbus status, oppbus lost reason or None)`` of an AWS stage (case-insensitive)."""
    status = _STATUS_OF_STAGE.get(str(stage).strip().lower())
    if status is None:
        raise MappingError.field("LifeCycle.Stage", f"unknown AWS stage {stage!r}")
    if status != "lost":
        return status, None
    reason = (closed_lost_reason or "").strip().lower()
    if reason.startswith("lost to competitor"):
        return "lost", "competitor"
    return "lost", LOST_FROM_AWS.get(reason, "other")


def _region(doc: Mapping[str, Any]) -> str:
    country = get(doc, "Customer.Account.Address.CountryCode")
    if not isinstance(country, str) or len(country.strip()) != 2:
        raise MappingError.field(
            "Customer.Account.Address.CountryCode", "an ISO 3166 two-letter country is required"
        )
    region = country.strip().upper()
    state = get(doc, "Customer.Account.Address.StateOrRegion")
    if isinstance(state, str) and 1 <= len(state.strip()) <= 3 and state.strip().isalnum():
        region += "-" + state.strip().upper()
    return region


def _spend(doc: Mapping[str, Any]) -> tuple[Decimal, Any]:
    spends = get(doc, "Project.ExpectedCustomerSpend", [])
    if not isinstance(spends, list) or not spends:
        raise MappingError.field("Project.ExpectedCustomerSpend", "an expected spend is required")
    first = spends[0]
    amount = parse_decimal(get(first, "Amount"), "Project.ExpectedCustomerSpend.0.Amount")
    if str(get(first, "Frequency", "Monthly")).lower() == "monthly":
        amount = amount * _MONTHS
    return amount.quantize(_CENT), get(first, "CurrencyCode")


def _contacts(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    contacts = []
    for c in get(doc, "Customer.Contacts", []) or []:
        name = f"{get(c, 'FirstName', '')} {get(c, 'LastName', '')}".strip()
        if not name:
            continue
        contact: dict[str, Any] = {"name": name}
        for ours, theirs in (("email", "Email"), ("phone", "Phone"), ("role", "BusinessTitle")):
            if get(c, theirs):
                contact[ours] = get(c, theirs)
        contacts.append(contact)
    return contacts


def opportunity_from_aws(
    doc: Mapping[str, Any], *, keywords: Mapping[str, str] = AWS_CAPABILITY_KEYWORDS
) -> OpportunityInput:
    """The oppbus opportunity an AWS Partner Central opportunity describes."""
    review = str(get(doc, "LifeCycle.ReviewStatus", "")).strip().lower()
    if review == "rejected":
        raise MappingError.field("LifeCycle.ReviewStatus", "AWS rejected this opportunity")
    use_cases = get(doc, "Project.CustomerUseCase")
    names = [
        *([use_cases] if isinstance(use_cases, str) else []),
        *[m for m in get(doc, "Project.DeliveryModels", []) or [] if isinstance(m, str)],
        str(get(doc, "Project.Title", "")),
    ]
    needs = capabilities_from_names(names, keywords)
    if not needs:
        raise MappingError.field("Project.CustomerUseCase", "no known capability in the use case")
    amount, currency = _spend(doc)
    website = get(doc, "Customer.Account.WebsiteUrl")
    data: dict[str, Any] = {
        "opportunity_id": safe_id(get(doc, "PartnerOpportunityIdentifier") or get(doc, "Id")),
        "title": (get(doc, "Project.Title") or None) and str(get(doc, "Project.Title"))[:200],
        "needs": needs,
        "region": _region(doc),
        "industry": industry_code(str(get(doc, "Customer.Account.Industry") or "")),
        "deal_size": {"amount": str(amount), "currency": currency},
        "expected_close": parse_date(
            get(doc, "LifeCycle.TargetCloseDate"), "LifeCycle.TargetCloseDate"
        ),
        "customer": {
            "company": get(doc, "Customer.Account.CompanyName"),
            "domain": website,
            "contacts": _contacts(doc),
        },
    }
    origin = {
        "opportunity_id": "PartnerOpportunityIdentifier",
        "title": "Project.Title",
        "industry": "Customer.Account.Industry",
        "deal_size": "Project.ExpectedCustomerSpend",
        "customer": "Customer",
    }
    return validated_opportunity(data, origin)


def aws_opportunity_from_opportunity(
    opportunity: Opportunity,
    *,
    status: ReferralStatus = "offered",
    routing: RoutingState = "published",
    lost_reason: str | None = None,
) -> dict[str, Any]:
    """An AWS Partner Central opportunity document (PascalCase) for an oppbus opportunity."""
    customer = opportunity.customer
    country, _, state = opportunity.region.partition("-")
    address = {"CountryCode": country, **({"StateOrRegion": state} if state else {})}
    contacts = _aws_contacts(customer)
    lifecycle: dict[str, str] = {
        **aws_lifecycle(status, lost_reason),
        "ReviewStatus": REVIEW_OF_ROUTING[routing],
        "TargetCloseDate": opportunity.expected_close.isoformat(),
    }
    return {
        "Catalog": "AWS",
        "PartnerOpportunityIdentifier": opportunity.opportunity_id,
        "OpportunityType": "Net New Business",
        "Origin": "Partner Referral",
        "Customer": {
            "Account": {
                "CompanyName": customer.company,
                "WebsiteUrl": customer.domain,
                "Industry": industry_name(opportunity.industry),
                "Address": address,
            },
            "Contacts": contacts,
        },
        "Project": {
            "Title": opportunity.title or f"{', '.join(opportunity.needs)} opportunity",
            "CustomerUseCase": ", ".join(opportunity.needs),
            "ExpectedCustomerSpend": _monthly(opportunity.deal_size),
        },
        "LifeCycle": lifecycle,
    }


def _monthly(deal_size: Money) -> list[dict[str, str]]:
    monthly = (deal_size.amount / _MONTHS).quantize(_CENT, rounding=ROUND_HALF_UP)
    return [
        {
            "Amount": str(monthly),
            "CurrencyCode": deal_size.currency,
            "Frequency": "Monthly",
            "TargetCompany": "AWS",
        }
    ]


def _aws_contacts(customer: Customer) -> list[dict[str, str]]:
    contacts = []
    for c in customer.contacts:
        first, _, last = c.name.partition(" ")
        contact = {"FirstName": first, "LastName": last}
        for theirs, value in (("Email", c.email), ("Phone", c.phone), ("BusinessTitle", c.role)):
            if value:
                contact[theirs] = value
        contacts.append(contact)
    return contacts


def aws_opportunity_from_lead(
    offer: OfferMade,
    *,
    status: ReferralStatus = "offered",
    customer: Customer | None = None,
    deal_size: Money | None = None,
) -> dict[str, Any]:
    """A lead as the partner holding it sees it, as an AWS Partner Central opportunity: before
    acceptance only the teaser travels; ``customer`` and ``deal_size`` once it accepted."""
    teaser = offer.teaser
    country, _, state = teaser.region.partition("-")
    account: dict[str, Any] = {
        "Industry": teaser.industry,
        "Address": {"CountryCode": country, **({"StateOrRegion": state} if state else {})},
    }
    if customer is not None:
        account["CompanyName"] = customer.company
        account["WebsiteUrl"] = customer.domain
    project: dict[str, Any] = {
        "Title": f"{', '.join(teaser.needs)} opportunity",
        "CustomerUseCase": ", ".join(teaser.needs),
    }
    if deal_size is not None:
        project["ExpectedCustomerSpend"] = _monthly(deal_size)
    return {
        "Catalog": "AWS",
        "Id": offer.referral_id,
        "PartnerOpportunityIdentifier": offer.opportunity_id,
        "OpportunityType": "Net New Business",
        "Origin": "Partner Referral",
        "Customer": {
            "Account": account,
            "Contacts": _aws_contacts(customer) if customer is not None else [],
        },
        "Project": project,
        "LifeCycle": {
            **aws_lifecycle(status),
            "TargetCloseDate": teaser.expected_close.isoformat(),
        },
    }


# An oppbus partner kind -> the AWS receiver responsibility nearest to it.
RESPONSIBILITY_OF_KIND = {
    "reseller": "Reseller",
    "distributor": "Distributor",
    "msp": "Managed Service Provider",
    "consultant": "Services Partner",
    "isv": "Software Partner",
}


def aws_engagement_invitations(
    opportunity: Opportunity,
    roles: list[Mapping[str, Any]],
    kinds: Mapping[str, str],
) -> list[dict[str, Any]]:
    """A team's roles as AWS engagement invitations (a multi-partner opportunity): one per role,
    its needs as the project's use case, the member (once it accepted) as the receiver, its kind
    as the receiver's responsibility. ``roles``: the team view's ``[{needs, status,
    partner_id?}]``. The customer travels as AWS's invitation payload carries it (account
    without contacts)."""
    country = opportunity.region.partition("-")[0]
    customer = {
        "Account": {
            "CompanyName": opportunity.customer.company,
            "WebsiteUrl": opportunity.customer.domain,
            "Industry": industry_name(opportunity.industry),
            "CountryCode": country,
        }
    }
    invitations = []
    for role in roles:
        needs = [str(n) for n in role["needs"]]
        partner = role.get("partner_id")
        kind = kinds.get(str(partner), "") if partner else ""
        payload: dict[str, Any] = {
            "Customer": customer,
            "Project": {
                "Title": opportunity.title or f"{', '.join(opportunity.needs)} opportunity",
                "CustomerUseCase": ", ".join(needs),
                "ExpectedCustomerSpend": _monthly(opportunity.deal_size),
                "TargetCompletionDate": opportunity.expected_close.isoformat(),
            },
            "ReceiverResponsibilities": [RESPONSIBILITY_OF_KIND.get(kind, "Services Partner")],
        }
        invitation: dict[str, Any] = {
            "Message": f"Role {' + '.join(needs)} of a team: {role['status']}",
            "Payload": {"OpportunityInvitation": payload},
        }
        if partner:
            invitation["Receiver"] = {"Account": {"Alias": str(partner)}}
        invitations.append(invitation)
    return invitations

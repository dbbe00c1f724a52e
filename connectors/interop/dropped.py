"""What a mapping leaves behind, said in every interop answer (nothing is dropped silently).

Inbound (a Partner Center referral or an AWS Partner Central opportunity becoming an oppbus
opportunity): every field of the document the mapper does not read is listed by its path (list
items as ``[]``), plus what it read but could not carry (solution names with no known capability,
contacts without consent). Outbound (an oppbus opportunity or lead in their shape): the oppbus
fields their model has no place for, a fixed list per shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "AWS_LEAD_DROPS",
    "AWS_OPPORTUNITY_DROPS",
    "AWS_READS",
    "AWS_TEAM_DROPS",
    "MS_LEAD_DROPS",
    "MS_OPPORTUNITY_DROPS",
    "MS_READS",
    "MS_TEAM_DROPS",
    "unread_paths",
]

# The document paths the mappers read (connectors/interop/microsoft.py, aws.py).
MS_READS = (
    "id",
    "externalReferenceId",
    "name",
    "createdDateTime",
    "expirationDateTime",
    "consent.consentToShareInfo",
    "consent.consentToContact",
    "details.requirements.solutions[].name",
    "details.requirements.products[].name",
    "details.requirements.services[].name",
    "details.requirements.industries[].name",
    "details.dealValue",
    "details.currency",
    "details.closingDateTime",
    "customerProfile.name",
    "customerProfile.address.country",
    "customerProfile.address.state",
    "customerProfile.team[].firstName",
    "customerProfile.team[].lastName",
    "customerProfile.team[].email",
    "customerProfile.team[].phoneNumber",
)
AWS_READS = (
    "Id",
    "PartnerOpportunityIdentifier",
    "LifeCycle.ReviewStatus",
    "LifeCycle.TargetCloseDate",
    "Project.Title",
    "Project.CustomerUseCase",
    "Project.DeliveryModels",
    "Project.ExpectedCustomerSpend[].Amount",
    "Project.ExpectedCustomerSpend[].CurrencyCode",
    "Project.ExpectedCustomerSpend[].Frequency",
    "Customer.Account.CompanyName",
    "Customer.Account.WebsiteUrl",
    "Customer.Account.Industry",
    "Customer.Account.Address.CountryCode",
    "Customer.Account.Address.StateOrRegion",
    "Customer.Contacts[].FirstName",
    "Customer.Contacts[].LastName",
    "Customer.Contacts[].Email",
    "Customer.Contacts[].Phone",
    "Customer.Contacts[].BusinessTitle",
)

_ROUTING = "routing details (retains, share_with, max_partners, requires_certification)"
MS_OPPORTUNITY_DROPS = (
    "customer.domain (Partner Center has no website field)",
    "customer.contacts[].role",
    _ROUTING,
    "respond_within_s",
    "offers, their scores and reasons",
    "status detail: routing, waiting, conflict, exhausted, unroutable read as New/Pending",
)
MS_LEAD_DROPS = (
    "score, reasons, round and rank",
    "expires_at (the response deadline)",
    "teaser.size_band (only in details.notes until the deal size is revealed)",
    "customer.domain and contact roles",
    "team (the role, the prime, the other members): a referral has one partner",
)
AWS_OPPORTUNITY_DROPS = (
    "deal_size as a total: AWS takes a monthly spend (amount / 12, rounded to the cent)",
    _ROUTING,
    "respond_within_s",
    "offers, their scores and reasons",
)
AWS_LEAD_DROPS = (
    "score, reasons, round and rank",
    "expires_at (the response deadline)",
    "deal_size as a total: AWS takes a monthly spend (amount / 12, rounded to the cent)",
    "the customer (company, website, contacts) until the lead is accepted",
    "team (the role, the prime, the other members): an opportunity of one partner has no place",
)
# A team opportunity (DESIGN.md "Teaming"): what its multi-partner shape cannot carry.
AWS_TEAM_DROPS = (
    "team.status (assembling, assembled, incomplete): read it from the invitations' messages",
    "Receiver.Account.AwsAccountId: oppbus knows partners by id (the receiver's Alias)",
    "a role's receiver until its member accepted, and the reasons of an unfilled role",
    "the waterfall of each role (who declined or let it expire)",
)
MS_TEAM_DROPS = (
    "team: Partner Center referrals have no multi-partner shape; the roles, their members and "
    "the team's status are dropped (each member's lead maps as a referral of its own)",
)


def _leaves(doc: Any, prefix: str = "") -> Iterable[str]:
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(doc, list) and doc and all(isinstance(v, Mapping | list) for v in doc):
        for item in doc:
            yield from _leaves(item, prefix + "[]")
    elif doc is not None and doc != "" and doc != [] and doc != {}:
        yield prefix


def unread_paths(doc: Mapping[str, Any], reads: Iterable[str]) -> list[str]:
    """The paths of ``doc``'s non-empty values that no ``reads`` path covers, sorted."""
    wanted = tuple(reads)
    return sorted(
        {
            path
            for path in _leaves(doc)
            if not any(path == r or path.startswith(r + ".") for r in wanted)
        }
    )

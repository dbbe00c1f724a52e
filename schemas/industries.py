"""The industry vocabulary: what ``industry`` (opportunities, teasers) and ``industries`` (partner
profiles) may say on input.

Codes are lowercase slugs, the industry lists of the big partner programmes (AWS ACE, Microsoft
Partner Center) reduced to slugs, plus ``legal`` and ``insurance``; anything else is ``other``.
A fixed list keeps the teaser — the one part of an opportunity every offered partner sees before
accepting — free of markup aimed at partner portals and of text that could name the customer.
:func:`industry_code` maps a free programme name ("Financial Services") to its code, for mappers.
"""

from __future__ import annotations

import re

__all__ = ["INDUSTRIES", "INDUSTRY_CODES", "industry_code", "industry_name"]

# code -> what it covers
INDUSTRIES: dict[str, str] = {
    "aerospace": "Aerospace and defence",
    "agriculture": "Agriculture, food production",
    "automotive": "Vehicle makers and suppliers",
    "computers-and-electronics": "Hardware and electronics makers",
    "consumer-goods": "Consumer packaged goods",
    "education": "Schools, universities, training",
    "energy-oil-and-gas": "Oil and gas",
    "energy-power-and-utilities": "Power generation, utilities, water",
    "financial-services": "Banking, capital markets, payments",
    "gaming": "Games and betting",
    "government": "Public sector, administration, defence agencies",
    "healthcare": "Hospitals, clinics, care providers",
    "hospitality": "Hotels, restaurants, leisure",
    "insurance": "Insurers and brokers",
    "legal": "Law firms and legal services",
    "life-sciences": "Pharmaceuticals, biotech, medical devices",
    "manufacturing": "Industrial and discrete manufacturing",
    "marketing-and-advertising": "Agencies, ad tech",
    "media-and-entertainment": "Publishing, broadcasting, film, music",
    "mining": "Mining and metals",
    "non-profit-organization": "Charities, NGOs, foundations",
    "professional-services": "Consulting, accounting, engineering services",
    "real-estate-and-construction": "Property, construction",
    "retail": "Retail and e-commerce",
    "software-and-internet": "Software vendors, internet companies",
    "telecommunications": "Carriers, ISPs",
    "transportation-and-logistics": "Freight, shipping, logistics, public transport",
    "travel": "Airlines, travel agencies",
    "wholesale-and-distribution": "Wholesale, distribution",
    "other": "Anything not listed",
}
INDUSTRY_CODES: tuple[str, ...] = tuple(INDUSTRIES)


def industry_code(name: str) -> str:
    """``"Financial Services"`` -> ``"financial-services"``; an unknown name -> ``"other"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", " and ")).strip("-")
    return slug if slug in INDUSTRIES else "other"


def industry_name(code: str) -> str:
    """``"financial-services"`` -> ``"Financial Services"``: a programme-style name of a code
    (:func:`industry_code` maps it back)."""
    return " ".join(w if w == "and" else w.capitalize() for w in code.split("-"))

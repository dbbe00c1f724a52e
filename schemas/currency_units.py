"""ISO 4217 minor units: how many decimal digits an amount of each currency has.

Most currencies have 2 (cents). The exceptions below are from the ISO 4217 list (table A.1,
column "Minor unit"); codes with "N.A." (precious metals, bond-market and special units) have no
minor unit and cannot carry a fee. A test checks that every code named here is a current ISO 4217
code (``schemas.iso_codes``).
"""

from __future__ import annotations

__all__ = ["NO_MINOR_UNIT", "minor_units"]

_DIGITS: dict[str, int] = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}

NO_MINOR_UNIT = frozenset("XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XUA".split())


def minor_units(currency: str) -> int | None:
    """Decimal digits of ``currency`` (JPY 0, EUR 2, BHD 3); None when it has no minor unit."""
    if currency in NO_MINOR_UNIT:
        return None
    return _DIGITS.get(currency, 2)

"""schemas/iso_codes.py is exactly the official code lists, as the pinned pycountry publishes them.

pycountry (a dev dependency, pinned) carries Debian's iso-codes data: ISO 3166-1 and ISO 4217.
The runtime reads the small generated module instead (see docs/contracts.md). On drift,
regenerate with ``python -m tests.unit.test_iso_codes --write`` and review the diff.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pycountry

from schemas import iso_codes

MODULE = Path(iso_codes.__file__)
# ISO 4217 codes that are not money: XTS is reserved for testing, XXX means "no currency".
NOT_MONEY = frozenset({"XTS", "XXX"})


def _codes(codes: list[str]) -> str:
    return textwrap.fill(
        " ".join(sorted(codes)), width=92, initial_indent="    ", subsequent_indent="    "
    )


def render_module() -> str:
    countries = [c.alpha_2 for c in pycountry.countries]
    currencies = [c.alpha_3 for c in pycountry.currencies if c.alpha_3 not in NOT_MONEY]
    return f'''"""The official code lists, as data: ISO 3166-1 alpha-2 countries and ISO 4217 currencies.

Generated from pycountry {pycountry_version()} (Debian iso-codes) by
``python -m tests.unit.test_iso_codes --write``; that test fails when this file differs from what
the pinned pycountry publishes. Currencies: every current ISO 4217 code except XTS (reserved for
testing) and XXX (no currency): an amount needs a currency.
"""

from __future__ import annotations

__all__ = ["COUNTRY_CODES", "CURRENCY_CODES"]

# ISO 3166-1 alpha-2, officially assigned ({len(countries)} codes), sorted.
COUNTRY_CODES: tuple[str, ...] = tuple(
    """
{_codes(countries)}
    """.split()
)

# ISO 4217 alphabetic codes ({len(currencies)} codes), sorted.
CURRENCY_CODES: tuple[str, ...] = tuple(
    """
{_codes(currencies)}
    """.split()
)
'''


def pycountry_version() -> str:
    from importlib.metadata import version

    return version("pycountry")


def test_generated_module_matches_pycountry() -> None:
    assert MODULE.read_text() == render_module(), (
        "regenerate with: python -m tests.unit.test_iso_codes --write"
    )


def test_code_lists_are_sorted_unique_and_shaped() -> None:
    for codes, size in ((iso_codes.COUNTRY_CODES, 2), (iso_codes.CURRENCY_CODES, 3)):
        assert list(codes) == sorted(set(codes))
        assert all(len(c) == size and c.isascii() and c.isupper() for c in codes)
    assert {"US", "DE", "GB", "FR", "JP"} <= set(iso_codes.COUNTRY_CODES)
    assert not {"UK", "EU", "ZZ", "XX"} & set(iso_codes.COUNTRY_CODES)
    assert {"USD", "EUR", "GBP", "JPY", "CHF"} <= set(iso_codes.CURRENCY_CODES)
    assert not ({"XTS", "XXX", "ABC", "EUX"} & set(iso_codes.CURRENCY_CODES))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        MODULE.write_text(render_module())
        print(f"wrote {MODULE}")
    else:
        print("usage: python -m tests.unit.test_iso_codes --write", file=sys.stderr)
        sys.exit(2)

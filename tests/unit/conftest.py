"""Unit tests run with no data keys: an in-process API test earlier in the session installs the
bus's keys into the process (``schemas.field_crypto``), and a pure test must not see them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schemas.field_crypto import fresh_keyring


@pytest.fixture(autouse=True)
def _no_data_keys() -> Iterator[None]:
    with fresh_keyring():
        yield

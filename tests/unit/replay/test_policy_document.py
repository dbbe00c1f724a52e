"""The routing policy as data: TOML documents, checked names and values, the versions in force."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.policy import RoutingPolicy
from streams.policy import (
    DEFAULT_POLICY,
    POLICY_NAMES,
    PolicyBook,
    PolicyError,
    parse_toml,
    ranked_weights,
    to_toml,
    weights_from_mapping,
    weights_to_mapping,
)
from streams.routing import DEFAULT_WEIGHTS, FACTORS, Weights

AT = datetime(2027, 2, 20, 8, 0, tzinfo=UTC)


def test_the_document_names_every_setting_of_weights_and_nothing_else() -> None:
    assert POLICY_NAMES == tuple(f.name for f in fields(Weights) if f.name != "total")
    assert set(FACTORS) <= set(POLICY_NAMES)
    assert parse_toml(to_toml(DEFAULT_WEIGHTS)) == DEFAULT_WEIGHTS
    assert parse_toml("") == DEFAULT_WEIGHTS  # every name left out takes the default


factor_weights = st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3))


@given(
    st.fixed_dictionaries(
        {},
        optional={
            **dict.fromkeys(FACTORS, factor_weights),
            "prior": st.floats(0, 1),
            "prior_strength": st.floats(0, 50),
            "speed_half_life_s": st.floats(1, 1e7),
            "country_region": st.floats(0, 1),
            "unknown": st.floats(0, 1),
            "max_ranked": st.integers(0, 100),
            "pool": st.integers(0, 500),
        },
    )
)
def test_any_valid_document_round_trips_through_toml(values: dict[str, float]) -> None:
    if sum(v for k, v in values.items() if k in FACTORS) <= 0 and all(k in values for k in FACTORS):
        return  # all-zero weights: refused (tested below)
    weights = weights_from_mapping(values)
    assert parse_toml(to_toml(weights, header="a header\nof two lines")) == weights
    assert weights_from_mapping(weights_to_mapping(weights)) == weights


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lod = 3.0", "unknown policy name(s): lod"),
        ("fit = 1.0\nzeta = 2\nalpha = 1", "unknown policy name(s): alpha, zeta"),
        ('fit = "1.0"', "fit: must be a number, got str"),
        ("fit = true", "fit: must be a number, got bool"),
        ("fit = nan", "fit: must be a finite number"),
        ("load = inf", "load: must be a finite number"),
        ("max_ranked = 2.5", "max_ranked: must be a whole number"),
        ("fit = -1.0", "weights must be >= 0"),
        ("prior = 1.5", "prior must be in [0, 1]"),
        ("pool = -3", "max_ranked and pool >= 0"),
        ("[weights]\nfit = 1.0", "tables are not policy names: [weights]"),
        ("fit = [1, 2]", "fit: must be a number, got list"),
        ("fit = ", "not valid TOML"),
        (
            "\n".join(f"{name} = 0" for name in FACTORS),
            "weights must be >= 0 with a positive sum",
        ),
    ],
)
def test_a_bad_document_is_refused_with_the_names_and_why(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_toml(text)
    assert message in str(caught.value)


def test_the_partnership_weight_is_a_policy_setting_and_older_versions_take_its_default() -> None:
    assert parse_toml("partnership = 5.0").partnership == 5.0
    assert "partnership = 2.0" in to_toml(DEFAULT_WEIGHTS)
    with pytest.raises(PolicyError, match=r"weights must be >= 0 .*\(partnership < 0\)"):
        parse_toml("partnership = -1.0")
    before = {k: v for k, v in weights_to_mapping(DEFAULT_WEIGHTS).items() if k != "partnership"}
    assert weights_from_mapping(before).partnership == DEFAULT_WEIGHTS.partnership == 2.0


def test_the_unknown_name_error_lists_the_known_names() -> None:
    with pytest.raises(PolicyError, match="known names: fit, certification"):
        weights_from_mapping({"../../etc/passwd": 1.0})


def test_whole_numbers_are_accepted_for_both_kinds_and_kept_as_their_type() -> None:
    weights = parse_toml("max_ranked = 5.0\nfit = 2")
    assert weights.max_ranked == 5 and isinstance(weights.max_ranked, int)
    assert weights.fit == 2.0 and isinstance(weights.fit, float)


def _version(version: int, **weights: float) -> RoutingPolicy:
    return RoutingPolicy(version=version, weights=weights, applied_at=AT)


def test_the_highest_usable_version_is_in_force_whatever_the_order() -> None:
    book = PolicyBook()
    assert book.version == 0 and book.weights == DEFAULT_WEIGHTS
    assert book.apply(_version(2, load=3.0))
    assert not book.apply(_version(1, load=1.0))  # older: kept for replays, not in force
    assert book.version == 2 and book.weights.load == 3.0
    assert book.get(1) is not None and book.get(1).weights.load == 1.0  # type: ignore[union-attr]
    assert book.get(None) is None and book.get(7) is None


def test_an_unusable_version_is_counted_and_the_one_in_force_stays() -> None:
    book = PolicyBook()
    book.apply(_version(1, load=3.0))
    assert not book.apply(_version(2, lod=1.0))  # a forged or hand-written record
    assert not book.apply(_version(3, fit=-5.0))
    assert book.version == 1 and book.invalid == 2
    assert book.last_error is not None and "version 3" in book.last_error
    assert book.get(2) is None


def test_ranked_weights_only_changes_how_many_are_ranked() -> None:
    weights = ranked_weights(DEFAULT_POLICY.weights, 2)
    assert weights.max_ranked == 2
    assert weights_to_mapping(weights) | {"max_ranked": 25} == weights_to_mapping(DEFAULT_WEIGHTS)
    assert ranked_weights(DEFAULT_POLICY.weights, 2) is weights  # cached per (policy, slots)

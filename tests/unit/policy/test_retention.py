from __future__ import annotations

import pytest
from pydantic import ValidationError

from revier.config import TenantPolicy
from revier.errors import BadJson, Forbidden
from revier.policy.retention import (
    DAY_MS,
    RetentionBounds,
    check_retention,
    cutoff,
    effective_lifetime,
)

BOUNDED = RetentionBounds(min_ms=DAY_MS, max_ms=30 * DAY_MS, default_ms=7 * DAY_MS)


def test_bounds_come_from_the_tenant_policy_in_days() -> None:
    policy = TenantPolicy(retention_min_days=1, retention_max_days=30, retention_default_days=7)
    assert RetentionBounds.of(policy) == BOUNDED
    assert RetentionBounds.of(TenantPolicy()) == RetentionBounds()


@pytest.mark.parametrize(("low", "high", "default"), [(10, 5, None), (5, 10, 3), (5, 10, 11)])
def test_inconsistent_bounds_are_refused_at_start(low: int, high: int, default: int | None) -> None:
    with pytest.raises(ValidationError, match="retention_"):
        TenantPolicy(
            retention_min_days=low, retention_max_days=high, retention_default_days=default
        )


def test_a_room_without_the_state_gets_the_default_and_without_one_keeps() -> None:
    assert effective_lifetime(None, BOUNDED) == 7 * DAY_MS
    assert effective_lifetime(None, RetentionBounds()) is None
    assert effective_lifetime({}, RetentionBounds()) is None


def test_stored_values_are_clamped_into_the_bounds() -> None:
    assert effective_lifetime({"max_lifetime": 2 * DAY_MS}, BOUNDED) == 2 * DAY_MS
    assert effective_lifetime({"max_lifetime": 60 * DAY_MS}, BOUNDED) == 30 * DAY_MS
    assert effective_lifetime({"max_lifetime": 1000}, BOUNDED) == DAY_MS
    assert effective_lifetime({}, BOUNDED) == 30 * DAY_MS  # "keep" above a maximum
    assert effective_lifetime({"max_lifetime": "x"}, BOUNDED) == 7 * DAY_MS


def test_min_lifetime_is_kept_but_has_no_effect_as_in_synapse() -> None:
    content = {"max_lifetime": 2 * DAY_MS, "min_lifetime": DAY_MS}
    check_retention(content, BOUNDED)
    assert effective_lifetime(content, BOUNDED) == 2 * DAY_MS


def test_values_outside_the_bounds_are_refused_naming_them() -> None:
    for content in ({"max_lifetime": 31 * DAY_MS}, {"max_lifetime": 60_000}, {}):
        with pytest.raises(Forbidden, match="between 1 days and 30 days") as info:
            check_retention(content, BOUNDED)
        assert f"between {DAY_MS} and {30 * DAY_MS}" in info.value.error
    check_retention({"max_lifetime": 30 * DAY_MS}, BOUNDED)
    check_retention({}, RetentionBounds())


@pytest.mark.parametrize(
    "content",
    [{"max_lifetime": -1}, {"max_lifetime": True}, {"max_lifetime": 1.5},
     {"max_lifetime": 2 * DAY_MS, "min_lifetime": 3 * DAY_MS}],
)  # fmt: skip
def test_malformed_content_is_bad_json(content: dict[str, object]) -> None:
    with pytest.raises(BadJson):
        check_retention(content, BOUNDED)


def test_the_cutoff_moves_with_the_clock() -> None:
    assert cutoff(None, 10**12) is None
    assert cutoff(DAY_MS, 10**12) == 10**12 - DAY_MS

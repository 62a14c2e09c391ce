from __future__ import annotations

import pytest

from revier.config import TenantPolicy
from revier.errors import Forbidden, InvalidParam
from revier.policy.devices import check_device_limit, check_new_device, device_limit


def test_the_user_override_wins_over_the_tenant_default() -> None:
    policy = TenantPolicy(max_devices_per_user=3)
    assert device_limit(policy, None) == 3
    assert device_limit(policy, 5) == 5


def test_a_device_too_many_is_refused_with_what_to_do() -> None:
    check_new_device(3, 2)
    with pytest.raises(Forbidden, match="at most 3 devices") as info:
        check_new_device(3, 3)
    assert "Settings → Sessions" in info.value.error
    assert "help desk" in info.value.error


@pytest.mark.parametrize("value", [None, 1, 3, 100])
def test_a_per_user_limit_from_1_to_100_or_the_default(value: int | None) -> None:
    check_device_limit(value)


@pytest.mark.parametrize("value", [0, -1, 101, 10**9])
def test_a_per_user_limit_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(InvalidParam, match="between 1 and 100"):
        check_device_limit(value)

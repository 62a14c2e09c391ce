from __future__ import annotations

import pytest

from revier.config import TenantPolicy
from revier.errors import Forbidden
from revier.policy.devices import check_new_device, device_limit


def test_the_user_override_wins_over_the_tenant_default() -> None:
    policy = TenantPolicy(max_devices_per_user=3)
    assert device_limit(policy, None) == 3
    assert device_limit(policy, 5) == 5


def test_a_device_too_many_is_refused_with_what_to_do() -> None:
    check_new_device(3, 2)
    with pytest.raises(Forbidden, match="at most 3 devices") as info:
        check_new_device(3, 3)
    assert "help desk" in info.value.error

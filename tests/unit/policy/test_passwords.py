from __future__ import annotations

import pytest

from revier.config import TenantPolicy
from revier.errors import WeakPassword
from revier.policy.passwords import check_password

POLICY = TenantPolicy(password_min_length=12)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12"),
        ("my name is anna ok", "user name"),
        ("ANNA-1234567890", "user name"),
        ("x" * 5000, "4096 bytes"),
    ],
)
def test_weak_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason):
        check_password(POLICY, password, localpart="anna")


def test_a_good_password_passes() -> None:
    check_password(POLICY, "correct horse battery staple", localpart="anna")

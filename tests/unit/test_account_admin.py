"""What admins get handed about accounts: generated passwords, and the command
line's view of one account (the fields of the admin API, never content)."""

from __future__ import annotations

import pytest

from revier.cli.users import format_details
from revier.config import TenantPolicy
from revier.policy.passwords import check_password
from revier.services.accounts import UserDetails
from revier.services.core import generate_password
from revier.storage.core.devices import Device
from revier.storage.core.users import User


@pytest.mark.parametrize("localpart", ["a", "x1", "anna.schmidt"])
@pytest.mark.parametrize("min_length", [8, 12, 40])
def test_generated_passwords_pass_the_policy(localpart: str, min_length: int) -> None:
    policy = TenantPolicy(password_min_length=min_length)
    drawn = {generate_password(policy, localpart) for _ in range(50)}
    assert len(drawn) == 50  # random, not derived from anything
    for password in drawn:
        # One letter is in almost every random string: those are drawn again.
        check_password(policy, password, localpart=localpart)
        assert len(password) == max(24, min_length)


def test_show_prints_every_field_of_the_api() -> None:
    user = User(
        user_id="@anna:police.example",
        tenant="police.example",
        localpart="anna",
        password_hash="$argon2id$secret",
        is_admin=False,
        deactivated=True,
        created_ts=1_700_000_000_000,
        displayname="Anna Schmidt",
        avatar_url=None,
        max_devices=None,
    )
    phone = Device("@anna:police.example", "PHONE", "Pixel", 1, 1_700_000_060_000, "203.0.113.9")
    out = format_details(UserDetails(user, [phone], 0, 3), deactivation_pending=True)
    fields = dict(line.split(":", 1) for line in out.splitlines() if not line.startswith("  "))
    assert {k: v.strip() for k, v in fields.items()} == {
        "user_id": "@anna:police.example",
        "displayname": "Anna Schmidt",
        "avatar_url": "",
        "admin": "no",
        "guest": "no",
        "deactivated": "yes",
        "deactivation_pending": "yes",
        "created": "2023-11-14 22:13 UTC",
        "device_limit": "3 (default)",
        "joined_rooms_count": "0",
        "devices": "1",
    }
    assert "PHONE  Pixel  last seen 2023-11-14 22:14 UTC" in out
    # Neither the password hash nor the address the device last came from.
    assert "argon2" not in out and "203.0.113.9" not in out

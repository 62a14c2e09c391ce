"""Opening a device's session: the one place a sign-in (password, login token,
OAuth 2.0, registration) creates or takes over a device and hands out its tokens."""

from __future__ import annotations

from dataclasses import dataclass

from revier.policy.devices import check_new_device, device_limit
from revier.services.accounts.refresh import TokenFamily, issue_tokens
from revier.services.core import (
    AuditLog,
    Device,
    Tenant,
    TokenHasher,
    devices,
    new_device_id,
    users,
)
from revier.services.e2e import record_device_list_change
from revier.storage import Tx
from revier.storage.accounts import AccountRepos


@dataclass(frozen=True, slots=True)
class LoginResult:
    user_id: str
    device_id: str
    access_token: str
    refresh_token: str | None = None
    expires_in_ms: int | None = None

    def response(self) -> dict[str, object]:
        """The tokens as /login and /register answer them."""
        out: dict[str, object] = {
            "user_id": self.user_id,
            "access_token": self.access_token,
            "device_id": self.device_id,
        }
        if self.refresh_token is not None:
            out["refresh_token"] = self.refresh_token
        if self.expires_in_ms is not None:
            out["expires_in_ms"] = self.expires_in_ms
        return out


async def open_device_session(
    tx: Tx,
    hasher: TokenHasher,
    audit: AuditLog,
    tenant: Tenant,
    user_id: str,
    *,
    now: int,
    max_devices: int | None,
    device_id: str | None,
    display_name: str | None,
    address: str,
    via: str | None,
    refresh: bool,
    family: TokenFamily | None,
) -> LoginResult:
    """See ``AuthService.open_session``."""
    db = AccountRepos.of(tx)
    await users.lock(tx, user_id)
    existing = await devices.get(tx, user_id, device_id) if device_id else None
    if existing is not None:
        # Logging in again as a known device replaces its session.
        await db.access_tokens.delete_for_devices(user_id, [existing.device_id])
        await db.refresh_tokens.delete_for_devices(user_id, [existing.device_id])
    else:
        limit = device_limit(tenant.policy, max_devices)
        check_new_device(limit, await devices.count(tx, user_id))
        device_id = device_id or new_device_id()
        # Some clients (matrix-nio) require a name on every device;
        # the ID is what the user would see anyway.
        name = display_name or device_id
        await devices.add(tx, Device(user_id, device_id, name, now, now, address))
        await audit.record(
            tx,
            tenant,
            "device.added",
            actor=user_id,
            target=f"{user_id}/{device_id}",
            source=address,
            details={"via": "oauth" if via == "oauth" else "login" if via else "registration"},
        )
        # The user's other devices list their own devices: one more.
        await record_device_list_change(tx, user_id, tell_room_mates=False)
    assert device_id is not None
    issued = await issue_tokens(
        tx, hasher, tenant, user_id, device_id, now=now, refresh=refresh, family=family
    )
    if via:
        await audit.record(
            tx,
            tenant,
            "login.succeeded",
            actor=user_id,
            target=user_id,
            source=address,
            details={
                "device_id": device_id,
                "new_device": existing is None,
                **({"via": "login_token"} if via == "token" else {}),
                **({"via": "oauth"} if via == "oauth" else {}),
            },
        )
    return LoginResult(
        user_id, device_id, issued.access_token, issued.refresh_token, issued.expires_in_ms
    )

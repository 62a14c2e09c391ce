"""What the account page does for a signed-in owner: list their devices, sign
one or all of them out, change the password.

Signing a device out is the help desk's wipe (``DeviceAdminService.wipe``),
done by the owner: the device's token dies, its waiting /sync is answered
``M_UNKNOWN_TOKEN`` with ``soft_logout: false`` and the app erases its local
data. The audit log tells the two apart by ``details.self_service``.
"""

from __future__ import annotations

from revier.services.accounts import AccountService, DeviceAdminService
from revier.services.core import Actor, Device, Tenant
from revier.services.signin.signin_flow import SignInFlow
from revier.services.signin.web_sessions import SignedIn, WebSessions

_SELF = {"self_service": "account_page"}


class OwnAccount:
    def __init__(
        self,
        flow: SignInFlow,
        accounts: AccountService,
        device_admin: DeviceAdminService,
        web_sessions: WebSessions,
    ) -> None:
        self._flow = flow
        self._accounts = accounts
        self._device_admin = device_admin
        self._web_sessions = web_sessions

    async def devices(self, tenant: Tenant, signed: SignedIn) -> list[Device]:
        found = await self._device_admin.list_devices(tenant, signed.user_id)
        # Most recently used first: the device in the officer's hand is on top.
        return sorted(found, key=lambda d: -(d.last_seen_ts or d.created_ts))

    async def sign_out_devices(
        self, tenant: Tenant, signed: SignedIn, device_ids: list[str] | None, *, address: str
    ) -> list[Device]:
        """Signs out (wipes) the named devices of the owner, or all with None;
        another user's device ID is M_NOT_FOUND like a missing one."""
        return await self._device_admin.wipe(
            tenant, Actor(signed.user_id, address), signed.user_id, device_ids, details=_SELF
        )

    async def change_password(
        self,
        tenant: Tenant,
        signed: SignedIn,
        *,
        old: str,
        new: str,
        address: str,
        logout_devices: bool,
    ) -> int:
        """A new password, behind the old one (checked like a login: same limits,
        same audit of failures). Every other browser session ends; with
        ``logout_devices`` every device too. How many devices were signed out."""
        await self._flow.check_password(tenant, user=signed.user_id, password=old, address=address)
        removed = await self._accounts.change_own_password(
            tenant,
            signed.user_id,
            new,
            Actor(signed.user_id, address),
            logout_devices=logout_devices,
        )
        await self._web_sessions.password_changed(signed.user_id, keep=signed.session_id)
        return removed

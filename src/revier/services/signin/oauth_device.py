"""The device authorization grant (RFC 8628; spec "Device authorisation flow"):
a device without a usable browser shows a short user code, the person types it
on revier's verification page (signed in there), and the device, polling the
token endpoint with its device code, receives its tokens.

Both codes are stored as keyed hashes. The user code is short for typing, so
it is only good together with a signed-in session, for ten minutes, once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628.errors import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)

from revier.errors import Forbidden, NotFound
from revier.notify import Notifier
from revier.services.accounts import TokenFamily
from revier.services.core import Clock, Tenant, TokenHasher
from revier.services.signin.oauth_clients import DEVICE_CODE, Client, OAuthClients
from revier.services.signin.oauth_scope import parse_scope
from revier.services.signin.oauth_tokens import Grant, OAuthTokens
from revier.storage import Store
from revier.storage.signin import SigninRepos
from revier.storage.signin.oauth import DeviceGrantRow

LIFETIME_S = 600
INTERVAL_S = 5
# No vowels (no words), no look-alikes (RFC 8628 6.1): 20^8 codes.
_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_USER_CODE_LENGTH = 8


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    device_code: str
    user_code: str  # as shown: XXXX-XXXX
    expires_in: int
    interval: int


@dataclass(frozen=True, slots=True)
class PendingDevice:
    """What the verification page shows before the person approves."""

    client: Client
    device_id: str
    user_code: str


def normalise_user_code(typed: str) -> str | None:
    """The code as typed (any case, with or without the dash), or None if it
    can't be one of ours."""
    code = "".join(c for c in typed.upper() if c not in "- ")
    if len(code) != _USER_CODE_LENGTH or any(c not in _ALPHABET for c in code):
        return None
    return code


class DeviceGrants:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        hasher: TokenHasher,
        notifier: Notifier,
        clients: OAuthClients,
        tokens: OAuthTokens,
    ) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._notifier = notifier
        self._clients = clients
        self._tokens = tokens

    async def start(
        self, tenant: Tenant, *, client_id: str | None, scope: str | None
    ) -> DeviceAuthorization:
        """POST /_revier/oauth2/device"""
        client = await self._clients.get(tenant, client_id)
        if DEVICE_CODE not in client.grant_types:
            raise UnauthorizedClientError("The client did not register for the device grant")
        matrix_scope = parse_scope(scope)
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(_ALPHABET) for _ in range(_USER_CODE_LENGTH))
        now = self._clock.time_ms()
        row = DeviceGrantRow(
            device_code_hash=self._hasher.hash(device_code),
            tenant=tenant.server_name,
            client_id=client.client_id,
            scope=matrix_scope.granted,
            device_id=matrix_scope.device_id,
            expires_ts=now + LIFETIME_S * 1000,
            last_poll_ts=0,
            status="pending",
            user_id=None,
        )
        async with self._store.transaction() as tx:
            await SigninRepos.of(tx).oauth.add_device_grant(row, self._hasher.hash(user_code), now)
        shown = f"{user_code[:4]}-{user_code[4:]}"
        return DeviceAuthorization(device_code, shown, LIFETIME_S, INTERVAL_S)

    async def poll(
        self, tenant: Tenant, *, client_id: str | None, device_code: str | None, address: str
    ) -> dict[str, Any]:
        """grant_type=urn:ietf:params:oauth:grant-type:device_code"""
        if not device_code or len(device_code) > 128:
            raise InvalidGrantError("Unknown device_code")
        code_hash = self._hasher.hash(device_code)
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            db = SigninRepos.of(tx).oauth
            row = await db.device_grant(device_code_hash=code_hash, lock=True)
            if row is None or row.tenant != tenant.server_name or row.client_id != client_id:
                raise InvalidGrantError("Unknown device_code")
            if row.expires_ts <= now:
                raise ExpiredTokenError()
            outcome: Exception | dict[str, Any]
            if row.status == "pending":
                # RFC 8628 3.5: a client polling faster than the interval slows down.
                too_soon = now - row.last_poll_ts < INTERVAL_S * 1000
                await db.update_device_grant(code_hash, expect_status="pending", last_poll_ts=now)
                outcome = SlowDownError() if too_soon else AuthorizationPendingError()
            elif row.status == "denied":
                raise AccessDeniedError("The user declined")
            elif row.status != "approved" or row.user_id is None:
                raise InvalidGrantError("The device_code was used before")
            else:
                if not await db.update_device_grant(
                    code_hash, expect_status="approved", status="used"
                ):
                    raise InvalidGrantError("The device_code was used meanwhile")
                client = await self._clients.get(tenant, row.client_id)
                grant = Grant(
                    row.client_id, row.user_id, row.device_id, row.scope, client.client_name
                )
                family = TokenFamily.new(self._hasher, tenant.policy.oauth_access_token_lifetime)
                outcome = await self._tokens.open_session(tx, tenant, grant, family, address)
        if isinstance(outcome, Exception):
            raise outcome
        self._notifier.notify(users=[row.user_id or ""])
        return outcome

    async def pending(self, tenant: Tenant, typed_code: str) -> PendingDevice:
        """The grant a typed user code names (the verification page), else NotFound."""
        row = await self._find(tenant, typed_code)
        client = await self._clients.get(tenant, row.client_id)
        code = normalise_user_code(typed_code) or ""
        return PendingDevice(client, row.device_id, f"{code[:4]}-{code[4:]}")

    async def decide(self, tenant: Tenant, typed_code: str, user_id: str, *, approve: bool) -> None:
        """The signed-in person approves (or declines) the device."""
        row = await self._find(tenant, typed_code)
        async with self._store.transaction() as tx:
            changed = await SigninRepos.of(tx).oauth.update_device_grant(
                row.device_code_hash,
                expect_status="pending",
                status="approved" if approve else "denied",
                user_id=user_id,
            )
        if not changed:
            raise Forbidden("This code was used already")

    async def _find(self, tenant: Tenant, typed_code: str) -> DeviceGrantRow:
        code = normalise_user_code(typed_code)
        row = None
        if code is not None:
            async with self._store.read() as tx:
                row = await SigninRepos.of(tx).oauth.device_grant(
                    user_code_hash=self._hasher.hash(code)
                )
        now = self._clock.time_ms()
        if row is None or row.tenant != tenant.server_name or row.expires_ts <= now:
            raise NotFound("No sign-in is waiting for this code; check it, or start again")
        if row.status != "pending":
            raise NotFound("No sign-in is waiting for this code; check it, or start again")
        return row

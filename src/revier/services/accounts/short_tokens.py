"""Short-lived single-purpose tokens: OpenID tokens and m.login.token login tokens.

An OpenID token (spec "OpenID", 1 hour) lets a widget or integration manager
learn who the user is, through the federation endpoint
``/openid/userinfo``, and nothing else. A login token (MSC3882,
``POST /login/get_token``, 2 minutes, single use) lets a logged-in device sign
in a new one (a QR code). Neither is ever an access token, nor the reverse:
they live in their own table (keyed hashes, like access tokens) with their
own prefix, and each look-up names the kind it wants.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from revier.errors import Forbidden, UnknownToken
from revier.services.core import Clock, Requester, Tenant, TokenHasher, UserInteractiveAuth
from revier.storage import Store
from revier.storage.accounts import AccountRepos
from revier.storage.accounts.short_tokens import Kind

OPENID_LIFETIME_MS = 3600 * 1000
LOGIN_TOKEN_LIFETIME_MS = 120 * 1000


@dataclass(frozen=True, slots=True)
class ShortLivedToken:
    token: str
    expires_in_ms: int


class ShortTokenService:
    def __init__(
        self, store: Store, clock: Clock, hasher: TokenHasher, uia: UserInteractiveAuth
    ) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._uia = uia

    async def openid_token(self, requester: Requester, user_id: str) -> ShortLivedToken:
        """POST /user/{userId}/openid/request_token: for oneself only."""
        if user_id != requester.user_id:
            raise Forbidden("An OpenID token can only be requested for oneself")
        return await self._issue(requester, "rvoi_", "openid", OPENID_LIFETIME_MS)

    async def openid_userinfo(self, tenant: Tenant, token: str) -> str:
        """GET /_matrix/federation/v1/openid/userinfo: the token's user, asked on
        the token's own tenant's host only."""
        async with self._store.read() as tx:
            found = await AccountRepos.of(tx).short_tokens.valid(
                self._hasher.hash(token), "openid", self._clock.time_ms()
            )
        if found is None or found.tenant != tenant.server_name:
            raise UnknownToken("Unknown or expired OpenID token")
        return found.user_id

    async def login_token(self, requester: Requester, auth: Any) -> ShortLivedToken:
        """POST /login/get_token: behind the password (UIA), when the tenant allows it."""
        if not requester.tenant.policy.login_token or requester.is_guest:
            raise Forbidden("Login tokens are not enabled on this server")
        await self._uia.require_password(requester, auth, operation="get_login_token")
        return await self._issue(requester, "rvlt_", "login", LOGIN_TOKEN_LIFETIME_MS)

    async def _issue(
        self, requester: Requester, prefix: str, kind: Kind, lifetime_ms: int
    ) -> ShortLivedToken:
        token = prefix + secrets.token_urlsafe(32)
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            await AccountRepos.of(tx).short_tokens.create(
                self._hasher.hash(token),
                kind,
                user_id=requester.user_id,
                tenant=requester.tenant.server_name,
                expires_ts=now + lifetime_ms,
                now=now,
            )
        return ShortLivedToken(token, lifetime_ms)

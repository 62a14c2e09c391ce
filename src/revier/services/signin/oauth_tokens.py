"""The token endpoint's grants (authorization code with PKCE S256, refresh token
with rotation and replay detection) and revocation (RFC 7009).

Tokens are the accounts wing's: the access token works wherever a Matrix
access token works and expires after the tenant's
``oauth_access_token_lifetime``; each refresh hands out a new refresh token
of the same family (``accounts.TokenFamily``). A spent refresh token or a
used code that comes back means a copy is in someone else's hands: the
whole session (its device) is revoked (spec "Refresh token grant", RFC 6749
4.1.2 and 10.4).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidGrantError
from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN, create_s256_code_challenge

from revier.errors import Forbidden, UnknownToken
from revier.notify import Notifier
from revier.services.accounts import AuthService, RefreshService, TokenFamily
from revier.services.core import AuditLog, Clock, Tenant, TokenHasher, users
from revier.storage import Store, Tx
from revier.storage.signin import SigninRepos
from revier.storage.signin.oauth import SessionRow


@dataclass(frozen=True, slots=True)
class Grant:
    """Who was signed in for which device of which client, with which scope."""

    client_id: str
    user_id: str
    device_id: str
    scope: str
    client_name: str | None = None


class OAuthTokens:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        hasher: TokenHasher,
        notifier: Notifier,
        audit: AuditLog,
        auth: AuthService,
        refresh: RefreshService,
    ) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._notifier = notifier
        self._audit = audit
        self._auth = auth
        self._refresh = refresh

    async def exchange_code(
        self,
        tenant: Tenant,
        *,
        client_id: str | None,
        code: str | None,
        redirect_uri: str | None,
        code_verifier: str | None,
        client_name: str | None,
        address: str,
    ) -> dict[str, Any]:
        """grant_type=authorization_code."""
        if not code or len(code) > 128:
            raise InvalidGrantError("Unknown or expired code")
        code_hash = self._hasher.hash(code)
        now = self._clock.time_ms()
        async with self._store.read() as tx:
            row = await SigninRepos.of(tx).oauth.code(code_hash)
        if row is None or row.tenant != tenant.server_name or row.expires_ts <= now:
            raise InvalidGrantError("Unknown or expired code")
        if row.client_id != client_id:
            raise InvalidGrantError("The code was issued to another client")
        if row.used_ts is not None:
            await self._revoke_family(tenant, row.family, address, "code_reused")
            raise InvalidGrantError("The code was used before; its session is revoked")
        if redirect_uri != row.redirect_uri:
            raise InvalidGrantError("redirect_uri differs from the authorization request's")
        if not code_verifier or not CODE_VERIFIER_PATTERN.match(code_verifier):
            raise InvalidGrantError("code_verifier is missing or malformed")
        challenge = create_s256_code_challenge(code_verifier)
        if not hmac.compare_digest(challenge.encode(), row.code_challenge.encode()):
            raise InvalidGrantError("code_verifier does not match the code_challenge")
        grant = Grant(row.client_id, row.user_id, row.device_id, row.scope, client_name)
        family = TokenFamily.new(self._hasher, tenant.policy.oauth_access_token_lifetime)
        async with self._store.transaction() as tx:
            if not await SigninRepos.of(tx).oauth.use_code(code_hash, family.family_hash, now):
                raise InvalidGrantError("The code was used meanwhile")
            response = await self.open_session(tx, tenant, grant, family, address)
        self._notifier.notify(users=[grant.user_id])
        return response

    async def open_session(
        self, tx: Tx, tenant: Tenant, grant: Grant, family: TokenFamily, address: str
    ) -> dict[str, Any]:
        """The device of the grant (new, or taken over) and its first tokens, in the
        caller's transaction; the token response."""
        account = await users.get(tx, grant.user_id)
        if account is None or account.deactivated or account.tenant != tenant.server_name:
            raise InvalidGrantError("The account is closed")
        if account.locked:
            raise InvalidGrantError("The account is locked; ask the help desk")
        try:
            result = await self._auth.open_session(
                tx,
                tenant,
                grant.user_id,
                max_devices=account.max_devices,
                device_id=grant.device_id,
                display_name=grant.client_name,
                address=address,
                via="oauth",
                family=family,
            )
        except Forbidden as e:  # the device limit, reached since the consent
            raise InvalidGrantError(e.error) from None
        await SigninRepos.of(tx).oauth.add_session(
            SessionRow(
                family=family.family_hash,
                tenant=tenant.server_name,
                client_id=grant.client_id,
                user_id=grant.user_id,
                device_id=grant.device_id,
                scope=grant.scope,
                created_ts=self._clock.time_ms(),
            )
        )
        assert result.refresh_token is not None and result.expires_in_ms is not None
        return token_response(
            result.access_token, result.refresh_token, result.expires_in_ms, grant.scope
        )

    async def refresh(
        self, tenant: Tenant, *, client_id: str | None, refresh_token: str | None, address: str
    ) -> dict[str, Any]:
        """grant_type=refresh_token: a new pair; a replayed token revokes the session."""
        lifetime = tenant.policy.oauth_access_token_lifetime
        family = TokenFamily.of(self._hasher, refresh_token or "", lifetime)
        if family is None or refresh_token is None or len(refresh_token) > 256:
            raise InvalidGrantError("Unknown refresh token")
        async with self._store.read() as tx:
            session = await SigninRepos.of(tx).oauth.session(family.family_hash)
        if session is None or session.tenant != tenant.server_name:
            raise InvalidGrantError("Unknown refresh token")
        if session.client_id != client_id:
            raise InvalidClientError("The refresh token was issued to another client")
        try:
            issued = await self._refresh.refresh(tenant, refresh_token, family=family)
        except UnknownToken:
            await self._revoke_family(tenant, family.family_hash, address, "refresh_replayed")
            raise InvalidGrantError(
                "The refresh token was used before; the session is revoked"
            ) from None
        assert issued.refresh_token is not None and issued.expires_in_ms is not None
        return token_response(
            issued.access_token, issued.refresh_token, issued.expires_in_ms, session.scope
        )

    async def revoke(self, tenant: Tenant, token: str, *, address: str) -> None:
        """RFC 7009: the token's session ends, access and refresh tokens with its
        device. An unknown token is not an error (nothing to revoke)."""
        if not token or len(token) > 256:
            return
        owner = await self._refresh.token_device(tenant, token)
        if owner is None:
            return
        user_id, device_id = owner
        async with self._store.transaction() as tx:
            session = await SigninRepos.of(tx).oauth.session_of_device(user_id, device_id)
            if session is not None:
                await SigninRepos.of(tx).oauth.delete_session(session.family)
            wake = await self._auth.end_session(
                tx, tenant, user_id, device_id, actor=user_id, address=address, reason="revoked"
            )
        self._notifier.notify(users=wake)

    async def _revoke_family(
        self, tenant: Tenant, family: bytes | None, address: str, reason: str
    ) -> None:
        """A stolen copy is in use: the session the family signs in ends, with an
        audit entry the help desk can follow up."""
        if family is None:
            return
        wake: set[str] = set()
        async with self._store.transaction() as tx:
            db = SigninRepos.of(tx).oauth
            session = await db.session(family)
            if session is None or session.tenant != tenant.server_name:
                return
            await db.delete_session(family)
            live = await self._refresh.family_device(tx, tenant, family)
            if live is None:
                # Signed out already (revoked, logged out, wiped): nothing was stolen
                # that still works, and the leftover row goes quietly.
                return
            wake = await self._auth.end_session(
                tx, tenant, *live, actor=None, address=address, reason=reason
            )
            await self._audit.record(
                tx,
                tenant,
                "oauth.session_revoked",
                actor=None,
                target=f"{session.user_id}/{session.device_id}",
                source=address,
                details={"reason": reason, "client_id": session.client_id},
            )
        self._notifier.notify(users=wake)


def token_response(access: str, refresh: str, expires_in_ms: int, scope: str) -> dict[str, Any]:
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in_ms // 1000,
        "refresh_token": refresh,
        "scope": scope,
    }

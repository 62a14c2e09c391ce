"""The authorization endpoint (RFC 6749 4.1.1 with PKCE, RFC 7636; spec
"Authorisation code flow"): checking a request, what the consent page shows,
and the single-use code the browser carries back to the client.

Errors about the client or its redirect URI are shown to the person, never
sent anywhere (RFC 6749 4.1.2.1: the redirect would be an open redirector);
errors after that go back to the client's registered redirect URI.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN

from revier.errors import Forbidden, NotFound
from revier.policy.devices import device_limit
from revier.services.core import Clock, Device, Tenant, TokenHasher, devices, users
from revier.services.signin.oauth_clients import Client, OAuthClients
from revier.services.signin.oauth_scope import MatrixScope, parse_scope
from revier.storage import Store
from revier.storage.signin import SigninRepos
from revier.storage.signin.oauth import CodeRow

# Long enough for a slow phone to hand the code to its app, short enough
# that a code read off a screen or a log is useless (RFC 6749: at most 10 min).
CODE_LIFETIME_MS = 2 * 60 * 1000
RESPONSE_MODES = ("query", "fragment")
UNKNOWN_CLIENT = "This app is not registered with this server."
UNREGISTERED_REDIRECT = "The app asked to return to an address it did not register."


class ErrorRedirect(Exception):
    """A bad request from a trusted client: the browser goes back to the client
    with the error (RFC 6749 4.1.2.1)."""

    def __init__(self, location: str, error: str) -> None:
        super().__init__(error)
        self.location = location
        self.error = error


class UntrustedRedirect(Exception):
    """The client or its redirect URI can't be trusted: the page says so, and the
    browser is sent nowhere."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    response_mode: str
    state: str | None
    scope: MatrixScope
    code_challenge: str
    prompt: frozenset[str]

    def redirect(self, params: Mapping[str, str]) -> str:
        """The client's redirect URI carrying ``params`` (and ``state``) in the
        response mode it asked for."""
        return _redirect(self.redirect_uri, self.response_mode, self.state, params)


@dataclass(frozen=True, slots=True)
class Consent:
    """What the consent page shows: who asks, for which device, and — at the
    device limit — which devices to remove first."""

    user_id: str
    device_id: str
    new_device: bool
    at_limit: bool
    limit: int
    devices: list[Device]


class OAuthAuthorization:
    def __init__(
        self, store: Store, clock: Clock, hasher: TokenHasher, clients: OAuthClients
    ) -> None:
        self._store = store
        self._clock = clock
        self._hasher = hasher
        self._clients = clients

    async def client_and_redirect(
        self, tenant: Tenant, params: Mapping[str, str]
    ) -> tuple[Client, str]:
        """The client and the redirect URI it registered, or ``UntrustedRedirect``."""
        try:
            client = await self._clients.get(tenant, params.get("client_id"))
        except InvalidClientError:
            raise UntrustedRedirect(UNKNOWN_CLIENT) from None
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not client.redirect_uri_matches(redirect_uri):
            raise UntrustedRedirect(UNREGISTERED_REDIRECT)
        return client, redirect_uri

    async def check(self, tenant: Tenant, params: Mapping[str, str]) -> AuthorizationRequest:
        """The request, checked; ``UntrustedRedirect``, or ``ErrorRedirect`` to the
        client's redirect URI (with ``state``) for everything else."""
        client, redirect_uri = await self.client_and_redirect(tenant, params)
        state = params.get("state")
        mode = params.get("response_mode", "query")

        def fail(error: OAuth2Error) -> ErrorRedirect:
            where = mode if mode in RESPONSE_MODES else "query"
            body = {"error": error.error, "error_description": error.description or ""}
            return ErrorRedirect(_redirect(redirect_uri, where, state, body), error.error)

        if mode not in RESPONSE_MODES:
            raise fail(InvalidRequestError("response_mode must be query or fragment"))
        if params.get("response_type") != "code":
            raise fail(UnsupportedResponseTypeError("response_type must be code"))
        if "authorization_code" not in client.grant_types:
            raise fail(UnauthorizedClientError("The client did not register for this grant"))
        # PKCE with S256 only: "plain" would hand the verifier to whoever reads the URL.
        if params.get("code_challenge_method") != "S256":
            raise fail(InvalidRequestError("PKCE is required: code_challenge_method S256"))
        challenge = params.get("code_challenge", "")
        if not CODE_CHALLENGE_PATTERN.match(challenge):
            raise fail(InvalidRequestError("code_challenge is missing or malformed"))
        try:
            scope = parse_scope(params.get("scope"))
        except InvalidScopeError as e:
            raise fail(e) from None
        prompt = frozenset(params.get("prompt", "").split())
        return AuthorizationRequest(client, redirect_uri, mode, state, scope, challenge, prompt)

    async def consent(self, tenant: Tenant, user_id: str, device_id: str) -> Consent:
        async with self._store.read() as tx:
            account = await users.get(tx, user_id)
            if account is None or account.tenant != tenant.server_name:
                raise NotFound("No such user")
            own = await devices.of_user(tx, user_id)
        limit = device_limit(tenant.policy, account.max_devices)
        new = all(d.device_id != device_id for d in own)
        return Consent(user_id, device_id, new, new and len(own) >= limit, limit, own)

    async def issue_code(self, tenant: Tenant, request: AuthorizationRequest, user_id: str) -> str:
        """The person consented: the redirect URI with a fresh single-use code."""
        consent = await self.consent(tenant, user_id, request.scope.device_id)
        if consent.at_limit:
            raise Forbidden(f"At most {consent.limit} devices per account")
        code = secrets.token_urlsafe(32)
        now = self._clock.time_ms()
        row = CodeRow(
            tenant=tenant.server_name,
            client_id=request.client.client_id,
            user_id=user_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope.granted,
            device_id=request.scope.device_id,
            code_challenge=request.code_challenge,
            expires_ts=now + CODE_LIFETIME_MS,
            used_ts=None,
            family=None,
        )
        async with self._store.transaction() as tx:
            await SigninRepos.of(tx).oauth.add_code(self._hasher.hash(code), row, now)
        return request.redirect({"code": code})

    @staticmethod
    def denied(request: AuthorizationRequest) -> str:
        """The person declined: the client learns it, and nothing else."""
        error = AccessDeniedError("The user declined")
        return request.redirect({"error": error.error, "error_description": error.description})


def _redirect(
    redirect_uri: str, response_mode: str, state: str | None, params: Mapping[str, str]
) -> str:
    values = {**params, **({"state": state} if state is not None else {})}
    encoded = urlencode(values)
    if response_mode == "fragment":
        return f"{redirect_uri}#{encoded}"
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{encoded}"

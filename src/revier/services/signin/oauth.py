"""The OAuth 2.0 API's services together, as the container builds them once."""

from __future__ import annotations

from dataclasses import dataclass

from revier.config import RateLimitSettings
from revier.notify import Notifier
from revier.services.accounts import AuthService, RefreshService
from revier.services.core import AuditLog, Clock, RateLimiter, TokenHasher
from revier.services.signin.oauth_authorize import OAuthAuthorization
from revier.services.signin.oauth_clients import OAuthClients
from revier.services.signin.oauth_device import DeviceGrants
from revier.services.signin.oauth_tokens import OAuthTokens
from revier.storage import Store


@dataclass(frozen=True, slots=True)
class OAuth:
    clients: OAuthClients
    authorization: OAuthAuthorization
    tokens: OAuthTokens
    device: DeviceGrants

    @classmethod
    def build(
        cls,
        store: Store,
        clock: Clock,
        hasher: TokenHasher,
        notifier: Notifier,
        audit: AuditLog,
        auth: AuthService,
        refresh: RefreshService,
        limits: RateLimitSettings,
    ) -> OAuth:
        # Client registrations per address, on the budget of POST /register's.
        per_address = RateLimiter(limits.registration_per_address, clock, enabled=limits.enabled)
        clients = OAuthClients(store, clock, per_address)
        tokens = OAuthTokens(store, clock, hasher, notifier, audit, auth, refresh)
        return cls(
            clients,
            OAuthAuthorization(store, clock, hasher, clients),
            tokens,
            DeviceGrants(store, clock, hasher, notifier, clients, tokens),
        )

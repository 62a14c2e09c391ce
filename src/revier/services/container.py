"""All services of one running server, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from revier.config import Settings
from revier.services.accounts import AccountService
from revier.services.auth import AuthService
from revier.services.clock import Clock, SystemClock
from revier.services.devices import DeviceService
from revier.services.ratelimit import RateLimiter
from revier.services.tenants import TenantRegistry, load_tenants, read_or_create_secret
from revier.services.tokens import TokenHasher
from revier.services.uia import UserInteractiveAuth
from revier.storage import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    clock: Clock
    tenants: TenantRegistry
    accounts: AccountService
    auth: AuthService
    devices: DeviceService


def build_services(settings: Settings, store: Store, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    tenants = load_tenants(settings)
    rl = settings.ratelimit
    token_key = read_or_create_secret(settings.server.data_dir / "keys" / "access_token.key")
    failed_logins = RateLimiter(rl.login_per_user, clock, enabled=rl.enabled)
    uia = UserInteractiveAuth(store, clock, failed_logins)
    auth = AuthService(
        store,
        clock,
        tenants,
        TokenHasher(token_key),
        login_per_address=RateLimiter(rl.login_per_address, clock, enabled=rl.enabled),
        failed_login_per_user=failed_logins,
    )
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        tenants=tenants,
        accounts=AccountService(store, clock, uia),
        auth=auth,
        devices=DeviceService(store, uia),
    )

"""All services of one running server, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from revier.config import Settings
from revier.events.room_versions import DEFAULT_ROOM_VERSION
from revier.notify import LocalNotifier, Notifier
from revier.services.account_data import AccountDataService
from revier.services.accounts import AccountService
from revier.services.auth import AuthService
from revier.services.clock import Clock, SystemClock
from revier.services.devices import DeviceService
from revier.services.filters import FilterService
from revier.services.membership import MembershipService
from revier.services.push_actions import PushActions
from revier.services.ratelimit import RateLimiter
from revier.services.receipts import ReceiptService
from revier.services.room_events import RoomEventWriter
from revier.services.rooms import RoomService
from revier.services.sync import SyncService
from revier.services.sync_rooms import RoomSyncBuilder
from revier.services.tenants import TenantRegistry, load_tenants, read_or_create_secret
from revier.services.tokens import TokenHasher
from revier.services.typing import TypingService
from revier.services.uia import UserInteractiveAuth
from revier.services.visibility import Visibility
from revier.storage import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    clock: Clock
    notifier: Notifier
    tenants: TenantRegistry
    accounts: AccountService
    auth: AuthService
    devices: DeviceService
    rooms: RoomService
    membership: MembershipService
    visibility: Visibility
    sync: SyncService
    filters: FilterService
    typing: TypingService
    receipts: ReceiptService
    account_data: AccountDataService
    push_actions: PushActions


def build_services(settings: Settings, store: Store, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    notifier = LocalNotifier()
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
    push_actions = PushActions()
    writer = RoomEventWriter(clock, push_actions)
    visibility = Visibility()
    typing = TypingService(notifier, clock)
    account_data = AccountDataService(store, notifier)
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        notifier=notifier,
        tenants=tenants,
        accounts=AccountService(store, clock, uia),
        auth=auth,
        devices=DeviceService(store, uia),
        rooms=RoomService(
            store, writer, notifier, clock, visibility, default_room_version=DEFAULT_ROOM_VERSION
        ),
        membership=MembershipService(store, writer, notifier),
        visibility=visibility,
        sync=SyncService(store, notifier, clock, typing, RoomSyncBuilder(visibility)),
        filters=FilterService(store),
        typing=typing,
        receipts=ReceiptService(store, notifier, clock, account_data),
        account_data=account_data,
        push_actions=push_actions,
    )

"""All services of one running server, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from revier.config import Settings
from revier.conformance import conformance_mode
from revier.events.room_versions import DEFAULT_ROOM_VERSION
from revier.notify import Notifier, create_notifier
from revier.services.account_data import AccountDataService
from revier.services.accounts import AccountService
from revier.services.audit import AuditLog
from revier.services.auth import AuthService
from revier.services.clock import Clock, SystemClock
from revier.services.cross_signing import CrossSigningService
from revier.services.deactivation import DeactivationService
from revier.services.device_admin import DeviceAdminService
from revier.services.devices import DeviceService
from revier.services.directory import DirectoryService
from revier.services.e2e_keys import E2eKeyService
from revier.services.e2e_sync import E2eSync
from revier.services.filters import FilterService
from revier.services.key_backup import KeyBackupService
from revier.services.media import MediaService
from revier.services.membership import MembershipService
from revier.services.presence import PresenceService
from revier.services.profiles import ProfileService
from revier.services.push_actions import PushActions
from revier.services.push_rules import PushRuleService
from revier.services.ratelimit import RateLimiter
from revier.services.receipts import ReceiptService
from revier.services.registration import RegistrationService
from revier.services.registration_tokens import RegistrationTokens
from revier.services.room_admin import RoomAdminService
from revier.services.room_closing import RoomCloser
from revier.services.room_events import RoomEventWriter
from revier.services.room_reading import RoomReader
from revier.services.rooms import RoomService
from revier.services.sync import SyncService
from revier.services.sync_rooms import RoomSyncBuilder
from revier.services.tenants import TenantRegistry, load_tenants, read_or_create_secret
from revier.services.to_device import ToDeviceService
from revier.services.tokens import TokenHasher
from revier.services.typing import TypingService
from revier.services.uia import UserInteractiveAuth
from revier.services.url_preview import UrlPreviewService
from revier.services.visibility import Visibility
from revier.storage import Store
from revier.storage.media_store import create_media_store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    clock: Clock
    notifier: Notifier
    tenants: TenantRegistry
    audit: AuditLog
    accounts: AccountService
    deactivation: DeactivationService
    auth: AuthService
    devices: DeviceService
    device_admin: DeviceAdminService
    rooms: RoomService
    membership: MembershipService
    visibility: Visibility
    room_reader: RoomReader
    room_admin: RoomAdminService
    directory: DirectoryService
    profiles: ProfileService
    sync: SyncService
    filters: FilterService
    typing: TypingService
    receipts: ReceiptService
    account_data: AccountDataService
    push_actions: PushActions
    push_rules: PushRuleService
    presence: PresenceService
    e2e_keys: E2eKeyService
    cross_signing: CrossSigningService
    to_device: ToDeviceService
    key_backup: KeyBackupService
    registration: RegistrationService
    registration_tokens: RegistrationTokens
    media: MediaService
    url_previews: UrlPreviewService


def build_services(settings: Settings, store: Store, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    notifier = create_notifier(settings.notify.redis_url)
    tenants = load_tenants(settings)
    rl = settings.ratelimit
    conformance = conformance_mode(settings)
    if conformance:  # conformance suites hammer login and registration
        rl = rl.model_copy(update={"enabled": False})
    keys = settings.server.data_dir / "keys"
    token_key = read_or_create_secret(keys / "access_token.key")
    audit = AuditLog(store, clock, tenants, read_or_create_secret(keys / "audit_pseudonym.key"))
    failed_logins = RateLimiter(rl.login_per_user, clock, enabled=rl.enabled)
    uia = UserInteractiveAuth(store, clock, failed_logins)
    hasher = TokenHasher(token_key)
    auth = AuthService(
        store,
        clock,
        tenants,
        hasher,
        login_per_address=RateLimiter(rl.login_per_address, clock, enabled=rl.enabled),
        failed_login_per_user=failed_logins,
        notifier=notifier,
        audit=audit,
    )
    registration_tokens = RegistrationTokens(store, clock, hasher, audit)
    push_actions = PushActions()
    writer = RoomEventWriter(clock, push_actions)
    visibility = Visibility()
    typing = TypingService(notifier, clock)
    account_data = AccountDataService(store, notifier)
    push_rules = PushRuleService(store, push_actions, account_data)
    presence = PresenceService(store, notifier, clock)
    e2e_keys = E2eKeyService(store, notifier)
    to_device = ToDeviceService(store, notifier, clock)
    media = MediaService(
        store,
        create_media_store(settings.media, settings.server.data_dir),
        clock,
        settings.media,
        RateLimiter(rl.media_upload, clock, enabled=rl.enabled),
        audit,
    )
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        notifier=notifier,
        tenants=tenants,
        audit=audit,
        accounts=AccountService(store, clock, uia, notifier, audit),
        deactivation=DeactivationService(store, writer, notifier, clock, audit, tenants),
        auth=auth,
        devices=DeviceService(store, uia, notifier, audit),
        device_admin=DeviceAdminService(store, notifier, audit, auth),
        rooms=RoomService(
            store,
            writer,
            notifier,
            clock,
            visibility,
            default_room_version=(
                settings.testing.default_room_version
                if conformance and settings.testing
                else DEFAULT_ROOM_VERSION
            ),
        ),
        membership=MembershipService(store, writer, notifier),
        visibility=visibility,
        room_reader=RoomReader(store, clock, visibility),
        room_admin=RoomAdminService(
            store,
            RoomCloser(store, writer, notifier, clock, audit, tenants, typing),
            tenants,
        ),
        directory=DirectoryService(store),
        profiles=ProfileService(store, writer, notifier),
        sync=SyncService(
            store,
            notifier,
            clock,
            typing,
            RoomSyncBuilder(visibility),
            presence,
            push_rules,
            E2eSync(e2e_keys, to_device),
            session_alive=auth.session_alive,
        ),
        filters=FilterService(store),
        typing=typing,
        receipts=ReceiptService(store, notifier, clock, account_data),
        account_data=account_data,
        push_actions=push_actions,
        push_rules=push_rules,
        presence=presence,
        e2e_keys=e2e_keys,
        cross_signing=CrossSigningService(store, notifier, uia),
        to_device=to_device,
        key_backup=KeyBackupService(store),
        registration=RegistrationService(
            store,
            clock,
            auth,
            registration_tokens,
            notifier,
            per_address=RateLimiter(rl.registration_per_address, clock, enabled=rl.enabled),
            conformance=conformance,
            audit=audit,
        ),
        registration_tokens=registration_tokens,
        media=media,
        url_previews=UrlPreviewService(media),
    )

"""The running server's services, one field each: what the API and the CLI are handed."""

from __future__ import annotations

from dataclasses import dataclass

from revier.config import Settings
from revier.notify import Notifier
from revier.services.accounts import (
    AccountService,
    AuthService,
    ClientVersions,
    DeactivationService,
    DeviceAdminService,
    DeviceService,
    ModerationService,
    RefreshService,
    RegistrationService,
    RegistrationTokens,
    ShortTokenService,
)
from revier.services.core import (
    AccountDataService,
    AuditLog,
    Clock,
    HealthCheck,
    TagService,
    TenantRegistry,
    TurnService,
)
from revier.services.e2e import (
    CrossSigningService,
    E2eKeyService,
    KeyBackupService,
    ToDeviceService,
)
from revier.services.media import (
    MediaAdminService,
    MediaService,
    UrlPreviewService,
)
from revier.services.notifications import (
    DutyService,
    PusherService,
    PushRuleService,
    PushSender,
)
from revier.services.org import (
    OrgDirectory,
    UnitRooms,
    Units,
    UnitWork,
)
from revier.services.rooms import (
    DirectoryService,
    MembershipService,
    NotificationList,
    ProfileService,
    ReceiptService,
    RelationsService,
    ReportService,
    RetentionPurger,
    RoomAdminService,
    RoomLookups,
    RoomReader,
    RoomRetention,
    RoomService,
    RoomSummaries,
    RoomUpgrader,
    SearchService,
    SpaceHierarchy,
    TypingService,
)
from revier.services.signin import (
    OAuth,
    OwnAccount,
    SecondFactors,
    SignInAttempts,
    SignInFlow,
    WebSessions,
)
from revier.services.sync import (
    FilterService,
    PresenceService,
    SlidingSyncService,
    SyncService,
)
from revier.storage import Store


@dataclass(frozen=True)
class Services:
    """What the HTTP handlers and the CLI call. ``store`` and ``notifier`` are here
    for the server's and the CLI's start and stop only: a handler reaches data
    through a service, never through them."""

    settings: Settings
    store: Store
    clock: Clock
    notifier: Notifier
    tenants: TenantRegistry
    health: HealthCheck
    audit: AuditLog
    # accounts
    accounts: AccountService
    deactivation: DeactivationService
    auth: AuthService
    devices: DeviceService
    device_admin: DeviceAdminService
    moderation: ModerationService
    registration: RegistrationService
    registration_tokens: RegistrationTokens
    refresh: RefreshService
    short_tokens: ShortTokenService
    client_versions: ClientVersions
    turn: TurnService
    oauth: OAuth
    # rooms
    rooms: RoomService
    membership: MembershipService
    room_reader: RoomReader
    relations: RelationsService
    search: SearchService
    room_admin: RoomAdminService
    retention: RoomRetention
    retention_purger: RetentionPurger
    room_upgrades: RoomUpgrader
    room_summaries: RoomSummaries
    space_hierarchy: SpaceHierarchy
    room_lookups: RoomLookups
    reports: ReportService
    directory: DirectoryService
    profiles: ProfileService
    typing: TypingService
    receipts: ReceiptService
    # sync, account data, notifications
    sync: SyncService
    sliding_sync: SlidingSyncService
    filters: FilterService
    presence: PresenceService
    account_data: AccountDataService
    tags: TagService
    push_rules: PushRuleService
    pushers: PusherService
    notifications: NotificationList
    push_sender: PushSender
    duty: DutyService
    # e2e
    e2e_keys: E2eKeyService
    cross_signing: CrossSigningService
    to_device: ToDeviceService
    key_backup: KeyBackupService
    # media
    media: MediaService
    media_admin: MediaAdminService
    url_previews: UrlPreviewService
    # signin
    web_sessions: WebSessions
    own_account: OwnAccount
    signin_flow: SignInFlow
    signin_attempts: SignInAttempts
    second_factors: SecondFactors
    # org
    org_directory: OrgDirectory  # the directory sync (LDAP, SCIM)
    units: Units
    unit_rooms: UnitRooms
    unit_work: UnitWork

"""Building all services of one running server, once at start-up (the composition root).

The wings, bottom up (a wing uses only those before it):

    core → notifications → rooms → e2e → accounts, sync → signin, org;
    media (on core alone)
"""

from __future__ import annotations

from revier.config import Settings
from revier.conformance import conformance_mode
from revier.events.room_versions import DEFAULT_ROOM_VERSION
from revier.notify import create_notifier
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
from revier.services.container.services import Services
from revier.services.core import (
    AccountDataService,
    AdjustableClock,
    AuditLog,
    Clock,
    HealthCheck,
    RateLimiter,
    SystemClock,
    TagService,
    TokenHasher,
    TurnService,
    UserInteractiveAuth,
    load_tenants,
    read_or_create_secret,
)
from revier.services.e2e import (
    CrossSigningService,
    E2eKeyService,
    E2eSync,
    KeyBackupService,
    ToDeviceService,
)
from revier.services.media import (
    MediaAdminService,
    MediaService,
    UrlPreviewService,
    create_media_store,
)
from revier.services.notifications import (
    DUTY_ACCOUNT_DATA,
    DutyService,
    PushActions,
    PusherService,
    PushRuleService,
    PushSender,
)
from revier.services.org import (
    DirectoryPasswords,
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
    RoomCloser,
    RoomEventWriter,
    RoomLookups,
    RoomPushFacts,
    RoomReader,
    RoomRetention,
    RoomService,
    RoomSteward,
    RoomSummaries,
    RoomSyncBuilder,
    RoomUpgrader,
    RoomViews,
    SearchService,
    SpaceHierarchy,
    TypingService,
    Visibility,
)
from revier.services.signin import (
    FactorKeys,
    OAuth,
    OwnAccount,
    SecondFactors,
    SignInAttempts,
    SignInFlow,
    WebSessions,
)
from revier.services.sync import (
    ConnectionStore,
    FilterService,
    ListBuilder,
    PresenceService,
    RoomResults,
    SlidingExtensions,
    SlidingSyncService,
    SyncService,
)
from revier.storage import Store


def build_services(settings: Settings, store: Store, clock: Clock | None = None) -> Services:
    clock = clock or _clock(settings)
    notifier = create_notifier(settings.notify.redis_url)
    # Every commit's stream positions go to every worker's change log (/sync's
    # "nothing changed" answers without the database).
    store.on_commit = lambda written: notifier.announce(written.positions, written.changes)
    tenants = load_tenants(settings)
    rl = settings.ratelimit
    conformance = conformance_mode(settings)
    if conformance:  # conformance suites hammer login and registration
        rl = rl.model_copy(update={"enabled": False})
    keys = settings.server.data_dir / "keys"

    # core
    audit = AuditLog(store, clock, tenants, read_or_create_secret(keys / "audit_pseudonym.key"))
    failed_logins = RateLimiter(rl.login_per_user, clock, enabled=rl.enabled)
    # Accounts from the directory sign in (and confirm, for UIA) with the directory's password.
    directory_passwords = DirectoryPasswords(store)
    uia = UserInteractiveAuth(store, clock, failed_logins, directory_passwords)
    hasher = TokenHasher(read_or_create_secret(keys / "access_token.key"))
    account_data = AccountDataService(store, notifier)
    notifier.add_listener(account_data.on_change)

    # notifications
    push_actions = PushActions(account_data)
    notifier.add_listener(push_actions.on_change)
    push_rules = PushRuleService(store, push_actions, account_data)
    duty = DutyService(store, clock, tenants, audit, notifier, account_data)
    account_data.guard(DUTY_ACCOUNT_DATA, duty.check_own)
    push_sender = PushSender(
        store,
        clock,
        tenants,
        settings.push,
        push_actions,
        duty,
        audit,
        notifier,
        RoomPushFacts(),
        other_workers=settings.notify.redis_url is not None,
    )

    # rooms
    retention = RoomRetention(clock, tenants)
    writer = RoomEventWriter(clock, push_actions, retention)
    visibility = Visibility(retention)
    typing = TypingService(store, notifier, clock, visibility)
    membership = MembershipService(store, writer, notifier, account_data)
    closer = RoomCloser(
        store, writer, notifier, clock, audit, tenants, typing, push_actions, account_data
    )
    default_room_version = (
        settings.testing.default_room_version
        if conformance and settings.testing
        else DEFAULT_ROOM_VERSION
    )

    # org
    steward = RoomSteward(writer, default_room_version=default_room_version)
    unit_work = UnitWork(store, steward, notifier, clock, audit, tenants)
    units = Units(store, clock, audit, steward, unit_work, closer, tenants)

    # e2e
    e2e_keys = E2eKeyService(store, notifier)
    to_device = ToDeviceService(store, notifier, clock)

    # signin's lockout, built early: the accounts wing applies it to m.login.password
    factor_keys = FactorKeys(read_or_create_secret(keys / "second_factor.key"))
    signin_attempts = SignInAttempts(
        store, clock, audit, notifier, factor_keys, enabled=not conformance
    )

    # accounts
    refresh = RefreshService(store, clock, hasher, notifier)
    auth = AuthService(
        store,
        clock,
        tenants,
        hasher,
        login_per_address=RateLimiter(rl.login_per_address, clock, enabled=rl.enabled),
        failed_login_per_user=failed_logins,
        notifier=notifier,
        audit=audit,
        refresh=refresh,
        guard=signin_attempts,
        external_passwords=directory_passwords,
    )
    registration_tokens = RegistrationTokens(store, clock, hasher, audit)

    # sync
    presence = PresenceService(store, notifier, clock)
    e2e_sync = E2eSync(e2e_keys, to_device)
    views = RoomViews(visibility, typing)
    sliding_sync = SlidingSyncService(
        store,
        notifier,
        clock,
        ConnectionStore(store, clock, settings.sync.sliding_connection_expiry_seconds),
        views,
        ListBuilder(views, account_data),
        RoomResults(views, push_actions, clock),
        SlidingExtensions(views, e2e_sync, account_data, push_rules),
        account_data,
        session_alive=auth.session_alive,
    )

    # media
    media_store = create_media_store(settings.media, settings.server.data_dir)
    media = MediaService(
        store,
        media_store,
        clock,
        settings.media,
        RateLimiter(rl.media_upload, clock, enabled=rl.enabled),
    )
    accounts = AccountService(store, clock, uia, notifier, audit)
    device_admin = DeviceAdminService(store, notifier, audit, auth)

    # signin
    web_sessions = WebSessions(store, clock, hasher)
    second_factors = SecondFactors(store, clock, audit, signin_attempts, factor_keys)
    signin_flow = SignInFlow(auth, signin_attempts, second_factors, web_sessions)
    device_admin.check_owners_with(signin_flow.check_owner)

    deactivation = DeactivationService(
        store, membership, notifier, clock, audit, tenants, uia, account_data
    )
    profiles = ProfileService(store, writer, notifier)
    org_directory = OrgDirectory.build(
        store, clock, tenants, audit, hasher, accounts, deactivation, profiles, units
    )
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        notifier=notifier,
        tenants=tenants,
        health=HealthCheck(store),
        audit=audit,
        accounts=accounts,
        deactivation=deactivation,
        auth=auth,
        refresh=refresh,
        short_tokens=ShortTokenService(store, clock, hasher, uia),
        turn=TurnService(tenants, clock),
        oauth=OAuth.build(store, clock, hasher, notifier, audit, auth, refresh, rl),
        devices=DeviceService(store, uia, notifier, audit),
        device_admin=device_admin,
        moderation=ModerationService(store, notifier, audit),
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
        client_versions=ClientVersions(store),
        registration_tokens=registration_tokens,
        rooms=RoomService(
            store,
            writer,
            notifier,
            clock,
            visibility,
            default_room_version=default_room_version,
        ),
        membership=membership,
        room_reader=RoomReader(store, clock, visibility, account_data),
        relations=RelationsService(store, clock, visibility),
        search=SearchService(
            store,
            clock,
            visibility,
            account_data,
            RateLimiter(rl.search, clock, enabled=rl.enabled),
        ),
        room_admin=RoomAdminService(store, closer, tenants),
        retention=retention,
        retention_purger=RetentionPurger(
            store, clock, tenants, retention, audit, push_actions, closer
        ),
        room_upgrades=RoomUpgrader(store, writer, notifier, clock, push_rules),
        room_summaries=RoomSummaries(store),
        space_hierarchy=SpaceHierarchy(store),
        room_lookups=RoomLookups(store, visibility),
        reports=ReportService(
            store,
            clock,
            visibility,
            audit,
            RateLimiter(rl.reports_per_user, clock, enabled=rl.enabled),
        ),
        directory=DirectoryService(store),
        profiles=profiles,
        typing=typing,
        receipts=ReceiptService(store, notifier, clock, account_data, push_actions),
        sync=SyncService(
            store,
            notifier,
            clock,
            typing,
            RoomSyncBuilder(visibility),
            presence,
            push_rules,
            push_actions,
            account_data,
            e2e_sync,
            session_alive=auth.session_alive,
        ),
        sliding_sync=sliding_sync,
        filters=FilterService(store),
        presence=presence,
        account_data=account_data,
        tags=TagService(store, notifier),
        push_rules=push_rules,
        pushers=PusherService(store, clock, notifier, audit),
        notifications=NotificationList(store, clock, push_actions, retention),
        push_sender=push_sender,
        duty=duty,
        e2e_keys=e2e_keys,
        cross_signing=CrossSigningService(store, notifier, uia),
        to_device=to_device,
        key_backup=KeyBackupService(store),
        media=media,
        media_admin=MediaAdminService(store, media_store, audit),
        url_previews=UrlPreviewService(media),
        web_sessions=web_sessions,
        own_account=OwnAccount(signin_flow, accounts, device_admin, web_sessions),
        signin_attempts=signin_attempts,
        second_factors=second_factors,
        signin_flow=signin_flow,
        org_directory=org_directory,
        units=units,
        unit_rooms=UnitRooms(store, clock, audit, steward, unit_work),
        unit_work=unit_work,
    )


def _clock(settings: Settings) -> Clock:
    """The wall clock; in conformance mode with ``[testing] clock_file``, one that
    tests move (``conformance.startup_problem`` refuses the file otherwise)."""
    testing = settings.testing
    if testing is not None and testing.clock_file is not None and conformance_mode(settings):
        return AdjustableClock(testing.clock_file)
    return SystemClock()

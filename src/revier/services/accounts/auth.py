"""Logging in and out, and turning an access token back into a Requester."""

from __future__ import annotations

from revier.errors import Forbidden, InvalidParam, UnknownToken, UserDeactivated, UserLocked
from revier.events.identifiers import is_valid_user_id
from revier.notify import Notifier
from revier.services.accounts.device_sessions import LoginResult, open_device_session
from revier.services.accounts.guard import SignInGuard, typed_user_id
from revier.services.accounts.last_seen import LastSeen
from revier.services.accounts.refresh import RefreshService, TokenFamily
from revier.services.accounts.sessions import audit_removed, remove_devices
from revier.services.accounts.token_cache import TokenCache
from revier.services.core import (
    AuditLog,
    Clock,
    ExternalPasswords,
    RateLimiter,
    Requester,
    Tenant,
    TenantRegistry,
    TokenHasher,
    User,
    check_account_password,
    devices,
    users,
)
from revier.storage import Store, Tx
from revier.storage.accounts import AccountRepos
from revier.storage.accounts.access_tokens import TokenAccount

_BAD_CREDENTIALS = "Invalid username or password"
_BAD_LOGIN_TOKEN = "Invalid or expired login token"
_LOCKED = "This account has been locked; ask the help desk"


class AuthService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        tenants: TenantRegistry,
        hasher: TokenHasher,
        *,
        login_per_address: RateLimiter,
        failed_login_per_user: RateLimiter,
        notifier: Notifier,
        audit: AuditLog,
        refresh: RefreshService,
        guard: SignInGuard,
        external_passwords: ExternalPasswords | None = None,
    ) -> None:
        self._store = store
        self._guard = guard
        self._external = external_passwords
        self._clock = clock
        self._tenants = tenants
        self._hasher = hasher
        self._per_address = login_per_address
        self._failed_per_user = failed_login_per_user
        self._notifier = notifier
        self._audit = audit
        self._refresh = refresh
        self._last_seen = LastSeen(store, clock)
        self._tokens = TokenCache(clock)
        notifier.add_listener(self._tokens.on_change)

    async def login_with_password(
        self,
        tenant: Tenant,
        *,
        user: str,
        password: str,
        device_id: str | None,
        initial_device_display_name: str | None,
        address: str,
        refresh: bool = False,
    ) -> LoginResult:
        """POST /login with m.login.password.

        An unknown user and a wrong password get the same answer after the
        same amount of work, so accounts can't be enumerated. While the lockout
        holds the account or address back, the password isn't even checked.
        """
        user_id = typed_user_id(tenant, user)  # a malformed one is no one's
        await self._guard.check(tenant, user_id if is_valid_user_id(user_id) else None, address)
        try:
            account = await self.verify_credentials(
                tenant, user=user, password=password, address=address
            )
        except Forbidden as e:
            if type(e) is Forbidden:  # the password, not a closed account
                await self._guard.failed(tenant, user_id, address, what="password")
            raise
        await self._guard.succeeded(tenant, account.user_id, address)
        return await self._start_session(
            tenant,
            account.user_id,
            account.max_devices,
            device_id,
            initial_device_display_name,
            address,
            login="password",
            refresh=refresh,
        )

    async def login_with_token(
        self,
        tenant: Tenant,
        *,
        token: str,
        device_id: str | None,
        initial_device_display_name: str | None,
        address: str,
        refresh: bool = False,
    ) -> LoginResult:
        """POST /login with m.login.token: a token from POST /login/get_token, spent
        by this login (a refused login, e.g. at the device limit, keeps it)."""
        self._per_address.check(address)
        token_hash = self._hasher.hash(token)
        now = self._clock.time_ms()
        async with self._store.read() as tx:
            found = await AccountRepos.of(tx).short_tokens.valid(token_hash, "login", now)
            account = await users.get(tx, found.user_id) if found else None
        # Another tenant's token is as unknown here as a made-up one.
        if found is None or account is None or found.tenant != tenant.server_name:
            raise Forbidden(_BAD_LOGIN_TOKEN)
        if account.deactivated:
            raise UserDeactivated("This account has been deactivated")
        if account.locked:  # a token issued before the lock opens nothing after it
            raise UserLocked(_LOCKED)
        return await self._start_session(
            tenant,
            account.user_id,
            account.max_devices,
            device_id,
            initial_device_display_name,
            address,
            login="token",
            refresh=refresh,
            login_token=token_hash,
        )

    async def _record_failed_login(
        self, tenant: Tenant, user_id: str | None, address: str, reason: str
    ) -> None:
        """Audit ``login.failed``. What was typed as the user name is kept only when
        it names an account of this tenant: people type passwords into that field."""
        await self._audit.record_now(
            tenant,
            "login.failed",
            actor=None,
            target=user_id,
            source=address,
            details={"reason": reason} if user_id else {"unknown_user": True},
        )

    async def start_session(
        self,
        tenant: Tenant,
        user_id: str,
        *,
        max_devices: int | None,
        device_id: str | None,
        display_name: str | None,
        address: str,
        refresh: bool = False,
    ) -> LoginResult:
        """A new device and access token for an account that just proved itself
        another way (registration)."""
        return await self._start_session(
            tenant,
            user_id,
            max_devices,
            device_id,
            display_name,
            address,
            login=None,
            refresh=refresh,
        )

    async def _start_session(
        self,
        tenant: Tenant,
        user_id: str,
        max_devices: int | None,
        device_id: str | None,
        display_name: str | None,
        address: str,
        *,
        login: str | None,
        refresh: bool,
        login_token: bytes | None = None,
    ) -> LoginResult:
        """``login``: how the user logged in ("password", "token"; audited), None for
        a registration. ``login_token``: the hash of the m.login.token to spend in
        the same transaction (kept if the login is refused)."""
        if device_id is not None and not (0 < len(device_id) <= 255):
            raise InvalidParam("device_id must be 1 to 255 characters")
        try:
            async with self._store.transaction() as tx:
                if login_token is not None and not await AccountRepos.of(tx).short_tokens.consume(
                    login_token, "login", self._clock.time_ms()
                ):
                    raise Forbidden(_BAD_LOGIN_TOKEN)  # used meanwhile
                result = await self.open_session(
                    tx,
                    tenant,
                    user_id,
                    max_devices=max_devices,
                    device_id=device_id,
                    display_name=display_name,
                    address=address,
                    via=login,
                    refresh=refresh,
                )
        except Forbidden:  # the device limit: the help desk wants to see these
            if login:
                await self._record_failed_login(tenant, user_id, address, "device_limit")
            raise
        # A replaced token dies everywhere; a new device shows in the user's own
        # device list (their other devices are told).
        self._notifier.notify(users=[user_id])
        return result

    async def open_session(
        self,
        tx: Tx,
        tenant: Tenant,
        user_id: str,
        *,
        max_devices: int | None,
        device_id: str | None,
        display_name: str | None,
        address: str,
        via: str | None,
        refresh: bool = False,
        family: TokenFamily | None = None,
    ) -> LoginResult:
        """A device (new, or the user's own ``device_id`` again: its earlier tokens
        end) and its tokens, in the caller's transaction; the caller notifies after
        the commit. ``via``: how the user signed in (audited; None: registration). A
        new device counts against the limit (``Forbidden``). ``family``: OAuth's."""
        return await open_device_session(
            tx,
            self._hasher,
            self._audit,
            tenant,
            user_id,
            now=self._clock.time_ms(),
            max_devices=max_devices,
            device_id=device_id,
            display_name=display_name,
            address=address,
            via=via,
            refresh=refresh,
            family=family,
        )

    async def authenticate(
        self,
        tenant: Tenant,
        token: str,
        *,
        address: str,
        allow_locked: bool = False,
        client: tuple[str, str] | None = None,
    ) -> Requester:
        """The token's owner. A locked account's tokens stay valid but answer
        M_USER_LOCKED, except where ``allow_locked`` (logging out, per the spec).
        ``client``: the name and version its User-Agent names, kept on the device."""
        token_hash = self._hasher.hash(token)
        owner = await self._token_account(token_hash)
        # A token of another tenant is as unknown here as a made-up one.
        if owner is None or owner.tenant != tenant.server_name or owner.deactivated:
            raise UnknownToken("Unknown or expired access token; log in again", soft_logout=False)
        if owner.expires_ts is not None and owner.expires_ts <= self._clock.time_ms():
            # Expired, not revoked: the client refreshes (or logs in again) and keeps its data.
            raise UnknownToken("The access token has expired; refresh it", soft_logout=True)
        if owner.locked and not allow_locked:
            raise UserLocked(_LOCKED)
        if owner.retires_refresh is not None:
            # The first use of a refreshed token: the refresh token it replaced is spent.
            await self._refresh.confirm(token_hash, owner.retires_refresh)
            self._tokens.drop(token_hash)
        await self._last_seen.note(owner.user_id, owner.device_id, address, client)
        return Requester(
            owner.user_id,
            owner.device_id,
            tenant,
            owner.is_admin,
            token_hash,
            owner.is_guest,
            address,
            suspended=owner.suspended,
        )

    async def session_alive(self, requester: Requester) -> bool:
        """Whether the requester's access token still works: a /sync that waited
        may have outlived it (a wipe, a logout elsewhere).

        From the token cache even past its TTL (a fifth of a woken /sync's work
        on PostgreSQL was this read) unless a notification named the user since
        (it drops their entries); then one query. What no notification reaches
        (the admin CLI without Redis) the client's next request catches.
        """
        owner = self._tokens.peek(requester.token_hash)
        if owner is None:
            owner = await self._token_account(requester.token_hash)
        if owner is not None and owner.locked and not owner.deactivated:
            raise UserLocked(_LOCKED)  # the session lives on; the client waits for the unlock
        return owner is not None and not owner.deactivated

    async def _token_account(self, token_hash: bytes) -> TokenAccount | None:
        owner = self._tokens.get(token_hash)
        if owner is None:
            read_at = self._tokens.mark()
            async with self._store.read() as tx:
                owner = await AccountRepos.of(tx).access_tokens.owner_with_account(token_hash)
            if owner is not None:
                self._tokens.put(token_hash, owner, read_at=read_at)
        return owner

    async def verify_credentials(
        self, tenant: Tenant, *, user: str, password: str, address: str
    ) -> User:
        """The password proof of POST /login without a new session, for pages that
        ask for the same proof (the self-service wipe page).

        The same limits as /login (attempts per address, failed attempts per
        user, shared with it), the same ``login.failed`` audit, and the same
        answer after the same work for an unknown user and a wrong password.
        ``login_with_password`` is this check followed by a new session.
        """
        self._per_address.check(address)
        user_id = typed_user_id(tenant, user)
        self._failed_per_user.peek(user_id)
        account = None
        # A malformed name (a NUL, which PostgreSQL text can't hold) is no one's.
        if is_valid_user_id(user_id):
            async with self._store.read() as tx:
                account = await users.get(tx, user_id)
        if account is not None and account.tenant != tenant.server_name:
            account = None
        ok = await check_account_password(self._external, tenant, account, password)
        if account is not None and account.deactivated:
            # A closed account has no password left to check; the spec's own
            # errcode tells its owner to ask the help desk rather than retry.
            await self._record_failed_login(tenant, account.user_id, address, "deactivated")
            raise UserDeactivated("This account has been deactivated")
        if not ok or account is None:
            known = account.user_id if account else None
            await self._record_failed_login(tenant, known, address, "wrong_password")
            self._failed_per_user.check(user_id)
            raise Forbidden(_BAD_CREDENTIALS)
        if account.locked:
            # After the password check: whoever doesn't know it learns nothing.
            raise UserLocked(_LOCKED)
        return account

    async def end_session(
        self,
        tx: Tx,
        tenant: Tenant,
        user_id: str,
        device_id: str,
        *,
        actor: str | None,
        address: str,
        reason: str,
    ) -> set[str]:
        """An OAuth 2.0 session ends (revoked, or a replayed token betrayed it): its
        device goes as with POST /logout, in the caller's transaction. Returns
        whom to notify after the commit."""
        removal = await remove_devices(tx, user_id, [device_id])
        for removed in removal.devices:
            await self._audit.record(
                tx,
                tenant,
                "device.removed",
                actor=actor,
                target=f"{user_id}/{removed}",
                source=address,
                details={"oauth": reason},
            )
        return removal.wake

    async def logout(self, requester: Requester) -> None:
        """POST /logout: the token dies and its device with it (spec)."""
        async with self._store.transaction() as tx:
            removal = await remove_devices(tx, requester.user_id, [requester.device_id])
            await audit_removed(self._audit, tx, requester, removal.devices, {"logout": True})
        self._notifier.notify(users=removal.wake)

    async def logout_all(self, requester: Requester) -> None:
        async with self._store.transaction() as tx:
            every = await devices.ids_of(tx, requester.user_id)
            removal = await remove_devices(tx, requester.user_id, every)
            await audit_removed(self._audit, tx, requester, removal.devices, {"logout": True})
        self._notifier.notify(users=removal.wake)

"""POST /register: who may create an account, through which UIA flow.

Registration is closed unless the tenant's policy says ``token`` (then the
flow is ``m.login.registration_token`` followed by ``m.login.dummy``, the
shape Synapse offers and matrix-nio's ``register_with_token`` walks), or the
server runs in conformance mode (``m.login.dummy`` alone). With no flow
there is no path at all to a new account: every request is refused before
any session, token or guest check.

A token use is reserved only when the account is about to be created, in
one conditional UPDATE, and completed in the transaction that inserts the
account (or released when that fails), so concurrent registrations can
never spend more uses than a token has.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from revier.errors import (
    Exclusive,
    Forbidden,
    InvalidParam,
    MissingParam,
    UserInUse,
)
from revier.notify import Notifier
from revier.policy.passwords import check_password
from revier.services.accounts.auth import AuthService
from revier.services.accounts.registration_stages import DUMMY, TOKEN, RegistrationStages
from revier.services.accounts.registration_tokens import RegistrationTokens
from revier.services.core import (
    AuditLog,
    Clock,
    RateLimiter,
    Requester,
    Tenant,
    User,
    hash_password,
    uia,
    users,
    verify_password,
)
from revier.storage import Conflict, Store
from revier.storage.accounts import AccountRepos

GUEST_PREFIX = "guest-"
CLOSED = (
    "Registration is closed on this server: accounts are created by your "
    "organisation. Ask your help desk for an account."
)


@dataclass(frozen=True, slots=True)
class RegisterRequest:
    username: str | None
    password: str | None
    device_id: str | None
    initial_device_display_name: str | None
    inhibit_login: bool
    auth: Any
    guest_access_token: str | None
    refresh_token: bool = False  # the client supports refresh tokens


class RegistrationService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        auth: AuthService,
        tokens: RegistrationTokens,
        notifier: Notifier,
        *,
        per_address: RateLimiter,
        conformance: bool,
        audit: AuditLog,
    ) -> None:
        self._store = store
        self._clock = clock
        self._auth = auth
        self._tokens = tokens
        self._notifier = notifier
        self._per_address = per_address
        self._conformance = conformance
        self._audit = audit
        self._stages = RegistrationStages(store, clock, tokens)

    def flows(self, tenant: Tenant) -> list[list[str]]:
        if self._conformance:
            return [[DUMMY]]
        if tenant.policy.registration == "token":
            return [[TOKEN, DUMMY]]
        return []

    def guests_allowed(self, tenant: Tenant) -> bool:
        return self._conformance or tenant.policy.guest_access

    async def register_user(
        self, tenant: Tenant, req: RegisterRequest, *, address: str
    ) -> dict[str, Any]:
        """POST /register?kind=user (and a guest's upgrade to a full account)."""
        self._per_address.check(address)
        flows = self.flows(tenant)
        if not flows:
            # Closed by the organisation: the spec's answer to "registration is not
            # supported here" is 403 M_FORBIDDEN, not a 401 with no flow to follow.
            raise Forbidden(CLOSED)
        operation = _operation(tenant, req)
        done = await uia.registered_by(self._store, self._clock, req.auth, operation)
        if done is not None:
            return await self._repeat(tenant, req, *done, address=address)
        guest = await self._guest_to_upgrade(tenant, req, address)
        localpart = self._localpart(tenant, req, guest)
        if req.password is not None:
            check_password(tenant.policy, req.password, localpart=localpart)
        if guest is None:
            await self._check_available(tenant, localpart)
        # The flows first (spec: a request without auth is answered 401 with them),
        # then what the account still lacks.
        session, token_id = await self._stages.authenticate(tenant, flows, req.auth, operation)
        if req.password is None:
            raise MissingParam("'password' is required")
        return await self._create(tenant, req, localpart, guest, session, token_id, address)

    async def _repeat(
        self, tenant: Tenant, req: RegisterRequest, session: str, user_id: str, *, address: str
    ) -> dict[str, Any]:
        """The completed request again with its session (a client retrying after a
        lost answer): the same account, logged in again — if the password fits."""
        async with self._store.read() as tx:
            user = await users.get(tx, user_id)
        if user is None or req.password is None:
            raise Forbidden("This registration session was used already")
        if not await verify_password(user.password_hash, req.password):
            raise Forbidden("This registration session was used already")
        if req.inhibit_login:
            return {"user_id": user_id}
        return await self._login(tenant, user, req, address)

    async def register_guest(
        self, tenant: Tenant, initial_device_display_name: str | None, *, address: str
    ) -> dict[str, Any]:
        """POST /register?kind=guest: the body except the display name is ignored (spec)."""
        self._per_address.check(address)
        if not self.guests_allowed(tenant):
            raise Forbidden("Guest access is not enabled on this server")
        localpart = GUEST_PREFIX + secrets.token_hex(6)
        user = self._new_user(tenant, localpart, None, is_guest=True, displayname=localpart)
        async with self._store.transaction() as tx:
            await users.create(tx, user)
        login = await self._auth.start_session(
            tenant,
            user.user_id,
            max_devices=None,
            device_id=None,
            display_name=initial_device_display_name,
            address=address,
        )
        return {
            "user_id": login.user_id,
            "access_token": login.access_token,
            "device_id": login.device_id,
        }

    async def check_available(self, tenant: Tenant, username: str, *, address: str) -> None:
        """GET /register/available: raises unless the name could be registered."""
        self._per_address.check(address)
        if not self.flows(tenant):
            raise Forbidden(CLOSED)
        localpart = username.lower()
        self._check_name(tenant, localpart)
        await self._check_available(tenant, localpart)

    async def token_validity(self, tenant: Tenant, token: str, *, address: str) -> bool:
        """GET /register/m.login.registration_token/validity"""
        self._per_address.check(address)
        if TOKEN not in {stage for flow in self.flows(tenant) for stage in flow}:
            raise Forbidden("Registration with a token is not enabled on this server")
        return await self._tokens.lookup(tenant, token) is not None

    # -- the steps of register_user --------------------------------------

    async def _guest_to_upgrade(
        self, tenant: Tenant, req: RegisterRequest, address: str
    ) -> Requester | None:
        if req.guest_access_token is None:
            return None
        requester = await self._auth.authenticate(tenant, req.guest_access_token, address=address)
        if not requester.is_guest:
            raise Forbidden("guest_access_token is not a guest's access token")
        if req.username is None or req.username.lower() != requester.localpart:
            # The spec requires the guest's own localpart as username.
            raise InvalidParam("To upgrade a guest account, username must be its user name")
        return requester

    def _localpart(self, tenant: Tenant, req: RegisterRequest, guest: Requester | None) -> str:
        if guest is not None:
            return guest.localpart
        if req.username is None:
            return "user-" + secrets.token_hex(5)
        localpart = req.username.lower()
        self._check_name(tenant, localpart)
        return localpart

    @staticmethod
    def _check_name(tenant: Tenant, localpart: str) -> None:
        users.validate_localpart(tenant, localpart)
        reserved = {name.lower() for name in tenant.policy.reserved_usernames}
        if localpart in reserved or localpart.startswith(GUEST_PREFIX):
            raise Exclusive("This user name is reserved")

    async def _check_available(self, tenant: Tenant, localpart: str) -> None:
        async with self._store.read() as tx:
            if await users.get(tx, tenant.user_id(localpart)) is not None:
                raise UserInUse("This user name is taken")

    async def _create(
        self,
        tenant: Tenant,
        req: RegisterRequest,
        localpart: str,
        guest: Requester | None,
        session: str,
        token_id: str | None,
        address: str,
    ) -> dict[str, Any]:
        assert req.password is not None
        info = None
        if token_id is not None:
            info = await self._stages.reserve(tenant, self.flows(tenant), token_id, session)
        try:
            password_hash = await hash_password(req.password)
            displayname = localpart
            if info is not None and info.displayname_pattern:
                displayname = info.displayname_pattern.replace("{localpart}", localpart)
            user = self._new_user(
                tenant,
                localpart,
                password_hash,
                displayname=displayname,
                max_devices=info.max_devices if info else None,
            )
            async with self._store.transaction() as tx:
                db = AccountRepos.of(tx)
                if not await uia.consume(tx, session, user.user_id):
                    raise Forbidden("This registration session was used already")
                if guest is not None:
                    await users.upgrade_guest(
                        tx, user.user_id, password_hash=password_hash, max_devices=user.max_devices
                    )
                else:
                    await users.create(tx, user)
                if token_id is not None:
                    await db.registration_tokens.complete(token_id)
                await self._audit.record(
                    tx,
                    tenant,
                    "user.created",
                    actor=user.user_id,  # self-service: the newcomer
                    target=user.user_id,
                    source=address,
                    details={
                        "via": "guest_upgrade" if guest else "registration",
                        "registration_token": token_id,
                    },
                )
        except Conflict:
            await self._stages.release(token_id)
            raise UserInUse("This user name is taken") from None
        except BaseException:
            await self._stages.release(token_id)
            raise
        if guest is not None:
            self._notifier.notify(users=[user.user_id])  # cached guest sessions change
        if req.inhibit_login:
            return {"user_id": user.user_id}
        return await self._login(tenant, user, req, address)

    async def _login(
        self, tenant: Tenant, user: User, req: RegisterRequest, address: str
    ) -> dict[str, Any]:
        login = await self._auth.start_session(
            tenant,
            user.user_id,
            max_devices=user.max_devices,
            device_id=req.device_id,
            display_name=req.initial_device_display_name,
            address=address,
            refresh=req.refresh_token,
        )
        return login.response()

    def _new_user(
        self,
        tenant: Tenant,
        localpart: str,
        password_hash: str | None,
        *,
        displayname: str,
        is_guest: bool = False,
        max_devices: int | None = None,
    ) -> User:
        return User(
            user_id=tenant.user_id(localpart),
            tenant=tenant.server_name,
            localpart=localpart,
            password_hash=password_hash,
            is_admin=False,  # never through registration, whatever a token says
            deactivated=False,
            created_ts=self._clock.time_ms(),
            displayname=displayname,
            avatar_url=None,
            max_devices=max_devices,
            is_guest=is_guest,
        )


def _operation(tenant: Tenant, req: RegisterRequest) -> str:
    """What a registration session is bound to: the tenant and the account asked for.
    Not the device's name, ``inhibit_login`` or the password: clients change those
    between stages (matrix-nio names the device only at the last one)."""
    params = {"username": req.username, "guest": req.guest_access_token is not None}
    return uia.bound_operation(f"register:{tenant.server_name}", params)

"""Signing in on the sign-in page, step by step: the password (behind the
lockout), then the second factor where one is enrolled, or its enrolment where
the tenant requires one and the user has none. Each step is a new cookie value
for the browser's session (``WebSessions.advance``).

The lockout (``SignInAttempts``) is asked before the password is checked,
told of a wrong password, and told of success only when the whole sign-in
succeeded; a wrong code counts inside ``SecondFactors.verify``.

A user with a factor enrolled is always asked for it, whatever the tenant's
policy says now: a factor is never skipped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from revier.errors import Forbidden
from revier.events.identifiers import is_valid_user_id
from revier.services.accounts import AuthService, OwnerProof
from revier.services.core import Tenant, User
from revier.services.signin.factors import SecondFactors, TotpEnrolment
from revier.services.signin.lockout import SignInAttempts
from revier.services.signin.web_sessions import WebSession, WebSessions

Step = Literal["done", "factor", "enrol"]
_EXPIRED = "The sign-in took too long; start again"


@dataclass(frozen=True)
class SignInStep:
    """What the browser gets after a step: its new cookie value, and what comes next."""

    cookie: str
    step: Step


class SignInFlow:
    def __init__(
        self,
        auth: AuthService,
        attempts: SignInAttempts,
        factors: SecondFactors,
        sessions: WebSessions,
    ) -> None:
        self._auth = auth
        self._attempts = attempts
        self._factors = factors
        self._sessions = sessions

    async def check_password(
        self, tenant: Tenant, *, user: str, password: str, address: str
    ) -> User:
        """The password, behind the lockout: M_LIMIT_EXCEEDED / M_USER_LOCKED
        before it is even checked; a wrong one counts."""
        user_id = user if user.startswith("@") else tenant.user_id(user.lower())
        known = user_id if is_valid_user_id(user_id) else None
        await self._attempts.check(tenant, known, address)
        try:
            return await self._auth.verify_credentials(
                tenant, user=user, password=password, address=address
            )
        except Forbidden as e:
            if type(e) is Forbidden:  # the password, not a closed or locked account
                await self._attempts.failed(tenant, known, address, what="password")
            raise

    async def check_owner(self, tenant: Tenant, proof: OwnerProof, *, address: str) -> User:
        """The wipe page's proof (``accounts.OwnerCheck``): the password behind
        the lockout, then the code where a factor is enrolled — a TOTP code or
        a recovery code (passkeys need the script; the wipe page has none)."""
        account = await self.check_password(
            tenant, user=proof.user, password=proof.password, address=address
        )
        status = await self._factors.status(tenant, account.user_id)
        if status.enrolled:
            code = proof.code.strip()
            if not code:
                raise Forbidden("Enter the code of your second factor")
            digits = code.replace(" ", "")
            if digits.isdigit() and len(digits) == 6:
                await self._factors.verify(tenant, account.user_id, address=address, totp=digits)
            else:
                await self._factors.verify(
                    tenant, account.user_id, address=address, recovery_code=code
                )
        await self._attempts.succeeded(tenant, account.user_id, address)
        return account

    async def password(
        self, tenant: Tenant, *, user: str, password: str, address: str, old_cookie: str | None
    ) -> SignInStep:
        """The first step: a right password starts a new session (whatever
        session cookie the browser brought is ended, never adopted)."""
        account = await self.check_password(tenant, user=user, password=password, address=address)
        await self._sessions.end(old_cookie)
        step = await self.next_step(tenant, account.user_id)
        if step == "done":
            await self._attempts.succeeded(tenant, account.user_id, address)
        cookie = await self._sessions.start(
            tenant, account.user_id, factors=("password",), complete=step == "done"
        )
        return SignInStep(cookie, step)

    async def next_step(self, tenant: Tenant, user_id: str) -> Step:
        """What a user whose password was right must still do."""
        status = await self._factors.status(tenant, user_id)
        if status.enrolled:
            return "factor"
        return "enrol" if status.required else "done"

    async def pending(self, tenant: Tenant, cookie: str | None) -> tuple[WebSession, Step]:
        """The browser's session between password and second factor, and its
        step; M_FORBIDDEN when there is none (expired, or complete already)."""
        session = await self._sessions.current(tenant, cookie)
        if session is None or session.complete:
            raise Forbidden(_EXPIRED)
        return session, await self.next_step(tenant, session.user_id)

    async def webauthn_options(
        self, tenant: Tenant, cookie: str | None, *, rp_id: str
    ) -> dict[str, object]:
        session, _ = await self.pending(tenant, cookie)
        return await self._factors.webauthn_authentication_options(
            tenant, session.user_id, rp_id=rp_id
        )

    async def second_factor(
        self,
        tenant: Tenant,
        cookie: str | None,
        *,
        address: str,
        totp: str | None = None,
        recovery_code: str | None = None,
        webauthn: Mapping[str, object] | None = None,
        rp_id: str | None = None,
        origin: str | None = None,
    ) -> str:
        """The second step: a right factor completes the session; its new cookie."""
        session, step = await self.pending(tenant, cookie)
        if step != "factor" or cookie is None:
            raise Forbidden(_EXPIRED)
        kind = await self._factors.verify(
            tenant,
            session.user_id,
            address=address,
            totp=totp,
            recovery_code=recovery_code,
            webauthn=webauthn,
            rp_id=rp_id,
            origin=origin,
        )
        await self._attempts.succeeded(tenant, session.user_id, address)
        return await self._advance(tenant, cookie, kind)

    # The forced enrolment (policy "required", no factor yet): only a pending
    # session whose user has no factor may enrol through these, and enrolling
    # completes it at once: a user who has a factor can't enrol a new one
    # instead of showing theirs.

    async def _enrolling(self, tenant: Tenant, cookie: str | None) -> WebSession:
        session, step = await self.pending(tenant, cookie)
        if step != "enrol":
            raise Forbidden(_EXPIRED)
        return session

    async def begin_totp(self, tenant: Tenant, cookie: str | None) -> TotpEnrolment:
        session = await self._enrolling(tenant, cookie)
        return await self._factors.begin_totp(tenant, session.user_id)

    async def confirm_totp(
        self, tenant: Tenant, cookie: str | None, first: str, second: str, *, address: str
    ) -> tuple[list[str], str]:
        """The recovery codes (shown once) and the session's new cookie."""
        session = await self._enrolling(tenant, cookie)
        assert cookie is not None
        codes = await self._factors.confirm_totp(tenant, session.user_id, first, second)
        await self._attempts.succeeded(tenant, session.user_id, address)
        return codes, await self._advance(tenant, cookie, "totp")

    async def webauthn_registration_options(
        self, tenant: Tenant, cookie: str | None, *, rp_id: str, origin: str
    ) -> dict[str, object]:
        session = await self._enrolling(tenant, cookie)
        return await self._factors.webauthn_registration_options(
            tenant, session.user_id, rp_id=rp_id, origin=origin
        )

    async def webauthn_register(
        self,
        tenant: Tenant,
        cookie: str | None,
        credential: Mapping[str, object],
        *,
        rp_id: str,
        origin: str,
        name: str,
        address: str,
    ) -> str:
        """The passkey registered, the session complete; its new cookie."""
        session = await self._enrolling(tenant, cookie)
        assert cookie is not None
        await self._factors.webauthn_register(
            tenant, session.user_id, credential, rp_id=rp_id, origin=origin, name=name
        )
        await self._attempts.succeeded(tenant, session.user_id, address)
        return await self._advance(tenant, cookie, "webauthn")

    async def _advance(self, tenant: Tenant, cookie: str, factor: str) -> str:
        new = await self._sessions.advance(tenant, cookie, factor=factor, complete=True)
        if new is None:
            raise Forbidden(_EXPIRED)
        return new

"""Second factors: TOTP (an authenticator app), WebAuthn (passkeys, security
keys) and recovery codes; enrolled by the user on the account page, checked at
sign-in, reset by the help desk — who can never read them.

At rest (``keys.py``): TOTP secrets sealed, recovery codes as keyed hashes,
WebAuthn public keys as they are (public). Every check goes through the lockout
(``SignInAttempts``): a wrong code counts like a wrong password. Audited:
``second_factor.enrolled`` / ``.removed`` / ``.reset`` / ``.failed`` /
``.recovery_codes_created`` / ``.recovery_code_used`` — never a code or secret.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import segno
from nacl.exceptions import CryptoError

from revier.errors import Forbidden, InvalidParam, NotFound
from revier.events.identifiers import is_valid_user_id
from revier.services.core import AuditLog, Clock, Tenant, users
from revier.services.signin import recovery, totp
from revier.services.signin.keys import FactorKeys
from revier.services.signin.lockout import SignInAttempts
from revier.services.signin.passkeys import Passkeys
from revier.storage import Store, Tx
from revier.storage.signin import FactorRow, SigninRepos

FactorKind = Literal["totp", "webauthn", "recovery"]


@dataclass(frozen=True)
class FactorStatus:
    enrolled: frozenset[Literal["totp", "webauthn"]]  # active factors
    recovery_codes_left: int
    required: bool  # tenant policy second_factor == "required"
    offered: bool  # policy != "off"


@dataclass(frozen=True)
class TotpEnrolment:
    """A TOTP secret waiting for its two confirming codes (not active yet)."""

    secret: str
    provisioning_uri: str
    qr_svg: str


@dataclass(frozen=True)
class EnrolledFactor:
    id: str
    kind: Literal["totp", "webauthn"]
    name: str
    created_ts: int
    last_used_ts: int | None


_WRONG = "The code is not right"


class SecondFactors:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        audit: AuditLog,
        attempts: SignInAttempts,
        keys: FactorKeys,
    ) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit
        self._attempts = attempts
        self._keys = keys
        self._passkeys = Passkeys(store, clock, audit, keys)

    async def status(self, tenant: Tenant, user_id: str) -> FactorStatus:
        users.require_well_formed(user_id)
        async with self._store.read() as tx:
            db = SigninRepos.of(tx).factors
            rows = await db.of_user(user_id)
            left = await db.codes_left(user_id)
        return FactorStatus(
            enrolled=frozenset(_kind(r) for r in rows if r.active),
            recovery_codes_left=left,
            required=tenant.policy.second_factor == "required",
            offered=tenant.policy.second_factor != "off",
        )

    async def factors(self, tenant: Tenant, user_id: str) -> list[EnrolledFactor]:
        async with self._store.read() as tx:
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            rows = await SigninRepos.of(tx).factors.of_user(user_id)
        return [
            EnrolledFactor(r.factor_id, _kind(r), r.name, r.created_ts, r.last_used_ts)
            for r in rows
            if r.active
        ]

    # Signing in

    async def verify(
        self,
        tenant: Tenant,
        user_id: str,
        *,
        address: str,
        totp: str | None = None,
        recovery_code: str | None = None,
        webauthn: Mapping[str, object] | None = None,
        rp_id: str | None = None,
        origin: str | None = None,
    ) -> FactorKind:
        """Check one second factor of a user whose password was right. A wrong one
        is 403 M_FORBIDDEN and counts with the lockout (429 M_LIMIT_EXCEEDED, 401
        M_USER_LOCKED); a right one forgives the account's failures. ``webauthn``:
        the assertion (PublicKeyCredential as JSON) answering the challenge of
        ``webauthn_authentication_options``, for ``rp_id`` and ``origin``."""
        given = [x for x in (totp, recovery_code, webauthn) if x is not None]
        if len(given) != 1:
            raise InvalidParam("Give exactly one of a TOTP code, a recovery code, a passkey")
        if webauthn is not None and (rp_id is None or origin is None):
            raise InvalidParam("A passkey is checked for a relying party and an origin")
        await self._attempts.check(tenant, user_id, address)
        kind: FactorKind
        async with self._store.transaction() as tx:
            # Another tenant's user has no factors here: the check simply fails.
            account = await users.get(tx, user_id) if is_valid_user_id(user_id) else None
            mine = account is not None and account.tenant == tenant.server_name
            if totp is not None:
                kind, ok = "totp", mine and await self._check_totp(tx, user_id, totp)
            elif recovery_code is not None:
                kind = "recovery"
                ok = mine and await self._spend_code(tx, tenant, user_id, recovery_code, address)
            else:
                assert webauthn is not None and rp_id is not None and origin is not None
                kind = "webauthn"
                ok = mine and await self._passkeys.check(tx, user_id, webauthn, rp_id, origin)
        if not ok:
            await self._attempts.failed(tenant, user_id, address, what="code")
            raise Forbidden(_WRONG)
        await self._attempts.forgive(tenant, user_id)
        return kind

    async def _check_totp(self, tx: Tx, user_id: str, code: str) -> bool:
        db = SigninRepos.of(tx).factors
        found = [r for r in await db.of_user(user_id, for_update=True) if r.kind == "totp"]
        active = next((r for r in found if r.active), None)
        if active is None:
            return False
        secret = self._open(active)
        now = self._clock.time_ms()
        step = totp.matching_step(secret, code, now, active.last_step)
        if step is None:
            return False
        await db.used(active.factor_id, now=now, last_step=step)
        return True

    async def _spend_code(
        self, tx: Tx, tenant: Tenant, user_id: str, typed: str, address: str
    ) -> bool:
        code = recovery.normalise(typed)
        if code is None:
            return False
        db = SigninRepos.of(tx).factors
        wanted = self._keys.code_hash(user_id, code)
        match = False
        for stored in await db.code_hashes(user_id):
            match |= hmac.compare_digest(stored, wanted)  # no early exit: constant time
        if not match or not await db.spend_code(user_id, wanted):
            return False
        await self._audit.record(
            tx,
            tenant,
            "second_factor.recovery_code_used",
            actor=user_id,
            target=user_id,
            source=address,
            details={"left": await db.codes_left(user_id)},
        )
        return True

    # Enrolment

    async def begin_totp(self, tenant: Tenant, user_id: str) -> TotpEnrolment:
        """A new TOTP secret for the user's app (as text, an otpauth:// URI and its
        QR code), pending until ``confirm_totp``; it replaces one pending before."""
        _offered(tenant)
        secret = totp.new_secret()
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            db = SigninRepos.of(tx).factors
            await db.delete_kind(user_id, "totp", active=False)
            await db.add(
                FactorRow(
                    factor_id="totp_" + secrets.token_urlsafe(12),
                    user_id=user_id,
                    tenant=tenant.server_name,
                    kind="totp",
                    name="Authenticator app",
                    active=False,
                    secret=self._keys.seal(user_id, secret.encode()),
                    credential_id=None,
                    sign_count=0,
                    last_step=None,
                    created_ts=now,
                    last_used_ts=None,
                )
            )
        uri = totp.provisioning_uri(secret, user_id, tenant.server_name)
        svg = segno.make(uri, error="m").svg_inline(scale=4, omitsize=True)
        return TotpEnrolment(secret, uri, svg)

    async def confirm_totp(
        self, tenant: Tenant, user_id: str, first: str, second: str
    ) -> list[str]:
        """Two consecutive codes from the app activate the pending secret (and end
        an older TOTP factor); returns fresh recovery codes, to be shown once."""
        _offered(tenant)
        now = self._clock.time_ms()
        codes = recovery.new_codes()
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            db = SigninRepos.of(tx).factors
            rows = await db.of_user(user_id, for_update=True)
            pending = next((r for r in reversed(rows) if r.kind == "totp" and not r.active), None)
            if pending is None:
                raise Forbidden("No authenticator app is being set up; start again")
            step = totp.confirming_step(self._open(pending), first, second, now)
            if step is None:
                raise Forbidden("The codes are not two consecutive codes of the app")
            await db.delete_kind(user_id, "totp", active=True)
            await db.activate(pending.factor_id, last_step=step, now=now)
            await self._replace_codes(tx, user_id, codes, now)
            await self._audit.record(
                tx,
                tenant,
                "second_factor.enrolled",
                actor=user_id,
                target=user_id,
                details={"kind": "totp", "factor_id": pending.factor_id},
            )
        return codes

    async def new_recovery_codes(self, tenant: Tenant, user_id: str) -> list[str]:
        """Fresh recovery codes replacing the old ones (shown once); only with an
        active factor to recover."""
        now = self._clock.time_ms()
        codes = recovery.new_codes()
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            rows = await SigninRepos.of(tx).factors.of_user(user_id, for_update=True)
            if not any(r.active for r in rows):
                raise Forbidden("Recovery codes come with a second factor; enrol one first")
            await self._replace_codes(tx, user_id, codes, now)
            await self._audit.record(
                tx, tenant, "second_factor.recovery_codes_created", actor=user_id, target=user_id
            )
        return codes

    async def _replace_codes(self, tx: Tx, user_id: str, codes: list[str], now: int) -> None:
        hashes = [self._keys.code_hash(user_id, code) for code in codes]
        await SigninRepos.of(tx).factors.replace_codes(user_id, hashes, now=now)

    async def webauthn_registration_options(
        self, tenant: Tenant, user_id: str, *, rp_id: str, origin: str
    ) -> dict[str, object]:
        _offered(tenant)
        del origin  # checked with the answer (webauthn_register)
        return await self._passkeys.registration_options(tenant, user_id, rp_id=rp_id)

    async def webauthn_register(
        self,
        tenant: Tenant,
        user_id: str,
        credential: Mapping[str, object],
        *,
        rp_id: str,
        origin: str,
        name: str,
    ) -> None:
        _offered(tenant)
        await self._passkeys.register(
            tenant, user_id, credential, rp_id=rp_id, origin=origin, name=name
        )

    async def webauthn_authentication_options(
        self, tenant: Tenant, user_id: str, *, rp_id: str
    ) -> dict[str, object]:
        return await self._passkeys.authentication_options(tenant, user_id, rp_id=rp_id)

    # Removal

    async def remove(self, tenant: Tenant, user_id: str, factor_id: str) -> None:
        """The user removes one of their factors (404 if it isn't theirs); with the
        last one go the recovery codes."""
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            db = SigninRepos.of(tx).factors
            rows = await db.of_user(user_id, for_update=True)
            gone = next((r for r in rows if r.factor_id == factor_id and r.active), None)
            if gone is None or not await db.delete(user_id, factor_id):
                raise NotFound("No such second factor")
            if not any(r.active and r.factor_id != factor_id for r in rows):
                await db.replace_codes(user_id, [], now=self._clock.time_ms())
            await self._audit.record(
                tx,
                tenant,
                "second_factor.removed",
                actor=user_id,
                target=user_id,
                details={"kind": gone.kind, "factor_id": factor_id},
            )

    async def reset(self, tenant: Tenant, user_id: str, *, admin: str, address: str) -> None:
        """The help desk: every factor, recovery code and open challenge of the user
        goes (the user enrols again, where the tenant requires it at the next
        sign-in). Audited as ``second_factor.reset``; 404 for another tenant's user."""
        users.require_well_formed(user_id)
        async with self._store.transaction() as tx:
            await users.lock(tx, user_id)
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            removed = await SigninRepos.of(tx).factors.delete_all(user_id)
            await self._audit.record(
                tx,
                tenant,
                "second_factor.reset",
                actor=admin,
                target=user_id,
                source=address,
                details={"factors": removed},
            )

    def _open(self, row: FactorRow) -> str:
        try:
            return self._keys.open(row.user_id, row.secret).decode()
        except CryptoError:
            # Altered, or sealed under another key (data directory not restored
            # with the database): the factor can't be used; the help desk resets it.
            raise Forbidden("This second factor can't be read; ask the help desk") from None


def _kind(row: FactorRow) -> Literal["totp", "webauthn"]:
    return "webauthn" if row.kind == "webauthn" else "totp"


def _offered(tenant: Tenant) -> None:
    if tenant.policy.second_factor == "off":
        raise Forbidden("Second factors are switched off for this organisation")

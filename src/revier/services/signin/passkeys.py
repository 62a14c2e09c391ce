"""WebAuthn (passkeys, security keys) as a second factor, with the ``webauthn``
library: options out, the browser's answer checked against a challenge kept
here — single use, deleted when answered (right or wrong), expiring after five
minutes. The credential's public key and sign counter are stored; an answer
whose counter didn't grow (a cloned authenticator) is refused by the library.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from revier.errors import Forbidden, InvalidParam
from revier.services.core import AuditLog, Clock, Tenant, users
from revier.services.signin.keys import FactorKeys
from revier.storage import Store, Tx
from revier.storage.signin import FactorRow, SigninRepos

CHALLENGE_MS = 5 * 60 * 1000
_NAME_MAX = 64
# What the library raises for an answer it can't parse or that doesn't verify.
_BAD_ANSWER = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


class Passkeys:
    def __init__(self, store: Store, clock: Clock, audit: AuditLog, keys: FactorKeys) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit
        self._keys = keys

    async def registration_options(
        self, tenant: Tenant, user_id: str, *, rp_id: str
    ) -> dict[str, object]:
        """PublicKeyCredentialCreationOptions (as JSON) for a new credential; the
        user's credentials are excluded, so one authenticator registers once."""
        challenge = os.urandom(32)
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            db = SigninRepos.of(tx).factors
            mine = await _credentials(tx, user_id)
            await db.put_challenge(user_id, "register", challenge, expires_ts=now + CHALLENGE_MS)
            await db.forget_expired_challenges(now)
        options = generate_registration_options(
            rp_id=rp_id,
            rp_name=tenant.server_name,
            user_name=user_id,
            user_id=self._keys.user_handle(user_id),
            user_display_name=user_id,
            challenge=challenge,
            timeout=CHALLENGE_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.DISCOURAGED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=_descriptors(mine),
        )
        return _as_json(options_to_json(options))

    async def register(
        self,
        tenant: Tenant,
        user_id: str,
        credential: Mapping[str, object],
        *,
        rp_id: str,
        origin: str,
        name: str,
    ) -> None:
        """The browser's answer to ``registration_options``: a new active factor."""
        name = " ".join(name.split())
        if not 0 < len(name) <= _NAME_MAX:
            raise InvalidParam(f"A passkey's name is 1 to {_NAME_MAX} characters")
        now = self._clock.time_ms()
        refused: str | None = None
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            db = SigninRepos.of(tx).factors
            challenge = await db.take_challenge(user_id, "register", now=now)
            if challenge is None:
                refused = "No passkey registration is under way, or it took too long"
            else:
                try:
                    verified = verify_registration_response(
                        credential=dict(credential),
                        expected_challenge=challenge,
                        expected_rp_id=rp_id,
                        expected_origin=origin,
                    )
                except _BAD_ANSWER:
                    verified = None
                    refused = "The passkey's answer doesn't verify"
                if verified is not None:
                    if await db.by_credential(verified.credential_id) is not None:
                        refused = "This passkey is registered already"
                    else:
                        factor_id = "webauthn_" + secrets.token_urlsafe(12)
                        await db.add(
                            FactorRow(
                                factor_id=factor_id,
                                user_id=user_id,
                                tenant=tenant.server_name,
                                kind="webauthn",
                                name=name,
                                active=True,
                                secret=verified.credential_public_key,
                                credential_id=verified.credential_id,
                                sign_count=verified.sign_count,
                                last_step=None,
                                created_ts=now,
                                last_used_ts=None,
                            )
                        )
                        await self._audit.record(
                            tx,
                            tenant,
                            "second_factor.enrolled",
                            actor=user_id,
                            target=user_id,
                            details={"kind": "webauthn", "factor_id": factor_id},
                        )
        # Raised after the commit: the challenge is spent, right answer or wrong.
        if refused is not None:
            raise Forbidden(refused)

    async def authentication_options(
        self, tenant: Tenant, user_id: str, *, rp_id: str
    ) -> dict[str, object]:
        """PublicKeyCredentialRequestOptions (as JSON) naming the user's passkeys."""
        challenge = os.urandom(32)
        now = self._clock.time_ms()
        async with self._store.transaction() as tx:
            await users.local_user(tx, tenant, user_id)
            mine = await _credentials(tx, user_id)
            if not mine:
                raise Forbidden("No passkey is registered for this account")
            await SigninRepos.of(tx).factors.put_challenge(
                user_id, "authenticate", challenge, expires_ts=now + CHALLENGE_MS
            )
        options = generate_authentication_options(
            rp_id=rp_id,
            challenge=challenge,
            timeout=CHALLENGE_MS,
            allow_credentials=_descriptors(mine),
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return _as_json(options_to_json(options))

    async def check(
        self, tx: Tx, user_id: str, assertion: Mapping[str, object], rp_id: str, origin: str
    ) -> bool:
        """An assertion answering the user's open challenge, by one of their
        credentials, with a grown sign counter. The challenge is spent either way
        (the caller commits)."""
        db = SigninRepos.of(tx).factors
        challenge = await db.take_challenge(user_id, "authenticate", now=self._clock.time_ms())
        raw_id = assertion.get("rawId", assertion.get("id"))
        if challenge is None or not isinstance(raw_id, str):
            return False
        try:
            credential_id = base64url_to_bytes(raw_id)
        except _BAD_ANSWER:
            return False
        mine = await _credentials(tx, user_id)
        row = next((r for r in mine if r.credential_id == credential_id), None)
        if row is None:
            return False
        try:
            verified = verify_authentication_response(
                credential=dict(assertion),
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=row.secret,
                credential_current_sign_count=row.sign_count,
            )
        except _BAD_ANSWER:
            return False
        await db.used(row.factor_id, now=self._clock.time_ms(), sign_count=verified.new_sign_count)
        return True


async def _credentials(tx: Tx, user_id: str) -> list[FactorRow]:
    rows = await SigninRepos.of(tx).factors.of_user(user_id, for_update=True)
    return [r for r in rows if r.kind == "webauthn" and r.active and r.credential_id]


def _descriptors(rows: list[FactorRow]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=r.credential_id) for r in rows if r.credential_id]


def _as_json(text: str) -> dict[str, object]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value

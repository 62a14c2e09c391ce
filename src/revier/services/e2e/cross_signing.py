"""Cross-signing: /keys/device_signing/upload and /keys/signatures/upload.

Replacing cross-signing keys re-roots a user's whole web of trust, so it sits
behind user-interactive auth — except for the first upload (no master key
yet) and for a retry of the very keys already stored, as the spec allows.
"""

from __future__ import annotations

from revier.errors import BadJson, Forbidden, KeySignatureInvalid, MissingParam
from revier.events.e2e import (
    ED25519,
    check_cross_signing_key,
    check_signatures_shape,
    same_signed_content,
    signature_ok,
)
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.services.core import Requester, UserInteractiveAuth, devices, users
from revier.services.e2e.device_lists import record_device_list_change
from revier.storage import Store, Tx
from revier.storage.e2e import E2eRepos
from revier.storage.e2e.cross_signing import CrossSigningKey, Signature

_KINDS = (
    ("master_key", "master"),
    ("self_signing_key", "self_signing"),
    ("user_signing_key", "user_signing"),
)


class _Failure(Exception):
    def __init__(self, errcode: str, error: str) -> None:
        super().__init__(error)
        self.body = {"errcode": errcode, "error": error}


_UPLOAD = "device_signing_upload"


class CrossSigningService:
    def __init__(self, store: Store, notifier: Notifier, uia: UserInteractiveAuth) -> None:
        self._store = store
        self._notifier = notifier
        self._uia = uia

    async def upload_keys(
        self,
        requester: Requester,
        body: JsonDict,
        *,
        oauth_url: str | None = None,
        password: bool = True,
    ) -> None:
        """POST /keys/device_signing/upload. Replacing keys asks for the password, or
        (``oauth_url``: the tenant signs in through the OAuth 2.0 API, whose clients
        know no password) the ``m.oauth`` approval on that page; ``password`` False
        offers only the latter."""
        user_id = requester.user_id
        new: dict[str, CrossSigningKey] = {}
        for field_name, usage in _KINDS:
            if body.get(field_name) is not None:
                public = check_cross_signing_key(body[field_name], user_id, usage)
                new[usage] = CrossSigningKey(user_id, usage, public, body[field_name])
        if not new:
            raise MissingParam("No cross-signing key to upload")
        async with self._store.read() as tx:
            current = {
                k.key_type: k for k in await E2eRepos.of(tx).cross_signing.keys_of([user_id])
            }
        if not _has_news(new, current):
            return  # a retry of the stored keys: idempotent, no auth needed
        authed = "master" in current
        if authed:
            keys = {k: v for k, v in body.items() if k != "auth"}
            await self._uia.require_password_or_oauth(
                requester,
                body.get("auth"),
                operation=_UPLOAD,
                params=keys,
                oauth_url=oauth_url,
                password=password,
            )
        master = new.get("master") or current.get("master")
        if master is None:
            raise MissingParam("No master key: upload one with (or before) the others")
        for usage in ("self_signing", "user_signing"):
            key = new.get(usage)
            if key is not None and not signature_ok(
                key.key, user_id, f"{ED25519}:{master.public_key}", master.public_key
            ):
                raise KeySignatureInvalid(f"The {usage} key is not signed by the master key")
        async with self._store.transaction() as tx:
            db = E2eRepos.of(tx)
            await users.lock(tx, user_id)
            if not authed and await db.cross_signing.get(user_id, "master") is not None:
                # Another request uploaded a master key after we decided no auth
                # was needed: replacing it now needs the password after all.
                raise Forbidden("Cross-signing keys exist already; authenticate and retry")
            device_ids = {d.device_id for d in await devices.of_user(tx, user_id)}
            if any(k.public_key in device_ids for k in new.values()):
                raise Forbidden("A cross-signing key's ID is the ID of one of your devices")
            for key in new.values():
                await db.cross_signing.put(key)
            audience = await record_device_list_change(tx, user_id)
        self._notifier.notify(users=audience)

    async def approve_reset(self, user_id: str, session_id: str) -> bool:
        """The owner, signed in on the approval page, allows the waiting upload
        (the ``m.oauth`` stage); False for a session that isn't such a one of theirs."""
        return await self._uia.approve_oauth(user_id, session_id, operation=_UPLOAD)

    async def upload_signatures(self, requester: Requester, body: JsonDict) -> JsonDict:
        """POST /keys/signatures/upload: ``failures`` names what was refused, the rest is kept."""
        failures: dict[str, dict[str, JsonDict]] = {}
        audience: set[str] = set()
        async with self._store.transaction() as tx:
            stored = 0
            for target_user, objects in body.items():
                if not isinstance(objects, dict):
                    failures[target_user] = {}
                    continue
                for key_id, obj in objects.items():
                    try:
                        if not isinstance(obj, dict):
                            raise _Failure("M_BAD_JSON", "The signed object must be an object")
                        try:
                            check_signatures_shape(obj, key_id)
                        except BadJson as e:
                            raise _Failure(e.errcode, e.error) from None
                        sigs = await self._check(tx, requester, target_user, key_id, obj)
                    except _Failure as f:
                        failures.setdefault(target_user, {})[key_id] = f.body
                        continue
                    for sig in sigs:
                        await E2eRepos.of(tx).cross_signing.add_signature(sig)
                    stored += len(sigs)
            if stored:
                # Signatures of my own keys are news to everyone tracking me; a
                # signature of someone else's key is visible to me alone.
                audience = await record_device_list_change(tx, requester.user_id)
        if audience:
            self._notifier.notify(users=audience)
        return {"failures": failures}

    async def _check(
        self, tx: Tx, requester: Requester, target_user: str, key_id: str, obj: JsonDict
    ) -> list[Signature]:
        db = E2eRepos.of(tx)
        me = requester.user_id
        if target_user == me:
            master = await db.cross_signing.get(me, "master")
            if master is not None and key_id == master.public_key:
                return await self._master_signed_by_devices(tx, me, master, obj)
            device = await db.e2e_keys.device_keys(me, key_id)
            if device is not None:
                ssk = await db.cross_signing.get(me, "self_signing")
                return _signed_by(obj, device, me, key_id, ssk, "self-signing")
            raise _Failure("M_NOT_FOUND", "No such device or master key")
        if target_user.partition(":")[2] != requester.tenant.server_name:
            raise _Failure("M_FORBIDDEN", "Users of other servers can't be signed here")
        theirs = await db.cross_signing.get(target_user, "master")
        if theirs is None or key_id != theirs.public_key:
            raise _Failure("M_NOT_FOUND", "No such master key")
        usk = await db.cross_signing.get(me, "user_signing")
        return _signed_by(obj, theirs.key, target_user, key_id, usk, "user-signing")

    async def _master_signed_by_devices(
        self, tx: Tx, me: str, master: CrossSigningKey, obj: JsonDict
    ) -> list[Signature]:
        if not same_signed_content(obj, master.key):
            raise _Failure("M_INVALID_SIGNATURE", "The object does not match the master key")
        out: list[Signature] = []
        for signer_key_id, signature in (obj.get("signatures") or {}).get(me, {}).items():
            algorithm, _, device_id = str(signer_key_id).partition(":")
            if algorithm != ED25519 or device_id == master.public_key:
                continue
            device = await E2eRepos.of(tx).e2e_keys.device_keys(me, device_id)
            public = (device or {}).get("keys", {}).get(signer_key_id)
            if not isinstance(public, str) or not signature_ok(obj, me, signer_key_id, public):
                raise _Failure("M_INVALID_SIGNATURE", f"Bad signature by {signer_key_id}")
            out.append(Signature(me, signer_key_id, me, master.public_key, str(signature)))
        if not out:
            raise _Failure("M_INVALID_SIGNATURE", "No signature by one of your devices")
        return out


def _has_news(new: dict[str, CrossSigningKey], current: dict[str, CrossSigningKey]) -> bool:
    return any(k.key_type not in current or current[k.key_type].key != k.key for k in new.values())


def _signed_by(
    obj: JsonDict,
    stored: JsonDict,
    target_user: str,
    target_key_id: str,
    signer: CrossSigningKey | None,
    what: str,
) -> list[Signature]:
    """The signature of ``signer`` on a stored key object, checked."""
    if signer is None:
        raise _Failure("M_INVALID_SIGNATURE", f"You have no {what} key")
    if not same_signed_content(obj, stored):
        raise _Failure("M_INVALID_SIGNATURE", "The object does not match the stored key")
    signer_key_id = f"{ED25519}:{signer.public_key}"
    if not signature_ok(obj, signer.user_id, signer_key_id, signer.public_key):
        raise _Failure("M_INVALID_SIGNATURE", f"Not validly signed by your {what} key")
    signature = obj["signatures"][signer.user_id][signer_key_id]
    return [Signature(signer.user_id, signer_key_id, target_user, target_key_id, signature)]

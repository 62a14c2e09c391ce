"""Device keys: /keys/upload, /keys/query, /keys/claim, /keys/changes.

The server never sees a private key; it stores and hands out public keys and
guards what a client relies on: a device's identity keys never change once
published (a stolen access token must not swap in the thief's keys for a
device others have verified), and each one-time key is handed out once.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from revier.errors import InvalidParam
from revier.events.e2e import check_device_keys, identity_keys, parse_one_time_keys
from revier.events.types import JsonDict, json_copy
from revier.notify import Notifier
from revier.notify.snapshot_cache import SnapshotCache
from revier.services.core import Requester, SyncToken
from revier.services.e2e.device_lists import device_list_changes, record_device_list_change
from revier.storage import Store, Tx, streams
from revier.storage.e2e import E2eRepos
from revier.storage.e2e.cross_signing import Signature

# Clients (Element, matrix-nio) read a missing count as "unknown" rather than
# zero; the algorithm every client uses is always listed.
SIGNED_CURVE25519 = "signed_curve25519"
# Federation is not on: users of other servers are reported as unreachable.
_UNREACHABLE = {"status": 503, "message": "Federation is not enabled on this server"}


def server_of(user_id: str) -> str:
    return user_id.partition(":")[2]


class E2eKeyService:
    def __init__(self, store: Store, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier
        # device -> its key counts and last claim, while no claim or upload changed them.
        self._counts: SnapshotCache[tuple[JsonDict, int | None]] = SnapshotCache(
            notifier.changes, streams.ONE_TIME_KEYS
        )

    async def upload_keys(
        self, requester: Requester, device_keys: Any, one_time_keys: Any, fallback_keys: Any
    ) -> dict[str, int]:
        """POST /keys/upload; returns ``one_time_key_counts``."""
        user_id, device_id = requester.user_id, requester.device_id
        keys = check_device_keys(device_keys, user_id, device_id) if device_keys else None
        otks = parse_one_time_keys(one_time_keys, "one_time_keys")
        fallbacks = parse_one_time_keys(fallback_keys, "fallback_keys")
        if len({algorithm for algorithm, _, _ in fallbacks}) != len(fallbacks):
            raise InvalidParam("At most one fallback key per algorithm")
        if len({(a, k) for a, k, _ in otks}) != len(otks):
            raise InvalidParam("A one-time key ID appears twice")
        audience: set[str] = set()
        async with self._store.transaction() as tx:
            db = E2eRepos.of(tx)
            changed = keys is not None and await self._put_device_keys(tx, requester, keys)
            existing = await db.e2e_keys.one_time_keys(
                user_id, device_id, [(a, k) for a, k, _ in otks]
            )
            for algorithm, key_id, key in otks:
                if (algorithm, key_id) in existing and existing[(algorithm, key_id)] != key:
                    # Replacing a published key would let two senders use different
                    # keys under one ID; the spec's clients never do it.
                    raise InvalidParam(f"One-time key {algorithm}:{key_id} exists already")
            new = [o for o in otks if (o[0], o[1]) not in existing]
            # New keys change the device's counts: a stream position, so that a
            # /sync may keep the counts while the change log says unchanged.
            position = await tx.streams.next_position() if new or fallbacks else 0
            await db.e2e_keys.add_one_time_keys(user_id, device_id, new, position)
            for algorithm, key_id, key in fallbacks:
                await db.e2e_keys.set_fallback_key(
                    user_id, device_id, algorithm, key_id, key, position
                )
            counts = await db.e2e_keys.one_time_key_counts(user_id, device_id)
            if changed:
                audience = await record_device_list_change(tx, user_id)
        if audience:
            self._notifier.notify(users=audience)
        return {SIGNED_CURVE25519: 0, **counts}

    async def _put_device_keys(self, tx: Tx, requester: Requester, keys: JsonDict) -> bool:
        """Store the device's keys; True when they are news to other devices."""
        db = E2eRepos.of(tx)
        current = await db.e2e_keys.device_keys(requester.user_id, requester.device_id)
        if current is not None:
            if identity_keys(current) != identity_keys(keys):
                raise InvalidParam(
                    "This device's identity keys are published already and can't change; "
                    "log in as a new device"
                )
            if current == keys:
                return False
        await db.e2e_keys.set_device_keys(requester.user_id, requester.device_id, keys)
        return True

    async def query_keys(self, requester: Requester, wanted: dict[str, list[str]]) -> JsonDict:
        """POST /keys/query: device and cross-signing keys of the tenant's users."""
        local = [u for u in wanted if server_of(u) == requester.tenant.server_name]
        failures = {
            server_of(u): _UNREACHABLE
            for u in wanted
            if server_of(u) != requester.tenant.server_name
        }
        async with self._store.read() as tx:
            db = E2eRepos.of(tx)
            users = await db.e2e_keys.existing_users(local)
            device_keys: dict[str, dict[str, JsonDict]] = {u: {} for u in users}
            for dk in await db.e2e_keys.device_keys_of(sorted(users)):
                if wanted[dk.user_id] and dk.device_id not in wanted[dk.user_id]:
                    continue
                entry = dict(dk.keys)
                unsigned = dict(entry.get("unsigned") or {})
                if dk.display_name is not None:
                    unsigned["device_display_name"] = dk.display_name
                entry["unsigned"] = unsigned
                device_keys[dk.user_id][dk.device_id] = entry
            cross = await db.cross_signing.keys_of(sorted(users))
            signatures = await db.cross_signing.signatures_on(sorted(users), requester.user_id)
        body: JsonDict = {
            "device_keys": device_keys,
            "master_keys": {},
            "self_signing_keys": {},
            "user_signing_keys": {},
            "failures": failures,
        }
        by_target: dict[tuple[str, str], list[Signature]] = defaultdict(list)
        for sig in signatures:
            by_target[(sig.target_user_id, sig.target_key_id)].append(sig)
        for user_id, devices in device_keys.items():
            for device_id, entry in devices.items():
                _add_signatures(entry, by_target.get((user_id, device_id), []))
        for key in cross:
            if key.key_type == "user_signing" and key.user_id != requester.user_id:
                continue  # the spec shows the user-signing key to its owner alone
            entry = dict(key.key)
            if key.key_type == "master":
                _add_signatures(entry, by_target.get((key.user_id, key.public_key), []))
            body[f"{key.key_type}_keys"][key.user_id] = entry
        return body

    async def claim_keys(self, requester: Requester, wanted: dict[str, dict[str, str]]) -> JsonDict:
        """POST /keys/claim: a one-time key per device, else its fallback key."""
        claimed: dict[str, dict[str, JsonDict]] = {}
        failures = {
            server_of(u): _UNREACHABLE
            for u in wanted
            if server_of(u) != requester.tenant.server_name
        }
        touched: set[tuple[str, str]] = set()
        async with self._store.transaction() as tx:
            db = E2eRepos.of(tx)
            for user_id, devices in wanted.items():
                if server_of(user_id) != requester.tenant.server_name:
                    continue
                for device_id, algorithm in devices.items():
                    key = await db.e2e_keys.claim_one_time_key(user_id, device_id, algorithm)
                    if key is None:
                        key = await db.e2e_keys.claim_fallback_key(user_id, device_id, algorithm)
                    if key is None:
                        continue
                    claimed.setdefault(user_id, {})[device_id] = {key.key_id: key.key}
                    touched.add((user_id, device_id))
            if touched:
                # The claimed devices' syncs report the new counts at once, so
                # they can replenish before the keys run out.
                position = await tx.streams.next_position()
                for user_id, device_id in touched:
                    await db.e2e_keys.note_claim(user_id, device_id, position)
        if touched:
            self._notifier.notify(users={u for u, _ in touched})
        return {"one_time_keys": claimed, "failures": failures}

    async def key_changes(self, requester: Requester, from_: SyncToken, to: SyncToken) -> JsonDict:
        """GET /keys/changes: the device_lists of /sync, for any window."""
        async with self._store.read() as tx:
            upto = min(to.position, await tx.streams.current())
            changes = await device_list_changes(tx, requester.user_id, from_.position, upto)
        return changes.to_json()

    async def sync_counts(
        self, tx: Tx, requester: Requester, upto: int
    ) -> tuple[JsonDict, int | None]:
        """``device_one_time_keys_count`` and ``device_unused_fallback_key_types`` of
        /sync, and the stream position of the device's last key claim (if any), as of
        the snapshot at ``upto`` — kept per device while no claim or upload changed them."""
        device = streams.device_key(requester.user_id, requester.device_id)
        found = self._counts.get(device, upto)
        if found is None:
            db = E2eRepos.of(tx)
            state = await db.e2e_keys.key_state(requester.user_id, requester.device_id)
            counts: JsonDict = {
                "device_one_time_keys_count": {SIGNED_CURVE25519: 0, **state.one_time_key_counts},
                "device_unused_fallback_key_types": state.unused_fallback_key_types,
            }
            found = (counts, state.last_claim)
            self._counts.put(device, upto, found)
        counts, last_claim = found
        return json_copy(counts), last_claim


def _add_signatures(entry: JsonDict, signatures: list[Signature]) -> None:
    if not signatures:
        return
    merged: dict[str, dict[str, str]] = {
        u: dict(s) for u, s in (entry.get("signatures") or {}).items()
    }
    for sig in signatures:
        merged.setdefault(sig.signer_user_id, {})[sig.signer_key_id] = sig.signature
    entry["signatures"] = merged

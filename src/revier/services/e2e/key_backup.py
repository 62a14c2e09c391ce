"""Server-side key backups (spec: "Server-side key backups").

Each user has their own backups and nobody else reaches them: every method
works on the requester's own user ID, never one taken from the request.
The session keys are encrypted by the client; the server only decides which
of two copies to keep, by the spec's rule (``keep_existing_backup``).
"""

from __future__ import annotations

from revier.errors import InvalidParam, NotFound, WrongRoomKeysVersion
from revier.events.e2e import keep_existing_backup
from revier.events.types import JsonDict
from revier.services.core import Requester, users
from revier.storage import Store, Tx
from revier.storage.e2e import E2eRepos
from revier.storage.e2e.key_backup import BackupVersion, RoomKey

ALGORITHMS = ("m.megolm_backup.v1.curve25519-aes-sha2",)


def parse_version(version: str | None) -> int | None:
    """Versions are decimal numbers handed out here; anything else names no backup."""
    if version is None or not version.isdigit() or len(version) > 18:
        return None
    return int(version)


class KeyBackupService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def create_version(
        self, requester: Requester, algorithm: str, auth_data: JsonDict
    ) -> str:
        """POST /room_keys/version"""
        _check_algorithm(algorithm)
        async with self._store.transaction() as tx:
            await users.lock(tx, requester.user_id)  # two creations must not take one number
            version = await E2eRepos.of(tx).key_backup.create_version(
                requester.user_id, algorithm, auth_data
            )
        return str(version)

    async def get_version(self, requester: Requester, version: str | None) -> JsonDict:
        """GET /room_keys/version (the newest) and /room_keys/version/{version}"""
        async with self._store.read() as tx:
            backup = await self._existing(tx, requester, version, latest=version is None)
            count = await E2eRepos.of(tx).key_backup.count(requester.user_id, backup.version)
        return {
            "algorithm": backup.algorithm,
            "auth_data": backup.auth_data,
            "count": count,
            "etag": str(backup.etag),
            "version": str(backup.version),
        }

    async def update_version(
        self,
        requester: Requester,
        version: str,
        algorithm: str,
        auth_data: JsonDict,
        body_version: str | None,
    ) -> None:
        """PUT /room_keys/version/{version}: only ``auth_data`` may change."""
        if body_version is not None and body_version != version:
            raise InvalidParam("The version in the body differs from the one in the path")
        async with self._store.transaction() as tx:
            backup = await self._existing(tx, requester, version)
            if algorithm != backup.algorithm:
                raise InvalidParam("The algorithm of a backup can't change")
            await E2eRepos.of(tx).key_backup.set_auth_data(
                requester.user_id, backup.version, auth_data
            )

    async def delete_version(self, requester: Requester, version: str) -> None:
        """DELETE /room_keys/version/{version}: the version and all its keys."""
        number = parse_version(version)
        async with self._store.transaction() as tx:
            db = E2eRepos.of(tx)
            if number is not None and await db.key_backup.version(requester.user_id, number):
                await db.key_backup.delete_version(requester.user_id, number)
                return
            if number is None or number > await self._highest(tx, requester):
                raise NotFound("Unknown backup version")
            # Deleted before: the spec answers 200.

    async def put_keys(
        self, requester: Requester, version: str | None, keys: list[RoomKey]
    ) -> JsonDict:
        """PUT /room_keys/keys[/{roomId}[/{sessionId}]]: into the current backup only."""
        async with self._store.transaction() as tx:
            db = E2eRepos.of(tx)
            current = await db.key_backup.version(requester.user_id, None)
            if current is None:
                raise NotFound("Unknown backup version")
            if parse_version(version) != current.version:
                raise WrongRoomKeysVersion(
                    "Wrong backup version", current_version=str(current.version)
                )
            existing = {
                (k.room_id, k.session_id): k
                for k in await db.key_backup.keys(requester.user_id, current.version, None, None)
            }
            winners = [k for k in keys if _replaces(existing.get((k.room_id, k.session_id)), k)]
            await db.key_backup.put_keys(requester.user_id, current.version, winners)
            if winners:
                await db.key_backup.bump_etag(requester.user_id, current.version)
            return await _update_response(tx, requester, current.version)

    async def get_keys(
        self, requester: Requester, version: str | None, room_id: str | None, session_id: str | None
    ) -> list[RoomKey]:
        """GET /room_keys/keys[/{roomId}[/{sessionId}]]"""
        async with self._store.read() as tx:
            backup = await self._existing(tx, requester, version)
            found = await E2eRepos.of(tx).key_backup.keys(
                requester.user_id, backup.version, room_id, session_id
            )
        if session_id is not None and not found:
            raise NotFound("Key not found")
        return found

    async def delete_keys(
        self, requester: Requester, version: str | None, room_id: str | None, session_id: str | None
    ) -> JsonDict:
        """DELETE /room_keys/keys[/{roomId}[/{sessionId}]]"""
        async with self._store.transaction() as tx:
            db = E2eRepos.of(tx)
            backup = await self._existing(tx, requester, version)
            deleted = await db.key_backup.delete_keys(
                requester.user_id, backup.version, room_id, session_id
            )
            if deleted:
                await db.key_backup.bump_etag(requester.user_id, backup.version)
            return await _update_response(tx, requester, backup.version)

    async def _existing(
        self, tx: Tx, requester: Requester, version: str | None, *, latest: bool = False
    ) -> BackupVersion:
        number = None if latest else parse_version(version)
        backup = None
        if latest or number is not None:
            backup = await E2eRepos.of(tx).key_backup.version(requester.user_id, number)
        if backup is None:
            raise NotFound("No current backup version" if latest else "Unknown backup version")
        return backup

    async def _highest(self, tx: Tx, requester: Requester) -> int:
        return await E2eRepos.of(tx).key_backup.highest_version(requester.user_id)


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise InvalidParam(f"Unsupported backup algorithm; use one of {', '.join(ALGORITHMS)}")


def _replaces(existing: RoomKey | None, new: RoomKey) -> bool:
    if existing is None:
        return True
    as_dict = {
        "is_verified": existing.is_verified,
        "first_message_index": existing.first_message_index,
        "forwarded_count": existing.forwarded_count,
    }
    return not keep_existing_backup(
        as_dict,
        {
            "is_verified": new.is_verified,
            "first_message_index": new.first_message_index,
            "forwarded_count": new.forwarded_count,
        },
    )


async def _update_response(tx: Tx, requester: Requester, version: int) -> JsonDict:
    db = E2eRepos.of(tx)
    backup = await db.key_backup.version(requester.user_id, version)
    etag = backup.etag if backup else 0
    return {"etag": str(etag), "count": await db.key_backup.count(requester.user_id, version)}

"""What the organisation does to its members' uploads: quarantine one, list a
user's, delete a user's — audited, never by reading what they contain."""

from __future__ import annotations

from revier.errors import NotFound
from revier.policy.media import valid_media_id
from revier.services.core import Actor, AuditLog, Tenant, users
from revier.storage import Store
from revier.storage.media import MediaRepos
from revier.storage.media.media import MediaRecord
from revier.storage.media.media_store import MediaStore


class MediaAdminService:
    def __init__(self, store: Store, media_store: MediaStore, audit: AuditLog) -> None:
        self._store = store
        self._files = media_store
        self._audit = audit

    async def set_quarantined(
        self, tenant: Tenant, actor: Actor, server_name: str, media_id: str, quarantined: bool
    ) -> None:
        """Quarantine (or release) one upload of this tenant: it stays stored but is
        served to nobody."""
        missing = NotFound(f"No media mxc://{server_name}/{media_id} in this organisation")
        if server_name != tenant.server_name or not valid_media_id(media_id):
            raise missing
        async with self._store.transaction() as tx:
            if not await MediaRepos.of(tx).media.set_quarantined(
                server_name, media_id, quarantined
            ):
                raise missing
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "media.quarantined" if quarantined else "media.released",
                target=f"mxc://{server_name}/{media_id}",
            )

    async def list_user_media(
        self, tenant: Tenant, user_id: str, *, offset: int = 0, limit: int | None = None
    ) -> tuple[list[MediaRecord], int]:
        """The uploads of a user of this tenant, oldest first, and their total bytes."""
        async with self._store.read() as tx:
            db = MediaRepos.of(tx)
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            records = await db.media.for_uploader(user_id, offset=offset, limit=limit)
            return records, await db.media.bytes_used(user_id)

    async def delete_user_media(self, tenant: Tenant, actor: Actor, user_id: str) -> int:
        """Delete every upload of ``user_id`` (bytes and thumbnails); returns how many."""
        async with self._store.transaction() as tx:
            db = MediaRepos.of(tx)
            await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            records = await db.media.for_uploader(user_id)
            keys: list[str] = []
            for record in records:
                thumbs = await db.media.thumbnails(record.server_name, record.media_id)
                keys += [record.storage_key, *(t.storage_key for t in thumbs)]
                await db.media.remove(record.server_name, record.media_id)
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "media.deleted",
                target=user_id,
                details={"count": len(records), "bytes": sum(r.size or 0 for r in records)},
            )
        # Rows first: a crash in between leaves unreachable bytes, never a row
        # pointing at nothing.
        for key in keys:
            await self._files.delete(key)
        return len(records)

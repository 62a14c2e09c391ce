"""The OAuth 2.0 API's rows: clients, codes, device grants and sessions."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.storage.signin.tables import (
    oauth_clients,
    oauth_codes,
    oauth_device_grants,
    oauth_sessions,
)


@dataclass(frozen=True, slots=True)
class ClientRow:
    client_id: str
    tenant: str
    client_metadata: dict[str, object]


@dataclass(frozen=True, slots=True)
class CodeRow:
    tenant: str
    client_id: str
    user_id: str
    redirect_uri: str
    scope: str
    device_id: str
    code_challenge: str
    expires_ts: int
    used_ts: int | None
    family: bytes | None


@dataclass(frozen=True, slots=True)
class DeviceGrantRow:
    device_code_hash: bytes
    tenant: str
    client_id: str
    scope: str
    device_id: str
    expires_ts: int
    last_poll_ts: int
    status: str
    user_id: str | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    family: bytes
    tenant: str
    client_id: str
    user_id: str
    device_id: str
    scope: str
    created_ts: int


class OAuthRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # clients

    async def add_client(
        self, client_id: str, tenant: str, client_metadata: dict[str, object], now: int
    ) -> None:
        await self._conn.execute(
            insert(oauth_clients).values(
                client_id=client_id,
                tenant=tenant,
                client_metadata=orjson.dumps(client_metadata).decode(),
                created_ts=now,
            )
        )

    async def forget_unused_clients(self, registered_before: int) -> None:
        """Registrations older than that with no session: every sign-in registers
        anew (spec), and the spec lets a server forget clients nobody uses."""
        c = oauth_clients.c
        in_use = select(oauth_sessions.c.client_id)
        await self._conn.execute(
            delete(oauth_clients).where(
                c.created_ts < registered_before, c.client_id.not_in(in_use)
            )
        )

    async def client(self, client_id: str) -> ClientRow | None:
        c = oauth_clients.c
        stmt = select(c.client_id, c.tenant, c.client_metadata).where(c.client_id == client_id)
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        return ClientRow(row.client_id, row.tenant, orjson.loads(row.client_metadata))

    # authorization codes

    async def add_code(self, code_hash: bytes, code: CodeRow, now: int) -> None:
        # Expired codes of anyone go as new ones come: the table stays small.
        await self._conn.execute(delete(oauth_codes).where(oauth_codes.c.expires_ts <= now))
        values = {k: getattr(code, k) for k in CodeRow.__dataclass_fields__}
        await self._conn.execute(insert(oauth_codes).values(code_hash=code_hash, **values))

    async def code(self, code_hash: bytes) -> CodeRow | None:
        c = oauth_codes.c
        stmt = select(*(c[k] for k in CodeRow.__dataclass_fields__)).where(c.code_hash == code_hash)
        row = (await self._conn.execute(stmt)).first()
        return CodeRow(**row._mapping) if row else None

    async def use_code(self, code_hash: bytes, family: bytes, now: int) -> bool:
        """Mark the code used; False if it was used meanwhile (of two exchanges one wins)."""
        c = oauth_codes.c
        result = await self._conn.execute(
            update(oauth_codes)
            .where(c.code_hash == code_hash, c.used_ts.is_(None))
            .values(used_ts=now, family=family)
        )
        return bool(result.rowcount == 1)

    # device authorization grants

    async def add_device_grant(
        self, grant: DeviceGrantRow, user_code_hash: bytes, now: int
    ) -> None:
        t = oauth_device_grants
        await self._conn.execute(delete(t).where(t.c.expires_ts <= now))
        values = {k: getattr(grant, k) for k in DeviceGrantRow.__dataclass_fields__}
        await self._conn.execute(insert(t).values(user_code_hash=user_code_hash, **values))

    async def device_grant(
        self,
        *,
        device_code_hash: bytes | None = None,
        user_code_hash: bytes | None = None,
        lock: bool = False,
    ) -> DeviceGrantRow | None:
        c = oauth_device_grants.c
        stmt = select(*(c[k] for k in DeviceGrantRow.__dataclass_fields__))
        if device_code_hash is not None:
            stmt = stmt.where(c.device_code_hash == device_code_hash)
        else:
            stmt = stmt.where(c.user_code_hash == user_code_hash)
        if lock and self._conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # two polls take turns
        row = (await self._conn.execute(stmt)).first()
        return DeviceGrantRow(**row._mapping) if row else None

    async def update_device_grant(
        self,
        device_code_hash: bytes,
        *,
        expect_status: str,
        status: str | None = None,
        user_id: str | None = None,
        last_poll_ts: int | None = None,
    ) -> bool:
        """Change the grant if it still has ``expect_status`` (two pages or polls race)."""
        c = oauth_device_grants.c
        values: dict[str, object] = {}
        if status is not None:
            values["status"] = status
        if user_id is not None:
            values["user_id"] = user_id
        if last_poll_ts is not None:
            values["last_poll_ts"] = last_poll_ts
        result = await self._conn.execute(
            update(oauth_device_grants)
            .where(c.device_code_hash == device_code_hash, c.status == expect_status)
            .values(**values)
        )
        return bool(result.rowcount == 1)

    # sessions

    async def add_session(self, session: SessionRow) -> None:
        t = oauth_sessions
        # A device signed in again ends its earlier OAuth session.
        await self._conn.execute(
            delete(t).where(t.c.user_id == session.user_id, t.c.device_id == session.device_id)
        )
        values = {k: getattr(session, k) for k in SessionRow.__dataclass_fields__}
        await self._conn.execute(insert(t).values(**values))

    async def session(self, family: bytes) -> SessionRow | None:
        c = oauth_sessions.c
        stmt = select(*(c[k] for k in SessionRow.__dataclass_fields__)).where(c.family == family)
        row = (await self._conn.execute(stmt)).first()
        return SessionRow(**row._mapping) if row else None

    async def session_of_device(self, user_id: str, device_id: str) -> SessionRow | None:
        c = oauth_sessions.c
        stmt = select(*(c[k] for k in SessionRow.__dataclass_fields__)).where(
            c.user_id == user_id, c.device_id == device_id
        )
        row = (await self._conn.execute(stmt)).first()
        return SessionRow(**row._mapping) if row else None

    async def delete_session(self, family: bytes) -> None:
        await self._conn.execute(delete(oauth_sessions).where(oauth_sessions.c.family == family))
